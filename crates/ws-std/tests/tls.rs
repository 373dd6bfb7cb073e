//! TLS (feature `tls`) over real sockets on 127.0.0.1: echo over wss, trust, and every
//! failure the issue names, each a clear error and never a hang (certificates made here by
//! rcgen; every peer thread and socket read is bounded).

#[path = "../../ws-tls/test-support/certs.rs"]
mod certs;
mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use certs::{Ca, Leaf};
use common::{spawn, Peer, IO_TIMEOUT};
use ws_std::tls::{client, ClientTlsStream};
use ws_std::ws_tls::rustls::{self, CertificateError};
use ws_std::{
    ClientBuilder, CloseCode, Error, HandshakeError, MaybeTlsStream, Message, ServerBuilder,
    WebSocket,
};

/// The handshake timeout of the stall tests: short, so the tests are quick; the bound on
/// how long the failure may take is generous, for a loaded machine.
const SHORT_TIMEOUT: Duration = Duration::from_millis(300);
const STALL_BOUND: Duration = Duration::from_secs(10);

// ----- Peers ------------------------------------------------------------------------------

fn listen() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    (listener, addr)
}

/// A TLS echo server for one connection: the accept's error, or the echo's.
fn tls_echo_server(server: ServerBuilder) -> (SocketAddr, Peer<Result<(), Error>>) {
    let (listener, addr) = listen();
    (addr, tls_echo_server_on(listener, server))
}

/// [`tls_echo_server`] on a listener of the caller's.
fn tls_echo_server_on(listener: TcpListener, server: ServerBuilder) -> Peer<Result<(), Error>> {
    spawn(move || {
        let (tcp, _) = listener.accept().expect("accept");
        tcp.set_read_timeout(Some(IO_TIMEOUT)).expect("timeout");
        let mut ws = server.accept_tls(tcp)?;
        ws.set_read_timeout(Some(IO_TIMEOUT));
        loop {
            match ws.read()? {
                Message::Close(_) => return Ok(()),
                m if m.is_data() => ws.send(m)?,
                _ => {}
            }
        }
    })
}

/// How an accept ended, and how long it took.
type Accepted = (Result<(), Error>, Duration);

/// A server that only runs `accept_tls` on one connection and reports how it ended.
fn tls_accept_once(server: ServerBuilder) -> (SocketAddr, Peer<Accepted>) {
    let (listener, addr) = listen();
    let peer = spawn(move || {
        let (tcp, _) = listener.accept().expect("accept");
        let started = Instant::now();
        let result = server.accept_tls(tcp).map(drop);
        (result, started.elapsed())
    });
    (addr, peer)
}

fn tls_server(leaf: &Leaf) -> ServerBuilder {
    ServerBuilder::new().tls(leaf.server_config())
}

fn wss(addr: SocketAddr, host: &str) -> String {
    format!("wss://{host}:{}/", addr.port())
}

/// The rustls error inside a `ws_std::Error`, or a panic naming what came instead.
fn tls_error(result: Result<(), Error>, side: &str) -> rustls::Error {
    match result {
        Err(Error::Tls(e)) => e,
        other => panic!("{side}: expected a TLS error, got {other:?}"),
    }
}

fn connect_with(
    config: Arc<rustls::ClientConfig>,
    url: &str,
) -> Result<WebSocket<MaybeTlsStream>, Error> {
    ClientBuilder::new(url)
        .tls(config)
        .handshake_timeout(Some(IO_TIMEOUT))
        .connect()
        .map(|(ws, _)| ws)
}

/// The TLS stream of a `wss://` client, or a panic if it is plain.
fn tls_stream(ws: &mut WebSocket<MaybeTlsStream>) -> &mut ClientTlsStream {
    match ws.get_mut() {
        MaybeTlsStream::Tls(tls) => tls,
        other => panic!("expected a TLS stream, got {other:?}"),
    }
}

// ----- Success ----------------------------------------------------------------------------

