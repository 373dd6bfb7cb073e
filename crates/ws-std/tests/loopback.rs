//! ws-std over real loopback TCP (127.0.0.1:0): a ws-std client against a ws-std server, and
//! hand-written raw peers (see `common`) for what a well-behaved peer never sends.
//!
//! Every socket has a read timeout and every peer thread is joined with a deadline, so a
//! failure cannot hang the suite. The keepalive and close-timeout tests use short real
//! durations (100 ms): they check that the adapter wires ws-proto's timers (tested with a
//! simulated clock in ws-proto) to the socket's read timeouts.

mod common;

use std::io::{self, Write};
use std::net::SocketAddr;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::*;
use ws_std::ws_proto::handshake::Limits;
use ws_std::ws_proto::{
    Chunk, CloseCode, CloseFrame, Config, DataKind, HandshakeError, MessageMode, ProtocolError,
    SendError, State, Timeout,
};
use ws_std::{
    ClientBuilder, Error, HttpResponse, MaybeTlsStream, Message, ServerBuilder, Transport,
    WebSocket,
};

/// Both ends: the client's stream, and the server's TCP stream in the same type.
type Ws = WebSocket<MaybeTlsStream>;

/// `assert!(matches!(..))` that prints the value on failure.
macro_rules! assert_matches {
    ($value:expr, $pattern:pat $(if $guard:expr)?) => {
        match $value {
            $pattern $(if $guard)? => {}
            other => panic!(
                "expected {}, got {:?}",
                stringify!($pattern $(if $guard)?),
                other
            ),
        }
    };
}

// ----- Helpers ------------------------------------------------------------------------------

fn ws_url(addr: SocketAddr, resource: &str) -> String {
    format!("ws://{addr}{resource}")
}

/// Accepts one WebSocket connection with `builder` and runs `f` on it.
fn ws_server<T, F>(builder: ServerBuilder, f: F) -> (SocketAddr, Peer<T>)
where
    T: Send + 'static,
    F: FnOnce(Ws) -> T + Send + 'static,
{
    serve_one(move |stream| {
        let mut ws = builder
            .accept(MaybeTlsStream::from(stream))
            .expect("server handshake");
        ws.set_read_timeout(Some(IO_TIMEOUT));
        f(ws)
    })
}

fn config(edit: impl FnOnce(&mut Config)) -> Config {
    let mut config = Config::default();
    edit(&mut config);
    config
}

fn connect(addr: SocketAddr) -> Ws {
    connect_with(ClientBuilder::new(&ws_url(addr, "/")))
}

fn connect_with(builder: ClientBuilder) -> Ws {
    let (mut ws, response) = builder.connect().expect("client handshake");
    assert_eq!(response.status(), 101);
    ws.set_read_timeout(Some(IO_TIMEOUT));
    ws
}

/// Echoes data messages until the peer's Close frame, which it returns; checks that the
/// connection is then closed.
fn echo_until_close<S: Transport>(ws: &mut WebSocket<S>) -> Option<CloseFrame> {
    loop {
        match ws.read().expect("server read") {
            Message::Text(t) => ws.send_text(&t).expect("echo text"),
            Message::Binary(b) => ws.send_binary(&b).expect("echo binary"),
            Message::Ping(_) | Message::Pong(_) => {}
            Message::Close(frame) => {
                assert_matches!(ws.read(), Err(Error::ConnectionClosed));
                assert_eq!(ws.connection().state(), State::Closed);
                return frame;
            }
            other => panic!("echo server got {other:?}"),
        }
    }
}

fn echo_server(builder: ServerBuilder) -> (SocketAddr, Peer<Option<CloseFrame>>) {
    ws_server(builder, |mut ws| echo_until_close(&mut ws))
}

fn close_frame(code: u16, reason: &str) -> Option<CloseFrame> {
    Some(CloseFrame {
        code: CloseCode::from(code),
        reason: reason.into(),
    })
}

/// Client side of a normal closing handshake: Close 1000 "done", then read the reply (the
/// server echoes the code with an empty reason) and check the connection is closed.
fn close_client(ws: &mut Ws) {
    ws.close(CloseCode::NORMAL, "done").expect("client close");
    assert_eq!(
        ws.read().expect("close reply"),
        Message::Close(close_frame(1000, ""))
    );
    assert_matches!(ws.read(), Err(Error::ConnectionClosed));
    assert_eq!(ws.connection().state(), State::Closed);
}

/// Deterministic binary payload.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i.wrapping_mul(31) % 251) as u8).collect()
}

/// Text of exactly `len` bytes mixing 1-, 2- and 3-byte characters.
fn mixed_text(len: usize) -> String {
    let unit = "κόσμε-ascii-€-";
    let mut s = unit.repeat(len / unit.len() + 1);
    while s.len() > len {
        s.pop();
    }
    while s.len() < len {
        s.push('x');
    }
    s
}

/// Reads one streamed message: checks the chunk flags and kinds, returns the chunks.
fn read_chunks(ws: &mut Ws) -> Vec<Chunk> {
    let mut chunks: Vec<Chunk> = Vec::new();
    loop {
        match ws.read().expect("read chunk") {
            Message::Chunk(chunk) => {
                assert_eq!(
                    chunk.first,
                    chunks.is_empty(),
                    "first flag of chunk {}",
                    chunks.len()
                );
                if let Some(previous) = chunks.first() {
                    assert_eq!(chunk.kind, previous.kind);
                }
                let last = chunk.last;
                chunks.push(chunk);
                if last {
                    return chunks;
                }
            }
            other => panic!("expected a chunk, got {other:?}"),
        }
    }
}

