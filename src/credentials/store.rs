//! Where secrets live: the `credsStore` helper that Docker's config.json names (pass,
//! secretservice, osxkeychain, desktop, …), else a 0600 file in the user's data directory —
//! unencrypted, as Docker's own `auths` in config.json are without a store.
//!
//! A delegate helper gets the secret on stdin only (the credential-helper protocol), never
//! in its arguments; its stdout is read with a size cap.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{anyhow, bail, Context};
use serde::{Deserialize, Serialize};

use super::lock::DirLock;
use super::{read_capped, Credential, NOT_FOUND};
use crate::fsutil::Fs;

/// The longest answer read from a delegate helper or the secrets file.
const MAX_READ: u64 = 1024 * 1024;

/// The secrets file's name in the data directory.
pub(crate) const FILE_NAME: &str = "credentials.json";

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Store {
    /// A JSON file, mode 0600.
    File(PathBuf),
    /// `docker-credential-<name>`.
    Helper(String),
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct SecretsFile {
    #[serde(default)]
    credentials: BTreeMap<String, Credential>,
}

impl Store {
    /// The delegate named by `creds_store` (unless it is ourselves), else the file in `data_dir`.
    pub(crate) fn choose(creds_store: Option<&str>, data_dir: &Path) -> Store {
        match creds_store {
            Some(name) if !name.is_empty() && name != crate::plugin::PLUGIN_NAME => {
                Store::Helper(name.to_string())
            }
            _ => Store::File(data_dir.join(FILE_NAME)),
        }
    }

    /// For people: `file /home/u/.local/share/dcosreg/credentials.json`, `docker-credential-pass`.
    pub(crate) fn describe(&self) -> String {
        match self {
            Store::File(path) => format!("file {}", path.display()),
            Store::Helper(name) => format!("docker-credential-{name}"),
        }
    }

    pub(crate) fn is_file(&self) -> bool {
        matches!(self, Store::File(_))
    }

    /// A secrets file that has grown wider than 0600 (a `chmod`, a copy, a restore) is made
    /// 0600 again; the warning to print says so, since others could read it meanwhile.
    #[allow(clippy::disallowed_methods)] // the user's Docker config and credentials store, not paths under --root
    pub(crate) fn tighten(&self) -> Option<String> {
        use std::os::unix::fs::PermissionsExt;
        let Store::File(path) = self else {
            return None;
        };
        let meta = std::fs::symlink_metadata(path)
            .ok()
            .filter(|m| m.is_file())?;
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o077 == 0 {
            return None;
        }
        let done = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
        Some(match done {
            Ok(()) => format!(
                "{} was mode {mode:04o}, readable by others: it is 0600 again — change the registry password if anyone else could read it",
                path.display()
            ),
            Err(e) => format!(
                "{} is mode {mode:04o}, readable by others, and cannot be made 0600 ({e}) — chmod 600 it",
                path.display()
            ),
        })
    }

    pub(crate) fn get(&self, key: &str) -> anyhow::Result<Option<Credential>> {
        match self {
            Store::File(path) => Ok(read_file(path)?.credentials.remove(key)),
            Store::Helper(name) => {
                let (ok, out) = run_helper(name, "get", key.as_bytes())?;
                if !ok {
                    if out.trim() == NOT_FOUND {
                        return Ok(None);
                    }
                    bail!("{}", helper_failure(name, "get", &out));
                }
                #[derive(Deserialize)]
                #[serde(rename_all = "PascalCase")]
                struct Answer {
                    username: String,
                    secret: String,
                }
                let answer: Answer = serde_json::from_str(&out).map_err(|_| {
                    anyhow!("docker-credential-{name} get answered something that is not the credential-helper JSON")
                })?;
                // Older helpers (docker-credential-pass 0.6) answer a miss with empty fields.
                if answer.username.is_empty() && answer.secret.is_empty() {
                    return Ok(None);
                }
                Ok(Some(Credential {
                    username: answer.username,
                    secret: answer.secret,
                }))
            }
        }
    }

    pub(crate) fn put(&self, fs: Fs<'_>, key: &str, credential: &Credential) -> anyhow::Result<()> {
        match self {
            Store::File(path) => update_file(fs, path, |file| {
                file.credentials.insert(key.to_string(), credential.clone());
            }),
            Store::Helper(name) => {
                let input = serde_json::json!({
                    "ServerURL": key,
                    "Username": credential.username,
                    "Secret": credential.secret,
                });
                let (ok, out) = run_helper(name, "store", input.to_string().as_bytes())?;
                if !ok {
                    bail!("{}", helper_failure(name, "store", &out));
                }
                Ok(())
            }
        }
    }

    /// Remove `key`; `Ok(false)` when nothing was stored under it.
    #[allow(clippy::disallowed_methods)] // the user's Docker config and credentials store, not paths under --root
    pub(crate) fn erase(&self, fs: Fs<'_>, key: &str) -> anyhow::Result<bool> {
        match self {
            Store::File(path) => {
                if !path.exists() {
                    return Ok(false);
                }
                let mut removed = false;
                update_file(fs, path, |file| {
                    removed = file.credentials.remove(key).is_some();
                })?;
                Ok(removed)
            }
            Store::Helper(name) => {
                let (ok, out) = run_helper(name, "erase", key.as_bytes())?;
                if !ok {
                    if out.trim() == NOT_FOUND {
                        return Ok(false);
                    }
                    bail!("{}", helper_failure(name, "erase", &out));
                }
                Ok(true)
            }
        }
    }

    /// Keys and user names stored in the file (a delegate is asked key by key instead).
    pub(crate) fn file_entries(&self) -> anyhow::Result<BTreeMap<String, String>> {
        match self {
            Store::File(path) => Ok(read_file(path)?
                .credentials
                .into_iter()
                .map(|(key, c)| (key, c.username))
                .collect()),
            Store::Helper(_) => Ok(BTreeMap::new()),
        }
    }
}

fn read_file(path: &Path) -> anyhow::Result<SecretsFile> {
    let Some(bytes) = read_capped(path, MAX_READ)? else {
        return Ok(SecretsFile::default());
    };
    // serde_json's message could quote a value: say only where the file is broken.
    serde_json::from_slice(&bytes).map_err(|e| {
        anyhow!(
            "{} is not a docker-dcosreg secrets file (line {}) — move it away and log in again",
            path.display(),
            e.line()
        )
    })
}

fn update_file(
    fs: Fs<'_>,
    path: &Path,
    change: impl FnOnce(&mut SecretsFile),
) -> anyhow::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    super::create_private_dir(dir)?;
    let _lock = DirLock::exclusive(dir)?;
    let mut file = read_file(path)?;
    change(&mut file);
    let mut text = serde_json::to_vec_pretty(&file).context("cannot encode the secrets file")?;
    text.push(b'\n');
    // 0600 from the first byte, whatever the old file's mode was.
    fs.write_secret(path, &text)?;
    Ok(())
}

