//! What the engine counts beyond keepalived's statistics ([`Telemetry`]), and the view
//! of every instance a metrics endpoint renders ([`Snapshot`], [`Engine::snapshot`]).
//!
//! keepalived's counters ([`super::stats::Stats`]) are what its SIGUSR2 dump and the
//! Prometheus exporters show; they are cleared by STATS_CLEAR. Telemetry is never
//! cleared: it is the instance's history since it was configured, and a metrics scraper
//! sees its counters only grow.

use std::collections::BTreeMap;

use crate::time::Instant;

use super::dump::state_number;
use super::io::State;
use super::receive::Reason;
use super::stats::Stats;
use super::Engine;

/// The states an instance can be in, in [`state_number`]'s order, for the arrays below.
pub const STATES: [State; 5] = [
    State::Init,
    State::Backup,
    State::Master,
    State::Fault,
    State::Stop,
];

fn slot(s: State) -> usize {
    STATES.iter().position(|&x| x == s).unwrap_or(0)
}

/// One instance's history. It survives a reload that keeps the instance, as its
/// statistics do (`restore_vrrp_state()`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Telemetry {
    /// Transitions into each state, by [`STATES`] index.
    pub entered: [u64; 5],
    /// Microseconds spent in each state before the current one was entered.
    pub spent_us: [u64; 5],
    /// When the current state was entered; `None` for the state the instance was created
    /// in, whose time is not counted.
    pub since: Option<Instant>,
    /// Adverts refused, by [`Reason::kind`].
    pub rejected: BTreeMap<String, u64>,
    /// Adverts accepted with a logged note, by [`Reason::kind`].
    pub noted: BTreeMap<String, u64>,
}

impl Telemetry {
    /// The instance leaves `from` for `to` at `now`.
    pub fn transition(&mut self, from: State, to: State, now: Instant) {
        if let Some(since) = self.since {
            self.spent_us[slot(from)] += now.0.saturating_sub(since.0);
        }
        self.entered[slot(to)] += 1;
        self.since = Some(now);
    }

    pub fn reject(&mut self, reason: &Reason) {
        bump(&mut self.rejected, reason.kind());
    }

    pub fn note(&mut self, reason: &Reason) {
        bump(&mut self.noted, reason.kind());
    }
}

/// Counts one more under `key`, allocating the key only the first time.
fn bump(map: &mut BTreeMap<String, u64>, key: &str) {
    match map.get_mut(key) {
        Some(n) => *n += 1,
        None => {
            map.insert(key.to_string(), 1);
        }
    }
}

/// Every instance and tracked script as a metrics endpoint shows them.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Snapshot {
    pub instances: Vec<InstanceView>,
    pub scripts: Vec<ScriptView>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct InstanceView {
    pub name: String,
    /// Where its VIPs go (keepalived's `ifp_ifname` in the JSON dump).
    pub interface: String,
    pub vrid: u8,
    /// keepalived's number for the state: 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT.
    pub state: u8,
    pub effective_priority: u8,
    /// `garp_master_delay`, whole seconds (the exporter's `garp_delay`).
    pub garp_delay_s: u64,
    pub vips: Vec<VipView>,
    pub excluded_vips: Vec<VipView>,
    pub stats: Stats,
    /// Its history, the current state's time so far included in `spent_us`.
    pub telemetry: Telemetry,
    /// Microseconds in the current state so far (0 in the state it was created in).
    pub in_state_us: u64,
}

/// A virtual address as the exporter labels it: `10.0.0.1/24`, and its interface.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct VipView {
    pub address: String,
    pub interface: String,
}

/// A `vrrp_script` as keepalived.data's script section shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ScriptView {
    pub name: String,
    /// `Status = GOOD` (else BAD).
    pub good: bool,
    /// `State = running` (else idle).
    pub running: bool,
}

impl Snapshot {
    /// Every instance has left INIT: it is BACKUP, MASTER or FAULT (or stopping).
    pub fn settled(&self) -> bool {
        self.instances
            .iter()
            .all(|i| i.state != state_number(State::Init))
    }
}

impl Engine {
    /// The instances and scripts as they stand at `now`.
    pub fn snapshot(&self, now: Instant) -> Snapshot {
        let instances = self
            .instances
            .iter()
            .map(|i| {
                let dev = i.vip_interface();
                let vip = |a: &crate::config::model::IpAddress| VipView {
                    address: format!("{}/{}", a.address, a.prefix_len),
                    interface: a.dev.clone().unwrap_or_else(|| dev.to_string()),
                };
                let mut telemetry = i.telemetry.clone();
                let in_state_us = i
                    .telemetry
                    .since
                    .map(|t| now.0.saturating_sub(t.0))
                    .unwrap_or(0);
                telemetry.spent_us[slot(i.state)] += in_state_us;
                InstanceView {
                    name: i.name().to_string(),
                    interface: dev.to_string(),
                    vrid: i.vrid(),
                    state: state_number(i.state),
                    effective_priority: i.effective_priority,
                    garp_delay_s: i.cfg.garp_master_delay_us / 1_000_000,
                    vips: i.cfg.virtual_ipaddress.iter().map(vip).collect(),
                    excluded_vips: i.cfg.virtual_ipaddress_excluded.iter().map(vip).collect(),
                    stats: i.stats.clone(),
                    telemetry,
                    in_state_us,
                }
            })
            .collect();
        let scripts = self
            .scripts
            .values()
            .map(|s| ScriptView {
                name: s.cfg.name.clone(),
                good: s.result() >= s.cfg.rise,
                running: s.running,
            })
            .collect();
        Snapshot { instances, scripts }
    }
}
