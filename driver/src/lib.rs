//! keepalived-driver: the event loops that run the engines against a platform, written
//! once for every host. The daemon (raw sockets, netlink, probers) and the simulator
//! (turmoil) both implement the loops' `Platform` traits and call their `run`:
//!
//! - [`vrrp`]: the VRRP engine ([`keepalived_engine::vrrp::Engine`]);
//! - [`check`]: the checker engine ([`keepalived_engine::check::CheckEngine`]);
//! - [`bfd`]: the BFD engine ([`keepalived_engine::bfd::Engine`]).
//!
//! All tell time with one [`EngineClock`] and wait on one sleep base, and each carries out
//! every output the engine still has when told to stop. Nothing here is Linux-specific or
//! simulator-specific.

pub mod bfd;
pub mod check;
mod clock;
pub mod vrrp;

use std::future::Future;

pub use clock::EngineClock;

/// What a metrics endpoint (the daemon's `--metrics`) or the SNMP sub-agent asks a loop:
/// the platform gets the engine as it stands and answers off the loop
/// (`Platform::answer`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Query {
    /// The instances, servers and counters, for `/metrics` and `/healthz`.
    Snapshot,
    /// The JSON state dump, for `/status`.
    Status,
    /// The state the SNMP MIBs show (`Engine::live`).
    Live,
}

/// An engine whose outputs a loop carries out, one at a time.
trait Outputs {
    type Output;
    fn poll_output(&mut self) -> Option<Self::Output>;
}

/// A platform that carries out outputs of type `O`.
trait Executes<O> {
    fn execute(&mut self, out: O) -> impl Future<Output = ()>;
}

/// Carries out every output `engine` has, in order: what a step produced, and on stop
/// what the engine's `Shutdown` left (addresses to remove, notifies to send).
async fn drain<E: Outputs, P: Executes<E::Output>>(engine: &mut E, platform: &mut P) {
    while let Some(out) = engine.poll_output() {
        platform.execute(out).await;
    }
}

/// Waits for `sleep` if there is one; never returns otherwise (the loop's select then
/// waits on events alone).
async fn sleep_for(sleep: Option<impl Future<Output = ()>>) {
    if let Some(s) = sleep {
        s.await;
    }
}
