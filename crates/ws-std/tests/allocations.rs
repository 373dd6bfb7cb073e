//! The blocking echo loop (`read`, then `write` of the same message) allocates nothing per
//! message once warm: `write` hands the message's buffer back to the connection, and the
//! next message is received into it.
//!
//! The server runs on the test thread, whose allocations `allocation_counter` counts; the
//! client runs on its own thread. Allocations are counted for two runs of different lengths:
//! the difference is what the extra messages cost.

mod common;

use std::net::TcpListener;

use common::{accept_within, spawn, DEADLINE};
use ws_std::ws_proto::Config;
use ws_std::{ClientBuilder, Message, ServerBuilder};

/// Messages per round: the client sends a round, then reads its echoes.
const ROUND: usize = 10;

/// Accepts one client that sends `rounds` rounds of messages; returns the allocations of the
/// server's echo loop (after the handshake).
fn echo_run(rounds: usize, binary: bool, deflate: bool) -> u64 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("ws://{}/", listener.local_addr().expect("addr"));
    let client = spawn(move || {
        let mut config = Config::default();
        config.deflate.enabled = deflate;
        let (mut ws, _) = ClientBuilder::new(&url)
            .config(config)
            .connect()
            .expect("connect");
        for _ in 0..rounds {
            for i in 0..ROUND {
                let message = if binary {
                    Message::Binary(vec![i as u8; 100])
                } else {
                    Message::Text(format!("message number {i:>4}"))
                };
                ws.write(message).expect("write");
            }
            ws.flush().expect("flush");
            for _ in 0..ROUND {
                assert!(ws.read().expect("echo").is_data());
            }
        }
        ws.close(ws_std::ws_proto::CloseCode::NORMAL, "")
            .expect("close");
        while ws.read().is_ok() {}
    });
    let stream = accept_within(&listener, DEADLINE);
    let mut ws = ServerBuilder::new().accept(stream).expect("handshake");
    let mut echoed = 0;
    let allocations = allocation_counter::measure(|| loop {
        match ws.read() {
            Ok(message) if message.is_data() => {
                ws.write(message).expect("write");
                echoed += 1;
            }
            Ok(Message::Close(_)) | Err(_) => break,
            Ok(_) => {}
        }
    })
    .count_total;
    client.join();
    assert_eq!(echoed, rounds * ROUND);
    allocations
}

#[test]
fn steady_echo_allocates_nothing_per_message() {
    for (binary, deflate) in [(false, false), (true, false), (false, true), (true, true)] {
        let short = echo_run(50, binary, deflate);
        let long = echo_run(250, binary, deflate);
        // 2,000 more messages echoed: no more allocations (a few of slack for how the kernel
        // happens to split the reads of the warm-up).
        assert!(
            long <= short + 8,
            "binary {binary}, deflate {deflate}: {short} allocations for 500 messages, \
             {long} for 2,500"
        );
    }
}
