//! Registry endpoints: `HOST[:PORT]` as docs/cli.md defines them.
//!
//! Docker names a registry by `host[:port]` and looks for trust in
//! `certs.d/<host[:port]>/`; a missing port means 443. Two spellings of the same
//! endpoint (`192.168.0.1` and `192.168.0.1:443`, `Registry.Example` and
//! `registry.example`) compare equal, but we keep the user's spelling for output.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};
use std::str::FromStr;

pub(crate) const DEFAULT_PORT: u16 = 443;

/// The host part of an endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Host {
    Ip(IpAddr),
    /// A DNS name, lower-cased (DNS is case-insensitive).
    Dns(String),
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]"),
            Host::Ip(ip) => write!(f, "{ip}"),
            Host::Dns(name) => f.write_str(name),
        }
    }
}

/// A registry endpoint.
#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    pub(crate) host: Host,
    pub(crate) port: u16,
    /// Whether the user wrote the port (`h:443`) or left it implicit (`h`).
    pub(crate) explicit_port: bool,
    /// The spelling the user gave, for output (`REGISTRY=$(docker dcosreg endpoint)`).
    spelled: String,
}

impl PartialEq for Endpoint {
    fn eq(&self, other: &Self) -> bool {
        self.host == other.host && self.port == other.port
    }
}
impl Eq for Endpoint {}

impl std::hash::Hash for Endpoint {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.host.hash(state);
        self.port.hash(state);
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.spelled)
    }
}

impl Endpoint {
    /// `host:port`, always with the port, for dialing and for messages.
    pub(crate) fn host_port(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// The directory names Docker may look up under certs.d for this endpoint.
    /// Docker uses the reference's host verbatim, so a 443 endpoint can be
    /// written either way by users: both names are installed and checked.
    pub(crate) fn certs_d_names(&self) -> Vec<String> {
        if self.port == DEFAULT_PORT {
            vec![
                self.host.to_string(),
                format!("{}:{}", self.host, self.port),
            ]
        } else {
            vec![self.host_port()]
        }
    }

    /// The host as the user spelled it, without brackets or port: what Go's TLS client is
    /// given as `ServerName` and prints in its hostname errors (`OTHER.Example.com`,
    /// `fd00:0::1`).
    pub(crate) fn dialled_host(&self) -> String {
        match split_host_port(&self.spelled) {
            Ok((host, _)) => host.to_string(),
            Err(_) => self.host.to_string(),
        }
    }

    /// The registry part of an image reference, as Docker would print it.
    pub(crate) fn reference_host(&self) -> String {
        if self.explicit_port {
            self.host_port()
        } else {
            self.host.to_string()
        }
    }
}

/// Why a string is not an endpoint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum EndpointError {
    #[error("endpoint is empty — give HOST[:PORT], e.g. 192.168.0.1 or 192.168.1.50:5000")]
    Empty,
    #[error("endpoint {0:?} has a URL scheme — give HOST[:PORT] only, e.g. 192.168.1.50:5000")]
    Scheme(String),
    #[error("endpoint {0:?} has a path — give HOST[:PORT] only, without '/'")]
    Path(String),
    #[error("endpoint {0:?} has an invalid port — use a number from 1 to 65535")]
    Port(String),
    #[error("endpoint {0:?} is not a valid IP address or DNS name — give HOST[:PORT]; IPv6 goes in brackets: [fd00::1]:5000")]
    Host(String),
}

impl FromStr for Endpoint {
    type Err = EndpointError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let s = input.trim();
        if s.is_empty() {
            return Err(EndpointError::Empty);
        }
        if s.contains("://") {
            return Err(EndpointError::Scheme(s.to_string()));
        }
        if s.contains('/') {
            return Err(EndpointError::Path(s.to_string()));
        }
        let (host_text, port_text) = split_host_port(s)?;
        let host = parse_host(host_text).ok_or_else(|| EndpointError::Host(s.to_string()))?;
        let port = match port_text {
            None => DEFAULT_PORT,
            Some(p) => match p.parse::<u16>() {
                Ok(port) if port != 0 && p.bytes().all(|b| b.is_ascii_digit()) => port,
                _ => return Err(EndpointError::Port(s.to_string())),
            },
        };
        Ok(Endpoint {
            host,
            port,
            explicit_port: port_text.is_some(),
            spelled: s.to_string(),
        })
    }
}

