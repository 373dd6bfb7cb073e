//! Payload masking (section 5.3).
//!
//! `masked[i] = payload[i] ^ key[i % 4]`. [`apply_mask`] works a 64-bit word at a time, which
//! the compiler turns into SIMD (SSE2 on x86_64) on most targets; on x86_64 with `std`, payloads
//! of [`SIMD_MIN_LEN`] bytes or more take an explicit AVX2 path when the CPU has AVX2 (the
//! `simd` submodule, the only place in the crate allowed `unsafe`). [`apply_mask_bytewise`] is
//! the reference byte loop both are tested against. The measurements behind the length
//! thresholds are in `docs/performance.md`.

#[cfg(all(target_arch = "x86_64", any(feature = "std", target_feature = "avx2")))]
mod simd;

/// Payloads at least this long are masked with AVX2 where the CPU has it (x86_64 with the `std`
/// feature for runtime detection, or any x86_64 build with `target_feature = "avx2"`); shorter
/// ones, and every payload elsewhere, take the word loop, which is faster below this size.
pub const SIMD_MIN_LEN: usize = 512;

/// XORs `buf` in place with `key`, where `buf[0]` is byte number `offset` of the payload.
///
/// The offset lets a payload be (un)masked in pieces as it arrives.
///
/// ```
/// use ws_proto::frame::mask::apply_mask;
/// let key = [0x37, 0xfa, 0x21, 0x3d];
/// let mut data = *b"Hello";
/// apply_mask(&mut data, key, 0);
/// assert_eq!(data, [0x7f, 0x9f, 0x4d, 0x51, 0x58]); // RFC 6455 section 5.7
/// // Unmasking in two pieces gives the same result as one.
/// apply_mask(&mut data[..2], key, 0);
/// apply_mask(&mut data[2..], key, 2);
/// assert_eq!(&data, b"Hello");
/// ```
#[inline]
pub fn apply_mask(buf: &mut [u8], key: [u8; 4], offset: usize) {
    let key = key_word(key, offset);
    #[cfg(all(target_arch = "x86_64", any(feature = "std", target_feature = "avx2")))]
    if buf.len() >= SIMD_MIN_LEN {
        return simd::apply_mask(buf, key);
    }
    apply_mask_words(buf, key);
}

/// The portable path: a 64-bit word at a time, then the last 0 to 7 bytes. `key` is a
/// [`key_word`] for `buf[0]`.
#[inline]
fn apply_mask_words(buf: &mut [u8], key: u32) {
    let word = (u64::from(key) << 32) | u64::from(key);
    let mut chunks = buf.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(chunk);
        chunk.copy_from_slice(&(u64::from_ne_bytes(bytes) ^ word).to_ne_bytes());
    }
    // Every chunk is 8 bytes, a multiple of 4, so the remainder starts at key index 0.
    let key = key.to_ne_bytes();
    for (i, b) in chunks.into_remainder().iter_mut().enumerate() {
        *b ^= key[i & 3];
    }
}

/// The byte-at-a-time reference implementation of [`apply_mask`].
pub fn apply_mask_bytewise(buf: &mut [u8], key: [u8; 4], offset: usize) {
    for (i, b) in buf.iter_mut().enumerate() {
        *b ^= key[(offset + i) & 3];
    }
}

/// The key as seen from byte `offset` of the payload, as a word whose bytes in memory are
/// `key[offset % 4], key[(offset + 1) % 4], ...`: XORing it into a word of the payload that starts
/// at `offset` masks those four bytes.
///
/// An integer rotation (one instruction) rather than `<[u8]>::rotate_left`, which is an
/// out-of-line call: for 16-byte payloads that call took half the time of masking.
#[inline]
fn key_word(key: [u8; 4], offset: usize) -> u32 {
    let rotated = u32::from_le_bytes(key).rotate_right(8 * (offset & 3) as u32);
    u32::from_ne_bytes(rotated.to_le_bytes())
}

/// A source of masking keys for a client connection.
///
/// RFC 6455 section 5.3: the key "MUST be derived from a strong source of entropy" and be
/// unpredictable per frame. The core has no randomness of its own; adapters supply it, for
/// example with [`BufferedMaskKeys`] over the operating system's generator. Tests can use a
/// closure that returns fixed keys.
pub trait MaskKeySource: Send {
    /// The key for the next frame.
    fn next_key(&mut self) -> [u8; 4];
}

impl<F: FnMut() -> [u8; 4] + Send> MaskKeySource for F {
    fn next_key(&mut self) -> [u8; 4] {
        self()
    }
}

/// A [`MaskKeySource`] that refills a 256-byte buffer from a random-fill function, so a client
/// makes one call into the operating system's generator every 64 frames.
///
/// ```
/// use ws_proto::frame::mask::{BufferedMaskKeys, MaskKeySource};
/// let mut counter = 0u8;
/// let mut keys = BufferedMaskKeys::new(move |buf: &mut [u8]| {
///     for b in buf { counter = counter.wrapping_add(1); *b = counter; }
/// });
/// assert_eq!(keys.next_key(), [1, 2, 3, 4]);
/// assert_eq!(keys.next_key(), [5, 6, 7, 8]);
/// ```
pub struct BufferedMaskKeys<F> {
    fill: F,
    buf: [u8; 256],
    pos: usize,
}

impl<F: FnMut(&mut [u8]) + Send> BufferedMaskKeys<F> {
    /// A source that calls `fill` to refill its buffer with random bytes.
    pub fn new(fill: F) -> Self {
        BufferedMaskKeys {
            fill,
            buf: [0; 256],
            pos: 256,
        }
    }
}

impl<F: FnMut(&mut [u8]) + Send> MaskKeySource for BufferedMaskKeys<F> {
    fn next_key(&mut self) -> [u8; 4] {
        if self.pos == self.buf.len() {
            (self.fill)(&mut self.buf);
            self.pos = 0;
        }
        let k = &self.buf[self.pos..self.pos + 4];
        self.pos += 4;
        [k[0], k[1], k[2], k[3]]
    }
}

impl<F> core::fmt::Debug for BufferedMaskKeys<F> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("BufferedMaskKeys")
    }
}
