//! `rewrite`: not built yet.

use crate::cli::RewriteArgs;
use crate::config::Config;
use crate::exit::ExitStatus;
use crate::output::Printer;

pub(crate) fn run(
    _config: &Config,
    _args: &RewriteArgs,
    _printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    anyhow::bail!(
        "`rewrite` is not available in this build yet — see README.md for the commands that are"
    )
}
