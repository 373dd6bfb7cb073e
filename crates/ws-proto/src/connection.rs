//! The connection state machine: framing, messages, control frames, closing and timers after the
//! opening handshake (RFC 6455 sections 5 to 8).

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::vec::Vec;
use core::time::Duration;

use crate::close::{CloseCode, CloseFrame};
use crate::config::{Config, MessageMode};
use crate::error::{ProtocolError, SendError};
#[cfg(feature = "deflate")]
use crate::extensions::deflate::{DeflateParams, DeflateState};
use crate::frame::mask::{apply_mask, MaskKeySource};
#[cfg(feature = "deflate")]
use crate::frame::RSV1;
use crate::frame::{
    decode_header, encode_header, FrameHeader, OpCode, MAX_CONTROL_PAYLOAD, MAX_HEADER_LEN,
};
use crate::message::{Assembler, DataKind, Event, Message};
use crate::pool::BufferPool;
use crate::time::Instant;

/// [`Connection::receive_buffer`] hands out room only once this much of a frame's payload has
/// arrived (memory follows data) and while at least this much is still to come (smaller
/// remainders are cheaper through a read buffer).
const RECEIVE_IN_PLACE_MIN: u64 = 64 * 1024;

/// Which end of the connection this is. Clients mask their frames; servers must not
/// (section 5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The end that opened the connection.
    Client,
    /// The end that accepted it.
    Server,
}

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
    /// A Close frame has been sent or received; the closing handshake is under way.
    Closing,
    /// The WebSocket connection is closed: the transport should be (or has been) closed.
    Closed,
}

/// A timer that is off, waiting for the current time to be armed, or set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Timer {
    Off,
    /// Arm at `now + duration` on the next [`Connection::handle_timeout`].
    Arm(Duration),
    At(Instant),
}

impl Timer {
    fn arm(duration: Option<Duration>) -> Timer {
        duration.map_or(Timer::Off, Timer::Arm)
    }

    /// The time the caller should call `handle_timeout` at.
    fn deadline(self) -> Option<Instant> {
        match self {
            Timer::Off => None,
            // An unarmed timer needs the current time: ask for an immediate call.
            Timer::Arm(_) => Some(Instant::ZERO),
            Timer::At(t) => Some(t),
        }
    }

    /// Arms a pending timer; returns whether a set timer has expired.
    fn update(&mut self, now: Instant) -> bool {
        match *self {
            Timer::Off => false,
            Timer::Arm(d) => {
                *self = Timer::At(now + d);
                false
            }
            Timer::At(t) => t <= now,
        }
    }
}

/// Receive-side framing state.
#[derive(Debug, Clone, Copy)]
enum Rx {
    /// Waiting for (the rest of) a frame header; `len` bytes of it are in `header_buf`.
    Header { len: usize },
    /// Reading the payload of a frame.
    Payload { header: FrameHeader, received: u64 },
}

/// A WebSocket connection after the opening handshake: a sans-IO state machine.
///
/// # Calling contract
///
/// The connection never touches a socket or a clock. The caller (an adapter) drives it:
///
/// * **Inputs.** Bytes read from the transport go to [`receive_data`](Self::receive_data); end of
///   stream to [`receive_eof`](Self::receive_eof); the passing of time to
///   [`handle_timeout`](Self::handle_timeout).
/// * **Commands.** [`send_text`](Self::send_text), [`send_binary`](Self::send_binary),
///   [`send_fragment`](Self::send_fragment), [`ping`](Self::ping), [`pong`](Self::pong) and
///   [`close`](Self::close) queue frames. Misuse returns a [`SendError`] and queues nothing.
/// * **Outputs.** After any input or command, the caller:
///   1. takes events with [`poll_event`](Self::poll_event) until it returns `None`;
///   2. takes bytes to write with [`poll_transmit`](Self::poll_transmit) until it returns
///      `None`, writing them in order; on [`Transmit::Shutdown`] it closes the transport once
///      everything before it is written;
///   3. asks [`poll_timeout`](Self::poll_timeout) when to call
///      [`handle_timeout`](Self::handle_timeout) next (the deadline may already have passed:
///      then call it at once).
///
/// A peer protocol error fails the connection (section 7.1.7): the error is returned once and
/// all further input is discarded. Events decoded before the error are still delivered, and
/// once they have been taken, `poll_transmit` writes the Close frame with the right code
/// followed by [`Transmit::Shutdown`]; whatever the application sends in response to those
/// events goes out before the Close frame.
///
/// # Example
///
/// ```
/// use ws_proto::{Config, Connection, Event, Message, Transmit};
///
/// let mut server = Connection::server(Config::default());
/// // A masked text frame "Hello" from a client (RFC 6455 section 5.7).
/// server.receive_data(&[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58])?;
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
    config: Config,
    mask_keys: Option<Box<dyn MaskKeySource>>,
    /// RSV bits claimed by negotiated extensions.
    allowed_rsv: u8,
    /// permessage-deflate, when negotiated (RFC 7692).
    #[cfg(feature = "deflate")]
    deflate: Option<Box<DeflateState>>,
    /// The subprotocol agreed in the opening handshake.
    protocol: Option<String>,

    // Receiving.
    rx: Rx,
    header_buf: [u8; MAX_HEADER_LEN],
    control: Vec<u8>,
    message: Assembler,
    events: VecDeque<Event>,
    /// Spare buffers for received messages and output.
    pool: BufferPool,

    // Sending.
    out: Vec<u8>,
    /// Kind of the fragmented message being sent, if one is in progress.
    sending: Option<DataKind>,

    // Closing.
    close_sent: bool,
    close_received: bool,
    /// Set once the connection failed or the closing handshake completed: input is discarded.
    input_done: bool,
    /// The connection failed; its Close frame is written once the events before the failure
    /// have been taken.
    failure_pending: bool,
    /// The peer's Close frame arrived; the reply is written once the events before it have
    /// been taken.
    close_reply_pending: bool,
    /// The code of the peer's Close frame, echoed in the reply.
    close_reply_code: Option<CloseCode>,
    /// `poll_event` has returned `None` since the last event was queued: the application has
    /// seen every event.
    events_seen: bool,
    /// The transport should be closed once the output is written.
    shutdown: bool,
    shutdown_reported: bool,
    eof_received: bool,
    error: Option<ProtocolError>,

    // Timers.
    close_timer: Timer,
    keepalive_timer: Timer,
    pong_timer: Timer,
}

