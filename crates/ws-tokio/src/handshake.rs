//! The opening handshake over an async stream, both roles: ws-proto's state machine decides
//! everything (what to write, when it is over, when it has timed out); this moves bytes and
//! sleeps until the machine's deadline.

use std::io;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant as TokioInstant;
use ws_proto::handshake::{ClientHandshake, Response, ServerEvent, ServerHandshake};
use ws_proto::{Connection, HandshakeError, Instant, Transmit};

use crate::{Error, WebSocketStream};

/// How much one read during the handshake takes.
const READ_CHUNK: usize = 4096;

/// A handshake machine of either role.
pub(crate) enum Machine {
    Server(ServerHandshake),
    Client(ClientHandshake),
}

impl Machine {
    /// Feeds input; a failure is kept by the machine (`error`).
    fn input(&mut self, input: Input, now: Instant) {
        match (self, input) {
            (Machine::Server(m), Input::Data(data)) => drop(m.receive_data(data, now)),
            (Machine::Client(m), Input::Data(data)) => drop(m.receive_data(data, now)),
            (Machine::Server(m), Input::Eof) => m.receive_eof(),
            (Machine::Client(m), Input::Eof) => drop(m.receive_eof()),
            (Machine::Server(m), Input::Time) => m.handle_timeout(now),
            (Machine::Client(m), Input::Time) => drop(m.handle_timeout(now)),
        }
    }

    fn poll_transmit(&mut self, out: &mut Vec<u8>) -> Option<Transmit> {
        match self {
            Machine::Server(m) => m.poll_transmit(out),
            Machine::Client(m) => m.poll_transmit(out),
        }
    }

    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        match self {
            Machine::Server(m) => m.poll_timeout(),
            Machine::Client(m) => m.poll_timeout(),
        }
    }

    fn error(&self) -> Option<&HandshakeError> {
        match self {
            Machine::Server(m) => m.error(),
            Machine::Client(m) => m.error(),
        }
    }

    fn is_done(&self) -> bool {
        match self {
            Machine::Server(m) => m.is_accepted(),
            Machine::Client(m) => m.is_complete(),
        }
    }

    fn into_connection(self, now: Instant) -> Result<(Connection, Option<Response>), Error> {
        Ok(match self {
            Machine::Server(m) => (m.into_connection(now)?, None),
            Machine::Client(m) => {
                let (conn, response) = m.into_connection(now)?;
                (conn, Some(response))
            }
        })
    }
}

/// What happened while waiting.
enum Input<'a> {
    Data(&'a [u8]),
    Eof,
    Time,
}

/// A handshake under way: the machine, and the clock it runs on.
pub(crate) struct Handshake {
    pub(crate) machine: Machine,
    /// The moment the machine's [`Instant::ZERO`] stands for.
    pub(crate) epoch: TokioInstant,
}

impl Handshake {
    /// A handshake whose machine was created at [`Instant::ZERO`], now.
    pub(crate) fn new(machine: Machine) -> Handshake {
        Handshake {
            machine,
            epoch: TokioInstant::now(),
        }
    }

    fn now(&self) -> Instant {
        Instant::from_duration(self.epoch.elapsed())
    }

    /// When the machine's timer is due, on tokio's clock.
    pub(crate) fn deadline(&self) -> Option<TokioInstant> {
        Some(self.epoch + self.machine.poll_timeout()?.as_duration())
    }

    /// Runs `phase` (a transport's own handshake: TLS) under the handshake's deadline.
    #[cfg(feature = "tls")]
    pub(crate) async fn bounded<T>(
        &mut self,
        phase: impl std::future::Future<Output = io::Result<T>>,
    ) -> Result<T, Error> {
        let result = match self.deadline() {
            Some(deadline) => match tokio::time::timeout_at(deadline, phase).await {
                Ok(result) => result,
                Err(_) => return Err(Error::Handshake(HandshakeError::Timeout)),
            },
            None => phase.await,
        };
        result.map_err(|e| match e.kind() {
            io::ErrorKind::UnexpectedEof => Error::Handshake(HandshakeError::ConnectionLost),
            _ => Error::from(e),
        })
    }

    /// Runs the handshake to its end over `stream`; `answer` answers a server machine's
    /// request. The writes and reads are bounded by the machine's deadline.
    pub(crate) async fn run<S, A>(
        mut self,
        mut stream: S,
        mut answer: A,
    ) -> Result<(WebSocketStream<S>, Option<Response>), Error>
    where
        S: AsyncRead + AsyncWrite + Unpin,
        A: FnMut(&mut ServerHandshake, ServerEvent),
    {
        let mut out = Vec::new();
        let mut chunk = [0u8; READ_CHUNK];
        loop {
            if let Machine::Server(machine) = &mut self.machine {
                if let Some(event) = machine.poll_event() {
                    answer(machine, event);
                }
            }
            let written = self.write_out(&mut stream, &mut out).await;
            if let Err(e) = written {
                // The peer of a failed handshake may be gone before its error response:
                // the failure is what is reported.
                if self.machine.error().is_none() {
                    return Err(e.into());
                }
            }
            if let Some(error) = self.machine.error() {
                return Err(Error::Handshake(error.clone()));
            }
            if self.machine.is_done() {
                break;
            }
            let read = match self.deadline() {
                Some(deadline) => tokio::time::timeout_at(deadline, stream.read(&mut chunk))
                    .await
                    .ok(),
                None => Some(stream.read(&mut chunk).await),
            };
            let now = self.now();
            match read {
                None => self.machine.input(Input::Time, now),
                Some(Ok(0)) => self.machine.input(Input::Eof, now),
                Some(Ok(n)) => self.machine.input(Input::Data(&chunk[..n]), now),
                Some(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                Some(Err(e)) => return Err(e.into()),
            }
        }
        let now = self.now();
        let (conn, response) = self.machine.into_connection(now)?;
        Ok((
            WebSocketStream::from_connection(stream, conn, self.epoch),
            response,
        ))
    }

    /// Writes everything the machine has to send, and closes the stream when it says so.
    /// A write still blocked at the deadline runs the machine's timer: once it has failed
    /// the handshake, nothing more is written.
    async fn write_out<S>(&mut self, stream: &mut S, out: &mut Vec<u8>) -> io::Result<()>
    where
        S: AsyncWrite + Unpin,
    {
        loop {
            out.clear();
            let shutdown = match self.machine.poll_transmit(out) {
                Some(Transmit::Data(_)) => false,
                Some(Transmit::Shutdown) => true,
                None => return Ok(()),
            };
            let write = async {
                stream.write_all(out).await?;
                if shutdown {
                    stream.shutdown().await?;
                } else {
                    stream.flush().await?;
                }
                Ok::<(), io::Error>(())
            };
            let written = match self.deadline() {
                Some(deadline) => tokio::time::timeout_at(deadline, write).await,
                None => Ok(write.await),
            };
            match written {
                Ok(result) => result?,
                Err(_) => {
                    let now = self.now();
                    self.machine.input(Input::Time, now);
                    if self.machine.error().is_some() {
                        return Ok(());
                    }
                }
            }
        }
    }
}
