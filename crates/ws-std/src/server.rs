//! The server side: ws-proto's [`ServerHandshake`] driven over an accepted stream, blocking
//! or resumable.

use std::sync::Arc;
use std::time::{Duration, Instant as StdInstant};

use ws_proto::handshake::{
    Accept, HttpRequest, HttpResponse, Limits, Request, ServerEvent, ServerHandshake, VERSION,
};
use ws_proto::policy::{Policies, Policy, RateLimit};
use ws_proto::{Config, Connection, HandshakeError, Instant, Transmit};

use crate::handshake::{Driver, Machine};
use crate::{Error, Transport, WebSocket};

/// Accepts a WebSocket connection on `stream` with default settings: any path, any origin,
/// no subprotocol.
///
/// ```no_run
/// use std::net::TcpListener;
/// let listener = TcpListener::bind("127.0.0.1:8080")?;
/// for stream in listener.incoming() {
///     let mut ws = ws_std::accept(stream?)?;
///     let message = ws.read()?;
///     ws.send(message)?; // echo one message
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn accept<S: Transport>(stream: S) -> Result<WebSocket<S>, Error> {
    ServerBuilder::new().accept(stream)
}

/// Accepts a WebSocket connection after `callback` has seen the request and decided: accept
/// (choosing a subprotocol, adding headers) or refuse with any [`HttpResponse`] (status,
/// headers and body).
///
/// ```no_run
/// use std::net::TcpListener;
/// use ws_std::HttpResponse;
///
/// let listener = TcpListener::bind("127.0.0.1:8080")?;
/// let (stream, _) = listener.accept()?;
/// let ws = ws_std::accept_with(stream, |request| {
///     if request.origin() != Some("https://example.com") {
///         return Err(HttpResponse::new(403).with_body("origin not allowed"));
///     }
///     if request.path() != "/chat" {
///         return Err(HttpResponse::new(404));
///     }
///     let accept = request.accept();
///     Ok(if request.protocols().iter().any(|p| p == "chat.v2") {
///         accept.protocol("chat.v2").expect("offered")
///     } else {
///         accept
///     })
/// })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn accept_with<S, F>(stream: S, callback: F) -> Result<WebSocket<S>, Error>
where
    S: Transport,
    F: FnOnce(&Request) -> Result<Accept, HttpResponse>,
{
    ServerBuilder::new().accept_with(stream, callback)
}

/// The decision of [`ServerBuilder::accept`] and [`ServerBuilder::start_accept`]: any valid
/// WebSocket request is accepted, with no subprotocol.
pub type AcceptAny = fn(&Request) -> Result<Accept, HttpResponse>;

/// Settings for accepting connections, shared by every connection accepted with them.
///
/// The handshake runs ws-proto's [`ServerHandshake`]: the request head is read under
/// [`Config::limits`] (431 beyond them), a client must complete its request within
/// [`Config::handshake_timeout`] (10 s by default; this cuts off slowloris clients), and
/// permessage-deflate is negotiated as [`Config::deflate`] says. A plain HTTP request (no
/// `Upgrade: websocket`) is answered with `426 Upgrade Required`, or as
/// [`http`](Self::http) says.
///
/// Ready-made policies ([`ws_proto::policy`]) are one line each: [`policy`](Self::policy)
/// adds a handshake check that runs before the accept callback (an `Origin` allow-list, a
/// token check), and [`rate_limit`](Self::rate_limit) bounds the messages of each
/// connection.
///
/// ```no_run
/// use std::net::TcpListener;
/// use ws_std::policy::{AllowedOrigins, RateLimit, TokenAuth, TokenCheck};
/// use ws_std::ServerBuilder;
///
/// let server = ServerBuilder::new()
///     .policy(AllowedOrigins::new(["https://example.com", "https://*.example.com"]))
///     .policy(TokenAuth::new(|token, _| match token {
///         "s3cret" => TokenCheck::Valid,
///         _ => TokenCheck::Invalid,
///     }).query("token"))
///     .rate_limit(RateLimit::messages(20, 40)); // beyond it: closed with 1008
/// let listener = TcpListener::bind("127.0.0.1:8080")?;
/// for stream in listener.incoming() {
///     match server.accept(stream?) {
///         Ok(ws) => { /* admitted */ }
///         Err(e) => eprintln!("refused: {e}"), // 403, 401 with WWW-Authenticate...
///     }
/// }
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct ServerBuilder {
    config: Arc<Config>,
    http: Option<HttpHandler>,
    /// Handshake checks run before the application's callback.
    policies: Arc<Policies>,
    /// The TLS configuration of `accept_tls`.
    #[cfg(feature = "tls")]
    tls: Option<Arc<ws_tls::rustls::ServerConfig>>,
}

