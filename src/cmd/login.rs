//! `login`: check the credentials once against the registry, store the secret once, and
//! point every endpoint spelling at `docker-credential-dcosreg` (docs/cli.md).

use std::io::{BufRead, IsTerminal, Read};
use std::path::Path;
use std::time::Instant;

use anyhow::{anyhow, bail};
use serde::Serialize;

use crate::cli::LoginArgs;
use crate::config::Config;
use crate::credentials::auth::{self, Accepted, AuthError};
use crate::credentials::docker_config::{self, Change};
use crate::credentials::store::Store;
use crate::credentials::{self, key, Credential};
use crate::endpoint::Endpoint;
use crate::exit::{ExitStatus, Stop};
use crate::output::Printer;
use crate::plugin::CREDENTIAL_HELPER_NAME;
use crate::probe::Outcome;
use crate::text::sanitize_line;

const MAX_PASSWORD: u64 = 64 * 1024;

#[derive(Serialize)]
struct EndpointJson {
    endpoint: String,
    /// basic, bearer, open; null when not checked.
    accepted: Option<Accepted>,
    error: Option<String>,
}

#[derive(Serialize)]
struct LoginJson {
    username: String,
    logged_in: bool,
    endpoints: Vec<EndpointJson>,
    store: Option<String>,
    config: Option<docker_config::Change>,
    dry_run: bool,
    /// The configured endpoints not reachable from here (outside the cluster?): not
    /// checked, not a failure; the stored login covers them.
    not_reachable_from_here: Vec<String>,
}

pub(crate) fn run(
    config: &Config,
    args: &LoginArgs,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let endpoints = config.endpoints_or_default(&args.endpoints)?;
    if args.password.is_some() {
        // docker login's own warning, word for word, then this project's reason.
        printer.say(
            "WARNING! Using --password via the CLI is insecure. Use --password-stdin. (It works, as with docker login, but a password in the arguments is visible to every user in ps and /proc/PID/cmdline, and stays in shell history.)",
        );
    }
    let credential = read_credential(args)?;
    let deadline = Instant::now() + config.timeout.value;

    let named = !args.endpoints.is_empty();
    let (results, away) = if named {
        (
            check_all(config, &endpoints, &credential, deadline),
            Vec::new(),
        )
    } else {
        check_reachable(config, &endpoints, &credential, deadline)
    };
    let mut report = LoginJson::new(&credential, &results, &away, args.dry_run);
    let denied = results
        .iter()
        .any(|(_, r)| matches!(r, Err(AuthError::Denied { .. })));
    if denied || !results.iter().any(|(_, r)| r.is_ok()) {
        return Err(failed(&report, &results, &away, printer));
    }

    let store = credentials::user_store(&config.docker_flags)?;
    let config_json = docker_config::path(&config.docker_flags)?;
    let change = store_login(config, args, &endpoints, &credential, &store, &config_json)?;
    report.logged_in = !args.dry_run;
    report.store = Some(store.describe());
    report.config = Some(change.clone());

    warn_after_storing(printer, args, &store, &config_json, &results, &away);
    printer.report(&report, |printer| {
        print_text(
            printer,
            args,
            &credential,
            &endpoints,
            &results,
            &store,
            &config_json,
            &change,
        )
    })?;
    Ok(ExitStatus::Success)
}

impl LoginJson {
    /// Every endpoint's answer, and the ones not reachable from here with their note.
    fn new(
        credential: &Credential,
        results: &[(Endpoint, Result<Accepted, AuthError>)],
        away: &[(Endpoint, String)],
        dry_run: bool,
    ) -> LoginJson {
        LoginJson {
            username: credential.username.clone(),
            logged_in: false,
            endpoints: results
                .iter()
                .map(|(endpoint, result)| EndpointJson {
                    endpoint: endpoint.to_string(),
                    accepted: result.as_ref().ok().copied(),
                    error: result.as_ref().err().map(|e| sanitize_line(&e.to_string())),
                })
                .chain(away.iter().map(|(endpoint, note)| EndpointJson {
                    endpoint: endpoint.to_string(),
                    accepted: None,
                    error: Some(sanitize_line(note)),
                }))
                .collect(),
            store: None,
            config: None,
            dry_run,
            not_reachable_from_here: away.iter().map(|(ep, _)| ep.to_string()).collect(),
        }
    }
}

/// A password refused, or no endpoint checked: the report (JSON), the notes, and the
/// stop with every cause; nothing was stored.
fn failed(
    report: &LoginJson,
    results: &[(Endpoint, Result<Accepted, AuthError>)],
    away: &[(Endpoint, String)],
    printer: &Printer,
) -> anyhow::Error {
    if printer.is_json() {
        if let Err(e) = printer.json(report) {
            return e;
        }
    }
    for (_, note) in away {
        printer.note(note);
    }
    let causes = results
        .iter()
        .filter_map(|(_, result)| result.as_ref().err())
        .map(|e| format!("login: {e}"));
    let mut stop = Stop::new(ExitStatus::No, "login failed — nothing was stored");
    stop.messages.splice(0..0, causes);
    stop.into()
}

