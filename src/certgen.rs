//! Issuing the registry's CA and server certificate (rcgen on ring).
//!
//! The guide's openssl recipe makes one self-signed `CA:TRUE` certificate that names only
//! the VIP, so Marathon-LB's address fails with "certificate is valid for 192.168.0.1, not
//! 192.168.1.50", and its Mesos-DNS variants put the name only in the CN, which Go ignores
//! (Go 1.15+ matches names against SANs only). Here a small CA signs a leaf that is a proper
//! TLS server certificate: `CA:FALSE`, serverAuth, every endpoint host as a SAN.
//! ring cannot generate RSA keys, so RSA keys come from the RustCrypto `rsa` crate and are
//! handed to rcgen/ring as PKCS#8 for signing.

use crate::fsutil::Fs;
use crate::x509::pem::der_tlv;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType, SerialNumber,
};
use rustls_pki_types::PrivatePkcs8KeyDer;
use time::{Duration, OffsetDateTime};

/// The CA lives ten years: it is what every agent trusts, so replacing it is the costly part.
pub(crate) const CA_DAYS: i64 = 3650;

/// Certificates start an hour in the past so agents whose clocks lag still accept them
/// (Go rejects a certificate before its NotBefore: "x509: certificate has expired or is
/// not yet valid").
const BACKDATE: Duration = Duration::hours(1);

/// Key algorithm of newly generated keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum KeyAlgorithm {
    EcdsaP256,
    Rsa2048,
}

/// Why a certificate or key could not be made or loaded.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CertGenError {
    #[error("cannot generate a {0} key: {1}")]
    KeyGeneration(&'static str, String),
    #[error("cannot sign the certificate: {0}")]
    Sign(rcgen::Error),
    // Not named `source`: the io error is shown here, not again in the error chain.
    #[error("cannot read {path} — {error}")]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    /// The --ca-cert file itself is unreadable or not PEM/DER (the message names it).
    #[error("--ca-cert: {0}")]
    CaCertFile(String),
    #[error("{path}: {detail}")]
    BadCaCert { path: PathBuf, detail: String },
    #[error("{path} holds no usable private key ({detail}) — give an unencrypted PEM key; convert other forms with `openssl pkcs8 -topk8 -nocrypt -in KEY -out key.pem`")]
    BadCaKey { path: PathBuf, detail: String },
    #[error(
        "{key} is not the private key of {cert} — give the key that belongs to the CA certificate"
    )]
    KeyMismatch { cert: PathBuf, key: PathBuf },
    /// `cert renew`: the registry certificate was signed by another CA than the one given.
    #[error("{cert} was not issued by {ca} ({issuer}) — renew with the CA that issued it, or issue a new pair with `cert --out DIR --force`")]
    NotIssuedBy {
        cert: PathBuf,
        ca: PathBuf,
        issuer: String,
    },
    /// `cert renew`: the registry certificate cannot be read or copied.
    #[error("{path}: {detail}")]
    BadLeaf { path: PathBuf, detail: String },
    /// `cert renew --keep-key`: the key beside the certificate is not its key.
    #[error("{key} is not the private key of {cert} — renew without --keep-key to make a new key")]
    LeafKeyMismatch { cert: PathBuf, key: PathBuf },
}

/// The names a registry certificate is issued for.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub(crate) struct SubjectNames {
    pub(crate) dns: Vec<String>,
    pub(crate) ips: Vec<IpAddr>,
}

impl SubjectNames {
    /// Add a DNS name once (DNS is case-insensitive; Go compares lower-cased).
    pub(crate) fn add_dns(&mut self, name: &str) {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        if !self.dns.contains(&name) {
            self.dns.push(name);
        }
    }

    pub(crate) fn add_ip(&mut self, ip: IpAddr) {
        if !self.ips.contains(&ip) {
            self.ips.push(ip);
        }
    }

    /// The subject CN: informative only (Go never matches it), the first name given.
    fn common_name(&self) -> String {
        self.ips
            .first()
            .map(|ip| ip.to_string())
            .or_else(|| self.dns.first().cloned())
            .unwrap_or_else(|| "docker registry".to_string())
    }

    fn san_types(&self) -> Result<Vec<SanType>, CertGenError> {
        let mut sans = Vec::new();
        for ip in &self.ips {
            sans.push(SanType::IpAddress(*ip));
        }
        for name in &self.dns {
            let ia5 = name.as_str().try_into().map_err(CertGenError::Sign)?;
            sans.push(SanType::DnsName(ia5));
        }
        Ok(sans)
    }
}

