//! Go's `(*Certificate).Verify` as `crypto/tls` calls it for a client: roots from the
//! pool, the rest of the presented chain as intermediates, `DNSName` = the host, key
//! usage serverAuth. One small `check_*` per rule, in Go's order, with Go's messages.
//!
//! Source: <https://github.com/golang/go/blob/master/src/crypto/x509/verify.go>
//! (Go 1.24 for Docker 28; differences from skopeo's Go 1.19 are noted where they matter).
//! Not implemented: name constraints and certificate policies (no DC/OS or mkcert CA uses
//! them), and the platform verifiers Go uses on macOS/Windows (Docker here runs on Linux).

use super::anchors::Anchor;
use super::cert::{go_ip_equal, go_ip_string, Cert};
use super::signature::check_signature_from;
use crate::endpoint::Host;

/// Which Go error type a failure is; callers branch on it for findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Failure {
    /// `CertificateInvalidError{Expired}` on the leaf or a chain certificate.
    Expired,
    NotYetValid,
    /// `HostnameError`.
    Hostname,
    /// `UnknownAuthorityError` (with or without Go's "possibly because of" hint).
    UnknownAuthority,
    /// `CertificateInvalidError{IncompatibleUsage}`.
    IncompatibleUsage,
    /// Other `CertificateInvalidError`s and `UnhandledCriticalExtension`.
    InvalidCertificate,
}

/// Go's error: the kind and the exact text Go prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GoError {
    pub(crate) failure: Failure,
    pub(crate) message: String,
}

impl GoError {
    fn new(failure: Failure, message: impl Into<String>) -> GoError {
        GoError {
            failure,
            message: message.into(),
        }
    }
}

const LEAF: u8 = 0;
const INTERMEDIATE: u8 = 1;
const ROOT: u8 = 2;
/// verify.go `maxChainSignatureChecks`.
const MAX_SIGNATURE_CHECKS: usize = 100;

/// Verify `leaf` for `host` at `now` (Unix seconds) the way a Go TLS client does.
/// On success returns the chains found (leaf first, anchor last).
pub(crate) fn verify<'a>(
    leaf: &'a Cert,
    intermediates: &[&'a Cert],
    roots: &'a [Anchor],
    host: &Host,
    now: i64,
) -> Result<Vec<Vec<&'a Cert>>, GoError> {
    check_valid(leaf, LEAF, &[], now)?;
    check_hostname(leaf, host)?;
    let candidates = if roots.iter().any(|root| root.der == leaf.der) {
        // A leaf that is itself in the pool is trusted as is: no chain building, no
        // signature check. This is why the guide's CA:TRUE self-signed cert works.
        vec![vec![leaf]]
    } else {
        let mut pool = Vec::new();
        for cert in intermediates {
            // CertPool.AddCert ignores duplicates.
            if !pool.iter().any(|c: &&Cert| c.der == cert.der) {
                pool.push(*cert);
            }
        }
        let mut builder = Builder {
            roots,
            intermediates: &pool,
            now,
            signature_checks: 0,
        };
        builder.build(vec![leaf])?
    };
    let chains: Vec<_> = candidates
        .into_iter()
        .filter(|chain| check_chain_key_usage(chain))
        .collect();
    if chains.is_empty() {
        return Err(GoError::new(
            Failure::IncompatibleUsage,
            "x509: certificate specifies an incompatible key usage",
        ));
    }
    Ok(chains)
}

/// RFC 3339 in UTC, as Go's `time.Format(time.RFC3339)` prints a UTC time.
/// (Go prints "now" in the local zone; Docker hosts run in UTC, and so do we.)
pub(crate) fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| unix.to_string())
}

/// verify.go `isValid`: critical extensions, issuer name, validity period, CA flag and
/// path length, for `cert` about to be appended to `chain`.
fn check_valid(cert: &Cert, kind: u8, chain: &[&Cert], now: i64) -> Result<(), GoError> {
    if cert.unhandled_critical_extension {
        return Err(GoError::new(
            Failure::InvalidCertificate,
            "x509: unhandled critical extension",
        ));
    }
    if let Some(child) = chain.last() {
        if child.raw_issuer != cert.raw_subject {
            return Err(GoError::new(
                Failure::InvalidCertificate,
                "x509: issuer name does not match subject from issuing certificate",
            ));
        }
    }
    check_validity_period(cert, now)?;
    if kind == INTERMEDIATE && (!cert.basic_constraints_valid || !cert.is_ca) {
        return Err(GoError::new(
            Failure::InvalidCertificate,
            "x509: certificate is not authorized to sign other certificates",
        ));
    }
    if let (true, Some(max)) = (cert.basic_constraints_valid, cert.max_path_len) {
        let intermediates = chain.len() as i64 - 1;
        if intermediates > i64::from(max) {
            return Err(GoError::new(
                Failure::InvalidCertificate,
                "x509: too many intermediates for path length constraint",
            ));
        }
    }
    Ok(())
}

