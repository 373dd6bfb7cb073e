//! Header fields: the owned header list of a parsed message, comma-separated list tokens, and
//! the checks applied to header names and values before they are written.

use alloc::string::String;
use alloc::vec::Vec;

use crate::error::HandshakeError;

/// The header fields of a parsed request or response, in the order received.
///
/// Names keep the case they were sent with; lookups compare them ASCII case-insensitively
/// (RFC 6455 section 4.1: "all header field names in both HTTP requests and HTTP responses are
/// case-insensitive").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers {
    entries: Vec<(String, Vec<u8>)>,
}

impl Headers {
    pub(super) fn push(&mut self, name: &str, value: &[u8]) {
        self.entries.push((String::from(name), Vec::from(value)));
    }

    /// The value of the first header named `name` (case-insensitively), if any.
    ///
    /// Values are raw bytes with surrounding whitespace removed; HTTP allows non-ASCII bytes.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.entries
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    /// The values of every header named `name` (case-insensitively), in order.
    ///
    /// Use this for headers that may be split across several lines, such as
    /// `Sec-WebSocket-Protocol` in a request.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.entries
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    /// How many headers are named `name` (case-insensitively).
    pub fn count(&self, name: &str) -> usize {
        self.get_all(name).count()
    }

    /// Every header as `(name, value)`, in the order received.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> + '_ {
        self.entries.iter().map(|(n, v)| (n.as_str(), v.as_slice()))
    }

    /// The number of header lines.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no headers.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Whether a comma-separated header value contains `token`, compared ASCII case-insensitively.
///
/// Elements are trimmed of spaces and tabs and empty elements are skipped, as in the `#rule` of
/// RFC 2616 section 2.1 that RFC 6455 uses. This is how `Connection` and `Upgrade` are checked
/// (RFC 6455 section 4.2.1, items 3 and 4).
///
/// ```
/// use ws_proto::handshake::header_contains_token;
/// assert!(header_contains_token(b"keep-alive, Upgrade", "upgrade"));
/// assert!(header_contains_token(b"WebSocket", "websocket"));
/// assert!(!header_contains_token(b"upgrade-insecure", "upgrade"));
/// ```
pub fn header_contains_token(value: &[u8], token: &str) -> bool {
    list_elements(value).any(|element| element.eq_ignore_ascii_case(token.as_bytes()))
}

/// Checks that header `name` is present and that one of its lines holds `token`, failing with
/// `MissingHeader(name)` or `InvalidHeader(name)`.
pub(super) fn require_token(
    headers: &Headers,
    name: &'static str,
    token: &str,
) -> Result<(), HandshakeError> {
    if headers.get(name).is_none() {
        return Err(HandshakeError::MissingHeader(name));
    }
    if !any_contains_token(headers.get_all(name), token) {
        return Err(HandshakeError::InvalidHeader(name));
    }
    Ok(())
}

/// The value of a header that may appear at most once, failing with `DuplicateHeader(name)`.
pub(super) fn single<'h>(
    headers: &'h Headers,
    name: &'static str,
) -> Result<Option<&'h [u8]>, HandshakeError> {
    let mut values = headers.get_all(name);
    let first = values.next();
    if values.next().is_some() {
        return Err(HandshakeError::DuplicateHeader(name));
    }
    Ok(first)
}

/// Whether any of several header lines contains `token` (see [`header_contains_token`]).
pub(super) fn any_contains_token<'a>(
    mut values: impl Iterator<Item = &'a [u8]>,
    token: &str,
) -> bool {
    values.any(|value| header_contains_token(value, token))
}

/// The non-empty, trimmed elements of a comma-separated list.
pub(super) fn list_elements(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(trim_ows)
        .filter(|element| !element.is_empty())
}