fn concat(chunks: &[Chunk]) -> Vec<u8> {
    chunks.iter().flat_map(|c| c.data.iter().copied()).collect()
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

// ----- Echo ---------------------------------------------------------------------------------

#[test]
fn echo_text_binary_and_empty_messages() {
    let (addr, server) = echo_server(ServerBuilder::new());
    let mut ws = connect(addr);
    let messages = [
        Message::Text("hello".into()),
        Message::Text("κόσμε".into()),
        Message::Binary(vec![0, 1, 2, 0x80, 0xfe, 0xff]),
        Message::Text(String::new()),
        Message::Binary(Vec::new()),
    ];
    for message in &messages {
        ws.send(message.clone()).expect("send");
        assert_eq!(ws.read().expect("echo"), *message);
    }
    // `write` only queues; one `flush` sends the batch, which comes back in order.
    for message in &messages {
        ws.write(message.clone()).expect("write");
    }
    ws.flush().expect("flush");
    for message in &messages {
        assert_eq!(ws.read().expect("echo of batch"), *message);
    }
    close_client(&mut ws);
    assert_eq!(server.join(), close_frame(1000, "done"));
}

#[test]
fn echo_one_mebibyte_text_and_binary() {
    let (addr, server) = echo_server(ServerBuilder::new());
    let mut ws = connect(addr);
    let text = mixed_text(1 << 20);
    ws.send_text(&text).expect("send text");
    assert_eq!(ws.read().expect("echo"), Message::Text(text));
    let data = pattern(1 << 20);
    ws.send_binary(&data).expect("send binary");
    assert_eq!(ws.read().expect("echo"), Message::Binary(data));
    close_client(&mut ws);
    assert_eq!(server.join(), close_frame(1000, "done"));
}

#[test]
fn echo_sixteen_mebibyte_binary() {
    let (addr, server) = echo_server(ServerBuilder::new());
    let mut ws = connect(addr);
    let data = pattern(16 << 20);
    ws.send_binary(&data).expect("send");
    match ws.read().expect("echo") {
        Message::Binary(echo) => {
            assert_eq!(echo.len(), data.len());
            assert!(echo == data, "16 MiB echo differs");
        }
        other => panic!("expected binary, got {other:?}"),
    }
    close_client(&mut ws);
    assert_eq!(server.join(), close_frame(1000, "done"));
}

#[test]
fn fragments_sent_by_the_client_arrive_reassembled() {
    let (addr, server) = echo_server(ServerBuilder::new());
    let mut ws = connect(addr);
    let text = "hello κόσμε";
    let b = text.as_bytes();
    // b[6..8] is "κ": the first fragment ends inside it.
    ws.send_fragment(DataKind::Text, &b[..7], false).unwrap();
    // A control frame may come between fragments; data messages may not.
    ws.ping(b"between").unwrap();
    assert_matches!(
        ws.send_text("other"),
        Err(Error::Send(SendError::FragmentOutOfOrder))
    );
    assert_matches!(
        ws.send_fragment(DataKind::Binary, b"x", false),
        Err(Error::Send(SendError::FragmentOutOfOrder))
    );
    ws.send_fragment(DataKind::Text, &b[7..10], false).unwrap();
    ws.send_fragment(DataKind::Text, b"", false).unwrap();
    ws.send_fragment(DataKind::Text, &b[10..], true).unwrap();
    assert_eq!(ws.read().unwrap(), Message::Pong(b"between".to_vec()));
    assert_eq!(ws.read().unwrap(), Message::Text(text.into()));

    // Binary, ending with an empty final fragment, sent as `Message::Chunk`s.
    for (data, first, last) in [
        (&[1u8, 2, 3][..], true, false),
        (&[4], false, false),
        (&[], false, true),
    ] {
        ws.send(Message::Chunk(Chunk {
            kind: DataKind::Binary,
            data: data.to_vec(),
            first,
            last,
        }))
        .unwrap();
    }
    assert_eq!(ws.read().unwrap(), Message::Binary(vec![1, 2, 3, 4]));
    close_client(&mut ws);
    assert_eq!(server.join(), close_frame(1000, "done"));
}

#[test]
fn fragments_sent_by_the_server_arrive_reassembled() {
    let data = pattern(300 * 1024);
    let expected = data.clone();
    let (addr, server) = ws_server(ServerBuilder::new(), move |mut ws| {
        for (i, piece) in data.chunks(100 * 1024).enumerate() {
            ws.send_fragment(DataKind::Binary, piece, i == 2).unwrap();
        }
        echo_until_close(&mut ws)
    });
    let mut ws = connect(addr);
    assert_eq!(ws.read().unwrap(), Message::Binary(expected));
    close_client(&mut ws);
    assert_eq!(server.join(), close_frame(1000, "done"));
}

#[test]
fn stream_mode_client_gets_chunks_that_concatenate_to_the_messages() {
    let big = pattern(1 << 20);
    let text = mixed_text(50_000);
    let (big2, text2) = (big.clone(), text.clone());
    let (addr, server) = ws_server(ServerBuilder::new(), move |mut ws| {
        ws.send_binary(&big2).unwrap();
        // Fragment boundaries inside multi-byte characters.
        let t = text2.as_bytes();
        ws.send_fragment(DataKind::Text, &t[..1001], false).unwrap();
        ws.send_fragment(DataKind::Text, &t[1001..20_002], false)
            .unwrap();
        ws.send_fragment(DataKind::Text, &t[20_002..], true)
            .unwrap();
        ws.send_text("").unwrap();
        echo_until_close(&mut ws)
    });
    let mut ws = connect_with(
        ClientBuilder::new(&ws_url(addr, "/"))
            .config(config(|c| c.message_mode = MessageMode::Stream)),
    );

    let chunks = read_chunks(&mut ws);
    assert_eq!(chunks[0].kind, DataKind::Binary);
    assert!(chunks.len() > 1, "1 MiB should be streamed, got one chunk");
    assert!(
        concat(&chunks) == big,
        "binary chunks do not concatenate to the message"
    );

    let chunks = read_chunks(&mut ws);
    assert_eq!(chunks[0].kind, DataKind::Text);
    for c in &chunks {
        assert!(
            std::str::from_utf8(&c.data).is_ok(),
            "text chunk not on a char boundary"
        );
    }
    assert_eq!(String::from_utf8(concat(&chunks)).unwrap(), text);

    let chunks = read_chunks(&mut ws);
    assert_eq!(
        chunks,
        vec![Chunk {
            kind: DataKind::Text,
            data: Vec::new(),
            first: true,
            last: true
        }]
    );
    close_client(&mut ws);
    assert_eq!(server.join(), close_frame(1000, "done"));
}

#[test]
fn stream_mode_server_gets_chunks_that_concatenate_to_the_message() {
    let server_builder =
        ServerBuilder::new().config(config(|c| c.message_mode = MessageMode::Stream));
    let (addr, server) = ws_server(server_builder, |mut ws| {
        let chunks = read_chunks(&mut ws);
        assert_matches!(ws.read(), Ok(Message::Close(_)));
        chunks
    });
    let text = mixed_text(300 * 1024);
    let mut ws = connect(addr);
    let t = text.as_bytes();
    ws.send_fragment(DataKind::Text, &t[..100_001], false)
        .unwrap();
    ws.send_fragment(DataKind::Text, &t[100_001..], true)
        .unwrap();
    ws.close(CloseCode::NORMAL, "").unwrap();
    assert_matches!(ws.read(), Ok(Message::Close(_)));

    let chunks = server.join();
    assert_eq!(chunks[0].kind, DataKind::Text);
    assert!(
        chunks.len() > 1,
        "300 KiB should be streamed, got one chunk"
    );
    for c in &chunks {
        assert!(
            std::str::from_utf8(&c.data).is_ok(),
            "text chunk not on a char boundary"
        );
    }
    assert_eq!(String::from_utf8(concat(&chunks)).unwrap(), text);
}

// ----- Ping and close -----------------------------------------------------------------------

#[test]
fn pings_are_answered_with_pongs_carrying_the_same_payload() {
    let (addr, server) = ws_server(ServerBuilder::new(), |mut ws| {
        assert_eq!(ws.read().unwrap(), Message::Ping(b"client ping".to_vec()));
        ws.ping(b"server ping").unwrap();
        assert_eq!(ws.read().unwrap(), Message::Pong(b"server ping".to_vec()));
        echo_until_close(&mut ws)
    });
    let mut ws = connect(addr);
    ws.ping(b"client ping").unwrap();
    assert_eq!(ws.read().unwrap(), Message::Pong(b"client ping".to_vec()));
    // The server's Ping; the automatic Pong goes out with the next send (`ping` below).
    assert_eq!(ws.read().unwrap(), Message::Ping(b"server ping".to_vec()));
    ws.ping(b"").unwrap();
    assert_eq!(ws.read().unwrap(), Message::Pong(Vec::new()));
    ws.ping(&[7; 125]).unwrap();
    assert_eq!(ws.read().unwrap(), Message::Pong(vec![7; 125]));
    assert_matches!(
        ws.ping(&[7; 126]),
        Err(Error::Send(SendError::ControlPayloadTooLong))
    );
    close_client(&mut ws);
    assert_eq!(server.join(), close_frame(1000, "done"));
}

#[test]
fn server_initiated_close_is_seen_by_the_client() {
    let (addr, server) = ws_server(ServerBuilder::new(), |mut ws| {
        // Wait for the client to be past the handshake, so our Close frame cannot arrive
        // with the 101 (the client would then see it before its first read).
        assert_eq!(ws.read().unwrap(), Message::Text("ready".into()));
        ws.close(CloseCode::from(4000), "server bye").unwrap();
        assert_eq!(ws.connection().state(), State::Closing);
        assert_matches!(
            ws.send_text("more"),
            Err(Error::Send(SendError::AlreadyClosing))
        );
        // Data the client sent before it saw our Close frame is still delivered.
        assert_eq!(ws.read().unwrap(), Message::Text("late".into()));
        assert_eq!(ws.read().unwrap(), Message::Close(close_frame(4000, "")));
        assert_matches!(ws.read(), Err(Error::ConnectionClosed));
        assert_matches!(ws.send_text("x"), Err(Error::Send(SendError::Closed)));
        assert_eq!(ws.connection().state(), State::Closed);
    });
    let mut ws = connect(addr);
    ws.send_text("ready").unwrap();
    // Not yet read: the client does not know about the server's Close frame.
    ws.send_text("late").unwrap();
    assert_eq!(
        ws.read().unwrap(),
        Message::Close(close_frame(4000, "server bye"))
    );
    assert_eq!(ws.connection().state(), State::Closed);
    assert_matches!(ws.read(), Err(Error::ConnectionClosed));
    assert_matches!(ws.read(), Err(Error::ConnectionClosed));
    assert_matches!(ws.send_text("x"), Err(Error::Send(SendError::Closed)));
    assert_matches!(ws.ping(b""), Err(Error::Send(SendError::Closed)));
    assert_matches!(
        ws.close(CloseCode::NORMAL, ""),
        Err(Error::Send(SendError::Closed))
    );
    server.join();
}

#[test]
fn client_initiated_close_is_seen_by_the_server() {
    let (addr, server) = ws_server(ServerBuilder::new(), |mut ws| {
        let close = ws.read().unwrap();
        let after = ws.read();
        let send = ws.send_text("x");
        (close, format!("{after:?}"), format!("{send:?}"))
    });
    let mut ws = connect(addr);
    ws.close(CloseCode::GOING_AWAY, "bye now").unwrap();
    assert_matches!(
        ws.send_text("more"),
        Err(Error::Send(SendError::AlreadyClosing))
    );
    assert_matches!(ws.ping(b""), Err(Error::Send(SendError::AlreadyClosing)));
    assert_matches!(
        ws.close(CloseCode::NORMAL, ""),
        Err(Error::Send(SendError::AlreadyClosing))
    );
    assert_eq!(ws.read().unwrap(), Message::Close(close_frame(1001, "")));
    assert_matches!(ws.read(), Err(Error::ConnectionClosed));
    assert_matches!(ws.send_text("x"), Err(Error::Send(SendError::Closed)));

    let (close, after, send) = server.join();
    assert_eq!(close, Message::Close(close_frame(1001, "bye now")));
    assert_eq!(after, "Err(ConnectionClosed)");
    assert_eq!(send, "Err(Send(Closed))");
}

#[test]
fn sending_close_without_a_frame_sends_status_1000() {
    let (addr, server) = echo_server(ServerBuilder::new());
    let mut ws = connect(addr);
    ws.send(Message::Close(None)).unwrap();
    assert_eq!(ws.read().unwrap(), Message::Close(close_frame(1000, "")));
    assert_eq!(server.join(), close_frame(1000, ""));
}

#[test]
fn invalid_close_arguments_are_refused_and_change_nothing() {
    let (addr, server) = echo_server(ServerBuilder::new());
    let mut ws = connect(addr);
    assert_matches!(
        ws.close(CloseCode::NO_STATUS, ""),
        Err(Error::Send(SendError::InvalidCloseCode(1005)))
    );
    assert_matches!(
        ws.close(CloseCode::ABNORMAL, ""),
        Err(Error::Send(SendError::InvalidCloseCode(1006)))
    );
    assert_matches!(
        ws.close(CloseCode::NORMAL, &"r".repeat(124)),
        Err(Error::Send(SendError::ControlPayloadTooLong))
    );
    assert_eq!(ws.connection().state(), State::Open);
    ws.send_text("still open").unwrap();
    assert_eq!(ws.read().unwrap(), Message::Text("still open".into()));
    // 123 bytes of reason is the most a Close frame can carry.
    let reason = "r".repeat(123);
    ws.close(CloseCode::NORMAL, &reason).unwrap();
    assert_eq!(ws.read().unwrap(), Message::Close(close_frame(1000, "")));
    assert_eq!(server.join(), close_frame(1000, &reason));
}

// ----- Opening handshake --------------------------------------------------------------------

#[derive(Debug)]
struct Seen {
    path: String,
    query: Option<String>,
    resource: String,
    host: String,
    origin: Option<String>,
    protocols: Vec<String>,
    custom: Option<Vec<u8>>,
    authorization: Option<Vec<u8>>,
}

#[test]
fn accept_with_sees_the_request_and_selects_a_subprotocol() {
    let (tx, seen) = mpsc::channel();
    let (addr, server) = serve_one(move |stream| {
        let mut ws = ws_std::accept_with(stream, |request| {
            let _ = tx.send(Seen {
                path: request.path().into(),
                query: request.query().map(String::from),
                resource: request.resource().into(),
                host: request.host().into(),
                origin: request.origin().map(String::from),
                protocols: request.protocols().to_vec(),
                custom: request.header("x-custom").map(<[u8]>::to_vec),
                authorization: request.header("Authorization").map(<[u8]>::to_vec),
            });
            Ok(request
                .accept()
                .protocol("chat.v2")
                .expect("offered")
                .header("X-Server", "yes")
                .expect("valid header"))
        })
        .expect("server handshake");
        ws.set_read_timeout(Some(IO_TIMEOUT));
        assert_eq!(ws.protocol(), Some("chat.v2"));
        echo_until_close(&mut ws)
    });
    let (mut ws, response) = ClientBuilder::new(&ws_url(addr, "/chat/room?id=7&x=y"))
        .header("X-Custom", "hello world")
        .header("Authorization", "Bearer s3cr3t")
        .origin("https://example.com")
        .protocol("chat.v1")
        .protocol("chat.v2")
        .connect()
        .expect("client handshake");
    ws.set_read_timeout(Some(IO_TIMEOUT));
    assert_eq!(response.status(), 101);
    assert_eq!(response.protocol(), Some("chat.v2"));
    assert_eq!(ws.protocol(), Some("chat.v2"));
    assert_eq!(response.header("x-server"), Some(&b"yes"[..]));

    let seen = seen.recv_timeout(DEADLINE).expect("callback ran");
    assert_eq!(seen.path, "/chat/room");
    assert_eq!(seen.query.as_deref(), Some("id=7&x=y"));
    assert_eq!(seen.resource, "/chat/room?id=7&x=y");
    assert_eq!(seen.host, addr.to_string());
    assert_eq!(seen.origin.as_deref(), Some("https://example.com"));
    assert_eq!(seen.protocols, ["chat.v1", "chat.v2"]);
    assert_eq!(seen.custom.as_deref(), Some(&b"hello world"[..]));
    assert_eq!(seen.authorization.as_deref(), Some(&b"Bearer s3cr3t"[..]));

    ws.send_text("over chat.v2").unwrap();
    assert_eq!(ws.read().unwrap(), Message::Text("over chat.v2".into()));
    close_client(&mut ws);
    assert_eq!(server.join(), close_frame(1000, "done"));
}

#[test]
fn no_subprotocol_when_none_is_selected() {
    let (addr, server) = serve_one(|stream| {
        let mut ws = ws_std::accept_with(stream, |request| {
            assert_eq!(request.protocols(), ["a"]);
            assert_eq!(request.origin(), None);
            assert_eq!(request.query(), None);
            Ok(request.accept())
        })
        .expect("server handshake");
        ws.set_read_timeout(Some(IO_TIMEOUT));
        assert_eq!(ws.protocol(), None);
        echo_until_close(&mut ws)
    });
    let (mut ws, response) = ClientBuilder::new(&ws_url(addr, "/"))
        .protocol("a")
        .connect()
        .unwrap();
    ws.set_read_timeout(Some(IO_TIMEOUT));
    assert_eq!(response.protocol(), None);
    assert_eq!(ws.protocol(), None);
    close_client(&mut ws);
    assert_eq!(server.join(), close_frame(1000, "done"));
}

#[test]
fn rejected_request_fails_the_client_with_the_status() {
    let (addr, server) = serve_one(|stream| {
        ws_std::accept_with(stream, |_| {
            Err(HttpResponse::new(403)
                .with_header("X-Reason", "nope")
                .with_body("forbidden"))
        })
        .map(|_| ())
    });
    let result = ClientBuilder::new(&ws_url(addr, "/")).connect();
    let Err(Error::Handshake(HandshakeError::Rejected(response))) = result else {
        panic!("expected a refusal, got {result:?}");
    };
    assert_eq!(response.status(), 403);
    assert_eq!(response.header("X-Reason"), Some(&b"nope"[..]));
    assert_eq!(response.body(), b"forbidden");
    assert_matches!(
        server.join(),
        Err(Error::Handshake(HandshakeError::Rejected(ref sent))) if sent.status() == 403
    );
}

/// A raw HTTP response: status line, header block, body.
struct RawResponse {
    status_line: String,
    head: String,
    body: Vec<u8>,
}

fn parse_http_response(bytes: &[u8]) -> RawResponse {
    let end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header block in {:?}", String::from_utf8_lossy(bytes)))
        + 4;
    let head = String::from_utf8(bytes[..end].to_vec()).expect("ASCII head");
    let status_line = head.split("\r\n").next().unwrap().to_string();
    let body = bytes[end..].to_vec();
    if let Some(len) = header_value(&head, "Content-Length") {
        assert_eq!(len.parse::<usize>().unwrap(), body.len(), "Content-Length");
    }
    RawResponse {
        status_line,
        head,
        body,
    }
}

/// Sends `request` by hand to a server accepting with `builder` and `callback`; returns the
/// whole response (the server closes after it) and the server's error.
///
/// The server keeps a clone of the socket open until the client has closed, so unread
/// request bytes cannot turn its close into a reset that would destroy the response.
fn raw_exchange(
    request: Vec<u8>,
    builder: ServerBuilder,
    callback: fn(&ws_std::Request) -> Result<ws_std::Accept, HttpResponse>,
) -> (RawResponse, Error) {
    let (addr, server) = serve_one(move |stream| {
        let mut keep = stream.try_clone().expect("clone");
        let result = builder.accept_with(stream, callback);
        let _ = std::io::copy(&mut keep, &mut io::sink());
        result.map(|_| ())
    });
    let mut raw = tcp_connect(addr);
    raw.write_all(&request).expect("write request");
    let response = read_to_eof(&mut raw);
    drop(raw);
    let error = server.join().expect_err("handshake should fail");
    (parse_http_response(&response), error)
}

fn accept_all(request: &ws_std::Request) -> Result<ws_std::Accept, HttpResponse> {
    Ok(request.accept())
}

fn headers_with(replace: &str, with: Option<&str>) -> Vec<String> {
    let mut headers: Vec<String> = valid_headers()
        .into_iter()
        .filter(|h| !h.starts_with(replace))
        .collect();
    headers.extend(with.map(String::from));
    headers
}

fn request_of(line: &str, headers: &[String]) -> Vec<u8> {
    let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
    request(line, &headers)
}

#[test]
fn raw_rejection_carries_status_headers_and_body() {
    let (response, error) = raw_exchange(valid_request(), ServerBuilder::new(), |_| {
        Err(HttpResponse::new(403)
            .with_header("X-Reason", "nope")
            .with_body("forbidden"))
    });
    assert_eq!(response.status_line, "HTTP/1.1 403 Forbidden");
    assert_eq!(header_value(&response.head, "X-Reason"), Some("nope"));
    assert_eq!(response.body, b"forbidden");
    assert_matches!(
        error,
        Error::Handshake(HandshakeError::Rejected(ref sent))
            if sent.status() == 403 && sent.body() == b"forbidden"
    );
}

#[test]
fn wrong_version_gets_426_with_the_supported_version() {
    let headers = headers_with("Sec-WebSocket-Version", Some("Sec-WebSocket-Version: 8"));
    let (response, error) = raw_exchange(
        request_of("GET / HTTP/1.1", &headers),
        ServerBuilder::new(),
        accept_all,
    );
    assert!(
        response.status_line.starts_with("HTTP/1.1 426 "),
        "{}",
        response.status_line
    );
    assert_eq!(
        header_value(&response.head, "Sec-WebSocket-Version"),
        Some("13")
    );
    assert_matches!(error, Error::Handshake(HandshakeError::UnsupportedVersion));
}

#[test]
fn oversized_header_block_gets_431() {
    let mut headers = valid_headers();
    // 20 KiB of headers against the default 16 KiB limit.
    for i in 0..20 {
        headers.push(format!("X-Filler-{i}: {}", "f".repeat(1000)));
    }
    let (response, error) = raw_exchange(
        request_of("GET / HTTP/1.1", &headers),
        ServerBuilder::new(),
        accept_all,
    );
    assert!(
        response.status_line.starts_with("HTTP/1.1 431 "),
        "{}",
        response.status_line
    );
    assert_matches!(error, Error::Handshake(HandshakeError::HeadersTooLarge));
}

#[test]
fn too_many_headers_gets_431() {
    let mut headers = valid_headers();
    for i in 0..10 {
        headers.push(format!("X-H{i}: v"));
    }
    let (response, error) = raw_exchange(
        request_of("GET / HTTP/1.1", &headers),
        ServerBuilder::new().limits(Limits::default().with_max_headers(8)),
        accept_all,
    );
    assert!(
        response.status_line.starts_with("HTTP/1.1 431 "),
        "{}",
        response.status_line
    );
    assert_matches!(error, Error::Handshake(HandshakeError::TooManyHeaders));
}

#[test]
fn missing_key_gets_400() {
    let headers = headers_with("Sec-WebSocket-Key", None);
    let (response, error) = raw_exchange(
        request_of("GET / HTTP/1.1", &headers),
        ServerBuilder::new(),
        accept_all,
    );
    assert!(
        response.status_line.starts_with("HTTP/1.1 400 "),
        "{}",
        response.status_line
    );
    assert_matches!(
        error,
        Error::Handshake(HandshakeError::MissingHeader("Sec-WebSocket-Key"))
    );
}

#[test]
fn non_get_request_gets_400() {
    let (response, error) = raw_exchange(
        request_of("POST / HTTP/1.1", &valid_headers()),
        ServerBuilder::new(),
        accept_all,
    );
    assert!(
        response.status_line.starts_with("HTTP/1.1 400 "),
        "{}",
        response.status_line
    );
    assert_matches!(error, Error::Handshake(HandshakeError::MethodNotGet));
}

#[test]
fn server_handshake_timeout_ends_a_stalled_request() {
    // 100 ms: a real duration; the machine's timer decides, the socket waits until it is due.
    let (addr, server) = serve_one(|stream| {
        let started = Instant::now();
        let result = ServerBuilder::new()
            .handshake_timeout(Some(Duration::from_millis(100)))
            .accept(stream)
            .map(|_| ());
        (result, started.elapsed())
    });
    let mut raw = tcp_connect(addr);
    raw.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .unwrap();
    let (result, elapsed) = server.join();
    assert_matches!(result, Err(Error::Handshake(HandshakeError::Timeout)));
    assert!(elapsed >= Duration::from_millis(100), "{elapsed:?}");
}

#[test]
fn client_handshake_timeout_ends_a_silent_server() {
    let (addr, server) = serve_one(|mut stream| {
        // Read the request, never answer; hold the socket until the client gives up.
        read_head(&mut stream);
        read_to_eof(&mut stream)
    });
    let started = Instant::now();
    let result = ClientBuilder::new(&ws_url(addr, "/"))
        .handshake_timeout(Some(Duration::from_millis(100)))
        .connect();
    assert_matches!(result, Err(Error::Handshake(HandshakeError::Timeout)));
    assert!(started.elapsed() >= Duration::from_millis(100));
    drop(result);
    assert_eq!(server.join(), b"");
}

#[test]
fn client_rejects_a_wrong_accept_value() {
    let (addr, server) = serve_one(|mut stream| {
        read_head(&mut stream);
        stream
            .write_all(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
                  Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
            )
            .unwrap();
        read_to_eof(&mut stream)
    });
    let result = ClientBuilder::new(&ws_url(addr, "/")).connect();
    assert_matches!(
        result,
        Err(Error::Handshake(HandshakeError::AcceptMismatch))
    );
    drop(result);
    server.join();
}

#[test]
fn client_url_errors() {
    let wss = ws_std::connect("wss://127.0.0.1:1/");
    // Without TLS, wss:// is refused before connecting, naming the feature that brings it;
    // with it, the connection is tried (and port 1 refuses it).
    #[cfg(not(feature = "tls"))]
    {
        let error = wss.expect_err("wss:// without the tls feature");
        assert_matches!(error, Error::UnsupportedScheme("wss"));
        let message = error.to_string();
        assert!(message.contains("`tls` feature"), "{message}");
    }
    #[cfg(feature = "tls")]
    assert_matches!(wss, Err(Error::Io(ref e)) if e.kind() == io::ErrorKind::ConnectionRefused);
    assert_matches!(
        ws_std::connect("http://127.0.0.1:1/"),
        Err(Error::Handshake(HandshakeError::InvalidUrl(_)))
    );
}

#[test]
fn connecting_to_a_closed_port_is_an_io_error() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let result = ws_std::connect(&format!("ws://127.0.0.1:{port}/"));
    assert_matches!(result, Err(Error::Io(ref e)) if e.kind() == io::ErrorKind::ConnectionRefused);
}

