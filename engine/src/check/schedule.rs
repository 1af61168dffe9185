//! When each checker runs: its first run (bootstrap delay plus a seeded warmup share), the
//! timer set the engine sleeps on, the watchdog on a probe that is out, and `ha_suspend`,
//! which holds a virtual server's checks while its address is not on this host.

use std::net::IpAddr;

use super::io::CheckOutput;
use super::probe::ProbeId;
use super::runtime::Loc;
use super::{CheckEngine, BOOTSTRAP_DELAY_US, PROBE_GRACE_US};
use crate::config::model::VsAddress;
use crate::time::{us, Instant};

impl CheckEngine {
    /// Gives every checker still without an id (new at startup or in a reload) its id
    /// and first run, in config order: `register_checkers_thread()`'s BOOTSTRAP_DELAY +
    /// warmup * random() / RAND_MAX.
    pub(super) fn assign_fresh(&mut self, now: Instant) {
        for v in &mut self.vss {
            for r in &mut v.rss {
                for c in &mut r.checkers {
                    if c.id != ProbeId(0) {
                        continue;
                    }
                    c.id = ProbeId(self.next_id);
                    self.next_id += 1;
                    if c.probes() {
                        let warmup = self.rng.up_to(c.cfg.schedule.warmup_us);
                        c.next_run = Some(now + us(BOOTSTRAP_DELAY_US) + us(warmup));
                    }
                }
            }
        }
    }

    /// Rebuilds the id index and the timer set from the checkers.
    pub(super) fn reindex(&mut self) {
        self.index.clear();
        self.timers.clear();
        for (vi, v) in self.vss.iter().enumerate() {
            for (ri, r) in v.rss.iter().enumerate() {
                for (ci, c) in r.checkers.iter().enumerate() {
                    self.index.insert(c.id, (vi, ri, ci));
                    if let Some(t) = c.deadline() {
                        self.timers.insert((t, c.id));
                    }
                }
            }
        }
    }

    pub(super) fn set_timer(
        &mut self,
        loc: Loc,
        next_run: Option<Instant>,
        in_flight: Option<Instant>,
    ) {
        let c = self.checker_mut(loc);
        let old = c.deadline();
        c.next_run = next_run;
        c.in_flight = in_flight;
        let (id, new) = (c.id, c.deadline());
        if let Some(t) = old {
            self.timers.remove(&(t, id));
        }
        if let Some(t) = new {
            self.timers.insert((t, id));
        }
    }

    /// The address whose presence gates this virtual server's checks: `ha_suspend` on
    /// an address virtual server (`addr_matches()` never matches groups or fwmarks).
    pub(super) fn ha_suspend_addr(&self, vi: usize) -> Option<IpAddr> {
        let v = &self.vss[vi];
        match (&v.cfg.address, v.cfg.ha_suspend) {
            (VsAddress::Ip { address, .. }, true) => Some(*address),
            _ => None,
        }
    }

    pub(super) fn suspended(&self, vi: usize) -> bool {
        self.ha_suspend_addr(vi)
            .is_some_and(|a| !self.addresses.contains(&a))
    }

    /// A checker's timer fired: probe, or while suspended look again a delay_loop later
    /// (`tcp_connect_thread()`: `if (!checker->enabled)`).
    pub(super) fn run(&mut self, now: Instant, loc: Loc) {
        let delay_loop = self.checker(loc).cfg.schedule.delay_loop_us;
        if self.suspended(loc.0) {
            self.set_timer(loc, Some(now + us(delay_loop.max(1))), None);
            return;
        }
        let spec = self.probe_spec(loc);
        let deadline = now + us(spec.timeout_us) + us(PROBE_GRACE_US);
        self.checker_mut(loc).started = now;
        self.set_timer(loc, None, Some(deadline));
        self.out.push_back(CheckOutput::StartProbe(spec));
    }
}
