//! BuildKit's `Lex.ProcessWord` (frontend/dockerfile/shell/lex.go) with real values, keeping
//! for every byte of the result the source offset it was copied from.
//!
//! This is what dockerfile2llb runs on a `FROM` image, its `--platform` and every meta `ARG`
//! default: quotes and escapes are removed, `$NAME`/`${NAME}` are replaced (unset is empty),
//! and the operators `:-` `-` `:+` `+` `:?` `?` `#` `##` `%` `%%` `/` `//` behave as in
//! `processDollar`, including its shell-pattern-to-regexp conversion (the `regex` crate has
//! the leftmost-first semantics of Go's RE2, so the same text matches). A byte copied from
//! the word keeps its offset; a byte that comes out of a variable keeps the offset it had in
//! that variable's value; bytes from `--build-arg`s and BuildKit's platform ARGs have none.
//!
//! BuildKit recurses once per nested `${…}`; so do we, but only [`MAX_DEPTH`] levels deep:
//! past that the word is [`Failure::TooDeep`] instead of a stack overflow.

use std::collections::HashMap;
use std::ops::Range;

use regex::bytes::Regex;

/// The origin of a byte that is not in the file (a `--build-arg`, a platform ARG).
pub(crate) const NOWHERE: usize = usize::MAX;

/// Nesting of `${…}` followed before giving up. Real Dockerfiles nest two or three levels;
/// each level costs two stack frames, and worker threads have 2 MiB.
pub(crate) const MAX_DEPTH: usize = 200;

/// A processed word: its bytes and, for each byte, its source offset or [`NOWHERE`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Value {
    pub(crate) bytes: Vec<u8>,
    pub(crate) origin: Vec<usize>,
}

impl Value {
    /// Bytes that come from outside the file.
    pub(crate) fn opaque(bytes: &[u8]) -> Value {
        Value {
            bytes: bytes.to_vec(),
            origin: vec![NOWHERE; bytes.len()],
        }
    }

    fn push(&mut self, byte: u8, origin: usize) {
        self.bytes.push(byte);
        self.origin.push(origin);
    }

    fn extend(&mut self, other: &Value) {
        self.bytes.extend_from_slice(&other.bytes);
        self.origin.extend_from_slice(&other.origin);
    }

    fn slice(&self, range: Range<usize>) -> Value {
        Value {
            bytes: self.bytes[range.clone()].to_vec(),
            origin: self.origin[range].to_vec(),
        }
    }

    /// Go's `[]rune` conversion reversed and back: runes in reverse order, each invalid
    /// byte becoming U+FFFD.
    fn reversed(&self) -> Value {
        let mut out = Value::default();
        let runes = runes(&self.bytes);
        for rune in runes.iter().rev() {
            if rune.len() == 1 && self.bytes[rune.start] >= 0x80 {
                for &b in "\u{fffd}".as_bytes() {
                    out.push(b, NOWHERE);
                }
            } else {
                for i in rune.clone() {
                    out.push(self.bytes[i], self.origin[i]);
                }
            }
        }
        out
    }
}

/// The variables in scope, by name.
pub(crate) type Env = HashMap<Vec<u8>, Value>;

/// Why a word has no value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// BuildKit fails on the word (bad substitution, unterminated quote, `${X:?}` unset).
    Invalid,
    /// Nested deeper than [`MAX_DEPTH`].
    TooDeep,
}

/// Compiled shell patterns, shared by the words of one file.
#[derive(Default)]
pub(crate) struct Patterns {
    cache: HashMap<(Vec<u8>, bool, bool), Option<Regex>>,
}

/// `ProcessWord(raw, env)` with the Dockerfile's escape token; `origin[i]` is the source
/// offset of `raw[i]`.
pub(crate) fn process_word(
    raw: &[u8],
    origin: &[usize],
    escape: u8,
    env: &Env,
    patterns: &mut Patterns,
) -> Result<Value, Failure> {
    let mut word = Word {
        raw,
        origin,
        pos: 0,
        escape,
        env,
        patterns,
        raw_escapes: false,
        depth: 0,
    };
    word.stop_on(None, false)
}

struct Word<'a> {
    raw: &'a [u8],
    origin: &'a [usize],
    pos: usize,
    escape: u8,
    env: &'a Env,
    patterns: &'a mut Patterns,
    raw_escapes: bool,
    depth: usize,
}

