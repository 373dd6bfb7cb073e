//! What the runnable examples of this directory share: reading `--name value` arguments and
//! the echo loop of the ws-std servers. See `examples/README.md` for the examples themselves.

use std::net::TcpListener;
use std::thread;

use ws_std::{Error, Transport, WebSocket};

/// The value after the first `name` on the command line (`--ticks 3`), if any.
pub fn arg(name: &str) -> Option<String> {
    args(name).into_iter().next()
}

/// The values after every `name` on the command line (`--send a --send b`), in order.
pub fn args(name: &str) -> Vec<String> {
    let all: Vec<String> = std::env::args().collect();
    all.windows(2)
        .filter(|pair| pair[0] == name)
        .map(|pair| pair[1].clone())
        .collect()
}

/// The first argument that is not an option or an option's value (the URL of the clients).
pub fn positional() -> Option<String> {
    let mut all = std::env::args().skip(1);
    while let Some(arg) = all.next() {
        if arg.starts_with("--") {
            all.next();
        } else {
            return Some(arg);
        }
    }
    None
}

/// `--name N` as a number, or `default`; exits with a message if it is not one.
pub fn number(name: &str, default: u64) -> u64 {
    match arg(name) {
        None => default,
        Some(value) => value.parse().unwrap_or_else(|_| {
            eprintln!("{name} takes a number, not {value:?}");
            std::process::exit(2)
        }),
    }
}

/// Binds `--addr` (default `127.0.0.1:0`, a free port), prints `listening on ADDR` (the line
/// `examples/run.sh` waits for), then runs `serve` on a thread for each connection: for
/// `--connections N` connections, then returns once they are done (default: forever).
pub fn serve_connections<F>(serve: F) -> std::io::Result<()>
where
    F: Fn(std::net::TcpStream) -> Result<(), Error> + Send + Sync + Clone + 'static,
{
    let listener = TcpListener::bind(arg("--addr").unwrap_or_else(|| "127.0.0.1:0".into()))?;
    println!("listening on {}", listener.local_addr()?);
    let limit = number("--connections", u64::MAX);
    let mut threads = Vec::new();
    for tcp in listener
        .incoming()
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
    {
        let tcp = tcp?;
        let serve = serve.clone();
        threads.push(thread::spawn(move || {
            if let Err(e) = serve(tcp) {
                eprintln!("connection failed: {e}");
            }
        }));
    }
    for thread in threads {
        let _ = thread.join();
    }
    Ok(())
}

/// Sends every text and binary message back until the peer closes. Pings are answered by
/// the connection itself; a Close frame completes the closing handshake, and the next read
/// reports [`Error::ConnectionClosed`].
pub fn echo<S: Transport>(ws: &mut WebSocket<S>) -> Result<(), Error> {
    loop {
        match ws.read() {
            Ok(message) if message.is_text() || message.is_binary() => ws.send(message)?,
            Ok(_) => {}
            Err(Error::ConnectionClosed) => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}

/// The URL on the command line, or `ws://127.0.0.1:9001` (where the echo server's README
/// command listens).
pub fn url() -> String {
    positional().unwrap_or_else(|| "ws://127.0.0.1:9001".into())
}

/// Ends a client: prints the error and exits with status 1 if `result` is one.
pub fn exit_on_error<E: std::fmt::Display>(result: Result<(), E>) {
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
