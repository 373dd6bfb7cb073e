//! Connection settings.

use core::time::Duration;

/// How received data messages are delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum MessageMode {
    /// Fragments are reassembled and each message arrives as one [`Event::Message`](crate::Event::Message).
    #[default]
    Reassemble,
    /// Payload is handed out as it arrives, as [`Event::Chunk`](crate::Event::Chunk)s, without
    /// buffering the whole message. Text chunks are still validated as UTF-8 incrementally, and
    /// every chunk ends on a character boundary.
    Stream,
}

/// Settings for a [`Connection`](crate::Connection).
///
/// Construct with [`Config::default`] and assign the fields to change. The memory cost of each
/// limit is the worst case one connection can be made to allocate by its peer.
///
/// ```
/// use core::time::Duration;
/// use ws_proto::Config;
/// let mut config = Config::default();
/// config.max_message_size = 1 << 20;
/// config.keepalive_interval = Some(Duration::from_secs(30));
/// assert_eq!(config.max_frame_size, 64 << 20);
/// assert_eq!(config.handshake_timeout, Some(Duration::from_secs(10)));
/// assert_eq!(config.limits.max_header_bytes, 16 * 1024);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// Largest message accepted from the peer, in bytes, after reassembly. A larger one fails
    /// the connection with 1009 as soon as its size is known (before its payload is buffered).
    ///
    /// Default: 64 MiB. Memory: in [`MessageMode::Reassemble`], up to this many bytes per
    /// connection; in [`MessageMode::Stream`], none beyond the received chunk.
    pub max_message_size: usize,
    /// Largest single frame accepted from the peer, in bytes. Checked from the frame header,
    /// before any payload is read; fails with 1009.
    ///
    /// Default: 64 MiB. Memory: none on its own (payload is streamed into the message buffer).
    pub max_frame_size: usize,
    /// Answer each Ping with a Pong carrying the same payload (section 5.5.2).
    ///
    /// Default: `true`. Turn off only to answer Pings yourself with
    /// [`Connection::pong`](crate::Connection::pong).
    pub auto_pong: bool,
    /// Whether messages are reassembled or streamed. Default: [`MessageMode::Reassemble`].
    pub message_mode: MessageMode,
    /// How long to wait for the peer's Close frame after sending ours, and (client side) for
    /// the server to close the TCP connection afterwards. On expiry the connection is closed
    /// as [`CloseCause::CloseTimeout`](crate::CloseCause::CloseTimeout).
    ///
    /// Default: 10 s. `None` waits forever.
    pub close_timeout: Option<Duration>,
    /// Send a Ping once nothing has been received for this long. Default: `None` (off).
    pub keepalive_interval: Option<Duration>,
    /// After a keepalive Ping, fail the connection with 1011 if nothing arrives from the peer
    /// within this time. Only used when `keepalive_interval` is set. Default: 20 s.
    pub keepalive_timeout: Option<Duration>,
    /// permessage-deflate (RFC 7692): what a client offers, what a server accepts, and how
    /// messages are compressed. Adapters negotiate with it; a connection compresses once built
    /// with [`Connection::with_deflate`](crate::Connection::with_deflate).
    ///
    /// Default: [`DeflateConfig::default`](crate::extensions::deflate::DeflateConfig), enabled.
    /// Memory: see [`DeflateConfig`](crate::extensions::deflate::DeflateConfig).
    #[cfg(feature = "deflate")]
    pub deflate: crate::extensions::deflate::DeflateConfig,
    /// How long the whole opening handshake may take, in both roles: from
    /// [`ServerHandshake::new`](crate::handshake::ServerHandshake::new) until the application
    /// answers the request, or from
    /// [`ClientHandshake::new`](crate::handshake::ClientHandshake::new) until the server's
    /// response has been read. On expiry the handshake fails with
    /// [`HandshakeError::Timeout`](crate::HandshakeError::Timeout) and the transport is closed.
    /// It bounds how long a peer that sends its head slowly (or not at all) holds a
    /// connection.
    ///
    /// Default: 10 s. `None` waits forever. Memory: none.
    pub handshake_timeout: Option<Duration>,
    /// Bounds on what the opening handshake reads: the header block, and the body of a
    /// refused client handshake.
    ///
    /// Default: [`Limits::default`](crate::handshake::Limits). Memory: a handshake in
    /// progress buffers at most twice [`Limits::max_header_bytes`] (16 KiB each by default),
    /// plus, for a refused client, [`Limits::max_body_bytes`] (64 KiB by default); see
    /// [`Limits`](crate::handshake::Limits).
    ///
    /// [`Limits::max_header_bytes`]: crate::handshake::Limits::max_header_bytes
    /// [`Limits::max_body_bytes`]: crate::handshake::Limits::max_body_bytes
    pub limits: crate::handshake::Limits,
    /// A limit on the data messages received per second (and their bytes), and what to do
    /// with one over it: drop it, or fail the connection with 1008. See
    /// [`RateLimit`](crate::policy::RateLimit) for how messages are counted.
    ///
    /// Default: `None` (no limit). Memory: none (two counters per connection).
    pub rate_limit: Option<crate::policy::RateLimit>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_message_size: 64 << 20,
            max_frame_size: 64 << 20,
            auto_pong: true,
            message_mode: MessageMode::Reassemble,
            close_timeout: Some(Duration::from_secs(10)),
            keepalive_interval: None,
            keepalive_timeout: Some(Duration::from_secs(20)),
            #[cfg(feature = "deflate")]
            deflate: crate::extensions::deflate::DeflateConfig::default(),
            handshake_timeout: Some(Duration::from_secs(10)),
            limits: crate::handshake::Limits::DEFAULT,
            rate_limit: None,
        }
    }
}
