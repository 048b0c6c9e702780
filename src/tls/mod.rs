//! TLS client that captures the chain a registry presents, without deciding trust.
//!
//! Trust is judged afterwards by `crate::x509` with Go's rules, so the handshake here
//! accepts any certificate and only records what was sent.

use std::time::{Duration, Instant};

use rustls_pki_types::CertificateDer;

use crate::endpoint::Endpoint;

/// What the server sent in its handshake.
#[derive(Debug, Clone)]
pub(crate) struct PresentedChain {
    /// Leaf first, in the order the server sent them.
    pub(crate) certs: Vec<CertificateDer<'static>>,
    /// Time from connect to the end of the handshake.
    pub(crate) elapsed: Duration,
}

/// Why an endpoint could not be reached.
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum Unreachable {
    #[error("{endpoint}: not implemented yet")]
    NotImplemented { endpoint: String },
}

/// Connect, handshake and capture the presented chain, all before `deadline`.
pub(crate) fn capture_chain(
    endpoint: &Endpoint,
    _deadline: Instant,
) -> Result<PresentedChain, Unreachable> {
    Err(Unreachable::NotImplemented {
        endpoint: endpoint.to_string(),
    })
}
