//! ws-tokio over real TCP on 127.0.0.1: echo in both roles, large and fragmented messages,
//! split halves in two tasks, close codes, ping/pong, backpressure, refusals, and the
//! keepalive, close and handshake timers on tokio's paused clock (no sleeps: the paused
//! clock jumps to the next timer when every task waits).

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use ws_tokio::{
    accept_async, accept_hdr_async, client_async, connect_async, ClientBuilder, CloseCode,
    CloseFrame, Config, DataKind, Error, HandshakeError, HttpResponse, Message, ServerBuilder,
    Timeout, WebSocketStream,
};

type Ws = WebSocketStream<TcpStream>;

/// A listener on 127.0.0.1 whose first connection runs `serve`.
async fn serve_one<F, Fut, T>(serve: F) -> (SocketAddr, JoinHandle<T>)
where
    F: FnOnce(TcpStream) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = T> + Send,
    T: Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let task = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.expect("accept");
        serve(tcp).await
    });
    (addr, task)
}

/// Echoes data messages until the peer's Close; returns the Close frame.
async fn echo(mut ws: Ws) -> Option<CloseFrame> {
    while let Some(message) = ws.next().await {
        match message.expect("echo server read") {
            Message::Close(frame) => return frame,
            message if message.is_data() => ws.send(message).await.expect("echo"),
            _ => {}
        }
    }
    panic!("the stream ended without a Close frame");
}

async fn echo_server() -> (SocketAddr, JoinHandle<Option<CloseFrame>>) {
    serve_one(|tcp| async move { echo(accept_async(tcp).await.expect("accept")).await }).await
}

