//! RFC 6455 section 8.1: text must be valid UTF-8; invalid text fails with 1007 at once.

mod common;

use common::*;
use ws_proto::frame::OpCode;
use ws_proto::{Config, Connection, Event, Message, ProtocolError};

/// Autobahn 6.4.1's payload: valid text, then a surrogate (ED A0 80), then more text.
const PREFIX: &[u8] = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5";

#[test]
fn invalid_utf8_fails_before_the_frame_is_complete() {
    let mut payload = PREFIX.to_vec();
    payload.extend_from_slice(b"\xed\xa0\x80edited");
    let frame = masked(true, OpCode::Text, &payload);
    let header_len = frame.len() - payload.len();
    let mut s = Connection::server(Config::default(), ws_proto::Instant::ZERO);
    // Everything up to the byte before the surrogate's second byte: still a valid prefix.
    let (r, out) = feed(&mut s, &frame[..header_len + PREFIX.len() + 1]);
    assert_eq!(r, Ok(()));
    assert!(out.bytes.is_empty());
    // The second byte of the surrogate makes it invalid: fail now, not at the end of the frame.
    let (r, out) = feed(
        &mut s,
        &frame[header_len + PREFIX.len() + 1..header_len + PREFIX.len() + 2],
    );
    assert_eq!(r, Err(ProtocolError::InvalidUtf8));
    assert_eq!(out.close_code(), Some(1007));
    assert!(out.shutdown);
}

#[test]
fn invalid_utf8_in_a_later_fragment_fails_before_the_message_ends() {
    let mut s = Connection::server(Config::default(), ws_proto::Instant::ZERO);
    let mut bytes = masked(false, OpCode::Text, PREFIX);
    bytes.extend(masked(false, OpCode::Continuation, b"\xf4\x90\x80\x80"));
    let (r, out) = feed(&mut s, &bytes);
    assert_eq!(r, Err(ProtocolError::InvalidUtf8));
    assert_eq!(out.close_code(), Some(1007));
}

#[test]
fn code_point_split_across_fragments_is_accepted() {
    let text = "κόσμε";
    let bytes = text.as_bytes();
    for cut in 0..=bytes.len() {
        let mut s = Connection::server(Config::default(), ws_proto::Instant::ZERO);
        let mut stream = masked(false, OpCode::Text, &bytes[..cut]);
        stream.extend(masked(true, OpCode::Continuation, &bytes[cut..]));
        let (r, out) = feed(&mut s, &stream);
        assert_eq!(r, Ok(()), "cut {cut}");
        assert_eq!(out.events, [Event::Message(Message::Text(text.into()))]);
    }
}

#[test]
fn message_ending_inside_a_code_point_fails() {
    let mut s = Connection::server(Config::default(), ws_proto::Instant::ZERO);
    let (r, out) = feed(&mut s, &masked(true, OpCode::Text, b"ok\xe2\x82"));
    assert_eq!(r, Err(ProtocolError::InvalidUtf8));
    assert_eq!(out.close_code(), Some(1007));
}

#[test]
fn binary_messages_are_not_validated() {
    let mut s = Connection::server(Config::default(), ws_proto::Instant::ZERO);
    let (r, out) = feed(&mut s, &masked(true, OpCode::Binary, b"\xff\xfe"));
    assert_eq!(r, Ok(()));
    assert_eq!(
        out.events,
        [Event::Message(Message::Binary(vec![0xff, 0xfe]))]
    );
}
