//! `cert`: issue a CA and a registry certificate that names every endpoint.
//!
//! Input is checked, the CA loaded (`--ca-cert/--ca-key`) and every target file checked
//! before any key is generated or any file written, so a refusal changes nothing. Files are
//! written with [`crate::fsutil::Fs::write_atomic`]: private keys 0600 (fresh, never through a
//! link), certificates 0644.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};
use serde::Serialize;
use time::OffsetDateTime;

use crate::certgen::{self, KeyAlgorithm, SubjectNames};
use crate::cli::{CertAction, CertArgs, KeyType};
use crate::config::Config;
use crate::endpoint::{Endpoint, Host};
use crate::exit::ExitStatus;
use crate::fsutil::Fs;
use crate::output::Printer;
use crate::snippet::{self, shell_quote};

mod renew;

/// The usual DC/OS names of a Marathon app called `registry`: Mesos-DNS and the named VIP.
pub(crate) const DCOS_NAMES: [&str; 2] = [
    "registry.marathon.mesos",
    "registry.marathon.l4lb.thisdcos.directory",
];

/// Longest validity accepted for the registry certificate (100 years).
const MAX_DAYS: u32 = 36_500;

/// One file `cert` writes.
struct Planned {
    path: PathBuf,
    contents: Vec<u8>,
    mode: u32,
    /// Already present with exactly these bytes (renewing in place with the same CA).
    unchanged: bool,
}

#[derive(Serialize)]
struct Report {
    out: PathBuf,
    dry_run: bool,
    ca_cert: PathBuf,
    /// None when an existing CA signed (its key stays where it is).
    ca_key: Option<PathBuf>,
    cert: PathBuf,
    key: PathBuf,
    ca_new: bool,
    ca_sha256: String,
    ca_not_after: String,
    key_type: KeyAlgorithm,
    dns_names: Vec<String>,
    ip_addresses: Vec<IpAddr>,
    not_after: String,
    /// The `trust` to run on every host that pulls or pushes: this run's `--root` and
    /// endpoints (the ones the certificate names), `sudo` on the real root.
    trust_command: String,
    /// The `snippet marathon` the next steps name, for the same endpoints.
    #[serde(skip)]
    snippet_command: String,
}

/// `--days` from now, but never past the CA's end: Go checks every certificate of the
/// chain against the current time, so a leaf that outlives its CA would fail on the CA's
/// last day anyway. End it there, and say so.
fn leaf_end(
    args: &CertArgs,
    ca: &certgen::SigningCa,
    now: OffsetDateTime,
    printer: &Printer,
) -> OffsetDateTime {
    let wanted = now + time::Duration::days(i64::from(args.days));
    let not_after = wanted.min(ca.not_after);
    if not_after < wanted {
        printer.warn(format!(
            "the certificate ends on {} with its CA instead of after {} days — issue a new CA (without --ca-cert) before then",
            date(not_after),
            args.days
        ));
    }
    not_after
}

