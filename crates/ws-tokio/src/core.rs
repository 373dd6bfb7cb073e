//! The driving of a `ws_proto::Connection` over an async stream, in poll form: what the
//! whole [`WebSocketStream`](crate::WebSocketStream) and its split halves share.
//!
//! The stream is polled with a waker of its own ([`Wakers`]) that wakes both the task that
//! reads and the task that writes: a transport keeps one waker per direction, and both
//! halves write (the reader sends the automatic Pongs and the Close reply), so a waker
//! registered by one half must not replace the other's.

use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll, Wake, Waker};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant as TokioInstant, Sleep};
use ws_proto::{CloseCode, Connection, Event, Instant, Message as ProtoMessage, State};

use crate::{Error, Message};

/// The size of the read buffer each connection owns (a large payload is read straight into
/// its message instead).
const READ_BUFFER: usize = 32 * 1024;

/// How many pieces of queued output one vectored write takes at most.
const WRITE_SLICES: usize = 16;

/// How much queued output [`Sink::poll_ready`](futures_sink::Sink::poll_ready) allows before
/// it waits for the transport to take some: the default of
/// [`WebSocketStream::set_write_buffer_limit`](crate::WebSocketStream::set_write_buffer_limit).
pub(crate) const DEFAULT_WRITE_BUFFER_LIMIT: usize = 128 * 1024;

/// Which half of the connection is polling.
#[derive(Clone, Copy)]
pub(crate) enum Side {
    Read,
    Write,
}

/// The wakers of the task reading and the task writing; as a [`Waker`], wakes both.
#[derive(Default)]
struct Wakers {
    read: Mutex<Option<Waker>>,
    write: Mutex<Option<Waker>>,
}

impl Wakers {
    fn slot(&self, side: Side) -> &Mutex<Option<Waker>> {
        match side {
            Side::Read => &self.read,
            Side::Write => &self.write,
        }
    }

    fn register(&self, side: Side, waker: &Waker) {
        let mut slot = lock(self.slot(side));
        if !slot.as_ref().is_some_and(|w| w.will_wake(waker)) {
            *slot = Some(waker.clone());
        }
    }
}

impl Wake for Wakers {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        for side in [Side::Read, Side::Write] {
            let waker = lock(self.slot(side)).take();
            if let Some(waker) = waker {
                waker.wake();
            }
        }
    }
}

/// Locks `mutex`, also after a panic in another holder (the state it guards stays
/// consistent: every update is one call into the connection).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A connection on its stream, with its read buffer, its timer and its wakers.
pub(crate) struct Core<S> {
    pub(crate) stream: S,
    pub(crate) conn: Connection,
    /// The moment the connection's [`Instant::ZERO`] stands for.
    epoch: TokioInstant,
    read_buf: Box<[u8]>,
    /// Armed for the connection's next deadline.
    sleep: Pin<Box<Sleep>>,
    /// The deadline `sleep` is armed for.
    sleep_at: Option<Instant>,
    wakers: Arc<Wakers>,
    /// `wakers` as a waker, given to the stream and the timer.
    proxy: Waker,
    pub(crate) write_limit: usize,
    /// The end of the stream was read, or the transport failed: nothing more is read.
    eof: bool,
    /// A write failed: nothing more is written.
    transport_failed: bool,
    /// The transport has been shut down (once).
    shut_down: bool,
    /// [`Event::Closed`] has been taken: once its error (if any) is reported, the stream
    /// ends.
    done: bool,
    /// The abnormal end to report, when `Event::Closed` was taken with the Close frame.
    end_error: Option<Error>,
    /// The peer's Close frame has arrived: a transport that fails from then on (a reset
    /// instead of a FIN) only ends the wait for the end of the stream.
    peer_closed: bool,
}

impl<S> Core<S> {
    pub(crate) fn new(stream: S, conn: Connection, epoch: TokioInstant) -> Core<S> {
        let wakers = Arc::new(Wakers::default());
        Core {
            stream,
            conn,
            epoch,
            read_buf: vec![0; READ_BUFFER].into_boxed_slice(),
            sleep: Box::pin(tokio::time::sleep_until(epoch)),
            sleep_at: None,
            proxy: Waker::from(Arc::clone(&wakers)),
            wakers,
            write_limit: DEFAULT_WRITE_BUFFER_LIMIT,
            eof: false,
            transport_failed: false,
            shut_down: false,
            done: false,
            end_error: None,
            peer_closed: false,
        }
    }

    /// The connection's clock: the time since the epoch, on tokio's clock (so paused time in
    /// tests moves it too).
    pub(crate) fn now(&self) -> Instant {
        Instant::from_duration(self.epoch.elapsed())
    }

