//! A client and a server `Connection` wired together through in-memory pipes, with a simulated
//! clock, driven by an arbitrary script of operations (the `connection_pair` target).
//!
//! The harness is the adapter of the calling contract: after every input or command it takes
//! the events, then the output, then runs any timer that is due. It keeps a model of what
//! each end sent and checks what the other end receives:
//!
//! * data messages arrive complete, intact and in order, within the receiver's limits;
//! * application Pings arrive in order (keepalive Pings, which are empty, may come between);
//! * a Close event carries the code the sender wrote (its application's code, the code of the
//!   error that failed it, or the echo of the receiver's own code), and everything sent before
//!   it has arrived;
//! * between two well-behaved ends the only errors are the ones the script can cause: a
//!   message over the receiver's limit (1009), and as ends (`Event::Closed`), timeouts and end
//!   of stream after the other end failed;
//! * `Event::Closed` comes once, as the last event, with a cause that matches what happened
//!   (the error returned, the closing handshake and who started it, a timeout, a lost
//!   transport) and the code and reason of the peer's Close frame after a closing handshake;
//! * commands succeed exactly when the state allows them, and a refused command queues nothing;
//! * each end's output, taken with `poll_transmit` or with vectored writes of
//!   `transmit_slices` that the transport takes in part (`PeerConfig::writes`), decodes with a
//!   `FrameDecoder` as whole frames, masked by clients only, nothing after a Close frame, and
//!   the transport is closed only on a frame boundary;
//! * once all bytes are delivered and the timers have run, a connection whose closing
//!   handshake started is closed at both ends.
//!
//! `Op::Inject` lets an end write raw bytes, which turns the checks of that direction off.

use std::collections::VecDeque;
use std::time::Duration;

use arbitrary::Arbitrary;
use ws_proto::frame::OpCode;
use ws_proto::{
    CloseCause, CloseCode, CloseFrame, Closed, Config, Connection, DataKind, Event, Instant,
    Message, MessageMode, ProtocolError, Role, SendError, State, Transmit,
};

use crate::{check_event, counter_keys, deflate_params, Output, WireDecoder, WireFrame, Writer};

/// Which end an operation applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Arbitrary)]
pub enum Side {
    /// The client connection.
    Client,
    /// The server connection.
    Server,
}

/// Per-end settings drawn from the input.
#[derive(Debug, Clone, Arbitrary)]
pub struct PeerConfig {
    max_message: Option<u16>,
    max_frame: Option<u16>,
    stream: bool,
    auto_pong: bool,
    keepalive_ms: Option<u16>,
    keepalive_timeout_ms: Option<u16>,
    close_timeout_ms: Option<u16>,
    /// The end writes its output with partial vectored writes of these sizes
    /// (`crate::Writer`); without, with `poll_transmit`.
    writes: Option<Vec<u8>>,
}

impl PeerConfig {
    fn output(&self) -> Output {
        match &self.writes {
            Some(seed) => Output::Vectored(Writer::new(seed)),
            None => Output::PollTransmit,
        }
    }

    fn config(&self) -> Config {
        let mut c = Config::default();
        if let Some(m) = self.max_message {
            c.max_message_size = usize::from(m);
        }
        if let Some(f) = self.max_frame {
            c.max_frame_size = usize::from(f);
        }
        if self.stream {
            c.message_mode = MessageMode::Stream;
        }
        c.auto_pong = self.auto_pong;
        c.keepalive_interval = self.keepalive_ms.map(|ms| ms_to_duration(ms.into()));
        c.keepalive_timeout = self
            .keepalive_timeout_ms
            .map(|ms| ms_to_duration(ms.into()));
        c.close_timeout = self.close_timeout_ms.map(|ms| ms_to_duration(ms.into()));
        c
    }
}

