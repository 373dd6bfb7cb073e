//! The error type of the blocking adapter.

use std::fmt;
use std::io;

use ws_proto::{HandshakeError, ProtocolError, SendError};

/// Everything that can go wrong on a blocking WebSocket.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The transport failed. `TimedOut`/`WouldBlock` from a read or write timeout leave the
    /// socket usable: call again.
    Io(io::Error),
    /// The opening handshake failed (bad request or response, or rejected).
    Handshake(HandshakeError),
    /// The peer violated the protocol. The Close frame with
    /// [`ProtocolError::close_code`] has been sent and the socket closed.
    Protocol(ProtocolError),
    /// The call was not valid in the connection's state (for example sending after close).
    Send(SendError),
    /// The connection has closed cleanly: the closing handshake completed (the Close message
    /// was returned by an earlier `read`). Nothing more can be read or sent.
    ConnectionClosed,
    /// The URL scheme is not supported by this build (for example `wss://` without TLS).
    UnsupportedScheme(&'static str),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => write!(f, "I/O error: {e}"),
            Error::Handshake(e) => write!(f, "handshake failed: {e}"),
            Error::Protocol(ProtocolError::UnexpectedEof) => {
                f.write_str("the peer closed the connection without a close frame")
            }
            Error::Protocol(e) => write!(f, "protocol error: {e} (close code {})", e.close_code()),
            Error::Send(e) => write!(f, "cannot send: {e}"),
            Error::ConnectionClosed => f.write_str("the connection is closed"),
            Error::UnsupportedScheme(s) => write!(f, "unsupported URL scheme: {s}"),
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
            _ => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Error::Io(e)
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
    /// Maps to the closest `io::ErrorKind`: peer faults are `InvalidData`, a vanished peer
    /// `UnexpectedEof`, a closed connection `NotConnected`, misuse `InvalidInput`.
    fn from(e: Error) -> io::Error {
        let kind = match &e {
            Error::Io(inner) => return io::Error::new(inner.kind(), e),
            Error::Protocol(ProtocolError::UnexpectedEof) => io::ErrorKind::UnexpectedEof,
            Error::Protocol(ProtocolError::CloseTimeout | ProtocolError::KeepaliveTimeout) => {
                io::ErrorKind::TimedOut
            }
            Error::Handshake(_) | Error::Protocol(_) => io::ErrorKind::InvalidData,
            Error::Send(_) | Error::UnsupportedScheme(_) => io::ErrorKind::InvalidInput,
            Error::ConnectionClosed => io::ErrorKind::NotConnected,
        };
        io::Error::new(kind, e)
    }
}
