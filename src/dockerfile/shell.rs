//! BuildKit's shell lexer, `Lex` of frontend/dockerfile/shell/lex.go, ported once: its
//! processed word (`ProcessWord`) and its words (`ProcessWords`) come out of one pass, and
//! every byte they hold keeps the source offset it was copied from.
//!
//! BuildKit runs this lexer in two configurations, and so do we:
//! * dockerfile2llb (convert.go) runs `ProcessWord` with the Dockerfile's escape token and
//!   the meta ARGs on a `FROM` image, its `--platform` and every meta `ARG` default
//!   ([`super::resolve`]): quotes and escapes are removed, `$NAME`/`${NAME}` are replaced
//!   (unset is empty), and the operators `:-` `-` `:+` `+` `:?` `?` `#` `##` `%` `%%` `/`
//!   `//` behave as in `processDollar` ([`super::pattern`] for the shell patterns);
//! * parser.go runs `ProcessWords` with escape `\`, no variables and `SkipUnsetEnv` (an unset
//!   variable stays as written) on an instruction line with `RawQuotes` and `RawEscapes`,
//!   then on each `<<WORD`, to find heredocs ([`super::lexer`]).
//!
//! Go reads the word with `text/scanner`, so we read runes the same way: a byte of invalid
//! UTF-8 is U+FFFD, and a BOM as the very first rune is skipped. A byte copied from the word
//! keeps its offset, a byte out of a variable the offset it had in that variable's value;
//! bytes from `--build-arg`s, BuildKit's platform ARGs and U+FFFD stand-ins have none
//! ([`NOWHERE`]).
//!
//! BuildKit recurses once per nested `${…}`; so do we, but only [`MAX_DEPTH`] levels deep:
//! past that the word is [`Failure::TooDeep`] instead of a stack overflow.

use std::collections::HashMap;

use super::pattern::Patterns;
use super::value::{is_go_digit, is_go_letter, is_go_space, rune_at, Piece, Rune};
pub(crate) use super::value::{Failure, Value, NOWHERE};

/// Nesting of `${…}` followed before giving up. Real Dockerfiles nest two or three levels;
/// each level costs a few stack frames, and worker threads have 2 MiB.
pub(crate) const MAX_DEPTH: usize = 200;

/// The variables in scope, by name.
pub(crate) type Env = HashMap<Vec<u8>, Value>;

/// Go's `Lex`: the escape token (`\` or backtick) and the switches its callers set.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Lex {
    pub(crate) escape: u8,
    /// `RawQuotes`: quotes stay in the result.
    pub(crate) raw_quotes: bool,
    /// `RawEscapes`: escape tokens stay in the result.
    pub(crate) raw_escapes: bool,
    /// `SkipUnsetEnv`: an unset variable stays as written (its word processed).
    pub(crate) skip_unset_env: bool,
}

impl Lex {
    /// `NewLex(escape)`: every switch off.
    pub(crate) fn new(escape: u8) -> Lex {
        Lex {
            escape,
            raw_quotes: false,
            raw_escapes: false,
            skip_unset_env: false,
        }
    }

    /// `ProcessWord`: the word with quotes, escapes and variables processed.
    pub(crate) fn process_word(
        self,
        word: &Value,
        env: &Env,
        patterns: &mut Patterns,
    ) -> Result<Value, Failure> {
        self.process(word, env, patterns).map(|(result, _)| result)
    }

    /// `ProcessWords`: the same, split into words at white space outside quotes.
    pub(crate) fn process_words(
        self,
        word: &Value,
        env: &Env,
        patterns: &mut Patterns,
    ) -> Result<Vec<Value>, Failure> {
        self.process(word, env, patterns).map(|(_, words)| words)
    }

    /// `Lex.process`: `processStopOn(EOF)` on a fresh scanner.
    fn process(
        self,
        word: &Value,
        env: &Env,
        patterns: &mut Patterns,
    ) -> Result<(Value, Vec<Value>), Failure> {
        let mut sw = ShellWord {
            lex: self,
            escape: char::from(self.escape),
            src: word,
            pos: 0,
            env,
            patterns,
            raw_escapes: self.raw_escapes,
            words_buf: Value::default(),
            depth: 0,
        };
        // text/scanner drops a byte order mark that comes first.
        if sw.peek().is_some_and(|r| r.ch == '\u{feff}') {
            sw.next();
        }
        sw.stop_on(None, self.raw_escapes)
    }
}

