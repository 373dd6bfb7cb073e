//! Hostile peers against the ws-std server over loopback (issue 7): slow and oversized
//! handshakes, request smuggling shapes, and frames built to exhaust memory or confuse the
//! decoder. Each test asserts the documented answer (an HTTP status, or a Close code followed by
//! the end of the connection) and, where the server could be wedged, that it goes on serving a
//! well-behaved client afterwards. `docs/security.md` lists the limits these tests exercise and
//! the peak memory each attack costs.
//!
//! Bounded: every socket has a read timeout and every thread is joined with a deadline
//! (`common`). Sleeps appear only where the attack itself is slow (slowloris); nothing waits
//! on a sleep to synchronise.

mod common;

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use ws_std::ws_proto::handshake::Limits;
use ws_std::ws_proto::{Config, HandshakeError, ProtocolError};
use ws_std::{Error, Message, ServerBuilder, Transport};

// ----- A server that serves one connection after another -------------------------------------

/// What the server made of one connection.
#[derive(Debug)]
enum Outcome {
    /// The handshake failed (and was answered, unless it was an I/O error).
    Refused(Error),
    /// The connection was served (echo) until `read` failed or the peer closed.
    Served(Result<(), Error>),
}

/// A ws-std server accepting `n` connections one after another with `builder`, echoing data
/// messages on each until it ends. Returns each connection's outcome.
fn serve(builder: ServerBuilder, n: usize) -> (SocketAddr, Peer<Vec<Outcome>>) {
    serve_many(n, move |stream| {
        stream.set_nonblocking(false).expect("blocking");
        serve_connection(builder.clone(), stream)
    })
}

fn serve_connection<S: Transport>(builder: ServerBuilder, stream: S) -> Outcome {
    match builder.accept(stream) {
        Err(e) => Outcome::Refused(e),
        Ok(mut ws) => {
            ws.set_read_timeout(Some(IO_TIMEOUT));
            Outcome::Served(loop {
                match ws.read() {
                    Ok(Message::Text(t)) => {
                        if let Err(e) = ws.send_text(&t) {
                            break Err(e);
                        }
                    }
                    Ok(Message::Binary(b)) => {
                        if let Err(e) = ws.send_binary(&b) {
                            break Err(e);
                        }
                    }
                    Ok(Message::Close(_)) => break Ok(()),
                    Ok(_) => {}
                    Err(e) => break Err(e),
                }
            })
        }
    }
}

/// A well-behaved ws-std client: echo one message, close. Proves the server still serves.
fn well_behaved_client(addr: SocketAddr) {
    let (mut ws, _) = ws_std::connect(&format!("ws://{addr}/")).expect("connect");
    ws.set_read_timeout(Some(IO_TIMEOUT));
    ws.send_text("still serving?").expect("send");
    assert_eq!(
        ws.read().expect("echo"),
        Message::Text("still serving?".into())
    );
    ws.close(ws_std::ws_proto::CloseCode::NORMAL, "")
        .expect("close");
    loop {
        match ws.read() {
            Ok(Message::Close(_)) => break,
            Ok(_) => {}
            Err(e) => panic!("closing: {e}"),
        }
    }
}

/// Sends `bytes` on a fresh connection and returns the status of the server's HTTP answer,
/// checking that the server then closes the connection (after a 101, once a Close frame has
/// been exchanged).
fn answer(addr: SocketAddr, bytes: &[u8]) -> u16 {
    let mut stream = tcp_connect(addr);
    // The server may answer and close before it has read everything: a reset on a write
    // is part of the answer, not a failure.
    let _ = stream.write_all(bytes);
    let head = read_head(&mut stream);
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status code");
    if status == 101 {
        stream
            .write_all(&client_frame(OP_CLOSE, &close_payload(1000, "")))
            .expect("close");
        let close = read_frame(&mut stream);
        assert_eq!(close.opcode(), OP_CLOSE);
        expect_closed(&mut stream);
        return status;
    }
    let length: usize = header_value(&head, "Content-Length")
        .and_then(|v| v.parse().ok())
        .expect("Content-Length");
    let mut body = vec![0; length];
    stream.read_exact(&mut body).expect("body");
    assert_eq!(header_value(&head, "Connection"), Some("close"), "{head}");
    expect_closed(&mut stream);
    status
}

