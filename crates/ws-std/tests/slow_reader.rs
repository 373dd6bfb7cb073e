//! Partial writes (issue 11, point 4): a sender whose socket cannot take a large message at
//! once, because of a short write timeout or because it is non-blocking, gets
//! `WouldBlock`/`TimedOut` part-way through a frame, calls `flush` again until it succeeds and
//! goes on sending. Every byte must then arrive in order, or the connection must fail with an
//! error on both ends; it must never hang or deliver a damaged message.
//!
//! Real loopback sockets, both roles, compression off and on. The reader starts reading only
//! once the sender has stalled (a channel, not a sleep), so the first large frame is always
//! cut by a full socket. Every peer runs on its own thread and reports on a channel; the test
//! waits for the reports with a watchdog, so a hang fails the test instead of the suite.

use std::io;
use std::net::TcpListener;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread;
use std::time::{Duration, Instant};

use ws_std::ws_proto::{CloseCode, CloseFrame, Config};
use ws_std::{ClientBuilder, Error, MaybeTlsStream, Message, ServerBuilder, WebSocket};

/// Both ends: the client's stream type, and the server's TCP stream in it.
type Ws = WebSocket<MaybeTlsStream>;

/// The large messages: far more, together, than the loopback socket buffers hold.
const BIG: usize = 16 << 20;
const BIG_MESSAGES: usize = 3;
/// The further message sent after the large ones.
const LAST: usize = 1000;
/// The sender's write timeout.
const WRITE_TIMEOUT: Duration = Duration::from_millis(50);
/// Longest a test may take: past it, the test fails as a hang.
const WATCHDOG: Duration = Duration::from_secs(60);
/// Longest one `read` may take (one large message, or the closing handshake).
const READ_TIMEOUT: Duration = Duration::from_secs(15);
/// Longest a sender retries `flush` for one message before giving up.
const FLUSH_DEADLINE: Duration = Duration::from_secs(40);

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

/// What the sender sends, in order: the large messages, then a small one.
fn messages() -> Vec<Vec<u8>> {
    let mut messages: Vec<Vec<u8>> = (1..=BIG_MESSAGES as u64)
        .map(|seed| payload(seed, BIG))
        .collect();
    messages.push(payload(99, LAST));
    messages
}

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

fn config(deflate: bool) -> Config {
    let mut config = Config::default();
    config.deflate.enabled = deflate;
    config
}

// ----- The sender ---------------------------------------------------------------------------

/// How the sender's socket refuses to take more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stall {
    /// A blocking socket with a short write timeout.
    WriteTimeout,
    /// A non-blocking socket (set after the handshake).
    NonBlocking,
}

fn is_stall(error: &Error) -> bool {
    matches!(error, Error::Io(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut))
}

/// How the sender's run ended.
#[derive(Debug, PartialEq, Eq)]
enum End {
    /// Every message sent and the closing handshake completed.
    Done,
    /// The library reported an error (not a stall): a clean failure if the reader fails too.
    Failed(String),
    /// The test gave up (a flush that never succeeded): always a failure.
    Stuck(String),
}

/// What the sender reports.
#[derive(Debug)]
struct Sent {
    /// Every message it meant to send, in order.
    planned: Vec<Summary>,
    /// How many of them were sent (their last `flush` returned `Ok`).
    completed: usize,
    /// How many sends or flushes stopped with `WouldBlock`/`TimedOut`.
    stalls: usize,
    end: End,
}

/// A WebSocket whose socket stalls, and the reader's start signal.
struct Sending {
    ws: Ws,
    stall: Stall,
    /// Sent (once) at the first stall: the reader starts reading then.
    go: Option<Sender<()>>,
    stalls: usize,
}

impl Sending {
    fn new(ws: Ws, stall: Stall, go: Sender<()>) -> Sending {
        match stall {
            Stall::WriteTimeout => ws.get_ref().tcp().set_write_timeout(Some(WRITE_TIMEOUT)),
            Stall::NonBlocking => ws.get_ref().tcp().set_nonblocking(true),
        }
        .expect("socket option");
        Sending {
            ws,
            stall,
            go: Some(go),
            stalls: 0,
        }
    }

