//! Fuzz the confined resolver (`--root`) on trees of links, loops and `..`, with the kernel's
//! `openat2(RESOLVE_IN_ROOT)` as the oracle (the property is `docker_dcosreg::fuzz::resolver`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| docker_dcosreg::fuzz::resolver(data));
