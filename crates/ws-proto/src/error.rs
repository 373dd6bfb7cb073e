//! Error types.
//!
//! Three kinds of failure are kept apart, because each calls for a different reaction:
//!
//! * [`ProtocolError`]: the peer broke RFC 6455 after the handshake. The connection has already
//!   queued a Close frame with [`ProtocolError::close_code`] and discards further input
//!   (RFC 6455 section 7.1.7, "Fail the WebSocket Connection").
//! * [`HandshakeError`]: the opening handshake is invalid. On the server side,
//!   [`HandshakeError::http_status`] is the status to answer with.
//! * [`SendError`]: the local application misused the API (for example sent after closing).
//!   Nothing was queued and the connection state did not change.
//!
//! [`Error`] wraps all three for callers that want a single type.

use core::fmt;

use crate::close::CloseCode;

/// Any error of a WebSocket connection, from the opening handshake to the end: the one
/// error type of this crate, which the adapters build theirs on.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The peer violated the protocol after the handshake; the connection was failed with
    /// [`ProtocolError::close_code`].
    Protocol(ProtocolError),
    /// The opening handshake failed.
    Handshake(HandshakeError),
    /// The local application misused the API.
    Send(SendError),
    /// A deadline passed: the peer was silent too long.
    Timeout(Timeout),
    /// The transport ended before the closing handshake completed (close code 1006).
    ConnectionLost,
}

/// Which deadline of an open connection passed, for [`Error::Timeout`] (the opening
/// handshake's is [`HandshakeError::Timeout`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Timeout {
    /// No answer to a keepalive Ping within
    /// [`Config::keepalive_timeout`](crate::Config::keepalive_timeout); the connection was
    /// closed with 1011.
    Keepalive,
    /// The peer did not answer our Close frame within
    /// [`Config::close_timeout`](crate::Config::close_timeout).
    Close,
}

impl fmt::Display for Timeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Timeout::Keepalive => "no answer to a keepalive ping in time",
            Timeout::Close => "the peer did not answer the close frame in time",
        })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Protocol(e) => write!(f, "protocol error: {e} (close code {})", e.close_code()),
            Error::Handshake(e) => write!(f, "handshake failed: {e}"),
            Error::Send(e) => write!(f, "cannot send: {e}"),
            Error::Timeout(t) => t.fmt(f),
            Error::ConnectionLost => f.write_str("the connection was lost without a close frame"),
        }
    }
}

impl core::error::Error for Error {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Error::Protocol(e) => Some(e),
            Error::Handshake(e) => Some(e),
            Error::Send(e) => Some(e),
            Error::Timeout(_) | Error::ConnectionLost => None,
        }
    }
}

impl Error {
    /// The closest [`std::io::ErrorKind`]: peer faults are `InvalidData`, deadlines
    /// `TimedOut`, a lost connection `UnexpectedEof`, misuse `InvalidInput`; a send on a
    /// closed connection `NotConnected`.
    #[cfg(feature = "std")]
    pub fn io_kind(&self) -> std::io::ErrorKind {
        use std::io::ErrorKind;
        match self {
            Error::Protocol(_) | Error::Handshake(_) => ErrorKind::InvalidData,
            Error::Send(SendError::Closed) => ErrorKind::NotConnected,
            Error::Send(_) => ErrorKind::InvalidInput,
            Error::Timeout(_) => ErrorKind::TimedOut,
            Error::ConnectionLost => ErrorKind::UnexpectedEof,
        }
    }
}

/// The mapping every adapter uses: the error becomes the payload of an `io::Error` of kind
/// [`Error::io_kind`].
#[cfg(feature = "std")]
impl From<Error> for std::io::Error {
    fn from(e: Error) -> std::io::Error {
        std::io::Error::new(e.io_kind(), e)
    }
}

impl From<Timeout> for Error {
    fn from(t: Timeout) -> Self {
        Error::Timeout(t)
    }
}

impl From<ProtocolError> for Error {
    fn from(e: ProtocolError) -> Self {
        Error::Protocol(e)
    }
}
impl From<HandshakeError> for Error {
    fn from(e: HandshakeError) -> Self {
        Error::Handshake(e)
    }
}
impl From<SendError> for Error {
    fn from(e: SendError) -> Self {
        Error::Send(e)
    }
}

