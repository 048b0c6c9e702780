//! Edits of Docker's `config.json` (`$DOCKER_CONFIG/config.json`, default
//! `~/.docker/config.json`): only `credHelpers` entries, every other key kept in its order.
//!
//! A write is atomic (temp + fsync + rename, mode 0600 for a new file as Docker makes it).
//! Our own processes serialize on a lock of the directory; Docker does not lock, so the file
//! is read again just before the rename and the edit is redone when a concurrent
//! `docker login` changed it meanwhile. What `login` added is recorded in the data
//! directory (`logins.json`), so `logout` removes exactly that and, when nothing else
//! changed, puts back the original bytes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::lock::DirLock;
use super::{create_private_dir, read_capped};
use crate::fsutil::Fs;
use crate::plugin::PLUGIN_NAME;

/// Docker's config.json is small; anything larger is not one.
const MAX_CONFIG: u64 = 4 * 1024 * 1024;
/// Edits redone at most this often when another writer keeps changing the file.
const ATTEMPTS: usize = 20;
const RECORD_FILE: &str = "logins.json";

/// Docker's `--config DIR` (as a plugin, from docker's own argv), else
/// `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json` (docker/cli `config.Dir()`,
/// where the flag wins over the variable).
pub(crate) fn path(docker_flags: &[std::ffi::OsString]) -> anyhow::Result<PathBuf> {
    if let Some(dir) = crate::plugin::docker_config_flag(docker_flags) {
        return Ok(dir.join("config.json"));
    }
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir).join("config.json"));
    }
    let base = directories::BaseDirs::new()
        .ok_or_else(|| anyhow!("cannot find the home directory — set HOME or DOCKER_CONFIG"))?;
    Ok(base.home_dir().join(".docker").join("config.json"))
}

fn parse(path: &Path, bytes: Option<&[u8]>) -> anyhow::Result<Map<String, Value>> {
    let Some(bytes) = bytes else {
        return Ok(Map::new());
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        // serde_json's message could quote a stored secret: give the line only.
        Err(e) => bail!(
            "{} is not valid JSON (line {}) — fix it or move it away, then run the command again",
            path.display(),
            e.line()
        ),
        Ok(_) => bail!(
            "{} is not a JSON object — fix it or move it away",
            path.display()
        ),
    }
}

/// The `credsStore` config.json names, if any.
pub(crate) fn creds_store(path: &Path) -> anyhow::Result<Option<String>> {
    let bytes = read_capped(path, MAX_CONFIG)?;
    let map = parse(path, bytes.as_deref())?;
    Ok(map
        .get("credsStore")
        .and_then(Value::as_str)
        .map(str::to_string))
}

/// What login changed in one config.json, kept until logout undoes it.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct LoginRecord {
    /// The file before the first change (`None`: it did not exist).
    original: Option<String>,
    /// Spellings whose `credHelpers` entry login created.
    added: Vec<String>,
    /// Spellings whose entry named another helper, with that helper.
    replaced: BTreeMap<String, String>,
    /// Login created the `credHelpers` object itself.
    created_helpers: bool,
}

/// What an edit did, for the report.
#[derive(Debug, Default, Clone, Serialize)]
pub(crate) struct Change {
    pub(crate) config: PathBuf,
    /// Spellings given an entry (or whose entry was taken back).
    pub(crate) entries: Vec<String>,
    /// Spellings whose entry named another helper (now ours; logout gives it back).
    pub(crate) replaced: Vec<String>,
    /// The file was written (or removed).
    pub(crate) written: bool,
    /// logout: the file is byte for byte what it was before login (or gone, as it was).
    pub(crate) restored: bool,
}

enum Outcome {
    Unchanged,
    Write(Vec<u8>),
    Remove,
}

/// Docker's own layout: tab-indented (docker/cli `configfile.SaveToWriter`).
fn render(map: &Map<String, Value>) -> anyhow::Result<Vec<u8>> {
    use serde::Serialize as _;
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"\t");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
    map.serialize(&mut ser)
        .context("cannot encode config.json")?;
    Ok(out)
}