/// `shellWord`: one word being processed.
struct ShellWord<'a> {
    lex: Lex,
    escape: char,
    src: &'a Value,
    pos: usize,
    env: &'a Env,
    patterns: &'a mut Patterns,
    raw_escapes: bool,
    /// Go keeps ONE words buffer per lexer and every nested `processStopOn` resets it;
    /// reproducing that quirk keeps our word boundaries identical to BuildKit's
    /// (`ab${X:-c}d` is the one word `cd`).
    words_buf: Value,
    /// Nested `processStopOn` calls, at most [`MAX_DEPTH`].
    depth: usize,
}

/// `wordsStruct`: the words found so far; the word being built is `ShellWord::words_buf`.
#[derive(Default)]
struct Words {
    words: Vec<Value>,
    in_word: bool,
}

impl Words {
    fn add_char(&mut self, buf: &mut Value, ch: char, piece: Piece) {
        if !is_go_space(ch) {
            self.add_raw_char(buf, piece);
        } else if self.in_word && !buf.bytes.is_empty() {
            self.words.push(std::mem::take(buf));
            self.in_word = false;
        }
    }

    fn add_raw_char(&mut self, buf: &mut Value, piece: Piece) {
        buf.extend_piece(piece);
        self.in_word = true;
    }

    fn add_string(&mut self, buf: &mut Value, s: &Value) {
        for rune in s.runes() {
            self.add_char(buf, rune.ch, s.piece(rune));
        }
    }

    fn add_raw_string(&mut self, buf: &mut Value, s: &Value) {
        buf.extend(s);
        self.in_word = true;
    }

    /// `getWords`.
    fn finish(mut self, buf: &mut Value) -> Vec<Value> {
        if !buf.bytes.is_empty() {
            self.words.push(std::mem::take(buf));
        }
        self.words
    }
}

