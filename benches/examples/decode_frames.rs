//! Decodes N masked 16-byte frames once, with ws-proto or tungstenite, for instruction counts:
//!
//! ```sh
//! cargo build --release -p ws-benches --example decode_frames
//! valgrind --tool=callgrind target/release/examples/decode_frames ws-proto 100000 text
//! valgrind --tool=callgrind target/release/examples/decode_frames ws-proto 200000 text
//! ```
//!
//! The difference between the two totals, divided by 100,000, is the cost per frame without
//! start-up. Modes: `ws-proto` (each message dropped), `ws-proto-recycle` (each message's
//! buffer given back with `Connection::recycle`), `tungstenite`; the frame layers alone:
//! `frames-ws-proto`, `frames-tungstenite`; kinds: `text`, `binary`.

use std::hint::black_box;
use std::io::{self, Cursor, Read, Write};

use ws_benches::{ascii_text, masked_stream};
use ws_proto::frame::OpCode;
use ws_proto::{Config, Connection, Event, Instant};

/// Reads from a buffer, discards writes.
struct MemStream(Cursor<Vec<u8>>);

impl Read for MemStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.0.read(buf)? {
            0 => Err(io::ErrorKind::WouldBlock.into()),
            n => Ok(n),
        }
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

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (mode, count, kind) = match &args[1..] {
        [m, c, k] => (m.as_str(), c.parse::<usize>().expect("COUNT"), k.as_str()),
        _ => {
            eprintln!(
                "usage: decode_frames ws-proto|ws-proto-recycle|tungstenite|frames-ws-proto|\
                 frames-tungstenite COUNT text|binary"
            );
            std::process::exit(2);
        }
    };
    let opcode = if kind == "text" {
        OpCode::Text
    } else {
        OpCode::Binary
    };
    let stream = masked_stream(opcode, ascii_text(16).as_bytes(), count);
    let mut messages = 0;
    match mode {
        "ws-proto" | "ws-proto-recycle" => {
            let recycle = mode == "ws-proto-recycle";
            let mut conn = Connection::server(Config::default(), Instant::ZERO);
            for chunk in stream.chunks(64 * 1024) {
                conn.receive_data(chunk, Instant::ZERO)
                    .expect("valid frames");
                while let Some(event) = conn.poll_event() {
                    if let Event::Message(m) = event {
                        black_box(&m);
                        messages += 1;
                        if recycle {
                            conn.recycle(m.into_bytes());
                        }
                    }
                }
            }
        }
        "frames-ws-proto" => {
            // The frame layer alone: header, payload, unmasked into a reused buffer.
            messages = ws_benches::frame_layer_ws_proto(&stream);
        }
        "frames-tungstenite" => {
            // tungstenite's frame layer (`FrameSocket`, which leaves payloads masked).
            messages = ws_benches::frame_layer_tungstenite(&stream);
        }
        "tungstenite" => {
            use tungstenite::protocol::{Role, WebSocket};
            let mut ws =
                WebSocket::from_raw_socket(MemStream(Cursor::new(stream)), Role::Server, None);
            for _ in 0..count {
                black_box(ws.read().expect("valid frames"));
                messages += 1;
            }
        }
        other => panic!("unknown mode {other}"),
    }
    assert_eq!(messages, count);
}