/// The peer has closed: end of stream, or a reset because unread bytes were discarded.
fn expect_closed(stream: &mut TcpStream) {
    let mut buf = [0u8; 64];
    match stream.read(&mut buf) {
        Ok(0) => {}
        Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {}
        Ok(n) => panic!("expected the connection closed, got {:?}", &buf[..n]),
        Err(e) => panic!("expected the connection closed, got {e}"),
    }
}

fn request_with(headers: &[String]) -> Vec<u8> {
    let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
    request("GET / HTTP/1.1", &headers)
}

fn refused_with(outcome: &Outcome) -> &HandshakeError {
    match outcome {
        Outcome::Refused(Error::Handshake(e)) => e,
        other => panic!("expected a refused handshake, got {other:?}"),
    }
}

// ----- Handshake: slow, large and many ------------------------------------------------------

#[test]
fn slowloris_is_cut_by_the_handshake_timeout() {
    let timeout = Duration::from_millis(300);
    let (addr, server) = serve(ServerBuilder::new().handshake_timeout(Some(timeout)), 2);
    let mut stream = tcp_connect(addr);
    let started = Instant::now();
    // A valid request, one byte every 20 ms: 3 s in all, ten times the timeout.
    let request = valid_request();
    let mut cut_after = None;
    for (i, byte) in request.iter().enumerate() {
        if stream.write_all(&[*byte]).is_err() {
            cut_after = Some(i);
            break;
        }
        // Once the server has closed, a read returns end of stream at once.
        stream.set_nonblocking(true).expect("nonblocking");
        let mut buf = [0u8; 1];
        let closed = match stream.read(&mut buf) {
            Ok(0) => true,
            Ok(_) => panic!("the server answered a request it has not seen"),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => false,
            Err(_) => true,
        };
        stream.set_nonblocking(false).expect("blocking");
        if closed {
            cut_after = Some(i);
            break;
        }
        thread::sleep(Duration::from_millis(20)); // the attack: trickle
    }
    let cut_after = cut_after.expect("the server let the trickled request finish");
    assert!(cut_after < request.len());
    assert!(started.elapsed() >= timeout, "cut before the timeout");
    well_behaved_client(addr);
    let outcomes = server.join();
    match &outcomes[0] {
        // Documented: `HandshakeError::Timeout` when the handshake timeout expires; no HTTP
        // answer.
        Outcome::Refused(Error::Handshake(HandshakeError::Timeout)) => {}
        other => panic!("expected the handshake timeout, got {other:?}"),
    }
    assert!(matches!(outcomes[1], Outcome::Served(Ok(()))));
}

/// A stream that counts the bytes the server reads.
struct Counting {
    inner: TcpStream,
    read: Arc<AtomicUsize>,
}

impl Read for Counting {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n, Ordering::Relaxed);
        Ok(n)
    }
}

impl Write for Counting {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl Transport for Counting {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.inner.set_read_timeout(timeout)
    }
    fn shutdown(&mut self) -> io::Result<()> {
        Transport::shutdown(&mut self.inner)
    }
}

/// The largest single read the handshake makes (ws-std reads the head 4 KiB at a time).
const HANDSHAKE_READ: usize = 4096;

/// Runs a server on one connection through [`Counting`]; returns its outcome and bytes read.
fn counted_server(limits: Limits) -> (SocketAddr, Peer<(Outcome, usize)>) {
    serve_one(move |stream| {
        let read = Arc::new(AtomicUsize::new(0));
        let counting = Counting {
            inner: stream,
            read: Arc::clone(&read),
        };
        let outcome = serve_connection(ServerBuilder::new().limits(limits), counting);
        (outcome, read.load(Ordering::Relaxed))
    })
}

