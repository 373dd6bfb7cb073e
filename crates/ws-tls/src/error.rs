//! What can go wrong while building a TLS configuration.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// A TLS configuration could not be built: a file that cannot be read, PEM that does not
/// parse, a file with no certificate or no key, or material rustls refuses.
///
/// Each variant names where the material came from (`path`: `None` for bytes passed in).
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be read.
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        error: io::Error,
    },
    /// The data is not valid PEM (a section without its end, bad base64).
    Pem {
        /// The file, or `None` for bytes.
        path: Option<PathBuf>,
        /// The parser's complaint.
        error: rustls_pki_types::pem::Error,
    },
    /// No `CERTIFICATE` section was found.
    NoCertificate {
        /// The file, or `None` for bytes.
        path: Option<PathBuf>,
    },
    /// No private key section (`PRIVATE KEY`, `RSA PRIVATE KEY`, `EC PRIVATE KEY`) was
    /// found.
    NoPrivateKey {
        /// The file, or `None` for bytes.
        path: Option<PathBuf>,
    },
    /// rustls refused the material: `what` says which (a CA certificate that does not
    /// parse, a key of an unsupported type, a key that does not match the certificate).
    Rustls {
        /// What was being added.
        what: &'static str,
        /// rustls's error.
        error: rustls::Error,
    },
    /// The operating system's trust store could not be loaded, or held no usable
    /// certificate.
    PlatformRoots(String),
}

impl Error {
    pub(crate) fn pem(path: Option<&Path>, error: rustls_pki_types::pem::Error) -> Error {
        Error::Pem {
            path: path.map(Path::to_path_buf),
            error,
        }
    }
}

/// `in FILE` or `in the PEM data`.
struct Origin<'a>(&'a Option<PathBuf>);

impl fmt::Display for Origin<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(path) => write!(f, "in {}", path.display()),
            None => f.write_str("in the PEM data"),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Read { path, error } => write!(f, "cannot read {}: {error}", path.display()),
            Error::Pem { path, error } => write!(f, "invalid PEM {}: {error}", Origin(path)),
            Error::NoCertificate { path } => write!(f, "no certificate {}", Origin(path)),
            Error::NoPrivateKey { path } => write!(f, "no private key {}", Origin(path)),
            Error::Rustls { what, error } => write!(f, "invalid {what}: {error}"),
            Error::PlatformRoots(why) => write!(f, "platform trust store: {why}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Read { error, .. } => Some(error),
            Error::Pem { error, .. } => Some(error),
            Error::Rustls { error, .. } => Some(error),
            _ => None,
        }
    }
}

impl From<Error> for io::Error {
    /// A file that cannot be read keeps its kind (`NotFound`, `PermissionDenied`); the rest
    /// is `InvalidData` (`InvalidInput` for material rustls refuses).
    fn from(e: Error) -> io::Error {
        let kind = match &e {
            Error::Read { error, .. } => error.kind(),
            Error::Rustls { .. } => io::ErrorKind::InvalidInput,
            _ => io::ErrorKind::InvalidData,
        };
        io::Error::new(kind, e)
    }
}
