//! `rewrite` through the built binary: a byte-exact table of Dockerfile cases in both
//! directions, and the command-line behaviour (in place, --check, --diff, JSON, stdin,
//! directories, modes, symlinks, errors). No test here opens a network connection:
//! `--to internal|external` never probes, and the endpoints are always given explicitly.
mod support;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Output;

use support::peers::{refused_port, TestChain};
use support::{
    assert_status, dcosreg, stderr, stdout, unique_loopback_ip, write_file, Dcosreg, Registry,
};

const VIP: &str = "192.168.0.1";
const LB: &str = "192.168.1.50:5000";

/// Run the binary with `input` on stdin.
fn with_stdin(args: &[&str], input: &[u8]) -> Output {
    Dcosreg::new(args).stdin(input).run()
}

/// `rewrite --to TO` as a filter, with the given endpoints.
fn filter(internal: &str, external: &str, to: &str, input: &[u8]) -> Vec<u8> {
    let out = with_stdin(
        &[
            "--internal",
            internal,
            "--external",
            external,
            "rewrite",
            "--to",
            to,
        ],
        input,
    );
    // Exit 1 exactly when a reference is left naming the old endpoint, and says so.
    let refused = stderr(&out).contains("cannot rewrite");
    assert_status(&out, if refused { 1 } else { 0 });
    out.stdout
}

/// (name, internal form, external form): `--to external` turns the first into the second
/// and `--to internal` turns the second back into the first, byte for byte.
const ROUND_TRIP: &[(&str, &str, &str)] = &[
    (
        "plain FROM",
        "FROM 192.168.0.1/base/docker-tomcat-base\n",
        "FROM 192.168.1.50:5000/base/docker-tomcat-base\n",
    ),
    (
        "platform flag, tag, stage name, any case",
        "from --platform=$BUILDPLATFORM 192.168.0.1/base/go:1.22 As build\nFrOm 192.168.0.1/x@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n",
        "from --platform=$BUILDPLATFORM 192.168.1.50:5000/base/go:1.22 As build\nFrOm 192.168.1.50:5000/x@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n",
    ),
    (
        "COPY --from image, stage name and index untouched",
        "FROM 192.168.0.1/a AS build\nFROM scratch\nCOPY --from=build /a /a\nCOPY --from=0 /b /b\nCOPY --link --from=192.168.0.1/tools:2 /t /t\nCOPY --from=\"192.168.0.1/x\" /x /x\n",
        "FROM 192.168.1.50:5000/a AS build\nFROM scratch\nCOPY --from=build /a /a\nCOPY --from=0 /b /b\nCOPY --link --from=192.168.1.50:5000/tools:2 /t /t\nCOPY --from=\"192.168.1.50:5000/x\" /x /x\n",
    ),
    (
        "RUN --mount from=image, not from=stage",
        "FROM alpine AS s\nRUN --mount=type=bind,from=192.168.0.1/tools,target=/t --mount=type=cache,target=/c --mount=from=s,target=/s make\n",
        "FROM alpine AS s\nRUN --mount=type=bind,from=192.168.1.50:5000/tools,target=/t --mount=type=cache,target=/c --mount=from=s,target=/s make\n",
    ),
    (
        "ONBUILD",
        "FROM x\nONBUILD COPY --from=192.168.0.1/a /a /a\nonbuild RUN --mount=from=192.168.0.1/b,target=/b true\n",
        "FROM x\nONBUILD COPY --from=192.168.1.50:5000/a /a /a\nonbuild RUN --mount=from=192.168.1.50:5000/b,target=/b true\n",
    ),
    (
        "ARG defaults used in FROM, directly and through another ARG",
        "ARG REGISTRY=192.168.0.1\nARG BASE=\"192.168.0.1/base/x:1\"\nARG MIRROR=192.168.0.1\nARG TOOLS='192.168.0.1/t'\nARG T2=${TOOLS}\nFROM ${REGISTRY}/base/docker-tomcat-base\nFROM $BASE\nFROM ${T2}\n",
        "ARG REGISTRY=192.168.1.50:5000\nARG BASE=\"192.168.1.50:5000/base/x:1\"\nARG MIRROR=192.168.0.1\nARG TOOLS='192.168.1.50:5000/t'\nARG T2=${TOOLS}\nFROM ${REGISTRY}/base/docker-tomcat-base\nFROM $BASE\nFROM ${T2}\n",
    ),
    (
        "${VAR:-default} and ${VAR-default} in FROM",
        "FROM ${REGISTRY:-192.168.0.1}/base/x\nFROM ${IMG-192.168.0.1/base/y:2} AS y\nFROM ${A:-${B:-192.168.0.1}}/z\n",
        "FROM ${REGISTRY:-192.168.1.50:5000}/base/x\nFROM ${IMG-192.168.1.50:5000/base/y:2} AS y\nFROM ${A:-${B:-192.168.1.50:5000}}/z\n",
    ),
    (
        "quoting preserved",
        "FROM \"192.168.0.1/a\"\nFROM '192.168.0.1/b'\nCOPY --from='192.168.0.1/c' /c /c\nRUN --mount=\"type=bind,from=192.168.0.1/d\" true\n",
        "FROM \"192.168.1.50:5000/a\"\nFROM '192.168.1.50:5000/b'\nCOPY --from='192.168.1.50:5000/c' /c /c\nRUN --mount=\"type=bind,from=192.168.1.50:5000/d\" true\n",
    ),
    (
        "heredoc bodies never rewritten",
        "FROM 192.168.0.1/a\nRUN <<EOF\nFROM 192.168.0.1/inside\nEOF\nCOPY <<-\"END\" /etc/x\n\tFROM 192.168.0.1/inside\n\tEND\nRUN cat <<A <<'B' > /f\nFROM 192.168.0.1/inside\nA\nCOPY --from=192.168.0.1/inside / /\nB\nONBUILD RUN <<X\nFROM 192.168.0.1/inside\nX\nFROM 192.168.0.1/b\n",
        "FROM 192.168.1.50:5000/a\nRUN <<EOF\nFROM 192.168.0.1/inside\nEOF\nCOPY <<-\"END\" /etc/x\n\tFROM 192.168.0.1/inside\n\tEND\nRUN cat <<A <<'B' > /f\nFROM 192.168.0.1/inside\nA\nCOPY --from=192.168.0.1/inside / /\nB\nONBUILD RUN <<X\nFROM 192.168.0.1/inside\nX\nFROM 192.168.1.50:5000/b\n",
    ),
    (
        "line continuations with comments and blank lines inside",
        "FROM \\\n    192.168.0.1/a \\\n# a comment inside\n\n    AS a\nCOPY \\\n  --from=192.168.0.1/b \\ \t\n  /b /b\n",
        "FROM \\\n    192.168.1.50:5000/a \\\n# a comment inside\n\n    AS a\nCOPY \\\n  --from=192.168.1.50:5000/b \\ \t\n  /b /b\n",
    ),
    (
        "escape directive: backtick",
        "# syntax=docker/dockerfile:1\n# escape=`\nFROM `\n  192.168.0.1/win:ltsc2022\nRUN dir c:\\ \nFROM 192.168.0.1/b\n",
        "# syntax=docker/dockerfile:1\n# escape=`\nFROM `\n  192.168.1.50:5000/win:ltsc2022\nRUN dir c:\\ \nFROM 192.168.1.50:5000/b\n",
    ),
    (
        "CRLF, BOM, no final newline",
        "\u{feff}FROM 192.168.0.1/a\r\nRUN x \\\r\n  y\r\nFROM 192.168.0.1/b",
        "\u{feff}FROM 192.168.1.50:5000/a\r\nRUN x \\\r\n  y\r\nFROM 192.168.1.50:5000/b",
    ),
    (
        "indentation and tabs kept",
        "  \tFROM\t192.168.0.1/a   AS   x\n",
        "  \tFROM\t192.168.1.50:5000/a   AS   x\n",
    ),
];

