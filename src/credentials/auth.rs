//! Does the registry accept this user name and password? Checked as Docker's `docker login`
//! checks it: `GET /v2/`, then the scheme the registry's `WWW-Authenticate` asks for —
//! `Basic` (htpasswd, the DC/OS Universe registry) or the `Bearer` token flow
//! (`realm`, `service`, `scope`; Harbor, GitLab, Nexus), per the distribution token spec
//! (<https://distribution.github.io/distribution/spec/auth/token/>).
//!
//! The same flow gives other commands (`catalog`) an [`Access`]: the `Authorization` a
//! registry takes for one scope (`registry:catalog:*`, `repository:NAME:pull`), asked for
//! with the stored login, or anonymously without one, as Docker does.
//!
//! TLS trusts exactly what Docker trusts for the endpoint ([`crate::tls::docker_trust_config`]);
//! the token realm is reached with the registry's roots, as Docker's transport does. Every
//! request is bounded by the command's deadline. Errors name the endpoint, never the secret.

use std::time::{Duration, Instant};

use base64::Engine;
use reqwest::blocking::Client;
use reqwest::StatusCode;

use super::Credential;
use crate::config::Config;
use crate::endpoint::Endpoint;
use crate::x509::Anchors;

/// A token answer larger than this is not one.
const MAX_TOKEN_BODY: u64 = 1024 * 1024;

/// How the registry accepted the login.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Accepted {
    Basic,
    Bearer,
    /// `/v2/` answered 200 without credentials (Docker's login succeeds too).
    Open,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum AuthError {
    /// The registry (or its token service) refused the credentials.
    #[error("{endpoint}: unauthorized: the registry refused user {username:?} — check the user name and password")]
    Denied { endpoint: String, username: String },
    /// The registry wants a login and none is stored for it (`catalog` before `login`).
    #[error("{endpoint}: the registry asks for a login and none is stored for it — run `docker dcosreg login`")]
    NoCredential { endpoint: String },
    /// Could not ask: network, TLS trust, not a registry.
    #[error("{0}")]
    Failed(String),
}

/// One `WWW-Authenticate` challenge: scheme (lower case) and parameters (keys lower case).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Challenge {
    pub(crate) scheme: String,
    pub(crate) params: Vec<(String, String)>,
}

