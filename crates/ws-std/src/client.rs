//! The client side: connect, then ws-proto's [`ClientHandshake`] driven over the stream,
//! blocking or resumable.

use std::io;
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant as StdInstant};

use ws_proto::handshake::{ClientHandshake, ClientRequest, ExtensionOffer, Limits, Response, Url};
use ws_proto::rng::{nonce, OsRandom};
use ws_proto::{Config, Instant};

use crate::handshake::Driver;
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

/// Opens a WebSocket connection to a `wss://` URL with default settings (feature `tls`): the
/// server's certificate must be valid for the URL's host and chain to one of the bundled
/// roots ([`ws_tls::client::bundled_roots`]); for other trust, see [`ClientBuilder::tls`].
///
/// ```no_run
/// let (mut ws, _response) = ws_std::connect_tls("wss://example.com/chat")?;
/// ws.send_text("hello")?;
/// println!("{:?}", ws.read()?);
/// # Ok::<(), ws_std::Error>(())
/// ```
#[cfg(feature = "tls")]
pub fn connect_tls(url: &str) -> Result<(WebSocket<crate::tls::ClientTlsStream>, Response), Error> {
    ClientBuilder::new(url).connect_tls()
}

/// Settings for a client connection; [`connect`](Self::connect) opens it.
///
/// ```no_run
/// use std::time::Duration;
/// use ws_std::ClientBuilder;
///
/// let mut config = ws_std::Config::default();
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
    config: Arc<Config>,
    connect_timeout: Option<Duration>,
    /// The proxy URL of [`proxy`](Self::proxy).
    proxy: Option<String>,
    /// The TLS client configuration of `connect_tls` (`None`: the bundled roots).
    #[cfg(feature = "tls")]
    tls: Option<Arc<ws_tls::rustls::ClientConfig>>,
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
            config: Arc::default(),
            connect_timeout: Some(Duration::from_secs(10)),
            proxy: None,
            #[cfg(feature = "tls")]
            tls: None,
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

    /// Protocol settings: the handshake's timeout and limits, the connection's limits,
    /// keepalive and close timeout, and permessage-deflate ([`Config::deflate`]: offered by
    /// default; set `config.deflate.enabled = false` not to offer it).
    pub fn config(mut self, config: impl Into<Arc<Config>>) -> Self {
        self.config = config.into();
        self
    }

    /// Sets [`Config::limits`]: bounds on the server's response header block, and on the
    /// body of a refusal that is kept.
    pub fn limits(mut self, limits: Limits) -> Self {
        Arc::make_mut(&mut self.config).limits = limits;
        self
    }

    /// How long the TCP connect may take (default 10 s; `None`: the OS default).
    pub fn connect_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets [`Config::handshake_timeout`]: how long the opening handshake may take once
    /// connected (default 10 s; `None`: no limit).
    pub fn handshake_timeout(mut self, timeout: Option<Duration>) -> Self {
        Arc::make_mut(&mut self.config).handshake_timeout = timeout;
        self
    }

    /// Connects through a proxy: `http://[user:pass@]host[:port]` (HTTP `CONNECT`, Basic
    /// authentication; default port 8080), `socks5://...` (SOCKS5, the server's name resolved
    /// here) or `socks5h://...` (resolved by the proxy); default port 1080. User and password
    /// are percent-decoded. The TCP connect to the proxy takes at most the
    /// [`connect_timeout`](Self::connect_timeout); the exchange with the proxy counts against
    /// the handshake timeout. No environment variable (`HTTP_PROXY`, `ALL_PROXY`) is read.
    ///
    /// Failures are [`Error::Proxy`]: an invalid URL, a refusal (HTTP status, SOCKS5 reply
    /// code), missing or refused credentials, or a reply that is not one. See
    /// `docs/clients.md`.
    ///
    /// ```no_run
    /// let (mut ws, _) = ws_std::ClientBuilder::new("ws://echo.internal:9001/")
    ///     .proxy("http://alice:secret@proxy.example:3128")
    ///     .connect()?;
    /// # Ok::<(), ws_std::Error>(())
    /// ```
    pub fn proxy(mut self, url: &str) -> Self {
        self.proxy = Some(url.into());
        self
    }

    /// The TLS configuration of [`connect_tls`](Self::connect_tls) (feature `tls`): whom to
    /// trust, from [`ws_tls::client`] (a CA file, the platform roots, your own store), or a
    /// [`rustls::ClientConfig`](ws_tls::rustls::ClientConfig) of your own. Without it, the
    /// bundled roots.
    ///
    /// ```no_run
    /// use ws_std::tls::client;
    ///
    /// let config = client::config(client::roots_from_pem_file("ca.pem")?)?;
    /// let (ws, _) = ws_std::ClientBuilder::new("wss://internal.example:8443/feed")
    ///     .tls(config)
    ///     .connect_tls()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(feature = "tls")]
    pub fn tls(mut self, config: Arc<ws_tls::rustls::ClientConfig>) -> Self {
        self.tls = Some(config);
        self
    }

    /// Connects over TCP, then TLS, and runs the handshake, for a `wss://` URL (feature
    /// `tls`). The URL's host is the server name sent (SNI) and checked against the
    /// server's certificate; the TLS handshake counts against the handshake timeout.
    ///
    /// # Errors
    ///
    /// [`Error::UnsupportedScheme`] for a `ws://` URL (use [`connect`](Self::connect));
    /// [`Error::Tls`] when TLS fails: the certificate is untrusted, expired or for another
    /// name (`rustls::Error::InvalidCertificate`), the server refused the connection (an
    /// alert), or it does not speak TLS; [`Error::Io`] if the connection fails; otherwise as
    /// [`handshake`](Self::handshake).
    #[cfg(feature = "tls")]
    pub fn connect_tls(
        mut self,
    ) -> Result<(WebSocket<crate::tls::ClientTlsStream>, Response), Error> {
        let url = Url::parse(&self.url)?;
        if !url.secure() {
            return Err(Error::UnsupportedScheme("ws"));
        }
        let config = match &self.tls {
            Some(config) => Arc::clone(config),
            None => crate::tls::default_client_config()?,
        };
        let tcp = self.open(&url)?;
        let stream = crate::tls::client_stream(config, url.host(), tcp)?;
        self.start(stream, &url)?.driver.finish()
    }

    /// Connects over TCP and runs the handshake, for a `ws://` URL.
    ///
    /// # Errors
    ///
    /// [`Error::UnsupportedScheme`] for `wss://`: use `connect_tls` (feature `tls`), or connect a TLS stream yourself and use
    /// [`handshake`](Self::handshake); [`Error::Io`] if the connection fails; otherwise as
    /// [`handshake`](Self::handshake).
    pub fn connect(mut self) -> Result<(WebSocket<TcpStream>, Response), Error> {
        let url = Url::parse(&self.url)?;
        if url.secure() {
            return Err(Error::UnsupportedScheme("wss"));
        }
        let stream = self.open(&url)?;
        self.start(stream, &url)?.driver.finish()
    }

    /// Runs the handshake over an already connected, blocking stream (for example a TLS
    /// stream for a `wss://` URL); the URL gives the `Host` header and the resource. For a
    /// non-blocking stream, see [`start_handshake`](Self::start_handshake).
    ///
    /// # Errors
    ///
    /// [`Error::Handshake`] with
    /// * [`HandshakeError::Rejected`](crate::HandshakeError::Rejected) when the server
    ///   answered with another status than 101: the [`HttpResponse`](crate::HttpResponse)
    ///   carries its status, headers (a 401's `WWW-Authenticate`, a redirect's `Location`)
    ///   and body;
    /// * [`HandshakeError::Timeout`](crate::HandshakeError::Timeout) when no complete
    ///   response arrived within [`Config::handshake_timeout`];
    /// * [`HandshakeError::ConnectionLost`](crate::HandshakeError::ConnectionLost) when the
    ///   server closed the connection before its response;
    /// * the fault of an invalid response or of an invalid URL, header or offer.
    ///
    /// [`Error::Io`] when the transport fails.
    pub fn handshake<S: Transport>(self, stream: S) -> Result<(WebSocket<S>, Response), Error> {
        self.start_handshake(stream)?.driver.finish()
    }

    /// Starts the handshake over an already connected stream, which may be non-blocking:
    /// nothing is written yet. [`PendingConnect::advance`] moves it on whenever the stream is
    /// ready, and hands out the [`WebSocket`] and the server's [`Response`] once it is done.
    ///
    /// The handshake timeout starts now.
    ///
    /// # Errors
    ///
    /// [`Error::Handshake`] for an invalid URL, header or offer.
    pub fn start_handshake<S: Transport>(self, stream: S) -> Result<PendingConnect<S>, Error> {
        let url = Url::parse(&self.url)?;
        self.start(stream, &url)
    }

    /// The TCP connection to the server, directly or through the proxy. The proxy phase
    /// takes its time from the handshake timeout, which is lowered by as much.
    fn open(&mut self, url: &Url) -> Result<TcpStream, Error> {
        let Some(proxy) = &self.proxy else {
            let stream = open_tcp(url.host(), url.port(), self.connect_timeout)?;
            stream.set_nodelay(true)?;
            return Ok(stream);
        };
        let start = StdInstant::now();
        let timeout = self.config.handshake_timeout;
        let deadline = timeout.map(|t| start + t);
        let stream = crate::tunnel::open_tunnel(
            proxy,
            url.host(),
            url.port(),
            self.connect_timeout,
            deadline,
        )?;
        if let Some(t) = timeout {
            // What is left of it for the WebSocket handshake (at least a millisecond: the
            // proxy phase ended in time).
            let left = t
                .saturating_sub(start.elapsed())
                .max(Duration::from_millis(1));
            Arc::make_mut(&mut self.config).handshake_timeout = Some(left);
        }
        Ok(stream)
    }

    fn start<S: Transport>(self, stream: S, url: &Url) -> Result<PendingConnect<S>, Error> {
        let mut request = ClientRequest::new(url, nonce());
        if let Some(origin) = &self.origin {
            request = request.origin(origin)?;
        }
        for protocol in &self.protocols {
            request = request.protocol(protocol)?;
        }
        for offer in self.extensions {
            request = request.extension(offer)?;
        }
        for (name, value) in &self.headers {
            request = request.header(name, value)?;
        }
        // The machine adds the permessage-deflate offers of the configuration.
        let epoch = StdInstant::now();
        let machine = ClientHandshake::new(request, self.config, OsRandom::new(), Instant::ZERO)?;
        Ok(PendingConnect {
            driver: Driver::new(stream, machine, epoch),
        })
    }
}