#[test]
fn frames_sent_with_the_handshake_are_not_lost() {
    // Server side: the request and a first frame arrive in one write.
    let (addr, server) = ws_server(ServerBuilder::new(), |mut ws| {
        let first = ws.read().unwrap();
        let second = ws.read().unwrap();
        (first, second)
    });
    let mut raw = tcp_connect(addr);
    let mut bytes = valid_request();
    bytes.extend(client_frame(OP_TEXT, b"early"));
    bytes.extend(client_frame(OP_CLOSE, &close_payload(1000, "")));
    raw.write_all(&bytes).unwrap();
    let head = read_head(&mut raw);
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    assert_eq!(
        server.join(),
        (
            Message::Text("early".into()),
            Message::Close(close_frame(1000, ""))
        )
    );
    let reply = read_frame(&mut raw);
    assert_eq!((reply.first, reply.close_code()), (0x88, Some(1000)));
    assert_eq!(read_to_eof(&mut raw), b"");

    // Client side: the 101 and a first frame arrive in one write.
    let (addr, server) = serve_one(|mut stream| {
        raw_server_handshake(&mut stream, &server_frame(OP_TEXT, b"welcome"));
        let close = read_frame(&mut stream);
        stream.shutdown(std::net::Shutdown::Write).unwrap();
        close
    });
    let mut ws = connect(addr);
    assert_eq!(ws.read().unwrap(), Message::Text("welcome".into()));
    ws.close(CloseCode::NORMAL, "").unwrap();
    let close = server.join();
    assert_eq!(
        (close.first, close.masked, close.close_code()),
        (0x88, true, Some(1000))
    );
}

