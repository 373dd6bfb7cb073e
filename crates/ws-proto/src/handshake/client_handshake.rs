//! The client's opening handshake as a sans-IO state machine (RFC 6455 section 4.1): send the
//! request, read and validate the response, turn into the connection.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use super::headers::{trim_ows, Headers};
use super::http::parse_response;
use super::input::Input;
use super::take_output;
use super::{ClientRequest, HttpResponse, Response, Status};
use crate::config::Config;
use crate::connection::{Connection, Transmit};
use crate::error::HandshakeError;
#[cfg(feature = "deflate")]
use crate::extensions::deflate::{DeflateParams, EXTENSION_NAME};
use crate::frame::mask::MaskKeySource;
use crate::time::Instant;

/// Where the handshake is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Waiting for (the rest of) the response head.
    Reading,
    /// The server refused: reading the body of its response.
    Body,
    /// A valid 101 was read: the handshake is complete.
    Complete,
    /// Refused or failed: nothing more is read.
    Failed,
}

/// How the body of a refusal ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyEnd {
    /// After this many bytes (`Content-Length`, cut at the limit).
    Length(usize),
    /// At the end of stream, or at the limit.
    Eof,
}

/// A refusal being read: status and headers, and the body so far.
#[derive(Debug)]
struct Refusal {
    status: u16,
    headers: Headers,
    body: Vec<u8>,
    end: BodyEnd,
}

/// The client side of the opening handshake, a sans-IO state machine with the calling contract
/// of [`Connection`].
///
/// # Calling contract
///
/// * **Start.** [`new`](Self::new) adds the permessage-deflate offers of [`Config::deflate`]
///   to the [`ClientRequest`], queues the request and arms [`Config::handshake_timeout`].
/// * **Inputs.** Bytes read from the transport go to [`receive_data`](Self::receive_data), end
///   of stream to [`receive_eof`](Self::receive_eof), the passing of time to
///   [`handle_timeout`](Self::handle_timeout). Each returns the failure of the handshake, once.
/// * **Outputs.** After any input, the caller takes bytes to write with
///   [`poll_transmit`](Self::poll_transmit) until it returns `None` (on [`Transmit::Shutdown`]
///   it closes the transport once everything before it is written) and asks
///   [`poll_timeout`](Self::poll_timeout) when to call
///   [`handle_timeout`](Self::handle_timeout).
/// * **Hand-off.** Once [`is_complete`](Self::is_complete), the caller turns the machine into
///   the [`Connection`] with [`into_connection`](Self::into_connection), which feeds it the
///   bytes that followed the response head.
///
/// The response is validated with [`ClientRequest::parse_response`] and
/// [`DeflateConfig::client_agreed`](crate::extensions::deflate::DeflateConfig::client_agreed).
/// A response other than 101 is read to the end of its body (by `Content-Length`, or until
/// end of stream; at most [`Limits::max_body_bytes`](super::Limits::max_body_bytes)) and the
/// handshake then fails with [`HandshakeError::Rejected`], which carries the status, headers
/// and body: a 401's `WWW-Authenticate`, a redirect's `Location`. After a failure,
/// `poll_transmit` reports only [`Transmit::Shutdown`].
///
/// See [`ServerHandshake`](super::ServerHandshake) for an example that drives both ends.
pub struct ClientHandshake {
    config: Arc<Config>,
    request: ClientRequest,
    mask_keys: Box<dyn MaskKeySource>,
    state: State,
    input: Input,
    refusal: Option<Refusal>,
    response: Option<Response>,
    /// Bytes queued for the transport.
    out: Vec<u8>,
    shutdown: bool,
    shutdown_reported: bool,
    /// When the handshake times out.
    deadline: Option<Instant>,
    error: Option<HandshakeError>,
    /// The transport reached end of stream after the response.
    eof: bool,
    /// The permessage-deflate parameters agreed.
    #[cfg(feature = "deflate")]
    deflate: Option<DeflateParams>,
}