/// Point every spelling at our helper; `dry_run` computes without writing.
pub(crate) fn add_helpers(
    fs: Fs<'_>,
    config_path: &Path,
    spellings: &[String],
    data_dir: &Path,
    dry_run: bool,
) -> anyhow::Result<Change> {
    with_records(fs, data_dir, dry_run, |records| {
        let key = config_path.display().to_string();
        let mut record: Option<LoginRecord> = None;
        let mut change = Change {
            config: config_path.to_path_buf(),
            ..Change::default()
        };
        edit(fs, config_path, dry_run, |before| {
            let mut map = parse(config_path, before)?;
            // Recomputed on every attempt: a retry starts from the other writer's file.
            let earlier = records.get(&key).cloned();
            let fresh = earlier.is_none();
            let rec = record.insert(earlier.unwrap_or_else(|| LoginRecord {
                original: before.map(|b| String::from_utf8_lossy(b).into_owned()),
                ..LoginRecord::default()
            }));
            let helpers = match map.get_mut("credHelpers") {
                Some(Value::Object(helpers)) => helpers,
                Some(_) => bail!(
                    "{}: credHelpers is not an object — fix it, then run login again",
                    config_path.display()
                ),
                None => {
                    if fresh {
                        rec.created_helpers = true;
                    }
                    map.insert("credHelpers".into(), Value::Object(Map::new()));
                    match map.get_mut("credHelpers") {
                        Some(Value::Object(helpers)) => helpers,
                        _ => unreachable!("just inserted an object"),
                    }
                }
            };
            change.entries.clear();
            change.replaced.clear();
            for name in spellings {
                match helpers.get(name).and_then(Value::as_str) {
                    Some(PLUGIN_NAME) => {}
                    other => {
                        if let Some(previous) = other {
                            rec.replaced.insert(name.clone(), previous.to_string());
                            change.replaced.push(name.clone());
                        } else if !rec.added.contains(name) {
                            rec.added.push(name.clone());
                        }
                        helpers.insert(name.clone(), Value::String(PLUGIN_NAME.into()));
                        change.entries.push(name.clone());
                    }
                }
            }
            if change.entries.is_empty() {
                return Ok(Outcome::Unchanged);
            }
            Ok(Outcome::Write(render(&map)?))
        })?;
        change.written = !change.entries.is_empty();
        if let Some(rec) = record {
            if !rec.added.is_empty() || !rec.replaced.is_empty() {
                records.insert(key, rec);
            }
        }
        Ok(change)
    })
}

/// Take back the entries login added for `spellings` (and give replaced ones back).
pub(crate) fn remove_helpers(
    fs: Fs<'_>,
    config_path: &Path,
    spellings: &[String],
    data_dir: &Path,
    dry_run: bool,
) -> anyhow::Result<Change> {
    with_records(fs, data_dir, dry_run, |records| {
        let key = config_path.display().to_string();
        let Some(mut record) = records.get(&key).cloned() else {
            return Ok(Change {
                config: config_path.to_path_buf(),
                ..Change::default()
            });
        };
        let mut change = Change {
            config: config_path.to_path_buf(),
            ..Change::default()
        };
        let mut restored = false;
        edit(fs, config_path, dry_run, |before| {
            let mut map = parse(config_path, before)?;
            let mut rec = records.get(&key).cloned().unwrap_or_default();
            change.entries.clear();
            restored = false;
            if let Some(Value::Object(helpers)) = map.get_mut("credHelpers") {
                for name in spellings {
                    let ours = helpers.get(name).and_then(Value::as_str) == Some(PLUGIN_NAME);
                    if let Some(previous) = rec.replaced.remove(name) {
                        if ours {
                            helpers.insert(name.clone(), Value::String(previous));
                            change.entries.push(name.clone());
                        }
                    } else if let Some(at) = rec.added.iter().position(|a| a == name) {
                        rec.added.remove(at);
                        if ours {
                            helpers.remove(name);
                            change.entries.push(name.clone());
                        }
                    }
                }
                if rec.created_helpers && helpers.is_empty() && rec.added.is_empty() {
                    map.remove("credHelpers");
                }
            }
            let done = rec.added.is_empty() && rec.replaced.is_empty();
            record = rec;
            if change.entries.is_empty() {
                return Ok(Outcome::Unchanged);
            }
            if done {
                match &record.original {
                    None if map.is_empty() => {
                        restored = true;
                        return Ok(Outcome::Remove);
                    }
                    Some(original) => {
                        let was = parse(config_path, Some(original.as_bytes()))?;
                        if Value::Object(was) == Value::Object(map.clone()) {
                            restored = true;
                            return Ok(Outcome::Write(original.clone().into_bytes()));
                        }
                    }
                    None => {}
                }
            }
            Ok(Outcome::Write(render(&map)?))
        })?;
        change.written = !change.entries.is_empty();
        change.restored = restored;
        if record.added.is_empty() && record.replaced.is_empty() {
            records.remove(&key);
        } else {
            records.insert(key, record);
        }
        Ok(change)
    })
}

