//! Credentials end to end with real components: `docker-registry` with htpasswd (Basic) or
//! token (Bearer) auth at the VIP (:443) and at Marathon-LB (:5000) inside a network
//! namespace, both serving one storage (tests/support/cluster.rs); the real docker CLI (`docker manifest inspect`, no
//! daemon needed), skopeo with `--authfile` pointing at the docker config, and our
//! `docker-credential-dcosreg` found on PATH as Docker finds it.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use support::cluster::*;
use support::{
    assert_status, assert_status_for, bin_path, json, mode, require_tool, wait_with_deadline,
};

#[test]
fn one_login_serves_docker_and_skopeo_at_both_endpoints_and_logout_restores_config() {
    let cluster = Cluster::start(Auth::Htpasswd);
    let (vip, mlb) = (cluster.vip(), cluster.mlb());
    let spellings = [vip.clone(), format!("{vip}:443"), mlb.clone()];

    // A config.json of the user's own, in their formatting: login must keep it all.
    std::fs::create_dir_all(cluster.docker_config()).expect("docker config dir");
    let original = "{\n  \"psFormat\": \"table {{.ID}}\\t{{.Names}}\",\n  \"auths\": {}\n}\n";
    std::fs::write(cluster.config_json(), original).expect("config.json");
    std::fs::set_permissions(
        cluster.config_json(),
        std::fs::Permissions::from_mode(0o600),
    )
    .expect("chmod");

    // Without Docker's trust for the registry the password is not sent: exit 1, Go's text.
    let empty_root = cluster.dir.path().join("empty-root");
    std::fs::create_dir_all(&empty_root).unwrap();
    let untrusted = cluster.dcosreg(
        &[
            "--root",
            empty_root.to_str().unwrap(),
            "login",
            "-u",
            USER,
            "--password-stdin",
        ],
        Some(PASSWORD),
    );
    assert_status(&untrusted, 1);
    assert!(
        String::from_utf8_lossy(&untrusted.stderr)
            .contains("x509: certificate signed by unknown authority"),
        "{}",
        text(&untrusted)
    );
    assert_eq!(
        std::fs::read_to_string(cluster.config_json()).unwrap(),
        original
    );

    // Wrong password: exit 1, nothing stored, config.json untouched.
    let wrong = cluster.login("not the password");
    assert_status(&wrong, 1);
    assert!(
        String::from_utf8_lossy(&wrong.stderr).contains("unauthorized"),
        "{}",
        text(&wrong)
    );
    assert!(!text(&wrong).contains("not the password"));
    assert_eq!(
        std::fs::read_to_string(cluster.config_json()).unwrap(),
        original
    );
    assert!(!cluster.data_dir().join("credentials.json").exists());
    let before = cluster.manifest_inspect(&format!("{vip}/creds/app:1"));
    assert!(!before.status.success());
    assert!(
        String::from_utf8_lossy(&before.stderr).contains("no basic auth credentials"),
        "{}",
        text(&before)
    );

    // One login.
    let login = cluster.login(PASSWORD);
    assert_status(&login, 0);
    assert_secret_absent(&login);
    assert!(
        String::from_utf8_lossy(&login.stderr).contains("unencrypted"),
        "{}",
        text(&login)
    );
    let config_text = std::fs::read_to_string(cluster.config_json()).unwrap();
    assert!(!config_text.contains(PASSWORD));
    let config: serde_json::Value = serde_json::from_str(&config_text).unwrap();
    assert_eq!(config["psFormat"], "table {{.ID}}\t{{.Names}}");
    for spelling in &spellings {
        assert_eq!(config["credHelpers"][spelling], "dcosreg", "{config_text}");
    }
    assert_eq!(mode(&cluster.config_json()), 0o600);
    assert_eq!(mode(&cluster.data_dir().join("credentials.json")), 0o600);

    // skopeo pushes through Marathon-LB with the docker config as its auth file (credHelpers).
    cluster.push(&cluster.config_json(), &mlb, "creds/app:1");
    for spelling in &spellings {
        let reference = format!("{spelling}/creds/app:1");
        let docker = cluster.manifest_inspect(&reference);
        assert_status_for(
            &docker,
            0,
            format_args!("docker manifest inspect {reference}"),
        );
        assert!(String::from_utf8_lossy(&docker.stdout).contains("schemaVersion"));
        let skopeo = cluster.skopeo_inspect(&cluster.config_json(), spelling, "creds/app:1");
        assert_status_for(&skopeo, 0, format_args!("skopeo inspect {reference}"));
    }

    // The helper itself, for URL forms Docker and others send.
    for url in [
        format!("https://{mlb}/v2/"),
        format!("{vip}:443"),
        format!("https://{vip}"),
    ] {
        let got = cluster.helper("get", &url);
        assert_status_for(&got, 0, format_args!("get {url}"));
        let answer = json(&got);
        assert_eq!(answer["ServerURL"], url.as_str());
        assert_eq!(answer["Username"], USER);
        assert_eq!(answer["Secret"], PASSWORD);
    }
    let list = cluster.helper("list", "");
    let listed = json(&list);
    for spelling in &spellings {
        assert_eq!(listed[spelling], USER, "{listed}");
    }
    let unknown = cluster.helper("get", "other.example:5000");
    assert_status(&unknown, 1);
    assert_eq!(
        String::from_utf8_lossy(&unknown.stdout).trim_end(),
        "credentials not found in native keychain"
    );

    // Machines without a helper: the exported config.json works as skopeo's auth file, and
    // the DC/OS archive's .docker/ works as the docker CLI's --config.
    let exported = cluster.dir.path().join("export.json");
    let out = cluster.dcosreg(
        &["credentials", "export", "--as", "docker-config", "--out"],
        None,
    );
    assert_status_for(&out, 2, "--out needs a value");
    let out = cluster.dcosreg(
        &[
            "credentials",
            "export",
            "--as",
            "docker-config",
            "--out",
            exported.to_str().unwrap(),
        ],
        None,
    );
    assert_status(&out, 0);
    assert_secret_absent(&out);
    assert_eq!(mode(&exported), 0o600);
    for spelling in &spellings {
        let skopeo = cluster.skopeo_inspect(&exported, spelling, "creds/app:1");
        assert_status_for(&skopeo, 0, format_args!("exported auths at {spelling}"));
    }
    let archive = cluster.dir.path().join("docker.tar.gz");
    let out = cluster.dcosreg(
        &[
            "credentials",
            "export",
            "--as",
            "dcos-archive",
            "--out",
            archive.to_str().unwrap(),
        ],
        None,
    );
    assert_status(&out, 0);
    let sandbox = cluster.dir.path().join("sandbox");
    std::fs::create_dir_all(&sandbox).unwrap();
    let untar = Command::new("tar")
        .arg("-xzf")
        .arg(&archive)
        .arg("-C")
        .arg(&sandbox)
        .output()
        .expect("tar");
    assert_status(&untar, 0);
    assert_eq!(mode(&sandbox.join(".docker/config.json")), 0o600);
    let via_archive = cluster.docker(&[
        "--config",
        sandbox.join(".docker").to_str().unwrap(),
        "manifest",
        "inspect",
        &format!("{mlb}/creds/app:1"),
    ]);
    assert_status(&via_archive, 0);

    // Logout: config.json byte for byte as before login, the secret gone, access gone.
    let logout = cluster.dcosreg(&["logout"], None);
    assert_status(&logout, 0);
    assert_eq!(
        std::fs::read_to_string(cluster.config_json()).unwrap(),
        original
    );
    let stored =
        std::fs::read_to_string(cluster.data_dir().join("credentials.json")).unwrap_or_default();
    assert!(!stored.contains(PASSWORD));
    let after = cluster.manifest_inspect(&format!("{vip}/creds/app:1"));
    assert!(!after.status.success(), "{}", text(&after));
    let again = cluster.dcosreg(&["logout"], None);
    assert_status_for(&again, 0, "logout twice");
    assert_eq!(
        std::fs::read_to_string(cluster.config_json()).unwrap(),
        original
    );

    // The CI form: nothing stored, the credHelpers entries a job writes, and the secret in
    // DCOSREG_USERNAME + DCOSREG_PASSWORD_FILE.
    let password_file = cluster.dir.path().join("password");
    std::fs::write(&password_file, format!("{PASSWORD}\n")).unwrap();
    let ci_config = cluster.dir.path().join("ci-docker");
    std::fs::create_dir_all(&ci_config).unwrap();
    // The job's config.json exactly as `snippet jenkins` prints it.
    let snippet = cluster.dcosreg(&["--format", "json", "snippet", "jenkins"], None);
    assert_status(&snippet, 0);
    let snippet = json(&snippet);
    let job_config = snippet["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["format"] == "json")
        .and_then(|s| s["content"].as_str())
        .expect("the snippet's config.json section")
        .to_string();
    std::fs::write(ci_config.join("config.json"), job_config).unwrap();
    let script = "mkdir -p /etc/docker && mount --bind \"$1\" /etc/docker && shift && exec \"$@\"";
    let mut command = Command::new("unshare");
    command
        .args(["-m", "--propagation", "private", "sh", "-c", script, "sh"])
        .arg(cluster.root.join("etc/docker"))
        .args([
            "docker",
            "manifest",
            "inspect",
            &format!("{mlb}/creds/app:1"),
        ]);
    let ci = cluster
        .with_env(command)
        .env("DOCKER_CONFIG", &ci_config)
        .env("DCOSREG_USERNAME", USER)
        .env("DCOSREG_PASSWORD_FILE", &password_file)
        .run();
    assert_status(&ci, 0);

    // `docker login` at one spelling goes through the helper's `store` and serves every
    // spelling; `docker logout` erases it for all of them.
    let docker_in = |args: &[&str], stdin: Option<&str>| {
        let mut command = Command::new("unshare");
        command
            .args(["-m", "--propagation", "private", "sh", "-c", script, "sh"])
            .arg(cluster.root.join("etc/docker"))
            .arg("docker")
            .args(args);
        let mut run = cluster.with_env(command).env("DOCKER_CONFIG", &ci_config);
        if let Some(text) = stdin {
            run = run.stdin(text);
        }
        run.run()
    };
    let login = docker_in(
        &["login", "-u", USER, "--password-stdin", &mlb],
        Some(PASSWORD),
    );
    assert_status_for(&login, 0, format_args!("docker login {mlb}"));
    let config_text = std::fs::read_to_string(ci_config.join("config.json")).unwrap();
    assert!(!config_text.contains(PASSWORD), "{config_text}");
    let other = docker_in(
        &["manifest", "inspect", &format!("{vip}:443/creds/app:1")],
        None,
    );
    assert_status(&other, 0);
    let logout = docker_in(&["logout", &mlb], None);
    assert_status(&logout, 0);
    let gone = docker_in(
        &["manifest", "inspect", &format!("{vip}/creds/app:1")],
        None,
    );
    assert!(!gone.status.success(), "{}", text(&gone));
}

/// `login -p PASSWORD` works as docker's does, with docker's warning and this project's
/// reason on stderr, and the password appears in no output, JSON or error.
#[test]
fn login_with_p_works_with_dockers_warning_and_never_shows_the_password() {
    let cluster = Cluster::start(Auth::Htpasswd);
    let warning = "WARNING! Using --password via the CLI is insecure. Use --password-stdin.";

    let wrong = cluster.dcosreg(&["login", "-u", USER, "-p", "not-the-pw-4711"], None);
    assert_status(&wrong, 1);
    assert!(
        String::from_utf8_lossy(&wrong.stderr).contains(warning),
        "{}",
        text(&wrong)
    );
    assert!(
        !text(&wrong).contains("not-the-pw-4711"),
        "{}",
        text(&wrong)
    );
    assert!(!cluster.data_dir().join("credentials.json").exists());

    for args in [
        &[
            "--format",
            "json",
            "login",
            "-u",
            USER,
            "--dry-run",
            "-p",
            PASSWORD,
        ][..],
        &["login", "-u", USER, &format!("--password={PASSWORD}")],
    ] {
        let out = cluster.dcosreg(args, None);
        assert_status_for(&out, 0, format_args!("{args:?}"));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(warning), "{}", text(&out));
        assert!(stderr.contains("shell history"), "says why: {stderr}");
        assert_secret_absent(&out);
    }
    let stored = std::fs::read_to_string(cluster.config_json()).unwrap();
    assert!(!stored.contains(PASSWORD));

    // With --password-stdin as well: a usage error that does not echo the password.
    let both = cluster.dcosreg(
        &["login", "-u", USER, "-p", PASSWORD, "--password-stdin"],
        Some(PASSWORD),
    );
    assert_status(&both, 2);
    assert_secret_absent(&both);
}