/// A CA able to sign: its certificate (DER) and the issuer data rcgen needs.
pub(crate) struct SigningCa {
    pub(crate) cert_der: Vec<u8>,
    /// PEM of the CA key when we generated it (None when the user's CA was loaded).
    pub(crate) new_key_pem: Option<String>,
    pub(crate) not_after: OffsetDateTime,
    issuer: Issuer<'static, KeyPair>,
}

/// A newly issued registry certificate.
pub(crate) struct Leaf {
    pub(crate) cert_der: Vec<u8>,
    pub(crate) key_pem: String,
    pub(crate) not_after: OffsetDateTime,
}

/// A new private key of the given algorithm.
pub(crate) fn generate_key(algorithm: KeyAlgorithm) -> Result<KeyPair, CertGenError> {
    match algorithm {
        KeyAlgorithm::EcdsaP256 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
            .map_err(|e| CertGenError::KeyGeneration("ECDSA P-256", e.to_string())),
        KeyAlgorithm::Rsa2048 => {
            use rsa::pkcs8::EncodePrivateKey;
            let fail = |e: String| CertGenError::KeyGeneration("RSA 2048", e);
            let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048)
                .map_err(|e| fail(e.to_string()))?;
            let der = key.to_pkcs8_der().map_err(|e| fail(e.to_string()))?;
            let pkcs8 = PrivatePkcs8KeyDer::from(der.as_bytes());
            KeyPair::from_pkcs8_der_and_sign_algo(&pkcs8, &rcgen::PKCS_RSA_SHA256)
                .map_err(|e| fail(e.to_string()))
        }
    }
}

/// A positive 127-bit random serial (RFC 5280 §4.1.2.2: at most 20 octets, positive;
/// CA/B Forum: at least 64 bits of randomness).
fn random_serial() -> Result<SerialNumber, CertGenError> {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 16];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| CertGenError::KeyGeneration("serial", "no system randomness".into()))?;
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    Ok(SerialNumber::from_slice(&bytes))
}

/// A new self-signed CA: `CA:TRUE, pathlen:0`, keyCertSign and cRLSign, ten years (or as
/// long as the first certificate it signs, `leaf_days`, if that is longer).
pub(crate) fn new_ca(
    algorithm: KeyAlgorithm,
    now: OffsetDateTime,
    leaf_days: u32,
) -> Result<SigningCa, CertGenError> {
    let key = generate_key(algorithm)?;
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "docker-dcosreg");
    // A date in the CN tells two generations of the CA apart in trust stores and `check`.
    dn.push(
        DnType::CommonName,
        format!(
            "docker-dcosreg registry CA {}",
            now.date().to_string().replace('-', "")
        ),
    );
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.not_before = now - BACKDATE;
    params.not_after = now + Duration::days(CA_DAYS.max(i64::from(leaf_days) + 1));
    params.serial_number = Some(random_serial()?);
    let cert = params.self_signed(&key).map_err(CertGenError::Sign)?;
    let key_pem = key.serialize_pem();
    Ok(SigningCa {
        cert_der: cert.der().to_vec(),
        new_key_pem: Some(key_pem),
        not_after: params.not_after,
        issuer: Issuer::new(params, key),
    })
}

