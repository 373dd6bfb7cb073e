//! Peak memory of a ws-mio server under one attack, for `docs/security.md`.
//!
//! ```sh
//! cargo run --release -p ws-mio --example mio_attack_rss -- <attack> [count]
//! ```
//!
//! Runs a default-configured ws-mio server (`Options::default()`: one event loop, 10,000
//! connections at most, 10 s handshake timeout, 64 MiB messages, 1 MiB high watermark,
//! permessage-deflate accepted) whose handler drops every message, attacks it from this
//! process, and prints the process's peak resident set (`VmHWM` from `/proc/self/status`,
//! Linux only) before and after. One attack per process, since the peak only grows. The
//! connection flood runs its clients in a child process (this example again, as
//! `flood-client`), so that each process stays within its file-descriptor limit.
//!
//! Attacks: baseline, connection-flood, slowloris, header-1mib, many-headers, length-2-63,
//! length-max, length-over-limit, message-at-limit, held-messages, declared-frames,
//! fragment-flood, empty-fragment-flood, ping-flood, deflate-bomb, deflate-bombs, unmasked.
//! `count` sets the number of connections of the attacks that use several.

#[path = "../tests/attacks/mod.rs"]
mod attacks;
#[path = "../../ws-std/tests/common/mod.rs"]
mod raw;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use attacks::*;
use raw::*;
use ws_mio::{Handler, Options, Server};

/// Drops whatever it is told.
struct Sink;

impl Handler for Sink {}

const LIMIT: u64 = 64 << 20;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let attack = args.first().map_or("baseline", String::as_str);
    let count = args.get(1).and_then(|n| n.parse().ok());
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    if attack == "flood-client" {
        let addr = args.get(2).expect("address").parse().expect("address");
        return flood_client(addr, count.expect("count"));
    }
    let server = Server::bind("127.0.0.1:0", Options::default(), |_| Sink).expect("bind");
    let addr = server.local_addr().expect("address");
    let running = server.spawn().expect("spawn");
    let before = peak_kib();
    let started = Instant::now();
    let outcome = run(attack, count, addr);
    let after = peak_kib();
    println!(
        "attack={attack} peak_rss_before_kib={before} peak_rss_after_kib={after} \
         growth_kib={} secs={:.2} outcome={outcome}",
        after.saturating_sub(before),
        started.elapsed().as_secs_f64()
    );
    running.stop().expect("stop");
}

/// `VmHWM`, the peak resident set size, in KiB.
fn peak_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status.lines().find(|l| l.starts_with("VmHWM:"));
    // "VmHWM:     2512 kB"
    line.and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kib| kib.parse().ok())
        .expect("VmHWM in /proc/self/status")
}

/// How the server ended the connection: the code of its Close frame (after any other
/// frames, such as Pongs), or what came instead.
fn close_code(mut s: TcpStream) -> String {
    let mut all = Vec::new();
    let _ = s.read_to_end(&mut all);
    let mut rest = &all[..];
    while rest.len() >= 2 {
        let frame = read_frame(&mut rest);
        if frame.opcode() == OP_CLOSE {
            return format!("close {}", frame.close_code().unwrap_or(1005));
        }
    }
    format!("no close frame ({} bytes)", all.len())
}

/// The status line of the server's answer.
fn status_line(s: &mut TcpStream) -> String {
    let mut head = [0u8; 12];
    match s.read_exact(&mut head) {
        Ok(()) => String::from_utf8_lossy(&head).into_owned(),
        Err(e) => format!("no answer: {e}"),
    }
}

/// Waits (at most the sockets' 20 s read timeout) until the server closes each connection;
/// returns how many it closed without sending anything.
fn cut_silently(conns: Vec<TcpStream>) -> usize {
    let mut buf = [0u8; 64];
    let mut cut = 0;
    for mut s in conns {
        match s.read(&mut buf) {
            Ok(0) => cut += 1,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => cut += 1,
            _ => {}
        }
    }
    cut
}

