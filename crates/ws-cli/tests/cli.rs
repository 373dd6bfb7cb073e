//! The `ws` binary, run as a child process over loopback TCP.
//!
//! Every child is killed on every path (the `Child` guard kills it on drop) and every wait is
//! bounded by [`DEADLINE`].

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use common::certs::TempCerts;
use ws_proto::CloseCode;
use ws_std::{HttpResponse, Message};

mod common;

/// How long any child process or helper thread may take.
const DEADLINE: Duration = Duration::from_secs(10);

/// A child process that is killed (and reaped) when dropped.
struct Guard {
    child: Child,
}

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Guard {
    /// Waits for the process to exit, at most [`DEADLINE`] (a bounded poll of `try_wait`).
    fn wait(&mut self) -> ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                start.elapsed() < DEADLINE,
                "`ws` still running after {DEADLINE:?}"
            );
            thread::sleep(Duration::from_millis(10));
        }
    }
}

fn ws() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ws"))
}

/// Reads a pipe to its end on a thread; the receiver gets the bytes.
fn drain(mut pipe: impl Read + Send + 'static) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut all = Vec::new();
        let _ = pipe.read_to_end(&mut all);
        let _ = tx.send(all);
    });
    rx
}

/// `ws serve 127.0.0.1:0 --echo`, and the address from its first stdout line.
fn serve() -> (Guard, SocketAddr) {
    serve_with(&[])
}

/// `ws serve 127.0.0.1:0 --echo` with more arguments (with `--tls-cert`: it prints a
/// `wss://` address).
fn serve_with(more: &[&str]) -> (Guard, SocketAddr) {
    let mut child = ws()
        .args(["serve", "127.0.0.1:0", "--echo"])
        .args(more)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn ws serve");
    let stdout = child.stdout.take().expect("stdout");
    let guard = Guard { child };
    let (tx, first_line) = mpsc::channel();
    thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let _ = reader.read_line(&mut line);
        let _ = tx.send(line);
        // Keep draining until the process is killed, so it never blocks on a full pipe.
        let _ = io::copy(&mut reader, &mut io::sink());
    });
    let line = first_line
        .recv_timeout(DEADLINE)
        .expect("`ws serve` printed its address");
    let tls = more.contains(&"--tls-cert");
    let prefix = if tls {
        "listening on wss://"
    } else {
        "listening on ws://"
    };
    let addr = line
        .strip_prefix(prefix)
        .and_then(|rest| rest.trim_end().strip_suffix('/'))
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    let addr: SocketAddr = addr.parse().expect("a socket address");
    assert_eq!(addr.ip().to_string(), "127.0.0.1");
    assert_ne!(addr.port(), 0, "port 0 must be replaced by the bound port");
    (guard, addr)
}

