//! Explicit AVX2 masking for x86_64: the one module of the crate allowed `unsafe`.
//!
//! Why it exists: the portable word loop is vectorized by the compiler for the x86_64 baseline
//! (SSE2, 16 bytes per instruction). AVX2 XORs 32 bytes per instruction; four of them per
//! iteration roughly double the speed for payloads that fit in L1/L2 (1.3x at 1 KiB, 1.8x at
//! 4 KiB), and aligning the stores to 32 bytes before a long run gives 1.3x at 64 KiB and
//! 1 MiB when the payload does not start on a word boundary (it usually does not: it follows a
//! 2 to 14 byte header in the read buffer). Below [`SIMD_MIN_LEN`](super::SIMD_MIN_LEN) the
//! word loop is as fast or faster, so the caller dispatches by length. The measurements are in
//! `docs/performance.md`.
//!
//! Runtime detection (`is_x86_feature_detected!`) needs `std`; a `no_std` build gets this
//! module only when AVX2 is enabled at compile time (`-C target-feature=+avx2`), and otherwise
//! keeps the portable path.
#![allow(unsafe_code)]

use core::arch::x86_64::{
    __m256i, _mm256_loadu_si256, _mm256_set1_epi32, _mm256_storeu_si256, _mm256_xor_si256,
};

use super::{apply_mask_words, key_word};

/// From this length on, the stores are aligned to 32 bytes first: below it the scalar head
/// costs more than the misaligned stores it saves (measured at 256 B and 1 KiB).
const ALIGN_FROM: usize = 2048;

/// Masks `buf` with `key` (a [`key_word`](super::key_word) for `buf[0]`): with AVX2 when the
/// CPU has it, else with the word loop.
///
/// Not inlined, so that the caller's short-payload path stays a leaf function that saves no
/// registers (worth a nanosecond, an eighth of the time, on a 16-byte payload).
#[inline(never)]
pub(super) fn apply_mask(buf: &mut [u8], key: u32) {
    if has_avx2() {
        // SAFETY: `apply_mask_avx2` requires only that the CPU supports AVX2, checked just
        // above.
        unsafe { apply_mask_avx2(buf, key) }
    } else {
        apply_mask_words(buf, key)
    }
}

/// Whether the CPU running this code supports AVX2 (the answer is cached by `std` after the
/// first call: one load and a bit test).
#[inline]
fn has_avx2() -> bool {
    #[cfg(target_feature = "avx2")]
    {
        true
    }
    #[cfg(not(target_feature = "avx2"))]
    {
        std::is_x86_feature_detected!("avx2")
    }
}

/// The AVX2 loop: an optional scalar head up to a 32-byte boundary, 128-byte blocks of four
/// 32-byte vectors, single vectors, then the word loop for the last 0 to 31 bytes.
///
/// # Safety
///
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
unsafe fn apply_mask_avx2(buf: &mut [u8], mut key: u32) {
    let mut body = buf;
    if body.len() >= ALIGN_FROM {
        let head_len = body.as_ptr().align_offset(32).min(body.len());
        let (head, rest) = body.split_at_mut(head_len);
        apply_mask_words(head, key);
        // `rest` starts `head_len` bytes further into the key.
        key = key_word(key.to_ne_bytes(), head_len);
        body = rest;
    }
    // Lane bytes in memory are the key word's bytes in memory (x86_64 is little-endian).
    // SAFETY: the broadcast reads no memory; its one requirement, AVX2, is enabled on this
    // function. Rust 1.87 made such register-only intrinsics safe to call here, earlier
    // compilers down to the MSRV (1.85) still need the block.
    #[allow(unused_unsafe, reason = "an unsafe call before Rust 1.87")]
    let mask = unsafe { _mm256_set1_epi32(key as i32) };
    let mut blocks = body.chunks_exact_mut(128);
    for block in &mut blocks {
        let p = block.as_mut_ptr().cast::<__m256i>();
        // SAFETY: `block` is 128 bytes, so `p.add(0..4)` are four 32-byte vectors inside it; the
        // `loadu`/`storeu` intrinsics accept any alignment; `block` is a unique borrow, so
        // nothing else reads or writes these bytes meanwhile; AVX2 is enabled on this function.
        unsafe {
            let a = _mm256_loadu_si256(p);
            let b = _mm256_loadu_si256(p.add(1));
            let c = _mm256_loadu_si256(p.add(2));
            let d = _mm256_loadu_si256(p.add(3));
            _mm256_storeu_si256(p, _mm256_xor_si256(a, mask));
            _mm256_storeu_si256(p.add(1), _mm256_xor_si256(b, mask));
            _mm256_storeu_si256(p.add(2), _mm256_xor_si256(c, mask));
            _mm256_storeu_si256(p.add(3), _mm256_xor_si256(d, mask));
        }
    }
    // Blocks are a multiple of 4 bytes long, so the key is unchanged for what follows.
    let mut vectors = blocks.into_remainder().chunks_exact_mut(32);
    for vector in &mut vectors {
        let p = vector.as_mut_ptr().cast::<__m256i>();
        // SAFETY: `vector` is exactly 32 bytes, one unaligned vector, uniquely borrowed; AVX2
        // is enabled on this function.
        unsafe { _mm256_storeu_si256(p, _mm256_xor_si256(_mm256_loadu_si256(p), mask)) };
    }
    apply_mask_words(vectors.into_remainder(), key);
}

