//! Compression ratio and speed of each permessage-deflate preset on chat-like JSON.
//!
//! A server configured with each [`DeflatePreset`] negotiates with a browser's offer
//! (`permessage-deflate; client_max_window_bits`) through the public handshake API; then a
//! client connection sends a stream of messages and the server echoes each one, both ends in
//! this process. Two workloads: `chat`, single chat events of 80 to 300 bytes (a live room),
//! and `history`, JSON arrays of such events of about 2 KiB (a page of history). Reported per
//! direction: the ratio of message bytes to wire bytes (frame headers included), and the
//! round trips per second (client compresses, server inflates, server compresses, client
//! inflates), best of five rounds so that other load on the machine counts least.
//!
//! ```sh
//! cargo run --release -p ws-proto --example deflate_presets
//! ```

use std::time::Instant as Clock;

use ws_proto::extensions::deflate::{DeflateConfig, DeflatePreset};
use ws_proto::handshake::{HttpRequest, Limits};
use ws_proto::{Config, Connection, Event, Instant, Message};

const MESSAGES: usize = 4000;
const ROUNDS: usize = 5;

/// A small deterministic generator (64-bit LCG, high bits).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) as usize) % below
    }
}

const WORDS: &[&str] = &[
    "hello", "there", "anyone", "up", "for", "lunch", "today", "the", "new", "build", "is",
    "green", "again", "please", "review", "my", "change", "when", "you", "have", "a", "minute",
    "thanks", "see", "at", "standup", "deploy", "looks", "good", "ship", "it", "merged",
];

fn event(rng: &mut Lcg, id: usize) -> String {
    let words: Vec<&str> = (0..4 + rng.next(30))
        .map(|_| WORDS[rng.next(WORDS.len())])
        .collect();
    format!(
        r#"{{"type":"message","room":"general","id":{id},"user":"user{}","ts":{},"text":"{}"}}"#,
        rng.next(200),
        1_764_600_000 + id * 3 + rng.next(3),
        words.join(" ")
    )
}

fn workload(name: &str) -> Vec<String> {
    let mut rng = Lcg(7);
    (0..MESSAGES)
        .map(|i| match name {
            "chat" => event(&mut rng, i),
            _ => {
                let mut page = String::from("[");
                let mut j = 0;
                while page.len() < 2000 {
                    if j > 0 {
                        page.push(',');
                    }
                    page.push_str(&event(&mut rng, i * 100 + j));
                    j += 1;
                }
                page.push(']');
                page
            }
        })
        .collect()
}

/// The server's answer to a browser's offer under `server`, as connections on both ends.
fn pair(server: &DeflateConfig) -> (Connection, Connection, String) {
    let request = b"GET / HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
        Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
        Sec-WebSocket-Version: 13\r\n\
        Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n";
    let (head, _) = HttpRequest::parse(request, Limits::default())
        .expect("a valid request")
        .complete()
        .expect("a whole request");
    let request = head.into_websocket().expect("a WebSocket request");
    let (_, params) = server
        .negotiate(&request, request.accept())
        .expect("negotiated");
    let mut server_config = Config::default();
    server_config.deflate = server.clone();
    let mut s = Connection::server(server_config, Instant::ZERO);
    let mut c = Connection::client(Config::default(), || [1, 2, 3, 4], Instant::ZERO);
    let agreed = match params {
        Some(p) => {
            s = s.with_deflate(p);
            c = c.with_deflate(p);
            p.to_extension().to_string()
        }
        None => "none".into(),
    };
    (c, s, agreed)
}

/// Moves everything `from` has queued into `to`; returns the wire bytes and the message.
fn hop(from: &mut Connection, to: &mut Connection, wire: &mut Vec<u8>) -> (usize, Message) {
    wire.clear();
    while from.poll_transmit(wire).is_some() {}
    to.receive_data(wire, Instant::ZERO).expect("valid frames");
    match to.poll_event() {
        Some(Event::Message(m)) => (wire.len(), m),
        other => panic!("expected a message, got {other:?}"),
    }
}

struct Figures {
    raw: usize,
    up: usize,
    down: usize,
    seconds: f64,
}

fn run(server: &DeflateConfig, messages: &[String]) -> Figures {
    let (mut c, mut s, _) = pair(server);
    let mut wire = Vec::new();
    let (mut raw, mut up, mut down) = (0, 0, 0);
    let start = Clock::now();
    for text in messages {
        c.send_text(text).expect("open");
        let (n, message) = hop(&mut c, &mut s, &mut wire);
        up += n;
        s.send(message).expect("open");
        let (n, echo) = hop(&mut s, &mut c, &mut wire);
        down += n;
        raw += text.len();
        debug_assert_eq!(echo, Message::Text(text.clone()));
        c.recycle(echo.into_bytes());
    }
    Figures {
        raw,
        up,
        down,
        seconds: start.elapsed().as_secs_f64(),
    }
}

fn main() {
    let presets = [
        ("off", DeflatePreset::Off),
        ("shared", DeflatePreset::Shared),
        ("balanced", DeflatePreset::Balanced),
        ("small-windows", DeflatePreset::SmallWindows),
        ("full", DeflatePreset::Full),
    ];
    println!(
        "{:<10} {:<14} {:>10} {:>10} {:>14} {:>10}   agreed",
        "workload", "preset", "ratio c>s", "ratio s>c", "round trips/s", "MB/s"
    );
    for name in ["chat", "history"] {
        let messages = workload(name);
        for (label, preset) in presets {
            let config = DeflateConfig::preset(preset);
            let agreed = pair(&config).2;
            let mut best: Option<Figures> = None;
            for _ in 0..ROUNDS {
                let f = run(&config, &messages);
                if best.as_ref().is_none_or(|b| f.seconds < b.seconds) {
                    best = Some(f);
                }
            }
            let f = best.expect("at least one round");
            println!(
                "{:<10} {:<14} {:>10.2} {:>10.2} {:>14.0} {:>10.1}   {}",
                name,
                label,
                f.raw as f64 / f.up as f64,
                f.raw as f64 / f.down as f64,
                messages.len() as f64 / f.seconds,
                f.raw as f64 / f.seconds / 1e6,
                agreed
            );
        }
    }
}
