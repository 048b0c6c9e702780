//! A DC/OS-like registry for credential tests: `docker-registry` with htpasswd (Basic) or
//! token (Bearer) auth at the VIP (:443) and at Marathon-LB (:5000) inside a network
//! namespace, both serving one storage ([`Cluster`]); a token service on loopback
//! ([`token_service`]) or on the registry's own host ([`token_service_in`]); an OCI layout
//! to push with skopeo ([`write_oci_layout`]).
//! Shared by tests/credentials.rs and tests/catalog.rs.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;

use super::certs::Spec;
use super::peers::TestChain;
use super::{
    assert_status_for, bin_path, require_tool, sha256_hex, wait_with_deadline, Dcosreg, Netns,
    Registry,
};

pub const USER: &str = "alice";
pub const PASSWORD: &str = "correct horse battery staple";
/// The token flow's `service` and `iss`, as the registry's token auth is configured.
pub const SERVICE: &str = "dcosreg-test-registry";
pub const ISSUER: &str = "dcosreg-test-token-issuer";

/// The registry's `auth:` section for htpasswd (Basic) with [`USER`] and [`PASSWORD`], its
/// file written (bcrypt, `htpasswd -B`) into `dir`.
pub fn htpasswd_auth(dir: &Path) -> String {
    let htpasswd = dir.join("htpasswd");
    // -i: the password from stdin, not from the arguments.
    let mut child = Command::new(require_tool("htpasswd"))
        .args(["-iBn", USER])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run htpasswd");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(PASSWORD.as_bytes())
        .expect("password to htpasswd");
    let out = wait_with_deadline(&mut child, Duration::from_secs(20));
    assert_status_for(&out, 0, "htpasswd");
    std::fs::write(&htpasswd, &out.stdout).expect("htpasswd file");
    format!(
        "auth:\n  htpasswd:\n    realm: dcosreg-test\n    path: {}\n",
        htpasswd.display()
    )
}

pub enum Auth {
    Htpasswd,
    /// The token service's realm URL, the PEM of the certificate that signs tokens, and the
    /// certificate of its TLS server (installed in the registry's certs.d, whose trust
    /// Docker's token requests use).
    Token {
        realm: String,
        signer_pem: PathBuf,
        tls_cert: Option<String>,
    },
}

/// Two registries (the VIP :443 and Marathon-LB :5000) in one namespace, one storage; a
/// `--root` whose certs.d trusts their CA for every spelling; a private HOME and PATH.
pub struct Cluster {
    // Dropped in this order: registries, then their namespace, then the files.
    _registries: Vec<Registry>,
    _ns: Netns,
    pub dir: tempfile::TempDir,
    pub ip: String,
    pub root: PathBuf,
    pub home: PathBuf,
    pub bin_dir: PathBuf,
    /// More environment for every program (a `pass` store's GNUPGHOME, …).
    pub extra_env: Vec<(String, PathBuf)>,
}

impl Cluster {
    pub fn start(auth: Auth) -> Cluster {
        Cluster::start_with(|_| auth)
    }

