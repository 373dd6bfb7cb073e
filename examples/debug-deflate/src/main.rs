//! Times a compressed echo (permessage-deflate, on by default) over 127.0.0.1: a ws-std
//! server thread echoes `ROUNDS` text messages of 64 KiB that a client sends and reads back.
//! Built as an application's debug build, it shows what the DEFLATE code costs unoptimized.

use std::net::TcpListener;
use std::thread;
use std::time::Instant;

use ws_std::{ClientBuilder, CloseCode, Error};

const ROUNDS: usize = 200;

fn main() -> Result<(), Error> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let url = format!("ws://{}/", listener.local_addr()?);
    let server = thread::spawn(move || -> Result<(), Error> {
        let mut ws = ws_std::accept(listener.accept()?.0)?;
        loop {
            match ws.read() {
                Ok(message) if message.is_text() => ws.send(message)?,
                Ok(_) => {}
                Err(Error::ConnectionClosed) => return Ok(()),
                Err(e) => return Err(e),
            }
        }
    });
    let (mut ws, response) = ClientBuilder::new(&url).connect()?;
    let agreed = response
        .extensions()
        .iter()
        .any(|e| e.name == "permessage-deflate");
    assert!(agreed, "permessage-deflate was not agreed");
    // Compressible, not trivially: numbered lines.
    let text: String = (0..)
        .map(|i| format!("line {i:>6} of the ticker feed\n"))
        .take(2200)
        .collect();
    let text = &text[..64 * 1024];
    let started = Instant::now();
    for _ in 0..ROUNDS {
        ws.send(text)?;
        let reply = ws.read()?;
        assert_eq!(reply.as_text(), Some(text));
    }
    let elapsed = started.elapsed();
    ws.close(CloseCode::NORMAL, "")?;
    while ws.read().is_ok() {}
    server.join().expect("server thread")?;
    println!(
        "{ROUNDS} compressed echoes of 64 KiB: {:.3} s ({:.2} ms each)",
        elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1000.0 / ROUNDS as f64
    );
    Ok(())
}
