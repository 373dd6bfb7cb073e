//! A write that stops early loses nothing (issue 11): a sender whose writes time out (a short
//! write timeout, or a non-blocking stream) sends a message larger than the loopback socket
//! buffers to a peer that is not reading yet. The send fails with `WouldBlock`/`TimedOut`
//! after a partial write; the sender calls `flush` again until the peer has taken everything,
//! then sends a further message. The peer must receive both messages, byte for byte, in
//! order: a count dropped after a partial write would cut the first frame and corrupt the
//! stream from there.
//!
//! Both roles (the client masks), permessage-deflate off and on (with incompressible data, so
//! the compressed message is as large). Then the same over a scripted transport, where the
//! bytes written and the calls to `shutdown` can be checked exactly.

mod common;

use std::io;
use std::net::TcpListener;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use common::{accept_within, spawn, DEADLINE, IO_TIMEOUT};
use ws_std::ws_proto::{
    CloseCode, CloseFrame, Config, Connection, Instant, Message as ProtoMessage,
};
use ws_std::{ClientBuilder, Error, MaybeTlsStream, Message, ServerBuilder, Transport, WebSocket};

/// Larger than what the loopback socket buffers of a peer that does not read hold together
/// (a few MiB): checked, since the test proves nothing when the first send succeeds.
const LARGE: usize = 24 << 20;

/// How the sender's writes stop early.
#[derive(Debug, Clone, Copy)]
enum Stall {
    /// A 50 ms write timeout on a blocking socket.
    WriteTimeout,
    /// A non-blocking socket.
    NonBlocking,
}

