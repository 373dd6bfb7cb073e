//! The deadlines of every connection of one event loop, in one binary heap.
//!
//! Each connection keeps the deadline of its one live entry (`Conn::timer_at`). A connection
//! whose next deadline moves later keeps its entry: when it fires, the connection finds
//! nothing due and schedules its new deadline (the common case: every message received pushes
//! the keepalive deadline back, at no cost here). A deadline that moves earlier pushes a new
//! entry, and the old one is skipped when it is popped (lazy invalidation). So the heap holds
//! about one entry per connection, and each operation costs O(log n).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use ws_proto::Instant;

/// A timer the application armed with [`Ctx::set_timer`](crate::Ctx::set_timer), for
/// [`Ctx::cancel_timer`](crate::Ctx::cancel_timer). Unique within its event loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TimerId(u64);

/// The application's timers of one event loop: a heap of deadlines and the live timers'
/// tokens. A cancelled timer leaves its heap entry until it is popped (or the heap is
/// rebuilt, once stale entries outnumber live ones), so the heap stays within about twice
/// the live timers.
#[derive(Debug, Default)]
pub(crate) struct AppTimers {
    heap: BinaryHeap<Reverse<(Instant, TimerId)>>,
    live: HashMap<TimerId, u64>,
    next: u64,
}

impl AppTimers {
    /// Arms a timer for `at` carrying `token`.
    pub(crate) fn set(&mut self, at: Instant, token: u64) -> TimerId {
        let id = TimerId(self.next);
        self.next += 1;
        self.heap.push(Reverse((at, id)));
        self.live.insert(id, token);
        id
    }

    /// Disarms `id`; `false` if it already fired or was cancelled.
    pub(crate) fn cancel(&mut self, id: TimerId) -> bool {
        let cancelled = self.live.remove(&id).is_some();
        if self.heap.len() > 2 * self.live.len() + 64 {
            let live = &self.live;
            self.heap.retain(|Reverse((_, id))| live.contains_key(id));
        }
        cancelled
    }

    /// The earliest live deadline (stale entries at the top are dropped on the way).
    pub(crate) fn next_deadline(&mut self) -> Option<Instant> {
        while let Some(Reverse((at, id))) = self.heap.peek() {
            if self.live.contains_key(id) {
                return Some(*at);
            }
            self.heap.pop();
        }
        None
    }

    /// Removes and returns the token of the earliest live timer due at `now`.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<u64> {
        while self.next_deadline().is_some_and(|at| at <= now) {
            let Reverse((_, id)) = self.heap.pop()?;
            if let Some(token) = self.live.remove(&id) {
                return Some(token);
            }
        }
        None
    }

    /// How many timers are armed.
    pub(crate) fn len(&self) -> usize {
        self.live.len()
    }
}

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

    #[test]
    fn app_timers_fire_in_order_once_and_not_when_cancelled() {
        let mut timers = AppTimers::default();
        let a = timers.set(at(10), 1);
        let _b = timers.set(at(30), 2);
        let c = timers.set(at(20), 3);
        assert!(timers.cancel(a));
        assert!(!timers.cancel(a));
        assert_eq!(timers.next_deadline(), Some(at(20)));
        assert_eq!(timers.pop_due(at(25)), Some(3));
        assert_eq!(timers.pop_due(at(25)), None);
        assert!(!timers.cancel(c)); // fired already
        assert_eq!(timers.pop_due(at(30)), Some(2));
        assert_eq!((timers.len(), timers.next_deadline()), (0, None));
    }

    #[test]
    fn cancelled_app_timers_do_not_pile_up() {
        let mut timers = AppTimers::default();
        for i in 0..10_000 {
            let id = timers.set(at(1_000_000 + i), i);
            timers.cancel(id);
        }
        assert!(timers.heap.len() <= 65, "{}", timers.heap.len());
        assert_eq!(timers.len(), 0);
    }
}
