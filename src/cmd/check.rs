//! `check [EP…] [--ca-file PEM] [--cert-dir DIR]` and `check --cert PEM --host EP`:
//! capture each endpoint's chain (crate::tls) and judge it as Docker would (crate::x509).
//!
//! Exit 0 when every endpoint is trusted, 1 when any is untrusted or unreachable (or, with
//! `--expires-within DUR`, when a certificate of the chain Docker uses expires within DUR),
//! 2 for bad input (unreadable or malformed PEM, bad endpoint). `--format prometheus` and
//! `--textfile FILE` give the same verdicts as metrics for node_exporter's textfile
//! collector (the names of blackbox_exporter's `probe_ssl_earliest_cert_expiry` family).

use std::time::{Instant, SystemTime};

use anyhow::Context;
use serde::Serialize;

use crate::cli::CheckArgs;
use crate::config::Config;
use crate::endpoint::Endpoint;
use crate::exit::ExitStatus;
use crate::fsutil::Fs;
use crate::output::Printer;
use crate::probe::Outcome;
use crate::x509::{self, Anchors, CertSummary, Finding, Judgement, Severity};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
enum Status {
    Trusted,
    Untrusted,
    Unreachable,
    /// A configured endpoint (not named on the command line) with no TCP answer within the
    /// fallback delay while the other answered: outside the cluster, a note, not a failure
    /// (issue 31, `crate::probe::reach`).
    NotReachableFromHere,
}

/// One endpoint's result, in docs/cli.md's JSON shape.
#[derive(Debug, Serialize)]
struct EndpointReport {
    endpoint: String,
    status: Status,
    docker_error: Option<String>,
    /// The earliest notAfter of the chain Docker uses (leaf, intermediates, anchor), RFC
    /// 3339 in UTC; null without a chain.
    expires_at: Option<String>,
    /// Seconds from now to `expires_at`, negative once expired.
    expires_in_seconds: Option<i64>,
    findings: Vec<Finding>,
    chain: Vec<CertSummary>,
    /// The chain Docker uses, for the per-certificate metrics, and its earliest notAfter.
    #[serde(skip)]
    used_chain: Vec<CertSummary>,
    #[serde(skip)]
    earliest_unix: Option<i64>,
    /// Expires within `--expires-within`.
    #[serde(skip)]
    expiring: bool,
}

#[derive(Debug, Serialize)]
struct Report {
    endpoints: Vec<EndpointReport>,
    /// The endpoints given up as not reachable from here (status
    /// `not-reachable-from-here`), spelled as configured.
    not_reachable_from_here: Vec<String>,
}

/// `--cert-dir` given the certs.d directory itself (no `*.crt` in it, only directories):
/// Docker reads `certs.d/<host[:port]>/`, so name the directory for each endpoint, spelled
/// as Docker names it.
#[allow(clippy::disallowed_methods)] // --cert-dir as given on the command line
fn certs_d_parent_hint(dir: &std::path::Path, endpoints: &[Endpoint]) -> Option<String> {
    let entries: Vec<std::fs::DirEntry> = std::fs::read_dir(dir).ok()?.flatten().collect();
    let is_crt = |e: &std::fs::DirEntry| {
        e.path().extension().is_some_and(|x| x == "crt") && e.path().is_file()
    };
    if entries.iter().any(is_crt) || !entries.iter().any(|e| e.path().is_dir()) {
        return None;
    }
    let dirs: Vec<String> = endpoints
        .iter()
        .map(|ep| format!("--cert-dir {}", dir.join(ep.reference_host()).display()))
        .collect();
    Some(format!(
        "--cert-dir {} holds no *.crt, only directories: Docker reads certs.d/<host[:port]>/ — give the endpoint's own directory: {}",
        dir.display(),
        dirs.join(" or ")
    ))
}

