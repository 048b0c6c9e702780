//! Text for people, JSON for scripts: the one way out of the program.
//!
//! Every string that came from a certificate, a server or a file is hostile input, so
//! [`Printer`] sanitises everything it prints ([`sanitize`]: terminal escapes, control
//! characters and bidi overrides become visible escapes); only [`Printer::raw`] passes bytes
//! through, for a file the user asked for. Stdout swallows a closed pipe: `check | head -1`
//! must still exit with check's status, not 0 or a panic. Stderr carries what is for people
//! only (warnings, notes, progress); a command's stop is rendered once, in `main`.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;

use crate::finding::Finding;
use crate::text::{sanitize, sanitize_line};

/// How a command's report is rendered. The command line's `--format` maps onto this
/// (cli.rs); nothing below the edge sees clap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Format {
    Text,
    Json,
    /// The Prometheus text exposition format: only `check` speaks it, through
    /// [`Printer::raw`]; everything else refuses it before doing anything.
    Prometheus,
}

/// Decides how results are printed; everything a command says goes through it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Printer {
    format: Format,
}

impl Printer {
    pub(crate) fn new(format: Format) -> Printer {
        Printer { format }
    }

    pub(crate) fn is_json(&self) -> bool {
        self.format == Format::Json
    }

    pub(crate) fn is_prometheus(&self) -> bool {
        self.format == Format::Prometheus
    }

    /// Render a command's report once: as pretty JSON, or as text through `text`.
    pub(crate) fn report<T: Serialize>(
        &self,
        report: &T,
        text: impl FnOnce(&Printer) -> std::io::Result<()>,
    ) -> anyhow::Result<()> {
        match self.format {
            Format::Json => self.json(report),
            Format::Text | Format::Prometheus => Ok(text(self)?),
        }
    }

    /// One line on stdout. Whatever it holds stays one harmless line: newlines are escaped
    /// with the other control characters.
    pub(crate) fn line(&self, text: impl AsRef<str>) -> std::io::Result<()> {
        writeln!(stdout(), "{}", sanitize_line(text.as_ref()))
    }

    /// Many one-line items on stdout through one buffer (a tree of Dockerfiles can mean tens
    /// of thousands of lines), each as [`Printer::line`].
    pub(crate) fn lines(&self, lines: impl IntoIterator<Item = String>) -> std::io::Result<()> {
        let mut out = std::io::BufWriter::new(stdout());
        for line in lines {
            writeln!(out, "{}", sanitize_line(&line))?;
        }
        out.flush()
    }

    /// Several lines on stdout, or a command to paste whose shell-quoted words may hold a
    /// newline (escaping it would name another file): newlines and tabs are kept, other
    /// control and bidi characters escaped.
    pub(crate) fn block(&self, text: impl AsRef<str>) -> std::io::Result<()> {
        writeln!(stdout(), "{}", sanitize(text.as_ref()))
    }

    /// Bytes exactly as given, for output the user asked to receive unchanged (a filtered
    /// Dockerfile, an exported archive): never for text of ours.
    pub(crate) fn raw(&self, bytes: &[u8]) -> std::io::Result<()> {
        let mut out = stdout();
        out.write_all(bytes)?;
        out.flush()
    }

    /// Print a value as pretty JSON on stdout (JSON escapes every control character).
    pub(crate) fn json<T: Serialize>(&self, value: &T) -> anyhow::Result<()> {
        let mut out = stdout();
        serde_json::to_writer_pretty(&mut out, value)?;
        writeln!(out)?;
        Ok(())
    }

    /// Left-aligned columns, widths from the (sanitised) content.
    pub(crate) fn table<const N: usize>(
        &self,
        header: [&str; N],
        rows: &[[String; N]],
    ) -> std::io::Result<()> {
        let rows: Vec<[String; N]> = rows
            .iter()
            .map(|row| row.clone().map(|cell| sanitize_line(&cell)))
            .collect();
        let mut widths = header.map(str::len);
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let render = |cells: Vec<&str>| {
            cells
                .iter()
                .zip(widths)
                .map(|(c, w)| format!("{c:<w$}"))
                .collect::<Vec<_>>()
                .join("  ")
                .trim_end()
                .to_string()
        };
        self.line(render(header.to_vec()))?;
        for row in &rows {
            self.line(render(row.iter().map(String::as_str).collect()))?;
        }
        Ok(())
    }

    /// Findings, the one way they are shown (check under an endpoint, doctor at the left
    /// margin): `severity code: message`, then the fix under the code.
    pub(crate) fn findings(&self, indent: &str, findings: &[Finding]) -> std::io::Result<()> {
        for finding in findings {
            self.line(format!(
                "{indent}{:<7} {}: {}",
                finding.severity.to_string(),
                finding.code,
                finding.message
            ))?;
            if let Some(fix) = &finding.fix {
                // A fix is a command to paste: see [`Printer::block`].
                self.block(format!("{indent}        fix: {fix}"))?;
            }
        }
        Ok(())
    }

    /// A warning for people, on stderr, in both formats (JSON stays on stdout).
    pub(crate) fn warn(&self, text: impl AsRef<str>) {
        self.say(format!(
            "warning: {}",
            crate::text::clean_error(text.as_ref())
        ));
    }

    /// A note for people on stderr (stdout carries the result itself).
    pub(crate) fn note(&self, text: impl AsRef<str>) {
        self.say(format!("note: {}", text.as_ref()));
    }

    /// Several lines for people on stderr (what is about to be confirmed): newlines kept,
    /// other control and bidi characters escaped.
    pub(crate) fn tell(&self, text: impl AsRef<str>) {
        let _ = writeln!(std::io::stderr().lock(), "{}", sanitize(text.as_ref()));
    }

    /// One line for people on stderr: progress, a summary beside a result on stdout.
    pub(crate) fn say(&self, text: impl AsRef<str>) {
        say(text.as_ref());
    }
}

/// One sanitised line on stderr. A closed stderr is not worth a panic.
pub(crate) fn say(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{}", sanitize_line(text));
}

/// A question on stderr, the answer typed on the same line.
pub(crate) fn prompt(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "{}", sanitize_line(text));
    let _ = err.flush();
}

/// Set once stdout turned out to be a closed pipe: later output is dropped.
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// Stdout for the whole program. A reader that went away (`| head`, `| true`) is not an
/// error of ours: the rest of the output is dropped and the command runs to its end, so
/// the exit status still says what it found (a CI gate must not pass because the pipe
/// closed early).
pub(crate) fn stdout() -> Stdout {
    Stdout(std::io::stdout().lock())
}

pub(crate) struct Stdout(std::io::StdoutLock<'static>);

impl Stdout {
    fn swallow_epipe(result: std::io::Result<()>) -> std::io::Result<()> {
        match result {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                STDOUT_CLOSED.store(true, Ordering::Relaxed);
                Ok(())
            }
            other => other,
        }
    }
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if STDOUT_CLOSED.load(Ordering::Relaxed) {
            return Ok(buf.len());
        }
        match self.0.write(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                STDOUT_CLOSED.store(true, Ordering::Relaxed);
                Ok(buf.len())
            }
            other => other,
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if STDOUT_CLOSED.load(Ordering::Relaxed) {
            return Ok(());
        }
        Self::swallow_epipe(self.0.flush())
    }
}
