//! Tests of the handshake state machines: each role alone against golden bytes, both roles
//! against each other, and a property test that the outcome does not depend on how the
//! input is split.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::time::Duration;

use super::*;
use crate::{Config, Event, HandshakeError, Instant, Message, Transmit};

/// The client handshake of RFC 6455 section 1.3.
const RFC_REQUEST: &[u8] = b"GET /chat HTTP/1.1\r\n\
    Host: server.example.com\r\n\
    Upgrade: websocket\r\n\
    Connection: Upgrade\r\n\
    Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    Origin: http://example.com\r\n\
    Sec-WebSocket-Protocol: chat, superchat\r\n\
    Sec-WebSocket-Version: 13\r\n\
    \r\n";

/// The server handshake of RFC 6455 section 1.3.
const RFC_RESPONSE: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\n\
    Upgrade: websocket\r\n\
    Connection: Upgrade\r\n\
    Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
    Sec-WebSocket-Protocol: chat\r\n\
    \r\n";

/// A masked text frame "Hello" from a client (RFC 6455 section 5.7).
const MASKED_HELLO: &[u8] = &[
    0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
];

/// An unmasked text frame "Hello" from a server (RFC 6455 section 5.7).
const UNMASKED_HELLO: &[u8] = &[0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];

const T0: Instant = Instant::from_duration(Duration::from_secs(100));

fn at(seconds: u64) -> Instant {
    T0 + Duration::from_secs(seconds)
}

/// The default configuration without permessage-deflate, so that the bytes are the RFC's.
fn plain_config() -> Arc<Config> {
    #[allow(unused_mut)]
    let mut config = Config::default();
    #[cfg(feature = "deflate")]
    {
        config.deflate.enabled = false;
    }
    Arc::new(config)
}

fn config_with_limits(limits: Limits) -> Arc<Config> {
    let mut config = Config::clone(&plain_config());
    config.limits = limits;
    Arc::new(config)
}

/// Everything the machine hands out, and whether it ended with `Shutdown`.
fn transmit(poll: impl FnMut(&mut Vec<u8>) -> Option<Transmit>) -> (Vec<u8>, bool) {
    let mut poll = poll;
    let mut out = Vec::new();
    let mut shutdown = false;
    while let Some(t) = poll(&mut out) {
        match t {
            Transmit::Data(n) => assert!(n > 0 && !shutdown, "data after shutdown"),
            Transmit::Shutdown => {
                assert!(!shutdown, "shutdown reported twice");
                shutdown = true;
            }
        }
    }
    (out, shutdown)
}

fn server_out(server: &mut ServerHandshake) -> (Vec<u8>, bool) {
    transmit(|out| server.poll_transmit(out))
}

fn client_out(client: &mut ClientHandshake) -> (Vec<u8>, bool) {
    transmit(|out| client.poll_transmit(out))
}

fn text(bytes: &[u8]) -> &str {
    core::str::from_utf8(bytes).unwrap()
}

fn rfc_client_request() -> ClientRequest {
    ClientRequest::new(
        &Url::parse("ws://server.example.com/chat").unwrap(),
        *b"the sample nonce",
    )
    .protocol("chat")
    .unwrap()
    .protocol("superchat")
    .unwrap()
    .origin("http://example.com")
    .unwrap()
}

fn rfc_client(config: Arc<Config>) -> ClientHandshake {
    ClientHandshake::new(rfc_client_request(), config, || [1, 2, 3, 4], T0).unwrap()
}

/// A server that has read `input` and handed out its request.
fn server_with(config: Arc<Config>, input: &[u8]) -> (ServerHandshake, Request) {
    let mut server = ServerHandshake::new(config, T0);
    server.receive_data(input, T0).unwrap();
    match server.poll_event() {
        Some(ServerEvent::Request(request)) => (server, request),
        other => panic!("expected a WebSocket request, got {other:?}"),
    }
}

mod section_4_2_server {
    use super::*;

    #[test]
    fn the_rfc_request_is_answered_with_the_rfc_response() {
        let (mut server, request) = server_with(plain_config(), RFC_REQUEST);
        assert_eq!(request.protocols(), ["chat", "superchat"]);
        assert_eq!(server.poll_event(), None, "the request is handed out once");
        assert_eq!(server.poll_timeout(), Some(at(10)));
        server
            .accept(request.accept().protocol("chat").unwrap())
            .unwrap();
        assert!(server.is_accepted());
        assert_eq!(server.poll_timeout(), None, "the handshake timer stopped");
        let (out, shutdown) = server_out(&mut server);
        assert_eq!(text(&out), text(RFC_RESPONSE));
        assert!(!shutdown);
        let connection = server.into_connection(at(1)).unwrap();
        assert_eq!(connection.protocol(), Some("chat"));
        assert_eq!(connection.role(), crate::Role::Server);
    }

