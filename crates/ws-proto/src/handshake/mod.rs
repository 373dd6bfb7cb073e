//! The opening handshake (RFC 6455 section 4), sans-IO.
//!
//! Nothing here touches a socket: the caller reads bytes from its transport, hands them to a
//! parser, and writes the bytes a writer appended to a caller-owned `Vec<u8>`.
//!
//! # State machines
//!
//! [`ServerHandshake`] and [`ClientHandshake`] run the whole opening handshake with the calling
//! contract of [`Connection`](crate::Connection): bytes and time in (`receive_data`,
//! `receive_eof`, `handle_timeout`), bytes and events out (`poll_transmit`, `poll_event`,
//! `poll_timeout`). They buffer the head under [`Limits`], run
//! [`Config::handshake_timeout`](crate::Config::handshake_timeout), negotiate the subprotocol
//! and permessage-deflate, and turn into the [`Connection`](crate::Connection) with the bytes
//! that followed the head already fed to it. Adapters use them; see [`ServerHandshake`] for an
//! example that drives both ends by hand.
//!
//! # Building blocks
//!
//! The machines are built from parsers and writers that can also be used alone:
//!
//! * client: [`ClientRequest`] writes the request ([`ClientRequest::write_request`]) and
//!   validates a `101` ([`ClientRequest::parse_response`]) into a [`Response`];
//! * server: [`HttpRequest::parse`] reads any request head, [`HttpRequest::into_websocket`]
//!   validates it as an opening handshake into a [`Request`], which is accepted with
//!   [`Request::accept`] and [`Accept::write_response`];
//! * both: [`HttpResponse`] is every other response (a refusal, a plain HTTP answer, an error
//!   response from [`HttpResponse::from_error`], or the refusal a client received).
//!
//! The parsers consume nothing on partial input ([`Status::Partial`]), so the caller can keep
//! appending to one buffer and retry; [`Limits`] bound how much it has to buffer.

mod client;
mod client_handshake;
mod extensions;
mod headers;
mod http;
mod http_request;
mod input;
mod response;
mod server;
mod server_handshake;
mod url;

#[cfg(test)]
mod machine_tests;
#[cfg(test)]
mod proptests;

use alloc::vec::Vec;

use sha1::{Digest, Sha1};

pub use client::{ClientRequest, Response};
pub use client_handshake::ClientHandshake;
pub use extensions::{parse_extensions, write_extensions, ExtensionOffer};
pub use headers::{header_contains_token, Headers};
pub use http_request::HttpRequest;
pub use response::HttpResponse;
pub use server::{Accept, Request};
pub use server_handshake::{ServerEvent, ServerHandshake};
pub use url::Url;

pub(crate) use http::reason_phrase;

/// What a handshake machine's `poll_transmit` does: moves its queued bytes to `out` (swapping
/// buffers when `out` is empty), then reports `Shutdown` once when the transport is to be closed.
fn take_output(
    queued: &mut Vec<u8>,
    shutdown: bool,
    shutdown_reported: &mut bool,
    out: &mut Vec<u8>,
) -> Option<crate::Transmit> {
    if !queued.is_empty() {
        let n = queued.len();
        if out.is_empty() {
            core::mem::swap(out, queued);
        } else {
            out.append(queued);
        }
        return Some(crate::Transmit::Data(n));
    }
    if shutdown && !*shutdown_reported {
        *shutdown_reported = true;
        return Some(crate::Transmit::Shutdown);
    }
    None
}

/// The GUID that RFC 6455 section 1.3 appends to `Sec-WebSocket-Key` before hashing.
pub const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The only protocol version this crate speaks, as sent in `Sec-WebSocket-Version`
/// (RFC 6455 section 4.1, step 9).
pub const VERSION: &str = "13";

/// Computes the `Sec-WebSocket-Accept` value for a `Sec-WebSocket-Key` value.
///
/// The result is the base64 encoding of the SHA-1 hash of `key` followed by [`GUID`]
/// (RFC 6455 section 4.2.2, step 5.4). `key` is the header value as sent, not base64-decoded;
/// the caller strips surrounding whitespace. The 28 bytes returned are ASCII.
///
/// ```
/// use ws_proto::handshake::accept_key;
/// let accept = accept_key(b"dGhlIHNhbXBsZSBub25jZQ==");
/// assert_eq!(&accept, b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
/// ```
pub fn accept_key(key: &[u8]) -> [u8; 28] {
    use base64::Engine as _;

    let mut hasher = Sha1::new();
    hasher.update(key);
    hasher.update(GUID.as_bytes());
    let digest = hasher.finalize();
    let mut out = [0u8; 28];
    // 20 bytes always encode to exactly 28 base64 characters with padding.
    let written = base64::engine::general_purpose::STANDARD
        .encode_slice(digest.as_slice(), &mut out)
        .unwrap_or(0);
    debug_assert_eq!(written, 28);
    out
}

/// The result of feeding possibly incomplete input to a parser.
///
/// As in `httparse`, partial input is not an error: `Partial` means the header block has not
/// ended yet and nothing was consumed, so the caller appends more bytes and calls again with the
/// whole buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status<T> {
    /// The input held a complete message.
    Complete(T),
    /// More input is needed; nothing was consumed.
    Partial,
}

impl<T> Status<T> {
    /// Whether this is [`Status::Complete`].
    pub fn is_complete(&self) -> bool {
        matches!(self, Status::Complete(_))
    }

