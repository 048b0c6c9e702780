//! `cert renew`: re-issue the registry certificate in DIR from the CA in DIR, keeping its
//! subject and names, so that every client that trusts the CA trusts the new one.
//!
//! Everything is read and checked before anything is written: the CA key must belong to
//! ca.crt and ca.crt must have signed domain.crt, the certificate's subject must come out
//! of rcgen byte for byte, and with `--keep-key` domain.key must be domain.crt's key. Then
//! the previous pair is kept as `domain.crt.prev`/`domain.key.prev` and the new pair takes
//! its place: keys first (0600 from their first byte, [`crate::fsutil::Fs::write_secret`]),
//! certificates staged beforehand and renamed last, so a failure leaves a matching pair.
//! `ca.crt` and `ca.key` are only read.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use rcgen::KeyPair;
use serde::Serialize;
use time::OffsetDateTime;

use super::{date, parse_dns_name, parse_ip, MAX_DAYS};
use crate::certgen::{self, KeyAlgorithm, SubjectNames};
use crate::cli::CertRenewArgs;
use crate::config::Config;
use crate::exit::ExitStatus;
use crate::fsutil::Fs;
use crate::output::Printer;
use crate::snippet::{self, shell_quote};

/// The files `renew` reads and writes.
struct Paths {
    dir: PathBuf,
    ca_cert: PathBuf,
    ca_key: PathBuf,
    cert: PathBuf,
    key: PathBuf,
    prev_cert: PathBuf,
    prev_key: PathBuf,
}

#[derive(Serialize)]
struct Report {
    dir: PathBuf,
    dry_run: bool,
    cert: PathBuf,
    key: PathBuf,
    prev_cert: PathBuf,
    prev_key: PathBuf,
    ca_cert: PathBuf,
    ca_key: PathBuf,
    ca_sha256: String,
    ca_not_after: String,
    /// The current key was kept (`--keep-key`).
    key_kept: bool,
    key_type: &'static str,
    /// As the certificate spells it (`CN=…, O=…`).
    subject: String,
    dns_names: Vec<String>,
    ip_addresses: Vec<IpAddr>,
    /// The names `--name`/`--ip` added (those the certificate already had are not repeated).
    added_dns_names: Vec<String>,
    added_ip_addresses: Vec<IpAddr>,
    previous_not_after: String,
    not_after: String,
    /// SHA-256 of the previous and of the renewed certificate (the leaf).
    previous_sha256: String,
    sha256: String,
}

