//! Running daemons older than the trust they need: a dockerd started before the certs.d
//! directory of an endpoint appeared (or changed) pulls through it with the classic client
//! but its embedded BuildKit does not see it, so `docker build` fails with "x509:
//! certificate signed by unknown authority" while `docker pull` works. The rule itself is
//! [`crate::trust::docker::restarts`]; this reports it with the restart as the fix.

use std::path::PathBuf;

use super::{Finding, Fixes, Severity};
use crate::config::Config;
use crate::trust::{docker, running, Host};

pub(super) fn inspect(config: &Config, fixes: &Fixes) -> Vec<Finding> {
    let host = Host::from_env(config);
    let base = docker::certs_dir(&host);
    let mut findings = Vec::new();
    for endpoint in config.endpoints() {
        let mut paths: Vec<PathBuf> = Vec::new();
        for name in endpoint.certs_d_names() {
            let dir = base.join(name);
            if let Ok(entries) = std::fs::read_dir(&dir) {
                paths.extend(entries.flatten().map(|e| e.path()));
                paths.push(dir);
            }
        }
        let Some(changed) = running::newest_change(&paths) else {
            continue;
        };
        for restart in docker::restarts(&host, changed) {
            findings.push(
                Finding::new(
                    "daemon-predates-certs-d",
                    Severity::Warning,
                    format!(
                        "for {endpoint}: {} — docker build fails with \"x509: certificate signed by unknown authority\" until docker restarts",
                        restart.why
                    ),
                )
                .fix(if restart.command.contains("--user") {
                    restart.command.clone()
                } else {
                    format!("{}{}", fixes.sudo(), restart.command)
                }),
            );
        }
    }
    findings
}
