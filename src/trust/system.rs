//! The system trust store, for everything else on the host (curl, Go programs without
//! their own pool, the Mesos fetcher): Debian/Ubuntu `/usr/local/share/ca-certificates/
//! *.crt` + `update-ca-certificates`, RHEL/CentOS (the usual DC/OS agent) `/etc/pki/
//! ca-trust/source/anchors/` + `update-ca-trust extract`. The tools run only when ROOT is
//! `/`: under a staged root they would rebuild the wrong bundle.

use std::path::PathBuf;
use std::time::SystemTime;

use super::running::{self, Restart};
use super::{cert_step, Anchor, Host, Step, Target};

const DEBIAN: &str = "/usr/local/share/ca-certificates";
const RHEL: &str = "/etc/pki/ca-trust/source/anchors";
/// Every directory this store writes into (the manifest's entries must stay inside).
pub(crate) const DIRS: [&str; 2] = [DEBIAN, RHEL];

/// The anchor directories of the layouts present.
fn layouts(host: &Host) -> Vec<(PathBuf, &'static str)> {
    let mut out = Vec::new();
    if host.path("/etc/pki/ca-trust").is_dir() {
        out.push((host.path(RHEL), "update-ca-trust"));
    }
    if host.path(DEBIAN).is_dir() || host.path("/etc/ca-certificates.conf").exists() {
        out.push((host.path(DEBIAN), "update-ca-certificates"));
    }
    out
}

pub(crate) fn detect(host: &Host) -> bool {
    !layouts(host).is_empty()
}

pub(crate) fn check(host: &Host, anchors: &[Anchor], force: bool) -> anyhow::Result<Vec<Step>> {
    let dirs = layouts(host);
    if dirs.is_empty() {
        anyhow::bail!(
            "no known system trust store under {} (looked for {DEBIAN} and /etc/pki/ca-trust) — leave out --target system",
            host.config.root.value.display()
        );
    }
    let mut steps = Vec::new();
    for (dir, _) in &dirs {
        for anchor in anchors {
            // Named by fingerprint: one file per CA however many endpoints share it.
            let path = dir.join(format!("dcosreg-{}.crt", anchor.tag()));
            steps.push(cert_step(
                Target::System,
                vec![anchor.endpoint.clone()],
                path,
                &anchor.pem,
                force,
            )?);
        }
    }
    Ok(super::merge_same_path(steps))
}

pub(crate) fn notes(host: &Host) -> Vec<String> {
    if host.config.is_real_root() {
        Vec::new()
    } else {
        let tools: Vec<&str> = layouts(host).into_iter().map(|(_, tool)| tool).collect();
        vec![format!(
            "system: run {} inside {} to rebuild its bundle (not run for a staged --root)",
            tools.join(" / "),
            host.config.root.value.display()
        )]
    }
}

/// Rebuild the bundle with the distribution's tool (only on the real root), then remove the
/// links to our removed files that it leaves behind.
pub(crate) fn refresh(host: &Host, printer: &crate::output::Printer) {
    if host.config.is_real_root() {
        run_tools(host, printer);
    }
    prune_dangling_links(host);
}

/// Debian's `update-ca-certificates` takes a removed file out of the bundle but, without
/// `--fresh`, leaves its `/etc/ssl/certs/<name>.pem` link and the `<hash>.0` link to that
/// dangling (`--fresh` would also drop every link someone placed there by hand). Remove
/// exactly the dangling links that name our files (`dcosreg-*`), resolved under ROOT.
fn prune_dangling_links(host: &Host) {
    let dir = host.path("/etc/ssl/certs");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    let mut links: Vec<(PathBuf, PathBuf)> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_symlink()))
        .filter_map(|e| Some((e.path(), std::fs::read_link(e.path()).ok()?)))
        .filter(|(link, target)| {
            let ours = |p: &std::path::Path| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("dcosreg-"))
            };
            ours(link) || ours(target)
        })
        .collect();
    // `dcosreg-*.pem` first: the hash links point at those.
    links.sort_by_key(|(link, _)| {
        !link
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("dcosreg-"))
    });
    for (link, target) in links {
        let resolved = if target.is_absolute() {
            host.path(&target)
        } else {
            dir.join(&target)
        };
        if std::fs::symlink_metadata(&resolved).is_err() {
            let _ = std::fs::remove_file(&link);
        }
    }
}

fn run_tools(host: &Host, printer: &crate::output::Printer) {
    for (_, tool) in layouts(host) {
        let mut command = std::process::Command::new(tool);
        if tool == "update-ca-trust" {
            command.arg("extract");
        }
        match command.stdout(std::process::Stdio::null()).status() {
            Ok(status) if status.success() => {}
            Ok(status) => printer.warn(format!(
                "system: {tool} exited with {status} — run it by hand"
            )),
            Err(e) => printer.warn(format!(
                "system: cannot run {tool} ({e}) — install ca-certificates and run it by hand"
            )),
        }
    }
}

/// The daemons that loaded the system roots before they changed at `when`. Go reads the
/// system roots once per process (crypto/x509 `systemRoots`, behind a `sync.Once`;
/// `SystemCertPool` returns copies of it), so dockerd, containerd and buildkitd keep
/// the roots of their first TLS connection until they restart: a CA added is not seen,
/// a CA removed stays trusted (proven for dockerd in tests/runtime.rs).
pub(crate) fn restarts(host: &Host, when: SystemTime) -> Vec<Restart> {
    let Some(bundle) = ["/etc/ssl/certs", "/etc/pki/tls/certs"]
        .into_iter()
        .find(|p| host.path(p).is_dir())
    else {
        return Vec::new();
    };
    let ours = host.path(bundle);
    let mut out = Vec::new();
    for (comm, service) in [
        ("dockerd", "docker"),
        ("containerd", "containerd"),
        ("buildkitd", "buildkit"),
    ] {
        for daemon in running::daemons(comm) {
            if daemon.reads(
                &ours,
                std::path::Path::new(bundle),
                host.config.is_real_root(),
            ) && daemon.predates(when)
            {
                out.push(Restart {
                    service,
                    why: format!(
                        "{comm} (pid {}, started {}) loaded the system roots before they changed; Go reads them once per process",
                        daemon.pid,
                        daemon.started_text()
                    ),
                    command: running::restart_command(service),
                });
            }
        }
    }
    out
}
