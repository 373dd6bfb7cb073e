//! TLS (feature `tls`) on the event loop, over real sockets on 127.0.0.1: echo over wss
//! (ws-mio against ws-mio, and against ws-std's TLS client and server), and every failure
//! the issue names, each a clear error and never a hang (certificates made by rcgen, in
//! the certificate helper ws-std's TLS tests share; every wait is bounded).

#[path = "../../ws-tls/test-support/certs.rs"]
mod certs;
mod common;
#[path = "../examples/scale/harness.rs"]
#[allow(dead_code, unreachable_pub)]
mod harness;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use certs::{Ca, Leaf};
use common::{next, until, WAIT};
use ws_mio::tls::rustls::{self, CertificateError};
use ws_mio::{
    CloseCode, ConnId, Connect, Ctx, Error, Handler, HandshakeError, Message, Options, Running,
    Server,
};

/// The handshake timeout of the stall tests: short, so that they are quick; the bound on
/// how long the failure may take is generous, for a loaded machine.
const SHORT_TIMEOUT: Duration = Duration::from_millis(300);
const STALL_BOUND: Duration = Duration::from_secs(10);

// ----- Reporting handlers -------------------------------------------------------------------

/// What an error was, comparable in tests.
#[derive(Debug, Clone, PartialEq)]
enum Fault {
    Tls(rustls::Error),
    Handshake(HandshakeError),
    Other(String),
}

impl Fault {
    fn of(error: &Error) -> Fault {
        match error {
            Error::Tls(e) => Fault::Tls(e.clone()),
            Error::Handshake(e) => Fault::Handshake(e.clone()),
            other => Fault::Other(format!("{other:?}")),
        }
    }
}

/// What a [`Reporter`] saw.
#[derive(Debug, Clone, PartialEq)]
enum Report {
    Open(ConnId),
    Message(ConnId, Message),
    Error(ConnId, Fault),
    Close(ConnId, u16),
}

/// Reports everything; a server echoes. A client connects on start, sends `script` when
/// open, closes once as many messages came back, and stops its loop at the end.
struct Reporter {
    tx: Sender<Report>,
    client: Option<(Connect, Vec<Message>)>,
    received: usize,
}

impl Handler for Reporter {
    fn start(&mut self, ctx: &mut Ctx<'_>) {
        if let Some((request, _)) = &self.client {
            if let Err(e) = ctx.connect(request.clone()) {
                panic!("connect: {e}");
            }
        }
    }

    fn open(&mut self, ctx: &mut Ctx<'_>, id: ConnId) {
        let _ = self.tx.send(Report::Open(id));
        if let Some((_, script)) = &self.client {
            for message in script {
                ctx.send(id, message).expect("send");
            }
        }
    }

    fn message(&mut self, ctx: &mut Ctx<'_>, id: ConnId, message: Message) {
        match &self.client {
            None => {
                ctx.send(id, &message).expect("echo");
            }
            Some((_, script)) => {
                self.received += 1;
                if self.received == script.len() {
                    ctx.close(id, CloseCode::NORMAL, "done").expect("close");
                }
            }
        }
        let _ = self.tx.send(Report::Message(id, message));
    }

    fn error(&mut self, _: &mut Ctx<'_>, id: ConnId, error: &Error) {
        let _ = self.tx.send(Report::Error(id, Fault::of(error)));
    }

    fn close(&mut self, ctx: &mut Ctx<'_>, id: ConnId, code: CloseCode, _: &str) {
        let _ = self.tx.send(Report::Close(id, code.as_u16()));
        if self.client.is_some() {
            ctx.shutdown();
        }
    }
}

/// A ws-mio echo server with these options.
fn server_with(options: Options) -> (SocketAddr, Running, Receiver<Report>) {
    let (tx, rx) = mpsc::channel();
    let server = Server::bind("127.0.0.1:0", options, move |_| Reporter {
        tx: tx.clone(),
        client: None,
        received: 0,
    })
    .expect("bind");
    let addr = server.local_addr().expect("addr");
    (addr, server.spawn().expect("spawn"), rx)
}

