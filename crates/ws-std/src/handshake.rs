//! The opening handshake's byte mover, one loop for both roles: ws-proto's state machine
//! decides everything (what to write, when the handshake is over, when it has timed out);
//! this loop reads, writes and converts the clock, and keeps its place across `WouldBlock`.

use std::io;
use std::time::{Duration, Instant as StdInstant};

use ws_proto::handshake::{ClientHandshake, Response};
use ws_proto::{Connection, HandshakeError, Instant, Transmit};

use crate::{Error, Transport, WebSocket};

/// How much one read during the handshake takes.
const READ_CHUNK: usize = 4096;

/// What the loop needs of a handshake state machine: the calling contract the server and
/// client machines of ws-proto share.
pub(crate) trait Machine {
    /// What the finished handshake hands over besides the connection.
    type Output;

    fn receive_data(&mut self, data: &[u8], now: Instant);
    fn receive_eof(&mut self);
    fn handle_timeout(&mut self, now: Instant);
    fn poll_transmit(&mut self, out: &mut Vec<u8>) -> Option<Transmit>;
    fn poll_timeout(&self) -> Option<Instant>;
    /// Answers what the machine waits for the application to answer (the server's request).
    fn answer(&mut self) {}
    /// The handshake succeeded: once the output is written, the connection can be taken.
    fn is_done(&self) -> bool;
    /// Why the handshake ended without a connection.
    fn error(&self) -> Option<&HandshakeError>;
    fn into_connection(self, now: Instant) -> Result<(Connection, Self::Output), HandshakeError>;
}

impl Machine for ClientHandshake {
    type Output = Response;

    // The errors these return are kept by the machine (`error`), which the loop consults
    // once the output before the end has been written.
    fn receive_data(&mut self, data: &[u8], now: Instant) {
        let _ = ClientHandshake::receive_data(self, data, now);
    }
    fn receive_eof(&mut self) {
        let _ = ClientHandshake::receive_eof(self);
    }
    fn handle_timeout(&mut self, now: Instant) {
        let _ = ClientHandshake::handle_timeout(self, now);
    }
    fn poll_transmit(&mut self, out: &mut Vec<u8>) -> Option<Transmit> {
        ClientHandshake::poll_transmit(self, out)
    }
    fn poll_timeout(&self) -> Option<Instant> {
        ClientHandshake::poll_timeout(self)
    }
    fn is_done(&self) -> bool {
        self.is_complete()
    }
    fn error(&self) -> Option<&HandshakeError> {
        ClientHandshake::error(self)
    }
    fn into_connection(self, now: Instant) -> Result<(Connection, Response), HandshakeError> {
        ClientHandshake::into_connection(self, now)
    }
}

/// What a finished handshake hands out: the connection on its stream, and what the machine
/// adds (the client's [`Response`]).
pub(crate) type Done<S, M> = (WebSocket<S>, <M as Machine>::Output);

/// Where the driver is.
enum Phase {
    /// The handshake is under way.
    Running,
    /// The handshake ended: the connection was handed out, or the failure reported.
    Finished,
}

/// Drives a handshake machine over a stream, as far as the stream allows on each call.
pub(crate) struct Driver<S, M> {
    /// `None` once handed to the [`WebSocket`].
    stream: Option<S>,
    /// `None` once turned into the connection.
    machine: Option<M>,
    /// The moment the machine's [`Instant::ZERO`] stands for; the connection keeps it.
    epoch: StdInstant,
    out: Output,
    /// Why the last call stopped early: the read or write that would have blocked.
    stall: Option<io::Error>,
    /// The transport's own handshake ([`Transport::handshake`]) is done.
    transport_ready: bool,
    phase: Phase,
}

impl<S: std::fmt::Debug, M: std::fmt::Debug> std::fmt::Debug for Driver<S, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver")
            .field("stream", &self.stream)
            .field("machine", &self.machine)
            .field("unwritten", &(self.out.bytes.len() - self.out.written))
            .finish_non_exhaustive()
    }
}

