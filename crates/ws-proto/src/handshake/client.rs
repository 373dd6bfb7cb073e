//! The client side of the opening handshake (RFC 6455 section 4.1): writing the request and
//! validating the server's response.

use alloc::string::String;
use alloc::vec::Vec;

use base64::Engine as _;

use super::extensions::{parse_extensions, write_extensions, ExtensionOffer};
use super::headers::{
    check_header, check_value, is_token, require_token, single, trim_ows, write_header, Headers,
};
use super::http::parse_response;
use super::url::Url;
use super::{accept_key, Limits, Status, VERSION};
use crate::error::HandshakeError;

/// Headers the request writer produces itself; [`ClientRequest::header`] refuses them.
const RESERVED_REQUEST_HEADERS: &[&str] = &[
    "Host",
    "Upgrade",
    "Connection",
    "Sec-WebSocket-Key",
    "Sec-WebSocket-Version",
    "Sec-WebSocket-Protocol",
    "Sec-WebSocket-Extensions",
    "Origin",
];

/// A client's opening handshake: builds the HTTP Upgrade request and validates the response.
///
/// [`ClientHandshake`](super::ClientHandshake) sends one and validates the response as a state
/// machine; this type can also be used alone, as below.
///
/// The caller supplies the 16-byte nonce: "The nonce MUST be selected randomly for each
/// connection" (RFC 6455 section 4.1, step 7), and this crate has no source of randomness.
/// Every builder method checks its input and fails with
/// [`HandshakeError::InvalidArgument`] instead of producing a request a server would misread.
///
/// The example is the handshake of RFC 6455 section 1.3, byte for byte:
///
/// ```
/// use ws_proto::handshake::{ClientRequest, Limits, Status, Url};
///
/// let url = Url::parse("ws://server.example.com/chat")?;
/// // A real client draws the nonce from a random number generator.
/// let client = ClientRequest::new(&url, *b"the sample nonce")
///     .origin("http://example.com")?
///     .protocol("chat")?
///     .protocol("superchat")?;
/// assert_eq!(client.key(), "dGhlIHNhbXBsZSBub25jZQ==");
///
/// let mut request = Vec::new();
/// client.write_request(&mut request);
/// assert_eq!(
///     request,
///     b"GET /chat HTTP/1.1\r\n\
///       Host: server.example.com\r\n\
///       Upgrade: websocket\r\n\
///       Connection: Upgrade\r\n\
///       Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
///       Sec-WebSocket-Version: 13\r\n\
///       Sec-WebSocket-Protocol: chat, superchat\r\n\
///       Origin: http://example.com\r\n\
///       \r\n"
/// );
///
/// // The server's answer, followed by the first frame (an unmasked "Hi" text frame).
/// let received = b"HTTP/1.1 101 Switching Protocols\r\n\
///                  Upgrade: websocket\r\n\
///                  Connection: Upgrade\r\n\
///                  Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
///                  Sec-WebSocket-Protocol: chat\r\n\
///                  \r\n\
///                  \x81\x02Hi";
/// // Partial input consumes nothing: keep reading and call again with everything so far.
/// assert_eq!(client.parse_response(&received[..20], Limits::default())?, Status::Partial);
///
/// let Status::Complete((response, consumed)) =
///     client.parse_response(received, Limits::default())?
/// else {
///     unreachable!("the header block is complete");
/// };
/// assert_eq!(response.status(), 101);
/// assert_eq!(response.protocol(), Some("chat"));
/// assert!(response.extensions().is_empty());
/// // Everything after the header block belongs to the frame layer.
/// assert_eq!(&received[consumed..], b"\x81\x02Hi");
/// # Ok::<(), ws_proto::HandshakeError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRequest {
    host: String,
    resource: String,
    key: String,
    origin: Option<String>,
    protocols: Vec<String>,
    extensions: Vec<ExtensionOffer>,
    headers: Vec<(String, String)>,
}

impl ClientRequest {
    /// A handshake for a parsed URL: its /resource name/ becomes the Request-URI and
    /// [`Url::host_header`] the `Host` header.
    pub fn new(url: &Url, nonce: [u8; 16]) -> Self {
        ClientRequest::with_key(url.host_header(), String::from(url.path_and_query()), nonce)
    }

