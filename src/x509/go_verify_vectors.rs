//! Go's verify_test.go, the parts that apply to a TLS client that always asks for
//! serverAuth: `TestPathBuilding` (trust graphs and the chains found), `TestEKUEnforcement`,
//! `TestVerifyEKURootAsLeaf`, `TestValidHostname`, `TestVerifyBareWildcard`, and the
//! situations of the `verifyTests` table rebuilt with our own certificates (Go's table
//! uses recorded real-world certificates; we rebuild each situation: the fully qualified
//! and mixed-case host, a mismatch, an IP host without IP SANs, expiry, a missing
//! intermediate, a root sent as intermediate, an unknown signature algorithm, an
//! email-only leaf, a leaf that is itself a root, a CN ignored beside SANs, excluded names,
//! unknown critical extensions, the legacy CN, and many names in a hostname error).
//! Source: <https://github.com/golang/go/blob/master/src/crypto/x509/verify_test.go>.
//! Not applicable: cases that request other key usages, code constraints
//! (`AddCertWithConstraint`, which no Docker pool uses) and the platform verifiers.

use std::collections::HashMap;

use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use rustls_pki_types::CertificateDer;

use super::anchors::Anchors;
use super::cert::Cert;
use super::go_vectors::{copy_key, eku, general_name, name_constraints, tlv, Spec};
use super::verify::{check_hostname, valid_hostname, verify_options};
use crate::endpoint::Host;

fn now() -> i128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_nanos() as i128
}

fn parse(der: &CertificateDer<'_>) -> Cert {
    Cert::parse(der).expect("our certificate parses")
}

/// Verify `leaf` with `roots` and `intermediates` (DER), optionally for a host; the
/// chains found as Go's `chainsToStrings` prints them, sorted.
fn verify_ders(
    leaf: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'static>],
    roots: &[CertificateDer<'static>],
    host: Option<(&Host, &str)>,
    at: i128,
) -> Result<Vec<String>, String> {
    let anchors = Anchors::from_ders(roots);
    let leaf = parse(leaf);
    let inters: Vec<Cert> = intermediates.iter().map(parse).collect();
    let refs: Vec<&Cert> = inters.iter().collect();
    let chains = verify_options(&leaf, &refs, &anchors.certs, host, at).map_err(|e| e.message)?;
    let mut out: Vec<String> = chains
        .iter()
        .map(|chain| {
            chain
                .iter()
                .map(|c| c.subject.clone())
                .collect::<Vec<_>>()
                .join(" -> ")
        })
        .collect();
    out.sort();
    Ok(out)
}

// --- TestPathBuilding ---

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Intermediate,
    Leaf,
}

/// What a `MutateTemplate` of Go's table does.
#[derive(Clone, Copy)]
enum Mutate {
    None,
    Ekus(&'static [&'static str]),
    DnsNames(&'static [&'static str]),
    PermittedDnsAndNames(&'static [&'static str], &'static [&'static str]),
}

struct Edge {
    issuer: &'static str,
    subject: &'static str,
    kind: Kind,
    mutate: Mutate,
}

const fn edge(issuer: &'static str, subject: &'static str, kind: Kind) -> Edge {
    Edge {
        issuer,
        subject,
        kind,
        mutate: Mutate::None,
    }
}

const fn mutated(issuer: &'static str, subject: &'static str, kind: Kind, mutate: Mutate) -> Edge {
    Edge {
        issuer,
        subject,
        kind,
        mutate,
    }
}

struct Graph {
    name: &'static str,
    root_mutate: Mutate,
    leaf: &'static str,
    edges: &'static [Edge],
    chains: &'static [&'static str],
    error: &'static str,
}

use Kind::{Intermediate as I, Leaf as L};

const RFC4158_FIG7: [Edge; 7] = [
    edge("root", "inter a", I),
    edge("root", "inter c", I),
    edge("inter c", "inter a", I),
    edge("inter a", "inter c", I),
    edge("inter c", "inter b", I),
    edge("inter a", "inter b", I),
    edge("inter b", "leaf", L),
];

