//! The steady-state echo path of a ws-mio event loop allocates nothing per message: received
//! messages go into the loop's spare buffers, the handler gives them back with
//! `Ctx::recycle`, and output buffers return to the pool once written. A publish to a topic
//! allocates its one frame (and the `Arc` that shares it), whatever the number of subscribers.
//!
//! The event loop runs on the test thread (`Server::run`), whose allocations
//! `allocation_counter` counts; the client runs on its own thread. Two runs of different
//! lengths are counted: the difference is what the extra messages cost.

use std::thread;

use ws_mio::{ConnId, Ctx, Handler, Message, Options, Server};
use ws_std::ws_proto::Config;
use ws_std::ClientBuilder;

/// Messages per round: the client sends a round, then reads its echoes.
const ROUND: usize = 10;

struct Echo;

impl Handler for Echo {
    fn message(&mut self, ctx: &mut Ctx<'_>, id: ConnId, message: Message) {
        ctx.send(id, &message).expect("send");
        ctx.recycle(message);
    }
}

/// Runs an echo server on this thread for one client that sends `rounds` rounds of
/// messages; returns the allocations made by the event loop, from bind to shutdown.
fn echo_run(rounds: usize, binary: bool, deflate: bool) -> u64 {
    let mut options = Options::default();
    options.config.deflate.enabled = deflate;
    let server = Server::bind("127.0.0.1:0", options, |_| Echo).expect("bind");
    let url = format!("ws://{}/", server.local_addr().expect("addr"));
    let handle = server.handle();
    count_server_allocations(server, move || {
        let mut config = Config::default();
        config.deflate.enabled = deflate;
        let (mut ws, _) = ClientBuilder::new(&url)
            .config(config)
            .connect()
            .expect("connect");
        for _ in 0..rounds {
            for i in 0..ROUND {
                if binary {
                    ws.write(vec![i as u8; 100]).expect("write");
                } else {
                    ws.write(format!("message number {i:>4}")).expect("write");
                }
            }
            ws.flush().expect("flush");
            for _ in 0..ROUND {
                assert!(ws.read().expect("echo").is_data());
            }
        }
        close(ws);
        handle.shutdown();
    })
}

/// Runs `server` on this thread while `client` runs on another; returns the allocations of
/// the event loop, from start to shutdown.
fn count_server_allocations<F, H>(server: Server<F>, client: impl FnOnce() + Send + 'static) -> u64
where
    F: Fn(usize) -> H + Send + Sync + 'static,
    H: Handler,
{
    let client = thread::spawn(client);
    let allocations = allocation_counter::measure(|| server.run().expect("run")).count_total;
    client.join().expect("client");
    allocations
}

/// A clean close, read to the end.
fn close(mut ws: ws_std::WebSocket<ws_std::MaybeTlsStream>) {
    ws.close(ws_mio::CloseCode::NORMAL, "").expect("close");
    while ws.read().is_ok() {}
}

#[test]
fn steady_echo_allocates_nothing_per_message() {
    for (binary, deflate) in [(false, false), (true, false), (false, true), (true, true)] {
        let short = echo_run(50, binary, deflate);
        let long = echo_run(250, binary, deflate);
        // 2,000 more messages echoed: no more allocations (a few of slack for how the kernel
        // happens to split the reads of the warm-up).
        assert!(
            long <= short + 8,
            "binary {binary}, deflate {deflate}: {short} allocations for 500 messages, \
             {long} for 2,500"
        );
    }
}

/// "sub" subscribes the sender to one topic (answered "ok"); any other text is published
/// to it.
struct Publisher;

impl Handler for Publisher {
    fn message(&mut self, ctx: &mut Ctx<'_>, id: ConnId, message: Message) {
        if matches!(&message, Message::Text(t) if t == "sub") {
            ctx.subscribe(id, "topic").expect("subscribe");
            ctx.send_text(id, "ok").expect("send");
        } else {
            ctx.publish("topic", &message);
        }
        ctx.recycle(message);
    }
}

/// Runs a publishing server on this thread for `subscribers` clients (the first also
/// publishes, `publishes` times, each read by every client); returns the event loop's
/// allocations.
fn publish_run(subscribers: usize, publishes: usize) -> u64 {
    let mut options = Options::default();
    options.config.deflate.enabled = false;
    let server = Server::bind("127.0.0.1:0", options, |_| Publisher).expect("bind");
    let url = format!("ws://{}/", server.local_addr().expect("addr"));
    let handle = server.handle();
    count_server_allocations(server, move || {
        let mut clients: Vec<_> = (0..subscribers)
            .map(|_| {
                let (mut ws, _) = ws_std::connect(&url).expect("connect");
                ws.write("sub").expect("write");
                ws.flush().expect("flush");
                assert_eq!(ws.read().expect("ok"), ws_std::Message::Text("ok".into()));
                ws
            })
            .collect();
        for i in 0..publishes {
            clients[0].write(format!("publish {i:>4}")).expect("write");
            clients[0].flush().expect("flush");
            for ws in &mut clients {
                assert!(ws.read().expect("published").is_data());
            }
        }
        clients.into_iter().for_each(close);
        handle.shutdown();
    })
}

#[test]
fn a_publish_allocates_the_same_for_two_subscribers_as_for_eight() {
    // The frame is built once per publish (its buffer and the `Arc` around it), whatever the
    // number of subscribers; their output buffers come from the loop's pool.
    let per_publish = |subscribers| {
        let short = publish_run(subscribers, 50);
        let long = publish_run(subscribers, 250);
        (long.saturating_sub(short)) as f64 / 200.0
    };
    let (two, eight) = (per_publish(2), per_publish(8));
    assert!(
        two <= 2.1 && eight <= 2.1,
        "allocations per publish: {two} with 2 subscribers, {eight} with 8"
    );
}
