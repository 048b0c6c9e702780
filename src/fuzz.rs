//! The properties the fuzz targets (`fuzz/fuzz_targets/*.rs`) check, one function per
//! target: each takes the fuzzer's bytes and panics when a property breaks. They live here,
//! inside the crate, so that they reach its `pub(crate)` items; the targets only call them.
//! Built under `cfg(fuzzing)` (cargo-fuzz) and in tests, where every seed in `fuzz/` runs
//! through its property.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use rustls_pki_types::CertificateDer;

use crate::config::{Config, Source, MAX_TIMEOUT};
use crate::dockerfile;
use crate::endpoint::Endpoint;
use crate::trust::Host;
use crate::x509::pem;
use crate::{cli, fsutil, plugin, trust, x509};

/// The Dockerfile lexer, the resolver and the rewrite (the properties are in
/// `dockerfile/fuzz.rs`, beside the internals they check).
pub fn lexer(data: &[u8]) {
    dockerfile::fuzz::lexer(data);
}

/// The x509 judge on arbitrary DER chains: it never panics, answers in bounded time, and
/// its verdict is consistent (trusted exactly when there is no Go error, every error is an
/// `x509:` or `tls:` text).
///
/// Input: one byte P, then certificates as (u16 big-endian length, DER) records; the first
/// P % (n + 1) records form the root pool, the rest the presented chain.
pub fn x509_judge(data: &[u8]) {
    let Some((&pool, rest)) = data.split_first() else {
        return;
    };
    let certs = records(rest);
    let split = usize::from(pool) % (certs.len() + 1);
    let (roots, chain) = certs.split_at(split);
    let anchors = x509::Anchors::from_ders(roots);
    let endpoints: [Endpoint; 3] = [
        "192.168.0.1".parse().expect("endpoint"),
        "Registry.Example.com:5000".parse().expect("endpoint"),
        "[fd00:0::1]:443".parse().expect("endpoint"),
    ];
    let ep = &endpoints[usize::from(pool) % 3];
    // A fixed instant near the certificates the seeds carry.
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let j = x509::judge(chain, &anchors, ep, &endpoints, now);
    assert_eq!(j.trusted, j.docker_error.is_none());
    if let Some(e) = &j.docker_error {
        assert!(e.starts_with("x509: ") || e.starts_with("tls: "), "{e}");
    }
}

/// `x509_judge`'s input records: at most 8 certificates.
fn records(mut data: &[u8]) -> Vec<CertificateDer<'static>> {
    let mut out = Vec::new();
    while data.len() >= 2 && out.len() < 8 {
        let len = usize::from(u16::from_be_bytes([data[0], data[1]]));
        let end = (2 + len).min(data.len());
        out.push(CertificateDer::from(data[2..end].to_vec()));
        data = &data[end..];
    }
    out
}

/// Certificate-file reading (`--ca-file`, certs.d, trust's comparisons): PEM or DER bytes
/// never panic, an accepted file yields only certificates x509-parser can parse, and the
/// same bytes always give the same answer. The file-system half (regular files only, size
/// cap) is driven with the input written to a file.
pub fn pem(data: &[u8]) {
    let first = pem::parse_certificates(data, Path::new("fuzz"));
    let second = pem::parse_certificates(data, Path::new("fuzz"));
    assert_eq!(first.is_ok(), second.is_ok(), "deterministic");
    if let Ok(certs) = &first {
        assert!(!certs.is_empty(), "an accepted file holds a certificate");
        for cert in certs {
            assert!(x509_parser::parse_x509_certificate(cert.as_ref()).is_ok());
        }
    }
    // Through a real file: the bounded reader gives the bytes back unchanged.
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("ca.crt");
    std::fs::write(&path, data).expect("write");
    let read = fsutil::Fs::REAL
        .read_file(&path, fsutil::MAX_FILE)
        .expect("a small regular file reads");
    assert_eq!(read, data);
    assert_eq!(
        pem::read_certificates(fsutil::Fs::REAL, &path).is_ok(),
        first.is_ok()
    );
}

