//! Randomness for handshake nonces and mask keys, from the operating system.

/// Fills `buf` with random bytes from the operating system's generator.
///
/// # Panics
///
/// If the operating system has no working random number generator; a client cannot mask
/// frames safely without one (RFC 6455 section 10.3).
pub(crate) fn fill(buf: &mut [u8]) {
    getrandom::fill(buf).expect("the operating system's random number generator failed");
}
