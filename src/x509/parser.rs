//! Go's certificate parser (`crypto/x509/parser.go` `parseCertificate`,
//! `processExtensions`, `parsePublicKey`, `parseName`), step for step and with Go's error
//! texts: what Go cannot parse is a "tls: failed to parse certificate from server" for a
//! presented certificate and a silently dropped pool entry, and what Go ignores (the
//! extensions of a v1/v2 certificate) we ignore too.
//! Source: <https://github.com/golang/go/blob/master/src/crypto/x509/parser.go>
//! (Go 1.24, as in Docker 28).

use super::der::{self, ctx, ctx_cons, Der};

/// An instant as Go's `time.Time` keeps a certificate time: the instant and the UTC
/// offset it was written with (Go prints it back with that offset).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct GoTime {
    pub(crate) unix: i64,
    pub(crate) nanos: u32,
    pub(crate) offset_seconds: i32,
}

impl GoTime {
    /// Nanoseconds since the epoch, for comparisons with sub-second precision.
    pub(crate) fn unix_nanos(&self) -> i128 {
        i128::from(self.unix) * 1_000_000_000 + i128::from(self.nanos)
    }
}

/// The subject public key as Go's `parsePublicKey` returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum GoKey {
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
    },
    Ec {
        curve_oid: String,
        point: Vec<u8>,
    },
    Ed25519(Vec<u8>),
    X25519,
    Dsa,
    /// `UnknownPublicKeyAlgorithm`: Go keeps the certificate with a nil key.
    Unknown(String),
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Subtrees {
    pub(crate) dns: Vec<String>,
    /// (address, mask), both 4 or 16 bytes.
    pub(crate) ip: Vec<(Vec<u8>, Vec<u8>)>,
    pub(crate) email: Vec<String>,
    pub(crate) uri: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct NameConstraints {
    pub(crate) permitted: Subtrees,
    pub(crate) excluded: Subtrees,
}

pub(crate) use super::goname::Attribute;

/// What Go's parser extracts from a certificate, as far as verification needs it.
#[derive(Debug, Clone)]
pub(crate) struct Parsed {
    pub(crate) version: u32,
    pub(crate) serial: Vec<u8>,
    pub(crate) sig_alg: Vec<u8>,
    pub(crate) raw_issuer: Vec<u8>,
    pub(crate) raw_subject: Vec<u8>,
    pub(crate) issuer: Vec<Vec<Attribute>>,
    pub(crate) subject: Vec<Vec<Attribute>>,
    pub(crate) not_before: GoTime,
    pub(crate) not_after: GoTime,
    pub(crate) key: GoKey,
    /// The subjectPublicKey BIT STRING contents.
    pub(crate) key_bytes: Vec<u8>,
    pub(crate) tbs: Vec<u8>,
    pub(crate) signature: Vec<u8>,
    pub(crate) extensions: Extensions,
}

/// The extension fields of Go's `Certificate` (all empty for v1/v2 certificates).
#[derive(Debug, Clone, Default)]
pub(crate) struct Extensions {
    pub(crate) basic_constraints_valid: bool,
    pub(crate) is_ca: bool,
    pub(crate) max_path_len: Option<u64>,
    pub(crate) key_usage: u16,
    pub(crate) eku_any: bool,
    pub(crate) eku_server_auth: bool,
    pub(crate) eku_count: usize,
    pub(crate) dns_names: Vec<String>,
    pub(crate) emails: Vec<String>,
    pub(crate) ips: Vec<Vec<u8>>,
    pub(crate) uris: Vec<String>,
    /// The SAN extension's value, when present.
    pub(crate) san: Option<Vec<u8>>,
    pub(crate) name_constraints: Option<NameConstraints>,
    pub(crate) subject_key_id: Vec<u8>,
    pub(crate) authority_key_id: Vec<u8>,
    pub(crate) policies: Vec<String>,
    pub(crate) policy_mappings: Vec<(String, String)>,
    pub(crate) require_explicit_policy: Option<i64>,
    pub(crate) inhibit_policy_mapping: Option<i64>,
    pub(crate) inhibit_any_policy: Option<i64>,
    pub(crate) unhandled_critical: bool,
}

type R<T> = Result<T, String>;

fn err<T>(message: &str) -> R<T> {
    Err(message.to_string())
}

/// Go's `x509.ParseCertificate` (with Docker 28's `x509negativeserial=1`: a negative
/// serial number is accepted, as its build info says).
pub(crate) fn parse_certificate(bytes: &[u8]) -> R<Parsed> {
    let mut input = Der(bytes);
    let Some(raw) = input.read_element(der::SEQUENCE) else {
        return err("x509: malformed certificate");
    };
    let trailing = !input.is_empty();
    let mut input = Der(raw);
    let Some(mut input) = input.read(der::SEQUENCE) else {
        return err("x509: malformed certificate");
    };
    let Some(tbs_raw) = input.read_element(der::SEQUENCE) else {
        return err("x509: malformed tbs certificate");
    };
    let Some(mut tbs) = Der(tbs_raw).read(der::SEQUENCE) else {
        return err("x509: malformed tbs certificate");
    };
    let version = parse_version(&mut tbs)?;
    let Some(serial) = tbs.read_integer_bytes(der::INTEGER) else {
        return err("x509: malformed serial number");
    };
    let sig_ai = parse_signature_algorithm(&mut tbs, &mut input)?;
    let Some(raw_issuer) = tbs.read_element(der::SEQUENCE) else {
        return err("x509: malformed issuer");
    };
    let issuer = parse_name(raw_issuer)?;
    let Some(validity) = tbs.read(der::SEQUENCE) else {
        return err("x509: malformed validity");
    };
    let (not_before, not_after) = parse_validity(validity)?;
    let Some(raw_subject) = tbs.read_element(der::SEQUENCE) else {
        return err("x509: malformed issuer");
    };
    let subject = parse_name(raw_subject)?;
    let (key, key_bytes) = parse_spki(&mut tbs)?;
    let extensions = if version > 1 {
        parse_unique_ids_and_extensions(&mut tbs, version)?
    } else {
        Extensions::default()
    };
    let Some((_, signature)) = input.read_bit_string() else {
        return err("x509: malformed signature");
    };
    if trailing {
        return err("x509: trailing data");
    }
    Ok(Parsed {
        version: version as u32,
        serial: serial.to_vec(),
        sig_alg: sig_ai.0.to_vec(),
        raw_issuer: raw_issuer.to_vec(),
        raw_subject: raw_subject.to_vec(),
        issuer,
        subject,
        not_before,
        not_after,
        key,
        key_bytes: key_bytes.to_vec(),
        tbs: tbs_raw.to_vec(),
        signature: signature.to_vec(),
        extensions,
    })
}

/// The version step of `parseCertificate` (`ReadOptionalASN1Integer`, default 0): Go's
/// one-indexed version, 1 to 3.
fn parse_version(tbs: &mut Der<'_>) -> R<i64> {
    let version = match tbs.read_optional(ctx_cons(0)) {
        Err(()) => return err("x509: malformed version"),
        Ok(None) => 0,
        Ok(Some(mut v)) => match v.read_i64(der::INTEGER) {
            Some(n) if n >= 0 && v.is_empty() => n,
            _ => return err("x509: malformed version"),
        },
    } + 1;
    if version > 3 {
        return err("x509: invalid version");
    }
    Ok(version)
}

/// The signature algorithm step of `parseCertificate`: the TBS AlgorithmIdentifier, which
/// must equal the outer one byte for byte (read from `outer`), then `parseAI` on it.
/// Returns the TBS AlgorithmIdentifier's contents.
fn parse_signature_algorithm<'a>(tbs: &mut Der<'a>, outer: &mut Der<'a>) -> R<Der<'a>> {
    let Some(sig_ai) = tbs.read(der::SEQUENCE) else {
        return err("x509: malformed signature algorithm identifier");
    };
    let Some(outer_ai) = outer.read(der::SEQUENCE) else {
        return err("x509: malformed algorithm identifier");
    };
    if outer_ai.0 != sig_ai.0 {
        return err("x509: inner and outer signature algorithm identifiers don't match");
    }
    parse_ai(sig_ai)?;
    Ok(sig_ai)
}

/// `parseValidity`: notBefore, then notAfter.
fn parse_validity(mut validity: Der<'_>) -> R<(GoTime, GoTime)> {
    let not_before = parse_time(&mut validity)?;
    let not_after = parse_time(&mut validity)?;
    Ok((not_before, not_after))
}

/// The subjectPublicKeyInfo step of `parseCertificate`: `parseAI` on the algorithm, the
/// subjectPublicKey BIT STRING, then `parsePublicKey`. Returns the key and the BIT
/// STRING's contents.
fn parse_spki<'a>(tbs: &mut Der<'a>) -> R<(GoKey, &'a [u8])> {
    let Some(spki_raw) = tbs.read_element(der::SEQUENCE) else {
        return err("x509: malformed spki");
    };
    let Some(mut spki) = Der(spki_raw).read(der::SEQUENCE) else {
        return err("x509: malformed spki");
    };
    let Some(pk_ai) = spki.read(der::SEQUENCE) else {
        return err("x509: malformed public key algorithm identifier");
    };
    let (pk_oid, pk_params) = parse_ai(pk_ai)?;
    let Some((_, key_bytes)) = spki.read_bit_string() else {
        return err("x509: malformed subjectPublicKey");
    };
    let key = parse_public_key(&pk_oid, pk_params, key_bytes)?;
    Ok((key, key_bytes))
}

