//! The POSIX sh program each agent runs. Over ssh it carries the tool, which installs the CA
//! itself ([`super::agent`]); for `--via marathon|kubernetes` it carries the CA and writes
//! Docker's and containers' certs.d as `trust` lays them out (both endpoint spellings for
//! port 443). Either way it writes what is not trust: the credentials archive, the registry's
//! own pair, the conntrack sysctl.
//!
//! Without the tool, only `sh`, `cat`, `mkdir`, `chmod`, `mv`, `rm` (and `sysctl` for
//! `--conntrack-liberal`, `base64` for the private files) are needed. Every file is written to
//! a temp file in its own directory and renamed over the target, so a dropped connection
//! leaves it old or new, never half-written; the temp name does not end in `.crt`, because
//! Docker loads every `*.crt` in a certs.d directory (docker/docker `daemon/registry`
//! `ReadCertsDirectory`). Identical content is left alone and reported as `same`, which makes
//! the script idempotent.
//!
//! The script speaks a line protocol on stdout that [`parse_output`] reads:
//! `dcosreg: installed PATH`, `same PATH`, `conflict PATH`, `error PATH WHY`,
//! `sysctl set|skipped`, and last `done N` (N = number of problems); the tool's runs add
//! `tool …` and `tool-failed WHY` lines ([`super::agent::parse_runs`]).

use crate::endpoint::Endpoint;

/// Docker's and podman/skopeo/CRI-O's certs.d roots: the paths of `trust`'s docker and
/// containers stores.
pub(crate) const CERTS_D_BASES: [&str; 2] = [
    crate::trust::DOCKER_CERTS_D,
    crate::trust::CONTAINERS_CERTS_D,
];

/// Where `--conntrack-liberal` persists the setting (systemd-sysctl reads /etc/sysctl.d/*.conf).
pub(crate) const SYSCTL_FILE: &str = "/etc/sysctl.d/90-dcosreg-conntrack.conf";
pub(crate) const SYSCTL_KEY: &str = "net.netfilter.nf_conntrack_tcp_be_liberal";

/// What every agent must end up with, independent of how the script reaches it.
#[derive(Debug, Clone)]
pub(crate) struct Payload {
    /// Distinct CA bundles (PEM text, LF line endings, ending in a newline).
    pub(crate) bundles: Vec<String>,
    /// Absolute agent path (without any remote root) and the bundle it receives.
    pub(crate) files: Vec<(String, usize)>,
    /// Replace a different ca.crt that is already there (as `trust --force`).
    pub(crate) force: bool,
    /// Install beside a different ca.crt that is already there, as `ca-<fingerprint>.crt`
    /// (as `trust --add`: a CA rotation).
    pub(crate) add: bool,
    /// Also set and persist nf_conntrack_tcp_be_liberal=1.
    pub(crate) conntrack_liberal: bool,
    /// `--credentials-archive`: the `.tar.gz` every agent gets as [`CREDENTIALS_ARCHIVE`].
    pub(crate) credentials_archive: Option<Vec<u8>>,
    /// `--server-cert`: the registry's own certificate and key for the agents that may run it.
    pub(crate) server_cert: Option<ServerCert>,
}

/// The registry's `domain.crt` and `domain.key`, for `dir` on every agent (the guide's
/// `/etc/privateregistry/certs`).
#[derive(Clone)]
pub(crate) struct ServerCert {
    pub(crate) dir: String,
    pub(crate) cert_pem: String,
    pub(crate) key_pem: Vec<u8>,
}

impl std::fmt::Debug for ServerCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerCert")
            .field("dir", &self.dir)
            .field("key_pem", &"<hidden>")
            .finish()
    }
}

impl ServerCert {
    pub(crate) fn cert_path(&self) -> String {
        format!("{}/domain.crt", self.dir.trim_end_matches('/'))
    }

    pub(crate) fn key_path(&self) -> String {
        format!("{}/domain.key", self.dir.trim_end_matches('/'))
    }
}

/// Where DC/OS tasks fetch the registry login from (`fetch: file:///etc/docker.tar.gz`).
pub(crate) const CREDENTIALS_ARCHIVE: &str = crate::snippet::dcos_credentials::AGENT_ARCHIVE;

