//! `ws serve`: the echo server (the Autobahn server testee), and the chat demo's entry.

use std::io::{self, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;

use ws_mio::{ConnId, Ctx, Handler, Message as MioMessage, Options, Server};
use ws_proto::extensions::deflate::{DeflateConfig, DeflatePreset};
use ws_proto::Config;
use ws_std::{Error, Message, ServerBuilder};

use crate::Backend;

/// `deflate`: how permessage-deflate is answered (`--deflate`; `--no-deflate` is `Off`). Without `echo`: the
/// chat demo, on the mio backend only. `max_connections` (mio only): 0 lifts the limit.
/// `redis`: the chat's rooms across processes.
pub(crate) fn run(
    addr: &str,
    echo: bool,
    backend: Option<Backend>,
    deflate: DeflatePreset,
    max_connections: Option<usize>,
    redis: crate::demo::RedisArgs,
) -> Result<(), String> {
    let mut options = Options::default();
    options.config.deflate = DeflateConfig::preset(deflate);
    if let Some(max) = max_connections {
        options.max_connections = (max > 0).then_some(max);
    }
    if echo && redis.url.is_some() {
        return Err("--redis scales the chat demo out: drop --echo".into());
    }
    if !echo {
        return match backend.unwrap_or(Backend::Mio) {
            Backend::Mio => crate::demo::run(addr, options, &redis),
            Backend::Std | Backend::Tokio => {
                Err("the chat demo runs on the mio backend: drop --backend, \
                 or add --echo for the echo server"
                    .into())
            }
        };
    }
    match backend.unwrap_or(Backend::Std) {
        Backend::Std | Backend::Tokio if max_connections.is_some() => Err(
            "--max-connections applies to the mio backend (the std and tokio backends hold \
             every connection they accept): add --backend mio"
                .into(),
        ),
        Backend::Std => run_std(addr, echo, deflate),
        Backend::Mio => run_mio(addr, options),
        Backend::Tokio => crate::serve_tokio::run(addr, options.config),
    }
}

/// The mio backend: one event loop on this thread, echoing every message.
fn run_mio(addr: &str, options: Options) -> Result<(), String> {
    struct Echo;
    impl Handler for Echo {
        fn message(&mut self, ctx: &mut Ctx<'_>, id: ConnId, message: MioMessage) {
            // Handed over: a large payload is written from its own buffer, a small one's
            // buffer serves a later message (no allocation or copy per echo).
            let _ = ctx.send_owned(id, message);
        }
    }
    run_mio_server(addr, options, |_| Echo, |_| String::new())
}

/// Listens on `addr` and runs the event loops until Ctrl-C. Prints `listening on ws://ADDR/`
/// (the line scripts and tests read the address from), then `more(ADDR)` if not empty.
pub(crate) fn run_mio_server<F, H>(
    addr: &str,
    options: Options,
    factory: F,
    more: impl FnOnce(SocketAddr) -> String,
) -> Result<(), String>
where
    F: Fn(usize) -> H + Send + Sync + 'static,
    H: Handler,
{
    run_mio_server_with(addr, options, factory, more, |_| Box::new(|| ()))
}

/// [`run_mio_server`], with `start` called with the server's handle before it runs; what
/// `start` returns is called once the server has stopped.
pub(crate) fn run_mio_server_with<F, H>(
    addr: &str,
    options: Options,
    factory: F,
    more: impl FnOnce(SocketAddr) -> String,
    start: impl FnOnce(ws_mio::Handle) -> Box<dyn FnOnce()>,
) -> Result<(), String>
where
    F: Fn(usize) -> H + Send + Sync + 'static,
    H: Handler,
{
    let server = Server::bind(addr, options, factory)
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let local = server.local_addr().ok_or("no local address")?;
    println!("listening on ws://{local}/");
    print!("{}", more(local));
    io::stdout().flush().map_err(|e| e.to_string())?;
    let handle = server.handle();
    let stop = start(handle.clone());
    ctrlc::set_handler(move || handle.shutdown())
        .map_err(|e| format!("cannot install the Ctrl-C handler: {e}"))?;
    let result = server.run().map_err(|e| e.to_string());
    stop();
    result?;
    eprintln!("shutting down");
    Ok(())
}

/// The std backend: one thread per connection.
fn run_std(addr: &str, _echo: bool, deflate: DeflatePreset) -> Result<(), String> {
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

    for stream in listener.incoming() {
        if stopping.load(Ordering::SeqCst) {
            break;
        }
        match stream {
            Ok(stream) => {
                thread::spawn(move || echo_connection(stream, deflate));
            }
            Err(e) => eprintln!("accept failed: {e}"),
        }
    }
    eprintln!("shutting down");
    Ok(())
}

/// Echoes every message back unchanged until the peer closes.
fn echo_connection(stream: TcpStream, deflate: DeflatePreset) {
    let peer = stream
        .peer_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    if let Err(e) = stream.set_nodelay(true) {
        eprintln!("{peer}: {e}");
    }
    let mut config = Config::default();
    config.deflate = DeflateConfig::preset(deflate);
    let mut ws = match ServerBuilder::new().config(config).accept(stream) {
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
