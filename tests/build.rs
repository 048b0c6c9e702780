//! `build`: the parts that need no daemon (the plan, the Dockerfile left alone, the one-line
//! errors for no docker CLI and no daemon). The builds themselves run on the test daemon in
//! tests/build_runtime.rs.
mod support;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{
    assert_status, assert_status_for, dcosreg, json, mode, stderr, stdout, wait_with_deadline,
    Dcosreg,
};

const VIP: &str = "192.168.0.1";
const LB: &str = "192.168.1.50:5000";

fn project(dir: &Path) {
    fs::write(
        dir.join("Dockerfile"),
        "ARG TAG=1\nFROM 192.168.0.1/base/app:${TAG}\nCOPY --from=192.168.0.1:443/tools/x:2 /x /x\nRUN true\n",
    )
    .unwrap();
    fs::write(dir.join("Dockerfile.dockerignore"), "secret\n").unwrap();
}

#[test]
fn dry_run_plans_pulls_and_the_build_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let before = fs::read(dir.path().join("Dockerfile")).unwrap();
    let ctx = dir.path().to_str().unwrap();
    let out = dcosreg(&[
        "--internal",
        VIP,
        "--external",
        LB,
        "--format",
        "json",
        "build",
        "--to",
        "external",
        "--dry-run",
        "-t",
        "app:1",
        "--build-arg",
        "TAG=7",
        ctx,
    ]);
    assert_status(&out, 0);
    let plan = json(&out);
    assert_eq!(plan["from"], VIP);
    assert_eq!(plan["to"], LB);
    assert_eq!(plan["rewritten"], true);
    assert_eq!(
        plan["pulls"],
        serde_json::json!([
            ["pull", "192.168.1.50:5000/base/app:7"],
            ["pull", "192.168.1.50:5000/tools/x:2"]
        ])
    );
    let build: Vec<String> = serde_json::from_value(plan["build"].clone()).unwrap();
    // Every argument kept in order; only --file <copy> is added before the context.
    assert_eq!(build[..5], ["build", "-t", "app:1", "--build-arg", "TAG=7"]);
    assert_eq!(build[5], "--file");
    assert!(build[6].ends_with("/Dockerfile"), "{build:?}");
    assert_eq!(build[7], ctx);
    assert_eq!(fs::read(dir.path().join("Dockerfile")).unwrap(), before);

    // Nothing to change: docker build gets the arguments exactly as given.
    let df = dir.path().join("Dockerfile");
    let file_arg = format!("--file={}", df.display());
    let out = dcosreg(&[
        "--internal",
        VIP,
        "--external",
        LB,
        "build",
        "--to",
        "internal",
        "--dry-run",
        &file_arg,
        "--no-cache",
        ctx,
    ]);
    assert_status(&out, 0);
    let text = stdout(&out);
    assert!(
        text.trim_end()
            .ends_with(&format!("docker build {file_arg} --no-cache {ctx}")),
        "{text}"
    );
    // The references already name the target: pulled as written, no copy.
    assert!(
        text.starts_with(
            "docker pull 192.168.0.1/base/app:1\ndocker pull 192.168.0.1:443/tools/x:2\n"
        ),
        "{text}"
    );
}

#[test]
fn no_docker_cli_and_no_daemon_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let ctx = dir.path().to_str().unwrap();
    let empty = tempfile::tempdir().unwrap();
    let run = |envs: &[(&str, &str)]| {
        Dcosreg::new([
            "--internal",
            VIP,
            "--external",
            LB,
            "--timeout",
            "2s",
            "build",
            "--to",
            "external",
            "-t",
            "x",
            ctx,
        ])
        .envs(envs.iter().copied())
        .run()
    };
    let out = run(&[("PATH", empty.path().to_str().unwrap())]);
    assert_status(&out, 2);
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("no docker CLI"), "{err}");

    // A socket path nobody listens on.
    let sock = format!("unix://{}/none.sock", empty.path().display());
    let out = run(&[
        ("DOCKER_HOST", &sock),
        ("DOCKER_CONFIG", empty.path().to_str().unwrap()),
    ]);
    assert_status(&out, 2);
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("Docker daemon is not reachable"), "{err}");
    assert!(err.contains("none.sock"), "{err}");
}

