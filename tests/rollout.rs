//! `rollout` against real components: a real OpenSSH server (Debian `openssh-server`) started
//! on loopback addresses with throwaway keys, a local HTTP server answering as a Mesos master
//! (`/slaves`) and as Marathon, and the install script run by a real `sh`.
//!
//! Every agent is a distinct 127.x.y.z address that the one sshd listens on; `--remote-root
//! DIR/%h` gives each agent its own directory, so results are told apart per agent. Nothing
//! leaves loopback.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::certs::{openssl_fingerprint, Spec};
use support::peers::TestChain;
use support::{
    assert_status, assert_status_for, dcosreg, json, mode, require_tool, stderr, stdout,
    unique_loopback_ip, Dcosreg,
};

// Endpoints for the certs.d names: loopback, so nothing here could ever dial the defaults.
const INTERNAL: &str = "127.0.0.9";
const EXTERNAL: &str = "127.0.0.9:5000";

/// The certs.d files one agent must end up with (the layout `trust` installs).
const LAYOUT: [&str; 6] = [
    "etc/docker/certs.d/127.0.0.9/ca.crt",
    "etc/docker/certs.d/127.0.0.9:443/ca.crt",
    "etc/docker/certs.d/127.0.0.9:5000/ca.crt",
    "etc/containers/certs.d/127.0.0.9/ca.crt",
    "etc/containers/certs.d/127.0.0.9:443/ca.crt",
    "etc/containers/certs.d/127.0.0.9:5000/ca.crt",
];

/// A real sshd on `port` of every address in `ips`, with its own host key and one
/// authorized client key, all in a temp dir.
struct Sshd {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
}

impl Sshd {
    fn start(ips: &[String]) -> Sshd {
        let sshd = Path::new("/usr/sbin/sshd");
        assert!(
            sshd.is_file(),
            "/usr/sbin/sshd is missing: run .ci/run (it installs openssh-server)"
        );
        require_tool("ssh-keygen");
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        for key in ["host", "client"] {
            let out = Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-C", key, "-f"])
                .arg(d.join(key))
                .output()
                .expect("ssh-keygen");
            assert_status_for(&out, 0, "ssh-keygen");
        }
        std::fs::copy(d.join("client.pub"), d.join("authorized_keys")).expect("authorized_keys");
        // sshd refuses to start without its privilege separation directory.
        std::fs::create_dir_all("/run/sshd").expect("create /run/sshd");
        let port = support::free_port(&ips[0]);
        let mut config = String::new();
        for ip in ips {
            config.push_str(&format!("ListenAddress {ip}:{port}\n"));
        }
        config.push_str(&format!(
            "HostKey {d}/host\nPidFile {d}/sshd.pid\nAuthorizedKeysFile {d}/authorized_keys\n\
             StrictModes no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
             PermitRootLogin prohibit-password\nUsePAM no\nPrintMotd no\nMaxStartups 200\n\
             MaxSessions 200\nLogLevel ERROR\n",
            d = d.display()
        ));
        std::fs::write(d.join("sshd_config"), config).expect("sshd_config");
        let log = std::fs::File::create(d.join("sshd.log")).expect("log");
        let mut child = Command::new(sshd)
            .args(["-D", "-e", "-f"])
            .arg(d.join("sshd_config"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start sshd");
        for ip in ips {
            wait_for_port(&format!("{ip}:{port}"), &mut child, d);
        }
        Sshd { child, dir, port }
    }

    /// The ssh flags a test passes: our port, key and a private known_hosts.
    fn ssh_args(&self) -> Vec<String> {
        let d = self.dir.path();
        vec![
            "--ssh-user".into(),
            "root".into(),
            "--ssh-port".into(),
            self.port.to_string(),
            "--ssh-identity".into(),
            d.join("client").display().to_string(),
            "--ssh-option".into(),
            format!("UserKnownHostsFile={}", d.join("known_hosts").display()),
            "--ssh-option".into(),
            "GlobalKnownHostsFile=/dev/null".into(),
            "--ssh-option".into(),
            "StrictHostKeyChecking=accept-new".into(),
            "--ssh-option".into(),
            "IdentitiesOnly=yes".into(),
        ]
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_for_port(addr: &str, child: &mut Child, dir: &Path) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr.parse().expect("addr"), Duration::from_millis(200))
            .is_ok()
        {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            let log = std::fs::read_to_string(dir.join("sshd.log")).unwrap_or_default();
            panic!("sshd exited early with {status}: {log}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("sshd did not listen on {addr} within 10s");
}

/// One request as the test HTTP server saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A minimal HTTP/1.1 server on 127.0.0.1 answering every request with `status` and `body`,
/// recording what it was sent (stands in for the Mesos master and for Marathon).
struct HttpServer {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl HttpServer {
    fn start(status: &'static str, body: String) -> HttpServer {
        Self::serve(status, body, None)
    }

    /// The same over TLS, presenting `chain` (a CA and a leaf for 127.0.0.1).
    fn start_tls(status: &'static str, body: String, chain: &TestChain) -> HttpServer {
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(chain.certs.clone(), chain.key.clone_key())
        .expect("server config");
        Self::serve(status, body, Some(Arc::new(config)))
    }

    fn serve(
        status: &'static str,
        body: String,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> HttpServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let scheme = if tls.is_some() { "https" } else { "http" };
        let url = format!("{scheme}://{}", listener.local_addr().expect("addr"));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = Arc::clone(&seen);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
                let answer = |mut io: &mut dyn ReadWrite| {
                    if let Some(request) = read_request(&mut io) {
                        record.lock().expect("lock").push(request);
                    }
                    let _ = write!(
                        io,
                        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = io.flush();
                };
                match &tls {
                    None => answer(&mut { stream }),
                    Some(config) => {
                        let Ok(conn) = rustls::ServerConnection::new(config.clone()) else {
                            continue;
                        };
                        let mut io = rustls::StreamOwned::new(conn, stream);
                        answer(&mut io);
                    }
                }
            }
        });
        HttpServer { url, seen }
    }

    fn requests(&self) -> Vec<Seen> {
        self.seen.lock().expect("lock").clone()
    }
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

fn read_request(stream: &mut dyn ReadWrite) -> Option<Seen> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        headers.push((name.trim().to_string(), value.trim().to_string()));
    }
    let length: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Seen {
        method,
        path,
        headers,
        body,
    })
}

/// A fresh self-signed CA as PEM, written to `dir/ca.pem`.
fn make_ca(dir: &Path, name: &str) -> (PathBuf, String) {
    let pem = Spec::ca(name).self_signed().pem().replace("\r\n", "\n");
    let path = dir.join(format!("{name}.pem"));
    std::fs::write(&path, &pem).expect("write CA");
    (path, pem)
}

fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// The binary each agent runs: this build without its debug information (the unstripped
/// test build is over 150 MB; the code that runs is the same).
fn agent_binary() -> &'static Path {
    static STRIPPED: std::sync::OnceLock<(tempfile::TempDir, PathBuf)> = std::sync::OnceLock::new();
    let (_, path) = STRIPPED.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("docker-dcosreg");
        let out = Command::new(require_tool("strip"))
            .arg("--strip-debug")
            .arg("-o")
            .arg(&path)
            .arg(support::bin_path())
            .output()
            .expect("strip");
        assert_status_for(&out, 0, "strip the agent binary");
        (dir, path)
    });
    path
}

