//! The health-checker side, sans-IO: which real server to probe when, what a probe's
//! outcome means for the real server and its virtual server, and the IPVS state that
//! follows. Probes themselves run in `io-linux`; they speak the types of [`probe`].
//!
//! ```text
//! let mut e = CheckEngine::new(config, now, seed);
//! e.handle_input(now, CheckInput::ProbeDone { id, outcome });
//! e.handle_timeout(now);
//! while let Some(out) = e.poll_output() { /* StartProbe, Ipvs, Notify, Fifo, … */ }
//! let wake_at = e.poll_timeout();
//! ```
//!
//! Behaviour follows keepalived's checker process (KEEPALIVED.md §5): `check_api.c`,
//! `check_tcp.c`, `check_http.c`, `check_misc.c` and `ipwrapper.c`. The IPVS table is not
//! driven by imperative add/delete calls as keepalived does; it is derived from the
//! checkers' and quorum's state ([`CheckEngine::desired`]) and every change is emitted as
//! the minimal [`ipvs::diff`], so the table can never disagree with the state.
//!
//! The engine's state and its public API are here; the rest is split by concern:
//! `runtime` (the state records), `setup` (those records from a configuration), `groups`
//! (a virtual server's IPVS services), `schedule` (first runs, timers, `ha_suspend`),
//! `probe_spec` (what a probe is asked to do), `outcome` (a probe's result for its
//! checker and real server), `pool` (real servers in and out, and the IPVS table that
//! follows), `quorum`, `notify` (scripts, FIFO, SMTP, log), `file_check` and
//! `bfd_check` (the checkers that follow a tracked file or a BFD session instead of
//! probing), `reload` and `dump` (the SIGUSR1 text). [`http`] is HTTP_GET's request and response handling without the
//! socket, shared by the Linux prober and the simulator.

mod bfd_check;
mod dump;
mod file_check;
pub mod groups;
pub mod http;
pub mod io;
pub mod ipvs;
pub mod live;
mod notify;
mod outcome;
mod pool;
pub mod probe;
mod probe_spec;
mod quorum;
mod reload;
pub(crate) mod rng;
mod runtime;
mod schedule;
mod setup;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::IpAddr;

use crate::config::model::{Config, GlobalDefs, Protocol, SECOND};
use crate::time::Instant;

pub use io::{CheckInput, CheckNotifyKind, CheckOutput};
pub use ipvs::{
    diff, ApplyError, DestKey, DestParams, FwmarkRange, IpvsOp, IpvsState, Service, ServiceKey,
    ServiceParams,
};
use probe::{ProbeId, ProbeOutcome};
pub use rng::SplitMix64;
use runtime::{CheckerRt, Loc, VsRt};

/// First run of every checker after start: 1 s plus its warmup share (`BOOTSTRAP_DELAY`,
/// `check_api.h`).
pub const BOOTSTRAP_DELAY_US: u64 = SECOND;
/// SMTP_CHECK's HELO name when `helo_name` is not given (`SMTP_DEFAULT_HELO`,
/// `check_smtp.h`).
pub const SMTP_DEFAULT_HELO: &str = "smtpchecker.keepalived.org";
/// How long past its own timeout a probe may stay unreported before the engine counts it
/// failed: a prober that loses a probe must not freeze its checker. Covers MISC_CHECK's
/// SIGTERM→SIGKILL 2 s.
pub const PROBE_GRACE_US: u64 = 5 * SECOND;
/// The output queue's capacity kept once it is drained ([`CheckEngine::poll_output`]).
const OUT_KEPT: usize = 64;
/// Most services one `virtual_server_group` range expands to; keepalived has no limit,
/// but an IPv6 range of 65 536 addresses per entry is already absurd.
pub const MAX_RANGE_EXPANSION: u128 = 65_536;

/// A virtual server as the engine sees it now.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct VsStatus {
    pub label: String,
    pub quorum_up: bool,
    /// Σ weights of the alive real servers.
    pub alive_weight: i64,
    /// In force: capped to the total weight.
    pub quorum: u32,
    /// In force: capped to quorum − 1.
    pub hysteresis: u32,
    pub sorry_active: bool,
    pub suspended: bool,
}

