//! `cert`: not built yet.

use crate::cli::CertArgs;
use crate::config::Config;
use crate::exit::ExitStatus;
use crate::output::Printer;

pub(crate) fn run(
    _config: &Config,
    _args: &CertArgs,
    _printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    anyhow::bail!(
        "`cert` is not available in this build yet — see README.md for the commands that are"
    )
}
