//! The server side of the opening handshake (RFC 6455 section 4.2): reading the client's
//! request, then accepting it with a `101` or refusing it with an HTTP error.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;

use super::extensions::{parse_extensions, write_extensions, ExtensionOffer};
use super::headers::{
    check_header, is_token, list_elements, require_token, single, trim_ows, write_header, Headers,
};
use super::http_request::HttpRequest;
use super::{accept_key, VERSION};
#[cfg(test)]
use super::{parse_websocket, HttpResponse, Limits, Status};
use crate::error::HandshakeError;

/// Headers [`Accept::write_response`] produces itself, or that a 101 response must not carry.
const RESERVED_RESPONSE_HEADERS: &[&str] = &[
    "Upgrade",
    "Connection",
    "Sec-WebSocket-Accept",
    "Sec-WebSocket-Protocol",
    "Sec-WebSocket-Extensions",
    "Content-Length",
    "Transfer-Encoding",
];

/// Standard base64 with padding, tolerating non-zero bits in the last character: the RFC's own
/// example key "AQIDBAUGBwgJCgsMDQ4PEC==" (section 4.1, step 7) has them.
const KEY_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
);

/// A client's validated opening handshake.
///
/// A [`ServerHandshake`](super::ServerHandshake) hands one out in
/// [`ServerEvent::Request`](super::ServerEvent::Request); by hand, read the head with
/// [`HttpRequest::parse`] and validate it with [`HttpRequest::into_websocket`]. Decide whether
/// to accept it (its path, [`Request::origin`], offered subprotocols and extensions), then answer
/// with [`Request::accept`] and [`Accept::write_response`], or refuse it with an
/// [`HttpResponse`](super::HttpResponse). The example is the handshake of RFC 6455 section 1.3,
/// byte for byte:
///
/// ```
/// use ws_proto::handshake::{HttpRequest, Limits, Status};
///
/// let received = b"GET /chat HTTP/1.1\r\n\
///                  Host: server.example.com\r\n\
///                  Upgrade: websocket\r\n\
///                  Connection: Upgrade\r\n\
///                  Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
///                  Origin: http://example.com\r\n\
///                  Sec-WebSocket-Protocol: chat, superchat\r\n\
///                  Sec-WebSocket-Version: 13\r\n\
///                  \r\n";
///
/// // Partial input consumes nothing: keep reading and call again with everything so far.
/// assert_eq!(HttpRequest::parse(&received[..30], Limits::default())?, Status::Partial);
///
/// let Status::Complete((head, consumed)) = HttpRequest::parse(received, Limits::default())?
/// else {
///     unreachable!("the header block is complete");
/// };
/// let request = head.into_websocket()?;
/// assert_eq!(consumed, received.len()); // any further bytes belong to the frame layer
/// assert_eq!(request.path(), "/chat");
/// assert_eq!(request.host(), "server.example.com");
/// assert_eq!(request.origin(), Some("http://example.com"));
/// assert_eq!(request.protocols(), ["chat", "superchat"]);
///
/// let accept = request.accept().protocol("chat")?;
/// let mut response = Vec::new();
/// accept.write_response(&mut response);
/// assert_eq!(
///     response,
///     b"HTTP/1.1 101 Switching Protocols\r\n\
///       Upgrade: websocket\r\n\
///       Connection: Upgrade\r\n\
///       Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
///       Sec-WebSocket-Protocol: chat\r\n\
///       \r\n"
/// );
/// # Ok::<(), ws_proto::HandshakeError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    resource: String,
    host: String,
    origin: Option<String>,
    key: String,
    protocols: Vec<String>,
    extensions: Vec<ExtensionOffer>,
    headers: Headers,
}