struct Run {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

/// A running `ws connect`: its standard input, and its standard output line by line.
struct Client {
    guard: Guard,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    stdout: String,
    stderr: mpsc::Receiver<Vec<u8>>,
}

impl Client {
    fn spawn(args: &[&str]) -> Client {
        let mut child = ws()
            .arg("connect")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn ws connect");
        let stdout = child.stdout.take().expect("stdout");
        let stderr = drain(child.stderr.take().expect("stderr"));
        let stdin = child.stdin.take();
        let (tx, lines) = mpsc::channel();
        thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            loop {
                let mut line = String::new();
                match reader.read_line(&mut line) {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {
                        if tx.send(line).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        Client {
            guard: Guard { child },
            stdin,
            lines,
            stdout: String::new(),
            stderr,
        }
    }

    /// Writes to standard input. A few bytes fit in the pipe buffer, so this cannot block;
    /// the process may already have exited (closed port), so a broken pipe is ignored.
    fn write(&mut self, input: &str) {
        if let Some(pipe) = self.stdin.as_mut() {
            let _ = pipe.write_all(input.as_bytes());
            let _ = pipe.flush();
        }
    }

    fn close_stdin(&mut self) {
        drop(self.stdin.take());
    }

    /// The next line printed on standard output (within [`DEADLINE`]).
    fn next_line(&mut self) -> String {
        let line = self
            .lines
            .recv_timeout(DEADLINE)
            .expect("`ws connect` printed a line");
        self.stdout.push_str(&line);
        line
    }

    /// Waits for the exit and collects everything printed.
    fn finish(mut self) -> Run {
        let status = self.guard.wait();
        self.close_stdin();
        // The output thread ends at end of stream, which follows the exit.
        while let Ok(line) = self.lines.recv_timeout(DEADLINE) {
            self.stdout.push_str(&line);
        }
        let stderr = self.stderr.recv_timeout(DEADLINE).expect("stderr drained");
        Run {
            status,
            stdout: self.stdout,
            stderr: String::from_utf8(stderr).expect("UTF-8"),
        }
    }
}

/// Runs `ws connect ARGS...`, writes `input` to its standard input, closes it when
/// `close_stdin` (otherwise it stays open until the process exits), and collects the outcome.
fn connect(args: &[&str], input: &str, close_stdin: bool) -> Run {
    let mut client = Client::spawn(args);
    client.write(input);
    if close_stdin {
        client.close_stdin();
    }
    client.finish()
}

/// Runs `f` on the first WebSocket accepted by an in-process ws-std server (with a
/// deadline); returns the address and a receiver for `f`'s result.
fn ws_std_server<T, F>(f: F) -> (SocketAddr, mpsc::Receiver<T>)
where
    T: Send + 'static,
    F: FnOnce(TcpStream) -> T + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        listener.set_nonblocking(true).unwrap();
        let start = Instant::now();
        let stream = loop {
            match listener.accept() {
                Ok((stream, _)) => break stream,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if start.elapsed() > DEADLINE {
                        return;
                    }
                    thread::sleep(Duration::from_millis(2));
                }
                Err(e) => panic!("accept: {e}"),
            }
        };
        stream.set_nonblocking(false).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let _ = tx.send(f(stream));
    });
    (addr, rx)
}

#[test]
fn serve_reports_its_bound_port_and_connect_echoes_stdin_lines() {
    let (_server, addr) = serve();
    let url = format!("ws://{addr}/");
    let mut client = Client::spawn(&[&url]);
    client.write("hello\nκόσμε\n");
    assert_eq!(client.next_line(), "hello\n");
    assert_eq!(client.next_line(), "κόσμε\n");
    // End of input once the echoes are back: `ws connect` closes and exits.
    client.close_stdin();
    assert_echoed(&client.finish(), &url, "hello\nκόσμε\n");
}

/// `ws connect URL` succeeded, printed `echoed`, and said only that it connected.
fn assert_echoed(run: &Run, url: &str, echoed: &str) {
    assert!(
        run.status.success(),
        "{:?}, stderr {:?}",
        run.status,
        run.stderr
    );
    assert_eq!(run.stdout, echoed);
    assert_eq!(run.stderr, format!("connected to {url}\n"));
}

/// Regression (see `message_arriving_with_the_peers_close_can_still_be_answered` in
/// crates/ws-std/tests/loopback.rs): with the input piped in at once, `ws connect` sends the
/// lines and its Close frame back to back, and `ws serve` must still echo every line before
/// answering the Close.
#[test]
fn connect_echoes_stdin_piped_in_at_once() {
    let (_server, addr) = serve();
    for _ in 0..5 {
        let url = format!("ws://{addr}/");
        let run = connect(&[&url], "hello\nκόσμε\n", true);
        assert_echoed(&run, &url, "hello\nκόσμε\n");
    }
}

#[test]
fn serve_echoes_for_a_ws_std_client_too() {
    let (_server, addr) = serve();
    let (mut ws, _) = ws_std::connect(&format!("ws://{addr}/any/path?q=1")).expect("connect");
    ws.set_read_timeout(Some(Duration::from_secs(5)));
    ws.send_binary(&[0, 1, 2, 255]).unwrap();
    assert_eq!(ws.read().unwrap(), Message::Binary(vec![0, 1, 2, 255]));
    ws.send_text("κόσμε").unwrap();
    assert_eq!(ws.read().unwrap(), Message::Text("κόσμε".into()));
    ws.close(CloseCode::NORMAL, "").unwrap();
    assert!(matches!(ws.read(), Ok(Message::Close(Some(f))) if f.code == CloseCode::NORMAL));
}

