//! `endpoint`: every branch of the decision of issue 7 against real peers on loopback —
//! real `docker-registry` servers with TLS, a tarpit, a refused port, a plain-HTTP
//! registry — and the Happy Eyeballs fallback of issue 19 against test hosts in network
//! namespaces: one whose packets are dropped (connect hangs, as the VIP outside the
//! cluster), registries, a refused port, and a peer that accepts at once but starts TLS
//! late. Time bounds are generous (deadline + 1 s); precise figures are in
//! benches/endpoint.sh.

mod support;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::peers::{refused_port, tarpit, TestChain};
use support::{
    assert_status, assert_status_for, dcosreg, json, stderr, stdout, unique_loopback_ip, Dcosreg,
    Netns, Registry,
};

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

#[test]
fn preferred_live_wins_and_prints_only_the_endpoint() {
    let live = live();
    let (out, _) = endpoint(&live.internal.addr, &live.external.addr, "3s", &[]);
    assert_status(&out, 0);
    assert_eq!(stdout(&out), format!("{}\n", live.internal.addr));

    let (out, _) = endpoint(
        &live.internal.addr,
        &live.external.addr,
        "3s",
        &["--prefer", "external"],
    );
    assert_status(&out, 0);
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
    assert_status(&out, 0);
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
    assert_status(&out, 0);
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
        assert_status(&out, 1);
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
    assert_status(&out, 1);
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
    assert_status(&out, 0);
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
    assert_status(&out, 0);
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

/// A test host whose packets are dropped: the namespace routes everything addressed to
/// us into a blackhole, so its SYN-ACKs and RSTs never come back and a connect to
/// `inner_ip` hangs — what the VIP does outside the cluster.
fn dark_host() -> Netns {
    let ns = Netns::create();
    let out = Command::new("ip")
        .args(["-n", &ns.name, "route", "add", "blackhole"])
        .arg(format!("{}/32", ns.host_ip))
        .output()
        .expect("run ip");
    assert_status_for(&out, 0, "ip route");
    ns
}

/// A peer on `ip` that accepts at once but relays to `target` only after `delay`: TCP
/// connects immediately, the TLS handshake starts late. Stops with the test process.
fn late_tls_peer(ip: &str, target: &str, delay: Duration) -> String {
    let listener = TcpListener::bind((ip, 0)).expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let target = target.to_string();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(client) = conn else { return };
            let target = target.clone();
            std::thread::spawn(move || {
                std::thread::sleep(delay);
                let Ok(server) = TcpStream::connect_timeout(
                    &target.parse().expect("socket address"),
                    Duration::from_secs(5),
                ) else {
                    return;
                };
                for s in [&client, &server] {
                    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
                }
                let (c2, s2) = (
                    client.try_clone().expect("clone"),
                    server.try_clone().expect("clone"),
                );
                std::thread::spawn(move || pipe(c2, s2));
                pipe(server, client);
            });
        }
    });
    addr
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    let mut buf = [0u8; 16 * 1024];
    while let Ok(n) = from.read(&mut buf) {
        if n == 0 || to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

/// Test hosts for the fallback: a dark host, two registries each in its own namespace,
/// and a late-TLS peer on loopback in front of the first registry.
struct Hosts {
    _dir: tempfile::TempDir,
    dark: Netns,
    a: Registry,
    b: Registry,
    _a_ns: Netns,
    _b_ns: Netns,
    /// Refused: nothing listens on port 443 of a's namespace.
    refused: String,
    late: String,
}

fn hosts() -> Hosts {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a_ns, b_ns) = (Netns::create(), Netns::create());
    let chain = TestChain::new(dir.path(), &[&a_ns.inner_ip, &b_ns.inner_ip]);
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| Registry::start_in_netns(&a_ns, 5000, &chain.chain_pem, &chain.key_pem));
        let b = s.spawn(|| Registry::start_in_netns(&b_ns, 5000, &chain.chain_pem, &chain.key_pem));
        (a.join().expect("registry a"), b.join().expect("registry b"))
    });
    let late = late_tls_peer(&unique_loopback_ip(), &a.addr, Duration::from_millis(600));
    Hosts {
        _dir: dir,
        dark: dark_host(),
        refused: format!("{}:443", a_ns.inner_ip),
        a,
        b,
        _a_ns: a_ns,
        _b_ns: b_ns,
        late,
    }
}

/// `endpoint` with the preferred endpoint `preferred` and the other `other`, under
/// `--prefer internal` and `--prefer external` (the endpoints swapped), in JSON.
fn both_preferences(preferred: &str, other: &str, extra: &[&str]) -> Vec<(Value, Duration)> {
    [
        ("internal", preferred, other),
        ("external", other, preferred),
    ]
    .into_iter()
    .map(|(prefer, internal, external)| {
        let mut args = vec!["--prefer", prefer, "--format", "json"];
        args.extend_from_slice(extra);
        let (out, took) = endpoint(internal, external, "3s", &args);
        (json(&out), took)
    })
    .collect()
}

fn other_role(prefer: &Value) -> &'static str {
    if prefer == "internal" {
        "external"
    } else {
        "internal"
    }
}

