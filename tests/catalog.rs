//! `catalog`: repositories and tags listed from a real `docker-registry` (htpasswd or token
//! auth, tests/support/cluster.rs) with the stored login and Docker's trust; pages followed on
//! the registry's own origin only; untrusted and unreachable registries are an answer
//! (exit 1), bad input exit 2; no credential reaches another host.

mod support;

use std::io::{Read, Write};
use std::process::Output;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use support::cluster::*;
use support::peers::{listen, refused_port, TestChain};
use support::{assert_status, assert_status_for, json, stderr, stdout, unique_loopback_ip};

fn catalog(cluster: &Cluster, args: &[&str]) -> Output {
    let mut full = vec!["catalog"];
    full.extend_from_slice(args);
    let out = cluster.dcosreg(&full, None);
    assert_secret_absent(&out);
    out
}

fn listed(cluster: &Cluster, args: &[&str]) -> Vec<String> {
    let out = catalog(cluster, args);
    assert_status_for(&out, 0, format_args!("catalog {args:?}: {}", text(&out)));
    stdout(&out).lines().map(str::to_string).collect()
}

fn strings(value: &serde_json::Value) -> Vec<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {value}"))
        .iter()
        .map(|v| v.as_str().expect("a string").to_string())
        .collect()
}

#[test]
fn catalog_lists_repositories_and_tags_through_htpasswd_after_login() {
    let cluster = Cluster::start(Auth::Htpasswd);
    let (vip, mlb) = (cluster.vip(), cluster.mlb());

    // Before login: the registry wants Basic, and nothing is stored.
    let anonymous = catalog(&cluster, &[]);
    assert_status(&anonymous, 1);
    assert!(
        stderr(&anonymous).contains("docker dcosreg login"),
        "{}",
        text(&anonymous)
    );

    assert_status(&cluster.login(PASSWORD), 0);
    for reference in [
        "team/app:1",
        "team/app:2",
        "team/app:3",
        "base:1",
        "zeta/x/y:1",
    ] {
        cluster.push(&cluster.config_json(), &mlb, reference);
    }
    let repositories = ["base", "team/app", "zeta/x/y"].map(String::from).to_vec();
    let tags = ["1", "2", "3"].map(String::from).to_vec();

    // The default endpoint is the one `endpoint` picks: the VIP answers, so the VIP.
    assert_eq!(listed(&cluster, &[]), repositories);
    let out = cluster.dcosreg(&["--format", "json", "catalog"], None);
    assert_status(&out, 0);
    let report = json(&out);
    assert_eq!(report["endpoint"], vip.as_str());
    assert_eq!(strings(&report["repositories"]), repositories);

    assert_eq!(listed(&cluster, &["team/app", "--endpoint", &mlb]), tags);
    let out = cluster.dcosreg(
        &[
            "--format",
            "json",
            "catalog",
            "team/app",
            "--endpoint",
            &mlb,
        ],
        None,
    );
    assert_status(&out, 0);
    let report = json(&out);
    assert_eq!(report["endpoint"], mlb.as_str());
    assert_eq!(report["repository"], "team/app");
    assert_eq!(strings(&report["tags"]), tags);

    // One entry a page: every page is followed (without it only "base" would come back).
    assert_eq!(listed(&cluster, &["--page-size", "1"]), repositories);
    assert_eq!(listed(&cluster, &["--page-size", "2"]), repositories);
    // distribution 2.8 ignores `n` for tags (one page); the fake registry below pages.
    assert_eq!(listed(&cluster, &["team/app", "--page-size", "1"]), tags);

    let unknown = catalog(&cluster, &["nothing/here"]);
    assert_status(&unknown, 1);
    assert!(
        stderr(&unknown).contains("is not in the registry"),
        "{}",
        text(&unknown)
    );

    // Bad input: exit 2, one line, before any connection.
    for args in [
        &["Team/App"][..],
        &["team/app:1"],
        &["team//app"],
        &["--endpoint", "https://registry.example"],
        &["--page-size", "0"],
    ] {
        let out = catalog(&cluster, args);
        assert_status_for(&out, 2, format_args!("catalog {args:?}: {}", text(&out)));
        assert_eq!(stderr(&out).lines().count(), 1, "{}", text(&out));
    }
}

