//! Scale a [ws-mio](ws_mio) server out across processes through Redis pub/sub.
//!
//! Each process holds its own connections; a [`Bridge`] makes a publish to a topic reach the
//! topic's subscribers in every process:
//!
//! * It subscribes to one Redis channel per topic that has subscribers in this process
//!   (`PREFIX` + topic), never one per connection, following
//!   [`Handle::topic_events`](ws_mio::Handle::topic_events): subscribe when a topic gains its
//!   first subscriber, unsubscribe when it loses its last.
//! * A local publish is delivered to the local subscribers by ws-mio as usual, and handed to
//!   the bridge ([`Publisher::publish`]), which publishes it to Redis from a thread of its
//!   own: no event loop ever waits on Redis.
//! * What Redis delivers is published to the local subscribers through the server's
//!   [`Handle`] from one thread, so in the order Redis delivered it, once.
//! * A process does not deliver its own publish twice: each Redis message carries the id of
//!   the process that published it (16 random bytes drawn when its bridge is made), and a
//!   process skips the messages that carry its own id.
//!
//! Publishing locally first (rather than only to Redis, and locally on receipt) keeps a
//! process's own rooms working while Redis is down, and costs its own subscribers no round
//! trip; the price is that subscribers in different processes may see two publishes made at
//! the same moment on two processes in different orders (each process's own publishes first).
//!
//! # Redis down
//!
//! The process keeps serving its local subscribers. The bridge logs the outage once (through
//! [`Options::log`]), reconnects with exponential backoff (from [`Options::backoff_min`] to
//! [`Options::backoff_max`], jittered), resubscribes to every topic active at that time, and
//! logs the recovery. Messages published on any process during the outage are not carried
//! across (at most once): see `docs/scaling.md`.
//!
//! # Sharded pub/sub
//!
//! With [`Options::sharded`], the bridge uses Redis 7's `SSUBSCRIBE` / `SPUBLISH`, whose
//! channels a Redis Cluster assigns to shards by hash slot instead of broadcasting every
//! message to every node. This crate connects to one node (the URL's): with a cluster, point
//! each process at a node of the shard that owns its channels, or front the cluster with a
//! proxy. On a single Redis the two modes behave the same.
//!
//! # Example
//!
//! ```no_run
//! use ws_mio::{ConnId, Ctx, Handler, Message, Options, Server};
//! use ws_redis::{Bridge, Publisher};
//!
//! struct News(Publisher);
//! impl Handler for News {
//!     fn open(&mut self, ctx: &mut Ctx<'_>, id: ConnId) {
//!         let _ = ctx.subscribe(id, "news");
//!     }
//!     fn message(&mut self, ctx: &mut Ctx<'_>, _: ConnId, message: Message) {
//!         ctx.publish("news", &message); // this process's subscribers
//!         let _ = self.0.publish("news", &message); // everyone else's, through Redis
//!     }
//! }
//!
//! let bridge = Bridge::new(ws_redis::Options::new("redis://127.0.0.1:6379/"))?;
//! let publisher = bridge.publisher();
//! let server = Server::bind("127.0.0.1:8080", Options::default(), move |_| {
//!     News(publisher.clone())
//! })?;
//! let running = bridge.start(server.handle());
//! server.run()?;
//! running.stop();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::HashSet;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use redis::{Connection, PushKind, Value};
use ws_mio::{Handle, Message, TopicEvent};

mod backoff;
mod wire;

use backoff::Backoff;
use wire::Origin;

