//! `ws bench`: a load generator for WebSocket echo servers.
//!
//! Opens `--connections` connections, keeps `--pipeline` messages in flight on each and
//! measures round trips for `--duration` seconds. It is built to cost the server's competitor
//! as little as possible, so that a fast server is not measured against a slow client:
//!
//! * the masked frames are built once (one random key per thread) and written from a shared
//!   buffer; nothing is allocated per message;
//! * after the handshake, connections are raw non-blocking sockets on a mio event loop (one per
//!   `--threads`), which holds ten thousand connections as easily as ten;
//! * replies are not reassembled: the loop decodes the frames with ws-proto's resumable
//!   [`ws_proto::frame::FrameDecoder`] and skips the payloads, so a 1 MiB echo costs the
//!   generator a few reads;
//! * one clock read per event-loop iteration timestamps every message sent and received in it;
//! * new messages go out in one write per connection per iteration.
//!
//! Latency is from queueing a message to receiving the end of its echo, recorded in a
//! log-linear histogram (1.6% resolution). `--rate` caps the total message rate (for mostly idle
//! connections); without it every echo immediately releases the next message.

use std::io::{self, IsTerminal, Read, Write};
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use ws_proto::frame::{encode_frame, Decoded, FrameDecoder, FrameHeader, OpCode};
use ws_proto::handshake::{ClientRequest, Limits, Status, Url};
use ws_std::ws_tls::pki_types::ServerName;

use crate::wire::{TlsClient, Wire};

/// Options of `ws bench`.
#[derive(Debug, clap::Args)]
pub(crate) struct BenchArgs {
    /// The ws:// or wss:// URL of an echo server.
    url: String,
    /// Trust the certificate authorities in this PEM file for wss:// (instead of the bundled
    /// Mozilla roots).
    #[arg(long, value_name = "FILE")]
    ca: Option<std::path::PathBuf>,
    /// Payload size of each message, in bytes.
    #[arg(long, default_value_t = 16)]
    size: usize,
    /// Number of connections.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Messages in flight on each connection.
    #[arg(long, default_value_t = 1)]
    pipeline: usize,
    /// Seconds to measure for (after all connections are open and the warm-up).
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Seconds of traffic before measuring starts.
    #[arg(long, default_value_t = 0.0)]
    warmup: f64,
    /// Event-loop threads; connections are spread over them.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Total messages per second over all connections; 0 sends as fast as echoes return.
    #[arg(long, default_value_t = 0.0)]
    rate: f64,
    /// Send text messages (ASCII) instead of binary ones.
    #[arg(long)]
    text: bool,
    /// Seconds allowed for opening all connections.
    #[arg(long, default_value_t = 30.0)]
    connect_timeout: f64,
    /// Print the result as one line of JSON on standard output instead of the table.
    #[arg(long)]
    json: bool,
}

/// Phases of a run, set by the main thread and read by the event loops.
const CONNECTING: u8 = 0;
const WARMUP: u8 = 1;
const MEASURING: u8 = 2;
const STOPPING: u8 = 3;

/// At most this many connections per thread are in their TCP or WebSocket handshake at once,
/// so that opening ten thousand does not overflow the server's accept backlog.
const MAX_CONNECTING: usize = 128;

/// Shared read buffer of each event loop.
const READ_BUFFER: usize = 256 * 1024;

/// Time allowed, after the run, for the closing handshakes.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// State shared between the main thread and the event loops.
struct Shared {
    phase: AtomicU8,
    /// Connections open (or failed) so far, over all threads.
    opened: AtomicU64,
    failed: AtomicU64,
    /// Echoes received while measuring, over all threads (for the progress bar).
    measured: AtomicU64,
}

