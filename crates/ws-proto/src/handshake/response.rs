//! An HTTP response that does not upgrade: a refused handshake, a plain HTTP answer, or the
//! refusal a client received.

use alloc::boxed::Box;
use alloc::format;
use alloc::vec::Vec;

use super::headers::{check_header, write_header, Headers};
use super::http::reason_phrase;
use super::VERSION;
use crate::error::HandshakeError;

/// Headers [`HttpResponse::write`] produces itself.
const RESERVED_HEADERS: &[&str] = &["Connection", "Content-Length", "Transfer-Encoding"];

/// An HTTP/1.1 response other than `101 Switching Protocols`: status, headers and body.
///
/// The one type for every answer that does not open a WebSocket:
///
/// * a server refusing a handshake (RFC 6455 section 4.2.2, steps 2 to 4: 403 for an unwanted
///   origin, 401 with `WWW-Authenticate`, a 3xx with `Location`), or answering a plain HTTP
///   request, builds one with [`new`](Self::new), [`with_header`](Self::with_header) and
///   [`with_body`](Self::with_body) and passes it to
///   [`ServerHandshake::reject`](super::ServerHandshake::reject) (or writes it itself with
///   [`write`](Self::write));
/// * a failed handshake is answered with [`from_error`](Self::from_error);
/// * a client whose request was refused gets the response it received, body included, in
///   [`HandshakeError::Rejected`].
///
/// Headers are checked when the response is written, not when added.
///
/// ```
/// use ws_proto::handshake::HttpResponse;
///
/// let refusal = HttpResponse::new(401)
///     .with_header("WWW-Authenticate", "Basic realm=\"chat\"")
///     .with_body("log in first");
/// assert_eq!(refusal.status(), 401);
/// assert_eq!(refusal.header("www-authenticate"), Some(&b"Basic realm=\"chat\""[..]));
/// assert_eq!(refusal.body(), b"log in first");
///
/// let mut out = Vec::new();
/// refusal.write(&mut out)?;
/// assert_eq!(
///     out,
///     b"HTTP/1.1 401 Unauthorized\r\n\
///       WWW-Authenticate: Basic realm=\"chat\"\r\n\
///       Content-Length: 12\r\n\
///       Connection: close\r\n\
///       \r\n\
///       log in first"
/// );
/// # Ok::<(), ws_proto::HandshakeError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    status: u16,
    headers: Headers,
    body: Vec<u8>,
}

impl HttpResponse {
    /// A response with this status and no headers or body: 400-599 to refuse, 3xx to redirect,
    /// 2xx for a plain HTTP answer. The status is checked by [`write`](Self::write).
    pub fn new(status: u16) -> HttpResponse {
        HttpResponse {
            status,
            headers: Headers::default(),
            body: Vec::new(),
        }
    }

    /// Adds a header (for example `WWW-Authenticate` with a 401, `Location` with a 302, or
    /// `Content-Type`). It is checked by [`write`](Self::write).
    pub fn with_header(mut self, name: &str, value: &str) -> HttpResponse {
        self.headers.push(name, value.as_bytes());
        self
    }

    /// Sets the body. [`write`](Self::write) adds the `Content-Length`.
    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> HttpResponse {
        self.body = body.into();
        self
    }

    /// The response a server answers a failed handshake with.
    ///
    /// The status is [`HandshakeError::http_status`] (one outside 400 to 599 becomes 500), the
    /// body a one-line plain-text description of `error`. A 426 also carries
    /// `Sec-WebSocket-Version: 13`, the version this server speaks (section 4.2.2, step 4, and
    /// section 4.4), and `Upgrade: websocket`, as HTTP requires of a 426. For
    /// [`HandshakeError::Rejected`] it is the response carried.
    ///
    /// ```
    /// use ws_proto::handshake::HttpResponse;
    /// use ws_proto::HandshakeError;
    ///
    /// let response = HttpResponse::from_error(&HandshakeError::UnsupportedVersion);
    /// assert_eq!(response.status(), 426);
    /// assert_eq!(response.header("Sec-WebSocket-Version"), Some(&b"13"[..]));
    /// assert_eq!(HttpResponse::from_error(&HandshakeError::TooManyHeaders).status(), 431);
    /// ```
    pub fn from_error(error: &HandshakeError) -> HttpResponse {
        if let HandshakeError::Rejected(response) = error {
            return HttpResponse::clone(response);
        }
        let mut status = error.http_status();
        if !(400..=599).contains(&status) {
            status = 500;
        }
        let mut response = HttpResponse::new(status)
            .with_header("Content-Type", "text/plain; charset=utf-8")
            .with_body(format!("{error}\n"));
        if status == 426 {
            // "send an appropriate HTTP error code (such as 426 Upgrade Required) and a
            // |Sec-WebSocket-Version| header field indicating the version(s) the server is
            // capable of understanding" (section 4.2.2, step 4). HTTP adds that a 426 carries
            // `Upgrade` (RFC 7231 section 6.5.15).
            response = response
                .with_header("Sec-WebSocket-Version", VERSION)
                .with_header("Upgrade", "websocket");
        }
        response
    }