#[test]
fn unconnected_preferred_loses_to_the_answering_other_after_the_fallback_delay() {
    let hosts = hosts();
    let dark = format!("{}:443", hosts.dark.inner_ip);
    for (report, took) in both_preferences(&dark, &hosts.b.addr, &[]) {
        assert_eq!(report["chosen"], hosts.b.addr.as_str(), "{report}");
        assert_eq!(report["chosen_role"], other_role(&report["prefer"]));
        assert_eq!(report["decided_by"], "fallback-delay", "{report}");
        assert_eq!(report["fallback_delay_ms"], 250);
        let preferred = report["endpoints"]
            .as_array()
            .expect("endpoints")
            .iter()
            .find(|e| e["role"] == report["prefer"])
            .expect("the preferred endpoint's report");
        assert_eq!(preferred["endpoint"], dark.as_str());
        assert_eq!(preferred["status"], "pending", "{report}");
        assert_eq!(preferred["error_code"], "no-tcp-answer", "{report}");
        // It gave the preferred endpoint its 250 ms, then stopped waiting: far below
        // the 3 s deadline (the figure is in benches/endpoint.sh).
        let elapsed = report["elapsed_ms"].as_f64().expect("elapsed_ms");
        assert!(elapsed >= 250.0, "did not wait the delay: {report}");
        assert!(
            took < Duration::from_millis(1500),
            "took {took:?}: {report}"
        );
    }

    // Text: the endpoint on stdout, why the preferred one lost on stderr.
    let (out, _) = endpoint(&dark, &hosts.b.addr, "3s", &[]);
    assert_status(&out, 0);
    assert_eq!(stdout(&out), format!("{}\n", hosts.b.addr));
    assert!(
        stderr(&out).contains(&format!("{dark}: no TCP answer within 250 ms")),
        "{}",
        stderr(&out)
    );

    // A longer delay is honoured.
    let (out, took) = endpoint(
        &dark,
        &hosts.b.addr,
        "5s",
        &["--fallback-delay", "1s", "--format", "json"],
    );
    let report = json(&out);
    assert_eq!(report["decided_by"], "fallback-delay", "{report}");
    assert!(took >= Duration::from_secs(1), "took {took:?}");
    assert!(took < Duration::from_millis(2500), "took {took:?}");

    // With nothing else answering, the deadline still bounds the wait.
    let (out, took) = endpoint(&dark, &hosts.refused, "1s", &["--format", "json"]);
    assert_status(&out, 1);
    let report = json(&out);
    assert_eq!(report["chosen"], Value::Null);
    assert_eq!(report["decided_by"], "deadline", "{report}");
    assert_eq!(report["endpoints"][0]["error_code"], "timeout", "{report}");
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(2),
        "took {took:?}"
    );
}

#[test]
fn preferred_that_connects_but_starts_tls_late_still_wins() {
    let hosts = hosts();
    for (report, took) in both_preferences(&hosts.late, &hosts.b.addr, &[]) {
        assert_eq!(report["chosen"], hosts.late.as_str(), "{report}");
        assert_eq!(report["chosen_role"], report["prefer"]);
        assert_eq!(report["decided_by"], "preferred", "{report}");
        let preferred = &report["endpoints"][if report["prefer"] == "internal" { 0 } else { 1 }];
        assert_eq!(preferred["status"], "registry", "{report}");
        // The TLS handshake began after the peer's 600 ms: it was awaited.
        let handshake = preferred["handshake_ms"].as_f64().expect("handshake_ms");
        assert!(handshake >= 600.0, "{report}");
        assert!(took < Duration::from_secs(3), "took {took:?}");
    }
}

#[test]
fn refused_and_answering_preferred_on_namespace_hosts() {
    let hosts = hosts();
    for (report, _) in both_preferences(&hosts.refused, &hosts.b.addr, &[]) {
        assert_eq!(report["chosen"], hosts.b.addr.as_str(), "{report}");
        assert_eq!(report["decided_by"], "preferred-failed", "{report}");
    }
    for (report, _) in both_preferences(&hosts.a.addr, &hosts.b.addr, &[]) {
        assert_eq!(report["chosen"], hosts.a.addr.as_str(), "{report}");
        assert_eq!(report["chosen_role"], report["prefer"]);
        assert_eq!(report["decided_by"], "preferred", "{report}");
    }
    // An answering preferred endpoint beats a dark other one at once.
    let dark = format!("{}:443", hosts.dark.inner_ip);
    for (report, took) in both_preferences(&hosts.a.addr, &dark, &[]) {
        assert_eq!(report["chosen"], hosts.a.addr.as_str(), "{report}");
        assert_eq!(report["decided_by"], "preferred", "{report}");
        assert!(took < Duration::from_millis(1500), "took {took:?}");
    }
}

#[test]
fn fallback_delay_is_a_setting_like_timeout() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("config.toml");
    std::fs::write(&file, "fallback_delay = \"100ms\"\n").expect("config");
    let file = file.to_str().expect("utf-8 path");
    let setting = |out: &Output| {
        let report = json(out);
        report["settings"]
            .as_array()
            .expect("settings")
            .iter()
            .find(|s| s["key"] == "fallback_delay")
            .cloned()
            .unwrap_or_else(|| panic!("no fallback_delay: {report}"))
    };
    let s = setting(&dcosreg(&["config", "--format", "json"]));
    assert_eq!(
        (s["value"].as_str(), s["source"].as_str()),
        (Some("250ms"), Some("default"))
    );
    let s = setting(&dcosreg(&["config", "--format", "json", "--config", file]));
    assert_eq!(s["value"], "100ms");
    let out = Dcosreg::new(["config", "--format", "json", "--config", file])
        .env("DCOSREG_FALLBACK_DELAY", "0s")
        .run();
    let s = setting(&out);
    assert_eq!(
        (s["value"].as_str(), s["source"].as_str()),
        (Some("0s"), Some("env DCOSREG_FALLBACK_DELAY"))
    );
    let out = dcosreg(&["endpoint", "--fallback-delay", "soon"]);
    assert_status(&out, 2);
    assert!(
        stderr(&out).contains("fallback delay \"soon\""),
        "{}",
        stderr(&out)
    );
}
