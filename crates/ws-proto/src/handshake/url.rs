//! `ws://` and `wss://` URIs (RFC 6455 section 3).

use alloc::format;
use alloc::string::String;
use core::fmt;
use core::str::FromStr;

use crate::error::HandshakeError;

/// A parsed WebSocket URI: the /host/, /port/, /resource name/ and /secure/ flag of
/// RFC 6455 section 4.1.
///
/// ```text
/// ws-URI  = "ws:" "//" host [ ":" port ] path [ "?" query ]
/// wss-URI = "wss:" "//" host [ ":" port ] path [ "?" query ]
/// ```
///
/// The fields are private so that every `Url` has passed [`Url::parse`], which is what lets
/// [`ClientRequest::new`](super::ClientRequest::new) write them into a request without
/// further checks.
///
/// ```
/// use ws_proto::handshake::Url;
/// let url = Url::parse("wss://[::1]:9001/chat?room=1").unwrap();
/// assert!(url.secure());
/// assert_eq!(url.host(), "::1");
/// assert_eq!(url.port(), 9001);
/// assert_eq!(url.path_and_query(), "/chat?room=1");
/// assert_eq!(url.host_header(), "[::1]:9001");
///
/// let url = Url::parse("ws://example.com").unwrap();
/// assert_eq!((url.port(), url.path_and_query()), (80, "/"));
/// assert_eq!(url.host_header(), "example.com");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Url {
    secure: bool,
    host: String,
    port: u16,
    path_and_query: String,
}

impl Url {
    /// Parses a `ws://` or `wss://` URI.
    ///
    /// * The scheme is matched case-insensitively; `wss` sets the secure flag.
    /// * The host is a registered name or IPv4 address (lowercased), or an IPv6 literal in
    ///   brackets. User information (`user@host`) is not part of a WebSocket URI and is rejected.
    /// * The port defaults to 80 for `ws` and 443 for `wss`; port 0 is rejected.
    /// * An empty path becomes `/` (section 3: "`/` if the path component is empty").
    /// * A fragment is rejected: "Fragment identifiers are meaningless in the context of
    ///   WebSocket URIs and MUST NOT be used on these URIs" (section 3). A literal `#` must be
    ///   escaped as `%23`.
    /// * Spaces, control characters and non-ASCII characters must be percent-encoded.
    ///
    /// Fails with [`HandshakeError::InvalidUrl`].
    pub fn parse(input: &str) -> Result<Url, HandshakeError> {
        let (scheme, rest) = input
            .split_once("://")
            .ok_or(HandshakeError::InvalidUrl("missing scheme"))?;
        let secure = if scheme.eq_ignore_ascii_case("ws") {
            false
        } else if scheme.eq_ignore_ascii_case("wss") {
            true
        } else {
            return Err(HandshakeError::InvalidUrl("scheme is not ws or wss"));
        };
        if rest.contains('#') {
            return Err(HandshakeError::InvalidUrl(
                "fragment identifiers are not allowed",
            ));
        }
        if !rest.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(HandshakeError::InvalidUrl(
                "space, control or non-ASCII character",
            ));
        }

        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path_and_query) = rest.split_at(authority_end);
        if authority.contains('@') {
            return Err(HandshakeError::InvalidUrl(
                "user information is not allowed",
            ));
        }

        let (host, port) = split_host_port(authority)?;
        let port = match port {
            None => default_port(secure),
            Some(port) => parse_port(port)?,
        };
        let path_and_query = if path_and_query.starts_with('/') {
            String::from(path_and_query)
        } else {
            // Empty path, possibly followed by a query.
            format!("/{path_and_query}")
        };
        Ok(Url {
            secure,
            host,
            port,
            path_and_query,
        })
    }

    /// Whether the scheme is `wss`: the caller must run TLS over the connection before the
    /// handshake (RFC 6455 section 4.1, step 5).
    pub fn secure(&self) -> bool {
        self.secure
    }

    /// The host to connect to (and the TLS server name): a lowercased name, an IPv4 address,
    /// or an IPv6 address without its brackets.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port to connect to, with the scheme's default applied.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The /resource name/: the path (at least `/`) and the query with its `?`, as the
    /// `Request-URI` of the GET request.
    pub fn path_and_query(&self) -> &str {
        &self.path_and_query
    }

    /// The value of the `Host` header: the host (in brackets if IPv6) followed by `:port`
    /// only when the port is not the scheme's default (RFC 6455 section 4.1, step 4).
    pub fn host_header(&self) -> String {
        let mut out = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port != default_port(self.secure) {
            out.push_str(&format!(":{}", self.port));
        }
        out
    }
}

