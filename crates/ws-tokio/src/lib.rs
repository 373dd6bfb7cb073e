//! `ws-tokio`: an async WebSocket client and server for tokio.
//!
//! A thin adapter over the sans-IO [`ws_proto`] core, the async form of ws-std: it moves
//! bytes between an `AsyncRead + AsyncWrite` stream and ws-proto's state machines (the
//! opening handshake's, then the [`ws_proto::Connection`]), and converts tokio's clock for
//! their timers. The protocol (limits, negotiation, permessage-deflate, close codes,
//! keepalive) is ws-proto's, configured through [`Config`].
//!
//! * [`WebSocketStream`]: a [`futures_core::Stream`] of `Result<Message, Error>` and a
//!   [`futures_sink::Sink`] of [`Message`], with async [`read`](WebSocketStream::read),
//!   [`send`](WebSocketStream::send) and [`close`](WebSocketStream::close) as well;
//!   [`split`](WebSocketStream::split) into a reader and a writer for two tasks.
//! * Clients: [`connect_async`], [`ClientBuilder`] (subprotocols, headers, origin,
//!   configuration), [`client_async`] over any stream.
//! * Servers: [`accept_async`], [`accept_hdr_async`] (the application sees the
//!   [`Request`] and accepts or answers with an [`HttpResponse`]), [`ServerBuilder`].
//! * TLS (feature `tls`): `wss://` in [`connect_async`] and TLS servers
//!   (`ServerBuilder::accept_tls`) with tokio-rustls and the configurations of `ws-tls`.
//!
//! ```no_run
//! use futures_util::{SinkExt, StreamExt};
//! use ws_tokio::Message;
//!
//! # async fn run() -> Result<(), ws_tokio::Error> {
//! let (ws, _response) = ws_tokio::connect_async("ws://127.0.0.1:8080/").await?;
//! let (mut reader, mut writer) = ws.split();
//! let printer = tokio::spawn(async move {
//!     while let Some(Ok(message)) = reader.next().await {
//!         println!("{message:?}");
//!     }
//! });
//! writer.send(Message::from("hello")).await?;
//! writer.close(ws_tokio::CloseCode::NORMAL, "bye").await?;
//! printer.await.expect("the printer task");
//! # Ok(()) }
//! ```

mod client;
mod core;
mod error;
mod handshake;
mod maybe_tls;
mod message;
mod server;
mod stream;
#[cfg(feature = "tls")]
pub mod tls;

pub use client::{client_async, connect_async, ClientBuilder};
pub use error::Error;
pub use maybe_tls::MaybeTlsStream;
pub use message::Message;
pub use server::{accept_async, accept_hdr_async, ServerBuilder};
pub use stream::{WebSocketReader, WebSocketStream, WebSocketWriter};
pub use ws_proto;
#[cfg(feature = "tls")]
pub use ws_tls;
// The ws-proto types of this crate's API; the rest stays reachable as `ws_tokio::ws_proto`.
pub use ws_proto::extensions::deflate::{DeflateConfig, DeflateOffer, DeflateParams};
pub use ws_proto::handshake::{
    Accept, ExtensionOffer, Headers, HttpRequest, HttpResponse, Limits, Request, Response,
};
pub use ws_proto::{
    Chunk, CloseCause, CloseCode, CloseFrame, Closed, Config, DataKind, HandshakeError,
    MessageMode, ProtocolError, Role, SendError, Timeout,
};

/// The examples of `docs/tokio.md`, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/tokio.md")]
pub struct TokioDoctests;
