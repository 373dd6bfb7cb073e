//! TLS (feature `tls`) over real sockets on 127.0.0.1, with certificates made here by
//! rcgen: echo over wss, an untrusted certificate, a client that stalls in the TLS
//! handshake (on tokio's paused clock) and one that speaks plain HTTP to a TLS port.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use ws_tokio::tls::{client, server};
use ws_tokio::ws_tls::rustls::{self, CertificateError};
use ws_tokio::{ClientBuilder, CloseCode, Error, HandshakeError, Message, ServerBuilder};

/// A certificate authority, and a server certificate for 127.0.0.1 and localhost.
struct Pki {
    client: Arc<rustls::ClientConfig>,
    server: Arc<rustls::ServerConfig>,
}

fn pki() -> Pki {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    params
        .distinguished_name
        .push(DnType::CommonName, "ws-tokio test CA");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().expect("key")).expect("CA");
    let names = vec!["127.0.0.1".to_string(), "localhost".to_string()];
    let leaf_key = KeyPair::generate().expect("key");
    let leaf = CertificateParams::new(names)
        .expect("params")
        .signed_by(&leaf_key, &ca)
        .expect("certificate");
    let roots = client::roots_from_pem(ca.pem().as_bytes()).expect("roots");
    Pki {
        client: client::config(roots).expect("client config"),
        server: server::config_from_pem(leaf.pem().as_bytes(), leaf_key.serialize_pem().as_bytes())
            .expect("server config"),
    }
}

/// A TLS server for one connection: echoes until the Close; the accept's or echo's error.
async fn tls_echo_server(builder: ServerBuilder) -> (SocketAddr, JoinHandle<Result<(), Error>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let task = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.expect("accept");
        let mut ws = builder.accept_tls(tcp).await?;
        loop {
            match ws.read().await? {
                Message::Close(_) => return Ok(()),
                message if message.is_data() => ws.send(message).await?,
                _ => {}
            }
        }
    });
    (addr, task)
}

#[tokio::test]
async fn echo_over_wss_with_deflate() {
    let pki = pki();
    let (addr, server) = tls_echo_server(ServerBuilder::new().tls(pki.server)).await;
    let (mut ws, _) = ClientBuilder::new(&format!("wss://localhost:{}/", addr.port()))
        .tls(pki.client)
        .connect()
        .await
        .expect("connect");
    assert!(ws.connection().deflate_params().is_some());
    let big = vec![7u8; 1 << 20];
    ws.send("over tls").await.expect("send");
    assert_eq!(ws.read().await.expect("read"), Message::from("over tls"));
    ws.send(big.clone()).await.expect("send");
    assert_eq!(ws.read().await.expect("read"), Message::Binary(big));
    ws.close(CloseCode::NORMAL, "").await.expect("close");
    assert!(matches!(ws.read().await.expect("read"), Message::Close(_)));
    assert!(ws.next().await.is_none());
    server.await.expect("server").expect("echo");
}

#[tokio::test]
async fn an_untrusted_certificate_is_a_tls_error_on_both_ends() {
    let (trusted, other) = (pki(), pki());
    let (addr, server) = tls_echo_server(ServerBuilder::new().tls(other.server)).await;
    let result = ClientBuilder::new(&format!("wss://127.0.0.1:{}/", addr.port()))
        .tls(trusted.client)
        .connect()
        .await;
    match result {
        // Both CAs have the same name: the issuer is found, its signature does not match.
        Err(Error::Tls(rustls::Error::InvalidCertificate(CertificateError::BadSignature))) => {}
        other => panic!("not a refused certificate: {other:?}"),
    }
    let refused = server.await.expect("server");
    assert!(matches!(refused, Err(Error::Tls(_))), "{refused:?}");
}

#[tokio::test]
async fn plain_http_on_a_tls_port_is_a_tls_error() {
    let pki = pki();
    let (addr, server) = tls_echo_server(ServerBuilder::new().tls(pki.server)).await;
    let mut tcp = TcpStream::connect(addr).await.expect("tcp");
    tcp.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let result = server.await.expect("server");
    assert!(matches!(result, Err(Error::Tls(_))), "{result:?}");
    let mut rest = Vec::new();
    let _ = tcp.read_to_end(&mut rest).await;
}

#[tokio::test(start_paused = true)]
async fn a_client_stalling_in_the_tls_handshake_times_out() {
    let pki = pki();
    let builder = ServerBuilder::new()
        .tls(pki.server)
        .handshake_timeout(Some(Duration::from_secs(3)));
    let (addr, server) = tls_echo_server(builder).await;
    let _silent = TcpStream::connect(addr).await.expect("tcp");
    let start = tokio::time::Instant::now();
    let result = server.await.expect("server");
    assert!(
        matches!(result, Err(Error::Handshake(HandshakeError::Timeout))),
        "{result:?}"
    );
    assert!(start.elapsed() >= Duration::from_secs(3));
}

#[tokio::test]
async fn accept_tls_without_a_configuration_is_refused() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let _client = TcpStream::connect(addr).await.expect("tcp");
    let (tcp, _) = listener.accept().await.expect("accept");
    let result = ServerBuilder::new().accept_tls(tcp).await;
    assert!(matches!(result, Err(Error::Io(e)) if e.kind() == std::io::ErrorKind::InvalidInput));
}
