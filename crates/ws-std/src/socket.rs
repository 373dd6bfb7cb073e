//! The blocking WebSocket: reads and writes a [`Transport`], driving a `ws_proto::Connection`.

use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant as StdInstant};

use ws_proto::{
    Chunk, CloseCode, CloseFrame, Connection, DataKind, Event, Instant, Message as ProtoMessage,
    Role, State,
};

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

    /// Runs the transport's own handshake to its end, if it has one (TLS); the default has
    /// nothing to do.
    ///
    /// The WebSocket handshake calls this before it reads or writes a byte of its own, with
    /// the read timeout set to the time left before
    /// [`Config::handshake_timeout`](ws_proto::Config::handshake_timeout), so that the timeout
    /// covers this phase too: a peer that stalls here is cut off like one that stalls in the
    /// HTTP upgrade. A read that times out fails with `WouldBlock` or `TimedOut`, and the
    /// next call must resume where the last one stopped (as on a non-blocking stream).
    fn handshake(&mut self) -> io::Result<()> {
        Ok(())
    }
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
///
/// Not the same type as [`ws_proto::Message`] (which ws-mio's handlers receive): a blocking
/// `read` returns control frames and stream chunks too, so this enum has their variants,
/// while an event loop hands those to other handler methods and gives data messages only.
/// Both have the same helpers (`is_text`, `into_text`, `into_data`, `len`, `as_text`, ...)
/// and the same `From` conversions.
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

    /// Whether this is a text message.
    pub fn is_text(&self) -> bool {
        matches!(self, Message::Text(_))
    }

    /// Whether this is a binary message.
    pub fn is_binary(&self) -> bool {
        matches!(self, Message::Binary(_))
    }

    /// Whether this is the peer's Close frame.
    pub fn is_close(&self) -> bool {
        matches!(self, Message::Close(_))
    }

    /// Whether this is a Ping.
    pub fn is_ping(&self) -> bool {
        matches!(self, Message::Ping(_))
    }

    /// Whether this is a Pong.
    pub fn is_pong(&self) -> bool {
        matches!(self, Message::Pong(_))
    }

    /// The payload bytes: a Close frame's are its reason (the code is not counted).
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Message::Text(s) => s.as_bytes(),
            Message::Binary(b) | Message::Ping(b) | Message::Pong(b) => b,
            Message::Close(frame) => frame.as_ref().map_or(&[], |f| f.reason.as_bytes()),
            Message::Chunk(c) => &c.data,
        }
    }

    /// The payload length in bytes, as [`as_bytes`](Message::as_bytes) counts it.
    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The text of a text message; `None` for every other kind.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Message::Text(s) => Some(s),
            _ => None,
        }
    }

    /// The payload as a `String`: a text message's own, otherwise the payload bytes
    /// ([`into_data`](Message::into_data)) if they are UTF-8.
    ///
    /// ```
    /// use ws_std::Message;
    /// assert_eq!(Message::from("hi").into_text().unwrap(), "hi");
    /// assert!(Message::Binary(vec![0xff]).into_text().is_err());
    /// ```
    pub fn into_text(self) -> Result<String, std::string::FromUtf8Error> {
        match self {
            Message::Text(s) => Ok(s),
            other => String::from_utf8(other.into_data()),
        }
    }

    /// The payload bytes, without copying; a Close frame gives its reason.
    ///
    /// ```
    /// use ws_std::Message;
    /// let message = Message::from(&b"data"[..]);
    /// assert!(message.is_binary() && !message.is_text() && !message.is_close());
    /// assert_eq!((message.len(), message.as_text()), (4, None));
    /// assert_eq!(message.into_data(), b"data");
    /// ```
    pub fn into_data(self) -> Vec<u8> {
        match self {
            Message::Text(s) => s.into_bytes(),
            Message::Binary(b) | Message::Ping(b) | Message::Pong(b) => b,
            Message::Close(frame) => frame.map_or_else(Vec::new, |f| f.reason.into_bytes()),
            Message::Chunk(c) => c.data,
        }
    }
}

