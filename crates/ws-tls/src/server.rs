//! The server's configuration: its certificate chain and private key.
//!
//! The configuration answers ALPN `http/1.1` (a client offering only other protocols, `h2`
//! alone, is refused with rustls's `no_application_protocol` alert; a client offering none
//! is served) and asks for no client certificate.

use std::path::Path;
use std::sync::Arc;

use rustls::ServerConfig;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::pem::{certs_from, certs_from_file, private_key, private_key_from_file};
use crate::{provider, Error, ALPN_HTTP_1_1};

/// A server configuration presenting `chain` (the server's certificate first, then the
/// intermediates) with the matching private `key`.
///
/// # Errors
///
/// [`Error::Rustls`] when rustls refuses the key (an unsupported type) or the key does not
/// belong to the first certificate.
pub fn config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<ServerConfig>, Error> {
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|error| Error::Rustls {
            what: "protocol versions",
            error,
        })?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|error| Error::Rustls {
            what: "certificate or private key",
            error,
        })?;
    config.alpn_protocols = vec![ALPN_HTTP_1_1.to_vec()];
    Ok(Arc::new(config))
}

/// [`config`] from PEM data: the chain's `CERTIFICATE` sections and a private key section
/// (both may be in one buffer).
///
/// # Errors
///
/// [`Error::Pem`], [`Error::NoCertificate`], [`Error::NoPrivateKey`]; otherwise as
/// [`config`].
pub fn config_from_pem(cert_pem: &[u8], key_pem: &[u8]) -> Result<Arc<ServerConfig>, Error> {
    config(certs_from(cert_pem, None)?, private_key(key_pem)?)
}

/// [`config`] from PEM files (as `--tls-cert FILE --tls-key FILE` name them; they may be the
/// same file).
///
/// # Errors
///
/// [`Error::Read`] naming the file that cannot be read; otherwise as
/// [`config_from_pem`], naming the file at fault.
pub fn config_from_pem_files(
    cert: impl AsRef<Path>,
    key: impl AsRef<Path>,
) -> Result<Arc<ServerConfig>, Error> {
    config(certs_from_file(cert)?, private_key_from_file(key)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_certificate_and_its_key_make_a_config() {
        let made = rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("rcgen");
        let config = config_from_pem(
            made.cert.pem().as_bytes(),
            made.signing_key.serialize_pem().as_bytes(),
        )
        .expect("config");
        assert_eq!(config.alpn_protocols, [b"http/1.1".to_vec()]);
    }

    #[test]
    fn pem_files_name_the_file_at_fault() {
        let made = rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("rcgen");
        let dir = std::env::temp_dir();
        let both = dir.join(format!("ws-tls-both-{}.pem", std::process::id()));
        let cert_only = dir.join(format!("ws-tls-cert-{}.pem", std::process::id()));
        let pem = format!("{}{}", made.cert.pem(), made.signing_key.serialize_pem());
        std::fs::write(&both, pem).expect("write");
        std::fs::write(&cert_only, made.cert.pem()).expect("write");
        // The chain and the key may share one file.
        let config = config_from_pem_files(&both, &both);
        let no_key = config_from_pem_files(&both, &cert_only);
        let missing = config_from_pem_files("/nonexistent/ws-tls/cert.pem", &both);
        std::fs::remove_file(&both).expect("remove");
        std::fs::remove_file(&cert_only).expect("remove");
        config.expect("one file");
        let error = no_key.unwrap_err();
        assert!(
            matches!(&error, Error::NoPrivateKey { path: Some(p) } if *p == cert_only),
            "{error:?}"
        );
        assert!(
            error.to_string().starts_with("no private key in /"),
            "{error}"
        );
        assert!(matches!(missing, Err(Error::Read { .. })), "{missing:?}");
    }

    #[test]
    fn a_key_of_another_certificate_is_refused() {
        let made = rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("rcgen");
        let other = rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("rcgen");
        let error = config_from_pem(
            made.cert.pem().as_bytes(),
            other.signing_key.serialize_pem().as_bytes(),
        )
        .unwrap_err();
        assert!(matches!(error, Error::Rustls { .. }), "{error:?}");
    }
}
