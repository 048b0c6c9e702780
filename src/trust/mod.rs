//! Trust targets: one file per store (docker, containerd, containers, buildkit, mesos,
//! system), and each file owns everything about its store, mkcert style: where it keeps
//! trust (the one spelling of its paths, which the other layers take from here), `detect`
//! (is it on this host), `check` (the install plan: which files must hold what; reads
//! only), `restarts` and `notes` (what the change needs), and `inspect` (what on the host
//! stands between the store and the CA, as [`Finding`]s). The shared [`install`] and
//! [`uninstall`] here do the writing, so every store gets the same atomic writes, the same
//! "already installed" answers and the same manifest. `doctor` reports every store's
//! inspection; `trust` reports the traps among them for the endpoints it installs.
//!
//! Every path is under `--root` ([`Host::path`]), read and written through [`Host::fs`]. What we wrote is recorded in
//! [`manifest`] *before* writing, so a kill -9 at any point leaves `untrust` able to clean
//! up, and `untrust` removes a file only while it still holds what we wrote.
//!
//! # API (for `trust`, `untrust`, `doctor`, `rollout`, and the paths for `check`, `endpoint`, `snippet`)
//! ```text
//! Host::from_env(&Config) -> Host                       // --root, uid, XDG directories
//! Host::{path, fs}                                      // a host path under --root; its files (fsutil::Fs)
//! select_targets(&Host, given: &[Target]) -> Vec<Target>   // given (each once), else what is here
//! Target::{ALL, name, dedup, detect} (clap ValueEnum)               // docker,containerd,containers,buildkit,mesos,system
//! Target::check(&Host, &[Anchor], force) -> Result<Vec<Step>>   // the install plan, reads only
//! install(&Host, &[Step]) -> Result<()>                 // manifest first, then atomic writes
//! uninstall(&Host, endpoints, targets, dry_run) -> Result<Vec<Removal>>
//! Target::{notes, restarts, refresh}                    // what a change needs afterwards
//! prune_links(&Host, &[Removal])                        // untrust: the system store's recorded links
//! Target::inspect(&Host, &[Endpoint], Scope::{Host|Traps}, &Fixes) -> Vec<Finding>
//! Anchor::from_approved(&EndpointCa) -> Option<Anchor>  // what to install for one endpoint
//! Different::{Keep, Replace, Beside}; beside(path, pem) -> Option<PathBuf>  // --add: ca-<fp>.crt
//!
//! DOCKER_CERTS_D, docker_certs_d(&Config), docker_endpoint_dir(&Config, &Endpoint) -> Result<PathBuf>  // where Docker keeps trust (an error when it cannot be resolved inside --root),
//! docker_ca_file(name) -> String, CONTAINERS_CERTS_D  // for x509, probe, rollout, snippet
//! certs_d_ca_files(dir, &Endpoint) -> Vec<PathBuf>  // a certs.d store's CA files: trust's plan and rollout's script
//!
//! // where a CA comes from, and its confirmation (`source`), for `trust` and `rollout`:
//! obtain_ca(Fs, &CaSource, &[Endpoint], deadline) -> Result<Vec<EndpointCa>, SourceError>
//! confirm_ca(&[EndpointCa], &Confirmation, &Printer) -> Result<Approved, Refusal>
//! in_validity(&[EndpointCa]) -> Result<(), Refusal>  // expired/not-yet-valid CA or chain refused
//! render_candidate(&Candidate, endpoints) -> String; Approval, Refusal::exit_status
//! // the daemons that read what we wrote, and their restarts (`running`):
//! Restart; newest_change(Fs, &[PathBuf]) -> Option<SystemTime>; merge_restarts(Vec<Restart>)
//! ```
//! `running` and `source` are private modules of their own, as the store files are;
//! [`manifest`] records what we wrote.

mod buildkit;
mod certsd;
mod containerd;
mod containers;
mod docker;
mod manifest;
mod mesos;
mod running;
mod source;
mod system;
mod tomlca;

