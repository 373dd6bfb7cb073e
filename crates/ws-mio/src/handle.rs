//! Reaching the event loops from other threads: a command queue per loop and a mio `Waker`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::time::Duration;

use mio::Waker;
use ws_proto::{CloseCode, Message};

use crate::{ConnId, Error};

/// What another thread (or another event loop) asks an event loop to do.
pub(crate) enum Command {
    Send(ConnId, Message),
    SendMany(Vec<ConnId>, Arc<Message>),
    Broadcast(Arc<Message>),
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
}

impl Shared {
    pub(crate) fn send(&self, id: ConnId, message: Message) -> Result<(), Error> {
        self.remote(id)?.push(Command::Send(id, message))
    }

    /// Sends to each id through its loop; `skip` is a loop that handles its own ids.
    pub(crate) fn send_many(
        &self,
        ids: &[ConnId],
        message: &Arc<Message>,
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
        message: &Arc<Message>,
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

    /// Sends a message to each of a set of connections; the message is shared, not copied,
    /// until it is framed for each connection.
    pub fn send_to(&self, ids: &[ConnId], message: impl Into<Message>) -> Result<(), Error> {
        self.shared
            .send_many(ids, &Arc::new(message.into()), None)
            .map(drop)
    }

    /// Sends a message to every open connection of every event loop.
    pub fn broadcast(&self, message: impl Into<Message>) -> Result<(), Error> {
        self.shared.broadcast(&Arc::new(message.into()), None)
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
