//! permessage-deflate (RFC 7692) on whole connections, by section: the RFC's examples byte
//! for byte, the RSV1 rules, context takeover, the deflate bomb, and properties (round trip
//! under every parameter combination, chunking invariance).
#![cfg(feature = "deflate")]

mod common;

use common::*;
use proptest::prelude::*;
use ws_proto::extensions::deflate::DeflateParams;
use ws_proto::frame::{FrameHeader, OpCode, RSV1};
use ws_proto::{Config, Connection, DataKind, Event, Message, MessageMode, ProtocolError};

fn config() -> Config {
    let mut config = Config::default();
    config.deflate.min_size = 0;
    config
}

fn params(snct: bool, cnct: bool, sbits: Option<u8>, cbits: Option<u8>) -> DeflateParams {
    let mut p = DeflateParams::default();
    p.server_no_context_takeover = snct;
    p.client_no_context_takeover = cnct;
    p.server_max_window_bits = sbits;
    p.client_max_window_bits = cbits;
    p
}

fn server(p: DeflateParams) -> Connection {
    Connection::server(config(), ws_proto::Instant::ZERO).with_deflate(p)
}

fn client(p: DeflateParams) -> Connection {
    Connection::client(config(), counting_keys(), ws_proto::Instant::ZERO).with_deflate(p)
}

/// A client frame with the given RSV bits.
fn masked_rsv(fin: bool, rsv: u8, opcode: OpCode, payload: &[u8]) -> Vec<u8> {
    raw(
        FrameHeader {
            fin,
            rsv,
            opcode,
            mask: Some(KEY),
            payload_len: 0,
        },
        payload,
    )
}

fn text(s: &str) -> Event {
    Event::Message(Message::Text(s.into()))
}

mod section_7_2_3_examples {
    use super::*;

    const HELLO: [u8; 7] = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];

    #[test]
    fn a_message_compressed_in_one_frame() {
        // 7.2.3.1
        let mut s = server(DeflateParams::default());
        s.send_text("Hello").unwrap();
        let out = drain(&mut s);
        assert_eq!(
            out.bytes,
            [0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]
        );
        let mut c = client(DeflateParams::default());
        let (r, out) = feed(&mut c, &out.bytes);
        assert_eq!((r, out.events), (Ok(()), vec![text("Hello")]));
    }

    #[test]
    fn a_compressed_message_in_two_frames() {
        // 7.2.3.1: 0x41 0x03 0xf2 0x48 0xcd, then 0x80 0x04 0xc9 0xc9 0x07 0x00
        let mut c = client(DeflateParams::default());
        let (r, out) = feed(&mut c, &[0x41, 0x03, 0xf2, 0x48, 0xcd]);
        assert_eq!((r, out.events.len()), (Ok(()), 0));
        let (r, out) = feed(&mut c, &[0x80, 0x04, 0xc9, 0xc9, 0x07, 0x00]);
        assert_eq!((r, out.events), (Ok(()), vec![text("Hello")]));
    }

    #[test]
    fn context_takeover_shares_the_window() {
        // 7.2.3.2: the second "Hello" is 0xf2 0x00 0x11 0x00 0x00.
        let mut s = server(DeflateParams::default());
        s.send_text("Hello").unwrap();
        s.send_text("Hello").unwrap();
        let out = drain(&mut s);
        let expected: Vec<u8> = [
            &[0xc1, 0x07][..],
            &HELLO,
            &[0xc1, 0x05, 0xf2, 0x00, 0x11, 0x00, 0x00],
        ]
        .concat();
        assert_eq!(out.bytes, expected);
        let mut c = client(DeflateParams::default());
        let (r, out) = feed(&mut c, &expected);
        assert_eq!(
            (r, out.events),
            (Ok(()), vec![text("Hello"), text("Hello")])
        );
        // With server_no_context_takeover, both are the same.
        let mut s = server(params(true, false, None, None));
        s.send_text("Hello").unwrap();
        s.send_text("Hello").unwrap();
        let out = drain(&mut s);
        let twice: Vec<u8> = [&[0xc1, 0x07][..], &HELLO, &[0xc1, 0x07], &HELLO].concat();
        assert_eq!(out.bytes, twice);
    }

    #[test]
    fn stored_and_final_blocks_are_accepted() {
        // 7.2.3.3 (no compression) and 7.2.3.5 (BFINAL set), then a normal message.
        let mut c = client(DeflateParams::default());
        let stored = [
            0xc1, 0x0b, 0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
        ];
        let bfinal = [0xc1, 0x08, 0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00];
        let normal = [0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
        let all = [&stored[..], &bfinal, &bfinal, &normal].concat();
        let (r, out) = feed(&mut c, &all);
        assert_eq!(r, Ok(()));
        assert_eq!(out.events, vec![text("Hello"); 4]);
    }

    #[test]
    fn uncompressed_messages_do_not_disturb_the_window() {
        // A message sent with RSV1 clear while the extension is active is not part of the
        // DEFLATE stream: the next compressed message still refers to the one before it.
        let mut s = server(DeflateParams::default());
        s.send_text("Hello").unwrap();
        s.send_uncompressed(DataKind::Text, b"Hello").unwrap();
        s.send_text("Hello").unwrap();
        let out = drain(&mut s);
        let frames = out.frames();
        assert_eq!(frames[1].0.rsv, 0);
        assert_eq!(frames[1].1, b"Hello");
        assert_eq!(frames[2].1, [0xf2, 0x00, 0x11, 0x00, 0x00]);
        let mut c = client(DeflateParams::default());
        let (r, out) = feed(&mut c, &out.bytes);
        assert_eq!((r, out.events), (Ok(()), vec![text("Hello"); 3]));
    }

    #[test]
    fn messages_below_the_threshold_are_sent_uncompressed() {
        let mut config = Config::default();
        config.deflate.min_size = 6;
        let mut s = Connection::server(config, ws_proto::Instant::ZERO)
            .with_deflate(DeflateParams::default());
        s.send_text("Hello").unwrap();
        s.send_text("Hello!").unwrap();
        let frames = drain(&mut s).frames();
        assert_eq!((frames[0].0.rsv, frames[1].0.rsv), (0, RSV1));
    }
}

