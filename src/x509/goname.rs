//! Go's name handling around certificates: `pkix.Name.String`, the domain/mailbox/URL
//! parsing that `crypto/x509` uses for SANs and name constraints, and the constraint
//! matchers of `verify.go` (`matchDomainConstraint`, `matchEmailConstraint`,
//! `matchURIConstraint`, `matchIPConstraint`).
//! Sources: <https://github.com/golang/go/blob/master/src/crypto/x509/verify.go>,
//! <https://github.com/golang/go/blob/master/src/crypto/x509/pkix/pkix.go>,
//! <https://github.com/golang/go/blob/master/src/net/url/url.go>.

use std::net::IpAddr;

use super::parser::Attribute;

/// `net.ParseIP`: dotted quads without leading zeros, IPv6 without zones.
pub(crate) fn parse_ip(text: &str) -> Option<IpAddr> {
    text.parse().ok()
}

/// `isIA5String`'s error text for a value with a non-ASCII character.
pub(crate) fn ia5_error(value: &[u8]) -> String {
    let text = String::from_utf8_lossy(value);
    let c = text.chars().find(|c| !c.is_ascii()).unwrap_or('\u{fffd}');
    format!(
        "x509: {} cannot be encoded as an IA5String",
        go_rune_quote(c)
    )
}

fn go_rune_quote(c: char) -> String {
    format!("'{c}'")
}

/// `domainToReverseLabels`: labels last-first; no empty label (so no trailing dot),
/// only printable ASCII.
pub(crate) fn domain_to_reverse_labels(domain: &str) -> Option<Vec<&str>> {
    if domain.is_empty() {
        return Some(Vec::new());
    }
    let labels: Vec<&str> = domain.rsplit('.').collect();
    if labels
        .iter()
        .any(|l| l.is_empty() || !l.bytes().all(|b| (33..=126).contains(&b)))
    {
        return None;
    }
    Some(labels)
}

/// A mailbox split as `parseRFC2821Mailbox` does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Mailbox {
    pub(crate) local: String,
    pub(crate) domain: String,
}

/// `parseRFC2821Mailbox`.
pub(crate) fn parse_mailbox(input: &str) -> Option<Mailbox> {
    let bytes = input.as_bytes();
    if bytes.is_empty() {
        return None;
    }
    let mut local = Vec::new();
    let mut i = 0;
    if bytes[0] == b'"' {
        i = 1;
        loop {
            let c = *bytes.get(i)?;
            i += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    let n = *bytes.get(i)?;
                    if n == 11 || n == 12 || (1..=9).contains(&n) || (14..=127).contains(&n) {
                        local.push(n);
                        i += 1;
                    } else {
                        return None;
                    }
                }
                11 | 12 | 32 | 33 | 127 | 1..=8 | 14..=31 | 35..=91 | 93..=126 => local.push(c),
                _ => return None,
            }
        }
    } else {
        while let Some(&c) = bytes.get(i) {
            let c = if c == b'\\' {
                i += 1;
                *bytes.get(i)?
            } else if c.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~.".contains(&c) {
                c
            } else {
                break;
            };
            local.push(c);
            i += 1;
        }
        if local.is_empty()
            || local[0] == b'.'
            || local.last() == Some(&b'.')
            || local.windows(2).any(|w| w == b"..")
        {
            return None;
        }
    }
    let rest = input.get(i..)?.strip_prefix('@')?;
    domain_to_reverse_labels(rest)?;
    Some(Mailbox {
        local: String::from_utf8_lossy(&local).into_owned(),
        domain: rest.to_string(),
    })
}