/// How a [`Bridge`] reaches Redis.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Options {
    /// `redis://HOST:PORT/` (with `redis://USER:PASSWORD@HOST:PORT/DB` as the `redis` crate
    /// reads it). The bridge speaks RESP3 (Redis 6 and later).
    pub url: String,
    /// Put before each topic to name its Redis channel, so that several applications can
    /// share one Redis. Default `ws:`.
    pub channel_prefix: String,
    /// Redis 7 sharded pub/sub (`SSUBSCRIBE` / `SPUBLISH`) instead of `SUBSCRIBE` /
    /// `PUBLISH`. Default off.
    pub sharded: bool,
    /// The first reconnection delay after Redis is lost. Default 100 ms.
    pub backoff_min: Duration,
    /// The longest reconnection delay. Default 5 s.
    pub backoff_max: Duration,
    /// How long to wait for a connection to Redis, and for a write to it. Default 2 s.
    pub connect_timeout: Duration,
    /// The most messages waiting to be published to Redis; past it, [`Publisher::publish`]
    /// refuses ([`Error::QueueFull`]). Default 65,536.
    pub queue: usize,
    /// How often the subscribing thread looks for topic changes while no message arrives
    /// from Redis: a topic's channel is subscribed to at most this long after the topic
    /// became active. Default 10 ms.
    pub poll: Duration,
    /// Where the bridge reports outages and recoveries. Default: standard error, prefixed
    /// with `ws-redis: `.
    pub log: fn(&str),
}

impl Options {
    /// The defaults, for the Redis at `url`.
    pub fn new(url: &str) -> Options {
        Options {
            url: url.into(),
            channel_prefix: "ws:".into(),
            sharded: false,
            backoff_min: Duration::from_millis(100),
            backoff_max: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(2),
            queue: 1 << 16,
            poll: Duration::from_millis(10),
            log: log_stderr,
        }
    }
}

fn log_stderr(line: &str) {
    eprintln!("ws-redis: {line}");
}

/// What went wrong.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The URL is not one the `redis` crate accepts.
    Url(redis::RedisError),
    /// The operating system's random generator failed, so the process has no id.
    Random(String),
    /// Too many messages are waiting for Redis (it is slow or down): this one is dropped.
    QueueFull,
    /// The bridge has stopped.
    Stopped,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Url(e) => write!(f, "invalid Redis URL: {e}"),
            Error::Random(e) => write!(f, "no random process id: {e}"),
            Error::QueueFull => f.write_str("the queue of messages for Redis is full"),
            Error::Stopped => f.write_str("the Redis bridge has stopped"),
        }
    }
}

impl std::error::Error for Error {}

/// A message for the publishing thread.
enum Job {
    Publish(Arc<[u8]>, Vec<u8>),
    Stop,
}

/// A bridge not started yet: make [`Publisher`]s for the handlers, then
/// [`start`](Bridge::start) it with the server's handle.
#[derive(Debug)]
pub struct Bridge {
    shared: Arc<Shared>,
    publisher: Publisher,
    jobs: Receiver<Job>,
}

/// What the threads and the publishers share.
struct Shared {
    options: Options,
    client: redis::Client,
    origin: Origin,
    stop: AtomicBool,
    /// Whether the subscribing connection is up with every active topic's subscription
    /// confirmed.
    subscribed: AtomicBool,
    /// Whether the publishing connection is up (as far as its last publish told).
    publishing: AtomicBool,
    /// Messages not published to Redis: refused by a full queue or lost in an outage.
    dropped: AtomicU64,
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Shared {
    fn channel(&self, topic: &str) -> Vec<u8> {
        let mut name = self.options.channel_prefix.as_bytes().to_vec();
        name.extend_from_slice(topic.as_bytes());
        name
    }

    fn log(&self, line: &str) {
        (self.options.log)(line);
    }

    fn connect(&self) -> redis::RedisResult<Connection> {
        let timeout = self.options.connect_timeout;
        let connection = self.client.get_connection_with_timeout(timeout)?;
        connection.set_write_timeout(Some(timeout))?;
        Ok(connection)
    }

    /// Sleeps `delay` unless the bridge stops first; `false` if it stopped.
    fn pause(&self, delay: Duration) -> bool {
        let end = Instant::now() + delay;
        while !self.stop.load(Ordering::Acquire) {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return true;
            }
            thread::sleep(left.min(Duration::from_millis(20)));
        }
        false
    }
}