#[test]
fn echo_over_wss_with_compression() {
    let ca = Ca::new();
    let leaf = ca.issue(&["localhost"]);
    let (addr, server) = tls_echo_server(tls_server(&leaf));
    let (mut ws, response) = ClientBuilder::new(&wss(addr, "localhost"))
        .tls(ca.client_config())
        .connect()
        .expect("connect");
    assert_eq!(response.status(), 101);
    assert!(
        ws.connection().deflate_params().is_some(),
        "permessage-deflate agreed"
    );
    assert!(ws.get_ref().is_tls());
    let tls = ws.get_ref().tls().expect("a TLS connection");
    assert_eq!(tls.alpn_protocol(), Some(&b"http/1.1"[..]));
    ws.set_read_timeout(Some(IO_TIMEOUT));

    ws.send_text("hello over wss").expect("send");
    assert_eq!(
        ws.read().expect("echo"),
        Message::Text("hello over wss".into())
    );
    // A compressible megabyte: many TLS records each way.
    let big: Vec<u8> = (0..1 << 20).map(|i| (i % 251) as u8).collect();
    ws.send_binary(&big).expect("send");
    assert_eq!(ws.read().expect("echo"), Message::Binary(big));

    ws.close(CloseCode::NORMAL, "done").expect("close");
    loop {
        match ws.read() {
            Ok(Message::Close(_)) => break,
            Ok(_) => {}
            Err(e) => panic!("closing: {e:?}"),
        }
    }
    server.join().expect("server");
    // The server ended TLS with close_notify before its FIN: a clean end, not a truncation
    // (which rustls reports as `UnexpectedEof`).
    let end = tls_stream(&mut ws).conn.reader().read(&mut [0; 1]);
    assert!(matches!(end, Ok(0)), "{end:?}");
}

#[test]
fn alpn_http_1_1_is_answered_and_other_protocols_refused() {
    let ca = Ca::new();
    let leaf = ca.issue(&["localhost"]);
    // A client that offers no ALPN (as many non-browser clients do) is served.
    let mut config = (*ca.client_config()).clone();
    config.alpn_protocols.clear();
    let (addr, server) = tls_echo_server(tls_server(&leaf));
    let mut ws = connect_with(Arc::new(config), &wss(addr, "localhost")).expect("connect");
    assert_eq!(ws.get_ref().tls().expect("TLS").alpn_protocol(), None);
    ws.set_read_timeout(Some(IO_TIMEOUT));
    ws.close(CloseCode::NORMAL, "").expect("close");
    while !matches!(ws.read().expect("closing"), Message::Close(_)) {}
    server.join().expect("server");

    // One that offers HTTP/2 alone is refused: a WebSocket upgrade is HTTP/1.1.
    let mut config = (*ca.client_config()).clone();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let (addr, server) = tls_accept_once(tls_server(&leaf));
    let client = connect_with(Arc::new(config), &wss(addr, "localhost")).map(drop);
    let error = tls_error(client, "client");
    assert!(
        matches!(
            error,
            rustls::Error::AlertReceived(rustls::AlertDescription::NoApplicationProtocol)
        ),
        "{error:?}"
    );
    let (result, _) = server.join();
    let error = tls_error(result, "server");
    assert!(
        matches!(error, rustls::Error::NoApplicationProtocol),
        "{error:?}"
    );
}

/// Says hello over `ws`, then closes and waits for the closing handshake to finish.
fn hello_and_close(mut ws: WebSocket<MaybeTlsStream>) {
    ws.set_read_timeout(Some(IO_TIMEOUT));
    ws.send_text("hello").expect("send");
    assert_eq!(ws.read().expect("echo"), Message::Text("hello".into()));
    ws.close(CloseCode::NORMAL, "").expect("close");
    while !matches!(ws.read().expect("closing"), Message::Close(_)) {}
}

/// A CA file for one test, removed when dropped.
struct CaFile(std::path::PathBuf);

impl CaFile {
    fn new(ca: &Ca, name: &str) -> CaFile {
        let path =
            std::env::temp_dir().join(format!("ws-std-tls-{name}-{}.pem", std::process::id()));
        std::fs::write(&path, ca.pem()).expect("write CA file");
        CaFile(path)
    }
}

