//! The stream of a client connection opened from a URL: plain TCP for `ws://`, TLS over TCP
//! for `wss://` (feature `tls`).

use std::io::{self, IoSlice, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::Transport;

/// The stream under a [`WebSocket`](crate::WebSocket) from [`connect`](crate::connect) or
/// [`ClientBuilder::connect`](crate::ClientBuilder::connect): a [`TcpStream`] for a `ws://`
/// URL, a TLS stream over one for `wss://` (feature `tls`).
///
/// Both kinds give the TCP socket under them, for socket options:
///
/// ```no_run
/// let (mut ws, _) = ws_std::connect("ws://127.0.0.1:8080/")?;
/// assert!(!ws.get_ref().is_tls());
/// ws.get_ref().tcp().set_write_timeout(Some(std::time::Duration::from_secs(5)))?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// Match on it with a wildcard arm: the `Tls` variant exists only with the `tls` feature,
/// which another crate in the build may turn on.
#[derive(Debug)]
#[non_exhaustive]
pub enum MaybeTlsStream {
    /// A `ws://` connection.
    Plain(TcpStream),
    /// A `wss://` connection (boxed: a rustls connection is large, a `TcpStream` is not).
    #[cfg(feature = "tls")]
    Tls(Box<crate::tls::ClientTlsStream>),
}

impl MaybeTlsStream {
    /// Whether the connection runs over TLS (`wss://`).
    pub fn is_tls(&self) -> bool {
        match self {
            MaybeTlsStream::Plain(_) => false,
            #[cfg(feature = "tls")]
            MaybeTlsStream::Tls(_) => true,
        }
    }

    /// The TCP socket (under TLS, for a `wss://` connection).
    pub fn tcp(&self) -> &TcpStream {
        match self {
            MaybeTlsStream::Plain(tcp) => tcp,
            #[cfg(feature = "tls")]
            MaybeTlsStream::Tls(tls) => &tls.sock,
        }
    }

    /// The TCP socket, for socket options that need `&mut`. Reading or writing it directly
    /// corrupts the connection.
    pub fn tcp_mut(&mut self) -> &mut TcpStream {
        match self {
            MaybeTlsStream::Plain(tcp) => tcp,
            #[cfg(feature = "tls")]
            MaybeTlsStream::Tls(tls) => &mut tls.sock,
        }
    }

    /// The TLS connection (feature `tls`): the negotiated protocol version, cipher suite,
    /// ALPN protocol and the server's certificates. `None` for a `ws://` connection.
    #[cfg(feature = "tls")]
    pub fn tls(&self) -> Option<&ws_tls::rustls::ClientConnection> {
        match self {
            MaybeTlsStream::Plain(_) => None,
            MaybeTlsStream::Tls(tls) => Some(&tls.conn),
        }
    }
}

impl From<TcpStream> for MaybeTlsStream {
    fn from(tcp: TcpStream) -> Self {
        MaybeTlsStream::Plain(tcp)
    }
}

#[cfg(feature = "tls")]
impl From<crate::tls::ClientTlsStream> for MaybeTlsStream {
    fn from(tls: crate::tls::ClientTlsStream) -> Self {
        MaybeTlsStream::Tls(Box::new(tls))
    }
}

impl MaybeTlsStream {
    /// The stream inside, whichever kind it is.
    fn inner(&mut self) -> &mut dyn Transport {
        match self {
            MaybeTlsStream::Plain(tcp) => tcp,
            #[cfg(feature = "tls")]
            MaybeTlsStream::Tls(tls) => &mut **tls,
        }
    }
}

impl Read for MaybeTlsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner().read(buf)
    }
}

impl Write for MaybeTlsStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner().write(buf)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.inner().write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner().flush()
    }
}

impl Transport for MaybeTlsStream {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.inner().set_read_timeout(timeout)
    }

    fn shutdown(&mut self) -> io::Result<()> {
        self.inner().shutdown()
    }

    fn handshake(&mut self) -> io::Result<()> {
        self.inner().handshake()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn a_plain_stream_reads_and_writes_its_socket() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut stream =
            MaybeTlsStream::from(TcpStream::connect(listener.local_addr().unwrap()).unwrap());
        let (mut peer, _) = listener.accept().unwrap();
        assert!(!stream.is_tls());
        assert_eq!(
            stream.tcp().peer_addr().unwrap(),
            listener.local_addr().unwrap()
        );
        stream.write_all(b"ping").unwrap();
        stream.flush().unwrap();
        let mut got = [0; 4];
        peer.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"ping");
        peer.write_all(b"pong").unwrap();
        stream.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"pong");
        Transport::shutdown(&mut stream).unwrap();
        assert_eq!(peer.read(&mut got).unwrap(), 0, "FIN after shutdown");
    }
}
