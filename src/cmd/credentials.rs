//! `credentials export`: the stored login as a DC/OS archive or a config.json, for machines
//! that cannot run a credential helper (docs/cli.md).

use std::io::IsTerminal;
use std::os::unix::fs::PermissionsExt;

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

fn run_export(config: &Config, args: &ExportArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    if args.out.is_none() && std::io::stdout().is_terminal() {
        bail!("refusing to write a secret to the terminal — give --out FILE or redirect stdout");
    }
    let store = credentials::user_store()?;
    let Some(credential) = credentials::lookup(config, &store, &config.internal.value)? else {
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
    crate::fsutil::write_atomic(out, &bytes, 0o600)?;
    // An existing file keeps its mode through the write; a secret is for its owner only.
    std::fs::set_permissions(out, std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("cannot set the mode of {}", out.display()))?;
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
