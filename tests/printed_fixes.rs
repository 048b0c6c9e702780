//! Every printed command runs as printed, where it was printed (issue 31).
//!
//! Each case is a staged root (a temp dir, `--root` relative or absolute) with breakages.
//! The case's command (`doctor`, `trust` or `check`) runs in JSON and in text; every fix and
//! next-step command it prints is collected (the JSON `fix`, the text's `fix:` and `fix (all
//! N above):` lines, trust's `(fix: …)` warnings, the `…` commands in check's advice) and run
//! exactly as printed with `sh -c`, from the same working directory, in the same network
//! namespace, with the built binary first on PATH as `docker-dcosreg` and a `sudo` that
//! records its use. A `trust` that asks gets its `y` on a pseudo-terminal (`script`), as a
//! person answers. Each command runs on a fresh copy of the broken root and must exit 0,
//! and the finding it fixes must be gone when the case's command runs again, with no new
//! error; a command that only shows the problem (a diagnostic) must show it and change
//! nothing. `sudo` is printed only for the real root: the staged cases record none, and
//! the real-root cases run in a private mount namespace whose `/etc`, `/var/lib` and
//! `/usr/local/share/ca-certificates` are overlays, so the host never changes.
//!
//! The live cases talk to real `docker-registry` servers on 10.31.0.x addresses on `lo`
//! inside a network namespace each test creates: the case's command and its fixes run in
//! it (`ip netns exec`), and nothing else reaches those addresses.
//!
//! [`KINDS`] says what each finding code's fix is; [`every_fix_carrying_code_is_run_here`]
//! reads src/ and fails when a code carries a fix that no case here runs or accounts for.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use support::certs::{chain, Issued, Spec};
use support::{assert_status_for, bin_path, output_within, require_tool, stderr, stdout, Dcosreg};

// Addresses on `lo` inside the test's own network namespace (never routed elsewhere).
/// The VIP: a registry with CA 1's certificate on port 443.
const INT: &str = "10.31.0.1";
/// Marathon-LB: the same certificate on port 5000.
const EXT: &str = "10.31.0.2:5000";
/// TLS with CA 1's certificate, but `GET /v2/` answers 404: no registry.
const NOT_REGISTRY: &str = "10.31.0.3:5000";
/// Nothing listens.
const DOWN_INT: &str = "10.31.0.4";
const DOWN_EXT: &str = "10.31.0.5:5000";
/// CA 1's certificate, which does not name this address.
const UNNAMED: &str = "10.31.0.6:5000";
/// What `cert` issues in its case, served as the agent would.
const CERT_INT: &str = "10.31.0.7";
const CERT_EXT: &str = "10.31.0.8:5000";
/// A registry certificate (naming INT, EXT and itself) that expires within 30 days.
const SOON: &str = "10.31.0.9:5000";
/// The addresses CA 1's registry certificate names.
const CA1_NAMES: [&str; 5] = [
    "10.31.0.1",
    "10.31.0.2",
    "10.31.0.3",
    "10.31.0.4",
    "10.31.0.5",
];

/// How long one command of a case may take.
const LIMIT: Duration = Duration::from_secs(90);

// ---------------------------------------------------------------------------------------
// What each fix-carrying finding code prints, and where it runs here.

/// What a code's fix is.
enum Kind {
    /// A command that changes the host: it runs as printed, exits 0 and the finding goes.
    Runs,
    /// A read-only command that shows the problem: it runs as printed, exits with one of
    /// `status` (empty: any status but "not found"/"not executable"), its output says
    /// `says`, and the finding stays.
    Shows {
        status: &'static [i32],
        says: &'static str,
    },
    /// Words for the registry's operator, not a command for this host: why.
    Advice(&'static str),
    /// Not staged here: why, and which test runs it.
    Elsewhere(&'static str),
}

const KINDS: &[(&str, Kind)] = &[
    // doctor's and trust's host inspection (trust::certsd, docker, containerd, buildkit)
    ("orphan-key", Kind::Runs),
    ("orphan-cert", Kind::Runs),
    ("certs-d-without-port", Kind::Runs),
    ("certs-d-one-form", Kind::Runs),
    ("certs-d-missing", Kind::Runs),
    ("certs-d-no-ca", Kind::Runs),
    ("ca-unreadable", Kind::Runs),
    ("ca-not-pem", Kind::Runs),
    ("ca-expired", Kind::Runs),
    ("ca-expires-soon", Kind::Runs),
    ("insecure-registry", Kind::Runs),
    ("containerd-config-path", Kind::Runs),
    ("containerd-hosts-missing", Kind::Runs),
    ("buildkit-no-ca", Kind::Runs),
    ("daemon-json-invalid", Kind::Shows {
        status: &[],
        says: "line 3",
    }),
    ("daemon-predates-certs-d", Kind::Elsewhere(
        "needs a dockerd started before the certs.d change, reading this root's files: a staged root is read by no daemon; tests/runtime.rs reports it for its private dockerd and clears it with the restart the fix names (its harness restarts that dockerd: systemctl does not manage it)",
    )),
    // doctor's own (conntrack, the live endpoints)
    ("conntrack-strict", Kind::Runs),
    ("conntrack-not-persisted", Kind::Runs),
    ("endpoint-untrusted", Kind::Runs),
    ("stale-ca", Kind::Runs),
    ("endpoint-unreachable", Kind::Shows {
        status: &[1],
        says: "unreachable",
    }),
    ("endpoint-not-reachable-from-here", Kind::Elsewhere(
        "needs a configured endpoint that drops SYNs while the other answers (a laptop outside the cluster): tests/outside.rs stages that in a network namespace of its own and runs the fix's `check EP` there (named_endpoints_keep_the_strict_deadline: it waits for the endpoint and fails)",
    )),
    ("no-endpoint-reachable", Kind::Shows {
        status: &[1],
        says: "\"chosen\": null",
    }),
    ("not-a-registry", Kind::Shows {
        status: &[0],
        says: "404",
    }),
    // check's (x509 findings, --expires-within)
    ("unknown-authority", Kind::Runs),
    ("name-mismatch", Kind::Runs),
    ("missing-endpoint-san", Kind::Runs),
    ("expired", Kind::Runs),
    ("expires-soon", Kind::Runs),
    ("expires-within", Kind::Runs),
    ("not-yet-valid", Kind::Advice(
        "this host's clock or the certificate's start date: words (timedatectl, reissue), no command",
    )),
    ("incompatible-key-usage", Kind::Advice(
        "reissue with serverAuth: a step on the registry's certificate, in words",
    )),
    ("invalid-certificate", Kind::Advice(
        "reissue the chain with a standard CA: names `cert`, whose --out and endpoints the registry's operator chooses",
    )),
    ("malformed-certificate", Kind::Advice(
        "the registry serves a certificate Go cannot use: fixed on the registry, in words",
    )),
    ("no-certificate", Kind::Advice(
        "the registry serves no certificate: configure its TLS, in words",
    )),
    ("ca-as-leaf", Kind::Advice(
        "issue a CA and a registry certificate: names `cert`, whose --out the operator chooses",
    )),
    ("self-signed", Kind::Advice(
        "sign with a CA installed once: names `cert`, whose --out the operator chooses",
    )),
    ("incomplete-chain", Kind::Advice(
        "serve the intermediate: a change to the registry's certificate file, in words",
    )),
    ("weak-key", Kind::Advice(
        "reissue with a stronger key: names `cert`, whose --out the operator chooses",
    )),
    ("weak-signature", Kind::Advice(
        "reissue with SHA-256: a step on the registry's certificate, in words",
    )),
    ("ca-file-ignored", Kind::Advice(
        "a --ca-file/--cert-dir file the user gave: put it in PEM, in words",
    )),
    ("handshake-signature", Kind::Advice(
        "an impostor answers: find out which host, in words (tests/impostor.rs)",
    )),
    ("not-reachable-from-here", Kind::Advice(
        "check's note for a configured endpoint not reachable from here: run check on a cluster node, in words, or name it (tests/outside.rs runs the named `check EP`)",
    )),
    ("unreachable", Kind::Advice(
        "check's reason for an endpoint it cannot reach, in words (doctor's endpoint-unreachable prints the command)",
    )),
];

fn kind(code: &str) -> &'static Kind {
    KINDS
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, k)| k)
        .unwrap_or_else(|| panic!("{code}: not in KINDS (say what its fix is)"))
}

