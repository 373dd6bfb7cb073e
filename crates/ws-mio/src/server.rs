//! Starting event loops: listening sockets (one per loop with `SO_REUSEPORT`), threads,
//! and joining them.

use std::collections::VecDeque;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::atomic::AtomicUsize;
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};

use mio::net::TcpListener;
use mio::{Poll, Waker};
use socket2::{Domain, Protocol, Socket, Type};

use ws_proto::policy::ConnectionsPerIp;
use ws_proto::BufferPool;

use crate::context::{LoopState, POOL_BUFFERS, POOL_BYTES, WAKER};
use crate::handle::{Command, Remote, Shared};
use crate::timer::TimerHeap;
use crate::worker::Worker;
use crate::{Handle, Handler, Options};

/// The thread of an event loop.
type Thread = JoinHandle<io::Result<()>>;

/// What one event loop starts with.
struct Parts {
    poll: Poll,
    rx: Receiver<Command>,
    listener: Option<TcpListener>,
}

/// A set of event loops, one thread each, that accept WebSocket connections, open outgoing
/// ones, and run a [`Handler`] for them.
///
/// `factory` makes the handler of each loop, given the loop's index: with one thread (the
/// default) it is called once. Handlers of different loops share state only through what the
/// factory gives them (an `Arc`, a channel), and reach each other's connections through
/// [`Ctx`](crate::Ctx) and [`Handle`], which route every id to its loop.
///
/// An echo server:
///
/// ```
/// use ws_mio::{ConnId, Ctx, Handler, Message, Options, Server};
///
/// struct Echo;
///
/// impl Handler for Echo {
///     fn message(&mut self, ctx: &mut Ctx<'_>, id: ConnId, message: Message) {
///         let _ = ctx.send(id, &message);
///     }
/// }
///
/// let server = Server::bind("127.0.0.1:0", Options::default(), |_| Echo)?;
/// let url = format!("ws://{}/", server.local_addr().unwrap());
/// let running = server.spawn()?; // or `server.run()` on this thread
///
/// let (mut ws, _) = ws_std::connect(&url).unwrap();
/// ws.send_text("hello").unwrap();
/// assert_eq!(ws.read().unwrap(), ws_std::Message::Text("hello".into()));
///
/// running.stop()?; // closes the connections with 1001 and joins the threads
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Server<F> {
    options: Arc<Options>,
    parts: Vec<Parts>,
    shared: Arc<Shared>,
    local_addr: Option<SocketAddr>,
    epoch: std::time::Instant,
    factory: F,
}

impl<F> std::fmt::Debug for Server<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("local_addr", &self.local_addr)
            .field("threads", &self.parts.len())
            .finish_non_exhaustive()
    }
}

