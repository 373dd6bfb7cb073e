//! Raw bytes from the peer into a `Connection`, in either role, split into arbitrary pieces.
//!
//! Input: `[flags, limit, chunk-seed-len, chunk-seed..., wire bytes...]`.
//! * flags bit 0: client role (else server); bit 1: stream mode; bit 2: small limits from
//!   `limit`; bit 3: auto-pong off.
//!
//! The split run writes its output the way the adapters do, with vectored writes of
//! `transmit_slices` that the transport takes in part (sizes from the chunk seed), then
//! `advance_transmit`; the run in one piece takes it with `poll_transmit`.
//!
//! Checks: no panic; `receive_data` returns `Ok` or a `ProtocolError` once, and the Close
//! frame written carries that error's close code; never more events than input bytes;
//! messages and chunks within `max_message_size`; text chunks are UTF-8; every Ping is
//! answered with its payload; after end of stream, `Event::Closed` comes once, last, with the
//! error, the peer's Close or a lost transport as its cause; and the same bytes fed in one
//! piece give the same events, error, end and output (so the bytes written through partial
//! vectored writes are those `poll_transmit` hands out).
#![no_main]

use libfuzzer_sys::fuzz_target;
use ws_fuzz::{chunks, normalized, receive, Output, Writer};
use ws_proto::{Config, MessageMode, Role};

fuzz_target!(|data: &[u8]| {
    let [flags, limit, seed_len, rest @ ..] = data else {
        return;
    };
    let seed_len = usize::from(*seed_len % 16).min(rest.len());
    let (seed, wire) = rest.split_at(seed_len);
    let role = if flags & 1 != 0 {
        Role::Client
    } else {
        Role::Server
    };
    let mut config = Config::default();
    if flags & 2 != 0 {
        config.message_mode = MessageMode::Stream;
    }
    if flags & 4 != 0 {
        config.max_message_size = usize::from(*limit) * 4;
        config.max_frame_size = if limit & 1 != 0 {
            usize::from(*limit)
        } else {
            usize::MAX
        };
    }
    config.auto_pong = flags & 8 == 0;

    let split = receive(
        role,
        &config,
        &chunks(wire, seed),
        Output::Vectored(Writer::new(seed)),
    );
    let whole = receive(role, &config, &[wire], Output::PollTransmit);
    // The chunking of the input never changes the outcome (the decoder consumes nothing on
    // partial input and keeps its place).
    assert_eq!(split.error, whole.error);
    assert_eq!(split.out, whole.out);
    assert_eq!(split.shutdown, whole.shutdown);
    assert_eq!(split.state, whole.state);
    assert_eq!(split.closed, whole.closed);
    match config.message_mode {
        MessageMode::Reassemble => assert_eq!(split.events, whole.events),
        _ => assert_eq!(normalized(&split.events), normalized(&whole.events)),
    }
});