fn split_host_port(s: &str) -> Result<(&str, Option<&str>), EndpointError> {
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| EndpointError::Host(s.to_string()))?;
        return match after {
            "" => Ok((host, None)),
            _ => match after.strip_prefix(':') {
                Some(port) => Ok((host, Some(port))),
                None => Err(EndpointError::Host(s.to_string())),
            },
        };
    }
    // A bare IPv6 literal has several colons and no port.
    if s.parse::<Ipv6Addr>().is_ok() {
        return Ok((s, None));
    }
    match s.rsplit_once(':') {
        Some((host, port)) => Ok((host, Some(port))),
        None => Ok((s, None)),
    }
}

fn parse_host(text: &str) -> Option<Host> {
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(Host::Ip(ip));
    }
    is_dns_name(text).then(|| Host::Dns(text.to_ascii_lowercase()))
}

/// RFC 1123 host names (underscore tolerated, as Docker's reference grammar does not
/// forbid it in practice), and not something that only looks like a broken IPv4 address.
/// A dotted quad with a leading zero (`010.1.2.3`) is a name: Go's `net.ParseIP` refuses
/// leading zeros since Go 1.17, so Docker resolves and verifies it as a DNS name.
fn is_dns_name(text: &str) -> bool {
    let name = text.strip_suffix('.').unwrap_or(text);
    if name.is_empty() || name.len() > 253 {
        return false;
    }
    let labels_ok = name.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    });
    let all_numeric = name
        .split('.')
        .all(|label| label.bytes().all(|b| b.is_ascii_digit()));
    let quad_with_leading_zero = {
        let parts: Vec<&str> = name.split('.').collect();
        parts.len() == 4
            && parts
                .iter()
                .all(|p| (1..=3).contains(&p.len()) && p.parse::<u16>().is_ok_and(|v| v <= 255))
            && parts.iter().any(|p| p.len() > 1 && p.starts_with('0'))
    };
    labels_ok && (!all_numeric || quad_with_leading_zero)
}

