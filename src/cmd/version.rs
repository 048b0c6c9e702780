//! `version`: what `--version` says, as a command, as `docker buildx version` has one:
//! `docker-dcosreg 0.1.0`, then the commit when the build recorded one (`DCOSREG_COMMIT` at
//! compile time; dist.sh sets it). Reads no configuration, like the plugin metadata, so a
//! broken config file never hides which build is running.

use serde::Serialize;

use crate::exit::ExitStatus;
use crate::output::Printer;

pub(crate) const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The commit the build was made from, when it was recorded.
pub(crate) fn commit() -> Option<&'static str> {
    option_env!("DCOSREG_COMMIT")
        .map(str::trim)
        .filter(|c| !c.is_empty())
}

#[derive(Serialize)]
struct Report {
    version: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    commit: Option<&'static str>,
}

pub(crate) fn run(printer: &Printer) -> anyhow::Result<ExitStatus> {
    let report = Report {
        version: VERSION,
        commit: commit(),
    };
    printer.report(&report, |printer| {
        printer.line(match report.commit {
            Some(commit) => format!("docker-dcosreg {VERSION} {commit}"),
            None => format!("docker-dcosreg {VERSION}"),
        })
    })?;
    Ok(ExitStatus::Success)
}