#[test]
fn connect_with_empty_stdin_closes_cleanly() {
    let (_server, addr) = serve();
    let run = connect(&[&format!("ws://{addr}/")], "", true);
    assert!(
        run.status.success(),
        "{:?}, stderr {:?}",
        run.status,
        run.stderr
    );
    assert_eq!(run.stdout, "");
}

#[test]
fn connect_to_a_closed_port_fails_with_a_one_line_reason() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("ws://127.0.0.1:{port}/");
    let run = connect(&[&url], "hello\n", true);
    assert!(!run.status.success(), "{:?}", run.status);
    assert_eq!(run.status.code(), Some(1));
    assert_eq!(run.stdout, "");
    assert_eq!(run.stderr.lines().count(), 1, "{:?}", run.stderr);
    assert!(run.stderr.ends_with('\n'), "{:?}", run.stderr);
    assert!(
        run.stderr.starts_with(&format!("ws: {url}: ")),
        "{:?}",
        run.stderr
    );
    assert!(
        run.stderr.to_lowercase().contains("refused"),
        "{:?}",
        run.stderr
    );
}

#[test]
fn connect_sends_protocols_and_headers_and_prints_messages() {
    let (addr, seen) = ws_std_server(|stream| {
        let mut request_seen = None;
        let mut ws = ws_std::accept_with(stream, |request| {
            request_seen = Some((
                request.protocols().to_vec(),
                request.header("X-Token").map(<[u8]>::to_vec),
                request.header("Authorization").map(<[u8]>::to_vec),
            ));
            Ok(request.accept().protocol("chat.v2").expect("offered"))
        })
        .expect("handshake");
        ws.set_read_timeout(Some(Duration::from_secs(5)));
        // Sent before anything is read, so it precedes our reply to the client's Close.
        ws.send_text("welcome").unwrap();
        ws.send_binary(&[1, 2, 3]).unwrap();
        let close = loop {
            if let Message::Close(frame) = ws.read().expect("server read") {
                break frame;
            }
        };
        (request_seen.expect("callback ran"), close)
    });
    let url = format!("ws://{addr}/");
    let run = connect(
        &[
            &url,
            "--protocol",
            "chat.v1",
            "--protocol",
            "chat.v2",
            "--header",
            "X-Token: abc 123",
            "--header",
            "Authorization:Bearer t",
        ],
        "",
        true,
    );
    assert!(
        run.status.success(),
        "{:?}, stderr {:?}",
        run.status,
        run.stderr
    );
    assert_eq!(run.stdout, "welcome\n<binary message, 3 bytes>\n");
    assert_eq!(
        run.stderr,
        format!("connected to {url} (subprotocol chat.v2)\n")
    );
    let ((protocols, token, authorization), close) =
        seen.recv_timeout(DEADLINE).expect("server finished");
    assert_eq!(protocols, ["chat.v1", "chat.v2"]);
    assert_eq!(token.as_deref(), Some(&b"abc 123"[..]));
    assert_eq!(authorization.as_deref(), Some(&b"Bearer t"[..]));
    assert_eq!(close.map(|f| f.code), Some(CloseCode::NORMAL));
}

#[test]
fn connect_reports_an_abnormal_close_from_the_server() {
    let (addr, done) = ws_std_server(|stream| {
        let mut ws = ws_std::accept(stream).expect("handshake");
        ws.set_read_timeout(Some(Duration::from_secs(5)));
        ws.close(CloseCode::POLICY_VIOLATION, "go away").unwrap();
        loop {
            match ws.read() {
                Ok(Message::Close(frame)) => break frame,
                Ok(_) => {}
                Err(e) => panic!("server read: {e}"),
            }
        }
    });
    // Standard input stays open: the close comes from the server alone.
    let run = connect(&[&format!("ws://{addr}/")], "", false);
    assert_eq!(run.status.code(), Some(1), "stderr {:?}", run.stderr);
    assert_eq!(run.stdout, "");
    let last = run.stderr.lines().last().unwrap_or_default();
    assert_eq!(last, "ws: server closed the connection: 1008 go away");
    let reply = done.recv_timeout(DEADLINE).expect("server finished");
    assert_eq!(reply.map(|f| f.code), Some(CloseCode::POLICY_VIOLATION));
}

