//! The resolved configuration: flag > env > config file > default (docs/cli.md).
//!
//! `cli` hands over the global flags as plain [`Overrides`]; they become this plain struct
//! before any work, and nothing here sees clap. Each value remembers where it came from,
//! for `config` and for error messages.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, Context};
use serde::Deserialize;

use crate::endpoint::Endpoint;
use crate::finding::Fixes;
use crate::output::Format;

pub(crate) const DEFAULT_INTERNAL: &str = "192.168.0.1";
pub(crate) const DEFAULT_EXTERNAL: &str = "192.168.1.50:5000";
pub(crate) const DEFAULT_TIMEOUT: &str = "3s";
/// RFC 8305's recommended Connection Attempt Delay.
pub(crate) const DEFAULT_FALLBACK_DELAY: &str = "250ms";

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    Flag,
    Env(&'static str),
    File(PathBuf),
    Default,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Flag => f.write_str("flag"),
            Source::Env(var) => write!(f, "env {var}"),
            Source::File(path) => write!(f, "file {}", path.display()),
            Source::Default => f.write_str("default"),
        }
    }
}

/// One resolved value and its origin.
#[derive(Debug, Clone)]
pub(crate) struct Setting<T> {
    pub(crate) value: T,
    pub(crate) source: Source,
}

#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) internal: Setting<Endpoint>,
    pub(crate) external: Setting<Endpoint>,
    pub(crate) root: Setting<PathBuf>,
    pub(crate) timeout: Setting<Duration>,
    /// How long `endpoint` (and every `--to auto`) waits for the preferred endpoint's TCP
    /// connect once the other one has answered as a registry (`crate::probe::choose`); and
    /// `check`, `trust`, `login` and `doctor` for a configured endpoint's, before it is not
    /// reachable from here (`crate::probe::reach`).
    pub(crate) fallback_delay: Setting<Duration>,
    pub(crate) format: Format,
    /// The config file that was read, if any.
    pub(crate) config_file: Option<PathBuf>,
    /// Docker's global options when run as its plugin (`docker -H tcp://x dcosreg build`):
    /// `build` runs docker with them, `login`/`logout` honour its `--config DIR`.
    pub(crate) docker_flags: Vec<std::ffi::OsString>,
}

/// Keys of the TOML config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    internal: Option<String>,
    external: Option<String>,
    root: Option<PathBuf>,
    timeout: Option<String>,
    #[serde(alias = "fallback-delay")]
    fallback_delay: Option<String>,
}

/// The global flags as the command line gave them (on the command line or through their
/// environment variable), made by `cli`: what overrides the config file and the defaults.
#[derive(Debug, Clone)]
pub(crate) struct Overrides {
    pub(crate) internal: Option<String>,
    pub(crate) external: Option<String>,
    pub(crate) root: Option<PathBuf>,
    pub(crate) timeout: Option<String>,
    pub(crate) fallback_delay: Option<String>,
    pub(crate) format: Format,
    /// `--config`.
    pub(crate) config: Option<PathBuf>,
    /// The flags above (by name: `internal`, `fallback_delay`, `config`, ...) whose value
    /// came from their environment variable rather than the command line.
    pub(crate) from_env: Vec<&'static str>,
}

impl Overrides {
    fn is_env(&self, id: &str) -> bool {
        self.from_env.contains(&id)
    }
}

/// Where each setting comes from, first found wins: the command line (or its environment
/// variable), the config file, the built-in default.
struct Layers<'a> {
    global: &'a Overrides,
    file: &'a FileConfig,
    config_file: &'a Option<PathBuf>,
}

impl Layers<'_> {
    /// A flag's source: its environment variable `env` when that is where clap found it.
    fn origin(&self, id: &str, env: &'static str) -> Source {
        if self.global.is_env(id) {
            Source::Env(env)
        } else {
            Source::Flag
        }
    }

    fn file_source(&self) -> Source {
        Source::File(self.config_file.clone().unwrap_or_default())
    }

    /// The text of setting `id` and where it came from; `parse` reads it, naming the source
    /// in its error.
    fn setting<T>(
        &self,
        (flag, from_file): (&Option<String>, &Option<String>),
        (id, env, default): (&'static str, &'static str, &str),
        parse: impl Fn(&str, &Source) -> anyhow::Result<T>,
    ) -> anyhow::Result<Setting<T>> {
        let (text, source) = match (flag, from_file) {
            (Some(v), _) => (v.clone(), self.origin(id, env)),
            (None, Some(v)) => (v.clone(), self.file_source()),
            (None, None) => (default.to_string(), Source::Default),
        };
        let value = parse(&text, &source)?;
        Ok(Setting { value, source })
    }

    /// `--internal`/`--external` (`which`), with their variable and default.
    fn endpoint(
        &self,
        values: (&Option<String>, &Option<String>),
        which: (&'static str, &'static str, &str),
    ) -> anyhow::Result<Setting<Endpoint>> {
        let name = which.0;
        self.setting(values, which, |text, source| {
            text.parse::<Endpoint>()
                .map_err(|e| anyhow!("{name} endpoint from {source}: {e}"))
        })
    }

    fn root(&self) -> Setting<PathBuf> {
        match (&self.global.root, &self.file.root) {
            (Some(root), _) => Setting {
                value: root.clone(),
                source: self.origin("root", "DCOSREG_ROOT"),
            },
            (None, Some(root)) => Setting {
                value: root.clone(),
                source: self.file_source(),
            },
            (None, None) => Setting {
                value: PathBuf::from("/"),
                source: Source::Default,
            },
        }
    }
}

