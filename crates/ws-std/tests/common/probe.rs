//! Clients that probe a server's policies, shared by the policy tests of ws-std and ws-mio:
//! a connection attempt that reports the refusal received (status, headers, body) or proves
//! the connection with an echo, and a burst of messages against a rate limit.
#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;

use ws_std::{ClientBuilder, CloseCode, Error, HandshakeError, HttpResponse, Message};

/// Connects with `client`: `Ok` after an echoed message, or the refusal received.
pub fn probe(client: ClientBuilder) -> Result<(), HttpResponse> {
    match client.connect() {
        Ok((mut ws, _)) => {
            ws.send_text("ping").expect("send");
            assert_eq!(ws.read().expect("echo"), Message::Text("ping".into()));
            ws.close(CloseCode::NORMAL, "").expect("close");
            while ws.read().is_ok() {}
            Ok(())
        }
        Err(Error::Handshake(HandshakeError::Rejected(response))) => Err(*response),
        Err(other) => panic!("unexpected client error {other:?}"),
    }
}

/// A client for `target` on the server at `addr`.
pub fn client(addr: SocketAddr, target: &str) -> ClientBuilder {
    ClientBuilder::new(&format!("ws://{addr}{target}"))
}

/// Checks a refusal's status, plain-text body and content type; returns it for more checks.
pub fn assert_refusal(result: Result<(), HttpResponse>, status: u16, body: &str) -> HttpResponse {
    let response = result.expect_err("refused");
    assert_eq!(response.status(), status);
    assert_eq!(response.body(), body.as_bytes());
    assert_eq!(
        response.header("Content-Type"),
        Some(&b"text/plain; charset=utf-8"[..])
    );
    response
}

/// A client that sends `count` messages at once, then closes; returns the echoes it got and
/// the close code of the server's Close frame.
pub fn flood(addr: SocketAddr, count: usize) -> (Vec<String>, Option<u16>) {
    let (mut ws, _) = client(addr, "/").connect().expect("connect");
    for i in 0..count {
        ws.write(Message::Text(format!("m{i}"))).expect("queue");
    }
    ws.flush().expect("flush");
    let _ = ws.close(CloseCode::NORMAL, "done");
    let mut echoes = Vec::new();
    loop {
        match ws.read() {
            Ok(Message::Text(text)) => echoes.push(text),
            Ok(Message::Close(frame)) => return (echoes, frame.map(|f| f.code.as_u16())),
            Ok(_) => {}
            Err(e) => panic!("client read failed: {e:?}"),
        }
    }
}
