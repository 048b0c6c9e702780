//! `credentials export`: the stored login as a DC/OS archive or a config.json, for machines
//! that cannot run a credential helper (docs/cli.md).

use std::io::IsTerminal;

use anyhow::{bail, Context};
use serde::Serialize;

use crate::cli::{CredentialsArgs, CredentialsCommand, ExportArgs, ExportForm};
use crate::config::Config;
use crate::credentials::{self, export, key};
use crate::exit::ExitStatus;
use crate::output::Printer;

#[derive(Serialize)]
struct ExportJson {
    written: String,
    form: &'static str,
    spellings: Vec<String>,
}

pub(crate) fn run(
    config: &Config,
    args: &CredentialsArgs,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    match &args.command {
        CredentialsCommand::Export(export_args) => run_export(config, export_args, printer),
    }
}

/// Where `--out` writes: a new path, or a regular file (a link to one is written through,
/// as the link's owner meant). A device, FIFO, socket or directory, or a link to one, is
/// refused: as root, `--out /dev/null` would otherwise become a file holding the secret.
fn out_file(out: &std::path::Path) -> anyhow::Result<std::path::PathBuf> {
    let Ok(link) = std::fs::symlink_metadata(out) else {
        return Ok(out.to_path_buf());
    };
    let meta = std::fs::metadata(out).ok();
    if meta.as_ref().is_some_and(std::fs::Metadata::is_file) {
        if link.file_type().is_symlink() {
            return out
                .canonicalize()
                .with_context(|| format!("cannot resolve --out {}", out.display()));
        }
        return Ok(out.to_path_buf());
    }
    bail!(
        "--out {} is not a regular file{} — give a file path",
        out.display(),
        if link.file_type().is_symlink() {
            " (a link to a device, pipe, socket or directory, or a dangling one)"
        } else {
            " (a device, pipe, socket or directory)"
        }
    )
}

fn run_export(config: &Config, args: &ExportArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    if args.out.is_none() && std::io::stdout().is_terminal() {
        bail!("refusing to write a secret to the terminal — give --out FILE or redirect stdout");
    }
    let store = credentials::user_store(&config.docker_flags)?;
    if let Some(warning) = store.tighten() {
        printer.warn(warning);
    }
    let record = credentials::user_record()?;
    let Some(credential) = credentials::lookup(config, &store, &record, &config.internal.value)?
    else {
        bail!(
            "not logged in to {} — run `docker dcosreg login` first, or set {} and {}",
            config.internal.value,
            credentials::ENV_USERNAME,
            credentials::ENV_PASSWORD
        );
    };
    let spellings = key::all_spellings(&config.endpoints());
    let json = export::config_json(&spellings, &credential);
    let (bytes, form) = match args.form {
        ExportForm::DcosArchive => (export::dcos_archive(&json)?, "dcos-archive"),
        ExportForm::DockerConfig => (json, "docker-config"),
    };
    let Some(out) = &args.out else {
        printer.raw(&bytes)?;
        return Ok(ExitStatus::Success);
    };
    let target = out_file(out)?;
    // A new file, 0600 from its first byte, renamed over the old one (whose mode it never
    // takes): nobody else can read the secret at any moment.
    config.fs().write_secret(&target, &bytes)?;
    let report = ExportJson {
        written: out.display().to_string(),
        form,
        spellings,
    };
    printer.report(&report, |printer| {
        printer.line(format!(
            "wrote {} ({form}, mode 0600, auths for {})",
            report.written,
            report.spellings.join(", ")
        ))
    })?;
    Ok(ExitStatus::Success)
}