fn ms_to_duration(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

/// One step of the script.
#[derive(Debug, Clone, Arbitrary)]
pub enum Op {
    /// Deliver up to this many bytes of what the client wrote to the server.
    ServerRecvChunk(u16),
    /// Deliver up to this many bytes of what the server wrote to the client.
    ClientRecvChunk(u16),
    /// Deliver up to this many bytes of what this side wrote to its peer the way an adapter
    /// reading large payloads in place does: into `receive_buffer` when the peer offers room,
    /// else through `receive_data`.
    RecvInPlace(Side, u32),
    /// The application sends a text message.
    SendText(Side, String),
    /// The application sends a binary message.
    SendBinary(Side, Vec<u8>),
    /// The application hands over a message it owns (`Connection::send`), as the adapters
    /// send: `data` (lossily decoded for text) repeated to about `len` bytes (at most 256 KiB,
    /// see `owned_message`), so that payloads of 16 KiB and more, queued without a copy, and
    /// frames large enough for `receive_buffer` are common.
    SendOwned {
        /// The sending end.
        side: Side,
        /// Text (else binary).
        text: bool,
        /// What the payload repeats.
        data: Vec<u8>,
        /// The payload length.
        len: u32,
    },
    /// The application sends one fragment. Text fragments carry the (lossily decoded) text
    /// up to byte `cut`, which may fall inside a character; the rest goes with later
    /// fragments, so every whole message is valid UTF-8.
    SendFragment {
        /// The sending end.
        side: Side,
        /// Text (else binary).
        text: bool,
        /// The payload.
        data: Vec<u8>,
        /// Where to cut a text fragment.
        cut: u16,
        /// Whether this ends the message.
        fin: bool,
    },
    /// The application sends a Ping.
    Ping(Side, Vec<u8>),
    /// The application sends a Pong.
    Pong(Side, Vec<u8>),
    /// The application starts the closing handshake.
    Close(Side, u16, String),
    /// The clock moves forward this many milliseconds (at most about a minute).
    AdvanceTime(u32),
    /// The end writes raw bytes to its peer: a misbehaving peer.
    Inject(Side, Vec<u8>),
}

/// The whole input of the target.
#[derive(Debug, Clone, Arbitrary)]
pub struct Script {
    /// Client settings.
    pub client: PeerConfig,
    /// Server settings.
    pub server: PeerConfig,
    /// permessage-deflate negotiated with these parameters (`crate::deflate_params`), with
    /// every message compressed.
    pub deflate: Option<u8>,
    /// The operations, in order.
    pub ops: Vec<Op>,
}

/// How a run ended, for tests of the harness itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Data messages checked against the sender's model, both directions.
    pub delivered: usize,
    /// Final states of the client and the server.
    pub states: [State; 2],
    /// Errors the client and the server returned from an input.
    pub errors: [Option<ProtocolError>; 2],
    /// How the client and the server ended, if they did.
    pub causes: [Option<CloseCause>; 2],
    /// Bytes delivered into `receive_buffer`, both directions.
    pub in_place: usize,
}

/// How an end's Close frame came to be written.
#[derive(Debug, Clone, PartialEq, Eq)]
enum CloseSent {
    /// By the application.
    App(CloseFrame),
    /// To fail the connection.
    Failure(CloseCode),
    /// In reply to the peer's Close frame.
    Echo(Option<CloseCode>),
}

/// One end: the connection, the bytes it wrote that the peer has not read, and the model of
/// what it sent.
struct End {
    conn: Connection,
    config: Config,
    /// How the output is taken.
    output: Output,
    /// Written by this end, not yet delivered to the peer.
    wire: VecDeque<u8>,
    /// The connection's output as written, decoded.
    written: WireDecoder,
    /// A Close frame was written.
    wrote_close: bool,
    /// The transport is to be closed (`Transmit::Shutdown`, `should_close_transport`): it
    /// closes once `wire` is delivered, and this end reads nothing more.
    shut: bool,
    /// End of stream was delivered to this end.
    eof: bool,
    error: Option<ProtocolError>,
    /// Bytes delivered to this end and events it produced (no amplification).
    bytes_in: usize,
    /// Of them, bytes delivered into `receive_buffer`.
    in_place: usize,
    events_in: usize,
    /// Data messages received and checked.
    delivered: usize,
    /// Stream mode: the message being received.
    receiving: Option<(DataKind, Vec<u8>)>,

    // What this end sent, for the peer to check.
    sent_messages: VecDeque<Message>,
    sent_pings: VecDeque<Vec<u8>>,
    /// The fragmented message being sent: its kind and payload so far.
    building: Option<(DataKind, Vec<u8>)>,
    /// Text not yet sent in a fragment.
    text_carry: Vec<u8>,
    close_sent: Option<CloseSent>,
    /// The peer's Close frame, once it was received.
    close_received: Option<Option<CloseFrame>>,
    /// The end of the connection, once reported.
    closed: Option<Closed>,
    /// A frame or message this end sent exceeds the peer's limits: the peer may fail with 1009.
    sent_too_big: bool,
    /// Raw bytes were written on this end's wire: the peer may see anything.
    injected: bool,
}

impl End {
    fn new(conn: Connection, config: Config, output: Output) -> End {
        End {
            conn,
            config,
            output,
            wire: VecDeque::new(),
            written: WireDecoder::default(),
            wrote_close: false,
            shut: false,
            eof: false,
            error: None,
            bytes_in: 0,
            in_place: 0,
            events_in: 0,
            delivered: 0,
            receiving: None,
            sent_messages: VecDeque::new(),
            sent_pings: VecDeque::new(),
            building: None,
            text_carry: Vec::new(),
            close_sent: None,
            close_received: None,
            closed: None,
            sent_too_big: false,
            injected: false,
        }
    }
}

/// The two ends and the clock.
pub struct Pair {
    client: End,
    server: End,
    now: Instant,
}

impl Pair {
    /// A pair with the script's settings.
    pub fn new(script: &Script) -> Pair {
        let now = Instant::ZERO;
        let mut cc = script.client.config();
        let mut sc = script.server.config();
        let mut client = Connection::client(cc.clone(), counter_keys(1), now);
        let mut server = Connection::server(sc.clone(), now);
        if let Some(b) = script.deflate {
            cc.deflate.min_size = 0;
            sc.deflate.min_size = 0;
            let params = deflate_params(b);
            client = Connection::client(cc.clone(), counter_keys(1), now).with_deflate(params);
            server = Connection::server(sc.clone(), now).with_deflate(params);
        }
        Pair {
            client: End::new(client, cc, script.client.output()),
            server: End::new(server, sc, script.server.output()),
            now,
        }
    }

