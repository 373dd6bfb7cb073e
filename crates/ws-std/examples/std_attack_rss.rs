//! Peak memory of a ws-std server under one attack, for `docs/security.md`.
//!
//! ```sh
//! cargo run --release -p ws-std --example std_attack_rss -- <attack>
//! ```
//!
//! Runs a default-configured ws-std server (thread per connection, `Config::default()`,
//! `Limits::default()`) and an attacker in one process, then prints the process's peak
//! resident set (`VmHWM` from `/proc/self/status`, Linux only) before and after the attack.
//! One attack per process, since the peak only grows. Attacks: baseline, slowloris,
//! header-1mib, many-headers, length-2-63, length-over-limit, message-at-limit,
//! fragment-flood, empty-fragment-flood, ping-flood, deflate-bomb, unmasked.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use ws_std::ws_proto::extensions::deflate::DeflateParams;
use ws_std::ws_proto::{self, Config, Connection, DataKind};
use ws_std::{Message, ServerBuilder};

const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

fn main() {
    let attack = std::env::args().nth(1).unwrap_or_else(|| "baseline".into());
    let addr = start_server();
    let before = peak_kib();
    let started = Instant::now();
    let what = run(&attack, addr);
    // Let the server threads finish answering.
    thread::sleep(Duration::from_millis(200));
    let after = peak_kib();
    println!(
        "attack={attack} peak_rss_before_kib={before} peak_rss_after_kib={after} \
         growth_kib={} secs={:.2} outcome={what}",
        after.saturating_sub(before),
        started.elapsed().as_secs_f64()
    );
}

/// `VmHWM`, the peak resident set size, in KiB.
fn peak_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

/// A thread-per-connection server that reads and drops every message.
fn start_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            thread::spawn(move || {
                let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
                let builder = ServerBuilder::new().handshake_timeout(Some(Duration::from_secs(1)));
                let Ok(mut ws) = builder.accept(stream) else {
                    return;
                };
                loop {
                    match ws.read() {
                        Ok(Message::Close(_)) | Err(_) => return,
                        Ok(_) => {}
                    }
                }
            });
        }
    });
    addr
}

