//! The `Sec-WebSocket-Extensions` header (RFC 6455 section 9.1): parsing and writing.
//!
//! ```text
//! extension-list = 1#extension
//! extension = extension-token *( ";" extension-param )
//! extension-param = token [ "=" (token | quoted-string) ]
//! ```
//!
//! with RFC 2616's implied linear whitespace between elements. This module only knows the
//! syntax: what the names and parameters mean is up to each extension.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use super::headers::{is_tchar, is_token};
use crate::error::HandshakeError;

/// One element of a `Sec-WebSocket-Extensions` header: an extension name with its parameters.
///
/// A client sends a list of these as offers; a server answers with the ones it accepted, in the
/// order they apply (RFC 6455 section 9.1).
///
/// ```
/// use ws_proto::handshake::ExtensionOffer;
/// let offer = ExtensionOffer::new("permessage-deflate")
///     .with_param("client_max_window_bits", None)
///     .with_param("server_max_window_bits", Some("10"));
/// assert_eq!(
///     offer.to_string(),
///     "permessage-deflate; client_max_window_bits; server_max_window_bits=10"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExtensionOffer {
    /// The extension token, for example `permessage-deflate`.
    pub name: String,
    /// The parameters in order, each a token with an optional token value. Quoted values are
    /// stored unescaped.
    pub params: Vec<(String, Option<String>)>,
}

impl ExtensionOffer {
    /// An extension element with no parameters.
    pub fn new(name: impl Into<String>) -> Self {
        ExtensionOffer {
            name: name.into(),
            params: Vec::new(),
        }
    }

    /// Returns this element with one more parameter appended.
    pub fn with_param(mut self, name: impl Into<String>, value: Option<&str>) -> Self {
        self.params.push((name.into(), value.map(String::from)));
        self
    }

    /// Checks that the name, every parameter name and every value are tokens, so that the
    /// element can be written and parsed back unchanged.
    ///
    /// Fails with [`HandshakeError::InvalidArgument`].
    pub fn validate(&self) -> Result<(), HandshakeError> {
        if !is_token(self.name.as_bytes()) {
            return Err(HandshakeError::InvalidArgument(
                "extension name is not a token",
            ));
        }
        for (name, value) in &self.params {
            if !is_token(name.as_bytes()) {
                return Err(HandshakeError::InvalidArgument(
                    "extension parameter name is not a token",
                ));
            }
            if value.as_ref().is_some_and(|v| !is_token(v.as_bytes())) {
                return Err(HandshakeError::InvalidArgument(
                    "extension parameter value is not a token",
                ));
            }
        }
        Ok(())
    }
}

/// Writes the element as `name; param; param=value`. Values are written as bare tokens; call
/// [`ExtensionOffer::validate`] first if the element may hold other characters.
impl fmt::Display for ExtensionOffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        for (name, value) in &self.params {
            write!(f, "; {name}")?;
            if let Some(value) = value {
                write!(f, "={value}")?;
            }
        }
        Ok(())
    }
}

/// Parses the values of every `Sec-WebSocket-Extensions` header line of a message.
///
/// Several lines are equivalent to one line holding all their elements, in order
/// (RFC 6455 section 9.1). Each line must hold at least one element (`1#extension`); empty list
/// elements such as `a, , b` are skipped as RFC 2616's `#rule` allows. Any other deviation from
/// the grammar fails with
/// [`HandshakeError::InvalidHeader`]`("Sec-WebSocket-Extensions")`: "the recipient of such
/// malformed data MUST immediately _Fail the WebSocket Connection_" (section 9.1).
///
/// ```
/// use ws_proto::handshake::{parse_extensions, ExtensionOffer};
/// let lines: [&[u8]; 2] = [b"foo", b"bar; baz=2, qux; v=\"1\""];
/// let parsed = parse_extensions(lines).unwrap();
/// assert_eq!(
///     parsed,
///     [
///         ExtensionOffer::new("foo"),
///         ExtensionOffer::new("bar").with_param("baz", Some("2")),
///         ExtensionOffer::new("qux").with_param("v", Some("1")),
///     ]
/// );
/// ```
pub fn parse_extensions<'a>(
    header_values: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Vec<ExtensionOffer>, HandshakeError> {
    let mut out = Vec::new();
    for value in header_values {
        parse_line(value, &mut out).map_err(|()| INVALID)?;
    }
    Ok(out)
}