/// Removes optional whitespace (spaces and tabs) from both ends.
pub(super) fn trim_ows(mut value: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = value {
        value = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = value {
        value = rest;
    }
    value
}

/// Whether `b` is a `tchar` (RFC 7230 section 3.2.6; RFC 2616's `token` excludes the same
/// separators).
pub(super) fn is_tchar(b: u8) -> bool {
    matches!(b,
        b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`'
        | b'|' | b'~' | b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z')
}

/// Whether `s` is a non-empty `token`.
pub(super) fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_tchar(b))
}

/// Checks a header field that the local application wants to send.
///
/// The name must be a token, the value must hold no control characters except horizontal tab
/// (so no CR, LF or NUL that could split or truncate the header block), and the name must not be
/// one of `reserved`, the headers the writer produces itself.
pub(super) fn check_header(
    name: &str,
    value: &[u8],
    reserved: &[&str],
) -> Result<(), HandshakeError> {
    if !is_token(name.as_bytes()) {
        return Err(HandshakeError::InvalidArgument(
            "header name is not a token",
        ));
    }
    check_value(value)?;
    if reserved.iter().any(|r| r.eq_ignore_ascii_case(name)) {
        return Err(HandshakeError::InvalidArgument(
            "header is written by the handshake itself",
        ));
    }
    Ok(())
}

/// Checks a header value that the local application wants to send: no control characters other
/// than horizontal tab, and no DEL.
pub(super) fn check_value(value: &[u8]) -> Result<(), HandshakeError> {
    if value.iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f) {
        return Err(HandshakeError::InvalidArgument(
            "header value contains CR, LF, NUL or another control character",
        ));
    }
    Ok(())
}

/// Appends `name: value\r\n`.
pub(super) fn write_header(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod section_4_2_1_header_tokens {
    use super::*;

    #[test]
    fn token_search_is_case_insensitive_in_comma_lists() {
        assert!(header_contains_token(b"Upgrade", "upgrade"));
        assert!(header_contains_token(b"keep-alive, Upgrade", "upgrade"));
        assert!(header_contains_token(b"keep-alive,UPGRADE", "upgrade"));
        assert!(header_contains_token(b" ,\tupgrade\t, ", "Upgrade"));
        assert!(!header_contains_token(b"keep-alive", "upgrade"));
        assert!(!header_contains_token(b"", "upgrade"));
        assert!(!header_contains_token(b"upgrades", "upgrade"));
        assert!(!header_contains_token(b"up grade", "upgrade"));
    }

    #[test]
    fn token_search_over_several_lines() {
        let lines: [&[u8]; 2] = [b"keep-alive", b"Upgrade"];
        assert!(any_contains_token(lines.iter().copied(), "upgrade"));
        assert!(!any_contains_token(lines.iter().copied(), "close"));
    }

    #[test]
    fn trim_and_tokens() {
        assert_eq!(trim_ows(b" \t a b \t"), b"a b");
        assert_eq!(trim_ows(b"   "), b"");
        assert!(is_token(b"permessage-deflate"));
        assert!(!is_token(b""));
        assert!(!is_token(b"a b"));
        assert!(!is_token(b"a,b"));
        assert!(!is_token(b"a\"b"));
    }

    #[test]
    fn lookups_ignore_name_case_and_keep_order() {
        let mut headers = Headers::default();
        headers.push("Sec-WebSocket-Protocol", b"chat");
        headers.push("X-Other", b"1");
        headers.push("sec-websocket-protocol", b"superchat");
        assert_eq!(headers.get("SEC-WEBSOCKET-PROTOCOL"), Some(&b"chat"[..]));
        let all: Vec<&[u8]> = headers.get_all("sec-websocket-protocol").collect();
        assert_eq!(all, [&b"chat"[..], &b"superchat"[..]]);
        assert_eq!(headers.count("x-other"), 1);
        assert_eq!(headers.get("missing"), None);
        assert_eq!(headers.len(), 3);
        assert!(!headers.is_empty());
        let names: Vec<&str> = headers.iter().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            [
                "Sec-WebSocket-Protocol",
                "X-Other",
                "sec-websocket-protocol"
            ]
        );
    }

    #[test]
    fn outgoing_headers_reject_injection() {
        assert_eq!(check_header("X-Ok", b"value\twith tab", &[]), Ok(()));
        for bad in [
            "a\r\nInjected: 1",
            "a\nb",
            "a\rb",
            "a\0b",
            "a\x7fb",
            "a\x01b",
        ] {
            assert!(matches!(
                check_header("X-Bad", bad.as_bytes(), &[]),
                Err(HandshakeError::InvalidArgument(_))
            ));
        }
        for bad_name in ["", "X Bad", "X:Bad", "X\r\nBad", "X\0"] {
            assert!(matches!(
                check_header(bad_name, b"v", &[]),
                Err(HandshakeError::InvalidArgument(_))
            ));
        }
        assert!(matches!(
            check_header("upgrade", b"h2c", &["Upgrade"]),
            Err(HandshakeError::InvalidArgument(_))
        ));
    }

    #[test]
    fn write_header_appends_one_crlf_line() {
        let mut out = Vec::from(&b"x"[..]);
        write_header(&mut out, "Upgrade", b"websocket");
        assert_eq!(out, b"xUpgrade: websocket\r\n");
    }
}