// ----- Misbehaving or vanishing peers -------------------------------------------------------

/// Two reads, and the socket (kept open so the raw client can read everything).
type TwoReads = (Result<Message, Error>, Result<Message, Error>, Ws);

/// A server that reads twice and hands back both results and the socket (kept open so the
/// raw client can read everything the server sent).
fn read_twice_server(builder: ServerBuilder) -> (SocketAddr, Peer<TwoReads>) {
    ws_server(builder, |mut ws| {
        let first = ws.read();
        let second = ws.read();
        (first, second, ws)
    })
}

#[test]
fn client_that_vanishes_gives_connection_lost() {
    let (addr, server) = read_twice_server(ServerBuilder::new());
    let raw = raw_client_handshake(addr);
    drop(raw);
    let (first, second, _ws) = server.join();
    assert_matches!(first, Err(Error::ConnectionLost));
    assert_matches!(second, Err(Error::ConnectionClosed));
}

#[test]
fn server_that_vanishes_gives_connection_lost() {
    let (addr, server) = serve_one(|mut stream| {
        raw_server_handshake(&mut stream, b"");
    });
    let mut ws = connect(addr);
    server.join(); // the raw server's socket is closed
    assert_matches!(ws.read(), Err(Error::ConnectionLost));
    assert_matches!(ws.read(), Err(Error::ConnectionClosed));
}

