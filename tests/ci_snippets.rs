//! The CI snippets run for real on the test daemon (tests/support/runtime.rs): the
//! `docker run` lines of `snippet jenkins` and `snippet dind` taken from the command's own
//! output and run as printed, and `snippet compose` run with docker-compose (v1, Debian).
//!
//! The images they name are made here from nothing and tagged with the snippet's names:
//! `jenkins/inbound-agent` is busybox-static plus the static docker CLI; `docker:dind` is
//! busybox plus the host's docker.io binaries (dockerd, containerd, runc) and their shared
//! libraries, starting a dockerd. Two changes to the printed flags, both forced by the test
//! daemon: the host's `/var/run/docker.sock` is this daemon's socket, and `--network host`
//! (`network_mode: host`) because the test daemon has no bridge; the containers then reach
//! the registries' namespace over the test's own veth, and nothing else.

mod support;

use std::fs;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use support::runtime::{runtime_with_app, ClusterRegistry, Runtime};
use support::{assert_status_for, output_within, require_tool, stderr, stdout};

const LIMIT: Duration = Duration::from_secs(120);

fn text(out: &Output) -> String {
    format!("{}{}", stdout(out), stderr(out))
}

/// The `docker run …` commands of a snippet, continuation lines joined, as words.
fn docker_runs(snippet: &str) -> Vec<Vec<String>> {
    let mut runs = Vec::new();
    let mut current: Option<String> = None;
    for line in snippet.lines() {
        let line = line.trim();
        if let Some(cmd) = current.as_mut() {
            cmd.push(' ');
            cmd.push_str(line.trim_end_matches('\\'));
        } else if line.starts_with("docker run ") {
            current = Some(line.trim_end_matches('\\').to_string());
        }
        if current.is_some() && !line.ends_with('\\') {
            let cmd = current.take().unwrap_or_default();
            runs.push(cmd.split_whitespace().map(str::to_string).collect());
        }
    }
    runs
}

/// Copy `binary` to `dest` under `root`, with the shared libraries `ldd` names.
fn install(root: &Path, binary: &Path, dest: &str) {
    let target = root.join(dest.trim_start_matches('/'));
    fs::create_dir_all(target.parent().unwrap()).unwrap();
    fs::copy(binary, &target).unwrap_or_else(|e| panic!("copy {}: {e}", binary.display()));
    let out = Command::new("ldd").arg(binary).output().expect("run ldd");
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x…)" or "/lib64/ld-linux… (0x…)"
        let lib = line
            .split("=>")
            .last()
            .and_then(|rest| rest.split_whitespace().next())
            .filter(|p| p.starts_with('/'));
        if let Some(lib) = lib {
            let at = root.join(lib.trim_start_matches('/'));
            if !at.exists() {
                fs::create_dir_all(at.parent().unwrap()).unwrap();
                fs::copy(lib, &at).unwrap_or_else(|e| panic!("copy {lib}: {e}"));
            }
        }
    }
}

/// A rootfs with busybox-static and its applets.
fn busybox_root(root: &Path) {
    let bin = root.join("bin");
    fs::create_dir_all(&bin).unwrap();
    fs::copy(require_tool("busybox"), bin.join("busybox")).unwrap();
    for applet in [
        "sh", "ls", "cat", "echo", "true", "test", "sleep", "mkdir", "mount", "rm", "ps",
    ] {
        std::os::unix::fs::symlink("busybox", bin.join(applet)).unwrap();
    }
    for dir in ["tmp", "etc", "var/run", "run", "proc", "sys", "dev"] {
        fs::create_dir_all(root.join(dir)).unwrap();
    }
}

/// `docker import` a rootfs as `tag` with a CMD.
fn import(rt: &Runtime, root: &Path, tag: &str, cmd: &str) {
    let tarball = root.with_extension("tar");
    let status = Command::new("tar")
        .arg("-C")
        .arg(root)
        .arg("-cf")
        .arg(&tarball)
        .arg(".")
        .status()
        .expect("tar");
    assert!(status.success());
    let change = format!("CMD {cmd}");
    let out = rt.docker_out(
        &[
            "import",
            "--change",
            &change,
            &tarball.to_string_lossy(),
            tag,
        ],
        LIMIT,
    );
    assert_status_for(&out, 0, format_args!("import {tag}"));
    let _ = fs::remove_file(&tarball);
}

/// The static docker CLI for the agent image: the test fails if it is not static.
fn static_docker_cli() -> std::path::PathBuf {
    let cli = Path::new("/usr/local/bin/docker");
    let out = Command::new("ldd").arg(cli).output().expect("run ldd");
    assert!(
        !out.status.success() || String::from_utf8_lossy(&out.stdout).contains("not a dynamic"),
        "{} is not a static binary",
        cli.display()
    );
    cli.to_path_buf()
}

fn agent_image(rt: &Runtime, work: &Path) {
    let root = work.join("agent");
    busybox_root(&root);
    install(&root, &static_docker_cli(), "/usr/local/bin/docker");
    import(
        rt,
        &root,
        "jenkins/inbound-agent",
        r#"["/bin/sleep", "600"]"#,
    );
}