    /// Runs the script, then delivers everything, runs the timers and checks the end state.
    pub fn run(script: &Script) -> Summary {
        let mut pair = Pair::new(script);
        pair.settle();
        for op in &script.ops {
            pair.apply(op);
            pair.settle();
        }
        pair.finish();
        Summary {
            delivered: pair.client.delivered + pair.server.delivered,
            states: [pair.client.conn.state(), pair.server.conn.state()],
            errors: [pair.client.error, pair.server.error],
            causes: [
                pair.client.closed.as_ref().map(|c| c.cause),
                pair.server.closed.as_ref().map(|c| c.cause),
            ],
            in_place: pair.client.in_place + pair.server.in_place,
        }
    }

    fn ends(&mut self, side: Side) -> (&mut End, &mut End) {
        match side {
            Side::Client => (&mut self.client, &mut self.server),
            Side::Server => (&mut self.server, &mut self.client),
        }
    }

    fn apply(&mut self, op: &Op) {
        match op {
            Op::ServerRecvChunk(n) => self.deliver(Side::Client, usize::from(*n)),
            Op::ClientRecvChunk(n) => self.deliver(Side::Server, usize::from(*n)),
            Op::RecvInPlace(from, n) => self.deliver_in_place(*from, *n as usize),
            Op::SendText(side, text) => {
                let (a, b) = self.ends(*side);
                send_message(a, b, Message::Text(text.clone()));
            }
            Op::SendBinary(side, data) => {
                let (a, b) = self.ends(*side);
                send_message(a, b, Message::Binary(data.clone()));
            }
            Op::SendOwned {
                side,
                text,
                data,
                len,
            } => {
                let (a, b) = self.ends(*side);
                send_owned(a, b, owned_message(*text, data, *len));
            }
            Op::SendFragment {
                side,
                text,
                data,
                cut,
                fin,
            } => {
                let (a, b) = self.ends(*side);
                let kind = if *text {
                    DataKind::Text
                } else {
                    DataKind::Binary
                };
                send_fragment(a, b, kind, data, usize::from(*cut), *fin);
            }
            Op::Ping(side, payload) => {
                let (a, _) = self.ends(*side);
                send_control(a, payload, true);
            }
            Op::Pong(side, payload) => {
                let (a, _) = self.ends(*side);
                send_control(a, payload, false);
            }
            Op::Close(side, code, reason) => {
                let now = self.now;
                let (a, _) = self.ends(*side);
                send_close(a, *code, reason, now);
            }
            Op::AdvanceTime(ms) => {
                let ms = u64::from(*ms % 65_536);
                self.now = self.now + ms_to_duration(ms);
            }
            Op::Inject(side, bytes) => {
                let (a, _) = self.ends(*side);
                if !a.shut && !bytes.is_empty() {
                    a.injected = true;
                    a.wire.extend(bytes);
                }
            }
        }
    }

    /// Delivers up to `n` bytes written by `from` to its peer, then end of stream if `from`
    /// has closed its transport and everything it wrote has been delivered.
    fn deliver(&mut self, from: Side, n: usize) {
        let now = self.now;
        let (a, b) = self.ends(from);
        if b.shut {
            // The receiving transport is closed: whatever was in flight is lost.
            a.wire.clear();
            return;
        }
        let n = n.min(a.wire.len());
        if n > 0 {
            let bytes: Vec<u8> = a.wire.drain(..n).collect();
            b.bytes_in += bytes.len();
            let result = b.conn.receive_data(&bytes, now);
            record_error(b, a, result);
        }
        if a.shut && a.wire.is_empty() && !b.eof {
            b.eof = true;
            b.conn.receive_eof();
        }
    }

    /// Like [`deliver`](Self::deliver), but into the room the receiver offers for a large
    /// payload, when it offers some.
    fn deliver_in_place(&mut self, from: Side, n: usize) {
        let now = self.now;
        let (a, b) = self.ends(from);
        if b.shut || a.wire.is_empty() {
            return self.deliver(from, n);
        }
        let Some(room) = b.conn.receive_buffer() else {
            return self.deliver(from, n);
        };
        assert!(
            !room.is_empty() && room.len() <= 1 << 20,
            "room of {} bytes",
            room.len()
        );
        let n = n.min(room.len()).min(a.wire.len());
        for (slot, byte) in room.iter_mut().zip(a.wire.drain(..n)) {
            *slot = byte;
        }
        b.bytes_in += n;
        b.in_place += n;
        let result = b.conn.receive_in_place(n, now);
        record_error(b, a, result);
    }

