//! Reading certificates from files: PEM (one or more `CERTIFICATE` blocks) or DER.
//!
//! PEM goes through rustls-pki-types' `PemObject` (rustls-pemfile is unmaintained); every
//! certificate is accepted or refused by the judge's own parser (Go's `ParseCertificate`).

use std::path::{Path, PathBuf};

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;

#[derive(Debug, thiserror::Error)]
pub(crate) enum CertFileError {
    #[error("cannot read {path} — {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is empty — give a PEM file with at least one CERTIFICATE block")]
    Empty { path: PathBuf },
    #[error("{path} is not a valid PEM certificate file ({detail}) — check that it holds -----BEGIN CERTIFICATE----- blocks")]
    BadPem { path: PathBuf, detail: String },
    #[error("{path} has no CERTIFICATE block — is it a key or a CSR? Give the certificate file")]
    NoCertificate { path: PathBuf },
    #[error(
        "{path} is neither PEM nor a DER certificate — give a PEM file with CERTIFICATE blocks"
    )]
    NotDer { path: PathBuf },
}

/// Every certificate in `path` (read through `fs`), in file order.
pub(crate) fn read_certificates(
    fs: crate::fsutil::Fs<'_>,
    path: &Path,
) -> Result<Vec<CertificateDer<'static>>, CertFileError> {
    let bytes = fs
        .read_file(path, crate::fsutil::MAX_FILE)
        .map_err(|source| CertFileError::Read {
            path: path.to_path_buf(),
            source,
        })?;
    parse_certificates(&bytes, path)
}

/// Like [`read_certificates`] for bytes already in memory; `origin` names them in errors.
pub(crate) fn parse_certificates(
    bytes: &[u8],
    origin: &Path,
) -> Result<Vec<CertificateDer<'static>>, CertFileError> {
    let path = origin.to_path_buf();
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(CertFileError::Empty { path });
    }
    if !contains(bytes, b"-----BEGIN") {
        // DER: one certificate that Go's parser (the judge's) takes, nothing after it.
        return match go_parse(bytes) {
            Ok(()) => Ok(vec![CertificateDer::from(bytes.to_vec())]),
            Err(_) => Err(CertFileError::NotDer { path }),
        };
    }
    let mut certs = Vec::new();
    for item in CertificateDer::pem_slice_iter(bytes) {
        match item {
            Ok(cert) => certs.push(cert),
            Err(e) => {
                return Err(CertFileError::BadPem {
                    path,
                    detail: e.to_string(),
                })
            }
        }
    }
    if certs.is_empty() {
        return Err(CertFileError::NoCertificate { path });
    }
    // The judge's parser is the gate: a file is refused exactly when Go would refuse it.
    for cert in &certs {
        if let Err(why) = go_parse(cert.as_ref()) {
            return Err(CertFileError::BadPem {
                path,
                detail: format!(
                    "a CERTIFICATE block is not a certificate Go parses: {}",
                    crate::text::sanitize_line(&why)
                ),
            });
        }
    }
    Ok(certs)
}

/// Go's `x509.ParseCertificate` on `der` (the judge's parser): `Err` with Go's text when Go
/// refuses it. Every certificate file is accepted or refused by this one gate.
fn go_parse(der: &[u8]) -> Result<(), String> {
    super::cert::Cert::parse(&CertificateDer::from(der))
        .map(|_| ())
        .map_err(|e| e.0)
}

/// PEM text of one certificate, as written to ca.crt files (LF line endings).
pub(crate) fn to_pem(der: &[u8]) -> String {
    let block = pem::Pem::new("CERTIFICATE", der.to_vec());
    pem::encode_config(
        &block,
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    )
}

/// SHA-256 of the DER, upper-case hex with colons (as `openssl x509 -fingerprint -sha256`).
pub(crate) fn sha256_fingerprint(der: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, der);
    digest
        .as_ref()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// A DER TLV with definite length (X.690 §8.1.3), for the few structures we re-encode
/// (PKCS#8 wrapping of SEC1/PKCS#1 keys in `cert`, OpenSSL's canonical name in `trust`).
pub(crate) fn der_tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> rcgen::CertifiedKey<rcgen::KeyPair> {
        rcgen::generate_simple_self_signed(vec!["registry.example".to_string()]).unwrap()
    }

    /// The gate is the judge's parser: a certificate x509-parser takes but Go refuses (its
    /// outer signature algorithm differs from the inner one) is refused with Go's words, in
    /// PEM and in DER.
    #[test]
    fn files_are_gated_by_the_parser_the_judge_uses() {
        let mut der = sample().cert.der().to_vec();
        let ecdsa_sha256 = [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];
        let outer = der
            .windows(ecdsa_sha256.len())
            .rposition(|w| w == ecdsa_sha256)
            .unwrap();
        der[outer + ecdsa_sha256.len() - 1] = 0x03; // ecdsa-with-SHA384
        assert!(
            x509_parser::parse_x509_certificate(&der).is_ok(),
            "x509-parser takes it"
        );
        let path = Path::new("mismatch.pem");
        let err = parse_certificates(to_pem(&der).as_bytes(), path).unwrap_err();
        assert!(
            err.to_string()
                .contains("x509: inner and outer signature algorithm identifiers don't match"),
            "{err}"
        );
        assert!(matches!(
            parse_certificates(&der, path),
            Err(CertFileError::NotDer { .. })
        ));
    }

    #[test]
    fn pem_and_der_round_trip() {
        let key = sample();
        let der = key.cert.der().to_vec();
        let pem = to_pem(&der);
        assert_eq!(pem, key.cert.pem().replace("\r\n", "\n"));
        let from_pem = parse_certificates(pem.as_bytes(), Path::new("x.pem")).unwrap();
        assert_eq!(from_pem[0].as_ref(), der.as_slice());
        let from_der = parse_certificates(&der, Path::new("x.der")).unwrap();
        assert_eq!(from_der[0].as_ref(), der.as_slice());
    }

    #[test]
    fn bad_input_names_the_file() {
        let origin = Path::new("/tmp/ca.crt");
        for bad in [
            &b""[..],
            b"  \n",
            b"hello",
            b"-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n",
            b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        ] {
            let err = parse_certificates(bad, origin).unwrap_err().to_string();
            assert!(err.contains("/tmp/ca.crt"), "{err}");
        }
    }

    #[test]
    fn fingerprint_is_colon_hex() {
        let fp = sha256_fingerprint(b"abc");
        assert!(fp.starts_with("BA:78:16:BF"), "{fp}");
        assert_eq!(fp.len(), 32 * 3 - 1);
    }
}
