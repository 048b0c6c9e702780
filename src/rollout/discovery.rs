//! Which agents to visit: the Mesos master's `GET /slaves` (`.slaves[].hostname`, as the
//! guide's `curl -sS master.mesos:5050/slaves | jq '.slaves[] | .hostname'`), an
//! `--agents-file`, or repeated `--agent`.
//!
//! Host names from the master are hostile input: one that is not an IP literal or a DNS name
//! (say `-oProxyCommand=…`) is never passed to ssh; it becomes a failed agent in the report.

use std::path::Path;
use std::time::Duration;

use anyhow::{anyhow, Context};
use serde::Deserialize;

use crate::endpoint::{Endpoint, Host};
use crate::text::sanitize_line;

/// The guide's master, without a token (an open cluster).
pub(crate) const DEFAULT_MESOS_URL: &str = "http://master.mesos:5050";
/// With a token: the master through Admin Router, over TLS.
pub(crate) const DEFAULT_MESOS_URL_TLS: &str = "https://master.mesos/mesos";

/// Where the agent list comes from.
#[derive(Debug, Clone)]
pub(crate) enum Source<'a> {
    Mesos {
        url: &'a str,
        token: Option<&'a str>,
        /// Who may sign the master's certificate (https only).
        trust: &'a crate::x509::Anchors,
    },
    File(&'a Path),
    Hosts(&'a [String]),
}

/// Agents to visit, plus names that were rejected (reported as failed, never contacted).
#[derive(Debug, Default)]
pub(crate) struct Agents {
    pub(crate) hosts: Vec<String>,
    pub(crate) rejected: Vec<(String, String)>,
    pub(crate) warnings: Vec<String>,
}

impl Agents {
    fn push(&mut self, host: String) {
        if self.hosts.contains(&host) {
            self.warnings
                .push(format!("agent {host} is listed twice; it is visited once"));
        } else {
            self.hosts.push(host);
        }
    }
}

pub(crate) fn discover(
    fs: crate::fsutil::Fs<'_>,
    source: &Source<'_>,
    timeout: Duration,
) -> anyhow::Result<Agents> {
    let agents = match source {
        Source::Hosts(hosts) => {
            let mut agents = Agents::default();
            for text in hosts.iter() {
                agents.push(parse_agent(text).map_err(|e| anyhow!("--agent {e}"))?);
            }
            agents
        }
        Source::File(path) => {
            let text = fs.read_text(path).with_context(|| {
                format!(
                    "cannot read the agents file {} — check the path",
                    path.display()
                )
            })?;
            parse_agents_file(&text, path)?
        }
        Source::Mesos { url, token, trust } => {
            let body = fetch_slaves(url, *token, trust, timeout)?;
            parse_slaves(&body, url)?
        }
    };
    if agents.hosts.is_empty() && agents.rejected.is_empty() {
        anyhow::bail!(
            "no agents to visit — give --mesos-url URL, --agents-file FILE or --agent HOST"
        );
    }
    Ok(agents)
}

/// An agent host: an IP literal or a DNS name (an ssh config alias is one), no port, no user.
pub(crate) fn parse_agent(text: &str) -> Result<String, String> {
    let trimmed = text.trim();
    let bad = || {
        format!(
            "{:?} is not a host name or IP address — give HOST only (use --ssh-user and --ssh-port for the rest)",
            sanitize_line(trimmed)
        )
    };
    if trimmed.contains('@') || trimmed.starts_with('-') {
        return Err(bad());
    }
    let endpoint: Endpoint = trimmed.parse().map_err(|_| bad())?;
    if endpoint.explicit_port {
        return Err(bad());
    }
    Ok(match endpoint.host {
        Host::Ip(ip) => ip.to_string(),
        Host::Dns(name) => name,
    })
}

/// One host per line; blank lines and `#` comments are skipped.
fn parse_agents_file(text: &str, path: &Path) -> anyhow::Result<Agents> {
    let mut agents = Agents::default();
    for (number, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let host =
            parse_agent(line).map_err(|e| anyhow!("{}:{}: {e}", path.display(), number + 1))?;
        agents.push(host);
    }
    Ok(agents)
}

/// `URL/slaves`, unless the URL already names it.
pub(crate) fn slaves_url(url: &str) -> String {
    let base = url.trim_end_matches('/');
    if base.ends_with("/slaves") {
        base.to_string()
    } else {
        format!("{base}/slaves")
    }
}

fn fetch_slaves(
    url: &str,
    token: Option<&str>,
    trust: &crate::x509::Anchors,
    timeout: Duration,
) -> anyhow::Result<Vec<u8>> {
    super::http::refuse_cleartext_token(url, token, "--mesos-url")?;
    let target = slaves_url(url);
    let deadline = std::time::Instant::now() + timeout;
    let client = super::http::client(&target, trust, timeout)?;
    let mut request = client.get(&target);
    if let Some(token) = token {
        request = request.header(
            reqwest::header::AUTHORIZATION,
            super::http::dcos_authorization(token),
        );
    }
    let response = request.send().map_err(|e| {
        let why = super::http::error_chain(&e);
        let hint = match super::http::tls_hint(&why) {
            "" => " — check --mesos-url (DC/OS: https://<master>/mesos) or list the agents with --agents-file",
            hint => hint,
        };
        anyhow!("cannot reach the Mesos master at {target}: {why}{hint}")
    })?;
    let status = response.status();
    if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
        anyhow::bail!(
            "the Mesos master at {target} answered {status} — pass --auth-token or set DCOS_ACS_TOKEN (dcos config show core.dcos_acs_token)"
        );
    }
    if !status.is_success() {
        anyhow::bail!("the Mesos master at {target} answered {status} — check --mesos-url");
    }
    crate::tls::http::read_body(response, super::http::MAX_BODY, deadline)
        .with_context(|| format!("cannot read the agent list from {target}"))
}