#[test]
fn catalog_asks_the_token_service_for_the_listing_s_scope() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tokens = token_service(dir.path(), TokenMode::Https);
    let cluster = Cluster::start(tokens.auth());
    let vip = cluster.vip();

    // No login: the token is asked for anonymously, and refused.
    let anonymous = catalog(&cluster, &[]);
    assert_status(&anonymous, 1);
    assert!(
        stderr(&anonymous).contains("docker dcosreg login"),
        "{}",
        text(&anonymous)
    );
    assert!(!tokens.saw_credentials(), "credentials without a login?");

    assert_status(&cluster.login(PASSWORD), 0);
    for reference in ["bearer/app:1", "bearer/app:2", "other:1"] {
        cluster.push(&cluster.config_json(), &vip, reference);
    }
    tokens.scopes.lock().unwrap().clear();
    assert_eq!(listed(&cluster, &[]), ["bearer/app", "other"]);
    assert_eq!(
        *tokens.scopes.lock().unwrap(),
        ["registry:catalog:*"],
        "the catalog's scope"
    );
    tokens.scopes.lock().unwrap().clear();
    assert_eq!(listed(&cluster, &["bearer/app"]), ["1", "2"]);
    assert_eq!(
        *tokens.scopes.lock().unwrap(),
        ["repository:bearer/app:pull"],
        "the tags' scope"
    );
    // One token for all the pages.
    tokens.scopes.lock().unwrap().clear();
    assert_eq!(
        listed(&cluster, &["--page-size", "1"]),
        ["bearer/app", "other"]
    );
    assert_eq!(tokens.scopes.lock().unwrap().len(), 1);
}

#[test]
fn untrusted_or_unreachable_registries_are_exit_1() {
    let cluster = Cluster::start(Auth::Htpasswd);
    assert_status(&cluster.login(PASSWORD), 0);

    // No trust installed under this root: Docker's text, never a silent -k; the password is
    // not sent.
    let empty_root = cluster.dir.path().join("empty-root");
    std::fs::create_dir_all(&empty_root).unwrap();
    let untrusted = cluster.dcosreg(
        &[
            "--root",
            empty_root.to_str().unwrap(),
            "catalog",
            "--endpoint",
            &cluster.mlb(),
        ],
        None,
    );
    assert_status(&untrusted, 1);
    assert!(
        stderr(&untrusted).contains("x509: certificate signed by unknown authority"),
        "{}",
        text(&untrusted)
    );
    assert_secret_absent(&untrusted);

    let ip = unique_loopback_ip();
    let closed = format!("{ip}:{}", refused_port(&ip));
    let refused = catalog(&cluster, &["--endpoint", &closed]);
    assert_status(&refused, 1);
    assert!(stderr(&refused).contains(&closed), "{}", text(&refused));

    // Nothing answers at the configured endpoints: exit 1, each one's reason.
    let nowhere = cluster.dcosreg(
        &[
            "--internal",
            &closed,
            "--external",
            &closed,
            "--timeout",
            "2s",
            "catalog",
        ],
        None,
    );
    assert_status(&nowhere, 1);
    assert!(
        stderr(&nowhere).contains("no registry endpoint answered"),
        "{}",
        text(&nowhere)
    );
}

/// What a fake registry does with a request: the status line and headers after
/// `HTTP/1.1 `, and the body.
type Answer = (String, String);

/// A TLS server on `ip` presenting `chain` that hands each request's head to `answer`
/// and logs it; one request per connection, every read bounded. Serves until the test
/// process ends.
fn fake_registry(
    ip: &str,
    chain: &TestChain,
    answer: impl Fn(&str) -> Answer + Send + Sync + 'static,
) -> (u16, Arc<Mutex<Vec<String>>>) {
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_no_client_auth()
    .with_single_cert(chain.certs.clone(), chain.key.clone_key())
    .expect("server config");
    let config = Arc::new(config);
    let (listener, port) = listen(ip);
    let log = Arc::new(Mutex::new(Vec::new()));
    let answer = Arc::new(answer);
    let seen = log.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut tcp) = conn else { return };
            let (config, seen, answer) = (config.clone(), seen.clone(), answer.clone());
            std::thread::spawn(move || {
                let _ = tcp.set_read_timeout(Some(Duration::from_secs(10)));
                let _ = tcp.set_write_timeout(Some(Duration::from_secs(10)));
                let Ok(mut tls) = rustls::ServerConnection::new(config) else {
                    return;
                };
                let mut stream = rustls::Stream::new(&mut tls, &mut tcp);
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && head.len() < 64 * 1024 {
                    match stream.read(&mut byte) {
                        Ok(1) => head.push(byte[0]),
                        _ => return,
                    }
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                seen.lock().unwrap().push(head.clone());
                let (status, body) = answer(&head);
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.flush();
            });
        }
    });
    (port, log)
}

