//! How BuildKit cuts one logical line into a command, its `--flags` and its arguments.
//!
//! Ports of `splitCommand`/`extractBuilderFlags` (frontend/dockerfile/parser/split_command.go),
//! `parseWords`, `parseStringsWhitespaceDelimited` and `parseJSON` (line_parsers.go) that
//! return positions in the logical line instead of copies, so that a rewrite can find the
//! exact bytes behind a value after quotes and escapes were removed.

use std::ops::Range;

use super::text::{is_byte_space, is_re_space, space_len_at, trim_space};

/// A `--name=value` word before the arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Flag {
    /// The word as BuildKit sees it: quotes and escapes removed.
    pub(crate) text: Vec<u8>,
    /// For each byte of `text`, its position in the logical line.
    pub(crate) map: Vec<usize>,
}

impl Flag {
    /// The value of `--name=value` with its map, when this flag is `name`.
    pub(crate) fn value_of(&self, name: &str) -> Option<(&[u8], &[usize])> {
        let rest = self.text.strip_prefix(b"--")?;
        let after = rest.strip_prefix(name.as_bytes())?.strip_prefix(b"=")?;
        let start = self.text.len() - after.len();
        Some((after, &self.map[start..]))
    }
}

/// One logical line cut the way `splitCommand` does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Command {
    pub(crate) name: Range<usize>,
    pub(crate) flags: Vec<Flag>,
    /// The arguments after the flags, trimmed (`strings.TrimSpace`).
    pub(crate) args: Range<usize>,
}

/// `splitCommand`: trim, cut at the first run of `[\t\v\f\r ]`, then extract the flags.
pub(crate) fn split_command(line: &[u8], range: Range<usize>, escape: u8) -> Command {
    let (start, end) = trim_space(line, range.start, range.end);
    let Some(cut) = (start..end).find(|&i| is_re_space(line[i])) else {
        return Command {
            name: start..end,
            flags: Vec::new(),
            args: end..end,
        };
    };
    let mut rest = cut;
    while rest < end && is_re_space(line[rest]) {
        rest += 1;
    }
    let (args_start, flags) = extract_flags(line, rest, end, escape);
    let (args_start, args_end) = trim_space(line, args_start, end);
    Command {
        name: start..cut,
        flags,
        args: args_start..args_end,
    }
}

/// `extractBuilderFlags`: leading words that start with `--`, up to a bare `--`.
/// Returns where the arguments begin and the flags. Walks bytes, as the Go code does.
fn extract_flags(line: &[u8], start: usize, end: usize, escape: u8) -> (usize, Vec<Flag>) {
    let mut reader = FlagReader {
        line,
        end,
        escape,
        flags: Vec::new(),
        text: Vec::new(),
        map: Vec::new(),
        blank_ok: false,
    };
    let mut phase = Phase::Spaces;
    let mut pos = start;
    loop {
        if phase == Phase::Spaces {
            if pos == end {
                return (end, reader.flags);
            }
            if is_byte_space(line[pos]) {
                pos += 1;
                continue;
            }
            if line[pos] != b'-' || pos + 1 == end || line[pos + 1] != b'-' {
                return (pos, reader.flags);
            }
            phase = Phase::Word;
        }
        if pos == end {
            reader.end_flag();
            return (end, reader.flags);
        }
        let step = match phase {
            Phase::Word => reader.word(pos),
            Phase::Quote(quote) => reader.quoted(pos, quote),
            Phase::Spaces => unreachable!("handled above"),
        };
        match step {
            Step::Go(next, at) => (phase, pos) = (next, at),
            Step::Stop(at) => return (at, reader.flags),
        }
    }
}

/// Where `extractBuilderFlags` is: between words, in a word, or in a quoted part of one.
#[derive(Clone, Copy, PartialEq)]
enum Phase {
    Spaces,
    Word,
    Quote(u8),
}

/// What one byte led to: go on in a phase from a position, or stop with the arguments there.
enum Step {
    Go(Phase, usize),
    Stop(usize),
}

