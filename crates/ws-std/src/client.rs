//! The blocking client: connect, run the opening handshake, return a [`WebSocket`].

use std::io;
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use ws_proto::frame::mask::BufferedMaskKeys;
use ws_proto::handshake::{ClientHandshake, ExtensionOffer, Limits, Response, Url};
use ws_proto::{Config, Connection, Instant};

use crate::handshake_io::read_head;
use crate::{Error, Transport, WebSocket};

/// Opens a WebSocket connection to a `ws://` URL with default settings.
///
/// ```no_run
/// let (mut ws, response) = ws_std::connect("ws://127.0.0.1:8080/chat")?;
/// println!("agreed subprotocol: {:?}", response.protocol());
/// ws.send_text("hello")?;
/// println!("{:?}", ws.read()?);
/// # Ok::<(), ws_std::Error>(())
/// ```
pub fn connect(url: &str) -> Result<(WebSocket<TcpStream>, Response), Error> {
    ClientBuilder::new(url).connect()
}

/// Settings for a client connection; [`connect`](Self::connect) opens it.
///
/// ```no_run
/// use std::time::Duration;
/// use ws_std::ClientBuilder;
///
/// let mut config = ws_proto::Config::default();
/// config.keepalive_interval = Some(Duration::from_secs(20));
/// let (mut ws, response) = ClientBuilder::new("ws://127.0.0.1:8080/feed?room=1")
///     .protocol("v2.feed")
///     .header("Authorization", "Bearer token")
///     .origin("https://example.com")
///     .config(config)
///     .connect_timeout(Some(Duration::from_secs(5)))
///     .connect()?;
/// # Ok::<(), ws_std::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    url: String,
    protocols: Vec<String>,
    headers: Vec<(String, String)>,
    extensions: Vec<ExtensionOffer>,
    origin: Option<String>,
    config: Config,
    limits: Limits,
    connect_timeout: Option<Duration>,
    handshake_timeout: Option<Duration>,
}

impl ClientBuilder {
    /// A client for `url` (`ws://host[:port]/path?query`).
    pub fn new(url: &str) -> ClientBuilder {
        ClientBuilder {
            url: url.into(),
            protocols: Vec::new(),
            headers: Vec::new(),
            extensions: Vec::new(),
            origin: None,
            config: Config::default(),
            limits: Limits::default(),
            connect_timeout: Some(Duration::from_secs(10)),
            handshake_timeout: Some(Duration::from_secs(10)),
        }
    }

    /// Offers a subprotocol (`Sec-WebSocket-Protocol`); call once per protocol, in order of
    /// preference.
    pub fn protocol(mut self, protocol: &str) -> Self {
        self.protocols.push(protocol.into());
        self
    }

    /// Adds a request header (for example `Authorization` or `Cookie`).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Offers an extension (`Sec-WebSocket-Extensions`).
    pub fn extension(mut self, offer: ExtensionOffer) -> Self {
        self.extensions.push(offer);
        self
    }

    /// Sets the `Origin` header.
    pub fn origin(mut self, origin: &str) -> Self {
        self.origin = Some(origin.into());
        self
    }

    /// Protocol settings: limits, keepalive, close timeout, and permessage-deflate
    /// ([`Config::deflate`]: offered by default; set `config.deflate.enabled = false` not to
    /// offer it).
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Limits on the server's response header block.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// How long the TCP connect may take (default 10 s; `None`: the OS default).
    pub fn connect_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long the opening handshake may take once connected (default 10 s).
    pub fn handshake_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// Connects over TCP and runs the handshake.
    ///
    /// # Errors
    ///
    /// [`Error::UnsupportedScheme`] for `wss://` (this build has no TLS: connect a TLS stream
    /// yourself and use [`handshake`](Self::handshake)); [`Error::Io`] if the connection
    /// fails; [`Error::Handshake`] if the server's response is invalid.
    pub fn connect(self) -> Result<(WebSocket<TcpStream>, Response), Error> {
        let url = Url::parse(&self.url)?;
        if url.secure() {
            return Err(Error::UnsupportedScheme("wss"));
        }
        let stream = open_tcp(url.host(), url.port(), self.connect_timeout)?;
        stream.set_nodelay(true)?;
        self.handshake_url(stream, &url)
    }

    /// Runs the handshake over an already connected stream (for example a TLS stream for a
    /// `wss://` URL); the URL gives the `Host` header and the resource.
    pub fn handshake<S: Transport>(self, stream: S) -> Result<(WebSocket<S>, Response), Error> {
        let url = Url::parse(&self.url)?;
        self.handshake_url(stream, &url)
    }

    fn handshake_url<S: Transport>(
        self,
        mut stream: S,
        url: &Url,
    ) -> Result<(WebSocket<S>, Response), Error> {
        let mut nonce = [0u8; 16];
        crate::random::fill(&mut nonce);
        let mut handshake = ClientHandshake::new(url, nonce);
        if let Some(origin) = &self.origin {
            handshake = handshake.origin(origin)?;
        }
        for p in &self.protocols {
            handshake = handshake.protocol(p)?;
        }
        // permessage-deflate first: it is the offer the client prefers.
        handshake = self.config.deflate.offer(handshake)?;
        for e in self.extensions {
            handshake = handshake.extension(e)?;
        }
        for (k, v) in &self.headers {
            handshake = handshake.header(k, v)?;
        }
        let mut request = Vec::new();
        handshake.write_request(&mut request);
        let deadline = self
            .handshake_timeout
            .map(|t| std::time::Instant::now() + t);
        stream.write_all(&request)?;
        stream.flush()?;
        let limits = self.limits;
        let (response, leftover) = read_head(&mut stream, deadline, |buf| {
            handshake.parse_response(buf, limits)
        })?;
        // A response that breaks RFC 7692 fails the connection (the stream is dropped).
        let deflate = self.config.deflate.client_agreed(&response)?;
        // The connection's clock starts now.
        let epoch = std::time::Instant::now();
        let mut conn = Connection::client(
            self.config,
            BufferedMaskKeys::new(crate::random::fill),
            Instant::ZERO,
        );
        if let Some(params) = deflate {
            conn = conn.with_deflate(params);
        }
        let protocol = response.protocol().map(String::from);
        Ok((
            WebSocket::from_connection(stream, conn, epoch, &leftover, protocol),
            response,
        ))
    }
}

/// Connects to the first address of `host:port` that accepts.
fn open_tcp(host: &str, port: u16, timeout: Option<Duration>) -> io::Result<TcpStream> {
    // IPv6 literals come bracketed from the URL; the resolver wants them bare.
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let mut last = io::Error::new(io::ErrorKind::NotFound, "host resolved to no address");
    for addr in (host, port).to_socket_addrs()? {
        let attempt = match timeout {
            Some(t) => TcpStream::connect_timeout(&addr, t),
            None => TcpStream::connect(addr),
        };
        match attempt {
            Ok(s) => return Ok(s),
            Err(e) => last = e,
        }
    }
    Err(last)
}
