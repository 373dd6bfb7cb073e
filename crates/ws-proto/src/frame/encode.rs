//! Frame encoding (section 5.2).

use alloc::vec::Vec;

use super::mask::apply_mask;
use super::{FrameHeader, MAX_HEADER_LEN};

/// Appends the encoded `header` to `out`, using the shortest length form (section 5.2: "the
/// minimal number of bytes MUST be used to encode the length").
pub fn encode_header(header: &FrameHeader, out: &mut Vec<u8>) {
    let b0 = (u8::from(header.fin) << 7) | ((header.rsv & 0b111) << 4) | header.opcode.as_u8();
    let mask_bit = if header.mask.is_some() { 0x80 } else { 0 };
    let len = header.payload_len;
    if len < 126 {
        out.extend_from_slice(&[b0, mask_bit | len as u8]);
    } else if len <= 0xFFFF {
        let l = (len as u16).to_be_bytes();
        out.extend_from_slice(&[b0, mask_bit | 126, l[0], l[1]]);
    } else {
        out.extend_from_slice(&[b0, mask_bit | 127]);
        out.extend_from_slice(&len.to_be_bytes());
    }
    if let Some(key) = header.mask {
        out.extend_from_slice(&key);
    }
}

/// An encoded frame header held inline: what [`FrameHeader::encode`] returns, for callers
/// that write the header and the payload from separate buffers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodedHeader {
    bytes: [u8; MAX_HEADER_LEN],
    len: u8,
}

impl EncodedHeader {
    /// The header bytes (2 to 14 of them).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

impl FrameHeader {
    /// Encodes this header without allocating, in the shortest length form, like
    /// [`encode_header`].
    ///
    /// ```
    /// use ws_proto::frame::{FrameHeader, OpCode};
    /// let header = FrameHeader { fin: true, rsv: 0, opcode: OpCode::Binary, mask: None, payload_len: 256 };
    /// assert_eq!(header.encode().as_bytes(), [0x82, 126, 0x01, 0x00]);
    /// ```
    pub fn encode(&self) -> EncodedHeader {
        let b0 = (u8::from(self.fin) << 7) | ((self.rsv & 0b111) << 4) | self.opcode.as_u8();
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        let mut bytes = [0u8; MAX_HEADER_LEN];
        bytes[0] = b0;
        let len = self.payload_len;
        let mut pos = if len < 126 {
            bytes[1] = mask_bit | len as u8;
            2
        } else if len <= 0xFFFF {
            bytes[1] = mask_bit | 126;
            bytes[2..4].copy_from_slice(&(len as u16).to_be_bytes());
            4
        } else {
            bytes[1] = mask_bit | 127;
            bytes[2..10].copy_from_slice(&len.to_be_bytes());
            10
        };
        if let Some(key) = self.mask {
            bytes[pos..pos + 4].copy_from_slice(&key);
            pos += 4;
        }
        EncodedHeader {
            bytes,
            len: pos as u8,
        }
    }
}

/// Appends a whole frame to `out`: the header, then the payload, masked with `header.mask` if
/// it is set. `header.payload_len` is overwritten with `payload.len()`.
///
/// ```
/// use ws_proto::frame::{encode_frame, FrameHeader, OpCode};
/// // RFC 6455 section 5.7: an unmasked Ping with body "Hello".
/// let mut out = Vec::new();
/// let header = FrameHeader { fin: true, rsv: 0, opcode: OpCode::Ping, mask: None, payload_len: 0 };
/// encode_frame(header, b"Hello", &mut out);
/// assert_eq!(out, [0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
/// ```
pub fn encode_frame(mut header: FrameHeader, payload: &[u8], out: &mut Vec<u8>) {
    header.payload_len = payload.len() as u64;
    out.reserve(header.encoded_len() + payload.len());
    encode_header(&header, out);
    let start = out.len();
    out.extend_from_slice(payload);
    if let Some(key) = header.mask {
        apply_mask(&mut out[start..], key, 0);
    }
}