    #[test]
    fn a_request_in_one_byte_pieces() {
        let mut server = ServerHandshake::new(plain_config(), T0);
        for (i, byte) in RFC_REQUEST.iter().enumerate() {
            server.receive_data(&[*byte], T0).unwrap();
            assert!(server.buffered_input() <= i + 1);
            if i + 1 < RFC_REQUEST.len() {
                assert_eq!(server.poll_event(), None, "no event after {} bytes", i + 1);
            }
        }
        let Some(ServerEvent::Request(request)) = server.poll_event() else {
            panic!("the request is complete");
        };
        assert_eq!(request.path(), "/chat");
        assert_eq!(server.buffered_input(), 0);
    }

    #[test]
    fn bytes_after_the_request_reach_the_connection() {
        // Half a frame with the request, the other half later, and another frame after that.
        let mut first = Vec::from(RFC_REQUEST);
        first.extend_from_slice(&MASKED_HELLO[..4]);
        let (mut server, request) = server_with(plain_config(), &first);
        server.receive_data(&MASKED_HELLO[4..], T0).unwrap();
        server.accept(request.accept()).unwrap();
        server.receive_data(MASKED_HELLO, T0).unwrap();
        let mut connection = server.into_connection(T0).unwrap();
        for _ in 0..2 {
            assert_eq!(
                connection.poll_event(),
                Some(Event::Message(Message::Text("Hello".into())))
            );
        }
        assert_eq!(connection.poll_event(), None);
        assert_eq!(connection.protocol(), None);
    }

    #[test]
    fn the_101_not_yet_taken_goes_out_before_any_frame() {
        let (mut server, request) = server_with(plain_config(), RFC_REQUEST);
        server.accept(request.accept()).unwrap();
        let mut connection = server.into_connection(T0).unwrap();
        connection.send_text("Hello").unwrap();
        let mut out = Vec::new();
        while connection.poll_transmit(&mut out).is_some() {}
        let head_len = out.len() - UNMASKED_HELLO.len();
        assert!(out.starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"));
        assert!(out[..head_len].ends_with(b"\r\n\r\n"));
        assert_eq!(&out[head_len..], UNMASKED_HELLO);
    }

    #[test]
    fn a_pipelining_client_is_bounded() {
        let config = config_with_limits(Limits::default().with_max_header_bytes(512));
        let (mut server, _request) = server_with(config, RFC_REQUEST);
        server.receive_data(&[0; 512], T0).unwrap();
        let error = server.receive_data(&[0], T0).unwrap_err();
        assert!(matches!(error, HandshakeError::MalformedHttp(_)));
        let (out, shutdown) = server_out(&mut server);
        assert!(text(&out).starts_with("HTTP/1.1 400 Bad Request\r\n"));
        assert!(shutdown);
        assert_eq!(server.buffered_input(), 0);
    }
}

mod section_4_2_1_invalid_requests {
    use super::*;

    /// Feeds `input` and returns the error, the response written and whether it closed.
    fn refuse(input: &[u8]) -> (HandshakeError, String, bool) {
        let mut server = ServerHandshake::new(plain_config(), T0);
        let error = server.receive_data(input, T0).unwrap_err();
        assert_eq!(server.error(), Some(&error));
        assert_eq!(server.poll_event(), None);
        assert_eq!(server.poll_timeout(), None);
        // The error is returned once; later input is discarded.
        assert_eq!(server.receive_data(RFC_REQUEST, T0), Ok(()));
        let (out, shutdown) = server_out(&mut server);
        assert!(matches!(
            server.accept(Accept::clone(&plain_accept())),
            Err(e) if e == error
        ));
        assert_eq!(server.into_connection(T0).unwrap_err(), error);
        (error, String::from(text(&out)), shutdown)
    }

    fn plain_accept() -> Accept {
        parse_websocket(RFC_REQUEST, Limits::default())
            .unwrap()
            .complete()
            .unwrap()
            .0
            .accept()
    }

    #[test]
    fn a_post_is_a_400() {
        let input = b"POST /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\
                      Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
                      Sec-WebSocket-Version: 13\r\n\r\n";
        let (error, out, shutdown) = refuse(input);
        assert_eq!(error, HandshakeError::MethodNotGet);
        assert!(out.starts_with("HTTP/1.1 400 Bad Request\r\n"));
        assert!(out.ends_with("\r\n\r\nrequest method is not GET\n"));
        assert!(shutdown);
    }

    #[test]
    fn another_version_is_a_426_naming_13() {
        // Section 4.4: the server answers with the versions it speaks.
        let input = b"GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\
                      Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
                      Sec-WebSocket-Version: 8\r\n\r\n";
        let (error, out, shutdown) = refuse(input);
        assert_eq!(error, HandshakeError::UnsupportedVersion);
        assert!(out.starts_with("HTTP/1.1 426 Upgrade Required\r\n"));
        assert!(out.contains("\r\nSec-WebSocket-Version: 13\r\n"));
        assert!(shutdown);
    }

