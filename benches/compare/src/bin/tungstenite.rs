//! Echo server on tungstenite (blocking): one thread per connection, each message sent back
//! with `send` (write and flush), as in tungstenite's documentation.

use std::net::{TcpListener, TcpStream};
use std::thread;

use tungstenite::{accept, Error};

fn echo(stream: TcpStream) -> Result<(), Error> {
    stream.set_nodelay(true)?;
    let mut ws = accept(stream).map_err(|e| match e {
        tungstenite::HandshakeError::Failure(e) => e,
        tungstenite::HandshakeError::Interrupted(_) => Error::ConnectionClosed,
    })?;
    loop {
        let message = ws.read()?;
        if message.is_text() || message.is_binary() {
            ws.send(message)?;
        }
    }
}

fn main() -> std::io::Result<()> {
    let listener = TcpListener::bind(ws_compare::listen_addr())?;
    ws_compare::announce(listener.local_addr()?);
    for stream in listener.incoming() {
        let stream = stream?;
        thread::spawn(move || echo(stream));
    }
    Ok(())
}
