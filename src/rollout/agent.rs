//! `--via ssh` runs the tool itself on each agent: `trust` (or `untrust`) with the agent's
//! own stores, manifest, hardening and restart truth, one implementation everywhere.
//!
//! The binary travels in the script the agent's `sh` already reads over the one ssh
//! connection: gzip, then base64 in a quoted here-document (binary is not safe in a shell
//! script). The agent unpacks it into a private `mktemp -d` directory (0700; `/var/tmp`
//! when `/tmp` is mounted noexec), checks its SHA-256 and that it runs (`--version`: an
//! older glibc says so here), runs it, and the EXIT trap removes the directory.
//!
//! Each run reports one protocol line, `dcosreg: tool VERB STATUS STDOUT STDERR` (the two
//! outputs base64, `-` when empty), which [`parse_runs`] reads back into the agent's own
//! JSON report: files, restart list, findings.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::endpoint::Endpoint;
use crate::fsutil::Fs;
use crate::text::shell_quote;

/// What the release tarball offers for agents with an older glibc than this build's.
pub(crate) const OLD_GLIBC_HINT: &str =
    "give --agent-binary the release tarball's glibc-2.17 build (./dist.sh; runs on CentOS/RHEL 7 and newer)";

/// The binary (`--agent-binary`, or the running one) as the script carries it.
pub(crate) struct AgentBinary {
    /// gzip, base64, 76-column lines.
    encoded: String,
    sha256: String,
}

/// The largest binary rollout sends (a release build is about 10 MB).
const MAX_BINARY: u64 = 512 * 1024 * 1024;

/// Why `--agent-binary` cannot be sent, as one line with the way out.
fn refused(path: &Path, why: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "--agent-binary {}: {why} — give the docker-dcosreg binary to run on the agents",
        path.display()
    )
}

const ELF_MAGIC: &[u8; 4] = b"\x7fELF";

impl AgentBinary {
    /// Whether `path` can be sent: a regular ELF file of at most 512 MB. Cheap (the header
    /// only), so a wrong `--agent-binary` stops the run before agents are listed or asked.
    pub(crate) fn check(fs: Fs<'_>, path: &Path) -> anyhow::Result<()> {
        use std::io::Read;
        let file = fs
            .open_regular(path)
            .map_err(|e| refused(path, &crate::fsutil::io_reason(&e)))?;
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        if len > MAX_BINARY {
            return Err(refused(path, &format!("is {len} bytes, over {MAX_BINARY}")));
        }
        let mut magic = [0u8; 4];
        if file.take(4).read_exact(&mut magic).is_err() || &magic != ELF_MAGIC {
            return Err(refused(path, "is not an executable (no ELF header)"));
        }
        Ok(())
    }