const GRAPHS: &[Graph] = &[
    Graph {
        name: "bad EKU",
        root_mutate: Mutate::None,
        leaf: "leaf",
        edges: &[
            edge("root", "inter a", I),
            edge("root", "inter c", I),
            edge("inter c", "inter a", I),
            edge("inter a", "inter c", I),
            mutated("inter c", "inter b", I, Mutate::Ekus(&["codeSigning"])),
            edge("inter a", "inter b", I),
            edge("inter b", "leaf", L),
        ],
        chains: &[
            "CN=leaf -> CN=inter b -> CN=inter a -> CN=inter c -> CN=root",
            "CN=leaf -> CN=inter b -> CN=inter a -> CN=root",
        ],
        error: "",
    },
    Graph {
        name: "bad EKU (an unpermitted SAN on C->B)",
        root_mutate: Mutate::None,
        leaf: "leaf",
        edges: &[
            edge("root", "inter a", I),
            edge("root", "inter c", I),
            edge("inter c", "inter a", I),
            edge("inter a", "inter c", I),
            mutated("inter c", "inter b", I, Mutate::PermittedDnsAndNames(&["good"], &["bad"])),
            edge("inter a", "inter b", I),
            edge("inter b", "leaf", L),
        ],
        chains: &[
            "CN=leaf -> CN=inter b -> CN=inter a -> CN=inter c -> CN=root",
            "CN=leaf -> CN=inter b -> CN=inter a -> CN=root",
        ],
        error: "",
    },
    Graph {
        name: "all paths",
        root_mutate: Mutate::None,
        leaf: "leaf",
        edges: &[
            edge("root", "inter a", I),
            edge("inter a", "inter b", I),
            edge("inter a", "inter c", I),
            edge("inter b", "inter c", I),
            edge("inter c", "leaf", L),
        ],
        chains: &[
            "CN=leaf -> CN=inter c -> CN=inter a -> CN=root",
            "CN=leaf -> CN=inter c -> CN=inter b -> CN=inter a -> CN=root",
        ],
        error: "",
    },
    Graph {
        name: "ignore cross-sig loops",
        root_mutate: Mutate::None,
        leaf: "leaf",
        edges: &RFC4158_FIG7,
        chains: &[
            "CN=leaf -> CN=inter b -> CN=inter a -> CN=inter c -> CN=root",
            "CN=leaf -> CN=inter b -> CN=inter a -> CN=root",
            "CN=leaf -> CN=inter b -> CN=inter c -> CN=inter a -> CN=root",
            "CN=leaf -> CN=inter b -> CN=inter c -> CN=root",
        ],
        error: "",
    },
    Graph {
        name: "leaf with same subject, key, as parent but with SAN",
        root_mutate: Mutate::None,
        leaf: "root",
        edges: &[mutated("root", "root", L, Mutate::DnsNames(&["localhost"]))],
        chains: &["CN=root -> CN=root"],
        error: "",
    },
    Graph {
        name: "ignore invalid EKU path",
        root_mutate: Mutate::None,
        leaf: "leaf",
        edges: &[
            edge("root", "inter a", I),
            edge("root", "inter c", I),
            mutated("inter c", "inter b", I, Mutate::Ekus(&["codeSigning"])),
            mutated("inter a", "inter b", I, Mutate::Ekus(&["serverAuth"])),
            mutated("inter b", "leaf", L, Mutate::Ekus(&["serverAuth"])),
        ],
        chains: &["CN=leaf -> CN=inter b -> CN=inter a -> CN=root"],
        error: "",
    },
    Graph {
        name: "constrained root, invalid intermediate",
        root_mutate: Mutate::PermittedDnsAndNames(&["example.com"], &[]),
        leaf: "leaf",
        edges: &[
            mutated("root", "inter", I, Mutate::DnsNames(&["beep.com"])),
            mutated("inter", "leaf", L, Mutate::DnsNames(&["www.example.com"])),
        ],
        chains: &[],
        error: "x509: a root or intermediate certificate is not authorized to sign for this name: DNS name \"beep.com\" is not permitted by any constraint",
    },
    Graph {
        name: "constrained intermediate, non-matching SAN",
        root_mutate: Mutate::None,
        leaf: "leaf",
        edges: &[
            mutated("root", "inter", I, Mutate::PermittedDnsAndNames(&["example.com"], &["beep.com"])),
            mutated("inter", "leaf", L, Mutate::DnsNames(&["www.example.com"])),
        ],
        chains: &["CN=leaf -> CN=inter -> CN=root"],
        error: "",
    },
];

fn san_extension(names: &[&str]) -> CustomExtension {
    let body: Vec<u8> = names
        .iter()
        .flat_map(|n| general_name(&format!("dns:{n}"), false))
        .collect();
    CustomExtension::from_oid_content(&[2, 5, 29, 17], tlv(0x30, &body))
}

fn eku_named(name: &str) -> ExtendedKeyUsagePurpose {
    match name {
        "codeSigning" => ExtendedKeyUsagePurpose::CodeSigning,
        other => eku(other),
    }
}

/// verify_test.go `genCertEdge`: CAs with keyCertSign, a leaf with the SAN localhost.
fn edge_params(subject: &str, ca: bool, mutate: Mutate) -> CertificateParams {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    params.distinguished_name.push(DnType::CommonName, subject);
    let mut dns: &[&str] = &[];
    if ca {
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign];
    } else {
        params.is_ca = IsCa::NoCa;
        dns = &["localhost"];
    }
    match mutate {
        Mutate::None => {}
        Mutate::Ekus(list) => {
            params.extended_key_usages = list.iter().map(|e| eku_named(e)).collect()
        }
        Mutate::DnsNames(names) => dns = names,
        Mutate::PermittedDnsAndNames(permitted, names) => {
            let ok: Vec<String> = permitted.iter().map(|p| format!("dns:{p}")).collect();
            let ok: &'static [&'static str] = Box::leak(
                ok.into_iter()
                    .map(|s| &*Box::leak(s.into_boxed_str()))
                    .collect::<Vec<&'static str>>()
                    .into_boxed_slice(),
            );
            let spec = Spec {
                ok,
                bad: &[],
                ekus: &[],
            };
            params.custom_extensions.extend(name_constraints(&spec));
            dns = names;
        }
    }
    if !dns.is_empty() {
        params.custom_extensions.push(san_extension(dns));
    }
    params
}

