//! `rewrite`: retarget Dockerfile image references from one endpoint to the other.
//!
//! The work is in [`crate::dockerfile`], which also finds the files (a file named on the
//! command line whatever its name, inside directories only `Dockerfile`, `*.Dockerfile`,
//! `Dockerfile.*`, `Containerfile`, `Containerfile.*`, never inside `.git`); this module
//! reads them all before probing or writing anything (an unreadable file stops the run with
//! nothing written; `--to auto` probes the endpoints only when a reference names one of
//! them, so a tree with nothing to rewrite needs no network), rewrites them in place with [`fsutil::Fs::write_atomic`] (mode kept), and reports. `-` or no path is
//! a filter from stdin to stdout. Files are handled by a few threads at once because each
//! atomic write waits for the disk (fsync), and a tree of Dockerfiles is mostly waiting.

use std::fs;
use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::anyhow;
use serde::Serialize;

use crate::cli::{RewriteArgs, RewriteTarget};
use crate::config::Config;
use crate::dockerfile::{self, retarget, BuildArgs, Input, Skipped, STDIN};
use crate::endpoint::Endpoint;
use crate::exit::{ExitStatus, Stop};
use crate::fsutil::{self, io_reason};
use crate::output::Printer;
use crate::probe::{self, Role};

/// One changed line.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub(crate) struct Change {
    pub(crate) file: String,
    pub(crate) line: usize,
    pub(crate) before: String,
    pub(crate) after: String,
}

/// A reference that names the old endpoint but was left alone (see [`Skipped`]).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub(crate) struct Skip {
    pub(crate) file: String,
    pub(crate) line: usize,
    pub(crate) reference: String,
    pub(crate) reason: String,
}

#[derive(Serialize)]
struct Report<'a> {
    from: String,
    to: String,
    /// Whether files were written (false for --check, --diff, --dry-run, stdin, and when
    /// any file could not be staged: then none is written).
    written: bool,
    files_changed: usize,
    /// Files actually replaced on disk.
    files_written: usize,
    changes: &'a [Change],
    /// References BuildKit would pull from `from` that could not be rewritten safely.
    skipped: &'a [Skip],
    #[serde(skip_serializing_if = "Vec::is_empty")]
    diffs: Vec<FileDiff>,
    /// Whether the endpoints were probed (`--to auto` with something to rewrite).
    probed: bool,
    /// `--to auto` when no reference names either endpoint: nothing was decided, and
    /// `from`/`to` read as `--to internal` would.
    #[serde(skip)]
    undecided: bool,
}

#[derive(Serialize)]
struct FileDiff {
    file: String,
    diff: String,
}

/// What came out of one input.
struct Outcome {
    display: String,
    path: Option<PathBuf>,
    old: Vec<u8>,
    new: Option<Vec<u8>>,
    skipped: Vec<Skipped>,
}

