//! Attack traffic, written by hand on raw sockets: shared by the adversarial tests
//! (`tests/adversarial.rs`) and the peak-memory measurements (`examples/mio_attack_rss.rs`).
//!
//! Large floods are streamed in batches of about 64 KiB, so that the attacker never holds more
//! than a batch (the memory example runs the attacker in the server's process). Needs the raw
//! helpers of ws-std's tests as the sibling module `raw`.
#![allow(dead_code)]

use std::io::{self, Write};
use std::net::{SocketAddr, TcpStream};

use ws_proto::extensions::deflate::DeflateParams;
use ws_proto::{Config, Connection, DataKind};

use super::raw::{
    client_frame, frame, header_value, read_head, request, tcp_connect, valid_headers, MASK,
    OP_CONT, OP_PING,
};

/// A masked frame header announcing `len` bytes of payload, with none following.
pub(crate) fn header_64(first: u8, len: u64) -> Vec<u8> {
    let mut out = vec![first, 0x80 | 127];
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&MASK);
    out
}

/// Writes `count` copies of `bytes`, about 64 KiB at a time.
pub(crate) fn write_repeated(
    stream: &mut impl Write,
    bytes: &[u8],
    count: usize,
) -> io::Result<()> {
    let per_batch = ((64 << 10) / bytes.len().max(1)).clamp(1, count.max(1));
    let batch = bytes.repeat(per_batch);
    let mut left = count;
    while left >= per_batch {
        stream.write_all(&batch)?;
        left -= per_batch;
    }
    stream.write_all(&bytes.repeat(left))
}

/// Writes one data message (`opcode` 1 or 2) as `count` fragments (at least 2) of `piece`
/// each, streamed.
pub(crate) fn write_fragments(
    stream: &mut impl Write,
    opcode: u8,
    piece: &[u8],
    count: usize,
) -> io::Result<()> {
    stream.write_all(&frame(opcode, Some(MASK), piece))?;
    write_repeated(
        stream,
        &frame(OP_CONT, Some(MASK), piece),
        count.saturating_sub(2),
    )?;
    stream.write_all(&frame(0x80 | OP_CONT, Some(MASK), piece))
}

/// The Ping every flood sends: the largest control payload, 125 bytes.
pub(crate) const PING_PAYLOAD: [u8; 125] = [b'p'; 125];

/// Sends Pings without ever reading the Pongs, until a write fails (set a write timeout: it
/// fails once the server stops reading) or `cap` bytes have gone. Returns the bytes sent.
pub(crate) fn ping_flood(mut stream: &TcpStream, cap: usize) -> usize {
    let batch = client_frame(OP_PING, &PING_PAYLOAD).repeat(512);
    let mut sent = 0;
    while sent < cap {
        match stream.write(&batch) {
            Ok(n) => sent += n,
            Err(_) => break,
        }
    }
    sent
}

/// Connects and completes an opening handshake that offers permessage-deflate; panics unless
/// the server agreed to it.
pub(crate) fn deflate_handshake(addr: SocketAddr) -> TcpStream {
    let mut headers = valid_headers();
    headers.push("Sec-WebSocket-Extensions: permessage-deflate".into());
    let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
    let mut stream = tcp_connect(addr);
    stream
        .write_all(&request("GET / HTTP/1.1", &headers))
        .expect("request");
    let head = read_head(&mut stream);
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    let agreed = header_value(&head, "Sec-WebSocket-Extensions").unwrap_or_default();
    assert!(agreed.starts_with("permessage-deflate"), "{head}");
    stream
}

/// On a connection from [`deflate_handshake`]: sends one binary message of `mib` MiB of zeros,
/// compressed (about 1 KiB per MiB), in 1 MiB fragments so the attacker never holds the
/// message. Stops at the first failed write (the server failed the connection).
pub(crate) fn deflate_bomb(stream: &mut TcpStream, mib: usize) {
    let mut config = Config::default();
    config.deflate.min_size = 0;
    let mut client = Connection::client(config, || MASK, ws_proto::Instant::ZERO)
        .with_deflate(DeflateParams::default());
    let zeros = vec![0u8; 1 << 20];
    let mut out = Vec::new();
    for i in 0..mib {
        client
            .send_fragment(DataKind::Binary, &zeros, i + 1 == mib)
            .expect("compress a fragment");
        out.clear();
        while client.poll_transmit(&mut out).is_some() {}
        if stream.write_all(&out).is_err() {
            return;
        }
    }
}
