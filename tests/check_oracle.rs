//! `check` against real Go clients: a matrix of certificate cases, each served by a real
//! `docker-registry`, judged by our `check` (live TLS and offline `--cert`), by
//! `skopeo inspect --cert-dir` (Go 1.19) and, for the cases marked so, by the docker CLI
//! (Go 1.24, inside a network namespace because it treats 127.0.0.0/8 as insecure).
//!
//! Where the two Go versions disagree, `docker_error` follows Docker (the product); the
//! table says which oracle each case is compared with and why. Run with `--nocapture` to
//! see the table; it is also printed when the test fails.

mod support;

use std::fmt::Write as _;

use rcgen::{ExtendedKeyUsagePurpose, IsCa};
use support::certs::{chain, days_from_now, CertificateParams, OpensslKey::Rsa, Spec};
use support::oracle::{
    self, check_args, judge_in_netns, ours, Gen, Reading, Served, Trust, Verdict,
};
use support::{require_tool, Registry};

/// What the registry serves and what the client trusts.
struct Material {
    /// PEM chain, leaf first, as the registry serves it.
    chain: String,
    key: String,
    /// Files for the client's certs.d directory: (file name, PEM). A name containing
    /// `.der.` is written as DER (the first certificate of the PEM).
    trust: Vec<(&'static str, String)>,
}

impl Material {
    /// What is served and installed, the `.der.` files as DER.
    fn served(self) -> Served {
        let trust = self
            .trust
            .into_iter()
            .map(|(name, pem)| {
                let contents = if name.contains(".der.") {
                    ::pem::parse(&pem).expect("trust PEM").into_contents()
                } else {
                    pem.into_bytes()
                };
                (name.to_string(), contents)
            })
            .collect();
        Served {
            chain: self.chain,
            key: self.key,
            trust,
        }
    }
}

/// Which Go oracles must agree with us for a case.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Oracles {
    /// skopeo (Go 1.19) and, when `docker` is set, the docker CLI (Go 1.24) agree.
    Both,
    /// Go 1.19 and Go 1.24 differ: we follow Docker. skopeo is checked against the Go
    /// 1.19 form of our message (see `go119_form`).
    DockerOnly,
}

struct Case {
    name: &'static str,
    /// Connect by the name `localhost` instead of the registry's IP.
    by_name: bool,
    oracles: Oracles,
    /// Also judged by the docker CLI in a network namespace.
    docker: bool,
    build: fn(&Gen) -> Material,
}

/// A CA with keyUsage keyCertSign and cRLSign.
fn ca(name: &str) -> Spec {
    Spec::ca(name).cert_sign()
}

/// A CA, and a leaf for `names` signed by it, all with `alg`.
fn ca_and_leaf(
    alg: &'static rcgen::SignatureAlgorithm,
    names: &[&str],
    edit_leaf: impl FnOnce(&mut CertificateParams),
) -> (String, String, String) {
    let [ca, leaf] = chain([
        ca("Registry CA").alg(alg),
        Spec::server(names).alg(alg).edit(edit_leaf),
    ]);
    (leaf.pem(), leaf.key_pem(), ca.pem())
}

fn ecdsa_ca_signed(g: &Gen, edit: impl FnOnce(&mut CertificateParams)) -> Material {
    let (leaf, key, ca) = ca_and_leaf(&rcgen::PKCS_ECDSA_P256_SHA256, &[&g.ip], edit);
    Material {
        chain: leaf,
        key,
        trust: vec![("ca.crt", ca)],
    }
}

/// Root → intermediate → leaf; returns (leaf, key, intermediate, root) PEMs.
fn three_level(g: &Gen) -> (String, String, String, String) {
    let [root, int, leaf] = chain([
        ca("Registry Root CA"),
        ca("Registry Intermediate CA"),
        Spec::server(&[&g.ip]),
    ]);
    (leaf.pem(), leaf.key_pem(), int.pem(), root.pem())
}

/// The guide's recipe, verbatim except the address: openssl.cnf with
/// `subjectAltName = IP:<ip>` added under [ v3_ca ], then `req -x509` (CA:TRUE, self-signed).
fn guide_recipe(g: &Gen, san_ip: &str) -> Material {
    let cnf = std::fs::read_to_string("/usr/lib/ssl/openssl.cnf").expect("system openssl.cnf");
    let cnf = cnf.replacen(
        "[ v3_ca ]",
        &format!("[ v3_ca ]\nsubjectAltName = IP:{san_ip}"),
        1,
    );
    g.ssl.write("openssl.cnf", &cnf);
    g.ssl.run(&[
        "req",
        "-config",
        "./openssl.cnf",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "domain.key",
        "-x509",
        "-days",
        "365",
        "-out",
        "domain.crt",
        "-subj",
        &format!("/C=CN/ST=SH/L=Shang Hai/O=example.com/CN={san_ip}"),
    ]);
    let cert = g.ssl.read("domain.crt");
    Material {
        chain: cert.clone(),
        key: g.ssl.read("domain.key"),
        trust: vec![("domain.crt", cert)],
    }
}