/// A raw server that closes its socket with the client's message unread: the kernel answers
/// with a reset instead of a FIN.
fn resetting_server() -> Ws {
    let (addr, server) = serve_one(|mut stream| {
        raw_server_handshake(&mut stream, b"");
        let mut byte = [0u8; 1];
        stream
            .peek(&mut byte)
            .expect("the client's message arrives");
    });
    let mut ws = connect(addr);
    ws.send_text("never read").unwrap();
    server.join();
    ws
}

#[test]
fn a_reset_seen_by_a_read_is_reported_then_the_connection_ends() {
    let mut ws = resetting_server();
    assert_matches!(ws.read(), Err(Error::Io(ref e)) if e.kind() == io::ErrorKind::ConnectionReset);
    assert_matches!(ws.read(), Err(Error::ConnectionLost));
    assert_matches!(ws.read(), Err(Error::ConnectionClosed));
    assert_eq!(ws.connection().state(), State::Closed);
}

#[test]
fn a_reset_seen_by_a_write_is_reported_then_the_connection_ends() {
    let mut ws = resetting_server();
    let error = ws.send_text("into a reset connection").unwrap_err();
    assert_matches!(error, Error::Io(ref e) if !matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut));
    assert_matches!(ws.read(), Err(Error::ConnectionLost));
    assert_matches!(ws.read(), Err(Error::ConnectionClosed));
}

/// Sends `bytes` after a raw handshake; checks the server answers with a Close frame with
/// `code` and closes, and returns the server's two reads.
fn server_fails_with(
    builder: ServerBuilder,
    bytes: &[u8],
    code: u16,
) -> (Result<Message, Error>, Result<Message, Error>) {
    let (addr, server) = read_twice_server(builder);
    let mut raw = raw_client_handshake(addr);
    raw.write_all(bytes).unwrap();
    let close = read_frame(&mut raw);
    assert_eq!(close.first, 0x88, "a final Close frame: {close:?}");
    assert!(!close.masked, "server frames are not masked");
    assert_eq!(close.close_code(), Some(code), "{close:?}");
    assert_eq!(&close.payload[..2], &code.to_be_bytes());
    assert_eof(&mut raw);
    let (first, second, _ws) = server.join();
    (first, second)
}

#[test]
fn unmasked_client_frame_fails_with_1002() {
    let (first, second) = server_fails_with(
        ServerBuilder::new(),
        &server_frame(OP_TEXT, b"unmasked"),
        1002,
    );
    assert_matches!(
        first,
        Err(Error::Protocol(ProtocolError::UnmaskedClientFrame))
    );
    assert_matches!(second, Err(Error::ConnectionClosed));
}

#[test]
fn invalid_utf8_text_fails_with_1007() {
    let (first, second) = server_fails_with(
        ServerBuilder::new(),
        &client_frame(OP_TEXT, &[b'h', b'i', 0xC0, 0xAF]),
        1007,
    );
    assert_matches!(first, Err(Error::Protocol(ProtocolError::InvalidUtf8)));
    assert_matches!(second, Err(Error::ConnectionClosed));
}

