//! Exit statuses shared by every command (docs/cli.md, "Exit status").

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

    /// The worse of two statuses, for commands that report several results.
    pub(crate) fn worst(self, other: ExitStatus) -> ExitStatus {
        if other.code() > self.code() {
            other
        } else {
            self
        }
    }
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> ExitCode {
        ExitCode::from(status.code())
    }
}

#[cfg(test)]
mod tests {
    use super::ExitStatus;

    #[test]
    fn codes_match_the_contract() {
        assert_eq!(ExitStatus::Success.code(), 0);
        assert_eq!(ExitStatus::No.code(), 1);
        assert_eq!(ExitStatus::Error.code(), 2);
    }

    #[test]
    fn worst_keeps_the_highest_code() {
        assert_eq!(ExitStatus::Success.worst(ExitStatus::No), ExitStatus::No);
        assert_eq!(ExitStatus::Error.worst(ExitStatus::No), ExitStatus::Error);
        assert_eq!(
            ExitStatus::Success.worst(ExitStatus::Success),
            ExitStatus::Success
        );
    }
}