/// The application's answer to plain HTTP requests.
type HttpHandler = Arc<dyn Fn(&HttpRequest) -> HttpResponse + Send + Sync>;

impl std::fmt::Debug for ServerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerBuilder")
            .field("config", &self.config)
            .field("http", &self.http.as_ref().map(|_| "Fn(&HttpRequest)"))
            .field("policies", &self.policies)
            .finish_non_exhaustive()
    }
}

impl ServerBuilder {
    /// Default settings: [`Config::default`] (which includes a 10 s handshake timeout and
    /// [`Limits::default`]).
    pub fn new() -> ServerBuilder {
        ServerBuilder::default()
    }

    /// Protocol settings for accepted connections: the handshake's timeout and limits, and
    /// the connection's, including the permessage-deflate policy ([`Config::deflate`]:
    /// accepted by default; set `config.deflate.enabled = false` to decline it). The
    /// configuration is shared by the connections, not copied into each.
    pub fn config(mut self, config: impl Into<Arc<Config>>) -> Self {
        self.config = config.into();
        self
    }

    /// Sets [`Config::limits`]: bounds on the request header block (431 beyond them).
    pub fn limits(mut self, limits: Limits) -> Self {
        Arc::make_mut(&mut self.config).limits = limits;
        self
    }

    /// Sets [`Config::handshake_timeout`]: how long a client may take to send its request
    /// (default 10 s; `None`: no limit).
    pub fn handshake_timeout(mut self, timeout: Option<Duration>) -> Self {
        Arc::make_mut(&mut self.config).handshake_timeout = timeout;
        self
    }

    /// Adds a handshake policy ([`ws_proto::policy`]): every request must pass it, in the
    /// order added, before the accept callback sees it; a refusal is answered with the
    /// policy's response and the accept fails with [`HandshakeError::Rejected`] carrying it.
    /// A closure `Fn(&Request) -> Result<(), HttpResponse>` is a policy too.
    pub fn policy(mut self, policy: impl Policy + 'static) -> Self {
        Arc::make_mut(&mut self.policies).push(policy);
        self
    }

    /// Sets [`Config::rate_limit`]: at most so many messages (and bytes) a second from each
    /// connection; beyond it, a message is dropped or the connection closed with 1008, as
    /// the limit's [`RateAction`](ws_proto::policy::RateAction) says. `read` then fails with
    /// [`Error::Protocol`] carrying [`ProtocolError::RateLimited`](ws_proto::ProtocolError).
    pub fn rate_limit(mut self, limit: RateLimit) -> Self {
        Arc::make_mut(&mut self.config).rate_limit = Some(limit);
        self
    }

    /// Answers plain HTTP requests (no `Upgrade: websocket`: a browser loading `/`, a health
    /// check) with `handler`'s response instead of a 426. The connection is closed after the
    /// response, and the accept fails with [`HandshakeError::Rejected`] carrying it.
    ///
    /// ```no_run
    /// use std::net::TcpListener;
    /// use ws_std::{HttpResponse, ServerBuilder};
    ///
    /// let server = ServerBuilder::new().http(|request| match request.path() {
    ///     "/health" => HttpResponse::new(200).with_body("ok\n"),
    ///     _ => HttpResponse::new(404),
    /// });
    /// let listener = TcpListener::bind("127.0.0.1:8080")?;
    /// for stream in listener.incoming() {
    ///     match server.accept(stream?) {
    ///         Ok(ws) => { /* a WebSocket */ }
    ///         Err(e) => eprintln!("no WebSocket: {e}"),
    ///     }
    /// }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn http<H>(mut self, handler: H) -> Self
    where
        H: Fn(&HttpRequest) -> HttpResponse + Send + Sync + 'static,
    {
        self.http = Some(Arc::new(handler));
        self
    }

