//! Connection identifiers.

use core::fmt;

/// Identifies one connection of a [`Server`](crate::Server), on whichever event loop runs it.
///
/// Ids are cheap to copy, hash and compare, and are never reused while a program runs: once a
/// connection is gone, sending to its id fails with
/// [`Error::UnknownConnection`](crate::Error::UnknownConnection) instead of reaching a
/// newer connection in the same slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId {
    pub(crate) worker: u16,
    pub(crate) slot: u32,
    pub(crate) generation: u32,
}

impl ConnId {
    /// The index of the event loop (thread) that runs this connection, from 0.
    pub fn worker(self) -> usize {
        usize::from(self.worker)
    }
}

impl fmt::Display for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.worker, self.slot, self.generation)
    }
}
