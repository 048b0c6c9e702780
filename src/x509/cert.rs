//! A parsed certificate holding exactly the fields Go's `crypto/x509.Certificate`
//! exposes to verification, extracted once with x509-parser.
//!
//! Field meanings follow Go, not RFC prose, because our verdict must equal Go's:
//! `Version` is 1-based, `MaxPathLen` is absent when the extension has no pathLen,
//! `KeyUsage` 0 means "no restriction", `CommonName` is the last CN attribute
//! (<https://github.com/golang/go/blob/master/src/crypto/x509/pkix/pkix.go> FillFromRDNSequence).

use std::net::IpAddr;

use rustls_pki_types::CertificateDer;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::public_key::PublicKey;

/// The public key, as far as verification needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KeyKind {
    Rsa {
        bits: usize,
    },
    Ec {
        curve: Curve,
    },
    Ed25519,
    /// DSA, GOST, ...: Go cannot verify with these either.
    Other(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Curve {
    P256,
    P384,
    P521,
    Unknown,
}

impl KeyKind {
    /// "RSA 2048", "ECDSA P-256", "Ed25519": for findings and summaries.
    pub(crate) fn describe(&self) -> String {
        match self {
            KeyKind::Rsa { bits } => format!("RSA {bits}"),
            KeyKind::Ec { curve } => format!(
                "ECDSA {}",
                match curve {
                    Curve::P256 => "P-256",
                    Curve::P384 => "P-384",
                    Curve::P521 => "P-521",
                    Curve::Unknown => "(unknown curve)",
                }
            ),
            KeyKind::Ed25519 => "Ed25519".into(),
            KeyKind::Other(oid) => format!("key algorithm {oid}"),
        }
    }
}

/// Extended key usage as Go sees it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Eku {
    pub(crate) any: bool,
    pub(crate) server_auth: bool,
    /// Known and unknown usages together: Go skips a certificate only when both lists are empty.
    pub(crate) count: usize,
}

#[derive(Debug, Clone)]
pub(crate) struct Cert {
    pub(crate) der: CertificateDer<'static>,
    pub(crate) raw_subject: Vec<u8>,
    pub(crate) raw_issuer: Vec<u8>,
    pub(crate) tbs: Vec<u8>,
    pub(crate) signature: Vec<u8>,
    pub(crate) sig_oid: String,
    /// For RSASSA-PSS: the hash size (256/384/512) when the parameters have the shape Go
    /// accepts (MGF1 with the same hash, salt length = hash length, trailer 1).
    pub(crate) pss_hash_bits: Option<u32>,
    pub(crate) key: KeyKind,
    /// The subjectPublicKey BIT STRING contents (what ring verifies with).
    pub(crate) key_bytes: Vec<u8>,
    pub(crate) version: u32,
    pub(crate) basic_constraints_valid: bool,
    pub(crate) is_ca: bool,
    pub(crate) max_path_len: Option<u32>,
    /// Raw KeyUsage flags; 0 when absent (Go: no restriction).
    pub(crate) key_usage: u16,
    pub(crate) key_cert_sign: bool,
    pub(crate) eku: Eku,
    pub(crate) dns_names: Vec<String>,
    pub(crate) ip_addresses: Vec<IpAddr>,
    pub(crate) has_san_extension: bool,
    pub(crate) san_value: Option<Vec<u8>>,
    pub(crate) common_name: String,
    pub(crate) organization: Option<String>,
    pub(crate) serial_decimal: String,
    pub(crate) not_before: i64,
    pub(crate) not_after: i64,
    pub(crate) subject_key_id: Vec<u8>,
    pub(crate) authority_key_id: Vec<u8>,
    pub(crate) unhandled_critical_extension: bool,
    /// RFC 4514-style subject and issuer, for people (hostile: sanitize before printing).
    pub(crate) subject: String,
    pub(crate) issuer: String,
}

/// Why bytes are not a certificate Go would parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("x509: malformed certificate ({0})")]
pub(crate) struct ParseError(pub(crate) String);

// Extensions Go's parser understands when critical
// (https://github.com/golang/go/blob/master/src/crypto/x509/parser.go processExtensions).
const HANDLED_CRITICAL: &[&str] = &[
    "2.5.29.14",
    "2.5.29.15",
    "2.5.29.19",
    "2.5.29.30",
    "2.5.29.31",
    "2.5.29.32",
    "2.5.29.33",
    "2.5.29.35",
    "2.5.29.36",
    "2.5.29.37",
    "2.5.29.54",
    "1.3.6.1.5.5.7.1.1",
];

