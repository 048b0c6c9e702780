//! Real container runtimes for tests: a private `containerd` and a private `dockerd`
//! (Debian's `containerd` 1.6 and `docker.io` 20.10), never the system daemons.
//!
//! Both run inside a private mount namespace (`unshare -m`) whose `/etc` is an overlay:
//! the host's `/etc` below, a temp directory above. So `docker-dcosreg trust --root /`
//! run in that namespace ([`Runtime::dcosreg`]) writes exactly the `/etc/docker/certs.d`,
//! `/etc/containerd`, `/etc/containers` and `/etc/ssl/certs` the daemons, `ctr` and `podman`
//! read there ([`Runtime::in_ns`]), and nothing on the host changes. dockerd reads
//! `/etc/docker/certs.d` hard-coded, so this is the only honest way to point it at a test
//! directory.
//!
//! Everything runs under one holder shell in its own process group: [`Drop`] stops it by
//! that group id (also when a test panics), then kills whatever is left in the namespace
//! (containerd shims set their own process group); a watchdog in the holder takes the
//! daemons down if the test process dies without unwinding. Every wait is bounded.
//!
//! `/var/lib` is an overlay there too, so the manifest `trust --root /` keeps in
//! `/var/lib/docker-dcosreg` stays in the namespace. The host state a missing overlay would
//! change ([`HOST_WATCHED`]) is read when a runtime starts and again after it stopped:
//! [`Drop`] fails the test unless it is byte for byte the same.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::{assert_status_for, bin_path, output_within, require_tool, Dcosreg, Netns, Registry};

/// The Debian docker CLI (20.10): it builds with the daemon's embedded BuildKit without
/// buildx. `/usr/local/bin/docker` (a newer CLI, first in PATH) wants buildx for that.
pub const DOCKER_CLI: &str = "/usr/bin/docker";

/// How long a daemon may take to answer after (re)starting.
const START_LIMIT: Duration = Duration::from_secs(30);

/// The host paths `trust`/`untrust --root /` in the namespace would change, were an overlay
/// missing: the manifest's directory, the stores and the system CA store; and containerd's
/// `opt` plugin directory (the harness points it into its temp dir).
pub const HOST_WATCHED: [&str; 6] = [
    "/opt/containerd",
    "/var/lib/docker-dcosreg",
    "/etc/docker",
    "/etc/containerd",
    "/etc/ssl/certs",
    "/usr/local/share/ca-certificates",
];

/// Every path under [`HOST_WATCHED`] (links not followed) with what it is: its mode and
/// owner, and a link's text or a file's SHA-256; an absent root is recorded as absent.
pub fn host_state() -> BTreeMap<PathBuf, String> {
    use std::os::unix::fs::MetadataExt;
    let mut out = BTreeMap::new();
    let mut stack: Vec<PathBuf> = HOST_WATCHED.iter().map(PathBuf::from).collect();
    while let Some(path) = stack.pop() {
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            out.insert(path, "absent".to_string());
            continue;
        };
        let what = if meta.is_symlink() {
            format!(
                "link {}",
                std::fs::read_link(&path)
                    .map(|t| t.display().to_string())
                    .unwrap_or_default()
            )
        } else if meta.is_dir() {
            for entry in std::fs::read_dir(&path).into_iter().flatten().flatten() {
                stack.push(entry.path());
            }
            "dir".to_string()
        } else {
            let bytes = std::fs::read(&path).unwrap_or_default();
            format!("file {}", super::sha256_hex(&bytes))
        };
        out.insert(
            path,
            format!("{what} {:o} {}:{}", meta.mode(), meta.uid(), meta.gid()),
        );
    }
    out
}

/// A private containerd + dockerd pair in a private mount namespace.
pub struct Runtime {
    holder: Child,
    /// [`host_state`] before the namespace was made.
    host_before: BTreeMap<PathBuf, String>,
    dir: tempfile::TempDir,
    /// `unix://…/docker.sock`.
    pub docker_host: String,
    /// containerd's grpc socket.
    pub containerd_sock: PathBuf,
}