impl Word<'_> {
    fn peek(&self) -> Option<u8> {
        self.raw.get(self.pos).copied()
    }

    /// Copy the byte under the cursor to `out` and advance.
    fn lit(&mut self, out: &mut Value) -> Result<(), Failure> {
        let byte = self.peek().ok_or(Failure::Invalid)?;
        out.push(byte, self.origin[self.pos]);
        self.pos += 1;
        Ok(())
    }

    /// `processStopOn`.
    fn stop_on(&mut self, stop: Option<u8>, raw_escapes: bool) -> Result<Value, Failure> {
        if self.depth >= MAX_DEPTH {
            return Err(Failure::TooDeep);
        }
        self.depth += 1;
        let saved = std::mem::replace(&mut self.raw_escapes, raw_escapes);
        let out = self.stop_on_inner(stop);
        self.raw_escapes = saved;
        self.depth -= 1;
        out
    }

    fn stop_on_inner(&mut self, stop: Option<u8>) -> Result<Value, Failure> {
        let mut out = Value::default();
        while let Some(ch) = self.peek() {
            if Some(ch) == stop {
                self.pos += 1;
                return Ok(out);
            }
            match ch {
                b'$' => {
                    let value = self.dollar()?;
                    out.extend(&value);
                }
                b'\'' => self.single_quote(&mut out)?,
                b'"' => self.double_quote(&mut out)?,
                // `processPossibleHeredoc` gives `<`/`<<` and blanks back as they are.
                c if c == self.escape => {
                    if self.raw_escapes {
                        self.lit(&mut out)?;
                    } else {
                        self.pos += 1;
                    }
                    if self.peek().is_none() {
                        break;
                    }
                    self.lit(&mut out)?;
                }
                _ => self.lit(&mut out)?,
            }
        }
        match stop {
            Some(_) => Err(Failure::Invalid),
            None => Ok(out),
        }
    }

    fn single_quote(&mut self, out: &mut Value) -> Result<(), Failure> {
        self.pos += 1;
        loop {
            match self.peek() {
                None => return Err(Failure::Invalid),
                Some(b'\'') => {
                    self.pos += 1;
                    return Ok(());
                }
                Some(_) => self.lit(out)?,
            }
        }
    }

    fn double_quote(&mut self, out: &mut Value) -> Result<(), Failure> {
        self.pos += 1;
        loop {
            match self.peek() {
                None => return Err(Failure::Invalid),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(());
                }
                Some(b'$') => {
                    let value = self.dollar()?;
                    out.extend(&value);
                }
                Some(c) if c == self.escape => {
                    let at = self.pos;
                    self.pos += 1;
                    if self.raw_escapes {
                        out.push(c, self.origin[at]);
                    }
                    match self.peek() {
                        // "Ignore \ at end of word"; the missing quote fails next.
                        None => continue,
                        Some(n) if n == b'"' || n == b'$' || n == self.escape => self.lit(out)?,
                        // "all other \'s are left as-is" (twice under raw escapes, as in Go).
                        Some(_) => out.push(c, self.origin[at]),
                    }
                }
                Some(_) => self.lit(out)?,
            }
        }
    }

    fn get(&self, name: &[u8]) -> Option<&Value> {
        self.env.get(name)
    }

    /// `processDollar` with `SkipUnsetEnv` off, as for `FROM` and `ARG`.
    fn dollar(&mut self) -> Result<Value, Failure> {
        let dollar_at = self.pos;
        self.pos += 1;
        if self.peek() != Some(b'{') {
            let name = self.name();
            if name.is_empty() {
                let mut out = Value::default();
                out.push(b'$', self.origin[dollar_at]);
                return Ok(out);
            }
            return Ok(self.get(&name).cloned().unwrap_or_default());
        }
        self.pos += 1;
        if matches!(self.peek(), None | Some(b'{' | b'}' | b':')) {
            return Err(Failure::Invalid);
        }
        let name = self.name();
        let ch = self.peek().ok_or(Failure::Invalid)?;
        self.pos += 1;
        match ch {
            b'}' => Ok(self.get(&name).cloned().unwrap_or_default()),
            b':' | b'+' | b'-' | b'?' | b'#' | b'%' => {
                let null_is_unset = ch == b':';
                let op = if null_is_unset {
                    let op = self.peek().ok_or(Failure::Invalid)?;
                    self.pos += 1;
                    op
                } else {
                    ch
                };
                let raw = op == b'#' || op == b'%';
                if null_is_unset && raw {
                    return Err(Failure::Invalid);
                }
                let word = self.stop_on(Some(b'}'), raw)?;
                let value = self.get(&name).cloned();
                let unset = match &value {
                    None => true,
                    Some(v) => null_is_unset && v.bytes.is_empty(),
                };
                match op {
                    b'-' => Ok(if unset {
                        word
                    } else {
                        value.unwrap_or_default()
                    }),
                    b'+' => Ok(if unset { Value::default() } else { word }),
                    b'?' => value.filter(|_| !unset).ok_or(Failure::Invalid),
                    b'#' | b'%' => {
                        let value = value.unwrap_or_default();
                        let greedy = word.bytes.first() == Some(&op);
                        let pattern = &word.bytes[usize::from(greedy)..];
                        if op == b'%' {
                            let pattern = reverse_pattern(pattern);
                            let trimmed = self.trim_prefix(&pattern, &value.reversed(), greedy)?;
                            Ok(trimmed.reversed())
                        } else {
                            self.trim_prefix(pattern, &value, greedy)
                        }
                    }
                    _ => Err(Failure::Invalid),
                }
            }
            b'/' => {
                let all = self.peek() == Some(b'/');
                if all {
                    self.pos += 1;
                }
                let pattern = self.stop_on(Some(b'/'), true)?;
                let replacement = self.stop_on(Some(b'}'), true)?;
                let value = self.get(&name).cloned().unwrap_or_default();
                let re = self.regex(&pattern.bytes, true, false)?;
                Ok(if all {
                    replace_all(&re, &value, &replacement)
                } else {
                    match re.find(&value.bytes) {
                        Some(m) => {
                            let mut out = value.slice(0..m.start());
                            out.extend(&replacement);
                            out.extend(&value.slice(m.end()..value.bytes.len()));
                            out
                        }
                        None => value,
                    }
                })
            }
            _ => Err(Failure::Invalid),
        }
    }

    fn trim_prefix(
        &mut self,
        pattern: &[u8],
        value: &Value,
        greedy: bool,
    ) -> Result<Value, Failure> {
        let re = self.regex(pattern, greedy, true)?;
        Ok(match re.find(&value.bytes) {
            Some(m) => value.slice(m.end()..value.bytes.len()),
            None => value.clone(),
        })
    }

    fn regex(&mut self, pattern: &[u8], greedy: bool, anchored: bool) -> Result<Regex, Failure> {
        let key = (pattern.to_vec(), greedy, anchored);
        if let Some(found) = self.patterns.cache.get(&key) {
            return found.clone().ok_or(Failure::Invalid);
        }
        let compiled = shell_pattern_regex(pattern, greedy, anchored);
        self.patterns.cache.insert(key, compiled.clone());
        compiled.ok_or(Failure::Invalid)
    }

    /// `processName`: a run of digits, one special parameter, or letters/digits/`_`
    /// (Unicode letters and decimal digits, as Go's `unicode.IsLetter`/`IsDigit`).
    fn name(&mut self) -> Vec<u8> {
        let mut name = Vec::new();
        while let Some((ch, len)) = rune_at(self.raw, self.pos) {
            if name.is_empty() && is_go_digit(ch) {
                while let Some((d, len)) = rune_at(self.raw, self.pos).filter(|r| is_go_digit(r.0))
                {
                    name.extend_from_slice(d.encode_utf8(&mut [0; 4]).as_bytes());
                    self.pos += len;
                }
                return name;
            }
            if name.is_empty() && matches!(ch, '@' | '*' | '#' | '?' | '-' | '$' | '!' | '0') {
                self.pos += len;
                return vec![ch as u8];
            }
            if !ch.is_alphabetic() && !is_go_digit(ch) && ch != '_' {
                break;
            }
            name.extend_from_slice(&self.raw[self.pos..self.pos + len]);
            self.pos += len;
        }
        name
    }
}

