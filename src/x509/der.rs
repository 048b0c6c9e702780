//! A strict DER reader with the acceptance rules of Go's `golang.org/x/crypto/cryptobyte`,
//! which `crypto/x509`'s parser is written on: single-byte tags only, minimal definite
//! lengths, minimal INTEGERs, DER BOOLEANs and BIT STRINGs, minimal OID arcs.
//! What cryptobyte refuses, Go refuses, so this reader refuses it too.
//! Source: <https://github.com/golang/crypto/blob/master/cryptobyte/asn1.go>.

pub(crate) const BOOLEAN: u8 = 0x01;
pub(crate) const INTEGER: u8 = 0x02;
pub(crate) const BIT_STRING: u8 = 0x03;
pub(crate) const OCTET_STRING: u8 = 0x04;
pub(crate) const NULL: u8 = 0x05;
pub(crate) const OID: u8 = 0x06;
pub(crate) const UTF8_STRING: u8 = 0x0c;
pub(crate) const NUMERIC_STRING: u8 = 0x12;
pub(crate) const PRINTABLE_STRING: u8 = 0x13;
pub(crate) const T61_STRING: u8 = 0x14;
pub(crate) const IA5_STRING: u8 = 0x16;
pub(crate) const UTC_TIME: u8 = 0x17;
pub(crate) const GENERALIZED_TIME: u8 = 0x18;
pub(crate) const BMP_STRING: u8 = 0x1e;
pub(crate) const SEQUENCE: u8 = 0x30;
pub(crate) const SET: u8 = 0x31;

/// Context-specific tag `n`, primitive.
pub(crate) const fn ctx(n: u8) -> u8 {
    0x80 | n
}

/// Context-specific tag `n`, constructed.
pub(crate) const fn ctx_cons(n: u8) -> u8 {
    0xa0 | n
}

/// A cursor over DER bytes (cryptobyte.String).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Der<'a>(pub(crate) &'a [u8]);

impl<'a> Der<'a> {
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The next element's tag, header length and content length, if well formed.
    fn header(&self) -> Option<(u8, usize, usize)> {
        let b = self.0;
        let tag = *b.first()?;
        // cryptobyte: high-tag-number form is not supported.
        if tag & 0x1f == 0x1f {
            return None;
        }
        let first = *b.get(1)?;
        if first & 0x80 == 0 {
            return Some((tag, 2, usize::from(first)));
        }
        let n = usize::from(first & 0x7f);
        // Indefinite length (0x80) and lengths over 4 bytes are refused.
        if n == 0 || n > 4 {
            return None;
        }
        let bytes = b.get(2..2 + n)?;
        if bytes[0] == 0 {
            return None; // non-minimal: leading zero byte
        }
        let len = bytes
            .iter()
            .fold(0usize, |acc, byte| (acc << 8) | usize::from(*byte));
        if len < 128 {
            return None; // non-minimal: should have used the short form
        }
        Some((tag, 2 + n, len))
    }

    /// cryptobyte `ReadAnyASN1Element`: the whole next element and its tag.
    pub(crate) fn read_any_element(&mut self) -> Option<(u8, &'a [u8])> {
        let (tag, header, len) = self.header()?;
        let end = header.checked_add(len)?;
        let whole = self.0.get(..end)?;
        self.0 = &self.0[end..];
        Some((tag, whole))
    }

    /// cryptobyte `ReadAnyASN1`: the next element's tag and contents.
    pub(crate) fn read_any(&mut self) -> Option<(u8, Der<'a>)> {
        let (tag, header, _) = self.header()?;
        let (_, whole) = self.read_any_element()?;
        Some((tag, Der(&whole[header..])))
    }

