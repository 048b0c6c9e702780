//! A finding: a code for scripts, a severity, a sentence for people and the command or
//! step that fixes it. `check` explains a verdict with findings; each trust store reports
//! what it sees on the host with them (`trust` for the endpoints it installs, `doctor` for
//! all); all print and serialize them the same way. [`Fixes`] writes the fix commands.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Severity {
    Info,
    Warning,
    Error,
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Finding {
    pub(crate) code: &'static str,
    pub(crate) severity: Severity,
    pub(crate) message: String,
    /// `null` in JSON when there is nothing to run (e.g. "correct the file by hand").
    pub(crate) fix: Option<String>,
}

impl Finding {
    pub(crate) fn new(
        code: &'static str,
        severity: Severity,
        message: impl Into<String>,
    ) -> Finding {
        Finding {
            code,
            severity,
            message: message.into(),
            fix: None,
        }
    }

    pub(crate) fn fix(mut self, how: impl Into<String>) -> Finding {
        self.fix = Some(how.into());
        self
    }
}

/// `path-unresolvable`: a host path a store or check needs cannot be resolved inside
/// `--root` (fsutil::host_path's error, which names it): nothing there was read.
pub(crate) fn unresolvable(err: anyhow::Error) -> Finding {
    Finding::new("path-unresolvable", Severity::Error, format!("{err:#}"))
}

/// Builds fix commands that fit how the tool was run: runnable as printed, naming the real
/// paths under `--root`, carrying `--root` (and non-default endpoints) when the tool runs on
/// a staged root, and using `sudo` only on the real one.
pub(crate) struct Fixes {
    sudo: &'static str,
    global_flags: String,
}

impl Fixes {
    /// `real_root`: the run is on this host's `/`, so fixes use `sudo`; `global_flags`: the
    /// flags (name, value) a fix must carry to reproduce the run (`--root` on a staged root,
    /// endpoints not left at their defaults), built from the configuration by `Config::fixes`.
    pub(crate) fn new(real_root: bool, global_flags: &[(&str, String)]) -> Fixes {
        let mut flags = String::new();
        for (flag, value) in global_flags {
            flags.push_str(&format!(" {flag} {}", quote(value)));
        }
        Fixes {
            sudo: if real_root { "sudo " } else { "" },
            global_flags: flags,
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

    /// [`Fixes::dcosreg`] for a command that needs no root (it only reads, or writes the
    /// user's own files): never `sudo`.
    pub(crate) fn dcosreg_user(&self, args: &str) -> String {
        format!("docker-dcosreg{} {args}", self.global_flags)
    }
}

/// Quote a path or word for sh.
pub(crate) fn quote(text: impl AsRef<std::ffi::OsStr>) -> String {
    crate::text::shell_quote(&text.as_ref().to_string_lossy())
}

/// A path for a finding's message (sanitized: paths come from the host).
pub(crate) fn display(path: &std::path::Path) -> String {
    crate::text::sanitize_line(&path.display().to_string())
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
