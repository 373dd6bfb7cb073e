//! The chat demo (`ws serve` without `--echo`), run as a child process and used over loopback
//! by ws-std clients and plain HTTP requests: every scenario on the mio backend and on the std
//! backend, each over plain TCP and over TLS (the page over https, the socket over wss, with
//! certificates made for the test).
//!
//! The server is killed on every path (the guard kills it on drop) and every read is bounded by
//! [`DEADLINE`].

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use common::certs::TempCerts;
use serde_json::{json, Value};
use ws_proto::{CloseCode, HandshakeError};
use ws_std::tls::{client, client_stream};
use ws_std::{ClientBuilder, Error, MaybeTlsStream, Message, WebSocket};

mod common;

/// How long any wait may take.
const DEADLINE: Duration = Duration::from_secs(10);

/// Which server a scenario runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// `ws serve` (the chat's default backend).
    Mio,
    /// `ws serve --backend std`.
    Std,
    /// `ws serve --tls-cert ... --tls-key ...` (mio, the chat's default with TLS too).
    MioTls,
    /// `ws serve --backend std --tls-cert ... --tls-key ...`.
    StdTls,
}

/// `ws serve 127.0.0.1:0`, killed when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
    /// The second line `ws serve` printed.
    hint: String,
    /// The certificates of a TLS server.
    certs: Option<TempCerts>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// `http` or `https`.
    fn page_scheme(&self) -> &'static str {
        if self.certs.is_some() {
            "https"
        } else {
            "http"
        }
    }

    /// The WebSocket URL of `path` on this server.
    fn url(&self, path: &str) -> String {
        let scheme = if self.certs.is_some() { "wss" } else { "ws" };
        format!("{scheme}://{}{path}", self.addr)
    }

    /// A client for `path`, trusting the server's CA.
    fn client(&self, path: &str) -> ClientBuilder {
        let builder = ClientBuilder::new(&self.url(path));
        match &self.certs {
            Some(certs) => builder.ca_file(&certs.files.ca),
            None => builder,
        }
    }
}

fn serve(mode: Mode) -> Server {
    static SERVERS: AtomicUsize = AtomicUsize::new(0);
    let certs = matches!(mode, Mode::MioTls | Mode::StdTls)
        .then(|| TempCerts::new(&format!("chat-{}", SERVERS.fetch_add(1, Ordering::Relaxed))));
    let mut command = Command::new(env!("CARGO_BIN_EXE_ws"));
    command.args(["serve", "127.0.0.1:0"]);
    if let Some(certs) = &certs {
        command.args(certs.serve_args());
    }
    if matches!(mode, Mode::Std | Mode::StdTls) {
        command.args(["--backend", "std"]);
    }
    let mut child = command
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
    let prefix = match certs {
        Some(_) => "listening on wss://",
        None => "listening on ws://",
    };
    let addr = first
        .strip_prefix(prefix)
        .and_then(|rest| rest.trim_end().strip_suffix('/'))
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .parse()
        .expect("a socket address");
    Server {
        child,
        addr,
        hint,
        certs,
    }
}

