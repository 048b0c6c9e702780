//! Why an endpoint could not be reached, as a sentence a user can act on.
//!
//! A ClientHello sent to a plain-HTTP server (a registry without TLS) is answered with
//! `HTTP/1.1 400 Bad Request`; Go reports that as "http: server gave HTTP response to
//! HTTPS client" (net/http `transport.go`). We recognise it from the first bytes the
//! peer sent, before rustls turns them into a generic decode error. TLS alerts are
//! named with Go's strings (`crypto/tls/alert.go`) so users can search for them.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rustls::AlertDescription;
use rustls_pki_types::CertificateDer;

use super::Phase;
use crate::endpoint::Endpoint;
use crate::text::sanitize_line;

/// Why an endpoint could not be reached: a problem and, apart from it, what to do
/// ([`Unreachable::problem`], [`Unreachable::fix`]); its text is `ENDPOINT: PROBLEM — FIX`.
#[derive(Debug, Clone)]
pub(crate) enum Unreachable {
    Dns {
        endpoint: String,
        reason: String,
    },
    Refused {
        endpoint: String,
        addr: SocketAddr,
    },
    Timeout {
        endpoint: String,
        phase: Phase,
        after: Duration,
    },
    Reset {
        endpoint: String,
        phase: Phase,
    },
    Closed {
        endpoint: String,
    },
    PlainHttp {
        endpoint: String,
    },
    NotTls {
        endpoint: String,
        first_bytes: String,
    },
    TlsAlert {
        endpoint: String,
        alert: String,
    },
    Tls {
        endpoint: String,
        reason: String,
    },
    /// The server presented a chain but did not prove it holds the leaf's key: the
    /// handshake signature did not verify. The chain is kept for the judge (Go reports an
    /// untrusted chain before the signature).
    Impostor {
        endpoint: String,
        /// Go's text: "tls: invalid signature by the server certificate: …".
        go_error: String,
        chain: Vec<CertificateDer<'static>>,
    },
    Http {
        endpoint: String,
        reason: String,
    },
    Network {
        endpoint: String,
        reason: String,
    },
}

impl std::fmt::Display for Unreachable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.endpoint(), self.cause())
    }
}

impl std::error::Error for Unreachable {}

impl Unreachable {
    /// What went wrong (without the endpoint).
    pub(crate) fn problem(&self) -> String {
        match self {
            Unreachable::Dns { reason, .. } => format!("DNS lookup failed: {reason}"),
            Unreachable::Refused { endpoint, addr } => {
                format!("connection refused ({})", nothing_listens(endpoint, addr))
            }
            Unreachable::Timeout { phase, after, .. } => timeout_parts(*phase, *after).0,
            Unreachable::Reset { phase, .. } => format!("connection reset during the {phase}"),
            Unreachable::Closed { .. } => {
                "the server closed the connection during the TLS handshake".to_string()
            }
            Unreachable::PlainHttp { .. } => "speaks plain HTTP, not TLS (Go: \"http: server gave HTTP response to HTTPS client\")".to_string(),
            Unreachable::NotTls { first_bytes, .. } => {
                format!("does not speak TLS (it sent {first_bytes})")
            }
            Unreachable::TlsAlert { alert, .. } => {
                format!("the server aborted the TLS handshake: remote error: tls: {alert}")
            }
            Unreachable::Tls { reason, .. } => format!("TLS handshake failed: {reason}"),
            Unreachable::Impostor { go_error, .. } => go_error.clone(),
            Unreachable::Http { reason, .. } => {
                format!("answered TLS but not HTTP on GET /v2/: {reason}")
            }
            Unreachable::Network { reason, .. } => format!("cannot connect: {reason}"),
        }
    }

    /// What to do about it, when there is something to say.
    pub(crate) fn fix(&self) -> Option<String> {
        let fix = match self {
            Unreachable::Dns { .. } => "check the name, /etc/hosts and /etc/resolv.conf",
            Unreachable::Refused { .. } => "check the port and that the registry is running",
            Unreachable::Timeout { phase, after, .. } => return Some(timeout_parts(*phase, *after).1),
            Unreachable::Reset { .. } => "the server or something in the path (proxy, load balancer, firewall) dropped it; check that this port serves the registry over TLS",
            Unreachable::Closed { .. } => "the port may serve another protocol, or the server accepts no TLS 1.2/1.3 cipher suite we offer",
            Unreachable::PlainHttp { .. } => "enable TLS on the registry, or use the port that serves TLS",
            Unreachable::NotTls { .. } => "check the port: it serves another protocol",
            Unreachable::TlsAlert { alert, .. } => return alert_hint(alert).map(str::to_string),
            Unreachable::Tls { .. } => return None,
            Unreachable::Impostor { .. } => "the server presented a certificate without holding its key: another host is answering for this address (nothing was sent to it); find out which before you log in",
            Unreachable::Http { .. } => "this port serves something other than a registry",
            Unreachable::Network { .. } => "check the address and the route to it",
        };
        Some(fix.to_string())
    }
}

