//! An HTTP answer that does not upgrade: a refused handshake, or a plain HTTP response.

use alloc::string::String;
use alloc::vec::Vec;

use super::server::{write_error_response, write_reject};
use crate::error::HandshakeError;

/// An HTTP response that refuses a WebSocket request (section 4.2.2, steps 2 to 4), built by
/// the application and written by an adapter with [`Reject::write`]; the connection is then
/// closed.
///
/// The same builder answers a request that is not an upgrade at all (see
/// [`HttpRequest::is_upgrade`](super::HttpRequest::is_upgrade)), for example with a page; the
/// alias [`HttpResponse`] reads better there.
///
/// ```
/// use ws_proto::handshake::{HttpResponse, Reject};
///
/// let mut out = Vec::new();
/// Reject::new(403).body("origin not allowed").write(&mut out)?;
/// assert!(out.starts_with(b"HTTP/1.1 403 Forbidden\r\n"));
///
/// let page = HttpResponse::new(200)
///     .header("Content-Type", "text/html; charset=utf-8")
///     .body("<!doctype html><title>chat</title>");
/// let mut out = Vec::new();
/// page.write(&mut out)?;
/// assert!(out.starts_with(b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"));
/// assert!(out.ends_with(b"\r\n\r\n<!doctype html><title>chat</title>"));
/// # Ok::<(), ws_proto::HandshakeError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// A plain HTTP response to a request that is not a WebSocket upgrade: the [`Reject`] builder
/// under the name that says what it is used for there.
pub type HttpResponse = Reject;

impl Reject {
    /// A response with this status: 400-599 to refuse, 3xx to redirect, 2xx for a plain HTTP
    /// answer. The status is checked by [`Reject::write`].
    pub fn new(status: u16) -> Reject {
        Reject {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Adds a header (for example `WWW-Authenticate` with 401, or `Location` with 302). It is
    /// checked by [`Reject::write`].
    pub fn header(mut self, name: &str, value: &str) -> Reject {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the body. `Content-Length` is added when the response is written.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Reject {
        self.body = body.into();
        self
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The headers added so far, in order.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.headers.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// The body.
    pub fn body_bytes(&self) -> &[u8] {
        &self.body
    }

    /// Appends the response to `out` with [`write_reject`]; the caller then sends it and
    /// closes the connection.
    ///
    /// # Errors
    ///
    /// If the response is invalid (see [`write_reject`]: status outside 200-599, a header with
    /// control characters or one the response writes itself, a body on a 204 or 304), a
    /// `500 Internal Server Error` is appended instead and the [`HandshakeError`] describing
    /// the application's mistake is returned.
    pub fn write(&self, out: &mut Vec<u8>) -> Result<(), HandshakeError> {
        let headers: Vec<(&str, &str)> = self.headers().collect();
        write_reject(self.status, &headers, &self.body, out).inspect_err(|_| {
            write_error_response(&HandshakeError::Rejected(500), out);
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_valid_rejection_is_written_as_built() {
        let reject = Reject::new(401)
            .header("WWW-Authenticate", "Basic realm=\"chat\"")
            .body("who are you?");
        assert_eq!(reject.status(), 401);
        assert_eq!(reject.body_bytes(), b"who are you?");
        let mut expected = Vec::new();
        write_reject(
            401,
            &[("WWW-Authenticate", "Basic realm=\"chat\"")],
            b"who are you?",
            &mut expected,
        )
        .unwrap();
        let mut out = Vec::new();
        reject.write(&mut out).unwrap();
        assert_eq!(out, expected);
    }

    #[test]
    fn an_invalid_response_becomes_a_500() {
        for reject in [
            Reject::new(101),
            Reject::new(200).header("X-A", "1\r\nX-Injected: 2"),
            Reject::new(204).body("no body allowed"),
            Reject::new(200).header("Content-Length", "1"),
        ] {
            let mut out = Vec::new();
            assert!(matches!(
                reject.write(&mut out),
                Err(HandshakeError::InvalidArgument(_))
            ));
            assert!(out.starts_with(b"HTTP/1.1 500 Internal Server Error\r\n"));
        }
    }
}