impl Payload {
    /// Each endpoint with its CA bundle → every certs.d file of both runtimes.
    pub(crate) fn new(
        per_endpoint: &[(Endpoint, String)],
        different: crate::trust::Different,
        conntrack: bool,
    ) -> Self {
        let mut bundles: Vec<String> = Vec::new();
        let mut files: Vec<(String, usize)> = Vec::new();
        for (endpoint, pem) in per_endpoint {
            let index = match bundles.iter().position(|b| b == pem) {
                Some(index) => index,
                None => {
                    bundles.push(pem.clone());
                    bundles.len() - 1
                }
            };
            for base in CERTS_D_BASES {
                for path in crate::trust::certs_d_ca_files(std::path::Path::new(base), endpoint) {
                    let path = path.to_string_lossy().into_owned();
                    if !files.iter().any(|(p, _)| *p == path) {
                        files.push((path, index));
                    }
                }
            }
        }
        Payload {
            bundles,
            files,
            force: different == crate::trust::Different::Replace,
            add: different == crate::trust::Different::Beside,
            conntrack_liberal: conntrack,
            credentials_archive: None,
            server_cert: None,
        }
    }

    /// Also install the registry's certificate (0644) and key (0600).
    pub(crate) fn with_server_cert(mut self, server: ServerCert) -> Self {
        self.server_cert = Some(server);
        self
    }

    /// Also install `archive` as [`CREDENTIALS_ARCHIVE`] (mode 0600).
    pub(crate) fn with_credentials_archive(mut self, archive: Vec<u8>) -> Self {
        self.credentials_archive = Some(archive);
        self
    }

    /// Human-readable actions for `--dry-run`, with `root` prefixed, that are not trust:
    /// the credentials archive, the registry's own pair, the sysctl.
    pub(crate) fn extra_actions(&self, root: &str, live_sysctl: bool) -> Vec<String> {
        let mut actions = Vec::new();
        if self.credentials_archive.is_some() {
            actions.push(format!(
                "write {root}{CREDENTIALS_ARCHIVE} (mode 0600, skipped when identical)"
            ));
        }
        if let Some(server) = &self.server_cert {
            actions.push(format!(
                "write {root}{} (skipped when identical)",
                server.cert_path()
            ));
            actions.push(format!(
                "write {root}{} (mode 0600, skipped when identical)",
                server.key_path()
            ));
        }
        if self.conntrack_liberal {
            actions.push(format!("write {root}{SYSCTL_FILE} ({SYSCTL_KEY} = 1)"));
            if live_sysctl {
                actions.push(format!("run sysctl -w {SYSCTL_KEY}=1"));
            } else {
                actions.push("skip the live sysctl (--remote-root is set)".to_string());
            }
        }
        actions
    }
}

/// Normalise `--remote-root`: `/` and empty mean none; no trailing slash.
pub(crate) fn normalize_root(root: &str) -> String {
    root.trim_end_matches('/').to_string()
}

pub(crate) use crate::text::shell_quote;

/// The script. `root_expr` is the sh expression assigned to `root` (already quoted);
/// `live_sysctl` says whether `--conntrack-liberal` may change the running kernel (not when a
/// test's `--remote-root` stands in for the agent); `tail` runs after a successful install
/// (Marathon and Kubernetes keep their task alive with it).
pub(crate) fn render(payload: &Payload, root_expr: &str, live_sysctl: bool, tail: &str) -> String {
    let mut s = prelude(root_expr, live_sysctl);
    s.push_str(&body(payload, &ca_files(payload), tail));
    s
}

/// The agent-specific head of every script: where the agent's root is, and whether the
/// live sysctl may be set; everything after it is the same for every agent.
pub(crate) fn prelude(root_expr: &str, live_sysctl: bool) -> String {
    let mut s = String::new();
    s.push_str("# docker-dcosreg rollout (generated; safe to rerun)\n");
    s.push_str("set -u\numask 022\n");
    s.push_str(&format!("root={root_expr}\n"));
    s.push_str(&format!("live_sysctl={}\n", u8::from(live_sysctl)));
    s
}

