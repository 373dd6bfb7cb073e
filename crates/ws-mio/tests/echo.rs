//! Echo over loopback, the ws-mio server against the ws-std client.

mod common;

use std::sync::mpsc;

use common::{next, until, Probe, Seen};
use ws_mio::{CloseCode, Options, Server};
use ws_std::Message;

#[test]
fn echoes_text_and_binary_then_closes_cleanly() {
    let (tx, rx) = mpsc::channel();
    let server = Server::bind("127.0.0.1:0", Options::default(), move |_| Probe {
        tx: tx.clone(),
        echo: true,
    })
    .unwrap();
    let url = format!("ws://{}/echo", server.local_addr().unwrap());
    let running = server.spawn().unwrap();

    let (mut ws, _) = ws_std::connect(&url).unwrap();
    let Seen::Open(id) = next(&rx) else {
        panic!("expected open")
    };
    ws.send_text("hello").unwrap();
    assert_eq!(ws.read().unwrap(), Message::Text("hello".into()));
    let big: Vec<u8> = (0..200_000u32).map(|i| i as u8).collect();
    ws.send_binary(&big).unwrap();
    assert_eq!(ws.read().unwrap(), Message::Binary(big));

    ws.close(CloseCode::NORMAL, "bye").unwrap();
    assert!(matches!(ws.read().unwrap(), Message::Close(Some(f)) if f.code == CloseCode::NORMAL));
    let close = until(&rx, |s| matches!(s, Seen::Close(..)));
    assert_eq!(close, Seen::Close(id, 1000, "bye".into()));
    drop(ws);
    running.stop().unwrap();
}

#[test]
fn many_messages_in_both_directions_keep_their_order() {
    let (tx, rx) = mpsc::channel();
    let server = Server::bind("127.0.0.1:0", Options::default(), move |_| Probe {
        tx: tx.clone(),
        echo: true,
    })
    .unwrap();
    let url = format!("ws://{}/", server.local_addr().unwrap());
    let _running = server.spawn().unwrap();
    let (mut ws, _) = ws_std::connect(&url).unwrap();
    for i in 0..500 {
        ws.write(format!("message {i}")).unwrap();
    }
    ws.flush().unwrap();
    for i in 0..500 {
        assert_eq!(ws.read().unwrap(), Message::Text(format!("message {i}")));
    }
    drop(rx);
}
