//! `ws serve --redis`: three chat processes on one real `redis-server` (started here on a free
//! loopback port, stopped by PID), clients spread over the processes and two rooms.
//!
//! Every process is killed on every path (guards kill them on drop), every read is bounded
//! by [`DEADLINE`]. Without redis-server the tests skip, except in CI (`CI=true`), where they
//! fail (`.ci/run` installs it).

#[path = "../../ws-redis/tests/support/redis_server.rs"]
mod redis_server;

mod common;

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

use common::certs::TempCerts;
use redis_server::{binary, RedisServer};
use serde_json::{json, Value};
use ws_std::{ClientBuilder, MaybeTlsStream, Message, WebSocket};

/// How long any wait may take.
const DEADLINE: Duration = Duration::from_secs(20);

/// The rooms of the test.
const ROOMS: [&str; 2] = ["red", "blue"];

/// One `ws serve --redis` process, killed when dropped.
struct Process {
    child: Child,
    addr: SocketAddr,
    /// With TLS: the CA file its certificate chains to (its URLs are `wss://`).
    ca: Option<PathBuf>,
    /// Its standard error, line by line (the bridge's log).
    log: Receiver<String>,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Process {
    fn start(redis: &RedisServer, prefix: &str) -> Process {
        Process::start_with(redis, prefix, None)
    }

    /// [`Process::start`], over TLS with `tls`'s certificate when given.
    fn start_with(redis: &RedisServer, prefix: &str, tls: Option<&TempCerts>) -> Process {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ws"))
            .args(["serve", "127.0.0.1:0", "--redis", &redis.url()])
            .args(["--channel-prefix", prefix])
            .args(
                tls.map(|certs| certs.serve_args().to_vec())
                    .unwrap_or_default(),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn ws serve --redis");
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        let (first_tx, first) = mpsc::channel();
        thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(line)) = lines.next() {
                let _ = first_tx.send(line);
            }
            // Keep draining so the server never blocks on a full pipe.
            for _ in lines {}
        });
        let (log_tx, log) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if log_tx.send(line).is_err() {
                    break;
                }
            }
        });
        let line = first.recv_timeout(DEADLINE).expect("a first line");
        let scheme = if tls.is_some() { "wss" } else { "ws" };
        let addr = line
            .strip_prefix(&format!("listening on {scheme}://"))
            .and_then(|rest| rest.strip_suffix('/'))
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .parse()
            .expect("a socket address");
        let ca = tls.map(|certs| certs.files.ca.clone());
        Process {
            child,
            addr,
            ca,
            log,
        }
    }

    /// Waits for a line of the bridge's log that contains `text`; the lines before it are
    /// skipped.
    fn wait_log(&self, text: &str) {
        self.wait_logs(&[text]);
    }

    /// Waits for a line containing each of `texts`, in any order; other lines are skipped.
    fn wait_logs(&self, texts: &[&str]) {
        let mut missing: Vec<&str> = texts.to_vec();
        let end = Instant::now() + DEADLINE;
        while !missing.is_empty() {
            let left = end.saturating_duration_since(Instant::now());
            let line = self
                .log
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("{}: no log line with {missing:?}", self.addr));
            missing.retain(|text| !line.contains(text));
        }
    }
}

/// A chat client.
struct Client {
    ws: WebSocket<MaybeTlsStream>,
    name: String,
    room: &'static str,
}

impl Client {
    fn join(process: &Process, room: &'static str, name: &str) -> Client {
        let scheme = if process.ca.is_some() { "wss" } else { "ws" };
        let url = format!("{scheme}://{}/ws?room={room}", process.addr);
        let mut builder = ClientBuilder::new(&url);
        if let Some(ca) = &process.ca {
            builder = builder.ca_file(ca);
        }
        let (mut ws, _) = builder.connect().expect("connect");
        assert_eq!(ws.get_ref().is_tls(), process.ca.is_some());
        ws.set_read_timeout(Some(DEADLINE));
        let mut client = Client {
            ws,
            name: name.into(),
            room,
        };
        client.send(json!({ "type": "hello", "user": name }));
        let welcome = client.next();
        assert_eq!(welcome["type"], "welcome", "{welcome}");
        assert_eq!(welcome["room"], room, "{welcome}");
        client
    }

