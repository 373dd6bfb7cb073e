//! Hostile peers against the ws-mio server over loopback (issue 7): connection floods past
//! `Options::max_connections`, slow and oversized handshakes, request smuggling shapes, and
//! frames built to exhaust memory. Each test asserts the documented answer (an HTTP status, or
//! a Close code followed by the end of the connection) and that the same event loop goes on
//! serving a well-behaved client. `docs/security.md` lists the limits and the peak memory of
//! each attack.
//!
//! The raw HTTP and frame helpers are ws-std's test helpers (`raw`), written byte by byte
//! independently of the library. Every socket has a read timeout and every wait a deadline;
//! the only sleeps are the slowloris attack's own trickle.

mod attacks;
mod common;
#[path = "../../ws-std/tests/common/mod.rs"]
mod raw;

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use attacks::*;
use common::{until, Fault, Probe, Seen};
use raw::*;
use ws_mio::{Options, Running, Server};
use ws_proto::handshake::Limits;
use ws_proto::{HandshakeError, ProtocolError};
use ws_std::Message;

// ----- A ws-mio echo server and its clients -------------------------------------------------

/// A running echo server and what its handler reports.
struct Echo {
    addr: SocketAddr,
    seen: Receiver<Seen>,
    _running: Running,
}

fn start(options: Options) -> Echo {
    let (tx, seen) = std::sync::mpsc::channel();
    let server = Server::bind("127.0.0.1:0", options, move |_| Probe {
        tx: tx.clone(),
        echo: true,
    })
    .expect("bind");
    let addr = server.local_addr().expect("address");
    Echo {
        addr,
        seen,
        _running: server.spawn().expect("spawn"),
    }
}

impl Echo {
    /// Waits for the handler's report of the error `fault`.
    fn expect_error(&self, fault: Fault) {
        until(
            &self.seen,
            |s| matches!(s, Seen::Error(_, e) if *e == fault),
        );
    }

    /// Waits for the handler's report of a connection closed with `code`.
    fn expect_close(&self, code: u16) {
        until(
            &self.seen,
            |s| matches!(s, Seen::Close(_, c, _) if *c == code),
        );
    }
}

type Client = ws_std::WebSocket<ws_std::MaybeTlsStream>;

/// A well-behaved ws-std client of `addr`.
fn client(addr: SocketAddr) -> Client {
    let (mut ws, _) = ws_std::connect(&format!("ws://{addr}/")).expect("connect");
    ws.set_read_timeout(Some(IO_TIMEOUT));
    ws
}

/// One echo through `ws`: proves the server still serves it.
fn round_trip(ws: &mut Client, text: &str) {
    ws.send_text(text).expect("send");
    assert_eq!(ws.read().expect("echo"), Message::Text(text.into()));
}

/// A fresh well-behaved client echoes once and closes cleanly.
fn still_serving(addr: SocketAddr) {
    let mut ws = client(addr);
    round_trip(&mut ws, "still serving?");
    ws.close(ws_proto::CloseCode::NORMAL, "").expect("close");
    while !matches!(ws.read().expect("closing"), Message::Close(_)) {}
}

/// The server closes the connection after its answer and sends nothing more: end of stream,
/// or a reset if it dropped bytes it had not read.
fn expect_closed(stream: &mut TcpStream) {
    let mut more = Vec::new();
    let end = stream.read_to_end(&mut more);
    assert!(more.is_empty(), "more bytes after the answer: {more:?}");
    if let Err(e) = end {
        assert_eq!(e.kind(), io::ErrorKind::ConnectionReset, "{e}");
    }
}

fn status_of(head: &str) -> u16 {
    head.split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head:?}"))
}

/// Sends `request` on a new connection and reads the server's answer. A 101 is returned with
/// the stream open at the first frame; any other status must come with its whole body and
/// `Connection: close`, and then the end of the connection.
fn ask(addr: SocketAddr, request: &[u8]) -> (u16, String, TcpStream) {
    let mut stream = tcp_connect(addr);
    // The server may answer and close before it has read everything: a reset on a write is
    // part of the answer, not a failure.
    let _ = stream.write_all(request);
    let head = read_head(&mut stream);
    let status = status_of(&head);
    if status != 101 {
        let length: usize = header_value(&head, "Content-Length")
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no Content-Length in {head:?}"));
        let mut body = vec![0; length];
        stream.read_exact(&mut body).expect("body");
        assert_eq!(header_value(&head, "Connection"), Some("close"), "{head}");
        expect_closed(&mut stream);
    }
    (status, head, stream)
}

