//! Reaching the event loops from other threads: a command queue per loop and a mio `Waker`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use mio::Waker;
use ws_proto::{CloseCode, Message, PreparedMessage};

use crate::topics::TopicRegistry;
use crate::{ConnId, Error, TopicEvent};

/// What another thread (or another event loop) asks an event loop to do.
pub(crate) enum Command {
    Send(ConnId, Message),
    SendMany(Vec<ConnId>, Arc<PreparedMessage>),
    Broadcast(Arc<PreparedMessage>),
    Subscribe(ConnId, Arc<str>),
    Unsubscribe(ConnId, Arc<str>),
    Publish(Arc<str>, Arc<PreparedMessage>),
    Close(ConnId, CloseCode, String),
    Abort(ConnId),
    Shutdown(Shutdown),
}

/// How the loops shut down: the reason of their Close frames (1001), and when to stop waiting
/// for the closing handshakes (`None`: each connection's close timeout bounds its own).
#[derive(Debug, Clone)]
pub(crate) struct Shutdown {
    pub(crate) reason: Arc<str>,
    pub(crate) deadline: Option<std::time::Instant>,
}

/// One event loop's inbox.
pub(crate) struct Remote {
    tx: Sender<Command>,
    waker: Waker,
    /// Set by the first command after the loop last emptied its queue: later ones need not
    /// wake it again (one `eventfd` write per batch, not per message).
    wake_pending: AtomicBool,
}

impl Remote {
    pub(crate) fn new(tx: Sender<Command>, waker: Waker) -> Remote {
        Remote {
            tx,
            waker,
            wake_pending: AtomicBool::new(false),
        }
    }

    pub(crate) fn push(&self, command: Command) -> Result<(), Error> {
        self.tx.send(command).map_err(|_| Error::Stopped)?;
        if !self.wake_pending.swap(true, Ordering::AcqRel) {
            self.waker.wake()?;
        }
        Ok(())
    }

    /// Called by the loop before it empties its queue.
    pub(crate) fn clear_wake(&self) {
        self.wake_pending.store(false, Ordering::Release);
    }
}

/// The inboxes of every event loop of a server.
pub(crate) struct Shared {
    pub(crate) workers: Vec<Remote>,
    /// Which loops have subscribers of each topic.
    pub(crate) topics: Mutex<TopicRegistry>,
}

impl Shared {
    pub(crate) fn new(workers: Vec<Remote>) -> Shared {
        Shared {
            workers,
            topics: Mutex::default(),
        }
    }

    /// The topic registry. A panic while it was held (none is expected: its updates do not
    /// panic) leaves it usable.
    pub(crate) fn topics(&self) -> MutexGuard<'_, TopicRegistry> {
        self.topics.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Asks a connection's loop to subscribe it to a topic. Publishes made from now on go to
    /// that loop too, until it has handled the request.
    pub(crate) fn subscribe(&self, id: ConnId, topic: Arc<str>) -> Result<(), Error> {
        let remote = self.remote(id)?;
        self.topics().expect(&topic, id.worker);
        let pushed = remote.push(Command::Subscribe(id, Arc::clone(&topic)));
        if pushed.is_err() {
            self.topics().expected(&topic, id.worker);
        }
        pushed
    }

    /// Hands a publish to every loop with subscribers of the topic but `skip`; returns how
    /// many loops it was handed to.
    pub(crate) fn publish(
        &self,
        topic: &str,
        message: &Arc<PreparedMessage>,
        skip: Option<usize>,
    ) -> Result<usize, Error> {
        let mut loops = Vec::new();
        let Some(name) = self.topics().loops_into(topic, &mut loops) else {
            return Ok(0);
        };
        let mut forwarded = 0;
        for worker in loops.into_iter().map(usize::from) {
            if Some(worker) == skip {
                continue;
            }
            if let Some(remote) = self.workers.get(worker) {
                remote.push(Command::Publish(Arc::clone(&name), Arc::clone(message)))?;
                forwarded += 1;
            }
        }
        Ok(forwarded)
    }

    pub(crate) fn send(&self, id: ConnId, message: Message) -> Result<(), Error> {
        self.remote(id)?.push(Command::Send(id, message))
    }