    /// Tells the reader to start (if not done yet).
    fn release_reader(&mut self) {
        if let Some(go) = self.go.take() {
            let _ = go.send(());
        }
    }

    /// Finishes a send, close or flush that may have stalled: calls `flush` again until it
    /// succeeds.
    fn finish(&mut self, mut result: Result<(), Error>) -> Result<(), End> {
        let deadline = Instant::now() + FLUSH_DEADLINE;
        loop {
            match result {
                Ok(()) => return Ok(()),
                Err(e) if is_stall(&e) => {
                    self.stalls += 1;
                    self.release_reader();
                    if Instant::now() > deadline {
                        return Err(End::Stuck(format!(
                            "flush still stalled after {FLUSH_DEADLINE:?} ({} stalls)",
                            self.stalls
                        )));
                    }
                    if self.stall == Stall::NonBlocking {
                        // No readiness wait on a std socket: back off briefly, then retry.
                        thread::sleep(Duration::from_millis(1));
                    }
                    result = self.ws.flush();
                }
                Err(e) => return Err(End::Failed(format!("{e}"))),
            }
        }
    }

    /// Reads until the peer's Close frame (the reply to ours), on a blocking socket.
    fn wait_for_close(&mut self) -> Result<Option<CloseFrame>, End> {
        if self.stall == Stall::NonBlocking {
            self.ws
                .get_ref()
                .tcp()
                .set_nonblocking(false)
                .expect("blocking");
        }
        self.ws.set_read_timeout(Some(READ_TIMEOUT));
        loop {
            match self.ws.read() {
                Ok(Message::Close(frame)) => return Ok(frame),
                Ok(Message::Ping(_) | Message::Pong(_)) => {}
                Ok(other) => return Err(End::Failed(format!("sender read {other:?}"))),
                Err(e) => return Err(End::Failed(format!("waiting for the Close reply: {e}"))),
            }
        }
    }
}

/// Sends [`messages`], finishing each stalled send with `flush` before the next, then closes
/// with 1000 "done" and waits for the reply.
fn send_all(ws: Ws, stall: Stall, go: Sender<()>) -> Sent {
    let messages = messages();
    let planned = messages.iter().map(|m| summary(m)).collect();
    let mut sending = Sending::new(ws, stall, go);
    let mut completed = 0;
    let mut run = || -> Result<(), End> {
        for message in &messages {
            let sent = sending.ws.send_binary(message);
            sending.finish(sent)?;
            completed += 1;
        }
        let closed = sending.ws.close(CloseCode::NORMAL, "done");
        sending.finish(closed)?;
        sending.wait_for_close()?;
        Ok(())
    };
    let end = run().err().unwrap_or(End::Done);
    sending.release_reader();
    Sent {
        planned,
        completed,
        stalls: sending.stalls,
        end,
    }
}

// ----- The reader ---------------------------------------------------------------------------

/// What the reader reports.
#[derive(Debug)]
struct Got {
    received: Vec<Summary>,
    /// The sender's Close frame, or the error that ended the reading.
    end: Result<Option<CloseFrame>, String>,
}

/// Waits for the sender's signal, then reads data messages until the Close frame.
fn read_all(mut ws: Ws, go: Receiver<()>) -> Got {
    let _ = go.recv_timeout(WATCHDOG);
    ws.set_read_timeout(Some(READ_TIMEOUT));
    let mut received = Vec::new();
    let end = loop {
        match ws.read() {
            Ok(Message::Binary(data)) => {
                received.push(summary(&data));
                ws.recycle(Message::Binary(data));
            }
            Ok(Message::Close(frame)) => break Ok(frame),
            Ok(Message::Ping(_) | Message::Pong(_)) => {}
            Ok(other) => break Err(format!("reader read {other:?}")),
            Err(e) => break Err(format!("{e}")),
        }
    };
    Got { received, end }
}

// ----- Wiring -------------------------------------------------------------------------------

/// Which end sends the large messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Server,
    Client,
}

/// What a peer thread does with its WebSocket once the handshake is done.
type Job = Box<dyn FnOnce(Ws) + Send>;