impl Drop for CaFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn a_client_trusting_a_ca_file_connects_to_an_ip_address() {
    let ca = Ca::new();
    let leaf = ca.issue(&["127.0.0.1"]);
    let file = CaFile::new(&ca, "ip");
    let (addr, server) = tls_echo_server(tls_server(&leaf));
    let (ws, _) = ClientBuilder::new(&wss(addr, "127.0.0.1"))
        .ca_file(&file.0)
        .handshake_timeout(Some(IO_TIMEOUT))
        .connect()
        .expect("connect");
    assert!(ws.get_ref().is_tls());
    hello_and_close(ws);
    server.join().expect("server");
}

#[test]
fn a_client_trusting_a_root_store_connects_with_the_url_host_as_its_name() {
    let ca = Ca::new();
    let leaf = ca.issue(&["localhost"]);
    let roots = client::roots_from_pem(ca.pem().as_bytes()).expect("roots");
    let (addr, server) = tls_echo_server(tls_server(&leaf));
    let (ws, _) = ClientBuilder::new(&wss(addr, "localhost"))
        .roots(roots)
        .connect()
        .expect("connect");
    hello_and_close(ws);
    server.join().expect("server");
}

#[test]
fn an_ipv6_literal_is_the_server_name_without_its_brackets() {
    let Ok(listener) = TcpListener::bind("[::1]:0") else {
        eprintln!("skipped: no IPv6 loopback on this machine");
        return;
    };
    let port = listener.local_addr().expect("addr").port();
    let ca = Ca::new();
    let leaf = ca.issue(&["::1"]);
    let server = tls_echo_server_on(listener, tls_server(&leaf));
    let (ws, _) = ClientBuilder::new(&format!("wss://[::1]:{port}/"))
        .tls(ca.client_config())
        .connect()
        .expect("connect to [::1]");
    hello_and_close(ws);
    server.join().expect("server");
}

