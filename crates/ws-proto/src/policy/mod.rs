//! Ready-made server policies: who may connect, and how much they may send.
//!
//! Handshake policies look at a [`Request`] before the application's own decision and either
//! let it through or refuse it with a short plain-text [`HttpResponse`]:
//!
//! * [`AllowedOrigins`]: an `Origin` allow-list, with exact origins and wildcard subdomains
//!   (`https://*.example.com`); a missing `Origin` allowed or refused by choice; `403`;
//! * [`TokenAuth`]: a token from `Authorization: Bearer`, a query parameter or a cookie,
//!   checked by a callback; `401` with `WWW-Authenticate: Bearer ...`, or `403`.
//!
//! [`Policies`] holds several and runs them in order, first refusal wins; the adapters run
//! them before the application's accept callback (`ws_std::ServerBuilder::policy`,
//! `ws_mio::Options::policies`). Any closure `Fn(&Request) -> Result<(), HttpResponse>` is a
//! [`Policy`] too.
//!
//! The other two bound what an admitted client may take:
//!
//! * [`ConnectionsPerIp`]: open connections per peer address, counted by an adapter that
//!   knows the addresses (ws-mio: `Options::max_connections_per_ip`); `429` with
//!   `Retry-After`;
//! * [`RateLimit`] in [`Config::rate_limit`](crate::Config::rate_limit): a token bucket of
//!   messages and of bytes per connection, applied by the [`Connection`](crate::Connection)
//!   itself to every message received, with the time the adapter passes in; over the limit a
//!   message is dropped, or the connection is closed with 1008 ([`RateAction`]).
//!
//! ```
//! use ws_proto::handshake::{HttpRequest, Status};
//! use ws_proto::policy::{AllowedOrigins, Policies, TokenAuth, TokenCheck};
//!
//! let policies = Policies::new()
//!     .with(AllowedOrigins::new(["https://example.com", "https://*.example.com"]))
//!     .with(TokenAuth::new(|token, _request| match token {
//!         "s3cret" => TokenCheck::Valid,
//!         _ => TokenCheck::Invalid,
//!     }).query("token"));
//!
//! let head = b"GET /chat?token=s3cret HTTP/1.1\r\nHost: example.com\r\n\
//!              Origin: https://app.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
//!              Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
//! let Status::Complete((request, _)) = HttpRequest::parse(head, Default::default())? else {
//!     unreachable!()
//! };
//! let request = request.into_websocket()?;
//! assert!(policies.check(&request).is_ok());
//! # Ok::<(), ws_proto::HandshakeError>(())
//! ```

mod origin;
mod peers;
mod rate;
mod token;

use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::handshake::{HttpResponse, Request};

pub use origin::AllowedOrigins;
pub use peers::{peer_key, ConnectionsPerIp};
pub use rate::{Rate, RateAction, RateLimit, RateLimiter, TokenBucket, Verdict};
pub use token::{TokenAuth, TokenCheck, TokenSource};

/// A check of an opening handshake request, run before the application's decision: `Ok(())`
/// lets the request through, `Err` refuses it with that response.
///
/// Closures of that shape are policies:
///
/// ```
/// use ws_proto::handshake::HttpResponse;
/// use ws_proto::policy::Policies;
///
/// let policies = Policies::new().with(|request: &ws_proto::handshake::Request| {
///     match request.path() {
///         "/ws" => Ok(()),
///         _ => Err(HttpResponse::new(404).with_body("not found\n")),
///     }
/// });
/// assert_eq!(policies.len(), 1);
/// ```
pub trait Policy: Send + Sync {
    /// Lets `request` through, or refuses it with the response to send.
    fn check(&self, request: &Request) -> Result<(), HttpResponse>;
}

impl<F> Policy for F
where
    F: Fn(&Request) -> Result<(), HttpResponse> + Send + Sync,
{
    fn check(&self, request: &Request) -> Result<(), HttpResponse> {
        self(request)
    }
}

/// Handshake policies run in order; the first refusal is the answer. Cheap to clone (the
/// policies are shared).
#[derive(Clone, Default)]
pub struct Policies {
    list: Vec<Arc<dyn Policy>>,
}

impl core::fmt::Debug for Policies {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Policies")
            .field("len", &self.list.len())
            .finish()
    }
}

impl Policies {
    /// No policies: every request goes through.
    pub fn new() -> Policies {
        Policies::default()
    }

    /// Returns these policies with `policy` added last.
    pub fn with(mut self, policy: impl Policy + 'static) -> Policies {
        self.push(policy);
        self
    }

    /// Adds `policy` last.
    pub fn push(&mut self, policy: impl Policy + 'static) {
        self.list.push(Arc::new(policy));
    }

    /// How many policies there are.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Runs the policies in order: the first refusal, or `Ok(())` when all let `request`
    /// through.
    pub fn check(&self, request: &Request) -> Result<(), HttpResponse> {
        self.list
            .iter()
            .try_for_each(|policy| policy.check(request))
    }
}

impl Policy for Policies {
    fn check(&self, request: &Request) -> Result<(), HttpResponse> {
        Policies::check(self, request)
    }
}

/// A refusal with a short plain-text body: what every policy answers with.
pub(crate) fn refusal(status: u16, body: &str) -> HttpResponse {
    HttpResponse::new(status)
        .with_header("Content-Type", "text/plain; charset=utf-8")
        .with_body(body)
}

/// Parses a request for the tests of the policies.
#[cfg(test)]
pub(crate) fn test_request(target: &str, headers: &str) -> Request {
    let head = alloc::format!(
        "GET {target} HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\n{headers}\r\n"
    );
    let parsed = crate::handshake::HttpRequest::parse(head.as_bytes(), Default::default())
        .expect("valid head")
        .complete()
        .expect("complete head");
    parsed.0.into_websocket().expect("valid upgrade")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_run_in_order_and_the_first_refusal_wins() {
        let policies = Policies::new()
            .with(|_: &Request| Ok(()))
            .with(|_: &Request| Err(refusal(403, "first\n")))
            .with(|_: &Request| Err(refusal(401, "second\n")));
        let refused = policies.check(&test_request("/", "")).unwrap_err();
        assert_eq!(refused.status(), 403);
        assert_eq!(refused.body(), b"first\n");
        assert_eq!(
            refused.header("content-type"),
            Some(&b"text/plain; charset=utf-8"[..])
        );
    }

    #[test]
    fn no_policies_let_everything_through() {
        let policies = Policies::new();
        assert!(policies.is_empty());
        assert!(policies.check(&test_request("/any?x=1", "")).is_ok());
    }
}