#[test]
fn bearer_token_flow_login_checks_and_serves_docker_and_skopeo() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tokens = token_service(dir.path(), TokenMode::Https);
    let cluster = Cluster::start(tokens.auth());
    let (vip, mlb) = (cluster.vip(), cluster.mlb());

    let wrong = cluster.login("not the password");
    assert_status(&wrong, 1);
    assert!(
        !cluster.config_json().exists(),
        "a refused login writes nothing"
    );
    assert!(!cluster.data_dir().join("credentials.json").exists());

    let login = cluster.login(PASSWORD);
    assert_status(&login, 0);
    assert!(
        String::from_utf8_lossy(&login.stdout).contains("token auth"),
        "{}",
        text(&login)
    );
    assert_secret_absent(&login);
    let json = cluster.dcosreg(
        &["--format", "json", "login", "-u", USER, "--password-stdin"],
        Some(PASSWORD),
    );
    assert_status(&json, 0);
    assert_secret_absent(&json);
    let report = support::json(&json);
    assert_eq!(report["logged_in"], true);
    for endpoint in report["endpoints"].as_array().unwrap() {
        assert_eq!(endpoint["accepted"], "bearer", "{report}");
    }
    assert_eq!(
        report["config"]["written"], false,
        "second login: already set"
    );

    cluster.push(&cluster.config_json(), &vip, "bearer/app:1");
    for reference in [format!("{vip}/bearer/app:1"), format!("{mlb}/bearer/app:1")] {
        let docker = cluster.manifest_inspect(&reference);
        assert_status_for(
            &docker,
            0,
            format_args!("docker manifest inspect {reference}"),
        );
    }
    let skopeo = cluster.skopeo_inspect(&cluster.config_json(), &mlb, "bearer/app:1");
    assert_status(&skopeo, 0);

    let logout = cluster.dcosreg(&["logout"], None);
    assert_status(&logout, 0);
    assert!(
        !cluster.config_json().exists(),
        "login created config.json; logout removes it"
    );
}

