//! What a handler can do from inside the event loop: [`Ctx`], and the loop state behind it.

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mio::net::TcpStream;
use mio::{Interest, Poll, Token};
use ws_proto::{
    BufferPool, CloseCode, Config, Connection, Instant, Message, PreparedMessage, Role, SendError,
};

use crate::conn::{Conn, Flags, Phase, Slab};
use crate::handle::{Command, Shared};
use crate::timer::{AppTimers, TimerHeap, TimerId};
use crate::topics::{LocalTopics, Subscribed};
use crate::transport::Transport;
use crate::{ConnId, Connect, Error, Handle, Options, SlowConsumer};
use ws_proto::handshake::ClientHandshake;
use ws_proto::policy::ConnectionsPerIp;
use ws_proto::rng::OsRandom;

/// The mio token of the waker; the listener's is 1; connection slot `s` has `s + FIRST_CONN`.
pub(crate) const WAKER: Token = Token(0);
pub(crate) const LISTENER: Token = Token(1);
pub(crate) const FIRST_CONN: usize = 2;

/// What became of a message handed to [`Ctx::send`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SendStatus {
    /// Queued; it is written as the socket accepts it.
    Queued,
    /// Queued, and the connection's output is now at or above
    /// [`Options::high_watermark`]: it is not read until it drains to the low watermark
    /// ([`Handler::drain`](crate::Handler::drain)), and further messages meet the
    /// [`SlowConsumer`] policy.
    Backpressure,
    /// Not queued: the connection was above the high watermark and the policy is
    /// [`SlowConsumer::Drop`].
    Dropped,
    /// Not queued: the connection was above the high watermark and the policy
    /// [`SlowConsumer::Close`] started its closing handshake.
    Closing,
    /// Handed to the event loop of another thread, which applies the policy there.
    Forwarded,
}

/// How a message sent to several connections fared, one count per [`SendStatus`] (a
/// connection that was gone or closing counts as `failed`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Delivery {
    /// Queued below the high watermark.
    pub queued: usize,
    /// Queued, reaching or above the high watermark.
    pub backpressure: usize,
    /// Dropped by [`SlowConsumer::Drop`].
    pub dropped: usize,
    /// Not queued: [`SlowConsumer::Close`] started closing the connection.
    pub closing: usize,
    /// Not open (closed, closing, or still in the handshake).
    pub failed: usize,
    /// Handed to other event loops (for a broadcast: the number of other loops).
    pub forwarded: usize,
}

impl Delivery {
    fn count(&mut self, result: Result<SendStatus, Error>) {
        match result {
            Ok(SendStatus::Queued) => self.queued += 1,
            Ok(SendStatus::Backpressure) => self.backpressure += 1,
            Ok(SendStatus::Dropped) => self.dropped += 1,
            Ok(SendStatus::Closing) => self.closing += 1,
            Ok(SendStatus::Forwarded) => self.forwarded += 1,
            Err(_) => self.failed += 1,
        }
    }
}

/// A message to frame: borrowed from the caller (copied into the queue), or handed over
/// (queued as it is when large).
pub(crate) enum Payload<'a> {
    Text(&'a str),
    Binary(&'a [u8]),
    Owned(Message),
}

impl<'a> From<&'a Message> for Payload<'a> {
    fn from(message: &'a Message) -> Payload<'a> {
        match message {
            Message::Text(text) => Payload::Text(text),
            Message::Binary(data) => Payload::Binary(data),
        }
    }
}

impl Payload<'_> {
    /// The message, owned (a copy of a borrowed one), for another event loop.
    fn into_message(self) -> Message {
        match self {
            Payload::Text(text) => Message::Text(text.into()),
            Payload::Binary(data) => Message::Binary(data.into()),
            Payload::Owned(message) => message,
        }
    }
}

