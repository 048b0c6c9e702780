//! Where the registry CA comes from, and the rule that nothing is trusted silently.
//!
//! Shared by `trust` and `rollout`. The CA is taken per endpoint from its TLS handshake
//! (Marathon-LB may terminate TLS with its own certificate, so each endpoint is pinned on
//! its own), or from `--ca-file` / `--ca-url` for every endpoint. Before anything is
//! installed the user sees subject, issuer, SANs, validity and SHA-256 fingerprint and
//! confirms with a matching `--fingerprint`, `--yes`, or a "y" typed on a terminal
//! (trust on first use, done the way `ssh` does it, not the way `curl -k` does).
//!
//! Use: a [`CaSource`] → [`obtain`] → [`confirm`] under a [`Confirmation`] → install
//! `approved.cas`. The command line's options become these two in `cli.rs`.

use std::io::{BufRead, IsTerminal};
use std::path::{Path, PathBuf};
use std::time::Instant;

use rustls_pki_types::CertificateDer;
use serde::Serialize;

use crate::endpoint::Endpoint;
use crate::output::Printer;
use crate::text::sanitize_line;
use crate::x509::pem::{self, CertFileError};

/// Where the CA certificates come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CaSource {
    /// The top of the chain each endpoint presents.
    Handshake,
    /// One or more CA certificates in a PEM (or DER) file, for every endpoint.
    File(PathBuf),
    /// A PEM bundle downloaded from a URL (e.g. `https://master.mesos/ca/dcos-ca.crt`).
    Url(String),
}

/// How what is offered may be approved, besides a "y" typed on a terminal.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Confirmation {
    /// Only anchors with one of these SHA-256 fingerprints (hex, colons optional).
    pub(crate) fingerprint: Option<String>,
    /// Everything offered, without asking (trust on first use).
    pub(crate) yes: bool,
}

pub(crate) use crate::x509::CertSummary;

/// One certificate offered as a trust anchor.
#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    pub(crate) der: CertificateDer<'static>,
    pub(crate) summary: CertSummary,
    /// Set when this is not a self-signed root (the server did not send its root).
    pub(crate) warning: Option<String>,
}

impl Candidate {
    pub(crate) fn new(der: CertificateDer<'static>, warning: Option<String>) -> Candidate {
        let summary = summarize(der.as_ref());
        Candidate {
            der,
            summary,
            warning,
        }
    }

    /// PEM text, LF line endings: what goes into `ca.crt`.
    pub(crate) fn pem(&self) -> String {
        pem::to_pem(self.der.as_ref())
    }
}

/// The anchors found for one endpoint, or why there are none.
#[derive(Debug, Clone)]
pub(crate) struct EndpointCa {
    pub(crate) endpoint: Endpoint,
    pub(crate) cas: Result<Vec<Candidate>, String>,
    /// The chain the endpoint presented, when the CA came from its handshake (lets the
    /// caller judge the result without connecting again).
    pub(crate) chain: Option<Vec<CertificateDer<'static>>>,
}

impl EndpointCa {
    /// Every anchor for this endpoint as one PEM bundle (empty when none).
    pub(crate) fn bundle_pem(&self) -> String {
        match &self.cas {
            Ok(cas) => cas.iter().map(Candidate::pem).collect(),
            Err(_) => String::new(),
        }
    }
}

/// Failures that stop before anything is installed (exit 2).
#[derive(Debug, thiserror::Error)]
pub(crate) enum SourceError {
    #[error(transparent)]
    File(#[from] CertFileError),
    #[error("cannot download the CA from {url} — {detail}; check the URL, or save the CA and use --ca-file")]
    Download { url: String, detail: String },
    #[error("{url} did not return a certificate ({detail}) — check the URL (DC/OS serves https://<master>/ca/dcos-ca.crt)")]
    NotACertificate { url: String, detail: String },
    #[error(
        "--ca-url {0:?} is not an http(s) URL — give e.g. https://master.mesos/ca/dcos-ca.crt"
    )]
    BadUrl(String),
}

/// Get the candidate anchors for every endpoint. With [`CaSource::Handshake`] an endpoint
/// that cannot be reached gets `Err(reason)` and the others go on; file and URL problems
/// fail the whole call because they concern every endpoint alike.
pub(crate) fn obtain(
    fs: crate::fsutil::Fs<'_>,
    source: &CaSource,
    endpoints: &[Endpoint],
    deadline: Instant,
) -> Result<Vec<EndpointCa>, SourceError> {
    let shared = match source {
        CaSource::Handshake => return Ok(from_handshakes(endpoints, deadline)),
        CaSource::File(path) => from_file(fs, path)?,
        CaSource::Url(url) => from_url(url, deadline)?,
    };
    Ok(endpoints
        .iter()
        .map(|endpoint| EndpointCa {
            endpoint: endpoint.clone(),
            cas: Ok(shared.clone()),
            chain: None,
        })
        .collect())
}

