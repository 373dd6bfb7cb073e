//! Checks that a DEFLATE stream keeps within an LZ77 window of 2^bits bytes.
//!
//! Shared by the unit tests and the `deflate_backends` example (which includes this file).
//! zlib-rs's own inflater cannot serve as the check: it serves distances beyond its
//! configured window. So the stream is inflated by `miniz_oxide` through a wrapping output
//! buffer of exactly 2^bits bytes, which is then the whole window: a back reference further
//! than that reads the wrong bytes, and the output only equals `expected` if the stream kept
//! within the window.

use alloc::vec;
use alloc::vec::Vec;

use miniz_oxide::inflate::core::{decompress, inflate_flags, DecompressorOxide};
use miniz_oxide::inflate::TINFLStatus;

/// Whether `compressed` (one message, its 4-octet trailer removed as RFC 7692 sends it)
/// inflates to `expected` within a 2^bits window.
pub(crate) fn within_window(compressed: &[u8], bits: u8, expected: &[u8]) -> bool {
    let mut input = Vec::from(compressed);
    input.extend_from_slice(&[0x00, 0x00, 0xff, 0xff]);
    let mut window = vec![0u8; 1 << bits];
    let mask = (1 << bits) - 1;
    let mut r = DecompressorOxide::new();
    let (mut rest, mut pos, mut out) = (&input[..], 0usize, Vec::new());
    loop {
        let flags = inflate_flags::TINFL_FLAG_HAS_MORE_INPUT;
        let (status, consumed, written) = decompress(&mut r, rest, &mut window, pos, flags);
        out.extend_from_slice(&window[pos..pos + written]);
        pos = (pos + written) & mask;
        rest = &rest[consumed..];
        match status {
            TINFLStatus::HasMoreOutput => {}
            TINFLStatus::NeedsMoreInput if rest.is_empty() => return out == expected,
            TINFLStatus::NeedsMoreInput => {}
            _ => return false,
        }
    }
}