/// The peer violated RFC 6455 after the opening handshake.
///
/// Each variant knows the close code it is reported with ([`ProtocolError::close_code`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolError {
    /// An RSV bit was set without an extension that defines it (section 5.2).
    ReservedBitsSet,
    /// A reserved opcode (3-7, 0xB-0xF) was received (section 5.2).
    ReservedOpcode(u8),
    /// A client sent an unmasked frame (section 5.1).
    UnmaskedClientFrame,
    /// A server sent a masked frame (section 5.1).
    MaskedServerFrame,
    /// The most significant bit of a 64-bit payload length was set (section 5.2).
    InvalidPayloadLength,
    /// A control frame had a payload longer than 125 bytes (section 5.5).
    ControlFrameTooLong,
    /// A control frame had FIN clear (section 5.5).
    FragmentedControlFrame,
    /// A continuation frame arrived with no message in progress (section 5.4).
    UnexpectedContinuation,
    /// A new data frame arrived while a fragmented message was in progress (section 5.4).
    ExpectedContinuation,
    /// A text message was not valid UTF-8 (section 8.1).
    InvalidUtf8,
    /// A Close frame had a 1-byte payload (section 5.5.1).
    InvalidClosePayload,
    /// A Close frame carried a code that may not be sent on the wire (section 7.4).
    InvalidCloseCode(u16),
    /// A Close frame's reason was not valid UTF-8 (section 5.5.1).
    InvalidCloseReason,
    /// A frame was larger than [`Config::max_frame_size`](crate::Config::max_frame_size).
    FrameTooLarge,
    /// A message was larger than [`Config::max_message_size`](crate::Config::max_message_size).
    MessageTooLarge,
    /// A compressed message could not be inflated (RFC 7692 section 7.2.2).
    InvalidCompressedData,
    /// RSV1 (the "Per-Message Compressed" bit) was set on a control frame or a continuation
    /// frame (RFC 7692 section 6.1).
    InvalidCompressionBit,
    /// A data message arrived over [`Config::rate_limit`](crate::Config::rate_limit), whose
    /// action is [`RateAction::Close`](crate::policy::RateAction::Close): closed with 1008
    /// (policy violation).
    RateLimited,
}

impl ProtocolError {
    /// The close code this error is reported with (RFC 6455 section 7.4.1).
    ///
    /// ```
    /// use ws_proto::{CloseCode, ProtocolError};
    /// assert_eq!(ProtocolError::InvalidUtf8.close_code(), CloseCode::INVALID_PAYLOAD);
    /// assert_eq!(ProtocolError::MessageTooLarge.close_code().as_u16(), 1009);
    /// ```
    pub fn close_code(&self) -> CloseCode {
        match self {
            ProtocolError::InvalidUtf8 | ProtocolError::InvalidCloseReason => {
                CloseCode::INVALID_PAYLOAD
            }
            ProtocolError::FrameTooLarge | ProtocolError::MessageTooLarge => CloseCode::TOO_BIG,
            ProtocolError::RateLimited => CloseCode::POLICY_VIOLATION,
            _ => CloseCode::PROTOCOL_ERROR,
        }
    }