/// `rollout` with the CA file, each agent's own root, the stripped binary and the
/// certs.d targets of the layout above.
fn base_args(ca: &Path, root: &Path) -> Vec<String> {
    let mut args = strings(&["--internal", INTERNAL, "--external", EXTERNAL, "rollout"]);
    args.extend(strings(&["--ca-file", &ca.display().to_string()]));
    args.extend(strings(&[
        "--remote-root",
        &format!("{}/%h", root.display()),
        "--agent-binary",
        &agent_binary().display().to_string(),
        "--target",
        "docker,containers",
    ]));
    args
}

fn line_for<'a>(out: &'a str, agent: &str) -> &'a str {
    out.lines()
        .find(|l| l.starts_with(&format!("{agent}: ")))
        .unwrap_or_else(|| panic!("no line for {agent} in:\n{out}"))
}

fn assert_layout(root: &Path, agent: &str, pem: &str) {
    for file in LAYOUT {
        let path = root.join(agent).join(file);
        let got =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(got, pem, "{}", path.display());
        let mode = mode(&path);
        assert_eq!(mode, 0o644, "{}", path.display());
    }
}

/// No temp file may be left next to an installed ca.crt (Docker reads every *.crt there).
fn assert_no_leftovers(root: &Path) {
    let out = Command::new("find")
        .arg(root)
        .args(["-name", ".dcosreg-*"])
        .output()
        .expect("find");
    assert!(
        stdout(&out).trim().is_empty(),
        "leftovers: {}",
        stdout(&out)
    );
}

#[test]
fn mesos_listed_agents_get_the_ca_over_ssh_and_the_refusing_one_is_reported() {
    let agents: Vec<String> = (0..3).map(|_| unique_loopback_ip()).collect();
    let refusing = unique_loopback_ip();
    let sshd = Sshd::start(&agents);
    let dir = tempfile::tempdir().expect("tmp");
    let (ca, pem) = make_ca(dir.path(), "cluster-ca");
    let root = dir.path().join("agents");
    let pwned = dir.path().join("pwned");

    // A Mesos 1.7 `/slaves` answer (fields as the master serves them) with our addresses,
    // plus a hostile host name that must never reach ssh as an option.
    let slaves = include_str!("data/mesos-slaves.json")
        .replace("@AGENT1@", &agents[0])
        .replace("@AGENT2@", &agents[1])
        .replace("@AGENT3@", &agents[2])
        .replace("@REFUSING@", &refusing)
        .replace("@PWNED@", &pwned.display().to_string());
    // The master over https (Admin Router), verified with the cluster CA: the token goes
    // over TLS only.
    let cluster = TestChain::new(dir.path(), &["127.0.0.1"]);
    let cluster_ca = dir.path().join("dcos-ca.crt");
    std::fs::write(&cluster_ca, &cluster.ca_pem).expect("cluster CA");
    let mesos = HttpServer::start_tls("200 OK", slaves, &cluster);

    let mut args = base_args(&ca, &root);
    args.extend(strings(&["--mesos-url", &mesos.url, "--yes"]));
    args.extend(strings(&[
        "--cluster-ca",
        &cluster_ca.display().to_string(),
    ]));
    args.extend(sshd.ssh_args());
    let out = Dcosreg::new(&args).env("DCOS_ACS_TOKEN", "s3cret").run();
    let text = stdout(&out);
    assert_status(&out, 1);

    let requests = mesos.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(requests[0].method, "GET");
    assert_eq!(requests[0].path, "/slaves");
    assert_eq!(requests[0].header("authorization"), Some("token=s3cret"));

    for agent in &agents {
        assert_eq!(
            line_for(&text, agent),
            format!("{agent}: installed (6 files written)")
        );
        assert_layout(&root, agent, &pem);
    }
    let refused = line_for(&text, &refusing);
    assert!(
        refused.contains("failed — ssh: connect to host")
            && refused.contains("Connection refused")
            && refused.ends_with("(2 attempts)"),
        "{refused}"
    );
    assert!(!root.join(&refusing).exists());
    let hostile = line_for(&text, &format!("-oProxyCommand=touch {}", pwned.display()));
    assert!(hostile.contains("failed — Mesos listed") && hostile.contains("not contacted"));
    assert!(
        !pwned.exists(),
        "a host name from Mesos was run as an ssh option"
    );
    assert!(
        text.ends_with("5 agents: 3 installed, 0 already installed, 2 failed\n"),
        "{text}"
    );
    assert_no_leftovers(&root);
    assert!(
        !text.contains('\u{1b}'),
        "no progress bar without a terminal: {text:?}"
    );

    // Second run over the reachable agents: nothing is written, every agent says so.
    let before: Vec<(u64, i64)> = agents
        .iter()
        .map(|a| {
            let meta = std::fs::metadata(root.join(a).join(LAYOUT[0])).expect("meta");
            (meta.ino(), meta.mtime_nsec())
        })
        .collect();
    let list = dir.path().join("agents.txt");
    std::fs::write(
        &list,
        format!("# reachable agents\n{}\n", agents.join("\n")),
    )
    .expect("list");
    let mut again = base_args(&ca, &root);
    again.extend(strings(&[
        "--agents-file",
        &list.display().to_string(),
        "--fingerprint",
        &openssl_fingerprint(&pem),
        "--format",
        "json",
    ]));
    again.extend(sshd.ssh_args());
    let out = dcosreg(&again);
    assert_status(&out, 0);
    let json = json(&out);
    assert_eq!(json["via"], "ssh");
    assert_eq!(json["summary"]["agents"], 3);
    assert_eq!(json["summary"]["already_installed"], 3);
    assert_eq!(json["summary"]["failed"], 0);
    for (index, agent) in agents.iter().enumerate() {
        let entry = &json["agents"][index];
        assert_eq!(entry["agent"], agent.as_str());
        assert_eq!(entry["status"], "already_installed");
        assert_eq!(entry["written"].as_array().map(Vec::len), Some(0));
        assert_eq!(entry["unchanged"].as_array().map(Vec::len), Some(6));
        let meta = std::fs::metadata(root.join(agent).join(LAYOUT[0])).expect("meta");
        assert_eq!(
            (meta.ino(), meta.mtime_nsec()),
            before[index],
            "{agent} was rewritten"
        );
    }
}

