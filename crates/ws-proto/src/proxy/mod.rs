//! Proxies for clients, sans-IO: HTTP `CONNECT` (with optional Basic authentication) and
//! SOCKS5 (RFC 1928, with optional username/password authentication, RFC 1929).
//!
//! A [`ProxyUrl`] names the proxy (`http://user:pass@host:port`, `socks5://...`,
//! `socks5h://...`). A [`ProxyHandshake`] is the small state machine that asks the proxy for a
//! tunnel to the WebSocket server: the caller writes what [`ProxyHandshake::poll_transmit`]
//! hands out, feeds what it reads to [`ProxyHandshake::receive_data`], and once that returns
//! [`Progress::Ready`] the connection is a tunnel: the WebSocket handshake runs over it, and the
//! bytes that followed the proxy's reply (if any) are the start of the server's answer.
//!
//! The machine keeps at most [`MAX_REPLY`] bytes of a reply, never panics on what the proxy
//! sends, and fails with a [`ProxyError`] that says what went wrong: the proxy refused (with
//! its HTTP status or SOCKS reply code), authentication failed, or the reply was not one.
//!
//! ```
//! use ws_proto::proxy::{Progress, ProxyHandshake, ProxyUrl, Target};
//!
//! let proxy = ProxyUrl::parse("http://alice:secret@proxy.example:3128")?;
//! let target = Target::Name("echo.example".into());
//! let mut handshake = ProxyHandshake::new(&proxy, target, 443)?;
//! let mut out = Vec::new();
//! handshake.poll_transmit(&mut out);
//! assert!(out.starts_with(b"CONNECT echo.example:443 HTTP/1.1\r\n"));
//! // The proxy's answer, and the first bytes through the tunnel behind it.
//! let reply = b"HTTP/1.1 200 Connection established\r\n\r\nHTTP/1.1 101";
//! assert_eq!(handshake.receive_data(reply)?, Progress::Ready(b"HTTP/1.1 101".to_vec()));
//! # Ok::<(), ws_proto::proxy::ProxyError>(())
//! ```

mod http;
mod socks5;
mod url;

#[cfg(test)]
mod proptests;

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::net::IpAddr;

pub use url::{ProxyKind, ProxyUrl};

/// The most bytes of a proxy's reply that are kept while waiting for its end (an HTTP reply
/// head, or a SOCKS5 message). A longer reply fails with [`ProxyError::ReplyTooLarge`].
pub const MAX_REPLY: usize = 8 * 1024;

/// Where the tunnel should lead: the WebSocket server's host.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    /// A host name, resolved by the proxy (HTTP `CONNECT` and `socks5h://`).
    Name(String),
    /// An address (for `socks5://`, the caller resolves the name first).
    Ip(IpAddr),
}

/// What [`ProxyHandshake::receive_data`] has made of the bytes so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// The reply is not complete: read more (after writing what
    /// [`ProxyHandshake::poll_transmit`] has, if anything).
    NeedMore,
    /// The tunnel is open. The bytes are those that followed the proxy's reply: they belong
    /// to the tunnelled connection (usually none).
    Ready(Vec<u8>),
}

/// Why a proxy handshake failed. The connection to the proxy is of no further use.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProxyError {
    /// The proxy URL is not valid (the reason says why).
    InvalidUrl(&'static str),
    /// The target or credentials cannot be sent to this proxy (a SOCKS5 name or credential
    /// longer than 255 bytes, or empty; a control character in an HTTP target).
    InvalidRequest(&'static str),
    /// An HTTP proxy refused the tunnel with this status (other than 407), for example 403
    /// or 502.
    Refused(u16),
    /// The proxy wants credentials and none were given (HTTP 407, or a SOCKS5 proxy that
    /// accepts no method offered).
    AuthRequired,
    /// The proxy refused the credentials given (HTTP 407, or a SOCKS5 username/password
    /// failure).
    AuthFailed,
    /// A SOCKS5 proxy refused the connection with this reply code (RFC 1928 section 6:
    /// 1 general failure, 2 not allowed by ruleset, 3 network unreachable, 4 host
    /// unreachable, 5 connection refused, 6 TTL expired, 7 command not supported, 8 address
    /// type not supported).
    SocksRefused(u8),
    /// The proxy's reply is not a valid reply of its protocol.
    BadReply(&'static str),
    /// The reply did not end within [`MAX_REPLY`] bytes.
    ReplyTooLarge,
    /// [`ProxyHandshake::receive_data`] was called after the handshake ended.
    Finished,
}

impl fmt::Display for ProxyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProxyError::InvalidUrl(why) => write!(f, "invalid proxy URL: {why}"),
            ProxyError::InvalidRequest(why) => write!(f, "invalid proxy request: {why}"),
            ProxyError::Refused(status) => write!(f, "proxy refused the tunnel with HTTP {status}"),
            ProxyError::AuthRequired => f.write_str("proxy requires authentication"),
            ProxyError::AuthFailed => f.write_str("proxy authentication failed"),
            ProxyError::SocksRefused(code) => {
                write!(
                    f,
                    "SOCKS5 proxy refused the connection: {}",
                    socks5::reply_text(*code)
                )
            }
            ProxyError::BadReply(why) => write!(f, "bad reply from the proxy: {why}"),
            ProxyError::ReplyTooLarge => {
                write!(f, "proxy reply longer than {MAX_REPLY} bytes")
            }
            ProxyError::Finished => f.write_str("the proxy handshake is over"),
        }
    }
}

