//! Property tests of codec invariants over whole connections.

mod common;

use common::*;
use proptest::prelude::*;
use ws_proto::frame::OpCode;
use ws_proto::{Config, DataKind, Event, Message, MessageMode};

#[derive(Debug, Clone)]
enum Msg {
    Text(String),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
}

fn any_msg() -> impl Strategy<Value = Msg> {
    prop_oneof![
        "\\PC{0,40}".prop_map(Msg::Text),
        proptest::collection::vec(any::<u8>(), 0..300).prop_map(Msg::Binary),
        proptest::collection::vec(any::<u8>(), 0..=125).prop_map(Msg::Ping),
    ]
}

/// Client-side bytes for a list of messages, each data message split into `parts` fragments.
fn client_bytes(msgs: &[(Msg, usize)]) -> (Vec<u8>, Vec<Event>) {
    peer_bytes(
        ws_proto::Connection::client(Config::default(), counting_keys(), ws_proto::Instant::ZERO),
        msgs,
    )
}

/// The bytes `peer` (a connection of either role) sends for a list of messages, each data
/// message split into `parts` fragments, and the events the other side should report.
fn peer_bytes(mut peer: ws_proto::Connection, msgs: &[(Msg, usize)]) -> (Vec<u8>, Vec<Event>) {
    let mut expected = Vec::new();
    for (m, parts) in msgs {
        match m {
            Msg::Ping(p) => {
                peer.ping(p).unwrap();
                expected.push(Event::Ping(p.clone()));
            }
            Msg::Text(_) | Msg::Binary(_) => {
                let (kind, bytes, msg) = match m {
                    Msg::Text(t) => (
                        DataKind::Text,
                        t.as_bytes().to_vec(),
                        Message::Text(t.clone()),
                    ),
                    Msg::Binary(b) => (DataKind::Binary, b.clone(), Message::Binary(b.clone())),
                    Msg::Ping(_) => unreachable!(),
                };
                let parts = (*parts).max(1);
                let step = bytes.len().div_ceil(parts).max(1);
                let mut pieces: Vec<&[u8]> = bytes.chunks(step).collect();
                if pieces.is_empty() {
                    pieces.push(&[]);
                }
                let n = pieces.len();
                for (i, piece) in pieces.into_iter().enumerate() {
                    peer.send_fragment(kind, piece, i + 1 == n).unwrap();
                }
                expected.push(Event::Message(msg));
            }
        }
    }
    (drain(&mut peer).bytes, expected)
}

