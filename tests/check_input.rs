//! `check` input handling and output contract: bad files exit 2 naming the file, hostile
//! certificate strings never reach the terminal raw, trust under `--root` follows Docker's
//! certs.d and Go's system-pool rules, JSON has docs/cli.md's shape, unreachable exits 1.

mod support;

use support::certs::{chain, Spec};
use support::{assert_status, assert_status_for, dcosreg, json, stderr, stdout, write_file};

/// A CA and a leaf for `names` signed by it: (leaf PEM, key PEM, CA PEM, CA DER).
fn ca_and_leaf(names: &[&str], cn: &str) -> (String, String, String, Vec<u8>) {
    let [ca, leaf] = chain([Spec::ca("Test Registry CA"), Spec::names(names).cn(cn)]);
    (leaf.pem(), leaf.key_pem(), ca.pem(), ca.der().to_vec())
}

/// `check --cert FILE --host EP` with the configured endpoints pointing at test addresses.
fn offline(extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "--internal",
        "127.0.0.1:1",
        "--external",
        "127.0.0.1:2",
        "check",
    ];
    args.extend_from_slice(extra);
    dcosreg(&args)
}

#[test]
fn bad_certificate_files_exit_2_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (leaf, key, ca, _) = ca_and_leaf(&["127.0.0.1"], "registry");
    let good = dir.path().join("good.pem");
    write_file(&good, &leaf);
    let ca_file = dir.path().join("ca.pem");
    write_file(&ca_file, &ca);
    let empty = dir.path().join("empty.pem");
    write_file(&empty, "");
    let garbage = dir.path().join("garbage.pem");
    write_file(
        &garbage,
        "-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n",
    );
    let key_only = dir.path().join("key.pem");
    write_file(&key_only, &key);
    let missing = dir.path().join("missing.pem");
    let bad = [&empty, &garbage, &key_only, &missing];
    for file in bad {
        let f = file.to_str().unwrap();
        let g = good.to_str().unwrap();
        let c = ca_file.to_str().unwrap();
        for args in [
            vec!["--cert", f, "--host", "127.0.0.1"],
            vec!["--cert", g, "--host", "127.0.0.1", "--ca-file", f],
            vec!["127.0.0.1:1", "--ca-file", f],
            vec!["--cert", f, "--host", "127.0.0.1", "--ca-file", c],
        ] {
            let out = offline(&args);
            assert_status_for(&out, 2, format_args!("{args:?}"));
            let err = stderr(&out);
            assert!(
                err.contains(f),
                "{args:?}: error does not name the file: {err}"
            );
            assert!(err.starts_with("docker-dcosreg: "), "{err}");
            assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
            assert!(
                stdout(&out).is_empty(),
                "nothing on stdout: {}",
                stdout(&out)
            );
        }
    }
    let nowhere = dir.path().join("no-such-dir");
    let out = offline(&[
        "--cert",
        good.to_str().unwrap(),
        "--host",
        "127.0.0.1",
        "--cert-dir",
        nowhere.to_str().unwrap(),
    ]);
    assert_status(&out, 2);
    assert!(stderr(&out).contains("no-such-dir"), "{}", stderr(&out));
    let out = offline(&["--cert", good.to_str().unwrap(), "--host", "http://x/"]);
    assert_status(&out, 2);
    let out = offline(&[
        "127.0.0.1:1",
        "--cert",
        good.to_str().unwrap(),
        "--host",
        "127.0.0.1",
    ]);
    assert_status_for(&out, 2, "endpoints and --cert together");
}

