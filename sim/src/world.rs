//! What the simulated hosts report and the runner checks: each host's instances, the
//! addresses it holds, the links between hosts, the timeline, and the invariants.

use std::collections::{BTreeMap, BTreeSet};

use keepalived_engine::check::{RsStatus, VsStatus};
use keepalived_engine::config::model::{Config, Schedule};
use keepalived_engine::vrrp::State;
use keepalived_engine::wire::Family;
use tokio::sync::mpsc::UnboundedSender;

use crate::host::Control;
use crate::scenario::Inject;

/// One line of the timeline.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TraceLine {
    /// Simulated seconds.
    pub t: f64,
    pub host: String,
    pub what: String,
}

/// A broken invariant, with when and who.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Violation {
    pub t: f64,
    pub invariant: &'static str,
    pub hosts: Vec<String>,
    pub detail: String,
}

/// An instance as the checker sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct InstView {
    pub vrid: u8,
    pub family: Family,
    pub state: State,
    pub since: f64,
    pub priority: u8,
    pub nopreempt: bool,
    pub preempt_delay: bool,
    /// Upper bound of the master-down interval: (down_timer_adverts + 1) × advert_int.
    pub bound: f64,
    pub sync: Option<String>,
    pub vips: usize,
    pub garp_repeat: u32,
    pub garp_paced: bool,
    /// The host's GARP count when this instance's takeover began (its first address
    /// going on): the burst goes out before the state change is reported.
    pub garps_at_takeover: Option<usize>,
}

#[derive(Debug, Default)]
pub struct HostState {
    pub name: String,
    pub segment: String,
    pub addr: u32,
    pub alive: bool,
    pub paused_until: f64,
    pub link_up: bool,
    pub config_text: String,
    pub control: Option<UnboundedSender<Control>>,
    pub inst: BTreeMap<String, InstView>,
    pub held: BTreeSet<String>,
    pub garps: usize,
    pub scripts_ok: BTreeMap<String, bool>,
    pub clock: (i64, i64),
    /// Became master at (time, instance): GARPs needed by a deadline.
    pub garp_due: Vec<(f64, String, usize)>,
    /// A real_server host: its listeners are bound (false before start and once crashed).
    pub listening: bool,
    /// A real_server host that stopped accepting (`hang`).
    pub hung: bool,
    /// A real_server host whose service is stopped (`refuse`): connects are refused.
    pub refusing: bool,
    /// A real_server host's ports.
    pub listen: Vec<u16>,
    pub inject: Option<Inject>,
    /// How many times its software started.
    pub restarts: u32,
}

#[derive(Debug, Default)]
pub struct World {
    pub now: f64,
    /// The run's seed (checker warmups draw from it).
    pub seed: u64,
    pub hosts: Vec<HostState>,
    pub trace: Vec<TraceLine>,
    /// Directed cuts: (from, to) cannot deliver.
    pub cut: BTreeSet<(usize, usize)>,
    pub violations: Vec<Violation>,
    /// When each persisting bad condition was first seen.
    pending: BTreeMap<Key, f64>,
    reported: BTreeSet<Key>,
    /// For each pair of hosts: whether they hear each other, and since when.
    mutual: BTreeMap<(usize, usize), (bool, f64)>,
    /// Slack for delivery and tick granularity, in seconds.
    pub slack: f64,
    /// For each VIP once first held: the seconds nobody has held it since.
    vip_gaps: BTreeMap<String, f64>,
    /// Held links (unordered pair, low index first), with when they are released if known.
    pub holds: BTreeMap<(usize, usize), Option<f64>>,
    /// Fixed one-way latency set on a link (unordered pair), in seconds.
    pub latency: BTreeMap<(usize, usize), f64>,
    /// The default link's largest one-way latency, in seconds.
    pub base_latency: f64,
    /// Each running checker host's engine as last observed.
    pub checkers: BTreeMap<usize, CheckerView>,
    /// Ground truth and deadlines per (checker host, real server index).
    rs_tracks: BTreeMap<(usize, usize), RsTrack>,
    /// Real servers declared down (FIFO `RS … DOWN`, a `Removing`/`Disabling` log line
    /// or the alive flag falling): (checker host, real server label, when).
    pub declared_down: Vec<(usize, String, f64)>,
}

