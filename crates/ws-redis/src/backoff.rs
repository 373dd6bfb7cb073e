//! Reconnection delays: doubling from a floor to a cap, each drawn at random in its upper
//! half (jitter), so that processes that lost Redis together do not reconnect in step.

use std::time::Duration;

/// The delays before each reconnection attempt of one outage.
#[derive(Debug)]
pub(crate) struct Backoff {
    min: Duration,
    max: Duration,
    attempt: u32,
    state: u64,
}

impl Backoff {
    /// Delays from `min` up to `max` (`max` is raised to `min` if below it).
    pub(crate) fn new(min: Duration, max: Duration) -> Backoff {
        let mut seed = [0u8; 8];
        // Without the OS generator, a fixed odd seed: the jitter is then the same in every
        // process, which is worse but still bounded.
        let _ = getrandom::fill(&mut seed);
        Backoff {
            min,
            max: max.max(min),
            attempt: 0,
            state: u64::from_le_bytes(seed) | 1,
        }
    }

    /// The next delay: between half and all of `min * 2^attempt`, capped at `max`.
    pub(crate) fn next_delay(&mut self) -> Duration {
        let ceiling = self
            .min
            .saturating_mul(1u32 << self.attempt.min(20))
            .min(self.max);
        self.attempt = self.attempt.saturating_add(1);
        let half = ceiling / 2;
        let span = u64::try_from((ceiling - half).as_micros()).unwrap_or(u64::MAX);
        half + Duration::from_micros(self.random() % span.saturating_add(1))
    }

    /// Connected again: the next outage starts from `min`.
    pub(crate) fn reset(&mut self) {
        self.attempt = 0;
    }

    /// xorshift64: jitter needs no more.
    fn random(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.state = x;
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_within_their_jitter_and_stop_at_the_cap() {
        let min = Duration::from_millis(100);
        let max = Duration::from_secs(2);
        let mut backoff = Backoff::new(min, max);
        let mut ceiling = min;
        for _ in 0..40 {
            let delay = backoff.next_delay();
            assert!(
                delay >= ceiling / 2 && delay <= ceiling,
                "{delay:?} for {ceiling:?}"
            );
            ceiling = (ceiling * 2).min(max);
        }
        backoff.reset();
        assert!(backoff.next_delay() <= min);
    }

    #[test]
    fn delays_are_jittered() {
        let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(1));
        let delays: std::collections::HashSet<Duration> =
            (0..20).map(|_| backoff.next_delay()).collect();
        assert!(delays.len() > 10, "{delays:?}");
    }
}