impl core::fmt::Debug for ClientHandshake {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ClientHandshake")
            .field("state", &self.state)
            .field("buffered", &self.input.len())
            .field("queued_out", &self.out.len())
            .field("deadline", &self.deadline)
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl ClientHandshake {
    /// A handshake sending `request` on a transport just connected, at time `now`.
    ///
    /// The permessage-deflate offers of [`Config::deflate`] are added to the request (when it
    /// is enabled), the request is queued, and [`Config::handshake_timeout`] is armed. The
    /// [`Connection`] it turns into shares `config` and masks its frames with keys from
    /// `mask_keys` (RFC 6455 section 5.3: from a strong source of entropy).
    ///
    /// Next: write what [`poll_transmit`](Self::poll_transmit) hands out, then feed what the
    /// server sends to [`receive_data`](Self::receive_data).
    ///
    /// # Errors
    ///
    /// [`HandshakeError::InvalidArgument`] if a deflate offer of the configuration is invalid,
    /// or if `request` already offers permessage-deflate itself (it is offered through
    /// [`Config::deflate`], so that the answer can be checked against the offers).
    pub fn new(
        request: ClientRequest,
        config: impl Into<Arc<Config>>,
        mask_keys: impl MaskKeySource + 'static,
        now: Instant,
    ) -> Result<ClientHandshake, HandshakeError> {
        let config = config.into();
        #[cfg(feature = "deflate")]
        let request = {
            if request
                .offered_extensions()
                .iter()
                .any(|offer| offer.name == EXTENSION_NAME)
            {
                return Err(HandshakeError::InvalidArgument(
                    "permessage-deflate is offered through Config::deflate",
                ));
            }
            config.deflate.offer(request)?
        };
        let mut out = Vec::new();
        request.write_request(&mut out);
        let deadline = config.handshake_timeout.map(|timeout| now + timeout);
        Ok(ClientHandshake {
            config,
            request,
            mask_keys: Box::new(mask_keys),
            state: State::Reading,
            input: Input::default(),
            refusal: None,
            response: None,
            out,
            shutdown: false,
            shutdown_reported: false,
            deadline,
            error: None,
            eof: false,
            #[cfg(feature = "deflate")]
            deflate: None,
        })
    }

    /// The request sent, with the offers added from the configuration.
    pub fn request(&self) -> &ClientRequest {
        &self.request
    }

    /// Feeds bytes read from the transport, at time `now`.
    ///
    /// The response head may arrive in pieces of any size; it is buffered up to
    /// [`Limits::max_header_bytes`](super::Limits::max_header_bytes). Bytes after a 101 (frames
    /// the server sent at once) are kept for the connection: all of the read that completed
    /// the head, and at most `max_header_bytes` more in later reads.
    ///
    /// Next: if [`is_complete`](Self::is_complete), [`into_connection`](Self::into_connection);
    /// otherwise keep reading, and call [`handle_timeout`](Self::handle_timeout) at
    /// [`poll_timeout`](Self::poll_timeout).
    ///
    /// # Errors
    ///
    /// The handshake fails, and then [`poll_transmit`](Self::poll_transmit) reports
    /// [`Transmit::Shutdown`], when the response is invalid (see
    /// [`ClientRequest::parse_response`]; a bad permessage-deflate answer is
    /// [`HandshakeError::Extension`]), when it is not a 101 ([`HandshakeError::Rejected`] once
    /// its body has been read), on too many bytes after the 101, or when `now` is past the
    /// handshake deadline ([`HandshakeError::Timeout`]). The error is returned once; input
    /// after it is discarded, and [`error`](Self::error) keeps it.
    pub fn receive_data(&mut self, data: &[u8], now: Instant) -> Result<(), HandshakeError> {
        if let Some(error) = self.check_timer(now) {
            return Err(error);
        }
        match self.state {
            State::Failed => Ok(()),
            State::Reading => self.read_head(data),
            State::Body => self.read_body(data),
            State::Complete => {
                if self.input.push_after(data, &self.config.limits) {
                    Ok(())
                } else {
                    Err(self.fail(HandshakeError::MalformedHttp(
                        "too much data before the connection took over",
                    )))
                }
            }
        }
    }

    fn read_head(&mut self, data: &[u8]) -> Result<(), HandshakeError> {
        let limits = self.config.limits;
        let (parse, rest) = self.input.push_head(data, &limits);
        let Some(parse) = parse else {
            return Ok(());
        };
        let (head, len) = match parse_response(&self.input.head()[..parse], limits) {
            Ok(Status::Partial) => return Ok(()),
            Ok(Status::Complete(complete)) => complete,
            Err(error) => return Err(self.fail(error)),
        };
        self.input.complete(len, rest);
        if head.code != 101 {
            // "If the status code received from the server is not 101, the client handles the
            // response per HTTP [RFC2616] procedures" (section 4.1): here, it reads the body
            // and reports the refusal.
            self.input.release_head();
            let end = body_end(head.code, &head.headers, limits.max_body_bytes);
            let body = self.input.take_after();
            self.refusal = Some(Refusal {
                status: head.code,
                headers: head.headers,
                body: Vec::new(),
                end,
            });
            self.state = State::Body;
            return self.read_body(&body);
        }
        let response = match self.request.parse_response(self.input.head(), limits) {
            Ok(Status::Complete((response, _))) => response,
            Ok(Status::Partial) => {
                return Err(self.fail(HandshakeError::MalformedHttp("incomplete response")))
            }
            Err(error) => return Err(self.fail(error)),
        };
        self.input.release_head();
        #[cfg(feature = "deflate")]
        match self.config.deflate.client_agreed(response.extensions()) {
            Ok(params) => self.deflate = params,
            Err(error) => return Err(self.fail(error)),
        }
        self.response = Some(response);
        self.state = State::Complete;
        self.deadline = None;
        Ok(())
    }

    /// Adds body bytes of a refusal; fails with it once the body is complete.
    fn read_body(&mut self, data: &[u8]) -> Result<(), HandshakeError> {
        let limit = self.config.limits.max_body_bytes;
        let Some(refusal) = self.refusal.as_mut() else {
            return Ok(());
        };
        let wanted = match refusal.end {
            BodyEnd::Length(length) => length,
            BodyEnd::Eof => limit,
        };
        let room = wanted.saturating_sub(refusal.body.len());
        refusal
            .body
            .extend_from_slice(&data[..data.len().min(room)]);
        if refusal.body.len() >= wanted {
            return Err(self.refused());
        }
        Ok(())
    }

    /// Fails with the refusal read so far.
    fn refused(&mut self) -> HandshakeError {
        let error = match self.refusal.take() {
            Some(refusal) => HandshakeError::Rejected(Box::new(HttpResponse::received(
                refusal.status,
                refusal.headers,
                refusal.body,
            ))),
            None => HandshakeError::ConnectionLost,
        };
        self.fail(error)
    }

    /// The transport reached end of stream.
    ///
    /// Before the response head is complete, the handshake fails with
    /// [`HandshakeError::ConnectionLost`]; while the body of a refusal is read, it ends the
    /// body and the handshake fails with [`HandshakeError::Rejected`]. Next:
    /// [`poll_transmit`](Self::poll_transmit) reports [`Transmit::Shutdown`]. After a 101, the
    /// end of stream is passed on to the connection by
    /// [`into_connection`](Self::into_connection).
    ///
    /// # Errors
    ///
    /// The failure, once.
    pub fn receive_eof(&mut self) -> Result<(), HandshakeError> {
        match self.state {
            State::Reading => Err(self.fail(HandshakeError::ConnectionLost)),
            State::Body => Err(self.refused()),
            State::Complete => {
                self.eof = true;
                Ok(())
            }
            State::Failed => Ok(()),
        }
    }

    /// Tells the machine the time is `now`. Spurious calls are no-ops.
    ///
    /// Once [`Config::handshake_timeout`] has passed without a complete response, the
    /// handshake fails with [`HandshakeError::Timeout`] (or, while the body of a refusal is
    /// read, with [`HandshakeError::Rejected`] and the body so far). Next:
    /// [`poll_transmit`](Self::poll_transmit) reports [`Transmit::Shutdown`].
    ///
    /// # Errors
    ///
    /// The failure, once.
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), HandshakeError> {
        match self.check_timer(now) {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    fn check_timer(&mut self, now: Instant) -> Option<HandshakeError> {
        let waiting = matches!(self.state, State::Reading | State::Body);
        if !waiting || self.deadline.is_none_or(|deadline| now < deadline) {
            return None;
        }
        Some(match self.state {
            State::Body => self.refused(),
            _ => self.fail(HandshakeError::Timeout),
        })
    }

    /// Appends the bytes to send to `out`: the request, then, when the handshake failed,
    /// [`Transmit::Shutdown`] once; then `None`.
    ///
    /// [`Transmit::Data`] carries the number of bytes appended. The caller may write `out`
    /// partially and keep the rest for later.
    pub fn poll_transmit(&mut self, out: &mut Vec<u8>) -> Option<Transmit> {
        take_output(
            &mut self.out,
            self.shutdown,
            &mut self.shutdown_reported,
            out,
        )
    }

    /// When to call [`handle_timeout`](Self::handle_timeout): the handshake deadline, until the
    /// response is read or the handshake fails.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            State::Reading | State::Body => self.deadline,
            State::Complete | State::Failed => None,
        }
    }

