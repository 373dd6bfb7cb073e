//! The connection state machine after the opening handshake (RFC 6455 sections 5 to 8), by
//! concern: [`receive`] (framing rules, messages, control frames), [`send`] (commands and the
//! output queue), [`closing`] (the closing handshake, failing, timers and the end).

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::closed::Closed;
use crate::config::Config;
#[cfg(feature = "deflate")]
use crate::extensions::deflate::{DeflateParams, DeflateState};
use crate::frame::mask::MaskKeySource;
use crate::frame::FrameDecoder;
#[cfg(feature = "deflate")]
use crate::frame::RSV1;
use crate::message::{Assembler, Event};
use crate::policy::{RateLimiter, Verdict};
use crate::pool::BufferPool;
use crate::role::Role;
use crate::time::Instant;
use crate::timer::{Timer, TimerTable};

mod closing;
mod output;
mod receive;
mod send;

#[cfg(test)]
mod rate_tests;

use output::Output;

/// What [`Connection::poll_transmit`] asks the caller to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transmit {
    /// This many bytes were appended to the output buffer: write them to the transport.
    Data(usize),
    /// All output has been handed out: once it is written, close the transport (for TCP,
    /// shut down the write side and close the socket). Reported once.
    Shutdown,
}

/// Where the connection is in its lifetime (section 7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Messages flow both ways.
    Open,
    /// A Close frame has been sent or received, or the connection is failing; the closing
    /// handshake is under way.
    Closing,
    /// The WebSocket connection is closed ([`Event::Closed`] has been queued): once its
    /// output is written, the transport is to be closed.
    Closed,
}

/// A WebSocket connection after the opening handshake: a sans-IO state machine.
///
/// # Calling contract
///
/// The connection never touches a socket or a clock. The caller (an adapter) drives it, and
/// passes the current time to every call that may set a timer:
///
/// * **Inputs.** Bytes read from the transport go to [`receive_data`](Self::receive_data); end
///   of stream to [`receive_eof`](Self::receive_eof); the passing of time to
///   [`handle_timeout`](Self::handle_timeout).
/// * **Commands.** [`send`](Self::send), [`send_text`](Self::send_text),
///   [`send_binary`](Self::send_binary), [`send_fragment`](Self::send_fragment),
///   [`ping`](Self::ping), [`pong`](Self::pong) and [`close`](Self::close) queue frames.
///   Misuse returns a [`SendError`](crate::SendError) and queues nothing.
/// * **Outputs.** After any input or command, the caller:
///   1. takes events with [`poll_event`](Self::poll_event) until it returns `None`;
///   2. writes the queued output: either with a vectored write of
///      [`transmit_slices`](Self::transmit_slices) followed by
///      [`advance_transmit`](Self::advance_transmit) with the count written (a partial write
///      resumes exactly there), or by taking a copy with
///      [`poll_transmit`](Self::poll_transmit); once
///      [`should_close_transport`](Self::should_close_transport) is true, it closes the
///      transport;
///   3. asks [`poll_timeout`](Self::poll_timeout) when to call
///      [`handle_timeout`](Self::handle_timeout) next.
///
/// The last event of every connection is [`Event::Closed`], once, with the close code, the
/// reason and the [`CloseCause`](crate::CloseCause): a completed closing handshake, a protocol
/// error, a timeout or a lost transport.
///
/// A peer protocol error fails the connection (section 7.1.7): the error is returned once
/// from the input call and all further input is discarded. Events decoded before the error
/// are still delivered; once they have been taken (`poll_event` returned `None` once), the
/// Close frame with the right code is queued and [`Event::Closed`] follows. Whatever the
/// application sends in response to those events goes out before the Close frame.
///
/// # Example
///
/// ```
/// use ws_proto::{Config, Connection, Event, Instant, Message, Transmit};
///
/// let now = Instant::ZERO;
/// let mut server = Connection::server(Config::default(), now);
/// // A masked text frame "Hello" from a client (RFC 6455 section 5.7).
/// server.receive_data(&[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58], now)?;
/// assert_eq!(server.poll_event(), Some(Event::Message(Message::Text("Hello".into()))));
///
/// // Echo it: servers send unmasked frames.
/// server.send_text("Hello").unwrap();
/// let mut out = Vec::new();
/// assert_eq!(server.poll_transmit(&mut out), Some(Transmit::Data(7)));
/// assert_eq!(out, [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
/// assert_eq!(server.poll_transmit(&mut out), None);
/// # Ok::<(), ws_proto::ProtocolError>(())
/// ```
pub struct Connection {
    role: Role,
    config: Arc<Config>,
    mask_keys: Option<Box<dyn MaskKeySource>>,
    /// RSV bits claimed by negotiated extensions.
    allowed_rsv: u8,
    /// permessage-deflate, when negotiated (RFC 7692).
    #[cfg(feature = "deflate")]
    deflate: Option<Box<DeflateState>>,
    /// [`Config::rate_limit`], when set: boxed, as most connections have none.
    rate: Option<Box<Limited>>,
    /// The subprotocol agreed in the opening handshake.
    protocol: Option<String>,