impl core::error::Error for ProxyError {}

/// The handshake with a proxy that opens a tunnel to the target; see the [module](self).
#[derive(Debug)]
pub struct ProxyHandshake {
    machine: Machine,
    /// Bytes to write to the proxy.
    out: Vec<u8>,
    /// Bytes of the reply received so far, not yet consumed.
    input: Vec<u8>,
}

#[derive(Debug)]
enum Machine {
    /// HTTP `CONNECT`; whether credentials were sent (a 407 means they failed).
    Http {
        credentials: bool,
    },
    Socks5(socks5::Socks5),
    Done,
}

impl ProxyHandshake {
    /// A handshake with `proxy` for a tunnel to `target`, `port`. The first bytes to send are
    /// ready in [`poll_transmit`](Self::poll_transmit).
    ///
    /// For a `socks5://` proxy, `target` should be a [`Target::Ip`] (the URL's promise is
    /// that names are resolved locally); a name is sent to the proxy as it is.
    ///
    /// # Errors
    ///
    /// [`ProxyError::InvalidRequest`] when the target or credentials cannot be sent.
    pub fn new(proxy: &ProxyUrl, target: Target, port: u16) -> Result<ProxyHandshake, ProxyError> {
        let mut out = Vec::new();
        let machine = match proxy.kind() {
            ProxyKind::Http => {
                http::write_request(&mut out, &target, port, proxy.credentials())?;
                Machine::Http {
                    credentials: proxy.credentials().is_some(),
                }
            }
            ProxyKind::Socks5 | ProxyKind::Socks5h => Machine::Socks5(socks5::Socks5::new(
                &mut out,
                target,
                port,
                proxy.credentials(),
            )?),
        };
        Ok(ProxyHandshake {
            machine,
            out,
            input: Vec::new(),
        })
    }

    /// Appends the bytes to send to the proxy to `out`; returns whether there were any.
    pub fn poll_transmit(&mut self, out: &mut Vec<u8>) -> bool {
        let any = !self.out.is_empty();
        out.append(&mut self.out);
        any
    }

    /// Whether the handshake has ended (ready or failed).
    pub fn is_done(&self) -> bool {
        matches!(self.machine, Machine::Done)
    }

    /// Takes bytes read from the proxy (any split). After [`Progress::NeedMore`], write what
    /// [`poll_transmit`](Self::poll_transmit) has (a SOCKS5 proxy is asked in steps), then
    /// read more.
    ///
    /// # Errors
    ///
    /// A [`ProxyError`]; the handshake is over then.
    pub fn receive_data(&mut self, data: &[u8]) -> Result<Progress, ProxyError> {
        if self.is_done() {
            return Err(ProxyError::Finished);
        }
        self.input.extend_from_slice(data);
        let result = self.step();
        match &result {
            Ok(Progress::NeedMore) if self.input.len() > MAX_REPLY => {
                self.finish();
                return Err(ProxyError::ReplyTooLarge);
            }
            Ok(Progress::NeedMore) => {}
            Ok(Progress::Ready(_)) | Err(_) => self.finish(),
        }
        result
    }

    fn finish(&mut self) {
        self.machine = Machine::Done;
        self.input = Vec::new();
        self.out.clear();
    }

    fn step(&mut self) -> Result<Progress, ProxyError> {
        let consumed = match &mut self.machine {
            Machine::Http { credentials } => match http::parse_reply(&self.input) {
                Err(ProxyError::AuthRequired) if *credentials => {
                    return Err(ProxyError::AuthFailed)
                }
                other => other?,
            },
            Machine::Socks5(socks) => socks.receive(&mut self.input, &mut self.out)?,
            Machine::Done => return Err(ProxyError::Finished),
        };
        Ok(match consumed {
            None => Progress::NeedMore,
            Some(n) => Progress::Ready(self.input.split_off(n.min(self.input.len()))),
        })
    }
}
