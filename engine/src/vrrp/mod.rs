//! The VRRP engine: every decision keepalived's VRRP process makes, as a deterministic
//! state machine. Time and inputs go in, outputs come out (quinn-proto style):
//!
//! ```text
//! engine.handle_input(now, Input::Packet { .. });
//! engine.handle_timeout(now);
//! while let Some(out) = engine.poll_output() { /* transmit, add addresses, … */ }
//! let wake_at = engine.poll_timeout();
//! ```
//!
//! Behaviour follows keepalived 2.x (KEEPALIVED.md §3) and RFC 5798 / RFC 9568.

/// The cargo-fuzz entry point, for `fuzz/` and the corpus-replay test only: not part of
/// the engine's API.
#[doc(hidden)]
pub mod dump;
pub mod fuzz;
pub mod garp;
pub mod instance;
pub mod io;
pub mod live;
pub mod metrics;
pub mod notify;
pub mod outbox;
pub mod receive;
pub mod stats;
pub mod track;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::IpAddr;

use crate::config::model::{Config, Given, SyncGroup};
use crate::time::{us, Instant};
use crate::wire::{Family, RxAdvert, VrrpPacket};

use garp::GarpPacer;
use instance::{Ctx, Heard, Instance, MasterRx};
/// The reason of the STOP an instance a reload removed enters: the SNMP traps report it
/// as deleted (`clear_diff_vrrp()`).
pub const REMOVED_BY_RELOAD: &str = "removed by reload";

pub use io::{
    Input, InterfaceInfo, NotifyKind, Output, Owned, ScriptStatus, State, TrackedAtStart,
};
use notify::Subject;
use outbox::{Outbox, GENERAL, URGENT};
pub use receive::{Check, Counter, Expect, Outcome, Reason, RxContext, Validator, Verdict};
use track::{effective_priority, ScriptState, World};

/// How many sessions this process remembers without following them (a bound on what the
/// BFD process's reports can make it hold).
const MAX_UNFOLLOWED_BFDS: usize = 4096;

/// The reason of a backup's takeover when no advert came within the master-down
/// interval (RFC 5798 §6.4.2), which the Linux layer words as keepalived does ("Receive
/// advertisement timeout").
pub const MASTER_DOWN: &str = "master down timer expired";

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Group {
    cfg: SyncGroup,
    members: Vec<usize>,
    state: State,
}

/// What a reload carries over from the running instances and trackers.
struct Previous {
    instances: Vec<Instance>,
    notified: Vec<State>,
    scripts: BTreeMap<String, ScriptState>,
    /// Each tracked BFD's last state by name (`clear_diff_bfd()`).
    bfds: BTreeMap<String, bool>,
    /// Each sync group's state by name.
    groups: BTreeMap<String, State>,
}

/// Each name's position (the first, should a name repeat).
fn index_by_name<'a>(names: impl Iterator<Item = &'a str>) -> BTreeMap<&'a str, usize> {
    let mut index = BTreeMap::new();
    for (i, name) in names.enumerate() {
        index.entry(name).or_insert(i);
    }
    index
}

/// The VRRP engine for one host.
#[derive(Debug, Clone)]
pub struct Engine {
    /// The configuration without its instances: each instance owns its own section, so
    /// 1,000 instances are not held twice.
    config: Config,
    instances: Vec<Instance>,
    /// Instances by VRID, so a received advert visits only those that share its VRID;
    /// each entry carries what the search compares, so it touches no other instance.
    by_vrid: Vec<Vec<Listener>>,
    /// The interfaces the instances send and receive on, numbered for [`Listener`].
    xmit_interfaces: Vec<String>,
    /// The state each instance last notified, so every change notifies exactly once.
    notified: Vec<State>,
    groups: Vec<Group>,
    interfaces: BTreeMap<String, InterfaceInfo>,
    scripts: BTreeMap<String, ScriptState>,
    files: BTreeMap<String, i64>,
    processes: BTreeMap<String, u32>,
    /// Each `bfd_instance` this process hears of, by name: whether its session is Up
    /// (`vrrp_data->vrrp_track_bfds`, `bfd_up`). Down until the BFD process says Up.
    bfds: BTreeMap<String, bool>,
    /// The last state heard of each session this configuration does not follow: the BFD
    /// process may report a session a reload adds before this process has the reload,
    /// and the reload takes it from here rather than starting it down until its next
    /// change (keepalived drops such an event).
    unfollowed_bfds: BTreeMap<String, bool>,
    /// `track_src_ip` addresses the driver reports missing from their interface.
    missing_sources: BTreeSet<(String, IpAddr)>,
    garp: GarpPacer,
    out: Outbox,
    /// Every instance's next deadline, so a wake-up visits only the instances due.
    timers: BTreeSet<(Instant, usize)>,
    queued: Vec<Option<Instant>>,
    /// Takeovers that fell due on an interface whose turn in that call was taken, by
    /// lane, oldest first, with the time of that call: out of `timers`, so a call does
    /// not read every one of them again to skip it. Each is checked again when its turn
    /// comes (an advert may have come meanwhile); a queue is due from when its first
    /// entry was queued, whatever has happened to that one since.
    deferred: Vec<VecDeque<(usize, Instant)>>,
    /// Instances changed by the current call: their timers and notifies are settled at
    /// its end.
    touched: Vec<usize>,
    /// Adverts are discarded and timers held until then (`vrrp_startup_delay`).
    startup_until: Instant,
    /// When the instances were last initialised, at start or reload (keepalived's
    /// `stats->uptime`, which the RFC MIBs' up-times count from).
    started: Instant,
    stopped: bool,
}

/// An instance as a received advert looks for it: its index in the engine, its family
/// and (numbered in [`Engine`]'s `xmit_interfaces`) the interface it listens on.
#[derive(Debug, Clone, Copy)]
struct Listener {
    index: usize,
    family: Family,
    interface: usize,
}