/// The `cert.Version > 1` step of `parseCertificate`: skip the issuer and subject unique
/// IDs, then (version 3 only) read the optional extensions and `processExtensions` them.
fn parse_unique_ids_and_extensions(tbs: &mut Der<'_>, version: i64) -> R<Extensions> {
    if !tbs.skip_optional(ctx(1)) {
        return err("x509: malformed issuerUniqueID");
    }
    if !tbs.skip_optional(ctx(2)) {
        return err("x509: malformed subjectUniqueID");
    }
    if version != 3 {
        return Ok(Extensions::default());
    }
    let present = match tbs.read_optional(ctx_cons(3)) {
        Err(()) => return err("x509: malformed extensions"),
        Ok(p) => p,
    };
    let Some(mut wrapper) = present else {
        return Ok(Extensions::default());
    };
    let Some(list) = wrapper.read(der::SEQUENCE) else {
        return err("x509: malformed extensions");
    };
    let raw = read_extensions(list)?;
    process_extensions(&raw)
}

/// The extensions loop of `parseCertificate`: `parseExtension` on each, and an OID seen
/// twice is refused (`seenExts`).
fn read_extensions(mut list: Der<'_>) -> R<Vec<(String, bool, &[u8])>> {
    let mut raw = Vec::new();
    while !list.is_empty() {
        let Some(ext) = list.read(der::SEQUENCE) else {
            return err("x509: malformed extension");
        };
        let ext = parse_extension(ext)?;
        if raw
            .iter()
            .any(|(oid, _, _): &(String, bool, &[u8])| *oid == ext.0)
        {
            return Err(format!(
                "x509: certificate contains duplicate extension with OID {}",
                super::gostr::go_quote(&ext.0)
            ));
        }
        raw.push(ext);
    }
    Ok(raw)
}

