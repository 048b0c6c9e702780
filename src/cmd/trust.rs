//! `trust`: obtain the registry CA per endpoint, have the user confirm it, install it into
//! every selected store, and say for each endpoint whether Docker now accepts it.
//!
//! Order matters for "nothing half-written": everything that can fail on input (CA source,
//! confirmation, target list, existing config files that do not parse) fails before the
//! first write; [`crate::trust::install`] then checks that every directory is writable
//! before writing anything.

use serde::Serialize;

use crate::cli::TrustArgs;
use crate::config::Config;
use crate::endpoint::Endpoint;
use crate::exit::{ExitStatus, Stop};
use crate::finding::Finding;
use crate::output::Printer;
use crate::probe::Outcome;
use crate::trust::{
    self, Action, Anchor, Approval, CaSource, EndpointCa, Host, Restart, Step, Target,
};
use crate::x509::CertSummary;

#[derive(Debug, Serialize)]
struct EndpointReport {
    endpoint: String,
    /// `offered`, `unreachable`, or `not-reachable-from-here` (a configured endpoint with
    /// no TCP answer within the fallback delay while the other answered: no CA from it,
    /// and not a failure).
    status: &'static str,
    error: Option<String>,
    certificates: Vec<CertSummary>,
}

#[derive(Debug, Serialize)]
struct StepReport {
    endpoints: Vec<String>,
    target: Target,
    path: String,
    action: Action,
}

#[derive(Debug, Serialize)]
struct VerdictReport {
    endpoint: String,
    target: Target,
    /// The CA file the verdict was judged with.
    path: String,
    trusted: bool,
    /// Go's error text when not trusted (starts at `x509:`), or why it was not judged.
    docker_error: Option<String>,
}

#[derive(Debug, Serialize)]
struct Report {
    dry_run: bool,
    approval: Option<Approval>,
    endpoints: Vec<EndpointReport>,
    targets: Vec<Target>,
    steps: Vec<StepReport>,
    verdicts: Vec<VerdictReport>,
    warnings: Vec<String>,
    /// What the stores' inspections found for these endpoints (also among `warnings`).
    findings: Vec<Finding>,
    notes: Vec<String>,
    /// The running services to restart before every pull and build sees the change;
    /// empty is a promise that none must.
    restart: Vec<Restart>,
    /// The configured endpoints not reachable from here (outside the cluster?): given no
    /// CA from the handshake, or given the CA of `--ca-file`/`--ca-url` without a verdict.
    not_reachable_from_here: Vec<String>,
}

pub(crate) fn run(
    config: &Config,
    args: &TrustArgs,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    refuse_blind_defaults(config, args)?;
    let endpoints = dedup(config.endpoints_or_default(&args.endpoints)?);
    let host = Host::from_env(config);
    // --root must be a directory before anything under it is read (the lock is taken later).
    if !args.dry_run {
        crate::fsutil::open_root(&config.root.value)?;
    }
    let targets = trust::select_targets(&host, &args.target);
    // One deadline for the network work of the whole command: obtaining the CA (download
    // or handshakes) and the verification handshakes afterwards. Only the time a person
    // takes to answer the confirmation, and the local time writing and refreshing the
    // stores (`install`), are added to it.
    let mut deadline = std::time::Instant::now() + config.timeout.value;
    let (found, mut away, mut warnings) = offers(config, args, &endpoints, deadline, printer)?;
    // The plan the answer is given for (reads only): everything offered, as approving
    // takes it all. Input errors in existing files stop the run here, before the question.
    let offered: Vec<Anchor> = found.iter().filter_map(Anchor::from_approved).collect();
    let different = trust::Different::from_flags(args.force, args.add);
    let asked_for = plan(&host, &targets, &offered, different)?;
    let approved = approve(args, &found, printer, &mut deadline)?;
    let anchors: Vec<Anchor> = approved
        .endpoints
        .iter()
        .filter_map(Anchor::from_approved)
        .collect();

    // Another trust/untrust on this root waits: the manifest and shared TOML files are
    // read, planned and written under one lock, taken only once the question is answered,
    // so a person thinking it over never holds up `trust --yes` on the same root.
    let _lock = if args.dry_run {
        None
    } else {
        Some(crate::fsutil::lock_root(&config.root.value)?)
    };
    let (targets, steps) = if approved.how == Approval::Typed {
        // What the answer was given for must still be what happens: re-read under the lock.
        replan(&host, args, (&targets, &asked_for), &anchors, different)?
    } else {
        let steps = plan(&host, &targets, &anchors, different)?;
        (targets, steps)
    };
    let (notes, verdicts) = if args.dry_run {
        (Vec::new(), Vec::new())
    } else {
        let (notes, verdicts, unverified) = install(
            config, args, &host, &targets, &steps, &approved, deadline, printer,
        )?;
        for (_, note) in &unverified {
            printer.note(format!("{note}; its CA is installed, not verified"));
        }
        away.extend(unverified);
        (notes, verdicts)
    };

    // Inspected once the CA is in place: what still stands in its way, not a file that
    // `--force` has just replaced.
    let findings = traps(config, &host, &targets, &anchors);
    for finding in &findings {
        let text = match &finding.fix {
            Some(fix) => format!("{} (fix: {fix})", finding.message),
            None => finding.message.clone(),
        };
        printer.warn(&text);
        warnings.push(text);
    }

    let report = Report {
        dry_run: args.dry_run,
        approval: (!args.dry_run || args.source.fingerprint.is_some()).then_some(approved.how),
        endpoints: endpoint_reports(&found, &away),
        targets: targets.clone(),
        steps: steps.iter().map(StepReport::of).collect(),
        verdicts,
        warnings,
        findings,
        notes,
        restart: restarts(&host, &targets, &steps),
        not_reachable_from_here: away.iter().map(|(ep, _)| ep.to_string()).collect(),
    };
    printer.report(&report, |printer| print_text(printer, &report))?;
    Ok(report.status())
}

