//! `trust` / `untrust` against real registries and real Go clients.
//!
//! The VIP form runs a `docker-registry` on port 443 of a 127.x address; the Marathon-LB
//! form `addr:5000` runs one inside a network namespace we create. The certificate is made
//! the guide's way: one self-signed certificate naming both addresses. Go oracles (skopeo
//! and the docker CLI) use their own default certs.d lookup through bind mounts in a
//! private mount namespace, so nothing on the host changes.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, SystemTime};

use support::certs::{chain, openssl_fingerprint, Spec};
use support::*;

/// A guide-like self-signed certificate (CA:TRUE, SANs = the given IPs), written as
/// `domain.crt` / `domain.key` in `dir`. Returns (cert path, key path, PEM, SHA-256).
fn guide_cert(dir: &Path, ips: &[&str]) -> (PathBuf, PathBuf, String, String) {
    let cert = Spec::names(ips)
        .org("example.com")
        .cn(ips[0])
        .ca_true()
        .self_signed();
    let (crt, keyp) = cert.write_with_key(dir, "domain.crt", "domain.key");
    let digest = openssl_fingerprint(&cert.pem());
    (crt, keyp, cert.pem(), digest)
}

/// Every regular file under `root` with its content and mtime.
fn snapshot(root: &Path) -> BTreeMap<PathBuf, (Vec<u8>, SystemTime)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let meta = entry.metadata().unwrap();
            if meta.is_dir() {
                stack.push(path);
            } else {
                out.insert(
                    path.clone(),
                    (std::fs::read(&path).unwrap(), meta.modified().unwrap()),
                );
            }
        }
    }
    out
}

fn run_in(root: &Path, args: &[&str]) -> std::process::Output {
    let mut full = vec!["--root", root.to_str().unwrap()];
    full.extend_from_slice(args);
    dcosreg(&full)
}

#[test]
fn trusted_by_skopeo_and_docker_after_trust_and_not_before() {
    let certs = tempfile::tempdir().unwrap();
    let vip = unique_loopback_ip();
    let ns = Netns::create();
    let (crt, key, _, fingerprint) = guide_cert(certs.path(), &[&vip, &ns.inner_ip]);
    let vip_registry = Registry::start(&vip, 443, &crt, &key);
    let mlb_registry = Registry::start_in_netns(&ns, 5000, &crt, &key);
    let internal = vip.clone(); // the VIP form: no port
    let external = mlb_registry.addr.clone(); // the MLB form: addr:5000

    let root = tempfile::tempdir().unwrap();
    let t = root.path();
    std::fs::create_dir_all(t.join("etc/docker")).unwrap();
    std::fs::create_dir_all(t.join("etc/containers")).unwrap();
    let (etc_docker, etc_containers) = (t.join("etc/docker"), t.join("etc/containers"));

    for addr in [&internal, &external] {
        let (ok, msg) = skopeo_default_verdict(addr, &etc_docker, &etc_containers);
        assert!(!ok, "skopeo accepted {addr} before trust");
        assert!(msg.contains("x509"), "skopeo before trust on {addr}: {msg}");
    }
    let (ok, msg) = docker_verdict(&external, &etc_docker);
    assert!(!ok && msg.contains("x509"), "docker before trust: {msg}");

    let out = run_in(
        t,
        &[
            "--internal",
            &internal,
            "--external",
            &external,
            "trust",
            "--fingerprint",
            &fingerprint,
            "--target",
            "docker,containers",
        ],
    );
    assert_status(&out, 0);
    // The user was shown the fingerprint openssl computes.
    assert!(stderr(&out).contains(&fingerprint), "{}", stderr(&out));
    for dir in [
        format!("etc/docker/certs.d/{vip}/ca.crt"),
        format!("etc/docker/certs.d/{vip}:443/ca.crt"),
        format!("etc/docker/certs.d/{external}/ca.crt"),
        format!("etc/containers/certs.d/{external}/ca.crt"),
    ] {
        assert!(t.join(&dir).is_file(), "{dir} missing:\n{}", stdout(&out));
    }

    for addr in [&internal, &external] {
        let (ok, msg) = skopeo_default_verdict(addr, &etc_docker, &etc_containers);
        assert!(ok, "skopeo rejected {addr} after trust: {msg}");
    }
    let (ok, msg) = docker_verdict(&external, &etc_docker);
    assert!(ok, "docker rejected {external} after trust: {msg}");
    // No docker oracle for the 127.x VIP: the docker CLI treats 127.0.0.0/8 as an
    // insecure registry by default and skips verification, so it could not fail.

    // Our own verdict after installing agrees with the Go clients, and a second run
    // changes nothing.
    let out = run_in(
        t,
        &[
            "--internal",
            &internal,
            "--external",
            &external,
            "--format",
            "json",
            "trust",
            "--yes",
            "--target",
            "docker,containers",
        ],
    );
    assert_status(&out, 0);
    let json = json(&out);
    let verdicts = json["verdicts"].as_array().unwrap();
    assert_eq!(verdicts.len(), 4, "{json:#}");
    assert!(verdicts.iter().all(|v| v["trusted"] == true), "{json:#}");
    assert!(json["steps"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["action"] == "already-installed"));

    // untrust takes it all back: Go clients reject again.
    let out = run_in(
        t,
        &["--internal", &internal, "--external", &external, "untrust"],
    );
    assert_status(&out, 0);
    let (ok, _) = docker_verdict(&external, &etc_docker);
    assert!(!ok, "docker still accepts after untrust");
    assert!(
        snapshot(t).is_empty(),
        "files left: {:?}",
        snapshot(t).keys()
    );
    assert!(
        t.join("etc/docker").is_dir(),
        "a directory we did not create was removed"
    );
    drop((vip_registry, mlb_registry));
}

