//! `doctor` on staged roots: one broken root per finding; the printed fix, run as printed,
//! must make the finding go away.

mod support;

use std::path::Path;
use std::process::Command;

use support::certs::Spec;
use support::{assert_status, assert_status_for, dcosreg, stderr, stdout};

const INTERNAL: &str = "127.0.0.5";
const EXTERNAL: &str = "127.0.0.6:5000";

fn doctor(root: &Path) -> (Option<i32>, Vec<serde_json::Value>) {
    let out = dcosreg(&[
        "--root",
        root.to_str().unwrap(),
        "--internal",
        INTERNAL,
        "--external",
        EXTERNAL,
        "doctor",
        "--offline",
        "--format",
        "json",
    ]);
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap_or_else(|e| {
        panic!(
            "doctor printed no JSON ({e}): {}{}",
            stdout(&out),
            stderr(&out)
        )
    });
    (
        out.status.code(),
        report["findings"].as_array().unwrap().clone(),
    )
}

fn find<'a>(findings: &'a [serde_json::Value], code: &str) -> Option<&'a serde_json::Value> {
    findings.iter().find(|f| f["code"] == code)
}

fn write(root: &Path, rel: &str, contents: &[u8]) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, contents).unwrap();
}

/// A valid CA in PEM, so that only the problem under test shows.
fn ca_pem(days: i64) -> String {
    Spec::names(&["registry.test"])
        .ca_true()
        .valid_days(-1, days)
        .self_signed()
        .pem()
}

/// A root where docker's certs.d is healthy for both endpoints.
fn healthy_root() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let ca = ca_pem(365);
    for dir in ["127.0.0.5", "127.0.0.5:443", "127.0.0.6:5000"] {
        write(
            root.path(),
            &format!("etc/docker/certs.d/{dir}/ca.crt"),
            ca.as_bytes(),
        );
    }
    root
}

/// Break a healthy root, see `code`, run its fix as printed, see it gone.
fn assert_fix_works(code: &str, expect_exit: i32, breakage: impl FnOnce(&Path)) {
    let root = healthy_root();
    let (status, before) = doctor(root.path());
    assert!(before.is_empty(), "healthy root has findings: {before:?}");
    assert_eq!(status, Some(0));

    breakage(root.path());
    let (status, findings) = doctor(root.path());
    let finding =
        find(&findings, code).unwrap_or_else(|| panic!("{code} not reported: {findings:?}"));
    assert_eq!(status, Some(expect_exit), "{findings:?}");
    let message = finding["message"].as_str().unwrap();
    assert!(!message.is_empty());
    let fix = finding["fix"]
        .as_str()
        .unwrap_or_else(|| panic!("{code} has no fix"));
    assert!(!fix.contains("sudo"), "no sudo on a staged root: {fix}");

    let ran = Command::new("sh").arg("-c").arg(fix).output().unwrap();
    assert_status_for(&ran, 0, format_args!("fix for {code} failed: {fix}"));
    let (_, after) = doctor(root.path());
    assert!(
        find(&after, code).is_none(),
        "{code} still reported after `{fix}`: {after:?}"
    );
}

#[test]
fn orphan_key_breaks_every_pull_and_is_fixed() {
    assert_fix_works("orphan-key", 1, |root| {
        write(root, "etc/docker/certs.d/127.0.0.6:5000/client.key", b"key");
    });
}

#[test]
fn client_cert_without_key_is_fixed_by_renaming_to_crt() {
    assert_fix_works("orphan-cert", 1, |root| {
        std::fs::rename(
            root.join("etc/docker/certs.d/127.0.0.6:5000/ca.crt"),
            root.join("etc/docker/certs.d/127.0.0.6:5000/ca.cert"),
        )
        .unwrap();
    });
}

