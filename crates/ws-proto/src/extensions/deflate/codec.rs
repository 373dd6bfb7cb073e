//! Compressing and decompressing messages (RFC 7692 section 7.2) on the `zlib-rs` backend.

use alloc::vec::Vec;

use zlib_rs::{
    Deflate, DeflateConfig as ZConfig, DeflateFlush, Inflate, InflateFlush, Status, Strategy,
};

use super::params::MIN_WINDOW_BITS;
use crate::error::ProtocolError;

/// The octets a sync flush ends with, removed from the end of each compressed message and
/// appended again before inflating it (sections 7.2.1 and 7.2.2).
pub(crate) const TRAILER: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// zlib's deflater cannot make a window of 2^8 bytes (it silently uses 2^9); this is the
/// smallest window it is built with.
const ZLIB_MIN_WINDOW_BITS: u8 = 9;

/// Compresses the messages of one direction.
pub(crate) struct Deflater {
    /// Created on first use; dropped after each message without context takeover, so an idle
    /// connection holds no compression state.
    stream: Option<Deflate>,
    level: u8,
    window_bits: u8,
    no_context_takeover: bool,
}

impl Deflater {
    pub(crate) fn new(level: u8, window_bits: u8, no_context_takeover: bool) -> Deflater {
        Deflater {
            stream: None,
            level: level.min(9),
            window_bits,
            no_context_takeover,
        }
    }

    fn stream(&mut self) -> &mut Deflate {
        let (level, bits) = (self.level, self.window_bits);
        self.stream.get_or_insert_with(|| {
            // A window of 2^8 (section 7.1.2): zlib would silently use 2^9 and could refer
            // 512 bytes back. Run-length matches only ever refer 1 byte back, so they stay
            // within any window the peer can have agreed to.
            let (window_bits, strategy) = if bits <= MIN_WINDOW_BITS {
                (ZLIB_MIN_WINDOW_BITS, Strategy::Rle)
            } else {
                (bits, Strategy::Default)
            };
            Deflate::new_with_config(ZConfig {
                level: i32::from(level),
                window_bits: -i32::from(window_bits),
                strategy,
                ..ZConfig::default()
            })
        })
    }

    /// Compresses the next piece of a message, appending to `out`. Each piece ends with a sync
    /// flush, so the peer can inflate everything sent so far; at the end of the message the
    /// flush's 4 trailing octets are removed (section 7.2.1).
    pub(crate) fn compress(&mut self, mut data: &[u8], end_of_message: bool, out: &mut Vec<u8>) {
        let start = out.len();
        let stream = self.stream();
        loop {
            // Room for the input plus block headers and the flush; grown if it is not enough.
            let room = data.len() + data.len() / 64 + 64;
            let len = out.len();
            out.resize(len + room, 0);
            let (in_before, out_before) = (stream.total_in(), stream.total_out());
            let result = stream.compress(data, &mut out[len..], DeflateFlush::SyncFlush);
            let consumed = (stream.total_in() - in_before) as usize;
            let produced = (stream.total_out() - out_before) as usize;
            out.truncate(len + produced);
            data = &data[consumed..];
            // Only a misconfigured stream fails: the parameters are fixed and valid.
            debug_assert!(result.is_ok(), "deflate failed: {result:?}");
            // "If deflate returns with avail_out == 0, this function must be called again with
            // the same value of the flush parameter and more output space" (zlib manual).
            if result.is_err() || (data.is_empty() && produced < room) {
                break;
            }
        }
        if end_of_message {
            // RFC 7692 section 7.2.1: "If the resulting data does not end with an empty DEFLATE
            // block with no compression ..., append an empty DEFLATE block with no compression
            // to the tail end", then "Remove 4 octets (that are 0x00 0x00 0xff 0xff)". A sync
            // flush with nothing new to flush (an empty message or last fragment after earlier
            // output) writes nothing: the block is then the single octet 0x00 (section 7.2.3.6).
            if out[start..].ends_with(&TRAILER) {
                out.truncate(out.len() - TRAILER.len());
            } else {
                out.push(0x00);
            }
            if self.no_context_takeover {
                self.stream = None;
            }
        }
    }

    /// Bytes this deflater holds now (0 when idle without context takeover).
    pub(crate) fn is_allocated(&self) -> bool {
        self.stream.is_some()
    }
}

/// Decompresses the messages of one direction.
pub(crate) struct Inflater {
    /// Created on first use; dropped after each message when the peer does not take context
    /// over, or when its stream ended with a final block.
    stream: Option<Inflate>,
    window_bits: u8,
    no_context_takeover: bool,
    /// The peer ended its DEFLATE stream with a final block (section 7.2.3.5): the rest of the
    /// message is ignored and the next message starts a new stream.
    stream_ended: bool,
    /// The input turned out to be invalid; the error is returned by the next `step`, after
    /// the output inflated before it has been handed out (and checked by the caller).
    invalid: bool,
}

impl Inflater {
    pub(crate) fn new(window_bits: u8, no_context_takeover: bool) -> Inflater {
        Inflater {
            stream: None,
            // A peer whose zlib turned an agreed 2^8 window into 2^9 is still understood.
            window_bits: window_bits.max(ZLIB_MIN_WINDOW_BITS),
            no_context_takeover,
            stream_ended: false,
            invalid: false,
        }
    }

    /// Inflates from `input` into `output`; returns the bytes consumed and produced. Call again
    /// while input remains, the output was filled, or [`failed`](Self::failed) says the next
    /// call returns the error.
    ///
    /// When the input turns out to be invalid, the output inflated before the invalid data is
    /// still returned, and the error comes with the next call: the caller checks that output
    /// first (size, UTF-8), so errors are reported in stream order whatever the chunking.
    pub(crate) fn step(
        &mut self,
        input: &[u8],
        output: &mut [u8],
    ) -> Result<(usize, usize), ProtocolError> {
        if self.invalid {
            return Err(ProtocolError::InvalidCompressedData);
        }
        if self.stream_ended {
            return Ok((input.len(), 0));
        }
        let bits = self.window_bits;
        let stream = self.stream.get_or_insert_with(|| Inflate::new(false, bits));
        let (in_before, out_before) = (stream.total_in(), stream.total_out());
        let result = stream.decompress(input, output, InflateFlush::SyncFlush);
        let consumed = (stream.total_in() - in_before) as usize;
        let produced = (stream.total_out() - out_before) as usize;
        let Ok(status) = result else {
            self.invalid = true;
            return Ok((consumed, produced));
        };
        if status == Status::StreamEnd {
            self.stream_ended = true;
            return Ok((input.len(), produced));
        }
        Ok((consumed, produced))
    }

    /// Called after the last piece of each compressed message (with the trailer appended).
    pub(crate) fn end_message(&mut self) {
        if self.no_context_takeover || self.stream_ended {
            self.stream = None;
        }
        self.stream_ended = false;
    }

    /// Whether the input was invalid (the next [`step`](Self::step) returns the error).
    pub(crate) fn failed(&self) -> bool {
        self.invalid
    }

    /// Whether inflate state is held now.
    pub(crate) fn is_allocated(&self) -> bool {
        self.stream.is_some()
    }
}