#[test]
fn hostile_certificate_strings_are_sanitized() {
    let hostile_cn = "evil\u{1b}]0;owned\u{7}\u{1b}[2J\rname";
    let (leaf, _, ca, _) = ca_and_leaf(&["bad\u{1b}[31mname.example"], hostile_cn);
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("leaf.pem");
    write_file(&cert, format!("{leaf}{ca}"));
    let cert = cert.to_str().unwrap();
    let out = offline(&["--cert", cert, "--host", "registry.example"]);
    assert_status(&out, 1);
    let text = stdout(&out);
    assert!(text.contains("evil"), "{text}");
    for line in text.lines() {
        assert!(
            !line.chars().any(|c| c.is_control() && c != '\t'),
            "control character reached the terminal: {line:?}"
        );
    }
    let out = offline(&[
        "--cert",
        cert,
        "--host",
        "registry.example",
        "--format",
        "json",
    ]);
    let value = json(&out);
    let subject = value["endpoints"][0]["chain"][0]["subject"]
        .as_str()
        .unwrap();
    assert!(
        subject.contains('\u{1b}'),
        "JSON keeps the exact value, escaped by JSON: {subject:?}"
    );
    assert!(!stdout(&out).contains('\u{1b}'), "raw ESC in JSON output");
}

#[test]
fn json_has_the_contract_shape_and_trust_follows_root() {
    let root = tempfile::tempdir().unwrap();
    let (leaf, _, ca, ca_der) = ca_and_leaf(&["127.0.0.1"], "registry");
    let cert = root.path().join("served.pem");
    write_file(&cert, &leaf);
    let cert = cert.to_str().unwrap();
    let root_dir = root.path().to_str().unwrap();
    let run = |host: &str| {
        offline(&[
            "--root", root_dir, "--format", "json", "--cert", cert, "--host", host,
        ])
    };

    // Nothing installed under ROOT: Go's "unknown authority".
    let out = run("127.0.0.1:5000");
    assert_status(&out, 1);
    let value = json(&out);
    let ep = &value["endpoints"][0];
    let mut keys: Vec<&str> = ep.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "chain",
            "docker_error",
            "endpoint",
            "expires_at",
            "expires_in_seconds",
            "findings",
            "status"
        ]
    );
    assert_eq!(ep["status"], "untrusted");
    assert_eq!(
        ep["docker_error"],
        "x509: certificate signed by unknown authority"
    );
    let finding = &ep["findings"][0];
    for key in ["code", "severity", "message"] {
        assert!(finding.get(key).is_some(), "finding lacks {key}: {finding}");
    }
    let chain0 = ep["chain"][0].as_object().unwrap();
    for key in [
        "subject",
        "issuer",
        "sha256",
        "not_before",
        "not_after",
        "dns_names",
        "ip_addresses",
        "is_ca",
    ] {
        assert!(chain0.contains_key(key), "chain entry lacks {key}");
    }
    assert_eq!(ep["chain"][0]["ip_addresses"][0], "127.0.0.1");

    // A DER file named ca.crt: Go's AppendCertsFromPEM ignores it, and we say so.
    let certs_d = root.path().join("etc/docker/certs.d/127.0.0.1:5000");
    write_file(&certs_d.join("ca.crt"), &ca_der);
    let value = json(&run("127.0.0.1:5000"));
    assert_eq!(value["endpoints"][0]["status"], "untrusted");
    let codes: Vec<&str> = value["endpoints"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["code"].as_str())
        .collect();
    assert!(codes.contains(&"ca-file-ignored"), "{codes:?}");

    // PEM ca.crt in certs.d/<host:port>: trusted for that spelling only.
    write_file(&certs_d.join("ca.crt"), &ca);
    let out = run("127.0.0.1:5000");
    assert_status(&out, 0);
    assert_eq!(
        json(&out)["endpoints"][0]["docker_error"],
        serde_json::Value::Null
    );
    assert_status(&run("127.0.0.1:5001"), 1);

    // A file not ending in .crt is not read by Docker.
    std::fs::rename(certs_d.join("ca.crt"), certs_d.join("ca.pem")).unwrap();
    let out = run("127.0.0.1:5000");
    assert_status(&out, 1);
    assert!(
        stdout(&out).contains("ca.pem is not read"),
        "the trap is named: {}",
        stdout(&out)
    );

    // The system bundle under ROOT counts for every endpoint, as SystemCertPool does.
    write_file(&root.path().join("etc/ssl/certs/ca-certificates.crt"), &ca);
    assert_status(&run("127.0.0.1:5001"), 0);
    assert_status(&run("127.0.0.1"), 0);
}