/// The scratch directory of this process's file-system property `name`: one per process,
/// reused by every input (cleared each time), so that one configuration (one `--root`)
/// serves every input as in a real run. The tests remove it; a fuzzing run leaves it in the
/// temporary directory.
fn scratch(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("docker-dcosreg-fuzz-{name}-{}", std::process::id()))
}

/// The configuration `untrust` would run with: `--root ROOT` and an empty config file.
fn config_for(args: &[&Path]) -> anyhow::Result<Config> {
    let mut argv: Vec<std::ffi::OsString> = vec!["docker-dcosreg".into()];
    argv.extend(args.iter().map(|a| a.as_os_str().to_owned()));
    let invocation = plugin::Invocation::from_args(argv);
    let (_, overrides) = cli::parse(&invocation).expect("the command line parses");
    Config::resolve(&overrides)
}

/// What the manifest property's tree holds, file by file (links are not followed).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    Dir,
    File(Vec<u8>),
    Link(PathBuf),
}

fn snapshot(dir: &Path, out: &mut BTreeMap<PathBuf, Node>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.file_type().is_symlink() {
            let target = std::fs::read_link(&path).unwrap_or_default();
            out.insert(path, Node::Link(target));
        } else if meta.is_dir() {
            out.insert(path.clone(), Node::Dir);
            snapshot(&path, out);
        } else {
            out.insert(
                path.clone(),
                Node::File(std::fs::read(&path).unwrap_or_default()),
            );
        }
    }
}

fn show(node: Option<&Node>) -> String {
    match node {
        Some(Node::File(bytes)) => format!("file {:?}", String::from_utf8_lossy(bytes)),
        other => format!("{other:?}"),
    }
}

/// What `trust` writes for 192.168.0.1 (the manifest seeds carry these hashes).
const MANIFEST_CA: &[u8] = b"-----BEGIN CERTIFICATE-----\nZnV6eg==\n-----END CERTIFICATE-----\n";
/// Docker's certs.d under a root, from the docker store's own constant.
fn docker_certs_d() -> &'static str {
    trust::DOCKER_CERTS_D.trim_start_matches('/')
}

const MANIFEST_HOSTS: &[u8] = b"server = \"https://192.168.0.1\"\n\n[host.\"https://192.168.0.1\"]\nca = [\"/etc/containerd/certs.d/192.168.0.1/ca.crt\"]\n";