proptest! {
    /// Feeding the same byte stream in any chunking yields the same events, and those are the
    /// messages that were sent (fragmented text split anywhere, even inside a character).
    #[test]
    fn any_chunking_yields_the_same_events(
        msgs in proptest::collection::vec((any_msg(), 1usize..4), 0..8),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..10),
    ) {
        let (bytes, expected) = client_bytes(&msgs);
        let mut points: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
        points.sort_unstable();
        let mut server = ws_proto::Connection::server(Config::default(), ws_proto::Instant::ZERO);
        let mut events = Vec::new();
        let mut prev = 0;
        for p in points.into_iter().chain([bytes.len()]) {
            let (r, out) = feed(&mut server, &bytes[prev..p]);
            prop_assert_eq!(r, Ok(()));
            events.extend(out.events);
            prev = p;
        }
        prop_assert_eq!(events, expected);
    }

    /// In stream mode, the chunks of each message concatenate to the message, whatever the
    /// chunking, and every text chunk is valid UTF-8 on its own.
    #[test]
    fn stream_mode_chunks_concatenate_to_the_message(
        msgs in proptest::collection::vec((any_msg(), 1usize..4), 0..6),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..10),
    ) {
        let (bytes, expected) = client_bytes(&msgs);
        let mut points: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
        points.sort_unstable();
        let mut config = Config::default();
        config.message_mode = MessageMode::Stream;
        let mut server = ws_proto::Connection::server(config, ws_proto::Instant::ZERO);
        let mut events = Vec::new();
        let mut partial: Option<(DataKind, Vec<u8>)> = None;
        let mut prev = 0;
        for p in points.into_iter().chain([bytes.len()]) {
            let (r, out) = feed(&mut server, &bytes[prev..p]);
            prop_assert_eq!(r, Ok(()));
            for e in out.events {
                match e {
                    Event::Chunk(c) => {
                        if c.kind == DataKind::Text {
                            prop_assert!(std::str::from_utf8(&c.data).is_ok());
                        }
                        prop_assert_eq!(c.first, partial.is_none());
                        let (_, buf) = partial.get_or_insert((c.kind, Vec::new()));
                        buf.extend_from_slice(&c.data);
                        if c.last {
                            let (kind, buf) = partial.take().unwrap();
                            events.push(Event::Message(match kind {
                                DataKind::Text => Message::Text(String::from_utf8(buf).unwrap()),
                                DataKind::Binary => Message::Binary(buf),
                            }));
                        }
                    }
                    other => events.push(other),
                }
            }
            prev = p;
        }
        prop_assert_eq!(events, expected);
    }

    /// Arbitrary bytes never panic a connection, and it answers them as RFC 6455 says in
    /// either case: if they fail it, the error's close code is the one queued on the wire
    /// (none for a code the wire may not carry) and the transport is to be closed; if they do
    /// not, it sent nothing but a Pong for each Ping and, last, the reply to a Close it
    /// received, and it closes the transport only then (a server, section 7.1.1).
    #[test]
    fn arbitrary_input_is_answered_or_fails_cleanly(bytes in proptest::collection::vec(any::<u8>(), 0..200), server_role in any::<bool>()) {
        let mut conn = if server_role {
            ws_proto::Connection::server(Config::default(), ws_proto::Instant::ZERO)
        } else {
            ws_proto::Connection::client(Config::default(), counting_keys(), ws_proto::Instant::ZERO)
        };
        let (r, out) = feed(&mut conn, &bytes);
        let failed_with = conn.closed().and_then(|c| match c.cause {
            ws_proto::CloseCause::Protocol(e) => Some(e),
            _ => None,
        });
        prop_assert_eq!(failed_with, r.err());
        let frames = out.frames();
        match r {
            Err(e) => {
                let code = e.close_code();
                prop_assert_eq!(out.close_code(), code.is_sendable().then_some(code.as_u16()));
                prop_assert!(out.shutdown);
            }
            Ok(()) => {
                let pings: Vec<&Vec<u8>> = out
                    .events
                    .iter()
                    .filter_map(|e| match e { Event::Ping(p) => Some(p), _ => None })
                    .collect();
                let close = out.events.iter().find_map(|e| match e {
                    Event::Close(frame) => Some(frame.as_ref().map(|f| f.code.as_u16())),
                    _ => None,
                });
                let pongs: Vec<&Vec<u8>> = frames
                    .iter()
                    .take_while(|(h, _)| h.opcode == OpCode::Pong)
                    .map(|(_, p)| p)
                    .collect();
                prop_assert_eq!(&pongs, &pings);
                let rest = &frames[pongs.len()..];
                match close {
                    None => {
                        prop_assert!(rest.is_empty(), "{:?}", rest);
                        prop_assert!(!out.shutdown);
                    }
                    Some(code) => {
                        prop_assert_eq!(rest.len(), 1, "{:?}", rest);
                        prop_assert_eq!(rest[0].0.opcode, OpCode::Close);
                        prop_assert_eq!(out.close_code(), Some(code.unwrap_or(1005)));
                        prop_assert_eq!(out.shutdown, server_role);
                    }
                }
            }
        }
    }

    /// A peer's messages followed by one frame that breaks one rule of RFC 6455 (or by none),
    /// fed in any chunking: the messages before it are delivered and Pings answered; the
    /// broken rule fails the connection with the code the RFC gives it (1007 for bad UTF-8,
    /// 1002 for the rest), sent in a Close frame, and nothing after it is read; without one
    /// the connection reports no error, sends no Close and keeps the transport.
    #[test]
    fn a_broken_rule_fails_with_its_code_and_only_then(
        msgs in proptest::collection::vec((any_msg(), 1usize..4), 0..5),
        broken in proptest::option::of(any_broken_rule()),
        tail in proptest::collection::vec(any::<u8>(), 0..40),
        server_role in any::<bool>(),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..6),
    ) {
        let (mut conn, peer) = if server_role {
            let peer = ws_proto::Connection::client(Config::default(), counting_keys(), ws_proto::Instant::ZERO);
            (ws_proto::Connection::server(Config::default(), ws_proto::Instant::ZERO), peer)
        } else {
            let conn = ws_proto::Connection::client(Config::default(), counting_keys(), ws_proto::Instant::ZERO);
            (conn, ws_proto::Connection::server(Config::default(), ws_proto::Instant::ZERO))
        };
        let (mut bytes, expected) = peer_bytes(peer, &msgs);
        if let Some(rule) = &broken {
            bytes.extend(rule.frame(server_role));
            bytes.extend(&tail);
        }
        let mut points: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
        points.sort_unstable();
        let (mut first_error, mut out, mut prev) = (None, Output::default(), 0);
        for p in points.into_iter().chain([bytes.len()]) {
            let (r, more) = feed(&mut conn, &bytes[prev..p]);
            if let Err(e) = r {
                prop_assert_eq!(first_error, None, "a second error {:?}", e);
                first_error = Some(e);
            }
            out.events.extend(more.events);
            out.bytes.extend(more.bytes);
            out.shutdown |= more.shutdown;
            prev = p;
        }
        // The events before the end are the peer's messages; a broken rule ends the
        // connection, and that end is the last event.
        let (events, end) = match out.events.split_last() {
            Some((Event::Closed(closed), before)) => (before, Some(closed.clone())),
            _ => (&out.events[..], None),
        };
        prop_assert_eq!(events, &expected[..]);
        prop_assert_eq!(
            end.map(|c| c.cause),
            first_error.map(ws_proto::CloseCause::Protocol)
        );
        let pings: Vec<Vec<u8>> = expected
            .iter()
            .filter_map(|e| match e { Event::Ping(p) => Some(p.clone()), _ => None })
            .collect();
        let frames = out.frames();
        let pongs: Vec<Vec<u8>> = frames
            .iter()
            .filter(|(h, _)| h.opcode == OpCode::Pong)
            .map(|(_, p)| p.clone())
            .collect();
        prop_assert_eq!(pongs, pings);
        match &broken {
            Some(rule) => {
                let code = first_error.map(|e| e.close_code().as_u16());
                prop_assert_eq!(code, Some(rule.close_code()), "{:?}", first_error);
                prop_assert_eq!(frames.last().map(|(h, _)| h.opcode), Some(OpCode::Close));
                prop_assert_eq!(out.close_code(), Some(rule.close_code()));
                prop_assert!(out.shutdown);
            }
            None => {
                prop_assert_eq!(first_error, None);
                prop_assert_eq!(conn.closed(), None);
                prop_assert_eq!(out.close_code(), None);
                prop_assert!(!out.shutdown);
            }
        }
    }
}

