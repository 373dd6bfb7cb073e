//! Frame encoding and decoding are inverse: `encode_frame` then `decode_header` and unmasking
//! gives back the header and payload; a header cut short decodes as "need more"; and any
//! header `decode_header` accepts re-encodes to one that decodes the same. The word-at-a-time
//! masking equals the byte loop at every offset. The resumable `FrameDecoder`, fed the encoded
//! frame or arbitrary bytes in arbitrary pieces, finds exactly what `decode_header` finds on
//! the whole input: the same headers, the same payload bytes, the same error at the same frame.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use ws_fuzz::chunks;
use ws_proto::frame::mask::{apply_mask, apply_mask_bytewise};
use ws_proto::frame::{
    decode_header, encode_frame, encode_header, Decoded, FrameDecoder, FrameHeader, OpCode,
};
use ws_proto::ProtocolError;

#[derive(Debug, Arbitrary)]
struct Input {
    fin: bool,
    rsv: u8,
    opcode: u8,
    mask: Option<[u8; 4]>,
    mask_offset: u8,
    payload: Vec<u8>,
    /// How to cut the input of the resumable decoder (`ws_fuzz::chunks`).
    cuts: Vec<u8>,
    /// Arbitrary bytes for the decoder.
    raw: Vec<u8>,
}

/// A frame as seen by a decoder: its header and its payload, still masked.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    header: FrameHeader,
    payload: Vec<u8>,
}

/// The reference: `decode_header` on the whole stream, frame after frame. Returns the frames
/// found, then the error if one stopped it; a frame cut short at the end comes with what
/// there is of its payload.
fn decode_whole(mut stream: &[u8]) -> (Vec<Seen>, Option<ProtocolError>) {
    let mut frames = Vec::new();
    loop {
        match decode_header(stream) {
            Err(e) => return (frames, Some(e)),
            Ok(None) => return (frames, None),
            Ok(Some((header, len))) => {
                let rest = &stream[len..];
                let n = header.payload_len.min(rest.len() as u64) as usize;
                frames.push(Seen {
                    header,
                    payload: rest[..n].to_vec(),
                });
                stream = &rest[n..];
            }
        }
    }
}

/// The same stream through one `FrameDecoder`, in `pieces`.
fn decode_pieces(pieces: &[&[u8]]) -> (Vec<Seen>, Option<ProtocolError>, FrameDecoder) {
    let mut decoder = FrameDecoder::new();
    let mut frames: Vec<Seen> = Vec::new();
    let mut open = false;
    for piece in pieces {
        let mut rest = *piece;
        while !rest.is_empty() {
            let (n, decoded) = match decoder.decode(rest) {
                Ok(r) => r,
                Err(e) => return (frames, Some(e), decoder),
            };
            assert!(n > 0 && n <= rest.len(), "consumed {n} of {}", rest.len());
            rest = &rest[n..];
            match decoded {
                None => assert!(rest.is_empty(), "an incomplete header with input left"),
                Some(Decoded::Header(header)) => {
                    assert!(!open, "a header before the last payload piece");
                    open = header.payload_len > 0;
                    frames.push(Seen {
                        header,
                        payload: Vec::new(),
                    });
                    assert_eq!(decoder.at_frame_start(), !open);
                }
                Some(Decoded::Payload { data, offset, last }) => {
                    let frame = frames.last_mut().expect("a payload after a header");
                    assert!(open && !data.is_empty());
                    assert_eq!(offset, frame.payload.len() as u64);
                    frame.payload.extend_from_slice(data);
                    let received = frame.payload.len() as u64;
                    assert_eq!(last, received == frame.header.payload_len);
                    match decoder.payload_progress() {
                        Some((h, r)) => assert_eq!((h, r), (frame.header, received)),
                        None => assert!(last),
                    }
                    open = !last;
                }
            }
        }
    }
    (frames, None, decoder)
}

/// The decoder over `pieces` of `stream` finds what `decode_header` finds on all of it.
fn check_decoder(stream: &[u8], cuts: &[u8]) {
    let (expected, expected_error) = decode_whole(stream);
    let (frames, error, decoder) = decode_pieces(&chunks(stream, cuts));
    // An error stops both at the same frame: the decoder sees at most the rest of the
    // header that fails, never a frame more.
    assert_eq!(error, expected_error);
    assert_eq!(frames, expected);
    if let Some(f) = expected.last() {
        let received = f.payload.len() as u64;
        if error.is_none() && received < f.header.payload_len {
            // Cut inside a payload: the decoder knows where it is.
            assert_eq!(decoder.payload_progress(), Some((f.header, received)));
        }
    }
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
    check_decoder(&wire, &input.cuts);
    // Two frames back to back, split anywhere: the second starts where the first ends.
    let mut twice = wire.clone();
    twice.extend_from_slice(&wire);
    check_decoder(&twice, &input.cuts);

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
    check_decoder(&input.raw, &input.cuts);
});
