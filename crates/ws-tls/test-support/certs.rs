//! Certificates made at test time (rcgen) for the TLS tests of ws-std and ws-mio: one
//! place for both, included by each with `#[path]` (it uses `rcgen` and `ws_tls` only).
#![allow(dead_code)]

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