/// An untrusted `installed.json` handed to `untrust` (issue: the manifest is a file on
/// disk, whoever can edit it must not make `untrust` delete or edit anything else): under
/// a root where `trust` installed 192.168.0.1 for Docker and containerd, with links in
/// certs.d pointing out of the root and copies of the same bytes outside the store
/// directories, `untrust` never panics, a dry run changes nothing, a real run changes
/// nothing outside certs.d and the manifest's own directory, and an error is one line.
pub fn manifest(data: &[u8]) {
    static BASE: OnceLock<(PathBuf, Config)> = OnceLock::new();
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (base, config) = BASE.get_or_init(|| {
        let base = scratch("manifest");
        std::fs::create_dir_all(&base).expect("scratch directory");
        let config_file = base.join("config.toml");
        std::fs::write(&config_file, b"").expect("config file");
        let root = base.join("root");
        std::fs::create_dir_all(&root).expect("root");
        let config = config_for(&[
            Path::new("--config"),
            &config_file,
            Path::new("--root"),
            &root,
            Path::new("untrust"),
        ])
        .expect("an empty config file resolves");
        (base, config)
    });
    let root = &config.root.value;
    let outside = base.join("outside");
    for dir in [root, &outside] {
        let _ = std::fs::remove_dir_all(dir);
    }
    let write = |rel: &str, bytes: &[u8]| {
        let path = base.join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, bytes).expect("write");
    };
    write(
        &format!("root/{}/192.168.0.1/ca.crt", docker_certs_d()),
        MANIFEST_CA,
    );
    write(
        "root/etc/containerd/certs.d/192.168.0.1/ca.crt",
        MANIFEST_CA,
    );
    write(
        "root/etc/containerd/certs.d/192.168.0.1/hosts.toml",
        MANIFEST_HOSTS,
    );
    write("root/etc/docker/daemon.json", MANIFEST_CA);
    write("root/etc/containerd/config.toml", MANIFEST_HOSTS);
    write("outside/ca.crt", MANIFEST_CA);
    write("outside/hosts.toml", MANIFEST_HOSTS);
    write("root/var/lib/docker-dcosreg/installed.json", data);
    let link = |target: &Path, at: &str| {
        std::os::unix::fs::symlink(target, root.join(at)).expect("symlink");
    };
    link(
        Path::new("../../../../outside"),
        &format!("{}/up", docker_certs_d()),
    );
    link(&outside, "etc/containerd/certs.d/abs");

    let mut before = BTreeMap::new();
    snapshot(base, &mut before);
    let host = Host::from_env(config);
    let endpoints: Vec<Endpoint> = ["192.168.0.1", "192.168.1.50:5000", "up", "abs"]
        .iter()
        .map(|e| e.parse().expect("endpoint"))
        .collect();

    let dry = trust::uninstall(&host, &endpoints, None, None, true);
    let mut after_dry = BTreeMap::new();
    snapshot(base, &mut after_dry);
    assert_eq!(before, after_dry, "a dry run changes nothing");

    let real = trust::uninstall(&host, &endpoints, None, None, false);
    for result in [dry.map(drop), real.map(drop)] {
        if let Err(e) = result {
            let text = format!("{e:#}");
            assert!(!text.contains('\n'), "one line: {text}");
        }
    }
    let mut after = BTreeMap::new();
    snapshot(base, &mut after);
    let may_change = [
        root.join(docker_certs_d()),
        root.join("etc/containerd/certs.d"),
        root.join("var/lib/docker-dcosreg"),
        root.join("var/lib"),
        root.join("var"),
        root.join("etc/docker"),
        root.join("etc/containerd"),
    ];
    let keys: std::collections::BTreeSet<&PathBuf> = before.keys().chain(after.keys()).collect();
    for path in keys {
        let (was, is) = (before.get(path), after.get(path));
        if was == is {
            continue;
        }
        let allowed = match (was, is) {
            // The store and manifest directories themselves may go once empty.
            (Some(Node::Dir), None) => may_change.iter().any(|d| path.starts_with(d)),
            _ => may_change[..3].iter().any(|d| path.starts_with(d)),
        };
        let is_link = matches!(was, Some(Node::Link(_)));
        assert!(
            allowed && !is_link,
            "{} changed: {} -> {}",
            path.display(),
            show(was),
            show(is)
        );
    }
}

/// The confined resolver on a tree of links (fsutil::confinement_holds): never a path the
/// kernel would resolve outside the root, and the file `openat2(RESOLVE_IN_ROOT)` opens.
///
/// Input: text lines, at most 64: `d PATH`, `f PATH` (a directory, a file), `l PATH TEXT` (a
/// link; `OUT` in TEXT is a directory outside the root), `q PATH` and `n PATH` (a query whose
/// last link is followed, or not).
pub fn resolver(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut nodes = Vec::new();
    let mut queries = Vec::new();
    for line in text.lines().take(64) {
        let mut parts = line.splitn(3, ' ');
        let (Some(kind), Some(path)) = (parts.next(), parts.next()) else {
            continue;
        };
        if path.contains('\0') || parts.clone().any(|t| t.contains('\0')) {
            continue;
        }
        match (kind, parts.next()) {
            ("d", _) => nodes.push((path.to_string(), fsutil::Spot::Dir)),
            ("f", _) => nodes.push((path.to_string(), fsutil::Spot::File)),
            ("l", Some(target)) => {
                nodes.push((path.to_string(), fsutil::Spot::Link(target.into())))
            }
            ("q", _) => queries.push((path.to_string(), true)),
            ("n", _) => queries.push((path.to_string(), false)),
            _ => {}
        }
    }
    fsutil::confinement_holds(&nodes, &queries);
}