// ---------------------------------------------------------------------------------------
// The namespace, its registries, the binary and `sudo`.

/// A network namespace of this test with the 10.31.0.x addresses on its `lo`, the
/// registries serving in it, CA 1 (what they serve), and a directory with the `sudo`
/// shim and the binary under test as `docker-dcosreg`. Everything stops on drop.
struct Lab {
    ns: String,
    dir: tempfile::TempDir,
    ca1: Issued,
    /// The CA of SOON's certificate.
    soon_ca: Issued,
    registries: std::cell::RefCell<Vec<(String, Child)>>,
}

impl Lab {
    fn new() -> Lab {
        require_tool("ip");
        require_tool("docker-registry");
        require_tool("script");
        require_tool("curl");
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let ns = format!("dcosreg-pf{}-{n}", std::process::id());
        let _ = Command::new("ip").args(["netns", "delete", &ns]).output();
        let dir = tempfile::tempdir().expect("tempdir");
        let [ca1, leaf] = chain([
            Spec::ca("printed fixes CA 1").cert_sign(),
            Spec::server(&CA1_NAMES),
        ]);
        let soon_dir = dir.path().join("soon");
        let soon_ca = cert_dir(
            &soon_dir,
            &["10.31.0.1", "10.31.0.2", "10.31.0.9"],
            -350,
            15,
        );
        let lab = Lab {
            ns,
            dir,
            ca1,
            soon_ca,
            registries: Default::default(),
        };
        ip(&["netns", "add", &lab.ns]);
        ip(&["-n", &lab.ns, "link", "set", "lo", "up"]);
        for last in 1..=9 {
            ip(&[
                "-n",
                &lab.ns,
                "addr",
                "add",
                &format!("10.31.0.{last}/32"),
                "dev",
                "lo",
            ]);
        }
        let d = lab.dir.path();
        std::fs::write(d.join("ca1-chain.pem"), leaf.pem() + &lab.ca1.pem()).unwrap();
        std::fs::write(d.join("ca1-key.pem"), leaf.key_pem()).unwrap();

        let bin = d.join("bin");
        std::fs::create_dir(&bin).unwrap();
        std::os::unix::fs::symlink(bin_path(), bin.join("docker-dcosreg")).unwrap();
        // We are root already: record the call (the case checks who printed sudo), run it.
        let sudo = bin.join("sudo");
        std::fs::write(
            &sudo,
            "#!/bin/sh\nprintf '%s\\n' \"$*\" >> \"$PF_SUDO_LOG\"\nexec \"$@\"\n",
        )
        .unwrap();
        set_mode(&sudo, 0o755);
        lab
    }

    /// A lab with CA 1's registries: INT, EXT, NOT_REGISTRY and UNNAMED.
    fn with_registries() -> Lab {
        let lab = Lab::new();
        let (chain, key) = lab.ca1_files();
        for addr in [INT, EXT, UNNAMED] {
            lab.serve(addr, &chain, &key, "");
        }
        lab.serve(NOT_REGISTRY, &chain, &key, "  prefix: /elsewhere/\n");
        let soon = lab.dir.path().join("soon");
        lab.serve(SOON, &soon.join("domain.crt"), &soon.join("domain.key"), "");
        lab
    }

    fn ca1_files(&self) -> (PathBuf, PathBuf) {
        let d = self.dir.path();
        (d.join("ca1-chain.pem"), d.join("ca1-key.pem"))
    }

    fn ca1_pem(&self) -> String {
        self.ca1.pem()
    }

    fn bin_dir(&self) -> PathBuf {
        self.dir.path().join("bin")
    }

    /// A real `docker-registry` on `endpoint` (443 when it names no port) inside the
    /// namespace, serving `chain` and `key`, with `http_extra` added to its `http:` section.
    fn serve(&self, endpoint: &str, chain: &Path, key: &Path, http_extra: &str) {
        let addr = with_port(endpoint);
        let name = addr.replace([':', '.'], "_");
        let config = self.dir.path().join(format!("registry-{name}.yml"));
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {data}\nhttp:\n  addr: \"{addr}\"\n  secret: printed-fixes\n  tls:\n    certificate: {chain}\n    key: {key}\n{http_extra}",
                data = self.dir.path().join("registry-data").display(),
                chain = chain.display(),
                key = key.display(),
            ),
        )
        .unwrap();
        let log =
            std::fs::File::create(self.dir.path().join(format!("registry-{name}.log"))).unwrap();
        let child = Command::new("ip")
            .args(["netns", "exec", &self.ns, "docker-registry", "serve"])
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start docker-registry");
        self.registries.borrow_mut().push((addr.clone(), child));
        // Wait inside the namespace: any HTTP answer (even 404) means it serves.
        let wait = format!(
            "i=0; while [ $i -lt 200 ]; do curl -sk -o /dev/null --max-time 1 https://{addr}/ && exit 0; i=$((i+1)); sleep 0.05; done; exit 1"
        );
        let out = output_within(
            Command::new("ip").args(["netns", "exec", &self.ns, "sh", "-c", &wait]),
            Duration::from_secs(30),
        );
        assert_status_for(
            &out,
            0,
            format_args!("docker-registry on {addr} did not answer"),
        );
    }

    /// Stop the registry on `endpoint`.
    fn stop(&self, endpoint: &str) {
        let addr = with_port(endpoint);
        self.registries.borrow_mut().retain_mut(|(a, child)| {
            if *a != addr {
                return true;
            }
            let _ = child.kill();
            let _ = child.wait();
            false
        });
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for (_, child) in self.registries.get_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = Command::new("ip")
            .args(["netns", "delete", &self.ns])
            .output();
    }
}

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("run ip");
    assert_status_for(&out, 0, format_args!("ip {} (needs root)", args.join(" ")));
}

/// `host:port`, 443 when the endpoint names no port.
fn with_port(endpoint: &str) -> String {
    if endpoint.contains(':') {
        endpoint.to_string()
    } else {
        format!("{endpoint}:443")
    }
}

/// The host of an endpoint.
fn host_of(endpoint: &str) -> &str {
    endpoint.split(':').next().unwrap()
}

// ---------------------------------------------------------------------------------------
// Where a case's commands run.

/// Where a case's commands run: in the lab's namespace, from `work` (the staged root is
/// `work/root`), with `HOME` in it, the lab's `bin` first on PATH, `sudo` recorded in
/// `sudo_log`; as `user` (uid = gid) when given; for the real root, inside a private mount
/// namespace whose `/etc`, `/var/lib` and `/usr/local/share/ca-certificates` are overlays
/// with their upper directories in `work/overlay` (so they are part of the case's state).
struct Place<'l> {
    lab: &'l Lab,
    _dir: tempfile::TempDir,
    work: PathBuf,
    sudo_log: PathBuf,
    user: Option<u32>,
    real_root: bool,
}

/// Overlays for the real root, mounted for one command; the upper directories persist.
const OVERLAY: &str = r#"
O="$1"; shift
mount -t overlay overlay -o "lowerdir=/etc,upperdir=$O/etc-upper,workdir=$O/etc-work" /etc || exit 90
mount -t overlay overlay -o "lowerdir=/var/lib,upperdir=$O/varlib-upper,workdir=$O/varlib-work" /var/lib || exit 91
mount -t overlay overlay -o "lowerdir=/usr/local/share/ca-certificates,upperdir=$O/lsc-upper,workdir=$O/lsc-work" /usr/local/share/ca-certificates || exit 92
exec "$@"
"#;

