//! A server-certificate verifier that records and accepts: trust is judged later.
//!
//! The handshake signature is still checked (the server must hold the leaf's key),
//! except where ring cannot check it but Go would: RSA keys of 1024–2047 bits (ring's
//! RSA verification starts at 2048; Go accepts ≥ 1024 — `crate::x509` reports the key
//! size as Go does, so the chain must reach it), and leaves webpki cannot read at all
//! (a v1 certificate, a P-521 key): Go verifies the chain before the handshake signature,
//! so its verdict on such a chain is the one `crate::x509` gives.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::{DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

#[derive(Debug)]
pub(super) struct RecordOnly {
    algorithms: WebPkiSupportedAlgorithms,
}

impl RecordOnly {
    pub(super) fn new(provider: &Arc<CryptoProvider>) -> RecordOnly {
        RecordOnly {
            algorithms: provider.signature_verification_algorithms,
        }
    }
}

/// Whether the leaf carries an RSA key shorter than ring can verify (< 2048 bits).
fn is_short_rsa(cert: &CertificateDer<'_>) -> bool {
    use x509_parser::public_key::PublicKey;
    let Ok((_, parsed)) = x509_parser::parse_x509_certificate(cert.as_ref()) else {
        return false;
    };
    match parsed.public_key().parsed() {
        Ok(PublicKey::RSA(rsa)) => rsa.key_size() < 2048,
        _ => false,
    }
}

fn accept_unverifiable(
    result: Result<HandshakeSignatureValid, rustls::Error>,
    cert: &CertificateDer<'_>,
) -> Result<HandshakeSignatureValid, rustls::Error> {
    use rustls::{CertificateError, Error};
    match result {
        Err(_) if is_short_rsa(cert) => Ok(HandshakeSignatureValid::assertion()),
        // A wrong signature by a key webpki could read is a refusal; anything webpki
        // cannot evaluate is left to the judge.
        Err(Error::InvalidCertificate(CertificateError::BadSignature)) => result,
        Err(Error::InvalidCertificate(_)) | Err(Error::PeerMisbehaved(_)) => {
            Ok(HandshakeSignatureValid::assertion())
        }
        other => other,
    }
}

impl ServerCertVerifier for RecordOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // The chain is read from the connection after the handshake
        // (`peer_certificates`) and judged by crate::x509.
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        accept_unverifiable(
            rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms),
            cert,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        accept_unverifiable(
            rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms),
            cert,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