/// Run `work` on the login records under the data directory's lock, then save them.
#[allow(clippy::disallowed_methods)] // the user's Docker config and credentials store, not paths under --root
fn with_records<T>(
    fs: Fs<'_>,
    data_dir: &Path,
    dry_run: bool,
    work: impl FnOnce(&mut BTreeMap<String, LoginRecord>) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    if !dry_run {
        create_private_dir(data_dir)?;
    }
    let _lock = if data_dir.is_dir() {
        Some(DirLock::exclusive(data_dir)?)
    } else {
        None
    };
    let path = data_dir.join(RECORD_FILE);
    let mut records: BTreeMap<String, LoginRecord> = match read_capped(&path, MAX_CONFIG)? {
        Some(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
            anyhow!(
                "{} is damaged (line {}) — move it away; logout then removes nothing it cannot prove login added",
                path.display(),
                e.line()
            )
        })?,
        None => BTreeMap::new(),
    };
    let before = serde_json::to_vec(&records).context("cannot encode login records")?;
    let result = work(&mut records)?;
    let after = serde_json::to_vec(&records).context("cannot encode login records")?;
    if !dry_run && before != after {
        if records.is_empty() {
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(crate::fsutil::permission_hint(e, &path)),
            }
        } else {
            let mut text = serde_json::to_vec_pretty(&records)?;
            text.push(b'\n');
            fs.write_atomic(&path, &text, 0o600)?;
        }
    }
    Ok(result)
}

/// Where config.json's bytes live: a symlinked config.json (a dotfile manager's) is written
/// through the link, as docker/cli's `configfile.Save` does (`os.Readlink`), so the link
/// stays a link.
#[allow(clippy::disallowed_methods)] // the user's Docker config and credentials store, not paths under --root
fn resolve_link(path: &Path) -> PathBuf {
    match std::fs::read_link(path) {
        Ok(target) if target.is_absolute() => target,
        Ok(target) => path.parent().unwrap_or(Path::new(".")).join(target),
        Err(_) => path.to_path_buf(),
    }
}

/// The identity of the file at `path` now: a concurrent writer's rename gives a new inode,
/// an in-place write a new ctime.
#[allow(clippy::disallowed_methods)] // the user's Docker config and credentials store, not paths under --root
fn identity(path: &Path) -> Option<(u64, i64, i64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path)
        .ok()
        .map(|m| (m.ino(), m.ctime(), m.ctime_nsec()))
}