#[test]
fn a_missing_ca_file_fails_before_connecting() {
    let (listener, addr) = listen();
    listener.set_nonblocking(true).expect("non-blocking");
    let missing = std::env::temp_dir().join("ws-std-tls-no-such-ca.pem");
    let error = ClientBuilder::new(&wss(addr, "localhost"))
        .ca_file(&missing)
        .connect()
        .map(drop)
        .expect_err("a missing CA file");
    assert!(
        matches!(&error, Error::TlsConfig(ws_std::ws_tls::Error::Read { path, .. }) if *path == missing),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("ws-std-tls-no-such-ca.pem"),
        "{error}"
    );
    assert_eq!(
        std::io::Error::from(error).kind(),
        std::io::ErrorKind::NotFound
    );
    let accepted = listener.accept().map(drop);
    assert!(
        matches!(&accepted, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "no connection was made: {accepted:?}"
    );
}

#[test]
fn the_same_builder_takes_ws_and_wss_urls() {
    let ca = Ca::new();
    let leaf = ca.issue(&["localhost"]);
    let (addr, server) = tls_echo_server(tls_server(&leaf));
    let (ws, _) = ClientBuilder::new(&wss(addr, "localhost"))
        .tls(ca.client_config())
        .connect()
        .expect("wss");
    assert!(ws.get_ref().is_tls());
    hello_and_close(ws);
    server.join().expect("server");

    // ws:// with TLS trust set: plain TCP, the trust unused.
    let (listener, addr) = listen();
    let plain = spawn(move || {
        let (tcp, _) = listener.accept().expect("accept");
        tcp.set_read_timeout(Some(IO_TIMEOUT)).expect("timeout");
        let mut ws = ws_std::accept(tcp)?;
        loop {
            match ws.read()? {
                Message::Close(_) => return Ok::<(), Error>(()),
                m if m.is_data() => ws.send(m)?,
                _ => {}
            }
        }
    });
    let (ws, _) = ClientBuilder::new(&format!("ws://localhost:{}/", addr.port()))
        .tls(ca.client_config())
        .connect()
        .expect("ws");
    assert!(!ws.get_ref().is_tls());
    assert!(ws.get_ref().tls().is_none());
    hello_and_close(ws);
    plain.join().expect("plain server");
}

#[test]
fn a_tls_handshake_on_a_non_blocking_stream_resumes() {
    let ca = Ca::new();
    let config = ca.issue(&["localhost"]).server_config();
    let (listener, addr) = listen();
    let (waiting_tx, waiting_rx) = std::sync::mpsc::channel();
    let server = spawn(move || -> Result<(), Error> {
        let (tcp, _) = listener.accept().expect("accept");
        tcp.set_nonblocking(true).expect("non-blocking");
        let stream = ws_std::tls::server_stream(config, tcp)?;
        let mut pending = ServerBuilder::new()
            .handshake_timeout(Some(IO_TIMEOUT))
            .start_accept(stream);
        // The client has sent nothing yet: the TLS handshake has to wait.
        assert!(pending.advance()?.is_none());
        waiting_tx.send(()).expect("client");
        // An event loop would wait for readiness; the handshake timeout bounds this loop.
        let mut ws = loop {
            match pending.advance()? {
                Some(ws) => break ws,
                None => std::thread::yield_now(),
            }
        };
        ws.get_mut().sock.set_nonblocking(false).expect("blocking");
        ws.send_text("welcome")?;
        Ok(())
    });
    let tcp = TcpStream::connect(addr).expect("connect");
    waiting_rx.recv_timeout(IO_TIMEOUT).expect("server waiting");
    let stream = ws_std::tls::client_stream(ca.client_config(), "localhost", tcp).expect("tls");
    let (mut ws, _) = ClientBuilder::new(&wss(addr, "localhost"))
        .handshake(stream)
        .expect("handshake");
    ws.set_read_timeout(Some(IO_TIMEOUT));
    assert_eq!(
        ws.read().expect("greeting"),
        Message::Text("welcome".into())
    );
    server.join().expect("server");
}

// ----- Certificates refused ---------------------------------------------------------------

/// The client's error against a server presenting `leaf`, with the server's error.
fn refused(leaf: &Leaf, config: Arc<rustls::ClientConfig>, host: &str) -> rustls::Error {
    let (addr, server) = tls_accept_once(tls_server(leaf));
    let client = connect_with(config, &wss(addr, host)).map(drop);
    let error = tls_error(client, "client");
    // The client told the server why, with an alert.
    let (result, _) = server.join();
    let server_error = tls_error(result, "server");
    assert!(
        matches!(server_error, rustls::Error::AlertReceived(_)),
        "server: {server_error:?}"
    );
    error
}

#[test]
fn an_untrusted_certificate_is_refused() {
    let ca = Ca::new();
    let leaf = ca.issue(&["localhost"]);
    // Another CA, and the bundled roots: neither signed the server's certificate.
    let other = Ca::named("another test CA");
    for config in [
        other.client_config(),
        client::default_config().expect("config"),
    ] {
        let error = refused(&leaf, config, "localhost");
        assert!(
            matches!(
                error,
                rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)
            ),
            "{error:?}"
        );
        // As an `io::Error`, it is what rustls's own streams give: the rustls error inside.
        let io = std::io::Error::from(Error::Tls(error.clone()));
        assert_eq!(io.kind(), std::io::ErrorKind::InvalidData);
        let inner = io.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>());
        assert_eq!(inner, Some(&error));
        assert!(Error::Tls(error)
            .to_string()
            .starts_with("TLS error: invalid peer certificate"));
    }
}

#[test]
fn certificates_for_another_name_or_expired_are_refused() {
    let ca = Ca::new();
    for case in certs::refusals(&ca) {
        let error = refused(&case.leaf, ca.client_config(), "localhost");
        assert!((case.expected)(&error), "{}: {error:?}", case.what);
    }
}

// ----- Peers that do not speak TLS --------------------------------------------------------

