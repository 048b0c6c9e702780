//! Retarget the image references of a Dockerfile from one endpoint to another.
//!
//! [`super::resolve`] gives every value BuildKit resolves (images, platforms, inherited
//! ARGs) with the source offset of each byte. A reference needs the change when its
//! registry host (`splitDockerDomain`, after expansion) is the old endpoint. It is
//! rewritten only when the host's bytes are one contiguous run of the file (a literal, or
//! one ARG default), and only when changing that run changes nothing else BuildKit sees:
//! the file is rewritten, resolved again, and every value must be what it was except the
//! hosts that were meant to change. Whatever fails is left byte for byte and reported as
//! [`Skipped`] with the reason. Heredoc bodies, comments and RUN/ENV/LABEL text are never
//! values, so they are never touched.

use std::ops::Range;

use super::lexer;
use super::reference::endpoint_domain_len;
pub(crate) use super::resolve::BuildArgs;
use super::resolve::{sites, Site};
use super::shell::{Failure, MAX_DEPTH, NOWHERE};
use super::text::lower_eq;
use crate::endpoint::Endpoint;

/// Replace `span` of the source with `with`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Edit {
    pub(crate) span: Range<usize>,
    pub(crate) with: Vec<u8>,
}

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
    /// The reference as BuildKit resolves it (as written when it cannot be resolved).
    pub(crate) reference: String,
    /// Why it was left alone, for people.
    pub(crate) reason: String,
}

/// Rewrite `src` so that references to `from` name `to` instead; `None` when nothing
/// changes. Skipped references are dropped: use [`retarget`] to see them.
#[cfg(test)]
pub(crate) fn rewrite(src: &[u8], from: &Endpoint, to: &Endpoint) -> Option<Vec<u8>> {
    retarget(src, from, to, &BuildArgs::new()).text
}

/// Retarget the image references BuildKit would pull from `from` to `to` (written as
/// `to.reference_host()`, the configured spelling), resolving variables with `build_args`
/// as `docker build --build-arg` does. This is the entry point for callers outside this
/// module (`rewrite`, `build`).
pub(crate) fn retarget(
    src: &[u8],
    from: &Endpoint,
    to: &Endpoint,
    build_args: &BuildArgs,
) -> Retarget {
    if from == to {
        return Retarget::default();
    }
    let df = lexer::parse(src);
    let (plan, mut skipped) = Plan::new(src, &df, from, to.reference_host(), build_args);
    let mut spans: Vec<Range<usize>> = plan.wants.iter().flatten().cloned().collect();
    spans.sort_by_key(|s| (s.start, s.end));
    spans.dedup();
    // A registry ARG whose value another instruction turns into another host (`${REG}0` in
    // a RUN of a stage that inherits it) is not the user's registry there: keep it.
    let mut blocked: Vec<(Range<usize>, String)> = Vec::new();
    spans.retain(|span| match registry_arg_misuse(src, &df, span) {
        Some(reason) => {
            blocked.push((span.clone(), reason));
            false
        }
        None => true,
    });
    let mut rejected: Vec<(Range<usize>, usize)> = Vec::new();
    let out = plan.accept(spans, &mut rejected);
    plan.explain(&blocked, &rejected, &mut skipped);
    skipped.sort_by_key(|s| s.line);
    Retarget {
        text: out.filter(|o| o != src),
        skipped,
    }
}

/// What a retarget works from: every site BuildKit resolves before the change, and for
/// each the edit of its host when its host is the endpoint and comes from one span of the
/// file.
struct Plan<'a> {
    src: &'a [u8],
    build_args: &'a BuildArgs,
    to_text: Vec<u8>,
    before: Vec<Site>,
    /// Per site: the edit of its host, and the host's length in the value.
    host_of: Vec<Option<(Edit, usize)>>,
    /// Per image site: the span its host comes from (what the user wants changed).
    wants: Vec<Option<Range<usize>>>,
}

