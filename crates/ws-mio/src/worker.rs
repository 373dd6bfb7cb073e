//! One event loop: readiness events, reading, the handshake, writing, timers and commands.

use std::io::{self, IoSlice, Read, Write};
use std::net::Shutdown;
use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::time::Duration;

use mio::net::TcpListener;
use mio::{Events, Interest, Token};
use ws_proto::handshake::{HttpResponse, ServerEvent, ServerHandshake};
use ws_proto::policy::ConnectionsPerIp;
use ws_proto::{
    BufferPool, CloseCode, Closed, Connection, Event, HandshakeError, Instant, Role, State,
    Transmit,
};

use crate::conn::Phase;
use crate::context::{LoopState, Refused, FIRST_CONN, LISTENER, WAKER};
use crate::handle::{Command, Shutdown as ShutdownCommand};
use crate::timer::Entry;
use crate::transport::Transport;
use crate::{Ctx, Error, Handler};

/// Reads from one connection per turn before others get theirs (each up to the read buffer).
const READ_TURNS: usize = 8;
/// Connections accepted per turn before other work gets a turn.
const ACCEPT_TURNS: usize = 256;
/// Commands from other threads handled per turn.
const COMMAND_TURNS: usize = 4096;
/// How long to stop accepting when the process is out of file descriptors.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// How long to wait for the peer's FIN after ours when no close timeout is configured.
const DEFAULT_LINGER: Duration = Duration::from_secs(10);
/// An event loop and its handler.
pub(crate) struct Worker<H> {
    pub(crate) state: LoopState,
    pub(crate) handler: H,
    pub(crate) scratch: Box<[u8]>,
    pub(crate) rx: Receiver<Command>,
    pub(crate) listener: Option<TcpListener>,
    listener_ready: bool,
    commands_pending: bool,
    /// The answer to a connection beyond `Options::max_connections`, written once.
    over_capacity: Vec<u8>,
    /// The answer to one beyond `Options::max_connections_per_ip` (429).
    over_ip_limit: Vec<u8>,
    accept_resume: Option<Instant>,
    /// When a graceful shutdown stops waiting for closing handshakes.
    shutdown_at: Option<Instant>,
}

impl<H: Handler> Worker<H> {
    pub(crate) fn new(
        state: LoopState,
        handler: H,
        rx: Receiver<Command>,
        listener: Option<TcpListener>,
    ) -> Worker<H> {
        let scratch = vec![0; state.options.read_buffer_size.max(1)].into_boxed_slice();
        // A TLS server has no plaintext answer for them: they are just closed.
        let (over_capacity, over_ip_limit) = match state.options.uses_tls() {
            false => (
                over_capacity_response(),
                over_ip_limit_response(state.options.max_connections_per_ip),
            ),
            true => (Vec::new(), Vec::new()),
        };
        Worker {
            state,
            handler,
            scratch,
            rx,
            listener,
            listener_ready: false,
            commands_pending: false,
            over_capacity,
            over_ip_limit,
            accept_resume: None,
            shutdown_at: None,
        }
    }

    /// Runs until the server is shut down and every connection of this loop is closed.
    pub(crate) fn run(mut self) -> io::Result<()> {
        if let Some(listener) = &mut self.listener {
            self.state
                .poll
                .registry()
                .register(listener, LISTENER, Interest::READABLE)?;
            self.listener_ready = true;
        }
        self.state.now = self.state.clock();
        self.handler.start(&mut Ctx::new(&mut self.state));
        self.settle();
        let mut events = Events::with_capacity(1024);
        loop {
            if self.state.stopping && self.state.conns.len() == 0 {
                return Ok(());
            }
            let timeout = self.poll_timeout();
            match self.state.poll.poll(&mut events, timeout) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            self.state.now = self.state.clock();
            for event in events.iter() {
                match event.token() {
                    WAKER => self.commands_pending = true,
                    LISTENER => self.listener_ready = true,
                    Token(token) => self.on_socket_event(
                        (token - FIRST_CONN) as u32,
                        event.is_readable() || event.is_read_closed() || event.is_error(),
                        event.is_writable() || event.is_error(),
                    ),
                }
            }
            self.settle();
            if self.commands_pending {
                self.run_commands();
                self.settle();
            }
            self.accept();
            self.run_ready();
            self.settle();
            self.run_timers();
            self.settle();
            self.run_app_timers();
            self.settle();
            self.end_shutdown();
        }
    }