/// verify_test.go `buildTrustGraph`: one key per subject; the latest certificate with a
/// subject issues the edges after it.
fn build_graph(
    g: &Graph,
) -> (
    Vec<CertificateDer<'static>>,
    Vec<CertificateDer<'static>>,
    CertificateDer<'static>,
) {
    let mut issuers: HashMap<&str, (CertificateParams, KeyPair)> = HashMap::new();
    let mut keys: HashMap<&str, KeyPair> = HashMap::new();
    let root_key = KeyPair::generate().expect("key");
    let root_params = edge_params("root", true, g.root_mutate);
    let roots = vec![root_params
        .self_signed(&root_key)
        .expect("root")
        .der()
        .clone()];
    keys.insert("root", copy_key(&root_key));
    issuers.insert("root", (root_params, root_key));
    let mut intermediates = Vec::new();
    let mut leaf = None;
    for e in g.edges {
        let key = keys
            .entry(e.subject)
            .or_insert_with(|| KeyPair::generate().expect("key"));
        let key = copy_key(key);
        let (issuer_params, issuer_key) = issuers.get(e.issuer).expect("issuer in the graph");
        let issuer = Issuer::new(issuer_params.clone(), copy_key(issuer_key));
        let params = edge_params(e.subject, e.kind == Kind::Intermediate, e.mutate);
        let cert = params.signed_by(&key, &issuer).expect("edge").der().clone();
        if e.subject == g.leaf {
            leaf = Some(cert);
        } else {
            intermediates.push(cert);
        }
        issuers.insert(e.subject, (params, key));
    }
    (roots, intermediates, leaf.expect("the graph's leaf"))
}

#[test]
fn path_building_go_table() {
    let mut report = String::new();
    let mut failed = 0;
    for g in GRAPHS {
        let (roots, intermediates, leaf) = build_graph(g);
        let got = verify_ders(&leaf, &intermediates, &roots, None, now());
        let good = match &got {
            Ok(chains) => g.error.is_empty() && chains == g.chains,
            Err(e) => e == g.error,
        };
        if !good {
            failed += 1;
        }
        report.push_str(&format!(
            "{} {}: {:?}\n",
            if good { "ok  " } else { "FAIL" },
            g.name,
            got
        ));
    }
    println!("{report}");
    assert_eq!(failed, 0, "{report}");
}

// --- TestEKUEnforcement and TestVerifyEKURootAsLeaf ---

struct EkuCase {
    name: &'static str,
    root: &'static [&'static str],
    inters: &'static [&'static [&'static str]],
    leaf: &'static [&'static str],
    /// Go's `verifyEKUs`; only [serverAuth] applies to crypto/tls.
    requested: &'static [&'static str],
    err: &'static str,
}

const INCOMPATIBLE: &str = "x509: certificate specifies an incompatible key usage";

const EKU_CASES: &[EkuCase] = &[
    EkuCase {
        name: "valid, full chain",
        root: &["serverAuth"],
        inters: &[&["serverAuth"]],
        leaf: &["serverAuth"],
        requested: &["serverAuth"],
        err: "",
    },
    EkuCase {
        name: "valid, only leaf has EKU",
        root: &[],
        inters: &[&[]],
        leaf: &["serverAuth"],
        requested: &["serverAuth"],
        err: "",
    },
    EkuCase {
        name: "invalid, serverAuth not nested",
        root: &["clientAuth"],
        inters: &[&["serverAuth", "clientAuth"]],
        leaf: &["serverAuth", "clientAuth"],
        requested: &["serverAuth"],
        err: INCOMPATIBLE,
    },
    EkuCase {
        name: "valid, two EKUs, one path",
        root: &["serverAuth"],
        inters: &[&["serverAuth", "clientAuth"]],
        leaf: &["serverAuth", "clientAuth"],
        requested: &["serverAuth", "clientAuth"],
        err: "",
    },
    EkuCase {
        name: "invalid, ladder",
        root: &["serverAuth"],
        inters: &[
            &["serverAuth", "clientAuth"],
            &["clientAuth"],
            &["serverAuth", "clientAuth"],
            &["serverAuth"],
        ],
        leaf: &["serverAuth"],
        requested: &["serverAuth", "clientAuth"],
        err: INCOMPATIBLE,
    },
    EkuCase {
        name: "valid, intermediate has no EKU",
        root: &["serverAuth"],
        inters: &[&[]],
        leaf: &["serverAuth"],
        requested: &["serverAuth"],
        err: "",
    },
    EkuCase {
        name: "invalid, intermediate has no EKU and no nested path",
        root: &["clientAuth"],
        inters: &[&[]],
        leaf: &["serverAuth"],
        requested: &["serverAuth", "clientAuth"],
        err: INCOMPATIBLE,
    },
    EkuCase {
        name: "invalid, intermediate has unknown EKU",
        root: &["serverAuth"],
        inters: &[&["unknown"]],
        leaf: &["serverAuth"],
        requested: &["serverAuth"],
        err: INCOMPATIBLE,
    },
];

fn eku_list(names: &[&str]) -> Vec<ExtendedKeyUsagePurpose> {
    names
        .iter()
        .map(|n| match *n {
            "unknown" => ExtendedKeyUsagePurpose::Other(vec![1, 2, 3]),
            other => eku(other),
        })
        .collect()
}

#[test]
fn eku_enforcement_go_table() {
    let (mut ran, mut not_applicable) = (0, 0);
    for case in EKU_CASES {
        if case.requested != ["serverAuth"] {
            not_applicable += 1;
            continue;
        }
        ran += 1;
        // One key for every certificate, as Go's test; every certificate is a CA.
        let key = KeyPair::generate().expect("key");
        let params = |name: &str, ekus: &[&str]| {
            let mut p = edge_params(name, true, Mutate::None);
            p.extended_key_usages = eku_list(ekus);
            p
        };
        let root = params("root", case.root);
        let roots = vec![root.self_signed(&key).expect("root").der().clone()];
        let mut issuer = Issuer::new(root, copy_key(&key));
        let mut inters = Vec::new();
        for (i, ekus) in case.inters.iter().enumerate() {
            let p = params(&format!("inter {i}"), ekus);
            inters.push(p.signed_by(&key, &issuer).expect("inter").der().clone());
            issuer = Issuer::new(p, copy_key(&key));
        }
        let leaf = params("leaf", case.leaf)
            .signed_by(&key, &issuer)
            .expect("leaf")
            .der()
            .clone();
        let got = verify_ders(&leaf, &inters, &roots, None, now());
        match (&got, case.err) {
            (Ok(_), "") => {}
            (Err(e), want) => assert_eq!(e, want, "{}", case.name),
            (Ok(_), want) => panic!("{}: verified, Go says {want}", case.name),
        }
    }
    assert_eq!((ran, not_applicable), (5, 3));
}

