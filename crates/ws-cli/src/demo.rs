//! `ws serve` without `--echo`: the chat demo, on the mio backend or the std backend, over
//! plain TCP or TLS.
//!
//! `GET /` is the page (`static/chat.html`, built into the binary), `/ws?room=NAME` the
//! WebSocket endpoint of the chat rooms ([`crate::chat`]; the default room without `room`);
//! any other path is a 404. On mio, one event loop runs every connection and owns the rooms;
//! each room is a ws-mio topic (`room:NAME`) that its connections subscribe to, so a room's
//! messages are published to its subscribers, framed once for all of them. On std, each
//! connection has its thread and the rooms are shared behind a lock, keyed by name, each
//! connection taking the messages for it from its own bounded queue.
//!
//! # Several processes (`--redis`, mio only)
//!
//! With `--redis redis://HOST:PORT`, the rooms span every `ws serve` process on that Redis
//! ([`ws_redis`]): what a room publishes (chat messages, join and leave notices) also goes to
//! the room's Redis channel (`PREFIX` + `room:NAME`, the prefix `ws:` unless
//! `--channel-prefix` names another), and what Redis delivers is published to the room's
//! connections here. Presence is approximated: each process counts its own connections, so a
//! join or leave notice is sent when a name arrives at or leaves *a process* (a name present
//! on two processes is announced twice, and its leave from one is announced while it is still
//! present on the other), and the `users` of a welcome are the names present on this process.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ws_mio::{CloseCode, ConnId, Ctx, Handler, Message, Options};
use ws_proto::handshake::{Accept, HttpRequest, HttpResponse, Request};
use ws_proto::Config;
use ws_std::ws_tls::rustls::ServerConfig;
use ws_std::{ServerBuilder, Transport, WebSocket};

use crate::chat::{room_name, Out, Room};
use crate::connect::read_timed_out;
use crate::serve::{run_mio_server_with, run_std, Service};

/// The chat page: plain HTML, CSS and JavaScript in one file.
const PAGE: &str = include_str!("../static/chat.html");

/// The largest WebSocket message accepted: room for a 4 KiB text however it is escaped in
/// JSON. Larger ones fail the connection with 1009 (message too big) before they are buffered.
const MAX_MESSAGE_BYTES: usize = 64 << 10;

/// A Ping after this long without traffic, so that a browser that vanished (a laptop lid, a
/// lost network) is noticed, closed, and announced as gone.
const KEEPALIVE: Duration = Duration::from_secs(30);

/// `ws serve --redis`: the chat's rooms across processes through Redis.
#[derive(Debug, Clone, Default, clap::Args)]
pub(crate) struct RedisArgs {
    /// Share the chat's rooms with every `ws serve` on this Redis (redis://HOST:PORT),
    /// through Redis pub/sub: docs/scaling.md.
    #[arg(long = "redis", value_name = "URL")]
    pub(crate) url: Option<String>,
    /// Put NAME before each room's Redis channel (with --redis). [default: ws:]
    #[arg(long, value_name = "NAME", requires = "url")]
    pub(crate) channel_prefix: Option<String>,
    /// Use Redis 7 sharded pub/sub (SSUBSCRIBE / SPUBLISH), for Redis Cluster (with --redis).
    #[arg(long, requires = "url")]
    pub(crate) redis_sharded: bool,
}

/// Serves the chat on `addr` until Ctrl-C, with the command line's `options` (compression,
/// connection limit) and the chat's own settings; across processes with `redis`.
pub(crate) fn run(addr: &str, mut options: Options, redis: &RedisArgs) -> Result<(), String> {
    // The rooms live in the handler of the one event loop.
    options.threads = 1;
    chat_config(&mut options.config);
    let secure = options.tls.is_some();
    let banner = move |local| banner(local, secure);
    let Some(url) = &redis.url else {
        return run_mio_server_with(
            addr,
            options,
            |_| Chat::default(),
            banner,
            |_| Box::new(|| ()),
        );
    };
    let mut bridge_options = ws_redis::Options::new(url);
    if let Some(prefix) = &redis.channel_prefix {
        bridge_options.channel_prefix.clone_from(prefix);
    }
    bridge_options.sharded = redis.redis_sharded;
    let bridge = ws_redis::Bridge::new(bridge_options).map_err(|e| e.to_string())?;
    let publisher = bridge.publisher();
    let factory = move |_| Chat {
        bridge: Some(publisher.clone()),
        ..Chat::default()
    };
    run_mio_server_with(addr, options, factory, banner, |handle| {
        let running = bridge.start(handle);
        Box::new(move || running.stop())
    })
}

