//! The engine's clock on tokio time, shared by both loops and every platform.

use std::time::Duration;

use keepalived_engine::time::Instant;

/// The engine's clock on tokio time, for every platform: microseconds since the
/// platform started, and how long until an engine instant.
#[derive(Debug, Clone, Copy)]
pub struct EngineClock {
    start: tokio::time::Instant,
}

impl EngineClock {
    /// A clock whose zero is now.
    pub fn start() -> EngineClock {
        EngineClock {
            start: tokio::time::Instant::now(),
        }
    }

    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    pub fn now(&self) -> Instant {
        Instant::from_micros(self.elapsed().as_micros() as u64)
    }

    /// How long from now until the engine time `t` (zero if it has passed).
    pub fn until(&self, t: Instant) -> Duration {
        Duration::from_micros(t.as_micros().saturating_sub(self.now().as_micros()))
    }
}
