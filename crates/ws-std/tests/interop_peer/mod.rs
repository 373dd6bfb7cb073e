//! The harness shared by the interop tests: peer processes (Python `websockets`, Node `ws`)
//! that are always killed, bounded waits, and a ws-std echo server for them to talk to.
#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead, BufReader, Read};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use ws_std::ws_proto::extensions::deflate::DeflateParams;
use ws_std::ws_proto::{CloseFrame, Config};
use ws_std::{Message, ServerBuilder, Transport, WebSocket};

/// Bound on any single wait: a read, the peer's port line, the server's report.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(20);
/// Bound on a whole client script.
pub const SCRIPT_TIMEOUT: Duration = Duration::from_secs(90);

/// The interpreter named by the environment variable `var`, as `setup` prints it; `None`
/// (after saying so) when the test should be skipped. Panics when it is missing under CI, so
/// that a CI which forgot the setup does not pass silently.
pub fn interpreter(var: &str, setup: &str) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(var).filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "{var}={} is not a file; run {setup}",
            path.display()
        );
        return Some(path);
    }
    let in_ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
    assert!(
        !in_ci,
        "{var} is not set and CI is: the interop tests must run in CI. \
         Set it with: export {var}=\"$({setup} | tail -n 1)\""
    );
    eprintln!(
        "skipped: set {var} to run this interop test (export {var}=\"$({setup} | tail -n 1)\")"
    );
    None
}

/// A peer script: `interop/DIR/NAME`.
pub fn script(dir: &str, name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../interop")
        .join(dir)
        .join(name)
}

/// A running peer process, killed and reaped when dropped. Its stdout and stderr are
/// collected by two threads (for error messages); stdout lines are also passed on one by one.
pub struct Peer {
    name: String,
    child: Child,
    /// Held open so that the echo server (run with `--exit-on-stdin-eof`) also exits if this
    /// process dies without running destructors.
    _stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    output: Arc<Mutex<String>>,
    readers: Vec<JoinHandle<()>>,
}

impl Peer {
    /// Runs `program` (an interpreter) with `script` and `args`. `keep_stdin` keeps a pipe to
    /// its standard input open for as long as the peer lives.
    pub fn spawn(program: &Path, script: &Path, args: &[&str], keep_stdin: bool) -> Peer {
        let script_name = script
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let mut command = Command::new(program);
        if program
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("python"))
        {
            command.arg("-u"); // unbuffered: the port line must not wait in a buffer
        }
        let mut child = command
            .arg(script)
            .args(args)
            .stdin(if keep_stdin {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {} {script_name}: {e}", program.display()));
        let output = Arc::new(Mutex::new(String::new()));
        let (tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().expect("piped");
        let stderr = child.stderr.take().expect("piped");
        let out = Arc::clone(&output);
        let stdout_reader = thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                out.lock().unwrap().push_str(&format!("[stdout] {line}\n"));
                let _ = tx.send(line);
            }
        });
        let out = Arc::clone(&output);
        let stderr_reader = thread::spawn(move || {
            let mut text = String::new();
            let _ = BufReader::new(stderr).read_to_string(&mut text);
            for line in text.lines() {
                out.lock().unwrap().push_str(&format!("[stderr] {line}\n"));
            }
        });
        Peer {
            name: script_name,
            _stdin: child.stdin.take(),
            child,
            lines,
            output,
            readers: vec![stdout_reader, stderr_reader],
        }
    }

    /// Everything the peer printed so far.
    pub fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    /// The next line of the peer's stdout, waiting at most `timeout`.
    pub fn next_line(&self, timeout: Duration) -> String {
        self.lines.recv_timeout(timeout).unwrap_or_else(|e| {
            panic!(
                "{}: no line on stdout within {timeout:?} ({e}); output:\n{}",
                self.name,
                self.output()
            )
        })
    }

    /// Waits for the peer to exit, at most `timeout` (then panics; the drop kills it), and
    /// for its output to be collected.
    pub fn wait(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "{} still running after {timeout:?}; output:\n{}",
                self.name,
                self.output()
            );
            thread::sleep(Duration::from_millis(20)); // polling interval, not synchronisation
        };
        // The pipes reach EOF now that the process is gone.
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
        status
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts an echo server script that prints its port as the first line of stdout; returns it
/// with its URL.
pub fn echo_server(program: &Path, script: &Path, args: &[&str]) -> (Peer, String) {
    let mut all_args = vec!["0", "--exit-on-stdin-eof"];
    all_args.extend_from_slice(args);
    let server = Peer::spawn(program, script, &all_args, true);
    let line = server.next_line(STEP_TIMEOUT);
    let port: u16 = line.trim().parse().unwrap_or_else(|_| {
        panic!(
            "{}: expected a port as the first line, got {line:?}; output:\n{}",
            script.display(),
            server.output()
        )
    });
    (server, format!("ws://127.0.0.1:{port}/"))
}

/// What the ws-std echo server saw: the client's Close frame and the permessage-deflate
/// parameters agreed.
#[derive(Debug)]
pub struct ServerReport {
    pub close: Option<CloseFrame>,
    pub deflate: Option<DeflateParams>,
}

/// A ws-std echo server for a peer client: accepts one connection on 127.0.0.1:0 with
/// `config`, echoes data messages, and reports what it saw (or an error).
pub fn ws_std_echo_server(config: Config) -> (String, Receiver<Result<ServerReport, String>>) {
    let server = ServerBuilder::new().config(config);
    echo_server_with("ws://127.0.0.1", move |stream| server.accept(stream))
}

/// The same over TLS (feature `tls`), with the certificate chain and key of `tls`; its URL
/// is `wss://localhost:PORT/`, the certificate's name.
#[cfg(feature = "tls")]
pub fn ws_std_tls_echo_server(
    config: Config,
    tls: std::sync::Arc<ws_std::ws_tls::rustls::ServerConfig>,
) -> (String, Receiver<Result<ServerReport, String>>) {
    let server = ServerBuilder::new().config(config).tls(tls);
    echo_server_with("wss://localhost", move |stream| server.accept_tls(stream))
}

/// Accepts one connection with `accept` and echoes on it (see [`ws_std_echo_server`]);
/// `base` is the URL's scheme and host.
fn echo_server_with<S, A>(base: &str, accept: A) -> (String, Receiver<Result<ServerReport, String>>)
where
    S: Transport,
    A: FnOnce(TcpStream) -> Result<WebSocket<S>, ws_std::Error> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("local_addr").port();
    let url = format!("{base}:{port}/");
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let result = (|| -> Result<ServerReport, String> {
            let (stream, _) = listener.accept().map_err(|e| format!("accept: {e}"))?;
            let mut ws = accept(stream).map_err(|e| format!("handshake: {e}"))?;
            let deflate = ws.connection().deflate_params().copied();
            ws.set_read_timeout(Some(STEP_TIMEOUT));
            let mut received = 0;
            loop {
                let message = ws
                    .read()
                    .map_err(|e| format!("read after {received} messages: {e:?}"))?;
                let sent = match message {
                    Message::Text(t) => ws.send_text(&t),
                    Message::Binary(b) => ws.send_binary(&b),
                    Message::Close(close) => return Ok(ServerReport { close, deflate }),
                    _ => Ok(()), // Pings are answered by `read`
                };
                sent.map_err(|e| format!("echo of message {received}: {e:?}"))?;
                received += 1;
            }
        })();
        let _ = tx.send(result);
    });
    (url, rx)
}