/// Run `docker-credential-NAME ACTION` with `input` on stdin: (exit status 0, stdout).
fn run_helper(name: &str, action: &str, input: &[u8]) -> anyhow::Result<(bool, String)> {
    let program = format!("docker-credential-{name}");
    let mut child = Command::new(&program)
        .arg(action)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| {
            anyhow!(
                "cannot run {program} (config.json names credsStore {name:?}): {e} — install it, or remove credsStore from config.json"
            )
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        // A helper that exits without reading stdin closes the pipe: its status tells.
        let _ = stdin.write_all(input);
    }
    let mut out = Vec::new();
    if let Some(stdout) = child.stdout.take() {
        stdout
            .take(MAX_READ)
            .read_to_end(&mut out)
            .with_context(|| format!("cannot read the answer of {program} {action}"))?;
    }
    let status = child
        .wait()
        .with_context(|| format!("{program} {action} did not finish"))?;
    Ok((status.success(), String::from_utf8_lossy(&out).into_owned()))
}

fn helper_failure(name: &str, action: &str, out: &str) -> String {
    let first = out.lines().next().unwrap_or("").trim();
    format!(
        "docker-credential-{name} {action} failed: {}",
        crate::text::sanitize_line(if first.is_empty() {
            "no message"
        } else {
            first
        })
    )
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests build their fixtures directly
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn file_store_round_trip_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data/dcosreg");
        let store = Store::choose(None, &data);
        assert_eq!(store, Store::File(data.join(FILE_NAME)));
        assert_eq!(store.get("k:443").unwrap(), None);
        assert!(!store.erase(Fs::REAL, "k:443").unwrap());
        let cred = Credential {
            username: "alice".into(),
            secret: "s3cret".into(),
        };
        store.put(Fs::REAL, "k:443", &cred).unwrap();
        assert_eq!(store.get("k:443").unwrap(), Some(cred));
        let mode = std::fs::metadata(data.join(FILE_NAME))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(
            std::fs::metadata(&data).unwrap().permissions().mode() & 0o777,
            0o700
        );
        assert_eq!(store.file_entries().unwrap()["k:443"], "alice");
        assert!(store.erase(Fs::REAL, "k:443").unwrap());
        assert_eq!(store.get("k:443").unwrap(), None);
    }

    #[test]
    fn our_own_name_as_creds_store_is_not_a_delegate() {
        let data = Path::new("/nonexistent");
        assert!(Store::choose(Some("dcosreg"), data).is_file());
        assert!(Store::choose(Some(""), data).is_file());
        assert_eq!(
            Store::choose(Some("pass"), data),
            Store::Helper("pass".into())
        );
    }
}