    #[test]
    fn a_missing_key_and_garbage_are_400s() {
        let input = b"GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\
                      Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n";
        let (error, out, _) = refuse(input);
        assert_eq!(error, HandshakeError::MissingHeader("Sec-WebSocket-Key"));
        assert!(out.starts_with("HTTP/1.1 400 "));
        let (error, out, _) = refuse(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\n");
        assert!(matches!(error, HandshakeError::MalformedHttp(_)));
        assert!(out.starts_with("HTTP/1.1 400 "));
    }
}

mod section_10_4_limits {
    use super::*;

    #[test]
    fn a_head_over_the_byte_limit_is_a_431_however_it_arrives() {
        let limits = Limits::default().with_max_header_bytes(RFC_REQUEST.len() - 1);
        for piece in [1, 7, RFC_REQUEST.len()] {
            let mut server = ServerHandshake::new(config_with_limits(limits), T0);
            let mut result = Ok(());
            for chunk in RFC_REQUEST.chunks(piece) {
                result = server.receive_data(chunk, T0);
                assert!(server.buffered_input() <= limits.max_header_bytes + 1);
                if result.is_err() {
                    break;
                }
            }
            assert_eq!(result, Err(HandshakeError::HeadersTooLarge));
            let (out, shutdown) = server_out(&mut server);
            assert!(text(&out).starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
            assert!(shutdown);
        }
    }

    #[test]
    fn an_endless_header_is_cut_at_the_limit() {
        let mut server = ServerHandshake::new(plain_config(), T0);
        server.receive_data(b"GET / HTTP/1.1\r\nX: ", T0).unwrap();
        let mut result = Ok(());
        for _ in 0..100 {
            result = server.receive_data(&[b'a'; 1000], T0);
            assert!(server.buffered_input() <= 16 * 1024 + 1);
            if result.is_err() {
                break;
            }
        }
        assert_eq!(result, Err(HandshakeError::HeadersTooLarge));
    }

    #[test]
    fn too_many_headers_is_a_431() {
        let config = config_with_limits(Limits::default().with_max_headers(4));
        let mut server = ServerHandshake::new(config, T0);
        assert_eq!(
            server.receive_data(RFC_REQUEST, T0),
            Err(HandshakeError::TooManyHeaders)
        );
        assert!(text(&server_out(&mut server).0).starts_with("HTTP/1.1 431 "));
    }

    #[test]
    fn a_response_over_the_byte_limit_fails_the_client() {
        let limits = Limits::default().with_max_header_bytes(RFC_RESPONSE.len() - 1);
        let mut client = rfc_client(config_with_limits(limits));
        client_out(&mut client);
        assert_eq!(
            client.receive_data(RFC_RESPONSE, T0),
            Err(HandshakeError::HeadersTooLarge)
        );
        assert_eq!(client_out(&mut client), (Vec::new(), true));
    }
}

mod timeouts_and_end_of_stream {
    use super::*;

    #[test]
    fn a_server_without_a_request_times_out_silently() {
        let mut server = ServerHandshake::new(plain_config(), T0);
        server
            .receive_data(b"GET /chat HTTP/1.1\r\n", at(1))
            .unwrap();
        assert_eq!(server.poll_timeout(), Some(at(10)));
        server.handle_timeout(at(9)); // spurious: nothing happens
        assert_eq!(server.error(), None);
        assert_eq!(server_out(&mut server), (Vec::new(), false));
        server.handle_timeout(at(10));
        assert_eq!(server.error(), Some(&HandshakeError::Timeout));
        assert_eq!(server.poll_timeout(), None);
        assert_eq!(server_out(&mut server), (Vec::new(), true));
    }

    #[test]
    fn a_slow_answer_times_out_too() {
        let (mut server, request) = server_with(plain_config(), RFC_REQUEST);
        server.handle_timeout(at(10));
        assert_eq!(
            server.accept(request.accept()),
            Err(HandshakeError::Timeout)
        );
        assert_eq!(server_out(&mut server), (Vec::new(), true));
    }

    #[test]
    fn data_after_the_deadline_is_too_late() {
        let mut server = ServerHandshake::new(plain_config(), T0);
        assert_eq!(
            server.receive_data(RFC_REQUEST, at(10)),
            Err(HandshakeError::Timeout)
        );
        assert_eq!(server.poll_event(), None);
        let mut client = rfc_client(plain_config());
        assert_eq!(
            client.receive_data(RFC_RESPONSE, at(11)),
            Err(HandshakeError::Timeout)
        );
    }

    #[test]
    fn no_timeout_when_turned_off() {
        let mut config = Config::clone(&plain_config());
        config.handshake_timeout = None;
        let server = ServerHandshake::new(config, T0);
        assert_eq!(server.poll_timeout(), None);
    }