/// The state of one event loop that handler calls may touch: everything but the handler.
pub(crate) struct LoopState {
    pub(crate) worker: usize,
    pub(crate) poll: Poll,
    pub(crate) conns: Slab,
    pub(crate) timers: TimerHeap,
    /// The timers the handler armed ([`Ctx::set_timer`]).
    pub(crate) app_timers: AppTimers,
    /// Connections with output or timers to settle at the end of the current step.
    pub(crate) dirty: Vec<u32>,
    /// Connections with more to read than one turn allowed, or just resumed.
    pub(crate) ready: VecDeque<u32>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) options: Arc<Options>,
    /// The protocol settings, shared by every connection (`options.config`).
    pub(crate) config: Arc<Config>,
    pub(crate) epoch: std::time::Instant,
    /// The time of the current loop iteration.
    pub(crate) now: Instant,
    pub(crate) stopping: bool,
    /// Open WebSocket connections (handler told `open` and not yet `close`).
    pub(crate) open: usize,
    /// Accepted connections held by every loop of the server, for
    /// [`Options::max_connections`]: shared by the loops, counted from `accept` until the
    /// socket is closed.
    pub(crate) accepted: Arc<AtomicUsize>,
    /// Accepted connections per peer address, for [`Options::max_connections_per_ip`]:
    /// shared by the loops like `accepted`.
    pub(crate) per_ip: Option<Arc<Mutex<ConnectionsPerIp>>>,
    /// Spare buffers of this loop, swapped into a connection while it receives or sends
    /// (see [`ws_proto::Connection::pool_mut`]), so that steady traffic does not allocate and
    /// idle connections hold no buffers. At most [`POOL_BYTES`] and [`POOL_BUFFERS`].
    pub(crate) pool: BufferPool,
    /// The subscribers of each topic on this loop.
    pub(crate) topics: LocalTopics,
    /// The subscribers of the topic being published to (kept for its memory).
    pub(crate) members: Vec<ConnId>,
}

/// Which limit refused a connection in [`LoopState::admit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// [`Options::max_connections`]: answered with 503.
    Full,
    /// [`Options::max_connections_per_ip`]: answered with 429.
    PerIp,
}

/// The per-address counts; a loop that panicked while holding them left them consistent
/// (each update is one call), so a poisoned lock is used as it is.
fn lock(per_ip: &Mutex<ConnectionsPerIp>) -> std::sync::MutexGuard<'_, ConnectionsPerIp> {
    per_ip
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// What the spare buffers of one event loop may add up to.
pub(crate) const POOL_BYTES: usize = 4 << 20;
/// How many spare buffers one event loop keeps at most (many small ones, such as the output
/// buffers of thousands of handshakes, are not worth keeping).
pub(crate) const POOL_BUFFERS: usize = 1024;

impl LoopState {
    pub(crate) fn clock(&self) -> Instant {
        Instant::from_duration(self.epoch.elapsed())
    }

    pub(crate) fn mark_dirty(&mut self, slot: u32) {
        if let Some(conn) = self.conns.get_mut(slot) {
            if !conn.flags.dirty {
                conn.flags.dirty = true;
                self.dirty.push(slot);
            }
        }
    }

    /// Counts one more accepted connection from `peer` if [`Options::max_connections`] and
    /// [`Options::max_connections_per_ip`] allow it; otherwise counts nothing and says which
    /// limit refuses it.
    pub(crate) fn admit(&self, peer: IpAddr) -> Result<(), Refused> {
        let max = self.options.max_connections.unwrap_or(usize::MAX);
        self.accepted
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .map_err(|_| Refused::Full)?;
        if let Some(per_ip) = &self.per_ip {
            if !lock(per_ip).acquire(peer) {
                self.accepted.fetch_sub(1, Ordering::AcqRel);
                return Err(Refused::PerIp);
            }
        }
        Ok(())
    }

    /// The socket of a connection from `peer` that [`admit`](Self::admit) counted is closed.
    pub(crate) fn release(&self, peer: IpAddr) {
        self.accepted.fetch_sub(1, Ordering::AcqRel);
        if let Some(per_ip) = &self.per_ip {
            lock(per_ip).release(peer);
        }
    }

    /// Creates and registers a connection in the next free slot.
    pub(crate) fn add_conn(
        &mut self,
        mut io: Transport,
        peer: SocketAddr,
        role: Role,
        phase: Phase,
    ) -> Result<ConnId, Error> {
        let (slot, generation) = self.conns.next_key();
        let id = ConnId {
            worker: self.worker as u16,
            slot,
            generation,
        };
        self.poll.registry().register(
            &mut io.socket,
            Token(slot as usize + FIRST_CONN),
            Interest::READABLE | Interest::WRITABLE,
        )?;
        let conn = Box::new(Conn {
            id,
            io,
            peer,
            role,
            phase,
            out: Vec::new(),
            out_pos: 0,
            flags: Flags::default(),
            deadline: None,
            timer_at: None,
            last_activity: self.now,
            protocol: None,
        });
        self.conns.insert(conn);
        self.mark_dirty(slot);
        Ok(id)
    }