mod section_6_1_compression_bit {
    use super::*;

    fn fails_with_1002(bytes: &[u8]) {
        let mut s = server(DeflateParams::default());
        let (r, out) = feed(&mut s, bytes);
        assert_eq!(r, Err(ProtocolError::InvalidCompressionBit));
        assert_eq!(out.close_code(), Some(1002));
        assert!(out.shutdown);
    }

    #[test]
    fn rsv1_on_a_control_frame_fails() {
        fails_with_1002(&masked_rsv(true, RSV1, OpCode::Ping, b""));
    }

    #[test]
    fn rsv1_on_a_continuation_frame_fails() {
        let first = masked_rsv(false, RSV1, OpCode::Text, &[0xf2, 0x48, 0xcd]);
        let next = masked_rsv(true, RSV1, OpCode::Continuation, &[0xc9, 0xc9, 0x07, 0x00]);
        fails_with_1002(&[first, next].concat());
    }

    #[test]
    fn rsv1_without_the_extension_fails() {
        let mut s = Connection::server(config(), ws_proto::Instant::ZERO);
        let (r, out) = feed(&mut s, &masked_rsv(true, RSV1, OpCode::Text, &[0x00]));
        assert_eq!(r, Err(ProtocolError::ReservedBitsSet));
        assert_eq!(out.close_code(), Some(1002));
    }

    #[test]
    fn rsv2_and_rsv3_still_fail() {
        let mut s = server(DeflateParams::default());
        let (r, _) = feed(&mut s, &masked_rsv(true, 0b010, OpCode::Text, b"a"));
        assert_eq!(r, Err(ProtocolError::ReservedBitsSet));
    }

    #[test]
    fn fragmented_compressed_messages_are_sent_with_rsv1_on_the_first_frame() {
        let mut c = client(DeflateParams::default());
        c.send_fragment(DataKind::Text, b"Hel", false).unwrap();
        c.ping(b"p").unwrap();
        c.send_fragment(DataKind::Text, b"lo", false).unwrap();
        c.send_fragment(DataKind::Text, b"", true).unwrap();
        let out = drain(&mut c);
        let rsv: Vec<u8> = out.frames().iter().map(|(h, _)| h.rsv).collect();
        assert_eq!(rsv, [RSV1, 0, 0, 0]);
        let mut s = server(DeflateParams::default());
        let (r, out) = feed(&mut s, &out.bytes);
        assert_eq!(r, Ok(()));
        assert_eq!(out.events, vec![Event::Ping(b"p".to_vec()), text("Hello")]);
    }

