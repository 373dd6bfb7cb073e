//! Sending to all, to a set and to one connection, from the loop and from other threads.

mod common;

use std::sync::mpsc;

use common::{next, until, Probe, Seen};
use ws_mio::{ConnId, Ctx, Handler, Message, Options, Server};

/// Relays: "all:TEXT" is broadcast from inside the loop; everything is reported.
struct Relay(Probe);

impl Handler for Relay {
    fn open(&mut self, ctx: &mut Ctx<'_>, id: ConnId) {
        self.0.open(ctx, id);
    }
    fn message(&mut self, ctx: &mut Ctx<'_>, id: ConnId, message: Message) {
        if let Message::Text(text) = &message {
            if let Some(rest) = text.strip_prefix("all:") {
                let delivery = ctx.broadcast(&Message::Text(rest.into()));
                assert_eq!(delivery.queued, ctx.connection_count());
            }
        }
        self.0.message(ctx, id, message);
    }
}

fn read_text(ws: &mut ws_std::WebSocket<ws_std::MaybeTlsStream>) -> String {
    match ws.read().unwrap() {
        ws_std::Message::Text(text) => text,
        other => panic!("expected text, got {other:?}"),
    }
}

fn broadcast_with_threads(threads: usize) {
    let (tx, rx) = mpsc::channel();
    let mut options = Options::default();
    options.threads = threads;
    let server = Server::bind("127.0.0.1:0", options, move |_| {
        Relay(Probe {
            tx: tx.clone(),
            echo: false,
        })
    })
    .unwrap();
    let url = format!("ws://{}/", server.local_addr().unwrap());
    let handle = server.handle();
    let _running = server.spawn().unwrap();

    let mut clients = Vec::new();
    let mut ids = Vec::new();
    for _ in 0..4 {
        clients.push(ws_std::connect(&url).unwrap().0);
        let Seen::Open(id) = next(&rx) else {
            panic!("expected open")
        };
        ids.push(id);
    }
    // Which client is which id: each says its index, and the report names the id.
    let mut by_client = Vec::new();
    for (i, ws) in clients.iter_mut().enumerate() {
        ws.send_text(&format!("i am {i}")).unwrap();
        let Seen::Message(id, _) = until(&rx, |s| matches!(s, Seen::Message(..))) else {
            unreachable!()
        };
        by_client.push(id);
    }

    // From another thread: to one, to a set, to all.
    let h = handle.clone();
    let (one, set) = (by_client[0], [by_client[1], by_client[2]]);
    std::thread::spawn(move || {
        h.send(one, "just you").unwrap();
        h.send_to(&set, "you two").unwrap();
        h.broadcast("everyone").unwrap();
    })
    .join()
    .unwrap();
    assert_eq!(read_text(&mut clients[0]), "just you");
    assert_eq!(read_text(&mut clients[1]), "you two");
    assert_eq!(read_text(&mut clients[2]), "you two");
    for ws in &mut clients {
        assert_eq!(read_text(ws), "everyone");
    }

    // From inside the loop: a client's message is broadcast to all, the sender included.
    clients[3].send_text("all:from three").unwrap();
    for ws in &mut clients {
        assert_eq!(read_text(ws), "from three");
    }
}

#[test]
fn to_one_to_a_set_and_to_all_on_one_loop() {
    broadcast_with_threads(1);
}

#[test]
fn to_one_to_a_set_and_to_all_across_three_loops() {
    broadcast_with_threads(3);
}

#[test]
fn a_gone_connection_is_unknown() {
    let (tx, rx) = mpsc::channel();
    let server = Server::bind("127.0.0.1:0", Options::default(), move |_| Probe {
        tx: tx.clone(),
        echo: false,
    })
    .unwrap();
    let url = format!("ws://{}/", server.local_addr().unwrap());
    let handle = server.handle();
    let running = server.spawn().unwrap();
    let (ws, _) = ws_std::connect(&url).unwrap();
    let Seen::Open(id) = next(&rx) else {
        panic!("expected open")
    };
    drop(ws);
    assert_eq!(
        until(&rx, |s| matches!(s, Seen::Close(..))),
        Seen::Close(id, 1006, "connection closed without a close frame".into())
    );
    // Queued for the loop, which finds no such connection: nothing happens.
    handle.send(id, "anyone there?").unwrap();
    running.stop().unwrap();
    assert!(matches!(handle.send(id, "x"), Err(ws_mio::Error::Stopped)));
}

#[test]
fn an_aborted_connection_is_cut_without_a_close_frame() {
    let (tx, rx) = mpsc::channel();
    let server = Server::bind("127.0.0.1:0", Options::default(), move |_| Probe {
        tx: tx.clone(),
        echo: false,
    })
    .unwrap();
    let url = format!("ws://{}/", server.local_addr().unwrap());
    let handle = server.handle();
    let _running = server.spawn().unwrap();
    let (mut ws, _) = ws_std::connect(&url).unwrap();
    ws.set_read_timeout(Some(common::WAIT));
    let Seen::Open(id) = next(&rx) else {
        panic!("expected open")
    };
    handle.abort(id).unwrap();
    assert!(matches!(
        until(&rx, |s| matches!(s, Seen::Close(..))),
        Seen::Close(i, 1006, _) if i == id
    ));
    // The client sees the TCP connection end without a Close frame.
    assert!(matches!(ws.read(), Err(ws_std::Error::ConnectionLost)));
}