pub(crate) fn run(args: &BenchArgs) -> Result<(), String> {
    if args.connections == 0 || args.threads == 0 || args.pipeline == 0 {
        return Err("--connections, --threads and --pipeline must be at least 1".into());
    }
    if !(args.duration > 0.0 && args.warmup >= 0.0 && args.rate >= 0.0) {
        return Err("--duration must be positive; --warmup and --rate not negative".into());
    }
    let url = Url::parse(&args.url).map_err(|e| format!("{}: {e}", args.url))?;
    let host = url.host().trim_start_matches('[').trim_end_matches(']');
    let tls = tls_client(args, &url, host)?;
    let addr = (host, url.port())
        .to_socket_addrs()
        .map_err(|e| format!("{}: {e}", args.url))?
        .next()
        .ok_or_else(|| format!("{}: no address", args.url))?;

    let shared = Arc::new(Shared {
        phase: AtomicU8::new(CONNECTING),
        opened: AtomicU64::new(0),
        failed: AtomicU64::new(0),
        measured: AtomicU64::new(0),
    });
    let threads = args.threads.min(args.connections);
    let mut handles = Vec::with_capacity(threads);
    for t in 0..threads {
        // Connections are spread as evenly as possible.
        let count = args.connections / threads + usize::from(t < args.connections % threads);
        let plan = Plan {
            addr,
            url: url.clone(),
            tls: tls.clone(),
            connections: count,
            size: args.size,
            opcode: if args.text {
                OpCode::Text
            } else {
                OpCode::Binary
            },
            pipeline: args.pipeline,
            rate: args.rate * count as f64 / args.connections as f64,
        };
        let shared = Arc::clone(&shared);
        let handle = thread::Builder::new()
            .name(format!("bench-{t}"))
            .spawn(move || EventLoop::new(plan, shared).and_then(EventLoop::run))
            .map_err(|e| format!("cannot start a thread: {e}"))?;
        handles.push(handle);
    }

    let progress = Progress::new(std::io::stderr().is_terminal());
    let total = args.connections as u64;
    let connect_deadline = Instant::now() + Duration::from_secs_f64(args.connect_timeout);
    // Wait for every connection to be open or to have failed.
    loop {
        let opened = shared.opened.load(Ordering::Relaxed);
        let failed = shared.failed.load(Ordering::Relaxed);
        progress.connecting(opened, failed, total);
        if opened + failed >= total || Instant::now() >= connect_deadline {
            break;
        }
        if handles.iter().all(|h| h.is_finished()) {
            break;
        }
        thread::sleep(Duration::from_millis(50));
    }
    if shared.opened.load(Ordering::Relaxed) == 0 {
        shared.phase.store(STOPPING, Ordering::SeqCst);
        let error = match join_all(handles) {
            Err(e) => e,
            Ok(stats) => stats
                .first_error
                .unwrap_or_else(|| "no connection opened in time".into()),
        };
        progress.clear();
        return Err(format!(
            "{}: no connection could be opened: {error}",
            args.url
        ));
    }
    shared.phase.store(WARMUP, Ordering::SeqCst);
    sleep_with_progress(&progress, Duration::from_secs_f64(args.warmup), |p, f| {
        p.phase("warm-up", f, 0.0)
    });
    shared.phase.store(MEASURING, Ordering::SeqCst);
    let started = Instant::now();
    let duration = Duration::from_secs_f64(args.duration);
    sleep_with_progress(&progress, duration, |p, f| {
        let messages = shared.measured.load(Ordering::Relaxed);
        let elapsed = started.elapsed().as_secs_f64().max(1e-9);
        p.phase("measuring", f, messages as f64 / elapsed)
    });
    shared.phase.store(STOPPING, Ordering::SeqCst);
    let elapsed = started.elapsed();
    progress.clear();

    let stats = join_all(handles)?;
    let report = Report {
        args,
        open: shared.opened.load(Ordering::Relaxed),
        failed: shared.failed.load(Ordering::Relaxed),
        seconds: elapsed.as_secs_f64(),
        stats,
    };
    if args.json {
        println!("{}", report.json());
    } else {
        print!("{}", report.table());
    }
    if report.stats.messages == 0 {
        return Err("no echo was received".into());
    }
    Ok(())
}

/// Sleeps for `total`, redrawing the progress bar a few times a second.
fn sleep_with_progress(progress: &Progress, total: Duration, draw: impl Fn(&Progress, f64)) {
    let start = Instant::now();
    loop {
        let elapsed = start.elapsed();
        if elapsed >= total {
            return;
        }
        draw(progress, elapsed.as_secs_f64() / total.as_secs_f64());
        thread::sleep((total - elapsed).min(Duration::from_millis(200)));
    }
}

type LoopResult = Result<Stats, String>;

/// Joins the event loops and merges their statistics.
fn join_all(handles: Vec<thread::JoinHandle<LoopResult>>) -> Result<Stats, String> {
    let mut total = Stats::default();
    let mut error = None;
    for handle in handles {
        match handle.join() {
            Ok(Ok(stats)) => total.merge(&stats),
            Ok(Err(e)) => error = Some(e),
            Err(_) => error = Some("an event-loop thread panicked".into()),
        }
    }
    match error {
        Some(e) if total.messages == 0 => Err(e),
        _ => Ok(total),
    }
}

