//! Text for people, JSON for scripts.
//!
//! Every string that came from a certificate, a server or a file is hostile input:
//! [`sanitize`] keeps terminal escapes, control characters and bidi overrides out of the
//! output. Everything for stdout goes through [`Printer`] or [`stdout`], which swallow a
//! closed pipe: `check | head -1` must still exit with check's status, not 0 or a panic.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;

use crate::cli::Format;

/// Decides how results are printed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Printer {
    pub(crate) format: Format,
}

impl Printer {
    pub(crate) fn new(format: Format) -> Printer {
        Printer { format }
    }

    pub(crate) fn is_json(&self) -> bool {
        self.format == Format::Json
    }

    /// Print one line of text (text mode only; JSON callers use [`Printer::json`]).
    pub(crate) fn line(&self, text: impl AsRef<str>) -> std::io::Result<()> {
        let mut out = stdout();
        writeln!(out, "{}", text.as_ref())
    }

    /// Print a value as pretty JSON on stdout.
    pub(crate) fn json<T: Serialize>(&self, value: &T) -> anyhow::Result<()> {
        let mut out = stdout();
        serde_json::to_writer_pretty(&mut out, value)?;
        writeln!(out)?;
        Ok(())
    }

    /// A warning for people, on stderr, in both formats (JSON stays on stdout).
    pub(crate) fn warn(&self, text: impl AsRef<str>) {
        eprintln!("warning: {}", text.as_ref());
    }
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

/// Bidirectional formatting characters: printed raw, U+202E makes `evil.crt` read as
/// `trc.live` (CVE-2021-42574, "Trojan Source"). Escaped like control characters.
fn is_bidi_control(ch: char) -> bool {
    matches!(
        ch,
        '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}'
    )
}

/// Replace control characters (ESC, BEL, CR, ...) and bidi controls with visible escapes
/// so a hostile certificate subject cannot rewrite the terminal or reorder what is shown.
/// Newlines and tabs are kept.
pub(crate) fn sanitize(text: &str) -> String {
    let mut clean = String::with_capacity(text.len());
    for ch in text.chars() {
        if (ch.is_control() && ch != '\n' && ch != '\t') || is_bidi_control(ch) {
            clean.extend(ch.escape_default());
        } else {
            clean.push(ch);
        }
    }
    clean
}

/// Like [`sanitize`], for one-line fields: newlines are escaped too.
pub(crate) fn sanitize_line(text: &str) -> String {
    sanitize(text).replace('\n', "\\n")
}

/// A word for POSIX sh: bare when it is plainly safe, else single-quoted (inside '…' only
/// ' itself needs care). Used for every command line we print or send to a shell.
pub(crate) fn shell_quote(text: &str) -> String {
    let safe = !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"@%+=:,./_-".contains(&b));
    if safe {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_cannot_reach_the_terminal() {
        let hostile = "CN=\u{1b}]0;pwned\u{7}evil\r";
        let clean = sanitize(hostile);
        assert!(!clean.chars().any(|c| c.is_control()), "{clean:?}");
        assert!(clean.contains("evil"));
        assert_eq!(sanitize("plain\ttext\n"), "plain\ttext\n");
        assert_eq!(sanitize_line("a\nb"), "a\\nb");
    }

    #[test]
    fn bidi_controls_are_escaped() {
        for bidi in [
            '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}',
            '\u{2068}', '\u{2069}', '\u{200E}', '\u{200F}', '\u{061C}',
        ] {
            let clean = sanitize(&format!("CN=ev{bidi}il.crt"));
            assert!(!clean.contains(bidi), "{clean:?}");
            assert!(
                clean.contains(&format!("{}", bidi.escape_default())),
                "{clean:?}"
            );
        }
        // Ordinary non-ASCII text is left alone.
        assert_eq!(sanitize("CN=Zürich 東京"), "CN=Zürich 東京");
    }
}
