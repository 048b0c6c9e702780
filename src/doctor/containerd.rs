//! containerd: `hosts.toml` under certs.d is read only when the CRI plugin's registry
//! `config_path` points there (containerd docs/hosts.md); ctr and nerdctl use it by default.

use super::{display, quote, Finding, Fixes, Severity};
use crate::config::Config;

const CERTS_D: &str = "/etc/containerd/certs.d";

pub(super) fn inspect(config: &Config, fixes: &Fixes) -> Vec<Finding> {
    let etc = config.host_path("/etc/containerd");
    if !etc.is_dir() {
        return Vec::new();
    }
    let mut findings = Vec::new();
    let sudo = fixes.sudo();
    let config_file = etc.join("config.toml");
    if let Ok(text) = crate::fsutil::read_text(&config_file) {
        match text.parse::<toml_edit::DocumentMut>() {
            Err(e) => findings.push(Finding::new(
                "containerd-config-invalid",
                Severity::Error,
                format!(
                    "{} is not valid TOML: {}",
                    display(&config_file),
                    e.message()
                ),
            )),
            Ok(doc) => {
                let table = registry_table(&doc);
                let set = doc
                    .get("plugins")
                    .and_then(|p| p.get(table))
                    .and_then(|t| t.get("registry"))
                    .and_then(|r| r.get("config_path"))
                    .and_then(|v| v.as_str())
                    .is_some_and(|v| v.split(':').any(|dir| dir.trim_end_matches('/') == CERTS_D));
                if !set {
                    let header = format!("[plugins.\"{table}\".registry]");
                    let has_header = text.lines().any(|l| l.trim() == header);
                    let edit = if has_header {
                        format!(
                            "{sudo}sed -i {} {}",
                            quote(format!("/^\\[plugins.\"{table}\".registry\\]/a config_path = \"{CERTS_D}\"")),
                            quote(&config_file)
                        )
                    } else {
                        format!(
                            "printf {} | {sudo}tee -a {} >/dev/null",
                            quote(format!("\\n{header}\\nconfig_path = \"{CERTS_D}\"\\n")),
                            quote(&config_file)
                        )
                    };
                    let restart = if sudo.is_empty() {
                        ""
                    } else {
                        " && sudo systemctl restart containerd"
                    };
                    findings.push(
                        Finding::new(
                            "containerd-config-path",
                            Severity::Warning,
                            format!(
                                "{} does not set the CRI registry config_path to {CERTS_D}: containerd's CRI ignores hosts.toml there",
                                display(&config_file)
                            ),
                        )
                        .fix(format!("{edit}{restart}")),
                    );
                }
            }
        }
    }
    for endpoint in config.endpoints() {
        let found = endpoint
            .certs_d_names()
            .iter()
            .any(|name| etc.join("certs.d").join(name).join("hosts.toml").is_file());
        if !found {
            findings.push(
                Finding::new(
                    "containerd-hosts-missing",
                    Severity::Warning,
                    format!(
                        "containerd has no certs.d/{}/hosts.toml for {endpoint}",
                        endpoint.certs_d_names()[0]
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

/// containerd 2.x (`version = 3`) moved the registry settings to the images plugin.
fn registry_table(doc: &toml_edit::DocumentMut) -> &'static str {
    match doc.get("version").and_then(|v| v.as_integer()) {
        Some(v) if v >= 3 => "io.containerd.cri.v1.images",
        _ => "io.containerd.grpc.v1.cri",
    }
}
