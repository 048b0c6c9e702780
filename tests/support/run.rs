//! The one way tests run the binary: [`Dcosreg`], a builder over the binary under test with
//! an environment scrubbed of everything that would reach it from the machine (endpoints,
//! root, config, token, credentials, proxies, Docker context), a fresh `HOME`, stdin closed
//! unless given, and a deadline. [`assert_status`] is the one exit-status assertion.

use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

/// Variables the binary reads from the environment: removed, so that a test sets only
/// what it means to (see docs/cli.md for each).
const SCRUBBED: &[&str] = &[
    "DCOSREG_INTERNAL",
    "DCOSREG_EXTERNAL",
    "DCOSREG_ROOT",
    "DCOSREG_TIMEOUT",
    "DCOSREG_FALLBACK_DELAY",
    "DCOSREG_CONFIG",
    "DCOSREG_USERNAME",
    "DCOSREG_PASSWORD",
    "DCOSREG_PASSWORD_FILE",
    "DCOS_ACS_TOKEN",
    "DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND",
    "DOCKER_CONTEXT",
    "http_proxy",
    "https_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "all_proxy",
];

/// How long one run may take before it is killed.
const DEADLINE: Duration = Duration::from_secs(120);

/// The binary under test: `DCOSREG_TEST_BIN` when set (e.g. the glibc 2.17 build in
/// dist/, as `./dist.sh --check` runs the CLI tests), else the one cargo built.
pub fn bin_path() -> PathBuf {
    match std::env::var_os("DCOSREG_TEST_BIN") {
        Some(path) if !path.is_empty() => PathBuf::from(path),
        _ => PathBuf::from(env!("CARGO_BIN_EXE_docker-dcosreg")),
    }
}

/// `docker-dcosreg ARGS` with the scrubbed environment, waited for: the common case.
pub fn dcosreg<S: AsRef<OsStr>>(args: &[S]) -> Output {
    Dcosreg::new(args).run()
}

/// One run of the binary under test, built up and then [`run`](Dcosreg::run) (or
/// [`spawn`](Dcosreg::spawn)ed).
pub struct Dcosreg {
    command: Command,
    home: Option<tempfile::TempDir>,
    stdin: Option<Vec<u8>>,
    limit: Duration,
}

impl Dcosreg {
    /// `docker-dcosreg ARGS`.
    pub fn new<S: AsRef<OsStr>>(args: impl IntoIterator<Item = S>) -> Dcosreg {
        Dcosreg::via(Command::new(bin_path())).args(args)
    }

    /// `command`, which runs the binary another way (`nsenter … BIN` into a runtime's
    /// namespace, `script -qec '…'` on a terminal, the credential-helper link): it gets
    /// the same environment, stdin and deadline.
    pub fn via(mut command: Command) -> Dcosreg {
        let home = tempfile::tempdir().expect("temporary HOME");
        for name in SCRUBBED {
            command.env_remove(name);
        }
        command
            .env("HOME", home.path())
            .env("XDG_CONFIG_HOME", home.path().join(".config"));
        Dcosreg {
            command,
            home: Some(home),
            stdin: None,
            limit: DEADLINE,
        }
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Dcosreg {
        self.command.arg(arg);
        self
    }

    /// More arguments.
    pub fn args<S: AsRef<OsStr>>(mut self, args: impl IntoIterator<Item = S>) -> Dcosreg {
        self.command.args(args);
        self
    }

    pub fn env(mut self, name: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Dcosreg {
        self.command.env(name, value);
        self
    }

    pub fn envs<K: AsRef<OsStr>, V: AsRef<OsStr>>(
        mut self,
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Dcosreg {
        self.command.envs(vars);
        self
    }

    pub fn env_remove(mut self, name: impl AsRef<OsStr>) -> Dcosreg {
        self.command.env_remove(name);
        self
    }

    /// `HOME` (and `XDG_CONFIG_HOME` below it) at `dir` instead of a fresh directory.
    pub fn home(mut self, dir: &Path) -> Dcosreg {
        self.command
            .env("HOME", dir)
            .env("XDG_CONFIG_HOME", dir.join(".config"));
        self.home = None;
        self
    }

    pub fn current_dir(mut self, dir: &Path) -> Dcosreg {
        self.command.current_dir(dir);
        self
    }

    /// What the binary reads on stdin (closed when not given).
    pub fn stdin(mut self, input: impl AsRef<[u8]>) -> Dcosreg {
        self.stdin = Some(input.as_ref().to_vec());
        self
    }

    /// Kill the run after `limit` (default two minutes).
    pub fn timeout(mut self, limit: Duration) -> Dcosreg {
        self.limit = limit;
        self
    }

    /// The command as built, for what the builder does not say (stdout to a given pipe…).
    pub fn command(&mut self) -> &mut Command {
        &mut self.command
    }

    /// Run to the end (or the deadline) and collect the output.
    pub fn run(self) -> Output {
        let limit = self.limit;
        let (mut child, _home) = self.spawn_piped();
        wait_with_deadline(&mut child, limit)
    }

    /// Start it with stdout and stderr piped; keep the returned directory (the temporary
    /// HOME, if any) until the child has finished.
    pub fn spawn_piped(mut self) -> (Child, Option<tempfile::TempDir>) {
        self.command.stdout(Stdio::piped()).stderr(Stdio::piped());
        self.spawn()
    }

    /// Start it with stdout and stderr as [`command`](Dcosreg::command) set them
    /// (inherited by default); stdin is written on a thread of its own.
    pub fn spawn(mut self) -> (Child, Option<tempfile::TempDir>) {
        self.command.stdin(if self.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        let mut child = self.command.spawn().expect("run docker-dcosreg");
        if let Some(input) = self.stdin {
            let mut pipe = child.stdin.take().expect("stdin");
            std::thread::spawn(move || {
                let _ = pipe.write_all(&input);
            });
        }
        (child, self.home)
    }
}

/// Run `command` with stdin closed and stdout and stderr piped; kill it after `limit`.
pub fn output_within(command: &mut Command, limit: Duration) -> Output {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("run {command:?}: {e}"));
    wait_with_deadline(&mut child, limit)
}

/// Kill `child` if it runs longer than `limit`; its stdout and stderr (when piped) are read
/// while it runs, so a large output never blocks it.
pub fn wait_with_deadline(child: &mut Child, limit: Duration) -> Output {
    use std::io::Read;
    fn drain(pipe: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<Vec<u8>> {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    }
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let deadline = std::time::Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if std::time::Instant::now() >= deadline => {
                let _ = child.kill();
                break;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => panic!("wait: {e}"),
        }
    }
    let status = child.wait().expect("wait");
    Output {
        status,
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
    }
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// stdout as JSON; on failure the message shows the status, stdout and stderr.
#[track_caller]
pub fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}); {:?}\nstdout:\n{}\nstderr:\n{}",
            out.status,
            stdout(out),
            stderr(out)
        )
    })
}

/// The exit status is `code` (0 is success); on failure the message shows stdout and
/// stderr.
#[track_caller]
pub fn assert_status(out: &Output, code: i32) {
    assert_status_for(out, code, "");
}

/// [`assert_status`], the message also naming `what` (the case of a loop).
#[track_caller]
pub fn assert_status_for(out: &Output, code: i32, what: impl std::fmt::Display) {
    assert!(
        out.status.code() == Some(code),
        "{what}{}expected exit status {code}, got {:?}\nstdout:\n{}\nstderr:\n{}",
        if what.to_string().is_empty() {
            ""
        } else {
            ": "
        },
        out.status,
        stdout(out),
        stderr(out)
    );
}