    // Receiving.
    decoder: FrameDecoder,
    /// The header of the frame being received.
    current: Option<crate::frame::FrameHeader>,
    control: Vec<u8>,
    message: Assembler,
    events: VecDeque<Event>,
    /// Spare buffers for received messages and output.
    pool: BufferPool,

    // Sending.
    out: Output,
    /// Kind of the fragmented message being sent, if one is in progress.
    sending: Option<crate::message::DataKind>,

    // Closing.
    close_sent: bool,
    close_received: bool,
    /// This side started the closing handshake.
    closed_first_locally: bool,
    /// When the peer's Close frame arrived (the client's wait for the server's end of stream
    /// starts then).
    close_received_at: Instant,
    /// Set once the connection failed or the closing handshake completed: input is discarded.
    input_done: bool,
    /// The connection failed; its Close frame is queued once the events before the failure
    /// have been taken.
    failure: Option<closing::Failure>,
    /// The peer's Close frame arrived; the reply is queued once the events before it have
    /// been taken.
    close_reply_pending: bool,
    /// The code and reason of the peer's Close frame (1005 without a code).
    peer_close: Option<(crate::CloseCode, String)>,
    /// The transport should be closed once the output is written.
    shutdown: bool,
    shutdown_reported: bool,
    eof_received: bool,
    /// How the connection ended, once it has.
    closed: Option<Closed>,

    timers: TimerTable,
}

impl core::fmt::Debug for Connection {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Connection")
            .field("role", &self.role)
            .field("state", &self.state())
            .field("events", &self.events.len())
            .field("buffered_out", &self.out.len())
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// A server-side connection, for after the opening handshake, at time `now` (the
    /// keepalive timer starts then). The configuration is shared: pass an `Arc<Config>` to
    /// share one between many connections, or a `Config`.
    pub fn server(config: impl Into<Arc<Config>>, now: Instant) -> Connection {
        Connection::new(Role::Server, config.into(), None, now)
    }

    /// A client-side connection, for after the opening handshake, at time `now`. Every frame
    /// it sends is masked with a fresh key from `mask_keys` (section 5.3).
    pub fn client(
        config: impl Into<Arc<Config>>,
        mask_keys: impl MaskKeySource + 'static,
        now: Instant,
    ) -> Connection {
        Connection::new(Role::Client, config.into(), Some(Box::new(mask_keys)), now)
    }

    fn new(
        role: Role,
        config: Arc<Config>,
        mask_keys: Option<Box<dyn MaskKeySource>>,
        now: Instant,
    ) -> Connection {
        let mut timers = TimerTable::default();
        timers.set_after(Timer::Keepalive, now, config.keepalive_interval);
        let rate = config
            .rate_limit
            .map(|limit| Box::new(Limited::new(limit, now)));
        Connection {
            role,
            config,
            mask_keys,
            allowed_rsv: 0,
            #[cfg(feature = "deflate")]
            deflate: None,
            rate,
            protocol: None,
            decoder: FrameDecoder::new(),
            current: None,
            control: Vec::new(),
            message: Assembler::default(),
            events: VecDeque::new(),
            pool: BufferPool::default(),
            out: Output::default(),
            sending: None,
            close_sent: false,
            close_received: false,
            closed_first_locally: false,
            close_received_at: now,
            input_done: false,
            failure: None,
            close_reply_pending: false,
            peer_close: None,
            shutdown: false,
            shutdown_reported: false,
            eof_received: false,
            closed: None,
            timers,
        }
    }

