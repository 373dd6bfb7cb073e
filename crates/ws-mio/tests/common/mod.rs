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
    Error(ConnId, String),
    Close(ConnId, u16, String),
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
        let _ = self.tx.send(Seen::Error(id, format!("{error:?}")));
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