/// Inputs that `--to external` must leave byte-identical.
const UNTOUCHED: &[(&str, &str)] = &[
    (
        "lookalikes",
        "FROM 192.168.0.10/x\nFROM 192.168.0.1.nip.io/x\nFROM 192.168.0.1:5000/x\nFROM 192.168.0.1\nFROM 192.168.0.1:443\nFROM docker.io/192.168.0.1/x\nFROM 10.192.168.0.1/x\n",
    ),
    (
        "not image positions",
        "# FROM 192.168.0.1/x\nRUN docker pull 192.168.0.1/x\nRUN [\"echo\", \"192.168.0.1/x\"]\nENV IMG=192.168.0.1/x\nLABEL img=192.168.0.1/x\nARG UNUSED=192.168.0.1/x\nCOPY 192.168.0.1/x /x\nCOPY --chown=192.168.0.1/x a b\n",
    ),
    (
        "unknown and malformed instructions",
        "FOO 192.168.0.1/x\nFROM\nFROM \"192.168.0.1/unterminated\nCOPY --from\nRUN --mount=from\nFROM ${REG:-192.168.0.1/x\nONBUILD\n\u{1b}[31mFROM 192.168.0.1/x\nFROM\u{a0}192.168.0.1/x\n",
    ),
    (
        "a host interrupted by a line continuation",
        "FROM 192.168.\\\n0.1/x\n",
    ),
    (
        "ADD has no --from (BuildKit refuses the flag)",
        "FROM x\nADD --from=192.168.0.1/x /x /x\n",
    ),
    (
        "unterminated heredoc swallows the rest",
        "FROM x\nRUN <<EOF\nFROM 192.168.0.1/a\n",
    ),
    (
        "invalid bytes",
        "FROM \u{fffd}\nRUN \\\n\u{0}\nFROM x\n",
    ),
];

