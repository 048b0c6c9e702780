//! Go-compatible certificate verification (crypto/x509 + crypto/tls client semantics) on
//! parsed certificates, plus findings that explain the verdict.
//!
//! Docker, containerd and skopeo are Go programs: our verdict must equal Go's for the same
//! roots, host and time, and `docker_error` must be Go's text. rustls-webpki is not used
//! for the verdict because it disagrees with Go (it rejects a trusted CA:TRUE leaf).
//!
//! # API (for `check`, `trust`, `doctor`, `cert`, ...)
//! ```text
//! Anchors::for_endpoint(&Config, &Endpoint) -> Anchors   // system pool + ROOT/etc/docker/certs.d/<ref host>/*.crt
//! Anchors::system(&Config) -> Anchors                    // Go's SystemCertPool() under --root
//! Anchors::from_file(&Path) -> Result<Anchors, CertFileError>      // --ca-file (PEM or DER)
//! Anchors::from_cert_dir(&Path) -> Result<Anchors, CertFileError>  // --cert-dir (*.crt, PEM)
//!
//! judge(chain: &[CertificateDer<'static>], anchors: &Anchors, endpoint: &Endpoint,
//!       other_endpoints: &[Endpoint], now: SystemTime) -> Judgement
//! Judgement { trusted, docker_error: Option<String>,
//!             findings: Vec<Finding>, chain: Vec<CertSummary> }      // Serialize
//! Finding { code, severity: Info|Warning|Error, message, fix }          // Serialize
//! ```
//! Strings in `Judgement` come from certificates: sanitize them before printing.

mod anchors;
mod cert;
mod der;
mod findings;
mod goname;
mod parser;
mod policy;
mod signature;
mod verify;

use std::time::SystemTime;

use rustls_pki_types::CertificateDer;
use serde::Serialize;

pub(crate) use anchors::Anchors;
pub(crate) use findings::{Finding, Severity, EXPIRES_SOON_DAYS};

use crate::endpoint::Endpoint;
use cert::Cert;

/// Go's verdict on a presented chain, and what we have to say about it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Judgement {
    pub(crate) trusted: bool,
    /// The text Go would report (from `x509:`, or `tls:` for handshake-level refusals);
    /// `None` when trusted.
    pub(crate) docker_error: Option<String>,
    pub(crate) findings: Vec<Finding>,
    /// The presented chain, leaf first.
    pub(crate) chain: Vec<CertSummary>,
}

/// One certificate, for people and JSON (docs/cli.md `check`, and what `trust` shows before
/// asking to trust it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct CertSummary {
    pub(crate) subject: String,
    pub(crate) issuer: String,
    pub(crate) sha256: String,
    pub(crate) not_before: String,
    pub(crate) not_after: String,
    pub(crate) dns_names: Vec<String>,
    pub(crate) ip_addresses: Vec<String>,
    pub(crate) is_ca: bool,
    /// "RSA 2048", "ECDSA P-256", "Ed25519".
    pub(crate) key: String,
    /// Go's name of the signature algorithm, e.g. "SHA256-RSA".
    pub(crate) signature_algorithm: String,
    /// Signs itself (subject == issuer and its own key verifies the signature): a root.
    pub(crate) self_signed: bool,
}

impl CertSummary {
    fn of(cert: &Cert) -> CertSummary {
        CertSummary {
            subject: cert.subject.clone(),
            issuer: cert.issuer.clone(),
            sha256: crate::pem::sha256_fingerprint(cert.der.as_ref()),
            not_before: verify::go_rfc3339(&cert.not_before),
            not_after: verify::go_rfc3339(&cert.not_after),
            dns_names: cert.dns_names.clone(),
            ip_addresses: cert.ip_addresses.iter().map(cert::go_ip_string).collect(),
            is_ca: cert.basic_constraints_valid && cert.is_ca,
            key: cert.key.describe(),
            signature_algorithm: signature::algorithm_name(cert).to_string(),
            self_signed: cert.is_self_issued() && signature::check_signature(cert, cert).is_ok(),
        }
    }

    /// Summary of a DER certificate; one that does not parse still gets its fingerprint.
    pub(crate) fn of_der(der: &CertificateDer<'_>) -> CertSummary {
        match Cert::parse(der) {
            Ok(cert) => CertSummary::of(&cert),
            Err(_) => CertSummary {
                subject: "(unparsable certificate)".into(),
                issuer: String::new(),
                sha256: crate::pem::sha256_fingerprint(der.as_ref()),
                not_before: String::new(),
                not_after: String::new(),
                dns_names: Vec::new(),
                ip_addresses: Vec::new(),
                is_ca: false,
                key: String::new(),
                signature_algorithm: String::new(),
                self_signed: false,
            },
        }
    }
}