#[test]
fn certs_d_named_without_the_port_is_renamed() {
    assert_fix_works("certs-d-without-port", 1, |root| {
        std::fs::rename(
            root.join("etc/docker/certs.d/127.0.0.6:5000"),
            root.join("etc/docker/certs.d/127.0.0.6"),
        )
        .unwrap();
    });
}

#[test]
fn vip_with_only_one_spelling_is_completed() {
    assert_fix_works("certs-d-one-form", 0, |root| {
        std::fs::remove_dir_all(root.join("etc/docker/certs.d/127.0.0.5:443")).unwrap();
    });
}

#[test]
fn non_pem_ca_is_reported_and_der_converted() {
    assert_fix_works("ca-not-pem", 1, |root| {
        let pem = std::fs::read(root.join("etc/docker/certs.d/127.0.0.5/ca.crt")).unwrap();
        let der = pem::parse(pem).unwrap().into_contents();
        write(root, "etc/docker/certs.d/127.0.0.5/ca.crt", &der);
    });
    assert_fix_works("ca-not-pem", 1, |root| {
        write(
            root,
            "etc/docker/certs.d/127.0.0.5:443/extra.crt",
            b"not a certificate\n",
        );
    });
}

#[test]
fn insecure_registry_entry_is_removed_from_daemon_json() {
    assert_fix_works("insecure-registry", 0, |root| {
        write(
            root,
            "etc/docker/daemon.json",
            br#"{"insecure-registries": ["127.0.0.6:5000", "other:5000"], "debug": true}"#,
        );
    });
    assert_fix_works("insecure-registry", 0, |root| {
        write(
            root,
            "etc/docker/daemon.json",
            br#"{"insecure-registries": ["127.0.0.0/8"]}"#,
        );
    });
}

#[test]
fn invalid_daemon_json_is_an_error_naming_the_line() {
    let root = healthy_root();
    write(
        root.path(),
        "etc/docker/daemon.json",
        b"{\n  \"debug\": true,\n}\n",
    );
    let (status, findings) = doctor(root.path());
    assert_eq!(status, Some(1));
    let finding = find(&findings, "daemon-json-invalid").expect("reported");
    assert!(
        finding["message"].as_str().unwrap().contains("line 3"),
        "{finding}"
    );
}

#[test]
fn containerd_config_path_is_added_both_ways() {
    // The registry table exists: the fix inserts the key into it.
    assert_fix_works("containerd-config-path", 0, |root| {
        write(
            root,
            "etc/containerd/config.toml",
            b"version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".registry]\n  # keep me\n",
        );
        write(
            root,
            "etc/containerd/certs.d/127.0.0.5/hosts.toml",
            b"server = \"https://127.0.0.5\"\n",
        );
        write(
            root,
            "etc/containerd/certs.d/127.0.0.6:5000/hosts.toml",
            b"server = \"https://127.0.0.6:5000\"\n",
        );
    });
    // containerd 2 (version 3) with no registry table: the fix appends one.
    assert_fix_works("containerd-config-path", 0, |root| {
        write(root, "etc/containerd/config.toml", b"version = 3\n");
        write(
            root,
            "etc/containerd/certs.d/127.0.0.5/hosts.toml",
            b"server = \"https://127.0.0.5\"\n",
        );
        write(
            root,
            "etc/containerd/certs.d/127.0.0.6:5000/hosts.toml",
            b"server = \"https://127.0.0.6:5000\"\n",
        );
    });
}