    /// A response a client received.
    pub(super) fn received(status: u16, headers: Headers, body: Vec<u8>) -> HttpResponse {
        HttpResponse {
            status,
            headers,
            body,
        }
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Every header, in order: as added, or as received.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The value of the first header named `name` (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers.get(name)
    }

    /// The body: as set, or as received (at most
    /// [`Limits::max_body_bytes`](super::Limits::max_body_bytes) of it).
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// Appends the response to `out`; the caller then sends it and closes the connection.
    ///
    /// The response carries its headers, then `Content-Length` (except for a 204 or 304) and
    /// `Connection: close` (`Connection: Upgrade, close` when it has an `Upgrade` header, as
    /// RFC 7230 section 6.7 requires), then the body.
    ///
    /// # Errors
    ///
    /// If the response is invalid (a status outside 200 to 599, a header name that is not a
    /// token, a value with CR, LF, NUL or another control character, a `Connection`,
    /// `Content-Length` or `Transfer-Encoding` header, or a body on a 204 or 304), a
    /// `500 Internal Server Error` is appended instead and the
    /// [`HandshakeError::InvalidArgument`] describing the mistake is returned.
    pub fn write(&self, out: &mut Vec<u8>) -> Result<(), HandshakeError> {
        if let Err(error) = self.check() {
            // A 500 from `from_error` always passes `check`.
            HttpResponse::from_error(&error).write_unchecked(out);
            return Err(error);
        }
        self.write_unchecked(out);
        Ok(())
    }

    fn check(&self) -> Result<(), HandshakeError> {
        if !(200..=599).contains(&self.status) {
            return Err(HandshakeError::InvalidArgument(
                "response status must be between 200 and 599",
            ));
        }
        if self.is_bodiless() && !self.body.is_empty() {
            return Err(HandshakeError::InvalidArgument(
                "a 204 or 304 response cannot have a body",
            ));
        }
        for (name, value) in self.headers.iter() {
            check_header(name, value, RESERVED_HEADERS)?;
        }
        Ok(())
    }

    fn is_bodiless(&self) -> bool {
        self.status == 204 || self.status == 304
    }

    fn write_unchecked(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(
            format!(
                "HTTP/1.1 {} {}\r\n",
                self.status,
                reason_phrase(self.status)
            )
            .as_bytes(),
        );
        for (name, value) in self.headers.iter() {
            write_header(out, name, value);
        }
        if !self.is_bodiless() {
            write_header(
                out,
                "Content-Length",
                format!("{}", self.body.len()).as_bytes(),
            );
        }
        // "When Upgrade is sent, the sender MUST also send a Connection header field that
        // contains an "upgrade" connection option" (RFC 7230 section 6.7).
        let connection: &[u8] = if self.headers.get("Upgrade").is_some() {
            b"Upgrade, close"
        } else {
            b"close"
        };
        write_header(out, "Connection", connection);
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&self.body);
    }
}

impl From<HttpResponse> for HandshakeError {
    /// The error a refusal is reported with: [`HandshakeError::Rejected`].
    fn from(response: HttpResponse) -> HandshakeError {
        HandshakeError::Rejected(Box::new(response))
    }
}

#[cfg(test)]
mod writing_a_refusal {
    use super::*;
    use alloc::string::String;

