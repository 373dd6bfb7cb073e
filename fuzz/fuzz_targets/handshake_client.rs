//! A server's bytes into a `ClientHandshake`, in arbitrary pieces arriving at arbitrary times.
//!
//! The client is the one of RFC 6455 section 1.3 (key `dGhlIHNhbXBsZSBub25jZQ==`, offering
//! `chat` and `superchat`, and permessage-deflate when it is on), so inputs that start from the
//! seed corpus reach every check of the response.
//!
//! Input: `[limits-byte-0, limits-byte-1, flags, chunk-seed-len, chunk-seed..., bytes...]`.
//! * flags bit 0: end of stream after the input; bit 1: permessage-deflate on; bit 2: a 3 s
//!   handshake timeout (else 10 s); bit 3: a refusal body limit of 16 bytes (else 64 KiB).
//! * The chunk seed splits the bytes (`ws_fuzz::chunks`); its bytes also say how many seconds
//!   (0 to 3) pass before each piece, so the timeout is reached.
//!
//! Checks (`ws_fuzz::handshake::drive_client`): no panic; never more bytes held than the
//! limits allow; an error is returned once; nothing but the request is ever written, and
//! `Shutdown` comes exactly when the handshake failed; the timer is the handshake deadline
//! until the handshake ends; a refusal is not a 101 and its body is within the limit; a
//! complete handshake has an offered subprotocol (or none) and turns into a connection.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ws_fuzz::handshake::{config, drive_client, timed_pieces};
use ws_fuzz::{chunks, limits_from};

fuzz_target!(|data: &[u8]| {
    let [b0, b1, flags, seed_len, rest @ ..] = data else {
        return;
    };
    let seed_len = usize::from(*seed_len % 16).min(rest.len());
    let (seed, input) = rest.split_at(seed_len);
    let mut limits = limits_from(*b0, *b1);
    if flags & 8 != 0 {
        limits = limits.with_max_body_bytes(16);
    }
    let config = config(limits, flags & 2 != 0, flags & 4 != 0);
    let pieces = chunks(input, seed);
    drive_client(&config, &timed_pieces(&pieces, seed), flags & 1 != 0);
});