    /// Follows the calling contract after every step: events, then output, then due timers,
    /// for both ends, until nothing changes.
    fn settle(&mut self) {
        for _ in 0..8 {
            let mut progress = false;
            for side in [Side::Client, Side::Server] {
                let now = self.now;
                let (a, b) = self.ends(side);
                progress |= drain_events(a, b);
                progress |= drain_output(a, false);
                if let Some(deadline) = a.conn.poll_timeout() {
                    if deadline <= now && !a.shut {
                        a.conn.handle_timeout(now);
                        progress = true;
                    }
                }
            }
            if !progress {
                return;
            }
        }
    }

    /// Writes what both ends have queued, as transports that become writable again.
    fn flush(&mut self) {
        for side in [Side::Client, Side::Server] {
            let (a, _) = self.ends(side);
            drain_output(a, true);
        }
    }

    /// Delivers everything, lets the timers run, and checks how both ends finished.
    fn finish(&mut self) {
        for _ in 0..64 {
            self.flush();
            self.deliver(Side::Client, usize::MAX);
            self.deliver(Side::Server, usize::MAX);
            self.settle();
            self.flush();
            let idle = [&self.client, &self.server]
                .iter()
                .all(|e| e.wire.is_empty() && e.conn.buffered_amount() == 0);
            if idle {
                // Jump to the next timer, as an adapter would sleep until it.
                let next = [
                    self.client.conn.poll_timeout(),
                    self.server.conn.poll_timeout(),
                ]
                .into_iter()
                .flatten()
                .min();
                match next {
                    Some(t) if t > self.now => self.now = t,
                    Some(_) => {}
                    None => break,
                }
                self.settle();
            }
        }
        for (a, b) in [(&self.client, &self.server), (&self.server, &self.client)] {
            if !a.injected && b.error.is_none() && !b.shut {
                // Everything `a` sent reached a healthy `b`.
                assert!(
                    a.sent_messages.is_empty(),
                    "messages lost: {:?}",
                    a.sent_messages
                );
            }
        }
        for end in [&self.client, &self.server] {
            // A closed connection reported its end, once, as its last event.
            assert_eq!(end.conn.state() == State::Closed, end.closed.is_some());
            assert_eq!(end.conn.closed(), end.closed.as_ref());
        }
        let started_closing = [&self.client, &self.server]
            .iter()
            .any(|e| e.conn.state() != State::Open);
        let anyone_injected = self.client.injected || self.server.injected;
        let timers_off = self.client.config.close_timeout.is_none()
            || self.server.config.close_timeout.is_none();
        if started_closing && !anyone_injected && !timers_off {
            assert_eq!(self.client.conn.state(), State::Closed, "client not closed");
            assert_eq!(self.server.conn.state(), State::Closed, "server not closed");
        }
    }
}

/// Records the result of an input into `b` (whose peer is `a`) and checks the error is one the
/// script can cause.
fn record_error(b: &mut End, a: &End, result: Result<(), ProtocolError>) {
    let Err(e) = result else {
        return;
    };
    assert!(
        b.error.is_none(),
        "a second error was returned: {e:?} after {:?}",
        b.error
    );
    assert!(b.closed.is_none(), "an error after the end: {e:?}");
    b.error = Some(e);
    let legitimate = a.injected
        || match e {
            ProtocolError::MessageTooLarge | ProtocolError::FrameTooLarge => a.sent_too_big,
            _ => false,
        };
    assert!(legitimate, "{e:?} between two well-behaved ends");
}

/// Checks `b`'s end (its peer is `a`) against what happened, and notes the Close frame a
/// failure writes.
fn record_closed(b: &mut End, a: &End, closed: Closed) {
    assert!(b.closed.is_none(), "Closed reported twice");
    assert_eq!(b.conn.closed(), Some(&closed));
    assert_eq!(b.conn.state(), State::Closed);
    match closed.cause {
        CloseCause::Protocol(e) => assert_eq!(b.error, Some(e), "ended by an error not returned"),
        CloseCause::KeepaliveTimeout => assert!(b.config.keepalive_interval.is_some()),
        CloseCause::CloseTimeout => {
            assert!(
                matches!(b.close_sent, Some(CloseSent::App(_))),
                "{closed:?}"
            )
        }
        // The peer closed its transport without finishing the closing handshake: only after
        // it failed (a timeout, a message over its limit, ...).
        CloseCause::TransportLost => assert!(
            a.injected || a.conn.closed().is_some_and(|c| !c.is_clean()),
            "transport lost between two well-behaved ends"
        ),
        CloseCause::LocalClose | CloseCause::PeerClose => {
            if closed.cause == CloseCause::LocalClose {
                assert!(
                    matches!(b.close_sent, Some(CloseSent::App(_))),
                    "{closed:?}"
                );
            } else {
                assert!(
                    matches!(b.close_sent, Some(CloseSent::Echo(_))),
                    "{closed:?}"
                );
            }
            // The closing handshake completed: the peer's Close frame gives code and reason.
            let frame = b
                .close_received
                .clone()
                .expect("clean close without a Close frame");
            let (code, reason) = frame.map_or((CloseCode::NO_STATUS, String::new()), |f| {
                (f.code, f.reason)
            });
            assert_eq!((closed.code, &closed.reason), (code, &reason));
        }
        _ => panic!("unknown cause {closed:?}"),
    }
    if b.close_sent.is_none() {
        // Failing writes a Close frame with the failure's code.
        let code = match closed.cause {
            CloseCause::Protocol(e) => Some(e.close_code()),
            CloseCause::KeepaliveTimeout => Some(CloseCode::INTERNAL_ERROR),
            _ => None,
        };
        if let Some(code) = code.filter(|c| c.is_sendable()) {
            b.close_sent = Some(CloseSent::Failure(code));
        }
    }
    b.closed = Some(closed);
}

