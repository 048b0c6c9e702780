//! Shared helpers for integration tests, one of each:
//! - running the binary: [`Dcosreg`] (and [`dcosreg`] for the plain case), any other
//!   program with a deadline: [`output_within`]; the exit status: [`assert_status`];
//! - certificates: [`certs`] (rcgen and the openssl CLI);
//! - real `docker-registry` servers on loopback or inside a network namespace we create
//!   ([`Registry`], [`Netns`]), and the Go oracles (skopeo, the docker CLI), with the
//!   verdicts and the per-case set-up the oracle tests share: [`oracle`];
//! - misbehaving peers: [`peers`], and a registry impostor that presents a real chain
//!   without its key: [`impostor`]; real dockerd/containerd/podman: [`runtime`];
//! - a process caught inside a write window (inotify, SIGSTOP/SIGCONT): [`window`].
//!
//! Network rule: everything here listens on 127.0.0.0/8 or on addresses inside a
//! namespace this process created. Every wait is bounded.
#![allow(dead_code)]

pub mod certs;
pub mod cluster;
pub mod impostor;
pub mod jenkinsfile;
pub mod oracle;
pub mod outside;
pub mod peers;
mod run;
pub mod runtime;
pub mod window;

pub use run::*;

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// Write `contents` to `path`, making its parent directories.
pub fn write_file(path: &Path, contents: impl AsRef<[u8]>) {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).expect("parent directories");
    }
    std::fs::write(path, contents).expect("write a test file");
}

/// The permission bits of `path` (`& 0o777`).
pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}

/// SHA-256 of `bytes`, lower-case hex (as in image digests and the install manifest).
pub fn sha256_hex(bytes: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Fail loudly (never skip) when a tool the tests need is missing.
pub fn require_tool(name: &str) -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    });
    found.unwrap_or_else(|| {
        panic!(
            "`{name}` is not installed: run .ci/run (it installs the test dependencies with apt)"
        )
    })
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn next_index() -> u32 {
    COUNTER.fetch_add(1, Ordering::SeqCst)
}

/// A loopback address unlikely to collide with parallel tests: 127.A.B.C with a
/// per-process, per-call part.
pub fn unique_loopback_ip() -> String {
    let n = next_index();
    let pid = std::process::id();
    format!(
        "127.{}.{}.{}",
        10 + (pid % 200),
        (n / 200) % 250 + 1,
        n % 200 + 2
    )
}

/// A free TCP port on `ip` (bind to port 0, read it, release it).
pub fn free_port(ip: &str) -> u16 {
    let listener = std::net::TcpListener::bind((ip, 0)).expect("bind a free port on loopback");
    listener.local_addr().expect("local addr").port()
}

/// Wait until something accepts TCP connections on `addr`, at most `limit`.
pub fn wait_for_listener(addr: &str, limit: Duration, child: &mut Child) {
    let sock: SocketAddr = addr.parse().expect("socket address");
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&sock, Duration::from_millis(200)).is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("docker-registry for {addr} exited early with {status}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("nothing listened on {addr} within {limit:?}");
}

/// Wait until something accepts TCP connections on `addr` inside the network namespace
/// `net` (a `/proc/PID/ns/net`), at most `limit`: the polling thread enters it (setns(2)
/// changes only the calling thread's namespace) and ends with the wait.
pub fn wait_for_listener_in(net: &Path, addr: &str, limit: Duration, child: &mut Child) {
    use std::os::fd::AsRawFd;
    let ns = std::fs::File::open(net).expect("open the namespace");
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                // SAFETY: a valid namespace fd; only this thread changes namespace.
                let entered = unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) };
                assert_eq!(entered, 0, "setns: {}", std::io::Error::last_os_error());
                wait_for_listener(addr, limit, child);
            })
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e));
    });
}