    #[test]
    fn a_client_without_a_response_times_out_and_drops_its_request() {
        let mut client = rfc_client(plain_config());
        assert_eq!(client.poll_timeout(), Some(at(10)));
        assert_eq!(client.handle_timeout(at(3)), Ok(()));
        assert_eq!(client.handle_timeout(at(10)), Err(HandshakeError::Timeout));
        assert_eq!(client.handle_timeout(at(11)), Ok(()), "returned once");
        // The request was never taken: after a failure only the Shutdown is left.
        assert_eq!(client_out(&mut client), (Vec::new(), true));
        assert_eq!(client.error(), Some(&HandshakeError::Timeout));
    }

    #[test]
    fn end_of_stream_during_the_head_loses_the_connection() {
        let mut server = ServerHandshake::new(plain_config(), T0);
        server.receive_data(&RFC_REQUEST[..40], T0).unwrap();
        server.receive_eof();
        assert_eq!(server.error(), Some(&HandshakeError::ConnectionLost));
        assert_eq!(server_out(&mut server), (Vec::new(), true));

        let mut client = rfc_client(plain_config());
        client_out(&mut client);
        client.receive_data(&RFC_RESPONSE[..40], T0).unwrap();
        assert_eq!(client.receive_eof(), Err(HandshakeError::ConnectionLost));
        assert_eq!(client.receive_eof(), Ok(()), "returned once");
        assert_eq!(client_out(&mut client), (Vec::new(), true));
    }

    #[test]
    fn end_of_stream_after_the_101_reaches_the_connection() {
        let mut client = rfc_client(plain_config());
        client_out(&mut client);
        let mut input = Vec::from(RFC_RESPONSE);
        input.extend_from_slice(UNMASKED_HELLO);
        client.receive_data(&input, T0).unwrap();
        client.receive_eof().unwrap();
        let (mut connection, _) = client.into_connection(T0).unwrap();
        assert_eq!(
            connection.poll_event(),
            Some(Event::Message(Message::Text("Hello".into())))
        );
        assert_eq!(connection.state(), crate::State::Closed);
    }
}

mod plain_http_and_refusals {
    use super::*;

    #[test]
    fn a_plain_request_is_handed_out_and_answered() {
        let mut server = ServerHandshake::new(plain_config(), T0);
        server
            .receive_data(b"GET /index.html HTTP/1.1\r\nHost: h\r\n\r\n", T0)
            .unwrap();
        let Some(ServerEvent::Http(request)) = server.poll_event() else {
            panic!("a plain HTTP request");
        };
        assert_eq!(request.path(), "/index.html");
        // It cannot be accepted as a WebSocket.
        let accept = parse_websocket(RFC_REQUEST, Limits::default())
            .unwrap()
            .complete()
            .unwrap()
            .0
            .accept();
        assert!(matches!(
            server.accept(accept),
            Err(HandshakeError::InvalidArgument(_))
        ));
        let page = HttpResponse::new(200)
            .with_header("Content-Type", "text/html")
            .with_body("<p>hi</p>");
        server.reject(page.clone());
        let (out, shutdown) = server_out(&mut server);
        assert_eq!(
            text(&out),
            "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 9\r\n\
             Connection: close\r\n\r\n<p>hi</p>"
        );
        assert!(shutdown);
        assert_eq!(server.error(), Some(&HandshakeError::from(page.clone())));
        assert_eq!(
            server.into_connection(T0).unwrap_err(),
            HandshakeError::from(page)
        );
    }

    #[test]
    fn accepting_the_wrong_thing_changes_nothing() {
        let mut server = ServerHandshake::new(plain_config(), T0);
        let other = parse_websocket(RFC_REQUEST, Limits::default())
            .unwrap()
            .complete()
            .unwrap()
            .0;
        assert!(matches!(
            server.accept(other.accept()),
            Err(HandshakeError::InvalidArgument(_))
        ));
        // The same request with another key.
        let input =
            text(RFC_REQUEST).replace("dGhlIHNhbXBsZSBub25jZQ==", "AQIDBAUGBwgJCgsMDQ4PEC==");
        let (mut server, request) = server_with(plain_config(), input.as_bytes());
        assert!(matches!(
            server.accept(other.accept()),
            Err(HandshakeError::InvalidArgument(_))
        ));
        assert_eq!(server_out(&mut server), (Vec::new(), false));
        // The machine still waits for an answer: the right one is accepted.
        server.accept(request.accept()).unwrap();
        assert!(server.is_accepted());
    }

    #[test]
    fn into_connection_before_accepting_is_refused() {
        let (server, _) = server_with(plain_config(), RFC_REQUEST);
        assert!(matches!(
            server.into_connection(T0),
            Err(HandshakeError::InvalidArgument(_))
        ));
    }