impl<'l> Place<'l> {
    fn new(lab: &'l Lab, user: Option<u32>, real_root: bool) -> Place<'l> {
        let dir = tempfile::tempdir().expect("tempdir");
        let work = dir.path().join("work");
        std::fs::create_dir_all(work.join("home")).unwrap();
        std::fs::create_dir_all(work.join("root")).unwrap();
        if real_root {
            require_tool("unshare");
            for sub in [
                "etc-upper",
                "etc-work",
                "varlib-upper",
                "varlib-work",
                "lsc-upper",
                "lsc-work",
            ] {
                std::fs::create_dir_all(work.join("overlay").join(sub)).unwrap();
            }
        }
        if let Some(uid) = user {
            require_tool("setpriv");
            // The user reaches its work directory (tempdirs are 0700).
            set_mode(dir.path(), 0o755);
            chown(&work, uid);
        }
        let sudo_log = dir.path().join("sudo.log");
        std::fs::write(&sudo_log, "").unwrap();
        set_mode(&sudo_log, 0o666);
        Place {
            lab,
            work,
            sudo_log,
            user,
            real_root,
            _dir: dir,
        }
    }

    fn root(&self) -> PathBuf {
        self.work.join("root")
    }

    /// `program…` as the case runs it (see [`Place`]).
    fn command(&self, program: &[&str]) -> Dcosreg {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.lab.ns]);
        if self.real_root {
            command
                .args([
                    "unshare",
                    "-m",
                    "--propagation",
                    "private",
                    "sh",
                    "-c",
                    OVERLAY,
                    "sh",
                ])
                .arg(self.work.join("overlay"));
        }
        if let Some(uid) = self.user {
            let id = uid.to_string();
            command.args([
                "setpriv",
                "--reuid",
                &id,
                "--regid",
                &id,
                "--clear-groups",
                "--",
            ]);
        }
        command.args(program);
        let path = format!(
            "{}:{}",
            self.lab.bin_dir().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        Dcosreg::via(command)
            .home(&self.work.join("home"))
            .env("PATH", path)
            .env("SHELL", "/bin/sh")
            .env("PF_SUDO_LOG", &self.sudo_log)
            .current_dir(&self.work)
            .timeout(LIMIT)
    }

    /// `docker-dcosreg ARGS` as the case's own command (found on PATH, as a fix finds it).
    fn tool(&self, args: &[String]) -> Output {
        let mut program = vec!["docker-dcosreg"];
        program.extend(args.iter().map(String::as_str));
        self.command(&program).run()
    }

    /// A printed line, run as printed by `sh -c`, stdin closed.
    fn sh(&self, line: &str) -> Output {
        self.command(&["sh", "-c", line]).run()
    }

    /// A printed line on a pseudo-terminal (`script` runs it with `$SHELL -c`), answering
    /// `y` as a person would.
    fn answered(&self, line: &str) -> Output {
        self.command(&["script", "-qec", line, "/dev/null"])
            .stdin("y\n")
            .run()
    }

    fn sudo_calls(&self) -> Vec<String> {
        std::fs::read_to_string(&self.sudo_log)
            .unwrap_or_default()
            .lines()
            .map(String::from)
            .collect()
    }

    /// A copy of the case's state (`work`), restored before each printed command.
    fn snapshot(&self) -> tempfile::TempDir {
        let snap = tempfile::tempdir().expect("tempdir");
        cp_a(&self.work, &snap.path().join("work"));
        snap
    }

    fn restore(&self, snap: &tempfile::TempDir) {
        std::fs::remove_dir_all(&self.work).expect("remove the case's state");
        cp_a(&snap.path().join("work"), &self.work);
    }
}

/// `cp -a FROM TO` (links, FIFOs, modes and owners as they are).
fn cp_a(from: &Path, to: &Path) {
    let out = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .output()
        .unwrap();
    assert_status_for(&out, 0, format_args!("cp -a {from:?} {to:?}"));
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

fn chown(path: &Path, uid: u32) {
    let out = Command::new("chown")
        .arg("-R")
        .arg(format!("{uid}:{uid}"))
        .arg(path)
        .output()
        .unwrap();
    assert_status_for(&out, 0, "chown");
}

// ---------------------------------------------------------------------------------------
// A case: its staged root, its command, and what it must run.

#[derive(Clone, Copy)]
enum Probe {
    Doctor { offline: bool },
    Trust(&'static [&'static str]),
    Check(&'static [&'static str]),
}

impl Probe {
    fn args(self, globals: &[String], json: bool) -> Vec<String> {
        let mut args = globals.to_vec();
        let (command, rest): (&str, &[&str]) = match self {
            Probe::Doctor { offline: true } => ("doctor", &["--offline"]),
            Probe::Doctor { offline: false } => ("doctor", &[]),
            Probe::Trust(rest) => ("trust", rest),
            Probe::Check(rest) => ("check", rest),
        };
        args.push(command.into());
        args.extend(rest.iter().map(|s| s.to_string()));
        if json {
            args.extend(["--format".into(), "json".into()]);
        }
        args
    }

    /// The findings of one JSON report.
    fn findings(self, out: &Output) -> Vec<Seen> {
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "no JSON ({e}); {:?}\nstdout:\n{}\nstderr:\n{}",
                out.status,
                stdout(out),
                stderr(out)
            )
        });
        let list: Vec<&serde_json::Value> = match self {
            Probe::Check(_) => json["endpoints"]
                .as_array()
                .expect("endpoints")
                .iter()
                .flat_map(|e| e["findings"].as_array().expect("findings"))
                .collect(),
            _ => json["findings"]
                .as_array()
                .expect("findings")
                .iter()
                .collect(),
        };
        list.into_iter()
            .map(|f| Seen {
                code: f["code"].as_str().unwrap().to_string(),
                severity: f["severity"].as_str().unwrap().to_string(),
                message: f["message"].as_str().unwrap().to_string(),
                fix: f["fix"].as_str().map(String::from),
            })
            .collect()
    }
}

/// A finding as printed in JSON.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Seen {
    code: String,
    severity: String,
    message: String,
    fix: Option<String>,
}

impl Seen {
    fn key(&self) -> (String, String) {
        (self.code.clone(), self.message.clone())
    }
}

#[derive(Clone, Copy)]
enum RootAt {
    /// `--root root`, run from the work directory.
    Relative,
    /// `--root /tmp/…/work/root`.
    Absolute,
    /// Root (relative), endpoints and timeout from `--config settings.toml`: the printed
    /// commands, run without it, carry them.
    ConfigFile,
}

struct Case {
    name: &'static str,
    internal: &'static str,
    external: &'static str,
    root: RootAt,
    timeout: &'static str,
    probe: Probe,
    /// Run every command as this uid (the staged root is theirs).
    user: Option<u32>,
    stage: fn(&Stage),
    /// Codes this case prints with a command and runs (KINDS says how each is judged).
    covers: &'static [&'static str],
    /// Codes this case prints without a command: their fix is another finding's.
    unfixed: &'static [&'static str],
    /// Codes whose command here is a template (`--dir DIR`: check of a live endpoint
    /// cannot know the registry's certificate directory).
    templates: &'static [&'static str],
}

const NONE: &[&str] = &[];

/// What a case's staging sees.
struct Stage<'a> {
    place: &'a Place<'a>,
    root: PathBuf,
}

impl Stage<'_> {
    fn write(&self, rel: &str, bytes: impl AsRef<[u8]>) {
        support::write_file(&self.root.join(rel), bytes);
    }

    /// CA 1 (what the registries serve) in docker's certs.d for `endpoints` (both
    /// spellings of a 443 endpoint).
    fn trust_ca1(&self, endpoints: &[&str]) {
        let pem = self.place.lab.ca1_pem();
        for endpoint in endpoints {
            for dir in certs_d_names(endpoint) {
                self.write(&format!("etc/docker/certs.d/{dir}/ca.crt"), &pem);
            }
        }
    }

    fn lab(&self) -> &Lab {
        self.place.lab
    }
}

/// The certs.d directory names of an endpoint: `h` and `h:443` for port 443.
fn certs_d_names(endpoint: &str) -> Vec<String> {
    if endpoint.contains(':') {
        vec![endpoint.to_string()]
    } else {
        vec![endpoint.to_string(), format!("{endpoint}:443")]
    }
}

/// A self-signed CA valid from `from` to `to` days from now, PEM.
fn other_ca(cn: &str, from: i64, to: i64) -> Issued {
    Spec::ca(cn).cert_sign().valid_days(from, to).self_signed()
}

