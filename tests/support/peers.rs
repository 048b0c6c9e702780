//! Misbehaving and minimal peers on loopback for reachability tests: a tarpit, a
//! refused port, raw TCP peers, a tiny rustls server that records the SNI it got, and a
//! CA + leaf chain written as PEM for `Registry`.
//!
//! Every peer binds 127.0.0.0/8 only and every blocking call has a bounded timeout.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use super::certs::{chain, Spec};

/// A CA and a leaf for `sans` (DNS names or IP literals).
pub struct TestChain {
    /// Leaf first, then the CA: what the server presents.
    pub certs: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
    /// The CA alone, PEM.
    pub ca_pem: String,
    /// `chain.pem` (leaf + CA) and `key.pem`, for `Registry::start`.
    pub chain_pem: PathBuf,
    pub key_pem: PathBuf,
}

impl TestChain {
    pub fn new(dir: &Path, sans: &[&str]) -> TestChain {
        let [ca, leaf] = chain([Spec::ca("dcosreg test CA"), Spec::names(sans)]);
        let chain_pem = dir.join("chain.pem");
        let key_pem = dir.join("key.pem");
        std::fs::write(&chain_pem, format!("{}{}", leaf.pem(), ca.pem())).expect("chain.pem");
        std::fs::write(&key_pem, leaf.key_pem()).expect("key.pem");
        TestChain {
            certs: vec![leaf.cert.der().clone(), ca.cert.der().clone()],
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf.key.serialize_der())),
            ca_pem: ca.pem(),
            chain_pem,
            key_pem,
        }
    }

    /// SHA-256 fingerprints, upper-case hex with colons, leaf first.
    pub fn fingerprints(&self) -> Vec<String> {
        self.certs
            .iter()
            .map(|der| {
                ring::digest::digest(&ring::digest::SHA256, der)
                    .as_ref()
                    .iter()
                    .map(|b| format!("{b:02X}"))
                    .collect::<Vec<_>>()
                    .join(":")
            })
            .collect()
    }
}

/// Bind port 0 on `ip` and return the listener (kept open by the caller).
pub fn listen(ip: &str) -> (TcpListener, u16) {
    let listener = TcpListener::bind((ip, 0)).expect("bind on loopback");
    let port = listener.local_addr().expect("local addr").port();
    (listener, port)
}

/// A port on `ip` where nothing listens (bound, then released).
pub fn refused_port(ip: &str) -> u16 {
    listen(ip).1
}

/// A tarpit: the kernel completes the TCP handshake (the listener is never
/// `accept`ed), nobody ever speaks. Keep the listener alive for the test's duration.
pub fn tarpit(ip: &str) -> (TcpListener, u16) {
    listen(ip)
}

/// A raw TCP peer: every accepted connection is handed to `behave` on its own thread.
/// Stops with the test process.
pub fn raw_peer(ip: &str, behave: fn(TcpStream)) -> u16 {
    let (listener, port) = listen(ip);
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(tcp) = conn else { return };
            let _ = tcp.set_read_timeout(Some(Duration::from_secs(10)));
            let _ = tcp.set_write_timeout(Some(Duration::from_secs(10)));
            std::thread::spawn(move || behave(tcp));
        }
    });
    port
}

/// A tiny rustls server on `ip` presenting `chain`: it records the SNI of each
/// handshake and answers any request with `HTTP/1.1 <status>`.
pub fn tls_server(
    ip: &str,
    chain: &TestChain,
    status: u16,
) -> (u16, mpsc::Receiver<Option<String>>) {
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_no_client_auth()
    .with_single_cert(chain.certs.clone(), chain.key.clone_key())
    .expect("server config");
    let config = Arc::new(config);
    let (listener, port) = listen(ip);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut tcp) = conn else { return };
            let (config, tx) = (config.clone(), tx.clone());
            std::thread::spawn(move || {
                let _ = tcp.set_read_timeout(Some(Duration::from_secs(10)));
                let Ok(mut tls) = rustls::ServerConnection::new(config) else {
                    return;
                };
                while tls.is_handshaking() {
                    if tls.complete_io(&mut tcp).is_err() {
                        return;
                    }
                }
                let _ = tx.send(tls.server_name().map(str::to_string));
                let mut stream = rustls::Stream::new(&mut tls, &mut tcp);
                let mut buf = [0u8; 2048];
                let _ = stream.read(&mut buf);
                let response = format!(
                    "HTTP/1.1 {status} Test\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
                let _ = stream.write_all(response.as_bytes());
                let _ = stream.flush();
            });
        }
    });
    (port, rx)
}