/// Go's `unicode.IsDigit` (category Nd).
fn is_go_digit(ch: char) -> bool {
    ch.is_ascii_digit() || (!ch.is_ascii() && ch.is_numeric())
}

/// The rune at `pos` and its length; an invalid byte is U+FFFD of length 1, as Go decodes.
fn rune_at(bytes: &[u8], pos: usize) -> Option<(char, usize)> {
    let first = *bytes.get(pos)?;
    if first < 0x80 {
        return Some((first as char, 1));
    }
    let max = (bytes.len() - pos).min(4);
    for len in 2..=max {
        if let Ok(s) = std::str::from_utf8(&bytes[pos..pos + len]) {
            return s.chars().next().map(|c| (c, len));
        }
    }
    Some(('\u{fffd}', 1))
}

/// The byte ranges of the runes of `bytes`.
fn runes(bytes: &[u8]) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some((_, len)) = rune_at(bytes, pos) {
        out.push(pos..pos + len);
        pos += len;
    }
    out
}

/// `reversePattern`: runes reversed, an escape and the rune after it kept in order.
fn reverse_pattern(pattern: &[u8]) -> Vec<u8> {
    let runes = runes(pattern);
    let mut tokens: Vec<Vec<u8>> = Vec::with_capacity(runes.len());
    let mut i = 0;
    while i < runes.len() {
        let rune = &pattern[runes[i].clone()];
        if rune == b"\\" && i + 1 < runes.len() {
            let mut pair = rune.to_vec();
            pair.extend_from_slice(&pattern[runes[i + 1].clone()]);
            tokens.push(pair);
            i += 2;
        } else {
            tokens.push(rune.to_vec());
            i += 1;
        }
    }
    tokens.into_iter().rev().flatten().collect()
}

