//! A registry impostor: a rustls server inside a network namespace that presents a real
//! chain (CA + leaf issued by openssl) and signs its handshake honestly, with garbage,
//! with another key or with a scheme the leaf's key cannot make. It answers `/v2/` as a
//! Basic-auth registry would (401 with a challenge, 200 with any `Authorization`) and logs
//! every request head, so a test can prove that no credential reached it.
//!
//! The listener is bound inside the namespace by a thread that joined it (setns), so the
//! docker CLI, which treats loopback as insecure, verifies TLS against it as against a
//! real registry. Every read and write has a bounded timeout.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::fd::AsRawFd;
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use rustls::crypto::ring::default_provider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::{CertifiedKey, Signer, SigningKey};
use rustls::{SignatureAlgorithm, SignatureScheme, SupportedProtocolVersion};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use super::certs::{Openssl, OpensslKey};
use super::Netns;

/// The leaf's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeafKind {
    P256,
    Rsa2048,
    Rsa1024,
    P521,
    Ed25519,
}

impl LeafKind {
    pub const ALL: [LeafKind; 5] = [
        LeafKind::P256,
        LeafKind::Rsa2048,
        LeafKind::Rsa1024,
        LeafKind::P521,
        LeafKind::Ed25519,
    ];

    /// PKCS #8 keys from `openssl genpkey` (ring reads EC keys only with their public part).
    pub fn openssl_key(self) -> OpensslKey<'static> {
        match self {
            LeafKind::P256 => {
                OpensslKey::Genpkey(&["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"])
            }
            LeafKind::Rsa2048 => {
                OpensslKey::Genpkey(&["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"])
            }
            LeafKind::Rsa1024 => {
                OpensslKey::Genpkey(&["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"])
            }
            LeafKind::P521 => {
                OpensslKey::Genpkey(&["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-521"])
            }
            LeafKind::Ed25519 => OpensslKey::Genpkey(&["-algorithm", "ed25519"]),
        }
    }

    /// The scheme an honest server signs with.
    fn natural_scheme(self) -> SignatureScheme {
        match self {
            LeafKind::P256 => SignatureScheme::ECDSA_NISTP256_SHA256,
            LeafKind::P521 => SignatureScheme::ECDSA_NISTP521_SHA512,
            LeafKind::Rsa2048 | LeafKind::Rsa1024 => SignatureScheme::RSA_PSS_SHA256,
            LeafKind::Ed25519 => SignatureScheme::ED25519,
        }
    }

    /// A scheme this key cannot make: RSA-PSS over an EC key, ECDSA over RSA or Ed25519.
    fn wrong_scheme(self) -> SignatureScheme {
        match self {
            LeafKind::P256 | LeafKind::P521 => SignatureScheme::RSA_PSS_SHA256,
            _ => SignatureScheme::ECDSA_NISTP256_SHA256,
        }
    }

    fn algorithm(self) -> SignatureAlgorithm {
        match self {
            LeafKind::P256 | LeafKind::P521 => SignatureAlgorithm::ECDSA,
            LeafKind::Rsa2048 | LeafKind::Rsa1024 => SignatureAlgorithm::RSA,
            LeafKind::Ed25519 => SignatureAlgorithm::ED25519,
        }
    }
}

/// How the server signs its handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signing {
    /// With the leaf's own key: the real registry.
    Honest,
    /// Random bytes under the leaf's scheme.
    Garbage,
    /// A real signature by another key of the same kind.
    OtherKey,
    /// Random bytes under a scheme for another kind of key.
    WrongScheme,
}

impl Signing {
    pub const ALL: [Signing; 4] = [
        Signing::Honest,
        Signing::Garbage,
        Signing::OtherKey,
        Signing::WrongScheme,
    ];
}

/// A CA and, per leaf kind, a leaf for `ip` and a second key of the same kind, made by
/// openssl in `dir`.
pub struct Pki {
    pub ca_pem: String,
    pub ca_path: std::path::PathBuf,
    leaves: Vec<Leaf>,
}

/// A kind's chain (leaf, CA), the leaf's PKCS #8 key, and another key of the same kind.
struct Leaf {
    kind: LeafKind,
    chain: Vec<CertificateDer<'static>>,
    own: Vec<u8>,
    other: Vec<u8>,
}

fn pkcs8(pem: &str) -> Vec<u8> {
    match PrivateKeyDer::from_pem_slice(pem.as_bytes()).expect("a PEM private key") {
        PrivateKeyDer::Pkcs8(key) => key.secret_pkcs8_der().to_vec(),
        other => panic!("openssl genpkey wrote a non-PKCS #8 key: {other:?}"),
    }
}