impl Request {
    /// The checks of [`HttpRequest::into_websocket`].
    pub(super) fn validate(head: HttpRequest) -> Result<Request, HandshakeError> {
        // 1. "An HTTP/1.1 or higher GET request, including a "Request-URI" [RFC2616] that
        // should be interpreted as a /resource name/ defined in Section 3 (or an absolute
        // HTTP/HTTPS URI containing the /resource name/)."
        if head.method != "GET" {
            return Err(HandshakeError::MethodNotGet);
        }
        if head.minor_version < 1 {
            return Err(HandshakeError::UnsupportedHttpVersion);
        }
        let (resource, target_authority) = resource_name(&head.target)?;
        let headers = head.headers;

        // An opening handshake has no body. HTTP frames a body by `Content-Length` or
        // `Transfer-Encoding` (RFC 7230 section 3.3.3), but the bytes after this header block
        // are read as WebSocket frames: an intermediary and this server would disagree on where
        // the request ends, the shape of request smuggling.
        if headers.get("Transfer-Encoding").is_some() {
            return Err(HandshakeError::InvalidHeader("Transfer-Encoding"));
        }
        if headers
            .get_all("Content-Length")
            .any(|length| trim_ows(length) != b"0")
        {
            return Err(HandshakeError::InvalidHeader("Content-Length"));
        }

        // 2. "A |Host| header field containing the server's authority."
        let host = single(&headers, "Host")?.ok_or(HandshakeError::MissingHeader("Host"))?;
        let host = core::str::from_utf8(host)
            .ok()
            .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_graphic()))
            .ok_or(HandshakeError::InvalidHeader("Host"))?;
        // "When an origin server receives a request with an absolute-form of request-target,
        // the origin server MUST ignore the received Host header field (if any) and instead use
        // the host information of the request-target." (RFC 9112 section 3.2.2)
        let host = target_authority.unwrap_or(host);

        // 3. "An |Upgrade| header field containing the value "websocket", treated as an ASCII
        // case-insensitive value."
        require_token(&headers, "Upgrade", "websocket")?;
        // 4. "A |Connection| header field that includes the token "Upgrade", treated as an
        // ASCII case-insensitive value."
        require_token(&headers, "Connection", "upgrade")?;

        // 6. "A |Sec-WebSocket-Version| header field, with a value of 13." Checked before the
        // key: a client speaking another version may not send a version 13 key. The header
        // "MUST NOT appear more than once in an HTTP request" (section 11.3.5).
        match single(&headers, "Sec-WebSocket-Version")? {
            Some(version) if trim_ows(version) == VERSION.as_bytes() => {}
            _ => return Err(HandshakeError::UnsupportedVersion),
        }

        // 5. "A |Sec-WebSocket-Key| header field with a base64-encoded ... value that, when
        // decoded, is 16 bytes in length." It "MUST NOT appear more than once in an HTTP
        // request" (section 11.3.1).
        let key = single(&headers, "Sec-WebSocket-Key")?
            .ok_or(HandshakeError::MissingHeader("Sec-WebSocket-Key"))?;
        let key = trim_ows(key);
        match KEY_BASE64.decode(key) {
            Ok(nonce) if nonce.len() == 16 => {}
            _ => return Err(HandshakeError::InvalidKey),
        }
        // Valid base64 is ASCII.
        let key = String::from_utf8(Vec::from(key)).map_err(|_| HandshakeError::InvalidKey)?;

        // 7. "Optionally, an |Origin| header field."
        let origin = match single(&headers, "Origin")? {
            None => None,
            Some(origin) => Some(
                core::str::from_utf8(origin)
                    .map(String::from)
                    .map_err(|_| HandshakeError::InvalidHeader("Origin"))?,
            ),
        };

        // 8. "Optionally, a |Sec-WebSocket-Protocol| header field, with a list of values
        // indicating which protocols the client would like to speak, ordered by preference."
        let protocols = offered_protocols(&headers)?;

        // 9. "Optionally, a |Sec-WebSocket-Extensions| header field" (section 9.1).
        let extensions = parse_extensions(headers.get_all("Sec-WebSocket-Extensions"))?;

        let request = Request {
            resource,
            host: String::from(host),
            origin,
            key,
            protocols,
            extensions,
            headers,
        };
        Ok(request)
    }

    /// The /resource name/: the path and, if present, `?` and the query, as requested (from an
    /// absolute URI, only its path and query).
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// The path: the resource name up to the first `?`. Starts with `/`.
    pub fn path(&self) -> &str {
        match self.resource.split_once('?') {
            Some((path, _)) => path,
            None => &self.resource,
        }
    }

    /// The query after the first `?`, if there is one (possibly empty).
    pub fn query(&self) -> Option<&str> {
        self.resource.split_once('?').map(|(_, query)| query)
    }

    /// The authority the client wants (section 4.2.1, item 2): the `Host` header value, or
    /// the authority of an absolute-form request target, which takes precedence.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The `Origin` header value, sent by browsers. A server that restricts origins answers
    /// others with a 403 (section 4.2.2, step 4: "it MUST return an appropriate HTTP error
    /// code (e.g., 403 Forbidden)"), for example with
    /// [`ServerHandshake::reject`](super::ServerHandshake::reject).
    pub fn origin(&self) -> Option<&str> {
        self.origin.as_deref()
    }

    /// The `Sec-WebSocket-Key` value, without surrounding whitespace.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The subprotocols the client offered, most preferred first, from every
    /// `Sec-WebSocket-Protocol` line.
    pub fn protocols(&self) -> &[String] {
        &self.protocols
    }

    /// The extensions the client offered, most preferred first, from every
    /// `Sec-WebSocket-Extensions` line.
    pub fn extensions(&self) -> &[ExtensionOffer] {
        &self.extensions
    }

    /// Every header of the request, in the order received.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The value of the first header named `name` (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers.get(name)
    }

    /// Starts accepting the request: configure the returned [`Accept`], then send the bytes of
    /// [`Accept::write_response`]. The connection is then open (section 4.2.2).
    pub fn accept(&self) -> Accept {
        Accept {
            accept: accept_key(self.key.as_bytes()),
            offered_protocols: self.protocols.clone(),
            offered_extensions: self.extensions.iter().map(|e| e.name.clone()).collect(),
            protocol: None,
            extensions: Vec::new(),
            headers: Vec::new(),
        }
    }
}

/// Extracts the resource name from a Request-URI, and the authority of an absolute URI.
fn resource_name(target: &str) -> Result<(String, Option<&str>), HandshakeError> {
    const NOT_A_RESOURCE: HandshakeError =
        HandshakeError::MalformedHttp("request target is not a resource name");
    // Section 3: fragment identifiers "MUST NOT be used on these URIs".
    if target.contains('#') {
        return Err(HandshakeError::MalformedHttp("fragment in request target"));
    }
    if target.starts_with('/') {
        return Ok((String::from(target), None));
    }
    let after_scheme = ["http://", "https://"].iter().find_map(|scheme| {
        target
            .get(..scheme.len())
            .filter(|prefix| prefix.eq_ignore_ascii_case(scheme))
            .map(|_| &target[scheme.len()..])
    });
    let rest = after_scheme.ok_or(NOT_A_RESOURCE)?;
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    if authority_end == 0 {
        return Err(NOT_A_RESOURCE);
    }
    let authority = &rest[..authority_end];
    // "A sender MUST NOT generate the userinfo subcomponent (and its "@" delimiter) when an
    // "http" URI reference is generated within a message as a request target" (RFC 7230
    // section 2.7.1): it only serves to disguise the host.
    if authority.contains('@') {
        return Err(HandshakeError::MalformedHttp("userinfo in request target"));
    }
    let resource = &rest[authority_end..];
    let resource = if resource.starts_with('/') {
        String::from(resource)
    } else {
        format!("/{resource}")
    };
    Ok((resource, Some(authority)))
}

