//! Shared harness code for the fuzz targets in `fuzz_targets/`.
//!
//! Every target reaches the sans-IO core directly (no sockets, no mocks): bytes go into
//! [`Connection::receive_data`] or the handshake parsers, and what comes out is checked against
//! the calling contract documented on [`Connection`] and in `ws_proto::handshake`. The output
//! is taken either with [`Connection::poll_transmit`] or the way the adapters write it, with
//! vectored writes of [`Connection::transmit_slices`] that the transport takes only in part
//! ([`Writer`]), and the frames written are decoded with the public [`FrameDecoder`].

use ws_proto::extensions::deflate::DeflateParams;
use ws_proto::frame::mask::apply_mask;
use ws_proto::frame::{Decoded, FrameDecoder, FrameHeader, OpCode};
use ws_proto::handshake::{Limits, Status};
use ws_proto::{
    CloseCause, CloseCode, CloseFrame, Closed, Config, Connection, DataKind, Event, HandshakeError,
    Instant, Message, MessageMode, ProtocolError, Role, State, Transmit,
};

pub mod handshake;
pub mod pair;

/// A deterministic mask key source: a counter, so two connections built alike mask alike.
pub fn counter_keys(seed: u8) -> impl FnMut() -> [u8; 4] + Send + 'static {
    let mut n = u32::from(seed);
    move || {
        n = n.wrapping_mul(0x9E37_79B9).wrapping_add(1);
        n.to_be_bytes()
    }
}

/// A connection for `role` with deterministic mask keys, started at [`Instant::ZERO`].
pub fn connection(role: Role, config: Config) -> Connection {
    match role {
        Role::Server => Connection::server(config, Instant::ZERO),
        Role::Client => Connection::client(config, counter_keys(7), Instant::ZERO),
    }
}

/// Splits `data` into pieces whose lengths come from `seed` (0 means "all of it at once").
pub fn chunks<'a>(data: &'a [u8], seed: &[u8]) -> Vec<&'a [u8]> {
    if seed.is_empty() {
        return vec![data];
    }
    let mut out = Vec::new();
    let mut rest = data;
    let mut i = 0;
    while !rest.is_empty() {
        // Lengths 1..=256, biased to small so headers get split often.
        let s = seed[i % seed.len()];
        let len = match s >> 6 {
            0 => 1 + (s & 0x3f) as usize % 4,
            1 => 1 + (s & 0x3f) as usize,
            _ => 1 + s as usize,
        };
        let len = len.min(rest.len());
        out.push(&rest[..len]);
        rest = &rest[len..];
        i += 1;
    }
    out
}

/// A transport that takes a connection's output in vectored writes of sizes drawn from a
/// seed, as a socket with a small or full send buffer does: some writes take nothing
/// (`WouldBlock`), some a few bytes, some everything. An empty seed takes everything.
#[derive(Debug, Clone)]
pub struct Writer {
    seed: Vec<u8>,
    i: usize,
}

impl Writer {
    /// A transport whose write sizes come from `seed`.
    pub fn new(seed: &[u8]) -> Writer {
        Writer {
            seed: seed.to_vec(),
            i: 0,
        }
    }

    /// The size of the next write and how many slices it is given (1 to 8, so that output
    /// in more pieces than that takes several writes).
    fn next(&mut self) -> (usize, usize) {
        let Some(&s) = self.seed.get(self.i % self.seed.len().max(1)) else {
            return (usize::MAX, 8);
        };
        self.i += 1;
        let size = match s >> 6 {
            0 => usize::from(s & 3),
            1 => 1 + usize::from(s & 0x3f),
            2 => 1 + usize::from(s & 0x3f) * 1024,
            _ => usize::MAX,
        };
        (size, 1 + usize::from(s >> 3 & 7))
    }

    /// One vectored write of `conn`'s output, appended to `out`; returns how many bytes the
    /// transport took. Checks that the slices show exactly the queued bytes.
    pub fn write_once(&mut self, conn: &mut Connection, out: &mut Vec<u8>) -> usize {
        let (budget, slots) = self.next();
        let mut slices = [&[][..]; 8];
        let queued = conn.buffered_amount();
        let n = conn.transmit_slices(&mut slices[..slots]);
        assert!(n <= slots);
        assert_eq!(n == 0, queued == 0, "slices and buffered_amount disagree");
        let shown: usize = slices[..n].iter().map(|s| s.len()).sum();
        assert!(slices[..n].iter().all(|s| !s.is_empty()), "an empty slice");
        assert!(shown <= queued);
        if n < slots {
            assert_eq!(shown, queued, "the slices do not cover the queued output");
        }
        let mut left = budget;
        for slice in &slices[..n] {
            let k = slice.len().min(left);
            out.extend_from_slice(&slice[..k]);
            left -= k;
            if left == 0 {
                break;
            }
        }
        let written = budget - left;
        conn.advance_transmit(written);
        assert_eq!(conn.buffered_amount(), queued - written);
        written
    }