/// The holder: overlay `/etc`, then keep containerd and dockerd running (restarted by the
/// loop when a test stops one, until `stopping` exists), and a watchdog on the test process.
const HOLDER: &str = r#"
set -u
T="$1"; WATCH="$2"
mount -t overlay overlay -o "lowerdir=/etc,upperdir=$T/etc-upper,workdir=$T/etc-work" /etc || exit 90
mount -t overlay overlay -o "lowerdir=/usr/local/share/ca-certificates,upperdir=$T/lsc-upper,workdir=$T/lsc-work" /usr/local/share/ca-certificates || exit 91
mount -t overlay overlay -o "lowerdir=/var/lib,upperdir=$T/varlib-upper,workdir=$T/varlib-work" /var/lib || exit 92
keep() { while [ ! -e "$T/stopping" ]; do "$@"; sleep 0.1; done; }
keep containerd --config "$T/containerd.toml" >>"$T/containerd.log" 2>&1 &
keep dockerd --containerd "$T/containerd.sock" --data-root "$T/docker-data" \
  --exec-root "$T/docker-exec" --pidfile "$T/docker.pid" -H "unix://$T/docker.sock" \
  --config-file "$T/daemon.json" --storage-driver=vfs --iptables=false --ip6tables=false \
  --bridge=none --shutdown-timeout 2 >>"$T/dockerd.log" 2>&1 &
while [ ! -e "$T/stopping" ] && kill -0 "$WATCH" 2>/dev/null; do sleep 1; done
touch "$T/stopping"
# Reached on Drop (which then stops this group itself) or when the test process died
# without unwinding: then stop the daemons here and remove the temp dir.
trap '' TERM
kill -TERM 0
wait
kill -0 "$WATCH" 2>/dev/null || rm -rf "$T"
"#;

