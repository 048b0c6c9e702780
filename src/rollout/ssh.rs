//! Fan-out through the system `ssh` client, N agents at a time.
//!
//! The system client is used on purpose: users' keys, agents, ProxyJump and ~/.ssh/config keep
//! working exactly as in the guide's loops. `BatchMode=yes` makes a missing key fail at once
//! instead of waiting at a password prompt no one sees, `sudo -n` does the same for sudo, and
//! every agent has a hard deadline after which its ssh is killed. ssh exits 255 for its own
//! errors (connection refused, reset, timeout; ssh(1) "EXIT STATUS"), which are retried once;
//! authentication and host-key failures are not, as a second try cannot change them.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use super::agent::{self, ToolOutcome};
use super::script::{self, ScriptOutcome};
use super::{AgentReport, Job, Status};

/// Runs the script as root: directly when the remote user is root, else through `sudo -n`
/// (never prompts; fails with "a password is required" instead). Wrapped in `sh -c` so it
/// works whatever the remote login shell is (csh and fish users exist).
pub(crate) const REMOTE_COMMAND: &str =
    "sh -c 'if [ \"$(id -u)\" -eq 0 ]; then exec sh -s; else exec sudo -n sh -s; fi'";

/// How to reach the agents.
#[derive(Debug, Clone)]
pub(crate) struct SshSettings {
    pub(crate) program: PathBuf,
    pub(crate) user: Option<String>,
    pub(crate) port: Option<u16>,
    pub(crate) identity: Option<PathBuf>,
    /// `--ssh-option` values, each passed as `-o OPT` before ours (ssh keeps the first value
    /// it sees for an option, so the user's choice wins).
    pub(crate) options: Vec<String>,
    pub(crate) connect_timeout: Duration,
    pub(crate) agent_timeout: Duration,
}

impl SshSettings {
    /// The full ssh argument list for `host` (without the program name).
    pub(crate) fn args(&self, host: &str) -> Vec<String> {
        let mut args = vec!["-T".to_string()];
        for option in &self.options {
            args.push("-o".into());
            args.push(option.clone());
        }
        // Whole seconds, at least 1: ssh's ConnectTimeout has no finer unit.
        let connect = self.connect_timeout.as_secs_f64().ceil().max(1.0) as u64;
        args.extend([
            "-o".into(),
            "BatchMode=yes".into(),
            "-o".into(),
            format!("ConnectTimeout={connect}"),
            "-o".into(),
            "ServerAliveInterval=5".into(),
            "-o".into(),
            "ServerAliveCountMax=3".into(),
        ]);
        if let Some(identity) = &self.identity {
            args.push("-i".into());
            args.push(identity.display().to_string());
        }
        if let Some(user) = &self.user {
            args.push("-l".into());
            args.push(user.clone());
        }
        if let Some(port) = self.port {
            args.push("-p".into());
            args.push(port.to_string());
        }
        // `--` ends the options: a host can never be read as one (hosts are validated too).
        args.push("--".into());
        args.push(host.to_string());
        args.push(REMOTE_COMMAND.to_string());
        args
    }

