//! Interop tests against a real peer: Python's `websockets` library, in both directions.
//!
//! The peer scripts are in `interop/python/`. The tests need `WS_INTEROP_PYTHON`, the python
//! of a venv where `interop/python/requirements.txt` is installed, as `interop/setup.sh`
//! prints it:
//!
//! ```text
//! export WS_INTEROP_PYTHON="$(interop/setup.sh)"
//! cargo test -p ws-std --test interop_python
//! ```
//!
//! Without it each test prints "skipped" and passes, except when `CI` is set: then it fails,
//! so that a CI which forgot the setup does not pass silently.
//!
//! Every spawned process is owned by a [`Peer`], which kills it when dropped (on every path,
//! panics included); every wait is bounded.
//!
//! Both sides run with their defaults, so permessage-deflate is in use (websockets' server
//! limits both windows to 2^12); `interop_deflate.rs` goes through its parameters one by one.
//!
//! With the `tls` feature (as in the workspace's test run, where ws-cli turns it on), the
//! same exchanges also run over wss, with certificates made for the test: Python's `ssl`
//! context trusts the test CA, and ws-std's client `ClientBuilder::ca_file`.

#[cfg(feature = "tls")]
#[path = "../../ws-tls/test-support/certs.rs"]
mod certs;
mod interop_peer;

use std::path::{Path, PathBuf};

use interop_peer::*;
use ws_std::ws_proto::{CloseCode, CloseFrame, Config, DataKind};
use ws_std::{ClientBuilder, Error, MaybeTlsStream, Message, WebSocket};

const MIB: usize = 1024 * 1024;

/// The interpreter from `WS_INTEROP_PYTHON`; `None` (after saying so) when the test should be
/// skipped. Panics when it is missing under CI.
fn python() -> Option<PathBuf> {
    interpreter("WS_INTEROP_PYTHON", "interop/setup.sh")
}

/// Starts `echo_server.py` on a free port and returns it with its URL.
fn python_echo_server(python: &Path) -> (Peer, String) {
    echo_server(python, &script("python", "echo_server.py"), &[])
}

fn connect(url: &str) -> WebSocket<MaybeTlsStream> {
    connect_with(ClientBuilder::new(url), url)
}

fn connect_with(builder: ClientBuilder, url: &str) -> WebSocket<MaybeTlsStream> {
    let (mut ws, _response) = builder
        .connect()
        .unwrap_or_else(|e| panic!("connect {url}: {e}"));
    ws.set_read_timeout(Some(STEP_TIMEOUT));
    ws
}

/// Reads the next message; `what` names the step in the failure message.
fn read(ws: &mut WebSocket<MaybeTlsStream>, peer: &Peer, what: &str) -> Message {
    ws.read().unwrap_or_else(|e| {
        panic!(
            "{what}: read failed: {e:?}; peer output:\n{}",
            peer.output()
        )
    })
}

fn close_frame(code: u16, reason: &str) -> Message {
    Message::Close(Some(CloseFrame {
        code: CloseCode::from(code),
        reason: reason.into(),
    }))
}

/// 1 MiB of UTF-8 mixing 1, 2, 3 and 4-byte characters (so some straddle read buffers).
fn big_text() -> String {
    let mut text = "aé€🎉".repeat(MIB / 10);
    text.push_str(&"x".repeat(MIB % 10));
    assert_eq!(text.len(), MIB);
    text
}

/// 1 MiB of pseudo-random bytes (xorshift, fixed seed).
fn big_binary() -> Vec<u8> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..MIB)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

/// (a) Python client against the ws-std server: the script checks every echo and exits 0;
/// the server saw the client's Close frame with 4001 "bye".
#[test]
fn python_client_against_ws_std_server() {
    let Some(python) = python() else { return };
    let (url, server) = ws_std_echo_server(Config::default());
    python_client_against(&python, &url, &[], server);
}

/// (a) over wss: the Python client trusts the test CA, the ws-std server serves TLS.
#[cfg(feature = "tls")]
#[test]
fn python_client_against_ws_std_server_over_wss() {
    let Some(python) = python() else { return };
    let certs = certs::TempCerts::new("python-client");
    let tls = ws_std::tls::server::config_from_pem_files(&certs.files.cert, &certs.files.key)
        .expect("server config");
    let (url, server) = interop_peer::ws_std_tls_echo_server(Config::default(), tls);
    assert!(url.starts_with("wss://localhost:"), "{url}");
    python_client_against(&python, &url, &["--ca", certs.ca()], server);
}