pub(super) fn run(
    config: &Config,
    args: &CertRenewArgs,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let fs = config.fs();
    if let Some(days) = args.days {
        if days == 0 || days > MAX_DAYS {
            bail!("--days {days} is out of range — give a number of days from 1 to {MAX_DAYS}");
        }
    }
    let extra = extra_names(args)?;
    let paths = resolve_paths(args)?;
    refuse_missing(&paths)?;

    // Read and check everything first: a refusal leaves DIR as it was.
    let ca = certgen::load_ca(fs, &paths.ca_cert, &paths.ca_key)?;
    let current = certgen::read_current_leaf(fs, &paths.cert, &ca, &paths.ca_cert)?;
    let read = |path: &Path| {
        fs.read_file(path, crate::fsutil::MAX_FILE)
            .with_context(|| format!("cannot read {}", path.display()))
    };
    let old_cert = read(&paths.cert)?;
    let old_key = read(&paths.key)?;
    let previous_leaf = crate::x509::pem::parse_certificates(&old_cert, &paths.cert)?;
    let previous_sha256 = previous_leaf
        .first()
        .map(|der| crate::x509::pem::sha256_fingerprint(der))
        .unwrap_or_default();

    let key = renewal_key(fs, args, &paths, &current)?;
    let (names, added) = with_extra_names(&current.names, &extra);
    let (now, not_after) = validity(args, &current, &ca, printer);
    let leaf = certgen::sign_leaf(&ca, &names, current.subject.clone(), &key, now, not_after)?;
    // Go never matches the subject, but "kept" must mean the same bytes.
    let same_subject = x509_parser::parse_x509_certificate(&leaf.cert_der)
        .is_ok_and(|(_, cert)| cert.subject().as_raw() == current.subject_der.as_slice());
    if !same_subject {
        bail!(
            "{}: its subject cannot be reproduced byte for byte — issue a new pair with `cert --out DIR --force`",
            paths.cert.display()
        );
    }
    let mut chain = crate::x509::pem::to_pem(&leaf.cert_der);
    chain.push_str(&crate::x509::pem::to_pem(&ca.cert_der));
    let new_key = if args.keep_key {
        old_key.clone()
    } else {
        leaf.key_pem.clone().into_bytes()
    };
    if !args.dry_run {
        write_renewal(fs, &paths, &old_cert, &old_key, chain.as_bytes(), &new_key)?;
    }

    let report = Report {
        dir: paths.dir.clone(),
        dry_run: args.dry_run,
        cert: paths.cert.clone(),
        key: paths.key.clone(),
        prev_cert: paths.prev_cert.clone(),
        prev_key: paths.prev_key.clone(),
        ca_cert: paths.ca_cert.clone(),
        ca_key: paths.ca_key.clone(),
        ca_sha256: crate::x509::pem::sha256_fingerprint(&ca.cert_der),
        ca_not_after: date(ca.not_after),
        key_kept: args.keep_key,
        key_type: match (args.keep_key, current.rsa) {
            (true, _) => key_type(&key),
            (false, true) => "rsa2048",
            (false, false) => "ecdsa-p256",
        },
        subject: crate::text::sanitize_line(&current.subject_text),
        dns_names: names.dns,
        ip_addresses: names.ips,
        added_dns_names: added.dns,
        added_ip_addresses: added.ips,
        previous_not_after: date(current.not_after),
        not_after: date(leaf.not_after),
        previous_sha256,
        sha256: crate::x509::pem::sha256_fingerprint(&leaf.cert_der),
    };
    printer.report(&report, |printer| print_text(printer, &report))?;
    Ok(ExitStatus::Success)
}

/// `--ip` and `--name`, checked.
fn extra_names(args: &CertRenewArgs) -> anyhow::Result<SubjectNames> {
    let mut extra = SubjectNames::default();
    for text in &args.ips {
        extra.add_ip(parse_ip(text)?);
    }
    for text in &args.names {
        extra.add_dns(&parse_dns_name(text)?);
    }
    Ok(extra)
}

/// `--keep-key`: the current key, which must be the certificate's; else a new key of the
/// certificate's kind (RSA 2048 for RSA, ECDSA P-256 otherwise).
fn renewal_key(
    fs: Fs<'_>,
    args: &CertRenewArgs,
    paths: &Paths,
    current: &certgen::CurrentLeaf,
) -> anyhow::Result<KeyPair> {
    if !args.keep_key {
        let algorithm = if current.rsa {
            KeyAlgorithm::Rsa2048
        } else {
            KeyAlgorithm::EcdsaP256
        };
        return Ok(certgen::generate_key(algorithm)?);
    }
    let key = certgen::load_private_key(fs, &paths.key)?;
    if key.public_key_raw() != current.public_key.as_slice() {
        return Err(certgen::CertGenError::LeafKeyMismatch {
            cert: paths.cert.clone(),
            key: paths.key.clone(),
        }
        .into());
    }
    Ok(key)
}

/// The certificate's names plus the `extra` ones it lacks, and those added.
fn with_extra_names(current: &SubjectNames, extra: &SubjectNames) -> (SubjectNames, SubjectNames) {
    let mut names = current.clone();
    let mut added = SubjectNames::default();
    for ip in &extra.ips {
        if !names.ips.contains(ip) {
            names.add_ip(*ip);
            added.add_ip(*ip);
        }
    }
    for dns in &extra.dns {
        if !names.dns.contains(dns) {
            names.add_dns(dns);
            added.add_dns(dns);
        }
    }
    (names, added)
}

