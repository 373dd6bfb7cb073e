//! The opening handshake as ws-std drives ws-proto's machines, over real loopback sockets:
//! non-blocking handshakes in both roles (the handshake keeps its place across `WouldBlock`),
//! a refusal the client sees whole (status, `WWW-Authenticate`, body), the handshake timeout
//! reported as `HandshakeError::Timeout`, and a plain HTTP request answered with 426.
//!
//! Bounded: non-blocking loops retry after `thread::yield_now()` under an overall deadline,
//! blocking peers run on threads joined with a deadline (`common`); no sleep synchronises.

mod common;

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use ws_std::{
    ClientBuilder, Error, HandshakeError, HttpResponse, Message, PendingAccept, PendingConnect,
    Request, ServerBuilder, Transport, WebSocket,
};

fn ws_url(addr: SocketAddr, path: &str) -> String {
    format!("ws://{addr}{path}")
}

/// Retries `step` after `yield_now` until it gives a value, failing after [`DEADLINE`].
fn retry<T>(mut step: impl FnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(value) = step() {
            return value;
        }
        assert!(
            started.elapsed() < DEADLINE,
            "no progress within {DEADLINE:?}"
        );
        thread::yield_now();
    }
}

/// A connected pair of loopback sockets: (client side, server side).
fn socket_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let client = tcp_connect(listener.local_addr().expect("addr"));
    let server = accept_within(&listener, DEADLINE);
    (client, server)
}

/// Echoes one message on a blocking socket, then closes.
fn echo_one<S: Transport>(ws: &mut WebSocket<S>) {
    let message = ws.read().expect("read");
    ws.send(message).expect("echo");
    assert!(matches!(ws.read(), Ok(Message::Close(_))));
}

/// Sends `text`, expects it back, closes.
fn exchange<S: Transport>(ws: &mut WebSocket<S>, text: &str) {
    ws.send_text(text).expect("send");
    assert_eq!(ws.read().expect("read"), Message::Text(text.into()));
    ws.close(ws_std::CloseCode::NORMAL, "").expect("close");
    assert!(matches!(ws.read(), Ok(Message::Close(_))));
}

// ----- Non-blocking handshakes ---------------------------------------------------------------

#[test]
fn non_blocking_accept_against_a_blocking_client() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let client = spawn(move || {
        let (mut ws, response) = ClientBuilder::new(&ws_url(addr, "/nb"))
            .protocol("chat")
            .connect()
            .expect("client handshake");
        ws.set_read_timeout(Some(IO_TIMEOUT));
        exchange(&mut ws, "over a non-blocking accept");
        response.protocol().map(String::from)
    });
    let stream = accept_within(&listener, DEADLINE);
    stream.set_nonblocking(true).expect("nonblocking");
    let mut pending = ServerBuilder::new().start_accept_with(stream, |request| {
        assert_eq!(request.path(), "/nb");
        request
            .accept()
            .protocol("chat")
            .map_err(|e| HttpResponse::from_error(&e))
    });
    assert!(pending.deadline().is_some(), "the handshake timer runs");
    let mut ws = retry(|| pending.advance().expect("server handshake"));
    assert!(pending.get_ref().is_none(), "the WebSocket has the stream");
    assert_matches_closed(pending.advance());
    assert_eq!(ws.protocol(), Some("chat"));
    ws.get_mut().set_nonblocking(false).expect("blocking");
    ws.set_read_timeout(Some(IO_TIMEOUT));
    echo_one(&mut ws);
    assert_eq!(client.join(), Some("chat".to_string()));
}

fn assert_matches_closed<T: std::fmt::Debug>(result: Result<T, Error>) {
    assert!(
        matches!(result, Err(Error::ConnectionClosed)),
        "a finished handshake: {result:?}"
    );
}

#[test]
fn non_blocking_connect_against_a_blocking_server() {
    let (addr, server) = serve_one(|stream| {
        let mut ws = ws_std::accept_with(stream, |request| {
            assert_eq!(request.header("X-Token"), Some(&b"t0"[..]));
            Ok(request.accept())
        })
        .expect("server handshake");
        ws.set_read_timeout(Some(IO_TIMEOUT));
        echo_one(&mut ws);
    });
    let stream = tcp_connect(addr);
    stream.set_nonblocking(true).expect("nonblocking");
    let mut pending = ClientBuilder::new(&ws_url(addr, "/"))
        .header("X-Token", "t0")
        .start_handshake(stream)
        .expect("a valid request");
    let (mut ws, response) = retry(|| pending.advance().expect("client handshake"));
    assert_eq!(response.status(), 101);
    assert_matches_closed(pending.advance());
    ws.get_mut().set_nonblocking(false).expect("blocking");
    ws.set_read_timeout(Some(IO_TIMEOUT));
    exchange(&mut ws, "over a non-blocking connect");
    server.join();
}

