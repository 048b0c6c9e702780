//! containers/image users (podman, skopeo, buildah, CRI-O): `/etc/containers/certs.d/
//! <host[:port]>/ca.crt`, plus `~/.config/containers/certs.d` when not root. They also
//! read `/etc/docker/certs.d` (containers/image pkg/docker/docker_client.go
//! `dockerCertDir`), so Docker's copy already serves them; ours makes it explicit.

use super::docker::{certs_d_steps, certs_d_traps};
use super::{Anchor, Host, Step, Target};

pub(crate) fn detect(host: &Host) -> bool {
    host.path("/etc/containers").is_dir()
}

fn certs_dir(host: &Host) -> std::path::PathBuf {
    if !host.is_root {
        if let Some(dir) = host.user_config("containers/certs.d") {
            return dir;
        }
    }
    host.path("/etc/containers/certs.d")
}

pub(crate) fn check(host: &Host, anchors: &[Anchor], force: bool) -> anyhow::Result<Vec<Step>> {
    certs_d_steps(Target::Containers, &certs_dir(host), anchors, force)
}

pub(crate) fn notes(_host: &Host) -> Vec<String> {
    vec![
        "containers: podman, skopeo, buildah and CRI-O read certs.d per pull (no daemon to restart)"
            .to_string(),
    ]
}

pub(crate) fn traps(host: &Host, anchors: &[Anchor]) -> Vec<String> {
    certs_d_traps("containers", &certs_dir(host), anchors)
}
