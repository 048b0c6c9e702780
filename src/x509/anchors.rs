//! Trust anchors: the root pool Go would verify against.
//!
//! Docker (moby `registry.ReadCertsDirectory`) and containers/image
//! (`tlsclientconfig.SetupCertificates`) both start from Go's `SystemCertPool()` and
//! append every `*.crt` in `certs.d/<host[:port]>/` with `AppendCertsFromPEM`, which
//! silently skips blocks it cannot parse and ignores DER. Go's system pool on Linux
//! (<https://github.com/golang/go/blob/master/src/crypto/x509/root_linux.go>, root_unix.go)
//! is the first bundle file that exists plus every file in the certificate directories,
//! skipping symlinks that point into the same directory (the `c_rehash` hash links).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use rustls_pki_types::pem::{PemObject, SectionKind};
use rustls_pki_types::CertificateDer;

use super::cert::Cert;
use crate::config::Config;
use crate::fsutil::Fs;
use crate::x509::pem::CertFileError;

/// Go's `certFiles` for Linux, first found wins.
const SYSTEM_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/pki/tls/cacert.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

/// Go's `certDirectories` for Linux.
const SYSTEM_DIRS: &[&str] = &["/etc/ssl/certs", "/etc/pki/tls/certs"];

/// One pool certificate. The system pool holds a few hundred of them and a check needs
/// at most a handful, so only the names are read up front; the rest is parsed on demand
/// (Go's CertPool does the same with its lazy certificates since Go 1.19).
#[derive(Debug, Clone)]
pub(crate) struct Anchor {
    pub(crate) der: CertificateDer<'static>,
    pub(crate) raw_subject: Vec<u8>,
    pub(crate) raw_issuer: Vec<u8>,
    parsed: OnceLock<Option<Cert>>,
}

impl Anchor {
    /// The parsed certificate; `None` when Go's parser would have skipped it too.
    pub(crate) fn cert(&self) -> Option<&Cert> {
        self.parsed
            .get_or_init(|| Cert::parse(&self.der).ok())
            .as_ref()
    }

    pub(crate) fn is_self_issued(&self) -> bool {
        self.raw_subject == self.raw_issuer
    }

    fn parsed(cert: Cert) -> Anchor {
        Anchor {
            der: cert.der.clone(),
            raw_subject: cert.raw_subject.clone(),
            raw_issuer: cert.raw_issuer.clone(),
            parsed: OnceLock::from(Some(cert)),
        }
    }

    /// Names only; `None` when the DER is not even a certificate's outline.
    fn lazy(der: CertificateDer<'static>) -> Option<Anchor> {
        let (issuer, subject) = names(der.as_ref())?;
        Some(Anchor {
            raw_subject: subject.to_vec(),
            raw_issuer: issuer.to_vec(),
            der,
            parsed: OnceLock::new(),
        })
    }
}

/// A root pool plus where it came from (for messages and findings).
#[derive(Debug, Clone, Default)]
pub(crate) struct Anchors {
    pub(crate) certs: Vec<Anchor>,
    /// Files the pool was read from, in order.
    pub(crate) sources: Vec<PathBuf>,
    /// The certs.d files (`*.crt`) that were read for the endpoint (empty when none).
    pub(crate) certs_d_files: Vec<PathBuf>,
    /// The certs.d directory Docker would look in for the endpoint, when that applies.
    pub(crate) certs_d_dir: Option<PathBuf>,
    /// Files or blocks Go would skip silently; we tell the user.
    pub(crate) skipped: Vec<String>,
}

impl Anchors {
    /// What Docker trusts for an endpoint on the host under `--root`: the system pool plus
    /// the `*.crt` in Docker's certs.d directory for it, `dir` (the docker store owns that
    /// path, `trust::docker_endpoint_dir`: `ROOT/etc/docker/certs.d/<host[:port]>/`, named
    /// as the image reference spells the registry).
    pub(crate) fn with_certs_d(config: &Config, dir: PathBuf) -> Anchors {
        let mut anchors = Anchors::system(config);
        anchors.add_certs_d(config.fs(), &dir);
        anchors.certs_d_dir = Some(dir);
        anchors
    }