/// A ws-mio TLS echo server presenting `leaf`, with `tweak` applied to its options.
fn tls_server(
    leaf: &Leaf,
    tweak: impl FnOnce(&mut Options),
) -> (SocketAddr, Running, Receiver<Report>) {
    let mut options = Options::default();
    options.tls = Some(leaf.server_config());
    tweak(&mut options);
    server_with(options)
}

/// A ws-mio client loop that connects with `request`, sends `script` and closes once it
/// is echoed (or ends at the first failure).
fn mio_client(
    request: Connect,
    script: Vec<Message>,
    timeout: Duration,
) -> (Running, Receiver<Report>) {
    let (tx, rx) = mpsc::channel();
    let mut options = Options::default();
    options.config.handshake_timeout = Some(timeout);
    let client = Server::new(options, move |_| Reporter {
        tx: tx.clone(),
        client: Some((request.clone(), script.clone())),
        received: 0,
    })
    .expect("client loop");
    (client.spawn().expect("spawn"), rx)
}

fn wss(addr: SocketAddr, host: &str) -> String {
    format!("wss://{host}:{}/", addr.port())
}

/// The first error a loop reported (skipping the rest), failing after [`WAIT`].
fn first_error(rx: &Receiver<Report>) -> Fault {
    match until(rx, |r| matches!(r, Report::Error(..))) {
        Report::Error(_, fault) => fault,
        _ => unreachable!(),
    }
}

fn script() -> Vec<Message> {
    let big: Vec<u8> = (0..1 << 20).map(|i| (i % 251) as u8).collect();
    let mut script = vec![Message::Text("hello over wss".into()), Message::Binary(big)];
    script.extend((0..200).map(|i| Message::Text(format!("message {i}"))));
    script
}

/// The same message as ws-std has it.
fn std_message(message: &Message) -> ws_std::Message {
    match message {
        Message::Text(t) => ws_std::Message::Text(t.clone()),
        Message::Binary(b) => ws_std::Message::Binary(b.clone()),
    }
}

/// A ws-std `wss://` client of `addr` as `localhost`, trusting `config`; over a TLS stream
/// made by hand, so that the test reaches into the rustls connection.
fn std_client(
    config: Arc<rustls::ClientConfig>,
    addr: SocketAddr,
) -> Result<ws_std::WebSocket<ws_std::tls::ClientTlsStream>, ws_std::Error> {
    let tcp = TcpStream::connect(addr)?;
    let stream = ws_std::tls::client_stream(config, "localhost", tcp)?;
    let (mut ws, _) = ws_std::ClientBuilder::new(&wss(addr, "localhost"))
        .handshake_timeout(Some(WAIT))
        .handshake(stream)?;
    ws.set_read_timeout(Some(WAIT));
    Ok(ws)
}

// ----- Success ------------------------------------------------------------------------------

#[test]
fn ws_std_client_echo_over_wss_and_close_notify() {
    let ca = Ca::new();
    let leaf = ca.issue(&["localhost"]);
    let (addr, server, _) = tls_server(&leaf, |_| {});
    let mut ws = std_client(ca.client_config(), addr).expect("connect");
    assert_eq!(ws.get_ref().conn.alpn_protocol(), Some(&b"http/1.1"[..]));
    assert!(ws.connection().deflate_params().is_some());
    // Sent one at a time and all at once: small messages, a megabyte (many records).
    let script: Vec<ws_std::Message> = script().iter().map(std_message).collect();
    for message in &script {
        ws.send(message.clone()).expect("send");
        assert_eq!(&ws.read().expect("echo"), message);
    }
    for message in &script {
        ws.send(message.clone()).expect("send");
    }
    for message in &script {
        assert_eq!(&ws.read().expect("echo"), message);
    }
    ws.close(CloseCode::NORMAL, "done").expect("close");
    while !matches!(ws.read().expect("closing"), ws_std::Message::Close(_)) {}
    // The server ended TLS with close_notify before its FIN: a clean end (a truncation is
    // rustls's `UnexpectedEof`).
    let end = ws.get_mut().conn.reader().read(&mut [0; 1]);
    assert!(matches!(end, Ok(0)), "{end:?}");
    server.stop().expect("stop");
}