    /// Frames a message for one open connection of this loop, applying the backpressure
    /// policy.
    pub(crate) fn send_local(
        &mut self,
        id: ConnId,
        payload: Payload<'_>,
    ) -> Result<SendStatus, Error> {
        self.queue_local(id, |ws| match payload {
            Payload::Text(text) => ws.send_text(text),
            Payload::Binary(data) => ws.send_binary(data),
            Payload::Owned(message) => ws.send(message),
        })
    }

    /// Queues a message framed once for many connections to one open connection of this
    /// loop, applying the backpressure policy.
    pub(crate) fn send_prepared_local(
        &mut self,
        id: ConnId,
        message: &PreparedMessage,
    ) -> Result<SendStatus, Error> {
        self.queue_local(id, |ws| ws.send_prepared(message))
    }

    /// Applies the backpressure policy to one open connection of this loop and, if it lets
    /// the message through, queues it with `send` (with the loop's spare buffers lent to the
    /// connection).
    fn queue_local(
        &mut self,
        id: ConnId,
        send: impl FnOnce(&mut Connection) -> Result<(), SendError>,
    ) -> Result<SendStatus, Error> {
        let high = self.options.high_watermark;
        let policy = self.options.slow_consumer;
        let now = self.now;
        let conn = self
            .conns
            .by_id_mut(id)
            .ok_or(Error::UnknownConnection(id))?;
        let above = conn.buffered() >= high;
        let Phase::Open(ws) = &mut conn.phase else {
            return Err(Error::UnknownConnection(id));
        };
        if above {
            match policy {
                SlowConsumer::Drop => return Ok(SendStatus::Dropped),
                SlowConsumer::Close(code) => {
                    ws.close(code, "slow consumer", now)?;
                    self.mark_dirty(id.slot);
                    return Ok(SendStatus::Closing);
                }
                // Wait, and any policy added later: queue it.
                _ => {}
            }
        }
        std::mem::swap(ws.pool_mut(), &mut self.pool);
        let sent = send(ws);
        std::mem::swap(ws.pool_mut(), &mut self.pool);
        sent?;
        conn.last_activity = now;
        // Output that reaches the high watermark is written at once, as far as the socket
        // takes it (a large message, typically): only what the kernel leaves counts against
        // the watermark, and the connection is not paused for a message the socket can
        // take. A write error is left for the flush at the end of the step to report.
        if conn.buffered() >= high && conn.is_open() && !conn.flags.write_closed {
            let _ = crate::worker::write_out(conn, &mut self.pool);
        }
        let status = if conn.buffered() >= high {
            conn.flags.paused = true;
            SendStatus::Backpressure
        } else {
            SendStatus::Queued
        };
        self.mark_dirty(id.slot);
        Ok(status)
    }

    /// Sends to one connection of any loop.
    pub(crate) fn send(&mut self, id: ConnId, payload: Payload<'_>) -> Result<SendStatus, Error> {
        if id.worker() == self.worker {
            return self.send_local(id, payload);
        }
        self.shared.send(id, payload.into_message())?;
        Ok(SendStatus::Forwarded)
    }

    /// Sends to every open connection of this loop.
    pub(crate) fn broadcast_local(&mut self, message: &PreparedMessage) -> Delivery {
        let mut delivery = Delivery::default();
        for slot in 0..self.conns.capacity() {
            let Some(conn) = self.conns.get(slot) else {
                continue;
            };
            if conn.is_open() {
                let id = conn.id;
                delivery.count(self.send_prepared_local(id, message));
            }
        }
        delivery
    }

    /// Sends to every subscriber of a topic on this loop.
    pub(crate) fn publish_local(&mut self, topic: &str, message: &PreparedMessage) -> Delivery {
        let mut delivery = Delivery::default();
        let mut members = std::mem::take(&mut self.members);
        self.topics.members_into(topic, &mut members);
        for &id in &members {
            delivery.count(self.send_prepared_local(id, message));
        }
        members.clear();
        self.members = members;
        delivery
    }

