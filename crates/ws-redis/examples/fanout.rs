//! Fan-out across processes through Redis, measured: `docs/scaling.md`.
//!
//! ```text
//! cargo run --release -p ws-redis --example fanout -- PROCESSES CONNECTIONS ROUNDS BURST [REDIS_URL]
//! ```
//!
//! Starts PROCESSES server processes (this program with `serve`; each a one-thread ws-mio
//! server whose connections all subscribe to one topic, with a ws-redis bridge when
//! REDIS_URL is given), then CONNECTIONS client connections spread evenly over them, on two
//! ws-mio client loops in this process. One connection (of the first client loop) publishes:
//!
//! * ROUNDS times, one 64-byte message, waiting until every connection (the publisher's own
//!   included) has it: the time from the publish request to the last receipt, p50 and p99;
//! * then BURST messages back to back: deliveries per second until the last receipt.
//!
//! Loopback only. The server processes are killed when the run ends.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::{Duration, Instant};

use ws_mio::{ConnId, Ctx, Error, Handler, Message, Options, Server};

const TOPIC: &str = "bench";
const MESSAGE_BYTES: usize = 64;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = if args.first().map(String::as_str) == Some("serve") {
        serve(args.get(1).map(String::as_str))
    } else {
        let number = |i: usize, default: usize| {
            args.get(i)
                .and_then(|a| a.replace('_', "").parse().ok())
                .unwrap_or(default)
        };
        drive(
            number(0, 3),
            number(1, 3000),
            number(2, 200),
            number(3, 200),
            args.get(4).cloned(),
        )
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fanout: {e}");
            ExitCode::FAILURE
        }
    }
}

fn raise_file_limit() -> Result<(), String> {
    rlimit::increase_nofile_limit(u64::MAX)
        .map(drop)
        .map_err(|e| format!("open-file limit: {e}"))
}

/// Every connection subscribes to the topic; what one sends is published to it, here and
/// (with a bridge) through Redis.
struct Topic(Option<ws_redis::Publisher>);

impl Handler for Topic {
    fn open(&mut self, ctx: &mut Ctx<'_>, id: ConnId) {
        let _ = ctx.subscribe(id, TOPIC);
    }

    fn message(&mut self, ctx: &mut Ctx<'_>, _: ConnId, message: Message) {
        ctx.publish(TOPIC, &message);
        if let Some(bridge) = &self.0 {
            let _ = bridge.publish(TOPIC, &message);
        }
    }
}

/// A server process.
fn serve(redis: Option<&str>) -> Result<(), String> {
    raise_file_limit()?;
    let mut options = Options::default();
    options.threads = 1;
    options.backlog = 4096;
    options.max_connections = None;
    let bridge = redis
        .map(|url| ws_redis::Bridge::new(ws_redis::Options::new(url)))
        .transpose()
        .map_err(|e| e.to_string())?;
    let publisher = bridge.as_ref().map(ws_redis::Bridge::publisher);
    let server = Server::bind("127.0.0.1:0", options, move |_| Topic(publisher.clone()))
        .map_err(|e| e.to_string())?;
    println!("listening {}", server.local_addr().ok_or("no address")?);
    let running = bridge.map(|b| b.start(server.handle()));
    let result = server.run().map_err(|e| e.to_string());
    if let Some(running) = running {
        running.stop();
    }
    result
}

/// What the client loops tell the driver.
#[derive(Debug)]
enum Note {
    /// Every connection of the loop is open; its first one.
    Open(ConnId),
    /// Every connection of the loop has this round's message.
    Round(u32),
    Failed(String),
}

/// One client loop's connections.
struct Swarm {
    urls: Vec<String>,
    /// Where this loop starts in `urls`, so that the loops together spread evenly.
    offset: usize,
    total: usize,
    started: usize,
    open: Vec<ConnId>,
    counts: Vec<usize>,
    tx: Sender<Note>,
}

