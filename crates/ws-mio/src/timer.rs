//! The deadlines of every connection of one event loop, in one binary heap.
//!
//! Each connection keeps the deadline of its one live entry (`Conn::timer_at`). A connection
//! whose next deadline moves later keeps its entry: when it fires, the connection finds
//! nothing due and schedules its new deadline (the common case: every message received pushes
//! the keepalive deadline back, at no cost here). A deadline that moves earlier pushes a new
//! entry, and the old one is skipped when it is popped (lazy invalidation). So the heap holds
//! about one entry per connection, and each operation costs O(log n).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use ws_proto::Instant;

/// One scheduled wake-up of the connection in `slot`, valid while the slot still holds the
/// connection of `generation` and that connection's `timer_at` is still `at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Entry {
    pub(crate) at: Instant,
    pub(crate) slot: u32,
    pub(crate) generation: u32,
}

/// A min-heap of [`Entry`]s by deadline.
#[derive(Debug, Default)]
pub(crate) struct TimerHeap {
    heap: BinaryHeap<Reverse<Entry>>,
}

impl TimerHeap {
    pub(crate) fn push(&mut self, entry: Entry) {
        self.heap.push(Reverse(entry));
    }

    /// The earliest deadline, valid or stale.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse(e)| e.at)
    }

    /// Removes and returns the earliest entry if it is due at `now`.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<Entry> {
        match self.heap.peek() {
            Some(Reverse(e)) if e.at <= now => self.heap.pop().map(|Reverse(e)| e),
            _ => None,
        }
    }

    /// How many entries, valid or stale, are queued.
    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(ms: u64) -> Instant {
        Instant::from_duration(Duration::from_millis(ms))
    }

    #[test]
    fn entries_come_out_in_deadline_order_when_due() {
        let mut timers = TimerHeap::default();
        for (ms, slot) in [(30, 3), (10, 1), (20, 2)] {
            timers.push(Entry {
                at: at(ms),
                slot,
                generation: 0,
            });
        }
        assert_eq!(timers.next_deadline(), Some(at(10)));
        assert_eq!(timers.pop_due(at(5)), None);
        let due: Vec<u32> = std::iter::from_fn(|| timers.pop_due(at(25)))
            .map(|e| e.slot)
            .collect();
        assert_eq!(due, [1, 2]);
        assert_eq!(timers.len(), 1);
        assert_eq!(timers.next_deadline(), Some(at(30)));
    }
}
