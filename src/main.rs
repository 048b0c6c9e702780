//! docker-dcosreg: trust, check and use a private Docker registry inside a DC/OS cluster.
//!
//! `main` only wires: the plugin handshake fast path, argument parsing, configuration,
//! dispatch to one `cmd::*::run`, and rendering of the error chain.

mod certgen;
mod cli;
mod cmd;
mod config;
mod credentials;
mod dockerfile;
mod doctor;
mod endpoint;
mod exit;
mod finding;
mod fsutil;
mod output;
mod pem;
mod plugin;
mod probe;
mod rollout;
mod snippet;
mod tls;
mod trust;
mod x509;

use std::process::ExitCode;

use exit::ExitStatus;

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // Docker calls this on every `docker --help`: answer before anything else is set up.
    if args
        .get(1)
        .is_some_and(|a| a == plugin::METADATA_SUBCOMMAND)
    {
        return plugin::print_metadata().into();
    }
    let args = plugin::credential_helper_args(args);
    let invocation = plugin::Invocation::from_args(args);
    let (cli, matches) = match cli::parse(&invocation) {
        Ok(parsed) => parsed,
        Err(err) => {
            // clap renders help/version (exit 0) and usage errors (exit 2) itself.
            let _ = err.print();
            return if err.use_stderr() {
                ExitStatus::Error.into()
            } else {
                ExitStatus::Success.into()
            };
        }
    };
    let status = config::Config::resolve(&cli, &matches).and_then(|config| {
        fsutil::set_root(&config.root.value);
        let printer = output::Printer::new(config.format);
        cmd::run(&config, &cli.command, &printer)
    });
    match status {
        Ok(status) => status.into(),
        // Stdout swallows a closed pipe (output::stdout); one that still surfaces here came
        // from elsewhere and is an error like any other, only not worth a message.
        Err(err) if is_broken_pipe(&err) => ExitStatus::Error.into(),
        Err(err) => {
            eprintln!("docker-dcosreg: {}", output::sanitize(&format!("{err:#}")));
            ExitStatus::Error.into()
        }
    }
}

/// `docker dcosreg check | head -1` must not end in an error message (nor in exit 0).
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