/// Judge `chain` (as presented, leaf first) for `endpoint` against `anchors` at `now`,
/// exactly as Docker's Go TLS client would; `other_endpoints` are checked for the names
/// the certificate should also carry (the internal/external pair).
pub(crate) fn judge(
    chain: &[CertificateDer<'static>],
    anchors: &Anchors,
    endpoint: &Endpoint,
    other_endpoints: &[Endpoint],
    now: SystemTime,
) -> Judgement {
    let now_nanos = unix_nanos(now);
    let now = unix_seconds(now);
    let mut parsed = Vec::with_capacity(chain.len());
    for der in chain {
        match Cert::parse(der) {
            // crypto/tls checkKeySize: Go 1.24 refuses RSA keys over 8192 bits from a
            // server (tlsmaxrsasize), in any certificate of the chain it sends.
            Ok(cert) if matches!(cert.key, cert::KeyKind::Rsa { bits } if bits > 8192) => {
                let message =
                    "tls: server sent certificate containing RSA key larger than 8192 bits"
                        .to_string();
                return Judgement {
                    trusted: false,
                    docker_error: Some(message.clone()),
                    findings: vec![Finding {
                        code: "malformed-certificate",
                        severity: Severity::Error,
                        message,
                        fix: Some(
                            "reissue the certificate with an RSA key of at most 8192 bits (or ECDSA P-256)"
                                .into(),
                        ),
                    }],
                    chain: parsed.iter().map(CertSummary::of).collect(),
                };
            }
            Ok(cert) => parsed.push(cert),
            Err(e) => {
                // crypto/tls: "tls: failed to parse certificate from server: " + err
                let message = format!("tls: failed to parse certificate from server: {e}");
                return Judgement {
                    trusted: false,
                    docker_error: Some(message.clone()),
                    findings: vec![Finding {
                        code: "malformed-certificate",
                        severity: Severity::Error,
                        message,
                        fix: Some("serve a valid PEM certificate chain from the registry".into()),
                    }],
                    chain: parsed.iter().map(CertSummary::of).collect(),
                };
            }
        }
    }
    let Some(leaf) = parsed.first() else {
        let message = "tls: server sent no certificate".to_string();
        return Judgement {
            trusted: false,
            docker_error: Some(message.clone()),
            findings: vec![Finding {
                code: "no-certificate",
                severity: Severity::Error,
                message,
                fix: Some("configure TLS on the registry (REGISTRY_HTTP_TLS_CERTIFICATE)".into()),
            }],
            chain: Vec::new(),
        };
    };
    let intermediates: Vec<&Cert> = parsed[1..].iter().collect();
    let result = verify::verify(
        leaf,
        &intermediates,
        &anchors.certs,
        &endpoint.host,
        &endpoint.dialled_host(),
        now_nanos,
    );
    // crypto/tls, after a successful verification: the leaf's key must be one it can use.
    let result = result.and_then(|chains| match &leaf.key {
        cert::KeyKind::Other(go_type) => Err(verify::GoError {
            failure: verify::Failure::InvalidCertificate,
            message: format!(
                "tls: server's certificate contains an unsupported type of public key: {go_type}"
            ),
        }),
        _ => Ok(chains),
    });
    let error = result.err();
    let findings = findings::collect(&findings::Context {
        presented: &parsed,
        anchors,
        endpoint,
        others: other_endpoints,
        now,
        error: error.as_ref(),
    });
    Judgement {
        trusted: error.is_none(),
        docker_error: error.as_ref().map(|e| e.message.clone()),
        findings,
        chain: parsed.iter().map(CertSummary::of).collect(),
    }
}

fn unix_nanos(time: SystemTime) -> i128 {
    match time.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => d.as_nanos() as i128,
        Err(e) => -(e.duration().as_nanos() as i128),
    }
}

