//! Docker-style certs.d directories, read by Docker and by containers/image (podman, skopeo,
//! buildah, CRI-O): the install plan and the inspection both store files use.
//!
//! Both read `certs.d/<host[:port]>/` per connection the way Docker's
//! `registry.ReadCertsDirectory` does: `*.crt` are CA roots (appended with
//! `AppendCertsFromPEM`, so a non-PEM file is silently ignored), and every `*.key` needs its
//! `*.cert` and vice versa, else every pull fails with "missing client certificate X.cert for
//! key X.key". See moby `registry/registry.go` and containers/image `pkg/tlsclientconfig`.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use rustls_pki_types::CertificateDer;

use super::{cert_step, Anchor, Different, Step, Target};
use crate::endpoint::Endpoint;
use crate::finding::{display, quote, Finding, Fixes, Severity};
use crate::fsutil::Fs;

/// The CA file `trust` writes in `certs.d/<host[:port]>/` (any `*.crt` there is read).
pub(crate) const CA_FILE: &str = "ca.crt";

/// The same horizon as `check`'s `expires-soon`.
const SOON: Duration =
    Duration::from_secs(crate::x509::EXPIRES_SOON_DAYS.unsigned_abs() * 24 * 3600);

/// `DIR/<name>/ca.crt` for every certs.d name of every endpoint (both `h` and `h:443`).
pub(super) fn steps(
    fs: Fs<'_>,
    target: Target,
    dir: &Path,
    anchors: &[Anchor],
    different: Different,
) -> anyhow::Result<Vec<Step>> {
    let mut steps = Vec::new();
    for anchor in anchors {
        for path in ca_files(dir, &anchor.endpoint) {
            steps.push(cert_step(
                fs,
                target,
                vec![anchor.endpoint.clone()],
                path,
                &anchor.pem,
                different,
            )?);
        }
    }
    Ok(steps)
}

/// The CA files a certs.d store at `dir` holds for `endpoint`: `dir/<name>/ca.crt` for every
/// name an image reference may spell it with. `trust`'s plan and the script `rollout
/// --via marathon|kubernetes` runs both lay files out by this one function.
pub(crate) fn ca_files(dir: &Path, endpoint: &Endpoint) -> Vec<std::path::PathBuf> {
    endpoint
        .certs_d_names()
        .into_iter()
        .map(|name| dir.join(name).join(CA_FILE))
        .collect()
}

/// One certs.d directory to inspect.
pub(super) struct Store<'a> {
    /// The target's name, for messages and fix commands.
    pub(super) target: Target,
    pub(super) base: PathBuf,
    /// Whether a missing directory is worth a finding (the runtime is on this host).
    pub(super) expected: bool,
    /// Every configured endpoint: a directory named after one of them is never a trap for
    /// another (the VIP on 443 and Marathon-LB on the same host).
    pub(super) configured: &'a [Endpoint],
    /// The run's files, confined under `--root`.
    pub(super) fs: Fs<'a>,
}

/// What the inspection covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// Everything `doctor` reports: also what is not installed (yet) and CAs that expire.
    Host,
    /// The traps that make an installed CA useless, for `trust` to name before it installs.
    Traps,
}

pub(super) fn inspect(
    store: &Store,
    endpoints: &[Endpoint],
    scope: Scope,
    fixes: &Fixes,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    for endpoint in endpoints {
        inspect_endpoint(store, endpoint, scope, fixes, &mut findings);
    }
    findings
}