#[test]
fn one_mebibyte_header_block_is_refused_after_reading_at_most_the_limit() {
    // Parsing cost stays linear: the server reads at most the limit plus one read, then
    // answers 431, however much more the client sends. (The parser is re-run on the whole
    // buffer after each read, so the work is bounded by limit * limit / read size.)
    let limits = Limits::default();
    let (addr, server) = counted_server(limits);
    let mut block = b"GET / HTTP/1.1\r\nHost: a\r\nX-Big: ".to_vec();
    block.resize(1 << 20, b'a');
    block.extend_from_slice(b"\r\n\r\n");
    let writer_addr = addr;
    let mut stream = tcp_connect(writer_addr);
    let mut reader = stream.try_clone().expect("clone");
    let writer = spawn(move || {
        // Stops when the server closes (reset or broken pipe).
        let _ = stream.write_all(&block);
    });
    let head = read_head(&mut reader);
    assert!(head.starts_with("HTTP/1.1 431 "), "{head}");
    let (outcome, read) = server.join();
    assert_eq!(refused_with(&outcome), &HandshakeError::HeadersTooLarge);
    assert!(
        read <= limits.max_header_bytes + HANDSHAKE_READ,
        "the server read {read} bytes for a {} byte limit",
        limits.max_header_bytes
    );
    drop(reader);
    writer.join();
}

#[test]
fn header_block_over_the_limit_gets_431_and_the_server_goes_on() {
    let limits = Limits::default().with_max_header_bytes(1024);
    let (addr, server) = serve(ServerBuilder::new().limits(limits), 2);
    let mut headers = valid_headers();
    headers.push(format!("X-Padding: {}", "p".repeat(1100)));
    assert_eq!(answer(addr, &request_with(&headers)), 431);
    well_behaved_client(addr);
    let outcomes = server.join();
    assert_eq!(refused_with(&outcomes[0]), &HandshakeError::HeadersTooLarge);
}

#[test]
fn thousands_of_headers_get_431() {
    // 3000 three-byte headers fit in the 16 KiB byte limit but not the 64-header limit.
    let (addr, server) = serve(ServerBuilder::new(), 2);
    let mut headers = valid_headers();
    headers.extend((0..3000).map(|_| "a:b".to_string()));
    assert_eq!(answer(addr, &request_with(&headers)), 431);
    well_behaved_client(addr);
    let outcomes = server.join();
    assert_eq!(refused_with(&outcomes[0]), &HandshakeError::TooManyHeaders);
}

#[test]
fn very_long_lines_get_431() {
    let (addr, server) = serve(ServerBuilder::new(), 3);
    // A 100 KiB request line.
    let line = format!("GET /{} HTTP/1.1", "a".repeat(100 << 10));
    let headers = valid_headers();
    let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
    assert_eq!(answer(addr, &request(&line, &headers)), 431);
    // A 100 KiB header value.
    let mut long_value = valid_headers();
    long_value.push(format!("Cookie: {}", "c".repeat(100 << 10)));
    assert_eq!(answer(addr, &request_with(&long_value)), 431);
    well_behaved_client(addr);
    let outcomes = server.join();
    assert_eq!(refused_with(&outcomes[0]), &HandshakeError::HeadersTooLarge);
    assert_eq!(refused_with(&outcomes[1]), &HandshakeError::HeadersTooLarge);
}

// ----- Handshake: request smuggling shapes --------------------------------------------------

/// A request shape and the status the server answers it with.
struct Shape {
    name: &'static str,
    request: Vec<u8>,
    status: u16,
}

fn replace(headers: &[String], prefix: &str, with: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for h in headers {
        if h.starts_with(prefix) {
            out.extend(with.iter().map(|w| w.to_string()));
        } else {
            out.push(h.clone());
        }
    }
    out
}

