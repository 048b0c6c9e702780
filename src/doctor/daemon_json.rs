//! /etc/docker/daemon.json: syntax, and `insecure-registries` entries that cover an endpoint.
//!
//! For an insecure registry Docker skips certificate verification and falls back to plain
//! HTTP, so whatever certs.d holds for it is never used (moby `registry/config.go`,
//! `isSecureIndex`: an exact `host[:port]` entry, or a CIDR holding the IP).

use super::{display, quote, Finding, Fixes, Severity};
use crate::config::Config;
use crate::endpoint::Host;

pub(super) fn inspect(config: &Config, fixes: &Fixes) -> Vec<Finding> {
    let path = config.host_path("/etc/docker/daemon.json");
    let Ok(text) = crate::fsutil::read_text(&path) else {
        return Vec::new();
    };
    let json: serde_json::Value = match serde_json::from_str(&text) {
        Ok(json) => json,
        Err(e) => {
            return vec![Finding::new(
                "daemon-json-invalid",
                Severity::Error,
                format!(
                    "{} is not valid JSON (line {}, column {}: {e}): dockerd will not start",
                    display(&path),
                    e.line(),
                    e.column()
                ),
            )
            .fix(format!(
                "jq . {}   # shows the error; correct the file, then: {}systemctl restart docker",
                quote(&path),
                fixes.sudo()
            ))]
        }
    };
    let entries: Vec<&str> = json
        .get("insecure-registries")
        .and_then(|v| v.as_array())
        .map(|list| list.iter().filter_map(|v| v.as_str()).collect())
        .unwrap_or_default();
    let mut findings = Vec::new();
    for endpoint in config.endpoints() {
        let names = endpoint.certs_d_names();
        let covering = entries.iter().find(|entry| {
            names.iter().any(|name| name.eq_ignore_ascii_case(entry))
                || matches!(endpoint.host, Host::Ip(ip) if crate::endpoint::cidr_contains(entry, ip))
        });
        if let Some(entry) = covering {
            let sudo = fixes.sudo();
            let reload = if sudo.is_empty() {
                String::new()
            } else {
                " && sudo systemctl reload docker".to_string()
            };
            let filter = format!(".[\"insecure-registries\"] -= [\"{entry}\"]");
            findings.push(
                Finding::new(
                    "insecure-registry",
                    Severity::Warning,
                    format!(
                        "{} lists {entry:?} in insecure-registries: Docker skips TLS verification for {endpoint} and never reads its certs.d",
                        display(&path)
                    ),
                )
                .fix(format!(
                    "jq {} {p} | {sudo}tee {p}.new >/dev/null && {sudo}mv {p}.new {p}{reload}",
                    quote(filter),
                    p = quote(&path)
                )),
            );
        }
    }
    findings
}
