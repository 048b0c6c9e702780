//! `endpoint`: not built yet.

use crate::cli::EndpointArgs;
use crate::config::Config;
use crate::exit::ExitStatus;
use crate::output::Printer;

pub(crate) fn run(
    _config: &Config,
    _args: &EndpointArgs,
    _printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    anyhow::bail!(
        "`endpoint` is not available in this build yet — see README.md for the commands that are"
    )
}