#[test]
fn eku_root_as_leaf_go_table() {
    // (root EKUs, verify EKUs, succeed); verify [] = the default, serverAuth.
    let cases: &[(&[&str], &[&str], bool)] = &[
        (&[], &["serverAuth"], true),
        (&["serverAuth"], &[], true),
        (&["serverAuth"], &["serverAuth"], true),
        (&["serverAuth"], &["any"], true),
        (&["any"], &["serverAuth"], true),
        (&["clientAuth"], &["serverAuth"], false),
    ];
    let mut ran = 0;
    for (root_ekus, requested, succeed) in cases {
        if !requested.is_empty() && *requested != ["serverAuth"] {
            continue; // crypto/tls asks for serverAuth only
        }
        ran += 1;
        // No basicConstraints, the SAN localhost: a self-signed certificate in the pool.
        let mut p = CertificateParams::new(vec!["localhost".to_string()]).expect("params");
        p.distinguished_name.push(DnType::CommonName, "root");
        p.extended_key_usages = eku_list(root_ekus);
        let der = p
            .self_signed(&KeyPair::generate().expect("key"))
            .expect("root")
            .der()
            .clone();
        let got = verify_ders(&der, &[], std::slice::from_ref(&der), None, now());
        assert_eq!(got.is_ok(), *succeed, "root EKUs {root_ekus:?}: {got:?}");
    }
    assert_eq!(ran, 5);
}

// --- TestValidHostname and TestVerifyBareWildcard ---

#[test]
fn valid_hostname_go_table() {
    // (host, validInput, validPattern)
    let cases = [
        ("example.com", true, true),
        ("eXample123-.com", true, true),
        ("-eXample123-.com", false, false),
        ("", false, false),
        (".", false, false),
        ("example..com", false, false),
        (".example.com", false, false),
        ("example.com.", true, false),
        ("*.example.com.", false, false),
        ("*.example.com", false, true),
        ("*foo.example.com", false, false),
        ("foo.*.example.com", false, false),
        ("exa_mple.com", true, true),
        ("foo,bar", false, false),
        ("project-dev:us-central1:main", false, false),
    ];
    for (host, input, pattern) in cases {
        assert_eq!(
            valid_hostname(host, true),
            pattern,
            "validHostnamePattern({host:?})"
        );
        assert_eq!(
            valid_hostname(host, false),
            input,
            "validHostnameInput({host:?})"
        );
    }
}

#[test]
fn bare_wildcard_go_case() {
    let mut p = CertificateParams::new(Vec::<String>::new()).expect("params");
    p.distinguished_name.push(DnType::CommonName, "test");
    p.custom_extensions.push(san_extension(&["*"]));
    let der = p
        .self_signed(&KeyPair::generate().expect("key"))
        .expect("cert");
    let cert = parse(der.der());
    assert!(check_hostname(&cert, &Host::Dns("label".into()), "label").is_err());
}

// --- the situations of verifyTests, rebuilt ---

struct Situation {
    leaf: CertificateParams,
    /// The leaf's signature algorithm OID patched to one Go does not know.
    unknown_algorithm: bool,
    intermediate: Option<CertificateParams>,
    /// Also send the root among the intermediates.
    root_in_intermediates: bool,
    send_intermediate: bool,
    leaf_in_roots: bool,
}

fn leaf_for(dns: &[&str], cn: &str) -> CertificateParams {
    let mut p = CertificateParams::new(Vec::<String>::new()).expect("params");
    if !cn.is_empty() {
        p.distinguished_name.push(DnType::CommonName, cn);
    } else {
        p.distinguished_name
            .push(DnType::CommonName, "www.google.com");
    }
    if !dns.is_empty() {
        p.custom_extensions.push(san_extension(dns));
    }
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    p
}

fn situation(leaf: CertificateParams) -> Situation {
    Situation {
        leaf,
        unknown_algorithm: false,
        intermediate: Some(edge_params("GTS CA 1C3", true, Mutate::None)),
        root_in_intermediates: false,
        send_intermediate: true,
        leaf_in_roots: false,
    }
}

fn run_situation(s: Situation, host: &str, at: i128) -> Result<Vec<String>, String> {
    let root_key = KeyPair::generate().expect("key");
    let root_params = edge_params("GTS Root R1", true, Mutate::None);
    let root = root_params
        .self_signed(&root_key)
        .expect("root")
        .der()
        .clone();
    let mut issuer = Issuer::new(root_params, root_key);
    let mut intermediates = Vec::new();
    if let Some(int) = s.intermediate {
        let key = KeyPair::generate().expect("key");
        let der = int
            .signed_by(&key, &issuer)
            .expect("intermediate")
            .der()
            .clone();
        if s.root_in_intermediates {
            intermediates.push(root.clone());
        }
        if s.send_intermediate {
            intermediates.push(der);
        }
        issuer = Issuer::new(int, key);
    }
    let leaf_key = KeyPair::generate().expect("key");
    let mut leaf = if s.leaf_in_roots {
        s.leaf.self_signed(&leaf_key).expect("leaf").der().to_vec()
    } else {
        s.leaf
            .signed_by(&leaf_key, &issuer)
            .expect("leaf")
            .der()
            .to_vec()
    };
    if s.unknown_algorithm {
        // ecdsa-with-SHA256 (1.2.840.10045.4.3.2) -> ecdsa-with-SHA224 (…4.3.1), inner and outer.
        let from = [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];
        let mut at = 0;
        while let Some(i) = leaf[at..].windows(from.len()).position(|w| w == from) {
            leaf[at + i + 7] = 0x01;
            at += i + from.len();
        }
    }
    let leaf = CertificateDer::from(leaf);
    let roots = if s.leaf_in_roots {
        vec![leaf.clone()]
    } else {
        vec![root]
    };
    let parsed: Host = match host.parse::<std::net::IpAddr>() {
        Ok(ip) => Host::Ip(ip),
        Err(_) => Host::Dns(host.to_ascii_lowercase()),
    };
    verify_ders(&leaf, &intermediates, &roots, Some((&parsed, host)), at)
}

