//! The byte stream under a connection: plain TCP, or TLS over TCP (feature `tls`).
//!
//! [`Transport`] reads and writes like a non-blocking socket, so that the event loop runs
//! both the same way. With TLS, a read takes decrypted bytes that rustls already holds
//! first, then reads records from the socket (`read_tls`, `process_new_packets`); a write
//! hands plaintext to rustls (`writer`) only once the socket has taken every TLS byte
//! encrypted before (`write_tls`), so rustls holds at most [`TLS_BUFFER_LIMIT`] of output and
//! the protocol's own buffered amount stays what the watermarks see. Nothing blocks: a
//! socket that takes no more is `WouldBlock`, as with plain TCP.
//!
//! A plain connection costs nothing more than its socket (with the feature, one empty
//! pointer).

use std::io::{self, IoSlice, Read, Write};
use std::net::Shutdown;

use mio::net::TcpStream;

use crate::{Error, Options};

/// The most output one TLS connection holds inside rustls (plaintext waiting for the
/// handshake, or records not yet taken by the socket): rustls's `set_buffer_limit`.
#[cfg(feature = "tls")]
pub(crate) const TLS_BUFFER_LIMIT: usize = 64 << 10;

/// A connection's socket, and its TLS session if it has one.
pub(crate) struct Transport {
    pub(crate) socket: TcpStream,
    /// Boxed: a TLS session is a few KiB, and plain connections do without it.
    #[cfg(feature = "tls")]
    tls: Option<Box<rustls::Connection>>,
}

impl Transport {
    /// A plain TCP connection.
    pub(crate) fn plain(socket: TcpStream) -> Transport {
        Transport {
            socket,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }

    /// TLS over `socket`: nothing is read or written yet; the TLS handshake runs as the
    /// connection is read and written, under the WebSocket handshake's timeout.
    #[cfg(feature = "tls")]
    pub(crate) fn tls(socket: TcpStream, tls: impl Into<rustls::Connection>) -> Transport {
        let mut tls = Box::new(tls.into());
        tls.set_buffer_limit(Some(TLS_BUFFER_LIMIT));
        Transport {
            socket,
            tls: Some(tls),
        }
    }

    /// Reads bytes of the WebSocket stream: `Ok(0)` at its end, `WouldBlock` when there are
    /// none for now. A TLS error comes as an `InvalidData` error holding the
    /// [`rustls::Error`] (the alert for it is sent first, as far as the socket takes it).
    pub(crate) fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        #[cfg(feature = "tls")]
        if let Some(tls) = &mut self.tls {
            return read_tls(tls, &mut self.socket, buf);
        }
        self.socket.read(buf)
    }

    /// Writes bytes of the WebSocket stream, as much as the socket (and with TLS, rustls's
    /// bounded buffer) takes now; `WouldBlock` when it takes none.
    pub(crate) fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        #[cfg(feature = "tls")]
        if self.tls.is_some() {
            return self.write_vectored(&[IoSlice::new(buf)]);
        }
        self.socket.write(buf)
    }

    /// [`Transport::write`] of several pieces in one go.
    pub(crate) fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        #[cfg(feature = "tls")]
        if let Some(tls) = &mut self.tls {
            if !flush_tls(tls, &mut self.socket)? {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            let taken = tls.writer().write_vectored(bufs)?;
            if taken == 0 && bufs.iter().any(|b| !b.is_empty()) {
                // rustls's buffer is full (plaintext waiting for the handshake).
                return Err(io::ErrorKind::WouldBlock.into());
            }
            // Send what was just encrypted now; what the socket does not take is sent on
            // its next writable event.
            flush_tls(tls, &mut self.socket)?;
            return Ok(taken);
        }
        self.socket.write_vectored(bufs)
    }

    /// Writes what the transport itself still holds (TLS records), as far as the socket
    /// takes them. True when nothing is left.
    pub(crate) fn flush(&mut self) -> io::Result<bool> {
        #[cfg(feature = "tls")]
        if let Some(tls) = &mut self.tls {
            return flush_tls(tls, &mut self.socket);
        }
        Ok(true)
    }

    /// Ends the write side once everything is written: TLS's `close_notify` first (so the
    /// peer can tell the end from a truncation), then the TCP FIN. False while output is
    /// still waiting for the socket; call again on the next writable event.
    pub(crate) fn shutdown(&mut self) -> io::Result<bool> {
        #[cfg(feature = "tls")]
        if let Some(tls) = &mut self.tls {
            // rustls sends it once, and not after a fatal alert.
            tls.send_close_notify();
            if !flush_tls(tls, &mut self.socket)? {
                return Ok(false);
            }
        }
        // A socket the peer reset cannot be shut down; it is closed all the same.
        let _ = self.socket.shutdown(Shutdown::Write);
        Ok(true)
    }

    /// The transport of a connection accepted by a server with these options: TLS when
    /// [`Options::tls`](crate::Options) is set.
    pub(crate) fn accepted(socket: TcpStream, options: &Options) -> Result<Transport, Error> {
        #[cfg(feature = "tls")]
        if let Some(config) = &options.tls {
            let tls = rustls::ServerConnection::new(std::sync::Arc::clone(config))?;
            return Ok(Transport::tls(socket, tls));
        }
        let _ = options;
        Ok(Transport::plain(socket))
    }
}

/// Decrypted bytes into `buf`, reading records from `socket` while rustls holds none.
#[cfg(feature = "tls")]
fn read_tls(
    tls: &mut rustls::Connection,
    socket: &mut TcpStream,
    buf: &mut [u8],
) -> io::Result<usize> {
    loop {
        match tls.reader().read(buf) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            // The TCP stream ended without `close_notify`. For WebSocket the closing
            // handshake tells a clean end from a truncation, so this is just the end of the
            // stream (ws-proto reports 1006 if no Close frame came before it).
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
            Err(e) => return Err(e),
        }
        // rustls holds no plaintext: more records from the socket (`Ok(0)` is the TCP end,
        // which the reader reports on the next turn). `WouldBlock` goes to the caller.
        tls.read_tls(socket)?;
        if let Err(error) = tls.process_new_packets() {
            // rustls queued the alert that tells the peer why; one try to send it.
            let _ = tls.write_tls(socket);
            return Err(io::Error::new(io::ErrorKind::InvalidData, error));
        }
    }
}

/// Writes rustls's pending records; true when none is left.
#[cfg(feature = "tls")]
fn flush_tls(tls: &mut rustls::Connection, socket: &mut TcpStream) -> io::Result<bool> {
    while tls.wants_write() {
        match tls.write_tls(socket) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}