/// Whether `entry` is a CIDR (`10.0.0.0/8`) that contains `ip`, as Docker reads
/// `insecure-registries` (moby `registry/config.go`: Go's `net.ParseCIDR`, then
/// `IPNet.Contains`). Written here rather than with the `ipnet` crate because its parser
/// disagrees with Go's: it takes octets with leading zeros (`192.168.000.0/16`, which Go
/// refuses) and refuses a prefix length with them (`/016`, which Go takes).
pub(crate) fn cidr_contains(entry: &str, ip: IpAddr) -> bool {
    let Some((net, bits)) = entry.split_once('/') else {
        return false;
    };
    // Go's `dtoi`: ASCII digits only, leading zeros allowed, no sign.
    if bits.is_empty() || !bits.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let (Ok(net), Ok(bits)) = (net.parse::<IpAddr>(), bits.parse::<u32>()) else {
        return false;
    };
    let mask4 = |bits: u32| u32::MAX.checked_shl(32 - bits).unwrap_or(0);
    // Go compares an IPv4 or IPv4-mapped address in its 4-byte form (`IP.To4`), and an
    // IPv4-mapped network with the last 32 bits of its mask.
    let to4 = |ip: IpAddr| match ip {
        IpAddr::V4(v4) => Some(v4),
        IpAddr::V6(v6) => v6.to_ipv4_mapped(),
    };
    let (net4, bits4) = match net {
        IpAddr::V4(v4) if bits <= 32 => (Some(v4), bits),
        IpAddr::V6(v6) if bits <= 128 => (v6.to_ipv4_mapped(), bits.saturating_sub(96)),
        _ => return false,
    };
    match (net4, to4(ip), net, ip) {
        (Some(net), Some(ip), _, _) => {
            u32::from(net) & mask4(bits4) == u32::from(ip) & mask4(bits4)
        }
        (None, None, IpAddr::V6(net), IpAddr::V6(ip)) => {
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            u128::from(net) & mask == u128::from(ip) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(s: &str) -> Endpoint {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn default_port_is_443_and_spellings_compare_equal() {
        assert_eq!(ep("192.168.0.1"), ep("192.168.0.1:443"));
        assert_eq!(ep("192.168.0.1").port, 443);
        assert_eq!(ep("Registry.Example.COM"), ep("registry.example.com:443"));
        assert_ne!(ep("192.168.0.1"), ep("192.168.0.1:5000"));
        assert_eq!(ep("192.168.1.50:5000").to_string(), "192.168.1.50:5000");
    }

    #[test]
    fn ipv6_needs_brackets_for_a_port() {
        let e = ep("[fd00::1]:5000");
        assert_eq!(e.host, Host::Ip("fd00::1".parse().unwrap()));
        assert_eq!(e.port, 5000);
        assert_eq!(e.host_port(), "[fd00::1]:5000");
        assert_eq!(ep("[::1]").port, 443);
        assert_eq!(ep("::1"), ep("[::1]:443"));
    }

    #[test]
    fn certs_d_names_cover_both_forms_for_443() {
        assert_eq!(
            ep("192.168.0.1").certs_d_names(),
            vec!["192.168.0.1", "192.168.0.1:443"]
        );
        assert_eq!(
            ep("192.168.1.50:5000").certs_d_names(),
            vec!["192.168.1.50:5000"]
        );
    }

    #[test]
    fn nonsense_is_rejected() {
        for bad in [
            "",
            "  ",
            "http://192.168.0.1",
            "https://x:5000",
            "192.168.0.1/v2",
            "host:0",
            "host:65536",
            "host:-1",
            "host:+5",
            "host:",
            "[fd00::1",
            "[fd00::1]x",
            "bad host",
            "-lead.example",
            "999.1.1.1",
            "a..b",
        ] {
            assert!(bad.parse::<Endpoint>().is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn a_dotted_quad_with_a_leading_zero_is_a_dns_name_as_in_go() {
        assert_eq!(ep("010.1.2.3").host, Host::Dns("010.1.2.3".into()));
        assert_eq!(
            ep("OTHER.Example.com:5000").dialled_host(),
            "OTHER.Example.com"
        );
        assert_eq!(ep("[fd00:0::1]:5000").dialled_host(), "fd00:0::1");
    }

    #[test]
    fn names_and_ports_are_accepted() {
        for good in [
            "localhost",
            "registry.marathon.mesos",
            "x:65535",
            "my_host:1",
            "127.0.0.2:443",
        ] {
            assert!(good.parse::<Endpoint>().is_ok(), "{good:?} was rejected");
        }
    }

    #[test]
    fn cidrs_match_like_docker() {
        let ip = "192.168.1.50".parse().unwrap();
        assert!(cidr_contains("192.168.0.0/16", ip));
        assert!(cidr_contains("0.0.0.0/0", ip));
        assert!(!cidr_contains("192.168.0.0/24", ip));
        assert!(!cidr_contains("192.168.1.50", ip));
        assert!(!cidr_contains("fd00::/8", ip));
        assert!(cidr_contains("fd00::/8", "fd00::1".parse().unwrap()));
        // Go's ParseCIDR: leading zeros in the length, not in an octet; no sign.
        assert!(cidr_contains("192.168.0.0/016", ip));
        assert!(!cidr_contains("192.168.000.0/16", ip));
        assert!(!cidr_contains("192.168.0.0/+16", ip));
        assert!(!cidr_contains("192.168.0.0/", ip));
        assert!(!cidr_contains("192.168.0.0/33", ip));
        // IPNet.Contains: IPv4-mapped networks and addresses compare as IPv4.
        assert!(cidr_contains("::ffff:192.168.0.0/112", ip));
        assert!(!cidr_contains("::ffff:192.168.0.0/120", ip));
        assert!(cidr_contains(
            "192.168.0.0/16",
            "::ffff:192.168.1.50".parse().unwrap()
        ));
        assert!(!cidr_contains("::/0", ip));
    }
}