/// Serves the chat on `addr` on the std backend, over TLS with `tls` (the page over
/// `https://`, the socket over `wss://`), until Ctrl-C.
pub(crate) fn run_std_chat(
    addr: &str,
    mut config: Config,
    tls: Option<Arc<ServerConfig>>,
) -> Result<(), String> {
    chat_config(&mut config);
    let secure = tls.is_some();
    let builder = ServerBuilder::new()
        .config(config)
        .http(|request| route(request.method(), request.path()));
    let service = StdChat::default();
    run_std(addr, builder, tls, service, |local| banner(local, secure))
}

/// The chat's own settings, on either backend.
fn chat_config(config: &mut Config) {
    config.max_message_size = MAX_MESSAGE_BYTES;
    config.keepalive_interval = Some(KEEPALIVE);
}

/// What `ws serve` prints after its first line, `listening on ws://ADDR/`: where the page is
/// (`https://` and `wss://` when `secure`).
fn banner(local: SocketAddr, secure: bool) -> String {
    let (page, socket) = if secure {
        ("https", "wss")
    } else {
        ("http", "ws")
    };
    format!(
        "chat: open {page}://{local}/ in a browser (WebSocket endpoint {socket}://{local}/ws)\n"
    )
}

/// The handshake of the chat's endpoint, on either backend: `/ws` with a valid room (the
/// room's name is the second half of the answer), from this site's pages or from clients
/// that are not browsers.
fn decide(request: &Request) -> Result<(Accept, String), HttpResponse> {
    if request.path() != "/ws" {
        return Err(HttpResponse::new(404).with_body("the chat's WebSocket endpoint is /ws\n"));
    }
    if !same_origin(request.origin(), request.host()) {
        // A page from another site must not join the chat in its visitor's name
        // (cross-site WebSocket hijacking); clients other than browsers send no Origin.
        return Err(
            HttpResponse::new(403).with_body("cross-origin WebSocket requests are refused\n")
        );
    }
    match room_name(request.query()) {
        Ok(room) => Ok((request.accept(), room.into())),
        Err(why) => Err(HttpResponse::new(400)
            .with_header("Content-Type", "text/plain; charset=utf-8")
            .with_body(format!("{why}\n"))),
    }
}

/// The event handler: HTTP routes, the handshake of `/ws`, and the rooms.
#[derive(Default)]
struct Chat {
    /// The rooms someone has joined (a room is dropped when its last member leaves).
    rooms: HashMap<String, Room<ConnId>>,
    /// The room of each open connection.
    room_of: HashMap<ConnId, String>,
    /// The room the last accepted handshake asked for. ws-mio opens an accepted connection
    /// right after its handshake, before any other handshake is answered, so one slot
    /// holds it from `handshake` to `open`, and nothing is left behind if the connection
    /// never opens.
    pending: Option<(ConnId, String)>,
    /// With `--redis`: where a room's messages go for the other processes.
    bridge: Option<ws_redis::Publisher>,
}

/// The topic of a room's subscribers.
fn topic(room: &str) -> String {
    format!("room:{room}")
}

impl Handler for Chat {
    fn http(&mut self, _: &mut Ctx<'_>, _: ConnId, request: &HttpRequest) -> HttpResponse {
        route(request.method(), request.path())
    }

    fn handshake(
        &mut self,
        _: &mut Ctx<'_>,
        id: ConnId,
        request: &Request,
    ) -> Result<Accept, HttpResponse> {
        let (accept, room) = decide(request)?;
        self.pending = Some((id, room));
        Ok(accept)
    }

    fn open(&mut self, ctx: &mut Ctx<'_>, id: ConnId) {
        let Some((_, room)) = self.pending.take().filter(|(pending, _)| *pending == id) else {
            // Not the order of events described at `pending`: better a visible failure than
            // a connection in the wrong room.
            let _ = ctx.close(id, CloseCode::INTERNAL_ERROR, "no room for this connection");
            return;
        };
        // One topic per connection: under ws-mio's subscription limit.
        let _ = ctx.subscribe(id, &topic(&room));
        self.room_of.insert(id, room);
    }

    fn message(&mut self, ctx: &mut Ctx<'_>, id: ConnId, message: Message) {
        let Some(name) = self.room_of.get(&id) else {
            return;
        };
        let room = self
            .rooms
            .entry(name.clone())
            .or_insert_with(|| Room::new(name));
        let out = match message {
            Message::Text(text) => room.receive(id, &text, now_ms()),
            Message::Binary(_) => room.receive_binary(id),
        };
        deliver(ctx, self.bridge.as_ref(), name, out);
    }

