//! A lossless Dockerfile lexer that follows BuildKit's `parser.Parse` line by line.
//!
//! Every byte of the input belongs to exactly one [`Token`], in order, so the tokens
//! concatenated give the input back. On top of the tokens, each instruction carries its
//! *logical line* (what BuildKit hands to the instruction parsers: first-line indentation,
//! line continuations, comment and blank lines inside a continuation removed) and a map
//! from logical offsets back to source offsets.
//!
//! The rules are those of frontend/dockerfile/parser/parser.go (`Parse`, `processLine`,
//! `trimContinuationCharacter`, the heredoc loop with `heredocsFromLine` and `ParseHeredoc`,
//! which lex with [`super::shell`]) and directives.go (`DirectiveParser`):
//! a UTF-8 BOM is dropped from the first line; lines end at `\n` and lose every trailing
//! `\r`/`\n`; parser directives (`# syntax=`, `# escape=`, `# check=`) count only before
//! anything else, including a blank line; the escape character (`\` or backtick) followed
//! by spaces/tabs at the end of a line continues it, unless it is itself escaped; heredoc
//! bodies follow the whole logical line of a RUN/COPY/ADD (also under ONBUILD) that is not
//! in JSON form. Where BuildKit would reject the file we keep going: this lexer never fails.

use std::ops::Range;

use super::pattern::Patterns;
use super::shell::{Env, Lex, Value};
use super::text::{lower_eq, skip_space};
use super::words::{is_json_string_array, split_command};

pub(crate) const BOM: &[u8] = b"\xEF\xBB\xBF";

/// What a run of bytes is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenKind {
    /// The UTF-8 byte order mark at the very start.
    Bom,
    /// A parser directive line (`# escape=`), newline included.
    Directive,
    /// A comment line outside any instruction, newline included.
    Comment,
    /// A line of nothing but white space, newline included.
    Blank,
    /// White space before an instruction's first word (BuildKit trims it).
    Indent,
    /// Bytes that belong to an instruction's logical line.
    Content,
    /// The escape character that continues a line, plus the blanks after it.
    Continuation,
    /// A comment line inside a continued instruction (BuildKit skips it).
    ContinuationComment,
    /// The trailing `\r`/`\n` bytes of a physical line.
    Newline,
    /// A line of a heredoc body, newline included. Never rewritten.
    HeredocBody,
    /// The line that ends a heredoc, newline included.
    HeredocEnd,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    pub(crate) kind: TokenKind,
    pub(crate) span: Range<usize>,
}

/// A piece of the logical line and where it sits in the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fragment {
    pub(crate) logical: usize,
    pub(crate) source: usize,
    pub(crate) len: usize,
}

/// One instruction: its logical line and how to get back to the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Instruction {
    /// 1-based physical line where the instruction starts.
    pub(crate) line: usize,
    /// The logical line BuildKit parses.
    pub(crate) text: Vec<u8>,
    pub(crate) fragments: Vec<Fragment>,
    /// Source span of the instruction, heredoc bodies included.
    pub(crate) span: Range<usize>,
    /// Heredocs announced by the instruction, in order.
    pub(crate) heredocs: Vec<Heredoc>,
}

impl Instruction {
    /// The source ranges behind a logical range (several when it crosses a continuation).
    pub(crate) fn source_ranges(&self, logical: Range<usize>) -> Vec<Range<usize>> {
        let mut out = Vec::new();
        for f in &self.fragments {
            let start = logical.start.max(f.logical);
            let end = logical.end.min(f.logical + f.len);
            if start < end {
                let shift = f.source as isize - f.logical as isize;
                out.push((start as isize + shift) as usize..(end as isize + shift) as usize);
            }
        }
        out
    }
}

/// A lexed Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Dockerfile {
    /// The escape character in force after the directives (`\` or backtick).
    pub(crate) escape: u8,
    pub(crate) tokens: Vec<Token>,
    pub(crate) instructions: Vec<Instruction>,
}

#[derive(Clone, Copy)]
struct Line {
    number: usize,
    start: usize,
    /// End of the line without its trailing `\r`/`\n` bytes (`trimNewline`).
    content_end: usize,
    end: usize,
}

struct Lines<'a> {
    src: &'a [u8],
    pos: usize,
    number: usize,
}

