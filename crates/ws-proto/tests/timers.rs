//! Timers: keepalive pings, the pong deadline, and the close timeout. The clock is simulated.

mod common;

use std::time::Duration;

use common::*;
use ws_proto::frame::OpCode;
use ws_proto::{CloseCode, Config, Connection, Event, Instant, ProtocolError, State};

fn keepalive(interval: u64, timeout: u64) -> Config {
    let mut c = Config::default();
    c.keepalive_interval = Some(Duration::from_secs(interval));
    c.keepalive_timeout = Some(Duration::from_secs(timeout));
    c
}

#[test]
fn no_timers_by_default_until_closing() {
    let mut s = Connection::server(Config::default());
    assert_eq!(s.poll_timeout(), None);
    s.close(CloseCode::NORMAL, "").unwrap();
    // Arming needs the current time: the connection asks to be called at once.
    assert_eq!(s.poll_timeout(), Some(Instant::ZERO));
    s.handle_timeout(at(5.0)).unwrap();
    assert_eq!(s.poll_timeout(), Some(at(15.0)));
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
    let mut s = Connection::server(keepalive(30, 10));
    s.handle_timeout(at(0.0)).unwrap();
    assert_eq!(s.poll_timeout(), Some(at(30.0)));
    assert_eq!(feed(&mut s, &masked(true, OpCode::Text, b"hi")).0, Ok(()));
    s.handle_timeout(at(20.0)).unwrap();
    assert_eq!(s.poll_timeout(), Some(at(50.0)));
    assert!(
        drain(&mut s).bytes.is_empty(),
        "no ping while the peer is active"
    );
}

#[test]
fn missing_pong_fails_with_1011() {
    let mut s = Connection::server(keepalive(30, 10));
    s.handle_timeout(at(0.0)).unwrap();
    s.handle_timeout(at(30.0)).unwrap();
    let out = drain(&mut s);
    assert_eq!(out.frames()[0].0.opcode, OpCode::Ping);
    assert_eq!(s.poll_timeout(), Some(at(40.0)));
    assert_eq!(
        s.handle_timeout(at(40.0)),
        Err(ProtocolError::KeepaliveTimeout)
    );
    let out = drain(&mut s);
    assert_eq!(out.close_code(), Some(1011));
    assert!(out.shutdown);
    assert_eq!(s.poll_timeout(), None);
}

#[test]
fn unanswered_close_times_out() {
    let mut s = Connection::server(Config::default());
    s.close(CloseCode::NORMAL, "").unwrap();
    s.handle_timeout(at(1.0)).unwrap();
    assert!(!drain(&mut s).shutdown);
    assert_eq!(
        s.handle_timeout(at(10.0)),
        Ok(()),
        "not yet: deadline is 11 s"
    );
    assert_eq!(s.handle_timeout(at(11.0)), Err(ProtocolError::CloseTimeout));
    assert!(drain(&mut s).shutdown);
    assert_eq!(s.state(), State::Closed);
}

#[test]
fn client_closes_tcp_itself_if_the_server_does_not() {
    let mut c = Connection::client(Config::default(), counting_keys());
    let (r, out) = feed(
        &mut c,
        &unmasked(true, OpCode::Close, &1000u16.to_be_bytes()),
    );
    assert_eq!(r, Ok(()));
    assert!(
        !out.shutdown,
        "the client waits for the server to close first"
    );
    c.handle_timeout(at(0.0)).unwrap();
    assert_eq!(
        c.handle_timeout(at(10.0)),
        Ok(()),
        "a clean close is not an error"
    );
    assert!(drain(&mut c).shutdown);
}

#[test]
fn spurious_timeouts_are_harmless() {
    let mut s = Connection::server(Config::default());
    for t in 0..100 {
        s.handle_timeout(at(f64::from(t))).unwrap();
    }
    assert!(drain(&mut s).bytes.is_empty());
    assert_eq!(s.state(), State::Open);
}