#[test]
fn input_errors_exit_2_before_any_docker_call() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = dir.path().to_str().unwrap();
    for (args, needle) in [
        (
            vec!["build", "--to", "external", ctx],
            "cannot read the Dockerfile",
        ),
        (
            vec!["build", "--to", "external", "https://example.invalid/r.git"],
            "cannot rewrite",
        ),
        (
            vec!["build", "--to", "external", "-t", "x"],
            "needs a context",
        ),
        (
            vec!["build", "--to", "external", "--format", "json", ctx],
            "--dry-run",
        ),
        // Our flags after docker's arguments: the mistake named, not "two contexts".
        (
            vec!["build", "-t", "app", "--to", "external", ctx],
            "--to external came after docker build's arguments",
        ),
    ] {
        let mut full = vec!["--internal", VIP, "--external", LB];
        full.extend(args);
        let out = dcosreg(&full);
        assert_status_for(&out, 2, format_args!("{full:?}"));
        assert!(stderr(&out).contains(needle), "{full:?}: {}", stderr(&out));
    }
    // The command it prints is the one that runs, in the form it was started in.
    let out = dcosreg(&["dcosreg", "build", "-t", "app", ".", "--dry-run"]);
    assert_status(&out, 2);
    assert!(
        stderr(&out).ends_with("come first: docker dcosreg build --dry-run -t app .\n"),
        "{}",
        stderr(&out)
    );
}

/// A fake `docker` first on PATH: `version` and `pull` succeed; `build` writes its
/// arguments, one a line, to `$FAKE_DOCKER_LOG`, then `started`, and waits up to 60 s
/// for a signal, which it writes down by name before it exits as a shell would.
fn fake_docker(bin: &Path) {
    fs::create_dir_all(bin).unwrap();
    let script = r#"#!/bin/sh
case "$1" in
version|pull) exit 0 ;;
esac
log=$FAKE_DOCKER_LOG
for a in "$@"; do printf '%s\n' "$a"; done > "$log.args"
sleep 60 &
sleeper=$!
for sig in INT TERM HUP; do
    trap "echo $sig >> '$log'; kill $sleeper; exit 1" "$sig"
done
echo $$ > "$log.pid"
echo started >> "$log"
wait $sleeper
echo timeout >> "$log"
"#;
    let path = bin.join("docker");
    fs::write(&path, script).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
}

/// Wait (at most 30 s) until `log` has a line `line`.
fn wait_for_line(log: &Path, line: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if fs::read_to_string(log).is_ok_and(|t| t.lines().any(|l| l == line)) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("{} never said {line:?}", log.display());
}