/// The TLS client of a `wss://` URL (trusting `--ca` or the bundled roots, the host as the
/// server name); `None` for `ws://`.
fn tls_client(args: &BenchArgs, url: &Url, host: &str) -> Result<Option<TlsClient>, String> {
    use ws_std::ws_tls::client;
    if !url.secure() {
        return match args.ca {
            Some(_) => Err(format!("--ca is for wss:// URLs, not {}", args.url)),
            None => Ok(None),
        };
    }
    let roots = match &args.ca {
        Some(path) => client::roots_from_pem_file(path),
        None => Ok(client::bundled_roots()),
    };
    let config = roots
        .and_then(client::config)
        .map_err(|e| format!("TLS configuration: {e}"))?;
    let name = ServerName::try_from(host.to_owned())
        .map_err(|e| format!("{}: invalid TLS server name: {e}", args.url))?;
    Ok(Some(TlsClient { config, name }))
}

/// What one event loop is to do.
struct Plan {
    addr: SocketAddr,
    url: Url,
    /// For `wss://`.
    tls: Option<TlsClient>,
    connections: usize,
    size: usize,
    opcode: OpCode,
    pipeline: usize,
    /// Messages per second for this loop; 0 for closed-loop (as fast as echoes return).
    rate: f64,
}

/// Counters and the latency histogram of one event loop (merged at the end).
#[derive(Default)]
struct Stats {
    /// Echoes received while measuring.
    messages: u64,
    /// Echoes received in all, warm-up included (to divide the server's CPU time by).
    echoes: u64,
    /// Their payload bytes.
    bytes: u64,
    latency: Histogram,
    /// Connections that failed after opening (reset, closed by the server, protocol error).
    dropped: u64,
    first_error: Option<String>,
}

impl Stats {
    fn merge(&mut self, other: &Stats) {
        self.messages += other.messages;
        self.echoes += other.echoes;
        self.bytes += other.bytes;
        self.latency.merge(&other.latency);
        self.dropped += other.dropped;
        if self.first_error.is_none() {
            self.first_error.clone_from(&other.first_error);
        }
    }
}

/// A log-linear histogram of nanosecond values: exact below 128, then 64 buckets per power of
/// two (at most 1/64 relative error). Fixed size, so recording never allocates.
struct Histogram {
    counts: Box<[u64]>,
    count: u64,
    sum: u128,
    max: u64,
}

/// Sub-buckets per power of two, as a power of two.
const SUB_BITS: u32 = 6;
const SUB: usize = 1 << SUB_BITS;

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: vec![0; 2 * SUB + (63 - SUB_BITS as usize) * SUB].into_boxed_slice(),
            count: 0,
            sum: 0,
            max: 0,
        }
    }
}

impl Histogram {
    fn index(value: u64) -> usize {
        if value < 2 * SUB as u64 {
            return value as usize;
        }
        let msb = 63 - value.leading_zeros(); // at least SUB_BITS + 1
        let shift = msb - SUB_BITS;
        // Values in [2^msb, 2^(msb+1)) fall into SUB buckets of width 2^shift.
        2 * SUB + (shift as usize - 1) * SUB + ((value >> shift) as usize - SUB)
    }

    /// The middle of bucket `index`.
    fn value_at(index: usize) -> u64 {
        if index < 2 * SUB {
            return index as u64;
        }
        let shift = ((index - 2 * SUB) / SUB + 1) as u32;
        let sub = ((index - 2 * SUB) % SUB + SUB) as u64;
        (sub << shift) + (1 << shift) / 2
    }

    fn record(&mut self, nanos: u64) {
        self.counts[Self::index(nanos)] += 1;
        self.count += 1;
        self.sum += u128::from(nanos);
        self.max = self.max.max(nanos);
    }

    fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(other.counts.iter()) {
            *a += b;
        }
        self.count += other.count;
        self.sum += other.sum;
        self.max = self.max.max(other.max);
    }

    /// The value below which `quantile` of the recorded values fall.
    fn quantile(&self, quantile: f64) -> u64 {
        if self.count == 0 {
            return 0;
        }
        let rank = ((quantile * self.count as f64).ceil() as u64).clamp(1, self.count);
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Self::value_at(i).min(self.max);
            }
        }
        self.max
    }

    fn mean(&self) -> u64 {
        if self.count == 0 {
            0
        } else {
            (self.sum / u128::from(self.count)) as u64
        }
    }
}

/// Where a connection is.
enum Phase {
    /// TCP connect in progress; then the request is written from `request[written..]`.
    Handshake {
        handshake: Box<ClientRequest>,
        request: Vec<u8>,
        written: usize,
        response: Vec<u8>,
    },
    /// Exchanging messages.
    Open,
    /// Our Close frame is queued or sent; waiting for the server's.
    Closing,
    /// Finished (closed, failed, or given up on).
    Done,
}