impl<F, H> Server<F>
where
    F: Fn(usize) -> H + Send + Sync + 'static,
    H: Handler,
{
    /// Listens on `addr` (the first address it resolves to; port 0 picks a free port) with
    /// [`Options::threads`] event loops.
    pub fn bind(addr: impl ToSocketAddrs, options: Options, factory: F) -> io::Result<Self> {
        let addr = addr
            .to_socket_addrs()?
            .next()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address to bind"))?;
        let threads = thread_count(&options)?;
        let reuse_port = threads > 1;
        let first = listen(addr, reuse_port, options.backlog)?;
        // Port 0: the other loops bind the port the first one got.
        let local = first.local_addr()?;
        let mut listeners = vec![first];
        for _ in 1..threads {
            listeners.push(listen(local, reuse_port, options.backlog)?);
        }
        let mut server = Server::build(options, factory, threads)?;
        for (parts, listener) in server.parts.iter_mut().zip(listeners) {
            parts.listener = Some(listener);
        }
        server.local_addr = Some(local);
        Ok(server)
    }

    /// Event loops without a listener, for outgoing connections only (opened with
    /// [`Ctx::connect`](crate::Ctx::connect), typically from [`Handler::start`]).
    pub fn new(options: Options, factory: F) -> io::Result<Self> {
        let threads = thread_count(&options)?;
        Server::build(options, factory, threads)
    }

    fn build(options: Options, factory: F, threads: usize) -> io::Result<Self> {
        let mut parts = Vec::with_capacity(threads);
        let mut remotes = Vec::with_capacity(threads);
        for _ in 0..threads {
            let poll = Poll::new()?;
            let waker = Waker::new(poll.registry(), WAKER)?;
            let (tx, rx) = mpsc::channel();
            remotes.push(Remote::new(tx, waker));
            parts.push(Parts {
                poll,
                rx,
                listener: None,
            });
        }
        Ok(Server {
            options: Arc::new(options),
            parts,
            shared: Arc::new(Shared::new(remotes)),
            local_addr: None,
            epoch: std::time::Instant::now(),
            factory,
        })
    }

    /// Runs the event loops: loop 0 on this thread, the others on new threads. Returns once
    /// the server is shut down ([`Handle::shutdown`]) and every loop has finished, or with
    /// the first error of a loop.
    pub fn run(self) -> io::Result<()> {
        let handle = self.handle();
        let (mut workers, threads) = self.start(1)?;
        let result = workers.pop_front().map_or(Ok(()), Worker::run);
        if result.is_err() {
            // Loop 0 failed: stop the others rather than wait for them forever.
            handle.shutdown();
        }
        let joined = join_all(threads);
        result.and(joined)
    }

    /// Runs every event loop on a new thread and returns at once.
    pub fn spawn(self) -> io::Result<Running> {
        let handle = self.handle();
        let (_, threads) = self.start(0)?;
        Ok(Running { handle, threads })
    }

    /// Builds the workers; spawns threads for all but the first `keep`, which are returned.
    fn start(self, keep: usize) -> io::Result<(VecDeque<Worker<H>>, Vec<Thread>)> {
        let factory = Arc::new(self.factory);
        let mut kept = VecDeque::new();
        let mut threads = Vec::new();
        // One count of accepted connections for all the loops (`Options::max_connections`).
        let accepted = Arc::new(AtomicUsize::new(0));
        // And one count per peer address (`Options::max_connections_per_ip`).
        let per_ip = self
            .options
            .max_connections_per_ip
            .map(|max| Arc::new(Mutex::new(ConnectionsPerIp::new(max))));
        // One protocol configuration for every connection of every loop.
        let config = Arc::new(self.options.config.clone());
        for (index, parts) in self.parts.into_iter().enumerate() {
            let state = LoopState {
                worker: index,
                config: Arc::clone(&config),
                poll: parts.poll,
                conns: Default::default(),
                timers: TimerHeap::default(),
                app_timers: Default::default(),
                dirty: Vec::new(),
                ready: VecDeque::new(),
                shared: Arc::clone(&self.shared),
                options: Arc::clone(&self.options),
                epoch: self.epoch,
                now: ws_proto::Instant::ZERO,
                stopping: false,
                open: 0,
                accepted: Arc::clone(&accepted),
                per_ip: per_ip.clone(),
                pool: BufferPool::with_limits(POOL_BYTES, POOL_BUFFERS),
                topics: Default::default(),
                members: Vec::new(),
            };
            if index < keep {
                let worker = Worker::new(state, factory(index), parts.rx, parts.listener);
                kept.push_back(worker);
                continue;
            }
            let factory = Arc::clone(&factory);
            let (rx, listener) = (parts.rx, parts.listener);
            let thread = thread::Builder::new()
                .name(format!("ws-mio-{index}"))
                .spawn(move || Worker::new(state, factory(index), rx, listener).run())?;
            threads.push(thread);
        }
        Ok((kept, threads))
    }
}

impl<F> Server<F> {
    /// The address the server listens on (`None` without a listener).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.local_addr
    }

    /// A handle to send to connections and stop the server from other threads.
    pub fn handle(&self) -> Handle {
        Handle {
            shared: Arc::clone(&self.shared),
        }
    }
}

fn thread_count(options: &Options) -> io::Result<usize> {
    match options.threads {
        0 => Ok(1),
        n if n <= usize::from(u16::MAX) => Ok(n),
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "at most 65535 threads",
        )),
    }
}

/// A non-blocking listening socket; with `reuse_port`, several can share one address and the
/// kernel spreads connections over them.
fn listen(addr: SocketAddr, reuse_port: bool, backlog: i32) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    if reuse_port {
        #[cfg(unix)]
        socket.set_reuse_port(true)?;
        #[cfg(not(unix))]
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "several event loops need SO_REUSEPORT",
        ));
    }
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(backlog)?;
    Ok(TcpListener::from_std(socket.into()))
}

fn join_all(threads: Vec<Thread>) -> io::Result<()> {
    let mut result = Ok(());
    for thread in threads {
        let outcome = thread
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("an event loop panicked")));
        if result.is_ok() {
            result = outcome;
        }
    }
    result
}

/// Event loops running on their own threads, from [`Server::spawn`].
///
/// Dropping it shuts the server down and waits for the threads, as [`Running::stop`] does.
#[derive(Debug)]
pub struct Running {
    handle: Handle,
    threads: Vec<Thread>,
}

impl Running {
    /// A handle to the running server.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Waits until the server has shut down (through a [`Handle`]) and returns the first
    /// error of an event loop.
    pub fn join(mut self) -> io::Result<()> {
        join_all(std::mem::take(&mut self.threads))
    }

    /// Shuts the server down ([`Handle::shutdown`]) and waits for it.
    pub fn stop(self) -> io::Result<()> {
        self.handle.shutdown();
        self.join()
    }

    /// Shuts the server down gracefully within `within`
    /// ([`Handle::shutdown_gracefully`]: Close frames with 1001 and `reason`, closing
    /// handshakes awaited until then) and waits for it.
    pub fn stop_gracefully(self, reason: &str, within: std::time::Duration) -> io::Result<()> {
        self.handle.shutdown_gracefully(reason, within);
        self.join()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if !self.threads.is_empty() {
            self.handle.shutdown();
            let _ = join_all(std::mem::take(&mut self.threads));
        }
    }
}