/// After the prelude: the helpers, `trust_part` (the CA files by hand, or the tool run on
/// the agent), the private files and the sysctl, and the `done N` line.
pub(crate) fn body(payload: &Payload, trust_part: &str, tail: &str) -> String {
    let mut s = String::new();
    s.push_str(&format!("force={}\n", u8::from(payload.force)));
    s.push_str("failed=0\ntmp=''\nwork=''\n");
    s.push_str("trap '[ -z \"$tmp\" ] || rm -f \"$tmp\"; [ -z \"$work\" ] || rm -rf \"$work\"; exit 130' INT TERM HUP\n");
    s.push_str("trap '[ -z \"$work\" ] || rm -rf \"$work\"' EXIT\n");
    s.push_str("say() { printf 'dcosreg: %s\\n' \"$*\"; }\n");
    s.push_str(INSTALL_FN);
    s.push_str(trust_part);
    s.push_str(&extras(payload));
    s.push_str("say \"done $failed\"\n[ \"$failed\" -eq 0 ] || exit 1\n");
    s.push_str(tail);
    s
}

/// The CA files written by the script itself (Docker's and containers' certs.d): what
/// `--via marathon` and `--via kubernetes` install, where no binary travels.
fn ca_files(payload: &Payload) -> String {
    let mut s = String::new();
    for (index, pem) in payload.bundles.iter().enumerate() {
        // A quoted here-document delimiter: nothing inside is expanded. PEM never contains it.
        s.push_str(&format!(
            "ca_{index}() {{\ncat <<'DCOSREG_CA_{index}'\n{}DCOSREG_CA_{index}\n}}\n",
            ensure_newline(pem)
        ));
    }
    for (path, index) in &payload.files {
        // With --add, where a different CA is there the new one goes beside it.
        let beside = payload
            .add
            .then(|| crate::trust::beside(std::path::Path::new(path), &payload.bundles[*index]))
            .flatten()
            .map(|b| format!(" \"$root\"{}", shell_quote(&b.to_string_lossy())))
            .unwrap_or_default();
        s.push_str(&format!(
            "install_file ca_{index} \"$root\"{} \"$force\"{beside}\n",
            shell_quote(path)
        ));
    }
    s
}

/// What is not trust: the credentials archive, the registry's own pair, the sysctl.
fn extras(payload: &Payload) -> String {
    let mut s = String::new();
    if let Some(archive) = &payload.credentials_archive {
        s.push_str(&secret_installer("archive", CREDENTIALS_ARCHIVE, archive));
    }
    if let Some(server) = &payload.server_cert {
        // The certificate is public (0644, ours by name); the key is a secret.
        s.push_str(&format!(
            "server_cert() {{\ncat <<'DCOSREG_SERVER_CERT'\n{}DCOSREG_SERVER_CERT\n}}\n",
            ensure_newline(&server.cert_pem)
        ));
        s.push_str(&format!(
            "install_file server_cert \"$root\"{} 1\n",
            shell_quote(&server.cert_path())
        ));
        s.push_str(&secret_installer(
            "server_key",
            &server.key_path(),
            &server.key_pem,
        ));
    }
    if payload.conntrack_liberal {
        s.push_str(&format!(
            "sysctl_conf() {{ printf '%s\\n' '# written by docker-dcosreg rollout --conntrack-liberal' '{SYSCTL_KEY} = 1'; }}\n"
        ));
        // The file is ours by name: a different content is replaced without --force.
        s.push_str(&format!(
            "install_file sysctl_conf \"$root\"{} 1\n",
            shell_quote(SYSCTL_FILE)
        ));
        s.push_str(&format!(
            "if [ \"$live_sysctl\" = 0 ]; then say 'sysctl skipped'\n\\
             elif sysctl -w {SYSCTL_KEY}=1 >/dev/null 2>&1 || {{ [ -w /proc/sys/net/netfilter/nf_conntrack_tcp_be_liberal ] && echo 1 > /proc/sys/net/netfilter/nf_conntrack_tcp_be_liberal; }}; then say 'sysctl set'\n\\
             else say 'error sysctl cannot set {SYSCTL_KEY} (is the nf_conntrack module loaded?)'; failed=$((failed + 1)); fi\n"
        ));
    }
    s
}

