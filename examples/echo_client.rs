//! A client on ws-std: sends each `--send TEXT`, prints the reply to each, and closes.
//!
//! `cargo run -p ws-examples --example echo-client -- ws://127.0.0.1:9001 --send hello`
//!
//! `--until-close` prints every message until the server closes instead (a feed such as the
//! ticker); `--origin URL` and `--header 'Name: value'` are sent with the handshake.

use ws_std::{ClientBuilder, CloseCode, Error, Message};

fn main() {
    ws_examples::exit_on_error(run());
}

fn run() -> Result<(), Error> {
    let url = ws_examples::url();
    let mut client = ClientBuilder::new(&url);
    if let Some(origin) = ws_examples::arg("--origin") {
        client = client.origin(&origin);
    }
    for header in ws_examples::args("--header") {
        let (name, value) = header.split_once(':').unwrap_or((&header, ""));
        client = client.header(name.trim(), value.trim());
    }
    let (mut ws, _response) = client.connect()?;
    println!("connected to {url}");

    for text in ws_examples::args("--send") {
        ws.send(text.as_str())?;
        // Read up to the reply, past any Ping or Pong.
        loop {
            let message = ws.read()?;
            if let Some(reply) = message.as_text() {
                println!("received: {reply}");
                break;
            }
        }
    }
    if std::env::args().any(|a| a == "--until-close") {
        return print_until_close(&mut ws);
    }
    ws.close(CloseCode::NORMAL, "done")?;
    // Finish the closing handshake: read until the server's Close frame has come.
    loop {
        match ws.read() {
            Ok(_) => {}
            Err(Error::ConnectionClosed) => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}

fn print_until_close(ws: &mut ws_std::WebSocket<ws_std::MaybeTlsStream>) -> Result<(), Error> {
    loop {
        match ws.read()? {
            Message::Text(text) => println!("received: {text}"),
            Message::Close(Some(frame)) => {
                println!("closed: {} {}", frame.code, frame.reason);
                return Ok(());
            }
            Message::Close(None) => {
                println!("closed: no status");
                return Ok(());
            }
            _ => {}
        }
    }
}