/// "x509: certificate has expired or is not yet valid: current time … is after …".
fn check_validity_period(cert: &Cert, now: i64) -> Result<(), GoError> {
    if now < cert.not_before {
        return Err(GoError::new(
            Failure::NotYetValid,
            format!(
                "x509: certificate has expired or is not yet valid: current time {} is before {}",
                rfc3339(now),
                rfc3339(cert.not_before)
            ),
        ));
    }
    if now > cert.not_after {
        return Err(GoError::new(
            Failure::Expired,
            format!(
                "x509: certificate has expired or is not yet valid: current time {} is after {}",
                rfc3339(now),
                rfc3339(cert.not_after)
            ),
        ));
    }
    Ok(())
}

/// verify.go `VerifyHostname` + `HostnameError.Error`: IP hosts match IP SANs only, DNS
/// hosts match DNS SANs (wildcards in the left-most label), the Common Name never counts.
pub(crate) fn check_hostname(cert: &Cert, host: &Host) -> Result<(), GoError> {
    let shown = match host {
        Host::Ip(ip) => {
            if cert.ip_addresses.iter().any(|san| go_ip_equal(san, ip)) {
                return Ok(());
            }
            ip.to_string()
        }
        Host::Dns(name) => {
            let candidate = name.to_ascii_lowercase();
            let valid_candidate = valid_hostname(&candidate, false);
            let matched = cert.dns_names.iter().any(|pattern| {
                if valid_candidate && valid_hostname(pattern, true) {
                    match_hostnames(pattern, &candidate)
                } else {
                    match_exactly(pattern, &candidate)
                }
            });
            if matched {
                return Ok(());
            }
            name.clone()
        }
    };
    Err(GoError::new(
        Failure::Hostname,
        hostname_error(cert, host, &shown),
    ))
}

fn hostname_error(cert: &Cert, host: &Host, shown: &str) -> String {
    if !cert.has_san_extension && match_hostnames(&cert.common_name, shown) {
        return "x509: certificate relies on legacy Common Name field, use SANs instead".into();
    }
    let valid = match host {
        Host::Ip(_) => {
            if cert.ip_addresses.is_empty() {
                return format!(
                    "x509: cannot validate certificate for {shown} because it doesn't contain any IP SANs"
                );
            }
            cert.ip_addresses
                .iter()
                .map(go_ip_string)
                .collect::<Vec<_>>()
                .join(", ")
        }
        Host::Dns(_) => cert.dns_names.join(", "),
    };
    if valid.is_empty() {
        return format!(
            "x509: certificate is not valid for any names, but wanted to match {shown}"
        );
    }
    format!("x509: certificate is valid for {valid}, not {shown}")
}

/// verify.go `validHostname` (Go 1.24: a bare "*" is not a valid pattern).
fn valid_hostname(host: &str, is_pattern: bool) -> bool {
    let host = if is_pattern {
        host
    } else {
        host.strip_suffix('.').unwrap_or(host)
    };
    if host.is_empty() || host == "*" {
        return false;
    }
    host.split('.').enumerate().all(|(i, part)| {
        if part.is_empty() {
            return false;
        }
        if is_pattern && i == 0 && part == "*" {
            return true;
        }
        part.char_indices()
            .all(|(j, c)| c.is_ascii_alphanumeric() || (c == '-' && j != 0) || c == '_')
    })
}

fn match_exactly(a: &str, b: &str) -> bool {
    if a.is_empty() || a == "." || b.is_empty() || b == "." {
        return false;
    }
    a.eq_ignore_ascii_case(b)
}

/// verify.go `matchHostnames`: same number of labels, `*` only as the whole first label.
fn match_hostnames(pattern: &str, host: &str) -> bool {
    let pattern = pattern.to_ascii_lowercase();
    let host = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
    if pattern.is_empty() || host.is_empty() {
        return false;
    }
    let pattern_parts: Vec<&str> = pattern.split('.').collect();
    let host_parts: Vec<&str> = host.split('.').collect();
    pattern_parts.len() == host_parts.len()
        && pattern_parts
            .iter()
            .zip(&host_parts)
            .enumerate()
            .all(|(i, (p, h))| (i == 0 && *p == "*") || p == h)
}

/// verify.go `checkChainForKeyUsage` with serverAuth requested: walking from the anchor
/// down, every certificate that lists EKUs must list serverAuth or anyExtendedKeyUsage.
fn check_chain_key_usage(chain: &[&Cert]) -> bool {
    chain
        .iter()
        .all(|cert| cert.eku.count == 0 || cert.eku.any || cert.eku.server_auth)
}

struct Builder<'p, 'a> {
    roots: &'a [Anchor],
    intermediates: &'p [&'a Cert],
    now: i64,
    signature_checks: usize,
}