fn inspect_endpoint(
    store: &Store,
    endpoint: &Endpoint,
    scope: Scope,
    fixes: &Fixes,
    findings: &mut Vec<Finding>,
) {
    let dirs: Vec<PathBuf> = endpoint
        .certs_d_names()
        .iter()
        .map(|name| store.base.join(name))
        .collect();
    let present: Vec<&PathBuf> = dirs.iter().filter(|d| store.fs.is_dir(d)).collect();
    let sudo = fixes.sudo();

    let portless = portless_dir(store, endpoint);
    if let Some(portless) = &portless {
        let mut finding = Finding::new(
            "certs-d-without-port",
            Severity::Warning,
            format!(
                "{} is named without the port: for {endpoint} {} looks only in {}",
                display(portless),
                store.target,
                display(&dirs[0])
            ),
        );
        // Renaming is the fix only while the right directory does not exist (and `trust`
        // is about to create it): then the portless one is just never read for it.
        if present.is_empty() && scope == Scope::Host {
            finding.severity = Severity::Error;
            finding = finding.fix(format!("{sudo}mv {} {}", quote(portless), quote(&dirs[0])));
        }
        findings.push(finding);
    }
    if present.is_empty() {
        // Said once: the rename above is how the CA gets there.
        if store.expected && scope == Scope::Host && portless.is_none() {
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
    if present.len() < dirs.len() && scope == Scope::Host {
        let missing = dirs
            .iter()
            .find(|d| !store.fs.is_dir(d))
            .unwrap_or(&dirs[0]);
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
        inspect_dir(store.fs, dir, endpoint, scope, fixes, findings);
    }
}

/// Docker looks up `certs.d/<host:port>` for a non-443 endpoint; a directory named after the
/// host alone is never read for it (moby `registry.HostCertsDir` with the reference's
/// `host:port`). Not a trap when that name is another configured endpoint's own directory.
fn portless_dir(store: &Store, endpoint: &Endpoint) -> Option<PathBuf> {
    if endpoint.port == crate::endpoint::DEFAULT_PORT {
        return None;
    }
    let name = endpoint.host.to_string();
    let dir = store.base.join(&name);
    let someone_elses = store
        .configured
        .iter()
        .any(|other| other.certs_d_names().contains(&name));
    (store.fs.is_dir(&dir) && !someone_elses).then_some(dir)
}

fn inspect_dir(
    fs: Fs<'_>,
    dir: &Path,
    endpoint: &Endpoint,
    scope: Scope,
    fixes: &Fixes,
    findings: &mut Vec<Finding>,
) {
    let sudo = fixes.sudo();
    let names: Vec<String> = match fs.read_dir(dir) {
        Ok(entries) => entries
            .into_iter()
            .filter_map(|(path, _)| Some(path.file_name()?.to_string_lossy().into_owned()))
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
                            "{} has no matching {stem}.cert next to it: every pull from {endpoint} fails with \"missing client certificate {stem}.cert for key {name}\"",
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
            cas += inspect_ca_file(fs, &path, endpoint, scope, fixes, findings);
        }
    }
    if cas == 0 && scope == Scope::Host {
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
    fs: Fs<'_>,
    path: &Path,
    endpoint: &Endpoint,
    scope: Scope,
    fixes: &Fixes,
    findings: &mut Vec<Finding>,
) -> usize {
    let Some(certs) = read_ca_file(fs, path, endpoint, fixes, findings) else {
        return 0;
    };
    if scope == Scope::Traps {
        return certs.len();
    }
    let now = SystemTime::now();
    for cert in &certs {
        check_ca_expiry(cert, path, endpoint, fixes, now, findings);
    }
    certs.len()
}

/// The certificates of a `*.crt` file as Docker's `AppendCertsFromPEM` takes them; `None`,
/// with the finding that says why, when the file is unreadable, DER or not certificates.
fn read_ca_file(
    fs: Fs<'_>,
    path: &Path,
    endpoint: &Endpoint,
    fixes: &Fixes,
    findings: &mut Vec<Finding>,
) -> Option<Vec<CertificateDer<'static>>> {
    let sudo = fixes.sudo();
    let bytes = match fs.read_file(path, crate::fsutil::MAX_FILE) {
        Ok(bytes) => bytes,
        Err(e) => {
            // Only a permission is fixed by a mode; a link to nothing, a FIFO, a directory
            // or an oversized file stays unreadable whatever its mode: move it out of the
            // `*.crt` Docker reads (as for an orphan key), so the pulls work again.
            let fix = if e.kind() == std::io::ErrorKind::PermissionDenied {
                format!("{sudo}chmod 0644 {}", quote(path))
            } else {
                format!(
                    "{sudo}mv {} {}",
                    quote(path),
                    quote(format!("{}.disabled", path.display()))
                )
            };
            findings.push(
                Finding::new(
                    "ca-unreadable",
                    Severity::Error,
                    format!(
                        "cannot read {}: {e}; Docker fails every pull from {endpoint}",
                        display(path)
                    ),
                )
                .fix(fix),
            );
            return None;
        }
    };
    let is_pem = bytes.windows(11).any(|w| w == b"-----BEGIN ");
    match crate::x509::pem::parse_certificates(&bytes, path) {
        Ok(certs) if is_pem => Some(certs),
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
            None
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
            None
        }
    }
}