impl<S: Transport, M: Machine> Driver<S, M> {
    /// A driver for `machine`, created at [`Instant::ZERO`] of the clock that starts at
    /// `epoch`.
    pub(crate) fn new(stream: S, machine: M, epoch: StdInstant) -> Driver<S, M> {
        Driver {
            stream: Some(stream),
            machine: Some(machine),
            epoch,
            out: Output::default(),
            stall: None,
            transport_ready: false,
            phase: Phase::Running,
        }
    }

    fn now(&self) -> Instant {
        Instant::from_duration(self.epoch.elapsed())
    }

    /// The stream (until the handshake has handed it to the [`WebSocket`]).
    pub(crate) fn stream(&self) -> Option<&S> {
        self.stream.as_ref()
    }

    pub(crate) fn stream_mut(&mut self) -> Option<&mut S> {
        self.stream.as_mut()
    }

    /// When the machine's timer is due, as a `std` instant.
    pub(crate) fn deadline(&self) -> Option<StdInstant> {
        let timer = self.machine.as_ref()?.poll_timeout()?;
        Some(self.epoch + timer.as_duration())
    }

    /// Moves the handshake on as far as the stream allows: `Ok(None)` when a read or write
    /// would block (the cause is kept in `stall`), the connection once the handshake is done.
    pub(crate) fn advance(&mut self) -> Result<Option<Done<S, M>>, Error> {
        if let Phase::Finished = self.phase {
            return Err(Error::ConnectionClosed);
        }
        self.stall = None;
        let result = self.run();
        if !matches!(result, Ok(None)) {
            self.phase = Phase::Finished;
        }
        result
    }

    fn run(&mut self) -> Result<Option<Done<S, M>>, Error> {
        let (Some(stream), Some(machine)) = (self.stream.as_mut(), self.machine.as_mut()) else {
            return Err(Error::ConnectionClosed);
        };
        // The transport's own handshake (TLS) comes first, under the same timeout: its reads
        // wait at most until the machine's timer, which runs from the start.
        while !self.transport_ready {
            let now = Instant::from_duration(self.epoch.elapsed());
            let timer = machine.poll_timeout();
            if timer.is_some_and(|t| t <= now) {
                machine.handle_timeout(now);
                if let Some(error) = machine.error() {
                    return Err(Error::Handshake(error.clone()));
                }
                continue;
            }
            stream.set_read_timeout(read_wait(timer, now))?;
            match stream.handshake() {
                Ok(()) => self.transport_ready = true,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if is_stall(&e) => {
                    let now = Instant::from_duration(self.epoch.elapsed());
                    if machine.poll_timeout().is_none_or(|t| t > now) {
                        self.stall = Some(e);
                        return Ok(None);
                    }
                    // The timer is due: the next round runs it.
                }
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    // The peer left before the upgrade began: an end of stream to the machine
                    // (`HandshakeError::ConnectionLost`), as without TLS.
                    machine.receive_eof();
                    return Err(match machine.error() {
                        Some(error) => Error::Handshake(error.clone()),
                        None => Error::from(e),
                    });
                }
                Err(e) => return Err(Error::from(e)),
            }
        }
        let mut chunk = [0u8; READ_CHUNK];
        loop {
            machine.answer();
            match self.out.write(stream, machine) {
                Ok(()) => {}
                Err(e) if is_stall(&e) => {
                    // The handshake timeout also covers a write that cannot go on (a client
                    // whose request is not taken): once it has failed the handshake, the
                    // machine wants nothing more written, and the stream is closed.
                    let now = Instant::from_duration(self.epoch.elapsed());
                    if machine.poll_timeout().is_some_and(|t| t <= now) {
                        machine.handle_timeout(now);
                        if machine.error().is_some() {
                            self.out.discard();
                            continue;
                        }
                    }
                    self.stall = Some(e);
                    return Ok(None);
                }
                // The peer of a failed handshake may be gone before its error response: the
                // failure is what is reported.
                Err(_) if machine.error().is_some() => {}
                Err(e) => return Err(Error::from(e)),
            }
            if let Some(error) = machine.error() {
                return Err(Error::Handshake(error.clone()));
            }
            if machine.is_done() {
                break;
            }
            let now = Instant::from_duration(self.epoch.elapsed());
            let timer = machine.poll_timeout();
            if timer.is_some_and(|t| t <= now) {
                machine.handle_timeout(now);
                continue;
            }
            stream.set_read_timeout(read_wait(timer, now))?;
            match stream.read(&mut chunk) {
                Ok(0) => machine.receive_eof(),
                Ok(n) => {
                    machine.receive_data(&chunk[..n], Instant::from_duration(self.epoch.elapsed()))
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if is_stall(&e) => {
                    let now = Instant::from_duration(self.epoch.elapsed());
                    if machine.poll_timeout().is_none_or(|t| t > now) {
                        self.stall = Some(e);
                        return Ok(None);
                    }
                    // The timer is due: the next round runs it.
                }
                Err(e) => return Err(Error::from(e)),
            }
        }
        let mut stream = self.stream.take().ok_or(Error::ConnectionClosed)?;
        let machine = self.machine.take().ok_or(Error::ConnectionClosed)?;
        // The handshake's read timeout is not left behind (the connection sets its own).
        stream.set_read_timeout(None)?;
        let (conn, output) = machine.into_connection(self.now())?;
        Ok(Some((
            WebSocket::from_connection(stream, conn, self.epoch),
            output,
        )))
    }

