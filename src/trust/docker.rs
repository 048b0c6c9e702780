//! Docker: `/etc/docker/certs.d/<host[:port]>/ca.crt`. dockerd's classic pull and push read
//! it on every connection to that registry (no restart), but its embedded BuildKit does not:
//! see [`restarts`]. Rootless Docker reads `$XDG_CONFIG_HOME/docker/certs.d` and
//! `$XDG_CONFIG_HOME/docker/daemon.json` instead (`~/.config/...`; Docker's "daemon
//! configuration" docs); Docker Desktop `~/.docker/certs.d` (and needs a restart). The docker
//! CLI itself (`docker manifest inspect`) reads the same `/etc/docker/certs.d` (docker/cli
//! `registry.CertsDir`).
use std::path::PathBuf;
use std::time::SystemTime;

use super::certsd::{self, Scope};
use super::running::{self, Restart};
use super::{Anchor, Different, Host, Step, Target};
use crate::config::Config;
use crate::endpoint::{Endpoint, Host as EndpointHost};
use crate::finding::{display, quote, Finding, Fixes, Severity};

/// Where Docker keeps trust on a host: `CERTS_D/<host[:port]>/*.crt` (moby
/// `registry.CertsDir`, docker/cli `registry.CertsDir`). The one spelling of this path:
/// `check`'s anchors, `endpoint`'s probe, `trust`, `doctor`, and the agents' paths in
/// `rollout` and `snippet` all take it from here.
pub(crate) const CERTS_D: &str = "/etc/docker/certs.d";

/// dockerd's configuration file (`insecure-registries` lives there).
const DAEMON_JSON: &str = "/etc/docker/daemon.json";

/// The directory (under `--root`) the dockerd of this user reads for `endpoint` (the
/// system one, or the rootless one's per-user directory where `trust` installs): named as
/// the image reference spells the registry.
///
/// A certs.d that cannot be resolved inside `--root` (a link that loops or leaves it) is an
/// error naming the path, never `ROOT/etc/docker/certs.d` joined as written.
pub(crate) fn endpoint_dir(config: &Config, endpoint: &Endpoint) -> anyhow::Result<PathBuf> {
    Ok(certs_d(config)?.join(endpoint.reference_host()))
}

/// The certs.d directory (under `--root`) this user's dockerd reads: [`endpoint_dir`]'s
/// parent, resolved once for a run that judges many endpoints.
pub(crate) fn certs_d(config: &Config) -> anyhow::Result<PathBuf> {
    certs_dir(&Host::from_env(config))
}

/// The CA file `trust` installs on a host for the certs.d name `name` (`host[:port]`), as
/// an agent's own path: what `rollout` writes and `snippet` mounts.
pub(crate) fn ca_file(name: &str) -> String {
    format!("{CERTS_D}/{name}/{}", certsd::CA_FILE)
}

pub(crate) fn detect(_host: &Host) -> bool {
    true
}

/// Rootless dockerd: its socket lives in `$XDG_RUNTIME_DIR/docker.sock`.
fn rootless(host: &Host) -> bool {
    !host.is_root
        && host
            .xdg_runtime
            .as_ref()
            .is_some_and(|dir| host.fs().exists(&dir.join("docker.sock")))
}

/// The certs.d directory to install into.
fn certs_dir(host: &Host) -> anyhow::Result<PathBuf> {
    if rootless(host) {
        if let Some(dir) = host.user_config("docker/certs.d") {
            return dir;
        }
    }
    host.path(CERTS_D)
}

/// The daemon.json this user's dockerd reads: the rootless one's per-user file, or the
/// system one.
fn daemon_json_path(host: &Host) -> anyhow::Result<PathBuf> {
    if rootless(host) {
        if let Some(file) = host.user_config("docker/daemon.json") {
            return file;
        }
    }
    host.path(DAEMON_JSON)
}

pub(crate) fn check(
    host: &Host,
    anchors: &[Anchor],
    different: Different,
) -> anyhow::Result<Vec<Step>> {
    certsd::steps(
        host.fs(),
        Target::Docker,
        &certs_dir(host)?,
        anchors,
        different,
    )
}

