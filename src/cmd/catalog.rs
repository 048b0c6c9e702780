//! `catalog [REPO]`: the registry's repositories (`GET /v2/_catalog`) or one repository's
//! tags (`GET /v2/REPO/tags/list`), as `crane catalog`/`crane ls` and `regctl repo ls`/`tag ls`
//! list them, through the trust installed for Docker and the stored login.
//!
//! TLS fails closed exactly as `login` does ([`crate::credentials::auth::access`]: Docker's
//! roots for the endpoint, the handshake signature checked); an untrusted endpoint is an
//! answer (exit 1, Go's `x509:` text), never a reason to skip verification. The login
//! goes as Basic, or as a Bearer token for the one scope the listing needs
//! (`registry:catalog:*`, `repository:REPO:pull`). Pages follow `Link: <…>; rel="next"`
//! (distribution spec, "Listing Repositories") on the endpoint's own origin only, so the
//! credentials reach nothing else; pages and bodies are bounded, and one deadline
//! (`--timeout`) covers the probe, the token and every page.

use std::collections::HashSet;
use std::time::Instant;

use anyhow::{anyhow, bail};
use reqwest::{StatusCode, Url};
use serde::Serialize;

use crate::cli::CatalogArgs;
use crate::config::Config;
use crate::credentials::{self, auth};
use crate::endpoint::Endpoint;
use crate::exit::{ExitStatus, Stop};
use crate::output::Printer;
use crate::probe::{self, Role};

/// A page larger than this is not a listing.
const MAX_PAGE_BODY: u64 = 8 * 1024 * 1024;
/// Pages followed at most; the deadline usually ends a long listing first.
const MAX_PAGES: usize = 10_000;
/// Largest `--page-size` (distribution caps `n` at its `maxentries`, 1000 by default).
const MAX_PAGE_SIZE: u32 = 100_000;
/// Longest repository name (distribution's reference grammar).
const MAX_NAME: usize = 255;

#[derive(Serialize)]
struct Repositories<'a> {
    endpoint: String,
    repositories: &'a [String],
}

#[derive(Serialize)]
struct Tags<'a> {
    endpoint: String,
    repository: &'a str,
    tags: &'a [String],
}

#[derive(serde::Deserialize)]
struct CatalogPage {
    repositories: Option<Vec<String>>,
}

#[derive(serde::Deserialize)]
struct TagsPage {
    tags: Option<Vec<String>>,
}

pub(crate) fn run(
    config: &Config,
    args: &CatalogArgs,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let deadline = Instant::now() + config.timeout.value;
    let repository = args
        .repository
        .as_deref()
        .map(parse_repository)
        .transpose()?;
    if let Some(n) = args.page_size {
        if n == 0 || n > MAX_PAGE_SIZE {
            bail!("--page-size {n} is out of range — give a number of entries from 1 to {MAX_PAGE_SIZE}");
        }
    }
    let endpoint = match &args.endpoint {
        Some(text) => text
            .parse::<Endpoint>()
            .map_err(|e| anyhow!("--endpoint: {e}"))?,
        None => chosen_endpoint(config)?,
    };
    let store = credentials::user_store(&config.docker_flags)?;
    let record = credentials::user_record()?;
    let credential = credentials::lookup(config, &store, &record, &endpoint)?;

    let (path, scope) = match &repository {
        None => ("/v2/_catalog".to_string(), "registry:catalog:*".to_string()),
        Some(name) => (
            format!("/v2/{name}/tags/list"),
            format!("repository:{name}:pull"),
        ),
    };
    let access = auth::access(
        config,
        &endpoint,
        credential.as_ref(),
        Some(&scope),
        deadline,
    )
    .map_err(|e| Stop::new(ExitStatus::No, e))?;
    let mut first = Url::parse(&format!("https://{}{path}", endpoint.reference_host()))
        .map_err(|e| anyhow!("{endpoint}: cannot make the URL of {path}: {e}"))?;
    if let Some(n) = args.page_size {
        first.query_pairs_mut().append_pair("n", &n.to_string());
    }
    let what = Listing {
        endpoint: &endpoint,
        repository: repository.as_deref(),
        signed_in: credential.as_ref().map(|c| c.username.as_str()),
    };
    let items = read_pages(&access, &what, first, deadline)
        .map_err(|message| Stop::new(ExitStatus::No, message))?;

    let endpoint_text = endpoint.to_string();
    match &repository {
        None => printer.report(
            &Repositories {
                endpoint: endpoint_text,
                repositories: &items,
            },
            |printer| print_items(printer, &items, &format!("no repositories at {endpoint}")),
        )?,
        Some(name) => printer.report(
            &Tags {
                endpoint: endpoint_text,
                repository: name,
                tags: &items,
            },
            |printer| {
                print_items(
                    printer,
                    &items,
                    &format!("{name} has no tags at {endpoint}"),
                )
            },
        )?,
    }
    Ok(ExitStatus::Success)
}