/// Appends `offers` as one comma-separated header value (without the header name or CRLF).
///
/// Fails with [`HandshakeError::InvalidArgument`] and writes nothing if an element does not
/// pass [`ExtensionOffer::validate`].
///
/// ```
/// use ws_proto::handshake::{write_extensions, ExtensionOffer};
/// let mut out = Vec::new();
/// let offers = [ExtensionOffer::new("foo"), ExtensionOffer::new("bar").with_param("baz", Some("2"))];
/// write_extensions(&offers, &mut out).unwrap();
/// assert_eq!(out, b"foo, bar; baz=2");
/// ```
pub fn write_extensions(
    offers: &[ExtensionOffer],
    out: &mut Vec<u8>,
) -> Result<(), HandshakeError> {
    for offer in offers {
        offer.validate()?;
    }
    for (i, offer) in offers.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b", ");
        }
        out.extend_from_slice(offer.name.as_bytes());
        for (name, value) in &offer.params {
            out.extend_from_slice(b"; ");
            out.extend_from_slice(name.as_bytes());
            if let Some(value) = value {
                out.push(b'=');
                out.extend_from_slice(value.as_bytes());
            }
        }
    }
    Ok(())
}

const INVALID: HandshakeError = HandshakeError::InvalidHeader("Sec-WebSocket-Extensions");

/// A cursor over one header value. Errors carry no detail: any of them means the header is
/// malformed.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    /// Consumes `b` if it is next.
    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    fn token(&mut self) -> Result<String, ()> {
        let start = self.pos;
        while self.peek().is_some_and(is_tchar) {
            self.pos += 1;
        }
        let token = &self.bytes[start..self.pos];
        if token.is_empty() {
            return Err(());
        }
        // Token characters are ASCII.
        core::str::from_utf8(token)
            .map(String::from)
            .map_err(|_| ())
    }

    /// A quoted-string (RFC 2616 section 2.2), unescaped. The caller has seen the opening quote.
    fn quoted(&mut self) -> Result<String, ()> {
        let mut value = Vec::new();
        loop {
            let b = self.peek().ok_or(())?;
            self.pos += 1;
            match b {
                b'"' => break,
                b'\\' => {
                    // quoted-pair = "\" CHAR
                    let escaped = self.peek().filter(u8::is_ascii).ok_or(())?;
                    self.pos += 1;
                    value.push(escaped);
                }
                // qdtext excludes CTLs other than LWS.
                b'\t' | b' ' => value.push(b),
                b if b < 0x20 || b == 0x7f => return Err(()),
                b => value.push(b),
            }
        }
        // "When using the quoted-string syntax variant, the value after quoted-string
        // unescaping MUST conform to the 'token' ABNF." (section 9.1)
        if !is_token(&value) {
            return Err(());
        }
        String::from_utf8(value).map_err(|_| ())
    }
}

/// Parses one header line, `1#extension`, appending its elements.
fn parse_line(value: &[u8], out: &mut Vec<ExtensionOffer>) -> Result<(), ()> {
    let mut cursor = Cursor {
        bytes: value,
        pos: 0,
    };
    let mut elements = 0;
    loop {
        cursor.skip_ows();
        if cursor.peek().is_none() {
            break;
        }
        if cursor.eat(b',') {
            // An empty list element.
            continue;
        }
        out.push(parse_extension(&mut cursor)?);
        elements += 1;
        cursor.skip_ows();
        if cursor.peek().is_some() && !cursor.eat(b',') {
            return Err(());
        }
    }
    if elements == 0 {
        return Err(());
    }
    Ok(())
}

/// Parses `extension-token *( ";" extension-param )`, stopping before a `,` or the end.
fn parse_extension(cursor: &mut Cursor<'_>) -> Result<ExtensionOffer, ()> {
    let mut offer = ExtensionOffer::new(cursor.token()?);
    loop {
        cursor.skip_ows();
        if !cursor.eat(b';') {
            return Ok(offer);
        }
        cursor.skip_ows();
        let name = cursor.token()?;
        cursor.skip_ows();
        let value = if cursor.eat(b'=') {
            cursor.skip_ows();
            if cursor.eat(b'"') {
                Some(cursor.quoted()?)
            } else {
                Some(cursor.token()?)
            }
        } else {
            None
        };
        offer.params.push((name, value));
    }
}

#[cfg(test)]
mod section_9_1_negotiating_extensions {
    use super::*;
    use alloc::string::ToString;

    fn parse(value: &str) -> Result<Vec<ExtensionOffer>, HandshakeError> {
        parse_extensions([value.as_bytes()])
    }

    #[test]
    fn rfc_examples() {
        assert_eq!(
            parse("deflate-stream").unwrap(),
            [ExtensionOffer::new("deflate-stream")]
        );
        // The folded example of section 9.1, unfolded.
        assert_eq!(
            parse("mux; max-channels=4; flow-control, deflate-stream").unwrap(),
            [
                ExtensionOffer::new("mux")
                    .with_param("max-channels", Some("4"))
                    .with_param("flow-control", None),
                ExtensionOffer::new("deflate-stream"),
            ]
        );
        assert_eq!(
            parse("private-extension").unwrap(),
            [ExtensionOffer::new("private-extension")]
        );
    }

