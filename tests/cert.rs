//! `cert`: the issued certificate, served by a real `docker-registry`, is accepted by a real
//! Go client (skopeo) and by our own `check` on every address it names; files, modes,
//! no-overwrite, renewal with an existing CA (ours and one made by the openssl CLI).
mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use support::certs::Openssl;
use support::*;

/// A certs dir for skopeo holding only `ca.crt` (what `trust` installs for Docker).
fn cert_dir_with(ca: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::copy(ca, dir.path().join("ca.crt")).expect("copy ca.crt");
    dir
}

fn cert_ok(args: &[&str]) -> serde_json::Value {
    let mut full = vec!["--format", "json", "cert"];
    full.extend_from_slice(args);
    let out = dcosreg(&full);
    assert_status_for(&out, 0, format_args!("cert {args:?} failed"));
    serde_json::from_str(&stdout(&out)).expect("cert --format json prints JSON")
}

/// Our `check` judgement of `endpoint` with only `ca` trusted: (status, docker_error).
fn check_status(endpoint: &str, ca: &Path) -> (String, String) {
    let ca = ca.to_str().expect("utf-8 path");
    let out = dcosreg(&[
        "--timeout",
        "5s",
        "--format",
        "json",
        "check",
        endpoint,
        "--ca-file",
        ca,
    ]);
    let report: serde_json::Value = serde_json::from_str(&stdout(&out))
        .unwrap_or_else(|e| panic!("check {endpoint}: {e}: {}", stderr(&out)));
    let result = &report["endpoints"][0];
    (
        result["status"].as_str().unwrap_or_default().to_string(),
        result["docker_error"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    )
}

/// Install `ca` for Docker for every endpoint with our own `trust`, exactly as the next
/// steps printed by `cert` say (with its fingerprint), under a staging root. The printed
/// command carries the endpoints the certificate was made for (`tests/printed_fixes.rs`
/// runs it as printed); here it is pointed at a staging root and more endpoints.
fn trust_for_docker(
    report: &serde_json::Value,
    root: &Path,
    endpoints: &[String],
    made_for: &[&str],
) {
    let command = report["trust_command"].as_str().expect("trust_command");
    let words: Vec<&str> = command.split_whitespace().collect();
    assert_eq!(words[..2], ["sudo", "docker-dcosreg"], "{command}");
    let trust = words.iter().position(|w| *w == "trust").expect("trust");
    for (flag, endpoint) in ["--internal", "--external"].iter().zip(made_for) {
        assert!(
            command.contains(&format!("{flag} {endpoint} ")),
            "{command}"
        );
    }
    let root_text = root.to_str().unwrap();
    let mut args = vec!["--root", root_text, "--timeout", "5s", "trust"];
    args.extend(endpoints.iter().map(String::as_str));
    args.extend(&words[trust + 1..]);
    args.extend(["--target", "docker", "--no-verify"]);
    let out = dcosreg(&args);
    assert_status_for(&out, 0, format_args!("{command}"));
}

#[test]
fn issued_certificate_is_accepted_on_every_address_it_names() {
    // The docker CLI treats 127.0.0.0/8 as an insecure registry and skips verification
    // there, so the endpoint it judges lives in a network namespace: the internal endpoint,
    // served on 443 (no port given, as the VIP). The rest are on loopback for skopeo and
    // our `check`.
    let ns = Netns::create();
    let internal_ip = ns.inner_ip.clone();
    let external_ip = unique_loopback_ip();
    let extra_ip = unique_loopback_ip();
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("certs");
    let external = format!("{external_ip}:5000");
    let report = cert_ok(&[
        "--out",
        out.to_str().unwrap(),
        "--internal",
        &internal_ip,
        "--external",
        &external,
        "--ip",
        &extra_ip,
        "--ip",
        "::1",
        "--name",
        "localhost",
    ]);
    let chain = out.join("domain.crt");
    let key = out.join("domain.key");
    let ca = out.join("ca.crt");
    assert_eq!(report["cert"].as_str(), chain.to_str());

    let localhost_port = free_port("127.0.0.1");
    let extra_port = free_port(&extra_ip);
    let v6_port = free_port("::1");
    // Control: the host side of the veth, an address the certificate does not name.
    let unnamed_port = free_port(&ns.host_ip);
    let registries = [
        Registry::start_in_netns(&ns, 443, &chain, &key),
        Registry::start(&external_ip, 5000, &chain, &key),
        Registry::start(&extra_ip, extra_port, &chain, &key),
        Registry::start("127.0.0.1", localhost_port, &chain, &key),
        Registry::start("::1", v6_port, &chain, &key),
        Registry::start(&ns.host_ip, unnamed_port, &chain, &key),
    ];
    let v6 = format!("[::1]:{v6_port}");
    let unnamed = format!("{}:{unnamed_port}", ns.host_ip);
    let all = [
        internal_ip.clone(),
        external.clone(),
        format!("{extra_ip}:{extra_port}"),
        format!("localhost:{localhost_port}"),
        v6.clone(),
        unnamed.clone(),
    ];
    let certs = cert_dir_with(&ca);
    let root = dir.path().join("root");
    std::fs::create_dir(&root).unwrap();
    trust_for_docker(
        &report,
        &root,
        &[internal_ip.clone(), unnamed.clone()],
        &[&internal_ip, &external],
    );
    let etc_docker = root.join("etc/docker");

    std::thread::scope(|scope| {
        let mut handles = Vec::new();
        for endpoint in &all {
            let (certs, ca, etc_docker) = (certs.path(), &ca, &etc_docker);
            let (v6, internal, unnamed) = (&v6, &internal_ip, &unnamed);
            handles.push(scope.spawn(move || {
                let mut verdicts = Vec::new();
                // skopeo 1.9.3's reference parser predates IPv6 literals.
                if endpoint != v6 {
                    verdicts.push(("skopeo", skopeo_verdict(endpoint, certs)));
                }
                if endpoint == internal || endpoint == unnamed {
                    verdicts.push(("docker", docker_verdict(endpoint, etc_docker)));
                }
                (endpoint.clone(), verdicts, check_status(endpoint, ca))
            }));
        }
        for handle in handles {
            let (endpoint, verdicts, (status, docker_error)) =
                handle.join().expect("verdict thread");
            if endpoint == unnamed {
                // The oracles do reject an address the certificate does not name, with the
                // guide's failure; so the acceptances below mean something.
                assert_eq!(verdicts.len(), 2);
                for (client, (accepted, message)) in verdicts {
                    assert!(
                        !accepted,
                        "{client} accepted {endpoint}, which is not named"
                    );
                    assert!(
                        message.contains("certificate is valid for")
                            && message.contains(&ns.host_ip),
                        "{client}: {message}"
                    );
                }
                assert_eq!(status, "untrusted", "check on {endpoint}");
                assert!(
                    docker_error.contains("certificate is valid for"),
                    "{docker_error}"
                );
            } else {
                for (client, (accepted, message)) in verdicts {
                    assert!(accepted, "{client} rejected {endpoint}: {message}");
                    assert!(!message.contains("certificate is valid for"), "{message}");
                }
                assert_eq!(status, "trusted", "check on {endpoint}: {docker_error}");
            }
        }
    });
    drop(registries);
}

#[test]
fn files_have_their_modes_and_are_never_overwritten_without_force() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("certs");
    let out_text = out.to_str().unwrap();
    let loopback = ["--internal", "127.0.0.1", "--external", "127.0.0.1:5000"];
    let mut args = vec!["cert", "--out", out_text];
    args.extend(loopback);
    let mut dry = args.clone();
    dry.push("--dry-run");
    let planned = dcosreg(&dry);
    assert_status(&planned, 0);
    assert!(
        stdout(&planned).starts_with("Would issue"),
        "{}",
        stdout(&planned)
    );
    assert!(!out.exists(), "--dry-run wrote something");
    let first = dcosreg(&args);
    assert_status(&first, 0);
    for (name, expected) in [
        ("ca.crt", 0o644),
        ("ca.key", 0o600),
        ("domain.crt", 0o644),
        ("domain.key", 0o600),
    ] {
        assert_eq!(mode(&out.join(name)), expected, "{name}");
    }
    let read_all = || -> Vec<Vec<u8>> {
        ["ca.crt", "ca.key", "domain.crt", "domain.key"]
            .iter()
            .map(|name| std::fs::read(out.join(name)).expect("read"))
            .collect()
    };
    let before = read_all();

    // Second run: refused, one line, every file unchanged.
    let again = dcosreg(&args);
    assert_status(&again, 2);
    let message = stderr(&again);
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(
        message.contains("--force") && message.contains("domain.key"),
        "{message}"
    );
    assert_eq!(read_all(), before);

    // Only one file in the way: still nothing at all is written.
    let lonely = dir.path().join("lonely");
    std::fs::create_dir(&lonely).unwrap();
    std::fs::write(lonely.join("domain.key"), "mine").unwrap();
    let mut lonely_args = vec!["cert", "--out", lonely.to_str().unwrap()];
    lonely_args.extend(loopback);
    let refused = dcosreg(&lonely_args);
    assert_status(&refused, 2);
    let names: Vec<_> = std::fs::read_dir(&lonely)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec!["domain.key"], "nothing else written");
    assert_eq!(std::fs::read(lonely.join("domain.key")).unwrap(), b"mine");

    // --force replaces everything; a key left world-readable comes back 0600.
    std::fs::set_permissions(
        out.join("domain.key"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let mut forced = args.clone();
    forced.push("--force");
    let replaced = dcosreg(&forced);
    assert_status(&replaced, 0);
    let after = read_all();
    for (index, (old, new)) in before.iter().zip(&after).enumerate() {
        assert_ne!(old, new, "file {index} was not replaced");
    }
    assert_eq!(mode(&out.join("domain.key")), 0o600);
    let leftovers: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "temp files left: {leftovers:?}");
}

