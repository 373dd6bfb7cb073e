//! What an outgoing connection asks for.

#[cfg(feature = "tls")]
use std::io;
#[cfg(feature = "tls")]
use std::sync::Arc;

use mio::net::TcpStream;
use ws_proto::handshake::{ClientRequest, Url};
#[cfg(feature = "tls")]
use ws_tls::pki_types::ServerName;

use crate::transport::Transport;
use crate::Error;

/// An outgoing connection request for [`Ctx::connect`](crate::Ctx::connect): the URL and the
/// handshake options. A `&str` or `String` converts into a request with no options.
///
/// ```
/// use ws_mio::Connect;
/// let request = Connect::new("ws://127.0.0.1:9001/chat?room=1")
///     .protocol("chat.v2")
///     .header("Authorization", "Bearer token")
///     .origin("https://example.com");
/// assert_eq!(request.url(), "ws://127.0.0.1:9001/chat?room=1");
/// ```
///
/// With the feature `tls`, `wss://` URLs connect over TLS: trusting the bundled Mozilla
/// roots unless `Connect::tls` gives another configuration, with the URL's host as the
/// server's name (SNI, and the name its certificate must have).
#[derive(Debug, Clone)]
pub struct Connect {
    url: String,
    protocols: Vec<String>,
    headers: Vec<(String, String)>,
    origin: Option<String>,
    #[cfg(feature = "tls")]
    tls: Option<Arc<rustls::ClientConfig>>,
}

/// Equal requests ask for the same: the same URL and options, and the same TLS
/// configuration (the same `Arc`, or none).
impl PartialEq for Connect {
    fn eq(&self, other: &Connect) -> bool {
        #[cfg(feature = "tls")]
        let same_tls = match (&self.tls, &other.tls) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (a, b) => a.is_none() && b.is_none(),
        };
        #[cfg(not(feature = "tls"))]
        let same_tls = true;
        same_tls
            && self.url == other.url
            && self.protocols == other.protocols
            && self.headers == other.headers
            && self.origin == other.origin
    }
}

impl Eq for Connect {}

impl Connect {
    /// A request for `url` (`ws://host[:port]/path?query`, or `wss://` with the feature
    /// `tls`).
    pub fn new(url: impl Into<String>) -> Connect {
        Connect {
            url: url.into(),
            protocols: Vec::new(),
            headers: Vec::new(),
            origin: None,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }

    /// The TLS configuration of a `wss://` connection (feature `tls`): whom it trusts, for
    /// example [`tls::client::config`](crate::tls::client::config) of a
    /// [`tls::client::roots_from_pem_file`](crate::tls::client::roots_from_pem_file).
    /// Without it, `wss://` trusts the bundled Mozilla roots
    /// ([`tls::client::bundled_roots`](crate::tls::client::bundled_roots)). A `ws://` URL
    /// ignores it.
    ///
    /// ```
    /// let roots = ws_mio::tls::client::bundled_roots();
    /// let config = ws_mio::tls::client::config(roots)?;
    /// let request = ws_mio::Connect::new("wss://example.com/chat").tls(config);
    /// assert_eq!(request.url(), "wss://example.com/chat");
    /// # Ok::<(), ws_mio::tls::ConfigError>(())
    /// ```
    #[cfg(feature = "tls")]
    pub fn tls(mut self, config: Arc<rustls::ClientConfig>) -> Connect {
        self.tls = Some(config);
        self
    }

    /// Offers a subprotocol; call once per protocol, most preferred first.
    pub fn protocol(mut self, protocol: &str) -> Connect {
        self.protocols.push(protocol.into());
        self
    }

    /// Adds a request header (for example `Authorization` or `Cookie`).
    pub fn header(mut self, name: &str, value: &str) -> Connect {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the `Origin` header.
    pub fn origin(mut self, origin: &str) -> Connect {
        self.origin = Some(origin.into());
        self
    }

    /// The URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The parsed URL and the request to send; fails on a bad URL or option.
    pub(crate) fn request(&self, nonce: [u8; 16]) -> Result<(Url, ClientRequest), Error> {
        let url = Url::parse(&self.url)?;
        if url.secure() && cfg!(not(feature = "tls")) {
            return Err(Error::UnsupportedScheme("wss"));
        }
        let mut request = ClientRequest::new(&url, nonce);
        if let Some(origin) = &self.origin {
            request = request.origin(origin)?;
        }
        for protocol in &self.protocols {
            request = request.protocol(protocol)?;
        }
        for (name, value) in &self.headers {
            request = request.header(name, value)?;
        }
        Ok((url, request))
    }

    /// The transport of the connection to `url` over `socket`: TLS for `wss://`, the
    /// server's name from the URL's host.
    pub(crate) fn transport(&self, url: &Url, socket: TcpStream) -> Result<Transport, Error> {
        if !url.secure() {
            return Ok(Transport::plain(socket));
        }
        #[cfg(feature = "tls")]
        {
            let config = match &self.tls {
                Some(config) => Arc::clone(config),
                None => ws_tls::client::shared_default_config().map_err(io::Error::other)?,
            };
            // IPv6 literals come bracketed from the URL; a server name is bare.
            let host = url.host().trim_start_matches('[').trim_end_matches(']');
            let name = ServerName::try_from(host.to_owned()).map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("invalid TLS server name {host:?}: {e}"),
                )
            })?;
            let tls = rustls::ClientConnection::new(config, name)?;
            Ok(Transport::tls(socket, tls))
        }
        #[cfg(not(feature = "tls"))]
        Err(Error::UnsupportedScheme("wss"))
    }
}

impl From<&str> for Connect {
    fn from(url: &str) -> Connect {
        Connect::new(url)
    }
}

impl From<String> for Connect {
    fn from(url: String) -> Connect {
        Connect::new(url)
    }
}