/// `convertShellPatternToRegex`: `*` any run (shortest unless greedy), `?` one character,
/// `\` escapes `*`, `?`, `\` (and is dropped before `}` and `/`); anything else literal.
/// `None` where Go returns an error (an invalid escape).
fn shell_pattern_regex(pattern: &[u8], greedy: bool, anchored: bool) -> Option<Regex> {
    let text = String::from_utf8_lossy(pattern);
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::from(if anchored { "^" } else { "" });
    let mut i = 0;
    while i < chars.len() {
        let ch = chars[i];
        i += 1;
        match ch {
            '*' => out.push_str(if greedy { ".*" } else { ".*?" }),
            '?' => out.push('.'),
            '\\' => {
                if matches!(chars.get(i), Some('}' | '/')) {
                    continue;
                }
                let next = *chars.get(i)?;
                i += 1;
                if !matches!(next, '*' | '?' | '\\') {
                    return None;
                }
                out.push_str(&regex::escape(&next.to_string()));
            }
            _ => out.push_str(&regex::escape(&ch.to_string())),
        }
    }
    Regex::new(&out).ok()
}

/// Go's `Regexp.ReplaceAllString`: every non-overlapping match (an empty match right after
/// a match is skipped) replaced by the template, where `$$` is `$`, `$0`/`${0}` the match and
/// any other `$name` empty (the pattern has no groups); a malformed `$` stays.
fn replace_all(re: &Regex, value: &Value, template: &Value) -> Value {
    let src = &value.bytes;
    let mut out = Value::default();
    let mut last_end = 0;
    let mut search = 0;
    while search <= src.len() {
        let Some(m) = re.find_at(src, search) else {
            break;
        };
        out.extend(&value.slice(last_end..m.start()));
        if m.end() > last_end || m.start() == 0 {
            expand_template(&mut out, template, &value.slice(m.start()..m.end()));
        }
        last_end = m.end();
        let width = rune_at(src, search).map_or(0, |r| r.1);
        search = if search + width > m.end() {
            search + width
        } else if search + 1 > m.end() {
            search + 1
        } else {
            m.end()
        };
    }
    out.extend(&value.slice(last_end..src.len()));
    out
}

