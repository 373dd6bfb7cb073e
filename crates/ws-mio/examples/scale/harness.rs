//! The scale run, shared by `examples/scale` (10,000 connections, server in a child process)
//! and `tests/scale.rs` (2,000 connections in one process): a server handler that broadcasts
//! on request, and a swarm of client connections on ws-mio event loops that count what they
//! receive.

use std::net::SocketAddr;
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::{Duration, Instant};

use ws_mio::{CloseCode, ConnId, Connect, Ctx, Error, Handle, Handler, Message, Options, Server};

/// Tag of a broadcast payload (first byte).
const BROADCAST: u8 = b'B';
/// Tag of an echoed payload.
const ECHO: u8 = b'E';

/// The server: `broadcast:ROUND:LEN` broadcasts a LEN-byte binary message tagged with ROUND
/// to every connection; binary messages are echoed; `shutdown` stops the server.
pub(crate) struct Hub;

impl Handler for Hub {
    fn message(&mut self, ctx: &mut Ctx<'_>, id: ConnId, message: Message) {
        match message {
            Message::Text(text) if text == "shutdown" => ctx.shutdown(),
            Message::Text(text) => {
                let mut parts = text.split(':').skip(1).map(|p| p.parse::<usize>());
                if let (Some(Ok(round)), Some(Ok(len))) = (parts.next(), parts.next()) {
                    let mut payload = vec![0u8; len.max(5)];
                    payload[0] = BROADCAST;
                    payload[1..5].copy_from_slice(&(round as u32).to_be_bytes());
                    ctx.broadcast(&Message::Binary(payload));
                }
            }
            Message::Binary(_) => {
                let _ = ctx.send(id, &message);
            }
        }
    }
}

/// What the client loops report to the driver.
#[derive(Debug)]
enum Note {
    /// Every connection of this loop is open; one of them, to send requests on.
    Open(ConnId),
    /// Every connection of this loop got the broadcast of this round.
    Round(u32),
    /// Every connection of this loop got its echo.
    Echoed,
    /// Every connection of this loop is closed; how many with the peer's close code 1001.
    Closed {
        clean: usize,
    },
    Failed(String),
}

/// One client event loop's share of the connections.
struct Swarm {
    request: Connect,
    total: usize,
    started: usize,
    ids: Vec<ConnId>,
    rounds: Vec<usize>,
    echoed: usize,
    closed: usize,
    clean: usize,
    tx: Sender<Note>,
}

/// Handshakes in flight per client loop at most: the server's accept backlog is finite.
const CONNECT_WINDOW: usize = 256;

impl Swarm {
    fn connect_more(&mut self, ctx: &mut Ctx<'_>) {
        while self.started < self.total && self.started - self.ids.len() < CONNECT_WINDOW {
            self.started += 1;
            if let Err(e) = ctx.connect(self.request.clone()) {
                let _ = self.tx.send(Note::Failed(format!("connect: {e}")));
            }
        }
    }
}

impl Handler for Swarm {
    fn start(&mut self, ctx: &mut Ctx<'_>) {
        self.connect_more(ctx);
    }

    fn open(&mut self, ctx: &mut Ctx<'_>, id: ConnId) {
        self.ids.push(id);
        if self.ids.len() == self.total {
            let _ = self.tx.send(Note::Open(self.ids[0]));
        }
        self.connect_more(ctx);
    }

    fn message(&mut self, _: &mut Ctx<'_>, _: ConnId, message: Message) {
        let Message::Binary(data) = message else {
            return;
        };
        match data.first() {
            Some(&BROADCAST) if data.len() >= 5 => {
                let round = u32::from_be_bytes([data[1], data[2], data[3], data[4]]) as usize;
                if self.rounds.len() <= round {
                    self.rounds.resize(round + 1, 0);
                }
                self.rounds[round] += 1;
                if self.rounds[round] == self.total {
                    let _ = self.tx.send(Note::Round(round as u32));
                }
            }
            Some(&ECHO) => {
                self.echoed += 1;
                if self.echoed == self.total {
                    let _ = self.tx.send(Note::Echoed);
                }
            }
            _ => {}
        }
    }

    fn error(&mut self, _: &mut Ctx<'_>, _: ConnId, error: &Error) {
        let _ = self.tx.send(Note::Failed(format!("{error}")));
    }

    fn close(&mut self, _: &mut Ctx<'_>, _: ConnId, code: CloseCode, _: &str) {
        self.closed += 1;
        if code == CloseCode::GOING_AWAY {
            self.clean += 1;
        }
        if self.closed == self.total {
            let _ = self.tx.send(Note::Closed { clean: self.clean });
        }
    }
}