/// Load an existing CA (certificate + PKCS#8 key) to renew a leaf without new trust.
pub(crate) fn load_ca(
    fs: Fs<'_>,
    cert_path: &Path,
    key_path: &Path,
) -> Result<SigningCa, CertGenError> {
    let bad_cert = |detail: String| CertGenError::BadCaCert {
        path: cert_path.to_path_buf(),
        detail,
    };
    let certs = crate::x509::pem::read_certificates(fs, cert_path)
        .map_err(|e| CertGenError::CaCertFile(e.to_string()))?;
    let [cert_der] = certs.as_slice() else {
        return Err(bad_cert(format!(
            "holds {} certificates — give a file with only the CA certificate (ca.crt, not the chain)",
            certs.len()
        )));
    };
    let (_, parsed) = x509_parser::parse_x509_certificate(cert_der.as_ref())
        .map_err(|e| bad_cert(format!("not an X.509 certificate ({e})")))?;
    check_is_ca(&parsed).map_err(bad_cert)?;
    // rcgen rebuilds the issuer name from the parsed subject; it supports one attribute
    // per RDN only (and panics on an empty RDN). Go chains by raw name bytes, so a
    // subject we cannot reproduce exactly must be refused rather than half-copied.
    if parsed.subject().iter().any(|rdn| rdn.iter().count() != 1) {
        return Err(bad_cert(
            "its subject has multi-valued or empty name parts, which cannot be reproduced as the issuer — issue a new CA instead".into(),
        ));
    }

    let key_text = fs.read_text(key_path).map_err(|error| CertGenError::Read {
        path: key_path.to_path_buf(),
        error,
    })?;
    let key = load_key(&key_text).map_err(|detail| CertGenError::BadCaKey {
        path: key_path.to_path_buf(),
        detail,
    })?;
    if key.public_key_raw() != parsed.public_key().subject_public_key.data.as_ref() {
        return Err(CertGenError::KeyMismatch {
            cert: cert_path.to_path_buf(),
            key: key_path.to_path_buf(),
        });
    }
    let not_after = OffsetDateTime::from_unix_timestamp(parsed.validity().not_after.timestamp())
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    if not_after <= OffsetDateTime::now_utc() + Duration::days(1) {
        return Err(bad_cert(format!(
            "the CA expires on {} — Go rejects certificates it signs after that; issue a new CA (without --ca-cert)",
            not_after.date()
        )));
    }
    let issuer = Issuer::from_ca_cert_der(cert_der, key)
        .map_err(|e| bad_cert(format!("cannot use it as issuer ({e})")))?;
    Ok(SigningCa {
        cert_der: cert_der.to_vec(),
        new_key_pem: None,
        not_after,
        issuer,
    })
}

/// Go (crypto/x509 verify.go, `isValid`) refuses a parent without `CA:TRUE`, and one whose
/// KeyUsage lacks certSign when the extension is present.
fn check_is_ca(cert: &x509_parser::certificate::X509Certificate<'_>) -> Result<(), String> {
    let is_ca = cert
        .basic_constraints()
        .ok()
        .flatten()
        .is_some_and(|bc| bc.value.ca);
    if !is_ca {
        return Err("is not a CA certificate (no basicConstraints CA:TRUE) — Go will not accept certificates it signs; give the CA's certificate, or issue a new CA".into());
    }
    if let Ok(Some(ku)) = cert.key_usage() {
        if !ku.value.key_cert_sign() {
            return Err("its keyUsage lacks keyCertSign — Go will not accept certificates it signs; issue a new CA".into());
        }
    }
    Ok(())
}

/// A PEM private key in PKCS#8 (`PRIVATE KEY`), PKCS#1 RSA (`RSA PRIVATE KEY`) or SEC1
/// (`EC PRIVATE KEY`, as `openssl ecparam -genkey` writes it, possibly after an
/// `EC PARAMETERS` block); the last two are converted to PKCS#8, which is all ring reads.
/// The signature algorithm follows from the key.
fn load_key(text: &str) -> Result<KeyPair, String> {
    let blocks = pem::parse_many(text).map_err(|e| format!("not PEM: {e}"))?;
    let block = blocks
        .iter()
        .find(|b| b.tag() != "EC PARAMETERS")
        .ok_or_else(|| "no PEM block".to_string())?;
    match block.tag() {
        "PRIVATE KEY" => KeyPair::try_from(block.contents()).map_err(|e| e.to_string()),
        "RSA PRIVATE KEY" => {
            use rsa::pkcs1::DecodeRsaPrivateKey;
            use rsa::pkcs8::EncodePrivateKey;
            let key = rsa::RsaPrivateKey::from_pkcs1_der(block.contents())
                .map_err(|e| format!("bad PKCS#1 RSA key: {e}"))?;
            let der = key.to_pkcs8_der().map_err(|e| e.to_string())?;
            KeyPair::from_pkcs8_der_and_sign_algo(
                &PrivatePkcs8KeyDer::from(der.as_bytes()),
                &rcgen::PKCS_RSA_SHA256,
            )
            .map_err(|e| e.to_string())
        }
        "EC PRIVATE KEY" => {
            // ring checks that the curve named inside the SEC1 key matches the one in
            // the PKCS#8 wrapper, so trying each supported curve picks the right one.
            for curve in [EC_P256_OID, EC_P384_OID] {
                let pkcs8 = sec1_to_pkcs8(block.contents(), curve);
                if let Ok(key) = KeyPair::try_from(pkcs8.as_slice()) {
                    return Ok(key);
                }
            }
            Err("an EC key on a curve other than P-256 or P-384".into())
        }
        "ENCRYPTED PRIVATE KEY" => Err("the key is encrypted".into()),
        other => Err(format!("a {other:?} PEM block is not supported")),
    }
}