/// `parseAI`: the OID and the raw parameters element (empty when absent).
fn parse_ai(mut ai: Der<'_>) -> R<(String, &[u8])> {
    let Some(oid) = ai.read_oid() else {
        return err("x509: malformed OID");
    };
    if ai.is_empty() {
        return Ok((oid, &[]));
    }
    match ai.read_any_element() {
        Some((_, params)) => Ok((oid, params)),
        None => err("x509: malformed parameters"),
    }
}

/// The signature AlgorithmIdentifier's OID and parameters (for the algorithm lookup).
pub(crate) fn algorithm(sig_alg: &[u8]) -> (String, Vec<u8>) {
    parse_ai(Der(sig_alg))
        .map(|(oid, params)| (oid, params.to_vec()))
        .unwrap_or_default()
}

/// `parseName` + `parseASN1String`: every attribute value must be one of the string types
/// Go decodes, and valid for its type.
fn parse_name(raw: &[u8]) -> R<Vec<Vec<Attribute>>> {
    const INVALID: &str = "x509: invalid RDNSequence";
    let Some(mut seq) = Der(raw).read(der::SEQUENCE) else {
        return err(INVALID);
    };
    let mut rdns = Vec::new();
    while !seq.is_empty() {
        let Some(mut set) = seq.read(der::SET) else {
            return err(INVALID);
        };
        let mut rdn = Vec::new();
        while !set.is_empty() {
            let Some(mut atv) = set.read(der::SEQUENCE) else {
                return err("x509: invalid RDNSequence: invalid attribute");
            };
            let Some(oid) = atv.read_oid() else {
                return err("x509: invalid RDNSequence: invalid attribute type");
            };
            let Some((tag, value)) = atv.read_any() else {
                return err("x509: invalid RDNSequence: invalid attribute value");
            };
            let value = asn1_string(tag, value.0)
                .map_err(|e| format!("x509: invalid RDNSequence: invalid attribute value: {e}"))?;
            rdn.push(Attribute { oid, value });
        }
        rdns.push(rdn);
    }
    Ok(rdns)
}

/// `parseASN1String`.
fn asn1_string(tag: u8, value: &[u8]) -> Result<String, String> {
    match tag {
        // T.61 decoded as Latin-1, as Go and BoringSSL do.
        der::T61_STRING => Ok(value.iter().map(|b| char::from(*b)).collect()),
        der::PRINTABLE_STRING => {
            if value.iter().all(|b| is_printable(*b)) {
                Ok(String::from_utf8_lossy(value).into_owned())
            } else {
                Err("invalid PrintableString".into())
            }
        }
        der::UTF8_STRING => {
            String::from_utf8(value.to_vec()).map_err(|_| "invalid UTF-8 string".to_string())
        }
        der::BMP_STRING => {
            const BAD: &str = "invalid BMPString";
            if value.len() % 2 != 0 {
                return Err(BAD.into());
            }
            let value = match value {
                [rest @ .., 0, 0] => rest,
                v => v,
            };
            let mut units = Vec::with_capacity(value.len() / 2);
            for pair in value.chunks(2) {
                let point = u16::from(pair[0]) << 8 | u16::from(pair[1]);
                if point == 0xfffe
                    || point == 0xffff
                    || (0xfdd0..=0xfdef).contains(&point)
                    || (0xd800..=0xdfff).contains(&point)
                {
                    return Err(BAD.into());
                }
                units.push(point);
            }
            Ok(String::from_utf16_lossy(&units))
        }
        der::IA5_STRING => {
            if value.is_ascii() {
                Ok(String::from_utf8_lossy(value).into_owned())
            } else {
                Err("invalid IA5String".into())
            }
        }
        der::NUMERIC_STRING => {
            if value.iter().all(|b| b.is_ascii_digit() || *b == b' ') {
                Ok(String::from_utf8_lossy(value).into_owned())
            } else {
                Err("invalid NumericString".into())
            }
        }
        other => Err(format!("unsupported string type: {other}")),
    }
}

/// parser.go `isPrintable` (PrintableString plus '*' and '&', as Go tolerates).
fn is_printable(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || (b'\''..=b')').contains(&b)
        || (b'+'..=b'/').contains(&b)
        || matches!(b, b' ' | b':' | b'=' | b'?' | b'*' | b'&')
}

/// `parseTime`: UTCTime (`YYMMDDhhmm[ss]Z` or with `±hhmm`) or GeneralizedTime
/// (`YYYYMMDDhhmmss[.fff]Z` or `±hhmm`), re-serialised to the same text as cryptobyte
/// demands.
fn parse_time(der: &mut Der<'_>) -> R<GoTime> {
    if der.peek(der::UTC_TIME) {
        let text = der.read(der::UTC_TIME).map(|d| d.0);
        return text
            .and_then(utc_time)
            .ok_or_else(|| "x509: malformed UTCTime".to_string());
    }
    if der.peek(der::GENERALIZED_TIME) {
        let text = der.read(der::GENERALIZED_TIME).map(|d| d.0);
        return text
            .and_then(generalized_time)
            .ok_or_else(|| "x509: malformed GeneralizedTime".to_string());
    }
    err("x509: unsupported time format")
}

