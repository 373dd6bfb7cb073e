//! RFC 6455 section 7: closing the connection, and close codes (section 7.4).

mod common;

use common::*;
use ws_proto::frame::OpCode;
use ws_proto::{
    CloseCause, CloseCode, CloseFrame, Closed, Config, Connection, Event, Message, ProtocolError,
    SendError, State,
};

fn server() -> Connection {
    Connection::server(Config::default(), ws_proto::Instant::ZERO)
}

/// The events before the final [`Event::Closed`], and that event's record.
fn split_closed(events: &[Event]) -> (&[Event], Option<&Closed>) {
    match events.split_last() {
        Some((Event::Closed(closed), before)) => (before, Some(closed)),
        _ => (events, None),
    }
}

fn close_payload(code: u16, reason: &[u8]) -> Vec<u8> {
    let mut p = code.to_be_bytes().to_vec();
    p.extend_from_slice(reason);
    p
}

mod section_7_1_closing_handshake {
    use super::*;

    #[test]
    fn server_echoes_close_then_closes_the_transport() {
        let mut s = server();
        let (r, out) = feed(
            &mut s,
            &masked(true, OpCode::Close, &close_payload(1000, b"bye")),
        );
        assert_eq!(r, Ok(()));
        let (events, closed) = split_closed(&out.events);
        assert_eq!(
            events,
            [Event::Close(Some(CloseFrame {
                code: CloseCode::NORMAL,
                reason: "bye".into()
            }))]
        );
        let closed = closed.expect("the server is done once it has echoed the Close");
        assert_eq!(
            (closed.cause, closed.code, closed.reason.as_str()),
            (CloseCause::PeerClose, CloseCode::NORMAL, "bye")
        );
        assert_eq!(out.close_code(), Some(1000));
        assert!(
            out.shutdown,
            "the server closes the TCP connection first (section 7.1.1)"
        );
        assert_eq!(s.state(), State::Closed);
        s.receive_eof();
        assert!(drain(&mut s).events.is_empty(), "the end is reported once");
    }

    #[test]
    fn empty_close_is_answered_with_an_empty_close() {
        let mut s = server();
        let (_, out) = feed(&mut s, &masked(true, OpCode::Close, b""));
        let (events, closed) = split_closed(&out.events);
        assert_eq!(events, [Event::Close(None)]);
        assert_eq!(closed.map(|c| c.code), Some(CloseCode::NO_STATUS));
        let frames = out.frames();
        assert_eq!((frames[0].0.opcode, frames[0].1.len()), (OpCode::Close, 0));
    }

    #[test]
    fn client_initiated_close_waits_for_the_server_to_close_tcp() {
        let mut pair = Pair::new(Config::default(), Config::default());
        pair.client
            .close(
                CloseCode::GOING_AWAY,
                "navigating away",
                ws_proto::Instant::ZERO,
            )
            .unwrap();
        pair.drive();
        let (events, server_closed) = split_closed(&pair.server_events);
        assert_eq!(
            events,
            [Event::Close(Some(CloseFrame {
                code: CloseCode::GOING_AWAY,
                reason: "navigating away".into()
            }))]
        );
        assert_eq!(server_closed.map(|c| c.cause), Some(CloseCause::PeerClose));
        let (events, client_closed) = split_closed(&pair.client_events);
        assert_eq!(
            events,
            [Event::Close(Some(CloseFrame {
                code: CloseCode::GOING_AWAY,
                reason: String::new()
            }))]
        );
        // The client's end comes with the server's end of stream.
        assert_eq!(client_closed.map(|c| c.cause), Some(CloseCause::LocalClose));
        assert!(pair.server_shutdown, "server closes TCP first");
        assert_eq!(pair.now, ws_proto::Instant::ZERO, "no timer had to fire");
        assert_eq!(pair.client.state(), State::Closed);
        assert!(pair.client_errors.is_empty() && pair.server_errors.is_empty());
    }

