//! Clients through proxies run by the tests on 127.0.0.1: an HTTP `CONNECT` proxy and a
//! SOCKS5 proxy (each a thread of this test), with and without credentials, refusing, and
//! answering garbage.

mod common;

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::Duration;

use common::proxies::{http_proxy, open, pipe};
use common::{header_value, serve_one, tcp_connect, Peer};
use ws_std::proxy::ProxyError;
use ws_std::{ClientBuilder, Error, HandshakeError, Message};

/// A WebSocket echo server for one connection; it returns the texts it echoed.
fn echo_server() -> (SocketAddr, Peer<Vec<String>>) {
    serve_one(|stream| {
        let mut ws = ws_std::accept(stream).expect("server handshake");
        let mut seen = Vec::new();
        loop {
            match ws.read() {
                Ok(Message::Text(t)) => {
                    ws.send_text(&t).expect("echo");
                    seen.push(t.to_string());
                }
                Ok(Message::Close(_)) | Err(Error::ConnectionClosed) => return seen,
                Ok(_) => {}
                Err(e) => panic!("echo server: {e}"),
            }
        }
    })
}

/// Connects to `ws://127.0.0.1:PORT/` through `proxy`, sends one text and reads its echo.
fn echo_through(proxy: &str, server: SocketAddr) -> Result<String, Error> {
    let url = format!("ws://{server}/");
    let (mut ws, _) = ClientBuilder::new(&url).proxy(proxy).connect()?;
    ws.send_text("through the tunnel")?;
    let echoed = match ws.read()? {
        Message::Text(t) => t.to_string(),
        other => panic!("unexpected {other:?}"),
    };
    ws.close(ws_std::CloseCode::NORMAL, "")?;
    while !matches!(
        ws.read(),
        Err(Error::ConnectionClosed) | Ok(Message::Close(_))
    ) {}
    Ok(echoed)
}

// ----- HTTP CONNECT -----------------------------------------------------------------------

/// 200 for `Basic alice:s3cret`, 407 otherwise.
fn basic_auth(head: &str) -> Vec<u8> {
    // base64("alice:s3cret")
    if header_value(head, "Proxy-Authorization") == Some("Basic YWxpY2U6czNjcmV0") {
        open(head)
    } else {
        b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n\r\n".to_vec()
    }
}

#[test]
fn echo_through_an_http_proxy() {
    let (server, echo) = echo_server();
    let (proxy, requests) = http_proxy(open);
    let echoed = echo_through(&format!("http://{proxy}"), server).unwrap();
    assert_eq!(echoed, "through the tunnel");
    assert_eq!(echo.join(), ["through the tunnel"]);
    let head = requests.join();
    assert!(
        head.starts_with(&format!("CONNECT {server} HTTP/1.1\r\n")),
        "{head}"
    );
    assert_eq!(
        header_value(&head, "Host"),
        Some(server.to_string().as_str())
    );
    assert_eq!(header_value(&head, "Proxy-Authorization"), None);
}

#[test]
fn http_proxy_with_basic_auth() {
    let (server, echo) = echo_server();
    let (proxy, _) = http_proxy(basic_auth);
    let echoed = echo_through(&format!("http://alice:s3cret@{proxy}"), server).unwrap();
    assert_eq!(echoed, "through the tunnel");
    assert_eq!(echo.join().len(), 1);
}

#[test]
fn http_proxy_refuses_bad_or_missing_credentials() {
    for (userinfo, expected) in [
        ("alice:wrong@", ProxyError::AuthFailed),
        ("", ProxyError::AuthRequired),
    ] {
        let (proxy, requests) = http_proxy(basic_auth);
        let server: SocketAddr = "127.0.0.1:9".parse().unwrap();
        match echo_through(&format!("http://{userinfo}{proxy}"), server) {
            Err(Error::Proxy(e)) => assert_eq!(e, expected),
            other => panic!("{other:?}"),
        }
        requests.join();
    }
}

#[test]
fn http_proxy_refusals_carry_the_status() {
    fn forbidden(_: &str) -> Vec<u8> {
        b"HTTP/1.1 403 Forbidden\r\nContent-Length: 9\r\n\r\nforbidden".to_vec()
    }
    fn bad_gateway(_: &str) -> Vec<u8> {
        b"HTTP/1.1 502 Bad Gateway\r\n\r\n".to_vec()
    }
    for (answer, status) in [(forbidden as fn(&str) -> Vec<u8>, 403), (bad_gateway, 502)] {
        let (proxy, requests) = http_proxy(answer);
        let err =
            echo_through(&format!("http://{proxy}"), "127.0.0.1:9".parse().unwrap()).unwrap_err();
        assert!(
            matches!(err, Error::Proxy(ProxyError::Refused(s)) if s == status),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            format!("proxy refused the tunnel with HTTP {status}")
        );
        requests.join();
    }
}