fn digits(text: &[u8]) -> Option<u32> {
    if text.is_empty() || !text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(text).ok()?.parse().ok()
}

/// The zone suffix: `Z` or `±hhmm`, and the rest must be empty.
fn zone(text: &[u8]) -> Option<i32> {
    match text {
        b"Z" => Some(0),
        [sign @ (b'+' | b'-'), rest @ ..] if rest.len() == 4 => {
            let h = digits(&rest[..2])?;
            let m = digits(&rest[2..])?;
            // time.Parse accepts hours 00-24 and minutes 00-59 in a numeric zone.
            if h > 24 || m > 59 {
                return None;
            }
            let seconds = i32::try_from(h * 3600 + m * 60).ok()?;
            Some(if *sign == b'-' { -seconds } else { seconds })
        }
        _ => None,
    }
}

/// A calendar time (year, month, day, hour, minute, second) with nanoseconds and the
/// UTC offset it was written in.
fn civil([year, month, day, h, m, s]: [u32; 6], nanos: u32, offset: i32) -> Option<GoTime> {
    let year = i32::try_from(year).ok()?;
    let month = time::Month::try_from(u8::try_from(month).ok()?).ok()?;
    let date = time::Date::from_calendar_date(year, month, u8::try_from(day).ok()?).ok()?;
    let clock = time::Time::from_hms(
        u8::try_from(h).ok()?,
        u8::try_from(m).ok()?,
        u8::try_from(s).ok()?,
    )
    .ok()?;
    let local = time::PrimitiveDateTime::new(date, clock).assume_utc();
    Some(GoTime {
        unix: local.unix_timestamp() - i64::from(offset),
        nanos,
        offset_seconds: offset,
    })
}

/// cryptobyte `ReadASN1UTCTime`: "060102150405Z0700", falling back to minute precision;
/// years 50-99 are 19xx.
fn utc_time(text: &[u8]) -> Option<GoTime> {
    let fields = |t: &[u8]| -> Option<[u32; 5]> {
        Some([
            digits(t.get(0..2)?)?,
            digits(t.get(2..4)?)?,
            digits(t.get(4..6)?)?,
            digits(t.get(6..8)?)?,
            digits(t.get(8..10)?)?,
        ])
    };
    let [yy, mo, d, h, mi] = fields(text)?;
    let (s, rest) = match text.get(10..12).and_then(digits) {
        Some(s) if zone(&text[12..]).is_some() => (s, &text[12..]),
        _ => (0, &text[10..]),
    };
    let offset = zone(rest)?;
    let year = if yy >= 50 { 1900 + yy } else { 2000 + yy };
    civil([year, mo, d, h, mi, s], 0, offset)
}

/// cryptobyte `ReadASN1GeneralizedTime`: "20060102150405.999999999Z0700" (a fraction
/// without trailing zeros).
fn generalized_time(text: &[u8]) -> Option<GoTime> {
    let year = digits(text.get(0..4)?)?;
    let mo = digits(text.get(4..6)?)?;
    let d = digits(text.get(6..8)?)?;
    let h = digits(text.get(8..10)?)?;
    let mi = digits(text.get(10..12)?)?;
    let s = digits(text.get(12..14)?)?;
    let mut rest = &text[14..];
    let mut nanos = 0;
    if let Some(after) = rest.strip_prefix(b".") {
        let n = after.iter().take_while(|b| b.is_ascii_digit()).count();
        let fraction = &after[..n];
        // Go's .999999999 prints no trailing zeros, and the text must re-serialise.
        if n == 0 || n > 9 || fraction.last() == Some(&b'0') {
            return None;
        }
        nanos = digits(fraction)? * 10u32.pow(9 - u32::try_from(n).ok()?);
        rest = &after[n..];
    }
    let offset = zone(rest)?;
    civil([year, mo, d, h, mi, s], nanos, offset)
}

/// `parsePublicKey`, with Go's errors for the encodings it refuses: one helper per case of
/// its switch on the algorithm OID.
fn parse_public_key(oid: &str, params: &[u8], key: &[u8]) -> R<GoKey> {
    match oid {
        "1.2.840.113549.1.1.1" => parse_rsa_public_key(params, key),
        "1.2.840.10045.2.1" => parse_ecdsa_public_key(params, key),
        "1.3.101.112" => parse_ed25519_public_key(params, key),
        "1.3.101.110" => parse_x25519_public_key(params, key),
        "1.2.840.10040.4.1" => parse_dsa_public_key(params, key),
        other => Ok(GoKey::Unknown(other.to_string())),
    }
}

/// `parsePublicKey`, case `oidPublicKeyRSA`.
fn parse_rsa_public_key(params: &[u8], key: &[u8]) -> R<GoKey> {
    if params != [der::NULL, 0] {
        return err("x509: RSA key missing NULL parameters");
    }
    let Some(mut seq) = Der(key).read(der::SEQUENCE) else {
        return err("x509: invalid RSA public key");
    };
    let Some(n) = seq.read_integer_bytes(der::INTEGER) else {
        return err("x509: invalid RSA modulus");
    };
    // Go reads E into an int: more than 63 bits fails as an invalid exponent.
    let e = match seq.read_integer_bytes(der::INTEGER) {
        Some(e) if e.len() <= 8 => e,
        _ => return err("x509: invalid RSA public exponent"),
    };
    if n[0] & 0x80 != 0 || n.iter().all(|b| *b == 0) {
        return err("x509: RSA modulus is not a positive number");
    }
    if e[0] & 0x80 != 0 || e.iter().all(|b| *b == 0) {
        return err("x509: RSA public exponent is not a positive number");
    }
    Ok(GoKey::Rsa {
        n: n.to_vec(),
        e: e.to_vec(),
    })
}

