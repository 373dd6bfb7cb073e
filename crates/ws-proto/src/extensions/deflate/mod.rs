//! `permessage-deflate` (RFC 7692): negotiation and per-message compression.
//!
//! # Negotiation
//!
//! [`DeflateConfig`] (in [`Config::deflate`](crate::Config::deflate)) holds both roles'
//! settings:
//!
//! * a client adds its [`offers`](DeflateConfig::offers) to the handshake with
//!   [`DeflateConfig::offer`], then checks the server's answer with
//!   [`DeflateConfig::client_agreed`];
//! * a server completes its [`Accept`](crate::handshake::Accept) with
//!   [`DeflateConfig::negotiate`], which picks an offer and answers it with
//!   [`DeflateParams::to_extension`].
//!
//! [`ClientHandshake`](crate::handshake::ClientHandshake) and
//! [`ServerHandshake`](crate::handshake::ServerHandshake) make these calls themselves.
//!
//! Either way the result is the [`DeflateParams`] in force, which
//! [`Connection::with_deflate`](crate::Connection::with_deflate) applies.
//!
//! # Compression
//!
//! Each data message is compressed on its own (RSV1 set on its first frame), unless it is
//! shorter than [`DeflateConfig::min_size`] or sent with
//! [`Connection::send_uncompressed`](crate::Connection::send_uncompressed). Received messages
//! are inflated as their frames arrive, never beyond
//! [`Config::max_message_size`](crate::Config::max_message_size) (a deflate bomb fails the
//! connection with 1009), and text is validated as UTF-8 as it is inflated.
//!
//! # Window sizes
//!
//! Windows of 2^9 to 2^15 bytes are used as agreed in both directions. For 2^8, which a zlib
//! deflater cannot make (it silently uses 2^9), this implementation's deflater emits
//! run-length matches only (each refers exactly one byte back), which are valid within any
//! window; its inflater accepts a 2^9 window from a peer that agreed to 2^8, since such peers
//! are zlib-based.
//!
//! # Example
//!
//! ```
//! use ws_proto::extensions::deflate::DeflateParams;
//! use ws_proto::{Config, Connection, Event, Instant, Message, Transmit};
//!
//! let mut config = Config::default();
//! config.deflate.min_size = 0;
//! let now = Instant::ZERO;
//! let mut server = Connection::server(config, now).with_deflate(DeflateParams::default());
//! // "Hello", compressed, from a client (RFC 7692 section 7.2.3.1, masked with zero keys).
//! server.receive_data(&[0xc1, 0x87, 0, 0, 0, 0, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00], now)?;
//! assert_eq!(server.poll_event(), Some(Event::Message(Message::Text("Hello".into()))));
//! server.send_text("Hello").unwrap();
//! let mut out = Vec::new();
//! server.poll_transmit(&mut out);
//! assert_eq!(out, [0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
//! # Ok::<(), ws_proto::ProtocolError>(())
//! ```

mod codec;
mod params;
mod state_pool;

use alloc::vec;
use alloc::vec::Vec;

pub use params::{
    ClientMaxWindowBits, DeflateOffer, DeflateParams, EXTENSION_NAME, MAX_WINDOW_BITS,
    MIN_WINDOW_BITS,
};

use crate::config::MessageMode;
use crate::error::ProtocolError;
use crate::message::Assembler;
use crate::role::Role;
use codec::{Deflater, Inflater, TRAILER};