#[test]
fn connect_reports_a_rejected_handshake() {
    let (addr, done) = ws_std_server(|stream| {
        ws_std::accept_with(stream, |_| {
            Err(HttpResponse::new(403).with_body("forbidden"))
        })
        .is_err()
    });
    let url = format!("ws://{addr}/");
    let run = connect(&[&url], "", true);
    assert_eq!(run.status.code(), Some(1));
    assert_eq!(run.stdout, "");
    assert_eq!(run.stderr.lines().count(), 1, "{:?}", run.stderr);
    assert!(
        run.stderr.starts_with(&format!("ws: {url}: ")),
        "{:?}",
        run.stderr
    );
    assert!(run.stderr.contains("403"), "{:?}", run.stderr);
    assert!(done.recv_timeout(DEADLINE).expect("server finished"));
}

#[test]
fn connect_refuses_a_malformed_header_argument() {
    let run = connect(
        &["ws://127.0.0.1:9/", "--header", "no-colon-here"],
        "",
        true,
    );
    assert_eq!(run.status.code(), Some(1));
    assert_eq!(run.stdout, "");
    assert_eq!(run.stderr.lines().count(), 1, "{:?}", run.stderr);
    assert!(run.stderr.contains("no-colon-here"), "{:?}", run.stderr);
}