/// A directory as `cert` writes it (ca.crt, ca.key, domain.crt = leaf then CA,
/// domain.key), with a leaf for `names` valid from `from` to `to` days from now.
fn cert_dir(dir: &Path, names: &[&str], from: i64, to: i64) -> Issued {
    let [ca, leaf] = chain([
        Spec::ca("printed fixes renewal CA").cert_sign(),
        Spec::server(names).valid_days(from, to),
    ]);
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("ca.crt"), ca.pem()).unwrap();
    std::fs::write(dir.join("ca.key"), ca.key_pem()).unwrap();
    std::fs::write(dir.join("domain.crt"), leaf.pem() + &ca.pem()).unwrap();
    std::fs::write(dir.join("domain.key"), leaf.key_pem()).unwrap();
    ca
}

// ---------------------------------------------------------------------------------------
// Running a case.

/// One printed command, the findings it is printed for and where it was read.
#[derive(Debug)]
struct Printed {
    command: String,
    fixes: Vec<Seen>,
    /// doctor's `fix (all N above): …` line (text only).
    folded: bool,
}

/// What a case ran: (command, codes, kind) per printed command, and the templates seen.
struct Ran {
    commands: Vec<(String, BTreeSet<String>)>,
    templates: BTreeSet<String>,
}

/// The command lines of a finding's fix: the whole fix for a command; for advice in words,
/// the `…` parts that are command lines (`docker-dcosreg …`, `sudo …`, the plugin's
/// `docker dcosreg …`).
fn commands_in(code: &str, fix: &str) -> Vec<String> {
    if matches!(kind(code), Kind::Advice(_)) {
        return Vec::new();
    }
    if fix.contains('`') {
        return backquoted_commands(fix);
    }
    vec![fix.to_string()]
}

/// Whether a printed line asks before it changes anything: a `trust` without its
/// non-interactive answers.
fn asks(command: &str) -> bool {
    let words: Vec<&str> = command.split_whitespace().collect();
    words.contains(&"trust") && !words.contains(&"--yes") && !words.contains(&"--fingerprint")
}

/// A finding as its text line names it: (code, message).
type Line = (String, String);

/// doctor's text: the plain `fix:` lines, and each `fix (all N above)` line with the N
/// findings above it.
fn doctor_text(text: &str) -> (Vec<String>, Vec<(String, Vec<Line>)>) {
    let mut lines: Vec<Line> = Vec::new();
    let mut plain = Vec::new();
    let mut folded = Vec::new();
    for line in text.lines() {
        if let Some(fix) = line.strip_prefix("        fix: ") {
            plain.push(fix.to_string());
        } else if let Some(rest) = line.strip_prefix("        fix (all ") {
            let (n, fix) = rest.split_once(" above): ").expect("fix (all N above): …");
            let n: usize = n.parse().expect("N");
            folded.push((fix.to_string(), lines[lines.len() - n..].to_vec()));
        } else if let Some((severity, rest)) = line.split_once(' ') {
            if ["error", "warning", "info"].contains(&severity) {
                let (code, message) = rest.trim_start().split_once(": ").expect("code: message");
                lines.push((code.to_string(), message.to_string()));
            }
        }
    }
    (plain, folded)
}

/// trust's text: the `(fix: …)` of each `warning:` line on stderr.
fn trust_text(err: &str) -> Vec<String> {
    err.lines()
        .filter(|l| l.starts_with("warning: "))
        .filter_map(|l| {
            let at = l.rfind(" (fix: ")?;
            Some(l[at + 7..].strip_suffix(')').expect("(fix: …)").to_string())
        })
        .collect()
}

/// check's text: the `…` commands of its `fix:` lines.
fn check_text(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.trim_start().strip_prefix("fix: "))
        .flat_map(backquoted_commands)
        .collect()
}

/// The `…` parts of a line that are command lines.
fn backquoted_commands(line: &str) -> Vec<String> {
    line.split('`')
        .skip(1)
        .step_by(2)
        .filter(|p| {
            ["docker-dcosreg ", "sudo ", "docker dcosreg "]
                .iter()
                .any(|c| p.starts_with(c))
        })
        .map(String::from)
        .collect()
}