impl Pki {
    pub fn new(dir: &std::path::Path, ip: &str) -> Pki {
        let ca = Openssl::new(dir);
        ca.ca(
            OpensslKey::Genpkey(&["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]),
            "-sha256",
            "impostor test CA",
            &[],
        );
        let ca_pem = ca.read("ca.crt");
        let ca_der = CertificateDer::from_pem_slice(ca_pem.as_bytes()).expect("ca.crt");
        let leaves = LeafKind::ALL
            .iter()
            .map(|&kind| {
                let sub = dir.join(format!("{kind:?}"));
                std::fs::create_dir_all(&sub).expect("leaf dir");
                for file in ["ca.crt", "ca.key"] {
                    std::fs::copy(dir.join(file), sub.join(file)).expect("copy the CA");
                }
                let ssl = Openssl::new(&sub);
                let leaf_pem = ssl.leaf(kind.openssl_key(), ip, &["-sha256"]);
                ssl.key(kind.openssl_key(), "other.key");
                let leaf = CertificateDer::from_pem_slice(leaf_pem.as_bytes()).expect("leaf");
                Leaf {
                    kind,
                    chain: vec![leaf, ca_der.clone()],
                    own: pkcs8(&ssl.read("leaf.key")),
                    other: pkcs8(&ssl.read("other.key")),
                }
            })
            .collect();
        Pki {
            ca_pem,
            ca_path: dir.join("ca.crt"),
            leaves,
        }
    }

    /// Serve `kind`'s chain in `ns`, signing as `signing` says, with TLS `version` only.
    pub fn serve(
        &self,
        ns: &Netns,
        kind: LeafKind,
        signing: Signing,
        version: &'static SupportedProtocolVersion,
    ) -> Impostor {
        let leaf = self
            .leaves
            .iter()
            .find(|leaf| leaf.kind == kind)
            .expect("a leaf of every kind");
        let key = Forger {
            kind,
            signing,
            pkcs8: if signing == Signing::OtherKey {
                leaf.other.clone()
            } else {
                leaf.own.clone()
            },
        };
        serve(
            ns,
            Arc::new(CertifiedKey::new(leaf.chain.clone(), Arc::new(key))),
            version,
        )
    }
}

#[derive(Debug)]
struct Forger {
    kind: LeafKind,
    signing: Signing,
    pkcs8: Vec<u8>,
}

impl SigningKey for Forger {
    fn choose_scheme(&self, _offered: &[SignatureScheme]) -> Option<Box<dyn Signer>> {
        let scheme = match self.signing {
            Signing::WrongScheme => self.kind.wrong_scheme(),
            _ => self.kind.natural_scheme(),
        };
        Some(Box::new(ForgerSigner {
            kind: self.kind,
            signing: self.signing,
            pkcs8: self.pkcs8.clone(),
            scheme,
        }))
    }

    fn algorithm(&self) -> SignatureAlgorithm {
        self.kind.algorithm()
    }
}

#[derive(Debug)]
struct ForgerSigner {
    kind: LeafKind,
    signing: Signing,
    pkcs8: Vec<u8>,
    scheme: SignatureScheme,
}

fn random(len: usize) -> Vec<u8> {
    use ring::rand::SecureRandom;
    let mut bytes = vec![0u8; len];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .expect("random bytes");
    bytes
}

impl Signer for ForgerSigner {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, rustls::Error> {
        let garbage_len = match self.kind {
            LeafKind::P256 => 72,
            LeafKind::P521 => 139,
            LeafKind::Rsa2048 => 256,
            LeafKind::Rsa1024 => 128,
            LeafKind::Ed25519 => 64,
        };
        if matches!(self.signing, Signing::Garbage | Signing::WrongScheme) {
            return Ok(random(garbage_len));
        }
        let rng = ring::rand::SystemRandom::new();
        Ok(match self.kind {
            LeafKind::P256 => ring::signature::EcdsaKeyPair::from_pkcs8(
                &ring::signature::ECDSA_P256_SHA256_ASN1_SIGNING,
                &self.pkcs8,
                &rng,
            )
            .expect("P-256 key")
            .sign(&rng, message)
            .expect("sign")
            .as_ref()
            .to_vec(),
            LeafKind::Ed25519 => {
                ring::signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(&self.pkcs8)
                    .expect("Ed25519 key")
                    .sign(message)
                    .as_ref()
                    .to_vec()
            }
            LeafKind::P521 => {
                use p521::ecdsa::signature::RandomizedSigner as _;
                use p521::pkcs8::DecodePrivateKey as _;
                let secret = p521::SecretKey::from_pkcs8_der(&self.pkcs8).expect("P-521 key");
                let key =
                    p521::ecdsa::SigningKey::from_slice(&secret.to_bytes()).expect("P-521 key");
                let signature: p521::ecdsa::Signature =
                    key.sign_with_rng(&mut rsa::rand_core::OsRng, message);
                signature.to_der().as_bytes().to_vec()
            }
            LeafKind::Rsa2048 | LeafKind::Rsa1024 => {
                use rsa::pkcs8::DecodePrivateKey as _;
                use rsa::signature::{RandomizedSigner as _, SignatureEncoding as _};
                let key = rsa::RsaPrivateKey::from_pkcs8_der(&self.pkcs8).expect("RSA key");
                rsa::pss::BlindedSigningKey::<sha2::Sha256>::new(key)
                    .sign_with_rng(&mut rsa::rand_core::OsRng, message)
                    .to_vec()
            }
        })
    }

    fn scheme(&self) -> SignatureScheme {
        self.scheme
    }
}

#[derive(Debug)]
struct Always(Arc<CertifiedKey>);

impl ResolvesServerCert for Always {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }
}

/// A running impostor: where it listens and every request head it received.
pub struct Impostor {
    pub addr: String,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Impostor {
    /// The request heads received so far (after a completed handshake).
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().expect("request log").clone()
    }