/// No config.toml at all is containerd's defaults: the CRI's `config_path` is empty before
/// containerd 2.2. The printed fix writes a version-2 file, and the real containerd reads
/// `config_path` from it.
#[test]
fn containerd_without_config_toml_gets_one_that_containerd_reads() {
    let root = healthy_root();
    let r = root.path();
    for dir in ["127.0.0.5", "127.0.0.6:5000"] {
        write(
            r,
            &format!("etc/containerd/certs.d/{dir}/hosts.toml"),
            format!("server = \"https://{dir}\"\n").as_bytes(),
        );
    }
    let (_, findings) = doctor(r);
    let fix = find(&findings, "containerd-config-path")
        .and_then(|f| f["fix"].as_str())
        .unwrap_or_else(|| panic!("containerd-config-path with a fix: {findings:?}"))
        .to_string();
    let ran = Command::new("sh").arg("-c").arg(&fix).output().unwrap();
    assert_status_for(&ran, 0, format_args!("fix failed: {fix}"));
    let (_, after) = doctor(r);
    assert!(after.is_empty(), "{after:?}");

    let config = r.join("etc/containerd/config.toml");
    let dump = support::output_within(
        Command::new("containerd")
            .arg("--config")
            .arg(&config)
            .args(["config", "dump"]),
        std::time::Duration::from_secs(30),
    );
    assert_status_for(
        &dump,
        0,
        format_args!("containerd config dump of {config:?}"),
    );
    assert!(
        stdout(&dump).contains("config_path = \"/etc/containerd/certs.d\""),
        "{}",
        stdout(&dump)
    );
}

/// The status the real containerd gives its CRI plugin (`ctr plugins ls`: `ok` or `error`)
/// when started with `config` (its own root, state, socket and opt directory, given as flags
/// or appended, so nothing outside a temp dir is touched), and containerd's log.
fn cri_plugin_status(config: &Path) -> (String, String) {
    support::require_tool("containerd");
    support::require_tool("ctr");
    let dir = tempfile::Builder::new()
        .prefix("ctd")
        .tempdir_in("/tmp")
        .unwrap();
    let d = dir.path();
    let mut text = std::fs::read_to_string(config).unwrap_or_default();
    text.push_str(&format!(
        "\n[plugins.\"io.containerd.internal.v1.opt\"]\n  path = \"{}\"\n",
        d.join("opt").display()
    ));
    let run_config = d.join("config.toml");
    std::fs::write(&run_config, text).unwrap();
    let sock = d.join("c.sock");
    let log = std::fs::File::create(d.join("log")).unwrap();
    let mut child = Command::new("containerd")
        .arg("--config")
        .arg(&run_config)
        .arg("--address")
        .arg(&sock)
        .arg("--root")
        .arg(d.join("root"))
        .arg("--state")
        .arg(d.join("state"))
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    struct Stop<'a>(&'a mut std::process::Child);
    impl Drop for Stop<'_> {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _stop = Stop(&mut child);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !sock.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let out = support::output_within(
        Command::new("ctr")
            .arg("--address")
            .arg(&sock)
            .args(["plugins", "ls"]),
        std::time::Duration::from_secs(20),
    );
    let log = std::fs::read_to_string(d.join("log")).unwrap_or_default();
    assert_status_for(
        &out,
        0,
        format_args!("ctr plugins ls; containerd said:\n{log}"),
    );
    let status = stdout(&out)
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some("cri"))
        .and_then(|l| l.split_whitespace().nth(3))
        .unwrap_or("absent")
        .to_string();
    (status, log)
}

