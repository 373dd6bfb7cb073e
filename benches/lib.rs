//! Inputs shared by the benchmarks (pre-built frame streams, text) and the reference masking
//! loops they compare ws-proto with.

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

/// Masking with 32-bit words, the way tungstenite does it (for comparison).
pub fn mask_u32_words(buf: &mut [u8], key: [u8; 4]) {
    let word = u32::from_ne_bytes(key);
    let mut chunks = buf.chunks_exact_mut(4);
    for c in &mut chunks {
        let v = u32::from_ne_bytes([c[0], c[1], c[2], c[3]]) ^ word;
        c.copy_from_slice(&v.to_ne_bytes());
    }
    for (i, b) in chunks.into_remainder().iter_mut().enumerate() {
        *b ^= key[i];
    }
}

/// Masking with 64-bit words: ws-proto's portable path (the compiler vectorizes it for the
/// baseline target), kept here to show what the explicit SIMD path adds.
pub fn mask_u64_words(buf: &mut [u8], key: [u8; 4]) {
    let k = u64::from(u32::from_ne_bytes(key));
    let word = (k << 32) | k;
    let mut chunks = buf.chunks_exact_mut(8);
    for c in &mut chunks {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(c);
        c.copy_from_slice(&(u64::from_ne_bytes(bytes) ^ word).to_ne_bytes());
    }
    for (i, b) in chunks.into_remainder().iter_mut().enumerate() {
        *b ^= key[i & 3];
    }
}

/// A read-only pass over the buffer (XOR of its words): the memory-bandwidth reference for
/// masking beyond the caches.
pub fn read_scan(buf: &[u8]) -> u64 {
    let mut acc = [0u64; 4];
    let mut chunks = buf.chunks_exact(32);
    for c in &mut chunks {
        for (j, a) in acc.iter_mut().enumerate() {
            let mut word = [0u8; 8];
            word.copy_from_slice(&c[j * 8..j * 8 + 8]);
            *a ^= u64::from_ne_bytes(word);
        }
    }
    let tail = chunks.remainder().iter().fold(0, |x, &b| x ^ u64::from(b));
    acc[0] ^ acc[1] ^ acc[2] ^ acc[3] ^ tail
}

/// The frame layer alone, as a proxy or a custom protocol would use it: decodes every frame
/// header of `stream` and unmasks each payload into one reused buffer. Returns the number of
/// frames.
pub fn frame_layer_ws_proto(stream: &[u8]) -> usize {
    use ws_proto::frame::decode_header;
    use ws_proto::frame::mask::apply_mask;
    let mut payload = Vec::with_capacity(1024);
    let mut rest = stream;
    let mut frames = 0;
    while let Ok(Some((header, len))) = decode_header(rest) {
        let end = len + header.payload_len as usize;
        payload.clear();
        payload.extend_from_slice(&rest[len..end]);
        if let Some(key) = header.mask {
            apply_mask(&mut payload, key, 0);
        }
        std::hint::black_box(&payload);
        rest = &rest[end..];
        frames += 1;
    }
    frames
}

/// tungstenite's frame layer on the same input: `FrameSocket::read` until the stream ends.
/// (It leaves payloads masked; unmasking is up to the caller.)
pub fn frame_layer_tungstenite(stream: &[u8]) -> usize {
    use tungstenite::protocol::frame::FrameSocket;
    let mut socket = FrameSocket::new(std::io::Cursor::new(stream));
    let mut frames = 0;
    while let Ok(Some(frame)) = socket.read(None) {
        std::hint::black_box(&frame);
        frames += 1;
    }
    frames
}

/// Writes all of `conn`'s queued output the way the adapters do, with vectored writes of
/// [`Connection::transmit_slices`](ws_proto::Connection::transmit_slices) followed by
/// [`advance_transmit`](ws_proto::Connection::advance_transmit); here the "socket" appends
/// every slice to `out`. Returns the number of bytes written.
pub fn write_vectored_into(conn: &mut ws_proto::Connection, out: &mut Vec<u8>) -> usize {
    let mut total = 0;
    loop {
        let mut slices = [&[][..]; 8];
        let n = conn.transmit_slices(&mut slices);
        if n == 0 {
            return total;
        }
        let mut written = 0;
        for slice in &slices[..n] {
            out.extend_from_slice(slice);
            written += slice.len();
        }
        conn.advance_transmit(written);
        total += written;
    }
}
