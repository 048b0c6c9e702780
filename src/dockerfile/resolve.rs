//! Every value of a Dockerfile that BuildKit resolves and a rewrite could change, resolved
//! the way dockerfile2llb (frontend/dockerfile/dockerfile2llb/convert.go) does it, with the
//! source offset of each byte ([`Value`]).
//!
//! * `# syntax=` (parser/directives.go `DetectSyntax`: after a `#!` line, `#` directives,
//!   else `//` ones; the value up to the first space) is an image BuildKit pulls first.
//! * Meta ARGs (before the first `FROM`), in order: a `--build-arg` replaces the default;
//!   otherwise the default is processed with the meta ARGs so far; `ARG NAME` alone changes
//!   nothing (`buildMetaArgs`). BuildKit's platform ARGs (`BUILDPLATFORM`, `TARGETARCH`…)
//!   are set before them (`defaultArgs`).
//! * `FROM [--platform=P] IMAGE [AS name]`: IMAGE and P are processed with the meta ARGs
//!   only (stage ARGs never reach a `FROM`). IMAGE is an image unless it is an earlier
//!   stage's name (`addState`) or `scratch`.
//! * `COPY --from=X` and the last `from=` of each `RUN --mount` are taken as written
//!   (`toCommand` refuses variables in `--from`; `parseMount` refuses `$` in `from=`); X is
//!   an image unless it names any stage (`findStateByName`, case-insensitive) or is a
//!   stage index. The same under `ONBUILD` (pulled when a child image builds).
//! * A stage's `ARG NAME` without a default inherits the meta ARG's value (`dispatchArg`):
//!   not an image, but a value a rewrite must not change behind the user's back.

use std::ops::Range;

use super::lexer::{Dockerfile, Instruction};
use super::pattern::Patterns;
use super::shell::{Env, Failure, Lex, Value, NOWHERE};
use super::text::{is_as_keyword, lower_eq};
use super::words::{parse_words, split_command, split_whitespace, Command};

/// `--build-arg` values by name.
pub(crate) type BuildArgs = std::collections::BTreeMap<String, String>;

/// What a [`Site`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Syntax,
    From,
    Platform,
    CopyFrom,
    MountFrom,
    /// A stage `ARG NAME` that inherits a meta ARG.
    StageArg,
}

impl Kind {
    /// How the value is named in messages.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Kind::Syntax => "the # syntax= directive",
            Kind::From => "FROM",
            Kind::Platform => "FROM --platform",
            Kind::CopyFrom => "COPY --from",
            Kind::MountFrom => "RUN --mount from=",
            Kind::StageArg => "the stage ARG",
        }
    }
}

/// One resolved value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Site {
    /// 1-based line of the instruction or directive.
    pub(crate) line: usize,
    pub(crate) kind: Kind,
    /// Whether BuildKit pulls it as an image.
    pub(crate) image: bool,
    /// Under `ONBUILD`: pulled when a child image builds, not by this build.
    pub(crate) onbuild: bool,
    pub(crate) value: Result<Value, Failure>,
    /// The text as written, when the value failed (for messages).
    pub(crate) raw: Vec<u8>,
}

/// Every site of `df` (lexed from `src`), in file order.
pub(crate) fn sites(src: &[u8], df: &Dockerfile, build_args: &BuildArgs) -> Vec<Site> {
    let mut out = Vec::new();
    if let Some(site) = syntax(src) {
        out.push(site);
    }
    let commands: Vec<Command> = df
        .instructions
        .iter()
        .map(|inst| split_command(&inst.text, 0..inst.text.len(), df.escape))
        .collect();
    let mut all_stages = Vec::new();
    for (inst, cmd) in df.instructions.iter().zip(&commands) {
        if lower_eq(&inst.text[cmd.name.clone()], "from") {
            if let Some(name) = stage_name(inst, cmd) {
                all_stages.push(name);
            }
        }
    }
    let mut walk = Walk {
        df,
        build_args,
        global: default_args(build_args, all_stages.last()),
        patterns: Patterns::default(),
        all_stages,
        stages: Vec::new(),
        in_stage: false,
        out,
    };
    for (inst, cmd) in df.instructions.iter().zip(&commands) {
        walk.instruction(inst, cmd, false);
    }
    walk.out
}

struct Walk<'a> {
    df: &'a Dockerfile,
    build_args: &'a BuildArgs,
    global: Env,
    patterns: Patterns,
    /// Every stage name of the file, lower-cased.
    all_stages: Vec<Vec<u8>>,
    /// The stage names seen so far.
    stages: Vec<Vec<u8>>,
    in_stage: bool,
    out: Vec<Site>,
}