/// One frame that breaks one rule of RFC 6455, after complete messages.
#[derive(Debug, Clone)]
enum BrokenRule {
    /// Section 5.2: an RSV bit (0 to 2: RSV1 to RSV3) with no extension negotiated.
    ReservedBit(u8),
    /// Section 5.2: an opcode 3-7 or 0xB-0xF.
    ReservedOpcode(u8),
    /// Section 5.1: a client frame unmasked, or a server frame masked.
    WrongMasking,
    /// Section 5.2: a 64-bit length with its most significant bit set.
    LengthTopBit,
    /// Section 5.5: a control frame (0x8-0xA) with more than 125 bytes.
    LongControl(u8, usize),
    /// Section 5.5: a control frame with FIN clear.
    FragmentedControl(u8),
    /// Section 5.4: a continuation frame with no message in progress.
    LoneContinuation,
    /// Section 5.4: a new data frame inside a fragmented message.
    Interleaved,
    /// Section 8.1: a text message that is not UTF-8 (a valid prefix, then these bytes).
    BadUtf8(String, Vec<u8>),
    /// Section 5.5.1: a Close payload of one byte.
    OneByteClose(u8),
    /// Section 7.4: a Close code the wire may not carry.
    ForbiddenCloseCode(u16),
    /// Section 5.5.1: a Close reason that is not UTF-8.
    BadCloseReason,
}

