//! The connection's timers, in one table.
//!
//! Every timer is a deadline or nothing. Timers are set from the `now` the caller passes to an
//! input or command, so a deadline is always a real instant: there is no "arm me at the next
//! call" state. [`Connection::poll_timeout`](crate::Connection::poll_timeout) reports the
//! earliest one.

use crate::time::Instant;

/// One of the connection's timers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Timer {
    /// After our Close frame: the peer's Close is due by then; on the client side, after the
    /// closing handshake, the server's end of stream.
    Close = 0,
    /// Idle time after which a keepalive Ping is sent.
    Keepalive = 1,
    /// After a keepalive Ping: the peer must have sent something by then.
    Pong = 2,
}

const COUNT: usize = 3;

/// The deadlines of every [`Timer`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct TimerTable {
    at: [Option<Instant>; COUNT],
}

impl TimerTable {
    /// Sets `timer` to fire `after` from `now`, or stops it when `after` is `None`.
    pub(crate) fn set_after(
        &mut self,
        timer: Timer,
        now: Instant,
        after: Option<core::time::Duration>,
    ) {
        self.at[timer as usize] = after.map(|d| now + d);
    }

    /// Stops `timer`.
    pub(crate) fn stop(&mut self, timer: Timer) {
        self.at[timer as usize] = None;
    }

    /// Stops every timer.
    pub(crate) fn stop_all(&mut self) {
        self.at = [None; COUNT];
    }

    /// Whether `timer` is set and due at `now`.
    pub(crate) fn expired(&self, timer: Timer, now: Instant) -> bool {
        self.at[timer as usize].is_some_and(|at| at <= now)
    }

    /// The deadline of `timer`, if it is set.
    #[cfg(test)]
    pub(crate) fn get(&self, timer: Timer) -> Option<Instant> {
        self.at[timer as usize]
    }

    /// The earliest deadline.
    pub(crate) fn next(&self) -> Option<Instant> {
        self.at.iter().flatten().min().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::time::Duration;

    fn at(ms: u64) -> Instant {
        Instant::from_duration(Duration::from_millis(ms))
    }

    #[test]
    fn the_earliest_set_timer_is_next() {
        let mut timers = TimerTable::default();
        assert_eq!(timers.next(), None);
        timers.set_after(Timer::Keepalive, at(0), Some(Duration::from_millis(30)));
        timers.set_after(Timer::Close, at(0), Some(Duration::from_millis(10)));
        assert_eq!(timers.next(), Some(at(10)));
        timers.stop(Timer::Close);
        assert_eq!(timers.next(), Some(at(30)));
        timers.set_after(Timer::Pong, at(5), Some(Duration::from_millis(1)));
        assert_eq!(timers.get(Timer::Pong), Some(at(6)));
        timers.set_after(Timer::Pong, at(5), None);
        assert_eq!(timers.get(Timer::Pong), None);
        timers.stop_all();
        assert_eq!(timers.next(), None);
    }

    #[test]
    fn a_timer_expires_at_its_deadline_not_before() {
        let mut timers = TimerTable::default();
        timers.set_after(Timer::Pong, at(0), Some(Duration::from_millis(20)));
        assert!(!timers.expired(Timer::Pong, at(19)));
        assert!(timers.expired(Timer::Pong, at(20)));
        assert!(!timers.expired(Timer::Close, at(100)));
    }
}