/// `openssl x509 -fingerprint -sha256` of the PEM, the oracle for the fingerprint we accept.
#[test]
fn a_different_ca_is_kept_unless_force_and_conntrack_is_persisted() {
    let agent = unique_loopback_ip();
    let sshd = Sshd::start(std::slice::from_ref(&agent));
    let dir = tempfile::tempdir().expect("tmp");
    let (ca, pem) = make_ca(dir.path(), "new-ca");
    let (_, old_pem) = make_ca(dir.path(), "old-ca");
    let root = dir.path().join("agents");
    let existing = root.join(&agent).join(LAYOUT[0]);
    std::fs::create_dir_all(existing.parent().expect("parent")).expect("mkdir");
    std::fs::write(&existing, &old_pem).expect("old CA");

    let mut args = base_args(&ca, &root);
    args.extend(strings(&[
        "--agent",
        &agent,
        "--yes",
        "--conntrack-liberal",
    ]));
    args.extend(sshd.ssh_args());
    let out = dcosreg(&args);
    let text = stdout(&out);
    assert_status(&out, 1);
    let line = line_for(&text, &agent);
    assert!(
        line.contains("holds a different CA — rerun with --force to replace it"),
        "{line}"
    );
    assert_eq!(std::fs::read_to_string(&existing).expect("read"), old_pem);

    args.push("--force".into());
    let out = dcosreg(&args);
    let text = stdout(&out);
    assert_status(&out, 0);
    let line = line_for(&text, &agent);
    assert!(line.starts_with(&format!("{agent}: installed")), "{line}");
    assert!(
        line.contains("live sysctl skipped because --remote-root is set"),
        "{line}"
    );
    assert_layout(&root, &agent, &pem);
    let sysctl = std::fs::read_to_string(
        root.join(&agent)
            .join("etc/sysctl.d/90-dcosreg-conntrack.conf"),
    )
    .expect("sysctl.d file");
    assert!(
        sysctl
            .lines()
            .any(|l| l == "net.netfilter.nf_conntrack_tcp_be_liberal = 1"),
        "{sysctl}"
    );
    assert_no_leftovers(&root);
}

#[test]
fn dry_run_lists_agents_and_actions_and_touches_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let (ca, _) = make_ca(dir.path(), "ca");
    let root = dir.path().join("agents");
    // Nothing listens here: a dry run must not connect at all.
    let agents = [unique_loopback_ip(), unique_loopback_ip()];
    let mut args = base_args(&ca, &root);
    for agent in &agents {
        args.extend(strings(&["--agent", agent]));
    }
    args.extend(strings(&[
        "--dry-run",
        "--conntrack-liberal",
        "--ssh-port",
        "1",
    ]));
    let started = Instant::now();
    let out = dcosreg(&args);
    let text = stdout(&out);
    assert_status(&out, 0);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(text.starts_with("dry run: 2 agent(s) via ssh, 16 at a time; nothing is changed\n"));
    for agent in &agents {
        assert_eq!(line_for(&text, agent), format!("{agent}: planned"));
        assert!(text.contains(&format!("-p 1 -- {agent} 'sh -c")), "{text}");
        // The agent's own trust, with the flags it would get.
        let run = format!(
            "copy the tool to a private directory, then run docker-dcosreg --root {}/{agent} --internal {INTERNAL} --external {EXTERNAL} trust {INTERNAL} {EXTERNAL} --ca-file CA --yes --no-verify --target docker,containers",
            root.display()
        );
        assert!(text.contains(&run), "missing {run} in\n{text}");
        let sysctl = format!(
            "write {}/{agent}/etc/sysctl.d/90-dcosreg-conntrack.conf",
            root.display()
        );
        assert!(text.contains(&sysctl), "missing {sysctl} in\n{text}");
    }
    assert!(text.contains("skip the live sysctl (--remote-root is set)"));
    assert!(!root.exists(), "a dry run wrote something");
}

#[test]
fn nothing_is_installed_without_confirmation() {
    let agent = unique_loopback_ip();
    let sshd = Sshd::start(std::slice::from_ref(&agent));
    let dir = tempfile::tempdir().expect("tmp");
    let (ca, pem) = make_ca(dir.path(), "ca");
    let root = dir.path().join("agents");
    let mut args = base_args(&ca, &root);
    args.extend(strings(&["--agent", &agent]));
    args.extend(sshd.ssh_args());
    let out = dcosreg(&args);
    assert_status(&out, 2);
    assert!(
        stderr(&out).contains("no terminal to ask on"),
        "{}",
        stderr(&out)
    );
    let mut wrong = args.clone();
    wrong.extend(strings(&["--fingerprint", &"AB".repeat(32)]));
    let out = dcosreg(&wrong);
    assert_status(&out, 2);
    assert!(
        stderr(&out).contains("matches no certificate"),
        "{}",
        stderr(&out)
    );
    assert!(
        !root.exists(),
        "something was installed without confirmation"
    );

    args.extend(strings(&[
        "--fingerprint",
        &openssl_fingerprint(&pem).to_lowercase().replace(':', ""),
    ]));
    let out = dcosreg(&args);
    assert_status(&out, 0);
    assert_layout(&root, &agent, &pem);
}

#[test]
fn an_agent_that_never_answers_is_cut_at_the_agent_timeout() {
    // Accepts TCP and then says nothing: ssh would wait for the banner.
    let ip = unique_loopback_ip();
    let silent = TcpListener::bind((ip.as_str(), 0)).expect("bind");
    let port = silent.local_addr().expect("addr").port();
    let held = std::thread::spawn(move || {
        let first = silent.accept();
        std::thread::sleep(Duration::from_secs(8));
        drop(first);
    });
    let dir = tempfile::tempdir().expect("tmp");
    let (ca, _) = make_ca(dir.path(), "ca");
    let mut args = base_args(&ca, &dir.path().join("agents"));
    args.extend(strings(&[
        "--timeout",
        "20s",
        "--agent",
        &ip,
        "--ssh-port",
        &port.to_string(),
        "--agent-timeout",
        "2s",
        "--yes",
    ]));
    let started = Instant::now();
    let out = dcosreg(&args);
    let elapsed = started.elapsed();
    assert_status(&out, 1);
    assert!(
        line_for(&stdout(&out), &ip)
            .contains("no result within 2s — check the agent, or raise --agent-timeout"),
        "{}",
        stdout(&out)
    );
    assert!(elapsed < Duration::from_secs(7), "took {elapsed:?}");
    drop(held);
}

