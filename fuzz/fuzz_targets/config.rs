//! Fuzz the configuration with a hostile `config.toml` (the properties are
//! `docker_dcosreg::fuzz::config`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| docker_dcosreg::fuzz::config(data));
