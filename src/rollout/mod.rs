//! `rollout`: install the registry CA on every agent of the cluster.
//!
//! The guide runs `for i in $MESOS_AGENTS; do ssh "$i" …; done` loops by hand. Here the agents
//! come from [`discovery`] and are visited through [`ssh`], N at a time, each with one result
//! line. Over ssh every agent runs this tool's own `trust` or `untrust` ([`agent`]: the binary
//! travels in the [`script`], which also writes what is not trust: the credentials archive, the
//! registry's pair, the sysctl). For clusters where ssh is not allowed, [`marathon`] and
//! [`kubernetes`] hand the cluster's scheduler a script that writes Docker's and containers'
//! certs.d itself (no binary travels in a spec).
//!
//! # API (for `cmd/rollout.rs`; `trust` and `doctor` use the two marked)
//! ```text
//! discover(Fs, &Source, timeout) -> Result<Agents>   // Source::{Mesos { url, token, trust }, File, Hosts}; Fs: Config::fs()
//! Agents { hosts, rejected: Vec<(name, why)>, warnings }   // DEFAULT_MESOS_URL(_TLS): no --mesos-url
//! Payload::new(&[(Endpoint, pem)], force, conntrack_liberal) -> Payload  // what each agent gets
//! normalize_root(&str) -> String                 // --agent-root as the script takes it
//! script_prelude(root_expr, live_sysctl) + script_body(&Payload, trust_part, tail)  // the POSIX sh script
//! AgentBinary::{check, load}(Fs, path); AgentRun::{Trust { bundles, different }, Untrust}
//! agent_script_part(&AgentBinary, &AgentRun, internal, external, targets: "docker,…") -> String  // --via ssh's trust_part
//! SshSettings { .. }; ssh_install(&SshSettings, host, &[Arc<str>], Job) -> AgentReport  // Job::{Install, Untrust}
//! fan_out(items, parallel, job, done) -> Vec<AgentReport>   // N agents at a time
//! marathon_app(&Payload, agents) -> Value; marathon_deploy(url, token, &trust, &app, timeout); MARATHON_APP_ID
//! daemonset(&Payload, image) -> Value            // --via kubernetes
//! AgentReport, Status, Summary                   // one line per agent, and the total
//! SYSCTL_FILE, SYSCTL_KEY                        // doctor: what --conntrack-liberal writes
//! ```
//! Remote paths follow trust's layout (`trust/`); agents' text is sanitised before printing.

mod agent;
mod discovery;
mod http;

pub(crate) use http::refuse_cleartext_token;
mod kubernetes;
mod marathon;
mod script;
mod ssh;

pub(crate) use agent::script_part as agent_script_part;
pub(crate) use agent::{AgentBinary, AgentFinding, AgentRestart, AgentRun};
pub(crate) use discovery::{discover, Agents, Source, DEFAULT_MESOS_URL, DEFAULT_MESOS_URL_TLS};
pub(crate) use kubernetes::daemonset;
pub(crate) use marathon::{
    app as marathon_app, deploy as marathon_deploy, APP_ID as MARATHON_APP_ID,
};
pub(crate) use script::{
    body as script_body, normalize_root, prelude as script_prelude, Payload, ServerCert,
    SYSCTL_FILE, SYSCTL_KEY,
};
pub(crate) use ssh::{fan_out, install as ssh_install, SshSettings};

use serde::Serialize;

/// What happened on one agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Status {
    /// At least one file was written.
    Installed,
    /// Every file was already there with the same content; nothing was written.
    AlreadyInstalled,
    /// The agent was not (fully) handled; `reason` says why.
    Failed,
    /// `--dry-run`: what would be done.
    Planned,
    /// `--untrust`: at least one file was removed or edited.
    Removed,
    /// `--untrust`: the agent's manifest named nothing left to remove.
    NothingToRemove,
}

/// What rollout does on each agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Job {
    /// Install the CA (the agent's own `trust`), and the extras.
    Install,
    /// Undo the agent's own `trust` through its manifest (`untrust`).
    Untrust,
}

impl Status {
    pub(crate) fn text(&self) -> &'static str {
        match self {
            Status::Installed => "installed",
            Status::AlreadyInstalled => "already installed",
            Status::Failed => "failed",
            Status::Planned => "planned",
            Status::Removed => "removed",
            Status::NothingToRemove => "nothing to remove",
        }
    }
}