    /// A handshake from a `Host` header value (`host`, or `host:port` for a non-default port)
    /// and a resource name (a path starting with `/`, optionally followed by `?query`).
    ///
    /// Both must be non-empty printable ASCII without spaces, and the resource may not hold a
    /// fragment (`#`, RFC 6455 section 3); otherwise this fails with
    /// [`HandshakeError::InvalidArgument`]. Prefer [`ClientRequest::new`] with a [`Url`].
    pub fn from_parts(host: &str, resource: &str, nonce: [u8; 16]) -> Result<Self, HandshakeError> {
        if host.is_empty() || !host.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(HandshakeError::InvalidArgument(
                "host must be printable ASCII without spaces",
            ));
        }
        if !resource.starts_with('/')
            || resource.contains('#')
            || !resource.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(HandshakeError::InvalidArgument(
                "resource must start with '/' and be printable ASCII without spaces or '#'",
            ));
        }
        Ok(ClientRequest::with_key(
            String::from(host),
            String::from(resource),
            nonce,
        ))
    }

    fn with_key(host: String, resource: String, nonce: [u8; 16]) -> Self {
        ClientRequest {
            host,
            resource,
            // "a nonce consisting of a randomly selected 16-byte value that has been
            // base64-encoded" (section 4.1, step 7).
            key: base64::engine::general_purpose::STANDARD.encode(nonce),
            origin: None,
            protocols: Vec::new(),
            extensions: Vec::new(),
            headers: Vec::new(),
        }
    }

    /// Sends an `Origin` header with this value: the ASCII serialization of the origin of the
    /// code opening the connection (RFC 6455 section 4.1, step 8; browsers must send it).
    ///
    /// Fails with [`HandshakeError::InvalidArgument`] if the value holds control characters.
    pub fn origin(mut self, origin: &str) -> Result<Self, HandshakeError> {
        check_value(origin.as_bytes())?;
        self.origin = Some(String::from(origin));
        Ok(self)
    }

    /// Offers one more subprotocol; offers are sent in the order added, most preferred first.
    ///
    /// Fails with [`HandshakeError::InvalidArgument`] if `protocol` is not a token or was
    /// already offered: the elements "MUST be non-empty strings with characters in the range
    /// U+0021 to U+007E not including separator characters ... and MUST all be unique strings"
    /// (section 4.1, step 10).
    pub fn protocol(mut self, protocol: &str) -> Result<Self, HandshakeError> {
        if !is_token(protocol.as_bytes()) {
            return Err(HandshakeError::InvalidArgument(
                "subprotocol is not a token",
            ));
        }
        if self.protocols.iter().any(|p| p == protocol) {
            return Err(HandshakeError::InvalidArgument("subprotocol offered twice"));
        }
        self.protocols.push(String::from(protocol));
        Ok(self)
    }

    /// Offers one more extension; offers are sent in the order added, most preferred first
    /// (section 9.1).
    ///
    /// Fails with [`HandshakeError::InvalidArgument`] if the offer does not pass
    /// [`ExtensionOffer::validate`].
    pub fn extension(mut self, offer: ExtensionOffer) -> Result<Self, HandshakeError> {
        offer.validate()?;
        self.extensions.push(offer);
        Ok(self)
    }

    /// Adds another header, for example `Cookie` or `Authorization` (section 4.1, step 12).
    ///
    /// Fails with [`HandshakeError::InvalidArgument`] if the name is not a token, the value
    /// holds CR, LF, NUL or another control character, or the name is one the handshake writes
    /// itself (`Host`, `Upgrade`, `Connection`, `Origin`, `Sec-WebSocket-*`).
    pub fn header(mut self, name: &str, value: &str) -> Result<Self, HandshakeError> {
        check_header(name, value.as_bytes(), RESERVED_REQUEST_HEADERS)?;
        self.headers.push((String::from(name), String::from(value)));
        Ok(self)
    }

    /// The `Sec-WebSocket-Key` value: the base64-encoded nonce.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The subprotocols offered, most preferred first.
    pub fn offered_protocols(&self) -> &[String] {
        &self.protocols
    }

    /// The extensions offered, most preferred first.
    pub fn offered_extensions(&self) -> &[ExtensionOffer] {
        &self.extensions
    }

    /// Appends the HTTP/1.1 GET request to `out`.
    ///
    /// Send all of it, then call [`ClientRequest::parse_response`] with the bytes received.
    /// "Once the client's opening handshake has been sent, the client MUST wait for a response
    /// from the server before sending any further data" (section 4.1).
    pub fn write_request(&self, out: &mut Vec<u8>) {
        // "The method of the request MUST be GET, and the HTTP version MUST be at least 1.1."
        // "The "Request-URI" part of the request MUST match the /resource name/."
        out.extend_from_slice(b"GET ");
        out.extend_from_slice(self.resource.as_bytes());
        out.extend_from_slice(b" HTTP/1.1\r\n");
        write_header(out, "Host", self.host.as_bytes());
        write_header(out, "Upgrade", b"websocket");
        write_header(out, "Connection", b"Upgrade");
        write_header(out, "Sec-WebSocket-Key", self.key.as_bytes());
        write_header(out, "Sec-WebSocket-Version", VERSION.as_bytes());
        if !self.protocols.is_empty() {
            out.extend_from_slice(b"Sec-WebSocket-Protocol: ");
            for (i, protocol) in self.protocols.iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(b", ");
                }
                out.extend_from_slice(protocol.as_bytes());
            }
            out.extend_from_slice(b"\r\n");
        }
        if !self.extensions.is_empty() {
            out.extend_from_slice(b"Sec-WebSocket-Extensions: ");
            // Every offer passed `validate` when it was added.
            let _ = write_extensions(&self.extensions, out);
            out.extend_from_slice(b"\r\n");
        }
        if let Some(origin) = &self.origin {
            write_header(out, "Origin", origin.as_bytes());
        }
        for (name, value) in &self.headers {
            write_header(out, name, value.as_bytes());
        }
        out.extend_from_slice(b"\r\n");
    }

    /// Parses and validates the server's response from everything received so far.
    ///
    /// Returns [`Status::Partial`] (consuming nothing) until the header block is complete, then
    /// the validated [`Response`] and the length of the header block: `input[consumed..]`
    /// already belongs to the frame layer. Fails if the header block exceeds `limits`, or if
    /// the response does not complete the handshake (section 4.1: "the client MUST _Fail the
    /// WebSocket Connection_"):
    ///
    /// * a status other than 101: [`HandshakeError::UnexpectedStatus`] (the caller may handle
    ///   it per HTTP, for example authentication or redirects);
    /// * an HTTP version before 1.1: [`HandshakeError::UnsupportedHttpVersion`];
    /// * no `Upgrade` header containing `websocket`, or no `Connection` header containing
    ///   `Upgrade` (ASCII case-insensitive, comma lists allowed):
    ///   [`HandshakeError::MissingHeader`] or [`HandshakeError::InvalidHeader`];
    /// * a missing or repeated `Sec-WebSocket-Accept`, or one that is not the expected value
    ///   (surrounding whitespace ignored): [`HandshakeError::MissingHeader`],
    ///   [`HandshakeError::DuplicateHeader`], [`HandshakeError::AcceptMismatch`];
    /// * a malformed `Sec-WebSocket-Extensions` ([`HandshakeError::InvalidHeader`]) or one
    ///   naming an extension that was not offered ([`HandshakeError::UnofferedExtension`]);
    /// * a `Sec-WebSocket-Protocol` that is repeated, is not a single token, or names a
    ///   subprotocol that was not offered (including when none was):
    ///   [`HandshakeError::DuplicateHeader`], [`HandshakeError::InvalidHeader`],
    ///   [`HandshakeError::UnofferedSubprotocol`].
    ///
    /// Whether the agreed extension parameters are acceptable is for each extension to decide.
    pub fn parse_response(
        &self,
        input: &[u8],
        limits: Limits,
    ) -> Result<Status<(Response, usize)>, HandshakeError> {
        let (head, consumed) = match parse_response(input, limits)? {
            Status::Partial => return Ok(Status::Partial),
            Status::Complete(complete) => complete,
        };
        // 1. "If the status code received from the server is not 101, the client handles the
        // response per HTTP [RFC2616] procedures."
        if head.code != 101 {
            return Err(HandshakeError::UnexpectedStatus(head.code));
        }
        if head.minor_version < 1 {
            return Err(HandshakeError::UnsupportedHttpVersion);
        }
        let headers = head.headers;

        // 2. "If the response lacks an |Upgrade| header field or the |Upgrade| header field
        // contains a value that is not an ASCII case-insensitive match for the value
        // "websocket", the client MUST _Fail the WebSocket Connection_."
        require_token(&headers, "Upgrade", "websocket")?;
        // 3. "If the response lacks a |Connection| header field or the |Connection| header
        // field doesn't contain a token that is an ASCII case-insensitive match for the value
        // "Upgrade", the client MUST _Fail the WebSocket Connection_."
        require_token(&headers, "Connection", "upgrade")?;

        // 4. "If the response lacks a |Sec-WebSocket-Accept| header field or the
        // |Sec-WebSocket-Accept| contains a value other than the base64-encoded SHA-1 of ...
        // but ignoring any leading and trailing whitespace, the client MUST _Fail the
        // WebSocket Connection_." It "MUST NOT appear more than once" (section 11.3.3).
        let accept = single(&headers, "Sec-WebSocket-Accept")?
            .ok_or(HandshakeError::MissingHeader("Sec-WebSocket-Accept"))?;
        if trim_ows(accept) != accept_key(self.key.as_bytes()) {
            return Err(HandshakeError::AcceptMismatch);
        }

        // 5. "If the response includes a |Sec-WebSocket-Extensions| header field and this
        // header field indicates the use of an extension that was not present in the client's
        // handshake ..., the client MUST _Fail the WebSocket Connection_."
        let extensions = parse_extensions(headers.get_all("Sec-WebSocket-Extensions"))?;
        for agreed in &extensions {
            if !self
                .extensions
                .iter()
                .any(|offer| offer.name == agreed.name)
            {
                return Err(HandshakeError::UnofferedExtension);
            }
        }

        // 6. "If the response includes a |Sec-WebSocket-Protocol| header field and this header
        // field indicates the use of a subprotocol that was not present in the client's
        // handshake ..., the client MUST _Fail the WebSocket Connection_." The server sends a
        // single token (section 4.3, Sec-WebSocket-Protocol-Server) and the header "MUST NOT
        // appear more than once in an HTTP response" (section 11.3.4).
        let protocol = match single(&headers, "Sec-WebSocket-Protocol")? {
            None => None,
            Some(value) => {
                let value = trim_ows(value);
                if !is_token(value) {
                    return Err(HandshakeError::InvalidHeader("Sec-WebSocket-Protocol"));
                }
                let offered = self.protocols.iter().find(|p| p.as_bytes() == value);
                Some(offered.ok_or(HandshakeError::UnofferedSubprotocol)?.clone())
            }
        };

        let response = Response {
            status: head.code,
            headers,
            protocol,
            extensions,
        };
        Ok(Status::Complete((response, consumed)))
    }
}