impl Runtime {
    /// Start containerd and dockerd and wait until dockerd answers.
    pub fn start() -> Runtime {
        for tool in ["unshare", "nsenter", "containerd", "dockerd", "skopeo"] {
            if !Path::new("/usr/sbin").join(tool).is_file() {
                require_tool(tool);
            }
        }
        assert!(
            Path::new(DOCKER_CLI).is_file(),
            "{DOCKER_CLI} is missing: run .ci/run (it installs docker.io)"
        );
        let dir = tempfile::Builder::new()
            .prefix("dcosreg-rt")
            .tempdir()
            .expect("tempdir");
        let t = dir.path();
        for sub in [
            "etc-upper",
            "etc-work",
            "lsc-upper",
            "lsc-work",
            "varlib-upper",
            "varlib-work",
            "containerd-root",
            "containerd-state",
            "docker-data",
            "docker-exec",
        ] {
            std::fs::create_dir_all(t.join(sub)).expect("runtime dirs");
        }
        let containerd_sock = t.join("containerd.sock");
        std::fs::write(
            t.join("containerd.toml"),
            format!(
                "version = 2\nroot = \"{root}\"\nstate = \"{state}\"\n[grpc]\n  address = \"{sock}\"\n[ttrpc]\n  address = \"{sock}.ttrpc\"\n[debug]\n  address = \"\"\n[metrics]\n  address = \"\"\n[plugins.\"io.containerd.grpc.v1.cri\"]\n  disable_tcp_service = true\n[plugins.\"io.containerd.internal.v1.opt\"]\n  path = \"{opt}\"\n",
                opt = t.join("containerd-opt").display(),
                root = t.join("containerd-root").display(),
                state = t.join("containerd-state").display(),
                sock = containerd_sock.display(),
            ),
        )
        .expect("containerd.toml");
        // A private daemon.json, so the host's /etc/docker/daemon.json is never read.
        std::fs::write(t.join("daemon.json"), "{}\n").expect("daemon.json");
        let host_before = host_state();
        let mut command = Command::new("unshare");
        command
            .args([
                "-m",
                "--propagation",
                "private",
                "sh",
                "-c",
                HOLDER,
                "holder",
            ])
            .arg(t)
            .arg(std::process::id().to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let holder = command.spawn().expect("start the runtime holder (unshare)");
        let runtime = Runtime {
            holder,
            host_before,
            docker_host: format!("unix://{}", t.join("docker.sock").display()),
            containerd_sock,
            dir,
        };
        runtime.wait_docker(None);
        runtime
    }

    /// The temp directory holding sockets, logs and data.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The holder's pid (its mount namespace is the daemons').
    pub fn pid(&self) -> u32 {
        self.holder.id()
    }

    /// Wait until `docker version` answers (and, after a restart, a dockerd other than
    /// `old_pid` wrote its pidfile).
    fn wait_docker(&self, old_pid: Option<u32>) {
        let deadline = Instant::now() + START_LIMIT;
        loop {
            let fresh = match old_pid {
                None => true,
                Some(old) => self.dockerd_pid().is_some_and(|p| p != old),
            };
            if fresh {
                let out = output_within(
                    &mut self.docker(&["version", "--format", "{{.Server.Version}}"]),
                    Duration::from_secs(5),
                );
                if out.status.success() {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "dockerd did not answer within {START_LIMIT:?}; its log:\n{}\ncontainerd's log:\n{}",
                tail(&self.log("dockerd.log")),
                tail(&self.log("containerd.log"))
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The running dockerd's pid, from its pidfile.
    pub fn dockerd_pid(&self) -> Option<u32> {
        std::fs::read_to_string(self.dir().join("docker.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// Stop dockerd (TERM by pid) and wait for the holder to start a new one: what
    /// `systemctl restart docker` does on a host.
    pub fn restart_docker(&self) {
        let old = self.dockerd_pid().expect("dockerd is running");
        signal("TERM", &old.to_string());
        self.wait_docker(Some(old));
    }

    /// The running containerd's pid (the one in our namespace).
    pub fn containerd_pid(&self) -> Option<u32> {
        let ns = std::fs::read_link(format!("/proc/{}/ns/mnt", self.pid())).ok()?;
        pids_in_mount_ns(&ns).into_iter().find(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim_end() == "containerd")
        })
    }

    /// Stop containerd (TERM by pid) and wait until a new one answers `ctr version`.
    pub fn restart_containerd(&self) {
        let old = self.containerd_pid().expect("containerd is running");
        signal("TERM", &old.to_string());
        let deadline = Instant::now() + START_LIMIT;
        loop {
            let fresh = self.containerd_pid().is_some_and(|p| p != old);
            if fresh
                && self
                    .ctr(&["version"], Duration::from_secs(5))
                    .status
                    .success()
            {
                // dockerd reconnects to it on its own; wait until it answers again.
                self.wait_docker(None);
                return;
            }
            assert!(
                Instant::now() < deadline,
                "containerd did not come back within {START_LIMIT:?}:\n{}",
                tail(&self.log("containerd.log"))
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Do what a `restart` entry of `trust`/`untrust` says, the way this runtime runs its
    /// daemons (the entry's `command` is `systemctl restart SERVICE` on a host).
    pub fn restart(&self, service: &str) {
        match service {
            "docker" => self.restart_docker(),
            "containerd" => self.restart_containerd(),
            other => panic!("no {other} runs in the test runtime, yet a restart was asked"),
        }
    }

    /// `ctr -a SOCK ARGS` inside the namespace.
    pub fn ctr(&self, args: &[&str], limit: Duration) -> Output {
        let sock = self.containerd_sock.to_string_lossy().into_owned();
        let mut full = vec!["-a", sock.as_str()];
        full.extend_from_slice(args);
        self.in_ns_out("ctr", &full, limit)
    }

    /// `ctr images pull --hosts-dir /etc/containerd/certs.d REF`: Ok, or Err with its output.
    pub fn ctr_pull(&self, reference: &str) -> Result<(), String> {
        let out = self.ctr(
            &[
                "images",
                "pull",
                "--hosts-dir",
                "/etc/containerd/certs.d",
                reference,
            ],
            Duration::from_secs(60),
        );
        result(out)
    }

    /// `podman pull REF` inside the namespace (Debian podman, vfs, private storage): reads
    /// /etc/containers/certs.d and /etc/docker/certs.d there. Ok, or Err with its output.
    pub fn podman_pull(&self, reference: &str) -> Result<(), String> {
        let root = self.dir().join("podman-root");
        let run = self.dir().join("podman-run");
        result(output_within(
            self.in_ns("podman")
                .arg("--root")
                .arg(&root)
                .arg("--runroot")
                .arg(&run)
                .args([
                    "--storage-driver",
                    "vfs",
                    "--events-backend",
                    "none",
                    "--cgroup-manager",
                    "cgroupfs",
                    "pull",
                    "-q",
                    reference,
                ])
                .env("HOME", self.dir().join("home")),
            Duration::from_secs(60),
        ))
    }

    /// A log of the runtime (`dockerd.log`, `containerd.log`).
    pub fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir().join(name)).unwrap_or_default()
    }

    /// The Debian docker CLI talking to this dockerd, with a private client config.
    pub fn docker(&self, args: &[&str]) -> Command {
        let config = self.dir().join("docker-client");
        let mut command = Command::new(DOCKER_CLI);
        command
            .args(["-H", &self.docker_host])
            .args(args)
            .env("DOCKER_CONFIG", &config)
            .env_remove("DOCKER_HOST")
            .env_remove("DOCKER_CONTEXT")
            .stdin(Stdio::null());
        command
    }

    /// Run the docker CLI with a deadline; returns its output.
    pub fn docker_out(&self, args: &[&str], limit: Duration) -> Output {
        output_within(&mut self.docker(args), limit)
    }

    /// `program` run inside the daemons' mount namespace (sees the overlaid /etc).
    pub fn in_ns(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new("nsenter");
        command
            .arg("-t")
            .arg(self.pid().to_string())
            .args(["-m", "--"])
            .arg(program)
            .stdin(Stdio::null());
        command
    }

    /// Run a command in the namespace with a deadline.
    pub fn in_ns_out(&self, program: &str, args: &[&str], limit: Duration) -> Output {
        output_within(self.in_ns(program).args(args), limit)
    }

    /// The binary under test inside the namespace, run as [`Dcosreg`] (its HOME kept
    /// in the runtime's directory), talking to this runtime's dockerd.
    pub fn dcosreg_in(&self, args: &[&str]) -> Dcosreg {
        let home = self.dir().join("home");
        let _ = std::fs::create_dir_all(&home);
        Dcosreg::via(self.in_ns(bin_path()))
            .args(args)
            .home(&home)
            .env("DOCKER_HOST", &self.docker_host)
            .timeout(Duration::from_secs(60))
    }

    /// [`Runtime::dcosreg_in`], run; `--root /` there is the daemons' `/etc`.
    pub fn dcosreg(&self, args: &[&str]) -> Output {
        self.dcosreg_in(args).run()
    }

    /// Make `tag` from nothing: a busybox-static rootfs (`/bin/busybox` and a few
    /// applet links) through `docker import`.
    pub fn import_busybox(&self, tag: &str) {
        let busybox = require_tool("busybox");
        let rootfs = tempfile::tempdir().expect("tempdir");
        let bin = rootfs.path().join("bin");
        std::fs::create_dir_all(&bin).expect("rootfs/bin");
        std::fs::copy(&busybox, bin.join("busybox")).expect("copy busybox");
        for applet in ["sh", "ls", "cat", "echo", "true", "test", "wget"] {
            std::os::unix::fs::symlink("busybox", bin.join(applet)).expect("applet link");
        }
        let tarball = rootfs.path().join("rootfs.tar");
        let tar = Command::new("tar")
            .arg("-C")
            .arg(rootfs.path())
            .arg("-cf")
            .arg(&tarball)
            .arg("bin")
            .status()
            .expect("run tar");
        assert!(tar.success(), "tar of the busybox rootfs failed");
        let out = self.docker_out(
            &["import", &tarball.to_string_lossy(), tag],
            Duration::from_secs(60),
        );
        assert_status_for(&out, 0, format_args!("docker import {tag} failed"));
    }

    /// Push a daemon image to `dest` (`host[:port]/repo:tag`) with skopeo, trusting the
    /// CA files in `cert_dir` (skopeo's `--dest-cert-dir`).
    pub fn push(&self, image: &str, dest: &str, cert_dir: &Path) {
        let out = output_within(
            Command::new(require_tool("skopeo"))
                .args([
                    "copy",
                    "--retry-times",
                    "0",
                    "--src-daemon-host",
                    &self.docker_host,
                ])
                .arg("--dest-cert-dir")
                .arg(cert_dir)
                .arg(format!("docker-daemon:{image}"))
                .arg(format!("docker://{dest}"))
                .env("HOME", self.dir()),
            Duration::from_secs(60),
        );
        assert_status_for(
            &out,
            0,
            format_args!("skopeo copy {image} -> {dest} failed"),
        );
    }

    /// `docker pull REF`: Ok, or Err with the daemon's error line.
    pub fn pull(&self, reference: &str) -> Result<(), String> {
        let out = self.docker_out(&["pull", "-q", reference], Duration::from_secs(60));
        if out.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
        }
    }

    /// Remove an image tag (ignore "no such image").
    pub fn rmi(&self, reference: &str) {
        let _ = self.docker_out(&["rmi", "-f", reference], Duration::from_secs(30));
    }

    /// A BuildKit build (`DOCKER_BUILDKIT=1`) of `FROM base` + a `RUN`, without the
    /// build cache, network `none` (the daemon has no bridge). Ok, or Err with the output.
    pub fn buildkit_build(&self, base: &str) -> Result<(), String> {
        self.build(base, true)
    }

    /// The classic builder (`DOCKER_BUILDKIT=0`) of the same file.
    pub fn classic_build(&self, base: &str) -> Result<(), String> {
        self.build(base, false)
    }

    fn build(&self, base: &str, buildkit: bool) -> Result<(), String> {
        let context = tempfile::tempdir_in(self.dir()).expect("build context");
        std::fs::write(
            context.path().join("Dockerfile"),
            format!("FROM {base}\nRUN echo built > /built\n"),
        )
        .expect("Dockerfile");
        result(output_within(
            self.docker(&["build", "--no-cache", "--pull", "--network", "none", "-q"])
                .arg(context.path())
                .env("DOCKER_BUILDKIT", if buildkit { "1" } else { "0" }),
            Duration::from_secs(120),
        ))
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        let t = self.dir.path().to_path_buf();
        let _ = std::fs::write(t.join("stopping"), b"");
        let ns = std::fs::read_link(format!("/proc/{}/ns/mnt", self.holder.id())).ok();
        // dockerd first (it stops its containers, --shutdown-timeout 2), then the group.
        if let Some(pid) = self.dockerd_pid() {
            signal("TERM", &pid.to_string());
            let deadline = Instant::now() + Duration::from_secs(10);
            while Path::new(&format!("/proc/{pid}")).exists() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        let group = format!("-{}", self.holder.id());
        signal("TERM", &group);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match self.holder.try_wait() {
                Ok(Some(_)) | Err(_) => break,
                Ok(None) if Instant::now() >= deadline => {
                    signal("KILL", &group);
                    let _ = self.holder.wait();
                    break;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
        signal("KILL", &group);
        // Shims and anything else still in our mount namespace.
        if let Some(ns) = ns {
            for pid in pids_in_mount_ns(&ns) {
                signal("KILL", &pid.to_string());
            }
        }
        // The host as it was: every write went to the namespace's overlays.
        let after = host_state();
        if after != self.host_before && !std::thread::panicking() {
            let paths: std::collections::BTreeSet<&PathBuf> =
                self.host_before.keys().chain(after.keys()).collect();
            let changed: Vec<String> = paths
                .into_iter()
                .filter(|p| self.host_before.get(*p) != after.get(*p))
                .map(|p| {
                    format!(
                        "{}: {} -> {}",
                        p.display(),
                        self.host_before.get(p).map_or("absent", String::as_str),
                        after.get(p).map_or("absent", String::as_str)
                    )
                })
                .collect();
            panic!(
                "the runtime tests changed the host (another worktree's runtime tests running at the same time do too):\n{}",
                changed.join("\n")
            );
        }
    }
}

/// Send a signal by pid (or `-pgid`) with kill(1): no libc binding for one call.
fn signal(name: &str, target: &str) {
    let _ = Command::new("kill")
        .args([&format!("-{name}"), "--", target])
        .stderr(Stdio::null())
        .status();
}

fn pids_in_mount_ns(ns: &Path) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| *pid != std::process::id())
        .filter(|pid| {
            std::fs::read_link(format!("/proc/{pid}/ns/mnt")).is_ok_and(|link| link == ns)
        })
        .collect()
}

fn result(out: Output) -> Result<(), String> {
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// A runtime and a [`ClusterRegistry`] holding `base/app:1` (busybox made from nothing,
/// pushed through the VIP).
pub fn runtime_with_app() -> (Runtime, ClusterRegistry) {
    let rt = Runtime::start();
    let reg = ClusterRegistry::start();
    rt.import_busybox("local/busybox:1");
    rt.push(
        "local/busybox:1",
        &format!("{}/base/app:1", reg.vip),
        &reg.ca_dir,
    );
    (rt, reg)
}

/// The registry as a DC/OS cluster exposes it, inside a network namespace: the VIP form
/// on `IP:443` and the Marathon-LB form on `IP:5000`, two `docker-registry` processes
/// sharing one storage directory (one registry, two ways in), with one CA.
pub struct ClusterRegistry {
    pub ns: Netns,
    pub chain: super::peers::TestChain,
    /// `IP` (port 443 implied), as `--internal` and image references spell it.
    pub vip: String,
    /// `IP:5000`.
    pub mlb: String,
    /// A directory holding the CA as `ca.crt` (for skopeo `--dest-cert-dir`).
    pub ca_dir: PathBuf,
    _registries: Vec<Registry>,
    _dir: tempfile::TempDir,
}

impl ClusterRegistry {
    pub fn start() -> ClusterRegistry {
        let dir = tempfile::tempdir().expect("tempdir");
        let ns = Netns::create();
        let chain = super::peers::TestChain::new(dir.path(), &[&ns.inner_ip]);
        let storage = dir.path().join("storage");
        let registries = vec![
            Registry::start_in_netns_sharing(
                &ns,
                443,
                &chain.chain_pem,
                &chain.key_pem,
                Some(&storage),
                "",
            ),
            Registry::start_in_netns_sharing(
                &ns,
                5000,
                &chain.chain_pem,
                &chain.key_pem,
                Some(&storage),
                "",
            ),
        ];
        let ca_dir = dir.path().join("ca");
        std::fs::create_dir_all(&ca_dir).expect("ca dir");
        std::fs::write(ca_dir.join("ca.crt"), &chain.ca_pem).expect("ca.crt");
        ClusterRegistry {
            vip: ns.inner_ip.clone(),
            mlb: format!("{}:5000", ns.inner_ip),
            ns,
            chain,
            ca_dir,
            _registries: registries,
            _dir: dir,
        }
    }

    /// Stop the registry behind one port (443: the VIP, 5000: Marathon-LB): that
    /// endpoint then refuses connections, as a cluster with that way in down does.
    pub fn stop(&mut self, port: u16) {
        let suffix = format!(":{port}");
        self._registries.retain(|r| !r.addr.ends_with(&suffix));
    }

    /// Serve `chain` (a renewed certificate, or one from a rotated CA) on both ports from
    /// the same storage, as a registry redeployed with new files does; the chain served
    /// until now is given back.
    pub fn serve(&mut self, chain: super::peers::TestChain) -> super::peers::TestChain {
        self._registries.clear();
        let storage = self._dir.path().join("storage");
        self._registries = [443, 5000]
            .map(|port| {
                Registry::start_in_netns_sharing(
                    &self.ns,
                    port,
                    &chain.chain_pem,
                    &chain.key_pem,
                    Some(&storage),
                    "",
                )
            })
            .into();
        std::mem::replace(&mut self.chain, chain)
    }

    /// The CA's SHA-256 fingerprint (what `trust --fingerprint` pins).
    pub fn ca_fingerprint(&self) -> String {
        self.chain.fingerprints()[1].clone()
    }

    /// The three spellings of the one registry: `IP`, `IP:443`, `IP:5000`.
    pub fn spellings(&self) -> [String; 3] {
        [
            self.vip.clone(),
            format!("{}:443", self.vip),
            self.mlb.clone(),
        ]
    }
}
