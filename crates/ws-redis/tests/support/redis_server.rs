//! A real `redis-server` for tests, on a free loopback port, stopped by its PID.
//!
//! The binary is `$WS_REDIS_SERVER`, or `redis-server` on `PATH`. Without one, tests skip
//! with a message, except in CI (`CI=true`), where they fail: `.ci/run` installs it.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A running `redis-server`.
pub(crate) struct RedisServer {
    binary: PathBuf,
    pub(crate) port: u16,
    child: Option<Child>,
}

/// The `redis-server` binary, or `None` (and a message) when the test should skip.
pub(crate) fn binary() -> Option<PathBuf> {
    let found = std::env::var_os("WS_REDIS_SERVER")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|dir| dir.join("redis-server"))
                    .find(|path| path.is_file())
            })
        });
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "redis-server not found (set WS_REDIS_SERVER or put it on PATH; .ci/run installs \
             Debian's redis-server)"
        );
        eprintln!("skipped: redis-server not found (set WS_REDIS_SERVER or install it)");
    }
    found
}

impl RedisServer {
    /// Starts `binary` on a free loopback port and waits until it accepts connections.
    pub(crate) fn start(binary: PathBuf) -> RedisServer {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut server = RedisServer {
            binary,
            port,
            child: None,
        };
        server.restart();
        server
    }

    /// `redis://127.0.0.1:PORT/`.
    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Kills the server at once (SIGKILL), as a crash would.
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port (after [`kill`](Self::kill)) and waits
    /// until it accepts connections: its log's "Ready to accept connections" line.
    pub(crate) fn restart(&mut self) {
        assert!(self.child.is_none(), "the server is running");
        let mut child = Command::new(&self.binary)
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        let stdout = child.stdout.take().expect("piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if !sent && line.contains("Ready to accept connections") {
                    sent = tx.send(()).is_ok();
                }
            }
        });
        self.child = Some(child);
        if rx.recv_timeout(Duration::from_secs(20)).is_err() {
            self.kill();
            panic!("redis-server did not become ready on port {}", self.port);
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}