    /// Subscribes an open connection of this loop to a topic.
    pub(crate) fn subscribe_local(&mut self, id: ConnId, topic: &str) -> Result<(), Error> {
        if !self
            .conns
            .by_id(id)
            .is_some_and(|c| c.is_open() && c.flags.opened)
        {
            return Err(Error::UnknownConnection(id));
        }
        match self
            .topics
            .subscribe(id, topic, self.options.max_subscriptions)
        {
            Subscribed::Full => Err(Error::TooManySubscriptions(id)),
            Subscribed::First(name) => {
                self.shared.topics().loop_joined(&name, id.worker);
                Ok(())
            }
            Subscribed::Already | Subscribed::Added => Ok(()),
        }
    }

    /// Unsubscribes a connection of this loop from a topic (nothing if it does not
    /// subscribe to it).
    pub(crate) fn unsubscribe_local(&mut self, id: ConnId, topic: &str) {
        if let Some(name) = self.topics.unsubscribe(id, topic) {
            self.shared.topics().loop_left(&name, id.worker);
        }
    }

    /// Ends every subscription of a connection of this loop (it is closing or gone).
    pub(crate) fn drop_subscriptions(&mut self, slot: u32) {
        let Some(conn) = self.conns.get(slot) else {
            return;
        };
        let gone = self.topics.unsubscribe_all(conn.id);
        if !gone.is_empty() {
            let mut registry = self.shared.topics();
            for name in gone {
                registry.loop_left(&name, self.worker as u16);
            }
        }
    }

    pub(crate) fn close(&mut self, id: ConnId, code: CloseCode, reason: &str) -> Result<(), Error> {
        if id.worker() != self.worker {
            return self
                .shared
                .remote(id)?
                .push(Command::Close(id, code, reason.into()));
        }
        let conn = self
            .conns
            .by_id_mut(id)
            .ok_or(Error::UnknownConnection(id))?;
        let Phase::Open(ws) = &mut conn.phase else {
            return Err(Error::UnknownConnection(id));
        };
        ws.close(code, reason, self.now)?;
        self.mark_dirty(id.slot);
        Ok(())
    }

    pub(crate) fn abort(&mut self, id: ConnId) -> Result<(), Error> {
        if id.worker() != self.worker {
            return self.shared.remote(id)?.push(Command::Abort(id));
        }
        let conn = self
            .conns
            .by_id_mut(id)
            .ok_or(Error::UnknownConnection(id))?;
        conn.flags.abort = true;
        self.mark_dirty(id.slot);
        Ok(())
    }

    /// Starts an outgoing connection on this loop.
    pub(crate) fn connect(&mut self, connect: &Connect) -> Result<ConnId, Error> {
        let (url, request) = connect.request(ws_proto::rng::nonce())?;
        // IPv6 literals come bracketed from the URL; the resolver wants them bare.
        let host = url.host().trim_start_matches('[').trim_end_matches(']');
        let addr = (host, url.port())
            .to_socket_addrs()?
            .next()
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no address"))?;
        // The machine offers permessage-deflate as `Config::deflate` says, and times the
        // whole handshake, the TCP connect included.
        let mut handshake =
            ClientHandshake::new(request, Arc::clone(&self.config), OsRandom::new(), self.now)?;
        let io = connect.transport(&url, TcpStream::connect(addr)?)?;
        let mut out = Vec::new();
        while handshake.poll_transmit(&mut out).is_some() {}
        let phase = Phase::Connecting {
            handshake: Box::new(handshake),
            connected: false,
        };
        let id = self.add_conn(io, addr, Role::Client, phase)?;
        if let Some(conn) = self.conns.by_id_mut(id) {
            conn.out = out;
        }
        Ok(id)
    }
}

