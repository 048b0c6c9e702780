//! Which registry endpoint answers from this machine, decided within one deadline.
//!
//! A CI job does not know whether it runs inside the cluster (the VIP answers) or
//! outside (only Marathon-LB does). Both endpoints are probed concurrently — TLS
//! handshake (trust recorded, not required) then `GET /v2/` expecting 200 or 401 — and
//! the decision follows issue 7, with the fallback of Happy Eyeballs (RFC 8305 §5: a
//! preferred address keeps its preference only for a short "Connection Attempt Delay"):
//! - the preferred endpoint wins as soon as it answers, without waiting for the other;
//! - if it fails fast (refused, reset, plain HTTP…), the other wins as soon as it answers;
//! - if the other has answered and the preferred one has not completed its TCP connect
//!   within `config.fallback_delay` (250 ms by default), the other wins: outside the
//!   cluster the VIP's packets are dropped, and waiting out the deadline gains nothing;
//! - if it connected but hangs in TLS or HTTP, we wait for it until the deadline, then
//!   take the other if it answered (a slow registry is still the preferred one);
//! - nothing answered: no endpoint.
//!
//! Probe threads are never joined: one stuck in a tarpit or in `getaddrinfo` must not
//! hold the caller past the deadline (the process may exit with it still running).

use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;

use crate::config::Config;
use crate::endpoint::Endpoint;
use crate::tls::http::{probe_registry, RegistryProbe};
use crate::tls::{Progress, Unreachable};
use crate::x509::{self, Anchors};

/// Which configured endpoint a report is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Role {
    Internal,
    External,
}

/// What one endpoint turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Status {
    /// TLS, then 200 or 401 on `GET /v2/`.
    Registry,
    /// TLS works, but `GET /v2/` gave another status or no HTTP answer.
    NotRegistry,
    /// No TLS session (refused, timed out, plain HTTP, …): see `error`.
    Unreachable,
    /// Still probing when the decision was made; not waited for (the preferred endpoint
    /// answered, or this preferred one had not connected within the fallback delay).
    Pending,
}

/// One endpoint's probe result, as `endpoint --format json` prints it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Report {
    pub(crate) role: Role,
    /// Spelled as configured.
    pub(crate) endpoint: String,
    pub(crate) status: Status,
    /// From the start (DNS included) to the `GET /v2/` status line; null without TLS.
    pub(crate) latency_ms: Option<f64>,
    /// From the start (DNS included) to the end of the TLS handshake; null without TLS.
    pub(crate) handshake_ms: Option<f64>,
    pub(crate) http_status: Option<u16>,
    /// Whether Docker on this host would trust the presented chain (system roots plus
    /// `ROOT/etc/docker/certs.d/<endpoint>/`, judged by `crate::x509`); null without a
    /// chain, or when the verdict was not ready by the deadline.
    pub(crate) trusted: Option<bool>,
    /// A short code for scripts: `refused`, `timeout`, `plain-http`, `http-status`, …
    pub(crate) error_code: Option<&'static str>,
    pub(crate) error: Option<String>,
    /// SHA-256 of each presented certificate, leaf first (as `trust --fingerprint` takes it).
    pub(crate) chain_sha256: Vec<String>,
}

impl Report {
    pub(crate) fn answered(&self) -> bool {
        self.status == Status::Registry
    }
}

/// Which rule of [`choose`] made the decision, as `endpoint --format json` prints it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum DecidedBy {
    /// The preferred endpoint answered as a registry.
    Preferred,
    /// The preferred endpoint failed before the deadline (refused, reset, not a
    /// registry…); the other is chosen if it answered.
    PreferredFailed,
    /// The other endpoint answered and the preferred one had no TCP connection within
    /// the fallback delay.
    FallbackDelay,
    /// The deadline passed with the preferred endpoint unfinished; the other is chosen
    /// if it answered.
    Deadline,
}

/// Which endpoint [`choose`] takes when both answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Prefer {
    Internal,
    External,
}

