//! The opening handshake on the server: accept with a subprotocol, reject, invalid requests,
//! and plain HTTP requests.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::mpsc;

use common::{next, Probe, Seen, WAIT};
use ws_mio::{ConnId, Ctx, Handler, Options, Server};
use ws_proto::handshake::{Accept, HttpRequest, HttpResponse, Request};
use ws_proto::HandshakeError;

struct Gate(Probe);

impl Handler for Gate {
    fn handshake(
        &mut self,
        _: &mut Ctx<'_>,
        _: ConnId,
        request: &Request,
    ) -> Result<Accept, HttpResponse> {
        if request.origin() == Some("http://evil.example") {
            return Err(HttpResponse::new(403).with_body("origin not allowed"));
        }
        if request.path() != "/chat" {
            return Err(HttpResponse::new(404).with_header("X-Why", "no such room"));
        }
        let accept = request.accept().header("X-Room", "chat").unwrap();
        Ok(if request.protocols().iter().any(|p| p == "v2") {
            accept.protocol("v2").unwrap()
        } else {
            accept
        })
    }

    fn http(&mut self, _: &mut Ctx<'_>, _: ConnId, request: &HttpRequest) -> HttpResponse {
        match request.path() {
            "/" => HttpResponse::new(200)
                .with_header("Content-Type", "text/html; charset=utf-8")
                .with_body("<!doctype html><p>hello</p>"),
            _ => HttpResponse::new(404),
        }
    }

    fn error(&mut self, ctx: &mut Ctx<'_>, id: ConnId, error: &ws_mio::Error) {
        self.0.error(ctx, id, error);
    }

    fn open(&mut self, ctx: &mut Ctx<'_>, id: ConnId) {
        assert_eq!(ctx.protocol(id), Some("v2"));
        assert_eq!(ctx.role(id), Some(ws_proto::Role::Server));
        assert!(ctx.peer_addr(id).unwrap().ip().is_loopback());
        self.0.open(ctx, id);
    }
}

fn start() -> (String, mpsc::Receiver<Seen>, ws_mio::Running) {
    let (tx, rx) = mpsc::channel();
    let server = Server::bind("127.0.0.1:0", Options::default(), move |_| {
        Gate(Probe {
            tx: tx.clone(),
            echo: false,
        })
    })
    .unwrap();
    let addr = server.local_addr().unwrap().to_string();
    (addr, rx, server.spawn().unwrap())
}

/// Sends raw bytes and reads the whole answer (the server closes after it).
fn exchange(addr: &str, request: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}

#[test]
fn accepts_with_the_chosen_subprotocol_and_headers() {
    let (addr, rx, _running) = start();
    let (_ws, response) = ws_std::ClientBuilder::new(&format!("ws://{addr}/chat"))
        .protocol("v1")
        .protocol("v2")
        .connect()
        .unwrap();
    assert_eq!(response.protocol(), Some("v2"));
    assert_eq!(response.header("x-room"), Some(&b"chat"[..]));
    assert!(matches!(next(&rx), Seen::Open(_)));
}

#[test]
fn rejects_by_path_and_origin() {
    let (addr, _rx, _running) = start();
    let error = ws_std::connect(&format!("ws://{addr}/other")).unwrap_err();
    // The client sees the refusal whole: status, headers and body.
    match error {
        ws_std::Error::Handshake(HandshakeError::Rejected(response)) => {
            assert_eq!(response.status(), 404);
            assert_eq!(response.header("x-why"), Some(&b"no such room"[..]));
        }
        other => panic!("expected a 404 refusal, got {other:?}"),
    }
    let error = ws_std::ClientBuilder::new(&format!("ws://{addr}/chat"))
        .origin("http://evil.example")
        .connect()
        .unwrap_err();
    match error {
        ws_std::Error::Handshake(HandshakeError::Rejected(response)) => {
            assert_eq!(response.status(), 403);
            assert_eq!(response.body(), b"origin not allowed");
        }
        other => panic!("expected a 403 refusal, got {other:?}"),
    }
}

#[test]
fn invalid_requests_get_their_http_error() {
    let (addr, rx, _running) = start();
    let answer = exchange(
        &addr,
        "GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n",
    );
    assert!(
        answer.starts_with("HTTP/1.1 426 Upgrade Required\r\n"),
        "{answer}"
    );
    assert!(answer.contains("\r\nSec-WebSocket-Version: 13\r\n"));
    assert!(matches!(
        next(&rx),
        Seen::Error(
            _,
            common::Fault::Handshake(ws_proto::HandshakeError::UnsupportedVersion)
        )
    ));
}

#[test]
fn plain_http_gets_the_page_or_a_404() {
    let (addr, _rx, _running) = start();
    let answer = exchange(&addr, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.contains("\r\nContent-Type: text/html; charset=utf-8\r\n"));
    assert!(answer.ends_with("\r\n\r\n<!doctype html><p>hello</p>"));
    // The head may arrive in pieces.
    let mut stream = TcpStream::connect(&addr).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    for piece in ["GET /missing HT", "TP/1.1\r\nHost: h\r", "\n\r\n"] {
        stream.write_all(piece.as_bytes()).unwrap();
        stream.flush().unwrap();
    }
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 404 Not Found\r\n"), "{answer}");
}

#[test]
fn the_default_handler_answers_plain_http_with_426() {
    struct Default;
    impl Handler for Default {}
    let server = Server::bind("127.0.0.1:0", Options::default(), |_| Default).unwrap();
    let addr = server.local_addr().unwrap().to_string();
    let _running = server.spawn().unwrap();
    let answer = exchange(&addr, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    assert!(
        answer.starts_with("HTTP/1.1 426 Upgrade Required\r\n"),
        "{answer}"
    );
    assert!(answer.contains("\r\nUpgrade: websocket\r\n"));
}

#[test]
fn permessage_deflate_is_negotiated_as_config_says() {
    let (addr, rx, _running) = start();
    let offer = "GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                 Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
                 Sec-WebSocket-Protocol: v2\r\n\
                 Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n";
    let mut stream = TcpStream::connect(&addr).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    stream.write_all(offer.as_bytes()).unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    assert!(
        head.contains("\r\nSec-WebSocket-Extensions: permessage-deflate"),
        "{head}"
    );
    assert!(matches!(next(&rx), Seen::Open(_)));
}
