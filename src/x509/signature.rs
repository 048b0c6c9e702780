//! `CheckSignatureFrom` with Go's rules and Go's error strings, verified with ring.
//!
//! We call ring directly instead of x509-parser's `verify_signature` because that one
//! uses ring's 2048-bit minimum for RSA, while Go accepts 1024-bit RSA parents. Go 1.24
//! refuses RSA keys under 1024 bits only with `GODEBUG=rsa1024min=1`, the default for main
//! modules declaring go >= 1.24; the docker CLI 28.2.2 is built with
//! `DefaultGODEBUG=...rsa1024min=0...` (its build info says so), so Docker accepts them,
//! as skopeo's Go 1.19 does. ring cannot verify below 1024 bits: [`rsa_pkcs1_small`] does.
//! Source: <https://github.com/golang/go/blob/master/src/crypto/x509/x509.go>
//! (`CheckSignatureFrom`, `checkSignature`, `InsecureAlgorithmError`).

use ring::signature as sig;

use super::cert::{Cert, Curve, KeyKind};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Hash {
    Md5,
    Sha1,
    Sha256,
    Sha384,
    Sha512,
    /// Ed25519 (no pre-hash) or MD2 / unknown.
    None,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Algo {
    Rsa,
    RsaPss,
    Ecdsa,
    Ed25519,
    Dsa,
    Unknown,
}

/// Go's `signatureAlgorithmDetails`: OID → (Go's name, key algorithm, hash).
fn details(oid: &str, pss_hash_bits: Option<u32>) -> (&'static str, Algo, Hash) {
    match oid {
        "1.2.840.113549.1.1.2" => ("MD2-RSA", Algo::Rsa, Hash::None),
        "1.2.840.113549.1.1.4" => ("MD5-RSA", Algo::Rsa, Hash::Md5),
        "1.2.840.113549.1.1.5" | "1.3.14.3.2.29" => ("SHA1-RSA", Algo::Rsa, Hash::Sha1),
        "1.2.840.113549.1.1.11" => ("SHA256-RSA", Algo::Rsa, Hash::Sha256),
        "1.2.840.113549.1.1.12" => ("SHA384-RSA", Algo::Rsa, Hash::Sha384),
        "1.2.840.113549.1.1.13" => ("SHA512-RSA", Algo::Rsa, Hash::Sha512),
        "1.2.840.113549.1.1.10" => match pss_hash_bits {
            Some(256) => ("SHA256-RSAPSS", Algo::RsaPss, Hash::Sha256),
            Some(384) => ("SHA384-RSAPSS", Algo::RsaPss, Hash::Sha384),
            Some(512) => ("SHA512-RSAPSS", Algo::RsaPss, Hash::Sha512),
            _ => ("0", Algo::Unknown, Hash::None),
        },
        "1.2.840.10040.4.3" => ("DSA-SHA1", Algo::Dsa, Hash::Sha1),
        "2.16.840.1.101.3.4.3.2" => ("DSA-SHA256", Algo::Dsa, Hash::Sha256),
        "1.2.840.10045.4.1" => ("ECDSA-SHA1", Algo::Ecdsa, Hash::Sha1),
        "1.2.840.10045.4.3.2" => ("ECDSA-SHA256", Algo::Ecdsa, Hash::Sha256),
        "1.2.840.10045.4.3.3" => ("ECDSA-SHA384", Algo::Ecdsa, Hash::Sha384),
        "1.2.840.10045.4.3.4" => ("ECDSA-SHA512", Algo::Ecdsa, Hash::Sha512),
        "1.3.101.112" => ("Ed25519", Algo::Ed25519, Hash::None),
        // Go prints an unknown SignatureAlgorithm as its number, 0.
        _ => ("0", Algo::Unknown, Hash::None),
    }
}

/// Go's name of the algorithm `cert` is signed with ("SHA256-RSA", "ECDSA-SHA1", ...).
pub(crate) fn algorithm_name(cert: &Cert) -> &'static str {
    details(&cert.sig_oid, cert.pss_hash_bits).0
}

/// Whether `cert` is signed with MD5 or SHA-1, which Go refuses to verify.
pub(crate) fn is_insecure(cert: &Cert) -> bool {
    matches!(
        details(&cert.sig_oid, cert.pss_hash_bits).2,
        Hash::Md5 | Hash::Sha1
    )
}

pub(crate) const ERR_UNSUPPORTED: &str = "x509: cannot verify signature: algorithm unimplemented";
const ERR_CONSTRAINT: &str =
    "x509: invalid signature: parent certificate cannot sign this kind of certificate";

