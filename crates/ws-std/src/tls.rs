//! TLS (feature `tls`): rustls streams as [`Transport`]s, for `wss://` clients and TLS
//! servers.
//!
//! A TLS stream is a [`rustls::StreamOwned`] over a [`TcpStream`] ([`ClientTlsStream`],
//! [`ServerTlsStream`]): its TLS handshake runs as the first phase of the WebSocket
//! handshake ([`Transport::handshake`]), under the same [`handshake timeout`], so a peer
//! that stalls in TLS is cut off like one that stalls in the upgrade. The configurations
//! come from [`ws_tls`] (re-exported here: [`client`], [`server`], [`pem`]), which uses the
//! *ring* crypto provider explicitly.
//!
//! * Clients: [`connect`](crate::connect) and
//!   [`ClientBuilder::connect`](crate::ClientBuilder::connect) take `wss://` URLs (the
//!   stream is a [`MaybeTlsStream::Tls`](crate::MaybeTlsStream::Tls)), the server's name
//!   (SNI and certificate check) from the URL's host, trusting the bundled roots unless
//!   [`ClientBuilder::ca_file`](crate::ClientBuilder::ca_file),
//!   [`roots`](crate::ClientBuilder::roots) or [`tls`](crate::ClientBuilder::tls) say
//!   otherwise. For TLS over a stream of your own, [`client_stream`] and
//!   [`ClientBuilder::handshake`](crate::ClientBuilder::handshake).
//! * Servers: [`ServerBuilder::tls`](crate::ServerBuilder::tls) and
//!   [`ServerBuilder::accept_tls`](crate::ServerBuilder::accept_tls); or wrap a stream with
//!   [`server_stream`] and hand it to any accept function.
//!
//! [`handshake timeout`]: ws_proto::Config::handshake_timeout

use std::io::{self, Write};
use std::net::TcpStream;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::Duration;

use ws_tls::pki_types::ServerName;
use ws_tls::rustls::{self, ClientConfig, ConnectionCommon, ServerConfig, SideData, StreamOwned};

pub use ws_tls::{client, pem, server, ALPN_HTTP_1_1};
pub use ws_tls::{provider, Error as ConfigError};

use crate::Transport;

/// A TLS stream over TCP, for either side.
pub type TlsStream<C> = StreamOwned<C, TcpStream>;

/// The stream of a `wss://` client.
pub type ClientTlsStream = TlsStream<rustls::ClientConnection>;

/// The stream of a TLS server's connection.
pub type ServerTlsStream = TlsStream<rustls::ServerConnection>;

/// Any rustls stream over a [`Transport`] is one: the read timeout and the shutdown go to
/// the transport under it, and the TLS handshake is [`Transport::handshake`].
impl<C, D, T> Transport for StreamOwned<C, T>
where
    C: DerefMut + Deref<Target = ConnectionCommon<D>>,
    D: SideData,
    T: Transport,
{
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.sock.set_read_timeout(timeout)
    }

    /// Sends TLS's `close_notify`, then closes the transport's write side: the peer can
    /// tell this end from a truncation.
    fn shutdown(&mut self) -> io::Result<()> {
        self.conn.send_close_notify();
        let flushed = self.flush();
        // The transport is closed even when the alert could not be written.
        let closed = self.sock.shutdown();
        flushed.and(closed)
    }

    fn handshake(&mut self) -> io::Result<()> {
        while self.conn.is_handshaking() {
            let (read, written) = self.conn.complete_io(&mut self.sock)?;
            if read == 0 && written == 0 {
                // No progress while handshaking: the peer closed the connection (rustls
                // reports that itself; this is the fallback that keeps the loop finite).
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed during the TLS handshake",
                ));
            }
        }
        Ok(())
    }
}

/// A client TLS stream over `tcp`, for the server `host` (a DNS name or an IP address:
/// the name sent as SNI and checked against the server's certificate). Nothing is read or
/// written yet: the WebSocket handshake runs the TLS handshake first.
///
/// # Errors
///
/// `InvalidInput` when `host` is neither a DNS name nor an IP address; a rustls error
/// (`InvalidData`) when the configuration cannot start a connection.
pub fn client_stream(
    config: Arc<ClientConfig>,
    host: &str,
    tcp: TcpStream,
) -> io::Result<ClientTlsStream> {
    let name = ServerName::try_from(host.to_owned()).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("invalid TLS server name {host:?}: {e}"),
        )
    })?;
    let conn = rustls::ClientConnection::new(config, name)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    Ok(StreamOwned::new(conn, tcp))
}

/// A server TLS stream over an accepted `tcp` connection. Nothing is read or written yet:
/// the WebSocket handshake runs the TLS handshake first.
///
/// ```no_run
/// use std::net::TcpListener;
///
/// let config = ws_std::tls::server::config_from_pem_files("cert.pem", "key.pem")?;
/// let listener = TcpListener::bind("127.0.0.1:8443")?;
/// let (tcp, _) = listener.accept()?;
/// let stream = ws_std::tls::server_stream(config, tcp)?;
/// let mut ws = ws_std::accept(stream)?; // or accept_with, ServerBuilder::start_accept, ...
/// ws.send_text("hello over TLS")?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// A rustls error (`InvalidData`) when the configuration cannot start a connection.
pub fn server_stream(config: Arc<ServerConfig>, tcp: TcpStream) -> io::Result<ServerTlsStream> {
    let conn = rustls::ServerConnection::new(config)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    Ok(StreamOwned::new(conn, tcp))
}

/// The client configuration of `wss://` connections given none: the bundled roots, built
/// once (so that the connections share its session cache: a reconnection resumes).
pub(crate) fn default_client_config() -> io::Result<Arc<ClientConfig>> {
    Ok(client::shared_default_config()?)
}