/// The status of the answer to `request`; after a 101, closes the WebSocket connection
/// cleanly (Close 1000 both ways, then the end of the connection).
fn status(addr: SocketAddr, request: &[u8]) -> u16 {
    let (status, _, mut stream) = ask(addr, request);
    if status == 101 {
        stream
            .write_all(&client_frame(OP_CLOSE, &close_payload(1000, "")))
            .expect("close");
        assert_eq!(read_frame(&mut stream).close_code(), Some(1000));
        expect_closed(&mut stream);
    }
    status
}

/// Asks for an upgrade and checks the answer is the 503 of a full server.
fn expect_refused(addr: SocketAddr) {
    let (status, head, _) = ask(addr, &valid_request());
    assert_eq!(status, 503, "{head}");
    assert_eq!(header_value(&head, "Retry-After"), Some("5"), "{head}");
}

/// Upgrades a new connection, retrying while the server answers 503 (it has not yet noticed
/// that connections left), until `DEADLINE`.
fn upgrade_when_free(addr: SocketAddr) -> TcpStream {
    let started = Instant::now();
    loop {
        let (status, head, stream) = ask(addr, &valid_request());
        match status {
            101 => return stream,
            503 => assert!(
                started.elapsed() < DEADLINE,
                "no place freed within {DEADLINE:?}"
            ),
            _ => panic!("unexpected answer {head}"),
        }
    }
}

fn with_max_connections(max: usize) -> Options {
    let mut options = Options::default();
    options.max_connections = Some(max);
    options
}

// ----- Connections --------------------------------------------------------------------------

#[test]
fn connection_flood_past_max_connections_gets_503_while_clients_are_served() {
    const MAX: usize = 16;
    const FLOODERS: usize = 2;
    const PER_FLOODER: usize = 150;
    let server = start(with_max_connections(MAX));
    let addr = server.addr;
    let mut ws = client(addr);
    let held: Vec<TcpStream> = (1..MAX).map(|_| raw_client_handshake(addr)).collect();

    // The flood: every further upgrade is answered 503 and closed, while `ws` keeps echoing.
    let finished = Arc::new(AtomicUsize::new(0));
    let flooders: Vec<Peer<()>> = (0..FLOODERS)
        .map(|_| {
            let finished = Arc::clone(&finished);
            spawn(move || {
                for _ in 0..PER_FLOODER {
                    expect_refused(addr);
                }
                finished.fetch_add(1, Ordering::SeqCst);
            })
        })
        .collect();
    let started = Instant::now();
    let mut echoes = 0;
    while finished.load(Ordering::SeqCst) < FLOODERS {
        assert!(started.elapsed() < DEADLINE, "the flood did not end");
        round_trip(&mut ws, &format!("during the flood {echoes}"));
        echoes += 1;
    }
    flooders.into_iter().for_each(Peer::join);
    assert!(echoes > 0);

    // The refused connections never reached the handler: it saw exactly MAX connections.
    drop(held);
    let mut opened = 0;
    while let Ok(seen) = server.seen.try_recv() {
        opened += usize::from(matches!(seen, Seen::Open(_)));
    }
    assert_eq!(opened, MAX);

    // The flood and the held connections left: their places are free again, exactly MAX - 1
    // of them (the count neither leaked nor went below the connections held).
    let refill: Vec<TcpStream> = (1..MAX).map(|_| upgrade_when_free(addr)).collect();
    expect_refused(addr);
    round_trip(&mut ws, "after the flood");
    drop(refill);
}

#[test]
fn connections_in_the_handshake_count_against_max_connections() {
    // Silent connections (slowloris without the bytes) hold their places until the handshake
    // timeout (off here); a new client is refused until one of them leaves.
    let mut options = with_max_connections(3);
    options.config.handshake_timeout = None;
    let server = start(options);
    let mut silent: Vec<TcpStream> = (0..3).map(|_| tcp_connect(server.addr)).collect();
    expect_refused(server.addr);
    silent.pop();
    let mut stream = upgrade_when_free(server.addr);
    stream
        .write_all(&client_frame(OP_TEXT, b"in"))
        .expect("send");
    assert_eq!(read_frame(&mut stream).payload, b"in");
    expect_refused(server.addr);
}