fn print_items(printer: &Printer, items: &[String], empty: &str) -> std::io::Result<()> {
    if items.is_empty() {
        printer.note(empty);
        return Ok(());
    }
    printer.lines(items.iter().cloned())
}

/// The endpoint `endpoint` picks (internal preferred), or exit 1 saying why none answered.
fn chosen_endpoint(config: &Config) -> anyhow::Result<Endpoint> {
    let decision = probe::choose(config, probe::Prefer::Internal);
    match decision.chosen {
        Some((_, endpoint)) => Ok(endpoint),
        None => Err(Stop::new(
            ExitStatus::No,
            format!(
                "no registry endpoint answered within {} — give --endpoint EP, or raise --timeout",
                humantime::format_duration(config.timeout.value)
            ),
        )
        .details(decision.reports.iter().map(|report| {
            let role = match report.role {
                Role::Internal => "internal",
                Role::External => "external",
            };
            format!(
                "  {role} {}: {}",
                report.endpoint,
                report.error.as_deref().unwrap_or("no answer")
            )
        }))
        .into()),
    }
}

/// What is being listed, for messages.
struct Listing<'a> {
    endpoint: &'a Endpoint,
    repository: Option<&'a str>,
    /// The stored login's user, if any.
    signed_in: Option<&'a str>,
}

/// Every page from `first` on, sorted, each entry once. Errors are one line for a Stop
/// with status 1.
fn read_pages(
    access: &auth::Access,
    what: &Listing<'_>,
    first: Url,
    deadline: Instant,
) -> Result<Vec<String>, String> {
    let endpoint = what.endpoint;
    let mut items = Vec::new();
    let mut seen = HashSet::new();
    let mut url = first.clone();
    for _ in 0..MAX_PAGES {
        if !seen.insert(url.as_str().to_string()) {
            return Err(crate::text::sanitize_line(&format!(
                "{endpoint}: the registry's pages lead back to {} — the listing would never end",
                url.path()
            )));
        }
        let response = access
            .get(url.clone(), endpoint, deadline)
            .map_err(|e| e.to_string())?;
        check_status(response.status(), what)?;
        let next = next_link(response.headers());
        let body = crate::tls::http::read_body(response, MAX_PAGE_BODY, deadline)
            .map_err(|e| format!("{endpoint}: {}: {e:#}", url.path()))?;
        let page = match what.repository {
            None => serde_json::from_slice::<CatalogPage>(&body).map(|p| p.repositories),
            Some(_) => serde_json::from_slice::<TagsPage>(&body).map(|p| p.tags),
        }
        .map_err(|_| {
            format!(
                "{endpoint}: the answer to {} is not the registry API's JSON",
                url.path()
            )
        })?;
        items.extend(page.unwrap_or_default());
        match next {
            None => {
                // Lexical order, as the distribution spec asks of registries and as
                // `last` pages by; distribution 2.x answers tags in storage order.
                items.sort();
                items.dedup();
                return Ok(items);
            }
            Some(link) => url = same_origin(&first, &url, &link, endpoint)?,
        }
    }
    Err(format!(
        "{endpoint}: more than {MAX_PAGES} pages — give a larger --page-size"
    ))
}