    /// Queues `message` (a Close message starts the closing handshake, 1000 without a
    /// frame). A text or binary message hands its buffer to the connection, which keeps it
    /// for reuse.
    pub(crate) fn queue(&mut self, message: Message) -> Result<(), Error> {
        match message {
            Message::Text(text) => self.conn.send(ProtoMessage::Text(text))?,
            Message::Binary(data) => self.conn.send(ProtoMessage::Binary(data))?,
            Message::Ping(payload) => self.conn.ping(&payload)?,
            Message::Pong(payload) => self.conn.pong(&payload)?,
            Message::Close(frame) => {
                let (code, reason) = match &frame {
                    Some(frame) => (frame.code, frame.reason.as_str()),
                    None => (CloseCode::NORMAL, ""),
                };
                let now = self.now();
                self.conn.close(code, reason, now)?;
            }
            Message::Chunk(chunk) => {
                self.conn
                    .send_fragment(chunk.kind, &chunk.data, chunk.last)?
            }
        }
        Ok(())
    }

    /// Gives a message's buffer back to the connection for reuse.
    pub(crate) fn recycle(&mut self, message: Message) {
        match message {
            Message::Text(text) => self.conn.recycle(text.into_bytes()),
            Message::Binary(data) | Message::Ping(data) | Message::Pong(data) => {
                self.conn.recycle(data)
            }
            Message::Chunk(chunk) => self.conn.recycle(chunk.data),
            Message::Close(_) => {}
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Core<S> {
    /// Writes the queued output with vectored writes (a partial write resumes exactly where
    /// it stopped), then shuts the transport down once the connection asks for it.
    fn poll_write_out(&mut self) -> Poll<io::Result<()>> {
        if self.transport_failed {
            return Poll::Ready(Ok(()));
        }
        let mut cx = Context::from_waker(&self.proxy);
        while self.conn.buffered_amount() > 0 {
            let mut pieces: [&[u8]; WRITE_SLICES] = [&[]; WRITE_SLICES];
            let n = self.conn.transmit_slices(&mut pieces);
            let mut slices = [IoSlice::new(&[]); WRITE_SLICES];
            for (slice, piece) in slices.iter_mut().zip(&pieces[..n]) {
                *slice = IoSlice::new(piece);
            }
            let error = match Pin::new(&mut self.stream).poll_write_vectored(&mut cx, &slices[..n])
            {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(0)) => io::ErrorKind::WriteZero.into(),
                Poll::Ready(Ok(written)) => {
                    self.conn.advance_transmit(written);
                    continue;
                }
                Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => continue,
                Poll::Ready(Err(e)) => e,
            };
            // Nothing more will get through: the connection ends (`Event::Closed`, reported
            // by the reader).
            self.transport_failed = true;
            self.eof = true;
            self.conn.receive_eof();
            return Poll::Ready(Err(error));
        }
        if self.conn.should_close_transport() && !self.shut_down {
            let shutdown = ready!(Pin::new(&mut self.stream).poll_shutdown(&mut cx));
            self.shut_down = true;
            match shutdown {
                // The peer may be gone already; the connection is closed either way.
                Err(e) if e.kind() != io::ErrorKind::NotConnected => return Poll::Ready(Err(e)),
                _ => {}
            }
        }
        Poll::Ready(Ok(()))
    }

    /// Writes everything queued and flushes the transport.
    pub(crate) fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.wakers.register(Side::Write, cx.waker());
        ready!(self.poll_write_out())?;
        if !self.transport_failed && !self.shut_down {
            let mut proxy = Context::from_waker(&self.proxy);
            ready!(Pin::new(&mut self.stream).poll_flush(&mut proxy))?;
        }
        Poll::Ready(Ok(()))
    }

    /// Ready once the queued output is below the write buffer limit.
    pub(crate) fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.wakers.register(Side::Write, cx.waker());
        if self.conn.buffered_amount() < self.write_limit {
            return Poll::Ready(Ok(()));
        }
        let written = self.poll_write_out();
        if let Poll::Ready(Err(e)) = written {
            return Poll::Ready(Err(e.into()));
        }
        if self.conn.buffered_amount() < self.write_limit || self.transport_failed {
            return Poll::Ready(Ok(()));
        }
        Poll::Pending
    }

    /// Starts the closing handshake (unless it has started) and writes it out.
    pub(crate) fn poll_close(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        if self.conn.state() == State::Open {
            let now = self.now();
            self.conn.close(CloseCode::NORMAL, "", now)?;
        }
        self.poll_flush(cx)
    }