/// Collects the offered subprotocols: every line is a `1#token` list, and the elements "MUST
/// all be unique strings" (section 4.1, step 10).
fn offered_protocols(headers: &Headers) -> Result<Vec<String>, HandshakeError> {
    const INVALID: HandshakeError = HandshakeError::InvalidHeader("Sec-WebSocket-Protocol");
    let mut protocols: Vec<String> = Vec::new();
    for line in headers.get_all("Sec-WebSocket-Protocol") {
        let mut elements = 0;
        for element in list_elements(line) {
            if !is_token(element) {
                return Err(INVALID);
            }
            let element = core::str::from_utf8(element).map_err(|_| INVALID)?;
            if protocols.iter().any(|p| p == element) {
                return Err(INVALID);
            }
            protocols.push(String::from(element));
            elements += 1;
        }
        if elements == 0 {
            return Err(INVALID);
        }
    }
    Ok(protocols)
}

/// The server's acceptance of a [`Request`]: the `101 Switching Protocols` response to send.
///
/// Created by [`Request::accept`]. Each builder method checks its input against the request
/// and fails with [`HandshakeError::InvalidArgument`] rather than produce a response the client
/// must reject. After writing the response, configure the connection with
/// [`Accept::selected_protocol`] and [`Accept::selected_extensions`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accept {
    accept: [u8; 28],
    offered_protocols: Vec<String>,
    offered_extensions: Vec<String>,
    protocol: Option<String>,
    extensions: Vec<ExtensionOffer>,
    headers: Vec<(String, String)>,
}

impl Accept {
    /// Selects the subprotocol to speak, which must be one the client offered: "The value
    /// chosen MUST be derived from the client's handshake" (section 4.2.2, step 4). Without
    /// this call no `Sec-WebSocket-Protocol` header is sent (the null subprotocol).
    pub fn protocol(mut self, protocol: &str) -> Result<Self, HandshakeError> {
        if !self.offered_protocols.iter().any(|p| p == protocol) {
            return Err(HandshakeError::InvalidArgument(
                "subprotocol was not offered by the client",
            ));
        }
        self.protocol = Some(String::from(protocol));
        Ok(self)
    }

    /// Sets the extensions in use, in the order they apply to the data (section 9.1),
    /// replacing any set before. Each must name an extension the client offered ("Extensions
    /// not listed by the client MUST NOT be listed", section 4.2.2) and pass
    /// [`ExtensionOffer::validate`]. Which parameters to answer with is for each extension to
    /// decide.
    pub fn extensions(mut self, extensions: Vec<ExtensionOffer>) -> Result<Self, HandshakeError> {
        for extension in &extensions {
            extension.validate()?;
            if !self.offered_extensions.contains(&extension.name) {
                return Err(HandshakeError::InvalidArgument(
                    "extension was not offered by the client",
                ));
            }
        }
        self.extensions = extensions;
        Ok(self)
    }

    /// Adds another header, for example `Set-Cookie`.
    ///
    /// Fails with [`HandshakeError::InvalidArgument`] if the name is not a token, the value
    /// holds CR, LF, NUL or another control character, or the name is one the response writes
    /// itself or must not carry (`Upgrade`, `Connection`, `Sec-WebSocket-Accept`,
    /// `Sec-WebSocket-Protocol`, `Sec-WebSocket-Extensions`, `Content-Length`,
    /// `Transfer-Encoding`).
    pub fn header(mut self, name: &str, value: &str) -> Result<Self, HandshakeError> {
        check_header(name, value.as_bytes(), RESERVED_RESPONSE_HEADERS)?;
        self.headers.push((String::from(name), String::from(value)));
        Ok(self)
    }

    /// Whether this acceptance was made for `request` (it answers the request's key).
    pub(super) fn answers(&self, request: &Request) -> bool {
        self.accept == accept_key(request.key.as_bytes())
    }

    /// The subprotocol selected with [`Accept::protocol`], if any.
    pub fn selected_protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    /// The extensions set with [`Accept::extensions`].
    pub fn selected_extensions(&self) -> &[ExtensionOffer] {
        &self.extensions
    }

    /// Appends the `101 Switching Protocols` response to `out` (section 4.2.2, step 5).
    ///
    /// Once it is sent the connection is open: frames may be sent and received.
    pub fn write_response(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"HTTP/1.1 101 Switching Protocols\r\n");
        write_header(out, "Upgrade", b"websocket");
        write_header(out, "Connection", b"Upgrade");
        write_header(out, "Sec-WebSocket-Accept", &self.accept);
        if let Some(protocol) = &self.protocol {
            write_header(out, "Sec-WebSocket-Protocol", protocol.as_bytes());
        }
        if !self.extensions.is_empty() {
            out.extend_from_slice(b"Sec-WebSocket-Extensions: ");
            // Every extension passed `validate` in `Accept::extensions`.
            let _ = write_extensions(&self.extensions, out);
            out.extend_from_slice(b"\r\n");
        }
        for (name, value) in &self.headers {
            write_header(out, name, value.as_bytes());
        }
        out.extend_from_slice(b"\r\n");
    }
}

#[cfg(test)]
mod tests_support {
    use super::*;