    /// The TLS configuration of [`accept_tls`](Self::accept_tls) (feature `tls`): the
    /// certificate chain and key, from [`ws_tls::server`] (PEM files or bytes, ALPN
    /// `http/1.1`) or a [`rustls::ServerConfig`](ws_tls::rustls::ServerConfig) of your own.
    ///
    /// ```no_run
    /// use std::net::TcpListener;
    /// use ws_std::ServerBuilder;
    ///
    /// let tls = ws_std::tls::server::config_from_pem_files("cert.pem", "key.pem")?;
    /// let server = ServerBuilder::new().tls(tls);
    /// let listener = TcpListener::bind("127.0.0.1:8443")?;
    /// for tcp in listener.incoming() {
    ///     match server.accept_tls(tcp?) {
    ///         Ok(mut ws) => ws.send_text("hello over wss")?,
    ///         Err(e) => eprintln!("no WebSocket: {e}"), // an untrusting client: Error::Tls
    ///     }
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(feature = "tls")]
    pub fn tls(mut self, config: Arc<ws_tls::rustls::ServerConfig>) -> Self {
        self.tls = Some(config);
        self
    }

    /// Accepts any valid WebSocket request over TLS on an accepted TCP connection (feature
    /// `tls`), with the configuration given to [`tls`](Self::tls).
    ///
    /// # Errors
    ///
    /// As [`accept_tls_with`](Self::accept_tls_with).
    #[cfg(feature = "tls")]
    pub fn accept_tls(
        &self,
        tcp: std::net::TcpStream,
    ) -> Result<WebSocket<crate::tls::ServerTlsStream>, Error> {
        self.accept_tls_with(tcp, |request| Ok(request.accept()))
    }

    /// Runs the TLS handshake on an accepted TCP connection, then the WebSocket handshake
    /// with `callback` deciding as in [`accept_with`](Self::accept_with) (feature `tls`).
    /// The TLS handshake counts against the handshake timeout: a client that stalls in it
    /// fails with [`HandshakeError::Timeout`], one that leaves with
    /// [`HandshakeError::ConnectionLost`]. For a non-blocking stream, wrap it with
    /// [`tls::server_stream`](crate::tls::server_stream) and use
    /// [`start_accept_with`](Self::start_accept_with).
    ///
    /// # Errors
    ///
    /// `InvalidInput` ([`Error::Io`]) without a TLS configuration ([`tls`](Self::tls));
    /// [`Error::Tls`] when TLS fails (the client refused the certificate, speaks plain HTTP
    /// or sends garbage); otherwise as [`accept_with`](Self::accept_with).
    #[cfg(feature = "tls")]
    pub fn accept_tls_with<F>(
        &self,
        tcp: std::net::TcpStream,
        callback: F,
    ) -> Result<WebSocket<crate::tls::ServerTlsStream>, Error>
    where
        F: FnOnce(&Request) -> Result<Accept, HttpResponse>,
    {
        let Some(config) = &self.tls else {
            return Err(Error::Io(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "accept_tls without a TLS configuration (ServerBuilder::tls)",
            )));
        };
        let stream = crate::tls::server_stream(Arc::clone(config), tcp)?;
        self.accept_with(stream, callback)
    }

    /// The configuration the accepted connections share.
    pub fn get_config(&self) -> &Arc<Config> {
        &self.config
    }

    /// Accepts any valid WebSocket request, on a blocking stream.
    ///
    /// # Errors
    ///
    /// As [`accept_with`](Self::accept_with).
    pub fn accept<S: Transport>(&self, stream: S) -> Result<WebSocket<S>, Error> {
        self.accept_with(stream, |request| Ok(request.accept()))
    }

    /// Accepts or refuses according to `callback`, on a blocking stream. See
    /// [`accept_with`](crate::accept_with); for a non-blocking stream, see
    /// [`start_accept_with`](Self::start_accept_with) (this runs the same code, waiting in
    /// the socket's reads: their timeout is the time left before the handshake timeout).
    ///
    /// # Errors
    ///
    /// [`Error::Handshake`] with
    /// * the fault of an invalid request, once it has been answered with the matching HTTP
    ///   error (400, 426 with `Sec-WebSocket-Version: 13`, 431);
    /// * [`HandshakeError::Rejected`] with the response sent, when `callback` refused, or
    ///   with the 426 a plain HTTP request was answered with;
    /// * [`HandshakeError::InvalidArgument`] when `callback`'s answer was invalid (a header
    ///   with a line break, say): it was answered with a 500;
    /// * [`HandshakeError::Timeout`] when the request did not arrive within
    ///   [`Config::handshake_timeout`], [`HandshakeError::ConnectionLost`] when the client
    ///   left before.
    ///
    /// [`Error::Io`] when the transport fails.
    pub fn accept_with<S, F>(&self, stream: S, callback: F) -> Result<WebSocket<S>, Error>
    where
        S: Transport,
        F: FnOnce(&Request) -> Result<Accept, HttpResponse>,
    {
        self.start_accept_with(stream, callback)
            .driver
            .finish()
            .map(|(ws, ())| ws)
    }

    /// Starts accepting on `stream` with any valid WebSocket request accepted; see
    /// [`start_accept_with`](Self::start_accept_with).
    pub fn start_accept<S: Transport>(&self, stream: S) -> PendingAccept<S, AcceptAny> {
        self.start_accept_with(stream, |request| Ok(request.accept()))
    }

    /// Starts accepting on `stream`, which may be non-blocking: nothing is read or written
    /// yet. [`PendingAccept::advance`] moves the handshake on whenever the stream is ready,
    /// and hands out the [`WebSocket`] once it is done. `callback` decides as in
    /// [`accept_with`](crate::accept_with).
    ///
    /// The handshake timeout starts now.
    pub fn start_accept_with<S, F>(&self, stream: S, callback: F) -> PendingAccept<S, F>
    where
        S: Transport,
        F: FnOnce(&Request) -> Result<Accept, HttpResponse>,
    {
        let epoch = StdInstant::now();
        let side = ServerSide {
            machine: ServerHandshake::new(Arc::clone(&self.config), Instant::ZERO),
            callback: Some(callback),
            policies: Arc::clone(&self.policies),
            http: self.http.clone(),
            failure: None,
        };
        PendingAccept {
            driver: Driver::new(stream, side, epoch),
        }
    }
}

