//! `rollout`: install trust on every agent of the cluster, in parallel, with one result per
//! agent (docs/cli.md). The work lives in `crate::rollout`; this file turns the arguments into a
//! plan, asks for the CA confirmation, and prints.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{anyhow, bail};
use serde::Serialize;

use crate::cli::{RolloutArgs, Via};
use crate::config::Config;
use crate::exit::{ExitStatus, Stop};
use crate::fsutil::Fs;
use crate::output::Printer;
use crate::rollout::{
    self, AgentBinary, AgentReport, AgentRun, Agents, Job, Payload, Source, SshSettings, Status,
    Summary, DEFAULT_MESOS_URL, DEFAULT_MESOS_URL_TLS, MARATHON_APP_ID,
};
use crate::text::shell_quote;
use crate::trust::{self, EndpointCa};
use crate::x509::{Anchors, CertSummary};

pub(crate) fn run(
    config: &Config,
    args: &RolloutArgs,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    refuse_flag_mistakes(args)?;
    let timeout = config.timeout.value;
    let token = args.auth_token.as_deref().filter(|t| !t.is_empty());
    // The token never travels in cleartext: refused before anything connects.
    if let Some(url) = &args.mesos_url {
        rollout::refuse_cleartext_token(url, token, "--mesos-url")?;
    }
    if let Some(url) = &args.marathon_url {
        rollout::refuse_cleartext_token(url, token, "--marathon-url")?;
    }
    let cluster_trust = match &args.cluster_ca {
        Some(path) => {
            Anchors::from_file(config.fs(), path).map_err(|e| anyhow!("--cluster-ca: {e}"))?
        }
        None => Anchors::system(config),
    };
    let archive = read_credentials_archive(config.fs(), args)?;
    let server_cert = read_server_cert(config.fs(), args)?;
    // Checked now (a wrong path stops before anything connects), packed only to install.
    let binary = match args.via {
        Via::Ssh => Some(agent_binary_path(config.fs(), args)?),
        Via::Marathon | Via::Kubernetes => None,
    };

    // Kubernetes schedules on every node itself: no agent list is needed.
    let agents = match args.via {
        Via::Kubernetes => Agents::default(),
        Via::Ssh | Via::Marathon => {
            discover(config.fs(), args, token, &cluster_trust, timeout, printer)?
        }
    };
    // --untrust needs no CA: each agent's manifest says what its trust installed.
    let cas = if args.untrust {
        Vec::new()
    } else {
        obtain_ca(config, args, printer)?
    };
    let payload = payload(args, &cas, archive, server_cert);

    match args.via {
        Via::Kubernetes => {
            printer.json(&rollout::daemonset(&payload, &args.image))?;
            Ok(ExitStatus::Success)
        }
        Via::Marathon => via_marathon(
            args,
            token,
            &cluster_trust,
            timeout,
            &payload,
            agents.hosts.len(),
            printer,
        ),
        Via::Ssh => {
            let settings = ssh_settings(args, timeout);
            let plan = SshPlan {
                config,
                settings: &settings,
                payload: &payload,
                binary: binary.ok_or_else(|| anyhow!("no agent binary"))?,
                cas: &cas,
            };
            let rejected: Vec<AgentReport> = agents
                .rejected
                .iter()
                .map(|(host, reason)| AgentReport::failed(host, reason.clone(), 0))
                .collect();
            via_ssh(args, &plan, &agents.hosts, rejected, printer)
        }
    }
}

/// Flags that cannot work together, refused before anything is read or connected.
fn refuse_flag_mistakes(args: &RolloutArgs) -> anyhow::Result<()> {
    if args.parallel == 0 {
        bail!("--parallel 0 would visit no agent — give 1 or more (default 16)");
    }
    if let Some(root) = &args.remote_root {
        if !root.starts_with('/') {
            bail!("--remote-root {root:?} is not an absolute path — give a directory like /tmp/agents/%h");
        }
    }
    if args.marathon_url.is_some() && args.via != Via::Marathon {
        bail!("--marathon-url only applies to --via marathon — add --via marathon, or drop it");
    }
    if args.via != Via::Ssh {
        for (given, flag) in [
            (args.untrust, "--untrust"),
            (args.agent_binary.is_some(), "--agent-binary"),
            (!args.target.is_empty(), "--target"),
        ] {
            if given {
                bail!("{flag} works with --via ssh only: the Marathon app and the DaemonSet write Docker's and containers' certs.d with a script, no binary travels — use --via ssh");
            }
        }
    }
    Ok(())
}