impl Message {
    /// The message for a connection event; `None` for [`Event::Closed`] (which `read`
    /// reports itself) and kinds of event this adapter does not surface.
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

/// How many pieces of queued output one vectored write takes at most.
const WRITE_SLICES: usize = 16;

/// A blocking WebSocket connection over a [`Transport`].
///
/// Obtained from [`connect`](crate::connect), [`ClientBuilder`](crate::ClientBuilder),
/// [`accept`](crate::accept), [`accept_with`](crate::accept_with) or
/// [`ServerBuilder`](crate::ServerBuilder) (also on non-blocking streams:
/// [`PendingAccept`](crate::PendingAccept), [`PendingConnect`](crate::PendingConnect)).
///
/// * [`read`](Self::read) returns the next message, answering Pings and Close frames on its
///   own and running the keepalive and close timers of the connection's
///   [`Config`](ws_proto::Config) while it waits.
/// * [`send`](Self::send) writes a message and flushes; [`write`](Self::write) only queues, for
///   batching several messages into one [`flush`](Self::flush).
/// * [`close`](Self::close) starts the closing handshake; keep calling `read` until it returns
///   [`Message::Close`].
///
/// The socket moves bytes and converts the clock; the protocol is the
/// [`Connection`]'s. A write that stops early (a write timeout, a non-blocking stream) leaves
/// what was not written queued in the connection, and the next [`flush`](Self::flush) resumes
/// exactly there.
pub struct WebSocket<S> {
    stream: S,
    conn: Connection,
    /// The moment the connection's [`Instant::ZERO`] stands for.
    epoch: StdInstant,
    read_buf: Box<[u8]>,
    read_timeout: Option<Duration>,
    /// [`Transport::shutdown`] has been called (it is called once).
    shut_down: bool,
    /// A read or write failed with an error other than a stall: nothing more gets through.
    transport_failed: bool,
}

impl<S: std::fmt::Debug> std::fmt::Debug for WebSocket<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSocket")
            .field("stream", &self.stream)
            .field("conn", &self.conn)
            .field("protocol", &self.conn.protocol())
            .finish_non_exhaustive()
    }
}

impl<S: Transport> WebSocket<S> {
    /// Wraps a stream on which the opening handshake has already completed, with the
    /// [`Connection`] the handshake turned into (for example by
    /// [`ServerHandshake::into_connection`](ws_proto::handshake::ServerHandshake::into_connection),
    /// which has already fed it the bytes that followed the handshake and set its
    /// subprotocol).
    ///
    /// `epoch` is the moment the connection's clock counts from: every `now` given to `conn`
    /// so far was the time elapsed since `epoch` (for a connection created just now, `epoch`
    /// is `std::time::Instant::now()` and `now` is [`Instant::ZERO`]).
    pub fn from_connection(stream: S, conn: Connection, epoch: StdInstant) -> WebSocket<S> {
        WebSocket {
            stream,
            conn,
            epoch,
            read_buf: vec![0; READ_BUFFER].into_boxed_slice(),
            read_timeout: None,
            shut_down: false,
            transport_failed: false,
        }
    }

