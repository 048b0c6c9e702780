//! BuildKit: the CA in `/etc/buildkit/certs/<host[:port]>/ca.crt` and
//! `[registry."<host[:port]>"] ca = [...]` in `/etc/buildkit/buildkitd.toml` (rootless:
//! `~/.config/buildkit/`), edited with toml_edit so the user's comments and settings stay.
//! buildkitd reads its config at start; `docker-container` builders get it only through
//! `docker buildx create --config` (docker/buildx docs/guides/custom-registry-config.md).

use std::time::SystemTime;

use super::certsd::Scope;
use super::running::{self, Restart};
use super::{
    cert_step, read_optional, tomlca, Action, Anchor, Different, Edit, Host, Step, Target,
};
use crate::endpoint::Endpoint;
use crate::finding::{display, quote, Finding, Fixes, Severity};

/// Where a system buildkitd keeps its configuration (and our CA files under `certs/`).
pub(crate) const ETC: &str = "/etc/buildkit";

pub(crate) fn detect(host: &Host) -> bool {
    host.is_dir(ETC)
}

/// Where BuildKit keeps trust: `buildkitd.toml` and `certs/<host[:port]>/ca.crt` under
/// this directory (the per-user one when not root).
fn base(host: &Host) -> anyhow::Result<std::path::PathBuf> {
    if !host.is_root {
        if let Some(dir) = host.user_config("buildkit") {
            return dir;
        }
    }
    host.path(ETC)
}

pub(crate) fn check(
    host: &Host,
    anchors: &[Anchor],
    different: Different,
) -> anyhow::Result<Vec<Step>> {
    let base = base(host)?;
    let config = base.join("buildkitd.toml");
    let current = read_optional(host.fs(), &config)?;
    let mut text = current.clone().unwrap_or_default();
    let mut steps = Vec::new();
    let mut edits = Vec::new();
    let mut endpoints = Vec::new();
    let mut changed = false;
    for anchor in anchors {
        for name in anchor.endpoint.certs_d_names() {
            let ca = base.join("certs").join(&name).join("ca.crt");
            let ca_step = cert_step(
                host.fs(),
                Target::Buildkit,
                vec![anchor.endpoint.clone()],
                ca.clone(),
                &anchor.pem,
                different,
            )?;
            // The file the step writes: with --add, the new CA beside the old one, both listed.
            let ca_path = host.unrooted(&ca_step.path).to_string_lossy().into_owned();
            steps.push(ca_step);
            if let Some(new) = tomlca::add_ca(&text, "registry", &name, &ca_path, &[])
                .map_err(|e| anyhow::anyhow!("{}: {e}", config.display()))?
            {
                text = new;
                changed = true;
            }
            edits.push(Edit {
                endpoint: anchor.endpoint.to_string(),
                outer: "registry".into(),
                inner: name,
                ca_path,
            });
            if !endpoints.contains(&anchor.endpoint) {
                endpoints.push(anchor.endpoint.clone());
            }
        }
    }
    let action = match (&current, changed) {
        (_, false) => Action::AlreadyInstalled,
        (None, true) => Action::Create,
        (Some(_), true) => Action::Update,
    };
    steps.push(Step {
        target: Target::Buildkit,
        endpoints,
        path: config,
        action,
        contents: text.into_bytes(),
        edits,
    });
    Ok(steps)
}

/// A standalone buildkitd reads buildkitd.toml, and with it the `ca` files it names, when it
/// starts (moby/buildkit `cmd/buildkitd` loads the config once): a buildkitd running since
/// before the change must restart. (Not proven here: Debian ships no buildkitd.)
pub(crate) fn restarts(host: &Host, when: SystemTime) -> Vec<Restart> {
    // Unresolvable under the root: `check` said so, naming it.
    let Ok(base) = base(host) else {
        return Vec::new();
    };
    let daemon_base = host.unrooted(&base);
    let daemon_config = daemon_base.join("buildkitd.toml");
    running::daemons(host.fs(), "buildkitd")
        .into_iter()
        // A buildkitd started with `--config OTHER` never reads ours.
        .filter(|d| {
            d.arg(host.fs(), &["--config"])
                .is_none_or(|c| std::path::Path::new(&c) == daemon_config)
        })
        .filter(|d| {
            d.reads(host.fs(), &base, &daemon_base, host.config.is_real_root()) && d.predates(when)
        })
        .map(|d| Restart {
            service: "buildkit",
            why: format!(
                "buildkitd (pid {}, started {}) reads {} only when it starts",
                d.pid,
                d.started_text(),
                daemon_config.display()
            ),
            command: running::restart_command(host.fs(), "buildkit"),
        })
        .collect()
}