/// From now for `--days` (default: the certificate's own lifetime), but never past the
/// CA's end, which is then said.
fn validity(
    args: &CertRenewArgs,
    current: &certgen::CurrentLeaf,
    ca: &certgen::SigningCa,
    printer: &Printer,
) -> (OffsetDateTime, OffsetDateTime) {
    let days = args.days.unwrap_or_else(|| lifetime_days(current));
    let now = OffsetDateTime::now_utc();
    let wanted = now + time::Duration::days(i64::from(days));
    let not_after = wanted.min(ca.not_after);
    if not_after < wanted {
        printer.warn(format!(
            "the certificate ends on {} with its CA instead of after {days} days — issue a new CA (`cert --out`) and roll out its trust before then",
            date(not_after)
        ));
    }
    (now, not_after)
}

/// DIR as an absolute path (the next steps are pasted elsewhere), and the files in it.
fn resolve_paths(args: &CertRenewArgs) -> anyhow::Result<Paths> {
    if !args.dir.is_dir() {
        bail!(
            "--dir {} is not a directory — give the directory `cert --out` wrote (ca.crt, ca.key, domain.crt, domain.key)",
            args.dir.display()
        );
    }
    let dir = args
        .dir
        .canonicalize()
        .or_else(|_| std::path::absolute(&args.dir))
        .with_context(|| format!("cannot resolve --dir {}", args.dir.display()))?;
    let ca_key = match &args.ca_key {
        Some(path) => std::path::absolute(path)
            .with_context(|| format!("cannot resolve --ca-key {}", path.display()))?,
        None => dir.join("ca.key"),
    };
    Ok(Paths {
        ca_cert: dir.join("ca.crt"),
        ca_key,
        cert: dir.join("domain.crt"),
        key: dir.join("domain.key"),
        prev_cert: dir.join("domain.crt.prev"),
        prev_key: dir.join("domain.key.prev"),
        dir,
    })
}

/// Every file renew reads must be there, and the `.prev` names must not be directories.
fn refuse_missing(paths: &Paths) -> anyhow::Result<()> {
    let missing: Vec<String> = [&paths.ca_cert, &paths.ca_key, &paths.cert, &paths.key]
        .into_iter()
        .filter(|path| !path.is_file())
        .map(|path| path.display().to_string())
        .collect();
    if !missing.is_empty() {
        bail!(
            "{} {} missing — renew needs ca.crt, ca.key, domain.crt and domain.key as `cert --out DIR` writes them (--ca-key PEM for a CA key kept elsewhere)",
            missing.join(", "),
            if missing.len() == 1 { "is" } else { "are" }
        );
    }
    for path in [&paths.prev_cert, &paths.prev_key] {
        if path.is_dir() {
            bail!(
                "{} is a directory — move it away: renew keeps the previous file there",
                path.display()
            );
        }
    }
    Ok(())
}

/// The current certificate's lifetime in whole days (our one-hour backdate aside), so a
/// 90-day certificate is renewed for 90 days.
fn lifetime_days(current: &certgen::CurrentLeaf) -> u32 {
    let days = (current.not_after - current.not_before).whole_days();
    u32::try_from(days).unwrap_or(MAX_DAYS).clamp(1, MAX_DAYS)
}

