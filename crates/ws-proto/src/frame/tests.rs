//! Framing tests (RFC 6455 section 5), including the section 5.7 examples byte for byte.

use alloc::vec;
use alloc::vec::Vec;

use proptest::prelude::*;

use super::mask::{apply_mask, apply_mask_bytewise};
use super::*;
use crate::error::ProtocolError;

fn header(fin: bool, opcode: OpCode, mask: Option<[u8; 4]>, len: u64) -> FrameHeader {
    FrameHeader {
        fin,
        rsv: 0,
        opcode,
        mask,
        payload_len: len,
    }
}

fn frame(h: FrameHeader, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    encode_frame(h, payload, &mut out);
    out
}

mod section_5_7_examples {
    use super::*;

    const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

    #[test]
    fn single_frame_unmasked_text() {
        let bytes = [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
        assert_eq!(frame(header(true, OpCode::Text, None, 0), b"Hello"), bytes);
        let (h, n) = decode_header(&bytes).unwrap().unwrap();
        assert_eq!((h, n), (header(true, OpCode::Text, None, 5), 2));
    }

    #[test]
    fn single_frame_masked_text() {
        let bytes = [
            0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
        ];
        assert_eq!(
            frame(header(true, OpCode::Text, Some(KEY), 0), b"Hello"),
            bytes
        );
        let (h, n) = decode_header(&bytes).unwrap().unwrap();
        assert_eq!(h, header(true, OpCode::Text, Some(KEY), 5));
        let mut payload = bytes[n..].to_vec();
        apply_mask(&mut payload, KEY, 0);
        assert_eq!(payload, b"Hello");
    }

    #[test]
    fn fragmented_unmasked_text() {
        assert_eq!(
            frame(header(false, OpCode::Text, None, 0), b"Hel"),
            [0x01, 0x03, 0x48, 0x65, 0x6c]
        );
        assert_eq!(
            frame(header(true, OpCode::Continuation, None, 0), b"lo"),
            [0x80, 0x02, 0x6c, 0x6f]
        );
    }

    #[test]
    fn unmasked_ping_and_masked_pong() {
        assert_eq!(
            frame(header(true, OpCode::Ping, None, 0), b"Hello"),
            [0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]
        );
        assert_eq!(
            frame(header(true, OpCode::Pong, Some(KEY), 0), b"Hello"),
            [0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]
        );
    }

    #[test]
    fn binary_256_bytes_uses_16_bit_length() {
        let bytes = frame(header(true, OpCode::Binary, None, 0), &[0u8; 256]);
        assert_eq!(&bytes[..4], [0x82, 0x7E, 0x01, 0x00]);
        assert_eq!(bytes.len(), 4 + 256);
    }

    #[test]
    fn binary_64k_uses_64_bit_length() {
        let bytes = frame(header(true, OpCode::Binary, None, 0), &vec![0u8; 65536]);
        assert_eq!(&bytes[..10], [0x82, 0x7F, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00]);
        assert_eq!(bytes.len(), 10 + 65536);
    }
}

mod section_5_2_base_framing {
    use super::*;

    #[test]
    fn length_forms_boundaries() {
        for (len, header_len) in [(0, 2), (125, 2), (126, 4), (65535, 4), (65536, 10)] {
            let h = header(true, OpCode::Binary, None, len);
            let mut out = Vec::new();
            encode_header(&h, &mut out);
            assert_eq!(out.len(), header_len, "len {len}");
            assert_eq!(h.encoded_len(), header_len);
            assert_eq!(decode_header(&out), Ok(Some((h, header_len))));
        }
    }