    /// How long the next poll may block: not at all while work is pending, else until the
    /// earliest timer.
    fn poll_timeout(&mut self) -> Option<Duration> {
        let accepting = self.listener_ready && self.accept_resume.is_none();
        if accepting || self.commands_pending || !self.state.ready.is_empty() {
            return Some(Duration::ZERO);
        }
        let next = earliest(self.state.timers.next_deadline(), self.accept_resume);
        let next = earliest(next, self.state.app_timers.next_deadline());
        let next = earliest(next, self.shutdown_at);
        next.map(|at| at.saturating_duration_since(self.state.clock()))
    }

    /// Flushes every connection that has output or timers to settle.
    fn settle(&mut self) {
        while let Some(slot) = self.state.dirty.pop() {
            self.flush(slot);
        }
    }

    // ----- Readiness --------------------------------------------------------------------

    fn on_socket_event(&mut self, slot: u32, readable: bool, writable: bool) {
        let Some(conn) = self.state.conns.get_mut(slot) else {
            return;
        };
        if readable {
            conn.flags.read_ready = true;
        }
        if let Phase::Connecting {
            connected: connected @ false,
            ..
        } = &mut conn.phase
        {
            if !(readable || writable) {
                return;
            }
            // The outcome of a non-blocking connect: an error, or a peer address.
            match conn.io.socket.take_error() {
                Ok(None) => {}
                Ok(Some(e)) | Err(e) => return self.abort(slot, Some(Error::Io(e))),
            }
            match conn.io.socket.peer_addr() {
                Ok(_) => *connected = true,
                Err(e) if e.kind() == io::ErrorKind::NotConnected => return,
                Err(e) => return self.abort(slot, Some(Error::Io(e))),
            }
        }
        self.read(slot);
        self.state.mark_dirty(slot);
    }