impl core::fmt::Debug for Connection {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Connection")
            .field("role", &self.role)
            .field("state", &self.state())
            .field("rx", &self.rx)
            .field("events", &self.events.len())
            .field("buffered_out", &self.out.len())
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// A server-side connection, for after the opening handshake.
    pub fn server(config: Config) -> Connection {
        Connection::new(Role::Server, config, None)
    }

    /// A client-side connection, for after the opening handshake. Every frame it sends is
    /// masked with a fresh key from `mask_keys` (section 5.3).
    pub fn client(config: Config, mask_keys: impl MaskKeySource + 'static) -> Connection {
        Connection::new(Role::Client, config, Some(Box::new(mask_keys)))
    }

    fn new(role: Role, config: Config, mask_keys: Option<Box<dyn MaskKeySource>>) -> Connection {
        let keepalive_timer = Timer::arm(config.keepalive_interval);
        Connection {
            role,
            config,
            mask_keys,
            allowed_rsv: 0,
            #[cfg(feature = "deflate")]
            deflate: None,
            protocol: None,
            rx: Rx::Header { len: 0 },
            header_buf: [0; MAX_HEADER_LEN],
            control: Vec::new(),
            message: Assembler::default(),
            events: VecDeque::new(),
            pool: BufferPool::default(),
            out: Vec::new(),
            sending: None,
            close_sent: false,
            close_received: false,
            input_done: false,
            failure_pending: false,
            close_reply_pending: false,
            close_reply_code: None,
            events_seen: true,
            shutdown: false,
            shutdown_reported: false,
            eof_received: false,
            error: None,
            close_timer: Timer::Off,
            keepalive_timer,
            pong_timer: Timer::Off,
        }
    }

    /// Applies the permessage-deflate parameters agreed in the handshake (RFC 7692): from
    /// here on, data messages are compressed as [`Config::deflate`] says, and RSV1 marks
    /// compressed messages from the peer. Call it before any other method.
    ///
    /// The parameters come from
    /// [`DeflateConfig::client_agreed`](crate::extensions::deflate::DeflateConfig::client_agreed)
    /// or [`DeflateConfig::negotiate`](crate::extensions::deflate::DeflateConfig::negotiate).
    ///
    /// ```
    /// use ws_proto::extensions::deflate::DeflateParams;
    /// use ws_proto::{Config, Connection};
    /// let mut params = DeflateParams::default();
    /// params.server_no_context_takeover = true;
    /// let server = Connection::server(Config::default()).with_deflate(params);
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

    /// This end's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The settings in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Where the connection is in its lifetime.
    pub fn state(&self) -> State {
        if self.shutdown_reported || self.eof_received {
            State::Closed
        } else if self.close_sent || self.close_received || self.error.is_some() {
            State::Closing
        } else {
            State::Open
        }
    }

    /// The error that failed the connection, if one did.
    pub fn error(&self) -> Option<ProtocolError> {
        self.error
    }

    /// Bytes queued for sending and not yet taken by [`poll_transmit`](Self::poll_transmit).
    pub fn buffered_amount(&self) -> usize {
        self.out.len()
    }

    // ----- Inputs -------------------------------------------------------------------------

    /// Feeds bytes read from the transport.
    ///
    /// Decodes as much as possible; a partial frame is kept and completed by later calls, so
    /// the input may be split anywhere. Text is validated as it arrives, so invalid UTF-8 fails
    /// the connection at the first bad byte, even mid-frame.
    ///
    /// Next: drain [`poll_event`](Self::poll_event), then [`poll_transmit`](Self::poll_transmit)
    /// (an automatic Pong or Close reply may be queued), then
    /// [`poll_timeout`](Self::poll_timeout).
    ///
    /// # Errors
    ///
    /// A protocol violation fails the connection: once the events before it have been taken,
    /// a Close frame with [`ProtocolError::close_code`] is written, followed by
    /// [`Transmit::Shutdown`]. The error is returned once; input after it (and after a
    /// completed closing handshake) is discarded.
    pub fn receive_data(&mut self, mut data: &[u8]) -> Result<(), ProtocolError> {
        if self.input_done {
            return Ok(());
        }
        if !data.is_empty() {
            // The peer is alive: restart the idle timer and stop waiting for a Pong.
            self.keepalive_timer = Timer::arm(self.config.keepalive_interval);
            self.pong_timer = Timer::Off;
        }
        while !data.is_empty() && !self.input_done {
            let consumed = match self.rx {
                Rx::Header { len } => self.receive_header(data, len),
                Rx::Payload { header, received } => self.receive_payload(data, header, received),
            };
            match consumed {
                Ok(n) => data = &data[n..],
                Err(e) => return Err(self.fail(e)),
            }
        }
        Ok(())
    }