#[test]
fn bad_input_is_one_line_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("never");
    let out_text = out.to_str().unwrap();
    let cases: [&[&str]; 6] = [
        &["--ip", "10.0.0.5:5000"],
        &["--ip", "not-an-ip"],
        &["--name", "https://registry.example"],
        &["--name", "registry.example:5000"],
        &["--name", "10.0.0.5"],
        &["--days", "0"],
    ];
    for extra in cases {
        let mut args = vec!["cert", "--out", out_text, "--internal", "127.0.0.1"];
        args.extend_from_slice(extra);
        let result = dcosreg(&args);
        let message = stderr(&result);
        assert_status_for(&result, 2, format_args!("{extra:?}: {message}"));
        assert_eq!(message.lines().count(), 1, "{extra:?}: {message}");
        assert!(
            message.starts_with("docker-dcosreg: ") && message.contains(" — "),
            "{message}"
        );
        assert!(!out.exists(), "{extra:?} created the output directory");
    }
}

/// How an openssl-made CA key is stored.
#[derive(Clone, Copy)]
enum KeyForm {
    /// `genpkey`: PKCS#8 `PRIVATE KEY`.
    EcPkcs8,
    /// `ecparam -genkey`: an `EC PARAMETERS` block, then SEC1 `EC PRIVATE KEY`.
    EcSec1,
    /// `genrsa -traditional`: PKCS#1 `RSA PRIVATE KEY`.
    RsaPkcs1,
}