/// `parsePublicKey`, case `oidPublicKeyECDSA` (P-224 to P-521, as `namedCurveFromOID`).
fn parse_ecdsa_public_key(params: &[u8], key: &[u8]) -> R<GoKey> {
    let Some(curve) = Der(params).read_oid() else {
        return err("x509: invalid ECDSA parameters");
    };
    let valid = match curve.as_str() {
        "1.2.840.10045.3.1.7" => p256::PublicKey::from_sec1_bytes(key).is_ok(),
        "1.3.132.0.34" => p384::PublicKey::from_sec1_bytes(key).is_ok(),
        "1.3.132.0.35" => p521::PublicKey::from_sec1_bytes(key).is_ok(),
        "1.3.132.0.33" => p224::PublicKey::from_sec1_bytes(key).is_ok(),
        _ => return err("x509: unsupported elliptic curve"),
    };
    // elliptic.Unmarshal takes the uncompressed form only.
    if !valid || key.first() != Some(&0x04) {
        return err("x509: failed to unmarshal elliptic curve point");
    }
    Ok(GoKey::Ec {
        curve_oid: curve,
        point: key.to_vec(),
    })
}

/// `parsePublicKey`, case `oidPublicKeyEd25519`.
fn parse_ed25519_public_key(params: &[u8], key: &[u8]) -> R<GoKey> {
    if !params.is_empty() {
        return err("x509: Ed25519 key encoded with illegal parameters");
    }
    if key.len() != 32 {
        return err("x509: wrong Ed25519 public key size");
    }
    Ok(GoKey::Ed25519(key.to_vec()))
}

/// `parsePublicKey`, case `oidPublicKeyX25519` (the error is `ecdh.X25519().NewPublicKey`'s).
fn parse_x25519_public_key(params: &[u8], key: &[u8]) -> R<GoKey> {
    if !params.is_empty() {
        return err("x509: X25519 key encoded with illegal parameters");
    }
    if key.len() != 32 {
        return err("crypto/ecdh: invalid public key");
    }
    Ok(GoKey::X25519)
}

/// `parsePublicKey`, case `oidPublicKeyDSA`: Y, then the P, Q, G parameters, all positive.
fn parse_dsa_public_key(params: &[u8], key: &[u8]) -> R<GoKey> {
    let mut k = Der(key);
    let Some(y) = k.read_integer_bytes(der::INTEGER) else {
        return err("x509: invalid DSA public key");
    };
    let mut p = Der(params);
    let parts = p.read(der::SEQUENCE).and_then(|mut s| {
        Some([
            s.read_integer_bytes(der::INTEGER)?,
            s.read_integer_bytes(der::INTEGER)?,
            s.read_integer_bytes(der::INTEGER)?,
        ])
    });
    let Some(parts) = parts else {
        return err("x509: invalid DSA parameters");
    };
    let positive = |v: &[u8]| v[0] & 0x80 == 0 && v.iter().any(|b| *b != 0);
    if !positive(y) || !parts.iter().all(|v| positive(v)) {
        return err("x509: zero or negative DSA parameter");
    }
    Ok(GoKey::Dsa)
}

/// `parseExtension`: (OID, critical, value).
fn parse_extension(mut ext: Der<'_>) -> R<(String, bool, &[u8])> {
    let Some(oid) = ext.read_oid() else {
        return err("x509: malformed extension OID field");
    };
    let mut critical = false;
    if ext.peek(der::BOOLEAN) {
        match ext.read_bool() {
            Some(c) => critical = c,
            None => return err("x509: malformed extension critical field"),
        }
    }
    let Some(value) = ext.read(der::OCTET_STRING) else {
        return err("x509: malformed extension value field");
    };
    Ok((oid, critical, value.0))
}

const OID_AIA: &str = "1.3.6.1.5.5.7.1.1";

