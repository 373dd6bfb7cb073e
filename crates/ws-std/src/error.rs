//! The error type of the blocking adapter: ws-proto's errors, plus what belongs to the
//! adapter (the transport's I/O errors, the end of the connection, the URL scheme).

use std::fmt;
use std::io;

use ws_proto::{HandshakeError, ProtocolError, SendError, Timeout};

/// Everything that can go wrong on a blocking WebSocket.
///
/// The variants shared with [`ws_proto::Error`] (`Handshake`, `Protocol`, `Send`, `Timeout`,
/// `ConnectionLost`) mean what they mean there, print as they print there and map to the
/// same [`io::ErrorKind`]s ([`ws_proto::Error::io_kind`]). A refused handshake
/// ([`HandshakeError::Rejected`]) also prints the start of the response's body, which is
/// often the server's explanation:
///
/// ```
/// use ws_std::{Error, HandshakeError, HttpResponse};
/// let refusal = HttpResponse::new(401)
///     .with_header("WWW-Authenticate", "Bearer")
///     .with_body("token expired\n");
/// let error = Error::Handshake(HandshakeError::Rejected(Box::new(refusal)));
/// assert_eq!(
///     error.to_string(),
///     "handshake failed: refused with HTTP 401 Unauthorized: \"token expired\""
/// );
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The transport failed. `TimedOut`/`WouldBlock` from a read timeout, a write timeout or
    /// a non-blocking stream leave the connection usable: call again (after a write, every
    /// byte not written stays queued for the next [`flush`](crate::WebSocket::flush)).
    Io(io::Error),
    /// The opening handshake failed (bad request or response, or rejected).
    Handshake(HandshakeError),
    /// The peer violated the protocol. The Close frame with
    /// [`ProtocolError::close_code`] has been sent and the transport closed.
    Protocol(ProtocolError),
    /// The call was not valid in the connection's state (for example sending after close).
    Send(SendError),
    /// A deadline of the open connection passed: a keepalive Ping went unanswered (the
    /// connection was closed with 1011), or the peer did not answer our Close frame.
    Timeout(Timeout),
    /// The transport ended before the closing handshake completed (close code 1006).
    ConnectionLost,
    /// The connection has closed: the closing handshake completed (the Close message was
    /// returned by an earlier `read`), or its abnormal end was reported by an earlier `read`.
    /// Nothing more can be read.
    ConnectionClosed,
    /// The URL scheme is not supported: `wss://` without the `tls` feature (the message
    /// says which feature to enable).
    UnsupportedScheme(&'static str),
    /// TLS failed (feature `tls`): the peer's certificate was refused (untrusted, expired,
    /// for another name), the peer refused ours or the protocol (an alert received), or the
    /// peer does not speak TLS (a plain HTTP client on a TLS port, a plain server, garbage
    /// records). The connection is over.
    #[cfg(feature = "tls")]
    Tls(ws_tls::rustls::Error),
    /// A TLS configuration could not be built (feature `tls`): the CA file given to
    /// [`ClientBuilder::ca_file`](crate::ClientBuilder::ca_file) cannot be read or holds no
    /// usable certificate. Nothing was sent.
    #[cfg(feature = "tls")]
    TlsConfig(ws_tls::Error),
    /// The proxy of [`ClientBuilder::proxy`](crate::ClientBuilder::proxy) did not open a
    /// tunnel: its URL is invalid, it refused (HTTP status or SOCKS5 reply code), it wanted
    /// other credentials, or its reply was not one. The connection is over.
    Proxy(ws_proto::proxy::ProxyError),
}

impl Error {
    /// The same error as a [`ws_proto::Error`], for the variants the two types share.
    fn to_proto(&self) -> Option<ws_proto::Error> {
        Some(match self {
            Error::Handshake(e) => ws_proto::Error::Handshake(e.clone()),
            Error::Protocol(e) => ws_proto::Error::Protocol(*e),
            Error::Send(e) => ws_proto::Error::Send(*e),
            Error::Timeout(t) => ws_proto::Error::Timeout(*t),
            Error::ConnectionLost => ws_proto::Error::ConnectionLost,
            Error::Io(_)
            | Error::ConnectionClosed
            | Error::UnsupportedScheme(_)
            | Error::Proxy(_) => return None,
            #[cfg(feature = "tls")]
            Error::Tls(_) | Error::TlsConfig(_) => return None,
        })
    }

    /// [`to_proto`](Self::to_proto) by value: the error back when it is the adapter's own.
    fn into_proto(self) -> Result<ws_proto::Error, Error> {
        Ok(match self {
            Error::Handshake(e) => ws_proto::Error::Handshake(e),
            Error::Protocol(e) => ws_proto::Error::Protocol(e),
            Error::Send(e) => ws_proto::Error::Send(e),
            Error::Timeout(t) => ws_proto::Error::Timeout(t),
            Error::ConnectionLost => ws_proto::Error::ConnectionLost,
            own @ (Error::Io(_)
            | Error::ConnectionClosed
            | Error::UnsupportedScheme(_)
            | Error::Proxy(_)) => return Err(own),
            #[cfg(feature = "tls")]
            own @ (Error::Tls(_) | Error::TlsConfig(_)) => return Err(own),
        })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(shared) = self.to_proto() {
            shared.fmt(f)?;
            if let Error::Handshake(HandshakeError::Rejected(response)) = self {
                write_excerpt(f, response.body())?;
            }
            return Ok(());
        }
        match self {
            Error::Io(e) => write!(f, "I/O error: {e}"),
            Error::ConnectionClosed => f.write_str("the connection is closed"),
            Error::UnsupportedScheme("wss") => f.write_str(
                "unsupported URL scheme: wss (wss:// needs ws-std's `tls` feature; build with \
                 `features = [\"tls\"]`)",
            ),
            Error::UnsupportedScheme(s) => write!(f, "unsupported URL scheme: {s}"),
            Error::Proxy(e) => e.fmt(f),
            #[cfg(feature = "tls")]
            Error::Tls(e) => write!(f, "TLS error: {e}"),
            #[cfg(feature = "tls")]
            Error::TlsConfig(e) => write!(f, "TLS configuration: {e}"),
            _ => unreachable!("shared with ws_proto::Error"),
        }
    }
}

