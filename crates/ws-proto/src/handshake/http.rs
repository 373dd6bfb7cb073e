//! HTTP/1.1 message heads: parsing with `httparse` under [`Limits`], and status reason phrases.

use alloc::string::String;
use alloc::vec;

use super::headers::Headers;
use super::http_request::HttpRequest;
use super::{Limits, Status};
use crate::error::HandshakeError;

/// An owned status line and header block.
#[derive(Debug)]
pub(super) struct ResponseHead {
    pub(super) code: u16,
    pub(super) minor_version: u8,
    pub(super) headers: Headers,
}

/// Parses a request head, returning it with the length of the header block.
pub(super) fn parse_request(
    input: &[u8],
    limits: Limits,
) -> Result<Status<(HttpRequest, usize)>, HandshakeError> {
    let window = limit_window(input, limits);
    let mut slots = vec![httparse::EMPTY_HEADER; limits.max_headers];
    let mut request = httparse::Request::new(&mut slots);
    match request.parse(window).map_err(map_error)? {
        httparse::Status::Partial => partial(input, limits),
        httparse::Status::Complete(consumed) => {
            let mut headers = Headers::default();
            for header in request.headers.iter() {
                headers.push(header.name, header.value);
            }
            // httparse fills every field before reporting `Complete`.
            let head = HttpRequest {
                method: String::from(request.method.unwrap_or_default()),
                target: String::from(request.path.unwrap_or_default()),
                minor_version: request.version.unwrap_or_default(),
                headers,
            };
            Ok(Status::Complete((head, consumed)))
        }
    }
}

/// Parses a response head, returning it with the length of the header block.
pub(super) fn parse_response(
    input: &[u8],
    limits: Limits,
) -> Result<Status<(ResponseHead, usize)>, HandshakeError> {
    let window = limit_window(input, limits);
    let mut slots = vec![httparse::EMPTY_HEADER; limits.max_headers];
    let mut response = httparse::Response::new(&mut slots);
    match response.parse(window).map_err(map_error)? {
        httparse::Status::Partial => partial(input, limits),
        httparse::Status::Complete(consumed) => {
            let mut headers = Headers::default();
            for header in response.headers.iter() {
                headers.push(header.name, header.value);
            }
            let head = ResponseHead {
                code: response.code.unwrap_or_default(),
                minor_version: response.version.unwrap_or_default(),
                headers,
            };
            Ok(Status::Complete((head, consumed)))
        }
    }
}

/// Only the first `max_header_bytes` bytes are ever parsed, so a header block that ends later is
/// never seen as complete and the outcome never depends on bytes past the limit.
fn limit_window(input: &[u8], limits: Limits) -> &[u8] {
    &input[..input.len().min(limits.max_header_bytes)]
}

/// An incomplete header block is an error once it is already longer than the limit
/// (RFC 6455 section 10.4: implementations should impose limits).
fn partial<T>(input: &[u8], limits: Limits) -> Result<Status<T>, HandshakeError> {
    if input.len() > limits.max_header_bytes {
        Err(HandshakeError::HeadersTooLarge)
    } else {
        Ok(Status::Partial)
    }
}

fn map_error(error: httparse::Error) -> HandshakeError {
    match error {
        httparse::Error::TooManyHeaders => HandshakeError::TooManyHeaders,
        httparse::Error::HeaderName => HandshakeError::MalformedHttp("invalid header name"),
        httparse::Error::HeaderValue => HandshakeError::MalformedHttp("invalid header value"),
        httparse::Error::NewLine => HandshakeError::MalformedHttp("invalid line ending"),
        httparse::Error::Status => HandshakeError::MalformedHttp("invalid status code"),
        httparse::Error::Token => HandshakeError::MalformedHttp("invalid token"),
        httparse::Error::Version => HandshakeError::MalformedHttp("invalid HTTP version"),
    }
}