/// What a checker host's engine says, refreshed after each of its steps.
#[derive(Debug, Clone)]
pub struct CheckerView {
    /// Simulated seconds at which this engine started (its `Instant` zero).
    pub start: f64,
    pub rss: Vec<RsStatus>,
    pub vss: Vec<VsStatus>,
    /// For each real server (the order of `rss`): the host its checkers probe and their
    /// schedules.
    pub specs: Vec<RsSpec>,
}

#[derive(Debug, Clone)]
pub struct RsSpec {
    pub host: usize,
    pub schedules: Vec<Schedule>,
}

/// A real server's reachability from its checker host, and what the bounds ask of the
/// checker.
#[derive(Debug, Clone)]
struct RsTrack {
    reachable: bool,
    /// The last time it was seen unreachable (its checker's start if never).
    last_unreachable: f64,
    /// While unreachable: declared down by then.
    down_by: f64,
    /// While reachable: declared up by then.
    up_by: f64,
    alive: bool,
    reported: bool,
}

fn secs(us: u64) -> f64 {
    us as f64 / 1e6
}

/// One running host's instance, as the invariants compare them.
#[derive(Debug, Clone, Copy)]
struct Member {
    host: usize,
    vrid: u8,
    family: Family,
    state: State,
    priority: u8,
    bound: f64,
    /// nopreempt or preempt_delay: may rightly wait below a lower master.
    holds: bool,
    sync: bool,
}

/// A persisting condition: which invariant, VRID (or group index), and the hosts.
type Key = (u8, u32, usize, usize);

/// The view of an instance a config gives, before the host reports anything.
pub fn inst_views(cfg: &Config) -> BTreeMap<String, InstView> {
    let group_of = |name: &str| {
        cfg.sync_groups
            .iter()
            .find(|g| g.members.iter().any(|m| m == name))
            .map(|g| g.name.clone())
    };
    cfg.instances
        .iter()
        .map(|vi| {
            let family = if vi.is_ipv6() { Family::V6 } else { Family::V4 };
            let int = vi.advert_int_us as f64 / 1e6;
            (
                vi.name.clone(),
                InstView {
                    vrid: vi.virtual_router_id,
                    family,
                    state: State::Init,
                    since: 0.0,
                    priority: vi.priority,
                    nopreempt: vi.nopreempt,
                    preempt_delay: vi.preempt_delay_us > 0,
                    bound: f64::from(vi.down_timer_adverts + 1) * int,
                    sync: group_of(&vi.name),
                    vips: vi.virtual_ipaddress.len() + vi.virtual_ipaddress_excluded.len(),
                    garp_repeat: vi.garp_master_repeat,
                    garp_paced: cfg.global.vrrp_garp_interval_us > 0
                        || cfg.global.vrrp_gna_interval_us > 0
                        || !cfg.garp_groups.is_empty(),
                    garps_at_takeover: None,
                },
            )
        })
        .collect()
}

impl World {
    /// `slack`: seconds allowed beyond a protocol bound for delivery and tick granularity.
    pub fn with_slack(slack: f64) -> World {
        World {
            slack,
            ..World::default()
        }
    }

    pub fn log(&mut self, host: usize, what: String) {
        let t = self.now;
        let name = self.hosts[host].name.clone();
        self.trace.push(TraceLine {
            t,
            host: name,
            what,
        });
    }

    /// Merges repeated GARPs/NAs for one address at one instant into one line.
    pub fn log_garp(&mut self, host: usize, what: String) {
        let t = self.now;
        let name = &self.hosts[host].name;
        if let Some(last) = self.trace.last_mut() {
            if last.t == t && &last.host == name {
                if let Some(rest) = last.what.strip_prefix(&what) {
                    let n = rest.trim_start_matches(" x").parse::<usize>().unwrap_or(1);
                    last.what = format!("{what} x{}", n + 1);
                    return;
                }
            }
        }
        self.log(host, what);
    }

    fn running(&self, h: usize) -> bool {
        let s = &self.hosts[h];
        s.alive && s.paused_until <= self.now
    }

    /// Whether `to` receives what `from` sends now.
    pub fn hears(&self, to: usize, from: usize) -> bool {
        if to == from {
            return self.running(to);
        }
        let (a, b) = (&self.hosts[from], &self.hosts[to]);
        self.running(from)
            && self.running(to)
            && a.link_up
            && b.link_up
            && a.segment == b.segment
            && !self.cut.contains(&(from, to))
    }

