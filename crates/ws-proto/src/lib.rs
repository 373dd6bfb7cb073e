//! `ws-proto`: a sans-IO implementation of the WebSocket protocol (RFC 6455).
//!
//! No sockets, no clocks, no threads, no randomness of its own: the caller feeds bytes and
//! time in and takes events and bytes to send out. That makes the same core usable from a
//! blocking adapter (`ws-std`), an event loop (`ws-mio`), an async runtime, or a test that
//! replays golden bytes. `#![no_std]` with `alloc`. (With the `std` feature, [`rng`] offers
//! the operating system's generator for mask keys and nonces, which adapters pass in.)
//!
//! Two layers, used one after the other on a connection:
//!
//! 1. [`handshake`]: the HTTP/1.1 opening handshake. A client builds its request with
//!    [`handshake::ClientRequest`] and validates the response; a server parses the request
//!    with [`handshake::HttpRequest::parse`] and [`handshake::HttpRequest::into_websocket`],
//!    decides, and writes the 101 (or a rejection). The state machines
//!    [`handshake::ServerHandshake`] and [`handshake::ClientHandshake`] do all of it, timeout
//!    included, and turn into the [`Connection`].
//!    Failures are [`HandshakeError`]s that know their HTTP status.
//! 2. [`Connection`]: everything after the handshake: frames, messages, control frames,
//!    closing, timers. Peer faults are [`ProtocolError`]s that know their close code, and
//!    fail the connection through one path (RFC 6455 section 7.1.7). Local misuse is a
//!    [`SendError`].
//!
//! Extensions ([`extensions`]) span both: permessage-deflate (RFC 7692, the `deflate` feature,
//! on by default) is negotiated by the handshake state machines from [`Config::deflate`] and
//! applied to the connection they build.
//!
//! ```
//! use ws_proto::handshake::{ServerEvent, ServerHandshake};
//! use ws_proto::{Config, Event, Instant, Message, Transmit};
//!
//! // A server: the handshake takes the bytes read so far, however they were split.
//! let now = Instant::ZERO; // the time since an epoch the caller picks
//! let mut handshake = ServerHandshake::new(Config::default(), now);
//! let input = b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
//!               Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
//!               Sec-WebSocket-Version: 13\r\n\r\n\
//!               \x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58";
//! handshake.receive_data(&input[..40], now)?;
//! assert!(handshake.poll_event().is_none()); // not the whole head yet
//! handshake.receive_data(&input[40..], now)?;
//! let Some(ServerEvent::Request(request)) = handshake.poll_event() else { unreachable!() };
//! assert_eq!(request.path(), "/chat");
//! handshake.accept(request.accept())?; // the application's decision
//!
//! // The connection: the 101 is queued ahead of any frame, and the frame that followed the
//! // head has been received already.
//! let mut conn = handshake.into_connection(now)?;
//! assert_eq!(conn.poll_event(), Some(Event::Message(Message::Text("Hello".into()))));
//! conn.send_text("Hello back").unwrap();
//! let mut out = Vec::new();
//! assert!(matches!(conn.poll_transmit(&mut out), Some(Transmit::Data(_))));
//! assert!(out.starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"));
//! # Ok::<(), ws_proto::HandshakeError>(())
//! ```
//!
//! See [`Connection`] for the calling contract, and `docs/architecture.md` in the repository.
#![no_std]
// Catch std leaks in the no_std core (the adapters are std crates and may use std paths).
#![warn(clippy::std_instead_of_core, clippy::alloc_instead_of_core)]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod backoff;
mod close;
mod closed;
mod config;
mod connection;
mod error;
pub mod extensions;
pub mod frame;
pub mod handshake;
mod message;
pub mod policy;
mod pool;
mod prepared;
pub mod proxy;
#[cfg(feature = "std")]
pub mod rng;
mod role;
mod time;
mod timer;
mod utf8;

pub use close::{CloseCode, CloseFrame};
pub use closed::{CloseCause, Closed};
pub use config::{Config, MessageMode};
pub use connection::{Connection, State, Transmit};
pub use error::{Error, HandshakeError, ProtocolError, SendError, Timeout};
pub use message::{Chunk, DataKind, Event, Message};
pub use pool::BufferPool;
pub use prepared::PreparedMessage;
pub use role::Role;
pub use time::Instant;

/// The examples of `docs/architecture.md`, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/architecture.md")]
pub struct ArchitectureDoctests;