/// Stage the case, collect what it prints, run each printed command on a fresh copy of
/// the staged state, and judge it by its code's [`Kind`].
fn run_case(lab: &Lab, case: &Case) -> Ran {
    let place = Place::new(lab, case.user, false);
    let root_arg = match case.root {
        RootAt::Relative | RootAt::ConfigFile => "root".to_string(),
        RootAt::Absolute => place.root().display().to_string(),
    };
    let stage = Stage {
        place: &place,
        root: place.root(),
    };
    (case.stage)(&stage);
    if let Some(uid) = case.user {
        chown(&place.work, uid);
    }
    let globals: Vec<String> = if let RootAt::ConfigFile = case.root {
        std::fs::write(
            place.work.join("settings.toml"),
            format!(
                "root = \"{root_arg}\"\ninternal = \"{}\"\nexternal = \"{}\"\ntimeout = \"{}\"\n",
                case.internal, case.external, case.timeout
            ),
        )
        .unwrap();
        vec!["--config".into(), "settings.toml".into()]
    } else {
        [
            "--root",
            &root_arg,
            "--internal",
            case.internal,
            "--external",
            case.external,
            "--timeout",
            case.timeout,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let name = case.name;
    let json = |place: &Place| place.tool(&case.probe.args(&globals, true));

    // What it prints, in JSON and in text.
    let first = json(&place);
    let printed_json = case.probe.findings(&first);
    let text = place.tool(&case.probe.args(&globals, false));
    let mut printed: Vec<Printed> = Vec::new();
    let mut templates = BTreeSet::new();
    let mut add = |command: String, fix: Option<&Seen>, folded: bool| {
        if command.contains(" --dir DIR") {
            templates.insert(fix.map(|f| f.code.clone()).unwrap_or_default());
            return;
        }
        match printed.iter_mut().find(|p| p.command == command) {
            Some(p) => p.fixes.extend(fix.cloned()),
            None => printed.push(Printed {
                command,
                fixes: fix.into_iter().cloned().collect(),
                folded,
            }),
        }
    };
    for finding in &printed_json {
        for command in finding
            .fix
            .as_deref()
            .map(|fix| commands_in(&finding.code, fix))
            .unwrap_or_default()
        {
            add(command, Some(finding), false);
        }
    }
    let from_json: BTreeSet<String> = printed.iter().map(|p| p.command.clone()).collect();
    let text_commands = match case.probe {
        Probe::Doctor { .. } => {
            let (plain, folded) = doctor_text(&stdout(&text));
            for (command, members) in folded {
                let fixes: Vec<Seen> = members
                    .iter()
                    .map(|key| {
                        printed_json
                            .iter()
                            .find(|f| &f.key() == key)
                            .unwrap_or_else(|| panic!("{name}: {key:?} is not in the JSON"))
                            .clone()
                    })
                    .collect();
                printed.push(Printed {
                    command,
                    fixes,
                    folded: true,
                });
            }
            plain
        }
        Probe::Trust(_) => trust_text(&stderr(&text)),
        Probe::Check(_) => check_text(&stdout(&text)),
    };
    for command in &text_commands {
        if !command.contains(" --dir DIR") {
            assert!(
                from_json.contains(command),
                "{name}: the text prints `{command}`, the JSON does not: {from_json:?}"
            );
        }
    }

    // Each printed command on a fresh copy of the broken state.
    let snapshot = place.snapshot();
    let before = case.probe.findings(&json(&place));
    let errors = |findings: &[Seen]| -> BTreeSet<(String, String)> {
        findings
            .iter()
            .filter(|f| f.severity == "error")
            .map(Seen::key)
            .collect()
    };
    let mut ran = Vec::new();
    for p in &printed {
        let codes: BTreeSet<String> = p.fixes.iter().map(|f| f.code.clone()).collect();
        let command = &p.command;
        assert!(
            !command.starts_with("docker dcosreg "),
            "{name}: `{command}` names the plugin form; the standalone binary prints docker-dcosreg"
        );
        assert!(
            !command.split_whitespace().any(|w| w == "sudo"),
            "{name}: `{command}` has sudo on a staged root"
        );
        place.restore(&snapshot);
        let out = if asks(command) {
            let out = place.answered(command);
            assert!(
                stdout(&out).contains("[y/N]"),
                "{name}: `{command}` was expected to ask: {}",
                stdout(&out)
            );
            out
        } else {
            place.sh(command)
        };
        let after = case.probe.findings(&json(&place));
        let shows: Vec<&Kind> = codes
            .iter()
            .map(|c| kind(c))
            .filter(|k| matches!(k, Kind::Shows { .. }))
            .collect();
        if let Some(Kind::Shows { status, says }) = shows.first() {
            assert_eq!(
                shows.len(),
                codes.len(),
                "{name}: `{command}` for {codes:?}"
            );
            let code = out.status.code().unwrap_or(-1);
            assert!(
                if status.is_empty() {
                    code != 126 && code != 127 && code != -1
                } else {
                    status.contains(&code)
                },
                "{name}: `{command}` exited {code}\n{}{}",
                stdout(&out),
                stderr(&out)
            );
            let said = stdout(&out) + &stderr(&out);
            assert!(said.contains(says), "{name}: `{command}` said:\n{said}");
            for fixed in &p.fixes {
                assert!(
                    after.iter().any(|f| f.key() == fixed.key()),
                    "{name}: `{command}` only shows; {} changed: {after:?}",
                    fixed.code
                );
            }
        } else {
            assert_status_for(&out, 0, format_args!("{name}: `{command}` as printed"));
            for fixed in &p.fixes {
                assert!(
                    !after.iter().any(|f| f.key() == fixed.key()),
                    "{name}: still reported after `{command}`: {} {}\n{}{}",
                    fixed.code,
                    fixed.message,
                    stdout(&out),
                    stderr(&out)
                );
            }
            let new: Vec<_> = errors(&after)
                .difference(&errors(&before))
                .cloned()
                .collect();
            assert!(
                new.is_empty(),
                "{name}: `{command}` brought new errors: {new:?}"
            );
        }
        assert!(
            place.sudo_calls().is_empty(),
            "{name}: sudo ran on a staged root: {:?}",
            place.sudo_calls()
        );
        let shown = if p.folded {
            format!("{command}   (doctor's folded line)")
        } else {
            command.clone()
        };
        ran.push((shown, codes));
    }

    // What the case is for was printed and run (or printed without a command).
    let run_codes: BTreeSet<&String> = ran.iter().flat_map(|(_, c)| c).collect();
    for code in case.covers {
        assert!(
            run_codes.contains(&code.to_string()),
            "{name}: no command printed for {code} was run; printed: {printed_json:?}"
        );
    }
    for code in case.unfixed {
        let seen: Vec<&Seen> = printed_json.iter().filter(|f| f.code == *code).collect();
        assert!(
            !seen.is_empty(),
            "{name}: {code} not reported: {printed_json:?}"
        );
        assert!(
            seen.iter().all(|f| f.fix.is_none()),
            "{name}: {code} prints a command that cannot fix it: {seen:?}"
        );
    }
    let expected_templates: BTreeSet<String> =
        case.templates.iter().map(|s| s.to_string()).collect();
    assert_eq!(templates, expected_templates, "{name}: templates");
    println!("{name}:");
    for (command, codes) in &ran {
        println!("  {codes:?}: {command}");
    }
    Ran {
        commands: ran,
        templates,
    }
}

fn run_cases(lab: &Lab, cases: &[Case]) {
    for case in cases {
        let ran = run_case(lab, case);
        assert!(
            !ran.commands.is_empty() || !ran.templates.is_empty() || !case.unfixed.is_empty(),
            "{}: nothing printed",
            case.name
        );
    }
}

// ---------------------------------------------------------------------------------------
// The cases.

fn healthy(s: &Stage) {
    s.trust_ca1(&[INT, EXT]);
}

const HOST_CASES: &[Case] = &[
    Case {
        name: "client files, non-PEM and unreadable CAs in docker's certs.d",
        internal: INT,
        external: EXT,
        root: RootAt::Relative,
        timeout: "5s",
        probe: Probe::Doctor { offline: true },
        user: None,
        stage: |s| {
            healthy(s);
            let ca1 = s.lab().ca1_pem();
            s.write("etc/docker/certs.d/10.31.0.2:5000/client.key", "key");
            s.write("etc/docker/certs.d/10.31.0.1/ca.cert", &ca1);
            s.write(
                "etc/docker/certs.d/10.31.0.1:443/extra.crt",
                "not a certificate\n",
            );
            s.write(
                "etc/docker/certs.d/10.31.0.2:5000/der.crt",
                s.lab().ca1.der(),
            );
            let dir = s.root.join("etc/docker/certs.d/10.31.0.1");
            std::os::unix::fs::symlink("/nowhere/ca.crt", dir.join("gone.crt")).unwrap();
            // Where the CA was, a FIFO: that directory has no usable CA left.
            let fifo = s.root.join("etc/docker/certs.d/10.31.0.1:443/ca.crt");
            std::fs::remove_file(&fifo).unwrap();
            let out = Command::new("mkfifo").arg(&fifo).output().unwrap();
            assert_status_for(&out, 0, "mkfifo");
        },
        covers: &[
            "orphan-key",
            "orphan-cert",
            "ca-not-pem",
            "ca-unreadable",
            "certs-d-no-ca",
        ],
        unfixed: NONE,
        templates: NONE,
    },
    Case {
        name: "a CA its user cannot read",
        internal: INT,
        external: EXT,
        root: RootAt::Relative,
        timeout: "5s",
        probe: Probe::Doctor { offline: true },
        user: Some(65534),
        stage: |s| {
            healthy(s);
            let ca = s.root.join("etc/docker/certs.d/10.31.0.2:5000/ca.crt");
            set_mode(&ca, 0o000);
        },
        covers: &["ca-unreadable", "certs-d-no-ca"],
        unfixed: NONE,
        templates: NONE,
    },
    Case {
        name: "directories named without the port, one spelling of the VIP",
        internal: INT,
        external: EXT,
        root: RootAt::Absolute,
        timeout: "5s",
        probe: Probe::Doctor { offline: true },
        user: None,
        stage: |s| {
            healthy(s);
            let d = s.root.join("etc/docker/certs.d");
            std::fs::rename(d.join("10.31.0.2:5000"), d.join("10.31.0.2")).unwrap();
            std::fs::remove_dir_all(d.join("10.31.0.1:443")).unwrap();
        },
        covers: &["certs-d-without-port", "certs-d-one-form"],
        unfixed: NONE,
        templates: NONE,
    },
    Case {
        name: "insecure-registries names an endpoint",
        internal: INT,
        external: EXT,
        root: RootAt::Relative,
        timeout: "5s",
        probe: Probe::Doctor { offline: true },
        user: None,
        stage: |s| {
            healthy(s);
            s.write(
                "etc/docker/daemon.json",
                r#"{"insecure-registries": ["10.31.0.2:5000", "other:5000"], "debug": true}"#,
            );
        },
        covers: &["insecure-registry"],
        unfixed: NONE,
        templates: NONE,
    },
    Case {
        name: "insecure-registries covers both endpoints with a CIDR",
        internal: INT,
        external: EXT,
        root: RootAt::ConfigFile,
        timeout: "5s",
        probe: Probe::Doctor { offline: true },
        user: None,
        stage: |s| {
            healthy(s);
            s.write(
                "etc/docker/daemon.json",
                r#"{"insecure-registries": ["10.31.0.0/16"]}"#,
            );
        },
        covers: &["insecure-registry"],
        unfixed: NONE,
        templates: NONE,
    },
    Case {
        name: "daemon.json that is not JSON",
        internal: INT,
        external: EXT,
        root: RootAt::Relative,
        timeout: "5s",
        probe: Probe::Doctor { offline: true },
        user: None,
        stage: |s| {
            healthy(s);
            s.write("etc/docker/daemon.json", "{\n  \"debug\": true,\n}\n");
        },
        covers: &["daemon-json-invalid"],
        unfixed: NONE,
        templates: NONE,
    },
    Case {
        name: "containerd: the CRI registry table without config_path",
        internal: INT,
        external: EXT,
        root: RootAt::Relative,
        timeout: "5s",
        probe: Probe::Doctor { offline: true },
        user: None,
        stage: |s| {
            healthy(s);
            containerd_hosts(s);
            s.write(
                "etc/containerd/config.toml",
                "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".registry]\n  # keep me\n",
            );
        },
        covers: &["containerd-config-path"],
        unfixed: NONE,
        templates: NONE,
    },
    Case {
        name: "containerd 2 (config version 3) without a registry table",
        internal: INT,
        external: EXT,
        root: RootAt::Absolute,
        timeout: "5s",
        probe: Probe::Doctor { offline: true },
        user: None,
        stage: |s| {
            healthy(s);
            containerd_hosts(s);
            s.write("etc/containerd/config.toml", "version = 3\n");
        },
        covers: &["containerd-config-path"],
        unfixed: NONE,
        templates: NONE,
    },
    Case {
        name: "containerd without a config.toml",
        internal: INT,
        external: EXT,
        root: RootAt::Relative,
        timeout: "5s",
        probe: Probe::Doctor { offline: true },
        user: None,
        stage: |s| {
            healthy(s);
            containerd_hosts(s);
        },
        covers: &["containerd-config-path"],
        unfixed: NONE,
        templates: NONE,
    },
    Case {
        name: "a DC/OS node with strict conntrack",
        internal: INT,
        external: EXT,
        root: RootAt::Relative,
        timeout: "5s",
        probe: Probe::Doctor { offline: true },
        user: None,
        stage: |s| {
            healthy(s);
            std::fs::create_dir_all(s.root.join("opt/mesosphere")).unwrap();
            s.write("proc/sys/net/netfilter/nf_conntrack_tcp_be_liberal", "0\n");
        },
        covers: &["conntrack-strict", "conntrack-not-persisted"],
        unfixed: NONE,
        templates: NONE,
    },
];

fn containerd_hosts(s: &Stage) {
    for dir in ["10.31.0.1", "10.31.0.2:5000"] {
        s.write(
            &format!("etc/containerd/certs.d/{dir}/hosts.toml"),
            format!("server = \"https://{dir}\"\n"),
        );
    }
}

const LIVE_CASES: &[Case] = &[
    Case {
        name: "no CA in any store",
        internal: INT,
        external: EXT,
        root: RootAt::ConfigFile,
        timeout: "5s",
        probe: Probe::Doctor { offline: false },
        user: None,
        stage: |s| {
            for dir in ["etc/docker", "etc/containers"] {
                std::fs::create_dir_all(s.root.join(dir)).unwrap();
            }
            s.write(
                "etc/containerd/config.toml",
                "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".registry]\nconfig_path = \"/etc/containerd/certs.d\"\n",
            );
            s.write(
                "etc/buildkit/buildkitd.toml",
                "# my settings\ndebug = true\n",
            );
        },
        covers: &[
            "endpoint-untrusted",
            "certs-d-missing",
            "containerd-hosts-missing",
            "buildkit-no-ca",
        ],
        unfixed: NONE,
        templates: NONE,
    },
    Case {
        name: "a certs.d directory without a CA, an expired CA",
        internal: INT,
        external: EXT,
        root: RootAt::Relative,
        timeout: "5s",
        probe: Probe::Doctor { offline: false },
        user: None,
        stage: |s| {
            for dir in ["10.31.0.1", "10.31.0.1:443"] {
                s.write(
                    &format!("etc/docker/certs.d/{dir}/readme.txt"),
                    "the CA goes here\n",
                );
            }
            let expired = other_ca("printed fixes expired CA", -400, -1);
            s.write("etc/docker/certs.d/10.31.0.2:5000/ca.crt", expired.pem());
        },
        covers: &["certs-d-no-ca", "ca-expired", "endpoint-untrusted"],
        unfixed: NONE,
        templates: NONE,
    },
    Case {
        name: "a CA that expires within 30 days while the registry moved to a new one",
        internal: INT,
        external: EXT,
        root: RootAt::Absolute,
        timeout: "5s",
        probe: Probe::Doctor { offline: false },
        user: None,
        stage: |s| {
            let soon = other_ca("printed fixes old CA", -300, 10).pem();
            for dir in ["10.31.0.1", "10.31.0.1:443"] {
                s.write(&format!("etc/docker/certs.d/{dir}/ca.crt"), &soon);
            }
            s.trust_ca1(&[EXT]);
        },
        covers: &["ca-expires-soon", "endpoint-untrusted"],
        unfixed: NONE,
        templates: NONE,
    },
    Case {
        name: "a CA rotation left half done",
        internal: INT,
        external: EXT,
        root: RootAt::Relative,
        timeout: "5s",
        probe: Probe::Doctor { offline: false },
        user: None,
        stage: |s| {
            // The old CA, then the new one beside it, as a rotation installs them.
            let old = other_ca("printed fixes rotated-out CA", -30, 3000);
            std::fs::write(s.place.work.join("old-ca.crt"), old.pem()).unwrap();
            std::fs::write(s.place.work.join("new-ca.crt"), s.lab().ca1_pem()).unwrap();
            let globals = ["--root", "root", "--internal", INT, "--external", EXT];
            for (file, more) in [("old-ca.crt", None), ("new-ca.crt", Some("--add"))] {
                let mut args: Vec<String> = globals.iter().map(|s| s.to_string()).collect();
                args.extend(
                    ["trust", "--ca-file", file, "--yes", "--target", "docker"]
                        .iter()
                        .map(|s| s.to_string()),
                );
                args.extend(more.map(String::from));
                let out = s.place.tool(&args);
                // The old CA alone does not verify what the registries serve: exit 1.
                assert!(
                    out.status.code().is_some_and(|c| c <= 1),
                    "{}",
                    stderr(&out)
                );
            }
        },
        covers: &["stale-ca"],
        unfixed: NONE,
        templates: NONE,
    },
    Case {
        name: "TLS answers but no registry",
        internal: NOT_REGISTRY,
        external: EXT,
        root: RootAt::Absolute,
        timeout: "5s",
        probe: Probe::Doctor { offline: false },
        user: None,
        stage: |s| s.trust_ca1(&[NOT_REGISTRY, EXT]),
        covers: &["not-a-registry"],
        unfixed: NONE,
        templates: NONE,
    },
    Case {
        name: "the VIP does not answer",
        internal: DOWN_INT,
        external: EXT,
        root: RootAt::Relative,
        timeout: "5s",
        probe: Probe::Doctor { offline: false },
        user: None,
        stage: |s| s.trust_ca1(&[DOWN_INT, EXT]),
        covers: &["endpoint-unreachable"],
        unfixed: NONE,
        templates: NONE,
    },
    Case {
        name: "no endpoint answers",
        internal: DOWN_INT,
        external: DOWN_EXT,
        root: RootAt::Relative,
        timeout: "1s",
        probe: Probe::Doctor { offline: false },
        user: None,
        stage: |s| s.trust_ca1(&[DOWN_INT, DOWN_EXT]),
        covers: &["no-endpoint-reachable", "endpoint-unreachable"],
        unfixed: NONE,
        templates: NONE,
    },
    Case {
        name: "a registry certificate that does not name the endpoint",
        internal: UNNAMED,
        external: EXT,
        root: RootAt::Absolute,
        timeout: "5s",
        probe: Probe::Doctor { offline: false },
        user: None,
        stage: |s| s.trust_ca1(&[UNNAMED, EXT]),
        covers: NONE,
        // Installing a CA cannot fix a name: the reissue advice is the fix.
        unfixed: &["endpoint-untrusted"],
        templates: &["name-mismatch", "missing-endpoint-san"],
    },
];