// ----- Garbage and silence ------------------------------------------------------------------

/// A "proxy" that reads what the client sends first, then answers `reply` and closes.
fn garbage_proxy(reply: Vec<u8>) -> (SocketAddr, Peer<()>) {
    serve_one(move |mut client| {
        let mut first = [0u8; 64];
        let _ = client.read(&mut first).unwrap();
        let _ = client.write_all(&reply);
        let _ = client.shutdown(Shutdown::Write);
        // Drain until the client leaves, so that it sees the reply rather than a reset.
        let _ = io::copy(&mut client, &mut io::sink());
    })
}

#[test]
fn garbage_replies_are_clear_errors() {
    let server: SocketAddr = "127.0.0.1:9".parse().unwrap();
    let endless = b"HTTP/1.1 200 OK\r\n"
        .iter()
        .copied()
        .chain(std::iter::repeat_n(b'x', 20_000))
        .collect();
    let cases: Vec<(&str, Vec<u8>, ProxyError)> = vec![
        (
            "http",
            b"SSH-2.0-OpenSSH_9.6\r\n\r\n".to_vec(),
            ProxyError::BadReply("not an HTTP response"),
        ),
        ("http", endless, ProxyError::ReplyTooLarge),
        (
            "http",
            b"HTTP/1.1 200".to_vec(),
            ProxyError::BadReply("the proxy closed the connection"),
        ),
        (
            "socks5",
            vec![4, 90, 0, 0],
            ProxyError::BadReply("not a SOCKS5 method selection"),
        ),
        (
            "socks5",
            b"HTTP/1.1 400 Bad Request\r\n\r\n".to_vec(),
            ProxyError::BadReply("not a SOCKS5 method selection"),
        ),
        (
            "socks5",
            vec![5, 0x80],
            ProxyError::BadReply("SOCKS5 proxy chose a method that was not offered"),
        ),
    ];
    for (scheme, reply, expected) in cases {
        let (proxy, peer) = garbage_proxy(reply);
        match echo_through(&format!("{scheme}://{proxy}"), server) {
            Err(Error::Proxy(e)) => assert_eq!(e, expected),
            other => panic!("{scheme}: {other:?}"),
        }
        peer.join();
    }
}

#[test]
fn a_silent_proxy_is_under_the_handshake_timeout() {
    let (proxy, peer) = serve_one(|mut client| {
        // Never answers; returns once the client gives up and closes.
        let _ = io::copy(&mut client, &mut io::sink());
    });
    let err = ClientBuilder::new("ws://127.0.0.1:9/")
        .proxy(&format!("socks5://{proxy}"))
        .handshake_timeout(Some(Duration::from_millis(200)))
        .connect()
        .unwrap_err();
    assert!(
        matches!(err, Error::Handshake(HandshakeError::Timeout)),
        "{err:?}"
    );
    peer.join();
}

#[test]
fn an_invalid_proxy_url_fails_before_connecting() {
    let err = ClientBuilder::new("ws://127.0.0.1:9/")
        .proxy("socks4://127.0.0.1:1")
        .connect()
        .unwrap_err();
    assert!(
        matches!(err, Error::Proxy(ProxyError::InvalidUrl(_))),
        "{err:?}"
    );
}

// ----- SOCKS5 -------------------------------------------------------------------------------

/// What the SOCKS5 proxy saw: the address type of the request, and the name if one was sent.
#[derive(Debug, PartialEq)]
struct Socks5Request {
    atyp: u8,
    name: Option<String>,
}

fn read_exact<const N: usize>(s: &mut TcpStream) -> [u8; N] {
    let mut buf = [0u8; N];
    s.read_exact(&mut buf).unwrap();
    buf
}

fn read_short(s: &mut TcpStream) -> Vec<u8> {
    let [len] = read_exact::<1>(s);
    let mut buf = vec![0u8; len.into()];
    s.read_exact(&mut buf).unwrap();
    buf
}

