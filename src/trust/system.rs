//! The system trust store, for everything else on the host (curl, Go programs without
//! their own pool, the Mesos fetcher): Debian/Ubuntu `/usr/local/share/ca-certificates/
//! *.crt` + `update-ca-certificates`, RHEL/CentOS (the usual DC/OS agent) `/etc/pki/
//! ca-trust/source/anchors/` + `update-ca-trust extract`. The tools run only when ROOT is
//! `/`: under a staged root they would rebuild the wrong bundle.

use std::path::PathBuf;

use super::{cert_step, Anchor, Host, Step, Target};

const DEBIAN: &str = "/usr/local/share/ca-certificates";
const RHEL: &str = "/etc/pki/ca-trust/source/anchors";

/// The anchor directories of the layouts present.
fn layouts(host: &Host) -> Vec<(PathBuf, &'static str)> {
    let mut out = Vec::new();
    if host.path("/etc/pki/ca-trust").is_dir() {
        out.push((host.path(RHEL), "update-ca-trust"));
    }
    if host.path(DEBIAN).is_dir() || host.path("/etc/ca-certificates.conf").exists() {
        out.push((host.path(DEBIAN), "update-ca-certificates"));
    }
    out
}

pub(crate) fn detect(host: &Host) -> bool {
    !layouts(host).is_empty()
}

pub(crate) fn check(host: &Host, anchors: &[Anchor], force: bool) -> anyhow::Result<Vec<Step>> {
    let dirs = layouts(host);
    if dirs.is_empty() {
        anyhow::bail!(
            "no known system trust store under {} (looked for {DEBIAN} and /etc/pki/ca-trust) — leave out --target system",
            host.config.root.value.display()
        );
    }
    let mut steps = Vec::new();
    for (dir, _) in &dirs {
        for anchor in anchors {
            // Named by fingerprint: one file per CA however many endpoints share it.
            let path = dir.join(format!("dcosreg-{}.crt", anchor.tag()));
            steps.push(cert_step(
                Target::System,
                vec![anchor.endpoint.clone()],
                path,
                &anchor.pem,
                force,
            )?);
        }
    }
    Ok(super::merge_same_path(steps))
}

pub(crate) fn notes(host: &Host) -> Vec<String> {
    if host.config.is_real_root() {
        Vec::new()
    } else {
        let tools: Vec<&str> = layouts(host).into_iter().map(|(_, tool)| tool).collect();
        vec![format!(
            "system: run {} inside {} to rebuild its bundle (not run for a staged --root)",
            tools.join(" / "),
            host.config.root.value.display()
        )]
    }
}

/// Rebuild the bundle with the distribution's tool, only on the real root.
pub(crate) fn refresh(host: &Host, printer: &crate::output::Printer) {
    if !host.config.is_real_root() {
        return;
    }
    for (_, tool) in layouts(host) {
        let mut command = std::process::Command::new(tool);
        if tool == "update-ca-trust" {
            command.arg("extract");
        }
        match command.stdout(std::process::Stdio::null()).status() {
            Ok(status) if status.success() => {}
            Ok(status) => printer.warn(format!(
                "system: {tool} exited with {status} — run it by hand"
            )),
            Err(e) => printer.warn(format!(
                "system: cannot run {tool} ({e}) — install ca-certificates and run it by hand"
            )),
        }
    }
}
