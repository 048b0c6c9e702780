//! `endpoint`: print the registry endpoint this machine can reach, for scripts.
//!
//! `REGISTRY=$(docker dcosreg endpoint)` must work, so stdout carries only the chosen
//! endpoint spelled as configured; why the preferred one lost goes to stderr. The
//! decision itself lives in `crate::probe` (shared with `rewrite --to auto`).

use serde::Serialize;

use crate::cli::{EndpointArgs, Prefer};
use crate::config::Config;
use crate::exit::ExitStatus;
use crate::output::{sanitize_line, Printer};
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
    let status = match decision.chosen {
        Some(_) => ExitStatus::Success,
        None => ExitStatus::No,
    };
    if printer.is_json() {
        printer.json(&JsonOutput {
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
        })?;
        return Ok(status);
    }
    match &decision.chosen {
        Some((role, endpoint)) => {
            printer.line(endpoint.to_string())?;
            // Say why the preferred endpoint lost, off stdout (one not awaited because the
            // preferred one answered has no error to tell).
            for report in &decision.reports {
                if report.role != *role {
                    if let Some(error) = &report.error {
                        printer.warn(format!(
                            "using {} {endpoint}; {}",
                            role_name(*role),
                            sanitize_line(error)
                        ));
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
                    "{endpoint} answers, but Docker on this host does not trust its certificate — run `docker dcosreg check {endpoint}`, then `docker dcosreg trust {endpoint}`"
                ));
            }
        }
        None => {
            eprintln!(
                "docker-dcosreg: no registry endpoint answered within {} — check the errors below, or raise --timeout",
                humantime::format_duration(config.timeout.value)
            );
            for report in &decision.reports {
                let error = report.error.as_deref().unwrap_or("no answer");
                eprintln!("  {}: {}", role_name(report.role), sanitize_line(error));
            }
        }
    }
    Ok(status)
}

fn role_name(role: probe::Role) -> &'static str {
    match role {
        probe::Role::Internal => "internal",
        probe::Role::External => "external",
    }
}