#[derive(Debug, Deserialize)]
struct SlavesResponse {
    slaves: Vec<Slave>,
}

#[derive(Debug, Deserialize)]
struct Slave {
    hostname: String,
    #[serde(default)]
    active: Option<bool>,
}

fn parse_slaves(body: &[u8], url: &str) -> anyhow::Result<Agents> {
    let response: SlavesResponse = serde_json::from_slice(body).map_err(|e| {
        anyhow!(
            "{} did not answer with a Mesos agent list ({e}) — check --mesos-url",
            slaves_url(url)
        )
    })?;
    let mut agents = Agents::default();
    for slave in response.slaves {
        match parse_agent(&slave.hostname) {
            Ok(host) => {
                if slave.active == Some(false) {
                    agents.warnings.push(format!(
                        "agent {host} is inactive in Mesos; trying it anyway"
                    ));
                }
                agents.push(host);
            }
            Err(e) => agents.rejected.push((
                sanitize_line(&slave.hostname),
                format!("Mesos listed {e}; not contacted"),
            )),
        }
    }
    Ok(agents)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_validated_before_they_reach_ssh() {
        assert_eq!(parse_agent(" 10.0.0.7 ").unwrap(), "10.0.0.7");
        assert_eq!(parse_agent("Agent-1.Cluster").unwrap(), "agent-1.cluster");
        assert_eq!(parse_agent("[fd00::7]").unwrap(), "fd00::7");
        assert_eq!(parse_agent("fd00::7").unwrap(), "fd00::7");
        for bad in [
            "-oProxyCommand=touch x",
            "root@h",
            "h:22",
            "a b",
            "",
            "$(x)",
        ] {
            assert!(parse_agent(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn agents_file_skips_comments_and_names_the_bad_line() {
        let agents = parse_agents_file(
            "# agents\n10.0.0.1\n\n10.0.0.2 # gpu\n10.0.0.1\n",
            Path::new("f"),
        )
        .unwrap();
        assert_eq!(agents.hosts, ["10.0.0.1", "10.0.0.2"]);
        assert_eq!(agents.warnings.len(), 1);
        let err = parse_agents_file("ok\n-x\n", Path::new("f")).unwrap_err();
        assert!(err.to_string().starts_with("f:2: "), "{err}");
    }

    #[test]
    fn slaves_url_is_appended_once() {
        assert_eq!(slaves_url("http://m:5050"), "http://m:5050/slaves");
        assert_eq!(slaves_url("https://m/mesos/"), "https://m/mesos/slaves");
        assert_eq!(slaves_url("http://m:5050/slaves"), "http://m:5050/slaves");
    }

    #[test]
    fn hostile_mesos_names_become_failed_agents() {
        let body = br#"{"slaves":[{"hostname":"10.0.0.1","active":true},{"hostname":"-oProxyCommand=x"}]}"#;
        let agents = parse_slaves(body, "http://m").unwrap();
        assert_eq!(agents.hosts, ["10.0.0.1"]);
        assert_eq!(agents.rejected.len(), 1);
        assert!(parse_slaves(b"<html>", "http://m").is_err());
    }
}
