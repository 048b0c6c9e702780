//! Go's `(*Certificate).Verify` as `crypto/tls` calls it for a client: roots from the
//! pool, the rest of the presented chain as intermediates, `DNSName` = the host, key
//! usage serverAuth. One small `check_*` per rule, in Go's order, with Go's messages.
//!
//! Source: <https://github.com/golang/go/blob/master/src/crypto/x509/verify.go>
//! (Go 1.24 for Docker 28; differences from skopeo's Go 1.19 are noted where they matter).
//! Not implemented: the platform verifiers Go uses on macOS/Windows (Docker here runs on
//! Linux).

use super::anchors::Anchor;
use super::cert::Cert;
use super::goname;
use super::goname::{go_ip_equal, go_ip_string};
use super::gostr::go_quote;
use super::parser::{GoTime, Subtrees};
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

/// verify.go's default `MaxConstraintComparisions`.
const MAX_CONSTRAINT_COMPARISONS: usize = 250_000;

/// Verify `leaf` for `host` (spelled `dialled`, as Go's `DNSName` and its messages have
/// it) at `now` (Unix nanoseconds) the way a Go TLS client does.
/// On success returns the chains found (leaf first, anchor last).
pub(crate) fn verify<'a>(
    leaf: &'a Cert,
    intermediates: &[&'a Cert],
    roots: &'a [Anchor],
    host: &Host,
    dialled: &str,
    now: i128,
) -> Result<Vec<Vec<&'a Cert>>, GoError> {
    verify_options(leaf, intermediates, roots, Some((host, dialled)), now)
}

/// `Verify` with `VerifyOptions.DNSName` optional (empty: no hostname check), as Go's own
/// tests call it; key usage is serverAuth, as crypto/tls asks.
pub(crate) fn verify_options<'a>(
    leaf: &'a Cert,
    intermediates: &[&'a Cert],
    roots: &'a [Anchor],
    dns_name: Option<(&Host, &str)>,
    now: i128,
) -> Result<Vec<Vec<&'a Cert>>, GoError> {
    check_valid(leaf, LEAF, &[], now)?;
    if let Some((host, dialled)) = dns_name {
        check_hostname(leaf, host, dialled)?;
    }
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
    // Go 1.24's Verify tail: per chain, key usage then certificate policies; the error
    // counts what failed (Go 1.25 moved the policy check first).
    let (mut incompatible, mut invalid_policies) = (0, 0);
    let chains: Vec<_> = candidates
        .into_iter()
        .filter(|chain| {
            if !check_chain_key_usage(chain) {
                incompatible += 1;
                false
            } else if !super::policy::policies_valid(chain) {
                invalid_policies += 1;
                false
            } else {
                true
            }
        })
        .collect();
    if chains.is_empty() {
        if invalid_policies == 0 {
            return Err(GoError::new(
                Failure::IncompatibleUsage,
                "x509: certificate specifies an incompatible key usage",
            ));
        }
        let mut details = Vec::new();
        if incompatible > 0 {
            details.push(format!("{incompatible} chains with incompatible key usage"));
        }
        details.push(format!("{invalid_policies} chains with invalid policies"));
        return Err(GoError::new(
            Failure::InvalidCertificate,
            format!("x509: no valid chains built: {}", details.join(", ")),
        ));
    }
    Ok(chains)
}

/// RFC 3339 in UTC, as Go's `time.Format(time.RFC3339)` prints a UTC time.
/// (Go prints "now" in the local zone; Docker hosts run in UTC, and so do we.)
pub(crate) fn rfc3339(unix: i64) -> String {
    go_rfc3339(&GoTime {
        unix,
        nanos: 0,
        offset_seconds: 0,
    })
}

/// Go's `t.Format(time.RFC3339)` of a certificate time: whole seconds, in the UTC offset
/// the certificate wrote (`Z` for UTC).
pub(crate) fn go_rfc3339(t: &GoTime) -> String {
    let offset =
        time::UtcOffset::from_whole_seconds(t.offset_seconds).unwrap_or(time::UtcOffset::UTC);
    let Ok(at) = time::OffsetDateTime::from_unix_timestamp(t.unix) else {
        return t.unix.to_string();
    };
    let local = at.to_offset(offset);
    let zone = if t.offset_seconds == 0 {
        "Z".to_string()
    } else {
        let (h, m, _) = offset.as_hms();
        let sign = if t.offset_seconds < 0 { '-' } else { '+' };
        format!("{sign}{:02}:{:02}", h.unsigned_abs(), m.unsigned_abs())
    };
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{zone}",
        local.year(),
        u8::from(local.month()),
        local.day(),
        local.hour(),
        local.minute(),
        local.second()
    )
}

