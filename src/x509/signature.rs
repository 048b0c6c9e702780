//! `CheckSignatureFrom` with Go's rules and Go's error strings.
//!
//! Two verifiers: ring for what it implements (RSA 2048-8192, P-256/P-384 with SHA-256/384,
//! Ed25519: the common chains, and fast), and RustCrypto (`rsa`, `p224`, `p256`, `p384`,
//! `p521`) for every other algorithm Go verifies: P-224, P-521, ECDSA with SHA-512 on any
//! curve, RSA
//! under 2048 bits with any hash or PSS, RSA over 8192 bits (a pool CA may have one).
//! Go 1.24 refuses RSA keys under 1024 bits only with `GODEBUG=rsa1024min=1`, the default
//! for main modules declaring go >= 1.24; the docker CLI 28.2.2 is built with
//! `DefaultGODEBUG=...rsa1024min=0...` (its build info says so), so Docker accepts them,
//! as skopeo's Go 1.19 does.
//! Source: <https://github.com/golang/go/blob/master/src/crypto/x509/x509.go>
//! (`CheckSignatureFrom`, `checkSignature`, `InsecureAlgorithmError`).

use ring::signature as sig;
use sha2::Digest as _;

use super::cert::{Cert, Curve, KeyKind};
use super::der::{self, ctx_cons, Der};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hash {
    Md5,
    Sha1,
    Sha256,
    Sha384,
    Sha512,
    /// Ed25519 (no pre-hash) or MD2 / unknown.
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Algo {
    Rsa,
    RsaPss,
    Ecdsa,
    Ed25519,
    Dsa,
    Unknown,
}

/// Go's `signatureAlgorithmDetails` and `getSignatureAlgorithmFromAI`: OID and
/// parameters → (Go's name, key algorithm, hash).
fn details(oid: &str, params: &[u8]) -> (&'static str, Algo, Hash) {
    match oid {
        "1.2.840.113549.1.1.2" => ("MD2-RSA", Algo::Rsa, Hash::None),
        "1.2.840.113549.1.1.4" => ("MD5-RSA", Algo::Rsa, Hash::Md5),
        "1.2.840.113549.1.1.5" | "1.3.14.3.2.29" => ("SHA1-RSA", Algo::Rsa, Hash::Sha1),
        "1.2.840.113549.1.1.11" => ("SHA256-RSA", Algo::Rsa, Hash::Sha256),
        "1.2.840.113549.1.1.12" => ("SHA384-RSA", Algo::Rsa, Hash::Sha384),
        "1.2.840.113549.1.1.13" => ("SHA512-RSA", Algo::Rsa, Hash::Sha512),
        "1.2.840.113549.1.1.10" => match pss_hash_bits(params) {
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
        // RFC 8410: parameters MUST be absent; with any, Go does not know the algorithm.
        "1.3.101.112" if params.is_empty() => ("Ed25519", Algo::Ed25519, Hash::None),
        // Go prints an unknown SignatureAlgorithm as its number, 0.
        _ => ("0", Algo::Unknown, Hash::None),
    }
}

/// Go's RSASSA-PSS rules: hash SHA-256/384/512 (parameters absent or NULL), MGF1 with the
/// same hash, salt length = hash length, trailer field 1. Anything else is unknown.
fn pss_hash_bits(params: &[u8]) -> Option<u32> {
    fn ai(mut d: Der<'_>) -> Option<(String, &[u8])> {
        let mut seq = d.read(der::SEQUENCE)?;
        let oid = seq.read_oid()?;
        let rest = seq.0;
        Some((oid, rest))
    }
    let null_or_absent = |p: &[u8]| p.is_empty() || p == [der::NULL, 0];
    let mut seq = Der(params).read(der::SEQUENCE)?;
    let (hash, hash_params) = ai(seq.read(ctx_cons(0))?)?;
    let (mgf, mgf_params) = ai(seq.read(ctx_cons(1))?)?;
    let salt = seq.read(ctx_cons(2))?.read_i64(der::INTEGER)?;
    let trailer = match seq.read_optional(ctx_cons(3)).ok()? {
        Some(mut t) => t.read_i64(der::INTEGER)?,
        None => 1,
    };
    let (mgf_hash, mgf_hash_params) = ai(Der(mgf_params))?;
    if !null_or_absent(hash_params)
        || mgf != "1.2.840.113549.1.1.8"
        || mgf_hash != hash
        || !null_or_absent(mgf_hash_params)
        || trailer != 1
    {
        return None;
    }
    match (hash.as_str(), salt) {
        ("2.16.840.1.101.3.4.2.1", 32) => Some(256),
        ("2.16.840.1.101.3.4.2.2", 48) => Some(384),
        ("2.16.840.1.101.3.4.2.3", 64) => Some(512),
        _ => None,
    }
}

/// Go's name of the algorithm `cert` is signed with ("SHA256-RSA", "ECDSA-SHA1", ...).
pub(crate) fn algorithm_name(cert: &Cert) -> &'static str {
    details(&cert.sig_oid, &cert.sig_params).0
}

/// Whether `cert` is signed with MD5 or SHA-1, which Go refuses to verify.
pub(crate) fn is_insecure(cert: &Cert) -> bool {
    matches!(
        details(&cert.sig_oid, &cert.sig_params).2,
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
    let (name, algo, hash) = details(&child.sig_oid, &child.sig_params);
    match hash {
        Hash::None if algo != Algo::Ed25519 => return Err(ERR_UNSUPPORTED.into()),
        Hash::Md5 | Hash::Sha1 => return Err(insecure_algorithm(name)),
        _ => {}
    }
    verify(parent, algo, hash, &child.tbs, &child.signature).map_err(|failure| match failure {
        Failure::KeyMismatch { expected, key_type } => format!(
            "x509: signature algorithm specifies an {expected} public key, but have public key of type {key_type}"
        ),
        Failure::Rsa => ERR_RSA.to_string(),
        Failure::RsaKey(why) => why.to_string(),
        Failure::Ecdsa => "x509: ECDSA verification failure".to_string(),
        Failure::Ed25519 => "x509: Ed25519 verification failure".to_string(),
        Failure::Unsupported => ERR_UNSUPPORTED.to_string(),
    })
}

/// A TLS 1.2/1.3 `SignatureScheme` as Go's `typeAndHashFromSignatureScheme`
/// (crypto/tls/auth.go) splits it: a signature type and a hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HandshakeScheme {
    algo: Algo,
    hash: Hash,
}

impl HandshakeScheme {
    /// The schemes Go 1.24 knows, by their IANA code; `None` for any other ("unsupported
    /// signature algorithm").
    pub(crate) fn from_code(code: u16) -> Option<HandshakeScheme> {
        let (algo, hash) = match code {
            0x0201 => (Algo::Rsa, Hash::Sha1),
            0x0401 => (Algo::Rsa, Hash::Sha256),
            0x0501 => (Algo::Rsa, Hash::Sha384),
            0x0601 => (Algo::Rsa, Hash::Sha512),
            0x0804 => (Algo::RsaPss, Hash::Sha256),
            0x0805 => (Algo::RsaPss, Hash::Sha384),
            0x0806 => (Algo::RsaPss, Hash::Sha512),
            0x0203 => (Algo::Ecdsa, Hash::Sha1),
            0x0403 => (Algo::Ecdsa, Hash::Sha256),
            0x0503 => (Algo::Ecdsa, Hash::Sha384),
            0x0603 => (Algo::Ecdsa, Hash::Sha512),
            0x0807 => (Algo::Ed25519, Hash::None),
            _ => return None,
        };
        Some(HandshakeScheme { algo, hash })
    }

    /// PKCS #1 v1.5 or SHA-1, which a TLS 1.3 CertificateVerify may not use
    /// (RFC 8446 4.4.3; Go: "tls: certificate used with invalid signature algorithm").
    pub(crate) fn is_legacy(self) -> bool {
        self.algo == Algo::Rsa || self.hash == Hash::Sha1
    }
}

/// Go's `verifyHandshakeSignature` (crypto/tls/auth.go): the leaf's key verifies a TLS
/// 1.2 ServerKeyExchange or TLS 1.3 CertificateVerify signature over `signed` (the bytes
/// before hashing: the randoms and parameters, or the 64 spaces, context string and
/// transcript hash). The error is Go's text, without the "tls: invalid signature by the
/// server certificate: " that Go puts before it. Every key size Go takes is checked, with
/// ring where it can and RustCrypto elsewhere: nothing is waved through.
pub(crate) fn verify_handshake(
    leaf: &Cert,
    scheme: HandshakeScheme,
    signed: &[u8],
    signature: &[u8],
) -> Result<(), String> {
    verify(leaf, scheme.algo, scheme.hash, signed, signature).map_err(|failure| match failure {
        Failure::KeyMismatch { expected, key_type } => {
            format!("expected an {expected} public key, got {key_type}")
        }
        Failure::Rsa => ERR_RSA.to_string(),
        Failure::RsaKey(why) => why.to_string(),
        Failure::Ecdsa => "ECDSA verification failure".to_string(),
        Failure::Ed25519 => "Ed25519 verification failure".to_string(),
        Failure::Unsupported => "internal error: unknown signature type".to_string(),
    })
}

const ERR_RSA: &str = "crypto/rsa: verification error";

/// Why a signature did not verify, before the caller words it: crypto/x509 and
/// crypto/tls say the same failures differently.
enum Failure {
    /// The algorithm needs another kind of key (Go's name of the kind, Go's `%T` of the key).
    KeyMismatch {
        expected: &'static str,
        key_type: &'static str,
    },
    Rsa,
    /// crypto/rsa refuses the key before verifying (Go's text).
    RsaKey(&'static str),
    Ecdsa,
    Ed25519,
    Unsupported,
}

/// crypto/rsa's checks of a public key before it verifies anything with it (Go 1.24.3:
/// `fipsPublicKey` then `checkPublicKey` in crypto/internal/fips140/rsa), with Go's text:
/// a modulus of 1, an even modulus, an exponent below 2, even, or above 2^31-1 (Go keeps
/// exponents to 32-bit ints). RSA keys under 1024 bits pass: Docker 28 is built with
/// `rsa1024min=0`.
fn go_rsa_key_check(key: &[u8]) -> Result<(), Failure> {
    use rsa::pkcs1::der::Decode as _;
    let parsed = rsa::pkcs1::RsaPublicKey::from_der(key).map_err(|_| Failure::Rsa)?;
    let trim = |b: &[u8]| -> Vec<u8> { b.iter().copied().skip_while(|&x| x == 0).collect() };
    let n = trim(parsed.modulus.as_bytes());
    let e = trim(parsed.public_exponent.as_bytes());
    if n.is_empty() || n == [1] {
        return Err(Failure::RsaKey("modulus must be > 1"));
    }
    if n.last().is_some_and(|b| b & 1 == 0) {
        return Err(Failure::RsaKey("crypto/rsa: public modulus is even"));
    }
    let e_value = if e.len() > 8 {
        u64::MAX
    } else {
        e.iter().fold(0u64, |v, &b| (v << 8) | u64::from(b))
    };
    if e_value < 2 {
        return Err(Failure::RsaKey(
            "crypto/rsa: public exponent too small or negative",
        ));
    }
    if e_value & 1 == 0 {
        return Err(Failure::RsaKey("crypto/rsa: public exponent is even"));
    }
    if e_value > (1 << 31) - 1 {
        return Err(Failure::RsaKey("crypto/rsa: public exponent too large"));
    }
    Ok(())
}

/// `key`'s public key verifies `signature` over `message` with `algo` and `hash`.
fn verify(
    key: &Cert,
    algo: Algo,
    hash: Hash,
    message: &[u8],
    signature: &[u8],
) -> Result<(), Failure> {
    let key_type = match key.key {
        KeyKind::Rsa { .. } => "*rsa.PublicKey",
        KeyKind::Ec { .. } => "*ecdsa.PublicKey",
        KeyKind::Ed25519 => "ed25519.PublicKey",
        KeyKind::Other(_) => return Err(Failure::Unsupported),
    };
    let expected = match algo {
        Algo::Rsa | Algo::RsaPss => "RSA",
        Algo::Ecdsa => "ECDSA",
        Algo::Ed25519 => "Ed25519",
        Algo::Dsa => "DSA",
        Algo::Unknown => "unknown",
    };
    match (&key.key, algo) {
        (KeyKind::Rsa { bits }, Algo::Rsa | Algo::RsaPss) => {
            go_rsa_key_check(&key.key_bytes)?;
            let alg: &dyn sig::VerificationAlgorithm = match (algo, hash) {
                // ring's RSA bounds: 2048 to 8192 bits; the rest goes to RustCrypto.
                _ if !(2048..=8192).contains(bits) => {
                    return rsa_crypto(&key.key_bytes, algo, hash, message, signature)
                }
                (Algo::Rsa, Hash::Sha1) => &sig::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
                (Algo::Rsa, Hash::Sha256) => &sig::RSA_PKCS1_2048_8192_SHA256,
                (Algo::Rsa, Hash::Sha384) => &sig::RSA_PKCS1_2048_8192_SHA384,
                (Algo::Rsa, Hash::Sha512) => &sig::RSA_PKCS1_2048_8192_SHA512,
                (Algo::RsaPss, Hash::Sha256) => &sig::RSA_PSS_2048_8192_SHA256,
                (Algo::RsaPss, Hash::Sha384) => &sig::RSA_PSS_2048_8192_SHA384,
                (Algo::RsaPss, Hash::Sha512) => &sig::RSA_PSS_2048_8192_SHA512,
                _ => return Err(Failure::Unsupported),
            };
            if sig::UnparsedPublicKey::new(alg, &key.key_bytes)
                .verify(message, signature)
                .is_ok()
            {
                return Ok(());
            }
            // ring also refuses exponents Go takes (e.g. 3 < e, even, or > 2^33): let
            // RustCrypto have the final word.
            rsa_crypto(&key.key_bytes, algo, hash, message, signature)
        }
        (KeyKind::Ec { curve }, Algo::Ecdsa) => {
            let alg: &dyn sig::VerificationAlgorithm = match (curve, hash) {
                (Curve::P256, Hash::Sha256) => &sig::ECDSA_P256_SHA256_ASN1,
                (Curve::P256, Hash::Sha384) => &sig::ECDSA_P256_SHA384_ASN1,
                (Curve::P384, Hash::Sha256) => &sig::ECDSA_P384_SHA256_ASN1,
                (Curve::P384, Hash::Sha384) => &sig::ECDSA_P384_SHA384_ASN1,
                // P-521, ECDSA-SHA512 and SHA-1: RustCrypto.
                _ => return ecdsa_crypto(*curve, &key.key_bytes, hash, message, signature),
            };
            sig::UnparsedPublicKey::new(alg, &key.key_bytes)
                .verify(message, signature)
                .map_err(|_| Failure::Ecdsa)
        }
        (KeyKind::Ed25519, Algo::Ed25519) => {
            sig::UnparsedPublicKey::new(&sig::ED25519, &key.key_bytes)
                .verify(message, signature)
                .map_err(|_| Failure::Ed25519)
        }
        (_, Algo::Dsa | Algo::Unknown) => Err(Failure::Unsupported),
        _ => Err(Failure::KeyMismatch { expected, key_type }),
    }
}

fn digest(hash: Hash, message: &[u8]) -> Option<Vec<u8>> {
    Some(match hash {
        // TLS 1.2 handshake signatures only: certificates signed with SHA-1 are refused
        // before a digest is taken.
        Hash::Sha1 => ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, message)
            .as_ref()
            .to_vec(),
        Hash::Sha256 => sha2::Sha256::digest(message).to_vec(),
        Hash::Sha384 => sha2::Sha384::digest(message).to_vec(),
        Hash::Sha512 => sha2::Sha512::digest(message).to_vec(),
        _ => return None,
    })
}

/// RSA with RustCrypto: PKCS #1 v1.5 or PSS (salt length = hash length, as Go's
/// `PSSSaltLengthEqualsHash`), any modulus size Go parses.
fn rsa_crypto(
    key: &[u8],
    algo: Algo,
    hash: Hash,
    message: &[u8],
    signature: &[u8],
) -> Result<(), Failure> {
    use rsa::pkcs1::der::Decode as _;
    let Some(hashed) = digest(hash, message) else {
        return Err(Failure::Unsupported);
    };
    // from_pkcs1_der caps the modulus at 4096 bits; Go has no cap for a pool CA.
    let parsed = rsa::pkcs1::RsaPublicKey::from_der(key).map_err(|_| Failure::Rsa)?;
    let n = rsa::BigUint::from_bytes_be(parsed.modulus.as_bytes());
    let e = rsa::BigUint::from_bytes_be(parsed.public_exponent.as_bytes());
    let public = rsa::RsaPublicKey::new_with_max_size(n, e, 1 << 16).map_err(|_| Failure::Rsa)?;
    let result = match (algo, hash) {
        // PKCS #1 v1.5 with SHA-1 (TLS 1.2 only): the DigestInfo prefix of RFC 8017 9.2.
        (Algo::Rsa, Hash::Sha1) => public.verify(
            rsa::Pkcs1v15Sign {
                hash_len: Some(20),
                prefix: Box::new([
                    0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00,
                    0x04, 0x14,
                ]),
            },
            &hashed,
            signature,
        ),
        (Algo::Rsa, Hash::Sha256) => {
            public.verify(rsa::Pkcs1v15Sign::new::<sha2::Sha256>(), &hashed, signature)
        }
        (Algo::Rsa, Hash::Sha384) => {
            public.verify(rsa::Pkcs1v15Sign::new::<sha2::Sha384>(), &hashed, signature)
        }
        (Algo::Rsa, Hash::Sha512) => {
            public.verify(rsa::Pkcs1v15Sign::new::<sha2::Sha512>(), &hashed, signature)
        }
        (Algo::RsaPss, Hash::Sha256) => public.verify(
            rsa::Pss::new_with_salt::<sha2::Sha256>(32),
            &hashed,
            signature,
        ),
        (Algo::RsaPss, Hash::Sha384) => public.verify(
            rsa::Pss::new_with_salt::<sha2::Sha384>(48),
            &hashed,
            signature,
        ),
        (Algo::RsaPss, Hash::Sha512) => public.verify(
            rsa::Pss::new_with_salt::<sha2::Sha512>(64),
            &hashed,
            signature,
        ),
        _ => return Err(Failure::Unsupported),
    };
    result.map_err(|_| Failure::Rsa)
}

/// ECDSA with RustCrypto for what ring lacks: P-521, and SHA-512 (or any hash) on any
/// curve. Go's `hashToInt` truncates a longer digest to the order's size and takes a
/// shorter one as is; RustCrypto's prehash rule does the same once a short digest is
/// left-padded to half the field size it insists on.
fn ecdsa_crypto(
    curve: Curve,
    key: &[u8],
    hash: Hash,
    message: &[u8],
    signature: &[u8],
) -> Result<(), Failure> {
    use ecdsa::signature::hazmat::PrehashVerifier as _;
    let Some(hashed) = digest(hash, message) else {
        return Err(Failure::Unsupported);
    };
    let padded = |size: usize| {
        let mut v = vec![0u8; size.saturating_sub(hashed.len())];
        v.extend_from_slice(&hashed);
        v
    };
    let ok = match curve {
        Curve::P256 => p256::ecdsa::VerifyingKey::from_sec1_bytes(key)
            .ok()
            .zip(p256::ecdsa::Signature::from_der(signature).ok())
            .is_some_and(|(k, s)| k.verify_prehash(&padded(32), &s).is_ok()),
        Curve::P384 => p384::ecdsa::VerifyingKey::from_sec1_bytes(key)
            .ok()
            .zip(p384::ecdsa::Signature::from_der(signature).ok())
            .is_some_and(|(k, s)| k.verify_prehash(&padded(48), &s).is_ok()),
        Curve::P521 => p521::ecdsa::VerifyingKey::from_sec1_bytes(key)
            .ok()
            .zip(p521::ecdsa::Signature::from_der(signature).ok())
            .is_some_and(|(k, s)| k.verify_prehash(&padded(66), &s).is_ok()),
        Curve::P224 => p224::ecdsa::VerifyingKey::from_sec1_bytes(key)
            .ok()
            .zip(p224::ecdsa::Signature::from_der(signature).ok())
            .is_some_and(|(k, s)| k.verify_prehash(&padded(28), &s).is_ok()),
    };
    if ok {
        Ok(())
    } else {
        Err(Failure::Ecdsa)
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