    /// Read `path` once (a regular file within the cap, an ELF header, as
    /// [`AgentBinary::check`] said at the start) and pack it once for every agent.
    pub(crate) fn load(fs: Fs<'_>, path: &Path) -> anyhow::Result<AgentBinary> {
        let bytes = fs
            .read_file(path, MAX_BINARY)
            .map_err(|e| refused(path, &crate::fsutil::io_reason(&e)))?;
        if !bytes.starts_with(ELF_MAGIC) {
            return Err(refused(path, "is not an executable (no ELF header)"));
        }
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&bytes)
            .context("cannot compress --agent-binary")?;
        let packed = gz.finish().context("cannot compress --agent-binary")?;
        let b64 = base64::engine::general_purpose::STANDARD.encode(packed);
        let mut encoded = String::with_capacity(b64.len() + b64.len() / 76 + 1);
        for chunk in b64.as_bytes().chunks(76) {
            encoded.push_str(std::str::from_utf8(chunk).unwrap_or_default());
            encoded.push('\n');
        }
        Ok(AgentBinary {
            encoded,
            sha256: ring::digest::digest(&ring::digest::SHA256, &bytes)
                .as_ref()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
        })
    }

    /// The script part that unpacks and checks the binary into `$bin` (private `$work`).
    fn unpack(&self) -> String {
        format!(
            r#"tool_failed() {{ say "tool-failed $*"; say 'done 1'; exit 1; }}
work=$(umask 077 && mktemp -d "${{TMPDIR:-/tmp}}/dcosreg.XXXXXX" 2>/dev/null) || {{ work=''; tool_failed "cannot create a private directory in ${{TMPDIR:-/tmp}} (mktemp -d)"; }}
bin="$work/docker-dcosreg"
base64 -d > "$work/docker-dcosreg.gz" 2>/dev/null <<'DCOSREG_BINARY'
{encoded}DCOSREG_BINARY
gzip -dc < "$work/docker-dcosreg.gz" > "$bin" 2>/dev/null || tool_failed "cannot unpack the tool here (needs base64 and gzip)"
rm -f "$work/docker-dcosreg.gz"
[ "$(sha256sum < "$bin" 2>/dev/null | cut -c1-64)" = {sha} ] || tool_failed "the tool arrived damaged (its SHA-256 differs; needs sha256sum)"
chmod 700 "$bin"
if ! version=$("$bin" --version 2>&1); then
  alt=$(umask 077 && mktemp -d /var/tmp/dcosreg.XXXXXX 2>/dev/null) || alt=''
  if [ -n "$alt" ] && cp "$bin" "$alt/docker-dcosreg" && chmod 700 "$alt/docker-dcosreg" && "$alt/docker-dcosreg" --version >/dev/null 2>&1; then
    rm -rf "$work"; work=$alt; bin="$work/docker-dcosreg"
  else
    [ -z "$alt" ] || rm -rf "$alt"
    tool_failed "does not run here: $(printf '%s\n' "$version" | head -n 1)"
  fi
fi
b64() {{ if [ -s "$1" ]; then base64 < "$1" | tr -d '\n'; else printf -; fi; }}
run_tool() {{
  verb=$1; shift
  "$@" > "$work/out" 2> "$work/err"
  status=$?
  say "tool $verb $status $(b64 "$work/out") $(b64 "$work/err")"
  [ "$status" -eq 0 ] || failed=$((failed + 1))
}}
"#,
            encoded = self.encoded,
            sha = shell_quote(&self.sha256),
        )
    }
}

/// What the tool runs on each agent.
pub(crate) enum AgentRun<'a> {
    /// `trust` per distinct CA bundle, with its endpoints.
    Trust {
        bundles: &'a [(String, Vec<Endpoint>)],
        different: crate::trust::Different,
    },
    /// `untrust` through the agent's manifest.
    Untrust,
}

/// The flags every run on the agent gets: its root, the endpoints as this run has them
/// (never the built-in defaults by surprise), and JSON.
fn common(internal: &Endpoint, external: &Endpoint) -> String {
    format!(
        "--root \"${{root:-/}}\" --internal {} --external {} --format json",
        shell_quote(&internal.to_string()),
        shell_quote(&external.to_string())
    )
}

/// The trust part of the ssh script: unpack the binary, then run it.
pub(crate) fn script_part(
    binary: &AgentBinary,
    run: &AgentRun<'_>,
    internal: &Endpoint,
    external: &Endpoint,
    targets: &str,
) -> String {
    let mut s = binary.unpack();
    let globals = common(internal, external);
    let target = if targets.is_empty() {
        String::new()
    } else {
        format!(" --target {}", shell_quote(targets))
    };
    match run {
        AgentRun::Trust { bundles, different } => {
            let flag = different.flag();
            for (index, (pem, endpoints)) in bundles.iter().enumerate() {
                let eps: Vec<String> = endpoints
                    .iter()
                    .map(|e| shell_quote(&e.to_string()))
                    .collect();
                s.push_str(&format!(
                    "cat > \"$work/ca-{index}.pem\" <<'DCOSREG_CA_{index}'\n{pem}{nl}DCOSREG_CA_{index}\n\
                     run_tool trust \"$bin\" {globals} trust {eps} --ca-file \"$work/ca-{index}.pem\" --yes --no-verify{flag}{target}\n",
                    nl = if pem.ends_with('\n') { "" } else { "\n" },
                    eps = eps.join(" "),
                ));
            }
        }
        AgentRun::Untrust => {
            s.push_str(&format!(
                "run_tool untrust \"$bin\" {globals} untrust{target}\n"
            ));
        }
    }
    s
}

