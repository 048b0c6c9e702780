//! containerd: `/etc/containerd/certs.d/<host[:port]>/hosts.toml` naming the CA file next
//! to it (containerd docs/hosts.md). containerd reads the directory per pull (no restart),
//! `ctr` only with `--hosts-dir`, and the CRI plugin (kubelet, crictl) only when its
//! registry `config_path` names it. That default is empty in containerd 1.x (`containerd
//! config default` of 1.6.20: `config_path = ""`) and in 2.0 and 2.1; only since 2.2 is
//! it `/etc/containerd/certs.d:/etc/docker/certs.d` (containerd `internal/cri/config`,
//! commit "Default config_path if legacy registry options are not set"; since 2.3 set at
//! plugin init, and only while no legacy `mirrors` are configured). A config.toml does not
//! tell which containerd reads it (`version = 3` is 2.0 and later), so [`inspect`] asks
//! for `config_path` whenever the file does not set it.

use std::path::Path;
use std::time::SystemTime;

use toml_edit::Value;

use super::certsd::Scope;
use super::running::{self, Restart};
use super::{
    cert_step, read_optional, tomlca, Action, Anchor, Different, Edit, Host, Step, Target,
};
use crate::endpoint::Endpoint;
use crate::finding::{display, quote, unresolvable, Finding, Fixes, Severity};

/// Where containerd keeps trust on a host: `CERTS_D/<host[:port]>/hosts.toml`.
pub(crate) const CERTS_D: &str = "/etc/containerd/certs.d";
const CONFIG: &str = "/etc/containerd/config.toml";

pub(crate) fn detect(host: &Host) -> bool {
    host.is_dir("/etc/containerd")
}

