//! How a connection ended: the last event of every connection.

use alloc::string::String;

use crate::close::CloseCode;
use crate::error::{Error, ProtocolError, Timeout};

/// Why a connection ended, in [`Closed::cause`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseCause {
    /// The peer started the closing handshake and it completed.
    PeerClose,
    /// This side started the closing handshake ([`Connection::close`](crate::Connection::close))
    /// and the peer answered.
    LocalClose,
    /// The peer broke the protocol: this side failed the connection with the error's close
    /// code (RFC 6455 section 7.1.7).
    Protocol(ProtocolError),
    /// A keepalive Ping went unanswered for
    /// [`Config::keepalive_timeout`](crate::Config::keepalive_timeout): closed with 1011.
    KeepaliveTimeout,
    /// The peer did not answer our Close frame within
    /// [`Config::close_timeout`](crate::Config::close_timeout).
    CloseTimeout,
    /// The transport ended (or failed) before the closing handshake completed.
    TransportLost,
}

/// The end of a connection, reported once as [`Event::Closed`](crate::Event::Closed), the last
/// event, and kept in [`Connection::closed`](crate::Connection::closed).
///
/// `code` and `reason` are those of the peer's Close frame after a closing handshake (1005,
/// [`CloseCode::NO_STATUS`], when it carried no code), or those of the failure otherwise
/// (1002 and the like for a protocol error, 1011 for a keepalive timeout, 1006 when the
/// connection was lost or the close timed out), with a short description as the reason.
///
/// ```
/// use ws_proto::{CloseCause, CloseCode, Closed, Error};
/// let lost = Closed { code: CloseCode::ABNORMAL, reason: String::new(), cause: CloseCause::TransportLost };
/// assert!(!lost.is_clean());
/// assert_eq!(lost.error(), Some(Error::ConnectionLost));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closed {
    /// The close code to report.
    pub code: CloseCode,
    /// The reason to report (may be empty).
    pub reason: String,
    /// Who or what ended the connection.
    pub cause: CloseCause,
}

impl Closed {
    /// Whether the closing handshake completed (either side started it).
    pub fn is_clean(&self) -> bool {
        matches!(self.cause, CloseCause::PeerClose | CloseCause::LocalClose)
    }

    /// The error for a connection that did not end with a closing handshake; `None` for a
    /// clean close.
    pub fn error(&self) -> Option<Error> {
        match self.cause {
            CloseCause::PeerClose | CloseCause::LocalClose => None,
            CloseCause::Protocol(e) => Some(Error::Protocol(e)),
            CloseCause::KeepaliveTimeout => Some(Error::Timeout(Timeout::Keepalive)),
            CloseCause::CloseTimeout => Some(Error::Timeout(Timeout::Close)),
            CloseCause::TransportLost => Some(Error::ConnectionLost),
        }
    }
}