impl FromStr for Url {
    type Err = HandshakeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Url::parse(s)
    }
}

/// Writes the URI back, omitting the port when it is the default.
impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.secure { "wss" } else { "ws" };
        write!(
            f,
            "{scheme}://{}{}",
            self.host_header(),
            self.path_and_query
        )
    }
}

fn default_port(secure: bool) -> u16 {
    if secure {
        443
    } else {
        80
    }
}

/// Splits `host [ ":" port ]`, validating the host (RFC 3986 section 3.2.2).
fn split_host_port(authority: &str) -> Result<(String, Option<&str>), HandshakeError> {
    if let Some(literal) = authority.strip_prefix('[') {
        let (address, after) = literal
            .split_once(']')
            .ok_or(HandshakeError::InvalidUrl("unterminated IPv6 literal"))?;
        if address.parse::<core::net::Ipv6Addr>().is_err() {
            return Err(HandshakeError::InvalidUrl("invalid IPv6 literal"));
        }
        let port = match after {
            "" => None,
            _ => Some(
                after
                    .strip_prefix(':')
                    .ok_or(HandshakeError::InvalidUrl("junk after IPv6 literal"))?,
            ),
        };
        return Ok((address.to_ascii_lowercase(), port));
    }

    let (host, port) = match authority.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    };
    if host.is_empty() {
        return Err(HandshakeError::InvalidUrl("missing host"));
    }
    if !is_reg_name(host.as_bytes()) {
        return Err(HandshakeError::InvalidUrl("invalid character in host"));
    }
    Ok((host.to_ascii_lowercase(), port))
}

/// `reg-name = *( unreserved / pct-encoded / sub-delims )` (RFC 3986 section 3.2.2), which
/// also covers IPv4 addresses.
fn is_reg_name(host: &[u8]) -> bool {
    let mut i = 0;
    while let Some(&b) = host.get(i) {
        match b {
            b'%' => {
                let escape = host.get(i + 1..i + 3);
                if !escape.is_some_and(|e| e.iter().all(u8::is_ascii_hexdigit)) {
                    return false;
                }
                i += 3;
            }
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => i += 1,
            b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'=' => i += 1,
            _ => return false,
        }
    }
    true
}

fn parse_port(port: &str) -> Result<u16, HandshakeError> {
    const INVALID: HandshakeError = HandshakeError::InvalidUrl("invalid port");
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(INVALID);
    }
    match port.parse::<u16>() {
        Ok(0) | Err(_) => Err(INVALID),
        Ok(port) => Ok(port),
    }
}

#[cfg(test)]
mod section_3_websocket_uris {
    use super::*;
    use alloc::string::ToString;

    fn parts(input: &str) -> (bool, String, u16, String) {
        let url = Url::parse(input).unwrap();
        (
            url.secure(),
            String::from(url.host()),
            url.port(),
            String::from(url.path_and_query()),
        )
    }

    fn owned(secure: bool, host: &str, port: u16, path: &str) -> (bool, String, u16, String) {
        (secure, String::from(host), port, String::from(path))
    }

    #[test]
    fn default_ports() {
        assert_eq!(
            parts("ws://example.com/chat"),
            owned(false, "example.com", 80, "/chat")
        );
        assert_eq!(
            parts("wss://example.com/chat"),
            owned(true, "example.com", 443, "/chat")
        );
    }

    #[test]
    fn explicit_ports() {
        assert_eq!(
            parts("ws://example.com:9001/"),
            owned(false, "example.com", 9001, "/")
        );
        assert_eq!(
            parts("wss://example.com:80/"),
            owned(true, "example.com", 80, "/")
        );
        assert_eq!(parts("ws://h:65535"), owned(false, "h", 65535, "/"));
    }