pub(crate) use certsd::{ca_files as certs_d_ca_files, Scope, CA_FILE};
pub(crate) use containers::CERTS_D as CONTAINERS_CERTS_D;
pub(crate) use docker::{
    ca_file as docker_ca_file, certs_d as docker_certs_d, endpoint_dir as docker_endpoint_dir,
    CERTS_D as DOCKER_CERTS_D,
};
pub(crate) use running::{merge as merge_restarts, newest_change, restart_line, Restart};
pub(crate) use source::{
    confirm as confirm_ca, from_handshake as ca_from_handshake, in_validity, obtain as obtain_ca,
    parse_fingerprints, render as render_candidate, Approval, Approved, CaSource, Candidate,
    Confirmation, EndpointCa, Refusal,
};

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::endpoint::Endpoint;
use crate::finding::{Finding, Fixes};
use crate::fsutil::Fs;

/// A trust store; on the command line `--target LIST` (comma-separated, any case).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
#[value(rename_all = "lowercase")]
pub(crate) enum Target {
    Docker,
    Containerd,
    Containers,
    Buildkit,
    Mesos,
    System,
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Target {
    pub(crate) const ALL: [Target; 6] = [
        Target::Docker,
        Target::Containerd,
        Target::Containers,
        Target::Buildkit,
        Target::Mesos,
        Target::System,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Target::Docker => "docker",
            Target::Containerd => "containerd",
            Target::Containers => "containers",
            Target::Buildkit => "buildkit",
            Target::Mesos => "mesos",
            Target::System => "system",
        }
    }

    /// `--target` as given, each once, in order; empty means "not given".
    pub(crate) fn dedup(given: &[Target]) -> Vec<Target> {
        let mut out = Vec::new();
        for target in given {
            if !out.contains(target) {
                out.push(*target);
            }
        }
        out
    }

    /// Whether this store is present on the host. Docker always counts: it is the product
    /// we serve, and its certs.d also serves containerd-based tools that read it.
    pub(crate) fn detect(self, host: &Host) -> bool {
        match self {
            Target::Docker => docker::detect(host),
            Target::Containerd => containerd::detect(host),
            Target::Containers => containers::detect(host),
            Target::Buildkit => buildkit::detect(host),
            Target::Mesos => mesos::detect(host),
            Target::System => system::detect(host),
        }
    }

    /// The files this store needs for these anchors, and what is there now; `different`
    /// says what to do where another CA is already installed.
    pub(crate) fn check(
        self,
        host: &Host,
        anchors: &[Anchor],
        different: Different,
    ) -> anyhow::Result<Vec<Step>> {
        match self {
            Target::Docker => docker::check(host, anchors, different),
            Target::Containerd => containerd::check(host, anchors, different),
            Target::Containers => containers::check(host, anchors, different),
            Target::Buildkit => buildkit::check(host, anchors, different),
            Target::Mesos => mesos::check(host, anchors, different),
            Target::System => system::check(host, anchors, different),
        }
    }

    /// What the user should know after a change (restarts, config prerequisites).
    pub(crate) fn notes(self, host: &Host) -> Vec<String> {
        match self {
            Target::Docker => docker::notes(host),
            Target::Containerd => containerd::notes(host),
            Target::Containers => containers::notes(host),
            Target::Buildkit => buildkit::notes(host),
            Target::Mesos => mesos::notes(host),
            Target::System => system::notes(host),
        }
    }

    /// The running daemons that must restart before pulls and builds see a change to this
    /// store made at `when` (empty: a promise that none must).
    pub(crate) fn restarts(
        self,
        host: &Host,
        when: std::time::SystemTime,
    ) -> Vec<running::Restart> {
        match self {
            Target::Docker => docker::restarts(host, when),
            Target::Containerd => containerd::restarts(host, when),
            Target::Buildkit => buildkit::restarts(host, when),
            Target::System => system::restarts(host, when),
            // podman, skopeo, buildah: no daemon, certs.d is read per pull. Mesos: its
            // agent's restart rule is a note (UCR, not a Docker pull path).
            Target::Containers | Target::Mesos => Vec::new(),
        }
    }

    /// What on the host stands between this store and the CA for `endpoints`: everything
    /// for `doctor` ([`Scope::Host`]), or only what makes an installed CA useless for
    /// `trust` ([`Scope::Traps`]).
    pub(crate) fn inspect(
        self,
        host: &Host,
        endpoints: &[Endpoint],
        scope: Scope,
        fixes: &Fixes,
    ) -> Vec<Finding> {
        match self {
            Target::Docker => docker::inspect(host, endpoints, scope, fixes),
            Target::Containerd => containerd::inspect(host, endpoints, scope, fixes),
            Target::Containers => containers::inspect(host, endpoints, scope, fixes),
            Target::Buildkit => buildkit::inspect(host, endpoints, scope, fixes),
            // UCR's CA directory and the system bundle hold files only we name: nothing
            // there can hide an installed CA.
            Target::Mesos | Target::System => Vec::new(),
        }
    }

