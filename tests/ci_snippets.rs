//! The CI snippets run for real on the test daemon (tests/support/runtime.rs): the
//! `docker run` lines of `snippet dind` taken from the command's own output and run as
//! printed, `snippet compose` run with docker-compose (v1, Debian), and the CI jobs (issue
//! 30): `snippet jenkins`'s agent section (its `docker build` and `docker run`) run by bash
//! as printed, then its Jenkinsfile's `sh` steps in that agent as Jenkins runs them
//! (`sh -xe`, the `environment` and the `withCredentials` variables set); `snippet
//! gitlab-runner`'s `.gitlab-ci.yml` job run as GitLab's docker executor runs it: the
//! `docker:dind` service and the job container with config.toml's volumes, the job's
//! variables and the masked variables, `before_script` + `script` in one `sh` with
//! errexit. Both log in to an htpasswd registry (tests/support/cluster.rs: the VIP :443 and
//! Marathon-LB :5000) with `docker login --password-stdin` for every spelling and pull.
//!
//! The images they name are made here from nothing and tagged with the snippets' names:
//! `docker:cli` is busybox-static plus the static docker CLI (as the real one: Alpine's
//! busybox sh and the static CLI); `jenkins/inbound-agent` is busybox-static with the user
//! jenkins (uid 1000, as the real image runs) and the C libraries this tool's binary needs
//! (the real one is Debian); `docker:dind` is busybox plus the host's docker.io binaries
//! (dockerd, containerd, runc) and their shared libraries, and openssl: with
//! `DOCKER_TLS_CERTDIR` set its entrypoint does what the real one does (a CA, a server and a
//! client certificate in `$DOCKER_TLS_CERTDIR/{ca,server,client}`, dockerd on `:2376` with
//! `--tlsverify`), else it starts a plain dockerd. The release tarball the agent image adds is
//! made here in `./dist.sh`'s layout around the binary under test.
//!
//! Changes forced by the test daemon, and only those: the host's `/var/run/docker.sock` is
//! this daemon's socket; `--network host` (`network_mode: host`) because the test daemon has
//! no bridge, so the containers reach the registries' namespace over the test's own veth and
//! nothing else; GitLab's service alias `docker` is `--add-host docker:IP` with IP a unique
//! loopback address the test's dind listens on (`DIND_TEST_ADDR`, instead of 0.0.0.0, which
//! parallel tests would share); a bare path in config.toml's `volumes` (a volume GitLab makes
//! per job) is a directory of the test.

mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use base64::Engine;
use support::cluster::{Auth, Cluster, PASSWORD, USER};
use support::runtime::{runtime_with_app, ClusterRegistry, Runtime, DOCKER_CLI};
use support::{
    assert_status_for, bin_path, output_within, require_tool, stderr, stdout, unique_loopback_ip,
};

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
    install_libraries(root, binary);
}

/// The shared libraries `ldd` names for `binary`, copied to the same paths under `root`.
fn install_libraries(root: &Path, binary: &Path) {
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
        "sh", "ls", "cat", "echo", "true", "test", "sleep", "mkdir", "mount", "rm", "ps", "printf",
        "cp", "id", "env", "grep", "ln",
    ] {
        std::os::unix::fs::symlink("busybox", bin.join(applet)).unwrap();
    }
    for dir in ["tmp", "etc", "var/run", "run", "proc", "sys", "dev", "root"] {
        fs::create_dir_all(root.join(dir)).unwrap();
    }
    let mode = std::os::unix::fs::PermissionsExt::from_mode(0o1777);
    fs::set_permissions(root.join("tmp"), mode).unwrap();
}