/// The address is news only when the endpoint did not spell it (a name, a default port).
fn nothing_listens(endpoint: &str, addr: &SocketAddr) -> String {
    if *endpoint == addr.to_string() {
        "nothing listens there".to_string()
    } else {
        format!("nothing listens on {addr}")
    }
}

/// A timeout's problem and what to do, by the phase the peer left unanswered.
fn timeout_parts(phase: Phase, after: Duration) -> (String, String) {
    let after = humantime::format_duration(round_ms(after));
    let (problem, fix) = match phase {
        Phase::Start => ("the deadline passed before a connection could be tried".to_string(), "the command's --timeout was spent before this endpoint's turn; raise --timeout"),
        Phase::HandshakeMidAnswer => (
            format!("started its TLS answer but did not finish the handshake within {after}"),
            "a server that sends slowly or stalls mid-handshake (slowloris-like), or a lossy path; check the server, or raise --timeout",
        ),
        Phase::Handshake => (
            format!("accepted the connection but sent no TLS answer within {after}"),
            "a tarpit, a half-open path (firewall, conntrack) or an overloaded server; check the port and the path",
        ),
        Phase::Connect => (
            format!("no answer to connect within {after}"),
            "the host is down or a firewall drops the packets; check the address, or raise --timeout",
        ),
        Phase::Dns => (format!("DNS lookup timed out after {after}"), "check /etc/resolv.conf, or raise --timeout"),
        Phase::GetV2 => (
            format!("no answer to {phase} within {after}"),
            "the server is stuck or too slow; raise --timeout or check the registry",
        ),
    };
    (problem, fix.to_string())
}

