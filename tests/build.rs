//! `build`: the parts that need no daemon (the plan, the Dockerfile left alone, the one-line
//! errors for no docker CLI and no daemon). The builds themselves run on the test daemon in
//! tests/build_runtime.rs.
mod support;

use std::fs;
use std::path::Path;

use support::{assert_status, assert_status_for, dcosreg, json, stderr, stdout, Dcosreg};

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
    ] {
        let mut full = vec!["--internal", VIP, "--external", LB];
        full.extend(args);
        let out = dcosreg(&full);
        assert_status_for(&out, 2, format_args!("{full:?}"));
        assert!(stderr(&out).contains(needle), "{full:?}: {}", stderr(&out));
    }
}