    /// Writes as a transport that accepts a few writes now: up to three, stopping at the
    /// first that takes nothing. Returns how many bytes were taken.
    pub fn write_some(&mut self, conn: &mut Connection, out: &mut Vec<u8>) -> usize {
        let mut total = 0;
        for _ in 0..3 {
            if conn.buffered_amount() == 0 {
                break;
            }
            match self.write_once(conn, out) {
                0 => break,
                n => total += n,
            }
        }
        total
    }

    /// Writes until nothing is queued (a transport that becomes writable again): a few
    /// writes of the seed's sizes, then one that takes the rest, so that large payloads are
    /// not written a byte at a time.
    pub fn write_all(&mut self, conn: &mut Connection, out: &mut Vec<u8>) {
        for _ in 0..8 {
            if conn.buffered_amount() == 0 {
                return;
            }
            self.write_once(conn, out);
        }
        while conn.buffered_amount() > 0 {
            Writer::new(&[]).write_once(conn, out);
        }
    }
}

/// How a harness takes a connection's output.
#[derive(Debug, Clone)]
pub enum Output {
    /// With [`Connection::poll_transmit`], everything at once.
    PollTransmit,
    /// With partial vectored writes ([`Writer`]).
    Vectored(Writer),
}

/// One frame as written by a connection, unmasked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireFrame {
    /// The decoded header.
    pub header: FrameHeader,
    /// The unmasked payload.
    pub payload: Vec<u8>,
}

/// Decodes frames from a byte stream that arrives in pieces of any size, with the public
/// [`FrameDecoder`]: what a connection wrote must decode whatever the pieces.
#[derive(Debug, Default)]
pub struct WireDecoder {
    decoder: FrameDecoder,
    current: Option<WireFrame>,
}

impl WireDecoder {
    /// Feeds the next piece of the stream; returns the frames it completed. Panics if our own
    /// output does not decode.
    pub fn feed(&mut self, mut bytes: &[u8]) -> Vec<WireFrame> {
        let mut frames = Vec::new();
        while !bytes.is_empty() {
            let (n, decoded) = self
                .decoder
                .decode(bytes)
                .expect("our own output has a valid header");
            assert!(n > 0 && n <= bytes.len());
            bytes = &bytes[n..];
            match decoded {
                None => {}
                Some(Decoded::Header(header)) => {
                    assert!(self.current.is_none(), "a header inside a payload");
                    let frame = WireFrame {
                        header,
                        payload: Vec::new(),
                    };
                    if header.payload_len == 0 {
                        frames.push(frame);
                    } else {
                        self.current = Some(frame);
                    }
                }
                Some(Decoded::Payload { data, offset, last }) => {
                    let frame = self.current.as_mut().expect("a payload without a header");
                    assert_eq!(offset, frame.payload.len() as u64);
                    let start = frame.payload.len();
                    frame.payload.extend_from_slice(data);
                    if let Some(key) = frame.header.mask {
                        apply_mask(&mut frame.payload[start..], key, start);
                    }
                    assert_eq!(last, frame.payload.len() as u64 == frame.header.payload_len);
                    if last {
                        frames.push(self.current.take().expect("checked"));
                    }
                }
            }
        }
        frames
    }

    /// Whether the stream so far ends on a frame boundary.
    pub fn at_frame_start(&self) -> bool {
        self.current.is_none() && self.decoder.at_frame_start()
    }
}

/// Decodes the frames a connection wrote. Our own output must always be a whole number of
/// well-formed frames.
pub fn parse_wire(bytes: &[u8]) -> Vec<WireFrame> {
    let mut decoder = WireDecoder::default();
    let frames = decoder.feed(bytes);
    assert!(
        decoder.at_frame_start(),
        "our own output ends inside a frame"
    );
    frames
}