    /// The client handshake of RFC 6455 section 1.3.
    pub(super) const RFC_REQUEST: &str = "GET /chat HTTP/1.1\r\n\
        Host: server.example.com\r\n\
        Upgrade: websocket\r\n\
        Connection: Upgrade\r\n\
        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
        Origin: http://example.com\r\n\
        Sec-WebSocket-Protocol: chat, superchat\r\n\
        Sec-WebSocket-Version: 13\r\n\
        \r\n";

    /// A request line followed by `lines` and the blank line.
    pub(super) fn request_with(request_line: &str, lines: &[&str]) -> Vec<u8> {
        let mut out = Vec::from(request_line.as_bytes());
        out.extend_from_slice(b"\r\n");
        for line in lines {
            out.extend_from_slice(line.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out
    }

    pub(super) fn valid_lines() -> Vec<&'static str> {
        alloc::vec![
            "Host: server.example.com",
            "Upgrade: websocket",
            "Connection: Upgrade",
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
            "Sec-WebSocket-Version: 13",
        ]
    }

    /// `valid_lines` with the line starting with `prefix` (case-insensitively) removed.
    pub(super) fn without(prefix: &str) -> Vec<&'static str> {
        valid_lines()
            .into_iter()
            .filter(|l| {
                !l.to_ascii_lowercase()
                    .starts_with(&prefix.to_ascii_lowercase())
            })
            .collect()
    }

    pub(super) fn parse(input: &[u8]) -> Result<Request, HandshakeError> {
        match parse_websocket(input, Limits::default())? {
            Status::Complete((request, consumed)) => {
                assert_eq!(consumed, input.len());
                Ok(request)
            }
            Status::Partial => panic!("expected a complete request"),
        }
    }

    pub(super) fn parse_lines(lines: &[&str]) -> Result<Request, HandshakeError> {
        parse(&request_with("GET /chat HTTP/1.1", lines))
    }

    pub(super) fn text(bytes: Vec<u8>) -> String {
        String::from_utf8(bytes).unwrap()
    }
}

#[cfg(test)]
mod section_4_2_1_reading_the_client_handshake {
    use super::tests_support::*;
    use super::*;

    #[test]
    fn rfc_request_is_read_completely() {
        let request = parse(RFC_REQUEST.as_bytes()).unwrap();
        assert_eq!(request.resource(), "/chat");
        assert_eq!(request.path(), "/chat");
        assert_eq!(request.query(), None);
        assert_eq!(request.host(), "server.example.com");
        assert_eq!(request.origin(), Some("http://example.com"));
        assert_eq!(request.key(), "dGhlIHNhbXBsZSBub25jZQ==");
        assert_eq!(request.protocols(), ["chat", "superchat"]);
        assert!(request.extensions().is_empty());
        assert_eq!(request.headers().len(), 7);
        assert_eq!(request.header("sec-websocket-version"), Some(&b"13"[..]));
        assert_eq!(request.header("X-Missing"), None);
    }

    #[test]
    fn method_must_be_get() {
        // Item 1: "An HTTP/1.1 or higher GET request".
        for method in ["POST", "HEAD", "PUT", "get", "CONNECT"] {
            let input = request_with(&format!("{method} /chat HTTP/1.1"), &valid_lines());
            assert_eq!(parse(&input), Err(HandshakeError::MethodNotGet), "{method}");
        }
        assert_eq!(HandshakeError::MethodNotGet.http_status(), 400);
    }

    #[test]
    fn http_version_must_be_at_least_1_1() {
        let input = request_with("GET /chat HTTP/1.0", &valid_lines());
        assert_eq!(parse(&input), Err(HandshakeError::UnsupportedHttpVersion));
        let input = request_with("GET /chat HTTP/0.9", &valid_lines());
        assert!(matches!(
            parse(&input),
            Err(HandshakeError::MalformedHttp(_))
        ));
    }

    #[test]
    fn request_uri_is_a_resource_name_or_absolute_http_uri() {
        let request = parse(&request_with("GET /chat?room=1&x HTTP/1.1", &valid_lines())).unwrap();
        assert_eq!(request.resource(), "/chat?room=1&x");
        assert_eq!(request.path(), "/chat");
        assert_eq!(request.query(), Some("room=1&x"));
        let request = parse(&request_with("GET /? HTTP/1.1", &valid_lines())).unwrap();
        assert_eq!((request.path(), request.query()), ("/", Some("")));

        for (target, resource) in [
            ("http://server.example.com/chat?a", "/chat?a"),
            ("HTTPS://server.example.com:8443/chat", "/chat"),
            ("http://server.example.com", "/"),
            ("http://server.example.com?a=b", "/?a=b"),
        ] {
            let input = request_with(&format!("GET {target} HTTP/1.1"), &valid_lines());
            assert_eq!(parse(&input).unwrap().resource(), resource, "{target}");
        }
        for target in [
            "*",
            "chat",
            "ws://server.example.com/chat",
            "http:///chat",
            "/chat#frag",
            "http://user@server.example.com/chat",
        ] {
            let input = request_with(&format!("GET {target} HTTP/1.1"), &valid_lines());
            assert!(
                matches!(parse(&input), Err(HandshakeError::MalformedHttp(_))),
                "{target}"
            );
        }
    }

    #[test]
    fn host_must_be_present_exactly_once() {
        // Item 2: "A |Host| header field containing the server's authority."
        assert_eq!(
            parse_lines(&without("Host")),
            Err(HandshakeError::MissingHeader("Host"))
        );
        let mut lines = valid_lines();
        lines.push("Host: other.example.com");
        assert_eq!(
            parse_lines(&lines),
            Err(HandshakeError::DuplicateHeader("Host"))
        );
        let mut lines = without("Host");
        lines.push("Host: ");
        assert_eq!(
            parse_lines(&lines),
            Err(HandshakeError::InvalidHeader("Host"))
        );
        let mut lines = without("Host");
        lines.push("host: [::1]:9001");
        assert_eq!(parse_lines(&lines).unwrap().host(), "[::1]:9001");
    }

