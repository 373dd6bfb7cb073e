//! The server side: `accept_async`, `accept_hdr_async`, [`ServerBuilder`].

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use ws_proto::handshake::{
    Accept, HttpRequest, HttpResponse, Limits, Request, ServerEvent, ServerHandshake, VERSION,
};
use ws_proto::{Config, Instant};

use crate::handshake::{Handshake, Machine};
use crate::{Error, WebSocketStream};

/// Accepts a WebSocket connection on `stream` with default settings: any path, any origin,
/// no subprotocol.
///
/// ```no_run
/// use futures_util::{SinkExt, StreamExt};
/// use tokio::net::TcpListener;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let listener = TcpListener::bind("127.0.0.1:8080").await?;
/// loop {
///     let (tcp, _) = listener.accept().await?;
///     tokio::spawn(async move {
///         let mut ws = ws_tokio::accept_async(tcp).await?;
///         while let Some(message) = ws.next().await {
///             let message = message?;
///             if message.is_data() {
///                 ws.send(message).await?; // an echo server
///             }
///         }
///         Ok::<(), ws_tokio::Error>(())
///     });
/// }
/// # }
/// ```
///
/// # Errors
///
/// As [`ServerBuilder::accept_with`].
pub async fn accept_async<S>(stream: S) -> Result<WebSocketStream<S>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    ServerBuilder::new().accept(stream).await
}

/// Accepts a WebSocket connection after `callback` has seen the request and decided: accept
/// (choosing a subprotocol, adding headers) or refuse with any [`HttpResponse`]. The same
/// callback as ws-std's `accept_with`.
///
/// ```no_run
/// use ws_tokio::HttpResponse;
///
/// # async fn run(tcp: tokio::net::TcpStream) -> Result<(), ws_tokio::Error> {
/// let ws = ws_tokio::accept_hdr_async(tcp, |request: &ws_tokio::Request| {
///     if request.path() != "/chat" {
///         return Err(HttpResponse::new(404));
///     }
///     let accept = request.accept();
///     Ok(if request.protocols().iter().any(|p| p == "chat.v2") {
///         accept.protocol("chat.v2").expect("offered")
///     } else {
///         accept
///     })
/// })
/// .await?;
/// # Ok(()) }
/// ```
///
/// # Errors
///
/// As [`ServerBuilder::accept_with`].
pub async fn accept_hdr_async<S, F>(stream: S, callback: F) -> Result<WebSocketStream<S>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: FnOnce(&Request) -> Result<Accept, HttpResponse>,
{
    ServerBuilder::new().accept_with(stream, callback).await
}

/// Settings for accepting connections, shared by every connection accepted with them.
///
/// The handshake is ws-proto's [`ServerHandshake`]: the request head is read under
/// [`Config::limits`] (431 beyond them), it must arrive within
/// [`Config::handshake_timeout`] (10 s by default), and permessage-deflate is negotiated as
/// [`Config::deflate`] says. A plain HTTP request gets `426 Upgrade Required`, or what
/// [`http`](Self::http) answers.
#[derive(Clone, Default)]
pub struct ServerBuilder {
    config: Arc<Config>,
    write_buffer_limit: Option<usize>,
    http: Option<HttpHandler>,
    #[cfg(feature = "tls")]
    tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
}

/// The application's answer to plain HTTP requests.
type HttpHandler = Arc<dyn Fn(&HttpRequest) -> HttpResponse + Send + Sync>;

impl std::fmt::Debug for ServerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerBuilder")
            .field("config", &self.config)
            .field("write_buffer_limit", &self.write_buffer_limit)
            .field("http", &self.http.as_ref().map(|_| "Fn(&HttpRequest)"))
            .finish_non_exhaustive()
    }
}

impl ServerBuilder {
    /// Default settings ([`Config::default`]).
    pub fn new() -> ServerBuilder {
        ServerBuilder::default()
    }

    /// Protocol settings for accepted connections (shared, not copied into each).
    pub fn config(mut self, config: impl Into<Arc<Config>>) -> Self {
        self.config = config.into();
        self
    }

    /// Sets [`Config::limits`]: bounds on the request header block.
    pub fn limits(mut self, limits: Limits) -> Self {
        Arc::make_mut(&mut self.config).limits = limits;
        self
    }

    /// Sets [`Config::handshake_timeout`]: how long a client may take to send its request,
    /// TLS included (default 10 s; `None`: no limit).
    pub fn handshake_timeout(mut self, timeout: Option<Duration>) -> Self {
        Arc::make_mut(&mut self.config).handshake_timeout = timeout;
        self
    }

    /// Answers plain HTTP requests (no `Upgrade: websocket`: a browser loading `/`, a health
    /// check) with `handler`'s response instead of a 426, as ws-std's `ServerBuilder::http`.
    /// The connection is closed after the response, and the accept fails with
    /// [`HandshakeError::Rejected`](crate::HandshakeError::Rejected) carrying it.
    pub fn http<H>(mut self, handler: H) -> Self
    where
        H: Fn(&HttpRequest) -> HttpResponse + Send + Sync + 'static,
    {
        self.http = Some(Arc::new(handler));
        self
    }

    /// The connections' [write buffer limit](WebSocketStream::set_write_buffer_limit).
    pub fn write_buffer_limit(mut self, bytes: usize) -> Self {
        self.write_buffer_limit = Some(bytes);
        self
    }