#[test]
fn mio_client_echo_against_the_mio_tls_server() {
    let ca = Ca::new();
    let leaf = ca.issue(&["localhost", "127.0.0.1"]);
    let (addr, server, server_rx) = tls_server(&leaf, |_| {});
    // By name and by IP address (SNI only for the name; both checked).
    for host in ["localhost", "127.0.0.1"] {
        let request = Connect::new(wss(addr, host)).tls(ca.client_config());
        let (client, rx) = mio_client(request, script(), WAIT);
        assert!(matches!(next(&rx), Report::Open(_)));
        for message in script() {
            assert!(matches!(next(&rx), Report::Message(_, m) if m == message));
        }
        assert!(matches!(next(&rx), Report::Close(_, 1000)));
        assert!(matches!(
            until(&server_rx, |r| matches!(r, Report::Close(..))),
            Report::Close(_, 1000)
        ));
        client.join().expect("client loop");
    }
    server.stop().expect("stop");
}

#[test]
fn mio_client_echo_against_the_ws_std_tls_server() {
    let ca = Ca::new();
    let leaf = ca.issue(&["localhost"]);
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let config = leaf.server_config();
    let server = std::thread::spawn(move || -> Result<std::io::Result<usize>, ws_std::Error> {
        let (tcp, _) = listener.accept().expect("accept");
        tcp.set_read_timeout(Some(WAIT)).expect("timeout");
        let mut ws = ws_std::ServerBuilder::new().tls(config).accept_tls(tcp)?;
        loop {
            match ws.read()? {
                // What follows the closing handshake: `Ok(0)` if the client ended TLS with
                // close_notify, `UnexpectedEof` if it only closed TCP.
                ws_std::Message::Close(_) => return Ok(ws.get_mut().read(&mut [0; 1])),
                m if m.is_data() => ws.send(m)?,
                _ => {}
            }
        }
    });
    let request = Connect::new(wss(addr, "localhost")).tls(ca.client_config());
    let (client, rx) = mio_client(request, script(), WAIT);
    assert!(matches!(next(&rx), Report::Open(_)));
    for message in script() {
        assert!(matches!(next(&rx), Report::Message(_, m) if m == message));
    }
    assert!(matches!(next(&rx), Report::Close(_, 1000)));
    client.join().expect("client loop");
    let end = server.join().expect("server thread").expect("server");
    assert!(matches!(end, Ok(0)), "the client's close_notify: {end:?}");
}

#[test]
fn a_plain_http_request_over_tls_gets_its_answer_then_close_notify() {
    // What a browser asking for the chat page over https does: the handler's `http`
    // answer (here the default, 426) goes back over TLS, then the server ends TLS cleanly.
    let ca = Ca::new();
    let leaf = ca.issue(&["localhost"]);
    let (addr, server, _) = tls_server(&leaf, |_| {});
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
    let tls = rustls::ClientConnection::new(ca.client_config(), name).expect("client");
    let tcp = TcpStream::connect(addr).expect("connect");
    tcp.set_read_timeout(Some(WAIT)).expect("timeout");
    let mut https = rustls::StreamOwned::new(tls, tcp);
    https
        .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .expect("request");
    let mut answer = Vec::new();
    // `read_to_end` ends without error only at the server's close_notify.
    https
        .read_to_end(&mut answer)
        .expect("answer, then close_notify");
    assert!(answer.starts_with(b"HTTP/1.1 426"), "{answer:?}");
    server.stop().expect("stop");
}

