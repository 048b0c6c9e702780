//! Fuzz the x509 judge with arbitrary DER chains: it never panics, answers in bounded
//! time, and its verdict is consistent (trusted exactly when there is no Go error, every
//! error is an `x509:` or `tls:` text). The crate is a binary, so the x509 engine and the
//! pure modules it uses are included by path; `config` is a stand-in (the judge reads no
//! files: the pool is built from the input).
//!
//! Input: one byte P, then certificates as (u16 big-endian length, DER) records; the
//! first P % (n + 1) records form the root pool, the rest the presented chain.
#![no_main]
#![allow(dead_code)]

use std::time::{Duration, SystemTime};

use libfuzzer_sys::fuzz_target;
use rustls_pki_types::CertificateDer;

#[path = "../../src/endpoint.rs"]
mod endpoint;
#[path = "../../src/finding.rs"]
mod finding;
/// pem.rs and the anchors read files through fsutil's bounded, root-confined reader.
#[path = "../../src/fsutil.rs"]
mod fsutil;
#[path = "../../src/pem.rs"]
mod pem;
#[path = "../../src/x509/mod.rs"]
mod x509;

/// The judge's only use of `Config` is reading a host's trust store, which the fuzz
/// target never asks for.
mod config {
    use std::path::{Path, PathBuf};

    pub(crate) struct Config;

    impl Config {
        pub(crate) fn host_path(&self, path: impl AsRef<Path>) -> PathBuf {
            path.as_ref().to_path_buf()
        }

        pub(crate) fn is_real_root(&self) -> bool {
            false
        }
    }
}

fn records(mut data: &[u8]) -> Vec<CertificateDer<'static>> {
    let mut out = Vec::new();
    while data.len() >= 2 && out.len() < 8 {
        let len = usize::from(u16::from_be_bytes([data[0], data[1]]));
        let end = (2 + len).min(data.len());
        out.push(CertificateDer::from(data[2..end].to_vec()));
        data = &data[end..];
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&pool, rest)) = data.split_first() else {
        return;
    };
    let certs = records(rest);
    let split = usize::from(pool) % (certs.len() + 1);
    let (roots, chain) = certs.split_at(split);
    let anchors = x509::Anchors::from_ders(roots);
    let endpoints: [endpoint::Endpoint; 3] = [
        "192.168.0.1".parse().expect("endpoint"),
        "Registry.Example.com:5000".parse().expect("endpoint"),
        "[fd00:0::1]:443".parse().expect("endpoint"),
    ];
    let ep = &endpoints[usize::from(pool) % 3];
    // A fixed instant near the certificates the seeds carry.
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let j = x509::judge(chain, &anchors, ep, &endpoints, now);
    assert_eq!(j.trusted, j.docker_error.is_none());
    if let Some(e) = &j.docker_error {
        assert!(e.starts_with("x509: ") || e.starts_with("tls: "), "{e}");
    }
});
