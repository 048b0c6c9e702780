//! `logout`: remove the stored secret and exactly the `credHelpers` entries login added.

use serde::Serialize;

use crate::cli::LogoutArgs;
use crate::config::Config;
use crate::credentials::{self, docker_config, key};
use crate::exit::ExitStatus;
use crate::output::Printer;

#[derive(Serialize)]
struct LogoutJson {
    store: String,
    /// Keys whose secret was removed.
    erased: Vec<String>,
    config: docker_config::Change,
    dry_run: bool,
}

pub(crate) fn run(
    config: &Config,
    args: &LogoutArgs,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let endpoints = config.endpoints_or_default(&args.endpoints)?;
    let store = credentials::user_store(&config.docker_flags)?;
    let record = credentials::user_record()?;
    let mut keys: Vec<String> = Vec::new();
    for endpoint in &endpoints {
        let stored_key = match credentials::key_for(&record, endpoint)? {
            Some(stored_key) => stored_key,
            None => key::canonical(config, endpoint),
        };
        if !keys.contains(&stored_key) {
            keys.push(stored_key);
        }
    }
    let mut erased = Vec::new();
    for stored_key in &keys {
        let present = if args.dry_run {
            store.get(stored_key)?.is_some()
        } else {
            record.remove(config.fs(), stored_key)?;
            store.erase(config.fs(), stored_key)?
        };
        if present {
            erased.push(stored_key.clone());
        }
    }
    let config_json = docker_config::path(&config.docker_flags)?;
    let change = docker_config::remove_helpers(
        config.fs(),
        &config_json,
        &key::all_spellings(&endpoints),
        &credentials::data_dir()?,
        args.dry_run,
    )?;
    let report = LogoutJson {
        store: store.describe(),
        erased,
        config: change,
        dry_run: args.dry_run,
    };
    printer.report(&report, |printer| {
        print_text(printer, args.dry_run, &report, &config_json)
    })?;
    Ok(ExitStatus::Success)
}

fn print_text(
    printer: &Printer,
    dry_run: bool,
    report: &LogoutJson,
    config_json: &std::path::Path,
) -> std::io::Result<()> {
    let would = if dry_run { "would remove" } else { "removed" };
    if report.erased.is_empty() {
        printer.line(format!("secret: none stored in {}", report.store))?;
    } else {
        printer.line(format!("secret: {would} from {}", report.store))?;
    }
    let change = &report.config;
    if change.entries.is_empty() {
        printer.line(format!(
            "credHelpers: nothing login added is left in {}",
            config_json.display()
        ))
    } else {
        printer.line(format!(
            "credHelpers: {would} {} from {}{}",
            change.entries.join(", "),
            config_json.display(),
            if change.restored {
                " (restored as it was before login)"
            } else {
                ""
            }
        ))
    }
}
