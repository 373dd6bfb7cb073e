//! A chat client on ws-std that reads and writes at the same time: lines typed on stdin are
//! sent while messages from the server are printed as they come.
//!
//! `cargo run -p ws-examples --example chat-client -- ws://127.0.0.1:9001`
//!
//! A [`ws_std::WebSocket`] is one value that both reads and writes, so it stays on one
//! thread: a second thread reads stdin and hands each line over a channel, and the socket's
//! thread reads with a short timeout ([`WebSocket::set_read_timeout`]); a timeout leaves the
//! connection usable, so between reads it sends the lines that have come. At the end of
//! stdin it closes (1000) and prints what arrives until the server's Close frame.
//!
//! [`WebSocket::set_read_timeout`]: ws_std::WebSocket::set_read_timeout

use std::io::{BufRead, ErrorKind};
use std::sync::mpsc::{self, TryRecvError};
use std::thread;
use std::time::Duration;

use ws_std::{CloseCode, Error, Message};

/// How long a read waits before the thread looks for lines to send: the most a typed line
/// waits before it goes out.
const POLL: Duration = Duration::from_millis(20);

fn main() {
    ws_examples::exit_on_error(run());
}

fn run() -> Result<(), Error> {
    let url = ws_examples::url();
    let (mut ws, _response) = ws_std::connect(&url)?;
    eprintln!("connected to {url}; type lines to send, end with Ctrl-D");

    let (lines, typed) = mpsc::channel::<String>();
    thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if lines.send(line).is_err() {
                break; // the connection is gone
            }
        }
    });

    ws.set_read_timeout(Some(POLL));
    let mut closing = false;
    loop {
        match ws.read() {
            Ok(Message::Text(text)) => println!("{text}"),
            Ok(Message::Close(frame)) => {
                let code = frame.map_or(CloseCode::NO_STATUS, |f| f.code);
                eprintln!("closed: {code}");
            }
            Ok(_) => {}
            Err(Error::Io(e))
                if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(Error::ConnectionClosed) => return Ok(()),
            Err(e) => return Err(e),
        }
        while !closing {
            match typed.try_recv() {
                Ok(line) => ws.send(line)?,
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    ws.close(CloseCode::NORMAL, "bye")?;
                    closing = true;
                }
            }
        }
    }
}
