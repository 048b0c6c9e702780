//! `doctor`: inspect the host under ROOT (and the endpoints) and print each problem with a
//! code, a severity and the command that fixes it; exit 1 when any problem is an error.

use serde::Serialize;

use crate::cli::DoctorArgs;
use crate::config::Config;
use crate::doctor::{self, Finding, Severity};
use crate::exit::ExitStatus;
use crate::output::Printer;

#[derive(Serialize)]
struct Report<'a> {
    findings: &'a [Finding],
}

pub(crate) fn run(
    config: &Config,
    args: &DoctorArgs,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let mut findings = doctor::inspect_host(config);
    if !args.offline {
        findings.extend(doctor::inspect_endpoints(config));
    }
    findings.sort_by_key(|f| std::cmp::Reverse(f.severity));

    let report = Report {
        findings: &findings,
    };
    printer.report(&report, |printer| {
        if findings.is_empty() {
            printer.line("no problems found")
        } else {
            printer.findings("", &findings)
        }
    })?;
    let any_error = findings.iter().any(|f| f.severity == Severity::Error);
    Ok(if any_error {
        ExitStatus::No
    } else {
        ExitStatus::Success
    })
}
