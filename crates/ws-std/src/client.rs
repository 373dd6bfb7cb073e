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
use crate::{Error, MaybeTlsStream, Transport, WebSocket};

/// Opens a WebSocket connection to a `ws://` or `wss://` URL with default settings.
///
/// A `wss://` URL needs the `tls` feature: the server's certificate must be valid for the
/// URL's host and chain to one of the bundled roots (`ws_tls::client::bundled_roots`); for
/// other trust, see `ClientBuilder::ca_file`, `roots` and `tls`.
///
/// ```no_run
/// let (mut ws, response) = ws_std::connect("ws://127.0.0.1:8080/chat")?;
/// println!("agreed subprotocol: {:?}", response.protocol());
/// ws.send_text("hello")?;
/// println!("{:?}", ws.read()?);
/// # Ok::<(), ws_std::Error>(())
/// ```
///
/// # Errors
///
/// As [`ClientBuilder::connect`].
pub fn connect(url: &str) -> Result<(WebSocket<MaybeTlsStream>, Response), Error> {
    ClientBuilder::new(url).connect()
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
    /// Whom a `wss://` connection trusts.
    #[cfg(feature = "tls")]
    trust: Trust,
}

/// The trust of a `wss://` connection, as the builder was told (a CA file is read when
/// connecting, so that the builder's methods cannot fail).
#[cfg(feature = "tls")]
#[derive(Debug, Clone, Default)]
enum Trust {
    /// The bundled roots.
    #[default]
    Bundled,
    CaFile(std::path::PathBuf),
    Roots(Arc<ws_tls::rustls::RootCertStore>),
    Config(Arc<ws_tls::rustls::ClientConfig>),
}

#[cfg(feature = "tls")]
impl Trust {
    fn client_config(&self) -> Result<Arc<ws_tls::rustls::ClientConfig>, Error> {
        use ws_tls::client;
        Ok(match self {
            Trust::Bundled => crate::tls::default_client_config()?,
            Trust::CaFile(path) => client::config(client::roots_from_pem_file(path)?)?,
            Trust::Roots(roots) => client::config(Arc::clone(roots))?,
            Trust::Config(config) => Arc::clone(config),
        })
    }
}

impl ClientBuilder {
    /// A client for `url` (`ws://host[:port]/path?query`, or `wss://` with the `tls`
    /// feature).
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
            trust: Trust::default(),
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
    /// are percent-decoded. For `wss://`, TLS runs inside the tunnel (the server's name is
    /// the one checked). The TCP connect to the proxy takes at most the
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

    /// Trusts the certificate authorities of the PEM file at `path` for `wss://` (feature
    /// `tls`), instead of the bundled roots: a private CA, as `curl --cacert` takes. The file
    /// is read by [`connect`](Self::connect).
    ///
    /// ```no_run
    /// let (ws, _) = ws_std::ClientBuilder::new("wss://internal.example:8443/feed")
    ///     .ca_file("ca.pem")
    ///     .connect()?;
    /// # Ok::<(), ws_std::Error>(())
    /// ```
    #[cfg(feature = "tls")]
    pub fn ca_file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.trust = Trust::CaFile(path.into());
        self
    }

    /// Trusts the certificate authorities of `roots` for `wss://` (feature `tls`), instead
    /// of the bundled roots: for example `ws_tls::client::platform_roots` (the operating
    /// system's store, feature `platform-roots` of ws-tls) or a store built by hand.
    #[cfg(feature = "tls")]
    pub fn roots(mut self, roots: impl Into<Arc<ws_tls::rustls::RootCertStore>>) -> Self {
        self.trust = Trust::Roots(roots.into());
        self
    }

    /// The whole TLS client configuration of `wss://` connections (feature `tls`): a
    /// [`rustls::ClientConfig`](ws_tls::rustls::ClientConfig) of your own (client
    /// certificates, a custom verifier, a shared session cache), or one from
    /// [`ws_tls::client::config`]. Set its `alpn_protocols` to `http/1.1`
    /// ([`ws_tls::ALPN_HTTP_1_1`]) or leave them empty.
    ///
    /// ```no_run
    /// use ws_std::tls::client;
    ///
    /// let config = client::config(client::roots_from_pem_file("ca.pem")?)?;
    /// let (ws, _) = ws_std::ClientBuilder::new("wss://internal.example:8443/feed")
    ///     .tls(config)
    ///     .connect()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// The last of [`ca_file`](Self::ca_file), [`roots`](Self::roots) and `tls` called
    /// decides.
    #[cfg(feature = "tls")]
    pub fn tls(mut self, config: Arc<ws_tls::rustls::ClientConfig>) -> Self {
        self.trust = Trust::Config(config);
        self
    }

    /// Connects over TCP (then TLS, for `wss://`) and runs the handshake.
    ///
    /// For `wss://` (feature `tls`), the URL's host is the server name sent (SNI) and
    /// checked against the server's certificate, the certificate must chain to the trusted
    /// roots (the bundled ones unless `ca_file`, `roots` or `tls` said otherwise), and the
    /// TLS handshake counts against the handshake timeout.
    ///
    /// # Errors
    ///
    /// * [`Error::UnsupportedScheme`] for `wss://` without the `tls` feature (its message
    ///   says so);
    /// * `Error::Tls` when TLS fails: the certificate is untrusted, expired or for another
    ///   name (`rustls::Error::InvalidCertificate`), the server refused the connection (an
    ///   alert), or it does not speak TLS;
    /// * `Error::TlsConfig` when the CA file cannot be read or holds no usable certificate;
    /// * [`Error::Proxy`] when the proxy of [`proxy`](Self::proxy) did not open a tunnel;
    /// * [`Error::Io`] if the connection fails;
    /// * otherwise as [`handshake`](Self::handshake).
    pub fn connect(mut self) -> Result<(WebSocket<MaybeTlsStream>, Response), Error> {
        let url = Url::parse(&self.url)?;
        let stream = self.open(&url)?;
        self.start(stream, &url)?.driver.finish()
    }

    /// The stream for `url`: TCP (directly or through the proxy's tunnel), and TLS over it
    /// for `wss://` (not yet handshaken).
    fn open(&mut self, url: &Url) -> Result<MaybeTlsStream, Error> {
        #[cfg(feature = "tls")]
        let config = match url.secure() {
            // Read before connecting: a CA file that is missing is not the server's fault.
            true => Some(self.trust.client_config()?),
            false => None,
        };
        #[cfg(not(feature = "tls"))]
        if url.secure() {
            return Err(Error::UnsupportedScheme("wss"));
        }
        let tcp = self.dial(url)?;
        #[cfg(feature = "tls")]
        if let Some(config) = config {
            // An IPv6 literal comes without its brackets, as the TLS server name wants it.
            return Ok(crate::tls::client_stream(config, url.host(), tcp)?.into());
        }
        Ok(MaybeTlsStream::Plain(tcp))
    }

    /// Runs the handshake over an already connected, blocking stream (a stream of your
    /// own: a Unix socket, a proxy tunnel, TLS set up by hand); the URL gives the `Host` header and the resource. For a
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
    fn dial(&mut self, url: &Url) -> Result<TcpStream, Error> {
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
