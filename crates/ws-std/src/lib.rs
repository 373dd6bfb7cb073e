//! `ws-std`: a blocking WebSocket client and server over `std::io` and `std::net`.
//!
//! A thin adapter over the sans-IO [`ws_proto`] core: it moves bytes between a
//! [`Transport`] (a `TcpStream`, or any stream you wrap) and ws-proto's state machines (the
//! opening handshake's, then the [`ws_proto::Connection`]), and converts the clock for their
//! timers. It has no protocol logic of its own: the handshake's limits, timeout and
//! negotiation are ws-proto's, configured through [`Config`].
//!
//! * Servers: [`accept`], [`accept_with`] (the application sees the [`Request`] and accepts
//!   or answers with an [`HttpResponse`]), [`ServerBuilder`] (shared settings, and an
//!   optional answer to plain HTTP requests; without it they get a 426).
//! * Clients: [`connect`], [`ClientBuilder`], for `ws://` and `wss://` URLs (a
//!   [`WebSocket`] over a [`MaybeTlsStream`]), also through an HTTP or SOCKS5 proxy
//!   ([`ClientBuilder::proxy`]); a refusal is [`HandshakeError::Rejected`] with the response
//!   received (status, headers, body). [`reconnect::Reconnecting`]: a client that reconnects
//!   with backoff, a hook after every connect, and dead-peer detection.
//! * TLS (feature `tls`, off by default): `wss://` clients (trust from the bundled roots,
//!   `ClientBuilder::ca_file`, `roots` or `tls`) and TLS servers
//!   (`ServerBuilder::accept_tls`) through rustls; see the `tls` module and `docs/tls.md`.
//!   Without the feature, a `wss://` URL fails with [`Error::UnsupportedScheme`].
//! * Non-blocking streams: [`ServerBuilder::start_accept_with`] and
//!   [`ClientBuilder::start_handshake`] return a handshake in progress ([`PendingAccept`],
//!   [`PendingConnect`]) that survives `WouldBlock`; the blocking calls run the same code.
//!
//! The ws-proto types of this crate's API are re-exported here ([`CloseCode`], [`CloseFrame`],
//! [`Config`], [`Request`], [`Accept`], [`HttpResponse`], the error types, ...), so that an
//! application depends on ws-std alone.
//!
//! ```no_run
//! use std::net::TcpListener;
//! use std::thread;
//! use ws_std::Message;
//!
//! // An echo server, one thread per connection.
//! let listener = TcpListener::bind("127.0.0.1:8080")?;
//! for stream in listener.incoming() {
//!     let stream = stream?;
//!     thread::spawn(move || -> Result<(), ws_std::Error> {
//!         let mut ws = ws_std::accept(stream)?;
//!         loop {
//!             match ws.read()? {
//!                 Message::Text(t) => ws.send_text(&t)?,
//!                 Message::Binary(b) => ws.send_binary(&b)?,
//!                 Message::Close(_) => return Ok(()),
//!                 _ => {}
//!             }
//!         }
//!     });
//! }
//! # Ok::<(), std::io::Error>(())
//! ```

mod client;
mod error;
mod handshake;
pub mod reconnect;
mod server;
mod socket;
mod stream;
#[cfg(feature = "tls")]
pub mod tls;
mod tunnel;

pub use client::{connect, ClientBuilder, PendingConnect};
pub use error::Error;
pub use server::{accept, accept_with, AcceptAny, PendingAccept, ServerBuilder};
pub use socket::{Message, Transport, WebSocket};
pub use stream::MaybeTlsStream;
pub use ws_proto;
/// Ready-made server policies (the core's): origins, tokens, rate limits.
pub use ws_proto::policy;
/// Proxy URLs and errors (the core's `proxy` module), for [`ClientBuilder::proxy`].
pub use ws_proto::proxy;
#[cfg(feature = "tls")]
pub use ws_tls;
// The ws-proto types that appear in this crate's API (arguments, results, error variants,
// configuration fields); the rest of the core stays reachable as `ws_std::ws_proto`.
pub use ws_proto::extensions::deflate::{DeflateConfig, DeflateOffer, DeflateParams};
pub use ws_proto::handshake::{
    Accept, ClientRequest, ExtensionOffer, Headers, HttpRequest, HttpResponse, Limits, Request,
    Response,
};
pub use ws_proto::{
    Chunk, CloseCause, CloseCode, CloseFrame, Closed, Config, DataKind, HandshakeError,
    MessageMode, ProtocolError, Role, SendError, Timeout,
};

/// The examples of the project README, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;

/// The examples of `docs/clients.md`, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/clients.md")]
pub struct ClientsDoctests;