    /// Sends to each id through its loop; `skip` is a loop that handles its own ids.
    pub(crate) fn send_many(
        &self,
        ids: &[ConnId],
        message: &Arc<PreparedMessage>,
        skip: Option<usize>,
    ) -> Result<usize, Error> {
        let mut forwarded = 0;
        for (worker, remote) in self.workers.iter().enumerate() {
            if Some(worker) == skip {
                continue;
            }
            let mine: Vec<ConnId> = ids
                .iter()
                .copied()
                .filter(|id| id.worker() == worker)
                .collect();
            if !mine.is_empty() {
                forwarded += mine.len();
                remote.push(Command::SendMany(mine, Arc::clone(message)))?;
            }
        }
        Ok(forwarded)
    }

    /// Broadcasts through every loop but `skip`.
    pub(crate) fn broadcast(
        &self,
        message: &Arc<PreparedMessage>,
        skip: Option<usize>,
    ) -> Result<(), Error> {
        for (worker, remote) in self.workers.iter().enumerate() {
            if Some(worker) != skip {
                remote.push(Command::Broadcast(Arc::clone(message)))?;
            }
        }
        Ok(())
    }

    pub(crate) fn remote(&self, id: ConnId) -> Result<&Remote, Error> {
        self.workers
            .get(id.worker())
            .ok_or(Error::UnknownConnection(id))
    }
}

/// Sends to connections and controls a [`Server`](crate::Server) from any thread.
///
/// Cheap to clone. Each call queues a command for the event loop that runs the connection
/// and wakes it; the loop applies it as [`Ctx`](crate::Ctx) would (with the same
/// backpressure policy), in the order the calls were made from one thread. Calls fail with
/// [`Error::Stopped`] once the loop has stopped.
///
/// ```
/// use ws_mio::{Handler, Options, Server};
///
/// struct Quiet;
/// impl Handler for Quiet {}
///
/// let server = Server::bind("127.0.0.1:0", Options::default(), |_| Quiet)?;
/// let handle = server.handle();
/// let running = server.spawn()?;
/// // From any thread: a ticker, a message queue consumer, a signal handler...
/// std::thread::spawn(move || {
///     handle.broadcast("tick").unwrap();
///     handle.shutdown();
/// })
/// .join()
/// .unwrap();
/// running.join()?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct Handle {
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handle")
            .field("workers", &self.shared.workers.len())
            .finish()
    }
}

impl Handle {
    /// Sends a message to one connection.
    pub fn send(&self, id: ConnId, message: impl Into<Message>) -> Result<(), Error> {
        self.shared.send(id, message.into())
    }

    /// Sends a message to each of a set of connections; the frame is encoded once for all of
    /// them (see [`PreparedMessage`]).
    pub fn send_to(&self, ids: &[ConnId], message: impl Into<Message>) -> Result<(), Error> {
        let prepared = PreparedMessage::from(&message.into());
        self.shared
            .send_many(ids, &Arc::new(prepared), None)
            .map(drop)
    }

    /// Sends a message to every open connection of every event loop. The frame is encoded
    /// once for all of them (see [`PreparedMessage`]).
    pub fn broadcast(&self, message: impl Into<Message>) -> Result<(), Error> {
        let prepared = PreparedMessage::from(&message.into());
        self.shared.broadcast(&Arc::new(prepared), None)
    }

    /// Subscribes a connection to a topic, on the connection's event loop: see
    /// [`Ctx::subscribe`](crate::Ctx::subscribe). A failure (the connection is gone, or at
    /// its subscription limit) is not reported back; a publish made after this call returns
    /// reaches the connection if the subscription took.
    pub fn subscribe(&self, id: ConnId, topic: &str) -> Result<(), Error> {
        self.shared.subscribe(id, topic.into())
    }

    /// Unsubscribes a connection from a topic, on the connection's event loop.
    pub fn unsubscribe(&self, id: ConnId, topic: &str) -> Result<(), Error> {
        self.shared
            .remote(id)?
            .push(Command::Unsubscribe(id, topic.into()))
    }

    /// Publishes a message to every subscriber of a topic, on every event loop, with the
    /// frame encoded once for all of them (see [`Ctx::publish`](crate::Ctx::publish)).
    /// Returns the number of event loops it was handed to: 0 when nobody subscribes.
    ///
    /// From one thread, publishes reach each subscriber in the order they were made.
    pub fn publish(&self, topic: &str, message: impl Into<Message>) -> Result<usize, Error> {
        let prepared = Arc::new(PreparedMessage::from(&message.into()));
        self.publish_prepared(topic, &prepared)
    }

    /// Publishes a message framed beforehand, as [`Handle::publish`] does.
    pub fn publish_prepared(
        &self,
        topic: &str,
        message: &Arc<PreparedMessage>,
    ) -> Result<usize, Error> {
        self.shared.publish(topic, message, None)
    }