/// Where a [`Registry`] runs.
#[derive(Clone, Copy)]
enum Place<'a> {
    Host,
    /// A named namespace (`ip netns exec NAME`), reachable from the host.
    Netns(&'a str),
    /// A private namespace entered by its `/proc/PID/ns/net` (`nsenter --net=…`),
    /// unreachable from the host.
    Entered(&'a Path),
}

/// A real `docker-registry` serving TLS with the given chain and key.
pub struct Registry {
    child: Child,
    _dir: tempfile::TempDir,
    /// `ip:port` it listens on.
    pub addr: String,
}

impl Registry {
    /// Serve TLS on `ip:port` with `chain_pem` (leaf first) and `key_pem`.
    pub fn start(ip: &str, port: u16, chain_pem: &Path, key_pem: &Path) -> Registry {
        Self::spawn(Place::Host, ip, port, Some((chain_pem, key_pem)), None, "")
    }

    /// Serve TLS on `ip:port` inside the private namespace `net` (a `/proc/PID/ns/net`),
    /// with more configuration `extra` (an `auth:` section) appended.
    pub fn start_entering(
        net: &Path,
        ip: &str,
        port: u16,
        chain_pem: &Path,
        key_pem: &Path,
        extra: &str,
    ) -> Registry {
        Self::spawn(
            Place::Entered(net),
            ip,
            port,
            Some((chain_pem, key_pem)),
            None,
            extra,
        )
    }

    /// Serve TLS inside the network namespace `ns` on `ip:port`.
    pub fn start_in_netns(ns: &Netns, port: u16, chain_pem: &Path, key_pem: &Path) -> Registry {
        Self::start_in_netns_sharing(ns, port, chain_pem, key_pem, None, "")
    }

    /// Like [`Registry::start_in_netns`], storing images in `storage` (several registries
    /// on one storage are one registry reached several ways) when given, with more
    /// configuration `extra` (an `auth:` section) appended.
    pub fn start_in_netns_sharing(
        ns: &Netns,
        port: u16,
        chain_pem: &Path,
        key_pem: &Path,
        storage: Option<&Path>,
        extra: &str,
    ) -> Registry {
        Self::spawn(
            Place::Netns(&ns.name),
            &ns.inner_ip,
            port,
            Some((chain_pem, key_pem)),
            storage,
            extra,
        )
    }

    /// A real `docker-registry` (Go) serving plain HTTP, no TLS, on `ip:port`.
    pub fn start_plain(ip: &str, port: u16) -> Registry {
        Self::spawn(Place::Host, ip, port, None, None, "")
    }

    fn spawn(
        place: Place<'_>,
        ip: &str,
        port: u16,
        tls: Option<(&Path, &Path)>,
        storage: Option<&Path>,
        extra: &str,
    ) -> Registry {
        let registry = require_tool("docker-registry");
        let dir = tempfile::tempdir().expect("tempdir");
        let host = if ip.contains(':') {
            format!("[{ip}]")
        } else {
            ip.to_string()
        };
        let addr = format!("{host}:{port}");
        let tls = tls
            .map(|(cert, key)| {
                format!(
                    "  tls:\n    certificate: {}\n    key: {}\n",
                    cert.display(),
                    key.display()
                )
            })
            .unwrap_or_default();
        let config = format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {data}\nhttp:\n  addr: \"{addr}\"\n  secret: test-secret\n{tls}{extra}",
            data = storage
                .map(Path::to_path_buf)
                .unwrap_or_else(|| dir.path().join("data"))
                .display(),
        );
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).expect("write registry config");
        let log = std::fs::File::create(dir.path().join("registry.log")).expect("log file");
        let mut command = match place {
            Place::Netns(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns]).arg(&registry);
                c
            }
            Place::Entered(net) => {
                let mut c = Command::new(require_tool("nsenter"));
                c.arg(format!("--net={}", net.display())).arg(&registry);
                c
            }
            Place::Host => Command::new(&registry),
        };
        command
            .arg("serve")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log);
        let mut child = command.spawn().expect("start docker-registry");
        match place {
            Place::Entered(net) => {
                wait_for_listener_in(net, &addr, Duration::from_secs(10), &mut child)
            }
            // A namespaced registry is reachable from the host through the veth pair.
            Place::Host | Place::Netns(_) => {
                wait_for_listener(&addr, Duration::from_secs(10), &mut child)
            }
        }
        Registry {
            child,
            _dir: dir,
            addr,
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self._dir.path().join("registry.log")).unwrap_or_default()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A network namespace with a veth pair: the host side gets `host_ip`, the namespace
/// side `inner_ip`, both in one /30 of 10.200.0.0/13. Deleted on drop.
pub struct Netns {
    pub name: String,
    pub host_ip: String,
    pub inner_ip: String,
    host_veth: String,
}

fn ip_cmd(args: &[&str]) -> Output {
    Command::new("ip")
        .args(args)
        .output()
        .expect("run ip (iproute2)")
}

fn ip_ok(args: &[&str]) {
    let out = ip_cmd(args);
    assert_status_for(
        &out,
        0,
        format_args!("ip {} (these tests need root and iproute2)", args.join(" ")),
    );
}

