//! Measures the DEFLATE backend candidates for permessage-deflate (RFC 7692): `zlib-rs` (the
//! one ws-proto uses) and `miniz_oxide` (what `flate2` uses with its default Rust backend).
//!
//! ```sh
//! cargo run --release -p ws-proto --example deflate_backends
//! ```
//!
//! Speeds are MB of uncompressed data per second of this thread's CPU time (so that other
//! load on the machine does not count). For each backend and level it compresses a stream of 16 KiB messages the way
//! permessage-deflate does (one DEFLATE stream with context takeover, a sync flush after each
//! message) and inflates them again, on text-like data (generated JSON) and binary-like data
//! (a generated 8-bit image); then it checks which window sizes each deflater honours, and
//! measures the resident memory of 500 connections (ws-proto over zlib-rs, and the bare
//! compressors) with and without context takeover. Results go to standard output as
//! Markdown tables; `docs/deflate.md` records them.

extern crate alloc;

use std::hint::black_box;
use std::time::Instant;

use miniz_oxide::deflate::core::{compress, CompressionStrategy, CompressorOxide, TDEFLFlush};
use miniz_oxide::inflate::stream::{inflate, InflateState};
use miniz_oxide::{DataFormat, MZFlush};
use ws_proto::extensions::deflate::DeflateParams;
use ws_proto::{Config, Connection, Event};

#[path = "../src/extensions/deflate/window_check.rs"]
mod window_check;
use window_check::within_window;

const MESSAGE: usize = 16 * 1024;
const TOTAL: usize = 16 << 20;

/// Generated JSON records: the kind of text WebSocket applications send.
fn text_like(len: usize) -> Vec<u8> {
    let mut rng = Rng(42);
    let names = [
        "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi",
    ];
    let words = [
        "update",
        "price",
        "quantity",
        "status",
        "open",
        "filled",
        "cancelled",
        "pending",
    ];
    let mut out = String::new();
    while out.len() < len {
        out.push_str(&format!(
            "{{\"id\":{},\"user\":\"{}\",\"event\":\"{}\",\"status\":\"{}\",\"price\":{}.{:02},\"ts\":{}}}\n",
            rng.next() % 1_000_000,
            names[rng.next() as usize % names.len()],
            words[rng.next() as usize % words.len()],
            words[rng.next() as usize % words.len()],
            rng.next() % 10_000,
            rng.next() % 100,
            1_700_000_000 + rng.next() % 100_000,
        ));
    }
    out.truncate(len);
    out.into_bytes()
}

/// Generated binary records, as a game or telemetry protocol sends them: a little-endian
/// sequence number, a type from a small set, an entity id, three coordinates that drift,
/// and a few flag bytes.
fn binary_like(len: usize) -> Vec<u8> {
    let mut rng = Rng(7);
    let mut out = Vec::with_capacity(len + 32);
    let mut pos = [1000.0f32, 2000.0, 50.0];
    let mut seq = 0u32;
    while out.len() < len {
        seq += 1;
        out.extend_from_slice(&seq.to_le_bytes());
        out.extend_from_slice(&[(rng.next() % 4) as u8, 0]);
        out.extend_from_slice(&((rng.next() % 64) as u16).to_le_bytes());
        for p in &mut pos {
            *p += (rng.next() % 100) as f32 / 100.0 - 0.5;
            out.extend_from_slice(&p.to_le_bytes());
        }
        out.extend_from_slice(&[0, 0, (rng.next() % 2) as u8, 0]);
    }
    out.truncate(len);
    out
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 >> 16
    }
}

/// One DEFLATE implementation, driven a step at a time like permessage-deflate drives it.
trait Backend {
    fn name(&self) -> String;
    /// Compresses from `input` into `output` with a sync flush: (consumed, produced).
    fn deflate_step(&mut self, input: &[u8], output: &mut [u8]) -> (usize, usize);
    /// Inflates from `input` into `output`: (consumed, produced).
    fn inflate_step(&mut self, input: &[u8], output: &mut [u8]) -> (usize, usize);
}