/// `check --cert DIR/domain.crt`: DIR, as given (relative to where check runs, as the
/// advice is run from there), when it holds what `cert renew --dir DIR` reads — the
/// certificate and its key, the CA and its key, as `cert` wrote them — so the renewal advice
/// can name it and run as printed.
#[allow(clippy::disallowed_methods)] // --cert as given on the command line
fn renewable_dir(file: &std::path::Path) -> Option<std::path::PathBuf> {
    if file.file_name()? != "domain.crt" {
        return None;
    }
    let dir = match file.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    ["domain.key", "ca.crt", "ca.key"]
        .iter()
        .all(|name| dir.join(name).is_file())
        .then_some(dir)
}

/// Where trust comes from for this run.
enum TrustSource {
    Fixed(Anchors),
    /// Docker's certs.d directory, resolved inside --root.
    PerEndpoint(std::path::PathBuf),
}

pub(crate) fn run(
    config: &Config,
    args: &CheckArgs,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let trust = trust_source(config, args)?;
    let anchors_for = |endpoint: &Endpoint| match &trust {
        TrustSource::Fixed(anchors) => anchors.clone(),
        TrustSource::PerEndpoint(certs_d) => {
            Anchors::with_certs_d(config, certs_d.join(endpoint.reference_host()))
        }
    };
    refuse_and_hint(config, args, printer)?;
    if let (Some(file), None) = (&args.cert, &args.host) {
        return inspect(config.fs(), file, printer);
    }
    let mut reports = match (&args.cert, &args.host) {
        (Some(file), Some(host)) => {
            let endpoint: Endpoint = host.parse().with_context(|| format!("--host {host:?}"))?;
            let chain = crate::x509::pem::read_certificates(config.fs(), file)?;
            let judgement = x509::judge(
                &chain,
                &anchors_for(&endpoint),
                &endpoint,
                &config.other_endpoints(&endpoint),
                SystemTime::now(),
            );
            vec![report(&endpoint, judgement)]
        }
        // The configured endpoints: decided as `endpoint` decides.
        _ if args.endpoints.is_empty() => reach_and_judge(config, &anchors_for),
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
    if matches!(trust, TrustSource::PerEndpoint(_)) {
        carry_context(config, &mut reports);
    }
    let mut report = Report::new(reports, printer);
    if let Some(within) = args.expires_within {
        report.flag_expiring(within);
    }
    if let (Some(file), Some(_)) = (&args.cert, &args.host) {
        if let Some(dir) = renewable_dir(file) {
            report.name_renew_dir(&dir);
        }
    }
    report.print(config.fs(), args, printer)?;
    Ok(report.status())
}

/// The anchors every endpoint is judged with: `--ca-file`, `--cert-dir`, else Docker's own
/// certs.d for each endpoint.
fn trust_source(config: &Config, args: &CheckArgs) -> anyhow::Result<TrustSource> {
    Ok(if let Some(file) = &args.ca_file {
        TrustSource::Fixed(Anchors::from_file(config.fs(), file)?)
    } else if let Some(dir) = &args.cert_dir {
        TrustSource::Fixed(Anchors::from_cert_dir(config.fs(), dir)?)
    } else {
        TrustSource::PerEndpoint(crate::trust::docker_certs_d(config)?)
    })
}

/// Flags that cannot go together, and `--cert-dir` given the certs.d parent.
fn refuse_and_hint(config: &Config, args: &CheckArgs, printer: &Printer) -> anyhow::Result<()> {
    if args.cert.is_some() && !args.endpoints.is_empty() {
        anyhow::bail!(
            "check: give endpoints to connect to, or --cert FILE --host EP to judge a file, not both"
        );
    }
    if let Some(dir) = &args.cert_dir {
        let named: Vec<Endpoint> = match &args.host {
            Some(host) => host.parse().into_iter().collect(),
            None => config.endpoints_or_default(&args.endpoints)?,
        };
        if let Some(hint) = certs_d_parent_hint(dir, &named) {
            printer.warn(hint);
        }
    }
    if let (Some(_), None) = (&args.cert, &args.host) {
        if printer.is_prometheus() || args.expires_within.is_some() || args.textfile.is_some() {
            anyhow::bail!(
                "check --cert FILE without --host shows the file; --expires-within, --textfile and --format prometheus judge a chain for an endpoint — add --host EP"
            );
        }
    }
    Ok(())
}

impl Report {
    /// The reports, and a note on stderr for each endpoint not reachable from here.
    fn new(endpoints: Vec<EndpointReport>, printer: &Printer) -> Report {
        let not_reachable_from_here = endpoints
            .iter()
            .filter(|r| r.status == Status::NotReachableFromHere)
            .map(|r| r.endpoint.clone())
            .collect();
        for r in &endpoints {
            if r.status == Status::NotReachableFromHere {
                if let Some(finding) = r.findings.first() {
                    printer.note(&finding.message);
                }
            }
        }
        Report {
            endpoints,
            not_reachable_from_here,
        }
    }

    /// `--textfile`, then stdout: Prometheus text, JSON or lines for people.
    fn print(&self, fs: Fs<'_>, args: &CheckArgs, printer: &Printer) -> anyhow::Result<()> {
        if let Some(file) = &args.textfile {
            fs.write_atomic(file, self.prometheus().as_bytes(), 0o644)
                .with_context(|| format!("--textfile {}", file.display()))?;
        }
        if printer.is_prometheus() {
            printer.raw(self.prometheus().as_bytes())?;
        } else {
            printer.report(self, |printer| {
                self.endpoints
                    .iter()
                    .try_for_each(|r| print_text(printer, r))
            })?;
        }
        Ok(())
    }
}

impl Report {
    /// 0 when every endpoint is trusted (and none expires within `--expires-within`), else 1.
    /// An endpoint not reachable from here does not count: the other one answered (and
    /// must be trusted).
    fn status(&self) -> ExitStatus {
        if self.endpoints.iter().all(|r| {
            r.status == Status::NotReachableFromHere || (r.status == Status::Trusted && !r.expiring)
        }) {
            ExitStatus::Success
        } else {
            ExitStatus::No
        }
    }

    /// The renewal advice names `dir` (see [`renewable_dir`]) instead of DIR.
    fn name_renew_dir(&mut self, dir: &std::path::Path) {
        for r in &mut self.endpoints {
            for fix in r.findings.iter_mut().filter_map(|f| f.fix.as_mut()) {
                *fix = x509::renew_in(fix, dir);
            }
        }
    }

    /// Mark, with a finding, every endpoint whose chain expires within `within`.
    fn flag_expiring(&mut self, within: std::time::Duration) {
        let limit = i64::try_from(within.as_secs()).unwrap_or(i64::MAX);
        for r in &mut self.endpoints {
            let (Some(at), Some(left)) = (&r.expires_at, r.expires_in_seconds) else {
                continue;
            };
            if left >= limit {
                continue;
            }
            r.expiring = true;
            let when = if left < 0 {
                format!("expired at {at}")
            } else {
                format!("expires at {at}, in {}", human_seconds(left))
            };
            r.findings.push(
                Finding::new(
                    "expires-within",
                    Severity::Error,
                    format!(
                        "the chain Docker uses for {} {when}, within --expires-within {}",
                        r.endpoint,
                        crate::text::duration(within)
                    ),
                )
                .fix(format!(
                    "renew the registry certificate from the same CA: {}, serve it and check again; a CA that expires is rotated with trust --add",
                    x509::renew_advice("")
                )),
            );
        }
    }

    /// The Prometheus text format: per endpoint, up, trusted and the earliest expiry; per
    /// certificate of the chain Docker uses, its notAfter (`promtool check metrics` clean).
    fn prometheus(&self) -> String {
        let mut out = String::new();
        let mut family = |name: &str, help: &str, samples: Vec<(String, String)>| {
            out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} gauge\n"));
            for (labels, value) in samples {
                out.push_str(&format!("{name}{{{labels}}} {value}\n"));
            }
        };
        let ep = |r: &EndpointReport| format!("endpoint=\"{}\"", label_value(&r.endpoint));
        family(
            "dcosreg_endpoint_up",
            "Whether the registry endpoint completed a TLS handshake (1) or not (0).",
            self.endpoints
                .iter()
                .map(|r| {
                    let up = matches!(r.status, Status::Trusted | Status::Untrusted);
                    (ep(r), u8::from(up).to_string())
                })
                .collect(),
        );
        family(
            "dcosreg_endpoint_trusted",
            "Whether Docker on this host trusts the endpoint's certificate chain (1) or not (0).",
            self.endpoints
                .iter()
                .map(|r| (ep(r), u8::from(r.status == Status::Trusted).to_string()))
                .collect(),
        );
        family(
            "dcosreg_endpoint_earliest_expiry_timestamp_seconds",
            "The earliest notAfter of the chain Docker uses for the endpoint, as a Unix time.",
            self.endpoints
                .iter()
                .filter_map(|r| Some((ep(r), r.earliest_unix?.to_string())))
                .collect(),
        );
        family(
            "dcosreg_cert_not_after_timestamp_seconds",
            "The notAfter of each certificate of the chain Docker uses, as a Unix time (position 0 is the registry's own).",
            self.endpoints
                .iter()
                .flat_map(|r| {
                    r.used_chain.iter().enumerate().filter_map(move |(i, c)| {
                        Some((
                            format!(
                                "{},position=\"{i}\",subject=\"{}\",sha256=\"{}\"",
                                ep(r),
                                label_value(&c.subject),
                                label_value(&c.sha256)
                            ),
                            c.not_after_unix?.to_string(),
                        ))
                    })
                })
                .collect(),
        );
        out
    }
}

