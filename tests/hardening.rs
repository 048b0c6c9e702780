//! Hostile roots, manifests, files and pipes (issue "hardening"): each test builds the
//! hostile thing itself, under a temporary root, and asserts the promise holds. No network
//! beyond loopback peers this process starts.

mod support;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::certs::Spec;
use support::*;

/// A self-signed CA as PEM in `dir/ca.crt`; returns its path.
fn ca_file(dir: &Path, cn: &str) -> PathBuf {
    Spec::names(&["registry.test"])
        .cn(cn)
        .ca_true()
        .self_signed()
        .write(dir, "ca.crt")
}

fn in_root(root: &Path, args: &[&str]) -> std::process::Output {
    let mut full = vec!["--root", root.to_str().unwrap()];
    full.extend_from_slice(args);
    dcosreg(&full)
}

/// `trust` offline: the CA from a file, no verification handshake.
fn trust(root: &Path, ca: &Path, endpoint: &str, targets: &str) -> std::process::Output {
    in_root(
        root,
        &[
            "trust",
            endpoint,
            "--ca-file",
            ca.to_str().unwrap(),
            "--yes",
            "--no-verify",
            "--target",
            targets,
        ],
    )
}

/// Every path under `dir` (files, links and directories).
fn tree(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if entry.file_type().unwrap().is_dir() {
                stack.push(path.clone());
            }
            out.push(path);
        }
    }
    out.sort();
    out
}

// Class 1: a link planted under --root never leads a write or a delete outside it.
#[test]
fn trust_and_untrust_stay_inside_a_root_with_planted_links() {
    let work = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let ca = ca_file(work.path(), "planted-link CA");
    let r = root.path();
    std::fs::create_dir_all(r.join("etc/docker")).unwrap();
    std::fs::create_dir_all(r.join("etc/containerd")).unwrap();
    // Absolute and relative links that point out of the root.
    std::os::unix::fs::symlink(outside.path(), r.join("etc/docker/certs.d")).unwrap();
    let climb = format!("../../../../../../../..{}", outside.path().display());
    std::os::unix::fs::symlink(&climb, r.join("etc/containerd/certs.d")).unwrap();

    let out = trust(r, &ca, "10.1.2.3:5000", "docker,containerd");
    assert_status(&out, 0);
    assert!(
        tree(outside.path()).is_empty(),
        "trust wrote outside the root: {:?}",
        tree(outside.path())
    );
    // Where it went instead: the link's target, read as if ROOT were `/`, and the path
    // printed is that one.
    let inside = r.join(outside.path().strip_prefix("/").unwrap());
    let docker_ca = inside.join("10.1.2.3:5000/ca.crt");
    assert!(docker_ca.is_file(), "{:?}", tree(r));
    assert!(
        stdout(&out).contains(&*docker_ca.to_string_lossy()),
        "the printed path is the one written: {}",
        stdout(&out)
    );

    // A file outside with the very content untrust would remove stays.
    std::fs::create_dir_all(outside.path().join("10.1.2.3:5000")).unwrap();
    std::fs::copy(&docker_ca, outside.path().join("10.1.2.3:5000/ca.crt")).unwrap();
    let out = in_root(r, &["untrust", "10.1.2.3:5000"]);
    assert_status(&out, 0);
    assert!(!docker_ca.exists(), "untrust removed what trust wrote");
    assert!(outside.path().join("10.1.2.3:5000/ca.crt").is_file());
}

/// The manifest `trust` keeps under a root.
fn manifest(root: &Path) -> PathBuf {
    root.join("var/lib/docker-dcosreg/installed.json")
}

// Class 2: a forged manifest cannot make untrust delete or edit outside the store.
#[test]
fn untrust_refuses_forged_manifest_entries() {
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("precious");
    std::fs::write(&victim, b"keep me\n").unwrap();
    let sha = sha256_hex(b"keep me\n");
    let victim_rel = victim.strip_prefix("/").unwrap().display().to_string();
    let cases = [
        // `..` out of the root
        format!("/etc/docker/certs.d/x/../../../../../../../../../{victim_rel}"),
        // inside the root but not a store file
        "/etc/passwd".to_string(),
        // relative
        "etc/docker/certs.d/x/ca.crt".to_string(),
    ];
    for path in cases {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        std::fs::create_dir_all(r.join("etc")).unwrap();
        std::fs::write(r.join("etc/passwd"), b"keep me\n").unwrap();
        let forged = serde_json::json!({
            "version": 1,
            "files": [{
                "target": "docker", "endpoints": ["10.1.2.3:5000"], "path": path,
                "sha256": sha, "created": true, "created_dirs": [], "edits": []
            }]
        });
        std::fs::create_dir_all(manifest(r).parent().unwrap()).unwrap();
        std::fs::write(manifest(r), forged.to_string()).unwrap();
        let out = in_root(r, &["untrust", "10.1.2.3:5000"]);
        assert_status_for(&out, 2, format_args!("{path}"));
        assert!(
            stderr(&out).contains("manifest was edited or is damaged"),
            "{path}: {}",
            stderr(&out)
        );
        assert!(victim.is_file() && r.join("etc/passwd").is_file(), "{path}");
    }

    // created_dirs that are not parents of the entry.
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    let empty_outside = tempfile::tempdir().unwrap();
    let forged = serde_json::json!({
        "version": 1,
        "files": [{
            "target": "docker", "endpoints": ["10.1.2.3:5000"],
            "path": "/etc/docker/certs.d/10.1.2.3:5000/ca.crt",
            "sha256": sha, "created": true,
            "created_dirs": [format!("/etc/docker/certs.d/../../..{}", empty_outside.path().display())],
            "edits": []
        }]
    });
    std::fs::create_dir_all(manifest(r).parent().unwrap()).unwrap();
    std::fs::write(manifest(r), forged.to_string()).unwrap();
    let out = in_root(r, &["untrust", "10.1.2.3:5000"]);
    assert_status(&out, 2);
    assert!(empty_outside.path().is_dir());
}

// Class 3: a containerd hosts.toml the admin edited after trust is kept, and untrust says
// so.
#[test]
fn untrust_keeps_an_admin_edited_hosts_toml() {
    let work = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    std::fs::create_dir_all(r.join("etc/containerd")).unwrap();
    let ca = ca_file(work.path(), "edited CA");
    let out = trust(r, &ca, "10.1.2.3:5000", "containerd");
    assert_status(&out, 0);
    let hosts = r.join("etc/containerd/certs.d/10.1.2.3:5000/hosts.toml");
    let mut text = std::fs::read_to_string(&hosts).unwrap();
    text.insert_str(0, "# pinned by ops, ticket 4711\n");
    std::fs::write(&hosts, &text).unwrap();

    let out = in_root(r, &["untrust", "10.1.2.3:5000", "--format", "json"]);
    assert_status(&out, 0);
    assert!(
        stderr(&out).contains("hosts.toml changed since trust and was left alone"),
        "{}",
        stderr(&out)
    );
    let report = json(&out);
    let action = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"].as_str().unwrap().ends_with("hosts.toml"))
        .map(|f| f["action"].as_str().unwrap().to_string());
    assert_eq!(action.as_deref(), Some("changed-kept"), "{report}");
    assert_eq!(
        std::fs::read_to_string(&hosts).unwrap(),
        text,
        "kept byte for byte"
    );
}

