//! `untrust`: remove exactly what `trust` installed, as recorded in its manifest: a file
//! only while it still holds what we wrote, our TOML entries only, and the directories we
//! created once they are empty. Files we did not write are never touched.

use serde::Serialize;

use crate::cli::UntrustArgs;
use crate::config::Config;
use crate::exit::ExitStatus;
use crate::output::Printer;
use crate::trust::{self, Host, Removal, Restart, Target};

#[derive(Debug, Serialize)]
struct Report<'a> {
    dry_run: bool,
    files: &'a [Removal],
    /// The running services to restart before pulls and builds stop trusting the CA;
    /// empty is a promise that none must.
    restart: &'a [Restart],
}

pub(crate) fn run(
    config: &Config,
    args: &UntrustArgs,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let endpoints = config.endpoints_or_default(&args.endpoints)?;
    let host = Host::from_env(config);
    let targets = Target::dedup(&args.target);
    // Another trust/untrust on this root waits: the manifest is read-modify-write.
    let _lock = if args.dry_run {
        None
    } else {
        Some(crate::fsutil::lock_root(&config.root.value)?)
    };
    let selected = (!targets.is_empty()).then_some(targets.as_slice());
    let only: Option<Vec<String>> = match (&args.ca_file, &args.fingerprint) {
        (Some(file), _) => Some(
            crate::x509::pem::read_certificates(config.fs(), file)?
                .iter()
                .map(|der| crate::x509::pem::sha256_fingerprint(der.as_ref()))
                .collect(),
        ),
        (None, Some(text)) => Some(trust::parse_fingerprints(text)?),
        (None, None) => None,
    };
    let removals = trust::uninstall(&host, &endpoints, selected, only.as_deref(), args.dry_run)?;
    if !args.dry_run {
        let mut refreshed = Vec::new();
        for removal in &removals {
            if matches!(removal.action, "remove" | "edit") && !refreshed.contains(&removal.target) {
                removal.target.refresh(&host, printer, &[])?;
                refreshed.push(removal.target);
            }
        }
        trust::prune_links(&host, &removals)?;
    }
    // A removal happens now: every daemon running now predates it.
    let now = std::time::SystemTime::now();
    let mut restart = Vec::new();
    let mut seen = Vec::new();
    for removal in &removals {
        if matches!(removal.action, "remove" | "edit") && !seen.contains(&removal.target) {
            seen.push(removal.target);
            restart.extend(removal.target.restarts(&host, now));
        }
    }
    let restart = trust::merge_restarts(restart);
    // A file changed since trust is the admin's now and is left alone; it may still name
    // the CA, which only a person can judge.
    for kept in removals.iter().filter(|r| r.action == "changed-kept") {
        printer.warn(format!(
            "{} changed since trust and was left alone — if it still trusts the registry's CA, edit it by hand",
            kept.path.display()
        ));
    }
    let report = Report {
        dry_run: args.dry_run,
        files: &removals,
        restart: &restart,
    };
    printer.report(&report, |printer| print_text(printer, &report))?;
    Ok(ExitStatus::Success)
}

fn print_text(printer: &Printer, report: &Report) -> std::io::Result<()> {
    if report.files.is_empty() {
        return printer
            .line("nothing to remove: trust installed nothing for these endpoints and targets");
    }
    let rows: Vec<[String; 4]> = report
        .files
        .iter()
        .map(|r| {
            let action = match (report.dry_run, r.action) {
                (true, "remove") => "would remove",
                (true, "edit") => "would take our entries out",
                (false, "remove") => "removed",
                (false, "edit") => "our entries taken out",
                (_, "changed-kept") => "changed since trust: left alone",
                (_, "already-absent") => "already absent",
                (_, "narrowed") => "kept: still used by another endpoint",
                (_, other) => other,
            };
            [
                r.endpoints.join(", "),
                r.target.to_string(),
                r.path.display().to_string(),
                action.to_string(),
            ]
        })
        .collect();
    printer.table(["ENDPOINT", "TARGET", "PATH", "ACTION"], &rows)?;
    super::trust::print_restarts(printer, report.restart)
}