fn self_signed(names: &[&str], edit: impl FnOnce(&mut CertificateParams)) -> Material {
    let cert = Spec::server(names).edit(edit).self_signed();
    Material {
        chain: cert.pem(),
        key: cert.key_pem(),
        trust: vec![("ca.crt", cert.pem())],
    }
}

fn cases() -> Vec<Case> {
    fn case(name: &'static str, docker: bool, build: fn(&Gen) -> Material) -> Case {
        Case {
            name,
            by_name: false,
            oracles: Oracles::Both,
            docker,
            build,
        }
    }
    let mut cases = vec![
        case(
            "guide recipe (CA:TRUE self-signed, SAN IP) installed",
            true,
            |g| guide_recipe(g, &g.ip),
        ),
        case(
            "guide recipe made for the VIP, reached at another address (MLB)",
            true,
            |g| guide_recipe(g, "192.168.0.1"),
        ),
        case("guide recipe, nothing installed", true, |g| {
            let mut m = guide_recipe(g, &g.ip);
            m.trust.clear();
            m
        }),
        case("CA-signed ECDSA P-256 leaf, CA installed", true, |g| {
            ecdsa_ca_signed(g, |_| {})
        }),
        case(
            "CA installed in DER form as ca.der.crt (Go reads PEM only)",
            true,
            |g| {
                let mut m = ecdsa_ca_signed(g, |_| {});
                m.trust[0].0 = "ca.der.crt";
                m
            },
        ),
        case(
            "CA installed as ca.pem (Docker reads *.crt only)",
            true,
            |g| {
                let mut m = ecdsa_ca_signed(g, |_| {});
                m.trust[0].0 = "ca.pem";
                m
            },
        ),
        case("two CAs installed, the right one second", false, |g| {
            let mut m = ecdsa_ca_signed(g, |_| {});
            let other = ca("Some Other CA").self_signed();
            m.trust.insert(0, ("a-other.crt", other.pem()));
            m
        }),
        case(
            "root+intermediate+leaf served, root installed",
            false,
            |g| {
                let (leaf, key, int, root) = three_level(g);
                Material {
                    chain: format!("{leaf}{int}"),
                    key,
                    trust: vec![("ca.crt", root)],
                }
            },
        ),
        case("intermediate not served, root installed", true, |g| {
            let (leaf, key, _int, root) = three_level(g);
            Material {
                chain: leaf,
                key,
                trust: vec![("ca.crt", root)],
            }
        }),
        case(
            "intermediate not served, intermediate installed",
            false,
            |g| {
                let (leaf, key, int, _root) = three_level(g);
                Material {
                    chain: leaf,
                    key,
                    trust: vec![("ca.crt", int)],
                }
            },
        ),
        case("wrong CA installed (other name)", false, |g| {
            let mut m = ecdsa_ca_signed(g, |_| {});
            let other = ca("Some Other CA").self_signed();
            m.trust = vec![("ca.crt", other.pem())];
            m
        }),
        case("wrong CA installed (regenerated, same name)", true, |g| {
            let mut m = ecdsa_ca_signed(g, |_| {});
            let other = ca("Registry CA").self_signed();
            m.trust = vec![("ca.crt", other.pem())];
            m
        }),
        case("expired leaf", true, |g| {
            ecdsa_ca_signed(g, |p| {
                p.not_before = days_from_now(-60);
                p.not_after = days_from_now(-1);
            })
        }),
        case("not yet valid leaf", false, |g| {
            ecdsa_ca_signed(g, |p| {
                p.not_before = days_from_now(2);
                p.not_after = days_from_now(60);
            })
        }),
        case("expired CA, valid leaf", true, |g| {
            let [ca, leaf] = chain([
                ca("Registry CA").valid_days(-400, -2),
                Spec::server(&[&g.ip]),
            ]);
            Material {
                chain: leaf.pem(),
                key: leaf.key_pem(),
                trust: vec![("ca.crt", ca.pem())],
            }
        }),
        case("client-auth-only EKU", true, |g| {
            ecdsa_ca_signed(g, |p| {
                p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
            })
        }),
        case("anyExtendedKeyUsage EKU", false, |g| {
            ecdsa_ca_signed(g, |p| {
                p.extended_key_usages = vec![ExtendedKeyUsagePurpose::Any];
            })
        }),
        case("SHA-1 self-signed, itself installed", true, |g| {
            g.ssl.run(&[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "ss.key",
                "-sha1",
                "-days",
                "30",
                "-subj",
                "/CN=registry",
                "-addext",
                &format!("subjectAltName=IP:{}", g.ip),
                "-out",
                "ss.crt",
            ]);
            let cert = g.ssl.read("ss.crt");
            Material {
                chain: cert.clone(),
                key: g.ssl.read("ss.key"),
                trust: vec![("ca.crt", cert)],
            }
        }),
        case("ECDSA P-384 CA and leaf", false, |g| {
            let (leaf, key, ca) = ca_and_leaf(&rcgen::PKCS_ECDSA_P384_SHA384, &[&g.ip], |_| {});
            Material {
                chain: leaf,
                key,
                trust: vec![("ca.crt", ca)],
            }
        }),
        case("Ed25519 CA and leaf", true, |g| {
            let (leaf, key, ca) = ca_and_leaf(&rcgen::PKCS_ED25519, &[&g.ip], |_| {});
            Material {
                chain: leaf,
                key,
                trust: vec![("ca.crt", ca)],
            }
        }),
        case("RSA 1024 leaf from an RSA 2048 CA", true, |g| {
            g.ssl.ca(Rsa("2048"), "-sha256", "Registry CA", &[]);
            let leaf = g.ssl.leaf(Rsa("1024"), &g.ip, &["-sha256"]);
            Material {
                chain: leaf,
                key: g.ssl.read("leaf.key"),
                trust: vec![("ca.crt", g.ssl.read("ca.crt"))],
            }
        }),
        case("RSA 4096 leaf from an RSA 2048 CA", false, |g| {
            g.ssl.ca(Rsa("2048"), "-sha256", "Registry CA", &[]);
            let leaf = g.ssl.leaf(Rsa("4096"), &g.ip, &["-sha256"]);
            Material {
                chain: leaf,
                key: g.ssl.read("leaf.key"),
                trust: vec![("ca.crt", g.ssl.read("ca.crt"))],
            }
        }),
        case("self-signed non-CA leaf, itself installed", true, |g| {
            self_signed(&[&g.ip], |_| {})
        }),
        case(
            "self-signed non-CA leaf without basicConstraints",
            false,
            |g| self_signed(&[&g.ip], |p| p.is_ca = IsCa::NoCa),
        ),
        case("CN only (no SAN), CN = the address", true, |g| {
            let cert = Spec::names(&[]).cn(&g.ip).ca_true().self_signed();
            Material {
                chain: cert.pem(),
                key: cert.key_pem(),
                trust: vec![("ca.crt", cert.pem())],
            }
        }),
        case("DNS SAN only, reached by IP", true, |g| {
            ecdsa_ca_signed(g, |p| {
                p.subject_alt_names = vec![rcgen::SanType::DnsName(
                    "registry.marathon.l4lb.thisdcos.directory"
                        .try_into()
                        .expect("dns"),
                )];
            })
        }),
        case("VIP and MLB both in SAN", true, |g| {
            let ip = g.ip.clone();
            let (leaf, key, ca) = ca_and_leaf(
                &rcgen::PKCS_ECDSA_P256_SHA256,
                &["192.168.0.1", &ip],
                |_| {},
            );
            Material {
                chain: leaf,
                key,
                trust: vec![("ca.crt", ca)],
            }
        }),
    ];
    let by_name = |name: &'static str, build: fn(&Gen) -> Material| Case {
        name,
        by_name: true,
        oracles: Oracles::Both,
        docker: false,
        build,
    };
    cases.extend([
        by_name("DNS name localhost in SAN, reached by name", |g| {
            ecdsa_ca_signed(g, |p| {
                p.subject_alt_names = vec![rcgen::SanType::DnsName(
                    "localhost".try_into().expect("dns"),
                )];
            })
        }),
        by_name("IP SAN only, reached by name", |g| {
            ecdsa_ca_signed(g, |_| {})
        }),
        by_name("wildcard *.localhost, reached as localhost", |g| {
            ecdsa_ca_signed(g, |p| {
                p.subject_alt_names = vec![rcgen::SanType::DnsName(
                    "*.localhost".try_into().expect("dns"),
                )];
            })
        }),
        by_name("uppercase DNS SAN LOCALHOST, reached as localhost", |g| {
            ecdsa_ca_signed(g, |p| {
                p.subject_alt_names = vec![rcgen::SanType::DnsName(
                    "LocalHost".try_into().expect("dns"),
                )];
            })
        }),
    ]);
    // Go 1.19 and Go 1.24 disagree on these: Docker's answer is the one we give.
    cases.extend([
        Case {
            name: "SHA-1 signed leaf from an RSA CA",
            by_name: false,
            oracles: Oracles::DockerOnly,
            docker: true,
            build: |g| {
                g.ssl.ca(Rsa("2048"), "-sha256", "Registry CA", &[]);
                let leaf = g.ssl.leaf(Rsa("2048"), &g.ip, &["-sha1"]);
                Material {
                    chain: leaf,
                    key: g.ssl.read("leaf.key"),
                    trust: vec![("ca.crt", g.ssl.read("ca.crt"))],
                }
            },
        },
        // Go 1.24 refuses RSA keys under 1024 bits (rsa1024min) only for main modules that
        // declare go >= 1.24; docker 28.2.2 is built with DefaultGODEBUG=rsa1024min=0
        // (see `strings $(which docker) | grep DefaultGODEBUG`), so Docker accepts them
        // like Go 1.19 does.
        Case {
            name: "RSA 512 CA signing an RSA 2048 leaf",
            by_name: false,
            oracles: Oracles::Both,
            docker: true,
            build: |g| {
                g.ssl.ca(Rsa("512"), "-sha256", "Registry CA", &[]);
                let leaf = g.ssl.leaf(Rsa("2048"), &g.ip, &["-sha256"]);
                Material {
                    chain: leaf,
                    key: g.ssl.read("leaf.key"),
                    trust: vec![("ca.crt", g.ssl.read("ca.crt"))],
                }
            },
        },
    ]);
    cases
}

