//! certs.d directories of Docker and of containers/image (podman, skopeo, buildah, CRI-O).
//!
//! Both read `certs.d/<host[:port]>/` per connection the way Docker's
//! `registry.ReadCertsDirectory` does: `*.crt` are CA roots (appended with
//! `AppendCertsFromPEM`, so a non-PEM file is silently ignored), and every `*.key` needs its
//! `*.cert` and vice versa, else every pull fails with "missing client certificate X.cert for
//! key X.key". See moby `registry/registry.go` and containers/image `pkg/tlsclientconfig`.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::{display, quote, Finding, Fixes, Severity};
use crate::config::Config;
use crate::endpoint::Endpoint;

/// The same horizon as `check`'s `expires-soon`.
const SOON: Duration =
    Duration::from_secs(crate::x509::EXPIRES_SOON_DAYS.unsigned_abs() * 24 * 3600);

struct Store {
    target: &'static str,
    base: PathBuf,
    /// Whether a missing directory is worth a finding (the runtime is on this host).
    expected: bool,
}

pub(super) fn inspect(config: &Config, fixes: &Fixes) -> Vec<Finding> {
    let stores = [
        Store {
            target: "docker",
            base: config.host_path("/etc/docker/certs.d"),
            expected: true,
        },
        Store {
            target: "containers",
            base: config.host_path("/etc/containers/certs.d"),
            expected: config.host_path("/etc/containers").is_dir(),
        },
    ];
    let mut findings = Vec::new();
    for store in &stores {
        for endpoint in config.endpoints() {
            inspect_endpoint(store, &endpoint, fixes, &mut findings);
        }
    }
    findings
}

fn inspect_endpoint(
    store: &Store,
    endpoint: &Endpoint,
    fixes: &Fixes,
    findings: &mut Vec<Finding>,
) {
    let dirs: Vec<PathBuf> = endpoint
        .certs_d_names()
        .iter()
        .map(|name| store.base.join(name))
        .collect();
    let present: Vec<&PathBuf> = dirs.iter().filter(|d| d.is_dir()).collect();
    let sudo = fixes.sudo();

    if present.is_empty() {
        let portless = store.base.join(endpoint.host.to_string());
        if endpoint.port != crate::endpoint::DEFAULT_PORT && portless.is_dir() {
            findings.push(
                Finding::new(
                    "certs-d-without-port",
                    Severity::Error,
                    format!(
                        "{} is named without the port: for {endpoint} {} looks only in {}",
                        display(&portless),
                        store.target,
                        display(&dirs[0])
                    ),
                )
                .fix(format!("{sudo}mv {} {}", quote(&portless), quote(&dirs[0]))),
            );
        } else if store.expected {
            findings.push(
                Finding::new(
                    "certs-d-missing",
                    Severity::Warning,
                    format!(
                        "no CA for {endpoint} in {}: {} will say \"x509: certificate signed by unknown authority\" unless a public CA signed the registry",
                        display(&store.base),
                        store.target
                    ),
                )
                .fix(fixes.dcosreg(&format!("trust {} --target {}", quote(endpoint.to_string()), store.target))),
            );
        }
        return;
    }
    if present.len() < dirs.len() {
        let missing = dirs.iter().find(|d| !d.is_dir()).unwrap_or(&dirs[0]);
        findings.push(
            Finding::new(
                "certs-d-one-form",
                Severity::Warning,
                format!(
                    "{} exists but {} does not: images named with the other spelling of {endpoint} fail",
                    display(present[0]),
                    display(missing)
                ),
            )
            .fix(format!("{sudo}cp -a {} {}", quote(present[0]), quote(missing))),
        );
    }
    for dir in present {
        inspect_dir(dir, endpoint, fixes, findings);
    }
}