pub(crate) fn run(
    config: &Config,
    args: &CertArgs,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    if let Some(CertAction::Renew(renew_args)) = &args.action {
        return renew::run(config, renew_args, printer);
    }
    // clap requires --out without a subcommand.
    let out = args.out.as_deref().ok_or_else(|| {
        anyhow!("--out DIR is missing — give the directory for the certificate files")
    })?;
    if args.days == 0 || args.days > MAX_DAYS {
        bail!(
            "--days {} is out of range — give a number of days from 1 to {MAX_DAYS}",
            args.days
        );
    }
    let names = subject_names(&config.endpoints(), args)?;
    let algorithm = match args.key_type {
        KeyType::EcdsaP256 => KeyAlgorithm::EcdsaP256,
        KeyType::Rsa2048 => KeyAlgorithm::Rsa2048,
    };
    let out = resolve_out_dir(out)?;
    let now = OffsetDateTime::now_utc();

    // An existing CA is loaded first: a wrong key or a non-CA certificate stops us before
    // any file is touched.
    let ca = match (&args.ca_cert, &args.ca_key) {
        (Some(cert), Some(key)) => certgen::load_ca(config.fs(), cert, key)?,
        _ => certgen::new_ca(algorithm, now, args.days)?,
    };
    let ca_pem = crate::x509::pem::to_pem(&ca.cert_der);
    let paths = [
        out.join("ca.crt"),
        out.join("ca.key"),
        out.join("domain.crt"),
        out.join("domain.key"),
    ];
    refuse_conflicts(
        config.fs(),
        &paths,
        ca.new_key_pem.is_some(),
        &ca_pem,
        args.force,
    )?;

    let not_after = leaf_end(args, &ca, now, printer);
    let leaf = certgen::issue_leaf(&ca, &names, algorithm, now, not_after)?;
    let plan = plan_files(config.fs(), &paths, &ca, &ca_pem, &leaf);
    // Signing with another CA replaces ca.crt but never touches a ca.key already in DIR:
    // say that it no longer belongs to ca.crt rather than delete someone's key.
    if ca.new_key_pem.is_none() && !plan[0].unchanged && paths[1].exists() && !args.dry_run {
        printer.warn(format!(
            "{} belongs to the CA that ca.crt held before, not to --ca-cert — move it away",
            paths[1].display()
        ));
    }
    if !args.dry_run {
        config.fs().create_dirs(&out)?;
        for file in plan.iter().filter(|file| !file.unchanged) {
            write_file(config.fs(), file)?;
        }
    }

    let ca_sha256 = crate::x509::pem::sha256_fingerprint(&ca.cert_der);
    // Pasted as printed, the trust installs for the endpoints the certificate was made
    // for (not the built-in defaults), under this run's --root, with sudo on the real root.
    let fixes = config.fixes();
    let trust_command = fixes.dcosreg(&format!(
        "trust --ca-file {} --fingerprint {ca_sha256}",
        shell_quote(&paths[0].display().to_string())
    ));
    let snippet_command = fixes.dcosreg_user("snippet marathon");
    let [ca_cert, ca_key, cert, key] = paths;
    let report = Report {
        out,
        dry_run: args.dry_run,
        ca_cert,
        ca_key: ca.new_key_pem.as_ref().map(|_| ca_key),
        cert,
        key,
        ca_new: ca.new_key_pem.is_some(),
        ca_sha256,
        ca_not_after: date(ca.not_after),
        key_type: algorithm,
        dns_names: names.dns,
        ip_addresses: names.ips,
        not_after: date(leaf.not_after),
        trust_command,
        snippet_command,
    };
    printer.report(&report, |printer| print_text(printer, &report))?;
    Ok(ExitStatus::Success)
}

/// Stop before anything is generated or written when a file to write is already there
/// (unless --force), or is a directory (even with --force: the rename would fail half-way).
/// Conflicts are judged on paths alone (leaf keys are new every time), except ca.crt
/// rewritten with the same bytes, so renewal in place needs --force only for the leaf.
fn refuse_conflicts(
    fs: Fs<'_>,
    paths: &[PathBuf; 4],
    writes_ca_key: bool,
    ca_pem: &str,
    force: bool,
) -> anyhow::Result<()> {
    let mut conflicts = Vec::new();
    for (index, path) in paths.iter().enumerate() {
        let writes = index != 1 || writes_ca_key;
        let same_ca = index == 0
            && fs
                .read_file(path, crate::fsutil::MAX_FILE)
                .is_ok_and(|old| old == ca_pem.as_bytes());
        if writes && !same_ca && path.symlink_metadata().is_ok() {
            conflicts.push(path.display().to_string());
        }
        if writes && path.is_dir() {
            bail!(
                "{} is a directory — move it away or choose another --out",
                path.display()
            );
        }
    }
    if !conflicts.is_empty() && !force {
        bail!(
            "{} already exist{} — pass --force to replace, or choose another --out",
            conflicts.join(", "),
            if conflicts.len() == 1 { "s" } else { "" }
        );
    }
    Ok(())
}

