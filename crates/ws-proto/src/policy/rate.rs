//! Per-connection message rate limits: token buckets driven by the caller's time.

use core::time::Duration;

use crate::time::Instant;

/// Token-nanoseconds per token: the bucket's level is kept in these, so that refilling is
/// exact integer arithmetic.
const NANOS: i128 = 1_000_000_000;

/// A rate: `per_second` tokens added each second, at most `burst` held.
///
/// ```
/// use ws_proto::policy::Rate;
/// let rate = Rate::new(10, 20); // 10 a second on average, 20 at once after a quiet spell
/// assert_eq!((rate.per_second, rate.burst), (10, 20));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Tokens added per second.
    pub per_second: u64,
    /// The most tokens held: what can be spent at once after a quiet spell.
    pub burst: u64,
}

impl Rate {
    /// `per_second` tokens a second, at most `burst` at once.
    pub const fn new(per_second: u64, burst: u64) -> Rate {
        Rate { per_second, burst }
    }
}

/// A token bucket: starts full (`burst` tokens), gains `per_second` tokens a second up to
/// `burst`, and a take of `n` tokens succeeds only if `n` are there. Time is the caller's
/// [`Instant`] (deterministic: the same calls give the same answers); an earlier `now` than
/// the last one adds nothing.
///
/// ```
/// use core::time::Duration;
/// use ws_proto::policy::{Rate, TokenBucket};
/// use ws_proto::Instant;
///
/// let start = Instant::ZERO;
/// let mut bucket = TokenBucket::new(Rate::new(2, 4), start);
/// assert!(bucket.try_take(4, start)); // the burst
/// assert!(!bucket.try_take(1, start)); // empty
/// let later = start.saturating_add(Duration::from_millis(500));
/// assert!(bucket.try_take(1, later)); // 2 a second: one more after half a second
/// assert!(!bucket.try_take(1, later));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenBucket {
    rate: Rate,
    /// Token-nanoseconds held; negative after [`take`](Self::take) overdrew the bucket.
    level: i128,
    at: Instant,
}

impl TokenBucket {
    /// A full bucket at `now`.
    pub fn new(rate: Rate, now: Instant) -> TokenBucket {
        TokenBucket {
            rate,
            level: Self::capacity(rate),
            at: now,
        }
    }

    fn capacity(rate: Rate) -> i128 {
        i128::from(rate.burst) * NANOS
    }

    /// The rate.
    pub fn rate(&self) -> Rate {
        self.rate
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.at);
        if elapsed.is_zero() {
            return;
        }
        self.at = now;
        let cap = Self::capacity(self.rate);
        let gained = elapsed
            .as_nanos()
            .saturating_mul(u128::from(self.rate.per_second));
        let room = (cap - self.level) as u128; // the level never exceeds the capacity
        self.level = if gained >= room {
            cap
        } else {
            self.level + gained as i128
        };
    }

    /// The whole tokens held at `now` (0 while overdrawn).
    pub fn available(&mut self, now: Instant) -> u64 {
        self.refill(now);
        (self.level.max(0) / NANOS) as u64
    }

    /// Takes `n` tokens if there are that many at `now`; otherwise takes nothing and returns
    /// `false`. More than `burst` at once never succeeds.
    pub fn try_take(&mut self, n: u64, now: Instant) -> bool {
        self.refill(now);
        let cost = i128::from(n) * NANOS;
        if self.level < cost {
            return false;
        }
        self.level -= cost;
        true
    }

    /// Takes `n` tokens at `now` even if there are not that many: the bucket goes into debt,
    /// and takes fail until it has been repaid.
    pub fn take(&mut self, n: u64, now: Instant) {
        self.refill(now);
        self.level = self.level.saturating_sub(i128::from(n) * NANOS);
    }

    /// How long from the last time given until `n` tokens are there (`None` if never: more
    /// than the burst, or no refill).
    pub fn time_until(&self, n: u64) -> Option<Duration> {
        let missing = i128::from(n) * NANOS - self.level;
        if missing <= 0 {
            return Some(Duration::ZERO);
        }
        if n > self.rate.burst || self.rate.per_second == 0 {
            return None;
        }
        let nanos = (missing as u128).div_ceil(u128::from(self.rate.per_second));
        Some(Duration::from_nanos(
            u64::try_from(nanos).unwrap_or(u64::MAX),
        ))
    }
}

