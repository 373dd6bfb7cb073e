//! Topics over real sockets: subscribe, unsubscribe and publish, on one event loop and
//! across several, from a handler and from another thread; subscriptions that end with their
//! connection; the slow-consumer policy applied to each subscriber alone.

mod common;

use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;

use common::{next, until, WAIT};
use ws_mio::{
    CloseCode, ConnId, Ctx, Delivery, Error, Handle, Handler, Message, Options, Server,
    SlowConsumer, TopicEvent,
};

type Client = ws_std::WebSocket<ws_std::MaybeTlsStream>;

/// What the handler reports to the test.
#[derive(Debug)]
enum Report {
    Open(ConnId),
    Close(ConnId),
    /// The outcome of a `pub:` command.
    Published(Delivery),
}

/// A handler driven by text commands from its clients:
/// `sub:TOPIC` and `unsub:TOPIC` (answered `ok` or `err:WHY` to the sender),
/// `pub:TOPIC:TEXT` (publishes TEXT, reports the delivery), `count:TOPIC` (answers the number
/// of subscribers on this loop), `whoami` (answers the connection id).
struct Topics {
    tx: Sender<Report>,
    /// The sum of every `pub:` delivery, answered to `total`.
    total: Delivery,
}

fn add(total: &mut Delivery, d: Delivery) {
    total.queued += d.queued;
    total.backpressure += d.backpressure;
    total.dropped += d.dropped;
    total.closing += d.closing;
    total.failed += d.failed;
    total.forwarded += d.forwarded;
}

impl Handler for Topics {
    fn open(&mut self, _: &mut Ctx<'_>, id: ConnId) {
        let _ = self.tx.send(Report::Open(id));
    }

    fn message(&mut self, ctx: &mut Ctx<'_>, id: ConnId, message: Message) {
        let Message::Text(text) = message else {
            return;
        };
        let answer = |result: Result<(), Error>| match result {
            Ok(()) => "ok".to_string(),
            Err(e) => format!("err:{e}"),
        };
        let reply = if let Some(topic) = text.strip_prefix("sub:") {
            answer(ctx.subscribe(id, topic))
        } else if let Some(topic) = text.strip_prefix("unsub:") {
            answer(ctx.unsubscribe(id, topic))
        } else if let Some(topic) = text.strip_prefix("count:") {
            ctx.subscriber_count(topic).to_string()
        } else if let Some(rest) = text.strip_prefix("pub:") {
            let (topic, body) = rest.split_once(':').unwrap();
            let delivery = ctx.publish(topic, &Message::Text(body.into()));
            add(&mut self.total, delivery);
            let _ = self.tx.send(Report::Published(delivery));
            return;
        } else if text == "total" {
            format!("{:?}", self.total)
        } else if text == "whoami" {
            id.to_string()
        } else {
            return;
        };
        ctx.send_text(id, &reply).unwrap();
    }

    fn close(&mut self, _: &mut Ctx<'_>, id: ConnId, _: CloseCode, _: &str) {
        let _ = self.tx.send(Report::Close(id));
    }
}

struct Setup {
    url: String,
    handle: Handle,
    rx: Receiver<Report>,
    _running: ws_mio::Running,
}

fn start(options: Options) -> Setup {
    let (tx, rx) = mpsc::channel();
    let server = Server::bind("127.0.0.1:0", options, move |_| Topics {
        tx: tx.clone(),
        total: Delivery::default(),
    })
    .unwrap();
    let url = format!("ws://{}/", server.local_addr().unwrap());
    let handle = server.handle();
    let running = server.spawn().unwrap();
    Setup {
        url,
        handle,
        rx,
        _running: running,
    }
}

/// Plain connections (no permessage-deflate), so that publishes take the encode-once path.
fn plain(threads: usize) -> Options {
    let mut options = Options::default();
    options.threads = threads;
    options.config.deflate.enabled = false;
    options
}