/// The files to write, in order: ca.crt, a new CA's key, then keys before certificates so
/// a certificate on disk always has its key beside it.
fn plan_files(
    fs: Fs<'_>,
    paths: &[PathBuf; 4],
    ca: &certgen::SigningCa,
    ca_pem: &str,
    leaf: &certgen::Leaf,
) -> Vec<Planned> {
    let mut chain = crate::x509::pem::to_pem(&leaf.cert_der);
    chain.push_str(ca_pem);
    let mut plan = vec![Planned {
        unchanged: fs
            .read_file(&paths[0], crate::fsutil::MAX_FILE)
            .is_ok_and(|old| old == ca_pem.as_bytes()),
        path: paths[0].clone(),
        contents: ca_pem.as_bytes().to_vec(),
        mode: 0o644,
    }];
    if let Some(key_pem) = &ca.new_key_pem {
        plan.push(Planned {
            path: paths[1].clone(),
            contents: key_pem.clone().into_bytes(),
            mode: 0o600,
            unchanged: false,
        });
    }
    plan.push(Planned {
        path: paths[3].clone(),
        contents: leaf.key_pem.clone().into_bytes(),
        mode: 0o600,
        unchanged: false,
    });
    plan.push(Planned {
        path: paths[2].clone(),
        contents: chain.into_bytes(),
        mode: 0o644,
        unchanged: false,
    });
    plan
}

/// Write one file with its mode. A private key is a new 0600 file renamed over whatever
/// is there (fsutil::Fs::write_secret): neither an old file's mode nor a link's target decides
/// who can read it. A certificate keeps the mode an existing one has.
fn write_file(fs: Fs<'_>, file: &Planned) -> anyhow::Result<()> {
    if file.mode & 0o077 == 0 {
        fs.write_secret(&file.path, &file.contents)
    } else {
        fs.write_atomic(&file.path, &file.contents, file.mode)
    }
}

/// `--out` as an absolute path (the next steps are pasted elsewhere). It is created only
/// when the files are written, so a refusal leaves no empty directory behind.
fn resolve_out_dir(out: &Path) -> anyhow::Result<PathBuf> {
    if out.exists() && !out.is_dir() {
        bail!(
            "--out {} is not a directory — give a directory for the certificate files",
            out.display()
        );
    }
    let absolute = std::path::absolute(out)
        .with_context(|| format!("cannot resolve --out {}", out.display()))?;
    Ok(out.canonicalize().unwrap_or(absolute))
}

/// Every endpoint host, `--ip`, `--name` and (with `--dcos-names`) the DC/OS names.
fn subject_names(endpoints: &[Endpoint], args: &CertArgs) -> anyhow::Result<SubjectNames> {
    let mut names = SubjectNames::default();
    for endpoint in endpoints {
        match &endpoint.host {
            Host::Ip(ip) => names.add_ip(*ip),
            Host::Dns(name) => names.add_dns(name),
        }
    }
    for text in &args.ips {
        names.add_ip(parse_ip(text)?);
    }
    for text in &args.names {
        names.add_dns(&parse_dns_name(text)?);
    }
    if args.dcos_names {
        for name in DCOS_NAMES {
            names.add_dns(name);
        }
    }
    Ok(names)
}

/// An IPv4 or IPv6 address; IPv6 may come in brackets as in an endpoint.
fn parse_ip(text: &str) -> anyhow::Result<IpAddr> {
    let trimmed = text.trim();
    let bare = trimmed
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .unwrap_or(trimmed);
    bare.parse::<IpAddr>().map_err(|_| {
        anyhow!("--ip {text:?} is not an IP address — give an address without port, e.g. --ip 10.0.0.5 or --ip fd00::5")
    })
}

/// A DNS name (a leading `*.` wildcard allowed: Go matches it against one label).
fn parse_dns_name(text: &str) -> anyhow::Result<String> {
    let trimmed = text.trim();
    if trimmed.parse::<IpAddr>().is_ok() {
        bail!("--name {text:?} is an IP address — give it with --ip {trimmed}");
    }
    let base = trimmed.strip_prefix("*.").unwrap_or(trimmed);
    match base.parse::<Endpoint>() {
        Ok(Endpoint {
            host: Host::Dns(_),
            explicit_port: false,
            ..
        }) if !base.contains('*') => Ok(trimmed.to_ascii_lowercase()),
        _ => Err(anyhow!(
            "--name {text:?} is not a DNS name — give a host name without scheme or port, e.g. --name registry.example.com"
        )),
    }
}

fn date(when: OffsetDateTime) -> String {
    when.date().to_string()
}

/// The certificate's names as the text output lists them: IP addresses, then DNS names.
fn san_list(ips: &[std::net::IpAddr], dns: &[String]) -> Vec<String> {
    ips.iter()
        .map(ToString::to_string)
        .chain(dns.iter().cloned())
        .collect()
}