/// A server handshake under way on a stream that may be non-blocking, from
/// [`ServerBuilder::start_accept_with`].
///
/// Call [`advance`](Self::advance) whenever the stream is readable or writable (or once the
/// [`deadline`](Self::deadline) has passed): it reads and writes as far as the stream allows,
/// and returns `Ok(None)` when it has to wait, and the [`WebSocket`] once the handshake is
/// done. The handshake keeps its place across `WouldBlock`.
///
/// ```no_run
/// use std::net::TcpListener;
/// use ws_std::ServerBuilder;
///
/// let listener = TcpListener::bind("127.0.0.1:8080")?;
/// let (stream, _) = listener.accept()?;
/// stream.set_nonblocking(true)?;
/// let mut pending = ServerBuilder::new().start_accept_with(stream, |request| {
///     println!("upgrade requested for {}", request.path());
///     Ok(request.accept())
/// });
/// let mut ws = loop {
///     match pending.advance()? {
///         Some(ws) => break ws,
///         // An event loop would wait for the socket to be ready (a poll(2), mio), at most
///         // until `pending.deadline()`, and serve other connections meanwhile.
///         None => std::thread::yield_now(),
///     }
/// };
/// // The connection is on the same non-blocking stream: reads and writes may fail with
/// // `WouldBlock` and are retried when the socket is ready.
/// ws.get_mut().set_nonblocking(false)?;
/// ws.send_text("welcome")?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct PendingAccept<S, F> {
    driver: Driver<S, ServerSide<F>>,
}

impl<S, F> PendingAccept<S, F>
where
    S: Transport,
    F: FnOnce(&Request) -> Result<Accept, HttpResponse>,
{
    /// Moves the handshake on as far as the stream allows.
    ///
    /// `Ok(None)`: a read or write would block (`WouldBlock`, or a socket timeout); call
    /// again when the stream is ready, or at the [`deadline`](Self::deadline).
    /// `Ok(Some(ws))`: the handshake is done (the 101 has been written); this is returned
    /// once.
    ///
    /// # Errors
    ///
    /// As [`ServerBuilder::accept_with`]; the handshake is over then. A call after the end
    /// fails with [`Error::ConnectionClosed`].
    pub fn advance(&mut self) -> Result<Option<WebSocket<S>>, Error> {
        Ok(self.driver.advance()?.map(|(ws, ())| ws))
    }

    /// When the handshake times out: call [`advance`](Self::advance) then at the latest,
    /// even if the stream is not ready. `None` when no timer runs.
    pub fn deadline(&self) -> Option<StdInstant> {
        self.driver.deadline()
    }

    /// The stream (for registering it with an event loop); `None` once the [`WebSocket`]
    /// has it.
    pub fn get_ref(&self) -> Option<&S> {
        self.driver.stream()
    }

    /// The stream, for socket options. Reading or writing it directly corrupts the
    /// handshake.
    pub fn get_mut(&mut self) -> Option<&mut S> {
        self.driver.stream_mut()
    }
}

