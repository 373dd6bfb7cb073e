//! TLS (feature `tls`): tokio-rustls streams with the configurations of [`ws_tls`] (the
//! same as ws-std's and ws-mio's: the *ring* provider passed explicitly, ALPN `http/1.1`).
//!
//! * Clients: [`connect_async`](crate::connect_async) and
//!   [`ClientBuilder::connect`](crate::ClientBuilder::connect) take `wss://` URLs; the URL's
//!   host is the name sent (SNI) and checked against the certificate; trust is the bundled
//!   roots unless [`ClientBuilder::tls`](crate::ClientBuilder::tls) says otherwise.
//! * Servers: [`ServerBuilder::tls`](crate::ServerBuilder::tls) and
//!   [`ServerBuilder::accept_tls`](crate::ServerBuilder::accept_tls).
//!
//! The TLS handshake runs under the WebSocket handshake's timeout.

use std::io;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::rustls::ClientConfig;

pub use ws_tls::{client, pem, server, ALPN_HTTP_1_1};

/// The client TLS handshake over `stream` for the server `host`.
pub(crate) async fn connect<S>(
    config: Arc<ClientConfig>,
    host: &str,
    stream: S,
) -> io::Result<tokio_rustls::client::TlsStream<S>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let name = ServerName::try_from(host.to_owned()).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("invalid TLS server name {host:?}: {e}"),
        )
    })?;
    tokio_rustls::TlsConnector::from(config)
        .connect(name, stream)
        .await
}

/// The client configuration of `wss://` connections given none: the bundled roots, built
/// once and shared with every adapter's connections (their session cache too).
pub(crate) fn default_client_config() -> io::Result<Arc<ClientConfig>> {
    Ok(client::shared_default_config()?)
}