/// An openssl-made CA as a user may already have one: PrintableString country, spaces,
/// and the key in one of the forms openssl writes.
fn openssl_ca(dir: &Path, form: KeyForm) -> (PathBuf, PathBuf) {
    let openssl = Openssl::new(dir);
    let (keygen, expected): (&[&str], &str) = match form {
        KeyForm::EcPkcs8 => (
            &[
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-out",
                "user-ca.key",
            ],
            "-----BEGIN PRIVATE KEY-----",
        ),
        KeyForm::EcSec1 => (
            &[
                "ecparam",
                "-genkey",
                "-name",
                "prime256v1",
                "-out",
                "user-ca.key",
            ],
            "-----BEGIN EC PARAMETERS-----",
        ),
        KeyForm::RsaPkcs1 => (
            &["genrsa", "-traditional", "-out", "user-ca.key", "2048"],
            "-----BEGIN RSA PRIVATE KEY-----",
        ),
    };
    openssl.run(keygen);
    let written = openssl.read("user-ca.key");
    assert!(written.starts_with(expected), "openssl wrote {written}");
    openssl.run(&[
        "req",
        "-x509",
        "-new",
        "-key",
        "user-ca.key",
        "-days",
        "30",
        "-out",
        "user-ca.crt",
        "-subj",
        "/C=CN/ST=SH/L=Shang Hai/O=example.com/CN=Example Registry CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    (dir.join("user-ca.crt"), dir.join("user-ca.key"))
}

#[test]
fn renewal_with_an_existing_ca_needs_no_new_trust() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ip = unique_loopback_ip();
    let first = dir.path().join("first");
    cert_ok(&[
        "--out",
        first.to_str().unwrap(),
        "--internal",
        &ip,
        "--external",
        &ip,
    ]);

    let openssl = |label: &str, form: KeyForm| {
        let sub = dir.path().join(label);
        std::fs::create_dir(&sub).unwrap();
        openssl_ca(&sub, form)
    };
    let (ec_cert, ec_key) = openssl("ossl-ec", KeyForm::EcPkcs8);
    let (sec1_cert, sec1_key) = openssl("ossl-sec1", KeyForm::EcSec1);
    let (rsa_cert, rsa_key) = openssl("ossl-rsa", KeyForm::RsaPkcs1);
    let ours = (
        "ours",
        first.join("ca.crt"),
        first.join("ca.key"),
        "ecdsa-p256",
    );
    let cases = [
        ours,
        ("openssl-ec", ec_cert, ec_key, "ecdsa-p256"),
        ("openssl-sec1", sec1_cert, sec1_key, "rsa2048"),
        ("openssl-rsa", rsa_cert, rsa_key, "rsa2048"),
    ];
    for (label, ca_cert, ca_key, key_type) in cases {
        let out = dir.path().join(format!("renewed-{label}"));
        let report = cert_ok(&[
            "--out",
            out.to_str().unwrap(),
            "--internal",
            &ip,
            "--external",
            &ip,
            "--ca-cert",
            ca_cert.to_str().unwrap(),
            "--ca-key",
            ca_key.to_str().unwrap(),
            "--key-type",
            key_type,
        ]);
        assert_eq!(report["ca_new"], false, "{label}");
        if label.starts_with("openssl") {
            // The openssl CAs live 30 days: the 365-day leaf is cut to end with its CA.
            assert_eq!(report["not_after"], report["ca_not_after"], "{label}");
        }
        assert!(report["ca_key"].is_null(), "{label}");
        assert!(
            !out.join("ca.key").exists(),
            "{label}: the CA key is not copied"
        );
        assert_eq!(
            std::fs::read(out.join("ca.crt")).unwrap(),
            std::fs::read(&ca_cert).unwrap(),
            "{label}: ca.crt is the existing CA"
        );
        // Served, the renewed leaf is accepted with only the old CA trusted.
        let port = free_port(&ip);
        let registry = Registry::start(&ip, port, &out.join("domain.crt"), &out.join("domain.key"));
        let certs = cert_dir_with(&ca_cert);
        let (accepted, message) = skopeo_verdict(&registry.addr, certs.path());
        assert!(
            accepted,
            "{label}: skopeo rejected the renewed certificate: {message}"
        );
    }

    // Renewing in place: ca.crt is rewritten with the same bytes, so only the leaf is in
    // the way, and --force replaces it.
    let in_place = [
        "cert",
        "--out",
        first.to_str().unwrap(),
        "--internal",
        &ip,
        "--ca-cert",
        first.join("ca.crt").to_str().unwrap(),
        "--ca-key",
        first.join("ca.key").to_str().unwrap(),
    ]
    .map(String::from);
    let refused = dcosreg(&in_place.iter().map(String::as_str).collect::<Vec<_>>());
    assert_status(&refused, 2);
    let message = stderr(&refused);
    assert!(
        message.contains("domain.crt") && !message.contains("ca.crt,"),
        "{message}"
    );
    let mut forced: Vec<&str> = in_place.iter().map(String::as_str).collect();
    forced.push("--force");
    let renewed = dcosreg(&forced);
    assert_status(&renewed, 0);
    assert!(
        !stderr(&renewed).contains("belongs to"),
        "{}",
        stderr(&renewed)
    );

    // Switching DIR to another CA leaves the old ca.key alone, and says it is stale.
    let switched = dcosreg(&[
        "cert",
        "--out",
        first.to_str().unwrap(),
        "--internal",
        &ip,
        "--ca-cert",
        dir.path().join("ossl-ec/user-ca.crt").to_str().unwrap(),
        "--ca-key",
        dir.path().join("ossl-ec/user-ca.key").to_str().unwrap(),
        "--force",
    ]);
    assert_status(&switched, 0);
    assert!(stderr(&switched).contains("ca.key belongs to the CA that ca.crt held before"));
    assert!(first.join("ca.key").exists());
}

#[test]
fn a_wrong_ca_is_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    for out in [&a, &b] {
        cert_ok(&["--out", out.to_str().unwrap(), "--internal", "127.0.0.1"]);
    }
    let out = dir.path().join("never");
    // The leaf alone (domain.crt's first block).
    let chain = std::fs::read_to_string(a.join("domain.crt")).unwrap();
    let end = "-----END CERTIFICATE-----\n";
    let leaf_only = dir.path().join("leaf.crt");
    std::fs::write(&leaf_only, &chain[..chain.find(end).unwrap() + end.len()]).unwrap();
    let cases = [
        // The leaf is not a CA: Go would refuse everything it signs.
        (leaf_only, a.join("domain.key"), "not a CA"),
        // A chain file instead of the CA certificate.
        (
            a.join("domain.crt"),
            a.join("ca.key"),
            "holds 2 certificates",
        ),
        // A's CA certificate with B's CA key.
        (a.join("ca.crt"), b.join("ca.key"), "is not the private key"),
        // A key file given as the certificate.
        (a.join("ca.key"), a.join("ca.key"), "CERTIFICATE"),
    ];
    for (ca_cert, ca_key, expected) in cases {
        let result = dcosreg(&[
            "cert",
            "--out",
            out.to_str().unwrap(),
            "--internal",
            "127.0.0.1",
            "--ca-cert",
            ca_cert.to_str().unwrap(),
            "--ca-key",
            ca_key.to_str().unwrap(),
        ]);
        let message = stderr(&result);
        assert_status_for(&result, 2, format_args!("{message}"));
        assert_eq!(message.lines().count(), 1, "{message}");
        assert!(message.contains(expected), "{message}");
    }
    assert!(
        !out.exists(),
        "a refused CA must not leave files or directories"
    );
}

