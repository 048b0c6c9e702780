//! Retarget the image references of a lexed Dockerfile from one endpoint to another.
//!
//! What is an image reference (BuildKit's instructions/parse.go and dockerfile2llb):
//! the first argument of `FROM` (after `--platform`), the value of `COPY`/`ADD --from=` and
//! of `from=` inside `RUN --mount=…` (a CSV list), the same under `ONBUILD`. A `--from` that
//! is an earlier stage name or a stage index is not an image. Variables: `${VAR:-default}`
//! and `${VAR-default}` defaults inside an image reference are followed, and the default of
//! an `ARG` is an image reference when that ARG is used (directly or through another ARG) in
//! one and its value is, or begins with, a registry host.
//!
//! Only the bytes of the registry host change. A host whose bytes are interrupted by a quote,
//! an escape or a line continuation is left alone (rewriting it would mean re-quoting or
//! re-flowing lines). Heredoc bodies are not part of any logical line, so they are never
//! touched.

use std::collections::HashSet;
use std::ops::Range;

use super::lexer::{Dockerfile, Instruction};
use super::reference::{endpoint_domain_len, is_registry_component, names_endpoint};
use super::shell::{self, Piece};
use super::text::{is_as_keyword, lower_eq};
use super::words::{parse_words, split_command, split_whitespace, Command};
use crate::endpoint::Endpoint;

/// Replace `span` of the source with `with`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Edit {
    pub(crate) span: Range<usize>,
    pub(crate) with: Vec<u8>,
}

/// Rewrite `src` so that references to `from` name `to` instead, written as
/// `to.reference_host()` (the configured spelling; no `:443` is added).
/// Returns `None` when nothing changes.
pub(crate) fn rewrite(src: &[u8], from: &Endpoint, to: &Endpoint) -> Option<Vec<u8>> {
    if from == to {
        return None;
    }
    let df = super::lexer::parse(src);
    let edits = edits(&df, from, to.reference_host().as_bytes());
    if edits.is_empty() {
        return None;
    }
    let out = apply(src, &edits);
    (out != src).then_some(out)
}

/// `--build-arg` values, by name. BuildKit applies them to meta ARGs (before the first
/// `FROM`) and to stage ARGs; an ARG given here has that value whatever its default says.
pub(crate) type BuildArgs = std::collections::BTreeMap<String, String>;

/// What [`retarget`] made of a Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Retarget {
    /// The rewritten file; `None` when no byte changes.
    pub(crate) text: Option<Vec<u8>>,
    /// References BuildKit would pull from `from` that were left as they are, and why.
    pub(crate) skipped: Vec<Skipped>,
}

/// A reference that names `from` but cannot be rewritten safely.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Skipped {
    /// 1-based line of the instruction (or directive) that uses the reference.
    pub(crate) line: usize,
    /// The reference as BuildKit resolves it.
    pub(crate) reference: String,
    /// Why it was left alone, for people.
    pub(crate) reason: String,
}

/// Retarget the image references BuildKit would pull from `from` to `to`, resolving
/// variables with `build_args` as `docker build --build-arg` does. This is the entry point
/// for callers outside this module (`rewrite`, `build`).
pub(crate) fn retarget(
    src: &[u8],
    from: &Endpoint,
    to: &Endpoint,
    build_args: &BuildArgs,
) -> Retarget {
    let _ = build_args;
    Retarget {
        text: rewrite(src, from, to),
        skipped: Vec::new(),
    }
}

/// Apply non-overlapping edits sorted by position.
pub(crate) fn apply(src: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut out = Vec::with_capacity(src.len() + edits.len() * 8);
    let mut at = 0;
    for edit in edits {
        out.extend_from_slice(&src[at..edit.span.start]);
        out.extend_from_slice(&edit.with);
        at = edit.span.end;
    }
    out.extend_from_slice(&src[at..]);
    out
}

/// An `ARG NAME=value` seen in the file.
struct ArgDefault {
    inst: usize,
    name: Vec<u8>,
    /// The value's range in the instruction's logical line.
    value: Range<usize>,
    pieces: Vec<Piece>,
}