/// `Regexp.expand` for a regexp without groups.
fn expand_template(out: &mut Value, template: &Value, matched: &Value) {
    let t = &template.bytes;
    let mut i = 0;
    let is_name = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    while i < t.len() {
        if t[i] != b'$' {
            out.push(t[i], template.origin[i]);
            i += 1;
            continue;
        }
        if t.get(i + 1) == Some(&b'$') {
            out.push(b'$', template.origin[i + 1]);
            i += 2;
            continue;
        }
        let (name, next) = if t.get(i + 1) == Some(&b'{') {
            let start = i + 2;
            let mut end = start;
            while end < t.len() && is_name(t[end]) {
                end += 1;
            }
            if end == start || t.get(end) != Some(&b'}') {
                (None, i + 1)
            } else {
                (Some(&t[start..end]), end + 1)
            }
        } else {
            let start = i + 1;
            let mut end = start;
            while end < t.len() && is_name(t[end]) {
                end += 1;
            }
            if end == start {
                (None, i + 1)
            } else {
                (Some(&t[start..end]), end)
            }
        };
        match name {
            None => {
                out.push(b'$', template.origin[i]);
                i += 1;
            }
            Some(name) => {
                let group_zero = name.iter().all(u8::is_ascii_digit)
                    && std::str::from_utf8(name)
                        .ok()
                        .and_then(|n| n.parse::<usize>().ok())
                        == Some(0);
                if group_zero {
                    out.extend(matched);
                }
                i = next;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        pairs
            .iter()
            .map(|(k, v)| (k.as_bytes().to_vec(), Value::opaque(v.as_bytes())))
            .collect()
    }

    fn eval(word: &str, pairs: &[(&str, &str)]) -> Result<String, Failure> {
        let origin: Vec<usize> = (0..word.len()).collect();
        let env = env(pairs);
        process_word(
            word.as_bytes(),
            &origin,
            b'\\',
            &env,
            &mut Patterns::default(),
        )
        .map(|v| String::from_utf8(v.bytes).unwrap())
    }

    // Expectations from BuildKit's shell/envVarTest and lex_test.go behaviour.
    #[test]
    fn operators_follow_buildkit() {
        let e = [("A", "a"), ("E", ""), ("P", "docker://reg/x/y:1")];
        let ok = |w: &str, want: &str| assert_eq!(eval(w, &e), Ok(want.into()), "{w}");
        ok("$A", "a");
        ok("${A}", "a");
        ok("$U", "");
        ok("$", "$");
        ok("${U:-d}", "d");
        ok("${E:-d}", "d");
        ok("${E-d}", "");
        ok("${A:-d}", "a");
        ok("${A:+w}", "w");
        ok("${E:+w}", "");
        ok("${E+w}", "w");
        ok("${U+w}", "");
        ok("${A:?x}", "a");
        ok("${P#docker://}", "reg/x/y:1");
        ok("${P#*/}", "/reg/x/y:1");
        ok("${P##*/}", "y:1");
        ok("${P%/*}", "docker://reg/x");
        ok("${P%%/*}", "docker:");
        ok("${P/docker:\\/\\//}", "reg/x/y:1");
        ok("${P//\\//_}", "docker:__reg_x_y:1");
        ok("${P/x/$A}", "docker://reg/a/y:1");
        ok("${A//?/<$0>}", "<>");
        ok("${A//a/[$$]}", "[]");
        ok("'$A'\"$A\"\\$A", "$Aa$A");
        ok("${U/*/x}", "x");
        for bad in [
            "${", "${}", "${:-a}", "${A:#x}", "${U:?}", "${E:?}", "${A/x}", "'x", "${A#\\x}",
        ] {
            assert_eq!(eval(bad, &e), Err(Failure::Invalid), "{bad}");
        }
        assert_eq!(eval("${U?}", &e), Err(Failure::Invalid));
        assert_eq!(eval("${E?}", &e), Ok(String::new()));
    }

    #[test]
    fn origins_follow_the_bytes() {
        let word = b"${R:-192.168.0.1}/\"x\"";
        let origin: Vec<usize> = (100..100 + word.len()).collect();
        let v = process_word(word, &origin, b'\\', &Env::new(), &mut Patterns::default()).unwrap();
        assert_eq!(v.bytes, b"192.168.0.1/x");
        assert_eq!(v.origin[..11], (105..116).collect::<Vec<_>>()[..]);
        assert_eq!(v.origin[11..], [117, 119]);
        let mut env = Env::new();
        env.insert(
            b"I".to_vec(),
            Value {
                bytes: b"d://h/x".to_vec(),
                origin: (0..7).collect(),
            },
        );
        let w = b"${I#d://}";
        let v = process_word(w, &[9; 9], b'\\', &env, &mut Patterns::default()).unwrap();
        assert_eq!((v.bytes, v.origin), (b"h/x".to_vec(), vec![4, 5, 6]));
        let w = b"${I%/*}";
        let v = process_word(w, &[9; 7], b'\\', &env, &mut Patterns::default()).unwrap();
        assert_eq!(
            (v.bytes, v.origin),
            (b"d://h".to_vec(), vec![0, 1, 2, 3, 4])
        );
    }

    #[test]
    fn deep_nesting_fails_instead_of_overflowing() {
        let depth = 10_000;
        let word = format!("{}x{}", "${A:-".repeat(depth), "}".repeat(depth));
        // A 2 MiB thread, like the rewrite workers.
        let out = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || eval(&word, &[]))
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(out, Err(Failure::TooDeep));
        let word = format!("{}x{}", "${A:-".repeat(50), "}".repeat(50));
        assert_eq!(eval(&word, &[]), Ok("x".into()));
    }
}
