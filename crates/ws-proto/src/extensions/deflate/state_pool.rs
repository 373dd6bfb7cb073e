//! Compression state shared by the connections of a process.
//!
//! Without context takeover a direction needs its DEFLATE state only while a message is being
//! compressed or inflated. With `std`, the state is taken from a process-wide pool and given
//! back, reset, after the message; the pool keeps at most [`MAX_IDLE`] idle streams of each
//! kind, so what it holds is bounded whatever the number of connections or threads (an
//! adapter with a thread per connection shares it as an event loop does). Its lock is held
//! only to take or put one stream. Without `std` there is no lock to share a pool with: the
//! state is allocated for each message and freed after it.

use alloc::boxed::Box;

use zlib_rs::Deflate;

use super::codec::{DeflateKey, InflateStream};

/// The most idle deflate streams, and the most idle inflate streams, the pool keeps.
#[cfg(feature = "std")]
pub(crate) const MAX_IDLE: usize = 8;

#[cfg(feature = "std")]
mod imp {
    use super::*;
    use alloc::vec::Vec;
    use std::sync::{Mutex, PoisonError};

    // Boxed: a stream moves between a connection and the pool by pointer, not by copying its
    // decoder tables.
    #[allow(clippy::vec_box)]
    struct Pool {
        deflate: Vec<(DeflateKey, Deflate)>,
        inflate: Vec<Box<InflateStream>>,
    }

    static POOL: Mutex<Pool> = Mutex::new(Pool {
        deflate: Vec::new(),
        inflate: Vec::new(),
    });

    /// Runs `f` on the pool. A panic elsewhere while the lock was held cannot leave the pool
    /// inconsistent (each operation is one push or remove), so a poisoned lock is used as is.
    fn with<R>(f: impl FnOnce(&mut Pool) -> R) -> R {
        f(&mut POOL.lock().unwrap_or_else(PoisonError::into_inner))
    }

    pub(crate) fn take_deflate(key: DeflateKey) -> Deflate {
        let found = with(|pool| {
            let i = pool.deflate.iter().rposition(|(k, _)| *k == key)?;
            Some(pool.deflate.swap_remove(i).1)
        });
        found.unwrap_or_else(|| key.create())
    }

    pub(crate) fn put_deflate(key: DeflateKey, mut stream: Deflate) {
        stream.reset();
        with(move |pool| {
            if pool.deflate.len() >= MAX_IDLE {
                // The oldest goes: the pool follows the parameters in use now.
                pool.deflate.remove(0);
            }
            pool.deflate.push((key, stream));
        });
    }

    pub(crate) fn take_inflate(bits: u8) -> Box<InflateStream> {
        let found = with(|pool| {
            let i = pool.inflate.iter().rposition(|s| s.window_bits() == bits)?;
            Some(pool.inflate.swap_remove(i))
        });
        found.unwrap_or_else(|| Box::new(InflateStream::new(bits)))
    }

    pub(crate) fn put_inflate(mut stream: Box<InflateStream>) {
        stream.reset();
        with(move |pool| {
            if pool.inflate.len() >= MAX_IDLE {
                pool.inflate.remove(0);
            }
            pool.inflate.push(stream);
        });
    }

    /// Idle streams in the pool: (deflate, inflate).
    #[cfg(test)]
    pub(crate) fn idle() -> (usize, usize) {
        with(|pool| (pool.deflate.len(), pool.inflate.len()))
    }
}

#[cfg(not(feature = "std"))]
mod imp {
    use super::*;

    pub(crate) fn take_deflate(key: DeflateKey) -> Deflate {
        key.create()
    }

    pub(crate) fn put_deflate(_: DeflateKey, _: Deflate) {}

    pub(crate) fn take_inflate(bits: u8) -> Box<InflateStream> {
        Box::new(InflateStream::new(bits))
    }

    pub(crate) fn put_inflate(_: Box<InflateStream>) {}
}

pub(crate) use imp::*;