/// Messages equal, except that "current time X" may differ by a few seconds between runs.
fn same(a: &Verdict, b: &Verdict) -> bool {
    match (a, b) {
        (Verdict::Refused(x), Verdict::Refused(y)) => {
            let (x, tx) = split_now(x);
            let (y, ty) = split_now(y);
            x == y
                && match (tx, ty) {
                    (Some(tx), Some(ty)) => (tx - ty).abs() <= 30,
                    (None, None) => true,
                    _ => false,
                }
        }
        _ => a == b,
    }
}

fn split_now(message: &str) -> (String, Option<i64>) {
    let Some(start) = message.find("current time ") else {
        return (message.to_string(), None);
    };
    let from = start + "current time ".len();
    let Some(len) = message[from..].find(' ') else {
        return (message.to_string(), None);
    };
    let stamp = &message[from..from + len];
    let parsed = time::OffsetDateTime::parse(stamp, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp());
    (
        format!("{}<now>{}", &message[..from], &message[from + len..]),
        parsed,
    )
}

/// How skopeo's Go 1.19 words the same refusal: InsecureAlgorithmError for SHA-1 carried
/// " (temporarily override with GODEBUG=x509sha1=1)" until Go 1.24 removed the setting.
fn go119_form(docker: &Verdict) -> Verdict {
    match docker {
        Verdict::Refused(m) => Verdict::Refused(m.replace(
            "insecure algorithm SHA1-RSA",
            "insecure algorithm SHA1-RSA (temporarily override with GODEBUG=x509sha1=1)",
        )),
        other => other.clone(),
    }
}