    /// Topic changes, for a bridge to a message broker: the returned receiver first holds a
    /// [`TopicEvent::Active`] for every topic with subscribers now, then one event each time
    /// a topic gains its first subscriber in this server or loses its last one (on any
    /// event loop). Events are sent from the event loops without waiting: read them on a
    /// thread of your own (the queue grows with the number of changes not read yet). Drop
    /// the receiver to stop watching.
    ///
    /// A bridge's loop, in short: subscribe to the broker's channel on `Active`, unsubscribe
    /// on `Inactive`, and [`publish`](Handle::publish) what the broker delivers.
    ///
    /// ```
    /// use std::time::Duration;
    /// use ws_mio::{ConnId, Ctx, Handler, Options, Server, TopicEvent};
    ///
    /// struct News;
    /// impl Handler for News {
    ///     fn open(&mut self, ctx: &mut Ctx<'_>, id: ConnId) {
    ///         ctx.subscribe(id, "news").unwrap();
    ///     }
    /// }
    ///
    /// let server = Server::bind("127.0.0.1:0", Options::default(), |_| News)?;
    /// let url = format!("ws://{}/", server.local_addr().unwrap());
    /// let handle = server.handle();
    /// let events = handle.topic_events();
    /// let running = server.spawn()?;
    ///
    /// let (mut reader, _) = ws_std::connect(&url).unwrap();
    /// let wait = Duration::from_secs(10);
    /// assert_eq!(events.recv_timeout(wait).unwrap(), TopicEvent::Active("news".into()));
    /// // What the broker delivers for the topic:
    /// handle.publish("news", "from the broker").unwrap();
    /// assert_eq!(reader.read().unwrap(), ws_std::Message::Text("from the broker".into()));
    ///
    /// drop(reader); // its last subscriber gone, the topic is inactive
    /// assert_eq!(events.recv_timeout(wait).unwrap(), TopicEvent::Inactive("news".into()));
    /// running.stop()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn topic_events(&self) -> Receiver<TopicEvent> {
        self.shared.topics().watch()
    }

    /// The topics with at least one subscriber in this server.
    pub fn topics(&self) -> Vec<Arc<str>> {
        self.shared.topics().active()
    }

    /// Starts the closing handshake of one connection.
    pub fn close(&self, id: ConnId, code: CloseCode, reason: &str) -> Result<(), Error> {
        self.shared
            .remote(id)?
            .push(Command::Close(id, code, reason.into()))
    }

    /// Drops one connection at once, without a closing handshake, as a lost network would:
    /// see [`Ctx::abort`](crate::Ctx::abort).
    pub fn abort(&self, id: ConnId) -> Result<(), Error> {
        self.shared.remote(id)?.push(Command::Abort(id))
    }

    /// Stops the server: every loop stops accepting, closes its connections with 1001 (going
    /// away, reason `server shutting down`), and returns from
    /// [`Server::run`](crate::Server::run) once they are closed (each bounded by the close
    /// timeout). Calling it again does nothing more.
    pub fn shutdown(&self) {
        self.push_shutdown("server shutting down", None);
    }

    /// Stops the server gracefully within `within`: every loop stops accepting, drops the
    /// connections still in their opening handshake, sends every open connection a Close
    /// frame with 1001 (going away) and `reason` (cut to the 123 bytes a Close frame holds),
    /// and waits for the closing handshakes; once `within` has passed, the connections still
    /// open are dropped (the handler hears [`close`](crate::Handler::close) with 1006) and
    /// [`Server::run`](crate::Server::run) returns. Calling it (or
    /// [`shutdown`](Self::shutdown)) again does nothing more.
    ///
    /// ```
    /// use std::time::Duration;
    /// use ws_mio::{Handler, Options, Server};
    ///
    /// struct App;
    /// impl Handler for App {}
    ///
    /// let running = Server::bind("127.0.0.1:0", Options::default(), |_| App)?.spawn()?;
    /// running.handle().shutdown_gracefully("restarting, back in a minute", Duration::from_secs(5));
    /// running.join()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn shutdown_gracefully(&self, reason: &str, within: Duration) {
        let mut end = reason.len().min(123);
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        let deadline = std::time::Instant::now().checked_add(within);
        self.push_shutdown(&reason[..end], deadline);
    }

    fn push_shutdown(&self, reason: &str, deadline: Option<std::time::Instant>) {
        let shutdown = Shutdown {
            reason: reason.into(),
            deadline,
        };
        for remote in &self.shared.workers {
            let _ = remote.push(Command::Shutdown(shutdown.clone()));
        }
    }
}