/// --ca-file flow, no network: the endpoints are never contacted (--no-verify skips the
/// check after installing, which would connect to 192.168.x).
fn file_args<'a>(ca: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "--internal",
        "192.168.0.1",
        "--external",
        "192.168.1.50:5000",
        "trust",
        "--no-verify",
        "--ca-file",
        ca,
    ];
    args.extend_from_slice(extra);
    args
}

#[test]
fn refusals_write_nothing() {
    let certs = tempfile::tempdir().unwrap();
    let (crt, _, _, fingerprint) = guide_cert(certs.path(), &["192.168.0.1", "192.168.1.50"]);
    let ca = crt.to_str().unwrap();
    let root = tempfile::tempdir().unwrap();
    let t = root.path();

    // No terminal, no --yes, no --fingerprint.
    let out = run_in(t, &file_args(ca, &[]));
    assert_status(&out, 2);
    assert!(stderr(&out).contains("--fingerprint"), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&fingerprint),
        "details shown: {}",
        stderr(&out)
    );
    assert!(snapshot(t).is_empty());

    // A fingerprint that matches nothing.
    let wrong = "00:".repeat(31) + "00";
    let out = run_in(t, &file_args(ca, &["--fingerprint", &wrong]));
    assert_status(&out, 2);
    assert!(
        stderr(&out).contains("matches no certificate"),
        "{}",
        stderr(&out)
    );
    assert!(snapshot(t).is_empty());

    // Malformed fingerprint.
    let out = run_in(t, &file_args(ca, &["--fingerprint", "abc"]));
    assert_status(&out, 2);
    assert!(snapshot(t).is_empty());

    // Unknown target, unreadable CA file.
    let out = run_in(t, &file_args(ca, &["--yes", "--target", "dockerd"]));
    assert_status(&out, 2);
    // One line naming the value, the flag and every target there is.
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("docker-dcosreg: invalid value 'dockerd' for '--target <LIST>'")
            && err
                .contains("choose one of: docker, containerd, containers, buildkit, mesos, system"),
        "{err}"
    );
    let out = run_in(t, &file_args("/nonexistent/ca.pem", &["--yes"]));
    assert_status(&out, 2);
    assert!(snapshot(t).is_empty());

    // --dry-run prints the plan and writes nothing.
    let out = run_in(t, &file_args(ca, &["--dry-run"]));
    assert_status(&out, 0);
    assert!(stdout(&out).contains("would install"), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("certs.d/192.168.0.1:443/ca.crt"),
        "{}",
        stdout(&out)
    );
    assert!(snapshot(t).is_empty());

    // The right fingerprint, lower case without colons, installs.
    let bare = fingerprint.replace(':', "").to_lowercase();
    let out = run_in(t, &file_args(ca, &["--fingerprint", &bare]));
    assert_status(&out, 0);
    assert!(t
        .join("etc/docker/certs.d/192.168.1.50:5000/ca.crt")
        .is_file());
}

/// A CA that is already expired, or not yet valid, is refused before anything is asked or
/// written (Docker would refuse it at once), with what to do instead; `--dry-run` says so too.
#[test]
fn an_expired_or_future_ca_is_refused_and_nothing_written() {
    let certs = tempfile::tempdir().unwrap();
    for (name, from, to, says) in [
        ("expired", -30, -1, "expired on"),
        ("future", 2, 30, "is not valid before"),
    ] {
        let issued = Spec::names(&["registry.test"])
            .ca_true()
            .valid_days(from, to)
            .self_signed();
        let path = certs.path().join(format!("{name}.crt"));
        std::fs::write(&path, issued.pem()).unwrap();
        let ca = path.to_str().unwrap();
        let root = tempfile::tempdir().unwrap();
        let t = root.path();
        for extra in [&["--yes"][..], &["--dry-run"], &["--yes", "--add"]] {
            let out = run_in(t, &file_args(ca, extra));
            assert_status_for(&out, 2, format_args!("{name} {extra:?}"));
            let err = stderr(&out);
            assert!(
                err.contains(says) && err.contains("nothing installed"),
                "{err}"
            );
            assert!(err.contains("rotate the registry to a new CA"), "{err}");
            assert!(snapshot(t).is_empty(), "{name} {extra:?} wrote something");
        }
    }
}