#[test]
fn a_slow_tls_reader_gets_backpressure_then_drain() {
    // The server sends 8 MiB to a client that reads nothing yet: sends report backpressure
    // once the watermark is reached (TLS holds only its bounded buffer, the rest is the
    // protocol's, which the watermarks count); once the client reads it all, the
    // connection drains.
    struct Flood(Sender<String>);
    impl Handler for Flood {
        fn open(&mut self, ctx: &mut Ctx<'_>, id: ConnId) {
            let chunk = Message::Binary(vec![7; 64 << 10]);
            let mut pressured = false;
            for _ in 0..128 {
                let status = ctx.send(id, &chunk).expect("send");
                pressured |= status == ws_mio::SendStatus::Backpressure;
            }
            let buffered = ctx.buffered_amount(id).expect("open");
            let _ = self
                .0
                .send(format!("pressured {pressured} {}", buffered > 1 << 20));
        }
        fn drain(&mut self, ctx: &mut Ctx<'_>, id: ConnId) {
            let buffered = ctx.buffered_amount(id).expect("open");
            let _ = self.0.send(format!("drained {}", buffered <= 256 << 10));
        }
    }
    let ca = Ca::new();
    let leaf = ca.issue(&["localhost"]);
    let mut options = Options::default();
    options.tls = Some(leaf.server_config());
    options.config.deflate.enabled = false;
    let (tx, rx) = mpsc::channel();
    let server = Server::bind("127.0.0.1:0", options, move |_| Flood(tx.clone())).expect("bind");
    let addr = server.local_addr().expect("addr");
    let server = server.spawn().expect("spawn");
    let mut ws = std_client(ca.client_config(), addr).expect("connect");
    assert_eq!(next(&rx), "pressured true true");
    for _ in 0..128 {
        assert_eq!(
            ws.read().expect("flood"),
            ws_std::Message::Binary(vec![7; 64 << 10])
        );
    }
    assert_eq!(next(&rx), "drained true");
    ws.close(CloseCode::NORMAL, "").expect("close");
    while !matches!(ws.read().expect("closing"), ws_std::Message::Close(_)) {}
    server.stop().expect("stop");
}

#[test]
fn many_tls_connections_get_every_broadcast_and_close_cleanly() {
    // The scale run over TLS, small (the handshakes are slow in a debug build): two server
    // loops, two client loops, broadcasts, an echo on each connection, a clean close of all.
    const CONNECTIONS: usize = 200;
    let ca = Ca::new();
    let leaf = ca.issue(&["127.0.0.1"]);
    let mut options = Options::default();
    options.threads = 2;
    options.config.deflate.enabled = false;
    options.tls = Some(leaf.server_config());
    let server = Server::bind("127.0.0.1:0", options, |_| harness::Hub).expect("bind");
    let addr = server.local_addr().expect("addr");
    let running = server.spawn().expect("spawn");
    let plan = harness::Plan {
        connections: CONNECTIONS,
        client_threads: 2,
        broadcasts: 3,
        broadcast_len: 64,
        echo_len: 16 << 10,
        deflate: false,
        tls: Some(ca.client_config()),
    };
    let outcome = harness::run(addr, &plan, |_| None).expect("scale run");
    assert_eq!(outcome.fan_out.len(), 3);
    assert_eq!(outcome.clean_closes, CONNECTIONS);
    running.stop().expect("stop");
}

// ----- Certificates refused -----------------------------------------------------------------

/// The mio client's error against a mio server presenting `leaf`; the server heard why
/// (the client's alert).
fn refused(leaf: &Leaf, config: Arc<rustls::ClientConfig>, host: &str) -> rustls::Error {
    let (addr, server, server_rx) = tls_server(leaf, |_| {});
    let request = Connect::new(wss(addr, host)).tls(config);
    let (client, rx) = mio_client(request, Vec::new(), WAIT);
    let Fault::Tls(error) = first_error(&rx) else {
        panic!("client: not a TLS error");
    };
    client.stop().expect("client loop");
    let server_error = first_error(&server_rx);
    assert!(
        matches!(server_error, Fault::Tls(rustls::Error::AlertReceived(_))),
        "server: {server_error:?}"
    );
    server.stop().expect("stop");
    error
}

