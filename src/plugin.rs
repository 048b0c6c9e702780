//! The Docker CLI plugin protocol.
//!
//! Docker runs `docker-dcosreg docker-cli-plugin-metadata` on every `docker --help`, so that
//! answer is a constant embedded at build time: no config, no network, no TLS setup.
//! When Docker runs a command, argv is `docker-dcosreg dcosreg <args>`; standalone it is
//! `docker-dcosreg <args>`. [`Invocation`] hides the difference.

use std::ffi::OsString;

use crate::exit::ExitStatus;

pub(crate) const METADATA_SUBCOMMAND: &str = "docker-cli-plugin-metadata";
/// The name Docker knows us by: `docker dcosreg`.
pub(crate) const PLUGIN_NAME: &str = "dcosreg";
/// The single source of the metadata (plugin-metadata/metadata.json).
pub(crate) const METADATA_JSON: &str = include_str!("../plugin-metadata/metadata.json");

pub(crate) fn print_metadata() -> ExitStatus {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out
        .write_all(METADATA_JSON.as_bytes())
        .and_then(|_| out.flush())
    {
        Ok(()) => ExitStatus::Success,
        Err(_) => ExitStatus::Error,
    }
}

/// How we were started: as a Docker plugin or as a standalone command.
pub(crate) struct Invocation {
    /// The name to show in help and usage lines.
    pub(crate) bin_name: &'static str,
    /// Arguments for clap, starting with the program name.
    pub(crate) args: Vec<OsString>,
}

impl Invocation {
    pub(crate) fn from_args(mut args: Vec<OsString>) -> Invocation {
        // Docker sets DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND for plugins it runs, but the
        // argv shape is the documented part of the protocol, so that is what we rely on.
        // `docker help dcosreg [cmd]` arrives as `help dcosreg [cmd]`.
        let help_form = args.len() >= 3 && args[1] == "help" && args[2] == PLUGIN_NAME;
        if help_form || (args.len() >= 2 && args[1] == PLUGIN_NAME) {
            args.remove(if help_form { 2 } else { 1 });
            Invocation {
                bin_name: "docker dcosreg",
                args,
            }
        } else {
            Invocation {
                bin_name: "docker-dcosreg",
                args,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_version_is_the_crate_version() {
        let meta: serde_json::Value = serde_json::from_str(METADATA_JSON).unwrap();
        assert_eq!(meta["Version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(meta["SchemaVersion"], "0.1.0");
        for key in ["Vendor", "ShortDescription"] {
            assert!(meta[key].as_str().is_some_and(|v| !v.is_empty()), "{key}");
        }
    }

    #[test]
    fn plugin_argv_drops_the_plugin_name() {
        let inv = Invocation::from_args(vec!["x".into(), "dcosreg".into(), "check".into()]);
        assert_eq!(inv.args, vec![OsString::from("x"), "check".into()]);
        assert_eq!(inv.bin_name, "docker dcosreg");
        let inv = Invocation::from_args(vec!["x".into(), "help".into(), "dcosreg".into()]);
        assert_eq!(inv.args, vec![OsString::from("x"), "help".into()]);
        assert_eq!(inv.bin_name, "docker dcosreg");
        let inv = Invocation::from_args(vec!["x".into(), "check".into()]);
        assert_eq!(inv.args.len(), 2);
        assert_eq!(inv.bin_name, "docker-dcosreg");
    }
}
