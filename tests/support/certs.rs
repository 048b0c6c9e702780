//! The one certificate factory of the tests: [`Spec`] says what a certificate holds (rcgen
//! parameters with the usual shapes as constructors), [`Issued`] is a certificate with its
//! key, [`Openssl`] makes what a user's openssl CLI makes (RSA keys of any size, SHA-1,
//! the guide's recipe) in a work directory.

use std::io::Write;
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::assert_status_for;
use rcgen::{
    BasicConstraints, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyUsagePurpose, SanType,
};
pub use rcgen::{CertificateParams, KeyPair, SignatureAlgorithm};

/// What a certificate holds and the key type to make it with (ECDSA P-256 unless
/// [`Spec::alg`] says otherwise). Derefs to the rcgen parameters for anything else.
pub struct Spec {
    params: CertificateParams,
    alg: &'static SignatureAlgorithm,
}

impl Spec {
    /// A certificate naming `sans` (DNS names or IP literals) and nothing else.
    pub fn names(sans: &[&str]) -> Spec {
        let sans: Vec<String> = sans.iter().map(|s| s.to_string()).collect();
        Spec {
            params: CertificateParams::new(sans).expect("certificate parameters"),
            alg: &rcgen::PKCS_ECDSA_P256_SHA256,
        }
    }

    /// A CA: subject CN `cn`, basicConstraints CA:TRUE without a path length limit.
    pub fn ca(cn: &str) -> Spec {
        Spec::names(&[]).cn(cn).ca_true()
    }

    /// A registry's server certificate: SANs `sans`, CN `registry`, CA:FALSE, extended
    /// key usage serverAuth.
    pub fn server(sans: &[&str]) -> Spec {
        let mut spec = Spec::names(sans).cn("registry");
        spec.params.is_ca = IsCa::ExplicitNoCa;
        spec.params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        spec
    }

    /// Subject CN (appended to the subject).
    pub fn cn(mut self, cn: &str) -> Spec {
        self.params.distinguished_name.push(DnType::CommonName, cn);
        self
    }

    /// Subject O (appended to the subject).
    pub fn org(mut self, org: &str) -> Spec {
        self.params
            .distinguished_name
            .push(DnType::OrganizationName, org);
        self
    }

    /// basicConstraints CA:TRUE without a path length limit.
    pub fn ca_true(mut self) -> Spec {
        self.params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        self
    }

    /// keyUsage keyCertSign and cRLSign.
    pub fn cert_sign(mut self) -> Spec {
        self.params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        self
    }

    /// SANs: only IP addresses, `ips`.
    pub fn ip_sans(mut self, ips: &[&str]) -> Spec {
        self.params.subject_alt_names = ips
            .iter()
            .map(|ip| SanType::IpAddress(ip.parse().expect("an IP address")))
            .collect();
        self
    }

    /// SANs: only DNS name `name`.
    pub fn dns_san(mut self, name: &str) -> Spec {
        self.params.subject_alt_names =
            vec![SanType::DnsName(name.try_into().expect("a DNS name"))];
        self
    }

    /// Valid from `from` days to `to` days from now (negative: in the past).
    pub fn valid_days(mut self, from: i64, to: i64) -> Spec {
        self.params.not_before = days_from_now(from);
        self.params.not_after = days_from_now(to);
        self
    }

    /// The key type and signature algorithm (`rcgen::PKCS_ECDSA_P384_SHA384`, …).
    pub fn alg(mut self, alg: &'static SignatureAlgorithm) -> Spec {
        self.alg = alg;
        self
    }

    /// Anything else, on the rcgen parameters.
    pub fn edit(mut self, edit: impl FnOnce(&mut CertificateParams)) -> Spec {
        edit(&mut self.params);
        self
    }

    fn key(&self) -> KeyPair {
        KeyPair::generate_for(self.alg).expect("generate a key")
    }

    /// Self-signed with a new key.
    pub fn self_signed(self) -> Issued {
        let key = self.key();
        let cert = self
            .params
            .self_signed(&key)
            .expect("self-signed certificate");
        Issued {
            cert,
            key,
            params: self.params,
        }
    }

    /// Signed by `issuer`, with a new key.
    pub fn signed_by(self, issuer: &Issued) -> Issued {
        let key = self.key();
        let cert = self
            .params
            .signed_by(&key, &Issuer::from_params(&issuer.params, &issuer.key))
            .expect("signed certificate");
        Issued {
            cert,
            key,
            params: self.params,
        }
    }
}

impl Deref for Spec {
    type Target = CertificateParams;
    fn deref(&self) -> &CertificateParams {
        &self.params
    }
}

impl DerefMut for Spec {
    fn deref_mut(&mut self) -> &mut CertificateParams {
        &mut self.params
    }
}

/// A chain from a new root: the first spec self-signed, each next one signed by the one
/// before; returned root first.
pub fn chain<const N: usize>(specs: [Spec; N]) -> [Issued; N] {
    let mut issued: Vec<Issued> = Vec::with_capacity(N);
    for spec in specs {
        let next = match issued.last() {
            Some(issuer) => spec.signed_by(issuer),
            None => spec.self_signed(),
        };
        issued.push(next);
    }
    issued
        .try_into()
        .unwrap_or_else(|_| unreachable!("N certificates"))
}

