//! The event loop that feeds the engine, written once for every platform: the Linux
//! daemon (raw sockets, netlink) and the simulator (turmoil) both implement [`Platform`]
//! and call [`run`]. Nothing here is Linux-specific or simulator-specific.

use std::future::Future;
use std::time::Duration;

use keepalived_engine::time::Instant;
use keepalived_engine::vrrp::{Engine, Input, Output};

/// What the world hands the loop.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Input(Input),
    /// The process stops running for this long (a scheduling stall, SIGSTOP): nothing is
    /// received, sent or timed until it resumes, as on a stalled host.
    Pause(Duration),
    /// SIGUSR2: hand the engine's statistics to the platform.
    DumpStats,
    /// SIGUSR1: the data dump.
    DumpData,
    /// SIGRTMIN+2: the state as JSON.
    DumpJson,
    /// Leave the loop (after a `Shutdown` input has been handled, or on crash).
    Stop,
}

/// A host the engine runs on.
pub trait Platform {
    /// The engine's clock now.
    fn now(&self) -> Instant;
    /// How long from now until the engine time `t` (zero if it has passed).
    fn until(&self, t: Instant) -> Duration;
    /// The next event from the world. Must be cancel-safe: the loop drops it when a timer
    /// fires first.
    fn next_event(&mut self) -> impl Future<Output = Event>;
    /// Carries out one output.
    fn execute(&mut self, out: Output) -> impl Future<Output = ()>;
    /// Waits `d`: tokio's timer by default (the simulator's clock); the daemon uses a
    /// timerfd, which wakes at the deadline rather than on the next millisecond.
    fn sleep(&self, d: Duration) -> impl Future<Output = ()> + 'static {
        tokio::time::sleep(d)
    }
    /// Writes the SIGUSR2 statistics somewhere the operator can read them.
    fn write_stats(&mut self, _text: String) {}
    /// Writes the SIGUSR1 data dump.
    fn write_data(&mut self, _text: String) {}
    /// Writes the SIGRTMIN+2 JSON state.
    fn write_json(&mut self, _text: String) {}
}

/// Runs `engine` on `platform` until an [`Event::Stop`].
pub async fn run<P: Platform>(engine: &mut Engine, platform: &mut P) {
    loop {
        while let Some(out) = engine.poll_output() {
            platform.execute(out).await;
        }
        let wait = engine
            .poll_timeout()
            .map(|t| platform.sleep(platform.until(t)));
        let timed = wait.is_some();
        // `biased`: no random branch choice, so a run depends only on its inputs and seed.
        let event = tokio::select! {
            biased;
            _ = sleep_for(wait), if timed => None,
            ev = platform.next_event() => Some(ev),
        };
        match event {
            None => engine.handle_timeout(platform.now()),
            Some(Event::Input(input)) => engine.handle_input(platform.now(), input),
            Some(Event::Pause(d)) => tokio::time::sleep(d).await,
            Some(Event::DumpStats) => platform.write_stats(engine.stats_text()),
            Some(Event::DumpData) => platform.write_data(engine.data_text()),
            Some(Event::DumpJson) => platform.write_json(engine.json_state().to_string()),
            Some(Event::Stop) => {
                while let Some(out) = engine.poll_output() {
                    platform.execute(out).await;
                }
                return;
            }
        }
    }
}

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

async fn sleep_for(sleep: Option<impl Future<Output = ()>>) {
    if let Some(s) = sleep {
        s.await;
    }
}
