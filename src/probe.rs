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
//! [`choose`] is that decision. [`reach`] is the same race for the commands that act on
//! both endpoints (`check`, `trust`, `login`, `doctor`; issue 31): each endpoint is
//! awaited until it finishes or the deadline passes, except that the fallback rule above
//! gives up either one — never one named on the command line — once the other answered:
//! "not reachable from here (outside the cluster?)", a note rather than a failure, so a
//! laptop outside the cluster gets its answer after the fallback delay, not the deadline.
//!
//! Probe threads are never joined: one stuck in a tarpit or in `getaddrinfo` must not
//! hold the caller past the deadline (the process may exit with it still running).

use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use rustls_pki_types::CertificateDer;
use serde::Serialize;

use crate::config::{Config, Source};
use crate::endpoint::Endpoint;
use crate::tls::http::{probe_registry, RegistryProbe};
use crate::tls::{Phase, PresentedChain, Progress, Unreachable};
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
    let verdicts = Verdicts::start(config);
    let mut race = Race::start(
        config,
        start + config.timeout.value,
        probe_registry,
        Some(verdicts),
        // The preferred endpoint may be given up, whatever its source (issue 19).
        [true, true],
    );
    let (preferred, other) = match prefer {
        Prefer::Internal => (0, 1),
        Prefer::External => (1, 0),
    };
    let (winner, decided_by) = loop {
        let other_answered = race.answered(other);
        if race.answered(preferred) {
            break (Some(preferred), DecidedBy::Preferred);
        }
        if let (Some(p), Some(_)) = (&race.got[preferred], &race.got[other]) {
            // Its own socket timeout may fire a tick before our deadline wake.
            let by = if error_code(p) == Some("timeout") {
                DecidedBy::Deadline
            } else {
                DecidedBy::PreferredFailed
            };
            break (other_answered.then_some(other), by);
        }
        // RFC 8305 §5: the preferred endpoint had its head start and not even its TCP
        // connect completed; a connected one is awaited (slow TLS is still there).
        if race.give_up_if_unconnected(preferred) {
            break (Some(other), DecidedBy::FallbackDelay);
        }
        if !race.wait() {
            // Deadline passed (or every probe is gone): the other, if it answered.
            break (race.answered(other).then_some(other), DecidedBy::Deadline);
        }
    };
    let timed_out = Instant::now() >= race.deadline;
    race.await_verdicts();
    let reports = (0..2)
        .map(|index| {
            let (role, endpoint) = &race.endpoints[index];
            if let Some(phase) = race.given_up[index] {
                return no_tcp_answer(*role, endpoint, phase, config.fallback_delay.value);
            }
            match &race.got[index] {
                Some(Ok(probe)) => Report {
                    trusted: race.verdicts[index].flatten(),
                    ..from_probe(*role, endpoint, probe)
                },
                Some(Err(err)) => Report {
                    error_code: Some(err.code()),
                    ..failed(*role, endpoint, "", err.to_string())
                },
                None => {
                    let phase = timed_out.then(|| race.progress[index].phase());
                    unfinished(*role, endpoint, phase, config.timeout.value)
                }
            }
        })
        .collect();
    Decision {
        chosen: winner.map(|index| race.endpoints[index].clone()),
        reports,
        elapsed: start.elapsed(),
        decided_by,
    }
}

/// The short code a finished probe's report carries (`timeout`, `http-status`, …).
fn error_code(probe: &Result<RegistryProbe, Unreachable>) -> Option<&'static str> {
    match probe {
        Ok(probe) => match &probe.http_status {
            Ok(200 | 401) => None,
            Ok(_) => Some("http-status"),
            Err(err) => Some(err.code()),
        },
        Err(err) => Some(err.code()),
    }
}

/// What a probe brings back, and whether that counts as the endpoint answering: a
/// registry's `/v2/` status for `endpoint` and `doctor`, the TLS session alone for the
/// commands that only need the presented chain (`check`, `trust`) or that connect again
/// themselves (`login`).
pub(crate) trait Reached: Clone + Send + 'static {
    /// The chain the endpoint presented.
    fn chain(&self) -> &PresentedChain;
    /// Whether this endpoint answered, for the fallback rule.
    fn answered(&self) -> bool;
}

impl Reached for RegistryProbe {
    fn chain(&self) -> &PresentedChain {
        &self.chain
    }
    fn answered(&self) -> bool {
        self.is_registry()
    }
}

