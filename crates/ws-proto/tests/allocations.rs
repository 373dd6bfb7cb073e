//! Allocation counts on the message path: with buffers given back through
//! `Connection::recycle` (or a shared `BufferPool`), steady traffic allocates nothing per
//! message, in either direction.
//!
//! `allocation_counter` counts the allocations of the current thread only, so tests running in
//! parallel do not disturb each other.

mod common;

use allocation_counter::measure;
use common::masked;
use ws_proto::frame::OpCode;
use ws_proto::{BufferPool, Config, Connection, Event, Message, Transmit};

/// Allocations (including reallocations) made by `f` on this thread.
fn allocations(f: impl FnOnce()) -> u64 {
    measure(f).count_total
}

/// `count` masked frames of `payload`, one after another.
fn stream(opcode: OpCode, payload: &[u8], count: usize) -> Vec<u8> {
    let frame = masked(true, opcode, payload);
    frame.repeat(count)
}

/// Feeds `input` in reads of `read` bytes; echoes every message back (recycling it) and
/// writes the output into `wire` (cleared after each read, as a socket write would).
fn echo(server: &mut Connection, input: &[u8], read: usize, wire: &mut Vec<u8>) -> usize {
    let mut messages = 0;
    for chunk in input.chunks(read) {
        server.receive_data(chunk, ws_proto::Instant::ZERO).unwrap();
        while let Some(event) = server.poll_event() {
            if let Event::Message(message) = event {
                match &message {
                    Message::Text(text) => server.send_text(text).unwrap(),
                    Message::Binary(data) => server.send_binary(data).unwrap(),
                }
                server.recycle(message.into_bytes());
                messages += 1;
            }
        }
        while let Some(Transmit::Data(_)) = server.poll_transmit(wire) {}
        // What the socket took is done with: the buffer goes back to the pool.
        server.recycle(std::mem::take(wire));
    }
    messages
}

#[test]
fn echo_of_small_messages_allocates_nothing_once_warm() {
    for (opcode, payload) in [
        (OpCode::Text, &b"0123456789abcdef"[..]),
        (OpCode::Binary, &[7u8; 100][..]),
    ] {
        let mut server = Connection::server(Config::default(), ws_proto::Instant::ZERO);
        let input = stream(opcode, payload, 64);
        let mut wire = Vec::new();
        // Warm-up: the pool fills with the buffers of the first batches.
        for _ in 0..4 {
            echo(&mut server, &input, 512, &mut wire);
        }
        let mut messages = 0;
        let allocated = allocations(|| {
            for _ in 0..100 {
                messages += echo(&mut server, &input, 512, &mut wire);
            }
        });
        assert_eq!(messages, 6400);
        assert_eq!(
            allocated, 0,
            "{allocated} allocations for {messages} echoed messages"
        );
    }
}

#[test]
fn without_recycling_each_message_allocates() {
    // The counter works: the owned API without recycling allocates once per message.
    let mut server = Connection::server(Config::default(), ws_proto::Instant::ZERO);
    let input = stream(OpCode::Binary, b"abcdefgh", 100);
    let mut messages = 0;
    let allocated = allocations(|| {
        server
            .receive_data(&input, ws_proto::Instant::ZERO)
            .unwrap();
        while let Some(event) = server.poll_event() {
            drop(event);
            messages += 1;
        }
    });
    assert_eq!(messages, 100);
    assert!(allocated >= 100, "{allocated} allocations");
}