impl Engine {
    /// An engine for a completed (`config::load`ed) configuration, with the host's
    /// interfaces as the driver sees them now.
    pub fn new(config: Config, now: Instant, interfaces: Vec<InterfaceInfo>) -> Engine {
        Engine::with_trackers(config, now, interfaces, TrackedAtStart::default())
    }

    /// [`Engine::new`] with what the host's trackers read at start: tracked files'
    /// values, tracked processes' counts and the `track_src_ip` addresses missing, so an
    /// instance that should start in FAULT never passes through BACKUP, and one whose
    /// process runs never passes through FAULT.
    pub fn with_trackers(
        config: Config,
        now: Instant,
        interfaces: Vec<InterfaceInfo>,
        tracked: TrackedAtStart,
    ) -> Engine {
        let TrackedAtStart {
            files,
            processes,
            missing_sources,
        } = tracked;
        let startup_until = now + us(config.global.vrrp_startup_delay_us);
        let mut e = Engine {
            instances: Vec::new(),
            by_vrid: Vec::new(),
            xmit_interfaces: Vec::new(),
            notified: Vec::new(),
            groups: Vec::new(),
            interfaces: interfaces
                .into_iter()
                .map(|i| (i.name.clone(), i))
                .collect(),
            scripts: BTreeMap::new(),
            files,
            processes,
            bfds: BTreeMap::new(),
            unfollowed_bfds: BTreeMap::new(),
            missing_sources,
            garp: GarpPacer::new(&config),
            out: Outbox::default(),
            timers: BTreeSet::new(),
            queued: Vec::new(),
            deferred: Vec::new(),
            touched: Vec::new(),
            startup_until,
            started: now,
            stopped: false,
            config: Config::default(),
        };
        e.install(config, now, None);
        e.settle();
        e
    }

    /// Builds instances, groups and trackers from `config`, carrying state over from
    /// `old` (a reload) where an instance of the same name and VRID survives.
    fn install(&mut self, mut config: Config, now: Instant, old: Option<Previous>) {
        let mut scripts = BTreeMap::new();
        for s in &config.vrrp_scripts {
            let mut st = ScriptState::new(s.clone(), self.startup_until.max(now));
            if let Some(o) = old.as_ref().and_then(|o| o.scripts.get(&s.name)) {
                st.carry_over(o);
            }
            scripts.insert(s.name.clone(), st);
        }
        self.scripts = scripts;
        // The BFDs this process hears of (`bfd_vrrp_handler()`, less those
        // `bfd_vrrp_end_handler()` frees): down at start (`alloc_vrrp_tracked_bfd()`),
        // and across a reload as they were, by name (`clear_diff_bfd()`).
        self.bfds = config
            .tracked_bfds
            .iter()
            .filter(|b| b.to_vrrp())
            .map(|b| {
                let was = old
                    .as_ref()
                    .and_then(|o| o.bfds.get(&b.name))
                    .or_else(|| self.unfollowed_bfds.get(&b.name));
                (b.name.clone(), was.copied().unwrap_or(false))
            })
            .collect();
        let followed = &self.bfds;
        self.unfollowed_bfds
            .retain(|name, _| !followed.contains_key(name));
        for f in &config.track_files {
            let v = f.init_file.as_ref().map_or(0, |i| i.value);
            self.files.entry(f.name.clone()).or_insert(v);
        }
        self.instances = std::mem::take(&mut config.instances)
            .into_iter()
            .map(|vi| Instance::new(vi, &config.global))
            .collect();
        for inst in &mut self.instances {
            inst.lane = self.out.lane(inst.interface());
        }
        self.by_vrid = vec![Vec::new(); 256];
        // Numbered in order of first use; a map, as with a VMAC each there can be a
        // thousand names.
        let mut numbered: BTreeMap<&str, usize> = BTreeMap::new();
        for (index, inst) in self.instances.iter().enumerate() {
            let next = numbered.len();
            let interface = *numbered.entry(inst.xmit_interface()).or_insert(next);
            self.by_vrid[usize::from(inst.cfg.virtual_router_id)].push(Listener {
                index,
                family: inst.family,
                interface,
            });
        }
        self.xmit_interfaces = vec![String::new(); numbered.len()];
        for (name, k) in numbered {
            self.xmit_interfaces[k] = name.to_string();
        }
        self.notified = vec![State::Init; self.instances.len()];
        if let Some(old) = &old {
            let old_index = index_by_name(old.instances.iter().map(Instance::name));
            for (i, inst) in self.instances.iter_mut().enumerate() {
                let Some(&j) = old_index.get(inst.name()) else {
                    continue;
                };
                let o = &old.instances[j];
                if o.cfg.virtual_router_id != inst.cfg.virtual_router_id
                    || o.family != inst.family
                    || o.interface() != inst.interface()
                {
                    continue;
                }
                inst.state = o.state;
                inst.want = o.want;
                inst.deadline = o.deadline;
                inst.master_adver_int = o.master_adver_int;
                inst.master_addr = o.master_addr;
                inst.master_priority = o.master_priority;
                inst.master_reason = o.master_reason;
                inst.next_master_reason = o.next_master_reason;
                inst.effective_priority = o.effective_priority;
                inst.stats = o.stats.clone();
                inst.telemetry = o.telemetry.clone();
                inst.validator = {
                    let mut v = o.validator.clone();
                    v.expect = inst.validator.expect.clone();
                    v
                };
                self.notified[i] = old.notified[j];
            }
        }
        let index = index_by_name(self.instances.iter().map(Instance::name));
        self.groups = config
            .sync_groups
            .iter()
            .map(|g| Group {
                members: g
                    .members
                    .iter()
                    .filter_map(|m| index.get(m.as_str()).copied())
                    .collect(),
                cfg: g.clone(),
                // A group that survives a reload keeps its state, so an unchanged one is
                // not notified again (`set_previous_sync_group_states()`).
                state: old
                    .as_ref()
                    .and_then(|o| o.groups.get(&g.name).copied())
                    .unwrap_or(State::Init),
            })
            .collect();
        for (gi, g) in self.groups.iter().enumerate() {
            for &m in &g.members {
                let inst = &mut self.instances[m];
                inst.sync = Some(gi);
                // notify_priority_changes: the instance's own, else its group's, else
                // global_defs' (`vrrp_complete_instance()`).
                if !inst.cfg.explicit.has(Given::NotifyPriorityChanges) {
                    if let Some(v) = g.cfg.notify_priority_changes {
                        inst.cfg.notify_priority_changes = v;
                    }
                }
            }
        }
        self.config = config;
        self.timers.clear();
        self.queued = vec![None; self.instances.len()];
        self.deferred.clear();
        self.apply_trackers(now, true);
    }

