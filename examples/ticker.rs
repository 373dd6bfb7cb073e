//! A live ticker on ws-mio: one event loop, no thread of its own for the ticks. Every
//! connection is subscribed to the `ticks` topic; a handler timer publishes `tick N` to it
//! every `--interval-ms` (default 1000), starting when the first client connects, and any
//! text a client sends is broadcast to every client (a chat room with a clock).
//!
//! `cargo run -p ws-examples --example ticker -- --addr 127.0.0.1:9002`
//!
//! `--ticks N`: after N ticks, shut down gracefully (every client gets 1001 `ticker done`).

use std::time::Duration;

use ws_mio::{ConnId, Ctx, Handler, Message, Options, Server};

struct Ticker {
    interval: Duration,
    /// Stop after this many ticks.
    ticks: u64,
    sent: u64,
    started: bool,
}

impl Handler for Ticker {
    fn open(&mut self, ctx: &mut Ctx<'_>, id: ConnId) {
        if ctx.subscribe(id, "ticks").is_err() {
            return; // gone already
        }
        if !self.started {
            self.started = true;
            ctx.set_timer(self.interval, 0);
        }
    }

    fn message(&mut self, ctx: &mut Ctx<'_>, _: ConnId, message: Message) {
        if message.is_text() {
            ctx.broadcast(&message);
        }
    }

    fn timer(&mut self, ctx: &mut Ctx<'_>, _token: u64) {
        self.sent += 1;
        ctx.publish("ticks", &Message::Text(format!("tick {}", self.sent)));
        if self.sent == self.ticks {
            ctx.handle()
                .shutdown_gracefully("ticker done", Duration::from_secs(5));
        } else {
            ctx.set_timer(self.interval, 0);
        }
    }
}

fn main() -> std::io::Result<()> {
    let addr = ws_examples::arg("--addr").unwrap_or_else(|| "127.0.0.1:0".into());
    let interval = Duration::from_millis(ws_examples::number("--interval-ms", 1000));
    let ticks = ws_examples::number("--ticks", u64::MAX);
    let server = Server::bind(addr, Options::default(), move |_worker| Ticker {
        interval,
        ticks,
        sent: 0,
        started: false,
    })?;
    if let Some(addr) = server.local_addr() {
        println!("listening on {addr}");
    }
    server.run()
}