/// The configured endpoints' handshakes as `crate::probe::reach` decides them: their CAs,
/// and the endpoints not reachable from here with their note (no CA from them).
fn handshakes(
    config: &Config,
    endpoints: &[Endpoint],
    deadline: std::time::Instant,
) -> (Vec<EndpointCa>, Vec<(Endpoint, String)>) {
    let outcomes = crate::probe::reach(config, deadline, crate::tls::capture_chain_with);
    let mut found = Vec::new();
    let mut away = Vec::new();
    for endpoint in endpoints {
        let Some((_, outcome)) = outcomes.iter().find(|(ep, _)| ep == endpoint) else {
            continue;
        };
        match outcome.clone() {
            Outcome::Reached(chain) => found.push(trust::ca_from_handshake(endpoint, Ok(chain))),
            Outcome::Failed(why) => found.push(trust::ca_from_handshake(endpoint, Err(why))),
            Outcome::NotReachableFromHere(note) => away.push((endpoint.clone(), note)),
        }
    }
    (found, away)
}

/// A configured endpoint not reachable from here, with its note.
type Away = (Endpoint, String);

/// What the endpoints offer (the configured ones decided as `endpoint` decides, when the
/// CA comes from their handshakes), the ones not reachable from here with their note, and
/// the warnings about the offers; the notes and warnings are said.
fn offers(
    config: &Config,
    args: &TrustArgs,
    endpoints: &[Endpoint],
    deadline: std::time::Instant,
    printer: &Printer,
) -> anyhow::Result<(Vec<EndpointCa>, Vec<Away>, Vec<String>)> {
    let named = !args.endpoints.is_empty();
    let source = args.source.ca_source();
    let (found, away) = if !named && source == CaSource::Handshake {
        handshakes(config, endpoints, deadline)
    } else {
        (
            trust::obtain_ca(config.fs(), &source, endpoints, deadline)?,
            Vec::new(),
        )
    };
    for (_, note) in &away {
        printer.note(note);
    }
    let warnings = offer_warnings(&found);
    for warning in &warnings {
        printer.warn(warning);
    }
    Ok((found, away, warnings))
}

/// Under the lock, after a typed answer: the plan again, which must be the one the answer
/// was given for (`asked`: the targets and steps shown before the question).
fn replan(
    host: &Host,
    args: &TrustArgs,
    asked: (&[Target], &[Step]),
    anchors: &[Anchor],
    different: trust::Different,
) -> anyhow::Result<(Vec<Target>, Vec<Step>)> {
    let now = trust::select_targets(host, &args.target);
    let steps = plan(host, &now, anchors, different)?;
    if now != asked.0 || summary(&steps) != summary(asked.1) {
        anyhow::bail!(
            "the stores under {} changed while the question waited for an answer (another trust or untrust ran) — nothing was written; run trust again to see the new plan",
            host.config.root.value.display()
        );
    }
    Ok((now, steps))
}