/// What happens to a message over a [`RateLimit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum RateAction {
    /// The message is discarded: the application never sees it, and the connection goes on.
    /// It takes no tokens.
    Drop,
    /// The connection is failed with 1008 (policy violation) and
    /// [`ProtocolError::RateLimited`](crate::ProtocolError::RateLimited); the messages
    /// received before it are still delivered.
    #[default]
    Close,
}

/// A per-connection limit on the messages a peer sends: a token bucket of messages, one of
/// payload bytes, or both (a message must fit in both), and what to do with a message that
/// does not fit. Set it in [`Config::rate_limit`](crate::Config::rate_limit); the
/// [`Connection`](crate::Connection) applies it to every data message it receives, at the
/// time passed to `receive_data`. Control frames are not counted (Pongs are bounded by
/// backpressure, and Pings by the keepalive).
///
/// Bytes are those delivered (after permessage-deflate). In
/// [`MessageMode::Stream`](crate::MessageMode::Stream) a message is admitted or refused at
/// its first chunk, on that chunk's bytes; the bytes of its later chunks are taken as they
/// arrive even beyond what the bucket holds, so the messages after a large one wait until
/// the debt is repaid. A message larger than the byte burst is always refused in
/// [`MessageMode::Reassemble`](crate::MessageMode::Reassemble).
///
/// What it bounds: the rate of messages (and bytes) the application is handed per
/// connection, so that one peer cannot flood a broadcast or a handler; with
/// [`RateAction::Close`], also how long such a peer stays.
///
/// ```
/// use ws_proto::policy::{RateAction, RateLimit};
/// use ws_proto::Config;
///
/// let mut config = Config::default();
/// // 20 messages a second with bursts of 40, and 64 KiB a second with bursts of 256 KiB:
/// // beyond either, the message is dropped.
/// config.rate_limit = Some(
///     RateLimit::messages(20, 40)
///         .with_bytes(64 << 10, 256 << 10)
///         .with_action(RateAction::Drop),
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimit {
    /// Messages per second and burst.
    pub messages: Option<Rate>,
    /// Payload bytes per second and burst.
    pub bytes: Option<Rate>,
    /// What happens to a message over the limit. Default: [`RateAction::Close`].
    pub action: RateAction,
}

impl RateLimit {
    /// At most `per_second` messages a second, `burst` at once; over it, close with 1008.
    pub fn messages(per_second: u64, burst: u64) -> RateLimit {
        RateLimit {
            messages: Some(Rate::new(per_second, burst)),
            bytes: None,
            action: RateAction::Close,
        }
    }

    /// At most `per_second` payload bytes a second, `burst` at once; over it, close with
    /// 1008.
    pub fn bytes(per_second: u64, burst: u64) -> RateLimit {
        RateLimit {
            messages: None,
            bytes: Some(Rate::new(per_second, burst)),
            action: RateAction::Close,
        }
    }

    /// Returns the limit with a byte rate as well.
    pub fn with_bytes(mut self, per_second: u64, burst: u64) -> RateLimit {
        self.bytes = Some(Rate::new(per_second, burst));
        self
    }

    /// Returns the limit with a message rate as well.
    pub fn with_messages(mut self, per_second: u64, burst: u64) -> RateLimit {
        self.messages = Some(Rate::new(per_second, burst));
        self
    }

    /// Returns the limit with `action` for messages over it.
    pub fn with_action(mut self, action: RateAction) -> RateLimit {
        self.action = action;
        self
    }
}