/// One row per class of issue 17: (name, input, expected, lines reported as skipped).
/// `{H}` is the endpoint the references name, `{T}` the target; every row runs both ways
/// (`{H}` internal with `--to external`, then `{H}` external with `--to internal`).
const CLASSES: &[(&str, &str, &str, &[usize])] = &[
    (
        "ARG equal to the endpoint, host extended by the reference: not the endpoint",
        "ARG REG={H}\nFROM ${REG}0/base/x\nFROM ${REG}:5000/base/x\nFROM ${REG}.nip.io/base/x\n",
        "ARG REG={H}\nFROM ${REG}0/base/x\nFROM ${REG}:5000/base/x\nFROM ${REG}.nip.io/base/x\n",
        &[],
    ),
    (
        "ARG that is the host of one FROM and part of another host: reported",
        "ARG REG={H}\nFROM ${REG}/a\nFROM ${REG}0/base/x\n",
        "ARG REG={H}\nFROM ${REG}/a\nFROM ${REG}0/base/x\n",
        &[2],
    ),
    (
        "FROM ${IMG} with IMG the bare endpoint is a Docker Hub name",
        "ARG IMG={H}\nFROM ${IMG}\n",
        "ARG IMG={H}\nFROM ${IMG}\n",
        &[],
    ),
    (
        "stage-scoped ARG never reaches a FROM",
        "FROM {H}/a\nARG REG={H}\nFROM ${REG}/b\n",
        "FROM {T}/a\nARG REG={H}\nFROM ${REG}/b\n",
        &[],
    ),
    (
        "of two meta ARG lines the last one counts",
        "ARG REG={H}\nARG REG={H}\nFROM ${REG}/a\n",
        "ARG REG={H}\nARG REG={T}\nFROM ${REG}/a\n",
        &[],
    ),
    (
        "the default of ${REG:-…} is unused when REG has a value, used when R2 is stage-scoped",
        "ARG REG=docker.io\nFROM ${REG:-{H}}/a\nARG R2={H}\nFROM ${R2:-{H}}/b\n",
        "ARG REG=docker.io\nFROM ${REG:-{H}}/a\nARG R2={H}\nFROM ${R2:-{T}}/b\n",
        &[],
    ),
    (
        "meta ARG with a value; the default stays",
        "ARG R2={H}\nFROM ${R2:-{H}}/b\n",
        "ARG R2={T}\nFROM ${R2:-{H}}/b\n",
        &[],
    ),
    (
        "of two from= keys in one --mount the last one counts",
        "FROM x\nRUN --mount=from={H}/a,from={H}/b,target=/t true\n",
        "FROM x\nRUN --mount=from={H}/a,from={T}/b,target=/t true\n",
        &[],
    ),
    (
        "${A:+…} with A set",
        "ARG A=1\nFROM ${A:+{H}/base/x}\n",
        "ARG A=1\nFROM ${A:+{T}/base/x}\n",
        &[],
    ),
    (
        "${IMG/pattern/replacement}",
        "ARG IMG=docker.io/base/x\nFROM ${IMG/docker.io/{H}}\n",
        "ARG IMG=docker.io/base/x\nFROM ${IMG/docker.io/{T}}\n",
        &[],
    ),
    (
        "${IMG#prefix} with the host in the ARG",
        "ARG IMG=docker://{H}/base/x\nFROM ${IMG#docker://}\nFROM ${IMG##*//}\n",
        "ARG IMG=docker://{T}/base/x\nFROM ${IMG#docker://}\nFROM ${IMG##*//}\n",
        &[],
    ),
    (
        "${IMG%suffix}",
        "ARG IMG={H}/base/x:1-old\nFROM ${IMG%-old}\n",
        "ARG IMG={T}/base/x:1-old\nFROM ${IMG%-old}\n",
        &[],
    ),
    (
        "# syntax= names the endpoint",
        "# syntax={H}/docker/dockerfile:1.7\nFROM {H}/a\n",
        "# syntax={T}/docker/dockerfile:1.7\nFROM {T}/a\n",
        &[],
    ),
    (
        "a registry ARG inherited by a stage and used as is there follows the registry",
        "ARG REG={H}\nFROM ${REG}/a\nARG REG\nRUN docker pull $REG/x\n",
        "ARG REG={T}\nFROM ${REG}/a\nARG REG\nRUN docker pull $REG/x\n",
        &[],
    ),
    (
        "ARG BASE=<endpoint>/alpine inherited by a stage",
        "ARG BASE={H}/alpine\nFROM ${BASE}:3\nARG BASE\nLABEL base=\"${BASE}\"\n",
        "ARG BASE={T}/alpine\nFROM ${BASE}:3\nARG BASE\nLABEL base=\"${BASE}\"\n",
        &[],
    ),
    (
        "a registry ARG that a stage turns into another host is kept",
        "ARG REG={H}\nFROM ${REG}/a\nARG REG\nRUN curl https://${REG}0/x\n",
        "ARG REG={H}\nFROM ${REG}/a\nARG REG\nRUN curl https://${REG}0/x\n",
        &[2],
    ),
    (
        "one ARG feeding several references that all need the change",
        "ARG REG={H}\nARG BASE=${REG}/base\nFROM ${BASE}/a\nFROM ${REG}/b\nFROM x\nCOPY --from={H}/c / /\n",
        "ARG REG={T}\nARG BASE=${REG}/base\nFROM ${BASE}/a\nFROM ${REG}/b\nFROM x\nCOPY --from={T}/c / /\n",
        &[],
    ),
    (
        "empty quotes after an ARG do not split its host",
        "ARG P={H}\nFROM ${P}\"\"/x\n",
        "ARG P={T}\nFROM ${P}\"\"/x\n",
        &[],
    ),
];

