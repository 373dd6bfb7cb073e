//! A TLS echo server on ws-std (feature `tls`). It makes a certificate authority and a
//! certificate for `localhost` at start and writes the authority's certificate to
//! `--ca-out PATH` (default `ca.pem`) for the client to trust; a real server loads its own
//! with `ws_std::tls::server::config_from_pem_files(cert, key)`.
//!
//! `cargo run -p ws-examples --example tls-server -- --ca-out /tmp/ca.pem`
//! (`--connections N`: stop after N connections.)

#[path = "../crates/ws-tls/test-support/certs.rs"]
mod certs;

use ws_std::ServerBuilder;

fn main() -> std::io::Result<()> {
    let ca = certs::Ca::named("ws-examples CA");
    let leaf = ca.issue(&["localhost", "127.0.0.1"]);
    std::fs::write(
        ws_examples::arg("--ca-out").unwrap_or_else(|| "ca.pem".into()),
        ca.pem(),
    )?;
    let server = ServerBuilder::new().tls(leaf.server_config());
    ws_examples::serve_connections(move |tcp| {
        let mut ws = server.accept_tls(tcp)?;
        ws_examples::echo(&mut ws)
    })
}