/// Runs `client_check.py URL ARGS...` against `server` and checks both ends.
fn python_client_against(
    python: &Path,
    url: &str,
    args: &[&str],
    server: std::sync::mpsc::Receiver<Result<ServerReport, String>>,
) {
    let client_check = script("python", "client_check.py");
    let mut all_args = vec![url];
    all_args.extend_from_slice(args);
    let mut client = Peer::spawn(python, &client_check, &all_args, false);
    let status = client.wait(SCRIPT_TIMEOUT);
    let close = server.recv_timeout(STEP_TIMEOUT);
    assert!(
        status.success(),
        "client_check.py failed ({status}); server: {close:?}; output:\n{}",
        client.output()
    );
    let close = close
        .expect("the ws-std server did not finish")
        .unwrap_or_else(|e| {
            panic!(
                "ws-std server failed: {e}; client output:\n{}",
                client.output()
            )
        });
    assert_eq!(
        close.close,
        Some(CloseFrame {
            code: CloseCode::from(4001),
            reason: "bye".into()
        })
    );
}

/// (b) ws-std client against the Python echo server: every kind of message comes back
/// exactly, then the server closes with the code and reason we asked for.
#[test]
fn ws_std_client_against_python_server() {
    let Some(python) = python() else { return };
    let (server, url) = python_echo_server(&python);
    every_kind_of_message(connect(&url), &server);
}

/// (b) over wss: the Python server serves TLS with the test certificate, the ws-std client
/// trusts the test CA and sends `localhost` as SNI.
#[cfg(feature = "tls")]
#[test]
fn ws_std_client_against_python_server_over_wss() {
    let Some(python) = python() else { return };
    let certs = certs::TempCerts::new("python-server");
    let args = certs.serve_args();
    let (server, url) = echo_server(&python, &script("python", "echo_server.py"), &args);
    let url = url.replacen("ws://127.0.0.1", "wss://localhost", 1);
    let ws = connect_with(ClientBuilder::new(&url).ca_file(&certs.files.ca), &url);
    assert!(ws.get_ref().is_tls());
    let alpn = ws.get_ref().tls().and_then(|tls| tls.alpn_protocol());
    // Python's ssl offers no ALPN unless told: none is agreed, which a WebSocket is fine with.
    assert!(alpn.is_none() || alpn == Some(b"http/1.1"), "{alpn:?}");
    every_kind_of_message(ws, &server);
}

