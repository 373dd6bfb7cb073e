//! A client's opening handshake request bytes into `HttpRequest::parse` and
//! `HttpRequest::into_websocket` (the server side).
//!
//! Input: `[limits-byte-0, limits-byte-1, cut, request bytes...]`.
//!
//! The two steps together are checked as one parser (`websocket` below) and must agree with
//! `HttpRequest::parse` alone.
//!
//! Checks: no panic; `Complete(n)` has `n` within the input and the limit, the bytes after
//! `n` do not change the request, and every shorter prefix is `Partial`; errors never change
//! or vanish as more bytes arrive; an accepted request can be answered with a 101;
//! an error is answered with a well-formed HTTP response carrying `http_status()`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ws_fuzz::{check_prefix_consistency, limits_from};
use ws_proto::handshake::{HttpRequest, HttpResponse, Limits, Request, Status};
use ws_proto::HandshakeError;

/// `HttpRequest::parse` then `into_websocket`: a request parser with the same contract.
fn websocket(input: &[u8], limits: Limits) -> Result<Status<(Request, usize)>, HandshakeError> {
    match HttpRequest::parse(input, limits)? {
        Status::Partial => Ok(Status::Partial),
        Status::Complete((head, n)) => Ok(Status::Complete((head.into_websocket()?, n))),
    }
}

fuzz_target!(|data: &[u8]| {
    let [b0, b1, cut, input @ ..] = data else {
        return;
    };
    let limits = limits_from(*b0, *b1);
    let k = input.len() * usize::from(*cut) / 255;
    let http = check_prefix_consistency(input, k, limits, |i| HttpRequest::parse(i, limits));
    let upgrade = check_prefix_consistency(input, k, limits, |i| websocket(i, limits));
    // The same header block, and `into_websocket` of a clone gives the same answer.
    match (&http, &upgrade) {
        (Ok(Status::Complete((head, n))), _) => {
            let _ = (head.path(), head.query(), head.method(), head.target());
            let again = head.clone().into_websocket();
            match &upgrade {
                Ok(Status::Complete((request, m))) => {
                    assert_eq!(n, m);
                    assert_eq!(again.as_ref(), Ok(request));
                }
                Err(e) => assert_eq!(again.as_ref(), Err(e)),
                Ok(Status::Partial) => panic!("HTTP head complete, upgrade partial"),
            }
        }
        (Ok(Status::Partial), u) => assert!(matches!(u, Ok(Status::Partial))),
        (Err(e), u) => assert_eq!(u.as_ref().err(), Some(e)),
    }
    match upgrade {
        Ok(Status::Complete((request, _))) => {
            assert!(request.path().starts_with('/'));
            let _ = (request.query(), request.origin(), request.host());
            assert!(!request.host().is_empty());
            assert_eq!(request.key().len(), 24);
            let mut response = Vec::new();
            request.accept().write_response(&mut response);
            assert!(response.starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"));
            assert!(response.ends_with(b"\r\n\r\n"));
        }
        Ok(Status::Partial) => {}
        Err(e) => {
            let status = e.http_status();
            assert!(
                matches!(status, 400 | 426 | 431),
                "{e:?} answered with {status}"
            );
            let mut response = Vec::new();
            HttpResponse::from_error(&e)
                .write(&mut response)
                .expect("error responses are valid");
            let head = format!("HTTP/1.1 {status} ");
            assert!(response.starts_with(head.as_bytes()));
            // The answer is a complete HTTP response: a header block and exactly
            // Content-Length bytes of body.
            let text = String::from_utf8(response).expect("ASCII response");
            let (head, body) = text.split_once("\r\n\r\n").expect("a header block");
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("Content-Length: "))
                .and_then(|l| l.parse::<usize>().ok())
                .expect("Content-Length");
            assert_eq!(body.len(), length);
        }
    }
});