/// Which running dockerd must restart after its certs.d changed at `when`.
///
/// Measured with Debian's dockerd 20.10 (tests/runtime.rs): classic `docker pull`/`push`
/// and the classic builder see a new `certs.d/<host>` at once (moby `registry.
/// ReadCertsDirectory` runs per connection). The embedded BuildKit (`DOCKER_BUILDKIT=1
/// docker build`, buildx's default `docker` driver) lists the certs.d directories once
/// when dockerd starts (moby `Daemon.RegistryHosts`) and keeps the CA files it loaded:
/// a directory created later is never seen, a CA added to a directory it already used is
/// not read, and a removed CA stays trusted. So every change to certs.d while dockerd
/// runs needs a restart before builds see it; only a daemon started after the change
/// needs none. A dockerd that does not read this certs.d (a staged `--root`, another mount
/// namespace) is not asked to restart.
pub(crate) fn restarts(host: &Host, when: SystemTime) -> Vec<Restart> {
    // Unresolvable under the root: `check` said so, naming it.
    let Ok(dir) = certs_dir(host) else {
        return Vec::new();
    };
    let daemon_dir = host.unrooted(&dir);
    let command = if rootless(host) {
        "systemctl --user restart docker".to_string()
    } else {
        running::restart_command(host.fs(), "docker")
    };
    running::daemons(host.fs(), "dockerd")
        .into_iter()
        .filter(|d| d.reads(host.fs(), &dir, &daemon_dir, host.config.is_real_root()) && d.predates(when))
        .map(|d| Restart {
            service: "docker",
            why: format!(
                "dockerd (pid {}, started {}) predates the change to {}: its embedded BuildKit (DOCKER_BUILDKIT=1 docker build, buildx's docker driver) sees certs.d only as it was when dockerd started; classic pull and push see it already",
                d.pid,
                d.started_text(),
                daemon_dir.display()
            ),
            command: command.clone(),
        })
        .collect()
}

pub(crate) fn notes(host: &Host) -> Vec<String> {
    let mut notes = Vec::new();
    if host
        .home
        .as_ref()
        .is_some_and(|h| host.fs().exists(&h.join(".docker/desktop")))
    {
        notes.push(
            "docker: Docker Desktop reads ~/.docker/certs.d instead and must be restarted"
                .to_string(),
        );
    }
    notes
}

/// What stands between Docker and the CA for `endpoints`: daemon.json (syntax, insecure
/// registries), the certs.d directories, and (for [`Scope::Host`]) a running dockerd
/// older than them.
pub(crate) fn inspect(
    host: &Host,
    endpoints: &[Endpoint],
    scope: Scope,
    fixes: &Fixes,
) -> Vec<Finding> {
    let mut findings = daemon_json(host, endpoints, fixes);
    let base = match certs_dir(host) {
        Ok(base) => base,
        Err(e) => {
            findings.push(crate::finding::unresolvable(e));
            return findings;
        }
    };
    let configured = host.config.endpoints();
    let store = certsd::Store {
        target: Target::Docker,
        base,
        expected: true,
        configured: &configured,
        fs: host.fs(),
    };
    findings.extend(certsd::inspect(&store, endpoints, scope, fixes));
    if scope == Scope::Host {
        findings.extend(stale_daemons(host, endpoints, fixes));
    }
    findings
}

/// daemon.json: syntax, and `insecure-registries` entries that cover an endpoint. For an
/// insecure registry Docker skips certificate verification and falls back to plain HTTP, so
/// whatever certs.d holds for it is never used.
fn daemon_json(host: &Host, endpoints: &[Endpoint], fixes: &Fixes) -> Vec<Finding> {
    let path = match daemon_json_path(host) {
        Ok(path) => path,
        Err(e) => return vec![crate::finding::unresolvable(e)],
    };
    let Ok(text) = host.fs().read_text(&path) else {
        return Vec::new();
    };
    let json: serde_json::Value = match serde_json::from_str(&text) {
        Ok(json) => json,
        Err(e) => {
            return vec![Finding::new(
                "daemon-json-invalid",
                Severity::Error,
                format!(
                    "{} is not valid JSON (line {}, column {}: {e}): dockerd will not start",
                    display(&path),
                    e.line(),
                    e.column()
                ),
            )
            .fix(format!(
                "jq . {}   # shows the error; correct the file{}",
                quote(&path),
                // A staged root restarts nothing; a rootless dockerd is the user's own.
                if fixes.sudo().is_empty() {
                    ""
                } else if rootless(host) {
                    ", then: systemctl --user restart docker"
                } else {
                    ", then: sudo systemctl restart docker"
                }
            ))];
        }
    };
    let entries: Vec<&str> = json
        .get("insecure-registries")
        .and_then(|v| v.as_array())
        .map(|list| list.iter().filter_map(|v| v.as_str()).collect())
        .unwrap_or_default();
    let mut findings = Vec::new();
    for endpoint in endpoints {
        let Some(entry) = entries
            .iter()
            .find(|entry| insecure_matches(entry, endpoint))
        else {
            continue;
        };
        // A staged root reloads nothing; a rootless dockerd's file is the user's own.
        let (sudo, reload) = if fixes.sudo().is_empty() {
            ("", "")
        } else if rootless(host) {
            ("", " && systemctl --user reload docker")
        } else {
            (fixes.sudo(), " && sudo systemctl reload docker")
        };
        let filter = format!(".[\"insecure-registries\"] -= [\"{entry}\"]");
        findings.push(
            Finding::new(
                "insecure-registry",
                Severity::Warning,
                format!(
                    "{} lists {entry:?} in insecure-registries: Docker skips TLS verification for {endpoint} and never reads its certs.d",
                    display(&path)
                ),
            )
            .fix(format!(
                "jq {} {p} | {sudo}tee {p}.new >/dev/null && {sudo}mv {p}.new {p}{reload}",
                quote(filter),
                p = quote(&path)
            )),
        );
    }
    findings
}

