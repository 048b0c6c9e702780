//! Text for people, JSON for scripts.
//!
//! Every string that came from a certificate, a server or a file is hostile input:
//! [`sanitize`] keeps terminal escapes and control characters out of the output.

use std::io::Write;

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
        let mut out = std::io::stdout().lock();
        writeln!(out, "{}", text.as_ref())
    }

    /// Print a value as pretty JSON on stdout.
    pub(crate) fn json<T: Serialize>(&self, value: &T) -> anyhow::Result<()> {
        let mut out = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut out, value)?;
        writeln!(out)?;
        Ok(())
    }

    /// A warning for people, on stderr, in both formats (JSON stays on stdout).
    pub(crate) fn warn(&self, text: impl AsRef<str>) {
        eprintln!("warning: {}", text.as_ref());
    }
}

/// Replace control characters (ESC, BEL, CR, ...) with visible escapes so a hostile
/// certificate subject cannot rewrite the terminal. Newlines and tabs are kept.
pub(crate) fn sanitize(text: &str) -> String {
    let mut clean = String::with_capacity(text.len());
    for ch in text.chars() {
        if ch.is_control() && ch != '\n' && ch != '\t' {
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
}