    /// Whether a valid 101 was read: the next call is
    /// [`into_connection`](Self::into_connection).
    pub fn is_complete(&self) -> bool {
        self.state == State::Complete
    }

    /// The validated 101, once [`is_complete`](Self::is_complete): its headers (`Set-Cookie`,
    /// say), subprotocol and extensions.
    pub fn response(&self) -> Option<&Response> {
        self.response.as_ref()
    }

    /// Why the handshake failed, if it did: for a refusal, [`HandshakeError::Rejected`] with
    /// the response received.
    pub fn error(&self) -> Option<&HandshakeError> {
        self.error.as_ref()
    }

    /// How many received bytes the machine holds: the incomplete head, the bytes that
    /// followed a 101, or the body of a refusal. At most twice
    /// [`Limits::max_header_bytes`](super::Limits::max_header_bytes) plus the rest of the read
    /// that completed the head, or [`Limits::max_body_bytes`](super::Limits::max_body_bytes).
    pub fn buffered_input(&self) -> usize {
        self.input.len() + self.refusal.as_ref().map_or(0, |r| r.body.len())
    }

    /// Turns the completed handshake into the [`Connection`] and the server's [`Response`], at
    /// time `now`.
    ///
    /// The connection shares the configuration, masks with the keys given to
    /// [`new`](Self::new), has the agreed subprotocol ([`Connection::protocol`]) and
    /// permessage-deflate parameters, and has already been fed the bytes that followed the
    /// 101 (its events report what they held, and any error in them) and the end of stream,
    /// if it came.
    ///
    /// Next: drive the connection as its documentation says, starting with
    /// [`Connection::poll_event`].
    ///
    /// # Errors
    ///
    /// The failure if the handshake failed ([`HandshakeError::Rejected`] for a refusal), or
    /// [`HandshakeError::InvalidArgument`] if the response has not been read yet.
    pub fn into_connection(
        mut self,
        now: Instant,
    ) -> Result<(Connection, Response), HandshakeError> {
        if let Some(error) = self.error.take() {
            return Err(error);
        }
        let Some(response) = self.response.take() else {
            return Err(HandshakeError::InvalidArgument(
                "the handshake response has not been read",
            ));
        };
        let connection = Connection::client_with(Arc::clone(&self.config), self.mask_keys, now);
        #[cfg(feature = "deflate")]
        let connection = match self.deflate {
            Some(params) => connection.with_deflate(params),
            None => connection,
        };
        let mut connection = connection;
        // The unsent bytes go first (a client's request is always taken before a response
        // can arrive, but a caller driving the machine by hand may not have taken it).
        let after = self.input.take_after();
        connection.take_over(
            response.protocol().map(String::from),
            &self.out,
            &after,
            self.eof,
            now,
        );
        Ok((connection, response))
    }