impl<'a> Plan<'a> {
    /// Images want their host's edit, and any other site (a stage ARG inheriting a
    /// registry ARG) may change with it. Images that name `from` but cannot be edited
    /// are the skipped ones.
    fn new(
        src: &'a [u8],
        df: &lexer::Dockerfile,
        from: &Endpoint,
        to: String,
        build_args: &'a BuildArgs,
    ) -> (Plan<'a>, Vec<Skipped>) {
        let to_text = to.into_bytes();
        let before = sites(src, df, build_args);
        let mut skipped = Vec::new();
        let mut host_of: Vec<Option<(Edit, usize)>> = vec![None; before.len()];
        let mut wants: Vec<Option<Range<usize>>> = vec![None; before.len()];
        for (i, site) in before.iter().enumerate() {
            match &site.value {
                Ok(value) => {
                    let Some(len) = host_len(site.image, &value.bytes, from) else {
                        continue;
                    };
                    match host_edit(&value.origin[..len], src, df, &to_text) {
                        Ok(edit) => {
                            if site.image {
                                wants[i] = Some(edit.span.clone());
                            }
                            host_of[i] = Some((edit, len));
                        }
                        Err(reason) if site.image => skipped.push(skip(site, reason)),
                        Err(_) => {}
                    }
                }
                Err(Failure::TooDeep) if site.image && mentions(&site.raw, from) => {
                    skipped.push(skip(
                        site,
                        format!("its variables are nested more than {MAX_DEPTH} levels deep"),
                    ))
                }
                Err(_) => {}
            }
        }
        let plan = Plan {
            src,
            build_args,
            to_text,
            before,
            host_of,
            wants,
        };
        (plan, skipped)
    }

    /// What replaces `span`: the host edit that wants it, else the target's spelling.
    fn replacement(&self, span: &Range<usize>) -> Vec<u8> {
        self.host_of
            .iter()
            .flatten()
            .find(|(edit, _)| edit.span == *span)
            .map_or_else(|| self.to_text.clone(), |(edit, _)| edit.with.clone())
    }

    /// Rewrite with these spans and resolve again: the text, or the first site that
    /// changed in a way it should not (only the hosts of accepted spans may change).
    fn check(&self, accepted: &[Range<usize>]) -> Result<Vec<u8>, usize> {
        let edits: Vec<Edit> = accepted
            .iter()
            .map(|span| Edit {
                span: span.clone(),
                with: self.replacement(span),
            })
            .collect();
        let out = apply(self.src, &edits);
        let df = lexer::parse(&out);
        let after = sites(&out, &df, self.build_args);
        if after.len() != self.before.len() {
            return Err(self.before.len().min(after.len()));
        }
        for (i, (old, new)) in self.before.iter().zip(&after).enumerate() {
            let expected = match (&old.value, &self.host_of[i]) {
                (Ok(v), Some((edit, len))) if accepted.contains(&edit.span) => {
                    let mut bytes = self.to_text.clone();
                    bytes.extend_from_slice(&v.bytes[*len..]);
                    Ok(bytes)
                }
                (Ok(v), _) => Ok(v.bytes.clone()),
                (Err(e), _) => Err(*e),
            };
            let got = new.value.as_ref().map(|v| v.bytes.clone()).map_err(|e| *e);
            if got != expected || old.kind != new.kind || old.image != new.image {
                return Err(i);
            }
        }
        Ok(out)
    }

    /// The text with as many of `spans` as can change alone; the others go to `rejected`
    /// with the site that stopped them.
    fn accept(
        &self,
        spans: Vec<Range<usize>>,
        rejected: &mut Vec<(Range<usize>, usize)>,
    ) -> Option<Vec<u8>> {
        // Overlapping spans cannot both be replaced: keep the first of each overlap.
        let mut candidates: Vec<Range<usize>> = Vec::new();
        for span in spans {
            if candidates.last().is_some_and(|last| span.start < last.end) {
                rejected.push((span, usize::MAX));
            } else {
                candidates.push(span);
            }
        }
        // Drop the spans a changed value was built from until nothing else changes; each
        // round removes at least one span, and one or two rounds are the rule.
        while !candidates.is_empty() {
            let site = match self.check(&candidates) {
                Ok(text) => return Some(text),
                Err(site) => site,
            };
            let feeds = |span: &Range<usize>| match self.before.get(site).map(|s| &s.value) {
                Some(Ok(v)) => v.origin.iter().any(|o| span.contains(o)),
                _ => false,
            };
            let (culprits, rest): (Vec<_>, Vec<_>) =
                candidates.iter().cloned().partition(|s| feeds(s));
            if culprits.is_empty() {
                // The change shows nowhere in the value (a pattern, a test of set-ness):
                // find the span one at a time.
                return one_at_a_time(&candidates, &|accepted| self.check(accepted), rejected);
            }
            rejected.extend(culprits.into_iter().map(|s| (s, site)));
            candidates = rest;
        }
        None
    }