/// One connection of an event loop.
struct Conn {
    stream: Wire,
    phase: Phase,
    /// Bytes of message frames queued and not yet written.
    unsent: usize,
    /// Offset of the next byte to write within the message frame.
    write_offset: usize,
    /// Bytes of the Close frame written (once the last message frame is out).
    close_written: usize,
    /// Queue times of the messages in flight, oldest first (a ring of `pipeline` slots).
    sent_at: Box<[Instant]>,
    oldest: usize,
    in_flight: usize,
    /// The server's frames, decoded across reads (payloads are skipped).
    decoder: FrameDecoder,
    /// Whether the current frame ends a message, or is a Close.
    frame_ends_message: bool,
    frame_is_close: bool,
}

/// An event loop: a share of the connections on one thread.
struct EventLoop {
    plan: Plan,
    shared: Arc<Shared>,
    poll: Poll,
    conns: Vec<Conn>,
    /// Copies of the masked message frame, back to back: writes of any number of messages start
    /// at `write_offset` and wrap.
    frames: Vec<u8>,
    frame_len: usize,
    /// The masked Close frame (status 1000).
    close_frame: Vec<u8>,
    read_buf: Box<[u8]>,
    stats: Stats,
    /// Connections not yet started (they are opened `MAX_CONNECTING` at a time).
    next_to_open: usize,
    connecting: usize,
    /// Rate mode: messages sent since `rate_start`, and the round-robin cursor.
    rate_sent: u64,
    rate_start: Option<Instant>,
    cursor: usize,
}

impl EventLoop {
    fn new(plan: Plan, shared: Arc<Shared>) -> Result<EventLoop, String> {
        let poll = Poll::new().map_err(|e| format!("cannot create an event loop: {e}"))?;
        let mut key = [0u8; 4];
        getrandom::fill(&mut key).map_err(|e| format!("no random numbers: {e}"))?;
        let payload: Vec<u8> = b"The quick brown fox jumps over the lazy dog. "
            .iter()
            .copied()
            .cycle()
            .take(plan.size)
            .collect();
        let mut frame = Vec::new();
        let header = |opcode| FrameHeader {
            fin: true,
            rsv: 0,
            opcode,
            mask: Some(key),
            payload_len: 0,
        };
        encode_frame(header(plan.opcode), &payload, &mut frame);
        let frame_len = frame.len();
        // Enough copies for a 64 KiB write, or for the whole pipeline of small messages.
        let copies = (64 * 1024 / frame_len).max(1);
        let frames = frame.repeat(copies);
        let mut close_frame = Vec::new();
        encode_frame(
            header(OpCode::Close),
            &1000u16.to_be_bytes(),
            &mut close_frame,
        );
        Ok(EventLoop {
            conns: Vec::with_capacity(plan.connections),
            plan,
            shared,
            poll,
            frames,
            frame_len,
            close_frame,
            read_buf: vec![0; READ_BUFFER].into_boxed_slice(),
            stats: Stats::default(),
            next_to_open: 0,
            connecting: 0,
            rate_sent: 0,
            rate_start: None,
            cursor: 0,
        })
    }

    fn run(mut self) -> LoopResult {
        let mut events = Events::with_capacity(1024);
        let mut stop_deadline = None;
        loop {
            let phase = self.shared.phase.load(Ordering::Relaxed);
            if phase == CONNECTING || phase == WARMUP {
                self.open_more();
            }
            if phase == STOPPING && stop_deadline.is_none() {
                stop_deadline = Some(Instant::now() + CLOSE_GRACE);
                self.start_closing();
            }
            if let Some(deadline) = stop_deadline {
                let all_done = self.conns.iter().all(|c| matches!(c.phase, Phase::Done));
                if all_done && self.next_to_open >= self.plan.connections
                    || Instant::now() >= deadline
                {
                    break;
                }
            }
            let mut timeout = Duration::from_millis(10);
            if self.plan.rate > 0.0 && phase != STOPPING {
                timeout = timeout.min(self.send_due(Instant::now()));
            }
            if let Err(e) = self.poll.poll(&mut events, Some(timeout)) {
                if e.kind() != io::ErrorKind::Interrupted {
                    return Err(format!("event loop: {e}"));
                }
            }
            // One clock read stamps everything this iteration sends and receives.
            let now = Instant::now();
            let measuring = self.shared.phase.load(Ordering::Relaxed) == MEASURING;
            let before = self.stats.messages;
            for event in events.iter() {
                let i = event.token().0;
                self.on_ready(i, now, measuring);
            }
            let got = self.stats.messages - before;
            if got > 0 {
                self.shared.measured.fetch_add(got, Ordering::Relaxed);
            }
        }
        if self.stats.first_error.is_none() && self.stats.dropped > 0 {
            self.stats.first_error = Some("connection lost".into());
        }
        Ok(self.stats)
    }