#[test]
fn bad_input_is_a_usage_error_with_nothing_done() {
    let dir = tempfile::tempdir().expect("tmp");
    let (ca, _) = make_ca(dir.path(), "ca");
    let root = dir.path().join("agents");
    let closed = format!("http://127.0.0.1:{}", support::free_port("127.0.0.1"));
    for (extra, expected) in [
        (
            vec!["--agent=-oProxyCommand=x"],
            "is not a host name or IP address",
        ),
        (vec!["--agent", "h", "--parallel", "0"], "--parallel 0"),
        (
            vec!["--mesos-url", closed.as_str()],
            "cannot reach the Mesos master",
        ),
    ] {
        let mut args = base_args(&ca, &root);
        args.extend(strings(&extra));
        args.push("--yes".into());
        let out = dcosreg(&args);
        assert_status_for(&out, 2, format_args!("{extra:?}"));
        let err = stderr(&out);
        assert!(
            err.starts_with("docker-dcosreg: ") && err.contains(expected),
            "{err}"
        );
        assert!(!root.exists());
    }
    // A duration is parsed with the command line: one line naming the flag and the form.
    let mut args = base_args(&ca, &root);
    args.extend(strings(&[
        "--agent",
        "h",
        "--agent-timeout",
        "soon",
        "--yes",
    ]));
    let out = dcosreg(&args);
    assert_status(&out, 2);
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("docker-dcosreg: invalid value 'soon' for '--agent-timeout <DUR>'")
            && err.contains("use a duration such as 500ms or 2s"),
        "{err}"
    );
    assert!(!root.exists());
}

/// Run a generated shell command the way the scheduler would, until it prints `done 0`
/// (it then sleeps forever, as a long-running task must), and stop it.
fn run_task_command(command: &str, env: &[(&str, &Path)]) -> String {
    let mut child = Command::new("sh");
    child.args(["-c", command]);
    for (name, value) in env {
        child.env(name, value);
    }
    // Its own process group, so that stopping it also stops the `sleep` it started.
    let mut child = child
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("sh");
    let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut all = String::new();
        let mut line = String::new();
        while reader.read_line(&mut line).unwrap_or(0) > 0 {
            all.push_str(&line);
            if line.starts_with("dcosreg: done") {
                break;
            }
            line.clear();
        }
        let _ = tx.send(all);
    });
    let output = rx.recv_timeout(Duration::from_secs(10)).unwrap_or_default();
    let _ = Command::new("kill")
        .arg("--")
        .arg(format!("-{}", child.id()))
        .status();
    let _ = child.kill();
    let _ = child.wait();
    output
}

#[test]
fn marathon_app_runs_once_per_agent_and_its_command_installs_the_ca() {
    let dir = tempfile::tempdir().expect("tmp");
    let (ca, pem) = make_ca(dir.path(), "ca");
    let agents: Vec<String> = (0..4).map(|_| unique_loopback_ip()).collect();
    let mut args = strings(&["--internal", INTERNAL, "--external", EXTERNAL, "rollout"]);
    args.extend(strings(&[
        "--via",
        "marathon",
        "--ca-file",
        &ca.display().to_string(),
        "--yes",
    ]));
    for agent in &agents {
        args.extend(strings(&["--agent", agent]));
    }
    let out = dcosreg(&args);
    assert_status(&out, 0);
    let app = json(&out);
    assert_eq!(app["id"], "/dcosreg-trust");
    assert_eq!(app["instances"], 4);
    assert_eq!(
        app["constraints"],
        serde_json::json!([["hostname", "UNIQUE"]])
    );
    assert_eq!(app["user"], "root");
    assert_eq!(
        app["acceptedResourceRoles"],
        serde_json::json!(["*", "slave_public"]),
        "public agents are agents too"
    );
    assert_eq!(app["container"]["type"], "MESOS");
    assert!(app["container"].get("docker").is_none(), "no image to pull");
    let volumes = app["container"]["volumes"].as_array().expect("volumes");
    assert_eq!(volumes.len(), 1);
    assert_eq!(volumes[0]["hostPath"], "/etc");
    assert_eq!(volumes[0]["containerPath"], "host/etc");
    assert_eq!(volumes[0]["mode"], "RW");
    assert!(app["cpus"].as_f64().expect("cpus") > 0.0);
    assert!(app["mem"].as_f64().expect("mem") >= 32.0);

    // The task's command, run as Mesos would: cwd and $MESOS_SANDBOX the sandbox, the host
    // volume mounted at sandbox/host/etc (here a plain directory standing in for it).
    let sandbox = dir.path().join("sandbox");
    std::fs::create_dir_all(sandbox.join("host/etc")).expect("sandbox");
    let cmd = app["cmd"].as_str().expect("cmd");
    let output = run_task_command(cmd, &[("MESOS_SANDBOX", &sandbox)]);
    assert!(output.ends_with("dcosreg: done 0\n"), "{output}");
    for file in LAYOUT {
        let got = std::fs::read_to_string(sandbox.join("host").join(file)).expect(file);
        assert_eq!(got, pem, "{file}");
    }
}

#[test]
fn marathon_url_receives_the_app_with_the_dcos_token() {
    let dir = tempfile::tempdir().expect("tmp");
    let (ca, _) = make_ca(dir.path(), "ca");
    let cluster = TestChain::new(dir.path(), &["127.0.0.1"]);
    let cluster_ca = dir.path().join("dcos-ca.crt");
    std::fs::write(&cluster_ca, &cluster.ca_pem).expect("cluster CA");
    let marathon = HttpServer::start_tls(
        "201 Created",
        r#"{"id":"/dcosreg-trust","deploymentId":"5ed4c0c5-9ff8-4a6f-a0cd-f57f59a34b43"}"#.into(),
        &cluster,
    );
    let agent = unique_loopback_ip();
    let mut args = strings(&["--internal", INTERNAL, "--external", EXTERNAL, "rollout"]);
    args.extend(strings(&[
        "--via",
        "marathon",
        "--marathon-url",
        &marathon.url,
        "--auth-token",
        "t0ken",
        "--cluster-ca",
        &cluster_ca.display().to_string(),
        "--agent",
        &agent,
        "--ca-file",
        &ca.display().to_string(),
        "--yes",
    ]));
    let out = dcosreg(&args);
    assert_status(&out, 0);
    assert!(
        stdout(&out).contains("deployment 5ed4c0c5-9ff8-4a6f-a0cd-f57f59a34b43"),
        "{}",
        stdout(&out)
    );
    let requests = marathon.requests();
    assert_eq!(requests.len(), 1);
    let put = &requests[0];
    assert_eq!(put.method, "PUT");
    assert_eq!(put.path, "/v2/apps/dcosreg-trust");
    assert_eq!(put.header("authorization"), Some("token=t0ken"));
    assert_eq!(put.header("content-type"), Some("application/json"));
    let sent: serde_json::Value = serde_json::from_slice(&put.body).expect("body JSON");
    // What was sent is exactly what is printed without --marathon-url.
    let without_url: Vec<String> = args
        .iter()
        .filter(|a| **a != marathon.url && *a != "--marathon-url")
        .cloned()
        .collect();
    let printed = dcosreg(&without_url);
    let printed = json(&printed);
    assert_eq!(sent, printed);
    assert_eq!(sent["instances"], 1);
}