/// DER of the OIDs prime256v1 (1.2.840.10045.3.1.7) and secp384r1 (1.3.132.0.34).
const EC_P256_OID: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const EC_P384_OID: &[u8] = &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22];
/// DER of the OID id-ecPublicKey (1.2.840.10045.2.1).
const EC_PUBLIC_KEY_OID: &[u8] = &[0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];

/// RFC 5208 PrivateKeyInfo { version 0, { id-ecPublicKey, curve }, OCTET STRING sec1 }
/// (RFC 5915 §3 for the EC form).
fn sec1_to_pkcs8(sec1: &[u8], curve_oid: &[u8]) -> Vec<u8> {
    let algorithm = der_tlv(0x30, &[EC_PUBLIC_KEY_OID, curve_oid].concat());
    let version = [0x02, 0x01, 0x00];
    der_tlv(
        0x30,
        &[&version[..], &algorithm, &der_tlv(0x04, sec1)].concat(),
    )
}

/// The registry's server certificate, signed by `ca`, with a new key.
pub(crate) fn issue_leaf(
    ca: &SigningCa,
    names: &SubjectNames,
    algorithm: KeyAlgorithm,
    now: OffsetDateTime,
    not_after: OffsetDateTime,
) -> Result<Leaf, CertGenError> {
    let key = generate_key(algorithm)?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, names.common_name());
    sign_leaf(ca, names, dn, &key, now, not_after)
}

/// A server certificate for `key` with `subject` and `names`, signed by `ca`: `CA:FALSE`,
/// serverAuth, digitalSignature (and keyEncipherment for an RSA key), AKI, a new serial.
pub(crate) fn sign_leaf(
    ca: &SigningCa,
    names: &SubjectNames,
    subject: DistinguishedName,
    key: &KeyPair,
    now: OffsetDateTime,
    not_after: OffsetDateTime,
) -> Result<Leaf, CertGenError> {
    let mut params = CertificateParams::default();
    params.distinguished_name = subject;
    params.subject_alt_names = names.san_types()?;
    params.is_ca = IsCa::ExplicitNoCa;
    // RFC 5280 §4.2.1.3; keyEncipherment only where RSA key exchange could use it.
    params.key_usages = if is_rsa(key) {
        vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ]
    } else {
        vec![KeyUsagePurpose::DigitalSignature]
    };
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    params.not_before = now - BACKDATE;
    params.not_after = not_after;
    params.serial_number = Some(random_serial()?);
    let cert = params
        .signed_by(key, &ca.issuer)
        .map_err(CertGenError::Sign)?;
    Ok(Leaf {
        cert_der: cert.der().to_vec(),
        key_pem: key.serialize_pem(),
        not_after: params.not_after,
    })
}

/// Whether `key` is an RSA key (whatever RSA signature algorithm rcgen paired it with).
pub(crate) fn is_rsa(key: &KeyPair) -> bool {
    [
        &rcgen::PKCS_RSA_SHA256,
        &rcgen::PKCS_RSA_SHA384,
        &rcgen::PKCS_RSA_SHA512,
    ]
    .into_iter()
    .any(|alg| key.is_compatible(alg))
}

/// A private key file (PKCS#8, PKCS#1 RSA or SEC1 EC PEM), for `cert renew --keep-key`.
pub(crate) fn load_private_key(fs: Fs<'_>, path: &Path) -> Result<KeyPair, CertGenError> {
    let text = fs.read_text(path).map_err(|error| CertGenError::Read {
        path: path.to_path_buf(),
        error,
    })?;
    load_key(&text).map_err(|detail| CertGenError::BadCaKey {
        path: path.to_path_buf(),
        detail,
    })
}