struct Row {
    name: &'static str,
    compared_with: &'static str,
    ours_live: Verdict,
    ours_offline: Verdict,
    skopeo: Verdict,
    docker: Option<Verdict>,
    ours_docker: Option<Verdict>,
    ok: bool,
    why: String,
}

/// One case on loopback: ours (live and offline) and skopeo.
fn run_loopback(case: &Case) -> Row {
    let work = tempfile::tempdir().expect("tempdir");
    let ip = if case.by_name {
        "127.0.0.1".to_string()
    } else {
        support::unique_loopback_ip()
    };
    let gen = Gen::new(&ip, work.path());
    let material = (case.build)(&gen);
    let certs_d = work.path().join("certs.d");
    let (chain, key) = oracle::write_served(work.path(), &material.served(), &certs_d);
    let port = support::free_port(&ip);
    let _registry = Registry::start(&ip, port, &chain, &key);
    let host = if case.by_name {
        "localhost"
    } else {
        ip.as_str()
    };
    let addr = format!("{host}:{port}");
    let certs_d_text = certs_d.to_string_lossy().into_owned();
    let ours_live = ours(
        &check_args(&addr, "--cert-dir", &certs_d_text),
        Reading::Strict,
    );
    let chain_text = chain.to_string_lossy().into_owned();
    let ours_offline = ours(
        &[
            "--internal",
            &addr,
            "--external",
            &addr,
            "check",
            "--cert",
            &chain_text,
            "--host",
            &addr,
            "--cert-dir",
            &certs_d_text,
            "--format",
            "json",
        ],
        Reading::Strict,
    );
    let skopeo = oracle::skopeo(&addr, &certs_d);
    let compared_with = match (case.oracles, case.docker) {
        (Oracles::Both, true) => "skopeo + docker",
        (Oracles::Both, false) => "skopeo",
        (Oracles::DockerOnly, _) => "docker (skopeo: Go 1.19 form)",
    };
    let mut row = Row {
        name: case.name,
        compared_with,
        ours_live,
        ours_offline,
        skopeo,
        docker: None,
        ours_docker: None,
        ok: true,
        why: String::new(),
    };
    if !same(&row.ours_live, &row.ours_offline) {
        row.ok = false;
        row.why += "live and offline verdicts differ; ";
    }
    let expected_skopeo = match case.oracles {
        Oracles::Both => row.ours_live.clone(),
        Oracles::DockerOnly => go119_form(&row.ours_live),
    };
    if !same(&expected_skopeo, &row.skopeo) {
        row.ok = false;
        row.why += "skopeo disagrees; ";
    }
    row
}

