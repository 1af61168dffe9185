//! keepalived-sim: whole keepalived-rs clusters inside turmoil, with faults, invariants
//! checked at every step, and runs reproducible from (scenario, seed).

pub(crate) mod bfd;
pub mod campaign;
pub(crate) mod checker;
pub mod fidelity;
pub(crate) mod host;
pub mod junit;
pub(crate) mod platform;
pub mod report;
pub(crate) mod rng;
pub mod run;
pub mod scenario;
pub mod timeline_svg;
pub mod world;

/// The built-in demo: three routers elect, the master crashes, the next takes over, the
/// first comes back and preempts.
pub const DEMO: &str = include_str!("../scenarios/demo.toml");