    #[test]
    fn top_bit_of_64_bit_length_must_be_zero() {
        let bytes = [0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(
            decode_header(&bytes),
            Err(ProtocolError::InvalidPayloadLength)
        );
        let ok = [0x82, 0x7F, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
        assert_eq!(
            decode_header(&ok).unwrap().unwrap().0.payload_len,
            i64::MAX as u64
        );
    }

    #[test]
    fn reserved_opcodes_are_rejected() {
        for op in [3u8, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF] {
            assert_eq!(
                decode_header(&[0x80 | op, 0]),
                Err(ProtocolError::ReservedOpcode(op))
            );
        }
    }

    #[test]
    fn rsv_bits_are_reported() {
        let (h, _) = decode_header(&[0xF1, 0x00]).unwrap().unwrap();
        assert_eq!(h.rsv, RSV1 | RSV2 | RSV3);
        let mut out = Vec::new();
        encode_header(&FrameHeader { rsv: RSV1, ..h }, &mut out);
        assert_eq!(out[0], 0xC1);
    }

    #[test]
    fn every_prefix_of_a_header_is_partial() {
        let h = header(false, OpCode::Binary, Some([1, 2, 3, 4]), 70000);
        let mut out = Vec::new();
        encode_header(&h, &mut out);
        assert_eq!(out.len(), MAX_HEADER_LEN);
        for i in 0..out.len() {
            assert_eq!(decode_header(&out[..i]), Ok(None), "prefix {i}");
        }
        assert_eq!(decode_header(&out), Ok(Some((h, MAX_HEADER_LEN))));
    }
}

fn any_opcode() -> impl Strategy<Value = OpCode> {
    prop_oneof![
        Just(OpCode::Continuation),
        Just(OpCode::Text),
        Just(OpCode::Binary),
        Just(OpCode::Close),
        Just(OpCode::Ping),
        Just(OpCode::Pong),
    ]
}

proptest! {
    /// Encoding then decoding a frame is the identity, for any header fields, mask and payload.
    #[test]
    fn encode_then_decode_is_identity(
        fin in any::<bool>(),
        rsv in 0u8..8,
        opcode in any_opcode(),
        mask in proptest::option::of(any::<[u8; 4]>()),
        payload in proptest::collection::vec(any::<u8>(), 0..70_000),
    ) {
        let h = FrameHeader { fin, rsv, opcode, mask, payload_len: payload.len() as u64 };
        let bytes = frame(h, &payload);
        let (decoded, n) = decode_header(&bytes).unwrap().unwrap();
        prop_assert_eq!(decoded, h);
        prop_assert_eq!(n, h.encoded_len());
        let mut body = bytes[n..].to_vec();
        if let Some(key) = mask {
            apply_mask(&mut body, key, 0);
        }
        prop_assert_eq!(body, payload);
    }

    /// The inline encoding is the same bytes as the appending one, for any header.
    #[test]
    fn inline_header_encoding_equals_appending(
        fin in any::<bool>(),
        rsv in 0u8..8,
        opcode in any_opcode(),
        mask in proptest::option::of(any::<[u8; 4]>()),
        payload_len in prop_oneof![0u64..300, 65_000u64..70_000, 0u64..(1 << 63)],
    ) {
        let h = FrameHeader { fin, rsv, opcode, mask, payload_len };
        let mut appended = Vec::new();
        encode_header(&h, &mut appended);
        let inline = h.encode();
        prop_assert_eq!(inline.as_bytes(), &appended[..]);
        prop_assert_eq!(appended.len(), h.encoded_len());
    }

    /// The word-at-a-time mask equals the byte loop at every alignment, offset and length.
    #[test]
    fn fast_mask_equals_byte_loop(
        data in proptest::collection::vec(any::<u8>(), 0..300),
        key in any::<[u8; 4]>(),
        align in 0usize..16,
        offset in 0usize..64,
    ) {
        let align = align.min(data.len());
        let mut fast = data.clone();
        let mut slow = data.clone();
        apply_mask(&mut fast[align..], key, offset);
        apply_mask_bytewise(&mut slow[align..], key, offset);
        prop_assert_eq!(&fast, &slow);
        // Masking is an involution.
        apply_mask(&mut fast[align..], key, offset);
        prop_assert_eq!(fast, data);
    }

    /// Masking in pieces at arbitrary split points equals masking in one go.
    #[test]
    fn mask_in_pieces(data in proptest::collection::vec(any::<u8>(), 0..200), key in any::<[u8; 4]>(), cut in any::<prop::sample::Index>()) {
        let cut = cut.index(data.len() + 1);
        let mut whole = data.clone();
        apply_mask_bytewise(&mut whole, key, 0);
        let mut pieces = data;
        apply_mask(&mut pieces[..cut], key, 0);
        apply_mask(&mut pieces[cut..], key, cut);
        prop_assert_eq!(pieces, whole);
    }

    /// Arbitrary bytes decode to a header, "need more", or an error, and the consumed length
    /// never exceeds the input.
    #[test]
    fn decode_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..20)) {
        match decode_header(&bytes) {
            Ok(Some((h, n))) => {
                prop_assert!(n <= bytes.len());
                prop_assert_eq!(n, h.encoded_len());
            }
            Ok(None) => prop_assert!(bytes.len() < MAX_HEADER_LEN),
            Err(e) => prop_assert!(matches!(e, ProtocolError::ReservedOpcode(_) | ProtocolError::InvalidPayloadLength)),
        }
    }
}
