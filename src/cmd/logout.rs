//! `logout`: remove the stored secret and exactly the `credHelpers` entries login added.

use serde::Serialize;

use crate::cli::LogoutArgs;
use crate::config::Config;
use crate::credentials::{self, docker_config, key};
use crate::exit::ExitStatus;
use crate::output::{sanitize_line, Printer};

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
    let store = credentials::user_store()?;
    let mut keys: Vec<String> = Vec::new();
    for endpoint in &endpoints {
        let stored_key = key::canonical(config, endpoint);
        if !keys.contains(&stored_key) {
            keys.push(stored_key);
        }
    }
    let mut erased = Vec::new();
    for stored_key in &keys {
        let present = if args.dry_run {
            store.get(stored_key)?.is_some()
        } else {
            store.erase(stored_key)?
        };
        if present {
            erased.push(stored_key.clone());
        }
    }
    let config_json = docker_config::path()?;
    let change = docker_config::remove_helpers(
        &config_json,
        &key::all_spellings(&endpoints),
        &credentials::data_dir()?,
        args.dry_run,
    )?;
    if printer.is_json() {
        printer.json(&LogoutJson {
            store: store.describe(),
            erased,
            config: change,
            dry_run: args.dry_run,
        })?;
        return Ok(ExitStatus::Success);
    }
    let would = if args.dry_run {
        "would remove"
    } else {
        "removed"
    };
    if erased.is_empty() {
        printer.line(format!("secret: none stored in {}", store.describe()))?;
    } else {
        printer.line(format!("secret: {would} from {}", store.describe()))?;
    }
    if change.entries.is_empty() {
        printer.line(format!(
            "credHelpers: nothing login added is left in {}",
            config_json.display()
        ))?;
    } else {
        printer.line(sanitize_line(&format!(
            "credHelpers: {would} {} from {}{}",
            change.entries.join(", "),
            config_json.display(),
            if change.restored {
                " (restored as it was before login)"
            } else {
                ""
            }
        )))?;
    }
    Ok(ExitStatus::Success)
}