/// A real dockerd (tests/support/runtime.rs) pulls with the credentials the docker CLI gets
/// from `docker-credential-dcosreg`, at both endpoints; after logout, the exported DC/OS
/// archive's `.docker/` alone (`docker --config`) lets it pull, as an agent's task does.
#[test]
fn dockerd_pulls_through_the_helper_and_through_the_exported_archive() {
    use support::runtime::Runtime;
    let runtime = Runtime::start();
    let cluster = Cluster::start(Auth::Htpasswd);
    let (vip, mlb) = (cluster.vip(), cluster.mlb());
    // The daemon's trust: certs.d in its namespace's /etc (what `trust` installs).
    let copy = runtime.in_ns_out(
        "sh",
        &[
            "-c",
            "mkdir -p /etc/docker/certs.d && cp -R \"$1\"/. /etc/docker/certs.d/",
            "sh",
            &cluster
                .root
                .join("etc/docker/certs.d")
                .display()
                .to_string(),
        ],
        Duration::from_secs(20),
    );
    assert_status(&copy, 0);

    let login = cluster.login(PASSWORD);
    assert_status(&login, 0);
    cluster.push(&cluster.config_json(), &vip, "pull/app:1");

    let docker = |args: &[&str]| -> Output {
        cluster
            .with_env(runtime.docker(args))
            .timeout(Duration::from_secs(90))
            .run()
    };
    for spelling in [&vip, &mlb] {
        let reference = format!("{spelling}/pull/app:1");
        let pull = docker(&["pull", "-q", &reference]);
        assert_status_for(&pull, 0, format_args!("docker pull {reference}"));
        let _ = docker(&["rmi", "-f", &reference]);
    }

    let archive = cluster.dir.path().join("agent.tar.gz");
    let out = cluster.dcosreg(
        &[
            "credentials",
            "export",
            "--as",
            "dcos-archive",
            "--out",
            archive.to_str().unwrap(),
        ],
        None,
    );
    assert_status(&out, 0);
    let logout = cluster.dcosreg(&["logout"], None);
    assert_status(&logout, 0);
    let reference = format!("{mlb}/pull/app:1");
    let refused = docker(&["pull", "-q", &reference]);
    assert!(
        !refused.status.success(),
        "logged out, yet: {}",
        text(&refused)
    );

    // The Mesos fetcher's step: unpack into the sandbox; the task's docker reads .docker/.
    let sandbox = cluster.dir.path().join("task-sandbox");
    std::fs::create_dir_all(&sandbox).unwrap();
    let untar = Command::new("tar")
        .arg("-xzf")
        .arg(&archive)
        .arg("-C")
        .arg(&sandbox)
        .output()
        .expect("tar");
    assert_status(&untar, 0);
    let agent_config = sandbox.join(".docker");
    let pull = docker(&[
        "--config",
        agent_config.to_str().unwrap(),
        "pull",
        "-q",
        &reference,
    ]);
    assert_status_for(&pull, 0, "pull with the archive");
    let pull = docker(&[
        "--config",
        agent_config.to_str().unwrap(),
        "pull",
        "-q",
        &format!("{vip}:443/pull/app:1"),
    ]);
    assert_status_for(&pull, 0, "pull with the archive at :443");
}

/// A `pass` password store with a fresh GnuPG key, for `docker-credential-pass`; its
/// gpg-agent is stopped on drop.
struct PassStore {
    gnupg: PathBuf,
    store: PathBuf,
}