    /// Records a bad condition that must not last longer than `allowed`; the message is
    /// built only when it is reported.
    fn persist(
        &mut self,
        key: Key,
        bad: bool,
        allowed: f64,
        invariant: &'static str,
        describe: impl FnOnce(&World) -> (Vec<String>, String),
    ) {
        if !bad {
            if !self.pending.is_empty() {
                self.pending.remove(&key);
            }
            return;
        }
        let first = *self.pending.entry(key).or_insert(self.now);
        if self.now - first > allowed && !self.reported.contains(&key) {
            self.reported.insert(key);
            let (hosts, detail) = describe(self);
            self.violations.push(Violation {
                t: self.now,
                invariant,
                hosts,
                detail,
            });
        }
    }

    /// Checks every invariant at the current time.
    pub fn check(&mut self) {
        self.check_checkers();
        let n = self.hosts.len();
        let slack = self.slack;
        for a in 0..n {
            for b in a + 1..n {
                let m = self.hears(a, b) && self.hears(b, a);
                let now = self.now;
                let e = self.mutual.entry((a, b)).or_insert((m, 0.0));
                if e.0 != m {
                    *e = (m, now);
                }
            }
        }
        let mut members: Vec<Member> = Vec::new();
        for h in (0..n).filter(|&h| self.running(h)) {
            for i in self.hosts[h].inst.values() {
                members.push(Member {
                    host: h,
                    vrid: i.vrid,
                    family: i.family,
                    state: i.state,
                    priority: i.priority,
                    bound: i.bound,
                    holds: i.nopreempt || i.preempt_delay,
                    sync: i.sync.is_some(),
                });
            }
        }
        for x in 0..members.len() {
            let Member {
                host: a,
                vrid,
                family: fam,
                state: sa,
                priority: pa,
                bound: ba,
                holds: holds_a,
                sync: sync_a,
            } = members[x];
            let vr = u32::from(vrid) | (u32::from(fam == Family::V6) << 8);
            let eligible = matches!(sa, State::Backup | State::Master);
            // 2. A master exists for every eligible host.
            let sees_master = members.iter().any(|m| {
                m.vrid == vrid
                    && m.family == fam
                    && m.state == State::Master
                    && self.hears(a, m.host)
            });
            let bad = eligible && self.hosts[a].link_up && !sees_master;
            self.persist(
                (2, vr, a, a),
                bad,
                ba + slack,
                "a MASTER exists whenever an eligible host is up and connected",
                |w| {
                    let name = w.hosts[a].name.clone();
                    (
                        vec![name.clone()],
                        format!("VRID {vrid}: {name} is {sa:?} and hears no MASTER"),
                    )
                },
            );
            for &Member {
                host: b,
                vrid: vb,
                family: fb,
                state: sb,
                priority: pb,
                bound: bb,
                holds: holds_b,
                sync: sync_b,
            } in &members[x + 1..]
            {
                if vb != vrid || fb != fam || a == b {
                    continue;
                }
                let (mutual, since) = self
                    .mutual
                    .get(&(a.min(b), a.max(b)))
                    .copied()
                    .unwrap_or((false, 0.0));
                // 1. At most one master among hosts that hear each other, once a
                // master-down interval has passed since they last could not.
                let settled = self.now - since > ba.max(bb);
                let bad = sa == State::Master && sb == State::Master && mutual && settled;
                self.persist(
                    (1, vr, a, b),
                    bad,
                    slack,
                    "at most one MASTER per VRID among hosts that hear each other",
                    |w| {
                        let (na, nb) = (w.hosts[a].name.clone(), w.hosts[b].name.clone());
                        (
                            vec![na.clone(), nb.clone()],
                            format!("VRID {vrid}: {na} and {nb} are both MASTER"),
                        )
                    },
                );
                // 3. The master has the highest effective priority, address breaking ties.
                for (m, pm, bk, pk, sk, holds, sync) in [
                    (a, pa, b, pb, sb, holds_b, sync_a || sync_b),
                    (b, pb, a, pa, sa, holds_a, sync_a || sync_b),
                ] {
                    let master = if m == a { sa } else { sb };
                    let higher = pk > pm || (pk == pm && self.hosts[bk].addr > self.hosts[m].addr);
                    let bad = master == State::Master
                        && sk == State::Backup
                        && higher
                        && !holds
                        && !sync
                        && mutual;
                    self.persist(
                        (3, vr, m, bk),
                        bad,
                        ba.max(bb) + slack,
                        "the MASTER has the highest effective priority",
                        |w| {
                            let (nm, nb) = (w.hosts[m].name.clone(), w.hosts[bk].name.clone());
                            (
                                vec![nm.clone(), nb.clone()],
                                format!(
                                    "VRID {vrid}: {nm} is MASTER at {pm} but {nb} waits at {pk}"
                                ),
                            )
                        },
                    );
                }
            }
        }
        // 4. Sync group members share a state.
        for h in 0..n {
            if !self.running(h) {
                continue;
            }
            let mut groups: BTreeMap<&str, (State, bool)> = BTreeMap::new();
            for i in self.hosts[h].inst.values() {
                if let Some(g) = &i.sync {
                    let e = groups.entry(g.as_str()).or_insert((i.state, false));
                    e.1 |= e.0 != i.state;
                }
            }
            let groups: Vec<(String, bool)> = groups
                .into_iter()
                .map(|(g, (_, differ))| (g.to_string(), differ))
                .collect();
            for (k, (g, differ)) in groups.into_iter().enumerate() {
                self.persist(
                    (4, k as u32, h, h),
                    differ,
                    slack,
                    "sync group members share a state",
                    |w| {
                        let name = w.hosts[h].name.clone();
                        let states: Vec<String> = w.hosts[h]
                            .inst
                            .iter()
                            .filter(|(_, i)| i.sync.as_deref() == Some(g.as_str()))
                            .map(|(n, i)| format!("{n} {:?}", i.state))
                            .collect();
                        (
                            vec![name.clone()],
                            format!("group {g} on {name}: {}", states.join(", ")),
                        )
                    },
                );
            }
        }
        // 5. A new master sends its GARP burst.
        for h in 0..n {
            if self.hosts[h].garp_due.is_empty() {
                continue;
            }
            let due = std::mem::take(&mut self.hosts[h].garp_due);
            let mut keep = Vec::new();
            for (t, inst, needed) in due {
                let still_master = self.hosts[h]
                    .inst
                    .get(&inst)
                    .is_some_and(|i| i.state == State::Master);
                if !still_master || !self.running(h) {
                    continue;
                }
                if self.now >= t {
                    if self.hosts[h].garps < needed {
                        let name = self.hosts[h].name.clone();
                        self.violations.push(Violation {
                            t: self.now,
                            invariant: "a new master sends its GARP bursts as configured",
                            hosts: vec![name.clone()],
                            detail: format!(
                                "{name} {inst}: {} of {needed} GARPs/NAs",
                                self.hosts[h].garps
                            ),
                        });
                    }
                } else {
                    keep.push((t, inst, needed));
                }
            }
            self.hosts[h].garp_due = keep;
        }
    }