/// A label value in the Prometheus text format: `\`, `"` and newlines escaped, and (it
/// comes from a certificate) control and bidi characters made visible.
fn label_value(text: &str) -> String {
    crate::text::sanitize_line(text)
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
}

/// "84 days", "5 hours", "12 minutes": one unit, rounded down.
fn human_seconds(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        s if s >= 86_400 => format!("{} days", s / 86_400),
        s if s >= 3_600 => format!("{} hours", s / 3_600),
        s => format!("{} minutes", s / 60),
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
        .map(|(endpoint, captured)| match captured {
            Ok(captured) => judged(config, endpoint, captured, anchors_for),
            Err(_) => unreachable_report(endpoint, "the connection thread failed".into(), None),
        })
        .collect()
}

/// The configured endpoints, probed as `crate::probe::reach` decides: each awaited until
/// the deadline, except one with no TCP answer within the fallback delay while the other
/// answered (outside the cluster), reported as not reachable from here. Judged like
/// [`connect_and_judge`]'s.
fn reach_and_judge(
    config: &Config,
    anchors_for: &dyn Fn(&Endpoint) -> Anchors,
) -> Vec<EndpointReport> {
    let deadline = Instant::now() + config.timeout.value;
    let mut outcomes = crate::probe::reach(config, deadline, crate::tls::capture_chain_with);
    // `192.168.0.1` and `192.168.0.1:443` configured as both: judge it once.
    if outcomes.len() == 2 && outcomes[0].0 == outcomes[1].0 {
        outcomes.truncate(1);
    }
    outcomes
        .into_iter()
        .map(|(endpoint, outcome)| match outcome {
            Outcome::Reached(presented) => judged(config, &endpoint, Ok(presented), anchors_for),
            Outcome::Failed(unreachable) => {
                judged(config, &endpoint, Err(unreachable), anchors_for)
            }
            Outcome::NotReachableFromHere(note) => not_reachable_report(config, &endpoint, note),
        })
        .collect()
}

