//! The HTTP client for the Mesos master and Marathon: reqwest (blocking) on our own
//! rustls configuration with the ring provider and the platform verifier (the system's roots),
//! as the crate's dependency rules ask. Every request is bounded by the command's deadline.

use std::sync::Arc;
use std::time::Duration;

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