fn any_broken_rule() -> impl Strategy<Value = BrokenRule> {
    prop_oneof![
        (0u8..3).prop_map(BrokenRule::ReservedBit),
        prop_oneof![3u8..=7, 0xbu8..=0xf].prop_map(BrokenRule::ReservedOpcode),
        Just(BrokenRule::WrongMasking),
        Just(BrokenRule::LengthTopBit),
        (0x8u8..=0xa, 126usize..300).prop_map(|(op, len)| BrokenRule::LongControl(op, len)),
        (0x8u8..=0xa).prop_map(BrokenRule::FragmentedControl),
        Just(BrokenRule::LoneContinuation),
        Just(BrokenRule::Interleaved),
        (
            "\\PC{0,10}",
            prop_oneof![
                Just(vec![0xff]),
                Just(vec![0xc0, 0x80]),       // overlong
                Just(vec![0xed, 0xa0, 0x80]), // a surrogate
                Just(vec![0xe2, 0x82]),       // cut short at the end of the message
            ]
        )
            .prop_map(|(text, bad)| BrokenRule::BadUtf8(text, bad)),
        any::<u8>().prop_map(BrokenRule::OneByteClose),
        prop::sample::select(vec![
            0u16, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535
        ])
        .prop_map(BrokenRule::ForbiddenCloseCode),
        Just(BrokenRule::BadCloseReason),
    ]
}

impl BrokenRule {
    /// The close code section 7.4.1 gives the violation.
    fn close_code(&self) -> u16 {
        match self {
            BrokenRule::BadUtf8(..) | BrokenRule::BadCloseReason => 1007,
            _ => 1002,
        }
    }

    /// The frame as the peer of a connection in the given role sends it (a client's frames
    /// masked, a server's not).
    fn frame(&self, to_server: bool) -> Vec<u8> {
        let frame = |fin, opcode, payload: &[u8]| {
            if to_server {
                masked(fin, opcode, payload)
            } else {
                unmasked(fin, opcode, payload)
            }
        };
        let control = |op: u8| [OpCode::Close, OpCode::Ping, OpCode::Pong][usize::from(op - 8)];
        match self {
            BrokenRule::ReservedBit(bit) => {
                let mut bytes = frame(true, OpCode::Binary, b"x");
                bytes[0] |= 0x40 >> bit;
                bytes
            }
            BrokenRule::ReservedOpcode(op) => {
                let mut bytes = frame(true, OpCode::Binary, b"x");
                bytes[0] = 0x80 | op;
                bytes
            }
            BrokenRule::WrongMasking => {
                if to_server {
                    unmasked(true, OpCode::Text, b"x")
                } else {
                    masked(true, OpCode::Text, b"x")
                }
            }
            BrokenRule::LengthTopBit => {
                let mut bytes = vec![0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 1];
                if to_server {
                    bytes[1] |= 0x80;
                    bytes.extend_from_slice(&KEY);
                }
                bytes
            }
            BrokenRule::LongControl(op, len) => frame(true, control(*op), &vec![b'p'; *len]),
            BrokenRule::FragmentedControl(op) => frame(false, control(*op), b""),
            BrokenRule::LoneContinuation => frame(true, OpCode::Continuation, b"x"),
            BrokenRule::Interleaved => {
                let mut bytes = frame(false, OpCode::Text, b"a");
                bytes.extend(frame(true, OpCode::Binary, b"b"));
                bytes
            }
            BrokenRule::BadUtf8(text, bad) => {
                let mut payload = text.as_bytes().to_vec();
                payload.extend_from_slice(bad);
                frame(true, OpCode::Text, &payload)
            }
            BrokenRule::OneByteClose(byte) => frame(true, OpCode::Close, &[*byte]),
            BrokenRule::ForbiddenCloseCode(code) => frame(true, OpCode::Close, &code.to_be_bytes()),
            BrokenRule::BadCloseReason => frame(true, OpCode::Close, b"\x03\xe8\xff"),
        }
    }
}

/// Feeds `bytes` as an adapter that reads large payloads in place would: whenever the server
/// offers room (`receive_buffer`), the next read goes there; otherwise into a read buffer.
/// `reads` are the read sizes, cycled.
fn feed_in_place(
    server: &mut ws_proto::Connection,
    mut bytes: &[u8],
    reads: &[usize],
) -> (Result<(), ws_proto::ProtocolError>, Vec<Event>, usize) {
    let mut events = Vec::new();
    let mut in_place = 0;
    let mut i = 0;
    while !bytes.is_empty() {
        let want = reads[i % reads.len()].max(1);
        i += 1;
        let result = match server.receive_buffer() {
            Some(room) => {
                let n = want.min(room.len()).min(bytes.len());
                room[..n].copy_from_slice(&bytes[..n]);
                bytes = &bytes[n..];
                in_place += n;
                server.receive_in_place(n, ws_proto::Instant::ZERO)
            }
            None => {
                let n = want.min(bytes.len());
                let r = server.receive_data(&bytes[..n], ws_proto::Instant::ZERO);
                bytes = &bytes[n..];
                r
            }
        };
        while let Some(e) = server.poll_event() {
            events.push(e);
        }
        if result.is_err() {
            return (result, events, in_place);
        }
    }
    (Ok(()), events, in_place)
}

