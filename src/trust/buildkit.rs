//! BuildKit: the CA in `/etc/buildkit/certs/<host[:port]>/ca.crt` and
//! `[registry."<host[:port]>"] ca = [...]` in `/etc/buildkit/buildkitd.toml` (rootless:
//! `~/.config/buildkit/`), edited with toml_edit so the user's comments and settings stay.
//! buildkitd reads its config at start; `docker-container` builders get it only through
//! `docker buildx create --config` (docker/buildx docs/guides/custom-registry-config.md).

use std::time::SystemTime;

use super::running::{self, Restart};
use super::{cert_step, read_optional, tomlca, Action, Anchor, Edit, Host, Step, Target};

pub(crate) fn detect(host: &Host) -> bool {
    host.path("/etc/buildkit").is_dir()
}

fn base(host: &Host) -> std::path::PathBuf {
    if !host.is_root {
        if let Some(dir) = host.user_config("buildkit") {
            return dir;
        }
    }
    host.path("/etc/buildkit")
}

pub(crate) fn check(host: &Host, anchors: &[Anchor], force: bool) -> anyhow::Result<Vec<Step>> {
    let base = base(host);
    let config = base.join("buildkitd.toml");
    let current = read_optional(&config)?;
    let mut text = current.clone().unwrap_or_default();
    let mut steps = Vec::new();
    let mut edits = Vec::new();
    let mut endpoints = Vec::new();
    let mut changed = false;
    for anchor in anchors {
        for name in anchor.endpoint.certs_d_names() {
            let ca = base.join("certs").join(&name).join("ca.crt");
            steps.push(cert_step(
                Target::Buildkit,
                vec![anchor.endpoint.clone()],
                ca.clone(),
                &anchor.pem,
                force,
            )?);
            let ca_path = host.unrooted(&ca).to_string_lossy().into_owned();
            if let Some(new) = tomlca::add_ca(&text, "registry", &name, &ca_path, &[])
                .map_err(|e| anyhow::anyhow!("{}: {e}", config.display()))?
            {
                text = new;
                changed = true;
            }
            edits.push(Edit {
                endpoint: anchor.endpoint.to_string(),
                outer: "registry".into(),
                inner: name,
                ca_path,
            });
            if !endpoints.contains(&anchor.endpoint) {
                endpoints.push(anchor.endpoint.clone());
            }
        }
    }
    let action = match (&current, changed) {
        (_, false) => Action::AlreadyInstalled,
        (None, true) => Action::Create,
        (Some(_), true) => Action::Update,
    };
    steps.push(Step {
        target: Target::Buildkit,
        endpoints,
        path: config,
        action,
        contents: text.into_bytes(),
        edits,
    });
    Ok(steps)
}

/// A standalone buildkitd reads buildkitd.toml, and with it the `ca` files it names, when it
/// starts (moby/buildkit `cmd/buildkitd` loads the config once): a buildkitd running since
/// before the change must restart. (Not proven here: Debian ships no buildkitd.)
pub(crate) fn restarts(host: &Host, when: SystemTime) -> Vec<Restart> {
    let base = base(host);
    let daemon_base = host.unrooted(&base);
    let daemon_config = daemon_base.join("buildkitd.toml");
    running::daemons("buildkitd")
        .into_iter()
        // A buildkitd started with `--config OTHER` never reads ours.
        .filter(|d| {
            d.arg(&["--config"])
                .is_none_or(|c| std::path::Path::new(&c) == daemon_config)
        })
        .filter(|d| d.reads(&base, &daemon_base, host.config.is_real_root()) && d.predates(when))
        .map(|d| Restart {
            service: "buildkit",
            why: format!(
                "buildkitd (pid {}, started {}) reads {} only when it starts",
                d.pid,
                d.started_text(),
                daemon_config.display()
            ),
            command: running::restart_command("buildkit"),
        })
        .collect()
}

pub(crate) fn notes(_host: &Host) -> Vec<String> {
    vec![
        "buildkit: docker-container builders need `docker buildx create --config /etc/buildkit/buildkitd.toml`".to_string(),
    ]
}
