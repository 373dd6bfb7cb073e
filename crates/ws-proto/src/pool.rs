//! Reusable byte buffers, so that steady traffic does not allocate per message.

use alloc::vec::Vec;

/// A bounded stack of empty byte buffers for a [`Connection`](crate::Connection) to receive
/// messages into and to queue output in, instead of allocating.
///
/// Buffers come in through [`Connection::recycle`](crate::Connection::recycle) (typically a
/// received message the application is done with, see
/// [`Message::into_bytes`](crate::Message::into_bytes)) or [`BufferPool::put`]. The pool keeps
/// them while the sum of their capacities stays within its byte limit and drops the rest, so
/// what it holds is bounded.
///
/// The byte limit counts each buffer's capacity plus its 24-byte handle, so that many tiny
/// buffers cannot hold more memory than the limit says; a pool can also limit how many buffers
/// it keeps ([`BufferPool::with_limits`]).
///
/// Each connection has a pool of its own ([`BufferPool::DEFAULT_LIMIT`] bytes). An adapter
/// that runs many connections on one thread can keep a single larger pool for all of them and
/// swap it in while it works on one connection ([`Connection::pool_mut`] with
/// [`core::mem::swap`]); then an idle connection holds no spare memory.
///
/// [`Connection::pool_mut`]: crate::Connection::pool_mut
///
/// ```
/// use ws_proto::BufferPool;
/// let mut pool = BufferPool::with_limit(1024);
/// pool.put(Vec::with_capacity(512));
/// pool.put(Vec::with_capacity(768)); // would exceed the limit: dropped
/// assert_eq!((pool.len(), pool.bytes()), (1, 512 + 24));
/// let buffer = pool.take().unwrap();
/// assert!(buffer.is_empty() && buffer.capacity() >= 512);
/// assert!(pool.take().is_none());
/// ```
#[derive(Debug, Clone)]
pub struct BufferPool {
    buffers: Vec<Vec<u8>>,
    /// Sum of the capacities of `buffers`, plus [`HANDLE`] for each.
    bytes: usize,
    limit: usize,
    max_buffers: usize,
}

/// What a kept buffer costs besides its capacity: its `Vec` handle in the pool's list.
const HANDLE: usize = core::mem::size_of::<Vec<u8>>();

impl BufferPool {
    /// The byte limit of a connection's own pool: 128 KiB.
    pub const DEFAULT_LIMIT: usize = 128 * 1024;

    /// An empty pool that keeps buffers of at most `limit` bytes in all (capacities plus
    /// handles).
    pub const fn with_limit(limit: usize) -> BufferPool {
        BufferPool::with_limits(limit, usize::MAX)
    }

    /// An empty pool that keeps at most `max_buffers` buffers of at most `limit` bytes in all.
    pub const fn with_limits(limit: usize, max_buffers: usize) -> BufferPool {
        BufferPool {
            buffers: Vec::new(),
            bytes: 0,
            limit,
            max_buffers,
        }
    }

    /// Keeps `buffer`, emptied, if it has capacity and the pool stays within its limits;
    /// otherwise drops it.
    pub fn put(&mut self, mut buffer: Vec<u8>) {
        let cost = buffer.capacity().saturating_add(HANDLE);
        if buffer.capacity() == 0
            || self.buffers.len() >= self.max_buffers
            || self.bytes.saturating_add(cost) > self.limit
        {
            return;
        }
        buffer.clear();
        self.buffers.push(buffer);
        self.bytes += cost;
    }

    /// Takes the buffer put last, if any. It is empty; its capacity is what it had.
    pub fn take(&mut self) -> Option<Vec<u8>> {
        let buffer = self.buffers.pop()?;
        self.bytes -= buffer.capacity() + HANDLE;
        Some(buffer)
    }

    /// The number of buffers kept.
    pub fn len(&self) -> usize {
        self.buffers.len()
    }

    /// Whether no buffer is kept.
    pub fn is_empty(&self) -> bool {
        self.buffers.is_empty()
    }

    /// What the buffers kept cost: their capacities plus 24 bytes each.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The byte limit.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Drops every buffer kept, and the pool's own list.
    pub fn clear(&mut self) {
        self.buffers = Vec::new();
        self.bytes = 0;
    }
}

impl Default for BufferPool {
    /// An empty pool with [`BufferPool::DEFAULT_LIMIT`].
    fn default() -> BufferPool {
        BufferPool::with_limit(BufferPool::DEFAULT_LIMIT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Whatever is put and taken, the pool's count of bytes is the sum of the capacities
        /// it holds, never above the limit, and every buffer taken is empty.
        #[test]
        fn bytes_stay_within_the_limit(
            limit in 0usize..4096,
            max_buffers in 0usize..10,
            ops in proptest::collection::vec(proptest::option::of(0usize..1500), 0..64),
        ) {
            let mut pool = BufferPool::with_limits(limit, max_buffers);
            let mut held: Vec<usize> = Vec::new();
            for op in ops {
                match op {
                    Some(capacity) => {
                        let mut buffer = Vec::with_capacity(capacity);
                        buffer.resize(capacity / 2, 7u8);
                        let real = buffer.capacity();
                        pool.put(buffer);
                        let cost = |c: &usize| c + HANDLE;
                        if real > 0
                            && held.len() < max_buffers
                            && held.iter().map(cost).sum::<usize>() + cost(&real) <= limit
                        {
                            held.push(real);
                        }
                    }
                    None => {
                        let taken = pool.take();
                        prop_assert_eq!(taken.as_ref().map(Vec::capacity), held.pop());
                        prop_assert!(taken.is_none_or(|b| b.is_empty()));
                    }
                }
                prop_assert_eq!(pool.bytes(), held.iter().map(|c| c + HANDLE).sum::<usize>());
                prop_assert_eq!(pool.len(), held.len());
                prop_assert!(pool.bytes() <= limit);
                prop_assert!(pool.len() <= max_buffers);
            }
        }
    }
}
