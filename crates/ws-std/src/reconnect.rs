//! A client that reconnects: [`Reconnecting`] wraps a [`ClientBuilder`] and opens a new
//! connection whenever the current one ends, after a delay from ws-proto's
//! [`Backoff`], until the policy gives up.

use std::fmt;
use std::thread;
use std::time::{Duration, Instant as StdInstant};

use ws_proto::backoff::{Backoff, Retry};
use ws_proto::rng::nonce;
use ws_proto::{CloseCode, CloseFrame, Instant};

use crate::{ClientBuilder, Error, MaybeTlsStream, Message, Response, WebSocket};

/// Why a connection, or an attempt to open one, ended.
#[derive(Debug)]
#[non_exhaustive]
pub enum Cause {
    /// The attempt or the connection failed: the connect or handshake failed (refused,
    /// rejected, timed out), the transport broke ([`Error::ConnectionLost`], [`Error::Io`]),
    /// a keepalive Ping went unanswered ([`Error::Timeout`]: the peer is dead), or the
    /// [`on_connect`](Reconnecting::on_connect) hook failed.
    Error(Error),
    /// The server closed the connection with this Close frame (for example 1001 when it
    /// restarts).
    Closed(Option<CloseFrame>),
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::Error(e) => e.fmt(f),
            Cause::Closed(Some(frame)) => {
                write!(f, "the server closed the connection: {}", frame.code)?;
                if !frame.reason.is_empty() {
                    write!(f, " {}", frame.reason)?;
                }
                Ok(())
            }
            Cause::Closed(None) => f.write_str("the server closed the connection"),
        }
    }
}

/// What the [`on_failure`](Reconnecting::on_failure) hook is told before each wait.
#[derive(Debug)]
pub struct Failure<'a> {
    /// Why the connection or the attempt ended.
    pub cause: &'a Cause,
    /// Failed attempts in a row (0 when an open connection was just lost).
    pub failures: u32,
    /// How long the client waits before the next attempt.
    pub delay: Duration,
}

/// The end of a [`Reconnecting`] client: nothing more can be read or sent.
#[derive(Debug)]
#[non_exhaustive]
pub enum Ended {
    /// The policy's [`max_attempts`](Backoff::max_attempts) or
    /// [`max_elapsed`](Backoff::max_elapsed) were used up, or the failure was one of
    /// [`stop_if`](Reconnecting::stop_if).
    GaveUp {
        /// The failed attempts in a row.
        failures: u32,
        /// The time since the connection was lost (or the first attempt failed).
        elapsed: Duration,
        /// Why the last attempt failed.
        last: Cause,
    },
    /// [`close`](Reconnecting::close) was called, or an earlier call returned
    /// [`GaveUp`](Ended::GaveUp).
    Closed,
}

impl fmt::Display for Ended {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ended::GaveUp {
                failures,
                elapsed,
                last,
            } => write!(
                f,
                "gave up reconnecting after {failures} failed attempts in {elapsed:?}: {last}"
            ),
            Ended::Closed => f.write_str("the client was closed"),
        }
    }
}

impl std::error::Error for Ended {}

type ConnectHook =
    Box<dyn FnMut(&mut WebSocket<MaybeTlsStream>, &Response) -> Result<(), Error> + Send>;