#[test]
fn the_vip_certificate_warns_about_the_mlb_address() {
    let dir = tempfile::tempdir().unwrap();
    let (leaf, _, ca, _) = ca_and_leaf(&["127.0.0.1"], "registry");
    let cert = dir.path().join("leaf.pem");
    write_file(&cert, &leaf);
    let ca_file = dir.path().join("ca.pem");
    write_file(&ca_file, &ca);
    let out = dcosreg(&[
        "--internal",
        "127.0.0.1",
        "--external",
        "127.0.0.2:5000",
        "check",
        "--cert",
        cert.to_str().unwrap(),
        "--host",
        "127.0.0.1",
        "--ca-file",
        ca_file.to_str().unwrap(),
    ]);
    assert_status(&out, 0);
    let text = stdout(&out);
    assert!(text.starts_with("127.0.0.1: trusted"), "{text}");
    assert!(
        text.contains("missing-endpoint-san")
            && text.contains("x509: certificate is valid for 127.0.0.1, not 127.0.0.2"),
        "{text}"
    );
}

#[test]
fn unreachable_endpoints_exit_1() {
    let ip = support::unique_loopback_ip();
    let addr = format!("{ip}:{}", support::free_port(&ip));
    let other = format!("{ip}:{}", support::free_port(&ip));
    let out = dcosreg(&[
        "--internal",
        &addr,
        "--external",
        &other,
        "--timeout",
        "2s",
        "check",
        "--format",
        "json",
    ]);
    assert_status(&out, 1);
    let value = json(&out);
    let endpoints = value["endpoints"].as_array().unwrap();
    assert_eq!(endpoints.len(), 2, "internal and external are both checked");
    for ep in endpoints {
        assert_eq!(ep["status"], "unreachable");
        assert_eq!(ep["findings"][0]["code"], "unreachable");
    }
    // Text: a finding looks as doctor shows one (severity padded, the fix under the code),
    // and each endpoint is named once, in its own line, not again in its cause.
    let out = dcosreg(&[
        "--internal",
        &addr,
        "--external",
        &other,
        "--timeout",
        "2s",
        "check",
    ]);
    assert_status(&out, 1);
    let text = stdout(&out);
    assert!(
        text.contains(&format!(
            "{addr}: unreachable\n  error   unreachable: connection refused"
        )),
        "{text}"
    );
    assert!(text.contains("\n          fix: check the port"), "{text}");
    assert_eq!(text.matches(addr.as_str()).count(), 1, "{text}");
}

/// `--cert-dir` given certs.d itself: a warning names the directory Docker reads for the
/// endpoint (`certs.d/<host[:port]>/`); the endpoint's own directory gets none.
#[test]
fn cert_dir_of_the_certs_d_parent_names_the_directory_to_give() {
    let dir = tempfile::tempdir().unwrap();
    let certs_d = dir.path().join("certs.d");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = listener.local_addr().unwrap().to_string();
    drop(listener);
    let own = certs_d.join(&endpoint);
    std::fs::create_dir_all(&own).unwrap();
    write_file(&own.join("ca.crt"), "not a certificate\n");
    let run = |cert_dir: &std::path::Path| {
        dcosreg(&[
            "check",
            "--timeout",
            "1s",
            "--cert-dir",
            cert_dir.to_str().unwrap(),
            &endpoint,
        ])
    };
    let out = run(&certs_d);
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "warning: --cert-dir {} holds no *.crt, only directories: Docker reads certs.d/<host[:port]>/ — give the endpoint's own directory: --cert-dir {}",
            certs_d.display(),
            own.display()
        )),
        "{err}"
    );
    let out = run(&own);
    assert!(!stderr(&out).contains("holds no *.crt"), "{}", stderr(&out));
}