/// The event loop, as a [`Handler`](crate::Handler) method sees it: send, broadcast, close
/// and connect, and look at connections.
///
/// Sends are framed at once and written when the handler method returns (all the messages of
/// one call to one connection in as few writes as the socket allows). Ids of connections on
/// other event loops (with [`Options::threads`] above 1) are handed to their loop.
pub struct Ctx<'a> {
    pub(crate) state: &'a mut LoopState,
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(state: &'a mut LoopState) -> Ctx<'a> {
        Ctx { state }
    }

    /// Sends a message to one connection.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownConnection`] if the connection is not open (gone, or still in its
    /// handshake); [`Error::Send`] if it is closing.
    pub fn send(&mut self, id: ConnId, message: &Message) -> Result<SendStatus, Error> {
        self.state.send(id, message.into())
    }

    /// Sends a message to one connection, handing it over: a large payload is written from
    /// the message's own buffer, without a copy, and a small one's buffer is kept for reuse.
    /// An echo or a relay that passes on what it received does best with this. See
    /// [`Ctx::send`].
    pub fn send_owned(&mut self, id: ConnId, message: Message) -> Result<SendStatus, Error> {
        self.state.send(id, Payload::Owned(message))
    }

    /// Gives back a received message the handler is done with, so that its buffer is reused
    /// for a later message (received or sent) on this event loop instead of allocating.
    /// Optional: dropping the message is always fine. With it, an echo or a relay allocates
    /// nothing per message once warm.
    ///
    /// ```
    /// use ws_mio::{ConnId, Ctx, Handler, Message};
    ///
    /// struct Echo;
    ///
    /// impl Handler for Echo {
    ///     fn message(&mut self, ctx: &mut Ctx<'_>, id: ConnId, message: Message) {
    ///         let _ = ctx.send(id, &message);
    ///         ctx.recycle(message);
    ///     }
    /// }
    /// ```
    pub fn recycle(&mut self, message: Message) {
        self.state.pool.put(message.into_bytes());
    }

    /// Sends a text message to one connection. See [`Ctx::send`].
    pub fn send_text(&mut self, id: ConnId, text: &str) -> Result<SendStatus, Error> {
        self.state.send(id, Payload::Text(text))
    }

    /// Sends a binary message to one connection. See [`Ctx::send`].
    pub fn send_binary(&mut self, id: ConnId, data: &[u8]) -> Result<SendStatus, Error> {
        self.state.send(id, Payload::Binary(data))
    }

    /// Sends a message to each connection of a set, with the frame encoded once for all of
    /// them (see [`PreparedMessage`]).
    pub fn send_to(&mut self, ids: &[ConnId], message: &Message) -> Delivery {
        let mut delivery = Delivery::default();
        let me = self.state.worker;
        let prepared = Arc::new(PreparedMessage::from(message));
        for &id in ids.iter().filter(|id| id.worker() == me) {
            delivery.count(self.state.send_prepared_local(id, &prepared));
        }
        if ids.iter().any(|id| id.worker() != me) {
            let shared = Arc::clone(&self.state.shared);
            match shared.send_many(ids, &prepared, Some(self.state.worker)) {
                Ok(n) => delivery.forwarded += n,
                Err(_) => delivery.failed += 1,
            }
        }
        delivery
    }

    /// Sends a message to every open connection of every event loop. The frame is encoded
    /// once for all of them (see [`PreparedMessage`]), and each connection's output gets a
    /// copy of its bytes.
    pub fn broadcast(&mut self, message: &Message) -> Delivery {
        let prepared = Arc::new(PreparedMessage::from(message));
        let mut delivery = self.state.broadcast_local(&prepared);
        let others = self.state.shared.workers.len() - 1;
        if others > 0 {
            let shared = Arc::clone(&self.state.shared);
            match shared.broadcast(&prepared, Some(self.state.worker)) {
                Ok(()) => delivery.forwarded += others,
                Err(_) => delivery.failed += others,
            }
        }
        delivery
    }

    /// Subscribes a connection to a topic: [`Ctx::publish`] and [`Handle::publish`] to the
    /// topic reach it, on whichever event loop it runs, until it unsubscribes or closes
    /// (a connection's subscriptions end with it, before [`Handler::close`] is called).
    /// Subscribing again to a topic is a no-op.
    ///
    /// A connection of another event loop is subscribed by its loop: the call returns
    /// `Ok(())` at once, and a failure there is not reported.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownConnection`] if the connection is not open (gone, in its handshake,
    /// or closed); [`Error::TooManySubscriptions`] if it already has
    /// [`Options::max_subscriptions`] topics.
    ///
    /// A topic's name is stored once per event loop while it has subscribers: a server that
    /// takes topic names from its peers bounds their length (the chat demo's room names are
    /// at most 32 bytes).
    ///
    /// ```
    /// use ws_mio::{ConnId, Ctx, Handler, Message};
    ///
    /// struct Ticker;
    ///
    /// impl Handler for Ticker {
    ///     fn open(&mut self, ctx: &mut Ctx<'_>, id: ConnId) {
    ///         let _ = ctx.subscribe(id, "prices");
    ///     }
    ///
    ///     fn message(&mut self, ctx: &mut Ctx<'_>, _: ConnId, message: Message) {
    ///         // To every subscriber, on every event loop; the frame is encoded once.
    ///         ctx.publish("prices", &message);
    ///     }
    /// }
    /// ```
    ///
    /// [`Handler::close`]: crate::Handler::close
    pub fn subscribe(&mut self, id: ConnId, topic: &str) -> Result<(), Error> {
        if id.worker() != self.state.worker {
            return self.state.shared.subscribe(id, topic.into());
        }
        self.state.subscribe_local(id, topic)
    }

    /// Unsubscribes a connection from a topic; unsubscribing from a topic it does not
    /// subscribe to is a no-op. A connection of another event loop is unsubscribed by its
    /// loop.
    pub fn unsubscribe(&mut self, id: ConnId, topic: &str) -> Result<(), Error> {
        if id.worker() != self.state.worker {
            return self
                .state
                .shared
                .remote(id)?
                .push(Command::Unsubscribe(id, topic.into()));
        }
        self.state.unsubscribe_local(id, topic);
        Ok(())
    }

    /// Publishes a message to every subscriber of a topic, on every event loop: the
    /// subscribers of this loop get it now, those of other loops through their loop (only
    /// loops with subscribers of the topic are told; `forwarded` counts them).
    ///
    /// The frame is encoded once for all the subscribers, on every loop (see
    /// [`PreparedMessage`]); connections with permessage-deflate compress it for
    /// themselves. Each subscriber meets the [`SlowConsumer`] policy as with [`Ctx::send`]:
    /// a slow one has the message dropped or is closed without holding up the others.
    pub fn publish(&mut self, topic: &str, message: &Message) -> Delivery {
        let prepared = Arc::new(PreparedMessage::from(message));
        self.publish_prepared(topic, &prepared)
    }

    /// Publishes a message framed beforehand, as [`Ctx::publish`] does: for a message
    /// published to several topics, or kept to be published again.
    pub fn publish_prepared(&mut self, topic: &str, message: &Arc<PreparedMessage>) -> Delivery {
        let mut delivery = self.state.publish_local(topic, message);
        if self.state.shared.workers.len() == 1 {
            return delivery;
        }
        let shared = Arc::clone(&self.state.shared);
        match shared.publish(topic, message, Some(self.state.worker)) {
            Ok(n) => delivery.forwarded += n,
            Err(_) => delivery.failed += 1,
        }
        delivery
    }

    /// How many connections of this event loop subscribe to a topic.
    pub fn subscriber_count(&self, topic: &str) -> usize {
        self.state.topics.count(topic)
    }

    /// The topics a connection of this loop subscribes to.
    pub fn subscriptions(&self, id: ConnId) -> impl Iterator<Item = &str> + '_ {
        self.state.topics.subscriptions(id).iter().map(|t| &**t)
    }

    /// Sends a Ping to one connection of this loop (a Pong arrives later; keepalive Pings
    /// are automatic with [`Config::keepalive_interval`](ws_proto::Config)).
    pub fn ping(&mut self, id: ConnId, payload: &[u8]) -> Result<(), Error> {
        let conn = self
            .state
            .conns
            .by_id_mut(id)
            .ok_or(Error::UnknownConnection(id))?;
        let Phase::Open(ws) = &mut conn.phase else {
            return Err(Error::UnknownConnection(id));
        };
        ws.ping(payload)?;
        self.state.mark_dirty(id.slot);
        Ok(())
    }

    /// Starts the closing handshake of a connection: a Close frame with `code` and `reason`
    /// (at most 123 bytes) goes out after what is queued, and [`Handler::close`] follows when
    /// the peer answers (or the close timeout expires).
    ///
    /// [`Handler::close`]: crate::Handler::close
    pub fn close(&mut self, id: ConnId, code: CloseCode, reason: &str) -> Result<(), Error> {
        self.state.close(id, code, reason)
    }

    /// Drops a connection without a closing handshake: its socket is closed when the current
    /// handler method returns, and [`Handler::close`] follows with 1006, as for a lost
    /// connection. For misbehaving peers, and for testing how clients recover (a browser
    /// sees its WebSocket close with 1006 and may reconnect).
    ///
    /// [`Handler::close`]: crate::Handler::close
    pub fn abort(&mut self, id: ConnId) -> Result<(), Error> {
        self.state.abort(id)
    }

    /// Opens an outgoing connection on this event loop: [`Handler::open`] follows when the
    /// handshake succeeds, [`Handler::error`] if it fails. Host names are resolved here,
    /// blocking the loop: prefer IP addresses in URLs.
    ///
    /// [`Handler::open`]: crate::Handler::open
    /// [`Handler::error`]: crate::Handler::error
    pub fn connect(&mut self, request: impl Into<Connect>) -> Result<ConnId, Error> {
        self.state.connect(&request.into())
    }

    /// A handle for other threads.
    pub fn handle(&self) -> Handle {
        Handle {
            shared: Arc::clone(&self.state.shared),
        }
    }

    /// Stops the whole server, as [`Handle::shutdown`] does.
    pub fn shutdown(&mut self) {
        self.handle().shutdown();
    }

    /// The index of this event loop, from 0.
    pub fn worker(&self) -> usize {
        self.state.worker
    }

    /// Whether `id` is an open connection of this event loop.
    pub fn is_open(&self, id: ConnId) -> bool {
        self.state.conns.by_id(id).is_some_and(Conn::is_open)
    }

    /// The open connections of this event loop.
    pub fn connections(&self) -> impl Iterator<Item = ConnId> + '_ {
        self.state
            .conns
            .iter()
            .filter(|c| c.is_open())
            .map(|c| c.id)
    }

    /// The number of open connections of this event loop.
    pub fn connection_count(&self) -> usize {
        self.state.open
    }

    /// Output bytes of a connection of this loop not yet accepted by the kernel: compare it
    /// with [`Options::high_watermark`].
    pub fn buffered_amount(&self, id: ConnId) -> Option<usize> {
        self.state.conns.by_id(id).map(Conn::buffered)
    }

    /// The address of the peer of a connection of this loop.
    pub fn peer_addr(&self, id: ConnId) -> Option<SocketAddr> {
        self.state.conns.by_id(id).map(|c| c.peer)
    }

    /// The subprotocol agreed in the handshake of a connection of this loop.
    pub fn protocol(&self, id: ConnId) -> Option<&str> {
        self.state.conns.by_id(id)?.protocol.as_deref()
    }

    /// Whether a connection of this loop was accepted ([`Role::Server`]) or opened with
    /// [`Ctx::connect`] ([`Role::Client`]).
    pub fn role(&self, id: ConnId) -> Option<Role> {
        self.state.conns.by_id(id).map(|c| c.role)
    }

    /// The settings of the server.
    pub fn options(&self) -> &Options {
        &self.state.options
    }

    /// Arms a timer of this event loop: [`Handler::timer`](crate::Handler::timer) is called
    /// with `token` once `after` has passed (counted from the current turn of the loop), on
    /// this loop's thread. A live ticker re-arms it from `timer`, and needs no thread of its
    /// own. Timers do not keep a server that is shutting down alive.
    ///
    /// ```
    /// use std::time::Duration;
    /// use ws_mio::{ConnId, Ctx, Handler, Message};
    ///
    /// const TICK: u64 = 1;
    /// struct Ticker { n: u64 }
    ///
    /// impl Handler for Ticker {
    ///     fn start(&mut self, ctx: &mut Ctx<'_>) {
    ///         ctx.set_timer(Duration::from_secs(1), TICK);
    ///     }
    ///     fn timer(&mut self, ctx: &mut Ctx<'_>, token: u64) {
    ///         if token == TICK {
    ///             self.n += 1;
    ///             ctx.broadcast(&Message::Text(format!("tick {}", self.n)));
    ///             ctx.set_timer(Duration::from_secs(1), TICK);
    ///         }
    ///     }
    /// }
    /// ```
    pub fn set_timer(&mut self, after: Duration, token: u64) -> TimerId {
        let at = self.state.now.saturating_add(after);
        self.state.app_timers.set(at, token)
    }

    /// Disarms a timer armed with [`set_timer`](Self::set_timer): `false` if it has already
    /// fired or been cancelled.
    pub fn cancel_timer(&mut self, timer: TimerId) -> bool {
        self.state.app_timers.cancel(timer)
    }
}

impl std::fmt::Debug for Ctx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("worker", &self.state.worker)
            .field("connections", &self.state.open)
            .finish_non_exhaustive()
    }
}
