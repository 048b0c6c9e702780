//! The Go-oracle tests' one way to judge a case: a [`Verdict`] from our `check --format
//! json` ([`ours`]) and one from a Go client ([`docker`], [`skopeo`], or [`from_go`] for a
//! raw `(accepted, message)`), and [`judge_in_netns`], which serves every case's chain from
//! a real `docker-registry` in one network namespace and returns both verdicts per case.
//! How two verdicts must compare stays with each test (the rules differ by oracle).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::certs::Openssl;
use super::{dcosreg, docker_verdict, skopeo_verdict, Netns, Registry};

/// A verdict: trusted, refused with Go's message (our `docker_error`), or neither.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    Trusted,
    Refused(String),
    /// Our check found the endpoint neither trusted nor untrusted (its first finding), or,
    /// read [`Reading::Lenient`], printed no JSON.
    Unreachable(String),
}

impl Verdict {
    /// One line for a table: `trusted`, the message, or `UNREACHABLE: ...`.
    pub fn show(&self) -> String {
        match self {
            Verdict::Trusted => "trusted".into(),
            Verdict::Refused(m) => m.clone(),
            Verdict::Unreachable(m) => format!("UNREACHABLE: {m}"),
        }
    }
}

/// How [`ours`] reads our `check`.
#[derive(Clone, Copy, Debug)]
pub enum Reading {
    /// No JSON fails the test; trusted must exit 0 and untrusted 1.
    Strict,
    /// No JSON is an [`Verdict::Unreachable`] verdict; the exit status is not looked at.
    Lenient,
}

/// Our `check ... --format json` for one endpoint, as a verdict.
pub fn ours(args: &[&str], reading: Reading) -> Verdict {
    let out = dcosreg(args);
    let json: serde_json::Value = match serde_json::from_slice(&out.stdout) {
        Ok(json) => json,
        Err(e) => match reading {
            Reading::Strict => panic!(
                "check {args:?} printed no JSON ({e}); exit {:?}, stderr: {}",
                out.status.code(),
                super::stderr(&out)
            ),
            Reading::Lenient => {
                return Verdict::Unreachable(format!("no JSON ({e}): {}", super::stderr(&out)))
            }
        },
    };
    let ep = &json["endpoints"][0];
    let code = out.status.code();
    let strict = matches!(reading, Reading::Strict);
    match ep["status"].as_str() {
        Some("trusted") => {
            if strict {
                assert_eq!(code, Some(0), "trusted must exit 0");
            }
            Verdict::Trusted
        }
        Some("untrusted") => {
            if strict {
                assert_eq!(code, Some(1), "untrusted must exit 1");
            }
            Verdict::Refused(ep["docker_error"].as_str().unwrap_or("<null>").to_string())
        }
        _ => Verdict::Unreachable(ep["findings"][0]["message"].to_string()),
    }
}

/// The arguments of a live `check` of `addr` (also the internal and external address),
/// trusting `trust` given with `trust_flag` (`--cert-dir` or `--ca-file`), 5 s timeout.
pub fn check_args<'a>(addr: &'a str, trust_flag: &'a str, trust: &'a str) -> Vec<&'a str> {
    vec![
        "--internal",
        addr,
        "--external",
        addr,
        "--timeout",
        "5s",
        "check",
        addr,
        trust_flag,
        trust,
        "--format",
        "json",
    ]
}

/// A Go oracle's (accepted, message), with Go 1.20+'s "tls: failed to verify certificate: "
/// wrapper removed (docs/cli.md: docker_error starts at "x509:").
pub fn from_go((accepted, message): (bool, String)) -> Verdict {
    if accepted {
        return Verdict::Trusted;
    }
    let message = message
        .strip_prefix("tls: failed to verify certificate: ")
        .unwrap_or(&message)
        .to_string();
    Verdict::Refused(message)
}

/// The docker CLI's verdict on `addr` with `etc_docker` as /etc/docker.
pub fn docker(addr: &str, etc_docker: &Path) -> Verdict {
    from_go(docker_verdict(addr, etc_docker))
}

/// skopeo's verdict on `addr` with `--cert-dir cert_dir`, logrus's escapes undone.
pub fn skopeo(addr: &str, cert_dir: &Path) -> Verdict {
    let (accepted, message) = skopeo_verdict(addr, cert_dir);
    from_go((accepted, unescape_logrus(&message)))
}