#[cfg(test)]
mod tests {
    use super::super::{apply_mask as dispatch, apply_mask_bytewise};
    use super::*;
    use alloc::vec::Vec;
    use proptest::prelude::*;

    /// Masks `data[align..]` with the AVX2 loop (when the CPU has it), this module's entry
    /// point, the dispatcher and the byte loop, and checks they all agree.
    fn check(data: &[u8], key: [u8; 4], align: usize, offset: usize) {
        let align = align.min(data.len());
        let mut want = data.to_vec();
        apply_mask_bytewise(&mut want[align..], key, offset);
        let mut got = data.to_vec();
        dispatch(&mut got[align..], key, offset);
        assert_eq!(got, want, "dispatch, len {}", data.len() - align);
        let mut got = data.to_vec();
        apply_mask(&mut got[align..], key_word(key, offset));
        assert_eq!(got, want, "simd module, len {}", data.len() - align);
        if has_avx2() {
            let mut got = data.to_vec();
            // SAFETY: the CPU supports AVX2, checked just above.
            unsafe { apply_mask_avx2(&mut got[align..], key_word(key, offset)) };
            assert_eq!(got, want, "avx2, len {}", data.len() - align);
        }
    }

    /// Every length up to past the dispatch threshold at several alignments, and every length
    /// around the alignment threshold at every alignment modulo 32, with every key offset:
    /// through the AVX2 path directly (also below the dispatch threshold, to exercise its block,
    /// vector and tail code) and through the dispatcher.
    #[test]
    fn every_length_alignment_and_offset() {
        let key = [0x37, 0xfa, 0x21, 0x3d];
        // A buffer aligned to 32 bytes, so `align` is the misalignment.
        let backing: Vec<u8> = (0..ALIGN_FROM + 400).map(|i| (i * 31 + 7) as u8).collect();
        let base = &backing[backing.as_ptr().align_offset(32)..];
        for len in 0..(super::super::SIMD_MIN_LEN + 200) {
            for align in 0..4 {
                for offset in 0..4 {
                    check(&base[..align + len], key, align, offset);
                }
            }
        }
        for len in ALIGN_FROM - 8..ALIGN_FROM + 140 {
            for align in 0..32 {
                for offset in 0..4 {
                    check(&base[..align + len], key, align, offset);
                }
            }
        }
    }

    /// Advancing a key word by `n` bytes (as the aligned head does) is the key word at the
    /// later offset.
    #[test]
    fn key_word_advances() {
        let key = [1, 2, 3, 4];
        for offset in 0..8 {
            for n in 0..8 {
                assert_eq!(
                    key_word(key_word(key, offset).to_ne_bytes(), n),
                    key_word(key, offset + n)
                );
            }
        }
    }

    proptest! {
        /// Random payloads up to 8 KiB at any alignment and key offset.
        #[test]
        fn simd_mask_equals_byte_loop(
            data in proptest::collection::vec(any::<u8>(), 0..8192),
            key in any::<[u8; 4]>(),
            align in 0usize..64,
            offset in 0usize..64,
        ) {
            check(&data, key, align, offset);
        }
    }
}