impl PassStore {
    fn create(dir: &Path) -> PassStore {
        let gnupg = dir.join("gnupg");
        let store = dir.join("password-store");
        std::fs::create_dir_all(&gnupg).unwrap();
        std::fs::set_permissions(&gnupg, std::fs::Permissions::from_mode(0o700)).unwrap();
        let pass = PassStore { gnupg, store };
        let gpg = |args: &[&str]| {
            let out = Command::new(require_tool("gpg"))
                .args(["--batch", "--passphrase", ""])
                .args(args)
                .env("GNUPGHOME", &pass.gnupg)
                .stdin(Stdio::null())
                .output()
                .expect("gpg");
            assert_status_for(&out, 0, format_args!("gpg {args:?}"));
            out
        };
        gpg(&[
            "--quick-gen-key",
            "dcosreg test <test@example.invalid>",
            "ed25519",
            "cert",
        ]);
        let listing = gpg(&["--list-keys", "--with-colons"]);
        let fingerprint = String::from_utf8_lossy(&listing.stdout)
            .lines()
            .find_map(|l| {
                l.strip_prefix("fpr:")
                    .map(|r| r.trim_matches(':').to_string())
            })
            .expect("key fingerprint");
        gpg(&["--quick-add-key", &fingerprint, "cv25519", "encr"]);
        let init = Command::new(require_tool("pass"))
            .args(["init", &fingerprint])
            .env("GNUPGHOME", &pass.gnupg)
            .env("PASSWORD_STORE_DIR", &pass.store)
            .output()
            .expect("pass init");
        assert_status_for(&init, 0, "pass init");
        pass
    }

    fn env(&self) -> Vec<(String, PathBuf)> {
        vec![
            ("GNUPGHOME".into(), self.gnupg.clone()),
            ("PASSWORD_STORE_DIR".into(), self.store.clone()),
        ]
    }
}

impl Drop for PassStore {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .args(["--kill", "all"])
            .env("GNUPGHOME", &self.gnupg)
            .output();
    }
}

/// With `"credsStore": "pass"` the secret goes to `docker-credential-pass` (encrypted by
/// gpg), not to our file; Docker still reaches it through our helper, and logout takes it
/// back out of the store.
#[test]
fn a_creds_store_keeps_the_secret_and_docker_still_pulls() {
    require_tool("docker-credential-pass");
    let mut cluster = Cluster::start(Auth::Htpasswd);
    let pass = PassStore::create(cluster.dir.path());
    cluster.extra_env = pass.env();
    let mlb = cluster.mlb();
    std::fs::create_dir_all(cluster.docker_config()).unwrap();
    let original = "{\n\t\"credsStore\": \"pass\"\n}";
    std::fs::write(cluster.config_json(), original).unwrap();

    let login = cluster.login(PASSWORD);
    assert_status(&login, 0);
    assert!(
        !String::from_utf8_lossy(&login.stderr).contains("unencrypted"),
        "{}",
        text(&login)
    );
    assert!(String::from_utf8_lossy(&login.stdout).contains("docker-credential-pass"));
    assert!(!cluster.data_dir().join("credentials.json").exists());
    let mut list = Command::new("docker-credential-pass");
    list.arg("list");
    let listed = cluster.run(list, None);
    let keys = json(&listed);
    assert_eq!(keys.as_object().map(|m| m.len()), Some(1), "{keys}");

    cluster.push(&cluster.config_json(), &mlb, "stored/app:1");
    let docker = cluster.manifest_inspect(&format!("{}/stored/app:1", cluster.vip()));
    assert_status(&docker, 0);

    let logout = cluster.dcosreg(&["logout"], None);
    assert_status(&logout, 0);
    assert_eq!(
        std::fs::read_to_string(cluster.config_json()).unwrap(),
        original
    );
    let mut list = Command::new("docker-credential-pass");
    list.arg("list");
    let listed = cluster.run(list, None);
    assert_eq!(String::from_utf8_lossy(&listed.stdout).trim(), "{}");
}

/// The password goes only to a token service Docker's trust verified, never in cleartext,
/// and a token service that trickles its answer cannot keep login past its deadline.
#[test]
fn the_password_never_travels_in_cleartext_nor_past_the_deadline() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cleartext = token_service(dir.path(), TokenMode::Http);
    let cluster = Cluster::start(cleartext.auth());
    let login = cluster.login(PASSWORD);
    assert_status(&login, 1);
    let said = String::from_utf8_lossy(&login.stderr);
    assert!(
        said.contains("not https") && said.contains(&cleartext.realm),
        "{}",
        text(&login)
    );
    assert!(
        !cleartext.saw_credentials(),
        "the http token realm received credentials"
    );
    assert!(!cluster.data_dir().join("credentials.json").exists());
    drop(cluster);

    let slow_dir = tempfile::tempdir().expect("tempdir");
    let slow = token_service(slow_dir.path(), TokenMode::HttpsTrickle);
    let cluster = Cluster::start(slow.auth());
    let start = std::time::Instant::now();
    let login = cluster.dcosreg(
        &["--timeout", "2s", "login", "-u", USER, "--password-stdin"],
        Some(PASSWORD),
    );
    let took = start.elapsed();
    assert_status(&login, 1);
    assert!(
        took < Duration::from_secs(6),
        "login took {took:?} against a trickling token service"
    );
    assert!(
        String::from_utf8_lossy(&login.stderr).contains("deadline"),
        "{}",
        text(&login)
    );
    assert!(!cluster.data_dir().join("credentials.json").exists());
}