/// What `cert renew` keeps of the registry certificate in use.
pub(crate) struct CurrentLeaf {
    /// The subject, rebuilt attribute by attribute (checked byte for byte after signing).
    pub(crate) subject: DistinguishedName,
    /// The subject's DER, to compare the renewed certificate's with.
    pub(crate) subject_der: Vec<u8>,
    /// The subject as openssl/x509-parser print it (`CN=…, O=…`); from the file: sanitize.
    pub(crate) subject_text: String,
    pub(crate) names: SubjectNames,
    pub(crate) not_before: OffsetDateTime,
    pub(crate) not_after: OffsetDateTime,
    /// The subjectPublicKey bits, to tell whether a key file is this certificate's key.
    pub(crate) public_key: Vec<u8>,
    /// RSA key (a new key is then RSA 2048), else ECDSA P-256.
    pub(crate) rsa: bool,
}

/// Read the registry certificate (the first certificate of `cert_path`, a chain file) and
/// check that `ca` issued it: same issuer name as the CA's subject and a signature the
/// CA's key verifies (RFC 5280 §6.1.3 (a)(1)–(4)). Its validity is not checked: renewing
/// an expired certificate is the point.
pub(crate) fn read_current_leaf(
    fs: Fs<'_>,
    cert_path: &Path,
    ca: &SigningCa,
    ca_path: &Path,
) -> Result<CurrentLeaf, CertGenError> {
    let bad = |detail: String| CertGenError::BadLeaf {
        path: cert_path.to_path_buf(),
        detail,
    };
    let certs =
        crate::x509::pem::read_certificates(fs, cert_path).map_err(|e| bad(e.to_string()))?;
    let Some(leaf_der) = certs.first() else {
        return Err(bad(
            "holds no certificate — issue a new pair with `cert --out DIR`".into(),
        ));
    };
    let (_, leaf) = x509_parser::parse_x509_certificate(leaf_der.as_ref())
        .map_err(|e| bad(format!("not an X.509 certificate ({e})")))?;
    let (_, ca_cert) = x509_parser::parse_x509_certificate(&ca.cert_der)
        .map_err(|e| bad(format!("the CA certificate does not parse ({e})")))?;
    let issued = leaf.issuer().as_raw() == ca_cert.subject().as_raw()
        && crate::x509::signed_by(leaf_der.as_ref(), &ca.cert_der);
    if !issued {
        return Err(CertGenError::NotIssuedBy {
            cert: cert_path.to_path_buf(),
            ca: ca_path.to_path_buf(),
            issuer: if leaf.issuer().as_raw() == ca_cert.subject().as_raw() {
                "its issuer has the CA's name but another key".to_string()
            } else {
                format!(
                    "its issuer is {}",
                    crate::text::sanitize_line(&leaf.issuer().to_string())
                )
            },
        });
    }
    let subject = copy_name(leaf.subject()).map_err(|detail| {
        bad(format!(
            "its subject {detail}, so it cannot be kept — issue a new pair with `cert --out DIR --force`"
        ))
    })?;
    let mut names = SubjectNames::default();
    if let Some(sans) = leaf
        .subject_alternative_name()
        .map_err(|e| bad(format!("its subjectAltName does not parse ({e})")))?
    {
        use x509_parser::extensions::GeneralName;
        for name in &sans.value.general_names {
            match name {
                GeneralName::DNSName(dns) => names.add_dns(dns),
                GeneralName::IPAddress(octets) => {
                    let ip = match octets.len() {
                        4 => <[u8; 4]>::try_from(*octets).ok().map(IpAddr::from),
                        16 => <[u8; 16]>::try_from(*octets).ok().map(IpAddr::from),
                        _ => None,
                    };
                    names.add_ip(ip.ok_or_else(|| bad("holds a malformed IP address SAN".into()))?);
                }
                other => {
                    return Err(bad(format!(
                        "holds a subjectAltName renew cannot copy ({}) — issue a new pair with `cert --out DIR --force`",
                        crate::text::sanitize_line(&other.to_string())
                    )))
                }
            }
        }
    }
    let time = |t: x509_parser::time::ASN1Time| {
        OffsetDateTime::from_unix_timestamp(t.timestamp()).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    };
    Ok(CurrentLeaf {
        subject,
        subject_der: leaf.subject().as_raw().to_vec(),
        subject_text: leaf.subject().to_string(),
        names,
        not_before: time(leaf.validity().not_before),
        not_after: time(leaf.validity().not_after),
        public_key: leaf.public_key().subject_public_key.data.to_vec(),
        rsa: leaf.public_key().algorithm.algorithm
            == x509_parser::oid_registry::OID_PKCS1_RSAENCRYPTION,
    })
}

