//! Findings beyond the verdict: each a code, a severity, a sentence and a fix.
//!
//! The verdict is Go's; findings explain it and warn about what will break next
//! (the other endpoint's name missing from the certificate is the guide's Marathon-LB trap).

use super::cert::{Cert, KeyKind};
use super::signature;
use super::verify::{check_hostname, go_rfc3339, Failure, GoError};
use super::Anchors;
use crate::endpoint::Endpoint;

pub(crate) use crate::finding::{Finding, Severity};

/// Every finding here comes with its fix.
fn finding(
    code: &'static str,
    severity: Severity,
    message: impl Into<String>,
    fix: impl Into<String>,
) -> Finding {
    Finding::new(code, severity, message).fix(fix)
}

/// The renewal command of the advice below, up to its flags. DIR stands for the directory
/// holding the registry's certificate and its CA, which a check of a live endpoint cannot
/// know; [`renew_in`] names it when `check --cert DIR/domain.crt` found it.
const RENEW_DIR: &str = "`docker dcosreg cert renew --dir DIR";
const DIR_HOLDS: &str = " (DIR holds the registry's domain.crt, ca.crt and ca.key)";

/// "`docker dcosreg cert renew --dir DIR FLAGS` (DIR holds …)": the renewal from the same
/// CA, which no client needs anything new for.
pub(crate) fn renew_advice(flags: &str) -> String {
    format!("{RENEW_DIR}{flags}`{DIR_HOLDS}")
}

/// `fix` with the DIR of [`renew_advice`] made `dir`, the directory `cert renew` reads
/// (domain.crt and its key, ca.crt and ca.key): the command then runs as printed.
pub(crate) fn renew_in(fix: &str, dir: &std::path::Path) -> String {
    fix.replace(
        RENEW_DIR,
        &format!(
            "`docker-dcosreg cert renew --dir {}",
            crate::finding::quote(dir)
        ),
    )
    .replace(DIR_HOLDS, "")
}

/// Days before expiry from which `expires-soon` is reported.
pub(crate) const EXPIRES_SOON_DAYS: i64 = 30;

pub(crate) struct Context<'a> {
    pub(crate) presented: &'a [Cert],
    pub(crate) anchors: &'a Anchors,
    pub(crate) endpoint: &'a Endpoint,
    pub(crate) others: &'a [Endpoint],
    pub(crate) now: i64,
    pub(crate) error: Option<&'a GoError>,
}

/// All findings for one judged chain, errors first.
pub(crate) fn collect(ctx: &Context<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    if let Some(error) = ctx.error {
        out.push(verdict_finding(ctx, error));
    }
    if let Some(leaf) = ctx.presented.first() {
        check_expires_soon(ctx, leaf, &mut out);
        check_ca_as_leaf(leaf, &mut out);
        check_self_signed(leaf, &mut out);
        check_other_endpoints(ctx, leaf, &mut out);
        check_incomplete_chain(ctx, leaf, &mut out);
    }
    check_weak_keys(ctx, &mut out);
    for skipped in &ctx.anchors.skipped {
        out.push(finding(
            "ca-file-ignored",
            Severity::Warning,
            format!("{skipped}; Docker ignores it silently"),
            "put the CA certificate in PEM form (-----BEGIN CERTIFICATE-----) in a file ending in .crt",
        ));
    }
    out.sort_by_key(|f| std::cmp::Reverse(f.severity));
    out
}

/// The verdict as a finding with a fix a person can act on.
fn verdict_finding(ctx: &Context<'_>, error: &GoError) -> Finding {
    let ep = ctx.endpoint;
    let (code, fix) = match error.failure {
        Failure::UnknownAuthority => (
            "unknown-authority",
            match &ctx.anchors.certs_d_dir {
                Some(dir) => format!(
                    "install the registry's CA as {}/ca.crt: `docker dcosreg trust {ep}`",
                    dir.display()
                ),
                None => format!("trust the CA that issued the registry certificate: `docker dcosreg trust {ep}`"),
            },
        ),
        Failure::Hostname => (
            "name-mismatch",
            format!(
                "reissue the registry certificate from the same CA with {} added: {}, then serve it",
                san_for(ep),
                renew_advice(&format!(" {}", renew_flag_for(ep)))
            ),
        ),
        Failure::Expired => (
            "expired",
            format!(
                "renew the registry certificate from the same CA: {}, then serve it; an expired CA is replaced without a failed pull by `trust --add` (README: rotating the CA)",
                renew_advice("")
            ),
        ),
        Failure::NotYetValid => (
            "not-yet-valid",
            "check this host's clock (timedatectl), or reissue with a start date in the past".into(),
        ),
        Failure::IncompatibleUsage => (
            "incompatible-key-usage",
            "reissue the certificate with extendedKeyUsage serverAuth (or no EKU at all)".into(),
        ),
        Failure::InvalidCertificate => (
            "invalid-certificate",
            "reissue the certificate chain with a standard CA (`docker dcosreg cert`)".into(),
        ),
    };
    let mut message = format!("Docker refuses {ep}: {}", error.message);
    if error.failure == Failure::UnknownAuthority {
        if let Some(top) = ctx.presented.last() {
            message.push_str(&format!(
                " (the chain the registry sends ends at {}, issued by {}; that issuer must be installed, or sent by the registry if it is an intermediate)",
                top.subject, top.issuer
            ));
        }
    }
    finding(code, Severity::Error, message, fix)
}