/// A client whose reads give up (fail the test) after [`WAIT`]; with its server-side id.
fn client(setup: &Setup) -> (Client, ConnId) {
    let (mut ws, _) = ws_std::connect(&setup.url).unwrap();
    ws.set_read_timeout(Some(WAIT));
    let Report::Open(id) = until(&setup.rx, |r| matches!(r, Report::Open(_))) else {
        unreachable!()
    };
    (ws, id)
}

fn read_text(ws: &mut Client) -> String {
    match ws.read().unwrap() {
        ws_std::Message::Text(text) => text,
        other => panic!("expected text, got {other:?}"),
    }
}

/// Sends a command and reads its answer.
fn ask(ws: &mut Client, command: &str) -> String {
    ws.send_text(command).unwrap();
    read_text(ws)
}

fn published(rx: &Receiver<Report>) -> Delivery {
    let Report::Published(d) = until(rx, |r| matches!(r, Report::Published(_))) else {
        unreachable!()
    };
    d
}

#[test]
fn a_publish_reaches_the_subscribers_of_its_topic_only() {
    let setup = start(plain(1));
    let (mut a, _) = client(&setup);
    let (mut b, _) = client(&setup);
    let (mut c, _) = client(&setup);
    assert_eq!(ask(&mut a, "sub:x"), "ok");
    assert_eq!(ask(&mut b, "sub:y"), "ok");
    assert_eq!(ask(&mut c, "sub:x"), "ok");
    assert_eq!(ask(&mut c, "sub:y"), "ok");
    // Subscribing twice is one subscription.
    assert_eq!(ask(&mut c, "sub:y"), "ok");
    assert_eq!(ask(&mut a, "count:x"), "2");
    assert_eq!(ask(&mut a, "count:y"), "2");

    a.send_text("pub:x:to x").unwrap();
    let d = published(&setup.rx);
    assert_eq!((d.queued, d.failed, d.forwarded), (2, 0, 0));
    assert_eq!(read_text(&mut a), "to x");
    assert_eq!(read_text(&mut c), "to x");
    b.send_text("pub:y:to y").unwrap();
    assert_eq!(published(&setup.rx).queued, 2);
    // b's first message is the one to y: it never got the one to x.
    assert_eq!(read_text(&mut b), "to y");
    assert_eq!(read_text(&mut c), "to y");

    // After unsubscribing, a gets nothing more from x; c still does.
    assert_eq!(ask(&mut a, "unsub:x"), "ok");
    assert_eq!(ask(&mut a, "unsub:x"), "ok");
    assert_eq!(ask(&mut a, "count:x"), "1");
    a.send_text("pub:x:again").unwrap();
    assert_eq!(published(&setup.rx).queued, 1);
    assert_eq!(read_text(&mut c), "again");
    assert_eq!(
        ask(&mut a, "whoami").split('.').count(),
        3,
        "a's next is the answer"
    );

    // Nobody subscribes to z.
    a.send_text("pub:z:void").unwrap();
    assert_eq!(published(&setup.rx), Delivery::default());
    assert_eq!(setup.handle.publish("z", "void").unwrap(), 0);
}

#[test]
fn a_connection_subscribes_to_at_most_max_subscriptions_topics() {
    let mut options = plain(1);
    options.max_subscriptions = 2;
    let setup = start(options);
    let (mut a, _) = client(&setup);
    assert_eq!(ask(&mut a, "sub:1"), "ok");
    assert_eq!(ask(&mut a, "sub:2"), "ok");
    assert_eq!(
        ask(&mut a, "sub:2"),
        "ok",
        "already subscribed: not one more"
    );
    assert!(ask(&mut a, "sub:3").starts_with("err:"));
    assert_eq!(ask(&mut a, "count:3"), "0");
    assert_eq!(ask(&mut a, "unsub:1"), "ok");
    assert_eq!(ask(&mut a, "sub:3"), "ok");
}