    fn close(&mut self, ctx: &mut Ctx<'_>, id: ConnId, _: CloseCode, _: &str) {
        let Some(name) = self.room_of.remove(&id) else {
            return;
        };
        let Some(room) = self.rooms.get_mut(&name) else {
            return;
        };
        let out = room.leave(id, now_ms());
        if room.is_empty() {
            self.rooms.remove(&name);
        }
        deliver(ctx, self.bridge.as_ref(), &name, out);
    }
}

/// Sends what a room answered: to everyone in the room (its topic), or to one connection. A
/// connection that is closing or over its output limit misses the message; the others still
/// get it. With a bridge, what goes to the room goes to the other processes too; a message
/// Redis cannot take now (it is down or slow) reaches this process's connections only.
fn deliver(
    ctx: &mut Ctx<'_>,
    bridge: Option<&ws_redis::Publisher>,
    room: &str,
    out: Vec<Out<ConnId>>,
) {
    for message in out {
        match message {
            Out::All(text) => {
                let topic = topic(room);
                let message = Message::Text(text);
                ctx.publish(&topic, &message);
                if let Some(bridge) = bridge {
                    let _ = bridge.publish(&topic, &message);
                }
            }
            Out::To(id, text) => {
                let _ = ctx.send_text(id, &text);
            }
        }
    }
}

/// How long a std connection waits for input before it looks at its queue of messages from
/// the room: the most a message waits before it goes out to a connection that is idle.
const STD_POLL: Duration = Duration::from_millis(10);

/// How many room messages may wait for one std connection; past that (a reader that does not
/// keep up) it misses them, as a mio connection over its output limit does.
const STD_QUEUE: usize = 256;

/// The chat on the std backend: the rooms and their connections' queues, behind one lock.
#[derive(Clone, Default)]
struct StdChat {
    rooms: Arc<Mutex<HashMap<String, StdRoom>>>,
    next_id: Arc<AtomicU64>,
}

/// A room on the std backend and the queue of each of its open connections (a room is
/// dropped when its last connection ends).
struct StdRoom {
    room: Room<u64>,
    queues: HashMap<u64, SyncSender<String>>,
}

impl StdRoom {
    /// Queues what the room answered for the connections it is for.
    fn deliver(&self, out: Vec<Out<u64>>) {
        for message in out {
            match message {
                Out::All(text) => {
                    for queue in self.queues.values() {
                        let _ = queue.try_send(text.clone());
                    }
                }
                Out::To(id, text) => {
                    if let Some(queue) = self.queues.get(&id) {
                        let _ = queue.try_send(text);
                    }
                }
            }
        }
    }
}

impl StdChat {
    fn rooms(&self) -> MutexGuard<'_, HashMap<String, StdRoom>> {
        // A connection thread that panicked cannot leave a room half-updated (each update
        // is one call): the rooms are still good.
        self.rooms
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `f` on room `name` under the lock, and delivers what
    /// it answered.
    fn in_room(&self, name: &str, f: impl FnOnce(&mut Room<u64>) -> Vec<Out<u64>>) {
        let mut rooms = self.rooms();
        if let Some(room) = rooms.get_mut(name) {
            let out = f(&mut room.room);
            room.deliver(out);
        }
    }

    /// Puts connection `id` in room `name` (made if nobody is in it), with its `queue`.
    fn join(&self, name: &str, id: u64, queue: SyncSender<String>) {
        let mut rooms = self.rooms();
        let room = rooms.entry(name.into()).or_insert_with(|| StdRoom {
            room: Room::new(name),
            queues: HashMap::new(),
        });
        room.queues.insert(id, queue);
    }

    /// Takes connection `id` out of room `name`: the leave notice, if any, goes to the others;
    /// the room goes when its last connection does.
    fn leave(&self, name: &str, id: u64) {
        let mut rooms = self.rooms();
        let Some(room) = rooms.get_mut(name) else {
            return;
        };
        room.queues.remove(&id);
        let out = room.room.leave(id, now_ms());
        room.deliver(out);
        if room.queues.is_empty() {
            rooms.remove(name);
        }
    }

    /// Reads and answers until the connection ends.
    fn converse<S: Transport>(
        &self,
        ws: &mut WebSocket<S>,
        room: &str,
        id: u64,
        queue: &Receiver<String>,
    ) -> Result<(), ws_std::Error> {
        use ws_std::{Error, Message as StdMessage};
        ws.set_read_timeout(Some(STD_POLL));
        loop {
            match ws.read() {
                Ok(StdMessage::Text(text)) => {
                    self.in_room(room, |r| r.receive(id, &text, now_ms()));
                }
                Ok(StdMessage::Binary(_)) => self.in_room(room, |r| r.receive_binary(id)),
                Ok(StdMessage::Close(_)) | Err(Error::ConnectionClosed) => return Ok(()),
                Ok(_) => {}
                Err(e) if read_timed_out(&e) => {}
                Err(e) => return Err(e),
            }
            let mut queued = false;
            while let Ok(text) = queue.try_recv() {
                ws.write(StdMessage::Text(text))?;
                queued = true;
            }
            if queued {
                ws.flush()?;
            }
        }
    }
}