/// What every agent gets besides the tool's own trust: the certs.d files (for the
/// scheduler's script), the credentials archive, the registry's pair, the sysctl.
fn payload(
    args: &RolloutArgs,
    cas: &[EndpointCa],
    archive: Option<Vec<u8>>,
    server_cert: Option<rollout::ServerCert>,
) -> Payload {
    let per_endpoint: Vec<_> = cas
        .iter()
        .map(|entry| (entry.endpoint.clone(), entry.bundle_pem()))
        .collect();
    let mut payload = Payload::new(
        &per_endpoint,
        crate::trust::Different::from_flags(args.force, args.add),
        args.conntrack_liberal,
    );
    if let Some(archive) = archive {
        payload = payload.with_credentials_archive(archive);
    }
    if let Some(server) = server_cert {
        payload = payload.with_server_cert(server);
    }
    payload
}

/// How ssh reaches the agents: the user's flags, `--timeout` as ssh's ConnectTimeout.
fn ssh_settings(args: &RolloutArgs, timeout: Duration) -> SshSettings {
    SshSettings {
        program: PathBuf::from("ssh"),
        user: args.ssh_user.clone(),
        port: args.ssh_port,
        identity: args.ssh_identity.clone(),
        options: args.ssh_options.clone(),
        connect_timeout: timeout,
        agent_timeout: args.agent_timeout,
    }
}

/// `--credentials-archive FILE`: a gzip file of sane size, for `--via ssh` only (the
/// Marathon app and the DaemonSet are printed or posted, and would carry the password).
fn read_credentials_archive(fs: Fs<'_>, args: &RolloutArgs) -> anyhow::Result<Option<Vec<u8>>> {
    const MAX_ARCHIVE: u64 = 1024 * 1024;
    let Some(path) = &args.credentials_archive else {
        return Ok(None);
    };
    if args.via != Via::Ssh {
        bail!("--credentials-archive works with --via ssh only: a Marathon app or DaemonSet spec would carry the password — copy the archive with --via ssh");
    }
    // A regular file only: a FIFO with no writer would block the open, and rollout has
    // nothing to wait for.
    let bytes = fs.read_file(path, MAX_ARCHIVE).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => anyhow!(
            "--credentials-archive {} does not exist — make it with `docker dcosreg credentials export --as dcos-archive --out FILE`",
            path.display()
        ),
        std::io::ErrorKind::InvalidData => anyhow!("--credentials-archive {e}"),
        _ => anyhow!("cannot read --credentials-archive {}: {e}", path.display()),
    })?;
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        bail!(
            "--credentials-archive {} is not a .tar.gz — make it with `docker dcosreg credentials export --as dcos-archive --out FILE`",
            path.display()
        );
    }
    Ok(Some(bytes))
}

/// `--server-cert DIR`: the registry's `domain.crt` (certificates) and `domain.key` (a
/// private key), regular files of sane size, for `--via ssh` only (a Marathon app or
/// DaemonSet spec would carry the key). The key is never printed.
fn read_server_cert(fs: Fs<'_>, args: &RolloutArgs) -> anyhow::Result<Option<rollout::ServerCert>> {
    const MAX: u64 = 1024 * 1024;
    let Some(dir) = &args.server_cert else {
        return Ok(None);
    };
    if args.via != Via::Ssh {
        bail!("--server-cert works with --via ssh only: a Marathon app or DaemonSet spec would carry the key — copy the pair with --via ssh");
    }
    if !args.server_cert_path.starts_with('/') {
        bail!(
            "--server-cert-path {:?} is not an absolute path — give a directory like /etc/privateregistry/certs",
            args.server_cert_path
        );
    }
    let read = |name: &str| {
        let path = dir.join(name);
        fs.read_file(&path, MAX).map_err(|e| {
            anyhow!(
                "--server-cert: cannot read {}: {} — give the directory `cert` wrote (domain.crt, domain.key)",
                path.display(),
                crate::fsutil::io_reason(&e)
            )
        })
    };
    let cert = read("domain.crt")?;
    let key = read("domain.key")?;
    let certs = crate::x509::pem::parse_certificates(&cert, &dir.join("domain.crt"))?;
    if certs.is_empty() {
        bail!(
            "--server-cert: {} holds no certificate",
            dir.join("domain.crt").display()
        );
    }
    {
        use rustls_pki_types::pem::PemObject as _;
        if rustls_pki_types::PrivateKeyDer::from_pem_slice(&key).is_err() {
            // Never quote the file: it may be a key in another form.
            bail!(
                "--server-cert: {} is not a PEM private key",
                dir.join("domain.key").display()
            );
        }
    }
    let cert_pem: String = certs
        .iter()
        .map(|der| crate::x509::pem::to_pem(der.as_ref()))
        .collect();
    Ok(Some(rollout::ServerCert {
        dir: args.server_cert_path.clone(),
        cert_pem,
        key_pem: key,
    }))
}