/// The flags read so far and the one being read (its bytes and their source offsets).
struct FlagReader<'a> {
    line: &'a [u8],
    end: usize,
    escape: u8,
    flags: Vec<Flag>,
    text: Vec<u8>,
    map: Vec<usize>,
    /// A quoted empty word (`--x=""`) is a flag too.
    blank_ok: bool,
}

impl FlagReader<'_> {
    /// The line ended inside a word: keep it unless it is the bare `--`.
    fn end_flag(&mut self) {
        if self.text != b"--" && (self.blank_ok || !self.text.is_empty()) {
            self.flags.push(Flag {
                text: std::mem::take(&mut self.text),
                map: std::mem::take(&mut self.map),
            });
        }
    }

    fn take(&mut self, pos: usize) {
        self.text.push(self.line[pos]);
        self.map.push(pos);
    }

    /// One byte of an unquoted word.
    fn word(&mut self, pos: usize) -> Step {
        let ch = self.line[pos];
        if is_byte_space(ch) {
            if self.text == b"--" {
                return Step::Stop(pos);
            }
            if self.blank_ok || !self.text.is_empty() {
                self.flags.push(Flag {
                    text: std::mem::take(&mut self.text),
                    map: std::mem::take(&mut self.map),
                });
            }
            self.text.clear();
            self.map.clear();
            self.blank_ok = false;
            return Step::Go(Phase::Spaces, pos + 1);
        }
        if ch == b'\'' || ch == b'"' {
            self.blank_ok = true;
            return Step::Go(Phase::Quote(ch), pos + 1);
        }
        self.take_escaped(pos, Phase::Word)
    }

    /// One byte inside `quote`s.
    fn quoted(&mut self, pos: usize, quote: u8) -> Step {
        let ch = self.line[pos];
        if ch == quote {
            return Step::Go(Phase::Word, pos + 1);
        }
        self.take_escaped(pos, Phase::Quote(quote))
    }

    /// The byte at `pos` into the flag, then on in `phase`: the escape character takes the
    /// byte after it as it is, and is dropped at the line's end (which ends a quote too).
    fn take_escaped(&mut self, pos: usize, phase: Phase) -> Step {
        let mut pos = pos;
        if self.line[pos] == self.escape {
            if pos + 1 == self.end {
                return Step::Go(Phase::Word, pos + 1);
            }
            pos += 1;
        }
        self.take(pos);
        Step::Go(phase, pos + 1)
    }
}

/// `parseStringsWhitespaceDelimited`: split on runs of `[\t\v\f\r ]`, no quoting.
pub(crate) fn split_whitespace(line: &[u8], range: Range<usize>) -> Vec<Range<usize>> {
    let mut words = Vec::new();
    let mut i = range.start;
    while i < range.end {
        while i < range.end && is_re_space(line[i]) {
            i += 1;
        }
        let start = i;
        while i < range.end && !is_re_space(line[i]) {
            i += 1;
        }
        if i > start {
            words.push(start..i);
        }
    }
    words
}

/// `parseWords` (ARG, ENV, LABEL): words separated by Unicode space outside quotes.
/// The quotes and escapes stay in the word, so each word is a contiguous range.
pub(crate) fn parse_words(line: &[u8], range: Range<usize>, escape: u8) -> Vec<Range<usize>> {
    let mut words = Vec::new();
    let mut word_start: Option<usize> = None;
    let mut quote: Option<u8> = None;
    // An escape token as the very last byte is dropped ("just skip an escape token at end").
    let mut end = range.end;
    let mut i = range.start;
    while i < range.end {
        let space = space_len_at(line, i);
        let ch = line[i];
        match (word_start, quote) {
            (None, _) => {
                if space > 0 {
                    i += space;
                } else {
                    word_start = Some(i);
                }
                continue;
            }
            (Some(start), None) => {
                if space > 0 {
                    words.push(start..i);
                    word_start = None;
                    i += space;
                    continue;
                }
                if ch == b'\'' || ch == b'"' {
                    quote = Some(ch);
                } else if ch == escape {
                    if i + 1 == range.end {
                        end = i;
                    }
                    i += 1;
                }
            }
            (Some(_), Some(q)) => {
                if ch == q {
                    quote = None;
                } else if ch == escape && q != b'\'' {
                    if i + 1 == range.end {
                        end = i;
                    }
                    i += 1;
                }
            }
        }
        i += 1;
    }
    if let Some(start) = word_start {
        words.push(start..end.max(start));
    }
    words
}

