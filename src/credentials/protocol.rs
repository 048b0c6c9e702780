//! The Docker credential-helper protocol, as `docker-credential-dcosreg ACTION` speaks it
//! (docker-credential-helpers `credentials/credentials.go`):
//!
//! - `store`: stdin `{"ServerURL","Username","Secret"}`, no output;
//! - `get`: stdin the server URL, stdout `{"ServerURL","Username","Secret"}`;
//! - `erase`: stdin the server URL; `list`: stdout `{"<ServerURL>": "<Username>", …}`;
//! - `version`: one line.
//!
//! Every error is one line on **stdout** and exit status 1; a missing credential is exactly
//! [`NOT_FOUND`], which Docker reads as "not logged in".

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::key::endpoint_of;
use super::{Credential, NOT_FOUND};
use crate::endpoint::Endpoint;

const MISSING_URL: &str = "no credentials server URL";
const MISSING_USERNAME: &str = "no credentials username";
const USAGE: &str = "Usage: docker-credential-dcosreg <store|get|erase|list|version>";

/// What the protocol needs from the rest of the tool; tests use an in-memory one.
pub(crate) trait Backend {
    fn lookup(&self, endpoint: &Endpoint) -> anyhow::Result<Option<Credential>>;
    fn save(&self, endpoint: &Endpoint, credential: &Credential) -> anyhow::Result<()>;
    fn erase(&self, endpoint: &Endpoint) -> anyhow::Result<()>;
    /// Server URL → user name, for `list`.
    fn list(&self) -> anyhow::Result<BTreeMap<String, String>>;
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Wire {
    #[serde(rename = "ServerURL", default)]
    server_url: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    secret: String,
}

/// Run one action: `Ok(stdout)` for exit 0, `Err(line)` to print on stdout with exit 1.
pub(crate) fn handle(
    args: &[String],
    stdin: &[u8],
    backend: &dyn Backend,
) -> Result<String, String> {
    let [action] = args else {
        return Err(USAGE.to_string());
    };
    let fail = |e: anyhow::Error| crate::text::sanitize_line(&format!("{e:#}"));
    match action.as_str() {
        "store" => {
            // serde_json's message may quote the secret: never pass it on.
            let wire: Wire = serde_json::from_slice(stdin).map_err(|_| {
                "the input is not the credential JSON {\"ServerURL\",\"Username\",\"Secret\"}"
                    .to_string()
            })?;
            if wire.server_url.is_empty() {
                return Err(MISSING_URL.into());
            }
            if wire.username.is_empty() {
                return Err(MISSING_USERNAME.into());
            }
            let endpoint = endpoint_of(&wire.server_url).map_err(|e| e.to_string())?;
            let credential = Credential {
                username: wire.username,
                secret: wire.secret,
            };
            backend.save(&endpoint, &credential).map_err(fail)?;
            Ok(String::new())
        }
        "get" => {
            let url = server_url(stdin)?;
            // An unparsable name cannot be one of ours: Docker then goes on without auth.
            let Ok(endpoint) = endpoint_of(&url) else {
                return Err(NOT_FOUND.into());
            };
            match backend.lookup(&endpoint).map_err(fail)? {
                Some(credential) => {
                    let wire = Wire {
                        server_url: url,
                        username: credential.username,
                        secret: credential.secret,
                    };
                    // Go's json.Encoder ends the document with a newline.
                    serde_json::to_string(&wire)
                        .map(|json| json + "\n")
                        .map_err(|e| e.to_string())
                }
                None => Err(NOT_FOUND.into()),
            }
        }
        "erase" => {
            let url = server_url(stdin)?;
            let endpoint = endpoint_of(&url).map_err(|e| e.to_string())?;
            backend.erase(&endpoint).map_err(fail)?;
            Ok(String::new())
        }
        "list" => {
            let all = backend.list().map_err(fail)?;
            serde_json::to_string(&all)
                .map(|json| json + "\n")
                .map_err(|e| e.to_string())
        }
        "version" => Ok(format!(
            "docker-credential-dcosreg (docker-dcosreg) {}\n",
            env!("CARGO_PKG_VERSION")
        )),
        other => Err(format!("Unknown credential action `{other}`")),
    }
}

fn server_url(stdin: &[u8]) -> Result<String, String> {
    let url = String::from_utf8_lossy(stdin).trim().to_string();
    if url.is_empty() {
        return Err(MISSING_URL.into());
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    /// Keys by `host:port`, as the real backend does for one endpoint.
    #[derive(Default)]
    struct Memory(RefCell<BTreeMap<String, Credential>>);

    impl Backend for Memory {
        fn lookup(&self, endpoint: &Endpoint) -> anyhow::Result<Option<Credential>> {
            Ok(self.0.borrow().get(&endpoint.host_port()).cloned())
        }
        fn save(&self, endpoint: &Endpoint, credential: &Credential) -> anyhow::Result<()> {
            self.0
                .borrow_mut()
                .insert(endpoint.host_port(), credential.clone());
            Ok(())
        }
        fn erase(&self, endpoint: &Endpoint) -> anyhow::Result<()> {
            self.0.borrow_mut().remove(&endpoint.host_port());
            Ok(())
        }
        fn list(&self) -> anyhow::Result<BTreeMap<String, String>> {
            Ok(self
                .0
                .borrow()
                .iter()
                .map(|(k, c)| (k.clone(), c.username.clone()))
                .collect())
        }
    }

    fn run(backend: &Memory, action: &str, stdin: &str) -> Result<String, String> {
        handle(&[action.to_string()], stdin.as_bytes(), backend)
    }

    #[test]
    fn the_exact_protocol_texts() {
        let m = Memory::default();
        assert_eq!(
            run(&m, "get", "10.0.0.1\n"),
            Err("credentials not found in native keychain".into())
        );
        assert_eq!(
            run(&m, "get", "  \n"),
            Err("no credentials server URL".into())
        );
        assert_eq!(
            run(&m, "erase", ""),
            Err("no credentials server URL".into())
        );
        assert_eq!(
            run(
                &m,
                "store",
                r#"{"ServerURL":"10.0.0.1","Username":"","Secret":"x"}"#
            ),
            Err("no credentials username".into())
        );
        assert_eq!(
            run(
                &m,
                "store",
                r#"{"ServerURL":"","Username":"u","Secret":"x"}"#
            ),
            Err("no credentials server URL".into())
        );
        assert_eq!(
            run(&m, "frobnicate", ""),
            Err("Unknown credential action `frobnicate`".into())
        );
        assert_eq!(
            handle(&[], b"", &m),
            Err("Usage: docker-credential-dcosreg <store|get|erase|list|version>".into())
        );
        assert!(run(&m, "version", "")
            .unwrap()
            .starts_with("docker-credential-dcosreg "));
        assert_eq!(run(&m, "list", ""), Ok("{}\n".into()));
    }

    #[test]
    fn store_then_get_by_every_spelling_then_erase() {
        let m = Memory::default();
        let stored = run(
            &m,
            "store",
            r#"{"ServerURL":"https://10.0.0.1/v1/","Username":"alice","Secret":"pa ss\"w"}"#,
        );
        assert_eq!(stored, Ok(String::new()));
        for spelling in [
            "10.0.0.1",
            "10.0.0.1:443",
            "https://10.0.0.1",
            "https://10.0.0.1:443/v2/",
        ] {
            let out = run(&m, "get", spelling).unwrap();
            assert!(out.ends_with('\n'));
            let v: serde_json::Value = serde_json::from_str(&out).unwrap();
            assert_eq!(v["ServerURL"], spelling, "echoes the URL asked for");
            assert_eq!(v["Username"], "alice");
            assert_eq!(v["Secret"], "pa ss\"w");
            let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
            assert_eq!(keys, ["ServerURL", "Username", "Secret"]);
        }
        assert_eq!(
            run(&m, "list", ""),
            Ok("{\"10.0.0.1:443\":\"alice\"}\n".into())
        );
        assert_eq!(run(&m, "erase", "10.0.0.1:443"), Ok(String::new()));
        assert_eq!(
            run(&m, "get", "10.0.0.1"),
            Err("credentials not found in native keychain".into())
        );
    }

    #[test]
    fn malformed_input_never_echoes_the_secret() {
        let m = Memory::default();
        let err = run(
            &m,
            "store",
            r#"{"ServerURL":"h","Username":"u","Secret":12345678}"#,
        )
        .unwrap_err();
        assert!(!err.contains("12345678"), "{err}");
        let err = run(
            &m,
            "store",
            r#"{"ServerURL":"h","Username":"u","Secret":"topsecret"#,
        )
        .unwrap_err();
        assert!(!err.contains("topsecret"), "{err}");
    }
}