/// Every certificate in a CA file. A leaf given by mistake is still accepted: Go treats any
/// certificate in the pool as an anchor, and the guide installs its self-signed leaf.
pub(crate) fn from_file(
    fs: crate::fsutil::Fs<'_>,
    path: &Path,
) -> Result<Vec<Candidate>, SourceError> {
    let certs = pem::read_certificates(fs, path)?;
    Ok(dedup(
        certs
            .into_iter()
            .map(|der| Candidate::new(der, None))
            .collect(),
    ))
}

/// Download a PEM (or DER) bundle. The server is not verified: a cluster CA URL is usually
/// served with a certificate signed by the very CA being fetched (DC/OS documents
/// `curl -k`); what protects the user is the fingerprint shown and confirmed below.
/// The body is read by the one bounded network reader (size cap, the command's deadline
/// over connect, headers and body together).
pub(crate) fn from_url(url: &str, deadline: Instant) -> Result<Vec<Candidate>, SourceError> {
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(SourceError::BadUrl(url.to_string()));
    }
    let download = |detail: String| SourceError::Download {
        url: url.to_string(),
        detail,
    };
    // The same record-everything client as the handshake (crate::tls): no chain
    // verification, but the handshake signature is checked.
    let tls = crate::tls::client_config();
    let left = deadline.saturating_duration_since(Instant::now());
    let client = reqwest::blocking::Client::builder()
        .use_preconfigured_tls(tls)
        .timeout(left)
        .connect_timeout(left)
        .build()
        .map_err(|e| download(error_chain(&e)))?;
    let response = client
        .get(url)
        .send()
        .map_err(|e| download(error_chain(&e)))?;
    let status = response.status();
    if !status.is_success() {
        return Err(download(format!("the server answered {status}")));
    }
    let body = crate::tls::http::read_body(response, crate::fsutil::MAX_FILE, deadline)
        .map_err(|e| download(format!("{e:#}")))?;
    let certs = pem::parse_certificates(&body, Path::new(url)).map_err(|e| {
        SourceError::NotACertificate {
            url: url.to_string(),
            detail: e.to_string(),
        }
    })?;
    Ok(dedup(
        certs
            .into_iter()
            .map(|der| Candidate::new(der, None))
            .collect(),
    ))
}

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
}

/// Handshake every endpoint concurrently (one deadline for all) and pick its anchor.
fn from_handshakes(endpoints: &[Endpoint], deadline: Instant) -> Vec<EndpointCa> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = endpoints
            .iter()
            .map(|endpoint| {
                scope.spawn(move || {
                    from_handshake(endpoint, crate::tls::capture_chain(endpoint, deadline))
                })
            })
            .collect();
        handles
            .into_iter()
            .zip(endpoints)
            .map(|(handle, endpoint)| {
                handle.join().unwrap_or_else(|_| EndpointCa {
                    endpoint: endpoint.clone(),
                    cas: Err("internal error while connecting".into()),
                    chain: None,
                })
            })
            .collect()
    })
}

/// The anchor an endpoint's handshake offers, or why it offers none (`trust` takes its
/// handshakes from `crate::probe::reach` when no endpoint is named).
pub(crate) fn from_handshake(
    endpoint: &Endpoint,
    handshake: Result<crate::tls::PresentedChain, crate::tls::Unreachable>,
) -> EndpointCa {
    let (cas, chain) = match handshake {
        Ok(chain) => (
            anchor_from_chain(endpoint, &chain.certs).map(|c| vec![c]),
            Some(chain.certs),
        ),
        // The caller names the endpoint; the cause keeps its own hint.
        Err(e) => (
            Err(format!("{}, or install with --ca-file PEM", e.cause())),
            None,
        ),
    };
    EndpointCa {
        endpoint: endpoint.clone(),
        cas,
        chain,
    }
}

