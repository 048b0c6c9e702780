//! `doctor`: not built yet.

use crate::cli::DoctorArgs;
use crate::config::Config;
use crate::exit::ExitStatus;
use crate::output::Printer;

pub(crate) fn run(
    _config: &Config,
    _args: &DoctorArgs,
    _printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    anyhow::bail!(
        "`doctor` is not available in this build yet — see README.md for the commands that are"
    )
}