/// Rebuild `name` for rcgen: one attribute per RDN, each type once (rcgen keeps one value
/// per type), in the string types rcgen writes back unchanged.
fn copy_name(name: &x509_parser::x509::X509Name<'_>) -> Result<DistinguishedName, String> {
    use x509_parser::der_parser::asn1_rs::Tag;
    let mut dn = DistinguishedName::new();
    for rdn in name.iter() {
        let mut attributes = rdn.iter();
        let (Some(attribute), None) = (attributes.next(), attributes.next()) else {
            return Err("has multi-valued or empty name parts".into());
        };
        let oid: Vec<u64> = attribute
            .attr_type()
            .iter()
            .ok_or_else(|| "has an attribute type that is not an OID".to_string())?
            .collect();
        let kind = DnType::from_oid(&oid);
        if dn.get(&kind).is_some() {
            return Err("repeats an attribute type".into());
        }
        let value = attribute.attr_value();
        let text = std::str::from_utf8(value.data)
            .map_err(|_| "holds an attribute that is not text".to_string())?;
        let copied = match value.header.tag() {
            Tag::Utf8String => rcgen::DnValue::Utf8String(text.to_string()),
            Tag::PrintableString => rcgen::DnValue::PrintableString(
                text.try_into()
                    .map_err(|_| "holds a malformed PrintableString".to_string())?,
            ),
            Tag::Ia5String => rcgen::DnValue::Ia5String(
                text.try_into()
                    .map_err(|_| "holds a malformed IA5String".to_string())?,
            ),
            _ => return Err("uses a string type renew cannot copy".into()),
        };
        dn.push(kind, copied);
    }
    Ok(dn)
}

#[cfg(test)]
mod tests {
    use super::*;
    use x509_parser::prelude::*;

    fn names() -> SubjectNames {
        let mut names = SubjectNames::default();
        names.add_ip("192.168.0.1".parse().unwrap());
        names.add_dns("Registry.Marathon.Mesos.");
        names.add_dns("registry.marathon.mesos");
        names
    }

    #[test]
    fn leaf_is_a_server_certificate_chained_to_the_ca() {
        let now = OffsetDateTime::now_utc();
        let ca = new_ca(KeyAlgorithm::EcdsaP256, now, 30).unwrap();
        let leaf = issue_leaf(
            &ca,
            &names(),
            KeyAlgorithm::EcdsaP256,
            now,
            now + Duration::days(30),
        )
        .unwrap();
        let (_, ca_cert) = parse_x509_certificate(&ca.cert_der).unwrap();
        let (_, cert) = parse_x509_certificate(&leaf.cert_der).unwrap();
        assert_eq!(cert.issuer().as_raw(), ca_cert.subject().as_raw());
        assert!(cert.verify_signature(Some(ca_cert.public_key())).is_ok());
        assert!(!cert.basic_constraints().unwrap().unwrap().value.ca);
        assert!(ca_cert.basic_constraints().unwrap().unwrap().value.ca);
        let eku = cert.extended_key_usage().unwrap().unwrap().value;
        assert!(eku.server_auth);
        let sans = &cert.subject_alternative_name().unwrap().unwrap().value;
        assert_eq!(sans.general_names.len(), 2, "duplicate name folded");
        let days = (leaf.not_after - now).whole_days();
        assert_eq!(days, 30);
    }

    #[test]
    fn der_lengths_use_the_long_form_past_127() {
        assert_eq!(der_tlv(0x04, &[7; 3]), vec![0x04, 3, 7, 7, 7]);
        assert_eq!(der_tlv(0x04, &[0; 200])[..3], [0x04, 0x81, 200]);
        assert_eq!(der_tlv(0x04, &[0; 300])[..4], [0x04, 0x82, 0x01, 0x2c]);
    }

    #[test]
    fn rsa_keys_sign_and_carry_key_encipherment() {
        let now = OffsetDateTime::now_utc();
        let ca = new_ca(KeyAlgorithm::Rsa2048, now, 1).unwrap();
        let leaf = issue_leaf(
            &ca,
            &names(),
            KeyAlgorithm::Rsa2048,
            now,
            now + Duration::days(1),
        )
        .unwrap();
        let (_, cert) = parse_x509_certificate(&leaf.cert_der).unwrap();
        let ku = cert.key_usage().unwrap().unwrap().value;
        assert!(ku.digital_signature() && ku.key_encipherment());
        assert!(leaf.key_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
    }
}