impl Cert {
    pub(crate) fn parse(der: &CertificateDer<'_>) -> Result<Cert, ParseError> {
        let (rest, x509) = x509_parser::parse_x509_certificate(der.as_ref())
            .map_err(|e| ParseError(e.to_string()))?;
        if !rest.is_empty() {
            return Err(ParseError("trailing data".into()));
        }
        let tbs = &x509.tbs_certificate;
        let spki = tbs.public_key();
        let key = match spki.parsed() {
            Ok(PublicKey::RSA(rsa)) => KeyKind::Rsa {
                bits: bit_length(rsa.modulus),
            },
            Ok(PublicKey::EC(_)) => {
                let curve = spki
                    .algorithm
                    .parameters
                    .as_ref()
                    .and_then(|p| p.as_oid().ok())
                    .map(|oid| oid.to_id_string());
                KeyKind::Ec {
                    curve: match curve.as_deref() {
                        Some("1.2.840.10045.3.1.7") => Curve::P256,
                        Some("1.3.132.0.34") => Curve::P384,
                        Some("1.3.132.0.35") => Curve::P521,
                        _ => Curve::Unknown,
                    },
                }
            }
            _ if spki.algorithm.algorithm.to_id_string() == "1.3.101.112" => KeyKind::Ed25519,
            _ => KeyKind::Other(spki.algorithm.algorithm.to_id_string()),
        };

        let mut cert = Cert {
            der: der.clone().into_owned(),
            raw_subject: tbs.subject.as_raw().to_vec(),
            raw_issuer: tbs.issuer.as_raw().to_vec(),
            tbs: tbs.as_ref().to_vec(),
            signature: x509.signature_value.data.to_vec(),
            sig_oid: x509.signature_algorithm.algorithm.to_id_string(),
            pss_hash_bits: pss_hash_bits(&x509.signature_algorithm),
            key,
            key_bytes: spki.subject_public_key.data.to_vec(),
            version: tbs.version.0 + 1,
            basic_constraints_valid: false,
            is_ca: false,
            max_path_len: None,
            key_usage: 0,
            key_cert_sign: false,
            eku: Eku::default(),
            dns_names: Vec::new(),
            ip_addresses: Vec::new(),
            has_san_extension: false,
            san_value: None,
            common_name: tbs
                .subject
                .iter_common_name()
                .filter_map(|cn| attribute_text(cn.as_slice(), cn.as_str().ok()))
                .last()
                .unwrap_or_default(),
            organization: tbs
                .subject
                .iter_organization()
                .find_map(|o| attribute_text(o.as_slice(), o.as_str().ok())),
            serial_decimal: tbs.serial.to_string(),
            not_before: tbs.validity.not_before.timestamp(),
            not_after: tbs.validity.not_after.timestamp(),
            subject_key_id: Vec::new(),
            authority_key_id: Vec::new(),
            unhandled_critical_extension: false,
            subject: tbs.subject.to_string(),
            issuer: tbs.issuer.to_string(),
        };

        for ext in tbs.extensions() {
            let oid = ext.oid.to_id_string();
            let mut handled = HANDLED_CRITICAL.contains(&oid.as_str());
            match ext.parsed_extension() {
                ParsedExtension::BasicConstraints(bc) => {
                    cert.basic_constraints_valid = true;
                    cert.is_ca = bc.ca;
                    cert.max_path_len = bc.path_len_constraint;
                }
                ParsedExtension::KeyUsage(ku) => {
                    cert.key_usage = ku.flags;
                    cert.key_cert_sign = ku.key_cert_sign();
                }
                ParsedExtension::ExtendedKeyUsage(eku) => {
                    let known = [
                        eku.any,
                        eku.server_auth,
                        eku.client_auth,
                        eku.code_signing,
                        eku.email_protection,
                        eku.time_stamping,
                        eku.ocsp_signing,
                    ];
                    cert.eku = Eku {
                        any: eku.any,
                        server_auth: eku.server_auth,
                        count: known.iter().filter(|k| **k).count() + eku.other.len(),
                    };
                }
                ParsedExtension::SubjectAlternativeName(san) => {
                    cert.has_san_extension = true;
                    cert.san_value = Some(ext.value.to_vec());
                    for name in &san.general_names {
                        match name {
                            GeneralName::DNSName(dns) => cert.dns_names.push(dns.to_string()),
                            GeneralName::IPAddress(bytes) => {
                                if let Some(ip) = ip_from_bytes(bytes) {
                                    cert.ip_addresses.push(ip);
                                }
                            }
                            _ => {}
                        }
                    }
                    // Go treats a critical SAN it found no names in as unhandled.
                    handled = !san.general_names.is_empty();
                }
                ParsedExtension::SubjectKeyIdentifier(kid) => {
                    cert.subject_key_id = kid.0.to_vec();
                }
                ParsedExtension::AuthorityKeyIdentifier(aki) => {
                    cert.authority_key_id = aki
                        .key_identifier
                        .as_ref()
                        .map(|k| k.0.to_vec())
                        .unwrap_or_default();
                }
                _ => {
                    if oid == "2.5.29.17" {
                        cert.has_san_extension = true;
                        cert.san_value = Some(ext.value.to_vec());
                    }
                }
            }
            if ext.critical && !handled {
                cert.unhandled_critical_extension = true;
            }
        }
        Ok(cert)
    }