/// The part of Go's `url.Parse` that can fail on a certificate's URI, returning the URL's
/// host (with port); the error is Go's `parse "…": …` text.
pub(crate) fn parse_url(raw: &str) -> Result<String, String> {
    let fail = |e: String| Err(format!("parse {}: {e}", super::verify::go_quote(raw)));
    if raw.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return fail("net/url: invalid control character in URL".into());
    }
    let (rest, fragment) = match raw.split_once('#') {
        Some((r, f)) => (r, Some(f)),
        None => (raw, None),
    };
    if let Some(f) = fragment {
        if let Err(e) = unescape(f, false) {
            return fail(e);
        }
    }
    if rest == "*" {
        return Ok(String::new());
    }
    // getScheme
    let mut scheme = "";
    let mut after = rest;
    for (i, c) in rest.char_indices() {
        match c {
            'a'..='z' | 'A'..='Z' => {}
            '0'..='9' | '+' | '-' | '.' if i > 0 => {}
            ':' => {
                if i == 0 {
                    return fail("missing protocol scheme".into());
                }
                scheme = &rest[..i];
                after = &rest[i + 1..];
                break;
            }
            _ => break,
        }
    }
    let (path_part, _query) = match after.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (after, None),
    };
    if !path_part.starts_with('/') && !scheme.is_empty() {
        return Ok(String::new()); // opaque
    }
    if scheme.is_empty() {
        if let Some(colon) = path_part.find(':') {
            if !path_part[..colon].contains('/') {
                return fail("first path segment in URL cannot contain colon".into());
            }
        }
    }
    let mut host = String::new();
    let mut path = path_part;
    if let Some(auth_rest) = path_part.strip_prefix("//") {
        if !scheme.is_empty() || !path_part.starts_with("///") {
            let (authority, p) = match auth_rest.find('/') {
                Some(at) => auth_rest.split_at(at),
                None => (auth_rest, ""),
            };
            path = p;
            let host_part = match authority.rfind('@') {
                Some(at) => {
                    let userinfo = &authority[..at];
                    if !userinfo
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-._:~!$&'()*+,;=%@".contains(&b))
                    {
                        return fail("net/url: invalid userinfo".into());
                    }
                    if let Err(e) = unescape(userinfo, false) {
                        return fail(e);
                    }
                    &authority[at + 1..]
                }
                None => authority,
            };
            host = match parse_host(host_part) {
                Ok(h) => h,
                Err(e) => return fail(e),
            };
        }
    }
    if let Err(e) = unescape(path, false) {
        return fail(e);
    }
    Ok(host)
}

/// url.go `parseHost`.
fn parse_host(host: &str) -> Result<String, String> {
    if host.starts_with('[') {
        let Some(close) = host.rfind(']') else {
            return Err("missing ']' in host".into());
        };
        let port = &host[close + 1..];
        if !valid_optional_port(port) {
            return Err(format!(
                "invalid port {} after host",
                super::verify::go_quote(port)
            ));
        }
        unescape(&host[..close + 1], true)?;
        return Ok(host.to_string());
    }
    if let Some(colon) = host.rfind(':') {
        let port = &host[colon..];
        if !valid_optional_port(port) {
            return Err(format!(
                "invalid port {} after host",
                super::verify::go_quote(port)
            ));
        }
    }
    unescape(host, true)
}

fn valid_optional_port(port: &str) -> bool {
    port.is_empty()
        || port
            .strip_prefix(':')
            .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()))
}

/// url.go `unescape` for hosts (`encodeHost`) and paths: `%` must start two hex digits;
/// in hosts only unreserved and sub-delim ASCII characters are allowed.
fn unescape(s: &str, host: bool) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let hex = bytes.get(i + 1..i + 3);
            match hex {
                Some(h) if h.iter().all(u8::is_ascii_hexdigit) => {
                    let v =
                        u8::from_str_radix(std::str::from_utf8(h).unwrap_or("zz"), 16).unwrap_or(0);
                    // Hosts may only escape non-ASCII bytes (and %25 in an IPv6 zone).
                    if host && v < 0x80 && &s[i..i + 3] != "%25" {
                        return Err(format!(
                            "invalid URL escape {}",
                            super::verify::go_quote(&s[i..i + 3])
                        ));
                    }
                    out.push(v);
                    i += 3;
                }
                _ => {
                    let end = (i + 3).min(bytes.len());
                    let shown = String::from_utf8_lossy(&bytes[i..end]).into_owned();
                    return Err(format!(
                        "invalid URL escape {}",
                        super::verify::go_quote(&shown)
                    ));
                }
            }
            continue;
        }
        if host && b < 0x80 && !host_char_ok(b) {
            return Err(format!(
                "invalid character {} in host name",
                super::verify::go_quote(&char::from(b).to_string())
            ));
        }
        out.push(b);
        i += 1;
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// url.go `shouldEscape(c, encodeHost)` is false for these.
fn host_char_ok(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:[]<>\"".contains(&b)
}

// --- name constraint matching (verify.go) ---

/// `matchDomainConstraint`; `excluded` enables Go's wildcard handling for exclusions.
pub(crate) fn match_domain_constraint(
    domain: &str,
    constraint: &str,
    excluded: bool,
) -> Result<bool, String> {
    if constraint.is_empty() {
        return Ok(true);
    }
    let Some(mut domain_labels) = domain_to_reverse_labels(domain) else {
        return Err(format!(
            "x509: internal error: cannot parse domain {}",
            super::verify::go_quote(domain)
        ));
    };
    let wildcard = domain.starts_with('*');
    let (must_have_subdomains, constraint) = match constraint.strip_prefix('.') {
        Some(c) => (true, c),
        None => (false, constraint),
    };
    let Some(mut constraint_labels) = domain_to_reverse_labels(constraint) else {
        return Err(format!(
            "x509: internal error: cannot parse domain {}",
            super::verify::go_quote(constraint)
        ));
    };
    if domain_labels.len() < constraint_labels.len()
        || (must_have_subdomains && domain_labels.len() == constraint_labels.len())
    {
        return Ok(false);
    }
    if excluded && wildcard && domain_labels.len() > 1 && !constraint_labels.is_empty() {
        domain_labels.pop();
        constraint_labels.pop();
    }
    Ok(constraint_labels
        .iter()
        .zip(&domain_labels)
        .all(|(c, d)| c.eq_ignore_ascii_case(d)))
}

