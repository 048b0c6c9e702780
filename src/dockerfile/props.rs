//! Property tests for the lexer and the rewrite (proptest).
//!
//! Dockerfiles are generated from pieces whose expected rewrite is known: a registry host
//! in an image position that names the internal endpoint must become the external one;
//! every other byte (lookalike hosts, hosts in RUN/ENV/LABEL/comments/heredoc bodies,
//! quotes, continuations, CRLF) must come out unchanged. Arbitrary bytes must lex
//! losslessly and, with endpoints they do not mention, come back untouched.

use proptest::prelude::*;

use super::lexer::parse;
use super::rewrite::rewrite;
use crate::endpoint::Endpoint;

const VIP: &str = "192.168.0.1";
const LB: &str = "192.168.1.50:5000";

fn ep(s: &str) -> Endpoint {
    s.parse().expect("endpoint")
}

/// A registry host and whether it names the internal endpoint.
fn host(round_trip: bool) -> BoxedStrategy<(String, bool)> {
    let mut hosts = vec![
        (VIP, true),
        ("192.168.0.10", false),
        ("192.168.0.1.nip.io", false),
        ("192.168.0.1:5000", false),
        ("registry.example.com", false),
        ("docker.io", false),
        ("library", false),
        ("localhost:5000", false),
    ];
    if !round_trip {
        hosts.push(("192.168.0.1:443", true));
        hosts.push((LB, false));
    }
    proptest::sample::select(hosts)
        .prop_map(|(h, m)| (h.to_string(), m))
        .boxed()
}

/// `host/path[:tag]` and its expected rewrite.
fn reference(round_trip: bool) -> impl Strategy<Value = (String, String)> {
    (
        host(round_trip),
        "[a-z0-9]{1,6}(/[a-z0-9]{1,6})?",
        "(:[a-z0-9.]{1,5})?",
    )
        .prop_map(|((host, matches), path, tag)| {
            let to = if matches { LB } else { host.as_str() };
            (format!("{host}/{path}{tag}"), format!("{to}/{path}{tag}"))
        })
}

/// Quote a reference the same way on both sides.
fn quoted(round_trip: bool) -> impl Strategy<Value = (String, String)> {
    (
        reference(round_trip),
        proptest::sample::select(vec!["", "\"", "'"]),
    )
        .prop_map(|((a, b), q)| (format!("{q}{a}{q}"), format!("{q}{b}{q}")))
}

/// White space between words, continuations (with comments/blank lines inside) included.
fn sep(nl: &'static str) -> impl Strategy<Value = String> {
    proptest::sample::select(vec![
        " ".to_string(),
        "  ".to_string(),
        "\t".to_string(),
        format!(" \\{nl}  "),
        format!(" \\ \t{nl}# inside{nl}{nl}  "),
    ])
}

/// One instruction (or comment/blank/heredoc) as (input, expected output).
fn piece(round_trip: bool, nl: &'static str) -> impl Strategy<Value = (String, String)> {
    let s = || sep(nl);
    let unchanged = |t: String| (t.clone(), t);
    prop_oneof![
        (
            s(),
            quoted(round_trip),
            proptest::option::of("[a-z][a-z0-9]{0,5}"),
            s()
        )
            .prop_map(move |(s1, (a, b), stage, s2)| {
                let tail = stage.map(|n| format!("{s2}AS{s2}{n}")).unwrap_or_default();
                (
                    format!("FROM{s1}{a}{tail}{nl}"),
                    format!("FROM{s1}{b}{tail}{nl}"),
                )
            }),
        (s(), quoted(round_trip), s()).prop_map(move |(s1, (a, b), s2)| (
            format!("FROM{s1}--platform=linux/amd64{s2}{a}{nl}"),
            format!("FROM{s1}--platform=linux/amd64{s2}{b}{nl}")
        )),
        (s(), quoted(round_trip)).prop_map(move |(s1, (a, b))| (
            format!("copy{s1}--from={a}{s1}/a /b{nl}"),
            format!("copy{s1}--from={b}{s1}/a /b{nl}")
        )),
        (s(), reference(round_trip)).prop_map(move |(s1, (a, b))| (
            format!("RUN{s1}--mount=type=bind,from={a},target=/t{s1}true{nl}"),
            format!("RUN{s1}--mount=type=bind,from={b},target=/t{s1}true{nl}")
        )),
        reference(round_trip).prop_map(move |(a, b)| (
            format!("ONBUILD COPY --from={a} x y{nl}"),
            format!("ONBUILD COPY --from={b} x y{nl}")
        )),
        (host(round_trip), 0u8..3).prop_map(move |((h, m), n)| {
            let to = if m { LB } else { h.as_str() };
            (
                format!("ARG R{n}={h}{nl}FROM ${{R{n}}}/x{nl}"),
                format!("ARG R{n}={to}{nl}FROM ${{R{n}}}/x{nl}"),
            )
        }),
        host(round_trip).prop_map(move |(h, m)| {
            let to = if m { LB } else { h.as_str() };
            (
                format!("FROM ${{REG:-{h}}}/base{nl}"),
                format!("FROM ${{REG:-{to}}}/base{nl}"),
            )
        }),
        // Not image positions: never changed.
        (s(), reference(round_trip))
            .prop_map(move |(s1, (a, _))| unchanged(format!("RUN{s1}docker pull {a}{nl}"))),
        reference(round_trip).prop_map(move |(a, _)| unchanged(format!("ENV IMG={a}{nl}"))),
        reference(round_trip).prop_map(move |(a, _)| unchanged(format!("ARG UNUSED={a}{nl}"))),
        reference(round_trip).prop_map(move |(a, _)| unchanged(format!("# FROM {a}{nl}"))),
        reference(round_trip)
            .prop_map(move |(a, _)| unchanged(format!("RUN [\"echo\", \"{a}\"]{nl}"))),
        (reference(round_trip), proptest::bool::ANY).prop_map(move |((a, _), chomp)| {
            let (dash, tab) = if chomp { ("-", "\t") } else { ("", "") };
            unchanged(format!(
                "RUN <<{dash}EOF{nl}FROM {a}{nl}{tab}COPY --from={a} / /{nl}{tab}EOF{nl}"
            ))
        }),
        Just(unchanged(nl.to_string())),
    ]
}