    /// Starts TCP connects, keeping at most `MAX_CONNECTING` in progress.
    fn open_more(&mut self) {
        while self.connecting < MAX_CONNECTING && self.next_to_open < self.plan.connections {
            self.next_to_open += 1;
            match self.start_connection() {
                Ok(()) => self.connecting += 1,
                Err(e) => self.connect_failed(e),
            }
        }
    }

    fn start_connection(&mut self) -> Result<(), String> {
        let tcp = TcpStream::connect(self.plan.addr).map_err(|e| e.to_string())?;
        let mut stream = Wire::new(tcp, self.plan.tls.as_ref()).map_err(|e| e.to_string())?;
        let token = Token(self.conns.len());
        self.poll
            .registry()
            .register(stream.tcp(), token, Interest::READABLE | Interest::WRITABLE)
            .map_err(|e| e.to_string())?;
        let handshake = ClientRequest::new(&self.plan.url, ws_proto::rng::nonce());
        let mut request = Vec::new();
        handshake.write_request(&mut request);
        self.conns.push(Conn {
            stream,
            phase: Phase::Handshake {
                handshake: Box::new(handshake),
                request,
                written: 0,
                response: Vec::new(),
            },
            unsent: 0,
            write_offset: 0,
            close_written: 0,
            sent_at: vec![Instant::now(); self.plan.pipeline].into_boxed_slice(),
            oldest: 0,
            in_flight: 0,
            decoder: FrameDecoder::new(),
            frame_ends_message: false,
            frame_is_close: false,
        });
        Ok(())
    }

    fn connect_failed(&mut self, error: String) {
        self.shared.failed.fetch_add(1, Ordering::Relaxed);
        if self.stats.first_error.is_none() {
            self.stats.first_error = Some(error);
        }
    }

    /// Handles readiness of connection `i`.
    fn on_ready(&mut self, i: usize, now: Instant, measuring: bool) {
        let result = match self.conns[i].phase {
            Phase::Handshake { .. } => self.drive_handshake(i, now, measuring),
            Phase::Open | Phase::Closing => self.drive_open(i, now, measuring),
            Phase::Done => Ok(()),
        };
        if let Err(error) = result {
            let conn = &mut self.conns[i];
            match conn.phase {
                Phase::Handshake { .. } => {
                    self.connecting -= 1;
                    self.connect_failed(error);
                }
                // The server closing the connection while we wait for its Close frame is fine.
                Phase::Closing => {}
                _ => {
                    self.stats.dropped += 1;
                    if self.stats.first_error.is_none() {
                        self.stats.first_error = Some(error);
                    }
                }
            }
            self.finish(i);
        }
    }

    fn finish(&mut self, i: usize) {
        let conn = &mut self.conns[i];
        conn.phase = Phase::Done;
        let _ = self.poll.registry().deregister(conn.stream.tcp());
        let _ = conn.stream.tcp().shutdown(std::net::Shutdown::Both);
    }

