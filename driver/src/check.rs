//! The checker loop, beside [`crate::vrrp`]: feeds the checker engine the probes' results
//! and signals, wakes it at its deadlines and has the platform carry out its outputs
//! (probes to start, IPVS changes, notifies). The daemon's checker child and the simulator
//! both implement [`Platform`] and call [`run`].

use std::future::Future;
use std::time::Duration;

use keepalived_engine::check::io::{CheckInput, CheckOutput};
use keepalived_engine::check::CheckEngine;
use keepalived_engine::time::Instant;
use keepalived_engine::vrrp::dump::DumpHost;

use crate::{drain, sleep_for, Executes, Outputs, Query};

/// What the world hands the checker loop.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Input(CheckInput),
    /// SIGUSR1: the checker's data dump.
    DumpData,
    /// The metrics endpoint asks: [`Platform::answer`] is given the engine.
    Query(Query),
    /// Leave the loop (after a `Shutdown` input has been handled).
    Stop,
}

/// A host the checker engine runs on.
pub trait Platform {
    fn now(&self) -> Instant;
    fn until(&self, t: Instant) -> Duration;
    /// The next event; must be cancel-safe (a timer may fire first).
    fn next_event(&mut self) -> impl Future<Output = Event>;
    fn execute(&mut self, out: CheckOutput) -> impl Future<Output = ()>;
    /// Writes the SIGUSR1 dump somewhere the operator can read it.
    fn write_data(&mut self, _text: String) {}
    /// What the dump prints that the engine cannot know (the wall clock, scripts'
    /// uid:gid): the system clock in UTC, and root for every script, by default.
    fn dump_host(&self) -> DumpHost {
        let wall = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        DumpHost {
            now: self.now(),
            wall_us: wall.as_micros() as u64,
            ..DumpHost::default()
        }
    }
    /// Answers a [`Query`] from the engine as it stands. Called on the loop: take what
    /// the answer needs and leave the rendering to whoever asked.
    fn answer(&mut self, _query: Query, _engine: &CheckEngine) {}
    /// Called after every step, once the engine's outputs are executed, with the engine
    /// as it now stands. The daemon brings the kernel's IPVS table to the step's changes
    /// here, once per step; the simulator reads each real server's alive flag and each
    /// virtual server's quorum for its invariants.
    fn observe(&mut self, _engine: &CheckEngine) {}
}

/// Runs `engine` on `platform` until [`Event::Stop`].
pub async fn run<P: Platform>(engine: &mut CheckEngine, platform: &mut P) {
    loop {
        drain(engine, platform).await;
        platform.observe(engine);
        let wait = engine
            .poll_timeout()
            .map(|t| tokio::time::sleep(platform.until(t)));
        let timed = wait.is_some();
        // `biased`: no random branch choice, so a run depends only on its inputs and seed.
        // Events first: a probe's result that has arrived must be taken before its
        // overdue timer declares it missing, or a busy host (thousands of probes due at
        // once) turns every late wake-up into a false DOWN.
        let event = tokio::select! {
            biased;
            ev = platform.next_event() => Some(ev),
            _ = sleep_for(wait), if timed => None,
        };
        match event {
            None => engine.handle_timeout(platform.now()),
            Some(Event::Input(input)) => engine.handle_input(platform.now(), input),
            Some(Event::DumpData) => platform.write_data(engine.data_text(&platform.dump_host())),
            Some(Event::Query(q)) => platform.answer(q, engine),
            Some(Event::Stop) => {
                drain(engine, platform).await;
                platform.observe(engine);
                return;
            }
        }
    }
}

impl Outputs for CheckEngine {
    type Output = CheckOutput;
    fn poll_output(&mut self) -> Option<CheckOutput> {
        CheckEngine::poll_output(self)
    }
}

impl<P: Platform> Executes<CheckOutput> for P {
    fn execute(&mut self, out: CheckOutput) -> impl Future<Output = ()> {
        Platform::execute(self, out)
    }
}