impl Challenge {
    fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Parse a `WWW-Authenticate` value (RFC 7235 §4.1): `Bearer realm="…",service="…"`.
/// Several challenges in one header are split at a token that is followed by a space and
/// not by `=`.
pub(crate) fn parse_challenges(header: &str) -> Vec<Challenge> {
    let mut challenges: Vec<Challenge> = Vec::new();
    let mut rest = header.trim();
    while !rest.is_empty() {
        // A token: the scheme, or a parameter name.
        let end = rest
            .find(|c: char| c == '=' || c == ',' || c.is_whitespace())
            .unwrap_or(rest.len());
        let token = &rest[..end];
        let after = rest[end..].trim_start();
        if let Some(value_part) = after.strip_prefix('=').filter(|_| !token.is_empty()) {
            let value_part = value_part.trim_start();
            let (value, remaining) = if let Some(quoted) = value_part.strip_prefix('"') {
                let mut value = String::new();
                let mut chars = quoted.char_indices();
                let mut consumed = quoted.len();
                while let Some((at, ch)) = chars.next() {
                    match ch {
                        '\\' => {
                            if let Some((_, escaped)) = chars.next() {
                                value.push(escaped);
                            }
                        }
                        '"' => {
                            consumed = at + 1;
                            break;
                        }
                        _ => value.push(ch),
                    }
                }
                (value, &quoted[consumed.min(quoted.len())..])
            } else {
                let stop = value_part.find(',').unwrap_or(value_part.len());
                (value_part[..stop].trim().to_string(), &value_part[stop..])
            };
            if let Some(current) = challenges.last_mut() {
                current.params.push((token.to_ascii_lowercase(), value));
            }
            rest = remaining.trim_start().trim_start_matches(',').trim_start();
        } else if token.is_empty() {
            rest = after.trim_start_matches(',').trim_start();
        } else {
            challenges.push(Challenge {
                scheme: token.to_ascii_lowercase(),
                params: Vec::new(),
            });
            rest = after.trim_start_matches(',').trim_start();
        }
    }
    challenges
}

/// `Authorization: Basic base64(user:secret)`.
pub(crate) fn basic_value(credential: &Credential) -> String {
    let raw = format!("{}:{}", credential.username, credential.secret);
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

fn remaining(deadline: Instant, endpoint: &Endpoint) -> Result<Duration, AuthError> {
    deadline
        .checked_duration_since(Instant::now())
        .filter(|d| !d.is_zero())
        .ok_or_else(|| {
            AuthError::Failed(format!(
                "{endpoint}: no answer before the deadline — raise --timeout"
            ))
        })
}

fn client(
    anchors: &Anchors,
    tls_endpoint: &Endpoint,
    timeout: Duration,
) -> Result<Client, AuthError> {
    let tls = crate::tls::docker_trust_config(anchors.clone(), tls_endpoint.clone());
    Client::builder()
        .use_preconfigured_tls(tls)
        .timeout(timeout)
        .connect_timeout(timeout)
        // A redirect could carry the Authorization header elsewhere: follow none.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("docker-dcosreg/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| AuthError::Failed(format!("cannot set up the HTTP client: {e}")))
}

/// The error chain of a failed request, one line, without the URL's query.
fn describe(endpoint: &Endpoint, err: &reqwest::Error) -> AuthError {
    if let Some(impostor) = crate::tls::impostor_in(endpoint, err) {
        return AuthError::Failed(crate::text::sanitize_line(&impostor));
    }
    let mut parts: Vec<String> = Vec::new();
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(err);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    let what = if err.is_timeout() {
        "no answer before the deadline — raise --timeout".to_string()
    } else if parts.is_empty() {
        err.to_string()
    } else {
        parts.join(": ")
    };
    let hint = if what.contains("x509:") {
        " — run `docker dcosreg trust` first"
    } else {
        ""
    };
    AuthError::Failed(crate::text::sanitize_line(&format!(
        "{endpoint}: {what}{hint}"
    )))
}

/// A client for one registry endpoint that trusts exactly what Docker trusts there, and
/// the `Authorization` value the registry takes for one scope (none for an open registry).
/// Its `Debug` hides the value: it is a secret (a password in Basic, a token in Bearer).
pub(crate) struct Access {
    client: Client,
    authorization: Option<reqwest::header::HeaderValue>,
    pub(crate) accepted: Accepted,
}

impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Access")
            .field("accepted", &self.accepted)
            .field(
                "authorization",
                &self.authorization.as_ref().map(|_| "<hidden>"),
            )
            .finish()
    }
}

impl Access {
    /// `GET url` with the authorization, bounded by `deadline`; no redirect is followed.
    /// The caller keeps `url` on the endpoint's host: the value is for that registry only.
    pub(crate) fn get(
        &self,
        url: reqwest::Url,
        endpoint: &Endpoint,
        deadline: Instant,
    ) -> Result<reqwest::blocking::Response, AuthError> {
        let mut request = self
            .client
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .timeout(remaining(deadline, endpoint)?);
        if let Some(value) = &self.authorization {
            request = request.header(reqwest::header::AUTHORIZATION, value.clone());
        }
        request.send().map_err(|e| describe(endpoint, &e))
    }
}

