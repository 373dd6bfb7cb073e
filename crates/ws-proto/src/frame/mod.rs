//! The framing layer (RFC 6455 section 5): frame headers, encoding and masking.
//!
//! [`Connection`](crate::Connection) uses these pieces; they are public for callers that build
//! their own framing on top (proxies, test tools, fuzzers).

mod decode;
mod decoder;
mod encode;
pub mod mask;

pub use decode::decode_header;
pub use decoder::{Decoded, FrameDecoder};
pub use encode::{encode_frame, encode_header, EncodedHeader};

/// Largest possible frame header: 2 bytes, 8 bytes of extended length, 4 bytes of mask key.
pub const MAX_HEADER_LEN: usize = 14;

/// Largest payload of a control frame (section 5.5).
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// A frame opcode (section 5.2). Reserved values are rejected when decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpCode {
    /// 0x0: continues a fragmented message.
    Continuation,
    /// 0x1: first frame of a text message.
    Text,
    /// 0x2: first frame of a binary message.
    Binary,
    /// 0x8: connection close.
    Close,
    /// 0x9: ping.
    Ping,
    /// 0xA: pong.
    Pong,
}

impl OpCode {
    /// Decodes the low 4 bits of the first header byte; `None` for the reserved opcodes.
    pub const fn from_u8(bits: u8) -> Option<OpCode> {
        Some(match bits {
            0x0 => OpCode::Continuation,
            0x1 => OpCode::Text,
            0x2 => OpCode::Binary,
            0x8 => OpCode::Close,
            0x9 => OpCode::Ping,
            0xA => OpCode::Pong,
            _ => return None,
        })
    }

    /// The 4-bit wire value.
    pub const fn as_u8(self) -> u8 {
        match self {
            OpCode::Continuation => 0x0,
            OpCode::Text => 0x1,
            OpCode::Binary => 0x2,
            OpCode::Close => 0x8,
            OpCode::Ping => 0x9,
            OpCode::Pong => 0xA,
        }
    }

    /// Close, Ping and Pong are control frames (section 5.5).
    pub const fn is_control(self) -> bool {
        matches!(self, OpCode::Close | OpCode::Ping | OpCode::Pong)
    }
}

/// The RSV1 bit, claimed by permessage-deflate (RFC 7692).
pub const RSV1: u8 = 0b100;
/// The RSV2 bit.
pub const RSV2: u8 = 0b010;
/// The RSV3 bit.
pub const RSV3: u8 = 0b001;

/// A decoded frame header (section 5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// FIN: this is the final fragment of a message.
    pub fin: bool,
    /// The three reserved bits, as [`RSV1`] | [`RSV2`] | [`RSV3`].
    pub rsv: u8,
    /// The opcode.
    pub opcode: OpCode,
    /// The masking key, if the MASK bit is set.
    pub mask: Option<[u8; 4]>,
    /// The payload length.
    pub payload_len: u64,
}

impl FrameHeader {
    /// The encoded size of this header.
    pub const fn encoded_len(&self) -> usize {
        let len = if self.payload_len < 126 {
            2
        } else if self.payload_len <= 0xFFFF {
            4
        } else {
            10
        };
        if self.mask.is_some() {
            len + 4
        } else {
            len
        }
    }
}

#[cfg(test)]
mod tests;
