//! Fuzz the Dockerfile lexer, the resolver and the rewrite (the properties are
//! `docker_dcosreg::fuzz::lexer`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| docker_dcosreg::fuzz::lexer(data));
