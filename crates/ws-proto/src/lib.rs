//! `ws-proto`: a sans-IO implementation of the WebSocket protocol (RFC 6455).
#![no_std]
// Catch std leaks in the no_std core (the adapters are std crates and may use std paths).
#![warn(clippy::std_instead_of_core, clippy::alloc_instead_of_core)]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod close;
mod config;
mod connection;
mod error;
pub mod frame;
pub mod handshake;
mod message;
mod time;
mod utf8;

pub use close::{CloseCode, CloseFrame};
pub use config::{Config, MessageMode};
pub use connection::{Connection, Role, State, Transmit};
pub use error::{Error, HandshakeError, ProtocolError, SendError};
pub use message::{Chunk, DataKind, Event, Message};
pub use time::Instant;

/// The examples of `docs/architecture.md`, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/architecture.md")]
pub struct ArchitectureDoctests;