/// What the user should know once the login is stored: a secrets file widened or in
/// cleartext, the helper missing from PATH, endpoints not checked.
fn warn_after_storing(
    printer: &Printer,
    args: &LoginArgs,
    store: &Store,
    config_json: &Path,
    results: &[(Endpoint, Result<Accepted, AuthError>)],
    away: &[(Endpoint, String)],
) {
    if let Some(warning) = store.tighten() {
        printer.warn(warning);
    }
    if store.is_file() && !args.dry_run {
        printer.warn(format!(
            "the password is stored unencrypted in {} (mode 0600), as docker login does without a credsStore; set \"credsStore\" in {} to keep it in a keychain",
            store.describe().trim_start_matches("file "),
            config_json.display()
        ));
    }
    if !helper_on_path() {
        printer.warn(format!(
            "{CREDENTIAL_HELPER_NAME} is not on PATH, so docker cannot ask it — run install.sh, or link it next to docker-dcosreg"
        ));
    }
    for (endpoint, result) in results {
        if let Err(e) = result {
            printer.warn(format!(
                "{endpoint} was not checked ({e}); the stored login covers it"
            ));
        }
    }
    for (_, note) in away {
        printer.note(format!("{note}; the stored login covers it"));
    }
}

#[allow(clippy::too_many_arguments)]
fn print_text(
    printer: &Printer,
    args: &LoginArgs,
    credential: &Credential,
    endpoints: &[Endpoint],
    results: &[(Endpoint, Result<Accepted, AuthError>)],
    store: &Store,
    config_json: &Path,
    change: &Change,
) -> std::io::Result<()> {
    let verb = if args.dry_run {
        "would log in"
    } else {
        "Login Succeeded"
    };
    let checked: Vec<String> = results
        .iter()
        .filter_map(|(endpoint, r)| {
            r.as_ref()
                .ok()
                .map(|a| format!("{endpoint} ({})", accepted_text(*a)))
        })
        .collect();
    printer.line(format!(
        "{verb}: {} at {}",
        credential.username,
        checked.join(", ")
    ))?;
    if args.dry_run {
        printer.line(format!(
            "secret: would be stored in {} for {} (not stored: --dry-run)",
            store.describe(),
            key::all_spellings(endpoints).join(", ")
        ))?;
    } else {
        printer.line(format!("secret: {}", store.describe()))?;
    }
    if change.entries.is_empty() {
        printer.line(format!(
            "credHelpers: already set in {}",
            config_json.display()
        ))
    } else {
        printer.line(format!(
            "credHelpers: {} → dcosreg in {}{}",
            change.entries.join(", "),
            config_json.display(),
            if args.dry_run {
                " (not written: --dry-run)"
            } else {
                ""
            }
        ))
    }
}

/// Check the credential against every endpoint at once. One deadline for all: the VIP may
/// be unreachable from a laptop while Marathon-LB answers.
fn check_all(
    config: &Config,
    endpoints: &[Endpoint],
    credential: &Credential,
    deadline: Instant,
) -> Vec<(Endpoint, Result<Accepted, AuthError>)> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = endpoints
            .iter()
            .map(|endpoint| {
                scope.spawn(move || auth::verify(config, endpoint, credential, deadline))
            })
            .collect();
        endpoints
            .iter()
            .cloned()
            .zip(handles.into_iter().map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(AuthError::Failed("the check panicked".into())))
            }))
            .collect()
    })
}

/// The configured endpoints (none named): reached as `crate::probe::reach` decides (TLS
/// only: nothing is sent), then the credential checked as [`check_all`] checks it at every
/// endpoint but those not reachable from here — no TCP answer within the fallback delay
/// while the other answered (outside the cluster?) — which are returned apart with their
/// note: not checked, and not a failure. Any other endpoint, failed or not, is checked
/// exactly as when it is named, so its error reads the same.
#[allow(clippy::type_complexity)]
fn check_reachable(
    config: &Config,
    endpoints: &[Endpoint],
    credential: &Credential,
    deadline: Instant,
) -> (
    Vec<(Endpoint, Result<Accepted, AuthError>)>,
    Vec<(Endpoint, String)>,
) {
    let outcomes = crate::probe::reach(config, deadline, crate::tls::capture_chain_with);
    let mut checked = Vec::new();
    let mut away = Vec::new();
    for endpoint in endpoints {
        match outcomes.iter().find(|(ep, _)| ep == endpoint) {
            Some((_, Outcome::NotReachableFromHere(note))) => {
                away.push((endpoint.clone(), note.clone()));
            }
            _ => checked.push(endpoint.clone()),
        }
    }
    (check_all(config, &checked, credential, deadline), away)
}