/// The CA per endpoint, from `trust`'s shared source with `trust`'s rules: shown, then
/// confirmed by `--fingerprint`, `--yes` or a typed "y" (not needed for `--dry-run`, which
/// changes nothing). A refusal is a [`Stop`] with its status.
fn obtain_ca(
    config: &Config,
    args: &RolloutArgs,
    printer: &Printer,
) -> anyhow::Result<Vec<EndpointCa>> {
    let found = trust::obtain_ca(
        config.fs(),
        &args.source.ca_source(),
        &config.endpoints(),
        std::time::Instant::now() + config.timeout.value,
    )?;
    for entry in &found {
        if let Err(why) = &entry.cas {
            printer.warn(format!(
                "{}: no CA, nothing is installed for it — {why}",
                entry.endpoint
            ));
        }
    }
    if args.dry_run {
        let offered: Vec<EndpointCa> = found.into_iter().filter(|e| e.cas.is_ok()).collect();
        if offered.is_empty() {
            return Err(trust::Refusal::NothingOffered.into());
        }
        return Ok(offered);
    }
    match trust::confirm_ca(&found, &args.source.confirmation(), printer) {
        Ok(approved) => Ok(approved.endpoints),
        Err(refusal) => Err(Stop::new(refusal.exit_status(), refusal).into()),
    }
}

fn discover(
    fs: Fs<'_>,
    args: &RolloutArgs,
    token: Option<&str>,
    trust: &Anchors,
    timeout: Duration,
    printer: &Printer,
) -> anyhow::Result<Agents> {
    let source = if !args.agents.is_empty() {
        Source::Hosts(&args.agents)
    } else if let Some(path) = &args.agents_file {
        Source::File(path)
    } else {
        Source::Mesos {
            url: args.mesos_url.as_deref().unwrap_or(if token.is_some() {
                DEFAULT_MESOS_URL_TLS
            } else {
                DEFAULT_MESOS_URL
            }),
            token,
            trust,
        }
    };
    let agents = rollout::discover(fs, &source, timeout)?;
    for warning in &agents.warnings {
        printer.warn(warning);
    }
    Ok(agents)
}

/// `--remote-root` for one agent: `%h` becomes the host, `%%` a percent sign.
fn remote_root_for(template: Option<&str>, host: &str) -> String {
    let Some(template) = template else {
        return String::new();
    };
    let mut out = String::new();
    let mut chars = template.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('h') => out.push_str(host),
            Some('%') => out.push('%'),
            Some(other) => {
                out.push('%');
                out.push(other);
            }
            None => out.push('%'),
        }
    }
    rollout::normalize_root(&out)
}

#[derive(Serialize)]
struct CaJson<'a> {
    endpoint: String,
    certificates: Vec<&'a CertSummary>,
}

#[derive(Serialize)]
struct RolloutJson<'a> {
    via: &'static str,
    dry_run: bool,
    ca: Vec<CaJson<'a>>,
    agents: &'a [AgentReport],
    summary: Summary,
}

/// `--target` as trust takes it, each once: `docker,containerd` (the script and the dry run
/// say the same).
fn target_list(targets: &[crate::trust::Target]) -> String {
    let names: Vec<&str> = crate::trust::Target::dedup(targets)
        .iter()
        .map(|t| t.name())
        .collect();
    names.join(",")
}

/// `--agent-binary FILE`, or the running binary, once it passed [`AgentBinary::check`].
fn agent_binary_path(fs: Fs<'_>, args: &RolloutArgs) -> anyhow::Result<PathBuf> {
    let path = match &args.agent_binary {
        Some(path) => path.clone(),
        None => std::env::current_exe().map_err(|e| {
            anyhow!("cannot find this binary to run on the agents: {e} — give --agent-binary FILE")
        })?,
    };
    AgentBinary::check(fs, &path)?;
    Ok(path)
}

/// Everything `--via ssh` sends, the same for every agent but its root.
struct SshPlan<'a> {
    config: &'a Config,
    settings: &'a SshSettings,
    payload: &'a Payload,
    /// Packed by [`SshPlan::body`] only when agents are visited (not for `--dry-run`).
    binary: PathBuf,
    cas: &'a [EndpointCa],
}

