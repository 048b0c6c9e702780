//! A word as the lexer makes it: its bytes with the source offset of each ([`Value`]),
//! why a word has none ([`Failure`]), and Go's view of runes and character classes, which
//! the lexer (`shell`) and its patterns (`pattern`) share.

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

/// The origin of a byte that is not in the file (a `--build-arg`, a platform ARG, U+FFFD).
pub(crate) const NOWHERE: usize = usize::MAX;

/// What Go writes for a rune it could not decode, which comes from nowhere in the file.
const REPLACEMENT: Piece<'static> = Piece {
    bytes: "\u{fffd}".as_bytes(),
    origin: &[NOWHERE; 3],
};

/// A processed word: its bytes and, for each byte, its source offset or [`NOWHERE`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Value {
    pub(crate) bytes: Vec<u8>,
    pub(crate) origin: Vec<usize>,
}

impl Value {
    /// Bytes that come from outside the file.
    pub(crate) fn opaque(bytes: &[u8]) -> Value {
        Value {
            bytes: bytes.to_vec(),
            origin: vec![NOWHERE; bytes.len()],
        }
    }

    /// Bytes that sit at consecutive offsets from `start`.
    pub(crate) fn at(bytes: &[u8], start: usize) -> Value {
        Value {
            bytes: bytes.to_vec(),
            origin: (start..start + bytes.len()).collect(),
        }
    }

    pub(super) fn push(&mut self, byte: u8, origin: usize) {
        self.bytes.push(byte);
        self.origin.push(origin);
    }

    pub(super) fn extend(&mut self, other: &Value) {
        self.bytes.extend_from_slice(&other.bytes);
        self.origin.extend_from_slice(&other.origin);
    }

    pub(super) fn extend_piece(&mut self, piece: Piece) {
        self.bytes.extend_from_slice(piece.bytes);
        self.origin.extend_from_slice(piece.origin);
    }

    pub(super) fn slice(&self, range: Range<usize>) -> Value {
        Value {
            bytes: self.bytes[range.clone()].to_vec(),
            origin: self.origin[range].to_vec(),
        }
    }

    /// The bytes of one rune, U+FFFD for a byte Go cannot decode.
    pub(super) fn piece(&self, rune: Rune) -> Piece<'_> {
        if rune.invalid() {
            return REPLACEMENT;
        }
        let range = rune.at..rune.at + rune.len;
        Piece {
            bytes: &self.bytes[range.clone()],
            origin: &self.origin[range],
        }
    }

    /// The runes of the value, as Go's `range` over a string reads them.
    pub(super) fn runes(&self) -> impl Iterator<Item = Rune> + '_ {
        let mut at = 0;
        std::iter::from_fn(move || {
            let rune = rune_at(&self.bytes, at)?;
            at += rune.len;
            Some(rune)
        })
    }

    /// Go's `[]rune` conversion reversed and back (`reverseString`): runes in reverse
    /// order, each undecodable byte becoming U+FFFD.
    pub(super) fn reversed(&self) -> Value {
        let runes: Vec<Rune> = self.runes().collect();
        let mut out = Value::default();
        for &rune in runes.iter().rev() {
            out.extend_piece(self.piece(rune));
        }
        out
    }
}

/// Borrowed bytes of output with their origins.
#[derive(Clone, Copy)]
pub(super) struct Piece<'a> {
    pub(super) bytes: &'a [u8],
    pub(super) origin: &'a [usize],
}

/// A rune as Go's decoder reads it: a byte of invalid UTF-8 is U+FFFD of length 1.
#[derive(Debug, Clone, Copy)]
pub(super) struct Rune {
    pub(super) ch: char,
    pub(super) at: usize,
    pub(super) len: usize,
}

impl Rune {
    pub(super) fn invalid(self) -> bool {
        self.len == 1 && !self.ch.is_ascii()
    }
}

/// The rune at `at` (`utf8.DecodeRune`).
pub(super) fn rune_at(bytes: &[u8], at: usize) -> Option<Rune> {
    let first = *bytes.get(at)?;
    if first < 0x80 {
        return Some(Rune {
            ch: char::from(first),
            at,
            len: 1,
        });
    }
    let longest = (bytes.len() - at).min(4);
    for len in 2..=longest {
        if let Ok(s) = std::str::from_utf8(&bytes[at..at + len]) {
            return s.chars().next().map(|ch| Rune { ch, at, len });
        }
    }
    Some(Rune {
        ch: char::REPLACEMENT_CHARACTER,
        at,
        len: 1,
    })
}

/// Why a word has no value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// BuildKit fails on the word (bad substitution, unterminated quote, `${X:?}` unset).
    Invalid,
    /// Nested deeper than the lexer's `MAX_DEPTH`.
    TooDeep,
}

/// Go's `unicode.IsSpace`, which is Unicode's White_Space like Rust's.
pub(super) fn is_go_space(ch: char) -> bool {
    ch.is_whitespace()
}

/// Go's `unicode.IsLetter`: category L. Rust's `is_alphabetic` also admits Nl and marks
/// such as U+093E (`$नाम` is `$न` followed by text for Go).
pub(super) fn is_go_letter(ch: char) -> bool {
    static LETTER: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"\A\p{L}\z").ok());
    if ch.is_ascii() {
        return ch.is_ascii_alphabetic();
    }
    let letter = LETTER.as_ref();
    letter.is_some_and(|re| re.is_match(ch.encode_utf8(&mut [0; 4])))
}

/// Go's `unicode.IsDigit`: category Nd. Rust's `is_numeric` also admits Nl and No
/// (`Ⅰ`, `²`).
pub(super) fn is_go_digit(ch: char) -> bool {
    static DIGIT: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"\A\p{Nd}\z").ok());
    if ch.is_ascii() {
        return ch.is_ascii_digit();
    }
    let digit = DIGIT.as_ref();
    digit.is_some_and(|re| re.is_match(ch.encode_utf8(&mut [0; 4])))
}
