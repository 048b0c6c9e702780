//! `build` on a real dockerd (tests/support/runtime.rs): one endpoint down and the other up,
//! both ways round. The build gets the rewritten Dockerfile, the base image is pulled
//! through the daemon first (so BuildKit needs no daemon restart after `trust`), every
//! other argument reaches `docker build` (`-t`, `-f`, `--build-arg`, `--network`), a
//! per-Dockerfile `.dockerignore` still applies, and docker build's exit status comes back.

mod support;

use std::fs;
use std::path::Path;
use std::process::Output;
use std::time::Duration;

use support::runtime::{runtime_with_app, Runtime, DOCKER_CLI};
use support::{assert_status, assert_status_for, output_within, stderr, stdout};

/// `docker-dcosreg ARGS` in the daemons' namespace with `docker` on PATH being `docker`
/// (the Debian CLI when `debian_cli`, which builds with BuildKit without buildx).
fn dcosreg(rt: &Runtime, debian_cli: bool, envs: &[(&str, &str)], args: &[&str]) -> Output {
    let bin = rt.dir().join("debian-cli");
    fs::create_dir_all(&bin).unwrap();
    let _ = std::os::unix::fs::symlink(DOCKER_CLI, bin.join("docker"));
    let path = std::env::var("PATH").unwrap_or_default();
    let path = if debian_cli {
        format!("{}:{path}", bin.display())
    } else {
        path
    };
    rt.dcosreg_in(args)
        .env("DOCKER_CONFIG", rt.dir().join("docker-client"))
        .env("PATH", path)
        .envs(envs.iter().copied())
        .timeout(Duration::from_secs(180))
        .run()
}

fn image_exists(rt: &Runtime, image: &str) -> bool {
    rt.docker_out(&["image", "inspect", image], Duration::from_secs(30))
        .status
        .success()
}

/// A project whose Dockerfile names the VIP through an ARG, copies the context and fails
/// when `secret.txt` got in (the per-Dockerfile ignore file keeps it out).
fn project(dir: &Path, base_ref: &str) {
    fs::create_dir_all(dir.join("ci")).unwrap();
    fs::write(dir.join("secret.txt"), "do not send\n").unwrap();
    fs::write(dir.join("keep.txt"), "kept\n").unwrap();
    fs::write(
        dir.join("ci/app.Dockerfile"),
        format!(
            "ARG TAG=missing\nFROM {base_ref}:${{TAG}}\nCOPY . /ctx/\nRUN test -e /ctx/keep.txt && test ! -e /ctx/secret.txt\n"
        ),
    )
    .unwrap();
    fs::write(dir.join("ci/app.Dockerfile.dockerignore"), "secret.txt\n").unwrap();
}