impl Iterator for Lines<'_> {
    type Item = Line;

    /// `scanLines`: up to and including `\n`, or the rest at EOF.
    fn next(&mut self) -> Option<Line> {
        if self.pos >= self.src.len() {
            return None;
        }
        let start = self.pos;
        let end = match self.src[start..].iter().position(|&b| b == b'\n') {
            Some(i) => start + i + 1,
            None => self.src.len(),
        };
        let mut content_end = end;
        while content_end > start && matches!(self.src[content_end - 1], b'\r' | b'\n') {
            content_end -= 1;
        }
        self.pos = end;
        self.number += 1;
        Some(Line {
            number: self.number,
            start,
            content_end,
            end,
        })
    }
}

/// `DirectiveParser`: which directives were seen, and whether the window is closed.
#[derive(Default)]
struct Directives {
    done: bool,
    seen: Vec<String>,
}

impl Directives {
    /// `ParseLine` on a line with its indentation already trimmed. Returns the
    /// directive's name and value when the line is one.
    fn parse_line(&mut self, line: &[u8]) -> Option<(String, Vec<u8>)> {
        if self.done {
            return None;
        }
        let found = directive(line);
        match &found {
            Some((name, _)) if !self.seen.contains(name) => self.seen.push(name.clone()),
            // A repeated directive is an error for BuildKit; for us it is a comment.
            _ => self.done = true,
        }
        found.filter(|_| !self.done)
    }
}

/// The regexp `^([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$` after `#` and blanks, for
/// the keys `syntax`, `escape`, `check` (case-insensitive).
fn directive(line: &[u8]) -> Option<(String, Vec<u8>)> {
    let rest = line.strip_prefix(b"#")?;
    let rest = &rest[skip_space(rest, 0, rest.len())..];
    let key_len = rest
        .iter()
        .position(|b| !b.is_ascii_alphanumeric())
        .unwrap_or(rest.len());
    if key_len == 0 || !rest[0].is_ascii_alphabetic() {
        return None;
    }
    let is_re_s = |b: &u8| matches!(b, b'\t' | b'\n' | 0x0c | b'\r' | b' ');
    let after_key = &rest[key_len..];
    let eq = after_key.iter().position(|b| !is_re_s(b))?;
    let after_eq = after_key[eq..].strip_prefix(b"=")?;
    let value_start = after_eq.iter().position(|b| !is_re_s(b))?;
    let value = &after_eq[value_start..];
    let value_end = value.iter().rposition(|b| !is_re_s(b))? + 1;
    let name = String::from_utf8_lossy(&rest[..key_len]).to_ascii_lowercase();
    matches!(name.as_str(), "syntax" | "escape" | "check")
        .then(|| (name, value[..value_end].to_vec()))
}

/// `trimContinuationCharacter`: the position of the escape character that continues the
/// line `src[start..end]`, if it does (`([^E])E[ \t]*$|^E[ \t]*$`).
fn continuation(src: &[u8], start: usize, end: usize, escape: u8) -> Option<usize> {
    let mut t = end;
    while t > start && matches!(src[t - 1], b' ' | b'\t') {
        t -= 1;
    }
    (t > start && src[t - 1] == escape && (t - 1 == start || src[t - 2] != escape)).then(|| t - 1)
}

/// A token for a non-empty span.
fn push(tokens: &mut Vec<Token>, kind: TokenKind, span: Range<usize>) {
    if !span.is_empty() {
        tokens.push(Token { kind, span });
    }
}

/// Lex a whole Dockerfile. Never fails.
pub(crate) fn parse(src: &[u8]) -> Dockerfile {
    let mut tokens = Vec::new();
    let mut start = 0;
    if src.starts_with(BOM) {
        push(&mut tokens, TokenKind::Bom, 0..BOM.len());
        start = BOM.len();
    }
    let mut lines = Lines {
        src,
        pos: start,
        number: 0,
    };
    let mut directives = Directives::default();
    let mut escape = b'\\';
    let mut instructions = Vec::new();

    while let Some(line) = lines.next() {
        let first = skip_space(src, line.start, line.content_end);
        if let Some((name, value)) = directives.parse_line(&src[first..line.content_end]) {
            // An invalid escape value makes BuildKit fail; we keep the current one.
            if name == "escape" && matches!(value.as_slice(), b"\\" | b"`") {
                escape = value[0];
            }
            push(&mut tokens, TokenKind::Directive, line.start..line.end);
            continue;
        }
        if src.get(first) == Some(&b'#') {
            push(&mut tokens, TokenKind::Comment, line.start..line.end);
            continue;
        }
        if first == line.content_end {
            push(&mut tokens, TokenKind::Blank, line.start..line.end);
            continue;
        }
        let mut inst = Instruction {
            line: line.number,
            text: Vec::new(),
            fragments: Vec::new(),
            span: line.start..line.end,
            heredocs: Vec::new(),
        };
        push(&mut tokens, TokenKind::Indent, line.start..first);
        if content(&mut tokens, &mut inst, src, first, line, escape) {
            continuation_lines(&mut tokens, &mut inst, &mut lines, escape);
        }
        inst.heredocs = heredocs_of(&inst.text, escape);
        heredoc_bodies(&mut tokens, &mut inst, &mut lines);
        instructions.push(inst);
    }
    Dockerfile {
        escape,
        tokens,
        instructions,
    }
}

