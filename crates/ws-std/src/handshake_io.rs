//! Blocking I/O for the opening handshake, shared by client and server.

use std::io;
use std::time::Instant;

use ws_proto::handshake::Status;
use ws_proto::HandshakeError;

use crate::{Error, Transport};

/// Reads until `parse` finds a complete header block; returns its result and the bytes that
/// followed the header block. `deadline` bounds the whole exchange (slow senders).
pub(crate) fn read_head<S: Transport, T>(
    stream: &mut S,
    deadline: Option<Instant>,
    mut parse: impl FnMut(&[u8]) -> Result<Status<(T, usize)>, HandshakeError>,
) -> Result<(T, Vec<u8>), Error> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(deadline) = deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(timed_out());
            }
            stream.set_read_timeout(Some(left))?;
        }
        let n = match stream.read(&mut chunk) {
            Ok(0) => {
                return Err(Error::Io(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed during the opening handshake",
                )))
            }
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            // The socket's read timeout is the time left before the deadline: report the
            // handshake timeout as such, not as a `WouldBlock` the caller might retry.
            Err(e)
                if deadline.is_some()
                    && matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
            {
                return Err(timed_out())
            }
            Err(e) => return Err(Error::Io(e)),
        };
        buf.extend_from_slice(&chunk[..n]);
        // The parser enforces the header size limit, so `buf` stays bounded.
        if let Status::Complete((value, consumed)) = parse(&buf)? {
            stream.set_read_timeout(None)?;
            buf.drain(..consumed);
            return Ok((value, buf));
        }
    }
}

fn timed_out() -> Error {
    Error::Io(io::Error::new(
        io::ErrorKind::TimedOut,
        "opening handshake timed out",
    ))
}