    fn drive_handshake(&mut self, i: usize, now: Instant, measuring: bool) -> Result<(), String> {
        let conn = &mut self.conns[i];
        let Phase::Handshake {
            handshake,
            request,
            written,
            response,
        } = &mut conn.phase
        else {
            return Ok(());
        };
        if let Some(e) = conn.stream.tcp().take_error().map_err(|e| e.to_string())? {
            return Err(e.to_string());
        }
        // A non-blocking connect is complete once the peer address is known.
        match conn.stream.tcp().peer_addr() {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotConnected => return Ok(()),
            Err(e) => return Err(e.to_string()),
        }
        while *written < request.len() {
            match conn.stream.write(&request[*written..]) {
                Ok(n) => *written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.to_string()),
            }
        }
        let mut buf = [0u8; 4096];
        loop {
            match conn.stream.read(&mut buf) {
                Ok(0) => return Err("the server closed the connection during the handshake".into()),
                Ok(n) => response.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.to_string()),
            }
        }
        let consumed = match handshake
            .parse_response(response, Limits::default())
            .map_err(|e| format!("handshake: {e}"))?
        {
            Status::Partial => return Ok(()),
            Status::Complete((_, consumed)) => consumed,
        };
        let leftover = response.split_off(consumed);
        conn.phase = Phase::Open;
        if let Err(e) = conn.stream.tcp().set_nodelay(true) {
            return Err(e.to_string());
        }
        self.connecting -= 1;
        self.shared.opened.fetch_add(1, Ordering::Relaxed);
        if self.plan.rate == 0.0 {
            // Closed loop: fill the pipeline.
            for _ in 0..self.plan.pipeline {
                self.conns[i].queue_message(self.frame_len, now);
            }
        }
        if !leftover.is_empty() {
            self.on_data(i, &leftover, now, measuring)?;
        }
        self.flush(i)
    }

    /// Reads everything available, handles the frames, then writes what is due.
    fn drive_open(&mut self, i: usize, now: Instant, measuring: bool) -> Result<(), String> {
        let mut buf = std::mem::take(&mut self.read_buf);
        let result = self.read_all(i, &mut buf, now, measuring);
        self.read_buf = buf;
        result?;
        if !matches!(self.conns[i].phase, Phase::Done) {
            self.flush(i)?;
        }
        Ok(())
    }

    fn read_all(
        &mut self,
        i: usize,
        buf: &mut [u8],
        now: Instant,
        measuring: bool,
    ) -> Result<(), String> {
        loop {
            match self.conns[i].stream.read(buf) {
                Ok(0) => {
                    return match self.conns[i].phase {
                        Phase::Closing => {
                            self.finish(i);
                            Ok(())
                        }
                        _ => Err("the server closed the connection".into()),
                    }
                }
                Ok(n) => {
                    self.on_data(i, &buf[..n], now, measuring)?;
                    if matches!(self.conns[i].phase, Phase::Done) {
                        return Ok(());
                    }
                    // A short read emptied the socket: with edge-triggered readiness, data
                    // arriving later raises a new event, so there is no need to read again
                    // until WouldBlock (not so over TLS: see `Wire::short_read_drains`).
                    if n < buf.len() && self.conns[i].stream.short_read_drains() {
                        return Ok(());
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.to_string()),
            }
        }
    }

    /// Parses server frames in `data`: headers are decoded, payloads skipped.
    fn on_data(
        &mut self,
        i: usize,
        mut data: &[u8],
        now: Instant,
        measuring: bool,
    ) -> Result<(), String> {
        while !data.is_empty() {
            let conn = &mut self.conns[i];
            let (used, decoded) = conn
                .decoder
                .decode(data)
                .map_err(|e| format!("bad frame: {e}"))?;
            data = &data[used..];
            let frame_done = match decoded {
                // Part of a header: the decoder keeps it.
                None => false,
                Some(Decoded::Header(header)) => {
                    conn.frame_ends_message = header.fin
                        && matches!(
                            header.opcode,
                            OpCode::Text | OpCode::Binary | OpCode::Continuation
                        );
                    conn.frame_is_close = header.opcode == OpCode::Close;
                    if measuring && header.opcode != OpCode::Close {
                        self.stats.bytes += header.payload_len;
                    }
                    header.payload_len == 0
                }
                // Payloads are skipped.
                Some(Decoded::Payload { last, .. }) => last,
            };
            if frame_done {
                self.end_of_frame(i, now, measuring);
            }
        }
        Ok(())
    }

    /// A frame from the server ended: an echo completes a message in flight.
    fn end_of_frame(&mut self, i: usize, now: Instant, measuring: bool) {
        let conn = &mut self.conns[i];
        if conn.frame_is_close {
            // The server's Close frame: the closing handshake is complete for us.
            if matches!(conn.phase, Phase::Closing) {
                self.finish(i);
            } else {
                self.stats.dropped += 1;
                if self.stats.first_error.is_none() {
                    self.stats.first_error = Some("the server sent a Close frame".into());
                }
                self.finish(i);
            }
            return;
        }
        if !conn.frame_ends_message || conn.in_flight == 0 {
            return;
        }
        let sent = conn.sent_at[conn.oldest];
        conn.oldest = (conn.oldest + 1) % conn.sent_at.len();
        conn.in_flight -= 1;
        self.stats.echoes += 1;
        if measuring {
            self.stats.messages += 1;
            let nanos = now.saturating_duration_since(sent).as_nanos();
            self.stats
                .latency
                .record(nanos.min(u128::from(u64::MAX)) as u64);
        }
        if self.plan.rate == 0.0 && matches!(conn.phase, Phase::Open) {
            conn.queue_message(self.frame_len, now);
        }
    }

    /// Writes queued message frames, then (when closing) the Close frame, until done or the
    /// socket is full.
    fn flush(&mut self, i: usize) -> Result<(), String> {
        let conn = &mut self.conns[i];
        while conn.unsent > 0 {
            let end = self.frames.len().min(conn.write_offset + conn.unsent);
            match conn.stream.write(&self.frames[conn.write_offset..end]) {
                Ok(n) => {
                    conn.unsent -= n;
                    conn.write_offset = (conn.write_offset + n) % self.frame_len;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.to_string()),
            }
        }
        if matches!(conn.phase, Phase::Closing) {
            while conn.close_written < self.close_frame.len() {
                match conn.stream.write(&self.close_frame[conn.close_written..]) {
                    Ok(n) => conn.close_written += n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e.to_string()),
                }
            }
        }
        Ok(())
    }

    /// Rate mode: sends the messages due by `now`, round robin over connections with room in
    /// their pipeline. Returns how long until the next one is due.
    fn send_due(&mut self, now: Instant) -> Duration {
        let start = *self.rate_start.get_or_insert(now);
        let due = (now.duration_since(start).as_secs_f64() * self.plan.rate) as u64;
        let mut budget = due.saturating_sub(self.rate_sent);
        let n = self.conns.len();
        let mut looked = 0;
        while budget > 0 && looked < n {
            let i = self.cursor % n;
            self.cursor = self.cursor.wrapping_add(1);
            looked += 1;
            let conn = &mut self.conns[i];
            if matches!(conn.phase, Phase::Open) && conn.in_flight < self.plan.pipeline {
                conn.queue_message(self.frame_len, now);
                budget -= 1;
                self.rate_sent += 1;
                looked = 0;
                if let Err(e) = self.flush(i) {
                    self.stats.dropped += 1;
                    if self.stats.first_error.is_none() {
                        self.stats.first_error = Some(e);
                    }
                    self.finish(i);
                }
            }
        }
        // Messages that found no free connection are skipped, not sent in a burst later.
        self.rate_sent = self.rate_sent.max(due);
        let next = (self.rate_sent + 1) as f64 / self.plan.rate;
        (start + Duration::from_secs_f64(next)).saturating_duration_since(now)
    }

    /// Stops sending messages and starts the closing handshake on every open connection.
    fn start_closing(&mut self) {
        // Connections still in their handshake are dropped.
        self.next_to_open = self.plan.connections;
        for i in 0..self.conns.len() {
            match self.conns[i].phase {
                Phase::Open => {
                    let conn = &mut self.conns[i];
                    // Finish the message frame being written; drop the ones not started.
                    conn.unsent = if conn.write_offset > 0 {
                        self.frame_len - conn.write_offset
                    } else {
                        0
                    };
                    conn.phase = Phase::Closing;
                    if self.flush(i).is_err() {
                        self.finish(i);
                    }
                }
                Phase::Handshake { .. } => self.finish(i),
                Phase::Closing | Phase::Done => {}
            }
        }
    }
}