#[test]
fn verify_tests_situations() {
    const CHAIN: &str = "CN=www.google.com -> CN=GTS CA 1C3 -> CN=GTS Root R1";
    let google = || leaf_for(&["www.google.com"], "");
    let ok = |r: Result<Vec<String>, String>, name: &str| {
        assert_eq!(r, Ok(vec![CHAIN.to_string()]), "{name}");
    };
    let err_has = |r: Result<Vec<String>, String>, want: &str, name: &str| match r {
        Err(e) => assert!(e.contains(want), "{name}: {e}"),
        Ok(c) => panic!("{name}: verified {c:?}, Go says {want}"),
    };
    ok(
        run_situation(situation(google()), "www.google.com", now()),
        "Valid",
    );
    ok(
        run_situation(situation(google()), "www.google.com.", now()),
        "Valid (fqdn)",
    );
    ok(
        run_situation(situation(google()), "WwW.GooGLE.coM", now()),
        "MixedCase",
    );
    err_has(
        run_situation(situation(google()), "www.example.com", now()),
        "x509: certificate is valid for www.google.com, not www.example.com",
        "HostnameMismatch",
    );
    err_has(
        run_situation(situation(google()), "1.2.3.4", now()),
        "x509: cannot validate certificate for 1.2.3.4 because it doesn't contain any IP SANs",
        "IPMissing",
    );
    err_has(run_situation(situation(google()), "www.example.com", 1_000_000_000), "x509: certificate has expired or is not yet valid: current time 1970-01-01T00:00:01Z is before", "Expired");
    let mut missing = situation(google());
    missing.send_intermediate = false;
    err_has(
        run_situation(missing, "www.google.com", now()),
        "x509: certificate signed by unknown authority",
        "MissingIntermediate",
    );
    let mut root_sent = situation(google());
    root_sent.root_in_intermediates = true;
    ok(
        run_situation(root_sent, "www.google.com", now()),
        "RootInIntermediates",
    );
    let mut invalid_hash = situation(google());
    invalid_hash.unknown_algorithm = true;
    err_has(
        run_situation(invalid_hash, "www.google.com", now()),
        "algorithm unimplemented",
        "InvalidHash",
    );
    let mut smime = google();
    smime.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ClientAuth,
        ExtendedKeyUsagePurpose::EmailProtection,
    ];
    err_has(
        run_situation(situation(smime), "www.google.com", now()),
        INCOMPATIBLE,
        "EKULeaf",
    );
    let mut self_signed = situation(leaf_for(&["foo.example"], "Acme Co"));
    self_signed.leaf_in_roots = true;
    self_signed.intermediate = None;
    assert_eq!(
        run_situation(self_signed, "foo.example", now()),
        Ok(vec!["CN=Acme Co".to_string()]),
        "LeafInRoots"
    );
    let mut self_signed = situation(leaf_for(&["foo.example"], "Acme Co"));
    self_signed.leaf_in_roots = true;
    self_signed.intermediate = None;
    err_has(
        run_situation(self_signed, "notfoo.example", now()),
        "x509: certificate is valid for foo.example, not notfoo.example",
        "LeafInRootsInvalid",
    );
    // IgnoreCNWithSANs: the CN names the host, the SAN extension holds no DNS name.
    let mut cn_with_sans = leaf_for(&[], "foo.example.com");
    cn_with_sans
        .custom_extensions
        .push(CustomExtension::from_oid_content(
            &[2, 5, 29, 17],
            tlv(0x30, &general_name("email:a@example.com", false)),
        ));
    err_has(
        run_situation(situation(cn_with_sans), "foo.example.com", now()),
        "x509: certificate is not valid for any names, but wanted to match foo.example.com",
        "IgnoreCNWithSANs",
    );
    // ExcludedNames: the intermediate excludes the leaf's name.
    let mut excluded = situation(leaf_for(&["bender.local"], ""));
    let mut int = edge_params("GTS CA 1C3", true, Mutate::None);
    int.custom_extensions.extend(name_constraints(&Spec {
        ok: &[],
        bad: &["dns:.local"],
        ekus: &[],
    }));
    excluded.intermediate = Some(int);
    err_has(run_situation(excluded, "bender.local", now()), "x509: a root or intermediate certificate is not authorized to sign for this name: DNS name \"bender.local\" is excluded by constraint \".local\"", "ExcludedNames");
    // CriticalExtLeaf / CriticalExtIntermediate: an unknown critical extension.
    let critical = || {
        let mut e = CustomExtension::from_oid_content(&[2, 5, 29, 99], vec![0x05, 0x00]);
        e.set_criticality(true);
        e
    };
    let mut leaf = google();
    leaf.custom_extensions.push(critical());
    err_has(
        run_situation(situation(leaf), "www.google.com", now()),
        "x509: unhandled critical extension",
        "CriticalExtLeaf",
    );
    let mut with_ext = situation(google());
    let mut int = edge_params("GTS CA 1C3", true, Mutate::None);
    int.custom_extensions.push(critical());
    with_ext.intermediate = Some(int);
    err_has(
        run_situation(with_ext, "www.google.com", now()),
        "x509: unhandled critical extension",
        "CriticalExtIntermediate",
    );
    // ValidCN: no SANs, the CN is the host.
    err_has(
        run_situation(
            situation(leaf_for(&[], "foo.example.com")),
            "foo.example.com",
            now(),
        ),
        "x509: certificate relies on legacy Common Name field, use SANs instead",
        "ValidCN",
    );
    // TooManyIPs: Go 1.24.3 lists every IP SAN (the "150 IP SANs" summary came with
    // Go 1.24.11); tests/x509_go124.rs shows the docker CLI doing so.
    let mut many = CertificateParams::new(vec!["4.3.2.1".to_string(); 150]).expect("params");
    many.distinguished_name.push(DnType::CommonName, "many");
    let listed = vec!["4.3.2.1"; 150].join(", ");
    err_has(
        run_situation(situation(many), "1.2.3.4", now()),
        &format!("x509: certificate is valid for {listed}, not 1.2.3.4"),
        "TooManyIPs",
    );
}