pub(crate) fn run(
    config: &Config,
    args: &RewriteArgs,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let inputs = dockerfile::inputs(&args.paths)?;
    if inputs.iter().any(|input| input.path.is_none()) && std::io::stdin().is_terminal() {
        // Waiting silently on a terminal looks like a hang.
        printer.note(
            "reading a Dockerfile from stdin (end it with Ctrl-D) — give a path, e.g. `rewrite Dockerfile` or `rewrite .`, or pipe one in",
        );
    }
    let olds = read_all(&inputs)?;
    let (from, to, outcomes, probed) = match args.to {
        RewriteTarget::Auto => {
            // Both directions first: when no reference names either endpoint there is
            // nothing to decide, and no endpoint is probed.
            let (internal, external) = (&config.internal.value, &config.external.value);
            let toward_internal = retarget_all(&olds, external, internal)?;
            let toward_external = retarget_all(&olds, internal, external)?;
            let untouched = |results: &[Retargeted]| {
                results
                    .iter()
                    .all(|r| r.text.is_none() && r.skipped.is_empty())
            };
            if untouched(&toward_internal) && untouched(&toward_external) {
                let outcomes = outcomes(&inputs, olds, toward_internal);
                (external.clone(), internal.clone(), outcomes, false)
            } else {
                let (from, to) = direction(config, RewriteTarget::Auto, printer)?;
                let results = if &to == internal {
                    toward_internal
                } else {
                    toward_external
                };
                (from, to, outcomes(&inputs, olds, results), true)
            }
        }
        target => {
            let (from, to) = direction(config, target, printer)?;
            let results = retarget_all(&olds, &from, &to)?;
            (from, to, outcomes(&inputs, olds, results), false)
        }
    };
    let undecided = args.to == RewriteTarget::Auto && !probed;
    let writes = !(args.check || args.diff || args.dry_run);
    let (changes, skipped, diffs) = describe(&outcomes, args.diff);
    // Write before reporting, so a report never claims a write that failed.
    let (failures, files_written) = if writes {
        write_all(config.fs(), &outcomes)
    } else {
        (Vec::new(), 0)
    };
    let report = Report {
        from: from.reference_host(),
        to: to.reference_host(),
        written: files_written > 0,
        files_changed: outcomes.iter().filter(|o| o.new.is_some()).count(),
        files_written,
        changes: &changes,
        skipped: &skipped,
        diffs,
        probed,
        undecided,
    };
    printer.report(&report, |printer| {
        print_text(printer, args, &report, &outcomes, writes)
    })?;

    let mut failures = failures
        .into_iter()
        .map(|(display, err)| format!("{display}: {}", crate::text::error_line(&err)));
    if let Some(first) = failures.next() {
        return Err(failures
            .fold(Stop::new(ExitStatus::Error, first), Stop::also)
            .into());
    }
    // A reference left pointing at the old endpoint is not a success: a CI step must not
    // go on with a Dockerfile that names an endpoint this machine cannot use.
    Ok(
        if !skipped.is_empty() || (args.check && report.files_changed > 0) {
            ExitStatus::No
        } else {
            ExitStatus::Success
        },
    )
}

/// The changed lines, the references left alone, and (for --diff) each file's diff.
fn describe(outcomes: &[Outcome], diff: bool) -> (Vec<Change>, Vec<Skip>, Vec<FileDiff>) {
    let mut changes = Vec::new();
    let mut skipped = Vec::new();
    let mut diffs = Vec::new();
    for outcome in outcomes {
        skipped.extend(outcome.skipped.iter().map(|s| Skip {
            file: outcome.display.clone(),
            line: s.line,
            reference: s.reference.clone(),
            reason: s.reason.clone(),
        }));
        if let Some(new) = &outcome.new {
            changes.extend(changed_lines(&outcome.display, &outcome.old, new));
            if diff {
                diffs.push(FileDiff {
                    file: outcome.display.clone(),
                    diff: unified_diff(&outcome.display, &outcome.old, new),
                });
            }
        }
    }
    (changes, skipped, diffs)
}

/// As a filter (stdin, no --check/--diff/--dry-run) stdout carries the file itself; with
/// --diff the diffs; else one line per change. Warnings and the summary go to stderr, also
/// in filter mode: stdout carries the file, stderr the why.
fn print_text(
    printer: &Printer,
    args: &RewriteArgs,
    report: &Report,
    outcomes: &[Outcome],
    writes: bool,
) -> std::io::Result<()> {
    let filter = writes && outcomes.iter().any(|o| o.path.is_none());
    if filter {
        if let Some(outcome) = outcomes.iter().find(|o| o.path.is_none()) {
            printer.raw(outcome.new.as_deref().unwrap_or(&outcome.old))?;
        }
    } else if args.diff {
        // A diff is the files' own text, for `patch`: passed through as it is.
        let all: Vec<u8> = report.diffs.iter().flat_map(|d| d.diff.bytes()).collect();
        printer.raw(&all)?;
    } else {
        printer.lines(report.changes.iter().map(|change| {
            format!(
                "{}:{}: {} -> {}",
                change.file,
                change.line,
                change.before.trim_start(),
                change.after.trim_start(),
            )
        }))?;
    }
    for skip in report.skipped {
        printer.say(format!(
            "{}:{}: cannot rewrite {}: {}",
            skip.file, skip.line, skip.reference, skip.reason
        ));
    }
    if filter && stdin_only(outcomes) {
        return Ok(());
    }
    if report.files_changed > 0 || report.skipped.is_empty() {
        let files = if writes {
            report.files_written
        } else {
            report.files_changed
        };
        printer.say(summary(args, report, files));
    }
    if !report.skipped.is_empty() {
        printer.say(format!(
            "{} reference(s) to {} left as they are: they cannot be rewritten safely (see above)",
            report.skipped.len(),
            report.from
        ));
    }
    Ok(())
}

