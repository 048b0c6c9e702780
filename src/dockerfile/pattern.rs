//! The shell patterns of `${X#p}`, `${X%p}` and `${X/p/r}` (frontend/dockerfile/shell/lex.go
//! `convertShellPatternToRegex`, `trimPrefix`, `trimSuffix`, `reversePattern`), turned into
//! regular expressions as BuildKit does: the `regex` crate has the leftmost-first semantics
//! of Go's RE2, so the same text matches. Every byte of a result keeps its origin.

use std::collections::HashMap;

use regex::bytes::Regex;

use super::value::{is_go_digit, is_go_letter, rune_at, Failure, Value};

/// Compiled shell patterns, shared by the words of one file.
#[derive(Default)]
pub(crate) struct Patterns {
    cache: HashMap<(Vec<u8>, bool, bool), Option<Regex>>,
}

impl Patterns {
    /// `trimPrefix` (`${X#p}`), or `trimSuffix` (`${X%p}`) when `suffix`: the shortest match
    /// of `pattern` at that end of `value` removed (the longest when `greedy`). A suffix is
    /// found as a prefix of the reversed value, as Go does.
    pub(super) fn trim(
        &mut self,
        suffix: bool,
        pattern: &[u8],
        value: &Value,
        greedy: bool,
    ) -> Result<Value, Failure> {
        if !suffix {
            return self.trim_prefix(pattern, value, greedy);
        }
        let pattern = reverse_pattern(pattern);
        let trimmed = self.trim_prefix(&pattern, &value.reversed(), greedy)?;
        Ok(trimmed.reversed())
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

    /// `${X/pattern/replacement}` (the first match, replaced as it is) and
    /// `${X//pattern/replacement}` (`ReplaceAllString`: `replacement` is a template).
    pub(super) fn replace(
        &mut self,
        pattern: &Value,
        value: &Value,
        replacement: &Value,
        all: bool,
    ) -> Result<Value, Failure> {
        let re = self.regex(&pattern.bytes, true, false)?;
        if all {
            return Ok(replace_all(&re, value, replacement));
        }
        Ok(match re.find(&value.bytes) {
            Some(m) => {
                let mut out = value.slice(0..m.start());
                out.extend(replacement);
                out.extend(&value.slice(m.end()..value.bytes.len()));
                out
            }
            None => value.clone(),
        })
    }

    fn regex(&mut self, pattern: &[u8], greedy: bool, anchored: bool) -> Result<Regex, Failure> {
        let key = (pattern.to_vec(), greedy, anchored);
        if let Some(found) = self.cache.get(&key) {
            return found.clone().ok_or(Failure::Invalid);
        }
        let compiled = shell_pattern_regex(pattern, greedy, anchored);
        self.cache.insert(key, compiled.clone());
        compiled.ok_or(Failure::Invalid)
    }
}

/// The runes of `bytes` as Go's `text/scanner` and `[]rune` read them (an undecodable byte
/// is U+FFFD).
fn chars(bytes: &[u8]) -> Vec<char> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(rune) = rune_at(bytes, at) {
        out.push(rune.ch);
        at += rune.len;
    }
    out
}

/// `reversePattern`: runes reversed, an escape and the rune after it kept in order.
fn reverse_pattern(pattern: &[u8]) -> Vec<u8> {
    let runes = chars(pattern);
    let mut tokens: Vec<String> = Vec::with_capacity(runes.len());
    let mut i = 0;
    while i < runes.len() {
        let mut token = String::from(runes[i]);
        if runes[i] == '\\' && i + 1 < runes.len() {
            token.push(runes[i + 1]);
            i += 1;
        }
        tokens.push(token);
        i += 1;
    }
    tokens.into_iter().rev().collect::<String>().into_bytes()
}

/// `convertShellPatternToRegex`: `*` any run (shortest unless greedy), `?` one character,
/// `\` escapes `*`, `?`, `\` (and is dropped before `}` and `/`); anything else literal.
/// `None` where Go returns an error (an invalid escape).
fn shell_pattern_regex(pattern: &[u8], greedy: bool, anchored: bool) -> Option<Regex> {
    let mut chars = chars(pattern);
    // Go reads the pattern with a new text/scanner, which drops a leading BOM.
    if chars.first() == Some(&'\u{feff}') {
        chars.remove(0);
    }
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
        let width = rune_at(src, search).map_or(0, |r| r.len);
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

/// `extract`: the name of a `$name` or `${name}` reference whose `$` is at `t[i]` (letters,
/// digits and `_` as Go's `unicode` sees them), and where the reference ends.
fn template_name(t: &[u8], i: usize) -> Option<(&[u8], usize)> {
    let braced = t.get(i + 1) == Some(&b'{');
    let start = i + 1 + usize::from(braced);
    let mut end = start;
    while let Some(rune) = rune_at(t, end) {
        if !is_go_letter(rune.ch) && !is_go_digit(rune.ch) && rune.ch != '_' {
            break;
        }
        end += rune.len;
    }
    if end == start || (braced && t.get(end) != Some(&b'}')) {
        return None;
    }
    Some((&t[start..end], end + usize::from(braced)))
}

/// `Regexp.expand` for a regexp without groups: `$$` is `$`, `$0`/`${0}` the match, any
/// other name (`$00` too: Go refuses leading zeros) the empty string, a malformed `$` itself.
fn expand_template(out: &mut Value, template: &Value, matched: &Value) {
    let t = &template.bytes;
    let mut i = 0;
    while i < t.len() {
        if t[i] != b'$' {
            out.push(t[i], template.origin[i]);
            i += 1;
        } else if t.get(i + 1) == Some(&b'$') {
            out.push(b'$', template.origin[i + 1]);
            i += 2;
        } else if let Some((name, next)) = template_name(t, i) {
            if name == b"0" {
                out.extend(matched);
            }
            i = next;
        } else {
            out.push(b'$', template.origin[i]);
            i += 1;
        }
    }
}