    fn text(response: &HttpResponse) -> String {
        let mut out = Vec::new();
        response.write(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_refusal_is_a_complete_response_that_closes() {
        let response = HttpResponse::new(404)
            .with_header("Content-Type", "text/plain")
            .with_header("X-Trace", "abc")
            .with_body("no such endpoint\n");
        assert_eq!(
            text(&response),
            "HTTP/1.1 404 Not Found\r\n\
             Content-Type: text/plain\r\n\
             X-Trace: abc\r\n\
             Content-Length: 17\r\n\
             Connection: close\r\n\
             \r\n\
             no such endpoint\n"
        );
    }

    #[test]
    fn redirect_and_empty_bodies() {
        let response = HttpResponse::new(302).with_header("Location", "ws://elsewhere/");
        assert_eq!(
            text(&response),
            "HTTP/1.1 302 Found\r\n\
             Location: ws://elsewhere/\r\n\
             Content-Length: 0\r\n\
             Connection: close\r\n\
             \r\n"
        );
        assert_eq!(
            text(&HttpResponse::new(204)),
            "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n"
        );
    }

    #[test]
    fn an_invalid_response_becomes_a_500() {
        for response in [
            HttpResponse::new(0),
            HttpResponse::new(101),
            HttpResponse::new(199),
            HttpResponse::new(600),
            HttpResponse::new(200).with_header("X-A", "1\r\nX-Injected: 2"),
            HttpResponse::new(200).with_header("X-A", "a\0"),
            HttpResponse::new(200).with_header("Bad Name", "v"),
            HttpResponse::new(200).with_header("Content-Length", "1"),
            HttpResponse::new(403).with_header("connection", "keep-alive"),
            HttpResponse::new(403).with_header("Transfer-Encoding", "chunked"),
            HttpResponse::new(204).with_body("no body allowed"),
            HttpResponse::new(304).with_body("body"),
        ] {
            let mut out = Vec::new();
            let error = response.write(&mut out).unwrap_err();
            assert!(
                matches!(error, HandshakeError::InvalidArgument(_)),
                "{response:?}"
            );
            let text = String::from_utf8(out).unwrap();
            assert!(text.starts_with("HTTP/1.1 500 Internal Server Error\r\n"));
            assert!(text.ends_with(&format!("\r\n\r\n{error}\n")));
        }
    }

    #[test]
    fn write_appends() {
        let mut out = Vec::from(&b"x"[..]);
        HttpResponse::new(200).write(&mut out).unwrap();
        assert!(out.starts_with(b"xHTTP/1.1 200 OK\r\n"));
    }
}

#[cfg(test)]
mod answering_a_failed_handshake {
    use super::*;
    use alloc::string::String;

    fn answer(error: &HandshakeError) -> String {
        let mut out = Vec::new();
        HttpResponse::from_error(error).write(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn the_426_response_names_version_13() {
        // Section 4.4: "If the server doesn't support the requested version, it MUST respond
        // with a |Sec-WebSocket-Version| header field ... containing all versions it is
        // willing to use."
        let body = "Sec-WebSocket-Version is not 13\n";
        let expected = format!(
            "HTTP/1.1 426 Upgrade Required\r\n\
             Content-Type: text/plain; charset=utf-8\r\n\
             Sec-WebSocket-Version: 13\r\n\
             Upgrade: websocket\r\n\
             Content-Length: {}\r\n\
             Connection: Upgrade, close\r\n\
             \r\n\
             {body}",
            body.len()
        );
        assert_eq!(answer(&HandshakeError::UnsupportedVersion), expected);
    }

    #[test]
    fn error_responses_use_the_error_status() {
        for (error, status_line) in [
            (HandshakeError::MethodNotGet, "HTTP/1.1 400 Bad Request\r\n"),
            (HandshakeError::InvalidKey, "HTTP/1.1 400 Bad Request\r\n"),
            (
                HandshakeError::MissingHeader("Host"),
                "HTTP/1.1 400 Bad Request\r\n",
            ),
            (
                HandshakeError::HeadersTooLarge,
                "HTTP/1.1 431 Request Header Fields Too Large\r\n",
            ),
            (
                HandshakeError::TooManyHeaders,
                "HTTP/1.1 431 Request Header Fields Too Large\r\n",
            ),
            (
                HandshakeError::InvalidArgument("x"),
                "HTTP/1.1 500 Internal Server Error\r\n",
            ),
            (HandshakeError::Timeout, "HTTP/1.1 408 Request Timeout\r\n"),
        ] {
            let text = answer(&error);
            assert!(text.starts_with(status_line), "{error:?}: {text}");
            assert!(text.contains("\r\nConnection: close\r\n"));
            assert!(!text.contains("Sec-WebSocket-Version"));
            let (head, body) = text.split_once("\r\n\r\n").unwrap();
            assert_eq!(body, format!("{error}\n"));
            assert!(head.contains(&format!("\r\nContent-Length: {}", body.len())));
        }
    }

    #[test]
    fn a_rejection_is_answered_with_its_own_response() {
        let refusal = HttpResponse::new(403).with_body("origin not allowed");
        let error = HandshakeError::from(refusal.clone());
        assert_eq!(error.http_status(), 403);
        assert_eq!(HttpResponse::from_error(&error), refusal);
    }

    #[test]
    fn an_error_response_is_parseable_http() {
        let mut out = Vec::new();
        HttpResponse::from_error(&HandshakeError::MethodNotGet)
            .write(&mut out)
            .unwrap();
        let mut slots = [httparse::EMPTY_HEADER; 8];
        let mut response = httparse::Response::new(&mut slots);
        let consumed = match response.parse(&out).unwrap() {
            httparse::Status::Complete(n) => n,
            httparse::Status::Partial => panic!("incomplete response"),
        };
        assert_eq!(response.code, Some(400));
        assert_eq!(response.reason, Some("Bad Request"));
        assert_eq!(&out[consumed..], b"request method is not GET\n");
    }
}