impl Conn {
    /// Queues one message frame, stamped `now`.
    fn queue_message(&mut self, frame_len: usize, now: Instant) {
        let slot = (self.oldest + self.in_flight) % self.sent_at.len();
        self.sent_at[slot] = now;
        self.in_flight += 1;
        self.unsent += frame_len;
    }
}

/// The progress bar on standard error (only when it is a terminal).
struct Progress {
    enabled: bool,
}

impl Progress {
    fn new(enabled: bool) -> Progress {
        Progress { enabled }
    }

    fn connecting(&self, opened: u64, failed: u64, total: u64) {
        if self.enabled {
            let fraction = (opened + failed) as f64 / total as f64;
            let failed = if failed > 0 {
                format!(", {failed} failed")
            } else {
                String::new()
            };
            self.draw(
                "connecting",
                fraction,
                &format!("{opened}/{total} open{failed}"),
            );
        }
    }

    fn phase(&self, label: &str, fraction: f64, rate: f64) {
        if self.enabled {
            let text = if rate > 0.0 {
                format!("{:.0} msg/s", rate)
            } else {
                String::new()
            };
            self.draw(label, fraction, &text);
        }
    }

    fn draw(&self, label: &str, fraction: f64, text: &str) {
        const WIDTH: usize = 30;
        let filled = ((fraction.clamp(0.0, 1.0) * WIDTH as f64) as usize).min(WIDTH);
        let bar = format!("{}{}", "#".repeat(filled), "-".repeat(WIDTH - filled));
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K{label:<10} [{bar}] {text}");
        let _ = err.flush();
    }

    fn clear(&self) {
        if self.enabled {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
        }
    }
}

