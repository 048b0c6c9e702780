//! Byte-level helpers that reproduce Go's notion of white space and case.
//!
//! BuildKit works on Go strings, so "white space" means `unicode.IsSpace` in some places
//! (`strings.TrimSpace`, `bytes.TrimLeftFunc`) and the regexp class `[\t\v\f\r ]` in others
//! (`reWhitespace` in parser.go). A Dockerfile is bytes, not necessarily UTF-8, so these
//! helpers decode only as much as they need and treat invalid UTF-8 as Go does: never space.

/// Length of the Unicode white-space character starting at `s[i]`, 0 if there is none
/// (Go `unicode.IsSpace`, which is the Unicode White_Space property, as is Rust's).
pub(crate) fn space_len_at(s: &[u8], i: usize) -> usize {
    let Some(&b) = s.get(i) else { return 0 };
    if b < 0x80 {
        return usize::from(matches!(b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' '));
    }
    let width = match b {
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => return 0,
    };
    match s
        .get(i..i + width)
        .and_then(|c| std::str::from_utf8(c).ok())
    {
        Some(c) if c.chars().all(char::is_whitespace) => width,
        _ => 0,
    }
}

/// Length of the Unicode white-space character ending at `s[..end]`, 0 if there is none.
pub(crate) fn space_len_before(s: &[u8], end: usize) -> usize {
    for width in 1..=3 {
        if end >= width && space_len_at(s, end - width) == width {
            return width;
        }
    }
    0
}

/// `strings.TrimSpace` on `s[range]`, as a range.
pub(crate) fn trim_space(s: &[u8], mut start: usize, mut end: usize) -> (usize, usize) {
    while start < end {
        match space_len_at(s, start) {
            0 => break,
            n => start += n,
        }
    }
    while end > start {
        match space_len_before(s, end) {
            0 => break,
            n => end -= n,
        }
    }
    (start, end)
}

/// `bytes.TrimLeftFunc(s, unicode.IsSpace)`: the index of the first non-space byte.
pub(crate) fn skip_space(s: &[u8], mut start: usize, end: usize) -> usize {
    while start < end {
        match space_len_at(s, start) {
            0 => break,
            n => start += n,
        }
    }
    start
}

/// The regexp class `[\t\v\f\r ]` that parser.go's `reWhitespace` splits on.
pub(crate) fn is_re_space(b: u8) -> bool {
    matches!(b, b'\t' | 0x0b | 0x0c | b'\r' | b' ')
}

/// `unicode.IsSpace(rune(b))` on a single byte, as split_command.go's flag scanner does
/// (it walks bytes, so 0x85 and 0xA0 count as space even inside a UTF-8 sequence).
pub(crate) fn is_byte_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ' | 0x85 | 0xa0)
}

/// Whether `word` equals the lower-case ASCII `keyword` under Go's `strings.ToLower`,
/// which maps U+0130 to `i` and the Kelvin sign U+212A to `k`.
pub(crate) fn lower_eq(word: &[u8], keyword: &str) -> bool {
    if word.len() == keyword.len() {
        return word.eq_ignore_ascii_case(keyword.as_bytes());
    }
    let Ok(text) = std::str::from_utf8(word) else {
        return false;
    };
    let mut chars = text.chars();
    for want in keyword.chars() {
        let lowered = match chars.next() {
            Some('\u{130}') => 'i',
            Some('\u{212a}') => 'k',
            Some(c) => c.to_ascii_lowercase(),
            None => return false,
        };
        if lowered != want {
            return false;
        }
    }
    chars.next().is_none()
}

/// `strings.EqualFold(word, "as")`: simple case folding lets `ſ` (U+017F) stand for `s`.
pub(crate) fn is_as_keyword(word: &[u8]) -> bool {
    matches!(word, [b'a' | b'A', b's' | b'S'] | [b'a' | b'A', 0xc5, 0xbf])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn space_follows_go_unicode_is_space() {
        assert_eq!(space_len_at(b" x", 0), 1);
        assert_eq!(space_len_at("\u{a0}x".as_bytes(), 0), 2);
        assert_eq!(space_len_at("\u{3000}".as_bytes(), 0), 3);
        assert_eq!(space_len_at(b"\xc2", 0), 0, "truncated UTF-8 is not space");
        assert_eq!(
            space_len_at(b"\xa0", 0),
            0,
            "a lone continuation byte is not space"
        );
        let s = " \u{2003}a b\u{a0}\t".as_bytes();
        let (start, end) = trim_space(s, 0, s.len());
        assert_eq!(&s[start..end], b"a b");
    }

    #[test]
    fn keywords_compare_like_go() {
        assert!(lower_eq(b"FrOm", "from"));
        assert!(lower_eq("ONBU\u{130}LD".as_bytes(), "onbuild"));
        assert!(!lower_eq(b"FROMX", "from"));
        assert!(is_as_keyword(b"aS"));
        assert!(is_as_keyword("a\u{17f}".as_bytes()));
        assert!(!is_as_keyword(b"ass"));
    }
}