    fn send(&mut self, value: Value) {
        self.ws.send_text(&value.to_string()).expect("send");
    }

    fn say(&mut self, text: &str) {
        let name = self.name.clone();
        self.send(json!({ "user": name, "text": text }));
    }

    /// The next text message, as JSON.
    fn next(&mut self) -> Value {
        loop {
            match self.ws.read().expect("a message") {
                Message::Text(text) => return serde_json::from_str(&text).expect("JSON"),
                Message::Ping(_) | Message::Pong(_) => continue,
                other => panic!("{}: unexpected {other:?}", self.name),
            }
        }
    }

    /// The next chat message (notices skipped), as (user, text).
    fn next_chat(&mut self) -> (String, String) {
        loop {
            let value = self.next();
            if value.get("type").is_none() {
                let field = |key: &str| value[key].as_str().expect("a string").to_string();
                return (field("user"), field("text"));
            }
        }
    }

    /// The next join or leave notice.
    fn next_notice(&mut self) -> Value {
        loop {
            let value = self.next();
            assert!(value.get("type").is_some(), "{}: {value}", self.name);
            if value["type"] == "join" || value["type"] == "leave" {
                return value;
            }
        }
    }

    /// Reads chat messages until `last` from `from`; every one before it must be in
    /// `expected` (removed from it as it arrives: a second copy fails), and each sender's
    /// messages must come in the order sent (their texts end with increasing numbers).
    fn collect(&mut self, expected: &mut HashSet<(String, String)>) {
        let mut last_of: HashMap<String, u32> = HashMap::new();
        while !expected.is_empty() {
            let (user, text) = self.next_chat();
            let key = (user.clone(), text.clone());
            assert!(
                expected.remove(&key),
                "{} in {}: unexpected or repeated {key:?}",
                self.name,
                self.room
            );
            let n: u32 = text.rsplit('-').next().unwrap().parse().unwrap();
            if let Some(previous) = last_of.insert(user, n) {
                assert!(previous < n, "{}: {key:?} out of order", self.name);
            }
        }
    }
}

/// Waits until every process has subscribed to both rooms' channels, as Redis counts them.
fn until_subscribed(redis: &RedisServer, prefix: &str, processes: i64) {
    let client = redis::Client::open(redis.url()).expect("URL");
    let end = Instant::now() + DEADLINE;
    loop {
        let counts: Vec<(String, i64)> = client
            .get_connection()
            .and_then(|mut c| {
                let mut cmd = redis::cmd("PUBSUB");
                cmd.arg("NUMSUB");
                for room in ROOMS {
                    cmd.arg(format!("{prefix}room:{room}"));
                }
                cmd.query(&mut c)
            })
            .unwrap_or_default();
        if counts.len() == ROOMS.len() && counts.iter().all(|(_, n)| *n == processes) {
            return;
        }
        assert!(Instant::now() < end, "subscriptions: {counts:?}");
        thread::sleep(Duration::from_millis(5));
    }
}

/// Each client says `count` messages `TAG-i`; then every client reads its room's, exactly.
fn round(clients: &mut [Client], tag: &str, count: u32) {
    for client in clients.iter_mut() {
        for i in 0..count {
            client.say(&format!("{tag}-{i}"));
        }
    }
    let expected_in = |room: &str| -> HashSet<(String, String)> {
        clients
            .iter()
            .filter(|c| c.room == room)
            .flat_map(|c| (0..count).map(move |i| (c.name.clone(), format!("{tag}-{i}"))))
            .collect()
    };
    let expected: HashMap<&str, HashSet<(String, String)>> = ROOMS
        .iter()
        .map(|room| (*room, expected_in(room)))
        .collect();
    for client in clients.iter_mut() {
        let mut mine = expected[client.room].clone();
        client.collect(&mut mine);
    }
}