/// A certificate with its key; it can sign others ([`Spec::signed_by`]).
pub struct Issued {
    pub cert: rcgen::Certificate,
    pub key: KeyPair,
    params: CertificateParams,
}

impl Issued {
    /// The notAfter it was issued with, as a Unix time.
    pub fn not_after_unix(&self) -> i64 {
        self.params.not_after.unix_timestamp()
    }

    pub fn pem(&self) -> String {
        self.cert.pem()
    }

    pub fn der(&self) -> &[u8] {
        self.cert.der()
    }

    /// The key as PKCS#8 PEM.
    pub fn key_pem(&self) -> String {
        self.key.serialize_pem()
    }

    /// Write the certificate (PEM) to `dir/name`.
    pub fn write(&self, dir: &Path, name: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, self.pem()).expect("write certificate");
        path
    }

    /// Write the certificate and its key (PEM) to `dir/cert` and `dir/key`.
    pub fn write_with_key(&self, dir: &Path, cert: &str, key: &str) -> (PathBuf, PathBuf) {
        let key_path = dir.join(key);
        std::fs::write(&key_path, self.key_pem()).expect("write key");
        (self.write(dir, cert), key_path)
    }
}

/// The SHA-256 fingerprint of a PEM certificate the way a user computes it, `openssl x509
/// -noout -fingerprint -sha256`: upper-case hex with colons.
pub fn openssl_fingerprint(pem: &str) -> String {
    super::require_tool("openssl");
    let mut child = Command::new("openssl")
        .args(["x509", "-noout", "-fingerprint", "-sha256"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run openssl");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(pem.as_bytes())
        .expect("write to openssl");
    let out = child.wait_with_output().expect("openssl");
    assert_status_for(&out, 0, "openssl x509 -fingerprint");
    super::stdout(&out)
        .trim()
        .rsplit_once('=')
        .map(|(_, fp)| fp.to_string())
        .expect("fingerprint line")
}

pub fn days_from_now(days: i64) -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc() + time::Duration::days(days)
}

/// The openssl CLI in a work directory: files are named relative to it.
pub struct Openssl {
    pub dir: PathBuf,
}

/// How openssl makes a key.
#[derive(Clone, Copy)]
pub enum OpensslKey<'a> {
    /// `genrsa -out FILE BITS`.
    Rsa(&'a str),
    /// `genpkey ARGS -out FILE`.
    Genpkey(&'a [&'a str]),
    /// `ecparam -name CURVE -genkey -noout -out FILE`.
    Ec(&'a str),
}

impl Openssl {
    pub fn new(dir: &Path) -> Openssl {
        super::require_tool("openssl");
        Openssl {
            dir: dir.to_path_buf(),
        }
    }

    /// `openssl ARGS` in the work directory; it must succeed.
    pub fn run(&self, args: &[&str]) {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(&self.dir)
            .output()
            .expect("run openssl");
        assert_status_for(&out, 0, format_args!("openssl {}", args.join(" ")));
    }

    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join(name)).expect("read openssl output")
    }

    pub fn write(&self, name: &str, text: &str) {
        std::fs::write(self.dir.join(name), text).expect("write openssl input");
    }

    /// Make a key in `file`.
    pub fn key(&self, key: OpensslKey, file: &str) {
        match key {
            OpensslKey::Rsa(bits) => self.run(&["genrsa", "-out", file, bits]),
            OpensslKey::Genpkey(args) => {
                let mut all = vec!["genpkey"];
                all.extend_from_slice(args);
                all.extend(["-out", file]);
                self.run(&all);
            }
            OpensslKey::Ec(curve) => {
                self.run(&["ecparam", "-name", curve, "-genkey", "-noout", "-out", file])
            }
        }
    }

    /// A CA, files ca.key / ca.crt: `req -x509` self-signed with `digest` for 30 days,
    /// subject `/CN=cn`, more `req` arguments `extra`.
    pub fn ca(&self, key: OpensslKey, digest: &str, cn: &str, extra: &[&str]) {
        self.key(key, "ca.key");
        let subject = format!("/CN={cn}");
        let mut req = vec![
            "req", "-x509", "-new", "-key", "ca.key", digest, "-days", "30", "-subj", &subject,
            "-out", "ca.crt",
        ];
        req.extend_from_slice(extra);
        self.run(&req);
    }

    /// A leaf for `ip` (CN `registry`, SAN IP, CA:FALSE, serverAuth) signed by ca.crt /
    /// ca.key for 30 days with the `x509 -req` arguments `sign` (the digest, …); files
    /// leaf.key / leaf.crt. Returns leaf.crt.
    pub fn leaf(&self, key: OpensslKey, ip: &str, sign: &[&str]) -> String {
        self.key(key, "leaf.key");
        self.run(&[
            "req",
            "-new",
            "-key",
            "leaf.key",
            "-subj",
            "/CN=registry",
            "-out",
            "leaf.csr",
        ]);
        self.write(
            "leaf.ext",
            &format!(
                "subjectAltName=IP:{ip}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
            ),
        );
        let mut args = vec![
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "30",
            "-extfile",
            "leaf.ext",
            "-out",
            "leaf.crt",
        ];
        args.extend_from_slice(sign);
        self.run(&args);
        self.read("leaf.crt")
    }
}
