//! `trust` and `untrust` proven with real runtimes: a private dockerd and containerd
//! (tests/support/runtime.rs) pull and build from a registry reached at a VIP (`IP`, port
//! 443) and through Marathon-LB (`IP:5000`) inside a network namespace, after doing
//! exactly what the tool said.

mod support;

use support::runtime::{ClusterRegistry, Runtime};
use support::*;

/// Start a runtime and a registry holding `base/app:1`, pushed from an image made from
/// nothing.
fn setup() -> (Runtime, ClusterRegistry) {
    let rt = Runtime::start();
    let reg = ClusterRegistry::start();
    rt.import_busybox("local/busybox:1");
    rt.push(
        "local/busybox:1",
        &format!("{}/base/app:1", reg.vip),
        &reg.ca_dir,
    );
    (rt, reg)
}

fn global<'a>(reg: &'a ClusterRegistry, rest: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "--internal",
        reg.vip.as_str(),
        "--external",
        reg.mlb.as_str(),
    ];
    args.extend_from_slice(rest);
    args
}

#[test]
fn classic_pull_fails_before_trust_and_works_after() {
    let (rt, reg) = setup();
    let image = format!("{}/base/app:1", reg.vip);
    let before = rt.pull(&image).expect_err("pull before trust");
    assert!(
        before.contains("x509: certificate signed by unknown authority"),
        "{before}"
    );
    let fingerprint = reg.ca_fingerprint();
    let out = rt.dcosreg(&global(
        &reg,
        &["trust", "--fingerprint", &fingerprint, "--target", "docker"],
    ));
    assert!(
        out.status.success(),
        "trust: {}{}",
        stdout(&out),
        stderr(&out)
    );
    for spelling in reg.spellings() {
        let image = format!("{spelling}/base/app:1");
        rt.pull(&image)
            .unwrap_or_else(|e| panic!("pull {image} after trust: {e}"));
    }
}