/// One agent's line in the report (and its object in `--format json`).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct AgentReport {
    pub(crate) agent: String,
    pub(crate) status: Status,
    /// Why it failed, as one sentence with the fix (null unless failed).
    pub(crate) reason: Option<String>,
    /// ssh attempts made (a connection error is retried once).
    pub(crate) attempts: u32,
    /// Remote paths written by this run.
    pub(crate) written: Vec<String>,
    /// Remote paths that already had the same content.
    pub(crate) unchanged: Vec<String>,
    /// `--untrust`: remote paths removed (or our TOML entries taken out of them).
    pub(crate) removed: Vec<String>,
    /// The services the agent's own trust or untrust says to restart there; empty is its
    /// promise that none must.
    pub(crate) restart: Vec<AgentRestart>,
    /// What the agent's own trust found still standing in the CA's way there.
    pub(crate) findings: Vec<AgentFinding>,
    /// Things worth knowing that are not failures.
    pub(crate) notes: Vec<String>,
    /// `--dry-run`: the command and the actions that would run.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) actions: Vec<String>,
}

impl AgentReport {
    pub(crate) fn failed(agent: &str, reason: impl Into<String>, attempts: u32) -> AgentReport {
        AgentReport {
            agent: agent.to_string(),
            status: Status::Failed,
            reason: Some(reason.into()),
            attempts,
            written: Vec::new(),
            unchanged: Vec::new(),
            removed: Vec::new(),
            restart: Vec::new(),
            findings: Vec::new(),
            notes: Vec::new(),
            actions: Vec::new(),
        }
    }

    /// The one-line text form: `HOST: installed`, `HOST: failed — reason`.
    pub(crate) fn line(&self) -> String {
        let mut line = format!("{}: {}", self.agent, self.status.text());
        match self.status {
            Status::Installed => line.push_str(&format!(
                " ({} file{} written)",
                self.written.len(),
                if self.written.len() == 1 { "" } else { "s" }
            )),
            Status::Failed => {
                if let Some(reason) = &self.reason {
                    line.push_str(" — ");
                    line.push_str(reason);
                }
                if self.attempts > 1 {
                    line.push_str(&format!(" ({} attempts)", self.attempts));
                }
            }
            Status::Removed => line.push_str(&format!(
                " ({} file{})",
                self.removed.len(),
                if self.removed.len() == 1 { "" } else { "s" }
            )),
            Status::AlreadyInstalled | Status::Planned | Status::NothingToRemove => {}
        }
        for note in &self.notes {
            line.push_str("; ");
            line.push_str(note);
        }
        crate::text::sanitize_line(&line)
    }
}

/// Counts for the summary line and the JSON `summary` object.
#[derive(Debug, Default, Clone, Serialize)]
pub(crate) struct Summary {
    pub(crate) agents: usize,
    pub(crate) installed: usize,
    pub(crate) already_installed: usize,
    /// `--untrust`.
    pub(crate) removed: usize,
    /// `--untrust`.
    pub(crate) nothing_to_remove: usize,
    pub(crate) failed: usize,
}

impl Summary {
    pub(crate) fn of(reports: &[AgentReport]) -> Summary {
        let count = |status: Status| reports.iter().filter(|r| r.status == status).count();
        Summary {
            agents: reports.len(),
            installed: count(Status::Installed),
            already_installed: count(Status::AlreadyInstalled),
            removed: count(Status::Removed),
            nothing_to_remove: count(Status::NothingToRemove),
            failed: count(Status::Failed),
        }
    }

    pub(crate) fn line(&self, job: Job) -> String {
        let agents = format!(
            "{} agent{}",
            self.agents,
            if self.agents == 1 { "" } else { "s" }
        );
        match job {
            Job::Install => format!(
                "{agents}: {} installed, {} already installed, {} failed",
                self.installed, self.already_installed, self.failed
            ),
            Job::Untrust => format!(
                "{agents}: {} removed, {} nothing to remove, {} failed",
                self.removed, self.nothing_to_remove, self.failed
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_read_as_the_issue_asks() {
        let mut ok = AgentReport::failed("a1", "x", 1);
        ok.status = Status::Installed;
        ok.reason = None;
        ok.written = vec!["/etc/docker/certs.d/h/ca.crt".into()];
        assert_eq!(ok.line(), "a1: installed (1 file written)");
        let bad = AgentReport::failed("a2", "ssh: connect refused\u{1b}[2J", 2);
        assert_eq!(
            bad.line(),
            "a2: failed — ssh: connect refused\\u{1b}[2J (2 attempts)"
        );
        let summary = Summary::of(&[ok, bad]);
        assert_eq!(
            summary.line(Job::Install),
            "2 agents: 1 installed, 0 already installed, 1 failed"
        );
    }
}
