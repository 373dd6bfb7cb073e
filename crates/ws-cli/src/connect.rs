//! `ws connect`: an interactive client.

use std::io::{self, BufRead, Write};
use std::path::Path;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use ws_proto::{CloseCode, Config};
use ws_std::{ClientBuilder, Error, Message};

/// How often the client looks at standard input while waiting for messages.
const POLL: Duration = Duration::from_millis(20);

/// `deflate`: offer permessage-deflate (`--no-deflate` turns it off). `ca`: the CA file a
/// `wss://` server's certificate must chain to (without it, the bundled roots). `proxy`: the
/// URL of `--proxy`.
pub(crate) fn run(
    url: &str,
    ca: Option<&Path>,
    protocols: &[String],
    headers: &[String],
    deflate: bool,
    proxy: Option<&str>,
) -> Result<(), String> {
    let mut config = Config::default();
    config.deflate.enabled = deflate;
    let mut builder = ClientBuilder::new(url).config(config);
    if let Some(ca) = ca {
        if !url
            .get(..6)
            .is_some_and(|s| s.eq_ignore_ascii_case("wss://"))
        {
            return Err(format!("--ca is for wss:// URLs, not {url}"));
        }
        builder = builder.ca_file(ca);
    }
    if let Some(proxy) = proxy {
        builder = builder.proxy(proxy);
    }
    for p in protocols {
        builder = builder.protocol(p);
    }
    for h in headers {
        let (name, value) = h
            .split_once(':')
            .ok_or_else(|| format!("header {h:?} is not 'Name: value'"))?;
        builder = builder.header(name.trim(), value.trim());
    }
    let (mut ws, response) = builder.connect().map_err(|e| format!("{url}: {e}"))?;
    match response.protocol() {
        Some(p) => eprintln!("connected to {url} (subprotocol {p})"),
        None => eprintln!("connected to {url}"),
    }

    // Standard input is read on its own thread; the socket on this one.
    let (lines_tx, lines) = mpsc::channel::<Option<String>>();
    thread::spawn(move || {
        for line in io::stdin().lock().lines() {
            match line {
                Ok(line) => {
                    if lines_tx.send(Some(line)).is_err() {
                        return;
                    }
                }
                Err(_) => break,
            }
        }
        let _ = lines_tx.send(None);
    });

    ws.set_read_timeout(Some(POLL));
    let mut closing = false;
    let stdout = io::stdout();
    loop {
        while let Ok(line) = lines.try_recv() {
            match line {
                Some(text) if !closing => ws.send_text(&text).map_err(|e| e.to_string())?,
                Some(_) => {}
                None if !closing => {
                    closing = true;
                    ws.close(CloseCode::NORMAL, "").map_err(|e| e.to_string())?;
                }
                None => {}
            }
        }
        match ws.read() {
            Ok(Message::Text(text)) => {
                writeln!(stdout.lock(), "{text}").map_err(|e| e.to_string())?
            }
            Ok(Message::Binary(data)) => {
                writeln!(stdout.lock(), "<binary message, {} bytes>", data.len())
                    .map_err(|e| e.to_string())?
            }
            Ok(Message::Close(frame)) => {
                return match frame {
                    Some(f) if f.code == CloseCode::NORMAL || closing => Ok(()),
                    Some(f) => Err(format!(
                        "server closed the connection: {} {}",
                        f.code, f.reason
                    )),
                    None if closing => Ok(()),
                    None => Err("server closed the connection without a status".into()),
                };
            }
            Ok(_) => {}
            Err(e) if read_timed_out(&e) => {}
            Err(Error::ConnectionClosed) => return Ok(()),
            Err(e) => return Err(e.to_string()),
        }
    }
}

/// Whether a read stopped at its read timeout (the connection is still good).
pub(crate) fn read_timed_out(error: &Error) -> bool {
    matches!(error, Error::Io(e) if matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    ))
}