    /// Fails the handshake: unsent output is dropped, nothing more is read, and the transport
    /// is to be closed.
    fn fail(&mut self, error: HandshakeError) -> HandshakeError {
        self.error = Some(error.clone());
        self.state = State::Failed;
        self.out.clear();
        self.input.clear();
        self.refusal = None;
        self.deadline = None;
        self.shutdown = true;
        error
    }
}

/// How the body of a response other than 101 ends (RFC 7230 section 3.3.3), at most `limit`
/// bytes of it read.
fn body_end(status: u16, headers: &Headers, limit: usize) -> BodyEnd {
    // "Any response to a HEAD request and any response with a 1xx (Informational), 204 (No
    // Content), or 304 (Not Modified) status code is always terminated by the first empty
    // line after the header fields, regardless of the header fields present in the message,
    // and thus cannot contain a message body."
    if (100..200).contains(&status) || status == 204 || status == 304 {
        return BodyEnd::Length(0);
    }
    // A chunked body is not decoded: the refusal is reported with its status and headers.
    if headers.get("Transfer-Encoding").is_some() {
        return BodyEnd::Length(0);
    }
    let mut lengths = headers.get_all("Content-Length").map(trim_ows);
    match lengths.next() {
        None => BodyEnd::Eof,
        Some(first) => {
            // Several Content-Length lines must agree; an invalid one ends the body at once.
            let length = parse_length(first).filter(|_| lengths.all(|other| other == first));
            BodyEnd::Length(length.unwrap_or(0).min(limit))
        }
    }
}

/// A `Content-Length` value: decimal digits (a value too large for `usize` is cut to the
/// limit anyway).
fn parse_length(value: &[u8]) -> Option<usize> {
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let digits = core::str::from_utf8(value).ok()?;
    Some(digits.parse().unwrap_or(usize::MAX))
}