/// Each scenario, a function of the server, as a test on every kind of server.
macro_rules! on_every_server {
    ($($scenario:ident),* $(,)?) => {
        mod mio {
            $(#[test] fn $scenario() { super::$scenario(super::serve(super::Mode::Mio)) })*
        }
        mod std_backend {
            $(#[test] fn $scenario() { super::$scenario(super::serve(super::Mode::Std)) })*
        }
        mod mio_tls {
            $(#[test] fn $scenario() { super::$scenario(super::serve(super::Mode::MioTls)) })*
        }
        mod std_tls {
            $(#[test] fn $scenario() { super::$scenario(super::serve(super::Mode::StdTls)) })*
        }
    };
}

on_every_server!(
    two_clients_see_each_others_messages_and_joins_and_leaves,
    a_first_message_without_hello_joins_then_is_broadcast,
    malformed_and_oversized_input_gets_an_error_to_the_sender_only,
    the_page_is_served_at_slash_and_other_paths_are_404,
    a_page_of_another_origin_cannot_connect,
    two_rooms_are_isolated,
    an_invalid_room_name_is_refused_with_a_reason,
);

type Client = WebSocket<MaybeTlsStream>;

fn connect(server: &Server) -> Client {
    connect_to(server, "/ws")
}

/// Connects to a path of the server (`/ws?room=NAME` for a room).
fn connect_to(server: &Server, path: &str) -> Client {
    let (mut ws, _) = server.client(path).connect().expect("connect");
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
    join_room(server, None, name, others)
}

/// Joins a room as `name` (the default room for `None`), where `others` are present.
fn join_room(server: &Server, room: Option<&str>, name: &str, others: &[&str]) -> Client {
    let mut ws = match room {
        Some(room) => connect_to(server, &format!("/ws?room={room}")),
        None => connect(server),
    };
    send(&mut ws, json!({ "type": "hello", "user": name }));
    let welcome = next(&mut ws);
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    assert_eq!(welcome["room"], room.unwrap_or("lobby"), "{welcome}");
    assert_eq!(welcome["user"], name);
    let mut users: Vec<&str> = others.iter().copied().chain([name]).collect();
    users.sort_unstable();
    assert_eq!(welcome["users"], json!(users));
    assert_notice(&next(&mut ws), "join", name);
    ws
}

/// A join or leave notice: its type, its user, and a plausible server time.
fn assert_notice(value: &Value, kind: &str, user: &str) {
    assert_eq!(value["type"], kind, "{value}");
    assert_eq!(value["user"], user, "{value}");
    let ts = value["ts"].as_u64().expect("a numeric ts");
    assert!(ts > 1_600_000_000_000, "milliseconds since the epoch: {ts}");
    assert_eq!(value.as_object().unwrap().len(), 3, "{value}");
}

/// A chat message as broadcast: the fields sent, and a plausible server time.
fn assert_chat(value: &Value, user: &str, text: &str) {
    assert_eq!(value["user"], user, "{value}");
    assert_eq!(value["text"], text, "{value}");
    let ts = value["ts"].as_u64().expect("a numeric ts");
    assert!(ts > 1_600_000_000_000, "milliseconds since the epoch: {ts}");
    assert_eq!(value.as_object().unwrap().len(), 3, "{value}");
}

fn two_clients_see_each_others_messages_and_joins_and_leaves(server: Server) {
    assert!(
        server
            .hint
            .contains(&format!("open {}://{}/", server.page_scheme(), server.addr)),
        "{:?}",
        server.hint
    );
    let mut ada = join(&server, "ada", &[]);
    let mut bob = join(&server, "bob", &["ada"]);
    assert_notice(&next(&mut ada), "join", "bob");

    send(&mut ada, json!({ "user": "ada", "text": "hello bob" }));
    assert_chat(&next(&mut ada), "ada", "hello bob");
    assert_chat(&next(&mut bob), "ada", "hello bob");

    send(&mut bob, json!({ "user": "bob", "text": "hi ada <3" }));
    assert_chat(&next(&mut bob), "bob", "hi ada <3");
    assert_chat(&next(&mut ada), "bob", "hi ada <3");

    bob.close(CloseCode::NORMAL, "bye").expect("close");
    assert_notice(&next(&mut ada), "leave", "bob");

    // A connection that just vanishes (no Close frame) leaves too.
    let cy = join(&server, "cy", &["ada"]);
    assert_notice(&next(&mut ada), "join", "cy");
    drop(cy.get_ref().tcp().shutdown(std::net::Shutdown::Both));
    drop(cy);
    assert_notice(&next(&mut ada), "leave", "cy");
}

fn a_first_message_without_hello_joins_then_is_broadcast(server: Server) {
    let mut ada = join(&server, "ada", &[]);
    let mut dan = connect(&server);
    send(&mut dan, json!({ "user": "dan", "text": "no hello" }));
    assert_eq!(next(&mut dan)["type"], "welcome");
    for ws in [&mut dan, &mut ada] {
        assert_notice(&next(ws), "join", "dan");
        assert_chat(&next(ws), "dan", "no hello");
    }
}

fn two_rooms_are_isolated(server: Server) {
    let mut ada = join_room(&server, Some("rust"), "ada", &[]);
    let mut bob = join_room(&server, Some("go"), "bob", &[]);
    // The same name in two rooms is two people.
    let mut ada_in_go = join_room(&server, Some("go"), "ada", &["bob"]);
    assert_notice(&next(&mut bob), "join", "ada");
    let mut cy = join_room(&server, Some("rust"), "cy", &["ada"]);
    assert_notice(&next(&mut ada), "join", "cy");

    send(&mut bob, json!({ "user": "bob", "text": "in go" }));
    assert_chat(&next(&mut bob), "bob", "in go");
    assert_chat(&next(&mut ada_in_go), "bob", "in go");
    send(&mut cy, json!({ "user": "cy", "text": "in rust" }));
    assert_chat(&next(&mut cy), "cy", "in rust");
    // Ada's next message in rust is cy's: nothing of go reached her there.
    assert_chat(&next(&mut ada), "cy", "in rust");

    // A leave is announced in its room only.
    bob.close(CloseCode::NORMAL, "bye").expect("close");
    assert_notice(&next(&mut ada_in_go), "leave", "bob");
    send(&mut ada, json!({ "user": "ada", "text": "still here" }));
    assert_chat(&next(&mut cy), "ada", "still here");
    assert_chat(&next(&mut ada), "ada", "still here");

    // The default room is a room of its own.
    let mut dan = join(&server, "dan", &[]);
    send(&mut dan, json!({ "user": "dan", "text": "lobby" }));
    assert_chat(&next(&mut dan), "dan", "lobby");
    send(&mut cy, json!({ "user": "cy", "text": "rust again" }));
    assert_chat(&next(&mut ada), "cy", "rust again");
}

fn an_invalid_room_name_is_refused_with_a_reason(server: Server) {
    for room in ["", "a%20b", "x/y", &"r".repeat(33)] {
        let error = server
            .client(&format!("/ws?room={room}"))
            .connect()
            .expect_err("an invalid room");
        match error {
            Error::Handshake(HandshakeError::Rejected(response)) => {
                assert_eq!(response.status(), 400, "{room:?}");
                let body = String::from_utf8_lossy(response.body()).into_owned();
                assert!(body.contains("a room name is 1 to 32"), "{room:?}: {body}");
            }
            other => panic!("{room:?}: expected a 400, got {other:?}"),
        }
    }
}

fn malformed_and_oversized_input_gets_an_error_to_the_sender_only(server: Server) {
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
    assert_notice(&next(&mut ada), "leave", "eve");
    assert_notice(&next(&mut bob), "leave", "eve");
}

/// Sends a raw HTTP request (over TLS to a TLS server) and returns the whole response (the
/// server closes after it).
fn http(server: &Server, request: &str) -> String {
    let tcp = TcpStream::connect(server.addr).expect("connect");
    tcp.set_read_timeout(Some(DEADLINE)).expect("timeout");
    let response = match &server.certs {
        Some(certs) => {
            let roots = client::roots_from_pem_file(&certs.files.ca).expect("CA file");
            let config = client::config(roots).expect("TLS config");
            exchange(
                client_stream(config, "localhost", tcp).expect("TLS"),
                request,
            )
        }
        None => exchange(tcp, request),
    };
    String::from_utf8(response).expect("UTF-8")
}

/// Writes `request`, reads to the end of the stream.
fn exchange(mut stream: impl Read + Write, request: &str) -> Vec<u8> {
    stream.write_all(request.as_bytes()).expect("write");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).expect("read");
    response
}

fn the_page_is_served_at_slash_and_other_paths_are_404(server: Server) {
    let page = http(
        &server,
        "GET / HTTP/1.1\r\nHost: localhost\r\nAccept: text/html\r\n\r\n",
    );
    assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{page}");
    assert!(page.contains("Content-Type: text/html; charset=utf-8\r\n"));
    let body = &page[page.find("\r\n\r\n").expect("a header block") + 4..];
    assert!(body.starts_with("<!doctype html>"));
    assert!(body.contains("new WebSocket("));

    let missing = http(&server, "GET /nope HTTP/1.1\r\nHost: localhost\r\n\r\n");
    assert!(
        missing.starts_with("HTTP/1.1 404 Not Found\r\n"),
        "{missing}"
    );

    match server.client("/elsewhere").connect() {
        Err(Error::Handshake(HandshakeError::Rejected(response))) if response.status() == 404 => {}
        other => panic!("expected a 404, got {:?}", other.map(|_| ())),
    }
}

fn a_page_of_another_origin_cannot_connect(server: Server) {
    let refused = server.client("/ws").origin("http://evil.example").connect();
    match refused {
        Err(Error::Handshake(HandshakeError::Rejected(response))) if response.status() == 403 => {}
        other => panic!("expected a 403, got {:?}", other.map(|_| ())),
    }
    let origin = format!("{}://{}", server.page_scheme(), server.addr);
    let (mut ws, _) = server
        .client("/ws")
        .origin(&origin)
        .connect()
        .expect("same origin");
    ws.set_read_timeout(Some(DEADLINE));
    send(&mut ws, json!({ "type": "hello", "user": "ada" }));
    assert_eq!(next(&mut ws)["type"], "welcome");
}
