//! Test certificates made by rcgen: a CA, and a server certificate it signed for
//! `localhost` and `127.0.0.1`, written as PEM files into a directory of their own.
//!
//! Shared by ws-std's interop tests over wss, the TLS tests of the `ws` command
//! (crates/ws-cli/tests) and ws-cli's `examples/test-certs.rs` (the browser test's
//! certificates), which include this file by path.
#![allow(dead_code, unreachable_pub)]

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};

/// The names the server certificate is valid for.
pub const NAMES: [&str; 2] = ["localhost", "127.0.0.1"];

/// The three PEM files of [`write`].
#[derive(Debug, Clone)]
pub struct CertFiles {
    /// The CA's certificate: what a client trusts (`ws connect --ca`).
    pub ca: PathBuf,
    /// The server's certificate chain (`ws serve --tls-cert`).
    pub cert: PathBuf,
    /// The server's private key (`ws serve --tls-key`).
    pub key: PathBuf,
}

/// Makes a CA and a server certificate for [`NAMES`], and writes `ca.pem`, `cert.pem` and
/// `key.pem` into `dir` (created if missing).
pub fn write(dir: &Path) -> io::Result<CertFiles> {
    let fail = |e: rcgen::Error| io::Error::other(e.to_string());
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(fail)?;
    params
        .distinguished_name
        .push(DnType::CommonName, "ws test CA");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca =
        CertifiedIssuer::self_signed(params, KeyPair::generate().map_err(fail)?).map_err(fail)?;

    let names: Vec<String> = NAMES.iter().map(|n| n.to_string()).collect();
    let mut params = CertificateParams::new(names).map_err(fail)?;
    params
        .distinguished_name
        .push(DnType::CommonName, "ws test server");
    let key = KeyPair::generate().map_err(fail)?;
    let cert = params.signed_by(&key, &ca).map_err(fail)?;

    fs::create_dir_all(dir)?;
    let files = CertFiles {
        ca: dir.join("ca.pem"),
        cert: dir.join("cert.pem"),
        key: dir.join("key.pem"),
    };
    fs::write(&files.ca, ca.pem())?;
    // The chain: the server's certificate, then its issuer.
    fs::write(&files.cert, format!("{}{}", cert.pem(), ca.pem()))?;
    fs::write(&files.key, key.serialize_pem())?;
    Ok(files)
}

/// [`write`] into a fresh directory under the system's temporary one, removed when dropped.
#[derive(Debug)]
pub struct TempCerts {
    dir: PathBuf,
    pub files: CertFiles,
}

impl TempCerts {
    /// `tag` tells the tests of one process apart.
    pub fn new(tag: &str) -> TempCerts {
        let dir = std::env::temp_dir().join(format!("ws-tls-test-{}-{tag}", std::process::id()));
        let files = write(&dir).expect("write test certificates");
        TempCerts { dir, files }
    }

    /// The CA file, as a string argument.
    pub fn ca(&self) -> &str {
        self.files.ca.to_str().expect("a UTF-8 path")
    }

    /// `--tls-cert FILE --tls-key FILE`.
    pub fn serve_args(&self) -> [&str; 4] {
        [
            "--tls-cert",
            self.files.cert.to_str().expect("a UTF-8 path"),
            "--tls-key",
            self.files.key.to_str().expect("a UTF-8 path"),
        ]
    }
}

impl Drop for TempCerts {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}