/// Incompressible bytes (xorshift), so that compression does not shrink the message below
/// the socket buffers.
fn noise(len: usize) -> Vec<u8> {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

fn config(deflate: bool) -> Config {
    let mut config = Config::default();
    config.deflate.enabled = deflate;
    config.max_message_size = 2 * LARGE;
    config.max_frame_size = 2 * LARGE;
    config
}

fn stalled(e: &Error) -> bool {
    matches!(e, Error::Io(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut))
}

/// Retries `flush` until everything is written; only a stalled write may fail it.
fn flush_until_done<S: Transport>(ws: &mut WebSocket<S>) {
    loop {
        match ws.flush() {
            Ok(()) => return,
            Err(e) if stalled(&e) => thread::sleep(Duration::from_millis(1)),
            Err(e) => panic!("flush failed: {e}"),
        }
    }
}

/// The sender's side: the large message, which must stall, then flushes, then a short one.
/// `go` tells the receiver to start reading, once the send has stalled.
fn send_stalled<S: Transport>(ws: &mut WebSocket<S>, payload: Vec<u8>, go: mpsc::Sender<()>) {
    let error = ws
        .send(Message::Binary(payload))
        .expect_err("a message larger than the socket buffers stalls");
    assert!(stalled(&error), "{error}");
    let queued = ws.connection().buffered_amount();
    assert!(queued > 0 && queued < LARGE + 16, "{queued} bytes queued");
    // Flushing again while the peer does not read stalls again, and drops nothing.
    let again = ws.flush().expect_err("the peer is not reading yet");
    assert!(stalled(&again), "{again}");
    assert!(ws.connection().buffered_amount() <= queued);
    go.send(()).expect("receiver waiting");
    flush_until_done(ws);
    assert_eq!(ws.connection().buffered_amount(), 0);
    match ws.send_text("after") {
        Ok(()) => {}
        Err(e) if stalled(&e) => flush_until_done(ws),
        Err(e) => panic!("second send: {e}"),
    }
}

/// The receiver's side: waits for `go`, then reads both messages and answers the closing
/// handshake the sender starts.
fn receive<S: Transport>(ws: &mut WebSocket<S>, go: mpsc::Receiver<()>) -> (Vec<u8>, String) {
    ws.set_read_timeout(Some(IO_TIMEOUT));
    go.recv_timeout(DEADLINE).expect("the sender stalled");
    let Message::Binary(large) = ws.read().expect("the large message") else {
        panic!("expected the binary message")
    };
    let Message::Text(after) = ws.read().expect("the second message") else {
        panic!("expected the text message")
    };
    assert!(matches!(ws.read(), Ok(Message::Close(_))));
    (large, after)
}

/// What one end does.
enum Side {
    /// Sends this payload, stalling as said, and tells the other end when it has stalled.
    Sends(Vec<u8>, Stall, mpsc::Sender<()>),
    /// Reads once told to.
    Receives(mpsc::Receiver<()>),
}

/// Plays `side` on `ws`; the receiver returns what it received.
fn play(ws: &mut WebSocket<MaybeTlsStream>, side: Side) -> Option<(Vec<u8>, String)> {
    match side {
        Side::Sends(payload, stall, go) => {
            let tcp = ws.get_ref().tcp();
            match stall {
                Stall::WriteTimeout => tcp
                    .set_write_timeout(Some(Duration::from_millis(50)))
                    .expect("write timeout"),
                Stall::NonBlocking => tcp.set_nonblocking(true).expect("non-blocking"),
            }
            send_stalled(ws, payload, go);
            close(ws);
            None
        }
        Side::Receives(go) => Some(receive(ws, go)),
    }
}

fn run(server_sends: bool, deflate: bool, stall: Stall) {
    let payload = noise(LARGE);
    let expected = payload.clone();
    let (go_tx, go_rx) = mpsc::channel();
    let (server_side, client_side) = if server_sends {
        (Side::Sends(payload, stall, go_tx), Side::Receives(go_rx))
    } else {
        (Side::Receives(go_rx), Side::Sends(payload, stall, go_tx))
    };
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("ws://{}/", listener.local_addr().expect("addr"));
    let client = spawn(move || {
        let (mut ws, _) = ClientBuilder::new(&url)
            .config(config(deflate))
            .connect()
            .expect("connect");
        play(&mut ws, client_side)
    });
    let stream = accept_within(&listener, DEADLINE);
    let mut ws = ServerBuilder::new()
        .config(config(deflate))
        .accept(MaybeTlsStream::from(stream))
        .expect("handshake");
    let served = play(&mut ws, server_side);
    let (large, after) = served.or(client.join()).expect("one end received");
    assert_eq!(large.len(), expected.len());
    assert!(large == expected, "the large message arrived altered");
    assert_eq!(after, "after");
}

/// Starts the closing handshake and reads until it completes, on a stream that may be
/// non-blocking.
fn close<S: Transport>(ws: &mut WebSocket<S>) {
    match ws.close(CloseCode::NORMAL, "") {
        Ok(()) => {}
        Err(e) if stalled(&e) => flush_until_done(ws),
        Err(e) => panic!("close: {e}"),
    }
    loop {
        match ws.read() {
            Ok(Message::Close(_)) => return,
            Ok(other) => panic!("unexpected {other:?}"),
            Err(e) if stalled(&e) => thread::sleep(Duration::from_millis(1)),
            Err(e) => panic!("waiting for the close reply: {e}"),
        }
    }
}

#[test]
fn server_with_a_write_timeout_loses_nothing() {
    run(true, false, Stall::WriteTimeout);
}

#[test]
fn client_with_a_write_timeout_loses_nothing() {
    run(false, false, Stall::WriteTimeout);
}

#[test]
fn compressing_server_with_a_write_timeout_loses_nothing() {
    run(true, true, Stall::WriteTimeout);
}

#[test]
fn compressing_client_with_a_write_timeout_loses_nothing() {
    run(false, true, Stall::WriteTimeout);
}

#[test]
fn non_blocking_server_loses_nothing() {
    run(true, false, Stall::NonBlocking);
}

#[test]
fn non_blocking_client_loses_nothing() {
    run(false, false, Stall::NonBlocking);
}

#[test]
fn compressing_non_blocking_server_loses_nothing() {
    run(true, true, Stall::NonBlocking);
}

#[test]
fn compressing_non_blocking_client_loses_nothing() {
    run(false, true, Stall::NonBlocking);
}

// ----- A scripted transport -------------------------------------------------------------------

/// A transport whose writes take at most `budget` bytes in all, then fail with `WouldBlock`
/// (a non-blocking socket whose buffer is full), and whose reads return `input`, then
/// `WouldBlock`. It counts the calls to `shutdown`.
#[derive(Debug, Default)]
struct Scripted {
    input: Vec<u8>,
    written: Vec<u8>,
    budget: usize,
    shutdowns: usize,
}

impl io::Read for Scripted {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.input.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = buf.len().min(self.input.len());
        buf[..n].copy_from_slice(&self.input[..n]);
        self.input.drain(..n);
        Ok(n)
    }
}