fn inspect_dir(dir: &Path, endpoint: &Endpoint, fixes: &Fixes, findings: &mut Vec<Finding>) {
    let sudo = fixes.sudo();
    let names: Vec<String> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect(),
        Err(e) => {
            findings.push(Finding::new(
                "certs-d-unreadable",
                Severity::Error,
                format!("cannot read {}: {e}", display(dir)),
            ));
            return;
        }
    };
    let has = |name: &str| names.iter().any(|n| n == name);
    let mut cas = 0;
    for name in &names {
        let path = dir.join(name);
        if let Some(stem) = name.strip_suffix(".key") {
            if !has(&format!("{stem}.cert")) {
                findings.push(
                    Finding::new(
                        "orphan-key",
                        Severity::Error,
                        format!(
                            "{} has no {stem}.cert next to it: every pull from {endpoint} fails with \"missing client certificate {stem}.cert for key {name}\"",
                            display(&path)
                        ),
                    )
                    .fix(format!("{sudo}mv {} {}", quote(&path), quote(format!("{}.disabled", path.display())))),
                );
            }
        } else if let Some(stem) = name.strip_suffix(".cert") {
            if !has(&format!("{stem}.key")) {
                findings.push(
                    Finding::new(
                        "orphan-cert",
                        Severity::Error,
                        format!(
                            "{} has no {stem}.key: every pull from {endpoint} fails with \"missing key {stem}.key for client certificate {name}. CA certificates must use the extension .crt\"",
                            display(&path)
                        ),
                    )
                    .fix(format!("{sudo}mv {} {}", quote(&path), quote(dir.join(format!("{stem}.crt"))))),
                );
            }
        } else if name.ends_with(".crt") {
            cas += inspect_ca_file(&path, endpoint, fixes, findings);
        }
    }
    if cas == 0 {
        findings.push(
            Finding::new(
                "certs-d-no-ca",
                Severity::Warning,
                format!("{} holds no usable *.crt CA certificate", display(dir)),
            )
            .fix(fixes.dcosreg(&format!("trust {} --force", quote(endpoint.to_string())))),
        );
    }
}

/// Returns how many usable CA certificates the file holds.
fn inspect_ca_file(
    path: &Path,
    endpoint: &Endpoint,
    fixes: &Fixes,
    findings: &mut Vec<Finding>,
) -> usize {
    let sudo = fixes.sudo();
    let bytes = match crate::fsutil::read_file(path, crate::fsutil::MAX_FILE) {
        Ok(bytes) => bytes,
        Err(e) => {
            findings.push(
                Finding::new(
                    "ca-unreadable",
                    Severity::Error,
                    format!(
                        "cannot read {}: {e}; Docker fails every pull from {endpoint}",
                        display(path)
                    ),
                )
                .fix(format!("{sudo}chmod 0644 {}", quote(path))),
            );
            return 0;
        }
    };
    let is_pem = bytes.windows(11).any(|w| w == b"-----BEGIN ");
    let certs = match crate::pem::parse_certificates(&bytes, path) {
        Ok(certs) if is_pem => certs,
        Ok(_) => {
            findings.push(
                Finding::new(
                    "ca-not-pem",
                    Severity::Error,
                    format!(
                        "{} is DER, not PEM: Docker ignores it silently",
                        display(path)
                    ),
                )
                .fix(format!(
                    "{sudo}openssl x509 -inform DER -in {p} -out {p}.pem && {sudo}mv {p}.pem {p}",
                    p = quote(path)
                )),
            );
            return 0;
        }
        Err(e) => {
            findings.push(
                Finding::new(
                    "ca-not-pem",
                    Severity::Error,
                    format!("{e}; Docker ignores it silently"),
                )
                .fix(format!(
                    "{sudo}mv {} {}",
                    quote(path),
                    quote(format!("{}.invalid", path.display()))
                )),
            );
            return 0;
        }
    };
    let now = SystemTime::now();
    for cert in &certs {
        let Ok((_, parsed)) = x509_parser::parse_x509_certificate(cert.as_ref()) else {
            continue;
        };
        let not_after = parsed.validity().not_after;
        let expiry = SystemTime::UNIX_EPOCH
            + Duration::from_secs(u64::try_from(not_after.timestamp()).unwrap_or(0));
        let subject = crate::output::sanitize_line(&parsed.subject().to_string());
        let renew = fixes.dcosreg(&format!("trust {} --force", quote(endpoint.to_string())));
        if expiry <= now {
            findings.push(
                Finding::new(
                    "ca-expired",
                    Severity::Error,
                    format!("{} ({subject}) expired on {not_after}", display(path)),
                )
                .fix(renew),
            );
        } else if expiry.duration_since(now).unwrap_or_default() < SOON {
            findings.push(
                Finding::new(
                    "ca-expires-soon",
                    Severity::Warning,
                    format!(
                        "{} ({subject}) expires on {not_after}, within 30 days",
                        display(path)
                    ),
                )
                .fix(renew),
            );
        }
    }
    certs.len()
}
