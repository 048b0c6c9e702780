//! Go's name handling around certificates: `pkix.Name.String`, the domain/mailbox/URL
//! parsing that `crypto/x509` uses for SANs and name constraints, and the constraint
//! matchers of `verify.go` (`matchDomainConstraint`, `matchEmailConstraint`,
//! `matchURIConstraint`, `matchIPConstraint`).
//! Sources: <https://github.com/golang/go/blob/master/src/crypto/x509/verify.go>,
//! <https://github.com/golang/go/blob/master/src/crypto/x509/pkix/pkix.go>,
//! <https://github.com/golang/go/blob/master/src/net/url/url.go>.

use std::net::IpAddr;

use super::url::Url;

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

// --- name constraint matching (verify.go) ---

/// `matchDomainConstraint` as Go 1.24.3 has it: a wildcard SAN (`*.example.com`) is
/// compared label by label like any other name, so an excluded `foo.example.com` does not
/// exclude it (Go 1.24.11 and 1.25.5 added a wildcard rule for exclusions).
pub(crate) fn match_domain_constraint(domain: &str, constraint: &str) -> Result<bool, String> {
    if constraint.is_empty() {
        return Ok(true);
    }
    let Some(domain_labels) = domain_to_reverse_labels(domain) else {
        return Err(format!(
            "x509: internal error: cannot parse domain {}",
            super::gostr::go_quote(domain)
        ));
    };
    let (must_have_subdomains, constraint) = match constraint.strip_prefix('.') {
        Some(c) => (true, c),
        None => (false, constraint),
    };
    let Some(constraint_labels) = domain_to_reverse_labels(constraint) else {
        return Err(format!(
            "x509: internal error: cannot parse domain {}",
            super::gostr::go_quote(constraint)
        ));
    };
    if domain_labels.len() < constraint_labels.len()
        || (must_have_subdomains && domain_labels.len() == constraint_labels.len())
    {
        return Ok(false);
    }
    Ok(constraint_labels
        .iter()
        .zip(&domain_labels)
        .all(|(c, d)| c.eq_ignore_ascii_case(d)))
}

/// `matchEmailConstraint`.
pub(crate) fn match_email_constraint(mailbox: &Mailbox, constraint: &str) -> Result<bool, String> {
    if constraint.contains('@') {
        let Some(c) = parse_mailbox(constraint) else {
            return Err(format!(
                "x509: internal error: cannot parse constraint {}",
                super::gostr::go_quote(constraint)
            ));
        };
        return Ok(mailbox.local == c.local && mailbox.domain.eq_ignore_ascii_case(&c.domain));
    }
    match_domain_constraint(&mailbox.domain, constraint)
}

/// `matchURIConstraint`: the host of the parsed URI (port split off with
/// `net.SplitHostPort`) must be a domain; errors quote `URL.String()`.
pub(crate) fn match_uri_constraint(uri: &Url, constraint: &str) -> Result<bool, String> {
    let mut host = uri.host.clone();
    if host.is_empty() {
        return Err(format!(
            "URI with empty host ({}) cannot be matched against constraints",
            super::gostr::go_quote(&uri.go_string())
        ));
    }
    if host.contains(':') && !host.ends_with(']') {
        host = super::url::split_host_port(&uri.host)?;
    }
    if netip_parse_addr(&host) || (host.starts_with('[') && host.ends_with(']')) {
        return Err(format!(
            "URI with IP ({}) cannot be matched against constraints",
            super::gostr::go_quote(&uri.go_string())
        ));
    }
    match_domain_constraint(&host, constraint)
}

/// `netip.ParseAddr` succeeds: `net.ParseIP`'s forms plus an IPv6 zone (`fe80::1%en0`).
/// Go 1.24 checks a URI's host with it (the fix for CVE-2024-45341, Go 1.23.5).
fn netip_parse_addr(text: &str) -> bool {
    match text.find('%') {
        Some(at) if at > 0 => {
            at + 1 < text.len() && text[..at].parse::<std::net::Ipv6Addr>().is_ok()
        }
        _ => parse_ip(text).is_some(),
    }
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
        16 => go_ip_string(&IpAddr::from(<[u8; 16]>::try_from(ip).unwrap_or_default())),
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

/// One attribute of a Name, decoded as Go decodes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Attribute {
    pub(crate) oid: String,
    pub(crate) value: String,
}

/// Go's `net.IP.String()`: IPv4-mapped IPv6 addresses print as dotted quads.
pub(crate) fn go_ip_string(ip: &IpAddr) -> String {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => v6.to_string(),
        },
        IpAddr::V4(v4) => v4.to_string(),
    }
}

/// Go's `net.IP.Equal`: an IPv4 address equals its IPv4-mapped IPv6 form.
pub(crate) fn go_ip_equal(a: &IpAddr, b: &IpAddr) -> bool {
    let norm = |ip: &IpAddr| match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(*v6)),
        v4 => *v4,
    };
    norm(a) == norm(b)
}

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
            match_domain_constraint("a.example.com", "example.com"),
            Ok(true)
        );
        assert_eq!(
            match_domain_constraint("example.com", ".example.com"),
            Ok(false)
        );
        assert_eq!(
            match_domain_constraint("a.example.com", ".example.com"),
            Ok(true)
        );
        assert_eq!(
            match_domain_constraint("notexample.com", "example.com"),
            Ok(false)
        );
        assert_eq!(match_domain_constraint("x.com", ""), Ok(true));
        assert!(domain_to_reverse_labels("example.com.").is_none());
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