/// `now` in Unix nanoseconds, printed as Go prints `time.Now()` in UTC.
fn now_rfc3339(now: i128) -> String {
    let seconds = now.div_euclid(1_000_000_000);
    rfc3339(i64::try_from(seconds).unwrap_or(i64::MAX))
}

/// verify.go `isValid`: critical extensions, issuer name, validity period, CA flag and
/// path length, for `cert` about to be appended to `chain`.
fn check_valid(cert: &Cert, kind: u8, chain: &[&Cert], now: i128) -> Result<(), GoError> {
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
    if kind != LEAF {
        check_name_constraints(cert, chain)?;
    }
    if kind == INTERMEDIATE && (!cert.basic_constraints_valid || !cert.is_ca) {
        return Err(GoError::new(
            Failure::InvalidCertificate,
            "x509: certificate is not authorized to sign other certificates",
        ));
    }
    if let (true, Some(max)) = (cert.basic_constraints_valid, cert.max_path_len) {
        let intermediates = chain.len().saturating_sub(1) as u64;
        if intermediates > max {
            return Err(GoError::new(
                Failure::InvalidCertificate,
                "x509: too many intermediates for path length constraint",
            ));
        }
    }
    Ok(())
}

/// "x509: certificate has expired or is not yet valid: current time … is after …",
/// compared to the nanosecond (a GeneralizedTime may carry a fraction).
fn check_validity_period(cert: &Cert, now: i128) -> Result<(), GoError> {
    if now < cert.not_before.unix_nanos() {
        return Err(GoError::new(
            Failure::NotYetValid,
            format!(
                "x509: certificate has expired or is not yet valid: current time {} is before {}",
                now_rfc3339(now),
                go_rfc3339(&cert.not_before)
            ),
        ));
    }
    if now > cert.not_after.unix_nanos() {
        return Err(GoError::new(
            Failure::Expired,
            format!(
                "x509: certificate has expired or is not yet valid: current time {} is after {}",
                now_rfc3339(now),
                go_rfc3339(&cert.not_after)
            ),
        ));
    }
    Ok(())
}

/// `CertificateInvalidError{CANotAuthorizedForThisName}`.
fn not_authorized(detail: String) -> GoError {
    GoError::new(
        Failure::InvalidCertificate,
        format!(
            "x509: a root or intermediate certificate is not authorized to sign for this name: {detail}"
        ),
    )
}

/// verify.go `isValid`'s name-constraint part: every SAN of every certificate already in
/// the chain (that has a SAN extension) against `ca`'s permitted and excluded subtrees.
fn check_name_constraints(ca: &Cert, chain: &[&Cert]) -> Result<(), GoError> {
    let Some(nc) = &ca.name_constraints else {
        return Ok(());
    };
    let mut count = 0usize;
    for cert in chain.iter().filter(|c| c.has_san_extension) {
        for (tag, data) in cert.san_entries() {
            let text = String::from_utf8_lossy(&data).into_owned();
            match tag {
                1 => {
                    let Some(mailbox) = goname::parse_mailbox(&text) else {
                        // Go formats the zero mailbox struct here: {%q %q} of two empty strings.
                        return Err(GoError::new(
                            Failure::InvalidCertificate,
                            "x509: cannot parse rfc822Name {\"\" \"\"}",
                        ));
                    };
                    check_subtrees(
                        &mut count,
                        "email address",
                        &text,
                        nc,
                        |c, s| goname::match_email_constraint(&mailbox, c_str(c, s)),
                        |s| &s.email,
                    )?;
                }
                2 => {
                    if goname::domain_to_reverse_labels(&text).is_none() {
                        return Err(GoError::new(
                            Failure::InvalidCertificate,
                            format!("x509: cannot parse dnsName {}", go_quote(&text)),
                        ));
                    }
                    check_subtrees(
                        &mut count,
                        "DNS name",
                        &text,
                        nc,
                        |c, s| goname::match_domain_constraint(&text, c_str(c, s)),
                        |s| &s.dns,
                    )?;
                }
                6 => {
                    let uri = match super::url::parse(&text) {
                        Ok(u) => u,
                        Err(_) => {
                            return Err(GoError::new(
                                Failure::InvalidCertificate,
                                format!(
                                    "x509: internal error: URI SAN {} failed to parse",
                                    go_quote(&text)
                                ),
                            ))
                        }
                    };
                    check_subtrees(
                        &mut count,
                        "URI",
                        &text,
                        nc,
                        |c, s| goname::match_uri_constraint(&uri, c_str(c, s)),
                        |s| &s.uri,
                    )?;
                }
                7 => {
                    let shown = goname::ip_bytes_string(&data);
                    check_ip_subtrees(&mut count, &data, &shown, nc)?;
                }
                _ => {}
            }
        }
    }
    Ok(())
}