// Class 4: concurrent trust runs on one root queue on a lock: every entry is recorded and
// untrust removes every file.
#[test]
fn concurrent_trust_runs_lose_no_manifest_entry() {
    let work = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    std::fs::create_dir_all(r.join("etc/containers")).unwrap();
    let ca = ca_file(work.path(), "concurrent CA");
    let endpoints: Vec<String> = (1..=8).map(|i| format!("10.9.0.{i}:5000")).collect();
    let home = work.path().join("home");
    let children: Vec<_> = endpoints
        .iter()
        .map(|ep| {
            Dcosreg::new(["--root", r.to_str().unwrap(), "trust", ep, "--ca-file"])
                .arg(&ca)
                .args(["--yes", "--no-verify", "--target", "docker,containers"])
                .home(&home)
                .spawn_piped()
        })
        .collect();
    for (child, _home) in children {
        let out = child.wait_with_output().unwrap();
        assert_status(&out, 0);
    }
    let recorded: serde_json::Value =
        serde_json::from_slice(&std::fs::read(manifest(r)).unwrap()).unwrap();
    assert_eq!(
        recorded["files"].as_array().unwrap().len(),
        16,
        "every run's entries are recorded: {recorded}"
    );
    let mut args = vec!["untrust"];
    args.extend(endpoints.iter().map(String::as_str));
    let out = in_root(r, &args);
    assert_status(&out, 0);
    let left: Vec<_> = tree(r).into_iter().filter(|p| p.is_file()).collect();
    assert!(left.is_empty(), "untrust left files behind: {left:?}");
}

// Class 5: cert --force writes keys as fresh 0600 files, never through a planted link;
// trust --force over a linked ca.crt writes a 0644 file in its place.
#[test]
fn keys_are_fresh_0600_files_and_links_are_replaced() {
    let out_dir = tempfile::tempdir().unwrap();
    let o = out_dir.path();
    let out = dcosreg(&[
        "cert",
        "--out",
        o.to_str().unwrap(),
        "--internal",
        "10.1.2.3",
        "--external",
        "10.1.2.4:5000",
    ]);
    assert_status(&out, 0);
    let victim = o.join("victim.txt");
    std::fs::write(&victim, b"world-readable\n").unwrap();
    std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o644)).unwrap();
    for key in ["ca.key", "domain.key"] {
        if o.join(key).exists() {
            std::fs::remove_file(o.join(key)).unwrap();
            std::os::unix::fs::symlink(&victim, o.join(key)).unwrap();
        }
    }
    let out = dcosreg(&[
        "cert",
        "--out",
        o.to_str().unwrap(),
        "--internal",
        "10.1.2.3",
        "--external",
        "10.1.2.4:5000",
        "--force",
    ]);
    assert_status(&out, 0);
    for key in ["ca.key", "domain.key"] {
        let path = o.join(key);
        if !path.exists() {
            continue;
        }
        let meta = std::fs::symlink_metadata(&path).unwrap();
        assert!(meta.is_file(), "{key} is a file, not the link");
        assert_eq!(meta.mode() & 0o777, 0o600, "{key}");
    }
    assert_eq!(std::fs::read(&victim).unwrap(), b"world-readable\n");

    let work = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    let ca = ca_file(work.path(), "link CA");
    let secret = work.path().join("secret");
    std::fs::write(&secret, b"x").unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    let dir = r.join("etc/docker/certs.d/10.1.2.3:5000");
    std::fs::create_dir_all(&dir).unwrap();
    std::os::unix::fs::symlink(&secret, dir.join("ca.crt")).unwrap();
    let out = in_root(
        r,
        &[
            "trust",
            "10.1.2.3:5000",
            "--ca-file",
            ca.to_str().unwrap(),
            "--yes",
            "--no-verify",
            "--target",
            "docker",
            "--force",
        ],
    );
    assert_status(&out, 0);
    let meta = std::fs::symlink_metadata(dir.join("ca.crt")).unwrap();
    assert!(meta.is_file());
    assert_eq!(meta.mode() & 0o777, 0o644);
    assert_eq!(std::fs::read(&secret).unwrap(), b"x");
}

// Class 11: absurd durations are input errors (exit 2), not a panic (101).
#[test]
fn absurd_durations_are_refused() {
    for args in [
        vec!["--timeout", "9223372036854775807s", "config"],
        vec!["--timeout", "2h", "config"],
        vec![
            "rollout",
            "--agent",
            "a1",
            "--agent-timeout",
            "9223372036854775807s",
        ],
    ] {
        let out = dcosreg(&args);
        assert_status_for(&out, 2, format_args!("{args:?}"));
        assert!(
            stderr(&out).contains("maximum"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    let out = Dcosreg::new(["config"])
        .env("DCOSREG_TIMEOUT", "9223372036854775807s")
        .run();
    assert_status(&out, 2);
}

/// Run with stdout on a pipe whose reader is already gone.
fn with_closed_stdout(args: &[&str], dir: &Path) -> Option<i32> {
    // The pipe's only reader is `true`, which has exited: the closed end of `| true`.
    let mut reader = Command::new("true").stdin(Stdio::piped()).spawn().unwrap();
    let writer = reader.stdin.take().unwrap();
    reader.wait().unwrap();
    let mut run = Dcosreg::new(args).current_dir(dir);
    run.command().stdout(writer).stderr(Stdio::null());
    let (mut child, _home) = run.spawn();
    wait_with_deadline(&mut child, Duration::from_secs(30))
        .status
        .code()
}

// Class 15: a closed pipe keeps the exit status (`rewrite --check | head` must fail a CI
// gate when there is something to report).
#[test]
fn a_closed_pipe_keeps_the_exit_status() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..200 {
        std::fs::write(
            dir.path().join(format!("Dockerfile.{i}")),
            "FROM 10.1.2.3/app:1\nRUN true\nFROM 10.1.2.3/base:2\n",
        )
        .unwrap();
    }
    let args = [
        "--internal",
        "10.1.2.3",
        "--external",
        "10.1.2.4:5000",
        "rewrite",
        "--check",
        "--to",
        "external",
        ".",
    ];
    assert_eq!(with_closed_stdout(&args, dir.path()), Some(1));
    // And the same run with a reader says the same.
    let out = Dcosreg::new(args).current_dir(dir.path()).run();
    assert_status(&out, 1);
}

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success());
}