    #[test]
    fn server_initiated_close() {
        let mut pair = Pair::new(Config::default(), Config::default());
        pair.server
            .close(CloseCode::from(4000), "app", ws_proto::Instant::ZERO)
            .unwrap();
        pair.drive();
        let (events, client_closed) = split_closed(&pair.client_events);
        assert_eq!(
            events,
            [Event::Close(Some(CloseFrame {
                code: CloseCode::from(4000),
                reason: "app".into()
            }))]
        );
        assert_eq!(client_closed.map(|c| c.cause), Some(CloseCause::PeerClose));
        let (_, server_closed) = split_closed(&pair.server_events);
        assert_eq!(
            server_closed.map(|c| (c.cause, c.code)),
            Some((CloseCause::LocalClose, CloseCode::from(4000)))
        );
        assert!(pair.server_shutdown);
        assert_eq!(pair.server.state(), State::Closed);
        assert_eq!(pair.client.state(), State::Closed);
        assert!(pair.client_errors.is_empty() && pair.server_errors.is_empty());
    }

    #[test]
    fn data_received_after_sending_close_is_still_delivered() {
        let mut s = server();
        s.close(CloseCode::NORMAL, "", ws_proto::Instant::ZERO)
            .unwrap();
        drain(&mut s);
        let (r, out) = feed(&mut s, &masked(true, OpCode::Text, b"late"));
        assert_eq!(r, Ok(()));
        assert_eq!(out.events, [Event::Message(Message::Text("late".into()))]);
        assert_eq!(s.state(), State::Closing);
    }

    #[test]
    fn nothing_is_sent_after_close() {
        let mut s = server();
        s.close(CloseCode::NORMAL, "", ws_proto::Instant::ZERO)
            .unwrap();
        assert_eq!(s.send_text("x"), Err(SendError::AlreadyClosing));
        assert_eq!(s.ping(b""), Err(SendError::AlreadyClosing));
        assert_eq!(
            s.close(CloseCode::NORMAL, "", ws_proto::Instant::ZERO),
            Err(SendError::AlreadyClosing)
        );
        assert_eq!(drain(&mut s).frames().len(), 1);
    }

    #[test]
    fn frames_after_the_peers_close_are_ignored() {
        let mut s = server();
        let mut bytes = masked(true, OpCode::Close, &close_payload(1000, b""));
        bytes.extend(masked(true, OpCode::Text, b"after"));
        let (r, out) = feed(&mut s, &bytes);
        assert_eq!(r, Ok(()));
        let (events, closed) = split_closed(&out.events);
        assert_eq!(events.len(), 1, "only the Close: {events:?}");
        assert!(closed.is_some());
    }

    #[test]
    fn a_message_that_arrives_with_the_close_can_still_be_answered() {
        let mut s = server();
        let mut bytes = masked(true, OpCode::Text, b"last words");
        bytes.extend(masked(true, OpCode::Close, &close_payload(1000, b"")));
        assert_eq!(s.receive_data(&bytes, ws_proto::Instant::ZERO), Ok(()));
        assert_eq!(
            s.poll_event(),
            Some(Event::Message(Message::Text("last words".into())))
        );
        // The application answers before it has seen the Close: allowed, and sent first.
        s.send_text("echo").unwrap();
        assert!(matches!(s.poll_event(), Some(Event::Close(_))));
        let out = drain(&mut s);
        let frames = out.frames();
        assert_eq!(frames.len(), 2);
        assert_eq!(
            (frames[0].0.opcode, frames[0].1.as_slice()),
            (OpCode::Text, &b"echo"[..])
        );
        assert_eq!(out.close_code(), Some(1000));
        assert!(out.shutdown);
        assert_eq!(s.send_text("too late"), Err(SendError::Closed));
    }