/// A client handshake under way on a stream that may be non-blocking, from
/// [`ClientBuilder::start_handshake`].
///
/// Call [`advance`](Self::advance) whenever the stream is readable or writable (or once the
/// [`deadline`](Self::deadline) has passed): it writes the request and reads the response as
/// far as the stream allows, returns `Ok(None)` when it has to wait, and the [`WebSocket`]
/// and the server's [`Response`] once the handshake is done. It keeps its place across
/// `WouldBlock`. See [`PendingAccept`](crate::PendingAccept) for an example of the loop.
#[derive(Debug)]
pub struct PendingConnect<S> {
    driver: Driver<S, ClientHandshake>,
}

impl<S: Transport> PendingConnect<S> {
    /// Moves the handshake on as far as the stream allows.
    ///
    /// `Ok(None)`: a read or write would block (`WouldBlock`, or a socket timeout); call
    /// again when the stream is ready, or at the [`deadline`](Self::deadline).
    /// `Ok(Some(..))`: the handshake is done; this is returned once.
    ///
    /// # Errors
    ///
    /// As [`ClientBuilder::handshake`]; the handshake is over then. A call after the end
    /// fails with [`Error::ConnectionClosed`].
    pub fn advance(&mut self) -> Result<Option<(WebSocket<S>, Response)>, Error> {
        self.driver.advance()
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

/// Connects to the first address of `host:port` that accepts.
pub(crate) fn open_tcp(host: &str, port: u16, timeout: Option<Duration>) -> io::Result<TcpStream> {
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