#[test]
fn second_run_writes_nothing_and_untrust_spares_foreign_files() {
    let certs = tempfile::tempdir().unwrap();
    let (crt, _, pem, _) = guide_cert(certs.path(), &["192.168.0.1", "192.168.1.50"]);
    let ca = crt.to_str().unwrap();
    let root = tempfile::tempdir().unwrap();
    let t = root.path();
    let user_toml = "# my buildkitd settings\ndebug = true # keep this comment\n\n[worker.oci]\n  max-parallelism = 4 # tuned\n";
    std::fs::create_dir_all(t.join("etc/buildkit")).unwrap();
    std::fs::write(t.join("etc/buildkit/buildkitd.toml"), user_toml).unwrap();
    std::fs::create_dir_all(t.join("etc/containerd")).unwrap();
    std::fs::create_dir_all(t.join("var/lib/dcos")).unwrap();
    std::fs::create_dir_all(t.join("usr/local/share/ca-certificates")).unwrap();

    // Default targets: docker plus what is present under ROOT.
    let out = run_in(t, &file_args(ca, &["--yes", "--format", "json"]));
    assert_status(&out, 0);
    let json = json(&out);
    let targets: Vec<&str> = json["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        targets,
        ["docker", "containerd", "buildkit", "mesos", "system"],
        "containers is absent under ROOT"
    );
    assert!(json["steps"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["action"] == "create" || s["action"] == "update"));

    let buildkitd = std::fs::read_to_string(t.join("etc/buildkit/buildkitd.toml")).unwrap();
    assert!(
        buildkitd.starts_with(user_toml),
        "user content changed:\n{buildkitd}"
    );
    assert!(
        buildkitd.contains("[registry.\"192.168.1.50:5000\"]"),
        "{buildkitd}"
    );
    let hosts =
        std::fs::read_to_string(t.join("etc/containerd/certs.d/192.168.1.50:5000/hosts.toml"))
            .unwrap();
    assert!(
        hosts.contains("server = \"https://192.168.1.50:5000\""),
        "{hosts}"
    );
    assert!(
        hosts.contains("ca = [\"/etc/containerd/certs.d/192.168.1.50:5000/ca.crt\"]"),
        "{hosts}"
    );
    // The Mesos copy is named by OpenSSL's subject hash, as `openssl x509 -hash` says.
    let hash = std::process::Command::new("openssl")
        .args(["x509", "-hash", "-noout", "-in"])
        .arg(&crt)
        .output()
        .unwrap();
    let hash = String::from_utf8_lossy(&hash.stdout).trim().to_string();
    let hashed = t.join(format!("var/lib/dcos/pki/tls/certs/{hash}.0"));
    assert_eq!(
        std::fs::read_to_string(&hashed).unwrap(),
        pem.replace("\r\n", "\n")
    );

    // Second run: nothing written, every file says already installed, mtimes unchanged.
    let before = snapshot(t);
    std::thread::sleep(Duration::from_millis(20));
    let out = run_in(t, &file_args(ca, &["--yes"]));
    assert_status(&out, 0);
    let text = stdout(&out);
    assert!(
        !text.contains("now installed") && !text.contains("now updated"),
        "{text}"
    );
    assert!(text.contains("already installed"), "{text}");
    // No daemon reads a staged root: the empty restart list is said, not left unsaid.
    assert!(text.ends_with("no restart needed\n"), "{text}");
    assert_eq!(json["restart"], serde_json::json!([]));
    assert_eq!(before, snapshot(t), "the second run changed files");

    // A foreign file next to ours, and one of ours edited by the user.
    let foreign = t.join("etc/docker/certs.d/192.168.0.1/theirs.crt");
    std::fs::write(&foreign, "not ours").unwrap();
    let edited = t.join("etc/docker/certs.d/192.168.0.1:443/ca.crt");
    std::fs::write(&edited, "edited by the user").unwrap();

    let out = run_in(
        t,
        &[
            "--internal",
            "192.168.0.1",
            "--external",
            "192.168.1.50:5000",
            "untrust",
        ],
    );
    assert_status(&out, 0);
    assert!(
        stdout(&out).ends_with("no restart needed\n"),
        "{}",
        stdout(&out)
    );
    assert_eq!(std::fs::read_to_string(&foreign).unwrap(), "not ours");
    assert_eq!(
        std::fs::read_to_string(&edited).unwrap(),
        "edited by the user"
    );
    assert!(!t.join("etc/docker/certs.d/192.168.0.1/ca.crt").exists());
    assert!(
        !t.join("etc/docker/certs.d/192.168.1.50:5000").exists(),
        "empty dir we made stays"
    );
    assert!(!t.join("etc/containerd/certs.d").exists());
    assert!(!hashed.exists());
    assert_eq!(
        std::fs::read_to_string(t.join("etc/buildkit/buildkitd.toml")).unwrap(),
        user_toml,
        "buildkitd.toml is not back to the user's bytes"
    );
    assert!(
        t.join("usr/local/share/ca-certificates").is_dir(),
        "pre-existing dir removed"
    );
    assert!(
        !t.join("var/lib/docker-dcosreg").exists(),
        "empty manifest left behind"
    );
}

#[test]
fn a_different_ca_is_kept_unless_forced_and_traps_are_named() {
    let certs = tempfile::tempdir().unwrap();
    let (crt, _, pem, _) = guide_cert(certs.path(), &["192.168.0.1", "192.168.1.50"]);
    let ca = crt.to_str().unwrap();
    let root = tempfile::tempdir().unwrap();
    let t = root.path();
    let d = t.join("etc/docker");
    std::fs::create_dir_all(d.join("certs.d/192.168.1.50:5000")).unwrap();
    std::fs::create_dir_all(d.join("certs.d/192.168.1.50")).unwrap();
    let other = Spec::names(&["other"]).self_signed();
    let existing = d.join("certs.d/192.168.1.50:5000/ca.crt");
    std::fs::write(&existing, other.pem()).unwrap();
    std::fs::write(d.join("certs.d/192.168.1.50:5000/client.key"), "key").unwrap();
    std::fs::write(
        d.join("daemon.json"),
        r#"{"insecure-registries": ["192.168.0.0/16"]}"#,
    )
    .unwrap();

    let out = run_in(t, &file_args(ca, &["--yes", "--target", "docker"]));
    assert_status(&out, 1);
    assert!(
        stdout(&out).contains("different CA kept"),
        "{}",
        stdout(&out)
    );
    assert_eq!(
        std::fs::read_to_string(&existing).unwrap(),
        other.cert.pem()
    );
    let warnings = stderr(&out);
    assert!(
        warnings.contains("client.key has no matching client.cert"),
        "{warnings}"
    );
    assert!(warnings.contains("insecure-registries"), "{warnings}");
    assert!(warnings.contains("named without the port"), "{warnings}");

    let out = run_in(
        t,
        &file_args(ca, &["--yes", "--target", "docker", "--force"]),
    );
    assert_status(&out, 0);
    assert_eq!(
        std::fs::read_to_string(&existing).unwrap(),
        pem.replace("\r\n", "\n")
    );
}