impl Netns {
    pub fn create() -> Netns {
        require_tool("ip");
        // 16,384 /30 subnets in 10.200.0.0/13, spread by process and call so that test
        // binaries running side by side (and several checkouts on one machine) rarely meet.
        let index = (std::process::id().wrapping_mul(7919) + next_index()) % 16_384;
        let name = format!("dcosreg-t{index}");
        let host_veth = format!("drg{index}h");
        let inner_veth = format!("drg{index}n");
        // Leftovers of a crashed earlier run with the same index.
        let _ = ip_cmd(&["netns", "delete", &name]);
        let _ = ip_cmd(&["link", "delete", &host_veth]);
        let (b, c) = (200 + index / 2048, (index % 2048) / 64);
        let d = (index % 64) * 4;
        let host_ip = format!("10.{b}.{c}.{}", d + 1);
        let inner_ip = format!("10.{b}.{c}.{}", d + 2);
        ip_ok(&["netns", "add", &name]);
        ip_ok(&[
            "link",
            "add",
            &host_veth,
            "type",
            "veth",
            "peer",
            "name",
            &inner_veth,
        ]);
        ip_ok(&["link", "set", &inner_veth, "netns", &name]);
        ip_ok(&["addr", "add", &format!("{host_ip}/30"), "dev", &host_veth]);
        ip_ok(&["link", "set", &host_veth, "up"]);
        ip_ok(&[
            "-n",
            &name,
            "addr",
            "add",
            &format!("{inner_ip}/30"),
            "dev",
            &inner_veth,
        ]);
        ip_ok(&["-n", &name, "link", "set", &inner_veth, "up"]);
        ip_ok(&["-n", &name, "link", "set", "lo", "up"]);
        Netns {
            name,
            host_ip,
            inner_ip,
            host_veth,
        }
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = ip_cmd(&["link", "delete", &self.host_veth]);
        let _ = ip_cmd(&["netns", "delete", &self.name]);
    }
}

/// Go oracle 1: `skopeo inspect --cert-dir DIR docker://ADDR/REPO:TAG`. Returns
/// (accepted, message): accepted when the TLS handshake passed (the registry then answers
/// "manifest unknown"); otherwise the `x509: ...` (or `tls: ...`) part of Go's error.
pub fn skopeo_verdict(addr: &str, cert_dir: &Path) -> (bool, String) {
    let skopeo = require_tool("skopeo");
    let out = output_within(
        Command::new(skopeo)
            .args(["inspect", "--retry-times", "0", "--cert-dir"])
            .arg(cert_dir)
            .arg(format!("docker://{addr}/oracle/probe:1"))
            .env("HOME", cert_dir),
        Duration::from_secs(20),
    );
    go_verdict(&String::from_utf8_lossy(&out.stderr))
}

/// Go oracle 2: `docker manifest inspect ADDR/REPO:TAG` with `etc_docker` bind-mounted over
/// /etc/docker in a private mount namespace (`unshare -m`), so the real docker CLI reads our
/// certs.d and nothing on the host changes.
pub fn docker_verdict(addr: &str, etc_docker: &Path) -> (bool, String) {
    require_tool("docker");
    require_tool("unshare");
    let home = tempfile::tempdir().expect("tempdir");
    let script = "mkdir -p /etc/docker && mount --bind \"$1\" /etc/docker && shift && exec \"$@\"";
    let out = output_within(
        Command::new("unshare")
            .args(["-m", "--propagation", "private", "sh", "-c", script, "sh"])
            .arg(etc_docker)
            .args([
                "docker",
                "manifest",
                "inspect",
                &format!("{addr}/oracle/probe:1"),
            ])
            .env("HOME", home.path())
            .env("DOCKER_CONFIG", home.path().join(".docker")),
        Duration::from_secs(20),
    );
    go_verdict(&String::from_utf8_lossy(&out.stderr))
}

/// Go oracle 1b: `skopeo inspect` with no `--cert-dir`, so containers/image does its own
/// default lookup (`/etc/containers/certs.d`, then `/etc/docker/certs.d`); `etc_docker` and
/// `etc_containers` are bind-mounted over those in a private mount namespace.
pub fn skopeo_default_verdict(
    addr: &str,
    etc_docker: &Path,
    etc_containers: &Path,
) -> (bool, String) {
    let skopeo = require_tool("skopeo");
    require_tool("unshare");
    let home = tempfile::tempdir().expect("tempdir");
    let script = "mkdir -p /etc/docker /etc/containers && mount --bind \"$1\" /etc/docker && mount --bind \"$2\" /etc/containers && shift 2 && exec \"$@\"";
    let out = output_within(
        Command::new("unshare")
            .args(["-m", "--propagation", "private", "sh", "-c", script, "sh"])
            .arg(etc_docker)
            .arg(etc_containers)
            .arg(skopeo)
            .args(["inspect", "--retry-times", "0"])
            .arg(format!("docker://{addr}/oracle/probe:1"))
            .env("HOME", home.path()),
        Duration::from_secs(20),
    );
    go_verdict(&String::from_utf8_lossy(&out.stderr))
}

/// Reduce a Go client's error output to (accepted, message starting at `x509:`/`tls:`).
fn go_verdict(stderr: &str) -> (bool, String) {
    let manifest_unknown =
        stderr.contains("manifest unknown") || stderr.contains("no such manifest");
    if manifest_unknown {
        return (true, String::new());
    }
    let message = ["x509: ", "tls: "]
        .iter()
        .filter_map(|marker| stderr.find(marker).map(|at| &stderr[at..]))
        .min_by_key(|rest| std::cmp::Reverse(rest.len()))
        .map(|rest| {
            rest.trim_end()
                .trim_end_matches('"')
                .trim_end_matches('\\')
                .to_string()
        })
        .unwrap_or_else(|| stderr.trim().to_string());
    (false, message)
}