    /// Run after files of this store changed; `written` are the files `trust` just wrote
    /// (empty for `untrust`). Records in the manifest the links the system store's tool
    /// made to them, the only ones [`prune_links`] removes.
    pub(crate) fn refresh(
        self,
        host: &Host,
        printer: &crate::output::Printer,
        written: &[PathBuf],
    ) -> anyhow::Result<()> {
        if self == Target::System {
            let found = system::refresh(host, printer, written)?;
            manifest::record_links(host, &found)?;
        }
        Ok(())
    }
}

/// The targets to use: `--target`, else those detected plus docker.
pub(crate) fn select_targets(host: &Host, given: &[Target]) -> Vec<Target> {
    let named = Target::dedup(given);
    if !named.is_empty() {
        return named;
    }
    Target::ALL.into_iter().filter(|t| t.detect(host)).collect()
}

/// The machine we install on: paths under `--root`, and who we run as.
#[derive(Debug, Clone)]
pub(crate) struct Host<'a> {
    pub(crate) config: &'a Config,
    /// Effective uid 0: system directories; otherwise per-user ones where they exist.
    pub(crate) is_root: bool,
    pub(crate) home: Option<PathBuf>,
    pub(crate) xdg_config: Option<PathBuf>,
    pub(crate) xdg_runtime: Option<PathBuf>,
}

impl<'a> Host<'a> {
    pub(crate) fn from_env(config: &'a Config) -> Host<'a> {
        let home = std::env::var_os("HOME").map(PathBuf::from);
        let xdg_config = std::env::var_os("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .or_else(|| home.as_ref().map(|h| h.join(".config")));
        Host {
            config,
            is_root: effective_uid(config.fs()) == Some(0),
            home,
            xdg_config,
            xdg_runtime: std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from),
        }
    }

    /// A host path under `--root` ([`Config::host_path`]): an error naming it when a link
    /// there cannot be resolved inside the root.
    pub(crate) fn path(&self, path: impl AsRef<Path>) -> anyhow::Result<PathBuf> {
        self.config.host_path(path)
    }

    /// The files of this run, confined under `--root` ([`Config::fs`]).
    pub(crate) fn fs(&self) -> crate::fsutil::Fs<'a> {
        self.config.fs()
    }

    /// Whether a host path under `--root` is a directory; one that cannot be resolved
    /// inside the root is not (detection only: `check` then says why, naming it).
    pub(crate) fn is_dir(&self, path: impl AsRef<Path>) -> bool {
        self.path(path).is_ok_and(|p| self.fs().is_dir(&p))
    }

    /// A per-user path (`~/.config/...`) under `--root`, when the user has a config dir.
    pub(crate) fn user_config(&self, rel: &str) -> Option<anyhow::Result<PathBuf>> {
        self.xdg_config.as_ref().map(|c| self.path(c.join(rel)))
    }

    /// The path as the running daemon sees it (without `--root`), for config files that
    /// name other files.
    pub(crate) fn unrooted(&self, path: &Path) -> PathBuf {
        match path.strip_prefix(&self.config.root.value) {
            Ok(rel) => Path::new("/").join(rel),
            Err(_) => path.to_path_buf(),
        }
    }
}