/// `--force` over a DER `ca.crt` (which Docker ignores) replaces it and says nothing about
/// it: the traps are inspected with the CA in place, not the file it replaced.
#[test]
fn force_over_a_der_ca_warns_about_nothing_it_replaced() {
    let certs = tempfile::tempdir().unwrap();
    let (crt, _, pem, _) = guide_cert(certs.path(), &["192.168.0.1", "192.168.1.50"]);
    let root = tempfile::tempdir().unwrap();
    let t = root.path();
    let dir = t.join("etc/docker/certs.d/192.168.1.50:5000");
    std::fs::create_dir_all(&dir).unwrap();
    let existing = dir.join("ca.crt");
    std::fs::write(&existing, Spec::names(&["other"]).self_signed().der()).unwrap();

    let out = run_in(
        t,
        &file_args(
            crt.to_str().unwrap(),
            &["--yes", "--target", "docker", "--force", "--format", "json"],
        ),
    );
    assert_status(&out, 0);
    assert_eq!(
        std::fs::read_to_string(&existing).unwrap(),
        pem.replace("\r\n", "\n")
    );
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(report["findings"], serde_json::json!([]), "{report}");
    assert!(!stderr(&out).contains("DER"), "{}", stderr(&out));
}

/// trust's warnings are doctor's findings: the same code, message and fix for each trap,
/// and none of what trust is about to install (a missing certs.d directory).
#[test]
fn trust_warns_with_the_findings_doctor_reports() {
    let certs = tempfile::tempdir().unwrap();
    let (crt, _, _, _) = guide_cert(certs.path(), &["192.168.0.1", "192.168.1.50"]);
    let root = tempfile::tempdir().unwrap();
    let t = root.path();
    let d = t.join("etc/docker");
    std::fs::create_dir_all(d.join("certs.d/192.168.1.50:5000")).unwrap();
    std::fs::write(d.join("certs.d/192.168.1.50:5000/client.key"), "key").unwrap();
    std::fs::write(
        d.join("daemon.json"),
        r#"{"insecure-registries": ["http://192.168.1.50:5000"]}"#,
    )
    .unwrap();

    let out = run_in(
        t,
        &file_args(
            crt.to_str().unwrap(),
            &["--dry-run", "--target", "docker", "--format", "json"],
        ),
    );
    assert_status(&out, 0);
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let trust_findings = report["findings"].as_array().unwrap().clone();
    let codes: Vec<&str> = trust_findings
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["insecure-registry", "orphan-key"], "{report}");

    let out = run_in(
        t,
        &[
            "--internal",
            "192.168.0.1",
            "--external",
            "192.168.1.50:5000",
            "doctor",
            "--offline",
            "--format",
            "json",
        ],
    );
    let doctor: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let doctor_findings = doctor["findings"].as_array().unwrap();
    for finding in &trust_findings {
        assert!(
            doctor_findings.contains(finding),
            "{finding} not in {doctor}"
        );
    }
    assert!(
        doctor_findings
            .iter()
            .any(|f| f["code"] == "certs-d-missing"),
        "{doctor}"
    );
}

#[test]
fn no_permission_means_exit_2_and_nothing_written() {
    require_tool("setpriv");
    let certs = tempfile::tempdir().unwrap();
    let (crt, _, _, _) = guide_cert(certs.path(), &["192.168.0.1", "192.168.1.50"]);
    let root = tempfile::tempdir().unwrap();
    let t = root.path();
    std::fs::create_dir_all(t.join("etc/docker/certs.d")).unwrap();
    // The CA must be readable by the unprivileged user.
    let readable = t.join("ca.pem");
    std::fs::copy(&crt, &readable).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&readable, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::set_permissions(t, std::fs::Permissions::from_mode(0o755)).unwrap();
    let before = snapshot(t);
    let out = Dcosreg::via(as_nobody())
        .args(["--root", t.to_str().unwrap()])
        .args(file_args(
            readable.to_str().unwrap(),
            &["--yes", "--target", "docker"],
        ))
        .env("HOME", "/nonexistent")
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("XDG_RUNTIME_DIR")
        .run();
    assert_status(&out, 2);
    assert!(stderr(&out).contains("run with sudo"), "{}", stderr(&out));
    assert_eq!(before, snapshot(t));
}

/// `setpriv` running the binary as nobody (65534), without supplementary groups.
fn as_nobody() -> std::process::Command {
    let mut setpriv = std::process::Command::new("setpriv");
    setpriv
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(bin_path());
    setpriv
}