/// `matchEmailConstraint`.
pub(crate) fn match_email_constraint(
    mailbox: &Mailbox,
    constraint: &str,
    excluded: bool,
) -> Result<bool, String> {
    if constraint.contains('@') {
        let Some(c) = parse_mailbox(constraint) else {
            return Err(format!(
                "x509: internal error: cannot parse constraint {}",
                super::verify::go_quote(constraint)
            ));
        };
        return Ok(mailbox.local == c.local && mailbox.domain.eq_ignore_ascii_case(&c.domain));
    }
    match_domain_constraint(&mailbox.domain, constraint, excluded)
}

/// `matchURIConstraint`: `uri` is the full URI text, `host` its host as url.Parse gives it.
pub(crate) fn match_uri_constraint(
    uri: &str,
    host: &str,
    constraint: &str,
    excluded: bool,
) -> Result<bool, String> {
    if host.is_empty() {
        return Err(format!(
            "URI with empty host ({}) cannot be matched against constraints",
            super::verify::go_quote(uri)
        ));
    }
    let mut host = host.to_string();
    if host.contains(':') && !host.ends_with(']') {
        match host.rsplit_once(':') {
            Some((h, _)) if !h.contains(':') || h.starts_with('[') => {
                host = h.trim_start_matches('[').trim_end_matches(']').to_string()
            }
            _ => {
                return Err(format!("address {host}: too many colons in address"));
            }
        }
    }
    if (host.starts_with('[') && host.ends_with(']')) || parse_ip(&host).is_some() {
        return Err(format!(
            "URI with IP ({}) cannot be matched against constraints",
            super::verify::go_quote(uri)
        ));
    }
    match_domain_constraint(&host, constraint, excluded)
}

/// `matchIPConstraint`.
pub(crate) fn match_ip_constraint(ip: &[u8], net: &(Vec<u8>, Vec<u8>)) -> bool {
    let (addr, mask) = net;
    ip.len() == addr.len()
        && ip
            .iter()
            .zip(addr.iter().zip(mask))
            .all(|(i, (a, m))| i & m == a & m)
}

/// Go's `net.IP.String()` for 4- or 16-byte addresses.
pub(crate) fn ip_bytes_string(ip: &[u8]) -> String {
    match ip.len() {
        4 => IpAddr::from(<[u8; 4]>::try_from(ip).unwrap_or_default()).to_string(),
        16 => {
            super::cert::go_ip_string(&IpAddr::from(<[u8; 16]>::try_from(ip).unwrap_or_default()))
        }
        _ => {
            let hex: String = ip.iter().map(|b| format!("{b:02x}")).collect();
            format!("?{hex}")
        }
    }
}

// --- pkix.Name ---

const NAMED: &[(&str, &str)] = &[
    ("2.5.4.6", "C"),
    ("2.5.4.10", "O"),
    ("2.5.4.11", "OU"),
    ("2.5.4.3", "CN"),
    ("2.5.4.5", "SERIALNUMBER"),
    ("2.5.4.7", "L"),
    ("2.5.4.8", "ST"),
    ("2.5.4.9", "STREET"),
    ("2.5.4.17", "POSTALCODE"),
];

