//! Fuzz the x509 judge with arbitrary DER chains (the properties and the input layout are
//! `docker_dcosreg::fuzz::x509_judge`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| docker_dcosreg::fuzz::x509_judge(data));
