//! The bridge against a real `redis-server` on a loopback port: two ws-mio servers in this
//! process, each with its own bridge (as two processes would have), and ws-std clients.

#[path = "support/redis_server.rs"]
mod redis_server;

use std::time::{Duration, Instant};

use redis_server::{binary, RedisServer};
use ws_mio::{ConnId, Ctx, Handler, Message, Options, Running as Server, Server as MioServer};
use ws_redis::{Bridge, Publisher, Running};
use ws_std::WebSocket;

/// How long any wait may take.
const DEADLINE: Duration = Duration::from_secs(20);

/// Subscribes every connection to "news" and publishes what it sends there, here and through
/// the bridge.
struct News(Publisher);

impl Handler for News {
    fn open(&mut self, ctx: &mut Ctx<'_>, id: ConnId) {
        ctx.subscribe(id, "news").expect("subscribed");
    }

    fn message(&mut self, ctx: &mut Ctx<'_>, _: ConnId, message: Message) {
        ctx.publish("news", &message);
        self.0.publish("news", &message).expect("queued");
    }
}

struct Node {
    server: Option<Server>,
    bridge: Option<Running>,
    url: String,
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(bridge) = self.bridge.take() {
            bridge.stop();
        }
        if let Some(server) = self.server.take() {
            let _ = server.stop();
        }
    }
}

fn node(redis: &RedisServer, sharded: bool) -> Node {
    let mut options = ws_redis::Options::new(&redis.url());
    options.sharded = sharded;
    options.backoff_min = Duration::from_millis(20);
    options.backoff_max = Duration::from_millis(200);
    let bridge = Bridge::new(options).expect("a valid URL");
    let publisher = bridge.publisher();
    let server = MioServer::bind("127.0.0.1:0", Options::default(), move |_| {
        News(publisher.clone())
    })
    .expect("bind");
    let url = format!("ws://{}/", server.local_addr().expect("an address"));
    let running = bridge.start(server.handle());
    Node {
        server: Some(server.spawn().expect("spawn")),
        bridge: Some(running),
        url,
    }
}

/// Waits until `condition` holds, checking it again every few milliseconds.
fn until(what: &str, mut condition: impl FnMut() -> bool) {
    let end = Instant::now() + DEADLINE;
    while !condition() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// How many connections subscribe to a channel, as Redis counts them.
fn subscribers(redis: &RedisServer, channel: &str, sharded: bool) -> i64 {
    let client = redis::Client::open(redis.url()).expect("URL");
    let Ok(mut connection) = client.get_connection() else {
        return -1;
    };
    let command = if sharded { "SHARDNUMSUB" } else { "NUMSUB" };
    let counts: Vec<(String, i64)> = redis::cmd("PUBSUB")
        .arg(command)
        .arg(channel)
        .query(&mut connection)
        .unwrap_or_default();
    counts.first().map_or(0, |(_, n)| *n)
}

fn client(url: &str) -> WebSocket<ws_std::MaybeTlsStream> {
    let (mut ws, _) = ws_std::connect(url).expect("connect");
    ws.set_read_timeout(Some(DEADLINE));
    ws
}

fn text(ws: &mut WebSocket<ws_std::MaybeTlsStream>) -> String {
    match ws.read().expect("a message") {
        ws_std::Message::Text(text) => text,
        other => panic!("expected text, got {other:?}"),
    }
}

fn across_two_servers(sharded: bool) {
    let Some(binary) = binary() else { return };
    let mut redis = RedisServer::start(binary);
    let (one, two) = (node(&redis, sharded), node(&redis, sharded));
    let mut a = client(&one.url);
    let mut b = client(&two.url);
    let mut a2 = client(&one.url);
    // One Redis subscription per server, not per client.
    until("both servers subscribed", || {
        subscribers(&redis, "ws:news", sharded) == 2
    });
    until("both bridges connected", || {
        one.bridge.as_ref().unwrap().connected() && two.bridge.as_ref().unwrap().connected()
    });

    a.send_text("a1").unwrap();
    a.send_text("a2").unwrap();
    for ws in [&mut a, &mut a2, &mut b] {
        assert_eq!(text(ws), "a1");
        assert_eq!(text(ws), "a2");
    }
    b.send_text("b1").unwrap();
    // Had server one delivered its own a1 or a2 again from Redis, it would come before b1.
    for ws in [&mut a, &mut a2, &mut b] {
        assert_eq!(text(ws), "b1");
    }

    // Redis down: each server still serves its own clients.
    redis.kill();
    a.send_text("local").unwrap();
    assert_eq!(text(&mut a), "local");
    assert_eq!(text(&mut a2), "local");
    until("both bridges to notice the outage", || {
        !one.bridge.as_ref().unwrap().connected() || !two.bridge.as_ref().unwrap().connected()
    });

    // Back on the same port: both resubscribe and deliver again.
    redis.restart();
    until("both servers subscribed again", || {
        subscribers(&redis, "ws:news", sharded) == 2
    });
    until("both bridges connected again", || {
        one.bridge.as_ref().unwrap().connected() && two.bridge.as_ref().unwrap().connected()
    });
    b.send_text("b2").unwrap();
    // "local" was lost for b (at most once across the outage): its next message is b2.
    for ws in [&mut b, &mut a, &mut a2] {
        assert_eq!(text(ws), "b2");
    }
    a.send_text("a3").unwrap();
    for ws in [&mut a, &mut a2, &mut b] {
        assert_eq!(text(ws), "a3");
    }
    assert_eq!(one.bridge.as_ref().unwrap().dropped(), 1, "\"local\" only");
}

#[test]
fn publishes_cross_servers_once_in_order_and_survive_a_redis_restart() {
    across_two_servers(false);
}

#[test]
fn sharded_pub_sub_does_the_same() {
    across_two_servers(true);
}

#[test]
fn a_topic_is_unsubscribed_when_its_last_local_subscriber_leaves() {
    let Some(binary) = binary() else { return };
    let redis = RedisServer::start(binary);
    let one = node(&redis, false);
    let a = client(&one.url);
    let b = client(&one.url);
    until("subscribed", || subscribers(&redis, "ws:news", false) == 1);
    drop(a);
    drop(b);
    until("unsubscribed", || {
        subscribers(&redis, "ws:news", false) == 0
    });
}
