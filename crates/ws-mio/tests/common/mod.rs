//! Shared helpers of the ws-mio integration tests: a handler that reports what it sees on a
//! channel, and bounded waits for those reports.

#![allow(dead_code)]

use std::sync::mpsc::{Receiver, Sender};
use std::time::Duration;

use ws_mio::{CloseCode, ConnId, Ctx, Error, Handler, Message};

/// Every wait in these tests gives up after this long (a failure, not a synchronisation).
pub(crate) const WAIT: Duration = Duration::from_secs(10);

/// What a [`Probe`] saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seen {
    Open(ConnId),
    Message(ConnId, Message),
    Drain(ConnId),
    Error(ConnId, Fault),
    Close(ConnId, u16, String),
}

/// What kind of error the handler was told of, comparable in tests (the adapter's error
/// holds an `io::Error`, which is not).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Fault {
    Handshake(ws_proto::HandshakeError),
    Protocol(ws_proto::ProtocolError),
    Timeout(ws_proto::Timeout),
    ConnectionLost,
    Io(std::io::ErrorKind),
    Other,
}

impl Fault {
    pub(crate) fn of(error: &Error) -> Fault {
        match error {
            Error::Handshake(e) => Fault::Handshake(e.clone()),
            Error::Protocol(e) => Fault::Protocol(*e),
            Error::Timeout(t) => Fault::Timeout(*t),
            Error::ConnectionLost => Fault::ConnectionLost,
            Error::Io(e) => Fault::Io(e.kind()),
            _ => Fault::Other,
        }
    }
}

/// A handler that reports everything and echoes messages if asked to.
pub(crate) struct Probe {
    pub(crate) tx: Sender<Seen>,
    pub(crate) echo: bool,
}

impl Handler for Probe {
    fn open(&mut self, _: &mut Ctx<'_>, id: ConnId) {
        let _ = self.tx.send(Seen::Open(id));
    }

    fn message(&mut self, ctx: &mut Ctx<'_>, id: ConnId, message: Message) {
        if self.echo {
            ctx.send(id, &message).unwrap();
        }
        let _ = self.tx.send(Seen::Message(id, message));
    }

    fn drain(&mut self, _: &mut Ctx<'_>, id: ConnId) {
        let _ = self.tx.send(Seen::Drain(id));
    }

    fn error(&mut self, _: &mut Ctx<'_>, id: ConnId, error: &Error) {
        let _ = self.tx.send(Seen::Error(id, Fault::of(error)));
    }

    fn close(&mut self, _: &mut Ctx<'_>, id: ConnId, code: CloseCode, reason: &str) {
        let _ = self.tx.send(Seen::Close(id, code.as_u16(), reason.into()));
    }
}

/// The next report, failing the test after [`WAIT`].
pub(crate) fn next<T: std::fmt::Debug>(rx: &Receiver<T>) -> T {
    rx.recv_timeout(WAIT)
        .expect("the event loop reported nothing in time")
}

/// Skips reports until one matches; returns it.
pub(crate) fn until<T: std::fmt::Debug>(rx: &Receiver<T>, mut want: impl FnMut(&T) -> bool) -> T {
    loop {
        let seen = next(rx);
        if want(&seen) {
            return seen;
        }
    }
}