/// Runs `server_job` on a ws-std server and `client_job` on a ws-std client connected to it,
/// each on its own thread; both check that compression was (or was not) negotiated as their
/// configuration asks.
fn pair(server_config: Config, server_job: Job, client_config: Config, client_job: Job) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("ws://{}/", listener.local_addr().expect("local_addr"));
    thread::spawn(move || {
        let (stream, _) = listener.accept().expect("accept");
        let deflate = server_config.deflate.enabled;
        let ws = ServerBuilder::new()
            .config(server_config)
            .accept(MaybeTlsStream::from(stream))
            .expect("server handshake");
        assert_eq!(ws.connection().deflate_params().is_some(), deflate);
        server_job(ws);
    });
    thread::spawn(move || {
        let deflate = client_config.deflate.enabled;
        let (ws, _) = ClientBuilder::new(&url)
            .config(client_config)
            .connect()
            .expect("client handshake");
        assert_eq!(ws.connection().deflate_params().is_some(), deflate);
        client_job(ws);
    });
}

/// Waits for both peers' reports, at most [`WATCHDOG`] in all; the failure shows what each
/// one did.
fn reports<A: std::fmt::Debug, B: std::fmt::Debug>(
    a: &Receiver<A>,
    a_name: &str,
    b: &Receiver<B>,
    b_name: &str,
) -> (A, B) {
    let deadline = Instant::now() + WATCHDOG;
    let first = a.recv_timeout(deadline.saturating_duration_since(Instant::now()));
    let second = b.recv_timeout(deadline.saturating_duration_since(Instant::now()));
    match (first, second) {
        (Ok(first), Ok(second)) => (first, second),
        (first, second) => panic!(
            "watchdog: no report from both peers within {WATCHDOG:?}\n{a_name}: {}\n{b_name}: {}",
            describe(&first),
            describe(&second)
        ),
    }
}

/// A peer's report, cut to a readable length, or why there is none.
fn describe(report: &Result<impl std::fmt::Debug, RecvTimeoutError>) -> String {
    match report {
        Ok(report) => {
            let text = format!("{report:?}");
            text.chars().take(600).collect()
        }
        Err(RecvTimeoutError::Timeout) => "no report: it hangs".into(),
        Err(RecvTimeoutError::Disconnected) => "no report: its thread panicked".into(),
    }
}

/// The large messages, sent by `side` with its socket stalling as `stall`, to a reader that
/// starts only after the first stall.
fn large_messages(side: Side, deflate: bool, stall: Stall) {
    let (go_tx, go_rx) = mpsc::channel();
    let (sent_tx, sent_rx) = mpsc::channel();
    let (got_tx, got_rx) = mpsc::channel();
    let sender: Job = Box::new(move |ws| {
        let _ = sent_tx.send(send_all(ws, stall, go_tx));
    });
    let reader: Job = Box::new(move |ws| {
        let _ = got_tx.send(read_all(ws, go_rx));
    });
    match side {
        Side::Server => pair(config(deflate), sender, config(deflate), reader),
        Side::Client => pair(config(deflate), reader, config(deflate), sender),
    }
    let (got, sent) = reports(&got_rx, "reader", &sent_rx, "sender");
    check(&sent, &got);
}

/// Every byte arrived in order, or both ends failed with an error.
fn check(sent: &Sent, got: &Got) {
    let outcome = format!(
        "the sender sent {} of {} messages ({} stalls) and ended with {:?}; \
         the reader received {} and ended with {:?}",
        sent.completed,
        sent.planned.len(),
        sent.stalls,
        sent.end,
        got.received.len(),
        got.end
    );
    assert!(
        sent.stalls > 0,
        "the sender never stalled: no partial write was tested ({outcome})"
    );
    assert!(
        sent.planned.starts_with(&got.received),
        "damaged, lost or reordered messages: {outcome}\nsent {:?}\nreceived {:?}",
        sent.planned,
        got.received
    );
    if let End::Stuck(_) = sent.end {
        panic!("the sender is stuck: {outcome}");
    }
    if sent.completed < sent.planned.len() {
        // A clean failure: the reader fails too.
        assert!(got.end.is_err(), "only the sender failed: {outcome}");
        return;
    }
    // Every send reported success: every message arrived, then the Close frame.
    assert_eq!(
        got.received.len(),
        sent.planned.len(),
        "messages lost: {outcome}"
    );
    let done = CloseFrame {
        code: CloseCode::NORMAL,
        reason: "done".into(),
    };
    assert_eq!(got.end, Ok(Some(done)), "{outcome}");
    assert_eq!(sent.end, End::Done, "{outcome}");
}