#[test]
fn build_reaches_the_endpoint_that_answers_without_a_daemon_restart() {
    let (rt, mut reg) = runtime_with_app();
    let ca = reg.ca_dir.join("ca.crt");
    let trust = rt.dcosreg(&[
        "--internal",
        &reg.vip,
        "--external",
        &reg.mlb,
        "trust",
        "--ca-file",
        ca.to_str().unwrap(),
        "--fingerprint",
        &reg.ca_fingerprint(),
        "--target",
        "docker",
    ]);
    assert_status_for(&trust, 0, "trust");
    let dockerd = rt.dockerd_pid();

    // Marathon-LB down (a namespace port nobody answers), the VIP up: a Dockerfile naming
    // Marathon-LB is built from the VIP with the docker CLI on PATH (the classic builder).
    let down_lb = format!("{}:5001", reg.vip);
    let ctx = tempfile::tempdir_in(rt.dir()).unwrap();
    project(ctx.path(), &format!("{down_lb}/base/app"));
    let df = ctx.path().join("ci/app.Dockerfile");
    let original = fs::read(&df).unwrap();
    let out = dcosreg(
        &rt,
        false,
        &[],
        &[
            "--internal",
            &reg.vip,
            "--external",
            &down_lb,
            "--timeout",
            "2s",
            "build",
            "--to",
            "auto",
            "-t",
            "built:b",
            "--build-arg",
            "TAG=1",
            "--network",
            "none",
            "-f",
            df.to_str().unwrap(),
            ctx.path().to_str().unwrap(),
        ],
    );
    // The classic builder does not read per-Dockerfile ignore files: its RUN sees
    // secret.txt and fails, and that exit status is ours.
    let text = format!("{}{}", stdout(&out), stderr(&out));
    assert!(
        text.contains(&format!("pulling base image {}/base/app:1", reg.vip)),
        "{text}"
    );
    assert_status(&out, 1);
    assert!(text.contains("returned a non-zero code: 1"), "{text}");
    assert!(image_exists(&rt, &format!("{}/base/app:1", reg.vip)));
    // Without the ignore check the same command builds and tags.
    fs::write(
        &df,
        String::from_utf8_lossy(&original).replace(" && test ! -e /ctx/secret.txt", ""),
    )
    .unwrap();
    let out = dcosreg(
        &rt,
        false,
        &[],
        &[
            "--internal",
            &reg.vip,
            "--external",
            &down_lb,
            "--timeout",
            "2s",
            "build",
            "-t",
            "built:b",
            "--build-arg",
            "TAG=1",
            "--network",
            "none",
            "-f",
            df.to_str().unwrap(),
            ctx.path().to_str().unwrap(),
        ],
    );
    assert_status(&out, 0);
    assert!(image_exists(&rt, "built:b"));
    fs::write(&df, &original).unwrap();

    // The VIP down, Marathon-LB up: a Dockerfile naming the VIP is built from Marathon-LB
    // by dockerd's BuildKit, which has not seen certs.d since it started.
    reg.stop(443);
    rt.rmi(&format!("{}/base/app:1", reg.vip));
    let ctx = tempfile::tempdir_in(rt.dir()).unwrap();
    project(ctx.path(), &format!("{}/base/app", reg.vip));
    let df = ctx.path().join("ci/app.Dockerfile");
    let original = fs::read(&df).unwrap();
    let rewritten = String::from_utf8_lossy(&original).replace(&reg.vip, &reg.mlb);

    // Control: plain BuildKit on the same rewritten file, without the pull first.
    let plain = ctx.path().join("ci/plain.Dockerfile");
    fs::write(&plain, &rewritten).unwrap();
    fs::copy(
        ctx.path().join("ci/app.Dockerfile.dockerignore"),
        ctx.path().join("ci/plain.Dockerfile.dockerignore"),
    )
    .unwrap();
    let control = output_within(
        rt.docker(&["build", "--network", "none", "--build-arg", "TAG=1", "-f"])
            .arg(&plain)
            .arg(ctx.path())
            .env("DOCKER_BUILDKIT", "1"),
        Duration::from_secs(120),
    );
    let control_text = format!("{}{}", stdout(&control), stderr(&control));
    assert!(!control.status.success(), "{control_text}");
    assert!(
        control_text.contains("x509: certificate signed by unknown authority"),
        "{control_text}"
    );

    let out = dcosreg(
        &rt,
        true,
        &[("DOCKER_BUILDKIT", "1")],
        &[
            "--internal",
            &reg.vip,
            "--external",
            &reg.mlb,
            "--timeout",
            "2s",
            "build",
            "-t",
            "built:a",
            "--build-arg",
            "TAG=1",
            "--network",
            "none",
            "--file",
            df.to_str().unwrap(),
            ctx.path().to_str().unwrap(),
        ],
    );
    let text = format!("{}{}", stdout(&out), stderr(&out));
    assert_status(&out, 0);
    assert!(text.contains("only the external endpoint"), "{text}");
    assert!(
        text.contains(&format!("pulling base image {}/base/app:1", reg.mlb)),
        "{text}"
    );
    assert!(image_exists(&rt, "built:a"));
    // The file is untouched and the daemon was never restarted.
    assert_eq!(fs::read(&df).unwrap(), original);
    assert_eq!(rt.dockerd_pid(), dockerd);

    // Without its ignore file the same build sends secret.txt and the RUN fails: the
    // ignore file was what kept it out, and docker build's exit status is returned.
    fs::remove_file(ctx.path().join("ci/app.Dockerfile.dockerignore")).unwrap();
    let out = dcosreg(
        &rt,
        true,
        &[("DOCKER_BUILDKIT", "1")],
        &[
            "--internal",
            &reg.vip,
            "--external",
            &reg.mlb,
            "--timeout",
            "2s",
            "build",
            "--to",
            "external",
            "--build-arg",
            "TAG=1",
            "--network",
            "none",
            "--file",
            df.to_str().unwrap(),
            ctx.path().to_str().unwrap(),
        ],
    );
    let text = format!("{}{}", stdout(&out), stderr(&out));
    assert_status(&out, 1);
    assert!(text.contains("test ! -e /ctx/secret.txt"), "{text}");
}