/// A server's validated `101 Switching Protocols` response.
///
/// Returned by [`ClientRequest::parse_response`]: the connection is established, with the
/// subprotocol and extensions in use that it reports (RFC 6455 section 4.1, "_Subprotocol In
/// Use_" and "_Extensions In Use_").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    status: u16,
    headers: Headers,
    protocol: Option<String>,
    extensions: Vec<ExtensionOffer>,
}

impl Response {
    /// The status code (always 101 for a validated response).
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Every header of the response, for example `Set-Cookie`.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The value of the first header named `name` (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers.get(name)
    }

    /// The subprotocol the server selected, one of those offered, or `None`.
    pub fn protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    /// The extensions the server agreed to, in the order they apply to the data
    /// (section 9.1); each names an offered extension.
    pub fn extensions(&self) -> &[ExtensionOffer] {
        &self.extensions
    }
}

#[cfg(test)]
mod tests_support {
    use super::*;

    pub(super) const NONCE: [u8; 16] = *b"the sample nonce";
    pub(super) const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

    pub(super) fn client() -> ClientRequest {
        ClientRequest::new(&Url::parse("ws://server.example.com/chat").unwrap(), NONCE)
    }

    /// A response made of the 101 status line, `lines` and the blank line.
    pub(super) fn response(lines: &[&str]) -> Vec<u8> {
        let mut out = Vec::from(&b"HTTP/1.1 101 Switching Protocols\r\n"[..]);
        for line in lines {
            out.extend_from_slice(line.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out
    }

    pub(super) fn valid_lines() -> Vec<&'static str> {
        alloc::vec![
            "Upgrade: websocket",
            "Connection: Upgrade",
            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
        ]
    }

    pub(super) fn parse(client: &ClientRequest, input: &[u8]) -> Result<Response, HandshakeError> {
        match client.parse_response(input, Limits::default())? {
            Status::Complete((response, consumed)) => {
                assert_eq!(consumed, input.len());
                Ok(response)
            }
            Status::Partial => panic!("expected a complete response"),
        }
    }
}

#[cfg(test)]
mod section_4_1_client_requirements {
    use super::tests_support::*;
    use super::*;