/// The anchor to pin from a presented chain: its top certificate. A self-signed top is the
/// CA. Otherwise the server did not send its root; Go accepts any pooled certificate as an
/// anchor (crypto/x509 verify.go `buildChains` stops at a cert found in `opts.Roots`), so
/// pinning the top presented certificate works for Docker, but say so.
pub(crate) fn anchor_from_chain(
    endpoint: &Endpoint,
    chain: &[CertificateDer<'static>],
) -> Result<Candidate, String> {
    let top = chain
        .last()
        .ok_or_else(|| format!("{endpoint} presented no certificate"))?;
    let candidate = Candidate::new(top.clone(), None);
    if candidate.summary.self_signed {
        return Ok(candidate);
    }
    let warning = format!(
        "{endpoint} did not send its root CA; the top certificate it sent ({}) would be trusted \
         as the anchor — it works for Docker, but prefer --ca-file with the real CA",
        sanitize_line(&candidate.summary.subject)
    );
    Ok(Candidate {
        warning: Some(warning),
        ..candidate
    })
}

fn dedup(cands: Vec<Candidate>) -> Vec<Candidate> {
    let mut seen = std::collections::HashSet::new();
    cands
        .into_iter()
        .filter(|c| seen.insert(c.summary.sha256.clone()))
        .collect()
}

/// Subject, issuer, SANs, validity and fingerprint of a DER certificate.
pub(crate) fn summarize(der: &[u8]) -> CertSummary {
    CertSummary::of_der(&CertificateDer::from(der))
}

/// A `--fingerprint` value: 64 hex digits, colons/spaces optional, any case, optionally
/// prefixed `sha256:` or pasted whole from `openssl x509 -fingerprint -sha256`
/// (`sha256 Fingerprint=AB:CD:…`). Several may be given separated by commas.
pub(crate) fn parse_fingerprints(text: &str) -> Result<Vec<String>, FingerprintError> {
    text.split(',')
        .filter(|part| !part.trim().is_empty())
        .map(parse_fingerprint)
        .collect::<Result<Vec<_>, _>>()
        .and_then(|list| {
            if list.is_empty() {
                Err(FingerprintError(text.to_string()))
            } else {
                Ok(list)
            }
        })
}

fn parse_fingerprint(text: &str) -> Result<String, FingerprintError> {
    let trimmed = text.trim();
    let value = trimmed.rsplit_once('=').map_or(trimmed, |(_, v)| v);
    let value = value
        .strip_prefix("sha256:")
        .or_else(|| value.strip_prefix("SHA256:"))
        .unwrap_or(value);
    let hex: String = value
        .chars()
        .filter(|c| *c != ':' && !c.is_whitespace())
        .collect();
    if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(FingerprintError(text.to_string()));
    }
    let upper = hex.to_ascii_uppercase();
    Ok(upper
        .as_bytes()
        .chunks(2)
        .map(|pair| String::from_utf8_lossy(pair).into_owned())
        .collect::<Vec<_>>()
        .join(":"))
}

#[derive(Debug, thiserror::Error)]
#[error("--fingerprint {0:?} is not a SHA-256 fingerprint — give 64 hex digits, colons optional, e.g. from `openssl x509 -noout -fingerprint -sha256 -in ca.crt`")]
pub(crate) struct FingerprintError(String);

/// How the user agreed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Approval {
    Fingerprint,
    Yes,
    Typed,
}