    /// While the payload of a large data frame is arriving (uncompressed, in
    /// [`MessageMode::Reassemble`], at least 64 KiB of it received and at least 64 KiB still
    /// to come), room at the end of the message being reassembled for the caller to read the
    /// next payload bytes into, straight from the transport; then
    /// [`receive_in_place`](Self::receive_in_place) with the number of bytes read. This saves
    /// copying large messages from a read buffer.
    ///
    /// The room is zeroed once and kept until filled. It is never larger than what the peer
    /// has already sent of the frame (nor than 1 MiB), so memory follows the data that
    /// arrives: a frame's declared length alone cannot make the connection touch memory.
    /// `None` otherwise: read into a buffer of your own and call
    /// [`receive_data`](Self::receive_data), which is always correct.
    ///
    /// ```
    /// use ws_proto::{Config, Connection, Event, Message};
    /// let mut server = Connection::server(Config::default());
    /// let payload = vec![7u8; 200_000];
    /// // A masked binary frame (key 0: the payload is unchanged).
    /// let mut frame = vec![0x82, 0xff, 0, 0, 0, 0, 0, 0x03, 0x0d, 0x40, 0, 0, 0, 0];
    /// frame.extend_from_slice(&payload);
    /// assert!(server.receive_buffer().is_none());
    /// server.receive_data(&frame[..70_000]).unwrap(); // the header and 64 KiB and more
    /// let mut rest = &frame[70_000..];
    /// while let Some(room) = server.receive_buffer() {
    ///     let n = room.len().min(rest.len()); // a socket read into `room`
    ///     room[..n].copy_from_slice(&rest[..n]);
    ///     server.receive_in_place(n).unwrap();
    ///     rest = &rest[n..];
    /// }
    /// server.receive_data(rest).unwrap(); // the last bytes, as usual
    /// assert_eq!(server.poll_event(), Some(Event::Message(Message::Binary(payload))));
    /// ```
    pub fn receive_buffer(&mut self) -> Option<&mut [u8]> {
        let Rx::Payload { header, received } = self.rx else {
            return None;
        };
        let remaining = header.payload_len - received;
        if self.input_done
            || header.opcode.is_control()
            || remaining < RECEIVE_IN_PLACE_MIN
            || received < RECEIVE_IN_PLACE_MIN
            || self.config.message_mode != MessageMode::Reassemble
            || self.receiving_compressed()
        {
            return None;
        }
        Some(self.message.room(remaining.min(received) as usize))
    }

    /// `n` bytes were read into the start of the room [`receive_buffer`](Self::receive_buffer)
    /// returned: they are taken as the next bytes of the payload, exactly as if they had been
    /// passed to [`receive_data`](Self::receive_data). Without room handed out, or with
    /// `n == 0`, nothing happens.
    ///
    /// # Errors
    ///
    /// As for [`receive_data`](Self::receive_data) (invalid UTF-8 in text, for example).
    pub fn receive_in_place(&mut self, n: usize) -> Result<(), ProtocolError> {
        let Rx::Payload { header, received } = self.rx else {
            return Ok(());
        };
        if n == 0 || self.input_done {
            return Ok(());
        }
        self.keepalive_timer = Timer::arm(self.config.keepalive_interval);
        self.pong_timer = Timer::Off;
        let n = (n as u64).min(header.payload_len - received) as usize;
        let n = match self.message.commit(n, header.mask, received) {
            Ok(n) => n as u64,
            Err(e) => return Err(self.fail(e)),
        };
        let received = received + n;
        self.rx = Rx::Payload { header, received };
        if received == header.payload_len {
            if let Err(e) = self.finish_frame(header) {
                return Err(self.fail(e));
            }
        }
        Ok(())
    }

    /// Reports that the transport reached end of stream.
    ///
    /// Next: drain [`poll_event`](Self::poll_event) and [`poll_transmit`](Self::poll_transmit);
    /// the connection is [`State::Closed`].
    ///
    /// # Errors
    ///
    /// [`ProtocolError::UnexpectedEof`] (close code 1006) if the closing handshake had not
    /// completed and the connection had not already failed.
    pub fn receive_eof(&mut self) -> Result<(), ProtocolError> {
        if self.eof_received {
            return Ok(());
        }
        self.eof_received = true;
        self.input_done = true;
        self.shutdown = true;
        self.close_timer = Timer::Off;
        self.keepalive_timer = Timer::Off;
        self.pong_timer = Timer::Off;
        if self.close_received || self.error.is_some() {
            return Ok(());
        }
        self.error = Some(ProtocolError::UnexpectedEof);
        Err(ProtocolError::UnexpectedEof)
    }

