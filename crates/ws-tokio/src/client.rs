//! The client side: `connect_async`, [`ClientBuilder`], `client_async`.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use ws_proto::handshake::{ClientHandshake, ClientRequest, ExtensionOffer, Limits, Response, Url};
use ws_proto::rng::{nonce, OsRandom};
use ws_proto::{Config, Instant};

use crate::handshake::{Handshake, Machine};
use crate::{Error, MaybeTlsStream, WebSocketStream};

/// Opens a WebSocket connection to a `ws://` URL (or, with the feature `tls`, a `wss://`
/// one, trusting the bundled roots) with default settings.
///
/// ```no_run
/// # async fn run() -> Result<(), ws_tokio::Error> {
/// let (mut ws, response) = ws_tokio::connect_async("ws://127.0.0.1:8080/chat").await?;
/// println!("agreed subprotocol: {:?}", response.protocol());
/// ws.send("hello").await?;
/// println!("{:?}", ws.read().await?);
/// # Ok(()) }
/// ```
///
/// # Errors
///
/// As [`ClientBuilder::connect`].
pub async fn connect_async(
    url: &str,
) -> Result<(WebSocketStream<MaybeTlsStream<TcpStream>>, Response), Error> {
    ClientBuilder::new(url).connect().await
}

/// Runs the client handshake for `url` over a stream already connected (a Unix socket, a
/// proxy tunnel, a TLS stream of your own), with default settings.
///
/// # Errors
///
/// As [`ClientBuilder::handshake`].
pub async fn client_async<S>(url: &str, stream: S) -> Result<(WebSocketStream<S>, Response), Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    ClientBuilder::new(url).handshake(stream).await
}

/// Settings for a client connection (the same as ws-std's `ClientBuilder`);
/// [`connect`](Self::connect) opens it.
///
/// ```no_run
/// use std::time::Duration;
/// use ws_tokio::ClientBuilder;
///
/// # async fn run() -> Result<(), ws_tokio::Error> {
/// let mut config = ws_tokio::Config::default();
/// config.keepalive_interval = Some(Duration::from_secs(20));
/// let (ws, response) = ClientBuilder::new("ws://127.0.0.1:8080/feed?room=1")
///     .protocol("v2.feed")
///     .header("Authorization", "Bearer token")
///     .origin("https://example.com")
///     .config(config)
///     .connect()
///     .await?;
/// # Ok(()) }
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
    write_buffer_limit: Option<usize>,
    #[cfg(feature = "tls")]
    tls: Option<Arc<tokio_rustls::rustls::ClientConfig>>,
}