fn request() -> Vec<u8> {
    format!(
        "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    .into_bytes()
}

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// Completes the handshake by hand.
fn upgraded(addr: SocketAddr) -> TcpStream {
    let mut s = connect(addr);
    s.write_all(&request()).expect("request");
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut b).expect("response");
        head.push(b[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 101"));
    s
}

fn header(first: u8, masked: bool, len: u64) -> Vec<u8> {
    let m = if masked { 0x80 } else { 0 };
    let mut out = vec![first];
    if len < 126 {
        out.push(m | len as u8);
    } else if len <= 0xFFFF {
        out.push(m | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(m | 127);
        out.extend_from_slice(&len.to_be_bytes());
    }
    if masked {
        out.extend_from_slice(&MASK);
    }
    out
}

fn frame(first: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = header(first, true, payload.len() as u64);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ MASK[i % 4]));
    out
}

/// Writes `count` copies of `frame`, 64 KiB at a time.
fn flood(s: &mut TcpStream, frame: &[u8], count: usize) {
    let per_batch = (64 << 10) / frame.len();
    let batch: Vec<u8> = frame
        .iter()
        .copied()
        .cycle()
        .take(frame.len() * per_batch)
        .collect();
    let mut left = count;
    while left >= per_batch {
        s.write_all(&batch).unwrap();
        left -= per_batch;
    }
    for _ in 0..left {
        s.write_all(frame).unwrap();
    }
}

/// Reads what the server sends until it closes; returns how many bytes that was.
fn drain(mut s: TcpStream) -> usize {
    let mut buf = [0u8; 4096];
    let mut total = 0;
    while let Ok(n) = s.read(&mut buf) {
        if n == 0 {
            break;
        }
        total += n;
    }
    total
}

/// Close code of the first Close frame in `bytes`, if the server sent one.
fn close_code(s: TcpStream) -> String {
    let mut all = Vec::new();
    let mut s = s;
    let _ = s.read_to_end(&mut all);
    match all.windows(2).position(|w| w[0] == 0x88) {
        Some(i) if all.len() >= i + 4 => {
            format!("close {}", u16::from_be_bytes([all[i + 2], all[i + 3]]))
        }
        _ => format!("no close frame ({} bytes)", all.len()),
    }
}

fn run(attack: &str, addr: SocketAddr) -> String {
    match attack {
        "baseline" => {
            let mut s = upgraded(addr);
            s.write_all(&frame(0x81, b"hello")).unwrap();
            s.write_all(&frame(0x88, &1000u16.to_be_bytes())).unwrap();
            close_code(s)
        }
        "slowloris" => {
            // 200 connections trickling a request, cut by the 1 s handshake timeout.
            let conns: Vec<TcpStream> = (0..200)
                .map(|_| {
                    let mut s = connect(addr);
                    s.write_all(b"GET / HTTP/1.1\r\n").unwrap();
                    s
                })
                .collect();
            let cut = conns.into_iter().map(drain).filter(|&n| n == 0).count();
            format!("{cut} of 200 cut without an answer")
        }
        "header-1mib" => {
            // Written 64 KiB at a time, so the attacker's own buffers stay out of the figure.
            let mut s = connect(addr);
            let _ = s.write_all(b"GET / HTTP/1.1\r\nX: ");
            let chunk = vec![b'a'; 64 << 10];
            for _ in 0..16 {
                if s.write_all(&chunk).is_err() {
                    break;
                }
            }
            let mut head = [0u8; 12];
            let _ = s.read_exact(&mut head);
            String::from_utf8_lossy(&head).into_owned()
        }
        "many-headers" => {
            let mut s = connect(addr);
            let mut req = b"GET / HTTP/1.1\r\n".to_vec();
            for _ in 0..3000 {
                req.extend_from_slice(b"a:b\r\n");
            }
            req.extend_from_slice(b"\r\n");
            let _ = s.write_all(&req);
            let mut head = [0u8; 12];
            let _ = s.read_exact(&mut head);
            String::from_utf8_lossy(&head).into_owned()
        }
        "length-2-63" => {
            let mut s = upgraded(addr);
            s.write_all(&header(0x82, true, (1 << 63) - 1)).unwrap();
            close_code(s)
        }
        "length-over-limit" => {
            let mut s = upgraded(addr);
            s.write_all(&header(0x82, true, (64 << 20) + 1)).unwrap();
            close_code(s)
        }
        "message-at-limit" => {
            // The worst a peer can legitimately make one connection hold: a 64 MiB message.
            let mut s = upgraded(addr);
            let len = 64u64 << 20;
            s.write_all(&header(0x82, true, len)).unwrap();
            let chunk = vec![0u8; 1 << 20];
            for _ in 0..64 {
                s.write_all(&chunk).unwrap();
            }
            s.write_all(&frame(0x88, &1000u16.to_be_bytes())).unwrap();
            close_code(s)
        }
        "fragment-flood" => {
            // 1 000 000 one-byte fragments: a 1 MB message in 7 MB of frames.
            let mut s = upgraded(addr);
            s.write_all(&frame(0x02, b"x")).unwrap();
            flood(&mut s, &frame(0x00, b"x"), 1_000_000);
            s.write_all(&frame(0x80, b"x")).unwrap();
            s.write_all(&frame(0x88, &1000u16.to_be_bytes())).unwrap();
            close_code(s)
        }
        "empty-fragment-flood" => {
            // 1 000 000 empty fragments: 6 MB of frames, an empty message.
            let mut s = upgraded(addr);
            s.write_all(&frame(0x02, b"")).unwrap();
            flood(&mut s, &frame(0x00, b""), 1_000_000);
            s.write_all(&frame(0x80, b"")).unwrap();
            s.write_all(&frame(0x88, &1000u16.to_be_bytes())).unwrap();
            close_code(s)
        }
        "ping-flood" => {
            // Pings with 125-byte payloads, never reading the Pongs, until the server stops
            // reading (our write times out) or 256 MiB have been sent.
            let s = upgraded(addr);
            s.set_write_timeout(Some(Duration::from_secs(2))).unwrap();
            let ping = frame(0x89, &[b'p'; 125]);
            let batch: Vec<u8> = ping
                .iter()
                .copied()
                .cycle()
                .take(ping.len() * 1024)
                .collect();
            let mut sent = 0usize;
            let mut w = &s;
            while sent < 256 << 20 {
                match w.write(&batch) {
                    Ok(n) => sent += n,
                    Err(_) => break,
                }
            }
            format!(
                "{} KiB of pings sent before the server stopped reading",
                sent >> 10
            )
        }
        "deflate-bomb" => {
            // permessage-deflate negotiated, then 256 MiB of zeros (about 256 KiB compressed,
            // sent as 1 MiB fragments so the attacker never holds it): the server inflates at
            // most max_message_size (64 MiB) and fails the connection with 1009.
            let mut s = connect(addr);
            let mut req = request();
            req.truncate(req.len() - 2);
            req.extend_from_slice(b"Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n");
            s.write_all(&req).expect("request");
            let mut head = Vec::new();
            let mut b = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") {
                s.read_exact(&mut b).expect("response");
                head.push(b[0]);
            }
            let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
            assert!(head.starts_with("http/1.1 101") && head.contains("permessage-deflate"));
            let mut config = Config::default();
            config.deflate.min_size = 0;
            // Only sends: its clock never matters.
            let mut client = Connection::client(config, || MASK, ws_proto::Instant::ZERO)
                .with_deflate(DeflateParams::default());
            let zeros = vec![0u8; 1 << 20];
            let mut out = Vec::new();
            for i in 0..256 {
                client
                    .send_fragment(DataKind::Binary, &zeros, i == 255)
                    .expect("fragment");
                out.clear();
                while client.poll_transmit(&mut out).is_some() {}
                if s.write_all(&out).is_err() {
                    break;
                }
            }
            close_code(s)
        }
        "unmasked" => {
            let mut s = upgraded(addr);
            let mut f = header(0x81, false, 5);
            f.extend_from_slice(b"hello");
            s.write_all(&f).unwrap();
            close_code(s)
        }
        other => panic!("unknown attack {other}"),
    }
}