    /// Whether any request carried an `Authorization` header.
    pub fn saw_credentials(&self) -> bool {
        self.requests()
            .iter()
            .any(|head| head.to_ascii_lowercase().contains("\nauthorization:"))
    }
}

/// Bind a port inside `ns` from a thread that joined the namespace (the socket stays
/// there), then serve on threads of the test process.
fn serve(
    ns: &Netns,
    key: Arc<CertifiedKey>,
    version: &'static SupportedProtocolVersion,
) -> Impostor {
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(default_provider()))
        .with_protocol_versions(&[version])
        .expect("versions")
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(Always(key)));
    let config = Arc::new(config);
    let (tx, rx) = mpsc::channel();
    let (name, ip) = (ns.name.clone(), ns.inner_ip.clone());
    std::thread::spawn(move || {
        let netns = std::fs::File::open(format!("/run/netns/{name}")).expect("open the netns");
        // SAFETY: setns on this thread only, with an fd we own.
        let joined = unsafe { libc::setns(netns.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(joined, 0, "setns into {name}");
        let listener = TcpListener::bind((ip.as_str(), 0)).expect("bind in the netns");
        tx.send(listener).expect("hand over the listener");
    });
    let listener = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the impostor's listener");
    let addr = listener.local_addr().expect("local addr").to_string();
    let requests = Arc::new(Mutex::new(Vec::new()));
    let log = requests.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut tcp) = conn else { return };
            let (config, log) = (config.clone(), log.clone());
            std::thread::spawn(move || {
                let _ = tcp.set_read_timeout(Some(Duration::from_secs(10)));
                let _ = tcp.set_write_timeout(Some(Duration::from_secs(10)));
                let Ok(mut tls) = rustls::ServerConnection::new(config) else {
                    return;
                };
                while tls.is_handshaking() {
                    if tls.complete_io(&mut tcp).is_err() {
                        return;
                    }
                }
                let mut stream = rustls::Stream::new(&mut tls, &mut tcp);
                while let Some(head) = read_head(&mut stream) {
                    let answer = answer(&head);
                    log.lock().expect("request log").push(head);
                    if stream.write_all(answer.as_bytes()).is_err() || stream.flush().is_err() {
                        return;
                    }
                }
            });
        }
    });
    Impostor { addr, requests }
}

/// One request head (GETs only: no body), or `None` at the end of the connection.
fn read_head(stream: &mut impl Read) -> Option<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 16 * 1024 || stream.read(&mut byte).ok()? == 0 {
            return None;
        }
        head.push(byte[0]);
    }
    Some(String::from_utf8_lossy(&head).into_owned())
}

/// A Basic-auth registry: `/v2/` is 401 without credentials and 200 with any; everything
/// else is an unknown manifest.
fn answer(head: &str) -> String {
    let v2 = head.starts_with("GET /v2/ ");
    let with_credentials = head.to_ascii_lowercase().contains("\nauthorization:");
    let (status, extra, body) = match (v2, with_credentials) {
        (true, false) => (
            "401 Unauthorized",
            "WWW-Authenticate: Basic realm=\"impostor\"\r\n",
            "{}".to_string(),
        ),
        (true, true) => ("200 OK", "", "{}".to_string()),
        _ => (
            "404 Not Found",
            "",
            r#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#.to_string(),
        ),
    };
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nDocker-Distribution-Api-Version: registry/2.0\r\n{extra}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
}