/// How many characters of a refusal's body [`Error`]'s `Display` shows.
const BODY_EXCERPT: usize = 80;

/// `: "<the start of body>"` (as text, escaped, cut at [`BODY_EXCERPT`] characters with `...`
/// after), or nothing for an empty body.
fn write_excerpt(f: &mut fmt::Formatter<'_>, body: &[u8]) -> fmt::Result {
    // Only what can be shown is decoded: a body is at most `Limits::max_body_bytes`, but
    // 4 bytes per character is the most an excerpt needs.
    let head = &body[..body.len().min(BODY_EXCERPT * 4)];
    let text = String::from_utf8_lossy(head);
    let text = text.trim();
    if text.is_empty() {
        return Ok(());
    }
    let mut chars = text.chars();
    let excerpt: String = chars.by_ref().take(BODY_EXCERPT).collect();
    let cut = chars.next().is_some() || head.len() < body.len();
    write!(f, ": {excerpt:?}")?;
    if cut {
        f.write_str("...")?;
    }
    Ok(())
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(e),
            Error::Handshake(e) => Some(e),
            Error::Protocol(e) => Some(e),
            Error::Send(e) => Some(e),
            Error::Proxy(e) => Some(e),
            #[cfg(feature = "tls")]
            Error::Tls(e) => Some(e),
            #[cfg(feature = "tls")]
            Error::TlsConfig(e) => Some(e),
            _ => None,
        }
    }
}

impl From<ws_proto::Error> for Error {
    fn from(e: ws_proto::Error) -> Self {
        match e {
            ws_proto::Error::Protocol(e) => Error::Protocol(e),
            ws_proto::Error::Handshake(e) => Error::Handshake(e),
            ws_proto::Error::Send(e) => Error::Send(e),
            ws_proto::Error::Timeout(t) => Error::Timeout(t),
            ws_proto::Error::ConnectionLost => Error::ConnectionLost,
            // A kind this version does not know: kept whole, as ws-proto maps it to I/O.
            other => Error::Io(other.into()),
        }
    }
}

impl From<io::Error> for Error {
    /// [`Error::Io`]; with the `tls` feature, an `io::Error` that carries a rustls error (as
    /// rustls's streams report them) is `Error::Tls`.
    fn from(e: io::Error) -> Self {
        #[cfg(feature = "tls")]
        let e = match e.downcast::<ws_tls::rustls::Error>() {
            Ok(tls) => return Error::Tls(tls),
            Err(e) => e,
        };
        Error::Io(e)
    }
}
#[cfg(feature = "tls")]
impl From<ws_tls::Error> for Error {
    fn from(e: ws_tls::Error) -> Self {
        Error::TlsConfig(e)
    }
}

impl From<HandshakeError> for Error {
    fn from(e: HandshakeError) -> Self {
        Error::Handshake(e)
    }
}
impl From<ProtocolError> for Error {
    fn from(e: ProtocolError) -> Self {
        Error::Protocol(e)
    }
}
impl From<SendError> for Error {
    fn from(e: SendError) -> Self {
        Error::Send(e)
    }
}
impl From<Timeout> for Error {
    fn from(t: Timeout) -> Self {
        Error::Timeout(t)
    }
}

impl From<Error> for io::Error {
    /// An [`Error::Io`] is the transport's own error, unchanged. The other errors become the
    /// payload of an `io::Error`: of the kind ws-proto gives the shared variants
    /// ([`ws_proto::Error::io_kind`]: peer faults `InvalidData`, deadlines `TimedOut`, a lost
    /// connection `UnexpectedEof`, misuse `InvalidInput`, a send on a closed connection
    /// `NotConnected`); a closed connection is `NotConnected`, an unsupported scheme
    /// `InvalidInput`, a TLS failure `InvalidData` carrying the rustls error (as rustls's
    /// own streams report it), a TLS configuration error as ws-tls maps it.
    fn from(e: Error) -> io::Error {
        match e.into_proto() {
            Ok(shared) => io::Error::new(shared.io_kind(), Error::from(shared)),
            Err(Error::Io(inner)) => inner,
            #[cfg(feature = "tls")]
            Err(Error::Tls(tls)) => io::Error::new(io::ErrorKind::InvalidData, tls),
            #[cfg(feature = "tls")]
            Err(Error::TlsConfig(config)) => config.into(),
            Err(own) => {
                let kind = match own {
                    Error::ConnectionClosed => io::ErrorKind::NotConnected,
                    _ => io::ErrorKind::InvalidInput,
                };
                io::Error::new(kind, own)
            }
        }
    }
}

impl From<ws_proto::proxy::ProxyError> for Error {
    fn from(e: ws_proto::proxy::ProxyError) -> Error {
        Error::Proxy(e)
    }
}
