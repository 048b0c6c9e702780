//! The Docker CLI plugin protocol.
//!
//! Docker runs `docker-dcosreg docker-cli-plugin-metadata` on every `docker --help`, so that
//! answer is a constant embedded at build time: no config, no network, no TLS setup.
//! When Docker runs a command, argv is `docker-dcosreg dcosreg <args>`; standalone it is
//! `docker-dcosreg <args>`. [`Invocation`] hides the difference.

use std::ffi::OsString;
#[cfg(all(target_os = "linux", target_env = "gnu"))]
use std::ffi::{c_char, c_int, CStr};
use std::sync::OnceLock;

use crate::exit::ExitStatus;

pub(crate) const METADATA_SUBCOMMAND: &str = "docker-cli-plugin-metadata";
/// The name Docker knows us by: `docker dcosreg`.
pub(crate) const PLUGIN_NAME: &str = "dcosreg";
/// The single source of the metadata (plugin-metadata/metadata.json).
pub(crate) const METADATA_JSON: &str = include_str!("../plugin-metadata/metadata.json");

/// The type glibc calls `.init_array` functions with: `argc`, `argv`, `envp`.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub type InitArrayFn = unsafe extern "C" fn(c_int, *const *const c_char, *const *const c_char);

/// The handshake answered before Rust's own start-up, which costs more than the answer: the
/// main thread's stack-guard probe reads /proc/self/maps, then come the SIGSEGV/SIGBUS
/// handlers and their alternate stack. glibc runs `.init_array` functions (main.rs registers
/// this one) with the process's arguments before `main`; for any other command this returns
/// and start-up goes on as usual. What Rust's start-up would have arranged is kept: a closed
/// pipe is exit status 2, not a SIGPIPE death, and a closed stdout (which it would have
/// pointed at /dev/null) swallows the answer with status 0.
///
/// # Safety
/// For glibc to call from `.init_array`: `argv` holds `argc` pointers to NUL-terminated
/// strings.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub unsafe extern "C" fn metadata_before_start(
    argc: c_int,
    argv: *const *const c_char,
    _envp: *const *const c_char,
) {
    if argc < 2 || argv.is_null() {
        return;
    }
    // SAFETY: argc >= 2, so argv[1] is one of the strings the caller vouches for.
    let first = unsafe { CStr::from_ptr(*argv.add(1)) };
    if first.to_bytes() != METADATA_SUBCOMMAND.as_bytes() {
        return;
    }
    // SAFETY: setting a signal's disposition to SIG_IGN; no handler runs.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    let mut rest = METADATA_JSON.as_bytes();
    let status = loop {
        if rest.is_empty() {
            break ExitStatus::Success;
        }
        // SAFETY: `rest` is a live byte slice of `rest.len()` bytes.
        let written = unsafe { libc::write(libc::STDOUT_FILENO, rest.as_ptr().cast(), rest.len()) };
        match usize::try_from(written) {
            Ok(0) => break ExitStatus::Error,
            Ok(n) => rest = &rest[n..],
            Err(_) => match std::io::Error::last_os_error().raw_os_error() {
                Some(libc::EINTR) => {}
                Some(libc::EBADF) => break ExitStatus::Success,
                _ => break ExitStatus::Error,
            },
        }
    };
    // SAFETY: ends the process; nothing has been set up that needs tearing down.
    unsafe { libc::_exit(status.code().into()) }
}

/// The handshake where the constructor above does not run (other targets).
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

/// The name Docker runs a credential helper by (`credHelpers: {"host": "dcosreg"}`).
pub(crate) const CREDENTIAL_HELPER_NAME: &str = "docker-credential-dcosreg";

/// Started as `docker-credential-dcosreg ACTION` (a link to or copy of this binary):
/// argv becomes `docker-dcosreg credential-helper ACTION` for clap.
pub(crate) fn credential_helper_args(mut args: Vec<OsString>) -> Vec<OsString> {
    let called_as_helper = args.first().is_some_and(|argv0| {
        std::path::Path::new(argv0)
            .file_name()
            .is_some_and(|name| name == CREDENTIAL_HELPER_NAME)
    });
    if called_as_helper {
        args[0] = OsString::from("docker-dcosreg");
        args.insert(1, OsString::from("credential-helper"));
    }
    args
}

/// How we were started: as a Docker plugin or as a standalone command.
pub(crate) struct Invocation {
    /// The name to show in help and usage lines.
    pub(crate) bin_name: &'static str,
    /// Arguments for clap, starting with the program name.
    pub(crate) args: Vec<OsString>,
    /// The global options the user gave the docker CLI (`docker -H tcp://x dcosreg build`):
    /// Docker hands them to the plugin in front of its name, and commands that run `docker`
    /// again (`build`) pass them on so that it talks to the same daemon ([`Config`]).
    ///
    /// [`Config`]: crate::config::Config
    pub(crate) docker_flags: Vec<OsString>,
}

/// Docker's global options that take a value (`docker --help`, "Global Options"); `-D`,
/// `--debug`, `--tls` and `--tlsverify` take none.
const DOCKER_VALUE_FLAGS: &[&str] = &[
    "--config",
    "-c",
    "--context",
    "-H",
    "--host",
    "-l",
    "--log-level",
    "--tlscacert",
    "--tlscert",
    "--tlskey",
];
const DOCKER_BOOL_FLAGS: &[&str] = &["-D", "--debug", "--tls", "--tlsverify"];