/// The next step that puts the registry's pair where the Marathon app mounts it, naming the
/// files by the paths this run wrote, so that it runs as printed (`cert` and `cert renew`).
fn install_pair(cert: &std::path::Path, key: &std::path::Path) -> String {
    let dir = snippet::REGISTRY_CERT_DIR;
    let cert = shell_quote(&cert.display().to_string());
    let key = shell_quote(&key.display().to_string());
    format!("sudo mkdir -p {dir} && sudo install -m 0644 {cert} {dir}/domain.crt && sudo install -m 0600 {key} {dir}/domain.key")
}

fn print_text(printer: &Printer, report: &Report) -> std::io::Result<()> {
    let names = san_list(&report.ip_addresses, &report.dns_names);
    let verb = if report.dry_run {
        "Would issue"
    } else {
        "Issued"
    };
    let signer = if report.ca_new {
        format!("a new CA (valid until {})", report.ca_not_after)
    } else {
        format!("the existing CA (valid until {})", report.ca_not_after)
    };
    let mut lines = vec![
        format!(
            "{verb} an {} registry certificate for {} (valid until {}), signed by {signer}.",
            match report.key_type {
                KeyAlgorithm::EcdsaP256 => "ECDSA P-256",
                KeyAlgorithm::Rsa2048 => "RSA 2048",
            },
            names.join(", "),
            report.not_after
        ),
        format!(
            "  {}  CA certificate: every client trusts this",
            report.ca_cert.display()
        ),
    ];
    if let Some(key) = &report.ca_key {
        lines.push(format!(
            "  {}  CA key (0600): keep it offline, it can sign certificates every client trusts",
            key.display()
        ));
    }
    lines.push(format!(
        "  {}  registry certificate, then the CA",
        report.cert.display()
    ));
    lines.push(format!("  {}  registry key (0600)", report.key.display()));
    lines.push(format!("CA SHA-256 fingerprint: {}", report.ca_sha256));
    let dir = snippet::REGISTRY_CERT_DIR;
    let container = snippet::CONTAINER_CERT_DIR;
    let cert = shell_quote(&report.cert.display().to_string());
    let key = shell_quote(&report.key.display().to_string());
    lines.extend([
        String::new(),
        "Next steps:".to_string(),
        // The files by the names this run wrote them under, so the line runs as printed here
        // and, once they are copied to the same paths, on any agent.
        format!("  1. On each agent that may run the registry, put the pair in {dir}/ (on another machine, copy {cert} and {key} to the same paths first):"),
        format!("       {}", install_pair(&report.cert, &report.key)),
        "  2. Mount it read-only into the registry's Marathon app:".to_string(),
        format!("       {{ \"containerPath\": \"{container}\", \"hostPath\": \"{dir}\", \"mode\": \"RO\" }}"),
        format!("     with env REGISTRY_HTTP_TLS_CERTIFICATE={container}/domain.crt and REGISTRY_HTTP_TLS_KEY={container}/domain.key"),
        format!("     (`{}` prints the whole app).", report.snippet_command),
        "  3. Trust the CA on every host that pulls or pushes (rollout takes the same flags for all agents):".to_string(),
        format!("       {}", report.trust_command),
    ]);
    // File names are shell-quoted in the commands to paste: Printer::block.
    for line in lines {
        printer.block(line)?;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests build their fixtures directly
mod tests {
    use super::*;

    #[test]
    fn ips_accept_both_families_and_refuse_ports() {
        assert!(parse_ip("10.0.0.5").is_ok());
        assert!(parse_ip("[fd00::5]").is_ok());
        assert!(parse_ip("fd00::5").is_ok());
        for bad in ["10.0.0.5:5000", "10.0.0", "host", "", "[10.0.0.5]x"] {
            let err = parse_ip(bad).unwrap_err().to_string();
            assert!(err.contains("is not an IP address —"), "{err}");
        }
    }

    #[test]
    fn names_must_be_dns_names() {
        assert_eq!(
            parse_dns_name("Registry.Example.COM").unwrap(),
            "registry.example.com"
        );
        assert!(parse_dns_name("*.example.com").is_ok());
        assert!(parse_dns_name("10.0.0.1")
            .unwrap_err()
            .to_string()
            .contains("--ip 10.0.0.1"));
        for bad in ["https://x", "x:5000", "a b", "a.*.b", "*", "-x.example", ""] {
            assert!(parse_dns_name(bad).is_err(), "{bad:?} accepted");
        }
    }
}