/// A whole file as (input, expected); CRLF or LF; final newline optional.
fn dockerfile(round_trip: bool) -> impl Strategy<Value = (String, String)> {
    proptest::sample::select(vec!["\n", "\r\n"])
        .prop_flat_map(move |nl| {
            (
                proptest::collection::vec(piece(round_trip, nl), 1..10),
                proptest::bool::ANY,
                proptest::bool::ANY,
            )
        })
        .prop_map(|(pieces, bom, trim_end)| {
            let mut input = String::new();
            let mut expected = String::new();
            if bom {
                input.push('\u{feff}');
                expected.push('\u{feff}');
            }
            for (a, b) in pieces {
                input.push_str(&a);
                expected.push_str(&b);
            }
            if trim_end {
                // No final newline (a heredoc then ends at EOF without its newline).
                let trimmed = |s: &mut String| {
                    while s.ends_with(['\r', '\n']) {
                        s.pop();
                    }
                };
                trimmed(&mut input);
                trimmed(&mut expected);
            }
            (input, expected)
        })
}

fn apply(input: &str, from: &str, to: &str) -> String {
    match rewrite(input.as_bytes(), &ep(from), &ep(to)) {
        Some(out) => String::from_utf8(out).expect("edits keep UTF-8"),
        None => input.to_string(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Every reference span changes as expected and no other byte changes.
    #[test]
    fn only_reference_hosts_change((input, expected) in dockerfile(false)) {
        prop_assert_eq!(apply(&input, VIP, LB), expected);
    }

    /// internal -> external -> internal is the identity when the input used one spelling.
    #[test]
    fn round_trip_is_identity((input, _) in dockerfile(true)) {
        let there = apply(&input, VIP, LB);
        prop_assert_eq!(apply(&there, LB, VIP), input);
    }

    /// Endpoints the file does not mention: nothing changes.
    #[test]
    fn absent_endpoints_change_nothing((input, _) in dockerfile(false)) {
        prop_assert!(rewrite(input.as_bytes(), &ep("10.99.0.1"), &ep("10.99.0.2:5000")).is_none());
    }

    /// Arbitrary bytes: the tokens give the input back, and nothing is rewritten.
    #[test]
    fn arbitrary_bytes_are_lossless(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let df = parse(&bytes);
        let mut joined = Vec::new();
        let mut at = 0;
        for token in &df.tokens {
            prop_assert_eq!(token.span.start, at);
            joined.extend_from_slice(&bytes[token.span.clone()]);
            at = token.span.end;
        }
        prop_assert_eq!(joined, bytes.clone());
        prop_assert!(rewrite(&bytes, &ep("10.99.0.1"), &ep("10.99.0.2:5000")).is_none());
    }

    /// Dockerfile-ish noise around real references never panics and stays lossless.
    #[test]
    fn noisy_text_is_lossless(text in "([A-Za-z]{1,6}|FROM|RUN|COPY|ARG|<<-?[A-Z]{1,3}|[ \t]|\\\\|`|\r?\n|#|\\$\\{|[:=/\"',]|192\\.168\\.0\\.1/x|--from=|--mount=from=){0,60}") {
        let df = parse(text.as_bytes());
        let total: usize = df.tokens.iter().map(|t| t.span.len()).sum();
        prop_assert_eq!(total, text.len());
        if let Some(out) = rewrite(text.as_bytes(), &ep(VIP), &ep(LB)) {
            prop_assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), text.matches('\n').count());
        }
    }
}