/// The outcome of [`choose`].
#[derive(Debug, Clone)]
pub(crate) struct Decision {
    /// The endpoint to use, spelled as configured; `None` when nothing answered in time.
    pub(crate) chosen: Option<(Role, Endpoint)>,
    /// Internal first, then external.
    pub(crate) reports: Vec<Report>,
    /// Time the decision took.
    pub(crate) elapsed: Duration,
    pub(crate) decided_by: DecidedBy,
}

/// Probe both configured endpoints and decide which to use, by `config.timeout`.
pub(crate) fn choose(config: &Config, prefer: Prefer) -> Decision {
    let start = Instant::now();
    let deadline = start + config.timeout.value;
    let endpoints = [
        (Role::Internal, config.internal.value.clone()),
        (Role::External, config.external.value.clone()),
    ];
    // Go's SystemCertPool, read once for both endpoints while the network round trips
    // run; a probe waits for it only when the certs.d CA alone does not verify the chain.
    let system_pool = Arc::new(OnceLock::new());
    {
        let (pool, config) = (system_pool.clone(), config.clone());
        let _ = std::thread::Builder::new()
            .name("system-roots".into())
            .spawn(move || pool.get_or_init(|| Anchors::system(&config)).len());
    }
    let (tx, rx) = mpsc::channel();
    let mut got: [Option<Report>; 2] = [None, None];
    // Per endpoint: None = no verdict received yet.
    let mut verdicts: [Option<Option<bool>>; 2] = [None, None];
    let progress: [Progress; 2] = Default::default();
    for (index, (role, endpoint)) in endpoints.iter().cloned().enumerate() {
        let probe = Probe {
            index,
            role,
            endpoint,
            other: endpoints[1 - index].1.clone(),
            config: config.clone(),
            deadline,
            progress: progress[index].clone(),
            system_pool: system_pool.clone(),
            tx: tx.clone(),
        };
        let spawned = std::thread::Builder::new()
            .name(format!("probe-{index}"))
            .spawn(move || probe.run());
        if let Err(e) = spawned {
            got[index] = Some(failed(role, &endpoints[index].1, "thread", e.to_string()));
        }
    }
    drop(tx);

    let (preferred, other) = match prefer {
        Prefer::Internal => (0, 1),
        Prefer::External => (1, 0),
    };
    let fallback_at = start + config.fallback_delay.value;
    let (winner, decided_by) = loop {
        let other_answered = got[other].as_ref().is_some_and(Report::answered);
        match &got[preferred] {
            Some(p) if p.answered() => break (Some(preferred), DecidedBy::Preferred),
            Some(p) if got[other].is_some() => {
                // Its own socket timeout may fire a tick before our deadline wake.
                let by = if p.error_code == Some("timeout") {
                    DecidedBy::Deadline
                } else {
                    DecidedBy::PreferredFailed
                };
                break (other_answered.then_some(other), by);
            }
            // RFC 8305 §5: the preferred endpoint had its head start and not even its
            // TCP connect completed; a connected one is awaited (slow TLS is still there).
            None if other_answered
                && Instant::now() >= fallback_at
                && !progress[preferred].connected() =>
            {
                got[preferred] = Some(no_tcp_answer(
                    endpoints[preferred].0,
                    &endpoints[preferred].1,
                    progress[preferred].phase(),
                    config.fallback_delay.value,
                ));
                break (Some(other), DecidedBy::FallbackDelay);
            }
            _ => {}
        }
        // The main thread owns the deadline: a futex wait is precise where the probes'
        // socket timeouts may fire a few scheduler ticks late. Once the other endpoint
        // has answered, it also wakes at the end of the fallback delay.
        let now = Instant::now();
        let wake = if other_answered && now < fallback_at {
            fallback_at.min(deadline)
        } else {
            deadline
        };
        match rx.recv_timeout(wake.saturating_duration_since(now)) {
            Ok(message) => message.record(&mut got, &mut verdicts),
            Err(RecvTimeoutError::Timeout) if Instant::now() < deadline => {}
            // Deadline passed (or every probe is gone): the other, if it answered.
            Err(_) => {
                let other_answered = got[other].as_ref().is_some_and(Report::answered);
                break (other_answered.then_some(other), DecidedBy::Deadline);
            }
        }
    };
    let timed_out = Instant::now() >= deadline;
    // The trust verdicts of the endpoints that presented a chain, within the deadline
    // (a report that arrives meanwhile is kept: it only adds information).
    loop {
        let missing = (0..2).any(|i| {
            got[i].as_ref().is_some_and(|r| !r.chain_sha256.is_empty()) && verdicts[i].is_none()
        });
        if !missing {
            break;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        let message = if left.is_zero() {
            rx.try_recv().ok()
        } else {
            rx.recv_timeout(left).ok()
        };
        match message {
            Some(message) => message.record(&mut got, &mut verdicts),
            None => break,
        }
    }
    let reports = endpoints
        .iter()
        .zip(got)
        .zip(progress.iter().zip(verdicts))
        .map(
            |(((role, endpoint), report), (progress, verdict))| match report {
                Some(report) if report.status == Status::Pending => report,
                Some(report) => Report {
                    trusted: verdict.flatten(),
                    ..report
                },
                None => {
                    let phase = timed_out.then(|| progress.phase());
                    unfinished(*role, endpoint, phase, config.timeout.value)
                }
            },
        )
        .collect();
    Decision {
        chosen: winner.map(|index| endpoints[index].clone()),
        reports,
        elapsed: start.elapsed(),
        decided_by,
    }
}

/// What a probe thread tells the deciding thread: first whether the endpoint answered
/// (all the decision needs), then, if it presented a chain, the trust verdict.
enum Message {
    Reached(usize, Report),
    Trusted(usize, Option<bool>),
}

impl Message {
    /// A report never replaces one already there: a probe reports once, and the
    /// fallback's `no-tcp-answer` report stays what the decision saw.
    fn record(self, got: &mut [Option<Report>; 2], verdicts: &mut [Option<Option<bool>>; 2]) {
        match self {
            Message::Reached(index, report) => {
                got[index].get_or_insert(report);
            }
            Message::Trusted(index, verdict) => verdicts[index] = Some(verdict),
        }
    }
}

/// One endpoint's probe, run on its own thread.
struct Probe {
    index: usize,
    role: Role,
    endpoint: Endpoint,
    /// The other configured endpoint (for `x509::judge`'s name findings).
    other: Endpoint,
    config: Config,
    deadline: Instant,
    progress: Progress,
    system_pool: Arc<OnceLock<Anchors>>,
    tx: mpsc::Sender<Message>,
}

impl Probe {
    fn run(self) {
        let probe = match probe_registry(&self.endpoint, self.deadline, &self.progress) {
            Ok(probe) => probe,
            Err(err) => {
                let report = Report {
                    error_code: Some(err.code()),
                    ..failed(self.role, &self.endpoint, "", err.to_string())
                };
                let _ = self.tx.send(Message::Reached(self.index, report));
                return;
            }
        };
        let report = from_probe(self.role, &self.endpoint, &probe);
        if self.tx.send(Message::Reached(self.index, report)).is_err() {
            return; // nobody listens any more
        }
        let verdict = self.trusted(&probe);
        let _ = self.tx.send(Message::Trusted(self.index, Some(verdict)));
    }

    /// Trust is recorded, not required: would Docker on this host accept this chain?
    /// The pool is what Docker uses for the endpoint: the system roots plus
    /// `ROOT/etc/docker/certs.d/<reference host>/*.crt` (`trust::docker_endpoint_dir`: rootless
    /// Docker's per-user one for its user), as `Anchors::with_certs_d` reads it.
    /// The certs.d CA alone is tried first: more roots never turn a verified chain into
    /// a failure, and it spares reading the system store in the usual case
    /// where `trust` has installed the CA.
    fn trusted(&self, probe: &RegistryProbe) -> bool {
        let judge = |anchors: &Anchors| {
            x509::judge(
                &probe.chain.certs,
                anchors,
                &self.endpoint,
                std::slice::from_ref(&self.other),
                SystemTime::now(),
            )
            .trusted
        };
        // A certs.d that cannot be resolved inside --root counts for nothing.
        let certs_d = crate::trust::docker_endpoint_dir(&self.config, &self.endpoint)
            .ok()
            .and_then(|dir| Anchors::from_cert_dir(&dir).ok());
        if certs_d.as_ref().is_some_and(|a| !a.is_empty() && judge(a)) {
            return true;
        }
        let mut anchors = self
            .system_pool
            .get_or_init(|| Anchors::system(&self.config))
            .clone();
        anchors
            .certs
            .extend(certs_d.map(|a| a.certs).unwrap_or_default());
        judge(&anchors)
    }
}

fn from_probe(role: Role, endpoint: &Endpoint, probe: &RegistryProbe) -> Report {
    let (status, error_code, error) = match &probe.http_status {
        Ok(200 | 401) => (Status::Registry, None, None),
        Ok(code) => (
            Status::NotRegistry,
            Some("http-status"),
            Some(format!(
                "{endpoint}: GET /v2/ answered {code}, not 200 or 401 — this port serves TLS but not a Docker registry (wrong port, or a proxy in front)"
            )),
        ),
        Err(err) => (Status::NotRegistry, Some(err.code()), Some(err.to_string())),
    };
    Report {
        role,
        endpoint: endpoint.to_string(),
        status,
        latency_ms: Some(millis(probe.elapsed)),
        handshake_ms: Some(millis(probe.chain.elapsed)),
        http_status: probe.http_status.as_ref().ok().copied(),
        trusted: None,
        error_code,
        error,
        chain_sha256: probe
            .chain
            .certs
            .iter()
            .map(|cert| crate::x509::pem::sha256_fingerprint(cert))
            .collect(),
    }
}

fn failed(role: Role, endpoint: &Endpoint, code: &'static str, error: String) -> Report {
    Report {
        role,
        endpoint: endpoint.to_string(),
        status: Status::Unreachable,
        latency_ms: None,
        handshake_ms: None,
        http_status: None,
        trusted: None,
        error_code: (!code.is_empty()).then_some(code),
        error: Some(error),
        chain_sha256: Vec::new(),
    }
}

/// A probe that had not reported when we stopped waiting: pending if we stopped
/// because another endpoint won, timed out in `phase` if the deadline passed.
fn unfinished(
    role: Role,
    endpoint: &Endpoint,
    phase: Option<&'static str>,
    timeout: Duration,
) -> Report {
    let Some(phase) = phase else {
        return Report {
            status: Status::Pending,
            error: None,
            ..failed(role, endpoint, "", String::new())
        };
    };
    let err = Unreachable::Timeout {
        endpoint: endpoint.to_string(),
        phase,
        after: timeout,
    };
    Report {
        error_code: Some(err.code()),
        ..failed(role, endpoint, "", err.to_string())
    }
}

/// The preferred endpoint given up by the fallback delay: still pending (it may yet
/// answer), with the reason for stderr and scripts.
fn no_tcp_answer(role: Role, endpoint: &Endpoint, phase: &str, delay: Duration) -> Report {
    let what = if phase == "DNS lookup" {
        "no DNS answer"
    } else {
        "no TCP answer"
    };
    Report {
        status: Status::Pending,
        ..failed(
            role,
            endpoint,
            "no-tcp-answer",
            format!(
                "{endpoint}: {what} within {} ms while the other endpoint answered as a registry — outside the cluster the VIP's packets are dropped; raise --fallback-delay if this endpoint is only slow to connect",
                delay.as_millis()
            ),
        )
    }
}

/// Milliseconds with 0.1 ms resolution, for JSON.
fn millis(d: Duration) -> f64 {
    (d.as_secs_f64() * 10_000.0).round() / 10.0
}