    /// Why each wanted span was left: a registry ARG used for another host, or the site
    /// its change would also have changed.
    fn explain(
        &self,
        blocked: &[(Range<usize>, String)],
        rejected: &[(Range<usize>, usize)],
        skipped: &mut Vec<Skipped>,
    ) {
        let src = self.src;
        for (i, want) in self.wants.iter().enumerate() {
            let Some(span) = want else { continue };
            if let Some((_, reason)) = blocked.iter().find(|(s, _)| s == span) {
                skipped.push(skip(&self.before[i], reason.clone()));
            } else if let Some((_, culprit)) = rejected.iter().find(|(s, _)| s == span) {
                let reason = match self.before.get(*culprit) {
                    Some(other) if *culprit != i => format!(
                        "its host is {} on line {}, which also feeds {} on line {} ({}); changing it would change that too",
                        describe_span(src, span),
                        line_of(src, span.start),
                        other.kind.label(),
                        other.line,
                        shown(other),
                    ),
                    Some(_) => format!(
                        "rewriting {} (line {}) would change how the line is read",
                        describe_span(src, span),
                        line_of(src, span.start)
                    ),
                    None => "rewriting its host would overlap another rewrite or change how the file is read".to_string(),
                };
                skipped.push(skip(&self.before[i], reason));
            }
        }
    }
}

/// The check of [`Plan::check`], for [`one_at_a_time`].
type Check<'a> = dyn Fn(&[Range<usize>]) -> Result<Vec<u8>, usize> + 'a;

/// Accept spans one at a time, each kept when the file with it and the ones kept so far
/// changes only the hosts meant to change. The text with the accepted spans.
fn one_at_a_time(
    candidates: &[Range<usize>],
    check: &Check,
    rejected: &mut Vec<(Range<usize>, usize)>,
) -> Option<Vec<u8>> {
    let mut accepted: Vec<Range<usize>> = Vec::new();
    let mut out = None;
    for span in candidates {
        let mut trial = accepted.clone();
        trial.push(span.clone());
        match check(&trial) {
            Ok(text) => {
                accepted = trial;
                out = Some(text);
            }
            Err(site) => rejected.push((span.clone(), site)),
        }
    }
    out
}

/// The images a build of `src` pulls, resolved as BuildKit does with `build_args`, in
/// file order without repeats: `# syntax=`, `FROM` images, `COPY --from` and `--mount
/// from=` images (not those under `ONBUILD`, which only a child build pulls).
pub(crate) fn pulled_images(src: &[u8], build_args: &BuildArgs) -> Vec<String> {
    let df = lexer::parse(src);
    let mut images: Vec<String> = Vec::new();
    for site in sites(src, &df, build_args) {
        if let (true, false, Ok(value)) = (site.image, site.onbuild, &site.value) {
            let image = String::from_utf8_lossy(&value.bytes).into_owned();
            if !images.contains(&image) {
                images.push(image);
            }
        }
    }
    images
}

/// The length of the registry host that names `from` at the start of a site's value: as
/// the host of a reference for an image; for any other value (a stage ARG holding a registry
/// as `HOST` or `HOST/path`) the same, read as if a path followed.
pub(super) fn host_len(image: bool, value: &[u8], from: &Endpoint) -> Option<usize> {
    if image {
        endpoint_domain_len(value, from)
    } else {
        endpoint_domain_len(&[value, b"/x"].concat(), from).filter(|&len| len <= value.len())
    }
}

