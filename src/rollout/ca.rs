//! The CA that `rollout` installs, and the rule that it is never trusted silently.
//!
//! Interim implementation for `--ca-file` and `--ca-url` until `trust`'s shared
//! `crate::trust::source` lands (then this module goes and both commands use one). The rules are
//! `trust`'s (issue 5): show subject, issuer, SANs, validity and SHA-256; install only with a
//! matching `--fingerprint` (hex, colons optional, any case), `--yes`, or a "y" typed on a
//! terminal; otherwise exit 2 with nothing written.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use rustls_pki_types::CertificateDer;

use crate::cli::CaSourceArgs;
use crate::output::sanitize_line;

/// One CA certificate ready to install.
#[derive(Debug, Clone)]
pub(crate) struct CaCert {
    pub(crate) der: CertificateDer<'static>,
    pub(crate) sha256: String,
    pub(crate) subject: String,
    pub(crate) issuer: String,
    pub(crate) sans: Vec<String>,
    pub(crate) not_before: String,
    pub(crate) not_after: String,
}

impl CaCert {
    fn new(der: CertificateDer<'static>) -> anyhow::Result<CaCert> {
        let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref())
            .map_err(|e| anyhow!("cannot parse the CA certificate: {e}"))?;
        let sans = cert
            .subject_alternative_name()
            .ok()
            .flatten()
            .map(|ext| {
                ext.value
                    .general_names
                    .iter()
                    .map(|name| sanitize_line(&name.to_string()))
                    .collect()
            })
            .unwrap_or_default();
        Ok(CaCert {
            sha256: crate::pem::sha256_fingerprint(der.as_ref()),
            subject: sanitize_line(&cert.subject().to_string()),
            issuer: sanitize_line(&cert.issuer().to_string()),
            sans,
            not_before: cert.validity().not_before.to_string(),
            not_after: cert.validity().not_after.to_string(),
            der,
        })
    }

    pub(crate) fn pem(&self) -> String {
        crate::pem::to_pem(self.der.as_ref())
    }

    /// The lines shown before anything is installed.
    pub(crate) fn describe(&self) -> Vec<String> {
        let mut lines = vec![
            format!("  subject:  {}", self.subject),
            format!("  issuer:   {}", self.issuer),
        ];
        if !self.sans.is_empty() {
            lines.push(format!("  names:    {}", self.sans.join(", ")));
        }
        lines.push(format!(
            "  valid:    {} to {}",
            self.not_before, self.not_after
        ));
        lines.push(format!("  SHA-256:  {}", self.sha256));
        lines
    }
}

/// Load the CA from `--ca-file` or `--ca-url`.
pub(crate) fn obtain(source: &CaSourceArgs, timeout: Duration) -> anyhow::Result<Vec<CaCert>> {
    let ders = if let Some(path) = &source.ca_file {
        crate::pem::read_certificates(path)?
    } else if let Some(url) = &source.ca_url {
        download(url, timeout)?
    } else {
        bail!(
            "rollout needs the CA as a file or URL in this build — pass --ca-file PEM or --ca-url URL (e.g. https://master.mesos/ca/dcos-ca.crt)"
        );
    };
    ders.into_iter().map(CaCert::new).collect()
}

fn download(url: &str, timeout: Duration) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let client = super::http::client(timeout)?;
    let response = client.get(url).send().map_err(|e| {
        anyhow!("cannot download the CA from {url}: {e} — check --ca-url, or use --ca-file")
    })?;
    if !response.status().is_success() {
        bail!(
            "{url} answered {} — check --ca-url, or use --ca-file",
            response.status()
        );
    }
    let body = super::http::read_body(response)
        .with_context(|| format!("cannot download the CA from {url}"))?;
    Ok(crate::pem::parse_certificates(&body, Path::new(url))?)
}

/// Normalise a fingerprint the way users paste it: colons, spaces optional, any case.
pub(crate) fn normalize_fingerprint(text: &str) -> String {
    text.chars()
        .filter(|c| !matches!(c, ':' | ' ' | '-'))
        .collect::<String>()
        .to_ascii_uppercase()
}

/// Apply the never-silently rule; returns the certificates to install.
pub(crate) fn confirm(
    certs: Vec<CaCert>,
    source: &CaSourceArgs,
    agents: usize,
) -> anyhow::Result<Vec<CaCert>> {
    if let Some(wanted) = &source.fingerprint {
        let wanted_hex = normalize_fingerprint(wanted);
        if wanted_hex.len() != 64 || !wanted_hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            bail!(
                "--fingerprint {:?} is not a SHA-256 fingerprint — give 64 hex digits, colons optional",
                sanitize_line(wanted)
            );
        }
        let matching: Vec<CaCert> = certs
            .iter()
            .filter(|c| normalize_fingerprint(&c.sha256) == wanted_hex)
            .cloned()
            .collect();
        if matching.is_empty() {
            let found: Vec<&str> = certs.iter().map(|c| c.sha256.as_str()).collect();
            bail!(
                "--fingerprint matches none of the CA certificates (found {}) — nothing was installed; check the fingerprint with the registry's owner",
                found.join(", ")
            );
        }
        return Ok(matching);
    }
    if source.yes {
        return Ok(certs);
    }
    if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() {
        let mut err = std::io::stderr().lock();
        writeln!(err, "CA to install on {agents} agent(s):")?;
        for cert in &certs {
            for line in cert.describe() {
                writeln!(err, "{line}")?;
            }
        }
        write!(err, "Trust this CA on every agent? [y/N] ")?;
        err.flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
            return Ok(certs);
        }
        bail!("not confirmed — nothing was installed");
    }
    let fingerprints: Vec<&str> = certs.iter().map(|c| c.sha256.as_str()).collect();
    bail!(
        "refusing to trust a CA without confirmation (SHA-256 {}) — check it, then pass --fingerprint SHA256 or --yes",
        fingerprints.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_compare_without_colons_or_case() {
        assert_eq!(normalize_fingerprint("ab:CD:0f"), "ABCD0F");
        assert_eq!(normalize_fingerprint("AB CD-0F"), "ABCD0F");
    }
}