impl ShellWord<'_> {
    fn peek(&self) -> Option<Rune> {
        rune_at(&self.src.bytes, self.pos)
    }

    fn peek_ch(&self) -> Option<char> {
        self.peek().map(|r| r.ch)
    }

    fn next(&mut self) -> Option<Rune> {
        let rune = self.peek()?;
        self.pos += rune.len;
        Some(rune)
    }

    /// The source text from `start` to the cursor, as it was written.
    fn since(&self, start: usize) -> Value {
        self.src.slice(start..self.pos)
    }

    /// `processStopOn`: up to `stop` (consumed) or the end when `stop` is `None`; the
    /// processed text and its words.
    fn stop_on(
        &mut self,
        stop: Option<char>,
        raw_escapes: bool,
    ) -> Result<(Value, Vec<Value>), Failure> {
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

    fn stop_on_inner(&mut self, stop: Option<char>) -> Result<(Value, Vec<Value>), Failure> {
        let mut result = Value::default();
        self.words_buf = Value::default();
        let mut words = Words::default();
        while let Some(rune) = self.peek() {
            if Some(rune.ch) == stop {
                self.next();
                return Ok((result, words.finish(&mut self.words_buf)));
            }
            let special = match rune.ch {
                '$' => Some(self.dollar()?),
                '<' => Some(self.possible_heredoc()),
                '\'' => Some(self.single_quote()?),
                '"' => Some(self.double_quote()?),
                _ => None,
            };
            match special {
                Some(tmp) => {
                    result.extend(&tmp);
                    if rune.ch == '$' {
                        words.add_string(&mut self.words_buf, &tmp);
                    } else {
                        words.add_raw_string(&mut self.words_buf, &tmp);
                    }
                }
                None => {
                    if !self.plain(&mut result, &mut words) {
                        break;
                    }
                }
            }
        }
        match stop {
            Some(_) => Err(Failure::Invalid),
            None => Ok((result, words.finish(&mut self.words_buf))),
        }
    }

    /// A rune that is not special, or an escape token and the rune it escapes. `false` for
    /// an escape token at the end of the word, which ends the loop.
    fn plain(&mut self, result: &mut Value, words: &mut Words) -> bool {
        let Some(mut rune) = self.next() else {
            return false;
        };
        if rune.ch == self.escape {
            if self.raw_escapes {
                words.add_raw_char(&mut self.words_buf, self.src.piece(rune));
                result.extend_piece(self.src.piece(rune));
            }
            // The escape token escapes the next rune, whatever it is.
            let Some(escaped) = self.next() else {
                return false;
            };
            rune = escaped;
            words.add_raw_char(&mut self.words_buf, self.src.piece(rune));
        } else {
            words.add_char(&mut self.words_buf, rune.ch, self.src.piece(rune));
        }
        result.extend_piece(self.src.piece(rune));
        true
    }

    /// `processSingleQuote`: everything up to the next `'` as it is.
    fn single_quote(&mut self) -> Result<Value, Failure> {
        let mut out = Value::default();
        let open = self.next().ok_or(Failure::Invalid)?;
        if self.lex.raw_quotes {
            out.extend_piece(self.src.piece(open));
        }
        loop {
            let rune = self.next().ok_or(Failure::Invalid)?;
            if rune.ch == '\'' {
                if self.lex.raw_quotes {
                    out.extend_piece(self.src.piece(rune));
                }
                return Ok(out);
            }
            out.extend_piece(self.src.piece(rune));
        }
    }

    /// `processDoubleQuote`: variables are processed, and the escape token escapes only
    /// `"`, `$` and itself.
    fn double_quote(&mut self) -> Result<Value, Failure> {
        let mut out = Value::default();
        let open = self.next().ok_or(Failure::Invalid)?;
        if self.lex.raw_quotes {
            out.extend_piece(self.src.piece(open));
        }
        loop {
            match self.peek_ch().ok_or(Failure::Invalid)? {
                '"' => {
                    let close = self.next().ok_or(Failure::Invalid)?;
                    if self.lex.raw_quotes {
                        out.extend_piece(self.src.piece(close));
                    }
                    return Ok(out);
                }
                '$' => out.extend(&self.dollar()?),
                _ => self.double_quoted_rune(&mut out),
            }
        }
    }

    fn double_quoted_rune(&mut self, out: &mut Value) {
        let Some(mut rune) = self.next() else {
            return;
        };
        if rune.ch == self.escape {
            if self.raw_escapes {
                out.extend_piece(self.src.piece(rune));
            }
            match self.peek_ch() {
                // "Ignore \ at end of word"; the missing quote fails next.
                None => return,
                Some(c) if c == '"' || c == '$' || c == self.escape => {
                    if let Some(escaped) = self.next() {
                        rune = escaped;
                    }
                }
                // "all other \'s are left as-is" (twice under raw escapes, as in Go).
                Some(_) => {}
            }
        }
        out.extend_piece(self.src.piece(rune));
    }

    /// `processPossibleHeredoc`: `<`, or `<<` and the blanks after it, as written.
    fn possible_heredoc(&mut self) -> Value {
        let start = self.pos;
        self.next();
        if self.peek_ch() == Some('<') {
            self.next();
            while matches!(self.peek_ch(), Some('\t' | '\r' | ' ')) {
                self.next();
            }
        }
        self.since(start)
    }

    /// `getEnv`.
    fn get(&self, name: &[u8]) -> Option<&Value> {
        self.env.get(name)
    }

    /// `processDollar`, at a `$`.
    fn dollar(&mut self) -> Result<Value, Failure> {
        let start = self.pos;
        self.next();
        if self.peek_ch() != Some('{') {
            return Ok(self.bare_variable(start));
        }
        self.next();
        if matches!(self.peek_ch(), None | Some('{' | '}' | ':')) {
            return Err(Failure::Invalid); // "bad substitution", "missing '}'"
        }
        let name_at = self.pos;
        self.name();
        let name = self.src.bytes[name_at..self.pos].to_vec();
        let written = self.since(start);
        let op = self.next().ok_or(Failure::Invalid)?;
        match op.ch {
            '}' => Ok(match self.get(&name) {
                Some(value) => value.clone(),
                None if self.lex.skip_unset_env => self.since(start),
                None => Value::default(),
            }),
            ':' | '+' | '-' | '?' | '#' | '%' => self.modifier(&name, written, op),
            '/' => self.substitution(&name, written),
            _ => Err(Failure::Invalid), // "unsupported modifier"
        }
    }

    /// `$NAME`, `$1`, `$@`…, or a `$` that starts no name.
    fn bare_variable(&mut self, start: usize) -> Value {
        self.name();
        if self.pos == start + 1 {
            return self.since(start);
        }
        match self.get(&self.src.bytes[start + 1..self.pos]) {
            Some(value) => value.clone(),
            None if self.lex.skip_unset_env => self.since(start),
            None => Value::default(),
        }
    }

    /// `${NAME:-word}` and the other operators that take a word; `written` is `${NAME`.
    fn modifier(&mut self, name: &[u8], mut written: Value, first: Rune) -> Result<Value, Failure> {
        written.extend_piece(self.src.piece(first));
        let mut op = first.ch;
        let null_is_unset = op == ':';
        if null_is_unset {
            let second = self.next().ok_or(Failure::Invalid)?;
            written.extend_piece(self.src.piece(second));
            op = second.ch;
        }
        let raw_escapes = op == '#' || op == '%';
        if null_is_unset && raw_escapes {
            return Err(Failure::Invalid); // "unsupported modifier (:#)"
        }
        let (word, _) = self.stop_on(Some('}'), raw_escapes)?;
        let value = self.get(name).cloned();
        if value.is_none() && self.lex.skip_unset_env {
            written.extend(&word);
            written.extend(&self.src.slice(self.pos - 1..self.pos));
            return Ok(written);
        }
        let unset = value
            .as_ref()
            .is_none_or(|v| null_is_unset && v.bytes.is_empty());
        match op {
            '-' if unset => Ok(word),
            '-' => Ok(value.unwrap_or_default()),
            '+' if unset => Ok(Value::default()),
            '+' => Ok(word),
            '?' if unset => Err(Failure::Invalid), // "is not allowed to be unset/empty"
            '?' => Ok(value.unwrap_or_default()),
            '#' | '%' => {
                let value = value.unwrap_or_default();
                // `%`/`#` match the shortest expansion, `%%`/`##` the longest.
                let greedy = word.bytes.first() == Some(&(op as u8));
                let pattern = &word.bytes[usize::from(greedy)..];
                self.patterns.trim(op == '%', pattern, &value, greedy)
            }
            _ => Err(Failure::Invalid), // "unsupported modifier"
        }
    }

    /// `${NAME/pattern/replacement}` and `${NAME//pattern/replacement}`; `written` is
    /// `${NAME`.
    fn substitution(&mut self, name: &[u8], mut written: Value) -> Result<Value, Failure> {
        written.extend(&self.src.slice(self.pos - 1..self.pos));
        let all = self.peek_ch() == Some('/');
        if all {
            self.next();
        }
        let (pattern, _) = self.stop_on(Some('/'), true)?;
        let slash = self.pos - 1;
        let (replacement, _) = self.stop_on(Some('}'), true)?;
        let value = self.get(name).cloned();
        if value.is_none() && self.lex.skip_unset_env {
            // Go writes `${%s/%s/%s}`: the second `/` of `//` is not given back.
            for part in [pattern, self.src.slice(slash..slash + 1), replacement] {
                written.extend(&part);
            }
            written.extend(&self.src.slice(self.pos - 1..self.pos));
            return Ok(written);
        }
        let value = value.unwrap_or_default();
        self.patterns.replace(&pattern, &value, &replacement, all)
    }

    /// `processName`: a run of digits, one special parameter, or letters, digits and `_`
    /// (Go's `unicode.IsLetter`/`IsDigit`). Moves the cursor past it.
    fn name(&mut self) {
        let start = self.pos;
        while let Some(rune) = self.peek() {
            if self.pos == start && is_go_digit(rune.ch) {
                while self.peek_ch().is_some_and(is_go_digit) {
                    self.next();
                }
                return;
            }
            if self.pos == start && is_special_param(rune.ch) {
                self.next();
                return;
            }
            if !is_go_letter(rune.ch) && !is_go_digit(rune.ch) && rune.ch != '_' {
                return;
            }
            self.next();
        }
    }
}

