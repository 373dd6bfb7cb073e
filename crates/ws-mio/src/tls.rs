//! TLS (feature `tls`): what an application needs for `wss://` clients and TLS servers,
//! without depending on rustls or ws-tls itself.
//!
//! * Servers: set [`Options::tls`](crate::Options) to a [`ServerConfig`], usually
//!   [`server::config_from_pem_files`] (certificate chain and key in PEM, ALPN
//!   `http/1.1`).
//! * Clients: [`Ctx::connect`](crate::Ctx::connect) takes `wss://` URLs, trusting the
//!   bundled Mozilla roots, or what [`Connect::tls`](crate::Connect::tls) says
//!   ([`client::config`] of [`client::roots_from_pem_file`], of `client::platform_roots`
//!   with ws-tls's feature `platform-roots`, or of your own [`RootCertStore`]).
//!
//! Every configuration built here uses one crypto provider, [`provider`] (*ring*), passed
//! explicitly, so rustls never has to pick a process-wide one.
//!
//! ```no_run
//! use ws_mio::{Options, Server};
//! # struct Echo;
//! # impl ws_mio::Handler for Echo {}
//!
//! let mut options = Options::default();
//! options.tls = Some(ws_mio::tls::server::config_from_pem_files("cert.pem", "key.pem")?);
//! let server = Server::bind("0.0.0.0:8443", options, |_| Echo)?;
//! server.run()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub use rustls;
pub use rustls::{ClientConfig, RootCertStore, ServerConfig};
pub use ws_tls::pki_types;
pub use ws_tls::{client, pem, provider, server, Error as ConfigError, ALPN_HTTP_1_1};
