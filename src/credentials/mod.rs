//! Credentials: one login for the registry at every endpoint, for Docker, CI jobs and the
//! DC/OS agents (docs/cli.md, `login`, `logout`, `docker-credential-dcosreg`,
//! `credentials export`).
//!
//! Docker keys credentials by the registry host as the image reference spells it, so the
//! VIP and Marathon-LB would need two logins. `login` checks the password once against the
//! registry ([`auth`]), stores it once ([`store`]) under one key ([`key`]), and points every
//! spelling at our helper through `credHelpers` in config.json ([`docker_config`]); Docker
//! then asks `docker-credential-dcosreg get` ([`protocol`]). DC/OS agents cannot run a helper:
//! [`export`] writes the `.docker/config.json` they fetch.
//!
//! # API
//! ```text
//! key::{endpoint_of, canonical, spellings, all_spellings}
//! store::Store::{choose, get, put, erase, file_entries, describe, tighten}
//! record::Record::{in_dir, key_for, all, set, remove}   // which spellings each secret serves
//! lookup / key_for_save / list                          // the helper's answers, scoped
//! docker_config::{path, creds_store, add_helpers, remove_helpers}   // locked, re-read, 0600
//! auth::verify(&Config, &Endpoint, &Credential, deadline) -> Result<Accepted, AuthError>
//! auth::access(&Config, &Endpoint, Option<&Credential>, scope: Option<&str>, deadline)
//!     -> Result<Access, AuthError>; Access::get(Url, &Endpoint, deadline)   // Basic or Bearer
//! protocol::handle(action, stdin, &dyn Backend) -> Result<String, String>
//! export::{config_json, dcos_archive}
//! ```
//! Secrets never reach argv, logs, JSON or error messages: [`Credential`]'s `Debug` hides it.

pub(crate) mod auth;
pub(crate) mod docker_config;
pub(crate) mod export;
pub(crate) mod key;
mod lock;
pub(crate) mod protocol;
pub(crate) mod record;
pub(crate) mod store;

use std::fmt;
use std::io::Read;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};
use serde::{Deserialize, Serialize};

/// The credential-helper protocol's not-found text (docker-credential-helpers
/// `credentials/error.go`); Docker treats exactly this stdout as "no credential".
pub(crate) const NOT_FOUND: &str = "credentials not found in native keychain";

/// The CI form: these answer `get` for the configured registry's spellings, with nothing
/// stored.
pub(crate) const ENV_USERNAME: &str = "DCOSREG_USERNAME";
pub(crate) const ENV_PASSWORD: &str = "DCOSREG_PASSWORD";
pub(crate) const ENV_PASSWORD_FILE: &str = "DCOSREG_PASSWORD_FILE";

/// The longest password file read.
const MAX_PASSWORD_FILE: u64 = 64 * 1024;

/// A user name and its secret (password or identity token).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Credential {
    pub(crate) username: String,
    pub(crate) secret: String,
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("username", &self.username)
            .field("secret", &"<hidden>")
            .finish()
    }
}

/// `$XDG_DATA_HOME/dcosreg` (the `directories` crate's data directory).
pub(crate) fn data_dir() -> anyhow::Result<PathBuf> {
    directories::ProjectDirs::from("", "", "dcosreg")
        .map(|dirs| dirs.data_dir().to_path_buf())
        .ok_or_else(|| anyhow!("cannot find the home directory to keep credentials in — set HOME"))
}

