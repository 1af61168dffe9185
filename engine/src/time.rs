//! The engine's clock: microseconds handed in by the caller. The engine never reads a
//! clock of its own, so a run is replayable and a simulation can run faster than time.

use std::ops::{Add, Sub};
use std::time::Duration;

/// A point in time, in microseconds since an epoch the caller chooses (the daemon: its
/// start; the simulator: zero).
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct Instant(pub u64);

impl Instant {
    pub const ZERO: Instant = Instant(0);

    pub const fn from_micros(us: u64) -> Instant {
        Instant(us)
    }

    pub const fn as_micros(self) -> u64 {
        self.0
    }

    pub fn from_secs_f64(s: f64) -> Instant {
        Instant((s * 1e6) as u64)
    }

    /// Time since `earlier`, zero if `earlier` is later.
    pub fn saturating_since(self, earlier: Instant) -> Duration {
        Duration::from_micros(self.0.saturating_sub(earlier.0))
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, d: Duration) -> Instant {
        Instant(
            self.0
                .saturating_add(u64::try_from(d.as_micros()).unwrap_or(u64::MAX)),
        )
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    fn sub(self, earlier: Instant) -> Duration {
        self.saturating_since(earlier)
    }
}

impl std::fmt::Display for Instant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{:06}", self.0 / 1_000_000, self.0 % 1_000_000)
    }
}

/// Microseconds as a `Duration`: config timers are kept in µs.
pub const fn us(v: u64) -> Duration {
    Duration::from_micros(v)
}