    pub fn handle_input(&mut self, now: Instant, input: Input) {
        if self.stopped {
            return;
        }
        match input {
            Input::Packet {
                interface,
                family,
                src,
                dst,
                hop_limit,
                bytes,
            } => {
                if let Some(rx) = rx_advert(family, src, dst, hop_limit, &bytes) {
                    self.packet(now, &interface, src, rx);
                }
            }
            Input::Interface(info) => {
                self.interfaces.insert(info.name.clone(), info);
                self.reevaluate(now);
            }
            Input::ScriptExited { script, status } => {
                if let Some(s) = self.scripts.get_mut(&script) {
                    if s.exited(now, status.success()) {
                        self.reevaluate(now);
                    }
                }
            }
            Input::TrackFile { name, value } => {
                if self.files.insert(name, value) != Some(value) {
                    self.reevaluate(now);
                }
            }
            Input::ProcessCount { name, count } => {
                if self.processes.insert(name, count) != Some(count) {
                    self.reevaluate(now);
                }
            }
            Input::Bfd { name, up } => self.bfd_event(now, &name, up),
            Input::SourceAddress {
                interface,
                addr,
                present,
            } => {
                let key = (interface, addr);
                let changed = if present {
                    self.missing_sources.remove(&key)
                } else {
                    self.missing_sources.insert(key)
                };
                if changed {
                    self.reevaluate(now);
                }
            }
            Input::OwnedRemoved { instance, what } => self.owned_removed(now, &instance, &what),
            Input::Reload(config) => self.reload(*config, now),
            Input::Shutdown => self.shutdown(now),
        }
        self.settle();
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        if self.stopped || now < self.startup_until {
            return;
        }
        self.out.enter(GENERAL);
        for (name, s) in self.scripts.iter_mut() {
            if s.next_run <= now {
                // vrrp_script_thread(): a run still going at its next turn is skipped.
                if !s.running {
                    if let Some(command) = &s.cfg.script {
                        s.running = true;
                        self.out.push_back(Output::RunScript {
                            script: name.clone(),
                            command: command.clone(),
                            timeout_us: s.cfg.timeout_us,
                        });
                    }
                }
                s.next_run = now + s.interval();
            }
        }
        self.garp.flush(now, &mut self.out);
        // One takeover a call on each interface: the others that fell due wait in their
        // interface's `deferred` queue and are taken at the driver's next calls, after
        // this one's advert, addresses and GARPs are out. Each new master's advert timer then
        // starts when its own takeover is decided: keepalived takes a socket's expired
        // instances in one `vrrp_dispatcher_read_timeout()` pass, but
        // `vrrp_init_instance_sands()` reads the clock again for each, after the ones
        // before it. So 1,000 masters that took over together advertise spread over the
        // time their takeovers took, and their backups' down timers fall due as spread,
        // not all in one instant. Each interface has its own turn, so a takeover on a
        // quiet interface waits for at most one on each busy one, not for their bursts.
        //
        // A master whose advert is the next thing it has to do and falls due within its
        // slack goes now too (`Instance::advert_slack`): 1,000 masters wake the loop a
        // few times a second, not 1,000.
        //
        // (instance, its lane)
        let mut want_master: Vec<(usize, usize)> = Vec::new();
        for lane in 0..self.deferred.len() {
            while let Some((i, _)) = self.deferred[lane].pop_front() {
                let inst = &self.instances[i];
                if inst.state == State::Backup && inst.deadline.is_some_and(|d| d <= now) {
                    self.touch(i);
                    want_master.push((i, lane));
                    break;
                }
                // Heard from its master meanwhile, or no longer a backup: filed again.
                self.touch(i);
            }
        }
        let due: Vec<(Instant, usize)> = self
            .timers
            .iter()
            .take_while(|(t, _)| *t <= now + instance::ADVERT_SLACK_MAX)
            .copied()
            .collect();
        for (t, i) in due {
            let inst = &self.instances[i];
            if t > now && !(inst.deadline == Some(t) && inst.advert_due(now)) {
                continue;
            }
            let takes_over = inst.state == State::Backup && inst.deadline.is_some_and(|d| d <= now);
            let lane = inst.lane;
            self.timers.remove(&(t, i));
            self.queued[i] = None;
            if takes_over && want_master.iter().any(|&(w, l)| l == lane && w != i) {
                if self.deferred.len() <= lane {
                    self.deferred.resize_with(lane + 1, VecDeque::new);
                }
                if !self.deferred[lane].iter().any(|&(d, _)| d == i) {
                    self.deferred[lane].push_back((i, now));
                }
                continue;
            }
            self.touch(i);
            self.out.enter(URGENT);
            let mut cx = Ctx {
                now,
                out: &mut self.out,
                interfaces: &self.interfaces,
                global: &self.config.global,
                garp: &mut self.garp,
            };
            let inst = &mut self.instances[i];
            inst.master_timers(&mut cx);
            if inst.state == State::Backup
                && inst.deadline.is_some_and(|d| d <= now)
                && !want_master.iter().any(|&(w, _)| w == i)
            {
                want_master.push((i, inst.lane));
            }
        }
        self.out.enter(GENERAL);
        for (i, _) in want_master {
            self.backup_timeout(now, i);
        }
        self.settle();
    }

    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// Whether the next output was queued with the one just taken by the same instance
    /// (its takeover: advert, addresses and GARPs; at most `outbox::BURST` of them). A
    /// driver carries it out before it looks at timers again, as
    /// `vrrp_state_become_master()` does all of a takeover in one call: otherwise 1,000
    /// other instances falling due between an advert and its address change each have
    /// their takeover worked out in that gap.
    pub fn output_continues(&self) -> bool {
        self.out.continues()
    }

