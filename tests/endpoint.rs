//! `endpoint`: every branch of the decision of issue 7 against real peers on loopback —
//! real `docker-registry` servers with TLS, a tarpit, a refused port, a plain-HTTP
//! registry. Time bounds are generous (deadline + 1 s); precise figures are in
//! benches/endpoint.sh.

mod support;

use std::process::Output;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::peers::{refused_port, tarpit, TestChain};
use support::{dcosreg, stderr, stdout, unique_loopback_ip, Registry};

/// Two live TLS registries (internal, external) on their own loopback addresses.
struct Live {
    _dir: tempfile::TempDir,
    internal: Registry,
    external: Registry,
    ip: String,
}

fn live() -> Live {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b) = (unique_loopback_ip(), unique_loopback_ip());
    let chain = TestChain::new(dir.path(), &[&a, &b]);
    let (internal, external) = std::thread::scope(|s| {
        let i = s.spawn(|| Registry::start(&a, 5000, &chain.chain_pem, &chain.key_pem));
        let e = s.spawn(|| Registry::start(&b, 5000, &chain.chain_pem, &chain.key_pem));
        (i.join().expect("internal"), e.join().expect("external"))
    });
    Live {
        _dir: dir,
        internal,
        external,
        ip: a,
    }
}

/// Run `endpoint` and time it.
fn endpoint(internal: &str, external: &str, timeout: &str, extra: &[&str]) -> (Output, Duration) {
    let mut args = vec![
        "endpoint",
        "--internal",
        internal,
        "--external",
        external,
        "--timeout",
        timeout,
    ];
    args.extend_from_slice(extra);
    let start = Instant::now();
    let out = dcosreg(&args);
    (out, start.elapsed())
}

fn json(out: &Output) -> Value {
    let text = stdout(out);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

#[test]
fn preferred_live_wins_and_prints_only_the_endpoint() {
    let live = live();
    let (out, _) = endpoint(&live.internal.addr, &live.external.addr, "3s", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), format!("{}\n", live.internal.addr));

    let (out, _) = endpoint(
        &live.internal.addr,
        &live.external.addr,
        "3s",
        &["--prefer", "external"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), format!("{}\n", live.external.addr));

    let (out, _) = endpoint(
        &live.internal.addr,
        &live.external.addr,
        "3s",
        &["--format", "json"],
    );
    let report = json(&out);
    assert_eq!(report["chosen"], live.internal.addr.as_str(), "{report}");
    assert_eq!(report["chosen_role"], "internal");
    let first = &report["endpoints"][0];
    assert_eq!(first["role"], "internal");
    assert_eq!(first["status"], "registry");
    assert_eq!(first["http_status"], 200);
    let latency = first["latency_ms"].as_f64().expect("latency_ms");
    let handshake = first["handshake_ms"].as_f64().expect("handshake_ms");
    assert!(0.0 <= handshake && handshake <= latency, "{first}");
    assert!(
        first.get("trusted").is_some(),
        "trusted is reported: {first}"
    );
    assert_eq!(first["error"], Value::Null);
}

#[test]
fn preferred_refused_gives_the_other_without_waiting_for_the_deadline() {
    let live = live();
    let refused = format!("{}:{}", live.ip, refused_port(&live.ip));
    let (out, took) = endpoint(&refused, &live.external.addr, "20s", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), format!("{}\n", live.external.addr));
    assert!(
        stderr(&out).contains("connection refused"),
        "{}",
        stderr(&out)
    );
    // Far below the 20 s deadline: the refusal is final, nothing to wait for.
    assert!(took < Duration::from_secs(10), "took {took:?}");

    // A plain-HTTP registry on the preferred endpoint fails fast the same way.
    let plain = Registry::start_plain(&live.ip, 5002);
    let (out, _) = endpoint(
        &plain.addr,
        &live.external.addr,
        "20s",
        &["--format", "json"],
    );
    let report = json(&out);
    assert_eq!(report["chosen"], live.external.addr.as_str(), "{report}");
    assert_eq!(
        report["endpoints"][0]["error_code"], "plain-http",
        "{report}"
    );
}

