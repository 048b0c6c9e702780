//! `docker-credential-dcosreg ACTION`: the protocol (crate::credentials::protocol) on the
//! user's store. A secret is given only for the spellings its login recorded (or for a host
//! stored under its own name); the CI variables only for the configured registry.

use std::collections::BTreeMap;
use std::io::Read;

use crate::cli::CredentialHelperArgs;
use crate::config::Config;
use crate::credentials::protocol::{self, Backend};
use crate::credentials::record::Record;
use crate::credentials::store::Store;
use crate::credentials::{self, key, Credential};
use crate::endpoint::Endpoint;
use crate::exit::ExitStatus;
use crate::output::Printer;

/// stdin is one small JSON document or one URL.
const MAX_STDIN: u64 = 1024 * 1024;

struct Live<'a> {
    config: &'a Config,
    store: Store,
    record: Record,
}

impl Backend for Live<'_> {
    fn lookup(&self, endpoint: &Endpoint) -> anyhow::Result<Option<Credential>> {
        credentials::lookup(self.config, &self.store, &self.record, endpoint)
    }

    /// `docker login HOST` through the helper: the login that serves HOST is updated; a
    /// configured endpoint's login serves the configured registry's spellings (recorded
    /// now, so a later config change does not widen it); any other host gets its own entry.
    fn save(&self, endpoint: &Endpoint, credential: &Credential) -> anyhow::Result<()> {
        if let Some(key) = self.record.key_for(endpoint)? {
            return self.store.put(self.config.fs(), &key, credential);
        }
        if key::is_configured(self.config, endpoint) {
            let key = key::canonical(self.config, endpoint);
            self.store.put(self.config.fs(), &key, credential)?;
            return self.record.set(
                self.config.fs(),
                &key,
                &key::all_spellings(&self.config.endpoints()),
            );
        }
        self.store
            .put(self.config.fs(), &endpoint.host_port(), credential)
    }

    /// `docker logout HOST`: the secret that serves HOST, and its record.
    fn erase(&self, endpoint: &Endpoint) -> anyhow::Result<()> {
        if let Some(key) = credentials::key_for(&self.record, endpoint)? {
            self.store.erase(self.config.fs(), &key)?;
            self.record.remove(self.config.fs(), &key)?;
        }
        Ok(())
    }

    /// Every recorded spelling with its user, the CI variables' user for the configured
    /// spellings, and the other hosts stored in the file.
    fn list(&self) -> anyhow::Result<BTreeMap<String, String>> {
        let mut all = BTreeMap::new();
        let recorded = self.record.all()?;
        for (stored_key, spellings) in &recorded {
            if let Some(credential) = self.store.get(stored_key)? {
                for spelling in spellings {
                    all.insert(spelling.clone(), credential.username.clone());
                }
            }
        }
        if let Some(credential) = credentials::from_env()? {
            for spelling in key::all_spellings(&self.config.endpoints()) {
                all.insert(spelling, credential.username.clone());
            }
        }
        for (stored_key, username) in self.store.file_entries()? {
            if !recorded.contains_key(&stored_key) {
                all.insert(stored_key, username);
            }
        }
        Ok(all)
    }
}

/// The protocol's answer (or its one error line) goes to stdout as it is: `printer.raw`.
pub(crate) fn run(
    config: &Config,
    args: &CredentialHelperArgs,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let needs_stdin = matches!(
        args.args.first().map(String::as_str),
        Some("store" | "get" | "erase")
    );
    let mut input = Vec::new();
    if needs_stdin {
        std::io::stdin()
            .lock()
            .take(MAX_STDIN)
            .read_to_end(&mut input)?;
    }
    let result = credentials::user_store(&config.docker_flags)
        .and_then(|store| Ok((store, credentials::user_record()?)))
        .map_err(|e| crate::text::sanitize_line(&format!("{e:#}")))
        .and_then(|(store, record)| {
            if let Some(warning) = store.tighten() {
                printer.warn(warning);
            }
            let live = Live {
                config,
                store,
                record,
            };
            protocol::handle(&args.args, &input, &live)
        });
    match result {
        Ok(text) => {
            printer.raw(text.as_bytes())?;
            Ok(ExitStatus::Success)
        }
        Err(line) => {
            // The protocol puts errors on stdout; exit status 1 (docker-credential-helpers).
            printer.raw(format!("{line}\n").as_bytes())?;
            Ok(ExitStatus::No)
        }
    }
}