    /// Whether this is [`Status::Partial`].
    pub fn is_partial(&self) -> bool {
        matches!(self, Status::Partial)
    }

    /// The completed value, or `None` if more input is needed.
    pub fn complete(self) -> Option<T> {
        match self {
            Status::Complete(value) => Some(value),
            Status::Partial => None,
        }
    }
}

/// Bounds on what the opening handshake reads (RFC 6455 section 10.4): the header block, and
/// the body of a refusal a client receives.
///
/// Exceeding a header limit fails with [`HandshakeError::HeadersTooLarge`] or
/// [`HandshakeError::TooManyHeaders`](crate::HandshakeError::TooManyHeaders), which a server
/// answers with `431 Request Header Fields Too Large`.
///
/// ```
/// use ws_proto::handshake::Limits;
/// let limits = Limits::default()
///     .with_max_header_bytes(4096)
///     .with_max_headers(32)
///     .with_max_body_bytes(1024);
/// assert_eq!(limits.max_header_bytes, 4096);
/// assert_eq!(limits.max_headers, 32);
/// assert_eq!(limits.max_body_bytes, 1024);
/// ```
///
/// [`HandshakeError::HeadersTooLarge`]: crate::HandshakeError::HeadersTooLarge
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// The largest header block (request or status line, headers and the blank line) accepted,
    /// in bytes. Default: 16 KiB (16384).
    ///
    /// This bounds what the caller buffers before the handshake completes or fails: as soon as
    /// more bytes than this arrived without the header block ending, parsing fails. A parsed
    /// [`Request`] or [`Response`] owns a copy of at most this many bytes.
    ///
    /// Memory: a [`ServerHandshake`] or [`ClientHandshake`] buffers at most this many bytes
    /// of head, and as much again of bytes that arrive after the head in later reads, before
    /// it is turned into a connection (the rest of the read that completed the head is kept
    /// whole).
    pub max_header_bytes: usize,
    /// The largest number of header lines accepted. Default: 64.
    ///
    /// Each parse call allocates a scratch table of this many entries (32 bytes each on 64-bit
    /// targets, so 2 KiB by default) for the duration of the call.
    pub max_headers: usize,
    /// The largest body of a refusal (a response other than 101) a [`ClientHandshake`] reads
    /// before it fails with [`HandshakeError::Rejected`](crate::HandshakeError::Rejected).
    /// A longer body is cut at this length. Default: 64 KiB (65536).
    ///
    /// Memory: up to this many bytes per client handshake that is being refused.
    pub max_body_bytes: usize,
}

impl Limits {
    /// The default limits: 16 KiB of header bytes, 64 headers and 64 KiB of refusal body.
    pub const DEFAULT: Limits = Limits {
        max_header_bytes: 16 * 1024,
        max_headers: 64,
        max_body_bytes: 64 * 1024,
    };

    /// Returns these limits with [`Limits::max_header_bytes`] replaced.
    pub fn with_max_header_bytes(mut self, bytes: usize) -> Self {
        self.max_header_bytes = bytes;
        self
    }

    /// Returns these limits with [`Limits::max_headers`] replaced.
    pub fn with_max_headers(mut self, headers: usize) -> Self {
        self.max_headers = headers;
        self
    }

    /// Returns these limits with [`Limits::max_body_bytes`] replaced.
    pub fn with_max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

/// `HttpRequest::parse` then `into_websocket`, for tests that check the two together.
#[cfg(test)]
pub(crate) fn parse_websocket(
    input: &[u8],
    limits: Limits,
) -> Result<Status<(Request, usize)>, crate::HandshakeError> {
    match HttpRequest::parse(input, limits)? {
        Status::Partial => Ok(Status::Partial),
        Status::Complete((head, consumed)) => {
            Ok(Status::Complete((head.into_websocket()?, consumed)))
        }
    }
}

#[cfg(test)]
mod section_1_3_opening_handshake {
    use super::*;

    #[test]
    fn accept_key_matches_the_rfc_example() {
        // RFC 6455 section 1.3: "dGhlIHNhbXBsZSBub25jZQ==" gives "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=".
        assert_eq!(
            &accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn accept_key_of_other_keys() {
        // Expected values computed independently (Python hashlib + base64).
        assert_eq!(
            &accept_key(b"AQIDBAUGBwgJCgsMDQ4PEC=="),
            b"OfS0wDaT5NoxF2gqm7Zj2YtetzM="
        );
        assert_eq!(
            &accept_key(b"x3JJHMbDL1EzLkh9GBhXDw=="),
            b"HSmrc0sMlYUkAGmm5OPpG2HaGWk="
        );
    }

    #[test]
    fn status_helpers() {
        let done: Status<u8> = Status::Complete(3);
        assert!(done.is_complete());
        assert!(!done.is_partial());
        assert_eq!(done.complete(), Some(3));
        let partial: Status<u8> = Status::Partial;
        assert!(partial.is_partial());
        assert_eq!(partial.complete(), None);
    }

    #[test]
    fn limits_defaults_are_documented_values() {
        let limits = Limits::default();
        assert_eq!(limits.max_header_bytes, 16384);
        assert_eq!(limits.max_headers, 64);
        assert_eq!(limits.max_body_bytes, 65536);
        assert_eq!(limits, Limits::DEFAULT);
    }
}