/// kill -9 at random moments: every file is then either absent or complete.
#[test]
fn kill_9_never_leaves_a_partial_file() {
    let certs = tempfile::tempdir().unwrap();
    let (crt, _, pem, _) = guide_cert(certs.path(), &["192.168.0.1", "192.168.1.50"]);
    let pem = pem.replace("\r\n", "\n");
    let user_toml = "# mine\ndebug = true\n";
    let prepare = || {
        let root = tempfile::tempdir().unwrap();
        for dir in [
            "etc/buildkit",
            "etc/containerd",
            "etc/containers",
            "var/lib/dcos",
        ] {
            std::fs::create_dir_all(root.path().join(dir)).unwrap();
        }
        std::fs::write(root.path().join("etc/buildkit/buildkitd.toml"), user_toml).unwrap();
        root
    };
    let start = |t: &Path| {
        let mut run = Dcosreg::new(["--root", t.to_str().unwrap()])
            .args(file_args(crt.to_str().unwrap(), &["--yes"]))
            .home(t);
        run.command().stdout(Stdio::null()).stderr(Stdio::null());
        run.spawn().0
    };
    // One undisturbed run: how long it takes and how many files it writes.
    let full = prepare();
    let began = std::time::Instant::now();
    assert!(start(full.path()).wait().unwrap().success());
    let span = began.elapsed().as_micros().max(1000) as u64;
    let complete = snapshot(full.path()).len();
    let mut partial_runs = 0;
    for round in 0..20u64 {
        let root = prepare();
        let t = root.path();
        let mut child = start(t);
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos() as u64;
        let delay = (nanos ^ (round * 7919)) % span;
        std::thread::sleep(Duration::from_micros(delay));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let files = snapshot(t);
        if files.len() > 1 && files.len() < complete {
            partial_runs += 1;
        }
        for (path, (bytes, _)) in files {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let text = String::from_utf8_lossy(&bytes);
            if name.starts_with(".dcosreg-") {
                continue; // an unrenamed temp file: never read by anyone
            } else if name.ends_with(".toml") {
                assert!(
                    text.parse::<toml::Table>().is_ok(),
                    "{}: {text}",
                    path.display()
                );
                if name == "buildkitd.toml" {
                    assert!(text.starts_with(user_toml), "{text}");
                }
            } else if name.ends_with(".json") {
                assert!(serde_json::from_slice::<serde_json::Value>(&bytes).is_ok());
            } else {
                assert_eq!(text, pem, "{} is partial", path.display());
            }
        }
    }
    // Temp files an interrupted run left behind: the next run removes the stale ones
    // (older than a minute) and leaves a fresh one, which may belong to a run in progress.
    let root = prepare();
    let t = root.path();
    let dir = t.join("etc/docker/certs.d/192.168.0.1");
    std::fs::create_dir_all(&dir).unwrap();
    let stale = dir.join(".dcosreg-AbC123.tmp");
    let fresh = dir.join(".dcosreg-XyZ789.tmp");
    std::fs::write(&stale, "partial").unwrap();
    std::fs::write(&fresh, "partial").unwrap();
    std::fs::File::options()
        .write(true)
        .open(&stale)
        .unwrap()
        .set_modified(SystemTime::now() - Duration::from_secs(3600))
        .unwrap();
    assert!(start(t).wait().unwrap().success());
    assert!(!stale.exists(), "a stale temp file was left");
    assert!(
        fresh.exists(),
        "a fresh temp file (maybe another run's) was removed"
    );
    assert!(
        partial_runs > 0,
        "no run was killed while writing (a full run writes {complete} files in {span}µs)"
    );
}

/// A CA and a leaf it signs for `ips`; the registry serves only the leaf (root not sent).
fn ca_and_leaf(dir: &Path, ips: &[&str]) -> (PathBuf, PathBuf, PathBuf) {
    let [ca, leaf] = chain([Spec::ca("Test Registry CA"), Spec::names(ips)]);
    let (leaf_path, key_path) = leaf.write_with_key(dir, "leaf.crt", "leaf.key");
    (ca.write(dir, "ca.crt"), leaf_path, key_path)
}