    /// cryptobyte `ReadASN1`: contents of the next element, which must have `tag`.
    pub(crate) fn read(&mut self, tag: u8) -> Option<Der<'a>> {
        if self.peek(tag) {
            self.read_any().map(|(_, d)| d)
        } else {
            None
        }
    }

    /// cryptobyte `ReadASN1Element` with `tag`.
    pub(crate) fn read_element(&mut self, tag: u8) -> Option<&'a [u8]> {
        if self.peek(tag) {
            self.read_any_element().map(|(_, w)| w)
        } else {
            None
        }
    }

    pub(crate) fn peek(&self, tag: u8) -> bool {
        self.0.first() == Some(&tag)
    }

    /// cryptobyte `ReadOptionalASN1`: `Ok(None)` when absent, `Err` when malformed.
    pub(crate) fn read_optional(&mut self, tag: u8) -> Result<Option<Der<'a>>, ()> {
        if !self.peek(tag) {
            return Ok(None);
        }
        self.read(tag).map(Some).ok_or(())
    }

    /// cryptobyte `SkipOptionalASN1`.
    pub(crate) fn skip_optional(&mut self, tag: u8) -> bool {
        !self.peek(tag) || self.read_any_element().is_some()
    }

    /// A DER INTEGER's contents (two's complement, minimal), checked.
    pub(crate) fn read_integer_bytes(&mut self, tag: u8) -> Option<&'a [u8]> {
        let bytes = self.read(tag)?.0;
        valid_integer(bytes).then_some(bytes)
    }

    /// An INTEGER that fits in i64 (cryptobyte `ReadASN1Int64WithTag`).
    pub(crate) fn read_i64(&mut self, tag: u8) -> Option<i64> {
        let bytes = self.read_integer_bytes(tag)?;
        if bytes.len() > 8 {
            return None;
        }
        let negative = bytes[0] & 0x80 != 0;
        let mut v: i64 = if negative { -1 } else { 0 };
        for b in bytes {
            v = (v << 8) | i64::from(*b);
        }
        Some(v)
    }

    /// cryptobyte `ReadASN1Boolean`: exactly 0x00 or 0xff.
    pub(crate) fn read_bool(&mut self) -> Option<bool> {
        match self.read(BOOLEAN)?.0 {
            [0x00] => Some(false),
            [0xff] => Some(true),
            _ => None,
        }
    }

    /// cryptobyte `ReadASN1BitString`: (unused bits, bytes) with zero padding bits.
    pub(crate) fn read_bit_string(&mut self) -> Option<(u8, &'a [u8])> {
        let bytes = self.read(BIT_STRING)?.0;
        let (&padding, data) = bytes.split_first()?;
        if padding > 7 || (data.is_empty() && padding != 0) {
            return None;
        }
        if let Some(last) = data.last() {
            if last & ((1u8 << padding) - 1) != 0 {
                return None;
            }
        }
        Some((padding, data))
    }

    /// cryptobyte `ReadASN1ObjectIdentifier`: the dotted form, arcs minimal and in range.
    pub(crate) fn read_oid(&mut self) -> Option<String> {
        let bytes = self.read(OID)?.0;
        oid_string(bytes)
    }
}

/// cryptobyte's INTEGER rule: non-empty and minimally encoded.
pub(crate) fn valid_integer(bytes: &[u8]) -> bool {
    match bytes {
        [] => false,
        [0x00, next, ..] if next & 0x80 == 0 => false,
        [0xff, next, ..] if next & 0x80 != 0 => false,
        _ => true,
    }
}

/// Dotted OID text; `None` for what `encoding/asn1.ObjectIdentifier` parsing refuses
/// (empty, non-minimal or overlong arcs, a truncated last arc).
pub(crate) fn oid_string(bytes: &[u8]) -> Option<String> {
    if bytes.is_empty() {
        return None;
    }
    let mut arcs: Vec<u64> = Vec::new();
    let mut value: u64 = 0;
    let mut started = false;
    for (i, b) in bytes.iter().enumerate() {
        if !started && *b == 0x80 {
            return None; // leading 0x80: non-minimal
        }
        started = true;
        // Go's parseBase128Int refuses arcs above 31 bits.
        if value > (i32::MAX as u64) >> 7 {
            return None;
        }
        value = (value << 7) | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            if arcs.is_empty() {
                let (first, second) = if value < 80 {
                    (value / 40, value % 40)
                } else {
                    (2, value - 80)
                };
                arcs.push(first);
                arcs.push(second);
            } else {
                arcs.push(value);
            }
            value = 0;
            started = false;
        } else if i == bytes.len() - 1 {
            return None; // truncated
        }
    }
    Some(
        arcs.iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join("."),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_must_be_minimal_and_definite() {
        assert!(Der(&[0x04, 0x01, 0xaa]).read(OCTET_STRING).is_some());
        assert!(Der(&[0x04, 0x81, 0x01, 0xaa]).read(OCTET_STRING).is_none());
        assert!(Der(&[0x04, 0x80, 0xaa, 0, 0]).read(OCTET_STRING).is_none());
        let mut long = vec![0x04, 0x81, 0x80];
        long.extend([0u8; 128]);
        assert!(Der(&long).read(OCTET_STRING).is_some());
        let mut padded = vec![0x04, 0x82, 0x00, 0x80];
        padded.extend([0u8; 128]);
        assert!(Der(&padded).read(OCTET_STRING).is_none());
    }

    #[test]
    fn integers_booleans_and_oids_follow_cryptobyte() {
        assert!(valid_integer(&[0x00, 0x80]));
        assert!(!valid_integer(&[0x00, 0x7f]));
        assert!(!valid_integer(&[0xff, 0x80]));
        assert!(!valid_integer(&[]));
        assert_eq!(Der(&[0x01, 0x01, 0x01]).read_bool(), None);
        assert_eq!(Der(&[0x01, 0x01, 0xff]).read_bool(), Some(true));
        assert_eq!(
            oid_string(&[0x55, 0x1d, 0x11]).as_deref(),
            Some("2.5.29.17")
        );
        assert_eq!(oid_string(&[0x55, 0x80, 0x01]), None);
        assert_eq!(oid_string(&[0x55, 0x81]), None);
        assert_eq!(Der(&[0x02, 0x01, 0xff]).read_i64(INTEGER), Some(-1));
    }
}
