//! `ws serve`: the echo server (the Autobahn server testee) and demo.

use std::io::{self, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;

use ws_std::{Error, Message};

use crate::Backend;

pub(crate) fn run(addr: &str, _echo: bool, backend: Backend) -> Result<(), String> {
    let listener = TcpListener::bind(addr).map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    println!("listening on ws://{local}/");
    io::stdout().flush().map_err(|e| e.to_string())?;

    let stopping = Arc::new(AtomicBool::new(false));
    {
        let stopping = Arc::clone(&stopping);
        ctrlc::set_handler(move || {
            stopping.store(true, Ordering::SeqCst);
            // Wake the accept loop.
            let _ = TcpStream::connect(local);
        })
        .map_err(|e| format!("cannot install the Ctrl-C handler: {e}"))?;
    }

    match backend {
        Backend::Std => {
            for stream in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                match stream {
                    Ok(stream) => {
                        thread::spawn(move || echo_connection(stream));
                    }
                    Err(e) => eprintln!("accept failed: {e}"),
                }
            }
        }
    }
    eprintln!("shutting down");
    Ok(())
}

/// Echoes every message back unchanged until the peer closes.
fn echo_connection(stream: TcpStream) {
    let peer = stream
        .peer_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    if let Err(e) = stream.set_nodelay(true) {
        eprintln!("{peer}: {e}");
    }
    let mut ws = match ws_std::accept(stream) {
        Ok(ws) => ws,
        Err(e) => {
            eprintln!("{peer}: handshake failed: {e}");
            return;
        }
    };
    loop {
        let result = match ws.read() {
            // Queued, not flushed: `read` writes the replies before it waits for more input, so
            // replies to pipelined messages that arrived together go out in one write.
            Ok(message @ (Message::Text(_) | Message::Binary(_))) => ws.write(message),
            Ok(Message::Close(_)) | Err(Error::ConnectionClosed) => return,
            Ok(_) => Ok(()),
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            eprintln!("{peer}: {e}");
            return;
        }
    }
}
