//! The reconnecting client against servers that stop and start again on the same port, stop
//! answering (a dead peer), or never come back. Synchronised with channels; the only waits
//! are the client's own backoff delays, kept to a few milliseconds.

mod common;

use std::net::{SocketAddr, TcpListener};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use common::{accept_within, spawn, Peer, DEADLINE};
use ws_std::reconnect::{Cause, Ended, Reconnecting};
use ws_std::ws_proto::backoff::Backoff;
use ws_std::{ClientBuilder, CloseCode, Config, Error, Message, Timeout};

fn fast(max_attempts: Option<u32>) -> Backoff {
    Backoff {
        initial: Duration::from_millis(2),
        max: Duration::from_millis(20),
        max_attempts,
        ..Backoff::default()
    }
}

/// A client of `addr` whose hook sends "subscribe" on every connection, and whose failure
/// hook reports `(failures, cause)` on the returned channel.
fn client(
    addr: SocketAddr,
    config: Config,
    policy: Backoff,
) -> (Reconnecting, Receiver<(u32, String)>) {
    let (tx, failures) = mpsc::channel();
    let client = Reconnecting::new(
        ClientBuilder::new(&format!("ws://{addr}/")).config(config),
        policy,
    )
    .on_connect(|ws, _| ws.send_text("subscribe"))
    .on_failure(move |f| {
        let _ = tx.send((f.failures, f.cause.to_string()));
    });
    (client, failures)
}

/// Serves one WebSocket on `listener`: expects "subscribe", sends `greeting`, then runs `then`.
fn serve(
    listener: &TcpListener,
    greeting: &str,
    then: impl FnOnce(ws_std::WebSocket<std::net::TcpStream>),
) {
    let mut ws = ws_std::accept(accept_within(listener, DEADLINE)).expect("server handshake");
    assert_eq!(ws.read().unwrap(), Message::Text("subscribe".into()));
    ws.send_text(greeting).unwrap();
    then(ws);
}

fn text(m: Message) -> String {
    match m {
        Message::Text(t) => t.to_string(),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn reconnects_to_a_server_stopped_and_restarted_on_the_same_port() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (mut client, failures) = client(addr, Config::default(), fast(Some(1000)));
    let (stopped_tx, stopped) = mpsc::channel();
    let server: Peer<()> = spawn(move || {
        // The first server: greets, then goes away (1001) and stops listening.
        serve(&listener, "hello 1", |mut ws| {
            ws.close(CloseCode::GOING_AWAY, "restarting").unwrap();
            while ws.read().is_ok() {}
        });
        drop(listener);
        stopped_tx.send(()).unwrap();
    });
    assert_eq!(text(client.read().unwrap()), "hello 1");
    assert_eq!(client.connects(), 1);

    let restarted: Peer<()> = spawn(move || {
        stopped.recv_timeout(DEADLINE).unwrap();
        // Restart only once an attempt has been refused while the server was down.
        let (_, first) = failures.recv_timeout(DEADLINE).unwrap();
        assert!(first.contains("1001"), "{first}");
        // (An attempt that raced the listener's close may have failed otherwise.)
        loop {
            let (n, cause) = failures.recv_timeout(DEADLINE).unwrap();
            if n >= 1 && cause.to_lowercase().contains("refused") {
                break;
            }
        }
        let listener = TcpListener::bind(addr).expect("bind the same port again");
        serve(&listener, "hello 2", |mut ws| {
            // Until the client closes.
            while !matches!(ws.read(), Ok(Message::Close(_)) | Err(_)) {}
        });
    });
    // The lost connection is noticed, attempts fail while the server is down, and the hook
    // subscribes again on the new server.
    assert_eq!(text(client.read().unwrap()), "hello 2");
    assert_eq!(client.connects(), 2);
    client.close(CloseCode::NORMAL, "");
    assert!(matches!(client.read(), Err(Ended::Closed)));
    server.join();
    restarted.join();
}

#[test]
fn a_dead_peer_is_detected_by_keepalive_and_replaced() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut config = Config::default();
    config.keepalive_interval = Some(Duration::from_millis(50));
    config.keepalive_timeout = Some(Duration::from_millis(50));
    let (mut client, failures) = client(addr, config, fast(Some(100)));
    let (release_tx, release) = mpsc::channel::<()>();
    let server: Peer<()> = spawn(move || {
        // The first connection: greets, then neither reads nor answers pings (a hung peer)
        // until the test is over.
        let mut held = None;
        serve(&listener, "hello 1", |ws| held = Some(ws));
        serve(&listener, "hello 2", |mut ws| {
            while !matches!(ws.read(), Ok(Message::Close(_)) | Err(_)) {}
        });
        let _ = release.recv_timeout(DEADLINE);
        drop(held);
    });
    assert_eq!(text(client.read().unwrap()), "hello 1");
    assert_eq!(text(client.read().unwrap()), "hello 2");
    let (n, cause) = failures.try_recv().expect("the dead peer was reported");
    assert_eq!(n, 0);
    assert_eq!(cause, Error::Timeout(Timeout::Keepalive).to_string());
    client.close(CloseCode::NORMAL, "");
    release_tx.send(()).unwrap();
    server.join();
}