/// Each endpoint's offer, then those not reachable from here that offered nothing.
fn endpoint_reports(found: &[EndpointCa], away: &[(Endpoint, String)]) -> Vec<EndpointReport> {
    found
        .iter()
        .map(endpoint_report)
        .chain(
            away.iter()
                .filter(|(ep, _)| !found.iter().any(|f| f.endpoint == *ep))
                .map(|(ep, note)| EndpointReport {
                    endpoint: ep.to_string(),
                    status: "not-reachable-from-here",
                    error: Some(note.clone()),
                    certificates: Vec::new(),
                }),
        )
        .collect()
}

impl StepReport {
    fn of(step: &Step) -> StepReport {
        StepReport {
            endpoints: step.endpoints.iter().map(ToString::to_string).collect(),
            target: step.target,
            path: step.path.display().to_string(),
            action: step.action,
        }
    }
}

/// Every selected store's install plan for `anchors` (reads only).
fn plan(
    host: &Host,
    targets: &[Target],
    anchors: &[Anchor],
    different: trust::Different,
) -> anyhow::Result<Vec<Step>> {
    let mut steps: Vec<Step> = Vec::new();
    for target in targets {
        steps.extend(target.check(host, anchors, different)?);
    }
    Ok(steps)
}

/// What a plan does, to compare two of them: each file, what happens to it, and its
/// content afterwards.
fn summary(steps: &[Step]) -> Vec<(Target, &std::path::Path, Action, &[u8])> {
    steps
        .iter()
        .map(|s| (s.target, s.path.as_path(), s.action, s.contents.as_slice()))
        .collect()
}

impl Report {
    /// 1 when an endpoint offered nothing, a different CA file was kept, or an endpoint is
    /// still not trusted; else 0.
    fn status(&self) -> ExitStatus {
        let no = self.endpoints.iter().any(|e| e.status == "unreachable")
            || self.steps.iter().any(|s| s.action == Action::KeptDifferent)
            || self.verdicts.iter().any(|v| !v.trusted);
        if no {
            ExitStatus::No
        } else {
            ExitStatus::Success
        }
    }
}

/// `--yes` trusts whatever answers; at the built-in default endpoints (nothing configured,
/// none named) that may be an office or home gateway on 192.168.0.1, whose certificate would
/// be pinned. Refused in one line before any connection; a CA from a file or a URL, a
/// fingerprint, a typed yes or named endpoints are not blind.
fn refuse_blind_defaults(config: &Config, args: &TrustArgs) -> anyhow::Result<()> {
    let source = &args.source;
    let blind = source.yes
        && source.fingerprint.is_none()
        && source.ca_file.is_none()
        && source.ca_url.is_none();
    if blind && args.endpoints.is_empty() && config.endpoints_are_builtin() {
        return Err(Stop::new(
            ExitStatus::Error,
            format!(
                "trust --yes would pin whatever answers at the built-in default endpoints {} and {}, which nothing configured — nothing installed; set your registry's endpoints (--internal/--external, DCOSREG_INTERNAL/DCOSREG_EXTERNAL or the config file) or name them (docker dcosreg trust EP… --yes)",
                config.internal.value, config.external.value
            ),
        )
        .into());
    }
    Ok(())
}

/// The traps each store's inspection finds for the endpoints being installed: what would
/// make the CA useless once installed (the same findings `doctor` reports).
fn traps(config: &Config, host: &Host, targets: &[Target], anchors: &[Anchor]) -> Vec<Finding> {
    let installing: Vec<Endpoint> = anchors.iter().map(|a| a.endpoint.clone()).collect();
    let fixes = config.fixes();
    targets
        .iter()
        .flat_map(|target| target.inspect(host, &installing, trust::Scope::Traps, &fixes))
        .collect()
}