#[test]
fn rsa_certificates_are_served_and_accepted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ip = unique_loopback_ip();
    let out = dir.path().join("rsa");
    let report = cert_ok(&[
        "--out",
        out.to_str().unwrap(),
        "--internal",
        &ip,
        "--external",
        &format!("{ip}:5000"),
        "--key-type",
        "rsa2048",
    ]);
    assert_eq!(report["key_type"], "rsa2048");
    let port = free_port(&ip);
    let registry = Registry::start(&ip, port, &out.join("domain.crt"), &out.join("domain.key"));
    let certs = cert_dir_with(&out.join("ca.crt"));
    let (accepted, message) = skopeo_verdict(&registry.addr, certs.path());
    assert!(accepted, "skopeo rejected the RSA certificate: {message}");
}

/// The registry certificate of a `domain.crt` chain file, parsed by the test itself.
struct Leaf {
    der: Vec<u8>,
    subject_der: Vec<u8>,
    public_key: Vec<u8>,
    dns: Vec<String>,
    ips: Vec<String>,
}

fn leaf_of(chain_file: &Path) -> Leaf {
    let pem = std::fs::read(chain_file).expect("read the chain");
    let blocks = ::pem::parse_many(&pem).expect("PEM");
    let der = blocks[0].contents().to_vec();
    let (_, cert) = x509_parser::parse_x509_certificate(&der).expect("X.509");
    let mut dns = Vec::new();
    let mut ips = Vec::new();
    if let Ok(Some(sans)) = cert.subject_alternative_name() {
        for name in &sans.value.general_names {
            match name {
                x509_parser::extensions::GeneralName::DNSName(d) => dns.push(d.to_string()),
                x509_parser::extensions::GeneralName::IPAddress(o) if o.len() == 4 => {
                    ips.push(std::net::Ipv4Addr::new(o[0], o[1], o[2], o[3]).to_string())
                }
                other => panic!("unexpected SAN {other:?}"),
            }
        }
    }
    Leaf {
        subject_der: cert.subject().as_raw().to_vec(),
        public_key: cert.public_key().subject_public_key.data.to_vec(),
        der: der.clone(),
        dns,
        ips,
    }
}

