//! Reconnection delays: exponential backoff with jitter and a cap, and when to give up.
//!
//! Deterministic: the caller passes the time ([`Instant`]) and the randomness (a `u32`) in,
//! so adapters share one implementation and tests know every delay.
//!
//! ```
//! use core::time::Duration;
//! use ws_proto::backoff::{Backoff, Retry};
//! use ws_proto::Instant;
//!
//! let policy = Backoff {
//!     initial: Duration::from_millis(100),
//!     max: Duration::from_secs(1),
//!     jitter: 0.0,
//!     max_attempts: Some(6),
//!     ..Backoff::default()
//! };
//! let mut retry = Retry::new(policy);
//! let delays: Vec<_> = (0..6).map(|_| retry.failed(Instant::ZERO, 0)).collect();
//! let ms = |n| Some(Duration::from_millis(n));
//! assert_eq!(delays, [ms(100), ms(200), ms(400), ms(800), ms(1000), None]);
//! assert!(retry.gave_up());
//! ```

use core::time::Duration;

use crate::Instant;

/// A reconnection policy. The delay before retry `n` (after the `n`-th failure in a row) is
/// `initial * multiplier^(n-1)`, at most `max`, then lowered by up to `jitter` of itself
/// (so that clients cut off together do not come back together).
#[derive(Debug, Clone, PartialEq)]
pub struct Backoff {
    /// The delay after the first failure. Default: 100 ms.
    pub initial: Duration,
    /// The cap on the delay. Default: 30 s.
    pub max: Duration,
    /// The growth per failure. Default: 2.
    pub multiplier: u32,
    /// The fraction of a delay that is random, in `0.0..=1.0` (out-of-range values are
    /// clamped): 0.5 waits between half the delay and all of it. Default: 0.5.
    pub jitter: f64,
    /// Give up after this many failed attempts in a row. Default: `None` (never).
    pub max_attempts: Option<u32>,
    /// Give up once this much time has passed since the first failure in a row; the last
    /// delay is shortened to end there. Default: `None` (never).
    pub max_elapsed: Option<Duration>,
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(30),
            multiplier: 2,
            jitter: 0.5,
            max_attempts: None,
            max_elapsed: None,
        }
    }
}

impl Backoff {
    /// The delay after `failures` failures in a row (at least 1), for the random number
    /// `random` (uniform over `u32`).
    pub fn delay(&self, failures: u32, random: u32) -> Duration {
        let mut base = self.initial.min(self.max);
        for _ in 1..failures {
            if base >= self.max {
                break;
            }
            base = base
                .checked_mul(self.multiplier.max(1))
                .unwrap_or(self.max)
                .min(self.max);
        }
        // The jitter in millionths, then the part of `base` it takes for `random`, in integer
        // nanoseconds (no float overflows or rounding above `base`).
        let ppm: u128 = if self.jitter.is_nan() {
            0
        } else {
            (self.jitter.clamp(0.0, 1.0) * 1e6) as u128
        };
        let nanos = base.as_nanos();
        let cut = ((nanos * u128::from(random)) >> 32) * ppm / 1_000_000;
        base.saturating_sub(from_nanos(cut))
    }
}

/// A `Duration` of `nanos` nanoseconds (at most `Duration::MAX`).
fn from_nanos(nanos: u128) -> Duration {
    const NANOS_PER_SEC: u128 = 1_000_000_000;
    match u64::try_from(nanos / NANOS_PER_SEC) {
        Ok(secs) => Duration::new(secs, (nanos % NANOS_PER_SEC) as u32),
        Err(_) => Duration::MAX,
    }
}

/// The state of a run of reconnection attempts under a [`Backoff`].
#[derive(Debug, Clone)]
pub struct Retry {
    policy: Backoff,
    failures: u32,
    /// 1 when the run began with [`lost`](Retry::lost) (its delay was the first), else 0.
    offset: u32,
    /// When the first failure of the current run happened.
    since: Option<Instant>,
    gave_up: bool,
}

impl Retry {
    /// No failure yet.
    pub fn new(policy: Backoff) -> Retry {
        Retry {
            policy,
            failures: 0,
            offset: 0,
            since: None,
            gave_up: false,
        }
    }

    /// The policy.
    pub fn policy(&self) -> &Backoff {
        &self.policy
    }

    /// An open connection was lost at `now`: the delay before the first attempt to reconnect
    /// (the policy's first delay). This starts a run but is not a failed attempt: the
    /// attempts of [`Backoff::max_attempts`] are those that follow. `None` once given up.
    pub fn lost(&mut self, now: Instant, random: u32) -> Option<Duration> {
        if self.gave_up {
            return None;
        }
        self.failures = 0;
        self.offset = 1;
        self.since = Some(now);
        Some(self.policy.delay(1, random))
    }

    /// An attempt to connect failed at `now`: the delay before the next attempt, or
    /// `None` to give up (the attempts or the time of the policy are used up; from then on
    /// always `None`). `random` is uniform over `u32`.
    pub fn failed(&mut self, now: Instant, random: u32) -> Option<Duration> {
        if self.gave_up {
            return None;
        }
        let since = *self.since.get_or_insert(now);
        self.failures = self.failures.saturating_add(1);
        if self
            .policy
            .max_attempts
            .is_some_and(|max| self.failures >= max)
        {
            self.gave_up = true;
            return None;
        }
        let mut delay = self
            .policy
            .delay(self.failures.saturating_add(self.offset), random);
        if let Some(max) = self.policy.max_elapsed {
            let left = max.saturating_sub(now.saturating_duration_since(since));
            if left.is_zero() {
                self.gave_up = true;
                return None;
            }
            delay = delay.min(left);
        }
        Some(delay)
    }

