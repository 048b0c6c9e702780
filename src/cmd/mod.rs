//! One module per command, each with the same signature:
//! `run(&Config, &Args, &Printer) -> anyhow::Result<ExitStatus>`. A command builds its
//! report, renders it once through the [`Printer`] (text or JSON) and returns the status
//! the report means; a command that cannot go on returns an error, an [`crate::exit::Stop`]
//! when its status is not 2, and `main` says it once.

// Dockerfiles, build contexts and .dockerignore named on the command line, not paths
// under --root.
#[allow(clippy::disallowed_methods)]
mod build;
mod catalog;
// The --out directory named on the command line, not a path under --root.
#[allow(clippy::disallowed_methods)]
mod cert;
mod check;
mod config;
mod credential_helper;
// The archive named on the command line, not a path under --root.
#[allow(clippy::disallowed_methods)]
mod credentials;
mod doctor;
mod endpoint;
mod login;
mod logout;
// Dockerfiles named on the command line, not paths under --root (its owners are changing it).
#[allow(clippy::disallowed_methods)]
mod rewrite;
mod rollout;
mod snippet;
mod trust;
mod untrust;
mod version;

use crate::cli::Command;
use crate::config::Config;
use crate::exit::ExitStatus;
use crate::output::Printer;

pub(crate) fn run(
    config: &Config,
    command: &Command,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    refuse_prometheus(command, printer)?;
    announce_builtin_endpoints(config, command, printer);
    match command {
        Command::Config => config::run(config, printer),
        Command::Check(args) => check::run(config, args, printer),
        Command::Trust(args) => trust::run(config, args, printer),
        Command::Untrust(args) => untrust::run(config, args, printer),
        Command::Endpoint(args) => endpoint::run(config, args, printer),
        Command::Rewrite(args) => rewrite::run(config, args, printer),
        Command::Cert(args) => cert::run(config, args, printer),
        Command::Snippet(args) => snippet::run(config, args, printer),
        Command::Rollout(args) => rollout::run(config, args, printer),
        Command::Doctor(args) => doctor::run(config, args, printer),
        Command::Build(args) => build::run(config, args, printer),
        Command::Login(args) => login::run(config, args, printer),
        Command::Logout(args) => logout::run(config, args, printer),
        Command::Credentials(args) => credentials::run(config, args, printer),
        Command::Catalog(args) => catalog::run(config, args, printer),
        Command::CredentialHelper(args) => credential_helper::run(config, args, printer),
        Command::Version => version::run(printer),
    }
}

/// The commands that read no configuration (a broken config file must not hide them).
pub(crate) fn run_without_config(
    command: &Command,
    printer: &Printer,
) -> Option<anyhow::Result<ExitStatus>> {
    match command {
        Command::Version => {
            Some(refuse_prometheus(command, printer).and_then(|()| version::run(printer)))
        }
        _ => None,
    }
}

/// The network commands about to reach the built-in default endpoints say so, once.
fn announce_builtin_endpoints(config: &Config, command: &Command, printer: &Printer) {
    let given: &[String] = match command {
        Command::Check(args) if args.cert.is_none() => &args.endpoints,
        Command::Trust(args) => &args.endpoints,
        Command::Login(args) => &args.endpoints,
        Command::Endpoint(_) => &[],
        Command::Doctor(args) if !args.offline => &[],
        _ => return,
    };
    if let Some(note) = config.builtin_endpoints_note(given) {
        printer.note(note);
    }
}

fn refuse_prometheus(command: &Command, printer: &Printer) -> anyhow::Result<()> {
    if printer.is_prometheus() && !matches!(command, Command::Check(_)) {
        anyhow::bail!("--format prometheus is for check only — use text or json here");
    }
    Ok(())
}
