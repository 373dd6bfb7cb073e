//! Randomness from the operating system, for the adapters: mask keys ([`OsRandom`]) and
//! handshake nonces ([`nonce`]).
//!
//! RFC 6455 wants both unpredictable: a client's mask keys "MUST be derived from a strong
//! source of entropy" (section 5.3, and section 10.3 on why), and the `Sec-WebSocket-Key`
//! nonce is "randomly selected" (section 4.1). The core itself stays deterministic: a
//! [`Connection`](crate::Connection) or a handshake never draws randomness, it takes a
//! [`MaskKeySource`] and a nonce from its caller, so that tests and fuzz targets can replay
//! exact bytes. This module is what an adapter passes in. It exists because every adapter
//! had its own copy of the same fill-from-`getrandom` function; it needs the `std` feature
//! (the `getrandom` dependency).
//!
//! Both panic, with a clear message, only if the operating system's generator fails: there is
//! no safe fallback (predictable mask keys defeat their purpose, section 10.3), and on the
//! platforms `getrandom` supports this does not happen once the system has booted.
//!
//! ```
//! use ws_proto::rng::OsRandom;
//! use ws_proto::{Config, Connection, Instant};
//! let mut client = Connection::client(Config::default(), OsRandom::new(), Instant::ZERO);
//! client.send_text("masked with a key from the OS").unwrap();
//! let mut out = Vec::new();
//! client.poll_transmit(&mut out);
//! assert_eq!(out[1] & 0x80, 0x80); // the MASK bit
//! let key: [u8; 16] = ws_proto::rng::nonce(); // for the client's opening handshake
//! # let _ = key;
//! ```

use crate::frame::mask::{BufferedMaskKeys, MaskKeySource};

/// Fills `buf` from the operating system's generator.
///
/// # Panics
///
/// If the generator fails (see the [module documentation](self)).
fn fill(buf: &mut [u8]) {
    if let Err(e) = getrandom::fill(buf) {
        panic!("the operating system's random number generator failed: {e}");
    }
}

/// A [`MaskKeySource`] that draws mask keys from the operating system's generator, 64 keys
/// (256 bytes) per call into it ([`BufferedMaskKeys`]), for a client
/// [`Connection`](crate::Connection).
///
/// # Panics
///
/// [`next_key`](MaskKeySource::next_key) panics if the operating system's generator fails
/// (see the [module documentation](self)).
pub struct OsRandom {
    keys: BufferedMaskKeys<fn(&mut [u8])>,
}

impl OsRandom {
    /// A source with an empty buffer: the first key makes the first call into the generator.
    pub fn new() -> OsRandom {
        OsRandom {
            keys: BufferedMaskKeys::new(fill as fn(&mut [u8])),
        }
    }
}

impl Default for OsRandom {
    fn default() -> OsRandom {
        OsRandom::new()
    }
}

impl MaskKeySource for OsRandom {
    fn next_key(&mut self) -> [u8; 4] {
        self.keys.next_key()
    }
}

impl core::fmt::Debug for OsRandom {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // The buffered keys are not shown: they are the next frames' masks.
        f.debug_struct("OsRandom").finish_non_exhaustive()
    }
}

/// A fresh 16-byte nonce for the client's `Sec-WebSocket-Key` (RFC 6455 section 4.1), from
/// the operating system's generator.
///
/// # Panics
///
/// If the operating system's generator fails (see the [module documentation](self)).
pub fn nonce() -> [u8; 16] {
    let mut nonce = [0u8; 16];
    fill(&mut nonce);
    nonce
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::collections::BTreeSet;
    use alloc::format;
    use alloc::vec::Vec;

    #[test]
    fn keys_keep_coming_across_refills_and_do_not_repeat() {
        let mut keys = OsRandom::new();
        // 64 keys per refill: three refills and a part.
        let drawn: Vec<[u8; 4]> = (0..200).map(|_| keys.next_key()).collect();
        let distinct: BTreeSet<[u8; 4]> = drawn.iter().copied().collect();
        // 200 random 32-bit keys collide with probability about 5e-6.
        assert!(distinct.len() >= 199, "{} distinct keys", distinct.len());
        // A refill draws new bytes rather than replaying the buffer.
        assert_ne!(drawn[..64], drawn[64..128]);
    }

    #[test]
    fn two_sources_draw_different_keys() {
        let (mut a, mut b) = (OsRandom::default(), OsRandom::new());
        let a: Vec<[u8; 4]> = (0..8).map(|_| a.next_key()).collect();
        let b: Vec<[u8; 4]> = (0..8).map(|_| b.next_key()).collect();
        assert_ne!(a, b);
    }

    #[test]
    fn nonces_differ() {
        let nonces: BTreeSet<[u8; 16]> = (0..32).map(|_| nonce()).collect();
        assert_eq!(nonces.len(), 32);
        assert!(!nonces.contains(&[0; 16]));
    }

    #[test]
    fn debug_shows_no_keys() {
        let mut keys = OsRandom::new();
        keys.next_key();
        assert_eq!(format!("{keys:?}"), "OsRandom { .. }");
    }

    #[test]
    fn masks_a_client_connection() {
        use crate::{Config, Connection, Instant};
        let mut client = Connection::client(Config::default(), OsRandom::new(), Instant::ZERO);
        client.send_binary(&[0; 64]).unwrap();
        let mut out = Vec::new();
        client.poll_transmit(&mut out);
        let (header, len) = crate::frame::decode_header(&out).unwrap().unwrap();
        let key = header.mask.expect("a client masks its frames");
        // The payload of zeros shows the key repeated.
        assert!(out[len..].chunks(4).all(|c| c == key));
    }
}