fn unix_seconds(time: SystemTime) -> i64 {
    match time.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(s: &str) -> Endpoint {
        s.parse().unwrap()
    }

    /// The guide's certificate shape: self-signed, CA:TRUE, SAN IP only.
    fn guide_cert(ip: &str) -> rcgen::Certificate {
        let mut params = rcgen::CertificateParams::new(vec![ip.to_string()]).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, ip);
        params
            .self_signed(&rcgen::KeyPair::generate().unwrap())
            .unwrap()
    }

    #[test]
    fn a_trusted_ca_true_leaf_is_accepted_like_go_does() {
        let cert = guide_cert("192.168.0.1");
        let chain = vec![cert.der().clone()];
        let anchors = Anchors::from_ders(&chain);
        let j = judge(
            &chain,
            &anchors,
            &ep("192.168.0.1"),
            &[ep("192.168.1.50:5000")],
            SystemTime::now(),
        );
        assert!(j.trusted, "{:?}", j.docker_error);
        let codes: Vec<_> = j.findings.iter().map(|f| f.code).collect();
        assert!(codes.contains(&"missing-endpoint-san"), "{codes:?}");
        assert!(codes.contains(&"ca-as-leaf"), "{codes:?}");
    }

    #[test]
    fn untrusted_and_misnamed_chains_get_go_messages() {
        let cert = guide_cert("192.168.0.1");
        let chain = vec![cert.der().clone()];
        let j = judge(
            &chain,
            &Anchors::default(),
            &ep("192.168.0.1"),
            &[],
            SystemTime::now(),
        );
        assert_eq!(
            j.docker_error.as_deref(),
            Some("x509: certificate signed by unknown authority")
        );
        let anchors = Anchors::from_ders(&chain);
        let j = judge(
            &chain,
            &anchors,
            &ep("registry.example"),
            &[],
            SystemTime::now(),
        );
        assert_eq!(
            j.docker_error.as_deref(),
            Some("x509: certificate is not valid for any names, but wanted to match registry.example")
        );
        let j = judge(&chain, &anchors, &ep("10.1.1.1"), &[], SystemTime::now());
        assert_eq!(
            j.docker_error.as_deref(),
            Some("x509: certificate is valid for 192.168.0.1, not 10.1.1.1")
        );
    }

    /// Root → intermediate → leaf for 127.0.0.1: (leaf, intermediate, root) DERs.
    fn three_level() -> (
        CertificateDer<'static>,
        CertificateDer<'static>,
        CertificateDer<'static>,
    ) {
        let ca = |name: &str| {
            let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
            p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
            p.distinguished_name.push(rcgen::DnType::CommonName, name);
            p
        };
        let root_key = rcgen::KeyPair::generate().unwrap();
        let root_params = ca("Root");
        let root = root_params.self_signed(&root_key).unwrap();
        let root_issuer = rcgen::Issuer::new(root_params, root_key);
        let int_key = rcgen::KeyPair::generate().unwrap();
        let int_params = ca("Intermediate");
        let int = int_params.signed_by(&int_key, &root_issuer).unwrap();
        let int_issuer = rcgen::Issuer::new(int_params, int_key);
        let leaf_key = rcgen::KeyPair::generate().unwrap();
        let leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()])
            .unwrap()
            .signed_by(&leaf_key, &int_issuer)
            .unwrap();
        (leaf.der().clone(), int.der().clone(), root.der().clone())
    }

    fn codes(j: &Judgement) -> Vec<&'static str> {
        j.findings.iter().map(|f| f.code).collect()
    }

    #[test]
    fn incomplete_chain_only_when_provable() {
        let (leaf, int, root) = three_level();
        let host = ep("127.0.0.1");
        let now = SystemTime::now();
        // Intermediate installed, leaf served alone: trusted, but fragile.
        let j = judge(
            std::slice::from_ref(&leaf),
            &Anchors::from_ders(std::slice::from_ref(&int)),
            &host,
            &[],
            now,
        );
        assert!(j.trusted, "{:?}", j.docker_error);
        assert!(codes(&j).contains(&"incomplete-chain"), "{:?}", codes(&j));
        // Root installed, intermediate not served: Go's unknown authority; the issuer is named.
        let j = judge(
            std::slice::from_ref(&leaf),
            &Anchors::from_ders(std::slice::from_ref(&root)),
            &host,
            &[],
            now,
        );
        assert_eq!(
            j.docker_error.as_deref(),
            Some("x509: certificate signed by unknown authority")
        );
        assert!(
            j.findings[0].message.contains("CN=Intermediate"),
            "{}",
            j.findings[0].message
        );
        // Full chain served: trusted, nothing about the chain.
        let j = judge(&[leaf, int], &Anchors::from_ders(&[root]), &host, &[], now);
        assert!(j.trusted, "{:?}", j.docker_error);
        assert!(!codes(&j).contains(&"incomplete-chain"), "{:?}", codes(&j));
        assert_eq!(j.chain.len(), 2);
    }
}