impl Reached for PresentedChain {
    fn chain(&self) -> &PresentedChain {
        self
    }
    /// A TLS session whose handshake signature verified (an impostor is an error).
    fn answered(&self) -> bool {
        true
    }
}

/// One endpoint's probe: DNS, connect, TLS and what follows, before the deadline, telling
/// the [`Progress`] which step is under way.
pub(crate) type ProbeFn<T> = fn(&Endpoint, Instant, &Progress) -> Result<T, Unreachable>;

/// What [`reach`] found for one configured endpoint.
#[derive(Debug, Clone)]
pub(crate) enum Outcome<T> {
    /// A TLS session (and whatever the probe asked after it).
    Reached(T),
    /// Refused, reset, not TLS, an impostor…, or the deadline passed first.
    Failed(Unreachable),
    /// Not reachable from here (issue 31): the other endpoint answered and this one had
    /// not even completed its TCP connect within the fallback delay — outside the cluster
    /// the VIP's packets are dropped. A note, not a failure. The note, naming the endpoint.
    NotReachableFromHere(String),
}

/// Probe both configured endpoints concurrently, for the commands that act on both
/// (`check`, `trust`, `login`, `doctor`) when none is named on their command line, and
/// wait for each to finish before `deadline` — except that, as [`choose`] does for the
/// preferred endpoint (RFC 8305 §5), an endpoint that has not completed its TCP connect
/// by the end of the fallback delay while the other has answered is given up:
/// [`Outcome::NotReachableFromHere`]. An endpoint set by `--internal`/`--external` on this
/// command line is never given up: it was named, and keeps the strict deadline. Internal
/// first, then external.
pub(crate) fn reach<T: Reached>(
    config: &Config,
    deadline: Instant,
    probe: ProbeFn<T>,
) -> Vec<(Endpoint, Outcome<T>)> {
    let may_give_up = [&config.internal, &config.external].map(|s| s.source != Source::Flag);
    let mut race = Race::start(config, deadline, probe, None, may_give_up);
    loop {
        for index in 0..2 {
            race.give_up_if_unconnected(index);
        }
        if (0..2).all(|index| race.finished(index)) || !race.wait() {
            break;
        }
    }
    let timed_out = Instant::now() >= race.deadline;
    let Race {
        endpoints,
        got,
        given_up,
        progress,
        ..
    } = race;
    let others = [endpoints[1].1.clone(), endpoints[0].1.clone()];
    endpoints
        .into_iter()
        .zip(got)
        .zip(given_up.into_iter().zip(progress).zip(others))
        .map(|(((_, endpoint), got), ((given_up, progress), other))| {
            let outcome = match (given_up, got) {
                (Some(phase), _) => Outcome::NotReachableFromHere(not_reachable_note(
                    &endpoint,
                    &other,
                    phase,
                    config.fallback_delay.value,
                )),
                (None, Some(Ok(reached))) => Outcome::Reached(reached),
                (None, Some(Err(err))) => Outcome::Failed(err),
                (None, None) => Outcome::Failed(Unreachable::Timeout {
                    endpoint: endpoint.to_string(),
                    phase: if timed_out {
                        progress.phase()
                    } else {
                        Phase::Start
                    },
                    after: config.timeout.value,
                }),
            };
            (endpoint, outcome)
        })
        .collect()
}

/// `ENDPOINT: not reachable from here (outside the cluster?) — …`: the one wording of
/// issue 31's note, on stderr and in JSON.
fn not_reachable_note(
    endpoint: &Endpoint,
    other: &Endpoint,
    phase: Phase,
    delay: Duration,
) -> String {
    let what = if phase == Phase::Dns {
        "no DNS answer"
    } else {
        "no TCP answer"
    };
    format!(
        "{endpoint}: not reachable from here (outside the cluster?) — {what} within {} ms while {other} answered; not counted as a failure (name it on the command line to wait the whole --timeout for it, or raise --fallback-delay if it is only slow to connect)",
        delay.as_millis()
    )
}

