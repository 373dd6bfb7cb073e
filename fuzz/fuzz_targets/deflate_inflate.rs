//! Compressed (RSV1) frames from the peer into a `Connection` with permessage-deflate
//! negotiated (RFC 7692), in either role, split into arbitrary pieces: the bounded inflater
//! reached through the connection, as a peer reaches it.
//!
//! Input: `[flags, limit, params, chunk-seed-len, chunk-seed..., wire bytes...]`.
//! * flags bit 0: client role (else server); bit 1: stream mode; bit 2: small limits from
//!   `limit`; bit 3: auto-pong off.
//! * params: the negotiated parameters (`ws_fuzz::deflate_params`).
//!
//! Checks, besides those of `connection_bytes`: an inflated message never exceeds
//! `max_message_size` (a deflate bomb fails with 1009 before it is inflated past the limit),
//! and inflating the same bytes in any chunking gives the same messages, error, end and output
//! (the split run writes with partial vectored writes, the other with `poll_transmit`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use ws_fuzz::{chunks, counter_keys, deflate_params, normalized, receive_on, Output, Writer};
use ws_proto::{Config, Connection, Instant, MessageMode, Role};

fuzz_target!(|data: &[u8]| {
    let [flags, limit, params, seed_len, rest @ ..] = data else {
        return;
    };
    let seed_len = usize::from(*seed_len % 16).min(rest.len());
    let (seed, wire) = rest.split_at(seed_len);
    let mut config = Config::default();
    if flags & 2 != 0 {
        config.message_mode = MessageMode::Stream;
    }
    if flags & 4 != 0 {
        config.max_message_size = usize::from(*limit) * 16;
        config.max_frame_size = if limit & 1 != 0 {
            usize::from(*limit)
        } else {
            usize::MAX
        };
    }
    config.auto_pong = flags & 8 == 0;
    let params = deflate_params(*params);
    let build = || {
        let conn = if flags & 1 != 0 {
            Connection::client(config.clone(), counter_keys(7), Instant::ZERO)
        } else {
            Connection::server(config.clone(), Instant::ZERO)
        };
        conn.with_deflate(params)
    };
    let split = receive_on(
        build(),
        &config,
        &chunks(wire, seed),
        Output::Vectored(Writer::new(seed)),
    );
    let whole = receive_on(build(), &config, &[wire], Output::PollTransmit);
    assert_eq!(build().role() == Role::Client, flags & 1 != 0);
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