    #[test]
    fn upgrade_must_contain_websocket() {
        // Item 3, ASCII case-insensitive.
        assert_eq!(
            parse_lines(&without("Upgrade")),
            Err(HandshakeError::MissingHeader("Upgrade"))
        );
        for bad in ["Upgrade: h2c", "Upgrade: websocket2", "Upgrade: "] {
            let mut lines = without("Upgrade");
            lines.push(bad);
            assert_eq!(
                parse_lines(&lines),
                Err(HandshakeError::InvalidHeader("Upgrade")),
                "{bad}"
            );
        }
        for good in [
            "Upgrade: WebSocket",
            "upgrade: WEBSOCKET",
            "Upgrade: h2c, websocket",
        ] {
            let mut lines = without("Upgrade");
            lines.push(good);
            assert!(parse_lines(&lines).is_ok(), "{good}");
        }
    }

    #[test]
    fn connection_must_contain_upgrade() {
        // Item 4, ASCII case-insensitive, as a token of a list.
        assert_eq!(
            parse_lines(&without("Connection")),
            Err(HandshakeError::MissingHeader("Connection"))
        );
        for bad in [
            "Connection: keep-alive",
            "Connection: close",
            "Connection: upgrades",
        ] {
            let mut lines = without("Connection");
            lines.push(bad);
            assert_eq!(
                parse_lines(&lines),
                Err(HandshakeError::InvalidHeader("Connection")),
                "{bad}"
            );
        }
        for good in [
            "Connection: keep-alive, Upgrade",
            "Connection: UPGRADE",
            "connection: Keep-Alive,upgrade",
        ] {
            let mut lines = without("Connection");
            lines.push(good);
            assert!(parse_lines(&lines).is_ok(), "{good}");
        }
        let mut lines = without("Connection");
        lines.push("Connection: keep-alive");
        lines.push("Connection: Upgrade");
        assert!(parse_lines(&lines).is_ok());
    }

    #[test]
    fn key_must_decode_to_16_bytes() {
        // Item 5.
        assert_eq!(
            parse_lines(&without("Sec-WebSocket-Key")),
            Err(HandshakeError::MissingHeader("Sec-WebSocket-Key"))
        );
        for bad in [
            "Sec-WebSocket-Key: ",
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ", // missing padding
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=", // wrong padding
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25j",   // 12 bytes
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==AA", // junk after padding
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZSE=", // 17 bytes
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ+=", // 17 bytes
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZ!==", // not base64
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ-_", // URL-safe alphabet
            "Sec-WebSocket-Key: dGhl IHNhbXBsZSBub25jZQ==", // inner space
        ] {
            let mut lines = without("Sec-WebSocket-Key");
            lines.push(bad);
            assert_eq!(
                parse_lines(&lines),
                Err(HandshakeError::InvalidKey),
                "{bad}"
            );
        }
        // 15 bytes.
        let mut lines = without("Sec-WebSocket-Key");
        lines.push("Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4P");
        assert_eq!(parse_lines(&lines), Err(HandshakeError::InvalidKey));
        // The RFC's own example value (section 4.1, step 7) has non-zero padding bits.
        let mut lines = without("Sec-WebSocket-Key");
        lines.push("Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEC==");
        assert_eq!(
            parse_lines(&lines).unwrap().key(),
            "AQIDBAUGBwgJCgsMDQ4PEC=="
        );
        // Surrounding whitespace is not part of the key.
        let mut lines = without("Sec-WebSocket-Key");
        lines.push("Sec-WebSocket-Key: \t dGhlIHNhbXBsZSBub25jZQ== ");
        assert_eq!(
            parse_lines(&lines).unwrap().key(),
            "dGhlIHNhbXBsZSBub25jZQ=="
        );
        assert_eq!(HandshakeError::InvalidKey.http_status(), 400);
    }

    #[test]
    fn version_must_be_13() {
        // Item 6; anything else is answered with 426 (section 4.2.2, step 4).
        assert_eq!(
            parse_lines(&without("Sec-WebSocket-Version")),
            Err(HandshakeError::UnsupportedVersion)
        );
        for bad in ["8", "12", "25", "013", "13, 8", "", "thirteen"] {
            let line = format!("Sec-WebSocket-Version: {bad}");
            let mut lines: Vec<&str> = without("Sec-WebSocket-Version");
            lines.push(&line);
            assert_eq!(
                parse_lines(&lines),
                Err(HandshakeError::UnsupportedVersion),
                "{bad}"
            );
        }
        assert_eq!(HandshakeError::UnsupportedVersion.http_status(), 426);
    }

    #[test]
    fn origin_is_optional() {
        // Item 7.
        assert_eq!(parse_lines(&valid_lines()).unwrap().origin(), None);
        let mut lines = valid_lines();
        lines.push("Origin: https://www.example.com");
        assert_eq!(
            parse_lines(&lines).unwrap().origin(),
            Some("https://www.example.com")
        );
        lines.push("Origin: https://evil.example.com");
        assert_eq!(
            parse_lines(&lines),
            Err(HandshakeError::DuplicateHeader("Origin"))
        );
    }

    #[test]
    fn subprotocols_are_collected_from_every_line() {
        // Item 8 and section 11.3.4: several lines equal one line with all values.
        let mut lines = valid_lines();
        lines.push("Sec-WebSocket-Protocol: chat, superchat");
        lines.push("sec-websocket-protocol: v2.json ,, mqtt");
        assert_eq!(
            parse_lines(&lines).unwrap().protocols(),
            ["chat", "superchat", "v2.json", "mqtt"]
        );
        assert!(parse_lines(&valid_lines()).unwrap().protocols().is_empty());
    }