const DIND_ENTRYPOINT: &str = "#!/bin/sh\n\
export PATH=/usr/local/bin:/bin\n\
mkdir -p /var/lib/docker /var/run /tmp\n\
exec dockerd --storage-driver=vfs --iptables=false --ip6tables=false --bridge=none \\\n\
  -H unix:///var/run/docker.sock >/var/log-dockerd 2>&1\n";

fn dind_image(rt: &Runtime, work: &Path) {
    let root = work.join("dind");
    busybox_root(&root);
    for (binary, dest) in [
        ("/usr/sbin/dockerd", "/usr/local/bin/dockerd"),
        ("/usr/bin/containerd", "/usr/local/bin/containerd"),
        (
            "/usr/bin/containerd-shim-runc-v2",
            "/usr/local/bin/containerd-shim-runc-v2",
        ),
        ("/usr/sbin/runc", "/usr/local/bin/runc"),
        ("/usr/bin/docker", "/usr/local/bin/docker"),
    ] {
        install(&root, Path::new(binary), dest);
    }
    let entry = root.join("usr/local/bin/dockerd-entrypoint.sh");
    fs::write(&entry, DIND_ENTRYPOINT).unwrap();
    let mode = std::os::unix::fs::PermissionsExt::from_mode(0o755);
    fs::set_permissions(&entry, mode).unwrap();
    import(
        rt,
        &root,
        "docker:dind",
        r#"["/usr/local/bin/dockerd-entrypoint.sh"]"#,
    );
}