/// Hosts in one piece on one line with quotes or escapes inside: rewritten whole, both
/// ways: (input, expected, --to).
const ONE_LINE: &[(&str, &str, &str)] = &[
    (
        "FROM 192.168.\"0.1\"/x\nFROM 192.168.0\\.1/y\nCOPY --from=192.168.0.\"1\"/lib/x / /\n",
        "FROM 192.168.1.50:5000/x\nFROM 192.168.1.50:5000/y\nCOPY --from=192.168.1.50:5000/lib/x / /\n",
        "external",
    ),
    (
        "FROM 192.168.1.50:'5000'/x\nFROM \"192.168.1\".50:5000/y\n",
        "FROM 192.168.0.1/x\nFROM 192.168.0.1/y\n",
        "internal",
    ),
];

/// Hosts split or assembled in ways that depend on the spelling: (from, to, input, lines).
const SPLIT: &[(&str, &str, &str, &[usize])] = &[
    ("192.168.0.1", "external", "FROM 192.168.\\\n0.1/z\n", &[1]),
    (
        "192.168.0.1",
        "external",
        "ARG OCT=0.1\nFROM 192.168.${OCT}/x\n",
        &[2],
    ),
    (
        "192.168.1.50:5000",
        "internal",
        "ARG PORT=5000\nFROM 192.168.1.50:${PORT}/y\n",
        &[2],
    ),
];

fn instantiate(text: &str, host: &str, target: &str) -> String {
    text.replace("{H}", host).replace("{T}", target)
}

/// `rewrite` on stdin in text mode and in JSON mode with --check: the text, the warnings
/// and the JSON `skipped` list.
fn classify(to: &str, input: &str) -> (String, String, Vec<usize>, i32) {
    let base = ["--internal", VIP, "--external", LB];
    let text = with_stdin(
        &[&base[..], &["rewrite", "--to", to]].concat(),
        input.as_bytes(),
    );
    let json = with_stdin(
        &[
            &base[..],
            &["--format", "json", "rewrite", "--to", to, "--check"],
        ]
        .concat(),
        input.as_bytes(),
    );
    let report = support::json(&json);
    let lines: Vec<usize> = report["skipped"]
        .as_array()
        .expect("skipped list")
        .iter()
        .map(|s| {
            assert!(s["reason"].as_str().is_some_and(|r| !r.is_empty()), "{s}");
            assert_eq!(s["file"], "-");
            s["line"].as_u64().expect("line") as usize
        })
        .collect();
    // A reference left naming the old endpoint is not a success, with or without --check.
    let refused = if lines.is_empty() { 0 } else { 1 };
    assert_status(&text, refused);
    (
        String::from_utf8_lossy(&text.stdout).into_owned(),
        stderr(&text),
        lines,
        json.status.code().unwrap_or(-1),
    )
}

#[test]
fn classes_follow_buildkit_both_ways() {
    for (name, input, expected, skipped) in CLASSES {
        for (host, target, to) in [(VIP, LB, "external"), (LB, VIP, "internal")] {
            let input = instantiate(input, host, target);
            let expected = instantiate(expected, host, target);
            let (got, warnings, lines, check) = classify(to, &input);
            assert_eq!(got, expected, "{name} --to {to}");
            assert_eq!(lines, *skipped, "{name} --to {to}: JSON skipped");
            for line in *skipped {
                let prefix = format!("-:{line}: cannot rewrite ");
                assert!(warnings.contains(&prefix), "{name} --to {to}: {warnings}");
            }
            assert_eq!(
                warnings.matches("cannot rewrite").count(),
                skipped.len(),
                "{name} --to {to}: {warnings}"
            );
            let want = if got != input || !skipped.is_empty() {
                1
            } else {
                0
            };
            assert_eq!(check, want, "{name} --to {to}: --check exit");
            // Idempotent: the output run again changes nothing more.
            let (again, _, _, _) = classify(to, &got);
            assert_eq!(again, got, "{name} --to {to}: idempotent");
        }
    }
    for (input, expected, to) in ONE_LINE {
        let (got, warnings, lines, _) = classify(to, input);
        assert_eq!(got, *expected, "{input}: {warnings}");
        assert!(lines.is_empty(), "{input}: {warnings}");
        let (again, _, _, _) = classify(to, &got);
        assert_eq!(again, got, "{input}: idempotent");
    }
    for (host, to, input, skipped) in SPLIT {
        let (got, warnings, lines, check) = classify(to, input);
        assert_eq!(got, *input, "{input}");
        assert_eq!(lines, *skipped, "{input}: {warnings}");
        assert!(warnings.contains(&format!("cannot rewrite {host}")) || skipped.is_empty());
        assert_eq!(check, 1, "{input}");
    }
}

