//! The scale run: many concurrent WebSocket connections to a ws-mio server on loopback.
//!
//! ```text
//! cargo run --release -p ws-mio --example scale -- [CONNECTIONS] [SERVER_THREADS] [CLIENT_THREADS] [deflate] [tls]
//! ```
//!
//! Defaults: 10,000 connections, 1 server thread, 2 client threads, no compression (with
//! `deflate`, the clients offer permessage-deflate and the server accepts it), plain TCP
//! (with `tls`, built with `--features tls`: `wss://127.0.0.1` to a server whose certificate, made
//! here with rcgen by a test CA the clients trust, is passed to it in PEM files). The server runs in a child
//! process (this program with `serve`), so that its memory is measured alone and each process
//! stays under the open-file limit (raised here to the hard limit). The clients are ws-mio
//! client connections on their own event loops. Steps: open every connection, broadcast to
//! all (and check every connection got every message), echo one message per connection,
//! close all cleanly; the server's RSS is read from `/proc` between steps. The server prints
//! on stderr how long each broadcast's framing and queueing took.
//!
//! Loopback only: the server binds 127.0.0.1.

#[cfg(feature = "tls")]
#[path = "../../../ws-tls/test-support/certs.rs"]
mod certs;
mod harness;

use std::io::{BufRead, BufReader};
use std::process::{Command, ExitCode, Stdio};
use std::time::Duration;

