//! Fuzz certificate-file reading (`--ca-file`, certs.d, trust's comparisons): PEM or DER
//! bytes never panic, an accepted file yields only certificates x509-parser can parse, and
//! the same bytes always give the same answer. The file-system half (confinement to
//! `--root`, regular files only, size cap) is driven with the input written to a file.
#![no_main]
#![allow(dead_code)]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

#[path = "../../src/fsutil.rs"]
mod fsutil;
#[path = "../../src/pem.rs"]
mod pem;

fuzz_target!(|data: &[u8]| {
    let first = pem::parse_certificates(data, Path::new("fuzz"));
    let second = pem::parse_certificates(data, Path::new("fuzz"));
    assert_eq!(first.is_ok(), second.is_ok(), "deterministic");
    if let Ok(certs) = &first {
        assert!(!certs.is_empty(), "an accepted file holds a certificate");
        for cert in certs {
            assert!(x509_parser::parse_x509_certificate(cert.as_ref()).is_ok());
        }
    }
    // Through a real file: the bounded reader gives the bytes back unchanged.
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("ca.crt");
    std::fs::write(&path, data).expect("write");
    let read = fsutil::read_file(&path, fsutil::MAX_FILE).expect("a small regular file reads");
    assert_eq!(read, data);
    assert_eq!(pem::read_certificates(&path).is_ok(), first.is_ok());
});