#[test]
fn deep_nesting_and_long_arg_chains() {
    // 10,000 nested defaults: no stack overflow, a warning only where the endpoint appears,
    // and the other references of the file and of the directory are still rewritten.
    let depth = 10_000;
    let nested = |inner: &str| format!("{}{inner}{}", "${A:-".repeat(depth), "}".repeat(depth));
    let dir = tempfile::tempdir().expect("temp dir");
    let deep = dir.path().join("Dockerfile");
    let deep_text = format!(
        "FROM 192.168.0.1/a\nRUN echo {}\nFROM {}/x\nFROM {}\n",
        nested("x"),
        nested("192.168.0.1"),
        nested("busybox"),
    );
    write_file(&deep, &deep_text);
    let other = dir.path().join("b.Dockerfile");
    write_file(&other, "FROM 192.168.0.1/b\n");
    let out = dcosreg(&args(&["--to", "external", dir.path().to_str().unwrap()]));
    // The other references are rewritten; the one left naming the VIP makes it exit 1.
    assert_status(&out, 1);
    assert!(read(&deep).starts_with("FROM 192.168.1.50:5000/a\n"));
    assert_eq!(read(&deep).len(), deep_text.len() + LB.len() - VIP.len());
    assert_eq!(read(&other), "FROM 192.168.1.50:5000/b\n");
    let warnings = stderr(&out);
    assert_eq!(warnings.matches("cannot rewrite").count(), 1, "{warnings}");
    assert!(
        warnings.contains("Dockerfile:3: cannot rewrite"),
        "{warnings}"
    );
    assert!(warnings.contains("nested more than"), "{warnings}");

    // 20,000 chained ARGs resolve in linear time: one second is generous.
    let mut chain = String::from("ARG V0=192.168.0.1\n");
    for i in 1..20_000 {
        chain.push_str(&format!("ARG V{i}=${{V{}}}\n", i - 1));
    }
    chain.push_str("FROM ${V19999}/base/x\n");
    let started = std::time::Instant::now();
    let got = filter(VIP, LB, "external", chain.as_bytes());
    let took = started.elapsed();
    assert!(
        String::from_utf8_lossy(&got).starts_with("ARG V0=192.168.1.50:5000\nARG V1=${V0}\n"),
        "the chain's root default is the host"
    );
    assert!(took < std::time::Duration::from_secs(5), "{took:?}");
}

#[test]
fn table_round_trips_byte_for_byte() {
    for (name, internal, external) in ROUND_TRIP {
        let got = filter(VIP, LB, "external", internal.as_bytes());
        assert_eq!(
            String::from_utf8_lossy(&got),
            *external,
            "{name}: internal -> external"
        );
        let back = filter(VIP, LB, "internal", external.as_bytes());
        assert_eq!(
            String::from_utf8_lossy(&back),
            *internal,
            "{name}: external -> internal"
        );
    }
}

#[test]
fn table_leaves_the_rest_alone() {
    for (name, input) in UNTOUCHED {
        for to in ["external", "internal"] {
            let got = filter(VIP, LB, to, input.as_bytes());
            assert_eq!(String::from_utf8_lossy(&got), *input, "{name} --to {to}");
        }
    }
    // Already pointing at the target: nothing to do, in either direction.
    for (name, _, external) in ROUND_TRIP {
        let got = filter(VIP, LB, "external", external.as_bytes());
        assert_eq!(
            String::from_utf8_lossy(&got),
            *external,
            "{name}: already external"
        );
    }
    for (name, internal, _) in ROUND_TRIP {
        let got = filter(VIP, LB, "internal", internal.as_bytes());
        assert_eq!(
            String::from_utf8_lossy(&got),
            *internal,
            "{name}: already internal"
        );
    }
    let binary: Vec<u8> = (0..=255u8).cycle().take(4096).collect();
    assert_eq!(filter(VIP, LB, "external", &binary), binary);
}

#[test]
fn endpoint_spellings_normalize() {
    // h == h:443; the target is written as configured, with no :443 added.
    assert_eq!(
        filter(VIP, LB, "external", b"FROM 192.168.0.1:443/a\n"),
        b"FROM 192.168.1.50:5000/a\n"
    );
    assert_eq!(
        filter(
            "192.168.0.1:443",
            LB,
            "internal",
            b"FROM 192.168.1.50:5000/a\n"
        ),
        b"FROM 192.168.0.1:443/a\n"
    );
    // DNS names compare case-insensitively; the configured spelling is written.
    assert_eq!(
        filter(
            "Registry.Marathon.L4lb.Thisdcos.Directory",
            "lb.example.com:5000",
            "external",
            b"FROM registry.marathon.l4lb.thisdcos.directory:443/a\nFROM REGISTRY.marathon.l4lb.thisdcos.directory/b\n"
        ),
        b"FROM lb.example.com:5000/a\nFROM lb.example.com:5000/b\n"
    );
    // A lookalike port stays when the endpoint has none.
    assert_eq!(
        filter(
            VIP,
            "[fd00::5]:5000",
            "external",
            b"FROM 192.168.0.1:5000/a\nFROM 192.168.0.1/b\n"
        ),
        b"FROM 192.168.0.1:5000/a\nFROM [fd00::5]:5000/b\n"
    );
    // `localhost` is a registry; a bare dotless name is a Docker Hub user.
    assert_eq!(
        filter(
            "localhost:5000",
            "myreg",
            "external",
            b"FROM localhost:5000/a\n"
        ),
        b"FROM myreg/a\n"
    );
    assert_eq!(
        filter("localhost:5000", "myreg", "internal", b"FROM myreg/a\n"),
        b"FROM myreg/a\n"
    );
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap()
}