use harness::{Hub, Plan};
use ws_mio::{ConnId, Ctx, Handler, Message, Options, Server};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let deflate = args.iter().any(|a| a == "deflate");
    // The child gets `tls CERT_FILE KEY_FILE`; the driver just `tls`.
    let tls_at = args.iter().position(|a| a == "tls");
    let result = if args.first().map(String::as_str) == Some("serve") {
        let files = tls_at.and_then(|i| Some((args.get(i + 1)?.clone(), args.get(i + 2)?.clone())));
        serve(
            args.get(1).and_then(|t| t.parse().ok()).unwrap_or(1),
            deflate,
            files,
        )
    } else if tls_at.is_some() && cfg!(not(feature = "tls")) {
        Err("tls: build with --features tls".into())
    } else {
        let number = |i: usize, default: usize| {
            args.get(i)
                .and_then(|a| a.replace('_', "").parse().ok())
                .unwrap_or(default)
        };
        drive(
            number(0, 10_000),
            number(1, 1),
            number(2, 2),
            deflate,
            tls_at.is_some(),
        )
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("scale: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Raises the soft open-file limit as far as the hard limit allows.
fn raise_file_limit() -> Result<u64, String> {
    rlimit::increase_nofile_limit(u64::MAX).map_err(|e| format!("open-file limit: {e}"))
}

/// The child: a ws-mio server running the broadcast hub (over TLS with the certificate and
/// key in these PEM files).
fn serve(threads: usize, deflate: bool, tls: Option<(String, String)>) -> Result<(), String> {
    raise_file_limit()?;
    let mut options = Options::default();
    options.config.deflate.enabled = deflate;
    #[cfg(feature = "tls")]
    if let Some((cert, key)) = tls {
        let config = ws_mio::tls::server::config_from_pem_files(cert, key);
        options.tls = Some(config.map_err(|e| e.to_string())?);
    }
    #[cfg(not(feature = "tls"))]
    if tls.is_some() {
        return Err("tls: build with --features tls".into());
    }
    options.threads = threads;
    options.backlog = 4096;
    let server = Server::bind("127.0.0.1:0", options, |_| Timed(Hub)).map_err(|e| e.to_string())?;
    println!("listening {}", server.local_addr().ok_or("no address")?);
    server.run().map_err(|e| e.to_string())
}

/// The hub, timing on stderr the handler call of each broadcast request: the framing and
/// queueing of the message for every connection of the loop (the writes follow the call).
struct Timed(Hub);

impl Handler for Timed {
    fn message(&mut self, ctx: &mut Ctx<'_>, id: ConnId, message: Message) {
        let broadcast = matches!(&message, Message::Text(t) if t.starts_with("broadcast:"));
        let start = std::time::Instant::now();
        self.0.message(ctx, id, message);
        if broadcast {
            eprintln!(
                "server: broadcast queued for {} connections in {:.2} ms",
                ctx.connection_count(),
                start.elapsed().as_secs_f64() * 1000.0
            );
        }
    }
}

/// `VmRSS` or `VmHWM` of a process, in bytes.
fn memory(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn drive(
    connections: usize,
    server_threads: usize,
    client_threads: usize,
    deflate: bool,
    tls: bool,
) -> Result<(), String> {
    let limit = raise_file_limit()?;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let secure = Secure::new(tls)?;
    let mut child = Command::new(exe)
        .args(["serve", &server_threads.to_string()])
        .args(deflate.then_some("deflate"))
        .args(secure.server_args())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start the server: {e}"))?;
    let pid = child.id();
    let mut line = String::new();
    let stdout = child.stdout.take().ok_or("no stdout")?;
    BufReader::new(stdout)
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    let addr = line
        .trim()
        .strip_prefix("listening ")
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| format!("unexpected server output {line:?}"))?;

    let plan = Plan {
        connections,
        client_threads,
        broadcasts: 5,
        broadcast_len: 64,
        echo_len: 16 * 1024,
        deflate,
        #[cfg(feature = "tls")]
        tls: secure.client_config(),
    };
    let scheme = if tls { "wss" } else { "ws" };
    println!(
        "{connections} connections to {scheme}://{addr}/ (open-file limit {limit}), \
         server threads {server_threads}, client threads {client_threads}, deflate {deflate}"
    );
    // The client process's own RSS at each stage, for the client-side figure.
    let mut clients = Vec::new();
    let outcome = harness::run(addr, &plan, |stage| {
        clients.push((stage, memory(std::process::id(), "VmRSS:")));
        memory(pid, "VmRSS:")
    });
    let server_peak = memory(pid, "VmHWM:");
    // Stop the server: it shuts down on a "shutdown" message; a TLS server (which a plain
    // client cannot reach) is killed, as it has nothing left to do.
    if tls {
        let _ = child.kill();
    } else if let Ok((mut ws, _)) = ws_std::connect(&format!("ws://{addr}/")) {
        let _ = ws.send_text("shutdown");
    }
    let _ = child.wait();
    drop(secure);
    let outcome = outcome?;

    let per = |bytes: i64| bytes as f64 / connections as f64;
    let stage = |name: &str| {
        outcome
            .probes
            .iter()
            .find(|(s, _)| *s == name)
            .map(|&(_, b)| b as i64)
    };
    let base = stage("before").unwrap_or(0);
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("connect all:        {:8.1} ms", ms(outcome.connect));
    for (round, d) in outcome.fan_out.iter().enumerate() {
        println!(
            "broadcast {round} fan-out: {:8.1} ms  ({} B to every connection)",
            ms(*d),
            plan.broadcast_len
        );
    }
    println!(
        "echo 16 KiB each:   {:8.1} ms  (every connection at once)",
        ms(outcome.echo)
    );
    println!(
        "close all:          {:8.1} ms  ({} clean)",
        ms(outcome.close),
        outcome.clean_closes
    );
    for (name, bytes) in &outcome.probes {
        println!(
            "server RSS {name:<17} {:7.1} MiB  ({:+.0} B per connection over 'before')",
            *bytes as f64 / 1048576.0,
            per(*bytes as i64 - base)
        );
    }
    if let Some(peak) = server_peak {
        println!(
            "server peak RSS        {:7.1} MiB  ({:+.0} B per connection over 'before')",
            peak as f64 / 1048576.0,
            per(peak as i64 - base)
        );
    }
    let client = |name: &str| {
        clients
            .iter()
            .find(|(s, _)| *s == name)
            .and_then(|&(_, b)| b)
    };
    if let (Some(before), Some(idle)) = (client("before"), client("idle")) {
        println!(
            "client process idle    {:7.1} MiB  ({:+.0} B per client connection over 'before')",
            idle as f64 / 1048576.0,
            per(idle as i64 - before as i64)
        );
    }
    if outcome.clean_closes != connections {
        return Err(format!(
            "{} of {connections} connections closed cleanly",
            outcome.clean_closes
        ));
    }
    Ok(())
}

/// The TLS side of a run: a test CA, the server's certificate and key in PEM files (removed
/// at the end), and a client configuration trusting the CA.
#[derive(Default)]
struct Secure {
    files: Option<[std::path::PathBuf; 2]>,
    #[cfg(feature = "tls")]
    client: Option<std::sync::Arc<ws_mio::tls::ClientConfig>>,
}

impl Secure {
    #[cfg(feature = "tls")]
    fn new(tls: bool) -> Result<Secure, String> {
        if !tls {
            return Ok(Secure::default());
        }
        let ca = certs::Ca::new();
        // The clients connect to 127.0.0.1 (no name to resolve 10,000 times).
        let leaf = ca.issue(&["127.0.0.1"]);
        let dir = std::env::temp_dir();
        let cert = dir.join(format!("ws-mio-scale-cert-{}.pem", std::process::id()));
        let key = dir.join(format!("ws-mio-scale-key-{}.pem", std::process::id()));
        std::fs::write(&cert, &leaf.cert_pem).map_err(|e| e.to_string())?;
        std::fs::write(&key, &leaf.key_pem).map_err(|e| e.to_string())?;
        Ok(Secure {
            files: Some([cert, key]),
            client: Some(ca.client_config()),
        })
    }

    #[cfg(not(feature = "tls"))]
    fn new(_: bool) -> Result<Secure, String> {
        Ok(Secure::default())
    }

    /// `tls CERT_FILE KEY_FILE` for the server, or nothing.
    fn server_args(&self) -> Vec<std::ffi::OsString> {
        match &self.files {
            Some([cert, key]) => vec!["tls".into(), cert.into(), key.into()],
            None => Vec::new(),
        }
    }

    #[cfg(feature = "tls")]
    fn client_config(&self) -> Option<std::sync::Arc<ws_mio::tls::ClientConfig>> {
        self.client.clone()
    }
}

impl Drop for Secure {
    fn drop(&mut self) {
        for file in self.files.iter().flatten() {
            let _ = std::fs::remove_file(file);
        }
    }
}