/// A hostile `config.toml` (`--config`): resolving the configuration never panics; an
/// error is one line that names the file; a configuration that resolves has durations in
/// range, endpoints that print and parse back to themselves, and host paths under its
/// `--root`.
pub fn config(data: &[u8]) {
    static BASE: OnceLock<PathBuf> = OnceLock::new();
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let path = BASE.get_or_init(|| {
        std::fs::create_dir_all(scratch("config")).expect("scratch directory");
        scratch("config").join("config.toml")
    });
    std::fs::write(path, data).expect("write");
    match config_for(&[Path::new("--config"), path, Path::new("config")]) {
        Err(e) => {
            let text = format!("{e:#}");
            assert!(!text.contains('\n'), "one line: {text}");
            assert!(
                text.contains(&*path.to_string_lossy()),
                "names the file: {text}"
            );
        }
        Ok(config) => {
            assert!(!config.timeout.value.is_zero() && config.timeout.value <= MAX_TIMEOUT);
            assert!(config.fallback_delay.value <= MAX_TIMEOUT);
            for ep in [&config.internal, &config.external] {
                let again: Endpoint = ep.value.to_string().parse().expect("prints and parses");
                assert_eq!(again, ep.value);
            }
            if config.root.source == Source::File(path.clone()) && !config.is_real_root() {
                match config.host_path(crate::trust::DOCKER_CERTS_D) {
                    Ok(store) => {
                        assert!(store.starts_with(&config.root.value), "{}", store.display())
                    }
                    Err(e) => assert!(!format!("{e:#}").contains('\n'), "one line: {e:#}"),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    /// Every seed file in `fuzz/<dir>`, with its name.
    fn seeds(dir: &str) -> Vec<(PathBuf, Vec<u8>)> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz").join(dir);
        let mut out: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| {
                let path = entry.expect("entry").path();
                let bytes = std::fs::read(&path).expect("seed");
                (path, bytes)
            })
            .collect();
        out.sort();
        assert!(!out.is_empty(), "{} holds seeds", dir.display());
        out
    }

    use super::*;

    #[test]
    fn lexer_seeds_hold() {
        for (_, bytes) in seeds("seeds") {
            lexer(&bytes);
        }
    }

    #[test]
    fn x509_judge_seeds_hold() {
        for (_, bytes) in seeds("seeds-x509") {
            x509_judge(&bytes);
        }
    }

    #[test]
    fn pem_seeds_hold() {
        for (_, bytes) in seeds("seeds-pem") {
            pem(&bytes);
        }
    }

    #[test]
    fn manifest_seeds_hold() {
        for (_, bytes) in seeds("seeds-manifest") {
            manifest(&bytes);
        }
        // The root the property builds is one `untrust` really cleans: the manifest
        // `trust` would have written removes every store file, and only those.
        let wrote =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds-manifest/as-trust-wrote");
        manifest(&std::fs::read(wrote).expect("seed"));
        let root = scratch("manifest").join("root");
        for gone in [
            &format!("{}/192.168.0.1/ca.crt", docker_certs_d()),
            "etc/containerd/certs.d/192.168.0.1/ca.crt",
            "etc/containerd/certs.d/192.168.0.1/hosts.toml",
            "var/lib/docker-dcosreg/installed.json",
        ] {
            assert!(!root.join(gone).exists(), "{gone} removed");
        }
        assert!(root.join("etc/docker/daemon.json").exists());
        assert!(root.join(docker_certs_d()).join("up").is_symlink());
        std::fs::remove_dir_all(scratch("manifest")).expect("clean up");
    }

    #[test]
    fn resolver_seeds_hold() {
        for (_, bytes) in seeds("seeds-resolver") {
            resolver(&bytes);
        }
    }

    #[test]
    fn config_seeds_hold() {
        for (_, bytes) in seeds("seeds-config") {
            config(&bytes);
        }
        std::fs::remove_dir_all(scratch("config")).expect("clean up");
    }
}