    #[test]
    fn close_reply_waits_until_the_application_has_seen_the_events() {
        let mut s = server();
        assert_eq!(
            s.receive_data(
                &masked(true, OpCode::Close, &close_payload(1001, b"")),
                ws_proto::Instant::ZERO
            ),
            Ok(())
        );
        let mut out = Vec::new();
        assert_eq!(
            s.poll_transmit(&mut out),
            None,
            "the Close event has not been taken yet"
        );
        assert!(matches!(s.poll_event(), Some(Event::Close(_))));
        // Every event seen: the reply is queued, and the server is done.
        assert!(matches!(s.poll_event(), Some(Event::Closed(_))));
        assert_eq!(s.poll_event(), None);
        assert!(matches!(
            s.poll_transmit(&mut out),
            Some(ws_proto::Transmit::Data(4))
        ));
        assert_eq!(out, [0x88, 0x02, 0x03, 0xe9]);
    }

    #[test]
    fn ping_after_sending_close_is_not_answered() {
        let mut s = server();
        s.close(CloseCode::NORMAL, "", ws_proto::Instant::ZERO)
            .unwrap();
        drain(&mut s);
        let (_, out) = feed(&mut s, &masked(true, OpCode::Ping, b"x"));
        assert_eq!(out.events, [Event::Ping(b"x".to_vec())]);
        assert!(out.bytes.is_empty());
    }

    #[test]
    fn eof_without_close_is_abnormal() {
        let mut s = server();
        assert_eq!(
            feed(&mut s, &masked(false, OpCode::Text, b"part")).0,
            Ok(())
        );
        s.receive_eof();
        assert_eq!(s.state(), State::Closed);
        let out = drain(&mut s);
        assert!(out.shutdown);
        let closed = closed_of(&out.events).expect("the end is reported");
        assert_eq!(
            (closed.cause, closed.code),
            (ws_proto::CloseCause::TransportLost, CloseCode::ABNORMAL)
        );
        assert_eq!(closed.error(), Some(ws_proto::Error::ConnectionLost));
        assert_eq!(s.send_text("x"), Err(SendError::Closed));
    }

    #[test]
    fn events_before_a_failure_are_kept() {
        let mut s = server();
        let mut bytes = masked(true, OpCode::Text, b"one");
        bytes.extend(masked(true, OpCode::Binary, b"two"));
        bytes.extend(unmasked(true, OpCode::Text, b"bad"));
        let (r, out) = feed(&mut s, &bytes);
        assert_eq!(r, Err(ProtocolError::UnmaskedClientFrame));
        let (events, closed) = split_closed(&out.events);
        assert_eq!(
            events,
            [
                Event::Message(Message::Text("one".into())),
                Event::Message(Message::Binary(b"two".to_vec()))
            ]
        );
        assert_eq!(
            closed.map(|c| (c.cause, c.code)),
            Some((
                CloseCause::Protocol(ProtocolError::UnmaskedClientFrame),
                CloseCode::PROTOCOL_ERROR
            ))
        );
    }
}

mod section_7_4_status_codes {
    use super::*;

    #[test]
    fn valid_codes_are_echoed() {
        for code in [
            1000u16, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999,
            4000, 4999,
        ] {
            let mut s = server();
            let (r, out) = feed(
                &mut s,
                &masked(true, OpCode::Close, &close_payload(code, b"")),
            );
            assert_eq!(r, Ok(()), "code {code}");
            assert_eq!(out.close_code(), Some(code));
        }
    }

    #[test]
    fn invalid_codes_fail_with_1002() {
        for code in [
            0u16, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535,
        ] {
            let mut s = server();
            let (r, out) = feed(
                &mut s,
                &masked(true, OpCode::Close, &close_payload(code, b"")),
            );
            assert_eq!(r, Err(ProtocolError::InvalidCloseCode(code)));
            assert_eq!(out.close_code(), Some(1002), "code {code}");
            assert!(out.shutdown);
        }
    }

    #[test]
    fn one_byte_close_payload_fails_with_1002() {
        let mut s = server();
        let (r, out) = feed(&mut s, &masked(true, OpCode::Close, &[0x03]));
        assert_eq!(r, Err(ProtocolError::InvalidClosePayload));
        assert_eq!(out.close_code(), Some(1002));
    }