#[test]
fn an_untrusted_certificate_is_refused() {
    let ca = Ca::new();
    let leaf = ca.issue(&["localhost"]);
    let other = Ca::named("another test CA");
    let error = refused(&leaf, other.client_config(), "localhost");
    assert_eq!(
        error,
        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)
    );
    // And by default (no `Connect::tls`): the bundled roots did not sign it either.
    let error = refused(
        &leaf,
        ws_mio::tls::client::default_config().expect("config"),
        "localhost",
    );
    assert_eq!(
        error,
        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)
    );
    let shown = Error::Tls(error.clone()).to_string();
    assert!(
        shown.starts_with("TLS error: invalid peer certificate"),
        "{shown}"
    );
    let io = std::io::Error::from(Error::Tls(error));
    assert_eq!(io.kind(), std::io::ErrorKind::InvalidData);
}

#[test]
fn the_default_client_configuration_trusts_the_bundled_roots() {
    let ca = Ca::new();
    let leaf = ca.issue(&["localhost"]);
    let (addr, server, _) = tls_server(&leaf, |_| {});
    let (client, rx) = mio_client(Connect::new(wss(addr, "localhost")), Vec::new(), WAIT);
    assert_eq!(
        first_error(&rx),
        Fault::Tls(rustls::Error::InvalidCertificate(
            CertificateError::UnknownIssuer
        ))
    );
    client.stop().expect("client loop");
    server.stop().expect("stop");
}

#[test]
fn certificates_for_another_name_or_expired_are_refused() {
    let ca = Ca::new();
    for case in certs::refusals(&ca) {
        let error = refused(&case.leaf, ca.client_config(), "localhost");
        assert!((case.expected)(&error), "{}: {error:?}", case.what);
    }
}

// ----- Peers that do not speak TLS ----------------------------------------------------------

#[test]
fn a_plain_client_on_the_tls_port_fails_on_both_sides() {
    let ca = Ca::new();
    let leaf = ca.issue(&["localhost"]);
    let (addr, server, server_rx) = tls_server(&leaf, |_| {});
    // A ws-std client, and a ws-mio one.
    let client = ws_std::ClientBuilder::new(&format!("ws://127.0.0.1:{}/", addr.port()))
        .handshake_timeout(Some(WAIT))
        .connect()
        .map(drop);
    assert!(
        matches!(
            client,
            Err(ws_std::Error::Handshake(_) | ws_std::Error::Io(_))
        ),
        "{client:?}"
    );
    let error = first_error(&server_rx);
    assert!(
        matches!(error, Fault::Tls(rustls::Error::InvalidMessage(_))),
        "{error:?}"
    );
    let request = Connect::new(format!("ws://127.0.0.1:{}/", addr.port()));
    let (client, rx) = mio_client(request, Vec::new(), WAIT);
    let error = first_error(&rx);
    assert!(
        matches!(error, Fault::Handshake(_) | Fault::Other(_)),
        "{error:?}"
    );
    client.stop().expect("client loop");
    assert!(matches!(first_error(&server_rx), Fault::Tls(_)));
    server.stop().expect("stop");
}

#[test]
fn a_tls_client_on_a_plain_port_fails_on_both_sides() {
    let (addr, server, server_rx) = server_with(Options::default());
    let ca = Ca::new();
    let request = Connect::new(wss(addr, "localhost")).tls(ca.client_config());
    let (client, rx) = mio_client(request, Vec::new(), WAIT);
    // The server's HTTP 400 is no TLS record.
    let error = first_error(&rx);
    assert!(
        matches!(error, Fault::Tls(rustls::Error::InvalidMessage(_))),
        "{error:?}"
    );
    client.stop().expect("client loop");
    assert!(matches!(first_error(&server_rx), Fault::Handshake(_)));
    server.stop().expect("stop");
}