/// A real server as the engine sees it now.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RsStatus {
    pub virtual_server: String,
    pub label: String,
    pub address: IpAddr,
    pub port: u16,
    pub alive: bool,
    pub effective_weight: i64,
    pub inhibit_on_failure: bool,
    /// Its checkers, in config order.
    pub checkers: Vec<CheckerStatus>,
}

/// A checker as the engine sees it now.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CheckerStatus {
    pub id: ProbeId,
    pub kind: String,
    pub up: bool,
    pub has_run: bool,
    pub supported: bool,
    pub next_run: Option<Instant>,
    pub in_flight: bool,
}

/// The checker engine for one host.
#[derive(Debug, Clone)]
pub struct CheckEngine {
    global: GlobalDefs,
    vss: Vec<VsRt>,
    index: BTreeMap<ProbeId, Loc>,
    timers: BTreeSet<(Instant, ProbeId)>,
    /// Addresses on this host, for `ha_suspend`.
    addresses: BTreeSet<IpAddr>,
    rng: SplitMix64,
    next_id: u64,
    out: VecDeque<CheckOutput>,
    /// Each `track_file`'s value, by name, for FILE_CHECK.
    files: BTreeMap<String, i64>,
    /// The last state the BFD process told of each session, by name, so a BFD_CHECK a
    /// reload adds starts from it even when the BFD process told it before this process
    /// had the reload (keepalived drops such an event).
    bfds: BTreeMap<String, bool>,
    /// `nftables_ipvs`: each (group, protocol)'s fwmark, kept across reloads.
    auto_fwmarks: BTreeMap<(String, Protocol), u32>,
    /// The next fwmark to give out; None until the first (`get_next_fwmark()`).
    next_fwmark: Option<u32>,
    /// The group entries nftables marks, in the order keepalived adds them.
    fwmark_ranges: Vec<FwmarkRange>,
    /// While a reload rebuilds the state, IPVS changes wait for one diff at its end.
    hold_ipvs: bool,
    /// What the SIGUSR1 dump prints of the configuration beyond the virtual servers.
    dump: dump::DumpCfg,
    stopped: bool,
}

impl CheckEngine {
    /// An engine for a completed (`config::load`ed) configuration. `seed` drives the
    /// warmup spread. The initial IPVS table (every service, and
    /// the real servers that start alive) is in the first outputs.
    pub fn new(config: Config, now: Instant, seed: u64) -> CheckEngine {
        CheckEngine::with_track_files(config, now, seed, BTreeMap::new())
    }

    /// [`CheckEngine::new`] with the `track_file` values as the host read them at start,
    /// by name, so each FILE_CHECK starts as its file says (`init_track_files()` reads
    /// the files before the checkers start); a file not given counts as 0.
    pub fn with_track_files(
        config: Config,
        now: Instant,
        seed: u64,
        files: BTreeMap<String, i64>,
    ) -> CheckEngine {
        let mut e = CheckEngine {
            global: config.global.clone(),
            vss: Vec::new(),
            index: BTreeMap::new(),
            timers: BTreeSet::new(),
            addresses: BTreeSet::new(),
            rng: SplitMix64::new(seed),
            next_id: 1,
            out: VecDeque::new(),
            files,
            bfds: BTreeMap::new(),
            auto_fwmarks: BTreeMap::new(),
            next_fwmark: None,
            fwmark_ranges: Vec::new(),
            hold_ipvs: false,
            dump: dump::DumpCfg::new(&config, None),
            stopped: false,
        };
        e.vss = e.build(&config, now);
        e.assign_fresh(now);
        e.reindex();
        for vi in 0..e.vss.len() {
            // init_service_vs(): quorum first, so a sorry server needed from the start is
            // in the first table rather than added and swapped.
            e.update_quorum_state(vi, true);
            e.sync_ipvs(vi);
            if e.global.rs_init_notifies {
                for ri in 0..e.vss[vi].rss.len() {
                    if e.vss[vi].rss[ri].alive {
                        e.rs_notifies(vi, ri);
                    }
                }
            }
        }
        e
    }