/// Checks what every event must satisfy whatever the peer sent, given the receiver's config.
pub fn check_event(event: &Event, config: &Config) {
    match event {
        Event::Message(m) => {
            assert!(
                m.as_bytes().len() <= config.max_message_size,
                "message over the limit"
            );
            assert_eq!(config.message_mode, MessageMode::Reassemble);
        }
        Event::Chunk(c) => {
            assert!(
                c.data.len() <= config.max_message_size,
                "chunk over the limit"
            );
            assert_eq!(config.message_mode, MessageMode::Stream);
            if c.kind == DataKind::Text {
                // "every chunk ends on a character boundary" (MessageMode::Stream)
                assert!(
                    core::str::from_utf8(&c.data).is_ok(),
                    "text chunk not UTF-8"
                );
            }
        }
        Event::Ping(p) | Event::Pong(p) => assert!(p.len() <= 125),
        Event::Close(Some(frame)) => {
            assert!(frame.code.is_sendable(), "illegal close code surfaced");
            assert!(frame.reason.len() <= 123);
        }
        Event::Close(None) => {}
        Event::Closed(closed) => {
            assert!(closed.reason.len() <= 123);
            match closed.cause {
                CloseCause::Protocol(e) => assert_eq!(closed.code, e.close_code()),
                CloseCause::KeepaliveTimeout => {
                    assert_eq!(closed.code, CloseCode::INTERNAL_ERROR)
                }
                CloseCause::CloseTimeout | CloseCause::TransportLost => {
                    assert_eq!(closed.code, CloseCode::ABNORMAL)
                }
                CloseCause::PeerClose | CloseCause::LocalClose => {}
                _ => {}
            }
            assert_eq!(closed.is_clean(), closed.error().is_none());
        }
        _ => {}
    }
}

/// What feeding one byte stream to a connection produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// Every event, in order, up to [`Event::Closed`] (kept apart in `closed`).
    pub events: Vec<Event>,
    /// The protocol error returned, if any.
    pub error: Option<ProtocolError>,
    /// Every byte the connection asked to write.
    pub out: Vec<u8>,
    /// Whether the connection asked for its transport to be closed before end of stream
    /// (`Transmit::Shutdown`, or `should_close_transport`).
    pub shutdown: bool,
    /// The state after the last piece, before end of stream.
    pub state: State,
    /// The end, reported once as the last event after end of stream was delivered.
    pub closed: Closed,
}

/// Feeds `pieces` to a fresh connection following the calling contract (events, then
/// transmit, after every input), then end of stream, and checks the invariants that hold for
/// any input.
pub fn receive(role: Role, config: &Config, pieces: &[&[u8]], output: Output) -> Received {
    receive_on(connection(role, config.clone()), config, pieces, output)
}

/// Takes `conn`'s events into `events` (and the end into `closed`), checking each.
fn drain_events(
    conn: &mut Connection,
    config: &Config,
    events: &mut Vec<Event>,
    closed: &mut Option<Closed>,
) {
    while let Some(event) = conn.poll_event() {
        check_event(&event, config);
        assert!(closed.is_none(), "an event after Closed: {event:?}");
        match event {
            Event::Closed(c) => {
                assert_eq!(conn.closed(), Some(&c));
                assert_eq!(conn.state(), State::Closed);
                *closed = Some(c);
            }
            other => events.push(other),
        }
    }
    assert_eq!(
        conn.closed(),
        closed.as_ref(),
        "Closed not reported as an event"
    );
}

/// Takes `conn`'s output into `out` (with vectored writes: what the transport takes now);
/// sets `shut` once the transport is to be closed.
fn drain_output(conn: &mut Connection, output: &mut Output, out: &mut Vec<u8>, shut: &mut bool) {
    match output {
        Output::PollTransmit => {
            while let Some(t) = conn.poll_transmit(out) {
                match t {
                    Transmit::Data(n) => assert!(n > 0 && !*shut, "data after shutdown"),
                    Transmit::Shutdown => {
                        assert!(!*shut, "shutdown reported twice");
                        assert!(conn.should_close_transport());
                        *shut = true;
                    }
                }
            }
        }
        Output::Vectored(writer) => {
            writer.write_some(conn, out);
            if conn.should_close_transport() {
                assert_eq!(conn.buffered_amount(), 0);
                *shut = true;
            } else if *shut {
                panic!("should_close_transport went back to false");
            }
        }
    }
    if *shut {
        assert_eq!(conn.state(), State::Closed);
    }
}