/// A port with nothing listening.
fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

#[test]
fn gives_up_after_max_attempts() {
    let (mut client, failures) = client(closed_port(), Config::default(), fast(Some(3)));
    match client.read() {
        Err(Ended::GaveUp {
            failures: 3,
            last: Cause::Error(Error::Io(e)),
            ..
        }) => {
            assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused)
        }
        other => panic!("{other:?}"),
    }
    // Two waits between three attempts, then the end, which stays.
    let reported: Vec<u32> = failures.try_iter().map(|(n, _)| n).collect();
    assert_eq!(reported, [1, 2]);
    assert!(matches!(client.send_text("x"), Err(Ended::Closed)));
    assert_eq!(client.connects(), 0);
}

#[test]
fn gives_up_after_max_elapsed() {
    let policy = Backoff {
        max_elapsed: Some(Duration::from_millis(60)),
        ..fast(None)
    };
    let (mut client, _) = client(closed_port(), Config::default(), policy);
    let err = client.read().unwrap_err();
    let Ended::GaveUp {
        failures, elapsed, ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert!(*failures >= 2, "{err}");
    assert!(*elapsed >= Duration::from_millis(60), "{err}");
    assert!(
        err.to_string().starts_with("gave up reconnecting after"),
        "{err}"
    );
}

#[test]
fn a_failing_hook_fails_the_attempt() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server: Peer<usize> = spawn(move || {
        // Each attempt's handshake completes; the client's hook then refuses the connection.
        (0..2)
            .map(|_| {
                let mut ws = ws_std::accept(accept_within(&listener, DEADLINE)).unwrap();
                while ws.read().is_ok() {}
            })
            .count()
    });
    let mut client = Reconnecting::new(ClientBuilder::new(&format!("ws://{addr}/")), fast(Some(2)))
        .on_connect(|_, _| Err(Error::ConnectionClosed));
    let err = client.connect().unwrap_err();
    assert!(
        matches!(
            err,
            Ended::GaveUp {
                failures: 2,
                last: Cause::Error(Error::ConnectionClosed),
                ..
            }
        ),
        "{err:?}"
    );
    drop(client);
    assert_eq!(server.join(), 2);
}

#[test]
fn stop_if_gives_up_on_a_refusal_that_retrying_cannot_mend() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server: Peer<()> = spawn(move || {
        let stream = accept_within(&listener, DEADLINE);
        let refused = ws_std::accept_with(stream, |_| {
            Err(ws_std::HttpResponse::new(401).with_body("bad token"))
        });
        assert!(refused.is_err());
    });
    let mut client = Reconnecting::new(ClientBuilder::new(&format!("ws://{addr}/")), fast(None))
        .stop_if(|cause| {
            matches!(cause, Cause::Error(Error::Handshake(ws_std::HandshakeError::Rejected(r))) if r.status() == 401)
        });
    match client.read() {
        Err(Ended::GaveUp {
            failures: 1,
            last: Cause::Error(Error::Handshake(_)),
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
    server.join();
}
