//! Helpers for the loopback tests: bounded peer threads, and a hand-written "raw" WebSocket
//! peer (HTTP and frames written and parsed byte by byte, independently of the library) for
//! the cases a well-behaved ws-std peer cannot produce.
#![allow(dead_code, unreachable_pub)]

pub mod proxies;

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::panic;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How long any peer thread, accept or blocking read may take before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(40);
/// Read timeout put on every socket, so that no read can block forever (generous: a loaded
/// 2-core CI machine echoes 16 MiB with compression in a few seconds).
pub const IO_TIMEOUT: Duration = Duration::from_secs(20);

// ----- Bounded threads ----------------------------------------------------------------------

/// A thread whose result is collected with a deadline; its panic is re-raised on `join`.
pub struct Peer<T> {
    rx: mpsc::Receiver<T>,
    handle: Option<JoinHandle<()>>,
}

impl<T> Peer<T> {
    /// Waits (at most [`DEADLINE`]) for the thread's result.
    pub fn join(mut self) -> T {
        match self.rx.recv_timeout(DEADLINE) {
            Ok(value) => {
                let _ = self.handle.take().map(JoinHandle::join);
                value
            }
            Err(RecvTimeoutError::Timeout) => {
                panic!("peer thread still running after {DEADLINE:?}")
            }
            Err(RecvTimeoutError::Disconnected) => {
                match self.handle.take().expect("joined once").join() {
                    Err(payload) => panic::resume_unwind(payload),
                    Ok(()) => panic!("peer thread ended without a result"),
                }
            }
        }
    }
}

/// Runs `f` on its own thread.
pub fn spawn<T, F>(f: F) -> Peer<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let (tx, rx) = mpsc::channel();
    let handle = thread::spawn(move || {
        let _ = tx.send(f());
    });
    Peer {
        rx,
        handle: Some(handle),
    }
}

/// Binds 127.0.0.1:0 and runs `f` on the first connection accepted (within [`DEADLINE`]).
pub fn serve_one<T, F>(f: F) -> (SocketAddr, Peer<T>)
where
    T: Send + 'static,
    F: FnOnce(TcpStream) -> T + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local_addr");
    let peer = spawn(move || f(accept_within(&listener, DEADLINE)));
    (addr, peer)
}

/// Binds 127.0.0.1:0 and runs `f` on each of the first `n` connections accepted, one after
/// another (each accept within [`DEADLINE`]); the results in order.
pub fn serve_many<T, F>(n: usize, mut f: F) -> (SocketAddr, Peer<Vec<T>>)
where
    T: Send + 'static,
    F: FnMut(TcpStream) -> T + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local_addr");
    let peer = spawn(move || {
        (0..n)
            .map(|_| f(accept_within(&listener, DEADLINE)))
            .collect()
    });
    (addr, peer)
}

/// Accepts one connection, failing after `limit` (a bounded poll, so the thread cannot hang
/// when the test fails before connecting).
pub fn accept_within(listener: &TcpListener, limit: Duration) -> TcpStream {
    listener.set_nonblocking(true).expect("set_nonblocking");
    let start = Instant::now();
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                stream.set_nonblocking(false).expect("set_nonblocking");
                stream.set_read_timeout(Some(IO_TIMEOUT)).expect("timeout");
                stream.set_write_timeout(Some(IO_TIMEOUT)).expect("timeout");
                return stream;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                assert!(start.elapsed() < limit, "no connection within {limit:?}");
                thread::sleep(Duration::from_millis(2));
            }
            Err(e) => panic!("accept failed: {e}"),
        }
    }
}

/// A plain TCP connection with read and write timeouts.
pub fn tcp_connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).expect("TCP connect");
    stream.set_read_timeout(Some(IO_TIMEOUT)).expect("timeout");
    stream.set_write_timeout(Some(IO_TIMEOUT)).expect("timeout");
    stream.set_nodelay(true).expect("nodelay");
    stream
}

// ----- Raw HTTP -----------------------------------------------------------------------------

/// The nonce and accept value of RFC 6455 section 1.3.
pub const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
pub const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// A request line followed by header lines and the blank line.
pub fn request(request_line: &str, headers: &[&str]) -> Vec<u8> {
    let mut out = format!("{request_line}\r\n");
    for h in headers {
        out.push_str(h);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    out.into_bytes()
}

/// The header lines of a valid opening handshake.
pub fn valid_headers() -> Vec<String> {
    vec![
        "Host: 127.0.0.1".into(),
        "Upgrade: websocket".into(),
        "Connection: Upgrade".into(),
        format!("Sec-WebSocket-Key: {KEY}"),
        "Sec-WebSocket-Version: 13".into(),
    ]
}

/// A valid opening handshake for `/raw`.
pub fn valid_request() -> Vec<u8> {
    let headers = valid_headers();
    let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
    request("GET /raw HTTP/1.1", &headers)
}

/// Reads an HTTP header block byte by byte (so no frame byte after it is consumed).
pub fn read_head(stream: &mut impl Read) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(0) => panic!(
                "EOF inside the header block: {:?}",
                String::from_utf8_lossy(&head)
            ),
            Ok(_) => head.push(byte[0]),
            Err(e) => panic!("reading the header block: {e}"),
        }
        assert!(head.len() < 64 * 1024, "header block never ended");
    }
    String::from_utf8(head).expect("ASCII header block")
}

