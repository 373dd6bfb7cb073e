//! Partial writes (issue 11, point 4): a ws-mio connection sends large messages (tens of MiB
//! in all) to a ws-std peer that does not read yet, so the kernel takes only part of the
//! first frame and the rest waits in the connection's output. The peer starts reading once
//! the sender reports, from `Ctx::buffered_amount`, that output is left over; when the output
//! has drained, a final small message and the Close frame follow. Every byte must arrive in
//! order. Both roles (a ws-mio server, a ws-mio client from `Ctx::connect`), compression off
//! and on.
//!
//! The peer threads and the event loop report on channels; the test waits for the reports
//! with a watchdog, so a hang fails the test instead of the suite.

use std::net::TcpListener;
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread;
use std::time::{Duration, Instant};

use ws_mio::ws_proto::{CloseFrame, Config};
use ws_mio::{CloseCode, ConnId, Connect, Ctx, Error, Handler, Options, SendStatus, Server};

/// The large messages: far more, together, than the loopback socket buffers hold.
const BIG: usize = 16 << 20;
const BIG_MESSAGES: usize = 3;
/// The final message, sent once the output has drained.
const LAST: usize = 1000;
/// Longest a test may take: past it, the test fails as a hang.
const WATCHDOG: Duration = Duration::from_secs(60);
/// Longest one `read` of the ws-std peer may take.
const READ_TIMEOUT: Duration = Duration::from_secs(15);

// ----- Payloads -----------------------------------------------------------------------------

/// Deterministic bytes that do not compress (xorshift64), different for every seed: with
/// permessage-deflate the frames stay as large as the messages.
fn payload(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// The seeds of the large messages, then of the final one.
const SEEDS: [u64; BIG_MESSAGES] = [1, 2, 3];
const LAST_SEED: u64 = 99;

/// A message's length and checksum, to compare what was sent with what arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Summary {
    len: usize,
    checksum: u64,
}

/// FNV-1a over 8-byte words (cheap in debug builds): a lost, repeated or moved word changes
/// it.
fn summary(data: &[u8]) -> Summary {
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    for chunk in data.chunks(8) {
        let mut word = [0u8; 8];
        word[..chunk.len()].copy_from_slice(chunk);
        hash = (hash ^ u64::from_le_bytes(word)).wrapping_mul(0x0100_0000_01b3);
    }
    Summary {
        len: data.len(),
        checksum: hash,
    }
}

/// What the sender sends, in order.
fn planned() -> Vec<Summary> {
    SEEDS
        .iter()
        .map(|&seed| summary(&payload(seed, BIG)))
        .chain([summary(&payload(LAST_SEED, LAST))])
        .collect()
}

fn config(deflate: bool) -> Config {
    let mut config = Config::default();
    config.deflate.enabled = deflate;
    config
}

// ----- The ws-mio sender --------------------------------------------------------------------

/// What the event loop reports.
#[derive(Debug)]
enum Report {
    Error(String),
    Closed(u16),
}

/// Sends the large messages as soon as the connection opens, then tells the reader how much
/// output is left over; on drain, sends the final message and closes with 1000 "done".
struct Flood {
    /// The URL to connect to (client role), or `None` (server role).
    url: Option<String>,
    go: Option<Sender<usize>>,
    reports: Sender<Report>,
    last_sent: bool,
}

impl Handler for Flood {
    fn start(&mut self, ctx: &mut Ctx<'_>) {
        if let Some(url) = &self.url {
            ctx.connect(Connect::new(url.as_str())).expect("connect");
        }
    }

    fn open(&mut self, ctx: &mut Ctx<'_>, id: ConnId) {
        for seed in SEEDS {
            let status = ctx.send_binary(id, &payload(seed, BIG)).expect("send");
            assert!(
                matches!(status, SendStatus::Queued | SendStatus::Backpressure),
                "{status:?}"
            );
        }
        // The kernel took part of the first frame at most: the reader may start now.
        let buffered = ctx.buffered_amount(id).expect("open");
        if let Some(go) = self.go.take() {
            let _ = go.send(buffered);
        }
    }

    fn drain(&mut self, ctx: &mut Ctx<'_>, id: ConnId) {
        if !self.last_sent {
            self.last_sent = true;
            ctx.send_binary(id, &payload(LAST_SEED, LAST))
                .expect("send the last message");
            ctx.close(id, CloseCode::NORMAL, "done").expect("close");
        }
    }

    fn error(&mut self, _: &mut Ctx<'_>, _: ConnId, error: &Error) {
        let _ = self.reports.send(Report::Error(format!("{error}")));
    }

    fn close(&mut self, _: &mut Ctx<'_>, _: ConnId, code: CloseCode, _: &str) {
        let _ = self.reports.send(Report::Closed(code.as_u16()));
    }
}

// ----- The ws-std reader --------------------------------------------------------------------

/// What the reader reports.
#[derive(Debug)]
struct Got {
    /// The sender's buffered amount when it let the reader start.
    buffered: Option<usize>,
    received: Vec<Summary>,
    /// The sender's Close frame, or the error that ended the reading.
    end: Result<Option<CloseFrame>, String>,
}