/// Runs `step` over all of `input`, appending to `out`, until the input is consumed and the
/// output had room to spare.
fn drive(
    mut input: &[u8],
    out: &mut Vec<u8>,
    room: usize,
    mut step: impl FnMut(&[u8], &mut [u8]) -> (usize, usize),
) {
    out.clear();
    loop {
        let len = out.len();
        out.resize(len + room, 0);
        let (consumed, produced) = step(input, &mut out[len..]);
        input = &input[consumed..];
        out.truncate(len + produced);
        if input.is_empty() && produced < room {
            return;
        }
    }
}

/// Compresses one message as permessage-deflate does: sync flush, trailer removed.
fn compress_message(backend: &mut dyn Backend, message: &[u8], out: &mut Vec<u8>) {
    drive(message, out, message.len() + 1024, |i, o| {
        backend.deflate_step(i, o)
    });
    out.truncate(out.len() - 4);
}

/// Inflates one message whose trailer has been appended.
fn inflate_message(backend: &mut dyn Backend, compressed: &[u8], out: &mut Vec<u8>) {
    drive(compressed, out, 64 * 1024, |i, o| {
        backend.inflate_step(i, o)
    });
}

struct ZlibRs {
    level: i32,
    deflate: zlib_rs::Deflate,
    inflate: zlib_rs::Inflate,
}

impl ZlibRs {
    fn new(level: i32, bits: u8) -> ZlibRs {
        ZlibRs {
            level,
            deflate: zlib_rs::Deflate::new(level, false, bits),
            inflate: zlib_rs::Inflate::new(false, 15),
        }
    }
}

impl Backend for ZlibRs {
    fn name(&self) -> String {
        format!("zlib-rs 0.6, level {}", self.level)
    }
    fn deflate_step(&mut self, input: &[u8], output: &mut [u8]) -> (usize, usize) {
        let (i, o) = (self.deflate.total_in(), self.deflate.total_out());
        self.deflate
            .compress(input, output, zlib_rs::DeflateFlush::SyncFlush)
            .unwrap();
        let d = &self.deflate;
        ((d.total_in() - i) as usize, (d.total_out() - o) as usize)
    }
    fn inflate_step(&mut self, input: &[u8], output: &mut [u8]) -> (usize, usize) {
        let (i, o) = (self.inflate.total_in(), self.inflate.total_out());
        self.inflate
            .decompress(input, output, zlib_rs::InflateFlush::SyncFlush)
            .unwrap();
        let d = &self.inflate;
        ((d.total_in() - i) as usize, (d.total_out() - o) as usize)
    }
}

struct Miniz {
    level: u8,
    deflate: Box<CompressorOxide>,
    inflate: Box<InflateState>,
}

impl Miniz {
    fn new(level: u8, bits: u8) -> Miniz {
        Miniz {
            level,
            deflate: Box::new(CompressorOxide::with_params(
                DataFormat::Raw,
                level,
                CompressionStrategy::Default,
                bits,
            )),
            inflate: InflateState::new_boxed(DataFormat::Raw),
        }
    }
}

impl Backend for Miniz {
    fn name(&self) -> String {
        format!("miniz_oxide 0.9, level {}", self.level)
    }
    fn deflate_step(&mut self, input: &[u8], output: &mut [u8]) -> (usize, usize) {
        let (_, consumed, produced) = compress(&mut self.deflate, input, output, TDEFLFlush::Sync);
        (consumed, produced)
    }
    fn inflate_step(&mut self, input: &[u8], output: &mut [u8]) -> (usize, usize) {
        let r = inflate(&mut self.inflate, input, output, MZFlush::Sync);
        (r.bytes_consumed, r.bytes_written)
    }
}