/// `parseJSON` succeeded: the arguments are a JSON array of strings (`RUN ["a", "b"]`).
/// Go's decoder replaces invalid UTF-8 instead of failing, so we do too.
pub(crate) fn is_json_string_array(args: &[u8]) -> bool {
    let start = super::text::skip_space(args, 0, args.len());
    if args.get(start) != Some(&b'[') {
        return false;
    }
    let text = String::from_utf8_lossy(&args[start..]);
    matches!(
        serde_json::from_str::<Vec<serde_json::Value>>(&text),
        Ok(items) if items.iter().all(serde_json::Value::is_string)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(line: &[u8], ranges: &[Range<usize>]) -> Vec<String> {
        ranges
            .iter()
            .map(|r| String::from_utf8_lossy(&line[r.clone()]).into_owned())
            .collect()
    }

    fn split(line: &str) -> (String, Vec<String>, String) {
        let b = line.as_bytes();
        let c = split_command(b, 0..b.len(), b'\\');
        (
            String::from_utf8_lossy(&b[c.name]).into_owned(),
            c.flags
                .iter()
                .map(|f| String::from_utf8_lossy(&f.text).into_owned())
                .collect(),
            String::from_utf8_lossy(&b[c.args]).into_owned(),
        )
    }

    // Expectations from BuildKit's split_command.go behaviour (see the `flags` testfile).
    #[test]
    fn commands_split_like_buildkit() {
        assert_eq!(
            split("  COPY --from=\"a b\" --chown=1 src dst  "),
            (
                "COPY".into(),
                vec!["--from=a b".into(), "--chown=1".into()],
                "src dst".into()
            )
        );
        assert_eq!(
            split("RUN -- --not-a-flag"),
            ("RUN".into(), vec![], "--not-a-flag".into())
        );
        assert_eq!(split("FROM"), ("FROM".into(), vec![], "".into()));
        assert_eq!(
            split("FROM --platform=$X\\ y img"),
            ("FROM".into(), vec!["--platform=$X y".into()], "img".into())
        );
        assert_eq!(
            split("COPY --x"),
            ("COPY".into(), vec!["--x".into()], "".into())
        );
    }

    #[test]
    fn flag_values_map_back_to_their_bytes() {
        let line = b"COPY --from='192.168.0.1/x' a b";
        let c = split_command(line, 0..line.len(), b'\\');
        let (value, map) = c.flags[0].value_of("from").unwrap();
        assert_eq!(value, b"192.168.0.1/x");
        assert_eq!(map[0], 13);
        assert_eq!(line[map[0]], b'1');
        assert!(c.flags[0].value_of("fro").is_none());
    }

    #[test]
    fn words_keep_quotes() {
        let line = br#"A="x y" B=z\ w C='q\'"#;
        let w = parse_words(line, 0..line.len(), b'\\');
        assert_eq!(texts(line, &w), vec![r#"A="x y""#, r"B=z\ w", r"C='q\'"]);
        let line = b"FROM  a\tAS\x0bb";
        assert_eq!(
            texts(line, &split_whitespace(line, 0..line.len())),
            vec!["FROM", "a", "AS", "b"]
        );
    }

    #[test]
    fn json_arrays_of_strings_only() {
        assert!(is_json_string_array(br#" ["a", "b"] "#));
        assert!(!is_json_string_array(br#"["a", 1]"#));
        assert!(!is_json_string_array(br#"["a"] x"#));
        assert!(!is_json_string_array(b"echo [x]"));
    }
}
