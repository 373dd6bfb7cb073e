//! Frame header decoding (section 5.2).

use super::{FrameHeader, OpCode};
use crate::error::ProtocolError;

/// Decodes a frame header from the start of `buf`.
///
/// Returns `Ok(None)` when `buf` does not yet hold the whole header: nothing is consumed and the
/// caller retries with more bytes. On success returns the header and its encoded length; the
/// payload follows. Checks only what the header alone decides: reserved opcodes and the top bit
/// of a 64-bit length. Role, extension and size rules are the caller's
/// ([`Connection`](crate::Connection) applies them).
///
/// ```
/// use ws_proto::frame::{decode_header, OpCode};
/// // RFC 6455 section 5.7: a single-frame masked text message "Hello".
/// let bytes = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
/// let (header, len) = decode_header(&bytes).unwrap().unwrap();
/// assert_eq!((header.opcode, header.fin, header.payload_len, len), (OpCode::Text, true, 5, 6));
/// assert_eq!(header.mask, Some([0x37, 0xfa, 0x21, 0x3d]));
/// assert_eq!(decode_header(&bytes[..5]), Ok(None)); // partial: retry with more input
/// ```
pub fn decode_header(buf: &[u8]) -> Result<Option<(FrameHeader, usize)>, ProtocolError> {
    let [b0, b1, ..] = *buf else {
        return Ok(None);
    };
    let opcode = OpCode::from_u8(b0 & 0x0F).ok_or(ProtocolError::ReservedOpcode(b0 & 0x0F))?;
    let masked = b1 & 0x80 != 0;
    let (payload_len, mut pos) = match b1 & 0x7F {
        126 => match buf.get(2..4) {
            Some(b) => (u64::from(u16::from_be_bytes([b[0], b[1]])), 4),
            None => return Ok(None),
        },
        127 => match buf.get(2..10) {
            Some(b) => {
                let mut be = [0u8; 8];
                be.copy_from_slice(b);
                let len = u64::from_be_bytes(be);
                // "the most significant bit MUST be 0" (section 5.2)
                if len >> 63 != 0 {
                    return Err(ProtocolError::InvalidPayloadLength);
                }
                (len, 10)
            }
            None => return Ok(None),
        },
        len => (u64::from(len), 2),
    };
    let mask = if masked {
        let Some(k) = buf.get(pos..pos + 4) else {
            return Ok(None);
        };
        pos += 4;
        Some([k[0], k[1], k[2], k[3]])
    } else {
        None
    };
    let header = FrameHeader {
        fin: b0 & 0x80 != 0,
        rsv: (b0 >> 4) & 0b111,
        opcode,
        mask,
        payload_len,
    };
    Ok(Some((header, pos)))
}