/// Takes `b`'s events and checks them against what its peer `a` sent.
fn drain_events(b: &mut End, a: &mut End) -> bool {
    let mut any = false;
    while let Some(event) = b.conn.poll_event() {
        any = true;
        assert!(b.closed.is_none(), "an event after Closed: {event:?}");
        check_event(&event, &b.config);
        if !matches!(event, Event::Closed(_)) {
            b.events_in += 1;
            assert!(b.events_in <= b.bytes_in, "more events than bytes received");
        }
        match event {
            Event::Closed(closed) => record_closed(b, a, closed),
            Event::Message(m) => received_message(b, a, m),
            Event::Chunk(c) => {
                if c.first {
                    assert!(b.receiving.is_none(), "message started inside another");
                    b.receiving = Some((c.kind, Vec::new()));
                }
                let (kind, data) = b.receiving.as_mut().expect("first chunk seen");
                assert_eq!(*kind, c.kind);
                data.extend_from_slice(&c.data);
                assert!(data.len() <= b.config.max_message_size);
                if c.last {
                    let (kind, data) = b.receiving.take().expect("checked");
                    let m = match kind {
                        DataKind::Text => Message::Text(String::from_utf8(data).expect("UTF-8")),
                        DataKind::Binary => Message::Binary(data),
                    };
                    received_message(b, a, m);
                }
            }
            Event::Ping(p) if !a.injected => {
                if a.sent_pings.front() == Some(&p) {
                    a.sent_pings.pop_front();
                } else {
                    assert!(
                        p.is_empty(),
                        "unexpected Ping {p:?}, sent {:?}",
                        a.sent_pings
                    );
                }
            }
            Event::Pong(_) => {}
            Event::Close(frame) => {
                if !a.injected {
                    assert!(
                        a.sent_messages.is_empty(),
                        "Close before messages sent earlier"
                    );
                    assert!(a.sent_pings.is_empty(), "Close before Pings sent earlier");
                    let expected = match a.close_sent.clone() {
                        Some(CloseSent::App(f)) => Some(f.code),
                        Some(CloseSent::Failure(code)) => Some(code),
                        Some(CloseSent::Echo(code)) => code,
                        None => panic!("Close received that the peer never sent"),
                    };
                    assert_eq!(frame.as_ref().map(|f| f.code), expected);
                    if let Some(CloseSent::App(f)) = &a.close_sent {
                        assert_eq!(frame.as_ref(), Some(f));
                    }
                }
                assert!(b.close_received.is_none(), "two Close frames received");
                b.close_received = Some(frame.clone());
                if b.close_sent.is_none() {
                    // The connection echoes the code it received (section 5.5.1).
                    b.close_sent = Some(CloseSent::Echo(frame.map(|f| f.code)));
                }
            }
            _ => {}
        }
    }
    any
}

fn received_message(b: &mut End, a: &mut End, m: Message) {
    assert!(m.as_bytes().len() <= b.config.max_message_size);
    if a.injected {
        return;
    }
    b.delivered += 1;
    let expected = a.sent_messages.pop_front();
    assert_eq!(Some(&m), expected.as_ref(), "message mismatch");
    // Give the buffer back, as adapters do: later messages are received into it.
    b.conn.recycle(m.into_bytes());
}

/// Takes `a`'s output into its wire, with `poll_transmit` or with vectored writes the
/// transport takes in part (all of it with `all`, a transport that becomes writable again),
/// and checks the frames written.
fn drain_output(a: &mut End, all: bool) -> bool {
    let mut out = Vec::new();
    let mut any = false;
    match &mut a.output {
        Output::PollTransmit => {
            while let Some(t) = a.conn.poll_transmit(&mut out) {
                any = true;
                match t {
                    Transmit::Data(n) => {
                        assert!(n > 0);
                        assert!(!a.shut, "data after shutdown");
                    }
                    Transmit::Shutdown => {
                        assert!(!a.shut, "shutdown reported twice");
                        assert!(a.conn.should_close_transport());
                        a.shut = true;
                    }
                }
            }
        }
        Output::Vectored(writer) => {
            if all {
                writer.write_all(&mut a.conn, &mut out);
            } else {
                writer.write_some(&mut a.conn, &mut out);
            }
            any = !out.is_empty();
            if a.conn.should_close_transport() {
                if !a.shut {
                    a.shut = true;
                    any = true;
                }
            } else {
                assert!(!a.shut, "should_close_transport went back to false");
            }
        }
    }
    for frame in a.written.feed(&out) {
        check_written(a, &frame);
    }
    a.wire.extend(&out);
    if matches!(a.output, Output::PollTransmit) {
        // The written output's buffer serves later sends.
        a.conn.recycle(out);
    }
    if a.shut {
        assert_eq!(a.conn.state(), State::Closed);
        assert_eq!(a.conn.buffered_amount(), 0);
        // The transport is closed on a frame boundary: never inside a frame.
        assert!(
            a.written.at_frame_start(),
            "transport closed inside a frame"
        );
    }
    any
}