    /// The subprotocol agreed in the handshake ([`Connection::protocol`]).
    pub fn protocol(&self) -> Option<&str> {
        self.conn.protocol()
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

    /// The connection's clock: the time since the epoch.
    fn now(&self) -> Instant {
        Instant::from_duration(self.epoch.elapsed())
    }

    /// Reads the next message.
    ///
    /// Pings are answered and Close frames echoed before this returns. When the peer's
    /// Close frame is returned, the closing handshake is complete: the server has closed the
    /// transport, and the client has waited (up to the close timeout) for the server to do so.
    /// The next read fails with [`Error::ConnectionClosed`].
    ///
    /// Before waiting for input, `read` writes and flushes everything queued, including
    /// messages queued with [`write`](Self::write). So a server that answers with `write`
    /// rather than [`send`](Self::send) sends its replies to messages that arrived together in
    /// one write to the transport, instead of one per reply.
    ///
    /// # Errors
    ///
    /// The end of a connection that did not close cleanly, once (then
    /// [`Error::ConnectionClosed`]), after the messages that arrived before it:
    /// * [`Error::Protocol`]: the peer broke the protocol; the Close frame with the right code
    ///   was sent and the transport closed.
    /// * [`Error::ConnectionLost`]: the peer vanished without a Close frame.
    /// * [`Error::Timeout`]: a keepalive Ping went unanswered (closed with 1011), or the peer
    ///   did not answer our Close frame in time.
    ///
    /// And:
    /// * [`Error::ConnectionClosed`]: the connection was already closed.
    /// * [`Error::Io`]: the read timeout expired (`TimedOut` or `WouldBlock`; the connection
    ///   stays usable), or writing the queued output stalled (see [`flush`](Self::flush)),
    ///   or the transport failed: then the connection is over, and the next read reports
    ///   its end ([`Error::ConnectionLost`], or nothing more after a closing handshake).
    pub fn read(&mut self) -> Result<Message, Error> {
        let started = StdInstant::now();
        loop {
            if let Some(event) = self.conn.poll_event() {
                match event {
                    Event::Ping(_) => {
                        // Send the automatic Pong now, so the peer is not kept waiting. (A
                        // Close frame that fails the connection is not released until
                        // `poll_event` returns `None`, so the application's reply to this
                        // event still goes out before it.) Other output waits until this
                        // socket is about to block, so that replies to a batch of messages go
                        // out in one write. A Pong that cannot be written is the peer's
                        // backpressure: the write error is returned (the Pong stays queued),
                        // so that a peer that pings and never reads stops being read.
                        self.flush_output()?;
                    }
                    Event::Close(_) => self.finish_close(),
                    Event::Closed(closed) => {
                        // The last event: send the Close frame that failing the connection
                        // queued and close the transport (the end is what this read reports,
                        // not how the transport took it).
                        if !self.transport_failed {
                            let _ = self.flush();
                        }
                        match closed.error() {
                            Some(error) => return Err(error.into()),
                            None => continue,
                        }
                    }
                    _ => {}
                }
                match Message::from_event(event) {
                    Some(message) => return Ok(message),
                    None => continue,
                }
            }
            // Everything queued (replies written with `write`, automatic Pongs) goes out
            // before waiting for input; after a transport failure, the connection is closed
            // and nothing more can go out.
            if !self.transport_failed {
                self.flush()?;
            }
            if self.conn.state() == State::Closed {
                return Err(Error::ConnectionClosed);
            }
            let user_deadline = self.read_timeout.map(|t| started + t);
            self.wait_for_input(user_deadline)?;
        }
    }

    /// After the peer's Close frame: sends the reply and waits until the connection is
    /// closed (the client waits, at most the close timeout, for the server to close the
    /// transport). A transport error or a stream that cannot block ends the wait early: the
    /// peer's Close frame has arrived either way, and a later `read` goes on from there.
    fn finish_close(&mut self) {
        loop {
            // Only `Event::Closed` follows a Close frame; taking the events releases the
            // reply to it.
            while self.conn.poll_event().is_some() {}
            if self.conn.state() == State::Closed {
                let _ = self.flush();
                return;
            }
            if self.flush().is_err() || self.wait_for_input(None).is_err() {
                return;
            }
        }
    }

    /// Runs due timers, or else reads once from the transport (bounded by the next timer and
    /// `user_deadline`) and feeds the connection.
    ///
    /// Call it only when [`Connection::poll_event`] has returned `None`.
    fn wait_for_input(&mut self, user_deadline: Option<StdInstant>) -> io::Result<()> {
        let now = self.now();
        let timer = self.conn.poll_timeout();
        if timer.is_some_and(|t| t <= now) {
            self.conn.handle_timeout(now);
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
        // A large payload is read straight into the message being reassembled when the
        // connection offers room for it; anything else goes through the read buffer.
        let (read, in_place) = match self.conn.receive_buffer() {
            Some(room) => (self.stream.read(room), true),
            None => (self.stream.read(&mut self.read_buf), false),
        };
        let now = self.now();
        // A protocol error in the input is reported by `Event::Closed`, after the events
        // before it.
        match read {
            Ok(0) => self.conn.receive_eof(),
            Ok(n) if in_place => {
                let _ = self.conn.receive_in_place(n, now);
            }
            Ok(n) => {
                let _ = self.conn.receive_data(&self.read_buf[..n], now);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if is_would_block(&e) => {
                if !timer_first {
                    return Err(e);
                }
                // A timer is due: the next round runs it.
            }
            Err(e) => {
                // The transport is broken: nothing more will arrive. The error is returned
                // now; the end of the connection (`Event::Closed`) is reported by the next
                // read.
                self.transport_failed = true;
                self.conn.receive_eof();
                return Err(e);
            }
        }
        Ok(())
    }

    /// Queues a message without writing it; [`flush`](Self::flush) writes everything queued,
    /// and so does [`read`](Self::read) before it waits for input.
    ///
    /// Sending [`Message::Close`] starts the closing handshake (status 1000 if the frame has
    /// none); sending a [`Message::Chunk`] sends one fragment.
    ///
    /// A text or binary message is handed to the connection whole
    /// ([`Connection::send`]): a large payload is queued as it is, without a copy, and a
    /// small one is copied and its buffer kept for reuse, so an echo of what
    /// [`read`](Self::read) returned allocates nothing per message once warm.
    pub fn write(&mut self, message: impl Into<Message>) -> Result<(), Error> {
        match message.into() {
            Message::Text(t) => self.conn.send(ProtoMessage::Text(t))?,
            Message::Binary(b) => self.conn.send(ProtoMessage::Binary(b))?,
            Message::Ping(p) => self.conn.ping(&p)?,
            Message::Pong(p) => self.conn.pong(&p)?,
            Message::Close(frame) => {
                let (code, reason) =
                    frame.map_or((CloseCode::NORMAL, String::new()), |f| (f.code, f.reason));
                let now = self.now();
                self.conn.close(code, &reason, now)?
            }
            Message::Chunk(c) => self.conn.send_fragment(c.kind, &c.data, c.last)?,
        }
        Ok(())
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

    /// Sends a text message (copied; [`send`](Self::send) with an owned `String` is not).
    pub fn send_text(&mut self, text: &str) -> Result<(), Error> {
        self.conn.send_text(text)?;
        self.flush()
    }

    /// Sends a binary message (copied; [`send`](Self::send) with an owned `Vec` is not).
    pub fn send_binary(&mut self, data: &[u8]) -> Result<(), Error> {
        self.conn.send_binary(data)?;
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
        let now = self.now();
        self.conn.close(code, reason, now)?;
        self.flush()
    }

    /// Writes everything queued and flushes the transport; once the connection is done,
    /// closes the transport ([`Transport::shutdown`], once).
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when a write fails. A write that stops early with `WouldBlock` or
    /// `TimedOut` (a non-blocking stream, a write timeout) leaves every byte not written
    /// queued: call `flush` again to continue exactly where it stopped. Nothing queued is
    /// ever dropped. Any other error means the transport failed: the connection is over, and
    /// [`read`](Self::read) reports its end.
    pub fn flush(&mut self) -> Result<(), Error> {
        self.flush_output()?;
        self.stream.flush()?;
        Ok(())
    }

    /// Writes the connection's queued output with vectored writes, resuming after partial
    /// ones; closes the transport when the connection asks for it.
    fn flush_output(&mut self) -> Result<(), Error> {
        while self.conn.buffered_amount() > 0 {
            let mut pieces: [&[u8]; WRITE_SLICES] = [&[]; WRITE_SLICES];
            let n = self.conn.transmit_slices(&mut pieces);
            let mut slices = [IoSlice::new(&[]); WRITE_SLICES];
            for (slice, piece) in slices.iter_mut().zip(&pieces[..n]) {
                *slice = IoSlice::new(piece);
            }
            let error = match self.stream.write_vectored(&slices[..n]) {
                Ok(0) => io::ErrorKind::WriteZero.into(),
                Ok(written) => {
                    self.conn.advance_transmit(written);
                    continue;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => e,
            };
            // What was not written stays queued: after a stall, for the next flush.
            if !is_would_block(&error) {
                // The transport failed: nothing more will get through. The connection ends
                // (`Event::Closed`, reported by the next read).
                self.transport_failed = true;
                self.conn.receive_eof();
            }
            return Err(Error::from(error));
        }
        if self.conn.should_close_transport() && !self.shut_down {
            self.stream.flush()?;
            self.shut_down = true;
            self.stream.shutdown()?;
        }
        Ok(())
    }

    /// The role of this end.
    pub fn role(&self) -> Role {
        self.conn.role()
    }

    /// Consumes the socket, returning the stream. Output still queued (see
    /// [`Connection::buffered_amount`]) is dropped with the connection.
    pub fn into_inner(self) -> S {
        self.stream
    }
}

/// A read or write that stopped because of a timeout or a non-blocking stream.
fn is_would_block(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

#[cfg(test)]
mod message_tests {
    use super::*;

    #[test]
    fn helpers_of_every_kind() {
        let text = Message::from("hi");
        assert!(text.is_text() && text.is_data() && !text.is_binary());
        assert_eq!((text.len(), text.as_text()), (2, Some("hi")));
        assert_eq!(text.into_text().unwrap(), "hi");

        let binary = Message::from(vec![0xff, 0]);
        assert!(binary.is_binary() && !binary.is_ping());
        assert_eq!(binary.as_text(), None);
        assert_eq!(
            binary.clone().into_text().unwrap_err().into_bytes(),
            [0xff, 0]
        );
        assert_eq!(binary.into_data(), [0xff, 0]);

        let ping = Message::Ping(b"p".to_vec());
        assert!(ping.is_ping() && !ping.is_pong() && !ping.is_data());
        assert_eq!(ping.into_data(), b"p");
        let pong = Message::Pong(Vec::new());
        assert!(pong.is_pong() && pong.is_empty());

        let close = Message::Close(Some(CloseFrame {
            code: CloseCode::GOING_AWAY,
            reason: "bye".into(),
        }));
        assert!(close.is_close() && !close.is_text());
        assert_eq!(close.len(), 3);
        assert_eq!(close.into_text().unwrap(), "bye");
        let bare = Message::Close(None);
        assert!(bare.is_empty());
        assert!(bare.into_data().is_empty());
    }
}
