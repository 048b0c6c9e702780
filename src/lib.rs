//! docker-dcosreg: trust, check and use a private Docker registry inside a DC/OS cluster.
//!
//! The program is this library; `main.rs` answers Docker's plugin-metadata call and hands
//! everything else to [`run`]. It is a library so that the fuzz targets (`fuzz/`) link the
//! code they test instead of including its files. Its public items are [`run`], the
//! metadata fast paths ([`PLUGIN_METADATA`], [`print_plugin_metadata`], and on Linux/glibc
//! `metadata_before_start` with its `InitArrayFn`) and, under
//! `cfg(fuzzing)` and in tests, the fuzz properties (`fuzz`); everything else is
//! `pub(crate)`, as in a binary.
//!
//! [`run`] only wires: argument parsing, configuration, dispatch to one `cmd::*::run`, and
//! rendering of the error chain.

// Every host path goes through fsutil, confined to --root: a direct std::fs call elsewhere
// (clippy.toml) needs an #[allow] saying why it is not a host path.
#![deny(clippy::disallowed_methods)]
// No function over 80 lines (clippy.toml), tests aside: split along its natural steps.
#![cfg_attr(not(test), deny(clippy::too_many_lines))]

mod certgen;
mod cli;
mod cmd;
mod completion;
mod config;
mod generate;
// ~/.docker/config.json and the credentials store are the user's files, not paths under
// --root: each function that touches them says so with its own allow.
mod credentials;
// Dockerfiles and build contexts named on the command line, not paths under --root.
#[allow(clippy::disallowed_methods)]
mod dockerfile;
mod doctor;
mod endpoint;
mod exit;
mod finding;
// The one place that touches files: confinement, bounds and atomic writes live here.
#[allow(clippy::disallowed_methods)]
mod fsutil;
#[cfg(any(fuzzing, test))]
#[doc(hidden)]
#[allow(clippy::disallowed_methods)] // builds its scratch trees directly
pub mod fuzz;
mod output;
mod plugin;
mod probe;
mod rollout;
mod snippet;
mod text;
mod tls;
mod trust;
mod x509;

use std::ffi::OsString;
use std::process::ExitCode;

use exit::ExitStatus;

/// The subcommand Docker runs for every plugin on each `docker --help`.
pub const PLUGIN_METADATA: &str = plugin::METADATA_SUBCOMMAND;

/// Answers [`PLUGIN_METADATA`]: nothing else is set up for it.
pub fn print_plugin_metadata() -> ExitCode {
    plugin::print_metadata().into()
}

/// Answers [`PLUGIN_METADATA`] before Rust's start-up, from the `.init_array` entry main.rs
/// registers; returns for every other command line.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub use plugin::{metadata_before_start, InitArrayFn};

/// Runs the command `args` (the whole command line, program name first) names.
pub fn run(args: Vec<OsString>) -> ExitCode {
    let args = plugin::credential_helper_args(args);
    // Docker's TAB: `docker-dcosreg __complete dcosreg ARGS… WORD` (cobra's protocol).
    if args.get(1).is_some_and(|a| a == "__complete") {
        let words: Vec<String> = args[2..]
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        return match output::Printer::new(output::Format::Text)
            .raw(completion::answer(&words).as_bytes())
        {
            Ok(()) => ExitStatus::Success.into(),
            Err(_) => ExitStatus::Error.into(),
        };
    }
    // Packaging: `docker-dcosreg __generate DIR` writes the man pages and completions.
    if args.get(1).is_some_and(|a| a == "__generate") {
        return match args.get(2).filter(|_| args.len() == 3) {
            Some(dir) => match generate::write_to(std::path::Path::new(dir)) {
                Ok(written) => {
                    output::say(&format!(
                        "docker-dcosreg: wrote {} files under {}",
                        written.len(),
                        std::path::Path::new(dir).display()
                    ));
                    ExitStatus::Success.into()
                }
                Err(err) => stop(&err).into(),
            },
            None => {
                output::say("docker-dcosreg: usage: docker-dcosreg __generate DIR");
                ExitStatus::Error.into()
            }
        };
    }
    // The helper's own help (its man page's text), not the hidden command's.
    if args.get(1).is_some_and(|a| a == "credential-helper")
        && args.len() == 3
        && (args[2] == "-h" || args[2] == "--help")
    {
        let mut helper = generate::helper_command();
        let help = if args[2] == "-h" {
            helper.render_help()
        } else {
            helper.render_long_help()
        };
        return match output::Printer::new(output::Format::Text).raw(help.to_string().as_bytes()) {
            Ok(()) => ExitStatus::Success.into(),
            Err(_) => ExitStatus::Error.into(),
        };
    }
    let invocation = plugin::Invocation::from_args(args);
    let (cli, overrides) = match cli::parse(&invocation) {
        Ok(parsed) => parsed,
        Err(err) => {
            if let Some(line) = cli::one_line_error(&err) {
                output::say(&format!("docker-dcosreg: {}", text::clean_error(&line)));
                return ExitStatus::Error.into();
            }
            // clap renders help/version (exit 0) and other usage errors (exit 2) itself.
            let _ = err.print();
            return if err.use_stderr() {
                ExitStatus::Error.into()
            } else {
                ExitStatus::Success.into()
            };
        }
    };
    let status = cmd::run_without_config(&cli.command, &output::Printer::new(overrides.format))
        .unwrap_or_else(|| {
            config::Config::resolve(&overrides).and_then(|mut config| {
                config.docker_flags = invocation.docker_flags.clone();
                let printer = output::Printer::new(config.format);
                cmd::run(&config, &cli.command, &printer)
            })
        });
    match status {
        Ok(status) => status.into(),
        Err(err) => stop(&err).into(),
    }
}

/// Say once why the command stopped (its line, then a [`exit::Stop`]'s details) and give
/// the status it stops with.
fn stop(err: &anyhow::Error) -> ExitStatus {
    // Stdout swallows a closed pipe (output::stdout); one that still surfaces here came
    // from elsewhere and is an error like any other, only not worth a message.
    if is_broken_pipe(err) {
        return ExitStatus::Error;
    }
    match err.downcast_ref::<exit::Stop>() {
        Some(stop) => {
            for message in &stop.messages {
                output::say(&format!("docker-dcosreg: {}", text::clean_error(message)));
            }
            for detail in &stop.details {
                output::say(detail);
            }
        }
        None => output::say(&format!("docker-dcosreg: {}", text::error_line(err))),
    }
    exit::status_of(err)
}

/// `docker dcosreg check | head -1` must not end in an error message (nor in exit 0).
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