/// The edit that retargets a host whose bytes were copied from `origin`, or why there is
/// none. A host from one contiguous span is replaced as it is. A host written in one piece
/// on one line but with quotes or escapes inside (`192.168.0."1"`, `registry\.example`) is
/// replaced whole by the target spelling, with the quoting put back as it stood after the
/// span. A host assembled from a variable, from several places or across a line
/// continuation is not.
fn host_edit(
    origin: &[usize],
    src: &[u8],
    df: &lexer::Dockerfile,
    to_text: &[u8],
) -> Result<Edit, String> {
    if origin.contains(&NOWHERE) {
        return Err(
            "part of its host comes from a --build-arg or a platform ARG, not from the file".into(),
        );
    }
    let (Some(&first), Some(&last)) = (origin.first(), origin.last()) else {
        return Err("its host is empty".into());
    };
    if origin.windows(2).all(|w| w[1] == w[0] + 1) {
        return Ok(Edit {
            span: first..last + 1,
            with: to_text.to_vec(),
        });
    }
    let within = |o: usize| {
        df.instructions
            .iter()
            .position(|inst| inst.span.contains(&o))
    };
    let mut places: Vec<Option<usize>> = origin.iter().map(|&o| within(o)).collect();
    places.dedup();
    let span = first..last + 1;
    let ordered = origin.windows(2).all(|w| w[1] > w[0]);
    match places.as_slice() {
        [Some(inst)] if ordered && !src[span.clone()].contains(&b'\n') => {
            if src[span.clone()].contains(&b'$') {
                return Err("its host is assembled from a variable and text".into());
            }
            let inst = &df.instructions[*inst];
            let mut span = span;
            let mut at_start = quote_state(&src[inst.span.start..span.start], df.escape, None);
            // A quote that opens right before the host, or closes right after it, goes with
            // it: `"192.168.0".1` and `192.168."0.1"` become the plain target.
            if let Some(q) = at_start {
                let before = quote_state(&src[inst.span.start..span.start - 1], df.escape, None);
                if src[span.start - 1] == q && before.is_none() {
                    span.start -= 1;
                    at_start = None;
                }
            }
            let mut at_end = quote_state(&src[span.clone()], df.escape, at_start);
            if let Some(q) = at_end {
                if src.get(span.end) == Some(&q) {
                    span.end += 1;
                    at_end = None;
                }
            }
            let mut with = to_text.to_vec();
            if at_start != at_end {
                with.extend(at_start);
                with.extend(at_end);
            }
            Ok(Edit { span, with })
        }
        [Some(_)] => {
            Err("its host is split by a line continuation or assembled from a variable".into())
        }
        _ => {
            let lines: Vec<String> = places
                .iter()
                .map(|p| p.map_or("?".into(), |i| df.instructions[i].line.to_string()))
                .collect();
            Err(format!(
                "its host is assembled from several places (lines {})",
                lines.join(", ")
            ))
        }
    }
}

/// The quote open after `text` (`'` or `"`), starting inside `open`: shell quoting as
/// BuildKit's lexer reads a word, with `escape` escaping the next byte outside single
/// quotes.
fn quote_state(text: &[u8], escape: u8, mut open: Option<u8>) -> Option<u8> {
    let mut bytes = text.iter();
    while let Some(&b) = bytes.next() {
        match open {
            Some(b'\'') if b == b'\'' => open = None,
            Some(b'\'') => {}
            _ if b == escape => {
                bytes.next();
            }
            Some(q) if b == q => open = None,
            Some(_) => {}
            None if b == b'"' || b == b'\'' => open = Some(b),
            None => {}
        }
    }
    open
}