/// [`receive`] on a connection the caller built (for example with permessage-deflate).
pub fn receive_on(
    mut conn: Connection,
    config: &Config,
    pieces: &[&[u8]],
    mut output: Output,
) -> Received {
    let role = conn.role();
    let now = Instant::ZERO;
    let mut events = Vec::new();
    let mut closed = None;
    let mut error = None;
    let mut out = Vec::new();
    let mut shutdown = false;
    let mut fed = 0usize;
    for piece in pieces {
        let result = conn.receive_data(piece, now);
        if error.is_none() {
            fed += piece.len();
        }
        if let Err(e) = result {
            assert!(error.is_none(), "an error is returned once");
            error = Some(e);
        }
        drain_events(&mut conn, config, &mut events, &mut closed);
        if let Some(e) = error {
            // Once its events are taken, a failed connection has ended with its error.
            assert_eq!(
                closed.as_ref().map(|c| c.cause),
                Some(CloseCause::Protocol(e))
            );
        }
        // Never more events than input bytes: no amplification in the event queue.
        assert!(
            events.len() <= fed,
            "{} events from {fed} bytes",
            events.len()
        );
        drain_output(&mut conn, &mut output, &mut out, &mut shutdown);
    }
    let state = conn.state();
    // The transport ends: every connection ends with one `Closed`, last.
    if let Output::Vectored(writer) = &mut output {
        writer.write_all(&mut conn, &mut out);
        shutdown |= conn.should_close_transport();
    }
    conn.receive_eof();
    drain_events(&mut conn, config, &mut events, &mut closed);
    let closed = closed.expect("no Closed after end of stream");
    assert_eq!(conn.state(), State::Closed);
    assert!(conn.poll_event().is_none());
    assert_eq!(
        conn.buffered_amount(),
        0,
        "output queued after end of stream"
    );
    assert!(conn.should_close_transport());
    let received = Received {
        events,
        error,
        out,
        shutdown,
        state,
        closed,
    };
    check_output(role, config, &received);
    received
}

/// Checks what the connection wrote against what it received, and how it ended.
fn check_output(role: Role, config: &Config, r: &Received) {
    let frames = parse_wire(&r.out);
    for f in &frames {
        // Section 5.1: clients mask every frame, servers none.
        assert_eq!(f.header.mask.is_some(), role == Role::Client);
        assert!(f.header.opcode.is_control(), "nobody asked to send data");
        assert_eq!(f.header.rsv, 0);
        assert!(f.header.fin);
    }
    let pings: Vec<&Vec<u8>> = r
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Ping(p) => Some(p),
            _ => None,
        })
        .collect();
    let pongs: Vec<&Vec<u8>> = frames
        .iter()
        .filter(|f| f.header.opcode == OpCode::Pong)
        .map(|f| &f.payload)
        .collect();
    if config.auto_pong {
        // Every Ping is answered with its payload (section 5.5.2); none is received after a
        // Close, since input stops there.
        assert_eq!(pings, pongs, "auto pongs do not match pings");
    } else {
        assert!(pongs.is_empty());
    }
    let closes: Vec<&WireFrame> = frames
        .iter()
        .filter(|f| f.header.opcode == OpCode::Close)
        .collect();
    assert!(closes.len() <= 1, "more than one Close frame sent");
    let peer_close = r.events.iter().find_map(|e| match e {
        Event::Close(c) => Some(c),
        _ => None,
    });
    if let Some(close) = closes.first() {
        // Nothing follows a Close frame (section 5.5.1).
        assert_eq!(frames.last().map(|f| f.header.opcode), Some(OpCode::Close));
        let sent = CloseFrame::parse(&close.payload).expect("our Close frame is well formed");
        match (r.error, peer_close) {
            (Some(e), None) => {
                // Fail the connection (section 7.1.7): the code on the wire is the error's.
                assert_eq!(sent.map(|f| f.code), Some(e.close_code()));
            }
            (None, Some(peer)) => {
                // The echo carries the peer's code (section 5.5.1), or none.
                assert_eq!(sent.map(|f| f.code), peer.as_ref().map(|f| f.code));
            }
            other => panic!("Close frame sent without a reason: {other:?}"),
        }
    } else {
        assert!(r.error.is_none(), "failed without sending a Close frame");
        assert!(peer_close.is_none());
    }
    // How it ended: the error, else the closing handshake the peer started, else the end of
    // stream that cut the connection.
    let closed = &r.closed;
    match (r.error, peer_close) {
        (Some(e), _) => {
            assert_eq!(closed.cause, CloseCause::Protocol(e));
            assert_eq!(closed.reason, e.as_str());
        }
        (None, Some(peer)) => {
            assert_eq!(closed.cause, CloseCause::PeerClose);
            let (code, reason) = match peer {
                Some(f) => (f.code, f.reason.as_str()),
                None => (CloseCode::NO_STATUS, ""),
            };
            assert_eq!((closed.code, closed.reason.as_str()), (code, reason));
        }
        (None, None) => {
            assert_eq!(closed.cause, CloseCause::TransportLost);
            assert_eq!(closed.code, CloseCode::ABNORMAL);
        }
    }
    if r.error.is_some() {
        assert!(r.shutdown, "a failed connection closes its transport");
        assert_eq!(r.state, State::Closed);
    }
    if r.shutdown {
        assert_eq!(r.state, State::Closed);
    }
}