/// Both configured endpoints probed at once, and what each has told so far: the one
/// decision loop's state, shared by [`choose`] and [`reach`].
struct Race<T> {
    /// Internal, then external.
    endpoints: [(Role, Endpoint); 2],
    deadline: Instant,
    /// The end of the fallback delay (RFC 8305's Connection Attempt Delay).
    fallback_at: Instant,
    /// Per endpoint: whether the fallback rule may give it up.
    may_give_up: [bool; 2],
    rx: mpsc::Receiver<Message<T>>,
    got: [Option<Result<T, Unreachable>>; 2],
    /// Given up by the fallback rule, with the step its attempt was in.
    given_up: [Option<Phase>; 2],
    /// Per endpoint: None = no trust verdict received yet.
    verdicts: [Option<Option<bool>>; 2],
    progress: [Progress; 2],
}

impl<T: Reached> Race<T> {
    fn start(
        config: &Config,
        deadline: Instant,
        probe: ProbeFn<T>,
        verdicts: Option<Verdicts>,
        may_give_up: [bool; 2],
    ) -> Race<T> {
        let start = Instant::now();
        let endpoints = [
            (Role::Internal, config.internal.value.clone()),
            (Role::External, config.external.value.clone()),
        ];
        let (tx, rx) = mpsc::channel();
        let mut got: [Option<Result<T, Unreachable>>; 2] = [None, None];
        let progress: [Progress; 2] = Default::default();
        for (index, (_, endpoint)) in endpoints.iter().cloned().enumerate() {
            let thread = ProbeThread {
                index,
                endpoint,
                other: endpoints[1 - index].1.clone(),
                deadline,
                progress: progress[index].clone(),
                probe,
                verdicts: verdicts.clone(),
                tx: tx.clone(),
            };
            let spawned = std::thread::Builder::new()
                .name(format!("probe-{index}"))
                .spawn(move || thread.run());
            if let Err(e) = spawned {
                got[index] = Some(Err(Unreachable::Network {
                    endpoint: endpoints[index].1.to_string(),
                    reason: format!("cannot start a thread to probe it: {e}"),
                }));
            }
        }
        Race {
            endpoints,
            deadline,
            fallback_at: start + config.fallback_delay.value,
            may_give_up,
            rx,
            got,
            given_up: [None, None],
            verdicts: [None, None],
            progress,
        }
    }

    fn answered(&self, index: usize) -> bool {
        matches!(&self.got[index], Some(Ok(reached)) if reached.answered())
    }

    /// Reported, or given up.
    fn finished(&self, index: usize) -> bool {
        self.got[index].is_some() || self.given_up[index].is_some()
    }

    /// RFC 8305 §5, the fallback rule: once the other endpoint has answered and the
    /// fallback delay is over, an endpoint whose TCP connect has not completed is given
    /// up (outside the cluster the VIP's packets are dropped, and waiting out the
    /// deadline gains nothing). One that connected is awaited: slow TLS is still there.
    fn give_up_if_unconnected(&mut self, index: usize) -> bool {
        let give_up = self.may_give_up[index]
            && !self.finished(index)
            && self.answered(1 - index)
            && Instant::now() >= self.fallback_at
            && !self.progress[index].connected();
        if give_up {
            self.given_up[index] = Some(self.progress[index].phase());
        }
        give_up
    }

    /// Wait for the next message and record it. The main thread owns the deadline: a
    /// futex wait is precise where the probes' socket timeouts may fire a few scheduler
    /// ticks late. Once an endpoint has answered, it also wakes at the end of the fallback
    /// delay. False when the deadline has passed (or every probe is gone).
    fn wait(&mut self) -> bool {
        let now = Instant::now();
        let answered = (0..2).any(|index| self.answered(index));
        let wake = if answered && now < self.fallback_at {
            self.fallback_at.min(self.deadline)
        } else {
            self.deadline
        };
        match self.rx.recv_timeout(wake.saturating_duration_since(now)) {
            Ok(message) => {
                self.record(message);
                true
            }
            Err(RecvTimeoutError::Timeout) => Instant::now() < self.deadline,
            Err(RecvTimeoutError::Disconnected) => false,
        }
    }

    /// A result never replaces one already there (a probe reports once), and an endpoint
    /// given up stays what the decision saw.
    fn record(&mut self, message: Message<T>) {
        match message {
            Message::Reached(index, result) => {
                if self.given_up[index].is_none() {
                    self.got[index].get_or_insert(result);
                }
            }
            Message::Trusted(index, verdict) => self.verdicts[index] = Some(verdict),
        }
    }