const BEFORE: &str =
    "FROM 192.168.0.1/base/docker-tomcat-base\nRUN make\nCOPY --from=192.168.0.1/tools /t /t\n";
const AFTER: &str = "FROM 192.168.1.50:5000/base/docker-tomcat-base\nRUN make\nCOPY --from=192.168.1.50:5000/tools /t /t\n";

fn args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec!["--internal", VIP, "--external", LB, "rewrite"];
    v.extend_from_slice(extra);
    v
}

#[test]
fn directories_patterns_git_and_named_files() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let matching = [
        "Dockerfile",
        "svc/Dockerfile.prod",
        "svc/app.Dockerfile",
        "deep/a/b/Containerfile",
        "deep/Containerfile.x",
    ];
    let ignored = [
        ".git/Dockerfile",
        "svc/.git/x/Dockerfile",
        "svc/notes.txt",
        "svc/dockerfile",
    ];
    for f in matching.iter().chain(ignored.iter()) {
        write_file(&root.join(f), BEFORE);
    }
    write_file(&root.join("custom.build"), BEFORE);
    fs::set_permissions(
        root.join("svc/Dockerfile.prod"),
        fs::Permissions::from_mode(0o600),
    )
    .unwrap();

    let root_s = root.to_str().unwrap();
    let custom = root.join("custom.build");
    let out = dcosreg(&args(&[
        "--to",
        "external",
        root_s,
        custom.to_str().unwrap(),
    ]));
    assert_status(&out, 0);
    for f in matching {
        assert_eq!(read(&root.join(f)), AFTER, "{f}");
    }
    assert_eq!(
        read(&custom),
        AFTER,
        "a file named on the command line, whatever its name"
    );
    for f in ignored {
        assert_eq!(read(&root.join(f)), BEFORE, "{f}");
    }
    let mode = fs::metadata(root.join("svc/Dockerfile.prod"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "mode kept");
    // Every change is listed as file:line.
    let listed = stdout(&out);
    assert!(
        listed.contains("svc/app.Dockerfile:3: COPY --from=192.168.0.1/tools"),
        "{listed}"
    );

    // Idempotent: a second run changes nothing and says so.
    let again = dcosreg(&args(&["--to", "external", "--check", root_s]));
    assert_status(&again, 0);
    assert_eq!(stdout(&again), "");
    assert!(
        stderr(&again).contains("nothing to change"),
        "{}",
        stderr(&again)
    );
}

#[test]
fn check_diff_dry_run_and_json_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("Dockerfile");
    write_file(&file, BEFORE);
    let f = file.to_str().unwrap();

    let check = dcosreg(&args(&["--to", "external", "--check", f]));
    assert_status(&check, 1);
    assert_eq!(
        stdout(&check),
        format!(
            "{f}:1: FROM 192.168.0.1/base/docker-tomcat-base -> FROM 192.168.1.50:5000/base/docker-tomcat-base\n{f}:3: COPY --from=192.168.0.1/tools /t /t -> COPY --from=192.168.1.50:5000/tools /t /t\n"
        )
    );

    let diff = dcosreg(&args(&["--to", "external", "--diff", f]));
    assert_status(&diff, 0);
    let text = stdout(&diff);
    // git's form for an absolute path: `a/tmp/…`, not `a//tmp/…`.
    let rel = f.trim_start_matches('/');
    assert!(
        text.starts_with(&format!("--- a/{rel}\n+++ b/{rel}\n@@ -1,3 +1,3 @@\n")),
        "{text}"
    );
    assert!(text.contains("\n-FROM 192.168.0.1/base/docker-tomcat-base\n+FROM 192.168.1.50:5000/base/docker-tomcat-base\n RUN make\n"), "{text}");

    let dry = dcosreg(&args(&["--to", "external", "--dry-run", f]));
    assert_status(&dry, 0);
    assert!(stdout(&dry).contains(":3: COPY"));

    let json = dcosreg(&[
        "--internal",
        VIP,
        "--external",
        LB,
        "--format",
        "json",
        "rewrite",
        "--to",
        "external",
        "--check",
        f,
    ]);
    assert_status(&json, 1);
    let v = support::json(&json);
    assert_eq!(v["changes"][0]["file"], f);
    assert_eq!(v["changes"][0]["line"], 1);
    assert_eq!(
        v["changes"][0]["before"],
        "FROM 192.168.0.1/base/docker-tomcat-base"
    );
    assert_eq!(
        v["changes"][0]["after"],
        "FROM 192.168.1.50:5000/base/docker-tomcat-base"
    );
    assert_eq!(v["changes"][1]["line"], 3);
    assert_eq!(v["written"], false);
    assert_eq!(v["from"], VIP);
    assert_eq!(v["to"], LB);

    assert_eq!(
        read(&file),
        BEFORE,
        "check, diff, dry-run and json --check wrote nothing"
    );

    let json = dcosreg(&[
        "--internal",
        VIP,
        "--external",
        LB,
        "--format",
        "json",
        "rewrite",
        "--to",
        "external",
        f,
    ]);
    assert_status(&json, 0);
    let v = support::json(&json);
    assert_eq!(v["written"], true);
    assert_eq!(v["files_changed"], 1);
    assert_eq!(read(&file), AFTER);
}

