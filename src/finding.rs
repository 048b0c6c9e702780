//! A finding: a code for scripts, a severity, a sentence for people and the command or
//! step that fixes it. `check` explains a verdict with findings; `doctor` reports the
//! host's problems with them; both print and serialize them the same way.

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
