//! The expiry watch: `check --expires-within`, the JSON expiry fields, `--format prometheus`
//! checked by Prometheus's own `promtool check metrics`, and `--textfile` for node_exporter's
//! textfile collector. A real `docker-registry` on loopback serves a leaf that expires in 10
//! days under a CA that expires in 40.

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use support::certs::{chain, Spec};
use support::peers::refused_port;
use support::{
    assert_status, assert_status_for, dcosreg, json, mode, require_tool, stdout,
    unique_loopback_ip, wait_with_deadline, Registry,
};

struct Served {
    _registry: Registry,
    _dir: tempfile::TempDir,
    addr: String,
    ca: String,
    leaf_not_after: i64,
    ca_not_after: i64,
}

fn serve() -> Served {
    let dir = tempfile::tempdir().expect("tempdir");
    let ip = unique_loopback_ip();
    let [ca, leaf] = chain([
        Spec::ca("expiry test CA").valid_days(-1, 40),
        Spec::names(&[&ip]).valid_days(-1, 10),
    ]);
    let (chain_pem, key_pem) = (dir.path().join("chain.pem"), dir.path().join("key.pem"));
    std::fs::write(&chain_pem, format!("{}{}", leaf.pem(), ca.pem())).expect("chain");
    std::fs::write(&key_pem, leaf.key_pem()).expect("key");
    let ca_path = dir.path().join("ca.crt");
    std::fs::write(&ca_path, ca.pem()).expect("ca");
    let port = support::free_port(&ip);
    let registry = Registry::start(&ip, port, &chain_pem, &key_pem);
    Served {
        _registry: registry,
        addr: format!("{ip}:{port}"),
        ca: ca_path.display().to_string(),
        leaf_not_after: leaf.not_after_unix(),
        ca_not_after: ca.not_after_unix(),
        _dir: dir,
    }
}

/// `check` of the served registry with its CA; `global` before the command, `own` after.
fn check(s: &Served, global: &[&str], own: &[&str]) -> std::process::Output {
    let mut args = vec!["--internal", &s.addr, "--external", &s.addr];
    args.extend_from_slice(global);
    args.extend(["check", &s.addr, "--ca-file", &s.ca]);
    args.extend_from_slice(own);
    dcosreg(&args)
}

#[test]
fn expires_within_json_and_exit_status() {
    let s = serve();
    // Inside the window: exit 1, a finding that names the date and the fix.
    let out = check(&s, &["--format", "json"], &[]);
    assert_status(&out, 0);
    let report = json(&out);
    let ep = &report["endpoints"][0];
    let left = ep["expires_in_seconds"]
        .as_i64()
        .expect("expires_in_seconds");
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    assert!((left - (s.leaf_not_after - now)).abs() <= 5, "{ep}");
    let at = ep["expires_at"].as_str().expect("expires_at");
    let parsed = time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339)
        .expect("RFC 3339");
    assert_eq!(parsed.unix_timestamp(), s.leaf_not_after);
    assert!(at.ends_with('Z'), "UTC: {at}");

    let out = check(&s, &["--format", "json"], &["--expires-within", "30d"]);
    assert_status(&out, 1);
    let report = json(&out);
    let findings = report["endpoints"][0]["findings"].as_array().unwrap();
    let finding = findings
        .iter()
        .find(|f| f["code"] == "expires-within")
        .unwrap_or_else(|| panic!("no expires-within finding: {report}"));
    assert!(
        finding["message"].as_str().unwrap().contains(at),
        "{finding}"
    );
    assert!(
        finding["fix"].as_str().unwrap().contains("cert renew"),
        "{finding}"
    );
    // Outside the window: exit 0.
    let out = check(&s, &[], &["--expires-within", "5d"]);
    assert_status(&out, 0);
    assert!(stdout(&out).contains("earliest expiry"), "{}", stdout(&out));
    // A bad duration is bad input.
    let out = dcosreg(&["check", &s.addr, "--expires-within", "soon"]);
    assert_status(&out, 2);
}

/// `promtool check metrics` reads the exposition on stdin and prints every problem; it
/// must print nothing and exit 0.
fn promtool(text: &[u8]) {
    use std::io::Write;
    let mut child = Command::new(require_tool("promtool"))
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run promtool");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text)
        .expect("metrics to promtool");
    let out = wait_with_deadline(&mut child, Duration::from_secs(30));
    assert_status_for(&out, 0, "promtool check metrics");
    assert!(
        out.stdout.is_empty() && out.stderr.is_empty(),
        "promtool: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn metric(text: &str, name: &str, labels_contain: &str) -> Option<f64> {
    text.lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with('{'))
        .find(|l| l.contains(labels_contain))
        .and_then(|l| l.rsplit_once(' '))
        .and_then(|(_, v)| v.parse().ok())
}

#[test]
fn prometheus_metrics_pass_promtool_and_the_textfile_is_atomic() {
    let s = serve();
    let down = format!("127.0.0.1:{}", refused_port("127.0.0.1"));
    let out = dcosreg(&[
        "--internal",
        &s.addr,
        "--external",
        &down,
        "--format",
        "prometheus",
        "--timeout",
        "2s",
        "check",
        "--ca-file",
        &s.ca,
    ]);
    // The unreachable endpoint makes the check fail; the metrics say which.
    assert_status(&out, 1);
    let text = stdout(&out);
    promtool(text.as_bytes());
    let up = |ep: &str| metric(&text, "dcosreg_endpoint_up", &format!("endpoint=\"{ep}\""));
    assert_eq!(up(&s.addr), Some(1.0), "{text}");
    assert_eq!(up(&down), Some(0.0), "{text}");
    assert_eq!(
        metric(&text, "dcosreg_endpoint_trusted", &s.addr),
        Some(1.0)
    );
    assert_eq!(
        metric(
            &text,
            "dcosreg_endpoint_earliest_expiry_timestamp_seconds",
            &s.addr
        ),
        Some(s.leaf_not_after as f64)
    );
    assert_eq!(
        metric(
            &text,
            "dcosreg_cert_not_after_timestamp_seconds",
            "position=\"1\""
        ),
        Some(s.ca_not_after as f64),
        "the anchor is the chain's position 1: {text}"
    );
    assert!(
        metric(
            &text,
            "dcosreg_endpoint_earliest_expiry_timestamp_seconds",
            &down
        )
        .is_none(),
        "{text}"
    );

    // --textfile writes the same text to a 0644 file, replacing the old one by rename.
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("dcosreg.prom");
    std::fs::write(&file, "old").unwrap();
    let before = inode(&file);
    let out = check(&s, &[], &["--textfile", file.to_str().unwrap()]);
    assert_status(&out, 0);
    let written = std::fs::read_to_string(&file).unwrap();
    promtool(written.as_bytes());
    assert!(written.contains("dcosreg_endpoint_trusted"), "{written}");
    assert_ne!(
        inode(&file),
        before,
        "replaced by a rename, not rewritten in place"
    );
    let new = dir.path().join("new.prom");
    let out = check(&s, &[], &["--textfile", new.to_str().unwrap()]);
    assert_status(&out, 0);
    assert_eq!(mode(&new), 0o644);
    let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
    assert_eq!(leftovers, 2, "no temporary file left");
    // Other commands refuse the format before doing anything.
    let out = dcosreg(&["--format", "prometheus", "endpoint"]);
    assert_status(&out, 2);
}

fn inode(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).unwrap().ino()
}
