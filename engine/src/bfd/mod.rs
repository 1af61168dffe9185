//! The BFD engine (RFC 5880, single-hop RFC 5881): the sessions keepalived's BFD process
//! runs (`keepalived/bfd/bfd_scheduler.c`), as a deterministic state machine with the
//! same contract as the VRRP and checker engines:
//!
//! ```text
//! let mut engine = bfd::Engine::new(&config, now, seed);
//! engine.handle_input(now, bfd::Input::Packet { .. });
//! engine.handle_timeout(now);
//! while let Some(out) = engine.poll_output() { /* open sockets, transmit, events */ }
//! let wake_at = engine.poll_timeout();
//! ```

pub mod io;

pub use io::{Input, Output, CONTROL_PORT};

use crate::config::model::Config;
use crate::time::Instant;

/// The BFD engine for one host.
#[derive(Debug, Clone)]
pub struct Engine {}

impl Engine {
    /// An engine running every `bfd_instance` of `config`; `seed` drives the transmit
    /// jitter and the local discriminators.
    pub fn new(config: &Config, now: Instant, seed: u64) -> Engine {
        let _ = (config, now, seed);
        unimplemented!("API skeleton: filled in by the BFD engine work")
    }

    pub fn handle_input(&mut self, now: Instant, input: Input) {
        let _ = (now, input);
        unimplemented!()
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        let _ = now;
        unimplemented!()
    }

    pub fn poll_output(&mut self) -> Option<Output> {
        unimplemented!()
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        unimplemented!()
    }
}