    #[test]
    fn non_utf8_reason_fails_with_1007() {
        let mut s = server();
        let (r, out) = feed(
            &mut s,
            &masked(true, OpCode::Close, &close_payload(1000, b"\xff")),
        );
        assert_eq!(r, Err(ProtocolError::InvalidCloseReason));
        assert_eq!(out.close_code(), Some(1007));
    }

    #[test]
    fn local_close_arguments_are_checked() {
        let mut s = server();
        assert_eq!(
            s.close(CloseCode::NO_STATUS, "", ws_proto::Instant::ZERO),
            Err(SendError::InvalidCloseCode(1005))
        );
        assert_eq!(
            s.close(CloseCode::NORMAL, &"x".repeat(124), ws_proto::Instant::ZERO),
            Err(SendError::ControlPayloadTooLong)
        );
        assert_eq!(
            s.close(CloseCode::NORMAL, &"x".repeat(123), ws_proto::Instant::ZERO),
            Ok(())
        );
    }

    /// Checks the output of a connection that failed (section 7.1.7): one Close frame, last,
    /// whose payload a peer accepts (section 5.5.1: a code section 7.4 allows on the wire and a
    /// UTF-8 reason, 125 bytes in all), with `code`, and the transport closed.
    fn assert_close_frame(rule: &str, out: &Output, code: u16) {
        let frames = out.frames();
        let Some((header, payload)) = frames.last() else {
            panic!("{rule}: no Close frame sent");
        };
        assert_eq!((header.opcode, header.fin), (OpCode::Close, true), "{rule}");
        assert_eq!(out.close_code(), Some(code), "{rule}");
        assert!(
            payload.len() <= 125,
            "{rule}: {} byte Close payload",
            payload.len()
        );
        let frame = CloseFrame::parse(payload).unwrap_or_else(|e| panic!("{rule}: {e}"));
        let frame = frame.unwrap_or_else(|| panic!("{rule}: Close without a code"));
        assert!(!frame.reason.is_empty(), "{rule}: no reason given");
        assert!(out.shutdown, "{rule}: transport left open");
    }

