//! An echo server on ws-std: a thread per connection, every message sent back.
//!
//! `cargo run -p ws-examples --example echo-server -- --addr 127.0.0.1:9001`
//! (`--connections N`: stop after N connections.)

fn main() -> std::io::Result<()> {
    ws_examples::serve_connections(|tcp| {
        let mut ws = ws_std::accept(tcp)?;
        ws_examples::echo(&mut ws)
    })
}
