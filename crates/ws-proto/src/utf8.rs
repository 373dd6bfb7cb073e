//! Incremental UTF-8 validation (RFC 6455 section 8.1).
//!
//! Text payload arrives in arbitrary pieces (frames, fragments, partial reads). The validator
//! checks each piece as it arrives and fails on the first byte that cannot be part of valid
//! UTF-8, without waiting for the end of the message; a code point split across pieces is
//! carried over (at most 3 bytes).

/// Incremental UTF-8 validator.
#[derive(Debug, Clone, Default)]
pub(crate) struct Utf8Validator {
    /// Bytes of an incomplete code point at the end of the input so far.
    pending: [u8; 4],
    pending_len: u8,
}

/// Error: the input so far cannot be the prefix of valid UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct InvalidUtf8;

/// Number of bytes in the sequence a lead byte starts (0 for bytes that cannot start one).
fn sequence_len(lead: u8) -> usize {
    match lead {
        0x00..=0x7F => 1,
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => 0,
    }
}

impl Utf8Validator {
    /// Validates the next piece of input.
    pub(crate) fn feed(&mut self, mut data: &[u8]) -> Result<(), InvalidUtf8> {
        if self.pending_len > 0 {
            let have = usize::from(self.pending_len);
            let need = sequence_len(self.pending[0]);
            let take = (need - have).min(data.len());
            self.pending[have..have + take].copy_from_slice(&data[..take]);
            let len = have + take;
            data = &data[take..];
            match core::str::from_utf8(&self.pending[..len]) {
                Ok(_) => self.pending_len = 0,
                // A valid prefix of a code point: wait for more.
                Err(e) if e.error_len().is_none() => {
                    self.pending_len = len as u8;
                    return Ok(());
                }
                Err(_) => return Err(InvalidUtf8),
            }
        }
        // ASCII is by far the most common text; check it a word at a time first.
        if data.is_ascii() {
            return Ok(());
        }
        match core::str::from_utf8(data) {
            Ok(_) => Ok(()),
            // `error_len() == None`: the input ends inside a sequence whose bytes so far are
            // valid (the standard library checks the second byte's range precisely, so
            // overlong forms and surrogates fail here and not later).
            Err(e) if e.error_len().is_none() => {
                let tail = &data[e.valid_up_to()..];
                self.pending[..tail.len()].copy_from_slice(tail);
                self.pending_len = tail.len() as u8;
                Ok(())
            }
            Err(_) => Err(InvalidUtf8),
        }
    }

    /// Whether the input so far ends on a code point boundary (required at the end of a text
    /// message).
    pub(crate) fn is_complete(&self) -> bool {
        self.pending_len == 0
    }

    /// Bytes of an incomplete code point at the end of the input so far.
    pub(crate) fn pending_len(&self) -> usize {
        usize::from(self.pending_len)
    }

    /// Forgets all state, for the next message.
    pub(crate) fn reset(&mut self) {
        self.pending_len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;
    use proptest::prelude::*;

    fn feed_all(pieces: &[&[u8]]) -> Result<bool, usize> {
        let mut v = Utf8Validator::default();
        for (i, p) in pieces.iter().enumerate() {
            v.feed(p).map_err(|_| i)?;
        }
        Ok(v.is_complete())
    }

    #[test]
    fn split_code_points_are_carried_over() {
        let s = "κόσμε 𝄞 ✓".as_bytes();
        for i in 0..=s.len() {
            for j in i..=s.len() {
                assert_eq!(
                    feed_all(&[&s[..i], &s[i..j], &s[j..]]),
                    Ok(true),
                    "split {i} {j}"
                );
            }
        }
    }

    #[test]
    fn incomplete_at_end_is_reported() {
        assert_eq!(feed_all(&[b"ab\xe2\x82"]), Ok(false));
        assert_eq!(feed_all(&[b"\xf0", b"\x9d"]), Ok(false));
    }

    #[test]
    fn fails_fast_on_impossible_prefixes() {
        // Each of these fails on its last byte, before any continuation could arrive.
        for bad in [
            &b"\xc0"[..],                                            // overlong lead
            b"\xf5",                                                 // beyond U+10FFFF
            b"\xed\xa0",                                             // surrogate U+D800
            b"\xe0\x80",                                             // overlong 3-byte
            b"\xf4\x90",                                             // beyond U+10FFFF
            b"\x80",                                                 // lone continuation
            b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0", // Autobahn 6.4.x
        ] {
            let mut v = Utf8Validator::default();
            assert_eq!(v.feed(bad), Err(InvalidUtf8), "{bad:x?}");
            // Also when the last byte arrives on its own.
            let mut v = Utf8Validator::default();
            let (head, last) = bad.split_at(bad.len() - 1);
            assert_eq!(v.feed(head), Ok(()));
            assert_eq!(v.feed(last), Err(InvalidUtf8), "{bad:x?}");
        }
    }

    proptest! {
        /// Valid UTF-8 split anywhere into any number of pieces is accepted.
        #[test]
        fn valid_text_in_any_split_is_accepted(s in "\\PC*", cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..6)) {
            let bytes = s.as_bytes();
            let mut points: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
            points.sort_unstable();
            let mut v = Utf8Validator::default();
            let mut prev = 0;
            for p in points.into_iter().chain([bytes.len()]) {
                prop_assert!(v.feed(&bytes[prev..p]).is_ok());
                prev = p;
            }
            prop_assert!(v.is_complete());
        }

        /// Arbitrary bytes fed one at a time fail exactly at the first byte at which the
        /// standard library finds them invalid, and are otherwise accepted.
        #[test]
        fn fails_at_the_first_invalid_byte(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            let mut v = Utf8Validator::default();
            let failed_at = (0..bytes.len()).find(|&i| v.feed(&bytes[i..=i]).is_err());
            let expected = match core::str::from_utf8(&bytes) {
                Ok(_) => None,
                Err(e) => e.error_len().map(|_| {
                    // The first byte at which no continuation could make the prefix valid.
                    (e.valid_up_to()..bytes.len())
                        .find(|&end| matches!(core::str::from_utf8(&bytes[..=end]), Err(e2) if e2.error_len().is_some()))
                        .unwrap()
                }),
            };
            prop_assert_eq!(failed_at, expected);
        }
    }
}
