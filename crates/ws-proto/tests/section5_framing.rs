//! RFC 6455 section 5: data framing, enforced by `Connection`.

mod common;

use common::*;
use ws_proto::frame::{FrameHeader, OpCode, RSV1, RSV2, RSV3};
use ws_proto::{
    Chunk, Config, Connection, DataKind, Event, Message, MessageMode, ProtocolError, State,
};

fn server() -> Connection {
    Connection::server(Config::default(), ws_proto::Instant::ZERO)
}

fn client() -> Connection {
    Connection::client(Config::default(), counting_keys(), ws_proto::Instant::ZERO)
}

/// Asserts that the connection failed with `err`, queued a Close frame with `code`, and asked
/// for the transport to be closed.
fn assert_failed(conn: &mut Connection, bytes: &[u8], err: ProtocolError, code: u16) -> Output {
    let (r, out) = feed(conn, bytes);
    assert_eq!(r, Err(err));
    assert_eq!(out.close_code(), Some(code), "close code for {err:?}");
    assert!(out.shutdown, "transport must be closed after failing");
    assert_eq!(
        conn.closed().map(|c| (c.cause, c.code.as_u16())),
        Some((ws_proto::CloseCause::Protocol(err), code))
    );
    assert!(matches!(out.events.last(), Some(Event::Closed(_))));
    // Further input is discarded (section 7.1.7).
    let (r, more) = feed(conn, &masked(true, OpCode::Text, b"ignored"));
    assert_eq!(r, Ok(()));
    assert!(more.events.is_empty() && more.bytes.is_empty());
    out
}

mod section_5_1_masking {
    use super::*;

    #[test]
    fn server_fails_on_unmasked_client_frame() {
        assert_failed(
            &mut server(),
            &unmasked(true, OpCode::Text, b"hi"),
            ProtocolError::UnmaskedClientFrame,
            1002,
        );
    }

    #[test]
    fn client_fails_on_masked_server_frame() {
        assert_failed(
            &mut client(),
            &masked(true, OpCode::Text, b"hi"),
            ProtocolError::MaskedServerFrame,
            1002,
        );
    }

    #[test]
    fn client_masks_every_frame_with_a_fresh_key_and_server_never_masks() {
        let mut c = client();
        c.send_text("a").unwrap();
        c.send_binary(b"b").unwrap();
        c.ping(b"p").unwrap();
        let frames = drain(&mut c).frames();
        let keys: Vec<_> = frames
            .iter()
            .map(|(h, _)| h.mask.expect("client frame unmasked"))
            .collect();
        assert_eq!(keys, [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]]);
        assert_eq!(frames[0].1, b"a");

        let mut s = server();
        s.send_text("a").unwrap();
        assert!(drain(&mut s).frames().iter().all(|(h, _)| h.mask.is_none()));
    }
}

mod section_5_2_base_framing {
    use super::*;

    #[test]
    fn rsv_bits_without_extension_fail_with_1002() {
        for rsv in [RSV1, RSV2, RSV3] {
            let frame = raw(
                FrameHeader {
                    fin: true,
                    rsv,
                    opcode: OpCode::Text,
                    mask: Some(KEY),
                    payload_len: 0,
                },
                b"x",
            );
            assert_failed(&mut server(), &frame, ProtocolError::ReservedBitsSet, 1002);
        }
    }

    #[test]
    fn reserved_opcodes_fail_with_1002() {
        for op in [3u8, 7, 0xB, 0xF] {
            let frame = [0x80 | op, 0x80, 1, 2, 3, 4];
            assert_failed(
                &mut server(),
                &frame,
                ProtocolError::ReservedOpcode(op),
                1002,
            );
        }
    }

    #[test]
    fn frames_split_at_every_byte_decode_the_same() {
        let mut stream = masked(true, OpCode::Text, "héllo wörld".as_bytes());
        stream.extend(masked(true, OpCode::Binary, &[7u8; 300]));
        stream.extend(masked(true, OpCode::Ping, b"p"));
        for split in 0..=stream.len() {
            let mut s = server();
            let (r1, mut out) = feed(&mut s, &stream[..split]);
            let (r2, out2) = feed(&mut s, &stream[split..]);
            assert_eq!((r1, r2), (Ok(()), Ok(())));
            out.events.extend(out2.events);
            assert_eq!(
                out.events,
                [
                    Event::Message(Message::Text("héllo wörld".into())),
                    Event::Message(Message::Binary(vec![7; 300])),
                    Event::Ping(b"p".to_vec()),
                ],
                "split at {split}"
            );
        }
    }