/// When `span` is the start of an `ARG NAME=` value (a registry ARG), the first use of NAME
/// in a stage that inherits it that is not the registry itself: `${NAME}0`, `$NAME.nip.io`
/// or `$NAME:5000` after a value that is the bare host, or a `${NAME#…}`-style transform.
/// FROM lines and ARG defaults need no such look: their values are checked as BuildKit
/// resolves them.
fn registry_arg_misuse(src: &[u8], df: &lexer::Dockerfile, span: &Range<usize>) -> Option<String> {
    let inst = df
        .instructions
        .iter()
        .find(|inst| inst.span.contains(&span.start))?;
    let keyword_end = inst
        .text
        .iter()
        .position(|b| b.is_ascii_whitespace())
        .unwrap_or(inst.text.len());
    if !lower_eq(&inst.text[..keyword_end], "arg") {
        return None;
    }
    // NAME=VALUE or NAME="VALUE", the value starting with the host.
    let mut eq = span.start;
    if eq > 0 && matches!(src[eq - 1], b'"' | b'\'') {
        eq -= 1;
    }
    if eq == 0 || src[eq - 1] != b'=' {
        return None;
    }
    let name_end = eq - 1;
    let name_start = src[..name_end]
        .iter()
        .rposition(|b| !(b.is_ascii_alphanumeric() || *b == b'_'))
        .map_or(0, |p| p + 1);
    let name = &src[name_start..name_end];
    if name.is_empty() {
        return None;
    }
    let bare = src
        .get(span.end)
        .is_none_or(|b| b.is_ascii_whitespace() || matches!(b, b'"' | b'\''));
    let mut inherits = false;
    for other in &df.instructions {
        let word_end = other
            .text
            .iter()
            .position(|b| b.is_ascii_whitespace())
            .unwrap_or(other.text.len());
        let keyword = &other.text[..word_end];
        if lower_eq(keyword, "from") {
            inherits = false;
            continue;
        }
        if lower_eq(keyword, "arg") {
            // `ARG NAME` alone inherits the meta value; `ARG NAME=x` has its own.
            for word in other.text[word_end..].split(|b| b.is_ascii_whitespace()) {
                if word == name {
                    inherits = true;
                } else if word.starts_with(name) && word.get(name.len()) == Some(&b'=') {
                    inherits = false;
                }
            }
        }
        if !inherits {
            continue;
        }
        if let Some(usage) = misuse(&src[other.span.clone()], name, bare) {
            return Some(format!(
                "its host is the default of ARG {} on line {}, which line {} also uses as {} (another host or a transformed value); changing it would change that too",
                String::from_utf8_lossy(name),
                inst.line,
                other.line,
                String::from_utf8_lossy(&usage)
            ));
        }
    }
    None
}

/// The first use of `$NAME` in `text` that does not stand for the registry: a transform
/// (`${NAME#…}`, `${NAME/…}`, `${NAME%…}`, `${NAME:1}`), or, when the value is the bare host,
/// a plain use followed by more host (`${NAME}0`, `$NAME.nip.io`, `$NAME:5000`).
fn misuse(text: &[u8], name: &[u8], bare: bool) -> Option<Vec<u8>> {
    let is_name = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut i = 0;
    while i < text.len() {
        if text[i] == b'\\' || text[i] == b'`' {
            i += 2;
            continue;
        }
        if text[i] != b'$' {
            i += 1;
            continue;
        }
        let start = i;
        let rest = &text[i + 1..];
        let after = if rest.starts_with(name) && rest.get(name.len()).is_none_or(|&b| !is_name(b)) {
            i + 1 + name.len()
        } else if rest.first() == Some(&b'{')
            && rest[1..].starts_with(name)
            && rest.get(1 + name.len()).is_some_and(|&b| !is_name(b))
        {
            let op = i + 2 + name.len();
            let close = close_brace(text, op)?;
            match &text[op..close] {
                // The value itself, or (unset) a default: the registry where it is set.
                [] => close + 1,
                [b':', b'-' | b'?', ..] | [b'-' | b'?', ..] => close + 1,
                // The value is not used.
                [b':', b'+', ..] | [b'+', ..] => {
                    i = close + 1;
                    continue;
                }
                _ => return Some(text[start..=close].to_vec()),
            }
        } else {
            i += 1;
            continue;
        };
        let more_host = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':');
        if bare && text.get(after).is_some_and(|&b| more_host(b)) {
            let end = text[after..]
                .iter()
                .position(|&b| !more_host(b))
                .map_or(text.len(), |n| after + n);
            return Some(text[start..end].to_vec());
        }
        i = after;
    }
    None
}