    /// Runs the handshake to its end on a blocking stream.
    ///
    /// A read that returns before the machine's timer is due (the socket's timeout rounded
    /// down) is retried: the machine decides when the handshake has timed out. A write that
    /// stalls (a write timeout) fails the handshake with that error.
    pub(crate) fn finish(mut self) -> Result<Done<S, M>, Error> {
        loop {
            if let Some(done) = self.advance()? {
                return Ok(done);
            }
            let Some(machine) = self.machine.as_ref() else {
                return Err(Error::ConnectionClosed);
            };
            if let Some(error) = machine.error() {
                return Err(Error::Handshake(error.clone()));
            }
            if machine.poll_timeout().is_none() || !self.out.is_empty() {
                let stall = self.stall.take();
                return Err(Error::Io(
                    stall.unwrap_or_else(|| io::ErrorKind::WouldBlock.into()),
                ));
            }
        }
    }
}

/// Output taken from the machine and not yet written.
#[derive(Default)]
struct Output {
    bytes: Vec<u8>,
    /// How much of `bytes` has been written.
    written: usize,
    /// The machine asked for the stream to be closed after `bytes`.
    shutdown: bool,
}

impl Output {
    /// Drops the bytes not yet written (a shutdown asked for stays due).
    fn discard(&mut self) {
        self.bytes.clear();
        self.written = 0;
    }

    fn is_empty(&self) -> bool {
        self.written == self.bytes.len() && !self.shutdown
    }

    /// Writes what is queued and everything the machine has to send, and closes the stream
    /// when the machine says so. After a stall, the next call resumes exactly there.
    fn write<S: Transport, M: Machine>(
        &mut self,
        stream: &mut S,
        machine: &mut M,
    ) -> io::Result<()> {
        loop {
            while self.written < self.bytes.len() {
                match stream.write(&self.bytes[self.written..]) {
                    Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                    Ok(n) => self.written += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            self.bytes.clear();
            self.written = 0;
            if self.shutdown {
                stream.flush()?;
                stream.shutdown()?;
                self.shutdown = false;
                return Ok(());
            }
            match machine.poll_transmit(&mut self.bytes) {
                Some(Transmit::Data(_)) => {}
                Some(Transmit::Shutdown) => self.shutdown = true,
                None => return stream.flush(),
            }
        }
    }
}

/// The read timeout that makes a read wait at most until the machine's `timer` (a zero
/// timeout means "block forever" to the socket API: at least 1 ms).
fn read_wait(timer: Option<Instant>, now: Instant) -> Option<Duration> {
    timer.map(|t| {
        t.saturating_duration_since(now)
            .max(Duration::from_millis(1))
    })
}

/// A read or write that stopped because of a timeout or a non-blocking stream.
fn is_stall(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}