/// Every kind of message comes back exactly from a Python echo server, then it closes with
/// the code and reason we asked for.
fn every_kind_of_message(mut ws: WebSocket<MaybeTlsStream>, peer: &Peer) {
    let texts = ["hello", "héllo wörld ✓ 日本語 🎉", ""];
    for text in texts {
        ws.send_text(text).expect("send text");
        assert_eq!(read(&mut ws, peer, "text echo"), Message::Text(text.into()));
    }
    let binaries: [&[u8]; 3] = [&[0, 1, 2, 0xfe, 0xff], b"", &[0; 125]];
    for binary in binaries {
        ws.send_binary(binary).expect("send binary");
        assert_eq!(
            read(&mut ws, peer, "binary echo"),
            Message::Binary(binary.to_vec())
        );
    }

    // Fragmented text, with "€" (E2 82 AC) split across fragments and an empty last one.
    for (data, last) in [
        (&b"price: \xe2"[..], false),
        (b"\x82", false),
        (b"\xac 5", false),
        (b"", true),
    ] {
        ws.send_fragment(DataKind::Text, data, last)
            .expect("send text fragment");
    }
    assert_eq!(
        read(&mut ws, peer, "fragmented text echo"),
        Message::Text("price: € 5".into())
    );
    for (data, last) in [(&[1u8, 2][..], false), (&[], false), (&[3, 0xff], true)] {
        ws.send_fragment(DataKind::Binary, data, last)
            .expect("send binary fragment");
    }
    assert_eq!(
        read(&mut ws, peer, "fragmented binary echo"),
        Message::Binary(vec![1, 2, 3, 0xff])
    );

    let big = big_binary();
    ws.send_binary(&big).expect("send 1 MiB binary");
    let echoed = read(&mut ws, peer, "1 MiB binary echo");
    assert!(echoed == Message::Binary(big), "1 MiB binary: echo differs");
    let big = big_text();
    ws.send_text(&big).expect("send 1 MiB text");
    let echoed = read(&mut ws, peer, "1 MiB text echo");
    assert!(echoed == Message::Text(big), "1 MiB text: echo differs");

    // A 1 MiB message sent in fragments of 64 KiB.
    let big = big_binary();
    let pieces: Vec<&[u8]> = big.chunks(64 * 1024).collect();
    for (i, piece) in pieces.iter().enumerate() {
        ws.send_fragment(DataKind::Binary, piece, i + 1 == pieces.len())
            .expect("send fragment");
    }
    let echoed = read(&mut ws, peer, "1 MiB fragmented binary echo");
    assert!(
        echoed == Message::Binary(big),
        "1 MiB fragmented binary: echo differs"
    );

    let payload = b"ping-payload \x00\xff";
    ws.ping(payload).expect("ping");
    assert_eq!(read(&mut ws, peer, "pong"), Message::Pong(payload.to_vec()));
    let payload = [0xa5; 125]; // the largest control payload
    ws.ping(&payload).expect("ping");
    assert_eq!(
        read(&mut ws, peer, "pong (125 bytes)"),
        Message::Pong(payload.to_vec())
    );

    // The echo of "last words" is sent before the server's Close: `read` returns it first.
    ws.send_text("last words").expect("send text");
    ws.send_text("close-me 4002 server-bye")
        .expect("send close-me");
    assert_eq!(
        read(&mut ws, peer, "echo sent before the server's close"),
        Message::Text("last words".into())
    );
    assert_eq!(
        read(&mut ws, peer, "server's close"),
        close_frame(4002, "server-bye")
    );
    assert!(
        matches!(ws.read(), Err(Error::ConnectionClosed)),
        "read after the closing handshake must fail with ConnectionClosed"
    );
}

/// (b) ws-std client closes: the server's Close frame echoes our code and reason.
///
/// (websockets answers a Close as soon as it parses it, before its handler has echoed the
/// messages that came just ahead of it, so no echo is expected after our Close.)
#[test]
fn ws_std_client_close_is_echoed_by_python_server() {
    let Some(python) = python() else { return };
    let (server, url) = python_echo_server(&python);
    let mut ws = connect(&url);

    ws.send_text("hello").expect("send text");
    assert_eq!(
        read(&mut ws, &server, "text echo"),
        Message::Text("hello".into())
    );
    ws.close(CloseCode::from(4003), "client-bye")
        .expect("close");
    assert_eq!(
        read(&mut ws, &server, "server's close echo"),
        close_frame(4003, "client-bye")
    );
    assert!(
        matches!(ws.read(), Err(Error::ConnectionClosed)),
        "read after the closing handshake must fail with ConnectionClosed"
    );
}

/// (b) A close with status 1000 and no reason, the common case.
#[test]
fn ws_std_client_normal_close_with_python_server() {
    let Some(python) = python() else { return };
    let (server, url) = python_echo_server(&python);
    let mut ws = connect(&url);

    ws.close(CloseCode::NORMAL, "").expect("close");
    assert_eq!(
        read(&mut ws, &server, "server's close echo"),
        close_frame(1000, "")
    );
}

/// (b) The longest close reason (123 bytes, non-ASCII) is echoed verbatim; the URL has no
/// path.
#[test]
fn ws_std_client_longest_close_reason_with_python_server() {
    let Some(python) = python() else { return };
    let (server, url) = python_echo_server(&python);
    let mut ws = connect(url.trim_end_matches('/'));

    let reason = format!("{}{}", "é".repeat(60), "abc");
    assert_eq!(reason.len(), 123);
    ws.close(CloseCode::from(3999), &reason).expect("close");
    assert_eq!(
        read(&mut ws, &server, "server's close echo"),
        close_frame(3999, &reason)
    );
}
