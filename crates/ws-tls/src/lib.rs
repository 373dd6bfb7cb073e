//! `ws-tls`: the TLS configuration of the WebSocket adapters, in one place.
//!
//! Both adapters (the blocking `ws-std` and the event loop `ws-mio`) run TLS through
//! [`rustls`]; this crate builds its configurations the way they need them:
//!
//! * [`client`]: a [`rustls::ClientConfig`] trusting the bundled Mozilla roots
//!   ([`client::bundled_roots`], the default), the operating system's store
//!   (`client::platform_roots`, feature `platform-roots`), a CA file in PEM
//!   ([`client::roots_from_pem_file`]) or any [`RootCertStore`](rustls::RootCertStore).
//! * [`server`]: a [`rustls::ServerConfig`] from a certificate chain and private key in PEM
//!   (files or bytes), answering ALPN `http/1.1`.
//! * [`pem`]: the certificate and key readers under them.
//!
//! Every configuration is built with one crypto provider, [`provider`] (*ring*), passed
//! explicitly: rustls never has to pick a process-wide default, so an application that also
//! links another provider cannot hit rustls's "no process-level CryptoProvider" panic.
//!
//! ```
//! # fn main() -> Result<(), ws_tls::Error> {
//! // A client that trusts the bundled roots (wss:// to public servers).
//! let config = ws_tls::client::config(ws_tls::client::bundled_roots())?;
//! assert_eq!(config.alpn_protocols, [b"http/1.1".to_vec()]);
//! # Ok(())
//! # }
//! ```

mod error;

pub mod client;
pub mod pem;
pub mod server;

pub use error::Error;
pub use rustls;
pub use rustls_pki_types as pki_types;

use std::sync::Arc;

use rustls::crypto::CryptoProvider;

/// The ALPN protocol id a WebSocket connection runs over (RFC 6455 is an HTTP/1.1 upgrade).
pub const ALPN_HTTP_1_1: &[u8] = b"http/1.1";

/// The crypto provider every configuration of this crate uses: rustls's *ring* provider.
///
/// *ring* builds with the C compiler alone (no cmake, no Go, no clang), which every machine
/// with a Rust toolchain for C-using crates has; `aws-lc-rs` would need cmake here. A
/// configuration you build yourself for ws-std or ws-mio can use it too:
///
/// ```
/// let config = ws_tls::rustls::ClientConfig::builder_with_provider(ws_tls::provider())
///     .with_safe_default_protocol_versions()
///     .expect("ring supports TLS 1.2 and 1.3")
///     .with_root_certificates(ws_tls::client::bundled_roots())
///     .with_no_client_auth();
/// # drop(config);
/// ```
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}
