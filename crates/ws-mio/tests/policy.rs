//! The ready-made policies of `ws_proto::policy` on a ws-mio server, over loopback sockets:
//! `Options::policies` (origins, tokens) refusing with the status, headers and body the
//! client receives, and admitting, with the handler's own `handshake` seeing only admitted
//! requests; `Options::max_connections_per_ip` answering 429 with `Retry-After`; and
//! `config.rate_limit` dropping messages or closing with 1008.
//!
//! Bounded: every wait has a deadline (`common::WAIT`, the clients' socket timeouts); no sleep
//! synchronises. The rate limits have no refill (0 a second), so what they admit does not
//! depend on timing; the refill is covered by ws-proto's property tests.

mod common;
#[path = "../../ws-std/tests/common/probe.rs"]
mod probe;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::time::Instant;

use common::{until, Fault, Probe, Seen, WAIT};
use probe::*;
use ws_mio::policy::{AllowedOrigins, RateAction, RateLimit, TokenAuth, TokenCheck};
use ws_mio::{
    Accept, CloseCode, ConnId, Ctx, Error, Handler, HttpResponse, Message, Options, Request,
    Running, Server,
};
use ws_proto::ProtocolError;

/// [`Probe`] (echo, reports), counting the requests its `handshake` sees.
struct Counting {
    probe: Probe,
    handshakes: Arc<AtomicUsize>,
}

impl Handler for Counting {
    fn handshake(
        &mut self,
        _: &mut Ctx<'_>,
        _: ConnId,
        request: &Request,
    ) -> Result<Accept, HttpResponse> {
        self.handshakes.fetch_add(1, Ordering::SeqCst);
        Ok(request.accept())
    }
    fn open(&mut self, ctx: &mut Ctx<'_>, id: ConnId) {
        self.probe.open(ctx, id);
    }
    fn message(&mut self, ctx: &mut Ctx<'_>, id: ConnId, message: Message) {
        self.probe.message(ctx, id, message);
    }
    fn error(&mut self, ctx: &mut Ctx<'_>, id: ConnId, error: &Error) {
        self.probe.error(ctx, id, error);
    }
    fn close(&mut self, ctx: &mut Ctx<'_>, id: ConnId, code: CloseCode, reason: &str) {
        self.probe.close(ctx, id, code, reason);
    }
}

struct Started {
    addr: SocketAddr,
    seen: Receiver<Seen>,
    handshakes: Arc<AtomicUsize>,
    _running: Running,
}

fn start(options: Options) -> Started {
    let (tx, seen) = std::sync::mpsc::channel();
    let handshakes = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&handshakes);
    let server = Server::bind("127.0.0.1:0", options, move |_| Counting {
        probe: Probe {
            tx: tx.clone(),
            echo: true,
        },
        handshakes: Arc::clone(&count),
    })
    .expect("bind");
    Started {
        addr: server.local_addr().expect("address"),
        seen,
        handshakes,
        _running: server.spawn().expect("spawn"),
    }
}

#[test]
fn origin_allow_list_refuses_with_403_and_admits_listed_origins() {
    let mut options = Options::default();
    options.policies.push(AllowedOrigins::new([
        "https://example.com",
        "https://*.example.com",
    ]));
    let server = start(options);
    let addr = server.addr;
    assert_refusal(
        probe(client(addr, "/").origin("https://example.com.evil.net")),
        403,
        "origin not allowed\n",
    );
    // No Origin (not a browser): let through by default.
    probe(client(addr, "/")).expect("admitted");
    probe(client(addr, "/").origin("https://a.b.example.com")).expect("admitted");
    assert_eq!(server.handshakes.load(Ordering::SeqCst), 2);
}