impl Bridge {
    /// A bridge to the Redis of `options.url`. Fails only on an invalid URL: Redis is
    /// reached once the bridge is started, and reached again whenever it is lost.
    pub fn new(options: Options) -> Result<Bridge, Error> {
        let url = resp3_url(&options.url);
        let client = redis::Client::open(url.as_str()).map_err(Error::Url)?;
        let mut origin = [0u8; 16];
        getrandom::fill(&mut origin).map_err(|e| Error::Random(e.to_string()))?;
        let (tx, jobs) = mpsc::sync_channel(options.queue.max(1));
        let shared = Arc::new(Shared {
            options,
            client,
            origin,
            stop: AtomicBool::new(false),
            subscribed: AtomicBool::new(false),
            publishing: AtomicBool::new(false),
            dropped: AtomicU64::new(0),
        });
        let publisher = Publisher {
            shared: Arc::clone(&shared),
            tx,
        };
        Ok(Bridge {
            shared,
            publisher,
            jobs,
        })
    }

    /// A publisher for the handlers (cheap to clone).
    pub fn publisher(&self) -> Publisher {
        self.publisher.clone()
    }

    /// Starts the subscribing and the publishing threads for the server of `handle`.
    pub fn start(self, handle: Handle) -> Running {
        let Bridge {
            shared,
            publisher,
            jobs,
        } = self;
        let events = handle.topic_events();
        let subscriber = {
            let shared = Arc::clone(&shared);
            thread::Builder::new()
                .name("ws-redis-subscribe".into())
                .spawn(move || subscribe_loop(&shared, &handle, &events))
        };
        let publishing = {
            let shared = Arc::clone(&shared);
            thread::Builder::new()
                .name("ws-redis-publish".into())
                .spawn(move || publish_loop(&shared, &jobs))
        };
        let mut threads = Vec::new();
        for spawned in [subscriber, publishing] {
            match spawned {
                Ok(thread) => threads.push(thread),
                Err(e) => shared.log(&format!("cannot start a bridge thread: {e}")),
            }
        }
        Running {
            shared,
            publisher,
            threads,
        }
    }
}

/// A started bridge.
#[derive(Debug)]
pub struct Running {
    shared: Arc<Shared>,
    publisher: Publisher,
    threads: Vec<JoinHandle<()>>,
}

impl Running {
    /// A publisher, as [`Bridge::publisher`].
    pub fn publisher(&self) -> Publisher {
        self.publisher.clone()
    }

    /// How many messages were not published to Redis: refused by a full queue, or lost
    /// while Redis was unreachable.
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    /// Whether the bridge is connected to Redis: its subscribing connection is up with every
    /// active topic's subscription confirmed, and its publishing connection is up (as far
    /// as its last publish told: a connection that broke since is replaced, and its batch
    /// sent again, at the next publish).
    pub fn connected(&self) -> bool {
        self.shared.subscribed.load(Ordering::Acquire)
            && self.shared.publishing.load(Ordering::Acquire)
    }

    /// Stops both threads and waits for them (each notices within [`Options::poll`], or
    /// once its current Redis call returns).
    pub fn stop(self) {
        self.shared.stop.store(true, Ordering::Release);
        // Wakes the publishing thread; if the queue is full it sees the flag after its batch.
        let _ = self.publisher.tx.try_send(Job::Stop);
        for thread in self.threads {
            let _ = thread.join();
        }
    }
}

/// Hands publishes to the bridge, from any thread (a handler on an event loop included):
/// never waits.
#[derive(Clone)]
pub struct Publisher {
    shared: Arc<Shared>,
    tx: SyncSender<Job>,
}

impl fmt::Debug for Publisher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Publisher").finish_non_exhaustive()
    }
}

impl Publisher {
    /// Queues `message` for the other processes' subscribers of `topic`. Deliver it to this
    /// process's own subscribers yourself ([`Ctx::publish`](ws_mio::Ctx::publish) or
    /// [`Handle::publish`]): the bridge skips it when Redis sends it back.
    pub fn publish(&self, topic: &str, message: &Message) -> Result<(), Error> {
        let job = Job::Publish(
            self.shared.channel(topic).into(),
            wire::encode(&self.shared.origin, message),
        );
        match self.tx.try_send(job) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_)) => {
                self.shared.dropped.fetch_add(1, Ordering::Relaxed);
                Err(Error::QueueFull)
            }
            Err(TrySendError::Disconnected(_)) => Err(Error::Stopped),
        }
    }
}