    fn request(client: &ClientRequest) -> String {
        let mut out = Vec::new();
        client.write_request(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn minimal_request_is_exact() {
        assert_eq!(
            request(&client()),
            "GET /chat HTTP/1.1\r\n\
             Host: server.example.com\r\n\
             Upgrade: websocket\r\n\
             Connection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Sec-WebSocket-Version: 13\r\n\
             \r\n"
        );
    }

    #[test]
    fn full_request_is_exact_and_in_order() {
        let client = client()
            .protocol("chat")
            .unwrap()
            .protocol("superchat")
            .unwrap()
            .extension(
                ExtensionOffer::new("permessage-deflate")
                    .with_param("client_max_window_bits", None),
            )
            .unwrap()
            .extension(ExtensionOffer::new("x-foo"))
            .unwrap()
            .origin("http://example.com")
            .unwrap()
            .header("Cookie", "a=b")
            .unwrap()
            .header("Authorization", "Basic dTpw")
            .unwrap();
        assert_eq!(
            request(&client),
            "GET /chat HTTP/1.1\r\n\
             Host: server.example.com\r\n\
             Upgrade: websocket\r\n\
             Connection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Sec-WebSocket-Version: 13\r\n\
             Sec-WebSocket-Protocol: chat, superchat\r\n\
             Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits, x-foo\r\n\
             Origin: http://example.com\r\n\
             Cookie: a=b\r\n\
             Authorization: Basic dTpw\r\n\
             \r\n"
        );
        assert_eq!(client.offered_protocols(), ["chat", "superchat"]);
        assert_eq!(client.offered_extensions().len(), 2);
    }

    #[test]
    fn request_uri_is_the_resource_name_and_host_carries_non_default_ports() {
        // Step 3: the Request-URI matches the /resource name/; step 4: Host has ":" port only
        // when not using the default port.
        let url = Url::parse("wss://example.com:8443?x=1").unwrap();
        let text = request(&ClientRequest::new(&url, NONCE));
        assert!(text.starts_with("GET /?x=1 HTTP/1.1\r\nHost: example.com:8443\r\n"));
        let url = Url::parse("wss://example.com:443/a").unwrap();
        let text = request(&ClientRequest::new(&url, NONCE));
        assert!(text.starts_with("GET /a HTTP/1.1\r\nHost: example.com\r\n"));
        let url = Url::parse("ws://[::1]:9001/").unwrap();
        let text = request(&ClientRequest::new(&url, NONCE));
        assert!(text.contains("\r\nHost: [::1]:9001\r\n"));
    }

    #[test]
    fn key_is_the_base64_nonce() {
        // Step 7's example: bytes 0x01..=0x10. (The RFC prints "AQIDBAUGBwgJCgsMDQ4PEC==",
        // whose last character carries non-zero padding bits; the canonical form ends "EA==".)
        let nonce: [u8; 16] = core::array::from_fn(|i| i as u8 + 1);
        let counting = ClientRequest::from_parts("h", "/", nonce).unwrap();
        assert_eq!(counting.key(), "AQIDBAUGBwgJCgsMDQ4PEA==");
        assert_eq!(client().key(), "dGhlIHNhbXBsZSBub25jZQ==");
    }

    #[test]
    fn from_parts_validates_host_and_resource() {
        let ok = ClientRequest::from_parts("example.com:81", "/a?b=c", NONCE).unwrap();
        assert!(request(&ok).starts_with("GET /a?b=c HTTP/1.1\r\nHost: example.com:81\r\n"));
        for (host, resource) in [
            ("", "/"),
            ("a b", "/"),
            ("a\r\nX: y", "/"),
            ("h", ""),
            ("h", "chat"),
            ("h", "/a b"),
            ("h", "/a#frag"),
            ("h", "/a\r\n"),
            ("h", "/\u{e9}"),
        ] {
            assert!(
                matches!(
                    ClientRequest::from_parts(host, resource, NONCE),
                    Err(HandshakeError::InvalidArgument(_))
                ),
                "{host:?} {resource:?}"
            );
        }
    }

    #[test]
    fn subprotocols_must_be_unique_tokens() {
        // Step 10: non-empty, U+0021 to U+007E without separators, unique.
        for bad in ["", "a b", "a,b", "a/b", "caf\u{e9}", "x\r\n"] {
            assert!(matches!(
                client().protocol(bad),
                Err(HandshakeError::InvalidArgument(_))
            ));
        }
        assert!(matches!(
            client().protocol("chat").unwrap().protocol("chat"),
            Err(HandshakeError::InvalidArgument(_))
        ));
    }

    #[test]
    fn invalid_extension_offers_are_refused() {
        assert!(matches!(
            client().extension(ExtensionOffer::new("a b")),
            Err(HandshakeError::InvalidArgument(_))
        ));
        assert!(matches!(
            client().extension(ExtensionOffer::new("x").with_param("p", Some("\"q\""))),
            Err(HandshakeError::InvalidArgument(_))
        ));
    }

    #[test]
    fn header_injection_is_refused_at_build_time() {
        for (name, value) in [
            ("X-A", "1\r\nX-Injected: 2"),
            ("X-A", "1\n"),
            ("X-A", "1\r"),
            ("X-A", "\0"),
            ("X A", "1"),
            ("X-A\r\n", "1"),
            ("X\0", "1"),
            ("", "1"),
        ] {
            assert!(matches!(
                client().header(name, value),
                Err(HandshakeError::InvalidArgument(_))
            ));
        }
        assert!(matches!(
            client().origin("http://a\r\nX: 1"),
            Err(HandshakeError::InvalidArgument(_))
        ));
    }

    #[test]
    fn handshake_headers_cannot_be_added_twice() {
        for name in [
            "host",
            "Upgrade",
            "CONNECTION",
            "Sec-WebSocket-Key",
            "sec-websocket-version",
            "Sec-WebSocket-Protocol",
            "Sec-WebSocket-Extensions",
            "Origin",
        ] {
            assert!(matches!(
                client().header(name, "x"),
                Err(HandshakeError::InvalidArgument(_))
            ));
        }
    }

    #[test]
    fn write_request_appends() {
        let mut out = Vec::from(&b"already queued"[..]);
        client().write_request(&mut out);
        assert!(out.starts_with(b"already queuedGET /chat HTTP/1.1\r\n"));
        assert!(out.ends_with(b"\r\n\r\n"));
    }
}

#[cfg(test)]
mod section_4_1_validating_the_response {
    use super::tests_support::*;
    use super::*;

    #[test]
    fn rfc_response_is_accepted() {
        let response = parse(&client(), &response(&valid_lines())).unwrap();
        assert_eq!(response.status(), 101);
        assert_eq!(response.protocol(), None);
        assert!(response.extensions().is_empty());
        assert_eq!(
            response.header("sec-websocket-accept"),
            Some(ACCEPT.as_bytes())
        );
        assert_eq!(response.headers().len(), 3);
    }

    #[test]
    fn status_other_than_101_fails_with_the_code() {
        // Step 1.
        for (status, line) in [
            (200, "HTTP/1.1 200 OK"),
            (301, "HTTP/1.1 301 Moved Permanently"),
            (401, "HTTP/1.1 401 Unauthorized"),
            (426, "HTTP/1.1 426 Upgrade Required"),
            (100, "HTTP/1.1 100 Continue"),
        ] {
            let input = alloc::format!("{line}\r\nUpgrade: websocket\r\n\r\n");
            assert_eq!(
                client().parse_response(input.as_bytes(), Limits::default()),
                Err(HandshakeError::UnexpectedStatus(status))
            );
        }
    }

    #[test]
    fn http_1_0_is_refused() {
        let mut input = response(&valid_lines());
        input[7] = b'0';
        assert!(input.starts_with(b"HTTP/1.0 101"));
        assert_eq!(
            parse(&client(), &input),
            Err(HandshakeError::UnsupportedHttpVersion)
        );
    }

    #[test]
    fn upgrade_must_contain_websocket() {
        // Step 2.
        let accept = "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
        let missing = response(&["Connection: Upgrade", accept]);
        assert_eq!(
            parse(&client(), &missing),
            Err(HandshakeError::MissingHeader("Upgrade"))
        );
        for bad in [
            "Upgrade: h2c",
            "Upgrade: websockets",
            "Upgrade: ",
            "Upgrade: web socket",
        ] {
            let input = response(&[bad, "Connection: Upgrade", accept]);
            assert_eq!(
                parse(&client(), &input),
                Err(HandshakeError::InvalidHeader("Upgrade")),
                "{bad}"
            );
        }
        for good in [
            "Upgrade: WebSocket",
            "Upgrade: WEBSOCKET",
            "Upgrade: h2c, websocket",
        ] {
            let input = response(&[good, "Connection: Upgrade", accept]);
            assert!(parse(&client(), &input).is_ok(), "{good}");
        }
    }

    #[test]
    fn connection_must_contain_upgrade() {
        // Step 3.
        let accept = "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
        let missing = response(&["Upgrade: websocket", accept]);
        assert_eq!(
            parse(&client(), &missing),
            Err(HandshakeError::MissingHeader("Connection"))
        );
        for bad in [
            "Connection: keep-alive",
            "Connection: upgraded",
            "Connection: close",
        ] {
            let input = response(&["Upgrade: websocket", bad, accept]);
            assert_eq!(
                parse(&client(), &input),
                Err(HandshakeError::InvalidHeader("Connection")),
                "{bad}"
            );
        }
        for good in [
            "Connection: upgrade",
            "Connection: keep-alive, Upgrade",
            "Connection: UPGRADE,keep-alive",
        ] {
            let input = response(&["Upgrade: websocket", good, accept]);
            assert!(parse(&client(), &input).is_ok(), "{good}");
        }
        // Split across two lines.
        let input = response(&[
            "Upgrade: websocket",
            "Connection: keep-alive",
            "Connection: Upgrade",
            accept,
        ]);
        assert!(parse(&client(), &input).is_ok());
    }

    #[test]
    fn accept_must_match_the_key() {
        // Step 4.
        let missing = response(&["Upgrade: websocket", "Connection: Upgrade"]);
        assert_eq!(
            parse(&client(), &missing),
            Err(HandshakeError::MissingHeader("Sec-WebSocket-Accept"))
        );
        for bad in [
            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo",
            "Sec-WebSocket-Accept: S3PPLMBITXAQ9KYGZZHZRBK+XOO=",
            "Sec-WebSocket-Accept: dGhlIHNhbXBsZSBub25jZQ==",
            "Sec-WebSocket-Accept: ",
        ] {
            let input = response(&["Upgrade: websocket", "Connection: Upgrade", bad]);
            assert_eq!(
                parse(&client(), &input),
                Err(HandshakeError::AcceptMismatch),
                "{bad}"
            );
        }
        // Another nonce gives another accept value.
        let other = ClientRequest::from_parts("h", "/", [7; 16]).unwrap();
        assert_eq!(
            parse(&other, &response(&valid_lines())),
            Err(HandshakeError::AcceptMismatch)
        );
        // Leading and trailing whitespace is ignored.
        let spaced = response(&[
            "Upgrade: websocket",
            "Connection: Upgrade",
            "Sec-WebSocket-Accept:   s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\t ",
        ]);
        assert!(parse(&client(), &spaced).is_ok());
    }

    #[test]
    fn extensions_must_have_been_offered() {
        // Step 5.
        let offering = client()
            .extension(ExtensionOffer::new("permessage-deflate"))
            .unwrap()
            .extension(ExtensionOffer::new("x-foo"))
            .unwrap();
        let mut lines = valid_lines();
        lines.push(
            "Sec-WebSocket-Extensions: x-foo, permessage-deflate; server_no_context_takeover",
        );
        let response_with = response(&lines);
        let agreed = parse(&offering, &response_with).unwrap();
        assert_eq!(
            agreed.extensions(),
            [
                ExtensionOffer::new("x-foo"),
                ExtensionOffer::new("permessage-deflate")
                    .with_param("server_no_context_takeover", None),
            ]
        );
        // Nothing offered: any extension is unoffered.
        assert_eq!(
            parse(&client(), &response_with),
            Err(HandshakeError::UnofferedExtension)
        );
        let mut lines = valid_lines();
        lines.push("Sec-WebSocket-Extensions: x-bar");
        assert_eq!(
            parse(&offering, &response(&lines)),
            Err(HandshakeError::UnofferedExtension)
        );
        // Malformed syntax fails (section 9.1).
        let mut lines = valid_lines();
        lines.push("Sec-WebSocket-Extensions: x-foo;");
        assert_eq!(
            parse(&offering, &response(&lines)),
            Err(HandshakeError::InvalidHeader("Sec-WebSocket-Extensions"))
        );
        // Split across lines, as section 4.2.2 step 6 allows.
        let mut lines = valid_lines();
        lines.push("Sec-WebSocket-Extensions: x-foo");
        lines.push("Sec-WebSocket-Extensions: permessage-deflate");
        assert_eq!(
            parse(&offering, &response(&lines))
                .unwrap()
                .extensions()
                .len(),
            2
        );
    }

    #[test]
    fn subprotocol_must_have_been_offered() {
        // Step 6.
        let offering = client()
            .protocol("chat")
            .unwrap()
            .protocol("superchat")
            .unwrap();
        let mut lines = valid_lines();
        lines.push("Sec-WebSocket-Protocol: superchat");
        assert_eq!(
            parse(&offering, &response(&lines)).unwrap().protocol(),
            Some("superchat")
        );
        // The server may decline every subprotocol.
        assert_eq!(
            parse(&offering, &response(&valid_lines()))
                .unwrap()
                .protocol(),
            None
        );
        // Not offered, or none offered at all.
        let mut lines = valid_lines();
        lines.push("Sec-WebSocket-Protocol: other");
        assert_eq!(
            parse(&offering, &response(&lines)),
            Err(HandshakeError::UnofferedSubprotocol)
        );
        let mut lines = valid_lines();
        lines.push("Sec-WebSocket-Protocol: chat");
        assert_eq!(
            parse(&client(), &response(&lines)),
            Err(HandshakeError::UnofferedSubprotocol)
        );
        // Subprotocol names are compared exactly.
        let mut lines = valid_lines();
        lines.push("Sec-WebSocket-Protocol: Chat");
        assert_eq!(
            parse(&offering, &response(&lines)),
            Err(HandshakeError::UnofferedSubprotocol)
        );
    }

    #[test]
    fn subprotocol_must_be_a_single_value() {
        let offering = client()
            .protocol("chat")
            .unwrap()
            .protocol("superchat")
            .unwrap();
        for bad in [
            "Sec-WebSocket-Protocol: chat, superchat",
            "Sec-WebSocket-Protocol: chat superchat",
            "Sec-WebSocket-Protocol: ",
        ] {
            let mut lines = valid_lines();
            lines.push(bad);
            assert_eq!(
                parse(&offering, &response(&lines)),
                Err(HandshakeError::InvalidHeader("Sec-WebSocket-Protocol")),
                "{bad}"
            );
        }
    }

    #[test]
    fn header_names_are_case_insensitive() {
        let offering = client().protocol("chat").unwrap();
        let input = response(&[
            "upgrade: websocket",
            "CONNECTION: Upgrade",
            "sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
            "SEC-WEBSOCKET-PROTOCOL: chat",
        ]);
        assert_eq!(parse(&offering, &input).unwrap().protocol(), Some("chat"));
    }
}

#[cfg(test)]
mod section_11_3_response_headers_appear_once {
    use super::tests_support::*;
    use super::*;

    #[test]
    fn repeated_accept_fails() {
        let mut lines = valid_lines();
        lines.push("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        assert_eq!(
            parse(&client(), &response(&lines)),
            Err(HandshakeError::DuplicateHeader("Sec-WebSocket-Accept"))
        );
    }

    #[test]
    fn repeated_protocol_fails() {
        let offering = client().protocol("chat").unwrap();
        let mut lines = valid_lines();
        lines.push("Sec-WebSocket-Protocol: chat");
        lines.push("Sec-WebSocket-Protocol: chat");
        assert_eq!(
            parse(&offering, &response(&lines)),
            Err(HandshakeError::DuplicateHeader("Sec-WebSocket-Protocol"))
        );
    }
}

#[cfg(test)]
mod partial_input {
    use super::tests_support::*;
    use super::*;

    #[test]
    fn byte_by_byte_then_complete_with_leftover() {
        let mut input = response(&valid_lines());
        let head_len = input.len();
        input.extend_from_slice(b"\x81\x05Hello");
        let client = client();
        for end in 0..head_len {
            assert_eq!(
                client.parse_response(&input[..end], Limits::default()),
                Ok(Status::Partial),
                "prefix of {end} bytes"
            );
        }
        for end in head_len..=input.len() {
            let Ok(Status::Complete((response, consumed))) =
                client.parse_response(&input[..end], Limits::default())
            else {
                panic!("prefix of {end} bytes should be complete");
            };
            assert_eq!(consumed, head_len);
            assert_eq!(response.status(), 101);
            assert_eq!(&input[consumed..end], &b"\x81\x05Hello"[..end - head_len]);
        }
    }

    #[test]
    fn limits_apply_to_responses() {
        let input = response(&valid_lines());
        let tight = Limits::default().with_max_header_bytes(input.len() - 1);
        assert_eq!(
            client().parse_response(&input, tight),
            Err(HandshakeError::HeadersTooLarge)
        );
        let few = Limits::default().with_max_headers(2);
        assert_eq!(
            client().parse_response(&input, few),
            Err(HandshakeError::TooManyHeaders)
        );
        let exact = Limits::default()
            .with_max_header_bytes(input.len())
            .with_max_headers(3);
        assert!(client()
            .parse_response(&input, exact)
            .unwrap()
            .is_complete());
    }

    #[test]
    fn garbage_is_malformed() {
        assert!(matches!(
            client().parse_response(b"SSH-2.0-OpenSSH\r\n\r\n", Limits::default()),
            Err(HandshakeError::MalformedHttp(_))
        ));
    }
}
