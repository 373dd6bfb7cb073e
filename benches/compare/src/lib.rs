//! What the echo servers share: the listening address from the command line, announced on
//! standard output the way `ws serve` does (`listening on ws://ADDR/`), which is how
//! `benches/compare.sh` finds the port.

use std::io::Write;

/// The address to listen on: the first argument, or an ephemeral port on loopback.
pub fn listen_addr() -> String {
    std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into())
}

/// Prints the URL clients connect to.
pub fn announce(addr: std::net::SocketAddr) {
    println!("listening on ws://{addr}/");
    std::io::stdout().flush().expect("stdout");
}

/// Runs a tokio accept loop: each connection is handed to `handle` on its own task.
///
/// The runtime is single-threaded (the comparison pins every server to one core, and it is the
/// runtime the async libraries' own echo examples use), and tasks are `unconstrained` (no
/// cooperative yielding every 128 operations), as in those examples.
pub fn serve_tokio<F, Fut>(handle: F) -> std::io::Result<()>
where
    F: Fn(tokio::net::TcpStream) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(listen_addr()).await?;
        announce(listener.local_addr()?);
        loop {
            let (stream, _) = listener.accept().await?;
            stream.set_nodelay(true)?;
            tokio::spawn(tokio::task::unconstrained(handle(stream)));
        }
    })
}

/// Echoes every data message: the connection split into its stream and sink halves and the data
/// messages forwarded from one to the other. `forward` flushes only when the stream has nothing
/// more ready, so a batch of pipelined messages goes out in one write.
pub async fn echo_forward<S, M, E>(ws: S, is_data: fn(&M) -> bool) -> Result<(), E>
where
    S: futures_util::Stream<Item = Result<M, E>> + futures_util::Sink<M, Error = E>,
{
    use futures_util::{future, StreamExt, TryStreamExt};
    let (sink, stream) = ws.split();
    stream
        .try_filter(|m| future::ready(is_data(m)))
        .forward(sink)
        .await
}
