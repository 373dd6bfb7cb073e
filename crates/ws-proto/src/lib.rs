//! `ws-proto`: a sans-IO implementation of the WebSocket protocol (RFC 6455).
#![no_std]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod close;
mod config;
mod error;
pub mod handshake;
mod time;

pub use close::{CloseCode, CloseFrame};
pub use config::{Config, MessageMode};
pub use error::{Error, HandshakeError, ProtocolError, SendError};
pub use time::Instant;
