//! Fuzz certificate-file reading, PEM or DER (the properties are `docker_dcosreg::fuzz::pem`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| docker_dcosreg::fuzz::pem(data));