    /// Applies the permessage-deflate parameters agreed in the handshake (RFC 7692): from
    /// here on, data messages are compressed as [`Config::deflate`] says, and RSV1 marks
    /// compressed messages from the peer. Call it before any other method. (The handshake
    /// state machines do this themselves.)
    ///
    /// ```
    /// use ws_proto::extensions::deflate::DeflateParams;
    /// use ws_proto::{Config, Connection, Instant};
    /// let mut params = DeflateParams::default();
    /// params.server_no_context_takeover = true;
    /// let server = Connection::server(Config::default(), Instant::ZERO).with_deflate(params);
    /// assert_eq!(server.deflate_params(), Some(&params));
    /// ```
    #[cfg(feature = "deflate")]
    pub fn with_deflate(mut self, params: DeflateParams) -> Connection {
        self.deflate = Some(Box::new(DeflateState::new(
            self.role,
            params,
            &self.config.deflate,
        )));
        // "This extension ... uses the RSV1 bit ... of the WebSocket header" (RFC 7692
        // section 6).
        self.allowed_rsv |= RSV1;
        self
    }

    /// The permessage-deflate parameters in force, if it was negotiated.
    #[cfg(feature = "deflate")]
    pub fn deflate_params(&self) -> Option<&DeflateParams> {
        self.deflate.as_ref().map(|d| &d.params)
    }

    /// Whether the compressor and the inflater hold DEFLATE state now (for tests).
    #[cfg(all(test, feature = "deflate"))]
    pub(crate) fn deflate_allocated(&self) -> Option<(bool, bool)> {
        self.deflate.as_deref().map(DeflateState::allocated)
    }

    /// This end's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The settings in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The subprotocol agreed in the opening handshake, if any.
    pub fn protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    /// Where the connection is in its lifetime.
    pub fn state(&self) -> State {
        if self.closed.is_some() {
            State::Closed
        } else if self.close_sent || self.close_received || self.failure.is_some() {
            State::Closing
        } else {
            State::Open
        }
    }

    /// How the connection ended, once it has (the record [`Event::Closed`] carried).
    pub fn closed(&self) -> Option<&Closed> {
        self.closed.as_ref()
    }

    /// Bytes queued for sending and not yet written (handed out by
    /// [`poll_transmit`](Self::poll_transmit) or passed to
    /// [`advance_transmit`](Self::advance_transmit)).
    pub fn buffered_amount(&self) -> usize {
        self.out.len()
    }

    // ----- Buffers ------------------------------------------------------------------------

    /// Gives back a buffer the application is done with, typically the payload of a received
    /// message ([`Message::into_bytes`](crate::Message::into_bytes)), so that a later message,
    /// received or sent, reuses its memory instead of allocating.
    ///
    /// The buffer goes to the connection's [`BufferPool`], which keeps at most
    /// [`BufferPool::DEFAULT_LIMIT`] bytes of them (see [`pool_mut`](Self::pool_mut) for
    /// adapters that share one pool between many connections).
    ///
    /// ```
    /// use ws_proto::{Config, Connection, Event, Instant, Message};
    /// let now = Instant::ZERO;
    /// let mut server = Connection::server(Config::default(), now);
    /// let frame = [0x82, 0x83, 1, 2, 3, 4, 1, 2, 3]; // masked binary [0, 0, 0]
    /// server.receive_data(&frame, now).unwrap();
    /// let Some(Event::Message(message)) = server.poll_event() else { panic!() };
    /// let address = message.as_bytes().as_ptr();
    /// server.recycle(message.into_bytes());
    /// // The next message is received into the same memory.
    /// server.receive_data(&frame, now).unwrap();
    /// let Some(Event::Message(message)) = server.poll_event() else { panic!() };
    /// assert_eq!(message.as_bytes().as_ptr(), address);
    /// ```
    pub fn recycle(&mut self, buffer: Vec<u8>) {
        self.pool.put(buffer);
    }

