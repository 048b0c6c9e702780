//! examples/local-registry.sh is the README's "Try it without a cluster": run it end to end
//! with this build (real docker-registry processes on loopback, a temporary root), with a
//! private dockerd (tests/support/runtime.rs) as the Docker daemon it finds.

mod support;

use std::process::Command;
use std::time::Duration;

#[test]
fn local_registry_demo_runs_end_to_end() {
    support::require_tool("docker-registry");
    support::require_tool("openssl");
    support::require_tool("skopeo");
    support::require_tool("busybox");
    let rt = support::runtime::Runtime::start();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/local-registry.sh");
    let out = support::output_within(
        Command::new("bash")
            .arg(script)
            .env("DCOSREG", support::bin_path())
            .env("DOCKER_HOST", &rt.docker_host)
            .env("DOCKER_CONFIG", rt.dir().join("docker-client"))
            .env_remove("DOCKER_CONTEXT"),
        Duration::from_secs(120),
    );
    let text = format!("{}{}", support::stdout(&out), support::stderr(&out));
    support::assert_status_for(&out, 0, "demo failed");
    for expected in [
        "x509: certificate signed by unknown authority",
        "now installed",
        "127.0.0.42:5000: trusted",
        "rewrote 2 line(s)",
        "no problems found",
        // The image made from nothing went in through Marathon-LB and came back through
        // the VIP with its digest (skopeo), then through a Docker daemon and ran.
        "pulled back through 127.0.0.41: sha256:",
        "without the CA: ",
        "docker has 127.0.0.42:5000/demo/busybox@sha256:",
        "hello from the pulled image",
        "Done:",
        // The environment it exports, so a copied command means the same.
        "export DCOSREG_INTERNAL=127.0.0.41",
        "export DCOSREG_ROOT=",
    ] {
        assert!(
            text.contains(expected),
            "demo output lacks {expected:?}:\n{text}"
        );
    }
    // Its output is a pipe here: no ANSI escapes.
    assert!(!text.contains('\u{1b}'), "ANSI into a pipe:\n{text}");
}
