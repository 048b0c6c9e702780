//! Go-compatible certificate verification (crypto/x509 + crypto/tls client semantics) on
//! parsed certificates, plus findings that explain the verdict.
//!
//! Docker, containerd and skopeo are Go programs: our verdict must equal Go's for the same
//! roots, host and time, and `docker_error` must be Go's text. rustls-webpki is not used
//! for the verdict because it disagrees with Go (it rejects a trusted CA:TRUE leaf).
//!
//! # API (for `check`, `trust`, `doctor`, `cert`, ...)
//! ```text
//! Anchors::with_certs_d(&Config, PathBuf) -> Anchors    // system pool + that certs.d dir's *.crt (trust::docker_endpoint_dir)
//! Anchors::system(&Config) -> Anchors                    // Go's SystemCertPool() under --root
//! Anchors::from_file(Fs, &Path) -> Result<Anchors, CertFileError>      // --ca-file (PEM or DER)
//! Anchors::from_cert_dir(Fs, &Path) -> Result<Anchors, CertFileError>  // --cert-dir (*.crt, PEM)
//!                                          // Fs: Config::fs(), confined under --root
//!
//! judge(chain: &[CertificateDer<'static>], anchors: &Anchors, endpoint: &Endpoint,
//!       other_endpoints: &[Endpoint], now: SystemTime) -> Judgement
//! Judgement { trusted, docker_error: Option<String>,
//!             findings: Vec<Finding>, chain: Vec<CertSummary> }      // Serialize
//! Finding { code, severity: Info|Warning|Error, message, fix }          // Serialize
//!
//! subject_hash(der: &[u8]) -> Option<String>   // OpenSSL's `<hash>` of a hashed CA directory
//! unix_seconds(SystemTime) -> i64              // the clock CertSummary's *_unix fields use
//! chain_links(&[CertificateDer]) -> bool       // each presented cert signed by the next
//! pem::{read_certificates, parse_certificates, to_pem, sha256_fingerprint, der_tlv, CertFileError}
//!                                              // certificate files, gated by Go's ParseCertificate
//! signed_by(child_der, parent_der) -> bool     // Go's CheckSignatureFrom (cert renew)
//!
//! HandshakeScheme::from_code(u16) -> Option<HandshakeScheme>   // a TLS SignatureScheme Go knows
//! verify_handshake_signature(leaf: &CertificateDer, HandshakeScheme, signed: &[u8],
//!                            signature: &[u8]) -> Result<(), String>  // crypto/tls, Go's text
//! ```
//! Strings in `Judgement` come from certificates: sanitize them before printing.

mod anchors;
mod cert;
mod der;
mod findings;
#[cfg(test)]
mod go_vectors;
#[cfg(test)]
mod go_verify_vectors;
mod goname;
mod gostr;
mod isprint;
mod parser;
pub(crate) mod pem;
mod policy;
mod signature;
mod subject_hash;
mod url;
mod verify;

use std::time::SystemTime;

use rustls_pki_types::CertificateDer;
use serde::Serialize;

pub(crate) use anchors::Anchors;
pub(crate) use findings::{renew_advice, renew_in, Finding, Severity, EXPIRES_SOON_DAYS};
pub(crate) use signature::HandshakeScheme;
pub(crate) use subject_hash::subject_hash;

use crate::endpoint::Endpoint;
use cert::Cert;

/// crypto/tls's check that the server holds the key of the leaf it presented: the leaf's
/// key verifies the TLS 1.2 ServerKeyExchange or TLS 1.3 CertificateVerify signature over
/// `signed`, for any key Go's TLS client takes (RSA of any size Go allows, P-224 to P-521,
/// Ed25519). The error is Go's whole text ("tls: invalid signature by the server
/// certificate: ECDSA verification failure").
pub(crate) fn verify_handshake_signature(
    leaf: &CertificateDer<'_>,
    scheme: HandshakeScheme,
    signed: &[u8],
    signature: &[u8],
) -> Result<(), String> {
    // crypto/tls parses the chain before it verifies anything (verifyServerCertificate).
    let cert = Cert::parse(leaf)
        .map_err(|e| format!("tls: failed to parse certificate from server: {}", e.0))?;
    signature::verify_handshake(&cert, scheme, signed, signature)
        .map_err(|e| format!("tls: invalid signature by the server certificate: {e}"))
}

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
    /// The chain Docker would use: the first chain Go verifies (leaf, intermediates, the
    /// trusted anchor); the presented chain when none verifies.
    #[serde(skip)]
    pub(crate) used_chain: Vec<CertSummary>,
}