impl Service for StdChat {
    /// The room the handshake asked for.
    type Session = String;

    fn decide(&self, request: &Request) -> Result<(Accept, String), HttpResponse> {
        decide(request)
    }

    fn run<S: Transport>(self, mut ws: WebSocket<S>, room: String, peer: &str) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, queue) = mpsc::sync_channel(STD_QUEUE);
        self.join(&room, id, tx);
        if let Err(e) = self.converse(&mut ws, &room, id, &queue) {
            eprintln!("{peer}: {e}");
        }
        self.leave(&room, id);
    }
}

/// The answer to a plain HTTP request.
fn route(method: &str, path: &str) -> HttpResponse {
    match (method, path) {
        ("GET", "/") => HttpResponse::new(200)
            .with_header("Content-Type", "text/html; charset=utf-8")
            .with_header("Cache-Control", "no-cache")
            .with_header("X-Content-Type-Options", "nosniff")
            .with_header("Referrer-Policy", "no-referrer")
            // Defense in depth: the page renders every text with `textContent` already.
            .with_header(
                "Content-Security-Policy",
                "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
                 connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; \
                 frame-ancestors 'none'",
            )
            .with_body(PAGE),
        (_, "/") => HttpResponse::new(405)
            .with_header("Allow", "GET")
            .with_header("Content-Type", "text/plain; charset=utf-8")
            .with_body("only GET\n"),
        _ => HttpResponse::new(404)
            .with_header("Content-Type", "text/plain; charset=utf-8")
            .with_body("not found: the chat is at / and its WebSocket endpoint at /ws\n"),
    }
}

/// Whether a handshake's `Origin` is the server itself (`http://HOST` or `https://HOST` for
/// the request's `Host`), or absent, as from a client that is not a browser.
fn same_origin(origin: Option<&str>, host: &str) -> bool {
    let Some(origin) = origin else {
        return true;
    };
    let authority = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"));
    authority.is_some_and(|authority| authority.eq_ignore_ascii_case(host))
}

/// Milliseconds since the Unix epoch (0 if the clock is before it).
fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(response: HttpResponse) -> String {
        let mut out = Vec::new();
        response.write(&mut out).expect("a valid response");
        String::from_utf8(out).expect("UTF-8")
    }

    #[test]
    fn get_slash_serves_the_page() {
        let response = written(route("GET", "/"));
        assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
        assert!(response.contains("\r\nContent-Type: text/html; charset=utf-8\r\n"));
        assert!(response.contains(&format!("\r\nContent-Length: {}\r\n", PAGE.len())));
        assert!(response.ends_with(PAGE));
        assert!(PAGE.starts_with("<!doctype html>"));
    }

    #[test]
    fn other_paths_are_404_and_other_methods_405() {
        for path in ["/ws", "/index.html", "/favicon.ico", "/chat.html"] {
            let response = written(route("GET", path));
            assert!(
                response.starts_with("HTTP/1.1 404 Not Found\r\n"),
                "{path}: {response}"
            );
        }
        let response = written(route("POST", "/"));
        assert!(
            response.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"),
            "{response}"
        );
        assert!(response.contains("\r\nAllow: GET\r\n"));
    }

    #[test]
    fn only_same_origin_browsers_and_non_browsers_may_connect() {
        assert!(same_origin(None, "127.0.0.1:8080"));
        assert!(same_origin(Some("http://127.0.0.1:8080"), "127.0.0.1:8080"));
        assert!(same_origin(Some("https://Chat.Example"), "chat.example"));
        assert!(!same_origin(Some("http://evil.example"), "127.0.0.1:8080"));
        assert!(!same_origin(
            Some("http://127.0.0.1:9090"),
            "127.0.0.1:8080"
        ));
        assert!(!same_origin(Some("null"), "127.0.0.1:8080"));
        assert!(!same_origin(Some("file://"), "127.0.0.1:8080"));
    }

    #[test]
    fn the_banner_tells_where_the_page_is() {
        let local = "127.0.0.1:8080".parse().unwrap();
        assert_eq!(
            banner(local, false),
            "chat: open http://127.0.0.1:8080/ in a browser \
             (WebSocket endpoint ws://127.0.0.1:8080/ws)\n"
        );
        assert_eq!(
            banner(local, true),
            "chat: open https://127.0.0.1:8080/ in a browser \
             (WebSocket endpoint wss://127.0.0.1:8080/ws)\n"
        );
    }
}