fn smuggling_shapes() -> Vec<Shape> {
    let valid = valid_headers();
    let valid_refs: Vec<&str> = valid.iter().map(String::as_str).collect();
    let with_line = |extra: &str| {
        let mut h = valid.clone();
        h.push(extra.to_string());
        request_with(&h)
    };
    let crlf_to_lf = |bytes: Vec<u8>| -> Vec<u8> {
        String::from_utf8(bytes)
            .expect("ASCII")
            .replace("\r\n", "\n")
            .into_bytes()
    };
    vec![
        // RFC 6455 section 11.3.1: the key "MUST NOT appear more than once".
        Shape {
            name: "duplicate Sec-WebSocket-Key",
            request: with_line("Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEC=="),
            status: 400,
        },
        Shape {
            name: "duplicate Host",
            request: with_line("Host: other.example"),
            status: 400,
        },
        // RFC 7230 section 3.2.4: a server "MUST either reject the message by sending a 400
        // (Bad Request) ... or replace each received obs-fold with one or more SP".
        Shape {
            name: "obs-fold",
            request: with_line("X-Folded: a\r\n b"),
            status: 400,
        },
        Shape {
            name: "obs-fold continuing the key",
            request: request_with(&replace(
                &valid,
                "Sec-WebSocket-Key",
                &["Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25j\r\n ZQ=="],
            )),
            status: 400,
        },
        // RFC 7230 section 3.5: "a recipient MAY recognize a single LF as a line terminator
        // and ignore any preceding CR". Accepted: the lines mean the same either way.
        Shape {
            name: "bare LF line endings",
            request: crlf_to_lf(valid_request()),
            status: 101,
        },
        // RFC 9112 section 2.2: a bare CR "MUST" be treated as invalid (or replaced by SP).
        Shape {
            name: "bare CR inside a value",
            request: with_line("X-Cr: a\rb"),
            status: 400,
        },
        Shape {
            name: "NUL in a header value",
            request: with_line("X-Nul: a\0b"),
            status: 400,
        },
        Shape {
            name: "NUL in a header name",
            request: with_line("X-N\0ul: a"),
            status: 400,
        },
        Shape {
            name: "NUL in the request target",
            request: request("GET /a\0b HTTP/1.1", &valid_refs),
            status: 400,
        },
        Shape {
            name: "space before the colon",
            request: with_line("Upgrade : h2c"),
            status: 400,
        },
        // RFC 6455 section 4.2.1, item 1: the method must be GET.
        Shape {
            name: "POST",
            request: request("POST / HTTP/1.1", &valid_refs),
            status: 400,
        },
        Shape {
            name: "CONNECT",
            request: request("CONNECT 127.0.0.1:80 HTTP/1.1", &valid_refs),
            status: 400,
        },
        // "HTTP/1.1 or higher"; RFC 7230 section 6.7: "A server MUST ignore an Upgrade
        // header field that is received in an HTTP/1.0 request."
        Shape {
            name: "HTTP/1.0",
            request: request("GET / HTTP/1.0", &valid_refs),
            status: 400,
        },
        Shape {
            name: "HTTP/2.0 on an HTTP/1 connection",
            request: request("GET / HTTP/2.0", &valid_refs),
            status: 400,
        },
        // RFC 7230 section 5.3.2: "a server MUST accept the absolute-form in requests".
        Shape {
            name: "absolute-form URI",
            request: request("GET http://127.0.0.1/chat?x=1 HTTP/1.1", &valid_refs),
            status: 101,
        },
        Shape {
            name: "absolute-form with a ws scheme",
            request: request("GET ws://127.0.0.1/chat HTTP/1.1", &valid_refs),
            status: 400,
        },
        Shape {
            name: "authority-form",
            request: request("GET 127.0.0.1:80 HTTP/1.1", &valid_refs),
            status: 400,
        },
        Shape {
            name: "asterisk-form",
            request: request("GET * HTTP/1.1", &valid_refs),
            status: 400,
        },
        // A body on the upgrade request: bytes after the header block would be read as
        // frames by us but as a body by any HTTP intermediary.
        Shape {
            name: "Content-Length body",
            request: with_line("Content-Length: 5"),
            status: 400,
        },
        Shape {
            name: "Transfer-Encoding: chunked",
            request: with_line("Transfer-Encoding: chunked"),
            status: 400,
        },
        // RFC 6455 section 11.3.5: the version "MUST NOT appear more than once".
        Shape {
            name: "version 13 and 8",
            request: with_line("Sec-WebSocket-Version: 8"),
            status: 400,
        },
        Shape {
            name: "userinfo in an absolute-form URI",
            request: request("GET http://user@127.0.0.1/chat HTTP/1.1", &valid_refs),
            status: 400,
        },
    ]
}

#[test]
fn request_smuggling_shapes_get_the_documented_answer_and_the_server_goes_on() {
    let shapes = smuggling_shapes();
    let (addr, server) = serve(ServerBuilder::new(), shapes.len() + 1);
    let mut wrong = Vec::new();
    for shape in &shapes {
        let status = answer(addr, &shape.request);
        if status != shape.status {
            wrong.push(format!(
                "{}: {status}, expected {}",
                shape.name, shape.status
            ));
        }
    }
    well_behaved_client(addr);
    let outcomes = server.join();
    assert!(wrong.is_empty(), "wrong answers: {wrong:#?}");
    assert!(matches!(outcomes.last(), Some(Outcome::Served(Ok(())))));
}

