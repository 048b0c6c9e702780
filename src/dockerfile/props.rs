//! Property tests for the lexer and the rewrite (proptest).
//!
//! Dockerfiles are generated from pieces whose expected rewrite is known: a registry host
//! in an image position that names the internal endpoint must become the external one;
//! every other byte (lookalike hosts, hosts in RUN/ENV/LABEL/comments/heredoc bodies,
//! quotes, continuations, CRLF) must come out unchanged. Arbitrary bytes must lex
//! losslessly and, with endpoints they do not mention, come back untouched.

use proptest::prelude::*;

use super::lexer::parse;
use super::rewrite::{retarget, rewrite, BuildArgs};
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
        // A stage-scoped ARG never reaches a FROM.
        (host(round_trip), 0u8..3).prop_map(move |((h, _), n)| unchanged(format!(
            "FROM scratch{nl}ARG S{n}={h}{nl}FROM ${{S{n}}}/x{nl}"
        ))),
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
        // The internal host in one piece on one line, quotes or escapes inside: replaced
        // whole (the round trip cannot give the quotes back, so it gets none).
        (
            proptest::sample::select(vec![
                "192.168.\"0.1\"",
                "\"192.168.0\".1",
                "192.168.0\\.1",
                "'192'.168.0.1",
                "192.168.0.\"1\"",
            ]),
            s()
        )
            .prop_map(move |(h, s1)| if round_trip {
                unchanged(format!("FROM{s1}192.168.0.1/q{nl}"))
            } else {
                (format!("FROM{s1}{h}/q{nl}"), format!("FROM{s1}{LB}/q{nl}"))
            }),
    ]
}