/// Effective uid from /proc (no libc dependency for one number).
fn effective_uid(fs: Fs<'_>) -> Option<u32> {
    let status = fs.read_text(Path::new("/proc/self/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

/// What to install for one endpoint: its approved anchors as one PEM bundle.
#[derive(Debug, Clone)]
pub(crate) struct Anchor {
    pub(crate) endpoint: Endpoint,
    pub(crate) pem: String,
    /// SHA-256 (colon hex) of each certificate in `pem`.
    pub(crate) fingerprints: Vec<String>,
}

impl Anchor {
    pub(crate) fn from_approved(entry: &source::EndpointCa) -> Option<Anchor> {
        let cas = entry.cas.as_ref().ok()?;
        Some(Anchor {
            endpoint: entry.endpoint.clone(),
            pem: entry.bundle_pem(),
            fingerprints: cas.iter().map(|c| c.summary.sha256.clone()).collect(),
        })
    }

    /// A short file-name tag for stores that hold many CAs in one directory.
    pub(crate) fn tag(&self) -> String {
        let first = self.fingerprints.first().map(String::as_str).unwrap_or("");
        first
            .replace(':', "")
            .to_ascii_lowercase()
            .chars()
            .take(16)
            .collect()
    }
}

/// What happens to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Action {
    /// The file does not exist: write it.
    Create,
    /// It exists and must change (a TOML edit, or `--force` over a different CA).
    Update,
    /// It already holds what we would write.
    AlreadyInstalled,
    /// A different CA is there; kept because `--force` was not given.
    KeptDifferent,
}

impl Action {
    pub(crate) fn writes(self) -> bool {
        matches!(self, Action::Create | Action::Update)
    }

    pub(crate) fn describe(self) -> &'static str {
        match self {
            Action::Create => "install",
            Action::Update => "update",
            Action::AlreadyInstalled => "already installed",
            Action::KeptDifferent => "different CA kept (--force replaces it, --add trusts both)",
        }
    }
}

/// One TOML table entry we add to a file we share with the user, so `untrust` can take
/// exactly that out again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Edit {
    pub(crate) endpoint: String,
    pub(crate) outer: String,
    pub(crate) inner: String,
    pub(crate) ca_path: String,
}

/// One file a store needs.
#[derive(Debug, Clone)]
pub(crate) struct Step {
    pub(crate) target: Target,
    /// Endpoints this file serves (several when one CA file is shared).
    pub(crate) endpoints: Vec<Endpoint>,
    pub(crate) path: PathBuf,
    pub(crate) action: Action,
    /// The file's whole content after installing.
    pub(crate) contents: Vec<u8>,
    /// TOML entries added (empty for files that are wholly ours).
    pub(crate) edits: Vec<Edit>,
}

/// What `trust` does where a different CA is already installed in the file it would write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Different {
    /// Keep it and say so (the default: never replace trust silently).
    Keep,
    /// Replace it (`--force`).
    Replace,
    /// Install the new CA beside it, in a file of its own (`--add`: a CA rotation, where
    /// both must be trusted until every registry serves the new certificate).
    Beside,
}

impl Different {
    pub(crate) fn from_flags(force: bool, add: bool) -> Different {
        match (force, add) {
            (_, true) => Different::Beside,
            (true, false) => Different::Replace,
            (false, false) => Different::Keep,
        }
    }

    /// The flag that asks `trust` for it, as a command line carries it: ` --force`,
    /// ` --add`, or nothing (the reverse of [`Different::from_flags`]).
    pub(crate) fn flag(self) -> &'static str {
        match self {
            Different::Replace => " --force",
            Different::Beside => " --add",
            Different::Keep => "",
        }
    }
}

/// `ca.crt` → `ca-<tag>.crt`: where [`Different::Beside`] puts a CA next to another, named
/// after its fingerprint (Docker and containers/image read every `*.crt` of a certs.d
/// directory; the TOML stores list each file).
pub(crate) fn beside(path: &Path, pem: &str) -> Option<PathBuf> {
    let der = crate::x509::pem::parse_certificates(pem.as_bytes(), Path::new("-"))
        .ok()?
        .into_iter()
        .next()?;
    let tag: String = crate::x509::pem::sha256_fingerprint(der.as_ref())
        .replace(':', "")
        .to_ascii_lowercase()
        .chars()
        .take(16)
        .collect();
    let stem = path.file_stem()?.to_string_lossy().into_owned();
    let name = match path.extension() {
        Some(ext) => format!("{stem}-{tag}.{}", ext.to_string_lossy()),
        None => format!("{stem}-{tag}"),
    };
    Some(path.with_file_name(name))
}

