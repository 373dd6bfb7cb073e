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
    let mut client = ws_proto::Connection::client(Config::default(), counting_keys());
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
        let mut server = ws_proto::Connection::server(Config::default());
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
        let mut server = ws_proto::Connection::server(config);
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
            ws_proto::Connection::server(Config::default())
        } else {
            ws_proto::Connection::client(Config::default(), counting_keys())
        };
        let (r, out) = feed(&mut conn, &bytes);
        if let Err(e) = r {
            prop_assert_eq!(out.close_code(), Some(e.close_code().as_u16()));
            prop_assert!(out.shutdown);
        }
    }
}