#[test]
fn stdin_to_stdout() {
    for extra in [&["-"][..], &[][..]] {
        let mut a = args(&["--to", "external"]);
        a.extend_from_slice(extra);
        let out = with_stdin(&a, BEFORE.as_bytes());
        assert_status(&out, 0);
        assert_eq!(stdout(&out), AFTER);
    }
    let out = with_stdin(
        &args(&["--to", "external", "--check", "-"]),
        BEFORE.as_bytes(),
    );
    assert_status(&out, 1);
    assert!(
        stdout(&out).starts_with("-:1: FROM 192.168.0.1/"),
        "{}",
        stdout(&out)
    );
}

/// No path with a terminal on stdin: a hint on stderr says what is being waited for, and
/// the Dockerfile typed there is still read and rewritten.
#[test]
fn stdin_on_a_terminal_gets_a_hint_and_is_still_read() {
    let script = support::require_tool("script");
    let mut command_line = vec![support::bin_path().display().to_string()];
    command_line.extend(args(&["--to", "external"]).iter().map(|a| a.to_string()));
    let mut on_a_terminal = std::process::Command::new(script);
    on_a_terminal.args(["-qec", &command_line.join(" "), "/dev/null"]);
    // Ctrl-D at the start of a line is the terminal's end of file.
    let out = Dcosreg::via(on_a_terminal)
        .stdin("FROM 192.168.0.1/base\n\x04")
        .timeout(std::time::Duration::from_secs(30))
        .run();
    assert_status(&out, 0);
    let text = stdout(&out);
    assert!(
        text.contains("note: reading a Dockerfile from stdin (end it with Ctrl-D) — give a path"),
        "{text}"
    );
    assert!(text.contains("FROM 192.168.1.50:5000/base"), "{text}");
    // Not on a terminal: no hint.
    let out = with_stdin(&args(&["--to", "external"]), BEFORE.as_bytes());
    assert!(!stderr(&out).contains("note:"), "{}", stderr(&out));
}

#[test]
fn symlinks_are_written_through() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("real.Dockerfile");
    write_file(&target, BEFORE);
    let link = dir.path().join("Dockerfile");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let out = dcosreg(&args(&["--to", "external", link.to_str().unwrap()]));
    assert_status(&out, 0);
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(read(&target), AFTER);
}

#[test]
fn bad_input_is_exit_2_with_nothing_written() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("Dockerfile");
    write_file(&good, BEFORE);
    let missing = dir.path().join("missing/Dockerfile");
    let out = dcosreg(&args(&[
        "--to",
        "external",
        good.to_str().unwrap(),
        missing.to_str().unwrap(),
    ]));
    assert_status(&out, 2);
    let err = stderr(&out);
    assert!(err.starts_with("docker-dcosreg: cannot read "), "{err}");
    assert!(err.contains(" — "), "{err}");
    assert_eq!(read(&good), BEFORE);

    let fifo = dir.path().join("fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let out = dcosreg(&args(&[
        "--to",
        "external",
        good.to_str().unwrap(),
        fifo.to_str().unwrap(),
    ]));
    assert_status(&out, 2);
    assert!(
        stderr(&out).contains("not a regular file"),
        "{}",
        stderr(&out)
    );
    assert_eq!(read(&good), BEFORE);
}