/// containerd's fixes keep containerd working: the printed `config_path` line, run as
/// printed, leaves the real containerd 1.6's CRI plugin loading; with legacy CRI `mirrors`
/// (common on Kubernetes nodes) the same line would take the plugin down (shown below with
/// containerd itself), so then there is no one-liner, only the migration to hosts.toml.
#[test]
fn containerd_fixes_keep_the_cri_plugin_loading() {
    let hosts = |root: &Path| {
        for dir in ["127.0.0.5", "127.0.0.6:5000"] {
            write(
                root,
                &format!("etc/containerd/certs.d/{dir}/hosts.toml"),
                format!("server = \"https://{dir}\"\n").as_bytes(),
            );
        }
    };
    let header = "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".registry]\n";

    // No legacy settings: the fix runs as printed and the CRI plugin loads.
    let root = healthy_root();
    let r = root.path();
    hosts(r);
    write(r, "etc/containerd/config.toml", header.as_bytes());
    let (_, findings) = doctor(r);
    let fix = find(&findings, "containerd-config-path")
        .and_then(|f| f["fix"].as_str())
        .unwrap_or_else(|| panic!("containerd-config-path with a fix: {findings:?}"))
        .to_string();
    let ran = Command::new("sh").arg("-c").arg(&fix).output().unwrap();
    assert_status_for(&ran, 0, format_args!("fix failed: {fix}"));
    let (_, after) = doctor(r);
    assert!(
        find(&after, "containerd-config-path").is_none(),
        "{after:?}"
    );
    let config = r.join("etc/containerd/config.toml");
    let (status, log) = cri_plugin_status(&config);
    assert_eq!(
        status,
        "ok",
        "the fixed config.toml:\n{}\n{log}",
        std::fs::read_to_string(&config).unwrap()
    );

    // Legacy mirrors and configs.tls: no one-liner; the message names them and the way out.
    for legacy in [
        "[plugins.\"io.containerd.grpc.v1.cri\".registry.mirrors.\"docker.io\"]\n  endpoint = [\"https://mirror.example\"]\n",
        "[plugins.\"io.containerd.grpc.v1.cri\".registry.configs.\"reg.example\".tls]\n  insecure_skip_verify = true\n",
    ] {
        let root = healthy_root();
        let r = root.path();
        hosts(r);
        let config = r.join("etc/containerd/config.toml");
        write(r, "etc/containerd/config.toml", format!("{header}{legacy}").as_bytes());
        let (_, findings) = doctor(r);
        let finding = find(&findings, "containerd-config-path")
            .unwrap_or_else(|| panic!("containerd-config-path: {findings:?}"));
        assert!(finding.get("fix").is_none_or(|f| f.is_null()), "{finding}");
        let message = finding["message"].as_str().unwrap();
        assert!(message.contains("hosts.toml") && message.contains("first"), "{message}");
        assert!(message.contains("mirror") || message.contains("tls"), "{message}");
        // What the old one-liner did: containerd then refuses the CRI plugin.
        let (status, _) = cri_plugin_status(&config);
        assert_eq!(status, "ok", "containerd loads the legacy config as it is");
        let broken = format!(
            "{header}config_path = \"/etc/containerd/certs.d\"\n{legacy}"
        );
        std::fs::write(&config, broken).unwrap();
        let (status, log) = cri_plugin_status(&config);
        assert_eq!(status, "error", "{log}");
        assert!(log.contains("cannot be set when `config_path` is provided"), "{log}");
    }
}

#[test]
fn conntrack_on_a_dcos_agent_is_set_and_persisted() {
    assert_fix_works("conntrack-strict", 0, |root| {
        std::fs::create_dir_all(root.join("opt/mesosphere")).unwrap();
        write(
            root,
            "proc/sys/net/netfilter/nf_conntrack_tcp_be_liberal",
            b"0\n",
        );
        write(
            root,
            "etc/sysctl.d/90-dcosreg-conntrack.conf",
            b"net.netfilter.nf_conntrack_tcp_be_liberal = 1\n",
        );
    });
    assert_fix_works("conntrack-not-persisted", 0, |root| {
        std::fs::create_dir_all(root.join("opt/mesosphere")).unwrap();
        write(
            root,
            "proc/sys/net/netfilter/nf_conntrack_tcp_be_liberal",
            b"1\n",
        );
    });
}

#[test]
fn expiring_and_expired_cas_are_reported() {
    let root = healthy_root();
    write(
        root.path(),
        "etc/docker/certs.d/127.0.0.6:5000/ca.crt",
        ca_pem(10).as_bytes(),
    );
    let (status, findings) = doctor(root.path());
    assert_eq!(status, Some(0), "{findings:?}");
    assert!(find(&findings, "ca-expires-soon").is_some(), "{findings:?}");
    write(
        root.path(),
        "etc/docker/certs.d/127.0.0.6:5000/ca.crt",
        ca_pem(-1).as_bytes(),
    );
    let (status, findings) = doctor(root.path());
    assert_eq!(status, Some(1));
    assert!(find(&findings, "ca-expired").is_some(), "{findings:?}");
}