/// The server machine with the application's decision.
struct ServerSide<F> {
    machine: ServerHandshake,
    /// Taken when the request arrives.
    callback: Option<F>,
    /// Checked before the callback.
    policies: Arc<Policies>,
    /// The answer to a plain HTTP request (a 426 without it).
    http: Option<HttpHandler>,
    /// An answer of the application's that could not be sent (answered with a 500 instead).
    failure: Option<HandshakeError>,
}

impl<F> std::fmt::Debug for ServerSide<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerSide")
            .field("machine", &self.machine)
            .field("failure", &self.failure)
            .finish_non_exhaustive()
    }
}

impl<F> ServerSide<F>
where
    F: FnOnce(&Request) -> Result<Accept, HttpResponse>,
{
    fn decide(&mut self, request: &Request) {
        let Some(callback) = self.callback.take() else {
            return;
        };
        if let Err(refusal) = self.policies.check(request) {
            return self.reject(refusal);
        }
        match callback(request) {
            Ok(accept) => {
                if let Err(error) = self.machine.accept(accept) {
                    // The machine still waits for an answer: the application's mistake is
                    // answered with a 500 and reported.
                    self.machine.reject(HttpResponse::from_error(&error));
                    self.failure = Some(error);
                }
            }
            Err(response) => self.reject(response),
        }
    }

    /// Refuses with the application's `response`.
    fn reject(&mut self, response: HttpResponse) {
        // An invalid response is answered with a 500 by the machine; the application's
        // mistake is what is reported.
        if let Err(error) = response.write(&mut Vec::new()) {
            self.failure = Some(error);
        }
        self.machine.reject(response);
    }
}

/// The answer to a plain HTTP request on a server that only speaks WebSocket.
fn upgrade_required() -> HttpResponse {
    HttpResponse::new(426)
        .with_header("Upgrade", "websocket")
        .with_header("Sec-WebSocket-Version", VERSION)
        .with_header("Content-Type", "text/plain; charset=utf-8")
        .with_body("This is a WebSocket server.\n")
}

impl<F> Machine for ServerSide<F>
where
    F: FnOnce(&Request) -> Result<Accept, HttpResponse>,
{
    type Output = ();

    // A failure is kept by the machine (`error`).
    fn receive_data(&mut self, data: &[u8], now: Instant) {
        let _ = self.machine.receive_data(data, now);
    }
    fn receive_eof(&mut self) {
        self.machine.receive_eof();
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.machine.handle_timeout(now);
    }
    fn poll_transmit(&mut self, out: &mut Vec<u8>) -> Option<Transmit> {
        self.machine.poll_transmit(out)
    }
    fn poll_timeout(&self) -> Option<Instant> {
        self.machine.poll_timeout()
    }
    fn answer(&mut self) {
        match self.machine.poll_event() {
            Some(ServerEvent::Request(request)) => self.decide(&request),
            Some(ServerEvent::Http(request)) => {
                let response = match &self.http {
                    Some(handler) => handler(&request),
                    None => upgrade_required(),
                };
                self.reject(response);
            }
            // `ServerEvent` may gain kinds: one this adapter does not know is refused.
            Some(_) => self.machine.reject(upgrade_required()),
            None => {}
        }
    }
    fn is_done(&self) -> bool {
        self.machine.is_accepted()
    }
    fn error(&self) -> Option<&HandshakeError> {
        self.failure.as_ref().or(self.machine.error())
    }
    fn into_connection(self, now: Instant) -> Result<(Connection, ()), HandshakeError> {
        Ok((self.machine.into_connection(now)?, ()))
    }
}
