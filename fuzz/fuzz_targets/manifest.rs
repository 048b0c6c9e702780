//! Fuzz `untrust` with a hostile manifest (`installed.json`) under a staged root (the
//! properties and the root it builds are `docker_dcosreg::fuzz::manifest`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| docker_dcosreg::fuzz::manifest(data));
