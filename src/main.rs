//! docker-dcosreg: trust, check and use a private Docker registry inside a DC/OS cluster.
//!
//! The program is the library (`lib.rs`); `main` answers Docker's plugin-metadata call
//! first and hands every other command line to `docker_dcosreg::run`.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // Docker calls this on every `docker --help`: answer before anything else is set up.
    if args
        .get(1)
        .is_some_and(|a| a == docker_dcosreg::PLUGIN_METADATA)
    {
        return docker_dcosreg::print_plugin_metadata();
    }
    docker_dcosreg::run(args)
}
