//! A wss:// client on ws-std (feature `tls`) that trusts the certificate authority in
//! `--ca PATH` (without it, the bundled web roots), sends each `--send TEXT` and prints the
//! replies.
//!
//! `cargo run -p ws-examples --example tls-client -- wss://localhost:PORT --ca /tmp/ca.pem --send hi`

use ws_std::{ClientBuilder, CloseCode, Error};

fn main() {
    ws_examples::exit_on_error(run());
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let url = ws_examples::positional().ok_or("usage: tls-client wss://HOST:PORT [--ca PATH]")?;
    let mut builder = ClientBuilder::new(&url);
    if let Some(ca) = ws_examples::arg("--ca") {
        builder = builder.ca_file(ca);
    }
    let (mut ws, _response) = builder.connect()?;
    println!("connected to {url}");
    for text in ws_examples::args("--send") {
        ws.send(text.as_str())?;
        let reply = ws.read()?.into_text()?;
        println!("received: {reply}");
    }
    ws.close(CloseCode::NORMAL, "done")?;
    loop {
        match ws.read() {
            Ok(_) => {}
            Err(Error::ConnectionClosed) => return Ok(()),
            Err(e) => return Err(e.into()),
        }
    }
}