/// Whether `ca_file` (one PEM certificate) signed `leaf`.
fn signed_by(leaf: &Leaf, ca_file: &Path) -> bool {
    let pem = std::fs::read(ca_file).expect("read the CA");
    let ca_der = ::pem::parse(&pem).expect("PEM").contents().to_vec();
    let (_, ca) = x509_parser::parse_x509_certificate(&ca_der).expect("CA");
    let (_, cert) = x509_parser::parse_x509_certificate(&leaf.der).expect("leaf");
    cert.verify_signature(Some(ca.public_key())).is_ok()
}

/// Bytes, inode and modification time of each file: "untouched" means all three.
fn snapshot(paths: &[PathBuf]) -> Vec<(Vec<u8>, u64, std::time::SystemTime)> {
    use std::os::unix::fs::MetadataExt;
    paths
        .iter()
        .map(|path| {
            let meta = std::fs::metadata(path).expect("metadata");
            (
                std::fs::read(path).expect("read"),
                meta.ino(),
                meta.modified().expect("mtime"),
            )
        })
        .collect()
}

fn renew(args: &[&str]) -> std::process::Output {
    let mut full = vec!["cert", "renew"];
    full.extend_from_slice(args);
    dcosreg(&full)
}

fn renew_ok(args: &[&str]) -> serde_json::Value {
    let mut full = vec!["--format", "json", "cert", "renew"];
    full.extend_from_slice(args);
    let out = dcosreg(&full);
    assert_status_for(&out, 0, format_args!("cert renew {args:?}"));
    serde_json::from_str(&stdout(&out)).expect("cert renew --format json prints JSON")
}

