//! Exit statuses shared by every command (docs/cli.md, "Exit status"), and [`Stop`]: a
//! command that cannot go on returns one as its error; `main` says it once and exits with
//! its status.

use std::process::ExitCode;

/// What a command tells its caller through the process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExitStatus {
    /// Success: every endpoint trusted, nothing to change.
    Success,
    /// The command ran and the answer is "no": untrusted, unreachable, changes found.
    No,
    /// Usage, configuration or input error, or an operation that failed.
    Error,
    /// The exit code of a program we ran on the user's behalf (`build` returns
    /// `docker build`'s).
    Child(u8),
}

impl ExitStatus {
    pub(crate) fn code(self) -> u8 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::No => 1,
            ExitStatus::Error => 2,
            ExitStatus::Child(code) => code,
        }
    }
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> ExitCode {
        ExitCode::from(status.code())
    }
}

/// Why a command stops early, and with which status. Each message is one line `main`
/// prints after `docker-dcosreg: ` (usually one; one per file when several writes failed);
/// `details` follow as they are (indented lines that say per item why). A stop without a
/// message ends the run without a word (everything was said).
#[derive(Debug)]
pub(crate) struct Stop {
    pub(crate) status: ExitStatus,
    pub(crate) messages: Vec<String>,
    pub(crate) details: Vec<String>,
}

impl Stop {
    pub(crate) fn new(status: ExitStatus, message: impl std::fmt::Display) -> Stop {
        Stop {
            status,
            messages: vec![message.to_string()],
            details: Vec::new(),
        }
    }

    /// Another line of its own, after the first.
    pub(crate) fn also(mut self, message: impl std::fmt::Display) -> Stop {
        self.messages.push(message.to_string());
        self
    }

    /// Lines shown under the message, as given (they carry their own indentation).
    pub(crate) fn details(mut self, lines: impl IntoIterator<Item = String>) -> Stop {
        self.details.extend(lines);
        self
    }
}

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.messages.as_slice() {
            [] => f.write_str("stopped"),
            messages => f.write_str(&messages.join("; ")),
        }
    }
}

impl std::error::Error for Stop {}

/// The status an error ends the program with: a [`Stop`]'s own (anywhere in the chain,
/// under added context), else 2.
pub(crate) fn status_of(err: &anyhow::Error) -> ExitStatus {
    err.chain()
        .find_map(|cause| cause.downcast_ref::<Stop>())
        .map_or(ExitStatus::Error, |stop| stop.status)
}

#[cfg(test)]
mod tests {
    use super::{status_of, ExitStatus, Stop};

    #[test]
    fn a_stop_keeps_its_status_under_context() {
        let err = anyhow::Error::new(Stop::new(ExitStatus::No, "declined")).context("trust");
        assert_eq!(status_of(&err), ExitStatus::No);
        assert_eq!(format!("{err:#}"), "trust: declined");
        assert_eq!(status_of(&anyhow::anyhow!("plain")), ExitStatus::Error);
    }

    #[test]
    fn codes_match_the_contract() {
        assert_eq!(ExitStatus::Success.code(), 0);
        assert_eq!(ExitStatus::No.code(), 1);
        assert_eq!(ExitStatus::Error.code(), 2);
    }
}