impl io::Write for Scripted {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.budget == 0 {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = buf.len().min(self.budget);
        self.budget -= n;
        self.written.extend_from_slice(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Transport for Scripted {
    fn set_read_timeout(&mut self, _: Option<Duration>) -> io::Result<()> {
        Ok(())
    }

    fn shutdown(&mut self) -> io::Result<()> {
        self.shutdowns += 1;
        Ok(())
    }
}

fn scripted_server(input: Vec<u8>) -> WebSocket<Scripted> {
    let stream = Scripted {
        input,
        ..Scripted::default()
    };
    let conn = Connection::server(Config::default(), Instant::ZERO);
    WebSocket::from_connection(stream, conn, std::time::Instant::now())
}

#[test]
fn writes_in_small_steps_resume_exactly_where_they_stopped() {
    let large = noise(100_000);
    // The same messages, encoded by a connection of their own: the bytes expected on the wire.
    let mut reference = Connection::server(Config::default(), Instant::ZERO);
    reference.send_text("first").unwrap();
    reference.send(ProtoMessage::Binary(large.clone())).unwrap();
    reference.send_text("last").unwrap();
    let mut expected = Vec::new();
    while reference.poll_transmit(&mut expected).is_some() {}

    let mut ws = scripted_server(Vec::new());
    ws.write("first").unwrap();
    ws.write(Message::Binary(large)).unwrap();
    ws.write("last").unwrap();
    // 997 bytes per flush: writes stop inside headers, payloads and between frames.
    let mut stalls = 0;
    loop {
        ws.get_mut().budget = 997;
        match ws.flush() {
            Ok(()) => break,
            Err(e) => {
                assert!(stalled(&e), "{e}");
                stalls += 1;
            }
        }
    }
    assert!(stalls >= 100, "{stalls}");
    assert!(ws.get_ref().written == expected, "the output differs");
    assert_eq!(ws.connection().buffered_amount(), 0);
}

#[test]
fn the_transport_is_shut_down_once_even_after_a_stalled_write() {
    // The client's Close 1000, masked with key 0.
    let mut ws = scripted_server(vec![0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8]);
    ws.get_mut().budget = 1;
    // The reply is queued and one byte of it written; the rest waits for the transport.
    assert_eq!(
        ws.read().unwrap(),
        Message::Close(Some(CloseFrame {
            code: CloseCode::NORMAL,
            reason: String::new()
        }))
    );
    assert_eq!(ws.get_ref().written, [0x88]);
    assert_eq!(ws.connection().buffered_amount(), 3);
    assert_eq!(
        ws.get_ref().shutdowns,
        0,
        "not before the output is written"
    );
    let error = ws.flush().unwrap_err();
    assert!(stalled(&error), "{error}");
    assert_eq!(ws.get_ref().shutdowns, 0);
    ws.get_mut().budget = 100;
    ws.flush().unwrap();
    assert_eq!(ws.get_ref().written, [0x88, 0x02, 0x03, 0xe8]);
    assert_eq!(ws.get_ref().shutdowns, 1);
    ws.flush().unwrap();
    assert!(matches!(ws.read(), Err(Error::ConnectionClosed)));
    assert_eq!(ws.get_ref().shutdowns, 1, "exactly once");
}
