//! The HTTP client for the Mesos master and Marathon: reqwest (blocking) on the one
//! fail-closed TLS client every connection uses (`crate::tls::docker_trust_config`): the
//! chain judged with Go's rules against the cluster CA (`--cluster-ca`) or the system roots,
//! the handshake signature always checked. A DC/OS token travels only on such a connection:
//! [`refuse_cleartext_token`] stops an `http://` URL before anything is sent. Every request
//! is bounded by the command's deadline.

use std::time::Duration;

use anyhow::{anyhow, bail, Context};

use crate::x509::Anchors;

/// At most this much of a response body is read (a Mesos `/slaves` of a few thousand agents is a
/// few MB); a larger answer is not what we asked for.
pub(crate) const MAX_BODY: u64 = 32 * 1024 * 1024;

/// A client for `url` that trusts `trust` for its host.
pub(crate) fn client(
    url: &str,
    trust: &Anchors,
    timeout: Duration,
) -> anyhow::Result<reqwest::blocking::Client> {
    let endpoint = crate::credentials::key::endpoint_of(url)
        .map_err(|e| anyhow!("{url} has no usable host: {e}"))?;
    let tls = crate::tls::docker_trust_config(trust.clone(), endpoint);
    reqwest::blocking::Client::builder()
        .use_preconfigured_tls(tls)
        .timeout(timeout)
        .connect_timeout(timeout)
        // A redirect could carry the token elsewhere: follow none.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("docker-dcosreg/", env!("CARGO_PKG_VERSION")))
        .build()
        .context("cannot set up the HTTP client")
}

/// A DC/OS token goes only over verified TLS: an `http://` URL with a token is refused
/// before any connection (`flag` names where the URL came from).
pub(crate) fn refuse_cleartext_token(
    url: &str,
    token: Option<&str>,
    flag: &str,
) -> anyhow::Result<()> {
    if token.is_some()
        && url
            .get(..7)
            .is_some_and(|scheme| scheme.eq_ignore_ascii_case("http://"))
    {
        bail!(
            "{flag} {url} is plain http: the DC/OS token would travel in cleartext — use the https URL of Admin Router (https://<master>/mesos, https://<master>/service/marathon) with --cluster-ca"
        );
    }
    Ok(())
}

/// A failed request's error and its causes, one line.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    crate::text::sanitize_line(&text)
}

/// The hint for a request that failed: a certificate Go would refuse asks for the CA.
pub(crate) fn tls_hint(text: &str) -> &'static str {
    if text.contains("x509:") {
        " — give the cluster CA with --cluster-ca (DC/OS: https://<master>/ca/dcos-ca.crt, checked by its fingerprint)"
    } else {
        ""
    }
}

/// The DC/OS way of sending an ACS token: `Authorization: token=<t>` (DC/OS IAM docs,
/// "Passing an authentication token"), not `Bearer`.
pub(crate) fn dcos_authorization(token: &str) -> String {
    format!("token={token}")
}
