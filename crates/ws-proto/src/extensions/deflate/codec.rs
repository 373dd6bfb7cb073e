//! Compressing and decompressing messages (RFC 7692 section 7.2): deflating on the `zlib-rs`
//! backend, inflating on `miniz_oxide`'s core decoder through a window of exactly the agreed
//! size, so that a peer that refers further back fails.

use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;

use miniz_oxide::inflate::core::{decompress_with_limit, inflate_flags, DecompressorOxide};
use miniz_oxide::inflate::TINFLStatus;
use zlib_rs::{Deflate, DeflateConfig as ZConfig, DeflateFlush, Strategy};

use super::params::MIN_WINDOW_BITS;
use super::state_pool;
use crate::error::ProtocolError;

/// The octets a sync flush ends with, removed from the end of each compressed message and
/// appended again before inflating it (sections 7.2.1 and 7.2.2).
pub(crate) const TRAILER: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// zlib's deflater cannot make a window of 2^8 bytes (it silently uses 2^9); this is the
/// smallest window it is built with.
const ZLIB_MIN_WINDOW_BITS: u8 = 9;

/// What a deflate stream is built with; streams are pooled by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DeflateKey {
    level: u8,
    window_bits: u8,
    /// zlib's `memLevel`: the size of the buffer of pending symbols (2^(n+6) of them).
    mem_level: u8,
}

impl DeflateKey {
    /// A new stream for this key.
    pub(crate) fn create(self) -> Deflate {
        // A window of 2^8 (section 7.1.2): zlib would silently use 2^9 and could refer 512
        // bytes back. Run-length matches only ever refer 1 byte back, so they stay within
        // any window the peer can have agreed to.
        let (window_bits, strategy) = if self.window_bits <= MIN_WINDOW_BITS {
            (ZLIB_MIN_WINDOW_BITS, Strategy::Rle)
        } else {
            (self.window_bits, Strategy::Default)
        };
        Deflate::new_with_config(ZConfig {
            level: i32::from(self.level),
            window_bits: -i32::from(window_bits),
            mem_level: i32::from(self.mem_level),
            strategy,
            ..ZConfig::default()
        })
    }
}

/// Compresses the messages of one direction.
pub(crate) struct Deflater {
    /// Held while a message is being compressed; with context takeover, from the first
    /// message on. Without it, taken from the process-wide pool for one message and given back,
    /// so an idle connection holds no compression state.
    stream: Option<Deflate>,
    key: DeflateKey,
    no_context_takeover: bool,
}

impl Deflater {
    pub(crate) fn new(level: u8, window_bits: u8, no_context_takeover: bool) -> Deflater {
        // With context takeover the stream lives as long as the connection, so it is sized to
        // the window (zlib's default memLevel 8 goes with 2^15; each bit less halves the
        // symbol buffer, as zlib's own small-memory setting does). Pooled streams are shared,
        // so they keep the default.
        let mem_level = if no_context_takeover {
            8
        } else {
            window_bits.saturating_sub(7).clamp(1, 8)
        };
        Deflater {
            stream: None,
            key: DeflateKey {
                level: level.min(9),
                window_bits,
                mem_level,
            },
            no_context_takeover,
        }
    }

    /// Compresses the next piece of a message, appending to `out`. Each piece ends with a sync
    /// flush, so the peer can inflate everything sent so far; at the end of the message the
    /// flush's 4 trailing octets are removed (section 7.2.1).
    pub(crate) fn compress(&mut self, mut data: &[u8], end_of_message: bool, out: &mut Vec<u8>) {
        let start = out.len();
        let key = self.key;
        let stream = self
            .stream
            .get_or_insert_with(|| state_pool::take_deflate(key));
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
                if let Some(stream) = self.stream.take() {
                    state_pool::put_deflate(key, stream);
                }
            }
        }
    }

    /// Whether this deflater holds a stream now (not when idle without context takeover).
    #[cfg(test)]
    pub(crate) fn is_allocated(&self) -> bool {
        self.stream.is_some()
    }
}

impl Drop for Deflater {
    fn drop(&mut self) {
        // A connection that ends mid-message gives its pooled stream back.
        if self.no_context_takeover {
            if let Some(stream) = self.stream.take() {
                state_pool::put_deflate(self.key, stream);
            }
        }
    }
}

