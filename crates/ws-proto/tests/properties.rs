//! Property tests of codec invariants over whole connections.

mod common;

use common::*;
use proptest::prelude::*;
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
    let mut client =
        ws_proto::Connection::client(Config::default(), counting_keys(), ws_proto::Instant::ZERO);
    let mut expected = Vec::new();
    for (m, parts) in msgs {
        match m {
            Msg::Ping(p) => {
                client.ping(p).unwrap();
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
                    client.send_fragment(kind, piece, i + 1 == n).unwrap();
                }
                expected.push(Event::Message(msg));
            }
        }
    }
    (drain(&mut client).bytes, expected)
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

    /// Arbitrary bytes never panic a connection; if they fail it, the error's close code is
    /// the one queued on the wire, and the transport is to be closed.
    #[test]
    fn arbitrary_input_fails_cleanly(bytes in proptest::collection::vec(any::<u8>(), 0..200), server_role in any::<bool>()) {
        let mut conn = if server_role {
            ws_proto::Connection::server(Config::default(), ws_proto::Instant::ZERO)
        } else {
            ws_proto::Connection::client(Config::default(), counting_keys(), ws_proto::Instant::ZERO)
        };
        let (r, out) = feed(&mut conn, &bytes);
        if let Err(e) = r {
            prop_assert_eq!(out.close_code(), Some(e.close_code().as_u16()));
            prop_assert!(out.shutdown);
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
