//! The chat demo (`ws serve` without `--echo`), run as a child process and used over loopback
//! by ws-std clients and plain HTTP requests.
//!
//! The server is killed on every path (the guard kills it on drop) and every read is bounded by
//! [`DEADLINE`].

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use serde_json::{json, Value};
use ws_proto::{CloseCode, HandshakeError};
use ws_std::{ClientBuilder, Error, MaybeTlsStream, Message, WebSocket};

/// How long any wait may take.
const DEADLINE: Duration = Duration::from_secs(10);

/// `ws serve 127.0.0.1:0`, killed when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
    /// The second line `ws serve` printed.
    hint: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve() -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ws"))
        .args(["serve", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn ws serve");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, lines) = mpsc::channel();
    thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        for _ in 0..2 {
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let _ = tx.send(line);
        }
        // Keep draining so the server never blocks on a full pipe.
        let _ = io::copy(&mut reader, &mut io::sink());
    });
    let first = lines.recv_timeout(DEADLINE).expect("a first line");
    let hint = lines.recv_timeout(DEADLINE).expect("a second line");
    let addr = first
        .strip_prefix("listening on ws://")
        .and_then(|rest| rest.trim_end().strip_suffix('/'))
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .parse()
        .expect("a socket address");
    Server { child, addr, hint }
}

type Client = WebSocket<MaybeTlsStream>;

fn connect(server: &Server) -> Client {
    let (mut ws, _) = ws_std::connect(&format!("ws://{}/ws", server.addr)).expect("connect");
    ws.set_read_timeout(Some(DEADLINE));
    ws
}

/// The next text message, as JSON.
fn next(ws: &mut Client) -> Value {
    loop {
        match ws.read().expect("a message") {
            Message::Text(text) => return serde_json::from_str(&text).expect("JSON"),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected {other:?}"),
        }
    }
}

fn send(ws: &mut Client, value: Value) {
    ws.send_text(&value.to_string()).expect("send");
}

/// Connects and joins as `name`; returns the client after its welcome and its own join notice.
fn join(server: &Server, name: &str, others: &[&str]) -> Client {
    let mut ws = connect(server);
    send(&mut ws, json!({ "type": "hello", "user": name }));
    let welcome = next(&mut ws);
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    assert_eq!(welcome["user"], name);
    let mut users: Vec<&str> = others.iter().copied().chain([name]).collect();
    users.sort_unstable();
    assert_eq!(welcome["users"], json!(users));
    assert_eq!(next(&mut ws), json!({ "type": "join", "user": name }));
    ws
}

/// A chat message as broadcast: the fields sent, and a plausible server time.
fn assert_chat(value: &Value, user: &str, text: &str) {
    assert_eq!(value["user"], user, "{value}");
    assert_eq!(value["text"], text, "{value}");
    let ts = value["ts"].as_u64().expect("a numeric ts");
    assert!(ts > 1_600_000_000_000, "milliseconds since the epoch: {ts}");
    assert_eq!(value.as_object().unwrap().len(), 3, "{value}");
}

#[test]
fn two_clients_see_each_others_messages_and_joins_and_leaves() {
    let server = serve();
    assert!(
        server
            .hint
            .contains(&format!("open http://{}/", server.addr)),
        "{:?}",
        server.hint
    );
    let mut ada = join(&server, "ada", &[]);
    let mut bob = join(&server, "bob", &["ada"]);
    assert_eq!(next(&mut ada), json!({ "type": "join", "user": "bob" }));

    send(&mut ada, json!({ "user": "ada", "text": "hello bob" }));
    assert_chat(&next(&mut ada), "ada", "hello bob");
    assert_chat(&next(&mut bob), "ada", "hello bob");

    send(&mut bob, json!({ "user": "bob", "text": "hi ada <3" }));
    assert_chat(&next(&mut bob), "bob", "hi ada <3");
    assert_chat(&next(&mut ada), "bob", "hi ada <3");

    bob.close(CloseCode::NORMAL, "bye").expect("close");
    assert_eq!(next(&mut ada), json!({ "type": "leave", "user": "bob" }));

    // A connection that just vanishes (no Close frame) leaves too.
    let cy = join(&server, "cy", &["ada"]);
    assert_eq!(next(&mut ada), json!({ "type": "join", "user": "cy" }));
    drop(cy.get_ref().tcp().shutdown(std::net::Shutdown::Both));
    drop(cy);
    assert_eq!(next(&mut ada), json!({ "type": "leave", "user": "cy" }));
}

#[test]
fn a_first_message_without_hello_joins_then_is_broadcast() {
    let server = serve();
    let mut ada = join(&server, "ada", &[]);
    let mut dan = connect(&server);
    send(&mut dan, json!({ "user": "dan", "text": "no hello" }));
    assert_eq!(next(&mut dan)["type"], "welcome");
    for ws in [&mut dan, &mut ada] {
        assert_eq!(next(ws), json!({ "type": "join", "user": "dan" }));
        assert_chat(&next(ws), "dan", "no hello");
    }
}

