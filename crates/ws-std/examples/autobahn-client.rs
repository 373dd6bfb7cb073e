//! The Autobahn|Testsuite client testee for ws-std.
//!
//! Usage: `autobahn-client [BASE_URL] [AGENT]` (defaults `ws://127.0.0.1:9001`, `ws-std-client`).
//! Walks every case the fuzzing server offers, echoing each message, then asks it to write
//! the reports.
//!
//! permessage-deflate is offered twice, most preferred first: `client_max_window_bits` alone
//! (context takeover), then with `client_no_context_takeover` too, so that the suite's server
//! can accept either kind in cases 12.* and 13.*.

use std::process::ExitCode;

use ws_proto::extensions::deflate::DeflateOffer;
use ws_proto::Config;
use ws_std::{connect, ClientBuilder, Error, Message};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let base = args.next().unwrap_or_else(|| "ws://127.0.0.1:9001".into());
    let agent = args.next().unwrap_or_else(|| "ws-std-client".into());
    match run(&base, &agent) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("autobahn-client: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(base: &str, agent: &str) -> Result<(), Error> {
    let count = case_count(base)?;
    eprintln!("{count} cases");
    for case in 1..=count {
        let url = format!("{base}/runCase?case={case}&agent={agent}");
        if let Err(e) = echo(&url) {
            // A failing case is the suite's to judge; keep going.
            eprintln!("case {case}: {e}");
        }
    }
    let (mut ws, _) = connect(&format!("{base}/updateReports?agent={agent}"))?;
    loop {
        match ws.read() {
            Ok(Message::Close(_)) | Err(Error::ConnectionClosed) => return Ok(()),
            Ok(_) => {}
            Err(e) => return Err(e),
        }
    }
}

fn case_count(base: &str) -> Result<u32, Error> {
    let (mut ws, _) = connect(&format!("{base}/getCaseCount"))?;
    let mut count = None;
    loop {
        match ws.read() {
            Ok(Message::Text(t)) => count = t.trim().parse().ok(),
            Ok(Message::Close(_)) | Err(Error::ConnectionClosed) => break,
            Ok(_) => {}
            Err(e) => return Err(e),
        }
    }
    count.ok_or(Error::ConnectionClosed)
}

fn echo(url: &str) -> Result<(), Error> {
    let mut config = Config::default();
    let mut no_takeover = DeflateOffer::default();
    no_takeover.client_no_context_takeover = true;
    config.deflate.offers = vec![DeflateOffer::default(), no_takeover];
    // Every message is echoed compressed, however short.
    config.deflate.min_size = 0;
    let (mut ws, _) = ClientBuilder::new(url).config(config).connect()?;
    loop {
        match ws.read()? {
            Message::Text(t) => ws.send_text(&t)?,
            Message::Binary(b) => ws.send_binary(&b)?,
            Message::Close(_) => return Ok(()),
            _ => {}
        }
    }
}
