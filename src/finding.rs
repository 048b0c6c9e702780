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

/// Builds fix commands that fit how the tool was run: runnable as printed, naming the real
/// paths under `--root`, carrying `--root` (and non-default endpoints) when the tool runs on
/// a staged root, and using `sudo` only on the real one.
pub(crate) struct Fixes {
    sudo: &'static str,
    global_flags: String,
}

impl Fixes {
    pub(crate) fn new(config: &crate::config::Config) -> Fixes {
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

/// A path for a finding's message (sanitized: paths come from the host).
pub(crate) fn display(path: &std::path::Path) -> String {
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