    /// Subject and issuer are the same name (a self-issued, usually self-signed, cert).
    pub(crate) fn is_self_issued(&self) -> bool {
        self.raw_subject == self.raw_issuer
    }

    /// The name Go shows for this certificate in "candidate authority certificate %q".
    pub(crate) fn go_display_name(&self) -> String {
        if !self.common_name.is_empty() {
            return self.common_name.clone();
        }
        match &self.organization {
            Some(o) => o.clone(),
            None => format!("serial:{}", self.serial_decimal),
        }
    }
}

/// Go's `getSignatureAlgorithmFromAI` rules for RSASSA-PSS parameters.
fn pss_hash_bits(alg: &x509_parser::x509::AlgorithmIdentifier<'_>) -> Option<u32> {
    use x509_parser::signature_algorithm::SignatureAlgorithm;
    let SignatureAlgorithm::RSASSA_PSS(params) = SignatureAlgorithm::try_from(alg).ok()? else {
        return None;
    };
    let hash = params.hash_algorithm_oid().to_id_string();
    let bits = match hash.as_str() {
        "2.16.840.1.101.3.4.2.1" => 256,
        "2.16.840.1.101.3.4.2.2" => 384,
        "2.16.840.1.101.3.4.2.3" => 512,
        _ => return None,
    };
    let mgf = params.mask_gen_algorithm().ok()?;
    let same_hash =
        mgf.mgf.to_id_string() == "1.2.840.113549.1.1.8" && mgf.hash.to_id_string() == hash;
    (same_hash && params.salt_length() == bits / 8 && params.trailer_field() == 1).then_some(bits)
}

/// Bits in a big-endian modulus (Go's `N.BitLen()`), ignoring leading zero bytes.
fn bit_length(bytes: &[u8]) -> usize {
    let trimmed: &[u8] = match bytes.iter().position(|b| *b != 0) {
        Some(at) => &bytes[at..],
        None => return 0,
    };
    trimmed.len() * 8 - trimmed[0].leading_zeros() as usize
}

fn attribute_text(raw: &[u8], text: Option<&str>) -> Option<String> {
    text.map(str::to_string)
        .or_else(|| std::str::from_utf8(raw).ok().map(str::to_string))
}

fn ip_from_bytes(bytes: &[u8]) -> Option<IpAddr> {
    match bytes.len() {
        4 => {
            let octets: [u8; 4] = bytes.try_into().ok()?;
            Some(IpAddr::from(octets))
        }
        16 => {
            let octets: [u8; 16] = bytes.try_into().ok()?;
            Some(IpAddr::from(octets))
        }
        _ => None,
    }
}

/// Go's `net.IP.String()`: IPv4-mapped IPv6 addresses print as dotted quads.
pub(crate) fn go_ip_string(ip: &IpAddr) -> String {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => v6.to_string(),
        },
        IpAddr::V4(v4) => v4.to_string(),
    }
}

/// Go's `net.IP.Equal`: an IPv4 address equals its IPv4-mapped IPv6 form.
pub(crate) fn go_ip_equal(a: &IpAddr, b: &IpAddr) -> bool {
    let norm = |ip: &IpAddr| match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(*v6)),
        v4 => *v4,
    };
    norm(a) == norm(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_length_ignores_leading_zero_bytes() {
        assert_eq!(bit_length(&[0x00, 0x80, 0x00]), 16);
        assert_eq!(bit_length(&[0x01, 0x00]), 9);
        assert_eq!(bit_length(&[0, 0]), 0);
    }

    #[test]
    fn rcgen_certificate_fields_are_read() {
        let mut params =
            rcgen::CertificateParams::new(vec!["reg.example".to_string(), "10.0.0.1".to_string()])
                .unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "Registry");
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let parsed = Cert::parse(cert.der()).unwrap();
        assert_eq!(parsed.dns_names, vec!["reg.example"]);
        assert_eq!(
            parsed.ip_addresses,
            vec!["10.0.0.1".parse::<IpAddr>().unwrap()]
        );
        assert_eq!(parsed.common_name, "Registry");
        assert_eq!(parsed.key, KeyKind::Ec { curve: Curve::P256 });
        assert!(parsed.has_san_extension);
        assert_eq!(parsed.version, 3);
    }
}
