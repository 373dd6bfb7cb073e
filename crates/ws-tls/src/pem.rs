//! Certificates and private keys from PEM, through `rustls-pki-types`' parser.

use std::fs;
use std::path::Path;

use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::Error;

/// The `CERTIFICATE` sections of `data`, in order (other sections are skipped).
///
/// # Errors
///
/// [`Error::Pem`] for invalid PEM, [`Error::NoCertificate`] when there is none.
pub fn certs(data: &[u8]) -> Result<Vec<CertificateDer<'static>>, Error> {
    certs_from(data, None)
}

/// The `CERTIFICATE` sections of the file at `path`.
///
/// # Errors
///
/// [`Error::Read`] when the file cannot be read; otherwise as [`certs`].
pub fn certs_from_file(path: impl AsRef<Path>) -> Result<Vec<CertificateDer<'static>>, Error> {
    let path = path.as_ref();
    certs_from(&read(path)?, Some(path))
}

/// The first private key of `data` (PKCS #8, PKCS #1 or SEC1).
///
/// # Errors
///
/// [`Error::Pem`] for invalid PEM, [`Error::NoPrivateKey`] when there is none.
pub fn private_key(data: &[u8]) -> Result<PrivateKeyDer<'static>, Error> {
    key_from(data, None)
}

/// The first private key of the file at `path`.
///
/// # Errors
///
/// [`Error::Read`] when the file cannot be read; otherwise as [`private_key`].
pub fn private_key_from_file(path: impl AsRef<Path>) -> Result<PrivateKeyDer<'static>, Error> {
    let path = path.as_ref();
    key_from(&read(path)?, Some(path))
}

pub(crate) fn read(path: &Path) -> Result<Vec<u8>, Error> {
    fs::read(path).map_err(|error| Error::Read {
        path: path.to_path_buf(),
        error,
    })
}

pub(crate) fn certs_from(
    data: &[u8],
    path: Option<&Path>,
) -> Result<Vec<CertificateDer<'static>>, Error> {
    let certs = CertificateDer::pem_slice_iter(data)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::pem(path, e))?;
    if certs.is_empty() {
        return Err(Error::NoCertificate {
            path: path.map(Path::to_path_buf),
        });
    }
    Ok(certs)
}

fn key_from(data: &[u8], path: Option<&Path>) -> Result<PrivateKeyDer<'static>, Error> {
    match PrivateKeyDer::from_pem_slice(data) {
        Ok(key) => Ok(key),
        Err(pem::Error::NoItemsFound) => Err(Error::NoPrivateKey {
            path: path.map(Path::to_path_buf),
        }),
        Err(e) => Err(Error::pem(path, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn self_signed() -> rcgen::CertifiedKey<rcgen::KeyPair> {
        rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("rcgen")
    }

    #[test]
    fn reads_a_certificate_and_its_key() {
        let made = self_signed();
        let certs = certs(made.cert.pem().as_bytes()).expect("certs");
        assert_eq!(certs.len(), 1);
        assert_eq!(certs[0].as_ref(), made.cert.der().as_ref());
        let key = private_key(made.signing_key.serialize_pem().as_bytes()).expect("key");
        assert_eq!(key.secret_der(), made.signing_key.serialized_der());
    }

    #[test]
    fn a_key_file_is_no_certificate_and_the_reverse() {
        let made = self_signed();
        let key_pem = made.signing_key.serialize_pem();
        assert!(matches!(
            certs(key_pem.as_bytes()),
            Err(Error::NoCertificate { path: None })
        ));
        let cert_pem = made.cert.pem();
        let error = private_key(cert_pem.as_bytes()).unwrap_err();
        assert!(
            matches!(error, Error::NoPrivateKey { path: None }),
            "{error:?}"
        );
        assert_eq!(error.to_string(), "no private key in the PEM data");
    }

    #[test]
    fn broken_pem_is_an_error() {
        let made = self_signed();
        let pem = made.cert.pem();
        // Cut before the end line.
        let cut = &pem.as_bytes()[..pem.len() - 30];
        let error = certs(cut).unwrap_err();
        assert!(matches!(error, Error::Pem { .. }), "{error:?}");
    }

    #[test]
    fn a_missing_file_names_the_file() {
        let error = certs_from_file("/nonexistent/ws-tls/cert.pem").unwrap_err();
        assert!(matches!(error, Error::Read { .. }), "{error:?}");
        assert!(
            error.to_string().contains("/nonexistent/ws-tls/cert.pem"),
            "{error}"
        );
        let io: std::io::Error = error.into();
        assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
    }
}
