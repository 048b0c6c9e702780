//! Link settings for start-up time on Linux/glibc. Docker runs every plugin's
//! `docker-cli-plugin-metadata` on each `docker --help`, and most of that call is the loader's
//! work before `main` (benches/metadata.sh measures it):
//!
//! - libgcc's unwinder linked in (`libgcc_eh.a`) instead of `libgcc_s.so.1`: one shared library
//!   less to find, map and relocate, and its constructor's CPU probe. Rust's std asks for
//!   `-lgcc_s` by name, so the archive is offered under that name in a directory searched
//!   first. Skipped where the C compiler has no `libgcc_eh.a` (clang with compiler-rt, zig: the
//!   glibc 2.17 build of dist.sh links zig's own static unwinder in any case).
//!
//! The binary stays a position-independent executable (rustc's default), although a
//! fixed-address one (`-no-pie`) would start faster: the loader applies about 20,000 relative
//! relocations to a PIE and copies every page they touch. It runs as root and parses hostile
//! certificates, Dockerfiles and HTTP, so its own code and data must sit at a random address
//! like its libraries'; distributions' hardening policies require a PIE (lintian and rpmlint
//! flag one that is not), and tests/hardening.rs checks it. The constructor in src/plugin.rs
//! answers the handshake before Rust's own start-up either way.
//!
//! Here rather than in `.cargo/config.toml` rustflags: it touches only the final link (no
//! dependency is rebuilt), a `RUSTFLAGS` in the environment does not silently drop it, and the
//! archive's path has to be asked of the compiler.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=RUSTC_LINKER");
    // `version` prints the commit a release build was made from (dist.sh sets it).
    println!("cargo:rerun-if-env-changed=DCOSREG_COMMIT");
    let target_os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let target_env = env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if target_os != "linux" || target_env != "gnu" {
        return;
    }
    // The host compiler's archive only fits a build for the host.
    if env::var("TARGET").ok() != env::var("HOST").ok() {
        return;
    }
    let linker = env::var("RUSTC_LINKER").unwrap_or_else(|_| "cc".to_owned());
    if let Some(archive) = compiler_file(&linker, "libgcc_eh.a") {
        let dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"))
            .join("static-libgcc");
        let link = dir.join("libgcc_s.a");
        std::fs::create_dir_all(&dir).expect("create OUT_DIR/static-libgcc");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&archive, &link).expect("link OUT_DIR/static-libgcc/libgcc_s.a");
        println!("cargo:rustc-link-search=native={}", dir.display());
    }
}

/// The absolute path `CC -print-file-name=NAME` gives, if the compiler has that file (it
/// echoes the bare name otherwise).
fn compiler_file(cc: &str, name: &str) -> Option<PathBuf> {
    let out = Command::new(cc)
        .arg(format!("-print-file-name={name}"))
        .output()
        .ok()
        .filter(|out| out.status.success())?;
    let path = PathBuf::from(String::from_utf8(out.stdout).ok()?.trim());
    (path.is_absolute() && Path::new(&path).is_file()).then_some(path)
}
