//! permessage-deflate (RFC 7692) against real peers, in both directions and in every mode:
//! Python `websockets` (`interop/python/`) and the Node `ws` package (`interop/node/`), with
//! context takeover, with `server_no_context_takeover` and `client_no_context_takeover`, with
//! reduced windows (2^9, and 2^8 with Node), and with compression off.
//!
//! ```text
//! export WS_INTEROP_PYTHON="$(interop/setup.sh | tail -n 1)"
//! export WS_INTEROP_NODE="$(interop/node/setup.sh | tail -n 1)"
//! cargo test -p ws-std --test interop_deflate
//! ```
//!
//! Without the variables each test prints "skipped" and passes, except when `CI` is set.

mod interop_peer;

use std::path::Path;

use interop_peer::*;
use ws_std::ws_proto::extensions::deflate::DeflateParams;
use ws_std::ws_proto::{CloseCode, Config, DataKind};
use ws_std::{ClientBuilder, Message};

/// The peers' `--deflate` modes (see `deflate_modes.py` and `deflate_modes.js`).
const PYTHON_MODES: &[&str] = &["default", "takeover", "no-takeover", "window9", "off"];
const NODE_MODES: &[&str] = &["takeover", "no-takeover", "window9", "window8", "off"];

/// Checks the parameters agreed in `mode`; `default` is websockets' server, which limits both
/// windows to 2^12.
fn check_params(mode: &str, params: Option<DeflateParams>, role: &str) {
    let context = format!("{role}, --deflate {mode}: agreed {params:?}");
    if mode == "off" {
        assert_eq!(params, None, "{context}");
        return;
    }
    let p = params.unwrap_or_else(|| panic!("{context}: permessage-deflate was not agreed"));
    match mode {
        "no-takeover" => assert!(p.server_no_context_takeover, "{context}"),
        "window9" | "window8" => {
            let bits = if mode == "window9" { 9 } else { 8 };
            assert_eq!(p.server_max_window_bits, Some(bits), "{context}");
            assert_eq!(p.client_max_window_bits, Some(bits), "{context}");
        }
        _ => {}
    }
    if mode == "no-takeover" && role == "ws-std client" {
        assert!(p.client_no_context_takeover, "{context}");
    }
}

/// The peer's client script against a ws-std server, in `mode`.
fn peer_client_against_ws_std(program: &Path, client_script: &Path, mode: &str) {
    let (url, server) = ws_std_echo_server(Config::default());
    let mut client = Peer::spawn(program, client_script, &[&url, "--deflate", mode], false);
    let status = client.wait(SCRIPT_TIMEOUT);
    let report = server.recv_timeout(STEP_TIMEOUT);
    assert!(
        status.success(),
        "--deflate {mode}: {} failed ({status}); server: {report:?}; output:\n{}",
        client_script.display(),
        client.output()
    );
    let report = report
        .expect("the ws-std server did not finish")
        .unwrap_or_else(|e| panic!("--deflate {mode}: ws-std server failed: {e}"));
    check_params(mode, report.deflate, "ws-std server");
    assert_eq!(report.close.map(|c| c.code), Some(CloseCode::from(4001)));
}

/// A ws-std client against the peer's echo server in `mode`: many similar messages (so the
/// windows are used across messages), large and fragmented ones, then a normal close.
fn ws_std_client_against_peer(program: &Path, server_script: &Path, mode: &str) {
    let (server, url) = echo_server(program, server_script, &["--deflate", mode]);
    let mut config = Config::default();
    config.deflate.min_size = 0;
    let (mut ws, _) = ClientBuilder::new(&url)
        .config(config)
        .connect()
        .unwrap_or_else(|e| panic!("--deflate {mode}: connect {url}: {e}"));
    ws.set_read_timeout(Some(STEP_TIMEOUT));
    check_params(
        mode,
        ws.connection().deflate_params().copied(),
        "ws-std client",
    );
    let read = |ws: &mut ws_std::WebSocket<_>, what: &str| {
        ws.read().unwrap_or_else(|e| {
            panic!(
                "--deflate {mode}: {what}: {e:?}; peer output:\n{}",
                server.output()
            )
        })
    };
    for i in 0..200 {
        let text = format!(
            r#"{{"seq": {i}, "event": "update", "price": {}}}"#,
            i * 7 % 1000
        );
        ws.send_text(&text).expect("send");
        assert_eq!(read(&mut ws, "similar message"), Message::Text(text));
    }
    let text = "aé€🎉 some text that repeats ".repeat(40_000);
    ws.send_text(&text).expect("send");
    assert_eq!(read(&mut ws, "1 MiB text"), Message::Text(text));
    let binary: Vec<u8> = (0..1_000_000u64).map(|i| (i * i / 7 % 251) as u8).collect();
    ws.send_binary(&binary).expect("send");
    assert_eq!(
        read(&mut ws, "1 MB binary"),
        Message::Binary(binary.clone())
    );
    let pieces: Vec<&[u8]> = binary.chunks(64 * 1024).collect();
    for (i, piece) in pieces.iter().enumerate() {
        ws.send_fragment(DataKind::Binary, piece, i + 1 == pieces.len())
            .expect("send fragment");
    }
    assert_eq!(read(&mut ws, "fragmented binary"), Message::Binary(binary));
    ws.send_uncompressed(DataKind::Text, b"sent uncompressed")
        .expect("send");
    assert_eq!(
        read(&mut ws, "uncompressed text"),
        Message::Text("sent uncompressed".into())
    );
    ws.ping(b"p").expect("ping");
    assert_eq!(read(&mut ws, "pong"), Message::Pong(b"p".to_vec()));
    ws.close(CloseCode::NORMAL, "").expect("close");
    match read(&mut ws, "close") {
        Message::Close(Some(frame)) => assert_eq!(frame.code, CloseCode::NORMAL),
        other => panic!("--deflate {mode}: expected the Close echo, got {other:?}"),
    }
}

#[test]
fn python_client_against_ws_std_server_in_every_mode() {
    let Some(python) = interpreter("WS_INTEROP_PYTHON", "interop/setup.sh") else {
        return;
    };
    for mode in PYTHON_MODES {
        peer_client_against_ws_std(&python, &script("python", "client_check.py"), mode);
    }
}

#[test]
fn ws_std_client_against_python_server_in_every_mode() {
    let Some(python) = interpreter("WS_INTEROP_PYTHON", "interop/setup.sh") else {
        return;
    };
    for mode in PYTHON_MODES {
        ws_std_client_against_peer(&python, &script("python", "echo_server.py"), mode);
    }
}

#[test]
fn node_client_against_ws_std_server_in_every_mode() {
    let Some(node) = interpreter("WS_INTEROP_NODE", "interop/node/setup.sh") else {
        return;
    };
    for mode in NODE_MODES {
        peer_client_against_ws_std(&node, &script("node", "client_check.js"), mode);
    }
}

#[test]
fn ws_std_client_against_node_server_in_every_mode() {
    let Some(node) = interpreter("WS_INTEROP_NODE", "interop/node/setup.sh") else {
        return;
    };
    for mode in NODE_MODES {
        ws_std_client_against_peer(&node, &script("node", "echo_server.js"), mode);
    }
}