fn url(addr: SocketAddr) -> String {
    format!("ws://{addr}/")
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

/// Reads until the Close message; then the stream ends.
async fn read_close<S>(ws: &mut WebSocketStream<S>) -> Option<CloseFrame>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    loop {
        match ws.read().await.expect("read") {
            Message::Close(frame) => {
                assert!(ws.next().await.is_none(), "the stream ends after the Close");
                return frame;
            }
            Message::Pong(_) | Message::Ping(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[tokio::test]
async fn echo_text_binary_and_empty_messages_client_closes() {
    let (addr, server) = echo_server().await;
    let (mut ws, response) = connect_async(&url(addr)).await.expect("connect");
    assert_eq!(response.status(), 101);
    for message in [
        Message::from("hello"),
        Message::from(""),
        Message::from(vec![0u8, 1, 2, 255]),
        Message::Binary(Vec::new()),
        Message::from("héllo wörld ✓"),
    ] {
        ws.send(message.clone()).await.expect("send");
        assert_eq!(ws.read().await.expect("read"), message);
    }
    ws.close(CloseCode::NORMAL, "done").await.expect("close");
    let reply = read_close(&mut ws).await.expect("a Close frame");
    assert_eq!(reply.code, CloseCode::NORMAL);
    let seen = server.await.expect("server").expect("a Close frame");
    assert_eq!(
        (seen.code, seen.reason.as_str()),
        (CloseCode::NORMAL, "done")
    );
    assert!(matches!(ws.read().await, Err(Error::ConnectionClosed)));
}

#[tokio::test]
async fn server_initiated_close_with_a_code_reaches_the_client() {
    let (addr, server) = serve_one(|tcp| async move {
        let mut ws = accept_async(tcp).await.expect("accept");
        ws.send("bye soon").await.expect("send");
        ws.close(CloseCode::from(4001), "going")
            .await
            .expect("close");
        read_close(&mut ws).await
    })
    .await;
    let (mut ws, _) = connect_async(&url(addr)).await.expect("connect");
    assert_eq!(ws.read().await.expect("read"), Message::from("bye soon"));
    let frame = read_close(&mut ws).await.expect("a Close frame");
    assert_eq!(
        (u16::from(frame.code), frame.reason.as_str()),
        (4001, "going")
    );
    let echoed = server.await.expect("server").expect("the echoed Close");
    assert_eq!(u16::from(echoed.code), 4001);
}

#[tokio::test]
async fn large_messages_both_ways_with_deflate_and_without() {
    for deflate in [true, false] {
        let mut config = Config::default();
        config.deflate.enabled = deflate;
        let (addr, server) = serve_one(move |tcp| async move {
            let ws = ServerBuilder::new()
                .config(config)
                .accept(tcp)
                .await
                .expect("accept");
            echo(ws).await
        })
        .await;
        let (mut ws, _) = connect_async(&url(addr)).await.expect("connect");
        assert_eq!(ws.connection().deflate_params().is_some(), deflate);
        let big = pattern(4 << 20);
        ws.send(big.clone()).await.expect("send");
        assert_eq!(ws.read().await.expect("read"), Message::Binary(big));
        let text = "ü".repeat(600_000);
        ws.send(text.clone()).await.expect("send");
        assert_eq!(ws.read().await.expect("read"), Message::Text(text));
        ws.close(CloseCode::NORMAL, "").await.expect("close");
        read_close(&mut ws).await;
        server.await.expect("server");
    }
}

#[tokio::test]
async fn fragmented_messages_arrive_reassembled() {
    let (addr, server) = echo_server().await;
    let (mut ws, _) = connect_async(&url(addr)).await.expect("connect");
    let data = pattern(100_000);
    for (i, piece) in data.chunks(7_000).enumerate() {
        let last = (i + 1) * 7_000 >= data.len();
        let chunk = ws_tokio::Chunk {
            kind: DataKind::Binary,
            data: piece.to_vec(),
            first: i == 0,
            last,
        };
        ws.send(Message::Chunk(chunk)).await.expect("fragment");
    }
    assert_eq!(ws.read().await.expect("read"), Message::Binary(data));
    ws.close(CloseCode::NORMAL, "").await.expect("close");
    read_close(&mut ws).await;
    server.await.expect("server");
}

#[tokio::test]
async fn pings_are_answered_with_the_same_payload() {
    let (addr, server) = serve_one(|tcp| async move {
        let mut ws = accept_async(tcp).await.expect("accept");
        // The server only reads: its reading answers the Ping.
        let first = ws.read().await.expect("read");
        assert_eq!(first, Message::Ping(b"are you there".to_vec()));
        read_close(&mut ws).await
    })
    .await;
    let (mut ws, _) = connect_async(&url(addr)).await.expect("connect");
    ws.send(Message::Ping(b"are you there".to_vec()))
        .await
        .expect("ping");
    assert_eq!(
        ws.read().await.expect("read"),
        Message::Pong(b"are you there".to_vec())
    );
    ws.close(CloseCode::NORMAL, "").await.expect("close");
    read_close(&mut ws).await;
    server.await.expect("server");
}

#[tokio::test]
async fn split_halves_in_two_tasks_with_pongs_and_close_across_them() {
    let (addr, server) = serve_one(|tcp| async move {
        let mut ws = accept_async(tcp).await.expect("accept");
        let mut got = Vec::new();
        let mut pongs = 0;
        ws.send(Message::Ping(b"p".to_vec())).await.expect("ping");
        loop {
            match ws.read().await.expect("server read") {
                Message::Text(t) => {
                    got.push(t);
                    // A message the other way, for the client's reader.
                    ws.send("from server").await.expect("send");
                }
                Message::Pong(p) => {
                    assert_eq!(p, b"p");
                    pongs += 1;
                }
                Message::Close(frame) => return (got, pongs, frame),
                other => panic!("unexpected {other:?}"),
            }
        }
    })
    .await;
    let (ws, _) = connect_async(&url(addr)).await.expect("connect");
    let (mut reader, mut writer) = ws.split();
    let reading = tokio::spawn(async move {
        let mut texts = 0;
        loop {
            match reader.next().await {
                Some(Ok(Message::Text(t))) => {
                    assert_eq!(t, "from server");
                    texts += 1;
                }
                Some(Ok(Message::Close(frame))) => {
                    assert!(reader.next().await.is_none());
                    return (texts, frame);
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => panic!("reader: {e}"),
                None => panic!("ended without the Close"),
            }
        }
    });
    let writing = tokio::spawn(async move {
        for i in 0..100 {
            writer
                .send(Message::Text(format!("message {i}")))
                .await
                .expect("send");
        }
        writer
            .close(CloseCode::from(4000), "enough")
            .await
            .expect("close");
    });
    writing.await.expect("writer");
    let (texts, frame) = reading.await.expect("reader");
    assert_eq!(u16::from(frame.expect("the echoed Close").code), 4000);
    let (got, pongs, frame) = server.await.expect("server");
    assert_eq!(got.len(), 100);
    assert_eq!(got[99], "message 99");
    assert_eq!(pongs, 1, "the client's reader answered the server's Ping");
    assert_eq!(frame.expect("the Close").reason, "enough");
    assert_eq!(texts, 100);
}

#[tokio::test]
async fn reunite_gives_back_the_stream() {
    let (addr, server) = echo_server().await;
    let (ws, _) = connect_async(&url(addr)).await.expect("connect");
    let (reader, writer) = ws.split();
    let mut ws = reader.reunite(writer).expect("same connection");
    ws.send("again").await.expect("send");
    assert_eq!(ws.read().await.expect("read"), Message::from("again"));
    ws.close(CloseCode::NORMAL, "").await.expect("close");
    read_close(&mut ws).await;
    server.await.expect("server");
}

#[tokio::test]
async fn tokio_server_with_the_sink_and_stream_of_a_client_over_any_stream() {
    let (addr, server) = echo_server().await;
    let tcp = TcpStream::connect(addr).await.expect("tcp");
    let (mut ws, _) = client_async("ws://localhost/any", tcp)
        .await
        .expect("handshake");
    // Sink: feed several, then one flush.
    for i in 0..10 {
        ws.feed(Message::Text(i.to_string())).await.expect("feed");
    }
    ws.flush().await.expect("flush");
    for i in 0..10 {
        assert_eq!(
            ws.next().await.expect("some").expect("ok"),
            Message::Text(i.to_string())
        );
    }
    // Sink::close: the closing handshake with 1000.
    SinkExt::close(&mut ws).await.expect("close");
    assert_eq!(
        read_close(&mut ws).await.expect("frame").code,
        CloseCode::NORMAL
    );
    assert_eq!(
        server.await.expect("server").expect("frame").code,
        CloseCode::NORMAL
    );
}

#[tokio::test]
async fn accept_hdr_async_selects_a_subprotocol_and_refuses_others() {
    let (addr, server) = serve_one(|tcp| async move {
        accept_hdr_async(tcp, |request: &ws_tokio::Request| {
            assert_eq!(request.path(), "/chat");
            request
                .accept()
                .protocol("chat.v2")
                .map_err(|_| HttpResponse::new(500))
        })
        .await
        .map(|ws| ws.protocol().map(str::to_owned))
    })
    .await;
    let (ws, response) = ClientBuilder::new(&format!("ws://{addr}/chat"))
        .protocol("chat.v1")
        .protocol("chat.v2")
        .connect()
        .await
        .expect("connect");
    assert_eq!(response.protocol(), Some("chat.v2"));
    assert_eq!(ws.protocol(), Some("chat.v2"));
    assert_eq!(
        server.await.expect("server").expect("accepted").as_deref(),
        Some("chat.v2")
    );

    let (addr, server) = serve_one(|tcp| async move {
        accept_hdr_async(tcp, |_: &ws_tokio::Request| {
            Err(HttpResponse::new(403).with_body("no entry"))
        })
        .await
        .map(|_| ())
    })
    .await;
    let refused = connect_async(&url(addr)).await.expect_err("refused");
    let Error::Handshake(HandshakeError::Rejected(response)) = refused else {
        panic!("not a refusal: {refused:?}");
    };
    assert_eq!(response.status(), 403);
    assert_eq!(response.body(), b"no entry");
    assert!(matches!(
        server.await.expect("server"),
        Err(Error::Handshake(HandshakeError::Rejected(_)))
    ));
}

/// A client whose handshake is written by hand: what follows it is the test's.
async fn raw_client(addr: SocketAddr) -> TcpStream {
    let mut tcp = TcpStream::connect(addr).await.expect("tcp");
    tcp.write_all(
        b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    .await
    .expect("request");
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8];
        tcp.read_exact(&mut byte).await.expect("response");
        head.push(byte[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 101"));
    tcp
}

#[tokio::test]
async fn a_message_over_the_size_limit_is_refused_with_1009_before_its_payload() {
    let (addr, server) = serve_one(|tcp| async move {
        let mut config = Config::default();
        config.max_message_size = 1024;
        let mut ws = ServerBuilder::new()
            .config(config)
            .accept(tcp)
            .await
            .expect("accept");
        ws.read().await
    })
    .await;
    let mut tcp = raw_client(addr).await;
    // The header of a masked 1 MiB binary frame, and no payload.
    tcp.write_all(&[0x82, 0xff, 0, 0, 0, 0, 0, 0x10, 0, 0, 1, 2, 3, 4])
        .await
        .expect("header");
    let mut rest = Vec::new();
    tcp.read_to_end(&mut rest)
        .await
        .expect("until the server's FIN");
    // The server's Close frame: 0x88, length, 1009.
    assert_eq!(&rest[..4], &[0x88, rest[1], 0x03, 0xf1]);
    assert!(matches!(
        server.await.expect("server"),
        Err(Error::Protocol(_))
    ));
}

#[tokio::test]
async fn a_peer_breaking_the_protocol_gets_the_right_close_code() {
    let (addr, server) = serve_one(|tcp| async move {
        let mut ws = accept_async(tcp).await.expect("accept");
        ws.read().await
    })
    .await;
    // A raw client, then an unmasked frame (a protocol error: 1002).
    let mut tcp = raw_client(addr).await;
    tcp.write_all(&[0x81, 0x02, b'h', b'i'])
        .await
        .expect("frame");
    let mut rest = Vec::new();
    tcp.read_to_end(&mut rest)
        .await
        .expect("until the server's FIN");
    // The server's Close frame: 0x88, length, 1002.
    assert_eq!(&rest[..4], &[0x88, rest[1], 0x03, 0xea]);
    assert!(matches!(
        server.await.expect("server"),
        Err(Error::Protocol(_))
    ));
}

#[tokio::test]
async fn send_after_close_is_refused() {
    let (addr, server) = echo_server().await;
    let (mut ws, _) = connect_async(&url(addr)).await.expect("connect");
    ws.close(CloseCode::NORMAL, "").await.expect("close");
    assert!(matches!(ws.send("late").await, Err(Error::Send(_))));
    read_close(&mut ws).await;
    server.await.expect("server");
}

#[tokio::test]
async fn poll_ready_waits_while_a_peer_does_not_read() {
    // The server takes the handshake and then reads nothing.
    let (release, released) = tokio::sync::oneshot::channel::<()>();
    let (addr, server) = serve_one(|tcp| async move {
        let ws = accept_async(tcp).await.expect("accept");
        released.await.expect("release");
        echo(ws).await
    })
    .await;
    // Without compression, so that the queue holds what was sent.
    let mut config = Config::default();
    config.deflate.enabled = false;
    let (mut ws, _) = ClientBuilder::new(&url(addr))
        .config(config)
        .write_buffer_limit(64 * 1024)
        .connect()
        .await
        .expect("connect");
    let message = Message::Binary(pattern(64 * 1024));
    // Queues (`feed`: `poll_ready`, then `start_send`, no flush) until the kernel's buffers
    // are full and the write buffer is over its limit: then `poll_ready` waits (seen as a
    // timeout on tokio's real clock, a bounded wait).
    let mut sent = 0usize;
    while let Ok(result) =
        tokio::time::timeout(Duration::from_millis(500), ws.feed(message.clone())).await
    {
        result.expect("send");
        sent += 1;
        assert!(sent < 10_000, "never blocked");
    }
    let queued = ws.connection().buffered_amount();
    assert!(queued >= 64 * 1024, "waits only over the limit: {queued}");
    assert!(
        queued <= 3 * 64 * 1024,
        "the queue stayed bounded: {queued}"
    );
    // Once the peer reads, everything goes through.
    release.send(()).expect("release");
    ws.flush().await.expect("flush");
    ws.close(CloseCode::NORMAL, "").await.expect("close");
    let mut echoed = 0;
    loop {
        match ws.read().await.expect("read") {
            Message::Binary(_) => echoed += 1,
            Message::Close(_) => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(echoed >= sent, "{echoed} echoes of {sent}");
    server.await.expect("server");
}

// ----- Timers, on tokio's paused clock ----------------------------------------------------

/// Answers a client's handshake by hand on `tcp`.
async fn raw_accept(tcp: &mut TcpStream) {
    let mut request = Vec::new();
    while !request.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8];
        tcp.read_exact(&mut byte).await.expect("request");
        request.push(byte[0]);
    }
    let text = String::from_utf8(request).expect("ascii");
    let key = text
        .lines()
        .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
        .expect("key");
    let accept = ws_tokio::ws_proto::handshake::accept_key(key.as_bytes());
    let accept = std::str::from_utf8(&accept).expect("base64");
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
    );
    tcp.write_all(response.as_bytes()).await.expect("101");
}

/// A raw peer that completes a client's handshake and then says nothing.
async fn silent_server() -> (SocketAddr, JoinHandle<Vec<u8>>) {
    serve_one(|mut tcp| async move {
        raw_accept(&mut tcp).await;
        // Reads what the client sends, never answering, until the client leaves.
        let mut seen = Vec::new();
        let _ = tcp.read_to_end(&mut seen).await;
        seen
    })
    .await
}

#[tokio::test]
async fn a_reset_after_the_closing_handshake_is_a_clean_end() {
    let (addr, server) = serve_one(|mut tcp| async move {
        raw_accept(&mut tcp).await;
        tcp.write_all(&[0x88, 0x02, 0x03, 0xe8])
            .await
            .expect("Close");
        // The client's masked Close reply: 2 + 4 + 2 bytes.
        let mut reply = [0u8; 8];
        tcp.read_exact(&mut reply).await.expect("reply");
        // Then a reset instead of a FIN.
        #[allow(deprecated)]
        tcp.set_linger(Some(Duration::ZERO)).expect("linger");
        drop(tcp);
        reply[0]
    })
    .await;
    let (mut ws, _) = connect_async(&url(addr)).await.expect("connect");
    let Message::Close(Some(frame)) = ws.read().await.expect("the Close") else {
        panic!("not a Close with a code");
    };
    assert_eq!(frame.code, CloseCode::NORMAL);
    assert_eq!(server.await.expect("server"), 0x88);
    assert!(ws.next().await.is_none(), "a clean end, not an error");
}

#[tokio::test(start_paused = true)]
async fn keepalive_pings_then_fails_with_1011_when_unanswered() {
    let (addr, server) = silent_server().await;
    let mut config = Config::default();
    config.keepalive_interval = Some(Duration::from_secs(5));
    config.keepalive_timeout = Some(Duration::from_secs(3));
    let (mut ws, _) = ClientBuilder::new(&url(addr))
        .config(config)
        .connect()
        .await
        .expect("connect");
    let start = tokio::time::Instant::now();
    let error = ws.read().await.expect_err("the keepalive timeout");
    assert!(
        matches!(error, Error::Timeout(Timeout::Keepalive)),
        "{error:?}"
    );
    assert!(
        start.elapsed() >= Duration::from_secs(8),
        "{:?}",
        start.elapsed()
    );
    assert!(ws.next().await.is_none());
    drop(ws);
    let seen = server.await.expect("server");
    // A masked Ping (0x89), then a masked Close (0x88) with 1011.
    assert_eq!(seen[0], 0x89);
    let close = seen.iter().position(|&b| b == 0x88).expect("a Close frame");
    let len = usize::from(seen[close + 1] & 0x7f);
    let mask = &seen[close + 2..close + 6];
    let code = [seen[close + 6] ^ mask[0], seen[close + 7] ^ mask[1]];
    assert!(len >= 2);
    assert_eq!(u16::from_be_bytes(code), 1011);
}

#[tokio::test(start_paused = true)]
async fn answered_keepalive_pings_keep_an_idle_connection_open() {
    let (addr, server) = echo_server().await;
    let mut config = Config::default();
    config.keepalive_interval = Some(Duration::from_secs(5));
    config.keepalive_timeout = Some(Duration::from_secs(3));
    let (mut ws, _) = ClientBuilder::new(&url(addr))
        .config(config)
        .connect()
        .await
        .expect("connect");
    // A minute of silence on the paused clock: only the keepalive Pings' Pongs arrive.
    let end = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut pongs = 0;
    while let Ok(message) = tokio::time::timeout_at(end, ws.read()).await {
        assert!(matches!(message, Ok(Message::Pong(_))), "{message:?}");
        pongs += 1;
    }
    assert!(
        pongs >= 10,
        "{pongs} Pongs in a minute at one Ping per 5 s of silence"
    );
    ws.send("still here").await.expect("send");
    // (The Pong of a Ping sent at the end of the minute may come first.)
    let echo = loop {
        match ws.read().await.expect("read") {
            Message::Pong(_) => {}
            other => break other,
        }
    };
    assert_eq!(echo, Message::from("still here"));
    ws.close(CloseCode::NORMAL, "").await.expect("close");
    read_close(&mut ws).await;
    server.await.expect("server");
}

#[tokio::test(start_paused = true)]
async fn close_timeout_when_the_peer_never_answers_the_close() {
    let (addr, server) = silent_server().await;
    let mut config = Config::default();
    config.close_timeout = Some(Duration::from_secs(4));
    let (mut ws, _) = ClientBuilder::new(&url(addr))
        .config(config)
        .connect()
        .await
        .expect("connect");
    let start = tokio::time::Instant::now();
    ws.close(CloseCode::NORMAL, "").await.expect("close");
    let error = ws.read().await.expect_err("the close timeout");
    assert!(matches!(error, Error::Timeout(Timeout::Close)), "{error:?}");
    assert!(start.elapsed() >= Duration::from_secs(4));
    drop(ws);
    server.await.expect("server");
}

#[tokio::test(start_paused = true)]
async fn handshake_timeout_cuts_off_a_silent_client_and_a_silent_server() {
    // A client that connects and sends nothing.
    let (addr, server) = serve_one(|tcp| async move {
        ServerBuilder::new()
            .handshake_timeout(Some(Duration::from_secs(2)))
            .accept(tcp)
            .await
            .map(|_| ())
    })
    .await;
    let mut silent = TcpStream::connect(addr).await.expect("tcp");
    let result = server.await.expect("server");
    assert!(
        matches!(result, Err(Error::Handshake(HandshakeError::Timeout))),
        "{result:?}"
    );
    let mut rest = Vec::new();
    silent.read_to_end(&mut rest).await.expect("closed");
    assert!(rest.is_empty(), "nothing is written on a timeout");

    // A server that accepts TCP and never answers.
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let holder = tokio::spawn(async move { listener.accept().await.map(|(tcp, _)| tcp) });
    let result = ClientBuilder::new(&url(addr))
        .handshake_timeout(Some(Duration::from_secs(2)))
        .connect()
        .await;
    assert!(
        matches!(result, Err(Error::Handshake(HandshakeError::Timeout))),
        "{result:?}"
    );
    drop(holder.await);
}

#[tokio::test]
async fn wss_without_the_tls_feature_or_a_bad_url_is_refused() {
    let result = connect_async("http://127.0.0.1:1/").await;
    assert!(matches!(result, Err(Error::Handshake(_))), "{result:?}");
    #[cfg(not(feature = "tls"))]
    assert!(matches!(
        connect_async("wss://127.0.0.1:1/").await,
        Err(Error::UnsupportedScheme("wss"))
    ));
}

#[tokio::test]
async fn plain_http_gets_the_http_handler_s_answer_or_a_426() {
    for with_handler in [true, false] {
        let (addr, server) = serve_one(move |tcp| async move {
            let mut builder = ServerBuilder::new();
            if with_handler {
                builder = builder.http(|request| match request.path() {
                    "/health" => HttpResponse::new(200).with_body("ok\n"),
                    _ => HttpResponse::new(404),
                });
            }
            builder.accept(tcp).await.map(|_| ())
        })
        .await;
        let mut tcp = TcpStream::connect(addr).await.expect("tcp");
        tcp.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .expect("request");
        let mut response = Vec::new();
        tcp.read_to_end(&mut response).await.expect("response");
        let response = String::from_utf8(response).expect("text");
        if with_handler {
            assert!(response.starts_with("HTTP/1.1 200"), "{response}");
            assert!(response.ends_with("\r\n\r\nok\n"), "{response}");
        } else {
            assert!(response.starts_with("HTTP/1.1 426"), "{response}");
            assert!(
                response.contains("Sec-WebSocket-Version: 13\r\n"),
                "{response}"
            );
        }
        assert!(matches!(
            server.await.expect("server"),
            Err(Error::Handshake(HandshakeError::Rejected(_)))
        ));
    }
}