/// The URL with `protocol=resp3` unless it names a protocol: push messages let one
/// connection take subscription changes and messages in any order.
fn resp3_url(url: &str) -> String {
    if url.contains("protocol=") {
        return url.into();
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    let base = if url.contains('?') || url.ends_with('/') || url.matches('/').count() > 2 {
        url.to_string()
    } else {
        format!("{url}/")
    };
    format!("{base}{separator}protocol=resp3")
}

/// The publishing thread's connection to Redis.
struct PublishConnection<'a> {
    shared: &'a Shared,
    connection: Option<Connection>,
    backoff: Backoff,
    /// Since when Redis is unreachable, and when to try again.
    down: Option<Instant>,
    retry_at: Instant,
}

impl PublishConnection<'_> {
    /// Connects unless connected or waiting for the next attempt.
    fn ensure(&mut self) {
        if self.connection.is_some() || Instant::now() < self.retry_at {
            return;
        }
        match self.shared.connect() {
            Ok(c) => {
                if self.down.take().is_some() {
                    self.shared.log("publishing to Redis again");
                }
                self.shared.publishing.store(true, Ordering::Release);
                self.backoff.reset();
                self.connection = Some(c);
            }
            Err(e) => {
                if self.down.is_none() {
                    self.shared.log(&format!(
                        "cannot publish to Redis ({e}); messages for other processes are \
                         dropped until it is back"
                    ));
                    self.down = Some(Instant::now());
                }
                self.retry_at = Instant::now() + self.backoff.next_delay();
            }
        }
    }

    /// Sends a batch; `false` if it was lost. A connection found broken is replaced at once
    /// and the batch sent again: Redis may have come back since the last publish.
    fn send(&mut self, pipe: &redis::Pipeline) -> bool {
        for _ in 0..2 {
            self.ensure();
            let Some(c) = self.connection.as_mut() else {
                return false;
            };
            match pipe.exec(c) {
                Ok(()) => return true,
                Err(e) => {
                    self.shared
                        .log(&format!("lost the publishing connection to Redis: {e}"));
                    self.shared.publishing.store(false, Ordering::Release);
                    self.connection = None;
                }
            }
        }
        false
    }
}

/// The publishing thread: takes the queued messages in batches (one pipeline each), drops
/// them while Redis is unreachable, and reconnects on its own meanwhile.
fn publish_loop(shared: &Shared, jobs: &Receiver<Job>) {
    let mut redis = PublishConnection {
        shared,
        connection: None,
        backoff: Backoff::new(shared.options.backoff_min, shared.options.backoff_max),
        down: None,
        retry_at: Instant::now(),
    };
    redis.ensure();
    let publish = if shared.options.sharded {
        "SPUBLISH"
    } else {
        "PUBLISH"
    };
    loop {
        let first = if redis.connection.is_some() {
            jobs.recv().map_err(|_| RecvTimeoutError::Disconnected)
        } else {
            jobs.recv_timeout(redis.retry_at.saturating_duration_since(Instant::now()))
        };
        let job = match first {
            Ok(job) => job,
            Err(RecvTimeoutError::Timeout) => {
                redis.ensure();
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => return,
        };
        let mut pipe = redis::pipe();
        let mut count = 0u64;
        let mut next = Some(job);
        while let Some(job) = next.take() {
            let Job::Publish(channel, payload) = job else {
                return;
            };
            pipe.cmd(publish).arg(&*channel).arg(payload).ignore();
            count += 1;
            if count < 1024 {
                next = jobs.try_recv().ok();
            }
        }
        if shared.stop.load(Ordering::Acquire) {
            return;
        }
        if !redis.send(&pipe) {
            shared.dropped.fetch_add(count, Ordering::Relaxed);
        }
    }
}

/// The subscribing thread: follows the server's topics, and delivers what Redis sends.
fn subscribe_loop(shared: &Shared, handle: &Handle, events: &Receiver<TopicEvent>) {
    let mut active: HashSet<Arc<str>> = HashSet::new();
    let mut backoff = Backoff::new(shared.options.backoff_min, shared.options.backoff_max);
    let mut down = false;
    while !shared.stop.load(Ordering::Acquire) {
        // Topic changes during an outage only change what is subscribed to on reconnection.
        drain(events, &mut active);
        let connected = shared.connect().and_then(|c| {
            c.set_read_timeout(Some(shared.options.poll))?;
            Ok(c)
        });
        let connection = match connected {
            Ok(c) => c,
            Err(e) => {
                if !down {
                    shared.log(&format!(
                        "cannot subscribe to Redis ({e}); local subscribers are still served, \
                         reconnecting"
                    ));
                }
                down = true;
                if !shared.pause(backoff.next_delay()) {
                    return;
                }
                continue;
            }
        };
        backoff.reset();
        let mut subscriber = Subscriber {
            shared,
            handle,
            connection,
            unconfirmed: 0,
            announce: Some(if down { " again" } else { "" }),
        };
        down = false;
        if let Some(e) = subscriber.serve(events, &mut active) {
            shared.subscribed.store(false, Ordering::Release);
            shared.log(&format!(
                "lost the subscribing connection to Redis ({e}); messages published meanwhile \
                 are not delivered here"
            ));
            down = true;
        }
    }
}

/// The subscribing connection.
struct Subscriber<'a> {
    shared: &'a Shared,
    handle: &'a Handle,
    connection: Connection,
    /// Channels subscribed to and not confirmed by Redis yet.
    unconfirmed: usize,
    /// What to log once the subscriptions made on connecting are confirmed.
    announce: Option<&'static str>,
}

