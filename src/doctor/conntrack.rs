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
    let paths =
        [PROC, PERSIST_FILE, "/etc/sysctl.conf", "/etc/sysctl.d"].map(|p| config.host_path(p));
    if paths.iter().any(Result::is_err) {
        // A link under --root that cannot be resolved inside it: said, nothing read.
        return paths
            .into_iter()
            .filter_map(Result::err)
            .map(crate::finding::unresolvable)
            .collect();
    }
    let [proc_path, file, sysctl_conf, sysctl_d] = paths.map(|p| p.unwrap_or_default());
    // Under a staged root this is any file: bounded, and a FIFO is refused, not waited on.
    let live = config
        .fs()
        .read_file(&proc_path, 64)
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
    if !persisted(config.fs(), &sysctl_conf, &sysctl_d) {
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

fn persisted(
    fs: crate::fsutil::Fs<'_>,
    sysctl_conf: &std::path::Path,
    sysctl_d: &std::path::Path,
) -> bool {
    let mut files = vec![sysctl_conf.to_path_buf()];
    if let Ok(entries) = fs.read_dir(sysctl_d) {
        files.extend(entries.into_iter().map(|(path, _)| path));
    }
    files.iter().any(|file| {
        fs.read_text(file).is_ok_and(|text| {
            text.lines().any(|line| {
                let line: String = line.chars().filter(|c| !c.is_whitespace()).collect();
                line == format!("{KEY}=1")
            })
        })
    })
}
