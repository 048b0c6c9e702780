//! Which image references name a registry endpoint, per Docker's reference grammar.
//!
//! distribution/reference `splitDockerDomain` (normalize.go): the part before the first `/`
//! is a registry host only when it contains `.` or `:`, is `localhost`, or has an upper-case
//! letter; otherwise the name lives on Docker Hub (`192.168.0.1` alone is the Hub image
//! `library/192.168.0.1`). A host names an endpoint when both parse to the same
//! [`Endpoint`]: `h` equals `h:443`, DNS names compare case-insensitively, and lookalikes
//! (`192.168.0.10`, `192.168.0.1.nip.io`, `192.168.0.1:5000`) are different endpoints.

use crate::endpoint::Endpoint;

/// `splitDockerDomain`'s test on the first path component.
pub(crate) fn is_registry_component(component: &[u8]) -> bool {
    component.contains(&b'.')
        || component.contains(&b':')
        || component == b"localhost"
        || component.iter().any(u8::is_ascii_uppercase)
}

/// The bytes a reference's domain can be made of (`domain-name [":" port]`, or an IPv6
/// literal in brackets). Anything else cannot be a registry Docker would contact.
fn is_domain_text(host: &[u8]) -> bool {
    !host.is_empty()
        && host
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
}

/// Whether `host` (a reference's domain, or a whole `ARG REGISTRY=` value) is `endpoint`.
pub(crate) fn names_endpoint(host: &[u8], endpoint: &Endpoint) -> bool {
    is_domain_text(host)
        && std::str::from_utf8(host)
            .ok()
            .and_then(|text| text.parse::<Endpoint>().ok())
            .is_some_and(|parsed| &parsed == endpoint)
}

/// For a literal reference (no variables): the length of its domain when the domain is
/// `endpoint`.
pub(crate) fn endpoint_domain_len(reference: &[u8], endpoint: &Endpoint) -> Option<usize> {
    let slash = reference.iter().position(|&b| b == b'/')?;
    let domain = &reference[..slash];
    (is_registry_component(domain) && names_endpoint(domain, endpoint)).then_some(slash)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(s: &str) -> Endpoint {
        s.parse().unwrap()
    }

    #[test]
    fn domains_follow_docker_and_lookalikes_never_match() {
        let vip = ep("192.168.0.1");
        assert_eq!(endpoint_domain_len(b"192.168.0.1/base/x", &vip), Some(11));
        assert_eq!(
            endpoint_domain_len(b"192.168.0.1:443/base/x", &vip),
            Some(15)
        );
        for other in [
            &b"192.168.0.10/x"[..],
            b"192.168.0.1.nip.io/x",
            b"192.168.0.1:5000/x",
            b"192.168.0.1",
            b"192.168.0.1:443",
            b"docker.io/192.168.0.1/x",
            b"x/192.168.0.1/y",
        ] {
            assert_eq!(
                endpoint_domain_len(other, &vip),
                None,
                "{}",
                String::from_utf8_lossy(other)
            );
        }
        let lb = ep("192.168.1.50:5000");
        assert_eq!(endpoint_domain_len(b"192.168.1.50:5000/x", &lb), Some(17));
        assert_eq!(endpoint_domain_len(b"192.168.1.50/x", &lb), None);
        let dns = ep("Registry.Example");
        assert_eq!(
            endpoint_domain_len(b"REGISTRY.example:443/x", &dns),
            Some(20)
        );
        let local = ep("localhost");
        assert_eq!(endpoint_domain_len(b"localhost/x", &local), Some(9));
        let bare = ep("myreg");
        assert_eq!(
            endpoint_domain_len(b"myreg/x", &bare),
            None,
            "a Docker Hub user"
        );
        assert_eq!(endpoint_domain_len(b"MyReg/x", &bare), Some(5));
        let v6 = ep("[fd00::1]:5000");
        assert_eq!(endpoint_domain_len(b"[fd00::1]:5000/x", &v6), Some(14));
        assert!(!names_endpoint(b" 192.168.0.1", &vip));
    }
}
