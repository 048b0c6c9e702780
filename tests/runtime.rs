//! `trust`, `untrust` and `doctor` proven with real runtimes: a private dockerd 20.10 and
//! containerd 1.6 (tests/support/runtime.rs), `ctr` and Debian's podman pull and build from
//! one registry reached at a VIP (`IP`, port 443) and through Marathon-LB (`IP:5000`) in a
//! network namespace. Each test does exactly what the tool said (the restarts it listed,
//! no more) and then pulls and builds; "no restart needed" is checked the same way.
//!
//! The tool runs inside the daemons' mount namespace with `--root /`, so it writes the
//! `/etc` the daemons read (an overlay: the host's `/etc` never changes).

mod support;

use serde_json::Value;
use support::runtime::{runtime_with_app, ClusterRegistry, Runtime};
use support::*;

const X509: &str = "x509: certificate signed by unknown authority";

/// Run the tool in the runtime's namespace with both endpoints and `--format json`.
fn run_json(rt: &Runtime, reg: &ClusterRegistry, args: &[&str]) -> Value {
    run_json_for(rt, &reg.vip, &reg.mlb, args)
}

/// [`run_json`] with the endpoints given as they are spelled.
fn run_json_for(rt: &Runtime, vip: &str, mlb: &str, args: &[&str]) -> Value {
    let mut full = vec!["--internal", vip, "--external", mlb, "--format", "json"];
    full.extend_from_slice(args);
    let out = rt.dcosreg(&full);
    assert_status_for(&out, 0, format_args!("docker-dcosreg {}", args.join(" ")));
    json(&out)
}

/// The services a `trust`/`untrust` report says to restart, with the command shape checked.
fn restarts(report: &Value) -> Vec<String> {
    let list = report["restart"].as_array().expect("a restart list");
    list.iter()
        .map(|r| {
            let service = r["service"].as_str().expect("service").to_string();
            let command = r["command"].as_str().expect("command");
            assert!(
                command == format!("systemctl restart {service}")
                    || command == format!("service {service} restart"),
                "{r}"
            );
            assert!(!r["why"].as_str().unwrap_or("").is_empty(), "{r}");
            service
        })
        .collect()
}

fn image(spelling: &str) -> String {
    format!("{spelling}/base/app:1")
}

fn assert_x509(result: Result<(), String>, what: &str) {
    let err = result.expect_err(what);
    assert!(err.contains(X509), "{what}: {err}");
}

