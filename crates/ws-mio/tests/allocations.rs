//! The steady-state echo path of a ws-mio event loop allocates nothing per message: received
//! messages go into the loop's spare buffers, the handler gives them back with
//! `Ctx::recycle`, and output buffers return to the pool once written.
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
    let client = thread::spawn(move || {
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
        ws.close(ws_mio::CloseCode::NORMAL, "").expect("close");
        while ws.read().is_ok() {}
        handle.shutdown();
    });
    let allocations = allocation_counter::measure(|| server.run().expect("run")).count_total;
    client.join().expect("client");
    allocations
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
