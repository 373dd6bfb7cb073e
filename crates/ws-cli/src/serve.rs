//! `ws serve`: the echo server (the Autobahn server testee), the chat demo's entry, and the
//! std backend's accept loop (plain or TLS) that both run on.

use std::io::{self, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;

use ws_mio::{ConnId, Ctx, Handler, Message as MioMessage, Options, Server};
use ws_proto::extensions::deflate::{DeflateConfig, DeflatePreset};
use ws_std::ws_tls::rustls::ServerConfig;
use ws_std::{
    Accept, Error, HandshakeError, HttpResponse, Message, Request, ServerBuilder, Transport,
    WebSocket,
};

use crate::Backend;

/// The certificate chain and key of `--tls-cert` and `--tls-key`.
#[derive(Debug, Clone)]
pub(crate) struct TlsFiles {
    pub(crate) cert: PathBuf,
    pub(crate) key: PathBuf,
}

/// `deflate`: how permessage-deflate is answered (`--deflate`; `--no-deflate` is `Off`).
/// Without `echo`: the chat demo. The default backend is std for the echo server and mio for
/// the chat, with TLS or without. `max_connections` (mio only): 0 lifts the limit. `tls`:
/// serve `wss://` (and the chat's page over `https://`). `redis` (the chat on mio): the
/// chat's rooms across processes.
pub(crate) fn run(
    addr: &str,
    echo: bool,
    backend: Option<Backend>,
    deflate: DeflatePreset,
    max_connections: Option<usize>,
    tls: Option<TlsFiles>,
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
    let backend = match backend {
        Some(backend) => backend,
        None if echo => Backend::Std,
        None => Backend::Mio,
    };
    if backend != Backend::Mio && max_connections.is_some() {
        return Err(
            "--max-connections applies to the mio backend (the std and tokio backends hold \
             every connection they accept): add --backend mio"
                .into(),
        );
    }
    if backend == Backend::Tokio {
        if !echo || redis.url.is_some() {
            return Err(
                "the chat demo runs on the mio and std backends: drop --backend tokio, \
                 or add --echo for the echo server"
                    .into(),
            );
        }
        if tls.is_some() {
            return Err(
                "TLS on the tokio backend of `ws serve`: not yet (ws-tokio has it; \
                 the command does not): use --backend std or mio"
                    .into(),
            );
        }
    }
    if backend == Backend::Std && redis.url.is_some() {
        return Err(
            "--redis runs the chat on the mio backend (its rooms are ws-mio topics): drop \
             --backend std"
                .into(),
        );
    }
    let tls = tls.map(|files| load_tls(&files)).transpose()?;
    if backend == Backend::Mio {
        options.tls = tls.clone();
    }
    match (backend, echo) {
        (Backend::Mio, false) => crate::demo::run(addr, options, &redis),
        (Backend::Mio, true) => run_mio(addr, options),
        (Backend::Std, false) => crate::demo::run_std_chat(addr, options.config, tls),
        (Backend::Std, true) => {
            let builder = ServerBuilder::new().config(options.config);
            run_std(addr, builder, tls, Echo, |_| String::new())
        }
        (Backend::Tokio, _) => crate::serve_tokio::run(addr, options.config),
    }
}

/// The server configuration of `--tls-cert` and `--tls-key`, for either backend (both take
/// ws-tls's rustls configuration).
fn load_tls(files: &TlsFiles) -> Result<Arc<ServerConfig>, String> {
    ws_std::tls::server::config_from_pem_files(&files.cert, &files.key)
        .map_err(|e| format!("--tls-cert / --tls-key: {e}"))
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
/// (`wss://` with `options.tls`; the line scripts and tests read the address from), then
/// `more(ADDR)` if not empty.
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
    let scheme = if options.tls.is_some() { "wss" } else { "ws" };
    let server = Server::bind(addr, options, factory)
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let local = server.local_addr().ok_or("no local address")?;
    println!("listening on {scheme}://{local}/");
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

/// What the std backend runs on each connection: the handshake's decision, then the
/// connection (over plain TCP or TLS).
pub(crate) trait Service: Clone + Send + 'static {
    /// What the handshake's decision hands to [`Service::run`] (the chat's room).
    type Session;

    /// Accepts or refuses a WebSocket request.
    fn decide(&self, request: &Request) -> Result<(Accept, Self::Session), HttpResponse>;

    /// Runs an accepted connection to its end; `peer` names it in messages.
    fn run<S: Transport>(self, ws: WebSocket<S>, session: Self::Session, peer: &str);
}

/// Listens on `addr` and accepts connections with `builder` (plus `tls`), one thread each,
/// until Ctrl-C. Prints `listening on ws://ADDR/` (`wss://` with TLS; the line scripts and
/// tests read the address from), then `more(ADDR)` if not empty.
pub(crate) fn run_std<V: Service>(
    addr: &str,
    builder: ServerBuilder,
    tls: Option<Arc<ServerConfig>>,
    service: V,
    more: impl FnOnce(SocketAddr) -> String,
) -> Result<(), String> {
    let listener = TcpListener::bind(addr).map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    let scheme = if tls.is_some() { "wss" } else { "ws" };
    println!("listening on {scheme}://{local}/");
    print!("{}", more(local));
    io::stdout().flush().map_err(|e| e.to_string())?;
    let builder = match tls {
        Some(config) => builder.tls(config),
        None => builder,
    };
    let secure = scheme == "wss";

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
                let builder = builder.clone();
                let service = service.clone();
                thread::spawn(move || serve_connection(&builder, secure, stream, service));
            }
            Err(e) => eprintln!("accept failed: {e}"),
        }
    }
    eprintln!("shutting down");
    Ok(())
}

