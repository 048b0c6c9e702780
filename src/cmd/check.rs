//! `check [EP…] [--ca-file PEM] [--cert-dir DIR]` and `check --cert PEM --host EP`:
//! capture each endpoint's chain (crate::tls) and judge it as Docker would (crate::x509).
//!
//! Exit 0 when every endpoint is trusted, 1 when any is untrusted or unreachable,
//! 2 for bad input (unreadable or malformed PEM, bad endpoint).

use std::time::{Instant, SystemTime};

use anyhow::Context;
use serde::Serialize;

use crate::cli::CheckArgs;
use crate::config::Config;
use crate::endpoint::Endpoint;
use crate::exit::ExitStatus;
use crate::output::Printer;
use crate::x509::{self, Anchors, CertSummary, Finding, Judgement, Severity};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum Status {
    Trusted,
    Untrusted,
    Unreachable,
}

/// One endpoint's result, in docs/cli.md's JSON shape.
#[derive(Debug, Serialize)]
struct EndpointReport {
    endpoint: String,
    status: Status,
    docker_error: Option<String>,
    findings: Vec<Finding>,
    chain: Vec<CertSummary>,
}

#[derive(Debug, Serialize)]
struct Report {
    endpoints: Vec<EndpointReport>,
}

/// Where trust comes from for this run.
enum TrustSource {
    Fixed(Anchors),
    PerEndpoint,
}

pub(crate) fn run(
    config: &Config,
    args: &CheckArgs,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let trust = if let Some(file) = &args.ca_file {
        TrustSource::Fixed(Anchors::from_file(file)?)
    } else if let Some(dir) = &args.cert_dir {
        TrustSource::Fixed(Anchors::from_cert_dir(dir)?)
    } else {
        TrustSource::PerEndpoint
    };
    let anchors_for = |endpoint: &Endpoint| match &trust {
        TrustSource::Fixed(anchors) => anchors.clone(),
        TrustSource::PerEndpoint => {
            Anchors::with_certs_d(config, crate::trust::docker_endpoint_dir(config, endpoint))
        }
    };

    if args.cert.is_some() && !args.endpoints.is_empty() {
        anyhow::bail!(
            "check: give endpoints to connect to, or --cert FILE --host EP to judge a file, not both"
        );
    }
    let reports = match (&args.cert, &args.host) {
        (Some(file), Some(host)) => {
            let endpoint: Endpoint = host.parse().with_context(|| format!("--host {host:?}"))?;
            let chain = crate::pem::read_certificates(file)?;
            let judgement = x509::judge(
                &chain,
                &anchors_for(&endpoint),
                &endpoint,
                &config.other_endpoints(&endpoint),
                SystemTime::now(),
            );
            vec![report(&endpoint, judgement)]
        }
        _ => {
            let mut endpoints = config.endpoints_or_default(&args.endpoints)?;
            // `192.168.0.1` and `192.168.0.1:443` are one endpoint: judge it once.
            let mut seen = Vec::new();
            endpoints.retain(|ep| {
                let new = !seen.contains(ep);
                seen.push(ep.clone());
                new
            });
            connect_and_judge(config, &endpoints, &anchors_for)
        }
    };

    let report = Report { endpoints: reports };
    printer.report(&report, |printer| {
        report
            .endpoints
            .iter()
            .try_for_each(|r| print_text(printer, r))
    })?;
    Ok(report.status())
}

impl Report {
    /// 0 when every endpoint is trusted, else 1.
    fn status(&self) -> ExitStatus {
        if self.endpoints.iter().all(|r| r.status == Status::Trusted) {
            ExitStatus::Success
        } else {
            ExitStatus::No
        }
    }
}