fn stdin_only(outcomes: &[Outcome]) -> bool {
    outcomes.iter().all(|o| o.path.is_none())
}

/// The line for people on stderr; stdout keeps the changes (or the filtered file).
fn summary(args: &RewriteArgs, report: &Report, files: usize) -> String {
    let (from, to, lines) = (&report.from, &report.to, report.changes.len());
    if files == 0 && report.undecided {
        format!("nothing to change: no image reference names {from} or {to} (--to auto probed no endpoint)")
    } else if files == 0 {
        format!("nothing to change: no image reference names {from}")
    } else if args.check {
        format!(
            "{lines} line(s) in {files} file(s) name {from} — run without --check to point them at {to}"
        )
    } else if args.diff || args.dry_run {
        format!("{lines} line(s) in {files} file(s) would change to {to}; nothing written")
    } else {
        format!("rewrote {lines} line(s) in {files} file(s) to {to}")
    }
}

/// Which endpoint is replaced by which. `auto` probes both endpoints once for the whole
/// run, exactly as `endpoint --prefer internal` does, and points the references at the
/// one that answers; when none answers, the run stops (exit 1) before writing any file.
pub(crate) fn direction(
    config: &Config,
    to: RewriteTarget,
    printer: &Printer,
) -> Result<(Endpoint, Endpoint), Stop> {
    let internal = config.internal.value.clone();
    let external = config.external.value.clone();
    match to {
        RewriteTarget::Internal => Ok((external, internal)),
        RewriteTarget::External => Ok((internal, external)),
        RewriteTarget::Auto => {
            let decision = probe::choose(config, probe::Prefer::Internal);
            match decision.chosen {
                Some((Role::Internal, _)) => {
                    printer.say(format!(
                        "auto: the internal endpoint {internal} answers; pointing references at it"
                    ));
                    Ok((external, internal))
                }
                Some((Role::External, _)) => {
                    printer.say(format!("auto: only the external endpoint {external} answers; pointing references at it"));
                    // Why the internal one lost (refused, no TCP answer within the fallback
                    // delay, timed out…).
                    if let Some(error) = decision.reports.first().and_then(|r| r.error.as_deref()) {
                        printer.say(format!("auto: {error}"));
                    }
                    Ok((internal, external))
                }
                None => Err(Stop::new(
                    ExitStatus::No,
                    format!(
                        "--to auto: no registry endpoint answered within {} — pass --to internal or --to external, or raise --timeout",
                        crate::text::duration(config.timeout.value)
                    ),
                )
                .details(decision.reports.iter().map(|report| {
                    let role = match report.role {
                        Role::Internal => "internal",
                        Role::External => "external",
                    };
                    // Most causes name their endpoint already: say it once.
                    match report.error.as_deref() {
                        Some(error) if error.starts_with(&format!("{}: ", report.endpoint)) => {
                            format!("  {role} {error}")
                        }
                        error => format!(
                            "  {role} {}: {}",
                            report.endpoint,
                            error.unwrap_or("no answer")
                        ),
                    }
                }))),
            }
        }
    }
}

