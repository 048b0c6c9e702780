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
            value: humantime::format_duration(config.timeout.value).to_string(),
            source: config.timeout.source.to_string(),
        },
        Entry {
            key: "fallback_delay",
            value: humantime::format_duration(config.fallback_delay.value).to_string(),
            source: config.fallback_delay.source.to_string(),
        },
    ];
    let report = Report {
        config_file: config.config_file.as_ref().map(|p| p.display().to_string()),
        settings,
    };
    printer.report(&report, |printer| {
        for entry in &report.settings {
            printer.line(format!(
                "{:<14} {:<22} ({})",
                entry.key, entry.value, entry.source
            ))?;
        }
        let file = report.config_file.as_deref().unwrap_or("none found");
        printer.line(format!("config file: {file}"))
    })?;
    Ok(ExitStatus::Success)
}