// Class 16: a FIFO or a device where a CA file is expected is refused at once, never
// waited on or read to exhaustion.
#[test]
fn fifos_and_devices_are_refused_not_read() {
    let work = tempfile::tempdir().unwrap();
    let fifo = work.path().join("ca.pem");
    mkfifo(&fifo);
    for ca in [fifo.as_path(), Path::new("/dev/zero")] {
        let root = tempfile::tempdir().unwrap();
        let started = Instant::now();
        let out = trust(root.path(), ca, "10.1.2.3:5000", "docker");
        assert_status_for(&out, 2, format_args!("{ca:?}"));
        assert!(
            stderr(&out).contains("not a regular file"),
            "{ca:?}: {}",
            stderr(&out)
        );
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    // A FIFO planted as the installed ca.crt, and in the system anchors.
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    let dir = r.join("etc/docker/certs.d/10.1.2.3:5000");
    std::fs::create_dir_all(&dir).unwrap();
    mkfifo(&dir.join("ca.crt"));
    std::fs::create_dir_all(r.join("etc/ssl/certs")).unwrap();
    mkfifo(&r.join("etc/ssl/certs/ca-certificates.crt"));
    mkfifo(&r.join("etc/ssl/certs/evil.pem"));
    let ca = ca_file(work.path(), "fifo CA");
    let started = Instant::now();
    let out = Dcosreg::new([
        "--root",
        r.to_str().unwrap(),
        "trust",
        "10.1.2.3:5000",
        "--ca-file",
    ])
    .arg(&ca)
    .args(["--yes", "--no-verify", "--target", "docker"])
    .timeout(Duration::from_secs(20))
    .run();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "hung on a FIFO"
    );
    assert_status(&out, 2);
    let out = Dcosreg::new(["--root", r.to_str().unwrap(), "doctor", "--offline"])
        .timeout(Duration::from_secs(20))
        .run();
    assert!(
        out.status.code().is_some_and(|c| c <= 2),
        "{}",
        stderr(&out)
    );
}

/// A loopback HTTP peer: each connection's request is read, then `answer` writes.
fn http_peer(ip: &str, answer: fn(&mut std::net::TcpStream)) -> u16 {
    use std::io::Read;
    let listener = std::net::TcpListener::bind((ip, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut tcp) = conn else { return };
            std::thread::spawn(move || {
                let _ = tcp.set_read_timeout(Some(Duration::from_secs(2)));
                let mut request = [0u8; 4096];
                let _ = tcp.read(&mut request);
                answer(&mut tcp);
            });
        }
    });
    port
}

/// Headers, then a body that never ends (as fast as the client reads).
fn endless_body(tcp: &mut std::net::TcpStream) {
    use std::io::Write;
    let _ = tcp.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/x-pem-file\r\n\r\n");
    let chunk = vec![b'A'; 64 * 1024];
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(30) && tcp.write_all(&chunk).is_ok() {}
}

/// Headers, then one body byte every 300 ms.
fn trickle_body(tcp: &mut std::net::TcpStream) {
    use std::io::Write;
    let _ = tcp.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n");
    for _ in 0..200 {
        if tcp.write_all(b" ").is_err() {
            return;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn run_bounded(args: &[&str], limit: Duration) -> (std::process::Output, Duration) {
    let started = Instant::now();
    let out = Dcosreg::new(args).timeout(limit).run();
    (out, started.elapsed())
}

// Classes 6 and 7: every network body is capped and read under the command's deadline.
#[test]
fn network_bodies_are_capped_and_bounded_by_the_deadline() {
    let ip = unique_loopback_ip();
    let endless = http_peer(&ip, endless_body);
    let trickle = http_peer(&ip, trickle_body);
    let root = tempfile::tempdir().unwrap();
    let r = root.path().to_str().unwrap();

    let url = format!("http://{ip}:{endless}/ca.crt");
    let (out, took) = run_bounded(
        &[
            "--root",
            r,
            "--timeout",
            "20s",
            "trust",
            "10.1.2.3:5000",
            "--ca-url",
            &url,
            "--yes",
        ],
        Duration::from_secs(25),
    );
    assert_status(&out, 2);
    assert!(stderr(&out).contains("larger than"), "{}", stderr(&out));
    assert!(took < Duration::from_secs(15), "took {took:?}");

    let url = format!("http://{ip}:{trickle}/ca.crt");
    let (out, took) = run_bounded(
        &[
            "--root",
            r,
            "--timeout",
            "1s",
            "trust",
            "10.1.2.3:5000",
            "--ca-url",
            &url,
            "--yes",
        ],
        Duration::from_secs(20),
    );
    assert_status(&out, 2);
    assert!(
        stderr(&out).contains("before the deadline"),
        "{}",
        stderr(&out)
    );
    assert!(
        took < Duration::from_secs(3),
        "trust --ca-url took {took:?}"
    );

    let url = format!("http://{ip}:{trickle}");
    for args in [
        vec![
            "--timeout",
            "1s",
            "rollout",
            "--mesos-url",
            &url,
            "--dry-run",
        ],
        vec![
            "--timeout",
            "1s",
            "rollout",
            "--via",
            "marathon",
            "--marathon-url",
            &url,
            "--ca-file",
            "/nonexistent",
        ],
    ] {
        let (out, took) = run_bounded(&args, Duration::from_secs(20));
        assert!(
            took < Duration::from_secs(3),
            "{args:?} took {took:?}: {}",
            stderr(&out)
        );
    }
}

// Classes 19 and 20: one deadline covers --ca-url download and the verification handshakes
// (run together); a deadline spent before an endpoint's turn, or `--timeout 1ns`, is not
// blamed on the host or on DNS.
#[test]
fn one_deadline_for_download_and_verification() {
    use std::io::Write;
    let ip = unique_loopback_ip();
    let work = tempfile::tempdir().unwrap();
    let ca = ca_file(work.path(), "slow download CA");
    let pem = std::fs::read(&ca).unwrap();
    // A download that takes most of the deadline.
    let listener = std::net::TcpListener::bind((ip.as_str(), 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut tcp) = conn else { return };
            let pem = pem.clone();
            std::thread::spawn(move || {
                use std::io::Read;
                let mut request = [0u8; 4096];
                let _ = tcp.read(&mut request);
                std::thread::sleep(Duration::from_millis(1200));
                let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", pem.len());
                let _ = tcp.write_all(head.as_bytes());
                let _ = tcp.write_all(&pem);
            });
        }
    });
    // Endpoints that accept and never answer.
    let (_t1, p1) = support::peers::tarpit(&ip);
    let (_t2, p2) = support::peers::tarpit(&ip);
    let (e1, e2) = (format!("{ip}:{p1}"), format!("{ip}:{p2}"));
    let root = tempfile::tempdir().unwrap();
    let url = format!("http://{ip}:{port}/ca.crt");
    let (out, took) = run_bounded(
        &[
            "--root",
            root.path().to_str().unwrap(),
            "--timeout",
            "2s",
            "--format",
            "json",
            "trust",
            &e1,
            &e2,
            "--ca-url",
            &url,
            "--yes",
            "--target",
            "docker",
        ],
        Duration::from_secs(20),
    );
    assert!(took < Duration::from_millis(3500), "took {took:?}");
    let report = json(&out);
    let verdicts = report["verdicts"].as_array().unwrap();
    assert_eq!(verdicts.len(), 2, "{report}");
    for verdict in verdicts {
        let why = verdict["docker_error"].as_str().unwrap_or_default();
        assert!(!why.contains("host is down"), "{why}");
        assert!(
            why.contains("no TLS answer") || why.contains("deadline"),
            "{why}"
        );
    }

    // `--timeout 1ns` on an IP endpoint: a timeout, never a DNS failure.
    let refused = support::peers::refused_port(&ip);
    let out = dcosreg(&[
        "endpoint",
        "--format",
        "json",
        "--timeout",
        "1ns",
        "--internal",
        &format!("{ip}:{refused}"),
        "--external",
        &format!("{ip}:{}", refused),
    ]);
    let text = stdout(&out);
    assert!(!text.contains("DNS"), "{text}");
}

// Class 20: a slowloris TLS peer (a byte at a time, never finishing) is described as a
// handshake that stalled mid-answer, not as a peer that sent nothing.
#[test]
fn slowloris_is_a_stalled_handshake() {
    use std::io::Write;
    let ip = unique_loopback_ip();
    let slow = support::peers::raw_peer(&ip, |mut tcp| {
        for byte in [22u8, 3, 3, 0, 200, 2, 0, 0] {
            if tcp.write_all(&[byte]).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(300));
        }
        std::thread::sleep(Duration::from_secs(3));
    });
    let out = dcosreg(&[
        "endpoint",
        "--format",
        "json",
        "--timeout",
        "1500ms",
        "--internal",
        &format!("{ip}:{slow}"),
        "--external",
        &format!("{ip}:{}", support::peers::refused_port(&ip)),
    ]);
    let report = json(&out);
    let error = report["endpoints"][0]["error"].as_str().unwrap_or_default();
    assert!(error.contains("did not finish the handshake"), "{report}");
}