fn round_ms(d: Duration) -> Duration {
    Duration::from_millis(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn alert_hint(alert: &str) -> Option<&'static str> {
    match alert {
        "handshake failure" | "protocol version not supported" | "insufficient security level" => {
            Some("no TLS version or cipher suite in common (we offer TLS 1.2 and 1.3 with AEAD ciphers); update the server's TLS settings")
        }
        "certificate required" | "bad certificate" => {
            Some("the server wants a client certificate (mutual TLS)")
        }
        "unrecognized name" => Some("the server does not serve this name (SNI); use the name its certificate was issued for"),
        _ => None,
    }
}

/// Go's name for a TLS alert (crypto/tls/alert.go).
fn go_alert_name(alert: AlertDescription) -> String {
    use AlertDescription as A;
    let name = match alert {
        A::CloseNotify => "close notify",
        A::UnexpectedMessage => "unexpected message",
        A::BadRecordMac => "bad record MAC",
        A::DecryptionFailed => "decryption failed",
        A::RecordOverflow => "record overflow",
        A::DecompressionFailure => "decompression failure",
        A::HandshakeFailure => "handshake failure",
        A::BadCertificate => "bad certificate",
        A::UnsupportedCertificate => "unsupported certificate",
        A::CertificateRevoked => "revoked certificate",
        A::CertificateExpired => "expired certificate",
        A::CertificateUnknown => "unknown certificate",
        A::IllegalParameter => "illegal parameter",
        A::UnknownCA => "unknown certificate authority",
        A::AccessDenied => "access denied",
        A::DecodeError => "error decoding message",
        A::DecryptError => "error decrypting message",
        A::ProtocolVersion => "protocol version not supported",
        A::InsufficientSecurity => "insufficient security level",
        A::InternalError => "internal error",
        A::InappropriateFallback => "inappropriate fallback",
        A::UserCanceled => "user canceled",
        A::NoRenegotiation => "no renegotiation",
        A::MissingExtension => "missing extension",
        A::UnsupportedExtension => "unsupported extension",
        A::UnrecognisedName => "unrecognized name",
        A::UnknownPSKIdentity => "unknown PSK identity",
        A::CertificateRequired => "certificate required",
        A::NoApplicationProtocol => "no application protocol",
        other => return format!("alert({})", u8::from(other)),
    };
    name.to_string()
}

/// The impostor sentence for an error from an HTTP client (reqwest) whose handshake was
/// refused because the server did not prove it holds the leaf's key: the same words as
/// `check` and `trust` use. `None` for any other error.
pub(crate) fn impostor_in(
    endpoint: &Endpoint,
    err: &(dyn std::error::Error + 'static),
) -> Option<String> {
    let mut cause = Some(err);
    while let Some(current) = cause {
        if let Some(go_error) = current
            .downcast_ref::<rustls::Error>()
            .and_then(signature_refusal)
        {
            let impostor = Unreachable::Impostor {
                endpoint: endpoint.to_string(),
                go_error,
                chain: Vec::new(),
            };
            return Some(impostor.to_string());
        }
        // io::Error's source() skips the error it wraps (and tokio-rustls's io::Error sits
        // inside hyper's): step into it instead.
        cause = match current
            .downcast_ref::<io::Error>()
            .and_then(io::Error::get_ref)
        {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => current.source(),
        };
    }
    None
}

/// Go's text when the handshake failed because the server's signature was refused: by our
/// check (`SignatureRefused`), or by rustls for a TLS 1.2 signature whose kind does not
/// fit the cipher suite.
fn signature_refusal(err: &rustls::Error) -> Option<String> {
    match err {
        rustls::Error::Other(other) => other
            .0
            .downcast_ref::<super::verifier::SignatureRefused>()
            .map(|refused| refused.0.clone()),
        rustls::Error::PeerMisbehaved(rustls::PeerMisbehaved::SignedKxWithWrongAlgorithm) => {
            Some(super::verifier::INVALID_SERVER_KEY_EXCHANGE.to_string())
        }
        _ => None,
    }
}

/// TLS records start with a content type 20–24 and a major version of 3.
fn looks_like_tls(first: &[u8]) -> bool {
    match first {
        [] => true,
        [kind] => (20..=24).contains(kind),
        [kind, major, ..] => (20..=24).contains(kind) && *major == 3,
    }
}

/// The first bytes of a non-TLS peer, printable and safe for a terminal.
fn describe_bytes(first: &[u8]) -> String {
    let text = String::from_utf8_lossy(first);
    format!("{:?}", sanitize_line(&text))
}

impl Unreachable {
    /// The endpoint the sentence is about.
    fn endpoint(&self) -> &str {
        match self {
            Unreachable::Dns { endpoint, .. }
            | Unreachable::Refused { endpoint, .. }
            | Unreachable::Timeout { endpoint, .. }
            | Unreachable::Reset { endpoint, .. }
            | Unreachable::Closed { endpoint }
            | Unreachable::PlainHttp { endpoint }
            | Unreachable::NotTls { endpoint, .. }
            | Unreachable::TlsAlert { endpoint, .. }
            | Unreachable::Tls { endpoint, .. }
            | Unreachable::Impostor { endpoint, .. }
            | Unreachable::Http { endpoint, .. }
            | Unreachable::Network { endpoint, .. } => endpoint,
        }
    }

    /// The sentence without its leading `endpoint: `, for a caller that names the endpoint
    /// itself (so it is said once).
    pub(crate) fn cause(&self) -> String {
        match self.fix() {
            Some(fix) => format!("{} — {fix}", self.problem()),
            None => self.problem(),
        }
    }

    /// A short stable code for JSON (`refused`, `timeout`, `plain-http`, ...).
    pub(crate) fn code(&self) -> &'static str {
        match self {
            Unreachable::Dns { .. } => "dns",
            Unreachable::Refused { .. } => "refused",
            Unreachable::Timeout { .. } => "timeout",
            Unreachable::Reset { .. } => "reset",
            Unreachable::Closed { .. } => "closed",
            Unreachable::PlainHttp { .. } => "plain-http",
            Unreachable::NotTls { .. } => "not-tls",
            Unreachable::TlsAlert { .. } => "tls-alert",
            Unreachable::Tls { .. } => "tls",
            Unreachable::Impostor { .. } => "handshake-signature",
            Unreachable::Http { .. } => "http",
            Unreachable::Network { .. } => "network",
        }
    }

    pub(super) fn from_connect(
        endpoint: &Endpoint,
        addr: SocketAddr,
        err: &io::Error,
        start: Instant,
    ) -> Unreachable {
        let endpoint = endpoint.to_string();
        match err.kind() {
            io::ErrorKind::ConnectionRefused => Unreachable::Refused { endpoint, addr },
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => Unreachable::Timeout {
                endpoint,
                phase: Phase::Connect,
                after: start.elapsed(),
            },
            io::ErrorKind::ConnectionReset => Unreachable::Reset {
                endpoint,
                phase: Phase::Connect,
            },
            _ => Unreachable::Network {
                endpoint,
                reason: format!("{addr}: {err}"),
            },
        }
    }

    pub(super) fn from_tls_setup(endpoint: &Endpoint, err: &rustls::Error) -> Unreachable {
        Unreachable::Tls {
            endpoint: endpoint.to_string(),
            reason: err.to_string(),
        }
    }

    /// Classify a failed handshake from the I/O error and the bytes the peer sent;
    /// `presented` gives the chain the server sent, if any.
    pub(super) fn from_handshake(
        endpoint: &Endpoint,
        err: &io::Error,
        first: &[u8],
        start: Instant,
        presented: impl FnOnce() -> Vec<CertificateDer<'static>>,
    ) -> Unreachable {
        let endpoint = endpoint.to_string();
        if first.starts_with(b"HTTP/") {
            return Unreachable::PlainHttp { endpoint };
        }
        if !looks_like_tls(first) {
            return Unreachable::NotTls {
                endpoint,
                first_bytes: describe_bytes(first),
            };
        }
        let tls_error = err
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>());
        if let Some(go_error) = tls_error.and_then(signature_refusal) {
            return Unreachable::Impostor {
                endpoint,
                go_error,
                chain: presented(),
            };
        }
        match (err.kind(), tls_error) {
            (_, Some(rustls::Error::AlertReceived(alert))) => Unreachable::TlsAlert {
                endpoint,
                alert: go_alert_name(*alert),
            },
            (_, Some(other)) => Unreachable::Tls {
                endpoint,
                reason: sanitize_line(&other.to_string()),
            },
            (io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock, None) => Unreachable::Timeout {
                endpoint,
                phase: if first.is_empty() {
                    Phase::Handshake
                } else {
                    Phase::HandshakeMidAnswer
                },
                after: start.elapsed(),
            },
            (
                io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted
                | io::ErrorKind::BrokenPipe,
                None,
            ) => Unreachable::Reset {
                endpoint,
                phase: Phase::Handshake,
            },
            (io::ErrorKind::UnexpectedEof, None) => Unreachable::Closed { endpoint },
            (_, None) => Unreachable::Network {
                endpoint,
                reason: err.to_string(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_records_are_told_from_other_protocols() {
        assert!(looks_like_tls(&[22, 3, 3, 0, 5]));
        assert!(looks_like_tls(&[21, 3, 1]));
        assert!(looks_like_tls(&[]));
        assert!(!looks_like_tls(b"SSH-2.0-OpenSSH"));
        assert!(!looks_like_tls(b"220 smtp"));
        assert!(!looks_like_tls(&[22, 4]));
    }

    #[test]
    fn the_endpoint_and_its_address_are_said_once() {
        let refused = |endpoint: &str| Unreachable::Refused {
            endpoint: endpoint.into(),
            addr: "127.0.0.9:443".parse().unwrap(),
        };
        // The default port is news; an address the endpoint already spells is not.
        assert_eq!(
            refused("127.0.0.9").cause(),
            "connection refused (nothing listens on 127.0.0.9:443) — check the port and that the registry is running"
        );
        let spelled = refused("127.0.0.9:443");
        assert_eq!(
            spelled.to_string().matches("127.0.0.9").count(),
            1,
            "{spelled}"
        );
        assert!(
            !spelled.cause().contains("127.0.0.9"),
            "{}",
            spelled.cause()
        );
    }

    #[test]
    fn hostile_first_bytes_are_made_printable() {
        let shown = describe_bytes(b"\x1b]0;x\x07hi\r\n");
        assert!(!shown.chars().any(char::is_control), "{shown}");
    }

    #[test]
    fn alerts_read_like_go() {
        assert_eq!(
            go_alert_name(AlertDescription::HandshakeFailure),
            "handshake failure"
        );
        assert_eq!(
            go_alert_name(AlertDescription::ProtocolVersion),
            "protocol version not supported"
        );
        assert_eq!(
            go_alert_name(AlertDescription::UnknownCA),
            "unknown certificate authority"
        );
    }
}