    #[test]
    fn empty_messages() {
        let mut s = server();
        let mut bytes = masked(true, OpCode::Text, b"");
        bytes.extend(masked(true, OpCode::Binary, b""));
        let (r, out) = feed(&mut s, &bytes);
        assert_eq!(r, Ok(()));
        assert_eq!(
            out.events,
            [
                Event::Message(Message::Text(String::new())),
                Event::Message(Message::Binary(vec![]))
            ]
        );
    }
}

mod section_5_4_fragmentation {
    use super::*;

    #[test]
    fn fragments_are_reassembled_with_control_frames_interleaved() {
        let mut s = server();
        let mut bytes = masked(false, OpCode::Text, b"Hel");
        bytes.extend(masked(true, OpCode::Ping, b"mid"));
        bytes.extend(masked(false, OpCode::Continuation, b"l"));
        bytes.extend(masked(true, OpCode::Pong, b""));
        bytes.extend(masked(true, OpCode::Continuation, b"o"));
        let (r, out) = feed(&mut s, &bytes);
        assert_eq!(r, Ok(()));
        assert_eq!(
            out.events,
            [
                Event::Ping(b"mid".to_vec()),
                Event::Pong(vec![]),
                Event::Message(Message::Text("Hello".into())),
            ]
        );
        // The Pong answering the Ping went out while the message was in progress.
        let frames = out.frames();
        assert_eq!(frames.len(), 1);
        assert_eq!(
            (frames[0].0.opcode, frames[0].1.as_slice()),
            (OpCode::Pong, &b"mid"[..])
        );
    }

    #[test]
    fn continuation_without_a_message_fails() {
        assert_failed(
            &mut server(),
            &masked(true, OpCode::Continuation, b"x"),
            ProtocolError::UnexpectedContinuation,
            1002,
        );
    }

    #[test]
    fn new_message_inside_a_fragmented_one_fails() {
        let mut bytes = masked(false, OpCode::Binary, b"a");
        bytes.extend(masked(true, OpCode::Text, b"b"));
        assert_failed(
            &mut server(),
            &bytes,
            ProtocolError::ExpectedContinuation,
            1002,
        );
    }

    #[test]
    fn sender_side_fragmentation_rules() {
        let mut s = server();
        s.send_fragment(DataKind::Binary, b"a", false).unwrap();
        assert_eq!(
            s.send_text("x"),
            Err(ws_proto::SendError::FragmentOutOfOrder)
        );
        assert_eq!(
            s.send_fragment(DataKind::Text, b"x", true),
            Err(ws_proto::SendError::FragmentOutOfOrder)
        );
        s.ping(b"").unwrap(); // control frames may be interleaved
        s.send_fragment(DataKind::Binary, b"b", true).unwrap();
        let ops: Vec<_> = drain(&mut s)
            .frames()
            .iter()
            .map(|(h, _)| (h.opcode, h.fin))
            .collect();
        assert_eq!(
            ops,
            [
                (OpCode::Binary, false),
                (OpCode::Ping, true),
                (OpCode::Continuation, true)
            ]
        );
    }

    #[test]
    fn stream_mode_hands_out_chunks_as_they_arrive() {
        let mut config = Config::default();
        config.message_mode = MessageMode::Stream;
        let mut s = Connection::server(config, ws_proto::Instant::ZERO);
        let first = masked(false, OpCode::Text, "ab€".as_bytes()); // € is 3 bytes
                                                                   // Feed the first frame minus the last byte of the euro sign.
        let (r, out) = feed(&mut s, &first[..first.len() - 1]);
        assert_eq!(r, Ok(()));
        assert_eq!(
            out.events,
            [Event::Chunk(Chunk {
                kind: DataKind::Text,
                data: b"ab".to_vec(),
                first: true,
                last: false
            })]
        );
        let mut rest = first[first.len() - 1..].to_vec();
        rest.extend(masked(true, OpCode::Continuation, b"!"));
        let (r, out) = feed(&mut s, &rest);
        assert_eq!(r, Ok(()));
        assert_eq!(
            out.events,
            [
                Event::Chunk(Chunk {
                    kind: DataKind::Text,
                    data: "€".into(),
                    first: false,
                    last: false
                }),
                Event::Chunk(Chunk {
                    kind: DataKind::Text,
                    data: b"!".to_vec(),
                    first: false,
                    last: true
                }),
            ]
        );
    }
}