// --- more verifyTests situations: X509v1Intermediate, AKIDNoSKID, the SKID-mismatching
// parent, SHA-384, MultipleConstraints; and TestPoliciesValid's one case without caller
// options (crypto/tls sets none of them) ---

/// (header length, total length) of the DER element at the start of `b`.
fn tlv_len(b: &[u8]) -> (usize, usize) {
    match b[1] {
        n if n < 0x80 => (2, 2 + usize::from(n)),
        0x81 => (3, 3 + usize::from(b[2])),
        0x82 => (4, 4 + (usize::from(b[2]) << 8 | usize::from(b[3]))),
        n => panic!("length form {n:#x}"),
    }
}

/// `der` with its version patched to v1 and re-signed by `key` (ECDSA P-256 SHA-256).
fn as_v1_signed_by(der: &[u8], key: &KeyPair) -> Vec<u8> {
    let (outer_header, _) = tlv_len(der);
    let body = &der[outer_header..];
    let (_, tbs_len) = tlv_len(body);
    let mut tbs = body[..tbs_len].to_vec();
    let alg = &body[tbs_len..tbs_len + tlv_len(&body[tbs_len..]).1];
    let (tbs_header, _) = tlv_len(&tbs);
    assert_eq!(
        &tbs[tbs_header..tbs_header + 5],
        &[0xa0, 0x03, 0x02, 0x01, 0x02]
    );
    tbs[tbs_header + 4] = 0x00;
    let rng = ring::rand::SystemRandom::new();
    let signer = ring::signature::EcdsaKeyPair::from_pkcs8(
        &ring::signature::ECDSA_P256_SHA256_ASN1_SIGNING,
        &key.serialize_der(),
        &rng,
    )
    .expect("signing key");
    let signature = signer.sign(&rng, &tbs).expect("signature");
    let mut bits = vec![0];
    bits.extend_from_slice(signature.as_ref());
    tlv(0x30, &[tbs, alg.to_vec(), tlv(0x03, &bits)].concat())
}

