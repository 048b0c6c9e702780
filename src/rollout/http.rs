//! The HTTP client for the Mesos master, Marathon and `--ca-url`: reqwest (blocking) on our own
//! rustls configuration with the ring provider and the platform verifier (the system's roots),
//! as the crate's dependency rules ask. Every request is bounded by the command's deadline.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use rustls_platform_verifier::BuilderVerifierExt;

/// At most this much of a response body is read (a Mesos `/slaves` of a few thousand agents is a
/// few MB); a larger answer is not what we asked for.
pub(crate) const MAX_BODY: u64 = 32 * 1024 * 1024;

pub(crate) fn client(timeout: Duration) -> anyhow::Result<reqwest::blocking::Client> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("cannot set up TLS")?
        .with_platform_verifier()
        .context("cannot load the system's trusted roots")?
        .with_no_client_auth();
    reqwest::blocking::Client::builder()
        .use_preconfigured_tls(tls)
        .timeout(timeout)
        .connect_timeout(timeout)
        .user_agent(concat!("docker-dcosreg/", env!("CARGO_PKG_VERSION")))
        .build()
        .context("cannot set up the HTTP client")
}

/// The DC/OS way of sending an ACS token: `Authorization: token=<t>` (DC/OS IAM docs,
/// "Passing an authentication token"), not `Bearer`.
pub(crate) fn dcos_authorization(token: &str) -> String {
    format!("token={token}")
}

/// Read a body of at most `cap` bytes, all of it before `deadline`: the one reader for
/// every network body (Mesos, Marathon, `--ca-url`). reqwest's blocking timeout bounds
/// each read, not the body, so a server that trickles a byte every half second would
/// keep us forever; the body is read on a helper thread that we stop waiting for at the
/// deadline (it ends at its own next read timeout; nothing is held).
pub(crate) fn read_body(
    response: reqwest::blocking::Response,
    cap: u64,
    deadline: Instant,
) -> anyhow::Result<Vec<u8>> {
    use std::io::Read;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("body".into())
        .spawn(move || {
            let mut response = response;
            let mut body = Vec::new();
            let mut chunk = [0u8; 16 * 1024];
            let result = loop {
                if Instant::now() >= deadline {
                    break Err(BodyError::Deadline);
                }
                match response.read(&mut chunk) {
                    Ok(0) => break Ok(body),
                    Ok(n) => {
                        body.extend_from_slice(&chunk[..n]);
                        if body.len() as u64 > cap {
                            break Err(BodyError::TooLarge);
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => break Err(BodyError::Io(e)),
                }
            };
            let _ = tx.send(result);
        })
        .context("cannot start a thread to read the answer")?;
    let left = deadline.saturating_duration_since(Instant::now());
    match rx.recv_timeout(left) {
        Ok(Ok(body)) => Ok(body),
        Ok(Err(BodyError::TooLarge)) => anyhow::bail!("the answer is larger than {cap} bytes"),
        Ok(Err(BodyError::Io(e))) => {
            Err(e).context("the connection broke while reading the answer")
        }
        Ok(Err(BodyError::Deadline)) | Err(_) => anyhow::bail!(
            "the server did not finish its answer before the deadline — raise --timeout if it is just slow"
        ),
    }
}

enum BodyError {
    TooLarge,
    Deadline,
    Io(std::io::Error),
}