impl Walk<'_> {
    fn instruction(&mut self, inst: &Instruction, cmd: &Command, under_onbuild: bool) {
        let text = &inst.text;
        let name = &text[cmd.name.clone()];
        if lower_eq(name, "from") && !under_onbuild {
            self.from(inst, cmd);
        } else if lower_eq(name, "arg") && !under_onbuild {
            self.arg(inst, cmd);
        } else if lower_eq(name, "copy") {
            for flag in &cmd.flags {
                if let Some((value, map)) = flag.value_of("from") {
                    let value = literal(inst, value, map);
                    let image = self.names_image(&value.bytes, self.df.escape, b"$'\"");
                    self.push(inst, Kind::CopyFrom, image, Ok(value), &[], under_onbuild);
                }
            }
        } else if lower_eq(name, "run") {
            for flag in &cmd.flags {
                if let Some((value, map)) = flag.value_of("mount") {
                    let from = csv_fields(value, map).into_iter().rev().find(|(f, _)| {
                        f.iter()
                            .position(|&b| b == b'=')
                            .is_some_and(|eq| f[..eq].eq_ignore_ascii_case(b"from"))
                    });
                    if let Some((field, field_map)) = from {
                        let eq = field.iter().position(|&b| b == b'=').unwrap_or(0) + 1;
                        let value = literal(inst, &field[eq..], &field_map[eq..]);
                        let dollar = value.bytes.iter().position(|&b| b == b'$');
                        let image = dollar.is_none_or(|i| i + 1 == value.bytes.len())
                            && self.names_image(&value.bytes, 0, b"");
                        self.push(inst, Kind::MountFrom, image, Ok(value), &[], under_onbuild);
                    }
                }
            }
        } else if lower_eq(name, "onbuild") && !under_onbuild {
            let sub = split_command(text, cmd.args.clone(), self.df.escape);
            self.instruction(inst, &sub, true);
        }
    }

    /// A `--from`/`from=` value names an image: not a stage, not an index, and nothing
    /// BuildKit refuses (`refused` bytes, or the escape character when it is not 0).
    fn names_image(&self, value: &[u8], escape: u8, refused: &[u8]) -> bool {
        !value.is_empty()
            && !is_stage_index(value)
            && !self
                .all_stages
                .iter()
                .any(|s| value.eq_ignore_ascii_case(s))
            && !value
                .iter()
                .any(|b| refused.contains(b) || (escape != 0 && *b == escape))
    }

    fn from(&mut self, inst: &Instruction, cmd: &Command) {
        self.in_stage = true;
        let text = &inst.text;
        for flag in &cmd.flags {
            if let Some((value, map)) = flag.value_of("platform") {
                let raw = literal(inst, value, map);
                let result = self.process(&raw);
                self.push(inst, Kind::Platform, false, result, &raw.bytes, false);
            }
        }
        let args = split_whitespace(text, cmd.args.clone());
        if let Some(word) = args.first() {
            let raw = Value {
                bytes: text[word.clone()].to_vec(),
                origin: origins(inst, word.clone()),
            };
            let result = self.process(&raw);
            let image = match &result {
                Ok(v) => v.bytes != b"scratch" && !self.stages.contains(&v.bytes),
                Err(_) => true,
            };
            self.push(inst, Kind::From, image, result, &raw.bytes, false);
        }
        if let Some(name) = stage_name(inst, cmd) {
            self.stages.push(name);
        }
    }

    fn arg(&mut self, inst: &Instruction, cmd: &Command) {
        let text = &inst.text;
        for word in parse_words(text, cmd.args.clone(), self.df.escape) {
            let eq = text[word.clone()].iter().position(|&b| b == b'=');
            let key = &text[word.start..eq.map_or(word.end, |e| word.start + e)];
            let given = std::str::from_utf8(key)
                .ok()
                .and_then(|k| self.build_args.get(k));
            if self.in_stage {
                // Only a bare `ARG NAME` takes the meta ARG's value.
                if given.is_none() && eq.is_none() {
                    if let Some(value) = self.global.get(key) {
                        let value = value.clone();
                        self.push(inst, Kind::StageArg, false, Ok(value), &[], false);
                    }
                }
                continue;
            }
            if let Some(given) = given {
                self.global
                    .insert(key.to_vec(), Value::opaque(given.as_bytes()));
            } else if let Some(eq) = eq {
                let value = word.start + eq + 1..word.end;
                let raw = Value {
                    bytes: text[value.clone()].to_vec(),
                    origin: origins(inst, value),
                };
                // A default BuildKit cannot process fails the build; nothing is pulled.
                if let Ok(v) = self.process(&raw) {
                    self.global.insert(key.to_vec(), v);
                }
            }
        }
    }

    /// `ProcessWord` as dockerfile2llb runs it: the file's escape token, the meta ARGs.
    fn process(&mut self, raw: &Value) -> Result<Value, Failure> {
        Lex::new(self.df.escape).process_word(raw, &self.global, &mut self.patterns)
    }

    fn push(
        &mut self,
        inst: &Instruction,
        kind: Kind,
        image: bool,
        value: Result<Value, Failure>,
        raw: &[u8],
        onbuild: bool,
    ) {
        let raw = if value.is_err() {
            raw.to_vec()
        } else {
            Vec::new()
        };
        self.out.push(Site {
            line: inst.line,
            kind,
            image,
            value,
            raw,
            onbuild,
        });
    }
}