/// `pkix.Name.String()` of a parsed Name: the attributes Go files into named fields are
/// printed in Go's fixed order (CN before OU before O ... before C), the others after
/// them as `OID=#DER-hex`, values escaped as RFC 2253 says.
pub(crate) fn name_string(rdns: &[Vec<Attribute>]) -> String {
    let all: Vec<&Attribute> = rdns.iter().flatten().collect();
    // Non-standard attributes first in the sequence, so last in the string.
    let mut seq: Vec<Vec<&Attribute>> = all
        .iter()
        .filter(|a| !NAMED.iter().any(|(oid, _)| *oid == a.oid))
        .map(|a| vec![*a])
        .collect();
    // ToRDNSequence: C, ST(Province), L, STREET, POSTALCODE, O, OU, CN, SERIALNUMBER.
    for oid in [
        "2.5.4.6", "2.5.4.8", "2.5.4.7", "2.5.4.9", "2.5.4.17", "2.5.4.10", "2.5.4.11",
    ] {
        let values: Vec<&Attribute> = all.iter().filter(|a| a.oid == oid).copied().collect();
        if !values.is_empty() {
            seq.push(values);
        }
    }
    // CommonName and SerialNumber are single fields: the last value wins.
    for oid in ["2.5.4.3", "2.5.4.5"] {
        if let Some(last) = all.iter().rev().find(|a| a.oid == oid) {
            if !last.value.is_empty() {
                seq.push(vec![*last]);
            }
        }
    }
    let mut out = String::new();
    for (i, rdn) in seq.iter().rev().enumerate() {
        if i > 0 {
            out.push(',');
        }
        for (j, atv) in rdn.iter().enumerate() {
            if j > 0 {
                out.push('+');
            }
            match NAMED.iter().find(|(oid, _)| *oid == atv.oid) {
                Some((_, name)) => {
                    out.push_str(name);
                    out.push('=');
                    out.push_str(&escape_value(&atv.value));
                }
                None => {
                    out.push_str(&atv.oid);
                    out.push_str("=#");
                    out.push_str(&marshal_string_hex(&atv.value));
                }
            }
        }
    }
    out
}

fn escape_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let last = value.len().saturating_sub(1);
    for (k, c) in value.char_indices() {
        let escape = match c {
            ',' | '+' | '"' | '\\' | '<' | '>' | ';' => true,
            ' ' => k == 0 || k == last,
            '#' => k == 0,
            _ => false,
        };
        if escape {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `asn1.Marshal` of a Go string: PrintableString when it can be, else UTF8String.
fn marshal_string_hex(value: &str) -> String {
    let printable = value.bytes().all(|b| {
        b.is_ascii_alphanumeric()
            || (b'\''..=b')').contains(&b)
            || (b'+'..=b'/').contains(&b)
            || matches!(b, b' ' | b':' | b'=' | b'?')
    });
    let tag = if printable { 0x13u8 } else { 0x0c };
    let body = value.as_bytes();
    let mut der = vec![tag];
    let len = body.len();
    if len < 128 {
        der.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .iter()
            .copied()
            .skip_while(|b| *b == 0)
            .collect();
        der.push(0x80 | bytes.len() as u8);
        der.extend(bytes);
    }
    der.extend_from_slice(body);
    der.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr(oid: &str, value: &str) -> Vec<Attribute> {
        vec![Attribute {
            oid: oid.into(),
            value: value.into(),
        }]
    }

    #[test]
    fn names_print_like_pkix_name_string() {
        let name = vec![
            attr("2.5.4.6", "CN"),
            attr("2.5.4.10", "Example, Inc."),
            attr("2.5.4.3", " Registry CA"),
            attr("1.2.840.113549.1.9.1", "ca@example.com"),
        ];
        assert_eq!(
            name_string(&name),
            "CN=\\ Registry CA,O=Example\\, Inc.,C=CN,1.2.840.113549.1.9.1=#0c0e6361406578616d706c652e636f6d"
        );
    }

    #[test]
    fn domain_constraints_follow_go() {
        assert_eq!(
            match_domain_constraint("a.example.com", "example.com", false),
            Ok(true)
        );
        assert_eq!(
            match_domain_constraint("example.com", ".example.com", false),
            Ok(false)
        );
        assert_eq!(
            match_domain_constraint("a.example.com", ".example.com", false),
            Ok(true)
        );
        assert_eq!(
            match_domain_constraint("notexample.com", "example.com", false),
            Ok(false)
        );
        assert_eq!(match_domain_constraint("x.com", "", false), Ok(true));
        assert!(domain_to_reverse_labels("example.com.").is_none());
    }

    #[test]
    fn urls_fail_like_go() {
        assert_eq!(
            parse_url("https://example.com:8080/x").as_deref(),
            Ok("example.com:8080")
        );
        assert_eq!(
            parse_url("https://ex%zzample.com/").unwrap_err(),
            "parse \"https://ex%zzample.com/\": invalid URL escape \"%zz\""
        );
        assert!(parse_url("spiffe://example.com/a%2").is_err());
        assert_eq!(parse_url("urn:foo:bar").as_deref(), Ok(""));
    }

    #[test]
    fn mailboxes_parse_like_go() {
        assert_eq!(
            parse_mailbox("a.b@example.com"),
            Some(Mailbox {
                local: "a.b".into(),
                domain: "example.com".into()
            })
        );
        assert!(parse_mailbox(".a@example.com").is_none());
        assert!(parse_mailbox("\"a b\"@example.com").is_some());
    }
}