// Class 8: ssh runs in its own process group and the group dies at --agent-timeout, so a
// ProxyCommand that keeps ssh's stderr open cannot stretch the deadline.
#[test]
fn agent_timeout_kills_ssh_and_its_proxy_command() {
    let work = tempfile::tempdir().unwrap();
    let ca = ca_file(work.path(), "rollout CA");
    let marker = work.path().join("proxy-still-running");
    let proxy = format!("ProxyCommand=sh -c 'sleep 30; touch {}'", marker.display());
    let remote = format!("{}/%h", work.path().join("agents").display());
    let (out, took) = run_bounded(
        &[
            "--internal",
            "10.1.2.3",
            "--external",
            "10.1.2.4:5000",
            "rollout",
            "--ca-file",
            ca.to_str().unwrap(),
            "--remote-root",
            &remote,
            "--agent",
            "agent-behind-proxy",
            "--ssh-option",
            &proxy,
            "--ssh-option",
            "BatchMode=yes",
            "--agent-timeout",
            "2s",
            // Any ELF: the agent never answers, and packing the 150 MB debug build of this
            // tool would only add to what the deadline is measured against.
            "--agent-binary",
            "/bin/true",
            "--yes",
        ],
        Duration::from_secs(40),
    );
    assert!(
        took < Duration::from_secs(6),
        "took {took:?}: {}",
        stderr(&out)
    );
    assert_status(&out, 1);
    assert!(
        stdout(&out).contains("no result within 2s"),
        "{}",
        stdout(&out)
    );
}

// Class 18: doctor's fix on a staged root names files under that root, quoted so that a
// file name with a newline is moved by the printed command, in JSON and in text.
#[test]
fn doctor_fixes_are_runnable_for_hostile_file_names() {
    for format in ["json", "text"] {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        let dir = r.join("etc/docker/certs.d/10.1.2.3:5000");
        std::fs::create_dir_all(&dir).unwrap();
        let key = dir.join("client\nx'y.key");
        std::fs::write(&key, b"not a key").unwrap();
        let out = in_root(
            r,
            &[
                "--internal",
                "10.1.2.3:5000",
                "--format",
                format,
                "doctor",
                "--offline",
            ],
        );
        let fix = if format == "json" {
            let report = json(&out);
            report["findings"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["code"] == "orphan-key")
                .and_then(|f| f["fix"].as_str())
                .unwrap_or_else(|| panic!("{report}"))
                .to_string()
        } else {
            // The fix starts after "fix: " and runs to the next finding line.
            let text = stdout(&out);
            let start = text.find("fix: ").unwrap_or_else(|| panic!("{text}")) + 5;
            let rest = &text[start..];
            let end = rest
                .find("\nerror ")
                .or(rest.find("\nwarning "))
                .unwrap_or(rest.len());
            rest[..end].trim_end().to_string()
        };
        assert!(fix.contains(&*r.to_string_lossy()), "{fix}");
        let ran = Command::new("sh").arg("-c").arg(&fix).output().unwrap();
        assert_status_for(&ran, 0, format_args!("{fix}"));
        assert!(!key.exists(), "{format}: `{fix}` did not move the file");
    }
}

/// Class 12: `rewrite` run as root replaces a user's file with one that keeps its owner,
/// group and mode (as `sed -i` does), not one owned by root with the umask's mode.
#[test]
fn rewrite_keeps_owner_group_and_mode() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("Dockerfile");
    std::fs::write(&file, "FROM 192.168.0.1/base/app:1\n").unwrap();
    std::os::unix::fs::chown(&file, Some(4321), Some(5432)).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();

    let out = dcosreg(&["rewrite", "--to", "external", file.to_str().unwrap()]);
    assert_status(&out, 0);
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "FROM 192.168.1.50:5000/base/app:1\n"
    );
    let meta = std::fs::metadata(&file).unwrap();
    assert_eq!(
        (meta.uid(), meta.gid()),
        (4321, 5432),
        "owner and group kept"
    );
    assert_eq!(meta.mode() & 0o7777, 0o640, "mode kept");
}