/// The cleartext realm is refused on the registry's own host too: a Bearer challenge whose
/// realm is `http://<the registry's host>:<port>/token` (a token service listening on that
/// address inside the registry's namespace) makes login exit 1 naming the realm as not
/// https; that service, which answers a request made to it, never receives credentials;
/// nothing is stored and config.json is not written.
#[test]
fn a_cleartext_token_realm_on_the_registry_s_own_host_gets_no_password() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut service = None;
    let cluster = Cluster::start_with(|ns| {
        let tokens = token_service_in(dir.path(), TokenMode::Http, ns);
        let auth = tokens.auth();
        service = Some(tokens);
        auth
    });
    let tokens = service.expect("the token service");
    let host_port = tokens
        .realm
        .strip_prefix("http://")
        .and_then(|rest| rest.strip_suffix("/token"))
        .expect("an http realm")
        .to_string();
    assert!(
        host_port.starts_with(&format!("{}:", cluster.vip())),
        "the realm {} is not on the registry's host {}",
        tokens.realm,
        cluster.vip()
    );

    let login = cluster.login(PASSWORD);
    assert_status(&login, 1);
    assert_secret_absent(&login);
    let said = String::from_utf8_lossy(&login.stderr);
    assert!(
        said.contains("not https") && said.contains(&tokens.realm),
        "{}",
        text(&login)
    );
    assert!(
        !tokens.saw_credentials(),
        "the registry's own http realm received credentials: {:?}",
        tokens.seen.lock().unwrap()
    );
    assert!(!cluster.data_dir().join("credentials.json").exists());
    assert!(
        !cluster.config_json().exists(),
        "a refused login wrote config.json"
    );

    // The service was there to receive them: a request reaches it and is logged.
    let logged = tokens.seen.lock().unwrap().len();
    let addr: std::net::SocketAddr = host_port.parse().expect("realm address");
    let mut probe = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .expect("connect to the token service");
    probe
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("read timeout");
    probe
        .set_write_timeout(Some(Duration::from_secs(5)))
        .expect("write timeout");
    use std::io::{Read, Write};
    write!(
        probe,
        "GET /token HTTP/1.1\r\nHost: {host_port}\r\nConnection: close\r\n\r\n"
    )
    .expect("probe request");
    let mut answer = String::new();
    let _ = probe.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 401"), "probe answer: {answer}");
    assert_eq!(tokens.seen.lock().unwrap().len(), logged + 1);
    assert!(!tokens.saw_credentials());
}

/// login's config.json edit loses no concurrent writer's change: each run holds login with
/// SIGSTOP the moment inotify reports its temporary file in the Docker config directory
/// (before login re-checks config.json: no open of it since that file appeared), then a
/// writer renames its own config.json (the original plus an `auths` entry for
/// other.example, written in that directory as docker/cli writes its own) over the
/// original and login goes on. In every run that hit that window, config.json ends with
/// the other writer's entry and login's `credHelpers` entries for every spelling.
#[test]
fn a_writer_renaming_config_json_inside_login_s_write_window_keeps_its_entry() {
    use support::window::{Inotify, KillOnDrop, Stopped};
    let cluster = Cluster::start(Auth::Htpasswd);
    let spellings = [
        cluster.vip(),
        format!("{}:443", cluster.vip()),
        cluster.mlb(),
    ];
    let original = "{\n\t\"psFormat\": \"table {{.ID}}\"\n}";
    let theirs_auth = "b3RoZXI6bm90LXRoZS1wYXNzd29yZA==";
    let mut theirs: serde_json::Value = serde_json::from_str(original).unwrap();
    theirs["auths"] = serde_json::json!({"other.example": {"auth": theirs_auth}});
    let (mut hits, mut runs) = (0, Vec::new());
    for attempt in 0..10 {
        if hits == 3 {
            break;
        }
        // A Docker config directory of this run's own: each login edits a file anew.
        let docker_dir = cluster.dir.path().join(format!("docker-config-{attempt}"));
        std::fs::create_dir_all(&docker_dir).unwrap();
        let config_json = docker_dir.join("config.json");
        std::fs::write(&config_json, original).unwrap();
        std::fs::set_permissions(&config_json, std::fs::Permissions::from_mode(0o600)).unwrap();
        // The other writer's new file, beside the original as docker/cli makes it; written
        // before the watch starts, so the first file created after it is login's.
        let their_file = docker_dir.join("config.json4711");
        std::fs::write(&their_file, theirs.to_string()).unwrap();
        let watch = Inotify::watch(&docker_dir, libc::IN_CREATE | libc::IN_OPEN);
        let mut command = Command::new(bin_path());
        command.args(["login", "-u", USER, "--password-stdin"]);
        let (child, _home) = cluster
            .with_env(command)
            .env("DOCKER_CONFIG", &docker_dir)
            .stdin(PASSWORD)
            .spawn_piped();
        let mut login = KillOnDrop(child);

        // Login's temporary file, and every event after it.
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        let mut after: Option<(String, Vec<support::window::Event>)> = None;
        while after.is_none() && std::time::Instant::now() < deadline {
            let events = watch.wait(Duration::from_millis(100));
            if let Some(at) = events
                .iter()
                .position(|e| e.is(libc::IN_CREATE) && e.name != "config.json")
            {
                after = Some((events[at].name.clone(), events[at + 1..].to_vec()));
            } else if login.0.try_wait().expect("try_wait").is_some() {
                break;
            }
        }
        let Some((temp, mut later)) = after else {
            let out = wait_with_deadline(&mut login.0, Duration::from_secs(10));
            panic!(
                "run {attempt}: login created no file in {}: {}",
                docker_dir.display(),
                text(&out)
            );
        };
        let stopped = Stopped::stop(login.0.id(), Duration::from_secs(5));
        later.extend(watch.queued());
        // In the window: stopped with its temporary file there, config.json not re-read
        // since that file appeared, and login's entries not yet in it.
        let rechecked = later
            .iter()
            .any(|e| e.is(libc::IN_OPEN) && e.name == "config.json");
        let hit = stopped.is_some()
            && !rechecked
            && docker_dir.join(&temp).exists()
            && std::fs::read_to_string(&config_json).unwrap() == original;
        if hit {
            std::fs::rename(&their_file, &config_json).expect("the other writer's rename");
            hits += 1;
        }
        if let Some(stopped) = stopped {
            stopped.resume();
        }
        let out = wait_with_deadline(&mut login.0, Duration::from_secs(60));
        assert_status_for(&out, 0, format_args!("run {attempt}: login"));
        assert_secret_absent(&out);
        let ended = std::fs::read_to_string(&config_json).unwrap();
        let value: serde_json::Value = serde_json::from_str(&ended).unwrap();
        for spelling in &spellings {
            assert_eq!(
                value["credHelpers"][spelling], "dcosreg",
                "run {attempt} (window hit: {hit}): login's entry for {spelling} is missing:\n{ended}"
            );
        }
        assert_eq!(value["psFormat"], "table {{.ID}}", "{ended}");
        if hit {
            assert_eq!(
                value["auths"]["other.example"]["auth"], theirs_auth,
                "run {attempt}: the other writer's entry was lost:\n{ended}"
            );
        }
        runs.push(format!(
            "run {attempt}: temp {temp}, {}",
            if hit { "hit" } else { "missed" }
        ));
    }
    assert!(
        hits >= 1,
        "login's write window was never hit: {}",
        runs.join("; ")
    );
}