/// A CA file step: compares certificates, not bytes, so a CRLF or re-encoded copy of the
/// same CA counts as installed.
pub(crate) fn cert_step(
    fs: Fs<'_>,
    target: Target,
    endpoints: Vec<Endpoint>,
    path: PathBuf,
    pem: &str,
    different: Different,
) -> anyhow::Result<Step> {
    let action = match fs.read_file(&path, crate::fsutil::MAX_FILE) {
        Ok(existing) if same_certificates(&existing, pem.as_bytes()) => Action::AlreadyInstalled,
        Ok(_) if different == Different::Replace => Action::Update,
        Ok(_) if different == Different::Beside => {
            if let Some(next) = beside(&path, pem).filter(|next| *next != path) {
                return cert_step(fs, target, endpoints, next, pem, Different::Keep);
            }
            Action::KeptDifferent
        }
        Ok(_) => Action::KeptDifferent,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Action::Create,
        // --force replaces what is there whatever it holds: a file this user cannot read,
        // a FIFO or an oversized file (doctor's ca-unreadable, certs-d-no-ca) is replaced
        // unread, by a rename in its directory. (A directory, which no rename replaces, and
        // a path that cannot be resolved inside the root stay errors, before any write.)
        Err(e)
            if different == Different::Replace
                && matches!(
                    e.kind(),
                    std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::InvalidData
                )
                && !fs.is_dir(&path) =>
        {
            Action::Update
        }
        Err(e) => return Err(crate::fsutil::permission_hint(e, &path)),
    };
    Ok(Step {
        target,
        endpoints,
        path,
        action,
        contents: pem.as_bytes().to_vec(),
        edits: Vec::new(),
    })
}

