//! What a handshake state machine keeps of the bytes it received: the head while it is
//! incomplete, never more than the limits allow, then the bytes that followed it.

use alloc::vec::Vec;

use super::Limits;

/// The received bytes of one handshake.
#[derive(Debug, Default)]
pub(super) struct Input {
    /// The head so far, at most `max_header_bytes + 1` bytes (one past the limit is enough for
    /// the parser to report [`HandshakeError::HeadersTooLarge`](crate::HandshakeError)); once
    /// the head is complete, exactly the head.
    head: Vec<u8>,
    /// The bytes that followed the head.
    after: Vec<u8>,
    /// How many bytes of `after` arrived in reads after the one that completed the head.
    late: usize,
}

impl Input {
    /// Appends `data` to an incomplete head, as far as the limit allows.
    ///
    /// Returns how much of the head the parser should read now, if anything, and the bytes
    /// not taken. The parser reads the head up to the last line end when a line ended in the
    /// new bytes, or the whole head once it passed the limit. So the outcome depends only on
    /// the bytes received, not on how they were split (the parser consumes nothing on partial
    /// input and its errors never change as bytes arrive), and a head sent one byte at a time
    /// is parsed once per line, not once per byte.
    pub(super) fn push_head<'d>(
        &mut self,
        data: &'d [u8],
        limits: &Limits,
    ) -> (Option<usize>, &'d [u8]) {
        let room = limits
            .max_header_bytes
            .saturating_add(1)
            .saturating_sub(self.head.len());
        let (taken, rest) = data.split_at(data.len().min(room));
        let start = self.head.len();
        self.head.extend_from_slice(taken);
        let parse = if self.head.len() > limits.max_header_bytes {
            Some(self.head.len())
        } else {
            taken
                .iter()
                .rposition(|&b| b == b'\n')
                .map(|line_end| start + line_end + 1)
        };
        (parse, rest)
    }

    /// The head so far (complete once [`complete`](Self::complete) was called).
    pub(super) fn head(&self) -> &[u8] {
        &self.head
    }

    /// The head ended after `len` bytes: the bytes after it, then `rest` (the part of the
    /// read not taken by [`push_head`](Self::push_head)), follow it.
    pub(super) fn complete(&mut self, len: usize, rest: &[u8]) {
        self.after = self.head.split_off(len.min(self.head.len()));
        self.after.extend_from_slice(rest);
    }

    /// Drops the head once it has been parsed into owned values.
    pub(super) fn release_head(&mut self) {
        self.head = Vec::new();
    }

    /// Appends bytes that arrived after the head in a later read. Refuses them (returning
    /// `false`, keeping nothing) once such reads would hold more than `max_header_bytes`.
    pub(super) fn push_after(&mut self, data: &[u8], limits: &Limits) -> bool {
        match self.late.checked_add(data.len()) {
            Some(late) if late <= limits.max_header_bytes => {
                self.late = late;
                self.after.extend_from_slice(data);
                true
            }
            _ => false,
        }
    }

    /// The bytes after the head, by reference.
    #[cfg(test)]
    pub(super) fn after(&self) -> &[u8] {
        &self.after
    }

    /// Takes the bytes after the head.
    pub(super) fn take_after(&mut self) -> Vec<u8> {
        core::mem::take(&mut self.after)
    }

    /// How many bytes are held.
    pub(super) fn len(&self) -> usize {
        self.head.len() + self.after.len()
    }

    /// Forgets everything (after a failure).
    pub(super) fn clear(&mut self) {
        *self = Input::default();
    }
}

#[cfg(test)]
mod buffering_under_the_limits {
    use super::*;

    #[test]
    fn the_head_never_grows_past_one_byte_over_the_limit() {
        let limits = Limits::default().with_max_header_bytes(8);
        let mut input = Input::default();
        let (parse, rest) = input.push_head(b"GET / HT", &limits);
        assert_eq!(parse, None);
        assert!(rest.is_empty());
        let (parse, rest) = input.push_head(b"TP/1.1\r\n", &limits);
        assert_eq!(parse, Some(9), "over the limit: the parser reports it");
        assert_eq!(input.head(), b"GET / HTT");
        assert_eq!(rest, b"P/1.1\r\n");
    }

    #[test]
    fn the_parser_runs_when_a_line_ends() {
        let limits = Limits::default();
        let mut input = Input::default();
        assert_eq!(input.push_head(b"GET / HTTP/1.1\r", &limits).0, None);
        assert_eq!(input.push_head(b"\nHost: h\r\nX", &limits).0, Some(25));
    }

    #[test]
    fn bytes_after_the_head_are_kept_in_order_and_bounded() {
        let limits = Limits::default().with_max_header_bytes(16);
        let mut input = Input::default();
        let (_, rest) = input.push_head(b"AB\r\n\r\nxy", &limits);
        input.complete(6, rest);
        assert_eq!(input.head(), b"AB\r\n\r\n");
        assert_eq!(input.after(), b"xy");
        assert!(input.push_after(&[b'z'; 16], &limits));
        assert!(!input.push_after(b"!", &limits));
        assert_eq!(input.len(), 6 + 18);
        input.release_head();
        assert_eq!(input.take_after().len(), 18);
        assert_eq!(input.len(), 0);
    }
}