/// The name under which libtest runs the export test: the observer is that test re-run.
const EXPORT_TEST: &str = "export_over_a_world_readable_file_never_lets_another_uid_read_it";
/// Set in the observer's environment: the directory it watches.
const OBSERVE_DIR: &str = "DCOSREG_TEST_OBSERVE_DIR";

/// `credentials export --out FILE` over an existing 0644 FILE in a directory every user can
/// enter and list: every file holding the secret is 0600 from its first byte, temporary
/// files included. Another uid (65534, no groups: this test binary re-run through
/// `setpriv`) opens every file of that directory the moment inotify reports it and again
/// every few milliseconds until export ends, while export is held with SIGSTOP as soon as
/// its temporary file appears until that uid has tried it. It opens no file that ever
/// holds anything but the old content (it keeps what it opened and reads it again at the
/// end), it did try the temporary or the final file, and FILE ends 0600 with the archive.
#[test]
fn export_over_a_world_readable_file_never_lets_another_uid_read_it() {
    if let Some(dir) = std::env::var_os(OBSERVE_DIR) {
        observe(Path::new(&dir));
        return;
    }
    use base64::Engine;
    use support::window::{Inotify, KillOnDrop, Stopped};
    let setpriv = require_tool("setpriv");
    let cluster = Cluster::start(Auth::Htpasswd);
    assert_status(&cluster.login(PASSWORD), 0);
    let old = b"old content, readable by everyone\n";
    let (mut hits, mut runs) = (0, Vec::new());
    for attempt in 0..6 {
        if hits == 2 {
            break;
        }
        let shared = tempfile::tempdir().expect("tempdir");
        std::fs::set_permissions(shared.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let file = shared.path().join("docker.tar.gz");
        std::fs::write(&file, old).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();

        // The other user, watching before export starts.
        let mut observer = KillOnDrop(
            Command::new(&setpriv)
                .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
                .arg(std::env::current_exe().expect("this test binary"))
                .args(["--exact", EXPORT_TEST, "--nocapture", "--test-threads=1"])
                .env_clear()
                .env(OBSERVE_DIR, shared.path())
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start the observer"),
        );
        let (lines_tx, lines) = std::sync::mpsc::channel::<String>();
        let stdout = observer.0.stdout.take().expect("observer stdout");
        let reader = std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                // libtest may have begun the line (`test NAME ... `) before the observer.
                if let Some((_, said)) = line.split_once("observer: ") {
                    let _ = lines_tx.send(said.to_string());
                }
            }
        });
        let mut said = Vec::new();
        let until = |what: &dyn Fn(&str) -> bool, limit: Duration, said: &mut Vec<String>| {
            let deadline = std::time::Instant::now() + limit;
            while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
                match lines.recv_timeout(left) {
                    Ok(line) => {
                        let done = what(&line);
                        said.push(line);
                        if done {
                            return true;
                        }
                    }
                    Err(_) => return false,
                }
            }
            false
        };
        let ready = until(&|l| l == "ready", Duration::from_secs(20), &mut said);
        if !ready {
            let out = wait_with_deadline(&mut observer.0, Duration::from_secs(5));
            panic!("the observer never got ready: {said:?} {}", text(&out));
        }

        let watch = Inotify::watch(shared.path(), libc::IN_CREATE);
        let mut command = Command::new(bin_path());
        command.args(["credentials", "export", "--as", "dcos-archive", "--out"]);
        command.arg(&file);
        let (child, _home) = cluster.with_env(command).spawn_piped();
        let mut export = KillOnDrop(child);
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        let mut temp = None;
        while temp.is_none() && std::time::Instant::now() < deadline {
            temp = watch
                .wait(Duration::from_millis(100))
                .into_iter()
                .find(|e| e.is(libc::IN_CREATE) && e.name != "docker.tar.gz")
                .map(|e| e.name);
            if temp.is_none() && export.0.try_wait().expect("try_wait").is_some() {
                break;
            }
        }
        let Some(temp) = temp else {
            let out = wait_with_deadline(&mut export.0, Duration::from_secs(10));
            panic!(
                "run {attempt}: export created no temporary file: {}",
                text(&out)
            );
        };
        // Hold export while its temporary file is there, until the other uid has tried it.
        let stopped = Stopped::stop(export.0.id(), Duration::from_secs(5));
        let hit = stopped.is_some() && shared.path().join(&temp).exists();
        if hit {
            let tried = until(
                &|l| l.starts_with("tried ") && l.ends_with(&format!(" {temp}")),
                Duration::from_secs(10),
                &mut said,
            );
            assert!(
                tried,
                "run {attempt}: the observer never tried {temp}: {said:?}"
            );
            hits += 1;
        }
        if let Some(stopped) = stopped {
            stopped.resume();
        }
        let out = wait_with_deadline(&mut export.0, Duration::from_secs(60));
        assert_status_for(&out, 0, format_args!("run {attempt}: export"));
        assert_secret_absent(&out);

        // Export ended: the observer makes a last pass, reads again what it holds, reports.
        drop(observer.0.stdin.take());
        until(&|l| l == "done", Duration::from_secs(20), &mut said);
        let observed = wait_with_deadline(&mut observer.0, Duration::from_secs(10));
        reader.join().expect("observer reader");
        said.extend(lines.try_iter());
        assert_status_for(
            &observed,
            0,
            format_args!("run {attempt}: observer {said:?}"),
        );
        assert!(said.iter().any(|l| l == "done"), "{said:?}");
        // Any content but the old one, read from any file the other uid could open.
        let leaked: Vec<&String> = said
            .iter()
            .filter(|l| {
                l.strip_prefix("read ").is_some_and(|l| {
                    let bytes = from_hex(l.split(' ').next().unwrap_or_default());
                    !bytes.is_empty() && bytes != old
                })
            })
            .collect();
        assert!(
            leaked.is_empty(),
            "run {attempt}: uid 65534 read a file holding the secret: {leaked:?}"
        );
        let denied: Vec<&String> = said
            .iter()
            .filter(|l| l.starts_with("tried denied "))
            .collect();
        assert!(
            !denied.is_empty(),
            "run {attempt}: the observer never met the temporary or the final file: {said:?}"
        );
        if hit {
            assert!(
                said.iter().any(|l| *l == format!("tried denied {temp}")),
                "run {attempt}: {temp} was there while export was held, yet: {said:?}"
            );
        }

        assert_eq!(mode(&file), 0o600, "run {attempt}");
        let archive = std::fs::read(&file).unwrap();
        let mut entries = tar::Archive::new(flate2::read::GzDecoder::new(&archive[..]));
        let config = entries
            .entries()
            .expect("a tar.gz")
            .map(|entry| entry.expect("an entry"))
            .find_map(|mut entry| {
                (entry.path().ok()?.to_str()? == ".docker/config.json").then(|| {
                    let mut body = String::new();
                    std::io::Read::read_to_string(&mut entry, &mut body).expect("config.json");
                    body
                })
            })
            .expect("the archive's .docker/config.json");
        let config: serde_json::Value = serde_json::from_str(&config).unwrap();
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
        assert_eq!(
            config["auths"][cluster.mlb()]["auth"],
            auth.as_str(),
            "{config}"
        );
        runs.push(format!(
            "run {attempt}: {temp} {}, {} denied",
            if hit { "hit" } else { "missed" },
            denied.len()
        ));
    }
    assert!(
        hits >= 1,
        "export was never held while its temporary file was there: {}",
        runs.join("; ")
    );
}