/// The lines that continue an instruction: comments and blank lines inside it are skipped,
/// as BuildKit skips them, until a line does not end in the escape character.
fn continuation_lines(
    tokens: &mut Vec<Token>,
    inst: &mut Instruction,
    lines: &mut Lines<'_>,
    escape: u8,
) {
    let src = lines.src;
    let mut continued = true;
    while continued {
        let Some(next) = lines.next() else { break };
        inst.span.end = next.end;
        let lead = skip_space(src, next.start, next.end);
        if src.get(lead) == Some(&b'#') {
            push(tokens, TokenKind::ContinuationComment, next.start..next.end);
            continue;
        }
        if skip_space(src, next.start, next.content_end) == next.content_end {
            push(tokens, TokenKind::Blank, next.start..next.end);
            continue;
        }
        continued = content(tokens, inst, src, next.start, next, escape);
    }
}

/// The bodies of the instruction's heredocs, each up to its terminating line.
fn heredoc_bodies(tokens: &mut Vec<Token>, inst: &mut Instruction, lines: &mut Lines<'_>) {
    let src = lines.src;
    for doc in &inst.heredocs {
        loop {
            let Some(body) = lines.next() else {
                return; // unterminated: BuildKit fails; the rest stays a body
            };
            inst.span.end = body.end;
            let mut candidate = &src[body.start..body.content_end];
            if doc.chomp {
                let tabs = candidate.iter().take_while(|&&b| b == b'\t').count();
                candidate = &candidate[tabs..];
            }
            if candidate == doc.name {
                push(tokens, TokenKind::HeredocEnd, body.start..body.end);
                break;
            }
            push(tokens, TokenKind::HeredocBody, body.start..body.end);
        }
    }
}

/// Add one physical line's content to the instruction; returns whether it continues.
fn content(
    tokens: &mut Vec<Token>,
    inst: &mut Instruction,
    src: &[u8],
    from: usize,
    line: Line,
    escape: u8,
) -> bool {
    let cont = continuation(src, from, line.content_end, escape);
    let content_end = cont.unwrap_or(line.content_end);
    let mut push = |kind, span: Range<usize>| {
        if !span.is_empty() {
            tokens.push(Token { kind, span });
        }
    };
    push(TokenKind::Content, from..content_end);
    if content_end > from {
        inst.fragments.push(Fragment {
            logical: inst.text.len(),
            source: from,
            len: content_end - from,
        });
        inst.text.extend_from_slice(&src[from..content_end]);
    }
    if let Some(at) = cont {
        push(TokenKind::Continuation, at..line.content_end);
    }
    push(TokenKind::Newline, line.content_end..line.end);
    cont.is_some()
}

/// `canContainHeredoc` and `heredocsFromLine` for one logical line.
fn heredocs_of(text: &[u8], escape: u8) -> Vec<Heredoc> {
    if !text.windows(2).any(|w| w == b"<<") {
        return Vec::new();
    }
    let mut cmd = split_command(text, 0..text.len(), escape);
    if lower_eq(&text[cmd.name.clone()], "onbuild") {
        cmd = split_command(text, cmd.args.clone(), escape);
    }
    let name = &text[cmd.name.clone()];
    let capable = ["add", "copy", "run"].iter().any(|k| lower_eq(name, k));
    if !capable || is_json_string_array(&text[cmd.args]) {
        return Vec::new();
    }
    heredocs_from_line(text)
}

/// A heredoc announced on an instruction line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Heredoc {
    /// The delimiter, quotes removed (what the line that ends the body must be).
    pub(crate) name: Vec<u8>,
    /// `<<-`: leading tabs are ignored when looking for the delimiter.
    pub(crate) chomp: bool,
}