/// The registry at `ip` asks for Basic and pages its catalog with `next` after "a"; the
/// host `other` serves "b" to whoever comes, and logs them. Both present chains the root's
/// certs.d trusts, so only our rule keeps the login from `other`.
#[test]
fn the_login_reaches_the_registry_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ip = unique_loopback_ip();
    let other_ip = unique_loopback_ip();
    let chain = TestChain::new(dir.path(), &[&ip, &other_ip]);
    let (other_port, other_log) = fake_registry(&other_ip, &chain, |_| {
        ("200 OK".into(), r#"{"repositories":["b"]}"#.into())
    });
    let other = format!("{other_ip}:{other_port}");
    let next: Arc<Mutex<String>> = Arc::default();
    let link = next.clone();
    let (port, log) = fake_registry(&ip, &chain, move |head| {
        let authorized = head
            .lines()
            .any(|l| l.to_ascii_lowercase().starts_with("authorization: basic "));
        let target = head
            .split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .to_string();
        if !authorized {
            return (
                "401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"fake\"".into(),
                "{}".into(),
            );
        }
        if target.starts_with("/v2/_catalog?last=a") {
            return ("200 OK".into(), r#"{"repositories":["b"]}"#.into());
        }
        if target.starts_with("/v2/_catalog") {
            let next = link.lock().unwrap().clone();
            return (
                format!("200 OK\r\nLink: <{next}>; rel=\"next\""),
                r#"{"repositories":["a"]}"#.into(),
            );
        }
        ("200 OK".into(), "{}".into())
    });
    let endpoint = format!("{ip}:{port}");
    let root = dir.path().join("root");
    for name in [&endpoint, &other] {
        let certs_d = root.join("etc/docker/certs.d").join(name);
        std::fs::create_dir_all(&certs_d).unwrap();
        std::fs::write(certs_d.join("ca.crt"), &chain.ca_pem).unwrap();
    }
    let run = |link: String| -> Output {
        *next.lock().unwrap() = link;
        let out = support::Dcosreg::new(["catalog", "--endpoint", &endpoint])
            .env("DCOSREG_ROOT", &root)
            .env("DCOSREG_INTERNAL", &endpoint)
            .env("DCOSREG_EXTERNAL", &endpoint)
            .env("DCOSREG_TIMEOUT", "10s")
            .env("DCOSREG_USERNAME", USER)
            .env("DCOSREG_PASSWORD", PASSWORD)
            .run();
        assert_secret_absent(&out);
        out
    };

    // Control: a next page on the registry itself is followed, with the login.
    let same = run(format!("https://{endpoint}/v2/_catalog?last=a&n=1"));
    assert_status(&same, 0);
    assert_eq!(stdout(&same).lines().collect::<Vec<_>>(), ["a", "b"]);
    let authorized = log
        .lock()
        .unwrap()
        .iter()
        .filter(|head| head.to_ascii_lowercase().contains("authorization: basic "))
        .count();
    assert_eq!(authorized, 2, "both pages carried the login");

    for elsewhere in [
        format!("https://{other}/v2/_catalog?last=a&n=1"),
        format!("http://{endpoint}/v2/_catalog?last=a&n=1"),
        format!("//{other}/v2/_catalog?last=a"),
    ] {
        let out = run(elsewhere.clone());
        assert_status_for(&out, 1, format_args!("Link {elsewhere}: {}", text(&out)));
        assert!(stderr(&out).contains("not followed"), "{}", text(&out));
    }
    assert!(
        other_log.lock().unwrap().is_empty(),
        "another host was asked: {:?}",
        other_log.lock().unwrap()
    );
}
