//! Where Docker 28's Go (1.24.3) differs from Go's current crypto/x509, and the URI SAN
//! forms `net/url` parses in ways a simple parser would not, each judged by our `check` and
//! by the real docker CLI against a `docker-registry` in a network namespace:
//! - a wildcard SAN under an excluded subdomain is not excluded (Go 1.24.11 and 1.25.5
//!   added that rule);
//! - a hostname error lists every SAN (Go 1.24.11 summarises more than 100);
//! - a CA's name constraints apply to the SANs of every certificate below it in the chain,
//!   not to its own;
//! - URI SANs: a control character in the fragment, zone escapes, ports, uppercase schemes
//!   (quoted as `URL.String()` prints them), `net.SplitHostPort` errors, and which of the
//!   host or the userinfo fails first.

mod support;

use rcgen::{CustomExtension, SanType};
use support::certs::Spec;
use support::oracle::{documented, judge_in_netns, Reading, Report, Served, Trust, Verdict};
use support::require_tool;

struct Material {
    chain: String,
    key: String,
    trust: String,
}

impl Material {
    /// What is served and installed: the root as ca.crt.
    fn served(self) -> Served {
        Served {
            chain: self.chain,
            key: self.key,
            trust: vec![("ca.crt".to_string(), self.trust.into_bytes())],
        }
    }
}

