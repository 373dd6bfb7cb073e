//! A small HTTP `CONNECT` proxy for the tests, on 127.0.0.1 (SOCKS5 is in `tests/proxy.rs`).

use std::io;
use std::io::Write;
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::thread;

use super::{read_head, serve_one, tcp_connect, Peer};

/// Copies bytes both ways between `a` and `b` until both directions have ended.
pub fn pipe(a: TcpStream, b: TcpStream) {
    let (mut a2, mut b2) = (a.try_clone().unwrap(), b.try_clone().unwrap());
    let forward = thread::spawn(move || {
        let (mut a, mut b) = (a, b);
        let _ = io::copy(&mut a, &mut b);
        let _ = b.shutdown(Shutdown::Write);
    });
    let _ = io::copy(&mut b2, &mut a2);
    let _ = a2.shutdown(Shutdown::Write);
    forward.join().unwrap();
}

/// An HTTP proxy for one connection: `answer` decides the reply from the request head; a
/// 200 opens the tunnel to the requested port on 127.0.0.1 (where every test server is,
/// whatever name the request gives). Returns the request head.
pub fn http_proxy(answer: fn(&str) -> Vec<u8>) -> (SocketAddr, Peer<String>) {
    serve_one(move |mut client| {
        let head = read_head(&mut client);
        let reply = answer(&head);
        client.write_all(&reply).unwrap();
        if reply.starts_with(b"HTTP/1.1 200") {
            let authority = head.split(' ').nth(1).unwrap();
            let port: u16 = authority.rsplit_once(':').unwrap().1.parse().unwrap();
            pipe(
                client,
                tcp_connect(SocketAddr::from(([127, 0, 0, 1], port))),
            );
        }
        head
    })
}

/// The reply that opens the tunnel.
pub fn open(_: &str) -> Vec<u8> {
    b"HTTP/1.1 200 Connection established\r\n\r\n".to_vec()
}