#[test]
fn trust_with_the_said_restarts_then_docker_buildkit_ctr_and_podman_pull_and_untrust_undoes_it() {
    let (rt, reg) = runtime_with_app();
    let [vip, vip443, mlb] = reg.spellings();
    // Before: every client refuses, and BuildKit has met the registry (the worst case).
    assert_x509(rt.pull(&image(&vip)), "classic pull before trust");
    assert_x509(rt.buildkit_build(&image(&mlb)), "BuildKit before trust");
    assert_x509(rt.ctr_pull(&image(&vip)), "ctr before trust");
    assert_x509(rt.podman_pull(&image(&mlb)), "podman before trust");

    let fingerprint = reg.ca_fingerprint();
    let trust = [
        "trust",
        "--fingerprint",
        fingerprint.as_str(),
        "--target",
        "docker,containerd,containers",
    ];
    // The plan already says it, as a line for people.
    let plan = rt.dcosreg(&[
        "--internal",
        &reg.vip,
        "--external",
        &reg.mlb,
        "trust",
        "--dry-run",
        "--fingerprint",
        &fingerprint,
        "--target",
        "docker,containerd,containers",
    ]);
    let text = stdout(&plan);
    assert!(
        text.lines()
            .any(|l| l.starts_with("restart needed: docker — dockerd (pid ")
                && (l.ends_with("(run: systemctl restart docker)")
                    || l.ends_with("(run: service docker restart)"))),
        "{text}{}",
        stderr(&plan)
    );
    let report = run_json(&rt, &reg, &trust);
    let said = restarts(&report);
    assert_eq!(said, ["docker"], "{report}");
    // The restart is real: before it, classic pulls work but BuildKit still refuses.
    rt.pull(&image(&vip))
        .expect("classic pull needs no restart");
    assert_x509(
        rt.buildkit_build(&image(&mlb)),
        "BuildKit before the restart trust asked for",
    );
    // doctor names the stale daemon, with the restart as its fix.
    let doctor = run_json(&rt, &reg, &["doctor", "--offline"]);
    let stale: Vec<&Value> = doctor["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["code"] == "daemon-predates-certs-d")
        .collect();
    assert!(!stale.is_empty(), "{doctor}");
    let fix = stale[0]["fix"].as_str().expect("a fix");
    assert!(
        fix == "sudo systemctl restart docker" || fix == "sudo service docker restart",
        "{fix}"
    );

    for service in &said {
        rt.restart(service);
    }
    let doctor = run_json(&rt, &reg, &["doctor", "--offline"]);
    assert!(
        !doctor.to_string().contains("daemon-predates-certs-d"),
        "{doctor}"
    );
    for spelling in [&vip, &vip443, &mlb] {
        let reference = image(spelling);
        rt.rmi(&reference);
        rt.pull(&reference)
            .unwrap_or_else(|e| panic!("classic pull {reference}: {e}"));
        rt.buildkit_build(&reference)
            .unwrap_or_else(|e| panic!("BuildKit FROM {reference}: {e}"));
        rt.ctr_pull(&reference)
            .unwrap_or_else(|e| panic!("ctr pull {reference}: {e}"));
        rt.podman_pull(&reference)
            .unwrap_or_else(|e| panic!("podman pull {reference}: {e}"));
    }

    // Nothing changed since dockerd started: an empty list, and it holds without a restart.
    let again = run_json(&rt, &reg, &trust);
    assert_eq!(restarts(&again), Vec::<String>::new(), "{again}");
    rt.buildkit_build(&image(&vip443))
        .expect("BuildKit after an empty restart list");
    rt.pull(&image(&mlb))
        .expect("classic pull after an empty restart list");

    // untrust: BuildKit keeps the CA it loaded until the restart untrust asks for.
    let report = run_json(
        &rt,
        &reg,
        &["untrust", "--target", "docker,containerd,containers"],
    );
    let said = restarts(&report);
    assert_eq!(said, ["docker"], "{report}");
    rt.buildkit_build(&image(&vip))
        .expect("BuildKit still trusts before the restart (why untrust asks for it)");
    for service in &said {
        rt.restart(service);
    }
    for spelling in [&vip, &vip443, &mlb] {
        let reference = image(spelling);
        assert_x509(rt.pull(&reference), "classic pull after untrust");
        assert_x509(rt.buildkit_build(&reference), "BuildKit after untrust");
        assert_x509(rt.ctr_pull(&reference), "ctr after untrust");
        assert_x509(rt.podman_pull(&reference), "podman after untrust");
    }
}

#[test]
fn system_store_changes_need_the_daemons_that_loaded_it_restarted_and_leave_no_dangling_link() {
    let (rt, reg) = runtime_with_app();
    let [vip, vip443, mlb] = reg.spellings();
    // The pull loads dockerd's system roots (Go does that once per process).
    assert_x509(rt.pull(&image(&mlb)), "classic pull before trust");
    let fingerprint = reg.ca_fingerprint();
    let report = run_json(
        &rt,
        &reg,
        &["trust", "--fingerprint", &fingerprint, "--target", "system"],
    );
    let said = restarts(&report);
    assert!(said.contains(&"docker".to_string()), "{report}");
    assert_x509(
        rt.pull(&image(&mlb)),
        "classic pull before the restart trust asked for",
    );
    for service in &said {
        rt.restart(service);
    }
    for spelling in [&vip, &vip443, &mlb] {
        let reference = image(spelling);
        rt.pull(&reference)
            .unwrap_or_else(|e| panic!("classic pull {reference} with the system store: {e}"));
    }

    let report = run_json(&rt, &reg, &["untrust", "--target", "system"]);
    let said = restarts(&report);
    assert!(said.contains(&"docker".to_string()), "{report}");
    let dangling = rt.in_ns_out(
        "find",
        &["-L", "/etc/ssl/certs", "-type", "l"],
        std::time::Duration::from_secs(10),
    );
    assert!(
        dangling.status.success() && dangling.stdout.is_empty(),
        "dangling links in /etc/ssl/certs after untrust: {}",
        stdout(&dangling)
    );
    rt.pull(&image(&vip))
        .expect("dockerd keeps the roots it loaded until the restart untrust asks for");
    for service in &said {
        rt.restart(service);
    }
    assert_x509(
        rt.pull(&image(&vip)),
        "classic pull after untrust + restart",
    );
}

/// A CA rotation with no failed pull, in four stages, with the real dockerd (classic pulls
/// and BuildKit builds), containerd (`ctr --hosts-dir`) and podman: the old CA trusted; the new CA added beside it (`trust
/// --add`); the registry redeployed with a certificate from the new CA; the old CA untrusted
/// (`untrust --fingerprint`). Every client pulls through the VIP and Marathon-LB at every
/// stage, doing only the restarts each step said; at the end a registry serving the old
/// certificate is refused.
#[test]
fn a_ca_rotation_never_fails_a_pull() {
    let (rt, mut reg) = runtime_with_app();
    let [vip, _, mlb] = reg.spellings();
    let targets = ["--target", "docker,containerd,containers"];
    let all_pull = |rt: &Runtime, stage: &str| {
        for spelling in [&vip, &mlb] {
            let reference = image(spelling);
            rt.rmi(&reference);
            rt.pull(&reference)
                .unwrap_or_else(|e| panic!("{stage}: classic pull {reference}: {e}"));
            rt.buildkit_build(&reference)
                .unwrap_or_else(|e| panic!("{stage}: BuildKit FROM {reference}: {e}"));
            rt.ctr_pull(&reference)
                .unwrap_or_else(|e| panic!("{stage}: ctr pull {reference}: {e}"));
            rt.podman_pull(&reference)
                .unwrap_or_else(|e| panic!("{stage}: podman pull {reference}: {e}"));
        }
    };
    let act = |rt: &Runtime, args: &[&str]| {
        let report = run_json_for(rt, &vip, &mlb, args);
        for service in restarts(&report) {
            rt.restart(&service);
        }
        report
    };

    // 1. The old CA, trusted as ever.
    let old_fingerprint = reg.ca_fingerprint();
    let mut trust = vec!["trust", "--fingerprint", old_fingerprint.as_str()];
    trust.extend_from_slice(&targets);
    act(&rt, &trust);
    all_pull(&rt, "old CA, old certificate");

    // 2. The new CA beside it: the registry still serves the old certificate.
    let new_dir = tempfile::tempdir_in(rt.dir()).expect("tempdir");
    let new_chain = support::peers::TestChain::new(new_dir.path(), &[&reg.ns.inner_ip]);
    let new_ca = new_dir.path().join("new-ca.crt");
    std::fs::write(&new_ca, &new_chain.ca_pem).expect("new CA");
    let new_ca_arg = new_ca.to_str().unwrap().to_string();
    let mut add = vec!["trust", "--ca-file", new_ca_arg.as_str(), "--yes", "--add"];
    add.extend_from_slice(&targets);
    let report = act(&rt, &add);
    assert!(
        report.to_string().contains("ca-"),
        "the new CA is a file of its own: {report}"
    );
    all_pull(&rt, "both CAs, old certificate");

    // 3. The registry serves the certificate of the new CA.
    let old_chain = reg.serve(new_chain);
    all_pull(&rt, "both CAs, new certificate");
    // doctor sees the rotation half done, and names the command that finishes it.
    let stale = |rt: &Runtime| -> Vec<Value> {
        let out = rt.dcosreg(&[
            "--internal",
            &vip,
            "--external",
            &mlb,
            "--format",
            "json",
            "doctor",
        ]);
        json(&out)["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .filter(|f| f["code"] == "stale-ca")
            .cloned()
            .collect()
    };
    let half_done = stale(&rt);
    assert!(
        !half_done.is_empty(),
        "doctor missed the half-done rotation"
    );
    for finding in &half_done {
        let fix = finding["fix"].as_str().expect("a fix");
        assert!(
            fix.contains("untrust") && fix.contains(&old_fingerprint),
            "{finding}"
        );
    }

    // 4. The old CA goes.
    let mut untrust = vec!["untrust", "--fingerprint", old_fingerprint.as_str()];
    untrust.extend_from_slice(&targets);
    act(&rt, &untrust);
    all_pull(&rt, "new CA, new certificate");
    assert!(stale(&rt).is_empty(), "doctor still reports a stale CA");

    // A registry still serving the old certificate is refused everywhere.
    reg.serve(old_chain);
    let reference = image(&vip);
    rt.rmi(&reference);
    assert_x509(rt.pull(&reference), "classic pull of the old certificate");
    assert_x509(rt.ctr_pull(&reference), "ctr pull of the old certificate");
    assert_x509(
        rt.podman_pull(&image(&mlb)),
        "podman pull of the old certificate",
    );
}