#[test]
fn hung_preferred_is_awaited_until_the_deadline_then_the_other_wins() {
    let live = live();
    let (_pit, port) = tarpit(&live.ip);
    let pit = format!("{}:{port}", live.ip);
    let (out, took) = endpoint(&pit, &live.external.addr, "1s", &["--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = json(&out);
    assert_eq!(report["chosen"], live.external.addr.as_str(), "{report}");
    assert_eq!(report["chosen_role"], "external");
    assert_eq!(report["endpoints"][0]["status"], "unreachable");
    assert_eq!(report["endpoints"][0]["error_code"], "timeout");
    assert_eq!(report["endpoints"][1]["status"], "registry");
    // It waited for the preferred endpoint until the deadline, and not much longer.
    assert!(took >= Duration::from_secs(1), "gave up early: {took:?}");
    assert!(took < Duration::from_secs(2), "took {took:?}");

    // Same in text mode: only the endpoint on stdout, the reason on stderr.
    let (out, _) = endpoint(&pit, &live.external.addr, "1s", &[]);
    assert_eq!(stdout(&out), format!("{}\n", live.external.addr));
    assert!(stderr(&out).contains("no TLS answer"), "{}", stderr(&out));
}

#[test]
fn nothing_answers_exit_1_within_the_deadline() {
    let ip = unique_loopback_ip();
    let (_pit, port) = tarpit(&ip);
    let pit = format!("{ip}:{port}");
    let refused = format!("{ip}:{}", refused_port(&ip));
    for (internal, external) in [(&pit, &refused), (&refused, &pit)] {
        let (out, took) = endpoint(internal, external, "1s", &[]);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert_eq!(stdout(&out), "", "nothing on stdout for $(...)");
        let err = stderr(&out);
        assert!(
            err.contains("no registry endpoint answered within 1s"),
            "{err}"
        );
        assert!(
            err.contains("connection refused") && err.contains("no TLS answer"),
            "{err}"
        );
        assert!(took < Duration::from_secs(2), "took {took:?}");
    }
    let (out, took) = endpoint(&pit, &pit, "1s", &["--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let report = json(&out);
    assert_eq!(report["chosen"], Value::Null);
    assert_eq!(report["endpoints"][1]["error_code"], "timeout");
    assert!(took < Duration::from_secs(2), "took {took:?}");
}

#[test]
fn the_endpoint_is_printed_as_configured() {
    let dir = tempfile::tempdir().expect("tempdir");
    let chain = TestChain::new(dir.path(), &["localhost", "127.0.0.1"]);
    let port = support::free_port("127.0.0.1");
    let registry = Registry::start("127.0.0.1", port, &chain.chain_pem, &chain.key_pem);
    let spelled = format!("LocalHost:{port}");
    let refused = format!("127.0.0.1:{}", refused_port("127.0.0.1"));
    let (out, _) = endpoint(&refused, &spelled, "5s", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), format!("{spelled}\n"));
    drop(registry);
}

#[test]
fn trust_is_recorded_not_required() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ip = unique_loopback_ip();
    let chain = TestChain::new(dir.path(), &[&ip]);
    let registry = Registry::start(&ip, 5000, &chain.chain_pem, &chain.key_pem);
    let refused = format!("{ip}:{}", refused_port(&ip));
    let root = tempfile::tempdir().expect("root");
    let root_arg = root.path().to_str().expect("utf-8 path");

    // No CA installed under ROOT: reachable, chosen, reported untrusted, warned about.
    let (out, _) = endpoint(&registry.addr, &refused, "5s", &["--root", root_arg]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), format!("{}\n", registry.addr));
    assert!(stderr(&out).contains("does not trust"), "{}", stderr(&out));
    let (out, _) = endpoint(
        &registry.addr,
        &refused,
        "5s",
        &["--root", root_arg, "--format", "json"],
    );
    assert_eq!(json(&out)["endpoints"][0]["trusted"], false);

    // The CA in ROOT/etc/docker/certs.d/<host:port>/ca.crt, as Docker reads it: trusted.
    let certs_d = root.path().join("etc/docker/certs.d").join(&registry.addr);
    std::fs::create_dir_all(&certs_d).expect("certs.d");
    let ca_pem = std::fs::read_to_string(&chain.chain_pem).expect("chain");
    let ca_start = ca_pem[1..].find("-----BEGIN").expect("two PEM blocks") + 1;
    std::fs::write(certs_d.join("ca.crt"), &ca_pem[ca_start..]).expect("ca.crt");
    let (out, _) = endpoint(
        &registry.addr,
        &refused,
        "5s",
        &["--root", root_arg, "--format", "json"],
    );
    let report = json(&out);
    assert_eq!(report["endpoints"][0]["trusted"], true, "{report}");
    assert_eq!(
        report["endpoints"][1]["trusted"],
        Value::Null,
        "no chain, no verdict"
    );
    let (out, _) = endpoint(&registry.addr, &refused, "5s", &["--root", root_arg]);
    assert!(!stderr(&out).contains("does not trust"), "{}", stderr(&out));
}