    /// Reads while the kernel has bytes, for a bounded number of turns.
    fn read(&mut self, slot: u32) {
        for _ in 0..READ_TURNS {
            let Some(conn) = self.state.conns.get_mut(slot) else {
                return;
            };
            if !conn.flags.read_ready || conn.flags.paused || conn.flags.eof {
                return;
            }
            if matches!(
                conn.phase,
                Phase::Connecting {
                    connected: false,
                    ..
                }
            ) {
                return;
            }
            // The rest of a large payload is read straight into the message being received;
            // everything else goes through the loop's read buffer.
            let in_place = match &mut conn.phase {
                Phase::Open(ws) => ws.receive_buffer().map(|room| conn.io.read(room)),
                _ => None,
            };
            let direct = in_place.is_some();
            let result = match in_place {
                Some(result) => result,
                None => conn.io.read(&mut self.scratch),
            };
            match result {
                Ok(0) => {
                    conn.flags.read_ready = false;
                    conn.flags.eof = true;
                    self.on_eof(slot);
                    return;
                }
                Ok(n) if direct => self.on_data_in_place(slot, n),
                Ok(n) => self.on_data(slot, n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    conn.flags.read_ready = false;
                    return;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return self.abort(slot, Some(e.into())),
            }
        }
        self.state.ready.push_back(slot);
    }

    fn run_ready(&mut self) {
        for _ in 0..self.state.ready.len() {
            let Some(slot) = self.state.ready.pop_front() else {
                break;
            };
            self.read(slot);
            self.state.mark_dirty(slot);
        }
    }

    /// `self.scratch[..n]` was read from the connection.
    fn on_data(&mut self, slot: u32, n: usize) {
        let Some(conn) = self.state.conns.get_mut(slot) else {
            return;
        };
        match &mut conn.phase {
            Phase::Open(ws) => {
                // Messages are received into the loop's spare buffers. A protocol error is
                // reported by the `Event::Closed` that follows it.
                std::mem::swap(ws.pool_mut(), &mut self.state.pool);
                let _ = ws.receive_data(&self.scratch[..n], self.state.now);
                std::mem::swap(ws.pool_mut(), &mut self.state.pool);
                self.after_input(slot);
            }
            Phase::Accepting { .. } => self.server_handshake(slot, n),
            Phase::Connecting { .. } => self.client_handshake(slot, n),
            // Whatever arrives after the WebSocket connection ended is discarded.
            Phase::Closing => {}
        }
    }

    /// `n` bytes were read into the room the connection's protocol offered.
    fn on_data_in_place(&mut self, slot: u32, n: usize) {
        let Some(conn) = self.state.conns.get_mut(slot) else {
            return;
        };
        if let Phase::Open(ws) = &mut conn.phase {
            let _ = ws.receive_in_place(n, self.state.now);
            self.after_input(slot);
        }
    }

    fn on_eof(&mut self, slot: u32) {
        let Some(conn) = self.state.conns.get_mut(slot) else {
            return;
        };
        match &mut conn.phase {
            Phase::Open(ws) => {
                ws.receive_eof();
                self.after_input(slot);
            }
            Phase::Closing => self.state.mark_dirty(slot),
            Phase::Accepting(handshake) => {
                handshake.receive_eof();
                self.settle_handshake(slot);
            }
            Phase::Connecting { handshake, .. } => match handshake.receive_eof() {
                Err(e) => self.abort(slot, Some(Error::Handshake(e))),
                Ok(()) => self.settle_client(slot),
            },
        }
    }

    /// After bytes or end of stream were fed to an open connection: hand its events to the
    /// handler.
    fn after_input(&mut self, slot: u32) {
        self.dispatch(slot);
        self.state.mark_dirty(slot);
    }

    fn dispatch(&mut self, slot: u32) {
        loop {
            let now = self.state.now;
            let Some(conn) = self.state.conns.get_mut(slot) else {
                return;
            };
            let id = conn.id;
            let Phase::Open(ws) = &mut conn.phase else {
                return;
            };
            let Some(event) = ws.poll_event() else {
                return;
            };
            match event {
                Event::Message(message) => {
                    conn.last_activity = now;
                    self.handler
                        .message(&mut Ctx::new(&mut self.state), id, message);
                }
                Event::Chunk(chunk) => {
                    conn.last_activity = now;
                    self.handler
                        .chunk(&mut Ctx::new(&mut self.state), id, chunk);
                }
                Event::Closed(closed) => self.on_closed(slot, closed),
                // Pings are answered by the protocol; Pongs only prove the peer is alive.
                _ => {}
            }
        }
    }

    /// The WebSocket connection ended: the handler hears why (an error first, if it was not
    /// a closing handshake), and the connection leaves the open ones. Its remaining output is
    /// still written before the transport is closed.
    fn on_closed(&mut self, slot: u32, closed: Closed) {
        if let Some(error) = closed.error() {
            self.report_error(slot, error.into());
        }
        self.tell_closed(slot, closed.code, &closed.reason);
    }

    /// Tells the handler, once, that an opened connection is closed.
    fn tell_closed(&mut self, slot: u32, code: CloseCode, reason: &str) {
        let Some(conn) = self.state.conns.get_mut(slot) else {
            return;
        };
        if std::mem::take(&mut conn.flags.opened) {
            let id = conn.id;
            self.state.open -= 1;
            self.state.drop_subscriptions(slot);
            self.handler
                .close(&mut Ctx::new(&mut self.state), id, code, reason);
        }
    }

    fn report_error(&mut self, slot: u32, error: Error) {
        if let Some(conn) = self.state.conns.get(slot) {
            let id = conn.id;
            self.handler
                .error(&mut Ctx::new(&mut self.state), id, &error);
        }
    }

    // ----- Opening handshake ------------------------------------------------------------

    /// Bytes of the request arrived: the machine reads them; a complete request goes to the
    /// handler, whose answer goes back to the machine.
    fn server_handshake(&mut self, slot: u32, n: usize) {
        let now = self.state.now;
        let Some(conn) = self.state.conns.get_mut(slot) else {
            return;
        };
        let Phase::Accepting(handshake) = &mut conn.phase else {
            return;
        };
        // An invalid request is answered by the machine (400, 426, 431); `settle_handshake`
        // reports it.
        let _ = handshake.receive_data(&self.scratch[..n], now);
        self.answer_requests(slot);
        self.settle_handshake(slot);
    }

    /// Hands the machine's events to the handler and its decisions back to the machine.
    fn answer_requests(&mut self, slot: u32) {
        loop {
            let Some(conn) = self.state.conns.get_mut(slot) else {
                return;
            };
            let id = conn.id;
            let Phase::Accepting(handshake) = &mut conn.phase else {
                return;
            };
            let Some(event) = handshake.poll_event() else {
                return;
            };
            let mut ctx = Ctx::new(&mut self.state);
            let answer = match event {
                // The policies first; the handler sees only the requests they let through.
                ServerEvent::Request(request) => Ok(match ctx.options().policies.check(&request) {
                    Ok(()) => self.handler.handshake(&mut ctx, id, &request),
                    Err(refusal) => Err(refusal),
                }),
                ServerEvent::Http(request) => Err(self.handler.http(&mut ctx, id, &request)),
                _ => continue,
            };
            let Some(Phase::Accepting(handshake)) =
                self.state.conns.get_mut(slot).map(|c| &mut c.phase)
            else {
                return;
            };
            match answer {
                Ok(Ok(accept)) => {
                    if let Err(e) = handshake.accept(accept) {
                        // The application's mistake (an invalid answer): a 500.
                        handshake.reject(HttpResponse::from_error(&e));
                    }
                }
                Ok(Err(refusal)) | Err(refusal) => handshake.reject(refusal),
            }
        }
    }

    /// After the server machine moved: take its output, open the connection once accepted,
    /// or finish it once refused or failed.
    fn settle_handshake(&mut self, slot: u32) {
        let now = self.state.now;
        let Some(conn) = self.state.conns.get_mut(slot) else {
            return;
        };
        let Phase::Accepting(handshake) = &mut conn.phase else {
            return;
        };
        if handshake.is_accepted() {
            let Phase::Accepting(handshake) = std::mem::replace(&mut conn.phase, Phase::Closing)
            else {
                return;
            };
            return match handshake.into_connection(now) {
                Ok(ws) => self.open(slot, ws),
                Err(e) => self.abort(slot, Some(Error::Handshake(e))),
            };
        }
        let mut shutdown = false;
        while let Some(transmit) = handshake.poll_transmit(&mut conn.out) {
            shutdown |= transmit == Transmit::Shutdown;
        }
        if !shutdown {
            self.state.mark_dirty(slot);
            return;
        }
        // Refused (a rejection or a plain HTTP answer), or failed: write the answer, then
        // close. Only failures are errors.
        match handshake.error().cloned() {
            // Nobody is left to answer (a timeout, the end of stream): close at once.
            Some(e @ (HandshakeError::Timeout | HandshakeError::ConnectionLost)) => {
                self.abort(slot, Some(Error::Handshake(e)))
            }
            // The application's own refusal is not an error.
            Some(HandshakeError::Rejected(_)) | None => self.finish_with_output(slot),
            Some(e) => {
                self.report_error(slot, Error::Handshake(e));
                self.finish_with_output(slot);
            }
        }
    }

    /// Bytes of the response arrived (client side).
    fn client_handshake(&mut self, slot: u32, n: usize) {
        let now = self.state.now;
        let Some(conn) = self.state.conns.get_mut(slot) else {
            return;
        };
        let Phase::Connecting { handshake, .. } = &mut conn.phase else {
            return;
        };
        match handshake.receive_data(&self.scratch[..n], now) {
            Err(e) => self.abort(slot, Some(Error::Handshake(e))),
            Ok(()) => self.settle_client(slot),
        }
    }

    /// After the client machine moved: take its output, open the connection once the 101
    /// arrived.
    fn settle_client(&mut self, slot: u32) {
        let now = self.state.now;
        let Some(conn) = self.state.conns.get_mut(slot) else {
            return;
        };
        let Phase::Connecting { handshake, .. } = &mut conn.phase else {
            return;
        };
        while handshake.poll_transmit(&mut conn.out).is_some() {}
        if !handshake.is_complete() {
            self.state.mark_dirty(slot);
            return;
        }
        let Phase::Connecting { handshake, .. } =
            std::mem::replace(&mut conn.phase, Phase::Closing)
        else {
            return;
        };
        match handshake.into_connection(now) {
            Ok((ws, _response)) => self.open(slot, ws),
            Err(e) => self.abort(slot, Some(Error::Handshake(e))),
        }
    }

    /// The handshake succeeded: the connection is open (the bytes after the head were fed to
    /// it already).
    fn open(&mut self, slot: u32, ws: Connection) {
        let now = self.state.now;
        let Some(conn) = self.state.conns.get_mut(slot) else {
            return;
        };
        let id = conn.id;
        conn.protocol = ws.protocol().map(Into::into);
        conn.phase = Phase::Open(Box::new(ws));
        conn.deadline = None;
        conn.last_activity = now;
        conn.flags.opened = true;
        self.state.open += 1;
        self.state.mark_dirty(slot);
        self.handler.open(&mut Ctx::new(&mut self.state), id);
        self.after_input(slot);
    }

    /// The handshake phase ended without a connection: write what the machine had to say,
    /// then close.
    fn finish_with_output(&mut self, slot: u32) {
        let linger = self.linger();
        let Some(conn) = self.state.conns.get_mut(slot) else {
            return;
        };
        conn.phase = Phase::Closing;
        conn.deadline = Some(linger);
        self.state.mark_dirty(slot);
    }

    fn linger(&self) -> Instant {
        let wait = self.state.options.config.close_timeout;
        self.state.now + wait.unwrap_or(DEFAULT_LINGER)
    }

    // ----- Writing, closing -------------------------------------------------------------

    /// Settles a connection after anything happened to it: runs its due protocol timers,
    /// takes the protocol's output and writes it, finishes the connection when the protocol
    /// is done, applies the watermarks, and schedules its next timer.
    fn flush(&mut self, slot: u32) {
        let now = self.state.now;
        let Some(conn) = self.state.conns.get_mut(slot) else {
            return;
        };
        conn.flags.dirty = false;
        if conn.flags.abort {
            return self.abort(slot, None);
        }
        if let Phase::Open(ws) = &mut conn.phase {
            if ws.poll_timeout().is_some_and(|at| at <= now) {
                ws.handle_timeout(now);
                // A keepalive Ping, or the end after a timeout: its events go to the handler.
                self.dispatch(slot);
            }
        }
        let Some(conn) = self.state.conns.get_mut(slot) else {
            return;
        };
        let connecting = matches!(
            conn.phase,
            Phase::Connecting {
                connected: false,
                ..
            }
        );
        if !connecting && !conn.flags.write_closed {
            if let Err(e) = write_out(conn, &mut self.state.pool) {
                return self.abort(slot, Some(e.into()));
            }
        }
        if matches!(&conn.phase, Phase::Open(ws) if ws.should_close_transport()) {
            self.enter_closing(slot);
        }
        let Some(conn) = self.state.conns.get_mut(slot) else {
            return;
        };
        if let Phase::Closing = conn.phase {
            if conn.out_pos == conn.out.len() && !conn.flags.write_closed {
                // The server closes the TCP connection first (RFC 6455 section 7.1.1); a
                // FIN after our last byte (and TLS's close_notify), then the peer's FIN is
                // awaited.
                match conn.io.shutdown() {
                    Ok(done) => conn.flags.write_closed = done,
                    Err(e) => return self.abort(slot, Some(e.into())),
                }
            }
            if conn.flags.write_closed && conn.flags.eof {
                return self.remove(slot);
            }
        }
        self.apply_watermarks(slot);
        self.schedule(slot);
    }

    fn apply_watermarks(&mut self, slot: u32) {
        let (high, low) = (
            self.state.options.high_watermark,
            self.state.options.low_watermark,
        );
        let Some(conn) = self.state.conns.get_mut(slot) else {
            return;
        };
        let buffered = conn.buffered();
        if conn.flags.paused && buffered <= low {
            conn.flags.paused = false;
            let id = conn.id;
            if conn.flags.read_ready {
                self.state.ready.push_back(slot);
            }
            // Only a connection that can still send is worth telling.
            if matches!(&conn.phase, Phase::Open(ws) if ws.state() == State::Open) {
                self.handler.drain(&mut Ctx::new(&mut self.state), id);
            }
        } else if !conn.flags.paused && buffered >= high && conn.is_open() {
            conn.flags.paused = true;
        }
    }

    /// The protocol is done with the connection and its output is written: finish the TCP
    /// connection (the handler heard of the end from `Event::Closed`).
    fn enter_closing(&mut self, slot: u32) {
        let linger = self.linger();
        let Some(conn) = self.state.conns.get_mut(slot) else {
            return;
        };
        conn.phase = Phase::Closing;
        conn.deadline = Some(linger);
        conn.flags.paused = false;
        if conn.flags.read_ready {
            self.state.ready.push_back(slot);
        }
    }

    /// Drops a connection at once (socket error, timeout), telling the handler.
    fn abort(&mut self, slot: u32, error: Option<Error>) {
        let Some(conn) = self.state.conns.get_mut(slot) else {
            return;
        };
        // After the closing handshake, a failing socket is no news.
        if !matches!(conn.phase, Phase::Closing) {
            if let Some(error) = error {
                self.report_error(slot, error);
            }
        }
        self.tell_closed(slot, CloseCode::ABNORMAL, "connection lost");
        self.remove(slot);
    }

    fn remove(&mut self, slot: u32) {
        self.state.drop_subscriptions(slot);
        if let Some(mut conn) = self.state.conns.remove(slot) {
            let _ = self.state.poll.registry().deregister(&mut conn.io.socket);
            // Accepted connections were counted by `accept` (`Options::max_connections`).
            if conn.role == Role::Server {
                self.state.release(conn.peer.ip());
            }
        }
    }

    // ----- Timers -----------------------------------------------------------------------

    /// Puts the connection's next deadline in the heap unless an entry at or before it is
    /// already there.
    fn schedule(&mut self, slot: u32) {
        let idle = self.state.options.idle_timeout;
        let Some(conn) = self.state.conns.get_mut(slot) else {
            return;
        };
        let mut next = conn.deadline;
        match &conn.phase {
            Phase::Open(ws) => {
                next = earliest(next, ws.poll_timeout());
                if ws.state() == State::Open {
                    next = earliest(next, idle.map(|idle| conn.last_activity + idle));
                }
            }
            Phase::Accepting(handshake) => next = earliest(next, handshake.poll_timeout()),
            Phase::Connecting { handshake, .. } => {
                next = earliest(next, handshake.poll_timeout());
            }
            Phase::Closing => {}
        }
        let Some(at) = next else {
            return;
        };
        if conn.timer_at.is_some_and(|t| t <= at) {
            return;
        }
        conn.timer_at = Some(at);
        let generation = conn.id.generation;
        self.state.timers.push(Entry {
            at,
            slot,
            generation,
        });
    }

    fn run_timers(&mut self) {
        let now = self.state.now;
        // Entries pushed while firing are due later, except after a misbehaving timer:
        // bound the work of one turn.
        let mut budget = self.state.timers.len() + 64;
        while budget > 0 {
            budget -= 1;
            let Some(entry) = self.state.timers.pop_due(now) else {
                return;
            };
            if self.state.conns.generation(entry.slot) != Some(entry.generation) {
                continue;
            }
            let Some(conn) = self.state.conns.get_mut(entry.slot) else {
                continue;
            };
            if conn.timer_at != Some(entry.at) {
                continue; // superseded by an earlier entry that already fired
            }
            conn.timer_at = None;
            self.on_timer(entry.slot);
        }
    }

    /// Calls the handler for its timers that are due, at most as many as were armed when the
    /// turn began (a timer that re-arms itself with no delay waits for a later turn).
    fn run_app_timers(&mut self) {
        let now = self.state.now;
        for _ in 0..self.state.app_timers.len() {
            let Some(token) = self.state.app_timers.pop_due(now) else {
                return;
            };
            self.handler.timer(&mut Ctx::new(&mut self.state), token);
        }
    }

    fn on_timer(&mut self, slot: u32) {
        let now = self.state.now;
        let idle = self.state.options.idle_timeout;
        let Some(conn) = self.state.conns.get_mut(slot) else {
            return;
        };
        let expired = conn.deadline.is_some_and(|d| d <= now);
        match &mut conn.phase {
            // The handshake machines run their own timeout.
            Phase::Accepting(handshake) if handshake.poll_timeout().is_some_and(|at| at <= now) => {
                handshake.handle_timeout(now);
                return self.settle_handshake(slot);
            }
            Phase::Connecting { handshake, .. }
                if handshake.poll_timeout().is_some_and(|at| at <= now) =>
            {
                if let Err(e) = handshake.handle_timeout(now) {
                    return self.abort(slot, Some(Error::Handshake(e)));
                }
            }
            Phase::Closing if expired => return self.remove(slot),
            Phase::Open(ws) => {
                let idle_since = conn.last_activity;
                if idle.is_some_and(|idle| ws.state() == State::Open && idle_since + idle <= now) {
                    let _ = ws.close(CloseCode::GOING_AWAY, "idle timeout", now);
                }
            }
            _ => {}
        }
        self.flush(slot);
    }

    // ----- Accepting, commands, shutdown ------------------------------------------------

    fn accept(&mut self) {
        if !self.listener_ready || self.accept_resume.is_some_and(|t| t > self.state.now) {
            return;
        }
        self.accept_resume = None;
        for _ in 0..ACCEPT_TURNS {
            let Some(listener) = &self.listener else {
                return;
            };
            match listener.accept() {
                Ok((socket, peer)) => {
                    if let Err(refused) = self.state.admit(peer.ip()) {
                        let answer = match refused {
                            Refused::Full => &self.over_capacity,
                            Refused::PerIp => &self.over_ip_limit,
                        };
                        Self::refuse_over_capacity(socket, &mut self.scratch, answer);
                        continue;
                    }
                    let _ = socket.set_nodelay(true);
                    let handshake =
                        ServerHandshake::new(Arc::clone(&self.state.config), self.state.now);
                    let phase = Phase::Accepting(Box::new(handshake));
                    // A socket that cannot be registered (or get its TLS session) is
                    // dropped (closed).
                    let added = Transport::accepted(socket, &self.state.options)
                        .and_then(|io| self.state.add_conn(io, peer, Role::Server, phase));
                    if added.is_err() {
                        self.state.release(peer.ip());
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.listener_ready = false;
                    return;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // EMFILE, ENFILE: out of file descriptors. Pending connections stay in the
                // backlog until some close.
                Err(e) if matches!(e.raw_os_error(), Some(23 | 24)) => {
                    self.accept_resume = Some(self.state.now + ACCEPT_BACKOFF);
                    return;
                }
                // A connection reset before it was accepted: take the next one.
                Err(_) => {}
            }
        }
    }

    /// Answers a connection beyond [`Options::max_connections`](crate::Options) (503) or
    /// [`Options::max_connections_per_ip`](crate::Options) (429) and closes it, all in this step: nothing is allocated and nothing waits for the peer.
    fn refuse_over_capacity(mut socket: mio::net::TcpStream, scratch: &mut [u8], answer: &[u8]) {
        // What already arrived of the request is read and dropped (one read, no waiting):
        // closing a socket with unread bytes resets the connection, and a reset can make
        // the peer lose the answer.
        let _ = socket.read(scratch);
        // A new socket's send buffer is empty, so the short answer fits in one write; if
        // the peer is already gone it gets nothing, which is as good. A TLS server has no
        // answer (there is no TLS session to write it in): just the close.
        if !answer.is_empty() {
            let _ = socket.write(answer);
        }
        let _ = socket.shutdown(Shutdown::Write);
        // Dropping the socket closes it.
    }

    fn run_commands(&mut self) {
        self.state.shared.workers[self.state.worker].clear_wake();
        self.commands_pending = false;
        for _ in 0..COMMAND_TURNS {
            let Ok(command) = self.rx.try_recv() else {
                return;
            };
            match command {
                Command::Send(id, message) => {
                    let _ = self.state.send_local(id, (&message).into());
                }
                Command::SendMany(ids, message) => {
                    for id in ids {
                        let _ = self.state.send_prepared_local(id, &message);
                    }
                }
                Command::Broadcast(message) => {
                    self.state.broadcast_local(&message);
                }
                Command::Subscribe(id, topic) => {
                    let _ = self.state.subscribe_local(id, &topic);
                    // After the subscription (if it took) is registered: a publish never
                    // finds neither.
                    let worker = self.state.worker as u16;
                    self.state.shared.topics().expected(&topic, worker);
                }
                Command::Unsubscribe(id, topic) => self.state.unsubscribe_local(id, &topic),
                Command::Publish(topic, message) => {
                    self.state.publish_local(&topic, &message);
                }
                Command::Close(id, code, reason) => {
                    let _ = self.state.close(id, code, &reason);
                }
                Command::Abort(id) => {
                    let _ = self.state.abort(id);
                }
                Command::Shutdown(shutdown) => self.begin_shutdown(&shutdown),
            }
        }
        // More than one turn's worth: continue on the next turn.
        self.commands_pending = true;
    }

    fn begin_shutdown(&mut self, shutdown: &ShutdownCommand) {
        if self.state.stopping {
            return;
        }
        self.state.stopping = true;
        self.shutdown_at = shutdown
            .deadline
            .map(|at| Instant::from_duration(at.saturating_duration_since(self.state.epoch)));
        if let Some(mut listener) = self.listener.take() {
            let _ = self.state.poll.registry().deregister(&mut listener);
        }
        self.listener_ready = false;
        let now = self.state.now;
        for slot in 0..self.state.conns.capacity() {
            let Some(conn) = self.state.conns.get_mut(slot) else {
                continue;
            };
            match &mut conn.phase {
                Phase::Open(ws) => {
                    let _ = ws.close(CloseCode::GOING_AWAY, &shutdown.reason, now);
                    self.state.mark_dirty(slot);
                }
                Phase::Accepting { .. } | Phase::Connecting { .. } => self.abort(slot, None),
                // Our FIN is out: stop waiting for the peer's.
                Phase::Closing if conn.flags.write_closed => self.remove(slot),
                Phase::Closing => {}
            }
        }
    }

    /// A graceful shutdown's deadline has passed: the connections still open are dropped.
    fn end_shutdown(&mut self) {
        if self.shutdown_at.is_none_or(|at| at > self.state.now) {
            return;
        }
        self.shutdown_at = None;
        for slot in 0..self.state.conns.capacity() {
            if self.state.conns.get(slot).is_some() {
                self.tell_closed(slot, CloseCode::ABNORMAL, "shutdown deadline passed");
                self.remove(slot);
            }
        }
    }
}

/// Writes as much output as the socket takes: first the raw bytes of the handshake phase,
/// then the open connection's queued frames, with vectored writes that resume exactly where
/// the socket stopped taking bytes, then (TLS) the records the transport still holds.
/// Written buffers go back to the loop's pool.
pub(crate) fn write_out(conn: &mut crate::conn::Conn, pool: &mut BufferPool) -> io::Result<()> {
    while conn.out_pos < conn.out.len() {
        match conn.io.write(&conn.out[conn.out_pos..]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => conn.out_pos += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    if conn.out.capacity() > 0 {
        // Idle connections keep no output buffer: it goes back to the loop's pool.
        pool.put(std::mem::take(&mut conn.out));
        conn.out_pos = 0;
    }
    let Phase::Open(ws) = &mut conn.phase else {
        // TLS records of the handshake (or an alert) may be waiting without any plaintext.
        return conn.io.flush().map(drop);
    };
    std::mem::swap(ws.pool_mut(), pool);
    let result = write_frames(&mut conn.io, ws);
    std::mem::swap(ws.pool_mut(), pool);
    result?;
    conn.io.flush().map(drop)
}

/// How many pieces of output one vectored write takes at most.
const WRITE_SLICES: usize = 16;

fn write_frames(transport: &mut Transport, ws: &mut Connection) -> io::Result<()> {
    loop {
        let written = {
            let mut slices = [&[][..]; WRITE_SLICES];
            let n = ws.transmit_slices(&mut slices);
            if n == 0 {
                return Ok(());
            }
            let mut io = [IoSlice::new(&[]); WRITE_SLICES];
            for (io, slice) in io.iter_mut().zip(&slices[..n]) {
                *io = IoSlice::new(slice);
            }
            match transport.write_vectored(&io[..n]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(written) => written,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        };
        ws.advance_transmit(written);
    }
}

/// `503 Service Unavailable` with `Retry-After`, for connections past the limit.
fn over_capacity_response() -> Vec<u8> {
    let mut out = Vec::new();
    // A fixed, valid response: `write` cannot fail on it.
    let _ = HttpResponse::new(503)
        .with_header("Content-Type", "text/plain; charset=utf-8")
        .with_header("Retry-After", "5")
        .with_body("too many connections\n")
        .write(&mut out);
    out
}

/// `429 Too Many Requests` with `Retry-After`, for connections past the per-address limit.
fn over_ip_limit_response(max: Option<usize>) -> Vec<u8> {
    let mut out = Vec::new();
    if let Some(max) = max {
        // A fixed, valid response: `write` cannot fail on it.
        let _ = ConnectionsPerIp::new(max).refusal().write(&mut out);
    }
    out
}

fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}