/// Checks one frame `a` wrote.
fn check_written(a: &mut End, frame: &WireFrame) {
    // Section 5.1: clients mask every frame, servers none.
    assert_eq!(frame.header.mask.is_some(), a.conn.role() == Role::Client);
    // Nothing follows a Close frame (section 5.5.1).
    assert!(!a.wrote_close, "a frame after the Close frame: {frame:?}");
    if frame.header.opcode == OpCode::Close {
        a.wrote_close = true;
        let sent = CloseFrame::parse(&frame.payload).expect("our Close frame is well formed");
        let expected = match a.close_sent.clone() {
            Some(CloseSent::App(f)) => Some(f),
            Some(CloseSent::Failure(code)) => {
                assert_eq!(sent.as_ref().map(|f| f.code), Some(code));
                sent.clone()
            }
            Some(CloseSent::Echo(code)) => {
                assert_eq!(sent.as_ref().map(|f| f.code), code);
                sent.clone()
            }
            None => panic!("a Close frame the model does not know: {sent:?}"),
        };
        assert_eq!(sent, expected);
    }
}

/// What a command must return in the current state, before its own argument checks.
fn state_check(a: &End) -> Result<(), SendError> {
    match a.conn.state() {
        State::Open => Ok(()),
        State::Closed => Err(SendError::Closed),
        State::Closing => Err(SendError::AlreadyClosing),
    }
}

fn note_size(a: &mut End, peer: &End, frame_len: usize, message_len: usize) {
    // Compressed, a frame can come out a little larger than its payload (incompressible data
    // in stored blocks, or a few bytes for a tiny payload). The receiver checks the compressed
    // size of a message against `max_message_size` as well as the inflated size, so a message
    // just under the limit may still be refused with 1009 when it compresses badly.
    let slack = |len: usize| len + len / 8 + 64;
    let (frame_len, message_len) = if a.conn.deflate_params().is_some() {
        (slack(frame_len), slack(message_len))
    } else {
        (frame_len, message_len)
    };
    if frame_len > peer.config.max_frame_size || message_len > peer.config.max_message_size {
        a.sent_too_big = true;
    }
}

fn send_message(a: &mut End, b: &End, message: Message) {
    let before = a.conn.buffered_amount();
    let expected = state_check(a).and(match a.building {
        Some(_) => Err(SendError::FragmentOutOfOrder),
        None => Ok(()),
    });
    let result = match &message {
        Message::Text(t) => a.conn.send_text(t),
        Message::Binary(d) => a.conn.send_binary(d),
    };
    assert_eq!(result, expected);
    if result.is_ok() {
        let len = message.as_bytes().len();
        note_size(a, b, len, len);
        a.sent_messages.push_back(message);
    } else {
        assert_eq!(
            a.conn.buffered_amount(),
            before,
            "a refused command queued bytes"
        );
    }
}

/// The payload of `Op::SendOwned`.
fn owned_message(text: bool, data: &[u8], len: u32) -> Message {
    // The top two bits pick the range: up to 1 KiB, 32 KiB (queued without a copy from
    // 16 KiB), 64 KiB, or 256 KiB (large enough for `receive_buffer`, and slow: rarer).
    let len = (len % (1 << [10, 15, 16, 18][(len >> 30) as usize])) as usize;
    if text {
        let unit = String::from_utf8_lossy(data);
        let unit = if unit.is_empty() { "x".into() } else { unit };
        Message::Text(unit.repeat(len.div_ceil(unit.len()).max(1)))
    } else if data.is_empty() {
        Message::Binary(vec![0; len])
    } else {
        Message::Binary(data.repeat(len.div_ceil(data.len()).max(1)))
    }
}

/// Hands `message` over with `Connection::send`, keeping a copy for the model.
fn send_owned(a: &mut End, b: &End, message: Message) {
    let before = a.conn.buffered_amount();
    let expected = state_check(a).and(match a.building {
        Some(_) => Err(SendError::FragmentOutOfOrder),
        None => Ok(()),
    });
    let len = message.as_bytes().len();
    let result = a.conn.send(message.clone());
    assert_eq!(result, expected);
    if result.is_ok() {
        if a.conn.deflate_params().is_none() {
            // Queued as one frame: header and payload, nothing else.
            let header = 2 + if len < 126 {
                0
            } else if len < 65536 {
                2
            } else {
                8
            };
            let mask = if a.conn.role() == Role::Client { 4 } else { 0 };
            assert_eq!(a.conn.buffered_amount(), before + header + mask + len);
        }
        note_size(a, b, len, len);
        a.sent_messages.push_back(message);
    } else {
        assert_eq!(
            a.conn.buffered_amount(),
            before,
            "a refused command queued bytes"
        );
    }
}

