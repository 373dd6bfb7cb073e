//! Drivers for the handshake state machines (the `handshake_server` and `handshake_client`
//! targets): the adapter loop of their calling contract over input in arbitrary pieces, with
//! a simulated clock, checking what must hold whatever the peer sends.
//!
//! * the machine never holds more than its limits allow (`buffered_input`);
//! * an error is returned once, and `error()` keeps it;
//! * after a failure the only output is the error response (server; none after a timeout or
//!   end of stream) and then `Transmit::Shutdown`, once, with no data after it;
//! * the timer is armed while the handshake waits and stops once it ends, and a call before
//!   the deadline changes nothing;
//! * an accepted (server) or complete (client) handshake turns into a `Connection` with the
//!   agreed subprotocol.

use std::sync::Arc;
use std::time::Duration;

use ws_proto::handshake::{
    ClientHandshake, ClientRequest, HttpResponse, Limits, ServerEvent, ServerHandshake, Url,
};
use ws_proto::{Config, HandshakeError, Instant, Transmit};

/// How the application answers what the server hands it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Accept a WebSocket request, choosing its first offered subprotocol if `protocol`.
    Accept { protocol: bool },
    /// Refuse it with a 401 carrying a challenge and a body.
    Refuse,
}

/// The configuration of a run: these limits, permessage-deflate on or off, and a handshake
/// timeout of 3 s (`short_timeout`) or 10 s.
pub fn config(limits: Limits, deflate: bool, short_timeout: bool) -> Arc<Config> {
    let mut config = Config::default();
    config.limits = limits;
    config.deflate.enabled = deflate;
    config.handshake_timeout = Some(Duration::from_secs(if short_timeout { 3 } else { 10 }));
    Arc::new(config)
}

/// Pieces of input, each with the seconds that pass before it arrives (from the chunk seed).
pub fn timed_pieces<'a>(pieces: &[&'a [u8]], seed: &[u8]) -> Vec<(&'a [u8], Duration)> {
    pieces
        .iter()
        .enumerate()
        .map(|(i, piece)| {
            let wait = if seed.is_empty() {
                0
            } else {
                u64::from(seed[i % seed.len()] & 3)
            };
            (*piece, Duration::from_secs(wait))
        })
        .collect()
}

/// Takes everything the machine hands out; checks no data follows the Shutdown.
fn take(
    poll: &mut dyn FnMut(&mut Vec<u8>) -> Option<Transmit>,
    out: &mut Vec<u8>,
    shutdown: &mut bool,
) -> usize {
    let before = out.len();
    while let Some(t) = poll(out) {
        match t {
            Transmit::Data(n) => {
                assert!(n > 0, "empty data");
                assert!(!*shutdown, "data after the Shutdown");
            }
            Transmit::Shutdown => {
                assert!(!*shutdown, "Shutdown reported twice");
                *shutdown = true;
            }
        }
    }
    out.len() - before
}

/// The bytes of the response a server sends for `error`.
fn error_response(error: &HandshakeError) -> Vec<u8> {
    let mut out = Vec::new();
    HttpResponse::from_error(error)
        .write(&mut out)
        .expect("error responses are valid");
    out
}

/// What a server run ended with.
#[derive(Debug)]
pub struct ServerRun {
    /// The error returned, if any.
    pub error: Option<HandshakeError>,
    /// Everything written.
    pub out: Vec<u8>,
    /// Whether the Shutdown was reported.
    pub shutdown: bool,
    /// Whether the request was accepted (and the connection built).
    pub accepted: bool,
}

