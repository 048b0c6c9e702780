//! The guide's Layer-4 load-balancer workaround: DC/OS agents need
//! `net.netfilter.nf_conntrack_tcp_be_liberal=1`, else long pushes and pulls through the VIP
//! are cut by conntrack. The guide sets it with `sysctl -w` only, so it is lost on reboot.

use super::{display, looks_like_dcos, quote, Finding, Fixes, Severity};
use crate::config::Config;

// The key and the file `rollout --conntrack-liberal` writes on agents, spelled once.
use crate::rollout::{SYSCTL_FILE as PERSIST_FILE, SYSCTL_KEY as KEY};

const PROC: &str = "/proc/sys/net/netfilter/nf_conntrack_tcp_be_liberal";

pub(super) fn inspect(config: &Config, fixes: &Fixes) -> Vec<Finding> {
    if !looks_like_dcos(config) {
        return Vec::new();
    }
    let mut findings = Vec::new();
    let sudo = fixes.sudo();
    let proc_path = config.host_path(PROC);
    // Under a staged root this is any file: bounded, and a FIFO is refused, not waited on.
    let live = crate::fsutil::read_file(&proc_path, 64)
        .ok()
        .map(|v| String::from_utf8_lossy(&v).trim().to_string());
    if live.as_deref().is_some_and(|v| v != "1") {
        let fix = if sudo.is_empty() {
            format!("echo 1 > {}", quote(&proc_path))
        } else {
            format!("sudo sysctl -w {KEY}=1")
        };
        findings.push(
            Finding::new(
                "conntrack-strict",
                Severity::Warning,
                format!(
                    "{KEY} is {} on this DC/OS node ({}): the Layer-4 VIP may cut registry pushes and pulls",
                    live.unwrap_or_default(),
                    display(&proc_path)
                ),
            )
            .fix(fix),
        );
    }
    if !persisted(config) {
        let file = config.host_path(PERSIST_FILE);
        findings.push(
            Finding::new(
                "conntrack-not-persisted",
                Severity::Info,
                format!(
                    "{KEY}=1 is not set in /etc/sysctl.d or /etc/sysctl.conf: a reboot resets it"
                ),
            )
            .fix(format!(
                "{sudo}mkdir -p {} && echo {KEY}=1 | {sudo}tee {} >/dev/null",
                quote(file.parent().unwrap_or(&file)),
                quote(&file)
            )),
        );
    }
    findings
}

fn persisted(config: &Config) -> bool {
    let mut files = vec![config.host_path("/etc/sysctl.conf")];
    if let Ok(entries) = std::fs::read_dir(config.host_path("/etc/sysctl.d")) {
        files.extend(entries.filter_map(Result::ok).map(|e| e.path()));
    }
    files.iter().any(|file| {
        crate::fsutil::read_text(file).is_ok_and(|text| {
            text.lines().any(|line| {
                let line: String = line.chars().filter(|c| !c.is_whitespace()).collect();
                line == format!("{KEY}=1")
            })
        })
    })
}