fn send_fragment(a: &mut End, b: &End, kind: DataKind, data: &[u8], cut: usize, fin: bool) {
    let before = a.conn.buffered_amount();
    let expected = state_check(a).and_then(|()| match &a.building {
        Some((k, _)) if *k != kind => Err(SendError::FragmentOutOfOrder),
        _ => Ok(()),
    });
    let payload = match kind {
        DataKind::Binary => data.to_vec(),
        DataKind::Text => {
            let mut carry = a.text_carry.clone();
            carry.extend_from_slice(String::from_utf8_lossy(data).as_bytes());
            let cut = if fin {
                carry.len()
            } else {
                cut.min(carry.len())
            };
            carry.truncate(cut);
            carry
        }
    };
    let result = a.conn.send_fragment(kind, &payload, fin);
    assert_eq!(result, expected);
    if result.is_err() {
        assert_eq!(
            a.conn.buffered_amount(),
            before,
            "a refused command queued bytes"
        );
        return;
    }
    if kind == DataKind::Text {
        a.text_carry
            .extend_from_slice(String::from_utf8_lossy(data).as_bytes());
        a.text_carry.drain(..payload.len());
    }
    let (_, so_far) = a.building.get_or_insert_with(|| (kind, Vec::new()));
    so_far.extend_from_slice(&payload);
    let total = so_far.len();
    note_size(a, b, payload.len(), total);
    if fin {
        let (kind, data) = a.building.take().expect("inserted above");
        assert!(a.text_carry.is_empty());
        a.sent_messages.push_back(match kind {
            DataKind::Text => Message::Text(String::from_utf8(data).expect("whole text")),
            DataKind::Binary => Message::Binary(data),
        });
    }
}

fn send_control(a: &mut End, payload: &[u8], ping: bool) {
    let before = a.conn.buffered_amount();
    let expected = state_check(a).and(if payload.len() > 125 {
        Err(SendError::ControlPayloadTooLong)
    } else {
        Ok(())
    });
    let result = if ping {
        a.conn.ping(payload)
    } else {
        a.conn.pong(payload)
    };
    assert_eq!(result, expected);
    if result.is_ok() {
        if ping {
            a.sent_pings.push_back(payload.to_vec());
        }
    } else {
        assert_eq!(
            a.conn.buffered_amount(),
            before,
            "a refused command queued bytes"
        );
    }
}