#[test]
fn a_plain_websocket_client_on_the_tls_port_fails_on_both_sides() {
    let ca = Ca::new();
    let leaf = ca.issue(&["localhost"]);
    let (addr, server) = tls_accept_once(tls_server(&leaf));
    let client = ClientBuilder::new(&format!("ws://127.0.0.1:{}/", addr.port()))
        .handshake_timeout(Some(IO_TIMEOUT))
        .connect()
        .map(drop);
    // The server answered the request with a TLS alert and closed: no HTTP response.
    match client {
        Err(Error::Handshake(_)) | Err(Error::Io(_)) => {}
        other => panic!("client: {other:?}"),
    }
    let (result, _) = server.join();
    let error = tls_error(result, "server");
    assert!(
        matches!(error, rustls::Error::InvalidMessage(_)),
        "{error:?}"
    );
}

#[test]
fn a_plain_http_request_on_the_tls_port_is_cut_off() {
    let ca = Ca::new();
    let leaf = ca.issue(&["localhost"]);
    let (addr, server) = tls_accept_once(tls_server(&leaf));
    let mut tcp = TcpStream::connect(addr).expect("connect");
    tcp.set_read_timeout(Some(IO_TIMEOUT)).expect("timeout");
    tcp.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .expect("request");
    // The connection ends (after at most an alert): the read returns, it does not hang.
    let mut answer = Vec::new();
    let _ = tcp.read_to_end(&mut answer);
    assert!(!answer.starts_with(b"HTTP"), "{answer:?}");
    let (result, _) = server.join();
    tls_error(result, "server");
}

#[test]
fn a_tls_client_on_a_plain_port_fails_on_both_sides() {
    let (listener, addr) = listen();
    let server = spawn(move || {
        let (tcp, _) = listener.accept().expect("accept");
        ServerBuilder::new()
            .handshake_timeout(Some(IO_TIMEOUT))
            .accept(tcp)
            .map(drop)
    });
    let ca = Ca::new();
    let client = connect_with(ca.client_config(), &wss(addr, "localhost")).map(drop);
    // The server's HTTP 400 is no TLS record.
    let error = tls_error(client, "client");
    assert!(
        matches!(error, rustls::Error::InvalidMessage(_)),
        "{error:?}"
    );
    match server.join() {
        Err(Error::Handshake(_)) => {}
        other => panic!("server: {other:?}"),
    }
}

#[test]
fn garbage_records_before_the_handshake_are_refused() {
    let ca = Ca::new();
    let leaf = ca.issue(&["localhost"]);
    for bytes in certs::GARBAGE_RECORDS {
        let (addr, server) = tls_accept_once(tls_server(&leaf));
        let mut tcp = TcpStream::connect(addr).expect("connect");
        tcp.set_read_timeout(Some(IO_TIMEOUT)).expect("timeout");
        tcp.write_all(bytes).expect("garbage");
        let (result, _) = server.join();
        tls_error(result, "server");
        let _ = tcp.read_to_end(&mut Vec::new());
    }
}

#[test]
fn garbage_records_after_the_handshake_end_the_connection() {
    let ca = Ca::new();
    let leaf = ca.issue(&["localhost"]);
    let (addr, server) = tls_echo_server(tls_server(&leaf));
    let mut ws = connect_with(ca.client_config(), &wss(addr, "localhost")).expect("connect");
    ws.set_read_timeout(Some(IO_TIMEOUT));
    ws.send_text("before").expect("send");
    assert_eq!(ws.read().expect("echo"), Message::Text("before".into()));
    // An application-data record that no key encrypted, under the TLS layer.
    ws.get_mut()
        .tcp_mut()
        .write_all(&certs::forged_record())
        .expect("garbage");
    let error = tls_error(server.join(), "server");
    assert!(matches!(error, rustls::Error::DecryptError), "{error:?}");
    // The client learns the end too, without hanging.
    assert!(ws.read().is_err());
}