/// How many files are handled at once: the work is mostly waiting for the disk.
fn workers(jobs: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    (cores * 8).clamp(1, 32).min(jobs.max(1))
}

/// `f` over `items` on a few threads, results in the items' order.
fn parallel_map<T: Sync, R: Send>(
    items: &[T],
    f: impl Fn(&T) -> R + Sync,
) -> anyhow::Result<Vec<R>> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..workers(items.len()) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(i) else { break };
                let result = f(item);
                if let Ok(mut slots) = results.lock() {
                    slots[i] = Some(result);
                }
            });
        }
    });
    results
        .into_inner()
        .map_err(|_| anyhow!("a worker thread panicked"))?
        .into_iter()
        .map(|slot| slot.ok_or_else(|| anyhow!("a worker thread stopped early")))
        .collect()
}

/// Read every input. Any unreadable file stops the run here, before anything is probed
/// or written.
fn read_all(inputs: &[Input]) -> anyhow::Result<Vec<Vec<u8>>> {
    let mut olds = Vec::with_capacity(inputs.len());
    let mut errors = Vec::new();
    for result in parallel_map(inputs, read_input)? {
        match result {
            Ok(old) => olds.push(old),
            Err(err) => errors.push(err),
        }
    }
    match errors.as_slice() {
        [] => Ok(olds),
        [one] => Err(anyhow!("{one} — nothing was rewritten")),
        [first, rest @ ..] => Err(anyhow!(
            "{first} (and {} more unreadable file(s)) — nothing was rewritten",
            rest.len()
        )),
    }
}

/// One input's rewrite: the new text when it changed, and the references left alone.
struct Retargeted {
    text: Option<Vec<u8>>,
    skipped: Vec<Skipped>,
}

/// Every input's rewrite from `from` to `to`.
fn retarget_all(
    olds: &[Vec<u8>],
    from: &Endpoint,
    to: &Endpoint,
) -> anyhow::Result<Vec<Retargeted>> {
    parallel_map(olds, |old| {
        let result = retarget(old, from, to, &BuildArgs::new());
        Retargeted {
            text: result.text,
            skipped: result.skipped,
        }
    })
}

fn outcomes(inputs: &[Input], olds: Vec<Vec<u8>>, results: Vec<Retargeted>) -> Vec<Outcome> {
    inputs
        .iter()
        .zip(olds)
        .zip(results)
        .map(|((input, old), result)| Outcome {
            display: input.display.clone(),
            path: input.path.clone(),
            old,
            new: result.text,
            skipped: result.skipped,
        })
        .collect()
}

fn read_input(input: &Input) -> Result<Vec<u8>, String> {
    let mut data = Vec::new();
    let result = match &input.path {
        None => std::io::stdin().lock().read_to_end(&mut data).map(|_| ()),
        Some(path) => fs::read(path).map(|d| data = d),
    };
    result.map(|()| data).map_err(|e| {
        format!(
            "cannot read {}: {} — check the file and its permissions",
            input.display,
            io_reason(&e)
        )
    })
}

