//! BuildKit's own parser testfiles as an oracle for the lexer.
//!
//! tests/data/buildkit-parser/ holds frontend/dockerfile/parser/testfiles/*/{Dockerfile,result}
//! from moby/buildkit (Apache-2.0): each `result` is BuildKit's `Node.Dump()` of the file.
//! We rebuild that dump from our logical lines with our ports of the line parsers and
//! compare line by line, so directives, continuations, comments, heredocs, flags, JSON
//! forms and word splitting are checked against what BuildKit itself produced.

use std::path::Path;

use super::lexer::parse;
use super::text::{is_byte_space, lower_eq};
use super::words::{is_json_string_array, parse_words, split_command, split_whitespace};

/// Go's `strconv.Quote` for the characters these files contain.
fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if !c.is_ascii() && (c.is_whitespace() || c.is_control()) => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn text(line: &[u8], r: std::ops::Range<usize>) -> String {
    String::from_utf8_lossy(&line[r]).into_owned()
}

/// `parseJSON` values, when the arguments are a JSON array of strings.
fn json_values(args: &str) -> Option<Vec<String>> {
    if !is_json_string_array(args.as_bytes()) {
        return None;
    }
    let values: Vec<serde_json::Value> = serde_json::from_str(args.trim_start()).ok()?;
    Some(
        values
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
    )
}

/// `Node.Dump()` of one instruction (without the outer parentheses).
fn dump(line: &[u8], range: std::ops::Range<usize>, escape: u8) -> String {
    let cmd = split_command(line, range, escape);
    let name = text(line, cmd.name.clone());
    let args = text(line, cmd.args.clone());
    let mut out = name.to_lowercase();
    if !cmd.flags.is_empty() {
        let flags: Vec<String> = cmd
            .flags
            .iter()
            .map(|f| quote(&String::from_utf8_lossy(&f.text)))
            .collect();
        out.push_str(&format!(" [{}]", flags.join(" ")));
    }
    let words = |ranges: Vec<std::ops::Range<usize>>| -> Vec<String> {
        ranges.into_iter().map(|r| text(line, r)).collect()
    };
    let is = |k: &str| lower_eq(name.as_bytes(), k);
    let values: Vec<String> = if is("onbuild") {
        if args.is_empty() {
            vec![]
        } else {
            return format!("{out} ({})", dump(line, cmd.args.clone(), escape));
        }
    } else if is("run") || is("cmd") || is("entrypoint") || is("shell") {
        match json_values(&args) {
            Some(v) => v,
            None if args.is_empty() => vec![],
            None => vec![args.clone()],
        }
    } else if is("copy") || is("add") || is("volume") {
        json_values(&args).unwrap_or_else(|| words(split_whitespace(line, cmd.args.clone())))
    } else if is("from") || is("expose") {
        words(split_whitespace(line, cmd.args.clone()))
    } else if is("arg") {
        words(parse_words(line, cmd.args.clone(), escape))
    } else if is("maintainer") || is("user") || is("workdir") || is("stopsignal") {
        if args.is_empty() {
            vec![]
        } else {
            vec![args.clone()]
        }
    } else if is("env") || is("label") {
        let ws = words(parse_words(line, cmd.args.clone(), escape));
        match ws.first() {
            None => vec![],
            Some(first) if !first.contains('=') => {
                let parts = split_whitespace(line, cmd.args.clone());
                let key = text(line, parts[0].clone());
                let rest_start = parts.get(1).map_or(cmd.args.end, |r| r.start);
                vec![key, text(line, rest_start..cmd.args.end), String::new()]
            }
            Some(_) => ws
                .iter()
                .flat_map(|w| {
                    let (k, v) = w.split_once('=').unwrap_or((w, ""));
                    [k.to_string(), v.to_string(), "=".to_string()]
                })
                .collect(),
        }
    } else if is("healthcheck") {
        let b = args.as_bytes();
        let sep = b.iter().position(|&c| is_byte_space(c)).unwrap_or(b.len());
        if sep == 0 {
            vec![]
        } else {
            let next = (sep..b.len())
                .find(|&i| !is_byte_space(b[i]))
                .unwrap_or(b.len());
            let rest = &args[next..];
            let mut v = vec![args[..sep].to_string()];
            match json_values(rest) {
                Some(j) => v.extend(j),
                None if rest.is_empty() => {}
                None => v.push(rest.to_string()),
            }
            v
        }
    } else {
        vec![String::new()] // parseIgnore: one empty node
    };
    for v in values {
        out.push(' ');
        out.push_str(&quote(&v));
    }
    out
}

#[test]
fn our_parse_dumps_like_buildkit_testfiles() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/buildkit-parser");
    let mut dirs: Vec<_> = std::fs::read_dir(&root)
        .expect("tests/data/buildkit-parser")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 30, "testfiles missing: {}", root.display());
    let mut failures = Vec::new();
    for dir in dirs {
        let src = std::fs::read(dir.join("Dockerfile")).expect("Dockerfile");
        let expected = std::fs::read_to_string(dir.join("result")).expect("result");
        let df = parse(&src);
        let ours: Vec<String> = df
            .instructions
            .iter()
            .map(|i| format!("({})", dump(&i.text, 0..i.text.len(), df.escape)))
            .collect();
        let theirs: Vec<&str> = expected.lines().collect();
        if ours != theirs {
            failures.push(format!(
                "{}:\n  ours:   {ours:?}\n  theirs: {theirs:?}",
                dir.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