#[test]
fn serve_on_an_address_in_use_fails() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let child = ws()
        .args(["serve", &addr.to_string(), "--echo"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn ws serve");
    let mut guard = Guard { child };
    let stdout = drain(guard.child.stdout.take().unwrap());
    let stderr = drain(guard.child.stderr.take().unwrap());
    let status = guard.wait();
    assert_eq!(status.code(), Some(1));
    assert_eq!(stdout.recv_timeout(DEADLINE).unwrap(), b"");
    let stderr = String::from_utf8(stderr.recv_timeout(DEADLINE).unwrap()).unwrap();
    assert!(
        stderr.starts_with(&format!("ws: cannot listen on {addr}: ")),
        "{stderr:?}"
    );
}

#[test]
fn serve_on_the_tokio_backend_echoes_with_compression() {
    let (_server, addr) = serve_with(&["--backend", "tokio"]);
    let (mut ws, _) = ws_std::connect(&format!("ws://{addr}/")).expect("connect");
    assert!(ws.connection().deflate_params().is_some());
    ws.set_read_timeout(Some(Duration::from_secs(5)));
    for _ in 0..3 {
        ws.send_text("over tokio").unwrap();
        assert_eq!(ws.read().unwrap(), Message::Text("over tokio".into()));
    }
    let big = vec![9u8; 1 << 20];
    ws.send_binary(&big).unwrap();
    assert_eq!(ws.read().unwrap(), Message::Binary(big));
    ws.close(CloseCode::NORMAL, "").unwrap();
    assert!(matches!(ws.read(), Ok(Message::Close(Some(f))) if f.code == CloseCode::NORMAL));
}

#[test]
fn serve_max_connections_refuses_the_excess_with_503() {
    let (_server, addr) = serve_with(&["--backend", "mio", "--max-connections", "1"]);
    let (mut first, _) = ws_std::connect(&format!("ws://{addr}/")).expect("connect");
    first.set_read_timeout(Some(Duration::from_secs(5)));
    first.send_text("held").unwrap();
    assert_eq!(first.read().unwrap(), Message::Text("held".into()));
    // The second is answered 503 while the first is held.
    match ws_std::connect(&format!("ws://{addr}/")) {
        Err(ws_std::Error::Handshake(e)) => {
            assert!(e.to_string().contains("503"), "{e}");
        }
        other => panic!("expected a 503, got {:?}", other.map(|_| ())),
    }
    first.send_text("still served").unwrap();
    assert_eq!(first.read().unwrap(), Message::Text("still served".into()));
}

#[test]
fn serve_max_connections_needs_the_mio_backend() {
    let child = ws()
        .args(["serve", "127.0.0.1:0", "--echo", "--backend", "std"])
        .args(["--max-connections", "5"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn ws serve");
    let mut guard = Guard { child };
    let stderr = drain(guard.child.stderr.take().unwrap());
    assert_eq!(guard.wait().code(), Some(1));
    let stderr = String::from_utf8(stderr.recv_timeout(DEADLINE).unwrap()).unwrap();
    assert!(
        stderr.contains("--max-connections applies to the mio backend"),
        "{stderr:?}"
    );
}

// ----- TLS --------------------------------------------------------------------------------

/// Runs `ws ARGS...` to its end, with nothing on standard input.
fn run_ws(args: &[&str]) -> Run {
    let output = ws()
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run ws");
    Run {
        status: output.status,
        stdout: String::from_utf8(output.stdout).expect("UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("UTF-8"),
    }
}

/// `ws serve --echo` over TLS with `certs`, on `backend` (`std` or `mio`).
fn serve_tls(certs: &TempCerts, backend: &str) -> (Guard, SocketAddr) {
    let mut args = certs.serve_args().to_vec();
    args.extend(["--backend", backend]);
    serve_with(&args)
}

#[test]
fn serve_over_tls_echoes_for_connect_with_its_ca_on_std() {
    serve_over_tls_echoes_for_connect_with_its_ca("std");
}

#[test]
fn serve_over_tls_echoes_for_connect_with_its_ca_on_mio() {
    serve_over_tls_echoes_for_connect_with_its_ca("mio");
}

fn serve_over_tls_echoes_for_connect_with_its_ca(backend: &str) {
    let certs = TempCerts::new(&format!("echo-{backend}"));
    let (_server, addr) = serve_tls(&certs, backend);
    // By name and by address: the certificate is for both, and the name is sent as SNI.
    for url in [
        format!("wss://localhost:{}/", addr.port()),
        format!("wss://{addr}/"),
    ] {
        let run = connect(&[&url, "--ca", certs.ca()], "hello\nover tls\n", true);
        assert_echoed(&run, &url, "hello\nover tls\n");
    }
    // A ws-std client too, with compression agreed over TLS.
    let (mut ws, _) = ws_std::ClientBuilder::new(&format!("wss://{addr}/"))
        .ca_file(&certs.files.ca)
        .connect()
        .expect("connect");
    assert!(ws.get_ref().is_tls());
    assert!(ws.connection().deflate_params().is_some());
    ws.set_read_timeout(Some(Duration::from_secs(5)));
    ws.send_binary(&[0, 1, 2, 255]).unwrap();
    assert_eq!(ws.read().unwrap(), Message::Binary(vec![0, 1, 2, 255]));
}

#[test]
fn connect_without_the_ca_refuses_the_certificate() {
    let certs = TempCerts::new("untrusted");
    let (_server, addr) = serve_with(&certs.serve_args());
    let url = format!("wss://localhost:{}/", addr.port());
    let run = connect(&[&url], "never sent\n", true);
    assert_eq!(run.status.code(), Some(1), "{:?}", run.stderr);
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr
            .starts_with(&format!("ws: {url}: TLS error: invalid peer certificate")),
        "{:?}",
        run.stderr
    );
    assert!(run.stderr.contains("UnknownIssuer"), "{:?}", run.stderr);
}

#[test]
fn connect_ca_is_for_wss_urls_and_must_be_readable() {
    let certs = TempCerts::new("ca-misuse");
    let run = connect(&["ws://127.0.0.1:9/", "--ca", certs.ca()], "", true);
    assert_eq!(run.status.code(), Some(1));
    assert!(
        run.stderr.contains("--ca is for wss:// URLs"),
        "{:?}",
        run.stderr
    );

    let missing = std::env::temp_dir().join("ws-cli-no-such-ca.pem");
    let missing = missing.to_str().unwrap();
    let run = connect(&["wss://127.0.0.1:9/", "--ca", missing], "", true);
    assert_eq!(run.status.code(), Some(1));
    assert!(
        run.stderr
            .contains(&format!("TLS configuration: cannot read {missing}")),
        "{:?}",
        run.stderr
    );
}

#[test]
fn serve_tls_needs_both_files_and_readable_ones() {
    let certs = TempCerts::new("serve-misuse");
    let cert = certs.files.cert.to_str().unwrap();
    let run = run_ws(&["serve", "127.0.0.1:0", "--echo", "--tls-cert", cert]);
    assert_eq!(run.status.code(), Some(2), "clap's usage error");
    assert!(run.stderr.contains("--tls-key"), "{:?}", run.stderr);

    // The certificate given as the key: no private key in it.
    let run = run_ws(&[
        "serve",
        "127.0.0.1:0",
        "--echo",
        "--tls-cert",
        cert,
        "--tls-key",
        cert,
    ]);
    assert_eq!(run.status.code(), Some(1));
    assert_eq!(run.stdout, "", "nothing listened");
    assert!(
        run.stderr
            .starts_with("ws: --tls-cert / --tls-key: no private key in "),
        "{:?}",
        run.stderr
    );
}

#[test]
fn bench_over_wss_against_serve_over_tls_on_std() {
    bench_over_wss_against_serve_over_tls("std");
}

#[test]
fn bench_over_wss_against_serve_over_tls_on_mio() {
    bench_over_wss_against_serve_over_tls("mio");
}

fn bench_over_wss_against_serve_over_tls(backend: &str) {
    let certs = TempCerts::new(&format!("bench-serve-{backend}"));
    let (_server, addr) = serve_tls(&certs, backend);
    let url = format!("wss://localhost:{}/", addr.port());
    let args = [
        "bench",
        &url,
        "--ca",
        certs.ca(),
        "--connections",
        "2",
        "--duration",
        "0.3",
        "--json",
    ];
    let run = run_ws(&args);
    assert!(run.status.success(), "{:?}", run.stderr);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("a JSON report");
    assert_eq!(report["open"], 2, "{report}");
    assert_eq!(report["failed"], 0, "{report}");
    assert_eq!(report["dropped"], 0, "{report}");
    assert!(report["messages"].as_u64().unwrap() > 0, "{report}");
}

// ----- --proxy ------------------------------------------------------------------------------

/// An HTTP proxy for one connection: it answers `reply`, and a 200 opens the tunnel.
fn proxy(reply: &'static [u8]) -> (SocketAddr, thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = thread::spawn(move || {
        let (mut client, _) = listener.accept().unwrap();
        client.set_read_timeout(Some(DEADLINE)).unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            assert_eq!(
                client.read(&mut byte).unwrap(),
                1,
                "request head ended early"
            );
            head.push(byte[0]);
        }
        let head = String::from_utf8(head).unwrap();
        client.write_all(reply).unwrap();
        if !reply.starts_with(b"HTTP/1.1 200") {
            return;
        }
        let authority: SocketAddr = head.split(' ').nth(1).unwrap().parse().unwrap();
        let upstream = TcpStream::connect(authority).unwrap();
        let (mut c2, mut u2) = (client.try_clone().unwrap(), upstream.try_clone().unwrap());
        let forward = thread::spawn(move || {
            let (mut c, mut u) = (client, upstream);
            let _ = io::copy(&mut c, &mut u);
            let _ = u.shutdown(Shutdown::Write);
        });
        let _ = io::copy(&mut u2, &mut c2);
        let _ = c2.shutdown(Shutdown::Write);
        forward.join().unwrap();
    });
    (addr, handle)
}

#[test]
fn connect_through_an_http_proxy() {
    let (_server, server) = serve();
    let (proxy_addr, proxy_thread) = proxy(b"HTTP/1.1 200 Connection established\r\n\r\n");
    let url = format!("ws://{server}/");
    let proxy_url = format!("http://{proxy_addr}");
    // The echo comes back before end of input closes the connection.
    let run = connect(&["--proxy", &proxy_url, &url], "via proxy\n", true);
    assert!(
        run.status.success(),
        "{:?}, stderr {:?}",
        run.status,
        run.stderr
    );
    assert_eq!(run.stdout, "via proxy\n");
    proxy_thread.join().unwrap();
}

#[test]
fn a_refusing_proxy_is_named_in_the_error() {
    let (proxy_addr, proxy_thread) = proxy(b"HTTP/1.1 403 Forbidden\r\n\r\n");
    let url = "ws://127.0.0.1:9/";
    let run = connect(&["--proxy", &format!("http://{proxy_addr}"), url], "", true);
    assert_eq!(run.status.code(), Some(1), "{:?}", run.status);
    assert_eq!(
        run.stderr,
        format!("ws: {url}: proxy refused the tunnel with HTTP 403\n")
    );
    proxy_thread.join().unwrap();
}
