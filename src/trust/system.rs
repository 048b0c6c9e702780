//! The system trust store, for everything else on the host (curl, Go programs without
//! their own pool, the Mesos fetcher): Debian/Ubuntu `/usr/local/share/ca-certificates/
//! *.crt` + `update-ca-certificates`, RHEL/CentOS (the usual DC/OS agent) `/etc/pki/
//! ca-trust/source/anchors/` + `update-ca-trust extract`. The tools run only when ROOT is
//! `/`: under a staged root they would rebuild the wrong bundle.

use std::path::{Component, Path, PathBuf};
use std::time::SystemTime;

use super::running::{self, Restart};
use super::{cert_step, Anchor, Different, Host, Step, Target};

/// A symbolic link as `trust` found it: where it is (as seen from ROOT) and what it held.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Link {
    pub(crate) path: PathBuf,
    pub(crate) target: PathBuf,
}

const DEBIAN: &str = "/usr/local/share/ca-certificates";
const RHEL: &str = "/etc/pki/ca-trust/source/anchors";
/// Every directory this store writes into (the manifest's entries must stay inside).
pub(crate) const DIRS: [&str; 2] = [DEBIAN, RHEL];

/// The anchor directories of the layouts present (a path that cannot be resolved inside
/// `--root` is an error naming it).
fn layouts(host: &Host) -> anyhow::Result<Vec<(PathBuf, &'static str)>> {
    let mut out = Vec::new();
    if host.fs().is_dir(&host.path("/etc/pki/ca-trust")?) {
        out.push((host.path(RHEL)?, "update-ca-trust"));
    }
    let debian = host.path(DEBIAN)?;
    if host.fs().is_dir(&debian) || host.fs().exists(&host.path("/etc/ca-certificates.conf")?) {
        out.push((debian, "update-ca-certificates"));
    }
    Ok(out)
}

pub(crate) fn detect(host: &Host) -> bool {
    layouts(host).is_ok_and(|l| !l.is_empty())
}

pub(crate) fn check(
    host: &Host,
    anchors: &[Anchor],
    different: Different,
) -> anyhow::Result<Vec<Step>> {
    let dirs = layouts(host)?;
    // Where the tool links what it adds, read after writing (refresh) and by untrust: a
    // link there that cannot be resolved inside the root stops the run now, before the
    // first write, not after it.
    host.path(LINK_DIR)?;
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
                host.fs(),
                Target::System,
                vec![anchor.endpoint.clone()],
                path,
                &anchor.pem,
                different,
            )?);
        }
    }
    Ok(super::merge_same_path(steps))
}

pub(crate) fn notes(host: &Host) -> Vec<String> {
    if host.config.is_real_root() {
        Vec::new()
    } else {
        let tools: Vec<&str> = layouts(host)
            .unwrap_or_default()
            .into_iter()
            .map(|(_, tool)| tool)
            .collect();
        vec![format!(
            "system: run {} inside {} to rebuild its bundle (not run for a staged --root)",
            tools.join(" / "),
            host.config.root.value.display()
        )]
    }
}

/// Where Debian's `update-ca-certificates` links each certificate it adds to the bundle
/// (`<name>.pem`, and `<hash>.0` to that).
pub(crate) const LINK_DIR: &str = "/etc/ssl/certs";

/// Rebuild the bundle with the distribution's tool (only on the real root). Returns the
/// links it made that lead to one of `ours` (full paths of files `trust` just wrote), for
/// the manifest: those are the links `untrust` may remove later, and no others.
pub(crate) fn refresh(
    host: &Host,
    printer: &crate::output::Printer,
    ours: &[PathBuf],
) -> anyhow::Result<Vec<(PathBuf, Link)>> {
    let before = links(host)?;
    if host.config.is_real_root() {
        run_tools(host, printer);
    }
    new_links_to(host, &before, ours)
}

/// The symbolic links in ROOT/etc/ssl/certs: (full path, what it holds). A directory that
/// cannot be resolved inside the root is an error naming it; an absent one has none.
fn links(host: &Host) -> anyhow::Result<Vec<(PathBuf, PathBuf)>> {
    let Ok(entries) = host.fs().read_dir(&host.path(LINK_DIR)?) else {
        return Ok(Vec::new());
    };
    Ok(entries
        .into_iter()
        .filter(|(_, link)| *link)
        .filter_map(|(path, _)| Some((path.clone(), host.fs().read_link(&path).ok()?)))
        .collect())
}

/// The links not in `before` (or holding something else then) that lead to one of `ours`.
fn new_links_to(
    host: &Host,
    before: &[(PathBuf, PathBuf)],
    ours: &[PathBuf],
) -> anyhow::Result<Vec<(PathBuf, Link)>> {
    let mut found = Vec::new();
    for (link, target) in links(host)? {
        if before.iter().any(|(l, t)| *l == link && *t == target) {
            continue;
        }
        let Some(name) = link.file_name() else {
            continue;
        };
        if let Some(file) = ours.iter().find(|file| leads_to(host, &link, file)) {
            found.push((
                file.clone(),
                Link {
                    path: Path::new(LINK_DIR).join(name),
                    target,
                },
            ));
        }
    }
    Ok(found)
}

/// Whether the link at `link` (full path) reaches `file` (full path), following links as
/// the kernel would under ROOT (at most 8), by their text: `file` itself may be gone.
fn leads_to(host: &Host, link: &Path, file: &Path) -> bool {
    let mut at = link.to_path_buf();
    for _ in 0..8 {
        let Ok(target) = host.fs().read_link(&at) else {
            return false;
        };
        let next = if target.is_absolute() {
            match host.path(&target) {
                Ok(next) => next,
                Err(_) => return false,
            }
        } else {
            match at.parent() {
                Some(dir) => dir.join(&target),
                None => return false,
            }
        };
        let next = normalize(&next);
        if next == file {
            return true;
        }
        at = next;
    }
    false
}