    /// Adds `dt` seconds to each VIP's unheld time, once it has been held.
    pub fn account_vips(&mut self, dt: f64) {
        for (v, gap) in self.vip_gaps.iter_mut() {
            if !self.hosts.iter().any(|h| h.alive && h.held.contains(v)) {
                *gap += dt;
            }
        }
    }

    /// A VIP was added somewhere: from now on its gaps count.
    pub fn vip_held(&mut self, vip: &str) {
        if !self.vip_gaps.contains_key(vip) {
            self.vip_gaps.insert(vip.to_string(), 0.0);
        }
    }

    pub fn vip_gap(&self, vip: &str) -> Option<f64> {
        self.vip_gaps.get(vip).copied()
    }
}

impl World {
    fn pair(a: usize, b: usize) -> (usize, usize) {
        (a.min(b), a.max(b))
    }

    /// One-way latency from the checker to the real server host (turmoil completes a
    /// connect when the listener accepts the SYN: the SYN-ACK crosses no link).
    pub fn link_latency(&self, a: usize, b: usize) -> f64 {
        self.latency
            .get(&Self::pair(a, b))
            .copied()
            .unwrap_or(self.base_latency)
    }

    /// Whether a TCP connect from `checker` to `rs` started now completes within `ct`
    /// seconds, with `slack` to spare: the host runs and accepts, and the SYN's latency
    /// plus any hold left before its release fit.
    fn answers_within(&self, checker: usize, rs: usize, ct: f64) -> bool {
        let h = &self.hosts[rs];
        if !h.alive || !h.listening || h.hung || h.refusing || self.cut.contains(&(checker, rs)) {
            return false;
        }
        let lat = self.link_latency(checker, rs);
        let wait = match self.holds.get(&Self::pair(checker, rs)) {
            None => 0.0,
            Some(Some(release)) => (release - self.now).max(0.0),
            Some(None) => return false,
        };
        wait + lat + self.slack < ct
    }

