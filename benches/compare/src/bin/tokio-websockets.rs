//! Echo server on tokio-websockets: split and forward (see `ws_compare::echo_forward`), with
//! the library's limits lifted as in its own echo example.

use tokio::net::TcpStream;
use tokio_websockets::{Config, Error, Limits, Message, ServerBuilder};

async fn echo(stream: TcpStream) -> Result<(), Error> {
    let (_request, ws) = ServerBuilder::new()
        .config(Config::default().frame_size(usize::MAX))
        .limits(Limits::unlimited())
        .accept(stream)
        .await?;
    ws_compare::echo_forward(ws, |m: &Message| m.is_text() || m.is_binary()).await
}

fn main() -> std::io::Result<()> {
    ws_compare::serve_tokio(|stream| async move {
        let _ = echo(stream).await;
    })
}