/// How a `FROM` uses the meta ARG `R{n}`.
#[derive(Debug, Clone)]
enum Use {
    /// `${Rn}/x`: the value is the registry host.
    Host,
    /// `${Rn}SUFFIX/x`: the host is the value plus more (`0`, `:5000`, `.nip.io`).
    Append(&'static str),
    /// `${Rn}`: the whole reference (no registry).
    Bare,
    /// `${Rn:-HOST}/x`: the default counts only when Rn is not set.
    Default(String, bool),
    /// A stage that inherits Rn (`ARG Rn`) and uses it as is (`RUN echo ${Rn}`): the ARG is
    /// still the registry.
    Inherit,
    /// A stage that inherits Rn and makes another host of it (`${Rn}0`, `$Rn.nip.io`).
    InheritAppend(&'static str),
}

fn uses(round_trip: bool) -> impl Strategy<Value = (u8, Use)> {
    let kinds = prop_oneof![
        Just(Use::Host),
        proptest::sample::select(vec!["0", ":5000", ".nip.io"]).prop_map(Use::Append),
        Just(Use::Bare),
        host(round_trip).prop_map(|(h, m)| Use::Default(h, m)),
        Just(Use::Inherit),
        proptest::sample::select(vec!["0", ".nip.io", ":5000"]).prop_map(Use::InheritAppend),
    ];
    (0u8..3, kinds)
}

/// The reference model for meta ARGs: the last `ARG Rn=` before the first FROM is the
/// value every `${Rn}` sees; its host changes when a FROM takes its registry from it and
/// every use puts it in host position or uses it as is in a stage that inherits it;
/// otherwise each host-position use is reported. Returns (input, expected,
/// number of skipped references).
fn meta_args(
    defs: &[(u8, (String, bool))],
    uses: &[(u8, Use)],
    nl: &str,
) -> (String, String, String, String, usize) {
    let last = |n: u8| defs.iter().rposition(|(d, _)| *d == n);
    let mut head_in = String::new();
    let mut head_out = String::new();
    let mut skipped = 0;
    for (i, (n, (h, m))) in defs.iter().enumerate() {
        let mine: Vec<&Use> = uses
            .iter()
            .filter(|(u, _)| u == n)
            .map(|(_, u)| u)
            .collect();
        let used = last(*n) == Some(i)
            && mine
                .iter()
                .any(|u| matches!(u, Use::Host | Use::Default(..)));
        let host_only = mine
            .iter()
            .all(|u| matches!(u, Use::Host | Use::Default(..) | Use::Inherit));
        let change = used && *m && host_only;
        if used && *m && !host_only {
            skipped += mine
                .iter()
                .filter(|u| matches!(u, Use::Host | Use::Default(..)))
                .count();
        }
        head_in.push_str(&format!("ARG R{n}={h}{nl}"));
        head_out.push_str(&format!("ARG R{n}={}{nl}", if change { LB } else { h }));
    }
    let mut body_in = String::new();
    let mut body_out = String::new();
    for (n, u) in uses {
        let (a, b) = match u {
            Use::Host => (format!("${{R{n}}}/x"), format!("${{R{n}}}/x")),
            Use::Append(s) => (format!("${{R{n}}}{s}/x"), format!("${{R{n}}}{s}/x")),
            Use::Bare => (format!("${{R{n}}}"), format!("${{R{n}}}")),
            Use::Default(h, m) => {
                let to = if *m && last(*n).is_none() { LB } else { h };
                (format!("${{R{n}:-{h}}}/x"), format!("${{R{n}:-{to}}}/x"))
            }
            Use::Inherit | Use::InheritAppend(_) => {
                let tail = match u {
                    Use::InheritAppend(s) => *s,
                    _ => "",
                };
                let stage = format!("FROM scratch{nl}ARG R{n}{nl}RUN echo ${{R{n}}}{tail}{nl}");
                body_in.push_str(&stage);
                body_out.push_str(&stage);
                continue;
            }
        };
        body_in.push_str(&format!("FROM {a}{nl}"));
        body_out.push_str(&format!("FROM {b}{nl}"));
    }
    (head_in, head_out, body_in, body_out, skipped)
}

/// A whole file as (input, expected, skipped); CRLF or LF; final newline optional.
fn dockerfile_with_args(round_trip: bool) -> impl Strategy<Value = (String, String, usize)> {
    proptest::sample::select(vec!["\n", "\r\n"])
        .prop_flat_map(move |nl| {
            (
                proptest::collection::vec((0u8..3, host(round_trip)), 0..4),
                proptest::collection::vec(uses(round_trip), 0..5),
                proptest::collection::vec(piece(round_trip, nl), 1..10),
                proptest::bool::ANY,
                proptest::bool::ANY,
                Just(nl),
            )
        })
        .prop_map(|(defs, uses, pieces, bom, trim_end, nl)| {
            let (head_in, head_out, body_in, body_out, skipped) = meta_args(&defs, &uses, nl);
            let mut input = String::new();
            let mut expected = String::new();
            if bom {
                input.push('\u{feff}');
                expected.push('\u{feff}');
            }
            input.push_str(&head_in);
            expected.push_str(&head_out);
            input.push_str(&body_in);
            expected.push_str(&body_out);
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
            (input, expected, skipped)
        })
}

fn dockerfile(round_trip: bool) -> impl Strategy<Value = (String, String)> {
    dockerfile_with_args(round_trip).prop_map(|(a, b, _)| (a, b))
}

fn apply(input: &str, from: &str, to: &str) -> String {
    match rewrite(input.as_bytes(), &ep(from), &ep(to)) {
        Some(out) => String::from_utf8(out).expect("edits keep UTF-8"),
        None => input.to_string(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Every reference span changes as the model says, no other byte changes, and every
    /// reference the model cannot rewrite is reported.
    #[test]
    fn only_reference_hosts_change((input, expected, skipped) in dockerfile_with_args(false)) {
        let out = retarget(input.as_bytes(), &ep(VIP), &ep(LB), &BuildArgs::new());
        let text = out.text.map_or(input.clone(), |t| String::from_utf8(t).expect("utf-8"));
        prop_assert_eq!(text, expected);
        prop_assert_eq!(out.skipped.len(), skipped, "{:?}", out.skipped);
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