/// Whether an `insecure-registries` entry covers `endpoint`, as moby `registry/config.go`
/// decides: `LoadInsecureRegistries` drops an `http://` or `https://` prefix, keeps a CIDR as
/// a network and anything else as an index name; `isSecureIndex` then looks the reference's
/// `host[:port]` up by name (the names certs.d uses too; compared without case, as our
/// endpoints are) and else tests the registry's IP against the networks. (For a DNS name
/// Docker would resolve it first; we do not resolve during an inspection.)
fn insecure_matches(entry: &str, endpoint: &Endpoint) -> bool {
    let lower = entry.to_ascii_lowercase();
    let entry = ["http://", "https://"]
        .iter()
        .find_map(|scheme| lower.strip_prefix(scheme))
        .unwrap_or(&lower);
    endpoint
        .certs_d_names()
        .iter()
        .any(|name| name.eq_ignore_ascii_case(entry))
        || matches!(endpoint.host, EndpointHost::Ip(ip) if crate::endpoint::cidr_contains(entry, ip))
}

/// Running dockerds older than an endpoint's certs.d: `docker pull` works through them, but
/// their embedded BuildKit does not see the change (the rule is [`restarts`]), so `docker
/// build` fails with "x509: certificate signed by unknown authority".
fn stale_daemons(host: &Host, endpoints: &[Endpoint], fixes: &Fixes) -> Vec<Finding> {
    // Unresolvable under the root: inspect reported it.
    let Ok(base) = certs_dir(host) else {
        return Vec::new();
    };
    let mut findings = Vec::new();
    for endpoint in endpoints {
        let mut paths: Vec<PathBuf> = Vec::new();
        for name in endpoint.certs_d_names() {
            let dir = base.join(name);
            if let Ok(entries) = host.fs().read_dir(&dir) {
                paths.extend(entries.into_iter().map(|(path, _)| path));
                paths.push(dir);
            }
        }
        let Some(changed) = running::newest_change(host.fs(), &paths) else {
            continue;
        };
        for restart in restarts(host, changed) {
            findings.push(
                Finding::new(
                    "daemon-predates-certs-d",
                    Severity::Warning,
                    format!(
                        "for {endpoint}: {} — docker build fails with \"x509: certificate signed by unknown authority\" until docker restarts",
                        restart.why
                    ),
                )
                .fix(if restart.command.contains("--user") {
                    restart.command.clone()
                } else {
                    format!("{}{}", fixes.sudo(), restart.command)
                }),
            );
        }
    }
    findings
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests build their fixtures directly
mod tests {
    use super::*;

    #[test]
    fn insecure_entries_match_like_docker() {
        let vip: crate::endpoint::Endpoint = "192.168.0.1".parse().unwrap();
        let mlb: crate::endpoint::Endpoint = "192.168.1.50:5000".parse().unwrap();
        assert!(insecure_matches("192.168.0.1", &vip));
        assert!(insecure_matches("192.168.1.50:5000", &mlb));
        assert!(!insecure_matches("192.168.1.50", &mlb));
        assert!(insecure_matches("192.168.0.0/16", &mlb));
        assert!(!insecure_matches("10.0.0.0/8", &mlb));
        assert!(!insecure_matches("garbage/99", &mlb));
        // moby drops the scheme; names compare as certs.d spells them.
        assert!(insecure_matches("http://192.168.1.50:5000", &mlb));
        assert!(insecure_matches("HTTPS://192.168.0.1:443", &vip));
        assert!(!insecure_matches("192.168.1.50:500", &mlb));
        let dns: crate::endpoint::Endpoint = "Registry.Example:5000".parse().unwrap();
        assert!(insecure_matches("registry.example:5000", &dns));
        assert!(!insecure_matches("registry.example", &dns));
    }

    #[test]
    fn daemon_json_findings_are_the_same_for_trust_and_doctor() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        let config = crate::trust::staged_config(r, "10.0.0.1", "10.0.0.2:5000");
        let host = crate::trust::staged_host(&config);
        let fixes = config.fixes();
        let endpoints = config.endpoints();
        std::fs::create_dir_all(r.join("etc/docker")).unwrap();
        std::fs::write(
            r.join("etc/docker/daemon.json"),
            r#"{"insecure-registries": ["http://10.0.0.2:5000"]}"#,
        )
        .unwrap();
        let traps = inspect(&host, &endpoints, Scope::Traps, &fixes);
        let codes: Vec<_> = traps.iter().map(|f| f.code).collect();
        assert_eq!(codes, ["insecure-registry"]);
        let doctor = inspect(&host, &endpoints, Scope::Host, &fixes);
        assert_eq!(doctor[0], traps[0]);

        std::fs::write(r.join("etc/docker/daemon.json"), "{").unwrap();
        let traps = inspect(&host, &endpoints, Scope::Traps, &fixes);
        assert_eq!(traps[0].code, "daemon-json-invalid");
        assert_eq!(traps[0].severity, Severity::Error);
    }

    #[test]
    fn one_spelling_of_docker_paths() {
        let root = tempfile::tempdir().unwrap();
        let config = crate::trust::staged_config(root.path(), "10.0.0.1", "10.0.0.2:5000");
        let host = crate::trust::staged_host(&config);
        // Root installs where the system dockerd, `check` and `endpoint` read.
        for endpoint in config.endpoints() {
            assert_eq!(
                certs_dir(&host).unwrap().join(endpoint.reference_host()),
                endpoint_dir(&config, &endpoint).unwrap()
            );
        }
        assert_eq!(
            ca_file("10.0.0.2:5000"),
            "/etc/docker/certs.d/10.0.0.2:5000/ca.crt"
        );
        // Rootless: the per-user directory, when the user's dockerd socket exists.
        let runtime = root.path().join("run-user");
        std::fs::create_dir_all(&runtime).unwrap();
        std::fs::write(runtime.join("docker.sock"), "").unwrap();
        let rootless = Host {
            is_root: false,
            xdg_config: Some("/home/u/.config".into()),
            xdg_runtime: Some(runtime),
            ..host
        };
        assert_eq!(
            certs_dir(&rootless).unwrap(),
            root.path().join("home/u/.config/docker/certs.d")
        );
    }

    #[test]
    fn doctor_inspects_the_rootless_certs_d_trust_writes() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        let config = crate::trust::staged_config(r, "10.0.0.1", "10.0.0.2:5000");
        let runtime = r.join("run-user");
        std::fs::create_dir_all(&runtime).unwrap();
        std::fs::write(runtime.join("docker.sock"), "").unwrap();
        let host = Host {
            is_root: false,
            xdg_config: Some("/home/u/.config".into()),
            xdg_runtime: Some(runtime),
            ..crate::trust::staged_host(&config)
        };
        let user = r.join("home/u/.config/docker/certs.d/10.0.0.2:5000");
        std::fs::create_dir_all(&user).unwrap();
        std::fs::write(user.join("client.key"), "key").unwrap();
        let findings = inspect(&host, &config.endpoints(), Scope::Host, &config.fixes());
        let orphan = findings
            .iter()
            .find(|f| f.code == "orphan-key")
            .unwrap_or_else(|| panic!("{findings:?}"));
        assert!(
            orphan.message.contains("home/u/.config/docker/certs.d"),
            "{orphan:?}"
        );
    }

    #[test]
    fn rootless_daemon_json_is_the_users_own() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        let config = crate::trust::staged_config(r, "10.0.0.1", "10.0.0.2:5000");
        let runtime = r.join("run-user");
        std::fs::create_dir_all(&runtime).unwrap();
        std::fs::write(runtime.join("docker.sock"), "").unwrap();
        let host = Host {
            is_root: false,
            xdg_config: Some("/home/u/.config".into()),
            xdg_runtime: Some(runtime),
            ..crate::trust::staged_host(&config)
        };
        // The system file is fine; the user's, which the rootless dockerd reads, is not.
        std::fs::create_dir_all(r.join("etc/docker")).unwrap();
        std::fs::write(r.join("etc/docker/daemon.json"), "{}").unwrap();
        let user = r.join("home/u/.config/docker");
        std::fs::create_dir_all(&user).unwrap();
        std::fs::write(
            user.join("daemon.json"),
            r#"{"insecure-registries": ["10.0.0.2:5000"]}"#,
        )
        .unwrap();
        let findings = inspect(&host, &config.endpoints(), Scope::Host, &config.fixes());
        let insecure = findings
            .iter()
            .find(|f| f.code == "insecure-registry")
            .unwrap_or_else(|| panic!("{findings:?}"));
        assert!(
            insecure
                .message
                .contains("home/u/.config/docker/daemon.json"),
            "{insecure:?}"
        );
    }
}