#[test]
fn large_fragmented_message_is_reserved_once_per_frame() {
    // A 1 MiB binary message in one frame, arriving in 64 KiB reads, is received into a
    // buffer reserved from its header: no regrowth while the payload arrives.
    let payload = vec![0x42u8; 1 << 20];
    let input = masked(true, OpCode::Binary, &payload);
    let mut server = Connection::server(Config::default(), ws_proto::Instant::ZERO);
    // A first small message allocates the event queue.
    server
        .receive_data(&masked(true, OpCode::Binary, b"x"), ws_proto::Instant::ZERO)
        .unwrap();
    while server.poll_event().is_some() {}
    let allocated = allocations(|| {
        for chunk in input.chunks(64 << 10) {
            server.receive_data(chunk, ws_proto::Instant::ZERO).unwrap();
        }
    });
    let Some(Event::Message(Message::Binary(data))) = server.poll_event() else {
        panic!("expected the message");
    };
    assert_eq!(data, payload);
    assert_eq!(allocated, 1, "one allocation for the whole payload");
}

#[test]
fn a_shared_pool_swapped_in_serves_many_connections() {
    // The adapter pattern: one pool for a thread, swapped into the connection being
    // worked on; the idle connections hold no buffers.
    let mut shared = BufferPool::with_limit(1 << 20);
    let mut conns: Vec<Connection> = (0..8)
        .map(|_| Connection::server(Config::default(), ws_proto::Instant::ZERO))
        .collect();
    let input = stream(OpCode::Binary, &[1u8; 32], 8);
    let mut wire = Vec::new();
    let mut round = |conns: &mut Vec<Connection>, shared: &mut BufferPool| {
        for conn in conns.iter_mut() {
            std::mem::swap(conn.pool_mut(), shared);
            echo(conn, &input, input.len(), &mut wire);
            std::mem::swap(conn.pool_mut(), shared);
        }
    };
    for _ in 0..2 {
        round(&mut conns, &mut shared);
    }
    let allocated = allocations(|| {
        for _ in 0..50 {
            round(&mut conns, &mut shared);
        }
    });
    assert_eq!(allocated, 0);
    assert!(conns.iter_mut().all(|c| c.pool_mut().is_empty()));
    assert!(!shared.is_empty());
}

#[test]
fn the_pool_bounds_what_a_connection_keeps() {
    let mut server = Connection::server(Config::default(), ws_proto::Instant::ZERO);
    for _ in 0..100 {
        server.recycle(Vec::with_capacity(4096));
    }
    let pool = server.pool_mut();
    assert!(pool.bytes() <= BufferPool::DEFAULT_LIMIT);
    // Each kept buffer counts its capacity and its 24-byte handle.
    assert_eq!(pool.len(), BufferPool::DEFAULT_LIMIT / (4096 + 24));
}

#[cfg(feature = "deflate")]
#[test]
fn compressed_echo_allocates_nothing_once_warm() {
    // permessage-deflate with context takeover (the default): the zlib state lives as long as
    // the connection, and the inflated messages and the compressed replies use pooled
    // buffers. The client's frames are made fresh each round (with context takeover they
    // depend on everything before them), outside the count.
    use ws_proto::extensions::deflate::DeflateParams;
    let mut client = Connection::client(
        Config::default(),
        common::counting_keys(),
        ws_proto::Instant::ZERO,
    )
    .with_deflate(DeflateParams::default());
    let mut server = Connection::server(Config::default(), ws_proto::Instant::ZERO)
        .with_deflate(DeflateParams::default());
    let texts: Vec<String> = (0..10).map(|i| format!("message number {i:>4}")).collect();
    let mut input = Vec::new();
    let mut wire = Vec::new();
    let mut round = |server: &mut Connection, count: &mut u64| {
        for text in &texts {
            client.send_text(text).unwrap();
        }
        input.clear();
        while let Some(Transmit::Data(_)) = client.poll_transmit(&mut input) {}
        *count += allocations(|| {
            assert_eq!(echo(server, &input, input.len(), &mut wire), texts.len());
        });
    };
    let mut warm_up = 0;
    for _ in 0..3 {
        round(&mut server, &mut warm_up);
    }
    assert!(warm_up > 0, "the zlib state is allocated on first use");
    let mut steady = 0;
    for _ in 0..50 {
        round(&mut server, &mut steady);
    }
    assert_eq!(steady, 0, "{steady} allocations for 500 compressed echoes");
}