/// Runs `attack` on `count` upgraded connections, one after another; returns them, open.
fn on_many(addr: SocketAddr, count: usize, attack: impl Fn(&mut TcpStream)) -> Vec<TcpStream> {
    (0..count)
        .map(|_| {
            let mut s = raw_client_handshake(addr);
            attack(&mut s);
            s
        })
        .collect()
}

/// A masked payload of `len` zero bytes (the mask itself, repeated), 1 MiB at a time.
fn write_zeros(s: &mut TcpStream, len: u64) {
    let mib = MASK.repeat(1 << 18);
    let mut left = len;
    while left > 0 {
        let n = left.min(1 << 20);
        s.write_all(&mib[..n as usize]).expect("payload");
        left -= n;
    }
}

/// Sends a Ping and waits for its Pong: it comes once the server has read everything sent
/// before on this connection.
fn pong_after(mut s: &TcpStream) -> bool {
    if s.write_all(&client_frame(OP_PING, b"?")).is_err() {
        return false;
    }
    let mut reader = s;
    read_frame(&mut reader).opcode() == OP_PONG
}

fn run(attack: &str, count: Option<usize>, addr: SocketAddr) -> String {
    let close = client_frame(OP_CLOSE, &1000u16.to_be_bytes());
    match attack {
        "baseline" => {
            let mut s = raw_client_handshake(addr);
            s.write_all(&client_frame(OP_TEXT, b"hello")).unwrap();
            s.write_all(&close).unwrap();
            close_code(s)
        }
        "connection-flood" => connection_flood(addr, count.unwrap_or(11_000)),
        "slowloris" => {
            // Each connection sends just under the 16 KiB head limit, unterminated, and
            // waits: the most a connection in the handshake holds, until the timeout.
            let n = count.unwrap_or(1000);
            let mut partial = b"GET / HTTP/1.1\r\nX: ".to_vec();
            partial.resize(16_000, b'a');
            let conns: Vec<TcpStream> = (0..n)
                .map(|_| {
                    let mut s = tcp_connect(addr);
                    s.write_all(&partial).unwrap();
                    s
                })
                .collect();
            format!(
                "{} of {n} cut by the handshake timeout without an answer",
                cut_silently(conns)
            )
        }
        "header-1mib" => {
            let mut s = tcp_connect(addr);
            let _ = s.write_all(b"GET / HTTP/1.1\r\nX: ");
            let _ = write_repeated(&mut s, &[b'a'; 1024], 1024);
            status_line(&mut s)
        }
        "many-headers" => {
            let mut s = tcp_connect(addr);
            let headers = vec!["a:b"; 3000];
            let _ = s.write_all(&request("GET / HTTP/1.1", &headers));
            status_line(&mut s)
        }
        "length-2-63" => {
            let mut s = raw_client_handshake(addr);
            s.write_all(&header_64(0x82, 1 << 63)).unwrap();
            close_code(s)
        }
        "length-max" => {
            let mut s = raw_client_handshake(addr);
            s.write_all(&header_64(0x82, (1 << 63) - 1)).unwrap();
            close_code(s)
        }
        "length-over-limit" => {
            let mut s = raw_client_handshake(addr);
            s.write_all(&header_64(0x82, LIMIT + 1)).unwrap();
            close_code(s)
        }
        "message-at-limit" => {
            // The largest message a peer may send: received whole, then dropped.
            let mut s = raw_client_handshake(addr);
            s.write_all(&header_64(0x82, LIMIT)).unwrap();
            write_zeros(&mut s, LIMIT);
            s.write_all(&close).unwrap();
            close_code(s)
        }
        "held-messages" => {
            // Connections each holding an unfinished message of one byte short of the limit
            // (a first fragment, the continuation never sent): the per-connection bound times
            // the connections.
            let n = count.unwrap_or(8);
            let conns = on_many(addr, n, |s| {
                s.write_all(&header_64(0x02, LIMIT - 1)).unwrap();
                write_zeros(s, LIMIT - 1);
            });
            // A Ping answered on each (Pings may come between fragments) proves the server
            // has read the fragment whole.
            let answered = conns.iter().filter(|s| pong_after(s)).count();
            format!("{n} connections held {n} x 64 MiB - 1, {answered} answered a ping after")
        }
        "declared-frames" => {
            // Connections each announcing a frame of the largest allowed size, then sending
            // one byte of it.
            let n = count.unwrap_or(1000);
            let conns = on_many(addr, n, |s| {
                s.write_all(&header_64(0x82, LIMIT)).unwrap();
                s.write_all(&MASK[..1]).unwrap();
            });
            // The frames are unfinished, so a Ping cannot follow them: a new connection's
            // Ping answered shows the loop has been round since the last bytes were sent.
            let settled = pong_after(&raw_client_handshake(addr));
            drop(conns);
            format!("{n} connections announced 64 MiB frames; settled={settled}")
        }
        "fragment-flood" => {
            // 1 000 000 one-byte fragments: a 1 MB message in 7 MB of frames.
            let mut s = raw_client_handshake(addr);
            write_fragments(&mut s, OP_BINARY, b"x", 1_000_000).unwrap();
            s.write_all(&close).unwrap();
            close_code(s)
        }
        "empty-fragment-flood" => {
            let mut s = raw_client_handshake(addr);
            write_fragments(&mut s, OP_BINARY, b"", 1_000_000).unwrap();
            s.write_all(&close).unwrap();
            close_code(s)
        }
        "ping-flood" => {
            // Pings never followed by a read, until the server stops reading (the write
            // times out) or 256 MiB have gone.
            let s = raw_client_handshake(addr);
            s.set_write_timeout(Some(Duration::from_secs(2))).unwrap();
            let sent = ping_flood(&s, 256 << 20);
            format!(
                "{} KiB of pings sent before the server stopped reading",
                sent >> 10
            )
        }
        "deflate-bomb" => {
            // 256 MiB of zeros in about 256 KiB of compressed frames: the server inflates at
            // most the 64 MiB limit and fails the connection with 1009.
            let mut s = deflate_handshake(addr);
            deflate_bomb(&mut s, 256);
            close_code(s)
        }
        "deflate-bombs" => {
            // The same from several connections at once.
            let n = count.unwrap_or(4);
            let bombers: Vec<_> = (0..n)
                .map(|_| {
                    thread::spawn(move || {
                        let mut s = deflate_handshake(addr);
                        deflate_bomb(&mut s, 256);
                        close_code(s)
                    })
                })
                .collect();
            let codes: Vec<String> = bombers.into_iter().map(|b| b.join().unwrap()).collect();
            codes.join(", ")
        }
        "unmasked" => {
            let mut s = raw_client_handshake(addr);
            s.write_all(&frame(0x81, None, b"hello")).unwrap();
            close_code(s)
        }
        other => panic!("unknown attack {other}"),
    }
}

