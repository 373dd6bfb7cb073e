//! The blocking server side: run the opening handshake on an accepted stream.

use std::time::{Duration, Instant as StdInstant};

use ws_proto::handshake::{write_error_response, Accept, Limits, Reject, Request};
use ws_proto::{Config, Connection, HandshakeError, Instant};

use crate::handshake_io::read_head;
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
/// (choosing a subprotocol, adding headers) or reject (any status, headers and body).
///
/// ```no_run
/// use std::net::TcpListener;
/// use ws_std::Reject;
///
/// let listener = TcpListener::bind("127.0.0.1:8080")?;
/// let (stream, _) = listener.accept()?;
/// let ws = ws_std::accept_with(stream, |request| {
///     if request.origin() != Some("https://example.com") {
///         return Err(Reject::new(403).body("origin not allowed"));
///     }
///     if request.path() != "/chat" {
///         return Err(Reject::new(404));
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
    F: FnOnce(&Request) -> Result<Accept, Reject>,
{
    ServerBuilder::new().accept_with(stream, callback)
}

/// Settings for accepting connections.
#[derive(Debug, Clone)]
pub struct ServerBuilder {
    config: Config,
    limits: Limits,
    handshake_timeout: Option<Duration>,
}

impl Default for ServerBuilder {
    fn default() -> Self {
        ServerBuilder::new()
    }
}

impl ServerBuilder {
    /// Default settings: [`Config::default`], [`Limits::default`], a 10 s handshake timeout.
    pub fn new() -> ServerBuilder {
        ServerBuilder {
            config: Config::default(),
            limits: Limits::default(),
            handshake_timeout: Some(Duration::from_secs(10)),
        }
    }

    /// Protocol settings for accepted connections, including the permessage-deflate policy
    /// ([`Config::deflate`]: accepted by default; set `config.deflate.enabled = false` to
    /// decline it).
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Limits on the request header block (size and count; 431 beyond them).
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// How long a client may take to send its request (default 10 s); protects against
    /// clients that trickle bytes (slowloris).
    pub fn handshake_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// Accepts any valid WebSocket request.
    pub fn accept<S: Transport>(self, stream: S) -> Result<WebSocket<S>, Error> {
        self.accept_with(stream, |request| Ok(request.accept()))
    }

    /// Accepts or rejects according to `callback`. See [`accept_with`](crate::accept_with).
    ///
    /// # Errors
    ///
    /// [`Error::Handshake`] when the request is invalid (it has been answered with the
    /// matching HTTP error: 400, 426 with `Sec-WebSocket-Version: 13`, or 431) or was
    /// rejected ([`HandshakeError::Rejected`] with the status sent); [`Error::Io`] when the
    /// transport fails or the handshake timeout expires.
    pub fn accept_with<S, F>(self, mut stream: S, callback: F) -> Result<WebSocket<S>, Error>
    where
        S: Transport,
        F: FnOnce(&Request) -> Result<Accept, Reject>,
    {
        let deadline = self.handshake_timeout.map(|t| StdInstant::now() + t);
        let limits = self.limits;
        let (request, leftover) =
            match read_head(&mut stream, deadline, |buf| Request::parse(buf, limits)) {
                Ok(parsed) => parsed,
                Err(Error::Handshake(e)) => {
                    let mut response = Vec::new();
                    write_error_response(&e, &mut response);
                    answer_and_close(&mut stream, &response);
                    return Err(Error::Handshake(e));
                }
                Err(e) => return Err(e),
            };
        let accept = match callback(&request) {
            Ok(accept) => accept,
            Err(reject) => {
                let mut response = Vec::new();
                let written = reject.write(&mut response);
                answer_and_close(&mut stream, &response);
                // An invalid rejection was answered with a 500: report the application's
                // mistake.
                let error = written
                    .err()
                    .unwrap_or(HandshakeError::Rejected(reject.status()));
                return Err(Error::Handshake(error));
            }
        };
        // permessage-deflate, unless the callback answered it itself.
        let (accept, deflate) = match self.config.deflate.negotiate(&request, accept) {
            Ok(negotiated) => negotiated,
            Err(e) => {
                let mut response = Vec::new();
                write_error_response(&e, &mut response);
                answer_and_close(&mut stream, &response);
                return Err(Error::Handshake(e));
            }
        };
        let mut response = Vec::new();
        accept.write_response(&mut response);
        stream.write_all(&response)?;
        stream.flush()?;
        let protocol = accept.selected_protocol().map(String::from);
        // The connection's clock starts now.
        let epoch = StdInstant::now();
        let mut conn = Connection::server(self.config, Instant::ZERO);
        if let Some(params) = deflate {
            conn = conn.with_deflate(params);
        }
        Ok(WebSocket::from_connection(
            stream, conn, epoch, &leftover, protocol,
        ))
    }
}

/// Writes an HTTP error response and closes the stream; errors are moot at this point.
fn answer_and_close<S: Transport>(stream: &mut S, response: &[u8]) {
    let _ = stream.write_all(response);
    let _ = stream.flush();
    let _ = stream.shutdown();
}