/// (compress MB/s, inflate MB/s, ratio) over `TOTAL` bytes of `data` in `MESSAGE`-byte messages.
fn speed(backend: &mut dyn Backend, data: &[u8]) -> (f64, f64, f64) {
    let messages: Vec<&[u8]> = data.chunks(MESSAGE).collect();
    let rounds = TOTAL / data.len();
    let mut compressed = Vec::new();
    let mut out = Vec::new();
    let started = CpuClock::now();
    for _ in 0..rounds {
        for m in &messages {
            compress_message(backend, m, &mut out);
            compressed.push(out.clone());
        }
    }
    let compress_secs = started.elapsed();
    let compressed_len: usize = compressed.iter().map(Vec::len).sum();
    let mut input = Vec::new();
    let started = CpuClock::now();
    for c in &compressed {
        input.clear();
        input.extend_from_slice(c);
        input.extend_from_slice(&[0, 0, 0xff, 0xff]);
        inflate_message(backend, &input, &mut out);
        black_box(&out);
    }
    let inflate_secs = started.elapsed();
    let mb = (rounds * data.len()) as f64 / 1e6;
    (
        mb / compress_secs,
        mb / inflate_secs,
        (rounds * data.len()) as f64 / compressed_len as f64,
    )
}

/// The CPU time this thread has run, from `/proc/thread-self/schedstat` (nanoseconds, Linux),
/// so that other load on the machine does not count; wall time where it is missing.
#[derive(Clone, Copy)]
enum CpuClock {
    Cpu(u64),
    Wall(Instant),
}

impl CpuClock {
    fn cpu_ns() -> Option<u64> {
        std::fs::read_to_string("/proc/thread-self/schedstat")
            .ok()?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    }

    fn now() -> CpuClock {
        Self::cpu_ns().map_or_else(|| CpuClock::Wall(Instant::now()), CpuClock::Cpu)
    }

    /// Seconds since `self`.
    fn elapsed(self) -> f64 {
        match self {
            CpuClock::Cpu(start) => (Self::cpu_ns().unwrap_or(start) - start) as f64 / 1e9,
            CpuClock::Wall(start) => start.elapsed().as_secs_f64(),
        }
    }
}

/// Resident set size of this process, in bytes (Linux).
fn rss() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

const CONNECTIONS: usize = 500;

/// The memory scenarios, each measured in a fresh process (memory freed by an earlier
/// measurement would otherwise be reused without showing in the resident set).
const SCENARIOS: &[(&str, &str)] = &[
    (
        "conn-15-takeover",
        "ws-proto connection, window 2^15, context takeover",
    ),
    (
        "conn-15-none",
        "ws-proto connection, window 2^15, no context takeover",
    ),
    (
        "conn-10-takeover",
        "ws-proto connection, window 2^10, context takeover",
    ),
    (
        "conn-10-none",
        "ws-proto connection, window 2^10, no context takeover",
    ),
    ("conn-off", "ws-proto connection without permessage-deflate"),
    (
        "zlib-rs",
        "bare zlib-rs compressor and decompressor, window 2^15, kept",
    ),
    (
        "miniz_oxide",
        "bare miniz_oxide compressor and decompressor, window 2^15, kept",
    ),
];

