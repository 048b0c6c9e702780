//! Credentials for machines that cannot run a helper. DC/OS agents do not support
//! credential helpers or stores; the Docker containerizer reads `.docker/config.json` from
//! an archive the Mesos fetcher unpacks into the task sandbox (DC/OS docs, "Using a Private
//! Docker Registry": `fetch` of `file:///etc/docker.tar.gz`), UCR reads the same JSON from a
//! `pullConfig` secret, Kubernetes from a `.dockerconfigjson` secret.

use std::io::Write;

use anyhow::Context;
use base64::Engine;
use serde_json::{json, Map, Value};

use super::Credential;

/// `{"auths": {"<spelling>": {"auth": base64(user:secret)}}}` for every spelling,
/// tab-indented like Docker writes it, with a final newline.
pub(crate) fn config_json(spellings: &[String], credential: &Credential) -> Vec<u8> {
    let auth = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", credential.username, credential.secret));
    let mut auths = Map::new();
    for name in spellings {
        auths.insert(name.clone(), json!({ "auth": auth }));
    }
    let value = json!({ "auths": Value::Object(auths) });
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"\t");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
    serde::Serialize::serialize(&value, &mut ser)
        .unwrap_or_else(|e| unreachable!("a JSON value always encodes: {e}"));
    out.push(b'\n');
    out
}

/// A gzip'd tar with `.docker/` (0700) and `.docker/config.json` (0600), owned by root
/// (uid/gid 0) and with a fixed time, so the same credentials give the same bytes and
/// `rollout` finds an agent's copy unchanged.
pub(crate) fn dcos_archive(config_json: &[u8]) -> anyhow::Result<Vec<u8>> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    let mut dir = tar::Header::new_gnu();
    dir.set_entry_type(tar::EntryType::Directory);
    dir.set_mode(0o700);
    dir.set_size(0);
    dir.set_uid(0);
    dir.set_gid(0);
    dir.set_mtime(0);
    tar.append_data(&mut dir, ".docker/", std::io::empty())
        .context("cannot build the archive")?;
    let mut file = tar::Header::new_gnu();
    file.set_entry_type(tar::EntryType::Regular);
    file.set_mode(0o600);
    file.set_size(config_json.len() as u64);
    file.set_uid(0);
    file.set_gid(0);
    file.set_mtime(0);
    tar.append_data(&mut file, ".docker/config.json", config_json)
        .context("cannot build the archive")?;
    let gz = tar.into_inner().context("cannot build the archive")?;
    let mut bytes = gz.finish().context("cannot compress the archive")?;
    bytes.flush().ok();
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn archive_holds_a_private_config_json() {
        let cred = Credential {
            username: "alice".into(),
            secret: "s3cret".into(),
        };
        let json = config_json(&["10.0.0.1".into(), "10.0.0.1:443".into()], &cred);
        let value: Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(value["auths"]["10.0.0.1:443"]["auth"], "YWxpY2U6czNjcmV0");
        let bytes = dcos_archive(&json).unwrap();
        assert_eq!(bytes, dcos_archive(&json).unwrap(), "deterministic");
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&bytes[..]));
        let mut seen = Vec::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let path = entry.path().unwrap().display().to_string();
            let mode = entry.header().mode().unwrap();
            let mut body = Vec::new();
            entry.read_to_end(&mut body).unwrap();
            if path == ".docker/config.json" {
                assert_eq!(body, json);
            }
            seen.push((path, mode));
        }
        assert_eq!(
            seen,
            vec![
                (".docker/".to_string(), 0o700),
                (".docker/config.json".to_string(), 0o600)
            ]
        );
    }
}
