//! Timers: keepalive pings, the pong deadline, and the close timeout. The clock is simulated,
//! and every deadline is a real instant set from the time passed to an input or command.

mod common;

use std::time::Duration;

use common::*;
use ws_proto::frame::OpCode;
use ws_proto::{CloseCause, CloseCode, Config, Connection, Event, Instant, State};

fn keepalive(interval: u64, timeout: u64) -> Config {
    let mut c = Config::default();
    c.keepalive_interval = Some(Duration::from_secs(interval));
    c.keepalive_timeout = Some(Duration::from_secs(timeout));
    c
}

#[test]
fn no_timers_by_default_until_closing() {
    let mut s = Connection::server(Config::default(), Instant::ZERO);
    assert_eq!(s.poll_timeout(), None);
    // The close timer starts at the time the close command is given: 10 s by default.
    s.close(CloseCode::NORMAL, "", at(5.0)).unwrap();
    assert_eq!(s.poll_timeout(), Some(at(15.0)));
}

#[test]
fn the_keepalive_timer_starts_when_the_connection_is_made() {
    let s = Connection::server(keepalive(30, 10), at(2.0));
    assert_eq!(s.poll_timeout(), Some(at(32.0)));
}

#[test]
fn idle_connection_is_pinged_and_live_peer_keeps_it_open() {
    let mut pair = Pair::new(Config::default(), keepalive(30, 10));
    pair.drive();
    assert_eq!(pair.server.poll_timeout(), Some(at(30.0)));
    // At 30 s the server pings; the client answers at once, so no deadline is missed.
    pair.advance();
    assert_eq!(pair.now, at(30.0));
    assert_eq!(pair.client_events, [Event::Ping(vec![])]);
    assert_eq!(pair.server_events, [Event::Pong(vec![])]);
    assert_eq!(pair.server.poll_timeout(), Some(at(60.0)));
    assert_eq!(pair.server.state(), State::Open);
}

#[test]
fn activity_postpones_the_keepalive_ping() {
    let mut s = Connection::server(keepalive(30, 10), Instant::ZERO);
    assert_eq!(s.poll_timeout(), Some(at(30.0)));
    s.receive_data(&masked(true, OpCode::Text, b"hi"), at(20.0))
        .unwrap();
    assert_eq!(s.poll_timeout(), Some(at(50.0)));
    s.handle_timeout(at(30.0)); // spurious: the deadline moved
    let out = drain(&mut s);
    assert!(
        out.frames().iter().all(|(h, _)| h.opcode != OpCode::Ping),
        "no ping while the peer is active"
    );
}

#[test]
fn missing_pong_fails_with_1011() {
    let mut s = Connection::server(keepalive(30, 10), Instant::ZERO);
    s.handle_timeout(at(30.0));
    let out = drain(&mut s);
    assert_eq!(out.frames()[0].0.opcode, OpCode::Ping);
    assert_eq!(s.poll_timeout(), Some(at(40.0)));
    s.handle_timeout(at(40.0));
    let out = drain(&mut s);
    assert_eq!(out.close_code(), Some(1011));
    assert!(out.shutdown);
    let closed = closed_of(&out.events).expect("the connection ended");
    assert_eq!(closed.cause, CloseCause::KeepaliveTimeout);
    assert_eq!(closed.code, CloseCode::INTERNAL_ERROR);
    assert_eq!(s.poll_timeout(), None);
    assert_eq!(s.state(), State::Closed);
}

#[test]
fn a_pong_in_time_keeps_the_connection_open() {
    let mut s = Connection::server(keepalive(30, 10), Instant::ZERO);
    s.handle_timeout(at(30.0));
    drain(&mut s);
    s.receive_data(&masked(true, OpCode::Pong, b""), at(39.0))
        .unwrap();
    assert_eq!(
        s.poll_timeout(),
        Some(at(69.0)),
        "next ping, no pong deadline"
    );
    s.handle_timeout(at(40.0));
    assert_eq!(s.state(), State::Open);
}

#[test]
fn unanswered_close_times_out() {
    let mut s = Connection::server(Config::default(), Instant::ZERO);
    s.close(CloseCode::NORMAL, "", at(1.0)).unwrap();
    assert!(!drain(&mut s).shutdown);
    s.handle_timeout(at(10.0));
    let out = drain(&mut s);
    assert!(!out.shutdown, "not yet: the deadline is 11 s");
    assert!(out.events.is_empty());
    s.handle_timeout(at(11.0));
    let out = drain(&mut s);
    assert!(out.shutdown);
    assert_eq!(
        closed_of(&out.events).map(|c| (c.cause, c.code)),
        Some((CloseCause::CloseTimeout, CloseCode::ABNORMAL))
    );
    assert_eq!(s.state(), State::Closed);
}

#[test]
fn client_closes_tcp_itself_if_the_server_does_not() {
    let mut c = Connection::client(Config::default(), counting_keys(), Instant::ZERO);
    c.receive_data(
        &unmasked(true, OpCode::Close, &1000u16.to_be_bytes()),
        at(3.0),
    )
    .unwrap();
    let out = drain(&mut c);
    assert_eq!(out.close_code(), Some(1000), "the client echoes the Close");
    assert!(
        !out.shutdown,
        "the client waits for the server to close first"
    );
    // The wait starts when the server's Close arrived.
    assert_eq!(c.poll_timeout(), Some(at(13.0)));
    c.handle_timeout(at(13.0));
    let out = drain(&mut c);
    assert!(out.shutdown);
    let closed = closed_of(&out.events).expect("ended");
    assert!(
        closed.is_clean(),
        "a clean close is not an error: {closed:?}"
    );
    assert_eq!(closed.cause, CloseCause::PeerClose);
}

#[test]
fn spurious_timeouts_are_harmless() {
    let mut s = Connection::server(Config::default(), Instant::ZERO);
    for t in 0..100 {
        s.handle_timeout(at(f64::from(t)));
    }
    let out = drain(&mut s);
    assert!(out.bytes.is_empty() && out.events.is_empty());
    assert_eq!(s.state(), State::Open);
}