impl SshPlan<'_> {
    fn job(args: &RolloutArgs) -> Job {
        if args.untrust {
            Job::Untrust
        } else {
            Job::Install
        }
    }

    /// Each distinct CA bundle with the endpoints it is for: one `trust` run per bundle.
    fn bundles(&self) -> Vec<(String, Vec<crate::endpoint::Endpoint>)> {
        let mut bundles: Vec<(String, Vec<crate::endpoint::Endpoint>)> = Vec::new();
        for entry in self.cas.iter().filter(|e| e.cas.is_ok()) {
            let pem = entry.bundle_pem();
            match bundles.iter_mut().find(|(p, _)| *p == pem) {
                Some((_, endpoints)) => endpoints.push(entry.endpoint.clone()),
                None => bundles.push((pem, vec![entry.endpoint.clone()])),
            }
        }
        bundles
    }

    /// The script after each agent's prelude: the tool's runs, then the extras.
    fn body(&self, args: &RolloutArgs) -> anyhow::Result<String> {
        let binary = AgentBinary::load(self.config.fs(), &self.binary)?;
        let bundles = self.bundles();
        let run = if args.untrust {
            AgentRun::Untrust
        } else {
            AgentRun::Trust {
                bundles: &bundles,
                different: crate::trust::Different::from_flags(args.force, args.add),
            }
        };
        let tool = rollout::agent_script_part(
            &binary,
            &run,
            &self.config.internal.value,
            &self.config.external.value,
            &target_list(&args.target),
        );
        Ok(rollout::script_body(self.payload, &tool, ""))
    }

    /// `--dry-run`: what the tool would run on an agent with root `root`.
    fn tool_action(&self, args: &RolloutArgs, root: &str) -> Vec<String> {
        let root = if root.is_empty() { "/" } else { root };
        let targets = target_list(&args.target);
        let target = if targets.is_empty() {
            String::new()
        } else {
            format!(" --target {targets}")
        };
        let globals = format!(
            "docker-dcosreg --root {root} --internal {} --external {}",
            self.config.internal.value, self.config.external.value
        );
        if args.untrust {
            return vec![format!(
                "copy the tool to a private directory, then run {globals} untrust{target}"
            )];
        }
        let flag = crate::trust::Different::from_flags(args.force, args.add).flag();
        self.bundles()
            .iter()
            .map(|(_, endpoints)| {
                let eps: Vec<String> = endpoints.iter().map(ToString::to_string).collect();
                format!(
                    "copy the tool to a private directory, then run {globals} trust {} --ca-file CA --yes --no-verify{flag}{target}",
                    eps.join(" ")
                )
            })
            .collect()
    }
}

fn via_ssh(
    args: &RolloutArgs,
    plan: &SshPlan<'_>,
    hosts: &[String],
    rejected: Vec<AgentReport>,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let mut reports = rejected;
    if args.dry_run {
        reports.extend(plan_ssh(args, plan, hosts));
    } else {
        reports = install_ssh(args, plan, hosts, reports, printer)?;
    }
    let job = SshPlan::job(args);
    let summary = Summary::of(&reports);
    let report = RolloutJson {
        via: "ssh",
        dry_run: args.dry_run,
        ca: plan
            .cas
            .iter()
            .map(|entry| CaJson {
                endpoint: entry.endpoint.to_string(),
                certificates: entry.cas.iter().flatten().map(|c| &c.summary).collect(),
            })
            .collect(),
        agents: &reports,
        summary: summary.clone(),
    };
    printer.report(&report, |printer| {
        if args.dry_run {
            print_ssh_plan(printer, args, plan.cas, hosts.len(), &reports)
        } else {
            printer.line(summary.line(job))
        }
    })?;
    Ok(if summary.failed > 0 {
        ExitStatus::No
    } else {
        ExitStatus::Success
    })
}

/// `--dry-run`: per agent, the ssh command and what the script would do there.
fn plan_ssh(args: &RolloutArgs, plan: &SshPlan<'_>, hosts: &[String]) -> Vec<AgentReport> {
    hosts
        .iter()
        .map(|host| {
            let root = remote_root_for(args.remote_root.as_deref(), host);
            let mut report = AgentReport::failed(host, String::new(), 0);
            report.status = Status::Planned;
            report.reason = None;
            report.actions = std::iter::once(format!("run {}", plan.settings.display(host)))
                .chain(plan.tool_action(args, &root))
                .chain(plan.payload.extra_actions(&root, root.is_empty()))
                .collect();
            report
        })
        .collect()
}