/// A private file (the credentials archive, the registry's key) travels base64-encoded in
/// a quoted here-document (binary is not safe in a shell script) and is compared in that
/// form, so identical content is left alone. It is ours by name: a different content (a new
/// password, a renewed key) replaces the old one without --force. Written 0600 under umask
/// 077 before the rename: the secret is never readable by others. `name` is a shell
/// identifier unique in the script.
fn secret_installer(name: &str, target: &str, bytes: &[u8]) -> String {
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut lines = String::new();
    for chunk in encoded.as_bytes().chunks(76) {
        lines.push_str(&String::from_utf8_lossy(chunk));
        lines.push('\n');
    }
    let upper = name.to_ascii_uppercase();
    format!(
        r#"{name}_b64() {{
cat <<'DCOSREG_{upper}'
{lines}DCOSREG_{upper}
}}
install_{name}() {{
  target="$root"{path}
  dir=${{target%/*}}
  if ! mkdir -p "$dir" 2>/dev/null; then say "error $target cannot create $dir"; failed=$((failed + 1)); return; fi
  if [ -d "$target" ]; then say "error $target is a directory, not a file — move it away"; failed=$((failed + 1)); return; fi
  if [ -f "$target" ] && [ "$(base64 < "$target" | tr -d '\n')" = "$({name}_b64 | tr -d '\n')" ]; then
    if chmod 600 "$target"; then say "same $target"; else say "error $target cannot set mode 0600"; failed=$((failed + 1)); fi
    return
  fi
  tmp="$dir/.dcosreg-$$.tmp"
  if ! (umask 077 && {name}_b64 | base64 -d > "$tmp") 2>/dev/null; then rm -f "$tmp"; say "error $target cannot write into $dir (needs base64)"; failed=$((failed + 1)); return; fi
  if ! chmod 600 "$tmp" || ! mv -f "$tmp" "$target"; then rm -f "$tmp"; say "error $target cannot replace it"; failed=$((failed + 1)); return; fi
  tmp=''
  if [ ! -f "$target" ] || [ -L "$target" ] || [ "$(base64 < "$target" | tr -d '\n')" != "$({name}_b64 | tr -d '\n')" ]; then say "error $target does not hold what was written"; failed=$((failed + 1)); return; fi
  say "installed $target"
}}
install_{name}
"#,
        path = shell_quote(target),
    )
}

fn ensure_newline(text: &str) -> String {
    if text.ends_with('\n') {
        text.to_string()
    } else {
        format!("{text}\n")
    }
}

/// install_file WRITER PATH FORCE: put WRITER's output at PATH atomically, unless identical.
/// The `$(cat …; echo .)` comparison keeps trailing newlines exact and needs no `cmp`.
/// "installed" is said only after reading the file back: `mv` onto a directory (or a link
/// to one) moves the file *into* it and succeeds, which must not count as installed.
const INSTALL_FN: &str = r#"install_file() {
  dir=${2%/*}
  if [ -d "$2" ]; then say "error $2 is a directory, not a file — move it away"; failed=$((failed + 1)); return; fi
  if ! mkdir -p "$dir" 2>/dev/null; then say "error $2 cannot create $dir"; failed=$((failed + 1)); return; fi
  tmp="$dir/.dcosreg-$$.tmp"
  if ! "$1" > "$tmp" 2>/dev/null; then rm -f "$tmp"; say "error $2 cannot write into $dir"; failed=$((failed + 1)); return; fi
  if [ -f "$2" ] && [ "$(cat "$2"; echo .)" = "$(cat "$tmp"; echo .)" ]; then rm -f "$tmp"; say "same $2"; return; fi
  if [ -e "$2" ] && [ "$3" != 1 ] && [ -n "${4:-}" ]; then rm -f "$tmp"; tmp=''; install_file "$1" "$4" 0; return; fi
  if [ -e "$2" ] && [ "$3" != 1 ]; then rm -f "$tmp"; say "conflict $2"; failed=$((failed + 1)); return; fi
  if ! chmod 644 "$tmp" || ! mv -f "$tmp" "$2"; then rm -f "$tmp"; say "error $2 cannot replace it"; failed=$((failed + 1)); return; fi
  tmp=''
  if [ ! -f "$2" ] || [ -L "$2" ] || [ "$(cat "$2"; echo .)" != "$("$1"; echo .)" ]; then say "error $2 does not hold what was written"; failed=$((failed + 1)); return; fi
  say "installed $2"
}
"#;

/// What one run of the script reported.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct ScriptOutcome {
    pub(crate) installed: Vec<String>,
    pub(crate) same: Vec<String>,
    pub(crate) conflicts: Vec<String>,
    pub(crate) errors: Vec<String>,
    /// `Some(true)` set live, `Some(false)` skipped because of the remote root.
    pub(crate) sysctl_live: Option<bool>,
    /// The `done N` line was seen: the script ran to its end.
    pub(crate) finished: bool,
}

/// Read the script's protocol lines; anything else (motd, shell noise) is ignored.
pub(crate) fn parse_output(stdout: &str) -> ScriptOutcome {
    let mut outcome = ScriptOutcome::default();
    for line in stdout.lines() {
        let Some(rest) = line.strip_prefix("dcosreg: ") else {
            continue;
        };
        let (verb, arg) = rest.split_once(' ').unwrap_or((rest, ""));
        match verb {
            "installed" => outcome.installed.push(arg.to_string()),
            "same" => outcome.same.push(arg.to_string()),
            "conflict" => outcome.conflicts.push(arg.to_string()),
            "error" => outcome.errors.push(arg.to_string()),
            "sysctl" => outcome.sysctl_live = Some(arg == "set"),
            "done" => outcome.finished = true,
            _ => {}
        }
    }
    outcome
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests build their fixtures directly
mod tests {
    use super::*;

    fn ep(s: &str) -> Endpoint {
        s.parse().unwrap()
    }

    #[test]
    fn layout_matches_trust_for_both_endpoint_forms() {
        let pem = "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n".to_string();
        let payload = Payload::new(
            &[
                (ep("192.168.0.1"), pem.clone()),
                (ep("192.168.1.50:5000"), pem),
            ],
            crate::trust::Different::Keep,
            false,
        );
        let paths: Vec<&str> = payload.files.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            [
                "/etc/docker/certs.d/192.168.0.1/ca.crt",
                "/etc/docker/certs.d/192.168.0.1:443/ca.crt",
                "/etc/containers/certs.d/192.168.0.1/ca.crt",
                "/etc/containers/certs.d/192.168.0.1:443/ca.crt",
                "/etc/docker/certs.d/192.168.1.50:5000/ca.crt",
                "/etc/containers/certs.d/192.168.1.50:5000/ca.crt",
            ]
        );
        assert_eq!(
            payload.bundles.len(),
            1,
            "one bundle shared by both endpoints"
        );
    }

    /// The script run by sh against a root where one ca.crt is a directory (and one a link
    /// to a directory): those are errors, never "installed".
    #[test]
    fn a_directory_at_ca_crt_is_an_error_not_installed() {
        let root = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        let pem = "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n".to_string();
        let payload = Payload::new(
            &[(ep("10.1.2.3:5000"), pem)],
            crate::trust::Different::Replace,
            false,
        );
        let docker = root.path().join("etc/docker/certs.d/10.1.2.3:5000/ca.crt");
        std::fs::create_dir_all(&docker).unwrap();
        let podman = root.path().join("etc/containers/certs.d/10.1.2.3:5000");
        std::fs::create_dir_all(&podman).unwrap();
        std::os::unix::fs::symlink(elsewhere.path(), podman.join("ca.crt")).unwrap();
        let script = render(
            &payload,
            &shell_quote(&root.path().to_string_lossy()),
            false,
            "",
        );
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(&script)
            .output()
            .unwrap();
        let outcome = parse_output(&String::from_utf8_lossy(&out.stdout));
        assert!(outcome.installed.is_empty(), "{outcome:?}");
        assert_eq!(outcome.errors.len(), 2, "{outcome:?}");
        assert!(std::fs::read_dir(elsewhere.path())
            .unwrap()
            .next()
            .is_none());
    }

    #[test]
    fn quoting_survives_hostile_text() {
        assert_eq!(shell_quote("a'b"), r"'a'\''b'");
        assert_eq!(shell_quote("$(reboot)"), "'$(reboot)'");
    }

    #[test]
    fn protocol_lines_are_parsed_and_noise_ignored() {
        let out = "Welcome!\ndcosreg: installed /a\ndcosreg: same /b\ndcosreg: sysctl skipped\ndcosreg: done 0\n";
        let parsed = parse_output(out);
        assert_eq!(parsed.installed, ["/a"]);
        assert_eq!(parsed.same, ["/b"]);
        assert_eq!(parsed.sysctl_live, Some(false));
        assert!(parsed.finished);
    }
}
