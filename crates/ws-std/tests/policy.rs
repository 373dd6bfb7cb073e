//! The ready-made policies of `ws_proto::policy` on a ws-std server, over loopback sockets:
//! each refusing (status, headers and body as the client receives them) and admitting, the
//! application's callback seeing only admitted requests, and the message rate limit dropping
//! or closing with 1008.
//!
//! Bounded: the server runs on a thread joined with a deadline (`common`), every socket has
//! a read timeout; no sleep synchronises. The rate limits have no refill (0 a second), so what
//! they admit does not depend on timing; the refill is covered by ws-proto's property tests.

mod common;
#[path = "common/probe.rs"]
mod probe;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::*;
use probe::*;
use ws_std::policy::{AllowedOrigins, RateAction, RateLimit, TokenAuth, TokenCheck};
use ws_std::{Error, HandshakeError, Message, ProtocolError, ServerBuilder};

/// Accepts `n` connections one after another with `server` and an accept callback that
/// counts its calls in `calls`, echoing each admitted connection until it ends; returns, per
/// connection, the status it was refused with (101 when admitted).
fn serve(server: ServerBuilder, n: usize, calls: Arc<AtomicUsize>) -> (SocketAddr, Peer<Vec<u16>>) {
    serve_many(n, move |stream| {
        stream.set_read_timeout(Some(IO_TIMEOUT)).expect("timeout");
        let accepted = server.accept_with(stream, |request| {
            calls.fetch_add(1, Ordering::SeqCst);
            Ok(request.accept())
        });
        match accepted {
            Ok(mut ws) => {
                while let Ok(message) = ws.read() {
                    if message.is_data() && ws.send(message).is_err() {
                        break;
                    }
                }
                101
            }
            Err(Error::Handshake(HandshakeError::Rejected(sent))) => sent.status(),
            Err(other) => panic!("unexpected server error {other:?}"),
        }
    })
}

#[test]
fn origin_allow_list_refuses_with_403_and_admits_listed_origins() {
    let origins = AllowedOrigins::new(["https://example.com", "https://*.example.com"]);
    let server = ServerBuilder::new().policy(origins.allow_missing(false));
    let (addr, peer) = serve(server, 5, Arc::default());
    assert_refusal(
        probe(client(addr, "/").origin("https://evil.example.net")),
        403,
        "origin not allowed\n",
    );
    assert_refusal(probe(client(addr, "/")), 403, "origin required\n");
    assert_refusal(
        probe(client(addr, "/").origin("https://evilexample.com")),
        403,
        "origin not allowed\n",
    );
    probe(client(addr, "/").origin("https://example.com")).expect("admitted");
    probe(client(addr, "/").origin("https://chat.eu.example.com")).expect("admitted");
    assert_eq!(peer.join(), [403, 403, 403, 101, 101]);
}

#[test]
fn token_check_answers_401_with_a_challenge_or_403_and_admits_good_tokens() {
    let calls = Arc::new(AtomicUsize::new(0));
    let auth = TokenAuth::new(|token, request| match (token, request.path()) {
        ("admin", _) => TokenCheck::Valid,
        ("user", "/admin") => TokenCheck::Forbidden,
        ("user", _) => TokenCheck::Valid,
        _ => TokenCheck::Invalid,
    })
    .query("token")
    .cookie("session")
    .realm("chat");
    let server = ServerBuilder::new().policy(auth);
    // The application's own callback runs after the policy: it sees only admitted requests.
    let (addr, peer) = serve(server, 6, Arc::clone(&calls));

    let missing = assert_refusal(probe(client(addr, "/ws")), 401, "authentication required\n");
    assert_eq!(
        missing.header("WWW-Authenticate"),
        Some(&b"Bearer realm=\"chat\""[..])
    );
    let invalid = assert_refusal(
        probe(client(addr, "/ws").header("Authorization", "Bearer stolen")),
        401,
        "invalid token\n",
    );
    assert_eq!(
        invalid.header("WWW-Authenticate"),
        Some(&b"Bearer realm=\"chat\", error=\"invalid_token\""[..])
    );
    let forbidden = assert_refusal(probe(client(addr, "/admin?token=user")), 403, "forbidden\n");
    assert_eq!(forbidden.header("WWW-Authenticate"), None);
    probe(client(addr, "/ws").header("Authorization", "Bearer admin")).expect("bearer");
    probe(client(addr, "/ws?x=1&token=user")).expect("query");
    probe(client(addr, "/ws").header("Cookie", "theme=dark; session=user")).expect("cookie");
    assert_eq!(peer.join(), [401, 401, 403, 101, 101, 101]);
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[test]
fn rate_limit_drop_discards_the_excess_and_keeps_the_connection() {
    let limit = RateLimit::messages(0, 3).with_action(RateAction::Drop);
    let (addr, peer) = serve(ServerBuilder::new().rate_limit(limit), 1, Arc::default());
    let (echoes, code) = flood(addr, 10);
    assert_eq!(echoes, ["m0", "m1", "m2"]);
    // The client's own close was answered: the connection stayed usable.
    assert_eq!(code, Some(1000));
    assert_eq!(peer.join(), [101]);
}

#[test]
fn rate_limit_close_ends_the_connection_with_1008() {
    let server = ServerBuilder::new().rate_limit(RateLimit::bytes(0, 6));
    let (addr, peer) = serve_many(1, move |stream| {
        stream.set_read_timeout(Some(IO_TIMEOUT)).expect("timeout");
        let mut ws = server.accept(stream).expect("accept");
        let mut received = Vec::new();
        loop {
            match ws.read() {
                Ok(Message::Text(text)) => {
                    ws.send_text(&text).expect("echo");
                    received.push(text);
                }
                Ok(_) => {}
                Err(e) => return (received, e),
            }
        }
    });
    // Two-byte messages against a burst of six bytes: three go through.
    let (echoes, code) = flood(addr, 10);
    assert_eq!(echoes, ["m0", "m1", "m2"]);
    assert_eq!(code, Some(1008));
    let (received, error) = peer.join().remove(0);
    assert_eq!(received, ["m0", "m1", "m2"]);
    assert!(
        matches!(error, Error::Protocol(ProtocolError::RateLimited)),
        "{error:?}"
    );
}