/// Per endpoint that offered nothing, why (the cause names what to do); per candidate
/// that is odd (a leaf, an expired CA), its warning.
fn offer_warnings(found: &[EndpointCa]) -> Vec<String> {
    let mut warnings = Vec::new();
    for entry in found {
        match &entry.cas {
            Err(why) => warnings.push(format!("{}: cannot get its CA: {why}", entry.endpoint)),
            Ok(cas) => warnings.extend(cas.iter().filter_map(|c| c.warning.clone())),
        }
    }
    warnings
}

/// The anchors to install, confirmed by `--fingerprint`, `--yes` or a typed "y". A dry run
/// writes nothing, so it shows the plan without asking; a given fingerprint is still
/// checked, so a dry run also tells whether the pin matches. Only the time a person takes
/// to answer is added to the deadline.
fn approve(
    args: &TrustArgs,
    found: &[EndpointCa],
    printer: &Printer,
    deadline: &mut std::time::Instant,
) -> Result<trust::Approved, Stop> {
    let refused = |refusal: trust::Refusal| Stop::new(refusal.exit_status(), refusal);
    if args.dry_run && args.source.fingerprint.is_none() {
        trust::in_validity(found).map_err(refused)?;
        let offered: Vec<EndpointCa> = found.iter().filter(|e| e.cas.is_ok()).cloned().collect();
        if offered.is_empty() {
            return Err(refused(trust::Refusal::NothingOffered));
        }
        return Ok(trust::Approved {
            how: Approval::Yes,
            endpoints: offered,
        });
    }
    let asked = std::time::Instant::now();
    let answer = trust::confirm_ca(found, &args.source.confirmation(), printer);
    *deadline += asked.elapsed();
    answer.map_err(refused)
}

/// Write the planned files, refresh the stores that read them, and judge each endpoint
/// with the trust now installed (unless --no-verify): the notes, the verdicts, and the
/// configured endpoints not reachable from here, which have none.
#[allow(clippy::too_many_arguments, clippy::type_complexity)]
fn install(
    config: &Config,
    args: &TrustArgs,
    host: &Host,
    targets: &[Target],
    steps: &[Step],
    approved: &trust::Approved,
    deadline: std::time::Instant,
    printer: &Printer,
) -> anyhow::Result<(Vec<String>, Vec<VerdictReport>, Vec<(Endpoint, String)>)> {
    // The deadline is the network's: the time spent writing and refreshing the stores here
    // (update-ca-certificates rehashes the whole system store, seconds on a busy host) is
    // added to it, as the time a person takes to answer is.
    let local = std::time::Instant::now();
    trust::install(host, steps)?;
    let mut notes = Vec::new();
    for target in targets {
        let written: Vec<std::path::PathBuf> = steps
            .iter()
            .filter(|s| s.target == *target && s.action.writes())
            .map(|s| s.path.clone())
            .collect();
        if !written.is_empty() {
            target.refresh(host, printer, &written)?;
        }
        notes.extend(target.notes(host));
    }
    let deadline = deadline + local.elapsed();
    let (verdicts, away) = if args.no_verify {
        (Vec::new(), Vec::new())
    } else {
        let named = !args.endpoints.is_empty();
        verify(config, named, &approved.endpoints, targets, steps, deadline)
    };
    Ok((notes, verdicts, away))
}

/// Per target: when its files last changed (now, when this run writes), and which running
/// daemons predate that.
fn restarts(host: &Host, targets: &[Target], steps: &[Step]) -> Vec<Restart> {
    let mut out = Vec::new();
    for target in targets {
        let mine: Vec<&Step> = steps.iter().filter(|s| s.target == *target).collect();
        if mine.is_empty() {
            continue;
        }
        let when = if mine.iter().any(|s| s.action.writes()) {
            Some(std::time::SystemTime::now())
        } else {
            // Our files, their directories, and what else the daemon reads there (a client
            // certificate, the other CAs of the system store).
            let mut paths: Vec<std::path::PathBuf> = Vec::new();
            for step in &mine {
                paths.push(step.path.clone());
                if let Some(dir) = step.path.parent() {
                    paths.push(dir.to_path_buf());
                    if let Ok(entries) = host.fs().read_dir(dir) {
                        paths.extend(entries.into_iter().map(|(path, _)| path));
                    }
                }
            }
            paths.sort();
            paths.dedup();
            trust::newest_change(host.fs(), &paths)
        };
        if let Some(when) = when {
            out.extend(target.restarts(host, when));
        }
    }
    trust::merge_restarts(out)
}

