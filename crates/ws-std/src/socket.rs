//! The blocking WebSocket: reads and writes a [`Transport`], driving a `ws_proto::Connection`.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant as StdInstant};

use ws_proto::{
    Chunk, CloseCode, CloseFrame, Connection, DataKind, Event, Instant, Message as ProtoMessage,
    Role, State, Transmit,
};

use ws_proto::frame::write_vectored;

use crate::Error;

/// A byte stream the blocking adapter can run on: `Read + Write`, plus the two socket
/// operations the protocol needs (a read timeout for its timers, and closing the connection).
///
/// Implemented for [`TcpStream`]. For other streams (TLS, Unix sockets, test pipes), implement
/// it by forwarding to the underlying socket.
pub trait Transport: Read + Write {
    /// Sets how long the next reads may block; `None` blocks indefinitely. A read that times
    /// out fails with `WouldBlock` or `TimedOut`.
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()>;

    /// Closes the connection after the data already written (for TCP, a FIN).
    fn shutdown(&mut self) -> io::Result<()>;
}

impl Transport for TcpStream {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_read_timeout(self, timeout)
    }

    fn shutdown(&mut self) -> io::Result<()> {
        match TcpStream::shutdown(self, Shutdown::Write) {
            // The peer may already be gone; the connection is closed either way.
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            other => other,
        }
    }
}

/// A message (or control frame) read from a [`WebSocket`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Message {
    /// A text message.
    Text(String),
    /// A binary message.
    Binary(Vec<u8>),
    /// A Ping; it has already been answered (unless `auto_pong` is off).
    Ping(Vec<u8>),
    /// A Pong.
    Pong(Vec<u8>),
    /// The peer's Close frame (`None`: no status code). The closing handshake is complete
    /// when this is returned; the next read fails with [`Error::ConnectionClosed`].
    Close(Option<CloseFrame>),
    /// A piece of a data message, when the connection is configured with
    /// [`MessageMode::Stream`](ws_proto::MessageMode::Stream).
    Chunk(Chunk),
}

impl Message {
    /// Whether this is a data message (text, binary or a chunk of one).
    pub fn is_data(&self) -> bool {
        matches!(
            self,
            Message::Text(_) | Message::Binary(_) | Message::Chunk(_)
        )
    }
}

impl Message {
    /// The message for a connection event; `None` for kinds of event this adapter does not
    /// surface.
    fn from_event(event: Event) -> Option<Message> {
        Some(match event {
            Event::Message(ProtoMessage::Text(t)) => Message::Text(t),
            Event::Message(ProtoMessage::Binary(b)) => Message::Binary(b),
            Event::Chunk(c) => Message::Chunk(c),
            Event::Ping(p) => Message::Ping(p),
            Event::Pong(p) => Message::Pong(p),
            Event::Close(c) => Message::Close(c),
            _ => return None,
        })
    }
}

impl From<String> for Message {
    fn from(s: String) -> Message {
        Message::Text(s)
    }
}
impl From<&str> for Message {
    fn from(s: &str) -> Message {
        Message::Text(s.into())
    }
}
impl From<Vec<u8>> for Message {
    fn from(b: Vec<u8>) -> Message {
        Message::Binary(b)
    }
}
impl From<&[u8]> for Message {
    fn from(b: &[u8]) -> Message {
        Message::Binary(b.to_vec())
    }
}

/// Size of the read buffer each connection owns.
const READ_BUFFER: usize = 256 * 1024;

/// A blocking WebSocket connection over a [`Transport`].
///
/// Obtained from [`connect`](crate::connect), [`ClientBuilder`](crate::ClientBuilder),
/// [`accept`](crate::accept) or [`accept_with`](crate::accept_with).
///
/// * [`read`](Self::read) returns the next message, answering Pings and Close frames on its
///   own and running the keepalive and close timers of the connection's
///   [`Config`](ws_proto::Config) while it waits.
/// * [`send`](Self::send) writes a message and flushes; [`write`](Self::write) only queues, for
///   batching several messages into one [`flush`](Self::flush).
/// * [`close`](Self::close) starts the closing handshake; keep calling `read` until it returns
///   [`Message::Close`].
pub struct WebSocket<S> {
    stream: S,
    conn: Connection,
    epoch: StdInstant,
    read_buf: Box<[u8]>,
    /// Bytes taken from the connection and not yet written.
    out: Vec<u8>,
    /// An error to report once the events decoded before it have been returned.
    pending_error: Option<Error>,
    read_timeout: Option<Duration>,
    protocol: Option<String>,
    /// The transport has been shut down.
    shut_down: bool,
}