#[test]
fn max_connections_is_one_count_for_all_event_loops() {
    let mut options = with_max_connections(4);
    options.threads = 2;
    let server = start(options);
    let _held: Vec<TcpStream> = (0..4).map(|_| raw_client_handshake(server.addr)).collect();
    // The kernel spreads connections over both loops' listeners: each loop refuses once the
    // server as a whole holds 4, whichever loop holds them.
    for _ in 0..8 {
        expect_refused(server.addr);
    }
}

// ----- Handshake ----------------------------------------------------------------------------

#[test]
fn slowloris_is_cut_by_the_handshake_timeout_while_others_are_served() {
    const TRICKLERS: usize = 8;
    let timeout = Duration::from_millis(300);
    let mut options = Options::default();
    options.config.handshake_timeout = Some(timeout);
    let server = start(options);
    let mut ws = client(server.addr);
    let request = valid_request();
    // Before the first connect: each deadline starts when the server accepts.
    let started = Instant::now();
    let mut tricklers: Vec<Option<TcpStream>> = (0..TRICKLERS)
        .map(|_| {
            let stream = tcp_connect(server.addr);
            stream.set_nonblocking(true).expect("nonblocking");
            Some(stream)
        })
        .collect();
    // A valid request, one byte every 20 ms on each connection (3 s for the whole request,
    // ten times the timeout), until the server has cut every one.
    for (i, byte) in request.iter().enumerate() {
        for slot in &mut tricklers {
            let Some(stream) = slot else { continue };
            let mut buf = [0u8; 1];
            let cut = match stream.read(&mut buf) {
                Ok(0) => true,
                Ok(_) => panic!("the server answered a request it has not seen"),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => stream.write(&[*byte]).is_err(),
                Err(_) => true,
            };
            if cut {
                assert!(started.elapsed() >= timeout, "cut before the timeout");
                assert!(i < request.len() - 1);
                *slot = None;
            }
        }
        if tricklers.iter().all(Option::is_none) {
            break;
        }
        round_trip(&mut ws, "while trickling");
        thread::sleep(Duration::from_millis(20)); // the attack: trickle
    }
    assert!(
        tricklers.iter().all(Option::is_none),
        "the server let a trickled request finish"
    );
    for _ in 0..TRICKLERS {
        server.expect_error(Fault::Handshake(HandshakeError::Timeout));
    }
    round_trip(&mut ws, "after the attack");
}

#[test]
fn header_block_over_the_limit_gets_431_and_the_server_goes_on() {
    let mut options = Options::default();
    options.config.limits = Limits::default().with_max_header_bytes(1024);
    let server = start(options);
    let mut headers = valid_headers();
    headers.push(format!("X-Padding: {}", "p".repeat(1100)));
    let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
    assert_eq!(
        status(server.addr, &request("GET / HTTP/1.1", &headers)),
        431
    );
    server.expect_error(Fault::Handshake(HandshakeError::HeadersTooLarge));
    still_serving(server.addr);
}

#[test]
fn thousands_of_headers_get_431() {
    let server = start(Options::default());
    let mut headers: Vec<&str> = vec!["a:b"; 3000];
    let valid = valid_headers();
    headers.extend(valid.iter().map(String::as_str));
    assert_eq!(
        status(server.addr, &request("GET / HTTP/1.1", &headers)),
        431
    );
    server.expect_error(Fault::Handshake(HandshakeError::TooManyHeaders));
    still_serving(server.addr);
}

#[test]
fn one_mebibyte_header_block_is_refused_quickly() {
    // Parsing stays linear: the head is refused as soon as more than the 16 KiB limit has
    // arrived unterminated, however much more follows.
    let server = start(Options::default());
    let mut block = b"GET / HTTP/1.1\r\nHost: a\r\nX-Big: ".to_vec();
    block.resize(1 << 20, b'a');
    block.extend_from_slice(b"\r\n\r\n");
    let mut stream = tcp_connect(server.addr);
    let mut writer = stream.try_clone().expect("clone");
    let started = Instant::now();
    let write = spawn(move || {
        // Ends when the server closes (reset or broken pipe).
        let _ = writer.write_all(&block);
    });
    let head = read_head(&mut stream);
    let took = started.elapsed();
    assert_eq!(status_of(&head), 431, "{head}");
    assert!(took < Duration::from_secs(5), "431 after {took:?}");
    server.expect_error(Fault::Handshake(HandshakeError::HeadersTooLarge));
    drop(stream);
    write.join();
    still_serving(server.addr);
}