impl Judgement {
    /// The earliest notAfter of [`Judgement::used_chain`], in Unix seconds.
    pub(crate) fn earliest_not_after(&self) -> Option<i64> {
        self.used_chain
            .iter()
            .filter_map(|c| c.not_after_unix)
            .min()
    }
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
    /// notAfter in Unix seconds (`None` for a certificate that does not parse).
    #[serde(skip)]
    pub(crate) not_after_unix: Option<i64>,
    /// notBefore in Unix seconds (`None` for a certificate that does not parse).
    #[serde(skip)]
    pub(crate) not_before_unix: Option<i64>,
}

impl CertSummary {
    fn of(cert: &Cert) -> CertSummary {
        CertSummary {
            subject: cert.subject.clone(),
            issuer: cert.issuer.clone(),
            sha256: crate::x509::pem::sha256_fingerprint(cert.der.as_ref()),
            not_before: verify::go_rfc3339(&cert.not_before),
            not_after: verify::go_rfc3339(&cert.not_after),
            dns_names: cert.dns_names.clone(),
            ip_addresses: cert.ip_addresses.iter().map(goname::go_ip_string).collect(),
            is_ca: cert.basic_constraints_valid && cert.is_ca,
            key: cert.key.describe(),
            signature_algorithm: signature::algorithm_name(cert).to_string(),
            self_signed: cert.is_self_issued() && signature::check_signature(cert, cert).is_ok(),
            not_after_unix: Some(cert.not_after.unix),
            not_before_unix: Some(cert.not_before.unix),
        }
    }

    /// Summary of a DER certificate; one that does not parse still gets its fingerprint.
    pub(crate) fn of_der(der: &CertificateDer<'_>) -> CertSummary {
        match Cert::parse(der) {
            Ok(cert) => CertSummary::of(&cert),
            Err(_) => CertSummary {
                subject: "(unparsable certificate)".into(),
                issuer: String::new(),
                sha256: crate::x509::pem::sha256_fingerprint(der.as_ref()),
                not_before: String::new(),
                not_after: String::new(),
                dns_names: Vec::new(),
                ip_addresses: Vec::new(),
                is_ca: false,
                key: String::new(),
                signature_algorithm: String::new(),
                self_signed: false,
                not_after_unix: None,
                not_before_unix: None,
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
                return refused(
                    message,
                    "malformed-certificate",
                    "reissue the certificate with an RSA key of at most 8192 bits (or ECDSA P-256)",
                    &parsed,
                );
            }
            Ok(cert) => parsed.push(cert),
            Err(e) => {
                // crypto/tls: "tls: failed to parse certificate from server: " + err
                let message = format!("tls: failed to parse certificate from server: {e}");
                return refused(
                    message,
                    "malformed-certificate",
                    "serve a valid PEM certificate chain from the registry",
                    &parsed,
                );
            }
        }
    }
    let Some(leaf) = parsed.first() else {
        let message = "tls: server sent no certificate".to_string();
        return refused(
            message,
            "no-certificate",
            "configure TLS on the registry (REGISTRY_HTTP_TLS_CERTIFICATE)",
            &[],
        );
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
    let used_chain: Vec<CertSummary> = match &result {
        Ok(chains) => chains
            .first()
            .map(|chain| chain.iter().map(|c| CertSummary::of(c)).collect())
            .unwrap_or_default(),
        Err(_) => parsed.iter().map(CertSummary::of).collect(),
    };
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
        used_chain,
    }
}

/// A chain crypto/tls refuses before verification: Go's text, one finding with its fix.
fn refused(message: String, code: &'static str, fix: &str, parsed: &[Cert]) -> Judgement {
    let chain: Vec<CertSummary> = parsed.iter().map(CertSummary::of).collect();
    Judgement {
        trusted: false,
        docker_error: Some(message.clone()),
        findings: vec![Finding {
            code,
            severity: Severity::Error,
            message,
            fix: Some(fix.into()),
        }],
        used_chain: chain.clone(),
        chain,
    }
}

fn unix_nanos(time: SystemTime) -> i128 {
    match time.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => d.as_nanos() as i128,
        Err(e) => -(e.duration().as_nanos() as i128),
    }
}