/// Opens connections until both event loops of a two-loop server have some (the kernel
/// spreads them), at least `per_loop` each; returns them by loop.
fn on_both_loops(setup: &Setup, per_loop: usize) -> [Vec<(Client, ConnId)>; 2] {
    let mut loops: [Vec<(Client, ConnId)>; 2] = [Vec::new(), Vec::new()];
    for _ in 0..200 {
        if loops.iter().all(|l| l.len() >= per_loop) {
            return loops;
        }
        let (ws, id) = client(setup);
        loops[id.worker()].push((ws, id));
    }
    panic!("200 connections and one loop still has fewer than {per_loop}");
}

#[test]
fn a_publish_reaches_subscribers_on_every_event_loop_and_from_a_handle() {
    let setup = start(plain(2));
    let [mut first, mut second] = on_both_loops(&setup, 2);
    // One connection of each loop subscribes; the others stay out.
    for (ws, _) in [&mut first[0], &mut second[0]] {
        assert_eq!(ask(ws, "sub:t"), "ok");
    }
    let mut events = setup.handle.topic_events();
    assert_eq!(setup.handle.topics(), [Arc::<str>::from("t")]);
    assert_eq!(next(&events), TopicEvent::Active("t".into()));

    // From a connection of loop 0 that does not subscribe: loop 1 gets it forwarded.
    first[1].0.send_text("pub:t:from a handler").unwrap();
    let d = published(&setup.rx);
    assert_eq!((d.queued, d.forwarded), (1, 1));
    for ws in [&mut first[0].0, &mut second[0].0] {
        assert_eq!(read_text(ws), "from a handler");
    }

    // From another thread, in order.
    let handle = setup.handle.clone();
    std::thread::spawn(move || {
        for i in 0..100 {
            assert_eq!(handle.publish("t", format!("{i}")).unwrap(), 2);
        }
    })
    .join()
    .unwrap();
    for ws in [&mut first[0].0, &mut second[0].0] {
        for i in 0..100 {
            assert_eq!(read_text(ws), format!("{i}"));
        }
    }
    // The connections that did not subscribe got nothing: their next message is an answer.
    for (ws, _) in [&mut first[1], &mut second[1]] {
        assert_eq!(ask(ws, "count:t"), "1");
    }

    // Subscribing a connection from another thread.
    let other_id = second[1].1;
    let handle = setup.handle.clone();
    // A publish right after the subscription request, from the same thread, reaches the
    // connection: the loop handles the subscription first.
    handle.subscribe(other_id, "u").unwrap();
    assert_eq!(handle.publish("u", "to u").unwrap(), 1);
    assert_eq!(read_text(&mut second[1].0), "to u");
    assert_eq!(next(&events), TopicEvent::Active("u".into()));
    handle.unsubscribe(other_id, "u").unwrap();
    assert_eq!(next(&events), TopicEvent::Inactive("u".into()));

    // The loop 1 subscriber leaves: the topic is still active (loop 0 has one).
    assert_eq!(ask(&mut second[0].0, "unsub:t"), "ok");
    assert_eq!(handle.publish("t", "last").unwrap(), 1);
    assert_eq!(read_text(&mut first[0].0), "last");
    assert_eq!(ask(&mut first[0].0, "unsub:t"), "ok");
    assert_eq!(next(&events), TopicEvent::Inactive("t".into()));
    assert_eq!(handle.publish("t", "nobody").unwrap(), 0);
    assert!(handle.topics().is_empty());
    events = handle.topic_events();
    assert!(events.try_recv().is_err(), "no topic is active");
}