impl Config {
    pub(crate) fn resolve(global: &Overrides) -> anyhow::Result<Config> {
        let (file, config_file) = load_file(global.config.as_deref(), global.is_env("config"))?;
        let layers = Layers {
            global,
            file: &file,
            config_file: &config_file,
        };
        let internal = layers.endpoint(
            (&global.internal, &file.internal),
            ("internal", "DCOSREG_INTERNAL", DEFAULT_INTERNAL),
        )?;
        let external = layers.endpoint(
            (&global.external, &file.external),
            ("external", "DCOSREG_EXTERNAL", DEFAULT_EXTERNAL),
        )?;
        let timeout = layers.setting(
            (&global.timeout, &file.timeout),
            ("timeout", "DCOSREG_TIMEOUT", DEFAULT_TIMEOUT),
            |text, source| {
                parse_timeout(text).map_err(|e| anyhow!("timeout {text:?} from {source}: {e}"))
            },
        )?;
        let fallback_delay = layers.setting(
            (&global.fallback_delay, &file.fallback_delay),
            (
                "fallback_delay",
                "DCOSREG_FALLBACK_DELAY",
                DEFAULT_FALLBACK_DELAY,
            ),
            |text, source| {
                parse_delay(text).map_err(|e| anyhow!("fallback delay {text:?} from {source}: {e}"))
            },
        )?;
        let root = layers.root();
        Ok(Config {
            internal,
            external,
            root,
            timeout,
            fallback_delay,
            format: global.format,
            config_file,
            docker_flags: Vec::new(),
        })
    }

    /// The configured endpoints, internal first.
    pub(crate) fn endpoints(&self) -> Vec<Endpoint> {
        vec![self.internal.value.clone(), self.external.value.clone()]
    }

    /// The configured endpoints other than `endpoint`, when `endpoint` is one of them: a
    /// certificate for the VIP must also name Marathon-LB's address, and the other way round.
    pub(crate) fn other_endpoints(&self, endpoint: &Endpoint) -> Vec<Endpoint> {
        let configured = self.endpoints();
        if !configured.contains(endpoint) {
            return Vec::new();
        }
        configured.into_iter().filter(|e| e != endpoint).collect()
    }

    /// Endpoints named on the command line, or the configured ones when none are.
    /// Both endpoints are the built-in defaults (no flag, env or config file set either):
    /// addresses that are this project's example, and on many networks a gateway.
    pub(crate) fn endpoints_are_builtin(&self) -> bool {
        self.internal.source == Source::Default && self.external.source == Source::Default
    }

    /// When the endpoints a command is about to use are the built-in defaults, the one line
    /// that says so (stderr), naming where to set them.
    pub(crate) fn builtin_endpoints_note(&self, given: &[String]) -> Option<String> {
        if !given.is_empty() || !self.endpoints_are_builtin() {
            return None;
        }
        let file = match &self.config_file {
            Some(file) => file.display().to_string(),
            None => default_config_path()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "$XDG_CONFIG_HOME/dcosreg/config.toml".into()),
        };
        Some(format!(
            "using the built-in default endpoints {} and {} (nothing configured); set yours with --internal/--external, DCOSREG_INTERNAL/DCOSREG_EXTERNAL or internal/external in {file}",
            self.internal.value, self.external.value
        ))
    }

    pub(crate) fn endpoints_or_default(&self, given: &[String]) -> anyhow::Result<Vec<Endpoint>> {
        if given.is_empty() {
            return Ok(self.endpoints());
        }
        given
            .iter()
            .map(|text| text.parse::<Endpoint>().map_err(anyhow::Error::from))
            .collect()
    }

    /// A host path under `--root`: `/etc/docker` becomes `ROOT/etc/docker`, with links
    /// under ROOT resolved as if ROOT were `/` (fsutil::host_path), so the path never
    /// leaves ROOT and the path we print is the one we use. A path that cannot be resolved
    /// inside ROOT (a link loops, as `etc/ssl -> /etc/ssl` does there) is an error naming
    /// it: never `ROOT/etc/ssl/…` as written, which the kernel would resolve to the host's.
    pub(crate) fn host_path(&self, path: impl AsRef<Path>) -> anyhow::Result<PathBuf> {
        crate::fsutil::host_path(&self.root.value, path.as_ref())
    }

    /// The files of this run: every access through it is confined under `--root`
    /// ([`crate::fsutil::Fs`]).
    pub(crate) fn fs(&self) -> crate::fsutil::Fs<'_> {
        crate::fsutil::Fs::under(&self.root.value)
    }

    /// Whether the tool works on the real system (not under a test or staging root).
    pub(crate) fn is_real_root(&self) -> bool {
        self.root.value == Path::new("/")
    }

    /// How fix commands are written for this run ([`Fixes`]): `sudo` on the real root;
    /// `--root` on a staged one, and the endpoints not left at their defaults.
    pub(crate) fn fixes(&self) -> Fixes {
        let real_root = self.is_real_root();
        let mut flags = Vec::new();
        if !real_root {
            flags.push(("--root", self.root.value.to_string_lossy().into_owned()));
        }
        for (flag, endpoint) in [
            ("--internal", &self.internal),
            ("--external", &self.external),
        ] {
            if endpoint.source != Source::Default {
                flags.push((flag, endpoint.value.to_string()));
            }
        }
        Fixes::new(real_root, &flags)
    }
}

