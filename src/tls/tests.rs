//! Capture against real peers on loopback: an in-process rustls server that records
//! the SNI it received, and raw TCP peers that misbehave in each way we classify.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use super::http::probe_registry;
use super::*;

/// A CA and a leaf for `names`, leaf first, plus the leaf key.
pub(crate) fn chain(names: &[&str]) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
    let ca_key = KeyPair::generate().expect("ca key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca_params.clone().self_signed(&ca_key).expect("ca");
    let issuer = Issuer::new(ca_params, ca_key);
    let leaf_key = KeyPair::generate().expect("leaf key");
    let sans: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let leaf = CertificateParams::new(sans)
        .expect("leaf params")
        .signed_by(&leaf_key, &issuer)
        .expect("leaf");
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    (vec![leaf.der().clone(), ca_cert.der().clone()], key)
}

/// Serve one TLS connection on `ip`, answer `GET /v2/` with 401, report the SNI.
fn tls_peer(
    ip: &str,
) -> (
    u16,
    Vec<CertificateDer<'static>>,
    mpsc::Receiver<Option<String>>,
) {
    let (certs, key) = chain(&["localhost", "127.0.0.1"]);
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_no_client_auth()
    .with_single_cert(certs.clone(), key)
    .expect("server config");
    let listener = TcpListener::bind((ip, 0)).expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let Ok((mut tcp, _)) = listener.accept() else {
            return;
        };
        let _ = tcp.set_read_timeout(Some(Duration::from_secs(5)));
        let mut conn = rustls::ServerConnection::new(Arc::new(config)).expect("conn");
        while conn.is_handshaking() {
            if conn.complete_io(&mut tcp).is_err() {
                return;
            }
        }
        let _ = tx.send(conn.server_name().map(str::to_string));
        let mut stream = rustls::Stream::new(&mut conn, &mut tcp);
        let mut buf = [0u8; 1024];
        let _ = stream.read(&mut buf);
        let _ = stream.write_all(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n");
        let _ = stream.flush();
    });
    (port, certs, rx)
}

/// A raw TCP peer: `behave` gets each accepted connection.
fn raw_peer(behave: fn(std::net::TcpStream)) -> u16 {
    let listener = TcpListener::bind(("127.0.0.1", 0)).expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        if let Ok((tcp, _)) = listener.accept() {
            let _ = tcp.set_read_timeout(Some(Duration::from_secs(5)));
            behave(tcp);
        }
    });
    port
}

fn ep(text: &str) -> Endpoint {
    text.parse().expect("endpoint")
}

fn soon() -> Instant {
    Instant::now() + Duration::from_secs(5)
}

#[test]
fn ip_endpoint_gets_the_served_chain_and_no_sni() {
    let (port, served, sni) = tls_peer("127.0.0.1");
    let probe = probe_registry(
        &ep(&format!("127.0.0.1:{port}")),
        soon(),
        &Progress::default(),
    )
    .expect("probe");
    assert_eq!(probe.chain.certs, served);
    assert_eq!(probe.http_status.as_ref().ok(), Some(&401));
    assert!(probe.is_registry());
    assert_eq!(sni.recv_timeout(Duration::from_secs(5)).expect("sni"), None);
}

#[test]
fn dns_endpoint_sends_sni() {
    let (port, served, sni) = tls_peer("127.0.0.1");
    let got = capture_chain(&ep(&format!("localhost:{port}")), soon()).expect("capture");
    assert_eq!(got.certs, served);
    assert_eq!(
        sni.recv_timeout(Duration::from_secs(5))
            .expect("sni")
            .as_deref(),
        Some("localhost")
    );
}

#[test]
fn refused_port_is_refused() {
    let port = TcpListener::bind(("127.0.0.1", 0))
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port(); // listener dropped: nothing listens any more
    let err = capture_chain(&ep(&format!("127.0.0.1:{port}")), soon()).unwrap_err();
    assert_eq!(err.code(), "refused", "{err}");
}

#[test]
fn silent_peer_times_out_at_the_deadline() {
    let port = raw_peer(|tcp| {
        std::thread::sleep(Duration::from_secs(3)); // accepts, never speaks
        drop(tcp);
    });
    let start = Instant::now();
    let err = capture_chain(
        &ep(&format!("127.0.0.1:{port}")),
        start + Duration::from_millis(300),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            Unreachable::Timeout {
                phase: super::Phase::Handshake,
                ..
            }
        ),
        "{err}"
    );
    assert!(
        start.elapsed() < Duration::from_millis(1300),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn http_answer_is_plain_http() {
    let port = raw_peer(|mut tcp| {
        let mut buf = [0u8; 512];
        let _ = tcp.read(&mut buf);
        let _ = tcp.write_all(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\nClient sent an HTTP request to an HTTPS server.\n");
    });
    let err = capture_chain(&ep(&format!("127.0.0.1:{port}")), soon()).unwrap_err();
    assert_eq!(err.code(), "plain-http", "{err}");
    assert!(
        err.to_string().contains("speaks plain HTTP, not TLS"),
        "{err}"
    );
}

#[test]
fn banner_is_another_protocol() {
    let port = raw_peer(|mut tcp| {
        let _ = tcp.write_all(b"SSH-2.0-OpenSSH_9.2\r\n");
        std::thread::sleep(Duration::from_millis(500));
    });
    let err = capture_chain(&ep(&format!("127.0.0.1:{port}")), soon()).unwrap_err();
    assert_eq!(err.code(), "not-tls", "{err}");
    assert!(err.to_string().contains("SSH-2.0"), "{err}");
}

#[test]
fn alert_is_named_like_go() {
    let port = raw_peer(|mut tcp| {
        let mut buf = [0u8; 2048];
        let _ = tcp.read(&mut buf);
        // A fatal handshake_failure alert record (RFC 8446 §6).
        let _ = tcp.write_all(&[21, 3, 3, 0, 2, 2, 40]);
        std::thread::sleep(Duration::from_millis(500));
    });
    let err = capture_chain(&ep(&format!("127.0.0.1:{port}")), soon()).unwrap_err();
    assert_eq!(err.code(), "tls-alert", "{err}");
    assert!(
        err.to_string()
            .contains("remote error: tls: handshake failure"),
        "{err}"
    );
}

#[test]
fn close_after_hello_is_closed_and_unread_close_is_reset() {
    let closed = raw_peer(|mut tcp| {
        let mut buf = [0u8; 4096];
        let _ = tcp.read(&mut buf);
    });
    let err = capture_chain(&ep(&format!("127.0.0.1:{closed}")), soon()).unwrap_err();
    assert_eq!(err.code(), "closed", "{err}");
    // Closing with unread data makes Linux send RST (RFC 2525 §2.17).
    let reset = raw_peer(|mut tcp| {
        std::thread::sleep(Duration::from_millis(100));
        let mut one = [0u8; 1];
        let _ = tcp.read(&mut one);
    });
    let err = capture_chain(&ep(&format!("127.0.0.1:{reset}")), soon()).unwrap_err();
    assert_eq!(err.code(), "reset", "{err}");
}