/// Read, change, write the new file, check that nothing replaced the one we read, rename:
/// the change is recomputed when the file moved under us. The check comes after the
/// temporary file is written and synced, right before the rename, so a `docker login` that
/// lands during that window is not lost.
#[allow(clippy::disallowed_methods)] // the user's Docker config and credentials store, not paths under --root
fn edit(
    fs: Fs<'_>,
    path: &Path,
    dry_run: bool,
    mut change: impl FnMut(Option<&[u8]>) -> anyhow::Result<Outcome>,
) -> anyhow::Result<()> {
    let path = &resolve_link(path);
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    if dry_run {
        let before = read_capped(path, MAX_CONFIG)?;
        change(before.as_deref())?;
        return Ok(());
    }
    create_private_dir(dir)?;
    let _lock = DirLock::exclusive(dir)?;
    for _ in 0..ATTEMPTS {
        let read_as = identity(path);
        let before = read_capped(path, MAX_CONFIG)?;
        let outcome = change(before.as_deref())?;
        let staged = match &outcome {
            Outcome::Unchanged => return Ok(()),
            Outcome::Write(bytes) => Some(fs.stage(path, bytes, 0o600)?),
            Outcome::Remove => None,
        };
        // A concurrent `docker login` renames its own temp file over the one we read: if it
        // did so since we read, redo the edit on its version instead of discarding its change.
        if identity(path) != read_as || read_capped(path, MAX_CONFIG)? != before {
            continue;
        }
        match staged {
            Some(staged) => staged.commit()?,
            None => {
                std::fs::remove_file(path).map_err(|e| crate::fsutil::permission_hint(e, path))?
            }
        }
        return Ok(());
    }
    bail!(
        "{} kept changing while we edited it — run the command again when nothing else is writing it",
        path.display()
    )
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests build their fixtures directly
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn login_then_logout_restores_the_bytes_and_keeps_other_keys() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("docker/config.json");
        let data = dir.path().join("data");
        std::fs::create_dir_all(config.parent().unwrap()).unwrap();
        let original = "{\n  \"auths\": {\"x.example\": {\"auth\": \"eDp5\"}},\n  \"psFormat\": \"table\"\n}\n";
        std::fs::write(&config, original).unwrap();
        let spellings = names(&["10.0.0.1", "10.0.0.1:443", "10.0.0.2:5000"]);
        let added = add_helpers(Fs::REAL, &config, &spellings, &data, false).unwrap();
        assert_eq!(added.entries, spellings);
        let text = std::fs::read_to_string(&config).unwrap();
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["credHelpers"]["10.0.0.2:5000"], "dcosreg");
        assert_eq!(value["psFormat"], "table");
        assert_eq!(value["auths"]["x.example"]["auth"], "eDp5");
        let keys: Vec<&String> = value.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["auths", "psFormat", "credHelpers"], "order kept");
        // Idempotent: a second login changes nothing.
        let again = add_helpers(Fs::REAL, &config, &spellings, &data, false).unwrap();
        assert!(!again.written);
        let removed = remove_helpers(Fs::REAL, &config, &spellings, &data, false).unwrap();
        assert!(removed.restored);
        assert_eq!(std::fs::read_to_string(&config).unwrap(), original);
        assert!(!data.join(RECORD_FILE).exists());
    }

    #[test]
    fn a_symlinked_config_is_written_through_and_restored_as_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let dotfiles = dir.path().join("dotfiles");
        std::fs::create_dir_all(&dotfiles).unwrap();
        let real = dotfiles.join("docker-config.json");
        let original = "{\n  \"psFormat\": \"table\"\n}\n";
        std::fs::write(&real, original).unwrap();
        let config = dir.path().join("docker/config.json");
        std::fs::create_dir_all(config.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink("../dotfiles/docker-config.json", &config).unwrap();
        let data = dir.path().join("data");
        let spellings = names(&["10.0.0.1"]);
        add_helpers(Fs::REAL, &config, &spellings, &data, false).unwrap();
        let is_link = |p: &Path| {
            std::fs::symlink_metadata(p)
                .unwrap()
                .file_type()
                .is_symlink()
        };
        assert!(is_link(&config), "login replaced the link with a file");
        assert!(std::fs::read_to_string(&real)
            .unwrap()
            .contains("credHelpers"));
        let removed = remove_helpers(Fs::REAL, &config, &spellings, &data, false).unwrap();
        assert!(removed.restored);
        assert!(is_link(&config), "logout replaced the link with a file");
        assert_eq!(std::fs::read_to_string(&real).unwrap(), original);
    }

    #[test]
    fn a_missing_file_is_created_private_and_removed_again() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("d/config.json");
        let data = dir.path().join("data");
        let spellings = names(&["h:5000"]);
        add_helpers(Fs::REAL, &config, &spellings, &data, false).unwrap();
        let mode = std::fs::metadata(&config).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        remove_helpers(Fs::REAL, &config, &spellings, &data, false).unwrap();
        assert!(!config.exists());
    }

    #[test]
    fn logout_leaves_entries_it_did_not_add_and_gives_back_replaced_ones() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.json");
        let data = dir.path().join("data");
        std::fs::write(
            &config,
            r#"{"credHelpers": {"h:5000": "pass", "other.example": "gcloud"}}"#,
        )
        .unwrap();
        let spellings = names(&["h", "h:443", "h:5000"]);
        let added = add_helpers(Fs::REAL, &config, &spellings, &data, false).unwrap();
        assert_eq!(added.replaced, ["h:5000"]);
        // A concurrent edit by someone else after login: kept by logout.
        let mut value: Value =
            serde_json::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
        value["credsStore"] = "pass".into();
        std::fs::write(&config, value.to_string()).unwrap();
        let removed = remove_helpers(Fs::REAL, &config, &spellings, &data, false).unwrap();
        assert!(!removed.restored);
        let value: Value =
            serde_json::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
        assert_eq!(value["credHelpers"]["h:5000"], "pass");
        assert_eq!(value["credHelpers"]["other.example"], "gcloud");
        assert!(value["credHelpers"].get("h").is_none());
        assert_eq!(value["credsStore"], "pass");
    }

    #[test]
    fn a_docker_login_landing_between_read_and_rename_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.json");
        std::fs::write(&config, r#"{"auths": {}}"#).unwrap();
        let mut calls = 0;
        edit(Fs::REAL, &config, false, |before| {
            calls += 1;
            let mut map = parse(&config, before)?;
            if calls == 1 {
                // What `docker login other.example` does meanwhile: its own temp + rename.
                let theirs = r#"{"auths": {"other.example": {"auth": "eDp5"}}}"#;
                let temp = dir.path().join("theirs.tmp");
                std::fs::write(&temp, theirs).unwrap();
                std::fs::rename(&temp, &config).unwrap();
            }
            map.insert(
                "credHelpers".into(),
                serde_json::json!({"h:5000": "dcosreg"}),
            );
            Ok(Outcome::Write(render(&map)?))
        })
        .unwrap();
        assert_eq!(calls, 2, "the edit was redone on the new file");
        let value: Value =
            serde_json::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
        assert_eq!(value["auths"]["other.example"]["auth"], "eDp5");
        assert_eq!(value["credHelpers"]["h:5000"], "dcosreg");
    }

    #[test]
    fn broken_json_is_refused_without_quoting_it() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.json");
        std::fs::write(&config, "{\"auths\": {\"h\": {\"auth\": \"c2VjcmV0\"}").unwrap();
        let err = add_helpers(
            Fs::REAL,
            &config,
            &names(&["h"]),
            &dir.path().join("d"),
            false,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("not valid JSON") && !err.contains("c2VjcmV0"),
            "{err}"
        );
    }
}