#[test]
fn garbage_records_are_refused_before_and_after_the_handshake() {
    let ca = Ca::new();
    let leaf = ca.issue(&["localhost"]);
    let (addr, server, server_rx) = tls_server(&leaf, |_| {});
    for bytes in certs::GARBAGE_RECORDS {
        let mut tcp = TcpStream::connect(addr).expect("connect");
        tcp.set_read_timeout(Some(WAIT)).expect("timeout");
        tcp.write_all(bytes).expect("garbage");
        assert!(matches!(first_error(&server_rx), Fault::Tls(_)));
        // The server closed the connection (after its alert): the read ends.
        let mut answer = Vec::new();
        let _ = tcp.read_to_end(&mut answer);
        assert!(answer.len() < 64, "at most an alert: {answer:?}");
    }
    // After the handshake: an application-data record no key encrypted.
    let mut ws = std_client(ca.client_config(), addr).expect("connect");
    ws.send_text("before").expect("send");
    assert_eq!(
        ws.read().expect("echo"),
        ws_std::Message::Text("before".into())
    );
    ws.get_mut()
        .sock
        .write_all(&certs::forged_record())
        .expect("garbage");
    assert_eq!(
        first_error(&server_rx),
        Fault::Tls(rustls::Error::DecryptError)
    );
    // The handler heard of the end (1006), and the client does not hang.
    assert!(matches!(
        until(&server_rx, |r| matches!(r, Report::Close(..))),
        Report::Close(_, 1006)
    ));
    assert!(ws.read().is_err());
    server.stop().expect("stop");
}

// ----- Stalls -------------------------------------------------------------------------------

#[test]
fn a_client_that_stalls_in_the_tls_handshake_is_cut_by_the_handshake_timeout() {
    let ca = Ca::new();
    let leaf = ca.issue(&["localhost"]);
    let (addr, server, server_rx) = tls_server(&leaf, |options| {
        options.config.handshake_timeout = Some(SHORT_TIMEOUT);
    });
    // Silent; the first bytes of a ClientHello and silent again (slowloris over TLS); a
    // whole ClientHello and silent (never finishing the handshake).
    let mut hello = Vec::new();
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
    let mut tls = rustls::ClientConnection::new(ca.client_config(), name).expect("client");
    tls.write_tls(&mut hello).expect("ClientHello");
    let starts: [&[u8]; 3] = [b"", &[0x16, 0x03, 0x01], &hello];
    for start in starts {
        let started = Instant::now();
        let mut tcp = TcpStream::connect(addr).expect("connect");
        tcp.set_read_timeout(Some(WAIT)).expect("timeout");
        tcp.write_all(start).expect("start");
        assert_eq!(
            first_error(&server_rx),
            Fault::Handshake(HandshakeError::Timeout)
        );
        // The server closed the connection.
        let _ = tcp.read_to_end(&mut Vec::new());
        let took = started.elapsed();
        assert!(took >= SHORT_TIMEOUT && took < STALL_BOUND, "{took:?}");
    }
    server.stop().expect("stop");
}

#[test]
fn a_server_that_stalls_in_the_tls_handshake_is_cut_by_the_handshake_timeout() {
    // Accepts, reads the ClientHello, answers nothing.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = std::thread::spawn(move || {
        let (mut tcp, _) = listener.accept().expect("accept");
        tcp.set_read_timeout(Some(WAIT)).expect("timeout");
        let _ = tcp.read_to_end(&mut Vec::new());
    });
    let ca = Ca::new();
    let started = Instant::now();
    let request = Connect::new(wss(addr, "localhost")).tls(ca.client_config());
    let (client, rx) = mio_client(request, Vec::new(), SHORT_TIMEOUT);
    assert_eq!(first_error(&rx), Fault::Handshake(HandshakeError::Timeout));
    let took = started.elapsed();
    assert!(took >= SHORT_TIMEOUT && took < STALL_BOUND, "{took:?}");
    client.stop().expect("client loop");
    server.join().expect("server");
}