    #[test]
    fn an_invalid_refusal_becomes_a_500() {
        let (mut server, _) = server_with(plain_config(), RFC_REQUEST);
        server.reject(HttpResponse::new(403).with_header("X", "a\r\nb: c"));
        let (out, shutdown) = server_out(&mut server);
        assert!(text(&out).starts_with("HTTP/1.1 500 Internal Server Error\r\n"));
        assert!(shutdown);
        assert_eq!(server.error().map(HandshakeError::http_status), Some(500));
        // Answering twice does nothing.
        server.reject(HttpResponse::new(404));
        assert_eq!(server_out(&mut server), (Vec::new(), false));
    }

    #[test]
    fn a_server_may_refuse_before_reading_anything() {
        let mut server = ServerHandshake::new(plain_config(), T0);
        server.reject(HttpResponse::new(503));
        let (out, shutdown) = server_out(&mut server);
        assert!(text(&out).starts_with("HTTP/1.1 503 Service Unavailable\r\n"));
        assert!(shutdown);
        assert_eq!(server.receive_data(RFC_REQUEST, T0), Ok(()));
        assert_eq!(server.poll_event(), None);
    }

    #[test]
    fn a_401_with_its_challenge_and_body_reaches_the_client() {
        let (mut server, request) = server_with(plain_config(), RFC_REQUEST);
        assert_eq!(request.header("Authorization"), None);
        server.reject(
            HttpResponse::new(401)
                .with_header("WWW-Authenticate", "Basic realm=\"chat\"")
                .with_body("log in first"),
        );
        let (out, shutdown) = server_out(&mut server);
        assert!(shutdown);

        let mut client = rfc_client(plain_config());
        client_out(&mut client);
        // The refusal arrives in pieces; the body is read to its Content-Length.
        let (head, body) = out.split_at(out.len() - 4);
        assert_eq!(client.receive_data(head, T0), Ok(()));
        assert!(!client.is_complete());
        assert_eq!(client.poll_timeout(), Some(at(10)));
        let error = client.receive_data(body, T0).unwrap_err();
        let HandshakeError::Rejected(response) = &error else {
            panic!("expected a refusal, got {error:?}");
        };
        assert_eq!(response.status(), 401);
        assert_eq!(
            response.header("WWW-Authenticate"),
            Some(&b"Basic realm=\"chat\""[..])
        );
        assert_eq!(response.body(), b"log in first");
        assert_eq!(error.http_status(), 401);
        assert_eq!(
            alloc::format!("{error}"),
            "refused with HTTP 401 Unauthorized"
        );
        assert_eq!(client.error(), Some(&error));
        assert_eq!(client_out(&mut client), (Vec::new(), true));
        assert_eq!(client.into_connection(T0).unwrap_err(), error);
    }

    #[test]
    fn a_body_without_length_is_read_until_end_of_stream() {
        let mut client = rfc_client(plain_config());
        client
            .receive_data(b"HTTP/1.1 403 Forbidden\r\nX-Why: origin\r\n\r\nnot ", T0)
            .unwrap();
        client.receive_data(b"you", T0).unwrap();
        assert_eq!(client.buffered_input(), 7);
        let error = client.receive_eof().unwrap_err();
        let HandshakeError::Rejected(response) = error else {
            panic!("expected a refusal");
        };
        assert_eq!(response.header("x-why"), Some(&b"origin"[..]));
        assert_eq!(response.body(), b"not you");
    }

    #[test]
    fn the_body_is_cut_at_the_limit() {
        let limits = Limits::default().with_max_body_bytes(10);
        for head in [
            &b"HTTP/1.1 404 Not Found\r\nContent-Length: 100\r\n\r\n"[..],
            b"HTTP/1.1 404 Not Found\r\n\r\n",
        ] {
            let mut client = rfc_client(config_with_limits(limits));
            client.receive_data(head, T0).unwrap();
            let mut result = Ok(());
            for _ in 0..20 {
                result = client.receive_data(b"0123456789", T0);
                assert!(client.buffered_input() <= 10);
                if result.is_err() {
                    break;
                }
            }
            let Err(HandshakeError::Rejected(response)) = result else {
                panic!("expected a refusal, got {result:?}");
            };
            assert_eq!(response.body(), b"0123456789");
        }
    }

    #[test]
    fn bodiless_refusals_fail_at_once() {
        for head in [
            &b"HTTP/1.1 302 Found\r\nLocation: ws://elsewhere/\r\nContent-Length: 0\r\n\r\n"[..],
            b"HTTP/1.1 304 Not Modified\r\n\r\n",
            b"HTTP/1.1 500 Oops\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
            b"HTTP/1.1 400 Bad\r\nContent-Length: x\r\n\r\n",
        ] {
            let mut client = rfc_client(plain_config());
            let error = client.receive_data(head, T0).unwrap_err();
            let HandshakeError::Rejected(response) = error else {
                panic!("expected a refusal");
            };
            assert!(response.body().is_empty());
        }
    }

