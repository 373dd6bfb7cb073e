//! Codec benchmarks: masking, frame decode and encode, UTF-8 validation of text messages,
//! and the server handshake, each side by side with tungstenite on the same input.
//!
//! Run: `cargo bench -p ws-benches --bench codec` (add `-- GROUP` to run one group).

use std::hint::black_box;
use std::io::{self, Cursor, Read, Write};

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use ws_benches::{
    ascii_text, frame_layer_tungstenite, frame_layer_ws_proto, mask_u32_words, mask_u64_words,
    masked_stream, multilingual_text, read_scan, write_vectored_into, KEY,
};
use ws_proto::frame::mask::{apply_mask, apply_mask_bytewise};
use ws_proto::frame::OpCode;
use ws_proto::handshake::{ServerEvent, ServerHandshake};
use ws_proto::{Config, Connection, Event, Instant, Message, Transmit};

fn masking(c: &mut Criterion) {
    let mut group = c.benchmark_group("mask");
    // 16 MiB is beyond the L2 cache of the machines measured so far.
    for size in [16usize, 125, 1024, 4096, 64 * 1024, 1 << 20, 16 << 20] {
        for align in [0usize, 1, 3] {
            let mut buf = vec![0xA5u8; size + align];
            let src = vec![0x5Au8; size + align];
            group.throughput(Throughput::Bytes(size as u64));
            if size >= 1 << 20 {
                group.sample_size(20);
            }
            let id = format!("{size}B/align{align}");
            group.bench_function(BenchmarkId::new("ws-proto", &id), |b| {
                b.iter(|| apply_mask(black_box(&mut buf[align..]), KEY, 0))
            });
            group.bench_function(BenchmarkId::new("u64-words", &id), |b| {
                b.iter(|| mask_u64_words(black_box(&mut buf[align..]), KEY))
            });
            group.bench_function(BenchmarkId::new("u32-words", &id), |b| {
                b.iter(|| mask_u32_words(black_box(&mut buf[align..]), KEY))
            });
            group.bench_function(BenchmarkId::new("read-scan", &id), |b| {
                b.iter(|| read_scan(black_box(&buf[align..])))
            });
            if size <= 64 * 1024 {
                group.bench_function(BenchmarkId::new("byte-loop", &id), |b| {
                    b.iter(|| apply_mask_bytewise(black_box(&mut buf[align..]), KEY, 0))
                });
            }
            group.bench_function(BenchmarkId::new("copy_from_slice", &id), |b| {
                b.iter(|| buf[align..].copy_from_slice(black_box(&src[align..])))
            });
        }
    }
    group.finish();
}

/// An in-memory stream for tungstenite: reads from a buffer, discards writes.
struct MemStream {
    input: Cursor<Vec<u8>>,
}

impl Read for MemStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.input.read(buf)?;
        if n == 0 {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(n)
    }
}

impl Write for MemStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Feeds `stream` to a server connection 64 KiB at a time, counting messages.
fn ws_proto_decode(stream: &[u8], config: &Config) -> usize {
    decode_with(stream, config, false)
}

/// The same, giving each message's buffer back with `Connection::recycle` (no allocation
/// per message once the pool is warm).
fn ws_proto_decode_recycled(stream: &[u8], config: &Config) -> usize {
    decode_with(stream, config, true)
}

fn decode_with(stream: &[u8], config: &Config, recycle: bool) -> usize {
    let mut conn = Connection::server(config.clone(), Instant::ZERO);
    let mut messages = 0;
    for chunk in stream.chunks(64 * 1024) {
        conn.receive_data(chunk, Instant::ZERO).unwrap();
        while let Some(e) = conn.poll_event() {
            if let Event::Message(m) = e {
                black_box(&m);
                messages += 1;
                if recycle {
                    conn.recycle(m.into_bytes());
                }
            }
        }
    }
    messages
}

fn tungstenite_decode(stream: &[u8], count: usize) -> usize {
    use tungstenite::protocol::{Role, WebSocket, WebSocketConfig};
    let config = WebSocketConfig::default().max_message_size(Some(64 << 20));
    let mut ws = WebSocket::from_raw_socket(
        MemStream {
            input: Cursor::new(stream.to_vec()),
        },
        Role::Server,
        Some(config),
    );
    for _ in 0..count {
        black_box(ws.read().unwrap());
    }
    count
}