/// `FROM image AS name`: the name, lower-cased as `parseFrom` stores it.
fn stage_name(inst: &Instruction, cmd: &Command) -> Option<Vec<u8>> {
    let args = split_whitespace(&inst.text, cmd.args.clone());
    (args.len() == 3 && is_as_keyword(&inst.text[args[1].clone()]))
        .then(|| inst.text[args[2].clone()].to_ascii_lowercase())
}

/// BuildKit's platform ARGs (`defaultArgs`), for the machine we run on, with overrides.
fn default_args(build_args: &BuildArgs, last_stage: Option<&Vec<u8>>) -> Env {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    };
    let platform = format!("linux/{arch}");
    let stage = last_stage
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .unwrap_or_else(|| "default".into());
    let pairs = [
        ("BUILDPLATFORM", platform.as_str()),
        ("BUILDOS", "linux"),
        ("BUILDOSVERSION", ""),
        ("BUILDARCH", arch),
        ("BUILDVARIANT", ""),
        ("TARGETPLATFORM", platform.as_str()),
        ("TARGETOS", "linux"),
        ("TARGETOSVERSION", ""),
        ("TARGETARCH", arch),
        ("TARGETVARIANT", ""),
        ("TARGETSTAGE", stage.as_str()),
    ];
    pairs
        .iter()
        .map(|(k, v)| {
            let v = build_args.get(*k).map_or(*v, String::as_str);
            (k.as_bytes().to_vec(), Value::opaque(v.as_bytes()))
        })
        .collect()
}

/// Source offsets of a logical range of an instruction.
fn origins(inst: &Instruction, logical: Range<usize>) -> Vec<usize> {
    let mut out = Vec::with_capacity(logical.len());
    for range in inst.source_ranges(logical) {
        out.extend(range);
    }
    out
}

/// A flag value whose bytes sit at logical positions `map`.
fn literal(inst: &Instruction, value: &[u8], map: &[usize]) -> Value {
    let origin = map
        .iter()
        .map(|&logical| {
            inst.source_ranges(logical..logical + 1)
                .first()
                .map_or(NOWHERE, |r| r.start)
        })
        .collect();
    Value {
        bytes: value.to_vec(),
        origin,
    }
}