#[test]
fn oversized_message_fails_with_1009() {
    let builder = ServerBuilder::new().config(config(|c| c.max_message_size = 1024));
    let (first, second) =
        server_fails_with(builder, &client_frame(OP_BINARY, &pattern(2000)), 1009);
    assert_matches!(first, Err(Error::Protocol(ProtocolError::MessageTooLarge)));
    assert_matches!(second, Err(Error::ConnectionClosed));
}

#[test]
fn oversized_message_close_reaches_a_ws_std_client() {
    let builder = ServerBuilder::new().config(config(|c| c.max_message_size = 1024));
    let (addr, server) = read_twice_server(builder);
    let mut ws = connect(addr);
    ws.send_binary(&[0; 1024]).unwrap(); // at the limit: fine
    ws.send_binary(&[0; 1025]).unwrap();
    match ws.read().unwrap() {
        Message::Close(Some(frame)) => assert_eq!(frame.code, CloseCode::TOO_BIG),
        other => panic!("expected Close 1009, got {other:?}"),
    }
    assert_matches!(ws.read(), Err(Error::ConnectionClosed));
    let (first, second, _ws) = server.join();
    assert_eq!(first.unwrap(), Message::Binary(vec![0; 1024]));
    assert_matches!(second, Err(Error::Protocol(ProtocolError::MessageTooLarge)));
}

#[test]
fn masked_server_frame_fails_the_client_with_1002() {
    let (addr, server) = serve_one(|mut stream| {
        raw_server_handshake(&mut stream, &client_frame(OP_TEXT, b"masked"));
        let close = read_frame(&mut stream);
        (close, read_to_eof(&mut stream))
    });
    let mut ws = connect(addr);
    assert_matches!(
        ws.read(),
        Err(Error::Protocol(ProtocolError::MaskedServerFrame))
    );
    assert_matches!(ws.read(), Err(Error::ConnectionClosed));
    let (close, rest) = server.join();
    assert_eq!((close.first, close.masked), (0x88, true));
    assert_eq!(close.close_code(), Some(1002));
    assert_eq!(rest, b"", "the client closes after its Close frame");
}

// ----- Timers -------------------------------------------------------------------------------

/// Keepalive every 100 ms, failing 100 ms after an unanswered Ping (real durations: the
/// adapter turns them into socket read timeouts).
fn keepalive_config() -> Config {
    config(|c| {
        c.keepalive_interval = Some(Duration::from_millis(100));
        c.keepalive_timeout = Some(Duration::from_millis(100));
    })
}

#[test]
fn keepalive_fails_a_silent_client_with_1011() {
    let (addr, server) = ws_server(ServerBuilder::new().config(keepalive_config()), |mut ws| {
        let started = Instant::now();
        let result = ws.read();
        (result, started.elapsed(), ws)
    });
    let mut raw = raw_client_handshake(addr);
    let ping = read_frame(&mut raw);
    assert_eq!(ping.first, 0x89, "a final Ping: {ping:?}");
    let close = read_frame(&mut raw);
    assert_eq!(close.first, 0x88, "then a Close: {close:?}");
    assert_eq!(close.close_code(), Some(1011));
    assert_eof(&mut raw);
    let (result, elapsed, _ws) = server.join();
    assert_matches!(result, Err(Error::Timeout(Timeout::Keepalive)));
    // Idle interval, then the Pong deadline.
    assert!(elapsed >= Duration::from_millis(190), "{elapsed:?}");
}

#[test]
fn keepalive_fails_a_silent_server_with_1011() {
    let (addr, server) = serve_one(|mut stream| {
        raw_server_handshake(&mut stream, b"");
        let ping = read_frame(&mut stream);
        let close = read_frame(&mut stream);
        (ping, close, read_to_eof(&mut stream))
    });
    let mut ws = connect_with(ClientBuilder::new(&ws_url(addr, "/")).config(keepalive_config()));
    assert_matches!(ws.read(), Err(Error::Timeout(Timeout::Keepalive)));
    let (ping, close, rest) = server.join();
    assert_eq!((ping.first, ping.masked), (0x89, true));
    assert_eq!((close.first, close.masked), (0x88, true));
    assert_eq!(close.close_code(), Some(1011));
    assert_eq!(rest, b"");
}

/// The client reads while the server's keepalive timer pings it every 100 ms: every Ping is
/// answered, and the connection stays open as long as Pongs flow. Nothing here depends on how
/// many 100 ms intervals fit into the test's run: the Pong deadline is generous (a loaded
/// machine may be slow to answer), and the count checked is one both ends agree on.
#[test]
fn a_reading_client_keeps_the_connection_alive() {
    let server_config = config(|c| {
        c.keepalive_interval = Some(Duration::from_millis(100));
        c.keepalive_timeout = Some(IO_TIMEOUT);
    });
    let (addr, server) = ws_server(ServerBuilder::new().config(server_config), |mut ws| {
        let mut pongs = 0;
        loop {
            match ws.read().expect("server read") {
                Message::Pong(p) => {
                    assert_eq!(p, b"");
                    pongs += 1;
                }
                Message::Text(t) => {
                    assert_eq!(t, "stop");
                    break;
                }
                other => panic!("server got {other:?}"),
            }
        }
        ws.send_text(&pongs.to_string()).unwrap();
        echo_until_close(&mut ws)
    });
    let mut ws = connect(addr);
    // The server sends nothing but its keepalive Pings until "stop".
    const PINGS: usize = 3;
    for _ in 0..PINGS {
        assert_eq!(ws.read().unwrap(), Message::Ping(Vec::new()));
    }
    ws.send_text("stop").unwrap();
    let reply = loop {
        match ws.read().unwrap() {
            Message::Ping(_) => {} // a further keepalive Ping, if this thread was slow
            other => break other,
        }
    };
    // Each Ping read was answered before "stop" was sent (Pongs go out as the Ping is
    // read), so the server saw at least as many Pongs: more when a Ping arrived, and was
    // answered, in the same read as the one before it.
    let Message::Text(pongs) = reply else {
        panic!("expected the server's count, got {reply:?}")
    };
    let pongs: usize = pongs.parse().expect("a count");
    assert!(pongs >= PINGS, "{pongs} pongs for {PINGS} pings");
    assert_eq!(ws.connection().state(), State::Open);
    close_client(&mut ws);
    assert_eq!(server.join(), close_frame(1000, "done"));
}

#[test]
fn close_timeout_when_the_peer_never_answers() {
    let (addr, server) = serve_one(|mut stream| {
        raw_server_handshake(&mut stream, b"");
        let close = read_frame(&mut stream);
        (close, read_to_eof(&mut stream))
    });
    // 100 ms close timeout: a real duration (see the module comment).
    let mut ws = connect_with(ClientBuilder::new(&ws_url(addr, "/")).config(config(|c| {
        c.close_timeout = Some(Duration::from_millis(100))
    })));
    let started = Instant::now();
    ws.close(CloseCode::NORMAL, "bye").unwrap();
    assert_matches!(ws.read(), Err(Error::Timeout(Timeout::Close)));
    assert!(started.elapsed() >= Duration::from_millis(90));
    assert_matches!(ws.read(), Err(Error::ConnectionClosed));
    let (close, rest) = server.join();
    assert_eq!(close.first, 0x88);
    assert_eq!(close.close_code(), Some(1000));
    assert_eq!(close.close_reason(), "bye");
    assert_eq!(rest, b"", "the client closed the TCP connection");
}