#[test]
fn three_processes_share_two_rooms_and_recover_from_a_redis_restart() {
    let Some(binary) = binary() else { return };
    let mut redis = RedisServer::start(binary);
    let prefix = format!("t{}:", std::process::id());
    let processes: Vec<Process> = (0..3).map(|_| Process::start(&redis, &prefix)).collect();
    for process in &processes {
        process.wait_log("subscribed to Redis");
    }
    // Two clients per process and room: 12 in all.
    let mut clients = Vec::new();
    for (p, process) in processes.iter().enumerate() {
        for room in ROOMS {
            for k in 0..2 {
                clients.push(Client::join(process, room, &format!("{room}{p}{k}")));
            }
        }
    }
    until_subscribed(&redis, &prefix, 3);

    // Every client receives every message of its room once, in each sender's order, and
    // none of the other room (the last check of each collect: nothing else came first).
    round(&mut clients, "hello", 5);

    // Join and leave notices cross processes: every red client, on every process, sees
    // "late" join, speak and leave.
    let mut late = Client::join(&processes[0], "red", "late");
    late.say("bye-0");
    assert_eq!(late.next_chat(), ("late".into(), "bye-0".into()));
    drop(late);
    for client in clients.iter_mut().filter(|c| c.room == "red") {
        let notice = client.next_notice();
        assert_eq!(
            (&notice["type"], &notice["user"]),
            (&json!("join"), &json!("late"))
        );
        assert_eq!(client.next_chat(), ("late".into(), "bye-0".into()));
        let notice = client.next_notice();
        assert_eq!(
            (&notice["type"], &notice["user"]),
            (&json!("leave"), &json!("late"))
        );
    }

    // Redis down: each process still serves its own clients.
    redis.kill();
    for process in &processes {
        process.wait_log("lost the subscribing connection");
    }
    let (first, rest) = clients.split_at_mut(1);
    let speaker = &mut first[0];
    assert_eq!(speaker.name, "red00");
    let (room, name) = (speaker.room, speaker.name.clone());
    speaker.say("during-0");
    assert_eq!(speaker.next_chat(), (name.clone(), "during-0".into()));
    // The other client of the speaker's process and room.
    let neighbour = &mut rest[0];
    assert_eq!((neighbour.room, &*neighbour.name), (room, "red01"));
    assert_eq!(neighbour.next_chat(), (name, "during-0".into()));
    processes[0].wait_log("cannot publish to Redis");

    // Back on the same port: every process resubscribes and delivers again; "during-0" is
    // not delivered to the other processes (at most once across the outage): each collect
    // below would fail on it.
    redis.restart();
    processes[0].wait_logs(&["subscribed to Redis again", "publishing to Redis again"]);
    for process in &processes[1..] {
        process.wait_log("subscribed to Redis again");
    }
    until_subscribed(&redis, &prefix, 3);
    round(&mut clients, "after", 3);
}

#[test]
fn a_tls_process_and_a_plain_one_share_rooms() {
    let Some(binary) = binary() else { return };
    let redis = RedisServer::start(binary);
    let prefix = format!("tls{}:", std::process::id());
    let certs = TempCerts::new("redis");
    let processes = [
        Process::start_with(&redis, &prefix, Some(&certs)),
        Process::start(&redis, &prefix),
    ];
    for process in &processes {
        process.wait_log("subscribed to Redis");
    }
    let mut clients = Vec::new();
    for (p, process) in processes.iter().enumerate() {
        for room in ROOMS {
            clients.push(Client::join(process, room, &format!("{room}{p}")));
        }
    }
    until_subscribed(&redis, &prefix, 2);
    // Each room's messages reach both processes' clients, wss:// and ws:// alike.
    round(&mut clients, "mixed", 3);
}

#[test]
fn redis_options_need_the_chat_and_a_url() {
    for args in [
        &[
            "serve",
            "127.0.0.1:0",
            "--echo",
            "--redis",
            "redis://127.0.0.1:1/",
        ][..],
        &["serve", "127.0.0.1:0", "--channel-prefix", "x:"][..],
        &["serve", "127.0.0.1:0", "--redis-sharded"][..],
        &["serve", "127.0.0.1:0", "--redis", "http://not-redis/"][..],
        &[
            "serve",
            "127.0.0.1:0",
            "--backend",
            "std",
            "--redis",
            "redis://127.0.0.1:1/",
        ][..],
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_ws"))
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run ws");
        assert!(!output.status.success(), "{args:?} was accepted");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("--redis") || stderr.contains("Redis URL"),
            "{args:?}: {stderr}"
        );
    }
}