/// Write every changed file: first stage each one (new content fsync-ed in a temp file
/// beside it, owner, group and mode of the old file kept), and only when every file is
/// staged rename them all. A directory that cannot be written or a full disk thus stops the
/// run before any file changed. Returns the failures (display name, error) and the number
/// of files written.
fn write_all(fs: fsutil::Fs<'_>, outcomes: &[Outcome]) -> (Vec<(String, anyhow::Error)>, usize) {
    let jobs: Vec<(&Outcome, &Path, &[u8])> = outcomes
        .iter()
        .filter_map(|o| Some((o, o.path.as_deref()?, o.new.as_deref()?)))
        .collect();
    // Each directory is opened once; its files are written relative to it.
    let mut dirs: Vec<(&Path, anyhow::Result<Arc<fsutil::BatchDir>>)> = Vec::new();
    for (_, path, _) in &jobs {
        let parent = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if !dirs.iter().any(|(d, _)| *d == parent) {
            dirs.push((parent, fsutil::BatchDir::open(fs, parent)));
        }
    }
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    let staged = Mutex::new(Vec::with_capacity(jobs.len()));
    std::thread::scope(|scope| {
        for _ in 0..workers(jobs.len()) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((outcome, path, new)) = jobs.get(i) else {
                    break;
                };
                let parent = path
                    .parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .unwrap_or(Path::new("."));
                let dir = dirs.iter().find(|(d, _)| *d == parent).map(|(_, dir)| dir);
                let result = match (dir, path.file_name()) {
                    (Some(Ok(dir)), Some(name)) => dir.stage(name, new, 0o644),
                    (Some(Err(e)), _) => Err(anyhow::anyhow!("{}", crate::text::error_line(e))),
                    _ => Err(anyhow::anyhow!("{} is not a file path", path.display())),
                };
                match result {
                    Ok(file) => {
                        if let Ok(mut s) = staged.lock() {
                            s.push((outcome.display.clone(), file));
                        }
                    }
                    Err(err) => {
                        if let Ok(mut f) = failures.lock() {
                            f.push((outcome.display.clone(), err));
                        }
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap_or_default();
    let staged = staged.into_inner().unwrap_or_default();
    if !failures.is_empty() {
        // Dropping the staged files removes their temp files: nothing was written.
        return (failures, 0);
    }
    let total = staged.len();
    let failures = fsutil::commit_batch(staged);
    let written = total - failures.len();
    (failures, written)
}

/// The lines that differ. Edits never add or remove a newline, so lines pair up.
fn changed_lines(file: &str, old: &[u8], new: &[u8]) -> Vec<Change> {
    let text = |line: &[u8]| {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        String::from_utf8_lossy(line).into_owned()
    };
    old.split(|&b| b == b'\n')
        .zip(new.split(|&b| b == b'\n'))
        .enumerate()
        .filter(|(_, (a, b))| a != b)
        .map(|(i, (a, b))| Change {
            file: file.to_string(),
            line: i + 1,
            before: text(a),
            after: text(b),
        })
        .collect()
}

fn unified_diff(file: &str, old: &[u8], new: &[u8]) -> String {
    // Non-UTF-8 bytes show as U+FFFD in the diff only; the files keep their bytes.
    let (old, new) = (String::from_utf8_lossy(old), String::from_utf8_lossy(new));
    let diff = similar::TextDiff::from_lines(old.as_ref(), new.as_ref());
    // git's form: `git diff --no-index /tmp/x /tmp/y` writes `a/tmp/x`, never `a//tmp/x`.
    let (a, b) = if file == STDIN {
        ("a/-".to_string(), "b/-".to_string())
    } else {
        let file = file.trim_start_matches('/');
        (format!("a/{file}"), format!("b/{file}"))
    };
    diff.unified_diff()
        .context_radius(3)
        .header(&a, &b)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_headers_take_gits_form_for_absolute_paths() {
        let diff = unified_diff("/tmp/x/Dockerfile", b"FROM a\n", b"FROM b\n");
        assert!(
            diff.starts_with("--- a/tmp/x/Dockerfile\n+++ b/tmp/x/Dockerfile\n"),
            "{diff}"
        );
        let diff = unified_diff("ci/Dockerfile", b"FROM a\n", b"FROM b\n");
        assert!(
            diff.starts_with("--- a/ci/Dockerfile\n+++ b/ci/Dockerfile\n"),
            "{diff}"
        );
    }

    #[test]
    fn changed_lines_pair_up() {
        let changes = changed_lines("f", b"a\r\nFROM x\nb", b"a\r\nFROM y\nb");
        assert_eq!(
            changes,
            vec![Change {
                file: "f".into(),
                line: 2,
                before: "FROM x".into(),
                after: "FROM y".into()
            }]
        );
    }
}