impl ClientBuilder {
    /// A client for `url` (`ws://host[:port]/path?query`, or `wss://` with feature `tls`).
    pub fn new(url: &str) -> ClientBuilder {
        ClientBuilder {
            url: url.into(),
            protocols: Vec::new(),
            headers: Vec::new(),
            extensions: Vec::new(),
            origin: None,
            config: Arc::default(),
            connect_timeout: Some(Duration::from_secs(10)),
            write_buffer_limit: None,
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

    /// Sets [`Config::handshake_timeout`]: how long the opening handshake may take once
    /// connected, TLS included (default 10 s; `None`: no limit).
    pub fn handshake_timeout(mut self, timeout: Option<Duration>) -> Self {
        Arc::make_mut(&mut self.config).handshake_timeout = timeout;
        self
    }

    /// How long the TCP connect may take (default 10 s; `None`: the OS default).
    pub fn connect_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The connection's [write buffer limit](WebSocketStream::set_write_buffer_limit).
    pub fn write_buffer_limit(mut self, bytes: usize) -> Self {
        self.write_buffer_limit = Some(bytes);
        self
    }

    /// The TLS configuration of `wss://` connections (feature `tls`): whom to trust, from
    /// [`ws_tls::client`] (a CA file, the platform roots, your own store). Without it, the
    /// bundled roots.
    #[cfg(feature = "tls")]
    pub fn tls(mut self, config: Arc<tokio_rustls::rustls::ClientConfig>) -> Self {
        self.tls = Some(config);
        self
    }

    /// Connects over TCP (then TLS for `wss://`, feature `tls`) and runs the handshake.
    ///
    /// # Errors
    ///
    /// [`Error::UnsupportedScheme`] for `wss://` without the feature `tls`; [`Error::Io`]
    /// if the connection fails (`TimedOut` after the connect timeout); with TLS,
    /// [`Error::Tls`](crate::Error) when the certificate is refused or the server does not
    /// speak TLS; otherwise as [`handshake`](Self::handshake).
    pub async fn connect(
        self,
    ) -> Result<(WebSocketStream<MaybeTlsStream<TcpStream>>, Response), Error> {
        let url = Url::parse(&self.url)?;
        if url.secure() && cfg!(not(feature = "tls")) {
            return Err(Error::UnsupportedScheme("wss"));
        }
        let tcp = open_tcp(&url, self.connect_timeout).await?;
        #[cfg_attr(not(feature = "tls"), allow(unused_mut))]
        let mut handshake = self.start(&url)?;
        let stream = if url.secure() {
            #[cfg(feature = "tls")]
            {
                let config = match &self.tls {
                    Some(config) => Arc::clone(config),
                    None => crate::tls::default_client_config()?,
                };
                let tls = handshake
                    .bounded(crate::tls::connect(config, url.host(), tcp))
                    .await?;
                MaybeTlsStream::Tls(Box::new(tls))
            }
            #[cfg(not(feature = "tls"))]
            unreachable!("checked above")
        } else {
            MaybeTlsStream::Plain(tcp)
        };
        self.finish(handshake, stream).await
    }

    /// Runs the handshake over an already connected stream; the URL gives the `Host` header
    /// and the resource.
    ///
    /// # Errors
    ///
    /// [`Error::Handshake`] with
    /// [`HandshakeError::Rejected`](crate::HandshakeError::Rejected) (status, headers and
    /// body of the server's refusal), [`HandshakeError::Timeout`](crate::HandshakeError::Timeout)
    /// (no complete response within [`Config::handshake_timeout`]),
    /// [`HandshakeError::ConnectionLost`](crate::HandshakeError::ConnectionLost), or the
    /// fault of an invalid response, URL, header or offer; [`Error::Io`] when the transport
    /// fails.
    pub async fn handshake<S>(self, stream: S) -> Result<(WebSocketStream<S>, Response), Error>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let url = Url::parse(&self.url)?;
        let handshake = self.start(&url)?;
        self.finish(handshake, stream).await
    }

    /// The request, in a machine whose clock starts now.
    fn start(&self, url: &Url) -> Result<Handshake, Error> {
        let mut request = ClientRequest::new(url, nonce());
        if let Some(origin) = &self.origin {
            request = request.origin(origin)?;
        }
        for protocol in &self.protocols {
            request = request.protocol(protocol)?;
        }
        for offer in &self.extensions {
            request = request.extension(offer.clone())?;
        }
        for (name, value) in &self.headers {
            request = request.header(name, value)?;
        }
        // The machine adds the permessage-deflate offers of the configuration.
        let machine = ClientHandshake::new(
            request,
            Arc::clone(&self.config),
            OsRandom::new(),
            Instant::ZERO,
        )?;
        Ok(Handshake::new(Machine::Client(machine)))
    }

    async fn finish<S>(
        &self,
        handshake: Handshake,
        stream: S,
    ) -> Result<(WebSocketStream<S>, Response), Error>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let (mut ws, response) = handshake.run(stream, |_, _| {}).await?;
        if let Some(limit) = self.write_buffer_limit {
            ws.set_write_buffer_limit(limit);
        }
        let response = response.ok_or(Error::ConnectionClosed)?;
        Ok((ws, response))
    }
}

/// Connects to the URL's host and port, with Nagle off (frames go out as they are written).
async fn open_tcp(url: &Url, timeout: Option<Duration>) -> Result<TcpStream, Error> {
    // IPv6 literals come bracketed from the URL; the resolver wants them bare.
    let host = url.host().trim_start_matches('[').trim_end_matches(']');
    let connect = TcpStream::connect((host, url.port()));
    let tcp = match timeout {
        Some(t) => tokio::time::timeout(t, connect)
            .await
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??,
        None => connect.await?,
    };
    tcp.set_nodelay(true)?;
    Ok(tcp)
}