/// The decision of a [`RateLimiter`] on a message or chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Hand it to the application.
    Deliver,
    /// Discard it ([`RateAction::Drop`]).
    Drop,
    /// Fail the connection with 1008 ([`RateAction::Close`]).
    Close,
}

/// A [`RateLimit`] applied to one connection: its buckets, and (stream mode) whether the
/// message in progress was admitted. The [`Connection`](crate::Connection) keeps one when
/// [`Config::rate_limit`](crate::Config::rate_limit) is set.
///
/// ```
/// use ws_proto::policy::{RateLimit, RateLimiter, Verdict};
/// use ws_proto::Instant;
/// let mut limiter = RateLimiter::new(RateLimit::messages(1, 2), Instant::ZERO);
/// assert_eq!(limiter.message(10, Instant::ZERO), Verdict::Deliver);
/// assert_eq!(limiter.message(10, Instant::ZERO), Verdict::Deliver);
/// assert_eq!(limiter.message(10, Instant::ZERO), Verdict::Close);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimiter {
    action: RateAction,
    messages: Option<TokenBucket>,
    bytes: Option<TokenBucket>,
    /// Stream mode: the verdict on the message in progress, from its first chunk.
    current: Option<Verdict>,
}

impl RateLimiter {
    /// The limiter of a connection that starts at `now`, with full buckets.
    pub fn new(limit: RateLimit, now: Instant) -> RateLimiter {
        RateLimiter {
            action: limit.action,
            messages: limit.messages.map(|rate| TokenBucket::new(rate, now)),
            bytes: limit.bytes.map(|rate| TokenBucket::new(rate, now)),
            current: None,
        }
    }

    fn refused(&self) -> Verdict {
        match self.action {
            RateAction::Drop => Verdict::Drop,
            RateAction::Close => Verdict::Close,
        }
    }

    /// A whole message of `bytes` payload bytes arrived at `now`: it takes a message token and
    /// `bytes` byte tokens if both buckets have them, and nothing otherwise.
    pub fn message(&mut self, bytes: u64, now: Instant) -> Verdict {
        let fits = |bucket: &mut Option<TokenBucket>, n: u64| {
            bucket.as_mut().is_none_or(|b| b.available(now) >= n)
        };
        if !(fits(&mut self.messages, 1) && fits(&mut self.bytes, bytes)) {
            return self.refused();
        }
        if let Some(bucket) = &mut self.messages {
            bucket.take(1, now);
        }
        if let Some(bucket) = &mut self.bytes {
            bucket.take(bytes, now);
        }
        Verdict::Deliver
    }

