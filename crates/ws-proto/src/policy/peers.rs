//! Counting open connections per peer address.

use alloc::collections::BTreeMap;
use core::net::{IpAddr, Ipv6Addr};

use super::refusal;
use crate::handshake::HttpResponse;

/// The address a peer is counted under: an IPv4 address as it is (an IPv4-mapped IPv6
/// address as the IPv4 address it maps), an IPv6 address by its /64 prefix, since one
/// client usually holds a whole /64.
///
/// ```
/// use std::net::IpAddr;
/// use ws_proto::policy::peer_key;
/// let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
/// let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
/// assert_eq!(peer_key(a), peer_key(b));
/// let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
/// assert_eq!(peer_key(mapped), "192.0.2.7".parse::<IpAddr>().unwrap());
/// ```
pub fn peer_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(prefix))
            }
        },
    }
}

/// Open connections per peer address ([`peer_key`]), for a limit on each: the adapter that
/// knows the addresses calls [`acquire`](Self::acquire) when it accepts a connection and
/// [`release`](Self::release) when that connection's socket is closed. A refused
/// connection is answered with [`refusal`](Self::refusal): `429 Too Many Requests` with
/// `Retry-After`.
///
/// What it bounds: the connections one address holds, so that one client cannot take all of
/// a server's connections. Memory: one map entry (about 50 bytes) per address with open
/// connections, so at most one per connection.
///
/// ```
/// use std::net::IpAddr;
/// use ws_proto::policy::ConnectionsPerIp;
/// let mut counts = ConnectionsPerIp::new(2);
/// let ip: IpAddr = "192.0.2.1".parse().unwrap();
/// assert!(counts.acquire(ip));
/// assert!(counts.acquire(ip));
/// assert!(!counts.acquire(ip)); // a third is refused
/// assert_eq!(counts.refusal().status(), 429);
/// counts.release(ip);
/// assert!(counts.acquire(ip));
/// ```
#[derive(Debug, Clone)]
pub struct ConnectionsPerIp {
    max: usize,
    retry_after: u32,
    open: BTreeMap<IpAddr, usize>,
}

impl ConnectionsPerIp {
    /// At most `max` open connections per address; refusals say `Retry-After: 5`.
    pub fn new(max: usize) -> ConnectionsPerIp {
        ConnectionsPerIp {
            max,
            retry_after: 5,
            open: BTreeMap::new(),
        }
    }

    /// The seconds of `Retry-After` in [`refusal`](Self::refusal).
    pub fn with_retry_after(mut self, seconds: u32) -> ConnectionsPerIp {
        self.retry_after = seconds;
        self
    }

    /// The limit per address.
    pub fn max(&self) -> usize {
        self.max
    }

    /// Counts one more connection from `ip` if it has fewer than the limit open; `false`
    /// means it is to be refused (nothing is counted then).
    pub fn acquire(&mut self, ip: IpAddr) -> bool {
        let count = self.open.entry(peer_key(ip)).or_insert(0);
        if *count >= self.max {
            if *count == 0 {
                self.open.remove(&peer_key(ip));
            }
            return false;
        }
        *count += 1;
        true
    }

    /// A connection from `ip` that [`acquire`](Self::acquire) counted is closed.
    pub fn release(&mut self, ip: IpAddr) {
        let key = peer_key(ip);
        if let Some(count) = self.open.get_mut(&key) {
            *count -= 1;
            if *count == 0 {
                self.open.remove(&key);
            }
        }
    }

    /// The connections counted for `ip` now.
    pub fn count(&self, ip: IpAddr) -> usize {
        self.open.get(&peer_key(ip)).copied().unwrap_or(0)
    }

    /// How many addresses have connections counted.
    pub fn addresses(&self) -> usize {
        self.open.len()
    }

    /// The answer to a refused connection: `429 Too Many Requests`, `Retry-After`, and the
    /// body `too many connections from this address`.
    pub fn refusal(&self) -> HttpResponse {
        refusal(429, "too many connections from this address\n")
            .with_header("Retry-After", &alloc::format!("{}", self.retry_after))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn counts_per_address_and_forgets_closed_ones() {
        let mut counts = ConnectionsPerIp::new(1);
        assert!(counts.acquire(ip("10.0.0.1")));
        assert!(counts.acquire(ip("10.0.0.2")));
        assert!(!counts.acquire(ip("10.0.0.1")));
        assert!(!counts.acquire(ip("::ffff:10.0.0.1")));
        assert_eq!(counts.count(ip("10.0.0.1")), 1);
        assert_eq!(counts.addresses(), 2);
        counts.release(ip("10.0.0.1"));
        counts.release(ip("10.0.0.2"));
        assert_eq!(counts.addresses(), 0);
        // A release without an acquire changes nothing.
        counts.release(ip("10.0.0.3"));
        assert_eq!(counts.addresses(), 0);
    }

    #[test]
    fn ipv6_is_counted_by_its_64_prefix() {
        let mut counts = ConnectionsPerIp::new(2);
        assert!(counts.acquire(ip("2001:db8::1")));
        assert!(counts.acquire(ip("2001:db8::ffff:2")));
        assert!(!counts.acquire(ip("2001:db8::3")));
        assert!(counts.acquire(ip("2001:db8:0:1::1")));
    }

    #[test]
    fn a_zero_limit_refuses_everyone_and_keeps_nothing() {
        let mut counts = ConnectionsPerIp::new(0);
        assert!(!counts.acquire(ip("10.0.0.1")));
        assert_eq!(counts.addresses(), 0);
    }

    #[test]
    fn refusal_is_429_with_retry_after() {
        let refusal = ConnectionsPerIp::new(1).with_retry_after(30).refusal();
        assert_eq!(refusal.status(), 429);
        assert_eq!(refusal.header("retry-after"), Some(&b"30"[..]));
        assert_eq!(refusal.body(), b"too many connections from this address\n");
        let mut out = alloc::vec::Vec::new();
        refusal.write(&mut out).unwrap();
        assert!(out.starts_with(b"HTTP/1.1 429 Too Many Requests\r\n"));
    }
}