    pub fn handle_input(&mut self, now: Instant, input: CheckInput) {
        if self.stopped {
            return;
        }
        match input {
            CheckInput::ProbeDone { id, outcome } => {
                let Some(&loc) = self.index.get(&id) else {
                    return;
                };
                if self.checker(loc).in_flight.is_none() {
                    // Not ours any more (a late answer after the engine gave up).
                    return;
                }
                self.probe_done(now, loc, outcome);
            }
            CheckInput::ProbeStarted { id } => {
                let Some(&loc) = self.index.get(&id) else {
                    return;
                };
                let c = self.checker(loc);
                if let Some(deadline) = c.in_flight {
                    // The watchdog `run` set (timeout + grace from `started`) keeps its
                    // length and counts from the real start.
                    let moved = deadline + now.saturating_since(c.started);
                    self.checker_mut(loc).started = now;
                    self.set_timer(loc, None, Some(moved));
                }
            }
            CheckInput::AddressPresent { addr, present } => {
                let changed = if present {
                    self.addresses.insert(addr)
                } else {
                    self.addresses.remove(&addr)
                };
                if changed {
                    for vi in 0..self.vss.len() {
                        if self.ha_suspend_addr(vi) == Some(addr) {
                            let label = self.vss[vi].label.clone();
                            // update_checker_activity()
                            self.log(
                                Some(&label),
                                None,
                                format!(
                                    "{} healthcheckers: address {addr} {}",
                                    if present { "Activating" } else { "Suspending" },
                                    if present { "added" } else { "removed" }
                                ),
                            );
                        }
                    }
                }
            }
            CheckInput::TrackFile { name, value } => self.track_file(name, value),
            CheckInput::Bfd { name, up } => self.bfd_event(&name, up),
            CheckInput::Reload(cfg) => self.reload(now, *cfg),
            CheckInput::Shutdown => self.shutdown(),
        }
    }