#[test]
fn renew_keeps_subject_and_names_adds_new_ones_and_keeps_the_previous_pair() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("certs");
    let out_text = out.to_str().unwrap();
    cert_ok(&[
        "--out",
        out_text,
        "--internal",
        "10.1.2.3",
        "--external",
        "registry.example:5000",
        "--name",
        "localhost",
        "--days",
        "90",
    ]);
    let ca_files = [out.join("ca.crt"), out.join("ca.key")];
    let ca_before = snapshot(&ca_files);
    let cert = out.join("domain.crt");
    let key = out.join("domain.key");
    let (prev_cert, prev_key) = (out.join("domain.crt.prev"), out.join("domain.key.prev"));
    let first_cert = std::fs::read(&cert).unwrap();
    let first_key = std::fs::read(&key).unwrap();
    let first = leaf_of(&cert);

    // --dry-run says what it would do and writes nothing.
    let dry = renew(&["--dir", out_text, "--name", "new.example", "--dry-run"]);
    assert_status(&dry, 0);
    assert!(stdout(&dry).starts_with("Would renew"), "{}", stdout(&dry));
    assert_eq!(std::fs::read(&cert).unwrap(), first_cert);
    assert!(!prev_cert.exists() && !prev_key.exists(), "--dry-run wrote");

    let report = renew_ok(&[
        "--dir",
        out_text,
        "--name",
        "new.example",
        "--name",
        "LOCALHOST",
        "--ip",
        "10.9.9.9",
    ]);
    let renewed = leaf_of(&cert);
    assert_ne!(renewed.der, first.der, "domain.crt was not re-issued");
    assert_eq!(
        renewed.subject_der, first.subject_der,
        "subject kept byte for byte"
    );
    for name in &first.dns {
        assert!(renewed.dns.contains(name), "lost {name}: {:?}", renewed.dns);
    }
    for ip in &first.ips {
        assert!(renewed.ips.contains(ip), "lost {ip}: {:?}", renewed.ips);
    }
    assert!(renewed.dns.contains(&"new.example".to_string()));
    assert!(renewed.ips.contains(&"10.9.9.9".to_string()));
    assert_eq!(
        renewed.dns.len(),
        first.dns.len() + 1,
        "localhost not doubled"
    );
    assert_eq!(
        report["added_dns_names"],
        serde_json::json!(["new.example"])
    );
    assert_eq!(
        report["added_ip_addresses"],
        serde_json::json!(["10.9.9.9"])
    );
    assert!(signed_by(&renewed, &out.join("ca.crt")));
    // The lifetime of the current certificate (90 days), unless --days says otherwise.
    let expected = (time::OffsetDateTime::now_utc() + time::Duration::days(90)).date();
    assert_eq!(report["not_after"], expected.to_string());
    // A new key; the previous pair kept as it was; keys 0600.
    assert_ne!(renewed.public_key, first.public_key, "no new key");
    assert_ne!(std::fs::read(&key).unwrap(), first_key);
    assert_eq!(report["key_kept"], false);
    assert_eq!(std::fs::read(&prev_cert).unwrap(), first_cert);
    assert_eq!(std::fs::read(&prev_key).unwrap(), first_key);
    for (path, expected) in [
        (&key, 0o600),
        (&prev_key, 0o600),
        (&cert, 0o644),
        (&prev_cert, 0o644),
    ] {
        assert_eq!(mode(path), expected, "{}", path.display());
    }
    // domain.crt is the leaf then the CA, as `cert` writes it.
    let chain = std::fs::read_to_string(&cert).unwrap();
    assert!(chain.ends_with(&std::fs::read_to_string(out.join("ca.crt")).unwrap()));

    // --keep-key: same key file, same public key; the .prev pair is the one just replaced.
    let second_cert = std::fs::read(&cert).unwrap();
    let second_key = std::fs::read(&key).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let kept = renew_ok(&["--dir", out_text, "--keep-key", "--days", "10"]);
    assert_eq!(kept["key_kept"], true);
    let third = leaf_of(&cert);
    assert_eq!(std::fs::read(&key).unwrap(), second_key);
    assert_eq!(mode(&key), 0o600, "a key left 0644 comes back 0600");
    assert_eq!(third.public_key, renewed.public_key);
    assert_ne!(third.der, renewed.der);
    assert!(
        third.dns.contains(&"new.example".to_string()),
        "added names stay"
    );
    assert_eq!(std::fs::read(&prev_cert).unwrap(), second_cert);
    assert_eq!(std::fs::read(&prev_key).unwrap(), second_key);
    let expected = (time::OffsetDateTime::now_utc() + time::Duration::days(10)).date();
    assert_eq!(kept["not_after"], expected.to_string());

    assert_eq!(snapshot(&ca_files), ca_before, "ca.crt/ca.key were touched");
    let leftovers: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "temp files left: {leftovers:?}");
}

/// A pair made by the openssl CLI, as a site may already run: a subject of several parts
/// with a PrintableString country, the key in SEC1 form (`EC PRIVATE KEY`) or PKCS#1 RSA.
#[test]
fn renew_keeps_an_openssl_pair_s_subject_and_key_file() {
    for (label, keygen) in [
        (
            "ec",
            &[
                "ecparam",
                "-genkey",
                "-name",
                "prime256v1",
                "-noout",
                "-out",
                "domain.key",
            ][..],
        ),
        (
            "rsa",
            &["genrsa", "-traditional", "-out", "domain.key", "2048"][..],
        ),
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        let openssl = Openssl::new(dir.path());
        openssl.run(&[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "ca.key",
            "-days",
            "30",
            "-subj",
            "/C=CN/O=example.com/CN=Example CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
            "-out",
            "ca.crt",
        ]);
        openssl.run(keygen);
        openssl.run(&[
            "req",
            "-new",
            "-key",
            "domain.key",
            "-subj",
            "/C=CN/ST=SH/O=example.com/OU=Platform/CN=registry.example.com",
            "-out",
            "domain.csr",
        ]);
        openssl.write(
            "domain.ext",
            "subjectAltName=DNS:registry.example.com,IP:10.0.0.5\nbasicConstraints=CA:FALSE\n",
        );
        openssl.run(&[
            "x509",
            "-req",
            "-in",
            "domain.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "20",
            "-extfile",
            "domain.ext",
            "-out",
            "domain.crt",
        ]);
        let before = leaf_of(&dir.path().join("domain.crt"));
        let key_file = std::fs::read(dir.path().join("domain.key")).unwrap();
        let report = renew_ok(&["--dir", dir.path().to_str().unwrap(), "--keep-key"]);
        let after = leaf_of(&dir.path().join("domain.crt"));
        assert_eq!(after.subject_der, before.subject_der, "{label}: subject");
        assert_eq!(after.dns, before.dns, "{label}");
        assert_eq!(after.ips, before.ips, "{label}");
        assert_eq!(after.public_key, before.public_key, "{label}");
        assert_eq!(
            std::fs::read(dir.path().join("domain.key")).unwrap(),
            key_file,
            "{label}: --keep-key rewrote the key file"
        );
        assert!(signed_by(&after, &dir.path().join("ca.crt")), "{label}");
        assert_eq!(
            report["subject"], "C=CN, ST=SH, O=example.com, OU=Platform, CN=registry.example.com",
            "{label}"
        );
        // A new key of the same kind.
        let fresh = renew_ok(&["--dir", dir.path().to_str().unwrap()]);
        let expected = if label == "rsa" {
            "rsa2048"
        } else {
            "ecdsa-p256"
        };
        assert_eq!(fresh["key_type"], expected, "{label}");
        assert_ne!(
            leaf_of(&dir.path().join("domain.crt")).public_key,
            before.public_key
        );
    }
}

