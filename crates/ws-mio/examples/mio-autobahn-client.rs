//! The Autobahn|Testsuite client testee for ws-mio.
//!
//! Usage: `mio-autobahn-client [BASE_URL] [AGENT]` (defaults `ws://127.0.0.1:9001`,
//! `ws-mio-client`). One event loop walks every case the fuzzing server offers, one
//! connection at a time, echoing each message; then it asks the server to write the reports.

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use ws_mio::{CloseCode, ConnId, Ctx, Error, Handler, Message, Options, Server};

/// Which connection is current.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    CaseCount,
    Case(u32),
    UpdateReports,
}

struct Testee {
    base: String,
    agent: String,
    count: Option<u32>,
    step: Step,
    current: Option<ConnId>,
    opened: bool,
    /// Set when the run could not go on (not when a case fails: the reports judge those).
    failed: Arc<AtomicBool>,
}

impl Testee {
    fn url(&self, step: Step) -> String {
        match step {
            Step::CaseCount => format!("{}/getCaseCount", self.base),
            Step::Case(n) => format!("{}/runCase?case={n}&agent={}", self.base, self.agent),
            Step::UpdateReports => format!("{}/updateReports?agent={}", self.base, self.agent),
        }
    }

    fn start_step(&mut self, ctx: &mut Ctx<'_>, step: Step) {
        self.step = step;
        self.opened = false;
        match ctx.connect(self.url(step)) {
            Ok(id) => self.current = Some(id),
            Err(e) => self.fail(ctx, &format!("cannot connect: {e}")),
        }
    }

    fn fail(&mut self, ctx: &mut Ctx<'_>, why: &str) {
        eprintln!("mio-autobahn-client: {why}");
        self.failed.store(true, Ordering::SeqCst);
        ctx.shutdown();
    }

    /// The current connection is done, whatever its outcome: go on with the next one.
    fn next_step(&mut self, ctx: &mut Ctx<'_>) {
        let count = self.count.unwrap_or(0);
        match self.step {
            Step::CaseCount if self.count.is_none() => self.fail(ctx, "no case count received"),
            Step::CaseCount if count == 0 => self.start_step(ctx, Step::UpdateReports),
            Step::CaseCount => {
                eprintln!("{count} cases");
                self.start_step(ctx, Step::Case(1));
            }
            Step::Case(n) if n < count => self.start_step(ctx, Step::Case(n + 1)),
            Step::Case(_) => self.start_step(ctx, Step::UpdateReports),
            Step::UpdateReports => ctx.shutdown(),
        }
    }
}

impl Handler for Testee {
    fn start(&mut self, ctx: &mut Ctx<'_>) {
        self.start_step(ctx, Step::CaseCount);
    }

    fn open(&mut self, _: &mut Ctx<'_>, _: ConnId) {
        self.opened = true;
    }

    fn message(&mut self, ctx: &mut Ctx<'_>, id: ConnId, message: Message) {
        match (self.step, message) {
            (Step::CaseCount, Message::Text(text)) => self.count = text.trim().parse().ok(),
            (Step::Case(_), message) => {
                let _ = ctx.send(id, &message);
            }
            _ => {}
        }
    }

    fn error(&mut self, ctx: &mut Ctx<'_>, id: ConnId, error: &Error) {
        if let Step::Case(n) = self.step {
            // A failing case is the suite's to judge; keep going.
            eprintln!("case {n}: {error}");
        } else {
            eprintln!("{:?}: {error}", self.step);
        }
        // A failed handshake is not followed by `close`.
        if Some(id) == self.current && !self.opened {
            self.next_step(ctx);
        }
    }

    fn close(&mut self, ctx: &mut Ctx<'_>, id: ConnId, _: CloseCode, _: &str) {
        if Some(id) == self.current {
            self.next_step(ctx);
        }
    }
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let base = args.next().unwrap_or_else(|| "ws://127.0.0.1:9001".into());
    let agent = args.next().unwrap_or_else(|| "ws-mio-client".into());
    let failed = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&failed);
    let server = Server::new(Options::default(), move |_| Testee {
        base: base.clone(),
        agent: agent.clone(),
        count: None,
        step: Step::CaseCount,
        current: None,
        opened: false,
        failed: Arc::clone(&flag),
    });
    match server.and_then(Server::run) {
        Ok(()) if !failed.load(Ordering::SeqCst) => ExitCode::SUCCESS,
        Ok(()) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("mio-autobahn-client: {e}");
            ExitCode::FAILURE
        }
    }
}