    /// [`Cluster::start`] with the auth chosen once the namespace exists: a token service
    /// on the registry's own host ([`token_service_in`]) needs its address.
    pub fn start_with(auth: impl FnOnce(&Netns) -> Auth) -> Cluster {
        let dir = tempfile::tempdir().expect("tempdir");
        let ns = Netns::create();
        let auth = auth(&ns);
        let ip = ns.inner_ip.clone();
        let chain = TestChain::new(dir.path(), &[&ip]);
        let auth_yaml = match &auth {
            Auth::Htpasswd => htpasswd_auth(dir.path()),
            Auth::Token {
                realm, signer_pem, ..
            } => format!(
                "auth:\n  token:\n    realm: \"{realm}\"\n    service: {SERVICE}\n    issuer: {ISSUER}\n    rootcertbundle: {}\n",
                signer_pem.display()
            ),
        };
        let storage = dir.path().join("storage");
        let registries = [443, 5000]
            .map(|port| {
                Registry::start_in_netns_sharing(
                    &ns,
                    port,
                    &chain.chain_pem,
                    &chain.key_pem,
                    Some(&storage),
                    &auth_yaml,
                )
            })
            .into();
        // Docker's trust for every spelling, under --root (and bind-mounted for docker).
        let root = dir.path().join("root");
        let ca_pem = &chain.ca_pem;
        for name in [ip.clone(), format!("{ip}:443"), format!("{ip}:5000")] {
            let certs_d = root.join("etc/docker/certs.d").join(&name);
            std::fs::create_dir_all(&certs_d).expect("certs.d");
            std::fs::write(certs_d.join("ca.crt"), ca_pem).expect("ca.crt");
            if let Auth::Token {
                tls_cert: Some(pem),
                ..
            } = &auth
            {
                std::fs::write(certs_d.join("token-service.crt"), pem).expect("token cert");
            }
        }
        let home = dir.path().join("home");
        std::fs::create_dir_all(&home).expect("home");
        let bin_dir = dir.path().join("bin");
        std::fs::create_dir_all(&bin_dir).expect("bin");
        // What install.sh does: the helper is this binary under the helper's name.
        std::os::unix::fs::symlink(bin_path(), bin_dir.join("docker-credential-dcosreg"))
            .expect("helper link");
        Cluster {
            _registries: registries,
            _ns: ns,
            dir,
            ip,
            root,
            home,
            bin_dir,
            extra_env: Vec::new(),
        }
    }

    pub fn vip(&self) -> String {
        self.ip.clone()
    }

    pub fn mlb(&self) -> String {
        format!("{}:5000", self.ip)
    }

    /// The three spellings of the one registry: `IP`, `IP:443`, `IP:5000`.
    pub fn spellings(&self) -> [String; 3] {
        [self.vip(), format!("{}:443", self.ip), self.mlb()]
    }

    pub fn docker_config(&self) -> PathBuf {
        self.home.join(".docker")
    }

    pub fn config_json(&self) -> PathBuf {
        self.docker_config().join("config.json")
    }

    pub fn data_dir(&self) -> PathBuf {
        self.home.join(".local/share/dcosreg")
    }