/// Ask the registry at `endpoint` how it authenticates (`GET /v2/`, as Docker's ping does)
/// and get what it takes for `scope` (`registry:catalog:*`, `repository:team/app:pull`;
/// None: the challenge's own): Basic with `credential`, or a Bearer token from the realm
/// the challenge names (https only), asked with `credential` or, without one, anonymously.
pub(crate) fn access(
    config: &Config,
    endpoint: &Endpoint,
    credential: Option<&Credential>,
    scope: Option<&str>,
    deadline: Instant,
) -> Result<Access, AuthError> {
    let certs_d = crate::trust::docker_endpoint_dir(config, endpoint)
        .map_err(|e| AuthError::Failed(crate::text::sanitize_line(&format!("{e:#}"))))?;
    let anchors = Anchors::with_certs_d(config, certs_d);
    let registry = client(&anchors, endpoint, remaining(deadline, endpoint)?)?;
    let v2 = format!("https://{}/v2/", endpoint.reference_host());
    let first = registry
        .get(&v2)
        .send()
        .map_err(|e| describe(endpoint, &e))?;
    match first.status() {
        StatusCode::OK => {
            return Ok(Access {
                client: registry,
                authorization: None,
                accepted: Accepted::Open,
            })
        }
        StatusCode::UNAUTHORIZED => {}
        other => {
            return Err(AuthError::Failed(format!(
                "{endpoint}: GET /v2/ answered {other}, not 200 or 401 — is this a Docker registry?"
            )))
        }
    }
    let challenges: Vec<Challenge> = first
        .headers()
        .get_all(reqwest::header::WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(parse_challenges)
        .collect();
    let secret = |text: String| {
        let mut value = reqwest::header::HeaderValue::from_str(&text).map_err(|_| {
            AuthError::Failed(format!(
                "{endpoint}: the credentials cannot be sent in an HTTP header"
            ))
        })?;
        value.set_sensitive(true);
        Ok::<_, AuthError>(Some(value))
    };
    if let Some(bearer) = challenges.iter().find(|c| c.scheme == "bearer") {
        let token = fetch_token(&anchors, endpoint, bearer, credential, scope, deadline)?;
        return Ok(Access {
            client: registry,
            authorization: secret(format!("Bearer {token}"))?,
            accepted: Accepted::Bearer,
        });
    }
    if challenges.iter().any(|c| c.scheme == "basic") || challenges.is_empty() {
        let credential = credential.ok_or_else(|| AuthError::NoCredential {
            endpoint: endpoint.to_string(),
        })?;
        return Ok(Access {
            client: registry,
            authorization: secret(basic_value(credential))?,
            accepted: Accepted::Basic,
        });
    }
    let schemes: Vec<&str> = challenges.iter().map(|c| c.scheme.as_str()).collect();
    Err(AuthError::Failed(crate::text::sanitize_line(&format!(
        "{endpoint}: the registry asks for {} — only Basic and Bearer are supported",
        schemes.join(", ")
    ))))
}

/// Check `credential` against the registry at `endpoint` before `deadline`.
pub(crate) fn verify(
    config: &Config,
    endpoint: &Endpoint,
    credential: &Credential,
    deadline: Instant,
) -> Result<Accepted, AuthError> {
    let access = access(config, endpoint, Some(credential), None, deadline)?;
    if access.accepted == Accepted::Open {
        return Ok(Accepted::Open);
    }
    let v2 = reqwest::Url::parse(&format!("https://{}/v2/", endpoint.reference_host()))
        .map_err(|e| AuthError::Failed(format!("{endpoint}: {e}")))?;
    let answer = access.get(v2, endpoint, deadline)?;
    match answer.status() {
        StatusCode::OK => Ok(access.accepted),
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Err(AuthError::Denied {
            endpoint: endpoint.to_string(),
            username: credential.username.clone(),
        }),
        other => Err(AuthError::Failed(format!(
            "{endpoint}: GET /v2/ with {} answered {other}",
            match access.accepted {
                Accepted::Bearer => "the token",
                _ => "Basic auth",
            }
        ))),
    }
}

/// The token flow: `GET realm?service=…&scope=…` with Basic auth, answer `{"token"}` or
/// `{"access_token"}` (docker/distribution `registry/client/auth/session.go`).
fn fetch_token(
    anchors: &Anchors,
    endpoint: &Endpoint,
    challenge: &Challenge,
    credential: Option<&Credential>,
    scope: Option<&str>,
    deadline: Instant,
) -> Result<String, AuthError> {
    let (url, realm_endpoint) = token_url(endpoint, challenge, credential, scope)?;
    let tokens = client(anchors, &realm_endpoint, remaining(deadline, endpoint)?)?;
    let mut request = tokens.get(url);
    if let Some(credential) = credential {
        request = request.header(reqwest::header::AUTHORIZATION, basic_value(credential));
    }
    let answer = request.send().map_err(|e| describe(&realm_endpoint, &e))?;
    match answer.status() {
        StatusCode::OK => {}
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
            return Err(match credential {
                Some(credential) => AuthError::Denied {
                    endpoint: endpoint.to_string(),
                    username: credential.username.clone(),
                },
                None => AuthError::NoCredential {
                    endpoint: endpoint.to_string(),
                },
            })
        }
        other => {
            return Err(AuthError::Failed(format!(
                "{endpoint}: the token service {realm_endpoint} answered {other}"
            )))
        }
    }
    // The one bounded reader: size cap, and the login's deadline over the whole body.
    let body = crate::tls::http::read_body(answer, MAX_TOKEN_BODY, deadline).map_err(|e| {
        AuthError::Failed(crate::text::sanitize_line(&format!(
            "{endpoint}: the token service {realm_endpoint}: {e:#}"
        )))
    })?;
    token_from(&body, endpoint, &realm_endpoint)
}