impl<S: std::fmt::Debug> std::fmt::Debug for WebSocket<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSocket")
            .field("stream", &self.stream)
            .field("conn", &self.conn)
            .field("protocol", &self.protocol)
            .finish_non_exhaustive()
    }
}

impl<S: Transport> WebSocket<S> {
    /// Wraps a stream on which the opening handshake has already completed.
    ///
    /// `leftover` holds bytes read after the handshake's header block (the first frames);
    /// `protocol` is the agreed subprotocol, if any.
    pub fn from_connection(
        stream: S,
        conn: Connection,
        leftover: &[u8],
        protocol: Option<String>,
    ) -> WebSocket<S> {
        let mut ws = WebSocket {
            stream,
            conn,
            epoch: StdInstant::now(),
            read_buf: vec![0; READ_BUFFER].into_boxed_slice(),
            out: Vec::new(),
            pending_error: None,
            read_timeout: None,
            protocol,
            shut_down: false,
        };
        if !leftover.is_empty() {
            if let Err(e) = ws.conn.receive_data(leftover) {
                ws.pending_error = Some(e.into());
            }
        }
        ws
    }

    /// The subprotocol agreed in the handshake.
    pub fn protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    /// The underlying stream.
    pub fn get_ref(&self) -> &S {
        &self.stream
    }