/// `.` and `..` taken out by their text (a link's target is text, not a walk).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// After `untrust` removed our files (and the tool rebuilt the bundle): remove the links
/// the manifest recorded for them, each only while it is still a link holding what it
/// held and still leading to our file. Debian's `update-ca-certificates` takes a removed
/// file out of the bundle but, without `--fresh`, leaves its links dangling (`--fresh`
/// would also drop every link someone placed there by hand). Any other link is left alone,
/// whatever its name: an administrator's, even one named `dcosreg-*` or pointing at our
/// file, is theirs.
///
/// `removed`: each removed system-store file (as seen from ROOT) with the links the
/// manifest recorded for it.
pub(crate) fn prune_links(host: &Host, removed: &[(&Path, &[Link])]) -> anyhow::Result<()> {
    // Resolved once, an error naming it when it cannot be inside the root (uninstall
    // checked it before removing anything).
    let dir = host.path(LINK_DIR)?;
    // Decided for all first: a `<hash>.0` link leads to our file through `<name>.pem`.
    let doomed: Vec<PathBuf> = removed
        .iter()
        .flat_map(|(file, links)| links.iter().map(move |link| (*file, link)))
        .filter_map(|(file, link)| {
            // The link itself, not where it leads (Host::path follows the last component).
            let full = dir.join(link.path.file_name()?);
            let still = host
                .fs()
                .symlink_metadata(&full)
                .is_ok_and(|m| m.is_symlink())
                && host.fs().read_link(&full).is_ok_and(|t| t == link.target)
                && leads_to(host, &full, file);
            still.then_some(full)
        })
        .collect();
    for link in doomed {
        let _ = host.fs().remove_file(&link);
    }
    Ok(())
}

fn run_tools(host: &Host, printer: &crate::output::Printer) {
    for (_, tool) in layouts(host).unwrap_or_default() {
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
    // Unresolvable under the root: `check` said so, naming it.
    let Some((bundle, ours)) = ["/etc/ssl/certs", "/etc/pki/tls/certs"]
        .into_iter()
        .filter_map(|p| Some((p, host.path(p).ok()?)))
        .find(|(_, full)| host.fs().is_dir(full))
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (comm, service) in [
        ("dockerd", "docker"),
        ("containerd", "containerd"),
        ("buildkitd", "buildkit"),
    ] {
        for daemon in running::daemons(host.fs(), comm) {
            if daemon.reads(
                host.fs(),
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
                    command: running::restart_command(host.fs(), service),
                });
            }
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests build their fixtures directly
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    // What `trust` records: the links that appeared while the tool ran and lead to our file
    // (directly or through another link), not one that was there before, not one elsewhere.
    #[test]
    fn only_links_the_tool_made_to_our_file_are_recorded() {
        let root = tempfile::tempdir().unwrap();
        let config = super::super::staged_config(root.path(), "192.168.0.1", "192.168.1.50:5000");
        let host = super::super::staged_host(&config);
        let certs = host.path(LINK_DIR).unwrap();
        std::fs::create_dir_all(&certs).unwrap();
        let ours = host
            .path("/usr/local/share/ca-certificates/dcosreg-ab.crt")
            .unwrap();
        std::fs::create_dir_all(ours.parent().unwrap()).unwrap();
        std::fs::write(&ours, "pem").unwrap();
        // The administrator's, before the tool ran: one even leads to our file.
        symlink(
            "/usr/local/share/ca-certificates/dcosreg-ab.crt",
            certs.join("admin.pem"),
        )
        .unwrap();
        symlink("/nowhere/dcosreg-old.crt", certs.join("dcosreg-old.pem")).unwrap();
        let before = links(&host).unwrap();
        // What update-ca-certificates makes: an absolute link, a relative hash link to it,
        // and, for another certificate, links we must not claim.
        symlink(
            "/usr/local/share/ca-certificates/dcosreg-ab.crt",
            certs.join("dcosreg-ab.pem"),
        )
        .unwrap();
        symlink("dcosreg-ab.pem", certs.join("1a2b3c4d.0")).unwrap();
        symlink(
            "/usr/share/ca-certificates/other.crt",
            certs.join("other.pem"),
        )
        .unwrap();
        symlink("other.pem", certs.join("5e6f7a8b.0")).unwrap();
        let mut found: Vec<(PathBuf, PathBuf, PathBuf)> =
            new_links_to(&host, &before, std::slice::from_ref(&ours))
                .unwrap()
                .into_iter()
                .map(|(file, link)| (file, link.path, link.target))
                .collect();
        found.sort();
        assert_eq!(
            found,
            [
                (
                    ours.clone(),
                    PathBuf::from("/etc/ssl/certs/1a2b3c4d.0"),
                    PathBuf::from("dcosreg-ab.pem")
                ),
                (
                    ours.clone(),
                    PathBuf::from("/etc/ssl/certs/dcosreg-ab.pem"),
                    PathBuf::from("/usr/local/share/ca-certificates/dcosreg-ab.crt")
                ),
            ]
        );
        // Once our file is gone the links still lead to it by their text.
        std::fs::remove_file(&ours).unwrap();
        assert!(leads_to(&host, &certs.join("1a2b3c4d.0"), &ours));
        assert!(!leads_to(&host, &certs.join("5e6f7a8b.0"), &ours));
    }
}