/// The realm's URL with the request's parameters, and the realm's host as an endpoint
/// (judged with Docker's trust for it). The password goes to the token service as Basic
/// auth: only over TLS that Docker's trust verified, never in cleartext, whatever host the
/// realm names.
fn token_url(
    endpoint: &Endpoint,
    challenge: &Challenge,
    credential: Option<&Credential>,
    scope: Option<&str>,
) -> Result<(reqwest::Url, Endpoint), AuthError> {
    let realm = challenge.param("realm").ok_or_else(|| {
        AuthError::Failed(format!(
            "{endpoint}: the Bearer challenge names no realm (token service)"
        ))
    })?;
    let mut url = reqwest::Url::parse(realm).map_err(|_| {
        AuthError::Failed(crate::text::sanitize_line(&format!(
            "{endpoint}: the token realm {realm:?} is not a URL"
        )))
    })?;
    if url.scheme() != "https" {
        return Err(AuthError::Failed(crate::text::sanitize_line(&format!(
            "{endpoint}: the registry sends the password to the token realm {realm:?}, which is not https — refused; serve the token service over TLS"
        ))));
    }
    {
        let mut query = url.query_pairs_mut();
        if let Some(service) = challenge.param("service") {
            query.append_pair("service", service);
        }
        if let Some(scope) = scope.or_else(|| challenge.param("scope")) {
            query.append_pair("scope", scope);
        }
        if let Some(credential) = credential {
            query.append_pair("account", &credential.username);
        }
        query.append_pair("client_id", "docker-dcosreg");
    }
    let realm_host = url
        .host_str()
        .map(|h| match url.port() {
            Some(port) => format!("{h}:{port}"),
            None => h.to_string(),
        })
        .unwrap_or_default();
    let realm_endpoint: Endpoint = realm_host
        .parse()
        .map_err(|e| AuthError::Failed(format!("{endpoint}: token realm host: {e}")))?;
    Ok((url, realm_endpoint))
}

/// The token of the service's JSON answer (`token`, else `access_token`).
fn token_from(body: &[u8], endpoint: &Endpoint, realm: &Endpoint) -> Result<String, AuthError> {
    #[derive(serde::Deserialize)]
    struct TokenAnswer {
        token: Option<String>,
        access_token: Option<String>,
    }
    let parsed: TokenAnswer = serde_json::from_slice(body).map_err(|_| {
        AuthError::Failed(format!(
            "{endpoint}: the token service {realm} did not answer token JSON"
        ))
    })?;
    parsed
        .token
        .or(parsed.access_token)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            AuthError::Failed(format!(
                "{endpoint}: the token service {realm} answered no token"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn challenges_parse_like_registries_send_them() {
        let got = parse_challenges(
            r#"Bearer realm="https://auth.example/token",service="registry.example",scope="registry:catalog:*""#,
        );
        assert_eq!(
            got,
            vec![Challenge {
                scheme: "bearer".into(),
                params: params(&[
                    ("realm", "https://auth.example/token"),
                    ("service", "registry.example"),
                    ("scope", "registry:catalog:*"),
                ]),
            }]
        );
        assert_eq!(
            parse_challenges(r#"Basic realm="Registry Realm""#),
            vec![Challenge {
                scheme: "basic".into(),
                params: params(&[("realm", "Registry Realm")]),
            }]
        );
        // Two challenges in one header; unquoted and escaped values.
        let two = parse_challenges(r#"Basic realm=x, Bearer realm="a\"b", service=s"#);
        assert_eq!(two.len(), 2);
        assert_eq!(two[0].param("realm"), Some("x"));
        assert_eq!(two[1].param("realm"), Some("a\"b"));
        assert_eq!(two[1].param("service"), Some("s"));
        assert!(parse_challenges("").is_empty());
    }

    #[test]
    fn basic_is_base64_of_user_colon_secret() {
        let cred = Credential {
            username: "alice".into(),
            secret: "s3cret".into(),
        };
        assert_eq!(basic_value(&cred), "Basic YWxpY2U6czNjcmV0");
    }
}
