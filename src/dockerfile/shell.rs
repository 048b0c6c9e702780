//! BuildKit's shell-word lexer (frontend/dockerfile/shell/lex.go), in the two forms we need.
//!
//! * [`process_words`] splits a line into words exactly as `Lex.ProcessWords` does with
//!   `SkipUnsetEnv` (unset variables stay as written). parser.go uses it to find heredoc
//!   words (`<<EOF`, `<<-"EOF"`) and their delimiters, which decide which lines are heredoc
//!   bodies; getting that wrong would rewrite a body or miss an instruction.
//!
//! Words with values (an image name, an ARG default) are processed by [`super::expand`].

use super::expand::MAX_DEPTH;

/// Port of `shellWord.processStopOn` and friends with escape token `\` (parser.go always
/// builds this lexer with `shell.NewLex('\\')` for heredocs).
struct Lexer {
    chars: Vec<char>,
    pos: usize,
    raw_quotes: bool,
    raw_escapes: bool,
    /// Go keeps ONE words buffer per lexer and every nested `processStopOn` resets it;
    /// reproducing that quirk keeps our word boundaries identical to BuildKit's.
    buf: String,
    /// Nested `processStopOn` calls; past [`MAX_DEPTH`] the line counts as unparsable
    /// (no heredoc) rather than overflowing the stack.
    depth: usize,
}

#[derive(Default)]
struct Words {
    words: Vec<String>,
    in_word: bool,
}

impl Words {
    fn add_char(&mut self, buf: &mut String, ch: char) {
        if ch.is_whitespace() {
            if self.in_word && !buf.is_empty() {
                self.words.push(std::mem::take(buf));
                self.in_word = false;
            }
        } else {
            buf.push(ch);
            self.in_word = true;
        }
    }

    fn add_raw_str(&mut self, buf: &mut String, s: &str) {
        buf.push_str(s);
        self.in_word = true;
    }

    fn finish(mut self, buf: &mut String) -> Vec<String> {
        if !buf.is_empty() {
            self.words.push(std::mem::take(buf));
        }
        self.words
    }
}

const ESCAPE: char = '\\';

impl Lexer {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<char> {
        let ch = self.peek();
        if ch.is_some() {
            self.pos += 1;
        }
        ch
    }

    fn stop_on(&mut self, stop: Option<char>, raw_escapes: bool) -> Option<(String, Vec<String>)> {
        if self.depth >= MAX_DEPTH {
            return None;
        }
        self.depth += 1;
        let saved = std::mem::replace(&mut self.raw_escapes, raw_escapes);
        let out = self.stop_on_inner(stop);
        self.raw_escapes = saved;
        self.depth -= 1;
        out
    }

    fn stop_on_inner(&mut self, stop: Option<char>) -> Option<(String, Vec<String>)> {
        let mut result = String::new();
        self.buf.clear();
        let mut words = Words::default();
        while let Some(ch) = self.peek() {
            if Some(ch) == stop {
                self.next();
                let mut buf = std::mem::take(&mut self.buf);
                let words = words.finish(&mut buf);
                self.buf = buf;
                return Some((result, words));
            }
            let special = match ch {
                '$' => Some(self.dollar()?),
                '<' => Some(self.possible_heredoc()),
                '\'' => Some(self.single_quote()?),
                '"' => Some(self.double_quote()?),
                _ => None,
            };
            let mut buf = std::mem::take(&mut self.buf);
            match special {
                Some(tmp) if ch == '$' => {
                    result.push_str(&tmp);
                    for c in tmp.chars() {
                        words.add_char(&mut buf, c);
                    }
                }
                Some(tmp) => {
                    result.push_str(&tmp);
                    words.add_raw_str(&mut buf, &tmp);
                }
                None => {
                    self.next();
                    if ch == ESCAPE {
                        if self.raw_escapes {
                            buf.push(ch);
                            words.in_word = true;
                            result.push(ch);
                        }
                        match self.next() {
                            None => {
                                self.buf = buf;
                                break;
                            }
                            Some(c) => {
                                buf.push(c);
                                words.in_word = true;
                                result.push(c);
                            }
                        }
                    } else {
                        words.add_char(&mut buf, ch);
                        result.push(ch);
                    }
                }
            }
            self.buf = buf;
        }
        if stop.is_some() {
            return None;
        }
        let mut buf = std::mem::take(&mut self.buf);
        let words = words.finish(&mut buf);
        self.buf = buf;
        Some((result, words))
    }

