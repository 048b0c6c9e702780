//! DC/OS UCR (the Mesos containerizer) pulls images itself, through libprocess and
//! OpenSSL, with the CA directory `/var/lib/dcos/pki/tls/certs/`. OpenSSL looks certificates
//! up there by subject-hash file names (`<hash>.0`, as `openssl rehash` / `c_rehash` make),
//! so we write the CA under a readable name and again under its hash name (a copy, not a
//! symlink, so the manifest treats both alike).

use super::{cert_step, Anchor, Different, Host, Step, Target};
use crate::x509::subject_hash;

pub(crate) const DIR: &str = "/var/lib/dcos/pki/tls/certs";

pub(crate) fn detect(host: &Host) -> bool {
    host.is_dir("/var/lib/dcos") || host.is_dir("/opt/mesosphere")
}

pub(crate) fn check(
    host: &Host,
    anchors: &[Anchor],
    different: Different,
) -> anyhow::Result<Vec<Step>> {
    let dir = host.path(DIR)?;
    let mut steps = Vec::new();
    for anchor in anchors {
        let named = dir.join(format!("dcosreg-{}.crt", anchor.tag()));
        steps.push(cert_step(
            host.fs(),
            Target::Mesos,
            vec![anchor.endpoint.clone()],
            named,
            &anchor.pem,
            different,
        )?);
        let ders =
            crate::x509::pem::parse_certificates(anchor.pem.as_bytes(), std::path::Path::new("-"))?;
        for der in ders {
            let one = crate::x509::pem::to_pem(der.as_ref());
            if let Some(hash) = subject_hash(der.as_ref()) {
                let path = hashed_slot(host.fs(), &dir, &hash, &one);
                steps.push(cert_step(
                    host.fs(),
                    Target::Mesos,
                    vec![anchor.endpoint.clone()],
                    path,
                    &one,
                    different,
                )?);
            }
        }
    }
    Ok(super::merge_same_path(steps))
}

/// `<hash>.N`: the first slot that is free or already holds this certificate.
fn hashed_slot(
    fs: crate::fsutil::Fs<'_>,
    dir: &std::path::Path,
    hash: &str,
    pem: &str,
) -> std::path::PathBuf {
    for n in 0..16 {
        let path = dir.join(format!("{hash}.{n}"));
        match fs.read_file(&path, crate::fsutil::MAX_FILE) {
            Err(_) => return path,
            Ok(bytes) if super::same_certificates(&bytes, pem.as_bytes()) => return path,
            Ok(_) => continue,
        }
    }
    dir.join(format!("{hash}.16"))
}

pub(crate) fn notes(_host: &Host) -> Vec<String> {
    vec!["mesos: UCR reads the CA directory when the agent starts; if UCR pulls still fail, restart dcos-mesos-slave (or dcos-mesos-slave-public)".to_string()]
}