/// `DCOSREG_USERNAME` with `DCOSREG_PASSWORD` or `DCOSREG_PASSWORD_FILE`, when set.
pub(crate) fn from_env() -> anyhow::Result<Option<Credential>> {
    let Some(username) = std::env::var(ENV_USERNAME).ok().filter(|u| !u.is_empty()) else {
        return Ok(None);
    };
    if let Some(secret) = std::env::var(ENV_PASSWORD).ok().filter(|p| !p.is_empty()) {
        return Ok(Some(Credential { username, secret }));
    }
    let Some(file) = std::env::var_os(ENV_PASSWORD_FILE).filter(|f| !f.is_empty()) else {
        bail!("{ENV_USERNAME} is set but neither {ENV_PASSWORD} nor {ENV_PASSWORD_FILE} — set one of them");
    };
    let path = PathBuf::from(file);
    let bytes = read_capped(&path, MAX_PASSWORD_FILE)?.ok_or_else(|| {
        anyhow!(
            "{ENV_PASSWORD_FILE} {} does not exist — point it at the file with the password",
            path.display()
        )
    })?;
    let text = String::from_utf8(bytes)
        .map_err(|_| anyhow!("{ENV_PASSWORD_FILE} {} is not UTF-8 text", path.display()))?;
    let secret = text.trim_end_matches(['\n', '\r']).to_string();
    if secret.is_empty() {
        bail!("{ENV_PASSWORD_FILE} {} is empty", path.display());
    }
    Ok(Some(Credential { username, secret }))
}

/// Read a regular file of at most `cap` bytes; `None` when it does not exist.
#[allow(clippy::disallowed_methods)] // the user's Docker config and credentials store, not paths under --root
pub(crate) fn read_capped(path: &Path, cap: u64) -> anyhow::Result<Option<Vec<u8>>> {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let meta = file
        .metadata()
        .with_context(|| format!("cannot read {}", path.display()))?;
    // A FIFO (a CI secret mounted as a named pipe) is read like a file; directories and
    // devices are not.
    if !meta.is_file() && !meta.file_type().is_fifo() {
        bail!("{} is not a regular file", path.display());
    }
    let mut bytes = Vec::new();
    file.take(cap + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {}", path.display()))?;
    if bytes.len() as u64 > cap {
        bail!(
            "{} is larger than {cap} bytes — is it the right file?",
            path.display()
        );
    }
    Ok(Some(bytes))
}

/// Create `dir` (and parents) private to the user, as Docker creates ~/.docker (0700).
#[allow(clippy::disallowed_methods)] // the user's Docker config and credentials store, not paths under --root
pub(crate) fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| crate::fsutil::permission_hint(e, dir))
}

/// The store for this user: the `credsStore` of their Docker config.json, else our file.
pub(crate) fn user_store(docker_flags: &[std::ffi::OsString]) -> anyhow::Result<store::Store> {
    let config_json = docker_config::path(docker_flags)?;
    let creds_store = docker_config::creds_store(&config_json)?;
    Ok(store::Store::choose(creds_store.as_deref(), &data_dir()?))
}

/// The stored key that serves `endpoint`: the login whose record names it, else a
/// credential stored for that host itself (`docker login HOST` with `credsStore: dcosreg`),
/// unless that key belongs to a login that did not name this spelling.
pub(crate) fn key_for(
    record: &record::Record,
    endpoint: &crate::endpoint::Endpoint,
) -> anyhow::Result<Option<String>> {
    let registries = record.all()?;
    if let Some(key) = record::key_naming(&registries, endpoint) {
        return Ok(Some(key));
    }
    let own = endpoint.host_port();
    Ok((!registries.contains_key(&own)).then_some(own))
}

/// The credential Docker gets for `endpoint`: the CI environment variables for the
/// configured registry's spellings only (an explicit setting for this run), then the
/// stored secret whose login named `endpoint` ([`key_for`]). Nothing else: a `credsStore`
/// or broad `credHelpers` that routes other registries here gets "not found" for them.
pub(crate) fn lookup(
    config: &crate::config::Config,
    store: &store::Store,
    record: &record::Record,
    endpoint: &crate::endpoint::Endpoint,
) -> anyhow::Result<Option<Credential>> {
    if key::is_configured(config, endpoint) {
        if let Some(credential) = from_env()? {
            return Ok(Some(credential));
        }
    }
    match key_for(record, endpoint)? {
        Some(key) => store.get(&key),
        None => Ok(None),
    }
}

/// The login record for this user (in the data directory).
pub(crate) fn user_record() -> anyhow::Result<record::Record> {
    Ok(record::Record::in_dir(&data_dir()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret() {
        let cred = Credential {
            username: "alice".into(),
            secret: "hunter2".into(),
        };
        let shown = format!("{cred:?}");
        assert!(
            shown.contains("alice") && !shown.contains("hunter2"),
            "{shown}"
        );
    }
}