    #[test]
    fn invalid_compressed_data_fails() {
        let mut s = server(DeflateParams::default());
        let (r, out) = feed(
            &mut s,
            &masked_rsv(true, RSV1, OpCode::Binary, &[0xff, 0xff, 0xff]),
        );
        assert_eq!(r, Err(ProtocolError::InvalidCompressedData));
        assert_eq!(out.close_code(), Some(1002));
    }

    /// Section 7.1.2.2: a client that agreed to `client_max_window_bits=9` but refers further
    /// back (here: a client compressing with a 2^15 window) fails the connection with 1002,
    /// whatever the inflate backend would allow; the same frame within the agreed window is
    /// accepted.
    #[test]
    fn a_reference_beyond_the_agreed_window_fails_with_1002() {
        // Blocks of 1000 distinct-looking bytes, each repeated: matches 1000 bytes back.
        let mut text = String::new();
        for block in 0..8u32 {
            let part: String = (0..1000u32)
                .map(|i| char::from(b'a' + ((i * 7 + block * 13 + i / 26) % 26) as u8))
                .collect();
            text.push_str(&part);
            text.push_str(&part);
        }
        let mut c = client(params(false, false, None, None));
        c.send_text(&text).unwrap();
        let frame = drain(&mut c).bytes;
        let mut within = server(params(false, false, None, None));
        let (r, out) = feed(&mut within, &frame);
        assert_eq!(
            (r, out.events),
            (Ok(()), vec![Event::Message(Message::Text(text))])
        );
        let mut limited = server(params(false, false, None, Some(9)));
        let (r, out) = feed(&mut limited, &frame);
        assert_eq!(r, Err(ProtocolError::InvalidCompressedData));
        assert_eq!(out.close_code(), Some(1002));
    }
}

mod section_9_security {
    use super::*;

    /// `n` zero bytes, compressed by a peer (about 1000:1).
    fn bomb(n: usize) -> Vec<u8> {
        let mut c = client(DeflateParams::default());
        c.send_binary(&vec![0u8; n]).unwrap();
        drain(&mut c).bytes
    }

    #[test]
    fn a_deflate_bomb_fails_with_1009_as_soon_as_the_limit_is_passed() {
        let bytes = bomb(16 << 20);
        assert!(bytes.len() < 64 * 1024, "compressed to {}", bytes.len());
        for mode in [MessageMode::Reassemble, MessageMode::Stream] {
            let mut config = config();
            config.max_message_size = 1 << 20;
            config.message_mode = mode;
            let mut s = Connection::server(config, ws_proto::Instant::ZERO)
                .with_deflate(DeflateParams::default());
            // Fed in small pieces: it must fail well before the whole message has arrived.
            let mut failed_at = None;
            for (i, piece) in bytes.chunks(256).enumerate() {
                if let Err(e) = s.receive_data(piece, ws_proto::Instant::ZERO) {
                    assert_eq!(e, ProtocolError::MessageTooLarge);
                    failed_at = Some(i * 256);
                    break;
                }
            }
            let failed_at = failed_at.expect("the bomb was not detected");
            assert!(
                failed_at < bytes.len() / 8,
                "failed only at byte {failed_at}"
            );
            let out = drain(&mut s);
            assert_eq!(out.close_code(), Some(1009));
        }
    }

    #[test]
    fn a_message_of_exactly_the_limit_passes() {
        let mut config = config();
        config.max_message_size = 100_000;
        let mut s = Connection::server(config, ws_proto::Instant::ZERO)
            .with_deflate(DeflateParams::default());
        let (r, out) = feed(&mut s, &bomb(100_000));
        assert_eq!(r, Ok(()));
        assert_eq!(
            out.events,
            vec![Event::Message(Message::Binary(vec![0; 100_000]))]
        );
        let (r, _) = feed(&mut s, &bomb(100_001));
        assert_eq!(r, Err(ProtocolError::MessageTooLarge));
    }

    /// Incompressible bytes (a fixed pseudo-random sequence).
    fn noise(n: usize) -> Vec<u8> {
        let mut x = 0x9e37_79b9_u32;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect()
    }