    /// The command as a user would type it, for `--dry-run`.
    pub(crate) fn display(&self, host: &str) -> String {
        std::iter::once(self.program.display().to_string())
            .chain(self.args(host).iter().map(|a| script::shell_quote(a)))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// What one ssh invocation produced.
#[derive(Debug)]
struct Run {
    status: Option<i32>,
    stdout: String,
    stderr: String,
    timed_out: bool,
}

/// Run the script (its pieces in order: the agent's own head, then the shared body) on one
/// agent, retrying a connection error once.
pub(crate) fn install(
    settings: &SshSettings,
    host: &str,
    script: &[Arc<str>],
    job: Job,
) -> AgentReport {
    let mut attempts = 0;
    loop {
        attempts += 1;
        let run = match run_once(settings, host, script) {
            Ok(run) => run,
            Err(e) => {
                return AgentReport::failed(
                    host,
                    format!(
                        "cannot run {}: {e} — install the OpenSSH client",
                        settings.program.display()
                    ),
                    attempts,
                )
            }
        };
        if run.timed_out {
            return AgentReport::failed(
                host,
                format!(
                    "no result within {} — check the agent, or raise --agent-timeout",
                    humantime::format_duration(settings.agent_timeout)
                ),
                attempts,
            );
        }
        if run.status == Some(255) && attempts == 1 && is_retryable(&run.stderr) {
            std::thread::sleep(Duration::from_millis(300));
            continue;
        }
        return judge(host, &run, attempts, job);
    }
}

/// Exit 255 is ssh's own failure; a refused or reset connection may work a moment later,
/// a rejected key or host key will not.
fn is_retryable(stderr: &str) -> bool {
    ![
        "Permission denied",
        "Host key verification failed",
        "REMOTE HOST IDENTIFICATION HAS CHANGED",
        "Could not resolve hostname",
        "Bad configuration option",
    ]
    .iter()
    .any(|fatal| stderr.contains(fatal))
}

fn judge(host: &str, run: &Run, attempts: u32, job: Job) -> AgentReport {
    let outcome: ScriptOutcome = script::parse_output(&run.stdout);
    let tool = agent::parse_runs(&run.stdout);
    let mut report = AgentReport::failed(host, String::new(), attempts);
    report.written = tool.written.clone();
    report.written.extend(outcome.installed.iter().cloned());
    report.unchanged = tool.unchanged.clone();
    report.unchanged.extend(outcome.same.iter().cloned());
    report.removed = tool.removed.clone();
    report.restart = tool.restart.clone();
    report.findings = tool.findings.clone();
    for restart in &tool.restart {
        report.notes.push(crate::trust::restart_line(
            &restart.service,
            &restart.why,
            &restart.command,
        ));
    }
    for finding in &tool.findings {
        report
            .notes
            .push(format!("{}: {}", finding.severity, finding.message));
    }
    match outcome.sysctl_live {
        Some(true) => report
            .notes
            .push(format!("{} set to 1 and persisted", script::SYSCTL_KEY)),
        Some(false) => report.notes.push(
            "sysctl file written; live sysctl skipped because --remote-root is set".to_string(),
        ),
        None => {}
    }
    if run.status == Some(0) && outcome.finished {
        report.reason = None;
        report.status = match job {
            Job::Install if report.written.is_empty() => Status::AlreadyInstalled,
            Job::Install => Status::Installed,
            Job::Untrust if report.removed.is_empty() => Status::NothingToRemove,
            Job::Untrust => Status::Removed,
        };
        return report;
    }
    report.reason = Some(failure_reason(run, &outcome, &tool));
    report
}

fn failure_reason(run: &Run, outcome: &ScriptOutcome, tool: &ToolOutcome) -> String {
    if let Some(why) = &tool.tool_failed {
        return if why.starts_with("does not run here") {
            format!("the tool {why} — {}", agent::OLD_GLIBC_HINT)
        } else {
            format!("the tool {why}")
        };
    }
    if let Some(path) = tool.kept_different.first().or(outcome.conflicts.first()) {
        return format!("{path} holds a different CA — rerun with --force to replace it");
    }
    if let Some(error) = tool.errors.first().or(outcome.errors.first()) {
        return error.clone();
    }
    let last = run
        .stderr
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .unwrap_or("");
    if run.stderr.contains("sudo:") && run.stderr.contains("password") {
        return format!(
            "{last} — allow passwordless sudo for the ssh user, or use --ssh-user root"
        );
    }
    if run.stderr.contains("Permission denied") {
        return format!("{last} — check --ssh-user and the key (ssh -i, ssh-agent)");
    }
    if run.stderr.contains("Host key verification failed") {
        return format!(
            "{last} — add the agent to known_hosts, or pass --ssh-option StrictHostKeyChecking=accept-new"
        );
    }
    match (run.status, last.is_empty()) {
        (_, false) => last.to_string(),
        (Some(code), true) => format!("the remote script stopped early (exit status {code})"),
        (None, true) => "ssh was killed by a signal".to_string(),
    }
}

fn run_once(settings: &SshSettings, host: &str, script: &[Arc<str>]) -> std::io::Result<Run> {
    use std::os::unix::process::CommandExt;
    // Its own process group: at the deadline the whole group goes (a ProxyCommand or
    // ControlMaster child that keeps ssh's stderr open would otherwise outlive it, and we
    // would wait on that pipe forever).
    let mut child = Command::new(&settings.program)
        .args(settings.args(host))
        .process_group(0)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let deadline = Instant::now() + settings.agent_timeout;
    let (tx, rx) = mpsc::channel::<()>();
    let stdout = drain(child.stdout.take(), tx.clone());
    let stderr = drain(child.stderr.take(), tx);
    if let Some(mut stdin) = child.stdin.take() {
        let pieces = script.to_vec();
        // A writer thread: ssh may not read stdin before the connection is up.
        std::thread::spawn(move || {
            for piece in pieces {
                if stdin.write_all(piece.as_bytes()).is_err() {
                    return;
                }
            }
        });
    }
    let (status, timed_out) = wait_until(&mut child, deadline, &rx);
    Ok(Run {
        status,
        stdout: join_bounded(stdout, timed_out),
        stderr: join_bounded(stderr, timed_out),
        timed_out,
    })
}

/// A pipe's text. After a timeout the group was killed, so the pipe closes at once;
/// should something outside the group (a daemonised helper) still hold it, we give up
/// after a moment rather than wait for it.
fn join_bounded(handle: std::thread::JoinHandle<String>, timed_out: bool) -> String {
    if timed_out {
        let until = Instant::now() + Duration::from_millis(500);
        while !handle.is_finished() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(10));
        }
        if !handle.is_finished() {
            return String::new();
        }
    }
    handle.join().unwrap_or_default()
}

