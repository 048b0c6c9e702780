//! `endpoint`: print the registry endpoint this machine can reach, for scripts.
//!
//! `REGISTRY=$(docker dcosreg endpoint)` must work, so stdout carries only the chosen
//! endpoint spelled as configured; why the preferred one lost goes to stderr. The
//! decision itself lives in `crate::probe` (shared with `rewrite --to auto`).

use serde::Serialize;

use crate::cli::{EndpointArgs, Prefer};
use crate::config::Config;
use crate::exit::{ExitStatus, Stop};
use crate::output::Printer;
use crate::probe::{self, Report};

/// `endpoint --format json`.
#[derive(Serialize)]
struct JsonOutput<'a> {
    /// The chosen endpoint spelled as configured, or null.
    chosen: Option<String>,
    /// `internal` or `external`, or null.
    chosen_role: Option<probe::Role>,
    prefer: &'static str,
    timeout_ms: u128,
    fallback_delay_ms: u128,
    elapsed_ms: f64,
    /// Which rule decided: `preferred`, `preferred-failed`, `fallback-delay`, `deadline`.
    decided_by: probe::DecidedBy,
    endpoints: &'a [Report],
}

pub(crate) fn run(
    config: &Config,
    args: &EndpointArgs,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let decision = probe::choose(config, args.prefer.into());
    let report = JsonOutput {
        chosen: decision.chosen.as_ref().map(|(_, ep)| ep.to_string()),
        chosen_role: decision.chosen.as_ref().map(|(role, _)| *role),
        prefer: match args.prefer {
            Prefer::Internal => "internal",
            Prefer::External => "external",
        },
        timeout_ms: config.timeout.value.as_millis(),
        fallback_delay_ms: config.fallback_delay.value.as_millis(),
        elapsed_ms: (decision.elapsed.as_secs_f64() * 10_000.0).round() / 10.0,
        decided_by: decision.decided_by,
        endpoints: &decision.reports,
    };
    printer.report(&report, |printer| {
        print_text(printer, &decision, &config.fixes())
    })?;
    match decision.chosen {
        Some(_) => Ok(ExitStatus::Success),
        // JSON already says so (`chosen` is null).
        None if printer.is_json() => Ok(ExitStatus::No),
        None => Err(Stop::new(
            ExitStatus::No,
            format!(
                "no registry endpoint answered within {} — check the errors below, or raise --timeout",
                crate::text::duration(config.timeout.value)
            ),
        )
        .details(decision.reports.iter().map(|report| {
            let error = report.error.as_deref().unwrap_or("no answer");
            format!("  {}: {error}", role_name(report.role))
        }))
        .into()),
    }
}

/// The chosen endpoint on stdout, alone; why the preferred one lost on stderr (one not
/// awaited because the preferred one answered has no error to tell).
fn print_text(
    printer: &Printer,
    decision: &probe::Decision,
    fixes: &crate::finding::Fixes,
) -> std::io::Result<()> {
    let Some((role, endpoint)) = &decision.chosen else {
        return Ok(());
    };
    printer.line(endpoint.to_string())?;
    for report in &decision.reports {
        if report.role != *role {
            if let Some(error) = &report.error {
                printer.warn(format!("using {} {endpoint}; {error}", role_name(*role)));
            }
        }
    }
    if let Some(false) = decision
        .reports
        .iter()
        .find(|r| r.role == *role)
        .and_then(|r| r.trusted)
    {
        printer.warn(format!(
            "{endpoint} answers, but Docker on this host does not trust its certificate — run `{}`, then `{}`",
            fixes.dcosreg_user(&format!("check {endpoint}")),
            fixes.dcosreg(&format!("trust {endpoint}"))
        ));
    }
    Ok(())
}

fn role_name(role: probe::Role) -> &'static str {
    match role {
        probe::Role::Internal => "internal",
        probe::Role::External => "external",
    }
}