#[test]
fn verify_tests_more_situations() {
    let ca = |name: &str| edge_params(name, true, Mutate::None);
    let leaf = |cn: &str, dns: &'static str| {
        let mut p = edge_params(cn, false, Mutate::DnsNames(Box::leak(Box::new([dns]))));
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        p
    };
    let host = |h: &str| Host::Dns(h.to_string());

    // X509v1Intermediate: a v1 intermediate (its basicConstraints ignored) cannot sign.
    let root_key = KeyPair::generate().expect("key");
    let root_params = ca("Root");
    let root = root_params
        .self_signed(&root_key)
        .expect("root")
        .der()
        .clone();
    let root_issuer = Issuer::new(root_params, copy_key(&root_key));
    let int_key = KeyPair::generate().expect("key");
    let int_params = ca("Intermediate");
    let int_v3 = int_params
        .signed_by(&int_key, &root_issuer)
        .expect("intermediate");
    let int_v1 = CertificateDer::from(as_v1_signed_by(int_v3.der(), &root_key));
    let leaf_der = leaf("Leaf", "foo.example")
        .signed_by(
            &KeyPair::generate().expect("key"),
            &Issuer::new(int_params, int_key),
        )
        .expect("leaf")
        .der()
        .clone();
    assert_eq!(
        verify_ders(
            &leaf_der,
            &[int_v1],
            std::slice::from_ref(&root),
            None,
            now()
        ),
        Err("x509: certificate is not authorized to sign other certificates".to_string()),
        "X509v1Intermediate"
    );

    // AKIDNoSKID: a leaf with an AKID chains to a root without one (an empty SKID here).
    let key = KeyPair::generate().expect("key");
    let mut no_skid = ca("Acme Co");
    no_skid.key_identifier_method = rcgen::KeyIdMethod::PreSpecified(Vec::new());
    let root = no_skid.self_signed(&key).expect("root").der().clone();
    let mut signer_params = no_skid.clone();
    signer_params.key_identifier_method = rcgen::KeyIdMethod::PreSpecified(vec![1, 2, 3, 4]);
    let mut with_akid = leaf("Acme LLC", "example");
    with_akid.use_authority_key_identifier_extension = true;
    let leaf_der = with_akid
        .signed_by(
            &KeyPair::generate().expect("key"),
            &Issuer::new(signer_params, key),
        )
        .expect("leaf")
        .der()
        .clone();
    assert_eq!(
        verify_ders(
            &leaf_der,
            &[],
            &[root],
            Some((&host("example"), "example")),
            now()
        ),
        Ok(vec!["CN=Acme LLC -> CN=Acme Co".to_string()]),
        "AKIDNoSKID"
    );

    // A root with the leaf's AKID but another subject, and the issuer with a mismatching SKID.
    let (key_a, key_b) = (
        KeyPair::generate().expect("key"),
        KeyPair::generate().expect("key"),
    );
    let mut root_a = ca("Root A");
    root_a.key_identifier_method = rcgen::KeyIdMethod::PreSpecified(vec![9, 9, 9, 9]);
    let root_b = ca("Root B");
    let roots = vec![
        root_a.self_signed(&key_a).expect("root A").der().clone(),
        root_b.self_signed(&key_b).expect("root B").der().clone(),
    ];
    let mut signer_params = root_b.clone();
    signer_params.key_identifier_method = rcgen::KeyIdMethod::PreSpecified(vec![9, 9, 9, 9]);
    let mut with_akid = leaf("Leaf", "example");
    with_akid.use_authority_key_identifier_extension = true;
    let leaf_der = with_akid
        .signed_by(
            &KeyPair::generate().expect("key"),
            &Issuer::new(signer_params, key_b),
        )
        .expect("leaf")
        .der()
        .clone();
    assert_eq!(
        verify_ders(
            &leaf_der,
            &[],
            &roots,
            Some((&host("example"), "example")),
            now()
        ),
        Ok(vec!["CN=Leaf -> CN=Root B".to_string()]),
        "parent with a matching subject and a mismatching SKID"
    );

    // SHA-384: a P-384 intermediate signing with ECDSA-SHA384.
    let root_key = KeyPair::generate().expect("key");
    let root_params = ca("DigiCert Global Root CA");
    let root = root_params
        .self_signed(&root_key)
        .expect("root")
        .der()
        .clone();
    let int_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).expect("P-384 key");
    let int_params = ca("TrustAsia ECC OV TLS Pro CA");
    let int = int_params
        .signed_by(&int_key, &Issuer::new(root_params, root_key))
        .expect("intermediate")
        .der()
        .clone();
    let leaf_der = leaf("tm.cn", "tm.cn")
        .signed_by(
            &KeyPair::generate().expect("key"),
            &Issuer::new(int_params, int_key),
        )
        .expect("leaf")
        .der()
        .clone();
    assert_eq!(
        verify_ders(
            &leaf_der,
            &[int],
            &[root],
            Some((&host("tm.cn"), "tm.cn")),
            now()
        ),
        Ok(vec![
            "CN=tm.cn -> CN=TrustAsia ECC OV TLS Pro CA -> CN=DigiCert Global Root CA".to_string()
        ]),
        "SHA-384"
    );

    // MultipleConstraints: a constrained intermediate listing several constraints.
    let root_key = KeyPair::generate().expect("key");
    let root_params = ca("GlobalSign");
    let root = root_params
        .self_signed(&root_key)
        .expect("root")
        .der()
        .clone();
    let upper_key = KeyPair::generate().expect("key");
    let mut upper = ca("Trusted Root CA SHA256 G2");
    upper.custom_extensions.extend(name_constraints(&Spec {
        ok: &[
            "dns:vt.edu",
            "dns:.vt.edu",
            "dns:virginia.edu",
            "ip:198.82.0.0/16",
            "email:vt.edu",
        ],
        bad: &["ip:0.0.0.0/32"],
        ekus: &[],
    }));
    let upper_der = upper
        .signed_by(&upper_key, &Issuer::new(root_params, root_key))
        .expect("upper")
        .der()
        .clone();
    let lower_key = KeyPair::generate().expect("key");
    let lower = ca("Virginia Tech Global Qualified Server CA");
    let lower_der = lower
        .signed_by(&lower_key, &Issuer::new(upper, upper_key))
        .expect("lower")
        .der()
        .clone();
    let leaf_der = leaf("udctest.ads.vt.edu", "udctest.ads.vt.edu")
        .signed_by(
            &KeyPair::generate().expect("key"),
            &Issuer::new(lower, lower_key),
        )
        .expect("leaf")
        .der()
        .clone();
    let h = host("udctest.ads.vt.edu");
    assert_eq!(
        verify_ders(&leaf_der, &[lower_der, upper_der], &[root], Some((&h, "udctest.ads.vt.edu")), now()),
        Ok(vec!["CN=udctest.ads.vt.edu -> CN=Virginia Tech Global Qualified Server CA -> CN=Trusted Root CA SHA256 G2 -> CN=GlobalSign".to_string()]),
        "MultipleConstraints"
    );
}

