//! WebSocket extensions (RFC 6455 section 9): the ones this crate implements.
//!
//! The handshake layer only knows the syntax of `Sec-WebSocket-Extensions`
//! ([`ExtensionOffer`](crate::handshake::ExtensionOffer)); this module gives the parameters
//! their meaning and transforms the messages.
//!
//! * [`deflate`]: `permessage-deflate` (RFC 7692), with the `deflate` cargo feature.

#[cfg(feature = "deflate")]
pub mod deflate;
