//! Any HTTP/1.1 request head, read before it is known to be a WebSocket opening handshake.
//!
//! A WebSocket server often shares its port with plain HTTP: a browser loads the page at
//! `GET /` from the same address it then opens `ws://.../ws` on. [`HttpRequest::parse`] reads
//! the head of any request, [`HttpRequest::is_upgrade`] tells the two apart, and
//! [`HttpRequest::into_websocket`] validates an upgrade as an opening handshake. A plain
//! request is answered with an [`HttpResponse`](super::HttpResponse) and the connection
//! closed. [`ServerHandshake`](super::ServerHandshake) does all of this for a server.

use alloc::string::String;

use super::headers::{any_contains_token, Headers};
use super::http::parse_request;
use super::server::Request;
use super::{Limits, Status};
use crate::error::HandshakeError;

/// The request line and header fields of an HTTP/1.1 request of any method.
///
/// ```
/// use ws_proto::handshake::{HttpRequest, Limits, Status};
///
/// let page = b"GET /index.html?lang=en HTTP/1.1\r\nHost: example.com\r\n\r\n";
/// let Status::Complete((request, consumed)) = HttpRequest::parse(page, Limits::default())?
/// else {
///     unreachable!("the header block is complete");
/// };
/// assert_eq!(consumed, page.len());
/// assert_eq!(request.method(), "GET");
/// assert_eq!(request.path(), "/index.html");
/// assert_eq!(request.query(), Some("lang=en"));
/// assert!(!request.is_upgrade()); // serve it as plain HTTP
///
/// let upgrade = b"GET /ws HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
///                 Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
///                 Sec-WebSocket-Version: 13\r\n\r\n";
/// let Status::Complete((request, _)) = HttpRequest::parse(upgrade, Limits::default())? else {
///     unreachable!("the header block is complete");
/// };
/// assert!(request.is_upgrade());
/// let handshake = request.into_websocket()?; // the opening handshake checks
/// assert_eq!(handshake.path(), "/ws");
/// # Ok::<(), ws_proto::HandshakeError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub(super) method: String,
    pub(super) target: String,
    /// The minor HTTP version: 1 for `HTTP/1.1`.
    pub(super) minor_version: u8,
    pub(super) headers: Headers,
}

impl HttpRequest {
    /// Parses a request head from everything received so far.
    ///
    /// Returns [`Status::Partial`] (consuming nothing) until the header block is complete, then
    /// the request and the length of the header block: `input[consumed..]` is what follows
    /// (for an opening handshake, frames). The header block must fit `limits`, else
    /// [`HandshakeError::HeadersTooLarge`] (also as soon as an incomplete block is longer than
    /// the limit) or [`HandshakeError::TooManyHeaders`], both answered with 431. Only the HTTP
    /// syntax and `limits` are checked ([`HandshakeError::MalformedHttp`], [`HandshakeError::HeadersTooLarge`],
    /// [`HandshakeError::TooManyHeaders`]); a request body, if any, is not read.
    pub fn parse(
        input: &[u8],
        limits: Limits,
    ) -> Result<Status<(HttpRequest, usize)>, HandshakeError> {
        parse_request(input, limits)
    }

    /// The method, as sent (methods are case-sensitive).
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The request target, as sent: usually a path with an optional query.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The path of the target: up to the first `?`, without the scheme and authority of an
    /// absolute URI. A target that is neither (`*`, or `host:port` for `CONNECT`) is returned
    /// whole.
    pub fn path(&self) -> &str {
        let path_and_query = self.path_and_query();
        match path_and_query.split_once('?') {
            // An absolute URI with a query but no path: "http://host?q".
            Some(("", _)) => "/",
            Some((path, _)) => path,
            None => path_and_query,
        }
    }

    /// The query after the first `?`, if there is one (possibly empty).
    pub fn query(&self) -> Option<&str> {
        self.path_and_query()
            .split_once('?')
            .map(|(_, query)| query)
    }

    fn path_and_query(&self) -> &str {
        let target = self
            .target
            .split_once('#')
            .map_or(&*self.target, |(t, _)| t);
        if target.starts_with('/') {
            return target;
        }
        match target.split_once("://") {
            Some((_, rest)) => rest.find(['/', '?']).map_or("/", |start| &rest[start..]),
            None => target,
        }
    }

    /// The minor HTTP version: 1 for `HTTP/1.1`, 0 for `HTTP/1.0`.
    pub fn minor_version(&self) -> u8 {
        self.minor_version
    }