/// Each certificate of `chain` (leaf first) is signed by the next, as Go's
/// `CheckSignatureFrom` would accept: the chain as presented is one path to its top.
pub(crate) fn chain_links(chain: &[CertificateDer<'_>]) -> bool {
    let parsed: Result<Vec<Cert>, _> = chain.iter().map(Cert::parse).collect();
    parsed.is_ok_and(|certs| {
        certs
            .windows(2)
            .all(|pair| signature::check_signature_from(&pair[0], &pair[1]).is_ok())
    })
}

/// Go's `child.CheckSignatureFrom(parent)`: `parent` may sign certificates and its key
/// verifies `child`'s signature (names are not compared).
pub(crate) fn signed_by(child: &[u8], parent: &[u8]) -> bool {
    match (
        Cert::parse(&CertificateDer::from(child)),
        Cert::parse(&CertificateDer::from(parent)),
    ) {
        (Ok(child), Ok(parent)) => signature::check_signature_from(&child, &parent).is_ok(),
        _ => false,
    }
}

/// `time` in Unix seconds (negative before 1970).
pub(crate) fn unix_seconds(time: SystemTime) -> i64 {
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

    // --- Certificates the docker-registry cannot serve (tests/x509_fidelity.rs covers
    // the ones it can): built by re-encoding one TBS field of an rcgen certificate that
    // is installed as the root, so its own (now broken) signature is never checked. ---

    use crate::x509::pem::der_tlv;

    /// `der` with TBS element `index` (0 = version, 4 = validity, 6 = SPKI) replaced.
    fn replace_tbs_element(der: &[u8], index: usize, element: &[u8]) -> CertificateDer<'static> {
        let mut outer = der::Der(der).read(der::SEQUENCE).unwrap();
        let tbs = outer.read(der::SEQUENCE).unwrap();
        let rest = outer.0;
        let mut elements = Vec::new();
        let mut t = tbs;
        while !t.is_empty() {
            elements.push(t.read_any_element().unwrap().1.to_vec());
        }
        elements[index] = element.to_vec();
        let tbs = der_tlv(der::SEQUENCE, &elements.concat());
        CertificateDer::from(der_tlv(der::SEQUENCE, &[tbs.as_slice(), rest].concat()))
    }

    /// A self-signed CA:TRUE certificate for 192.168.0.1, as DER.
    fn base() -> Vec<u8> {
        guide_cert("192.168.0.1").der().to_vec()
    }

    fn judge_installed(
        der: &CertificateDer<'static>,
        endpoint: &str,
        now: SystemTime,
    ) -> Judgement {
        let chain = vec![der.clone()];
        let anchors = Anchors::from_ders(&chain);
        judge(&chain, &anchors, &ep(endpoint), &[], now)
    }

    fn at(unix: i64, nanos: u32) -> SystemTime {
        SystemTime::UNIX_EPOCH + std::time::Duration::new(unix as u64, nanos)
    }

    fn validity(not_before: &[u8], not_after: (u8, &[u8])) -> Vec<u8> {
        let nb = der_tlv(der::UTC_TIME, not_before);
        let na = der_tlv(not_after.0, not_after.1);
        der_tlv(der::SEQUENCE, &[nb, na].concat())
    }

    #[test]
    fn not_after_is_compared_to_the_nanosecond() {
        // notAfter 2060-01-01T00:00:00.5Z (2840140800.5).
        let cert = replace_tbs_element(
            &base(),
            4,
            &validity(
                b"200101000000Z",
                (der::GENERALIZED_TIME, b"20600101000000.5Z"),
            ),
        );
        let j = judge_installed(&cert, "192.168.0.1", at(2_840_140_800, 300_000_000));
        assert!(j.trusted, "{:?}", j.docker_error);
        let j = judge_installed(&cert, "192.168.0.1", at(2_840_140_800, 700_000_000));
        assert_eq!(
            j.docker_error.as_deref(),
            Some("x509: certificate has expired or is not yet valid: current time 2060-01-01T00:00:00Z is after 2060-01-01T00:00:00Z")
        );
    }

    #[test]
    fn a_validity_with_a_utc_offset_prints_with_that_offset() {
        // 2030-01-01T00:00:00+02:00 = 2029-12-31T22:00:00Z (1893448800).
        let cert = replace_tbs_element(
            &base(),
            4,
            &validity(b"200101000000Z", (der::UTC_TIME, b"300101000000+0200")),
        );
        let j = judge_installed(&cert, "192.168.0.1", at(1_893_448_801, 0));
        assert_eq!(
            j.docker_error.as_deref(),
            Some("x509: certificate has expired or is not yet valid: current time 2029-12-31T22:00:01Z is after 2030-01-01T00:00:00+02:00")
        );
        assert!(judge_installed(&cert, "192.168.0.1", at(1_893_448_799, 0)).trusted);
    }

    fn spki(algorithm: &[u8], key: &[u8]) -> Vec<u8> {
        let mut bits = vec![0u8];
        bits.extend_from_slice(key);
        der_tlv(
            der::SEQUENCE,
            &[
                der_tlv(der::SEQUENCE, algorithm),
                der_tlv(der::BIT_STRING, &bits),
            ]
            .concat(),
        )
    }

    const OID_ED25519: [u8; 5] = [0x06, 0x03, 0x2b, 0x65, 0x70];

    #[test]
    fn a_dsa_leaf_verifies_but_crypto_tls_refuses_its_key() {
        let int = |v: u8| der_tlv(der::INTEGER, &[v]);
        let dsa_oid = [0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x38, 0x04, 0x01];
        let params = der_tlv(der::SEQUENCE, &[int(23), int(11), int(4)].concat());
        let cert = replace_tbs_element(
            &base(),
            6,
            &spki(&[&dsa_oid[..], &params].concat(), &int(9)),
        );
        let j = judge_installed(&cert, "192.168.0.1", SystemTime::now());
        assert_eq!(
            j.docker_error.as_deref(),
            Some("tls: server's certificate contains an unsupported type of public key: *dsa.PublicKey")
        );
        assert_eq!(j.chain[0].key, "DSA");
    }

    #[test]
    fn parse_errors_of_presented_certificates_quote_go() {
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (
                spki(&[&OID_ED25519[..], &[0x05, 0x00]].concat(), &[7u8; 32]),
                "x509: Ed25519 key encoded with illegal parameters",
            ),
            (
                spki(&OID_ED25519, &[7u8; 31]),
                "x509: wrong Ed25519 public key size",
            ),
            (
                // RSA without the NULL parameters.
                spki(
                    &[
                        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01,
                    ],
                    &der_tlv(
                        der::SEQUENCE,
                        &[der_tlv(der::INTEGER, &[0x41]), der_tlv(der::INTEGER, &[3])].concat(),
                    ),
                ),
                "x509: RSA key missing NULL parameters",
            ),
        ];
        for (key, message) in cases {
            let cert = replace_tbs_element(&base(), 6, &key);
            let j = judge_installed(&cert, "192.168.0.1", SystemTime::now());
            assert_eq!(
                j.docker_error.as_deref(),
                Some(format!("tls: failed to parse certificate from server: {message}").as_str())
            );
        }
        // Version 4 does not exist.
        let cert = replace_tbs_element(&base(), 0, &[0xa0, 0x03, 0x02, 0x01, 0x03]);
        let j = judge_installed(&cert, "192.168.0.1", SystemTime::now());
        assert_eq!(
            j.docker_error.as_deref(),
            Some("tls: failed to parse certificate from server: x509: invalid version")
        );
    }

    #[test]
    fn presented_rsa_keys_over_8192_bits_are_refused_by_crypto_tls() {
        let mut n = vec![0u8];
        n.extend(std::iter::repeat_n(0xc5u8, 1025)); // 8200 bits
        let key = der_tlv(
            der::SEQUENCE,
            &[der_tlv(der::INTEGER, &n), der_tlv(der::INTEGER, &[1, 0, 1])].concat(),
        );
        let rsa_ai = [
            &[
                0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01,
            ][..],
            &[0x05, 0x00],
        ]
        .concat();
        let cert = replace_tbs_element(&base(), 6, &spki(&rsa_ai, &key));
        let j = judge_installed(&cert, "192.168.0.1", SystemTime::now());
        assert_eq!(
            j.docker_error.as_deref(),
            Some("tls: server sent certificate containing RSA key larger than 8192 bits")
        );
    }

    #[test]
    fn hostname_errors_show_the_endpoint_as_dialled() {
        let cert = CertificateDer::from(base());
        for (endpoint, shown) in [
            ("OTHER.Example.com", "OTHER.Example.com"),
            ("[fd00:0::1]:5000", "fd00:0::1"),
            ("010.1.2.3", "010.1.2.3"),
        ] {
            let j = judge_installed(&cert, endpoint, SystemTime::now());
            let message = j.docker_error.unwrap_or_default();
            assert!(
                message.ends_with(&format!(", not {shown}"))
                    || message.ends_with(&format!("match {shown}"))
                    || message.contains(&format!("for {shown} because")),
                "{endpoint}: {message}"
            );
        }
    }
}