    /// Go's `SystemCertPool()` on Linux, under `--root`. `SSL_CERT_FILE` / `SSL_CERT_DIR`
    /// are honoured only for the real root (they describe this process's host).
    pub(crate) fn system(config: &Config) -> Anchors {
        let fs = config.fs();
        let mut anchors = Anchors::default();
        let env_file = config
            .is_real_root()
            .then(|| std::env::var_os("SSL_CERT_FILE"))
            .flatten()
            .filter(|v| !v.is_empty());
        let bundles: Vec<PathBuf> = match env_file {
            Some(file) => vec![PathBuf::from(file)],
            // A bundle that cannot be resolved inside --root is absent: fewer anchors, never
            // the host's (fail closed).
            None => SYSTEM_BUNDLES
                .iter()
                .filter_map(|p| config.host_path(p).ok())
                .collect(),
        };
        for bundle in bundles {
            if let Ok(bytes) = fs.read_file(&bundle, crate::fsutil::MAX_FILE) {
                anchors.append_pem_lazy(&bytes, &bundle);
                break;
            }
        }
        let env_dirs = config
            .is_real_root()
            .then(|| std::env::var("SSL_CERT_DIR").ok())
            .flatten()
            .filter(|v| !v.is_empty());
        let dirs: Vec<PathBuf> = match env_dirs {
            Some(list) => list.split(':').map(PathBuf::from).collect(),
            None => SYSTEM_DIRS
                .iter()
                .filter_map(|p| config.host_path(p).ok())
                .collect(),
        };
        for dir in dirs {
            for file in unique_directory_entries(fs, &dir) {
                if let Ok(bytes) = fs.read_file(&file, crate::fsutil::MAX_FILE) {
                    anchors.append_pem_lazy(&bytes, &file);
                }
            }
        }
        anchors.skipped.clear(); // Go is silent about the system store, and so are we.
        anchors
    }

    /// `--ca-file`: exactly the certificates in this PEM (or DER) file. A file that holds
    /// no certificate is an input error (exit 2), unlike Go's silent skip; a certificate Go
    /// cannot parse is left out of the pool as Go does, and reported.
    pub(crate) fn from_file(fs: Fs<'_>, path: &Path) -> Result<Anchors, CertFileError> {
        let ders = crate::x509::pem::read_certificates(fs, path)?;
        let mut anchors = Anchors::default();
        for der in ders {
            match Cert::parse(&der) {
                Ok(cert) => anchors.add(cert),
                Err(e) => anchors.skipped.push(format!(
                    "{}: a certificate was skipped: {e}",
                    path.display()
                )),
            }
        }
        anchors.sources.push(path.to_path_buf());
        Ok(anchors)
    }

    /// `--cert-dir`: only this directory, with Docker certs.d semantics (`*.crt`, PEM).
    /// A missing directory is an input error.
    pub(crate) fn from_cert_dir(fs: Fs<'_>, dir: &Path) -> Result<Anchors, CertFileError> {
        if let Err(source) = fs.read_dir(dir) {
            return Err(CertFileError::Read {
                path: dir.to_path_buf(),
                source,
            });
        }
        let mut anchors = Anchors::default();
        anchors.add_certs_d(fs, dir);
        anchors.certs_d_dir = Some(dir.to_path_buf());
        Ok(anchors)
    }