/// Resident bytes per connection in `scenario`, after each of `CONNECTIONS` server
/// connections has received and echoed one 4 KiB compressed message.
fn memory(scenario: &str) -> usize {
    let message = text_like(4096);
    let mut params = DeflateParams::default();
    let bits = if scenario.starts_with("conn-10") {
        Some(10)
    } else {
        None
    };
    params.server_max_window_bits = bits;
    params.client_max_window_bits = bits;
    params.server_no_context_takeover = scenario.ends_with("none");
    params.client_no_context_takeover = scenario.ends_with("none");
    let mut sender =
        Connection::client(Config::default(), || [1, 2, 3, 4], ws_proto::Instant::ZERO);
    if scenario != "conn-off" {
        sender = sender.with_deflate(params);
    }
    sender.send_binary(&message).unwrap();
    let mut wire = Vec::new();
    sender.poll_transmit(&mut wire);
    let mut out = Vec::new();
    let mut back = Vec::new();
    let before = rss();
    let mut servers = Vec::with_capacity(CONNECTIONS);
    let mut backends: Vec<Box<dyn Backend>> = Vec::with_capacity(CONNECTIONS);
    for _ in 0..CONNECTIONS {
        match scenario {
            "zlib-rs" | "miniz_oxide" => {
                let mut b: Box<dyn Backend> = if scenario == "zlib-rs" {
                    Box::new(ZlibRs::new(6, 15))
                } else {
                    Box::new(Miniz::new(6, 15))
                };
                compress_message(b.as_mut(), &message, &mut out);
                out.extend_from_slice(&[0, 0, 0xff, 0xff]);
                inflate_message(b.as_mut(), &out, &mut back);
                backends.push(b);
            }
            _ => {
                let mut server = Connection::server(Config::default(), ws_proto::Instant::ZERO);
                if scenario != "conn-off" {
                    server = server.with_deflate(params);
                }
                server.receive_data(&wire, ws_proto::Instant::ZERO).unwrap();
                while let Some(event) = server.poll_event() {
                    if let Event::Message(m) = event {
                        server.send_binary(m.as_bytes()).unwrap();
                    }
                }
                out.clear();
                server.poll_transmit(&mut out);
                servers.push(server);
            }
        }
    }
    rss().saturating_sub(before) / CONNECTIONS
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let [_, flag, scenario] = &args[..] {
        if flag == "--memory" {
            println!("{}", memory(scenario));
            return;
        }
    }
    let text = text_like(1 << 20);
    let binary = binary_like(1 << 20);
    println!(
        "Messages of {} KiB, {} MiB per measurement, context takeover, window 2^15.\n",
        MESSAGE / 1024,
        TOTAL >> 20
    );
    println!("| backend | text: compress MB/s | text: inflate MB/s | text ratio | binary: compress MB/s | binary: inflate MB/s | binary ratio |");
    println!("|---|---|---|---|---|---|---|");
    let mut candidates: Vec<Box<dyn Backend>> = vec![
        Box::new(ZlibRs::new(1, 15)),
        Box::new(Miniz::new(1, 15)),
        Box::new(ZlibRs::new(6, 15)),
        Box::new(Miniz::new(6, 15)),
    ];
    for backend in &mut candidates {
        let (tc, ti, tr) = speed(backend.as_mut(), &text);
        let (bc, bi, br) = speed(backend.as_mut(), &binary);
        println!(
            "| {} | {tc:.0} | {ti:.0} | {tr:.2} | {bc:.0} | {bi:.0} | {br:.2} |",
            backend.name()
        );
    }

    println!("\nWindow sizes honoured by the deflater (64 KiB of text, level 6, one message):\n");
    println!("| backend | 2^8 | 2^9 | 2^10 | 2^11 | 2^12 | 2^13 | 2^14 | 2^15 |");
    println!("|---|---|---|---|---|---|---|---|---|");
    let sample = text_like(64 * 1024);
    let mut zlib_row = String::from("| ws-proto on zlib-rs |");
    let mut miniz_row = String::from("| miniz_oxide (`with_params` window bits) |");
    for bits in 8..=15u8 {
        // ws-proto's own deflater, through a connection (2^8 is served with run-length matches).
        let mut params = DeflateParams::default();
        params.server_max_window_bits = Some(bits);
        let mut server =
            Connection::server(Config::default(), ws_proto::Instant::ZERO).with_deflate(params);
        server.send_binary(&sample).unwrap();
        let mut wire = Vec::new();
        server.poll_transmit(&mut wire);
        let header = if wire[1] == 127 { 10 } else { 4 };
        let ok = within_window(&wire[header..], bits, &sample);
        zlib_row.push_str(if ok { " yes |" } else { " **no** |" });
        let mut m = Miniz::new(6, bits);
        let mut out = Vec::new();
        compress_message(&mut m, &sample, &mut out);
        let ok = within_window(&out, bits, &sample);
        miniz_row.push_str(if ok { " yes |" } else { " **no** |" });
    }
    println!("{zlib_row}\n{miniz_row}");

    println!(
        "\nResident memory per connection ({CONNECTIONS} server connections, each one 4 KiB \
         message received and echoed; each row measured in a fresh process):\n"
    );
    println!("| what | KiB per connection |");
    println!("|---|---|");
    let exe = std::env::current_exe().expect("current_exe");
    for (scenario, label) in SCENARIOS {
        let output = std::process::Command::new(&exe)
            .args(["--memory", scenario])
            .output()
            .expect("run the memory scenario");
        let bytes: usize = String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse()
            .unwrap_or(0);
        println!("| {label} | {:.1} |", bytes as f64 / 1024.0);
    }
}