/// The bytes of an observer's `read HEX` line.
fn from_hex(hex: &str) -> Vec<u8> {
    (0..hex.len() / 2)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("hex"))
        .collect()
}

/// The other uid of [`export_over_a_world_readable_file_never_lets_another_uid_read_it`]:
/// opens every file in `dir` when inotify reports it and on every pass (every 2 ms), keeps
/// what it could open and reads it on every pass, until its stdin closes (at most two
/// minutes). It says on stdout `ready`, `tried opened|denied|gone|failed NAME` the first
/// time a name gives that answer, `read HEX NAME` for each distinct content read, `done`.
fn observe(dir: &Path) {
    use std::collections::HashSet;
    use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
    use std::sync::atomic::{AtomicBool, Ordering};
    use support::window::Inotify;
    let watch = Inotify::watch(
        dir,
        libc::IN_CREATE | libc::IN_MOVED_TO | libc::IN_MODIFY | libc::IN_ATTRIB,
    );
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let stdin_closed = stop.clone();
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
        stdin_closed.store(true, Ordering::SeqCst);
    });
    let mut held: Vec<(String, std::fs::File)> = Vec::new();
    let mut inodes = HashSet::new();
    let mut told = HashSet::new();
    let mut contents = HashSet::new();
    let mut pass = |names: Vec<String>| {
        for name in names {
            let answer = match std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY)
                .open(dir.join(&name))
            {
                Ok(file) => {
                    let meta = file.metadata().expect("fstat");
                    if inodes.insert((meta.dev(), meta.ino())) {
                        held.push((name.clone(), file));
                    }
                    "opened"
                }
                Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => "denied",
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => "gone",
                Err(_) => "failed",
            };
            if told.insert((answer, name.clone())) {
                println!("observer: tried {answer} {name}");
            }
        }
        for (name, file) in &held {
            let mut bytes = vec![0u8; 1 << 20];
            let n = file.read_at(&mut bytes, 0).unwrap_or(0);
            bytes.truncate(n);
            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            if contents.insert((hex.clone(), name.clone())) {
                println!("observer: read {hex} {name}");
            }
        }
    };
    let listing = || -> Vec<String> {
        std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    pass(listing());
    println!("observer: ready");
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        let last = stop.load(Ordering::SeqCst) || std::time::Instant::now() > deadline;
        let named = watch
            .wait(Duration::from_millis(2))
            .into_iter()
            .map(|e| e.name)
            .filter(|name| !name.is_empty())
            .collect();
        pass(named);
        pass(listing());
        if last {
            break;
        }
    }
    println!("observer: done");
}

/// The docker CLI (in a private mount namespace over ROOT/etc/docker) with the cluster's
/// environment less the endpoint variables: the helper runs as Docker runs it, with no
/// flag and no DCOSREG_* endpoint.
fn docker_without_endpoints(cluster: &Cluster, args: &[&str]) -> Output {
    let script = "mkdir -p /etc/docker && mount --bind \"$1\" /etc/docker && shift && exec \"$@\"";
    let mut command = Command::new(require_tool("unshare"));
    command
        .args(["-m", "--propagation", "private", "sh", "-c", script, "sh"])
        .arg(cluster.root.join("etc/docker"))
        .arg("docker")
        .args(args);
    cluster
        .with_env(command)
        .env_remove("DCOSREG_INTERNAL")
        .env_remove("DCOSREG_EXTERNAL")
        .run()
}

