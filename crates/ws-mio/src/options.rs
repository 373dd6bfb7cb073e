//! Settings of a [`Server`](crate::Server): threads, handshake, timers and backpressure.

use std::time::Duration;

use ws_proto::policy::Policies;
use ws_proto::{CloseCode, Config};

/// What [`Ctx::send`](crate::Ctx::send) does with a message for a connection whose output
/// buffer is already at or above [`Options::high_watermark`] (a slow consumer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SlowConsumer {
    /// Queue it anyway and report [`SendStatus::Backpressure`](crate::SendStatus::Backpressure):
    /// the application decides (for example waits for [`Handler::drain`](crate::Handler::drain)).
    /// Memory is bounded only by what the application keeps sending.
    Wait,
    /// Discard it and report [`SendStatus::Dropped`](crate::SendStatus::Dropped): for feeds where
    /// a newer message replaces an older one.
    Drop,
    /// Discard it, start the closing handshake with this code (1008 policy violation or 1013
    /// try again later are the usual ones) and report
    /// [`SendStatus::Closing`](crate::SendStatus::Closing). The Close frame goes out after the
    /// bytes already buffered; if the peer never reads them, the close timeout
    /// ([`Config::close_timeout`]) ends the connection.
    Close(CloseCode),
}

/// Settings for a [`Server`](crate::Server) and every connection it runs.
///
/// Construct with [`Options::default`] and assign the fields to change:
///
/// ```
/// use std::time::Duration;
/// use ws_mio::{Options, SlowConsumer};
/// use ws_proto::CloseCode;
///
/// let mut options = Options::default();
/// options.threads = 4;
/// options.high_watermark = 256 * 1024;
/// options.low_watermark = 64 * 1024;
/// options.slow_consumer = SlowConsumer::Close(CloseCode::TRY_AGAIN_LATER);
/// options.config.keepalive_interval = Some(Duration::from_secs(30));
/// ```
///
/// The memory of one connection is about 1 KiB while idle (see `docs/performance.md`), plus
/// what is buffered: up to [`Config::max_message_size`] of a message being received (a
/// limit the peer controls) and the output not yet written (bounded by the watermarks and
/// the [`SlowConsumer`] policy, which the application controls).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Options {
    /// Protocol settings of every connection, shared by all of them: the opening handshake's
    /// timeout (`config.handshake_timeout`, 10 s by default, against slowloris) and header
    /// limits (`config.limits`, 431 beyond them), size limits, keepalive Ping interval and
    /// Pong deadline, close timeout, permessage-deflate. Default: [`Config::default`], which
    /// accepts (server) and offers (client) permessage-deflate.
    ///
    /// Memory: with the default deflate preset (`DeflatePreset::Balanced`), a connection that
    /// has exchanged messages keeps about 16 KiB of compression state (its client's 2^12
    /// window); `DeflatePreset::Shared` keeps none between messages, `DeflatePreset::Full`
    /// about 350 KiB (see `docs/deflate.md`).
    pub config: Config,
    /// Number of event loops, one thread each. With more than one, every loop has its own
    /// listening socket on the same address (`SO_REUSEPORT`) and the kernel spreads new
    /// connections over them. Default: 1.
    pub threads: usize,
    /// The listen backlog: connections the kernel queues before they are accepted (capped by
    /// `net.core.somaxconn`). Default: 1024.
    pub backlog: i32,
    /// The most connections the server holds at once, counted across all its event loops:
    /// every connection its listeners accepted, from `accept` until its socket is closed
    /// (in the opening handshake, open, and closing). Outgoing connections opened with
    /// [`Ctx::connect`](crate::Ctx::connect) do not count. Default: `Some(10_000)`; `None`
    /// sets no limit (the process's file-descriptor limit is then the only one).
    ///
    /// A connection beyond it is accepted, answered at once with
    /// `503 Service Unavailable` (`Connection: close`, `Retry-After: 5`) and closed in the
    /// same step: the handler never hears of it, and it costs no memory and holds its file
    /// descriptor only for that step (what it already sent of its request is read and
    /// dropped, one read at most; the answer is written once, without waiting). Connections
    /// already held go on being served.
    ///
    /// What it bounds: file descriptors (one per connection, plus three per event loop:
    /// listener, poll, waker; keep `RLIMIT_NOFILE` above the total, or connections beyond
    /// the descriptor limit wait in the backlog instead of getting a 503), and memory, with
    /// the per-connection limits: about 0.7 KiB per idle connection, at most
    /// [`Limits::max_header_bytes`](ws_proto::handshake::Limits::max_header_bytes) of partial request head per connection in the
    /// handshake (slowloris), and up to [`Config::max_message_size`] of a message being
    /// received plus the output buffered up to the watermarks per open connection. The
    /// worst case is the product: 10,000 connections each holding a message just under the
    /// default 64 MiB limit is 640 GiB, so a server facing untrusted clients should size
    /// `max_connections` and `config.max_message_size` together (`docs/security.md` has the
    /// figures measured under attack).
    pub max_connections: Option<usize>,
    /// The most connections one peer address holds at once (an IPv6 address counts by its
    /// /64 prefix, see [`peer_key`](ws_proto::policy::peer_key)), counted across all event
    /// loops like [`max_connections`](Self::max_connections), from `accept` until the socket
    /// is closed. Default: `None` (no limit per address).
    ///
    /// A connection beyond it is answered at once with `429 Too Many Requests`
    /// (`Retry-After: 5`, the body `too many connections from this address`) and closed in
    /// the same step, as a connection beyond `max_connections` is with its 503: the handler
    /// never hears of it. What it bounds: the share of `max_connections` one client can take.
    /// Memory: one entry of about 50 bytes per address with connections open. Behind a
    /// proxy every client has the proxy's address: set it there instead.
    pub max_connections_per_ip: Option<usize>,
    /// Handshake policies ([`ws_proto::policy`]: an `Origin` allow-list, a token check, or
    /// any `Fn(&Request) -> Result<(), HttpResponse>`), run in order on every WebSocket
    /// request before [`Handler::handshake`](crate::Handler::handshake), which sees only the
    /// requests they let through; a refusal is answered with the policy's response (403,
    /// 401 with `WWW-Authenticate`...). Default: none.
    ///
    /// ```
    /// use ws_mio::policy::{AllowedOrigins, RateLimit, TokenAuth, TokenCheck};
    /// use ws_mio::Options;
    ///
    /// let mut options = Options::default();
    /// options.policies.push(AllowedOrigins::new(["https://*.example.com"]));
    /// options.policies.push(TokenAuth::new(|token, _| match token {
    ///     "s3cret" => TokenCheck::Valid,
    ///     _ => TokenCheck::Invalid,
    /// }).cookie("session"));
    /// options.max_connections_per_ip = Some(16); // 429 beyond it
    /// options.config.rate_limit = Some(RateLimit::messages(20, 40)); // 1008 beyond it
    /// ```
    pub policies: Policies,
    /// Close a connection (1001, "idle timeout") after this long without a data message in
    /// either direction. Pings and Pongs do not count: this frees connections that are alive
    /// but unused, while [`Config::keepalive_interval`] detects dead ones. Default: `None`.
    pub idle_timeout: Option<Duration>,
    /// Output bytes buffered for one connection (queued and not yet accepted by the kernel)
    /// at which it counts as a slow consumer: it stops being read, sends report
    /// [`SendStatus::Backpressure`](crate::SendStatus::Backpressure), and further messages are
    /// handled by [`Options::slow_consumer`]. Default: 1 MiB.
    pub high_watermark: usize,
    /// Buffered output at or below which a connection that reached the high watermark is read
    /// again and [`Handler::drain`](crate::Handler::drain) is called. Default: 256 KiB.
    pub low_watermark: usize,
    /// What to do with messages for a connection above the high watermark. Default:
    /// [`SlowConsumer::Wait`].
    pub slow_consumer: SlowConsumer,
    /// Size of the read buffer, one per event loop (not per connection). Default: 256 KiB
    /// (large messages arrive in fewer reads: measured 1.1-1.2x the 1 MiB echo rate of
    /// 64 KiB, see `docs/performance.md`).
    pub read_buffer_size: usize,
    /// The most topics one connection may subscribe to at once
    /// ([`Ctx::subscribe`](crate::Ctx::subscribe) fails with
    /// [`Error::TooManySubscriptions`](crate::Error::TooManySubscriptions) beyond it). A
    /// subscription costs the connection one pointer to the topic's name, shared by all its
    /// subscribers, and an entry in its loop's set of the topic's subscribers. Default: 64.
    pub max_subscriptions: usize,
    /// Serve TLS (`wss://`, and `https://` for plain HTTP requests) with this rustls
    /// configuration (feature `tls`), for example
    /// [`tls::server::config_from_pem_files`](crate::tls::server::config_from_pem_files).
    /// Every accepted connection runs its TLS handshake first, under the opening
    /// handshake's timeout (`config.handshake_timeout`: a client that stalls in TLS is cut
    /// off as one that stalls in the upgrade). Default: `None`, plain TCP.
    ///
    /// Memory: about 8.5 KB per idle TLS connection, 7.7 KB more than plain TCP (rustls's
    /// session, its keys and its 4 KiB record read buffer; measured in `docs/tls.md`);
    /// rustls holds at most 64 KiB of a connection's output besides what the watermarks
    /// count.
    #[cfg(feature = "tls")]
    pub tls: Option<std::sync::Arc<rustls::ServerConfig>>,
}

impl Options {
    /// Whether accepted connections run TLS.
    pub(crate) fn uses_tls(&self) -> bool {
        #[cfg(feature = "tls")]
        if self.tls.is_some() {
            return true;
        }
        false
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            config: Config::default(),
            threads: 1,
            backlog: 1024,
            max_connections: Some(10_000),
            max_connections_per_ip: None,
            policies: Policies::new(),
            idle_timeout: None,
            high_watermark: 1 << 20,
            low_watermark: 256 << 10,
            slow_consumer: SlowConsumer::Wait,
            read_buffer_size: 256 << 10,
            max_subscriptions: 64,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }
}
