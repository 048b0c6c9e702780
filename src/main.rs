//! docker-dcosreg: trust, check and use a private Docker registry inside a DC/OS cluster.
//!
//! The program is the library (`lib.rs`); `main` answers Docker's plugin-metadata call
//! first and hands every other command line to `docker_dcosreg::run`.

use std::process::ExitCode;

/// Docker runs `docker-dcosreg docker-cli-plugin-metadata` on every `docker --help`: glibc
/// calls this before Rust's start-up and `main`, and it answers and exits there. Registered
/// here, in the binary, so that no link step can leave it out.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[used]
#[link_section = ".init_array"]
static METADATA_BEFORE_START: docker_dcosreg::InitArrayFn = docker_dcosreg::metadata_before_start;

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // The handshake again, where METADATA_BEFORE_START does not run: before anything is set up.
    if args
        .get(1)
        .is_some_and(|a| a == docker_dcosreg::PLUGIN_METADATA)
    {
        return docker_dcosreg::print_plugin_metadata();
    }
    docker_dcosreg::run(args)
}