    /// Starts the probes due and gives up on probes overdue.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.stopped {
            return;
        }
        while let Some(&(t, id)) = self.timers.first() {
            if t > now {
                break;
            }
            self.timers.remove(&(t, id));
            let Some(&loc) = self.index.get(&id) else {
                continue;
            };
            if self.checker(loc).in_flight.is_some() {
                self.checker_mut(loc).in_flight = None;
                self.probe_done(
                    now,
                    loc,
                    ProbeOutcome::Down {
                        reason: "no result from the prober".into(),
                    },
                );
            } else {
                self.checker_mut(loc).next_run = None;
                self.run(now, loc);
            }
        }
    }

    pub fn poll_output(&mut self) -> Option<CheckOutput> {
        let out = self.out.pop_front();
        if out.is_none() && self.out.capacity() > OUT_KEPT {
            // A start or reload queues an IPVS command a real server: at 5,000 the
            // queue's 8,192 slots are 1.9 MB, the checker's largest allocation, held for
            // its life unless given back once it is drained.
            self.out.shrink_to(OUT_KEPT);
        }
        out
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.stopped {
            return None;
        }
        self.timers.first().map(|(t, _)| *t)
    }

    /// The IPVS table the engine wants now: the sum of every [`CheckOutput::Ipvs`]
    /// emitted so far, applied to an empty table.
    pub fn desired(&self) -> IpvsState {
        let mut s = IpvsState::default();
        for v in &self.vss {
            for (k, svc) in &v.ipvs {
                s.services.insert(k.clone(), svc.clone());
            }
        }
        s
    }

    /// With `nftables_ipvs`: the addresses nftables must mark for the fwmark services of
    /// [`CheckEngine::desired`], in the order keepalived adds them. Changes only at a
    /// reload, and is empty once stopped.
    pub fn fwmark_ranges(&self) -> &[FwmarkRange] {
        &self.fwmark_ranges
    }

    pub fn virtual_servers(&self) -> Vec<VsStatus> {
        (0..self.vss.len())
            .map(|vi| {
                let v = &self.vss[vi];
                VsStatus {
                    label: v.label.clone(),
                    quorum_up: v.quorum_up,
                    alive_weight: v.alive_weight(),
                    quorum: v.quorum,
                    hysteresis: v.hysteresis,
                    sorry_active: v.sorry_active,
                    suspended: self.suspended(vi),
                }
            })
            .collect()
    }

    pub fn real_servers(&self) -> Vec<RsStatus> {
        let mut all = Vec::new();
        for v in &self.vss {
            for r in &v.rss {
                all.push(RsStatus {
                    virtual_server: v.label.clone(),
                    label: r.label.clone(),
                    address: r.cfg.address,
                    port: r.port(),
                    alive: r.alive,
                    effective_weight: r.effective_weight(),
                    inhibit_on_failure: r.cfg.inhibit_on_failure,
                    checkers: r
                        .checkers
                        .iter()
                        .map(|c| CheckerStatus {
                            id: c.id,
                            kind: c.cfg.kind.keyword().to_string(),
                            up: c.is_up,
                            has_run: c.has_run,
                            supported: c.supported,
                            next_run: c.next_run,
                            in_flight: c.in_flight.is_some(),
                        })
                        .collect(),
                });
            }
        }
        all
    }

    /// The checker at `loc`.
    fn checker(&self, (vi, ri, ci): Loc) -> &CheckerRt {
        &self.vss[vi].rss[ri].checkers[ci]
    }

    fn checker_mut(&mut self, (vi, ri, ci): Loc) -> &mut CheckerRt {
        &mut self.vss[vi].rss[ri].checkers[ci]
    }

    /// `clear_services()`: every server leaves; with `omega` the down notifiers run
    /// (`clear_service_rs()`, `update_vs_notifies(stopping)`).
    fn shutdown(&mut self) {
        for vi in 0..self.vss.len() {
            let omega = self.vss[vi].cfg.omega;
            let vl = self.vss[vi].label.clone();
            for ri in 0..self.vss[vi].rss.len() {
                let rl = self.vss[vi].rss[ri].label.clone();
                self.log(
                    Some(&vl),
                    Some(&rl),
                    format!("Shutting down service {rl} from VS {vl}"),
                );
                if !self.vss[vi].rss[ri].alive {
                    continue;
                }
                self.vss[vi].rss[ri].alive = false;
                if omega {
                    self.rs_notifies(vi, ri);
                    if self.vss[vi].rss[ri].cfg.smtp_alert {
                        let subject = format!("Realserver {rl} of virtual server {vl} - DOWN");
                        self.smtp(subject, "=> Shutting down <=".into());
                    }
                }
            }
            let v = &mut self.vss[vi];
            v.quorum_up = false;
            v.sorry_active = false;
            let threshold = i64::from(v.quorum) - i64::from(v.hysteresis);
            self.vs_notifies(vi, false, threshold, 0, true);
        }
        let ops = diff(&self.desired(), &IpvsState::default());
        self.out.extend(ops.into_iter().map(CheckOutput::Ipvs));
        for v in &mut self.vss {
            v.ipvs.clear();
        }
        // clear_vs_fwmark() for each virtual server.
        self.fwmark_ranges.clear();
        self.timers.clear();
        self.stopped = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_str;

    #[test]
    fn the_output_queue_gives_back_a_start_burst_once_drained() {
        let mut conf = String::new();
        for v in 0..4 {
            conf.push_str(&format!(
                "virtual_server 10.0.0.{} 80 {{\n  lb_kind NAT\n  protocol TCP\n",
                v + 1
            ));
            for r in 0..250 {
                conf.push_str(&format!(
                    "  real_server 10.1.{v}.{} 80 {{\n    TCP_CHECK {{\n    }}\n  }}\n",
                    r + 1
                ));
            }
            conf.push_str("}\n");
        }
        let config = parse_str(&conf, &Default::default()).config;
        let mut engine = CheckEngine::new(config, Instant::ZERO, 1);
        let burst = engine.out.len();
        assert!(burst >= 1_000, "the start queued {burst} outputs");
        while engine.poll_output().is_some() {}
        assert!(
            engine.out.capacity() <= OUT_KEPT,
            "a drained queue holds {} slots",
            engine.out.capacity()
        );
    }
}