const TRUST_AND_CHECK_CASES: &[Case] = &[
    Case {
        name: "trust names the traps that make its CA useless",
        internal: INT,
        external: EXT,
        root: RootAt::Relative,
        timeout: "5s",
        probe: Probe::Trust(&["10.31.0.1", "10.31.0.2:5000", "--yes"]),
        user: None,
        stage: |s| {
            s.write("etc/docker/certs.d/10.31.0.2:5000/client.key", "key");
            s.write("etc/docker/certs.d/10.31.0.1/der.crt", s.lab().ca1.der());
            s.write(
                "etc/docker/daemon.json",
                r#"{"insecure-registries": ["10.31.0.2:5000"]}"#,
            );
            s.write(
                "etc/containerd/config.toml",
                "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".registry]\n",
            );
        },
        covers: &[
            "orphan-key",
            "ca-not-pem",
            "insecure-registry",
            "containerd-config-path",
        ],
        unfixed: NONE,
        templates: NONE,
    },
    Case {
        name: "check without the registry's CA",
        internal: INT,
        external: EXT,
        root: RootAt::ConfigFile,
        timeout: "5s",
        probe: Probe::Check(&[]),
        user: None,
        stage: |s| std::fs::create_dir_all(s.root.join("etc/docker")).unwrap(),
        covers: &["unknown-authority"],
        unfixed: NONE,
        templates: NONE,
    },
    Case {
        name: "check of a certificate file that expires soon and names one endpoint",
        internal: INT,
        external: EXT,
        root: RootAt::Relative,
        timeout: "5s",
        probe: Probe::Check(&[
            "--cert",
            "reg/domain.crt",
            "--host",
            "10.31.0.1",
            "--expires-within",
            "30d",
        ]),
        user: None,
        stage: |s| renewal_dir(s, -350, 15),
        covers: &["expires-soon", "expires-within", "missing-endpoint-san"],
        unfixed: NONE,
        templates: NONE,
    },
    Case {
        name: "check of a certificate file for the endpoint it does not name",
        internal: INT,
        external: EXT,
        root: RootAt::Absolute,
        timeout: "5s",
        probe: Probe::Check(&["--cert", "reg/domain.crt", "--host", "10.31.0.2:5000"]),
        user: None,
        stage: |s| renewal_dir(s, -30, 300),
        covers: &["name-mismatch"],
        unfixed: NONE,
        templates: NONE,
    },
    Case {
        name: "check of a live registry whose certificate expires soon",
        internal: INT,
        external: EXT,
        root: RootAt::Relative,
        timeout: "5s",
        probe: Probe::Check(&["10.31.0.9:5000", "--expires-within", "30d"]),
        user: None,
        stage: trust_soon_ca,
        covers: NONE,
        unfixed: NONE,
        // The registry's certificate directory is on another machine: check of a live
        // endpoint says `cert renew --dir DIR` with DIR a word (the file form above runs).
        templates: &["expires-soon", "expires-within"],
    },
    Case {
        name: "check of an expired certificate file",
        internal: INT,
        external: EXT,
        root: RootAt::Relative,
        timeout: "5s",
        probe: Probe::Check(&["--cert", "reg/domain.crt", "--host", "10.31.0.1"]),
        user: None,
        stage: |s| renewal_dir(s, -400, -5),
        covers: &["expired"],
        unfixed: NONE,
        templates: NONE,
    },
];