/// The events of `r` with stream-mode chunks merged into whole messages; messages cut off by
/// an error or by the end of input are dropped. Lets runs with different chunkings compare.
pub fn normalized(events: &[Event]) -> Vec<Event> {
    let mut out = Vec::new();
    let mut pending: Option<(DataKind, Vec<u8>)> = None;
    for e in events {
        match e {
            Event::Chunk(c) => {
                if c.first {
                    assert!(pending.is_none(), "a new message started inside another");
                    pending = Some((c.kind, Vec::new()));
                }
                let (kind, data) = pending.as_mut().expect("chunk without a first chunk");
                assert_eq!(*kind, c.kind);
                data.extend_from_slice(&c.data);
                if c.last {
                    let (kind, data) = pending.take().expect("checked above");
                    out.push(Event::Message(match kind {
                        DataKind::Text => {
                            Message::Text(String::from_utf8(data).expect("valid text"))
                        }
                        DataKind::Binary => Message::Binary(data),
                    }));
                }
            }
            other => out.push(other.clone()),
        }
    }
    out
}

/// permessage-deflate parameters from one input byte: bit 0 `server_no_context_takeover`,
/// bit 1 `client_no_context_takeover`, bits 2-4 and 5-7 the server and client window bits
/// (8 + value, so 8..=15).
pub fn deflate_params(b: u8) -> DeflateParams {
    let mut params = DeflateParams::default();
    params.server_no_context_takeover = b & 1 != 0;
    params.client_no_context_takeover = b & 2 != 0;
    params.server_max_window_bits = Some(8 + ((b >> 2) & 7));
    params.client_max_window_bits = Some(8 + ((b >> 5) & 7));
    params
}

/// Limits derived from one input byte: the top bit picks the defaults, otherwise small ones
/// that inputs can actually reach.
pub fn limits_from(b0: u8, b1: u8) -> Limits {
    if b0 & 0x80 != 0 {
        Limits::default()
    } else {
        Limits::default()
            .with_max_header_bytes(16 + usize::from(b0 & 0x7f) * 16)
            .with_max_headers(1 + usize::from(b1 % 48))
    }
}

/// The prefix-consistency contract shared by both handshake parsers, given `parse` over the
/// whole input and a cut point `k`:
///
/// * `Complete(n)`: `n <= input.len()` and `n <= max_header_bytes`; the bytes after `n` do not
///   matter (parsing `input[..n]` gives the same value); every shorter prefix is `Partial`.
/// * An error on a prefix is the same error on the whole input (errors never depend on bytes
///   that come later, so a server can answer as soon as it sees them).
pub fn check_prefix_consistency<T: PartialEq + core::fmt::Debug>(
    input: &[u8],
    k: usize,
    limits: Limits,
    parse: impl Fn(&[u8]) -> Result<Status<(T, usize)>, HandshakeError>,
) -> Result<Status<(T, usize)>, HandshakeError> {
    let whole = parse(input);
    let k = k.min(input.len());
    let prefix = parse(&input[..k]);
    match &whole {
        Ok(Status::Complete((value, n))) => {
            let n = *n;
            assert!(n <= input.len() && n <= limits.max_header_bytes);
            assert!(n >= 4, "a header block ends with an empty line");
            match parse(&input[..n]) {
                Ok(Status::Complete((again, m))) => {
                    assert_eq!(m, n);
                    assert_eq!(&again, value);
                }
                other => panic!("the header block alone parsed as {other:?}"),
            }
            if k < n {
                assert!(prefix.as_ref().is_ok_and(|s| s.is_partial()), "{prefix:?}");
            }
            if n > 0 {
                assert!(parse(&input[..n - 1]).is_ok_and(|s| s.is_partial()));
            }
        }
        Ok(Status::Partial) => {
            assert!(input.len() <= limits.max_header_bytes);
            assert!(prefix.as_ref().is_ok_and(|s| s.is_partial()), "{prefix:?}");
        }
        Err(e) => {
            if let Err(p) = &prefix {
                assert_eq!(p, e, "an error changed when more bytes arrived");
            }
        }
    }
    if let Err(p) = &prefix {
        assert_eq!(
            whole.as_ref().err(),
            Some(p),
            "an error went away with more bytes"
        );
    }
    whole
}