fn c_str(i: usize, list: &[String]) -> &str {
    list.get(i).map(String::as_str).unwrap_or("")
}

/// verify.go `checkNameConstraints` for the string-valued forms: excluded first, then
/// permitted (an empty permitted list permits everything).
fn check_subtrees(
    count: &mut usize,
    name_type: &str,
    name: &str,
    nc: &super::parser::NameConstraints,
    matches: impl Fn(usize, &[String]) -> Result<bool, String>,
    list: impl Fn(&Subtrees) -> &Vec<String>,
) -> Result<(), GoError> {
    let excluded = list(&nc.excluded);
    *count += excluded.len();
    if *count > MAX_CONSTRAINT_COMPARISONS {
        return Err(GoError::new(
            Failure::InvalidCertificate,
            "x509: unknown error",
        ));
    }
    for (i, constraint) in excluded.iter().enumerate() {
        match matches(i, excluded) {
            Err(e) => return Err(not_authorized(e)),
            Ok(true) => {
                return Err(not_authorized(format!(
                    "{name_type} {} is excluded by constraint {}",
                    go_quote(name),
                    go_quote(constraint)
                )))
            }
            Ok(false) => {}
        }
    }
    let permitted = list(&nc.permitted);
    *count += permitted.len();
    if *count > MAX_CONSTRAINT_COMPARISONS {
        return Err(GoError::new(
            Failure::InvalidCertificate,
            "x509: unknown error",
        ));
    }
    let mut ok = true;
    for i in 0..permitted.len() {
        ok = matches(i, permitted).map_err(not_authorized)?;
        if ok {
            break;
        }
    }
    if !ok {
        return Err(not_authorized(format!(
            "{name_type} {} is not permitted by any constraint",
            go_quote(name)
        )));
    }
    Ok(())
}

/// `checkNameConstraints` for IP addresses (constraints print as Go's `*net.IPNet`).
fn check_ip_subtrees(
    count: &mut usize,
    ip: &[u8],
    shown: &str,
    nc: &super::parser::NameConstraints,
) -> Result<(), GoError> {
    // `*net.IPNet`'s String(): the address as the certificate wrote it (not masked).
    let net_string = |(addr, mask): &(Vec<u8>, Vec<u8>)| {
        let ones: u32 = mask.iter().map(|b| b.count_ones()).sum();
        format!("{}/{ones}", goname::ip_bytes_string(addr))
    };
    *count += nc.excluded.ip.len();
    if *count > MAX_CONSTRAINT_COMPARISONS {
        return Err(GoError::new(
            Failure::InvalidCertificate,
            "x509: unknown error",
        ));
    }
    for net in &nc.excluded.ip {
        if goname::match_ip_constraint(ip, net) {
            return Err(not_authorized(format!(
                "IP address {} is excluded by constraint {}",
                go_quote(shown),
                go_quote(&net_string(net))
            )));
        }
    }
    *count += nc.permitted.ip.len();
    if *count > MAX_CONSTRAINT_COMPARISONS {
        return Err(GoError::new(
            Failure::InvalidCertificate,
            "x509: unknown error",
        ));
    }
    if !nc.permitted.ip.is_empty()
        && !nc
            .permitted
            .ip
            .iter()
            .any(|net| goname::match_ip_constraint(ip, net))
    {
        return Err(not_authorized(format!(
            "IP address {} is not permitted by any constraint",
            go_quote(shown)
        )));
    }
    Ok(())
}

/// verify.go `VerifyHostname` + `HostnameError.Error`: IP hosts match IP SANs only, DNS
/// hosts match DNS SANs (wildcards in the left-most label), the Common Name never counts.
pub(crate) fn check_hostname(cert: &Cert, host: &Host, dialled: &str) -> Result<(), GoError> {
    let shown = match host {
        Host::Ip(ip) => {
            if cert.ip_addresses.iter().any(|san| go_ip_equal(san, ip)) {
                return Ok(());
            }
            dialled.to_string()
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
            dialled.to_string()
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
pub(super) fn valid_hostname(host: &str, is_pattern: bool) -> bool {
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
    now: i128,
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
    fn times_print_like_go_rfc3339_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        let t = GoTime {
            unix: 1_700_000_000,
            nanos: 500_000_000,
            offset_seconds: 5 * 3600 + 30 * 60,
        };
        assert_eq!(go_rfc3339(&t), "2023-11-15T03:43:20+05:30");
    }
}