fn decode(c: &mut Criterion) {
    let config = Config::default();
    // One million small frames in one buffer.
    let mut group = c.benchmark_group("decode/1M-frames");
    group.sample_size(10);
    let count = 1_000_000;
    for (name, opcode, payload) in [
        ("text-16B", OpCode::Text, ascii_text(16).into_bytes()),
        ("binary-16B", OpCode::Binary, vec![7u8; 16]),
    ] {
        let stream = masked_stream(opcode, &payload, count);
        group.throughput(Throughput::Elements(count as u64));
        group.bench_function(BenchmarkId::new("ws-proto", name), |b| {
            b.iter(|| assert_eq!(ws_proto_decode(&stream, &config), count))
        });
        group.bench_function(BenchmarkId::new("ws-proto-recycle", name), |b| {
            b.iter(|| assert_eq!(ws_proto_decode_recycled(&stream, &config), count))
        });
        group.bench_function(BenchmarkId::new("tungstenite", name), |b| {
            b.iter(|| tungstenite_decode(&stream, count))
        });
    }
    group.finish();

    // The frame layers alone on the same million frames: ws-proto's `decode_header` with the
    // payload unmasked into a reused buffer, against tungstenite's `FrameSocket` (which leaves
    // payloads masked).
    let mut group = c.benchmark_group("decode/frame-layer");
    group.sample_size(10);
    let stream = masked_stream(OpCode::Text, ascii_text(16).as_bytes(), count);
    group.throughput(Throughput::Elements(count as u64));
    group.bench_function(BenchmarkId::new("ws-proto", "text-16B"), |b| {
        b.iter(|| assert_eq!(frame_layer_ws_proto(&stream), count))
    });
    group.bench_function(BenchmarkId::new("tungstenite", "text-16B"), |b| {
        b.iter(|| assert_eq!(frame_layer_tungstenite(&stream), count))
    });
    group.finish();

    // Frames per second by payload size, and bytes per second for large payloads.
    let mut group = c.benchmark_group("decode/size");
    for size in [2usize, 16, 125, 64 * 1024, 1 << 20] {
        let count = match size {
            0..=125 => 100_000,
            126..=65536 => 64,
            _ => 4,
        };
        let payload = vec![0x42u8; size];
        let stream = masked_stream(OpCode::Binary, &payload, count);
        if size >= 64 * 1024 {
            group.throughput(Throughput::Bytes((size * count) as u64));
        } else {
            group.throughput(Throughput::Elements(count as u64));
        }
        group.bench_function(BenchmarkId::new("ws-proto", size), |b| {
            b.iter(|| assert_eq!(ws_proto_decode(&stream, &config), count))
        });
        group.bench_function(BenchmarkId::new("tungstenite", size), |b| {
            b.iter(|| tungstenite_decode(&stream, count))
        });
    }
    group.finish();

    // Text messages: UTF-8 validation on the receive path.
    let mut group = c.benchmark_group("decode/text-64KiB");
    for (name, text) in [
        ("ascii", ascii_text(64 * 1024)),
        ("multilingual", multilingual_text(64 * 1024)),
    ] {
        let count = 64;
        let stream = masked_stream(OpCode::Text, text.as_bytes(), count);
        group.throughput(Throughput::Bytes((text.len() * count) as u64));
        group.bench_function(BenchmarkId::new("ws-proto", name), |b| {
            b.iter(|| assert_eq!(ws_proto_decode(&stream, &config), count))
        });
        group.bench_function(BenchmarkId::new("tungstenite", name), |b| {
            b.iter(|| tungstenite_decode(&stream, count))
        });
    }
    group.finish();
}