#[test]
fn request_smuggling_shapes_get_the_documented_answer_and_the_server_goes_on() {
    // (shape, request line, header lines replacing the valid ones that start the same way
    // or added, status). The table of reasons is in docs/security.md.
    let shapes: &[(&str, &str, &[&str], u16)] = &[
        (
            "duplicate Sec-WebSocket-Key",
            "GET / HTTP/1.1",
            &["Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEC=="],
            400,
        ),
        ("obs-fold", "GET / HTTP/1.1", &["X-Folded: a\r\n b"], 400),
        ("NUL in a value", "GET / HTTP/1.1", &["X-Nul: a\0b"], 400),
        ("NUL in a name", "GET / HTTP/1.1", &["X-N\0ul: a"], 400),
        ("NUL in the target", "GET /a\0b HTTP/1.1", &[], 400),
        ("bare CR", "GET / HTTP/1.1", &["X-Cr: a\rb"], 400),
        ("POST", "POST / HTTP/1.1", &[], 400),
        ("CONNECT", "CONNECT 127.0.0.1:80 HTTP/1.1", &[], 400),
        ("HTTP/1.0", "GET / HTTP/1.0", &[], 400),
        (
            "absolute-form",
            "GET http://127.0.0.1/chat HTTP/1.1",
            &[],
            101,
        ),
        (
            "ws:// absolute-form",
            "GET ws://127.0.0.1/ HTTP/1.1",
            &[],
            400,
        ),
        ("userinfo", "GET http://u@127.0.0.1/ HTTP/1.1", &[], 400),
        ("a body", "GET / HTTP/1.1", &["Content-Length: 5"], 400),
        (
            "chunked",
            "GET / HTTP/1.1",
            &["Transfer-Encoding: chunked"],
            400,
        ),
    ];
    let server = start(Options::default());
    let valid = valid_headers();
    let mut wrong = Vec::new();
    for (name, line, extra, expected) in shapes {
        let mut headers: Vec<&str> = valid.iter().map(String::as_str).collect();
        headers.extend_from_slice(extra);
        let got = status(server.addr, &request(line, &headers));
        if got != *expected {
            wrong.push(format!("{name}: {got}, expected {expected}"));
        }
    }
    // RFC 7230 section 3.5: a bare LF may end a line; the lines mean the same either way.
    let bare_lf = String::from_utf8(valid_request())
        .expect("ASCII")
        .replace("\r\n", "\n");
    let got = status(server.addr, bare_lf.as_bytes());
    if got != 101 {
        wrong.push(format!("bare LF: {got}, expected 101"));
    }
    assert!(wrong.is_empty(), "wrong answers: {wrong:#?}");
    still_serving(server.addr);
}

// ----- Frames -------------------------------------------------------------------------------

/// After an attack on `raw`: the server answers with a Close frame of `code`, then closes;
/// the handler was told of the protocol error `error` and of the close; and the
/// loop still serves a new client.
fn expect_failed(server: &Echo, raw: &mut TcpStream, code: u16, error: ProtocolError) {
    let close = loop {
        let frame = read_frame(raw);
        if frame.opcode() == OP_CLOSE {
            break frame;
        }
    };
    assert_eq!(close.close_code(), Some(code), "{close:?}");
    assert!(!close.masked);
    expect_closed(raw);
    server.expect_error(Fault::Protocol(error));
    server.expect_close(code);
    still_serving(server.addr);
}

/// Upgrades a raw connection to a server with `options`, sends what `attack` writes, and
/// checks the server fails the connection ([`expect_failed`]).
fn frames_get_close(
    options: Options,
    attack: impl FnOnce(&mut TcpStream) -> io::Result<()>,
    code: u16,
    error: ProtocolError,
) {
    let server = start(options);
    let mut raw = raw_client_handshake(server.addr);
    // The server may fail the connection before it has read everything.
    let _ = attack(&mut raw);
    expect_failed(&server, &mut raw, code, error);
}

fn with_max_message(size: usize) -> Options {
    let mut options = Options::default();
    options.config.max_message_size = size;
    options
}