    /// The environment a user's shell would give every program here.
    pub fn env(&self, command: &mut Command) {
        let path = format!(
            "{}:{}",
            self.bin_dir.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        command
            .env("PATH", path)
            .env("HOME", &self.home)
            .env("XDG_DATA_HOME", self.home.join(".local/share"))
            .env("XDG_CONFIG_HOME", self.home.join(".config"))
            .env("DOCKER_CONFIG", self.docker_config())
            .env("DCOSREG_INTERNAL", self.vip())
            .env("DCOSREG_EXTERNAL", self.mlb())
            .env("DCOSREG_ROOT", &self.root)
            .env("DCOSREG_TIMEOUT", "10s")
            .env_remove("DCOSREG_CONFIG")
            .env_remove("DCOSREG_USERNAME")
            .env_remove("DCOSREG_PASSWORD")
            .env_remove("DCOSREG_PASSWORD_FILE");
        for (name, value) in &self.extra_env {
            command.env(name, value);
        }
    }

    /// `command` (the binary, its helper link, or a program that runs them) with that
    /// environment.
    pub fn with_env(&self, command: Command) -> Dcosreg {
        let mut run = Dcosreg::via(command).timeout(Duration::from_secs(60));
        self.env(run.command());
        run
    }

    pub fn run(&self, command: Command, stdin: Option<&str>) -> Output {
        let mut run = self.with_env(command);
        if let Some(text) = stdin {
            run = run.stdin(text);
        }
        run.run()
    }

    pub fn dcosreg(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut command = Command::new(bin_path());
        command.args(args);
        self.run(command, stdin)
    }

    pub fn helper(&self, action: &str, stdin: &str) -> Output {
        let mut command = Command::new(self.bin_dir.join("docker-credential-dcosreg"));
        command.arg(action);
        self.run(command, Some(stdin))
    }

    /// The real docker CLI with ROOT/etc/docker bind-mounted over /etc/docker in a private
    /// mount namespace (certs.d is read from /etc/docker only).
    pub fn docker(&self, args: &[&str]) -> Output {
        require_tool("docker");
        let script =
            "mkdir -p /etc/docker && mount --bind \"$1\" /etc/docker && shift && exec \"$@\"";
        let mut command = Command::new(require_tool("unshare"));
        command
            .args(["-m", "--propagation", "private", "sh", "-c", script, "sh"])
            .arg(self.root.join("etc/docker"))
            .arg("docker")
            .args(args);
        self.run(command, None)
    }

    pub fn manifest_inspect(&self, reference: &str) -> Output {
        self.docker(&["manifest", "inspect", reference])
    }

    /// `skopeo inspect` with an auth file and the certs.d directory of the spelling.
    pub fn skopeo_inspect(&self, authfile: &Path, spelling: &str, repo: &str) -> Output {
        let mut command = Command::new(require_tool("skopeo"));
        command
            .args(["inspect", "--raw", "--retry-times", "0", "--authfile"])
            .arg(authfile)
            .arg("--cert-dir")
            .arg(self.root.join("etc/docker/certs.d").join(spelling))
            .arg(format!("docker://{spelling}/{repo}"));
        self.run(command, None)
    }

    /// Push a one-layer image built here to `spelling/repo` with skopeo, authenticated
    /// through `authfile`.
    pub fn push(&self, authfile: &Path, spelling: &str, repo: &str) {
        let layout = self.dir.path().join("oci");
        if !layout.exists() {
            write_oci_layout(&layout);
        }
        let mut command = Command::new(require_tool("skopeo"));
        command
            .args(["copy", "--retry-times", "0", "--dest-authfile"])
            .arg(authfile)
            .arg("--dest-cert-dir")
            .arg(self.root.join("etc/docker/certs.d").join(spelling))
            .arg(format!("oci:{}:1", layout.display()))
            .arg(format!("docker://{spelling}/{repo}"));
        let out = self.run(command, None);
        assert_status_for(&out, 0, "skopeo copy");
    }

    pub fn login(&self, password: &str) -> Output {
        self.dcosreg(
            &["login", "-u", USER, "--password-stdin"],
            Some(&format!("{password}\n")),
        )
    }
}

pub fn text(out: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

pub fn assert_secret_absent(out: &Output) {
    let all = text(out);
    assert!(
        !all.contains(PASSWORD),
        "the password leaked into output:\n{all}"
    );
}

/// An OCI image layout holding one image (one small layer), tag `1`.
pub fn write_oci_layout(dir: &Path) {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).expect("oci blobs");
    let put = |bytes: &[u8]| -> String {
        let digest = sha256_hex(bytes);
        std::fs::write(blobs.join(&digest), bytes).expect("blob");
        format!("sha256:{digest}")
    };
    let mut tar = tar::Builder::new(Vec::new());
    let body = b"hello from the private registry\n";
    let mut header = tar::Header::new_gnu();
    header.set_size(body.len() as u64);
    header.set_mode(0o644);
    header.set_mtime(0);
    tar.append_data(&mut header, "hello.txt", &body[..])
        .expect("tar");
    let layer_tar = tar.into_inner().expect("tar");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&layer_tar).expect("gzip");
    let layer = gz.finish().expect("gzip");
    let layer_digest = put(&layer);
    let config = serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": [format!("sha256:{}", sha256_hex(&layer_tar))]},
    })
    .to_string();
    let config_digest = put(config.as_bytes());
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer_digest, "size": layer.len()}],
    })
    .to_string();
    let manifest_digest = put(manifest.as_bytes());
    let index = serde_json::json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": manifest_digest,
            "size": manifest.len(),
            "annotations": {"org.opencontainers.image.ref.name": "1"},
        }],
    });
    std::fs::write(dir.join("index.json"), index.to_string()).expect("index.json");
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#)
        .expect("oci-layout");
}