/// Why nothing will be installed. Each is exit 2 except [`Refusal::Declined`] (exit 1:
/// the user's answer was "no").
#[derive(Debug, thiserror::Error)]
pub(crate) enum Refusal {
    #[error(transparent)]
    BadFingerprint(#[from] FingerprintError),
    #[error("no terminal to ask on — nothing installed; check the fingerprint above and rerun with --fingerprint <sha256> (or --yes to trust it blindly)")]
    NoTerminal,
    #[error("--fingerprint {given} matches no certificate offered ({offered}) — nothing installed; check that you are talking to the right registry")]
    NoMatch { given: String, offered: String },
    #[error("--fingerprint matches no certificate offered by {endpoint} (it offers {offered}) — nothing installed; add its fingerprint (comma-separated) or leave {endpoint} out")]
    EndpointUnmatched { endpoint: String, offered: String },
    /// Each endpoint's cause was already said in a warning; not again here.
    #[error("nothing to trust: no endpoint offered a certificate — see the warnings above")]
    NothingOffered,
    #[error("not confirmed — nothing installed")]
    Declined,
    #[error("cannot read the answer from the terminal — {0}")]
    Terminal(std::io::Error),
    /// Docker would refuse the chain at once ("x509: certificate has expired or is not yet
    /// valid"): installing it only hides the problem.
    #[error("{endpoint} offers {what} {subject} that {when} — nothing installed; {fix}")]
    OutOfValidity {
        endpoint: String,
        what: &'static str,
        subject: String,
        when: String,
        fix: &'static str,
    },
}

impl Refusal {
    pub(crate) fn exit_status(&self) -> crate::exit::ExitStatus {
        match self {
            Refusal::Declined => crate::exit::ExitStatus::No,
            _ => crate::exit::ExitStatus::Error,
        }
    }
}

/// The outcome of [`confirm`]: for every endpoint that offered something, exactly the
/// anchors to install (with `--fingerprint`, only the matching ones).
#[derive(Debug, Clone)]
pub(crate) struct Approved {
    pub(crate) how: Approval,
    pub(crate) endpoints: Vec<EndpointCa>,
}

/// Show what is offered and apply the confirmation rules. Endpoints whose handshake failed
/// are left out (the caller reports them); everything else is all-or-nothing.
/// The certificates and the question go to stderr; answers are read from stdin, only when
/// stdin is a terminal.
pub(crate) fn confirm(
    found: &[EndpointCa],
    how: &Confirmation,
    printer: &Printer,
) -> Result<Approved, Refusal> {
    let offered: Vec<&EndpointCa> = found.iter().filter(|e| e.cas.is_ok()).collect();
    if offered.is_empty() {
        return Err(Refusal::NothingOffered);
    }
    if !printer.is_json() {
        describe(&offered, printer);
    }
    in_validity(found)?;
    if let Some(text) = &how.fingerprint {
        let wanted = parse_fingerprints(text)?;
        let endpoints = select_by_fingerprint(&offered, &wanted)?;
        for entry in &offered {
            if let Some(leaf) = pinned_through(entry, &wanted) {
                let cas: Vec<String> = entry
                    .cas
                    .iter()
                    .flatten()
                    .map(|c| {
                        format!(
                            "{} ({})",
                            sanitize_line(&c.summary.subject),
                            c.summary.sha256
                        )
                    })
                    .collect();
                printer.note(format!(
                    "--fingerprint {} is {}'s own certificate ({}); installing the CA its chain leads to: {}",
                    leaf.sha256,
                    entry.endpoint,
                    sanitize_line(&leaf.subject),
                    cas.join(", ")
                ));
            }
        }
        return Ok(Approved {
            how: Approval::Fingerprint,
            endpoints,
        });
    }
    let all: Vec<EndpointCa> = offered.into_iter().cloned().collect();
    if how.yes {
        return Ok(Approved {
            how: Approval::Yes,
            endpoints: all,
        });
    }
    if !std::io::stdin().is_terminal() {
        return Err(Refusal::NoTerminal);
    }
    if printer.is_json() {
        describe(&all.iter().collect::<Vec<_>>(), printer);
    }
    crate::output::prompt("Trust these certificates for the endpoints above? [y/N] ");
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(Refusal::Terminal)?;
    match answer.trim() {
        "y" | "Y" | "yes" | "YES" | "Yes" => Ok(Approved {
            how: Approval::Typed,
            endpoints: all,
        }),
        _ => Err(Refusal::Declined),
    }
}

/// Refuse a CA to install, or a presented chain, that is expired or not yet valid now:
/// Docker would refuse it at once, and a renewed one is what the registry needs. [`confirm`]
/// asks it first; a dry run, which confirms nothing, asks it too.
pub(crate) fn in_validity(found: &[EndpointCa]) -> Result<(), Refusal> {
    let offered: Vec<&EndpointCa> = found.iter().filter(|e| e.cas.is_ok()).collect();
    out_of_validity(
        &offered,
        crate::x509::unix_seconds(std::time::SystemTime::now()),
    )
}

fn out_of_validity(offered: &[&EndpointCa], now: i64) -> Result<(), Refusal> {
    for entry in offered {
        let cas = entry.cas.iter().flatten().map(|c| c.summary.clone());
        let chain = entry
            .chain
            .iter()
            .flatten()
            .map(|der| summarize(der.as_ref()));
        let mut all: Vec<(bool, CertSummary)> = cas.map(|s| (true, s)).collect();
        all.extend(chain.map(|s| (false, s)));
        for (is_anchor, summary) in all {
            let when = match (summary.not_before_unix, summary.not_after_unix) {
                (_, Some(after)) if after < now => format!("expired on {}", summary.not_after),
                (Some(before), _) if before > now => format!(
                    "is not valid before {} (check this host's clock: timedatectl)",
                    summary.not_before
                ),
                _ => continue,
            };
            let leaf = !is_anchor && !summary.is_ca;
            return Err(Refusal::OutOfValidity {
                endpoint: entry.endpoint.to_string(),
                what: if leaf { "the certificate" } else { "the CA" },
                subject: sanitize_line(&summary.subject),
                when,
                fix: if leaf {
                    "renew the registry's certificate from its CA (docker dcosreg cert renew --dir DIR), serve it and run trust again"
                } else {
                    "rotate the registry to a new CA without a failed pull (README: rotating the CA; trust --add --ca-file NEW.crt)"
                },
            });
        }
    }
    Ok(())
}

/// The certificate of `entry`'s presented chain (not an anchor offered itself: the
/// registry's own, or an intermediate) whose fingerprint is in `wanted`, when the chain
/// from it up to the offered anchor (the chain's top) is signed link by link: pinning the
/// registry's certificate (what `openssl x509 -fingerprint -in domain.crt` prints) pins
/// the CA that signed it. The handshake proved the server holds that certificate's key.
pub(crate) fn pinned_through(entry: &EndpointCa, wanted: &[String]) -> Option<CertSummary> {
    let chain = entry.chain.as_ref()?;
    let cas = entry.cas.as_ref().ok()?;
    let offered = |sha: &str| cas.iter().any(|c| c.summary.sha256 == sha);
    chain.iter().enumerate().find_map(|(i, der)| {
        let summary = summarize(der.as_ref());
        let pinned = wanted.contains(&summary.sha256) && !offered(&summary.sha256);
        (pinned && crate::x509::chain_links(&chain[i..])).then_some(summary)
    })
}

/// Keep per endpoint only the anchors whose fingerprint was given; every given fingerprint
/// must match something and every endpoint must keep at least one anchor.
pub(crate) fn select_by_fingerprint(
    offered: &[&EndpointCa],
    wanted: &[String],
) -> Result<Vec<EndpointCa>, Refusal> {
    let all_offered = || {
        let mut list: Vec<String> = offered
            .iter()
            .flat_map(|e| e.cas.iter().flatten().map(|c| c.summary.sha256.clone()))
            .collect();
        list.dedup();
        list.join(", ")
    };
    for fp in wanted {
        let hit = offered.iter().any(|e| {
            e.cas.iter().flatten().any(|c| &c.summary.sha256 == fp)
                || pinned_through(e, std::slice::from_ref(fp)).is_some()
        });
        if !hit {
            return Err(Refusal::NoMatch {
                given: fp.clone(),
                offered: all_offered(),
            });
        }
    }
    offered
        .iter()
        .map(|e| {
            let cas = e.cas.as_ref().map_or_else(|_| Vec::new(), Clone::clone);
            let kept: Vec<Candidate> = match pinned_through(e, wanted) {
                // The registry's own certificate was pinned: the CA its chain leads to.
                Some(_) => cas.clone(),
                None => cas
                    .iter()
                    .filter(|c| wanted.contains(&c.summary.sha256))
                    .cloned()
                    .collect(),
            };
            if kept.is_empty() {
                return Err(Refusal::EndpointUnmatched {
                    endpoint: e.endpoint.to_string(),
                    offered: cas
                        .iter()
                        .map(|c| c.summary.sha256.clone())
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
            Ok(EndpointCa {
                endpoint: e.endpoint.clone(),
                cas: Ok(kept),
                chain: e.chain.clone(),
            })
        })
        .collect()
}

/// Print each distinct certificate once, with the endpoints that offered it, on stderr
/// (stdout stays for results and JSON).
fn describe(offered: &[&EndpointCa], printer: &Printer) {
    let mut shown: Vec<(String, Vec<String>, &Candidate)> = Vec::new();
    for entry in offered {
        for cand in entry.cas.iter().flatten() {
            match shown
                .iter_mut()
                .find(|(fp, _, _)| *fp == cand.summary.sha256)
            {
                Some((_, eps, _)) => eps.push(entry.endpoint.to_string()),
                None => shown.push((
                    cand.summary.sha256.clone(),
                    vec![entry.endpoint.to_string()],
                    cand,
                )),
            }
        }
    }
    for (_, endpoints, cand) in shown {
        printer.tell(render(cand, &endpoints));
    }
}

/// The certificate description shown before asking.
pub(crate) fn render(cand: &Candidate, endpoints: &[String]) -> String {
    let s = &cand.summary;
    let mut names: Vec<String> = s.dns_names.iter().map(|n| sanitize_line(n)).collect();
    names.extend(s.ip_addresses.iter().map(|ip| format!("IP:{ip}")));
    let mut text = format!(
        "Certificate offered for {}:\n  subject:     {}\n  issuer:      {}\n  names (SAN): {}\n  valid:       {} to {}\n  SHA-256:     {}\n",
        endpoints.join(", "),
        sanitize_line(&s.subject),
        sanitize_line(&s.issuer),
        if names.is_empty() { "(none)".to_string() } else { names.join(", ") },
        s.not_before,
        s.not_after,
        s.sha256,
    );
    if let Some(warning) = &cand.warning {
        text.push_str(&format!("  warning:     {}\n", sanitize_line(warning)));
    }
    text
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests build their fixtures directly
mod tests {
    use super::*;

    fn self_signed(name: &str) -> CertificateDer<'static> {
        rcgen::generate_simple_self_signed(vec![name.to_string()])
            .unwrap()
            .cert
            .der()
            .clone()
    }

    fn ep(s: &str) -> Endpoint {
        s.parse().unwrap()
    }

    #[test]
    fn fingerprints_parse_in_every_spelling() {
        let colon = "AB:".repeat(31) + "AB";
        let bare = "ab".repeat(32);
        for text in [
            colon.clone(),
            bare.clone(),
            bare.to_uppercase(),
            format!("sha256:{bare}"),
            format!("sha256 Fingerprint={colon}"),
            format!("  {colon}  "),
        ] {
            assert_eq!(
                parse_fingerprints(&text).unwrap(),
                vec![colon.clone()],
                "{text}"
            );
        }
        assert_eq!(
            parse_fingerprints(&format!("{bare},{bare}")).unwrap().len(),
            2
        );
        for bad in ["", "abc", &"zz".repeat(32), &"ab".repeat(31), ","] {
            assert!(parse_fingerprints(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn self_signed_top_is_the_ca_else_warn() {
        let root = self_signed("registry.example");
        let got = anchor_from_chain(&ep("registry.example"), std::slice::from_ref(&root)).unwrap();
        assert!(got.summary.self_signed);
        assert!(got.warning.is_none());
        assert_eq!(got.summary.dns_names, vec!["registry.example"]);

        // A leaf issued by a CA that is not sent: the leaf is the top, with a warning.
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(vec![]).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let leaf_key = rcgen::KeyPair::generate().unwrap();
        let leaf = rcgen::CertificateParams::new(vec!["registry.example".into()])
            .unwrap()
            .signed_by(&leaf_key, &issuer)
            .unwrap();
        let got = anchor_from_chain(&ep("registry.example"), &[leaf.der().clone()]).unwrap();
        assert!(!got.summary.self_signed);
        assert!(got.warning.as_deref().unwrap_or("").contains("--ca-file"));
        let with_root =
            anchor_from_chain(&ep("x"), &[leaf.der().clone(), ca.der().clone()]).unwrap();
        assert!(with_root.summary.self_signed && with_root.summary.is_ca);
        assert!(anchor_from_chain(&ep("x"), &[]).is_err());
    }

    #[test]
    fn fingerprint_selects_per_endpoint_all_or_nothing() {
        let a = Candidate::new(self_signed("a"), None);
        let b = Candidate::new(self_signed("b"), None);
        let vip = EndpointCa {
            endpoint: ep("192.168.0.1"),
            cas: Ok(vec![a.clone()]),
            chain: None,
        };
        let mlb = EndpointCa {
            endpoint: ep("192.168.1.50:5000"),
            cas: Ok(vec![b.clone()]),
            chain: None,
        };
        let only_a = vec![a.summary.sha256.clone()];
        assert!(matches!(
            select_by_fingerprint(&[&vip, &mlb], &only_a),
            Err(Refusal::EndpointUnmatched { .. })
        ));
        assert_eq!(select_by_fingerprint(&[&vip], &only_a).unwrap().len(), 1);
        let both = vec![a.summary.sha256.clone(), b.summary.sha256.clone()];
        assert_eq!(
            select_by_fingerprint(&[&vip, &mlb], &both).unwrap().len(),
            2
        );
        let none = vec!["00:".repeat(31) + "00"];
        assert!(matches!(
            select_by_fingerprint(&[&vip, &mlb], &none),
            Err(Refusal::NoMatch { .. })
        ));
    }
}
