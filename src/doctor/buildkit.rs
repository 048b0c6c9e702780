//! BuildKit: buildkitd.toml needs `[registry."<host[:port]>"] ca = [...]`; it does not read
//! Docker's certs.d (moby/buildkit docs/buildkitd.toml.md).

use super::{display, quote, Finding, Fixes, Severity};
use crate::config::Config;

pub(super) fn inspect(config: &Config, fixes: &Fixes) -> Vec<Finding> {
    let path = config.host_path("/etc/buildkit/buildkitd.toml");
    let Ok(text) = crate::fsutil::read_text(&path) else {
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
    let mut findings = Vec::new();
    for endpoint in config.endpoints() {
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
