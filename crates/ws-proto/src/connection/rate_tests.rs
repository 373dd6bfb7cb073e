//! `Config::rate_limit` applied by the connection's receive path.

use alloc::string::String;
use alloc::vec::Vec;
use core::time::Duration;

use crate::policy::{RateAction, RateLimit};
use crate::{CloseCause, CloseCode, Config, Connection, Event, Instant, Message, MessageMode};
use crate::{ProtocolError, Transmit};

fn at(millis: u64) -> Instant {
    Instant::from_duration(Duration::from_millis(millis))
}

/// The bytes a client sends for `messages`.
fn frames(messages: &[&str]) -> Vec<u8> {
    let mut client = Connection::client(Config::default(), || [1, 2, 3, 4], at(0));
    for m in messages {
        client.send_text(m).unwrap();
    }
    let mut out = Vec::new();
    while let Some(Transmit::Data(_)) = client.poll_transmit(&mut out) {}
    out
}

fn server(limit: RateLimit, mode: MessageMode) -> Connection {
    let config = Config {
        rate_limit: Some(limit),
        message_mode: mode,
        ..Config::default()
    };
    Connection::server(config, at(0))
}

fn texts(conn: &mut Connection) -> Vec<String> {
    let mut seen = Vec::new();
    while let Some(event) = conn.poll_event() {
        match event {
            Event::Message(Message::Text(t)) => seen.push(t),
            Event::Chunk(c) => seen.push(String::from_utf8(c.data).unwrap()),
            _ => {}
        }
    }
    seen
}

#[test]
fn drop_discards_messages_over_the_limit_and_goes_on() {
    let limit = RateLimit::messages(2, 2).with_action(RateAction::Drop);
    let mut conn = server(limit, MessageMode::Reassemble);
    conn.receive_data(&frames(&["a", "b", "c", "d"]), at(0))
        .unwrap();
    assert_eq!(texts(&mut conn), ["a", "b"]);
    // Half a second later one token is back.
    conn.receive_data(&frames(&["e", "f"]), at(500)).unwrap();
    assert_eq!(texts(&mut conn), ["e"]);
    assert!(conn.closed().is_none());
}

#[test]
fn close_fails_the_connection_with_1008_after_the_earlier_messages() {
    let mut conn = server(RateLimit::bytes(10, 10), MessageMode::Reassemble);
    let result = conn.receive_data(&frames(&["12345", "67890", "x", "y"]), at(0));
    assert_eq!(result, Err(ProtocolError::RateLimited));
    assert_eq!(texts(&mut conn), ["12345", "67890"]);
    let closed = conn.closed().expect("closed").clone();
    assert_eq!(closed.code, CloseCode::POLICY_VIOLATION);
    assert_eq!(
        closed.cause,
        CloseCause::Protocol(ProtocolError::RateLimited)
    );
    let mut out = Vec::new();
    conn.poll_transmit(&mut out);
    // The Close frame: 1008 and the reason.
    assert_eq!(&out[..4], &[0x88, 29, 0x03, 0xf0]);
    assert_eq!(&out[4..], b"message rate limit exceeded");
}

#[test]
fn stream_mode_drops_a_refused_message_whole() {
    let limit = RateLimit::messages(1, 1).with_action(RateAction::Drop);
    let mut conn = server(limit, MessageMode::Stream);
    let mut client = Connection::client(Config::default(), || [9, 9, 9, 9], at(0));
    client.send_text("one").unwrap();
    client
        .send_fragment(crate::DataKind::Text, b"tw", false)
        .unwrap();
    client
        .send_fragment(crate::DataKind::Text, b"o", true)
        .unwrap();
    let mut out = Vec::new();
    while let Some(Transmit::Data(_)) = client.poll_transmit(&mut out) {}
    conn.receive_data(&out, at(0)).unwrap();
    assert_eq!(texts(&mut conn), ["one"]);
}

#[test]
fn control_frames_are_not_counted() {
    let limit = RateLimit::messages(1, 1);
    let mut conn = server(limit, MessageMode::Reassemble);
    let mut client = Connection::client(Config::default(), || [5, 6, 7, 8], at(0));
    for _ in 0..5 {
        client.ping(b"p").unwrap();
    }
    client.send_text("only").unwrap();
    let mut out = Vec::new();
    while let Some(Transmit::Data(_)) = client.poll_transmit(&mut out) {}
    conn.receive_data(&out, at(0)).unwrap();
    assert_eq!(texts(&mut conn), ["only"]);
    assert!(conn.closed().is_none());
}
