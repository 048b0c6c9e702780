//! TLS fails closed: a peer that presents the registry's real chain but does not hold the
//! leaf's key is an impostor, for every command that connects.
//!
//! For each leaf key (P-256, RSA-2048, RSA-1024, P-521, Ed25519), TLS 1.2 and 1.3, and each
//! way of signing (honestly, garbage, another key of the same kind, a scheme the key cannot
//! make), a rustls server in a network namespace presents the chain. The docker CLI 28
//! (Go 1.24.3) is the oracle: `check` must give its verdict and its text; `login` must send
//! no `Authorization` header (the server's log says what arrived) and store nothing;
//! `trust` must install nothing; `endpoint` must not pick the impostor. The honest server
//! with the same keys is trusted, logged in to and installed, which proves the detectors.

mod support;

use std::path::Path;

use support::impostor::{Impostor, LeafKind, Pki, Signing};
use support::{docker_verdict, json, require_tool, write_file, Dcosreg, Netns};

struct Case<'a> {
    pki: &'a Pki,
    ns: &'a Netns,
    kind: LeafKind,
    signing: Signing,
    version: &'static rustls::SupportedProtocolVersion,
}

impl Case<'_> {
    fn label(&self) -> String {
        format!(
            "{:?} leaf, {:?}, {:?}",
            self.kind, self.signing, self.version.version
        )
    }

    /// Run every command against a fresh server for this case; the mismatches found.
    fn run(&self) -> Vec<String> {
        let server = self
            .pki
            .serve(self.ns, self.kind, self.signing, self.version);
        let addr = server.addr.clone();
        let honest = self.signing == Signing::Honest;
        let mut wrong = Vec::new();
        let mut expect = |ok: bool, what: String| {
            if !ok {
                wrong.push(format!("{}: {what}", self.label()));
            }
        };

        // Docker's trust for this endpoint: certs.d/<host:port>/ca.crt under a staged root.
        let root = tempfile::tempdir().expect("tempdir");
        let etc_docker = root.path().join("etc/docker");
        write_file(
            &etc_docker.join("certs.d").join(&addr).join("ca.crt"),
            &self.pki.ca_pem,
        );
        let (docker_ok, docker_error) = docker_verdict(&addr, &etc_docker);
        // Past TLS, the docker CLI meets the registry's Basic challenge without credentials.
        let docker_ok = docker_ok || docker_error.contains("no basic auth credentials");
        expect(
            docker_ok == honest,
            format!("the docker CLI said accepted={docker_ok} ({docker_error})"),
        );

        // check: Docker's verdict and Docker's text.
        let out = Dcosreg::new(["--format", "json", "--root"])
            .arg(root.path())
            .args(["check", &addr])
            .run();
        let report = json(&out);
        let endpoint = &report["endpoints"][0];
        let status = endpoint["status"].as_str().unwrap_or("").to_string();
        if honest {
            expect(
                status == "trusted" && out.status.code() == Some(0),
                format!("check said {status} for the honest server: {endpoint}"),
            );
        } else {
            expect(
                status == "untrusted" && out.status.code() == Some(1),
                format!(
                    "check said {status} (exit {:?}) for an impostor",
                    out.status.code()
                ),
            );
            expect(
                endpoint["docker_error"].as_str() == Some(docker_error.as_str()),
                format!(
                    "check's docker_error {} is not the docker CLI's {docker_error:?}",
                    endpoint["docker_error"]
                ),
            );
            expect(
                endpoint["findings"]
                    .as_array()
                    .is_some_and(|f| f.iter().any(|f| f["code"] == "handshake-signature")),
                format!("check names no handshake-signature finding: {endpoint}"),
            );
        }

        // login: the password reaches only the honest server.
        let home = tempfile::tempdir().expect("tempdir");
        let out = Dcosreg::new(["--root"])
            .arg(root.path())
            .args([
                "--internal",
                &addr,
                "--external",
                &addr,
                "login",
                "-u",
                "alice",
            ])
            .args(["--password-stdin", &addr])
            .home(home.path())
            .stdin("s3cret-impostor-test\n")
            .run();
        let stored = stored_anything(home.path());
        if honest {
            expect(
                out.status.success() && server.saw_credentials(),
                format!(
                    "login to the honest server failed or sent nothing: {}",
                    support::stderr(&out)
                ),
            );
        } else {
            expect(
                !out.status.success(),
                "login to an impostor succeeded".to_string(),
            );
            expect(
                !server.saw_credentials(),
                format!("the impostor received credentials: {:?}", server.requests()),
            );
            expect(!stored, "login stored a secret for an impostor".to_string());
            expect(
                support::stderr(&out).contains("tls: "),
                format!("login does not say why: {}", support::stderr(&out)),
            );
        }

        // trust: nothing installed from an impostor's handshake.
        let staged = tempfile::tempdir().expect("tempdir");
        let out = Dcosreg::new(["--root"])
            .arg(staged.path())
            .args(["--internal", &addr, "--external", &addr])
            .args(["trust", &addr, "--yes", "--target", "docker", "--no-verify"])
            .run();
        let installed = staged.path().join("etc/docker/certs.d").join(&addr);
        expect(
            out.status.success() == honest && installed.exists() == honest,
            format!(
                "trust exit {:?}, installed {}: {}",
                out.status.code(),
                installed.exists(),
                support::stderr(&out)
            ),
        );

        // endpoint: an impostor is not a registry this machine can use.
        let out = Dcosreg::new(["--internal", &addr, "--external", &addr, "endpoint"]).run();
        let picked = support::stdout(&out).trim() == addr;
        expect(
            picked == honest,
            format!(
                "endpoint picked={picked}, exit {:?}: {}",
                out.status.code(),
                support::stderr(&out)
            ),
        );
        drop::<Impostor>(server);
        wrong
    }
}

/// Whether login left a secret anywhere under HOME (its data directory or config.json).
fn stored_anything(home: &Path) -> bool {
    let config = home.join(".docker/config.json");
    let data = home.join(".local/share/dcosreg");
    std::fs::read_to_string(config).is_ok_and(|text| text.contains("dcosreg"))
        || std::fs::read_dir(data).is_ok_and(|mut entries| entries.next().is_some())
}

#[test]
fn a_peer_without_the_certificates_key_gets_docker_s_verdict_and_no_secret() {
    require_tool("docker");
    let ns = Netns::create();
    let work = tempfile::tempdir().expect("tempdir");
    let pki = Pki::new(work.path(), &ns.inner_ip);
    let versions = [&rustls::version::TLS12, &rustls::version::TLS13];
    let wrong: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = LeafKind::ALL
            .iter()
            .map(|&kind| {
                let (pki, ns) = (&pki, &ns);
                scope.spawn(move || {
                    versions
                        .iter()
                        .flat_map(|&version| {
                            Signing::ALL.iter().flat_map(move |&signing| {
                                Case {
                                    pki,
                                    ns,
                                    kind,
                                    signing,
                                    version,
                                }
                                .run()
                            })
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a case thread"))
            .collect()
    });
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
