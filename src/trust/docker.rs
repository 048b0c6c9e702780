//! Docker: `/etc/docker/certs.d/<host[:port]>/ca.crt`. dockerd's classic pull and push read
//! it on every connection to that registry (no restart), but its embedded BuildKit does not:
//! see [`restarts`]. Rootless Docker reads
//! `$XDG_CONFIG_HOME/docker/certs.d` instead; Docker Desktop `~/.docker/certs.d` (and
//! needs a restart). The docker CLI itself (`docker manifest inspect`) reads the same
//! `/etc/docker/certs.d` (docker/cli `registry.CertsDir`).

use std::path::PathBuf;
use std::time::SystemTime;

use super::running::{self, Restart};
use super::{cert_step, Anchor, Host, Step, Target};

pub(crate) fn detect(_host: &Host) -> bool {
    true
}

/// Rootless dockerd: its socket lives in `$XDG_RUNTIME_DIR/docker.sock`.
fn rootless(host: &Host) -> bool {
    !host.is_root
        && host
            .xdg_runtime
            .as_ref()
            .is_some_and(|dir| dir.join("docker.sock").exists())
}

/// The certs.d directory to install into.
pub(crate) fn certs_dir(host: &Host) -> PathBuf {
    if rootless(host) {
        if let Some(dir) = host.user_config("docker/certs.d") {
            return dir;
        }
    }
    host.path("/etc/docker/certs.d")
}

pub(crate) fn check(host: &Host, anchors: &[Anchor], force: bool) -> anyhow::Result<Vec<Step>> {
    certs_d_steps(Target::Docker, &certs_dir(host), anchors, force)
}

/// `DIR/<name>/ca.crt` for every certs.d name of every endpoint (both `h` and `h:443`).
pub(crate) fn certs_d_steps(
    target: Target,
    dir: &std::path::Path,
    anchors: &[Anchor],
    force: bool,
) -> anyhow::Result<Vec<Step>> {
    let mut steps = Vec::new();
    for anchor in anchors {
        for name in anchor.endpoint.certs_d_names() {
            steps.push(cert_step(
                target,
                vec![anchor.endpoint.clone()],
                dir.join(name).join("ca.crt"),
                &anchor.pem,
                force,
            )?);
        }
    }
    Ok(steps)
}

/// Which running dockerd must restart after its certs.d changed at `when`.
///
/// Measured with Debian's dockerd 20.10 (tests/runtime.rs): classic `docker pull`/`push`
/// and the classic builder see a new `certs.d/<host>` at once (moby `registry.
/// ReadCertsDirectory` runs per connection). The embedded BuildKit (`DOCKER_BUILDKIT=1
/// docker build`, buildx's default `docker` driver) lists the certs.d directories once
/// when dockerd starts (moby `Daemon.RegistryHosts`) and keeps the CA files it loaded:
/// a directory created later is never seen, a CA added to a directory it already used is
/// not read, and a removed CA stays trusted. So every change to certs.d while dockerd
/// runs needs a restart before builds see it; only a daemon started after the change
/// needs none. A dockerd that does not read this certs.d (a staged `--root`, another mount
/// namespace) is not asked to restart.
pub(crate) fn restarts(host: &Host, when: SystemTime) -> Vec<Restart> {
    let dir = certs_dir(host);
    let daemon_dir = host.unrooted(&dir);
    let command = if rootless(host) {
        "systemctl --user restart docker".to_string()
    } else {
        running::restart_command("docker")
    };
    running::daemons("dockerd")
        .into_iter()
        .filter(|d| d.reads(&dir, &daemon_dir, host.config.is_real_root()) && d.predates(when))
        .map(|d| Restart {
            service: "docker",
            why: format!(
                "dockerd (pid {}, started {}) predates the change to {}: its embedded BuildKit (DOCKER_BUILDKIT=1 docker build, buildx's docker driver) sees certs.d only as it was when dockerd started; classic pull and push see it already",
                d.pid,
                d.started_text(),
                daemon_dir.display()
            ),
            command: command.clone(),
        })
        .collect()
}

pub(crate) fn notes(host: &Host) -> Vec<String> {
    let mut notes = Vec::new();
    if host
        .home
        .as_ref()
        .is_some_and(|h| h.join(".docker/desktop").exists())
    {
        notes.push(
            "docker: Docker Desktop reads ~/.docker/certs.d instead and must be restarted"
                .to_string(),
        );
    }
    notes
}

