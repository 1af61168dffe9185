//! Trackers: what they report, and what that does to an instance's priority or health
//! (`vrrp_track.c`: `initialise_*_tracking_priorities()`, `process_script_update_priority()`).
//!
//! keepalived adjusts `total_priority` incrementally; we recompute it from the trackers'
//! current states, which gives the same numbers and cannot drift.

use std::collections::BTreeMap;

use crate::config::model::{
    SyncGroup, TrackProcess, TrackRef, TrackedBfd, VrrpInstance, VrrpScript,
};
use crate::time::{us, Instant};

use super::io::InterfaceInfo;

/// A vrrp_script's health (`vscript->result` against rise/fall).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Health {
    /// Not reported yet: holds weight-0 trackers' instances in INIT.
    Init,
    Good,
    Bad,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ScriptState {
    pub cfg: VrrpScript,
    /// keepalived's `result`: failing in [0, rise), good in [rise, rise + fall).
    result: u32,
    pub health: Health,
    pub running: bool,
    pub next_run: Instant,
}

impl ScriptState {
    /// keepalived's `vscript->result`, as its state dump prints it.
    pub fn result(&self) -> u32 {
        self.result
    }

    /// Without `init_fail` one success is enough (`result = rise − 1`); with it the script
    /// starts failed (`vrrp_script_init()`).
    pub fn new(cfg: VrrpScript, first_run: Instant) -> ScriptState {
        let rise = cfg.rise.max(1);
        let (result, health) = if cfg.init_fail {
            (0, Health::Bad)
        } else {
            (rise - 1, Health::Init)
        };
        ScriptState {
            cfg,
            result,
            health,
            running: false,
            next_run: first_run,
        }
    }

    /// Keeps what a reload must not lose: health and counter, when rise/fall still fit.
    pub fn carry_over(&mut self, old: &ScriptState) {
        if old.result < self.rise() + self.fall() {
            self.result = old.result;
            self.health = old.health;
        }
        self.running = old.running;
    }

    fn rise(&self) -> u32 {
        self.cfg.rise.max(1)
    }

    fn fall(&self) -> u32 {
        self.cfg.fall.max(1)
    }

    /// One run finished (`vrrp_script_child_thread()`); returns whether health changed.
    pub fn exited(&mut self, now: Instant, ok: bool) -> bool {
        self.running = false;
        self.next_run = self.next_run.max(now);
        let (rise, fall) = (self.rise(), self.fall());
        let before = self.health;
        if ok {
            if self.result < rise - 1 {
                self.result += 1;
            } else if self.result != rise + fall - 1 {
                if self.result < rise {
                    self.health = Health::Good;
                }
                self.result = rise + fall - 1;
            } else {
                self.health = Health::Good;
            }
        } else if self.result > rise {
            self.result -= 1;
        } else {
            if self.result == rise || self.health == Health::Init {
                self.health = Health::Bad;
            }
            self.result = 0;
        }
        self.health != before
    }

    pub fn interval(&self) -> std::time::Duration {
        us(self.cfg.interval_us.max(1))
    }
}

/// What the trackers see now.
#[derive(Debug, Clone, Default)]
pub struct World<'a> {
    pub interfaces: Option<&'a BTreeMap<String, InterfaceInfo>>,
    pub scripts: Option<&'a BTreeMap<String, ScriptState>>,
    pub files: Option<&'a BTreeMap<String, i64>>,
    pub processes: Option<&'a BTreeMap<String, u32>>,
    pub process_cfg: &'a [TrackProcess],
    pub file_weights: &'a [crate::config::model::TrackFile],
    pub script_cfg: &'a [VrrpScript],
    /// Each `bfd_instance` the VRRP process hears of, by name: whether its session is
    /// Up (`vrrp_tracked_bfd_t.bfd_up`, false until the BFD process says otherwise).
    pub bfds: Option<&'a BTreeMap<String, bool>>,
    pub bfd_cfg: &'a [TrackedBfd],
}

/// One BFD session as an instance follows it: keepalived's `tracking_obj_t` on the
/// `vrrp_tracked_bfd_t`'s `tracking_vrrp` list, with the weight in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BfdTrack<'a> {
    pub name: &'a str,
    pub weight: i32,
    pub reverse: bool,
}