/// Run a snippet's `docker run` words on the test daemon, with the two forced changes.
fn run_snippet(rt: &Runtime, words: &[String], name: &str, drop_certs_mount: bool) {
    assert_eq!(words[..2], ["docker", "run"], "{words:?}");
    let socket = rt.docker_host.trim_start_matches("unix://").to_string();
    let mut args: Vec<String> = vec!["run".into(), "--network".into(), "host".into()];
    let mut i = 2;
    while i < words.len() {
        let word = &words[i];
        if word == "--name" {
            args.extend([word.clone(), name.to_string()]);
            i += 2;
            continue;
        }
        if word == "-v" && drop_certs_mount && words[i + 1].starts_with("/etc/docker/certs.d:") {
            i += 2;
            continue;
        }
        if word == "-v" && words[i + 1].starts_with("/var/run/docker.sock:") {
            args.extend([
                "-v".into(),
                words[i + 1].replacen("/var/run/docker.sock", &socket, 1),
            ]);
            i += 2;
            continue;
        }
        if word == "--privileged" && !bounding_set_has_sys_resource() {
            args.extend(
                PRIVILEGED_WITHOUT_SYS_RESOURCE
                    .iter()
                    .map(|a| a.to_string()),
            );
        } else {
            args.push(word.clone());
        }
        i += 1;
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = rt.docker_out(&args, LIMIT);
    assert_status_for(&out, 0, format_args!("docker {args:?}"));
}

/// Whether CAP_SYS_RESOURCE (bit 24) is in this process's bounding set. dockerd 20.10
/// gives a `--privileged` container every capability it knows, and runc then fails with
/// "unable to apply caps: operation not permitted" on a host (itself a container) whose
/// bounding set lacks one.
fn bounding_set_has_sys_resource() -> bool {
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapBnd:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .is_some_and(|caps| caps & (1 << 24) != 0)
}

/// `--privileged` spelled out without CAP_SYS_RESOURCE (`--cap-drop` is ignored next to
/// `--privileged`): every other capability, every device, no seccomp/AppArmor profile, no
/// masked /proc paths.
const PRIVILEGED_WITHOUT_SYS_RESOURCE: &[&str] = &[
    "--cap-add",
    "ALL",
    "--cap-drop",
    "SYS_RESOURCE",
    "--security-opt",
    "seccomp=unconfined",
    "--security-opt",
    "apparmor=unconfined",
    "--security-opt",
    "systempaths=unconfined",
    "--device-cgroup-rule",
    "a *:* rwm",
];

fn exec(rt: &Runtime, container: &str, cmd: &[&str]) -> Output {
    let mut args = vec!["exec", container];
    args.extend_from_slice(cmd);
    rt.docker_out(&args, LIMIT)
}

/// Wait until the dockerd inside `container` answers.
fn wait_inner_dockerd(rt: &Runtime, container: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = exec(
            rt,
            container,
            &["docker", "version", "--format", "{{.Server.Version}}"],
        );
        if out.status.success() {
            return;
        }
        if Instant::now() >= deadline {
            let log = exec(rt, container, &["cat", "/var/log-dockerd"]);
            panic!(
                "the dockerd in {container} did not answer within 60s: {}\n{}",
                text(&out),
                text(&log)
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn snippet(rt: &Runtime, reg: &ClusterRegistry, kind: &str) -> String {
    let out = rt.dcosreg(&[
        "--internal",
        &reg.vip,
        "--external",
        &reg.mlb,
        "snippet",
        kind,
    ]);
    assert_status_for(&out, 0, format_args!("snippet {kind}"));
    stdout(&out)
}

#[test]
fn jenkins_dind_and_compose_snippets_pull_from_both_endpoints() {
    require_tool("docker-compose");
    let (rt, reg) = runtime_with_app();
    let trust = rt.dcosreg(&[
        "--internal",
        &reg.vip,
        "--external",
        &reg.mlb,
        "trust",
        "--fingerprint",
        &reg.ca_fingerprint(),
        "--target",
        "docker",
    ]);
    assert_status_for(&trust, 0, "trust");
    let work = tempfile::tempdir_in(rt.dir()).unwrap();
    let images = [reg.vip.clone(), reg.mlb.clone()].map(|ep| format!("{ep}/base/app:1"));

    // Jenkins: the agent's own docker CLI verifies the registry through the mounted
    // certs.d (`docker manifest inspect` reads /etc/docker/certs.d), and pulls through the
    // mounted socket; without the certs.d mount the same check fails with x509.
    agent_image(&rt, work.path());
    let jenkins = snippet(&rt, &reg, "jenkins");
    let runs = docker_runs(&jenkins);
    assert_eq!(runs.len(), 1, "{jenkins}");
    run_snippet(&rt, &runs[0], "agent", false);
    run_snippet(&rt, &runs[0], "agent-nomount", true);
    for image in &images {
        let out = exec(&rt, "agent", &["docker", "manifest", "inspect", image]);
        assert_status_for(&out, 0, format_args!("agent: manifest inspect {image}"));
        let out = exec(&rt, "agent", &["docker", "pull", "-q", image]);
        assert_status_for(&out, 0, format_args!("agent: pull {image}"));
        let out = exec(
            &rt,
            "agent-nomount",
            &["docker", "manifest", "inspect", image],
        );
        assert!(
            !out.status.success(),
            "agent without the mount trusted {image}"
        );
        assert!(
            text(&out).contains("x509: certificate signed by unknown authority"),
            "{}",
            text(&out)
        );
    }
    rt.docker_out(&["rm", "-f", "agent", "agent-nomount"], LIMIT);

    // DinD: a privileged container running dockerd pulls from both endpoints.
    dind_image(&rt, work.path());
    let dind = snippet(&rt, &reg, "dind");
    let runs = docker_runs(&dind);
    assert_eq!(runs.len(), 1, "{dind}");
    run_snippet(&rt, &runs[0], "dind", false);
    wait_inner_dockerd(&rt, "dind");
    for image in &images {
        let out = exec(&rt, "dind", &["docker", "pull", "-q", image]);
        assert_status_for(&out, 0, format_args!("dind: pull {image}"));
    }
    rt.docker_out(&["rm", "-f", "dind"], LIMIT);

    // Compose: the snippet's compose.yaml as printed, plus network_mode: host.
    let compose_dir = work.path().join("compose");
    fs::create_dir_all(&compose_dir).unwrap();
    fs::write(
        compose_dir.join("compose.yaml"),
        snippet(&rt, &reg, "compose"),
    )
    .unwrap();
    let mut override_yaml = String::from("services:\n  dind:\n    network_mode: host\n");
    if !bounding_set_has_sys_resource() {
        // `privileged: true` spelled out without CAP_SYS_RESOURCE, as for `docker run`
        // (compose v1 passes security_opt to the API as is: no `systempaths=`).
        override_yaml.push_str(
            "    privileged: false\n    cap_add: [ALL]\n    cap_drop: [SYS_RESOURCE]\n    security_opt: [seccomp=unconfined, apparmor=unconfined]\n    device_cgroup_rules: ['a *:* rwm']\n",
        );
    }
    fs::write(compose_dir.join("test-network.yaml"), override_yaml).unwrap();
    let compose = |args: &[&str]| -> Output {
        output_within(
            Command::new(require_tool("docker-compose"))
                .current_dir(&compose_dir)
                .args([
                    "-p",
                    "dcosregtest",
                    "-f",
                    "compose.yaml",
                    "-f",
                    "test-network.yaml",
                ])
                .args(args)
                .env("DOCKER_HOST", &rt.docker_host)
                .env("DOCKER_CONFIG", rt.dir().join("docker-client"))
                .env_remove("DOCKER_CONTEXT")
                .env("HOME", rt.dir()),
            LIMIT,
        )
    };
    let up = compose(&["up", "-d"]);
    assert_status_for(&up, 0, "docker-compose up");
    let container = "dcosregtest_dind_1";
    wait_inner_dockerd(&rt, container);
    for image in &images {
        let out = exec(&rt, container, &["docker", "pull", "-q", image]);
        assert_status_for(&out, 0, format_args!("compose dind: pull {image}"));
    }
    let down = compose(&["down", "-t", "2"]);
    assert_status_for(&down, 0, "docker-compose down");
}