mod section_5_5_control_frames {
    use super::*;

    #[test]
    fn control_frame_over_125_bytes_fails() {
        assert_failed(
            &mut server(),
            &masked(true, OpCode::Ping, &[0; 126]),
            ProtocolError::ControlFrameTooLong,
            1002,
        );
    }

    #[test]
    fn fragmented_control_frame_fails() {
        assert_failed(
            &mut server(),
            &masked(false, OpCode::Ping, b"x"),
            ProtocolError::FragmentedControlFrame,
            1002,
        );
    }

    #[test]
    fn ping_is_answered_with_the_same_payload() {
        let mut s = server();
        let (r, out) = feed(&mut s, &masked(true, OpCode::Ping, &[9; 125]));
        assert_eq!(r, Ok(()));
        assert_eq!(out.events, [Event::Ping(vec![9; 125])]);
        let frames = out.frames();
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].0.opcode, OpCode::Pong);
        assert_eq!(frames[0].1, vec![9; 125]);
    }

    #[test]
    fn auto_pong_can_be_turned_off() {
        let mut config = Config::default();
        config.auto_pong = false;
        let mut s = Connection::server(config, ws_proto::Instant::ZERO);
        let (_, out) = feed(&mut s, &masked(true, OpCode::Ping, b"x"));
        assert_eq!(out.events, [Event::Ping(b"x".to_vec())]);
        assert!(out.bytes.is_empty());
        s.pong(b"x").unwrap();
        assert_eq!(drain(&mut s).frames()[0].0.opcode, OpCode::Pong);
    }

    #[test]
    fn sending_oversized_control_payload_is_refused() {
        let mut s = server();
        assert_eq!(
            s.ping(&[0; 126]),
            Err(ws_proto::SendError::ControlPayloadTooLong)
        );
        assert_eq!(
            s.pong(&[0; 126]),
            Err(ws_proto::SendError::ControlPayloadTooLong)
        );
        assert!(drain(&mut s).bytes.is_empty());
    }
}

mod limits {
    use super::*;

    fn limited(frame: usize, message: usize) -> Connection {
        let mut config = Config::default();
        config.max_frame_size = frame;
        config.max_message_size = message;
        Connection::server(config, ws_proto::Instant::ZERO)
    }

    #[test]
    fn oversized_frame_fails_with_1009_from_the_header_alone() {
        let mut s = limited(100, 1000);
        // Only the header of a 101-byte frame: no payload has arrived.
        let frame = masked(true, OpCode::Binary, &[0; 101]);
        assert_failed(&mut s, &frame[..8], ProtocolError::FrameTooLarge, 1009);
    }

    #[test]
    fn huge_announced_length_fails_without_allocating() {
        let mut s = limited(usize::MAX, 64 << 20);
        let header = [
            0x82, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3, 4,
        ];
        assert_failed(&mut s, &header, ProtocolError::MessageTooLarge, 1009);
    }

    #[test]
    fn message_limit_counts_all_fragments() {
        let mut s = limited(100, 150);
        let mut bytes = masked(false, OpCode::Binary, &[0; 100]);
        bytes.extend(masked(true, OpCode::Continuation, &[0; 51]));
        assert_failed(&mut s, &bytes, ProtocolError::MessageTooLarge, 1009);
        // Exactly at the limit is fine.
        let mut s = limited(100, 150);
        let mut bytes = masked(false, OpCode::Binary, &[0; 100]);
        bytes.extend(masked(true, OpCode::Continuation, &[0; 50]));
        let (r, out) = feed(&mut s, &bytes);
        assert_eq!(r, Ok(()));
        assert_eq!(out.events, [Event::Message(Message::Binary(vec![0; 150]))]);
        assert_eq!(s.state(), State::Open);
    }
}

