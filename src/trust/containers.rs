//! containers/image users (podman, skopeo, buildah, CRI-O): `/etc/containers/certs.d/
//! <host[:port]>/ca.crt`, plus `~/.config/containers/certs.d` when not root. They also
//! read `/etc/docker/certs.d` (containers/image pkg/docker/docker_client.go
//! `dockerCertDir`), so Docker's copy already serves them; ours makes it explicit.

use std::path::PathBuf;

use super::certsd::{self, Scope};
use super::{Anchor, Host, Step, Target};
use crate::endpoint::Endpoint;
use crate::finding::{Finding, Fixes};

/// Where containers/image keeps trust on a host (`systemRegistriesDirPath`); the one
/// spelling of this path, for `trust`, `doctor` and `rollout`.
pub(crate) const CERTS_D: &str = "/etc/containers/certs.d";

pub(crate) fn detect(host: &Host) -> bool {
    host.path("/etc/containers").is_dir()
}

/// The certs.d directory to install into and inspect: the per-user one when not root.
fn certs_dir(host: &Host) -> PathBuf {
    if !host.is_root {
        if let Some(dir) = host.user_config("containers/certs.d") {
            return dir;
        }
    }
    host.path(CERTS_D)
}

pub(crate) fn check(host: &Host, anchors: &[Anchor], force: bool) -> anyhow::Result<Vec<Step>> {
    certsd::steps(Target::Containers, &certs_dir(host), anchors, force)
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
    let configured = host.config.endpoints();
    let store = certsd::Store {
        target: Target::Containers,
        base: certs_dir(host),
        expected: detect(host),
        configured: &configured,
    };
    certsd::inspect(&store, endpoints, scope, fixes)
}