    /// Failing the connection sends a Close frame a peer accepts, with the code section 7.4.1
    /// gives the violation. One input per RFC rule, driven through a connection. This is a
    /// table of rules, not a list of every `ProtocolError` (a `#[non_exhaustive]` enum): an
    /// error added later needs its own row.
    #[test]
    fn failing_the_connection_sends_a_close_frame_a_peer_accepts() {
        use ws_proto::extensions::deflate::DeflateParams;
        use ws_proto::frame::{FrameHeader, RSV1, RSV2};
        use ProtocolError::*;

        let client =
            || Connection::client(Config::default(), counting_keys(), ws_proto::Instant::ZERO);
        let small = || {
            let mut config = Config::default();
            config.max_frame_size = 16;
            config.max_message_size = 24;
            Connection::server(config, ws_proto::Instant::ZERO)
        };
        let deflate = || server().with_deflate(DeflateParams::default());
        let with_rsv = |rsv, opcode, payload: &[u8]| {
            let mask = Some(KEY);
            raw(
                FrameHeader {
                    fin: true,
                    rsv,
                    opcode,
                    mask,
                    payload_len: 0,
                },
                payload,
            )
        };
        let reserved_opcode = {
            let mut frame = masked(true, OpCode::Binary, b"x");
            frame[0] = 0x80 | 0x3;
            frame
        };
        let top_bit_length = {
            let mut frame = vec![0x82, 0x80 | 127, 0x80, 0, 0, 0, 0, 0, 0, 0];
            frame.extend_from_slice(&KEY);
            frame
        };
        let fragments = |first: OpCode, second: OpCode, len| {
            let mut bytes = masked(false, first, &vec![b'a'; len]);
            bytes.extend(masked(true, second, &vec![b'b'; len]));
            bytes
        };
        let cases = [
            (
                "5.2 RSV bit",
                server(),
                with_rsv(RSV2, OpCode::Text, b"x"),
                ReservedBitsSet,
                1002,
            ),
            (
                "5.2 reserved opcode",
                server(),
                reserved_opcode,
                ReservedOpcode(3),
                1002,
            ),
            (
                "5.1 unmasked",
                server(),
                unmasked(true, OpCode::Text, b"x"),
                UnmaskedClientFrame,
                1002,
            ),
            (
                "5.1 masked",
                client(),
                masked(true, OpCode::Text, b"x"),
                MaskedServerFrame,
                1002,
            ),
            (
                "5.2 length top bit",
                server(),
                top_bit_length,
                InvalidPayloadLength,
                1002,
            ),
            (
                "5.5 long control",
                server(),
                masked(true, OpCode::Ping, &[0; 126]),
                ControlFrameTooLong,
                1002,
            ),
            (
                "5.5 fragmented control",
                server(),
                masked(false, OpCode::Ping, b""),
                FragmentedControlFrame,
                1002,
            ),
            (
                "5.4 lone continuation",
                server(),
                masked(true, OpCode::Continuation, b"x"),
                UnexpectedContinuation,
                1002,
            ),
            (
                "5.4 interleaved message",
                server(),
                fragments(OpCode::Text, OpCode::Binary, 1),
                ExpectedContinuation,
                1002,
            ),
            (
                "8.1 bad UTF-8",
                server(),
                masked(true, OpCode::Text, b"\xff"),
                InvalidUtf8,
                1007,
            ),
            (
                "5.5.1 1-byte Close",
                server(),
                masked(true, OpCode::Close, &[3]),
                InvalidClosePayload,
                1002,
            ),
            (
                "7.4 Close 1005",
                server(),
                masked(true, OpCode::Close, &close_payload(1005, b"")),
                InvalidCloseCode(1005),
                1002,
            ),
            (
                "5.5.1 bad reason",
                server(),
                masked(true, OpCode::Close, &close_payload(1000, b"\xff")),
                InvalidCloseReason,
                1007,
            ),
            (
                "frame limit",
                small(),
                masked(true, OpCode::Binary, &[0; 17]),
                FrameTooLarge,
                1009,
            ),
            (
                "message limit",
                small(),
                fragments(OpCode::Binary, OpCode::Continuation, 13),
                MessageTooLarge,
                1009,
            ),
            (
                "RFC 7692 6.1 RSV1 on Ping",
                deflate(),
                with_rsv(RSV1, OpCode::Ping, b""),
                InvalidCompressionBit,
                1002,
            ),
            (
                "RFC 7692 bad DEFLATE",
                deflate(),
                with_rsv(RSV1, OpCode::Text, &[0xff]),
                InvalidCompressedData,
                1002,
            ),
        ];
        for (rule, mut conn, input, error, code) in cases {
            let (r, out) = feed(&mut conn, &input);
            assert_eq!(r, Err(error), "{rule}");
            assert_close_frame(rule, &out, code);
        }

        // A missing Pong (the keepalive, section 5.5.2) fails with 1011.
        let mut config = Config::default();
        config.keepalive_interval = Some(std::time::Duration::from_secs(30));
        config.keepalive_timeout = Some(std::time::Duration::from_secs(10));
        let mut s = Connection::server(config, ws_proto::Instant::ZERO);
        s.handle_timeout(at(30.0));
        assert_eq!(drain(&mut s).frames()[0].0.opcode, OpCode::Ping);
        s.handle_timeout(at(40.0));
        let out = drain(&mut s);
        assert_close_frame("keepalive", &out, 1011);
        assert_eq!(
            closed_of(&out.events).map(|c| c.cause),
            Some(CloseCause::KeepaliveTimeout)
        );

        // A transport that ends without a Close frame is reported with 1006, which section
        // 7.4.1 forbids on the wire: no Close frame.
        let mut s = server();
        s.receive_eof();
        let out = drain(&mut s);
        assert_eq!(out.close_code(), None);
        assert_eq!(
            closed_of(&out.events).map(|c| (c.cause, c.code)),
            Some((CloseCause::TransportLost, CloseCode::ABNORMAL))
        );
    }
}
