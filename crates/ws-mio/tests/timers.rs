//! Timers on the loop: handshake timeout, keepalive Ping with its Pong deadline, idle timeout
//! and close timeout.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::mpsc;
use std::time::Duration;

use common::{next, until, Fault, Probe, Seen, WAIT};
use ws_mio::{CloseCode, Options, Server};
use ws_proto::{Config, HandshakeError, Timeout};

fn start(options: Options) -> (String, mpsc::Receiver<Seen>, ws_mio::Running) {
    let (tx, rx) = mpsc::channel();
    let server = Server::bind("127.0.0.1:0", options, move |_| Probe {
        tx: tx.clone(),
        echo: false,
    })
    .unwrap();
    let addr = server.local_addr().unwrap().to_string();
    (addr, rx, server.spawn().unwrap())
}

/// Reads until the server closes the connection; returns everything read.
fn read_to_eof(stream: &mut TcpStream) -> Vec<u8> {
    stream.set_read_timeout(Some(WAIT)).unwrap();
    let mut all = Vec::new();
    stream
        .read_to_end(&mut all)
        .expect("the server should close the connection");
    all
}

#[test]
fn a_silent_tcp_client_is_closed_at_the_handshake_timeout() {
    let mut options = Options::default();
    options.config.handshake_timeout = Some(Duration::from_millis(200));
    let (addr, rx, _running) = start(options);

    let mut silent = TcpStream::connect(&addr).unwrap();
    assert_eq!(read_to_eof(&mut silent), b"");
    assert!(matches!(
        next(&rx),
        Seen::Error(_, Fault::Handshake(HandshakeError::Timeout))
    ));

    // A slowloris client trickling a header block gets the same.
    let mut slow = TcpStream::connect(&addr).unwrap();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap();
    assert_eq!(read_to_eof(&mut slow), b"");
    assert!(matches!(
        next(&rx),
        Seen::Error(_, Fault::Handshake(HandshakeError::Timeout))
    ));
}

#[test]
fn an_unanswered_keepalive_ping_closes_with_1011() {
    let mut options = Options::default();
    options.config.keepalive_interval = Some(Duration::from_millis(100));
    options.config.keepalive_timeout = Some(Duration::from_millis(100));
    let (addr, rx, _running) = start(options);

    // A client that does not answer Pings.
    let mut config = Config::default();
    config.auto_pong = false;
    let (mut ws, _) = ws_std::ClientBuilder::new(&format!("ws://{addr}/"))
        .config(config)
        .connect()
        .unwrap();
    ws.set_read_timeout(Some(WAIT));
    let Seen::Open(id) = next(&rx) else {
        panic!("expected open")
    };
    assert_eq!(ws.read().unwrap(), ws_std::Message::Ping(Vec::new()));
    match ws.read().unwrap() {
        ws_std::Message::Close(Some(frame)) => assert_eq!(frame.code, CloseCode::INTERNAL_ERROR),
        other => panic!("expected a close frame, got {other:?}"),
    }
    assert_eq!(
        next(&rx),
        Seen::Error(id, Fault::Timeout(Timeout::Keepalive))
    );
    assert!(matches!(next(&rx), Seen::Close(i, 1011, _) if i == id));
}

#[test]
fn an_answered_keepalive_ping_keeps_the_connection() {
    let mut options = Options::default();
    options.config.keepalive_interval = Some(Duration::from_millis(50));
    options.config.keepalive_timeout = Some(Duration::from_millis(500));
    let (addr, rx, _running) = start(options);
    let (mut ws, _) = ws_std::connect(&format!("ws://{addr}/")).unwrap();
    ws.set_read_timeout(Some(WAIT));
    // ws-std answers each Ping; three rounds go by without a close.
    for _ in 0..3 {
        assert_eq!(ws.read().unwrap(), ws_std::Message::Ping(Vec::new()));
    }
    ws.send_text("still here").unwrap();
    assert!(matches!(
        until(&rx, |s| matches!(s, Seen::Message(..))),
        Seen::Message(_, m) if m == ws_mio::Message::Text("still here".into())
    ));
}

#[test]
fn an_idle_connection_is_closed_with_1001() {
    let mut options = Options::default();
    options.idle_timeout = Some(Duration::from_millis(150));
    let (addr, rx, _running) = start(options);
    let (mut ws, _) = ws_std::connect(&format!("ws://{addr}/")).unwrap();
    ws.set_read_timeout(Some(WAIT));
    match ws.read().unwrap() {
        ws_std::Message::Close(Some(frame)) => {
            assert_eq!(frame.code, CloseCode::GOING_AWAY);
            assert_eq!(frame.reason, "idle timeout");
        }
        other => panic!("expected a close frame, got {other:?}"),
    }
    assert!(matches!(
        until(&rx, |s| matches!(s, Seen::Close(..))),
        Seen::Close(_, 1001, _)
    ));
}

#[test]
fn a_peer_that_never_answers_close_is_dropped_at_the_close_timeout() {
    let mut options = Options::default();
    options.config.close_timeout = Some(Duration::from_millis(200));
    let (addr, rx, running) = start(options);
    // A raw client: completes the handshake, then never answers.
    let mut stream = TcpStream::connect(&addr).unwrap();
    stream
        .write_all(
            b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
              Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        )
        .unwrap();
    let Seen::Open(id) = next(&rx) else {
        panic!("expected open")
    };
    running
        .handle()
        .close(id, CloseCode::NORMAL, "bye")
        .unwrap();
    let received = read_to_eof(&mut stream);
    // The 101 response, then the Close frame (1000, "bye"), then the server's FIN.
    assert!(received.ends_with(b"\x88\x05\x03\xe8bye"), "{received:?}");
    assert_eq!(next(&rx), Seen::Error(id, Fault::Timeout(Timeout::Close)));
    assert!(matches!(next(&rx), Seen::Close(i, 1006, _) if i == id));
}