    fn single_quote(&mut self) -> Option<String> {
        let mut out = String::new();
        let open = self.next()?;
        if self.raw_quotes {
            out.push(open);
        }
        loop {
            match self.next()? {
                '\'' => {
                    if self.raw_quotes {
                        out.push('\'');
                    }
                    return Some(out);
                }
                c => out.push(c),
            }
        }
    }

    fn double_quote(&mut self) -> Option<String> {
        let mut out = String::new();
        let open = self.next()?;
        if self.raw_quotes {
            out.push(open);
        }
        loop {
            match self.peek()? {
                '"' => {
                    self.next();
                    if self.raw_quotes {
                        out.push('"');
                    }
                    return Some(out);
                }
                '$' => out.push_str(&self.dollar()?),
                _ => {
                    let mut ch = self.next()?;
                    if ch == ESCAPE {
                        if self.raw_escapes {
                            out.push(ch);
                        }
                        match self.peek() {
                            None => continue,
                            Some('"' | '$' | ESCAPE) => ch = self.next()?,
                            Some(_) => {}
                        }
                    }
                    out.push(ch);
                }
            }
        }
    }

    /// `processDollar` with every variable unset and `SkipUnsetEnv`: the text comes back
    /// as written (after processing the word inside `${…}`), or an error.
    fn dollar(&mut self) -> Option<String> {
        self.next();
        if self.peek() != Some('{') {
            let name = self.name();
            return Some(format!("${name}"));
        }
        self.next();
        match self.peek() {
            None | Some('{' | '}' | ':') => return None,
            Some(_) => {}
        }
        let name = self.name();
        let ch = self.next()?;
        match ch {
            '}' => Some(format!("${{{name}}}")),
            ':' | '+' | '-' | '?' | '#' | '%' => {
                let mut modifier = ch.to_string();
                let mut op = ch;
                if ch == ':' {
                    op = self.next().unwrap_or('\u{fffd}');
                    modifier.push(op);
                }
                let raw = op == '#' || op == '%';
                if ch == ':' && raw {
                    return None;
                }
                let (word, _) = self.stop_on(Some('}'), raw)?;
                Some(format!("${{{name}{modifier}{word}}}"))
            }
            '/' => {
                let all = self.peek() == Some('/');
                if all {
                    self.next();
                }
                let (pattern, _) = self.stop_on(Some('/'), true)?;
                let (replacement, _) = self.stop_on(Some('}'), true)?;
                let slash = if all { "/" } else { "" };
                Some(format!("${{{name}/{slash}{pattern}/{replacement}}}"))
            }
            _ => None,
        }
    }

    fn name(&mut self) -> String {
        let mut name = String::new();
        while let Some(ch) = self.peek() {
            if name.is_empty() && is_go_digit(ch) {
                while let Some(d) = self.peek().filter(|&d| is_go_digit(d)) {
                    name.push(d);
                    self.next();
                }
                return name;
            }
            if name.is_empty() && matches!(ch, '@' | '*' | '#' | '?' | '-' | '$' | '!' | '0') {
                self.next();
                return ch.to_string();
            }
            if !ch.is_alphabetic() && !is_go_digit(ch) && ch != '_' {
                break;
            }
            name.push(ch);
            self.next();
        }
        name
    }

    fn possible_heredoc(&mut self) -> String {
        self.next();
        if self.peek() != Some('<') {
            return "<".into();
        }
        self.next();
        let mut out = String::from("<<");
        while let Some(c) = self.peek().filter(|c| matches!(c, '\t' | '\r' | ' ')) {
            out.push(c);
            self.next();
        }
        out
    }
}