#[test]
fn renew_refuses_missing_files_a_foreign_ca_and_a_foreign_key_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let make = |name: &str| {
        let out = dir.path().join(name);
        cert_ok(&["--out", out.to_str().unwrap(), "--internal", "10.1.2.3"]);
        out
    };
    let (a, b) = (make("a"), make("b"));
    let names = ["ca.crt", "ca.key", "domain.crt", "domain.key"];
    let listing = |out: &Path| -> Vec<(String, Vec<u8>)> {
        let mut files: Vec<_> = std::fs::read_dir(out)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.file_name().into_string().unwrap(),
                    std::fs::read(e.path()).unwrap(),
                )
            })
            .collect();
        files.sort();
        files
    };
    let refused = |out: &Path, extra: &[&str], expected: &str| {
        let before = listing(out);
        let mut args = vec!["--dir", out.to_str().unwrap()];
        args.extend_from_slice(extra);
        let result = renew(&args);
        let message = stderr(&result);
        assert_status_for(&result, 2, format_args!("{extra:?}: {message}"));
        assert_eq!(message.lines().count(), 1, "{message}");
        assert!(
            message.starts_with("docker-dcosreg: ") && message.contains(" — "),
            "{message}"
        );
        assert!(message.contains(expected), "{expected:?} not in {message}");
        assert_eq!(listing(out), before, "{extra:?} changed {}", out.display());
    };

    // Missing files, each named.
    for missing in names {
        let out = dir.path().join(format!("without-{missing}"));
        std::fs::create_dir(&out).unwrap();
        for name in names.iter().filter(|n| **n != missing) {
            std::fs::copy(a.join(name), out.join(name)).unwrap();
        }
        refused(&out, &[], &format!("{missing} is missing"));
    }
    // Another CA (its own key) in place of the one that issued domain.crt: same subject,
    // another key.
    let foreign = dir.path().join("foreign-ca");
    std::fs::create_dir(&foreign).unwrap();
    for (from, name) in [
        (&b, "ca.crt"),
        (&b, "ca.key"),
        (&a, "domain.crt"),
        (&a, "domain.key"),
    ] {
        std::fs::copy(from.join(name), foreign.join(name)).unwrap();
    }
    refused(&foreign, &[], "was not issued by");
    // The right ca.crt with another CA's key.
    refused(
        &a,
        &["--ca-key", b.join("ca.key").to_str().unwrap()],
        "is not the private key of",
    );
    // --keep-key with a key that is not domain.crt's.
    let swapped = dir.path().join("swapped-key");
    std::fs::create_dir(&swapped).unwrap();
    for (from, name) in [
        (&a, "ca.crt"),
        (&a, "ca.key"),
        (&a, "domain.crt"),
        (&b, "domain.key"),
    ] {
        std::fs::copy(from.join(name), swapped.join(name)).unwrap();
    }
    refused(&swapped, &["--keep-key"], "renew without --keep-key");
    // Bad input.
    refused(&a, &["--ip", "10.0.0.5:5000"], "is not an IP address");
    refused(&a, &["--name", "https://x.example"], "is not a DNS name");
    refused(&a, &["--days", "0"], "out of range");
    let missing_dir = renew(&["--dir", dir.path().join("nowhere").to_str().unwrap()]);
    assert_status(&missing_dir, 2);
    assert!(!dir.path().join("nowhere").exists());
    // renew is a subcommand of its own: issuing flags do not mix with it.
    let mixed = dcosreg(&["cert", "--out", a.to_str().unwrap(), "renew", "--dir", "x"]);
    assert_status(&mixed, 2);
}