/// `DetectSyntax`: skip a `#!` first line, read `#` directives (else `//` ones) until the
/// first line that is not one; the `syntax` value up to its first space.
fn syntax(src: &[u8]) -> Option<Site> {
    let body_start = if src.starts_with(super::lexer::BOM) {
        3
    } else {
        0
    };
    let mut start = body_start;
    let mut line = 0;
    if src[start..].starts_with(b"#!") {
        start = src[start..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(src.len(), |i| start + i + 1);
        line = 1;
    }
    for comment in [&b"#"[..], b"//"] {
        let mut at = start;
        let mut number = line;
        let mut seen: Vec<Vec<u8>> = Vec::new();
        while at < src.len() {
            let end = src[at..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(src.len(), |i| at + i);
            number += 1;
            let mut content_end = end;
            if content_end > at && src[content_end - 1] == b'\r' {
                content_end -= 1;
            }
            let Some((key, value)) = directive(src, at..content_end, comment) else {
                break;
            };
            if seen.contains(&key) {
                break;
            }
            if key == b"syntax" {
                let cut = src[value.clone()]
                    .iter()
                    .position(|&b| b == b' ')
                    .map_or(value.end, |i| value.start + i);
                return Some(Site {
                    line: number,
                    kind: Kind::Syntax,
                    image: true,
                    value: Ok(Value {
                        bytes: src[value.start..cut].to_vec(),
                        origin: (value.start..cut).collect(),
                    }),
                    raw: Vec::new(),
                    onbuild: false,
                });
            }
            seen.push(key);
            at = end + 1;
        }
    }
    None
}

/// `DirectiveParser.ParseLine` on `src[line]`: the prefix, Unicode blanks, then
/// `^([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$` with a known key. Key (lower-case) and the
/// value's source range.
fn directive(src: &[u8], line: Range<usize>, prefix: &[u8]) -> Option<(Vec<u8>, Range<usize>)> {
    let text = &src[line.clone()];
    let rest = text.strip_prefix(prefix)?;
    let mut i = prefix.len();
    let lossy = String::from_utf8_lossy(rest);
    let trimmed = lossy.trim_start();
    if trimmed.len() != lossy.len() {
        // Only ASCII/Unicode blanks were trimmed; count their bytes in the original.
        let blank = &lossy[..lossy.len() - trimmed.len()];
        if blank.contains('\u{fffd}') {
            return None;
        }
        i += blank.len();
    }
    let is_s = |b: u8| matches!(b, b'\t' | b'\n' | 0x0c | b'\r' | b' ');
    let key_start = i;
    if !text.get(i)?.is_ascii_alphabetic() {
        return None;
    }
    while i < text.len() && text[i].is_ascii_alphanumeric() {
        i += 1;
    }
    let key = text[key_start..i].to_ascii_lowercase();
    while i < text.len() && is_s(text[i]) {
        i += 1;
    }
    if text.get(i) != Some(&b'=') {
        return None;
    }
    i += 1;
    while i < text.len() && is_s(text[i]) {
        i += 1;
    }
    let mut end = text.len();
    while end > i && is_s(text[end - 1]) {
        end -= 1;
    }
    if end == i || !matches!(key.as_slice(), b"syntax" | b"escape" | b"check") {
        return None;
    }
    Some((key, line.start + i..line.start + end))
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
pub(crate) fn csv_fields<'a>(value: &'a [u8], map: &'a [usize]) -> Vec<(Vec<u8>, Vec<usize>)> {
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

    fn resolved(src: &str) -> Vec<(usize, Kind, bool, String)> {
        let df = super::super::lexer::parse(src.as_bytes());
        sites(src.as_bytes(), &df, &BuildArgs::new())
            .into_iter()
            .map(|s| {
                let v = match &s.value {
                    Ok(v) => String::from_utf8_lossy(&v.bytes).into_owned(),
                    Err(e) => format!("{e:?}"),
                };
                (s.line, s.kind, s.image, v)
            })
            .collect()
    }

    #[test]
    fn scopes_follow_dockerfile2llb() {
        let src = "#!/bin/sh\n# syntax=192.168.0.1/df:1 --x\nARG R=a\nARG R=b\nARG U\nFROM ${R}/x AS one\nARG R\nARG S=1\nFROM ${S:-s}/y\nFROM one\nCOPY --from=ONE /a /b\nCOPY --from=c/d /a /b\nRUN --mount=from=e,from=f/g x\nONBUILD COPY --from=h/i a b\n";
        use Kind::*;
        assert_eq!(
            resolved(src),
            vec![
                (2, Syntax, true, "192.168.0.1/df:1".into()),
                (6, From, true, "b/x".into()),
                (7, StageArg, false, "b".into()),
                (9, From, true, "s/y".into()),
                (10, From, false, "one".into()),
                (11, CopyFrom, false, "ONE".into()),
                (12, CopyFrom, true, "c/d".into()),
                (13, MountFrom, true, "f/g".into()),
                (14, CopyFrom, true, "h/i".into()),
            ]
        );
        assert_eq!(resolved("# c\n# syntax=x/y\nFROM a").len(), 1);
        assert_eq!(resolved("# check=skip=all\n#syntax = x/y\nFROM a")[0].0, 2);
        assert_eq!(resolved("\n# syntax=x/y\nFROM a").len(), 1);
        assert_eq!(resolved("// syntax=x/y\nFROM a")[0].1, Syntax);
        let fields = csv_fields(b"a,\"b,\"\"c\",d", &(0..12).collect::<Vec<_>>());
        let texts: Vec<_> = fields.iter().map(|(f, _)| f.clone()).collect();
        assert_eq!(texts, vec![b"a".to_vec(), b"b,\"c".to_vec(), b"d".to_vec()]);
        assert!(is_stage_index(b"0") && is_stage_index(b"+1") && !is_stage_index(b"a1"));
    }
}