/// A stream that moves at most a few bytes per call and fails every other call with
/// `WouldBlock`: every read and write of the handshake is cut short, and resumed.
struct Choppy {
    inner: TcpStream,
    calls: usize,
}

impl Choppy {
    fn new(inner: TcpStream) -> Choppy {
        inner.set_nonblocking(true).expect("nonblocking");
        Choppy { inner, calls: 0 }
    }

    fn stalls(&mut self) -> bool {
        self.calls += 1;
        self.calls % 2 == 0
    }
}

impl Read for Choppy {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.stalls() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = buf.len().min(3);
        self.inner.read(&mut buf[..n])
    }
}

impl Write for Choppy {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.stalls() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        self.inner.write(&buf[..buf.len().min(5)])
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Transport for Choppy {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.inner.set_read_timeout(timeout)
    }

    fn shutdown(&mut self) -> io::Result<()> {
        Transport::shutdown(&mut self.inner)
    }
}

#[test]
fn both_ends_non_blocking_on_one_thread_in_pieces_of_a_few_bytes() {
    let (client, server) = socket_pair();
    let mut client: PendingConnect<Choppy> = ClientBuilder::new("ws://127.0.0.1/pieces")
        .protocol("p2")
        .start_handshake(Choppy::new(client))
        .expect("a valid request");
    let mut server: PendingAccept<Choppy, _> =
        ServerBuilder::new().start_accept_with(Choppy::new(server), |request: &Request| {
            assert_eq!(request.path(), "/pieces");
            request
                .accept()
                .protocol("p2")
                .map_err(|e| HttpResponse::from_error(&e))
        });
    // Neither end can finish without the other moving on: one thread alternates between them.
    let mut client_ws = None;
    let mut server_ws = None;
    let mut rounds = 0;
    retry(|| {
        rounds += 1;
        if server_ws.is_none() {
            server_ws = server.advance().expect("server handshake");
        }
        if client_ws.is_none() {
            client_ws = client.advance().expect("client handshake");
        }
        (client_ws.is_some() && server_ws.is_some()).then_some(())
    });
    // Hundreds of bytes in pieces of 3 and 5, every other call a stall.
    assert!(rounds > 50, "{rounds} rounds");
    let (mut client_ws, response) = client_ws.expect("done");
    let mut server_ws = server_ws.expect("done");
    assert_eq!(response.protocol(), Some("p2"));
    assert_eq!(server_ws.protocol(), Some("p2"));
    assert_eq!(client_ws.protocol(), Some("p2"));
    // The connections work over the same choppy streams (deflate agreed by default).
    client_ws.write("after the pieces").expect("queued");
    retry(|| match client_ws.flush() {
        Ok(()) => Some(()),
        Err(Error::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => None,
        Err(e) => panic!("flush: {e}"),
    });
    let message = retry(|| match server_ws.read() {
        Ok(message) => Some(message),
        Err(Error::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => None,
        Err(e) => panic!("read: {e}"),
    });
    assert_eq!(message, Message::Text("after the pieces".into()));
}

#[test]
fn a_trickled_request_is_resumed_byte_by_byte() {
    let (mut client, server) = socket_pair();
    server.set_nonblocking(true).expect("nonblocking");
    let mut pending = ServerBuilder::new().start_accept(server);
    let request = valid_request();
    for (i, byte) in request.iter().enumerate() {
        client.write_all(&[*byte]).expect("write");
        // Until the last byte, the server can only wait.
        if i + 1 < request.len() {
            assert!(
                pending.advance().expect("no failure").is_none(),
                "at byte {i}"
            );
        }
    }
    let _ws = retry(|| pending.advance().expect("server handshake"));
    let head = read_head(&mut client);
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    assert_eq!(header_value(&head, "Sec-WebSocket-Accept"), Some(ACCEPT));
}

// ----- Refusals -------------------------------------------------------------------------------

#[test]
fn a_401_reaches_the_client_with_its_challenge_and_body() {
    let (addr, server) = serve_one(|stream| {
        ws_std::accept_with(stream, |request| {
            assert_eq!(request.header("Authorization"), None);
            Err(HttpResponse::new(401)
                .with_header("WWW-Authenticate", "Bearer realm=\"chat\"")
                .with_header("Content-Type", "text/plain")
                .with_body("a token is required to join\n"))
        })
        .map(|_| ())
    });
    let result = ClientBuilder::new(&ws_url(addr, "/chat")).connect();
    let error = match result {
        Err(error) => error,
        Ok(_) => panic!("the server refused"),
    };
    assert_eq!(
        error.to_string(),
        "handshake failed: refused with HTTP 401 Unauthorized: \"a token is required to join\""
    );
    let Error::Handshake(HandshakeError::Rejected(response)) = error else {
        panic!("expected a refusal, got {error:?}");
    };
    assert_eq!(response.status(), 401);
    assert_eq!(
        response.header("www-authenticate"),
        Some(&b"Bearer realm=\"chat\""[..])
    );
    assert_eq!(response.header("Content-Type"), Some(&b"text/plain"[..]));
    assert_eq!(response.body(), b"a token is required to join\n");
    // The server reports the refusal it sent.
    match server.join() {
        Err(Error::Handshake(HandshakeError::Rejected(sent))) => {
            assert_eq!(sent.status(), 401);
            assert_eq!(sent.body(), b"a token is required to join\n");
        }
        other => panic!("expected the refusal, got {other:?}"),
    }
}

#[test]
fn a_refusal_seen_by_a_non_blocking_client() {
    let (addr, server) = serve_one(|stream| {
        ws_std::accept_with(stream, |_| {
            Err(HttpResponse::new(403).with_body("x".repeat(500)))
        })
        .map(|_| ())
    });
    let stream = tcp_connect(addr);
    stream.set_nonblocking(true).expect("nonblocking");
    let mut pending = ClientBuilder::new(&ws_url(addr, "/"))
        .start_handshake(stream)
        .expect("a valid request");
    let error = retry(|| match pending.advance() {
        Ok(None) => None,
        Ok(Some(_)) => panic!("the server refused"),
        Err(error) => Some(error),
    });
    let text = error.to_string();
    // The excerpt is cut: 80 characters and an ellipsis.
    assert!(
        text.ends_with(&format!(": \"{}\"...", "x".repeat(80))),
        "{text}"
    );
    let Error::Handshake(HandshakeError::Rejected(response)) = error else {
        panic!("expected a refusal, got {error:?}");
    };
    assert_eq!((response.status(), response.body().len()), (403, 500));
    assert!(server.join().is_err());
}

#[test]
fn plain_http_gets_426() {
    let (addr, server) = serve_one(|stream| {
        let mut keep = stream.try_clone().expect("clone");
        let result = ws_std::accept(stream).map(|_| ());
        let _ = io::copy(&mut keep, &mut io::sink());
        result
    });
    let mut raw = tcp_connect(addr);
    raw.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .expect("write");
    let response = read_to_eof(&mut raw);
    drop(raw);
    let text = String::from_utf8_lossy(&response);
    assert!(text.starts_with("HTTP/1.1 426 "), "{text}");
    assert_eq!(header_value(&text, "Upgrade"), Some("websocket"));
    assert_eq!(header_value(&text, "Sec-WebSocket-Version"), Some("13"));
    match server.join() {
        Err(Error::Handshake(HandshakeError::Rejected(sent))) => assert_eq!(sent.status(), 426),
        other => panic!("expected the 426 reported, got {other:?}"),
    }
}

#[test]
fn plain_http_is_answered_by_the_http_handler() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let builder = ServerBuilder::new().http(|request| match request.path() {
        "/health" => HttpResponse::new(200)
            .with_header("Content-Type", "text/plain")
            .with_body("ok\n"),
        _ => HttpResponse::new(404),
    });
    fn shared<T: Send + Sync + Clone + 'static>(_: &T) {}
    shared(&builder);
    let server = spawn(move || {
        let mut outcomes = Vec::new();
        for _ in 0..3 {
            let stream = accept_within(&listener, DEADLINE);
            let mut keep = stream.try_clone().expect("clone");
            outcomes.push(match builder.accept(stream) {
                Ok(mut ws) => {
                    ws.set_read_timeout(Some(IO_TIMEOUT));
                    echo_one(&mut ws);
                    101
                }
                Err(Error::Handshake(HandshakeError::Rejected(sent))) => {
                    // Held open until the client has read the answer and closed.
                    let _ = io::copy(&mut keep, &mut io::sink());
                    sent.status()
                }
                Err(e) => panic!("unexpected failure: {e}"),
            });
        }
        outcomes
    });
    for (path, status, body) in [("/health", "200", &b"ok\n"[..]), ("/", "404", b"")] {
        let mut raw = tcp_connect(addr);
        raw.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
            .expect("write");
        let response = read_to_eof(&mut raw);
        let text = String::from_utf8_lossy(&response);
        assert!(text.starts_with(&format!("HTTP/1.1 {status} ")), "{text}");
        assert!(response.ends_with(body), "{text}");
    }
    // WebSocket requests on the same builder are still upgraded.
    let (mut ws, _) = ClientBuilder::new(&ws_url(addr, "/"))
        .connect()
        .expect("upgrade");
    ws.set_read_timeout(Some(IO_TIMEOUT));
    exchange(&mut ws, "still a WebSocket server");
    assert_eq!(server.join(), [200, 404, 101]);
}

// ----- The handshake timeout ------------------------------------------------------------------

const SHORT: Duration = Duration::from_millis(100);

#[test]
fn handshake_timeout_of_a_non_blocking_accept() {
    let (mut client, server) = socket_pair();
    server.set_nonblocking(true).expect("nonblocking");
    let started = Instant::now();
    let mut pending = ServerBuilder::new()
        .handshake_timeout(Some(SHORT))
        .start_accept(server);
    let deadline = pending.deadline().expect("a timer");
    assert!(deadline >= started + SHORT);
    client.write_all(b"GET / HTTP/1.1\r\n").expect("write");
    let error = retry(|| match pending.advance() {
        Ok(None) => None,
        Ok(Some(_)) => panic!("half a request accepted"),
        Err(error) => Some(error),
    });
    assert!(
        matches!(error, Error::Handshake(HandshakeError::Timeout)),
        "{error:?}"
    );
    assert!(Instant::now() >= deadline);
    // No answer: the connection is closed with nothing written.
    assert_eq!(read_to_eof(&mut client), b"");
}

#[test]
fn handshake_timeout_of_a_non_blocking_connect() {
    let (addr, server) = serve_one(|mut stream| {
        read_head(&mut stream);
        read_to_eof(&mut stream)
    });
    let stream = tcp_connect(addr);
    stream.set_nonblocking(true).expect("nonblocking");
    let started = Instant::now();
    let mut pending = ClientBuilder::new(&ws_url(addr, "/"))
        .handshake_timeout(Some(SHORT))
        .start_handshake(stream)
        .expect("a valid request");
    let error = retry(|| match pending.advance() {
        Ok(None) => None,
        Ok(Some(_)) => panic!("no response was sent"),
        Err(error) => Some(error),
    });
    assert!(
        matches!(error, Error::Handshake(HandshakeError::Timeout)),
        "{error:?}"
    );
    assert!(started.elapsed() >= SHORT);
    // The client closed its side after the request: the server read it all, then EOF.
    assert_eq!(server.join(), b"");
}

/// A stream whose writes never go through.
struct Unwritable(TcpStream);

impl Read for Unwritable {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl Write for Unwritable {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Err(io::ErrorKind::WouldBlock.into())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Transport for Unwritable {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.0.set_read_timeout(timeout)
    }

    fn shutdown(&mut self) -> io::Result<()> {
        Transport::shutdown(&mut self.0)
    }
}

#[test]
fn handshake_timeout_of_a_request_that_cannot_be_written() {
    let (client, mut server) = socket_pair();
    client.set_nonblocking(true).expect("nonblocking");
    let started = Instant::now();
    let mut pending = ClientBuilder::new("ws://127.0.0.1/")
        .handshake_timeout(Some(SHORT))
        .start_handshake(Unwritable(client))
        .expect("a valid request");
    let error = retry(|| match pending.advance() {
        Ok(None) => None,
        Ok(Some(_)) => panic!("nothing was sent"),
        Err(error) => Some(error),
    });
    assert!(
        matches!(error, Error::Handshake(HandshakeError::Timeout)),
        "{error:?}"
    );
    assert!(started.elapsed() >= SHORT);
    // The client closed the connection without a byte of its request.
    assert_eq!(read_to_eof(&mut server), b"");
}

#[test]
fn blocking_handshake_timeouts_in_both_roles() {
    let (client, server) = socket_pair();
    let server = spawn(move || {
        let started = Instant::now();
        let result = ServerBuilder::new()
            .handshake_timeout(Some(SHORT))
            .accept(server)
            .map(|_| ());
        (result, started.elapsed())
    });
    // A client that connects and says nothing.
    let (result, elapsed) = server.join();
    assert!(
        matches!(result, Err(Error::Handshake(HandshakeError::Timeout))),
        "{result:?}"
    );
    assert!(elapsed >= SHORT, "{elapsed:?}");
    drop(client);

    let (addr, silent) = serve_one(|mut stream| {
        read_head(&mut stream);
        read_to_eof(&mut stream)
    });
    let started = Instant::now();
    let result = ClientBuilder::new(&ws_url(addr, "/"))
        .handshake_timeout(Some(SHORT))
        .connect();
    assert!(
        matches!(result, Err(Error::Handshake(HandshakeError::Timeout))),
        "{result:?}"
    );
    assert!(started.elapsed() >= SHORT);
    drop(result);
    assert_eq!(silent.join(), b"");
}
