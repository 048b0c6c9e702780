//! `doctor`: inspect the host under ROOT (and the endpoints) and print each problem with a
//! code, a severity and the command that fixes it; exit 1 when any problem is an error.

use serde::Serialize;

use crate::cli::DoctorArgs;
use crate::config::Config;
use crate::doctor::{self, Finding, Severity};
use crate::exit::ExitStatus;
use crate::output::{sanitize_line, Printer};

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

    if printer.is_json() {
        printer.json(&Report {
            findings: &findings,
        })?;
    } else if findings.is_empty() {
        printer.line("no problems found")?;
    } else {
        for finding in &findings {
            printer.line(format!(
                "{:<7} {}: {}",
                finding.severity.to_string(),
                finding.code,
                sanitize_line(&finding.message)
            ))?;
            if let Some(fix) = &finding.fix {
                // A fix is a command to paste: file names in it are shell-quoted, so a
                // newline inside one stays a literal newline inside quotes (escaping it
                // would name another file); other control and bidi characters are still
                // neutralised.
                printer.line(format!("        fix: {}", crate::output::sanitize(fix)))?;
            }
        }
    }
    let any_error = findings.iter().any(|f| f.severity == Severity::Error);
    Ok(if any_error {
        ExitStatus::No
    } else {
        ExitStatus::Success
    })
}
