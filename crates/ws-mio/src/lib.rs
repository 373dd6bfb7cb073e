//! `ws-mio`: WebSocket servers and clients on a [mio](https://docs.rs/mio) event loop, for many
//! connections on few threads with little memory each.
//!
//! A thin adapter over the sans-IO [`ws_proto`] core, on its public API only: it owns the
//! sockets, reads into one buffer per loop, feeds the bytes to each connection's
//! [`ws_proto::Connection`], writes what the connection queues, and runs its timers.
//!
//! * [`Server`] starts the event loops (one per thread, [`Options::threads`]; with several,
//!   each has its own listening socket on the address, with `SO_REUSEPORT`).
//! * A [`Handler`] is told what happens: a handshake to accept or reject (the same callback
//!   shape as `ws_std::accept_with`), a plain HTTP request to answer, open, message, drain,
//!   error, close.
//! * [`Ctx`], given to each handler method, sends to one connection, to a set, or to all
//!   ([`Ctx::broadcast`]), closes, and opens client connections ([`Ctx::connect`]);
//!   [`Handle`] does the same from other threads, through a queue and a mio `Waker`.
//! * Topics: [`Ctx::subscribe`] a connection to a named topic and [`Ctx::publish`] to its
//!   subscribers on every event loop (or from any thread with [`Handle::publish`]); the
//!   frame is encoded once for all of them ([`PreparedMessage`]), each subscriber meets the
//!   [`SlowConsumer`] policy on its own, and subscriptions end with their connection.
//!   [`Handle::topic_events`] tells a bridge to a broker when a topic gains its first or
//!   loses its last subscriber.
//! * Each connection buffers its output; past [`Options::high_watermark`] it is not read any
//!   more, sends report [`SendStatus::Backpressure`], and the [`SlowConsumer`] policy decides
//!   about further messages (queue, drop, or close with 1008/1013) until it drains to
//!   [`Options::low_watermark`] ([`Handler::drain`]).
//! * Timers: the handshake timeout (`Options::config.handshake_timeout`, against slowloris), the
//!   idle timeout, and the protocol's keepalive Ping with its Pong deadline and the close
//!   timeout ([`Config`]), all in one binary heap per loop; and the application's own
//!   ([`Ctx::set_timer`], [`Handler::timer`]), for a live ticker without a thread of its own.
//! * Policies ([`policy`], from the core): [`Options::policies`] (an `Origin` allow-list, a
//!   token check) run before [`Handler::handshake`], [`Options::max_connections_per_ip`]
//!   (429), and message rate limits in `Options::config.rate_limit` (drop, or close with 1008).
//!
//! The ws-proto types of this crate's API are re-exported here ([`CloseCode`], [`Config`],
//! [`Message`], [`Request`], [`Accept`], [`HttpResponse`], [`HttpRequest`], the error types, ...), so
//! that an application depends on ws-mio alone.
//!
//! # A broadcast chat
//!
//! Every message from one client goes to every client; a plain `GET /` gets a page, and the
//! WebSocket endpoint is `/ws`:
//!
//! ```
//! use ws_mio::{
//!     Accept, CloseCode, ConnId, Ctx, Handler, HttpRequest, HttpResponse, Message, Options,
//!     Request, Server,
//! };
//!
//! struct Chat;
//!
//! impl Handler for Chat {
//!     fn http(&mut self, _: &mut Ctx<'_>, _: ConnId, request: &HttpRequest) -> HttpResponse {
//!         match request.path() {
//!             "/" => HttpResponse::new(200)
//!                 .with_header("Content-Type", "text/html; charset=utf-8")
//!                 .with_body("<!doctype html><title>chat</title>"),
//!             _ => HttpResponse::new(404),
//!         }
//!     }
//!
//!     fn handshake(&mut self, _: &mut Ctx<'_>, _: ConnId, request: &Request) -> Result<Accept, HttpResponse> {
//!         if request.path() != "/ws" {
//!             return Err(HttpResponse::new(404));
//!         }
//!         Ok(request.accept())
//!     }
//!
//!     fn open(&mut self, ctx: &mut Ctx<'_>, id: ConnId) {
//!         ctx.broadcast(&Message::Text(format!("{id} joined")));
//!     }
//!
//!     fn message(&mut self, ctx: &mut Ctx<'_>, _: ConnId, message: Message) {
//!         if let Message::Text(_) = message {
//!             ctx.broadcast(&message); // the sender included
//!         }
//!     }
//!
//!     fn close(&mut self, ctx: &mut Ctx<'_>, id: ConnId, _: CloseCode, _: &str) {
//!         ctx.broadcast(&Message::Text(format!("{id} left")));
//!     }
//! }
//!
//! let server = Server::bind("127.0.0.1:0", Options::default(), |_| Chat)?;
//! let url = format!("ws://{}/ws", server.local_addr().unwrap());
//! let running = server.spawn()?;
//!
//! let (mut alice, _) = ws_std::connect(&url).unwrap();
//! assert!(matches!(alice.read().unwrap(), ws_std::Message::Text(t) if t.ends_with("joined")));
//! let (mut bob, _) = ws_std::connect(&url).unwrap();
//! assert!(matches!(bob.read().unwrap(), ws_std::Message::Text(t) if t.ends_with("joined")));
//! assert!(matches!(alice.read().unwrap(), ws_std::Message::Text(t) if t.ends_with("joined")));
//!
//! bob.send_text("hi all").unwrap();
//! assert_eq!(alice.read().unwrap(), ws_std::Message::Text("hi all".into()));
//! assert_eq!(bob.read().unwrap(), ws_std::Message::Text("hi all".into()));
//! running.stop()?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! Memory and scale figures, and the commands that measure them, are in
//! `docs/performance.md`.

mod client;
mod conn;
mod context;
mod error;
mod handle;
mod handler;
mod id;
mod options;
mod server;
mod timer;
#[cfg(feature = "tls")]
pub mod tls;
mod topics;
mod transport;
mod worker;

pub use client::Connect;
pub use context::{Ctx, Delivery, SendStatus};
pub use error::Error;
pub use handle::Handle;
pub use handler::Handler;
pub use id::ConnId;
pub use options::{Options, SlowConsumer};
pub use server::{Running, Server};
pub use timer::TimerId;
pub use topics::TopicEvent;
pub use ws_proto;
/// Ready-made server policies (the core's): origins, tokens, per-address limits, rate limits.
pub use ws_proto::policy;
// The ws-proto types that appear in this crate's API (handler arguments and results, error
// variants, option fields); the rest of the core stays reachable as `ws_mio::ws_proto`.
pub use ws_proto::extensions::deflate::{DeflateConfig, DeflateOffer};
pub use ws_proto::handshake::{Accept, HttpRequest, HttpResponse, Limits, Request};
pub use ws_proto::{
    Chunk, CloseCode, Config, DataKind, HandshakeError, Message, MessageMode, PreparedMessage,
    ProtocolError, Role, SendError,
};

/// The examples of `docs/tls.md`, compiled as doctests: ws-mio's, and ws-std's (its tests
/// use ws-std with the feature `tls`; ws-std cannot compile ws-mio's).
#[cfg(all(doctest, feature = "tls"))]
#[doc = include_str!("../../../docs/tls.md")]
pub struct TlsDoctests;