/// `processExtensions`.
fn process_extensions(list: &[(String, bool, &[u8])]) -> R<Extensions> {
    let mut out = Extensions::default();
    for (oid, critical, value) in list {
        let value = Der(value);
        let mut unhandled = false;
        match oid.as_str() {
            "2.5.29.15" => out.key_usage = key_usage(value)?,
            "2.5.29.19" => {
                let (ca, max) = basic_constraints(value)?;
                out.is_ca = ca;
                out.max_path_len = max;
                out.basic_constraints_valid = true;
            }
            "2.5.29.17" => {
                san(value, &mut out)?;
                out.san = Some(value.0.to_vec());
                if out.dns_names.is_empty()
                    && out.emails.is_empty()
                    && out.ips.is_empty()
                    && out.uris.is_empty()
                {
                    unhandled = true;
                }
            }
            "2.5.29.30" => {
                let (nc, u) = name_constraints(value)?;
                out.name_constraints = Some(nc);
                unhandled = u;
            }
            "2.5.29.31" => crl_distribution_points(value)?,
            "2.5.29.35" => {
                if *critical {
                    return err("x509: authority key identifier incorrectly marked critical");
                }
                out.authority_key_id = authority_key_id(value)?;
            }
            "2.5.29.36" => policy_constraints(value, &mut out)?,
            "2.5.29.37" => eku(value, &mut out)?,
            "2.5.29.14" => {
                if *critical {
                    return err("x509: subject key identifier incorrectly marked critical");
                }
                let mut v = value;
                match v.read(der::OCTET_STRING) {
                    Some(skid) => out.subject_key_id = skid.0.to_vec(),
                    None => return err("x509: invalid subject key identifier"),
                }
            }
            "2.5.29.32" => out.policies = certificate_policies(value)?,
            "2.5.29.33" => out.policy_mappings = policy_mappings(value)?,
            "2.5.29.54" => {
                let mut v = value;
                match v.read_integer_bytes(der::INTEGER) {
                    Some(n) => out.inhibit_any_policy = Some(small_int(n)),
                    None => return err("x509: invalid inhibit any policy extension"),
                }
            }
            OID_AIA => {
                if *critical {
                    return err("x509: authority info access incorrectly marked critical");
                }
                authority_info_access(value)?;
            }
            _ => unhandled = true,
        }
        if *critical && unhandled {
            out.unhandled_critical = true;
        }
    }
    Ok(out)
}

/// An INTEGER's value saturated to i64 (only its sign and small values matter).
fn small_int(bytes: &[u8]) -> i64 {
    if bytes.len() > 8 {
        return if bytes[0] & 0x80 != 0 {
            i64::MIN
        } else {
            i64::MAX
        };
    }
    let mut v: i64 = if bytes[0] & 0x80 != 0 { -1 } else { 0 };
    for b in bytes {
        v = (v << 8) | i64::from(*b);
    }
    v
}

fn key_usage(mut v: Der<'_>) -> R<u16> {
    let Some((_, bits)) = v.read_bit_string() else {
        return err("x509: invalid key usage");
    };
    let mut usage = 0u16;
    for i in 0..9 {
        if bits.get(i / 8).is_some_and(|b| b & (0x80 >> (i % 8)) != 0) {
            usage |= 1 << i;
        }
    }
    Ok(usage)
}

fn basic_constraints(mut v: Der<'_>) -> R<(bool, Option<u64>)> {
    const BAD: &str = "x509: invalid basic constraints";
    let Some(mut seq) = v.read(der::SEQUENCE) else {
        return err(BAD);
    };
    let mut ca = false;
    if seq.peek(der::BOOLEAN) {
        ca = seq.read_bool().ok_or_else(|| BAD.to_string())?;
    }
    let mut max = None;
    if seq.peek(der::INTEGER) {
        // Go 1.24.3 reads it into an int (cryptobyte `ReadASN1Integer`): a negative value
        // parses, and verification then applies no limit (`MaxPathLen >= 0` is false). Later
        // Go refuses it; Docker 28's does not.
        match seq.read_i64(der::INTEGER) {
            Some(n) => max = u64::try_from(n).ok(),
            None => return err(BAD),
        }
    }
    Ok((ca, max))
}

/// `forEachSAN`: (tag number, contents) of each GeneralName.
pub(crate) fn for_each_san<'a>(mut v: Der<'a>, mut f: impl FnMut(u8, &'a [u8]) -> R<()>) -> R<()> {
    let Some(mut seq) = v.read(der::SEQUENCE) else {
        return err("x509: invalid subject alternative names");
    };
    while !seq.is_empty() {
        let Some((tag, data)) = seq.read_any() else {
            return err("x509: invalid subject alternative name");
        };
        f(tag ^ 0x80, data.0)?;
    }
    Ok(())
}

const NAME_EMAIL: u8 = 1;
const NAME_DNS: u8 = 2;
const NAME_URI: u8 = 6;
const NAME_IP: u8 = 7;

fn ascii(data: &[u8]) -> Option<String> {
    data.is_ascii()
        .then(|| String::from_utf8_lossy(data).into_owned())
}

/// `parseSANExtension`.
fn san(v: Der<'_>, out: &mut Extensions) -> R<()> {
    for_each_san(v, |tag, data| {
        match tag {
            NAME_EMAIL => match ascii(data) {
                Some(e) => out.emails.push(e),
                None => return err("x509: SAN rfc822Name is malformed"),
            },
            NAME_DNS => match ascii(data) {
                Some(d) => out.dns_names.push(d),
                None => return err("x509: SAN dNSName is malformed"),
            },
            NAME_URI => {
                let Some(text) = ascii(data) else {
                    return err("x509: SAN uniformResourceIdentifier is malformed");
                };
                let uri = super::url::parse(&text).map_err(|e| {
                    format!(
                        "x509: cannot parse URI {}: {e}",
                        super::gostr::go_quote(&text)
                    )
                })?;
                if !uri.host.is_empty()
                    && super::goname::domain_to_reverse_labels(&uri.host).is_none()
                {
                    return Err(format!(
                        "x509: cannot parse URI {}: invalid domain",
                        super::gostr::go_quote(&text)
                    ));
                }
                out.uris.push(text);
            }
            NAME_IP => match data.len() {
                4 | 16 => out.ips.push(data.to_vec()),
                n => return Err(format!("x509: cannot parse IP address of length {n}")),
            },
            _ => {}
        }
        Ok(())
    })
}

const BAD_NAME_CONSTRAINTS: &str = "x509: invalid NameConstraints extension";

