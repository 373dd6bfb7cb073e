//! An echo server on ws-tokio: a task per connection, every message sent back.
//!
//! Usage: `cargo run -p ws-tokio --example echo-server [ADDR]` (default `127.0.0.1:9002`),
//! then for example `cargo run -p ws-cli -- connect ws://127.0.0.1:9002/`.

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use ws_tokio::Error;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9002".into());
    let listener = TcpListener::bind(&addr).await?;
    println!("listening on ws://{}/", listener.local_addr()?);
    loop {
        let (tcp, peer) = listener.accept().await?;
        tokio::spawn(async move {
            if let Err(e) = echo(tcp).await {
                eprintln!("{peer}: {e}");
            }
        });
    }
}

async fn echo(tcp: tokio::net::TcpStream) -> Result<(), Error> {
    tcp.set_nodelay(true)?;
    let mut ws = ws_tokio::accept_async(tcp).await?;
    while let Some(message) = ws.next().await {
        let message = message?;
        if message.is_data() {
            // `feed` queues it; the stream writes it before it next waits for input, so the
            // echoes of messages that arrived together leave in one write.
            ws.feed(message).await?;
        }
    }
    Ok(())
}
