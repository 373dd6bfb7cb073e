//! Graceful shutdown (`Handle::shutdown_gracefully`, `Running::stop_gracefully`): the server
//! stops accepting, sends every open connection a Close frame with 1001 and the reason, lets
//! the closing handshakes finish, and drops what is still open at the deadline.
//!
//! Bounded: every socket has a read timeout, waits have deadlines; no sleep synchronises.

mod common;
#[path = "../../ws-std/tests/common/mod.rs"]
mod raw;

use std::io::Read;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{until, Probe, Seen};
use raw::{raw_client_handshake, spawn};
use ws_mio::{Options, Server};

#[test]
fn shutdown_closes_with_1001_and_the_reason_and_drops_silent_peers_at_the_deadline() {
    let (tx, seen) = mpsc::channel();
    let server = Server::bind("127.0.0.1:0", Options::default(), move |_| Probe {
        tx: tx.clone(),
        echo: true,
    })
    .expect("bind");
    let addr = server.local_addr().expect("address");
    let running = server.spawn().expect("spawn");

    // A well-behaved client, answering the server's Close.
    let (mut polite, _) = ws_std::connect(&format!("ws://{addr}/")).expect("connect");
    until(&seen, |s| matches!(s, Seen::Open(_)));
    // A client that never reads nor answers.
    let mut silent = raw_client_handshake(addr);
    until(&seen, |s| matches!(s, Seen::Open(_)));
    let polite_peer = spawn(move || loop {
        match polite.read() {
            Ok(ws_std::Message::Close(frame)) => return frame,
            Ok(_) => {}
            Err(e) => panic!("the polite client failed: {e:?}"),
        }
    });

    let within = Duration::from_millis(300);
    let started = Instant::now();
    running
        .stop_gracefully("maintenance", within)
        .expect("stopped");
    let took = started.elapsed();

    let frame = polite_peer.join().expect("a close frame");
    assert_eq!(frame.code.as_u16(), 1001);
    assert_eq!(frame.reason, "maintenance");
    // The silent client held the server until the deadline, not until its close timeout
    // (10 s by default).
    assert!(took >= within, "{took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    // The handler heard both ends: the polite one's closing handshake (the code and reason of
    // its answer: ws-std echoes the code), the silent one dropped.
    let mut closes: Vec<(u16, String)> = seen
        .try_iter()
        .filter_map(|s| match s {
            Seen::Close(_, code, reason) => Some((code, reason)),
            _ => None,
        })
        .collect();
    closes.sort();
    assert_eq!(
        closes,
        [
            (1001, String::new()),
            (1006, "shutdown deadline passed".to_string())
        ]
    );
    // The silent client got the Close frame too, then the end of the connection; and the
    // listener is gone.
    let mut rest = Vec::new();
    let _ = silent.read_to_end(&mut rest);
    assert_eq!(&rest[..2], &[0x88, 13]);
    assert_eq!(&rest[2..4], &1001u16.to_be_bytes());
    assert_eq!(&rest[4..15], b"maintenance");
    // The listener was closed with the loop.
    assert!(std::net::TcpStream::connect(addr).is_err());
}