#[test]
fn kubernetes_daemonset_mounts_host_paths_and_its_init_command_installs_the_ca() {
    let dir = tempfile::tempdir().expect("tmp");
    let (ca, pem) = make_ca(dir.path(), "ca");
    let mut args = strings(&["--internal", INTERNAL, "--external", EXTERNAL, "rollout"]);
    args.extend(strings(&[
        "--via",
        "kubernetes",
        "--image",
        "registry.example/tools/busybox:1.36",
        "--ca-file",
        &ca.display().to_string(),
        "--yes",
        "--conntrack-liberal",
    ]));
    let out = dcosreg(&args);
    assert_status(&out, 0);
    let ds = json(&out);
    assert_eq!(ds["apiVersion"], "apps/v1");
    assert_eq!(ds["kind"], "DaemonSet");
    assert_eq!(ds["metadata"]["name"], "dcosreg-trust");
    let selector = &ds["spec"]["selector"]["matchLabels"];
    let pod = &ds["spec"]["template"];
    for (key, value) in selector.as_object().expect("selector") {
        assert_eq!(
            &pod["metadata"]["labels"][key], value,
            "selector must match the pod"
        );
    }
    let spec = &pod["spec"];
    assert_eq!(
        spec["tolerations"],
        serde_json::json!([{"operator": "Exists"}])
    );
    assert_eq!(
        spec["hostNetwork"], true,
        "conntrack is per network namespace"
    );
    let init = &spec["initContainers"][0];
    assert_eq!(init["image"], "registry.example/tools/busybox:1.36");
    assert_eq!(init["securityContext"]["privileged"], true);
    assert_eq!(init["env"][0]["name"], "DCOSREG_HOST_ROOT");
    assert_eq!(init["env"][0]["value"], "/host");
    let volumes = spec["volumes"].as_array().expect("volumes");
    let mounts = init["volumeMounts"].as_array().expect("mounts");
    let mut host_paths = Vec::new();
    for volume in volumes {
        let name = volume["name"].as_str().expect("name");
        let host = volume["hostPath"]["path"].as_str().expect("hostPath");
        assert_eq!(volume["hostPath"]["type"], "DirectoryOrCreate");
        let mount = mounts
            .iter()
            .find(|m| m["name"] == name)
            .unwrap_or_else(|| panic!("volume {name} is not mounted"));
        assert_eq!(mount["mountPath"], format!("/host{host}"));
        host_paths.push(host.to_string());
    }
    host_paths.sort();
    assert_eq!(
        host_paths,
        [
            "/etc/containers/certs.d",
            "/etc/docker/certs.d",
            "/etc/sysctl.d"
        ]
    );
    let main = &spec["containers"][0];
    assert_eq!(main["command"][0], "sh");
    assert!(main.get("volumeMounts").is_none());

    // The init command against a stand-in host root (what /host is in the pod), in a network
    // namespace of its own (`unshare -n`): the live sysctl is per network namespace, so it
    // really runs without touching this machine's setting.
    assert_eq!(init["command"][0], "sh");
    assert_eq!(init["command"][1], "-c");
    let host = dir.path().join("node");
    std::fs::create_dir_all(&host).expect("node");
    let script = init["command"][2].as_str().expect("script");
    require_tool("unshare");
    let output = run_task_command(
        &format!(
            "exec unshare -n sh -c {}",
            shell_quote(&format!("{script}\nsleep 600"))
        ),
        &[("DCOSREG_HOST_ROOT", &host)],
    );
    assert!(output.ends_with("dcosreg: done 0\n"), "{output}");
    assert!(output.contains("dcosreg: sysctl set\n"), "{output}");
    for file in LAYOUT {
        let got = std::fs::read_to_string(host.join(file)).expect(file);
        assert_eq!(got, pem, "{file}");
    }
    assert!(host
        .join("etc/sysctl.d/90-dcosreg-conntrack.conf")
        .is_file());
}

#[test]
fn on_a_terminal_it_asks_and_draws_a_progress_bar() {
    // `script` (util-linux) gives the command a pseudo-terminal; the "y" typed on it confirms.
    let script = require_tool("script");
    let agents = [unique_loopback_ip(), unique_loopback_ip()];
    let sshd = Sshd::start(&agents);
    let dir = tempfile::tempdir().expect("tmp");
    let (ca, pem) = make_ca(dir.path(), "ca");
    let root = dir.path().join("agents");
    let mut args = vec![support::bin_path().display().to_string()];
    args.extend(base_args(&ca, &root));
    for agent in &agents {
        args.extend(strings(&["--agent", agent]));
    }
    args.extend(sshd.ssh_args());
    let command_line: Vec<String> = args.iter().map(|a| shell_quote(a)).collect();
    let mut on_a_terminal = Command::new(script);
    on_a_terminal.args(["-qec", &command_line.join(" "), "/dev/null"]);
    let out = Dcosreg::via(on_a_terminal)
        .home(dir.path())
        .stdin("y\n")
        .run();
    let text = stdout(&out);
    assert_status(&out, 0);
    assert!(
        text.contains("Trust these certificates for the endpoints above? [y/N]"),
        "{text}"
    );
    assert!(text.contains("1/2 agents"), "no progress bar in {text:?}");
    for agent in &agents {
        assert!(
            text.contains(&format!("{agent}: installed (6 files written)")),
            "{text:?}"
        );
        assert_layout(&root, agent, &pem);
    }
    assert!(text.contains("2 agents: 2 installed, 0 already installed, 0 failed"));
}

#[test]
fn without_a_ca_file_the_ca_comes_from_the_registry_handshake() {
    // A real docker-registry on loopback serving a self-signed certificate for the internal
    // endpoint; the external endpoint refuses. The CA is taken from the handshake (trust's
    // shared source), pinned by --fingerprint, and installed for the internal endpoint only.
    let registry_ip = unique_loopback_ip();
    let refusing_ip = unique_loopback_ip();
    let agent = unique_loopback_ip();
    let dir = tempfile::tempdir().expect("tmp");
    let cert = Spec::names(&[])
        .ip_sans(&[&registry_ip])
        .cn(&registry_ip)
        .self_signed();
    cert.write_with_key(dir.path(), "domain.crt", "domain.key");
    let pem = cert.pem().replace("\r\n", "\n");
    let port = support::free_port(&registry_ip);
    let _registry = support::Registry::start(
        &registry_ip,
        port,
        &dir.path().join("domain.crt"),
        &dir.path().join("domain.key"),
    );
    let internal = format!("{registry_ip}:{port}");
    let external = format!("{refusing_ip}:{}", support::free_port(&refusing_ip));
    let sshd = Sshd::start(std::slice::from_ref(&agent));
    let root = dir.path().join("agents");
    let mut args = strings(&["--internal", &internal, "--external", &external, "rollout"]);
    args.extend(strings(&[
        "--agent",
        &agent,
        "--remote-root",
        &format!("{}/%h", root.display()),
        "--agent-binary",
        &agent_binary().display().to_string(),
        "--target",
        "docker,containers",
        "--fingerprint",
        &openssl_fingerprint(&pem),
    ]));
    args.extend(sshd.ssh_args());
    let out = dcosreg(&args);
    let text = stdout(&out);
    assert_status(&out, 0);
    assert!(
        stderr(&out).contains(&format!("{external}: no CA, nothing is installed for it")),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        line_for(&text, &agent),
        format!("{agent}: installed (2 files written)")
    );
    for base in ["etc/docker/certs.d", "etc/containers/certs.d"] {
        let path = root.join(&agent).join(base).join(&internal).join("ca.crt");
        assert_eq!(std::fs::read_to_string(&path).expect("ca.crt"), pem);
        assert!(!root.join(&agent).join(base).join(&external).exists());
    }
    // Go oracle: skopeo (crypto/x509) accepts the registry with what was installed, and
    // rejects it with an empty certs directory.
    let installed = root
        .join(&agent)
        .join("etc/containers/certs.d")
        .join(&internal);
    let (accepted, message) = support::skopeo_verdict(&internal, &installed);
    assert!(accepted, "skopeo rejected the rolled-out CA: {message}");
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).expect("empty");
    let (accepted, message) = support::skopeo_verdict(&internal, &empty);
    assert!(!accepted && message.contains("x509"), "{message}");
}