/// Go's `c.CheckSignatureFrom(parent)`, with Go's error text.
pub(crate) fn check_signature_from(child: &Cert, parent: &Cert) -> Result<(), String> {
    // RFC 5280 4.2.1.9: a v3 certificate without basicConstraints CA:TRUE cannot sign.
    if (parent.version == 3 && !parent.basic_constraints_valid)
        || (parent.basic_constraints_valid && !parent.is_ca)
    {
        return Err(ERR_CONSTRAINT.into());
    }
    if parent.key_usage != 0 && !parent.key_cert_sign {
        return Err(ERR_CONSTRAINT.into());
    }
    if matches!(parent.key, KeyKind::Other(_)) {
        return Err(ERR_UNSUPPORTED.into());
    }
    check_signature(child, parent)
}

/// Go 1.24's `InsecureAlgorithmError` (Go 1.19 appended
/// " (temporarily override with GODEBUG=x509sha1=1)" for SHA-1; Docker's Go does not).
pub(crate) fn insecure_algorithm(name: &str) -> String {
    format!("x509: cannot verify signature: insecure algorithm {name}")
}

/// The signature alone: `parent`'s key verifies `child`'s signature (no CA rules).
pub(crate) fn check_signature(child: &Cert, parent: &Cert) -> Result<(), String> {
    let (name, algo, hash) = details(&child.sig_oid, child.pss_hash_bits);
    match hash {
        Hash::None if algo != Algo::Ed25519 => return Err(ERR_UNSUPPORTED.into()),
        Hash::Md5 | Hash::Sha1 => return Err(insecure_algorithm(name)),
        _ => {}
    }
    let key_type = match parent.key {
        KeyKind::Rsa { .. } => "*rsa.PublicKey",
        KeyKind::Ec { .. } => "*ecdsa.PublicKey",
        KeyKind::Ed25519 => "ed25519.PublicKey",
        KeyKind::Other(_) => return Err(ERR_UNSUPPORTED.into()),
    };
    let expected = match algo {
        Algo::Rsa | Algo::RsaPss => "RSA",
        Algo::Ecdsa => "ECDSA",
        Algo::Ed25519 => "Ed25519",
        Algo::Dsa => "DSA",
        Algo::Unknown => "unknown",
    };
    let mismatch = || {
        Err(format!(
            "x509: signature algorithm specifies an {expected} public key, but have public key of type {key_type}"
        ))
    };
    let message = child.tbs.as_slice();
    let signature = child.signature.as_slice();
    match (&parent.key, algo) {
        (KeyKind::Rsa { bits }, Algo::Rsa | Algo::RsaPss) => {
            if *bits < 1024 {
                return match algo {
                    Algo::Rsa => rsa_pkcs1_small(&parent.key_bytes, hash, message, signature),
                    _ => Err(ERR_UNSUPPORTED.into()),
                };
            }
            let alg: &dyn sig::VerificationAlgorithm = match (algo, hash, *bits >= 2048) {
                (Algo::Rsa, Hash::Sha256, true) => &sig::RSA_PKCS1_2048_8192_SHA256,
                (Algo::Rsa, Hash::Sha256, false) => {
                    &sig::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY
                }
                (Algo::Rsa, Hash::Sha384, _) => &sig::RSA_PKCS1_2048_8192_SHA384,
                (Algo::Rsa, Hash::Sha512, true) => &sig::RSA_PKCS1_2048_8192_SHA512,
                (Algo::Rsa, Hash::Sha512, false) => {
                    &sig::RSA_PKCS1_1024_8192_SHA512_FOR_LEGACY_USE_ONLY
                }
                (Algo::RsaPss, Hash::Sha256, _) => &sig::RSA_PSS_2048_8192_SHA256,
                (Algo::RsaPss, Hash::Sha384, _) => &sig::RSA_PSS_2048_8192_SHA384,
                (Algo::RsaPss, Hash::Sha512, _) => &sig::RSA_PSS_2048_8192_SHA512,
                _ => return Err(ERR_UNSUPPORTED.into()),
            };
            sig::UnparsedPublicKey::new(alg, &parent.key_bytes)
                .verify(message, signature)
                .map_err(|_| "crypto/rsa: verification error".to_string())
        }
        (KeyKind::Ec { curve }, Algo::Ecdsa) => {
            let alg: &dyn sig::VerificationAlgorithm = match (curve, hash) {
                (Curve::P256, Hash::Sha256) => &sig::ECDSA_P256_SHA256_ASN1,
                (Curve::P256, Hash::Sha384) => &sig::ECDSA_P256_SHA384_ASN1,
                (Curve::P384, Hash::Sha256) => &sig::ECDSA_P384_SHA256_ASN1,
                (Curve::P384, Hash::Sha384) => &sig::ECDSA_P384_SHA384_ASN1,
                // P-521 and ECDSA-SHA512: Go verifies these, ring cannot (a known gap).
                _ => return Err(ERR_UNSUPPORTED.into()),
            };
            sig::UnparsedPublicKey::new(alg, &parent.key_bytes)
                .verify(message, signature)
                .map_err(|_| "x509: ECDSA verification failure".to_string())
        }
        (KeyKind::Ed25519, Algo::Ed25519) => {
            sig::UnparsedPublicKey::new(&sig::ED25519, &parent.key_bytes)
                .verify(message, signature)
                .map_err(|_| "x509: Ed25519 verification failure".to_string())
        }
        (_, Algo::Dsa | Algo::Unknown) => Err(ERR_UNSUPPORTED.into()),
        _ => mismatch(),
    }
}