/// `heredocsFromLine`: the line's words (escape `\`, raw quotes and escapes, unset
/// variables as written; none when the line does not lex), each parsed as a heredoc.
fn heredocs_from_line(line: &[u8]) -> Vec<Heredoc> {
    let lex = Lex {
        raw_quotes: true,
        raw_escapes: true,
        skip_unset_env: true,
        ..Lex::new(b'\\')
    };
    let line = Value::at(line, 0);
    let words = lex.process_words(&line, &Env::new(), &mut Patterns::default());
    words
        .unwrap_or_default()
        .iter()
        .filter_map(|word| parse_heredoc(&word.bytes))
        .collect()
}

/// `ParseHeredoc`: the regexp `^(\d*)<<(-?)\s*([^<]*)$`, then the rest must lex (escape `\`,
/// unset variables as written) to exactly one word, which is the delimiter. Where Go fails
/// the whole file (the rest does not lex), this word is just not a heredoc.
fn parse_heredoc(word: &[u8]) -> Option<Heredoc> {
    let digits = word.iter().take_while(|b| b.is_ascii_digit()).count();
    let rest = word[digits..].strip_prefix(b"<<")?;
    let (chomp, rest) = match rest.strip_prefix(b"-") {
        Some(rest) => (true, rest),
        None => (false, rest),
    };
    let blanks = rest
        .iter()
        .take_while(|b| matches!(b, b'\t' | b'\n' | b'\x0c' | b'\r' | b' '))
        .count();
    let rest = &rest[blanks..];
    if rest.is_empty() || rest.contains(&b'<') {
        return None;
    }
    let lex = Lex {
        skip_unset_env: true,
        ..Lex::new(b'\\')
    };
    let words = lex.process_words(&Value::at(rest, 0), &Env::new(), &mut Patterns::default());
    match words.ok()?.as_slice() {
        [name] => Some(Heredoc {
            name: name.bytes.clone(),
            chomp,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<(TokenKind, String)> {
        let df = parse(src.as_bytes());
        let joined: Vec<u8> = df
            .tokens
            .iter()
            .flat_map(|t| src.as_bytes()[t.span.clone()].to_vec())
            .collect();
        assert_eq!(joined, src.as_bytes(), "tokens must give the input back");
        df.tokens
            .iter()
            .map(|t| (t.kind, src[t.span.clone()].to_string()))
            .collect()
    }

    fn logical(src: &str) -> Vec<String> {
        parse(src.as_bytes())
            .instructions
            .iter()
            .map(|i| String::from_utf8_lossy(&i.text).into_owned())
            .collect()
    }

    use TokenKind::*;

    #[test]
    fn lines_comments_and_bom() {
        assert_eq!(
            kinds("\u{feff}FROM a\r\n\n  # c\n  RUN x"),
            vec![
                (Bom, "\u{feff}".into()),
                (Content, "FROM a".into()),
                (Newline, "\r\n".into()),
                (Blank, "\n".into()),
                (Comment, "  # c\n".into()),
                (Indent, "  ".into()),
                (Content, "RUN x".into()),
            ]
        );
    }

    #[test]
    fn continuations_follow_buildkit() {
        // Testfiles continueIndent, escapes, trailing-backslash, continue-at-eof.
        assert_eq!(
            logical("RUN a \\  \n  # comment\n\n   b\\\nc\nFROM x\\"),
            vec!["RUN a    bc", "FROM x"]
        );
        assert_eq!(logical("RUN a \\\\\nRUN b"), vec!["RUN a \\\\", "RUN b"]);
        assert_eq!(logical("RUN \\\n\\\nb"), vec!["RUN b"]);
        let toks = kinds("RUN a \\ \t\r\n b\n");
        assert_eq!(toks[1], (Continuation, "\\ \t".into()));
    }

    #[test]
    fn escape_directive_changes_the_continuation() {
        // Testfiles escape, escape-after-comment, escape-with-syntax.
        assert_eq!(
            logical("# escape=`\nRUN a `\n b \\\nRUN c"),
            vec!["RUN a  b \\", "RUN c"]
        );
        assert_eq!(
            logical("# syntax=x\n#escape = `\nRUN a `\nb"),
            vec!["RUN a b"]
        );
        assert_eq!(logical("# c\n# escape=`\nRUN a `\nb"), vec!["RUN a `", "b"]);
        assert_eq!(logical("\n# escape=`\nRUN a `\nb"), vec!["RUN a `", "b"]);
        assert_eq!(parse(b"# escape=x\nRUN a").escape, b'\\');
        assert_eq!(kinds("#escape=`\n")[0].0, Directive);
    }

    #[test]
    fn heredoc_bodies_are_tokens_of_their_own() {
        let src = "RUN <<EOF \\\n  && x\nFROM 192.168.0.1/a\nEOF\nCOPY <<-A <<B /\n\tFROM y\n\tA\nB\nFROM z\n";
        let toks = kinds(src);
        let bodies: Vec<_> = toks
            .iter()
            .filter(|(k, _)| matches!(k, HeredocBody | HeredocEnd))
            .map(|(_, s)| s.as_str())
            .collect();
        assert_eq!(
            bodies,
            vec![
                "FROM 192.168.0.1/a\n",
                "EOF\n",
                "\tFROM y\n",
                "\tA\n",
                "B\n"
            ]
        );
        assert_eq!(
            logical(src),
            vec!["RUN <<EOF   && x", "COPY <<-A <<B /", "FROM z"]
        );
        // JSON form and other instructions have no heredocs.
        assert_eq!(
            logical("RUN [\"<<EOF\"]\nFROM a\nEOF"),
            vec!["RUN [\"<<EOF\"]", "FROM a", "EOF"]
        );
        assert_eq!(
            logical("LABEL a=<<EOF\nFROM a"),
            vec!["LABEL a=<<EOF", "FROM a"]
        );
        assert_eq!(
            logical("ONBUILD RUN <<X\nFROM a\nX\nFROM b"),
            vec!["ONBUILD RUN <<X", "FROM b"]
        );
        // Unterminated: the rest of the file is the body.
        assert_eq!(logical("RUN <<EOF\nFROM a"), vec!["RUN <<EOF"]);
    }

    // Cases from BuildKit's parser_heredoc_test.go / lex_test.go behaviour.
    #[test]
    fn heredoc_words_are_found_like_buildkit() {
        let names = |line: &str| -> Vec<(String, bool)> {
            heredocs_from_line(line.as_bytes())
                .into_iter()
                .map(|h| (String::from_utf8_lossy(&h.name).into_owned(), h.chomp))
                .collect()
        };
        assert_eq!(names("RUN <<EOF"), vec![("EOF".into(), false)]);
        assert_eq!(names("RUN cat <<-\"EOT\" > x"), vec![("EOT".into(), true)]);
        assert_eq!(
            names("COPY <<one.txt <<two.txt /dest/"),
            vec![("one.txt".into(), false), ("two.txt".into(), false)]
        );
        assert_eq!(names("RUN 3<< 'E F'"), vec![("E F".into(), false)]);
        assert_eq!(
            names("RUN <<$X <<${Y}"),
            vec![("$X".into(), false), ("${Y}".into(), false)]
        );
        assert_eq!(names("RUN cat<<EOF"), vec![]);
        assert_eq!(names("RUN cat <<<EOF"), vec![]);
        assert_eq!(names("RUN echo '<<EOF'"), vec![]);
        assert_eq!(names("RUN echo \"unterminated <<EOF"), vec![]);
        assert_eq!(names("RUN <<"), vec![]);
        // A nested `${…}` resets Go's one words buffer: the `<<` is gone from the word.
        assert_eq!(names("RUN <<${X:-EOF}"), vec![]);
        // Each undecodable byte of the delimiter is one U+FFFD, as Go decodes it.
        let src = b"RUN <<\xe2\x82\n\xef\xbf\xbd\nFROM a\n\xef\xbf\xbd\xef\xbf\xbd\nFROM b\n";
        let texts: Vec<Vec<u8>> = parse(src)
            .instructions
            .into_iter()
            .map(|i| i.text)
            .collect();
        assert_eq!(texts, vec![b"RUN <<\xe2\x82".to_vec(), b"FROM b".to_vec()]);
    }

    #[test]
    fn source_ranges_cross_continuations() {
        let src = "FROM 192.168.\\\n0.1/x";
        let df = parse(src.as_bytes());
        let inst = &df.instructions[0];
        assert_eq!(inst.text, b"FROM 192.168.0.1/x");
        assert_eq!(inst.source_ranges(5..16), vec![5..13, 15..18]);
    }
}