    /// Invariants of checker hosts (the bounds are spelled out in `crate::checker`):
    /// (a) a real server answering within its connect timeout is never declared down;
    /// (b) an unreachable one is declared down by its bound;
    /// (c) a reachable one is declared up by its bound;
    /// (d) a virtual server's quorum follows, by the same bounds.
    fn check_checkers(&mut self) {
        let now = self.now;
        let slack = self.slack;
        let downs = std::mem::take(&mut self.declared_down);
        let views: Vec<(usize, CheckerView)> = self
            .checkers
            .iter()
            .filter(|(c, _)| self.hosts[**c].alive)
            .map(|(c, v)| (*c, v.clone()))
            .collect();
        for (c, view) in views {
            for (ri, (st, spec)) in view.rss.iter().zip(&view.specs).enumerate() {
                let ct_min = spec
                    .schedules
                    .iter()
                    .map(|s| secs(s.connect_timeout_us))
                    .fold(f64::INFINITY, f64::min);
                let ct_max = spec
                    .schedules
                    .iter()
                    .map(|s| secs(s.connect_timeout_us))
                    .fold(0.0, f64::max);
                let lat = self.link_latency(c, spec.host);
                let reach = self.answers_within(c, spec.host, ct_min);
                // A stopped service on a reachable host refuses: each probe fails after a
                // round trip instead of a connect_timeout, so the bound
                // delay_loop + retry × delay_before_retry + connect_timeout applies.
                let refused = {
                    let h = &self.hosts[spec.host];
                    h.alive
                        && h.refusing
                        && !h.hung
                        && !self.cut.contains(&(c, spec.host))
                        && !self.holds.contains_key(&Self::pair(c, spec.host))
                };
                let deadlines = |t: f64| -> (f64, f64) {
                    // Per checker: a first run not yet made fails the server at once
                    // (retry_it = retry at start); otherwise a success may still land
                    // `lat` after t, the next run comes a delay_loop (or a
                    // delay_before_retry, if longer) later, and retry + 1 runs must fail,
                    // each taking up to connect_timeout, delay_before_retry apart.
                    let mut down = f64::INFINITY;
                    let mut up: f64 = t;
                    for (s, cs) in spec.schedules.iter().zip(&st.checkers) {
                        let (dl, ct, dbr) = (
                            secs(s.delay_loop_us),
                            secs(s.connect_timeout_us),
                            secs(s.delay_before_retry_us),
                        );
                        let first = (!cs.has_run && !cs.in_flight)
                            .then(|| cs.next_run.map(|n| view.start + secs(n.as_micros())))
                            .flatten();
                        // How long one failing probe takes: a refusal comes back after a
                        // round trip, silence after connect_timeout.
                        let fail = if refused { (2.0 * lat).min(ct) } else { ct };
                        let d = match first {
                            Some(n) => n.max(t) + fail,
                            None => {
                                t + lat + dl.max(dbr) + f64::from(s.retry) * (dbr + fail) + fail
                            }
                        };
                        // Up again: a probe out at t may fail up to connect_timeout
                        // later; the next comes a delay_loop after and takes `lat`.
                        let u = match first {
                            Some(n) => n.max(t) + lat,
                            None => t + ct + dl.max(dbr) + lat,
                        };
                        down = down.min(d);
                        up = up.max(u);
                    }
                    (down + slack, up + slack)
                };
                let tr = self.rs_tracks.entry((c, ri)).or_insert_with(|| {
                    let (d, u) = deadlines(now);
                    RsTrack {
                        reachable: reach,
                        last_unreachable: if reach { view.start } else { now },
                        down_by: d,
                        up_by: u,
                        alive: st.alive,
                        reported: false,
                    }
                });
                if tr.reachable != reach {
                    let (d, u) = deadlines(now);
                    tr.reachable = reach;
                    tr.down_by = d;
                    tr.up_by = u;
                    tr.reported = false;
                }
                if !reach {
                    tr.last_unreachable = now;
                }
                let fell = tr.alive && !st.alive;
                tr.alive = st.alive;
                let tr = tr.clone();
                let name = self.hosts[c].name.clone();
                let rs_name = self.hosts[spec.host].name.clone();
                // (a) Every declaration of down, at the moment it is made.
                let mut times: Vec<f64> = downs
                    .iter()
                    .filter(|(h, l, _)| *h == c && *l == st.label)
                    .map(|d| d.2)
                    .collect();
                if fell {
                    times.push(now);
                }
                let answering_since = tr.last_unreachable;
                // The last failing probe started at most connect_timeout before the
                // declaration; had the server answered within the timeout all along
                // since then, that probe could not have failed.
                if let Some(&t) = times
                    .iter()
                    .find(|&&t| reach && t - answering_since > ct_max + lat + slack)
                {
                    self.violations.push(Violation {
                        t,
                        invariant: "a real server answering within its connect timeout is never declared down",
                        hosts: vec![name.clone(), rs_name.clone()],
                        detail: format!(
                            "{name} declared {} ({rs_name}) down at {t:.3} s; it has answered within {ct_min} s since {answering_since:.3} s",
                            st.label
                        ),
                    });
                }
                // (b) and (c): the deadlines.
                let late = if !reach && st.alive && now > tr.down_by {
                    Some((
                        if refused {
                            "a refusing real server is declared down within delay_loop + retry × delay_before_retry + connect_timeout"
                        } else {
                            "an unreachable real server is declared down within delay_loop + retry × (delay_before_retry + connect_timeout) + connect_timeout"
                        },
                        "down",
                        tr.down_by,
                    ))
                } else if reach && !st.alive && now > tr.up_by {
                    Some(("a recovered real server is declared up within delay_loop + connect_timeout", "up", tr.up_by))
                } else {
                    None
                };
                if let Some((inv, word, by)) = late {
                    if !tr.reported {
                        if let Some(t) = self.rs_tracks.get_mut(&(c, ri)) {
                            t.reported = true;
                        }
                        self.violations.push(Violation {
                            t: now,
                            invariant: inv,
                            hosts: vec![name.clone(), rs_name.clone()],
                            detail: format!(
                                "{name} still has {} ({rs_name}) {} at {now:.3} s; it should be {word} by {by:.3} s",
                                st.label,
                                if word == "down" { "up" } else { "down" }
                            ),
                        });
                    }
                }
            }
            // (d) Quorum follows the same bounds: once every unreachable server of a
            // virtual server is past its down deadline and the reachable weight is below
            // quorum − hysteresis (or 0), quorum is down; once every reachable one is past
            // its up deadline and their weight reaches quorum + hysteresis, it is up.
            for (vi, vs) in view.vss.iter().enumerate() {
                if vs.suspended {
                    continue;
                }
                let (mut reach_w, mut down_due, mut up_due) = (0i64, true, true);
                for (ri, st) in view.rss.iter().enumerate() {
                    if st.virtual_server != vs.label {
                        continue;
                    }
                    let Some(tr) = self.rs_tracks.get(&(c, ri)) else {
                        continue;
                    };
                    if tr.reachable {
                        reach_w += st.effective_weight.max(0);
                        up_due &= now > tr.up_by;
                    } else {
                        down_due &= now > tr.down_by;
                    }
                }
                let (q, h) = (i64::from(vs.quorum), i64::from(vs.hysteresis));
                let must_down = down_due && (reach_w == 0 || reach_w < q - h);
                let must_up = up_due && reach_w >= q + h;
                let bad = (must_down && vs.quorum_up) || (must_up && !vs.quorum_up);
                let label = vs.label.clone();
                let want = if must_down { "DOWN" } else { "UP" };
                self.persist(
                    (6, vi as u32, c, c),
                    bad,
                    0.0,
                    "a virtual server's quorum follows its real servers within their bounds",
                    |w| {
                        let name = w.hosts[c].name.clone();
                        (
                            vec![name.clone()],
                            format!(
                                "{name}: {label} should have quorum {want} (reachable weight {reach_w}, quorum {q}, hysteresis {h})"
                            ),
                        )
                    },
                );
            }
        }
    }

    /// A checker host (re)started its engine: its old tracks go.
    pub fn checker_started(&mut self, c: usize, view: CheckerView) {
        self.rs_tracks.retain(|(h, _), _| *h != c);
        self.checkers.insert(c, view);
    }
}