    #[test]
    fn subprotocols_must_be_unique_tokens() {
        // Section 4.1, step 10, checked by the server.
        for bad in [
            "Sec-WebSocket-Protocol: ",
            "Sec-WebSocket-Protocol: ,",
            "Sec-WebSocket-Protocol: chat, chat",
            "Sec-WebSocket-Protocol: a b",
            "Sec-WebSocket-Protocol: a/b",
            "Sec-WebSocket-Protocol: \"chat\"",
        ] {
            let mut lines = valid_lines();
            lines.push(bad);
            assert_eq!(
                parse_lines(&lines),
                Err(HandshakeError::InvalidHeader("Sec-WebSocket-Protocol")),
                "{bad}"
            );
        }
        let mut lines = valid_lines();
        lines.push("Sec-WebSocket-Protocol: chat");
        lines.push("Sec-WebSocket-Protocol: chat");
        assert_eq!(
            parse_lines(&lines),
            Err(HandshakeError::InvalidHeader("Sec-WebSocket-Protocol"))
        );
    }

    #[test]
    fn extensions_are_parsed_from_every_line() {
        // Item 9 and section 9.1.
        let mut lines = valid_lines();
        lines.push("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits");
        lines.push("Sec-WebSocket-Extensions: x-foo; a=\"1\", x-bar");
        let request = parse_lines(&lines).unwrap();
        assert_eq!(
            request.extensions(),
            [
                ExtensionOffer::new("permessage-deflate")
                    .with_param("client_max_window_bits", None),
                ExtensionOffer::new("x-foo").with_param("a", Some("1")),
                ExtensionOffer::new("x-bar"),
            ]
        );
        let mut lines = valid_lines();
        lines.push("Sec-WebSocket-Extensions: x-foo; a=\"b c\"");
        assert_eq!(
            parse_lines(&lines),
            Err(HandshakeError::InvalidHeader("Sec-WebSocket-Extensions"))
        );
    }

    #[test]
    fn unknown_headers_are_kept_and_ignored() {
        // Item 10: "Unknown header fields are ignored".
        let mut lines = valid_lines();
        lines.push("Cookie: a=b");
        lines.push("X-Binary: caf\u{e9}");
        let request = parse_lines(&lines).unwrap();
        assert_eq!(request.header("cookie"), Some(&b"a=b"[..]));
        assert_eq!(request.header("x-binary"), Some("caf\u{e9}".as_bytes()));
        let names: Vec<&str> = request.headers().iter().map(|(n, _)| n).collect();
        assert_eq!(names.last(), Some(&"X-Binary"));
    }

    #[test]
    fn header_order_and_name_case_do_not_matter() {
        // Section 1.3: "header fields in the handshake may be sent by the client in any
        // order"; section 4.1: names are case-insensitive.
        let mut lines: Vec<&str> = valid_lines().into_iter().rev().collect();
        lines.push("SEC-WEBSOCKET-PROTOCOL: chat");
        let lower: Vec<String> = lines.iter().map(|l| l.to_ascii_lowercase()).collect();
        let lower: Vec<&str> = lower.iter().map(String::as_str).collect();
        for lines in [&lines, &lower] {
            let request = parse_lines(lines).unwrap();
            assert_eq!(
                request.key().to_ascii_lowercase(),
                "dghlihnhbxbszsbub25jzq=="
            );
        }
        assert_eq!(parse_lines(&lines).unwrap().protocols(), ["chat"]);
    }

    #[test]
    fn malformed_http_is_a_400() {
        for input in [
            &b"GET /chat HTTP/1.1\r\nNo colon here\r\n\r\n"[..],
            b"GET /chat HTTP/1.1\r\nX: a\x00b\r\n\r\n",
            b"GET  /chat HTTP/1.1\r\n\r\n",
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
        ] {
            let error = parse_websocket(input, Limits::default()).unwrap_err();
            assert!(
                matches!(error, HandshakeError::MalformedHttp(_)),
                "{input:?}"
            );
            assert_eq!(error.http_status(), 400);
        }
    }
}

#[cfg(test)]
mod rfc_7230_message_framing {
    use super::tests_support::*;
    use super::*;

    #[test]
    fn absolute_form_target_gives_the_host() {
        // RFC 9112 section 3.2.2: the origin server "MUST ignore the received Host header
        // field (if any) and instead use the host information of the request-target".
        let input = request_with(
            "GET http://other.example:8080/chat HTTP/1.1",
            &valid_lines(),
        );
        let request = parse(&input).unwrap();
        assert_eq!(request.host(), "other.example:8080");
        assert_eq!(request.resource(), "/chat");
        // The Host header must still be present and valid (RFC 7230 section 5.4).
        let input = request_with("GET http://other.example/chat HTTP/1.1", &without("Host"));
        assert_eq!(parse(&input), Err(HandshakeError::MissingHeader("Host")));
    }

    #[test]
    fn a_request_body_is_refused() {
        // Bytes after the header block are frames to us but a body to HTTP (section 3.3.3).
        for (line, header) in [
            ("Content-Length: 5", "Content-Length"),
            ("Content-Length: 0, 5", "Content-Length"),
            ("Transfer-Encoding: chunked", "Transfer-Encoding"),
            ("Transfer-Encoding: identity", "Transfer-Encoding"),
        ] {
            let mut lines = valid_lines();
            lines.push(line);
            let error = parse_lines(&lines).unwrap_err();
            assert_eq!(error, HandshakeError::InvalidHeader(header), "{line}");
            assert_eq!(error.http_status(), 400);
        }
        let mut lines = valid_lines();
        lines.push("Content-Length: 0");
        assert!(parse_lines(&lines).is_ok());
    }
}