#[test]
fn credentials_archive_reaches_every_agent_private_and_idempotent() {
    let agents = [unique_loopback_ip(), unique_loopback_ip()];
    let sshd = Sshd::start(&agents);
    let dir = tempfile::tempdir().expect("tmp");
    let (ca, _) = make_ca(dir.path(), "ca");
    let root = dir.path().join("agents");
    // The archive as a user makes it; the CI variables stand in for a stored login.
    let archive = dir.path().join("docker.tar.gz");
    let export = Dcosreg::new(strings(&[
        "--internal",
        INTERNAL,
        "--external",
        EXTERNAL,
        "credentials",
        "export",
        "--as",
        "dcos-archive",
        "--out",
        &archive.display().to_string(),
    ]))
    .env("DCOSREG_USERNAME", "ci")
    .env("DCOSREG_PASSWORD", "rollout-secret")
    .run();
    assert_status(&export, 0);
    let bytes = std::fs::read(&archive).expect("archive");

    let mut args = base_args(&ca, &root);
    args.extend(strings(&[
        "--credentials-archive",
        &archive.display().to_string(),
        "--yes",
    ]));
    for agent in &agents {
        args.extend(strings(&["--agent", agent]));
    }
    args.extend(sshd.ssh_args());
    let out = dcosreg(&args);
    let text = stdout(&out);
    assert_status(&out, 0);
    assert!(!text.contains("rollout-secret") && !stderr(&out).contains("rollout-secret"));
    for agent in &agents {
        assert!(line_for(&text, agent).starts_with(&format!("{agent}: installed")));
        let installed = root.join(agent).join("etc/docker.tar.gz");
        assert_eq!(std::fs::read(&installed).expect("installed archive"), bytes);
        let mode = mode(&installed);
        assert_eq!(mode, 0o600, "{}", installed.display());
    }
    // Rerun: nothing written anywhere.
    let out = dcosreg(&args);
    let text = stdout(&out);
    assert_status(&out, 0);
    for agent in &agents {
        assert_eq!(
            line_for(&text, agent),
            format!("{agent}: already installed")
        );
    }
    assert_no_leftovers(&root);

    // Not a .tar.gz, or another transport: refused before anything is done.
    let mut bad = args.clone();
    let at = bad
        .iter()
        .position(|a| a == "--credentials-archive")
        .unwrap()
        + 1;
    bad[at] = ca.display().to_string();
    assert_status(&dcosreg(&bad), 2);
    let mut marathon = strings(&[
        "--internal",
        INTERNAL,
        "rollout",
        "--via",
        "marathon",
        "--agent",
        "127.0.0.1",
        "--ca-file",
        &ca.display().to_string(),
        "--credentials-archive",
        &archive.display().to_string(),
    ]);
    marathon.push("--yes".into());
    let out = dcosreg(&marathon);
    assert_status(&out, 2);
    assert!(stdout(&out).is_empty(), "no app printed with the password");
}

/// The DC/OS token travels only over https verified with the cluster CA: an http URL is
/// refused before anything connects, an https master whose certificate the given trust does
/// not verify gets no request, and the verified one gets `Authorization: token=…`.
#[test]
fn the_dcos_token_goes_only_to_a_verified_master() {
    let dir = tempfile::tempdir().expect("tmp");
    let (ca, _) = make_ca(dir.path(), "ca");
    let agent = unique_loopback_ip();
    let slaves = include_str!("data/mesos-slaves.json")
        .replace("@AGENT1@", &agent)
        .replace("@AGENT2@", &unique_loopback_ip())
        .replace("@AGENT3@", &unique_loopback_ip())
        .replace("@REFUSING@", &unique_loopback_ip())
        .replace("@PWNED@", &dir.path().join("pwned").display().to_string());
    let rollout = |mesos: &str, extra: &[&str]| {
        let mut args = strings(&["--internal", INTERNAL, "--external", EXTERNAL, "rollout"]);
        args.extend(strings(&["--mesos-url", mesos, "--auth-token", "t0ken"]));
        args.extend(strings(&[
            "--ca-file",
            &ca.display().to_string(),
            "--dry-run",
        ]));
        args.extend(strings(extra));
        dcosreg(&args)
    };

    let cleartext = HttpServer::start("200 OK", slaves.clone());
    let out = rollout(&cleartext.url, &[]);
    assert_status(&out, 2);
    assert!(stderr(&out).contains("cleartext"), "{}", stderr(&out));
    assert!(cleartext.requests().is_empty(), "the http master was asked");
    let marathon = HttpServer::start("201 Created", "{}".into());
    let mut args = strings(&["--internal", INTERNAL, "--external", EXTERNAL, "rollout"]);
    args.extend(strings(&[
        "--via",
        "marathon",
        "--marathon-url",
        &marathon.url,
    ]));
    args.extend(strings(&["--auth-token", "t0ken", "--agent", &agent]));
    args.extend(strings(&["--ca-file", &ca.display().to_string(), "--yes"]));
    let out = dcosreg(&args);
    assert_status(&out, 2);
    assert!(
        marathon.requests().is_empty(),
        "the http Marathon was asked"
    );

    let cluster = TestChain::new(dir.path(), &["127.0.0.1"]);
    let master = HttpServer::start_tls("200 OK", slaves, &cluster);
    // Not verified by the system roots: refused, with Go's text and the fix.
    let out = rollout(&master.url, &[]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("x509: certificate signed by unknown authority")
            && stderr(&out).contains("--cluster-ca"),
        "{}",
        stderr(&out)
    );
    assert!(
        master.requests().is_empty(),
        "the unverified master got a request"
    );
    // Verified with the cluster CA: the token reaches it.
    let cluster_ca = dir.path().join("dcos-ca.crt");
    std::fs::write(&cluster_ca, &cluster.ca_pem).expect("cluster CA");
    let out = rollout(
        &master.url,
        &["--cluster-ca", &cluster_ca.display().to_string()],
    );
    // Exit 1: the listing holds a hostile name, reported and never contacted.
    assert_status(&out, 1);
    assert!(
        stdout(&out).starts_with("dry run: ")
            && stdout(&out).contains(&format!("{agent}: planned")),
        "{}",
        stdout(&out)
    );
    let requests = master.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(requests[0].header("authorization"), Some("token=t0ken"));
}