/// What to run.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub(crate) connections: usize,
    pub(crate) client_threads: usize,
    pub(crate) broadcasts: u32,
    pub(crate) broadcast_len: usize,
    pub(crate) echo_len: usize,
    /// Offer permessage-deflate (the server decides whether to accept it).
    pub(crate) deflate: bool,
    /// Connect over TLS (`wss://`, to the server's IP address) trusting this configuration.
    #[cfg(feature = "tls")]
    pub(crate) tls: Option<std::sync::Arc<ws_mio::tls::ClientConfig>>,
}

impl Plan {
    /// The request of every client connection to `server`.
    fn request(&self, server: SocketAddr) -> Connect {
        #[cfg(feature = "tls")]
        if let Some(config) = &self.tls {
            let url = format!("wss://{server}/");
            return Connect::new(url).tls(std::sync::Arc::clone(config));
        }
        Connect::new(format!("ws://{server}/"))
    }
}

/// What a run measured.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    pub(crate) connect: Duration,
    /// From sending each broadcast request to the last connection receiving it.
    pub(crate) fan_out: Vec<Duration>,
    pub(crate) echo: Duration,
    pub(crate) close: Duration,
    pub(crate) clean_closes: usize,
    /// The server's memory, read by the `probe` the caller passed, at each stage.
    pub(crate) probes: Vec<(&'static str, u64)>,
}

fn wait(rx: &Receiver<Note>, deadline: Duration) -> Result<Note, String> {
    match rx.recv_timeout(deadline) {
        Ok(Note::Failed(e)) => Err(e),
        Ok(note) => Ok(note),
        Err(_) => Err("timed out waiting for the client loops".into()),
    }
}

/// Opens `plan.connections` connections to `server`, broadcasts, echoes, then closes them
/// all; `probe(stage)` reads the server's memory at each stage.
pub(crate) fn run(
    server: SocketAddr,
    plan: &Plan,
    mut probe: impl FnMut(&'static str) -> Option<u64>,
) -> Result<Outcome, String> {
    let limit = Duration::from_secs(120);
    let threads = plan.client_threads.max(1);
    let (tx, rx) = mpsc::channel();
    let request = plan.request(server);
    let share = |i: usize| plan.connections / threads + usize::from(i < plan.connections % threads);
    let shares: Vec<usize> = (0..threads).map(share).collect();
    let mut options = Options::default();
    options.threads = threads;
    options.config.handshake_timeout = Some(Duration::from_secs(60));
    options.config.deflate.enabled = plan.deflate;
    let factory_shares = shares.clone();
    let clients = Server::new(options, move |i| Swarm {
        request: request.clone(),
        total: factory_shares[i],
        started: 0,
        ids: Vec::new(),
        rounds: Vec::new(),
        echoed: 0,
        closed: 0,
        clean: 0,
        tx: tx.clone(),
    })
    .map_err(|e| e.to_string())?;
    let handle: Handle = clients.handle();
    let mut outcome = Outcome::default();
    let mut record = |outcome: &mut Outcome, stage| {
        if let Some(bytes) = probe(stage) {
            outcome.probes.push((stage, bytes));
        }
    };
    record(&mut outcome, "before");

    let started = Instant::now();
    let running = clients.spawn().map_err(|e| e.to_string())?;
    let loops = shares.iter().filter(|&&n| n > 0).count();
    let mut requester = None;
    for _ in 0..loops {
        if let Note::Open(id) = wait(&rx, limit)? {
            requester = Some(id);
        }
    }
    outcome.connect = started.elapsed();
    let requester = requester.ok_or("no connection")?;
    record(&mut outcome, "idle");

    for round in 0..plan.broadcasts {
        let sent = Instant::now();
        handle
            .send(
                requester,
                format!("broadcast:{round}:{}", plan.broadcast_len),
            )
            .map_err(|e| e.to_string())?;
        for _ in 0..loops {
            match wait(&rx, limit)? {
                Note::Round(r) if r == round => {}
                other => return Err(format!("expected round {round}, got {other:?}")),
            }
        }
        outcome.fan_out.push(sent.elapsed());
    }
    record(&mut outcome, "after broadcasts");

    let mut payload = vec![0u8; plan.echo_len.max(1)];
    payload[0] = ECHO;
    let sent = Instant::now();
    handle.broadcast(payload).map_err(|e| e.to_string())?;
    for _ in 0..loops {
        match wait(&rx, limit)? {
            Note::Echoed => {}
            other => return Err(format!("expected echoes, got {other:?}")),
        }
    }
    outcome.echo = sent.elapsed();
    record(&mut outcome, "after echo");

    let closing = Instant::now();
    handle.shutdown();
    for _ in 0..loops {
        match wait(&rx, limit)? {
            Note::Closed { clean } => outcome.clean_closes += clean,
            other => return Err(format!("expected closes, got {other:?}")),
        }
    }
    running.join().map_err(|e| e.to_string())?;
    outcome.close = closing.elapsed();
    record(&mut outcome, "after close");
    Ok(outcome)
}