    /// The pool of spare buffers that received messages and queued output are taken from, and
    /// that written output returns to.
    ///
    /// An adapter with many connections on one thread keeps one pool for all of them and
    /// swaps it in around each call that may take or give buffers (`receive_data`, the
    /// `send_*` methods, `advance_transmit`), so that idle connections hold none:
    ///
    /// ```
    /// use ws_proto::{BufferPool, Config, Connection, Instant};
    /// let mut shared = BufferPool::with_limit(1 << 20);
    /// shared.put(Vec::with_capacity(4096));
    /// let mut conn = Connection::server(Config::default(), Instant::ZERO);
    /// core::mem::swap(conn.pool_mut(), &mut shared);
    /// conn.send_text("taken from the shared pool").unwrap();
    /// core::mem::swap(conn.pool_mut(), &mut shared);
    /// assert!(shared.is_empty() && conn.pool_mut().is_empty());
    /// assert!(conn.buffered_amount() > 0);
    /// ```
    pub fn pool_mut(&mut self) -> &mut BufferPool {
        &mut self.pool
    }

    // ----- Outputs ------------------------------------------------------------------------

    /// Takes the next event, if any.
    ///
    /// Call it until it returns `None`: that tells the connection the application has seen
    /// every event so far, which releases a pending Close frame (the reply to the peer's, or
    /// the one failing the connection); [`Event::Closed`] may follow then, as the last event.
    #[inline]
    pub fn poll_event(&mut self) -> Option<Event> {
        if let Some(event) = self.events.pop_front() {
            return Some(event);
        }
        // The usual case, checked inline: no Close frame waits for the events to be seen.
        if self.failure.is_none() && !self.close_reply_pending {
            return None;
        }
        self.release_close();
        self.events.pop_front()
    }

    /// Moves every queued output byte to the end of `out` and reports it: a copying
    /// alternative to [`transmit_slices`](Self::transmit_slices) for callers that want one
    /// buffer (tests, simple adapters).
    ///
    /// Returns [`Transmit::Data`] with the number of bytes appended, then, when the
    /// connection is done and everything has been handed out, [`Transmit::Shutdown`] once,
    /// then `None`. The caller may write `out` partially and keep the rest for later.
    pub fn poll_transmit(&mut self, out: &mut Vec<u8>) -> Option<Transmit> {
        let n = self.out.take_into(out, &mut self.pool);
        if n > 0 {
            return Some(Transmit::Data(n));
        }
        if self.shutdown && !self.shutdown_reported {
            self.shutdown_reported = true;
            return Some(Transmit::Shutdown);
        }
        None
    }

    /// The queued output, without copying: fills `slices` with its pieces in order (frame
    /// headers and small frames share pieces; a large payload handed to [`send`](Self::send)
    /// is a piece of its own) and returns how many it filled. Write them with one vectored
    /// write, then call [`advance_transmit`](Self::advance_transmit) with the number of bytes
    /// the transport took. Zero means nothing is queued.
    ///
    /// ```
    /// use ws_proto::{Config, Connection, Instant, Message};
    /// let mut server = Connection::server(Config::default(), Instant::ZERO);
    /// server.send(Message::Binary(vec![7; 100_000])).unwrap();
    /// let mut slices = [&[][..]; 8];
    /// let n = server.transmit_slices(&mut slices);
    /// assert_eq!(n, 2); // the header, then the payload as it was handed over
    /// assert_eq!(slices[0], [0x82, 127, 0, 0, 0, 0, 0, 1, 0x86, 0xa0]);
    /// assert_eq!(slices[1].len(), 100_000);
    /// server.advance_transmit(4); // the transport took 4 bytes: the rest stays queued
    /// assert_eq!(server.buffered_amount(), 100_006);
    /// ```
    pub fn transmit_slices<'a>(&'a self, slices: &mut [&'a [u8]]) -> usize {
        self.out.slices(slices)
    }