impl EndpointReport {
    /// An endpoint that presented no chain to judge: its status and why.
    fn unjudged(endpoint: &Endpoint, status: Status, findings: Vec<Finding>) -> EndpointReport {
        EndpointReport {
            endpoint: endpoint.to_string(),
            status,
            docker_error: None,
            expires_at: None,
            expires_in_seconds: None,
            used_chain: Vec::new(),
            earliest_unix: None,
            expiring: false,
            findings,
            chain: Vec::new(),
        }
    }
}

/// A configured endpoint given up by the fallback rule: a note, not a failure.
fn not_reachable_report(config: &Config, endpoint: &Endpoint, note: String) -> EndpointReport {
    // Read-only: no sudo.
    let check = config.fixes().dcosreg_user(&format!(
        "check {}",
        crate::text::shell_quote(&endpoint.to_string())
    ));
    EndpointReport::unjudged(
        endpoint,
        Status::NotReachableFromHere,
        vec![
            Finding::new("not-reachable-from-here", Severity::Info, note).fix(format!(
                "run check on a cluster node, or name the endpoint to wait for it: {check}"
            )),
        ],
    )
}

/// One endpoint's handshake result, judged with its anchors.
fn judged(
    config: &Config,
    endpoint: &Endpoint,
    captured: Result<crate::tls::PresentedChain, crate::tls::Unreachable>,
    anchors_for: &dyn Fn(&Endpoint) -> Anchors,
) -> EndpointReport {
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
        Ok(presented) => report(endpoint, judge(&presented.certs)),
        Err(crate::tls::Unreachable::Impostor {
            go_error, chain, ..
        }) => impostor_report(endpoint, judge(&chain), go_error),
        // The report names the endpoint: the finding says only the cause.
        Err(unreachable) => unreachable_report(endpoint, unreachable.problem(), unreachable.fix()),
    }
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
    let earliest = judgement.earliest_not_after();
    let now = i64::try_from(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    )
    .unwrap_or(i64::MAX);
    EndpointReport {
        expires_at: earliest.and_then(rfc3339_utc),
        expires_in_seconds: earliest.map(|at| at.saturating_sub(now)),
        used_chain: judgement.used_chain,
        earliest_unix: earliest,
        expiring: false,
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

/// `2027-01-01T00:00:00Z`.
fn rfc3339_utc(unix: i64) -> Option<String> {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()?
        .format(&time::format_description::well_known::Rfc3339)
        .ok()
}

/// `problem` and `fix` apart, as crate::tls words them; without a fix, the usual checks.
fn unreachable_report(endpoint: &Endpoint, message: String, fix: Option<String>) -> EndpointReport {
    let fix = fix.unwrap_or_else(|| {
        format!(
            "check that the registry listens on {} and that this host can reach it (firewall, VIP, Marathon-LB), or raise --timeout",
            endpoint.host_port()
        )
    });
    EndpointReport::unjudged(
        endpoint,
        Status::Unreachable,
        vec![Finding {
            code: "unreachable",
            severity: Severity::Error,
            message,
            fix: Some(fix),
        }],
    )
}

/// The `trust` a fix suggests installs under this run's `--root`, for its endpoints, with
/// `sudo` on the real root (Config::fixes): pasted as printed it changes what was checked,
/// never the host's /etc when a staged root was.
fn carry_context(config: &Config, reports: &mut [EndpointReport]) {
    let fixes = config.fixes();
    for r in reports {
        let plain = format!("`docker dcosreg trust {}`", r.endpoint);
        let carried = format!("`{}`", fixes.dcosreg(&format!("trust {}", r.endpoint)));
        for fix in r.findings.iter_mut().filter_map(|f| f.fix.as_mut()) {
            *fix = fix.replace(&plain, &carried);
        }
    }
}

/// `check --cert FILE` without `--host`: what the file holds, as `step certificate inspect`
/// shows it. No verdict (there is no endpoint to judge for) and no network.
#[derive(Serialize)]
struct Inspection {
    file: String,
    certificates: Vec<Inspected>,
}

#[derive(Serialize)]
struct Inspected {
    #[serde(flatten)]
    summary: CertSummary,
    /// "valid", "expired" or "not yet valid", now.
    validity: &'static str,
    /// Whether the next certificate of the file signed this one (Go's CheckSignatureFrom);
    /// absent for the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    signed_by_next: Option<bool>,
}

fn inspect(fs: Fs<'_>, file: &std::path::Path, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let chain = crate::x509::pem::read_certificates(fs, file)?;
    let now = x509::unix_seconds(SystemTime::now());
    let certificates: Vec<Inspected> = chain
        .iter()
        .enumerate()
        .map(|(i, der)| {
            let summary = CertSummary::of_der(der);
            let validity = match (summary.not_before_unix, summary.not_after_unix) {
                (_, Some(after)) if after < now => "expired",
                (Some(before), _) if before > now => "not yet valid",
                _ => "valid",
            };
            Inspected {
                summary,
                validity,
                signed_by_next: chain
                    .get(i + 1)
                    .map(|next| x509::chain_links(&[der.clone(), next.clone()])),
            }
        })
        .collect();
    let report = Inspection {
        file: file.display().to_string(),
        certificates,
    };
    printer.report(&report, |printer| {
        printer.line(format!(
            "{}: {} certificate{}",
            report.file,
            report.certificates.len(),
            if report.certificates.len() == 1 {
                ""
            } else {
                "s"
            }
        ))?;
        for (i, c) in report.certificates.iter().enumerate() {
            let s = &c.summary;
            let names: Vec<&str> = s
                .dns_names
                .iter()
                .chain(&s.ip_addresses)
                .map(String::as_str)
                .collect();
            printer.line(format!("  [{i}] subject: {}", s.subject))?;
            printer.line(format!("      issuer: {}", s.issuer))?;
            printer.line(format!(
                "      validity: {} to {} ({})",
                s.not_before, s.not_after, c.validity
            ))?;
            printer.line(format!(
                "      SAN: {}",
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            ))?;
            printer.line(format!(
                "      {}; {}; CA: {}{}",
                s.key,
                s.signature_algorithm,
                if s.is_ca { "yes" } else { "no" },
                if s.self_signed { "; self-signed" } else { "" }
            ))?;
            if let Some(signed) = c.signed_by_next {
                printer.line(format!(
                    "      signed by [{}]: {}",
                    i + 1,
                    if signed { "yes" } else { "no" }
                ))?;
            }
            printer.line(format!("      SHA-256: {}", s.sha256))?;
        }
        Ok(())
    })?;
    Ok(ExitStatus::Success)
}

fn print_text(printer: &Printer, r: &EndpointReport) -> std::io::Result<()> {
    let head = match (&r.status, &r.docker_error) {
        // Said once, as a note on stderr.
        (Status::NotReachableFromHere, _) => return Ok(()),
        (Status::Trusted, _) => format!("{}: trusted", r.endpoint),
        (Status::Untrusted, Some(err)) => format!("{}: untrusted — {err}", r.endpoint),
        (Status::Untrusted, None) => format!("{}: untrusted", r.endpoint),
        (Status::Unreachable, _) => format!("{}: unreachable", r.endpoint),
    };
    printer.line(head)?;
    if let (Some(at), Some(left), true) = (
        &r.expires_at,
        r.expires_in_seconds,
        r.status != Status::Unreachable,
    ) {
        printer.line(if left < 0 {
            format!("  earliest expiry: {at} (expired)")
        } else {
            format!("  earliest expiry: {at} (in {})", human_seconds(left))
        })?;
    }
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