    #[test]
    fn scheme_is_case_insensitive_and_sets_secure() {
        // "The URI is called "secure" ... if the scheme component matches "wss"
        // case-insensitively."
        assert!(Url::parse("WSS://example.com").unwrap().secure());
        assert!(!Url::parse("Ws://example.com").unwrap().secure());
    }

    #[test]
    fn empty_path_becomes_slash() {
        assert_eq!(
            parts("ws://example.com"),
            owned(false, "example.com", 80, "/")
        );
        assert_eq!(
            parts("ws://example.com?a=1"),
            owned(false, "example.com", 80, "/?a=1")
        );
        assert_eq!(
            parts("ws://example.com:81?a=1&b"),
            owned(false, "example.com", 81, "/?a=1&b")
        );
    }

    #[test]
    fn path_and_query_are_kept_verbatim() {
        assert_eq!(
            parts("ws://example.com/a/b%20c?x=%23y&z"),
            owned(false, "example.com", 80, "/a/b%20c?x=%23y&z")
        );
    }

    #[test]
    fn ipv6_and_ipv4_literals() {
        assert_eq!(parts("ws://[::1]:9001"), owned(false, "::1", 9001, "/"));
        assert_eq!(
            parts("wss://[2001:DB8::1]/x"),
            owned(true, "2001:db8::1", 443, "/x")
        );
        assert_eq!(
            parts("ws://127.0.0.1:8080/"),
            owned(false, "127.0.0.1", 8080, "/")
        );
    }

    #[test]
    fn host_is_lowercased() {
        assert_eq!(
            Url::parse("ws://Example.COM/").unwrap().host(),
            "example.com"
        );
    }

    #[test]
    fn host_header_omits_default_ports() {
        let header = |s: &str| Url::parse(s).unwrap().host_header();
        assert_eq!(header("ws://example.com/"), "example.com");
        assert_eq!(header("ws://example.com:80/"), "example.com");
        assert_eq!(header("ws://example.com:443/"), "example.com:443");
        assert_eq!(header("wss://example.com:443/"), "example.com");
        assert_eq!(header("wss://example.com:80/"), "example.com:80");
        assert_eq!(header("ws://[::1]:9001/"), "[::1]:9001");
        assert_eq!(header("ws://[::1]/"), "[::1]");
    }

    #[test]
    fn display_and_from_str_round_trip() {
        for input in [
            "ws://example.com/",
            "wss://[::1]:9001/chat?x=1",
            "ws://h:8080/p",
        ] {
            let url: Url = input.parse().unwrap();
            assert_eq!(url.to_string(), input);
            assert_eq!(Url::parse(&url.to_string()).unwrap(), url);
        }
        assert_eq!(
            Url::parse("wss://example.com:443").unwrap().to_string(),
            "wss://example.com/"
        );
    }

    #[test]
    fn fragments_are_rejected() {
        // "Fragment identifiers ... MUST NOT be used on these URIs."
        for input in [
            "ws://example.com/#frag",
            "ws://example.com#",
            "ws://example.com/a?b#c",
        ] {
            assert_eq!(
                Url::parse(input),
                Err(HandshakeError::InvalidUrl(
                    "fragment identifiers are not allowed"
                ))
            );
        }
    }

    #[test]
    fn invalid_uris_are_rejected() {
        for input in [
            "",
            "example.com",
            "http://example.com/",
            "wss:/example.com",
            "ws://",
            "ws:///path",
            "ws://:80/",
            "ws://example.com:/",
            "ws://example.com:0/",
            "ws://example.com:65536/",
            "ws://example.com:-1/",
            "ws://example.com:8o/",
            "ws://example.com:80:81/",
            "ws://user@example.com/",
            "ws://user:pw@example.com/",
            "ws://exa mple.com/",
            "ws://example.com/a b",
            "ws://example.com/\r\n",
            "ws://exämple.com/",
            "ws://ex%zzample.com/",
            "ws://ex%2/",
            "ws://exa<mple.com/",
            "ws://[::1/",
            "ws://[::1]x/",
            "ws://[::g]/",
            "ws://[]/",
            "ws://[127.0.0.1]/",
            "ws://::1/",
        ] {
            assert!(
                matches!(Url::parse(input), Err(HandshakeError::InvalidUrl(_))),
                "{input:?} should be rejected"
            );
        }
    }
}