/// `parseNameConstraintsExtension`: the constraints, and whether a form Go does not
/// implement (directoryName, otherName, ...) was present.
fn name_constraints(v: Der<'_>) -> R<(NameConstraints, bool)> {
    let mut outer = v;
    let Some(mut top) = outer.read(der::SEQUENCE) else {
        return err(BAD_NAME_CONSTRAINTS);
    };
    if !outer.is_empty() {
        return err(BAD_NAME_CONSTRAINTS);
    }
    let permitted = top
        .read_optional(ctx_cons(0))
        .map_err(|_| BAD_NAME_CONSTRAINTS.to_string())?;
    let excluded = top
        .read_optional(ctx_cons(1))
        .map_err(|_| BAD_NAME_CONSTRAINTS.to_string())?;
    if !top.is_empty() {
        return err(BAD_NAME_CONSTRAINTS);
    }
    let empty = |d: &Option<Der<'_>>| d.is_none_or(|d| d.is_empty());
    if empty(&permitted) && empty(&excluded) {
        return err("x509: empty name constraints extension");
    }
    let mut unhandled = false;
    let permitted = constraint_values(permitted, &mut unhandled)?;
    let excluded = constraint_values(excluded, &mut unhandled)?;
    Ok((
        NameConstraints {
            permitted,
            excluded,
        },
        unhandled,
    ))
}

/// `parseNameConstraintsExtension`'s `getValues`: the GeneralSubtrees of one side, in
/// order; a form Go does not implement sets `unhandled`.
fn constraint_values(subtrees: Option<Der<'_>>, unhandled: &mut bool) -> R<Subtrees> {
    let mut out = Subtrees::default();
    let Some(mut subtrees) = subtrees else {
        return Ok(out);
    };
    while !subtrees.is_empty() {
        let Some((tag, value)) = subtrees
            .read(der::SEQUENCE)
            .and_then(|mut seq| seq.read_any())
        else {
            return err(BAD_NAME_CONSTRAINTS);
        };
        let value = value.0;
        match tag {
            t if t == ctx(NAME_DNS) => out.dns.push(dns_constraint(value)?),
            t if t == ctx(NAME_IP) => out.ip.push(ip_constraint(value)?),
            t if t == ctx(NAME_EMAIL) => out.email.push(email_constraint(value)?),
            t if t == ctx(NAME_URI) => out.uri.push(uri_constraint(value)?),
            _ => *unhandled = true,
        }
    }
    Ok(out)
}

/// `getValues`' `isIA5String` check of a constraint's text.
fn constraint_ia5(value: &[u8]) -> R<String> {
    ascii(value).ok_or_else(|| {
        format!(
            "x509: invalid constraint value: {}",
            super::goname::ia5_error(value)
        )
    })
}

/// A constraint without its leading period (which excludes the domain itself, but is not
/// valid in a domain name).
fn trim_leading_period(d: &str) -> String {
    d.strip_prefix('.').unwrap_or(d).to_string()
}

/// `getValues`, case `dnsTag`.
fn dns_constraint(value: &[u8]) -> R<String> {
    let domain = constraint_ia5(value)?;
    if super::goname::domain_to_reverse_labels(&trim_leading_period(&domain)).is_none() {
        return Err(format!(
            "x509: failed to parse dnsName constraint {}",
            super::gostr::go_quote(&domain)
        ));
    }
    Ok(domain)
}

/// `getValues`, case `ipTag`: (address, mask).
fn ip_constraint(value: &[u8]) -> R<(Vec<u8>, Vec<u8>)> {
    let (ip, mask) = match value.len() {
        8 => value.split_at(4),
        32 => value.split_at(16),
        n => return Err(format!("x509: IP constraint contained value of length {n}")),
    };
    if !valid_ip_mask(mask) {
        let hex: String = mask.iter().map(|b| format!("{b:02x}")).collect();
        return Err(format!("x509: IP constraint contained invalid mask {hex}"));
    }
    Ok((ip.to_vec(), mask.to_vec()))
}

/// `getValues`, case `emailTag`: a mailbox, or a domain.
fn email_constraint(value: &[u8]) -> R<String> {
    let constraint = constraint_ia5(value)?;
    let ok = if constraint.contains('@') {
        super::goname::parse_mailbox(&constraint).is_some()
    } else {
        super::goname::domain_to_reverse_labels(&trim_leading_period(&constraint)).is_some()
    };
    if !ok {
        return Err(format!(
            "x509: failed to parse rfc822Name constraint {}",
            super::gostr::go_quote(&constraint)
        ));
    }
    Ok(constraint)
}

/// `getValues`, case `uriTag`: a domain, never an IP address.
fn uri_constraint(value: &[u8]) -> R<String> {
    let domain = constraint_ia5(value)?;
    if super::goname::parse_ip(&domain).is_some() {
        return Err(format!(
            "x509: failed to parse URI constraint {}: cannot be IP address",
            super::gostr::go_quote(&domain)
        ));
    }
    if super::goname::domain_to_reverse_labels(&trim_leading_period(&domain)).is_none() {
        return Err(format!(
            "x509: failed to parse URI constraint {}",
            super::gostr::go_quote(&domain)
        ));
    }
    Ok(domain)
}

/// `isValidIPMask`: ones then zeros.
fn valid_ip_mask(mask: &[u8]) -> bool {
    let mut seen_zero = false;
    for b in mask {
        if seen_zero {
            if *b != 0 {
                return false;
            }
            continue;
        }
        match b {
            0x00 | 0x80 | 0xc0 | 0xe0 | 0xf0 | 0xf8 | 0xfc | 0xfe => seen_zero = true,
            0xff => {}
            _ => return false,
        }
    }
    true
}