type FailureHook = Box<dyn FnMut(&Failure<'_>) + Send>;
type StopIf = Box<dyn Fn(&Cause) -> bool + Send>;

/// A blocking client that reconnects, with exponential backoff, jitter and a cap.
///
/// * The first [`read`](Self::read) or [`send_text`](Self::send_text) connects (or call
///   [`connect`](Self::connect)).
/// * When the connection ends (the server closes, the transport breaks, or a keepalive Ping
///   of [`Config::keepalive_interval`](crate::Config::keepalive_interval) goes unanswered
///   within [`Config::keepalive_timeout`](crate::Config::keepalive_timeout): a dead peer),
///   the client waits the policy's first delay and connects again; each failed attempt
///   lengthens the wait, up to [`Backoff::max`].
/// * After every connect, the [`on_connect`](Self::on_connect) hook runs on the new
///   connection (to send a session token or the subscriptions again); if it fails, that
///   attempt counts as failed.
/// * When the policy gives up, [`Ended::GaveUp`] says after how many attempts and why.
///
/// Messages received are returned by [`read`](Self::read); Close frames are not (they end a
/// connection, and the client reconnects). A message sent on a connection that is lost is
/// not sent again: an application that needs that resends from its hook.
///
/// ```no_run
/// use std::time::Duration;
/// use ws_std::reconnect::Reconnecting;
/// use ws_std::ws_proto::backoff::Backoff;
/// use ws_std::{ClientBuilder, Config};
///
/// let mut config = Config::default();
/// config.keepalive_interval = Some(Duration::from_secs(15)); // detects a dead server
/// config.keepalive_timeout = Some(Duration::from_secs(10));
/// let policy = Backoff {
///     max: Duration::from_secs(10),
///     max_elapsed: Some(Duration::from_secs(300)),
///     ..Backoff::default()
/// };
/// let mut client = Reconnecting::new(ClientBuilder::new("ws://127.0.0.1:8080/feed").config(config), policy)
///     .on_connect(|ws, _response| ws.send_text(r#"{"subscribe":"prices"}"#))
///     .on_failure(|f| eprintln!("{}; retrying in {:?}", f.cause, f.delay));
/// loop {
///     match client.read() {
///         Ok(message) => println!("{message:?}"),
///         Err(ended) => {
///             eprintln!("{ended}");
///             break;
///         }
///     }
/// }
/// ```
pub struct Reconnecting {
    builder: ClientBuilder,
    retry: Retry,
    epoch: StdInstant,
    ws: Option<WebSocket<MaybeTlsStream>>,
    on_connect: Option<ConnectHook>,
    on_failure: Option<FailureHook>,
    stop_if: Option<StopIf>,
    connects: u64,
    /// Set by `close`, or when the policy gave up.
    ended: bool,
}

impl fmt::Debug for Reconnecting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reconnecting")
            .field("builder", &self.builder)
            .field("retry", &self.retry)
            .field("connected", &self.ws.is_some())
            .field("connects", &self.connects)
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

impl Reconnecting {
    /// A client for `builder`'s URL and settings (used again for every connection) under
    /// `policy`. Nothing is connected yet.
    pub fn new(builder: ClientBuilder, policy: Backoff) -> Reconnecting {
        Reconnecting {
            builder,
            retry: Retry::new(policy),
            epoch: StdInstant::now(),
            ws: None,
            on_connect: None,
            on_failure: None,
            stop_if: None,
            connects: 0,
            ended: false,
        }
    }

    /// Runs `hook` on every new connection, the first included, before anything else is
    /// read or sent on it. An error fails that attempt (the connection is dropped).
    pub fn on_connect(
        mut self,
        hook: impl FnMut(&mut WebSocket<MaybeTlsStream>, &Response) -> Result<(), Error>
            + Send
            + 'static,
    ) -> Self {
        self.on_connect = Some(Box::new(hook));
        self
    }

    /// Runs `hook` when a connection or an attempt ends, before the wait (for logging).
    pub fn on_failure(mut self, hook: impl FnMut(&Failure<'_>) + Send + 'static) -> Self {
        self.on_failure = Some(Box::new(hook));
        self
    }

    /// Gives up at once (with [`Ended::GaveUp`]) after a failure for which `stop` is true:
    /// one that retrying cannot mend, such as a refused token or a wrong path.
    ///
    /// ```no_run
    /// use ws_std::reconnect::{Cause, Reconnecting};
    /// use ws_std::{ClientBuilder, Error, HandshakeError};
    ///
    /// let client = Reconnecting::new(ClientBuilder::new("ws://127.0.0.1:8080/"), Default::default())
    ///     .stop_if(|cause| match cause {
    ///         // 4xx refusals other than 408 (timeout) and 429 (too many requests).
    ///         Cause::Error(Error::Handshake(HandshakeError::Rejected(r))) => {
    ///             (400..500).contains(&r.status()) && ![408, 429].contains(&r.status())
    ///         }
    ///         _ => false,
    ///     });
    /// ```
    pub fn stop_if(mut self, stop: impl Fn(&Cause) -> bool + Send + 'static) -> Self {
        self.stop_if = Some(Box::new(stop));
        self
    }

    /// How many connections have been opened (each one's hook succeeded).
    pub fn connects(&self) -> u64 {
        self.connects
    }

    /// The current connection, if one is open.
    pub fn websocket(&mut self) -> Option<&mut WebSocket<MaybeTlsStream>> {
        self.ws.as_mut()
    }

    /// Connects now if no connection is open (retrying under the policy), and returns it.
    ///
    /// # Errors
    ///
    /// [`Ended`] once the policy gives up, or after [`close`](Self::close).
    pub fn connect(&mut self) -> Result<&mut WebSocket<MaybeTlsStream>, Ended> {
        if self.ended {
            return Err(Ended::Closed);
        }
        if self.ws.is_none() {
            if let Err(cause) = self.attempt() {
                self.retry_after(cause, false)?;
            }
        }
        Ok(self.ws.as_mut().expect("connected"))
    }

    /// The next message (text, binary, ping or pong), reconnecting as often as the policy
    /// allows when the connection ends.
    ///
    /// # Errors
    ///
    /// [`Ended`] once the policy gives up, or after [`close`](Self::close).
    pub fn read(&mut self) -> Result<Message, Ended> {
        loop {
            let ws = self.connect()?;
            let cause = match ws.read() {
                Ok(Message::Close(frame)) => Cause::Closed(frame),
                Ok(message) => return Ok(message),
                Err(e) => Cause::Error(e),
            };
            self.ws = None;
            self.retry_after(cause, true)?;
        }
    }

    /// Sends a text message on the current connection (connecting first if needed). If the
    /// send fails, the client reconnects and the message is not sent again.
    ///
    /// # Errors
    ///
    /// [`Ended`] once the policy gives up, or after [`close`](Self::close).
    pub fn send_text(&mut self, text: &str) -> Result<(), Ended> {
        self.send(Message::Text(text.into()))
    }

    /// Sends a message, as [`send_text`](Self::send_text).
    ///
    /// # Errors
    ///
    /// As [`send_text`](Self::send_text).
    pub fn send(&mut self, message: Message) -> Result<(), Ended> {
        let ws = self.connect()?;
        if let Err(e) = ws.send(message) {
            self.ws = None;
            self.retry_after(Cause::Error(e), true)?;
        }
        Ok(())
    }

    /// Closes the connection with `code` and `reason` (waiting for the server's Close, up to
    /// the close timeout of the configuration) and ends the client: no more reconnects.
    pub fn close(&mut self, code: CloseCode, reason: &str) {
        self.ended = true;
        if let Some(mut ws) = self.ws.take() {
            if ws.close(code, reason).is_ok() {
                while ws.read().is_ok() {}
            }
        }
    }

    /// One attempt: connect, run the hook.
    fn attempt(&mut self) -> Result<(), Cause> {
        let (mut ws, response) = self.builder.clone().connect().map_err(Cause::Error)?;
        if let Some(hook) = &mut self.on_connect {
            hook(&mut ws, &response).map_err(Cause::Error)?;
        }
        self.retry.succeeded();
        self.connects += 1;
        self.ws = Some(ws);
        Ok(())
    }

    /// After `cause` (a lost connection when `lost`, else a failed attempt): wait, attempt,
    /// and so on until connected or the policy gives up.
    fn retry_after(&mut self, mut cause: Cause, mut lost: bool) -> Result<(), Ended> {
        loop {
            let now = Instant::from_duration(self.epoch.elapsed());
            let [a, b, c, d, ..] = nonce();
            let random = u32::from_le_bytes([a, b, c, d]);
            let delay = if lost {
                self.retry.lost(now, random)
            } else {
                self.retry.failed(now, random)
            };
            let stop = self.stop_if.as_ref().is_some_and(|stop| stop(&cause));
            let Some(delay) = delay.filter(|_| !stop) else {
                self.ended = true;
                return Err(Ended::GaveUp {
                    failures: self.retry.failures(),
                    elapsed: self.retry.elapsed(now),
                    last: cause,
                });
            };
            if let Some(hook) = &mut self.on_failure {
                hook(&Failure {
                    cause: &cause,
                    failures: self.retry.failures(),
                    delay,
                });
            }
            // The backoff delay itself: what this client is for.
            thread::sleep(delay);
            match self.attempt() {
                Ok(()) => return Ok(()),
                Err(next) => {
                    cause = next;
                    lost = false;
                }
            }
        }
    }
}