/// The docker CLI cases, all in one network namespace, one registry port per case.
fn run_docker(cases: &[&Case], rows: &mut [Row]) {
    let results = judge_in_netns(
        cases,
        20_000,
        Trust::CertDir,
        Reading::Strict,
        |case, ip, dir| (case.build)(&Gen::new(ip, dir)).served(),
    );
    for (case, (ours, docker)) in cases.iter().zip(results) {
        let row = rows
            .iter_mut()
            .find(|r| r.name == case.name)
            .expect("row for docker case");
        if !same(&ours, &docker) {
            row.ok = false;
            row.why += "docker disagrees; ";
        }
        row.docker = Some(docker);
        row.ours_docker = Some(ours);
    }
}

fn table(rows: &[Row]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n{:<4} {:<62} {:<30}\n",
        "ok", "case", "compared with"
    );
    for row in rows {
        let _ = writeln!(
            out,
            "{:<4} {:<62} {}",
            if row.ok { "ok" } else { "FAIL" },
            row.name,
            row.compared_with
        );
        let _ = writeln!(out, "       ours   : {}", row.ours_live.show());
        if row.ours_offline != row.ours_live {
            let _ = writeln!(out, "       offline: {}", row.ours_offline.show());
        }
        let _ = writeln!(out, "       skopeo : {}", row.skopeo.show());
        match (&row.docker, &row.ours_docker) {
            (Some(docker), Some(ours_ns)) => {
                let _ = writeln!(out, "       ours@ns: {}", ours_ns.show());
                let _ = writeln!(out, "       docker : {}", docker.show());
            }
            _ => {
                let _ = writeln!(out, "       docker : (not run for this case)");
            }
        }
        if !row.ok {
            let _ = writeln!(out, "       why    : {}", row.why);
        }
    }
    out
}

#[test]
fn verdicts_and_messages_equal_go_clients() {
    for tool in [
        "docker-registry",
        "skopeo",
        "openssl",
        "docker",
        "unshare",
        "ip",
    ] {
        require_tool(tool);
    }
    let cases = cases();
    assert!(cases.len() >= 20, "the matrix needs at least 20 cases");
    // Loopback cases in a few threads (2-core CI): registry start-up dominates.
    let threads = 4;
    let mut rows: Vec<Row> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let cases = &cases;
                scope.spawn(move || {
                    cases
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| i % threads == t)
                        .map(|(i, c)| (i, run_loopback(c)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut all: Vec<(usize, Row)> = handles
            .into_iter()
            .flat_map(|h| h.join().expect("case thread"))
            .collect();
        all.sort_by_key(|(i, _)| *i);
        all.into_iter().map(|(_, r)| r).collect()
    });
    let docker_cases: Vec<&Case> = cases.iter().filter(|c| c.docker).collect();
    run_docker(&docker_cases, &mut rows);
    let printed = table(&rows);
    eprintln!("{printed}");
    let failed: Vec<&str> = rows.iter().filter(|r| !r.ok).map(|r| r.name).collect();
    assert!(
        failed.is_empty(),
        "cases disagreeing with Go: {failed:?}\n{printed}"
    );
}
