//! Which registry spellings each stored secret is for.
//!
//! `login` checks the secret against the endpoints it was given (flags, environment or
//! config) and records their spellings here, under the key the secret is stored by. Docker
//! runs `docker-credential-dcosreg get` with no flags and no environment, so the helper
//! answers from this record, not from whatever the configuration says at that moment: a
//! login made with `--external B` still serves B, and a later config that names another host
//! never receives this secret. `logout` removes the record with the secret.
//!
//! No secret is kept here; the file sits beside the secrets file in the data directory
//! (0700), written atomically, 0600, under the directory's lock.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context};
use serde::{Deserialize, Serialize};

use super::lock::DirLock;
use crate::endpoint::Endpoint;
use crate::fsutil::Fs;

/// The record's name in the data directory.
pub(crate) const FILE_NAME: &str = "registries.json";

const MAX_READ: u64 = 1024 * 1024;

#[derive(Debug, Default, Serialize, Deserialize)]
struct RecordFile {
    /// Stored key → the registry spellings (`host`, `host:443`, `host:port`) it serves.
    #[serde(default)]
    registries: BTreeMap<String, Vec<String>>,
}

/// The record in `data_dir`.
#[derive(Debug, Clone)]
pub(crate) struct Record {
    path: PathBuf,
}

/// The key in `registries` whose spellings name `endpoint` (any spelling of the same
/// `host:port`).
pub(crate) fn key_naming(
    registries: &BTreeMap<String, Vec<String>>,
    endpoint: &Endpoint,
) -> Option<String> {
    let names = |spelling: &String| {
        spelling
            .parse::<Endpoint>()
            .is_ok_and(|e| e.host_port() == endpoint.host_port())
    };
    registries
        .iter()
        .find(|(_, spellings)| spellings.iter().any(names))
        .map(|(key, _)| key.clone())
}

impl Record {
    pub(crate) fn in_dir(data_dir: &Path) -> Record {
        Record {
            path: data_dir.join(FILE_NAME),
        }
    }

    fn read(&self) -> anyhow::Result<RecordFile> {
        let Some(bytes) = super::read_capped(&self.path, MAX_READ)? else {
            return Ok(RecordFile::default());
        };
        serde_json::from_slice(&bytes).map_err(|e| {
            anyhow!(
                "{} is not a docker-dcosreg login record (line {}) — move it away and log in again",
                self.path.display(),
                e.line()
            )
        })
    }

    fn update(&self, fs: Fs<'_>, change: impl FnOnce(&mut RecordFile)) -> anyhow::Result<()> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        super::create_private_dir(dir)?;
        let _lock = DirLock::exclusive(dir)?;
        let mut file = self.read()?;
        change(&mut file);
        let mut text =
            serde_json::to_vec_pretty(&file).context("cannot encode the login record")?;
        text.push(b'\n');
        fs.write_atomic(&self.path, &text, 0o600)
    }

    /// The stored key whose login named `endpoint`, if any.
    pub(crate) fn key_for(&self, endpoint: &Endpoint) -> anyhow::Result<Option<String>> {
        Ok(key_naming(&self.all()?, endpoint))
    }

    /// Every key and the spellings it serves.
    pub(crate) fn all(&self) -> anyhow::Result<BTreeMap<String, Vec<String>>> {
        Ok(self.read()?.registries)
    }

    /// `key` now serves exactly `spellings`; no other key serves any of them any more.
    pub(crate) fn set(&self, fs: Fs<'_>, key: &str, spellings: &[String]) -> anyhow::Result<()> {
        self.update(fs, |file| {
            for (_, served) in file.registries.iter_mut() {
                served.retain(|s| !spellings.contains(s));
            }
            file.registries.retain(|_, served| !served.is_empty());
            file.registries.insert(key.to_string(), spellings.to_vec());
        })
    }

    /// Forget `key`.
    #[allow(clippy::disallowed_methods)] // the user's Docker config and credentials store, not paths under --root
    pub(crate) fn remove(&self, fs: Fs<'_>, key: &str) -> anyhow::Result<()> {
        if !self.path.exists() {
            return Ok(());
        }
        self.update(fs, |file| {
            file.registries.remove(key);
        })
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests build their fixtures directly
mod tests {
    use super::*;

    fn ep(s: &str) -> Endpoint {
        s.parse().unwrap()
    }

    #[test]
    fn a_spelling_belongs_to_the_last_login_that_named_it() {
        let dir = tempfile::tempdir().unwrap();
        let record = Record::in_dir(&dir.path().join("dcosreg"));
        assert_eq!(record.key_for(&ep("10.0.0.1")).unwrap(), None);
        let first = vec![
            "10.0.0.1".to_string(),
            "10.0.0.1:443".into(),
            "10.0.0.2:5000".into(),
        ];
        record.set(Fs::REAL, "10.0.0.1:443", &first).unwrap();
        for spelling in ["10.0.0.1", "https://10.0.0.1:443", "10.0.0.2:5000"] {
            let endpoint = crate::credentials::key::endpoint_of(spelling).unwrap();
            assert_eq!(
                record.key_for(&endpoint).unwrap().as_deref(),
                Some("10.0.0.1:443"),
                "{spelling}"
            );
        }
        assert_eq!(record.key_for(&ep("10.0.0.2")).unwrap(), None);
        // Another login takes 10.0.0.2:5000 over; the first keeps the rest.
        record
            .set(Fs::REAL, "10.0.0.9:443", &["10.0.0.2:5000".to_string()])
            .unwrap();
        assert_eq!(
            record.key_for(&ep("10.0.0.2:5000")).unwrap().as_deref(),
            Some("10.0.0.9:443")
        );
        assert_eq!(
            record.all().unwrap()["10.0.0.1:443"],
            vec!["10.0.0.1", "10.0.0.1:443"]
        );
        record.remove(Fs::REAL, "10.0.0.1:443").unwrap();
        assert_eq!(record.key_for(&ep("10.0.0.1")).unwrap(), None);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("dcosreg").join(FILE_NAME))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
