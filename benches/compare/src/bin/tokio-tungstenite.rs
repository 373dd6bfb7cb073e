//! Echo server on tokio-tungstenite: split and forward (see `ws_compare::echo_forward`).

use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::{Error, Message};

async fn echo(stream: TcpStream) -> Result<(), Error> {
    let ws = tokio_tungstenite::accept_async(stream).await?;
    ws_compare::echo_forward(ws, |m: &Message| m.is_text() || m.is_binary()).await
}

fn main() -> std::io::Result<()> {
    ws_compare::serve_tokio(|stream| async move {
        let _ = echo(stream).await;
    })
}