/// `rollout --add` (a CA rotation on the agents, as `trust --add`): where an agent holds a
/// different ca.crt, the new CA goes beside it as `ca-<fingerprint>.crt` and both stay; a
/// second run finds it there.
#[test]
fn add_installs_the_new_ca_beside_the_old_one_on_every_agent() {
    let agent = unique_loopback_ip();
    let sshd = Sshd::start(std::slice::from_ref(&agent));
    let dir = tempfile::tempdir().expect("tmp");
    let (ca, pem) = make_ca(dir.path(), "new-ca");
    let (_, old_pem) = make_ca(dir.path(), "old-ca");
    let root = dir.path().join("agents");
    let existing = root.join(&agent).join(LAYOUT[0]);
    std::fs::create_dir_all(existing.parent().expect("parent")).expect("mkdir");
    std::fs::write(&existing, &old_pem).expect("old CA");
    let tag: String = openssl_fingerprint(&pem)
        .replace(':', "")
        .to_ascii_lowercase()
        .chars()
        .take(16)
        .collect();

    let mut args = base_args(&ca, &root);
    args.extend(strings(&["--agent", &agent, "--yes", "--add"]));
    args.extend(sshd.ssh_args());
    for run in 0..2 {
        let out = dcosreg(&args);
        assert_status(&out, 0);
        let text = stdout(&out);
        let line = line_for(&text, &agent);
        if run == 1 {
            assert!(
                line.starts_with(&format!("{agent}: already installed")),
                "{line}"
            );
        }
        assert_eq!(std::fs::read_to_string(&existing).expect("read"), old_pem);
        let beside = existing.with_file_name(format!("ca-{tag}.crt"));
        assert_eq!(
            std::fs::read_to_string(&beside)
                .unwrap_or_else(|e| panic!("{}: {e}", beside.display())),
            pem
        );
        // Where nothing was installed, the CA goes to ca.crt as always.
        let fresh = root.join(&agent).join(LAYOUT[2]);
        assert_eq!(std::fs::read_to_string(&fresh).expect("read"), pem);
    }
    assert_no_leftovers(&root);
}

/// `rollout --server-cert DIR`: the registry's own pair reaches every agent where the guide
/// puts it (domain.crt 0644, domain.key 0600), a rerun writes nothing, the key never shows
/// in any output, and the Marathon and Kubernetes ways are refused (they would carry it).
#[test]
fn server_cert_reaches_every_agent_private_and_idempotent() {
    let agents = [unique_loopback_ip(), unique_loopback_ip()];
    let sshd = Sshd::start(&agents);
    let dir = tempfile::tempdir().expect("tmp");
    let pair = dir.path().join("pair");
    let made = dcosreg(&strings(&[
        "--internal",
        INTERNAL,
        "--external",
        EXTERNAL,
        "cert",
        "--out",
        &pair.display().to_string(),
    ]));
    assert_status(&made, 0);
    let cert = std::fs::read(pair.join("domain.crt")).expect("domain.crt");
    let key = std::fs::read(pair.join("domain.key")).expect("domain.key");
    let key_line = String::from_utf8_lossy(&key)
        .lines()
        .nth(1)
        .expect("a key body line")
        .to_string();
    let root = dir.path().join("agents");
    let mut args = base_args(&pair.join("ca.crt"), &root);
    args.extend(strings(&[
        "--server-cert",
        &pair.display().to_string(),
        "--yes",
    ]));
    for agent in &agents {
        args.extend(strings(&["--agent", agent]));
    }
    args.extend(sshd.ssh_args());
    let no_key = |out: &std::process::Output| {
        assert!(
            !stdout(out).contains(&key_line) && !stderr(out).contains(&key_line),
            "the key leaked into the output"
        );
    };
    let out = dcosreg(&args);
    assert_status(&out, 0);
    no_key(&out);
    for agent in &agents {
        let base = root.join(agent).join("etc/privateregistry/certs");
        assert_eq!(std::fs::read(base.join("domain.crt")).expect("crt"), cert);
        assert_eq!(std::fs::read(base.join("domain.key")).expect("key"), key);
        assert_eq!(mode(&base.join("domain.crt")), 0o644);
        assert_eq!(mode(&base.join("domain.key")), 0o600);
    }
    let out = dcosreg(&args);
    assert_status(&out, 0);
    no_key(&out);
    for agent in &agents {
        assert_eq!(
            line_for(&stdout(&out), agent),
            format!("{agent}: already installed")
        );
    }
    assert_no_leftovers(&root);
    // Another path; and the dry run says where, without the key.
    let mut elsewhere = args.clone();
    elsewhere.extend(strings(&[
        "--server-cert-path",
        "/opt/registry/tls",
        "--dry-run",
    ]));
    let out = dcosreg(&elsewhere);
    assert_status(&out, 0);
    no_key(&out);
    assert!(
        stdout(&out).contains("/opt/registry/tls/domain.key (mode 0600"),
        "{}",
        stdout(&out)
    );
    // Marathon would carry the key in its app: refused before anything is done.
    let mut marathon = args.clone();
    marathon.extend(strings(&["--via", "marathon"]));
    let out = dcosreg(&marathon);
    assert_status(&out, 2);
    no_key(&out);
}

/// Every entry under `dir`: relative path → what it is (a file's mode and bytes, a link's
/// target, a directory's mode), to compare whole trees.
fn tree(dir: &Path) -> std::collections::BTreeMap<PathBuf, String> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(at) = stack.pop() {
        for entry in std::fs::read_dir(&at).expect("read_dir") {
            let path = entry.expect("entry").path();
            let meta = std::fs::symlink_metadata(&path).expect("lstat");
            let what = if meta.is_symlink() {
                format!(
                    "link -> {}",
                    std::fs::read_link(&path).expect("readlink").display()
                )
            } else if meta.is_dir() {
                stack.push(path.clone());
                format!("dir {:o}", meta.permissions().mode() & 0o7777)
            } else {
                format!(
                    "file {:o} {}",
                    meta.permissions().mode() & 0o7777,
                    String::from_utf8_lossy(&std::fs::read(&path).expect("read"))
                )
            };
            out.insert(
                path.strip_prefix(dir).expect("under dir").to_path_buf(),
                what,
            );
        }
    }
    out
}

