//! Shared test helpers: frame builders, a frame reader, and a deterministic two-peer harness
//! with a simulated clock.
#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use ws_proto::frame::mask::apply_mask;
use ws_proto::frame::{decode_header, encode_frame, FrameHeader, OpCode};
use ws_proto::{Closed, Config, Connection, Event, Instant, ProtocolError, Transmit};

pub const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// A deterministic mask key source: 1,2,3,4 then 5,6,7,8 ...
pub fn counting_keys() -> impl FnMut() -> [u8; 4] + Send {
    let mut n = 0u8;
    move || {
        let mut k = [0; 4];
        for b in &mut k {
            n = n.wrapping_add(1);
            *b = n;
        }
        k
    }
}

/// Encodes a frame as a client would send it (masked with [`KEY`]).
pub fn masked(fin: bool, opcode: OpCode, payload: &[u8]) -> Vec<u8> {
    raw(
        FrameHeader {
            fin,
            rsv: 0,
            opcode,
            mask: Some(KEY),
            payload_len: 0,
        },
        payload,
    )
}

/// Encodes a frame as a server would send it (unmasked).
pub fn unmasked(fin: bool, opcode: OpCode, payload: &[u8]) -> Vec<u8> {
    raw(
        FrameHeader {
            fin,
            rsv: 0,
            opcode,
            mask: None,
            payload_len: 0,
        },
        payload,
    )
}

pub fn raw(header: FrameHeader, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    encode_frame(header, payload, &mut out);
    out
}

/// Splits bytes written by a connection into frames, unmasking payloads.
pub fn frames(mut bytes: &[u8]) -> Vec<(FrameHeader, Vec<u8>)> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let (h, n) = decode_header(bytes)
            .unwrap()
            .expect("truncated frame in output");
        let end = n + h.payload_len as usize;
        let mut payload = bytes[n..end].to_vec();
        if let Some(key) = h.mask {
            apply_mask(&mut payload, key, 0);
        }
        out.push((h, payload));
        bytes = &bytes[end..];
    }
    out
}

/// Everything a connection has to say after an input.
#[derive(Debug, Default)]
pub struct Output {
    pub events: Vec<Event>,
    pub bytes: Vec<u8>,
    pub shutdown: bool,
}

impl Output {
    pub fn frames(&self) -> Vec<(FrameHeader, Vec<u8>)> {
        frames(&self.bytes)
    }

    /// The close code of the single Close frame in the output, if any.
    pub fn close_code(&self) -> Option<u16> {
        self.frames()
            .iter()
            .find(|(h, _)| h.opcode == OpCode::Close)
            .map(|(_, p)| {
                if p.len() >= 2 {
                    u16::from_be_bytes([p[0], p[1]])
                } else {
                    1005
                }
            })
    }
}

pub fn drain(conn: &mut Connection) -> Output {
    let mut out = Output::default();
    while let Some(e) = conn.poll_event() {
        out.events.push(e);
    }
    while let Some(t) = conn.poll_transmit(&mut out.bytes) {
        match t {
            Transmit::Data(n) => assert!(n > 0, "empty Data transmit"),
            Transmit::Shutdown => {
                assert!(!out.shutdown, "Shutdown reported twice");
                out.shutdown = true;
            }
        }
    }
    out
}

/// Feeds `bytes` to `conn` and collects the result and the output.
pub fn feed(conn: &mut Connection, bytes: &[u8]) -> (Result<(), ProtocolError>, Output) {
    let r = conn.receive_data(bytes, Instant::ZERO);
    (r, drain(conn))
}

pub fn at(secs: f64) -> Instant {
    Instant::from_duration(Duration::from_secs_f64(secs))
}

/// The [`Event::Closed`] among `events`, which must be the last event.
pub fn closed_of(events: &[Event]) -> Option<&Closed> {
    let position = events.iter().position(|e| matches!(e, Event::Closed(_)))?;
    assert_eq!(
        position,
        events.len() - 1,
        "Event::Closed is not the last event"
    );
    match &events[position] {
        Event::Closed(closed) => Some(closed),
        _ => None,
    }
}

/// A client and a server connected back to back, with a simulated clock.
pub struct Pair {
    pub client: Connection,
    pub server: Connection,
    pub now: Instant,
    pub client_events: Vec<Event>,
    pub server_events: Vec<Event>,
    pub client_errors: Vec<ProtocolError>,
    pub server_errors: Vec<ProtocolError>,
    pub client_shutdown: bool,
    pub server_shutdown: bool,
    /// Each side has been told end of stream.
    pub client_eof: bool,
    pub server_eof: bool,
    /// Bytes each side wrote, in total.
    pub client_wrote: usize,
    pub server_wrote: usize,
}

impl Pair {
    pub fn new(client_config: Config, server_config: Config) -> Pair {
        Pair {
            client: Connection::client(client_config, counting_keys(), Instant::ZERO),
            server: Connection::server(server_config, Instant::ZERO),
            now: Instant::ZERO,
            client_events: Vec::new(),
            server_events: Vec::new(),
            client_errors: Vec::new(),
            server_errors: Vec::new(),
            client_shutdown: false,
            server_shutdown: false,
            client_eof: false,
            server_eof: false,
            client_wrote: 0,
            server_wrote: 0,
        }
    }

    /// Exchanges bytes (and timer calls due at the current time) until neither side has
    /// anything more to do. A side's Shutdown reaches the other as end of stream.
    pub fn drive(&mut self) {
        loop {
            let mut progress = false;
            for client_side in [true, false] {
                let (me, peer) = if client_side {
                    (&mut self.client, &mut self.server)
                } else {
                    (&mut self.server, &mut self.client)
                };
                let (my_events, my_errors, peer_errors, my_shutdown, wrote, peer_eof) =
                    if client_side {
                        (
                            &mut self.client_events,
                            &mut self.client_errors,
                            &mut self.server_errors,
                            &mut self.client_shutdown,
                            &mut self.client_wrote,
                            &mut self.server_eof,
                        )
                    } else {
                        (
                            &mut self.server_events,
                            &mut self.server_errors,
                            &mut self.client_errors,
                            &mut self.server_shutdown,
                            &mut self.server_wrote,
                            &mut self.client_eof,
                        )
                    };
                let _ = my_errors;
                if me.poll_timeout().is_some_and(|t| t <= self.now) {
                    me.handle_timeout(self.now);
                    progress = true;
                }
                while let Some(e) = me.poll_event() {
                    my_events.push(e);
                    progress = true;
                }
                let mut buf = Vec::new();
                while let Some(t) = me.poll_transmit(&mut buf) {
                    progress = true;
                    match t {
                        Transmit::Data(_) => {}
                        Transmit::Shutdown => *my_shutdown = true,
                    }
                }
                *wrote += buf.len();
                if !buf.is_empty() {
                    if let Err(e) = peer.receive_data(&buf, self.now) {
                        peer_errors.push(e);
                    }
                }
                if *my_shutdown && !*peer_eof {
                    *peer_eof = true;
                    peer.receive_eof();
                    progress = true;
                }
            }
            if !progress {
                break;
            }
        }
    }

    /// Moves the clock to the earliest deadline of either side and drives; false if no timer
    /// is set.
    pub fn advance(&mut self) -> bool {
        let next = [self.client.poll_timeout(), self.server.poll_timeout()]
            .into_iter()
            .flatten()
            .min();
        match next {
            Some(t) => {
                self.now = self.now.max(t);
                self.drive();
                true
            }
            None => false,
        }
    }
}
