//! The checker side's event loop, written once for every platform like [`crate::driver`]
//! is for VRRP: the daemon's checker child and the simulator both implement
//! [`CheckPlatform`] and call [`run`]. Nothing here is Linux-specific.

use std::fmt::Write;
use std::future::Future;
use std::time::Duration;

use keepalived_engine::check::io::{CheckInput, CheckOutput};
use keepalived_engine::check::CheckEngine;
use keepalived_engine::time::Instant;

/// What the world hands the checker loop.
#[derive(Debug, Clone, PartialEq)]
pub enum CheckEvent {
    Input(CheckInput),
    /// SIGUSR1: the checker's data dump.
    DumpData,
    /// Leave the loop (after a `Shutdown` input has been handled).
    Stop,
}

/// A host the checker engine runs on.
pub trait CheckPlatform {
    fn now(&self) -> Instant;
    fn until(&self, t: Instant) -> Duration;
    /// The next event; must be cancel-safe (a timer may fire first).
    fn next_event(&mut self) -> impl Future<Output = CheckEvent>;
    fn execute(&mut self, out: CheckOutput) -> impl Future<Output = ()>;
    /// Writes the SIGUSR1 dump somewhere the operator can read it.
    fn write_data(&mut self, _text: String) {}
    /// Called after every step, once the engine's outputs are executed, with the engine
    /// as it now stands. The daemon brings the kernel's IPVS table to the step's changes
    /// here, once per step; the simulator reads each real server's alive flag and each
    /// virtual server's quorum for its invariants.
    fn observe(&mut self, _engine: &CheckEngine) {}
}

/// Runs `engine` on `platform` until [`CheckEvent::Stop`].
pub async fn run<P: CheckPlatform>(engine: &mut CheckEngine, platform: &mut P) {
    loop {
        while let Some(out) = engine.poll_output() {
            platform.execute(out).await;
        }
        platform.observe(engine);
        let wait = engine.poll_timeout().map(|t| platform.until(t));
        // `biased`: no random branch choice, so a run depends only on its inputs and seed.
        // Events first: a probe's result that has arrived must be taken before its
        // overdue timer declares it missing, or a busy host (thousands of probes due at
        // once) turns every late wake-up into a false DOWN.
        let event = tokio::select! {
            biased;
            ev = platform.next_event() => Some(ev),
            _ = sleep_for(wait), if wait.is_some() => None,
        };
        match event {
            None => engine.handle_timeout(platform.now()),
            Some(CheckEvent::Input(input)) => engine.handle_input(platform.now(), input),
            Some(CheckEvent::DumpData) => platform.write_data(data_text(engine)),
            Some(CheckEvent::Stop) => {
                while let Some(out) = engine.poll_output() {
                    platform.execute(out).await;
                }
                platform.observe(engine);
                return;
            }
        }
    }
}

async fn sleep_for(d: Option<Duration>) {
    if let Some(d) = d {
        tokio::time::sleep(d).await;
    }
}

/// The SIGUSR1 dump of the checker side (`/tmp/keepalived_check.data`): each virtual
/// server with its quorum, each real server with its state, weight and checkers.
/// keepalived calls its format unstable; this one is meant for people.
pub fn data_text(engine: &CheckEngine) -> String {
    let mut s = String::from("------< Health checkers >------\n");
    let rss = engine.real_servers();
    for vs in engine.virtual_servers() {
        let _ = writeln!(s, " Virtual server {}", vs.label);
        let _ = writeln!(
            s,
            "   Quorum = {} (hysteresis {}), alive weight = {}, quorum {}",
            vs.quorum,
            vs.hysteresis,
            vs.alive_weight,
            if vs.quorum_up { "UP" } else { "DOWN" }
        );
        if vs.sorry_active {
            let _ = writeln!(s, "   Sorry server in use");
        }
        if vs.suspended {
            let _ = writeln!(s, "   Suspended (ha_suspend: address not on this host)");
        }
        for rs in rss.iter().filter(|r| r.virtual_server == vs.label) {
            let _ = writeln!(
                s,
                "   Real server {} {} weight {}",
                rs.label,
                if rs.alive { "UP" } else { "DOWN" },
                rs.effective_weight
            );
            for c in &rs.checkers {
                let _ = writeln!(
                    s,
                    "     {} {}{}",
                    c.kind,
                    if !c.has_run {
                        "not run yet"
                    } else if c.up {
                        "up"
                    } else {
                        "down"
                    },
                    if c.supported {
                        ""
                    } else {
                        " (not supported: counted up)"
                    }
                );
            }
        }
    }
    s
}
