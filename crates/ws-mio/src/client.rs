//! What an outgoing connection asks for.

use ws_proto::handshake::{ClientRequest, Url};

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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connect {
    url: String,
    protocols: Vec<String>,
    headers: Vec<(String, String)>,
    origin: Option<String>,
}

impl Connect {
    /// A request for `url` (`ws://host[:port]/path?query`).
    pub fn new(url: impl Into<String>) -> Connect {
        Connect {
            url: url.into(),
            protocols: Vec::new(),
            headers: Vec::new(),
            origin: None,
        }
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
        if url.secure() {
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
