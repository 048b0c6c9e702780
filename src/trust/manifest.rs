//! The record of what `trust` wrote, at `ROOT/var/lib/docker-dcosreg/installed.json`.
//!
//! It is written before the files it lists (see [`super::install`]), so after a crash it
//! may list a file that was never written; `untrust` copes, because it removes a file only
//! while its content is exactly what we recorded, edits TOML files only to take out the
//! entries we added, and removes only the directories we created, once they are empty.
//! Paths are stored as seen from ROOT (`/etc/docker/...`), so a staged root can be moved.

use std::path::{Component, Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use super::{tomlca, Edit, Host, Step, Target};
use crate::endpoint::Endpoint;
use crate::fsutil::Fs;

pub(crate) const RELATIVE: &str = "/var/lib/docker-dcosreg/installed.json";

pub(crate) fn path(host: &Host) -> anyhow::Result<PathBuf> {
    host.path(RELATIVE)
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Manifest {
    pub(crate) version: u32,
    pub(crate) files: Vec<Entry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Entry {
    pub(crate) target: Target,
    pub(crate) endpoints: Vec<String>,
    /// Path as seen from ROOT.
    pub(crate) path: PathBuf,
    /// SHA-256 (hex) of the whole content we last wrote.
    pub(crate) sha256: String,
    /// We created the file (it did not exist before the first `trust`).
    pub(crate) created: bool,
    /// Directories we created for it, outermost first, as seen from ROOT.
    pub(crate) created_dirs: Vec<PathBuf>,
    /// TOML entries we added to a file shared with the user.
    #[serde(default)]
    pub(crate) edits: Vec<Edit>,
    /// Links to this file that the distribution's tool made when `trust` ran it (Debian's
    /// `/etc/ssl/certs/<name>.pem` and `<hash>.0`): `untrust` removes these and no others,
    /// and only while they still lead to this file.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) links: Vec<Link>,
}

pub(crate) use super::system::Link;

fn sha256_hex(bytes: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Manifest {
    pub(crate) fn load(fs: Fs<'_>, path: &Path) -> anyhow::Result<Manifest> {
        match fs.read_file(path, crate::fsutil::MAX_FILE) {
            Ok(bytes) => serde_json::from_slice(&bytes).with_context(|| {
                format!(
                    "{} is damaged — move it away and run untrust/trust again",
                    path.display()
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Manifest {
                version: 1,
                files: Vec::new(),
            }),
            Err(e) => Err(crate::fsutil::permission_hint(e, path)),
        }
    }

    pub(crate) fn save(&self, fs: Fs<'_>, path: &Path) -> anyhow::Result<()> {
        if self.files.is_empty() {
            match fs.remove_file(path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(crate::fsutil::permission_hint(e, path)),
            }
            if let Some(dir) = path.parent() {
                let _ = fs.remove_dir(dir); // ours; only if empty
            }
            return Ok(());
        }
        if let Some(dir) = path.parent() {
            fs.create_dirs(dir)?;
        }
        let mut text = serde_json::to_vec_pretty(self)?;
        text.push(b'\n');
        fs.write_atomic(path, &text, 0o644)
    }

    /// Record a step about to be written; `missing` are the directories it will create.
    pub(crate) fn add(&mut self, host: &Host, step: &Step, missing: &[PathBuf]) {
        let rel = host.unrooted(&step.path);
        let sha256 = sha256_hex(&step.contents);
        let endpoints: Vec<String> = step.endpoints.iter().map(ToString::to_string).collect();
        if let Some(entry) = self.files.iter_mut().find(|e| e.path == rel) {
            entry.sha256 = sha256;
            for ep in endpoints {
                if !entry.endpoints.contains(&ep) {
                    entry.endpoints.push(ep);
                }
            }
            for edit in &step.edits {
                if !entry.edits.contains(edit) {
                    entry.edits.push(edit.clone());
                }
            }
            return;
        }
        self.files.push(Entry {
            target: step.target,
            endpoints,
            path: rel,
            sha256,
            created: !host.fs().exists(&step.path),
            created_dirs: missing.iter().map(|d| host.unrooted(d)).collect(),
            edits: step.edits.clone(),
            links: Vec::new(),
        });
    }
}

/// Record `found` (our file's full path, a link the distribution's tool made to it) in the
/// entries of those files.
pub(crate) fn record_links(host: &Host, found: &[(PathBuf, Link)]) -> anyhow::Result<()> {
    if found.is_empty() {
        return Ok(());
    }
    let manifest_path = path(host)?;
    let mut record = Manifest::load(host.fs(), &manifest_path)?;
    for (file, link) in found {
        let file = host.unrooted(file);
        if let Some(entry) = record.files.iter_mut().find(|e| e.path == file) {
            if !entry.links.contains(link) {
                entry.links.push(link.clone());
            }
        }
    }
    record.save(host.fs(), &manifest_path)
}

/// What `untrust` did (or would do) to one file.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Removal {
    pub(crate) target: Target,
    pub(crate) endpoints: Vec<String>,
    pub(crate) path: PathBuf,
    /// `remove`, `edit` (our TOML entries taken out), `already-absent`, `changed-kept`
    /// (content changed since trust: left alone), `narrowed` (still used by another endpoint).
    pub(crate) action: &'static str,
    /// The recorded links to the file, now that it is gone (none when it was kept).
    #[serde(skip)]
    pub(crate) links: Vec<Link>,
}

impl Entry {
    /// A manifest is a file on disk: whoever can edit it must not be able to make
    /// `untrust` delete or edit anything but the store files `trust` writes. Each path must
    /// be absolute as seen from ROOT, without `.`/`..`, strictly inside its target's own
    /// directories, and each created directory must be an ancestor of it.
    fn validate(&self, host: &Host) -> Result<(), String> {
        let bad = |why: &str| Err(format!("entry {:?} {why}", self.path));
        if !self.path.is_absolute() {
            return bad("is not an absolute path");
        }
        if self
            .path
            .components()
            .any(|c| !matches!(c, Component::RootDir | Component::Normal(_)))
            || self.path.to_string_lossy().contains("//")
        {
            return bad("contains `.` or `..`");
        }
        let dirs = own_dirs(host, self.target);
        if !dirs
            .iter()
            .any(|d| self.path.starts_with(d) && self.path != *d)
        {
            return bad(&format!(
                "is outside the {} store's directories",
                self.target
            ));
        }
        for dir in &self.created_dirs {
            let ancestor = self.path.ancestors().skip(1).any(|a| a == dir);
            if !ancestor || dir == Path::new("/") {
                return Err(format!(
                    "entry {:?} lists {dir:?} as a directory it created, which is not one of its parents",
                    self.path
                ));
            }
        }
        if self.sha256.len() != 64 || !self.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return bad("has no valid sha256");
        }
        for link in &self.links {
            let name = link.path.strip_prefix(super::system::LINK_DIR).ok();
            let plain = name.is_some_and(|n| {
                matches!(
                    n.components().collect::<Vec<_>>()[..],
                    [Component::Normal(_)]
                )
            });
            if self.target != Target::System || !plain {
                return Err(format!(
                    "entry {:?} lists the link {:?}, which is not one the system store's tool makes",
                    self.path, link.path
                ));
            }
        }
        Ok(())
    }
}

/// The directories a store writes into, as seen from ROOT (trust/<target>.rs), both as
/// named and as links under ROOT resolve them (where `trust` then wrote).
fn own_dirs(host: &Host, target: Target) -> Vec<PathBuf> {
    let named = named_dirs(host, target);
    // A directory that cannot be resolved inside the root is no place trust wrote.
    let resolved = named
        .iter()
        .filter_map(|d| host.path(d).ok())
        .map(|d| host.unrooted(&d));
    let mut all: Vec<PathBuf> = resolved.collect();
    all.extend(named);
    all
}

fn named_dirs(host: &Host, target: Target) -> Vec<PathBuf> {
    let user = |rel: &str| host.xdg_config.as_ref().map(|c| c.join(rel));
    let mut dirs: Vec<PathBuf> = match target {
        Target::Docker => vec![super::docker::CERTS_D.into()],
        Target::Containerd => vec![super::containerd::CERTS_D.into()],
        Target::Containers => vec![super::containers::CERTS_D.into()],
        Target::Buildkit => vec![super::buildkit::ETC.into()],
        Target::Mesos => vec![super::mesos::DIR.into()],
        Target::System => super::system::DIRS.iter().map(PathBuf::from).collect(),
    };
    dirs.extend(match target {
        Target::Docker => user("docker/certs.d"),
        Target::Containers => user("containers/certs.d"),
        Target::Buildkit => user("buildkit"),
        _ => None,
    });
    dirs
}

/// The certificates a whole-file entry holds now, when it still holds what we wrote (as
/// SHA-256 fingerprints, colon hex).
fn fingerprints_of(host: &Host, entry: &Entry) -> Vec<String> {
    let Ok(full) = host.path(&entry.path) else {
        return Vec::new();
    };
    match host.fs().read_file(&full, crate::fsutil::MAX_FILE) {
        Ok(bytes) if sha256_hex(&bytes) == entry.sha256 => {
            crate::x509::pem::parse_certificates(&bytes, &full)
                .map(|ders| {
                    ders.iter()
                        .map(|d| crate::x509::pem::sha256_fingerprint(d.as_ref()))
                        .collect()
                })
                .unwrap_or_default()
        }
        _ => Vec::new(),
    }
}

/// Remove what `trust` installed for these endpoints and targets (`None` = all recorded);
/// with `only` (SHA-256 fingerprints, colon hex), only the files that hold nothing but
/// those CAs, and the TOML entries that name those files: one CA of a rotation.
pub(crate) fn uninstall(
    host: &Host,
    endpoints: &[Endpoint],
    targets: Option<&[Target]>,
    only: Option<&[String]>,
    dry_run: bool,
) -> anyhow::Result<Vec<Removal>> {
    let manifest_path = path(host)?;
    let mut record = Manifest::load(host.fs(), &manifest_path)?;
    for entry in &record.files {
        entry.validate(host).map_err(|why| {
            anyhow::anyhow!(
                "{}: {why} — the manifest was edited or is damaged; nothing was removed. Check it and move it away",
                manifest_path.display()
            )
        })?;
    }
    let selection = Selection {
        host,
        endpoints,
        targets,
        only,
    };
    selection.resolve_paths(&record.files)?;
    let their_files = selection.their_files(&record.files);
    let mut outcome = Outcome::default();
    for entry in std::mem::take(&mut record.files) {
        selection.take_out(entry, &their_files, dry_run, &mut outcome)?;
    }
    if dry_run {
        return Ok(outcome.removals);
    }
    remove_created_dirs(host.fs(), outcome.dirs_to_try);
    record.files = outcome.keep;
    record.save(host.fs(), &manifest_path)?;
    Ok(outcome.removals)
}

/// What one `uninstall` run takes out: the entries for these endpoints in these targets
/// (`None` = all), and with `only` (SHA-256 fingerprints) those CAs' alone.
struct Selection<'a> {
    host: &'a Host<'a>,
    endpoints: &'a [Endpoint],
    targets: Option<&'a [Target]>,
    only: Option<&'a [String]>,
}

/// What the entries became: the removals to report, the entries that stay recorded, and
/// the directories we created that may now be empty.
#[derive(Default)]
struct Outcome {
    removals: Vec<Removal>,
    keep: Vec<Entry>,
    dirs_to_try: Vec<PathBuf>,
}

impl Selection<'_> {
    /// A recorded endpoint is one of those asked for (one that does not parse is not).
    fn selected(&self, ep: &str) -> bool {
        ep.parse::<Endpoint>()
            .map(|e| self.endpoints.contains(&e))
            .unwrap_or(false)
    }

    fn in_targets(&self, entry: &Entry) -> bool {
        self.targets.is_none_or(|ts| ts.contains(&entry.target))
    }

    /// Without `only`, every entry; with it, a file holding those CAs and nothing else.
    fn is_those_cas(&self, entry: &Entry) -> bool {
        self.only.is_none_or(|fps| {
            let held = fingerprints_of(self.host, entry);
            !held.is_empty() && held.iter().all(|fp| fps.contains(fp))
        })
    }

    /// Every path this run may touch resolves inside the root before anything is removed:
    /// one that cannot (a link that loops there) stops the run, naming it.
    fn resolve_paths(&self, files: &[Entry]) -> anyhow::Result<()> {
        for entry in files {
            if self.in_targets(entry) && entry.endpoints.iter().any(|ep| self.selected(ep)) {
                self.host.path(&entry.path)?;
                for dir in &entry.created_dirs {
                    self.host.path(dir)?;
                }
                if !entry.links.is_empty() {
                    self.host.path(super::system::LINK_DIR)?;
                }
            }
        }
        Ok(())
    }

    /// With `only`: the CA files of those CAs, as the TOML entries name them.
    fn their_files(&self, files: &[Entry]) -> Vec<String> {
        files
            .iter()
            .filter(|e| e.edits.is_empty() && self.only.is_some() && self.is_those_cas(e))
            .map(|e| Path::new("/").join(&e.path).to_string_lossy().into_owned())
            .collect()
    }

    /// One recorded entry: kept as it is when it is not selected, else its file removed
    /// or narrowed to the other endpoints, or our TOML entries taken out of it.
    fn take_out(
        &self,
        mut entry: Entry,
        their_files: &[String],
        dry_run: bool,
        out: &mut Outcome,
    ) -> anyhow::Result<()> {
        let in_targets =
            self.in_targets(&entry) && (!entry.edits.is_empty() || self.is_those_cas(&entry));
        let ours: Vec<String> = entry
            .endpoints
            .iter()
            .filter(|ep| self.selected(ep))
            .cloned()
            .collect();
        if !in_targets || ours.is_empty() {
            out.keep.push(entry);
            return Ok(());
        }
        let full = self.host.path(&entry.path)?;
        let remaining: Vec<String> = entry
            .endpoints
            .iter()
            .filter(|ep| !self.selected(ep))
            .cloned()
            .collect();
        let (action, done) = if entry.edits.is_empty() {
            if !remaining.is_empty() {
                ("narrowed", false)
            } else {
                remove_whole(self.host.fs(), &full, &entry.sha256, dry_run)?
            }
        } else {
            let mine = |edit: &Edit| {
                ours.contains(&edit.endpoint)
                    && (self.only.is_none() || their_files.contains(&edit.ca_path))
            };
            if !entry.edits.iter().any(mine) {
                out.keep.push(entry);
                return Ok(());
            }
            remove_edits(self.host.fs(), &full, &mut entry, &mine, dry_run)?
        };
        let gone = done && matches!(action, "remove" | "already-absent");
        out.removals.push(Removal {
            target: entry.target,
            endpoints: ours,
            path: full,
            action,
            links: if gone {
                std::mem::take(&mut entry.links)
            } else {
                Vec::new()
            },
        });
        if done {
            for dir in &entry.created_dirs {
                out.dirs_to_try.push(self.host.path(dir)?);
            }
        } else {
            out.keep.extend(still_recorded(entry, remaining));
        }
        Ok(())
    }
}

/// What stays recorded of an entry that was not wholly taken out.
fn still_recorded(mut entry: Entry, remaining: Vec<String>) -> Option<Entry> {
    if !entry.edits.is_empty() {
        // A TOML file keeps the entries that were not taken out (another endpoint's, or
        // with `only` another CA's): it stays recorded for them.
        let mut left: Vec<String> = Vec::new();
        for edit in &entry.edits {
            if !left.contains(&edit.endpoint) {
                left.push(edit.endpoint.clone());
            }
        }
        entry.endpoints = left;
        Some(entry)
    } else {
        entry.endpoints = remaining;
        (!entry.endpoints.is_empty()).then_some(entry)
    }
}

/// The directories we created, once empty: deepest first; remove_dir fails on a non-empty
/// directory, which is what we want.
fn remove_created_dirs(fs: Fs<'_>, mut dirs_to_try: Vec<PathBuf>) {
    dirs_to_try.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
    dirs_to_try.dedup();
    for dir in dirs_to_try {
        super::remove_stale_temps(fs, &dir);
        let _ = fs.remove_dir(&dir);
    }
}

/// A file wholly ours: removed only while it holds exactly what we wrote.
fn remove_whole(
    fs: Fs<'_>,
    full: &Path,
    sha256: &str,
    dry_run: bool,
) -> anyhow::Result<(&'static str, bool)> {
    match fs.read_file(full, crate::fsutil::MAX_FILE) {
        Ok(bytes) if sha256_hex(&bytes) == sha256 => {
            if !dry_run {
                fs.remove_file(full)
                    .map_err(|e| crate::fsutil::permission_hint(e, full))?;
            }
            Ok(("remove", true))
        }
        Ok(_) => Ok(("changed-kept", true)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(("already-absent", true)),
        Err(e) => Err(crate::fsutil::permission_hint(e, full)),
    }
}

/// A TOML file shared with the user: take our entries for `ours` out; delete the file if
/// we created it and nothing but whitespace is left.
fn remove_edits(
    fs: Fs<'_>,
    full: &Path,
    entry: &mut Entry,
    is_mine: &dyn Fn(&Edit) -> bool,
    dry_run: bool,
) -> anyhow::Result<(&'static str, bool)> {
    let Some(mut text) = super::read_optional(fs, full)? else {
        entry.edits.retain(|e| !is_mine(e));
        return Ok(("already-absent", entry.edits.is_empty()));
    };
    if sha256_hex(text.as_bytes()) != entry.sha256 {
        // Someone edited the file since we last wrote it (a comment, another `server`):
        // their file, their call. Nothing is edited or removed, and untrust says so.
        entry.edits.retain(|e| !is_mine(e));
        return Ok(("changed-kept", entry.edits.is_empty()));
    }
    if entry.created
        && entry.edits.iter().all(is_mine)
        && sha256_hex(text.as_bytes()) == entry.sha256
    {
        {
            if !dry_run {
                fs.remove_file(full)
                    .map_err(|e| crate::fsutil::permission_hint(e, full))?;
            }
            return Ok(("remove", true));
        }
    }
    let mut changed = false;
    let (mine, others): (Vec<Edit>, Vec<Edit>) = std::mem::take(&mut entry.edits)
        .into_iter()
        .partition(|e| is_mine(e));
    for edit in &mine {
        let extra = super::containerd::extra_for(edit);
        let extra_ref: Vec<(&str, toml_edit::Value)> =
            extra.iter().map(|(k, v)| (*k, v.clone())).collect();
        match tomlca::remove_ca(&text, &edit.outer, &edit.inner, &edit.ca_path, &extra_ref) {
            Ok(Some(new)) => {
                text = new;
                changed = true;
            }
            Ok(None) => {}
            Err(e) => anyhow::bail!("{}: {e}", full.display()),
        }
    }
    entry.edits = others;
    let done = entry.edits.is_empty();
    if !changed {
        return Ok(("changed-kept", done));
    }
    if dry_run {
        return Ok(("edit", done));
    }
    if entry.created && done && super::containerd::is_leftover(&text) {
        fs.remove_file(full)
            .map_err(|e| crate::fsutil::permission_hint(e, full))?;
        return Ok(("remove", true));
    }
    fs.write_atomic(full, text.as_bytes(), 0o644)?;
    entry.sha256 = sha256_hex(text.as_bytes());
    Ok(("edit", done))
}