/// `build` of a private (0600) Dockerfile that names the VIP, with the fake docker on
/// PATH and TMPDIR in a world-traversable directory of the test's; returns the running
/// tool, its temporary HOME, and the work directory (log, TMPDIR, project).
fn start_private_build() -> (
    std::process::Child,
    Option<tempfile::TempDir>,
    tempfile::TempDir,
) {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    fs::set_permissions(w, fs::Permissions::from_mode(0o755)).unwrap();
    fake_docker(&w.join("bin"));
    let tmp = w.join("tmp");
    fs::create_dir(&tmp).unwrap();
    fs::set_permissions(&tmp, fs::Permissions::from_mode(0o1777)).unwrap();
    let ctx = w.join("ctx");
    fs::create_dir(&ctx).unwrap();
    project(&ctx);
    fs::set_permissions(ctx.join("Dockerfile"), fs::Permissions::from_mode(0o600)).unwrap();
    fs::set_permissions(
        ctx.join("Dockerfile.dockerignore"),
        fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    let path = format!(
        "{}:{}",
        w.join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let (child, home) = Dcosreg::new([
        "--internal",
        VIP,
        "--external",
        LB,
        "build",
        "--to",
        "external",
        "-t",
        "app:1",
        ctx.to_str().unwrap(),
    ])
    .env("PATH", path)
    .env("TMPDIR", &tmp)
    .env("FAKE_DOCKER_LOG", w.join("docker.log"))
    .spawn_piped();
    wait_for_line(&w.join("docker.log"), "started");
    (child, home, work)
}

/// The `--file` docker build was given: the rewritten copy.
fn copy_given(work: &Path) -> PathBuf {
    let args = fs::read_to_string(work.join("docker.log.args")).unwrap();
    let args: Vec<&str> = args.lines().collect();
    let at = args.iter().position(|a| *a == "--file").expect("--file");
    PathBuf::from(args[at + 1])
}

/// `cat PATH` as uid/gid 65534 (nobody), no supplementary groups: did it read it?
fn nobody_reads(path: &Path) -> bool {
    support::require_tool("setpriv");
    Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "cat"])
        .arg(path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success()
}

// The rewritten copy of a private Dockerfile is private from its first byte: another user
// cannot read it (nor its ignore file) while the build runs.
#[test]
fn build_keeps_the_copy_of_a_private_dockerfile_private() {
    let (mut child, _home, work) = start_private_build();
    let copy = copy_given(work.path());
    let dir = copy.parent().unwrap();
    assert!(
        copy.starts_with(work.path().join("tmp")),
        "{}",
        copy.display()
    );
    // The probe can read what is readable: a world-readable file next to the copy's directory.
    let control = work.path().join("tmp/control");
    fs::write(&control, "x").unwrap();
    fs::set_permissions(&control, fs::Permissions::from_mode(0o644)).unwrap();
    assert!(nobody_reads(&control), "the probe itself works");
    assert!(
        fs::read_to_string(&copy).unwrap().contains(LB),
        "the copy is the rewritten file"
    );
    let ignore = dir.join("Dockerfile.dockerignore");
    assert!(ignore.is_file(), "the ignore file is copied too");
    for file in [&copy, &ignore] {
        assert!(!nobody_reads(file), "another user read {}", file.display());
        assert_eq!(mode(file), 0o600, "{}", file.display());
    }
    assert_eq!(mode(dir), 0o700, "{}", dir.display());
    let docker = fs::read_to_string(work.path().join("docker.log.pid")).unwrap();
    for pid in [child.id().to_string(), docker.trim().to_string()] {
        let _ = Command::new("kill").arg(pid).status();
    }
    let _ = child.wait();
}

// Ctrl-C, SIGTERM or SIGHUP while docker runs: docker gets the signal, the copy is removed,
// and the exit status is 128 + the signal's number, as a shell reports it.
#[test]
fn a_signal_reaches_docker_and_removes_the_copy() {
    for (name, number) in [("TERM", 15), ("INT", 2), ("HUP", 1)] {
        let (mut child, _home, work) = start_private_build();
        let copy = copy_given(work.path());
        assert!(copy.is_file(), "{name}: the copy exists while docker runs");
        let sent = Command::new("kill")
            .args([format!("-{name}"), child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        let out = wait_with_deadline(&mut child, Duration::from_secs(30));
        assert_status_for(&out, 128 + number, name);
        let log = fs::read_to_string(work.path().join("docker.log")).unwrap();
        assert_eq!(
            log.lines().collect::<Vec<_>>(),
            ["started", name],
            "{name}: docker got the signal once"
        );
        assert!(!copy.exists(), "{name}: {} is left behind", copy.display());
        let left: Vec<_> = fs::read_dir(work.path().join("tmp"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(left.is_empty(), "{name}: left in TMPDIR: {left:?}");
    }
}

/// The docker CLI whose flag parser judges the command lines `build` passes on: the newer
/// one the machine has, else Debian's.
fn real_docker() -> PathBuf {
    ["/usr/local/bin/docker", "/usr/bin/docker"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("no docker CLI: run .ci/run (it installs docker.io)"))
}

/// A fake `docker` first on PATH: `version` and `pull` succeed; `build` writes its
/// arguments, one a line, to `$FAKE_DOCKER_LOG.args` and then execs the real CLI with them.
fn recording_docker(bin: &Path, real: &Path) {
    fs::create_dir_all(bin).unwrap();
    let script = format!(
        r#"#!/bin/sh
case "$1" in
version|pull) exit 0 ;;
esac
for a in "$@"; do printf '%s\n' "$a"; done > "$FAKE_DOCKER_LOG.args"
exec '{}' "$@"
"#,
        real.display()
    );
    let path = bin.join("docker");
    fs::write(&path, script).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
}

/// Whether the real CLI's `build` is buildx (whose flags the legacy builder lacks).
fn has_buildx(real: &Path) -> bool {
    Command::new(real)
        .args(["buildx", "version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

// Valid `docker build` command lines stay valid: every argument reaches docker as given,
// in order, and only `--file <copy>` is added, before the context (and before `--`). The
// real docker CLI parses what `build` ran, pointed at a daemon that is not there: it must
// fail to connect, never reject the command line.
#[test]
fn build_passes_valid_command_lines_through_to_the_real_docker_parser() {
    let real = real_docker();
    let buildx = has_buildx(&real);
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    recording_docker(&w.join("bin"), &real);
    let ctx = w.join("ctx");
    fs::create_dir(&ctx).unwrap();
    project(&ctx);
    let c = ctx.to_str().unwrap().to_string();
    let df = ctx.join("Dockerfile").to_str().unwrap().to_string();
    let path = format!(
        "{}:{}",
        w.join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    // (arguments as given, where `--file <copy>` goes (None: -f given, replaced in place),
    // whether only buildx knows a flag in it.)
    let cases: Vec<(Vec<&str>, Option<usize>, bool)> = vec![
        (vec!["-t", "x", "--", &c], Some(2), false),
        (vec!["-qt", "app", &c], Some(2), false),
        (vec!["-tapp", "-q", &c], Some(2), false),
        (vec!["-t=app", &c], Some(1), false),
        (vec!["--rm=false", "-q", "--no-cache", &c], Some(3), false),
        (vec![&c, "-t", "x", "--no-cache"], Some(0), false),
        (
            vec!["-c", "512", "-m", "1g", "--cpu-shares=2", &c],
            Some(5),
            false,
        ),
        (
            vec!["--label", "a=b", "--pull", "--squash=false", &c],
            Some(4),
            false,
        ),
        (vec!["-q", "-f", &df, &c], None, false),
        (vec!["-qf", &df, &c], None, false),
        (vec!["--file", &df, "--", &c], None, false),
        (vec!["--no-cache-filter", "base", &c], Some(2), true),
        (vec!["--check", "-t", "x", &c], Some(3), true),
        (vec!["-D", "--builder", "b", "--load", &c], Some(4), true),
        (vec!["--future-flag", "value", &c], Some(2), true),
        (vec!["--future-switch", &c], Some(1), true),
    ];
    for (given, insert_at, buildx_only) in cases {
        let log = w.join("docker.log");
        let _ = fs::remove_file(w.join("docker.log.args"));
        let out = Dcosreg::new([
            "--internal",
            VIP,
            "--external",
            LB,
            "build",
            "--to",
            "external",
        ])
        .args(&given)
        .env("PATH", &path)
        .env("FAKE_DOCKER_LOG", &log)
        .env("DOCKER_HOST", "unix:///nonexistent.sock")
        .env("DOCKER_CONFIG", w.join("docker-config"))
        .run();
        let err = stderr(&out);
        let Ok(args) = fs::read_to_string(w.join("docker.log.args")) else {
            panic!("{given:?}: docker build never ran: {err}");
        };
        let ran: Vec<&str> = args.lines().collect();
        assert_eq!(ran.first(), Some(&"build"), "{given:?}: {ran:?}");
        let ran = &ran[1..];
        // The copy docker was given: the value of the last -f/--file.
        let copy = ran
            .iter()
            .rposition(|a| *a == "--file" || *a == "-f" || *a == "-qf")
            .map(|at| ran[at + 1])
            .unwrap_or_else(|| panic!("{given:?}: no --file in {ran:?}"));
        assert!(
            copy.ends_with("/Dockerfile") && copy != df,
            "{given:?}: {ran:?}"
        );
        let mut expected: Vec<&str> = given.clone();
        match insert_at {
            Some(at) => {
                expected.insert(at, copy);
                expected.insert(at, "--file");
            }
            None => {
                let at = expected.iter().position(|a| *a == df).unwrap();
                expected[at] = copy;
            }
        }
        assert_eq!(ran, expected, "{given:?}");
        if buildx_only && !buildx {
            // The legacy builder does not know the flag: it says so about that flag alone.
            let unknown = err
                .lines()
                .find(|l| l.contains("unknown flag") || l.contains("unknown shorthand"))
                .unwrap_or_else(|| panic!("{given:?}: {err}"));
            assert!(
                given
                    .iter()
                    .any(|g| unknown.ends_with(g.split('=').next().unwrap()))
                    || unknown.contains("'D'"),
                "{given:?}: {unknown}"
            );
            continue;
        }
        assert!(
            err.contains("Cannot connect to the Docker daemon") || err.contains("nonexistent.sock"),
            "{given:?}: docker rejected {ran:?}: {err}"
        );
        assert!(!err.contains("Usage:"), "{given:?}: {err}");
    }
}