/// A page's status: 200 goes on; the rest is why the listing stops.
fn check_status(status: StatusCode, what: &Listing<'_>) -> Result<(), String> {
    let endpoint = what.endpoint;
    let scope = match what.repository {
        None => "the catalog (registry:catalog:*)".to_string(),
        Some(name) => format!("{name} (repository:{name}:pull)"),
    };
    match status {
        StatusCode::OK => Ok(()),
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Err(match what.signed_in {
            Some(user) => format!(
                "{endpoint}: denied: the registry does not let {user:?} list {scope} — ask its administrator for access, or log in as another user"
            ),
            None => format!(
                "{endpoint}: unauthorized: listing {scope} needs a login and none is stored for this registry — run `docker dcosreg login`"
            ),
        }),
        StatusCode::NOT_FOUND => Err(match what.repository {
            Some(name) => format!("{endpoint}: repository {name} is not in the registry — `docker dcosreg catalog` lists those that are"),
            None => format!("{endpoint}: the registry does not serve the catalog API (GET /v2/_catalog answered 404)"),
        }),
        other => Err(format!("{endpoint}: the registry answered {other} to the listing")),
    }
}

/// The `rel="next"` target of the `Link` headers (RFC 8288 §3), as written.
fn next_link(headers: &reqwest::header::HeaderMap) -> Option<String> {
    headers
        .get_all(reqwest::header::LINK)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(split_links)
        .find(|(_, rels)| {
            rels.split_whitespace()
                .any(|r| r.eq_ignore_ascii_case("next"))
        })
        .map(|(target, _)| target)
}

/// `<a>; rel="next", <b>; rel=prev` → [("a", "next"), ("b", "prev")].
fn split_links(header: &str) -> Vec<(String, String)> {
    let mut links = Vec::new();
    let mut rest = header;
    while let Some(open) = rest.find('<') {
        let Some(close) = rest[open..].find('>').map(|at| open + at) else {
            break;
        };
        let target = rest[open + 1..close].trim().to_string();
        let params_end = rest[close..].find('<').map_or(rest.len(), |at| close + at);
        let params = &rest[close + 1..params_end];
        let rel = params
            .split(';')
            .filter_map(|param| param.split_once('='))
            .find(|(name, _)| name.trim().eq_ignore_ascii_case("rel"))
            .map(|(_, value)| {
                value
                    .trim()
                    .trim_end_matches(',')
                    .trim()
                    .trim_matches('"')
                    .to_string()
            })
            .unwrap_or_default();
        links.push((target, rel));
        rest = &rest[params_end..];
    }
    links
}

/// Resolve the next page's link against the current page, and keep it on the first page's
/// origin (scheme, host, port): the Authorization goes to the registry only.
fn same_origin(first: &Url, current: &Url, link: &str, endpoint: &Endpoint) -> Result<Url, String> {
    let next = current.join(link).map_err(|_| {
        crate::text::sanitize_line(&format!(
            "{endpoint}: the next page's link {link:?} is not a URL"
        ))
    })?;
    let origin = |url: &Url| {
        (
            url.scheme().to_string(),
            url.host_str().map(str::to_ascii_lowercase),
            url.port_or_known_default(),
        )
    };
    if origin(&next) != origin(first) {
        return Err(crate::text::sanitize_line(&format!(
            "{endpoint}: the next page is at {}, not on the registry's own origin — not followed: the login goes to the registry only",
            next.origin().ascii_serialization()
        )));
    }
    Ok(next)
}

