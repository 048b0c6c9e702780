//! `trust`: not built yet.

use crate::cli::TrustArgs;
use crate::config::Config;
use crate::exit::ExitStatus;
use crate::output::Printer;

pub(crate) fn run(
    _config: &Config,
    _args: &TrustArgs,
    _printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    anyhow::bail!(
        "`trust` is not available in this build yet — see README.md for the commands that are"
    )
}
