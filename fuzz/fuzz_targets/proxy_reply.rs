//! A proxy's reply bytes into `ProxyHandshake::receive_data`, for each kind of proxy.
//!
//! Input: `[kind, cut, reply bytes...]`: `kind % 4` picks HTTP, HTTP with Basic credentials,
//! SOCKS5, SOCKS5 with username/password; the reply is fed in two pieces split at
//! `len * cut / 255`.
//!
//! Checks: no panic (the bound of `MAX_REPLY` bytes is a unit test); the bytes handed out with the tunnel are the end of the input fed so far; after
//! the end, further input is refused with `Finished`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ws_proto::proxy::{Progress, ProxyError, ProxyHandshake, ProxyUrl, Target};

fuzz_target!(|data: &[u8]| {
    let [kind, cut, input @ ..] = data else {
        return;
    };
    let url = ["http://p", "http://u:p@p", "socks5h://p", "socks5h://u:p@p"][usize::from(kind % 4)];
    let proxy = ProxyUrl::parse(url).expect("valid proxy URL");
    let mut handshake =
        ProxyHandshake::new(&proxy, Target::Name("target.example".into()), 443).expect("valid");
    let mut out = Vec::new();
    handshake.poll_transmit(&mut out);
    let k = input.len() * usize::from(*cut) / 255;
    for (piece, fed) in [(&input[..k], k), (&input[k..], input.len())] {
        match handshake.receive_data(piece) {
            Ok(Progress::NeedMore) => {
                handshake.poll_transmit(&mut out);
            }
            Ok(Progress::Ready(after)) => {
                assert!(
                    input[..fed].ends_with(&after),
                    "not the end of the input fed"
                );
                break;
            }
            Err(_) => break,
        }
    }
    if handshake.is_done() {
        assert_eq!(handshake.receive_data(b"x"), Err(ProxyError::Finished));
    }
});