/// Class 13: over several files, one that cannot be written (a read-only mount) stops the
/// run before any file is replaced: exit 2, every file as it was, and the JSON says
/// nothing was written.
#[test]
fn rewrite_writes_no_file_when_one_cannot_be_written() {
    require_tool("unshare");
    let dir = tempfile::tempdir().unwrap();
    let (good, locked) = (dir.path().join("good"), dir.path().join("locked"));
    let original = "FROM 192.168.0.1/base/app:1\n";
    for sub in [&good, &locked] {
        std::fs::create_dir(sub).unwrap();
        std::fs::write(sub.join("Dockerfile"), original).unwrap();
    }
    // The locked directory is a read-only bind mount in a private mount namespace, so
    // even root cannot create the temp file there.
    let script = r#"mount --bind "$1" "$1" && mount -o remount,ro,bind "$1" && shift && exec "$@""#;
    let mut unshare = Command::new("unshare");
    unshare
        .args(["-m", "sh", "-c", script, "sh"])
        .arg(&locked)
        .arg(bin_path());
    let out = Dcosreg::via(unshare)
        .args(["--format", "json", "rewrite", "--to", "external"])
        .arg(good.join("Dockerfile"))
        .arg(locked.join("Dockerfile"))
        .home(dir.path())
        .run();
    assert_status(&out, 2);
    for sub in [&good, &locked] {
        assert_eq!(
            std::fs::read_to_string(sub.join("Dockerfile")).unwrap(),
            original,
            "{} must be untouched",
            sub.display()
        );
        let leftovers: Vec<_> = std::fs::read_dir(sub)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| n != "Dockerfile")
            .collect();
        assert!(leftovers.is_empty(), "temp files left: {leftovers:?}");
    }
    let report = json(&out);
    assert_eq!(report["written"], false, "{report}");
    assert_eq!(report["files_written"], 0, "{report}");
    assert_eq!(report["files_changed"], 2, "{report}");
    assert!(
        stderr(&out).contains("locked/Dockerfile"),
        "the failing file is named: {}",
        stderr(&out)
    );
}

/// Class 21: the binary is a position-independent executable, so that the kernel places
/// its own code and data at a random address as it does libc's: it runs as root and parses
/// hostile certificates, Dockerfiles and HTTP. `readelf -h` says `DYN` for a PIE (and for a
/// shared library), `EXEC` for a fixed-address executable; `readelf -d` tells the two `DYN`s
/// apart by the `PIE` flag the linker sets on an executable.
#[test]
fn the_binary_is_a_position_independent_executable() {
    require_tool("readelf");
    let bin = bin_path();
    let header = output_within(
        Command::new("readelf").arg("-h").arg(&bin),
        Duration::from_secs(30),
    );
    assert_status_for(&header, 0, "readelf -h");
    let kind = stdout(&header)
        .lines()
        .find_map(|line| line.trim().strip_prefix("Type:").map(str::trim))
        .map(str::to_owned);
    assert!(
        kind.as_deref().is_some_and(|k| k.starts_with("DYN ")),
        "{} is not a PIE: ELF type {kind:?}",
        bin.display()
    );
    let dynamic = output_within(
        Command::new("readelf").arg("-d").arg(&bin),
        Duration::from_secs(30),
    );
    assert_status_for(&dynamic, 0, "readelf -d");
    assert!(
        stdout(&dynamic)
            .lines()
            .any(|line| line.contains("(FLAGS_1)") && line.split_whitespace().any(|w| w == "PIE")),
        "{} has no PIE flag in its dynamic section:\n{}",
        bin.display(),
        stdout(&dynamic)
    );
}

/// Class 22: `untrust --target system` removes the links the manifest records for our file
/// (what `update-ca-certificates` made during `trust`), and only while they still lead to it;
/// an administrator's links stay, however they are named and wherever they point.
#[test]
fn untrust_removes_only_the_system_links_it_recorded() {
    let work = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    let anchors = r.join("usr/local/share/ca-certificates");
    let certs = r.join("etc/ssl/certs");
    std::fs::create_dir_all(&anchors).unwrap();
    std::fs::create_dir_all(&certs).unwrap();
    let ca = ca_file(work.path(), "system-links CA");
    let out = trust(r, &ca, "10.1.2.3:5000", "system");
    assert_status(&out, 0);
    let ours: Vec<_> = std::fs::read_dir(&anchors)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let [name] = &ours[..] else {
        panic!("one anchor file expected: {ours:?}")
    };
    let ours_abs = format!("/usr/local/share/ca-certificates/{name}");
    let pem = name.replace(".crt", ".pem");
    let link = |target: &str, at: &str| std::os::unix::fs::symlink(target, certs.join(at)).unwrap();
    // As update-ca-certificates makes them, and as trust on `/` records them.
    link(&ours_abs, &pem);
    link(&pem, "1a2b3c4d.0");
    // Recorded, but re-pointed by the administrator since.
    link("other.pem", "0badc0de.0");
    // The administrator's: dangling and named like ours; to our file but not recorded.
    link(
        "/usr/local/share/ca-certificates/dcosreg-foo.crt",
        "dcosreg-foo.pem",
    );
    link(&ours_abs, "admin-copy.pem");
    let mut record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(manifest(r)).unwrap()).unwrap();
    let entry = record["files"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|e| e["target"] == "system")
        .unwrap();
    entry["links"] = serde_json::json!([
        {"path": format!("/etc/ssl/certs/{pem}"), "target": ours_abs},
        {"path": "/etc/ssl/certs/1a2b3c4d.0", "target": pem},
        {"path": "/etc/ssl/certs/0badc0de.0", "target": pem},
    ]);
    std::fs::write(manifest(r), record.to_string()).unwrap();

    let out = in_root(r, &["untrust", "10.1.2.3:5000", "--target", "system"]);
    assert_status(&out, 0);
    assert!(!anchors.join(name).exists(), "our anchor file is removed");
    let mut left: Vec<String> = std::fs::read_dir(&certs)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["0badc0de.0", "admin-copy.pem", "dcosreg-foo.pem"]);

    // A forged manifest cannot name a link outside /etc/ssl/certs.
    let out = trust(r, &ca, "10.1.2.3:5000", "system");
    assert_status(&out, 0);
    let victim = r.join("etc/keep-me");
    std::os::unix::fs::symlink(&ours_abs, &victim).unwrap();
    let mut record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(manifest(r)).unwrap()).unwrap();
    record["files"][0]["links"] = serde_json::json!([{"path": "/etc/keep-me", "target": ours_abs}]);
    std::fs::write(manifest(r), record.to_string()).unwrap();
    let out = in_root(r, &["untrust", "10.1.2.3:5000", "--target", "system"]);
    assert_status(&out, 2);
    assert!(
        stderr(&out).contains("manifest was edited or is damaged"),
        "{}",
        stderr(&out)
    );
    assert!(victim.symlink_metadata().is_ok(), "the link outside stays");
}