impl Subscriber<'_> {
    /// Subscribes to the active topics, then takes topic changes and delivers messages until
    /// the connection fails (the error) or the bridge stops (`None`).
    fn serve(
        &mut self,
        events: &Receiver<TopicEvent>,
        active: &mut HashSet<Arc<str>>,
    ) -> Option<redis::RedisError> {
        let (subscribe, unsubscribe) = if self.shared.options.sharded {
            ("SSUBSCRIBE", "SUNSUBSCRIBE")
        } else {
            ("SUBSCRIBE", "UNSUBSCRIBE")
        };
        let all: Vec<Arc<str>> = active.iter().cloned().collect();
        if let Err(e) = self.command(subscribe, &all) {
            return Some(e);
        }
        while !self.shared.stop.load(Ordering::Acquire) {
            for (topic, on) in changes(events, active) {
                let sent = self.command(if on { subscribe } else { unsubscribe }, &[topic]);
                if let Err(e) = sent {
                    return Some(e);
                }
            }
            self.confirmed(0);
            match self.connection.recv_response() {
                Ok(Value::Push { kind, data }) => {
                    if !self.push(&kind, data) {
                        // The server has stopped: nothing more to deliver.
                        return None;
                    }
                }
                Ok(_) => {}
                Err(e) if e.is_timeout() => {}
                Err(e) if !e.is_io_error() => {
                    // An error reply, such as SSUBSCRIBE refused by a Redis before 7.
                    self.shared
                        .log(&format!("Redis refused a subscription: {e}"));
                }
                Err(e) => return Some(e),
            }
        }
        None
    }

    /// Sends `command` for the channels of `topics` (nothing if there are none).
    fn command(&mut self, command: &str, topics: &[Arc<str>]) -> redis::RedisResult<()> {
        if topics.is_empty() {
            return Ok(());
        }
        let mut cmd = redis::cmd(command);
        for topic in topics {
            cmd.arg(self.shared.channel(topic));
        }
        self.connection
            .send_packed_command(&cmd.get_packed_command())?;
        if !command.ends_with("UNSUBSCRIBE") {
            self.unconfirmed += topics.len();
            self.shared.subscribed.store(false, Ordering::Release);
        }
        Ok(())
    }

    /// `n` subscriptions were confirmed.
    fn confirmed(&mut self, n: usize) {
        self.unconfirmed = self.unconfirmed.saturating_sub(n);
        if self.unconfirmed > 0 {
            return;
        }
        if let Some(again) = self.announce.take() {
            self.shared.log(&format!("subscribed to Redis{again}"));
        }
        self.shared.subscribed.store(true, Ordering::Release);
    }

    /// Handles a push from Redis; `false` once the server has stopped.
    fn push(&mut self, kind: &PushKind, data: Vec<Value>) -> bool {
        match kind {
            PushKind::Subscribe | PushKind::SSubscribe => {
                self.confirmed(1);
                true
            }
            PushKind::Message | PushKind::SMessage => self.deliver(data),
            _ => true,
        }
    }

    /// Publishes a message from Redis to this process's subscribers, unless it is not one
    /// of the bridge's or it is this process's own; `false` once the server has stopped.
    fn deliver(&self, data: Vec<Value>) -> bool {
        let mut data = data.into_iter();
        let (Some(Value::BulkString(channel)), Some(Value::BulkString(payload))) =
            (data.next(), data.next())
        else {
            return true;
        };
        let prefix = self.shared.options.channel_prefix.as_bytes();
        let Some(topic) = channel
            .strip_prefix(prefix)
            .and_then(|t| std::str::from_utf8(t).ok())
        else {
            return true;
        };
        match wire::decode(payload) {
            Some((origin, message)) if origin != self.shared.origin => {
                self.handle.publish(topic, message).is_ok()
            }
            _ => true,
        }
    }
}