/// Keep the previous pair, then put the new one in place. Certificates are staged (written
/// and synced beside their target) before any key moves; then `.prev` key, `.prev`
/// certificate, key, certificate, each one atomic rename. Should the last rename fail,
/// the previous key is put back so domain.crt and domain.key still match.
fn write_renewal(
    fs: Fs<'_>,
    paths: &Paths,
    old_cert: &[u8],
    old_key: &[u8],
    chain: &[u8],
    new_key: &[u8],
) -> anyhow::Result<()> {
    let cert_mode = std::fs::metadata(&paths.cert)
        .map(|meta| std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o7777)
        .unwrap_or(0o644);
    let prev_cert = fs.stage(&paths.prev_cert, old_cert, cert_mode)?;
    let cert = fs.stage(&paths.cert, chain, 0o644)?;
    fs.write_secret(&paths.prev_key, old_key)?;
    prev_cert.commit()?;
    fs.write_secret(&paths.key, new_key)?;
    if let Err(err) = cert.commit() {
        return Err(match fs.write_secret(&paths.key, old_key) {
            Ok(()) => err.context(format!(
                "{} was not replaced; the previous key is back in {}",
                paths.cert.display(),
                paths.key.display()
            )),
            Err(undo) => err.context(format!(
                "{} was not replaced and the previous key could not be put back ({undo:#}) — copy {} over {}",
                paths.cert.display(),
                paths.prev_key.display(),
                paths.key.display()
            )),
        });
    }
    Ok(())
}

/// How a key is named in the report, as `cert --key-type` names them.
fn key_type(key: &KeyPair) -> &'static str {
    if certgen::is_rsa(key) {
        "rsa"
    } else if key.is_compatible(&rcgen::PKCS_ECDSA_P256_SHA256) {
        "ecdsa-p256"
    } else if key.is_compatible(&rcgen::PKCS_ECDSA_P384_SHA384) {
        "ecdsa-p384"
    } else if key.is_compatible(&rcgen::PKCS_ED25519) {
        "ed25519"
    } else {
        "other"
    }
}

fn print_text(printer: &Printer, report: &Report) -> std::io::Result<()> {
    let names = super::san_list(&report.ip_addresses, &report.dns_names);
    let verb = if report.dry_run {
        "Would renew"
    } else {
        "Renewed"
    };
    let key = if report.key_kept {
        "the same key".to_string()
    } else {
        format!("a new {} key", report.key_type)
    };
    let mut lines = vec![
        format!(
            "{verb} {} for {} with {key}: valid until {} (the previous one until {}), signed by the same CA (valid until {}).",
            report.cert.display(),
            names.join(", "),
            report.not_after,
            report.previous_not_after,
            report.ca_not_after
        ),
        format!("  subject: {}", report.subject),
    ];
    let added = super::san_list(&report.added_ip_addresses, &report.added_dns_names);
    if !added.is_empty() {
        lines.push(format!("  added names: {}", added.join(", ")));
    }
    let kept = if report.dry_run {
        "would be kept"
    } else {
        "kept"
    };
    lines.extend([
        format!(
            "  {} and {}: the previous pair, {kept} (an older .prev pair is replaced)",
            report.prev_cert.display(),
            report.prev_key.display()
        ),
        format!(
            "  {} and {}: read only, unchanged — clients that trust this CA trust the renewed certificate",
            report.ca_cert.display(),
            report.ca_key.display()
        ),
    ]);
    if report.dry_run {
        lines.push("Nothing was written (--dry-run).".to_string());
    }
    let dir = snippet::REGISTRY_CERT_DIR;
    let cert = shell_quote(&report.cert.display().to_string());
    let key = shell_quote(&report.key.display().to_string());
    lines.extend([
        String::new(),
        "Next steps (no trust change on any client):".to_string(),
        // The files by the paths this run wrote, as `cert` prints it: it runs as printed.
        format!("  1. On each agent that may run the registry, replace the pair in {dir}/ (on another machine, copy {cert} and {key} to the same paths first):"),
        format!("       {}", super::install_pair(&report.cert, &report.key)),
        "  2. Restart the registry app so that it loads the new pair (the registry reads it at start).".to_string(),
        format!(
            "  3. Check from a client: docker dcosreg check (the chain now starts with SHA-256 {})",
            report.sha256
        ),
    ]);
    for line in lines {
        printer.block(line)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_types_are_named_as_cert_names_them() {
        let ec = certgen::generate_key(KeyAlgorithm::EcdsaP256).unwrap();
        assert_eq!(key_type(&ec), "ecdsa-p256");
        let p384 = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap();
        assert_eq!(key_type(&p384), "ecdsa-p384");
    }
}
