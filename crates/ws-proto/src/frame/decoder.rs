//! A resumable frame decoder: frame headers and payload pieces from input split anywhere.

use super::{decode_header, FrameHeader, MAX_HEADER_LEN};
use crate::error::ProtocolError;

/// What [`FrameDecoder::decode`] found at the front of its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoded<'a> {
    /// The header of a new frame. Its payload follows as [`Decoded::Payload`] pieces (none when
    /// `payload_len` is 0).
    Header(FrameHeader),
    /// A piece of the current frame's payload, as received (still masked if the frame is).
    Payload {
        /// The bytes.
        data: &'a [u8],
        /// Where they start in the frame's payload (the offset for unmasking).
        offset: u64,
        /// This piece ends the frame.
        last: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Waiting for (the rest of) a header; `len` bytes of it are buffered.
    Header { len: u8 },
    /// Reading the payload of `header`; `received` bytes of it so far.
    Payload { header: FrameHeader, received: u64 },
}

/// Splits a byte stream into frame headers and payload pieces, keeping its place between
/// calls, so input can be fed in chunks of any size.
///
/// It decodes the wire format only (section 5.2: reserved opcodes and the 64-bit length rule
/// are errors); the rules that depend on the connection (masking by role, fragmentation, size
/// limits, RSV bits) are its caller's. [`Connection`](crate::Connection) uses it, and so can a
/// proxy, a load generator or a fuzz target. It never allocates: a header split across calls
/// is kept in a 14-byte buffer, and payload is returned as slices of the input.
///
/// ```
/// use ws_proto::frame::{Decoded, FrameDecoder, OpCode};
/// // RFC 6455 section 5.7: a masked "Hello", fed one byte at a time.
/// let wire = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
/// let mut decoder = FrameDecoder::new();
/// let mut payload = Vec::new();
/// for byte in wire.chunks(1) {
///     let (consumed, decoded) = decoder.decode(byte).unwrap();
///     assert_eq!(consumed, 1);
///     match decoded {
///         Some(Decoded::Header(h)) => assert_eq!((h.opcode, h.payload_len), (OpCode::Text, 5)),
///         Some(Decoded::Payload { data, .. }) => payload.extend_from_slice(data),
///         None => {} // part of a header
///     }
/// }
/// ws_proto::frame::mask::apply_mask(&mut payload, [0x37, 0xfa, 0x21, 0x3d], 0);
/// assert_eq!(payload, b"Hello");
/// assert!(decoder.at_frame_start());
/// ```
#[derive(Debug, Clone)]
pub struct FrameDecoder {
    state: State,
    header_buf: [u8; MAX_HEADER_LEN],
}

impl Default for FrameDecoder {
    fn default() -> Self {
        FrameDecoder::new()
    }
}

impl FrameDecoder {
    /// A decoder at the start of a frame.
    pub const fn new() -> FrameDecoder {
        FrameDecoder {
            state: State::Header { len: 0 },
            header_buf: [0; MAX_HEADER_LEN],
        }
    }

    /// Decodes the next item at the front of `input`: returns how many bytes it consumed and
    /// what they were. `None` with all of `input` consumed means they were part of a header
    /// that is not complete yet. Call again with the rest of the input.
    ///
    /// # Errors
    ///
    /// A reserved opcode, or a 64-bit length with its top bit set (section 5.2). The stream
    /// cannot be decoded further.
    pub fn decode<'a>(
        &mut self,
        input: &'a [u8],
    ) -> Result<(usize, Option<Decoded<'a>>), ProtocolError> {
        match self.state {
            State::Header { len: 0 } => match decode_header(input)? {
                Some((header, len)) => {
                    self.begin_payload(header);
                    Ok((len, Some(Decoded::Header(header))))
                }
                None => {
                    // Shorter than the longest header, since it is incomplete.
                    self.header_buf[..input.len()].copy_from_slice(input);
                    self.state = State::Header {
                        len: input.len() as u8,
                    };
                    Ok((input.len(), None))
                }
            },
            State::Header { len } => {
                let have = usize::from(len);
                let take = (MAX_HEADER_LEN - have).min(input.len());
                self.header_buf[have..have + take].copy_from_slice(&input[..take]);
                match decode_header(&self.header_buf[..have + take])? {
                    Some((header, header_len)) => {
                        self.begin_payload(header);
                        Ok((header_len - have, Some(Decoded::Header(header))))
                    }
                    None => {
                        self.state = State::Header {
                            len: (have + take) as u8,
                        };
                        Ok((take, None))
                    }
                }
            }
            State::Payload { header, received } => {
                let n = (header.payload_len - received).min(input.len() as u64) as usize;
                let last = self.advance_payload(n as u64);
                let piece = Decoded::Payload {
                    data: &input[..n],
                    offset: received,
                    last,
                };
                Ok((n, Some(piece)))
            }
        }
    }

    /// Whether the decoder is at the start of a frame, with nothing buffered.
    #[inline]
    pub fn at_frame_start(&self) -> bool {
        matches!(self.state, State::Header { len: 0 })
    }

    /// The frame whose payload is being read and how much of it has been received.
    pub fn payload_progress(&self) -> Option<(FrameHeader, u64)> {
        match self.state {
            State::Payload { header, received } => Some((header, received)),
            State::Header { .. } => None,
        }
    }

    /// Takes a header decoded elsewhere (with [`decode_header`] on input the caller inspected
    /// first) as the current frame: its payload comes next. Only at a frame start.
    #[inline]
    pub fn begin_payload(&mut self, header: FrameHeader) {
        debug_assert!(matches!(self.state, State::Header { .. }));
        self.state = if header.payload_len == 0 {
            State::Header { len: 0 }
        } else {
            State::Payload {
                header,
                received: 0,
            }
        };
    }

    /// Counts `n` payload bytes the caller received by other means (read straight into its
    /// own buffer) as consumed, at most what remains of the frame. Returns whether the frame's
    /// payload is now complete.
    pub fn advance_payload(&mut self, n: u64) -> bool {
        let State::Payload { header, received } = self.state else {
            return false;
        };
        let received = received + n.min(header.payload_len - received);
        if received == header.payload_len {
            self.state = State::Header { len: 0 };
            true
        } else {
            self.state = State::Payload { header, received };
            false
        }
    }
}