/// permessage-deflate settings for both roles: what a client offers, what a server accepts,
/// and how messages are compressed.
///
/// Part of [`Config`](crate::Config) as [`Config::deflate`](crate::Config::deflate). Start from a preset ([`DeflateConfig::preset`]; the default is
/// [`DeflatePreset::Balanced`]) and assign the fields to change.
///
/// Memory: with context takeover in a direction, each connection keeps that direction's
/// DEFLATE state between messages, sized to the agreed window: about 160 KiB (2^12) to
/// 320 KiB (2^15) for the compressor, and the window plus about 11 KiB for the decompressor.
/// Without it, the state is taken from a process-wide pool for the duration of one message
/// and given back. Limit it with
/// [`server_no_context_takeover`](Self::server_no_context_takeover) and
/// [`client_no_context_takeover`](Self::client_no_context_takeover), or smaller windows (see
/// `docs/deflate.md` for measured figures).
///
/// ```
/// use ws_proto::extensions::deflate::{DeflateConfig, DeflateOffer};
/// let mut deflate = DeflateConfig::default();
/// deflate.level = 1;
/// deflate.min_size = 256;
/// // Client: prefer a small server window without context takeover, else the default offer.
/// let mut small = DeflateOffer::default();
/// small.server_max_window_bits = Some(10);
/// small.server_no_context_takeover = true;
/// deflate.offers = vec![small, DeflateOffer::default()];
/// // Server: never keep the client's window between messages.
/// deflate.client_no_context_takeover = true;
/// assert_eq!(deflate.offers().len(), 2);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeflateConfig {
    /// Offer (client) or accept (server) permessage-deflate. Default: `true`, as browsers do.
    pub enabled: bool,
    /// Compression level, 0 (stored, no compression) to 9 (best). Default: 6.
    pub level: u8,
    /// Messages shorter than this many bytes are sent uncompressed. Fragmented messages sent
    /// with [`Connection::send_fragment`](crate::Connection::send_fragment) are always
    /// compressed. Default: 16.
    pub min_size: usize,
    /// Client: the offers, most preferred first. Default: one offer,
    /// `permessage-deflate; client_max_window_bits`.
    pub offers: Vec<DeflateOffer>,
    /// Server: answer `server_no_context_takeover` even when not asked, so that no compression
    /// state is kept between messages. Default: `true` (`false` in [`DeflatePreset::Full`]).
    pub server_no_context_takeover: bool,
    /// Server: answer `client_no_context_takeover`, so that no decompression state is kept
    /// between messages. Default: `false`.
    pub client_no_context_takeover: bool,
    /// Server: the largest window (as bits, 8..=15) the server compresses with; a smaller one
    /// is answered as `server_max_window_bits`. Default: 15.
    pub server_max_window_bits: u8,
    /// Server: the largest window (as bits, 8..=15) the client may use, answered as
    /// `client_max_window_bits` when the offer allows it. Default: 12.
    pub client_max_window_bits: u8,
    /// Server: decline offers without `client_max_window_bits` when
    /// [`client_max_window_bits`](Self::client_max_window_bits) is below 15 (otherwise they are
    /// accepted and the client uses up to 2^15). Default: `false`.
    pub require_client_max_window_bits: bool,
    /// Server: decline offers that ask for a server window smaller than 2^N. Default: 8 (every
    /// size is accepted).
    pub min_server_max_window_bits: u8,
}

/// A permessage-deflate policy in one word, for [`DeflateConfig::preset`]: how much memory
/// each connection spends on compression state against how well messages compress.
///
/// Measured figures for each (memory per connection, compression ratio, speed) are in
/// `docs/deflate.md`. As a server, a preset sets what is answered to a client's offer (RFC
/// 7692 lets the server add `server_no_context_takeover` and `client_no_context_takeover`
/// on its own, and answer `client_max_window_bits` when the client offered it); as a client,
/// what is offered.
///
/// ```
/// use ws_proto::extensions::deflate::{DeflateConfig, DeflatePreset};
/// let mut config = ws_proto::Config::default();
/// config.deflate = DeflateConfig::preset(DeflatePreset::Shared);
/// assert!(config.deflate.server_no_context_takeover && config.deflate.client_no_context_takeover);
/// assert_eq!(DeflateConfig::default(), DeflateConfig::preset(DeflatePreset::Balanced));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum DeflatePreset {
    /// No compression: permessage-deflate is neither offered nor accepted.
    Off,
    /// No context takeover in either direction: each message is compressed and inflated on
    /// its own, with state taken from the process-wide pool for the duration of the message, so a
    /// connection holds no compression state between messages. Windows of 2^15. The least
    /// memory; small messages compress less well, since nothing is shared between them.
    Shared,
    /// The default. The server compresses without context takeover (pooled state, as in
    /// [`Shared`](Self::Shared)); the client keeps its context, with a window of
    /// 2^[`BALANCED_CLIENT_WINDOW_BITS`] when its offer lets the server limit it (browsers
    /// and most libraries do), so messages from clients keep compressing well against earlier
    /// ones and the server's inflater stays small. A client makes the browsers' offer,
    /// `permessage-deflate; client_max_window_bits`.
    #[default]
    Balanced,
    /// Context takeover both ways with windows of 2^[`SMALL_WINDOW_BITS`]: each connection
    /// keeps a compressor (about 160 KiB with zlib-rs, whose hash table does not shrink with
    /// the window) and a small inflater.
    SmallWindows,
    /// Context takeover both ways with 2^15 windows: the best ratio on streams of similar
    /// messages, and the most memory (about 350 KiB per connection).
    Full,
}