/// Capture every endpoint's chain concurrently, under one deadline for the whole command,
/// and judge each with its anchors.
fn connect_and_judge(
    config: &Config,
    endpoints: &[Endpoint],
    anchors_for: &dyn Fn(&Endpoint) -> Anchors,
) -> Vec<EndpointReport> {
    let deadline = Instant::now() + config.timeout.value;
    let captured: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = endpoints
            .iter()
            .map(|ep| scope.spawn(move || crate::tls::capture_chain(ep, deadline)))
            .collect();
        handles.into_iter().map(|h| h.join()).collect()
    });
    endpoints
        .iter()
        .zip(captured)
        .map(|(endpoint, captured)| {
            let judge = |chain: &[_]| {
                x509::judge(
                    chain,
                    &anchors_for(endpoint),
                    endpoint,
                    &config.other_endpoints(endpoint),
                    SystemTime::now(),
                )
            };
            match captured {
                Ok(Ok(presented)) => report(endpoint, judge(&presented.certs)),
                Ok(Err(crate::tls::Unreachable::Impostor {
                    go_error, chain, ..
                })) => impostor_report(endpoint, judge(&chain), go_error),
                // The report names the endpoint: the finding says only the cause.
                Ok(Err(unreachable)) => unreachable_report(endpoint, unreachable.cause()),
                Err(_) => unreachable_report(endpoint, "the connection thread failed".into()),
            }
        })
        .collect()
}

/// A server that presented a chain but not the proof that it holds the leaf's key. Go
/// verifies the chain first, so an untrusted chain is reported as Docker reports it; a
/// trusted one makes this server an impostor: untrusted, with Go's handshake error.
fn impostor_report(
    endpoint: &Endpoint,
    mut judgement: Judgement,
    go_error: String,
) -> EndpointReport {
    if judgement.trusted {
        judgement.trusted = false;
        judgement.findings.push(
            Finding::new(
                "handshake-signature",
                Severity::Error,
                format!(
                    "the server presented the trusted chain but could not sign the handshake with its key: it is not the registry ({go_error})"
                ),
            )
            .fix(format!(
                "find out which host answers for {} (VIP backends, Marathon-LB, ARP, DNS) and log in nowhere until `check` says trusted",
                endpoint.host_port()
            )),
        );
        judgement.docker_error = Some(go_error);
    }
    report(endpoint, judgement)
}

fn report(endpoint: &Endpoint, judgement: Judgement) -> EndpointReport {
    EndpointReport {
        endpoint: endpoint.to_string(),
        status: if judgement.trusted {
            Status::Trusted
        } else {
            Status::Untrusted
        },
        docker_error: judgement.docker_error,
        findings: judgement.findings,
        chain: judgement.chain,
    }
}

fn unreachable_report(endpoint: &Endpoint, why: String) -> EndpointReport {
    // crate::tls words its reasons as "<what> — <what to do>": keep the two apart.
    let (message, fix) = match why.split_once(" — ") {
        Some((what, todo)) => (what.to_string(), todo.to_string()),
        None => (
            why,
            format!(
                "check that the registry listens on {} and that this host can reach it (firewall, VIP, Marathon-LB), or raise --timeout",
                endpoint.host_port()
            ),
        ),
    };
    EndpointReport {
        endpoint: endpoint.to_string(),
        status: Status::Unreachable,
        docker_error: None,
        findings: vec![Finding {
            code: "unreachable",
            severity: Severity::Error,
            message,
            fix: Some(fix),
        }],
        chain: Vec::new(),
    }
}

fn print_text(printer: &Printer, r: &EndpointReport) -> std::io::Result<()> {
    let head = match (&r.status, &r.docker_error) {
        (Status::Trusted, _) => format!("{}: trusted", r.endpoint),
        (Status::Untrusted, Some(err)) => format!("{}: untrusted — {err}", r.endpoint),
        (Status::Untrusted, None) => format!("{}: untrusted", r.endpoint),
        (Status::Unreachable, _) => format!("{}: unreachable", r.endpoint),
    };
    printer.line(head)?;
    for (i, cert) in r.chain.iter().enumerate() {
        let names: Vec<&str> = cert
            .dns_names
            .iter()
            .chain(&cert.ip_addresses)
            .map(String::as_str)
            .collect();
        printer.line(format!(
            "  [{i}] {}{} — issuer {}; {}; valid {} to {}; SAN: {}",
            cert.subject,
            if cert.is_ca { " (CA)" } else { "" },
            cert.issuer,
            cert.key,
            cert.not_before,
            cert.not_after,
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        ))?;
    }
    printer.findings("  ", &r.findings)
}
