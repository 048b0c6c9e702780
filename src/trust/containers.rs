//! containers/image users (podman, skopeo, buildah, CRI-O): `/etc/containers/certs.d/
//! <host[:port]>/ca.crt`, plus `~/.config/containers/certs.d` when not root. They also
//! read `/etc/docker/certs.d` (containers/image pkg/docker/docker_client.go
//! `dockerCertDir`), so Docker's copy already serves them; ours makes it explicit.

use std::path::PathBuf;

use super::certsd::{self, Scope};
use super::{Anchor, Different, Host, Step, Target};
use crate::endpoint::Endpoint;
use crate::finding::{Finding, Fixes};

/// Where containers/image keeps trust on a host (`systemRegistriesDirPath`); the one
/// spelling of this path, for `trust`, `doctor` and `rollout`.
pub(crate) const CERTS_D: &str = "/etc/containers/certs.d";

pub(crate) fn detect(host: &Host) -> bool {
    host.is_dir("/etc/containers")
}

/// The certs.d directory to install into and inspect: the per-user one when not root.
fn certs_dir(host: &Host) -> anyhow::Result<PathBuf> {
    if !host.is_root {
        if let Some(dir) = host.user_config("containers/certs.d") {
            return dir;
        }
    }
    host.path(CERTS_D)
}

pub(crate) fn check(
    host: &Host,
    anchors: &[Anchor],
    different: Different,
) -> anyhow::Result<Vec<Step>> {
    certsd::steps(
        host.fs(),
        Target::Containers,
        &certs_dir(host)?,
        anchors,
        different,
    )
}

pub(crate) fn notes(_host: &Host) -> Vec<String> {
    vec![
        "containers: podman, skopeo, buildah and CRI-O read certs.d per pull (no daemon to restart)"
            .to_string(),
    ]
}

/// The certs.d directories for `endpoints`; a missing one is reported only when
/// containers/image is configured on this host.
pub(crate) fn inspect(
    host: &Host,
    endpoints: &[Endpoint],
    scope: Scope,
    fixes: &Fixes,
) -> Vec<Finding> {
    let base = match certs_dir(host) {
        Ok(base) => base,
        Err(e) => return vec![crate::finding::unresolvable(e)],
    };
    let configured = host.config.endpoints();
    let store = certsd::Store {
        target: Target::Containers,
        base,
        expected: detect(host),
        configured: &configured,
        fs: host.fs(),
    };
    certsd::inspect(&store, endpoints, scope, fixes)
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests build their fixtures directly
mod tests {
    use super::*;
    use crate::trust::{staged_config, staged_host};

    #[test]
    fn a_missing_directory_counts_only_where_containers_image_is_configured() {
        let root = tempfile::tempdir().unwrap();
        let config = staged_config(root.path(), "10.0.0.1", "10.0.0.2:5000");
        let host = staged_host(&config);
        let fixes = config.fixes();
        let endpoints = config.endpoints();
        assert!(inspect(&host, &endpoints, Scope::Host, &fixes).is_empty());

        std::fs::create_dir_all(root.path().join("etc/containers")).unwrap();
        let found = inspect(&host, &endpoints, Scope::Host, &fixes);
        let codes: Vec<_> = found.iter().map(|f| f.code).collect();
        assert_eq!(codes, ["certs-d-missing", "certs-d-missing"]);
        assert!(
            found[1]
                .fix
                .as_deref()
                .unwrap()
                .ends_with("--target containers"),
            "{found:?}"
        );
        assert!(inspect(&host, &endpoints, Scope::Traps, &fixes).is_empty());

        // Not root: the per-user directory trust writes is the one inspected.
        let user = Host {
            is_root: false,
            xdg_config: Some("/home/u/.config".into()),
            ..staged_host(&config)
        };
        let dir = root
            .path()
            .join("home/u/.config/containers/certs.d/10.0.0.2:5000");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("client.cert"), "cert").unwrap();
        let found = inspect(&user, &endpoints, Scope::Traps, &fixes);
        let codes: Vec<_> = found.iter().map(|f| f.code).collect();
        assert_eq!(codes, ["orphan-cert"], "{found:?}");
    }
}