/// Kill `child` and every process of its group (it leads one: `process_group(0)`).
fn kill_group(child: &mut Child) {
    if let Some(pid) = rustix::process::Pid::from_raw(child.id() as i32) {
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Read a pipe to its end on a thread; tell `done` when it closes.
fn drain<R: Read + Send + 'static>(
    pipe: Option<R>,
    done: mpsc::Sender<()>,
) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes);
        }
        let _ = done.send(());
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Wait for both pipes to close and the child to exit, killing it at `deadline`.
fn wait_until(
    child: &mut Child,
    deadline: Instant,
    pipes: &mpsc::Receiver<()>,
) -> (Option<i32>, bool) {
    let mut closed = 0;
    while closed < 2 {
        let left = deadline.saturating_duration_since(Instant::now());
        match pipes.recv_timeout(left) {
            Ok(()) => closed += 1,
            Err(_) => {
                kill_group(child);
                return (None, true);
            }
        }
    }
    // Both pipes closed: ssh is exiting; still bounded by the deadline.
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return (status.code(), false),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            _ => {
                kill_group(child);
                return (None, true);
            }
        }
    }
}

/// Run `job` for every item, `parallel` at a time; `done` sees each result as it finishes
/// (on the calling thread), and the results come back in input order.
pub(crate) fn fan_out<T, F, D>(
    items: &[T],
    parallel: usize,
    job: F,
    mut done: D,
) -> Vec<AgentReport>
where
    T: Sync,
    F: Fn(&T) -> AgentReport + Sync,
    D: FnMut(&AgentReport),
{
    let next = AtomicUsize::new(0);
    let mut results: Vec<Option<AgentReport>> = vec![None; items.len()];
    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::channel::<(usize, AgentReport)>();
        for _ in 0..parallel.clamp(1, items.len().max(1)) {
            let tx = tx.clone();
            let (next, job) = (&next, &job);
            scope.spawn(move || loop {
                let index = next.fetch_add(1, Ordering::SeqCst);
                let Some(item) = items.get(index) else { break };
                if tx.send((index, job(item))).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        for (index, report) in rx {
            done(&report);
            results[index] = Some(report);
        }
    });
    results.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> SshSettings {
        SshSettings {
            program: "ssh".into(),
            user: Some("core".into()),
            port: Some(2222),
            identity: Some("/k/id".into()),
            options: vec!["StrictHostKeyChecking=accept-new".into()],
            connect_timeout: Duration::from_millis(2500),
            agent_timeout: Duration::from_secs(30),
        }
    }

    #[test]
    fn user_options_come_first_and_the_host_after_double_dash() {
        let args = settings().args("10.0.0.7");
        assert_eq!(&args[..3], ["-T", "-o", "StrictHostKeyChecking=accept-new"]);
        assert!(args.contains(&"BatchMode=yes".to_string()));
        assert!(args.contains(&"ConnectTimeout=3".to_string()));
        let dash = args.iter().position(|a| a == "--").unwrap();
        assert_eq!(args[dash + 1], "10.0.0.7");
        assert_eq!(args[dash + 2], REMOTE_COMMAND);
        assert_eq!(args.len(), dash + 3);
        assert!(settings()
            .display("h")
            .contains(" -l core -p 2222 -- h 'sh -c"));
    }

    #[test]
    fn only_connection_errors_are_retried() {
        assert!(is_retryable(
            "ssh: connect to host 127.0.0.5 port 22: Connection refused"
        ));
        assert!(!is_retryable("root@h: Permission denied (publickey)."));
        assert!(!is_retryable("Host key verification failed."));
    }

    #[test]
    fn fan_out_keeps_input_order_and_sees_every_item() {
        let items: Vec<String> = (0..20).map(|i| format!("h{i}")).collect();
        let mut seen = 0;
        let out = fan_out(&items, 4, |h| AgentReport::failed(h, "x", 1), |_| seen += 1);
        assert_eq!(seen, 20);
        let agents: Vec<&str> = out.iter().map(|r| r.agent.as_str()).collect();
        assert_eq!(agents, items.iter().map(String::as_str).collect::<Vec<_>>());
    }
}