/// Floods the server with connections from a child process; measures while they are held.
fn connection_flood(addr: SocketAddr, count: usize) -> String {
    // A client that was there before the flood, to show it is served during it.
    let s = raw_client_handshake(addr);
    let mut child = Command::new(std::env::current_exe().expect("this program"))
        .args(["flood-client", &count.to_string(), &addr.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the flood client");
    let mut report = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut report)
        .expect("the flood client's report");
    let served = pong_after(&s);
    drop(child.stdin.take()); // tells the child to let go of its connections
    child.wait().expect("flood client");
    format!("{} served_during_flood={served}", report.trim())
}

/// The child of `connection-flood`: opens `count` connections one after another, each
/// asking for an upgrade, keeps those upgraded, reports, and holds them until its input ends.
fn flood_client(addr: SocketAddr, count: usize) {
    let mut held = Vec::new();
    let mut refused = 0;
    for _ in 0..count {
        let mut s = tcp_connect(addr);
        s.write_all(&valid_request()).expect("request");
        let head = read_head(&mut s);
        if head.starts_with("HTTP/1.1 101 ") {
            held.push(s);
        } else if head.starts_with("HTTP/1.1 503 ") {
            refused += 1;
        } else {
            panic!("unexpected answer {head}");
        }
    }
    println!("held={} refused_503={refused}", held.len());
    let mut rest = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut rest);
}