fn send_close(a: &mut End, code: u16, reason: &str, now: Instant) {
    let before = a.conn.buffered_amount();
    let code = CloseCode::from(code);
    let expected = if !code.is_sendable() {
        Err(SendError::InvalidCloseCode(code.as_u16()))
    } else if reason.len() > 123 {
        Err(SendError::ControlPayloadTooLong)
    } else {
        state_check(a)
    };
    let result = a.conn.close(code, reason, now);
    assert_eq!(result, expected);
    if result.is_ok() {
        assert!(a.close_sent.is_none());
        a.close_sent = Some(CloseSent::App(CloseFrame {
            code,
            reason: reason.into(),
        }));
    } else {
        assert_eq!(
            a.conn.buffered_amount(),
            before,
            "a refused command queued bytes"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> PeerConfig {
        PeerConfig {
            max_message: None,
            max_frame: None,
            stream: false,
            auto_pong: true,
            keepalive_ms: None,
            keepalive_timeout_ms: None,
            close_timeout_ms: Some(1000),
            writes: None,
        }
    }

    #[test]
    fn messages_then_close_reach_closed_at_both_ends() {
        let script = Script {
            client: config(),
            server: PeerConfig {
                stream: true,
                ..config()
            },
            deflate: None,
            ops: vec![
                Op::SendText(Side::Client, "héllo".into()),
                Op::SendFragment {
                    side: Side::Client,
                    text: true,
                    data: "κόσμε".into(),
                    cut: 1,
                    fin: false,
                },
                Op::Ping(Side::Client, b"p".to_vec()),
                Op::SendFragment {
                    side: Side::Client,
                    text: true,
                    data: b"!".to_vec(),
                    cut: 0,
                    fin: true,
                },
                Op::ServerRecvChunk(3),
                Op::ServerRecvChunk(100),
                Op::SendBinary(Side::Server, vec![1, 2, 3]),
                Op::Close(Side::Server, 1000, "bye".into()),
                Op::ClientRecvChunk(100),
            ],
        };
        let summary = Pair::run(&script);
        assert_eq!(summary.delivered, 3);
        assert_eq!(summary.states, [State::Closed, State::Closed]);
        assert_eq!(summary.errors, [None, None]);
    }

    #[test]
    fn a_message_over_the_limit_fails_the_receiver_with_1009() {
        let script = Script {
            client: config(),
            server: PeerConfig {
                max_message: Some(4),
                ..config()
            },
            deflate: None,
            ops: vec![Op::SendBinary(Side::Client, vec![0; 10])],
        };
        let summary = Pair::run(&script);
        assert_eq!(summary.errors, [None, Some(ProtocolError::MessageTooLarge)]);
        assert_eq!(summary.states, [State::Closed, State::Closed]);
    }

    #[test]
    fn an_unanswered_close_times_out() {
        let script = Script {
            client: config(),
            server: config(),
            deflate: None,
            ops: vec![
                Op::Close(Side::Client, 1001, String::new()),
                Op::AdvanceTime(2000),
            ],
        };
        let summary = Pair::run(&script);
        assert_eq!(summary.errors, [None, None]);
        assert_eq!(summary.causes[0], Some(CloseCause::CloseTimeout));
    }

    #[test]
    fn compressed_messages_arrive_intact_and_a_bomb_fails_with_1009() {
        let script = Script {
            client: config(),
            server: PeerConfig {
                max_message: Some(1000),
                ..config()
            },
            deflate: Some(0b1010_0101),
            ops: vec![
                Op::SendText(Side::Client, "compress me ".repeat(20)),
                Op::SendFragment {
                    side: Side::Client,
                    text: false,
                    data: vec![7; 300],
                    cut: 0,
                    fin: false,
                },
                Op::SendFragment {
                    side: Side::Client,
                    text: false,
                    data: vec![8; 300],
                    cut: 0,
                    fin: true,
                },
                Op::SendBinary(Side::Server, vec![1; 5000]),
                Op::ServerRecvChunk(7),
                Op::ServerRecvChunk(1000),
                Op::ClientRecvChunk(1000),
                // 1 MB of zeros compresses to about a kilobyte: inflated, it is over the
                // server's 1000-byte limit.
                Op::SendBinary(Side::Client, vec![0; 1 << 20]),
            ],
        };
        let summary = Pair::run(&script);
        assert_eq!(summary.delivered, 3);
        assert_eq!(summary.errors, [None, Some(ProtocolError::MessageTooLarge)]);
    }

    #[test]
    fn owned_sends_through_partial_vectored_writes_arrive_intact() {
        // Writes of 0 to 3 bytes, up to 64, up to 64 KiB, or everything, with 1 to 8 slices.
        let writes = vec![0x00, 0x03, 0x41, 0x7f, 0x8a, 0xc0, 0x01, 0xff];
        let script = Script {
            client: PeerConfig {
                writes: Some(writes.clone()),
                ..config()
            },
            server: PeerConfig {
                writes: Some(writes.into_iter().rev().collect()),
                ..config()
            },
            deflate: None,
            ops: vec![
                Op::SendOwned {
                    side: Side::Server,
                    text: false,
                    data: vec![1, 2, 3],
                    len: (3 << 30) | 200_000,
                },
                Op::Ping(Side::Server, b"between".to_vec()),
                Op::SendOwned {
                    side: Side::Server,
                    text: true,
                    data: "é".into(),
                    len: (1 << 30) | 20_000,
                },
                Op::SendOwned {
                    side: Side::Client,
                    text: false,
                    data: vec![],
                    len: (3 << 30) | 150_000,
                },
                Op::SendText(Side::Client, "small".into()),
                Op::ClientRecvChunk(10),
                Op::RecvInPlace(Side::Server, 70_000),
                Op::RecvInPlace(Side::Server, 100_000),
                Op::RecvInPlace(Side::Client, 80_000),
                Op::RecvInPlace(Side::Client, 80_000),
                Op::Close(Side::Client, 1000, "done".into()),
            ],
        };
        let summary = Pair::run(&script);
        assert!(summary.in_place > 0, "no delivery in place");
        assert_eq!(summary.delivered, 4);
        assert_eq!(summary.errors, [None, None]);
        assert_eq!(
            summary.causes,
            [Some(CloseCause::LocalClose), Some(CloseCause::PeerClose)]
        );
    }

    #[test]
    fn an_unanswered_ping_ends_with_a_keepalive_timeout() {
        let script = Script {
            client: PeerConfig {
                keepalive_ms: Some(100),
                keepalive_timeout_ms: Some(50),
                ..config()
            },
            server: config(),
            deflate: None,
            // The server reads nothing while the clock runs.
            ops: vec![Op::AdvanceTime(100), Op::AdvanceTime(50)],
        };
        let summary = Pair::run(&script);
        assert_eq!(summary.errors, [None, None]);
        assert_eq!(summary.causes[0], Some(CloseCause::KeepaliveTimeout));
        // The server then reads the Ping and the 1011 Close, and closes cleanly.
        assert_eq!(summary.causes[1], Some(CloseCause::PeerClose));
    }

    #[test]
    #[should_panic(expected = "message mismatch")]
    fn the_harness_notices_a_message_that_was_not_sent() {
        let script = Script {
            client: config(),
            server: config(),
            deflate: None,
            ops: vec![Op::SendText(Side::Client, "real".into())],
        };
        let mut pair = Pair::new(&script);
        for op in &script.ops {
            pair.apply(op);
            pair.settle();
        }
        // The model says another message was sent.
        pair.client.sent_messages[0] = Message::Text("other".into());
        pair.finish();
    }
}