/// Store the secret once per canonical key, record which spellings it serves, and point
/// every endpoint spelling at the helper in config.json. A login that cannot finish leaves
/// nothing behind: when config.json cannot be written, the secrets stored a moment before
/// are put back as they were. With --dry-run only say what would change.
fn store_login(
    config: &Config,
    args: &LoginArgs,
    endpoints: &[Endpoint],
    credential: &Credential,
    store: &Store,
    config_json: &Path,
) -> anyhow::Result<Change> {
    let spellings = key::all_spellings(endpoints);
    let data_dir = credentials::data_dir()?;
    let planned =
        docker_config::add_helpers(config.fs(), config_json, &spellings, &data_dir, true)?;
    if args.dry_run {
        return Ok(planned);
    }
    // Each key serves the spellings of the endpoints that map to it.
    let mut keys: Vec<(String, Vec<Endpoint>)> = Vec::new();
    for endpoint in endpoints {
        let stored_key = key::canonical(config, endpoint);
        match keys.iter_mut().find(|(k, _)| *k == stored_key) {
            Some((_, served)) => served.push(endpoint.clone()),
            None => keys.push((stored_key, vec![endpoint.clone()])),
        }
    }
    let mut previous: Vec<(String, Option<Credential>)> = Vec::new();
    let stored = keys.iter().try_for_each(|(stored_key, _)| {
        previous.push((stored_key.clone(), store.get(stored_key)?));
        store.put(config.fs(), stored_key, credential)
    });
    let finished = stored.and_then(|()| {
        docker_config::add_helpers(config.fs(), config_json, &spellings, &data_dir, false)
    });
    match finished {
        Ok(change) => {
            let record = credentials::record::Record::in_dir(&data_dir);
            for (stored_key, served) in &keys {
                record.set(config.fs(), stored_key, &key::all_spellings(served))?;
            }
            Ok(change)
        }
        Err(e) => {
            for (stored_key, old) in &previous {
                let restored = match old {
                    Some(old) => store.put(config.fs(), stored_key, old),
                    None => store.erase(config.fs(), stored_key).map(|_| ()),
                };
                if let Err(undo) = restored {
                    return Err(e.context(format!(
                        "and the secret stored for {stored_key} could not be taken back ({undo:#}) — run `docker dcosreg logout`"
                    )));
                }
            }
            Err(e.context("login did not finish — nothing was stored"))
        }
    }
}

fn accepted_text(accepted: Accepted) -> &'static str {
    match accepted {
        Accepted::Basic => "basic auth",
        Accepted::Bearer => "token auth",
        Accepted::Open => "open registry",
    }
}

#[allow(clippy::disallowed_methods)] // PATH's directories, as the shell searches them
fn helper_on_path() -> bool {
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|dir| dir.join(CREDENTIAL_HELPER_NAME).is_file())
    })
}

/// User name from `-u` or a terminal prompt; password from stdin (`--password-stdin`) or a
/// terminal prompt; never from an argument.
fn read_credential(args: &LoginArgs) -> anyhow::Result<Credential> {
    let interactive = std::io::stdin().is_terminal();
    let username = match &args.username {
        Some(user) if !user.is_empty() => user.clone(),
        Some(_) => bail!("--username is empty — give the registry user name"),
        None if interactive && !args.password_stdin => {
            crate::output::prompt("Username: ");
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
            let user = line.trim().to_string();
            if user.is_empty() {
                bail!("no user name given");
            }
            user
        }
        None => bail!("no user name — give --username USER (with --password-stdin)"),
    };
    let secret = if let Some(password) = &args.password {
        password.0.clone()
    } else if args.password_stdin {
        let mut bytes = Vec::new();
        std::io::stdin()
            .lock()
            .take(MAX_PASSWORD + 1)
            .read_to_end(&mut bytes)?;
        if bytes.len() as u64 > MAX_PASSWORD {
            bail!("the password on stdin is longer than {MAX_PASSWORD} bytes");
        }
        let text =
            String::from_utf8(bytes).map_err(|_| anyhow!("the password on stdin is not UTF-8"))?;
        text.trim_end_matches(['\n', '\r']).to_string()
    } else if interactive {
        rpassword::prompt_password("Password: ")?
    } else {
        bail!("no password: stdin is not a terminal — pipe it in with --password-stdin");
    };
    if secret.is_empty() {
        bail!("the password is empty");
    }
    Ok(Credential { username, secret })
}
