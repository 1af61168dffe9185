//! The engine's state as the SNMP MIBs read it ([`Engine::live`]): what changes while
//! the daemon runs, by instance, sync group and script. The configuration supplies the
//! rest; the tables are built from both off the VRRP loop (`crate::snmp`).

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::time::Instant;

use super::instance::MasterReason;
use super::io::State;
use super::stats::Stats;
use super::track::Health;
use super::Engine;

/// Every instance, sync group and `vrrp_script` at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Live {
    /// When it was taken.
    pub now: Instant,
    /// When the instances were last initialised, at start or reload (keepalived's
    /// `stats->uptime`, set by `vrrp_init_state()`).
    pub started: Instant,
    /// In configuration order.
    pub instances: Vec<LiveInstance>,
    /// In configuration order.
    pub groups: Vec<LiveGroup>,
    /// By name.
    pub scripts: Vec<LiveScript>,
    /// Each tracked file's value now (keepalived's `last_status`), by `track_file` name.
    pub files: BTreeMap<String, i64>,
    /// The processes each `vrrp_track_process` counts now, by name.
    pub processes: BTreeMap<String, u32>,
    /// Whether each BFD session the VRRP process hears of is Up now (`bfd_up`), by name.
    pub bfds: BTreeMap<String, bool>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LiveInstance {
    pub name: String,
    pub state: State,
    /// `vrrp->wantstate`.
    pub want: State,
    pub effective_priority: u8,
    /// The source address its adverts carry, when it has one.
    pub src: Option<IpAddr>,
    /// keepalived's `master_saddr`: none while master.
    pub master_addr: Option<IpAddr>,
    pub master_reason: MasterReason,
    /// RFC 6527 `vrrpv3StatisticsProtoErrReason`: the last refusal's, 0 before any.
    pub proto_err_reason: u8,
    pub stats: Stats,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LiveGroup {
    pub name: String,
    pub state: State,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LiveScript {
    pub name: String,
    pub health: Health,
    /// keepalived's `result`: failing in [0, rise), good in [rise, rise + fall).
    pub result: u32,
}

impl Engine {
    /// The state the MIBs show at `now`. Cheap: no configuration is copied.
    pub fn live(&self, now: Instant) -> Live {
        Live {
            now,
            started: self.started,
            instances: self
                .instances
                .iter()
                .map(|i| LiveInstance {
                    name: i.name().to_string(),
                    state: i.state,
                    want: i.want,
                    effective_priority: i.effective_priority,
                    src: i.src_addr(&self.interfaces),
                    master_addr: i.master_addr,
                    master_reason: i.master_reason,
                    proto_err_reason: i.proto_err_reason,
                    stats: i.stats.clone(),
                })
                .collect(),
            groups: self
                .groups
                .iter()
                .map(|g| LiveGroup {
                    name: g.cfg.name.clone(),
                    state: g.state,
                })
                .collect(),
            scripts: self
                .scripts
                .values()
                .map(|s| LiveScript {
                    name: s.cfg.name.clone(),
                    health: s.health,
                    result: s.result(),
                })
                .collect(),
            files: self.files.clone(),
            processes: self.processes.clone(),
            bfds: self.tracked_bfds().clone(),
        }
    }
}