/// The BFDs an instance follows: its own `track_bfd`, then its sync group's, which
/// apply to every member (`sync_group_tracking_init()`). A BFD on both keeps the
/// instance's entry, taking the group's weight unless the instance's is 0
/// (`add_vrrp_to_track_bfd()`: "We will use the sync group's weight unless the vrrp
/// setting is unweighted"). A reference without a weight of its own takes the
/// `bfd_instance`'s, as `alloc_track_bfd()` does.
pub fn bfd_tracks<'a>(
    vi: &'a VrrpInstance,
    group: Option<&'a SyncGroup>,
    bfds: &[TrackedBfd],
) -> Vec<BfdTrack<'a>> {
    let resolve = |r: &'a TrackRef| {
        let own = bfds.iter().find(|b| b.name == r.name);
        match r.weight {
            Some(weight) => BfdTrack {
                name: &r.name,
                weight,
                reverse: r.reverse,
            },
            None => BfdTrack {
                name: &r.name,
                weight: own.map_or(0, |b| b.weight),
                reverse: own.is_some_and(|b| b.weight_reverse),
            },
        }
    };
    let mut out: Vec<BfdTrack<'a>> = vi.trackers.bfds.iter().map(resolve).collect();
    for r in group
        .map(|g| g.trackers.bfds.as_slice())
        .unwrap_or_default()
    {
        let t = resolve(r);
        match out.iter_mut().find(|o| o.name == t.name) {
            Some(o) if o.weight != 0 => *o = t,
            Some(_) => {}
            None => out.push(t),
        }
    }
    out
}

/// The trackers' verdict on one instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Eval {
    /// A weight-0 tracker is down (`VRRP_FAULT_FL_TRACKER`).
    pub tracker_fault: bool,
    /// The instance's own interface is down (`VRRP_FAULT_FL_INTERFACE_DOWN`).
    pub interface_down: bool,
    /// Weight-0 scripts that have not reported (`num_script_init`).
    pub scripts_init: bool,
    /// Sum of weighted trackers' contributions.
    pub delta: i32,
}

fn contribution(up: bool, weight: i32, reverse: bool) -> i32 {
    let m = if reverse { -1 } else { 1 };
    match (up, weight > 0) {
        (true, true) | (false, false) => weight * m,
        _ => 0,
    }
}

impl World<'_> {
    fn iface_up(&self, name: &str) -> bool {
        self.interfaces
            .and_then(|m| m.get(name))
            .is_some_and(|i| i.up)
    }

    fn script(&self, name: &str) -> Option<&ScriptState> {
        self.scripts.and_then(|m| m.get(name))
    }

    fn quorum(&self, name: &str) -> bool {
        let n = self
            .processes
            .and_then(|m| m.get(name))
            .copied()
            .unwrap_or(0);
        self.process_cfg
            .iter()
            .find(|p| p.name == name)
            .is_some_and(|p| n >= p.quorum && n <= p.quorum_max.unwrap_or(u32::MAX))
    }

    /// Applies `refs` to `e`. `force_zero`: a sync-group member's trackers count as weight
    /// 0 unless `sync_group_tracking_weight`.
    fn apply(&self, e: &mut Eval, refs: &crate::config::model::Trackers, force_zero: bool) {
        let w = |r: &TrackRef, own: i32| {
            if force_zero {
                0
            } else {
                r.weight.unwrap_or(own)
            }
        };
        for r in &refs.interfaces {
            let up = self.iface_up(&r.name);
            match w(r, 0) {
                0 if up == r.reverse => e.tracker_fault = true,
                0 => {}
                weight => e.delta += contribution(up, weight, r.reverse),
            }
        }
        for r in &refs.scripts {
            let own = self.script_cfg.iter().find(|s| s.name == r.name);
            let weight = w(r, own.map_or(0, |s| s.weight));
            let reverse = r.reverse || own.is_some_and(|s| s.weight_reverse);
            match self.script(&r.name).map(|s| s.health) {
                None => {}
                Some(Health::Init) if weight == 0 => e.scripts_init = true,
                Some(Health::Init) => {}
                Some(h) => {
                    let ok = h == Health::Good;
                    if weight == 0 {
                        if ok == reverse {
                            e.tracker_fault = true;
                        }
                    } else {
                        e.delta += contribution(ok, weight, reverse);
                    }
                }
            }
        }
        for r in &refs.files {
            let own = self.file_weights.iter().find(|f| f.name == r.name);
            let weight = w(r, own.map_or(0, |f| f.weight));
            let reverse = r.reverse || own.is_some_and(|f| f.weight_reverse);
            let value = self
                .files
                .and_then(|m| m.get(&r.name))
                .copied()
                .unwrap_or(0);
            // initialise_vrrp_file_tracking_priorities(): weight 0 faults on a non-zero
            // value; otherwise value × weight, ≤ −254 faults, capped at 253.
            let status = if weight == 0 {
                if (value != 0) != reverse {
                    -254
                } else {
                    0
                }
            } else {
                let m: i64 = if reverse { -1 } else { 1 };
                (value.saturating_mul(i64::from(weight)).saturating_mul(m)).clamp(-100_000, 100_000)
                    as i32
            };
            if status <= -254 {
                e.tracker_fault = true;
            } else {
                e.delta += status.min(253);
            }
        }
        for r in &refs.processes {
            let own = self.process_cfg.iter().find(|p| p.name == r.name);
            let weight = w(r, own.map_or(0, |p| p.weight));
            let reverse = r.reverse || own.is_some_and(|p| p.weight_reverse);
            let up = self.quorum(&r.name);
            match weight {
                0 if up == reverse => e.tracker_fault = true,
                0 => {}
                weight => e.delta += contribution(up, weight, reverse),
            }
        }
    }

    /// Evaluates an instance's trackers, its group's, and its own interface.
    pub fn evaluate(&self, vi: &VrrpInstance, group: Option<&SyncGroup>) -> Eval {
        let mut e = Eval::default();
        let force_zero = group.is_some_and(|g| !g.sync_group_tracking_weight);
        self.apply(&mut e, &vi.trackers, force_zero);
        if let Some(g) = group {
            self.apply(&mut e, &g.trackers, true);
        }
        // initialise_track_bfd_state() / vrrp_handle_bfd_event(): weight 0 faults while
        // the session is down (up, with reverse); a weight adds while up if positive,
        // while down if negative, negated by reverse. The configuration has already
        // dropped what an owner or an unweighted sync group must ignore.
        for t in bfd_tracks(vi, group, self.bfd_cfg) {
            let up = self
                .bfds
                .and_then(|m| m.get(t.name))
                .copied()
                .unwrap_or(false);
            match t.weight {
                0 if up == t.reverse => e.tracker_fault = true,
                0 => {}
                weight => e.delta += contribution(up, weight, t.reverse),
            }
        }
        if !vi.dont_track_primary {
            if let Some(i) = &vi.interface {
                e.interface_down = !self.iface_up(i);
            }
            // The VMAC carries the VIPs: it going away faults the instance as the base
            // interface does (VRRP_FAULT_FL_INTERFACE_DOWN on vrrp->ifp).
            if let Some(vmac) = vi.vmac() {
                e.interface_down |= !self.iface_up(vmac);
            }
        }
        // The interfaces its addresses, routes and rules name are tracked too, unless
        // `no_track` (`vrrp_complete_instance()`, TRACK_ADDR/ROUTE/RULE at weight 0):
        // one that is down or does not exist (yet) faults the instance.
        for name in item_interfaces(vi) {
            if vi.dont_track_primary && vi.interface.as_deref() == Some(name) {
                continue;
            }
            e.interface_down |= !self.iface_up(name);
        }
        e
    }
}