/// Go's `unicode.IsDigit` (category Nd); Rust's `is_numeric` also admits Nl/No, which
/// only matters for variable names no Dockerfile uses.
fn is_go_digit(ch: char) -> bool {
    ch.is_ascii_digit() || (!ch.is_ascii() && ch.is_numeric())
}

/// `Lex.ProcessWords` with escape `\`, all variables unset and `SkipUnsetEnv`.
/// `raw` sets both `RawQuotes` and `RawEscapes`. `None` when Go returns an error.
pub(crate) fn process_words(line: &str, raw: bool) -> Option<Vec<String>> {
    let mut lexer = Lexer {
        chars: line.chars().collect(),
        pos: 0,
        raw_quotes: raw,
        raw_escapes: raw,
        buf: String::new(),
        depth: 0,
    };
    lexer.stop_on(None, raw).map(|(_, words)| words)
}

/// A heredoc announced on an instruction line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Heredoc {
    pub(crate) name: String,
    /// `<<-`: leading tabs are ignored when looking for the delimiter.
    pub(crate) chomp: bool,
}

/// `heredocsFromLine`: every word of the form `[n]<<[-]WORD`, in order.
pub(crate) fn heredocs(line: &[u8]) -> Vec<Heredoc> {
    let line = String::from_utf8_lossy(line);
    let Some(words) = process_words(&line, true) else {
        return Vec::new();
    };
    words
        .iter()
        .filter_map(|word| heredoc_from_word(word))
        .collect()
}

/// `ParseHeredoc`: the regexp `^(\d*)<<(-?)\s*([^<]*)$`, then the word must lex to exactly
/// one word, which is the delimiter (quotes removed).
fn heredoc_from_word(word: &str) -> Option<Heredoc> {
    let rest = word.trim_start_matches(|c: char| c.is_ascii_digit());
    let rest = rest.strip_prefix("<<")?;
    let (chomp, rest) = match rest.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, rest),
    };
    let rest = rest.trim_start_matches(['\t', '\n', '\x0c', '\r', ' ']);
    if rest.is_empty() || rest.contains('<') {
        return None;
    }
    let words = process_words(rest, false)?;
    match words.as_slice() {
        [name] => Some(Heredoc {
            name: name.clone(),
            chomp,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str, raw: bool) -> Option<Vec<String>> {
        process_words(line, raw)
    }

    // Cases from BuildKit's parser_heredoc_test.go / lex_test.go behaviour.
    #[test]
    fn heredoc_words_are_found_like_buildkit() {
        let names = |line: &str| -> Vec<(String, bool)> {
            heredocs(line.as_bytes())
                .into_iter()
                .map(|h| (h.name, h.chomp))
                .collect()
        };
        assert_eq!(names("RUN <<EOF"), vec![("EOF".into(), false)]);
        assert_eq!(names("RUN cat <<-\"EOT\" > x"), vec![("EOT".into(), true)]);
        assert_eq!(
            names("COPY <<one.txt <<two.txt /dest/"),
            vec![("one.txt".into(), false), ("two.txt".into(), false)]
        );
        assert_eq!(names("RUN 3<< 'E F'"), vec![("E F".into(), false)]);
        assert_eq!(names("RUN cat<<EOF"), vec![]);
        assert_eq!(names("RUN cat <<<EOF"), vec![]);
        assert_eq!(names("RUN echo '<<EOF'"), vec![]);
        assert_eq!(names("RUN echo \"unterminated <<EOF"), vec![]);
        assert_eq!(names("RUN <<"), vec![]);
    }

    #[test]
    fn words_split_and_quote() {
        assert_eq!(words("a 'b c' d", false).unwrap(), vec!["a", "b c", "d"]);
        assert_eq!(words("a 'b c' d", true).unwrap(), vec!["a", "'b c'", "d"]);
        assert_eq!(words(r"a\ b", false).unwrap(), vec!["a b"]);
        assert_eq!(words("${x:-a b}", false).unwrap(), vec!["${x:-a", "b}"]);
        assert!(words("${", false).is_none());
        assert!(words("${:}", false).is_none());
        assert!(words("'open", false).is_none());
    }
}