#[test]
fn length_with_the_top_bit_set_fails_with_1002() {
    let attack = |raw: &mut TcpStream| raw.write_all(&header_64(0x82, 1 << 63));
    frames_get_close(
        Options::default(),
        attack,
        1002,
        ProtocolError::InvalidPayloadLength,
    );
}

#[test]
fn largest_legal_length_fails_with_1009_before_any_payload() {
    let attack = |raw: &mut TcpStream| raw.write_all(&header_64(0x82, (1 << 63) - 1));
    frames_get_close(
        Options::default(),
        attack,
        1009,
        ProtocolError::FrameTooLarge,
    );
}

#[test]
fn length_past_the_message_limit_fails_with_1009_before_any_payload() {
    let attack = |raw: &mut TcpStream| raw.write_all(&header_64(0x82, 1025));
    frames_get_close(
        with_max_message(1024),
        attack,
        1009,
        ProtocolError::MessageTooLarge,
    );
}

#[test]
fn unmasked_client_frame_fails_with_1002() {
    let attack = |raw: &mut TcpStream| raw.write_all(&frame(0x80 | OP_TEXT, None, b"unmasked"));
    frames_get_close(
        Options::default(),
        attack,
        1002,
        ProtocolError::UnmaskedClientFrame,
    );
}

#[test]
fn fragment_flood_is_bounded_by_the_message_limit() {
    // 4097 one-byte fragments against a 4 KiB limit: 1009 at the fragment that crosses it.
    let attack = |raw: &mut TcpStream| write_fragments(raw, OP_BINARY, b"x", 4097);
    frames_get_close(
        with_max_message(4096),
        attack,
        1009,
        ProtocolError::MessageTooLarge,
    );
}

#[test]
fn empty_fragment_flood_delivers_the_message() {
    // 100 000 empty fragments: nothing grows, the (empty) message arrives, and the connection
    // goes on.
    let server = start(Options::default());
    let mut raw = raw_client_handshake(server.addr);
    let mut writer = raw.try_clone().expect("clone");
    let write = spawn(move || write_fragments(&mut writer, OP_TEXT, b"", 100_000).expect("flood"));
    let echo = read_frame(&mut raw);
    assert_eq!((echo.opcode(), echo.payload.len()), (OP_TEXT, 0));
    write.join();
    raw.write_all(&client_frame(OP_TEXT, b"after"))
        .expect("send");
    assert_eq!(read_frame(&mut raw).payload, b"after");
    still_serving(server.addr);
}

#[test]
fn ping_flood_without_reading_pongs_stops_at_the_high_watermark() {
    // The peer pings and never reads. Pongs queue in the connection's output until it
    // reaches the high watermark; then the loop stops reading it, so what the server owes is
    // bounded by the watermark plus one turn of reads, and the attacker's writes stall. The
    // other connections of the loop are served meanwhile.
    let mut options = Options::default();
    options.high_watermark = 64 << 10;
    options.low_watermark = 16 << 10;
    let server = start(options);
    let mut ws = client(server.addr);
    let mut raw = raw_client_handshake(server.addr);
    raw.set_write_timeout(Some(Duration::from_millis(500)))
        .expect("write timeout");
    let sent = ping_flood(&raw, 64 << 20);
    assert!(sent < 64 << 20, "the server kept reading without writing");
    round_trip(&mut ws, "during the ping flood");
    // The attacker reads at last: the Pongs come, each with its Ping's payload.
    raw.set_read_timeout(Some(IO_TIMEOUT)).expect("timeout");
    for _ in 0..1000 {
        let pong = read_frame(&mut raw);
        assert_eq!(
            (pong.opcode(), &pong.payload[..]),
            (OP_PONG, &PING_PAYLOAD[..])
        );
    }
    round_trip(&mut ws, "after the ping flood");
}

#[test]
fn deflate_bomb_fails_with_1009_after_inflating_at_most_the_limit() {
    // permessage-deflate agreed, then 16 MiB of zeros in about 16 KiB of frames: the server
    // inflates at most its 1 MiB limit and fails the connection with 1009.
    let server = start(with_max_message(1 << 20));
    let mut raw = deflate_handshake(server.addr);
    deflate_bomb(&mut raw, 16);
    expect_failed(&server, &mut raw, 1009, ProtocolError::MessageTooLarge);
}