pub(crate) fn traps(host: &Host, anchors: &[Anchor]) -> Vec<String> {
    let dir = certs_dir(host);
    let mut found = certs_d_traps("docker", &dir, anchors);
    found.extend(insecure_registry_traps(host, anchors));
    found
}

/// Traps shared by every reader of Docker-style certs.d directories.
pub(crate) fn certs_d_traps(store: &str, dir: &std::path::Path, anchors: &[Anchor]) -> Vec<String> {
    let mut found = Vec::new();
    for anchor in anchors {
        for name in anchor.endpoint.certs_d_names() {
            found.extend(key_without_cert(store, &dir.join(&name)));
        }
        // Docker looks up certs.d/<host:port> for a non-443 endpoint; a directory named
        // after the host alone is never read for it (docker/docker registry/registry.go
        // `HostCertsDir(hostname)` with the reference's host:port).
        if anchor.endpoint.port != crate::endpoint::DEFAULT_PORT {
            let bare = dir.join(anchor.endpoint.host.to_string());
            if bare.is_dir() {
                found.push(format!(
                    "{store}: {} is named without the port, so it is ignored for {} — the CA belongs in {}",
                    bare.display(),
                    anchor.endpoint,
                    dir.join(anchor.endpoint.host_port()).display()
                ));
            }
        }
    }
    found
}

/// A `*.key` without its `*.cert` makes Docker fail every pull from that registry
/// ("missing client certificate X.cert for key X.key", docker/go-connections
/// `ReadCertsDirectory`).
fn key_without_cert(store: &str, dir: &std::path::Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "key") && !path.with_extension("cert").exists() {
            found.push(format!(
                "{store}: {} has no matching {} — Docker then fails every pull from this registry; add the client certificate or remove the key",
                path.display(),
                path.with_extension("cert")
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            ));
        }
    }
    found
}

/// An endpoint listed in daemon.json `insecure-registries` skips certificate checks, so the
/// CA installed here is never consulted for it.
fn insecure_registry_traps(host: &Host, anchors: &[Anchor]) -> Vec<String> {
    let path = host.path("/etc/docker/daemon.json");
    let Ok(text) = crate::fsutil::read_text(&path) else {
        return Vec::new();
    };
    let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) else {
        return vec![format!(
            "docker: {} is not valid JSON — dockerd will refuse to start; fix it",
            path.display()
        )];
    };
    let listed: Vec<String> = json
        .get("insecure-registries")
        .and_then(|v| v.as_array())
        .map(|list| {
            list.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let mut found = Vec::new();
    for anchor in anchors {
        let ep = &anchor.endpoint;
        if let Some(entry) = listed.iter().find(|entry| insecure_matches(entry, ep)) {
            found.push(format!(
                "docker: {ep} is in insecure-registries ({entry:?}) in {} — certificates are then not verified and certs.d is ignored; remove it from the list and restart docker",
                path.display()
            ));
        }
    }
    found
}

/// Docker matches `insecure-registries` entries as `host[:port]` or as a CIDR that
/// contains the registry's IP (docker/docker registry/config.go `isSecureIndex`).
fn insecure_matches(entry: &str, ep: &crate::endpoint::Endpoint) -> bool {
    if let Ok(listed) = entry.parse::<crate::endpoint::Endpoint>() {
        if &listed == ep && (listed.explicit_port || ep.port == crate::endpoint::DEFAULT_PORT) {
            return true;
        }
    }
    match ep.host {
        crate::endpoint::Host::Ip(ip) => crate::endpoint::cidr_contains(entry, ip),
        crate::endpoint::Host::Dns(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insecure_entries_match_like_docker() {
        let vip: crate::endpoint::Endpoint = "192.168.0.1".parse().unwrap();
        let mlb: crate::endpoint::Endpoint = "192.168.1.50:5000".parse().unwrap();
        assert!(insecure_matches("192.168.0.1", &vip));
        assert!(insecure_matches("192.168.1.50:5000", &mlb));
        assert!(!insecure_matches("192.168.1.50", &mlb));
        assert!(insecure_matches("192.168.0.0/16", &mlb));
        assert!(!insecure_matches("10.0.0.0/8", &mlb));
        assert!(!insecure_matches("garbage/99", &mlb));
    }
}
