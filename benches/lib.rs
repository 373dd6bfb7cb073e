//! Inputs shared by the benchmarks: pre-built frame streams.

use ws_proto::frame::{encode_frame, FrameHeader, OpCode};

/// A fixed mask key, so every run sees the same bytes.
pub const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// `count` copies of one client (masked) frame with `payload`, back to back.
pub fn masked_stream(opcode: OpCode, payload: &[u8], count: usize) -> Vec<u8> {
    let mut one = Vec::new();
    let header = FrameHeader {
        fin: true,
        rsv: 0,
        opcode,
        mask: Some(KEY),
        payload_len: 0,
    };
    encode_frame(header, payload, &mut one);
    let mut out = Vec::with_capacity(one.len() * count);
    for _ in 0..count {
        out.extend_from_slice(&one);
    }
    out
}

/// ASCII text of `len` bytes.
pub fn ascii_text(len: usize) -> String {
    "The quick brown fox jumps over the lazy dog. "
        .chars()
        .cycle()
        .take(len)
        .collect()
}

/// Multilingual text (2-, 3- and 4-byte UTF-8) of about `len` bytes, ending on a character.
pub fn multilingual_text(len: usize) -> String {
    let mut s = String::with_capacity(len + 4);
    for c in "Καλημέρα κόσμε, こんにちは世界, 🦀 Привет мир! "
        .chars()
        .cycle()
    {
        if s.len() + c.len_utf8() > len {
            break;
        }
        s.push(c);
    }
    s
}
