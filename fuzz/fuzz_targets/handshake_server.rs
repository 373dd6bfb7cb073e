//! A client's bytes into a `ServerHandshake`, in arbitrary pieces arriving at arbitrary times.
//!
//! Input: `[limits-byte-0, limits-byte-1, flags, chunk-seed-len, chunk-seed..., bytes...]`.
//! * flags bit 0: refuse WebSocket requests with a 401 (else accept them); bit 1: choose the
//!   first offered subprotocol; bit 2: end of stream after the input; bit 3: permessage-deflate
//!   on; bit 4: a 3 s handshake timeout (else 10 s).
//! * The chunk seed splits the bytes (`ws_fuzz::chunks`); its bytes also say how many seconds
//!   (0 to 3) pass before each piece, so the timeout is reached.
//!
//! Checks (`ws_fuzz::handshake::drive_server`): no panic; never more bytes held than the
//! limits allow; an error is returned once; after a failure, only the error response (none
//! after a timeout or end of stream) and then `Shutdown`; the timer is the handshake
//! deadline until the handshake ends; one event at most; an accepted request writes only the
//! 101 and turns into a connection with the chosen subprotocol; a refusal writes exactly the
//! response.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ws_fuzz::handshake::{config, drive_server, timed_pieces, Answer};
use ws_fuzz::{chunks, limits_from};

fuzz_target!(|data: &[u8]| {
    let [b0, b1, flags, seed_len, rest @ ..] = data else {
        return;
    };
    let seed_len = usize::from(*seed_len % 16).min(rest.len());
    let (seed, input) = rest.split_at(seed_len);
    let config = config(limits_from(*b0, *b1), flags & 8 != 0, flags & 16 != 0);
    let answer = if flags & 1 != 0 {
        Answer::Refuse
    } else {
        Answer::Accept {
            protocol: flags & 2 != 0,
        }
    };
    let pieces = chunks(input, seed);
    drive_server(
        &config,
        &timed_pieces(&pieces, seed),
        answer,
        flags & 4 != 0,
    );
});
