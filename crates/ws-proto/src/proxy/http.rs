//! HTTP `CONNECT` (RFC 9110 section 9.3.6) with optional Basic authentication (RFC 7617).

use alloc::format;
use alloc::vec::Vec;

use base64::Engine as _;

use super::{ProxyError, Target};

/// The most headers a reply head may have.
const MAX_HEADERS: usize = 64;

/// Writes the `CONNECT` request for `target`, `port`.
pub(super) fn write_request(
    out: &mut Vec<u8>,
    target: &Target,
    port: u16,
    credentials: Option<(&str, &str)>,
) -> Result<(), ProxyError> {
    let authority = match target {
        Target::Name(name) => {
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(ProxyError::InvalidRequest(
                    "target host is empty or has a space or control character",
                ));
            }
            if name.contains(':') {
                format!("[{name}]:{port}")
            } else {
                format!("{name}:{port}")
            }
        }
        Target::Ip(core::net::IpAddr::V6(ip)) => format!("[{ip}]:{port}"),
        Target::Ip(ip) => format!("{ip}:{port}"),
    };
    out.extend_from_slice(
        format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n").as_bytes(),
    );
    if let Some((user, pass)) = credentials {
        if user.contains(':') {
            return Err(ProxyError::InvalidRequest(
                "a Basic authentication user cannot contain ':'",
            ));
        }
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
        out.extend_from_slice(format!("Proxy-Authorization: Basic {token}\r\n").as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    Ok(())
}

/// Parses the reply head: `Ok(None)` while incomplete, `Ok(Some(head length))` for a 2xx.
pub(super) fn parse_reply(input: &[u8]) -> Result<Option<usize>, ProxyError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    let len = match response.parse(input) {
        Ok(httparse::Status::Partial) => return Ok(None),
        Ok(httparse::Status::Complete(len)) => len,
        Err(httparse::Error::TooManyHeaders) => {
            return Err(ProxyError::BadReply("too many headers"))
        }
        Err(_) => return Err(ProxyError::BadReply("not an HTTP response")),
    };
    match response.code {
        Some(200..=299) => Ok(Some(len)),
        Some(407) => Err(ProxyError::AuthRequired),
        Some(status) => Err(ProxyError::Refused(status)),
        None => Err(ProxyError::BadReply("no status")),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Progress, ProxyHandshake, ProxyUrl};
    use super::*;
    use alloc::string::String;

    fn handshake(url: &str, target: Target) -> (ProxyHandshake, String) {
        let mut h = ProxyHandshake::new(&ProxyUrl::parse(url).unwrap(), target, 9001).unwrap();
        let mut out = Vec::new();
        assert!(h.poll_transmit(&mut out));
        (h, String::from_utf8(out).unwrap())
    }

    #[test]
    fn request_has_authority_host_and_basic_auth() {
        let (_, req) = handshake(
            "http://aladdin:open%20sesame@p",
            Target::Name("ws.example".into()),
        );
        assert_eq!(
            req,
            "CONNECT ws.example:9001 HTTP/1.1\r\nHost: ws.example:9001\r\n\
             Proxy-Authorization: Basic YWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n\r\n"
        );
        let (_, req) = handshake("http://p", Target::Ip("::1".parse().unwrap()));
        assert!(req.starts_with("CONNECT [::1]:9001 HTTP/1.1\r\n"));
        assert!(!req.contains("Proxy-Authorization"));
    }

    #[test]
    fn ready_after_2xx_with_the_bytes_behind_it() {
        let (mut h, _) = handshake("http://p", Target::Name("h".into()));
        let reply = b"HTTP/1.1 200 OK\r\nVia: p\r\n\r\nrest";
        for &b in &reply[..reply.len() - 5] {
            assert_eq!(h.receive_data(&[b]), Ok(Progress::NeedMore));
        }
        assert_eq!(
            h.receive_data(&reply[reply.len() - 5..]),
            Ok(Progress::Ready(b"rest".to_vec()))
        );
        assert!(h.is_done());
        assert_eq!(h.receive_data(b"x"), Err(ProxyError::Finished));
    }

    #[test]
    fn refusals_and_garbage() {
        for (reply, err) in [
            (
                &b"HTTP/1.1 403 Forbidden\r\n\r\n"[..],
                ProxyError::Refused(403),
            ),
            (
                b"HTTP/1.0 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n",
                ProxyError::Refused(502),
            ),
            (
                b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n",
                ProxyError::AuthRequired,
            ),
            (
                b"SSH-2.0-OpenSSH\r\n\r\n",
                ProxyError::BadReply("not an HTTP response"),
            ),
            (b"\x05\x00", ProxyError::BadReply("not an HTTP response")),
        ] {
            let (mut h, _) = handshake("http://p", Target::Name("h".into()));
            assert_eq!(h.receive_data(reply), Err(err), "{reply:?}");
            assert!(h.is_done());
        }
    }

    #[test]
    fn endless_head_is_bounded() {
        let (mut h, _) = handshake("http://p", Target::Name("h".into()));
        assert_eq!(
            h.receive_data(b"HTTP/1.1 200 OK\r\n"),
            Ok(Progress::NeedMore)
        );
        let header = b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
        let mut result = Ok(Progress::NeedMore);
        for _ in 0..super::super::MAX_REPLY / header.len() + 2 {
            result = h.receive_data(header);
            if result.is_err() {
                break;
            }
        }
        assert!(matches!(
            result,
            Err(ProxyError::ReplyTooLarge) | Err(ProxyError::BadReply("too many headers"))
        ));
    }

    #[test]
    fn invalid_targets_are_refused() {
        let proxy = ProxyUrl::parse("http://p").unwrap();
        for name in ["", "a b", "a\r\nX: y"] {
            assert!(matches!(
                ProxyHandshake::new(&proxy, Target::Name(name.into()), 1),
                Err(ProxyError::InvalidRequest(_))
            ));
        }
    }
}
