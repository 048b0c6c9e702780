//! TLS client that captures the chain a registry presents, without deciding trust.
//!
//! Trust is judged afterwards by `crate::x509` with Go's rules, so the handshake here
//! accepts any chain and records what was sent ([`verifier::RecordOnly`]). The handshake
//! signature is not a matter of trust but of identity, and is never waved through: a peer
//! that presents the registry's chain without its key is refused
//! ([`Unreachable::Impostor`], with Go's text).
//! Everything — DNS, TCP connect, handshake and the optional `GET /v2/` — happens
//! before one deadline, and every failure becomes an [`Unreachable`] a user can act on.
//!
//! Like Go's `crypto/tls`, we send SNI only for DNS names, never for IP literals
//! (<https://github.com/golang/go/blob/master/src/crypto/tls/handshake_client.go>,
//! `hostnameInSNI`); rustls does the same for `ServerName::IpAddress`.

mod classify;
mod dial;
pub(crate) mod http;
#[cfg(test)]
pub(crate) mod tests;
mod trusted;
mod verifier;

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection};
use rustls_pki_types::CertificateDer;

use crate::endpoint::{Endpoint, Host};

pub(crate) use classify::{impostor_in, Unreachable};
pub(crate) use trusted::docker_trust_config;

/// What the server sent in its handshake.
#[derive(Debug, Clone)]
pub(crate) struct PresentedChain {
    /// Leaf first, in the order the server sent them.
    pub(crate) certs: Vec<CertificateDer<'static>>,
    /// Time from the start (DNS included) to the end of the handshake.
    pub(crate) elapsed: Duration,
}

/// The client configuration every connection starts from: ring, TLS 1.2 and 1.3, no
/// client certificate, Go's signature schemes, any chain recorded (trust is judged later),
/// every handshake signature checked.
fn base_config() -> &'static ClientConfig {
    static CONFIG: OnceLock<ClientConfig> = OnceLock::new();
    CONFIG.get_or_init(|| {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            // The ring provider supports both versions: this cannot fail.
            .unwrap_or_else(|e| unreachable!("ring supports TLS 1.2 and 1.3: {e}"))
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier::RecordOnly::default()))
            .with_no_client_auth()
    })
}

/// A configuration like the one every handshake uses, for
/// `reqwest::blocking::ClientBuilder::use_preconfigured_tls` where the chain is not what
/// protects the user (`trust --ca-url`: the fingerprint is): any chain is accepted, the
/// handshake signature is still checked.
pub(crate) fn client_config() -> ClientConfig {
    connection_config(true).0
}

/// One connection's configuration and the recorder that keeps its chain; without SNI for a
/// DNS name rustls will not accept as a `ServerName` (Go would still send it; we cannot).
fn connection_config(sni: bool) -> (ClientConfig, Arc<verifier::RecordOnly>) {
    let recorder = Arc::new(verifier::RecordOnly::default());
    let mut config = base_config().clone();
    config.enable_sni = sni;
    config
        .dangerous()
        .set_certificate_verifier(recorder.clone());
    (config, recorder)
}

/// The name rustls authenticates against and, for DNS names, sends as SNI; and whether SNI
/// is sent.
fn server_name(endpoint: &Endpoint) -> (ServerName<'static>, bool) {
    match &endpoint.host {
        Host::Ip(ip) => (ServerName::IpAddress((*ip).into()), true),
        Host::Dns(name) => {
            // Go strips one trailing dot before sending SNI (hostnameInSNI).
            let bare = name.strip_suffix('.').unwrap_or(name);
            match ServerName::try_from(bare.to_string()) {
                Ok(server_name) => (server_name, true),
                Err(_) => (
                    ServerName::try_from("invalid.")
                        .unwrap_or_else(|e| unreachable!("static name parses: {e}")),
                    false,
                ),
            }
        }
    }
}

/// The step a connection attempt has reached, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub(crate) enum Phase {
    /// Until the dial begins: a deadline that passes before (`--timeout 1ns`, or the
    /// command's deadline spent elsewhere) must not be blamed on DNS, which an IP endpoint
    /// never uses.
    Start,
    Dns,
    Connect,
    Handshake,
    /// The server began its TLS answer, then stalled.
    HandshakeMidAnswer,
    GetV2,
}

impl Phase {
    const ALL: [Phase; 6] = [
        Phase::Start,
        Phase::Dns,
        Phase::Connect,
        Phase::Handshake,
        Phase::HandshakeMidAnswer,
        Phase::GetV2,
    ];
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Phase::Start => "start",
            Phase::Dns => "DNS lookup",
            Phase::Connect => "connect",
            Phase::Handshake => "TLS handshake",
            Phase::HandshakeMidAnswer => "TLS handshake mid-answer",
            Phase::GetV2 => "GET /v2/",
        })
    }
}

/// The [`Phase`] a connection attempt has reached, readable from another thread: a caller
/// that stops waiting at its deadline can then say what the peer left unanswered
/// without waiting for the socket timeout (`SO_RCVTIMEO` fires up to a few
/// scheduler ticks late).
#[derive(Debug, Clone, Default)]
pub(crate) struct Progress(Arc<AtomicU8>);

impl Progress {
    pub(super) fn set(&self, phase: Phase) {
        self.0.store(phase as u8, Ordering::Release);
    }

    /// Whether the TCP connect has completed (the attempt is in the TLS handshake or later).
    pub(crate) fn connected(&self) -> bool {
        self.phase() >= Phase::Handshake
    }

    pub(crate) fn phase(&self) -> Phase {
        Phase::ALL
            .get(usize::from(self.0.load(Ordering::Acquire)))
            .copied()
            .unwrap_or(Phase::Start)
    }
}

/// An established TLS session plus the socket under it, for [`http`].
pub(super) struct Session {
    conn: ClientConnection,
    io: dial::DeadlineStream,
    chain: PresentedChain,
}

/// DNS, connect and handshake before `deadline`.
fn handshake(
    endpoint: &Endpoint,
    deadline: Instant,
    progress: &Progress,
) -> Result<Session, Unreachable> {
    let start = Instant::now();
    let mut io = dial::connect(endpoint, deadline, progress)?;
    progress.set(Phase::Handshake);
    let (name, sni) = server_name(endpoint);
    let (config, recorder) = connection_config(sni);
    let mut conn = ClientConnection::new(Arc::new(config), name)
        .map_err(|e| Unreachable::from_tls_setup(endpoint, &e))?;
    while conn.is_handshaking() {
        if let Err(err) = conn.complete_io(&mut io) {
            return Err(Unreachable::from_handshake(
                endpoint,
                &err,
                io.first_bytes(),
                start,
                || recorder.presented(),
            ));
        }
    }
    let certs = conn
        .peer_certificates()
        .map(<[CertificateDer<'static>]>::to_vec)
        .unwrap_or_default();
    Ok(Session {
        conn,
        io,
        chain: PresentedChain {
            certs,
            elapsed: start.elapsed(),
        },
    })
}

/// Connect, handshake and capture the presented chain, all before `deadline`.
pub(crate) fn capture_chain(
    endpoint: &Endpoint,
    deadline: Instant,
) -> Result<PresentedChain, Unreachable> {
    capture_chain_with(endpoint, deadline, &Progress::default())
}

/// [`capture_chain`], telling `progress` which step is under way (for `crate::probe`,
/// whose fallback rule asks whether the TCP connect has completed).
pub(crate) fn capture_chain_with(
    endpoint: &Endpoint,
    deadline: Instant,
    progress: &Progress,
) -> Result<PresentedChain, Unreachable> {
    handshake(endpoint, deadline, progress).map(|session| session.chain)
}
