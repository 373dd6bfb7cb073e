//! [`WebSocketStream`] and its halves ([`WebSocketReader`], [`WebSocketWriter`]).

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures_core::Stream;
use futures_sink::Sink;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Instant as TokioInstant;
use ws_proto::{CloseCode, Connection, Role};

use crate::core::{lock, Core};
use crate::{Error, Message};

/// An async WebSocket connection over a stream `S` (a `TcpStream`, a TLS stream, any
/// `AsyncRead + AsyncWrite`).
///
/// Obtained from [`connect_async`](crate::connect_async),
/// [`ClientBuilder`](crate::ClientBuilder), [`client_async`](crate::client_async),
/// [`accept_async`](crate::accept_async) or [`accept_hdr_async`](crate::accept_hdr_async).
///
/// * As a [`Stream`] of `Result<Message, Error>` (or with [`read`](Self::read)): Pings are
///   answered on their own, the peer's Close frame is answered and returned as
///   [`Message::Close`], and the keepalive and close timers of the connection's
///   [`Config`](ws_proto::Config) run while the stream is polled. After the end of the
///   connection (a Close message, or an error for an abnormal end), the stream ends.
/// * As a [`Sink`] of [`Message`] (or with [`send`](Self::send)): `poll_ready` waits while
///   more than the [write buffer limit](Self::set_write_buffer_limit) is queued, so a peer
///   that does not read slows the sender down instead of growing memory; `poll_flush`
///   writes it all; `poll_close` starts the closing handshake (1000).
/// * [`split`](Self::split) gives a reader and a writer that two tasks use at once.
///
/// The protocol is ws-proto's [`Connection`]; this type moves bytes, converts tokio's clock
/// for its timers and keeps a bounded buffer of received bytes. A large payload is read
/// straight into its message, and written straight from it.
///
/// Only a task polling the stream (the reader) reads the transport: keepalive Pings, the
/// close timeout and the automatic Pongs need one.
pub struct WebSocketStream<S> {
    core: Core<S>,
}

impl<S> std::fmt::Debug for WebSocketStream<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSocketStream")
            .field("conn", &self.core.conn)
            .finish_non_exhaustive()
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> WebSocketStream<S> {
    /// Wraps a stream on which the opening handshake has already completed, with the
    /// [`Connection`] the handshake turned into. `epoch` is the moment the connection's
    /// clock counts from: every `now` given to `conn` so far was the time elapsed since it on
    /// tokio's clock (for a connection created now: `tokio::time::Instant::now()` and
    /// [`ws_proto::Instant::ZERO`]).
    pub fn from_connection(stream: S, conn: Connection, epoch: TokioInstant) -> Self {
        WebSocketStream {
            core: Core::new(stream, conn, epoch),
        }
    }

    /// Reads the next message (see the type's description).
    ///
    /// # Errors
    ///
    /// The abnormal end of the connection, once, after the messages that arrived before it:
    /// [`Error::Protocol`] (the peer broke the protocol; our Close frame with its code was
    /// sent), [`Error::ConnectionLost`], [`Error::Timeout`], or [`Error::Io`] when the
    /// transport failed. Then, and after a closing handshake, [`Error::ConnectionClosed`].
    pub async fn read(&mut self) -> Result<Message, Error> {
        poll_fn(|cx| self.core.poll_next_message(cx))
            .await
            .unwrap_or(Err(Error::ConnectionClosed))
    }

    /// Sends a message and flushes it, after waiting for room in the write buffer.
    ///
    /// # Errors
    ///
    /// [`Error::Send`] when the connection's state does not allow it (after close);
    /// [`Error::Io`] when the transport fails.
    pub async fn send(&mut self, message: impl Into<Message>) -> Result<(), Error> {
        send(&mut self.core, message.into()).await
    }

    /// Queues a message without writing it: the next [`flush`](Self::flush),
    /// [`send`](Self::send) or [`read`](Self::read) (before it waits for input) writes it. A
    /// server that answers with `write` sends its replies to messages that arrived together
    /// in one write to the transport. It does not wait for room: `send`, or the [`Sink`]'s
    /// `poll_ready`, does.
    ///
    /// # Errors
    ///
    /// [`Error::Send`] when the connection's state does not allow it (after close).
    pub fn write(&mut self, message: impl Into<Message>) -> Result<(), Error> {
        self.core.queue(message.into())
    }

    /// Starts the closing handshake with `code` and `reason`, and writes the Close frame.
    /// Keep reading until the peer's [`Message::Close`] (or the end of the stream): messages
    /// the peer sent before its Close frame still arrive.
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send).
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        close(&mut self.core, code, reason).await
    }

    /// Writes everything queued and flushes the transport.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the transport fails.
    pub async fn flush(&mut self) -> Result<(), Error> {
        poll_fn(|cx| self.core.poll_flush(cx)).await
    }

    /// Splits the connection into a reader and a writer, for two tasks. Both share the
    /// connection: Pings read by the reader are answered by it, a Close frame sent by the
    /// writer is answered to the reader, and either's waits wake the right task.
    pub fn split(self) -> (WebSocketReader<S>, WebSocketWriter<S>) {
        let shared = Arc::new(Mutex::new(self.core));
        (
            WebSocketReader {
                shared: Arc::clone(&shared),
            },
            WebSocketWriter { shared },
        )
    }
}

impl<S> WebSocketStream<S> {
    /// The subprotocol agreed in the handshake.
    pub fn protocol(&self) -> Option<&str> {
        self.core.conn.protocol()
    }

    /// The role of this end.
    pub fn role(&self) -> Role {
        self.core.conn.role()
    }

    /// The protocol state machine.
    pub fn connection(&self) -> &Connection {
        &self.core.conn
    }