    /// A compressed message counts against `max_message_size` once, as inflated data: one
    /// whose compressed form is larger than the limit (incompressible data grows when
    /// deflated) but inflates to exactly the limit passes, in one frame and fragmented; one
    /// byte more fails with 1009.
    #[test]
    fn a_compressed_message_counts_once_as_inflated_data() {
        const LIMIT: usize = 10_000;
        let limited = |limit| {
            let mut config = config();
            config.max_message_size = limit;
            Connection::server(config, ws_proto::Instant::ZERO)
                .with_deflate(DeflateParams::default())
        };
        let data = noise(LIMIT);
        let mut c = client(DeflateParams::default());
        c.send_binary(&data).unwrap();
        let whole = drain(&mut c).bytes;
        // A new client: with context takeover the same data again would refer to the first.
        let mut c = client(DeflateParams::default());
        c.send_fragment(DataKind::Binary, &data[..LIMIT / 2], false)
            .unwrap();
        c.send_fragment(DataKind::Binary, &data[LIMIT / 2..], true)
            .unwrap();
        let fragmented = drain(&mut c).bytes;
        for bytes in [&whole, &fragmented] {
            assert!(bytes.len() > LIMIT + 8, "compressed to {}", bytes.len());
            let mut s = limited(LIMIT);
            let (r, out) = feed(&mut s, bytes);
            assert_eq!(r, Ok(()));
            assert_eq!(
                out.events,
                vec![Event::Message(Message::Binary(data.clone()))]
            );
        }
        let mut c = client(DeflateParams::default());
        c.send_binary(&noise(LIMIT + 1)).unwrap();
        let mut s = limited(LIMIT);
        let (r, out) = feed(&mut s, &drain(&mut c).bytes);
        assert_eq!(r, Err(ProtocolError::MessageTooLarge));
        assert_eq!(out.close_code(), Some(1009));
        // Uncompressed, the same limit holds from the header.
        let mut s = limited(LIMIT);
        let frame = masked_rsv(true, 0, OpCode::Binary, &noise(LIMIT + 1));
        let (r, _) = feed(&mut s, &frame[..20]);
        assert_eq!(r, Err(ProtocolError::MessageTooLarge));
    }

    /// An empty message after another one, and a message whose last fragment is empty, reach
    /// the peer (section 7.2.3.6: the empty block is the single octet 0x00).
    #[test]
    fn empty_messages_and_empty_last_fragments_after_earlier_messages() {
        let mut c = client(DeflateParams::default());
        c.send_binary(b"a").unwrap();
        c.send_fragment(DataKind::Binary, b"", true).unwrap();
        c.send_fragment(DataKind::Text, "é".as_bytes(), false)
            .unwrap();
        c.send_fragment(DataKind::Text, b"", true).unwrap();
        c.send_text("after").unwrap();
        let bytes = drain(&mut c).bytes;
        let mut s = server(DeflateParams::default());
        let (r, out) = feed(&mut s, &bytes);
        assert_eq!(r, Ok(()));
        assert_eq!(
            out.events,
            vec![
                Event::Message(Message::Binary(b"a".to_vec())),
                Event::Message(Message::Binary(Vec::new())),
                text("é"),
                text("after"),
            ]
        );
    }

    /// Found by the `deflate_inflate` fuzz target: what was inflated before corrupt data is
    /// checked before the corruption is reported, so the error (and the close code on the
    /// wire) follows the position in the stream, not how TCP happened to split it.
    #[test]
    fn errors_follow_the_stream_whatever_the_chunking() {
        // A stored block holding 0xff and 0x00 (RFC 1951 section 3.2.4), then a block of the
        // reserved type 11.
        let corrupt = [0x00, 0x02, 0x00, 0xfd, 0xff, 0xff, 0x00, 0x07];
        for (opcode, limit, expected) in [
            (OpCode::Text, 100, ProtocolError::InvalidUtf8),
            (OpCode::Binary, 1, ProtocolError::MessageTooLarge),
            (OpCode::Binary, 100, ProtocolError::InvalidCompressedData),
        ] {
            let bytes = masked_rsv(true, RSV1, opcode, &corrupt);
            for piece in [bytes.len(), 12, 1] {
                let mut config = config();
                config.max_message_size = limit;
                let mut s = Connection::server(config, ws_proto::Instant::ZERO)
                    .with_deflate(DeflateParams::default());
                let error = bytes
                    .chunks(piece)
                    .find_map(|chunk| s.receive_data(chunk, ws_proto::Instant::ZERO).err());
                assert_eq!(error, Some(expected), "{opcode:?} in pieces of {piece}");
            }
        }
    }

