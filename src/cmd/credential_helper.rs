//! `docker-credential-dcosreg ACTION`: the protocol (crate::credentials::protocol) on the
//! user's store, with every configured endpoint spelling mapped to one credential.

use std::collections::BTreeMap;
use std::io::Read;

use crate::cli::CredentialHelperArgs;
use crate::config::Config;
use crate::credentials::protocol::{self, Backend};
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
}

impl Backend for Live<'_> {
    fn lookup(&self, endpoint: &Endpoint) -> anyhow::Result<Option<Credential>> {
        credentials::lookup(self.config, &self.store, endpoint)
    }

    fn save(&self, endpoint: &Endpoint, credential: &Credential) -> anyhow::Result<()> {
        self.store
            .put(&key::canonical(self.config, endpoint), credential)
    }

    fn erase(&self, endpoint: &Endpoint) -> anyhow::Result<()> {
        self.store
            .erase(&key::canonical(self.config, endpoint))
            .map(|_| ())
    }

    fn list(&self) -> anyhow::Result<BTreeMap<String, String>> {
        let mut all = BTreeMap::new();
        let registry_key = key::canonical(self.config, &self.config.internal.value);
        let registry = credentials::lookup(self.config, &self.store, &self.config.internal.value)?;
        if let Some(credential) = registry {
            for spelling in key::all_spellings(&self.config.endpoints()) {
                all.insert(spelling, credential.username.clone());
            }
        }
        for (stored_key, username) in self.store.file_entries()? {
            if stored_key != registry_key {
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
    let result = credentials::user_store()
        .map_err(|e| crate::text::sanitize_line(&format!("{e:#}")))
        .and_then(|store| {
            let live = Live { config, store };
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
