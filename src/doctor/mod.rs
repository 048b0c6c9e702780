//! Host inspection for `doctor`: each file looks at one place Docker and its cousins read
//! trust from, and reports problems as [`Finding`]s with the exact command that fixes them.
//!
//! Fix commands must be runnable as printed: they name the real paths under `--root`, carry
//! `--root` when the tool runs on a staged root, and use `sudo` only on the real one.

mod buildkit;
mod certsd;
mod conntrack;
mod containerd;
mod daemon_json;
mod daemons;
mod endpoints;

use std::path::Path;

use crate::config::Config;

pub(crate) use crate::finding::{Finding, Severity};

/// Every host check, in the order a person would fix things.
pub(crate) fn inspect_host(config: &Config) -> Vec<Finding> {
    let fixes = Fixes::new(config);
    let mut findings = Vec::new();
    findings.extend(daemon_json::inspect(config, &fixes));
    findings.extend(certsd::inspect(config, &fixes));
    findings.extend(daemons::inspect(config, &fixes));
    findings.extend(containerd::inspect(config, &fixes));
    findings.extend(buildkit::inspect(config, &fixes));
    findings.extend(conntrack::inspect(config, &fixes));
    findings
}

/// Reachability and trust of every endpoint, judged with the `check` engine.
pub(crate) fn inspect_endpoints(config: &Config) -> Vec<Finding> {
    endpoints::inspect(config, &Fixes::new(config))
}

/// Builds fix commands that fit how the tool was run.
pub(crate) struct Fixes {
    sudo: &'static str,
    global_flags: String,
}

impl Fixes {
    pub(crate) fn new(config: &Config) -> Fixes {
        let staged = !config.is_real_root();
        let mut global_flags = String::new();
        if staged {
            global_flags.push_str(&format!(" --root {}", quote(&config.root.value)));
        }
        for (flag, endpoint) in [
            ("--internal", &config.internal),
            ("--external", &config.external),
        ] {
            if endpoint.source != crate::config::Source::Default {
                global_flags.push_str(&format!(" {flag} {}", quote(endpoint.value.to_string())));
            }
        }
        Fixes {
            sudo: if staged { "" } else { "sudo " },
            global_flags,
        }
    }

    /// `sudo ` on the real root, nothing on a staged one.
    pub(crate) fn sudo(&self) -> &'static str {
        self.sudo
    }

    /// A docker-dcosreg command line with the global flags this run used.
    pub(crate) fn dcosreg(&self, args: &str) -> String {
        format!("{}docker-dcosreg{} {args}", self.sudo, self.global_flags)
    }
}

/// Quote a path or word for sh.
pub(crate) fn quote(text: impl AsRef<std::ffi::OsStr>) -> String {
    crate::output::shell_quote(&text.as_ref().to_string_lossy())
}

/// Whether the host looks like a DC/OS node (agent or master).
pub(crate) fn looks_like_dcos(config: &Config) -> bool {
    ["/opt/mesosphere", "/etc/mesosphere", "/var/lib/dcos"]
        .iter()
        .any(|p| config.host_path(p).exists())
}

pub(crate) fn display(path: &Path) -> String {
    crate::output::sanitize_line(&path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::quote;

    #[test]
    fn quoting_is_shell_safe() {
        assert_eq!(
            quote("/etc/docker/certs.d/10.0.0.1:5000"),
            "/etc/docker/certs.d/10.0.0.1:5000"
        );
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote(""), "''");
    }
}