/// The client window [`DeflatePreset::Balanced`] asks for, as bits (2^12 = 4 KiB).
pub const BALANCED_CLIENT_WINDOW_BITS: u8 = 12;

/// The window of both directions with [`DeflatePreset::SmallWindows`], as bits.
pub const SMALL_WINDOW_BITS: u8 = 12;

impl DeflateConfig {
    /// The settings of a preset, with the default level (6) and threshold (16 bytes).
    pub fn preset(preset: DeflatePreset) -> DeflateConfig {
        let full = DeflateConfig {
            enabled: true,
            level: 6,
            min_size: 16,
            offers: vec![DeflateOffer::default()],
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: MAX_WINDOW_BITS,
            client_max_window_bits: MAX_WINDOW_BITS,
            require_client_max_window_bits: false,
            min_server_max_window_bits: MIN_WINDOW_BITS,
        };
        match preset {
            DeflatePreset::Off => DeflateConfig {
                enabled: false,
                ..full
            },
            DeflatePreset::Shared => {
                let offer = DeflateOffer {
                    server_no_context_takeover: true,
                    client_no_context_takeover: true,
                    ..DeflateOffer::default()
                };
                DeflateConfig {
                    offers: vec![offer],
                    server_no_context_takeover: true,
                    client_no_context_takeover: true,
                    ..full
                }
            }
            DeflatePreset::Balanced => DeflateConfig {
                server_no_context_takeover: true,
                client_max_window_bits: BALANCED_CLIENT_WINDOW_BITS,
                ..full
            },
            DeflatePreset::SmallWindows => {
                let offer = DeflateOffer {
                    server_max_window_bits: Some(SMALL_WINDOW_BITS),
                    client_max_window_bits: ClientMaxWindowBits::Value(SMALL_WINDOW_BITS),
                    ..DeflateOffer::default()
                };
                DeflateConfig {
                    offers: vec![offer],
                    server_max_window_bits: SMALL_WINDOW_BITS,
                    client_max_window_bits: SMALL_WINDOW_BITS,
                    ..full
                }
            }
            DeflatePreset::Full => full,
        }
    }
}

impl Default for DeflateConfig {
    /// [`DeflatePreset::Balanced`].
    fn default() -> Self {
        DeflateConfig::preset(DeflatePreset::Balanced)
    }
}

/// The scratch buffer a connection keeps between messages, at most (bytes).
const SCRATCH_KEEP: usize = 512;

/// The extension's state on one connection.
pub(crate) struct DeflateState {
    pub(crate) params: DeflateParams,
    min_size: usize,
    deflater: Deflater,
    inflater: Inflater,
    /// The message being received is compressed.
    rx_compressed: bool,
    /// The fragmented message being sent is compressed.
    tx_compressed: bool,
    /// Unmasked compressed input, and compressed output, reused between frames.
    scratch: Vec<u8>,
}

