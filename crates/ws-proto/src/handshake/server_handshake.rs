//! The server's opening handshake as a sans-IO state machine (RFC 6455 section 4.2): read the
//! request, hand it to the application, write its answer, turn into the connection.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use super::input::Input;
use super::take_output;
use super::{Accept, HttpRequest, HttpResponse, Request, Status};
use crate::config::Config;
use crate::connection::{Connection, Transmit};
use crate::error::HandshakeError;
#[cfg(feature = "deflate")]
use crate::extensions::deflate::DeflateParams;
use crate::time::Instant;

/// What [`ServerHandshake::poll_event`] hands to the application: the request to answer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServerEvent {
    /// A valid opening handshake. Answer it with [`ServerHandshake::accept`] (an [`Accept`]
    /// from [`Request::accept`]) or refuse it with [`ServerHandshake::reject`].
    Request(Request),
    /// A request that does not ask for a WebSocket (no `Upgrade: websocket`), for example a
    /// browser loading the page at `GET /`. Answer it with [`ServerHandshake::reject`] and an
    /// [`HttpResponse`] (a page, a redirect, or a 426 for a server that only speaks
    /// WebSocket). Its body, if any, is not read.
    Http(HttpRequest),
}

/// Where the handshake is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading the request head.
    Reading,
    /// The request has been read; waiting for the application's answer.
    Answering,
    /// The 101 has been queued: the handshake is complete.
    Accepted,
    /// Refused or failed: the response (if any), then [`Transmit::Shutdown`].
    Done,
}

/// The server side of the opening handshake, a sans-IO state machine with the calling contract
/// of [`Connection`].
///
/// # Calling contract
///
/// * **Inputs.** Bytes read from the transport go to [`receive_data`](Self::receive_data), end
///   of stream to [`receive_eof`](Self::receive_eof), the passing of time to
///   [`handle_timeout`](Self::handle_timeout). A request may arrive in pieces of any size: the
///   machine buffers it, never more than [`Config::limits`] allows.
/// * **Events.** Once the request head is complete, [`poll_event`](Self::poll_event) hands it
///   out once, as a [`ServerEvent`].
/// * **Commands.** The application answers with [`accept`](Self::accept) (which negotiates
///   permessage-deflate as [`Config::deflate`] says and queues the `101 Switching Protocols`)
///   or [`reject`](Self::reject) (any other response, then the transport is closed).
/// * **Outputs.** After any input or command, the caller takes events with
///   [`poll_event`](Self::poll_event), takes bytes to write with
///   [`poll_transmit`](Self::poll_transmit) until it returns `None` (on
///   [`Transmit::Shutdown`] it closes the transport once everything before it is written), and
///   asks [`poll_timeout`](Self::poll_timeout) when to call
///   [`handle_timeout`](Self::handle_timeout).
/// * **Hand-off.** Once [`is_accepted`](Self::is_accepted), the caller turns the machine into
///   the [`Connection`] with [`into_connection`](Self::into_connection), which carries over the
///   part of the 101 not yet taken and the bytes that followed the request.
///
/// An invalid request fails the handshake: `receive_data` returns the error once, and
/// `poll_transmit` hands out the error response ([`HttpResponse::from_error`]: 400, 426 with
/// `Sec-WebSocket-Version: 13`, 431) and then [`Transmit::Shutdown`]. A timeout or an early end
/// of stream fails it with nothing written.
///
/// # Example
///
/// A server and a [`ClientHandshake`](super::ClientHandshake) driven against each other by
/// hand, the bytes of each `poll_transmit` fed to the other end:
///
/// ```
/// use std::sync::Arc;
/// use ws_proto::handshake::{ClientHandshake, ClientRequest, ServerEvent, ServerHandshake, Url};
/// use ws_proto::{Config, Event, Instant, Message, Transmit};
///
/// let config = Arc::new(Config::default());
/// let now = Instant::ZERO;
///
/// // The client queues its request (a real client draws the nonce from a random generator).
/// let url = Url::parse("ws://example.com/chat")?;
/// let request = ClientRequest::new(&url, *b"the sample nonce").protocol("chat")?;
/// let mask_keys = || [1, 2, 3, 4]; // a real client uses random keys
/// let mut client = ClientHandshake::new(request, config.clone(), mask_keys, now)?;
/// let mut server = ServerHandshake::new(config.clone(), now);
///
/// // Client -> server: the request.
/// let mut bytes = Vec::new();
/// while let Some(Transmit::Data(_)) = client.poll_transmit(&mut bytes) {}
/// server.receive_data(&bytes, now)?;
///
/// // The application looks at the request and accepts it with a subprotocol.
/// let Some(ServerEvent::Request(request)) = server.poll_event() else {
///     unreachable!("a valid request")
/// };
/// assert_eq!(request.path(), "/chat");
/// server.accept(request.accept().protocol("chat")?)?;
/// assert!(server.is_accepted());
///
/// // Server -> client: the 101, then at once a first message from the server.
/// let mut connection = server.into_connection(now)?;
/// assert_eq!(connection.protocol(), Some("chat"));
/// connection.send_text("welcome").unwrap();
/// let mut bytes = Vec::new();
/// while let Some(Transmit::Data(_)) = connection.poll_transmit(&mut bytes) {}
/// client.receive_data(&bytes, now)?;
/// assert!(client.is_complete());
///
/// // The client's connection already holds the message that followed the 101.
/// let (mut connection, response) = client.into_connection(now)?;
/// assert_eq!(response.protocol(), Some("chat"));
/// assert_eq!(connection.protocol(), Some("chat"));
/// assert_eq!(connection.poll_event(), Some(Event::Message(Message::Text("welcome".into()))));
/// # Ok::<(), ws_proto::HandshakeError>(())
/// ```
pub struct ServerHandshake {
    config: Arc<Config>,
    state: State,
    input: Input,
    /// The event not yet taken.
    event: Option<ServerEvent>,
    /// The validated request, kept to check and complete the application's [`Accept`].
    request: Option<Request>,
    /// Bytes queued for the transport.
    out: Vec<u8>,
    /// Whether a response (101 or other) was queued.
    responded: bool,
    shutdown: bool,
    shutdown_reported: bool,
    /// When the handshake times out.
    deadline: Option<Instant>,
    error: Option<HandshakeError>,
    /// The transport reached end of stream after the request was accepted.
    eof: bool,
    /// The subprotocol accepted.
    protocol: Option<String>,
    /// The permessage-deflate parameters accepted.
    #[cfg(feature = "deflate")]
    deflate: Option<DeflateParams>,
}