/// The offset of the `}` that closes the `${` whose operator starts at `from`.
fn close_brace(text: &[u8], from: usize) -> Option<usize> {
    let mut depth = 1usize;
    let mut i = from;
    while i < text.len() {
        match text[i] {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The source text of `span`, for messages.
fn describe_span(src: &[u8], span: &Range<usize>) -> String {
    format!("\"{}\"", String::from_utf8_lossy(&src[span.clone()]))
}

fn line_of(src: &[u8], offset: usize) -> usize {
    src[..offset.min(src.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

fn shown(site: &Site) -> String {
    match &site.value {
        Ok(v) => String::from_utf8_lossy(&v.bytes).into_owned(),
        Err(_) => String::from_utf8_lossy(&site.raw).into_owned(),
    }
}

fn skip(site: &Site, reason: String) -> Skipped {
    Skipped {
        line: site.line,
        reference: shown(site),
        reason,
    }
}

/// Whether the text as written could name `from` (its host appears in it): only then is
/// a word we could not resolve worth a warning.
fn mentions(raw: &[u8], from: &Endpoint) -> bool {
    let host = from.reference_host().to_ascii_lowercase();
    let host = host
        .split(':')
        .next()
        .unwrap_or_default()
        .as_bytes()
        .to_vec();
    !host.is_empty()
        && raw
            .to_ascii_lowercase()
            .windows(host.len())
            .any(|w| w == host.as_slice())
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
    }

    #[test]
    fn variables_and_arg_defaults() {
        let src = "ARG REG=192.168.0.1\nARG OTHER=192.168.0.1\nARG BASE=\"${REG}/base/x:1\"\nFROM ${REG:-192.168.0.1}/a\nFROM $BASE\n";
        assert_eq!(
            run(src, VIP, LB),
            "ARG REG=192.168.1.50:5000\nARG OTHER=192.168.0.1\nARG BASE=\"${REG}/base/x:1\"\nFROM ${REG:-192.168.0.1}/a\nFROM $BASE\n"
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
        // A host written in one piece on one line, quotes or escapes inside: replaced whole.
        for (input, expected) in [
            ("FROM 192.168.\"0.1\"/x\n", "FROM 192.168.1.50:5000/x\n"),
            ("FROM \"192.168.0\".1/x\n", "FROM 192.168.1.50:5000/x\n"),
            ("FROM 192.168.0\\.1/x\n", "FROM 192.168.1.50:5000/x\n"),
            (
                "COPY --from=192.168.0.\"1\"/lib/x / /\n",
                "COPY --from=192.168.1.50:5000/lib/x / /\n",
            ),
            (
                "FROM \"192.168.0\".1/x AS \"b\"\n",
                "FROM 192.168.1.50:5000/x AS \"b\"\n",
            ),
            (
                "FROM \"192.168.\"0.1\"/x\"\n",
                "FROM 192.168.1.50:5000\"/x\"\n",
            ),
        ] {
            assert_eq!(run(input, VIP, LB), expected, "{input:?}");
            assert_eq!(run(expected, VIP, LB), expected, "idempotent: {expected:?}");
        }
        assert_eq!(
            run("FROM 192.168.1.50:'5000'/x\n", LB, VIP),
            "FROM 192.168.0.1/x\n"
        );
        assert_eq!(
            run("FROM [fd00::\\1]:5000/x\n", "[fd00::1]:5000", VIP),
            "FROM 192.168.0.1/x\n"
        );
        // Across a line continuation, or built from a variable: left alone.
        assert_eq!(
            run("FROM 192.168.\\\n0.1/x\n", VIP, LB),
            "FROM 192.168.\\\n0.1/x\n"
        );
        assert_eq!(
            run("ARG O=1\nFROM 192.168.0.${O}/x\n", VIP, LB),
            "ARG O=1\nFROM 192.168.0.${O}/x\n"
        );
        assert_eq!(
            run("FROM \\\n 192.168.0.1/x\n", VIP, LB),
            "FROM \\\n 192.168.1.50:5000/x\n"
        );
    }

    // The word is read as Go's text/scanner and unicode package read it (shell.rs).
    #[test]
    fn words_are_read_as_buildkit_reads_them() {
        // A BOM that starts the word is dropped: BuildKit pulls 192.168.0.1/x.
        assert_eq!(
            run("FROM \u{feff}192.168.0.1/x\n", VIP, LB),
            "FROM \u{feff}192.168.1.50:5000/x\n"
        );
        // `$नाम` is `$न` (unset) and the text `ाम` for Go: no image names the ARG's host.
        let src = "ARG नाम=192.168.0.1\nFROM $नाम/x\n";
        assert_eq!(run(src, VIP, LB), src);
    }

    fn build(src: &str, args: &[(&str, &str)]) -> Retarget {
        let args: BuildArgs = args
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        retarget(src.as_bytes(), &ep(VIP), &ep(LB), &args)
    }

    #[test]
    fn build_args_replace_meta_defaults() {
        let src = "ARG REG=192.168.0.1\nFROM ${REG}/a\nFROM 192.168.0.1/b\n";
        let out = build(src, &[("REG", "docker.io")]);
        assert_eq!(
            out.text.as_deref(),
            Some(&b"ARG REG=192.168.0.1\nFROM ${REG}/a\nFROM 192.168.1.50:5000/b\n"[..])
        );
        assert!(out.skipped.is_empty());
        let out = build(src, &[("REG", "192.168.0.1")]);
        assert_eq!(out.skipped.len(), 1);
        assert_eq!(out.skipped[0].line, 2);
        assert!(
            out.skipped[0].reason.contains("--build-arg"),
            "{:?}",
            out.skipped
        );
        // A build arg for a stage ARG changes nothing a FROM sees.
        let src = "FROM x\nARG REG\nFROM ${REG:-192.168.0.1}/a\n";
        let out = build(src, &[("REG", "docker.io")]);
        assert_eq!(
            out.text.as_deref(),
            Some(&b"FROM x\nARG REG\nFROM ${REG:-192.168.1.50:5000}/a\n"[..])
        );
    }

    #[test]
    fn registry_args_follow_the_registry_into_stages() {
        // The most common parametrised pattern: the ARG is the registry.
        let src = "ARG REGISTRY=192.168.0.1\nFROM ${REGISTRY}/base/tomcat:8.5\nARG REGISTRY\nRUN echo $REGISTRY\n";
        let out = build(src, &[]);
        assert!(out.skipped.is_empty(), "{:?}", out.skipped);
        assert_eq!(
            String::from_utf8(out.text.unwrap()).unwrap(),
            src.replacen("192.168.0.1", LB, 1)
        );
        let src = "ARG BASE=192.168.0.1/alpine\nFROM ${BASE}:3\nARG BASE\nLABEL base=\"${BASE}\"\n";
        assert_eq!(run(src, VIP, LB), src.replacen("192.168.0.1", LB, 1));
        // Back again: the same file.
        let there = run(src, VIP, LB);
        assert_eq!(run(&there, LB, VIP), src);
        // A stage that makes another host from it keeps the ARG, and says where.
        for usage in [
            "${REGISTRY}0",
            "$REGISTRY.nip.io",
            "${REGISTRY}:5000",
            "${REGISTRY#192.}",
        ] {
            let src = format!(
                "ARG REGISTRY=192.168.0.1\nFROM ${{REGISTRY}}/base\nARG REGISTRY\nRUN curl https://{usage}/x\n"
            );
            let out = build(&src, &[]);
            assert_eq!(out.text, None, "{usage}");
            assert_eq!(out.skipped.len(), 1, "{usage}: {:?}", out.skipped);
            assert!(
                out.skipped[0].reason.contains("line 4") && out.skipped[0].reason.contains(usage),
                "{usage}: {:?}",
                out.skipped
            );
        }
        // A use in a stage that does not inherit it sees nothing: no obstacle.
        let src = "ARG REG=192.168.0.1\nFROM ${REG}/a\nRUN curl ${REG}0\n";
        assert_eq!(run(src, VIP, LB), src.replacen("192.168.0.1", LB, 1));
        // A stage's own ARG REG=… value hides the meta one.
        let src = "ARG REG=192.168.0.1\nFROM ${REG}/a\nARG REG=other\nRUN curl ${REG}0\n";
        assert_eq!(run(src, VIP, LB), src.replacen("192.168.0.1", LB, 1));
    }

    #[test]
    fn a_span_used_as_a_pattern_is_found_and_reported() {
        let src = "ARG REG=192.168.0.1\nARG X=${REG}/a\nFROM ${X}\nFROM ${X#192.168.0.1/}/b\nFROM 192.168.0.1/c\n";
        let out = build(src, &[]);
        assert_eq!(
            String::from_utf8(out.text.unwrap()).unwrap(),
            "ARG REG=192.168.0.1\nARG X=${REG}/a\nFROM ${X}\nFROM ${X#192.168.0.1/}/b\nFROM 192.168.1.50:5000/c\n"
        );
        assert_eq!(out.skipped.len(), 1);
        assert_eq!(out.skipped[0].line, 3);
        assert!(
            out.skipped[0].reason.contains("line 4"),
            "{:?}",
            out.skipped
        );
    }
}
