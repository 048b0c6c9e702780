//! The TLS client, through `endpoint --format json`: the captured chain equals what a
//! real `docker-registry` serves, SNI goes out for DNS names only (as Go's crypto/tls),
//! and every way a peer can fail is classified with an actionable message.
//! All peers listen on 127.0.0.0/8.

mod support;

use std::io::{Read, Write};
use std::time::Duration;

use serde_json::Value;
use support::peers::{raw_peer, refused_port, tarpit, tls_server, TestChain};
use support::{dcosreg, stdout, unique_loopback_ip, Registry};

/// `endpoint --format json` with `internal` preferred; returns the internal report.
fn internal_report(internal: &str, timeout: &str) -> Value {
    let external = format!("127.0.0.1:{}", refused_port("127.0.0.1"));
    let out = dcosreg(&[
        "endpoint",
        "--format",
        "json",
        "--timeout",
        timeout,
        "--internal",
        internal,
        "--external",
        &external,
    ]);
    let text = stdout(&out);
    let json: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    json["endpoints"][0].clone()
}

#[test]
fn chain_from_a_real_registry_is_captured_as_served() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ip = unique_loopback_ip();
    let chain = TestChain::new(dir.path(), &[&ip]);
    let registry = Registry::start(&ip, 5000, &chain.chain_pem, &chain.key_pem);
    let report = internal_report(&registry.addr, "5s");
    assert_eq!(report["status"], "registry", "{report}");
    // docker-registry without auth answers /v2/ with 200.
    assert_eq!(report["http_status"], 200, "{report}");
    assert_eq!(report["error"], Value::Null, "{report}");
    let got: Vec<String> = report["chain_sha256"]
        .as_array()
        .expect("chain_sha256")
        .iter()
        .map(|v| v.as_str().expect("string").to_string())
        .collect();
    assert_eq!(
        got,
        chain.fingerprints(),
        "leaf and CA, in the served order"
    );
    assert!(report["latency_ms"].as_f64().is_some(), "{report}");
}

#[test]
fn sni_is_sent_for_dns_names_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let chain = TestChain::new(dir.path(), &["localhost", "127.0.0.1"]);
    let (port, sni) = tls_server("127.0.0.1", &chain, 401);

    let report = internal_report(&format!("localhost:{port}"), "5s");
    assert_eq!(report["status"], "registry", "{report}");
    assert_eq!(report["http_status"], 401, "{report}");
    let got = sni.recv_timeout(Duration::from_secs(5)).expect("handshake");
    assert_eq!(got.as_deref(), Some("localhost"));

    let report = internal_report(&format!("127.0.0.1:{port}"), "5s");
    assert_eq!(report["status"], "registry", "{report}");
    let got = sni.recv_timeout(Duration::from_secs(5)).expect("handshake");
    assert_eq!(got, None, "no SNI for an IP literal (Go's hostnameInSNI)");
}

/// One misbehaving peer and what we must say about it.
struct Case {
    name: &'static str,
    endpoint: String,
    status: &'static str,
    code: &'static str,
    message: &'static str,
}

#[test]
fn every_failure_is_classified() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ip = unique_loopback_ip();
    let chain = TestChain::new(dir.path(), &[&ip]);
    let plain = Registry::start_plain(&ip, 5001);
    let (_tarpit, tarpit_port) = tarpit(&ip);
    let (not_found_port, _sni) = tls_server(&ip, &chain, 404);
    let ssh = raw_peer(&ip, |mut tcp| {
        let _ = tcp.write_all(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n");
        std::thread::sleep(Duration::from_secs(2));
    });
    let alert = raw_peer(&ip, |mut tcp| {
        let mut hello = [0u8; 4096];
        let _ = tcp.read(&mut hello);
        // A fatal handshake_failure alert record, as a server with no common cipher sends.
        let _ = tcp.write_all(&[21, 3, 3, 0, 2, 2, 40]);
        std::thread::sleep(Duration::from_secs(2));
    });
    let closed = raw_peer(&ip, |mut tcp| {
        let mut hello = [0u8; 4096];
        let _ = tcp.read(&mut hello);
    });
    let reset = raw_peer(&ip, |mut tcp| {
        // Close with the ClientHello unread: Linux answers with RST (RFC 2525 §2.17).
        std::thread::sleep(Duration::from_millis(200));
        let mut one = [0u8; 1];
        let _ = tcp.read(&mut one);
    });
    let slow = raw_peer(&ip, |mut tcp| {
        // Half a TLS record header, then silence: a stuck or half-open peer.
        let _ = tcp.write_all(&[22, 3]);
        std::thread::sleep(Duration::from_secs(5));
    });
    let at = |port: u16| format!("{ip}:{port}");
    let cases = vec![
        Case {
            name: "refused",
            endpoint: at(refused_port(&ip)),
            status: "unreachable",
            code: "refused",
            message: "connection refused",
        },
        Case {
            name: "tarpit",
            endpoint: at(tarpit_port),
            status: "unreachable",
            code: "timeout",
            message: "accepted the connection but sent no TLS answer",
        },
        Case {
            name: "plain HTTP docker-registry",
            endpoint: plain.addr.clone(),
            status: "unreachable",
            code: "plain-http",
            message: "speaks plain HTTP, not TLS",
        },
        Case {
            name: "ssh banner",
            endpoint: at(ssh),
            status: "unreachable",
            code: "not-tls",
            message: "SSH-2.0-OpenSSH",
        },
        Case {
            name: "TLS alert",
            endpoint: at(alert),
            status: "unreachable",
            code: "tls-alert",
            message: "remote error: tls: handshake failure",
        },
        Case {
            name: "closed after hello",
            endpoint: at(closed),
            status: "unreachable",
            code: "closed",
            message: "closed the connection during the TLS handshake",
        },
        Case {
            name: "reset",
            endpoint: at(reset),
            status: "unreachable",
            code: "reset",
            message: "connection reset",
        },
        Case {
            name: "slow / half-open",
            endpoint: at(slow),
            status: "unreachable",
            code: "timeout",
            message: "started its TLS answer but did not finish the handshake",
        },
        Case {
            name: "TLS but not a registry",
            endpoint: at(not_found_port),
            status: "not-registry",
            code: "http-status",
            message: "GET /v2/ answered 404",
        },
    ];
    let results: Vec<(&Case, Value)> = std::thread::scope(|scope| {
        let handles: Vec<_> = cases
            .iter()
            .map(|case| scope.spawn(move || (case, internal_report(&case.endpoint, "1s"))))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("case thread"))
            .collect()
    });
    let mut failures = Vec::new();
    for (case, report) in &results {
        let message = report["error"].as_str().unwrap_or_default();
        println!(
            "{:<26} {:<13} {:<12} {message}",
            case.name,
            report["status"].as_str().unwrap_or("?"),
            report["error_code"].as_str().unwrap_or("-")
        );
        if report["status"] != case.status
            || report["error_code"] != case.code
            || !message.contains(case.message)
        {
            failures.push(format!("{}: {report}", case.name));
        }
    }
    assert!(
        failures.is_empty(),
        "misclassified:\n{}",
        failures.join("\n")
    );
}