/// A CA certificate of `path` that has expired, or expires within [`SOON`] of `now`.
fn check_ca_expiry(
    cert: &CertificateDer<'_>,
    path: &Path,
    endpoint: &Endpoint,
    fixes: &Fixes,
    now: SystemTime,
    findings: &mut Vec<Finding>,
) {
    let Ok((_, parsed)) = x509_parser::parse_x509_certificate(cert.as_ref()) else {
        return;
    };
    let not_after = parsed.validity().not_after;
    let expiry = SystemTime::UNIX_EPOCH
        + Duration::from_secs(u64::try_from(not_after.timestamp()).unwrap_or(0));
    let subject = crate::text::sanitize_line(&parsed.subject().to_string());
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

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests build their fixtures directly
mod tests {
    use super::*;
    use crate::trust::{staged_config, staged_host};

    fn codes(findings: &[Finding]) -> Vec<&'static str> {
        findings.iter().map(|f| f.code).collect()
    }

    fn write(root: &Path, rel: &str, bytes: &[u8]) {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }

    fn ca_pem() -> String {
        let mut params = rcgen::CertificateParams::new(vec!["r".to_string()]).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let key = rcgen::KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().pem()
    }

    fn run(root: &Path, scope: Scope) -> Vec<Finding> {
        let config = staged_config(root, "10.0.0.1", "10.0.0.2:5000");
        let host = staged_host(&config);
        let fixes = config.fixes();
        crate::trust::Target::Docker.inspect(&host, &config.endpoints(), scope, &fixes)
    }

    #[test]
    fn doctor_sees_what_is_missing_and_trust_only_the_traps() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        write(r, "etc/docker/certs.d/10.0.0.1/ca.crt", ca_pem().as_bytes());
        write(r, "etc/docker/certs.d/10.0.0.1/client.key", b"key");
        assert_eq!(
            codes(&run(r, Scope::Host)),
            ["certs-d-one-form", "orphan-key", "certs-d-missing"]
        );
        let traps = run(r, Scope::Traps);
        assert_eq!(codes(&traps), ["orphan-key"]);
        assert!(
            traps[0]
                .message
                .contains("client.key has no matching client.cert"),
            "{traps:?}"
        );
        // The fix is the same command for both.
        assert_eq!(traps[0].fix, run(r, Scope::Host)[1].fix);
    }

    #[test]
    fn a_portless_directory_is_an_error_until_the_right_one_exists() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        for dir in ["10.0.0.1", "10.0.0.1:443"] {
            write(
                r,
                &format!("etc/docker/certs.d/{dir}/ca.crt"),
                ca_pem().as_bytes(),
            );
        }
        write(r, "etc/docker/certs.d/10.0.0.2/ca.crt", ca_pem().as_bytes());
        let host = run(r, Scope::Host);
        assert_eq!(codes(&host), ["certs-d-without-port"]);
        assert_eq!(host[0].severity, Severity::Error);
        assert!(
            host[0].fix.as_deref().unwrap().starts_with("mv "),
            "{host:?}"
        );
        // trust is about to create 10.0.0.2:5000: a warning, with no rename to run.
        let traps = run(r, Scope::Traps);
        assert_eq!(codes(&traps), ["certs-d-without-port"]);
        assert_eq!(
            (traps[0].severity, traps[0].fix.as_ref()),
            (Severity::Warning, None)
        );

        write(
            r,
            "etc/docker/certs.d/10.0.0.2:5000/ca.crt",
            ca_pem().as_bytes(),
        );
        let host = run(r, Scope::Host);
        assert_eq!(codes(&host), ["certs-d-without-port"]);
        assert_eq!(
            (host[0].severity, host[0].fix.as_ref()),
            (Severity::Warning, None)
        );
    }

    #[test]
    fn a_portless_directory_of_another_endpoint_is_not_a_trap() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        let config = staged_config(r, "10.0.0.2", "10.0.0.2:5000");
        for dir in ["10.0.0.2", "10.0.0.2:443", "10.0.0.2:5000"] {
            write(
                r,
                &format!("etc/docker/certs.d/{dir}/ca.crt"),
                ca_pem().as_bytes(),
            );
        }
        let host = staged_host(&config);
        let findings = crate::trust::Target::Docker.inspect(
            &host,
            &config.endpoints(),
            Scope::Host,
            &config.fixes(),
        );
        assert!(findings.is_empty(), "{findings:?}");
    }

    #[test]
    fn expiry_and_emptiness_are_doctor_only() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        for dir in ["10.0.0.1", "10.0.0.1:443", "10.0.0.2:5000"] {
            write(r, &format!("etc/docker/certs.d/{dir}/readme.txt"), b"-");
        }
        let host = run(r, Scope::Host);
        assert_eq!(codes(&host), ["certs-d-no-ca"; 3]);
        assert!(run(r, Scope::Traps).is_empty());
    }
}