pub(crate) fn notes(_host: &Host) -> Vec<String> {
    vec![
        "buildkit: docker-container builders need `docker buildx create --config /etc/buildkit/buildkitd.toml`".to_string(),
    ]
}

/// buildkitd.toml: it must parse, and (for [`Scope::Host`]) name a CA for each endpoint.
/// BuildKit does not read Docker's certs.d (moby/buildkit docs/buildkitd.toml.md).
pub(crate) fn inspect(
    host: &Host,
    endpoints: &[Endpoint],
    scope: Scope,
    fixes: &Fixes,
) -> Vec<Finding> {
    let path = match base(host) {
        Ok(base) => base.join("buildkitd.toml"),
        Err(e) => return vec![crate::finding::unresolvable(e)],
    };
    let Ok(text) = host.fs().read_text(&path) else {
        return Vec::new();
    };
    let doc = match text.parse::<toml_edit::DocumentMut>() {
        Ok(doc) => doc,
        Err(e) => {
            return vec![Finding::new(
                "buildkitd-toml-invalid",
                Severity::Error,
                format!(
                    "{} is not valid TOML: {}: buildkitd will not start",
                    display(&path),
                    e.message()
                ),
            )]
        }
    };
    if scope == Scope::Traps {
        return Vec::new();
    }
    let mut findings = Vec::new();
    for endpoint in endpoints {
        let has_ca = endpoint.certs_d_names().iter().any(|name| {
            doc.get("registry")
                .and_then(|r| r.get(name))
                .and_then(|entry| entry.get("ca"))
                .and_then(|ca| ca.as_array())
                .is_some_and(|list| !list.is_empty())
        });
        if !has_ca {
            findings.push(
                Finding::new(
                    "buildkit-no-ca",
                    Severity::Warning,
                    format!("{} has no CA for {endpoint}: RUN --mount and FROM in BuildKit builds fail with x509 errors", display(&path)),
                )
                .fix(fixes.dcosreg(&format!("trust {} --target buildkit", quote(endpoint.to_string())))),
            );
        }
    }
    findings
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests build their fixtures directly
mod tests {
    use super::*;
    use crate::trust::{staged_config, staged_host};

    #[test]
    fn buildkitd_toml_needs_a_ca_per_endpoint_and_must_parse() {
        let root = tempfile::tempdir().unwrap();
        let etc = root.path().join("etc/buildkit");
        std::fs::create_dir_all(&etc).unwrap();
        let config = staged_config(root.path(), "10.0.0.1", "10.0.0.2:5000");
        let host = staged_host(&config);
        let fixes = config.fixes();
        let run = |scope| inspect(&host, &config.endpoints(), scope, &fixes);
        assert!(run(Scope::Host).is_empty(), "no file: nothing to say");

        std::fs::write(
            etc.join("buildkitd.toml"),
            "[registry.\"10.0.0.1:443\"]\nca = [\"/etc/buildkit/certs/10.0.0.1/ca.crt\"]\n",
        )
        .unwrap();
        let host_findings = run(Scope::Host);
        assert_eq!(host_findings.len(), 1, "{host_findings:?}");
        assert_eq!(host_findings[0].code, "buildkit-no-ca");
        assert!(host_findings[0].message.contains("10.0.0.2:5000"));
        assert!(run(Scope::Traps).is_empty());

        std::fs::write(etc.join("buildkitd.toml"), "[registry").unwrap();
        for scope in [Scope::Host, Scope::Traps] {
            let found = run(scope);
            assert_eq!(found.len(), 1);
            assert_eq!(found[0].code, "buildkitd-toml-invalid");
        }
    }
}
