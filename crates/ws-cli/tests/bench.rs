//! `ws bench` against an in-process ws-std echo server (plain, and over TLS with certificates
//! made for the test), as a child process over loopback TCP.

use std::net::{SocketAddr, TcpListener};
use std::process::{Command, Output};
use std::thread;

use common::certs::TempCerts;
use ws_std::{Message, ServerBuilder, Transport, WebSocket};

mod common;

/// An echo server on an ephemeral port, one thread per connection, for the life of the test.
fn echo_server() -> SocketAddr {
    serve_echo(None)
}

/// The same over TLS, with the certificate of `certs`.
fn tls_echo_server(certs: &TempCerts) -> SocketAddr {
    let config = ws_std::tls::server::config_from_pem_files(&certs.files.cert, &certs.files.key)
        .expect("server config");
    serve_echo(Some(ServerBuilder::new().tls(config)))
}

fn serve_echo(tls: Option<ServerBuilder>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let tls = tls.clone();
            thread::spawn(move || match tls {
                Some(server) => {
                    if let Ok(ws) = server.accept_tls(stream) {
                        echo(ws);
                    }
                }
                None => {
                    if let Ok(ws) = ws_std::accept(stream) {
                        echo(ws);
                    }
                }
            });
        }
    });
    addr
}

/// Echoes until the connection ends.
fn echo<S: Transport>(mut ws: WebSocket<S>) {
    while let Ok(message) = ws.read() {
        let sent = match message {
            Message::Text(t) => ws.send_text(&t),
            Message::Binary(b) => ws.send_binary(&b),
            Message::Close(_) => return,
            _ => Ok(()),
        };
        if sent.is_err() {
            return;
        }
    }
}

fn bench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ws"))
        .arg("bench")
        .args(args)
        .output()
        .unwrap()
}

/// The number after `"key":` in the one-line JSON report.
fn field(json: &str, key: &str) -> f64 {
    let start = json.find(&format!("\"{key}\":")).unwrap() + key.len() + 3;
    let rest = &json[start..];
    let end = rest.find([',', '}']).unwrap();
    rest[..end].parse().unwrap()
}

#[test]
fn measures_round_trips_against_an_echo_server() {
    let addr = echo_server();
    measures_round_trips(&format!("ws://{addr}/"), &[]);
}

#[test]
fn measures_round_trips_over_wss() {
    let certs = TempCerts::new("bench");
    let addr = tls_echo_server(&certs);
    // By name, as the certificate says (and as SNI sends it).
    let url = format!("wss://localhost:{}/", addr.port());
    measures_round_trips(&url, &["--ca", certs.ca()]);
}

#[test]
fn wss_without_the_ca_opens_no_connection() {
    let certs = TempCerts::new("bench-untrusted");
    let addr = tls_echo_server(&certs);
    let out = bench(&[
        &format!("wss://localhost:{}/", addr.port()),
        "--duration",
        "0.2",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no connection could be opened: invalid peer certificate: UnknownIssuer"),
        "{stderr}"
    );
}

/// Small binary and large text messages to `url`: every connection opens, echoes come back,
/// and the bytes per message are the size asked for.
fn measures_round_trips(url: &str, more: &[&str]) {
    for (size, text) in [("16", false), ("100000", true)] {
        let mut args = vec![
            url,
            "--size",
            size,
            "--connections",
            "3",
            "--pipeline",
            "4",
            "--duration",
            "0.3",
            "--json",
        ];
        if text {
            args.push("--text");
        }
        args.extend(more);
        let out = bench(&args);
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert!(
            out.status.success(),
            "{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(field(&stdout, "open"), 3.0, "{stdout}");
        assert_eq!(field(&stdout, "failed"), 0.0, "{stdout}");
        assert_eq!(field(&stdout, "dropped"), 0.0, "{stdout}");
        assert!(field(&stdout, "messages") > 0.0, "{stdout}");
        assert!(field(&stdout, "p50_us") > 0.0, "{stdout}");
        // Payload bytes per message match the requested size.
        let per_message = field(&stdout, "mb_per_s") * 1e6 / field(&stdout, "messages_per_s");
        let size: f64 = size.parse().unwrap();
        assert!((per_message - size).abs() / size < 0.01, "{stdout}");
    }
}

#[test]
fn rate_mode_holds_idle_connections() {
    let addr = echo_server();
    let url = format!("ws://{addr}/");
    let out = bench(&[
        &url,
        "--connections",
        "20",
        "--rate",
        "200",
        "--duration",
        "0.5",
        "--json",
    ]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{stdout}");
    assert_eq!(field(&stdout, "open"), 20.0, "{stdout}");
    // About 100 messages in half a second; allow for scheduling.
    let messages = field(&stdout, "messages");
    assert!((50.0..=130.0).contains(&messages), "{stdout}");
}

#[test]
fn fails_when_nothing_listens() {
    // Bind and drop, to get a port nobody listens on.
    let addr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let out = bench(&[&format!("ws://{addr}/"), "--duration", "0.2"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("ws: "), "{stderr}");
}
