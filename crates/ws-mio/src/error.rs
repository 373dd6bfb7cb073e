//! The error type of the event-loop adapter.

use std::fmt;
use std::io;

use ws_proto::{HandshakeError, ProtocolError, SendError};

use crate::ConnId;

/// What can go wrong on a connection or when addressing one.
///
/// Errors about a connection reach [`Handler::error`](crate::Handler::error); errors about a
/// call are returned by it.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The socket failed, or a client could not connect.
    Io(io::Error),
    /// The opening handshake failed: the request or response was invalid (a server has
    /// answered with the matching HTTP error), or a client's options were.
    Handshake(HandshakeError),
    /// The peer violated the protocol; the connection is being failed with
    /// [`ProtocolError::close_code`]. [`ProtocolError::UnexpectedEof`] when it vanished without
    /// a Close frame, [`ProtocolError::KeepaliveTimeout`] when it did not answer a keepalive
    /// Ping in time (the connection is closed with 1011).
    Protocol(ProtocolError),
    /// The opening handshake did not complete within
    /// [`Options::handshake_timeout`](crate::Options::handshake_timeout); the TCP connection
    /// was closed.
    HandshakeTimeout,
    /// The call is not valid in the connection's state (for example sending after close).
    Send(SendError),
    /// No open connection has this id on its event loop: it closed, or it is still in its
    /// opening handshake.
    UnknownConnection(ConnId),
    /// The event loop is not running any more.
    Stopped,
    /// The URL scheme is not supported (`wss://`: this adapter has no TLS).
    UnsupportedScheme(&'static str),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => write!(f, "I/O error: {e}"),
            Error::Handshake(e) => write!(f, "handshake failed: {e}"),
            Error::Protocol(e) => write!(f, "protocol error: {e} (close code {})", e.close_code()),
            Error::HandshakeTimeout => f.write_str("the opening handshake timed out"),
            Error::Send(e) => write!(f, "cannot send: {e}"),
            Error::UnknownConnection(id) => write!(f, "no open connection {id}"),
            Error::Stopped => f.write_str("the event loop has stopped"),
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
    /// Maps to the closest `io::ErrorKind`: peer faults are `InvalidData`, timeouts
    /// `TimedOut`, a vanished peer `UnexpectedEof`, a gone connection or loop `NotConnected`,
    /// misuse `InvalidInput`.
    fn from(e: Error) -> io::Error {
        let kind = match &e {
            Error::Io(inner) => return io::Error::new(inner.kind(), e),
            Error::Protocol(ProtocolError::UnexpectedEof) => io::ErrorKind::UnexpectedEof,
            Error::Protocol(ProtocolError::CloseTimeout | ProtocolError::KeepaliveTimeout)
            | Error::HandshakeTimeout => io::ErrorKind::TimedOut,
            Error::Handshake(_) | Error::Protocol(_) => io::ErrorKind::InvalidData,
            Error::Send(_) | Error::UnsupportedScheme(_) => io::ErrorKind::InvalidInput,
            Error::UnknownConnection(_) | Error::Stopped => io::ErrorKind::NotConnected,
        };
        io::Error::new(kind, e)
    }
}