    /// A chunk of a streamed message arrived at `now`: the first decides for the whole
    /// message as [`message`](Self::message) does with its `bytes`; later chunks of an
    /// admitted message take their bytes even into debt, those of a dropped one are dropped.
    pub fn chunk(&mut self, first: bool, last: bool, bytes: u64, now: Instant) -> Verdict {
        let verdict = match self.current {
            Some(verdict) if !first => {
                if verdict == Verdict::Deliver {
                    if let Some(bucket) = &mut self.bytes {
                        bucket.take(bytes, now);
                    }
                }
                verdict
            }
            _ => self.message(bytes, now),
        };
        self.current = (!last).then_some(verdict);
        verdict
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(millis: u64) -> Instant {
        Instant::from_duration(Duration::from_millis(millis))
    }

    #[test]
    fn refills_at_the_rate_up_to_the_burst() {
        let mut bucket = TokenBucket::new(Rate::new(10, 5), at(0));
        assert_eq!(bucket.available(at(0)), 5);
        assert!(bucket.try_take(5, at(0)));
        assert_eq!(bucket.available(at(99)), 0);
        assert_eq!(bucket.available(at(100)), 1);
        assert_eq!(bucket.available(at(10_000)), 5);
        assert!(!bucket.try_take(6, at(20_000)));
        assert_eq!(bucket.time_until(6), None);
    }

    #[test]
    fn time_going_back_adds_nothing() {
        let mut bucket = TokenBucket::new(Rate::new(1, 1), at(5_000));
        assert!(bucket.try_take(1, at(5_000)));
        assert!(!bucket.try_take(1, at(0)));
        assert!(!bucket.try_take(1, at(5_999)));
        assert!(bucket.try_take(1, at(6_000)));
    }

    #[test]
    fn debt_is_repaid_before_tokens_are_given_again() {
        let mut bucket = TokenBucket::new(Rate::new(1000, 1000), at(0));
        bucket.take(3000, at(0));
        assert_eq!(bucket.available(at(1_999)), 0);
        // From the last time given (1.999 s), 2 ms more.
        assert_eq!(bucket.time_until(1), Some(Duration::from_millis(2)));
        assert!(bucket.try_take(1, at(2_001)));
    }

    #[test]
    fn huge_rates_and_times_do_not_overflow() {
        let mut bucket = TokenBucket::new(Rate::new(u64::MAX, u64::MAX), at(0));
        assert!(bucket.try_take(u64::MAX, at(0)));
        let far = Instant::from_duration(Duration::MAX);
        assert_eq!(bucket.available(far), u64::MAX);
        bucket.take(u64::MAX, far);
        bucket.take(u64::MAX, far);
        assert_eq!(bucket.available(far), 0);
    }

    #[test]
    fn a_message_needs_room_in_both_buckets_and_a_refusal_takes_nothing() {
        let limit = RateLimit::messages(1, 3).with_bytes(100, 100);
        let mut limiter = RateLimiter::new(limit.with_action(RateAction::Drop), at(0));
        assert_eq!(limiter.message(60, at(0)), Verdict::Deliver);
        assert_eq!(limiter.message(60, at(0)), Verdict::Drop); // bytes
        assert_eq!(limiter.message(40, at(0)), Verdict::Deliver);
        assert_eq!(limiter.message(0, at(0)), Verdict::Deliver);
        assert_eq!(limiter.message(0, at(0)), Verdict::Drop); // messages
        assert_eq!(limiter.message(0, at(1000)), Verdict::Deliver);
    }

    #[test]
    fn stream_mode_decides_at_the_first_chunk() {
        let mut limiter = RateLimiter::new(RateLimit::bytes(10, 10), at(0));
        assert_eq!(limiter.chunk(true, false, 5, at(0)), Verdict::Deliver);
        // Later chunks of an admitted message go through, into debt.
        assert_eq!(limiter.chunk(false, false, 20, at(0)), Verdict::Deliver);
        assert_eq!(limiter.chunk(false, true, 5, at(0)), Verdict::Deliver);
        assert_eq!(limiter.chunk(true, true, 1, at(1000)), Verdict::Close);
        assert_eq!(limiter.chunk(true, true, 1, at(2100)), Verdict::Deliver);

        let drop = RateLimit::messages(1, 1).with_action(RateAction::Drop);
        let mut limiter = RateLimiter::new(drop, at(0));
        assert_eq!(limiter.chunk(true, true, 1, at(0)), Verdict::Deliver);
        assert_eq!(limiter.chunk(true, false, 1, at(0)), Verdict::Drop);
        // The whole refused message is dropped, even once tokens are back.
        assert_eq!(limiter.chunk(false, false, 1, at(5000)), Verdict::Drop);
        assert_eq!(limiter.chunk(false, true, 1, at(5000)), Verdict::Drop);
        assert_eq!(limiter.chunk(true, true, 1, at(5000)), Verdict::Deliver);
    }

    proptest! {
        /// Whatever the sequence of takes, what was admitted never exceeds the burst plus
        /// what the rate added over the time elapsed.
        #[test]
        fn never_admits_more_than_burst_plus_refill(
            per_second in 0u64..10_000,
            burst in 0u64..10_000,
            steps in proptest::collection::vec((0u64..2_000_000_000, 0u64..2_000), 1..64),
        ) {
            let mut bucket = TokenBucket::new(Rate::new(per_second, burst), Instant::ZERO);
            let (mut nanos, mut admitted) = (0u64, 0u128);
            for (advance, n) in steps {
                nanos += advance;
                let now = Instant::from_duration(Duration::from_nanos(nanos));
                if bucket.try_take(n, now) {
                    admitted += u128::from(n);
                }
                let bound = u128::from(burst)
                    + u128::from(nanos) * u128::from(per_second) / 1_000_000_000;
                prop_assert!(admitted <= bound, "admitted {} > bound {}", admitted, bound);
            }
        }

        /// A limiter of messages and bytes delivers, over any arrivals, no more messages and no
        /// more bytes than either bucket allows, and with `Drop` never closes.
        #[test]
        fn a_limiter_bounds_messages_and_bytes_together(
            messages in (0u64..100, 0u64..100),
            bytes in (0u64..10_000, 0u64..10_000),
            arrivals in proptest::collection::vec((0u64..100_000_000, 0u64..3_000), 1..64),
        ) {
            let limit = RateLimit::messages(messages.0, messages.1)
                .with_bytes(bytes.0, bytes.1)
                .with_action(RateAction::Drop);
            let mut limiter = RateLimiter::new(limit, Instant::ZERO);
            let (mut nanos, mut count, mut total) = (0u64, 0u128, 0u128);
            for (advance, size) in arrivals {
                nanos += advance;
                let now = Instant::from_duration(Duration::from_nanos(nanos));
                match limiter.message(size, now) {
                    Verdict::Deliver => {
                        count += 1;
                        total += u128::from(size);
                    }
                    Verdict::Drop => {}
                    Verdict::Close => prop_assert!(false, "Drop never closes"),
                }
                let refill = |rate: (u64, u64)| {
                    u128::from(rate.1) + u128::from(nanos) * u128::from(rate.0) / 1_000_000_000
                };
                prop_assert!(count <= refill(messages));
                prop_assert!(total <= refill(bytes));
            }
        }

        /// A refused take changes nothing, and an admitted one removes exactly its tokens.
        #[test]
        fn takes_are_exact(
            per_second in 0u64..1_000,
            burst in 0u64..1_000,
            steps in proptest::collection::vec((0u64..500, 0u64..1_200), 1..64),
        ) {
            let mut bucket = TokenBucket::new(Rate::new(per_second, burst), Instant::ZERO);
            let mut millis = 0;
            for (advance, n) in steps {
                millis += advance;
                let now = at(millis);
                let before = bucket.available(now);
                let taken = bucket.try_take(n, now);
                prop_assert_eq!(taken, n <= before);
                let after = bucket.available(now);
                prop_assert_eq!(after, if taken { before - n } else { before });
            }
        }

        /// After a quiet spell as long as the burst takes to refill, the bucket is full again,
        /// whatever happened before (debt included, once repaid).
        #[test]
        fn refills_completely_after_a_quiet_spell(
            per_second in 1u64..1_000,
            burst in 1u64..1_000,
            steps in proptest::collection::vec((0u64..500, 0u64..1_200, any::<bool>()), 0..32),
        ) {
            let mut bucket = TokenBucket::new(Rate::new(per_second, burst), Instant::ZERO);
            let mut millis = 0;
            for (advance, n, force) in steps {
                millis += advance;
                if force { bucket.take(n, at(millis)) } else { let _ = bucket.try_take(n, at(millis)); }
            }
            let wait = bucket.time_until(burst).expect("within the burst, with a refill");
            let later = at(millis).saturating_add(wait);
            prop_assert_eq!(bucket.available(later), burst);
            prop_assert!(bucket.try_take(burst, later));
        }
    }
}