    /// The TLS configuration of [`accept_tls`](Self::accept_tls) (feature `tls`), from
    /// [`ws_tls::server`] (PEM files or bytes, ALPN `http/1.1`).
    #[cfg(feature = "tls")]
    pub fn tls(mut self, config: Arc<tokio_rustls::rustls::ServerConfig>) -> Self {
        self.tls = Some(config);
        self
    }

    /// Accepts any valid WebSocket request.
    ///
    /// # Errors
    ///
    /// As [`accept_with`](Self::accept_with).
    pub async fn accept<S>(&self, stream: S) -> Result<WebSocketStream<S>, Error>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        self.accept_with(stream, |request| Ok(request.accept()))
            .await
    }

    /// Accepts or refuses according to `callback` (see [`accept_hdr_async`]).
    ///
    /// # Errors
    ///
    /// [`Error::Handshake`] with the fault of an invalid request (answered with 400, 426 or
    /// 431), [`HandshakeError::Rejected`](crate::HandshakeError::Rejected) with the response
    /// sent when `callback` refused or the request was plain HTTP,
    /// a `Rejected` with a 500 when `callback`'s answer was invalid (a header with a line
    /// break),
    /// [`HandshakeError::Timeout`](crate::HandshakeError::Timeout) or
    /// [`HandshakeError::ConnectionLost`](crate::HandshakeError::ConnectionLost);
    /// [`Error::Io`] when the transport fails.
    pub async fn accept_with<S, F>(
        &self,
        stream: S,
        callback: F,
    ) -> Result<WebSocketStream<S>, Error>
    where
        S: AsyncRead + AsyncWrite + Unpin,
        F: FnOnce(&Request) -> Result<Accept, HttpResponse>,
    {
        self.finish(self.start(), stream, callback).await
    }

    /// Runs the TLS handshake on an accepted connection, then accepts any valid WebSocket
    /// request (feature `tls`). The TLS handshake counts against the handshake timeout.
    ///
    /// # Errors
    ///
    /// `InvalidInput` ([`Error::Io`]) without a TLS configuration ([`tls`](Self::tls));
    /// [`Error::Tls`](crate::Error) when TLS fails; otherwise as
    /// [`accept_with`](Self::accept_with).
    #[cfg(feature = "tls")]
    pub async fn accept_tls<S>(
        &self,
        stream: S,
    ) -> Result<WebSocketStream<tokio_rustls::server::TlsStream<S>>, Error>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        self.accept_tls_with(stream, |request| Ok(request.accept()))
            .await
    }

    /// [`accept_tls`](Self::accept_tls) with `callback` deciding as in
    /// [`accept_with`](Self::accept_with) (feature `tls`).
    ///
    /// # Errors
    ///
    /// As [`accept_tls`](Self::accept_tls).
    #[cfg(feature = "tls")]
    pub async fn accept_tls_with<S, F>(
        &self,
        stream: S,
        callback: F,
    ) -> Result<WebSocketStream<tokio_rustls::server::TlsStream<S>>, Error>
    where
        S: AsyncRead + AsyncWrite + Unpin,
        F: FnOnce(&Request) -> Result<Accept, HttpResponse>,
    {
        let Some(config) = &self.tls else {
            return Err(Error::Io(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "accept_tls without a TLS configuration (ServerBuilder::tls)",
            )));
        };
        let mut handshake = self.start();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::clone(config));
        let tls = handshake.bounded(acceptor.accept(stream)).await?;
        self.finish(handshake, tls, callback).await
    }

    fn start(&self) -> Handshake {
        let machine = ServerHandshake::new(Arc::clone(&self.config), Instant::ZERO);
        Handshake::new(Machine::Server(machine))
    }

    async fn finish<S, F>(
        &self,
        handshake: Handshake,
        stream: S,
        callback: F,
    ) -> Result<WebSocketStream<S>, Error>
    where
        S: AsyncRead + AsyncWrite + Unpin,
        F: FnOnce(&Request) -> Result<Accept, HttpResponse>,
    {
        let mut callback = Some(callback);
        let http = self.http.as_deref();
        let (mut ws, _) = handshake
            .run(stream, |machine, event| {
                decide(machine, event, &mut callback, http)
            })
            .await?;
        if let Some(limit) = self.write_buffer_limit {
            ws.set_write_buffer_limit(limit);
        }
        Ok(ws)
    }
}

/// The answer to a plain HTTP request on a server that only speaks WebSocket.
fn upgrade_required() -> HttpResponse {
    HttpResponse::new(426)
        .with_header("Upgrade", "websocket")
        .with_header("Sec-WebSocket-Version", VERSION)
}

/// Answers the machine's event: the application's decision on a WebSocket request, the
/// `http` handler's (or a 426) on a plain HTTP one.
fn decide<F>(
    machine: &mut ServerHandshake,
    event: ServerEvent,
    callback: &mut Option<F>,
    http: Option<&(dyn Fn(&HttpRequest) -> HttpResponse + Send + Sync)>,
) where
    F: FnOnce(&Request) -> Result<Accept, HttpResponse>,
{
    let decision = match (event, callback.take()) {
        (ServerEvent::Request(request), Some(callback)) => callback(&request),
        (ServerEvent::Http(request), _) => Err(match http {
            Some(handler) => handler(&request),
            None => upgrade_required(),
        }),
        // A kind of event this version does not know.
        _ => Err(upgrade_required()),
    };
    match decision {
        Ok(accept) => {
            // An invalid answer of the application's is answered with a 500.
            if let Err(error) = machine.accept(accept) {
                machine.reject(HttpResponse::from_error(&error));
            }
        }
        Err(response) => machine.reject(response),
    }
}