/// The final result.
struct Report<'a> {
    args: &'a BenchArgs,
    open: u64,
    failed: u64,
    seconds: f64,
    stats: Stats,
}

impl Report<'_> {
    fn rate(&self) -> f64 {
        self.stats.messages as f64 / self.seconds
    }

    fn megabytes(&self) -> f64 {
        self.stats.bytes as f64 / self.seconds / 1e6
    }

    fn table(&self) -> String {
        let a = self.args;
        let l = &self.stats.latency;
        let mut out = format!(
            "ws bench {}: {} B {} messages, {} connections ({} open, {} failed), pipeline {}{}, \
             {:.1} s\n",
            a.url,
            a.size,
            if a.text { "text" } else { "binary" },
            a.connections,
            self.open,
            self.failed,
            a.pipeline,
            if a.rate > 0.0 {
                format!(", rate {} msg/s", a.rate)
            } else {
                String::new()
            },
            self.seconds,
        );
        out += &format!(
            "{:>12} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10}\n",
            "messages/s", "MB/s", "mean", "p50", "p99", "p99.9", "max"
        );
        out += &format!(
            "{:>12.0} {:>10.2} {:>10} {:>10} {:>10} {:>10} {:>10}\n",
            self.rate(),
            self.megabytes(),
            format_nanos(l.mean()),
            format_nanos(l.quantile(0.5)),
            format_nanos(l.quantile(0.99)),
            format_nanos(l.quantile(0.999)),
            format_nanos(l.max),
        );
        if self.stats.dropped > 0 || self.failed > 0 {
            out += &format!(
                "{} connections failed to open, {} were lost; first error: {}\n",
                self.failed,
                self.stats.dropped,
                self.stats.first_error.as_deref().unwrap_or("-"),
            );
        }
        out
    }

    fn json(&self) -> String {
        let a = self.args;
        let l = &self.stats.latency;
        let error = self
            .stats
            .first_error
            .as_deref()
            .map_or("null".into(), |e| format!("{:?}", e));
        format!(
            "{{\"url\":{:?},\"size\":{},\"connections\":{},\"open\":{},\"failed\":{},\
             \"dropped\":{},\"pipeline\":{},\"rate\":{},\"seconds\":{:.3},\"messages\":{},\
             \"echoes_total\":{},\
             \"messages_per_s\":{:.1},\"mb_per_s\":{:.3},\"mean_us\":{:.1},\"p50_us\":{:.1},\
             \"p99_us\":{:.1},\"p999_us\":{:.1},\"max_us\":{:.1},\"error\":{}}}",
            a.url,
            a.size,
            a.connections,
            self.open,
            self.failed,
            self.stats.dropped,
            a.pipeline,
            a.rate,
            self.seconds,
            self.stats.messages,
            self.stats.echoes,
            self.rate(),
            self.megabytes(),
            l.mean() as f64 / 1e3,
            l.quantile(0.5) as f64 / 1e3,
            l.quantile(0.99) as f64 / 1e3,
            l.quantile(0.999) as f64 / 1e3,
            l.max as f64 / 1e3,
            error,
        )
    }
}

fn format_nanos(nanos: u64) -> String {
    match nanos {
        0..=999 => format!("{nanos} ns"),
        1_000..=999_999 => format!("{:.1} us", nanos as f64 / 1e3),
        _ => format!("{:.2} ms", nanos as f64 / 1e6),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_contiguous_and_tight() {
        let mut last = 0;
        for v in (0..5000u64).chain([1 << 20, (1 << 20) + 12345, 1 << 40, u64::MAX / 2]) {
            let i = Histogram::index(v);
            assert!(i >= last || v > 5000, "index not monotonic at {v}");
            last = i;
            let mid = Histogram::value_at(i);
            let error = mid.abs_diff(v) as f64 / v.max(1) as f64;
            assert!(error <= 1.0 / SUB as f64, "value {v}: bucket middle {mid}");
        }
        assert!(Histogram::index(u64::MAX) < Histogram::default().counts.len());
    }

    #[test]
    fn histogram_quantiles() {
        let mut h = Histogram::default();
        for v in 1..=1000u64 {
            h.record(v * 1000);
        }
        let p50 = h.quantile(0.5) as f64;
        assert!((p50 - 500_000.0).abs() / 500_000.0 < 0.02, "{p50}");
        let p999 = h.quantile(0.999) as f64;
        assert!((p999 - 999_000.0).abs() / 999_000.0 < 0.02, "{p999}");
        assert_eq!(h.max, 1_000_000);
    }
}
