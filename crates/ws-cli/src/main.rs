//! `ws`: a WebSocket server (echo and demo) and an interactive client.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use ws_proto::extensions::deflate::DeflatePreset;

mod bench;
mod chat;
mod connect;
mod demo;
mod serve;
mod serve_tokio;
mod wire;

/// WebSocket server and client.
#[derive(Debug, Parser)]
#[command(name = "ws", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the chat demo (or, with --echo, an echo server) on ADDR (default 127.0.0.1:8080);
    /// over TLS with --tls-cert and --tls-key.
    Serve {
        /// Address to listen on.
        #[arg(default_value = "127.0.0.1:8080")]
        addr: String,
        /// Echo every message back unchanged, on any path. Without it: the chat demo (a page
        /// at http://ADDR/, its WebSocket endpoint at /ws; rooms at /?room=NAME).
        #[arg(long)]
        echo: bool,
        /// The adapter that runs the connections [default: std with --echo; mio for the
        /// chat].
        #[arg(long, value_enum)]
        backend: Option<Backend>,
        /// Decline permessage-deflate compression (RFC 7692), which is accepted by default
        /// (the same as --deflate off).
        #[arg(long, conflicts_with = "deflate")]
        no_deflate: bool,
        /// How permessage-deflate is answered: memory per connection against compression
        /// (docs/deflate.md).
        #[arg(long, value_enum, value_name = "PRESET", default_value = "balanced")]
        deflate: DeflateArg,
        /// The most connections held at once (mio backend; 0: no limit). Connections past it
        /// are answered 503 and closed. [default: 10000]
        #[arg(long, value_name = "N")]
        max_connections: Option<usize>,
        /// Serve TLS (wss://; the chat's page over https://) with the certificate chain in
        /// this PEM file (either backend). Needs --tls-key.
        #[arg(long, value_name = "FILE", requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The private key of --tls-cert, in PEM (PKCS#8, PKCS#1 or SEC1).
        #[arg(long, value_name = "FILE", requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        #[command(flatten)]
        redis: demo::RedisArgs,
    },
    /// Connect to URL; each line of standard input is sent as a text message and each
    /// message received is printed.
    Connect {
        /// The ws:// or wss:// URL to connect to.
        url: String,
        /// Trust the certificate authorities in this PEM file for wss:// (instead of the
        /// bundled Mozilla roots).
        #[arg(long, value_name = "FILE")]
        ca: Option<PathBuf>,
        /// Offer a subprotocol (repeatable).
        #[arg(long = "protocol", value_name = "P")]
        protocols: Vec<String>,
        /// Add a request header, as 'Name: value' (repeatable).
        #[arg(long = "header", value_name = "K: V")]
        headers: Vec<String>,
        /// Do not offer permessage-deflate compression (RFC 7692), which is offered by
        /// default.
        #[arg(long)]
        no_deflate: bool,
        /// Connect through a proxy: `http://[user:pass@]host[:port]` (HTTP CONNECT),
        /// socks5://... (names resolved here) or socks5h://... (resolved by the proxy).
        #[arg(long, value_name = "URL")]
        proxy: Option<String>,
    },
    /// Load-test an echo server at URL: messages/s, MB/s and round-trip latency.
    Bench(bench::BenchArgs),
}

/// A permessage-deflate preset ([`DeflatePreset`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum DeflateArg {
    /// No compression.
    Off,
    /// No context takeover either way: no compression state kept between messages.
    Shared,
    /// The server keeps no context; the client keeps a 4 KiB window.
    Balanced,
    /// Context takeover both ways with 4 KiB windows.
    SmallWindows,
    /// Context takeover both ways with 32 KiB windows.
    Full,
}

impl DeflateArg {
    fn preset(self) -> DeflatePreset {
        match self {
            DeflateArg::Off => DeflatePreset::Off,
            DeflateArg::Shared => DeflatePreset::Shared,
            DeflateArg::Balanced => DeflatePreset::Balanced,
            DeflateArg::SmallWindows => DeflatePreset::SmallWindows,
            DeflateArg::Full => DeflatePreset::Full,
        }
    }
}

/// Which adapter serves connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Backend {
    /// ws-std: blocking I/O, one thread per connection.
    Std,
    /// ws-mio: a non-blocking event loop holding every connection on one thread.
    Mio,
    /// ws-tokio: a task per connection on tokio's multi-threaded runtime (--echo only).
    Tokio,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve {
            addr,
            echo,
            backend,
            no_deflate,
            deflate,
            max_connections,
            tls_cert,
            tls_key,
            redis,
        } => {
            let preset = if no_deflate {
                DeflatePreset::Off
            } else {
                deflate.preset()
            };
            // clap makes each of the two require the other.
            let tls = tls_cert
                .zip(tls_key)
                .map(|(cert, key)| serve::TlsFiles { cert, key });
            serve::run(&addr, echo, backend, preset, max_connections, tls, redis)
        }
        Command::Connect {
            url,
            ca,
            protocols,
            headers,
            no_deflate,
            proxy,
        } => connect::run(
            &url,
            ca.as_deref(),
            &protocols,
            &headers,
            !no_deflate,
            proxy.as_deref(),
        ),
        Command::Bench(args) => bench::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("ws: {message}");
            ExitCode::FAILURE
        }
    }
}