/// One restart the agent's own `trust`/`untrust` asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AgentRestart {
    pub(crate) service: String,
    pub(crate) why: String,
    pub(crate) command: String,
}

/// One finding of the agent's own `trust` (what still stands in the CA's way there).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AgentFinding {
    pub(crate) code: String,
    pub(crate) severity: String,
    pub(crate) message: String,
    pub(crate) fix: Option<String>,
}

#[derive(Debug, Deserialize)]
struct StepJson {
    path: String,
    action: String,
}

#[derive(Debug, Deserialize)]
struct RemovalJson {
    path: String,
    action: String,
}

/// The agent's `trust --format json` or `untrust --format json`, the fields rollout reads.
#[derive(Debug, Default, Deserialize)]
struct ToolJson {
    #[serde(default)]
    steps: Vec<StepJson>,
    #[serde(default)]
    files: Vec<RemovalJson>,
    #[serde(default)]
    restart: Vec<AgentRestart>,
    #[serde(default)]
    findings: Vec<AgentFinding>,
}

/// What the tool's runs on one agent reported, merged.
#[derive(Debug, Default)]
pub(crate) struct ToolOutcome {
    /// The binary could not be unpacked or does not run there.
    pub(crate) tool_failed: Option<String>,
    pub(crate) written: Vec<String>,
    pub(crate) unchanged: Vec<String>,
    /// Kept because a different CA is there (`--force` replaces, `--add` goes beside).
    pub(crate) kept_different: Vec<String>,
    pub(crate) removed: Vec<String>,
    pub(crate) restart: Vec<AgentRestart>,
    pub(crate) findings: Vec<AgentFinding>,
    /// A run that failed: its own error line.
    pub(crate) errors: Vec<String>,
}

fn decode(field: &str) -> String {
    if field == "-" {
        return String::new();
    }
    base64::engine::general_purpose::STANDARD
        .decode(field)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

/// Read the `tool` and `tool-failed` lines of the script's output.
pub(crate) fn parse_runs(stdout: &str) -> ToolOutcome {
    let mut outcome = ToolOutcome::default();
    for line in stdout.lines() {
        let Some(rest) = line.strip_prefix("dcosreg: ") else {
            continue;
        };
        if let Some(why) = rest.strip_prefix("tool-failed ") {
            outcome.tool_failed = Some(why.to_string());
            continue;
        }
        let Some(rest) = rest.strip_prefix("tool ") else {
            continue;
        };
        let fields: Vec<&str> = rest.split(' ').collect();
        let [verb, status, out, err] = fields[..] else {
            continue;
        };
        let out = decode(out);
        let err = decode(err);
        let report: ToolJson = serde_json::from_str(&out).unwrap_or_default();
        for step in &report.steps {
            let list = match step.action.as_str() {
                "create" | "update" => &mut outcome.written,
                "already-installed" => &mut outcome.unchanged,
                "kept-different" => &mut outcome.kept_different,
                _ => continue,
            };
            if !list.contains(&step.path) {
                list.push(step.path.clone());
            }
        }
        for file in &report.files {
            if matches!(file.action.as_str(), "remove" | "edit")
                && !outcome.removed.contains(&file.path)
            {
                outcome.removed.push(file.path.clone());
            }
        }
        for restart in report.restart {
            if !outcome.restart.contains(&restart) {
                outcome.restart.push(restart);
            }
        }
        for finding in report.findings {
            if !outcome.findings.contains(&finding) {
                outcome.findings.push(finding);
            }
        }
        if status != "0" && outcome.kept_different.is_empty() {
            let last = err
                .lines()
                .map(str::trim)
                .rfind(|l| !l.is_empty())
                .map(|l| l.strip_prefix("docker-dcosreg: ").unwrap_or(l).to_string())
                .unwrap_or_else(|| format!("{verb} on the agent exited with status {status}"));
            outcome.errors.push(format!("{verb} on the agent: {last}"));
        }
    }
    outcome
}