#[cfg(test)]
mod section_11_3_request_headers_appear_once {
    use super::tests_support::*;
    use super::*;

    #[test]
    fn repeated_key_fails() {
        // Section 11.3.1: "The |Sec-WebSocket-Key| header field MUST NOT appear more than
        // once in an HTTP request."
        let mut lines = valid_lines();
        lines.push("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==");
        assert_eq!(
            parse_lines(&lines),
            Err(HandshakeError::DuplicateHeader("Sec-WebSocket-Key"))
        );
    }

    #[test]
    fn repeated_version_fails() {
        // Section 11.3.5: Sec-WebSocket-Version "MUST NOT appear more than once in an HTTP
        // request".
        let mut lines = valid_lines();
        lines.push("Sec-WebSocket-Version: 13");
        assert_eq!(
            parse_lines(&lines),
            Err(HandshakeError::DuplicateHeader("Sec-WebSocket-Version"))
        );
    }
}

#[cfg(test)]
mod section_4_2_2_sending_the_server_handshake {
    use super::tests_support::*;
    use super::*;

    fn rfc_request() -> Request {
        parse(RFC_REQUEST.as_bytes()).unwrap()
    }

    fn response(accept: &Accept) -> String {
        let mut out = Vec::new();
        accept.write_response(&mut out);
        text(out)
    }

    #[test]
    fn minimal_101_is_exact() {
        // Step 5: status 101, Upgrade, Connection, Sec-WebSocket-Accept.
        assert_eq!(
            response(&rfc_request().accept()),
            "HTTP/1.1 101 Switching Protocols\r\n\
             Upgrade: websocket\r\n\
             Connection: Upgrade\r\n\
             Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
             \r\n"
        );
    }

    #[test]
    fn full_101_is_exact() {
        let mut lines = valid_lines();
        lines.push("Sec-WebSocket-Protocol: chat, superchat");
        lines.push("Sec-WebSocket-Extensions: permessage-deflate, x-foo");
        let request = parse_lines(&lines).unwrap();
        let accept = request
            .accept()
            .protocol("superchat")
            .unwrap()
            .extensions(alloc::vec![
                ExtensionOffer::new("x-foo"),
                ExtensionOffer::new("permessage-deflate")
                    .with_param("server_no_context_takeover", None),
            ])
            .unwrap()
            .header("Set-Cookie", "id=1")
            .unwrap();
        assert_eq!(accept.selected_protocol(), Some("superchat"));
        assert_eq!(accept.selected_extensions().len(), 2);
        assert_eq!(
            response(&accept),
            "HTTP/1.1 101 Switching Protocols\r\n\
             Upgrade: websocket\r\n\
             Connection: Upgrade\r\n\
             Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
             Sec-WebSocket-Protocol: superchat\r\n\
             Sec-WebSocket-Extensions: x-foo, permessage-deflate; server_no_context_takeover\r\n\
             Set-Cookie: id=1\r\n\
             \r\n"
        );
    }

    #[test]
    fn accept_value_uses_the_key_as_sent() {
        // "It is not necessary for the server to base64-decode the |Sec-WebSocket-Key| value."
        let mut lines = without("Sec-WebSocket-Key");
        lines.push("Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEC==");
        let text = response(&parse_lines(&lines).unwrap().accept());
        assert!(text.contains("\r\nSec-WebSocket-Accept: OfS0wDaT5NoxF2gqm7Zj2YtetzM=\r\n"));
    }

    #[test]
    fn subprotocol_must_be_one_the_client_offered() {
        // Step 4, /subprotocol/: "The value chosen MUST be derived from the client's
        // handshake"; without an offer "the only acceptable value is null".
        let request = rfc_request();
        for bad in ["mqtt", "Chat", "", "chat, superchat"] {
            assert!(matches!(
                request.accept().protocol(bad),
                Err(HandshakeError::InvalidArgument(_))
            ));
        }
        let none_offered = parse_lines(&valid_lines()).unwrap();
        assert!(matches!(
            none_offered.accept().protocol("chat"),
            Err(HandshakeError::InvalidArgument(_))
        ));
        // Declining every offer sends no Sec-WebSocket-Protocol header.
        assert!(!response(&request.accept()).contains("Sec-WebSocket-Protocol"));
    }

    #[test]
    fn extensions_must_be_ones_the_client_offered() {
        // Step 4, /extensions/: "Extensions not listed by the client MUST NOT be listed."
        let mut lines = valid_lines();
        lines.push("Sec-WebSocket-Extensions: x-foo");
        let request = parse_lines(&lines).unwrap();
        assert!(matches!(
            request
                .accept()
                .extensions(alloc::vec![ExtensionOffer::new("x-bar")]),
            Err(HandshakeError::InvalidArgument(_))
        ));
        assert!(matches!(
            rfc_request()
                .accept()
                .extensions(alloc::vec![ExtensionOffer::new("x-foo")]),
            Err(HandshakeError::InvalidArgument(_))
        ));
        assert!(matches!(
            request.accept().extensions(alloc::vec![
                ExtensionOffer::new("x-foo").with_param("a", Some("b c"))
            ]),
            Err(HandshakeError::InvalidArgument(_))
        ));
        // Extensions set later replace earlier ones.
        let accept = request
            .accept()
            .extensions(alloc::vec![ExtensionOffer::new("x-foo")])
            .unwrap()
            .extensions(Vec::new())
            .unwrap();
        assert!(!response(&accept).contains("Sec-WebSocket-Extensions"));
    }