    /// The underlying stream, for socket options. Reading or writing it directly corrupts
    /// the connection.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.stream
    }

    /// The protocol state machine.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Limits how long one [`read`](Self::read) may block waiting for data; `None` (the
    /// default) waits indefinitely. On expiry `read` fails with an [`Error::Io`] of kind
    /// `TimedOut` or `WouldBlock`, and the connection stays usable.
    pub fn set_read_timeout(&mut self, timeout: Option<Duration>) {
        self.read_timeout = timeout;
    }

    fn now(&self) -> Instant {
        Instant::from_duration(self.epoch.elapsed())
    }

    /// Reads the next message.
    ///
    /// Pings are answered and Close frames echoed before this returns. When the peer's
    /// Close frame is returned, the closing handshake is complete: the server has closed the
    /// transport, and the client has waited (up to the close timeout) for the server to do so.
    ///
    /// Before waiting for input, `read` writes and flushes everything queued, including
    /// messages queued with [`write`](Self::write). So a server that answers with `write`
    /// rather than [`send`](Self::send) sends its replies to messages that arrived together in
    /// one write to the transport, instead of one per reply.
    ///
    /// # Errors
    ///
    /// * [`Error::Protocol`]: the peer broke the protocol; the Close frame with the right code
    ///   was sent and the transport closed. [`ProtocolError::UnexpectedEof`] when the peer
    ///   vanished without a Close frame.
    /// * [`Error::ConnectionClosed`]: the connection was already closed.
    /// * [`Error::Io`]: the transport failed, or the read timeout expired (`TimedOut` or
    ///   `WouldBlock`; the connection stays usable).
    ///
    /// [`ProtocolError::UnexpectedEof`]: ws_proto::ProtocolError::UnexpectedEof
    pub fn read(&mut self) -> Result<Message, Error> {
        let started = StdInstant::now();
        loop {
            if let Some(event) = self.conn.poll_event() {
                if matches!(event, Event::Ping(_)) {
                    // Send the automatic Pong now, so the peer is not kept waiting. (A Close
                    // frame that fails the connection is not released until `poll_event`
                    // returns `None`, so the application's reply to this event still goes out
                    // before it.) Other output waits until this socket is about to block, so
                    // that replies to a batch of messages go out in one write.
                    self.flush_output()?;
                }
                if matches!(event, Event::Close(_)) {
                    self.finish_close()?;
                }
                match Message::from_event(event) {
                    Some(message) => return Ok(message),
                    None => continue,
                }
            }
            if let Some(error) = self.pending_error.take() {
                // Send the Close frame that failing the connection queued, then close.
                let _ = self.flush_output();
                return Err(error);
            }
            // Everything queued (replies written with `write`, automatic Pongs) goes out
            // before waiting for input.
            self.flush()?;
            if self.conn.state() == State::Closed {
                return Err(Error::ConnectionClosed);
            }
            let user_deadline = self.read_timeout.map(|t| started + t);
            self.wait_for_input(user_deadline)?;
        }
    }

    /// After the peer's Close frame: wait until the connection is fully closed.
    fn finish_close(&mut self) -> Result<(), Error> {
        // Nothing follows a Close frame; this `None` releases our reply to it.
        while self.conn.poll_event().is_some() {}
        while self.conn.state() != State::Closed {
            self.flush_output()?;
            if self.conn.state() == State::Closed {
                break;
            }
            match self.wait_for_input(None) {
                Ok(()) => {}
                // The handshake is complete; a transport error while waiting for the server's
                // FIN does not make it less so.
                Err(Error::Io(_)) => break,
                Err(e) => return Err(e),
            }
        }
        self.pending_error = None;
        Ok(())
    }

    /// Runs due timers, then reads once from the transport (bounded by the next timer and
    /// `user_deadline`) and feeds the connection.
    fn wait_for_input(&mut self, user_deadline: Option<StdInstant>) -> Result<(), Error> {
        let now = self.now();
        let timer = self.conn.poll_timeout();
        if timer.is_some_and(|t| t <= now) {
            if let Err(e) = self.conn.handle_timeout(now) {
                self.pending_error = Some(e.into());
            }
            return Ok(());
        }
        let timer_wait = timer.map(|t| t.saturating_duration_since(now));
        let user_wait = user_deadline.map(|d| d.saturating_duration_since(StdInstant::now()));
        let (wait, timer_first) = match (timer_wait, user_wait) {
            (Some(t), Some(u)) => (Some(t.min(u)), t <= u),
            (Some(t), None) => (Some(t), true),
            (None, u) => (u, false),
        };
        // A zero timeout means "block forever" to the socket API: use at least 1 ms.
        self.stream
            .set_read_timeout(wait.map(|w| w.max(Duration::from_millis(1))))?;
        match self.stream.read(&mut self.read_buf) {
            Ok(0) => {
                if let Err(e) = self.conn.receive_eof() {
                    self.pending_error = Some(e.into());
                }
                Ok(())
            }
            Ok(n) => {
                if let Err(e) = self.conn.receive_data(&self.read_buf[..n]) {
                    self.pending_error = Some(e.into());
                }
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(()),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                if timer_first {
                    Ok(()) // a timer is due: the next round runs it
                } else {
                    Err(Error::Io(e))
                }
            }
            Err(e) => {
                // The transport is broken: nothing more will arrive.
                let _ = self.conn.receive_eof();
                Err(Error::Io(e))
            }
        }
    }

    /// Queues a message without writing it; [`flush`](Self::flush) writes everything queued,
    /// and so does [`read`](Self::read) before it waits for input.
    ///
    /// Sending [`Message::Close`] starts the closing handshake (status 1000 if the frame has
    /// none); sending a [`Message::Chunk`] sends one fragment.
    ///
    /// The buffer of a text or binary message is kept for reuse once its bytes are queued
    /// (see [`Connection::recycle`](ws_proto::Connection::recycle)): an echo of what
    /// [`read`](Self::read) returned allocates nothing per message once warm.
    ///
    /// A payload of 64 KiB or more is written at once, straight from the message, when
    /// nothing is queued before it (the server side, uncompressed): this saves copying it.
    pub fn write(&mut self, message: impl Into<Message>) -> Result<(), Error> {
        match message.into() {
            Message::Text(t) => {
                if !self.write_direct(DataKind::Text, t.as_bytes())? {
                    self.conn.send_text(&t)?;
                }
                self.conn.recycle(t.into_bytes());
            }
            Message::Binary(b) => {
                if !self.write_direct(DataKind::Binary, &b)? {
                    self.conn.send_binary(&b)?;
                }
                self.conn.recycle(b);
            }
            Message::Ping(p) => self.conn.ping(&p)?,
            Message::Pong(p) => self.conn.pong(&p)?,
            Message::Close(frame) => {
                let (code, reason) =
                    frame.map_or((CloseCode::NORMAL, String::new()), |f| (f.code, f.reason));
                self.conn.close(code, &reason)?
            }
            Message::Chunk(c) => self.conn.send_fragment(c.kind, &c.data, c.last)?,
        }
        Ok(())
    }

    /// Writes a large one-frame message from `data` without copying it into the output
    /// queue, if the connection allows it ([`Connection::send_unqueued`]); returns whether it
    /// did.
    fn write_direct(&mut self, kind: DataKind, data: &[u8]) -> Result<bool, Error> {
        if data.len() < Connection::UNQUEUED_SEND_MIN || !self.out.is_empty() {
            return Ok(false);
        }
        let Some(head) = self.conn.send_unqueued(kind, data.len())? else {
            return Ok(false);
        };
        match write_vectored(&mut self.stream, head.as_bytes(), data) {
            (_, None) => Ok(true),
            (_, Some(e)) => Err(Error::Io(e)),
        }
    }

    /// Gives back a message that was read and is no longer needed, so that its buffer is
    /// reused for a later message instead of allocating (see
    /// [`Connection::recycle`](ws_proto::Connection::recycle)). Optional: dropping the message
    /// is always fine.
    pub fn recycle(&mut self, message: Message) {
        match message {
            Message::Text(t) => self.conn.recycle(t.into_bytes()),
            Message::Binary(b) | Message::Ping(b) | Message::Pong(b) => self.conn.recycle(b),
            Message::Chunk(c) => self.conn.recycle(c.data),
            Message::Close(_) => {}
        }
    }

    /// Writes a message and flushes it.
    pub fn send(&mut self, message: impl Into<Message>) -> Result<(), Error> {
        self.write(message)?;
        self.flush()
    }

    /// Sends a text message.
    pub fn send_text(&mut self, text: &str) -> Result<(), Error> {
        if !self.write_direct(DataKind::Text, text.as_bytes())? {
            self.conn.send_text(text)?;
        }
        self.flush()
    }

    /// Sends a binary message.
    pub fn send_binary(&mut self, data: &[u8]) -> Result<(), Error> {
        if !self.write_direct(DataKind::Binary, data)? {
            self.conn.send_binary(data)?;
        }
        self.flush()
    }

    /// Sends a message without compressing it, even when permessage-deflate is in use (for
    /// data that is already compressed). See
    /// [`Connection::send_uncompressed`](ws_proto::Connection::send_uncompressed).
    pub fn send_uncompressed(&mut self, kind: DataKind, data: &[u8]) -> Result<(), Error> {
        self.conn.send_uncompressed(kind, data)?;
        self.flush()
    }

    /// Sends one fragment of a message that is sent in pieces (for large messages): the first
    /// call starts it, the call with `is_final` ends it. See
    /// [`Connection::send_fragment`](ws_proto::Connection::send_fragment).
    pub fn send_fragment(
        &mut self,
        kind: DataKind,
        data: &[u8],
        is_final: bool,
    ) -> Result<(), Error> {
        self.conn.send_fragment(kind, data, is_final)?;
        self.flush()
    }

    /// Sends a Ping.
    pub fn ping(&mut self, payload: &[u8]) -> Result<(), Error> {
        self.conn.ping(payload)?;
        self.flush()
    }

    /// Starts the closing handshake with `code` and `reason`. Keep calling
    /// [`read`](Self::read) until it returns [`Message::Close`] (messages the peer sent before
    /// its Close frame still arrive).
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        self.conn.close(code, reason)?;
        self.flush()
    }

    /// Writes everything queued and flushes the transport.
    pub fn flush(&mut self) -> Result<(), Error> {
        self.flush_output()?;
        self.stream.flush()?;
        Ok(())
    }

    /// Takes the connection's output and writes it; closes the transport when asked to.
    fn flush_output(&mut self) -> Result<(), Error> {
        let mut shutdown = false;
        while let Some(t) = self.conn.poll_transmit(&mut self.out) {
            if t == Transmit::Shutdown {
                shutdown = true;
            }
        }
        let mut written = 0;
        while written < self.out.len() {
            match self.stream.write(&self.out[written..]) {
                Ok(0) => {
                    self.out.drain(..written);
                    return Err(Error::Io(io::ErrorKind::WriteZero.into()));
                }
                Ok(n) => written += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    // Keep what was not written for the next flush.
                    self.out.drain(..written);
                    return Err(Error::Io(e));
                }
            }
        }
        self.out.clear();
        if shutdown && !self.shut_down {
            self.shut_down = true;
            self.stream.flush()?;
            self.stream.shutdown()?;
        }
        Ok(())
    }

    /// The role of this end.
    pub fn role(&self) -> Role {
        self.conn.role()
    }

    /// Consumes the socket, returning the stream.
    pub fn into_inner(self) -> S {
        self.stream
    }
}