/// How this run was started, for commands we print: `docker dcosreg` or `docker-dcosreg`.
static BIN_NAME: OnceLock<&'static str> = OnceLock::new();

/// The command name a printed command line starts with, as this run was started.
pub(crate) fn bin_name() -> &'static str {
    BIN_NAME.get().copied().unwrap_or("docker-dcosreg")
}

/// Docker's `--config DIR` among the global options docker handed over, if given: docker's
/// own plugins (buildx, compose) read config.json there, and so do we.
pub(crate) fn docker_config_flag(flags: &[OsString]) -> Option<std::path::PathBuf> {
    let mut found = None;
    let mut args = flags.iter();
    while let Some(arg) = args.next() {
        let text = arg.to_str().unwrap_or("");
        if text == "--config" {
            found = args.next().map(std::path::PathBuf::from);
        } else if let Some(value) = text.strip_prefix("--config=") {
            found = Some(std::path::PathBuf::from(value));
        }
    }
    found.filter(|dir| !dir.as_os_str().is_empty())
}

/// How many leading arguments are docker global options, when the plugin name follows.
fn docker_flags_len(args: &[OsString]) -> Option<usize> {
    let mut i = 0;
    while let Some(arg) = args.get(i).and_then(|a| a.to_str()) {
        if arg == PLUGIN_NAME {
            return Some(i);
        }
        let name = arg.split_once('=').map_or(arg, |(name, _)| name);
        if DOCKER_VALUE_FLAGS.contains(&name) {
            // `--host=x` is one argument, `--host x` two; pflag also takes `-Hx`.
            i += if name.len() == arg.len() { 2 } else { 1 };
        } else if DOCKER_BOOL_FLAGS.contains(&name)
            || ["-H", "-c", "-l"]
                .iter()
                .any(|s| arg.starts_with(s) && arg.len() > 2)
        {
            i += 1;
        } else {
            return None;
        }
    }
    None
}

impl Invocation {
    pub(crate) fn from_args(mut args: Vec<OsString>) -> Invocation {
        let mut docker_flags = Vec::new();
        // Docker sets DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND for plugins it runs, but the
        // argv shape is the documented part of the protocol, so that is what we rely on.
        // `docker help dcosreg [cmd]` arrives as `help dcosreg [cmd]`.
        if let Some(n) = docker_flags_len(&args[1.min(args.len())..]).filter(|&n| n > 0) {
            docker_flags = args.drain(1..1 + n).collect();
        }
        let help_form = args.len() >= 3 && args[1] == "help" && args[2] == PLUGIN_NAME;
        let invocation = if help_form || (args.len() >= 2 && args[1] == PLUGIN_NAME) {
            args.remove(if help_form { 2 } else { 1 });
            Invocation {
                bin_name: "docker dcosreg",
                args,
                docker_flags,
            }
        } else {
            Invocation {
                bin_name: "docker-dcosreg",
                args,
                docker_flags,
            }
        };
        let _ = BIN_NAME.set(invocation.bin_name);
        invocation
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
    fn the_helper_name_selects_the_helper_protocol() {
        let args = credential_helper_args(vec![
            "/usr/local/bin/docker-credential-dcosreg".into(),
            "get".into(),
        ]);
        assert_eq!(
            args,
            vec![
                OsString::from("docker-dcosreg"),
                "credential-helper".into(),
                "get".into()
            ]
        );
        let args = credential_helper_args(vec!["docker-dcosreg".into(), "get".into()]);
        assert_eq!(args.len(), 2);
    }

    #[test]
    fn plugin_argv_drops_the_plugin_name() {
        let inv = Invocation::from_args(vec!["x".into(), "dcosreg".into(), "check".into()]);
        assert_eq!(inv.args, vec![OsString::from("x"), "check".into()]);
        assert_eq!(inv.bin_name, "docker dcosreg");
        let inv = Invocation::from_args(vec!["x".into(), "help".into(), "dcosreg".into()]);
        assert_eq!(inv.args, vec![OsString::from("x"), "help".into()]);
        assert_eq!(inv.bin_name, "docker dcosreg");
        let inv = Invocation::from_args(
            [
                "x",
                "-H",
                "unix:///s",
                "--tls",
                "-c=ctx",
                "dcosreg",
                "build",
                ".",
            ]
            .map(OsString::from)
            .to_vec(),
        );
        assert_eq!(
            inv.args,
            vec![OsString::from("x"), "build".into(), ".".into()]
        );
        assert_eq!(inv.docker_flags, ["-H", "unix:///s", "--tls", "-c=ctx"]);
        assert_eq!(
            docker_flags_len(&["-Hunix:///s", "dcosreg"].map(OsString::from)),
            Some(1)
        );
        // Not a plugin invocation: nothing is taken away.
        assert_eq!(
            docker_flags_len(&["--internal", "x"].map(OsString::from)),
            None
        );
        let inv = Invocation::from_args(vec!["x".into(), "check".into()]);
        assert_eq!(inv.args.len(), 2);
        assert_eq!(inv.bin_name, "docker-dcosreg");
    }
}