    /// Found by the `deflate_inflate` fuzz target: inflated text that breaks UTF-8 before
    /// the size limit and goes past the limit in the same inflate step failed with 1009 in one
    /// piece but 1007 in small pieces. The bytes within the limit are checked first; a bad
    /// byte past the limit is never reached.
    #[test]
    fn invalid_text_before_the_limit_wins_over_the_limit_whatever_the_chunking() {
        for (bad_at, expected) in [
            (2, ProtocolError::InvalidUtf8),
            (63, ProtocolError::InvalidUtf8),
            (64, ProtocolError::MessageTooLarge),
            (90, ProtocolError::MessageTooLarge),
        ] {
            // 1,000 bytes of text, one of them bad, compressed to a frame well under the
            // limit (which compressed messages must also keep to).
            let mut text = vec![b'a'; 1000];
            text[bad_at] = 0xff;
            let mut c = client(DeflateParams::default());
            c.send_fragment(DataKind::Binary, &text, true).unwrap();
            let mut bytes = drain(&mut c).bytes;
            bytes[0] = (bytes[0] & 0xf0) | 0x01; // the same payload as text
            assert!(bytes.len() < 40, "{} bytes", bytes.len());
            for piece in [bytes.len(), 12, 7, 1] {
                let mut config = config();
                config.max_message_size = 64;
                let mut s = Connection::server(config, ws_proto::Instant::ZERO)
                    .with_deflate(DeflateParams::default());
                let error = bytes
                    .chunks(piece)
                    .find_map(|chunk| s.receive_data(chunk, ws_proto::Instant::ZERO).err());
                assert_eq!(
                    error,
                    Some(expected),
                    "bad byte at {bad_at}, pieces of {piece}"
                );
            }
        }
    }