#[test]
fn client_closes_tcp_itself_when_the_server_keeps_it_open() {
    let (tx, done) = mpsc::channel::<()>();
    let (addr, server) = serve_one(move |mut stream| {
        raw_server_handshake(
            &mut stream,
            &server_frame(OP_CLOSE, &close_payload(1000, "bye")),
        );
        let reply = read_frame(&mut stream);
        let rest = read_to_eof(&mut stream);
        // Only now may the server close its end.
        let _ = done.recv_timeout(DEADLINE);
        (reply, rest)
    });
    let mut ws = connect_with(ClientBuilder::new(&ws_url(addr, "/")).config(config(|c| {
        c.close_timeout = Some(Duration::from_millis(100))
    })));
    let started = Instant::now();
    assert_eq!(ws.read().unwrap(), Message::Close(close_frame(1000, "bye")));
    assert!(started.elapsed() >= Duration::from_millis(90));
    assert_matches!(ws.read(), Err(Error::ConnectionClosed));
    tx.send(()).unwrap();
    let (reply, rest) = server.join();
    assert_eq!(
        (reply.first, reply.masked, reply.close_code()),
        (0x88, true, Some(1000))
    );
    assert_eq!(rest, b"");
}

#[test]
fn read_timeout_leaves_the_connection_usable() {
    let (tx, go) = mpsc::channel::<()>();
    let (addr, server) = ws_server(ServerBuilder::new(), move |mut ws| {
        go.recv_timeout(DEADLINE).expect("go");
        ws.send_text("later").unwrap();
        echo_until_close(&mut ws)
    });
    let mut ws = connect(addr);
    ws.set_read_timeout(Some(Duration::from_millis(50)));
    let started = Instant::now();
    assert_matches!(ws.read(), Err(Error::Io(ref e)) if is_timeout(e));
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(45), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
    assert_eq!(ws.connection().state(), State::Open);
    tx.send(()).unwrap();
    ws.set_read_timeout(Some(IO_TIMEOUT));
    assert_eq!(ws.read().unwrap(), Message::Text("later".into()));
    ws.send_text("and back").unwrap();
    assert_eq!(ws.read().unwrap(), Message::Text("and back".into()));
    close_client(&mut ws);
    assert_eq!(server.join(), close_frame(1000, "done"));
}

#[test]
fn read_timeout_in_the_middle_of_a_frame_keeps_the_partial_frame() {
    let (tx, go) = mpsc::channel::<()>();
    let message = server_frame(OP_TEXT, "half and half".as_bytes());
    let (addr, server) = serve_one(move |mut stream| {
        raw_server_handshake(&mut stream, &message[..6]);
        go.recv_timeout(DEADLINE).expect("go");
        stream.write_all(&message[6..]).unwrap();
        let close = read_frame(&mut stream);
        stream.shutdown(std::net::Shutdown::Write).unwrap();
        close
    });
    let mut ws = connect(addr);
    ws.set_read_timeout(Some(Duration::from_millis(50)));
    assert_matches!(ws.read(), Err(Error::Io(ref e)) if is_timeout(e));
    tx.send(()).unwrap();
    ws.set_read_timeout(Some(IO_TIMEOUT));
    assert_eq!(ws.read().unwrap(), Message::Text("half and half".into()));
    ws.close(CloseCode::NORMAL, "").unwrap();
    let close = server.join();
    assert_eq!(close.close_code(), Some(1000));
}

// ----- Error conversions ----------------------------------------------------------------------

#[test]
fn errors_convert_to_io_errors_of_the_documented_kinds() {
    let cases = [
        (Error::ConnectionClosed, io::ErrorKind::NotConnected),
        (Error::ConnectionLost, io::ErrorKind::UnexpectedEof),
        (
            Error::Protocol(ProtocolError::InvalidUtf8),
            io::ErrorKind::InvalidData,
        ),
        (Error::Timeout(Timeout::Keepalive), io::ErrorKind::TimedOut),
        (
            Error::Handshake(HandshakeError::UnexpectedStatus(403)),
            io::ErrorKind::InvalidData,
        ),
        (
            Error::Send(SendError::AlreadyClosing),
            io::ErrorKind::InvalidInput,
        ),
        (Error::Send(SendError::Closed), io::ErrorKind::NotConnected),
        (Error::UnsupportedScheme("wss"), io::ErrorKind::InvalidInput),
    ];
    for (error, kind) in cases {
        let text = error.to_string();
        let io_error = io::Error::from(error);
        assert_eq!(io_error.kind(), kind, "{text}");
        // The original error is kept inside.
        let inner = io_error
            .get_ref()
            .and_then(|e| e.downcast_ref::<Error>())
            .expect("wraps the ws_std::Error");
        assert_eq!(inner.to_string(), text);
    }

    // The transport's own error comes back unchanged.
    let reset = io::Error::from(Error::Io(io::ErrorKind::ConnectionReset.into()));
    assert_eq!(reset.kind(), io::ErrorKind::ConnectionReset);
    assert!(reset.get_ref().is_none(), "{reset:?}");

    // And an error from a real connection: the peer vanished.
    let (addr, server) = serve_one(|mut stream| {
        raw_server_handshake(&mut stream, b"");
    });
    let mut ws = connect(addr);
    server.join();
    let error = ws.read().expect_err("peer vanished");
    assert_eq!(io::Error::from(error).kind(), io::ErrorKind::UnexpectedEof);
}

#[test]
fn shared_errors_convert_from_ws_proto_and_print_as_there() {
    use ws_std::ws_proto::Error as ProtoError;
    let cases = [
        ProtoError::Handshake(HandshakeError::InvalidKey),
        ProtoError::Protocol(ProtocolError::InvalidUtf8),
        ProtoError::Send(SendError::Closed),
        ProtoError::Timeout(Timeout::Close),
        ProtoError::ConnectionLost,
    ];
    for proto in cases {
        let error = Error::from(proto.clone());
        // Printed once, not wrapped in a second prefix ("handshake failed: handshake
        // failed: ...").
        assert_eq!(error.to_string(), proto.to_string());
        assert_eq!(io::Error::from(error).kind(), proto.io_kind());
    }
    assert_matches!(
        Error::from(ProtoError::Timeout(Timeout::Keepalive)),
        Error::Timeout(Timeout::Keepalive)
    );
    assert_eq!(
        Error::Handshake(HandshakeError::InvalidKey).to_string(),
        "handshake failed: Sec-WebSocket-Key is not 16 bytes"
    );
}

// ----- More handshake and adapter paths -----------------------------------------------------

#[test]
fn handshake_over_an_already_connected_stream_uses_the_url_for_host_and_resource() {
    let (addr, server) = serve_one(|mut stream| {
        let head = raw_server_handshake(&mut stream, &server_frame(OP_TEXT, b"hi"));
        let close = read_frame(&mut stream);
        stream.shutdown(std::net::Shutdown::Write).unwrap();
        (head, close)
    });
    let stream = tcp_connect(addr);
    let (mut ws, response) = ClientBuilder::new("ws://example.com/feed?x=1")
        .handshake(stream)
        .expect("handshake over a connected stream");
    ws.set_read_timeout(Some(IO_TIMEOUT));
    assert_eq!(response.status(), 101);
    assert_eq!(ws.read().unwrap(), Message::Text("hi".into()));
    ws.close(CloseCode::NORMAL, "").unwrap();
    let (head, close) = server.join();
    assert!(head.starts_with("GET /feed?x=1 HTTP/1.1\r\n"), "{head}");
    // Default port: no port in Host (RFC 6455 section 4.1, step 4 / RFC 7230 section 5.4).
    assert_eq!(header_value(&head, "Host"), Some("example.com"));
    assert_eq!(header_value(&head, "Sec-WebSocket-Version"), Some("13"));
    assert_eq!(close.close_code(), Some(1000));
}

