//! Which stored credential a server URL means.
//!
//! Docker hands a credential helper the registry as the image reference spells it
//! (`192.168.0.1`, `192.168.0.1:443`, `192.168.1.50:5000`), `docker login` may add
//! `https://` and a path, and other clients send `https://host/v2/`. All of them name one
//! [`Endpoint`]; the configured internal and external endpoints are one registry, so
//! they share one key: a single login serves the VIP and Marathon-LB alike.

use crate::config::Config;
use crate::endpoint::{Endpoint, EndpointError};

/// The endpoint a server URL names: scheme and path are dropped, the port defaults to 443.
pub(crate) fn endpoint_of(server_url: &str) -> Result<Endpoint, EndpointError> {
    let text = server_url.trim();
    let without_scheme = ["https://", "http://"]
        .iter()
        .find_map(|scheme| {
            text.get(..scheme.len())
                .filter(|head| head.eq_ignore_ascii_case(scheme))
                .map(|_| &text[scheme.len()..])
        })
        .unwrap_or(text);
    let host = without_scheme
        .split(['/', '?', '#'])
        .next()
        .unwrap_or(without_scheme);
    host.parse()
}

/// Whether `endpoint` is the configured registry (internal or external endpoint).
pub(crate) fn is_configured(config: &Config, endpoint: &Endpoint) -> bool {
    config.endpoints().contains(endpoint)
}

/// The one key a credential is stored under: the internal endpoint's `host:port` for every
/// spelling of either configured endpoint, else the endpoint's own `host:port`.
pub(crate) fn canonical(config: &Config, endpoint: &Endpoint) -> String {
    if is_configured(config, endpoint) {
        config.internal.value.host_port()
    } else {
        endpoint.host_port()
    }
}

/// The registry spellings Docker may look a credential up by: `host` and `host:443` for
/// port 443, else `host:port` (the same names as certs.d).
pub(crate) fn spellings(endpoint: &Endpoint) -> Vec<String> {
    endpoint.certs_d_names()
}

/// Every spelling of every endpoint, in order, without repeats.
pub(crate) fn all_spellings(endpoints: &[Endpoint]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for endpoint in endpoints {
        for name in spellings(endpoint) {
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(s: &str) -> Endpoint {
        s.parse().unwrap()
    }

    #[test]
    fn every_url_form_names_the_endpoint() {
        for (url, want) in [
            ("192.168.0.1", "192.168.0.1:443"),
            ("192.168.0.1:443", "192.168.0.1:443"),
            ("https://192.168.0.1", "192.168.0.1:443"),
            ("https://192.168.0.1/", "192.168.0.1:443"),
            ("https://192.168.0.1:443/v2/", "192.168.0.1:443"),
            ("HTTPS://192.168.0.1/v1/", "192.168.0.1:443"),
            ("http://192.168.1.50:5000", "192.168.1.50:5000"),
            ("192.168.1.50:5000/v2/library/x", "192.168.1.50:5000"),
            (
                "  registry.marathon.l4lb.thisdcos.directory\n",
                "registry.marathon.l4lb.thisdcos.directory:443",
            ),
            ("https://[fd00::1]:5000/v2/", "[fd00::1]:5000"),
        ] {
            assert_eq!(endpoint_of(url).unwrap().host_port(), want, "{url:?}");
        }
        for bad in ["", "https://", "ftp://x", "https://bad host/"] {
            assert!(endpoint_of(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn spellings_are_the_certs_d_names() {
        assert_eq!(
            all_spellings(&[
                ep("192.168.0.1"),
                ep("192.168.1.50:5000"),
                ep("192.168.0.1:443")
            ]),
            vec!["192.168.0.1", "192.168.0.1:443", "192.168.1.50:5000"]
        );
    }
}