fn large_msg() -> impl Strategy<Value = Msg> {
    prop_oneof![
        (60_000usize..200_000, any::<u8>())
            .prop_map(|(n, b)| Msg::Binary((0..n).map(|i| (i as u8).wrapping_mul(b)).collect())),
        (20_000usize..70_000).prop_map(|n| Msg::Text("añ€😀".repeat(n / 10))),
        any_msg(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Reading large payloads in place (`receive_buffer` / `receive_in_place`) yields the
    /// same events as `receive_data`, whatever the read sizes and fragmentation.
    #[test]
    fn reading_in_place_yields_the_same_events(
        msgs in proptest::collection::vec((large_msg(), 1usize..4), 1..4),
        reads in proptest::collection::vec(1usize..150_000, 1..6),
    ) {
        let (bytes, expected) = client_bytes(&msgs);
        let mut server = ws_proto::Connection::server(Config::default(), ws_proto::Instant::ZERO);
        let (result, events, _) = feed_in_place(&mut server, &bytes, &reads);
        prop_assert_eq!(result, Ok(()));
        prop_assert_eq!(events, expected);
    }
}

#[test]
fn large_payloads_are_read_in_place_and_bad_text_fails_there_too() {
    use ws_proto::frame::OpCode;
    use ws_proto::ProtocolError;
    // A 300 KB binary frame: most of it goes in place.
    let payload: Vec<u8> = (0..300_000u32).map(|i| i as u8).collect();
    let bytes = masked(true, OpCode::Binary, &payload);
    let mut server = ws_proto::Connection::server(Config::default(), ws_proto::Instant::ZERO);
    let (r, events, in_place) = feed_in_place(&mut server, &bytes, &[4096, 100_000]);
    assert_eq!(r, Ok(()));
    assert_eq!(events, [Event::Message(Message::Binary(payload))]);
    assert!(in_place > 150_000, "{in_place} bytes read in place");
    // Invalid UTF-8 deep inside a large text frame fails with 1007 when it is read in place.
    let mut text = "a".repeat(200_000).into_bytes();
    text[150_000] = 0xff;
    let bytes = masked(true, OpCode::Text, &text);
    let mut server = ws_proto::Connection::server(Config::default(), ws_proto::Instant::ZERO);
    let (r, events, in_place) = feed_in_place(&mut server, &bytes, &[1000, 60_000]);
    assert_eq!(r, Err(ProtocolError::InvalidUtf8));
    assert!(in_place > 0);
    // Nothing but the end: the Close frame with 1007 is queued once the events were seen.
    assert!(matches!(&events[..], [ws_proto::Event::Closed(c)] if c.code.as_u16() == 1007));
    // Room follows the data: a frame announcing 64 MiB gets none until 64 KiB of it arrived,
    // then never more than what arrived, and at most 1 MiB at a time.
    let mut header = masked(true, OpCode::Binary, &[]);
    header[1] = 0x80 | 127;
    header.splice(2..2, (64u64 << 20).to_be_bytes());
    let mut server = ws_proto::Connection::server(Config::default(), ws_proto::Instant::ZERO);
    server
        .receive_data(&header, ws_proto::Instant::ZERO)
        .unwrap();
    assert!(server.receive_buffer().is_none());
    server
        .receive_data(&vec![0; 100_000], ws_proto::Instant::ZERO)
        .unwrap();
    assert_eq!(server.receive_buffer().map(|r| r.len()), Some(100_000));
    server
        .receive_in_place(100_000, ws_proto::Instant::ZERO)
        .unwrap();
    server
        .receive_data(&vec![0; 3 << 20], ws_proto::Instant::ZERO)
        .unwrap();
    assert_eq!(server.receive_buffer().map(|r| r.len()), Some(1 << 20));
}