/// A repository name as Docker spells it after the registry host (distribution's
/// reference grammar: lower-case path components `[a-z0-9]+` joined by `.`, `_`, `__` or
/// dashes, separated by `/`).
fn parse_repository(text: &str) -> anyhow::Result<String> {
    let hint = if text.contains(':') || text.contains('@') {
        " without :tag or @digest"
    } else {
        ""
    };
    let valid = !text.is_empty() && text.len() <= MAX_NAME && text.split('/').all(valid_component);
    if !valid {
        bail!(
            "{text:?} is not a repository name — give it as Docker spells it after the registry host{hint}, lower case, e.g. team/app"
        );
    }
    Ok(text.to_string())
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`.
fn valid_component(component: &str) -> bool {
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    if !component.starts_with(alnum) || !component.ends_with(alnum) {
        return false;
    }
    let mut separator = String::new();
    for c in component.chars() {
        if alnum(c) {
            let ok = separator.is_empty()
                || separator == "."
                || separator == "_"
                || separator == "__"
                || separator.chars().all(|s| s == '-');
            if !ok {
                return false;
            }
            separator.clear();
        } else if matches!(c, '.' | '_' | '-') {
            separator.push(c);
        } else {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_names_follow_the_reference_grammar() {
        for good in ["app", "team/app", "a.b_c__d--e/f-g", "x/y/z", "0ab"] {
            assert_eq!(parse_repository(good).unwrap(), good);
        }
        for bad in [
            "",
            "App",
            "team/app:1",
            "app@sha256:00",
            "/app",
            "app/",
            "a//b",
            "a..b",
            "a___b",
            "-a",
            "a.",
            "a b",
            "a._b",
        ] {
            let err = parse_repository(bad).unwrap_err().to_string();
            assert!(err.contains("is not a repository name —"), "{bad:?}: {err}");
        }
        assert!(parse_repository("app:1")
            .unwrap_err()
            .to_string()
            .contains("without :tag"));
        assert!(parse_repository(&"a".repeat(256)).is_err());
    }

    #[test]
    fn link_headers_give_the_next_page() {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.append(
            reqwest::header::LINK,
            r#"</v2/_catalog?last=b&n=2>; rel="next""#.parse().unwrap(),
        );
        assert_eq!(
            next_link(&headers).as_deref(),
            Some("/v2/_catalog?last=b&n=2")
        );
        assert_eq!(
            split_links(r#"<a>; rel=prev, <b?x=1,2>; title="t"; rel="next""#),
            vec![
                ("a".into(), "prev".into()),
                ("b?x=1,2".into(), "next".into())
            ]
        );
        assert!(next_link(&reqwest::header::HeaderMap::new()).is_none());
    }

    #[test]
    fn next_pages_stay_on_the_registry_s_origin() {
        let endpoint: Endpoint = "10.0.0.1:5000".parse().unwrap();
        let first = Url::parse("https://10.0.0.1:5000/v2/_catalog?n=1").unwrap();
        let next = same_origin(&first, &first, "/v2/_catalog?last=a&n=1", &endpoint).unwrap();
        assert_eq!(
            next.as_str(),
            "https://10.0.0.1:5000/v2/_catalog?last=a&n=1"
        );
        for elsewhere in [
            "https://10.0.0.2:5000/v2/_catalog?last=a",
            "http://10.0.0.1:5000/v2/_catalog?last=a",
            "https://10.0.0.1/v2/_catalog?last=a",
            "//evil.example/v2/_catalog",
        ] {
            let err = same_origin(&first, &first, elsewhere, &endpoint).unwrap_err();
            assert!(err.contains("not followed"), "{elsewhere}: {err}");
        }
        let default_port = Url::parse("https://registry.example/v2/_catalog").unwrap();
        let host: Endpoint = "registry.example".parse().unwrap();
        assert!(same_origin(
            &default_port,
            &default_port,
            "https://REGISTRY.example:443/v2/_catalog?last=x",
            &host
        )
        .is_ok());
    }
}