#[test]
fn missing_trust_and_buildkit_ca_point_at_trust() {
    let root = tempfile::tempdir().unwrap();
    write(
        root.path(),
        "etc/buildkit/buildkitd.toml",
        b"# my settings\ndebug = true\n",
    );
    let (status, findings) = doctor(root.path());
    assert_eq!(status, Some(0), "warnings only: {findings:?}");
    for code in ["certs-d-missing", "buildkit-no-ca"] {
        let fix = find(&findings, code).unwrap_or_else(|| panic!("{code}: {findings:?}"))["fix"]
            .as_str()
            .unwrap();
        assert!(fix.contains(" trust "), "{fix}");
        assert!(
            fix.contains(&format!("--root {}", root.path().display())),
            "{fix}"
        );
    }
}

#[test]
fn text_output_shows_code_severity_and_fix() {
    let root = healthy_root();
    write(
        root.path(),
        "etc/docker/certs.d/127.0.0.5/client.key",
        b"key",
    );
    let out = dcosreg(&[
        "--root",
        root.path().to_str().unwrap(),
        "--internal",
        INTERNAL,
        "--external",
        EXTERNAL,
        "doctor",
        "--offline",
    ]);
    assert_status(&out, 1);
    let text = stdout(&out);
    assert!(text.contains("error   orphan-key:"), "{text}");
    assert!(text.contains("fix: mv "), "{text}");
}

/// A self-signed registry certificate naming `ips`, written as chain + key files.
fn self_signed(dir: &Path, ips: &[&str]) -> (std::path::PathBuf, std::path::PathBuf) {
    Spec::names(&[])
        .ip_sans(ips)
        .self_signed()
        .write_with_key(dir, "domain.crt", "domain.key")
}

/// Two real registries on loopback serving one self-signed certificate that names both:
/// (what keeps them running, internal `IP:PORT`, external `IP:PORT`).
fn live_pair() -> (
    (tempfile::TempDir, support::Registry, support::Registry),
    String,
    String,
) {
    let certs = tempfile::tempdir().unwrap();
    let internal_ip = support::unique_loopback_ip();
    let external_ip = support::unique_loopback_ip();
    let (cert, key) = self_signed(certs.path(), &[&internal_ip, &external_ip]);
    let internal_port = support::free_port(&internal_ip);
    let external_port = support::free_port(&external_ip);
    let a = support::Registry::start(&internal_ip, internal_port, &cert, &key);
    let b = support::Registry::start(&external_ip, external_port, &cert, &key);
    (
        (certs, a, b),
        format!("{internal_ip}:{internal_port}"),
        format!("{external_ip}:{external_port}"),
    )
}

#[test]
fn live_endpoints_untrusted_then_trusted_by_the_printed_fix() {
    let (_registries, internal, external) = live_pair();
    let root = tempfile::tempdir().unwrap();
    let run = |root: &Path| {
        let out = dcosreg(&[
            "--root",
            root.to_str().unwrap(),
            "--internal",
            &internal,
            "--external",
            &external,
            "--timeout",
            "3s",
            "doctor",
            "--format",
            "json",
        ]);
        let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
        (
            out.status.code(),
            report["findings"].as_array().unwrap().clone(),
        )
    };

    let (status, findings) = run(root.path());
    assert_eq!(status, Some(1), "{findings:?}");
    let untrusted: Vec<_> = findings
        .iter()
        .filter(|f| f["code"] == "endpoint-untrusted")
        .collect();
    assert_eq!(untrusted.len(), 2, "{findings:?}");
    let message = untrusted[0]["message"].as_str().unwrap();
    assert!(
        message.contains("x509: certificate signed by unknown authority"),
        "{message}"
    );

    // The printed fix, made non-interactive the documented way (--yes).
    for finding in untrusted {
        let fix = finding["fix"].as_str().unwrap();
        let built = support::bin_path().display().to_string();
        let fix = fix.replacen("docker-dcosreg", &built, 1) + " --yes";
        let mut sh = Command::new("sh");
        sh.arg("-c").arg(&fix);
        let ran = support::Dcosreg::via(sh).run();
        assert_status_for(&ran, 0, format_args!("{fix}"));
    }
    let (status, findings) = run(root.path());
    assert!(
        find(&findings, "endpoint-untrusted").is_none(),
        "{findings:?}"
    );
    assert_eq!(status, Some(0), "{findings:?}");
}

