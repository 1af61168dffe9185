//! keepalived-sim: whole keepalived-rs clusters inside turmoil, with faults, invariants
//! checked at every step, and runs reproducible from (scenario, seed).

pub(crate) mod checker;
pub(crate) mod host;
pub(crate) mod platform;
pub mod report;
pub mod run;
pub mod scenario;
pub(crate) mod world;

/// The built-in demo: three routers elect, the master crashes, the next takes over, the
/// first comes back and preempts.
pub const DEMO: &str = include_str!("../scenarios/demo.toml");
