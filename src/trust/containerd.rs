//! containerd: `/etc/containerd/certs.d/<host[:port]>/hosts.toml` naming the CA file next
//! to it (containerd docs/hosts.md). containerd reads the directory per pull (no restart),
//! but only when the CRI plugin's `config_path` points there: set by default since
//! containerd 2.0, not in 1.x — we say so when config.toml does not mention it.

use std::time::SystemTime;

use toml_edit::Value;

use super::running::{self, Restart};
use super::{cert_step, read_optional, tomlca, Action, Anchor, Edit, Host, Step, Target};

pub(crate) fn detect(host: &Host) -> bool {
    host.path("/etc/containerd").is_dir()
}

pub(crate) fn check(host: &Host, anchors: &[Anchor], force: bool) -> anyhow::Result<Vec<Step>> {
    let dir = host.path("/etc/containerd/certs.d");
    let mut steps = Vec::new();
    for anchor in anchors {
        for name in anchor.endpoint.certs_d_names() {
            let ca = dir.join(&name).join("ca.crt");
            let ca_step = cert_step(
                Target::Containerd,
                vec![anchor.endpoint.clone()],
                ca.clone(),
                &anchor.pem,
                force,
            )?;
            let hosts = dir.join(&name).join("hosts.toml");
            let url = format!("https://{name}");
            let ca_path = host.unrooted(&ca).to_string_lossy().into_owned();
            let current = read_optional(&hosts)?;
            let text = current.clone().unwrap_or_default();
            let with_server = add_server(&text, &url).map_err(|e| {
                anyhow::anyhow!("{}: {e} — fix the file or move it away", hosts.display())
            })?;
            let added = tomlca::add_ca(&with_server, "host", &url, &ca_path, &[])
                .map_err(|e| anyhow::anyhow!("{}: {e}", hosts.display()))?;
            let (action, contents) = match (added, &current) {
                (None, Some(_)) if with_server == text => (Action::AlreadyInstalled, text),
                (None, _) => (Action::Update, with_server),
                (Some(new), None) => (Action::Create, new),
                (Some(new), Some(_)) => (Action::Update, new),
            };
            steps.push(ca_step);
            steps.push(Step {
                target: Target::Containerd,
                endpoints: vec![anchor.endpoint.clone()],
                path: hosts,
                action,
                contents: contents.into_bytes(),
                edits: vec![Edit {
                    endpoint: anchor.endpoint.to_string(),
                    outer: "host".into(),
                    inner: url,
                    ca_path,
                }],
            });
        }
    }
    Ok(steps)
}

/// `server = "https://…"` when the file has none (the upstream the host entries serve).
fn add_server(text: &str, url: &str) -> Result<String, toml_edit::TomlError> {
    let mut doc: toml_edit::DocumentMut = text.parse()?;
    if doc.contains_key("server") {
        return Ok(text.to_string());
    }
    doc.insert("server", toml_edit::value(url));
    Ok(doc.to_string())
}

/// Keys besides `ca` that we may have added inside a `[host."…"]` table (none today).
pub(crate) fn extra_for(_edit: &Edit) -> Vec<(&'static str, Value)> {
    Vec::new()
}

/// A file we created that, after taking our entries out, holds nothing of the user's
/// (empty, or only the `server` line we added).
pub(crate) fn is_leftover(text: &str) -> bool {
    match text.parse::<toml_edit::DocumentMut>() {
        Ok(doc) => doc.iter().all(|(key, _)| key == "server"),
        Err(_) => false,
    }
}

/// containerd reads `certs.d/<host>/hosts.toml` and the CA it names on every pull (`ctr
/// images pull --hosts-dir` in the client, the CRI plugin in the daemon through
/// `config_path`; proven for `ctr` in tests/runtime.rs), so our files need no restart. Its
/// `config.toml` (where `config_path` is set) is read only at start: a containerd older
/// than its config.toml has not applied it yet.
pub(crate) fn restarts(host: &Host, _when: SystemTime) -> Vec<Restart> {
    let config = host.path("/etc/containerd/config.toml");
    let Some(changed) = running::newest_change(std::slice::from_ref(&config)) else {
        return Vec::new();
    };
    let mentions = std::fs::read_to_string(&config)
        .map(|t| t.contains("config_path"))
        .unwrap_or(false);
    if !mentions {
        return Vec::new();
    }
    let daemon_config = host.unrooted(&config);
    running::daemons("containerd")
        .into_iter()
        // A containerd started with `--config OTHER` never reads this file.
        .filter(|d| {
            d.arg(&["--config", "-c"])
                .is_none_or(|c| std::path::Path::new(&c) == daemon_config)
        })
        .filter(|d| {
            d.reads(&config, &daemon_config, host.config.is_real_root()) && d.predates(changed)
        })
        .map(|d| Restart {
            service: "containerd",
            why: format!(
                "containerd (pid {}, started {}) predates {}: config_path, which makes it read certs.d, applies after a restart",
                d.pid,
                d.started_text(),
                daemon_config.display()
            ),
            command: running::restart_command("containerd"),
        })
        .collect()
}

pub(crate) fn notes(host: &Host) -> Vec<String> {
    let mut notes =
        vec!["containerd: certs.d/hosts.toml is read per pull (ctr needs --hosts-dir /etc/containerd/certs.d)".to_string()];
    let config = host.path("/etc/containerd/config.toml");
    let mentions = crate::fsutil::read_text(&config)
        .map(|t| t.contains("config_path"))
        .unwrap_or(false);
    if !mentions {
        notes.push(format!(
            "containerd: {} does not set config_path — containerd 1.x then ignores certs.d; add `config_path = \"/etc/containerd/certs.d\"` under [plugins.\"io.containerd.grpc.v1.cri\".registry] and restart containerd (2.x reads it by default; `ctr` needs --hosts-dir /etc/containerd/certs.d)",
            config.display()
        ));
    }
    notes
}