struct Finder<'a> {
    df: &'a Dockerfile,
    from: &'a Endpoint,
    to: &'a [u8],
    /// Stage names so far, lower-cased as BuildKit stores them.
    stages: Vec<Vec<u8>>,
    /// Variables used inside image references.
    used: HashSet<Vec<u8>>,
    args: Vec<ArgDefault>,
    edits: Vec<Edit>,
}

/// Every edit that retargets `from` to the host text `to`, sorted and non-overlapping.
pub(crate) fn edits(df: &Dockerfile, from: &Endpoint, to: &[u8]) -> Vec<Edit> {
    let mut finder = Finder {
        df,
        from,
        to,
        stages: Vec::new(),
        used: HashSet::new(),
        args: Vec::new(),
        edits: Vec::new(),
    };
    for (index, inst) in df.instructions.iter().enumerate() {
        let cmd = split_command(&inst.text, 0..inst.text.len(), df.escape);
        finder.instruction(index, &cmd, false);
    }
    finder.arg_defaults();
    let mut edits = finder.edits;
    edits.sort_by_key(|e| (e.span.start, e.span.end));
    edits.dedup();
    let mut last_end = 0;
    edits.retain(|e| {
        let keep = e.span.start >= last_end;
        if keep {
            last_end = e.span.end.max(e.span.start);
        }
        keep
    });
    edits
}

impl Finder<'_> {
    fn instruction(&mut self, index: usize, cmd: &Command, under_onbuild: bool) {
        let inst = &self.df.instructions[index];
        let text = &inst.text;
        let name = &text[cmd.name.clone()];
        if lower_eq(name, "from") && !under_onbuild {
            let args = split_whitespace(text, cmd.args.clone());
            if let Some(image) = args.first() {
                self.image_word(index, image.clone());
            }
            if args.len() == 3 && is_as_keyword(&text[args[1].clone()]) {
                self.stages.push(text[args[2].clone()].to_ascii_lowercase());
            }
        } else if lower_eq(name, "copy") || lower_eq(name, "add") {
            for flag in &cmd.flags {
                if let Some((value, map)) = flag.value_of("from") {
                    self.literal(index, value, map);
                }
            }
        } else if lower_eq(name, "run") {
            for flag in &cmd.flags {
                if let Some((value, map)) = flag.value_of("mount") {
                    for (field, field_map) in csv_fields(value, map) {
                        let Some(eq) = field.iter().position(|&b| b == b'=') else {
                            continue;
                        };
                        if field[..eq].eq_ignore_ascii_case(b"from") {
                            self.literal(index, &field[eq + 1..], &field_map[eq + 1..]);
                        }
                    }
                }
            }
        } else if lower_eq(name, "onbuild") && !under_onbuild {
            let sub = split_command(text, cmd.args.clone(), self.df.escape);
            self.instruction(index, &sub, true);
        } else if lower_eq(name, "arg") && !under_onbuild {
            for word in parse_words(text, cmd.args.clone(), self.df.escape) {
                let Some(eq) = text[word.clone()].iter().position(|&b| b == b'=') else {
                    continue;
                };
                let value = word.start + eq + 1..word.end;
                if let Some(pieces) = shell::pieces(&text[value.clone()], self.df.escape) {
                    self.args.push(ArgDefault {
                        inst: index,
                        name: text[word.start..word.start + eq].to_vec(),
                        value,
                        pieces,
                    });
                }
            }
        }
    }

    /// `FROM`'s image: shell-processed, so quotes, escapes and `${VAR:-default}` apply.
    fn image_word(&mut self, index: usize, word: Range<usize>) {
        let inst = &self.df.instructions[index];
        let Some(pieces) = shell::pieces(&inst.text[word.clone()], self.df.escape) else {
            return;
        };
        let mut names = Vec::new();
        shell::variables(&pieces, &mut names);
        self.used.extend(names);
        if let Some(positions) = host_positions(&pieces, self.from, false) {
            self.replace(
                index,
                word.start + positions.start..word.start + positions.end,
            );
        }
    }

    /// A `--from`/`from=` value: quotes already removed by the flag parser, no variables
    /// (BuildKit refuses them there). Stage names and indexes are not images.
    fn literal(&mut self, index: usize, value: &[u8], map: &[usize]) {
        if is_stage_index(value) || self.stages.iter().any(|s| value.eq_ignore_ascii_case(s)) {
            return;
        }
        let Some(len) = endpoint_domain_len(value, self.from) else {
            return;
        };
        if contiguous(&map[..len]) {
            self.replace(index, map[0]..map[len - 1] + 1);
        }
    }

    /// ARG defaults used (transitively) by image references.
    fn arg_defaults(&mut self) {
        loop {
            let mut grew = false;
            for arg in &self.args {
                if self.used.contains(&arg.name) {
                    let mut names = Vec::new();
                    shell::variables(&arg.pieces, &mut names);
                    for name in names {
                        grew |= self.used.insert(name);
                    }
                }
            }
            if !grew {
                break;
            }
        }
        let mut found = Vec::new();
        for arg in &self.args {
            if self.used.contains(&arg.name) {
                if let Some(positions) = host_positions(&arg.pieces, self.from, true) {
                    let start = arg.value.start;
                    found.push((arg.inst, start + positions.start..start + positions.end));
                }
            }
        }
        for (inst, range) in found {
            self.replace(inst, range);
        }
    }

    /// Replace a logical range of an instruction with the target host, when the range is
    /// one run of source bytes. A host cut by a line continuation is left alone: removing
    /// its tail could empty a line (which BuildKit then skips, joining the next
    /// instruction) or put an escape in front of the continuation character.
    fn replace(&mut self, index: usize, logical: Range<usize>) {
        let inst: &Instruction = &self.df.instructions[index];
        if let [span] = inst.source_ranges(logical).as_slice() {
            self.edits.push(Edit {
                span: span.clone(),
                with: self.to.to_vec(),
            });
        }
    }
}