/// Applies the pending topic events to `active`.
fn drain(events: &Receiver<TopicEvent>, active: &mut HashSet<Arc<str>>) {
    let _ = changes(events, active);
}

/// Applies the pending topic events to `active`; the topics that changed, and whether each
/// became active.
fn changes(events: &Receiver<TopicEvent>, active: &mut HashSet<Arc<str>>) -> Vec<(Arc<str>, bool)> {
    let mut out = Vec::new();
    while let Ok(event) = events.try_recv() {
        match event {
            TopicEvent::Active(topic) if active.insert(Arc::clone(&topic)) => {
                out.push((topic, true));
            }
            TopicEvent::Inactive(topic) if active.remove(&topic) => out.push((topic, false)),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_asks_for_resp3_unless_it_names_a_protocol() {
        assert_eq!(
            resp3_url("redis://127.0.0.1:6379"),
            "redis://127.0.0.1:6379/?protocol=resp3"
        );
        assert_eq!(
            resp3_url("redis://127.0.0.1:6379/"),
            "redis://127.0.0.1:6379/?protocol=resp3"
        );
        assert_eq!(
            resp3_url("redis://h:1/2?x=y"),
            "redis://h:1/2?x=y&protocol=resp3"
        );
        assert_eq!(
            resp3_url("redis://h:1/?protocol=2"),
            "redis://h:1/?protocol=2"
        );
    }

    #[test]
    fn topic_events_become_subscription_changes_once() {
        let (tx, rx) = mpsc::channel();
        let mut active = HashSet::new();
        for event in [
            TopicEvent::Active("a".into()),
            TopicEvent::Active("a".into()),
            TopicEvent::Active("b".into()),
            TopicEvent::Inactive("a".into()),
            TopicEvent::Inactive("c".into()),
        ] {
            tx.send(event).unwrap();
        }
        assert_eq!(
            changes(&rx, &mut active),
            [("a".into(), true), ("b".into(), true), ("a".into(), false)]
        );
        assert_eq!(active, HashSet::from(["b".into()]));
        assert!(changes(&rx, &mut active).is_empty());
    }

    #[test]
    fn a_full_queue_refuses_and_counts_without_waiting() {
        let mut options = Options::new("redis://127.0.0.1:1/");
        options.queue = 2;
        let bridge = Bridge::new(options).unwrap();
        let publisher = bridge.publisher();
        let message = Message::Text("hi".into());
        assert!(publisher.publish("t", &message).is_ok());
        assert!(publisher.publish("t", &message).is_ok());
        assert!(matches!(
            publisher.publish("t", &message),
            Err(Error::QueueFull)
        ));
        assert_eq!(bridge.shared.dropped.load(Ordering::Relaxed), 1);
        drop(bridge);
        assert!(matches!(
            publisher.publish("t", &message),
            Err(Error::Stopped)
        ));
    }

    #[test]
    fn an_invalid_url_is_refused_at_once() {
        assert!(matches!(
            Bridge::new(Options::new("http://nowhere/")),
            Err(Error::Url(_))
        ));
        let bridge = Bridge::new(Options::new("redis://127.0.0.1:1/")).unwrap();
        let channel = bridge.shared.channel("room:a");
        assert_eq!(channel, b"ws:room:a");
    }
}
