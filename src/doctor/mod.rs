//! `doctor`'s reporter: every trust store's inspection of this host (each store file in
//! `crate::trust` knows where its store keeps trust and what breaks it), plus the two
//! things no store owns — the conntrack setting DC/OS's Layer-4 VIP needs and the live
//! endpoints. Each problem is a [`Finding`] with the exact command that fixes it
//! ([`Fixes`]: runnable as printed, the real paths under `--root`, `--root` carried on a
//! staged root, `sudo` only on the real one).

mod conntrack;
mod endpoints;

use crate::config::Config;
use crate::trust::{Host, Scope, Target};

use crate::finding::{display, quote};
pub(crate) use crate::finding::{Finding, Fixes, Severity};

/// Every host check, in the order a person would fix things: the stores (Docker's
/// daemon.json, certs.d and daemons first), then conntrack.
pub(crate) fn inspect_host(config: &Config) -> Vec<Finding> {
    let fixes = config.fixes();
    let host = Host::from_env(config);
    let endpoints = config.endpoints();
    let mut findings = Vec::new();
    for target in Target::ALL {
        findings.extend(target.inspect(&host, &endpoints, Scope::Host, &fixes));
    }
    findings.extend(conntrack::inspect(config, &fixes));
    findings
}

/// Reachability and trust of every endpoint, judged with the `check` engine.
pub(crate) fn inspect_endpoints(config: &Config) -> Vec<Finding> {
    endpoints::inspect(config, &config.fixes())
}

/// Whether the host looks like a DC/OS node (agent or master).
fn looks_like_dcos(config: &Config) -> bool {
    ["/opt/mesosphere", "/etc/mesosphere", "/var/lib/dcos"]
        .iter()
        .any(|p| config.host_path(p).is_ok_and(|p| config.fs().exists(&p)))
}