/// The reason phrase written after a status code (RFC 7231 section 6.1, RFC 6585 for 428-431).
///
/// Codes without a registered phrase get a generic one for their class.
pub(crate) fn reason_phrase(status: u16) -> &'static str {
    registered_phrase(status).unwrap_or(match status {
        100..=199 => "Informational",
        200..=299 => "Success",
        300..=399 => "Redirection",
        400..=499 => "Client Error",
        _ => "Server Error",
    })
}

fn registered_phrase(status: u16) -> Option<&'static str> {
    Some(match status {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Payload Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        421 => "Misdirected Request",
        426 => "Upgrade Required",
        428 => "Precondition Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => return None,
    })
}

#[cfg(test)]
mod limits_and_parsing {
    use super::*;

    const REQUEST: &[u8] = b"GET /chat HTTP/1.1\r\nHost: a\r\nX: 1\r\n\r\n";

    #[test]
    fn complete_request_head_is_owned_and_counted() {
        let Status::Complete((head, consumed)) = parse_request(REQUEST, Limits::default()).unwrap()
        else {
            panic!("expected a complete head");
        };
        assert_eq!(consumed, REQUEST.len());
        assert_eq!(head.method, "GET");
        assert_eq!(head.target, "/chat");
        assert_eq!(head.minor_version, 1);
        assert_eq!(head.headers.get("x"), Some(&b"1"[..]));
    }

    #[test]
    fn header_block_exactly_at_the_byte_limit_is_accepted() {
        let limits = Limits::default().with_max_header_bytes(REQUEST.len());
        assert!(parse_request(REQUEST, limits).unwrap().is_complete());
        let limits = Limits::default().with_max_header_bytes(REQUEST.len() - 1);
        assert_eq!(
            parse_request(REQUEST, limits).unwrap_err(),
            HandshakeError::HeadersTooLarge
        );
    }

    #[test]
    fn incomplete_block_longer_than_limit_fails_shorter_is_partial() {
        let limits = Limits::default().with_max_header_bytes(10);
        assert!(parse_request(&REQUEST[..10], limits).unwrap().is_partial());
        assert_eq!(
            parse_request(&REQUEST[..11], limits).unwrap_err(),
            HandshakeError::HeadersTooLarge
        );
    }

    #[test]
    fn header_count_limit() {
        let limits = Limits::default().with_max_headers(2);
        assert!(parse_request(REQUEST, limits).unwrap().is_complete());
        let limits = Limits::default().with_max_headers(1);
        assert_eq!(
            parse_request(REQUEST, limits).unwrap_err(),
            HandshakeError::TooManyHeaders
        );
    }

    #[test]
    fn response_head() {
        let input = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\nrest";
        let Status::Complete((head, consumed)) = parse_response(input, Limits::default()).unwrap()
        else {
            panic!("expected a complete head");
        };
        assert_eq!(consumed, input.len() - 4);
        assert_eq!(head.code, 101);
        assert_eq!(head.minor_version, 1);
        assert_eq!(head.headers.get("UPGRADE"), Some(&b"websocket"[..]));
    }

    #[test]
    fn httparse_errors_map_to_malformed_http() {
        assert!(matches!(
            parse_request(b"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", Limits::default()),
            Err(HandshakeError::MalformedHttp(_))
        ));
        assert!(matches!(
            parse_response(b"HTTP/1.1 1x1 Nope\r\n\r\n", Limits::default()),
            Err(HandshakeError::MalformedHttp(_))
        ));
    }

    #[test]
    fn reason_phrases() {
        assert_eq!(reason_phrase(101), "Switching Protocols");
        assert_eq!(reason_phrase(400), "Bad Request");
        assert_eq!(reason_phrase(403), "Forbidden");
        assert_eq!(reason_phrase(426), "Upgrade Required");
        assert_eq!(reason_phrase(431), "Request Header Fields Too Large");
        assert_eq!(reason_phrase(499), "Client Error");
        assert_eq!(reason_phrase(599), "Server Error");
    }
}