#[test]
fn request_arriving_one_byte_at_a_time_is_accepted() {
    let (addr, server) = echo_server(ServerBuilder::new());
    let mut raw = tcp_connect(addr);
    for byte in valid_request() {
        raw.write_all(&[byte]).unwrap();
    }
    let head = read_head(&mut raw);
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    assert_eq!(header_value(&head, "Sec-WebSocket-Accept"), Some(ACCEPT));
    // A frame split into single bytes too.
    for byte in client_frame(OP_TEXT, "κόσμε".as_bytes()) {
        raw.write_all(&[byte]).unwrap();
    }
    let echo = read_frame(&mut raw);
    assert_eq!((echo.first, echo.masked), (0x81, false));
    assert_eq!(echo.payload, "κόσμε".as_bytes());
    raw.write_all(&client_frame(OP_CLOSE, &close_payload(1000, "")))
        .unwrap();
    assert_eq!(read_frame(&mut raw).close_code(), Some(1000));
    assert_eof(&mut raw);
    assert_eq!(server.join(), close_frame(1000, ""));
}

#[test]
fn messages_before_a_protocol_error_can_still_be_answered() {
    // ws-proto's contract: events decoded before the error are delivered, and what the
    // application sends in response goes out before the Close frame that fails the connection.
    let (addr, server) = ws_server(ServerBuilder::new(), |mut ws| {
        let first = ws.read();
        let echo = ws.send_text("echo of valid");
        let second = ws.read();
        (first, echo, second, ws)
    });
    let mut raw = raw_client_handshake(addr);
    let mut bytes = client_frame(OP_TEXT, b"valid");
    bytes.extend(client_frame(OP_TEXT, &[0xFF]));
    raw.write_all(&bytes).unwrap();
    let (first, echo, second, _ws) = server.join();
    assert_eq!(first.unwrap(), Message::Text("valid".into()));
    assert_matches!(echo, Ok(()));
    assert_matches!(second, Err(Error::Protocol(ProtocolError::InvalidUtf8)));
    let reply = read_frame(&mut raw);
    assert_eq!(
        (reply.first, &reply.payload[..]),
        (0x81, &b"echo of valid"[..])
    );
    let close = read_frame(&mut raw);
    assert_eq!((close.first, close.close_code()), (0x88, Some(1007)));
    assert_eof(&mut raw);
}

#[test]
fn invalid_rejection_is_answered_with_500() {
    let (response, error) = raw_exchange(valid_request(), ServerBuilder::new(), |_| {
        Err(HttpResponse::new(403).with_header("X-Bad", "a\r\nInjected: yes"))
    });
    assert!(
        response.status_line.starts_with("HTTP/1.1 500 "),
        "{}",
        response.status_line
    );
    assert_eq!(header_value(&response.head, "Injected"), None);
    assert_matches!(error, Error::Handshake(HandshakeError::InvalidArgument(_)));
}

#[test]
fn client_header_with_crlf_is_refused_before_anything_is_sent() {
    let (addr, server) = serve_one(|mut stream| read_to_eof(&mut stream));
    let result = ClientBuilder::new(&ws_url(addr, "/"))
        .header("X-Bad", "a\r\nInjected: yes")
        .connect();
    assert_matches!(
        result,
        Err(Error::Handshake(HandshakeError::InvalidArgument(_)))
    );
    drop(result);
    assert_eq!(server.join(), b"", "no request bytes were written");
}

#[test]
fn localhost_url_reaches_an_ipv4_listener() {
    // `localhost` may resolve to ::1 first: the client must fall back to 127.0.0.1.
    let (addr, server) = echo_server(ServerBuilder::new());
    let mut ws = connect_with(ClientBuilder::new(&format!(
        "ws://localhost:{}/",
        addr.port()
    )));
    ws.send_text("via localhost").unwrap();
    assert_eq!(ws.read().unwrap(), Message::Text("via localhost".into()));
    close_client(&mut ws);
    assert_eq!(server.join(), close_frame(1000, "done"));
}

/// Regression: with a zero read timeout, `read` used to fail with `TimedOut` without reading
/// the socket, even when a whole message was waiting in it, so a polling loop never received
/// anything. The timeout "limits how long one read may block waiting for data": data that is
/// already there needs no waiting.
#[test]
fn zero_read_timeout_still_returns_a_message_that_is_already_there() {
    // The server sends only once the client's handshake is over, so the frame is in the
    // socket (not in the bytes read together with the 101 response).
    let (go, wait) = mpsc::channel::<()>();
    let (addr, server) = ws_server(ServerBuilder::new(), move |mut ws| {
        wait.recv_timeout(DEADLINE).expect("client never connected");
        ws.send_text("waiting").unwrap();
        echo_until_close(&mut ws)
    });
    let mut ws = connect(addr);
    go.send(()).unwrap();
    // Block (at most IO_TIMEOUT) until the frame is in the socket's receive buffer.
    ws.get_ref()
        .tcp()
        .set_read_timeout(Some(IO_TIMEOUT))
        .unwrap();
    let mut peek = [0u8; 9];
    let mut seen = 0;
    while seen < peek.len() {
        seen = ws.get_ref().tcp().peek(&mut peek).expect("peek");
        assert!(seen > 0, "server closed");
    }
    ws.set_read_timeout(Some(Duration::ZERO));
    let result = ws.read();
    ws.set_read_timeout(Some(IO_TIMEOUT));
    assert_matches!(result, Ok(Message::Text(ref t)) if t == "waiting");
    close_client(&mut ws);
    assert_eq!(server.join(), close_frame(1000, "done"));
}

/// Regression: when a data message and the peer's Close frame arrived in the same TCP read,
/// the core used to queue the Close reply while decoding, so answering the message failed with
/// `AlreadyClosing` depending on TCP segmentation. The reply now waits until the application
/// has seen the events before it (RFC 6455 section 5.5.1 lets an endpoint finish what it is
/// sending first).
#[test]
fn message_arriving_with_the_peers_close_can_still_be_answered() {
    let (addr, server) = ws_server(ServerBuilder::new(), |mut ws| {
        let first = ws.read();
        let echo = ws.send_text("echo of hello");
        let second = ws.read();
        (first, echo, second, ws)
    });
    let mut raw = raw_client_handshake(addr);
    // One write: both frames reach the server in one read.
    let mut bytes = client_frame(OP_TEXT, b"hello");
    bytes.extend(client_frame(OP_CLOSE, &close_payload(1000, "")));
    raw.write_all(&bytes).unwrap();
    let (first, echo, second, _ws) = server.join();
    assert_eq!(first.unwrap(), Message::Text("hello".into()));
    assert_matches!(echo, Ok(()));
    assert_eq!(second.unwrap(), Message::Close(close_frame(1000, "")));
    let reply = read_frame(&mut raw);
    assert_eq!(
        (reply.first, &reply.payload[..]),
        (0x81, &b"echo of hello"[..])
    );
    let close = read_frame(&mut raw);
    assert_eq!((close.first, close.close_code()), (0x88, Some(1000)));
    assert_eof(&mut raw);
}

/// Regression: `Message::Ping` is documented as already answered when `read` returns it; the
/// automatic Pong must be on the wire by then, even if the application does nothing else.
#[test]
fn ping_is_answered_by_the_time_read_returns_it() {
    let (tx, done) = mpsc::channel::<()>();
    let (addr, server) = ws_server(ServerBuilder::new(), move |mut ws| {
        let ping = ws.read();
        // The application is busy elsewhere now: no read or send until the client is done.
        let _ = done.recv_timeout(DEADLINE);
        (ping, ws)
    });
    let mut ws = connect(addr);
    ws.ping(b"are you there").unwrap();
    ws.set_read_timeout(Some(Duration::from_secs(1)));
    let pong = ws.read();
    tx.send(()).unwrap();
    let (ping, _server_ws) = server.join();
    assert_eq!(ping.unwrap(), Message::Ping(b"are you there".to_vec()));
    assert_matches!(pong, Ok(Message::Pong(ref p)) if p == b"are you there");
}