/// Where the registry host of a processed word sits in the raw word, when it is `from`.
/// Leading `${VAR:-default}`/`${VAR-default}` are read through their default (the value
/// used when VAR is unset); any other variable before the host means we cannot know it.
/// `bare`: the whole word may be just the host (`ARG REGISTRY=192.168.0.1`).
fn host_positions(pieces: &[Piece], from: &Endpoint, bare: bool) -> Option<Range<usize>> {
    enum Flow {
        Slash,
        End,
        Unknown,
    }
    fn walk(pieces: &[Piece], host: &mut Vec<u8>, at: &mut Vec<usize>) -> Flow {
        for piece in pieces {
            match piece {
                Piece::Lit { byte: b'/', .. } => return Flow::Slash,
                Piece::Lit { byte, pos } => {
                    host.push(*byte);
                    at.push(*pos);
                }
                Piece::Var {
                    default: Some(inner),
                    ..
                } => match walk(inner, host, at) {
                    Flow::End => {}
                    other => return other,
                },
                Piece::Var { default: None, .. } => return Flow::Unknown,
            }
        }
        Flow::End
    }
    let mut host = Vec::new();
    let mut at = Vec::new();
    let matched = match walk(pieces, &mut host, &mut at) {
        Flow::Slash => is_registry_component(&host) && names_endpoint(&host, from),
        Flow::End => bare && names_endpoint(&host, from),
        Flow::Unknown => false,
    };
    (matched && contiguous(&at)).then(|| at[0]..at[at.len() - 1] + 1)
}

/// Non-empty and consecutive: no quote or escape was removed from between these bytes.
fn contiguous(positions: &[usize]) -> bool {
    !positions.is_empty() && positions.windows(2).all(|w| w[1] == w[0] + 1)
}

/// `strconv.Atoi` succeeds: `COPY --from=0` names the first stage.
fn is_stage_index(value: &[u8]) -> bool {
    let digits = value
        .strip_prefix(b"-")
        .or(value.strip_prefix(b"+"))
        .unwrap_or(value);
    !digits.is_empty() && digits.iter().all(u8::is_ascii_digit)
}