    #[test]
    fn extra_headers_are_checked() {
        let request = rfc_request();
        for (name, value) in [
            ("X-A", "1\r\nX-Injected: 2"),
            ("X-A", "\0"),
            ("X A", "1"),
            ("Upgrade", "h2c"),
            ("sec-websocket-accept", "x"),
            ("Sec-WebSocket-Protocol", "chat"),
            ("Content-Length", "0"),
            ("Transfer-Encoding", "chunked"),
            ("Connection", "close"),
        ] {
            assert!(
                matches!(
                    request.accept().header(name, value),
                    Err(HandshakeError::InvalidArgument(_))
                ),
                "{name}: {value}"
            );
        }
    }

    #[test]
    fn write_response_appends() {
        let mut out = Vec::from(&b"x"[..]);
        rfc_request().accept().write_response(&mut out);
        assert!(out.starts_with(b"xHTTP/1.1 101 Switching Protocols\r\n"));
    }
}

#[cfg(test)]
mod section_4_4_version_negotiation {
    use super::*;

    #[test]
    fn parse_then_answer_a_version_25_client() {
        let input = b"GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\
                      Connection: Upgrade\r\nSec-WebSocket-Version: 25\r\n\r\n";
        let error = parse_websocket(input, Limits::default()).unwrap_err();
        let mut out = Vec::new();
        HttpResponse::from_error(&error).write(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("HTTP/1.1 426 "));
        assert!(text.contains("\r\nSec-WebSocket-Version: 13\r\n"));
    }
}

#[cfg(test)]
mod section_10_4_limits {
    use super::tests_support::*;
    use super::*;

    fn answer(error: &HandshakeError) -> String {
        let mut out = Vec::new();
        HttpResponse::from_error(error).write(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn too_many_header_bytes_is_a_431() {
        let input = RFC_REQUEST.as_bytes();
        let limits = Limits::default().with_max_header_bytes(input.len() - 1);
        let error = parse_websocket(input, limits).unwrap_err();
        assert_eq!(error, HandshakeError::HeadersTooLarge);
        assert_eq!(error.http_status(), 431);
        let text = answer(&error);
        assert!(text.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
        assert!(!text.contains("Sec-WebSocket-Version"));
        // Exactly at the limit is fine.
        let limits = Limits::default().with_max_header_bytes(input.len());
        assert!(parse_websocket(input, limits).unwrap().is_complete());
    }

    #[test]
    fn incomplete_block_beyond_the_limit_fails_without_waiting() {
        // A client streaming an endless header block is stopped once it passes the limit.
        let mut input = Vec::from(&b"GET /chat HTTP/1.1\r\nX-Long: "[..]);
        input.resize(16 * 1024, b'a');
        assert_eq!(
            parse_websocket(&input, Limits::default()),
            Ok(Status::Partial)
        );
        input.push(b'a');
        assert_eq!(
            parse_websocket(&input, Limits::default()),
            Err(HandshakeError::HeadersTooLarge)
        );
    }

    #[test]
    fn too_many_headers_is_a_431() {
        let lines = valid_lines();
        let input = request_with("GET / HTTP/1.1", &lines);
        let limits = Limits::default().with_max_headers(lines.len() - 1);
        let error = parse_websocket(&input, limits).unwrap_err();
        assert_eq!(error, HandshakeError::TooManyHeaders);
        assert_eq!(error.http_status(), 431);
        assert!(answer(&error).starts_with("HTTP/1.1 431 "));
        let limits = Limits::default().with_max_headers(lines.len());
        assert!(parse_websocket(&input, limits).unwrap().is_complete());
        // The default allows 64.
        let many: Vec<String> = (0..60).map(|i| format!("X-{i}: v")).collect();
        let mut lines = valid_lines();
        lines.extend(many.iter().map(String::as_str));
        assert!(parse_lines(&lines).is_err_and(|e| e == HandshakeError::TooManyHeaders));
        lines.truncate(64);
        assert!(parse_lines(&lines).is_ok());
    }
}

#[cfg(test)]
mod partial_input {
    use super::tests_support::*;
    use super::*;

    #[test]
    fn byte_by_byte_then_complete_with_leftover() {
        let head_len = RFC_REQUEST.len();
        let mut input = Vec::from(RFC_REQUEST.as_bytes());
        // A masked "Hi" text frame pipelined after the handshake.
        input.extend_from_slice(b"\x81\x82\x01\x02\x03\x04\x49\x6b");
        for end in 0..head_len {
            assert_eq!(
                parse_websocket(&input[..end], Limits::default()),
                Ok(Status::Partial),
                "prefix of {end} bytes"
            );
        }
        for end in head_len..=input.len() {
            let Ok(Status::Complete((request, consumed))) =
                parse_websocket(&input[..end], Limits::default())
            else {
                panic!("prefix of {end} bytes should be complete");
            };
            assert_eq!(consumed, head_len);
            assert_eq!(request.path(), "/chat");
            assert_eq!(&input[consumed..end], &input[head_len..end]);
        }
        assert_eq!(&input[head_len..], b"\x81\x82\x01\x02\x03\x04\x49\x6b");
    }

    #[test]
    fn errors_surface_only_once_the_block_is_complete() {
        // A POST is only reported once the whole header block arrived.
        let input = request_with("POST /chat HTTP/1.1", &valid_lines());
        for end in 0..input.len() {
            assert_eq!(
                parse_websocket(&input[..end], Limits::default()),
                Ok(Status::Partial)
            );
        }
        assert_eq!(
            parse_websocket(&input, Limits::default()),
            Err(HandshakeError::MethodNotGet)
        );
    }
}