/// A SOCKS5 proxy for one connection (RFC 1928/1929, written here byte by byte): with
/// `credentials`, it requires them; `refuse` is a reply code to answer `CONNECT` with.
fn socks5_proxy(
    credentials: Option<(&'static str, &'static str)>,
    refuse: Option<u8>,
) -> (SocketAddr, Peer<Option<Socks5Request>>) {
    serve_one(move |mut c| {
        let [version, n] = read_exact::<2>(&mut c);
        assert_eq!(version, 5);
        let mut methods = vec![0u8; n.into()];
        c.read_exact(&mut methods).unwrap();
        match credentials {
            None => c.write_all(&[5, 0]).unwrap(),
            Some(_) if !methods.contains(&2) => {
                c.write_all(&[5, 0xff]).unwrap();
                return None;
            }
            Some((user, pass)) => {
                c.write_all(&[5, 2]).unwrap();
                let [sub] = read_exact::<1>(&mut c);
                assert_eq!(sub, 1);
                let (u, p) = (read_short(&mut c), read_short(&mut c));
                if u != user.as_bytes() || p != pass.as_bytes() {
                    c.write_all(&[1, 1]).unwrap();
                    return None;
                }
                c.write_all(&[1, 0]).unwrap();
            }
        }
        let [version, command, _, atyp] = read_exact::<4>(&mut c);
        assert_eq!((version, command), (5, 1));
        let (ip, name) = match atyp {
            1 => (std::net::IpAddr::from(read_exact::<4>(&mut c)), None),
            4 => (std::net::IpAddr::from(read_exact::<16>(&mut c)), None),
            3 => {
                let name = String::from_utf8(read_short(&mut c)).unwrap();
                // The proxy resolves: these tests only send "localhost".
                assert_eq!(name, "localhost");
                ("127.0.0.1".parse().unwrap(), Some(name))
            }
            other => panic!("address type {other}"),
        };
        let port = u16::from_be_bytes(read_exact::<2>(&mut c));
        if let Some(code) = refuse {
            c.write_all(&[5, code, 0, 1, 0, 0, 0, 0, 0, 0]).unwrap();
            return Some(Socks5Request { atyp, name });
        }
        // The test's servers are on 127.0.0.1: a name resolved to `::1` by the client is
        // still loopback, and leads there too.
        assert!(ip.is_loopback(), "{ip}");
        let upstream = tcp_connect(SocketAddr::new("127.0.0.1".parse().unwrap(), port));
        c.write_all(&[5, 0, 0, 1, 127, 0, 0, 1, 0x04, 0x38])
            .unwrap();
        pipe(c, upstream);
        Some(Socks5Request { atyp, name })
    })
}

#[test]
fn echo_through_socks5_with_local_and_remote_resolution() {
    for (scheme, expected) in [
        (
            "socks5",
            Socks5Request {
                atyp: 1,
                name: None,
            },
        ),
        (
            "socks5h",
            Socks5Request {
                atyp: 3,
                name: Some("localhost".into()),
            },
        ),
    ] {
        let (server, echo) = echo_server();
        let (proxy, seen) = socks5_proxy(None, None);
        let url = format!("ws://localhost:{}/", server.port());
        let (mut ws, _) = ClientBuilder::new(&url)
            .proxy(&format!("{scheme}://{proxy}"))
            .connect()
            .unwrap();
        ws.send_text("hi").unwrap();
        assert_eq!(ws.read().unwrap(), Message::Text("hi".into()));
        ws.close(ws_std::CloseCode::NORMAL, "").unwrap();
        while !matches!(
            ws.read(),
            Err(Error::ConnectionClosed) | Ok(Message::Close(_))
        ) {}
        drop(ws);
        assert_eq!(echo.join(), ["hi"]);
        let seen = seen.join().expect("a CONNECT request");
        // `localhost` resolves to 127.0.0.1 or ::1 (address types 1 and 4).
        match expected.atyp {
            1 => assert!(
                matches!(
                    seen,
                    Socks5Request {
                        atyp: 1 | 4,
                        name: None
                    }
                ),
                "{seen:?}"
            ),
            _ => assert_eq!(seen, expected, "{scheme}"),
        }
    }
}

#[test]
fn socks5_with_username_and_password() {
    let (server, echo) = echo_server();
    let (proxy, seen) = socks5_proxy(Some(("bob", "hunter2")), None);
    let echoed = echo_through(&format!("socks5://bob:hunter2@{proxy}"), server).unwrap();
    assert_eq!(echoed, "through the tunnel");
    assert_eq!(echo.join().len(), 1);
    assert_eq!(seen.join().map(|r| r.atyp), Some(1));
}

#[test]
fn socks5_refusals() {
    let server: SocketAddr = "127.0.0.1:9".parse().unwrap();
    for (userinfo, expected) in [
        ("bob:wrong@", ProxyError::AuthFailed),
        ("", ProxyError::AuthRequired),
    ] {
        let (proxy, seen) = socks5_proxy(Some(("bob", "hunter2")), None);
        match echo_through(&format!("socks5://{userinfo}{proxy}"), server) {
            Err(Error::Proxy(e)) => assert_eq!(e, expected, "{userinfo}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(seen.join(), None);
    }
    let (proxy, seen) = socks5_proxy(None, Some(5));
    let err = echo_through(&format!("socks5://{proxy}"), server).unwrap_err();
    assert!(
        matches!(err, Error::Proxy(ProxyError::SocksRefused(5))),
        "{err:?}"
    );
    assert!(err.to_string().contains("connection refused"), "{err}");
    assert!(seen.join().is_some());
}