/// Run the script on every agent, `--parallel` at a time, printing each agent's line as
/// it ends (under a progress bar on a terminal); the agents already rejected come first.
fn install_ssh(
    args: &RolloutArgs,
    plan: &SshPlan<'_>,
    hosts: &[String],
    mut reports: Vec<AgentReport>,
    printer: &Printer,
) -> anyhow::Result<Vec<AgentReport>> {
    let bar = progress_bar(hosts.len(), printer);
    for report in &reports {
        print_line(printer, bar.as_ref(), &report.line())?;
    }
    let mut print_error = None;
    let job = SshPlan::job(args);
    // The binary is most of the script: packed once, shared by every agent's ssh.
    let body: std::sync::Arc<str> = plan.body(args)?.into();
    let done = rollout::fan_out(
        hosts,
        args.parallel,
        |host| {
            let root = remote_root_for(args.remote_root.as_deref(), host);
            let head = rollout::script_prelude(&shell_quote(&root), root.is_empty());
            rollout::ssh_install(plan.settings, host, &[head.into(), body.clone()], job)
        },
        |report| {
            if let Some(bar) = &bar {
                bar.inc(1);
            }
            if let Err(e) = print_line(printer, bar.as_ref(), &report.line()) {
                print_error.get_or_insert(e);
            }
        },
    );
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if let Some(e) = print_error {
        return Err(e.into());
    }
    reports.extend(done);
    Ok(reports)
}

fn print_ssh_plan(
    printer: &Printer,
    args: &RolloutArgs,
    cas: &[EndpointCa],
    agents: usize,
    reports: &[AgentReport],
) -> std::io::Result<()> {
    printer.line(format!(
        "dry run: {agents} agent(s) via ssh, {} at a time; nothing is changed",
        args.parallel
    ))?;
    // Each distinct certificate once, with the endpoints it is for.
    let mut shown: Vec<(&trust::Candidate, Vec<String>)> = Vec::new();
    for entry in cas {
        for cert in entry.cas.iter().flatten() {
            match shown
                .iter_mut()
                .find(|(c, _)| c.summary.sha256 == cert.summary.sha256)
            {
                Some((_, endpoints)) => endpoints.push(entry.endpoint.to_string()),
                None => shown.push((cert, vec![entry.endpoint.to_string()])),
            }
        }
    }
    for (cert, endpoints) in shown {
        printer.block(trust::render_candidate(cert, &endpoints).trim_end())?;
    }
    for report in reports {
        printer.line(report.line())?;
        for action in &report.actions {
            printer.line(format!("  {action}"))?;
        }
    }
    Ok(())
}

/// A progress bar only for people: on a terminal, in text mode.
fn progress_bar(len: usize, printer: &Printer) -> Option<indicatif::ProgressBar> {
    if printer.is_json() || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(len as u64);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} agents {elapsed}")
    {
        bar.set_style(style);
    }
    Some(bar)
}

fn print_line(
    printer: &Printer,
    bar: Option<&indicatif::ProgressBar>,
    line: &str,
) -> std::io::Result<()> {
    if printer.is_json() {
        return Ok(());
    }
    match bar {
        Some(bar) => bar.suspend(|| printer.line(line)),
        None => printer.line(line),
    }
}

fn via_marathon(
    args: &RolloutArgs,
    token: Option<&str>,
    trust: &Anchors,
    timeout: Duration,
    payload: &Payload,
    agents: usize,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let app = rollout::marathon_app(payload, agents);
    let Some(url) = &args.marathon_url else {
        printer.json(&app)?;
        return Ok(ExitStatus::Success);
    };
    if args.dry_run {
        printer.warn(format!(
            "dry run: would PUT this app to {}/v2/apps{}",
            url.trim_end_matches('/'),
            MARATHON_APP_ID
        ));
        printer.json(&app)?;
        return Ok(ExitStatus::Success);
    }
    let deployment = rollout::marathon_deploy(url, token, trust, &app, timeout)?;
    let report = serde_json::json!({
        "via": "marathon",
        "app_id": MARATHON_APP_ID,
        "instances": agents,
        "deployment_id": deployment,
    });
    printer.report(&report, |printer| {
        printer.line(format!(
            "{} deployed to Marathon with {agents} instance(s) (deployment {deployment}); once every task runs, remove it: dcos marathon app remove {}",
            MARATHON_APP_ID,
            MARATHON_APP_ID
        ))
    })?;
    Ok(ExitStatus::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_root_substitutes_the_host() {
        assert_eq!(remote_root_for(Some("/t/%h/"), "10.0.0.1"), "/t/10.0.0.1");
        assert_eq!(remote_root_for(Some("/t/100%%/%x"), "h"), "/t/100%/%x");
        assert_eq!(remote_root_for(Some("/"), "h"), "");
        assert_eq!(remote_root_for(None, "h"), "");
    }
}