    /// The trust verdicts of the endpoints that presented a chain, within the deadline (a
    /// result that arrives meanwhile is kept: it only adds information).
    fn await_verdicts(&mut self) {
        loop {
            let missing = (0..2).any(|index| {
                matches!(&self.got[index], Some(Ok(r)) if !r.chain().certs.is_empty())
                    && self.verdicts[index].is_none()
            });
            if !missing {
                break;
            }
            let left = self.deadline.saturating_duration_since(Instant::now());
            let message = if left.is_zero() {
                self.rx.try_recv().ok()
            } else {
                self.rx.recv_timeout(left).ok()
            };
            match message {
                Some(message) => self.record(message),
                None => break,
            }
        }
    }
}

/// What a probe thread tells the deciding thread: first how the probe ended (all the
/// decision needs), then, if [`Verdicts`] were asked for and it presented a chain, the
/// trust verdict.
enum Message<T> {
    Reached(usize, Result<T, Unreachable>),
    Trusted(usize, Option<bool>),
}

/// One endpoint's probe, run on its own thread. Never joined: one stuck in a tarpit or
/// in `getaddrinfo` must not hold the caller past the deadline.
struct ProbeThread<T> {
    index: usize,
    endpoint: Endpoint,
    /// The other configured endpoint (for `x509::judge`'s name findings).
    other: Endpoint,
    deadline: Instant,
    progress: Progress,
    probe: ProbeFn<T>,
    verdicts: Option<Verdicts>,
    tx: mpsc::Sender<Message<T>>,
}

impl<T: Reached> ProbeThread<T> {
    fn run(self) {
        let result = (self.probe)(&self.endpoint, self.deadline, &self.progress);
        let chain = match (&result, &self.verdicts) {
            (Ok(reached), Some(_)) => Some(reached.chain().certs.clone()),
            _ => None,
        };
        if self.tx.send(Message::Reached(self.index, result)).is_err() {
            return; // nobody listens any more
        }
        if let (Some(chain), Some(verdicts)) = (chain, &self.verdicts) {
            let verdict = verdicts.trusted(&self.endpoint, &self.other, &chain);
            let _ = self.tx.send(Message::Trusted(self.index, Some(verdict)));
        }
    }
}

/// Whether Docker on this host would trust a presented chain, for `endpoint`'s reports.
#[derive(Clone)]
struct Verdicts {
    config: Config,
    system_pool: Arc<OnceLock<Anchors>>,
}

impl Verdicts {
    /// Go's SystemCertPool is read once for both endpoints while the network round trips
    /// run; a probe waits for it only when the certs.d CA alone does not verify the chain.
    fn start(config: &Config) -> Verdicts {
        let system_pool = Arc::new(OnceLock::new());
        {
            let (pool, config) = (system_pool.clone(), config.clone());
            let _ = std::thread::Builder::new()
                .name("system-roots".into())
                .spawn(move || pool.get_or_init(|| Anchors::system(&config)).len());
        }
        Verdicts {
            config: config.clone(),
            system_pool,
        }
    }

    /// Trust is recorded, not required: would Docker on this host accept this chain?
    /// The pool is what Docker uses for the endpoint: the system roots plus
    /// `ROOT/etc/docker/certs.d/<reference host>/*.crt` (`trust::docker_endpoint_dir`: rootless
    /// Docker's per-user one for its user), as `Anchors::with_certs_d` reads it.
    /// The certs.d CA alone is tried first: more roots never turn a verified chain into
    /// a failure, and it spares reading the system store in the usual case
    /// where `trust` has installed the CA.
    fn trusted(
        &self,
        endpoint: &Endpoint,
        other: &Endpoint,
        chain: &[CertificateDer<'static>],
    ) -> bool {
        let judge = |anchors: &Anchors| {
            x509::judge(
                chain,
                anchors,
                endpoint,
                std::slice::from_ref(other),
                SystemTime::now(),
            )
            .trusted
        };
        // A certs.d that cannot be resolved inside --root counts for nothing.
        let certs_d = crate::trust::docker_endpoint_dir(&self.config, endpoint)
            .ok()
            .and_then(|dir| Anchors::from_cert_dir(self.config.fs(), &dir).ok());
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
fn unfinished(role: Role, endpoint: &Endpoint, phase: Option<Phase>, timeout: Duration) -> Report {
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
fn no_tcp_answer(role: Role, endpoint: &Endpoint, phase: Phase, delay: Duration) -> Report {
    let what = if phase == Phase::Dns {
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