    /// Certificates from DER bytes (tests and the `x509_judge` fuzz target).
    #[cfg(any(test, fuzzing))]
    pub(crate) fn from_ders(ders: &[CertificateDer<'_>]) -> Anchors {
        let mut anchors = Anchors::default();
        for der in ders {
            if let Ok(cert) = Cert::parse(der) {
                anchors.add(cert);
            }
        }
        anchors
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.certs.is_empty()
    }

    pub(crate) fn len(&self) -> usize {
        self.certs.len()
    }

    fn add(&mut self, cert: Cert) {
        // CertPool.AddCert ignores a certificate it already holds.
        if !self.certs.iter().any(|c| c.der == cert.der) {
            self.certs.push(Anchor::parsed(cert));
        }
    }

    fn add_lazy(&mut self, der: CertificateDer<'static>) {
        if !self.certs.iter().any(|c| c.der == der) {
            if let Some(anchor) = Anchor::lazy(der) {
                self.certs.push(anchor);
            }
        }
    }

    /// Every `*.crt` file of a certs.d directory, sorted as `os.ReadDir` returns them.
    fn add_certs_d(&mut self, fs: Fs<'_>, dir: &Path) {
        let Ok(entries) = fs.read_dir(dir) else {
            return;
        };
        let (mut files, others): (Vec<PathBuf>, Vec<PathBuf>) = entries
            .into_iter()
            .map(|(path, _)| path)
            .partition(|p| p.extension().is_some_and(|ext| ext == "crt"));
        files.sort();
        // CA certificates under another name are the classic silent trap (`*.cert` and
        // `*.key` are client certificates, which Docker does read).
        for other in others {
            if other
                .extension()
                .is_some_and(|ext| ext == "pem" || ext == "cer" || ext == "der" || ext == "ca")
            {
                self.skipped.push(format!(
                    "{} is not read: Docker takes CA certificates only from *.crt files",
                    other.display()
                ));
            }
        }
        for file in files {
            match fs.read_file(&file, crate::fsutil::MAX_FILE) {
                Ok(bytes) => {
                    let before = self.certs.len();
                    self.append_pem(&bytes, &file);
                    if self.certs.len() == before
                        && !self
                            .skipped
                            .iter()
                            .any(|s| s.contains(&*file.to_string_lossy()))
                    {
                        self.skipped.push(format!(
                            "{} holds no PEM certificate Go can use",
                            file.display()
                        ));
                    }
                    self.certs_d_files.push(file);
                }
                Err(e) => self
                    .skipped
                    .push(format!("{} cannot be read: {e}", file.display())),
            }
        }
    }

    /// [`Anchors::append_pem`] without parsing each certificate now (system bundles).
    fn append_pem_lazy(&mut self, bytes: &[u8], origin: &Path) {
        self.sources.push(origin.to_path_buf());
        for item in <(SectionKind, Vec<u8>)>::pem_slice_iter(bytes) {
            match item {
                Ok((SectionKind::Certificate, der)) => self.add_lazy(CertificateDer::from(der)),
                Ok(_) => {}
                Err(_) => break,
            }
        }
    }

    /// Go's `CertPool.AppendCertsFromPEM`: CERTIFICATE blocks only, unparsable ones skipped.
    fn append_pem(&mut self, bytes: &[u8], origin: &Path) {
        self.sources.push(origin.to_path_buf());
        for item in <(SectionKind, Vec<u8>)>::pem_slice_iter(bytes) {
            match item {
                Ok((SectionKind::Certificate, der)) => {
                    match Cert::parse(&CertificateDer::from(der)) {
                        Ok(cert) => self.add(cert),
                        Err(e) => self.skipped.push(format!(
                            "{}: a certificate was skipped: {e}",
                            origin.display()
                        )),
                    }
                }
                Ok(_) => {}
                Err(_) => {
                    self.skipped
                        .push(format!("{}: malformed PEM was skipped", origin.display()));
                    break;
                }
            }
        }
    }
}

/// root_unix.go `readUniqueDirectoryEntries`: files of `dir`, minus symlinks whose
/// target stays in the same directory (no '/' in the link text).
fn unique_directory_entries(fs: Fs<'_>, dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs.read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .into_iter()
        .filter(|(path, link)| {
            !link
                || fs
                    .read_link(path)
                    .map_or(true, |target| target.to_string_lossy().contains('/'))
        })
        .map(|(path, _)| path)
        .collect();
    files.sort();
    files
}

/// The raw issuer and subject Names of a DER certificate (full TLVs, as Go's RawIssuer /
/// RawSubject), found by walking the outer structure only.
fn names(der: &[u8]) -> Option<(&[u8], &[u8])> {
    let (cert, _) = tlv(der, 0x30)?;
    let (tbs, _) = tlv(cert.content, 0x30)?;
    let mut rest = tbs.content;
    if rest.first() == Some(&0xa0) {
        rest = tlv(rest, 0xa0)?.1; // [0] version
    }
    rest = tlv(rest, 0x02)?.1; // serialNumber
    rest = tlv(rest, 0x30)?.1; // signature AlgorithmIdentifier
    let (issuer, after_issuer) = tlv(rest, 0x30)?;
    rest = tlv(after_issuer, 0x30)?.1; // validity
    let (subject, _) = tlv(rest, 0x30)?;
    Some((issuer.whole, subject.whole))
}

struct Tlv<'a> {
    whole: &'a [u8],
    content: &'a [u8],
}

/// One DER TLV with tag `tag` at the start of `input`, and what follows it.
fn tlv(input: &[u8], tag: u8) -> Option<(Tlv<'_>, &[u8])> {
    if *input.first()? != tag {
        return None;
    }
    let first = *input.get(1)?;
    let (len, header) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for b in input.get(2..2 + n)? {
            len = (len << 8) | usize::from(*b);
        }
        (len, 2 + n)
    };
    let end = header.checked_add(len)?;
    let whole = input.get(..end)?;
    Some((
        Tlv {
            whole,
            content: &whole[header..],
        },
        &input[end..],
    ))
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests build their fixtures directly
mod tests {
    use super::*;

    #[test]
    fn outline_names_equal_the_parsed_names() {
        let mut params = rcgen::CertificateParams::new(vec!["a.example".to_string()]).unwrap();
        params.distinguished_name.push(
            rcgen::DnType::CommonName,
            "Name With Some Length To Need Long Form ".repeat(4),
        );
        let cert = params
            .self_signed(&rcgen::KeyPair::generate().unwrap())
            .unwrap();
        let der = cert.der().clone();
        let parsed = Cert::parse(&der).unwrap();
        let lazy = Anchor::lazy(der).unwrap();
        assert_eq!(lazy.raw_subject, parsed.raw_subject);
        assert_eq!(lazy.raw_issuer, parsed.raw_issuer);
        assert!(lazy.cert().is_some());
        assert!(Anchor::lazy(CertificateDer::from(vec![0x30, 0x03, 0x02, 0x01, 0x00])).is_none());
    }
}
