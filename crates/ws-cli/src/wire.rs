//! The socket of one `ws bench` connection: a non-blocking TCP stream, or TLS over one
//! (`wss://`), driven by the bench's event loop.
//!
//! Both kinds read and write as a non-blocking socket does: `WouldBlock` when the loop must
//! wait for readiness. Over TLS, a read also moves the TLS handshake on and writes what
//! rustls has to send (handshake messages, alerts, records a full socket held back), so every
//! readiness event, readable or writable, lets the connection make progress.

use std::io::{self, Read, Write};
use std::sync::Arc;

use mio::net::TcpStream;
use ws_std::ws_tls::pki_types::ServerName;
use ws_std::ws_tls::rustls::{ClientConfig, ClientConnection};

/// What a TLS connection of the bench starts from: the configuration and the server's name.
#[derive(Debug, Clone)]
pub(crate) struct TlsClient {
    pub(crate) config: Arc<ClientConfig>,
    pub(crate) name: ServerName<'static>,
}

/// A bench connection's socket.
pub(crate) enum Wire {
    Plain(TcpStream),
    Tls(Box<TlsWire>),
}

/// TLS over a non-blocking TCP stream.
pub(crate) struct TlsWire {
    tcp: TcpStream,
    conn: ClientConnection,
    /// The TCP stream has ended (a read returned 0).
    eof: bool,
}

impl Wire {
    /// `tcp`, with TLS over it when `tls` is given (nothing is sent yet).
    pub(crate) fn new(tcp: TcpStream, tls: Option<&TlsClient>) -> io::Result<Wire> {
        Ok(match tls {
            None => Wire::Plain(tcp),
            Some(tls) => {
                let conn = ClientConnection::new(Arc::clone(&tls.config), tls.name.clone())
                    .map_err(invalid_data)?;
                Wire::Tls(Box::new(TlsWire {
                    tcp,
                    conn,
                    eof: false,
                }))
            }
        })
    }

    /// The TCP stream, for registration and socket options.
    pub(crate) fn tcp(&mut self) -> &mut TcpStream {
        match self {
            Wire::Plain(tcp) => tcp,
            Wire::Tls(tls) => &mut tls.tcp,
        }
    }

    /// Whether a read shorter than the buffer means the socket is empty (so the loop may
    /// wait for the next readiness edge). Not over TLS: rustls may hold decrypted data, or
    /// have read only part of what the socket has.
    pub(crate) fn short_read_drains(&self) -> bool {
        matches!(self, Wire::Plain(_))
    }
}

impl Read for Wire {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Wire::Plain(tcp) => tcp.read(buf),
            Wire::Tls(tls) => tls.read(buf),
        }
    }
}

impl Write for Wire {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Wire::Plain(tcp) => tcp.write(buf),
            Wire::Tls(tls) => tls.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Wire::Plain(tcp) => tcp.flush(),
            Wire::Tls(tls) => tls.send_pending(),
        }
    }
}

impl TlsWire {
    /// Writes the TLS records rustls has ready, until none is left (`Ok`) or the socket is
    /// full (`WouldBlock`).
    fn send_pending(&mut self) -> io::Result<()> {
        while self.conn.wants_write() {
            self.conn.write_tls(&mut self.tcp)?;
        }
        Ok(())
    }

    /// [`send_pending`](Self::send_pending), where a full socket is no error: what is left
    /// goes out at the next readiness event.
    fn send_what_fits(&mut self) -> io::Result<()> {
        match self.send_pending() {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
            other => other,
        }
    }

    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.send_what_fits()?;
        loop {
            match self.conn.reader().read(buf) {
                Ok(n) => return Ok(n),
                // The TCP stream ended without close_notify: an end all the same, for a
                // load generator (the bench judges it by its phase).
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock && self.eof => return Ok(0),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            // No plaintext: read records (WouldBlock when there are none either).
            if self.conn.read_tls(&mut self.tcp)? == 0 {
                self.eof = true;
            }
            let processed = self.conn.process_new_packets();
            // The handshake's answers, or the alert of an error, go out now.
            self.send_what_fits()?;
            processed.map_err(invalid_data)?;
        }
    }

    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // Records held back by a full socket go first; while they cannot, nothing more is
        // taken (rustls would buffer it without bound).
        self.send_pending()?;
        let n = self.conn.writer().write(buf)?;
        self.send_what_fits()?;
        if n == 0 && !buf.is_empty() {
            // rustls's buffer is full (plaintext queued before the handshake's end).
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(n)
    }
}

fn invalid_data(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}