    /// A connection succeeded: the next failure starts a new run.
    pub fn succeeded(&mut self) {
        self.failures = 0;
        self.offset = 0;
        self.since = None;
    }

    /// The failures in a row so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// How long the current run of failures has lasted at `now` (zero without one).
    pub fn elapsed(&self, now: Instant) -> Duration {
        self.since
            .map_or(Duration::ZERO, |s| now.saturating_duration_since(s))
    }

    /// Whether [`failed`](Self::failed) has returned `None`.
    pub fn gave_up(&self) -> bool {
        self.gave_up
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn at(n: u64) -> Instant {
        Instant::from_duration(ms(n))
    }

    #[test]
    fn jitter_lowers_the_delay_by_at_most_its_fraction() {
        let policy = Backoff::default();
        assert_eq!(policy.delay(1, 0), ms(100));
        assert_eq!(policy.delay(1, u32::MAX / 2 + 1), ms(75));
        assert!(policy.delay(1, u32::MAX) > ms(50));
        assert_eq!(policy.delay(40, 0), Duration::from_secs(30));
        let full = Backoff {
            jitter: 7.0,
            ..Backoff::default()
        };
        assert!(full.delay(1, u32::MAX) < ms(1));
        let none = Backoff {
            jitter: f64::NAN,
            ..Backoff::default()
        };
        assert_eq!(none.delay(2, u32::MAX), ms(200));
    }

    #[test]
    fn max_elapsed_shortens_the_last_delay_then_gives_up() {
        let mut retry = Retry::new(Backoff {
            jitter: 0.0,
            max_elapsed: Some(ms(250)),
            ..Backoff::default()
        });
        assert_eq!(retry.failed(at(1000), 0), Some(ms(100)));
        assert_eq!(retry.failed(at(1100), 0), Some(ms(150)));
        assert_eq!(retry.elapsed(at(1250)), ms(250));
        assert_eq!(retry.failed(at(1250), 0), None);
        assert!(retry.gave_up());
        retry.succeeded();
        assert_eq!(retry.failed(at(2000), 0), None, "giving up is the end");
    }

    #[test]
    fn success_starts_a_new_run() {
        let mut retry = Retry::new(Backoff {
            jitter: 0.0,
            max_attempts: Some(3),
            ..Backoff::default()
        });
        assert_eq!(retry.failed(at(0), 0), Some(ms(100)));
        assert_eq!(retry.failed(at(100), 0), Some(ms(200)));
        retry.succeeded();
        assert_eq!(
            (retry.failures(), retry.elapsed(at(500))),
            (0, Duration::ZERO)
        );
        assert_eq!(retry.failed(at(500), 0), Some(ms(100)));
        assert_eq!(retry.failed(at(600), 0), Some(ms(200)));
        assert_eq!(retry.failed(at(800), 0), None);
        assert_eq!(retry.failures(), 3);
    }

    #[test]
    fn a_lost_connection_waits_once_and_is_not_an_attempt() {
        let mut retry = Retry::new(Backoff {
            jitter: 0.0,
            max_attempts: Some(2),
            ..Backoff::default()
        });
        assert_eq!(retry.lost(at(0), 0), Some(ms(100)));
        assert_eq!(retry.failures(), 0);
        assert_eq!(retry.failed(at(100), 0), Some(ms(200)));
        assert_eq!(retry.failed(at(300), 0), None);
        assert_eq!(retry.elapsed(at(300)), ms(300));
        assert_eq!(retry.lost(at(400), 0), None);
    }

    #[test]
    fn extreme_policies_do_not_overflow() {
        let policy = Backoff {
            initial: Duration::MAX,
            max: Duration::MAX,
            multiplier: u32::MAX,
            ..Backoff::default()
        };
        assert_eq!(policy.delay(u32::MAX, 0), Duration::MAX);
        let zero = Backoff {
            initial: Duration::ZERO,
            multiplier: 0,
            ..Backoff::default()
        };
        assert_eq!(zero.delay(5, 123), Duration::ZERO);
    }

    proptest! {
        #[test]
        fn delays_grow_until_the_cap_and_jitter_stays_in_range(
            initial in 0u64..10_000,
            max in 0u64..100_000,
            multiplier in 0u32..10,
            jitter in 0.0f64..=1.0,
            failures in 1u32..64,
            random in any::<u32>(),
        ) {
            let policy = Backoff { initial: ms(initial), max: ms(max), multiplier, jitter, ..Backoff::default() };
            let plain = Backoff { jitter: 0.0, ..policy.clone() };
            let base = plain.delay(failures, random);
            prop_assert!(base <= ms(max));
            prop_assert!(plain.delay(failures + 1, 0) >= base);
            let d = policy.delay(failures, random);
            prop_assert!(d <= base);
            prop_assert!(d >= base.mul_f64(1.0 - jitter) - Duration::from_nanos(1));
        }

        #[test]
        fn a_run_never_outlasts_its_limits(
            max_attempts in 1u32..20,
            max_elapsed in 1u64..5_000,
            randoms in proptest::collection::vec(any::<u32>(), 20),
        ) {
            let mut retry = Retry::new(Backoff {
                max_attempts: Some(max_attempts),
                max_elapsed: Some(ms(max_elapsed)),
                ..Backoff::default()
            });
            let mut now = Duration::ZERO;
            let mut attempts = 0;
            for r in randoms {
                attempts += 1;
                match retry.failed(Instant::from_duration(now), r) {
                    Some(d) => now += d,
                    None => break,
                }
            }
            prop_assert!(retry.gave_up() || attempts == 20);
            prop_assert!(attempts <= max_attempts);
            prop_assert!(now <= ms(max_elapsed));
        }
    }
}