/// A name in a SAN or a constraint: (GeneralName context tag, value).
type Name = (u8, &'static str);
const EMAIL: u8 = 0x81;
const DNS: u8 = 0x82;
const URI: u8 = 0x86;

struct Case {
    name: &'static str,
    /// The root's permitted and excluded subtrees.
    permitted: &'static [Name],
    excluded: &'static [Name],
    /// SANs of the root itself and of an intermediate (None: no intermediate).
    root_sans: &'static [Name],
    intermediate_sans: Option<&'static [Name]>,
    /// The leaf's SANs besides the registry's IP address.
    leaf_sans: &'static [Name],
    /// IP SANs that replace the registry's address in the leaf: (address, how many).
    leaf_ips: Option<(&'static str, usize)>,
    /// A certificate Go cannot parse is served after the leaf (the leaf's extra SANs
    /// go to it): the registry (Go 1.19) parses only its own leaf, the client all.
    unparsable_extra: bool,
    /// What the docker CLI 28.2.2 says (a prefix); None = trusted.
    go: Option<&'static str>,
}

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let n = content.len();
    if n < 0x80 {
        out.push(n as u8);
    } else {
        out.extend([0x81, n as u8]);
    }
    out.extend_from_slice(content);
    out
}

fn name_constraints(permitted: &[Name], excluded: &[Name]) -> CustomExtension {
    let subtrees = |tag: u8, names: &[Name]| {
        let inner: Vec<u8> = names
            .iter()
            .flat_map(|(t, v)| tlv(0x30, &tlv(*t, v.as_bytes())))
            .collect();
        tlv(tag, &inner)
    };
    let mut body = Vec::new();
    if !permitted.is_empty() {
        body.extend(subtrees(0xa0, permitted));
    }
    if !excluded.is_empty() {
        body.extend(subtrees(0xa1, excluded));
    }
    let mut ext = CustomExtension::from_oid_content(&[2, 5, 29, 30], tlv(0x30, &body));
    ext.set_criticality(true);
    ext
}

fn san(name: &Name) -> SanType {
    let ia5 = |v: &str| v.to_string().try_into().expect("IA5 string");
    match name.0 {
        EMAIL => SanType::Rfc822Name(ia5(name.1)),
        DNS => SanType::DnsName(ia5(name.1)),
        URI => SanType::URI(ia5(name.1)),
        t => panic!("SAN tag {t:#x}"),
    }
}

fn ca(name: &str, sans: &[Name]) -> Spec {
    Spec::ca(name)
        .cert_sign()
        .edit(|p| p.subject_alt_names = sans.iter().map(san).collect())
}

fn leaf(ip: &str, sans: &[Name]) -> Spec {
    Spec::server(&[ip]).edit(|p| p.subject_alt_names.extend(sans.iter().map(san)))
}

fn build(case: &Case, ip: &str) -> Material {
    let mut root = ca("Go 1.24 Root", case.root_sans);
    if !case.permitted.is_empty() || !case.excluded.is_empty() {
        root.custom_extensions = vec![name_constraints(case.permitted, case.excluded)];
    }
    let root = root.self_signed();
    let intermediate = case
        .intermediate_sans
        .map(|sans| ca("Go 1.24 Intermediate", sans).signed_by(&root));
    let issuer = intermediate.as_ref().unwrap_or(&root);
    let (own_sans, extra_sans) = if case.unparsable_extra {
        (&[][..], case.leaf_sans)
    } else {
        (case.leaf_sans, &[][..])
    };
    let mut leaf_spec = leaf(ip, own_sans);
    if let Some((addr, n)) = case.leaf_ips {
        let ip: std::net::IpAddr = addr.parse().expect("IP");
        leaf_spec = leaf_spec.edit(|p| {
            p.subject_alt_names
                .retain(|s| !matches!(s, SanType::IpAddress(_)));
            p.subject_alt_names
                .extend(std::iter::repeat_n(SanType::IpAddress(ip), n));
        });
    }
    let leaf_cert = leaf_spec.signed_by(issuer);
    let mut chain = leaf_cert.pem();
    if let Some(int) = &intermediate {
        chain.push_str(&int.pem());
    }
    if !extra_sans.is_empty() {
        chain.push_str(&leaf(ip, extra_sans).signed_by(issuer).pem());
    }
    Material {
        chain,
        key: leaf_cert.key_pem(),
        trust: root.pem(),
    }
}

fn cases() -> Vec<Case> {
    let base = Case {
        name: "",
        permitted: &[],
        excluded: &[],
        root_sans: &[],
        intermediate_sans: None,
        leaf_sans: &[],
        leaf_ips: None,
        unparsable_extra: false,
        go: None,
    };
    vec![
        Case {
            name: "excluded foo.example.com does not exclude a *.example.com SAN",
            excluded: &[(DNS, "foo.example.com")],
            leaf_sans: &[(DNS, "*.example.com")],
            ..base
        },
        Case {
            name: "excluded example.com excludes *.example.com (label by label)",
            excluded: &[(DNS, "example.com")],
            leaf_sans: &[(DNS, "*.example.com")],
            go: Some("x509: a root or intermediate certificate is not authorized to sign for this name: DNS name \"*.example.com\" is excluded by constraint \"example.com\""),
            ..base
        },
        Case {
            name: "the root's constraint applies to the intermediate's own SAN",
            permitted: &[(DNS, "example.com")],
            intermediate_sans: Some(&[(DNS, "int.other.test")]),
            go: Some("x509: a root or intermediate certificate is not authorized to sign for this name: DNS name \"int.other.test\" is not permitted by any constraint"),
            ..base
        },
        Case {
            name: "the root's constraint does not apply to its own SAN",
            permitted: &[(DNS, "example.com")],
            root_sans: &[(DNS, "root.other.test")],
            intermediate_sans: Some(&[]),
            ..base
        },
        Case {
            name: "a dNSName SAN with a leading dot under a DNS constraint",
            permitted: &[(DNS, "example.com")],
            leaf_sans: &[(DNS, ".example.com")],
            go: Some("x509: cannot parse dnsName \".example.com\""),
            ..base
        },
        Case {
            name: "150 IP SANs, none the registry's: Go 1.24.3 lists them all",
            leaf_ips: Some(("4.3.2.1", 150)),
            go: Some("x509: certificate is valid for 4.3.2.1, 4.3.2.1, 4.3.2.1"),
            ..base
        },
        Case {
            name: "an empty dNSName SAN under an excluded DNS constraint",
            excluded: &[(DNS, "example.com")],
            leaf_sans: &[(DNS, "")],
            ..base
        },
        Case {
            name: "an rfc822Name SAN with two @ under an email constraint",
            excluded: &[(EMAIL, "example.com")],
            leaf_sans: &[(EMAIL, "a@b@c.com")],
            ..base
        },
        Case {
            name: "URI SAN with an IPv6 zone and a port under a URI constraint",
            permitted: &[(URI, "example.com")],
            leaf_sans: &[(URI, "spiffe://[fe80::1%25en0]:16/")],
            go: Some("x509: a root or intermediate certificate is not authorized to sign for this name: URI with IP (\"spiffe://[fe80::1%25en0]:16/\") cannot be matched against constraints"),
            ..base
        },
        Case {
            name: "URI SAN with a control character in its fragment parses",
            leaf_sans: &[(URI, "spiffe://reg.example.com/x#\u{1}")],
            ..base
        },
        Case {
            name: "URI SAN with an escaped zone in a bracketed host parses",
            leaf_sans: &[(URI, "spiffe://[fe80::1%25en%30]/x")],
            ..base
        },
        Case {
            name: "URI SAN with a port, under a URI constraint",
            permitted: &[(URI, "example.com")],
            leaf_sans: &[(URI, "spiffe://reg.example.com:8443/x")],
            ..base
        },
        Case {
            name: "URI SAN with an uppercase scheme and an IP host: Go quotes URL.String()",
            permitted: &[(URI, "example.com")],
            leaf_sans: &[(URI, "HTTPS://10.1.2.3/a%41")],
            go: Some("x509: a root or intermediate certificate is not authorized to sign for this name: URI with IP (\"https://10.1.2.3/a%41\") cannot be matched against constraints"),
            ..base
        },
        Case {
            name: "URI SAN with escaped userinfo and a space in the path: URL.String() re-escapes",
            permitted: &[(URI, "example.com")],
            leaf_sans: &[(URI, "spiffe://us%41er:p%40ss@10.1.2.3/a b?q=%zz#f g")],
            go: Some("x509: a root or intermediate certificate is not authorized to sign for this name: URI with IP (\"spiffe://usAer:p%40ss@10.1.2.3/a%20b?q=%zz#f%20g\") cannot be matched against constraints"),
            ..base
        },
        Case {
            name: "opaque URI SAN with an uppercase scheme under a URI constraint",
            excluded: &[(URI, "example.com")],
            leaf_sans: &[(URI, "URN:Example:x")],
            go: Some("x509: a root or intermediate certificate is not authorized to sign for this name: URI with empty host (\"urn:Example:x\") cannot be matched against constraints"),
            ..base
        },
        Case {
            name: "URI SAN whose host has two colons: net.SplitHostPort's error",
            permitted: &[(URI, "example.com")],
            leaf_sans: &[(URI, "spiffe://a:b:1/x")],
            go: Some("x509: a root or intermediate certificate is not authorized to sign for this name: address a:b:1: too many colons in address"),
            ..base
        },
        Case {
            name: "URI SAN with a bad userinfo and a bad host: the host's error wins",
            leaf_sans: &[(URI, "spiffe://us er@%zz/")],
            unparsable_extra: true,
            go: Some("tls: failed to parse certificate from server: x509: cannot parse URI \"spiffe://us er@%zz/\": parse \"spiffe://us er@%zz/\": invalid URL escape \"%zz\""),
            ..base
        },
        Case {
            name: "URI SAN with an escaped ASCII byte in the host",
            leaf_sans: &[(URI, "spiffe://reg%2Eexample.com/")],
            unparsable_extra: true,
            go: Some("tls: failed to parse certificate from server: x509: cannot parse URI \"spiffe://reg%2Eexample.com/\": parse \"spiffe://reg%2Eexample.com/\": invalid URL escape \"%2E\""),
            ..base
        },
        Case {
            name: "URI SAN with a control character before the fragment",
            leaf_sans: &[(URI, "spiffe://reg.example.com/\u{1}#f")],
            unparsable_extra: true,
            go: Some("tls: failed to parse certificate from server: x509: cannot parse URI \"spiffe://reg.example.com/\\x01#f\": parse \"spiffe://reg.example.com/\\x01\": net/url: invalid control character in URL"),
            ..base
        },
    ]
}

#[test]
fn uri_sans_and_go_1_24_name_constraints_agree_with_docker_28() {
    require_tool("docker-registry");
    let cases = cases();
    let results = judge_in_netns(
        &cases,
        22_000,
        Trust::CaFile("ca.crt"),
        Reading::Lenient,
        |case, ip, _dir| build(case, ip).served(),
    );
    let mut report = Report::default();
    for (case, (ours, docker)) in cases.iter().zip(&results) {
        // The oracle's text loses its closing quotes (support's go_verdict trims them).
        let agree = match (ours, docker) {
            (Verdict::Refused(o), Verdict::Refused(d)) => {
                o.trim_end_matches(['"', '\\']) == d.as_str()
            }
            _ => ours == docker,
        };
        let go = case.go.map(|prefix| prefix.trim_end_matches(['"', '\\']));
        let documented = documented(docker, go);
        report.row(agree && documented, case.name, ours, docker);
    }
    report.finish();
}
