//! A server's handshake response bytes into `ClientRequest::parse_response`.
//!
//! The client is the one of RFC 6455 section 1.3 (key `dGhlIHNhbXBsZSBub25jZQ==`), offering
//! the subprotocols `chat` and `superchat` and the extension `permessage-deflate`, so inputs
//! that start from the seed corpus can reach every check.
//!
//! Input: `[limits-byte-0, limits-byte-1, cut, response bytes...]`.
//!
//! Checks: the prefix-consistency contract of `ws_fuzz::check_prefix_consistency`; a complete
//! response has status 101, a subprotocol the client offered (or none), and only extensions
//! the client offered.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ws_fuzz::{check_prefix_consistency, limits_from};
use ws_proto::handshake::{ClientRequest, ExtensionOffer, Status, Url};

fuzz_target!(|data: &[u8]| {
    let [b0, b1, cut, input @ ..] = data else {
        return;
    };
    let limits = limits_from(*b0, *b1);
    let url = Url::parse("ws://server.example.com/chat").expect("valid URL");
    let client = ClientRequest::new(&url, *b"the sample nonce")
        .protocol("chat")
        .and_then(|c| c.protocol("superchat"))
        .and_then(|c| c.extension(ExtensionOffer::new("permessage-deflate")))
        .expect("valid offers");
    let k = input.len() * usize::from(*cut) / 255;
    if let Ok(Status::Complete((response, _))) =
        check_prefix_consistency(input, k, limits, |i| client.parse_response(i, limits))
    {
        assert_eq!(response.status(), 101);
        if let Some(p) = response.protocol() {
            assert!(
                p == "chat" || p == "superchat",
                "unoffered subprotocol {p:?}"
            );
        }
        for e in response.extensions() {
            assert_eq!(e.name, "permessage-deflate");
        }
    }
});