/// Drives a server handshake over `pieces`, answering as `answer` says, then ends the stream
/// if `eof`.
pub fn drive_server(
    config: &Arc<Config>,
    pieces: &[(&[u8], Duration)],
    answer: Answer,
    eof: bool,
) -> ServerRun {
    let limits = config.limits;
    let mut now = Instant::from_duration(Duration::from_secs(1));
    let deadline = config.handshake_timeout.map(|t| now + t);
    let mut server = ServerHandshake::new(config.clone(), now);
    let mut out = Vec::new();
    let mut shutdown = false;
    let mut error: Option<HandshakeError> = None;
    let mut events = 0;
    let mut protocol = None;
    for (piece, wait) in pieces {
        now = now + *wait;
        // An adapter runs the timer when it is due.
        if let Some(at) = server.poll_timeout() {
            assert_eq!(Some(at), deadline, "the timer is the handshake deadline");
            if at <= now {
                server.handle_timeout(now);
                assert_eq!(server.error(), Some(&HandshakeError::Timeout));
                error = Some(HandshakeError::Timeout);
                let written = take(&mut |o| server.poll_transmit(o), &mut out, &mut shutdown);
                assert_eq!(written, 0, "nothing is written after a timeout");
                assert!(shutdown);
                assert_eq!(server.poll_timeout(), None);
            } else {
                server.handle_timeout(now); // spurious: nothing happens
                assert_eq!(server.error(), error.as_ref());
            }
        }
        let responded_before = !out.is_empty();
        let result = server.receive_data(piece, now);
        let bound = 2 * limits.max_header_bytes + 1 + piece.len();
        assert!(
            server.buffered_input() <= bound,
            "{} bytes held",
            server.buffered_input()
        );
        if let Err(e) = result {
            assert!(error.is_none(), "an error is returned once");
            assert_eq!(server.error(), Some(&e));
            error = Some(e.clone());
            assert_eq!(server.buffered_input(), 0);
            assert_eq!(server.poll_timeout(), None);
            assert!(server.poll_event().is_none(), "no event after a failure");
            let written = take(&mut |o| server.poll_transmit(o), &mut out, &mut shutdown);
            assert!(shutdown, "a failed handshake closes the transport");
            let silent = matches!(e, HandshakeError::Timeout | HandshakeError::ConnectionLost);
            if silent || responded_before || server.is_accepted() {
                assert_eq!(written, 0, "{e:?}: only the Shutdown after a failure");
            } else {
                assert_eq!(
                    &out[out.len() - written..],
                    &error_response(&e)[..],
                    "{e:?}: the error response"
                );
                let status = e.http_status();
                assert!(matches!(status, 400 | 426 | 431), "{e:?} answered {status}");
            }
            continue;
        }
        while let Some(event) = server.poll_event() {
            events += 1;
            assert_eq!(events, 1, "one request per handshake");
            match (event, answer) {
                (ServerEvent::Request(request), Answer::Accept { protocol: choose }) => {
                    let _ = (
                        request.path(),
                        request.query(),
                        request.host(),
                        request.origin(),
                    );
                    let mut accept = request.accept();
                    if choose {
                        if let Some(first) = request.protocols().first() {
                            accept = accept.protocol(first).expect("an offered subprotocol");
                            protocol = Some(first.clone());
                        }
                    }
                    server.accept(accept).expect("a valid request is accepted");
                    assert!(server.is_accepted());
                    assert_eq!(server.poll_timeout(), None);
                }
                (ServerEvent::Request(_), Answer::Refuse) | (ServerEvent::Http(_), _) => {
                    let refusal = HttpResponse::new(401)
                        .with_header("WWW-Authenticate", "Basic realm=\"fuzz\"")
                        .with_body("who are you?");
                    let mut expected = Vec::new();
                    refusal.write(&mut expected).expect("a valid refusal");
                    server.reject(refusal.clone());
                    assert_eq!(server.error(), Some(&HandshakeError::from(refusal)));
                    let written = take(&mut |o| server.poll_transmit(o), &mut out, &mut shutdown);
                    assert_eq!(&out[out.len() - written..], &expected[..]);
                    assert!(shutdown);
                }
                (other, _) => panic!("unknown event {other:?}"),
            }
        }
        take(&mut |o| server.poll_transmit(o), &mut out, &mut shutdown);
        if server.is_accepted() {
            assert!(out.starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"));
            assert!(out.ends_with(b"\r\n\r\n"), "only the 101 was written");
            assert!(!shutdown);
        }
    }
    if eof {
        let waiting = server.error().is_none() && !server.is_accepted();
        server.receive_eof();
        if waiting {
            assert_eq!(server.error(), Some(&HandshakeError::ConnectionLost));
            error = Some(HandshakeError::ConnectionLost);
            let written = take(&mut |o| server.poll_transmit(o), &mut out, &mut shutdown);
            assert_eq!(written, 0, "nothing is written after end of stream");
            assert!(shutdown);
        }
    }
    let accepted = server.is_accepted();
    match server.into_connection(now) {
        Ok(connection) => {
            assert!(accepted);
            assert_eq!(connection.protocol(), protocol.as_deref());
        }
        Err(e) => {
            assert!(!accepted);
            if let Some(error) = &error {
                assert_eq!(&e, error);
            }
        }
    }
    ServerRun {
        error,
        out,
        shutdown,
        accepted,
    }
}

/// The client of RFC 6455 section 1.3: key `dGhlIHNhbXBsZSBub25jZQ==`, subprotocols `chat`
/// and `superchat`.
pub fn rfc_client_request() -> ClientRequest {
    let url = Url::parse("ws://server.example.com/chat").expect("valid URL");
    ClientRequest::new(&url, *b"the sample nonce")
        .protocol("chat")
        .and_then(|c| c.protocol("superchat"))
        .and_then(|c| c.origin("http://example.com"))
        .expect("valid request")
}

/// What a client run ended with.
#[derive(Debug)]
pub struct ClientRun {
    /// The error returned, if any.
    pub error: Option<HandshakeError>,
    /// Whether the handshake completed (and the connection was built).
    pub complete: bool,
    /// The subprotocol agreed.
    pub protocol: Option<String>,
}

/// Drives a client handshake against the response bytes in `pieces`, then ends the stream if
/// `eof`.
pub fn drive_client(config: &Arc<Config>, pieces: &[(&[u8], Duration)], eof: bool) -> ClientRun {
    let limits = config.limits;
    let mut now = Instant::from_duration(Duration::from_secs(1));
    let deadline = config.handshake_timeout.map(|t| now + t);
    let mut client = ClientHandshake::new(rfc_client_request(), config.clone(), || [7; 4], now)
        .expect("a valid request");
    let mut out = Vec::new();
    let mut shutdown = false;
    take(&mut |o| client.poll_transmit(o), &mut out, &mut shutdown);
    assert!(out.starts_with(b"GET /chat HTTP/1.1\r\n") && out.ends_with(b"\r\n\r\n"));
    let request_len = out.len();
    let mut error: Option<HandshakeError> = None;
    let mut record = |result: Result<(), HandshakeError>, client: &ClientHandshake| {
        if let Err(e) = result {
            assert!(error.is_none(), "an error is returned once");
            assert_eq!(client.error(), Some(&e));
            error = Some(e);
        }
    };
    for (piece, wait) in pieces {
        now = now + *wait;
        if let Some(at) = client.poll_timeout() {
            assert_eq!(Some(at), deadline, "the timer is the handshake deadline");
            let result = client.handle_timeout(now);
            assert_eq!(result.is_err(), at <= now, "{result:?}");
            record(result, &client);
        }
        let result = client.receive_data(piece, now);
        let bound = (2 * limits.max_header_bytes + 1 + piece.len()).max(limits.max_body_bytes);
        assert!(client.buffered_input() <= bound);
        record(result, &client);
        take(&mut |o| client.poll_transmit(o), &mut out, &mut shutdown);
        // Nothing but the request is ever written.
        assert_eq!(out.len(), request_len);
    }
    if eof {
        let result = client.receive_eof();
        record(result, &client);
    }
    take(&mut |o| client.poll_transmit(o), &mut out, &mut shutdown);
    assert_eq!(out.len(), request_len);
    assert_eq!(shutdown, error.is_some(), "Shutdown exactly when failed");
    if error.is_some() {
        assert_eq!(client.poll_timeout(), None);
        assert!(!client.is_complete());
    }
    if let Some(HandshakeError::Rejected(response)) = &error {
        assert_ne!(response.status(), 101);
        assert!(response.body().len() <= limits.max_body_bytes);
    }
    let complete = client.is_complete();
    let protocol = client
        .response()
        .and_then(|r| r.protocol())
        .map(String::from);
    if let Some(p) = &protocol {
        assert!(
            p == "chat" || p == "superchat",
            "unoffered subprotocol {p:?}"
        );
    }
    match client.into_connection(now) {
        Ok((connection, response)) => {
            assert!(complete);
            assert_eq!(response.status(), 101);
            assert_eq!(connection.protocol(), protocol.as_deref());
        }
        Err(e) => {
            assert!(!complete);
            if let Some(error) = &error {
                assert_eq!(&e, error);
            }
        }
    }
    ClientRun {
        error,
        complete,
        protocol,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC_REQUEST: &[u8] = b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\n\
        Upgrade: websocket\r\nConnection: Upgrade\r\n\
        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: http://example.com\r\n\
        Sec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Version: 13\r\n\r\n";
    const RFC_RESPONSE: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
        Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
        Sec-WebSocket-Protocol: chat\r\n\r\n";

    fn bytewise(input: &[u8]) -> Vec<(&[u8], Duration)> {
        input.chunks(1).map(|c| (c, Duration::ZERO)).collect()
    }

    #[test]
    fn the_rfc_request_is_accepted_byte_by_byte() {
        let config = config(Limits::default(), true, false);
        let run = drive_server(
            &config,
            &bytewise(RFC_REQUEST),
            Answer::Accept { protocol: true },
            false,
        );
        assert!(run.accepted);
        assert_eq!(run.error, None);
        assert!(String::from_utf8(run.out)
            .unwrap()
            .contains("\r\nSec-WebSocket-Protocol: chat\r\n"));
    }

    #[test]
    fn a_refusal_and_a_bad_request_are_checked() {
        let config = config(Limits::default(), false, false);
        let run = drive_server(
            &config,
            &[(RFC_REQUEST, Duration::ZERO)],
            Answer::Refuse,
            false,
        );
        assert!(matches!(run.error, None) && run.shutdown && !run.accepted);
        let bad = [(
            &b"POST / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n"[..],
            Duration::ZERO,
        )];
        let run = drive_server(&config, &bad, Answer::Refuse, false);
        assert_eq!(run.error, Some(HandshakeError::MethodNotGet));
        assert!(run.out.starts_with(b"HTTP/1.1 400 "));
    }

    #[test]
    fn slow_pieces_time_out_and_eof_loses_the_connection() {
        let config = config(Limits::default(), false, true);
        let slow: Vec<(&[u8], Duration)> = RFC_REQUEST
            .chunks(20)
            .map(|c| (c, Duration::from_secs(1)))
            .collect();
        let run = drive_server(&config, &slow, Answer::Refuse, false);
        assert_eq!(run.error, Some(HandshakeError::Timeout));
        assert!(run.out.is_empty() && run.shutdown);
        let run = drive_server(
            &config,
            &[(&RFC_REQUEST[..10], Duration::ZERO)],
            Answer::Refuse,
            true,
        );
        assert_eq!(run.error, Some(HandshakeError::ConnectionLost));
    }

    #[test]
    fn the_client_completes_or_reads_the_refusal() {
        let config = config(Limits::default(), true, false);
        let run = drive_client(&config, &bytewise(RFC_RESPONSE), false);
        assert!(run.complete);
        assert_eq!(run.protocol.as_deref(), Some("chat"));
        let refusal = b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic\r\n\r\nwho?";
        let run = drive_client(&config, &bytewise(refusal), true);
        let Some(HandshakeError::Rejected(response)) = run.error else {
            panic!("expected a refusal");
        };
        assert_eq!(response.body(), b"who?");
        assert_eq!(response.header("www-authenticate"), Some(&b"Basic"[..]));
    }
}