    /// The underlying stream.
    pub fn get_ref(&self) -> &S {
        &self.core.stream
    }

    /// The underlying stream, for its options. Reading or writing it directly corrupts the
    /// connection.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.core.stream
    }

    /// How many queued bytes make [`Sink::poll_ready`] (and so [`send`](Self::send)) wait
    /// for the transport; default 128 KiB. A message is queued whole whatever its size:
    /// this bounds what waits in front of it.
    pub fn set_write_buffer_limit(&mut self, bytes: usize) {
        self.core.write_limit = bytes.max(1);
    }

    /// Gives back a message that was read and is no longer needed, so that its buffer is
    /// reused for a later one (see [`Connection::recycle`]). Sending a message does the same
    /// with its buffer.
    pub fn recycle(&mut self, message: Message) {
        self.core.recycle(message);
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Stream for WebSocketStream<S> {
    type Item = Result<Message, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().core.poll_next_message(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Sink<Message> for WebSocketStream<S> {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().core.poll_ready(cx)
    }

    fn start_send(self: Pin<&mut Self>, message: Message) -> Result<(), Error> {
        self.get_mut().core.queue(message)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().core.poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().core.poll_close(cx)
    }
}

/// Sends `message` on `core` once there is room, and flushes.
async fn send<S: AsyncRead + AsyncWrite + Unpin>(
    core: &mut Core<S>,
    message: Message,
) -> Result<(), Error> {
    poll_fn(|cx| core.poll_ready(cx)).await?;
    core.queue(message)?;
    poll_fn(|cx| core.poll_flush(cx)).await
}

/// Starts the closing handshake on `core` and writes the Close frame.
async fn close<S: AsyncRead + AsyncWrite + Unpin>(
    core: &mut Core<S>,
    code: CloseCode,
    reason: &str,
) -> Result<(), Error> {
    let now = core.now();
    core.conn.close(code, reason, now)?;
    poll_fn(|cx| core.poll_flush(cx)).await
}

/// The reading half of a [`WebSocketStream`], from [`split`](WebSocketStream::split): a
/// [`Stream`] of messages, also with [`read`](Self::read).
///
/// Keep it polled: it answers Pings, runs the timers and completes the closing handshake
/// for both halves.
pub struct WebSocketReader<S> {
    shared: Arc<Mutex<Core<S>>>,
}

/// The writing half of a [`WebSocketStream`], from [`split`](WebSocketStream::split): a
/// [`Sink`] of messages, also with [`send`](Self::send) and [`close`](Self::close).
pub struct WebSocketWriter<S> {
    shared: Arc<Mutex<Core<S>>>,
}

impl<S> std::fmt::Debug for WebSocketReader<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSocketReader").finish_non_exhaustive()
    }
}

impl<S> std::fmt::Debug for WebSocketWriter<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSocketWriter").finish_non_exhaustive()
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> WebSocketReader<S> {
    /// Reads the next message; as [`WebSocketStream::read`].
    ///
    /// # Errors
    ///
    /// As [`WebSocketStream::read`].
    pub async fn read(&mut self) -> Result<Message, Error> {
        poll_fn(|cx| lock(&self.shared).poll_next_message(cx))
            .await
            .unwrap_or(Err(Error::ConnectionClosed))
    }

    /// Gives back a message's buffer for reuse; as [`WebSocketStream::recycle`].
    pub fn recycle(&mut self, message: Message) {
        lock(&self.shared).recycle(message);
    }

    /// Puts the halves back together; `Err` with both when they are of different
    /// connections.
    #[allow(clippy::result_large_err)]
    pub fn reunite(
        self,
        writer: WebSocketWriter<S>,
    ) -> Result<WebSocketStream<S>, (WebSocketReader<S>, WebSocketWriter<S>)> {
        if !Arc::ptr_eq(&self.shared, &writer.shared) {
            return Err((self, writer));
        }
        drop(writer);
        match Arc::try_unwrap(self.shared) {
            Ok(core) => Ok(WebSocketStream {
                core: core.into_inner().unwrap_or_else(|p| p.into_inner()),
            }),
            Err(_) => unreachable!("the two halves held the only references"),
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> WebSocketWriter<S> {
    /// Sends a message; as [`WebSocketStream::send`].
    ///
    /// # Errors
    ///
    /// As [`WebSocketStream::send`].
    pub async fn send(&mut self, message: impl Into<Message>) -> Result<(), Error> {
        let message = message.into();
        poll_fn(|cx| lock(&self.shared).poll_ready(cx)).await?;
        lock(&self.shared).queue(message)?;
        poll_fn(|cx| lock(&self.shared).poll_flush(cx)).await
    }

    /// Starts the closing handshake; as [`WebSocketStream::close`]. The reader receives the
    /// peer's answer.
    ///
    /// # Errors
    ///
    /// As [`WebSocketStream::send`].
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        {
            let mut core = lock(&self.shared);
            let now = core.now();
            core.conn.close(code, reason, now)?;
        }
        poll_fn(|cx| lock(&self.shared).poll_flush(cx)).await
    }

    /// Writes everything queued and flushes the transport.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the transport fails.
    pub async fn flush(&mut self) -> Result<(), Error> {
        poll_fn(|cx| lock(&self.shared).poll_flush(cx)).await
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Stream for WebSocketReader<S> {
    type Item = Result<Message, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        lock(&self.shared).poll_next_message(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Sink<Message> for WebSocketWriter<S> {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        lock(&self.shared).poll_ready(cx)
    }

    fn start_send(self: Pin<&mut Self>, message: Message) -> Result<(), Error> {
        lock(&self.shared).queue(message)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        lock(&self.shared).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        lock(&self.shared).poll_close(cx)
    }
}