/// Waits for the sender's signal, then reads data messages until the Close frame.
fn read_all<S: ws_std::Transport>(
    mut ws: ws_std::WebSocket<S>,
    deflate: bool,
    go: Receiver<usize>,
) -> Got {
    assert_eq!(ws.connection().deflate_params().is_some(), deflate);
    let buffered = go.recv_timeout(WATCHDOG).ok();
    ws.set_read_timeout(Some(READ_TIMEOUT));
    let mut received = Vec::new();
    let end = loop {
        match ws.read() {
            Ok(ws_std::Message::Binary(data)) => {
                received.push(summary(&data));
                ws.recycle(ws_std::Message::Binary(data));
            }
            Ok(ws_std::Message::Close(frame)) => break Ok(frame),
            Ok(ws_std::Message::Ping(_) | ws_std::Message::Pong(_)) => {}
            Ok(other) => break Err(format!("reader read {other:?}")),
            Err(e) => break Err(format!("{e}")),
        }
    };
    Got {
        buffered,
        received,
        end,
    }
}

// ----- Checks -------------------------------------------------------------------------------

/// Waits for the reader's report and the close of the ws-mio connection, at most
/// [`WATCHDOG`] in all; then checks that every message arrived in order.
fn check(got: &Receiver<Got>, reports: &Receiver<Report>) {
    let deadline = Instant::now() + WATCHDOG;
    let got = match got.recv_timeout(WATCHDOG) {
        Ok(got) => got,
        Err(e) => {
            let seen: Vec<Report> = reports.try_iter().collect();
            panic!("watchdog: no report from the reader within {WATCHDOG:?} ({e:?}); the event loop reported {seen:?}")
        }
    };
    let buffered = got.buffered.expect("the sender never let the reader start");
    assert!(
        buffered > 0,
        "the kernel took every message at once: no partial write was tested"
    );
    let planned = planned();
    let outcome = format!(
        "{} bytes were left over when the reader started; it received {} of {} messages and \
         ended with {:?}",
        buffered,
        got.received.len(),
        planned.len(),
        got.end
    );
    for (i, (received, planned)) in got.received.iter().zip(&planned).enumerate() {
        assert_eq!(received, planned, "message {i} arrived damaged: {outcome}");
    }
    assert_eq!(got.received.len(), planned.len(), "{outcome}");
    let done = CloseFrame {
        code: CloseCode::NORMAL,
        reason: "done".into(),
    };
    assert_eq!(got.end, Ok(Some(done)), "{outcome}");
    // The ws-mio side saw the closing handshake complete, without an error.
    match reports.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        Ok(Report::Closed(code)) => assert_eq!(code, 1000),
        Ok(Report::Error(e)) => panic!("the event loop reported an error: {e}"),
        Err(e) => panic!("the event loop did not report the close ({e:?})"),
    }
}

// ----- Tests --------------------------------------------------------------------------------

/// A ws-mio server floods a ws-std client that starts reading late.
fn server_sends(deflate: bool) {
    let (go_tx, go_rx) = mpsc::channel();
    let (report_tx, report_rx) = mpsc::channel();
    let mut options = Options::default();
    options.config = config(deflate);
    let server = Server::bind("127.0.0.1:0", options, move |_| Flood {
        url: None,
        go: Some(go_tx.clone()),
        reports: report_tx.clone(),
        last_sent: false,
    })
    .expect("bind");
    let url = format!("ws://{}/", server.local_addr().expect("local_addr"));
    let _running = server.spawn().expect("spawn");

    let (got_tx, got_rx) = mpsc::channel();
    thread::spawn(move || {
        let (ws, _) = ws_std::ClientBuilder::new(&url)
            .config(config(deflate))
            .connect()
            .expect("client handshake");
        let _ = got_tx.send(read_all(ws, deflate, go_rx));
    });
    check(&got_rx, &report_rx);
}

/// A ws-mio client (`Ctx::connect`) floods a ws-std server that starts reading late.
fn client_sends(deflate: bool) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("ws://{}/", listener.local_addr().expect("local_addr"));
    let (go_tx, go_rx) = mpsc::channel();
    let (got_tx, got_rx) = mpsc::channel();
    thread::spawn(move || {
        let (stream, _) = listener.accept().expect("accept");
        let ws = ws_std::ServerBuilder::new()
            .config(config(deflate))
            .accept(stream)
            .expect("server handshake");
        let _ = got_tx.send(read_all(ws, deflate, go_rx));
    });

    let (report_tx, report_rx) = mpsc::channel();
    let mut options = Options::default();
    options.config = config(deflate);
    let client = Server::new(options, move |_| Flood {
        url: Some(url.clone()),
        go: Some(go_tx.clone()),
        reports: report_tx.clone(),
        last_sent: false,
    })
    .expect("event loop");
    let _running = client.spawn().expect("spawn");
    check(&got_rx, &report_rx);
}

#[test]
fn server_sends_large_messages_to_a_slow_reader() {
    server_sends(false);
}

#[test]
fn server_sends_large_compressed_messages_to_a_slow_reader() {
    server_sends(true);
}

#[test]
fn client_sends_large_messages_to_a_slow_reader() {
    client_sends(false);
}

#[test]
fn client_sends_large_compressed_messages_to_a_slow_reader() {
    client_sends(true);
}
