//! Shared harness code for the fuzz targets in `fuzz_targets/`.
//!
//! Every target reaches the sans-IO core directly (no sockets, no mocks): bytes go into
//! [`Connection::receive_data`] or the handshake parsers, and what comes out is checked against
//! the calling contract documented on [`Connection`] and in `ws_proto::handshake`.

use ws_proto::extensions::deflate::DeflateParams;
use ws_proto::frame::mask::apply_mask;
use ws_proto::frame::{decode_header, FrameHeader, OpCode};
use ws_proto::handshake::{Limits, Status};
use ws_proto::{
    CloseFrame, Config, Connection, DataKind, Event, HandshakeError, Message, MessageMode,
    ProtocolError, Role, State, Transmit,
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

/// A connection for `role` with deterministic mask keys.
pub fn connection(role: Role, config: Config) -> Connection {
    match role {
        Role::Server => Connection::server(config),
        Role::Client => Connection::client(config, counter_keys(7)),
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

/// One frame as written by a connection, unmasked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireFrame {
    /// The decoded header.
    pub header: FrameHeader,
    /// The unmasked payload.
    pub payload: Vec<u8>,
}

/// Decodes the frames a connection wrote. Our own output must always be a whole number of
/// well-formed frames.
pub fn parse_wire(mut bytes: &[u8]) -> Vec<WireFrame> {
    let mut frames = Vec::new();
    while !bytes.is_empty() {
        let (header, len) = decode_header(bytes)
            .expect("our own output has a valid header")
            .expect("our own output is a whole number of frames");
        let end = len + header.payload_len as usize;
        assert!(end <= bytes.len(), "our own output has a truncated frame");
        let mut payload = bytes[len..end].to_vec();
        if let Some(key) = header.mask {
            apply_mask(&mut payload, key, 0);
        }
        frames.push(WireFrame { header, payload });
        bytes = &bytes[end..];
    }
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
        _ => {}
    }
}

/// What feeding one byte stream to a connection produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// Every event, in order.
    pub events: Vec<Event>,
    /// The protocol error returned, if any.
    pub error: Option<ProtocolError>,
    /// Every byte the connection asked to write.
    pub out: Vec<u8>,
    /// Whether `Transmit::Shutdown` was reported.
    pub shutdown: bool,
    /// The final state.
    pub state: State,
}

/// Feeds `pieces` to a fresh connection following the calling contract (events, then
/// transmit, after every input) and checks the invariants that hold for any input.
pub fn receive(role: Role, config: &Config, pieces: &[&[u8]]) -> Received {
    receive_on(connection(role, config.clone()), config, pieces)
}

/// [`receive`] on a connection the caller built (for example with permessage-deflate).
pub fn receive_on(mut conn: Connection, config: &Config, pieces: &[&[u8]]) -> Received {
    let role = conn.role();
    let mut events = Vec::new();
    let mut error = None;
    let mut out = Vec::new();
    let mut shutdown = false;
    let mut fed = 0usize;
    for piece in pieces {
        let result = conn.receive_data(piece);
        if error.is_none() {
            fed += piece.len();
        }
        match result {
            Ok(()) => {
                if let Some(e) = error {
                    // Errors are sticky; input after them is discarded.
                    assert_eq!(conn.error(), Some(e));
                }
            }
            Err(e) => {
                assert!(error.is_none(), "an error is returned once");
                assert_eq!(conn.error(), Some(e));
                assert!(!matches!(
                    e,
                    ProtocolError::UnexpectedEof
                        | ProtocolError::CloseTimeout
                        | ProtocolError::KeepaliveTimeout
                ));
                error = Some(e);
            }
        }
        while let Some(event) = conn.poll_event() {
            check_event(&event, config);
            events.push(event);
        }
        // Never more events than input bytes: no amplification in the event queue.
        assert!(
            events.len() <= fed,
            "{} events from {fed} bytes",
            events.len()
        );
        while let Some(t) = conn.poll_transmit(&mut out) {
            match t {
                Transmit::Data(n) => assert!(n > 0 && !shutdown, "data after shutdown"),
                Transmit::Shutdown => {
                    assert!(!shutdown, "shutdown reported twice");
                    shutdown = true;
                }
            }
        }
    }
    let received = Received {
        events,
        error,
        out,
        shutdown,
        state: conn.state(),
    };
    check_output(role, config, &received);
    received
}

/// Checks what the connection wrote against what it received.
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
    if let Some(close) = closes.first() {
        // Nothing follows a Close frame (section 5.5.1).
        assert_eq!(frames.last().map(|f| f.header.opcode), Some(OpCode::Close));
        let sent = CloseFrame::parse(&close.payload).expect("our Close frame is well formed");
        let peer_close = r.events.iter().find_map(|e| match e {
            Event::Close(c) => Some(c),
            _ => None,
        });
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
        assert!(!r.events.iter().any(|e| matches!(e, Event::Close(_))));
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