    #[test]
    fn stream_mode_hands_out_a_small_compressed_message_in_bounded_chunks() {
        let bytes = bomb(1 << 20);
        let mut config = config();
        config.message_mode = MessageMode::Stream;
        let mut s = Connection::server(config, ws_proto::Instant::ZERO)
            .with_deflate(DeflateParams::default());
        let (r, out) = feed(&mut s, &bytes);
        assert_eq!(r, Ok(()));
        let sizes: Vec<usize> = out
            .events
            .iter()
            .map(|e| match e {
                Event::Chunk(c) => c.data.len(),
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert!(sizes.len() >= 16, "{} chunks", sizes.len());
        assert!(sizes.iter().all(|&n| n <= 128 * 1024), "{sizes:?}");
        assert_eq!(sizes.iter().sum::<usize>(), 1 << 20);
    }

    #[test]
    fn invalid_utf8_fails_fast_inside_a_compressed_message() {
        let mut payload = vec![b'a'; 200_000];
        payload[1000] = 0xff;
        let mut c = client(DeflateParams::default());
        c.send_fragment(DataKind::Binary, &payload, true).unwrap();
        let mut bytes = drain(&mut c).bytes;
        bytes[0] = (bytes[0] & 0xf0) | 0x01; // the same payload as text
        let mut s = server(DeflateParams::default());
        let mut failed_at = None;
        for (i, piece) in bytes.chunks(64).enumerate() {
            if let Err(e) = s.receive_data(piece, ws_proto::Instant::ZERO) {
                assert_eq!(e, ProtocolError::InvalidUtf8);
                failed_at = Some(i * 64);
                break;
            }
        }
        assert!(failed_at.expect("not detected") < bytes.len() / 2);
        assert_eq!(drain(&mut s).close_code(), Some(1007));
    }
}

#[derive(Debug, Clone)]
enum Msg {
    Text(String),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Uncompressed(Vec<u8>),
}

fn any_msg() -> impl Strategy<Value = Msg> {
    prop_oneof![
        "\\PC{0,200}".prop_map(Msg::Text),
        // Repetitive binary data compresses, so back references across messages occur.
        (proptest::collection::vec(0u8..4, 0..2000)).prop_map(Msg::Binary),
        proptest::collection::vec(any::<u8>(), 0..=125).prop_map(Msg::Ping),
        proptest::collection::vec(any::<u8>(), 0..300).prop_map(Msg::Uncompressed),
    ]
}

fn any_params() -> impl Strategy<Value = DeflateParams> {
    let bits = proptest::option::of(8u8..=15);
    (any::<bool>(), any::<bool>(), bits.clone(), bits)
        .prop_map(|(s, c, sb, cb)| params(s, c, sb, cb))
}

/// Sends `msgs` from `sender`, each data message in `parts` fragments; returns the bytes and
/// the events the peer must see.
fn send_all(sender: &mut Connection, msgs: &[(Msg, usize)]) -> (Vec<u8>, Vec<Event>) {
    let mut expected = Vec::new();
    for (m, parts) in msgs {
        let (kind, bytes, msg) = match m {
            Msg::Ping(p) => {
                sender.ping(p).unwrap();
                expected.push(Event::Ping(p.clone()));
                continue;
            }
            Msg::Uncompressed(b) => {
                sender.send_uncompressed(DataKind::Binary, b).unwrap();
                expected.push(Event::Message(Message::Binary(b.clone())));
                continue;
            }
            Msg::Text(t) => (
                DataKind::Text,
                t.as_bytes().to_vec(),
                Message::Text(t.clone()),
            ),
            Msg::Binary(b) => (DataKind::Binary, b.clone(), Message::Binary(b.clone())),
        };
        if *parts <= 1 {
            match kind {
                DataKind::Text => sender
                    .send_text(core::str::from_utf8(&bytes).unwrap())
                    .unwrap(),
                DataKind::Binary => sender.send_binary(&bytes).unwrap(),
            }
        } else {
            let step = bytes.len().div_ceil(*parts).max(1);
            let mut pieces: Vec<&[u8]> = bytes.chunks(step).collect();
            if pieces.is_empty() {
                pieces.push(&[]);
            }
            let n = pieces.len();
            for (i, piece) in pieces.into_iter().enumerate() {
                sender.send_fragment(kind, piece, i + 1 == n).unwrap();
            }
        }
        expected.push(Event::Message(msg));
    }
    (drain(sender).bytes, expected)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Compress then decompress is the identity, in both directions, for any sequence of
    /// messages under any parameter combination.
    #[test]
    fn round_trip_under_every_parameter_combination(
        p in any_params(),
        level in 0u8..=9,
        msgs in proptest::collection::vec((any_msg(), 0usize..4), 0..12),
    ) {
        let mut cfg = config();
        cfg.deflate.level = level;
        let mut c = Connection::client(cfg.clone(), counting_keys(), ws_proto::Instant::ZERO).with_deflate(p);
        let mut s = Connection::server(cfg, ws_proto::Instant::ZERO).with_deflate(p);
        let (bytes, expected) = send_all(&mut c, &msgs);
        let (r, out) = feed(&mut s, &bytes);
        prop_assert_eq!(r, Ok(()));
        prop_assert_eq!(out.events, expected);
        let (bytes, expected) = send_all(&mut s, &msgs);
        let (r, out) = feed(&mut c, &bytes);
        prop_assert_eq!(r, Ok(()));
        prop_assert_eq!(out.events, expected);
    }

    /// The same compressed bytes in any chunking give the same messages, in both message modes.
    #[test]
    fn chunking_invariance_with_compression(
        p in any_params(),
        msgs in proptest::collection::vec((any_msg(), 0usize..4), 1..8),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..12),
        stream in any::<bool>(),
    ) {
        let mut c = client(p);
        let (bytes, _) = send_all(&mut c, &msgs);
        let mut cfg = config();
        if stream {
            cfg.message_mode = MessageMode::Stream;
        }
        let whole = {
            let mut s = Connection::server(cfg.clone(), ws_proto::Instant::ZERO).with_deflate(p);
            let (r, out) = feed(&mut s, &bytes);
            prop_assert_eq!(r, Ok(()));
            reassemble(out.events)
        };
        let mut points: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
        points.sort_unstable();
        let mut s = Connection::server(cfg, ws_proto::Instant::ZERO).with_deflate(p);
        let mut events = Vec::new();
        let mut prev = 0;
        for point in points.into_iter().chain([bytes.len()]) {
            let (r, out) = feed(&mut s, &bytes[prev..point]);
            prop_assert_eq!(r, Ok(()));
            events.extend(out.events);
            prev = point;
        }
        prop_assert_eq!(reassemble(events), whole);
    }
}

/// Joins stream-mode chunks into messages, so that chunk boundaries do not matter.
fn reassemble(events: Vec<Event>) -> Vec<Event> {
    let mut out = Vec::new();
    let mut partial: Vec<u8> = Vec::new();
    for e in events {
        match e {
            Event::Chunk(chunk) => {
                partial.extend_from_slice(&chunk.data);
                if chunk.last {
                    let data = std::mem::take(&mut partial);
                    out.push(Event::Message(match chunk.kind {
                        DataKind::Text => Message::Text(String::from_utf8(data).unwrap()),
                        DataKind::Binary => Message::Binary(data),
                    }));
                }
            }
            other => out.push(other),
        }
    }
    out
}