    /// A short, static description.
    pub fn as_str(&self) -> &'static str {
        match self {
            ProtocolError::ReservedBitsSet => "reserved bits set without a negotiated extension",
            ProtocolError::ReservedOpcode(_) => "reserved opcode",
            ProtocolError::UnmaskedClientFrame => "client frame is not masked",
            ProtocolError::MaskedServerFrame => "server frame is masked",
            ProtocolError::InvalidPayloadLength => "64-bit payload length has its top bit set",
            ProtocolError::ControlFrameTooLong => "control frame payload longer than 125 bytes",
            ProtocolError::FragmentedControlFrame => "fragmented control frame",
            ProtocolError::UnexpectedContinuation => "continuation frame without a message",
            ProtocolError::ExpectedContinuation => "new message before the previous one ended",
            ProtocolError::InvalidUtf8 => "invalid UTF-8 in text message",
            ProtocolError::InvalidClosePayload => "close frame payload of 1 byte",
            ProtocolError::InvalidCloseCode(_) => "invalid close code",
            ProtocolError::InvalidCloseReason => "close reason is not valid UTF-8",
            ProtocolError::FrameTooLarge => "frame exceeds the size limit",
            ProtocolError::MessageTooLarge => "message exceeds the size limit",
            ProtocolError::InvalidCompressedData => "invalid compressed data",
            ProtocolError::InvalidCompressionBit => "RSV1 set on a control or continuation frame",
            ProtocolError::RateLimited => "message rate limit exceeded",
        }
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolError::ReservedOpcode(op) => write!(f, "reserved opcode {op:#x}"),
            ProtocolError::InvalidCloseCode(c) => write!(f, "invalid close code {c}"),
            other => f.write_str(other.as_str()),
        }
    }
}

impl core::error::Error for ProtocolError {}