/// The interfaces an instance's tracked addresses (`dev`), routes (`dev`/`oif`) and
/// rules (`iif`/`oif`) name.
fn item_interfaces(vi: &VrrpInstance) -> impl Iterator<Item = &str> {
    let addresses = vi
        .virtual_ipaddress
        .iter()
        .chain(&vi.virtual_ipaddress_excluded)
        .filter(|a| !a.no_track)
        .filter_map(|a| a.dev.as_deref());
    let routes = vi
        .virtual_routes
        .iter()
        .filter(|r| !r.no_track)
        .filter_map(|r| r.dev.as_deref());
    let rules = vi
        .virtual_rules
        .iter()
        .filter(|r| !r.no_track)
        .flat_map(|r| [r.iif.as_deref(), r.oif.as_deref()])
        .flatten();
    addresses.chain(routes).chain(rules)
}

/// The address `track_src_ip` follows for an instance, with the interface it must be on:
/// its `unicast_src_ip`/`mcast_src_ip` on its own (configured, not VMAC) interface. The
/// keyword does nothing without a configured source (`vrrp_complete_instance()` clears
/// it) or an interface to watch.
///
/// keepalived.conf(5): "if the configured src_ip doesn't exist or is removed put the
/// instance into fault state", which is what this drives. keepalived 2.2.7's own code
/// never does it: `netlink_if_address_filter()` compares the whole `sockaddr_storage`
/// with the address, so `is_tracking_saddr` is always false.
pub fn tracked_source(vi: &VrrpInstance) -> Option<(&str, std::net::IpAddr)> {
    if !vi.track_src_ip {
        return None;
    }
    Some((vi.interface.as_deref()?, vi.src_ip?))
}

/// `vrrp_set_effective_priority()`: owners never change; others clamp to 1..=254.
pub fn effective_priority(base: u8, delta: i32) -> u8 {
    if base == 255 {
        255
    } else {
        (i32::from(base) + delta).clamp(1, 254) as u8
    }
}
