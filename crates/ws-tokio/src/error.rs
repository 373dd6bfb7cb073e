//! The error type of the async adapter: ws-proto's errors, plus the transport's and the
//! adapter's own (the end of the connection, the URL scheme, TLS).

use std::fmt;
use std::io;

use ws_proto::{HandshakeError, ProtocolError, SendError, Timeout};

/// Everything that can go wrong on an async WebSocket.
///
/// The variants shared with [`ws_proto::Error`] (`Handshake`, `Protocol`, `Send`, `Timeout`,
/// `ConnectionLost`) mean and print what they do there, and convert to an [`io::Error`] of
/// the kind [`ws_proto::Error::io_kind`] gives them.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The transport failed; the connection is over.
    Io(io::Error),
    /// The opening handshake failed (bad request or response, refused, timed out).
    Handshake(HandshakeError),
    /// The peer violated the protocol; the Close frame with
    /// [`ProtocolError::close_code`] has been sent.
    Protocol(ProtocolError),
    /// The call was not valid in the connection's state (for example sending after close).
    Send(SendError),
    /// A keepalive Ping went unanswered (closed with 1011), or the peer did not answer our
    /// Close frame in time.
    Timeout(Timeout),
    /// The transport ended before the closing handshake completed (close code 1006).
    ConnectionLost,
    /// The connection has closed and its end was already reported: nothing more can be read.
    ConnectionClosed,
    /// The URL scheme is not supported here (`wss://` without the `tls` feature).
    UnsupportedScheme(&'static str),
    /// TLS failed (feature `tls`): a certificate refused, an alert, or a peer that does not
    /// speak TLS.
    #[cfg(feature = "tls")]
    Tls(tokio_rustls::rustls::Error),
}

impl Error {
    /// The variants shared with ws-proto, as its error.
    fn shared(&self) -> Option<ws_proto::Error> {
        Some(match self {
            Error::Handshake(e) => ws_proto::Error::Handshake(e.clone()),
            Error::Protocol(e) => ws_proto::Error::Protocol(*e),
            Error::Send(e) => ws_proto::Error::Send(*e),
            Error::Timeout(t) => ws_proto::Error::Timeout(*t),
            Error::ConnectionLost => ws_proto::Error::ConnectionLost,
            _ => return None,
        })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(shared) = self.shared() {
            return shared.fmt(f);
        }
        match self {
            Error::Io(e) => write!(f, "I/O error: {e}"),
            Error::ConnectionClosed => f.write_str("the connection is closed"),
            Error::UnsupportedScheme(scheme) => write!(f, "unsupported URL scheme: {scheme}"),
            #[cfg(feature = "tls")]
            Error::Tls(e) => write!(f, "TLS error: {e}"),
            _ => Ok(()),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(e),
            Error::Handshake(e) => Some(e),
            Error::Protocol(e) => Some(e),
            Error::Send(e) => Some(e),
            #[cfg(feature = "tls")]
            Error::Tls(e) => Some(e),
            _ => None,
        }
    }
}

impl From<ws_proto::Error> for Error {
    fn from(e: ws_proto::Error) -> Error {
        match e {
            ws_proto::Error::Protocol(e) => Error::Protocol(e),
            ws_proto::Error::Handshake(e) => Error::Handshake(e),
            ws_proto::Error::Send(e) => Error::Send(e),
            ws_proto::Error::Timeout(t) => Error::Timeout(t),
            ws_proto::Error::ConnectionLost => Error::ConnectionLost,
            other => Error::Io(other.into()),
        }
    }
}

impl From<io::Error> for Error {
    /// [`Error::Io`]; with the `tls` feature, an `io::Error` carrying a rustls error (as
    /// tokio-rustls reports them) is `Error::Tls`.
    fn from(e: io::Error) -> Error {
        #[cfg(feature = "tls")]
        let e = match e.downcast::<tokio_rustls::rustls::Error>() {
            Ok(tls) => return Error::Tls(tls),
            Err(e) => e,
        };
        Error::Io(e)
    }
}

impl From<HandshakeError> for Error {
    fn from(e: HandshakeError) -> Error {
        Error::Handshake(e)
    }
}

impl From<SendError> for Error {
    fn from(e: SendError) -> Error {
        Error::Send(e)
    }
}

impl From<Error> for io::Error {
    /// [`Error::Io`] unchanged; the others as the payload of an `io::Error` of the matching
    /// kind (the shared ones as ws-proto maps them, a closed connection `NotConnected`, an
    /// unsupported scheme `InvalidInput`, TLS `InvalidData`).
    fn from(e: Error) -> io::Error {
        if let Error::Io(inner) = e {
            return inner;
        }
        let kind = match (e.shared(), &e) {
            (Some(shared), _) => shared.io_kind(),
            (None, Error::ConnectionClosed) => io::ErrorKind::NotConnected,
            (None, Error::UnsupportedScheme(_)) => io::ErrorKind::InvalidInput,
            _ => io::ErrorKind::InvalidData,
        };
        io::Error::new(kind, e)
    }
}