fn same_certificates(a: &[u8], b: &[u8]) -> bool {
    if a == b {
        return true;
    }
    let parse = |bytes: &[u8]| crate::x509::pem::parse_certificates(bytes, Path::new("-")).ok();
    match (parse(a), parse(b)) {
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

/// Read a text file that may be absent (absent = empty).
pub(crate) fn read_optional(fs: Fs<'_>, path: &Path) -> anyhow::Result<Option<String>> {
    match fs.read_text(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(crate::fsutil::permission_hint(e, path)),
    }
}

/// Merge steps that name the same path (one CA shared by several endpoints).
pub(crate) fn merge_same_path(steps: Vec<Step>) -> Vec<Step> {
    let mut out: Vec<Step> = Vec::new();
    for step in steps {
        match out
            .iter_mut()
            .find(|s| s.path == step.path && s.contents == step.contents)
        {
            Some(existing) => {
                for ep in step.endpoints {
                    if !existing.endpoints.contains(&ep) {
                        existing.endpoints.push(ep);
                    }
                }
            }
            None => out.push(step),
        }
    }
    out
}

/// Write every step that needs writing. Checks first that each directory can be written,
/// so a permission problem stops before the first file; records the manifest before the
/// files; each file is replaced atomically (fsutil).
pub(crate) fn install(host: &Host, steps: &[Step]) -> anyhow::Result<()> {
    for dir in steps.iter().filter_map(|s| s.path.parent()) {
        remove_stale_temps(host.fs(), dir);
    }
    let writes: Vec<&Step> = steps.iter().filter(|s| s.action.writes()).collect();
    if writes.is_empty() {
        return Ok(());
    }
    let manifest_path = manifest::path(host)?;
    for dir in writes
        .iter()
        .filter_map(|s| s.path.parent())
        .chain(manifest_path.parent())
    {
        preflight(host.fs(), dir)?;
    }
    let mut record = manifest::Manifest::load(host.fs(), &manifest_path)?;
    let mut planned = Vec::new();
    for step in &writes {
        let parent = step.path.parent().context("a target path has no parent")?;
        planned.push((step, missing_dirs(host.fs(), parent)));
    }
    for (step, dirs) in &planned {
        record.add(host, step, dirs);
    }
    record.save(host.fs(), &manifest_path)?;
    for (step, _) in &planned {
        if let Some(parent) = step.path.parent() {
            host.fs().create_dirs(parent)?;
        }
        host.fs().write_atomic(&step.path, &step.contents, 0o644)?;
    }
    Ok(())
}

/// A kill -9 between creating fsutil's temp file and renaming it leaves a
/// `.dcosreg-*.tmp` behind (never read by any store: none of them reads `*.tmp`). Remove
/// those older than a minute, so an interrupted run is cleaned up by the next one without
/// racing a run in progress.
pub(crate) fn remove_stale_temps(fs: Fs<'_>, dir: &Path) {
    let Ok(dir) = fs.confine(dir, true) else {
        return;
    };
    let Ok(entries) = fs.read_dir(&dir) else {
        return;
    };
    let limit = std::time::Duration::from_secs(60);
    for (path, _) in entries {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if !(name.starts_with(".dcosreg-") && name.ends_with(".tmp")) {
            continue;
        }
        let stale = fs
            .symlink_metadata(&path)
            .ok()
            .filter(std::fs::Metadata::is_file)
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > limit);
        if stale {
            let _ = fs.remove_file(&path);
        }
    }
}

/// Directories that `create_dirs(dir)` would create, outermost first.
fn missing_dirs(fs: Fs<'_>, dir: &Path) -> Vec<PathBuf> {
    let mut missing: Vec<PathBuf> = dir
        .ancestors()
        .take_while(|d| !d.as_os_str().is_empty() && !fs.exists(d))
        .map(Path::to_path_buf)
        .collect();
    missing.reverse();
    missing
}

/// Can we create files under `dir` (or its nearest existing ancestor)? Tried with an
/// unnamed temp file, which leaves nothing behind.
fn preflight(fs: Fs<'_>, dir: &Path) -> anyhow::Result<()> {
    let existing = dir
        .ancestors()
        .find(|d| fs.is_dir(d))
        .unwrap_or_else(|| Path::new("/"));
    tempfile::tempfile_in(existing)
        .map(drop)
        .map_err(|e| crate::fsutil::permission_hint(e, dir))
}

pub(crate) use manifest::{uninstall, Removal};
/// After `untrust` removed files: the links the manifest recorded for the system store's
/// ones, each removed only while it still leads to our file ([`system::prune_links`]).
pub(crate) fn prune_links(host: &Host, removals: &[Removal]) -> anyhow::Result<()> {
    let removed: Vec<(&Path, &[system::Link])> = removals
        .iter()
        .filter(|r| r.target == Target::System)
        .map(|r| (r.path.as_path(), r.links.as_slice()))
        .collect();
    system::prune_links(host, &removed)
}

/// A staged root for the stores' unit tests: root's view (`is_root`), the two default
/// endpoints of the guide, nothing taken from this process's environment.
#[cfg(test)]
pub(crate) fn staged_config(root: &Path, internal: &str, external: &str) -> Config {
    use crate::config::{Setting, Source};
    fn flag<T>(value: T) -> Setting<T> {
        Setting {
            value,
            source: Source::Flag,
        }
    }
    Config {
        internal: flag(internal.parse().unwrap()),
        external: flag(external.parse().unwrap()),
        root: flag(root.to_path_buf()),
        timeout: Setting {
            value: std::time::Duration::from_secs(1),
            source: Source::Default,
        },
        fallback_delay: Setting {
            value: std::time::Duration::from_millis(250),
            source: Source::Default,
        },
        format: crate::output::Format::Text,
        config_file: None,
        docker_flags: Vec::new(),
    }
}

#[cfg(test)]
pub(crate) fn staged_host(config: &Config) -> Host<'_> {
    Host {
        config,
        is_root: true,
        home: None,
        xdg_config: None,
        xdg_runtime: None,
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests build their fixtures directly
mod tests {
    use super::*;

    #[test]
    fn target_lists_parse() {
        use clap::ValueEnum;
        let parse = |name: &str| Target::from_str(name, true);
        let given: Vec<Target> = ["docker", "Containerd", "docker"]
            .into_iter()
            .map(|n| parse(n).unwrap())
            .collect();
        assert_eq!(
            Target::dedup(&given),
            vec![Target::Docker, Target::Containerd]
        );
        assert!(parse("dockerd").is_err());
        assert!(Target::dedup(&[]).is_empty());
        for target in Target::ALL {
            assert_eq!(
                parse(target.name()),
                Ok(target),
                "the JSON name is the flag's"
            );
        }
    }

    #[test]
    fn same_certificate_in_other_encoding_counts_as_installed() {
        let cert = rcgen::generate_simple_self_signed(vec!["r".into()]).unwrap();
        let lf = crate::x509::pem::to_pem(cert.cert.der());
        let crlf = lf.replace('\n', "\r\n");
        assert!(same_certificates(crlf.as_bytes(), lf.as_bytes()));
        let other = rcgen::generate_simple_self_signed(vec!["r".into()]).unwrap();
        assert!(!same_certificates(
            crate::x509::pem::to_pem(other.cert.der()).as_bytes(),
            lf.as_bytes()
        ));
        assert!(!same_certificates(b"junk", lf.as_bytes()));
    }
}