/// `check --cert FILE` without `--host` shows what the file holds (as `step certificate
/// inspect` does): every certificate, whether the next one signed it, its validity now; the
/// same in JSON; compared with openssl's view of the same file. No endpoint, no network.
#[test]
fn cert_without_host_inspects_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (leaf, _, ca, _) = ca_and_leaf(&["registry.test", "10.0.0.7"], "registry.test");
    let [_, other] = chain([Spec::ca("Other CA"), Spec::names(&["x.test"])]);
    let both = dir.path().join("chain.pem");
    write_file(&both, format!("{leaf}{ca}"));
    let wrong = dir.path().join("wrong.pem");
    write_file(&wrong, format!("{}{ca}", other.pem()));

    let out = dcosreg(&["check", "--cert", both.to_str().unwrap()]);
    assert_status(&out, 0);
    let text = stdout(&out);
    assert!(text.contains("2 certificates"), "{text}");
    assert!(text.contains("SAN: registry.test, 10.0.0.7"), "{text}");
    assert!(text.contains("signed by [1]: yes"), "{text}");
    assert!(text.contains("(valid)"), "{text}");
    assert!(text.contains("self-signed"), "the CA: {text}");
    // The SHA-256 of each is openssl's.
    for pem in [&leaf, &ca] {
        let fp = support::certs::openssl_fingerprint(pem)
            .replace(':', "")
            .to_lowercase();
        assert!(
            text.to_lowercase().replace(':', "").contains(&fp),
            "{fp} in {text}"
        );
    }

    let out = dcosreg(&[
        "--format",
        "json",
        "check",
        "--cert",
        wrong.to_str().unwrap(),
    ]);
    assert_status(&out, 0);
    let report = json(&out);
    let certs = report["certificates"].as_array().unwrap();
    assert_eq!(certs.len(), 2, "{report}");
    assert_eq!(certs[0]["signed_by_next"], false, "{report}");
    assert_eq!(certs[0]["validity"], "valid");
    assert!(certs[1].get("signed_by_next").is_none(), "{report}");
    assert_eq!(certs[1]["is_ca"], true);

    // What judges a chain for an endpoint needs --host.
    let out = dcosreg(&[
        "check",
        "--cert",
        both.to_str().unwrap(),
        "--expires-within",
        "30d",
    ]);
    assert_status(&out, 2);
    assert!(stderr(&out).contains("--host"), "{}", stderr(&out));
}

/// Docker's certs.d that cannot be resolved inside `--root` (`ROOT/etc/docker ->
/// /etc/docker` loops there) is an error naming the path, exit 2: the old code read the
/// plain `ROOT/etc/docker/certs.d` join as an empty directory and answered "unknown
/// authority", a verdict about a store it never found.
#[test]
fn an_unresolvable_certs_d_is_an_error_naming_it() {
    let root = tempfile::tempdir().unwrap();
    let (leaf, _, _, _) = ca_and_leaf(&["127.0.0.1"], "registry");
    let cert = root.path().join("served.pem");
    write_file(&cert, &leaf);
    std::fs::create_dir(root.path().join("etc")).unwrap();
    std::os::unix::fs::symlink("/etc/docker", root.path().join("etc/docker")).unwrap();
    let out = offline(&[
        "--root",
        root.path().to_str().unwrap(),
        "--cert",
        cert.to_str().unwrap(),
        "--host",
        "127.0.0.1:5000",
    ]);
    assert_status(&out, 2);
    let err = stderr(&out);
    assert!(
        err.contains(&*root.path().join("etc/docker").to_string_lossy()),
        "names the path it cannot resolve: {err}"
    );
    assert!(!err.contains("unknown authority"), "no verdict: {err}");
}
