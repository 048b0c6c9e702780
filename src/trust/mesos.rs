//! DC/OS UCR (the Mesos containerizer) pulls images itself, through libprocess and
//! OpenSSL, with the CA directory `/var/lib/dcos/pki/tls/certs/`. OpenSSL looks certificates
//! up there by subject-hash file names (`<hash>.0`, as `openssl rehash` / `c_rehash` make),
//! so we write the CA under a readable name and again under its hash name (a copy, not a
//! symlink, so the manifest treats both alike).

use super::{cert_step, Anchor, Host, Step, Target};
use crate::pem::der_tlv;

pub(crate) const DIR: &str = "/var/lib/dcos/pki/tls/certs";

pub(crate) fn detect(host: &Host) -> bool {
    host.path("/var/lib/dcos").is_dir() || host.path("/opt/mesosphere").is_dir()
}

pub(crate) fn check(host: &Host, anchors: &[Anchor], force: bool) -> anyhow::Result<Vec<Step>> {
    let dir = host.path(DIR);
    let mut steps = Vec::new();
    for anchor in anchors {
        let named = dir.join(format!("dcosreg-{}.crt", anchor.tag()));
        steps.push(cert_step(
            Target::Mesos,
            vec![anchor.endpoint.clone()],
            named,
            &anchor.pem,
            force,
        )?);
        let ders =
            crate::pem::parse_certificates(anchor.pem.as_bytes(), std::path::Path::new("-"))?;
        for der in ders {
            let one = crate::pem::to_pem(der.as_ref());
            if let Some(hash) = subject_hash(der.as_ref()) {
                let path = hashed_slot(&dir, &hash, &one);
                steps.push(cert_step(
                    Target::Mesos,
                    vec![anchor.endpoint.clone()],
                    path,
                    &one,
                    force,
                )?);
            }
        }
    }
    Ok(super::merge_same_path(steps))
}

/// `<hash>.N`: the first slot that is free or already holds this certificate.
fn hashed_slot(dir: &std::path::Path, hash: &str, pem: &str) -> std::path::PathBuf {
    for n in 0..16 {
        let path = dir.join(format!("{hash}.{n}"));
        match crate::fsutil::read_file(&path, crate::fsutil::MAX_FILE) {
            Err(_) => return path,
            Ok(bytes) if super::same_certificates(&bytes, pem.as_bytes()) => return path,
            Ok(_) => continue,
        }
    }
    dir.join(format!("{hash}.16"))
}

pub(crate) fn notes(_host: &Host) -> Vec<String> {
    vec!["mesos: UCR reads the CA directory when the agent starts; if UCR pulls still fail, restart dcos-mesos-slave (or dcos-mesos-slave-public)".to_string()]
}

/// OpenSSL's `X509_NAME_hash` (what `openssl x509 -hash` prints): SHA-1 over the
/// canonical subject, first four bytes little-endian. Canonical (openssl crypto/x509/
/// x_name.c `x509_name_canon`, `asn1_string_canon`): each RDN's SET encoded, without the
/// outer SEQUENCE; string values as UTF8String, trimmed, inner whitespace runs collapsed
/// to one space, ASCII lower-cased.
pub(crate) fn subject_hash(der: &[u8]) -> Option<String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let mut canon = Vec::new();
    for rdn in cert.subject().iter() {
        let mut entries: Vec<Vec<u8>> = Vec::new();
        for atv in rdn.iter() {
            let value = atv.attr_value();
            let tag = value.tag().0;
            let encoded_value = match canon_string(tag, value.data) {
                Some(text) => der_tlv(0x0c, text.as_bytes()),
                None => der_tlv(tag as u8, value.data),
            };
            let mut body = der_tlv(0x06, atv.attr_type().as_bytes());
            body.extend(encoded_value);
            entries.push(der_tlv(0x30, &body));
        }
        entries.sort(); // DER SET OF order
        canon.extend(der_tlv(0x31, &entries.concat()));
    }
    let digest = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, &canon);
    let d = digest.as_ref();
    let value = u32::from_le_bytes([d[0], d[1], d[2], d[3]]);
    Some(format!("{value:08x}"))
}

/// The canonical text of a string-typed value, `None` for other types (kept as they are).
fn canon_string(tag: u32, data: &[u8]) -> Option<String> {
    let text: String = match tag {
        12 => String::from_utf8_lossy(data).into_owned(), // UTF8String
        19 | 20 | 22 | 26 => data.iter().map(|&b| b as char).collect(), // Printable, T61, IA5, Visible: one byte per char
        30 => {
            // BMPString: UTF-16BE
            let units: Vec<u16> = data
                .chunks(2)
                .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))
                .collect();
            String::from_utf16_lossy(&units)
        }
        28 => data
            .chunks(4)
            .filter(|c| c.len() == 4)
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
            .filter_map(char::from_u32)
            .collect(), // UniversalString: UTF-32BE
        _ => return None,
    };
    let is_space = |b: u8| matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r');
    let bytes = text.as_bytes();
    let start = bytes
        .iter()
        .position(|&b| !is_space(b))
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|&b| !is_space(b))
        .map_or(start, |i| i + 1);
    let mut out = Vec::with_capacity(end - start);
    let mut i = start;
    while i < end {
        let b = bytes[i];
        if is_space(b) {
            out.push(b' ');
            while i < end && is_space(bytes[i]) {
                i += 1;
            }
            continue;
        }
        out.push(if b & 0x80 == 0 {
            b.to_ascii_lowercase()
        } else {
            b
        });
        i += 1;
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}
