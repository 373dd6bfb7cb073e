//! The client's configuration: whom it trusts.
//!
//! [`config`] turns a [`RootCertStore`] into a [`ClientConfig`] (the [`provider`], TLS 1.2
//! and 1.3, ALPN `http/1.1`, no client certificate). The store comes from
//! [`bundled_roots`] (the default of the adapters), `platform_roots` (feature
//! `platform-roots`), a CA file
//! ([`roots_from_pem_file`]) or your own. The server's name (SNI, and the name its
//! certificate is checked against) is not part of the configuration: the adapters take it
//! from the URL's host.

use std::path::Path;
use std::sync::Arc;
#[cfg(feature = "bundled-roots")]
use std::sync::OnceLock;

use rustls::{ClientConfig, RootCertStore};

use crate::pem::{certs_from, read};
use crate::{provider, Error, ALPN_HTTP_1_1};

/// A client configuration trusting the certificate authorities in `roots`.
///
/// # Errors
///
/// [`Error::Rustls`] if the provider supports none of the protocol versions (not the case
/// for *ring*).
pub fn config(roots: impl Into<Arc<RootCertStore>>) -> Result<Arc<ClientConfig>, Error> {
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|error| Error::Rustls {
            what: "protocol versions",
            error,
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![ALPN_HTTP_1_1.to_vec()];
    Ok(Arc::new(config))
}

/// The configuration the adapters use for `wss://` when given none: [`bundled_roots`].
///
/// # Errors
///
/// As [`config`].
#[cfg(feature = "bundled-roots")]
pub fn default_config() -> Result<Arc<ClientConfig>, Error> {
    config(bundled_roots())
}

/// [`default_config`], built once per process and shared by every call, so that the
/// connections share its session cache (a reconnection resumes its TLS session).
///
/// # Errors
///
/// As [`config`] (the first call; a failure is not kept).
#[cfg(feature = "bundled-roots")]
pub fn shared_default_config() -> Result<Arc<ClientConfig>, Error> {
    static CONFIG: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    if let Some(config) = CONFIG.get() {
        return Ok(Arc::clone(config));
    }
    let config = default_config()?;
    Ok(Arc::clone(CONFIG.get_or_init(|| config)))
}

/// The Mozilla root program's certificate authorities, compiled in (`webpki-roots`).
///
/// The same trust on every machine, read from no file at run time (a minimal container
/// without `/etc/ssl` works too); updating it is updating the crate. For the machine's own
/// store (a company CA installed by the administrator), use `platform_roots` (feature
/// `platform-roots`).
#[cfg(feature = "bundled-roots")]
pub fn bundled_roots() -> RootCertStore {
    RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    }
}

/// The operating system's trust store (`rustls-native-certs`: the OpenSSL directories on
/// Linux, Keychain on macOS, the system store on Windows). Certificates the store holds but
/// rustls cannot parse are skipped.
///
/// # Errors
///
/// [`Error::PlatformRoots`] when the store could not be read and yielded no certificate.
#[cfg(feature = "platform-roots")]
pub fn platform_roots() -> Result<RootCertStore, Error> {
    let loaded = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    let (added, _ignored) = roots.add_parsable_certificates(loaded.certs);
    if added == 0 {
        let why = match loaded.errors.first() {
            Some(e) => e.to_string(),
            None => "no certificate found".into(),
        };
        return Err(Error::PlatformRoots(why));
    }
    Ok(roots)
}

/// The certificate authorities of a PEM bundle (one or more `CERTIFICATE` sections): every
/// one must be a valid CA certificate.
///
/// # Errors
///
/// [`Error::Pem`], [`Error::NoCertificate`], or [`Error::Rustls`] for a certificate rustls
/// cannot use as a trust anchor.
pub fn roots_from_pem(pem: &[u8]) -> Result<RootCertStore, Error> {
    roots(pem, None)
}

/// The certificate authorities of the PEM file at `path` (a CA file, as `curl --cacert`
/// takes).
///
/// # Errors
///
/// [`Error::Read`] when the file cannot be read; otherwise as [`roots_from_pem`].
pub fn roots_from_pem_file(path: impl AsRef<Path>) -> Result<RootCertStore, Error> {
    let path = path.as_ref();
    roots(&read(path)?, Some(path))
}

fn roots(pem: &[u8], path: Option<&Path>) -> Result<RootCertStore, Error> {
    let mut roots = RootCertStore::empty();
    for cert in certs_from(pem, path)? {
        roots.add(cert).map_err(|error| Error::Rustls {
            what: "CA certificate",
            error,
        })?;
    }
    Ok(roots)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_roots_are_not_empty() {
        assert!(bundled_roots().len() > 50);
        let config = default_config().expect("config");
        assert_eq!(config.alpn_protocols, [b"http/1.1".to_vec()]);
    }

    #[test]
    fn the_shared_default_config_is_built_once() {
        let first = shared_default_config().expect("config");
        let second = shared_default_config().expect("config");
        assert!(Arc::ptr_eq(&first, &second));
        assert_eq!(first.alpn_protocols, [b"http/1.1".to_vec()]);
    }

    #[test]
    fn a_ca_file_becomes_a_store() {
        let made = rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("rcgen");
        let pem = format!("{}{}", made.cert.pem(), made.cert.pem());
        assert_eq!(roots_from_pem(pem.as_bytes()).expect("roots").len(), 2);
    }

    #[test]
    fn a_certificate_that_does_not_parse_is_refused() {
        let pem = "-----BEGIN CERTIFICATE-----\nAAECAwQ=\n-----END CERTIFICATE-----\n";
        let error = roots_from_pem(pem.as_bytes()).unwrap_err();
        assert!(
            matches!(
                error,
                Error::Rustls {
                    what: "CA certificate",
                    ..
                }
            ),
            "{error:?}"
        );
    }
}