    /// Tells the connection the current time. Spurious calls are harmless.
    ///
    /// Arms timers that were waiting for the time, sends a keepalive Ping once the connection
    /// has been idle for [`Config::keepalive_interval`], and enforces the Pong and close
    /// deadlines.
    ///
    /// Next: drain [`poll_transmit`](Self::poll_transmit), then ask
    /// [`poll_timeout`](Self::poll_timeout) again.
    ///
    /// # Errors
    ///
    /// [`ProtocolError::KeepaliveTimeout`] (the connection fails with 1011) or
    /// [`ProtocolError::CloseTimeout`] (the transport is to be closed), each returned once.
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), ProtocolError> {
        if self.close_timer.update(now) {
            self.close_timer = Timer::Off;
            self.keepalive_timer = Timer::Off;
            self.pong_timer = Timer::Off;
            self.input_done = true;
            self.shutdown = true;
            if !self.close_received && self.error.is_none() {
                // The peer never answered our Close frame.
                self.error = Some(ProtocolError::CloseTimeout);
                return Err(ProtocolError::CloseTimeout);
            }
            // Client side: the handshake completed but the server kept the TCP connection
            // open; section 7.1.1 lets the client close it now.
            return Ok(());
        }
        if self.pong_timer.update(now) {
            return Err(self.fail(ProtocolError::KeepaliveTimeout));
        }
        if self.keepalive_timer.update(now) {
            self.keepalive_timer = Timer::Off;
            if !self.close_sent {
                self.write_frame(OpCode::Ping, true, b"");
                self.pong_timer = Timer::arm(self.config.keepalive_timeout);
                self.pong_timer.update(now);
            }
        }
        Ok(())
    }

    // ----- Commands -----------------------------------------------------------------------

    /// Queues a text message in one frame.
    ///
    /// Next: [`poll_transmit`](Self::poll_transmit).
    pub fn send_text(&mut self, text: &str) -> Result<(), SendError> {
        self.send_message(OpCode::Text, text.as_bytes())
    }

    /// Queues a binary message in one frame.
    ///
    /// Next: [`poll_transmit`](Self::poll_transmit).
    pub fn send_binary(&mut self, data: &[u8]) -> Result<(), SendError> {
        self.send_message(OpCode::Binary, data)
    }

    /// Queues a message in one frame without compressing it, even when permessage-deflate is
    /// in use (for data that is already compressed, say). Without the extension this is
    /// [`send_text`](Self::send_text) or [`send_binary`](Self::send_binary); for text, `data`
    /// must be valid UTF-8.
    ///
    /// ```
    /// # #[cfg(feature = "deflate")] {
    /// use ws_proto::extensions::deflate::DeflateParams;
    /// use ws_proto::{Config, Connection, DataKind};
    /// let mut server = Connection::server(Config::default()).with_deflate(DeflateParams::default());
    /// server.send_uncompressed(DataKind::Binary, b"already compressed").unwrap();
    /// let mut out = Vec::new();
    /// server.poll_transmit(&mut out);
    /// assert_eq!(out[0], 0x82); // FIN, RSV1 clear, binary
    /// assert_eq!(&out[2..], b"already compressed");
    /// # }
    /// ```
    ///
    /// Next: [`poll_transmit`](Self::poll_transmit).
    pub fn send_uncompressed(&mut self, kind: DataKind, data: &[u8]) -> Result<(), SendError> {
        let opcode = match kind {
            DataKind::Text => OpCode::Text,
            DataKind::Binary => OpCode::Binary,
        };
        self.check_can_send()?;
        if self.sending.is_some() {
            return Err(SendError::FragmentOutOfOrder);
        }
        self.write_frame(opcode, true, data);
        Ok(())
    }

    /// The payload size from which [`send_unqueued`](Self::send_unqueued) pays off: 64 KiB.
    /// Below it, copying into the queue costs little, and queued replies to one read batch go
    /// out in one write; the adapters of this workspace use it as their threshold.
    pub const UNQUEUED_SEND_MIN: usize = 64 * 1024;

    /// For adapters that write a large payload straight from the application's buffer: the
    /// header of a one-frame message of `payload_len` bytes, which the caller writes, followed
    /// by the payload itself, instead of having the connection copy the payload into its
    /// queue ([`send_binary`](Self::send_binary) and [`poll_transmit`](Self::poll_transmit)).
    /// A vectored write of header and payload then sends the message without a copy.
    ///
    /// Returns `Ok(None)`, and queues nothing, when the message cannot be sent that way: on
    /// the client side (the payload must be masked), when permessage-deflate would compress
    /// it, or while output is queued (take it with `poll_transmit` and write it first).
    /// Otherwise the message counts as sent, and the caller must write the header and then
    /// exactly `payload_len` bytes (valid UTF-8 for text) before anything `poll_transmit`
    /// hands out later. Errors are those of [`send_binary`](Self::send_binary).
    ///
    /// ```
    /// use ws_proto::{Config, Connection, DataKind};
    /// let mut server = Connection::server(Config::default());
    /// let payload = vec![7u8; 100_000];
    /// let header = server.send_unqueued(DataKind::Binary, payload.len()).unwrap().unwrap();
    /// assert_eq!(header.as_bytes(), [0x82, 127, 0, 0, 0, 0, 0, 1, 0x86, 0xa0]);
    /// // The caller writes header.as_bytes() then payload (e.g. with write_vectored).
    /// assert_eq!(server.buffered_amount(), 0);
    /// ```
    pub fn send_unqueued(
        &mut self,
        kind: DataKind,
        payload_len: usize,
    ) -> Result<Option<crate::frame::EncodedHeader>, SendError> {
        self.check_can_send()?;
        if self.sending.is_some() {
            return Err(SendError::FragmentOutOfOrder);
        }
        if self.role == Role::Client || !self.out.is_empty() {
            return Ok(None);
        }
        #[cfg(feature = "deflate")]
        if self
            .deflate
            .as_deref()
            .is_some_and(|d| d.compresses(payload_len))
        {
            return Ok(None);
        }
        let header = FrameHeader {
            fin: true,
            rsv: 0,
            opcode: match kind {
                DataKind::Text => OpCode::Text,
                DataKind::Binary => OpCode::Binary,
            },
            mask: None,
            payload_len: payload_len as u64,
        };
        Ok(Some(header.encode()))
    }

    fn send_message(&mut self, opcode: OpCode, data: &[u8]) -> Result<(), SendError> {
        self.check_can_send()?;
        if self.sending.is_some() {
            return Err(SendError::FragmentOutOfOrder);
        }
        #[cfg(feature = "deflate")]
        if let Some(mut deflate) = self.deflate.take() {
            let compress = deflate.compresses(data.len());
            if compress {
                // "set the 'Per-Message Compressed' bit of the first frame" (RFC 7692
                // section 6).
                let payload = deflate.compress(data, true, true);
                self.write_frame_rsv(opcode, true, RSV1, payload);
            }
            self.deflate = Some(deflate);
            if compress {
                return Ok(());
            }
        }
        self.write_frame(opcode, true, data);
        Ok(())
    }

    /// Queues one fragment of a message (section 5.4), for messages sent in pieces.
    ///
    /// The first call starts a message of type `kind`; later calls continue it (their `kind`
    /// must match); the call with `is_final` ends it. Control frames may be sent in between;
    /// other data messages may not. For text, the caller ensures that the whole message is
    /// valid UTF-8; a fragment may end inside a character.
    ///
    /// ```
    /// use ws_proto::{Config, Connection, DataKind, Event, Message};
    /// let mut server = Connection::server(Config::default());
    /// server.send_fragment(DataKind::Text, b"Hel", false).unwrap();
    /// server.send_fragment(DataKind::Text, b"lo", true).unwrap();
    /// let mut out = Vec::new();
    /// server.poll_transmit(&mut out);
    /// // RFC 6455 section 5.7: a fragmented unmasked text message.
    /// assert_eq!(out, [0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f]);
    /// ```
    pub fn send_fragment(
        &mut self,
        kind: DataKind,
        data: &[u8],
        is_final: bool,
    ) -> Result<(), SendError> {
        self.check_can_send()?;
        let opcode = match self.sending {
            None => match kind {
                DataKind::Text => OpCode::Text,
                DataKind::Binary => OpCode::Binary,
            },
            Some(k) if k == kind => OpCode::Continuation,
            Some(_) => return Err(SendError::FragmentOutOfOrder),
        };
        self.write_data_fragment(opcode, is_final, data);
        self.sending = if is_final { None } else { Some(kind) };
        Ok(())
    }

    /// Queues a Ping (payload at most 125 bytes).
    pub fn ping(&mut self, payload: &[u8]) -> Result<(), SendError> {
        self.send_control(OpCode::Ping, payload)
    }

    /// Queues an unsolicited Pong (payload at most 125 bytes), which serves as a
    /// unidirectional heartbeat (section 5.5.3), or answers a Ping when
    /// [`Config::auto_pong`] is off.
    pub fn pong(&mut self, payload: &[u8]) -> Result<(), SendError> {
        self.send_control(OpCode::Pong, payload)
    }

    fn send_control(&mut self, opcode: OpCode, payload: &[u8]) -> Result<(), SendError> {
        self.check_can_send()?;
        if payload.len() > MAX_CONTROL_PAYLOAD {
            return Err(SendError::ControlPayloadTooLong);
        }
        self.write_frame(opcode, true, payload);
        Ok(())
    }

    /// Starts the closing handshake (section 7.1.2): queues a Close frame with `code` and
    /// `reason` (at most 123 bytes of UTF-8).
    ///
    /// Received data is still delivered until the peer's Close frame arrives; then (server) the
    /// transport is to be closed, or (client) the server is given
    /// [`Config::close_timeout`] to close it.
    ///
    /// Next: [`poll_transmit`](Self::poll_transmit), [`poll_timeout`](Self::poll_timeout).
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), SendError> {
        if !code.is_sendable() {
            return Err(SendError::InvalidCloseCode(code.as_u16()));
        }
        if reason.len() > MAX_CONTROL_PAYLOAD - 2 {
            return Err(SendError::ControlPayloadTooLong);
        }
        self.check_can_send()?;
        self.send_close(Some(code), reason);
        Ok(())
    }

    fn check_can_send(&self) -> Result<(), SendError> {
        if self.state() == State::Closed {
            Err(SendError::Closed)
        } else if self.close_sent {
            // "The application MUST NOT send any more data frames after sending a Close
            // frame." (section 5.5.1)
            Err(SendError::AlreadyClosing)
        } else {
            Ok(())
        }
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
    /// use ws_proto::{Config, Connection, Event, Message};
    /// let mut server = Connection::server(Config::default());
    /// let frame = [0x82, 0x83, 1, 2, 3, 4, 1, 2, 3]; // masked binary [0, 0, 0]
    /// server.receive_data(&frame).unwrap();
    /// let Some(Event::Message(message)) = server.poll_event() else { panic!() };
    /// let address = message.as_bytes().as_ptr();
    /// server.recycle(message.into_bytes());
    /// // The next message is received into the same memory.
    /// server.receive_data(&frame).unwrap();
    /// let Some(Event::Message(message)) = server.poll_event() else { panic!() };
    /// assert_eq!(message.as_bytes().as_ptr(), address);
    /// ```
    pub fn recycle(&mut self, buffer: Vec<u8>) {
        self.pool.put(buffer);
    }

    /// The pool of spare buffers that received messages and queued output are taken from.
    ///
    /// An adapter with many connections on one thread keeps one pool for all of them and
    /// swaps it in around each call that may need buffers (`receive_data`, the `send_*`
    /// methods), so that idle connections hold none:
    ///
    /// ```
    /// use ws_proto::{BufferPool, Config, Connection};
    /// let mut shared = BufferPool::with_limit(1 << 20);
    /// shared.put(Vec::with_capacity(4096));
    /// let mut conn = Connection::server(Config::default());
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
    /// Call it until it returns `None`: that `None` tells the connection the application has
    /// seen every event so far, which releases a pending Close frame (see
    /// [`poll_transmit`](Self::poll_transmit)).
    pub fn poll_event(&mut self) -> Option<Event> {
        let event = self.events.pop_front();
        if event.is_none() {
            self.events_seen = true;
        }
        event
    }

    /// Appends the bytes to send to `out`.
    ///
    /// After a protocol error, and after the peer's Close frame, our Close frame is written
    /// here only once [`poll_event`](Self::poll_event) has returned `None`, that is once the
    /// application has seen every event decoded before it. Until then the application may
    /// still send, for example replies to those events, and they go out first (section 5.5.1:
    /// an endpoint "MAY delay sending a Close frame until its current message is sent").
    ///
    /// Returns [`Transmit::Data`] with the number of bytes appended, then, when the
    /// connection is done, [`Transmit::Shutdown`] once, then `None`. The caller may write
    /// `out` partially and keep the rest for later (drain what was written).
    pub fn poll_transmit(&mut self, out: &mut Vec<u8>) -> Option<Transmit> {
        if self.close_reply_pending && self.events_seen {
            self.close_reply_pending = false;
            self.reply_to_close();
        }
        if self.failure_pending && self.events_seen {
            self.failure_pending = false;
            if let Some(error) = self.error {
                let code = error.close_code();
                if !self.close_sent && code.is_sendable() {
                    self.send_close(Some(code), error.as_str());
                    self.close_timer = Timer::Off;
                }
            }
            self.shutdown = true;
        }
        if !self.out.is_empty() {
            let n = self.out.len();
            if out.is_empty() {
                core::mem::swap(out, &mut self.out);
            } else {
                out.append(&mut self.out);
            }
            return Some(Transmit::Data(n));
        }
        if self.shutdown && !self.shutdown_reported {
            self.shutdown_reported = true;
            return Some(Transmit::Shutdown);
        }
        None
    }

    /// When to call [`handle_timeout`](Self::handle_timeout) next, if any timer is set. A
    /// deadline in the past (even [`Instant::ZERO`]) means "now".
    pub fn poll_timeout(&self) -> Option<Instant> {
        [self.close_timer, self.keepalive_timer, self.pong_timer]
            .iter()
            .filter_map(|t| t.deadline())
            .min()
    }

    // ----- Internals ----------------------------------------------------------------------

    /// Fails the connection (section 7.1.7): queues a Close frame with the error's code unless
    /// one was sent, schedules closing the transport and discards further input.
    ///
    /// The Close frame is written once the events decoded before the error have been taken
    /// (see [`poll_transmit`](Self::poll_transmit)), so that what the application sends in
    /// response to them (an echo, say) goes out before it.
    fn fail(&mut self, error: ProtocolError) -> ProtocolError {
        self.error = Some(error);
        self.input_done = true;
        self.failure_pending = true;
        self.close_timer = Timer::Off;
        self.keepalive_timer = Timer::Off;
        self.pong_timer = Timer::Off;
        error
    }

    fn send_close(&mut self, code: Option<CloseCode>, reason: &str) {
        let mut payload = [0u8; MAX_CONTROL_PAYLOAD];
        let len = match code {
            Some(code) => {
                payload[..2].copy_from_slice(&code.as_u16().to_be_bytes());
                payload[2..2 + reason.len()].copy_from_slice(reason.as_bytes());
                2 + reason.len()
            }
            None => 0,
        };
        self.write_frame(OpCode::Close, true, &payload[..len]);
        self.close_sent = true;
        self.keepalive_timer = Timer::Off;
        self.pong_timer = Timer::Off;
        self.close_timer = Timer::arm(self.config.close_timeout);
    }

    /// Writes one fragment of a data message, compressed when permessage-deflate is in use
    /// (the whole fragmented message forms one DEFLATE stream, RFC 7692 section 6.1).
    fn write_data_fragment(&mut self, opcode: OpCode, fin: bool, data: &[u8]) {
        #[cfg(feature = "deflate")]
        if let Some(mut deflate) = self.deflate.take() {
            let first = opcode != OpCode::Continuation;
            if first || deflate.sending_compressed() {
                let payload = deflate.compress(data, first, fin);
                // RSV1 on the first frame only (RFC 7692 section 6).
                let rsv = if first { RSV1 } else { 0 };
                self.write_frame_rsv(opcode, fin, rsv, payload);
                self.deflate = Some(deflate);
                return;
            }
            self.deflate = Some(deflate);
        }
        self.write_frame(opcode, fin, data);
    }

    /// Encodes a frame into the output buffer, masking it on the client side.
    fn write_frame(&mut self, opcode: OpCode, fin: bool, payload: &[u8]) {
        self.write_frame_rsv(opcode, fin, 0, payload);
    }

    /// Encodes a frame with the given RSV bits.
    fn write_frame_rsv(&mut self, opcode: OpCode, fin: bool, rsv: u8, payload: &[u8]) {
        let mask = self.mask_keys.as_mut().map(|keys| keys.next_key());
        let header = FrameHeader {
            fin,
            rsv,
            opcode,
            mask,
            payload_len: payload.len() as u64,
        };
        let needed = header.encoded_len() + payload.len();
        if self.out.is_empty() && self.out.capacity() < needed {
            // Start from a pooled buffer rather than growing a small one.
            if let Some(buffer) = self.pool.take() {
                let small = core::mem::replace(&mut self.out, buffer);
                self.pool.put(small);
            }
        }
        self.out.reserve(needed);
        encode_header(&header, &mut self.out);
        let start = self.out.len();
        self.out.extend_from_slice(payload);
        if let Some(key) = mask {
            apply_mask(&mut self.out[start..], key, 0);
        }
    }

    /// Consumes header bytes; `have` of them are already in `header_buf`.
    fn receive_header(&mut self, data: &[u8], have: usize) -> Result<usize, ProtocolError> {
        if have == 0 {
            // Fast path: the whole header is usually in `data`.
            if let Some((header, len)) = decode_header(data)? {
                if let Some(end) = self.whole_message_end(&header, len, data.len()) {
                    self.receive_whole_message(&header, &data[len..end])?;
                    return Ok(end);
                }
                self.start_frame(header)?;
                return Ok(len);
            }
            // A partial header is shorter than the longest one: keep it for the next call.
            self.header_buf[..data.len()].copy_from_slice(data);
            self.rx = Rx::Header { len: data.len() };
            return Ok(data.len());
        }
        let take = (MAX_HEADER_LEN - have).min(data.len());
        self.header_buf[have..have + take].copy_from_slice(&data[..take]);
        match decode_header(&self.header_buf[..have + take])? {
            Some((header, len)) => {
                self.start_frame(header)?;
                Ok(len - have)
            }
            None => {
                self.rx = Rx::Header { len: have + take };
                Ok(take)
            }
        }
    }

    /// If the frame is a whole message, uncompressed, reassembled, and all of it is in the
    /// input (`available` bytes, of which `header_len` are the header), where its payload
    /// ends: then it can be handled in one step, without the per-piece state machine. This is
    /// the usual shape of small messages.
    fn whole_message_end(
        &self,
        header: &FrameHeader,
        header_len: usize,
        available: usize,
    ) -> Option<usize> {
        let whole = header.fin
            && header.rsv == 0
            && matches!(header.opcode, OpCode::Text | OpCode::Binary)
            && self.config.message_mode == MessageMode::Reassemble;
        let end = (header_len as u64).checked_add(header.payload_len)?;
        (whole && end <= available as u64).then_some(end as usize)
    }

    /// A frame that [`whole_message_end`](Self::whole_message_end) accepted: applies the
    /// rules of [`check_header`](Self::check_header) that concern such a frame (the same
    /// functions, in the same order), and queues the message. The payload goes into a pooled buffer; text is validated
    /// once, by the conversion into a `String` (all of it is here, so checking it piece by
    /// piece would gain nothing).
    fn receive_whole_message(
        &mut self,
        header: &FrameHeader,
        payload: &[u8],
    ) -> Result<(), ProtocolError> {
        self.check_mask(header)?;
        self.check_data_frame(header)?;
        #[cfg(feature = "deflate")]
        if let Some(deflate) = self.deflate.as_deref_mut() {
            deflate.start_message(false);
        }
        let mut buf = self.pool.take().unwrap_or_default();
        buf.extend_from_slice(payload);
        if let Some(key) = header.mask {
            apply_mask(&mut buf, key, 0);
        }
        let message = if header.opcode == OpCode::Text {
            Message::Text(String::from_utf8(buf).map_err(|_| ProtocolError::InvalidUtf8)?)
        } else {
            Message::Binary(buf)
        };
        self.push_event(Event::Message(message));
        Ok(())
    }

    /// Checks a new frame's header and prepares to receive its payload.
    fn start_frame(&mut self, header: FrameHeader) -> Result<(), ProtocolError> {
        self.check_header(&header)?;
        self.rx = Rx::Payload {
            header,
            received: 0,
        };
        if header.payload_len == 0 {
            self.finish_frame(header)?;
        } else if !header.opcode.is_control()
            && self.config.message_mode == MessageMode::Reassemble
            && !self.receiving_compressed()
        {
            self.message.reserve_frame(header.payload_len);
        }
        Ok(())
    }

    /// Whether the data message in progress is compressed.
    fn receiving_compressed(&self) -> bool {
        #[cfg(feature = "deflate")]
        if let Some(deflate) = self.deflate.as_deref() {
            return deflate.receiving_compressed();
        }
        false
    }

    /// Applies the rules a frame header must follow before any payload is read.
    fn check_header(&mut self, h: &FrameHeader) -> Result<(), ProtocolError> {
        // "MUST be 0 unless an extension is negotiated that defines meanings for non-zero
        // values" (section 5.2)
        if h.rsv & !self.allowed_rsv != 0 {
            return Err(ProtocolError::ReservedBitsSet);
        }
        self.check_mask(h)?;
        // "An endpoint MUST NOT set the 'Per-Message Compressed' bit of control frames and
        // non-first fragments of a data message." (RFC 7692 section 6.1)
        #[cfg(feature = "deflate")]
        if self.deflate.is_some()
            && h.rsv & RSV1 != 0
            && (h.opcode.is_control() || h.opcode == OpCode::Continuation)
        {
            return Err(ProtocolError::InvalidCompressionBit);
        }
        if h.opcode.is_control() {
            // "All control frames MUST have a payload length of 125 bytes or less and MUST NOT
            // be fragmented." (section 5.5)
            if h.payload_len > MAX_CONTROL_PAYLOAD as u64 {
                return Err(ProtocolError::ControlFrameTooLong);
            }
            if !h.fin {
                return Err(ProtocolError::FragmentedControlFrame);
            }
            return Ok(());
        }
        self.check_data_frame(h)?;
        match h.opcode {
            OpCode::Text => self.message.start(DataKind::Text, &mut self.pool),
            OpCode::Binary => self.message.start(DataKind::Binary, &mut self.pool),
            _ => {}
        }
        #[cfg(feature = "deflate")]
        if h.opcode != OpCode::Continuation {
            if let Some(deflate) = self.deflate.as_deref_mut() {
                deflate.start_message(h.rsv & RSV1 != 0);
            }
        }
        Ok(())
    }

    /// "The server MUST close the connection upon receiving a frame that is not masked"; "A
    /// client MUST close a connection if it detects a masked frame" (section 5.1).
    fn check_mask(&self, h: &FrameHeader) -> Result<(), ProtocolError> {
        match (self.role, h.mask.is_some()) {
            (Role::Server, false) => Err(ProtocolError::UnmaskedClientFrame),
            (Role::Client, true) => Err(ProtocolError::MaskedServerFrame),
            _ => Ok(()),
        }
    }

    /// The rules of a data frame's header: fragments in order (section 5.4), and the frame
    /// and message size limits, decided before any payload is read.
    fn check_data_frame(&self, h: &FrameHeader) -> Result<(), ProtocolError> {
        match (h.opcode, self.message.in_progress()) {
            (OpCode::Continuation, false) => return Err(ProtocolError::UnexpectedContinuation),
            (OpCode::Text | OpCode::Binary, true) => {
                return Err(ProtocolError::ExpectedContinuation)
            }
            _ => {}
        }
        if h.payload_len > self.config.max_frame_size as u64 {
            return Err(ProtocolError::FrameTooLarge);
        }
        let total = if h.opcode == OpCode::Continuation {
            self.received_wire_size()
        } else {
            0
        };
        if total.saturating_add(h.payload_len) > self.config.max_message_size as u64 {
            return Err(ProtocolError::MessageTooLarge);
        }
        Ok(())
    }

    /// Payload bytes received so far of the data message in progress, as sent on the wire
    /// (compressed, for a compressed message).
    fn received_wire_size(&self) -> u64 {
        #[cfg(feature = "deflate")]
        if let Some(deflate) = self.deflate.as_deref() {
            if deflate.receiving_compressed() {
                return deflate.received_wire_size();
            }
        }
        self.message.size()
    }

    /// Consumes payload bytes of the current frame.
    fn receive_payload(
        &mut self,
        data: &[u8],
        header: FrameHeader,
        received: u64,
    ) -> Result<usize, ProtocolError> {
        let remaining = header.payload_len - received;
        let n = remaining.min(data.len() as u64) as usize;
        let piece = &data[..n];
        if header.opcode.is_control() {
            let start = self.control.len();
            self.control.extend_from_slice(piece);
            if let Some(key) = header.mask {
                apply_mask(&mut self.control[start..], key, received as usize);
            }
        } else {
            self.push_data(piece, header.mask, received)?;
        }
        let received = received + n as u64;
        self.rx = Rx::Payload { header, received };
        if received == header.payload_len {
            self.finish_frame(header)?;
        } else if !header.opcode.is_control() {
            // Stream mode hands out what has arrived so far.
            if let Some(event) = self.message.flush(self.config.message_mode, false)? {
                self.push_event(event);
            }
        }
        Ok(n)
    }

    /// Adds a piece of data frame payload to the message in progress, inflating it if the
    /// message is compressed.
    fn push_data(
        &mut self,
        piece: &[u8],
        mask: Option<[u8; 4]>,
        offset: u64,
    ) -> Result<(), ProtocolError> {
        #[cfg(feature = "deflate")]
        if let Some(deflate) = self.deflate.as_deref_mut() {
            if deflate.receiving_compressed() {
                let (limit, mode) = (self.config.max_message_size, self.config.message_mode);
                deflate.receive(piece, mask, offset, &mut self.message, limit, mode)?;
                for event in self.message.take_ready() {
                    self.push_event(event);
                }
                return Ok(());
            }
        }
        self.message.push(piece, mask, offset)
    }

    /// Handles a frame whose payload has been fully received.
    fn finish_frame(&mut self, header: FrameHeader) -> Result<(), ProtocolError> {
        self.rx = Rx::Header { len: 0 };
        match header.opcode {
            OpCode::Ping => {
                let payload = core::mem::take(&mut self.control);
                // "Upon receipt of a Ping frame, an endpoint MUST send a Pong frame in response
                // ... unless it already received a Close frame." (section 5.5.2)
                if self.config.auto_pong && !self.close_sent {
                    self.write_frame(OpCode::Pong, true, &payload);
                }
                self.push_event(Event::Ping(payload));
            }
            OpCode::Pong => {
                let payload = core::mem::take(&mut self.control);
                self.push_event(Event::Pong(payload));
            }
            OpCode::Close => {
                let frame = CloseFrame::parse(&self.control)?;
                self.control.clear();
                self.receive_close(frame);
            }
            OpCode::Text | OpCode::Binary | OpCode::Continuation => {
                #[cfg(feature = "deflate")]
                if header.fin {
                    if let Some(deflate) = self.deflate.as_deref_mut() {
                        if deflate.receiving_compressed() {
                            let (limit, mode) =
                                (self.config.max_message_size, self.config.message_mode);
                            deflate.finish_message(&mut self.message, limit, mode)?;
                            for event in self.message.take_ready() {
                                self.push_event(event);
                            }
                        }
                    }
                }
                if let Some(event) = self.message.flush(self.config.message_mode, header.fin)? {
                    self.push_event(event);
                }
            }
        }
        Ok(())
    }

    fn receive_close(&mut self, frame: Option<CloseFrame>) {
        self.close_received = true;
        self.input_done = true;
        self.close_reply_code = frame.as_ref().map(|f| f.code);
        self.push_event(Event::Close(frame));
        self.close_reply_pending = true;
    }

    /// Answers the peer's Close frame (written once the application has seen it), then
    /// closes or waits for the transport to close.
    fn reply_to_close(&mut self) {
        if !self.close_sent {
            // "If an endpoint receives a Close frame and did not previously send a Close frame,
            // the endpoint MUST send a Close frame in response ... typically echoing the status
            // code it received." (section 5.5.1)
            self.send_close(self.close_reply_code, "");
        }
        match self.role {
            // "The server MUST close the underlying TCP connection immediately" once the
            // closing handshake is complete (section 7.1.1).
            Role::Server => {
                self.shutdown = true;
                self.close_timer = Timer::Off;
            }
            // The client waits for the server to close the TCP connection, for at most the
            // close timeout.
            Role::Client => self.close_timer = Timer::arm(self.config.close_timeout),
        }
    }

    /// Queues an event for [`poll_event`](Self::poll_event).
    fn push_event(&mut self, event: Event) {
        self.events.push_back(event);
        self.events_seen = false;
    }
}

// Hand-off from the handshake state machines.
impl Connection {
    /// The subprotocol agreed in the opening handshake (RFC 6455 section 1.9), if any: set by
    /// [`ServerHandshake::into_connection`](crate::handshake::ServerHandshake::into_connection)
    /// and [`ClientHandshake::into_connection`](crate::handshake::ClientHandshake::into_connection).
    pub fn protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    /// Appends bytes to the output queue, ahead of any frame queued later: the part of the
    /// handshake response not yet handed out when the handshake turned into this connection.
    pub(crate) fn queue_raw(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }

    /// Records the subprotocol agreed in the handshake.
    pub(crate) fn set_protocol(&mut self, protocol: Option<alloc::string::String>) {
        self.protocol = protocol;
    }
}