// ----- Frames -------------------------------------------------------------------------------

/// A server with `config` on one connection; a raw client completes the handshake and sends
/// `bytes`. Checks the server answers with a Close frame carrying `code`, then closes, and
/// returns the server's outcome.
fn frames_get_close(config: Config, bytes: &[u8], code: u16) -> Outcome {
    let (addr, server) = serve(ServerBuilder::new().config(config), 2);
    let mut raw = raw_client_handshake(addr);
    raw.write_all(bytes).expect("write frames");
    let mut close = read_frame(&mut raw);
    while close.opcode() != OP_CLOSE {
        close = read_frame(&mut raw);
    }
    assert_eq!(close.close_code(), Some(code), "{close:?}");
    assert!(!close.masked);
    expect_closed(&mut raw);
    well_behaved_client(addr);
    let mut outcomes = server.join();
    outcomes.swap_remove(0)
}

fn protocol_error(outcome: &Outcome) -> ProtocolError {
    match outcome {
        Outcome::Served(Err(Error::Protocol(e))) => *e,
        other => panic!("expected a protocol error, got {other:?}"),
    }
}

/// A masked frame header with a 64-bit length and no payload.
fn header_64(first: u8, len: u64) -> Vec<u8> {
    let mut out = vec![first, 0x80 | 127];
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&MASK);
    out
}

#[test]
fn length_with_the_top_bit_set_fails_with_1002() {
    // RFC 6455 section 5.2: "the most significant bit MUST be 0".
    let outcome = frames_get_close(Config::default(), &header_64(0x82, 1 << 63), 1002);
    assert_eq!(
        protocol_error(&outcome),
        ProtocolError::InvalidPayloadLength
    );
}

#[test]
fn largest_legal_length_fails_with_1009_before_any_payload() {
    // 2^63 - 1 bytes announced, none sent: the answer comes from the header alone.
    let outcome = frames_get_close(Config::default(), &header_64(0x82, (1 << 63) - 1), 1009);
    assert_eq!(protocol_error(&outcome), ProtocolError::FrameTooLarge);
}

#[test]
fn length_past_the_message_limit_fails_with_1009_before_any_payload() {
    let mut config = Config::default();
    config.max_message_size = 1024;
    let outcome = frames_get_close(config, &header_64(0x82, 1025), 1009);
    assert_eq!(protocol_error(&outcome), ProtocolError::MessageTooLarge);
}

#[test]
fn fragment_flood_is_bounded_by_the_message_limit() {
    // 4097 one-byte fragments against a 4 KiB message limit: the message grows one byte per
    // fragment and fails with 1009 at the fragment that crosses the limit. No fragment-count
    // limit is needed: memory is bounded by max_message_size, and each fragment costs the
    // sender at least 6 bytes.
    let mut config = Config::default();
    config.max_message_size = 4096;
    let mut bytes = frame(OP_BINARY, Some(MASK), b"x");
    for _ in 0..4096 {
        bytes.extend(frame(OP_CONT, Some(MASK), b"x"));
    }
    let outcome = frames_get_close(config, &bytes, 1009);
    assert_eq!(protocol_error(&outcome), ProtocolError::MessageTooLarge);
}

#[test]
fn empty_fragment_flood_costs_no_memory_and_the_message_arrives() {
    // 100 000 empty continuation frames: the message never grows, nothing is queued per
    // fragment, and the message arrives intact.
    let (addr, server) = serve(ServerBuilder::new(), 1);
    let mut raw = raw_client_handshake(addr);
    let mut bytes = frame(OP_TEXT, Some(MASK), b"he");
    for _ in 0..100_000 {
        bytes.extend(frame(OP_CONT, Some(MASK), b""));
    }
    bytes.extend(frame(0x80 | OP_CONT, Some(MASK), b"llo"));
    let mut writer = raw.try_clone().expect("clone");
    let w = spawn(move || writer.write_all(&bytes).expect("write flood"));
    let echo = read_frame(&mut raw);
    assert_eq!(
        (echo.opcode(), echo.payload.as_slice()),
        (OP_TEXT, &b"hello"[..])
    );
    w.join();
    raw.write_all(&client_frame(OP_CLOSE, &close_payload(1000, "")))
        .expect("close");
    assert_eq!(read_frame(&mut raw).opcode(), OP_CLOSE);
    let outcomes = server.join();
    assert!(matches!(outcomes[0], Outcome::Served(Ok(()))));
}