/// TestPoliciesValid's `{leaf_require, intermediate, root}` (no caller options): a leaf
/// requiring an explicit policy under an intermediate asserting the same policies.
#[test]
fn policies_valid_go_case_without_options() {
    // certificatePolicies { 1.2.840.113554.4.1.72585.2.1, ….2.2 }
    let oid = |last: u8| {
        let body = [
            0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x04, 0x01, 0x84, 0xb7, 0x09, 0x02, last,
        ];
        tlv(0x30, &tlv(0x06, &body))
    };
    let policies = |lasts: &[u8]| {
        let body: Vec<u8> = lasts.iter().flat_map(|l| oid(*l)).collect();
        CustomExtension::from_oid_content(&[2, 5, 29, 32], tlv(0x30, &body))
    };
    // policyConstraints { requireExplicitPolicy [0] 0 }
    let require =
        CustomExtension::from_oid_content(&[2, 5, 29, 36], vec![0x30, 0x03, 0x80, 0x01, 0x00]);
    let root_key = KeyPair::generate().expect("key");
    let root_params = edge_params("Policy Root", true, Mutate::None);
    let root = root_params
        .self_signed(&root_key)
        .expect("root")
        .der()
        .clone();
    let int_key = KeyPair::generate().expect("key");
    let mut int = edge_params("Policy Intermediate", true, Mutate::None);
    int.custom_extensions.push(policies(&[1, 2]));
    let int_der = int
        .signed_by(&int_key, &Issuer::new(root_params, root_key))
        .expect("intermediate")
        .der()
        .clone();
    let issuer = Issuer::new(int, int_key);
    let make_leaf = |asserted: &[u8]| {
        let mut p = edge_params("Policy Leaf", false, Mutate::None);
        p.custom_extensions.push(policies(asserted));
        p.custom_extensions.push(require.clone());
        p.signed_by(&KeyPair::generate().expect("key"), &issuer)
            .expect("leaf")
            .der()
            .clone()
    };
    assert_eq!(
        verify_ders(
            &make_leaf(&[1, 2]),
            std::slice::from_ref(&int_der),
            std::slice::from_ref(&root),
            None,
            now()
        ),
        Ok(vec![
            "CN=Policy Leaf -> CN=Policy Intermediate -> CN=Policy Root".to_string()
        ])
    );
    // The same leaf asserting only a policy the intermediate does not: no valid policy
    // remains and one is required.
    assert_eq!(
        verify_ders(&make_leaf(&[3]), &[int_der], &[root], None, now()),
        Err("x509: no valid chains built: 1 chains with invalid policies".to_string())
    );
}

/// TestVerifyHostnameIPAddresses, the forms a Docker endpoint can take (an endpoint never
/// carries an IPv6 zone; brackets are the endpoint's syntax, removed before matching).
#[test]
fn verify_hostname_ip_addresses_go_table() {
    let mut p = CertificateParams::new(vec!["192.0.2.1".to_string(), "fe80::1".to_string()])
        .expect("params");
    p.distinguished_name.push(DnType::CommonName, "ips");
    let der = p
        .self_signed(&KeyPair::generate().expect("key"))
        .expect("cert");
    let cert = parse(der.der());
    for (host, matches) in [
        ("192.0.2.1", true),
        ("192.0.2.2", false),
        ("fe80::1", true),
        ("fe80::2", false),
    ] {
        let ip = Host::Ip(host.parse().expect("IP"));
        assert_eq!(check_hostname(&cert, &ip, host).is_ok(), matches, "{host}");
    }
}

/// TestCertificateChainSignedByECDSA: no roots, the leaf's real issuer and a self-signed
/// DSA certificate with the issuer's name among the intermediates: unknown authority, and
/// no panic on the DSA candidate.
#[test]
fn chain_with_a_dsa_candidate_go_case() {
    let root_key = KeyPair::generate().expect("key");
    let mut root_params = edge_params("X", true, Mutate::None);
    root_params.key_usages.push(KeyUsagePurpose::CrlSign);
    let root = root_params
        .self_signed(&root_key)
        .expect("root")
        .der()
        .clone();
    let mut leaf = edge_params("leaf", false, Mutate::None);
    leaf.is_ca = IsCa::ExplicitNoCa;
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let leaf = leaf
        .signed_by(
            &KeyPair::generate().expect("key"),
            &Issuer::new(root_params, root_key),
        )
        .expect("leaf")
        .der()
        .clone();
    // dsaSelfSignedCNX: v1, Subject=Issuer=CN=X, a DSA key, dsaWithSHA256, a dummy signature.
    let int = |v: &[u8]| tlv(0x02, v);
    let dsa_params = tlv(
        0x30,
        &[int(&[0x7f; 128]), int(&[0x7f; 20]), int(&[0x02])].concat(),
    );
    let spki = tlv(
        0x30,
        &[
            tlv(
                0x30,
                &[
                    tlv(0x06, &[0x2a, 0x86, 0x48, 0xce, 0x38, 0x04, 0x01]),
                    dsa_params,
                ]
                .concat(),
            ),
            tlv(0x03, &[&[0u8][..], &int(&[0x35; 128])].concat()),
        ]
        .concat(),
    );
    let name = tlv(
        0x30,
        &tlv(
            0x31,
            &tlv(
                0x30,
                &[tlv(0x06, &[0x55, 0x04, 0x03]), tlv(0x13, b"X")].concat(),
            ),
        ),
    );
    let alg = tlv(
        0x30,
        &tlv(
            0x06,
            &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x03, 0x02],
        ),
    );
    let validity = tlv(
        0x30,
        &[tlv(0x17, b"200101000000Z"), tlv(0x17, b"491231235959Z")].concat(),
    );
    let tbs = tlv(
        0x30,
        &[
            int(&[0x03, 0xea]),
            alg.clone(),
            name.clone(),
            validity,
            name,
            spki,
        ]
        .concat(),
    );
    let dsa = CertificateDer::from(tlv(0x30, &[tbs, alg, tlv(0x03, &[0, 0])].concat()));
    let got = verify_ders(&leaf, &[root, dsa], &[], None, now());
    match got {
        Err(e) => assert!(e.contains("certificate signed by unknown authority"), "{e}"),
        Ok(chains) => panic!("verified without roots: {chains:?}"),
    }
}