#[test]
fn a_peer_that_leaves_during_the_tls_handshake_is_a_lost_connection() {
    let ca = Ca::new();
    let leaf = ca.issue(&["localhost"]);
    // A client that connects and closes (a port scanner, a health check on TCP), before and
    // after the first bytes of a ClientHello.
    let starts: [&[u8]; 2] = [b"", &[0x16, 0x03, 0x01, 0x00]];
    for start in starts {
        let (addr, server) = tls_accept_once(tls_server(&leaf));
        let mut tcp = TcpStream::connect(addr).expect("connect");
        tcp.write_all(start).expect("start");
        drop(tcp);
        let (result, _) = server.join();
        assert!(
            matches!(
                result,
                Err(Error::Handshake(HandshakeError::ConnectionLost))
            ),
            "{result:?}"
        );
    }
    // A server that accepts and closes.
    let (listener, addr) = listen();
    let server = spawn(move || drop(listener.accept().expect("accept")));
    let client = connect_with(ca.client_config(), &wss(addr, "localhost")).map(drop);
    server.join();
    match client {
        Err(Error::Handshake(HandshakeError::ConnectionLost)) => {}
        // The close may come as a reset, when the ClientHello arrived unread.
        Err(Error::Io(e)) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        other => panic!("client: {other:?}"),
    }
}

// ----- Stalls -------------------------------------------------------------------------------

#[test]
fn a_client_that_stalls_in_the_tls_handshake_times_out() {
    let ca = Ca::new();
    let leaf = ca.issue(&["localhost"]);
    // Silent, then the first bytes of a ClientHello and silent again (slowloris over TLS).
    let starts: [&[u8]; 2] = [b"", &[0x16, 0x03, 0x01]];
    for start in starts {
        let (addr, server) =
            tls_accept_once(tls_server(&leaf).handshake_timeout(Some(SHORT_TIMEOUT)));
        let mut tcp = TcpStream::connect(addr).expect("connect");
        tcp.write_all(start).expect("start");
        let (result, took) = server.join();
        assert!(
            matches!(result, Err(Error::Handshake(HandshakeError::Timeout))),
            "{result:?}"
        );
        assert!(took >= SHORT_TIMEOUT && took < STALL_BOUND, "{took:?}");
        drop(tcp);
    }
}

#[test]
fn a_server_that_stalls_in_the_tls_handshake_times_out() {
    let (listener, addr) = listen();
    // Accepts, reads the ClientHello, answers nothing.
    let server = spawn(move || {
        let (mut tcp, _) = listener.accept().expect("accept");
        tcp.set_read_timeout(Some(IO_TIMEOUT)).expect("timeout");
        let _ = tcp.read_to_end(&mut Vec::new());
    });
    let ca = Ca::new();
    let started = Instant::now();
    let client = ClientBuilder::new(&wss(addr, "localhost"))
        .tls(ca.client_config())
        .handshake_timeout(Some(SHORT_TIMEOUT))
        .connect()
        .map(drop);
    let took = started.elapsed();
    assert!(
        matches!(client, Err(Error::Handshake(HandshakeError::Timeout))),
        "{client:?}"
    );
    assert!(took >= SHORT_TIMEOUT && took < STALL_BOUND, "{took:?}");
    server.join();
}

// ----- Through a proxy --------------------------------------------------------------------

#[test]
fn wss_through_an_http_proxy() {
    let ca = Ca::new();
    let leaf = ca.issue(&["localhost"]);
    let (addr, server) = tls_echo_server(tls_server(&leaf));
    let (proxy, requests) = common::proxies::http_proxy(common::proxies::open);
    // TLS runs inside the tunnel: the certificate is checked for the URL's host.
    let (mut ws, _) = ClientBuilder::new(&wss(addr, "localhost"))
        .tls(ca.client_config())
        .proxy(&format!("http://{proxy}"))
        .connect()
        .expect("connect through the proxy");
    ws.set_read_timeout(Some(IO_TIMEOUT));
    ws.send_text("hello over wss").expect("send");
    assert_eq!(
        ws.read().expect("echo"),
        Message::Text("hello over wss".into())
    );
    ws.close(CloseCode::NORMAL, "done").expect("close");
    while !matches!(ws.read(), Ok(Message::Close(_)) | Err(_)) {}
    drop(ws);
    server.join().expect("server");
    let head = requests.join();
    assert!(
        head.starts_with(&format!("CONNECT localhost:{} HTTP/1.1\r\n", addr.port())),
        "{head}"
    );
}