/// The longest wait we accept. Deadlines are `Instant::now() + timeout`, which panics
/// on overflow for absurd values (`9223372036854775807s`); no network wait or agent
/// rollout needs more than an hour.
pub(crate) const MAX_TIMEOUT: Duration = Duration::from_secs(3600);

/// `500ms`, `2s`, `1m30s`; zero is refused because every wait must be able to succeed,
/// and more than [`MAX_TIMEOUT`] because a deadline must be representable.
pub(crate) fn parse_timeout(text: &str) -> Result<Duration, String> {
    let duration = humantime::parse_duration(text.trim())
        .map_err(|e| format!("{e} — use a duration such as 500ms or 2s"))?;
    if duration.is_zero() {
        return Err("must be longer than zero — use a duration such as 500ms or 2s".into());
    }
    if duration > MAX_TIMEOUT {
        return Err("longer than the maximum of 1h — use a duration such as 30s or 5m".into());
    }
    Ok(duration)
}

/// Like [`parse_timeout`], but zero is allowed: `--fallback-delay 0s` takes the other
/// endpoint as soon as it answers while the preferred one has not connected.
pub(crate) fn parse_delay(text: &str) -> Result<Duration, String> {
    let delay = humantime::parse_duration(text.trim())
        .map_err(|e| format!("{e} — use a duration such as 250ms or 1s"))?;
    if delay > MAX_TIMEOUT {
        return Err("longer than the maximum of 1h — use a duration such as 250ms or 1s".into());
    }
    Ok(delay)
}

/// Where the config file is looked for when neither `--config` nor `DCOSREG_CONFIG` names one.
pub(crate) fn default_config_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "dcosreg")
        .map(|dirs| dirs.config_dir().join("config.toml"))
}

/// Reads the config file: the named one must exist; the default one may be absent.
fn load_file(
    named: Option<&Path>,
    named_from_env: bool,
) -> anyhow::Result<(FileConfig, Option<PathBuf>)> {
    let (path, must_exist) = match named {
        Some(path) => (path.to_path_buf(), true),
        None => match default_config_path() {
            Some(path) => (path, false),
            None => return Ok((FileConfig::default(), None)),
        },
    };
    // Read before `--root` is known, as given.
    let text = match crate::fsutil::Fs::REAL.read_text(&path) {
        Ok(text) => text,
        Err(e) if !must_exist && e.kind() == std::io::ErrorKind::NotFound => {
            return Ok((FileConfig::default(), None))
        }
        Err(e) => {
            let via = if named_from_env {
                " (from DCOSREG_CONFIG)"
            } else {
                ""
            };
            return Err(e).with_context(|| {
                format!(
                    "cannot read config file {}{via} — check the path and its permissions",
                    path.display()
                )
            });
        }
    };
    let parsed = toml::from_str::<FileConfig>(&text).map_err(|e| {
        let line = e
            .span()
            .and_then(|span| text.get(..span.start))
            .map(|before| before.matches('\n').count() + 1)
            .unwrap_or(1);
        anyhow!(
            "config file {}:{line}: {} — valid keys are internal, external, root, timeout, fallback_delay",
            path.display(),
            e.message()
        )
    })?;
    Ok((parsed, Some(path)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_parse_like_the_contract_says() {
        assert_eq!(parse_timeout("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_timeout("2s").unwrap(), Duration::from_secs(2));
        assert!(parse_timeout("0s").is_err());
        assert!(parse_timeout("soon").is_err());
        assert!(parse_timeout("").is_err());
        assert_eq!(parse_delay("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_delay("0s").unwrap(), Duration::ZERO);
        assert!(parse_delay("soon").is_err());
        assert_eq!(parse_timeout("1h").unwrap(), MAX_TIMEOUT);
        assert!(parse_timeout("61m").is_err());
        assert!(parse_timeout("9223372036854775807s").is_err());
        assert!(parse_timeout("18446744073709551615s").is_err());
    }
}