impl Swarm {
    fn connect_more(&mut self, ctx: &mut Ctx<'_>) {
        while self.started < self.total && self.started - self.open.len() < 128 {
            let url = &self.urls[(self.offset + self.started) % self.urls.len()];
            self.started += 1;
            if let Err(e) = ctx.connect(url.as_str()) {
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
        self.open.push(id);
        if self.open.len() == self.total {
            let _ = self.tx.send(Note::Open(self.open[0]));
        }
        self.connect_more(ctx);
    }

    fn message(&mut self, _: &mut Ctx<'_>, _: ConnId, message: Message) {
        let Message::Binary(data) = message else {
            return;
        };
        let Some(round) = data.get(..4).and_then(|b| b.try_into().ok()) else {
            return;
        };
        let round = u32::from_be_bytes(round);
        let at = round as usize;
        if self.counts.len() <= at {
            self.counts.resize(at + 1, 0);
        }
        self.counts[at] += 1;
        if self.counts[at] == self.total {
            let _ = self.tx.send(Note::Round(round));
        }
    }

    fn error(&mut self, _: &mut Ctx<'_>, _: ConnId, error: &Error) {
        let _ = self.tx.send(Note::Failed(error.to_string()));
    }
}

/// The server processes, killed when dropped.
struct Children(Vec<Child>);

impl Drop for Children {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn note(rx: &Receiver<Note>) -> Result<Note, String> {
    match rx.recv_timeout(Duration::from_secs(120)) {
        Ok(Note::Failed(e)) => Err(e),
        Ok(note) => Ok(note),
        Err(_) => Err("timed out waiting for the client loops".into()),
    }
}

fn drive(
    processes: usize,
    connections: usize,
    rounds: usize,
    burst: usize,
    redis: Option<String>,
) -> Result<(), String> {
    raise_file_limit()?;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut children = Children(Vec::new());
    let mut urls = Vec::new();
    for _ in 0..processes.max(1) {
        let mut command = Command::new(&exe);
        command.arg("serve").args(redis.as_deref());
        let mut child = command
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| e.to_string())?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        children.0.push(child);
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        let addr = line
            .trim()
            .strip_prefix("listening ")
            .ok_or_else(|| format!("unexpected line {line:?}"))?;
        urls.push(format!("ws://{addr}/"));
    }

    let loops = 2;
    let (tx, rx) = mpsc::channel();
    let share = move |i: usize| connections / loops + usize::from(i < connections % loops);
    let mut options = Options::default();
    options.threads = loops;
    options.config.handshake_timeout = Some(Duration::from_secs(60));
    let factory_urls = urls.clone();
    let clients = Server::new(options, move |i| Swarm {
        urls: factory_urls.clone(),
        offset: i,
        total: share(i),
        started: 0,
        open: Vec::new(),
        counts: Vec::new(),
        tx: tx.clone(),
    })
    .map_err(|e| e.to_string())?;
    let handle = clients.handle();
    let running = clients.spawn().map_err(|e| e.to_string())?;
    let mut publisher = None;
    for _ in 0..loops {
        if let Note::Open(id) = note(&rx)? {
            if id.worker() == 0 {
                publisher = Some(id);
            }
        }
    }
    let publisher = publisher.ok_or("no publisher")?;
    if let Some(url) = &redis {
        wait_subscribed(url, processes)?;
    }

    let send = |round: u32| {
        let mut payload = vec![0u8; MESSAGE_BYTES];
        payload[..4].copy_from_slice(&round.to_be_bytes());
        handle.send(publisher, payload).map_err(|e| e.to_string())
    };
    let wait_round = |round: u32| -> Result<(), String> {
        for _ in 0..loops {
            match note(&rx)? {
                Note::Round(r) if r == round => {}
                other => return Err(format!("expected round {round}, got {other:?}")),
            }
        }
        Ok(())
    };
    let mut latencies = Vec::new();
    for round in 0..rounds {
        let round = u32::try_from(round).map_err(|e| e.to_string())?;
        let sent = Instant::now();
        send(round)?;
        wait_round(round)?;
        latencies.push(sent.elapsed());
    }
    let first = u32::try_from(rounds).map_err(|e| e.to_string())?;
    let last = first + u32::try_from(burst).map_err(|e| e.to_string())?;
    let started = Instant::now();
    for round in first..last {
        send(round)?;
    }
    let mut done = 0;
    while done < loops * burst {
        match note(&rx)? {
            Note::Round(r) if (first..last).contains(&r) => done += 1,
            other => return Err(format!("unexpected {other:?}")),
        }
    }
    let burst_time = started.elapsed();
    handle.shutdown();
    let _ = running.join();

    latencies.sort_unstable();
    let at = |q: f64| {
        let i = ((latencies.len() as f64 - 1.0) * q).round() as usize;
        latencies[i].as_secs_f64() * 1e3
    };
    let delivered = (burst * connections) as f64;
    println!(
        "{} process(es), {connections} connections, {}: publish to last receipt p50 {:.3} ms, \
         p99 {:.3} ms ({rounds} rounds); burst of {burst}: {:.0} messages/s delivered",
        processes.max(1),
        if redis.is_some() {
            "Redis bridge"
        } else {
            "no Redis"
        },
        at(0.5),
        at(0.99),
        delivered / burst_time.as_secs_f64(),
    );
    Ok(())
}

/// Waits until `processes` connections subscribe to the topic's channel, as Redis counts.
fn wait_subscribed(url: &str, processes: usize) -> Result<(), String> {
    let client = redis::Client::open(url).map_err(|e| e.to_string())?;
    let mut connection = client.get_connection().map_err(|e| e.to_string())?;
    let channel = format!("ws:{TOPIC}");
    let end = Instant::now() + Duration::from_secs(30);
    loop {
        let counts: Vec<(String, usize)> = redis::cmd("PUBSUB")
            .arg("NUMSUB")
            .arg(&channel)
            .query(&mut connection)
            .map_err(|e| e.to_string())?;
        if counts.first().map(|c| c.1) == Some(processes) {
            return Ok(());
        }
        if Instant::now() > end {
            return Err(format!("subscriptions: {counts:?}"));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}