fn crl_distribution_points(mut v: Der<'_>) -> R<()> {
    const BAD: &str = "x509: invalid CRL distribution point";
    let Some(mut seq) = v.read(der::SEQUENCE) else {
        return err("x509: invalid CRL distribution points");
    };
    while !seq.is_empty() {
        let Some(mut dp) = seq.read(der::SEQUENCE) else {
            return err(BAD);
        };
        let Ok(name) = dp.read_optional(ctx_cons(0)) else {
            return err(BAD);
        };
        let Some(mut name) = name else { continue };
        let Some(mut full) = name.read(ctx_cons(0)) else {
            return err(BAD);
        };
        while !full.is_empty() {
            if !full.peek(ctx(6)) {
                break;
            }
            if full.read(ctx(6)).is_none() {
                return err(BAD);
            }
        }
    }
    Ok(())
}

fn authority_key_id(mut v: Der<'_>) -> R<Vec<u8>> {
    const BAD: &str = "x509: invalid authority key identifier";
    let Some(mut akid) = v.read(der::SEQUENCE) else {
        return err(BAD);
    };
    if akid.peek(ctx(0)) {
        return match akid.read(ctx(0)) {
            Some(id) => Ok(id.0.to_vec()),
            None => err(BAD),
        };
    }
    Ok(Vec::new())
}

fn policy_constraints(mut v: Der<'_>, out: &mut Extensions) -> R<()> {
    const BAD: &str = "x509: invalid policy constraints extension";
    let Some(mut seq) = v.read(der::SEQUENCE) else {
        return err(BAD);
    };
    if seq.peek(ctx(0)) {
        out.require_explicit_policy = Some(seq.read_i64(ctx(0)).ok_or_else(|| BAD.to_string())?);
    }
    if seq.peek(ctx(1)) {
        out.inhibit_policy_mapping = Some(seq.read_i64(ctx(1)).ok_or_else(|| BAD.to_string())?);
    }
    Ok(())
}

fn eku(mut v: Der<'_>, out: &mut Extensions) -> R<()> {
    const BAD: &str = "x509: invalid extended key usages";
    let Some(mut seq) = v.read(der::SEQUENCE) else {
        return err(BAD);
    };
    out.eku_count = 0;
    while !seq.is_empty() {
        let Some(oid) = seq.read_oid() else {
            return err(BAD);
        };
        match oid.as_str() {
            "2.5.29.37.0" => out.eku_any = true,
            "1.3.6.1.5.5.7.3.1" => out.eku_server_auth = true,
            _ => {}
        }
        out.eku_count += 1;
    }
    Ok(())
}

fn certificate_policies(mut v: Der<'_>) -> R<Vec<String>> {
    const BAD: &str = "x509: invalid certificate policies";
    let Some(mut seq) = v.read(der::SEQUENCE) else {
        return err(BAD);
    };
    let mut seen: Vec<&[u8]> = Vec::new();
    let mut out = Vec::new();
    while !seq.is_empty() {
        let Some(raw) = seq.read(der::SEQUENCE).and_then(|mut cp| cp.read(der::OID)) else {
            return err(BAD);
        };
        if seen.contains(&raw.0) {
            return err(BAD);
        }
        seen.push(raw.0);
        // newOIDFromDER: any arcs size (Go's OID type), but minimal base-128.
        match oid_any(raw.0) {
            Some(oid) => out.push(oid),
            None => return err(BAD),
        }
    }
    Ok(out)
}

/// Go 1.22's `OID` type takes arcs of any size; compare by the DER bytes rendered in hex
/// when they do not fit the dotted form.
fn oid_any(bytes: &[u8]) -> Option<String> {
    if bytes.is_empty() || bytes.last().is_some_and(|b| b & 0x80 != 0) {
        return None;
    }
    let mut start = true;
    for b in bytes {
        if start && *b == 0x80 {
            return None;
        }
        start = b & 0x80 == 0;
    }
    Some(
        der::oid_string(bytes)
            .unwrap_or_else(|| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()),
    )
}

fn policy_mappings(mut v: Der<'_>) -> R<Vec<(String, String)>> {
    const BAD: &str = "x509: invalid policy mappings extension";
    let Some(mut seq) = v.read(der::SEQUENCE) else {
        return err(BAD);
    };
    let mut out = Vec::new();
    while !seq.is_empty() {
        let pair = seq.read(der::SEQUENCE).and_then(|mut s| {
            let issuer = s.read(der::OID)?;
            let subject = s.read(der::OID)?;
            Some((oid_any(issuer.0)?, oid_any(subject.0)?))
        });
        match pair {
            Some(p) => out.push(p),
            None => return err(BAD),
        }
    }
    Ok(out)
}

fn authority_info_access(mut v: Der<'_>) -> R<()> {
    const BAD: &str = "x509: invalid authority info access";
    let Some(mut seq) = v.read(der::SEQUENCE) else {
        return err(BAD);
    };
    while !seq.is_empty() {
        let Some(mut aia) = seq.read(der::SEQUENCE) else {
            return err(BAD);
        };
        if aia.read_oid().is_none() {
            return err(BAD);
        }
        if !aia.peek(ctx(6)) {
            continue;
        }
        if aia.read(ctx(6)).is_none() {
            return err(BAD);
        }
    }
    Ok(())
}
