//! Timers of the application (`Ctx::set_timer`, `Handler::timer`): a live ticker that
//! re-arms its timer and broadcasts to a connected client, and cancelled timers that never
//! fire. Bounded by the clients' read timeouts and `common::WAIT`; no sleep synchronises.

mod common;

use std::sync::mpsc::{self, Sender};
use std::time::{Duration, Instant};

use common::{next, WAIT};
use ws_mio::{ConnId, Ctx, Handler, Message, Options, Server, TimerId};

const TICK: u64 = 7;
const PERIOD: Duration = Duration::from_millis(20);

/// Starts ticking when a client opens; three ticks, each broadcast.
struct Ticker {
    ticks: u32,
}

impl Handler for Ticker {
    fn open(&mut self, ctx: &mut Ctx<'_>, _: ConnId) {
        ctx.set_timer(PERIOD, TICK);
    }

    fn timer(&mut self, ctx: &mut Ctx<'_>, token: u64) {
        assert_eq!(token, TICK);
        self.ticks += 1;
        ctx.broadcast(&Message::Text(format!("tick {}", self.ticks)));
        if self.ticks < 3 {
            ctx.set_timer(PERIOD, TICK);
        }
    }
}

#[test]
fn a_ticker_rearms_its_timer_and_broadcasts_without_a_thread_of_its_own() {
    let server =
        Server::bind("127.0.0.1:0", Options::default(), |_| Ticker { ticks: 0 }).expect("bind");
    let url = format!("ws://{}/", server.local_addr().expect("address"));
    let _running = server.spawn().expect("spawn");
    let started = Instant::now();
    let (mut ws, _) = ws_std::connect(&url).expect("connect");
    ws.set_read_timeout(Some(WAIT));
    for n in 1..=3 {
        assert_eq!(
            ws.read().expect("tick"),
            ws_std::Message::Text(format!("tick {n}"))
        );
    }
    // A timer never fires early: three periods have passed at least.
    assert!(started.elapsed() >= 3 * PERIOD, "{:?}", started.elapsed());
}

/// Arms three timers at start and cancels the earliest; reports what fires and what the
/// cancellations answered.
struct Cancelling {
    tx: Sender<String>,
    first: Option<TimerId>,
    soon: Option<TimerId>,
}

impl Handler for Cancelling {
    fn start(&mut self, ctx: &mut Ctx<'_>) {
        let cancelled = ctx.set_timer(Duration::from_millis(10), 1);
        ctx.set_timer(Duration::from_millis(40), 2);
        self.soon = Some(ctx.set_timer(Duration::from_millis(5), 3));
        self.first = Some(cancelled);
        let _ = self
            .tx
            .send(format!("cancel {}", ctx.cancel_timer(cancelled)));
    }

    fn timer(&mut self, ctx: &mut Ctx<'_>, token: u64) {
        let _ = self.tx.send(format!("fired {token}"));
        if token == 2 {
            // Both already done: one cancelled, one fired.
            let again = ctx.cancel_timer(self.first.expect("armed"));
            let fired = ctx.cancel_timer(self.soon.expect("armed"));
            let _ = self.tx.send(format!("cancel {again} {fired}"));
        }
    }
}

#[test]
fn a_cancelled_timer_never_fires_and_the_others_fire_in_deadline_order() {
    let (tx, rx) = mpsc::channel();
    let server = Server::bind("127.0.0.1:0", Options::default(), move |_| Cancelling {
        tx: tx.clone(),
        first: None,
        soon: None,
    })
    .expect("bind");
    let _running = server.spawn().expect("spawn");
    let seen: Vec<String> = (0..4).map(|_| next(&rx)).collect();
    // Timer 1 (due at 10 ms) would have fired between 3 (5 ms) and 2 (40 ms).
    assert_eq!(
        seen,
        ["cancel true", "fired 3", "fired 2", "cancel false false"]
    );
}