    #[test]
    fn a_timeout_while_reading_the_body_reports_the_refusal() {
        let mut client = rfc_client(plain_config());
        client
            .receive_data(
                b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 9\r\n\r\nlog",
                T0,
            )
            .unwrap();
        let Err(HandshakeError::Rejected(response)) = client.handle_timeout(at(10)) else {
            panic!("expected a refusal");
        };
        assert_eq!(response.body(), b"log");
    }
}

mod section_4_1_client {
    use super::*;

    #[test]
    fn the_rfc_request_then_the_rfc_response() {
        let mut client = rfc_client(plain_config());
        let (out, shutdown) = client_out(&mut client);
        assert!(!shutdown);
        assert_eq!(
            text(&out),
            "GET /chat HTTP/1.1\r\n\
             Host: server.example.com\r\n\
             Upgrade: websocket\r\n\
             Connection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Sec-WebSocket-Version: 13\r\n\
             Sec-WebSocket-Protocol: chat, superchat\r\n\
             Origin: http://example.com\r\n\
             \r\n"
        );
        client.receive_data(RFC_RESPONSE, T0).unwrap();
        assert!(client.is_complete());
        assert_eq!(client.poll_timeout(), None);
        assert_eq!(client.response().and_then(Response::protocol), Some("chat"));
        let (connection, response) = client.into_connection(T0).unwrap();
        assert_eq!(response.status(), 101);
        assert_eq!(connection.protocol(), Some("chat"));
        assert_eq!(connection.role(), crate::Role::Client);
    }

    #[test]
    fn a_response_in_one_byte_pieces_with_a_frame_after_it() {
        let mut client = rfc_client(plain_config());
        client_out(&mut client);
        let mut input = Vec::from(RFC_RESPONSE);
        input.extend_from_slice(UNMASKED_HELLO);
        for (i, byte) in input.iter().enumerate() {
            client.receive_data(&[*byte], T0).unwrap();
            assert_eq!(client.is_complete(), i + 1 >= RFC_RESPONSE.len());
        }
        let (mut connection, _) = client.into_connection(T0).unwrap();
        assert_eq!(
            connection.poll_event(),
            Some(Event::Message(Message::Text("Hello".into())))
        );
        // The client masks what it sends with the keys it was given.
        connection.send_text("Hi").unwrap();
        let mut out = Vec::new();
        connection.poll_transmit(&mut out);
        assert_eq!(&out[..6], [0x81, 0x82, 1, 2, 3, 4]);
    }

    #[test]
    fn an_invalid_101_fails() {
        let bad = text(RFC_RESPONSE).replace("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "AAAA");
        let mut client = rfc_client(plain_config());
        client_out(&mut client);
        assert_eq!(
            client.receive_data(bad.as_bytes(), T0),
            Err(HandshakeError::AcceptMismatch)
        );
        assert_eq!(client_out(&mut client), (Vec::new(), true));
        assert_eq!(client.response(), None);
    }

    #[test]
    fn into_connection_before_the_response_is_refused() {
        let client = rfc_client(plain_config());
        assert!(matches!(
            client.into_connection(T0),
            Err(HandshakeError::InvalidArgument(_))
        ));
    }
}

#[cfg(feature = "deflate")]
mod rfc_7692_negotiated_inside {
    use super::*;

    /// Runs a whole handshake between the two machines with the default configuration
    /// (permessage-deflate enabled) and returns both connections.
    fn pair(request: ClientRequest) -> (crate::Connection, crate::Connection, Response) {
        let config = Arc::new(Config::default());
        let mut client = ClientHandshake::new(request, config.clone(), || [9; 4], T0).unwrap();
        let mut server = ServerHandshake::new(config, T0);
        let (bytes, _) = client_out(&mut client);
        server.receive_data(&bytes, T0).unwrap();
        let Some(ServerEvent::Request(request)) = server.poll_event() else {
            panic!("a WebSocket request");
        };
        let mut accept = request.accept();
        if let Some(protocol) = request.protocols().last() {
            accept = accept.protocol(protocol).unwrap();
        }
        server.accept(accept).unwrap();
        let (bytes, _) = server_out(&mut server);
        client.receive_data(&bytes, T0).unwrap();
        let server = server.into_connection(T0).unwrap();
        let (client, response) = client.into_connection(T0).unwrap();
        (client, server, response)
    }