fn encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("encode");
    for size in [2usize, 125, 64 * 1024, 1 << 20] {
        let payload = vec![0x42u8; size];
        let count = if size < 1024 { 10_000 } else { 16 };
        if size >= 64 * 1024 {
            group.throughput(Throughput::Bytes((size * count) as u64));
        } else {
            group.throughput(Throughput::Elements(count as u64));
        }
        for masked in [false, true] {
            let id = format!("{size}B/{}", if masked { "masked" } else { "unmasked" });
            let mut out = Vec::with_capacity((size + 14) * count);
            group.bench_function(BenchmarkId::new("ws-proto", &id), |b| {
                let mut conn = if masked {
                    Connection::client(Config::default(), || KEY, Instant::ZERO)
                } else {
                    Connection::server(Config::default(), Instant::ZERO)
                };
                b.iter(|| {
                    out.clear();
                    for _ in 0..count {
                        conn.send_binary(&payload).unwrap();
                        while let Some(Transmit::Data(_)) = conn.poll_transmit(&mut out) {}
                    }
                    black_box(out.len())
                })
            });
            if !masked {
                // How the adapters send payloads they own: `send(Message)` queues the header
                // and, from 16 KiB, the message's own buffer after it; the output is written
                // with one vectored write of `transmit_slices` (here the slices are appended
                // to `out`, where a socket would take them with `writev`), then
                // `advance_transmit`. The messages are built outside the measured time, as
                // the application's payload was borrowed before.
                group.bench_function(BenchmarkId::new("ws-proto-owned", &id), |b| {
                    let mut conn = Connection::server(Config::default(), Instant::ZERO);
                    b.iter_batched(
                        || vec![Message::Binary(payload.clone()); count],
                        |messages| {
                            out.clear();
                            for message in messages {
                                conn.send(message).unwrap();
                                write_vectored_into(&mut conn, &mut out);
                            }
                            black_box(out.len())
                        },
                        BatchSize::LargeInput,
                    )
                });
            }
            group.bench_function(BenchmarkId::new("tungstenite", &id), |b| {
                use tungstenite::protocol::frame::{Frame, FrameHeader};
                let bytes = tungstenite::Bytes::from(payload.clone());
                b.iter(|| {
                    out.clear();
                    for _ in 0..count {
                        let mut frame = Frame::message(
                            bytes.clone(),
                            tungstenite::protocol::frame::coding::OpCode::Data(
                                tungstenite::protocol::frame::coding::Data::Binary,
                            ),
                            true,
                        );
                        if masked {
                            let header: &mut FrameHeader = frame.header_mut();
                            header.mask = Some(KEY);
                        }
                        frame.format(&mut out).unwrap();
                    }
                    black_box(out.len())
                })
            });
        }
    }
    group.finish();
}

const REQUEST: &[u8] = b"GET /chat?room=1 HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: http://example.com\r\n\
Sec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Version: 13\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)\r\n\
Accept-Encoding: gzip, deflate, br\r\nAccept-Language: en-US,en;q=0.9\r\nCache-Control: no-cache\r\n\r\n";

fn handshake(c: &mut Criterion) {
    let mut group = c.benchmark_group("handshake/server");
    group.throughput(Throughput::Elements(1));
    let mut out = Vec::with_capacity(512);
    // The whole server handshake as an adapter runs it: the state machine reads the request,
    // the application accepts it, the 101 is taken.
    let mut config = ws_proto::Config::default();
    config.deflate.enabled = false;
    let config = std::sync::Arc::new(config);
    group.bench_function("ws-proto", |b| {
        b.iter(|| {
            let now = ws_proto::Instant::ZERO;
            let mut machine = ServerHandshake::new(config.clone(), now);
            machine.receive_data(black_box(REQUEST), now).unwrap();
            let Some(ServerEvent::Request(req)) = machine.poll_event() else {
                unreachable!()
            };
            machine
                .accept(req.accept().protocol("chat").unwrap())
                .unwrap();
            out.clear();
            while machine.poll_transmit(&mut out).is_some() {}
            black_box(out.len())
        })
    });
    group.bench_function("tungstenite", |b| {
        b.iter(|| {
            let stream = MemStream {
                input: Cursor::new(REQUEST.to_vec()),
            };
            black_box(tungstenite::accept(stream).map(|_| ()).is_ok())
        })
    });
    group.finish();
}

criterion_group!(benches, masking, decode, encode, handshake);
criterion_main!(benches);