    #[test]
    fn split_lines_equal_one_combined_line() {
        // "Sec-WebSocket-Extensions: foo" + "Sec-WebSocket-Extensions: bar; baz=2" is exactly
        // equivalent to "Sec-WebSocket-Extensions: foo, bar; baz=2".
        let split: [&[u8]; 2] = [b"foo", b"bar; baz=2"];
        assert_eq!(
            parse_extensions(split).unwrap(),
            parse("foo, bar; baz=2").unwrap()
        );
    }

    #[test]
    fn quoted_values_are_unescaped() {
        assert_eq!(
            parse(r#"foo; a="1"; b="x\yz""#).unwrap(),
            [ExtensionOffer::new("foo")
                .with_param("a", Some("1"))
                .with_param("b", Some("xyz"))]
        );
    }

    #[test]
    fn whitespace_around_separators_is_allowed() {
        assert_eq!(
            parse(" \tfoo ;\ta = 1 , bar\t").unwrap(),
            [
                ExtensionOffer::new("foo").with_param("a", Some("1")),
                ExtensionOffer::new("bar"),
            ]
        );
    }

    #[test]
    fn empty_list_elements_are_skipped() {
        assert_eq!(
            parse(", foo, ,bar,").unwrap(),
            [ExtensionOffer::new("foo"), ExtensionOffer::new("bar")]
        );
    }

    #[test]
    fn duplicate_names_and_params_are_kept_for_the_extension_to_judge() {
        assert_eq!(
            parse("foo; a=1; a=2, foo").unwrap(),
            [
                ExtensionOffer::new("foo")
                    .with_param("a", Some("1"))
                    .with_param("a", Some("2")),
                ExtensionOffer::new("foo"),
            ]
        );
    }

    #[test]
    fn malformed_values_fail() {
        for bad in [
            "",
            "   ",
            ",",
            " , ,",
            "foo;",
            "foo; ",
            "foo;;a",
            "; a",
            "foo; =1",
            "foo; a=",
            "foo; a= ,bar",
            "foo bar",
            "foo; a b",
            "foo; a=1 2",
            "foo; a=\"\"",
            "foo; a=\"b c\"",
            "foo; a=\"b,c\"",
            "foo; a=\"unterminated",
            "foo; a=\"trailing\\",
            "foo; a=\"1\"x",
            "foo; a=b=c",
            "fo\"o",
            "foo/bar",
            "foo=1",
            "foo; a=\"\x01\"",
        ] {
            assert_eq!(parse(bad), Err(INVALID), "{bad:?} should be rejected");
        }
        // Each header line is its own `1#extension`.
        let lines: [&[u8]; 2] = [b"foo", b""];
        assert_eq!(parse_extensions(lines), Err(INVALID));
        // Non-ASCII bytes are not token characters.
        let non_ascii: [&[u8]; 1] = [b"f\xc3\xb6o"];
        assert_eq!(parse_extensions(non_ascii), Err(INVALID));
    }

    #[test]
    fn no_header_lines_means_no_extensions() {
        let none: [&[u8]; 0] = [];
        assert_eq!(parse_extensions(none), Ok(Vec::new()));
    }

    #[test]
    fn writing_round_trips() {
        let offers = [
            ExtensionOffer::new("permessage-deflate")
                .with_param("client_max_window_bits", None)
                .with_param("server_no_context_takeover", None),
            ExtensionOffer::new("x-custom").with_param("level", Some("9")),
        ];
        let mut out = Vec::new();
        write_extensions(&offers, &mut out).unwrap();
        assert_eq!(
            out,
            b"permessage-deflate; client_max_window_bits; server_no_context_takeover, \
              x-custom; level=9"
        );
        assert_eq!(parse_extensions([out.as_slice()]).unwrap(), offers);
        assert_eq!(offers[1].to_string(), "x-custom; level=9");
    }

    #[test]
    fn writing_invalid_elements_fails_and_writes_nothing() {
        let mut out = Vec::new();
        for bad in [
            ExtensionOffer::new(""),
            ExtensionOffer::new("a b"),
            ExtensionOffer::new("ok").with_param("bad name", None),
            ExtensionOffer::new("ok").with_param("p", Some("")),
            ExtensionOffer::new("ok").with_param("p", Some("a\r\nb")),
        ] {
            let offers = [ExtensionOffer::new("fine"), bad];
            assert!(matches!(
                write_extensions(&offers, &mut out),
                Err(HandshakeError::InvalidArgument(_))
            ));
            assert!(out.is_empty());
        }
    }
}
