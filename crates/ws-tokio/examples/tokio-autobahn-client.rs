//! The Autobahn|Testsuite client testee for ws-tokio.
//!
//! Usage: `tokio-autobahn-client [BASE_URL] [AGENT]` (defaults `ws://127.0.0.1:9001`,
//! `ws-tokio-client`). Asks the fuzzing server how many cases it has, runs each one as an
//! echo over the `Stream` and `Sink` of a `WebSocketStream`, then asks for the reports.
//!
//! permessage-deflate is offered with context takeover first, then with
//! `client_no_context_takeover`, so that the suite's server can accept either in 12.* and
//! 13.*; every message is compressed, however short.

use std::process::ExitCode;

use futures_util::{SinkExt, StreamExt};
use ws_tokio::{connect_async, ClientBuilder, Config, DeflateOffer, Error, Message};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let base = args.next().unwrap_or_else(|| "ws://127.0.0.1:9001".into());
    let agent = args.next().unwrap_or_else(|| "ws-tokio-client".into());
    match run(&base, &agent).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tokio-autobahn-client: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(base: &str, agent: &str) -> Result<(), Error> {
    let count: u32 = match last_text(&format!("{base}/getCaseCount")).await? {
        Some(text) => text.trim().parse().map_err(|_| Error::ConnectionClosed)?,
        None => return Err(Error::ConnectionClosed),
    };
    eprintln!("{count} cases");
    let config = echo_config();
    for case in 1..=count {
        let url = format!("{base}/runCase?case={case}&agent={agent}");
        if let Err(e) = echo(&url, config.clone()).await {
            // A failing case is the suite's to judge; keep going.
            eprintln!("case {case}: {e}");
        }
    }
    last_text(&format!("{base}/updateReports?agent={agent}")).await?;
    Ok(())
}

/// Reads a connection to its end; the last text message.
async fn last_text(url: &str) -> Result<Option<String>, Error> {
    let (mut ws, _) = connect_async(url).await?;
    let mut last = None;
    while let Some(message) = ws.next().await {
        if let Message::Text(text) = message? {
            last = Some(text);
        }
    }
    Ok(last)
}

fn echo_config() -> Config {
    let mut config = Config::default();
    let mut no_takeover = DeflateOffer::default();
    no_takeover.client_no_context_takeover = true;
    config.deflate.offers = vec![DeflateOffer::default(), no_takeover];
    config.deflate.min_size = 0;
    config
}

/// Echoes every data message until the connection ends.
async fn echo(url: &str, config: Config) -> Result<(), Error> {
    let (mut ws, _) = ClientBuilder::new(url).config(config).connect().await?;
    while let Some(message) = ws.next().await {
        let message = message?;
        if message.is_data() {
            // Queued; the next poll of the stream writes it before waiting for input.
            ws.feed(message).await?;
        }
    }
    Ok(())
}