/// RSASSA-PKCS1-v1_5 verification for moduli under 1024 bits, which ring refuses and
/// Docker's Go accepts (RFC 8017 8.2.2: s^e mod n must equal the full EMSA encoding).
fn rsa_pkcs1_small(key: &[u8], hash: Hash, message: &[u8], signature: &[u8]) -> Result<(), String> {
    use x509_parser::der_parser::num_bigint::BigUint;
    use x509_parser::prelude::FromDer;
    const ERR: &str = "crypto/rsa: verification error";
    let (_, rsa) = x509_parser::public_key::RSAPublicKey::from_der(key)
        .map_err(|_| ERR_UNSUPPORTED.to_string())?;
    let (prefix, digest): (&[u8], ring::digest::Digest) = match hash {
        Hash::Sha256 => (
            &[
                0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x01, 0x05, 0x00, 0x04, 0x20,
            ],
            ring::digest::digest(&ring::digest::SHA256, message),
        ),
        Hash::Sha384 => (
            &[
                0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x02, 0x05, 0x00, 0x04, 0x30,
            ],
            ring::digest::digest(&ring::digest::SHA384, message),
        ),
        Hash::Sha512 => (
            &[
                0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x03, 0x05, 0x00, 0x04, 0x40,
            ],
            ring::digest::digest(&ring::digest::SHA512, message),
        ),
        _ => return Err(ERR_UNSUPPORTED.into()),
    };
    let n = BigUint::from_bytes_be(rsa.modulus);
    let e = BigUint::from_bytes_be(rsa.exponent);
    let k = n.to_bytes_be().len();
    let t_len = prefix.len() + digest.as_ref().len();
    if signature.len() != k || k < t_len + 11 {
        return Err(ERR.into());
    }
    let s = BigUint::from_bytes_be(signature);
    if s >= n {
        return Err(ERR.into());
    }
    let m = s.modpow(&e, &n).to_bytes_be();
    let mut em = vec![0u8; k - m.len()];
    em.extend_from_slice(&m);
    let mut expected = vec![0x00, 0x01];
    expected.resize(k - t_len - 1, 0xff);
    expected.push(0x00);
    expected.extend_from_slice(prefix);
    expected.extend_from_slice(digest.as_ref());
    if em == expected {
        Ok(())
    } else {
        Err(ERR.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls_pki_types::CertificateDer;

    fn ca(alg: &'static rcgen::SignatureAlgorithm) -> (rcgen::Certificate, rcgen::KeyPair) {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "Test CA");
        let key = rcgen::KeyPair::generate_for(alg).unwrap();
        (params.self_signed(&key).unwrap(), key)
    }

    fn parse(der: &CertificateDer<'_>) -> Cert {
        Cert::parse(der).unwrap()
    }

    #[test]
    fn self_signatures_verify_for_each_key_type() {
        for alg in [
            &rcgen::PKCS_ECDSA_P256_SHA256,
            &rcgen::PKCS_ECDSA_P384_SHA384,
            &rcgen::PKCS_ED25519,
        ] {
            let (cert, _) = ca(alg);
            let c = parse(cert.der());
            assert_eq!(check_signature_from(&c, &c), Ok(()));
        }
    }

    #[test]
    fn wrong_key_gives_go_messages() {
        let (a, _) = ca(&rcgen::PKCS_ECDSA_P256_SHA256);
        let (b, _) = ca(&rcgen::PKCS_ECDSA_P256_SHA256);
        let (e, _) = ca(&rcgen::PKCS_ED25519);
        let (a, b, e) = (parse(a.der()), parse(b.der()), parse(e.der()));
        assert_eq!(
            check_signature_from(&a, &b).unwrap_err(),
            "x509: ECDSA verification failure"
        );
        assert_eq!(
            check_signature_from(&a, &e).unwrap_err(),
            "x509: signature algorithm specifies an ECDSA public key, but have public key of type ed25519.PublicKey"
        );
    }

    #[test]
    fn a_non_ca_parent_cannot_sign() {
        let params = rcgen::CertificateParams::new(vec!["x.example".to_string()]).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let leaf = parse(params.self_signed(&key).unwrap().der());
        assert_eq!(
            check_signature_from(&leaf, &leaf).unwrap_err(),
            ERR_CONSTRAINT
        );
    }
}
