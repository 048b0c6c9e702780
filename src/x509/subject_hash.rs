//! OpenSSL's subject hash, the name OpenSSL looks a CA up by in a hashed directory
//! (`<hash>.0`, as `openssl rehash` / `c_rehash` make; DC/OS UCR's
//! `/var/lib/dcos/pki/tls/certs/`).

use crate::x509::pem::der_tlv;

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

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests build their fixtures directly
mod tests {
    use rcgen::{CertificateParams, DistinguishedName, DnType, DnValue, KeyPair};

    use super::*;

    /// What `openssl x509 -hash` prints for a certificate with this subject.
    fn openssl_hash(der: &[u8]) -> String {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("c.der");
        std::fs::write(&path, der).expect("write");
        let out = std::process::Command::new("openssl")
            .args(["x509", "-inform", "DER", "-noout", "-hash", "-in"])
            .arg(&path)
            .output()
            .expect("openssl runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .expect("utf-8")
            .trim()
            .to_string()
    }

    #[test]
    fn equals_openssl_for_the_subjects_a_ca_has() {
        let key = KeyPair::generate().expect("key");
        let subjects: Vec<Vec<(DnType, DnValue)>> = vec![
            vec![(
                DnType::CommonName,
                DnValue::Utf8String("DC/OS Root CA".into()),
            )],
            vec![
                (
                    DnType::CountryName,
                    DnValue::PrintableString("US".try_into().expect("printable")),
                ),
                (
                    DnType::OrganizationName,
                    DnValue::Utf8String("  Mesosphere,   Inc.  ".into()),
                ),
                (
                    DnType::CommonName,
                    DnValue::Utf8String("Registry\tCA".into()),
                ),
            ],
            vec![(
                DnType::CommonName,
                DnValue::BmpString("Régistry CA".try_into().expect("bmp")),
            )],
            vec![(
                DnType::CommonName,
                DnValue::Ia5String("ca.EXAMPLE.com".try_into().expect("ia5")),
            )],
            vec![(DnType::CommonName, DnValue::Utf8String("ÉCOLE Ça".into()))],
        ];
        for subject in subjects {
            let mut params = CertificateParams::default();
            let mut name = DistinguishedName::new();
            for (kind, value) in subject.clone() {
                name.push(kind, value);
            }
            params.distinguished_name = name;
            let der = params
                .self_signed(&key)
                .expect("certificate")
                .der()
                .to_vec();
            assert_eq!(
                subject_hash(&der).as_deref(),
                Some(openssl_hash(&der).as_str()),
                "{subject:?}"
            );
        }
    }

    #[test]
    fn not_a_certificate_has_no_hash() {
        assert_eq!(subject_hash(b"not DER"), None);
    }
}
