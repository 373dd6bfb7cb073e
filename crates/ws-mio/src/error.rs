//! The error type of the event-loop adapter, built on ws-proto's.

use std::fmt;
use std::io;

use ws_proto::{HandshakeError, ProtocolError, SendError, Timeout};

use crate::ConnId;

/// What can go wrong on a connection or when addressing one.
///
/// Errors about a connection reach [`Handler::error`](crate::Handler::error); errors about a
/// call are returned by it. The WebSocket variants are those of [`ws_proto::Error`]; the rest
/// belong to the event loop.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The socket failed, or a client could not connect.
    Io(io::Error),
    /// The opening handshake failed: the request or response was invalid (a server has
    /// answered with the matching HTTP error), it timed out
    /// ([`HandshakeError::Timeout`], `Options::config.handshake_timeout`), or a
    /// client's options were invalid.
    Handshake(HandshakeError),
    /// The peer violated the protocol; the connection was failed with
    /// [`ProtocolError::close_code`].
    Protocol(ProtocolError),
    /// The call is not valid in the connection's state (for example sending after close).
    Send(SendError),
    /// The peer did not answer a keepalive Ping (the connection was closed with 1011) or our
    /// Close frame in time.
    Timeout(Timeout),
    /// The peer vanished without a closing handshake (close code 1006).
    ConnectionLost,
    /// No open connection has this id on its event loop: it closed, or it is still in its
    /// opening handshake.
    UnknownConnection(ConnId),
    /// The event loop is not running any more.
    Stopped,
    /// The URL scheme is not supported (`wss://` without the feature `tls`).
    UnsupportedScheme(&'static str),
    /// The connection already subscribes to
    /// [`Options::max_subscriptions`](crate::Options::max_subscriptions) topics.
    TooManySubscriptions(ConnId),
    /// TLS failed (feature `tls`): the peer's certificate is not trusted, has expired or
    /// names another host ([`rustls::Error::InvalidCertificate`]), the peer sent an alert
    /// (for example because it refused our certificate) or something that is not TLS
    /// (a plain HTTP client on a TLS port, or the reverse), or a record was corrupt.
    #[cfg(feature = "tls")]
    Tls(rustls::Error),
}

impl Error {
    /// The ws-proto error this is, if it is one of the WebSocket variants.
    fn as_proto(&self) -> Option<ws_proto::Error> {
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
        if let Some(e) = self.as_proto() {
            return e.fmt(f);
        }
        match self {
            Error::Io(e) => write!(f, "I/O error: {e}"),
            Error::UnknownConnection(id) => write!(f, "no open connection {id}"),
            Error::Stopped => f.write_str("the event loop has stopped"),
            Error::UnsupportedScheme(s) => write!(f, "unsupported URL scheme: {s}"),
            Error::TooManySubscriptions(id) => {
                write!(f, "connection {id} subscribes to too many topics")
            }
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

impl From<io::Error> for Error {
    /// [`Error::Io`], or with the feature `tls` `Error::Tls` for the rustls error the
    /// transport wraps in an `io::Error`.
    fn from(e: io::Error) -> Self {
        #[cfg(feature = "tls")]
        if e.get_ref().is_some_and(|inner| inner.is::<rustls::Error>()) {
            let kind = e.kind();
            return match e
                .into_inner()
                .map(|inner| inner.downcast::<rustls::Error>())
            {
                Some(Ok(tls)) => Error::Tls(*tls),
                Some(Err(other)) => Error::Io(io::Error::new(kind, other)),
                None => Error::Io(kind.into()),
            };
        }
        Error::Io(e)
    }
}

#[cfg(feature = "tls")]
impl From<rustls::Error> for Error {
    fn from(e: rustls::Error) -> Self {
        Error::Tls(e)
    }
}

impl From<ws_proto::Error> for Error {
    fn from(e: ws_proto::Error) -> Self {
        match e {
            ws_proto::Error::Handshake(e) => Error::Handshake(e),
            ws_proto::Error::Protocol(e) => Error::Protocol(e),
            ws_proto::Error::Send(e) => Error::Send(e),
            ws_proto::Error::Timeout(t) => Error::Timeout(t),
            // `ConnectionLost` and any variant added later.
            _ => Error::ConnectionLost,
        }
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

impl From<Error> for io::Error {
    /// The WebSocket variants map as [`ws_proto::Error`] does (peer faults `InvalidData`,
    /// timeouts `TimedOut`, a vanished peer `UnexpectedEof`, misuse `InvalidInput`); a gone
    /// connection or loop is `NotConnected`.
    fn from(e: Error) -> io::Error {
        let kind = match &e {
            Error::Io(inner) => inner.kind(),
            Error::UnknownConnection(_) | Error::Stopped => io::ErrorKind::NotConnected,
            Error::UnsupportedScheme(_) | Error::TooManySubscriptions(_) => {
                io::ErrorKind::InvalidInput
            }
            #[cfg(feature = "tls")]
            Error::Tls(_) => io::ErrorKind::InvalidData,
            other => match other.as_proto() {
                Some(proto) => proto.io_kind(),
                None => io::ErrorKind::Other,
            },
        };
        io::Error::new(kind, e)
    }
}