fn trust_soon_ca(s: &Stage) {
    for dir in certs_d_names(SOON) {
        s.write(
            &format!("etc/docker/certs.d/{dir}/ca.crt"),
            s.lab().soon_ca.pem(),
        );
    }
}

/// `work/reg` as `cert` leaves it, with a leaf for INT alone valid from `from` to `to`
/// days from now; its CA installed for both endpoints.
fn renewal_dir(s: &Stage, from: i64, to: i64) {
    let ca = cert_dir(&s.place.work.join("reg"), &[host_of(INT)], from, to);
    for endpoint in [INT, EXT] {
        for dir in certs_d_names(endpoint) {
            s.write(&format!("etc/docker/certs.d/{dir}/ca.crt"), ca.pem());
        }
    }
}

#[test]
fn host_findings_run_as_printed() {
    // certs-d-no-ca's trust fetches the CA from the registry.
    let lab = Lab::with_registries();
    run_cases(&lab, HOST_CASES);
}

#[test]
fn live_findings_run_as_printed() {
    let lab = Lab::with_registries();
    run_cases(&lab, LIVE_CASES);
}

#[test]
fn trust_warnings_and_check_advice_run_as_printed() {
    let lab = Lab::with_registries();
    run_cases(&lab, TRUST_AND_CHECK_CASES);
}

// ---------------------------------------------------------------------------------------
// The real root: sudo, and `cert`'s next steps.

/// The host paths a missing overlay would change, with /etc/privateregistry (cert's step 1).
fn host_state() -> BTreeMap<PathBuf, String> {
    let mut state = support::runtime::host_state();
    state.insert(
        PathBuf::from("/etc/privateregistry"),
        format!(
            "{:?}",
            std::fs::symlink_metadata("/etc/privateregistry")
                .ok()
                .map(|m| m.len())
        ),
    );
    state
}