/// `send(Message)`: the message's buffer is queued as it is, without a copy, and written with
/// the frame header in one vectored write.
mod owned_sends {
    use super::*;

    /// Writes everything queued, taking at most `step` bytes per "write" as a transport
    /// that accepts partial writes would.
    fn write_in_steps(conn: &mut Connection, step: usize) -> Vec<u8> {
        let mut wire = Vec::new();
        loop {
            let mut slices = [&[][..]; 8];
            let n = conn.transmit_slices(&mut slices);
            if n == 0 {
                return wire;
            }
            let mut budget = step;
            let mut took = 0;
            for slice in &slices[..n] {
                let k = slice.len().min(budget);
                wire.extend_from_slice(&slice[..k]);
                budget -= k;
                took += k;
            }
            conn.advance_transmit(took);
        }
    }

    #[test]
    fn an_owned_send_is_the_frame_a_copying_send_writes() {
        for len in [0usize, 125, 126, 16_383, 16_384, 65_536, 200_000] {
            let payload: Vec<u8> = (0..len).map(|i| i as u8).collect();
            for make in [server as fn() -> Connection, client] {
                let mut owned = make();
                owned.send(Message::Binary(payload.clone())).unwrap();
                owned.ping(b"after").unwrap();
                let mut copied = make();
                copied.send_binary(&payload).unwrap();
                copied.ping(b"after").unwrap();
                let expected = drain(&mut copied).bytes;
                for step in [1, 7, 4096, usize::MAX] {
                    let mut again = make();
                    again.send(Message::Binary(payload.clone())).unwrap();
                    again.ping(b"after").unwrap();
                    assert_eq!(
                        write_in_steps(&mut again, step),
                        expected,
                        "{len} B, {step}"
                    );
                }
                assert_eq!(drain(&mut owned).bytes, expected, "{len} bytes");
            }
        }
    }

    #[test]
    fn a_large_payload_is_not_copied() {
        let payload = vec![7u8; 100_000];
        let address = payload.as_ptr();
        let mut conn = server();
        conn.send(Message::Binary(payload)).unwrap();
        let mut slices = [&[][..]; 4];
        assert_eq!(conn.transmit_slices(&mut slices), 2);
        assert_eq!(
            slices[1].as_ptr(),
            address,
            "the message's own buffer is queued"
        );
        // A write that stops inside the payload resumes there.
        conn.advance_transmit(50_000);
        let mut slices = [&[][..]; 4];
        assert_eq!(conn.transmit_slices(&mut slices), 1);
        assert_eq!(slices[0].len(), 100_010 - 50_000);
        assert_eq!(conn.buffered_amount(), 50_010);
    }

    #[cfg(feature = "deflate")]
    #[test]
    fn a_compressed_owned_send_is_the_frame_a_copying_send_writes() {
        let params = ws_proto::extensions::deflate::DeflateParams::default();
        let text = "chat message ".repeat(5_000);
        let mut owned = server().with_deflate(params);
        owned.send(Message::Text(text.clone())).unwrap();
        let mut copied = server().with_deflate(params);
        copied.send_text(&text).unwrap();
        let bytes = drain(&mut owned).bytes;
        assert_eq!(bytes, drain(&mut copied).bytes);
        assert_eq!(bytes[0], 0xc1, "FIN, RSV1 (compressed), text");
    }

    #[test]
    fn the_same_errors_as_a_copying_send() {
        let mut conn = server();
        conn.send_fragment(DataKind::Binary, b"part", false)
            .unwrap();
        assert_eq!(
            conn.send(Message::Binary(vec![0; 10])),
            Err(ws_proto::SendError::FragmentOutOfOrder)
        );
        let mut conn = server();
        conn.close(ws_proto::CloseCode::NORMAL, "", ws_proto::Instant::ZERO)
            .unwrap();
        assert_eq!(
            conn.send(Message::Binary(vec![0; 100_000])),
            Err(ws_proto::SendError::AlreadyClosing)
        );
    }
}