/// `isSpecialParam` (POSIX special parameters; `0` is read as a digit before).
fn is_special_param(ch: char) -> bool {
    matches!(ch, '@' | '*' | '#' | '?' | '-' | '$' | '!' | '0')
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
        let lex = Lex::new(b'\\');
        lex.process_word(
            &Value::at(word.as_bytes(), 0),
            &env(pairs),
            &mut Patterns::default(),
        )
        .map(|v| String::from_utf8(v.bytes).unwrap())
    }

    /// `ProcessWords` with unset variables as written; `raw` sets raw quotes and escapes.
    fn words(line: &str, raw: bool) -> Result<Vec<String>, Failure> {
        let lex = Lex {
            raw_quotes: raw,
            raw_escapes: raw,
            skip_unset_env: true,
            ..Lex::new(b'\\')
        };
        let line = Value::at(line.as_bytes(), 0);
        let words = lex.process_words(&line, &Env::new(), &mut Patterns::default())?;
        Ok(words
            .into_iter()
            .map(|w| String::from_utf8(w.bytes).unwrap())
            .collect())
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
        // Only a `$` the shell leaves reaches the template: group 0 is `0` alone, and any
        // other name (`00`, `é`) is empty, as Go's `Regexp.Expand` reads it.
        ok("${A//a/[$'{0}'$'{00}'$'é'\\$0]}", "[a\\a]");
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

    // What Go's text/scanner and unicode package do to a word.
    #[test]
    fn runes_are_read_as_go_reads_them() {
        let e = [("A", "aaa"), ("न", "x")];
        assert_eq!(eval("\u{feff}a\u{feff}", &e), Ok("a\u{feff}".into()));
        assert_eq!(eval("${A#\u{feff}a}", &e), Ok("aa".into()));
        // `ा` (U+093E) is alphabetic but not a letter; `Ⅰ` (Nl) and `²` (No) are no digits.
        assert_eq!(eval("$नाम", &e), Ok("xाम".into()));
        assert_eq!(eval("$1Ⅰ$1²", &e), Ok("Ⅰ²".into()));
        assert_eq!(eval("${Ⅰ}", &e), Err(Failure::Invalid));
        assert_eq!(eval("$١٢", &e), Ok(String::new()));
        let lex = Lex::new(b'\\');
        let word = Value::at(b"a\xffb\xe2\x82", 10);
        let v = lex.process_word(&word, &Env::new(), &mut Patterns::default());
        let v = v.unwrap();
        assert_eq!(v.bytes, "a\u{fffd}b\u{fffd}\u{fffd}".as_bytes());
        assert_eq!(v.origin[..2], [10, NOWHERE]);
        assert_eq!(v.origin[4], 12);
    }

    #[test]
    fn words_split_and_quote() {
        assert_eq!(words("a 'b c' d", false).unwrap(), vec!["a", "b c", "d"]);
        assert_eq!(words("a 'b c' d", true).unwrap(), vec!["a", "'b c'", "d"]);
        assert_eq!(words(r"a\ b", false).unwrap(), vec!["a b"]);
        assert_eq!(words(r#""a\b" \"#, true).unwrap(), vec![r#""a\\b""#, "\\"]);
        assert_eq!(words("${x:-a b}", false).unwrap(), vec!["${x:-a", "b}"]);
        // The nested `${…}` resets the words buffer, which held `ab`.
        assert_eq!(words("ab${x:-c}d", false).unwrap(), vec!["${x:-c}d"]);
        assert_eq!(words("$x ${y} ${z#*} ${u//a/b}", false).unwrap(), {
            vec!["$x", "${y}", "${z#*}", "${u/a/b}"]
        });
        assert_eq!(words("${v:x}", false).unwrap(), vec!["${v:x}"]);
        assert!(words("${", false).is_err());
        assert!(words("${:}", false).is_err());
        assert!(words("'open", false).is_err());
    }

    #[test]
    fn origins_follow_the_bytes() {
        let lex = Lex::new(b'\\');
        let word = Value::at(b"${R:-192.168.0.1}/\"x\"", 100);
        let v = lex.process_word(&word, &Env::new(), &mut Patterns::default());
        let v = v.unwrap();
        assert_eq!(v.bytes, b"192.168.0.1/x");
        assert_eq!(v.origin[..11], (105..116).collect::<Vec<_>>()[..]);
        assert_eq!(v.origin[11..], [117, 119]);
        let mut env = Env::new();
        env.insert(b"I".to_vec(), Value::at(b"d://h/x", 0));
        let eval = |w: &[u8]| {
            let w = Value {
                bytes: w.to_vec(),
                origin: vec![9; w.len()],
            };
            let v = lex
                .process_word(&w, &env, &mut Patterns::default())
                .unwrap();
            (v.bytes, v.origin)
        };
        assert_eq!(eval(b"${I#d://}"), (b"h/x".to_vec(), vec![4, 5, 6]));
        assert_eq!(eval(b"${I%/*}"), (b"d://h".to_vec(), vec![0, 1, 2, 3, 4]));
        // Text given back as written keeps its offsets, quotes removed or not.
        let lex = Lex {
            skip_unset_env: true,
            ..lex
        };
        let word = Value::at(b"${U//'a'/b}", 0);
        let words = lex.process_words(&word, &Env::new(), &mut Patterns::default());
        let words = words.unwrap();
        assert_eq!(words[0].bytes, b"${U/a/b}");
        assert_eq!(words[0].origin, [0, 1, 2, 3, 6, 8, 9, 10]);
    }

    #[test]
    fn deep_nesting_fails_instead_of_overflowing() {
        let depth = 10_000;
        let word = format!("{}x{}", "${A:-\"".repeat(depth), "\"}".repeat(depth));
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