/// skopeo logs through logrus, which prints `msg="..."` with Go's `%q` escaping: undo
/// the escapes of `"` and `\` so the message reads as Go's error text.
fn unescape_logrus(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut chars = message.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some(next @ ('"' | '\\')) => out.push(next),
                Some(other) => {
                    out.push(c);
                    out.push(other);
                }
                None => out.push(c),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Whether a Go client's verdict is the documented one: `None` = trusted, else a prefix of
/// its message.
pub fn documented(go: &Verdict, expected: Option<&str>) -> bool {
    match (go, expected) {
        (Verdict::Trusted, None) => true,
        (Verdict::Refused(m), Some(prefix)) => m.starts_with(prefix),
        _ => false,
    }
}

/// Where a case's material is made: the IP the registry listens on and openssl's work
/// directory.
pub struct Gen {
    pub ip: String,
    pub ssl: Openssl,
}

impl Gen {
    pub fn new(ip: &str, dir: &Path) -> Gen {
        Gen {
            ip: ip.to_string(),
            ssl: Openssl::new(dir),
        }
    }
}

/// What a case's registry serves and what its client trusts.
pub struct Served {
    /// PEM chain, leaf first.
    pub chain: String,
    pub key: String,
    /// The files of the client's certs.d directory: (file name, contents).
    pub trust: Vec<(String, Vec<u8>)>,
}

/// Write `served`'s trust files into `certs_d` and its chain and key into `dir`; returns
/// the (chain, key) paths for the registry.
pub fn write_served(dir: &Path, served: &Served, certs_d: &Path) -> (PathBuf, PathBuf) {
    std::fs::create_dir_all(certs_d).expect("certs.d dir");
    for (name, contents) in &served.trust {
        std::fs::write(certs_d.join(name), contents).expect("write trust file");
    }
    let (chain, key) = (dir.join("chain.pem"), dir.join("key.pem"));
    std::fs::write(&chain, &served.chain).expect("write chain");
    std::fs::write(&key, &served.key).expect("write key");
    (chain, key)
}

/// How our `check` is told what to trust in [`judge_in_netns`].
#[derive(Clone, Copy, Debug)]
pub enum Trust {
    /// `--cert-dir` the case's certs.d directory.
    CertDir,
    /// `--ca-file` this file of the case's certs.d directory.
    CaFile(&'static str),
}

/// Every case served by its own `docker-registry` in one new network namespace (case `i`
/// on port `base_port + i`, its material from `build(case, ip, dir)`), then judged in
/// parallel by our `check` (read as `reading`) and by the docker CLI with the cases' certs.d
/// directories as /etc/docker/certs.d. Returns (ours, docker) per case, in order.
pub fn judge_in_netns<C>(
    cases: &[C],
    base_port: u16,
    trust: Trust,
    reading: Reading,
    build: impl Fn(&C, &str, &Path) -> Served,
) -> Vec<(Verdict, Verdict)> {
    let ns = Netns::create();
    let work = tempfile::tempdir().expect("tempdir");
    let etc_docker = work.path().join("etc-docker");
    let mut registries = Vec::new();
    let mut targets = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let dir = work.path().join(format!("case{i}"));
        std::fs::create_dir_all(&dir).expect("case dir");
        let served = build(case, &ns.inner_ip, &dir);
        let port = base_port + i as u16;
        let addr = format!("{}:{port}", ns.inner_ip);
        let certs_d = etc_docker.join("certs.d").join(&addr);
        let (chain, key) = write_served(&dir, &served, &certs_d);
        registries.push(Registry::start_in_netns(&ns, port, &chain, &key));
        let (flag, path) = match trust {
            Trust::CertDir => ("--cert-dir", certs_d),
            Trust::CaFile(name) => ("--ca-file", certs_d.join(name)),
        };
        targets.push((addr, flag, path.to_string_lossy().into_owned()));
    }
    let results = std::thread::scope(|scope| {
        let handles: Vec<_> = targets
            .iter()
            .map(|(addr, flag, path)| {
                let etc_docker = &etc_docker;
                scope.spawn(move || {
                    let ours = ours(&check_args(addr, flag, path), reading);
                    (ours, docker(addr, etc_docker))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("oracle thread"))
            .collect()
    });
    drop(registries);
    results
}

/// A table of cases judged by ours and the docker CLI, and how many failed.
#[derive(Default)]
pub struct Report {
    text: String,
    failed: usize,
}

impl Report {
    /// One case: `ok  ` or `FAIL`, `label`, then both verdicts.
    pub fn row(&mut self, ok: bool, label: &str, ours: &Verdict, docker: &Verdict) {
        if !ok {
            self.failed += 1;
        }
        let _ = writeln!(
            self.text,
            "{} {label}\n     ours  : {ours:?}\n     docker: {docker:?}",
            if ok { "ok  " } else { "FAIL" },
        );
    }

    /// Print the table and fail when a case did.
    pub fn finish(self) {
        let Report { text, failed } = self;
        println!("{text}");
        assert_eq!(failed, 0, "{failed} case(s) disagree:\n{text}");
    }
}