/// Clients need no change: the renewed pair, served by a real `docker-registry` (in a
/// network namespace, on the VIP's port 443), is trusted by skopeo and by our `check` with
/// the trust installed for the first pair, which stays as it was.
#[test]
fn a_renewed_pair_is_trusted_by_clients_with_no_trust_change() {
    let ns = Netns::create();
    let ip = ns.inner_ip.clone();
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("certs");
    let report = cert_ok(&[
        "--out",
        out.to_str().unwrap(),
        "--internal",
        &ip,
        "--external",
        &ip,
    ]);
    let root = dir.path().join("root");
    std::fs::create_dir(&root).unwrap();
    trust_for_docker(&report, &root, std::slice::from_ref(&ip), &[&ip, &ip]);
    let certs_d = root.join("etc/docker/certs.d").join(&ip);
    let installed = |dir: &Path| -> Vec<(String, Vec<u8>)> {
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.file_name().into_string().unwrap(),
                    std::fs::read(e.path()).unwrap(),
                )
            })
            .collect();
        files.sort();
        files
    };
    let trust_before = installed(&certs_d);
    assert!(
        !trust_before.is_empty(),
        "trust installed nothing in {}",
        certs_d.display()
    );

    // check with the trust under ROOT: (status, SHA-256 of the presented leaf).
    let check = || -> (String, String) {
        let out = dcosreg(&[
            "--root",
            root.to_str().unwrap(),
            "--timeout",
            "5s",
            "--format",
            "json",
            "check",
            &ip,
        ]);
        let report = json(&out);
        let endpoint = &report["endpoints"][0];
        (
            endpoint["status"].as_str().unwrap_or_default().to_string(),
            endpoint["chain"][0]["sha256"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        )
    };
    let serve =
        || Registry::start_in_netns(&ns, 443, &out.join("domain.crt"), &out.join("domain.key"));

    let registry = serve();
    let (accepted, message) = skopeo_verdict(&ip, &certs_d);
    assert!(accepted, "skopeo rejected the first pair: {message}");
    // Control: without the CA skopeo refuses, so the acceptances here mean something.
    let empty = tempfile::tempdir().unwrap();
    let (accepted, message) = skopeo_verdict(&ip, empty.path());
    assert!(
        !accepted && message.contains("unknown authority"),
        "{message}"
    );
    let (status, first_sha) = check();
    assert_eq!(status, "trusted");
    drop(registry);

    let renewed = renew_ok(&["--dir", out.to_str().unwrap(), "--name", "registry.example"]);
    assert_eq!(
        renewed["previous_sha256"].as_str(),
        Some(first_sha.as_str())
    );
    let registry = serve();
    let (accepted, message) = skopeo_verdict(&ip, &certs_d);
    assert!(accepted, "skopeo rejected the renewed pair: {message}");
    let (status, sha) = check();
    assert_eq!(status, "trusted", "check rejected the renewed pair");
    assert_eq!(
        Some(sha.as_str()),
        renewed["sha256"].as_str(),
        "not the renewed leaf"
    );
    assert_ne!(sha, first_sha);
    assert_eq!(installed(&certs_d), trust_before, "the trust changed");
    drop(registry);
}

/// The name-mismatch fix `check` prints runs as printed (DIR filled in, the one thing check
/// cannot know) and is `cert renew`, never a new CA: afterwards the same installed CA trusts
/// the registry on the address it was missing.
#[test]
fn the_printed_name_mismatch_fix_renews_from_the_same_ca() {
    let ns = Netns::create();
    let ip = ns.inner_ip.clone();
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("certs");
    // Issued for other addresses than the one it is served on.
    cert_ok(&[
        "--out",
        out.to_str().unwrap(),
        "--internal",
        "10.255.0.1",
        "--external",
        "10.255.0.2:5000",
    ]);
    let ca = out.join("ca.crt");
    let ca_before = std::fs::read(&ca).unwrap();
    let check = || {
        json(&dcosreg(&[
            "--timeout",
            "5s",
            "--format",
            "json",
            "check",
            &ip,
            "--ca-file",
            ca.to_str().unwrap(),
        ]))
    };
    let serve =
        || Registry::start_in_netns(&ns, 443, &out.join("domain.crt"), &out.join("domain.key"));
    let registry = serve();
    let report = check();
    let endpoint = &report["endpoints"][0];
    assert_eq!(endpoint["status"], "untrusted", "{report}");
    let fix = endpoint["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "name-mismatch")
        .and_then(|f| f["fix"].as_str())
        .unwrap_or_else(|| panic!("name-mismatch with a fix: {report}"))
        .to_string();
    let command = fix
        .split('`')
        .nth(1)
        .unwrap_or_else(|| panic!("no command in: {fix}"));
    assert!(
        command.starts_with("docker dcosreg cert renew --dir DIR "),
        "{command}"
    );
    assert!(!command.contains("--out"), "never a new CA: {command}");
    drop(registry);

    // Run it as printed, through our binary (docker dcosreg = docker-dcosreg).
    let args: Vec<String> = command
        .replacen("docker dcosreg ", "", 1)
        .split_whitespace()
        .map(|w| {
            if w == "DIR" {
                out.to_str().unwrap().to_string()
            } else {
                w.to_string()
            }
        })
        .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let ran = dcosreg(&args);
    assert_status_for(&ran, 0, format_args!("{command}"));
    assert_eq!(std::fs::read(&ca).unwrap(), ca_before, "the CA changed");

    let registry = serve();
    let report = check();
    assert_eq!(report["endpoints"][0]["status"], "trusted", "{report}");
    drop(registry);
}
