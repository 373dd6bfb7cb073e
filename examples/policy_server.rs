//! An echo server on ws-std that admits only pages of one origin carrying a token: the
//! ready-made policies of `ws_std::policy`, checked before the handshake is accepted.
//!
//! * `Origin` must be `--origin URL` (default `https://app.example`), else `403 Forbidden`;
//! * the token (`Authorization: Bearer TOKEN`, or `?token=TOKEN` for browsers) must be
//!   `--token TOKEN` (default `secret`), else `401 Unauthorized` with `WWW-Authenticate`.
//!
//! `cargo run -p ws-examples --example policy-server -- --addr 127.0.0.1:9003`, then
//! `cargo run -p ws-examples --example echo-client -- ws://127.0.0.1:9003 --origin https://app.example --header 'Authorization: Bearer secret' --send hi`
//! (`--connections N`: stop after N connections.)

use ws_std::policy::{AllowedOrigins, TokenAuth, TokenCheck};
use ws_std::ServerBuilder;

fn main() -> std::io::Result<()> {
    let origin = ws_examples::arg("--origin").unwrap_or_else(|| "https://app.example".into());
    let token = ws_examples::arg("--token").unwrap_or_else(|| "secret".into());
    let auth = TokenAuth::new(move |given, _request| {
        // A real server looks the token up (a session store, a signed token's check).
        if given == token {
            TokenCheck::Valid
        } else {
            TokenCheck::Invalid
        }
    })
    .query("token")
    .realm("examples");
    let server = ServerBuilder::new()
        .policy(AllowedOrigins::new([origin]))
        .policy(auth);
    ws_examples::serve_connections(move |tcp| {
        let mut ws = server.accept(tcp)?;
        ws_examples::echo(&mut ws)
    })
}