/// `--to auto` against real TLS registries on loopback: one answers, the other refuses.
#[test]
fn auto_points_at_the_endpoint_that_answers() {
    let dir = tempfile::tempdir().unwrap();
    let ip = unique_loopback_ip();
    let chain = TestChain::new(dir.path(), &[&ip]);
    let port = support::free_port(&ip);
    let _registry = Registry::start(&ip, port, &chain.chain_pem, &chain.key_pem);
    let live = format!("{ip}:{port}");
    let dead = format!("{ip}:{}", refused_port(&ip));
    let file = dir.path().join("Dockerfile");
    let f = file.to_str().unwrap();

    // The internal endpoint answers: references to the external one move to it.
    write_file(&file, format!("FROM {dead}/base/x\n"));
    let out = dcosreg(&[
        "--internal",
        &live,
        "--external",
        &dead,
        "--timeout",
        "5s",
        "rewrite",
        "--to",
        "auto",
        f,
    ]);
    assert_status(&out, 0);
    assert_eq!(read(&file), format!("FROM {live}/base/x\n"));
    assert!(
        stderr(&out).contains("internal endpoint"),
        "{}",
        stderr(&out)
    );

    // Only the external endpoint answers: references to the internal one move to it
    // (`auto` is the default).
    let out = dcosreg(&[
        "--internal",
        &dead,
        "--external",
        &live,
        "--timeout",
        "5s",
        "rewrite",
        f,
    ]);
    assert_status(&out, 0);
    assert_eq!(read(&file), format!("FROM {live}/base/x\n"));
    write_file(&file, format!("FROM {dead}/base/x\n"));
    let out = dcosreg(&[
        "--internal",
        &dead,
        "--external",
        &live,
        "--timeout",
        "5s",
        "rewrite",
        f,
    ]);
    assert_status(&out, 0);
    assert_eq!(read(&file), format!("FROM {live}/base/x\n"));
}

#[test]
fn auto_with_nothing_answering_is_exit_1_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let ip = unique_loopback_ip();
    let a = format!("{ip}:{}", refused_port(&ip));
    let b = format!("{ip}:{}", refused_port(&ip));
    let file = dir.path().join("Dockerfile");
    write_file(&file, format!("FROM {a}/x\nFROM {b}/y\n"));
    let out = dcosreg(&[
        "--internal",
        &a,
        "--external",
        &b,
        "--timeout",
        "1500ms",
        "rewrite",
        "--to",
        "auto",
        file.to_str().unwrap(),
    ]);
    assert_status(&out, 1);
    let err = stderr(&out);
    // One unit, as --timeout takes it back (not humantime's "1s 500ms").
    assert!(
        err.starts_with(
            "docker-dcosreg: --to auto: no registry endpoint answered within 1500ms — "
        ),
        "{err}"
    );
    assert_eq!(read(&file), format!("FROM {a}/x\nFROM {b}/y\n"));
}

/// `--to auto` with nothing naming either endpoint decides nothing: no connection is made
/// (a listener on loopback stands in for both endpoints and must see none), exit 0, and the
/// summary says why. With a reference to one of them it still probes.
#[test]
fn auto_with_nothing_to_rewrite_probes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let ip = unique_loopback_ip();
    let listener = std::net::TcpListener::bind((ip.as_str(), 0)).unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let (internal, external) = (format!("{ip}:{port}"), format!("[::ffff:{ip}]:{port}"));
    let file = dir.path().join("Dockerfile");
    write_file(&file, "FROM debian:12\nRUN true\n");
    let run = |extra: &[&str]| {
        Dcosreg::new(["--internal", &internal, "--external", &external])
            .args(["--timeout", "1s", "rewrite"])
            .args(extra)
            .arg(&file)
            .run()
    };
    let out = run(&[]);
    assert_status(&out, 0);
    assert!(
        stderr(&out).contains(&format!(
            "nothing to change: no image reference names {external} or {internal} (--to auto probed no endpoint)"
        )),
        "{}",
        stderr(&out)
    );
    let out = run(&["--format", "json", "--check"]);
    assert_status(&out, 0);
    let v = support::json(&out);
    assert_eq!(v["probed"], false);
    assert_eq!(v["files_changed"], 0);
    assert!(
        matches!(listener.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "--to auto connected although nothing names an endpoint"
    );
    assert_eq!(read(&file), "FROM debian:12\nRUN true\n");

    // A reference to the external endpoint: now the endpoints are probed.
    write_file(&file, format!("FROM {external}/base\n"));
    let out = run(&["--check"]);
    assert_status(&out, 1);
    let mut connected = false;
    for _ in 0..50 {
        match listener.accept() {
            Ok(_) => {
                connected = true;
                break;
            }
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(10)),
        }
    }
    assert!(connected, "--to auto probed nothing: {}", stderr(&out));
}

/// `build` does not start when a reference would still pull from the old endpoint: it
/// names the line and exits 1, and the same file without that reference plans a build.
#[test]
fn build_refuses_to_start_while_a_reference_is_left_behind() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ctx = dir.path().to_str().unwrap().to_string();
    let plan = |dockerfile: &str| {
        write_file(&dir.path().join("Dockerfile"), dockerfile);
        dcosreg(&[
            "--internal",
            VIP,
            "--external",
            LB,
            "build",
            "--to",
            "external",
            "--dry-run",
            "-t",
            "app:1",
            &ctx,
        ])
    };
    let out = plan("FROM 192.168.0.1/a\nFROM 192.168.\\\n0.1/b\n");
    assert_status(&out, 1);
    let said = stderr(&out);
    assert!(
        said.contains("line 2") && said.contains("build not started"),
        "{said}"
    );
    assert!(stdout(&out).is_empty(), "a refused build printed a plan");
    let out = plan("FROM 192.168.0.1/a\nFROM 192.168.0.\"1\"/b\n");
    assert_status(&out, 0);
}
