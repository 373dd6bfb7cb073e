//! The blocking server side: run the opening handshake on an accepted stream.

use std::time::{Duration, Instant};

use ws_proto::handshake::{write_error_response, write_reject, Accept, Limits, Request};
use ws_proto::{Config, Connection, HandshakeError};

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

/// An HTTP answer that refuses a WebSocket request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reject {
    /// A rejection with this status (400-599, or 3xx for a redirect).
    pub fn new(status: u16) -> Reject {
        Reject {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Adds a header (for example `WWW-Authenticate` with 401, or `Location` with 302).
    pub fn header(mut self, name: &str, value: &str) -> Reject {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Reject {
        self.body = body.into();
        self
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.status
    }
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

    /// Protocol settings for accepted connections.
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
        let deadline = self.handshake_timeout.map(|t| Instant::now() + t);
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
                let headers: Vec<(&str, &str)> = reject
                    .headers
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                let mut response = Vec::new();
                if let Err(e) = write_reject(reject.status, &headers, &reject.body, &mut response) {
                    // The application built an invalid rejection: answer 500 instead.
                    response.clear();
                    write_error_response(&HandshakeError::Rejected(500), &mut response);
                    answer_and_close(&mut stream, &response);
                    return Err(Error::Handshake(e));
                }
                answer_and_close(&mut stream, &response);
                return Err(Error::Handshake(HandshakeError::Rejected(reject.status)));
            }
        };
        let mut response = Vec::new();
        accept.write_response(&mut response);
        stream.write_all(&response)?;
        stream.flush()?;
        let protocol = accept.selected_protocol().map(String::from);
        let conn = Connection::server(self.config);
        Ok(WebSocket::from_connection(
            stream, conn, &leftover, protocol,
        ))
    }
}

/// Writes an HTTP error response and closes the stream; errors are moot at this point.
fn answer_and_close<S: Transport>(stream: &mut S, response: &[u8]) {
    let _ = stream.write_all(response);
    let _ = stream.flush();
    let _ = stream.shutdown();
}