/// `csvvalue.Fields` on a `--mount` value: comma-separated, `"quoted"` fields with `""`
/// for a quote. Each field comes with the map of its bytes to logical positions.
fn csv_fields<'a>(value: &'a [u8], map: &'a [usize]) -> Vec<(Vec<u8>, Vec<usize>)> {
    let mut fields = Vec::new();
    let mut i = 0;
    loop {
        let mut field = Vec::new();
        let mut field_map = Vec::new();
        if value.get(i) == Some(&b'"') {
            i += 1;
            while i < value.len() {
                if value[i] == b'"' {
                    if value.get(i + 1) == Some(&b'"') {
                        field.push(b'"');
                        field_map.push(map[i + 1]);
                        i += 2;
                        continue;
                    }
                    i += 1;
                    break;
                }
                field.push(value[i]);
                field_map.push(map[i]);
                i += 1;
            }
        }
        while i < value.len() && value[i] != b',' {
            field.push(value[i]);
            field_map.push(map[i]);
            i += 1;
        }
        fields.push((field, field_map));
        if i >= value.len() {
            return fields;
        }
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(s: &str) -> Endpoint {
        s.parse().unwrap()
    }

    fn run(src: &str, from: &str, to: &str) -> String {
        let out = rewrite(src.as_bytes(), &ep(from), &ep(to));
        String::from_utf8(out.unwrap_or_else(|| src.as_bytes().to_vec())).unwrap()
    }

    const VIP: &str = "192.168.0.1";
    const LB: &str = "192.168.1.50:5000";

    #[test]
    fn from_copy_mount_onbuild() {
        assert_eq!(
            run("FROM --platform=$X 192.168.0.1/base/x:1 AS b\n", VIP, LB),
            "FROM --platform=$X 192.168.1.50:5000/base/x:1 AS b\n"
        );
        assert_eq!(
            run("COPY --from=192.168.0.1:443/a/b /x /y\n", VIP, LB),
            "COPY --from=192.168.1.50:5000/a/b /x /y\n"
        );
        assert_eq!(
            run(
                "RUN --mount=type=bind,from=192.168.0.1/t,target=/t make\n",
                VIP,
                LB
            ),
            "RUN --mount=type=bind,from=192.168.1.50:5000/t,target=/t make\n"
        );
        assert_eq!(
            run("ONBUILD COPY --from=\"192.168.1.50:5000/a\" x y\n", LB, VIP),
            "ONBUILD COPY --from=\"192.168.0.1/a\" x y\n"
        );
    }

    #[test]
    fn csv_quotes_and_stage_names() {
        assert_eq!(
            run("RUN --mount=\"from=192.168.0.1/t\",target=/t x\n", VIP, LB),
            "RUN --mount=\"from=192.168.1.50:5000/t\",target=/t x\n"
        );
        let fields = csv_fields(b"a,\"b,\"\"c\",d", &(0..12).collect::<Vec<_>>());
        let texts: Vec<_> = fields.iter().map(|(f, _)| f.clone()).collect();
        assert_eq!(texts, vec![b"a".to_vec(), b"b,\"c".to_vec(), b"d".to_vec()]);
        assert!(is_stage_index(b"0") && is_stage_index(b"+1") && !is_stage_index(b"a1"));
    }

    #[test]
    fn variables_and_arg_defaults() {
        let src = "ARG REG=192.168.0.1\nARG OTHER=192.168.0.1\nARG BASE=\"${REG}/base/x:1\"\nFROM ${REG:-192.168.0.1}/a\nFROM $BASE\n";
        assert_eq!(
            run(src, VIP, LB),
            "ARG REG=192.168.1.50:5000\nARG OTHER=192.168.0.1\nARG BASE=\"${REG}/base/x:1\"\nFROM ${REG:-192.168.1.50:5000}/a\nFROM $BASE\n"
        );
        assert_eq!(
            run("ARG B='192.168.0.1/x'\nFROM ${B}\n", VIP, LB),
            "ARG B='192.168.1.50:5000/x'\nFROM ${B}\n"
        );
        assert_eq!(
            run("FROM ${R}/192.168.0.1/x\n", VIP, LB),
            "FROM ${R}/192.168.0.1/x\n"
        );
    }

    #[test]
    fn quoted_and_split_hosts() {
        assert_eq!(
            run("FROM \"192.168.0.1/x\"\n", VIP, LB),
            "FROM \"192.168.1.50:5000/x\"\n"
        );
        assert_eq!(
            run("FROM 192.168.\"0.1\"/x\n", VIP, LB),
            "FROM 192.168.\"0.1\"/x\n"
        );
        assert_eq!(
            run("FROM 192.168.\\\n0.1/x\n", VIP, LB),
            "FROM 192.168.\\\n0.1/x\n"
        );
        assert_eq!(
            run("FROM \\\n 192.168.0.1/x\n", VIP, LB),
            "FROM \\\n 192.168.1.50:5000/x\n"
        );
    }
}
