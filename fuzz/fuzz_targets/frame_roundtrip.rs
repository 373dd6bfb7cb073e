//! Frame encoding and decoding are inverse: `encode_frame` then `decode_header` and unmasking
//! gives back the header and payload; a header cut short decodes as "need more"; and any
//! header `decode_header` accepts re-encodes to one that decodes the same. The word-at-a-time
//! masking equals the byte loop at every offset.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use ws_proto::frame::mask::{apply_mask, apply_mask_bytewise};
use ws_proto::frame::{decode_header, encode_frame, encode_header, FrameHeader, OpCode};

#[derive(Debug, Arbitrary)]
struct Input {
    fin: bool,
    rsv: u8,
    opcode: u8,
    mask: Option<[u8; 4]>,
    mask_offset: u8,
    payload: Vec<u8>,
    /// Arbitrary bytes for the decoder.
    raw: Vec<u8>,
}

const OPCODES: [OpCode; 6] = [
    OpCode::Continuation,
    OpCode::Text,
    OpCode::Binary,
    OpCode::Close,
    OpCode::Ping,
    OpCode::Pong,
];

fuzz_target!(|input: Input| {
    let header = FrameHeader {
        fin: input.fin,
        rsv: input.rsv & 0b111,
        opcode: OPCODES[usize::from(input.opcode) % OPCODES.len()],
        mask: input.mask,
        payload_len: 0,
    };
    let mut wire = Vec::new();
    encode_frame(header, &input.payload, &mut wire);
    let (decoded, len) = decode_header(&wire)
        .expect("our encoding is valid")
        .expect("our encoding is complete");
    let expected = FrameHeader {
        payload_len: input.payload.len() as u64,
        ..header
    };
    assert_eq!(decoded, expected);
    assert_eq!(len, expected.encoded_len());
    assert_eq!(wire.len(), len + input.payload.len());
    for cut in 0..len {
        assert_eq!(decode_header(&wire[..cut]), Ok(None), "cut at {cut}");
    }
    let mut payload = wire[len..].to_vec();
    if let Some(key) = decoded.mask {
        // Unmask in two pieces, as the connection does when a payload arrives split.
        let split = usize::from(input.mask_offset).min(payload.len());
        let (a, b) = payload.split_at_mut(split);
        apply_mask(a, key, 0);
        apply_mask(b, key, split);
    }
    assert_eq!(payload, input.payload);

    // Masking: the fast path equals the reference loop at any offset.
    let key = input.mask.unwrap_or([1, 2, 3, 4]);
    let offset = usize::from(input.mask_offset);
    let mut fast = input.raw.clone();
    let mut slow = input.raw.clone();
    apply_mask(&mut fast, key, offset);
    apply_mask_bytewise(&mut slow, key, offset);
    assert_eq!(fast, slow);

    // Arbitrary bytes: whatever decodes re-encodes (minimally) to something that decodes the
    // same, and never claims more bytes than it was given.
    if let Ok(Some((h, n))) = decode_header(&input.raw) {
        assert!(n <= input.raw.len() && n <= 14);
        assert!(h.payload_len >> 63 == 0);
        let mut again = Vec::new();
        encode_header(&h, &mut again);
        assert_eq!(decode_header(&again), Ok(Some((h, h.encoded_len()))));
        assert!(h.encoded_len() <= n);
    }
});