impl DeflateState {
    pub(crate) fn new(role: Role, params: DeflateParams, config: &DeflateConfig) -> DeflateState {
        let server = (
            params::clamp_bits(params.server_window_bits()),
            params.server_no_context_takeover,
        );
        let client = (
            params::clamp_bits(params.client_window_bits()),
            params.client_no_context_takeover,
        );
        let (own, peer) = match role {
            Role::Server => (server, client),
            Role::Client => (client, server),
        };
        DeflateState {
            params,
            min_size: config.min_size,
            deflater: Deflater::new(config.level, own.0, own.1),
            inflater: Inflater::new(peer.0, peer.1),
            rx_compressed: false,
            tx_compressed: false,
            scratch: Vec::new(),
        }
    }

    /// Whether a whole message of `len` bytes is compressed.
    pub(crate) fn compresses(&self, len: usize) -> bool {
        len >= self.min_size
    }

    /// Compresses one frame's worth of a message into the scratch buffer and returns it; the
    /// caller writes it as the frame payload. `first` starts a message, `fin` ends it.
    pub(crate) fn compress(&mut self, data: &[u8], first: bool, fin: bool) -> &[u8] {
        if first {
            self.tx_compressed = true;
        }
        if fin {
            self.tx_compressed = false;
        }
        self.scratch.clear();
        self.deflater.compress(data, fin, &mut self.scratch);
        &self.scratch
    }

    /// Whether the fragmented message being sent is compressed.
    pub(crate) fn sending_compressed(&self) -> bool {
        self.tx_compressed
    }

    /// A data frame with RSV1 = `compressed` starts a message.
    pub(crate) fn start_message(&mut self, compressed: bool) {
        self.rx_compressed = compressed;
    }

    /// Whether the message being received is compressed.
    pub(crate) fn receiving_compressed(&self) -> bool {
        self.rx_compressed
    }

    /// Inflates a piece of compressed frame payload into `message` (`offset` is the position
    /// of `data[0]` in the frame, for unmasking), within `limit` bytes of message.
    pub(crate) fn receive(
        &mut self,
        data: &[u8],
        mask: Option<[u8; 4]>,
        offset: u64,
        message: &mut Assembler,
        limit: usize,
        mode: MessageMode,
    ) -> Result<(), ProtocolError> {
        let input = match mask {
            Some(key) => {
                self.scratch.clear();
                self.scratch.extend_from_slice(data);
                crate::frame::mask::apply_mask(&mut self.scratch, key, offset as usize);
                &self.scratch[..]
            }
            None => data,
        };
        inflate_into(&mut self.inflater, input, message, limit, mode)
    }

    /// Ends the compressed message being received: inflates the trailer the sender removed
    /// (section 7.2.2).
    pub(crate) fn finish_message(
        &mut self,
        message: &mut Assembler,
        limit: usize,
        mode: MessageMode,
    ) -> Result<(), ProtocolError> {
        inflate_into(&mut self.inflater, &TRAILER, message, limit, mode)?;
        self.inflater.end_message();
        self.rx_compressed = false;
        self.trim_scratch();
        Ok(())
    }

    /// After a message: the scratch buffer is freed unless it is small, so that memory
    /// follows the data (an idle connection keeps at most [`SCRATCH_KEEP`] bytes of it).
    pub(crate) fn trim_scratch(&mut self) {
        if self.scratch.capacity() > SCRATCH_KEEP {
            self.scratch = Vec::new();
        }
    }

    /// Whether compression and decompression state is held now (for tests).
    #[cfg(test)]
    pub(crate) fn allocated(&self) -> (bool, bool) {
        (self.deflater.is_allocated(), self.inflater.is_allocated())
    }
}

fn inflate_into(
    inflater: &mut Inflater,
    mut input: &[u8],
    message: &mut Assembler,
    limit: usize,
    mode: MessageMode,
) -> Result<(), ProtocolError> {
    message.push_produced(limit, mode, |output| {
        let (consumed, produced) = inflater.step(input, output)?;
        input = &input[consumed..];
        // Done once all input is consumed and the output had room to spare (nothing is
        // pending), or when no progress is possible; not when invalid data was found, whose
        // error the next step returns once this output has been checked.
        let done =
            (input.is_empty() && produced < output.len()) || (consumed == 0 && produced == 0);
        Ok((produced, done && !inflater.failed()))
    })
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod window_check;
