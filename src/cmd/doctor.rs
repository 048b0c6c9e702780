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
            return printer.line("no problems found");
        }
        match fold_trust(config, &findings) {
            Some(folded) => print_folded(printer, &findings, &folded),
            None => printer.findings("", &findings),
        }
    })?;
    let any_error = findings.iter().any(|f| f.severity == Severity::Error);
    Ok(if any_error {
        ExitStatus::No
    } else {
        ExitStatus::Success
    })
}

/// The findings (by index) whose fix is one `trust` of this run, and the one command that
/// does all of them: every such endpoint into every such store (no `--target` when one of
/// them had none: trust's default is every store present). trust is idempotent, so what is
/// in place already is left as it is.
struct Folded {
    members: Vec<usize>,
    fix: String,
}

fn fold_trust(config: &Config, findings: &[Finding]) -> Option<Folded> {
    let fixes = config.fixes();
    let prefix = fixes.dcosreg("trust ");
    let mut endpoints: Vec<&str> = Vec::new();
    let mut targets: Vec<&str> = Vec::new();
    let mut every_target = false;
    let mut members = Vec::new();
    for (i, finding) in findings.iter().enumerate() {
        let Some(rest) = finding.fix.as_deref().and_then(|f| f.strip_prefix(&prefix)) else {
            continue;
        };
        let (endpoint, target) = match rest.split_once(" --target ") {
            Some((endpoint, target)) => (endpoint, Some(target)),
            None => (rest, None),
        };
        // Only the plain forms: one endpoint word, one target word.
        if endpoint.contains(' ') || target.is_some_and(|t| t.contains(' ')) {
            continue;
        }
        if !endpoints.contains(&endpoint) {
            endpoints.push(endpoint);
        }
        match target {
            Some(t) if !targets.contains(&t) => targets.push(t),
            Some(_) => {}
            None => every_target = true,
        }
        members.push(i);
    }
    if members.len() < 2 {
        return None;
    }
    let target = if every_target || targets.is_empty() {
        String::new()
    } else {
        format!(" --target {}", targets.join(","))
    };
    Some(Folded {
        members,
        fix: fixes.dcosreg(&format!("trust {}{target}", endpoints.join(" "))),
    })
}

/// The folded findings together, under their one fix; then the others as usual.
fn print_folded(printer: &Printer, findings: &[Finding], folded: &Folded) -> std::io::Result<()> {
    let member = |i: &usize| folded.members.contains(i);
    let together: Vec<Finding> = findings
        .iter()
        .enumerate()
        .filter(|(i, _)| member(i))
        .map(|(_, f)| Finding {
            fix: None,
            ..f.clone()
        })
        .collect();
    printer.findings("", &together)?;
    printer.block(format!(
        "        fix (all {} above): {}",
        together.len(),
        folded.fix
    ))?;
    let rest: Vec<Finding> = findings
        .iter()
        .enumerate()
        .filter(|(i, _)| !member(i))
        .map(|(_, f)| f.clone())
        .collect();
    printer.findings("", &rest)
}