/// A DC/OS agent's stores, staged: containerd, containers, BuildKit, a Debian system
/// store, Mesos (UCR).
fn stage_agent_root(root: &Path) {
    for dir in [
        "etc/containerd",
        "etc/containers",
        "etc/buildkit",
        "etc/ssl/certs",
        "usr/local/share/ca-certificates",
        "var/lib/dcos",
    ] {
        std::fs::create_dir_all(root.join(dir)).expect("stage");
    }
    std::fs::write(
        root.join("etc/containerd/config.toml"),
        "version = 2\n# the agent's own settings\n",
    )
    .expect("config.toml");
}

/// One trust implementation (issue 32): each agent runs the tool's own `trust`, so an agent
/// with containerd, containers, BuildKit, a system store and Mesos ends up exactly as a local
/// `trust --root` with the same flags leaves the same staged root: every store file, link
/// and the manifest. The agent's report is its own trust's (files, restart list).
/// `rollout --untrust` then undoes it on every agent through the agent's manifest, as a
/// local `untrust` does.
#[test]
fn each_agent_runs_trust_itself_and_rollout_untrust_undoes_it() {
    let agents = [unique_loopback_ip(), unique_loopback_ip()];
    let sshd = Sshd::start(&agents);
    let dir = tempfile::tempdir().expect("tmp");
    let (ca, _) = make_ca(dir.path(), "agent-ca");
    let root = dir.path().join("agents");
    let local = dir.path().join("local");
    stage_agent_root(&local);
    for agent in &agents {
        stage_agent_root(&root.join(agent));
    }
    let before = tree(&local);
    let globals = strings(&[
        "--internal",
        INTERNAL,
        "--external",
        EXTERNAL,
        "--format",
        "json",
    ]);

    // The oracle: trust itself on a local copy of the staged root.
    let mut trust = globals.clone();
    trust.extend(strings(&["--root", &local.display().to_string(), "trust"]));
    trust.extend(strings(&["--ca-file", &ca.display().to_string()]));
    trust.extend(strings(&["--yes", "--no-verify"]));
    let out = dcosreg(&trust);
    assert_status(&out, 0);
    let local_trust = json(&out);
    let written: usize = local_trust["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter(|s| s["action"] == "create" || s["action"] == "update")
        .count();
    let targets = local_trust["targets"].as_array().expect("targets").len();
    assert_eq!(targets, 6, "every store is staged: {local_trust}");
    let trusted = tree(&local);

    // No --target: each agent's own detection, as trust's default.
    let mut rollout = globals.clone();
    rollout.extend(strings(&[
        "rollout",
        "--ca-file",
        &ca.display().to_string(),
    ]));
    rollout.extend(strings(&[
        "--remote-root",
        &format!("{}/%h", root.display()),
        "--agent-binary",
        &agent_binary().display().to_string(),
        "--yes",
    ]));
    for agent in &agents {
        rollout.extend(strings(&["--agent", agent]));
    }
    rollout.extend(sshd.ssh_args());
    let out = dcosreg(&rollout);
    assert_status(&out, 0);
    let report = json(&out);
    for (index, agent) in agents.iter().enumerate() {
        let entry = &report["agents"][index];
        assert_eq!(entry["status"], "installed", "{entry}");
        assert_eq!(
            entry["written"].as_array().map(Vec::len),
            Some(written),
            "{entry}"
        );
        assert_eq!(entry["restart"], local_trust["restart"], "{entry}");
        let agent_tree = tree(&root.join(agent));
        assert_eq!(
            agent_tree.keys().collect::<Vec<_>>(),
            trusted.keys().collect::<Vec<_>>(),
            "{agent}: the same files as a local trust"
        );
        assert_eq!(
            agent_tree, trusted,
            "{agent}: the same contents as a local trust"
        );
    }
    // The same again: every agent's trust reports nothing to write.
    let out = dcosreg(&rollout);
    assert_status(&out, 0);
    let again = json(&out);
    assert_eq!(again["summary"]["already_installed"], 2, "{again}");

    // Undo: the local untrust is the oracle again.
    let mut untrust = globals.clone();
    untrust.extend(strings(&[
        "--root",
        &local.display().to_string(),
        "untrust",
    ]));
    let out = dcosreg(&untrust);
    assert_status(&out, 0);
    let undone = tree(&local);
    let mut rollout_untrust = globals.clone();
    rollout_untrust.extend(strings(&[
        "rollout",
        "--untrust",
        "--remote-root",
        &format!("{}/%h", root.display()),
        "--agent-binary",
        &agent_binary().display().to_string(),
    ]));
    for agent in &agents {
        rollout_untrust.extend(strings(&["--agent", agent]));
    }
    rollout_untrust.extend(sshd.ssh_args());
    let out = dcosreg(&rollout_untrust);
    assert_status(&out, 0);
    let report = json(&out);
    assert_eq!(report["summary"]["removed"], 2, "{report}");
    for agent in &agents {
        assert_eq!(
            tree(&root.join(agent)),
            undone,
            "{agent}: as a local untrust"
        );
    }
    // What untrust leaves is trust's own state directory; every store is as before.
    let stores = |t: &std::collections::BTreeMap<PathBuf, String>| {
        t.iter()
            .filter(|(p, _)| !p.starts_with("var/lib/docker-dcosreg"))
            .map(|(p, w)| (p.clone(), w.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        stores(&undone),
        stores(&before),
        "untrust restores the stores"
    );
    let text = {
        let mut args = rollout_untrust.clone();
        args.retain(|a| a != "json" && a != "--format");
        stdout(&dcosreg(&args))
    };
    for agent in &agents {
        assert_eq!(
            line_for(&text, agent),
            format!("{agent}: nothing to remove")
        );
    }
}

/// A binary that does not run on the agent (here: an ELF header and nothing else, as an
/// older glibc refuses a newer build) fails that agent with the agent's own words and the
/// way out, and leaves nothing behind.
#[test]
fn an_agent_binary_that_does_not_run_there_is_reported_with_the_fix() {
    let agent = unique_loopback_ip();
    let sshd = Sshd::start(std::slice::from_ref(&agent));
    let dir = tempfile::tempdir().expect("tmp");
    let (ca, _) = make_ca(dir.path(), "ca");
    let root = dir.path().join("agents");
    let broken = dir.path().join("docker-dcosreg");
    let mut elf = b"\x7fELF\x02\x01\x01".to_vec();
    elf.resize(64, 0);
    std::fs::write(&broken, elf).expect("broken binary");
    let mut args = base_args(&ca, &root);
    args.retain(|a| a != &agent_binary().display().to_string());
    let at = args
        .iter()
        .position(|a| a == "--agent-binary")
        .expect("flag");
    args.insert(at + 1, broken.display().to_string());
    args.extend(strings(&["--agent", &agent, "--yes"]));
    args.extend(sshd.ssh_args());
    let out = dcosreg(&args);
    assert_status(&out, 1);
    let line = line_for(&stdout(&out), &agent).to_string();
    assert!(
        line.contains("failed — the tool does not run here:") && line.contains("glibc-2.17 build"),
        "{line}"
    );
    assert!(
        !root.join(&agent).join("etc/docker").exists(),
        "nothing installed: {line}"
    );
}