/// How the token service answers.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum TokenMode {
    /// Over TLS (a self-signed certificate for 127.0.0.1), as it should be.
    Https,
    /// In cleartext: the password must never reach it, whichever host it is on.
    Http,
    /// Over TLS, then the token body one byte every half second.
    HttpsTrickle,
}

/// A token service (distribution's token spec): Basic-authenticated `GET /token`, answering
/// an ES256 JWT whose `x5c` certificate is the registry's `rootcertbundle`. Serves on
/// loopback (or, [`token_service_in`], on the registry's host in its namespace) until the
/// test process ends; every read is bounded. `seen` logs the
/// `Authorization` header of every request that reached it.
pub struct TokenService {
    pub realm: String,
    pub signer_pem: PathBuf,
    pub tls_cert: Option<String>,
    pub seen: Arc<Mutex<Vec<String>>>,
    /// The `scope` parameters of every token request, in order.
    pub scopes: Arc<Mutex<Vec<String>>>,
}

impl TokenService {
    pub fn auth(&self) -> Auth {
        Auth::Token {
            realm: self.realm.clone(),
            signer_pem: self.signer_pem.clone(),
            tls_cert: self.tls_cert.clone(),
        }
    }

    pub fn saw_credentials(&self) -> bool {
        self.seen.lock().unwrap().iter().any(|a| !a.is_empty())
    }
}

pub fn token_service(dir: &Path, mode: TokenMode) -> TokenService {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind token service");
    serve_tokens(dir, mode, listener)
}

