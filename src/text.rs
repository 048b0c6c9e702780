//! Text from outside, made safe to show or to hand to a shell: the ground floor that
//! `output`, `finding`, `tls`, `trust`, `rollout` and the rest share. Every string that came
//! from a certificate, a server or a file is hostile input ([`sanitize`]); every word we put
//! on a command line is quoted for POSIX sh ([`shell_quote`]).

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

/// Words of the HTTP stack that say nothing to a person: hyper-util's "client error
/// (Connect)", reqwest's "error sending request for url (…)", rustls's "unexpected error"
/// in front of our own verifier's message.
fn is_transport_noise(segment: &str) -> bool {
    matches!(
        segment,
        "client error (Connect)" | "client error (SendRequest)" | "unexpected error"
    ) || segment.starts_with("error sending request")
}

/// The shortest cause worth removing as a repetition: shorter ones ("x509", "tls") are
/// parts of Go's own texts, which are kept word for word.
const MIN_REPEAT: usize = 8;

/// An error line for people, cleaned: the HTTP stack's noise dropped, and a cause that only
/// repeats the end of what comes before it (an error whose message already includes its
/// source, rendered with that source again) said once.
pub(crate) fn clean_error(text: &str) -> String {
    let mut kept: Vec<&str> = Vec::new();
    for segment in text.split(": ") {
        if is_transport_noise(segment) {
            continue;
        }
        if segment.len() >= MIN_REPEAT && kept.last().is_some_and(|last| last.ends_with(segment)) {
            continue;
        }
        kept.push(segment);
    }
    kept.join(": ")
}

/// An error and its causes on one line (what `{err:#}` gives), each cause said once and
/// without the HTTP stack's noise ([`clean_error`]).
pub(crate) fn error_line(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if text.is_empty() || (text.len() >= MIN_REPEAT && line.contains(&text)) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    clean_error(&line)
}

/// A duration in one unit, as `--timeout` and `--expires-within` take it back: the largest
/// of d, h, m, s that holds it whole (zero is `0s`), else milliseconds (`3002ms`, not humantime's `3s 2ms`;
/// our parsers take no decimals), else microseconds.
pub(crate) fn duration(d: std::time::Duration) -> String {
    let nanos = d.as_nanos();
    if nanos == 0 {
        return "0s".into();
    }
    const S: u128 = 1_000_000_000;
    for (unit, size) in [("d", 86_400 * S), ("h", 3_600 * S), ("m", 60 * S), ("s", S)] {
        if nanos >= size && nanos % size == 0 {
            return format!("{}{unit}", nanos / size);
        }
    }
    if nanos % 1_000_000 == 0 {
        format!("{}ms", nanos / 1_000_000)
    } else {
        format!("{}us", nanos.div_ceil(1_000))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_lines_say_each_cause_once_without_transport_noise() {
        let io = std::io::Error::from(std::io::ErrorKind::NotFound);
        let io_text = io.to_string();
        // An error whose message includes its source, with that source in the chain again.
        #[derive(Debug)]
        struct Read(std::io::Error);
        impl std::fmt::Display for Read {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "cannot read /x — {}", self.0)
            }
        }
        impl std::error::Error for Read {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let err = anyhow::Error::new(Read(io)).context("check");
        assert_eq!(
            error_line(&err),
            format!("check: cannot read /x — {io_text}")
        );
        assert_eq!(
            clean_error("login: 127.0.0.1:1: client error (Connect): tcp connect error: Connection refused (os error 111)"),
            "login: 127.0.0.1:1: tcp connect error: Connection refused (os error 111)"
        );
        assert_eq!(
            clean_error("127.0.0.1:1: client error (Connect): unexpected error: the server's handshake signature does not verify"),
            "127.0.0.1:1: the server's handshake signature does not verify"
        );
        assert_eq!(
            clean_error("cannot read X — No such file or directory (os error 2): No such file or directory (os error 2)"),
            "cannot read X — No such file or directory (os error 2)"
        );
        // Go's texts stay word for word.
        for go in [
            "x509: certificate signed by unknown authority",
            "tls: failed to verify certificate: x509: certificate has expired or is not yet valid: current time 2025-01-01T00:00:00Z is after 2024-01-01T00:00:00Z",
            "remote error: tls: handshake failure",
        ] {
            assert_eq!(clean_error(go), go);
        }
    }

    #[test]
    fn durations_print_in_one_unit_our_parsers_read_back() {
        use std::time::Duration;
        for (d, text) in [
            (Duration::from_millis(3002), "3002ms"),
            (Duration::from_secs(3), "3s"),
            (Duration::from_millis(250), "250ms"),
            (Duration::ZERO, "0s"),
            (Duration::from_secs(90 * 60), "90m"),
            (Duration::from_secs(3600), "1h"),
            (Duration::from_secs(30 * 86_400), "30d"),
            (Duration::from_micros(1500), "1500us"),
        ] {
            assert_eq!(duration(d), text, "{d:?}");
            assert_eq!(humantime::parse_duration(text).unwrap(), d, "{text}");
        }
    }

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
