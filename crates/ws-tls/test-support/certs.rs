//! Certificates made at test time (rcgen) for the TLS tests of ws-std, ws-mio and the `ws`
//! command (crates/ws-cli/tests), ws-std's interop tests over wss, and ws-cli's
//! `examples/test-certs.rs` (the browser test's and the Autobahn TLS testee's certificates):
//! one place for all, included by each with `#[path]` (it uses `rcgen` and `ws_tls` only).
#![allow(dead_code)]

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use ws_tls::{client, rustls, server};

/// A certificate authority made for one test.
pub(crate) struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// A server's certificate and key, in PEM.
pub(crate) struct Leaf {
    pub(crate) cert_pem: String,
    pub(crate) key_pem: String,
}

impl Ca {
    pub(crate) fn new() -> Ca {
        Ca::named("ws test CA")
    }

    /// A CA with its own name: one that only shares its name with the server's issuer is
    /// a bad signature to a client, not an unknown issuer.
    pub(crate) fn named(name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().expect("key");
        Ca {
            issuer: CertifiedIssuer::self_signed(params, key).expect("CA certificate"),
        }
    }

    pub(crate) fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A certificate for `names` (DNS names or IP addresses), valid now.
    pub(crate) fn issue(&self, names: &[&str]) -> Leaf {
        self.issue_with(names, |_| {})
    }

    pub(crate) fn issue_with(
        &self,
        names: &[&str],
        edit: impl FnOnce(&mut CertificateParams),
    ) -> Leaf {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names).expect("params");
        params.distinguished_name.push(DnType::CommonName, "server");
        edit(&mut params);
        let key = KeyPair::generate().expect("key");
        let cert = params.signed_by(&key, &self.issuer).expect("certificate");
        Leaf {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }

    /// A client configuration trusting this CA alone.
    pub(crate) fn client_config(&self) -> Arc<rustls::ClientConfig> {
        let roots = client::roots_from_pem(self.pem().as_bytes()).expect("roots");
        client::config(roots).expect("client config")
    }
}

impl Leaf {
    pub(crate) fn server_config(&self) -> Arc<rustls::ServerConfig> {
        server::config_from_pem(self.cert_pem.as_bytes(), self.key_pem.as_bytes())
            .expect("server config")
    }
}

/// A certificate a client must refuse although its CA is trusted, and how the client's
/// error must look.
pub(crate) struct Refusal {
    pub(crate) what: &'static str,
    pub(crate) leaf: Leaf,
    pub(crate) expected: fn(&rustls::Error) -> bool,
}

/// The certificates of `ca` a client connecting to `localhost` must refuse: one for
/// another name, one that has expired.
pub(crate) fn refusals(ca: &Ca) -> [Refusal; 2] {
    use rustls::CertificateError::{
        Expired, ExpiredContext, NotValidForName, NotValidForNameContext,
    };
    use rustls::Error::InvalidCertificate;
    [
        Refusal {
            what: "a certificate for another name",
            leaf: ca.issue(&["other.example"]),
            expected: |e| {
                matches!(
                    e,
                    InvalidCertificate(NotValidForName | NotValidForNameContext { .. })
                ) && e.to_string().contains("other.example")
            },
        },
        Refusal {
            what: "an expired certificate",
            leaf: ca.issue_with(&["localhost"], |params| {
                params.not_before = rcgen::date_time_ymd(2000, 1, 1);
                params.not_after = rcgen::date_time_ymd(2001, 1, 1);
            }),
            expected: |e| matches!(e, InvalidCertificate(Expired | ExpiredContext { .. })),
        },
    ]
}

/// Bytes a TLS server must refuse as the start of a connection.
pub(crate) const GARBAGE_RECORDS: [&[u8]; 3] = [
    // A handshake record whose message is nonsense.
    &[0x16, 0x03, 0x01, 0x00, 0x05, 0xff, 0xff, 0xff, 0xff, 0xff],
    // A record of no content type.
    &[0x42; 64],
    // A record longer than TLS allows.
    &[0x16, 0x03, 0x01, 0xff, 0xff, 0x01, 0x02],
];

/// An application-data record that no key encrypted (a `DecryptError` after the
/// handshake).
pub(crate) fn forged_record() -> Vec<u8> {
    let mut record = vec![0x17, 0x03, 0x03, 0x00, 0x40];
    record.extend_from_slice(&[0xaa; 0x40]);
    record
}

/// The names the certificate of [`write`] is valid for.
pub(crate) const NAMES: [&str; 2] = ["localhost", "127.0.0.1"];

/// The three PEM files of [`write`].
#[derive(Debug, Clone)]
pub(crate) struct CertFiles {
    /// The CA's certificate: what a client trusts (`ws connect --ca`).
    pub(crate) ca: PathBuf,
    /// The server's certificate chain (`ws serve --tls-cert`).
    pub(crate) cert: PathBuf,
    /// The server's private key (`ws serve --tls-key`).
    pub(crate) key: PathBuf,
}

/// Makes a CA and a server certificate for [`NAMES`], and writes `ca.pem`, `cert.pem` (the
/// chain: the server's certificate, then its issuer) and `key.pem` into `dir` (created if
/// missing).
pub(crate) fn write(dir: &Path) -> io::Result<CertFiles> {
    let ca = Ca::new();
    let leaf = ca.issue(&NAMES);
    fs::create_dir_all(dir)?;
    let files = CertFiles {
        ca: dir.join("ca.pem"),
        cert: dir.join("cert.pem"),
        key: dir.join("key.pem"),
    };
    fs::write(&files.ca, ca.pem())?;
    fs::write(&files.cert, format!("{}{}", leaf.cert_pem, ca.pem()))?;
    fs::write(&files.key, leaf.key_pem)?;
    Ok(files)
}

/// [`write`] into a fresh directory under the system's temporary one, removed when dropped.
#[derive(Debug)]
pub(crate) struct TempCerts {
    dir: PathBuf,
    pub(crate) files: CertFiles,
}

impl TempCerts {
    /// `tag` tells the tests of one process apart.
    pub(crate) fn new(tag: &str) -> TempCerts {
        let dir = std::env::temp_dir().join(format!("ws-tls-test-{}-{tag}", std::process::id()));
        let files = write(&dir).expect("write test certificates");
        TempCerts { dir, files }
    }

    /// The CA file, as a string argument.
    pub(crate) fn ca(&self) -> &str {
        self.files.ca.to_str().expect("a UTF-8 path")
    }

    /// `--tls-cert FILE --tls-key FILE`.
    pub(crate) fn serve_args(&self) -> [&str; 4] {
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