/// `restart needed: …` lines (docs/cli.md).
pub(crate) fn print_restarts(printer: &Printer, restarts: &[Restart]) -> std::io::Result<()> {
    if restarts.is_empty() {
        return printer.line("no restart needed");
    }
    for r in restarts {
        printer.line(r.line())?;
    }
    Ok(())
}

fn dedup(endpoints: Vec<Endpoint>) -> Vec<Endpoint> {
    let mut out: Vec<Endpoint> = Vec::new();
    for ep in endpoints {
        if !out.contains(&ep) {
            out.push(ep);
        }
    }
    out
}

fn endpoint_report(entry: &EndpointCa) -> EndpointReport {
    match &entry.cas {
        Ok(cas) => EndpointReport {
            endpoint: entry.endpoint.to_string(),
            status: "offered",
            error: None,
            certificates: cas.iter().map(|c| c.summary.clone()).collect(),
        },
        Err(why) => EndpointReport {
            endpoint: entry.endpoint.to_string(),
            status: "unreachable",
            error: Some(why.clone()),
            certificates: Vec::new(),
        },
    }
}

/// Judge each endpoint's chain with the trust now installed, per target, as the Go
/// client of that store would: Docker with the system pool plus its certs.d directory
/// (x509::Anchors::with_certs_d), the other stores with the system pool plus the CA file
/// they were given. The chain comes from the handshake that provided the CA, or from a new
/// one (for --ca-file / --ca-url): those handshakes run concurrently, within what is left
/// of the command's deadline — for the configured endpoints (none `named`) as
/// `crate::probe::reach` decides, so one not reachable from here gets no verdict and is
/// returned with its note instead.
fn verify(
    config: &Config,
    named: bool,
    approved: &[EndpointCa],
    targets: &[Target],
    steps: &[Step],
    deadline: std::time::Instant,
) -> (Vec<VerdictReport>, Vec<(Endpoint, String)>) {
    let all: Vec<Endpoint> = approved.iter().map(|e| e.endpoint.clone()).collect();
    let mut away = Vec::new();
    let chains: Vec<Result<Vec<_>, String>> =
        if !named && approved.iter().any(|e| e.chain.is_none()) {
            let outcomes = crate::probe::reach(config, deadline, crate::tls::capture_chain_with);
            approved
                .iter()
                .map(|entry| {
                    if let Some(chain) = &entry.chain {
                        return Ok(chain.clone());
                    }
                    match outcomes.iter().find(|(ep, _)| *ep == entry.endpoint) {
                        Some((_, Outcome::Reached(chain))) => Ok(chain.certs.clone()),
                        Some((_, Outcome::Failed(why))) => Err(why.to_string()),
                        Some((_, Outcome::NotReachableFromHere(note))) => {
                            away.push((entry.endpoint.clone(), note.clone()));
                            Err(note.clone())
                        }
                        None => Err(format!("{} is not a configured endpoint", entry.endpoint)),
                    }
                })
                .collect()
        } else {
            std::thread::scope(|scope| {
                let handles: Vec<_> = approved
                    .iter()
                    .map(|entry| {
                        scope.spawn(move || match &entry.chain {
                            Some(chain) => Ok(chain.clone()),
                            None => crate::tls::capture_chain(&entry.endpoint, deadline)
                                .map(|c| c.certs)
                                .map_err(|e| e.to_string()),
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| {
                        h.join()
                            .unwrap_or_else(|_| Err("internal error while connecting".into()))
                    })
                    .collect()
            })
        };
    let mut out = Vec::new();
    for (entry, chain) in approved.iter().zip(chains) {
        let endpoint = &entry.endpoint;
        if away.iter().any(|(ep, _)| ep == endpoint) {
            continue;
        }
        let others: Vec<Endpoint> = all.iter().filter(|e| *e != endpoint).cloned().collect();
        for target in targets {
            let Some(path) = ca_file_for(steps, *target, endpoint) else {
                continue;
            };
            let (trusted, docker_error) = match &chain {
                Err(why) => (false, Some(format!("not verified: {why}"))),
                Ok(chain) => judge(config, *target, &path, chain, endpoint, &others),
            };
            out.push(VerdictReport {
                endpoint: endpoint.to_string(),
                target: *target,
                path: path.display().to_string(),
                trusted,
                docker_error,
            });
        }
    }
    (out, away)
}

/// One store's verdict on a chain: Docker's with the system pool plus its certs.d
/// directory, the others' with the system pool plus the CA file they were given and the CA
/// files beside it.
fn judge(
    config: &Config,
    target: Target,
    path: &std::path::Path,
    chain: &[rustls::pki_types::CertificateDer<'static>],
    endpoint: &Endpoint,
    others: &[Endpoint],
) -> (bool, Option<String>) {
    // Rootless Docker's per-user certs.d is not the system one read here.
    let system_docker = target == Target::Docker
        && config
            .host_path(trust::DOCKER_CERTS_D)
            .is_ok_and(|certs_d| path.starts_with(certs_d));
    let anchors = match path.parent() {
        // Docker reads every *.crt of the endpoint's directory, the one the file is in.
        Some(dir) if system_docker => crate::x509::Anchors::with_certs_d(config, dir.to_owned()),
        _ => {
            // Every CA file beside it counts too: after `--add` the store trusts the old CA and
            // the new one (its hosts.toml or buildkitd.toml lists both, containers read every
            // *.crt of the directory).
            let mut anchors = crate::x509::Anchors::system(config);
            match crate::x509::Anchors::from_file(config.fs(), path) {
                Ok(own) => anchors.certs.extend(own.certs),
                Err(e) => return (false, Some(format!("not verified: {e}"))),
            }
            if let Some(dir) = path.parent() {
                if let Ok(beside) = crate::x509::Anchors::from_cert_dir(config.fs(), dir) {
                    anchors.certs.extend(beside.certs);
                }
            }
            anchors
        }
    };
    let judgement = crate::x509::judge(
        chain,
        &anchors,
        endpoint,
        others,
        std::time::SystemTime::now(),
    );
    (judgement.trusted, judgement.docker_error)
}

/// The CA file a store uses for an endpoint: the one in the directory named as the image
/// reference spells the registry, else the first CA file for it.
fn ca_file_for(steps: &[Step], target: Target, endpoint: &Endpoint) -> Option<std::path::PathBuf> {
    let files: Vec<&Step> = steps
        .iter()
        .filter(|s| s.target == target && s.endpoints.contains(endpoint) && s.edits.is_empty())
        .collect();
    let wanted = endpoint.reference_host();
    files
        .iter()
        .find(|s| {
            s.path
                .parent()
                .and_then(|p| p.file_name())
                .is_some_and(|n| n.to_string_lossy() == wanted)
        })
        .or_else(|| files.first())
        .map(|s| s.path.clone())
}

fn print_text(printer: &Printer, report: &Report) -> std::io::Result<()> {
    if report.dry_run {
        printer.line("Plan (--dry-run: nothing is written):")?;
    }
    let rows: Vec<[String; 4]> = report
        .steps
        .iter()
        .map(|s| {
            let action = match (report.dry_run, s.action) {
                (true, Action::Create) => "would install",
                (true, Action::Update) => "would update",
                (false, Action::Create) => "now installed",
                (false, Action::Update) => "now updated",
                (_, other) => other.describe(),
            };
            [
                s.endpoints.join(", "),
                s.target.to_string(),
                s.path.clone(),
                action.to_string(),
            ]
        })
        .collect();
    printer.table(["ENDPOINT", "TARGET", "PATH", "ACTION"], &rows)?;
    if !report.verdicts.is_empty() {
        printer.line("")?;
        printer.line("Verdict with the trust now installed (as Go would judge it):")?;
        let rows: Vec<[String; 4]> = report
            .verdicts
            .iter()
            .map(|v| {
                let verdict = match (&v.trusted, &v.docker_error) {
                    (true, _) => "trusted".to_string(),
                    (false, Some(e)) => format!("untrusted: {e}"),
                    (false, None) => "untrusted".to_string(),
                };
                [
                    v.endpoint.clone(),
                    v.target.to_string(),
                    v.path.clone(),
                    verdict,
                ]
            })
            .collect();
        printer.table(["ENDPOINT", "TARGET", "PATH", "VERDICT"], &rows)?;
    }
    for note in &report.notes {
        printer.line(format!("note: {note}"))?;
    }
    print_restarts(printer, &report.restart)?;
    Ok(())
}
