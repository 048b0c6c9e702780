//! `--via marathon`: let the cluster's own scheduler do the fan-out where ssh is not allowed.
//!
//! One Marathon app with one instance per agent and the `["hostname", "UNIQUE"]` constraint
//! (at most one task per agent, so N instances cover N agents). The task runs the same
//! [`super::script`] as the ssh path, then sleeps so Marathon does not restart it; a failed
//! install exits non-zero and Marathon retries it with back-off.
//!
//! It is a command task (Mesos containerizer, no image): nothing has to be pulled, which matters
//! because the registry the agents cannot trust yet is often where images come from. For such a
//! task Mesos requires a *relative* containerPath (relative to the sandbox) and an absolute
//! hostPath that already exists (`filesystem/linux` isolator: "Absolute host path does not
//! exist"). `/etc/docker/certs.d` may not exist yet on a fresh agent, so the host's `/etc` is
//! mounted at `$MESOS_SANDBOX/host/etc` and the script writes under root `$MESOS_SANDBOX/host`.

use anyhow::{anyhow, bail};
use serde_json::{json, Value};

use super::script::{self, Payload};

pub(crate) const APP_ID: &str = "/dcosreg-trust";

/// The app definition for `agents` agents.
pub(crate) fn app(payload: &Payload, agents: usize) -> Value {
    let keep_alive = "while :; do sleep 3600; done\n";
    let cmd = script::render(payload, "\"$MESOS_SANDBOX/host\"", true, keep_alive);
    json!({
        "id": APP_ID,
        "instances": agents,
        "cpus": 0.01,
        "mem": 32,
        "disk": 0,
        "user": "root",
        "cmd": cmd,
        "constraints": [["hostname", "UNIQUE"]],
        // DC/OS public agents offer their resources only to the `slave_public` role: without
        // this the tasks meant for them (Marathon-LB's hosts pull images too) never start.
        "acceptedResourceRoles": ["*", "slave_public"],
        "container": {
            "type": "MESOS",
            "volumes": [
                { "containerPath": "host/etc", "hostPath": "/etc", "mode": "RW" }
            ]
        },
        "labels": { "created-by": "docker-dcosreg" },
        // Replace old tasks in place: a second instance can never fit on an agent anyway.
        "upgradeStrategy": { "minimumHealthCapacity": 0, "maximumOverCapacity": 0 }
    })
}

/// `PUT <marathon>/v2/apps/dcosreg-trust`: creates the app, or updates it when it exists, so a
/// second run is not an error (POST /v2/apps would answer 409 Conflict).
pub(crate) fn deploy(
    url: &str,
    token: Option<&str>,
    trust: &crate::x509::Anchors,
    app: &Value,
    timeout: std::time::Duration,
) -> anyhow::Result<String> {
    super::http::refuse_cleartext_token(url, token, "--marathon-url")?;
    let target = format!(
        "{}/v2/apps/{}",
        url.trim_end_matches('/'),
        APP_ID.trim_start_matches('/')
    );
    let deadline = std::time::Instant::now() + timeout;
    let client = super::http::client(&target, trust, timeout)?;
    let mut request = client
        .put(&target)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(serde_json::to_vec(app)?);
    if let Some(token) = token {
        request = request.header(
            reqwest::header::AUTHORIZATION,
            super::http::dcos_authorization(token),
        );
    }
    let response = request.send().map_err(|e| {
        let why = super::http::error_chain(&e);
        let hint = match super::http::tls_hint(&why) {
            "" => " — check --marathon-url (DC/OS: https://<master>/service/marathon)",
            hint => hint,
        };
        anyhow!("cannot reach Marathon at {target}: {why}{hint}")
    })?;
    let status = response.status();
    let body = crate::tls::http::read_body(response, super::http::MAX_BODY, deadline)?;
    let text = crate::text::sanitize_line(&String::from_utf8_lossy(&body));
    if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
        bail!("Marathon answered {status} — pass --auth-token or set DCOS_ACS_TOKEN");
    }
    if !status.is_success() {
        bail!("Marathon answered {status}: {text} — check the app with --dry-run or without --marathon-url");
    }
    let deployment = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| {
            v.get("deploymentId")
                .and_then(Value::as_str)
                .map(String::from)
        })
        .unwrap_or_default();
    Ok(crate::text::sanitize_line(&deployment))
}
