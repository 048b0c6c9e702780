//! `config`: the resolved configuration and where each value came from.

use serde::Serialize;

use crate::config::Config;
use crate::exit::ExitStatus;
use crate::output::Printer;

#[derive(Serialize)]
struct Entry {
    key: &'static str,
    value: String,
    source: String,
}

#[derive(Serialize)]
struct Report {
    config_file: Option<String>,
    /// Where a config file was looked for.
    config_searched: Vec<String>,
    settings: Vec<Entry>,
}

pub(crate) fn run(config: &Config, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let settings = vec![
        Entry {
            key: "internal",
            value: config.internal.value.to_string(),
            source: config.internal.source.to_string(),
        },
        Entry {
            key: "external",
            value: config.external.value.to_string(),
            source: config.external.source.to_string(),
        },
        Entry {
            key: "root",
            value: config.root.value.display().to_string(),
            source: config.root.source.to_string(),
        },
        Entry {
            key: "timeout",
            value: crate::text::duration(config.timeout.value),
            source: config.timeout.source.to_string(),
        },
        Entry {
            key: "fallback_delay",
            value: crate::text::duration(config.fallback_delay.value),
            source: config.fallback_delay.source.to_string(),
        },
    ];
    let report = Report {
        config_file: config.config_file.as_ref().map(|p| p.display().to_string()),
        // A named file (--config, DCOSREG_CONFIG) must exist, so with none read only the
        // default path was looked at.
        config_searched: match &config.config_file {
            Some(file) => vec![file.display().to_string()],
            None => crate::config::default_config_path()
                .map(|p| p.display().to_string())
                .into_iter()
                .collect(),
        },
        settings,
    };
    printer.report(&report, |printer| {
        for entry in &report.settings {
            printer.line(format!(
                "{:<14} {:<22} ({})",
                entry.key, entry.value, entry.source
            ))?;
        }
        match (&report.config_file, report.config_searched.as_slice()) {
            (Some(file), _) => printer.line(format!("config file: {file}")),
            (None, []) => printer
                .line("config file: none found (no home directory to look in; give --config FILE)"),
            (None, searched) => printer.line(format!(
                "config file: none found (looked for {}; create it or give --config FILE)",
                searched.join(", ")
            )),
        }
    })?;
    Ok(ExitStatus::Success)
}