/// Reads until the peer closes (bounded by the socket's read timeout).
pub fn read_to_eof(stream: &mut impl Read) -> Vec<u8> {
    let mut all = Vec::new();
    stream
        .read_to_end(&mut all)
        .expect("read until the peer closes");
    all
}

/// The value of header `name` (case-insensitive) in a header block.
pub fn header_value<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.split("\r\n").skip(1).find_map(|line| {
        let (k, v) = line.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// Connects and completes the opening handshake by hand; returns the stream positioned at the
/// first frame.
pub fn raw_client_handshake(addr: SocketAddr) -> TcpStream {
    let mut stream = tcp_connect(addr);
    stream.write_all(&valid_request()).expect("write request");
    let head = read_head(&mut stream);
    assert!(
        head.starts_with("HTTP/1.1 101 Switching Protocols\r\n"),
        "{head:?}"
    );
    assert_eq!(header_value(&head, "Sec-WebSocket-Accept"), Some(ACCEPT));
    stream
}

/// Server side by hand: reads the client's request and answers 101 (followed by `extra`, in
/// the same write). Returns the request's header block.
pub fn raw_server_handshake(stream: &mut TcpStream, extra: &[u8]) -> String {
    let head = read_head(stream);
    let key = header_value(&head, "Sec-WebSocket-Key").expect("client sent a key");
    let accept = ws_std::ws_proto::handshake::accept_key(key.as_bytes());
    let mut response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n\r\n",
        std::str::from_utf8(&accept).expect("base64")
    )
    .into_bytes();
    response.extend_from_slice(extra);
    stream.write_all(&response).expect("write 101");
    head
}

// ----- Raw frames ---------------------------------------------------------------------------

pub const OP_CONT: u8 = 0x0;
pub const OP_TEXT: u8 = 0x1;
pub const OP_BINARY: u8 = 0x2;
pub const OP_CLOSE: u8 = 0x8;
pub const OP_PING: u8 = 0x9;
pub const OP_PONG: u8 = 0xA;

/// The mask key raw clients use.
pub const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// Encodes a frame: `first` is the first byte (FIN, RSV, opcode), e.g. 0x81 for a final text
/// frame; `mask` masks the payload.
pub fn frame(first: u8, mask: Option<[u8; 4]>, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![first];
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    let len = payload.len();
    if len < 126 {
        out.push(mask_bit | len as u8);
    } else if len <= 0xFFFF {
        out.push(mask_bit | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(mask_bit | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    match mask {
        Some(key) => {
            out.extend_from_slice(&key);
            out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        }
        None => out.extend_from_slice(payload),
    }
    out
}

/// A final frame as a client sends it (masked with [`MASK`]).
pub fn client_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    frame(0x80 | opcode, Some(MASK), payload)
}

/// A final frame as a server sends it (unmasked).
pub fn server_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    frame(0x80 | opcode, None, payload)
}

/// A Close frame payload.
pub fn close_payload(code: u16, reason: &str) -> Vec<u8> {
    let mut p = code.to_be_bytes().to_vec();
    p.extend_from_slice(reason.as_bytes());
    p
}

/// A frame read off the wire, payload unmasked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawFrame {
    /// The first header byte as sent (FIN, RSV, opcode).
    pub first: u8,
    /// The length byte's mask bit was set.
    pub masked: bool,
    pub payload: Vec<u8>,
}

impl RawFrame {
    pub fn opcode(&self) -> u8 {
        self.first & 0x0F
    }

    /// The status code of a Close frame.
    pub fn close_code(&self) -> Option<u16> {
        (self.payload.len() >= 2).then(|| u16::from_be_bytes([self.payload[0], self.payload[1]]))
    }

    /// The reason of a Close frame.
    pub fn close_reason(&self) -> &str {
        std::str::from_utf8(self.payload.get(2..).unwrap_or_default()).expect("UTF-8 reason")
    }
}

/// Reads one frame.
pub fn read_frame(stream: &mut impl Read) -> RawFrame {
    let mut head = [0u8; 2];
    stream.read_exact(&mut head).expect("frame header");
    let masked = head[1] & 0x80 != 0;
    let len = match head[1] & 0x7F {
        126 => {
            let mut b = [0u8; 2];
            stream.read_exact(&mut b).expect("16-bit length");
            u64::from(u16::from_be_bytes(b))
        }
        127 => {
            let mut b = [0u8; 8];
            stream.read_exact(&mut b).expect("64-bit length");
            u64::from_be_bytes(b)
        }
        n => u64::from(n),
    };
    let mut key = [0u8; 4];
    if masked {
        stream.read_exact(&mut key).expect("mask key");
    }
    let mut payload = vec![0u8; usize::try_from(len).expect("length fits")];
    stream.read_exact(&mut payload).expect("frame payload");
    if masked {
        for (i, b) in payload.iter_mut().enumerate() {
            *b ^= key[i % 4];
        }
    }
    RawFrame {
        first: head[0],
        masked,
        payload,
    }
}

/// Asserts the peer has closed the connection (the next read is end of stream).
pub fn assert_eof(stream: &mut impl Read) {
    let mut buf = [0u8; 16];
    match stream.read(&mut buf) {
        Ok(0) => {}
        Ok(n) => panic!("expected end of stream, got {:?}", &buf[..n]),
        Err(e) => panic!("expected end of stream, got {e}"),
    }
}