/// Runs the handshake (TLS first when `secure`) on one connection, then the service.
fn serve_connection<V: Service>(
    builder: &ServerBuilder,
    secure: bool,
    stream: TcpStream,
    service: V,
) {
    let peer = stream
        .peer_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    if let Err(e) = stream.set_nodelay(true) {
        eprintln!("{peer}: {e}");
    }
    let mut session = None;
    let decide = |request: &Request| {
        let (accept, decided) = service.decide(request)?;
        session = Some(decided);
        Ok(accept)
    };
    if secure {
        let accepted = builder.accept_tls_with(stream, decide);
        start(accepted, session, service, &peer);
    } else {
        let accepted = builder.accept_with(stream, decide);
        start(accepted, session, service, &peer);
    }
}

/// Runs the service on a connection its handshake accepted (`session` is what the decision
/// handed over), or says why there is none.
fn start<V: Service, S: Transport>(
    accepted: Result<WebSocket<S>, Error>,
    session: Option<V::Session>,
    service: V,
    peer: &str,
) {
    match (accepted, session) {
        (Ok(ws), Some(session)) => service.run(ws, session, peer),
        // Accepted without a decision: not how the accept functions work; nothing to run.
        (Ok(_), None) => eprintln!("{peer}: accepted without a decision"),
        (Err(e), _) => handshake_failed(peer, &e),
    }
}

/// Says why a connection did not become a WebSocket, unless it was a plain HTTP request
/// answered (a page load) or a refusal.
fn handshake_failed(peer: &str, error: &Error) {
    if !matches!(error, Error::Handshake(HandshakeError::Rejected(_))) {
        eprintln!("{peer}: handshake failed: {error}");
    }
}

/// The echo server: every message back unchanged, on any path.
#[derive(Debug, Clone, Copy)]
struct Echo;

impl Service for Echo {
    type Session = ();

    fn decide(&self, request: &Request) -> Result<(Accept, ()), HttpResponse> {
        Ok((request.accept(), ()))
    }

    fn run<S: Transport>(self, mut ws: WebSocket<S>, (): (), peer: &str) {
        loop {
            let result = match ws.read() {
                // Queued, not flushed: `read` writes the replies before it waits for more
                // input, so replies to pipelined messages that arrived together go out in one
                // write.
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
}