#[test]
fn malformed_and_oversized_input_gets_an_error_to_the_sender_only() {
    let server = serve();
    let mut ada = join(&server, "ada", &[]);
    let mut bob = join(&server, "bob", &["ada"]);
    assert_eq!(next(&mut ada)["type"], "join");

    let bad = [
        "not json".to_string(),
        r#"{"user": "bob"}"#.to_string(),
        json!({ "user": "ada", "text": "impersonation" }).to_string(),
        json!({ "user": "bob", "text": "x".repeat(4097) }).to_string(),
        json!({ "type": "hello", "user": "n".repeat(33) }).to_string(),
    ];
    for input in &bad {
        bob.send_text(input).expect("send");
        let reply = next(&mut bob);
        assert_eq!(reply["type"], "error", "{input}: {reply}");
        assert!(!reply["error"].as_str().unwrap().is_empty());
    }
    bob.send_binary(b"\x00\x01").expect("send");
    assert!(next(&mut bob)["error"].as_str().unwrap().contains("binary"));

    // Nothing of that reached ada: her next message is the next valid one.
    send(&mut bob, json!({ "user": "bob", "text": "sorry" }));
    assert_chat(&next(&mut bob), "bob", "sorry");
    assert_chat(&next(&mut ada), "bob", "sorry");

    // A message over the protocol limit (64 KiB) closes its connection with 1009.
    let mut eve = join(&server, "eve", &["ada", "bob"]);
    assert_eq!(next(&mut ada)["type"], "join");
    assert_eq!(next(&mut bob)["type"], "join");
    let huge = json!({ "user": "eve", "text": "x".repeat(70 << 10) }).to_string();
    eve.send_text(&huge).expect("send");
    match eve.read() {
        Ok(Message::Close(Some(frame))) => assert_eq!(frame.code, CloseCode::TOO_BIG),
        other => panic!("expected a 1009 close, got {other:?}"),
    }
    assert_eq!(next(&mut ada), json!({ "type": "leave", "user": "eve" }));
    assert_eq!(next(&mut bob), json!({ "type": "leave", "user": "eve" }));
}

/// Sends a raw HTTP request and returns the whole response (the server closes after it).
fn http(addr: SocketAddr, request: &str) -> String {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(DEADLINE)).expect("timeout");
    stream.write_all(request.as_bytes()).expect("write");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).expect("read");
    String::from_utf8(response).expect("UTF-8")
}

#[test]
fn the_page_is_served_at_slash_and_other_paths_are_404() {
    let server = serve();
    let page = http(
        server.addr,
        "GET / HTTP/1.1\r\nHost: localhost\r\nAccept: text/html\r\n\r\n",
    );
    assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{page}");
    assert!(page.contains("Content-Type: text/html; charset=utf-8\r\n"));
    let body = &page[page.find("\r\n\r\n").expect("a header block") + 4..];
    assert!(body.starts_with("<!doctype html>"));
    assert!(body.contains("new WebSocket("));

    let missing = http(server.addr, "GET /nope HTTP/1.1\r\nHost: localhost\r\n\r\n");
    assert!(
        missing.starts_with("HTTP/1.1 404 Not Found\r\n"),
        "{missing}"
    );

    let url = format!("ws://{}/elsewhere", server.addr);
    match ws_std::connect(&url) {
        Err(Error::Handshake(HandshakeError::Rejected(response))) if response.status() == 404 => {}
        other => panic!("expected a 404, got {:?}", other.map(|_| ())),
    }
}

#[test]
fn a_page_of_another_origin_cannot_connect() {
    let server = serve();
    let url = format!("ws://{}/ws", server.addr);
    let refused = ClientBuilder::new(&url)
        .origin("http://evil.example")
        .connect();
    match refused {
        Err(Error::Handshake(HandshakeError::Rejected(response))) if response.status() == 403 => {}
        other => panic!("expected a 403, got {:?}", other.map(|_| ())),
    }
    let origin = format!("http://{}", server.addr);
    let (mut ws, _) = ClientBuilder::new(&url)
        .origin(&origin)
        .connect()
        .expect("same origin");
    ws.set_read_timeout(Some(DEADLINE));
    send(&mut ws, json!({ "type": "hello", "user": "ada" }));
    assert_eq!(next(&mut ws)["type"], "welcome");
}

#[test]
fn the_chat_refuses_the_std_backend_with_a_reason() {
    let output = Command::new(env!("CARGO_BIN_EXE_ws"))
        .args(["serve", "127.0.0.1:0", "--backend", "std"])
        .stdin(Stdio::null())
        .output()
        .expect("run ws serve");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("mio backend"), "{stderr}");
}
