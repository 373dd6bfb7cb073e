//! A client and a server `Connection` wired together, driven by an arbitrary script of
//! operations (receive chunks, send text, binary and fragments, ping, pong, close, advance the
//! simulated clock, inject raw bytes). The invariants are listed in `ws_fuzz::pair`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ws_fuzz::pair::{Pair, Script};

fuzz_target!(|script: Script| {
    Pair::run(&script);
});