#[test]
fn unreachable_endpoints_are_reported_within_the_deadline() {
    let ip = support::unique_loopback_ip();
    let refused_a = format!("{ip}:{}", support::free_port(&ip));
    let refused_b = format!("{ip}:{}", support::free_port(&ip));
    let root = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let out = dcosreg(&[
        "--root",
        root.path().to_str().unwrap(),
        "--internal",
        &refused_a,
        "--external",
        &refused_b,
        "--timeout",
        "1s",
        "doctor",
        "--format",
        "json",
    ]);
    assert!(started.elapsed() < std::time::Duration::from_secs(3));
    assert_status(&out, 1);
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let findings = report["findings"].as_array().unwrap();
    assert!(
        find(findings, "no-endpoint-reachable").is_some(),
        "{findings:?}"
    );
    assert_eq!(
        findings
            .iter()
            .filter(|f| f["code"] == "endpoint-unreachable")
            .count(),
        2,
        "{findings:?}"
    );
}

/// One missing CA is one command to run: the findings whose fix is a `trust` of this run
/// (every store, every endpoint, and the live endpoints' verdicts) are printed together under
/// one `trust`, which, run as printed (with --yes, the documented non-interactive way), clears
/// them all.
#[test]
fn findings_that_share_one_fix_are_folded_into_one_command() {
    let (_registries, internal, external) = live_pair();
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    for dir in ["etc/docker", "etc/containers"] {
        std::fs::create_dir_all(r.join(dir)).unwrap();
    }
    let run = |json: bool| {
        let mut args = vec![
            "--root",
            r.to_str().unwrap(),
            "--internal",
            &internal,
            "--external",
            &external,
            "--timeout",
            "3s",
            "doctor",
        ];
        if json {
            args.extend(["--format", "json"]);
        }
        dcosreg(&args)
    };
    let text = stdout(&run(false));
    let trust_fixes: Vec<&str> = text
        .lines()
        .filter(|l| l.trim_start().starts_with("fix") && l.contains(" trust "))
        .collect();
    assert_eq!(trust_fixes.len(), 1, "{text}");
    let fix = trust_fixes[0].split_once(": ").unwrap().1;
    assert!(fix.contains(&internal) && fix.contains(&external), "{fix}");
    assert!(text.contains("endpoint-untrusted"), "{text}");

    let pasted = fix.replacen(
        "docker-dcosreg",
        &support::bin_path().display().to_string(),
        1,
    ) + " --yes";
    let ran = support::Dcosreg::via({
        let mut sh = Command::new("sh");
        sh.arg("-c").arg(&pasted);
        sh
    })
    .run();
    assert_status_for(&ran, 0, format_args!("{pasted}"));
    let report: serde_json::Value = serde_json::from_str(&stdout(&run(true))).unwrap();
    let findings = report["findings"].as_array().unwrap();
    for code in ["certs-d-missing", "endpoint-untrusted", "certs-d-one-form"] {
        assert!(find(findings, code).is_none(), "{code}: {findings:?}");
    }
}