#[cfg(test)]
mod tests {
    use super::*;
    use ws_proto::frame::encode_frame;

    fn frame(opcode: OpCode, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
        let header = FrameHeader {
            fin: true,
            rsv: 0,
            opcode,
            mask,
            payload_len: 0,
        };
        let mut out = Vec::new();
        encode_frame(header, payload, &mut out);
        out
    }

    #[test]
    fn partial_vectored_writes_give_the_bytes_poll_transmit_gives() {
        let build = || {
            let mut conn = connection(Role::Client, Config::default());
            conn.send(Message::Binary(vec![5; 100_000])).unwrap();
            conn.ping(b"p").unwrap();
            conn.send(Message::Text("x".repeat(20_000))).unwrap();
            conn.send_text("small").unwrap();
            conn
        };
        let mut copied = Vec::new();
        build().poll_transmit(&mut copied);
        for seed in [&[][..], &[0, 1, 0x40, 0x85, 0xc3][..], &[0x02, 0x3f][..]] {
            let mut conn = build();
            let mut written = Vec::new();
            Writer::new(seed).write_all(&mut conn, &mut written);
            assert_eq!(written, copied, "seed {seed:?}");
        }
        let frames = parse_wire(&copied);
        assert_eq!(frames.len(), 4);
        assert_eq!(frames[0].payload, vec![5; 100_000]);
    }

    #[test]
    fn the_wire_decoder_takes_any_pieces() {
        let mut wire = frame(OpCode::Binary, &[9; 300], Some([1, 2, 3, 4]));
        wire.extend(frame(OpCode::Ping, b"", None));
        let whole = parse_wire(&wire);
        assert_eq!(whole.len(), 2);
        assert_eq!(whole[0].payload, vec![9; 300]);
        let mut decoder = WireDecoder::default();
        let mut pieces = Vec::new();
        for piece in chunks(&wire, &[0, 1, 2, 0x45]) {
            pieces.extend(decoder.feed(piece));
        }
        assert_eq!(pieces, whole);
        assert!(decoder.at_frame_start());
    }

    #[test]
    #[should_panic(expected = "ends inside a frame")]
    fn a_truncated_frame_is_noticed() {
        let wire = frame(OpCode::Text, b"hello", None);
        parse_wire(&wire[..wire.len() - 1]);
    }

    #[test]
    fn receive_reports_the_end_once_with_its_cause() {
        let close = frame(OpCode::Close, &[0x03, 0xe8, b'o', b'k'], Some([7; 4]));
        let ping = frame(OpCode::Ping, b"hi", Some([3; 4]));
        let mut wire = ping.clone();
        wire.extend(&close);
        let config = Config::default();
        for output in [
            Output::PollTransmit,
            Output::Vectored(Writer::new(&[1, 0, 2])),
        ] {
            let r = receive(Role::Server, &config, &chunks(&wire, &[3]), output);
            assert_eq!(r.error, None);
            assert_eq!(r.closed.cause, CloseCause::PeerClose);
            assert_eq!(
                (r.closed.code, r.closed.reason.as_str()),
                (CloseCode::NORMAL, "ok")
            );
            assert!(r.shutdown);
            // The Pong, then the echoed Close.
            assert_eq!(parse_wire(&r.out).len(), 2);
        }
        // A reserved opcode fails the connection; end of stream alone loses it.
        let r = receive(
            Role::Server,
            &config,
            &[&[0x83, 0x80, 0, 0, 0, 0]],
            Output::PollTransmit,
        );
        assert_eq!(r.closed.cause, CloseCause::Protocol(r.error.unwrap()));
        let r = receive(Role::Client, &config, &[&ping[..3]], Output::PollTransmit);
        assert_eq!(r.closed.cause, CloseCause::TransportLost);
        assert!(!r.shutdown);
    }
}