    /// `written` bytes of the output [`transmit_slices`](Self::transmit_slices) showed were
    /// written: they leave the queue, and the next call shows what follows them.
    pub fn advance_transmit(&mut self, written: usize) {
        self.out.advance(written, &mut self.pool);
    }

    /// Whether the transport should be closed now: the connection is done and all of its
    /// output has been written (or handed out by [`poll_transmit`](Self::poll_transmit)). For
    /// TCP, shut down the write side; the server then closes the socket, and the client
    /// waits for the server's end of stream ([`receive_eof`](Self::receive_eof)), at most
    /// until its close timer fires.
    pub fn should_close_transport(&self) -> bool {
        self.shutdown && self.out.is_empty()
    }

    /// When to call [`handle_timeout`](Self::handle_timeout) next, if any timer is set. The
    /// deadline may already have passed: then call it at once.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    /// Queues an event for [`poll_event`](Self::poll_event).
    fn push_event(&mut self, event: Event) {
        self.events.push_back(event);
    }

    /// Queues a received data message or chunk, as [`Config::rate_limit`] says: delivered,
    /// dropped (its buffer goes back to the pool), or refused with
    /// [`ProtocolError::RateLimited`], which fails the connection with 1008.
    #[inline]
    fn deliver(&mut self, event: Event) -> Result<(), crate::ProtocolError> {
        if let Some(limited) = self.rate.as_deref_mut() {
            match limited.verdict(&event) {
                Verdict::Deliver => {}
                Verdict::Drop => {
                    let buffer = match event {
                        Event::Message(crate::Message::Text(text)) => text.into_bytes(),
                        Event::Message(crate::Message::Binary(data)) => data,
                        Event::Chunk(chunk) => chunk.data,
                        _ => Vec::new(),
                    };
                    self.pool.put(buffer);
                    return Ok(());
                }
                Verdict::Close => return Err(crate::ProtocolError::RateLimited),
            }
        }
        self.push_event(event);
        Ok(())
    }

    /// The time of the input being received, for the rate limit.
    fn input_time(&mut self, now: Instant) {
        if let Some(limited) = self.rate.as_deref_mut() {
            limited.now = now;
        }
    }
}

/// A connection's [`RateLimiter`] and the time of the input it is receiving.
#[derive(Debug)]
struct Limited {
    limiter: RateLimiter,
    now: Instant,
}

impl Limited {
    fn new(limit: crate::policy::RateLimit, now: Instant) -> Limited {
        Limited {
            limiter: RateLimiter::new(limit, now),
            now,
        }
    }

    fn verdict(&mut self, event: &Event) -> Verdict {
        match event {
            Event::Message(message) => self
                .limiter
                .message(message.as_bytes().len() as u64, self.now),
            Event::Chunk(chunk) => {
                let bytes = chunk.data.len() as u64;
                self.limiter.chunk(chunk.first, chunk.last, bytes, self.now)
            }
            _ => Verdict::Deliver,
        }
    }
}

// Hand-off from the handshake state machines.
impl Connection {
    /// A client connection with the handshake's mask key source.
    pub(crate) fn client_with(
        config: Arc<Config>,
        mask_keys: Box<dyn MaskKeySource>,
        now: Instant,
    ) -> Connection {
        Connection::new(Role::Client, config, Some(mask_keys), now)
    }

    /// Takes over from a completed opening handshake, at time `now`: records the agreed
    /// subprotocol, queues the handshake's `unsent` bytes ahead of every frame (a server's
    /// 101 not written yet), and receives the bytes that followed the head and the end of
    /// stream if it came. An error in those bytes is reported by the connection's events,
    /// as any input's is.
    pub(crate) fn take_over(
        &mut self,
        protocol: Option<String>,
        unsent: &[u8],
        after: &[u8],
        eof: bool,
        now: Instant,
    ) {
        self.protocol = protocol;
        if !unsent.is_empty() {
            self.out
                .tail(&mut self.pool, unsent.len())
                .extend_from_slice(unsent);
            self.out.appended(unsent.len());
        }
        if !after.is_empty() {
            let _ = self.receive_data(after, now);
        }
        if eof {
            self.receive_eof();
        }
    }
}