/// A process named `dockerd` (a copy of busybox running `sleep`) chrooted into `root`, so
/// that its `/proc/PID/root/etc/docker/certs.d` is the staged root's: a running dockerd that
/// reads the staged files, started at a moment the test knows. Killed on drop.
struct FakeDaemon(std::process::Child);

impl FakeDaemon {
    fn start(root: &Path, comm: &str) -> FakeDaemon {
        use std::os::unix::ffi::OsStrExt;
        use std::os::unix::process::CommandExt;
        let busybox = require_tool("busybox");
        std::fs::create_dir_all(root.join("bin")).unwrap();
        let program = Path::new("/bin").join(comm);
        std::fs::copy(&busybox, root.join("bin").join(comm)).unwrap();
        let dir = std::ffi::CString::new(root.as_os_str().as_bytes()).unwrap();
        let mut command = Command::new(&program);
        command.arg0("sleep").arg("120").stdin(Stdio::null());
        // SAFETY: chroot(2) and chdir(2) are async-signal-safe; `dir` outlives the spawn.
        unsafe {
            command.pre_exec(move || {
                if libc::chroot(dir.as_ptr()) != 0 || libc::chdir(c"/".as_ptr()) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command.spawn().unwrap();
        // Until it has exec'd, it is the test binary: wait, bounded, for its own name.
        let comm_file = format!("/proc/{}/comm", child.id());
        let limit = Instant::now() + Duration::from_secs(10);
        while std::fs::read_to_string(&comm_file).map_or(true, |c| c.trim_end() != comm) {
            assert!(Instant::now() < limit, "the fake {comm} never started");
            std::thread::sleep(Duration::from_millis(5));
        }
        FakeDaemon(child)
    }
}

impl Drop for FakeDaemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

// A certs.d copied in with `cp -a` (or rsync -a, tar -x) after dockerd started keeps its old
// modification times; its change times are new. The restart advice must follow the change
// time: trust names the running dockerd, and doctor reports it as older than certs.d.
#[test]
fn restart_advice_follows_change_times_not_copied_modification_times() {
    let work = tempfile::tempdir().unwrap();
    let ca = ca_file(work.path(), "copied CA");
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    std::fs::create_dir_all(r.join("etc/docker")).unwrap();
    let endpoint = "10.1.2.3:5000";
    // The files trust writes, made aside with old modification times.
    let out = trust(r, &ca, endpoint, "docker");
    assert_status(&out, 0);
    let saved = work.path().join("certs.d");
    let certs_d = r.join("etc/docker/certs.d");
    std::fs::rename(&certs_d, &saved).unwrap();
    let touched = Command::new("find")
        .arg(&saved)
        .args([
            "-exec",
            "touch",
            "-h",
            "-d",
            "2020-01-01 00:00:00",
            "{}",
            "+",
        ])
        .status()
        .unwrap();
    assert!(touched.success());

    let _dockerd = FakeDaemon::start(r, "dockerd");
    // Past the tool's 50 ms margin for the clocks' resolution.
    std::thread::sleep(Duration::from_millis(300));
    let copied = Command::new("cp")
        .arg("-a")
        .arg(&saved)
        .arg(&certs_d)
        .status()
        .unwrap();
    assert!(copied.success());
    let ca_crt = certs_d.join(endpoint).join("ca.crt");
    let meta = std::fs::metadata(&ca_crt).unwrap();
    assert!(meta.mtime() < 1_600_000_000, "cp -a kept the old mtime");

    // Everything is in place already: trust writes nothing, and still names dockerd.
    let out = in_root(
        r,
        &[
            "--format",
            "json",
            "trust",
            endpoint,
            "--ca-file",
            ca.to_str().unwrap(),
            "--yes",
            "--no-verify",
            "--target",
            "docker",
        ],
    );
    assert_status(&out, 0);
    let report = json(&out);
    let services: Vec<&str> = report["restart"]
        .as_array()
        .expect("a restart list")
        .iter()
        .filter_map(|r| r["service"].as_str())
        .collect();
    assert_eq!(services, ["docker"], "{report}");

    let out = in_root(
        r,
        &[
            "--internal",
            endpoint,
            "--format",
            "json",
            "doctor",
            "--offline",
        ],
    );
    let doctor = json(&out);
    assert!(
        doctor["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .any(|f| f["code"] == "daemon-predates-certs-d"),
        "{doctor}"
    );
}

/// How one bounded run ended: its exit code (None: killed at the deadline), stderr, the
/// peak resident set in KiB (wait4's `ru_maxrss`, this child alone) and the time it took.
struct Measured {
    code: Option<i32>,
    stderr: String,
    max_rss_kib: i64,
    took: Duration,
}

/// Run `run` to its end, killed after `limit`, and measure it with wait4(2).
fn run_measured(mut run: Dcosreg, limit: Duration) -> Measured {
    let err_file = tempfile::NamedTempFile::new().unwrap();
    run.command()
        .stdout(Stdio::null())
        .stderr(err_file.reopen().unwrap());
    let started = Instant::now();
    let (child, _home) = run.spawn();
    let pid = i32::try_from(child.id()).unwrap();
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let mut killed = false;
    loop {
        // SAFETY: `status` and `usage` are valid for writes; `pid` is our unreaped child.
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        assert!(r >= 0, "wait4: {}", std::io::Error::last_os_error());
        if r == pid {
            break;
        }
        if !killed && started.elapsed() > limit {
            // SAFETY: kill(2) of our own unreaped child.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            killed = true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let took = started.elapsed();
    let code = (!killed && libc::WIFEXITED(status)).then(|| libc::WEXITSTATUS(status));
    Measured {
        code,
        stderr: std::fs::read_to_string(err_file.path()).unwrap_or_default(),
        max_rss_kib: usage.ru_maxrss,
        took,
    }
}

// A FIFO as containerd's config.toml in a staged root: trust and untrust refuse it at once
// (they used to block opening it to decide on a restart), trust with a warning naming it.
#[test]
fn a_fifo_as_containerd_config_hangs_neither_trust_nor_untrust() {
    let work = tempfile::tempdir().unwrap();
    let ca = ca_file(work.path(), "fifo config CA");
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    std::fs::create_dir_all(r.join("etc/containerd")).unwrap();
    mkfifo(&r.join("etc/containerd/config.toml"));
    let runs: [Vec<&str>; 2] = [
        vec![
            "trust",
            "10.1.2.3:5000",
            "--ca-file",
            ca.to_str().unwrap(),
            "--yes",
            "--no-verify",
            "--target",
            "containerd",
        ],
        vec!["untrust", "10.1.2.3:5000", "--target", "containerd"],
    ];
    for args in runs {
        let mut full = vec!["--root", r.to_str().unwrap()];
        full.extend(&args);
        let run = run_measured(Dcosreg::new(&full), Duration::from_secs(20));
        assert!(
            run.code.is_some() && run.took < Duration::from_secs(10),
            "{args:?} hung on the FIFO ({:?}): {}",
            run.took,
            run.stderr
        );
        assert_eq!(run.code, Some(0), "{args:?}: {}", run.stderr);
        if args[0] == "trust" {
            // Said once, as a warning; the hosts.toml and CA are installed all the same.
            assert!(
                run.stderr.contains("config.toml") && run.stderr.contains("not a regular file"),
                "{args:?}: {}",
                run.stderr
            );
            assert!(r
                .join("etc/containerd/certs.d/10.1.2.3:5000/hosts.toml")
                .is_file());
        } else {
            // untrust removed what trust installed (and so asked about a restart).
            assert!(!r
                .join("etc/containerd/certs.d/10.1.2.3:5000/hosts.toml")
                .exists());
        }
    }
}

// A 400 MB sparse config.toml: refused as too large without being read (it used to be read
// whole, 417 MB resident, to decide on a restart).
#[test]
fn a_huge_sparse_containerd_config_is_not_read() {
    let work = tempfile::tempdir().unwrap();
    let ca = ca_file(work.path(), "sparse config CA");
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    std::fs::create_dir_all(r.join("etc/containerd")).unwrap();
    let config = r.join("etc/containerd/config.toml");
    let file = std::fs::File::create(&config).unwrap();
    file.set_len(400 << 20).unwrap();
    std::io::Write::write_all(&mut &file, b"version = 2 # config_path\n").unwrap();
    drop(file);
    let run = run_measured(
        Dcosreg::new([
            "--root",
            r.to_str().unwrap(),
            "trust",
            "10.1.2.3:5000",
            "--ca-file",
            ca.to_str().unwrap(),
            "--yes",
            "--no-verify",
            "--target",
            "containerd",
        ]),
        Duration::from_secs(60),
    );
    assert!(run.code.is_some(), "killed at the deadline: {}", run.stderr);
    assert!(
        run.max_rss_kib < 100 * 1024,
        "peak RSS {} KiB: {}",
        run.max_rss_kib,
        run.stderr
    );
    assert!(run.stderr.contains("larger than"), "{}", run.stderr);
}

// A FIFO at the conntrack /proc file of a staged DC/OS root: doctor refuses it at once.
#[test]
fn a_fifo_at_the_conntrack_proc_file_does_not_hang_doctor() {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    std::fs::create_dir_all(r.join("opt/mesosphere")).unwrap();
    let proc_dir = r.join("proc/sys/net/netfilter");
    std::fs::create_dir_all(&proc_dir).unwrap();
    mkfifo(&proc_dir.join("nf_conntrack_tcp_be_liberal"));
    let run = run_measured(
        Dcosreg::new([
            "--root",
            r.to_str().unwrap(),
            "--format",
            "json",
            "doctor",
            "--offline",
        ]),
        Duration::from_secs(20),
    );
    assert!(
        run.code.is_some() && run.took < Duration::from_secs(10),
        "doctor hung on the FIFO ({:?}): {}",
        run.took,
        run.stderr
    );
}

// A FIFO as --credentials-archive: rollout --dry-run refuses it at once, naming it.
#[test]
fn a_fifo_as_the_credentials_archive_does_not_hang_rollout() {
    let work = tempfile::tempdir().unwrap();
    let ca = ca_file(work.path(), "archive CA");
    let fifo = work.path().join("docker.tar.gz");
    mkfifo(&fifo);
    let run = run_measured(
        Dcosreg::new([
            "--internal",
            "10.1.2.3:5000",
            "rollout",
            "--via",
            "ssh",
            "--agent",
            "127.0.0.1",
            "--dry-run",
            "--ca-file",
            ca.to_str().unwrap(),
            "--credentials-archive",
            fifo.to_str().unwrap(),
        ]),
        Duration::from_secs(20),
    );
    assert!(
        run.code == Some(2) && run.took < Duration::from_secs(10),
        "{:?} after {:?}: {}",
        run.code,
        run.took,
        run.stderr
    );
    assert!(
        run.stderr.contains("docker.tar.gz") && run.stderr.contains("not a regular file"),
        "{}",
        run.stderr
    );
}

// A FIFO as --root: trust and untrust refuse it at once (the lock on the root used to open
// it blocking).
#[test]
fn a_fifo_as_the_root_is_refused_at_once() {
    let work = tempfile::tempdir().unwrap();
    let ca = ca_file(work.path(), "fifo root CA");
    let root = work.path().join("root");
    mkfifo(&root);
    let runs: [Vec<&str>; 2] = [
        vec![
            "trust",
            "10.1.2.3:5000",
            "--ca-file",
            ca.to_str().unwrap(),
            "--yes",
            "--no-verify",
            "--target",
            "docker",
        ],
        vec!["untrust", "10.1.2.3:5000"],
    ];
    for args in runs {
        let mut full = vec!["--root", root.to_str().unwrap()];
        full.extend(&args);
        let run = run_measured(Dcosreg::new(&full), Duration::from_secs(20));
        assert!(
            run.code == Some(2) && run.took < Duration::from_secs(10),
            "{args:?}: {:?} after {:?}: {}",
            run.code,
            run.took,
            run.stderr
        );
        assert!(
            run.stderr.contains("--root") && run.stderr.contains("Not a directory"),
            "{}",
            run.stderr
        );
    }
}

/// Every path under `dir` with what it is: a link's text, a file's bytes, or `dir`.
fn contents(dir: &Path) -> std::collections::BTreeMap<PathBuf, String> {
    tree(dir)
        .into_iter()
        .map(|path| {
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let what = if meta.is_symlink() {
                format!("link {}", std::fs::read_link(&path).unwrap().display())
            } else if meta.is_dir() {
                "dir".to_string()
            } else {
                format!("file {}", sha256_hex(&std::fs::read(&path).unwrap()))
            };
            (path, what)
        })
        .collect()
}

/// `docker-dcosreg --root ROOT ARGS` in a private mount namespace whose `/etc/ssl` is
/// `host_ssl` (a scratch directory bind-mounted over it): whatever the code does through a
/// link to `/etc/ssl`, the host's is out of reach, and the test sees it in `host_ssl`.
fn over_scratch_etc_ssl(host_ssl: &Path, root: &Path, args: &[&str]) -> std::process::Output {
    require_tool("unshare");
    let script = r#"mount --bind "$1" /etc/ssl && shift && exec "$@""#;
    let mut unshare = Command::new("unshare");
    unshare
        .args(["-m", "--propagation", "private", "sh", "-c", script, "sh"])
        .arg(host_ssl)
        .arg(bin_path())
        .arg("--root")
        .arg(root);
    Dcosreg::via(unshare).args(args).run()
}

/// Class 23: a link under the root that cannot be resolved inside it (`etc/ssl ->
/// /etc/ssl` loops when `/` is the root) is an error naming the path, before anything is
/// written or removed: never a plain `ROOT/etc/ssl/certs` that the kernel would resolve to
/// the host's `/etc/ssl/certs`.
#[test]
fn an_unresolvable_link_under_the_root_is_an_error_not_the_host_path() {
    let work = tempfile::tempdir().unwrap();
    let ca = ca_file(work.path(), "looping-link CA");
    for (at, target) in [
        ("etc/ssl", "/etc/ssl"),
        ("etc/ssl", "../etc/ssl"),
        ("etc/ssl/certs", "/etc/ssl/certs"),
        ("etc/ssl/certs", "../../etc/ssl/certs"),
    ] {
        let root = tempfile::tempdir().unwrap();
        let host_ssl = tempfile::tempdir().unwrap();
        let r = root.path();
        let anchors = r.join("usr/local/share/ca-certificates");
        std::fs::create_dir_all(&anchors).unwrap();
        std::fs::create_dir_all(r.join("etc/ssl/certs")).unwrap();
        // trust on a sound root, for the manifest untrust reads below.
        let out = trust(r, &ca, "10.1.2.3:5000", "system");
        assert_status(&out, 0);
        let name = std::fs::read_dir(&anchors)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .next()
            .unwrap();
        let ours_abs = format!("/usr/local/share/ca-certificates/{name}");
        let pem = name.replace(".crt", ".pem");
        let mut record: serde_json::Value =
            serde_json::from_slice(&std::fs::read(manifest(r)).unwrap()).unwrap();
        record["files"][0]["links"] =
            serde_json::json!([{"path": format!("/etc/ssl/certs/{pem}"), "target": ours_abs}]);
        std::fs::write(manifest(r), record.to_string()).unwrap();
        // The "host's" /etc/ssl/certs holds the very link the manifest records.
        std::fs::create_dir(host_ssl.path().join("certs")).unwrap();
        std::os::unix::fs::symlink(&ours_abs, host_ssl.path().join("certs").join(&pem)).unwrap();
        std::fs::write(host_ssl.path().join("certs/keep.pem"), "host").unwrap();
        // Now the loop.
        std::fs::remove_dir_all(r.join(at)).unwrap();
        std::os::unix::fs::symlink(target, r.join(at)).unwrap();
        let host_before = contents(host_ssl.path());
        let root_before = contents(r);

        for args in [
            vec![
                "trust",
                "10.1.2.3:5000",
                "--ca-file",
                ca.to_str().unwrap(),
                "--yes",
                "--no-verify",
                "--force",
                "--target",
                "system",
            ],
            vec!["untrust", "10.1.2.3:5000", "--target", "system"],
        ] {
            let what = format!("{} with {at} -> {target}", args[0]);
            let out = over_scratch_etc_ssl(host_ssl.path(), r, &args);
            assert_status_for(&out, 2, &what);
            // (trust shows the certificate it was given on stderr first.)
            let all = stderr(&out);
            let errors: Vec<&str> = all
                .lines()
                .filter(|l| l.starts_with("docker-dcosreg:"))
                .collect();
            let [err] = errors[..] else {
                panic!("{what}: one error line: {all}")
            };
            assert!(
                err.contains(&*r.join("etc/ssl").to_string_lossy())
                    && err.contains("fix or remove"),
                "{what}: names the path and the fix: {err}"
            );
            assert_eq!(
                contents(host_ssl.path()),
                host_before,
                "{what}: host untouched"
            );
            assert_eq!(
                contents(r),
                root_before,
                "{what}: nothing written or removed"
            );
        }
    }
}

/// Class 24: `trust` takes the root's lock only once the question is answered: while one
/// waits for a person's y/N on a terminal, `trust --yes` on the same root finishes at once.
/// The first, answered afterwards, re-reads its plan under the lock and, finding the stores
/// changed under it, refuses in one line and writes nothing.
#[test]
fn no_lock_is_held_across_the_question() {
    use std::io::{Read, Write};
    let script = require_tool("script");
    let work = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    let ca = ca_file(work.path(), "question CA");
    let command_line = [
        bin_path().to_str().unwrap(),
        "--root",
        r.to_str().unwrap(),
        "trust",
        "10.1.2.3:5000",
        "--ca-file",
        ca.to_str().unwrap(),
        "--no-verify",
        "--target",
        "docker",
    ]
    .map(|a| format!("'{a}'"))
    .join(" ");
    let mut on_a_terminal = Command::new(script);
    on_a_terminal.args(["-qec", &command_line, "/dev/null"]);
    let mut asking = Dcosreg::via(on_a_terminal);
    let mut first = asking
        .command()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Stop it on every way out of this test.
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut stdout_pipe = first.stdout.take().unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let reader = {
        let seen = seen.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout_pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                seen.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        })
    };
    let mut stdin_pipe = first.stdin.take().unwrap();
    let mut first = Kill(first);
    let text = |seen: &std::sync::Mutex<Vec<u8>>| {
        String::from_utf8_lossy(&seen.lock().unwrap()).into_owned()
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while !text(&seen).contains("[y/N]") {
        assert!(
            Instant::now() < deadline,
            "no question within 30 s: {}",
            text(&seen)
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    let started = Instant::now();
    let out = Dcosreg::new([
        "--root",
        r.to_str().unwrap(),
        "trust",
        "10.1.2.3:5000",
        "--ca-file",
        ca.to_str().unwrap(),
        "--yes",
        "--no-verify",
        "--target",
        "docker",
    ])
    .timeout(Duration::from_secs(20))
    .run();
    let took = started.elapsed();
    assert_status(&out, 0);
    assert!(
        !stderr(&out).contains("waiting for another"),
        "trust --yes waited on the question: {}",
        stderr(&out)
    );
    assert!(took < Duration::from_secs(10), "trust --yes took {took:?}");
    let written = r.join("etc/docker/certs.d/10.1.2.3:5000/ca.crt");
    assert!(written.is_file(), "{:?}", tree(r));
    let manifest_before = std::fs::read(manifest(r)).unwrap();

    // Now the answer: the plan it was given for ("install") is no longer what would happen.
    stdin_pipe.write_all(b"y\n").unwrap();
    drop(stdin_pipe);
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = first.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "no end within 30 s: {}",
            text(&seen)
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    reader.join().unwrap();
    let all = text(&seen);
    assert_eq!(status.code(), Some(2), "{all}");
    let errors: Vec<&str> = all
        .lines()
        .filter(|l| l.starts_with("docker-dcosreg:"))
        .collect();
    let [err] = errors[..] else {
        panic!("one error line: {all}")
    };
    assert!(
        err.contains("changed while the question waited") && err.contains("run trust again"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(manifest(r)).unwrap(),
        manifest_before,
        "nothing written"
    );
}