    /// The earliest moment `handle_timeout` has work to do.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.stopped {
            return None;
        }
        let deferred = self
            .deferred
            .iter()
            .filter_map(|q| q.front().map(|&(_, at)| at));
        let t = self
            .timers
            .first()
            .map(|(t, _)| *t)
            .into_iter()
            .chain(deferred)
            .chain(self.script_and_garp_deadlines())
            .min()?;
        Some(t.max(self.startup_until))
    }

    /// When the next run of each `vrrp_script` and the GARP pacer's next send are due:
    /// the timers [`Engine::poll_timeout`] and [`Engine::poll_timeout_after`] add to the
    /// instances'.
    fn script_and_garp_deadlines(&self) -> impl Iterator<Item = Instant> + '_ {
        self.scripts
            .values()
            .filter(|s| s.cfg.script.is_some())
            .map(|s| s.next_run)
            .chain(self.garp.deadline())
    }

    /// The earliest moment after `after` that `handle_timeout` has work for. A driver
    /// whose last call at `after` left takeovers for the next (their deadlines at or
    /// before it) learns from this whether a timer has fallen due since, which it woke
    /// late for.
    pub fn poll_timeout_after(&self, after: Instant) -> Option<Instant> {
        if self.stopped {
            return None;
        }
        let t = self
            .timers
            .iter()
            .map(|(t, _)| *t)
            .find(|t| *t > after)
            .into_iter()
            .chain(self.script_and_garp_deadlines())
            .filter(|t| *t > after)
            .min()?;
        Some(t.max(self.startup_until))
    }

    pub fn instances(&self) -> &[Instance] {
        &self.instances
    }

    pub fn instance(&self, name: &str) -> Option<&Instance> {
        self.instances.iter().find(|i| i.name() == name)
    }

    /// The SIGUSR2 statistics text.
    pub fn stats_text(&self) -> String {
        self.instances
            .iter()
            .map(|i| i.stats.render(i.name()))
            .collect()
    }

    /// Zeroes every instance's statistics, as STATS_CLEAR does after writing them
    /// (keepalived's `vrrp_print_stats(true)`).
    pub fn clear_stats(&mut self) {
        for i in &mut self.instances {
            i.stats = stats::Stats::default();
        }
    }

    fn fifo(&self) -> bool {
        notify::fifo_configured(&self.config.global)
    }

    fn ctx(&mut self, now: Instant) -> (&mut Vec<Instance>, Ctx<'_>) {
        (
            &mut self.instances,
            Ctx {
                now,
                out: &mut self.out,
                interfaces: &self.interfaces,
                global: &self.config.global,
                garp: &mut self.garp,
            },
        )
    }

    fn packet(&mut self, now: Instant, interface: &str, src: std::net::IpAddr, rx: RxAdvert<'_>) {
        if now < self.startup_until {
            return;
        }
        let (family, bytes) = (rx.family(), rx.bytes());
        // vrrp_get_header(): too short to find the VRRP header, or no instance has the VRID.
        let Ok(layout) = rx.locate() else { return };
        let vrid = VrrpPacket::new_unchecked(layout.vrrp(bytes), family).vrid();
        // No allocation per packet: one pass finds the instance, a second runs only when
        // several unicast instances share the VRID and the source must pick one.
        let candidates = || {
            self.by_vrid[usize::from(vrid)]
                .iter()
                .filter(|l| l.family == family && self.xmit_interfaces[l.interface] == interface)
                .map(|l| (l.index, &self.instances[l.index]))
        };
        let mut found = candidates();
        let Some((first, _)) = found.next() else {
            self.unknown_vrid(vrid, interface, None);
            return;
        };
        let idx = if found.next().is_none() {
            first
        } else {
            match candidates().find(|(_, i)| i.cfg.unicast_peers.iter().any(|p| p.address == src)) {
                Some((n, _)) => n,
                None => {
                    self.unknown_vrid(vrid, interface, Some(src));
                    return;
                }
            }
        };
        if !matches!(self.instances[idx].state, State::Backup | State::Master) {
            return;
        }
        self.touch(idx);
        let inst = &mut self.instances[idx];
        let check_vips = inst.state == State::Master
            || inst.master_addr != Some(src)
            || !inst.cfg.skip_check_adv_addr;
        let cx = RxContext {
            effective_priority: inst.effective_priority,
            check_vips,
        };
        let verdict = inst.validator.check(&rx, cx, &mut ());
        let notes = match verdict {
            Verdict::Reject { reason, .. } => {
                if let Some(c) = reason.counter() {
                    inst.stats.bump(c);
                }
                inst.telemetry.reject(&reason);
                if let Some(e) = reason.proto_error() {
                    inst.proto_err_reason = e;
                }
                if reason.auth_error().is_some() || reason.proto_error().is_some() {
                    let (lane, instance) = (inst.lane, inst.name().to_string());
                    self.out.enter(lane);
                    self.out.push_back(Output::Refused {
                        instance,
                        src,
                        reason,
                    });
                }
                // A refused advert never resets the down timer (§3.5 step 2).
                return;
            }
            Verdict::Accept { notes } => notes,
        };
        inst.stats.bump(Counter::AdvertRcvd);
        for n in &notes {
            if let Some(c) = n.counter() {
                inst.stats.bump(c);
            }
            inst.telemetry.note(n);
        }
        let p = VrrpPacket::new_unchecked(layout.vrrp(bytes), family);
        let heard = Heard {
            src,
            priority: p.priority(),
            interval: (p.version() == 3).then(|| us(u64::from(p.max_adver_int_cs()) * 10_000)),
        };
        let fifo = self.fifo();
        let (instances, mut cx) = self.ctx(now);
        let inst = &mut instances[idx];
        cx.out.enter(inst.lane);
        match inst.state {
            State::Backup => inst.backup_rx(&mut cx, heard),
            State::Master => match inst.master_rx(&mut cx, heard) {
                MasterRx::Stayed => {}
                MasterRx::Lower => {
                    let cmd = inst.cfg.notify_master_rx_lower_pri.clone();
                    notify::master_rx_lower_pri(
                        cx.out,
                        inst.name(),
                        cmd.as_deref(),
                        inst.effective_priority,
                        fifo,
                    );
                }
                MasterRx::Yielded => {
                    // vrrp_sync_backup(): one member yielding takes the group with it.
                    if let Some(g) = inst.sync {
                        let members = self.groups[g].members.clone();
                        members.iter().for_each(|&m| self.touch(m));
                        let (instances, mut cx) = self.ctx(now);
                        for m in members {
                            let other = &mut instances[m];
                            if m != idx && other.state == State::Master {
                                cx.out.enter(other.lane);
                                other.leave_master(&mut cx, false);
                                other.enter_backup(&mut cx, "sync group member left MASTER");
                            }
                        }
                    }
                }
            },
            _ => {}
        }
    }

    /// `log_unknown_vrids` (`vrrp_dispatcher_read()`): an advert no instance on the
    /// interface takes is logged, each one, before it is dropped; `from` when several
    /// unicast instances share the VRID and none has the sender as a peer.
    fn unknown_vrid(&mut self, vrid: u8, interface: &str, from: Option<std::net::IpAddr>) {
        if !self.config.global.log_unknown_vrids {
            return;
        }
        let from = from.map(|a| format!(" from {a}")).unwrap_or_default();
        self.out.enter(GENERAL);
        self.out.push_back(Output::Log {
            instance: String::new(),
            message: format!(
                "Unknown VRID({vrid}) received on interface({interface}){from}. ignoring..."
            ),
        });
    }

    /// A master's tracked address, virtual route or rule was removed by someone else
    /// (`set_vrrp_backup()`, called from `netlink_if_address_filter()`,
    /// `netlink_route_filter()` and `netlink_rule_filter()`): the instance, and each
    /// member of its sync group that is master, gives up with priority 0 and waits only
    /// its skew before taking over again, which puts everything back.
    fn owned_removed(&mut self, now: Instant, instance: &str, what: &Owned) {
        if !what.tracked() {
            return;
        }
        let Some(i) = self.instances.iter().position(|x| x.name() == instance) else {
            return;
        };
        if self.instances[i].state != State::Master {
            return;
        }
        let members = match self.instances[i].sync {
            Some(g) => self.groups[g].members.clone(),
            None => vec![i],
        };
        for &m in &members {
            self.touch(m);
        }
        let (instances, mut cx) = self.ctx(now);
        for m in members {
            let inst = &mut instances[m];
            if inst.state != State::Master {
                continue;
            }
            cx.out.enter(inst.lane);
            inst.leave_master(&mut cx, true);
            inst.master_adver_int = inst.adver_int();
            inst.deadline = Some(now + inst.skew());
            inst.want = State::Backup;
            inst.set_state(
                &mut cx,
                State::Backup,
                "an address, route or rule of ours was deleted",
            );
        }
    }

    /// A BFD session's new state (`vrrp_handle_bfd_event()`): the state it already has
    /// changes nothing, and a name this process does not follow is only remembered for a
    /// reload; otherwise each instance following it logs it and its priority or FAULT
    /// follows.
    fn bfd_event(&mut self, now: Instant, name: &str, up: bool) {
        match self.bfds.get_mut(name) {
            Some(state) if *state != up => *state = up,
            Some(_) => return,
            None => {
                // Names come from the BFD process's configuration, which is this one's.
                if self.unfollowed_bfds.len() < MAX_UNFOLLOWED_BFDS
                    || self.unfollowed_bfds.contains_key(name)
                {
                    self.unfollowed_bfds.insert(name.to_string(), up);
                }
                return;
            }
        }
        self.out.enter(GENERAL);
        // In the order of the BFD's tracking_vrrp list: the instances that track it
        // themselves, then the sync groups' other members (`sync_group_tracking_init()`).
        let tracks = |t: &crate::config::model::Trackers| t.bfds.iter().any(|r| r.name == name);
        let direct = self.instances.iter().filter(|i| tracks(&i.cfg.trackers));
        let via_groups = self
            .groups
            .iter()
            .filter(|g| tracks(&g.cfg.trackers))
            .flat_map(|g| g.members.iter().map(|&m| &self.instances[m]))
            .filter(|i| !tracks(&i.cfg.trackers));
        for inst in direct.chain(via_groups) {
            self.out.push_back(Output::Log {
                instance: String::new(),
                message: format!(
                    "VRRP_Instance({}) Tracked BFD instance {name} is {}",
                    inst.name(),
                    if up { "UP" } else { "DOWN" }
                ),
            });
        }
        self.reevaluate(now);
    }

    /// Each BFD this process hears of, by name, and whether its session is Up.
    pub fn tracked_bfds(&self) -> &BTreeMap<String, bool> {
        &self.bfds
    }

    /// A BACKUP's master-down timer fired (`vrrp_goto_master()`).
    fn backup_timeout(&mut self, now: Instant, i: usize) {
        self.instances[i].want = State::Master;
        let group = self.instances[i].sync;
        let (instances, mut cx) = self.ctx(now);
        match group {
            None => {
                cx.out.enter(instances[i].lane);
                instances[i].become_master(&mut cx, MASTER_DOWN);
            }
            Some(g) => {
                let members = self.groups[g].members.clone();
                members.iter().for_each(|&m| self.touch(m));
                let (instances, mut cx) = self.ctx(now);
                // vrrp_sync_can_goto_master(): every member must want MASTER.
                if members.iter().all(|&m| {
                    instances[m].want == State::Master || instances[m].state == State::Master
                }) {
                    // The group follows the member that wanted MASTER, for its reason too
                    // (`vrrp_sync_master()`).
                    let reason = instances[i].next_master_reason;
                    for m in members {
                        if instances[m].state == State::Backup {
                            instances[m].next_master_reason = reason;
                            cx.out.enter(instances[m].lane);
                            instances[m].become_master(&mut cx, "sync group wants MASTER");
                        }
                    }
                } else {
                    let wait = instances[i].ms_down();
                    instances[i].deadline = Some(now + wait);
                }
            }
        }
    }

    /// Applies the trackers' verdicts: priorities, FAULT entry and exit, and instances
    /// leaving INIT.
    fn reevaluate(&mut self, now: Instant) {
        self.apply_trackers(now, false);
    }

    /// [`Engine::reevaluate`]; `read` when the instances were just read (at start or by
    /// a reload), which keepalived's priorities are worked out for while every instance
    /// is still in INIT (`initialise_tracking_priorities()`), so a priority change is
    /// reported as BACKUP_PRIORITY even by a master that a reload leaves master.
    fn apply_trackers(&mut self, now: Instant, read: bool) {
        self.touch_all();
        let world = World {
            interfaces: Some(&self.interfaces),
            scripts: Some(&self.scripts),
            files: Some(&self.files),
            processes: Some(&self.processes),
            process_cfg: &self.config.track_processes,
            file_weights: &self.config.track_files,
            script_cfg: &self.config.vrrp_scripts,
            bfds: Some(&self.bfds),
            bfd_cfg: &self.config.tracked_bfds,
        };
        let evals: Vec<_> = self
            .instances
            .iter()
            .map(|i| world.evaluate(&i.cfg, i.sync.map(|g| &self.groups[g].cfg)))
            .collect();
        for (inst, e) in self.instances.iter_mut().zip(&evals) {
            inst.faults.tracker = e.tracker_fault;
            inst.faults.interface_down = e.interface_down;
            inst.faults.no_source_ip = (!e.interface_down
                && inst.src_addr(&self.interfaces).is_none())
                || track::tracked_source(&inst.cfg)
                    .is_some_and(|(i, a)| self.missing_sources.contains(&(i.to_string(), a)));
            // vrrp_complete_instance(): unicast_fault_no_peer without a peer holds the
            // instance in FAULT rather than let it fall back to multicast.
            inst.faults.no_peer =
                inst.cfg.unicast_fault_no_peer && inst.cfg.unicast_peers.is_empty();
            inst.scripts_init = e.scripts_init;
        }
        // A faulted member faults its whole group (vrrp_sync_fault()).
        let group_fault: Vec<bool> = self
            .groups
            .iter()
            .map(|g| g.members.iter().any(|&m| self.instances[m].faults.any()))
            .collect();
        let group_init: Vec<bool> = self
            .groups
            .iter()
            .map(|g| g.members.iter().any(|&m| self.instances[m].scripts_init))
            .collect();
        let hold = now.max(self.startup_until);
        let (instances, mut cx) = self.ctx(now);
        for (inst, e) in instances.iter_mut().zip(&evals) {
            cx.out.enter(inst.lane);
            inst.total_priority = i32::from(inst.cfg.priority) + e.delta;
            let prio = if inst.owner_reduced {
                254
            } else {
                effective_priority(inst.cfg.priority, e.delta)
            };
            let reported_state = if read { State::Init } else { inst.state };
            inst.set_priority(&mut cx, prio, reported_state);
            let fault = inst.faults.any() || inst.sync.is_some_and(|g| group_fault[g]);
            let init = inst.scripts_init || inst.sync.is_some_and(|g| group_init[g]);
            match inst.state {
                State::Stop => {}
                State::Init if init => {}
                State::Init if fault => {
                    inst.want = State::Fault;
                    inst.set_state(&mut cx, State::Fault, inst.faults.reason());
                }
                State::Init => {
                    // vrrp_init_state(): an owner that wants MASTER takes it at once,
                    // everyone else waits a full master-down interval.
                    inst.enter_backup(&mut cx, "init");
                    inst.deadline = Some(
                        if inst.owner()
                            && inst.cfg.state == crate::config::model::InitialState::Master
                        {
                            hold
                        } else {
                            hold + inst.ms_down()
                        },
                    );
                }
                State::Backup | State::Master if fault => {
                    if inst.state == State::Master {
                        inst.leave_master(&mut cx, true);
                    }
                    inst.deadline = None;
                    inst.want = State::Fault;
                    inst.set_state(&mut cx, State::Fault, inst.faults.reason());
                }
                State::Fault if !fault && !init => {
                    inst.enter_backup(&mut cx, "fault cleared");
                    // vrrp_startup_delay: keepalived reads nothing (netlink, the BFD
                    // pipe) until the delay is over, then vrrp_init_state() gives every
                    // backup a full master-down interval. Adverts are discarded here
                    // until then, so the wait counts from the end of the delay: counted
                    // from now, it could expire unheard and take over from a live master.
                    inst.deadline = inst.deadline.map(|d| d + hold.saturating_since(now));
                }
                _ => {}
            }
        }
    }

    fn shutdown(&mut self, now: Instant) {
        let (instances, mut cx) = self.ctx(now);
        for inst in instances.iter_mut() {
            cx.out.enter(inst.lane);
            if inst.state == State::Master {
                inst.leave_master(&mut cx, true);
            }
            inst.deadline = None;
            inst.set_state(&mut cx, State::Stop, "shutdown");
        }
        self.touch_all();
        self.settle();
        self.stopped = true;
    }

    /// SIGHUP: instances that survive keep state, timers and addresses; removed ones stop;
    /// new ones start from INIT (`reload_vrrp_thread()`, `clear_diff_vrrp()`).
    fn reload(&mut self, config: Config, now: Instant) {
        self.started = now;
        let fifo = self.fifo();
        let new_index = index_by_name(config.instances.iter().map(|n| n.name.as_str()));
        // Removed instances, and survivors that are master: address differences.
        for j in 0..self.instances.len() {
            let (instances, mut cx) = self.ctx(now);
            let inst = &mut instances[j];
            cx.out.enter(inst.lane);
            let o = &inst.cfg;
            let survivor = new_index
                .get(o.name.as_str())
                .map(|&k| &config.instances[k])
                .filter(|n| {
                    n.virtual_router_id == o.virtual_router_id && n.interface == o.interface
                });
            match survivor {
                None => {
                    if inst.state == State::Master {
                        inst.leave_master(&mut cx, true);
                    }
                    let (kind, word) = match &inst.cfg.notify_deleted {
                        Some(_) => (NotifyKind::Deleted, "DELETED"),
                        None => (NotifyKind::Stop, "STOP"),
                    };
                    cx.out.push_back(Output::StateChange {
                        instance: inst.name().to_string(),
                        from: inst.state,
                        to: State::Stop,
                        reason: REMOVED_BY_RELOAD.into(),
                        at: cx.now,
                    });
                    if let Some(Some(c)) = &inst.cfg.notify_deleted {
                        cx.out.push_back(Output::Notify {
                            instance: inst.name().to_string(),
                            kind,
                            command: crate::config::model::Command::clone(c),
                        });
                    }
                    notify::state_change(
                        cx.out,
                        Subject::Instance(inst.name()),
                        &inst.cfg.notifies,
                        kind,
                        word,
                        0,
                        fifo,
                    );
                }
                Some(n) if inst.state == State::Master => {
                    let had: Vec<_> = o
                        .virtual_ipaddress
                        .iter()
                        .chain(&o.virtual_ipaddress_excluded)
                        .collect();
                    let has: Vec<_> = n
                        .virtual_ipaddress
                        .iter()
                        .chain(&n.virtual_ipaddress_excluded)
                        .collect();
                    let no_accept = !n.accept && n.priority != 255;
                    let own =
                        |a: &crate::config::model::IpAddress, excluded: bool| Owned::Address {
                            addr: a.clone(),
                            interface: a
                                .dev
                                .clone()
                                .or_else(|| n.interface.clone())
                                .unwrap_or_default(),
                            excluded,
                            no_accept,
                        };
                    for a in &had {
                        if !has.iter().any(|b| b.address == a.address) {
                            let excluded = o.virtual_ipaddress_excluded.contains(a);
                            cx.out.push_back(Output::Del {
                                instance: n.name.clone(),
                                what: own(a, excluded),
                            });
                        }
                    }
                    for a in &has {
                        if !had.iter().any(|b| b.address == a.address) {
                            let excluded = n.virtual_ipaddress_excluded.contains(a);
                            cx.out.push_back(Output::Add {
                                instance: n.name.clone(),
                                what: own(a, excluded),
                            });
                        }
                    }
                    // clear_diff_rules() / clear_diff_routes(): the rules and routes the
                    // new configuration no longer has go, and its new ones come after the
                    // addresses. A route whose options changed goes and comes back, where
                    // keepalived replaces it in place; the kernel ends the same.
                    let gone = o
                        .virtual_rules
                        .iter()
                        .filter(|r| !n.virtual_rules.contains(r))
                        .cloned()
                        .map(Owned::from)
                        .chain(
                            o.virtual_routes
                                .iter()
                                .filter(|r| !n.virtual_routes.contains(r))
                                .cloned()
                                .map(Owned::from),
                        );
                    for what in gone {
                        cx.out.push_back(Output::Del {
                            instance: n.name.clone(),
                            what,
                        });
                    }
                    let come = n
                        .virtual_routes
                        .iter()
                        .filter(|r| !o.virtual_routes.contains(r))
                        .cloned()
                        .map(Owned::from)
                        .chain(
                            n.virtual_rules
                                .iter()
                                .filter(|r| !o.virtual_rules.contains(r))
                                .cloned()
                                .map(Owned::from),
                        );
                    for what in come {
                        cx.out.push_back(Output::Add {
                            instance: n.name.clone(),
                            what,
                        });
                    }
                }
                Some(_) => {}
            }
        }
        self.out.enter(GENERAL);
        self.garp = GarpPacer::new(&config);
        // What the new instances carry over; taken, not copied, as the old ones go.
        let old = Previous {
            instances: std::mem::take(&mut self.instances),
            notified: std::mem::take(&mut self.notified),
            scripts: std::mem::take(&mut self.scripts),
            bfds: std::mem::take(&mut self.bfds),
            groups: self
                .groups
                .iter()
                .map(|g| (g.cfg.name.clone(), g.state))
                .collect(),
        };
        self.install(config, now, Some(old));
        if self.config.global.fifo_write_vrrp_states_on_reload && self.fifo() {
            self.write_states();
        }
    }

    /// `fifo_write_vrrp_states_on_reload` (`vrrp_init_state()`): after a reload, the FIFO
    /// hears the state of every sync group, then of every instance, that the reload left
    /// as it was; what changed is notified in full as any change is. keepalived 2.2.7
    /// leaves out an instance that stays master (it goes by another path there); the
    /// option promises every state, and a FIFO reader restarted by the reload needs the
    /// masters most, so they are written too.
    fn write_states(&mut self) {
        // After the priority lines of the reload, in one lane: groups before instances.
        self.out.enter(GENERAL);
        for g in 0..self.groups.len() {
            let state = self.group_state(g);
            let g = &self.groups[g];
            if state == g.state && state != State::Init {
                self.out.push_back(Output::Fifo {
                    line: notify::fifo_line("GROUP", &g.cfg.name, state.notify_word(), 0),
                });
            }
        }
        for (inst, &last) in self.instances.iter().zip(&self.notified) {
            if inst.state == last && matches!(last, State::Backup | State::Master | State::Fault) {
                self.out.push_back(Output::Fifo {
                    line: notify::fifo_line(
                        "INSTANCE",
                        inst.name(),
                        last.notify_word(),
                        inst.effective_priority,
                    ),
                });
            }
        }
    }

    /// What sync group `g`'s members make it: FAULT if any is, MASTER if all are, STOP
    /// when all have stopped, BACKUP when all are BACKUP or MASTER; otherwise (members
    /// still in INIT, or on their way) what it was.
    fn group_state(&self, g: usize) -> State {
        let g = &self.groups[g];
        let states = || g.members.iter().map(|&m| self.instances[m].state);
        if states().any(|s| s == State::Fault) {
            State::Fault
        } else if !g.members.is_empty() && states().all(|s| s == State::Master) {
            State::Master
        } else if states().all(|s| s == State::Stop) {
            State::Stop
        } else if states().all(|s| matches!(s, State::Backup | State::Master)) {
            State::Backup
        } else {
            g.state
        }
    }

    fn touch(&mut self, i: usize) {
        self.touched.push(i);
    }

    fn touch_all(&mut self) {
        self.touched.extend(0..self.instances.len());
    }

    /// Re-files the touched instances' timers and notifies every state that changed,
    /// instances first, then their sync groups.
    fn settle(&mut self) {
        let mut touched = std::mem::take(&mut self.touched);
        touched.sort_unstable();
        touched.dedup();
        for &i in &touched {
            let next = self.instances[i].next_deadline();
            if self.queued[i] != next {
                if let Some(old) = self.queued[i] {
                    self.timers.remove(&(old, i));
                }
                if let Some(t) = next {
                    self.timers.insert((t, i));
                }
                self.queued[i] = next;
            }
        }
        let fifo = self.fifo();
        let mut groups: Vec<usize> = touched
            .iter()
            .filter_map(|&i| self.instances[i].sync)
            .collect();
        groups.sort_unstable();
        groups.dedup();
        // vrrp_init_state(): a group that starts in BACKUP is notified before its
        // members, and they follow it in its lane, which keeps that order; every other
        // change of a group comes after its members'.
        self.out.enter(GENERAL);
        let mut starting = Vec::new();
        for &g in &groups {
            if self.groups[g].state == State::Init && self.group_state(g) == State::Backup {
                self.group_changed(g, State::Backup, fifo);
                starting.push(g);
            }
        }
        for &i in &touched {
            let (inst, last) = (&self.instances[i], &mut self.notified[i]);
            if inst.state != *last {
                *last = inst.state;
                // After the instance's own outputs, in its lane.
                let behind_group = inst.sync.is_some_and(|g| starting.contains(&g));
                self.out
                    .enter(if behind_group { GENERAL } else { inst.lane });
                if let Some(kind) = notify::kind_of(inst.state) {
                    notify::state_change(
                        &mut self.out,
                        Subject::Instance(inst.name()),
                        &inst.cfg.notifies,
                        kind,
                        inst.state.notify_word(),
                        inst.effective_priority,
                        fifo,
                    );
                }
                if inst.cfg.smtp_alert {
                    notify::smtp_alert(
                        &mut self.out,
                        Subject::Instance(inst.name()),
                        inst.state,
                        self.config.global.no_email_faults,
                    );
                }
            }
        }
        // A group's change goes to GENERAL, which waits for everything queued before it
        // in every lane: keepalived sends it after its members' own (`vrrp_sync_master()`).
        self.out.enter(GENERAL);
        for g in groups {
            let state = self.group_state(g);
            if state != self.groups[g].state {
                self.group_changed(g, state, fifo);
            }
        }
    }

    /// Sync group `g` is now in `state`: its notifies, FIFO line and mail.
    fn group_changed(&mut self, g: usize, state: State, fifo: bool) {
        let g = &mut self.groups[g];
        g.state = state;
        self.out.push_back(Output::GroupStateChange {
            group: g.cfg.name.clone(),
            to: state,
        });
        if let Some(kind) = notify::kind_of(state) {
            notify::state_change(
                &mut self.out,
                Subject::Group(&g.cfg.name),
                &g.cfg.notifies,
                kind,
                state.notify_word(),
                0,
                fifo,
            );
        }
        // A group mails unless it says not to, by the same global defaults as an
        // instance (vrrp_sync_smtp_notifier()).
        let global = &self.config.global;
        let mail = g
            .cfg
            .smtp_alert
            .or(global.smtp_alert_vrrp)
            .or(global.smtp_alert)
            .unwrap_or(false);
        if mail {
            notify::smtp_alert(
                &mut self.out,
                Subject::Group(&g.cfg.name),
                state,
                global.no_email_faults,
            );
        }
    }
}

/// What the raw socket delivered, as the codec reads it; `None` if the addresses are not
/// of the family.
fn rx_advert(
    family: Family,
    src: std::net::IpAddr,
    dst: std::net::IpAddr,
    hop_limit: Option<u8>,
    bytes: &[u8],
) -> Option<RxAdvert<'_>> {
    match (family, src, dst) {
        (Family::V6, std::net::IpAddr::V6(src), std::net::IpAddr::V6(dst)) => Some(RxAdvert::V6 {
            payload: bytes,
            src,
            dst,
            hop_limit,
        }),
        (Family::V4, _, _) => Some(RxAdvert::V4 { datagram: bytes }),
        _ => None,
    }
}
