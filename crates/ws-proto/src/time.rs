//! A `no_std` point in time supplied by the caller.
//!
//! The core never reads a clock. Adapters pick an epoch (for example a `std::time::Instant`
//! taken at start-up) and pass the time elapsed since it.

use core::time::Duration;

/// A point in time, as a duration since an epoch the caller chooses.
///
/// ```
/// use core::time::Duration;
/// use ws_proto::Instant;
/// let t0 = Instant::from_duration(Duration::from_secs(5));
/// let t1 = t0 + Duration::from_millis(250);
/// assert_eq!(t1.saturating_duration_since(t0), Duration::from_millis(250));
/// assert_eq!(t0.saturating_duration_since(t1), Duration::ZERO);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Instant(Duration);

impl Instant {
    /// The epoch itself.
    pub const ZERO: Instant = Instant(Duration::ZERO);

    /// The instant `since_epoch` after the epoch.
    pub const fn from_duration(since_epoch: Duration) -> Instant {
        Instant(since_epoch)
    }

    /// The time elapsed since the epoch.
    pub const fn as_duration(self) -> Duration {
        self.0
    }

    /// `self - earlier`, or zero if `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        self.0.saturating_sub(earlier.0)
    }

    /// `self + d`, saturating at the largest representable instant.
    pub fn saturating_add(self, d: Duration) -> Instant {
        Instant(self.0.saturating_add(d))
    }
}

impl core::ops::Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, d: Duration) -> Instant {
        self.saturating_add(d)
    }
}