    #[test]
    fn deflate_and_subprotocol_are_agreed_in_both_roles() {
        let request = rfc_client_request();
        let (mut client, mut server, response) = pair(request);
        assert_eq!(response.protocol(), Some("superchat"));
        assert_eq!(client.protocol(), Some("superchat"));
        assert_eq!(server.protocol(), Some("superchat"));
        assert!(response
            .extensions()
            .iter()
            .any(|e| e.name == "permessage-deflate"));
        let params = client.deflate_params().copied();
        assert!(params.is_some());
        assert_eq!(server.deflate_params().copied(), params);

        // A compressed message crosses.
        client.send_text("hello hello hello hello").unwrap();
        let mut wire = Vec::new();
        while client.poll_transmit(&mut wire).is_some() {}
        assert_ne!(wire[0] & 0x40, 0, "RSV1: the message is compressed");
        server.receive_data(&wire, Instant::ZERO).unwrap();
        assert_eq!(
            server.poll_event(),
            Some(Event::Message(Message::Text(
                "hello hello hello hello".into()
            )))
        );
    }

    #[test]
    fn without_an_offer_nothing_is_agreed() {
        let mut config = Config::default();
        config.deflate.enabled = false;
        let config = Arc::new(config);
        let client_request = ClientRequest::from_parts("h", "/", [3; 16]).unwrap();
        let mut client =
            ClientHandshake::new(client_request, config.clone(), || [0; 4], T0).unwrap();
        assert!(client.request().offered_extensions().is_empty());
        let (bytes, _) = client_out(&mut client);
        // The server has deflate enabled, but the client did not offer it.
        let (mut server, request) = server_with(Arc::new(Config::default()), &bytes);
        server.accept(request.accept()).unwrap();
        let (bytes, _) = server_out(&mut server);
        assert!(!text(&bytes).contains("Sec-WebSocket-Extensions"));
        client.receive_data(&bytes, T0).unwrap();
        assert_eq!(server.into_connection(T0).unwrap().deflate_params(), None);
        assert_eq!(client.into_connection(T0).unwrap().0.deflate_params(), None);
    }

    #[test]
    fn a_bad_deflate_answer_fails_the_client() {
        let mut client = rfc_client(Arc::new(Config::default()));
        let response = text(RFC_RESPONSE).replace(
            "\r\n\r\n",
            "\r\nSec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=99\r\n\r\n",
        );
        assert!(matches!(
            client.receive_data(response.as_bytes(), T0),
            Err(HandshakeError::Extension(_))
        ));
    }

    #[test]
    fn the_application_offers_deflate_through_the_config() {
        let request = rfc_client_request()
            .extension(ExtensionOffer::new("permessage-deflate"))
            .unwrap();
        assert!(matches!(
            ClientHandshake::new(request, Config::default(), || [0; 4], T0),
            Err(HandshakeError::InvalidArgument(_))
        ));
    }
}

mod splitting_does_not_matter {
    use super::*;
    use proptest::collection::vec as pvec;
    use proptest::prelude::*;

    /// What a server made of its input.
    #[derive(Debug, PartialEq)]
    struct ServerOutcome {
        error: Option<HandshakeError>,
        event: Option<ServerEvent>,
        out: Vec<u8>,
        shutdown: bool,
        /// The events of the connection after accepting, if it got that far.
        events: Vec<Event>,
    }

    fn split<'a>(input: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
        cuts.sort_unstable();
        let mut pieces = Vec::new();
        let mut start = 0;
        for cut in cuts {
            pieces.push(&input[start..cut]);
            start = cut;
        }
        pieces.push(&input[start..]);
        pieces
    }

    fn run_server(config: &Arc<Config>, pieces: &[&[u8]]) -> ServerOutcome {
        let mut server = ServerHandshake::new(config.clone(), T0);
        let mut error = None;
        for piece in pieces {
            match server.receive_data(piece, T0) {
                Ok(()) => {}
                Err(e) => {
                    assert!(error.is_none(), "an error is returned once");
                    error = Some(e);
                }
            }
            let limit = 2 * config.limits.max_header_bytes + 1 + piece.len();
            assert!(server.buffered_input() <= limit);
        }
        let event = server.poll_event();
        let mut events = Vec::new();
        if let Some(ServerEvent::Request(request)) = &event {
            server.accept(request.accept()).unwrap();
        }
        let (out, shutdown) = server_out(&mut server);
        if server.is_accepted() {
            let mut connection = server.into_connection(T0).unwrap();
            while let Some(event) = connection.poll_event() {
                events.push(event);
            }
        }
        if shutdown {
            // After a failure only the response and the Shutdown come out.
            assert!(error.is_some() || matches!(event, Some(ServerEvent::Http(_))));
        }
        ServerOutcome {
            error,
            event,
            out,
            shutdown,
            events,
        }
    }

    /// What a client made of its input.
    #[derive(Debug, PartialEq)]
    struct ClientOutcome {
        error: Option<HandshakeError>,
        response: Option<Response>,
        shutdown: bool,
        events: Vec<Event>,
    }