#[test]
fn verdict_after_install_matches_go_when_the_name_is_wrong_and_when_the_root_is_not_sent() {
    let certs = tempfile::tempdir().unwrap();
    // 1. A self-signed certificate that does not name the address: trusting it cannot help.
    // In a netns, not on 127.x: the docker CLI treats 127.0.0.0/8 as an insecure registry
    // by default and would skip verification.
    let ns = Netns::create();
    let (crt, key, _, _) = guide_cert(certs.path(), &["10.99.99.99"]);
    let registry = Registry::start_in_netns(&ns, 5000, &crt, &key);
    let root = tempfile::tempdir().unwrap();
    let t = root.path();
    let out = run_in(
        t,
        &[
            "--format",
            "json",
            "trust",
            &registry.addr,
            "--yes",
            "--target",
            "docker",
        ],
    );
    assert_status(&out, 1);
    let json = json(&out);
    let ours = json["verdicts"][0]["docker_error"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let (ok, go) = docker_verdict(&registry.addr, &t.join("etc/docker"));
    assert!(
        !ok,
        "docker accepted a certificate that does not name {}",
        registry.addr
    );
    // Go >= 1.20 crypto/tls wraps the x509 error as "tls: failed to verify certificate: …";
    // the x509 part must be the same text.
    assert!(
        ours.starts_with("x509: ") && go.ends_with(&ours),
        "our verdict {ours:?} differs from the docker CLI's {go:?}"
    );
    assert_eq!(json["verdicts"][0]["trusted"], false);

    // 2. The registry sends its leaf but not the root: the leaf is pinned, with a warning.
    let dir2 = tempfile::tempdir().unwrap();
    let ns2 = Netns::create();
    let (_ca, leaf, leaf_key) = ca_and_leaf(dir2.path(), &[&ns2.inner_ip]);
    let registry2 = Registry::start_in_netns(&ns2, 5000, &leaf, &leaf_key);
    let root2 = tempfile::tempdir().unwrap();
    let t2 = root2.path();
    let out = run_in(
        t2,
        &["trust", &registry2.addr, "--yes", "--target", "docker"],
    );
    assert_status(&out, 0);
    assert!(
        stderr(&out).contains("did not send its root CA"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("--ca-file"), "{}", stderr(&out));
    let installed = t2.join(format!("etc/docker/certs.d/{}", registry2.addr));
    let (ok, msg) = skopeo_verdict(&registry2.addr, &installed);
    assert!(ok, "skopeo rejects the pinned leaf: {msg}");
    let (ok, msg) = docker_verdict(&registry2.addr, &t2.join("etc/docker"));
    assert!(ok, "docker rejects the pinned leaf: {msg}");
}

#[test]
fn ca_url_and_a_yes_typed_on_a_terminal() {
    require_tool("script");
    let certs = tempfile::tempdir().unwrap();
    let (ca, _, _) = ca_and_leaf(certs.path(), &["192.168.0.1"]);
    let pem = std::fs::read_to_string(&ca).unwrap();

    // A one-shot HTTP server on loopback serving the CA, like https://<master>/ca/dcos-ca.crt.
    let ip = unique_loopback_ip();
    let listener = std::net::TcpListener::bind((ip.as_str(), 0)).unwrap();
    let url = format!("http://{}/ca/dcos-ca.crt", listener.local_addr().unwrap());
    let body = pem.clone();
    let server = std::thread::spawn(move || {
        use std::io::{Read, Write};
        listener.set_nonblocking(false).unwrap();
        let (mut conn, _) = listener.accept().unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = [0u8; 2048];
        let _ = conn.read(&mut buf);
        let reply = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/x-x509-ca-cert\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        conn.write_all(reply.as_bytes()).unwrap();
    });
    let root = tempfile::tempdir().unwrap();
    let t = root.path();
    let out = run_in(
        t,
        &[
            "--internal",
            "192.168.0.1",
            "--external",
            "192.168.1.50:5000",
            "trust",
            "--no-verify",
            "--ca-url",
            &url,
            "--yes",
            "--target",
            "docker",
        ],
    );
    server.join().unwrap();
    assert_status(&out, 0);
    assert_eq!(
        std::fs::read_to_string(t.join("etc/docker/certs.d/192.168.1.50:5000/ca.crt")).unwrap(),
        pem.replace("\r\n", "\n")
    );

    // On a terminal: "n" installs nothing (exit 1), "y" installs.
    let typed = |answer: &str, t: &Path| {
        let command = format!(
            "{} --root {} --internal 192.168.0.1 --external 192.168.1.50:5000 trust --no-verify --ca-file {} --target docker",
            bin_path().display(),
            t.display(),
            ca.display()
        );
        let mut on_a_terminal = std::process::Command::new("script");
        on_a_terminal.args(["-qec", &command, "/dev/null"]);
        Dcosreg::via(on_a_terminal)
            .stdin(format!("{answer}\n"))
            .timeout(Duration::from_secs(20))
            .run()
    };
    let root2 = tempfile::tempdir().unwrap();
    let out = typed("n", root2.path());
    assert_status(&out, 1);
    assert!(stdout(&out).contains("[y/N]"), "{}", stdout(&out));
    assert!(snapshot(root2.path()).is_empty());
    let out = typed("y", root2.path());
    assert_status(&out, 0);
    assert!(root2
        .path()
        .join("etc/docker/certs.d/192.168.0.1/ca.crt")
        .is_file());
}

#[test]
fn per_user_directories_when_not_root() {
    require_tool("setpriv");
    let certs = tempfile::tempdir().unwrap();
    let (crt, _, _, _) = guide_cert(certs.path(), &["192.168.0.1", "192.168.1.50"]);
    let root = tempfile::tempdir().unwrap();
    let t = root.path();
    let runtime = tempfile::tempdir().unwrap();
    std::fs::write(runtime.path().join("docker.sock"), "").unwrap(); // rootless dockerd's socket
    let ca = t.join("ca.pem");
    std::fs::copy(&crt, &ca).unwrap();
    std::fs::create_dir_all(t.join("etc/containers")).unwrap();
    let chown = std::process::Command::new("chown")
        .args(["-R", "65534:65534"])
        .arg(t)
        .status()
        .unwrap();
    assert!(chown.success());
    let out = Dcosreg::via(as_nobody())
        .args(["--root", t.to_str().unwrap()])
        .args(file_args(
            ca.to_str().unwrap(),
            &["--yes", "--target", "docker,containers"],
        ))
        .env("HOME", "/home/u")
        .env("XDG_CONFIG_HOME", "/home/u/.config")
        .env("XDG_RUNTIME_DIR", runtime.path())
        .run();
    assert_status(&out, 0);
    assert!(
        t.join("home/u/.config/docker/certs.d/192.168.1.50:5000/ca.crt")
            .is_file(),
        "{}",
        stdout(&out)
    );
    assert!(
        t.join("home/u/.config/containers/certs.d/192.168.0.1/ca.crt")
            .is_file(),
        "{}",
        stdout(&out)
    );
    assert!(!t.join("etc/docker").exists());
}

#[test]
fn an_unreachable_endpoint_is_reported_and_the_others_installed() {
    let certs = tempfile::tempdir().unwrap();
    let ip = unique_loopback_ip();
    let port = free_port(&ip);
    let (crt, key, _, _) = guide_cert(certs.path(), &[&ip]);
    let registry = Registry::start(&ip, port, &crt, &key);
    let closed = format!("{ip}:{}", free_port(&ip)); // nothing listens there
    let root = tempfile::tempdir().unwrap();
    let t = root.path();
    let out = run_in(
        t,
        &[
            "--timeout",
            "2s",
            "--format",
            "json",
            "trust",
            &registry.addr,
            &closed,
            "--yes",
            "--target",
            "docker",
        ],
    );
    assert_status(&out, 1);
    let json = json(&out);
    assert_eq!(json["endpoints"][1]["status"], "unreachable", "{json:#}");
    assert!(stderr(&out).contains(&closed), "{}", stderr(&out));
    assert!(t
        .join(format!("etc/docker/certs.d/{}/ca.crt", registry.addr))
        .is_file());
    assert!(!t.join(format!("etc/docker/certs.d/{closed}")).exists());
    // Only the unreachable one: nothing to trust, exit 2, nothing written.
    let root2 = tempfile::tempdir().unwrap();
    let out = run_in(
        root2.path(),
        &["--timeout", "2s", "trust", &closed, "--yes"],
    );
    assert_status(&out, 2);
    assert!(snapshot(root2.path()).is_empty());
    // Each fact once: the cause in one warning naming the endpoint once, not again in the
    // final error.
    let err = stderr(&out);
    assert_eq!(err.matches("connection refused").count(), 1, "{err}");
    assert_eq!(err.matches(closed.as_str()).count(), 1, "{err}");
    assert!(err.contains("see the warnings above"), "{err}");
}

/// A CA rotation on a staged root: `trust --add` installs the new CA beside the old one in
/// every store (a second `*.crt` in Docker's and containers' certs.d, a second entry in
/// containerd's hosts.toml and BuildKit's `ca` lists), twice is "already installed", and
/// `untrust --fingerprint OLD` (or `--ca-file`) removes the old CA's files and entries only.
#[test]
fn add_installs_beside_and_untrust_by_fingerprint_removes_only_that_ca() {
    let certs = tempfile::tempdir().unwrap();
    let old = Spec::ca("old registry CA").self_signed();
    let new = Spec::ca("new registry CA").self_signed();
    let old_file = old.write(certs.path(), "old.crt");
    let new_file = new.write(certs.path(), "new.crt");
    let (old_fp, new_fp) = (
        openssl_fingerprint(&old.pem()),
        openssl_fingerprint(&new.pem()),
    );
    let root = tempfile::tempdir().unwrap();
    let t = root.path();
    let targets = ["--target", "docker,containers,containerd,buildkit"];
    let trust = |file: &Path, extra: &[&str]| {
        let mut args = file_args(file.to_str().unwrap(), &["--yes"]);
        args.extend_from_slice(&targets);
        args.extend_from_slice(extra);
        run_in(t, &args)
    };
    assert_status(&trust(&old_file, &[]), 0);
    // Without --add the new CA is kept out, as before.
    let kept = trust(&new_file, &[]);
    assert_status(&kept, 1);
    assert!(stdout(&kept).contains("--add"), "{}", stdout(&kept));

    let added = trust(&new_file, &["--add"]);
    assert_status(&added, 0);
    let dir = t.join("etc/docker/certs.d/192.168.1.50:5000");
    let tag: String = new_fp.replace(':', "").to_ascii_lowercase()[..16].to_string();
    let beside = dir.join(format!("ca-{tag}.crt"));
    assert_eq!(
        std::fs::read_to_string(dir.join("ca.crt")).unwrap(),
        old.pem()
    );
    assert_eq!(std::fs::read_to_string(&beside).unwrap(), new.pem());
    assert!(t
        .join(format!("etc/containers/certs.d/192.168.0.1/ca-{tag}.crt"))
        .is_file());
    let hosts =
        std::fs::read_to_string(t.join("etc/containerd/certs.d/192.168.0.1/hosts.toml")).unwrap();
    assert!(
        hosts.contains("/etc/containerd/certs.d/192.168.0.1/ca.crt")
            && hosts.contains(&format!("/etc/containerd/certs.d/192.168.0.1/ca-{tag}.crt")),
        "{hosts}"
    );
    let buildkit = std::fs::read_to_string(t.join("etc/buildkit/buildkitd.toml")).unwrap();
    assert!(buildkit.contains(&format!("ca-{tag}.crt")), "{buildkit}");
    // Idempotent.
    let again = trust(&new_file, &["--add"]);
    assert_status(&again, 0);
    assert!(
        !stdout(&again).contains("created") && stdout(&again).contains("already installed"),
        "{}",
        stdout(&again)
    );

    // The old CA goes, the new one stays, in every store.
    let untrust = run_in(
        t,
        &[
            "--internal",
            "192.168.0.1",
            "--external",
            "192.168.1.50:5000",
            "untrust",
            "--fingerprint",
            &old_fp,
        ],
    );
    assert_status(&untrust, 0);
    assert!(
        !dir.join("ca.crt").exists(),
        "the old CA is still in {}",
        dir.display()
    );
    assert_eq!(std::fs::read_to_string(&beside).unwrap(), new.pem());
    let hosts =
        std::fs::read_to_string(t.join("etc/containerd/certs.d/192.168.0.1/hosts.toml")).unwrap();
    assert!(
        !hosts.contains("192.168.0.1/ca.crt") && hosts.contains(&format!("ca-{tag}.crt")),
        "{hosts}"
    );
    let buildkit = std::fs::read_to_string(t.join("etc/buildkit/buildkitd.toml")).unwrap();
    assert!(
        !buildkit.contains("/ca.crt\"") && buildkit.contains(&format!("ca-{tag}.crt")),
        "{buildkit}"
    );
    // By file too; then a plain untrust removes the rest and leaves nothing of ours.
    let by_file = run_in(
        t,
        &[
            "--internal",
            "192.168.0.1",
            "--external",
            "192.168.1.50:5000",
            "untrust",
            "--ca-file",
            new_file.to_str().unwrap(),
        ],
    );
    assert_status(&by_file, 0);
    assert!(!beside.exists());
    let untrust = run_in(
        t,
        &[
            "--internal",
            "192.168.0.1",
            "--external",
            "192.168.1.50:5000",
            "untrust",
        ],
    );
    assert_status(&untrust, 0);
    let left: Vec<_> = snapshot(t)
        .into_keys()
        .filter(|p| !p.starts_with(t.join("var")))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// The fingerprint people take first, `openssl x509 -fingerprint -in domain.crt`, is the
/// registry's own certificate's: pinning it installs the CA that signed it (the chain as
/// presented links up to it), and trust says which certificate matched. A fingerprint of
/// nothing presented is still refused.
#[test]
fn pinning_the_registry_s_own_certificate_installs_its_ca() {
    let dir = tempfile::tempdir().unwrap();
    let ip = unique_loopback_ip();
    let (certs, registry) = served_cert(dir.path(), &ip);
    // openssl reads the first certificate of domain.crt: the registry's own.
    let leaf = openssl_fingerprint(&std::fs::read_to_string(certs.join("domain.crt")).unwrap());
    let ca = openssl_fingerprint(&std::fs::read_to_string(certs.join("ca.crt")).unwrap());
    assert_ne!(leaf, ca);
    let root = tempfile::tempdir().unwrap();
    let t = root.path();
    let trust = |fingerprint: &str| {
        run_in(
            t,
            &[
                "--internal",
                &ip,
                "--external",
                &format!("{ip}:5000"),
                "--timeout",
                "5s",
                "trust",
                &ip,
                "--fingerprint",
                fingerprint,
                "--target",
                "docker",
            ],
        )
    };
    let other = "ab:".repeat(31) + "ab";
    let refused = trust(&other);
    assert_status(&refused, 2);
    assert!(snapshot(t).is_empty());

    let out = trust(&leaf);
    assert_status_for(&out, 0, format_args!("trust --fingerprint LEAF"));
    let err = stderr(&out);
    assert!(err.contains("own certificate"), "{err}");
    let installed = std::fs::read_to_string(t.join(format!("etc/docker/certs.d/{ip}/ca.crt")))
        .expect("ca.crt installed");
    assert_eq!(openssl_fingerprint(&installed), ca, "the CA, not the leaf");
    // Installed, the registry is trusted (the post-install verdict).
    assert!(stdout(&out).contains("trusted"), "{}", stdout(&out));
    drop(registry);
}

/// check's unknown-authority fix, on a staged root, is a trust that carries `--root` and the
/// endpoints of the run: pasted as printed (answering y on a terminal) it installs under that
/// root, never the host's /etc, and check then says trusted.
#[test]
fn check_s_printed_trust_carries_the_root_and_runs_as_printed() {
    require_tool("script");
    let dir = tempfile::tempdir().unwrap();
    let ip = unique_loopback_ip();
    let external = format!("{ip}:5000");
    let (_certs, registry) = served_cert(dir.path(), &ip);
    let root = tempfile::tempdir().unwrap();
    let t = root.path();
    let check = || {
        json(&run_in(
            t,
            &[
                "--internal",
                &ip,
                "--external",
                &external,
                "--timeout",
                "5s",
                "--format",
                "json",
                "check",
                &ip,
            ],
        ))
    };
    let report = check();
    let finding = report["endpoints"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "unknown-authority")
        .cloned()
        .unwrap_or_else(|| panic!("unknown-authority: {report}"));
    let fix = finding["fix"].as_str().unwrap();
    let command = fix.split('`').nth(1).unwrap_or_else(|| panic!("{fix}"));
    assert!(
        command.starts_with(&format!("docker-dcosreg --root {} ", t.display())),
        "{command}"
    );
    assert!(command.ends_with(&format!("trust {ip}")), "{command}");
    assert!(command.contains(&format!("--internal {ip}")), "{command}");

    let pasted = command.replacen("docker-dcosreg", &bin_path().display().to_string(), 1);
    let mut on_a_terminal = std::process::Command::new("script");
    on_a_terminal.args(["-qec", &pasted, "/dev/null"]);
    let out = Dcosreg::via(on_a_terminal)
        .stdin("y\n")
        .timeout(Duration::from_secs(20))
        .run();
    assert_status_for(&out, 0, format_args!("{pasted}"));
    assert!(t.join(format!("etc/docker/certs.d/{ip}/ca.crt")).is_file());
    assert_eq!(check()["endpoints"][0]["status"], "trusted");
    drop(registry);
}

/// `cert` for `ip` (internal) and `ip:5000` (external), served by a real docker-registry on
/// `ip`:443: the certs directory (ca.crt, domain.crt, domain.key) and the running registry.
fn served_cert(dir: &Path, ip: &str) -> (PathBuf, Registry) {
    let certs = dir.join("certs");
    let external = format!("{ip}:5000");
    let out = dcosreg(&[
        "cert",
        "--out",
        certs.to_str().unwrap(),
        "--internal",
        ip,
        "--external",
        &external,
    ]);
    assert_status(&out, 0);
    let registry = Registry::start(
        ip,
        443,
        &certs.join("domain.crt"),
        &certs.join("domain.key"),
    );
    (certs, registry)
}
