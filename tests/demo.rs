//! examples/local-registry.sh is the README's "Try it without a cluster": run it end to end
//! with this build (real docker-registry processes on loopback, a temporary root).

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
fn local_registry_demo_runs_end_to_end() {
    support::require_tool("docker-registry");
    support::require_tool("openssl");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/local-registry.sh");
    let mut child = Command::new("bash")
        .arg(script)
        .env("DCOSREG", env!("CARGO_BIN_EXE_docker-dcosreg"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run examples/local-registry.sh");
    let out = support::wait_with_deadline(&mut child, Duration::from_secs(120));
    let text = format!("{}{}", support::stdout(&out), support::stderr(&out));
    assert!(out.status.success(), "demo failed:\n{text}");
    for expected in [
        "x509: certificate signed by unknown authority",
        "now installed",
        "127.0.0.42:5000: trusted",
        "rewrote 2 line(s)",
        "no problems found",
        "Done:",
    ] {
        assert!(
            text.contains(expected),
            "demo output lacks {expected:?}:\n{text}"
        );
    }
}