    fn run_client(config: &Arc<Config>, pieces: &[&[u8]], eof: bool) -> ClientOutcome {
        let mut client = rfc_client(config.clone());
        let (request, _) = client_out(&mut client);
        assert!(request.starts_with(b"GET /chat HTTP/1.1\r\n"));
        let mut error = None;
        for piece in pieces {
            if let Err(e) = client.receive_data(piece, T0) {
                assert!(error.is_none(), "an error is returned once");
                error = Some(e);
            }
        }
        if eof {
            if let Err(e) = client.receive_eof() {
                assert!(error.is_none(), "an error is returned once");
                error = Some(e);
            }
        }
        let (out, shutdown) = client_out(&mut client);
        assert!(out.is_empty(), "nothing but the request is sent");
        assert_eq!(shutdown, error.is_some());
        let response = client.response().cloned();
        let mut events = Vec::new();
        if client.is_complete() {
            let (mut connection, _) = client.into_connection(T0).unwrap();
            while let Some(event) = connection.poll_event() {
                events.push(event);
            }
        }
        ClientOutcome {
            error,
            response,
            shutdown,
            events,
        }
    }

    /// A request: the RFC's, a plain one, or a damaged RFC one, with trailing bytes.
    fn request_input() -> impl Strategy<Value = Vec<u8>> {
        (
            0..3u8,
            pvec((any::<prop::sample::Index>(), any::<u8>()), 0..3),
            prop_oneof![Just(Vec::from(MASKED_HELLO)), pvec(any::<u8>(), 0..16)],
        )
            .prop_map(|(kind, damage, trailing)| {
                let mut input = match kind {
                    0 => Vec::from(RFC_REQUEST),
                    1 => Vec::from(&b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"[..]),
                    _ => {
                        let mut input = Vec::from(RFC_REQUEST);
                        for (at, byte) in damage {
                            let at = at.index(input.len());
                            input[at] = byte;
                        }
                        input
                    }
                };
                input.extend_from_slice(&trailing);
                input
            })
    }

    /// A response: the RFC's 101, a refusal with a body, or a damaged 101, with trailing
    /// bytes.
    fn response_input() -> impl Strategy<Value = Vec<u8>> {
        (
            0..3u8,
            pvec((any::<prop::sample::Index>(), any::<u8>()), 0..3),
            prop_oneof![Just(Vec::from(UNMASKED_HELLO)), pvec(any::<u8>(), 0..16)],
        )
            .prop_map(|(kind, damage, trailing)| {
                let mut input = match kind {
                    0 => Vec::from(RFC_RESPONSE),
                    1 => Vec::from(
                        &b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic\r\n\
                           Content-Length: 5\r\n\r\nnope!"[..],
                    ),
                    _ => {
                        let mut input = Vec::from(RFC_RESPONSE);
                        for (at, byte) in damage {
                            let at = at.index(input.len());
                            input[at] = byte;
                        }
                        input
                    }
                };
                input.extend_from_slice(&trailing);
                input
            })
    }

    fn limits() -> impl Strategy<Value = Limits> {
        prop_oneof![
            Just(Limits::default()),
            (16usize..300, 1usize..12, 0usize..8).prop_map(|(bytes, headers, body)| {
                Limits::default()
                    .with_max_header_bytes(bytes)
                    .with_max_headers(headers)
                    .with_max_body_bytes(body)
            }),
        ]
    }

    proptest! {
        #[test]
        fn the_server_outcome_does_not_depend_on_the_split(
            input in request_input(),
            cuts in pvec(any::<usize>(), 0..8),
            limits in limits(),
        ) {
            let config = config_with_limits(limits);
            let whole = run_server(&config, &[&input]);
            let pieces = split(&input, &cuts);
            prop_assert_eq!(run_server(&config, &pieces), whole);
            let bytes: Vec<&[u8]> = input.chunks(1).collect();
            prop_assert_eq!(run_server(&config, &bytes), run_server(&config, &[&input]));
        }

        #[test]
        fn the_client_outcome_does_not_depend_on_the_split(
            input in response_input(),
            cuts in pvec(any::<usize>(), 0..8),
            limits in limits(),
            eof in any::<bool>(),
        ) {
            let config = config_with_limits(limits);
            let whole = run_client(&config, &[&input], eof);
            let pieces = split(&input, &cuts);
            prop_assert_eq!(run_client(&config, &pieces, eof), whole);
        }
    }

    #[test]
    fn the_rfc_handshake_in_every_two_piece_split() {
        let config = plain_config();
        let mut input = Vec::from(RFC_REQUEST);
        input.extend_from_slice(MASKED_HELLO);
        let whole = run_server(&config, &[&input]);
        assert_eq!(
            text(&whole.out),
            text(RFC_RESPONSE).replace("Sec-WebSocket-Protocol: chat\r\n", "")
        );
        assert_eq!(
            whole.events,
            vec![Event::Message(Message::Text("Hello".into()))]
        );
        for cut in 0..=input.len() {
            let (a, b) = input.split_at(cut);
            assert_eq!(run_server(&config, &[a, b]), whole, "cut at {cut}");
        }
    }
}