#[test]
fn subscriptions_end_with_the_connection() {
    let setup = start(plain(1));
    let events = setup.handle.topic_events();
    let (mut a, a_id) = client(&setup);
    let (mut b, b_id) = client(&setup);
    let (mut c, _) = client(&setup);
    assert_eq!(ask(&mut a, "sub:room"), "ok");
    assert_eq!(ask(&mut a, "sub:a-only"), "ok");
    assert_eq!(ask(&mut b, "sub:room"), "ok");
    assert_eq!(next(&events), TopicEvent::Active("room".into()));
    assert_eq!(next(&events), TopicEvent::Active("a-only".into()));

    // A clean close.
    a.close(CloseCode::NORMAL, "").unwrap();
    until(&setup.rx, |r| matches!(r, Report::Close(id) if *id == a_id));
    assert_eq!(next(&events), TopicEvent::Inactive("a-only".into()));
    assert_eq!(ask(&mut c, "count:room"), "1");
    c.send_text("pub:room:still b").unwrap();
    assert_eq!(published(&setup.rx).queued, 1);
    assert_eq!(read_text(&mut b), "still b");

    // A connection lost without a closing handshake.
    drop(b);
    until(&setup.rx, |r| matches!(r, Report::Close(id) if *id == b_id));
    assert_eq!(next(&events), TopicEvent::Inactive("room".into()));
    assert_eq!(ask(&mut c, "count:room"), "0");
    assert_eq!(setup.handle.publish("room", "nobody").unwrap(), 0);
}

/// The slow-consumer policy, per subscriber: a subscriber that never reads meets it, while a
/// subscriber that reads gets every message, in order.
fn slow_subscriber(policy: SlowConsumer) -> Delivery {
    const MESSAGES: usize = 1500;
    let mut options = plain(1);
    options.high_watermark = 64 << 10;
    options.low_watermark = 16 << 10;
    options.slow_consumer = policy;
    let setup = start(options);
    let (mut fast, _) = client(&setup);
    let (mut slow, _) = client(&setup);
    assert_eq!(ask(&mut slow, "sub:feed"), "ok");
    assert_eq!(ask(&mut fast, "sub:feed"), "ok");
    // 16 KiB each: 24 MiB in all, far more than the slow client's kernel buffers hold.
    let filler = "f".repeat(16 << 10);
    for i in 0..MESSAGES {
        fast.send_text(&format!("pub:feed:{i} {filler}")).unwrap();
        let got = read_text(&mut fast);
        assert!(
            got.starts_with(&format!("{i} ")),
            "message {i} arrived in order"
        );
    }
    let total = ask(&mut fast, "total");
    drop(slow);
    // The fast subscriber was never held up: every one of its messages was queued.
    let mut sum = Delivery::default();
    for _ in 0..MESSAGES {
        add(&mut sum, published(&setup.rx));
    }
    assert_eq!(format!("{sum:?}"), total);
    assert!(sum.queued + sum.backpressure >= MESSAGES, "{sum:?}");
    sum
}

#[test]
fn a_slow_subscriber_has_messages_dropped_while_the_others_get_everything() {
    let sum = slow_subscriber(SlowConsumer::Drop);
    assert!(sum.dropped > 0, "{sum:?}");
    assert_eq!(sum.closing + sum.failed, 0, "{sum:?}");
}

#[test]
fn a_slow_subscriber_is_closed_while_the_others_get_everything() {
    let sum = slow_subscriber(SlowConsumer::Close(CloseCode::TRY_AGAIN_LATER));
    assert_eq!(sum.closing, 1, "{sum:?}");
    assert_eq!(sum.dropped, 0, "{sum:?}");
}

#[test]
fn deflate_subscribers_get_publishes_compressed_for_themselves() {
    // The default configuration: ws-std clients offer permessage-deflate and the server
    // accepts it, so each subscriber compresses the message with its own context.
    let mut options = Options::default();
    options.threads = 1;
    let setup = start(options);
    let (mut a, _) = client(&setup);
    let (mut b, _) = client(&setup);
    assert!(a.connection().deflate_params().is_some());
    assert_eq!(ask(&mut a, "sub:z"), "ok");
    assert_eq!(ask(&mut b, "sub:z"), "ok");
    let text = "{\"user\":\"ada\",\"text\":\"hello hello hello\"}";
    for _ in 0..3 {
        a.send_text(&format!("pub:z:{text}")).unwrap();
        assert_eq!(published(&setup.rx).queued, 2);
        assert_eq!(read_text(&mut a), text);
        assert_eq!(read_text(&mut b), text);
    }
}