pub(crate) fn check(
    host: &Host,
    anchors: &[Anchor],
    different: Different,
) -> anyhow::Result<Vec<Step>> {
    let dir = host.path(CERTS_D)?;
    let mut steps = Vec::new();
    for anchor in anchors {
        for name in anchor.endpoint.certs_d_names() {
            let ca = dir.join(&name).join("ca.crt");
            let ca_step = cert_step(
                host.fs(),
                Target::Containerd,
                vec![anchor.endpoint.clone()],
                ca.clone(),
                &anchor.pem,
                different,
            )?;
            let hosts = dir.join(&name).join("hosts.toml");
            let url = format!("https://{name}");
            // The file the step writes: with --add, the new CA beside the old one, both listed.
            let ca_path = host.unrooted(&ca_step.path).to_string_lossy().into_owned();
            let current = read_optional(host.fs(), &hosts)?;
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
    // Unresolvable under the root: `check` said so, naming it.
    let Ok(config) = host.path(CONFIG) else {
        return Vec::new();
    };
    let Some(changed) = running::newest_change(host.fs(), std::slice::from_ref(&config)) else {
        return Vec::new();
    };
    // Bounded and never blocking: a FIFO or a huge file here is reported where config.toml
    // is read for its findings, and asks for no restart.
    let mentions = host
        .fs()
        .read_text(&config)
        .map(|t| t.contains("config_path"))
        .unwrap_or(false);
    if !mentions {
        return Vec::new();
    }
    let daemon_config = host.unrooted(&config);
    running::daemons(host.fs(), "containerd")
        .into_iter()
        // A containerd started with `--config OTHER` never reads this file.
        .filter(|d| {
            d.arg(host.fs(), &["--config", "-c"])
                .is_none_or(|c| std::path::Path::new(&c) == daemon_config)
        })
        .filter(|d| {
            d.reads(host.fs(), &config, &daemon_config, host.config.is_real_root()) && d.predates(changed)
        })
        .map(|d| Restart {
            service: "containerd",
            why: format!(
                "containerd (pid {}, started {}) predates {}: config_path, which makes it read certs.d, applies after a restart",
                d.pid,
                d.started_text(),
                daemon_config.display()
            ),
            command: running::restart_command(host.fs(), "containerd"),
        })
        .collect()
}

pub(crate) fn notes(_host: &Host) -> Vec<String> {
    vec![format!(
        "containerd: certs.d/hosts.toml is read per pull (ctr needs --hosts-dir {CERTS_D})"
    )]
}

/// config.toml (syntax, the CRI `config_path`) and, for [`Scope::Host`], a `hosts.toml`
/// for each endpoint.
pub(crate) fn inspect(
    host: &Host,
    endpoints: &[Endpoint],
    scope: Scope,
    fixes: &Fixes,
) -> Vec<Finding> {
    if !detect(host) {
        return Vec::new();
    }
    let mut findings: Vec<Finding> = config_path(host, fixes).into_iter().collect();
    if scope == Scope::Host {
        let dir = match host.path(CERTS_D) {
            Ok(dir) => dir,
            Err(e) => {
                findings.push(unresolvable(e));
                return findings;
            }
        };
        for endpoint in endpoints {
            let names = endpoint.certs_d_names();
            if names.iter().any(|name| {
                host.fs()
                    .open_regular(&dir.join(name).join("hosts.toml"))
                    .is_ok()
            }) {
                continue;
            }
            findings.push(
                Finding::new(
                    "containerd-hosts-missing",
                    Severity::Warning,
                    format!(
                        "containerd has no certs.d/{}/hosts.toml for {endpoint}",
                        names[0]
                    ),
                )
                .fix(fixes.dcosreg(&format!(
                    "trust {} --target containerd",
                    quote(endpoint.to_string())
                ))),
            );
        }
    }
    findings
}

/// The CRI's `config_path` must name [`CERTS_D`] (see the module comment); absent or
/// another directory, the fix adds it to config.toml (creating the file if need be).
fn config_path(host: &Host, fixes: &Fixes) -> Option<Finding> {
    let file = match host.path(CONFIG) {
        Ok(file) => file,
        Err(e) => return Some(unresolvable(e)),
    };
    let text = match host.fs().read_text(&file) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        // A FIFO, a device or a file over the cap: said, never waited on or read whole.
        Err(e) => {
            let why = if e.kind() == std::io::ErrorKind::InvalidData {
                e.to_string()
            } else {
                format!(
                    "cannot read {}: {}",
                    display(&file),
                    crate::fsutil::io_reason(&e)
                )
            };
            return Some(Finding::new(
                "containerd-config-unreadable",
                Severity::Warning,
                format!("{why} — containerd's config.toml was left alone"),
            ));
        }
    };
    let doc = match text
        .as_deref()
        .unwrap_or("")
        .parse::<toml_edit::DocumentMut>()
    {
        Ok(doc) => doc,
        Err(e) => {
            return Some(Finding::new(
                "containerd-config-invalid",
                Severity::Error,
                format!("{} is not valid TOML: {}", display(&file), e.message()),
            ))
        }
    };
    let table = registry_table(&doc);
    let registry = doc
        .get("plugins")
        .and_then(|p| p.get(table))
        .and_then(|t| t.get("registry"));
    let value = registry
        .and_then(|r| r.get("config_path"))
        .and_then(|v| v.as_str());
    let why = match value {
        Some(v) if v.split(':').any(|dir| dir.trim_end_matches('/') == CERTS_D) => return None,
        Some(other) => format!(
            "sets the CRI registry config_path to {other:?}: containerd's CRI does not read hosts.toml in {CERTS_D}"
        ),
        None => format!(
            "does not set the CRI registry config_path: containerd's CRI before 2.2 then ignores hosts.toml in {CERTS_D} (2.2 and later read it by default)"
        ),
    };
    let what = if text.is_some() {
        display(&file)
    } else {
        format!("{} (absent)", display(&file))
    };
    let legacy = registry.map(legacy_settings).unwrap_or_default();
    if !legacy.is_empty() {
        // The one-liner would take the CRI plugin down (kubelet loses its runtime).
        return Some(Finding::new(
            "containerd-config-path",
            Severity::Warning,
            format!(
                "{what} {why}; it also sets {}, which containerd refuses beside config_path (\"{}\" fails to load, kubelet loses its runtime): move them to hosts.toml files under {CERTS_D}/<host>/ first (containerd docs/hosts.md), then set config_path = \"{CERTS_D}\"",
                legacy.join(" and "),
                "io.containerd.grpc.v1.cri"
            ),
        ));
    }
    Some(
        Finding::new(
            "containerd-config-path",
            Severity::Warning,
            format!("{what} {why}"),
        )
        .fix(config_path_fix(&file, text.as_deref(), table, fixes)),
    )
}

/// The CRI registry settings containerd refuses beside `config_path` (its
/// `ValidatePluginConfig`: "`mirrors` cannot be set when `config_path` is provided", and the
/// same for `configs.<host>.tls`); a `configs.<host>.auth` is still allowed.
fn legacy_settings(registry: &toml_edit::Item) -> Vec<String> {
    let mut found = Vec::new();
    let hosts = |key: &str| -> Vec<String> {
        registry
            .get(key)
            .and_then(|t| t.as_table_like())
            .map(|t| t.iter().map(|(host, _)| host.to_owned()).collect())
            .unwrap_or_default()
    };
    let mirrors = hosts("mirrors");
    if !mirrors.is_empty() {
        found.push(format!("registry.mirrors ({})", mirrors.join(", ")));
    }
    let tls: Vec<String> = hosts("configs")
        .into_iter()
        .filter(|host| {
            registry
                .get("configs")
                .and_then(|c| c.get(host))
                .and_then(|c| c.get("tls"))
                .is_some()
        })
        .collect();
    if !tls.is_empty() {
        found.push(format!("registry.configs.<host>.tls ({})", tls.join(", ")));
    }
    found
}

/// Insert `config_path` into the registry table when the file has its header, else append
/// the table (a new file starts with `version = 2`: without it containerd 1.x reads
/// version 1, where the plugin has another name).
fn config_path_fix(file: &Path, text: Option<&str>, table: &str, fixes: &Fixes) -> String {
    let sudo = fixes.sudo();
    let header = format!("[plugins.\"{table}\".registry]");
    let has_header = text.is_some_and(|t| t.lines().any(|l| l.trim() == header));
    let edit = if has_header {
        format!(
            "{sudo}sed -i {} {}",
            quote(format!(
                "/^\\[plugins.\"{table}\".registry\\]/a config_path = \"{CERTS_D}\""
            )),
            quote(file)
        )
    } else {
        let version = if text.is_none() { "version = 2\\n" } else { "" };
        format!(
            "printf {} | {sudo}tee -a {} >/dev/null",
            quote(format!(
                "{version}\\n{header}\\nconfig_path = \"{CERTS_D}\"\\n"
            )),
            quote(file)
        )
    };
    let restart = if sudo.is_empty() {
        ""
    } else {
        " && sudo systemctl restart containerd"
    };
    format!("{edit}{restart}")
}

/// containerd 2.x (`version = 3`) moved the registry settings to the images plugin.
fn registry_table(doc: &toml_edit::DocumentMut) -> &'static str {
    match doc.get("version").and_then(|v| v.as_integer()) {
        Some(v) if v >= 3 => "io.containerd.cri.v1.images",
        _ => "io.containerd.grpc.v1.cri",
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests build their fixtures directly
mod tests {
    use super::*;
    use crate::trust::{staged_config, staged_host};

    fn inspect_with(config_toml: Option<&str>, scope: Scope) -> Vec<Finding> {
        let root = tempfile::tempdir().unwrap();
        let etc = root.path().join("etc/containerd");
        std::fs::create_dir_all(etc.join("certs.d/10.0.0.1")).unwrap();
        std::fs::write(etc.join("certs.d/10.0.0.1/hosts.toml"), "").unwrap();
        if let Some(text) = config_toml {
            std::fs::write(etc.join("config.toml"), text).unwrap();
        }
        let config = staged_config(root.path(), "10.0.0.1", "10.0.0.2:5000");
        inspect(
            &staged_host(&config),
            &config.endpoints(),
            scope,
            &config.fixes(),
        )
    }

    fn codes(findings: &[Finding]) -> Vec<&'static str> {
        findings.iter().map(|f| f.code).collect()
    }

    #[test]
    fn config_path_is_asked_for_whatever_the_config_version() {
        let set = "/etc/containerd/certs.d";
        for (text, wanted) in [
            // 1.x default (`containerd config default` of 1.6.20).
            (
                "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".registry]\nconfig_path = \"\"\n",
                true,
            ),
            // 2.0 and 2.1 default to no config_path as well.
            ("version = 3\n", true),
            // An absent file is containerd's defaults.
            ("", true),
            (
                &format!("version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".registry]\nconfig_path = \"{set}\"\n"),
                false,
            ),
            (
                &format!("version = 3\n[plugins.\"io.containerd.cri.v1.images\".registry]\nconfig_path = \"{set}:/etc/docker/certs.d\"\n"),
                false,
            ),
            // The 2.x table in a 1.x config is not read.
            (
                &format!("version = 2\n[plugins.\"io.containerd.cri.v1.images\".registry]\nconfig_path = \"{set}\"\n"),
                true,
            ),
        ] {
            let file = (!text.is_empty()).then_some(text);
            let found = inspect_with(file, Scope::Traps);
            assert_eq!(
                codes(&found).contains(&"containerd-config-path"),
                wanted,
                "{text:?}: {found:?}"
            );
        }
    }

    #[test]
    fn an_absent_config_gets_a_versioned_file_and_hosts_are_doctor_only() {
        let traps = inspect_with(None, Scope::Traps);
        assert_eq!(codes(&traps), ["containerd-config-path"]);
        let fix = traps[0].fix.as_deref().unwrap();
        assert!(
            fix.starts_with("printf 'version = 2\\n\\n[plugins"),
            "{fix}"
        );
        assert!(traps[0].message.contains("(absent)"), "{traps:?}");
        let host = inspect_with(None, Scope::Host);
        assert_eq!(
            codes(&host),
            ["containerd-config-path", "containerd-hosts-missing"]
        );
        assert!(host[1].message.contains("10.0.0.2:5000"), "{host:?}");
    }

    #[test]
    fn invalid_config_is_an_error() {
        let found = inspect_with(Some("version = ["), Scope::Traps);
        assert_eq!(codes(&found), ["containerd-config-invalid"]);
        assert_eq!(found[0].severity, Severity::Error);
    }
}
