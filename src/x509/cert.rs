//! A parsed certificate holding exactly the fields Go's `crypto/x509.Certificate`
//! exposes to verification, extracted once with x509-parser.
//!
//! Field meanings follow Go, not RFC prose, because our verdict must equal Go's:
//! `Version` is 1-based, `MaxPathLen` is absent when the extension has no pathLen,
//! `KeyUsage` 0 means "no restriction", `CommonName` is the last CN attribute
//! (<https://github.com/golang/go/blob/master/src/crypto/x509/pkix/pkix.go> FillFromRDNSequence).

use std::net::IpAddr;

use rustls_pki_types::CertificateDer;

use super::goname;
use super::parser::{self, GoKey, GoTime, NameConstraints};

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
    /// DSA, X25519, unknown algorithms: Go parses them but verifies nothing with them,
    /// and crypto/tls refuses them in a server certificate. Holds Go's `%T` of the key.
    Other(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Curve {
    P224,
    P256,
    P384,
    P521,
}

impl KeyKind {
    /// "RSA 2048", "ECDSA P-256", "Ed25519": for findings and summaries.
    pub(crate) fn describe(&self) -> String {
        match self {
            KeyKind::Rsa { bits } => format!("RSA {bits}"),
            KeyKind::Ec { curve } => format!(
                "ECDSA {}",
                match curve {
                    Curve::P224 => "P-224",
                    Curve::P256 => "P-256",
                    Curve::P384 => "P-384",
                    Curve::P521 => "P-521",
                }
            ),
            KeyKind::Ed25519 => "Ed25519".into(),
            KeyKind::Other(go_type) => match go_type.as_str() {
                "*dsa.PublicKey" => "DSA".into(),
                "*ecdh.PublicKey" => "X25519".into(),
                _ => "unknown key algorithm".into(),
            },
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
    /// The signature AlgorithmIdentifier's parameters element (empty when absent).
    pub(crate) sig_params: Vec<u8>,
    pub(crate) key: KeyKind,
    /// The subjectPublicKey BIT STRING contents (what the verifiers take).
    pub(crate) key_bytes: Vec<u8>,
    pub(crate) version: u32,
    pub(crate) basic_constraints_valid: bool,
    pub(crate) is_ca: bool,
    pub(crate) max_path_len: Option<u64>,
    /// Raw KeyUsage flags; 0 when absent (Go: no restriction).
    pub(crate) key_usage: u16,
    pub(crate) key_cert_sign: bool,
    pub(crate) eku: Eku,
    pub(crate) dns_names: Vec<String>,
    pub(crate) ip_addresses: Vec<IpAddr>,
    pub(crate) has_san_extension: bool,
    pub(crate) san_value: Option<Vec<u8>>,
    pub(crate) name_constraints: Option<NameConstraints>,
    pub(crate) policies: Vec<String>,
    pub(crate) policy_mappings: Vec<(String, String)>,
    pub(crate) require_explicit_policy: Option<i64>,
    pub(crate) inhibit_policy_mapping: Option<i64>,
    pub(crate) inhibit_any_policy: Option<i64>,
    pub(crate) common_name: String,
    pub(crate) organization: Option<String>,
    /// `SerialNumber.String()`: signed decimal.
    pub(crate) serial_decimal: String,
    pub(crate) not_before: GoTime,
    pub(crate) not_after: GoTime,
    pub(crate) subject_key_id: Vec<u8>,
    pub(crate) authority_key_id: Vec<u8>,
    pub(crate) unhandled_critical_extension: bool,
    /// Go's `pkix.Name.String()` of subject and issuer, for people (hostile: sanitize
    /// before printing).
    pub(crate) subject: String,
    pub(crate) issuer: String,
}

/// Why bytes are not a certificate Go would parse: Go's own error text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(crate) struct ParseError(pub(crate) String);

impl Cert {
    /// Go's `x509.ParseCertificate`: the same certificates refused, with Go's message.
    pub(crate) fn parse(der: &CertificateDer<'_>) -> Result<Cert, ParseError> {
        let p = parser::parse_certificate(der.as_ref()).map_err(ParseError)?;
        let key = match &p.key {
            GoKey::Rsa { n, .. } => KeyKind::Rsa {
                bits: bit_length(n),
            },
            GoKey::Ec { curve_oid, .. } => KeyKind::Ec {
                curve: match curve_oid.as_str() {
                    "1.2.840.10045.3.1.7" => Curve::P256,
                    "1.3.132.0.34" => Curve::P384,
                    "1.3.132.0.35" => Curve::P521,
                    _ => Curve::P224,
                },
            },
            GoKey::Ed25519(_) => KeyKind::Ed25519,
            GoKey::X25519 => KeyKind::Other("*ecdh.PublicKey".into()),
            GoKey::Dsa => KeyKind::Other("*dsa.PublicKey".into()),
            GoKey::Unknown(_) => KeyKind::Other("<nil>".into()),
        };
        let (sig_oid, sig_params) = parser::algorithm(&p.sig_alg);
        let e = &p.extensions;
        let names: Vec<&parser::Attribute> = p.subject.iter().flatten().collect();
        let last_cn = names
            .iter()
            .rev()
            .find(|a| a.oid == "2.5.4.3")
            .map(|a| a.value.clone())
            .unwrap_or_default();
        let organization = names
            .iter()
            .find(|a| a.oid == "2.5.4.10")
            .map(|a| a.value.clone());
        Ok(Cert {
            der: der.clone().into_owned(),
            raw_subject: p.raw_subject.clone(),
            raw_issuer: p.raw_issuer.clone(),
            tbs: p.tbs.clone(),
            signature: p.signature.clone(),
            sig_oid,
            sig_params,
            key,
            key_bytes: p.key_bytes.clone(),
            version: p.version,
            basic_constraints_valid: e.basic_constraints_valid,
            is_ca: e.is_ca,
            max_path_len: e.max_path_len,
            key_usage: e.key_usage,
            key_cert_sign: e.key_usage & (1 << 5) != 0,
            eku: Eku {
                any: e.eku_any,
                server_auth: e.eku_server_auth,
                count: e.eku_count,
            },
            dns_names: e.dns_names.clone(),
            ip_addresses: e.ips.iter().filter_map(|b| ip_from_bytes(b)).collect(),
            has_san_extension: e.san.is_some(),
            san_value: e.san.clone(),
            name_constraints: e.name_constraints.clone(),
            policies: e.policies.clone(),
            policy_mappings: e.policy_mappings.clone(),
            require_explicit_policy: e.require_explicit_policy,
            inhibit_policy_mapping: e.inhibit_policy_mapping,
            inhibit_any_policy: e.inhibit_any_policy,
            common_name: last_cn,
            organization,
            serial_decimal: signed_decimal(&p.serial),
            not_before: p.not_before,
            not_after: p.not_after,
            subject_key_id: e.subject_key_id.clone(),
            authority_key_id: e.authority_key_id.clone(),
            unhandled_critical_extension: e.unhandled_critical,
            subject: goname::name_string(&p.subject),
            issuer: goname::name_string(&p.issuer),
        })
    }

    /// The SAN extension's email addresses and URIs (for name constraints).
    pub(crate) fn san_entries(&self) -> Vec<(u8, Vec<u8>)> {
        let mut out = Vec::new();
        if let Some(san) = &self.san_value {
            let _ = parser::for_each_san(super::der::Der(san), |tag, data| {
                out.push((tag, data.to_vec()));
                Ok(())
            });
        }
        out
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

/// `big.Int.String()` of a two's-complement DER INTEGER.
fn signed_decimal(bytes: &[u8]) -> String {
    x509_parser::der_parser::num_bigint::BigInt::from_signed_bytes_be(bytes).to_string()
}

/// Bits in a big-endian modulus (Go's `N.BitLen()`), ignoring leading zero bytes.
fn bit_length(bytes: &[u8]) -> usize {
    let trimmed: &[u8] = match bytes.iter().position(|b| *b != 0) {
        Some(at) => &bytes[at..],
        None => return 0,
    };
    trimmed.len() * 8 - trimmed[0].leading_zeros() as usize
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
        assert_eq!(parsed.subject, "CN=Registry");
        assert!(parsed.has_san_extension);
        assert_eq!(parsed.version, 3);
    }
}