/// `cert renew`'s flag that adds `ep`'s name.
fn renew_flag_for(ep: &Endpoint) -> String {
    match &ep.host {
        crate::endpoint::Host::Ip(ip) => format!("--ip {ip}"),
        crate::endpoint::Host::Dns(name) => format!("--name {name}"),
    }
}

fn san_for(ep: &Endpoint) -> String {
    match &ep.host {
        crate::endpoint::Host::Ip(ip) => format!("IP:{ip}"),
        crate::endpoint::Host::Dns(name) => format!("DNS:{name}"),
    }
}

fn check_expires_soon(ctx: &Context<'_>, leaf: &Cert, out: &mut Vec<Finding>) {
    let left = leaf.not_after.unix - ctx.now;
    if (0..EXPIRES_SOON_DAYS * 86_400).contains(&left) {
        out.push(finding(
            "expires-soon",
            Severity::Warning,
            format!(
                "the registry certificate expires on {} ({} days left)",
                go_rfc3339(&leaf.not_after),
                left / 86_400
            ),
            format!(
                "renew it before then from the same CA: {}, then restart the registry",
                renew_advice("")
            ),
        ));
    }
}

fn check_ca_as_leaf(leaf: &Cert, out: &mut Vec<Finding>) {
    if leaf.basic_constraints_valid && leaf.is_ca {
        out.push(finding(
            "ca-as-leaf",
            Severity::Info,
            "the registry serves a CA certificate (CA:TRUE) as its own certificate; Docker accepts it when it is installed as the CA, stricter clients (Java, curl with OpenSSL 3 strict mode, browsers) refuse it",
            "issue a separate CA and a registry certificate signed by it: `docker dcosreg cert`",
        ));
    }
}

fn check_self_signed(leaf: &Cert, out: &mut Vec<Finding>) {
    if leaf.is_self_issued() && signature::check_signature_from(leaf, leaf).is_ok() {
        out.push(finding(
            "self-signed",
            Severity::Info,
            "the registry certificate is self-signed: every client must install this exact certificate, and must do it again whenever it is renewed",
            "sign the registry certificate with a CA you install once: `docker dcosreg cert`",
        ));
    }
}

/// The guide's trap: a certificate made for the VIP fails through Marathon-LB (and back).
fn check_other_endpoints(ctx: &Context<'_>, leaf: &Cert, out: &mut Vec<Finding>) {
    for other in ctx.others {
        if other == ctx.endpoint {
            continue;
        }
        if let Err(e) = check_hostname(leaf, &other.host, &other.dialled_host()) {
            out.push(finding(
                "missing-endpoint-san",
                Severity::Warning,
                format!(
                    "the certificate does not name the other endpoint {other}; pulls through it will fail with: {}",
                    e.message
                ),
                format!(
                    "reissue it from the same CA with {} added: {}, then serve it",
                    san_for(other),
                    renew_advice(&format!(" {}", renew_flag_for(other)))
                ),
            ));
        }
    }
}

/// The server sends a leaf whose issuer it does not send, and trust only works because
/// that issuer (not a self-signed root) is installed, or does not work at all.
fn check_incomplete_chain(ctx: &Context<'_>, leaf: &Cert, out: &mut Vec<Finding>) {
    if leaf.is_self_issued()
        || ctx
            .presented
            .iter()
            .any(|c| c.raw_subject == leaf.raw_issuer)
    {
        return;
    }
    let installed: Vec<&super::anchors::Anchor> = ctx
        .anchors
        .certs
        .iter()
        .filter(|c| c.raw_subject == leaf.raw_issuer)
        .collect();
    // Only provable when the issuer is installed and is itself not a root: a leaf-only
    // chain whose issuer is unknown may just as well come straight from an unknown root.
    let installed_is_intermediate =
        !installed.is_empty() && installed.iter().all(|c| !c.is_self_issued());
    if installed_is_intermediate {
        out.push(finding(
            "incomplete-chain",
            Severity::Warning,
            format!(
                "the registry sends only its own certificate, not the certificate of its issuer ({}); clients that install only the root CA cannot build a chain",
                leaf.issuer
            ),
            "serve the full chain: put the intermediate CA certificate after the registry certificate in the file REGISTRY_HTTP_TLS_CERTIFICATE names",
        ));
    }
}

fn check_weak_keys(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    for (i, cert) in ctx.presented.iter().enumerate() {
        let what = if i == 0 {
            "the registry certificate".to_string()
        } else {
            format!("chain certificate {} ({})", i + 1, cert.subject)
        };
        if let KeyKind::Rsa { bits } = cert.key {
            if bits < 2048 {
                out.push(finding(
                    "weak-key",
                    Severity::Warning,
                    if bits < 1024 {
                        format!("{what} has a {bits}-bit RSA key; Docker 28 still accepts it, but Go programs built for Go 1.24+ defaults (rsa1024min) refuse keys under 1024 bits, and many clients refuse under 2048")
                    } else {
                        format!("{what} has a {bits}-bit RSA key; many clients refuse RSA keys under 2048 bits")
                    },
                    "reissue with RSA 2048+ or ECDSA P-256: `docker dcosreg cert`",
                ));
            }
        }
        if signature::is_insecure(cert) && !(i == 0 && cert.is_self_issued()) {
            out.push(finding(
                "weak-signature",
                Severity::Warning,
                format!(
                    "{what} is signed with {}, which Go no longer verifies",
                    signature::algorithm_name(cert)
                ),
                "reissue it with a SHA-256 signature",
            ));
        }
    }
}