    /// The next message: events first, then due timers, then input from the transport.
    /// `None` once the connection has closed and its end has been reported.
    pub(crate) fn poll_next_message(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Message, Error>>> {
        self.wakers.register(Side::Read, cx.waker());
        loop {
            if let Some(event) = self.conn.poll_event() {
                match &event {
                    // The automatic Pong goes out now, so the peer is not kept waiting (a
                    // transport that does not take it is retried by the next poll).
                    Event::Ping(_) => {
                        if let Poll::Ready(Err(e)) = self.poll_write_out() {
                            return Poll::Ready(Some(Err(e.into())));
                        }
                    }
                    // The closing handshake: taking the events releases the reply, which
                    // goes out before the Close message is returned.
                    Event::Close(_) => {
                        self.peer_closed = true;
                        while let Some(next) = self.conn.poll_event() {
                            if let Event::Closed(closed) = next {
                                self.done = true;
                                self.end_error = closed.error().map(Error::from);
                            }
                        }
                        let _ = self.poll_write_out();
                    }
                    Event::Closed(closed) => {
                        self.done = true;
                        // The Close frame that failing the connection queued.
                        let _ = self.poll_write_out();
                        if let Some(error) = closed.error() {
                            return Poll::Ready(Some(Err(error.into())));
                        }
                        continue;
                    }
                    _ => {}
                }
                match Message::from_event(event) {
                    Some(message) => return Poll::Ready(Some(Ok(message))),
                    None => continue,
                }
            }
            if let Some(error) = self.end_error.take() {
                return Poll::Ready(Some(Err(error)));
            }
            if self.done {
                // The rest of the output, as far as the transport takes it now: the end is
                // not held up by a peer that does not read.
                let _ = self.poll_write_out();
                return Poll::Ready(None);
            }
            match self.poll_write_out() {
                Poll::Ready(Err(e)) => return Poll::Ready(Some(Err(e.into()))),
                // A peer that does not read stops being read (its Pings would pile up).
                Poll::Pending if self.conn.buffered_amount() >= self.write_limit => {
                    if !self.poll_timer() {
                        return Poll::Pending;
                    }
                    continue;
                }
                _ => {}
            }
            if self.poll_timer() {
                continue;
            }
            if self.eof {
                return Poll::Pending;
            }
            let mut proxy = Context::from_waker(&self.proxy);
            let (read, in_place) = match self.conn.receive_buffer() {
                Some(room) => (poll_read(&mut self.stream, &mut proxy, room), true),
                None => (
                    poll_read(&mut self.stream, &mut proxy, &mut self.read_buf),
                    false,
                ),
            };
            let now = self.now();
            // A protocol error in the input is reported by `Event::Closed`, after the events
            // decoded before it.
            match ready!(read) {
                Ok(0) => {
                    self.eof = true;
                    self.conn.receive_eof();
                }
                Ok(n) if in_place => {
                    let _ = self.conn.receive_in_place(n, now);
                }
                Ok(n) => {
                    let _ = self.conn.receive_data(&self.read_buf[..n], now);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) if self.peer_closed => {
                    self.eof = true;
                    self.conn.receive_eof();
                }
                Err(e) => {
                    // The transport is broken: the error now, the end of the connection
                    // (`Event::Closed`) next.
                    self.eof = true;
                    self.transport_failed = true;
                    self.conn.receive_eof();
                    return Poll::Ready(Some(Err(e.into())));
                }
            }
        }
    }

    /// Runs the connection's timer if it is due, or arms the sleep for it; true if it ran.
    fn poll_timer(&mut self) -> bool {
        let Some(deadline) = self.conn.poll_timeout() else {
            return false;
        };
        let now = self.now();
        if deadline > now {
            if self.sleep_at != Some(deadline) {
                self.sleep
                    .as_mut()
                    .reset(self.epoch + deadline.as_duration());
                self.sleep_at = Some(deadline);
            }
            let mut proxy = Context::from_waker(&self.proxy);
            if self.sleep.as_mut().poll(&mut proxy).is_pending() {
                return false;
            }
        }
        self.sleep_at = None;
        self.conn.handle_timeout(self.now().max(deadline));
        true
    }
}

/// One read into `buf`: the count read.
fn poll_read<S: AsyncRead + Unpin>(
    stream: &mut S,
    cx: &mut Context<'_>,
    buf: &mut [u8],
) -> Poll<io::Result<usize>> {
    let mut buf = ReadBuf::new(buf);
    ready!(Pin::new(stream).poll_read(cx, &mut buf))?;
    Poll::Ready(Ok(buf.filled().len()))
}
