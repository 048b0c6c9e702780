//! /etc/docker/daemon.json: syntax, and `insecure-registries` entries that cover an endpoint.
//!
//! For an insecure registry Docker skips certificate verification and falls back to plain
//! HTTP, so whatever certs.d holds for it is never used (moby `registry/config.go`,
//! `isSecureIndex`: an exact `host[:port]` entry, or a CIDR holding the IP).

use std::net::IpAddr;

use super::{display, quote, Finding, Fixes, Severity};
use crate::config::Config;
use crate::endpoint::Host;

pub(super) fn inspect(config: &Config, fixes: &Fixes) -> Vec<Finding> {
    let path = config.host_path("/etc/docker/daemon.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
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
                || matches!(endpoint.host, Host::Ip(ip) if cidr_contains(entry, ip))
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

/// Whether `entry` is a CIDR (`10.0.0.0/8`) that contains `ip`.
fn cidr_contains(entry: &str, ip: IpAddr) -> bool {
    let Some((net, bits)) = entry.split_once('/') else {
        return false;
    };
    let (Ok(net), Ok(bits)) = (net.parse::<IpAddr>(), bits.parse::<u32>()) else {
        return false;
    };
    match (net, ip) {
        (IpAddr::V4(net), IpAddr::V4(ip)) if bits <= 32 => {
            let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
            u32::from(net) & mask == u32::from(ip) & mask
        }
        (IpAddr::V6(net), IpAddr::V6(ip)) if bits <= 128 => {
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            u128::from(net) & mask == u128::from(ip) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::cidr_contains;

    #[test]
    fn cidrs_match_like_docker() {
        let ip = "192.168.1.50".parse().unwrap();
        assert!(cidr_contains("192.168.0.0/16", ip));
        assert!(cidr_contains("0.0.0.0/0", ip));
        assert!(!cidr_contains("192.168.0.0/24", ip));
        assert!(!cidr_contains("192.168.1.50", ip));
        assert!(!cidr_contains("fd00::/8", ip));
        assert!(cidr_contains("fd00::/8", "fd00::1".parse().unwrap()));
    }
}
