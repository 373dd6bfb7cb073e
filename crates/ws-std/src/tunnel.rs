//! The proxy phase of a client connection: TCP to the proxy, then ws-proto's
//! [`ProxyHandshake`] driven over it until the tunnel to the server is open.

use std::io::{self, Read, Write};
use std::net::{IpAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use ws_proto::proxy::{Progress, ProxyError, ProxyHandshake, ProxyUrl, Target};
use ws_proto::HandshakeError;

use crate::Error;

/// How much is read from the proxy at a time (a SOCKS5 reply is at most 262 bytes; an HTTP
/// reply head is usually under 200).
const READ_CHUNK: usize = 512;

/// Opens a tunnel through the proxy at `proxy` (a URL) to `host`, `port`: the TCP connection
/// to the proxy takes at most `connect_timeout`, the exchange with it ends by `deadline`.
pub(crate) fn open_tunnel(
    proxy: &str,
    host: &str,
    port: u16,
    connect_timeout: Option<Duration>,
    deadline: Option<Instant>,
) -> Result<TcpStream, Error> {
    let proxy = ProxyUrl::parse(proxy)?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let target = match host.parse::<IpAddr>() {
        Ok(ip) => Target::Ip(ip),
        Err(_) if proxy.resolves_names() => Target::Name(host.into()),
        // `socks5://`: the name is resolved here, and the proxy is given the address.
        Err(_) => Target::Ip(resolve(host, port)?),
    };
    let mut machine = ProxyHandshake::new(&proxy, target, port)?;
    let mut stream = crate::client::open_tcp(proxy.host(), proxy.port(), connect_timeout)?;
    stream.set_nodelay(true)?;
    let mut out = Vec::new();
    let mut chunk = [0u8; READ_CHUNK];
    let after = loop {
        if machine.poll_transmit(&mut out) {
            stream.set_write_timeout(remaining(deadline)?)?;
            stream.write_all(&out).map_err(|e| timed_out(e, deadline))?;
            out.clear();
        }
        stream.set_read_timeout(remaining(deadline)?)?;
        let n = match stream.read(&mut chunk) {
            Ok(0) => {
                return Err(Error::Proxy(ProxyError::BadReply(
                    "the proxy closed the connection",
                )))
            }
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(timed_out(e, deadline)),
        };
        match machine.receive_data(&chunk[..n])? {
            Progress::NeedMore => {}
            Progress::Ready(after) => break after,
        }
    };
    if !after.is_empty() {
        // The server speaks only after our request, which is not sent yet.
        return Err(Error::Proxy(ProxyError::BadReply(
            "data from the tunnel before the request",
        )));
    }
    stream.set_read_timeout(None)?;
    stream.set_write_timeout(None)?;
    Ok(stream)
}

/// The time left until `deadline` (`None`: no deadline), or the handshake's timeout once it
/// has passed.
fn remaining(deadline: Option<Instant>) -> Result<Option<Duration>, Error> {
    match deadline {
        None => Ok(None),
        Some(d) => match d.checked_duration_since(Instant::now()) {
            Some(left) if !left.is_zero() => Ok(Some(left)),
            _ => Err(Error::Handshake(HandshakeError::Timeout)),
        },
    }
}

/// A read or write that stopped at the socket timeout is the handshake's timeout.
fn timed_out(e: io::Error, deadline: Option<Instant>) -> Error {
    let stalled = matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    );
    if stalled && deadline.is_some() {
        Error::Handshake(HandshakeError::Timeout)
    } else {
        Error::Io(e)
    }
}

fn resolve(host: &str, port: u16) -> Result<IpAddr, Error> {
    (host, port)
        .to_socket_addrs()?
        .next()
        .map(|a| a.ip())
        .ok_or_else(|| {
            Error::Io(io::Error::new(
                io::ErrorKind::NotFound,
                "host resolved to no address",
            ))
        })
}