/// One inflate stream: the decoder and its window, a ring of exactly 2^bits bytes.
pub(crate) struct InflateStream {
    decoder: Box<DecompressorOxide>,
    window: Vec<u8>,
    /// Where the next output byte goes in `window`.
    pos: usize,
    /// The window has been filled once: from here on it wraps.
    wrapped: bool,
}

impl InflateStream {
    /// A new stream with a window of 2^`bits` bytes.
    pub(crate) fn new(bits: u8) -> InflateStream {
        InflateStream {
            decoder: Box::default(),
            window: vec![0; 1 << bits],
            pos: 0,
            wrapped: false,
        }
    }

    /// The window size as bits.
    #[cfg_attr(not(feature = "std"), allow(dead_code))]
    pub(crate) fn window_bits(&self) -> u8 {
        self.window.len().trailing_zeros() as u8
    }

    /// Starts a new DEFLATE stream with an empty window.
    #[cfg_attr(not(feature = "std"), allow(dead_code))]
    pub(crate) fn reset(&mut self) {
        self.decoder.init();
        self.pos = 0;
        self.wrapped = false;
    }

    /// Inflates from `input` into `output`: the bytes consumed, produced, and the decoder's
    /// last status.
    ///
    /// The decoder writes into the window and the bytes are copied out. Until the window has
    /// been filled once it is used as a plain buffer, in which the decoder refuses a distance
    /// beyond the data produced so far; after that as a ring, in which it refuses a distance
    /// beyond the ring's size. Either way a reference outside the agreed window fails, which
    /// is what RFC 7692 section 7.1.2 asks of a peer.
    fn inflate(&mut self, input: &[u8], output: &mut [u8]) -> (usize, usize, TINFLStatus) {
        let (mut consumed, mut produced) = (0, 0);
        loop {
            let mut flags = inflate_flags::TINFL_FLAG_HAS_MORE_INPUT;
            if !self.wrapped {
                flags |= inflate_flags::TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF;
            }
            let space = output.len() - produced;
            let (status, c, w) = decompress_with_limit(
                &mut self.decoder,
                &input[consumed..],
                &mut self.window,
                self.pos,
                space,
                flags,
            );
            output[produced..produced + w].copy_from_slice(&self.window[self.pos..self.pos + w]);
            consumed += c;
            produced += w;
            self.pos += w;
            if self.pos == self.window.len() {
                self.pos = 0;
                self.wrapped = true;
                // The decoder stopped at the end of the window, not for want of room.
                if status == TINFLStatus::HasMoreOutput && produced < output.len() {
                    continue;
                }
            }
            return (consumed, produced, status);
        }
    }
}

/// Decompresses the messages of one direction.
pub(crate) struct Inflater {
    /// Held while a message is being inflated; with context takeover, from the first message
    /// on. Without it (or once the peer's stream ended with a final block), given back to the
    /// process-wide pool after each message.
    stream: Option<Box<InflateStream>>,
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
    /// When the input turns out to be invalid (including a back-reference beyond the agreed
    /// window), the output inflated before the invalid data is still returned, and the error
    /// comes with the next call: the caller checks that output first (size, UTF-8), so errors
    /// are reported in stream order whatever the chunking.
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
        let stream = self
            .stream
            .get_or_insert_with(|| state_pool::take_inflate(bits));
        let (consumed, produced, status) = stream.inflate(input, output);
        match status {
            TINFLStatus::Done => {
                self.stream_ended = true;
                Ok((input.len(), produced))
            }
            TINFLStatus::NeedsMoreInput | TINFLStatus::HasMoreOutput => Ok((consumed, produced)),
            _ => {
                self.invalid = true;
                Ok((consumed, produced))
            }
        }
    }

    /// Called after the last piece of each compressed message (with the trailer appended).
    pub(crate) fn end_message(&mut self) {
        if self.no_context_takeover || self.stream_ended {
            if let Some(stream) = self.stream.take() {
                state_pool::put_inflate(stream);
            }
        }
        self.stream_ended = false;
    }

    /// Whether the input was invalid (the next [`step`](Self::step) returns the error).
    pub(crate) fn failed(&self) -> bool {
        self.invalid
    }

    /// Whether inflate state is held now.
    #[cfg(test)]
    pub(crate) fn is_allocated(&self) -> bool {
        self.stream.is_some()
    }
}

impl Drop for Inflater {
    fn drop(&mut self) {
        if self.no_context_takeover && !self.invalid {
            if let Some(stream) = self.stream.take() {
                state_pool::put_inflate(stream);
            }
        }
    }
}