#[test]
fn ping_flood_without_reading_pongs_is_held_by_socket_backpressure() {
    // The peer pings and never reads. ws-std writes each Pong before returning the Ping, so
    // once the socket buffers are full the server's write blocks: it stops reading, and what
    // it owes is bounded by one read buffer of Pings (256 KiB in, under 256 KiB of Pongs
    // out) plus the socket buffers. With a write timeout on the socket the server's `read` fails
    // with a timeout instead of blocking for ever.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = spawn(move || {
        let stream = accept_within(&listener, DEADLINE);
        stream.set_nonblocking(false).expect("blocking");
        stream
            .set_write_timeout(Some(Duration::from_millis(200)))
            .expect("write timeout");
        let mut ws = ServerBuilder::new().accept(stream).expect("handshake");
        ws.set_read_timeout(Some(IO_TIMEOUT));
        let mut pings = 0u64;
        let error = loop {
            match ws.read() {
                Ok(Message::Ping(_)) => pings += 1,
                Ok(other) => panic!("unexpected {other:?}"),
                Err(e) => break e,
            }
        };
        (pings, error, ws.connection().buffered_amount())
    });
    let mut raw = raw_client_handshake(addr);
    raw.set_write_timeout(Some(Duration::from_millis(500)))
        .expect("write timeout");
    let ping = client_frame(OP_PING, &[b'p'; 125]);
    let batch: Vec<u8> = ping
        .iter()
        .copied()
        .cycle()
        .take(ping.len() * 512)
        .collect();
    // Write until the server stops reading (our write times out) or 64 MiB have gone.
    let mut sent = 0usize;
    while sent < 64 << 20 {
        match raw.write(&batch) {
            Ok(n) => sent += n,
            Err(_) => break,
        }
    }
    let (pings, error, buffered) = server.join();
    match error {
        Error::Io(e) => assert!(
            matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ),
            "{e}"
        ),
        other => panic!("expected the write timeout, got {other}"),
    }
    assert!(pings > 0);
    // What the server owes, queued in the connection (a write that stops early keeps the
    // rest queued there), is the Pongs for at most one read buffer (256 KiB) of Pings: the
    // server stopped reading when its writes stalled.
    assert!(
        buffered > 0 && buffered < 256 * 1024,
        "{buffered} bytes queued"
    );
    assert!(
        sent < 64 << 20,
        "the server kept reading without writing its Pongs"
    );
}

#[test]
fn deflate_bomb_fails_with_1009_after_inflating_at_most_the_limit() {
    // permessage-deflate is negotiated by default. 16 MiB of zeros compress to about 16 KiB;
    // the server inflates at most its 1 MiB limit and fails the connection with 1009.
    let mut config = Config::default();
    config.max_message_size = 1 << 20;
    let (addr, server) = serve(ServerBuilder::new().config(config), 2);
    let (mut ws, response) = ws_std::connect(&format!("ws://{addr}/")).expect("connect");
    assert!(
        response
            .extensions()
            .iter()
            .any(|e| e.name == "permessage-deflate"),
        "permessage-deflate not negotiated"
    );
    ws.set_read_timeout(Some(IO_TIMEOUT));
    ws.send_binary(&vec![0; 16 << 20]).expect("send the bomb");
    match ws.read() {
        Ok(Message::Close(Some(frame))) => assert_eq!(frame.code.as_u16(), 1009),
        other => panic!("expected Close 1009, got {other:?}"),
    }
    well_behaved_client(addr);
    let outcomes = server.join();
    assert_eq!(protocol_error(&outcomes[0]), ProtocolError::MessageTooLarge);
}

#[test]
fn unmasked_client_frame_fails_with_1002() {
    let outcome = frames_get_close(
        Config::default(),
        &frame(0x80 | OP_TEXT, None, b"unmasked"),
        1002,
    );
    assert_eq!(protocol_error(&outcome), ProtocolError::UnmaskedClientFrame);
}

#[test]
fn control_frame_with_a_long_payload_fails_with_1002() {
    let outcome = frames_get_close(Config::default(), &client_frame(OP_PING, &[0; 126]), 1002);
    assert_eq!(protocol_error(&outcome), ProtocolError::ControlFrameTooLong);
}