/// doctor on the real root (`/`, in the overlays): every fix for our endpoints carries
/// `sudo`, runs as printed through it, and removes its finding; the host is unchanged.
#[test]
fn real_root_fixes_carry_sudo_and_run_as_printed() {
    let host_before = host_state();
    let lab = Lab::with_registries();
    let place = Place::new(&lab, None, true);
    let etc = place.work.join("overlay/etc-upper");
    let pem = lab.ca1_pem();
    for dir in ["10.31.0.1", "10.31.0.2:5000"] {
        support::write_file(&etc.join(format!("docker/certs.d/{dir}/ca.crt")), &pem);
    }
    support::write_file(&etc.join("docker/certs.d/10.31.0.2:5000/client.key"), "key");
    support::write_file(&etc.join("docker/certs.d/10.31.0.1/extra.crt"), "not PEM\n");
    let args = |json: bool| -> Vec<String> {
        let mut a: Vec<String> = ["--internal", INT, "--external", EXT, "doctor", "--offline"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        if json {
            a.extend(["--format".into(), "json".into()]);
        }
        a
    };
    let probe = Probe::Doctor { offline: true };
    // Ours are the findings about our endpoints; the host's own config is not staged here.
    let ours = |findings: Vec<Seen>| -> Vec<Seen> {
        findings
            .into_iter()
            .filter(|f| f.message.contains("10.31.0."))
            .collect()
    };
    let before = ours(probe.findings(&place.tool(&args(true))));
    let codes: BTreeSet<&str> = before.iter().map(|f| f.code.as_str()).collect();
    for code in ["orphan-key", "ca-not-pem", "certs-d-one-form"] {
        assert!(codes.contains(code), "{code}: {before:?}");
    }
    let mut commands: Vec<(String, Vec<Seen>)> = Vec::new();
    for f in &before {
        let Some(fix) = &f.fix else { continue };
        match commands.iter_mut().find(|(c, _)| c == fix) {
            Some((_, fixes)) => fixes.push(f.clone()),
            None => commands.push((fix.clone(), vec![f.clone()])),
        }
    }
    // The text prints the same commands, and folds the trusts into one line.
    let (plain, folded) = doctor_text(&stdout(&place.tool(&args(false))));
    for command in plain.iter().filter(|c| c.contains("10.31.0.")) {
        assert!(
            commands.iter().any(|(c, _)| c == command),
            "text only: {command}"
        );
    }
    for (command, members) in folded {
        let fixes = before
            .iter()
            .filter(|f| members.contains(&f.key()))
            .cloned()
            .collect();
        commands.push((command, fixes));
    }
    let snapshot = place.snapshot();
    for (command, fixes) in &commands {
        assert!(
            command.starts_with("sudo "),
            "the real root needs sudo: {command}"
        );
        place.restore(&snapshot);
        std::fs::write(&place.sudo_log, "").unwrap();
        let out = if asks(command) {
            place.answered(command)
        } else {
            place.sh(command)
        };
        assert_status_for(&out, 0, format_args!("`{command}` as printed"));
        let calls = place.sudo_calls();
        assert_eq!(
            calls.len(),
            command.matches("sudo ").count(),
            "every sudo of `{command}` ran: {calls:?}"
        );
        let after = ours(probe.findings(&place.tool(&args(true))));
        for fixed in fixes {
            assert!(
                !after.iter().any(|f| f.key() == fixed.key()),
                "still reported after `{command}`: {fixed:?}"
            );
        }
        println!("real root: {command}");
    }
    drop(place);
    drop(lab);
    assert_eq!(host_state(), host_before, "the host changed");
}

/// `cert`'s next steps, on the machine where it ran (the real root, in the overlays): put
/// the pair where the registry reads it, print the Marathon app for these endpoints, trust
/// the CA. Each runs as printed, sudo where it says so, and does what it says.
#[test]
fn cert_next_steps_run_as_printed() {
    let host_before = host_state();
    let lab = Lab::new();
    let place = Place::new(&lab, None, true);
    let globals: Vec<String> = ["--internal", CERT_INT, "--external", CERT_EXT]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut args = globals.clone();
    args.extend(["cert", "--out", "certs"].iter().map(|s| s.to_string()));
    let out = place.tool(&args);
    assert_status_for(&out, 0, "cert");
    let text = stdout(&out);
    let certs = place.work.join("certs");

    // The JSON form prints the same trust command (for another directory).
    let mut json_args = globals.clone();
    json_args.extend(
        ["cert", "--out", "certs-json", "--format", "json"]
            .iter()
            .map(|s| s.to_string()),
    );
    let report = support::json(&place.tool(&json_args));
    let trust_json = report["trust_command"].as_str().unwrap().to_string();

    // The steps: the indented command lines (not the Marathon JSON), and the commands in
    // backquotes.
    let steps_text = text.split("Next steps:").nth(1).expect("next steps");
    let mut steps: Vec<String> = steps_text
        .lines()
        .filter_map(|l| l.strip_prefix("       "))
        .filter(|l| !l.starts_with('{') && !l.starts_with(' '))
        .map(String::from)
        .collect();
    steps.extend(steps_text.lines().flat_map(backquoted_commands));
    let [pair, trust, snippet] = steps.as_slice() else {
        panic!("three commands: {steps:?}\n{text}")
    };
    let trust_for = |dir: &str, sha256: &str| {
        format!(
            "sudo docker-dcosreg --internal {CERT_INT} --external {CERT_EXT} trust --ca-file {} --fingerprint {sha256}",
            place.work.join(dir).join("ca.crt").display()
        )
    };
    let sha256 = text
        .lines()
        .find_map(|l| l.strip_prefix("CA SHA-256 fingerprint: "))
        .expect("fingerprint");
    assert_eq!(*trust, trust_for("certs", sha256));
    assert_eq!(
        trust_json,
        trust_for("certs-json", report["ca_sha256"].as_str().unwrap())
    );

    // 1. The pair where the registry's agent reads it (sudo: the agent's real /etc).
    let out = place.sh(pair);
    assert_status_for(&out, 0, format_args!("`{pair}` as printed"));
    let placed = place.work.join("overlay/etc-upper/privateregistry/certs");
    assert_eq!(
        std::fs::read(placed.join("domain.crt")).unwrap(),
        std::fs::read(certs.join("domain.crt")).unwrap()
    );
    assert_eq!(support::mode(&placed.join("domain.key")), 0o600);
    assert_eq!(place.sudo_calls().len(), 3, "{:?}", place.sudo_calls());

    // 2. The Marathon app for the endpoints the certificate names.
    assert!(!snippet.contains("sudo"), "{snippet}");
    let out = place.sh(snippet);
    assert_status_for(&out, 0, format_args!("`{snippet}` as printed"));
    assert!(
        stdout(&out).contains("\"10.31.0.7:443\"") && !stdout(&out).contains("192.168."),
        "{}",
        stdout(&out)
    );

    // The registry serves what was placed; before step 3 Docker here refuses it.
    lab.serve(
        CERT_INT,
        &placed.join("domain.crt"),
        &placed.join("domain.key"),
        "",
    );
    lab.serve(
        CERT_EXT,
        &placed.join("domain.crt"),
        &placed.join("domain.key"),
        "",
    );
    let mut check = globals.clone();
    check.extend(["check", "--format", "json"].iter().map(|s| s.to_string()));
    let statuses = |out: &Output| -> Vec<String> {
        support::json(out)["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["status"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(statuses(&place.tool(&check)), ["untrusted", "untrusted"]);

    // 3. Trust the CA (sudo on the real root, the certificate's endpoints).
    assert!(trust.starts_with("sudo docker-dcosreg "), "{trust}");
    let calls = place.sudo_calls().len();
    let out = place.sh(trust);
    assert_status_for(&out, 0, format_args!("`{trust}` as printed"));
    assert_eq!(place.sudo_calls().len(), calls + 1);
    assert_eq!(statuses(&place.tool(&check)), ["trusted", "trusted"]);
    println!("cert: {pair}\ncert: {snippet}\ncert: {trust}");

    drop(place);
    lab.stop(CERT_INT);
    lab.stop(CERT_EXT);
    assert_eq!(host_state(), host_before, "the host changed");
}

// ---------------------------------------------------------------------------------------
// Coverage: every code that carries a fix in src/ is accounted for here.

/// The finding codes whose construction in src/ carries a fix: `Finding::new("code", …)`
/// with `.fix(…)` before the next finding or function; x509's `finding("code", …, fix)`
/// helper and its verdict table `("code", fix)`; `refused(msg, "code", fix, …)`; and a
/// `Finding { code: "code", … fix: Some(…) }` literal.
fn codes_with_a_fix() -> BTreeMap<String, String> {
    let new = regex::Regex::new(r#"Finding::new\(\s*"([a-z0-9-]+)""#).unwrap();
    let boundary = regex::Regex::new(r"Finding::new\(|\n\s*(pub(\([a-z]+\))? )?fn ").unwrap();
    let helper = regex::Regex::new(r#"\bfinding\(\s*"([a-z0-9-]+)""#).unwrap();
    let verdict = regex::Regex::new(r#"=> \(\s*"([a-z0-9-]+)","#).unwrap();
    let refused = regex::Regex::new(r#"\brefused\(\s*\w+,\s*"([a-z0-9-]+)""#).unwrap();
    let literal =
        regex::Regex::new(r#"(?s)Finding \{\s*code: "([a-z0-9-]+)",[^}]*fix: Some"#).unwrap();
    let tests = regex::Regex::new(r"#\[cfg\(test\)\]\s*(#\[[^\]]*\]\s*)*mod tests").unwrap();
    let mut codes = BTreeMap::new();
    let mut stack = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("src")];
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        if path.extension().is_none_or(|x| x != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        // Unit tests build findings of their own.
        let text = match tests.find(&text) {
            Some(m) => &text[..m.start()],
            None => &text[..],
        };
        let file = path.display().to_string();
        for m in new.captures_iter(text) {
            let start = m.get(0).unwrap().end();
            let end = boundary
                .find(&text[start..])
                .map_or(text.len(), |b| start + b.start());
            if text[start..end].contains(".fix(") {
                codes.insert(m[1].to_string(), file.clone());
            }
        }
        let verdict_fn = text.find("fn verdict_finding").map(|at| {
            let rest = &text[at..];
            &rest[..boundary
                .find(&rest[3..])
                .map_or(rest.len(), |b| b.start() + 3)]
        });
        for (re, body) in [
            (&helper, Some(text)),
            (&verdict, verdict_fn),
            (&refused, Some(text)),
            (&literal, Some(text)),
        ] {
            for m in body.into_iter().flat_map(|b| re.captures_iter(b)) {
                codes.insert(m[1].to_string(), file.clone());
            }
        }
    }
    codes
}

#[test]
fn every_fix_carrying_code_is_run_here() {
    let codes = codes_with_a_fix();
    // The extraction still sees each way a fix is attached.
    for known in [
        "orphan-key",
        "certs-d-without-port",
        "stale-ca",
        "unknown-authority",
        "expires-soon",
        "malformed-certificate",
        "unreachable",
        "expires-within",
    ] {
        assert!(
            codes.contains_key(known),
            "{known} not found in src/: {codes:?}"
        );
    }
    let mut covered: BTreeSet<&str> = BTreeSet::new();
    for case in HOST_CASES
        .iter()
        .chain(LIVE_CASES)
        .chain(TRUST_AND_CHECK_CASES)
    {
        covered.extend(case.covers);
    }
    let mut missing = Vec::new();
    for (code, file) in &codes {
        let Some((_, k)) = KINDS.iter().find(|(c, _)| c == code) else {
            missing.push(format!("{code} ({file}): not in KINDS"));
            continue;
        };
        if let Kind::Advice(why) | Kind::Elsewhere(why) = k {
            assert!(!why.is_empty(), "{code}: say why");
            println!("{code}: not run here: {why}");
        }
        let needs_case = matches!(k, Kind::Runs | Kind::Shows { .. });
        if needs_case && !covered.contains(code.as_str()) {
            missing.push(format!("{code} ({file}): no case runs its printed fix"));
        }
    }
    for (code, _) in KINDS {
        if !codes.contains_key(*code) {
            missing.push(format!(
                "{code}: in KINDS but no longer carries a fix in src/"
            ));
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}