/// The PATH the real images set (Debian's and Alpine's default).
const IMAGE_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// `docker import` a rootfs as `tag` with a CMD, PATH and more `--change`s.
fn import(rt: &Runtime, root: &Path, tag: &str, cmd: &str, changes: &[&str]) {
    let tarball = root.with_extension("tar");
    let status = Command::new("tar")
        .arg("-C")
        .arg(root)
        .args(["--numeric-owner", "-cf"])
        .arg(&tarball)
        .arg(".")
        .status()
        .expect("tar");
    assert!(status.success());
    let mut args = vec!["import".to_string()];
    for change in [format!("CMD {cmd}"), format!("ENV PATH={IMAGE_PATH}")]
        .into_iter()
        .chain(changes.iter().map(|c| c.to_string()))
    {
        args.extend(["--change".to_string(), change]);
    }
    args.extend([tarball.to_string_lossy().into_owned(), tag.to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = rt.docker_out(&args, LIMIT);
    assert_status_for(&out, 0, format_args!("import {tag}"));
    let _ = fs::remove_file(&tarball);
}

/// The static docker CLI for the images: the test fails if it is not static.
fn static_docker_cli() -> PathBuf {
    let cli = Path::new("/usr/local/bin/docker");
    let out = Command::new("ldd").arg(cli).output().expect("run ldd");
    assert!(
        !out.status.success() || String::from_utf8_lossy(&out.stdout).contains("not a dynamic"),
        "{} is not a static binary",
        cli.display()
    );
    cli.to_path_buf()
}

/// `docker:cli`: busybox sh and the static docker CLI in /usr/local/bin, as the real one.
fn docker_cli_image(rt: &Runtime, work: &Path) {
    let root = work.join("docker-cli");
    busybox_root(&root);
    install(&root, &static_docker_cli(), "/usr/local/bin/docker");
    import(rt, &root, "docker:cli", r#"["/bin/sh"]"#, &[]);
}

/// The agent's workspace, as the Jenkins agent lays it out under its home.
const WORKSPACE: &str = "/home/jenkins/agent/workspace/job";

/// `jenkins/inbound-agent`: no docker CLI, the user jenkins (uid 1000), and the C
/// libraries of a glibc distribution (those this tool's binary needs).
fn inbound_agent_image(rt: &Runtime, work: &Path) {
    let root = work.join("inbound-agent");
    busybox_root(&root);
    install_libraries(&root, &bin_path());
    fs::write(
        root.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\njenkins:x:1000:1000:jenkins:/home/jenkins:/bin/sh\n",
    )
    .unwrap();
    fs::write(root.join("etc/group"), "root:x:0:\njenkins:x:1000:\n").unwrap();
    let home = root.join("home/jenkins");
    fs::create_dir_all(home.join(WORKSPACE.trim_start_matches("/home/jenkins/"))).unwrap();
    let mut dir = root.join(WORKSPACE.trim_start_matches('/'));
    while dir.starts_with(&home) {
        std::os::unix::fs::chown(&dir, Some(1000), Some(1000)).unwrap();
        dir.pop();
    }
    import(
        rt,
        &root,
        "jenkins/inbound-agent",
        r#"["/bin/sleep", "600"]"#,
        &["USER jenkins", "WORKDIR /home/jenkins"],
    );
}

/// The release tarball in `./dist.sh`'s layout (`NAME/docker-dcosreg`, the helper link
/// beside it) around the binary under test, in `dir`.
fn release_tarball(dir: &Path) {
    let name = format!(
        "docker-dcosreg-{}-x86_64-linux-gnu",
        env!("CARGO_PKG_VERSION")
    );
    let stage = dir.join("stage");
    let top = stage.join(&name);
    fs::create_dir_all(&top).unwrap();
    fs::copy(bin_path(), top.join("docker-dcosreg")).unwrap();
    std::os::unix::fs::symlink("docker-dcosreg", top.join("docker-credential-dcosreg")).unwrap();
    let status = Command::new("tar")
        .arg("-C")
        .arg(&stage)
        .args(["--owner=0", "--group=0", "-czf"])
        .arg(dir.join(format!("{name}.tar.gz")))
        .arg(&name)
        .status()
        .expect("tar");
    assert!(status.success());
    fs::remove_dir_all(&stage).unwrap();
}

/// What the real `docker:dind` entrypoint does, as far as the snippets rely on it: with
/// `DOCKER_TLS_CERTDIR`, a CA and server and client certificates there and dockerd on
/// `:2376` with `--tlsverify` (the address `DIND_TEST_ADDR` for 0.0.0.0, see the module
/// doc); without it, a plain dockerd on the unix socket.
const DIND_ENTRYPOINT: &str = r#"#!/bin/sh
set -e
export PATH=/usr/local/bin:/bin
mkdir -p /var/lib/docker /var/run /tmp
tls=
if [ -n "$DOCKER_TLS_CERTDIR" ]; then
  d=$DOCKER_TLS_CERTDIR
  addr=${DIND_TEST_ADDR:-0.0.0.0}
  export OPENSSL_CONF=/etc/dind-openssl.cnf
  mkdir -p "$d/ca" "$d/server" "$d/client"
  ec="-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
  openssl req -x509 $ec -days 1 -subj "/CN=docker:dind CA"     -keyout "$d/ca/key.pem" -out "$d/ca/cert.pem" 2>/dev/null
  for half in server client; do
    openssl req -new $ec -subj "/CN=docker:dind $half"       -keyout "$d/$half/key.pem" -out "$d/$half/csr.pem" 2>/dev/null
    if [ "$half" = server ]; then
      printf 'subjectAltName=DNS:docker,DNS:localhost,IP:%s
extendedKeyUsage=serverAuth
'         "${DIND_TEST_ADDR:-127.0.0.1}" >"$d/$half/ext"
    else
      printf 'extendedKeyUsage=clientAuth
' >"$d/$half/ext"
    fi
    openssl x509 -req -in "$d/$half/csr.pem" -CA "$d/ca/cert.pem" -CAkey "$d/ca/key.pem"       -CAcreateserial -days 1 -extfile "$d/$half/ext" -out "$d/$half/cert.pem" 2>/dev/null
    cp "$d/ca/cert.pem" "$d/$half/ca.pem"
  done
  tls="--tlsverify --tlscacert $d/server/ca.pem --tlscert $d/server/cert.pem --tlskey $d/server/key.pem -H tcp://$addr:2376"
fi
exec dockerd --storage-driver=vfs --iptables=false --ip6tables=false --bridge=none   -H unix:///var/run/docker.sock $tls >/var/log-dockerd 2>&1
"#;

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
        ("/usr/bin/openssl", "/usr/local/bin/openssl"),
    ] {
        install(&root, Path::new(binary), dest);
    }
    fs::write(
        root.join("etc/dind-openssl.cnf"),
        "[req]\ndistinguished_name = dn\n[dn]\n",
    )
    .unwrap();
    let entry = root.join("usr/local/bin/dockerd-entrypoint.sh");
    fs::write(&entry, DIND_ENTRYPOINT).unwrap();
    let mode = std::os::unix::fs::PermissionsExt::from_mode(0o755);
    fs::set_permissions(&entry, mode).unwrap();
    import(
        rt,
        &root,
        "docker:dind",
        r#"["/usr/local/bin/dockerd-entrypoint.sh"]"#,
        &[],
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

/// The docker CLI flags `--privileged` stands for on this host (see
/// [`PRIVILEGED_WITHOUT_SYS_RESOURCE`]).
fn privileged_flags() -> Vec<String> {
    if bounding_set_has_sys_resource() {
        vec!["--privileged".into()]
    } else {
        PRIVILEGED_WITHOUT_SYS_RESOURCE
            .iter()
            .map(|a| a.to_string())
            .collect()
    }
}

fn exec(rt: &Runtime, container: &str, cmd: &[&str]) -> Output {
    let mut args = vec!["exec", container];
    args.extend_from_slice(cmd);
    rt.docker_out(&args, LIMIT)
}

/// Wait until the dockerd inside `container` answers on its unix socket (the container's
/// own DOCKER_HOST and TLS variables, a GitLab service's, set aside).
fn wait_inner_dockerd(rt: &Runtime, container: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = rt.docker_out(
            &[
                "exec",
                "-e",
                "DOCKER_HOST=unix:///var/run/docker.sock",
                "-e",
                "DOCKER_TLS_VERIFY=",
                container,
                "docker",
                "version",
                "--format",
                "{{.Server.Version}}",
            ],
            LIMIT,
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

/// `snippet KIND ID` for the htpasswd cluster's endpoints.
fn section(rt: &Runtime, cluster: &Cluster, kind: &str, id: &str) -> String {
    let out = rt.dcosreg(&[
        "--internal",
        &cluster.vip(),
        "--external",
        &cluster.mlb(),
        "snippet",
        kind,
        id,
    ]);
    assert_status_for(&out, 0, format_args!("snippet {kind} {id}"));
    stdout(&out)
}

/// A runtime whose daemon trusts an htpasswd [`Cluster`] (its certs.d copied into the
/// daemon's /etc, what `trust` installs), the cluster holding `my-app:1`, the image the
/// CI snippets pull.
fn runtime_with_login_registry() -> (Runtime, Cluster) {
    let rt = Runtime::start();
    let cluster = Cluster::start(Auth::Htpasswd);
    let copy = rt.in_ns_out(
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
        LIMIT,
    );
    assert_status_for(&copy, 0, "certs.d into the daemon's /etc");
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
    let authfile = cluster.dir.path().join("push-auth.json");
    fs::write(
        &authfile,
        format!(
            "{{\"auths\": {{\"{}\": {{\"auth\": \"{auth}\"}}}}}}",
            cluster.vip()
        ),
    )
    .unwrap();
    cluster.push(&authfile, &cluster.vip(), "my-app:1");
    (rt, cluster)
}

/// Run a shell section with bash as printed (`set -e`), in `dir`, `docker` being the test
/// daemon's CLI, with the forced changes of the module doc: this daemon's socket for
/// /var/run/docker.sock, `--network host` for `docker run`.
fn run_shell_section(rt: &Runtime, script: &str, dir: &Path) -> Output {
    let socket = rt.docker_host.trim_start_matches("unix://");
    let shim = dir.join("shim");
    fs::create_dir_all(&shim).unwrap();
    fs::write(
        shim.join("docker"),
        format!(
            "#!/bin/sh\nif [ \"$1\" = run ]; then shift; set -- run --network host \"$@\"; fi\nexec {DOCKER_CLI} -H {} \"$@\"\n",
            rt.docker_host
        ),
    )
    .unwrap();
    let mode = std::os::unix::fs::PermissionsExt::from_mode(0o755);
    fs::set_permissions(shim.join("docker"), mode).unwrap();
    let path = format!(
        "{}:{}",
        shim.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    output_within(
        Command::new("bash")
            .args(["--norc", "-e", "-c"])
            .arg(
                // The host's path only: a container's `-v …:/var/run/docker.sock` stays.
                script
                    .replace(":/var/run/docker.sock", ":\0")
                    .replace("/var/run/docker.sock", socket)
                    .replace(":\0", ":/var/run/docker.sock"),
            )
            .current_dir(dir)
            .env("PATH", path)
            .env("DOCKER_CONFIG", rt.dir().join("docker-client"))
            .env("DOCKER_BUILDKIT", "0")
            .env_remove("DOCKER_HOST")
            .env_remove("DOCKER_CONTEXT"),
        LIMIT,
    )
}

/// One Jenkins `sh` step in the agent container, as Jenkins runs it: `sh -xe`, in the
/// workspace, with `env`.
fn jenkins_sh(rt: &Runtime, agent: &str, env: &[(String, String)], script: &str) -> Output {
    let mut args: Vec<String> = vec!["exec".into(), "-w".into(), WORKSPACE.into()];
    for (name, value) in env {
        args.extend(["-e".into(), format!("{name}={value}")]);
    }
    args.extend([
        agent.into(),
        "sh".into(),
        "-xe".into(),
        "-c".into(),
        script.into(),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    rt.docker_out(&args, LIMIT)
}

fn unauthorized(out: &Output) -> bool {
    let all = text(out).to_ascii_lowercase();
    all.contains("unauthorized") || all.contains("401")
}

/// `snippet jenkins`: the agent section, run by bash as printed, builds its image from
/// `jenkins/inbound-agent` and `docker:cli` and the release tarball, and starts the agent
/// as the user jenkins with the host's socket; the Jenkinsfile's steps then run in it:
/// the login step (inside `withCredentials`, its two variables set) logs in every spelling
/// with `docker login --password-stdin` against the htpasswd registry, the pull step pulls,
/// and the agent's docker CLI reaches every spelling with that login (`docker manifest
/// inspect`, TLS through the mounted certs.d); `post` removes the build's DOCKER_CONFIG.
/// A wrong password fails the login step; the agent without the certs.d mount fails with
/// x509; `job-config` with DCOSREG_USERNAME/DCOSREG_PASSWORD serves the docker CLI in the
/// agent through the helper the image installed.
#[test]
fn jenkins_agent_and_jenkinsfile_log_in_every_spelling_and_pull() {
    let (rt, cluster) = runtime_with_login_registry();
    let work = tempfile::tempdir_in(rt.dir()).unwrap();
    docker_cli_image(&rt, work.path());
    inbound_agent_image(&rt, work.path());
    let context = work.path().join("context");
    fs::create_dir_all(&context).unwrap();
    release_tarball(&context);

    let agent_section = section(&rt, &cluster, "jenkins", "agent");
    let started = run_shell_section(&rt, &agent_section, &context);
    assert_status_for(
        &started,
        0,
        format_args!("the agent section\n{agent_section}"),
    );
    let nomount = agent_section
        .replace("--name jenkins-agent", "--name agent-nomount")
        .replace("  -v /etc/docker/certs.d:/etc/docker/certs.d:ro \\\n", "");
    assert_ne!(nomount, agent_section);
    let started = run_shell_section(&rt, &nomount, &context);
    assert_status_for(&started, 0, "the agent section without the certs.d mount");
    let whoami = exec(&rt, "jenkins-agent", &["id", "-u"]);
    assert_eq!(stdout(&whoami).trim(), "1000", "{}", text(&whoami));

    let jenkinsfile = section(&rt, &cluster, "jenkins", "jenkinsfile");
    let file =
        support::jenkinsfile::parse(&jenkinsfile).unwrap_or_else(|e| panic!("{e}\n{jenkinsfile}"));
    let mut env = vec![("WORKSPACE".to_string(), WORKSPACE.to_string())];
    env.extend(file.resolved_environment(&env));
    let docker_config = env
        .iter()
        .find(|(k, _)| k == "DOCKER_CONFIG")
        .map(|(_, v)| v.clone())
        .expect("the Jenkinsfile sets DOCKER_CONFIG");
    let user_var = file.argument("usernameVariable").expect("usernameVariable");
    let password_var = file.argument("passwordVariable").expect("passwordVariable");
    let with_login = |password: &str| {
        let mut env = env.clone();
        env.push((user_var.to_string(), USER.to_string()));
        env.push((password_var.to_string(), password.to_string()));
        env
    };
    let (post, steps): (Vec<_>, Vec<_>) = file.steps.iter().partition(|s| s.inside("post"));
    assert!(!steps.is_empty() && !post.is_empty(), "{jenkinsfile}");

    // A wrong password: the login step fails, as the build would.
    let login = steps
        .iter()
        .find(|s| s.inside("withCredentials"))
        .expect("a login step");
    let refused = jenkins_sh(
        &rt,
        "jenkins-agent",
        &with_login("wrong password"),
        &login.script,
    );
    assert!(
        !refused.status.success() && unauthorized(&refused),
        "a wrong password must fail the login step as unauthorized: {}",
        text(&refused)
    );

    for step in &steps {
        let env = if step.inside("withCredentials") {
            with_login(PASSWORD)
        } else {
            env.clone()
        };
        let out = jenkins_sh(&rt, "jenkins-agent", &env, &step.script);
        assert_status_for(&out, 0, format_args!("sh step\n{}", step.script));
    }
    for spelling in cluster.spellings() {
        let image = format!("{spelling}/my-app:1");
        let out = jenkins_sh(
            &rt,
            "jenkins-agent",
            &env,
            &format!("docker manifest inspect {image} && docker pull -q {image}"),
        );
        assert_status_for(&out, 0, format_args!("agent, logged in: {image}"));
        let out = exec(
            &rt,
            "agent-nomount",
            &["docker", "manifest", "inspect", &image],
        );
        assert!(
            text(&out).contains("x509: certificate signed by unknown authority"),
            "agent without the mount: {image}: {}",
            text(&out)
        );
    }
    for step in &post {
        let out = jenkins_sh(&rt, "jenkins-agent", &env, &step.script);
        assert_status_for(&out, 0, format_args!("post step\n{}", step.script));
    }
    let gone = exec(&rt, "jenkins-agent", &["test", "-e", &docker_config]);
    assert!(!gone.status.success(), "{docker_config} left after post");

    // Without docker login: the job's config.json names the helper the image installed.
    let job_config = section(&rt, &cluster, "jenkins", "job-config");
    let dir = format!("{WORKSPACE}/helper-config");
    let wrote = jenkins_sh(
        &rt,
        "jenkins-agent",
        &env,
        &format!("mkdir -p {dir} && printf '%s' '{job_config}' > {dir}/config.json"),
    );
    assert_status_for(&wrote, 0, "job-config into the agent");
    for (password, ok) in [("wrong password", false), (PASSWORD, true)] {
        for spelling in cluster.spellings() {
            let image = format!("{spelling}/my-app:1");
            let out = jenkins_sh(
                &rt,
                "jenkins-agent",
                &[
                    ("DOCKER_CONFIG".into(), dir.clone()),
                    ("DCOSREG_USERNAME".into(), USER.into()),
                    ("DCOSREG_PASSWORD".into(), password.into()),
                ],
                &format!("docker manifest inspect {image}"),
            );
            if ok {
                assert_status_for(&out, 0, format_args!("helper: {image}"));
            } else {
                assert!(
                    !out.status.success(),
                    "{image} with a wrong password: {}",
                    text(&out)
                );
            }
        }
    }
    rt.docker_out(&["rm", "-f", "jenkins-agent", "agent-nomount"], LIMIT);
}

/// The `.gitlab-ci.yml` job of `snippet gitlab-runner`, run as GitLab's docker executor
/// runs it with the snippet's config.toml: the `docker:dind` service (config.toml's
/// privileged and volumes, the job's variables) makes its TLS files in /certs and listens
/// on :2376; the job container (`docker:cli`, the same volumes and variables, the masked
/// REGISTRY_USER/REGISTRY_PASSWORD, config.toml's environment) runs `before_script` and
/// `script` in one `sh` with errexit and pipefail, as the runner does: `docker login
/// --password-stdin` for every spelling and the pull, through the service's daemon, which
/// trusts the registry through the mounted certs.d. In the same shell the test then pulls
/// every spelling. A wrong password fails the job.
#[test]
fn gitlab_job_logs_in_every_spelling_through_tls_dind_and_pulls() {
    let (rt, cluster) = runtime_with_login_registry();
    let work = tempfile::tempdir_in(rt.dir()).unwrap();
    docker_cli_image(&rt, work.path());
    dind_image(&rt, work.path());

    let config: toml::Table = section(&rt, &cluster, "gitlab-runner", "config")
        .parse()
        .expect("config.toml");
    let runner = &config["runners"][0];
    let docker = &runner["docker"];
    let job_yaml = section(&rt, &cluster, "gitlab-runner", "ci-job");
    let jobs: serde_json::Value = serde_yaml_ng::from_str(&job_yaml).expect("YAML");
    let job = &jobs["build"];
    assert_eq!(job["image"], docker["image"].as_str().unwrap());
    assert_eq!(job["image"], "docker:cli");
    assert_eq!(job["services"], serde_json::json!(["docker:dind"]));

    // config.toml's volumes, for the service and the job alike.
    let mut volumes: Vec<String> = Vec::new();
    for volume in docker["volumes"].as_array().expect("volumes") {
        let volume = volume.as_str().unwrap();
        if volume.contains(':') {
            volumes.extend(["-v".into(), volume.into()]);
        } else {
            let dir = work
                .path()
                .join("volumes")
                .join(volume.trim_start_matches('/'));
            fs::create_dir_all(&dir).unwrap();
            volumes.extend(["-v".into(), format!("{}:{volume}", dir.display())]);
        }
    }
    // The runner's environment and the job's variables.
    let mut env: Vec<String> = runner["environment"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap().to_string())
        .collect();
    for (name, value) in job["variables"].as_object().expect("variables") {
        let value = match value {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        env.push(format!("{name}={value}"));
    }
    let env_flags: Vec<String> = env.iter().flat_map(|e| ["-e".into(), e.clone()]).collect();

    let address = unique_loopback_ip();
    let mut service: Vec<String> = vec![
        "run".into(),
        "-d".into(),
        "--name".into(),
        "dind-service".into(),
    ];
    service.extend(["--network".into(), "host".into()]);
    if docker["privileged"].as_bool() == Some(true) {
        service.extend(privileged_flags());
    }
    service.extend(env_flags.iter().cloned());
    service.extend(["-e".into(), format!("DIND_TEST_ADDR={address}")]);
    service.extend(volumes.iter().cloned());
    service.push("docker:dind".into());
    let args: Vec<&str> = service.iter().map(String::as_str).collect();
    let out = rt.docker_out(&args, LIMIT);
    assert_status_for(&out, 0, format_args!("the service: docker {args:?}"));
    wait_inner_dockerd(&rt, "dind-service");

    let lines = |key: &str| -> Vec<String> {
        job[key]
            .as_array()
            .unwrap_or_else(|| panic!("{key}"))
            .iter()
            .map(|l| l.as_str().unwrap().to_string())
            .collect()
    };
    let mut script = String::from("set -eo pipefail\n");
    for line in lines("before_script").into_iter().chain(lines("script")) {
        script.push_str(&line);
        script.push('\n');
    }
    let job_script = script.clone();
    for spelling in cluster.spellings() {
        script.push_str(&format!("docker pull -q {spelling}/my-app:1\n"));
    }
    let run_job = |password: &str, script: &str| -> Output {
        let mut args: Vec<String> = vec!["run".into(), "--rm".into()];
        args.extend(["--network".into(), "host".into()]);
        args.extend(["--add-host".into(), format!("docker:{address}")]);
        args.extend(env_flags.iter().cloned());
        args.extend(["-e".into(), format!("REGISTRY_USER={USER}")]);
        args.extend(["-e".into(), format!("REGISTRY_PASSWORD={password}")]);
        args.extend(volumes.iter().cloned());
        args.extend(["docker:cli".into(), "sh".into(), "-c".into(), script.into()]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        rt.docker_out(&args, LIMIT)
    };
    let refused = run_job("wrong password", &job_script);
    assert!(
        !refused.status.success() && unauthorized(&refused),
        "a wrong password must fail the job's login as unauthorized: {}",
        text(&refused)
    );
    let out = run_job(PASSWORD, &script);
    assert_status_for(&out, 0, format_args!("the job\n{script}"));
    // The pulls went to the service's daemon.
    let images = rt.docker_out(
        &[
            "exec",
            "-e",
            "DOCKER_HOST=unix:///var/run/docker.sock",
            "-e",
            "DOCKER_TLS_VERIFY=",
            "dind-service",
            "docker",
            "images",
            "--format",
            "{{.Repository}}:{{.Tag}}",
        ],
        LIMIT,
    );
    for spelling in cluster.spellings() {
        let name = format!("{spelling}/my-app:1");
        // docker prints a 443 reference without the port only when it was pulled so.
        assert!(stdout(&images).contains(&name), "{name}: {}", text(&images));
    }
    rt.docker_out(&["rm", "-f", "dind-service"], LIMIT);
}

#[test]
fn dind_and_compose_snippets_pull_from_both_endpoints() {
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