impl core::fmt::Debug for ServerHandshake {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ServerHandshake")
            .field("state", &self.state)
            .field("buffered", &self.input.len())
            .field("queued_out", &self.out.len())
            .field("deadline", &self.deadline)
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl ServerHandshake {
    /// A handshake for a connection just accepted from a listener, at time `now`. It arms
    /// [`Config::handshake_timeout`]; the [`Connection`] it turns into shares `config`.
    ///
    /// Next: feed what the client sends to [`receive_data`](Self::receive_data), and call
    /// [`handle_timeout`](Self::handle_timeout) at [`poll_timeout`](Self::poll_timeout).
    pub fn new(config: impl Into<Arc<Config>>, now: Instant) -> ServerHandshake {
        let config = config.into();
        let deadline = config.handshake_timeout.map(|timeout| now + timeout);
        ServerHandshake {
            config,
            state: State::Reading,
            input: Input::default(),
            event: None,
            request: None,
            out: Vec::new(),
            responded: false,
            shutdown: false,
            shutdown_reported: false,
            deadline,
            error: None,
            eof: false,
            protocol: None,
            #[cfg(feature = "deflate")]
            deflate: None,
        }
    }

    /// Feeds bytes read from the transport, at time `now`.
    ///
    /// The request head may arrive in pieces of any size; it is buffered up to
    /// [`Limits::max_header_bytes`](super::Limits::max_header_bytes). Bytes after the head
    /// (frames a client sent before it had our answer) are kept for the connection: all of the
    /// read that completed the head, and at most `max_header_bytes` more in later reads.
    ///
    /// Next: [`poll_event`](Self::poll_event) (the request, once its head is complete), then
    /// [`poll_transmit`](Self::poll_transmit) and [`poll_timeout`](Self::poll_timeout).
    ///
    /// # Errors
    ///
    /// An invalid request (see [`HttpRequest::parse`] and [`HttpRequest::into_websocket`]),
    /// too many bytes before the answer, or a `now` past the handshake deadline
    /// ([`HandshakeError::Timeout`], nothing written) fails the handshake: the error response
    /// is queued, then [`Transmit::Shutdown`]. The error is returned once; input after it is
    /// discarded, and [`error`](Self::error) keeps it.
    pub fn receive_data(&mut self, data: &[u8], now: Instant) -> Result<(), HandshakeError> {
        if self.timer_expired(now) {
            return Err(self.fail(HandshakeError::Timeout));
        }
        match self.state {
            State::Done => Ok(()),
            State::Reading => self.read_head(data),
            State::Answering | State::Accepted => {
                if self.input.push_after(data, &self.config.limits) {
                    Ok(())
                } else {
                    // "Once the client's opening handshake has been sent, the client MUST wait
                    // for a response from the server before sending any further data"
                    // (section 4.1).
                    Err(self.fail(HandshakeError::MalformedHttp(
                        "too much data before the handshake response",
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
        let (head, len) = match HttpRequest::parse(&self.input.head()[..parse], limits) {
            Ok(Status::Partial) => return Ok(()),
            Ok(Status::Complete(complete)) => complete,
            Err(error) => return Err(self.fail(error)),
        };
        self.input.complete(len, rest);
        self.input.release_head();
        let event = if head.is_upgrade() {
            match head.into_websocket() {
                Ok(request) => {
                    self.request = Some(request.clone());
                    ServerEvent::Request(request)
                }
                Err(error) => return Err(self.fail(error)),
            }
        } else {
            ServerEvent::Http(head)
        };
        self.event = Some(event);
        self.state = State::Answering;
        Ok(())
    }

    /// The transport reached end of stream.
    ///
    /// Before the request was answered, the handshake fails with
    /// [`HandshakeError::ConnectionLost`] and nothing is written: next,
    /// [`poll_transmit`](Self::poll_transmit) reports [`Transmit::Shutdown`]. After
    /// [`accept`](Self::accept), the end of stream is passed on to the connection by
    /// [`into_connection`](Self::into_connection).
    pub fn receive_eof(&mut self) {
        match self.state {
            State::Reading | State::Answering => {
                self.fail(HandshakeError::ConnectionLost);
            }
            State::Accepted => self.eof = true,
            State::Done => {}
        }
    }

    /// Tells the machine the time is `now`. Spurious calls are no-ops.
    ///
    /// Once [`Config::handshake_timeout`] has passed without the request being answered, the
    /// handshake fails with [`HandshakeError::Timeout`] and nothing is written: next,
    /// [`poll_transmit`](Self::poll_transmit) reports [`Transmit::Shutdown`].
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.timer_expired(now) {
            self.fail(HandshakeError::Timeout);
        }
    }

    /// Takes the request to answer, once its head is complete: a WebSocket
    /// [`ServerEvent::Request`] or a plain [`ServerEvent::Http`]. Returned once.
    ///
    /// Next: answer it with [`accept`](Self::accept) or [`reject`](Self::reject).
    pub fn poll_event(&mut self) -> Option<ServerEvent> {
        self.event.take()
    }

    /// Accepts the request of [`ServerEvent::Request`] with `accept`, made from it with
    /// [`Request::accept`] (and its builder methods: subprotocol, headers, other extensions).
    ///
    /// permessage-deflate is negotiated here, as [`Config::deflate`] says
    /// ([`DeflateConfig::negotiate`](crate::extensions::deflate::DeflateConfig::negotiate)),
    /// unless `accept` already answers it. The `101 Switching Protocols` is queued and the
    /// handshake timer stops.
    ///
    /// Next: [`into_connection`](Self::into_connection) (at once, or after writing the 101
    /// with [`poll_transmit`](Self::poll_transmit); either way the 101 goes out first).
    ///
    /// # Errors
    ///
    /// Nothing is queued and the machine still waits for an answer (the application may
    /// [`reject`](Self::reject) instead) when there is no WebSocket request to accept (none
    /// read yet, a plain HTTP request, or one already answered) or `accept` was made for
    /// another request ([`HandshakeError::InvalidArgument`]), or when the application's own
    /// permessage-deflate answer is invalid. After a failure, the failure is returned.
    pub fn accept(&mut self, accept: Accept) -> Result<(), HandshakeError> {
        if let Some(error) = &self.error {
            return Err(error.clone());
        }
        let request = match (&self.state, &self.request) {
            (State::Answering, Some(request)) => request,
            _ => {
                return Err(HandshakeError::InvalidArgument(
                    "no WebSocket request waiting for an answer",
                ))
            }
        };
        if !accept.answers(request) {
            return Err(HandshakeError::InvalidArgument(
                "the Accept was made for another request",
            ));
        }
        #[cfg(feature = "deflate")]
        let accept = {
            let (accept, params) = self.config.deflate.negotiate(request, accept)?;
            self.deflate = params;
            accept
        };
        accept.write_response(&mut self.out);
        self.protocol = accept.selected_protocol().map(String::from);
        self.request = None;
        self.event = None;
        self.responded = true;
        self.deadline = None;
        self.state = State::Accepted;
        Ok(())
    }

    /// Answers with `response` instead of accepting: a refused handshake (403, 401 with
    /// `WWW-Authenticate`, a redirect) or the answer to a plain HTTP request. The server may
    /// also refuse before the request is complete (503 when overloaded, say).
    ///
    /// The response is queued (a `500 Internal Server Error` instead if it is invalid, see
    /// [`HttpResponse::write`]), then [`Transmit::Shutdown`]; [`error`](Self::error) reports
    /// [`HandshakeError::Rejected`] with the response sent. After an accept or a failure this
    /// does nothing.
    ///
    /// Next: [`poll_transmit`](Self::poll_transmit) until it reports [`Transmit::Shutdown`].
    pub fn reject(&mut self, response: HttpResponse) {
        if !matches!(self.state, State::Reading | State::Answering) {
            return;
        }
        let sent = match response.write(&mut self.out) {
            Ok(()) => response,
            Err(error) => HttpResponse::from_error(&error),
        };
        self.responded = true;
        self.error = Some(HandshakeError::Rejected(Box::new(sent)));
        self.finish();
    }

    /// Appends the bytes to send to `out`: the response, then, when the handshake was refused
    /// or failed, [`Transmit::Shutdown`] once; then `None`.
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
    /// request is answered or the handshake fails.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            State::Reading | State::Answering => self.deadline,
            State::Accepted | State::Done => None,
        }
    }

    /// Whether the request was accepted: the next call is
    /// [`into_connection`](Self::into_connection).
    pub fn is_accepted(&self) -> bool {
        self.state == State::Accepted
    }

    /// Why the handshake ended without a connection: the failure, or
    /// [`HandshakeError::Rejected`] with the response sent by [`reject`](Self::reject).
    pub fn error(&self) -> Option<&HandshakeError> {
        self.error.as_ref()
    }

    /// How many received bytes the machine holds: the incomplete head, or the bytes that
    /// followed it. At most twice
    /// [`Limits::max_header_bytes`](super::Limits::max_header_bytes) plus the rest of the read
    /// that completed the head.
    pub fn buffered_input(&self) -> usize {
        self.input.len()
    }

    /// Turns the accepted handshake into the [`Connection`], at time `now`.
    ///
    /// The connection shares the configuration, has the agreed subprotocol
    /// ([`Connection::protocol`]) and permessage-deflate parameters, holds the part of the 101
    /// not yet taken with [`poll_transmit`](Self::poll_transmit) ahead of any frame, and has
    /// already been fed the bytes that followed the request (its events report what they
    /// held, and any error in them) and the end of stream, if it came.
    ///
    /// Next: drive the connection as its documentation says, starting with
    /// [`Connection::poll_event`] and [`Connection::poll_transmit`].
    ///
    /// # Errors
    ///
    /// The failure or [`HandshakeError::Rejected`] if the handshake ended that way, or
    /// [`HandshakeError::InvalidArgument`] if the request has not been accepted.
    pub fn into_connection(mut self, now: Instant) -> Result<Connection, HandshakeError> {
        if let Some(error) = self.error.take() {
            return Err(error);
        }
        if self.state != State::Accepted {
            return Err(HandshakeError::InvalidArgument(
                "the request has not been accepted",
            ));
        }
        let connection = Connection::server(Arc::clone(&self.config), now);
        #[cfg(feature = "deflate")]
        let connection = match self.deflate {
            Some(params) => connection.with_deflate(params),
            None => connection,
        };
        let mut connection = connection;
        // The unsent bytes go first (a client's request is always taken before a response
        // can arrive, but a caller driving the machine by hand may not have taken it).
        let after = self.input.take_after();
        connection.take_over(self.protocol.take(), &self.out, &after, self.eof, now);
        Ok(connection)
    }

    fn timer_expired(&self, now: Instant) -> bool {
        matches!(self.state, State::Reading | State::Answering)
            && self.deadline.is_some_and(|deadline| now >= deadline)
    }

    /// Fails the handshake: the error response is queued unless a response was already
    /// queued or the error is one nobody is left to read (a timeout, the end of stream), then
    /// the transport is to be closed.
    fn fail(&mut self, error: HandshakeError) -> HandshakeError {
        let silent = matches!(
            error,
            HandshakeError::Timeout | HandshakeError::ConnectionLost
        );
        if !self.responded && !silent {
            // `from_error` builds valid responses only.
            let _ = HttpResponse::from_error(&error).write(&mut self.out);
            self.responded = true;
        }
        self.error = Some(error.clone());
        self.finish();
        error
    }

    /// Ends the handshake without a connection: nothing more is read, and after the output,
    /// the transport is closed.
    fn finish(&mut self) {
        self.state = State::Done;
        self.event = None;
        self.request = None;
        self.input.clear();
        self.deadline = None;
        self.shutdown = true;
    }
}