#[test]
fn token_check_answers_401_with_a_challenge_or_403_and_admits_good_tokens() {
    let mut options = Options::default();
    options.policies.push(
        TokenAuth::new(|token, request| match (token, request.path()) {
            ("admin", _) => TokenCheck::Valid,
            ("user", "/admin") => TokenCheck::Forbidden,
            ("user", _) => TokenCheck::Valid,
            _ => TokenCheck::Invalid,
        })
        .query("access_token")
        .cookie("session"),
    );
    let server = start(options);
    let addr = server.addr;
    let missing = assert_refusal(probe(client(addr, "/")), 401, "authentication required\n");
    assert_eq!(
        missing.header("WWW-Authenticate"),
        Some(&b"Bearer realm=\"ws\""[..])
    );
    let invalid = assert_refusal(
        probe(client(addr, "/?access_token=guess")),
        401,
        "invalid token\n",
    );
    assert_eq!(
        invalid.header("WWW-Authenticate"),
        Some(&b"Bearer realm=\"ws\", error=\"invalid_token\""[..])
    );
    let forbidden = client(addr, "/admin").header("Cookie", "session=user");
    assert_refusal(probe(forbidden), 403, "forbidden\n");
    probe(client(addr, "/").header("Authorization", "Bearer admin")).expect("bearer");
    probe(client(addr, "/ws?access_token=user")).expect("query");
    probe(client(addr, "/").header("Cookie", "session=\"user\"")).expect("cookie");
    // The handler decided only on the admitted requests.
    assert_eq!(server.handshakes.load(Ordering::SeqCst), 3);
}

#[test]
fn connections_past_the_per_ip_limit_get_429_until_one_leaves() {
    let mut options = Options::default();
    options.max_connections_per_ip = Some(2);
    // Two event loops: the kernel spreads the connections over both, and the count is the
    // server's.
    options.threads = 2;
    let server = start(options);
    let addr = server.addr;
    let mut held: Vec<_> = (0..2)
        .map(|_| client(addr, "/").connect().expect("connect").0)
        .collect();
    for _ in 0..3 {
        let refused = assert_refusal(
            probe(client(addr, "/")),
            429,
            "too many connections from this address\n",
        );
        assert_eq!(refused.header("Retry-After"), Some(&b"5"[..]));
    }
    // Refused when accepted: the handler never saw them.
    assert_eq!(server.handshakes.load(Ordering::SeqCst), 2);

    // One leaves; once its socket is closed, a new connection is admitted.
    let mut leaving = held.pop().expect("held");
    leaving.close(CloseCode::NORMAL, "bye").expect("close");
    while leaving.read().is_ok() {}
    let started = Instant::now();
    loop {
        match probe(client(addr, "/")) {
            Ok(()) => break,
            Err(refused) => {
                assert_eq!(refused.status(), 429);
                assert!(started.elapsed() < WAIT, "no place freed within {WAIT:?}");
            }
        }
    }
    assert_eq!(server.handshakes.load(Ordering::SeqCst), 3);
}

#[test]
fn rate_limit_drop_discards_the_excess_and_keeps_the_connection() {
    let mut options = Options::default();
    options.config.rate_limit = Some(RateLimit::messages(0, 3).with_action(RateAction::Drop));
    let server = start(options);
    let (echoes, code) = flood(server.addr, 10);
    assert_eq!(echoes, ["m0", "m1", "m2"]);
    assert_eq!(code, Some(1000));
    until(&server.seen, |s| matches!(s, Seen::Close(_, 1000, _)));
}

#[test]
fn rate_limit_close_ends_the_connection_with_1008() {
    let mut options = Options::default();
    options.config.rate_limit = Some(RateLimit::bytes(0, 6));
    let server = start(options);
    let (echoes, code) = flood(server.addr, 10);
    assert_eq!(echoes, ["m0", "m1", "m2"]);
    assert_eq!(code, Some(1008));
    let fault = Fault::Protocol(ProtocolError::RateLimited);
    until(
        &server.seen,
        |s| matches!(s, Seen::Error(_, f) if *f == fault),
    );
    until(&server.seen, |s| matches!(s, Seen::Close(_, 1008, _)));
}