    /// Every header of the request, in the order received.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The value of the first header named `name` (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers.get(name)
    }

    /// Whether the client asks for a WebSocket: an `Upgrade` header lists `websocket` (ASCII
    /// case-insensitive). Such a request is validated with [`HttpRequest::into_websocket`]
    /// and refused with the resulting error if it is not a valid handshake; any other request
    /// is plain HTTP.
    pub fn is_upgrade(&self) -> bool {
        any_contains_token(self.headers.get_all("Upgrade"), "websocket")
    }

    /// Validates this request as a client's opening handshake (RFC 6455 section 4.2.1).
    ///
    /// On error, a server answers with
    /// [`HttpResponse::from_error`](super::HttpResponse::from_error) and closes the connection:
    /// "the server MUST stop processing the client's handshake and return an HTTP response
    /// with an appropriate error code" (section 4.2.1). The checks, in order:
    ///
    /// * method `GET` ([`HandshakeError::MethodNotGet`]), version 1.1 or later
    ///   ([`HandshakeError::UnsupportedHttpVersion`]), and a Request-URI that is a resource
    ///   name or an absolute `http`/`https` URI, without a fragment or userinfo
    ///   ([`HandshakeError::MalformedHttp`]);
    /// * no request body: a `Transfer-Encoding`, or a `Content-Length` other than 0, fails
    ///   with [`HandshakeError::InvalidHeader`] (the bytes after the header block are frames,
    ///   and an intermediary must not read them as a body);
    /// * exactly one non-empty `Host` (from an absolute URI, [`Request::host`] is the URI's
    ///   authority, which takes precedence over `Host`: RFC 9112 section 3.2.2);
    /// * `Upgrade` containing `websocket` and `Connection` containing `Upgrade` (ASCII
    ///   case-insensitive, comma lists allowed);
    /// * a single `Sec-WebSocket-Version: 13`, else [`HandshakeError::UnsupportedVersion`]
    ///   (answered with 426 and `Sec-WebSocket-Version: 13`);
    /// * exactly one `Sec-WebSocket-Key` that base64-decodes to 16 bytes, else
    ///   [`HandshakeError::MissingHeader`], [`HandshakeError::DuplicateHeader`] or
    ///   [`HandshakeError::InvalidKey`];
    /// * at most one `Origin`; `Sec-WebSocket-Protocol` lines holding unique tokens; and
    ///   `Sec-WebSocket-Extensions` lines following section 9.1
    ///   ([`HandshakeError::InvalidHeader`]).
    ///
    /// Other headers are kept but not interpreted ("Unknown header fields are ignored").
    pub fn into_websocket(self) -> Result<Request, HandshakeError> {
        Request::validate(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(input: &[u8]) -> HttpRequest {
        match HttpRequest::parse(input, Limits::default()).unwrap() {
            Status::Complete((request, consumed)) => {
                assert_eq!(consumed, input.len());
                request
            }
            Status::Partial => panic!("expected a complete head"),
        }
    }

    #[test]
    fn plain_requests_of_any_method_are_read() {
        let request = parse(b"POST /form?a=1 HTTP/1.0\r\nHost: h\r\nContent-Length: 3\r\n\r\n");
        assert_eq!(request.method(), "POST");
        assert_eq!(request.target(), "/form?a=1");
        assert_eq!(request.path(), "/form");
        assert_eq!(request.query(), Some("a=1"));
        assert_eq!(request.minor_version(), 0);
        assert_eq!(request.header("content-length"), Some(&b"3"[..]));
        assert!(!request.is_upgrade());
    }

    #[test]
    fn partial_input_consumes_nothing() {
        let input = b"GET / HTTP/1.1\r\nHost: h\r\n\r\n";
        for end in 0..input.len() {
            assert_eq!(
                HttpRequest::parse(&input[..end], Limits::default()),
                Ok(Status::Partial)
            );
        }
    }

    #[test]
    fn paths_of_every_target_form() {
        for (target, path, query) in [
            ("/", "/", None),
            ("/a/b?x=1?y", "/a/b", Some("x=1?y")),
            ("/p?", "/p", Some("")),
            ("http://example.com/chat?x", "/chat", Some("x")),
            ("http://example.com", "/", None),
            ("http://example.com?q", "/", Some("q")),
            ("*", "*", None),
            ("example.com:443", "example.com:443", None),
        ] {
            let input = alloc::format!("OPTIONS {target} HTTP/1.1\r\nHost: h\r\n\r\n");
            let request = parse(input.as_bytes());
            assert_eq!(request.path(), path, "{target}");
            assert_eq!(request.query(), query, "{target}");
        }
    }

    #[test]
    fn upgrade_is_told_apart_by_the_upgrade_header() {
        let plain = parse(b"GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\n\r\n");
        assert!(!plain.is_upgrade());
        // The WebSocket validation of a plain request fails.
        assert_eq!(
            plain.into_websocket(),
            Err(HandshakeError::MissingHeader("Upgrade"))
        );
        let h2c = parse(b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: h2c\r\n\r\n");
        assert!(!h2c.is_upgrade());
        let listed = parse(b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: foo, WebSocket\r\n\r\n");
        assert!(listed.is_upgrade());
        // An upgrade that is not a valid handshake is an error, not plain HTTP.
        assert_eq!(
            listed.into_websocket(),
            Err(HandshakeError::MissingHeader("Connection"))
        );
    }
}