#[test]
fn a_secret_answers_only_for_its_registry_and_is_kept_private() {
    let cluster = Cluster::start(Auth::Htpasswd);
    let (vip, mlb) = (cluster.vip(), cluster.mlb());
    let helper_get = |url: &str, env: &[(&str, &str)], strip_endpoints: bool| {
        let mut command = Command::new(cluster.bin_dir.join("docker-credential-dcosreg"));
        command.arg("get");
        let mut run = cluster.with_env(command).stdin(url);
        if strip_endpoints {
            run = run
                .env_remove("DCOSREG_INTERNAL")
                .env_remove("DCOSREG_EXTERNAL");
        }
        run.envs(env.iter().copied()).run()
    };

    // CI variables answer for the configured registry's spellings only.
    let ci = [("DCOSREG_USERNAME", USER), ("DCOSREG_PASSWORD", PASSWORD)];
    let ours = helper_get(&mlb, &ci, false);
    assert_status(&ours, 0);
    let others = [
        "https://index.docker.io/v1/".to_string(),
        "quay.io".to_string(),
        format!("{vip}.nip.io"),
        format!("{vip}:5001"),
        format!("https://{vip}.evil.example/v2/"),
    ];
    for other in &others {
        let out = helper_get(other, &ci, false);
        assert_status_for(&out, 1, format_args!("get {other} with the CI variables"));
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            "credentials not found in native keychain",
            "get {other}"
        );
        assert_secret_absent(&out);
    }

    // A login made with flags serves both endpoints later, with no flag and no variable.
    let mut command = Command::new(bin_path());
    command.args([
        "--internal",
        &vip,
        "--external",
        &mlb,
        "login",
        "-u",
        USER,
        "--password-stdin",
    ]);
    let login = cluster
        .with_env(command)
        .env_remove("DCOSREG_INTERNAL")
        .env_remove("DCOSREG_EXTERNAL")
        .stdin(PASSWORD)
        .run();
    assert_status(&login, 0);
    for reference in [
        format!("{vip}/nothing/here:1"),
        format!("{mlb}/nothing/here:1"),
    ] {
        let out = docker_without_endpoints(&cluster, &["manifest", "inspect", &reference]);
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(
            said.contains("no such manifest") || said.contains("manifest unknown"),
            "docker did not authenticate to {reference} through the flag-less helper: {}",
            text(&out)
        );
    }
    let flagless = helper_get(&mlb, &[], true);
    assert_status(&flagless, 0);
    // Not for other hosts, whatever the configuration says later.
    for other in others.iter().chain([&"127.0.0.1:1".to_string()]) {
        let out = helper_get(other, &[("DCOSREG_EXTERNAL", "127.0.0.1:1")], true);
        assert_status_for(&out, 1, format_args!("get {other} after the login"));
        assert_secret_absent(&out);
    }

    // A secrets file that grew wider is made 0600 again, with a warning.
    let secrets = cluster.data_dir().join("credentials.json");
    std::fs::set_permissions(&secrets, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = helper_get(&vip, &[], true);
    assert_status(&out, 0);
    assert_eq!(mode(&secrets), 0o600);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("0644"),
        "{}",
        text(&out)
    );

    // export --out: a 0644 file becomes a 0600 one; devices, pipes and links to them are
    // refused and stay what they were.
    let out_dir = cluster.dir.path().join("export");
    std::fs::create_dir_all(&out_dir).unwrap();
    let wide = out_dir.join("config.json");
    std::fs::write(&wide, "old").unwrap();
    std::fs::set_permissions(&wide, std::fs::Permissions::from_mode(0o644)).unwrap();
    let export = |out: &Path| {
        cluster.dcosreg(
            &[
                "credentials",
                "export",
                "--as",
                "docker-config",
                "--out",
                out.to_str().unwrap(),
            ],
            None,
        )
    };
    assert_status(&export(&wide), 0);
    assert_eq!(mode(&wide), 0o600);
    let device = out_dir.join("null");
    let made = Command::new("mknod")
        .arg(&device)
        .args(["c", "1", "3"])
        .status()
        .expect("mknod");
    assert!(made.success(), "mknod (the tests run as root)");
    let fifo = out_dir.join("fifo");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let link = out_dir.join("to-null");
    std::os::unix::fs::symlink(&device, &link).unwrap();
    use std::os::unix::fs::FileTypeExt;
    for refused in [&device, &fifo, &link] {
        let out = export(refused);
        assert_status_for(&out, 2, format_args!("export --out {}", refused.display()));
        assert_secret_absent(&out);
    }
    assert!(std::fs::metadata(&device)
        .unwrap()
        .file_type()
        .is_char_device());
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
}

/// A login that cannot write config.json (a read-only ~/.docker) stores no secret.
#[test]
fn a_login_that_cannot_finish_stores_nothing() {
    let cluster = Cluster::start(Auth::Htpasswd);
    std::fs::create_dir_all(cluster.docker_config()).unwrap();
    let script =
        "mount --bind \"$1\" \"$1\" && mount -o remount,bind,ro \"$1\" && shift && exec \"$@\"";
    let mut command = Command::new(require_tool("unshare"));
    command
        .args(["-m", "--propagation", "private", "sh", "-c", script, "sh"])
        .arg(cluster.docker_config())
        .arg(bin_path())
        .args(["login", "-u", USER, "--password-stdin"]);
    let login = cluster.with_env(command).stdin(PASSWORD).run();
    assert!(!login.status.success(), "{}", text(&login));
    assert_secret_absent(&login);
    let stored =
        std::fs::read_to_string(cluster.data_dir().join("credentials.json")).unwrap_or_default();
    assert!(!stored.contains(PASSWORD), "the secret stayed: {stored}");
    assert!(!stored.contains(USER), "an entry stayed: {stored}");
}

/// `docker --config DIR dcosreg login`: Docker hands its global options to the plugin, and
/// the login edits DIR/config.json (where Docker itself looks), not ~/.docker/config.json.
#[test]
fn docker_s_config_flag_chooses_the_config_json_login_edits() {
    require_tool("docker");
    let cluster = Cluster::start(Auth::Htpasswd);
    let config_dir = cluster.dir.path().join("other-docker-config");
    let plugins = config_dir.join("cli-plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    std::fs::copy(bin_path(), plugins.join("docker-dcosreg")).unwrap();
    let mut command = Command::new(require_tool("docker"));
    command.arg("--config").arg(&config_dir).args([
        "dcosreg",
        "login",
        "-u",
        USER,
        "--password-stdin",
    ]);
    let login = cluster.with_env(command).stdin(PASSWORD).run();
    assert_status(&login, 0);
    let written = std::fs::read_to_string(config_dir.join("config.json")).unwrap_or_default();
    assert!(
        written.contains("credHelpers") && written.contains(&cluster.mlb()),
        "{}: {written}",
        text(&login)
    );
    assert!(
        !cluster.config_json().exists(),
        "login edited $DOCKER_CONFIG/config.json instead of --config's"
    );
}