impl<'a> Builder<'_, 'a> {
    /// verify.go `buildChains`: roots first, then intermediates; the first failing
    /// signature check or validity check becomes the "possibly because of" hint.
    fn build(&mut self, chain: Vec<&'a Cert>) -> Result<Vec<Vec<&'a Cert>>, GoError> {
        let Some(&child) = chain.last() else {
            return Ok(Vec::new());
        };
        let mut chains = Vec::new();
        let mut err: Option<GoError> = None;
        let mut hint: Option<(String, &Cert)> = None;
        let pool_roots: Vec<&'a Cert> = self
            .roots
            .iter()
            .filter(|a| a.raw_subject == child.raw_issuer)
            .filter_map(Anchor::cert)
            .collect();
        let candidates = potential_parents(&pool_roots, child)
            .into_iter()
            .map(|c| (ROOT, c))
            .chain(
                potential_parents(self.intermediates, child)
                    .into_iter()
                    .map(|c| (INTERMEDIATE, c)),
            );
        for (kind, candidate) in candidates {
            if already_in_chain(candidate, &chain) {
                continue;
            }
            self.signature_checks += 1;
            if self.signature_checks > MAX_SIGNATURE_CHECKS {
                err = Some(GoError::new(
                    Failure::UnknownAuthority,
                    "x509: signature check attempts limit reached while verifying certificate chain",
                ));
                continue;
            }
            if let Err(e) = check_signature_from(child, candidate) {
                hint.get_or_insert((e, candidate));
                continue;
            }
            if let Err(e) = check_valid(candidate, kind, &chain, self.now) {
                hint.get_or_insert((e.message.clone(), candidate));
                err = Some(e);
                continue;
            }
            let mut next = chain.clone();
            next.push(candidate);
            if kind == ROOT {
                chains.push(next);
            } else {
                match self.build(next) {
                    Ok(found) => {
                        chains.extend(found);
                        err = None;
                    }
                    Err(e) => err = Some(e),
                }
            }
        }
        if !chains.is_empty() {
            return Ok(chains);
        }
        Err(err.unwrap_or_else(|| unknown_authority(hint)))
    }
}

/// `UnknownAuthorityError.Error`, with the hint Go adds when a candidate was rejected.
fn unknown_authority(hint: Option<(String, &Cert)>) -> GoError {
    let mut message = "x509: certificate signed by unknown authority".to_string();
    if let Some((reason, cert)) = hint {
        message.push_str(&format!(
            " (possibly because of {} while trying to verify candidate authority certificate {})",
            go_quote(&reason),
            go_quote(&cert.go_display_name())
        ));
    }
    GoError::new(Failure::UnknownAuthority, message)
}

/// cert_pool.go `findPotentialParents`: same subject as the child's issuer, ordered
/// AKID=SKID first, then one of them missing, then mismatching.
fn potential_parents<'a>(pool: &[&'a Cert], child: &Cert) -> Vec<&'a Cert> {
    let mut found: Vec<(u8, &'a Cert)> = pool
        .iter()
        .filter(|c| c.raw_subject == child.raw_issuer)
        .map(|c| {
            let rank = if c.subject_key_id == child.authority_key_id {
                0
            } else if c.subject_key_id.is_empty() || child.authority_key_id.is_empty() {
                1
            } else {
                2
            };
            (rank, *c)
        })
        .collect();
    found.sort_by_key(|(rank, _)| *rank);
    found.into_iter().map(|(_, c)| c).collect()
}

/// verify.go `alreadyInChain`: same subject, same key and same SAN extension.
fn already_in_chain(candidate: &Cert, chain: &[&Cert]) -> bool {
    chain.iter().any(|cert| {
        candidate.raw_subject == cert.raw_subject
            && candidate.key_bytes == cert.key_bytes
            && candidate.san_value == cert.san_value
    })
}

/// Go's `%q` for the strings we quote: printable text kept, `"` and `\` escaped, other
/// characters as Go escapes them.
pub(crate) fn go_quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let n = c as u32;
                if n < 0x80 {
                    out.push_str(&format!("\\x{n:02x}"));
                } else {
                    out.push_str(&format!("\\u{n:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_follow_go() {
        assert!(match_hostnames("*.example.com", "reg.example.com"));
        assert!(!match_hostnames("*.example.com", "a.reg.example.com"));
        assert!(!match_hostnames("*.example.com", "example.com"));
        assert!(match_hostnames("Reg.Example.com", "reg.example.com."));
        assert!(!valid_hostname("*", true));
        assert!(!valid_hostname("a.*.example", true));
        assert!(valid_hostname("my_host.example", false));
        assert!(!valid_hostname("-bad.example", false));
    }

    #[test]
    fn quoting_matches_go_percent_q() {
        assert_eq!(
            go_quote("crypto/rsa: verification error"),
            "\"crypto/rsa: verification error\""
        );
        assert_eq!(go_quote("a\"b\\c\u{1b}"), "\"a\\\"b\\\\c\\x1b\"");
    }

    #[test]
    fn times_print_like_go_rfc3339_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
    }
}