/// [`token_service`] on the registry's own host: the namespace's address (`ns.inner_ip`),
/// a free port, inside that namespace, so the realm names the host the registry's
/// endpoints spell. The listening socket is made on a thread that entered the namespace
/// (setns(2) changes only the calling thread), and belongs to it from then on.
pub fn token_service_in(dir: &Path, mode: TokenMode, ns: &Netns) -> TokenService {
    let ns_path = PathBuf::from("/run/netns").join(&ns.name);
    let ip = ns.inner_ip.clone();
    let listener = std::thread::spawn(move || {
        use std::os::fd::AsRawFd;
        let handle = std::fs::File::open(&ns_path)
            .unwrap_or_else(|e| panic!("open {}: {e}", ns_path.display()));
        // SAFETY: setns(2) with a namespace descriptor we hold open; it affects only this
        // thread, which ends once the socket is made.
        let entered = unsafe { libc::setns(handle.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(
            entered,
            0,
            "setns {}: {}",
            ns_path.display(),
            std::io::Error::last_os_error()
        );
        TcpListener::bind((ip.as_str(), 0)).expect("bind the token service in the namespace")
    })
    .join()
    .expect("the namespace thread");
    serve_tokens(dir, mode, listener)
}

fn serve_tokens(dir: &Path, mode: TokenMode, listener: TcpListener) -> TokenService {
    let signer = Spec::names(&[])
        .cn("dcosreg test token signer")
        .self_signed();
    let signer_pem = signer.write(dir, "token-signer.pem");
    let der = signer.der().to_vec();
    let pkcs8 = signer.key.serialize_der();
    let addr = listener.local_addr().expect("addr");
    let tls = (mode != TokenMode::Http).then(|| {
        let cert = Spec::names(&[&addr.ip().to_string()]).self_signed();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(cert.key.serialize_der().into()),
        )
        .expect("token TLS config");
        (Arc::new(config), cert.pem())
    });
    let scheme = if tls.is_some() { "https" } else { "http" };
    let realm = format!("{scheme}://{addr}/token");
    let tls_cert = tls.as_ref().map(|(_, pem)| pem.clone());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let scopes = Arc::new(Mutex::new(Vec::new()));
    let log = (seen.clone(), scopes.clone());
    std::thread::spawn(move || {
        let rng = ring::rand::SystemRandom::new();
        let signer = Arc::new(
            ring::signature::EcdsaKeyPair::from_pkcs8(
                &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                &pkcs8,
                &rng,
            )
            .expect("signer"),
        );
        for stream in listener.incoming().flatten() {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
            let trickle = mode == TokenMode::HttpsTrickle;
            let (tls, signer, rng, der, log) = (
                tls.clone(),
                signer.clone(),
                rng.clone(),
                der.clone(),
                log.clone(),
            );
            // One thread a connection: a trickling answer must not hold up the next.
            std::thread::spawn(move || match &tls {
                Some((config, _)) => {
                    if let Ok(conn) = rustls::ServerConnection::new(config.clone()) {
                        let _ = serve_token(
                            rustls::StreamOwned::new(conn, stream),
                            &signer,
                            &rng,
                            &der,
                            trickle,
                            (&log.0, &log.1),
                        );
                    }
                }
                None => {
                    let _ = serve_token(stream, &signer, &rng, &der, trickle, (&log.0, &log.1));
                }
            });
        }
    });
    TokenService {
        realm,
        signer_pem,
        tls_cert,
        seen,
        scopes,
    }
}

pub fn serve_token(
    mut stream: impl Read + Write,
    signer: &ring::signature::EcdsaKeyPair,
    rng: &ring::rand::SystemRandom,
    cert_der: &[u8],
    trickle: bool,
    (seen, scopes): (&Mutex<Vec<String>>, &Mutex<Vec<String>>),
) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 64 * 1024 {
        if stream.read(&mut byte)? == 0 {
            break;
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let request_line = head.lines().next().unwrap_or("").to_string();
    let authorization = head
        .lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("authorization"))
        .map(|(_, value)| value.trim().to_string())
        .unwrap_or_default();
    seen.lock().unwrap().push(authorization.clone());
    let target = request_line.split_whitespace().nth(1).unwrap_or("/");
    let url = reqwest::Url::parse(&format!("http://token{target}")).expect("request target");
    scopes.lock().unwrap().extend(
        url.query_pairs()
            .filter(|(k, _)| k == "scope")
            .map(|(_, scope)| scope.into_owned()),
    );
    let b64 = base64::engine::general_purpose::STANDARD;
    let b64url = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let expected = format!("Basic {}", b64.encode(format!("{USER}:{PASSWORD}")));
    if authorization != expected {
        let body = r#"{"details":"invalid username or password"}"#;
        return write!(
            stream,
            "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
    }
    let access: Vec<serde_json::Value> = url
        .query_pairs()
        .filter(|(k, _)| k == "scope")
        .flat_map(|(_, scope)| {
            scope
                .split(' ')
                .filter_map(|one| {
                    let mut parts = one.splitn(3, ':');
                    let (kind, name, actions) = (parts.next()?, parts.next()?, parts.next()?);
                    Some(serde_json::json!({
                        "type": kind, "name": name,
                        "actions": actions.split(',').collect::<Vec<_>>(),
                    }))
                })
                .collect::<Vec<_>>()
        })
        .collect();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let header = serde_json::json!({"typ": "JWT", "alg": "ES256", "x5c": [b64.encode(cert_der)]});
    let claims = serde_json::json!({
        "iss": ISSUER, "sub": USER, "aud": SERVICE,
        "exp": now + 300, "nbf": now - 10, "iat": now - 10,
        "jti": format!("{now}-{}", access.len()), "access": access,
    });
    let input = format!(
        "{}.{}",
        b64url.encode(header.to_string()),
        b64url.encode(claims.to_string())
    );
    let signature = signer.sign(rng, input.as_bytes()).expect("sign");
    let token = format!("{input}.{}", b64url.encode(signature.as_ref()));
    let body =
        serde_json::json!({"token": token, "access_token": token, "expires_in": 300}).to_string();
    write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    stream.flush()?;
    for chunk in body
        .as_bytes()
        .chunks(if trickle { 1 } else { body.len().max(1) })
    {
        if trickle {
            std::thread::sleep(Duration::from_millis(500));
        }
        stream.write_all(chunk)?;
        stream.flush()?;
    }
    Ok(())
}
