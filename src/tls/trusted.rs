//! A client configuration that *enforces* Docker's trust for one endpoint, for requests
//! that carry a secret (`login`'s `GET /v2/` and token fetch): the presented chain must be
//! one Go would accept with the roots Docker uses for that registry (system pool plus
//! `certs.d/<host[:port]>`), judged by `crate::x509` exactly as `check` judges it. The
//! handshake signature is checked by the one fail-closed check every connection makes
//! ([`super::verifier`]): a peer that presents the chain without its key gets nothing.

use std::sync::Arc;
use std::time::SystemTime;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

use super::verifier;
use crate::endpoint::Endpoint;
use crate::x509::{self, Anchors};

#[derive(Debug)]
struct DockerTrust {
    anchors: Anchors,
    endpoint: Endpoint,
}

impl ServerCertVerifier for DockerTrust {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let chain: Vec<CertificateDer<'static>> = std::iter::once(end_entity)
            .chain(intermediates)
            .map(|c| c.clone().into_owned())
            .collect();
        let judgement = x509::judge(
            &chain,
            &self.anchors,
            &self.endpoint,
            &[],
            SystemTime::now(),
        );
        if judgement.trusted {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(
                judgement
                    .docker_error
                    .unwrap_or_else(|| "x509: certificate signed by unknown authority".to_string()),
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verifier::verify_tls12(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verifier::verify_tls13(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        verifier::offered_schemes()
    }
}

/// TLS 1.2/1.3 with ring, trusting exactly what Docker trusts for `endpoint` (`anchors`);
/// names are checked against `endpoint` (a token realm on another host passes its own).
pub(crate) fn docker_trust_config(anchors: Anchors, endpoint: Endpoint) -> ClientConfig {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(DockerTrust { anchors, endpoint });
    ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .unwrap_or_else(|e| unreachable!("ring supports TLS 1.2 and 1.3: {e}"))
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth()
}