/// The opening handshake failed (RFC 6455 section 4).
///
/// On the server side, [`HandshakeError::http_status`] is the status code to answer with
/// ([`HttpResponse::from_error`](crate::handshake::HttpResponse::from_error) builds the
/// answer); on the client side the error describes what was wrong with the server's response.
/// The messages are phrases without a prefix: an adapter prints them after its own
/// ("handshake failed: header block too large").
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HandshakeError {
    /// The header block exceeded the configured size limit (answered with 431).
    HeadersTooLarge,
    /// More headers than the configured limit (answered with 431).
    TooManyHeaders,
    /// The bytes are not a valid HTTP/1.1 message.
    MalformedHttp(&'static str),
    /// The request method was not `GET` (answered with 400).
    MethodNotGet,
    /// The HTTP version was older than 1.1.
    UnsupportedHttpVersion,
    /// A required header was missing.
    MissingHeader(&'static str),
    /// A header had an invalid value.
    InvalidHeader(&'static str),
    /// A header that may appear once appeared several times.
    DuplicateHeader(&'static str),
    /// `Sec-WebSocket-Version` was not 13 (answered with 426 and `Sec-WebSocket-Version: 13`).
    UnsupportedVersion,
    /// `Sec-WebSocket-Key` did not decode to 16 bytes.
    InvalidKey,
    /// The server answered with a status other than 101
    /// ([`ClientRequest::parse_response`](crate::handshake::ClientRequest::parse_response);
    /// the [`ClientHandshake`](crate::handshake::ClientHandshake) machine reads the whole
    /// response and reports [`HandshakeError::Rejected`] instead).
    UnexpectedStatus(u16),
    /// The server's `Sec-WebSocket-Accept` did not match the key.
    AcceptMismatch,
    /// The server selected a subprotocol the client did not offer.
    UnofferedSubprotocol,
    /// The server selected an extension the client did not offer, or answered it invalidly.
    UnofferedExtension,
    /// The server's answer to an extension offer breaks the extension's rules (for
    /// permessage-deflate, RFC 7692 section 7.1); the detail says how. The client fails the
    /// connection.
    Extension(&'static str),
    /// The handshake was refused with this response. Server side: the refusal (or plain HTTP
    /// answer) the application sent with
    /// [`ServerHandshake::reject`](crate::handshake::ServerHandshake::reject). Client side:
    /// the response other than 101 the server sent, with its headers (a 401's
    /// `WWW-Authenticate`, a 3xx's `Location`) and body.
    Rejected(alloc::boxed::Box<crate::handshake::HttpResponse>),
    /// The opening handshake did not complete within
    /// [`Config::handshake_timeout`](crate::Config::handshake_timeout).
    Timeout,
    /// The transport reached end of stream before the opening handshake completed.
    ConnectionLost,
    /// A `ws://` or `wss://` URL is invalid (RFC 6455 section 3); the detail says why.
    InvalidUrl(&'static str),
    /// The local application passed a value the handshake cannot send: a header name or value
    /// with CR, LF, NUL or another control character, a subprotocol or extension that is not a
    /// token, or (on the server) a subprotocol or extension the client did not offer. Nothing was
    /// written. A server answers with 500.
    InvalidArgument(&'static str),
}

impl HandshakeError {
    /// The HTTP status a server answers with when a request fails with this error; for
    /// [`HandshakeError::Rejected`], the status of the response.
    ///
    /// ```
    /// use ws_proto::handshake::HttpResponse;
    /// use ws_proto::HandshakeError;
    /// assert_eq!(HandshakeError::UnsupportedVersion.http_status(), 426);
    /// assert_eq!(HandshakeError::HeadersTooLarge.http_status(), 431);
    /// assert_eq!(HandshakeError::InvalidKey.http_status(), 400);
    /// assert_eq!(HandshakeError::from(HttpResponse::new(401)).http_status(), 401);
    /// ```
    pub fn http_status(&self) -> u16 {
        match self {
            HandshakeError::HeadersTooLarge | HandshakeError::TooManyHeaders => 431,
            HandshakeError::UnsupportedVersion => 426,
            HandshakeError::Rejected(response) => response.status(),
            HandshakeError::Timeout => 408,
            HandshakeError::InvalidArgument(_) => 500,
            _ => 400,
        }
    }
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandshakeError::HeadersTooLarge => f.write_str("header block too large"),
            HandshakeError::TooManyHeaders => f.write_str("too many headers"),
            HandshakeError::MalformedHttp(what) => write!(f, "malformed HTTP: {what}"),
            HandshakeError::MethodNotGet => f.write_str("request method is not GET"),
            HandshakeError::UnsupportedHttpVersion => f.write_str("HTTP version older than 1.1"),
            HandshakeError::MissingHeader(h) => write!(f, "missing header {h}"),
            HandshakeError::InvalidHeader(h) => write!(f, "invalid header {h}"),
            HandshakeError::DuplicateHeader(h) => write!(f, "duplicate header {h}"),
            HandshakeError::UnsupportedVersion => f.write_str("Sec-WebSocket-Version is not 13"),
            HandshakeError::InvalidKey => f.write_str("Sec-WebSocket-Key is not 16 bytes"),
            HandshakeError::UnexpectedStatus(s) => write!(f, "unexpected HTTP status {s}"),
            HandshakeError::AcceptMismatch => f.write_str("Sec-WebSocket-Accept does not match"),
            HandshakeError::UnofferedSubprotocol => {
                f.write_str("server chose an unoffered subprotocol")
            }
            HandshakeError::UnofferedExtension => {
                f.write_str("server chose an unoffered extension")
            }
            HandshakeError::Extension(why) => write!(f, "invalid extension response: {why}"),
            HandshakeError::Rejected(response) => {
                let status = response.status();
                write!(
                    f,
                    "refused with HTTP {status} {}",
                    crate::handshake::reason_phrase(status)
                )
            }
            HandshakeError::Timeout => f.write_str("timed out"),
            HandshakeError::ConnectionLost => f.write_str("connection closed by the peer"),
            HandshakeError::InvalidUrl(why) => write!(f, "invalid WebSocket URL: {why}"),
            HandshakeError::InvalidArgument(why) => write!(f, "invalid argument: {why}"),
        }
    }
}

impl core::error::Error for HandshakeError {}

/// The local application misused the API. Nothing was queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendError {
    /// A Close frame was already sent: no more frames may follow (section 5.5.1).
    AlreadyClosing,
    /// The connection is closed.
    Closed,
    /// A control frame payload (ping, pong, close reason with code) exceeds 125 bytes.
    ControlPayloadTooLong,
    /// The close code may not be sent (1005, 1006, 1015 and unassigned codes).
    InvalidCloseCode(u16),
    /// A fragment was sent with no fragmented message in progress, or a new message was
    /// started while one is in progress.
    FragmentOutOfOrder,
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::AlreadyClosing => f.write_str("a close frame was already sent"),
            SendError::Closed => f.write_str("the connection is closed"),
            SendError::ControlPayloadTooLong => f.write_str("control payload exceeds 125 bytes"),
            SendError::InvalidCloseCode(c) => write!(f, "close code {c} may not be sent"),
            SendError::FragmentOutOfOrder => f.write_str("fragment sent out of order"),
        }
    }
}

impl core::error::Error for SendError {}
