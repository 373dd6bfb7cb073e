//! `ws serve --echo --backend tokio`: the echo server on ws-tokio (the Autobahn server
//! testee of the async adapter), a task per connection on tokio's multi-threaded runtime.

use std::io::{self, Write};
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use ws_proto::Config;
use ws_tokio::{Error, Message, ServerBuilder};

/// Listens on `addr` and echoes every message on every connection until Ctrl-C. Prints
/// `listening on ws://ADDR/` (the line scripts and tests read the address from).
pub(crate) fn run(addr: &str, config: Config) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the tokio runtime: {e}"))?;
    let stop = Arc::new(Notify::new());
    {
        let stop = Arc::clone(&stop);
        ctrlc::set_handler(move || stop.notify_one())
            .map_err(|e| format!("cannot install the Ctrl-C handler: {e}"))?;
    }
    runtime.block_on(async move {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        let local = listener.local_addr().map_err(|e| e.to_string())?;
        println!("listening on ws://{local}/");
        io::stdout().flush().map_err(|e| e.to_string())?;
        let server = ServerBuilder::new().config(config);
        tokio::spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((tcp, _)) => {
                        tokio::spawn(echo(tcp, server.clone()));
                    }
                    Err(e) => eprintln!("accept failed: {e}"),
                }
            }
        });
        stop.notified().await;
        Ok::<(), String>(())
    })?;
    eprintln!("shutting down");
    runtime.shutdown_background();
    Ok(())
}

/// Echoes every data message back unchanged until the connection ends.
async fn echo(tcp: TcpStream, server: ServerBuilder) {
    let peer = tcp.peer_addr().map(|a| a.to_string()).unwrap_or_default();
    if let Err(e) = tcp.set_nodelay(true) {
        eprintln!("{peer}: {e}");
    }
    let mut ws = match server.accept(tcp).await {
        Ok(ws) => ws,
        Err(e) => {
            eprintln!("{peer}: handshake failed: {e}");
            return;
        }
    };
    loop {
        let result = match ws.read().await {
            // Queued, not flushed: `read` writes the replies before it waits for more input,
            // so replies to messages that arrived together go out in one write.
            Ok(message @ (Message::Text(_) | Message::Binary(_))) => ws.write(message),
            // After the Close, reading on completes the closing handshake.
            Ok(_) => Ok(()),
            Err(Error::ConnectionClosed) => return,
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            eprintln!("{peer}: {e}");
            return;
        }
    }
}