// ----- Large messages -----------------------------------------------------------------------

#[test]
fn server_sends_large_messages_through_write_timeouts() {
    large_messages(Side::Server, false, Stall::WriteTimeout);
}

#[test]
fn server_sends_large_compressed_messages_through_write_timeouts() {
    large_messages(Side::Server, true, Stall::WriteTimeout);
}

#[test]
fn server_sends_large_messages_on_a_non_blocking_socket() {
    large_messages(Side::Server, false, Stall::NonBlocking);
}

#[test]
fn server_sends_large_compressed_messages_on_a_non_blocking_socket() {
    large_messages(Side::Server, true, Stall::NonBlocking);
}

#[test]
fn client_sends_large_messages_through_write_timeouts() {
    large_messages(Side::Client, false, Stall::WriteTimeout);
}

#[test]
fn client_sends_large_compressed_messages_through_write_timeouts() {
    large_messages(Side::Client, true, Stall::WriteTimeout);
}

#[test]
fn client_sends_large_messages_on_a_non_blocking_socket() {
    large_messages(Side::Client, false, Stall::NonBlocking);
}

#[test]
fn client_sends_large_compressed_messages_on_a_non_blocking_socket() {
    large_messages(Side::Client, true, Stall::NonBlocking);
}

// ----- Closing ------------------------------------------------------------------------------

/// The sender starts the closing handshake right after a send that stalled, before
/// finishing it with `flush`: the Close frame goes out after the whole message.
fn close_after_a_partial_write(side: Side) {
    const CODE: u16 = 4000;
    let (go_tx, go_rx) = mpsc::channel();
    let (sent_tx, sent_rx) = mpsc::channel();
    let (got_tx, got_rx) = mpsc::channel();
    let sender: Job = Box::new(move |ws| {
        let message = payload(7, BIG);
        let mut sending = Sending::new(ws, Stall::WriteTimeout, go_tx);
        let mut run = || -> Result<Option<CloseFrame>, End> {
            match sending.ws.send_binary(&message) {
                Err(e) if is_stall(&e) => {
                    sending.stalls += 1;
                    sending.release_reader();
                }
                other => sending.finish(other)?,
            }
            let closed = sending
                .ws
                .close(CloseCode::from(CODE), "after a partial write");
            sending.finish(closed)?;
            sending.wait_for_close()
        };
        let end = run();
        sending.release_reader();
        let _ = sent_tx.send((summary(&message), sending.stalls, end));
    });
    let reader: Job = Box::new(move |ws| {
        let _ = got_tx.send(read_all(ws, go_rx));
    });
    match side {
        Side::Server => pair(config(false), sender, config(false), reader),
        Side::Client => pair(config(false), reader, config(false), sender),
    }
    let (got, (sent, stalls, end)) = reports(&got_rx, "reader", &sent_rx, "sender");
    assert!(stalls > 0, "the sender never stalled: no partial write");
    assert_eq!(
        got.received,
        [sent],
        "the message did not arrive intact; the reader ended with {:?}, the sender with {end:?}",
        got.end
    );
    assert_eq!(
        got.end,
        Ok(Some(CloseFrame {
            code: CloseCode::from(CODE),
            reason: "after a partial write".into()
        }))
    );
    // The reply: the code echoed.
    assert!(
        matches!(&end, Ok(Some(frame)) if frame.code == CloseCode::from(CODE)),
        "{end:?}"
    );
}

#[test]
fn server_close_after_a_partial_write_follows_the_message() {
    close_after_a_partial_write(Side::Server);
}

#[test]
fn client_close_after_a_partial_write_follows_the_message() {
    close_after_a_partial_write(Side::Client);
}
