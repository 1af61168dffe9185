//! What the simulated hosts report and the runner checks: each host's instances, the
//! addresses it holds, the links between hosts, the timeline, and the invariants.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::Arc;

use keepalived_engine::check::http::{evaluate_status_and_digest, Parser};
use keepalived_engine::check::{RsStatus, VsStatus};
use keepalived_engine::config::model::{
    BfdInstance, CheckerKind, Config, RealServer, Schedule, Url,
};
use keepalived_engine::vrrp::State;
use keepalived_engine::wire::Family;
use tokio::sync::mpsc::UnboundedSender;

use crate::host::{Control, Iface};
use crate::scenario::{HttpAnswer, Inject};

/// One event of the timeline, structured for a JSONL trace and readable as `detail`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TraceLine {
    /// Simulated seconds.
    pub t: f64,
    pub host: String,
    pub kind: Kind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// A state change's old and new state, as keepalived names them (`BACKUP`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Why: a state change's reason, a fault's action.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The line a person reads.
    pub detail: String,
}

/// What a trace line records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A VRRP instance changed state.
    State,
    /// A VRRP instance's effective priority changed.
    Priority,
    /// A virtual address was added to or removed from the host.
    AddressAdd,
    AddressDel,
    /// Gratuitous ARPs or unsolicited neighbour advertisements.
    Garp,
    /// A notify script or FIFO line.
    Notify,
    /// A fault or event the scenario scheduled.
    Fault,
    /// The checker's log: a real server or virtual server changed.
    Checker,
    /// A BFD session's state as the engine told its clients (`bfd_event_send()`).
    Bfd,
}

/// A state as the trace spells it: keepalived's words, INIT for the state before the
/// first (which keepalived's notify calls `{UNKNOWN}`).
pub fn state_word(s: State) -> &'static str {
    match s {
        State::Init => "INIT",
        other => other.notify_word(),
    }
}

/// A broken invariant, with when and who.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Violation {
    pub t: f64,
    pub invariant: &'static str,
    pub hosts: Vec<String>,
    pub detail: String,
}

impl std::fmt::Display for Violation {
    /// `at 12.345 s [a, b]: invariant (detail)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "at {:.3} s [{}]: {} ({})",
            self.t,
            self.hosts.join(", "),
            self.invariant,
            self.detail
        )
    }
}

/// An instance as the checker sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct InstView {
    pub vrid: u8,
    /// The segment its interface is on.
    pub segment: usize,
    /// Its interface's index on the host.
    pub iface: usize,
    /// Its advert source, for the address tie-break.
    pub addr: u32,
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
    pub ifaces: Vec<Iface>,
    /// Each interface's carrier.
    pub links: Vec<bool>,
    pub alive: bool,
    pub paused_until: f64,
    pub config: Arc<Config>,
    pub control: Option<UnboundedSender<Control>>,
    /// The checker side of a VRRP host that also runs one.
    pub checker_control: Option<UnboundedSender<Control>>,
    /// The BFD side of a host whose config has `bfd_instance` blocks.
    pub bfd_control: Option<UnboundedSender<Control>>,
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
    /// A real_server host's HTTP answers.
    pub http: Vec<HttpAnswer>,
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
    /// Directed cuts on every segment: (from, to) cannot deliver.
    pub cut: BTreeSet<(usize, usize)>,
    /// Directed cuts on one segment: (segment, from, to).
    pub seg_cut: BTreeSet<(usize, usize, usize)>,
    /// Advert loss on a segment: rate, and the hosts it touches (all when empty).
    pub seg_loss: BTreeMap<usize, (f64, Vec<usize>)>,
    /// Added one-way delay on a segment, in seconds, and the hosts it touches.
    pub seg_latency: BTreeMap<usize, (f64, Vec<usize>)>,
    /// The segment names, for messages.
    pub segments: Vec<String>,
    pub violations: Vec<Violation>,
    /// When each persisting bad condition was first seen.
    pending: BTreeMap<Key, f64>,
    reported: BTreeSet<Key>,
    /// For each pair of hosts and segment: whether they hear each other, and since when.
    mutual: BTreeMap<(usize, usize, usize), (bool, f64)>,
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
    /// Every BFD session of every host running a BFD side, by (host, session name).
    pub bfd: BTreeMap<(usize, String), BfdView>,
    /// What a BFD session's detection time is allowed beyond itself before an Up session
    /// is caught (see [`World::check_bfd`]), in seconds.
    pub bfd_slack: f64,
    /// Each running BFD side's clock as its loop reads it: when it started (simulated
    /// seconds, its engine's zero) and the latest engine time it reached before the
    /// host's clock last changed (seconds), since the loop never tells its engine an
    /// earlier time than it already has.
    pub bfd_clock: BTreeMap<usize, (f64, f64)>,
}

/// A BFD session as the invariant follows it: its configuration, the state its clients
/// were last told, and the last control packet from its neighbour the engine was handed.
#[derive(Debug, Clone, PartialEq)]
pub struct BfdView {
    pub neighbor: Option<IpAddr>,
    pub source: Option<IpAddr>,
    /// bfd.RequiredMinRxInterval in seconds as the Detection Time uses it: a reload
    /// while Up that raises it applies at once, one that lowers it only when the Poll
    /// Sequence carrying it ends (RFC 5880 §6.8.3; the engine's `prev_min_rx`), and
    /// while not Up the configured one applies.
    pub min_rx: f64,
    /// A lowered bfd.RequiredMinRxInterval waiting for its Poll Sequence to end, and
    /// whether a Poll has gone out since it was configured (a Final before that answers
    /// an older Poll and ends nothing).
    pub lowered: Option<(f64, bool)>,
    /// The neighbour's Detect Mult, from its last packet.
    pub remote_mult: u8,
    /// When by the host's BFD clock the last packet from the neighbour was heard.
    pub heard_at: Option<f64>,
    pub up: bool,
    /// The neighbour's Desired Min TX Interval in seconds, as the session has agreed it:
    /// taken from each packet while the session is not Up, and while Up only from a
    /// packet with Poll or Final, since a changed interval applies only once a Poll
    /// Sequence has ended (RFC 5880 §6.8.3; `bfd_handle_packet()` does the same).
    pub remote_tx: f64,
    /// The last packet from the neighbour: when (simulated seconds), and when by the
    /// host's BFD clock (`World::bfd_engine_time`) the detection time it sets (RFC 5880
    /// §6.8.4: its Detect Mult × the greater of our Required Min RX and the agreed
    /// Desired Min TX) ends, in seconds: the engine times it on that clock, which a
    /// drift makes run fast or slow and a `clock` event may set back.
    pub last_rx: Option<(f64, f64)>,
    /// The current Up period was reported as a violation.
    pub reported: bool,
}

/// What the detection time takes from a BFD control packet (RFC 5880 §4.1): its Detect
/// Mult (byte 2), its Desired Min TX Interval in µs (bytes 12–15), and whether it
/// carries Poll or Final (byte 1, 0x20 and 0x10); `None` unless it is long enough to be
/// one and says version 1.
pub fn bfd_timers(bytes: &[u8]) -> Option<(u8, u32, bool)> {
    if bytes.len() < 24 || bytes[0] >> 5 != 1 || bytes[2] == 0 {
        return None;
    }
    let tx = u32::from_be_bytes([bytes[12], bytes[13], bytes[14], bytes[15]]);
    Some((bytes[2], tx, bytes[1] & 0x30 != 0))
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
    /// For each of its checkers (the order of `schedules`), its HTTP_GET URLs (0 for
    /// other checkers).
    pub http: Vec<usize>,
    /// What its checkers ask of it.
    pub wants: Vec<Want>,
}

/// What one checker of a real server asks.
#[derive(Debug, Clone)]
pub enum Want {
    /// TCP_CHECK: a connect.
    Connect,
    /// HTTP_GET: this URL answered with a status and digest it accepts.
    Get(Url),
    /// MISC_CHECK: this command line exits 0 (by the scenario's `script` events).
    Misc(String),
    /// BFD_CHECK: this `bfd_instance` of the checker's host is Up, as its BFD engine last
    /// told its clients (whether that is true is `World::check_bfd`'s to say).
    Bfd(String),
}

impl RsSpec {
    /// Checker host `checker`'s view of `rs`: the host holding its address (or the
    /// checker's own, for MISC_CHECK alone) and what each checker asks.
    pub fn new(rs: &RealServer, hosts: &[HostState], checker: usize) -> RsSpec {
        let ip = rs
            .checkers
            .iter()
            .find_map(|c| c.connection.connect_ip)
            .unwrap_or(rs.address);
        let host = hosts
            .iter()
            .position(|h| h.ifaces.iter().any(|i| i.holds(ip)))
            .unwrap_or(checker);
        let mut wants = Vec::new();
        for c in &rs.checkers {
            match &c.kind {
                CheckerKind::HttpGet(h) => wants.extend(h.urls.iter().cloned().map(Want::Get)),
                CheckerKind::MiscCheck(m) => wants.push(Want::Misc(
                    m.misc_path
                        .as_ref()
                        .map(|c| c.argv.join(" "))
                        .unwrap_or_default(),
                )),
                CheckerKind::BfdCheck { name } => {
                    wants.push(Want::Bfd(name.clone().unwrap_or_default()))
                }
                _ => wants.push(Want::Connect),
            }
        }
        RsSpec {
            host,
            schedules: rs.checkers.iter().map(|c| c.schedule.clone()).collect(),
            http: rs
                .checkers
                .iter()
                .map(|c| match &c.kind {
                    CheckerKind::HttpGet(h) => h.urls.len(),
                    _ => 0,
                })
                .collect(),
            wants,
        }
    }
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
    segment: usize,
    addr: u32,
    vrid: u8,
    family: Family,
    state: State,
    priority: u8,
    bound: f64,
    /// nopreempt or preempt_delay: may rightly wait below a lower master.
    holds: bool,
    /// Its sync group, numbered per check.
    group: Option<usize>,
}

/// A persisting condition: which invariant, VRID with family and segment (or a group
/// index), and the hosts.
type Key = (u8, u32, usize, usize);

/// The view of an instance a config gives, before the host reports anything.
pub fn inst_views(cfg: &Config, ifaces: &[Iface]) -> BTreeMap<String, InstView> {
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
            let k = crate::host::iface_of(ifaces, vi).unwrap_or(0);
            let addr = match vi.src_ip {
                Some(std::net::IpAddr::V4(a)) => u32::from(a),
                _ => ifaces.get(k).map_or(0, |i| u32::from(i.ipv4)),
            };
            (
                vi.name.clone(),
                InstView {
                    vrid: vi.virtual_router_id,
                    segment: ifaces.get(k).map_or(0, |i| i.segment),
                    iface: k,
                    addr,
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
    /// The loss rate and added one-way delay (seconds) `segment`'s faults put on a packet
    /// from host `sender` to host `receiver`: a fault that names hosts touches only packets
    /// from or to them.
    pub(crate) fn segment_faults(
        &self,
        segment: usize,
        sender: usize,
        receiver: usize,
    ) -> (f64, f64) {
        let touches = |hosts: &Vec<usize>| {
            hosts.is_empty() || hosts.contains(&sender) || hosts.contains(&receiver)
        };
        let loss = self
            .seg_loss
            .get(&segment)
            .filter(|(_, hs)| touches(hs))
            .map_or(0.0, |(r, _)| *r);
        let delay = self
            .seg_latency
            .get(&segment)
            .filter(|(_, hs)| touches(hs))
            .map_or(0.0, |(d, _)| *d);
        (loss, delay)
    }

    /// `slack`: seconds allowed beyond a protocol bound for delivery and tick granularity.
    pub fn with_slack(slack: f64) -> World {
        World {
            slack,
            ..World::default()
        }
    }

    /// Records a trace line of `kind` with only its text.
    pub fn log(&mut self, host: usize, kind: Kind, detail: String) {
        self.record(TraceLine {
            t: self.now,
            host: self.hosts[host].name.clone(),
            kind,
            instance: None,
            from: None,
            to: None,
            reason: None,
            detail,
        });
    }

    /// Records a trace line stamped now for `host`.
    pub fn record(&mut self, mut line: TraceLine) {
        line.t = self.now;
        self.trace.push(line);
    }

    /// Records a scheduled fault: on a host, or (`None`) on a segment or everywhere,
    /// written with an empty host.
    pub fn log_fault(&mut self, host: Option<usize>, action: &str, detail: String) {
        self.record(TraceLine {
            t: self.now,
            host: host.map_or(String::new(), |h| self.hosts[h].name.clone()),
            kind: Kind::Fault,
            instance: None,
            from: None,
            to: None,
            reason: Some(action.to_string()),
            detail,
        });
    }

    /// Merges repeated GARPs/NAs for one address at one instant into one line.
    pub fn log_garp(&mut self, host: usize, what: String) {
        let t = self.now;
        let name = &self.hosts[host].name;
        if let Some(last) = self.trace.last_mut() {
            if last.t == t && &last.host == name && last.kind == Kind::Garp {
                if let Some(rest) = last.detail.strip_prefix(&what) {
                    let n = rest.trim_start_matches(" x").parse::<usize>().unwrap_or(1);
                    last.detail = format!("{what} x{}", n + 1);
                    return;
                }
            }
        }
        self.log(host, Kind::Garp, what);
    }

    fn running(&self, h: usize) -> bool {
        let s = &self.hosts[h];
        s.alive && s.paused_until <= self.now
    }

    /// Host `h`'s interface on segment `seg` whose carrier is up.
    fn up_on(&self, h: usize, seg: usize) -> bool {
        let hs = &self.hosts[h];
        hs.ifaces
            .iter()
            .zip(&hs.links)
            .any(|(i, up)| i.segment == seg && *up)
    }

    /// Whether the network carries what `from` sends on segment `seg` to `to` (the hosts
    /// themselves aside): both are plugged in there with their carrier up, and no cut
    /// stands between them.
    pub fn carries(&self, seg: usize, from: usize, to: usize) -> bool {
        self.up_on(from, seg)
            && self.up_on(to, seg)
            && (from == to
                || (!self.cut.contains(&(from, to)) && !self.seg_cut.contains(&(seg, from, to))))
    }

    /// Whether `to` receives what `from` sends on segment `seg` now.
    pub fn hears(&self, seg: usize, to: usize, from: usize) -> bool {
        self.running(from) && self.running(to) && self.carries(seg, from, to)
    }

    /// Whether any segment carries `from`'s packets to `to`: what turmoil's transport
    /// (the checkers' TCP) between the two must follow.
    pub fn path(&self, from: usize, to: usize) -> bool {
        let segs: BTreeSet<usize> = self.hosts[from].ifaces.iter().map(|i| i.segment).collect();
        segs.into_iter().any(|s| self.carries(s, from, to))
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
        self.check_bfd();
        let n = self.hosts.len();
        let slack = self.slack;
        for seg in 0..self.segments.len() {
            for a in 0..n {
                for b in a + 1..n {
                    let m = self.hears(seg, a, b) && self.hears(seg, b, a);
                    let now = self.now;
                    let e = self.mutual.entry((a, b, seg)).or_insert((m, 0.0));
                    if e.0 != m {
                        *e = (m, now);
                    }
                }
            }
        }
        let mut members: Vec<Member> = Vec::new();
        let mut groups: Vec<&str> = Vec::new();
        for h in (0..n).filter(|&h| self.running(h)) {
            for i in self.hosts[h].inst.values() {
                let group = i.sync.as_deref().map(|g| {
                    groups.iter().position(|x| *x == g).unwrap_or_else(|| {
                        groups.push(g);
                        groups.len() - 1
                    })
                });
                members.push(Member {
                    host: h,
                    segment: i.segment,
                    addr: i.addr,
                    vrid: i.vrid,
                    family: i.family,
                    state: i.state,
                    priority: i.priority,
                    bound: i.bound,
                    holds: i.nopreempt || i.preempt_delay,
                    group,
                });
            }
        }
        let hears_master = |w: &World, m: &Member, outranking: bool| {
            members.iter().any(|o| {
                o.vrid == m.vrid
                    && o.family == m.family
                    && o.segment == m.segment
                    && o.state == State::Master
                    && w.hears(m.segment, m.host, o.host)
                    && (!outranking
                        || o.priority > m.priority
                        || (o.priority == m.priority && o.addr > m.addr))
            })
        };
        // Sync groups held back: a BACKUP member hears a master it may not preempt (one
        // that outranks it, or any with nopreempt or preempt_delay), so the group does
        // not take over (`vrrp_sync_can_goto_master()`), and its other members rightly
        // wait in BACKUP whatever they hear.
        let mut held_groups: BTreeSet<(usize, usize)> = BTreeSet::new();
        for m in &members {
            if let Some(g) = m.group {
                if m.state == State::Backup && hears_master(self, m, !m.holds) {
                    held_groups.insert((m.host, g));
                }
            }
        }
        let held = |m: &Member| m.group.is_some_and(|g| held_groups.contains(&(m.host, g)));
        for x in 0..members.len() {
            let Member {
                host: a,
                segment: seg,
                addr: addr_a,
                vrid,
                family: fam,
                state: sa,
                priority: pa,
                bound: ba,
                holds: holds_a,
                group: _,
            } = members[x];
            let held_a = held(&members[x]);
            let vr = u32::from(vrid) | (u32::from(fam == Family::V6) << 8) | (seg as u32) << 9;
            let eligible = matches!(sa, State::Backup | State::Master);
            // 2. A master exists for every eligible host, unless its sync group is held
            // back.
            let bad = eligible
                && self.up_on(a, seg)
                && !held_a
                && !hears_master(self, &members[x], false);
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
            for mb in &members[x + 1..] {
                let Member {
                    host: b,
                    segment: seg_b,
                    addr: addr_b,
                    vrid: vb,
                    family: fb,
                    state: sb,
                    priority: pb,
                    bound: bb,
                    holds: holds_b,
                    group: _,
                } = *mb;
                let held_b = held(mb);
                if vb != vrid || fb != fam || seg_b != seg || a == b {
                    continue;
                }
                let (mutual, since) = self
                    .mutual
                    .get(&(a.min(b), a.max(b), seg))
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
                    "at most one MASTER per VRID among hosts that hear each other (split brain)",
                    |w| {
                        let (na, nb) = (w.hosts[a].name.clone(), w.hosts[b].name.clone());
                        (
                            vec![na.clone(), nb.clone()],
                            format!("VRID {vrid}: {na} and {nb} are both MASTER"),
                        )
                    },
                );
                // 3. The master has the highest effective priority, address breaking ties.
                // A backup waits rightly with nopreempt or preempt_delay, or while its
                // sync group is held back.
                for (m, pm, am, bk, pk, ak, sk, waits) in [
                    (a, pa, addr_a, b, pb, addr_b, sb, holds_b || held_b),
                    (b, pb, addr_b, a, pa, addr_a, sa, holds_a || held_a),
                ] {
                    let master = if m == a { sa } else { sb };
                    let higher = pk > pm || (pk == pm && ak > am);
                    let bad = master == State::Master
                        && sk == State::Backup
                        && higher
                        && !waits
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
        if !h.alive || !h.listening || h.hung || h.refusing || !self.path(checker, rs) {
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

    /// Whether what `spec`'s checkers ask beyond a connect holds now, for checker host
    /// `c`: each URL's answer passes its status and digest, each MISC_CHECK's command
    /// succeeds.
    fn service_ok(&self, c: usize, spec: &RsSpec) -> bool {
        spec.wants.iter().all(|w| match w {
            Want::Connect => true,
            Want::Get(url) => {
                let request = format!("GET {} HTTP/1.0\r\n\r\n", url.path);
                let answer =
                    crate::checker::http_answer(&self.hosts[spec.host].http, request.as_bytes());
                let mut p = Parser::new(0);
                p.feed(&answer).is_ok()
                    && p.finish()
                        .is_ok_and(|r| evaluate_status_and_digest(url, &r).is_ok())
            }
            Want::Misc(cmd) => self.hosts[c].scripts_ok.get(cmd).copied().unwrap_or(true),
            Want::Bfd(name) => self.bfd.get(&(c, name.clone())).is_some_and(|v| v.up),
        })
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
                // BFD_CHECK alone: the server follows its session's state as the BFD
                // side reports it (`bfd_check_handle_event()`), with no probe between.
                let bfd_only =
                    !spec.wants.is_empty() && spec.wants.iter().all(|w| matches!(w, Want::Bfd(_)));
                let ct_max = if bfd_only {
                    0.0
                } else {
                    spec.schedules
                        .iter()
                        .map(|s| secs(s.connect_timeout_us))
                        .fold(0.0, f64::max)
                };
                let lat = if bfd_only {
                    0.0
                } else {
                    self.link_latency(c, spec.host)
                };
                let service = self.service_ok(c, spec);
                let local = spec
                    .wants
                    .iter()
                    .all(|w| matches!(w, Want::Misc(_) | Want::Bfd(_)));
                let connects = local || self.answers_within(c, spec.host, ct_min);
                let reach = connects && service;
                // A stopped service on a reachable host refuses, a server answering
                // with the wrong status or body fails its GET, a MISC_CHECK command
                // fails: each probe fails after a round trip (or the command's run)
                // instead of a connect_timeout, so the bound
                // delay_loop + retry × delay_before_retry + connect_timeout applies.
                let refused = (connects && !service) || {
                    let h = &self.hosts[spec.host];
                    h.alive
                        && h.refusing
                        && !h.hung
                        && self.path(c, spec.host)
                        && !self.holds.contains_key(&Self::pair(c, spec.host))
                };
                let deadlines = |t: f64| -> (f64, f64) {
                    if bfd_only {
                        return (t + slack, t + slack);
                    }
                    // Per checker: a first run not yet made fails the server at once
                    // (retry_it = retry at start); otherwise a success may still land
                    // `lat` after t, the next run comes a delay_loop (or a
                    // delay_before_retry, if longer) later, and retry + 1 runs must fail,
                    // each taking up to connect_timeout, delay_before_retry apart.
                    let mut down = f64::INFINITY;
                    let mut up: f64 = t;
                    for ((s, cs), &http) in spec.schedules.iter().zip(&st.checkers).zip(&spec.http)
                    {
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
                        // later; the next comes a delay_loop after and takes `lat`, and
                        // a GET a round trip more for its request and answer. After a
                        // failed URL, HTTP_GET's first success only clears the failure
                        // and the URLs are all checked again in turn, a delay_loop
                        // apart (`epilog()`, check_http.c).
                        let probe = lat + if http > 0 { 2.0 * lat } else { 0.0 };
                        let again = http as f64 * (dl + probe);
                        let u = match first {
                            Some(n) => {
                                n.max(t) + probe + http.saturating_sub(1) as f64 * (dl + probe)
                            }
                            None => t + ct + dl.max(dbr) + probe + again,
                        };
                        down = down.min(d);
                        up = up.max(u);
                    }
                    (down + slack, up + slack)
                };
                let tr = self.rs_tracks.entry((c, ri)).or_insert_with(|| {
                    let (d, u) = deadlines(now.max(self.hosts[c].paused_until));
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
                    let (d, u) = deadlines(now.max(self.hosts[c].paused_until));
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
                let late = if bfd_only && st.alive != reach && now > tr.down_by.max(tr.up_by) {
                    Some((
                        "a BFD_CHECK real server follows its BFD session",
                        if reach { "up" } else { "down" },
                        tr.down_by.max(tr.up_by),
                    ))
                } else if !reach && st.alive && now > tr.down_by {
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

    /// A checker host stops for `secs` (SIGSTOP): its deadlines move by as much.
    pub fn checker_paused(&mut self, c: usize, secs: f64) {
        for ((h, _), t) in self.rs_tracks.iter_mut() {
            if *h == c {
                t.down_by += secs;
                t.up_by += secs;
            }
        }
    }

    /// A checker host (re)started its engine: its old tracks go.
    pub fn checker_started(&mut self, c: usize, view: CheckerView) {
        self.rs_tracks.retain(|(h, _), _| *h != c);
        self.checkers.insert(c, view);
    }
}

impl World {
    /// Host `h`'s BFD clock now, in seconds, as its loop tells its engine: the host's
    /// clock since the BFD side started (`host::engine_now`), never earlier than a time
    /// it already reached (the driver's `advance`), so a clock set back holds the
    /// engine's time still until it catches up.
    pub fn bfd_engine_time(&self, h: usize) -> f64 {
        let Some((start, floor)) = self.bfd_clock.get(&h) else {
            return self.now;
        };
        let (offset_ms, drift_ppm) = self.hosts[h].clock;
        let el = self.now - start;
        let t = offset_ms as f64 / 1e3 + el + el * drift_ppm as f64 / 1e6;
        t.max(0.0).max(*floor)
    }

    /// Host `h`'s clock is set to `clock` (offset ms, drift ppm): the BFD clock keeps
    /// the time it reached.
    pub fn set_clock(&mut self, h: usize, clock: (i64, i64)) {
        if self.bfd_clock.contains_key(&h) {
            let reached = self.bfd_engine_time(h);
            if let Some(c) = self.bfd_clock.get_mut(&h) {
                c.1 = reached;
            }
        }
        self.hosts[h].clock = clock;
    }

    /// Host `h`'s BFD side started with `cfg`: its sessions, all Down, none heard yet.
    pub fn bfd_started(&mut self, h: usize, cfg: &Config) {
        self.bfd_clock.insert(h, (self.now, 0.0));
        self.bfd.retain(|(x, _), _| *x != h);
        for b in &cfg.bfd_instances {
            self.bfd.insert((h, b.name.clone()), Self::bfd_view(b));
        }
    }

    fn bfd_view(b: &BfdInstance) -> BfdView {
        BfdView {
            neighbor: b.neighbor_ip,
            source: b.source_ip,
            min_rx: secs(b.min_rx_us),
            lowered: None,
            remote_mult: 0,
            heard_at: None,
            up: false,
            remote_tx: 0.0,
            last_rx: None,
            reported: false,
        }
    }

    /// Host `h`'s BFD side is gone (the host crashed): its sessions with it, until it
    /// starts again.
    pub fn bfd_stopped(&mut self, h: usize) {
        self.bfd_clock.remove(&h);
        self.bfd.retain(|(x, _), _| *x != h);
    }

    /// Host `h`'s BFD side was reloaded with `cfg`: sessions of the same name keep their
    /// state, as the engine keeps them.
    pub fn bfd_reloaded(&mut self, h: usize, cfg: &Config) {
        let mut kept = BTreeMap::new();
        for b in &cfg.bfd_instances {
            let key = (h, b.name.clone());
            let mut v = Self::bfd_view(b);
            if let Some(old) = self.bfd.get(&key) {
                if old.neighbor == v.neighbor && old.source == v.source {
                    let new = v.min_rx;
                    v = old.clone();
                    if !old.up || new >= old.min_rx {
                        // Not Up, or raised: at once, and a raise lengthens the running
                        // Detection Time from the last packet, as the engine moves its
                        // expiry (RFC 5880 §6.8.3: the peer may already obey it).
                        v.min_rx = new;
                        v.lowered = None;
                        if let (true, Some((t, end))) = (old.up, old.last_rx) {
                            let longer = f64::from(old.remote_mult) * new.max(old.remote_tx);
                            let heard = old.heard_at.unwrap_or(end);
                            v.last_rx = Some((t, end.max(heard + longer)));
                        }
                    } else {
                        v.lowered = Some((new, false));
                    }
                }
            }
            kept.insert(key, v);
        }
        self.bfd.retain(|(x, _), _| *x != h);
        self.bfd.extend(kept);
    }

    /// Host `h`'s BFD engine was handed a control packet from `src` to `dst` now: the
    /// sessions it belongs to (neighbour `src`, and source `dst` if one is set) restart
    /// their detection time from it.
    pub fn bfd_heard(&mut self, h: usize, src: IpAddr, dst: IpAddr, bytes: &[u8]) {
        let Some((mult, desired_tx_us, poll_or_final)) = bfd_timers(bytes) else {
            return;
        };
        // Detection time runs on the host's BFD clock: a fast one (drift > 0) ends it
        // sooner in simulated time, one set back later.
        let at = self.bfd_engine_time(h);
        let now = self.now;
        for ((x, _), v) in self.bfd.iter_mut() {
            if *x != h || v.neighbor != Some(src) || v.source.is_some_and(|s| s != dst) {
                continue;
            }
            // RFC 5880 §6.5: the Final of a Poll Sequence sent since a lowered
            // Required Min RX was configured ends the wait for it (§6.8.3).
            if let (true, Some((new, true))) = (bytes[1] & 0x10 != 0, v.lowered) {
                v.min_rx = new;
                v.lowered = None;
            }
            if !v.up || poll_or_final {
                v.remote_tx = secs(u64::from(desired_tx_us));
            }
            v.remote_mult = mult;
            let detect = f64::from(mult) * v.min_rx.max(v.remote_tx);
            v.last_rx = Some((now, at + detect));
            v.heard_at = Some(at);
        }
    }

    /// Host `h`'s BFD engine sent a control packet on `session`: a Poll starts the
    /// sequence whose Final lets a lowered Required Min RX apply.
    pub fn bfd_sent(&mut self, h: usize, session: &str, bytes: &[u8]) {
        if bytes.len() < 2 || bytes[1] & 0x20 == 0 {
            return;
        }
        if let Some(v) = self.bfd.get_mut(&(h, session.to_string())) {
            if let Some((_, sent)) = &mut v.lowered {
                *sent = true;
            }
        }
    }

    /// Host `h`'s BFD engine told its clients `session` is `up` (or not).
    pub fn bfd_state(&mut self, h: usize, session: &str, up: bool) {
        if let Some(v) = self.bfd.get_mut(&(h, session.to_string())) {
            if v.up != up {
                v.reported = false;
            }
            // Leaving Up drops the old Required Min RX (`bfd_state_fall()`).
            if !up {
                if let Some((new, _)) = v.lowered.take() {
                    v.min_rx = new;
                }
            }
            v.up = up;
        }
    }

    /// No BFD session is Up without a control packet from its neighbour within its
    /// detection time (RFC 5880 §6.8.4): an Up session whose last packet from the
    /// neighbour is older than that, beyond `bfd_slack`, is caught. A paused host cannot
    /// notice, so its sessions are given until its pause ends.
    pub fn check_bfd(&mut self) {
        let now = self.now;
        let slack = self.bfd_slack;
        let clocks: BTreeMap<usize, f64> = self
            .bfd_clock
            .keys()
            .map(|h| (*h, self.bfd_engine_time(*h)))
            .collect();
        let mut caught = Vec::new();
        for ((h, name), v) in self.bfd.iter_mut() {
            let hs = &self.hosts[*h];
            if !v.up || v.reported || !hs.alive || hs.paused_until > now {
                continue;
            }
            let late = match (v.last_rx, clocks.get(h)) {
                (None, _) => true,
                (Some((_, end)), Some(clock)) => {
                    *clock > end + slack && now > hs.paused_until + slack
                }
                (Some(_), None) => false,
            };
            if late {
                v.reported = true;
                caught.push((*h, name.clone(), v.last_rx));
            }
        }
        for (h, name, last) in caught {
            let host = self.hosts[h].name.clone();
            self.violations.push(Violation {
                t: now,
                invariant: "no BFD session is Up without a packet from its neighbour within its detection time",
                hosts: vec![host.clone()],
                detail: match last {
                    Some((t, end)) => format!(
                        "{host}: session {name} Up at {now:.3} s; its neighbour's last packet came at {t:.3} s, its detection time ended at {end:.3} s by the host's clock"
                    ),
                    None => format!("{host}: session {name} Up at {now:.3} s without a packet from its neighbour"),
                },
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::{default_ipv4, default_ipv6};

    /// Two hosts on two segments, a sync group G of X (segment 0) and Y (segment 1) on
    /// each; `a` at `pa`, `b` at `pb`, in the given states.
    fn pair(pa: u8, sa: State, pb: u8, sb: State) -> World {
        let mut w = World::with_slack(0.05);
        w.segments = vec!["ext".into(), "int".into()];
        for (h, (name, prio, state)) in [("a", pa, sa), ("b", pb, sb)].into_iter().enumerate() {
            let ifaces: Vec<Iface> = (0..2)
                .map(|s| Iface {
                    name: format!("eth{s}"),
                    segment: s,
                    ipv4: default_ipv4(s, h),
                    ipv6: default_ipv6(s, h),
                })
                .collect();
            let inst = (0..2)
                .map(|s| {
                    (
                        ["X", "Y"][s].to_string(),
                        InstView {
                            vrid: 50 + s as u8,
                            segment: s,
                            iface: s,
                            addr: u32::from(default_ipv4(s, h)),
                            family: Family::V4,
                            state,
                            since: 0.0,
                            priority: prio,
                            nopreempt: false,
                            preempt_delay: false,
                            bound: 3.6,
                            sync: Some("G".into()),
                            vips: 1,
                            garp_repeat: 0,
                            garp_paced: false,
                            garps_at_takeover: None,
                        },
                    )
                })
                .collect();
            w.hosts.push(HostState {
                name: name.into(),
                ifaces,
                links: vec![true, true],
                alive: true,
                inst,
                ..HostState::default()
            });
        }
        w
    }

    fn run_for(w: &mut World, secs: f64) {
        let mut t = 0.0;
        while t < secs {
            w.now = t;
            w.check();
            t += 0.01;
        }
    }

    // A sync group is held back only by a master it may not preempt: a higher-priority
    // host waiting in BACKUP under a lower master, with nothing holding its group, is
    // caught whether or not a segment between them is cut.
    #[test]
    fn a_sync_group_waiting_below_a_lower_master_is_caught() {
        let mut w = pair(100, State::Master, 200, State::Backup);
        run_for(&mut w, 20.0);
        assert!(
            w.violations
                .iter()
                .any(|v| v.invariant.starts_with("the MASTER has the highest")),
            "{:?}",
            w.violations
        );
        let mut w = pair(100, State::Master, 200, State::Backup);
        w.seg_cut.insert((1, 0, 1));
        w.seg_cut.insert((1, 1, 0));
        run_for(&mut w, 20.0);
        assert!(!w.violations.is_empty());
    }

    // The other way round is keepalived's rule: the higher master holds the lower
    // group's members in BACKUP, and a member cut from it waits with its group.
    #[test]
    fn a_sync_group_held_by_a_higher_master_waits_rightly() {
        let mut w = pair(200, State::Master, 100, State::Backup);
        w.seg_cut.insert((1, 0, 1));
        w.seg_cut.insert((1, 1, 0));
        run_for(&mut w, 20.0);
        assert!(w.violations.is_empty(), "{:?}", w.violations);
    }

    /// One host with session S towards 10.0.0.2 (100 ms min_rx), 2 ms of BFD slack.
    fn bfd_world() -> World {
        let mut w = World::with_slack(0.05);
        w.bfd_slack = 0.002;
        w.hosts.push(HostState {
            name: "a".into(),
            alive: true,
            ..HostState::default()
        });
        let cfg = keepalived_engine::config::parse_str(
            "bfd_instance S {\n neighbor_ip 10.0.0.2\n min_rx 100\n min_tx 100\n multiplier 3\n}\n",
            &keepalived_engine::config::ParseOptions::default(),
        )
        .config;
        w.bfd_started(0, &cfg);
        w
    }

    /// A control packet from 10.0.0.2: Detect Mult 3, Desired Min TX `tx_ms`, with Poll
    /// or Final when `pf`.
    fn bfd_packet(tx_ms: u32, pf: bool) -> Vec<u8> {
        let mut b = vec![0u8; 24];
        b[0] = 0x20;
        b[1] = 0xc0 | if pf { 0x10 } else { 0 };
        b[2] = 3;
        b[3] = 24;
        b[12..16].copy_from_slice(&(tx_ms * 1000).to_be_bytes());
        b
    }

    fn heard(w: &mut World, t: f64, tx_ms: u32, pf: bool) {
        w.now = t;
        let (src, dst) = ("10.0.0.2".parse().unwrap(), "10.0.0.1".parse().unwrap());
        w.bfd_heard(0, src, dst, &bfd_packet(tx_ms, pf));
    }

    fn bfd_caught(w: &World) -> bool {
        w.violations
            .iter()
            .any(|v| v.invariant.starts_with("no BFD session is Up"))
    }

    // An Up session is caught once its last packet is older than 3 × 100 ms + slack,
    // and not a moment before.
    #[test]
    fn a_bfd_session_up_past_its_detection_time_is_caught() {
        let mut w = bfd_world();
        heard(&mut w, 1.0, 1000, false);
        heard(&mut w, 1.5, 100, true);
        w.bfd_state(0, "S", true);
        w.now = 1.801;
        w.check_bfd();
        assert!(!bfd_caught(&w), "{:?}", w.violations);
        w.now = 1.803;
        w.check_bfd();
        assert!(bfd_caught(&w));
        // Up without ever hearing the neighbour.
        let mut w = bfd_world();
        w.bfd_state(0, "S", true);
        w.now = 0.001;
        w.check_bfd();
        assert!(bfd_caught(&w));
    }

    // RFC 5880 §6.8.3: while Up, a changed interval counts only from a Poll or Final;
    // a plain packet advertising 100 ms leaves the agreed 1 s (3 s detection) in place.
    #[test]
    fn a_bfd_interval_changes_only_with_a_poll_sequence_while_up() {
        let mut w = bfd_world();
        heard(&mut w, 1.0, 1000, false);
        w.bfd_state(0, "S", true);
        heard(&mut w, 1.1, 100, false);
        w.now = 3.0;
        w.check_bfd();
        assert!(!bfd_caught(&w), "{:?}", w.violations);
        heard(&mut w, 3.1, 100, true);
        w.now = 3.41;
        w.check_bfd();
        assert!(bfd_caught(&w));
    }

    fn bfd_reload(w: &mut World, t: f64, min_rx_ms: u32) {
        w.now = t;
        let cfg = keepalived_engine::config::parse_str(
            &format!(
                "bfd_instance S {{\n neighbor_ip 10.0.0.2\n min_rx {min_rx_ms}\n min_tx 100\n multiplier 3\n}}\n"
            ),
            &keepalived_engine::config::ParseOptions::default(),
        )
        .config;
        w.bfd_reloaded(0, &cfg);
    }

    // A reload that raises min_rx while Up lengthens the Detection Time at once, from the
    // last packet (the engine moves its expiry to last packet + 3 × the new 1 s): a
    // neighbour silent since 1.0 s leaves the session legally Up until 4.0 s.
    #[test]
    fn a_bfd_min_rx_raised_by_a_reload_counts_from_the_last_packet() {
        let mut w = bfd_world();
        heard(&mut w, 1.0, 100, true);
        w.bfd_state(0, "S", true);
        bfd_reload(&mut w, 1.05, 1000);
        w.now = 3.9;
        w.check_bfd();
        assert!(!bfd_caught(&w), "{:?}", w.violations);
        w.now = 4.003;
        w.check_bfd();
        assert!(bfd_caught(&w));
    }

    // A reload that lowers min_rx while Up: the old one counts until the Final that ends
    // the Poll Sequence carrying the new one (RFC 5880 §6.8.3), then the new one: 3 × 100
    // ms, not the 3 s it once was.
    #[test]
    fn a_bfd_min_rx_lowered_by_a_reload_counts_once_the_poll_sequence_ends() {
        let mut w = bfd_world();
        bfd_reload(&mut w, 0.5, 1000);
        heard(&mut w, 1.0, 100, true);
        w.bfd_state(0, "S", true);
        bfd_reload(&mut w, 1.1, 100);
        // A Final answering no Poll of the new values yet: the old 3 s still holds.
        heard(&mut w, 1.2, 100, true);
        w.now = 4.1;
        w.check_bfd();
        assert!(!bfd_caught(&w), "{:?}", w.violations);
        // Our Poll goes out, its Final comes back: from now on 300 ms.
        w.now = 4.15;
        w.bfd_sent(
            0,
            "S",
            &bfd_packet(100, false)
                .iter()
                .enumerate()
                .map(|(i, b)| if i == 1 { 0xe0 } else { *b })
                .collect::<Vec<u8>>(),
        );
        heard(&mut w, 4.2, 100, true);
        w.now = 4.499;
        w.check_bfd();
        assert!(!bfd_caught(&w), "{:?}", w.violations);
        w.now = 4.503;
        w.check_bfd();
        assert!(bfd_caught(&w));
    }

    // A session that falls takes a lowered min_rx at once (the engine drops the old one
    // leaving Up), and so does one reloaded while not Up.
    #[test]
    fn a_bfd_min_rx_lowered_while_not_up_counts_at_once() {
        let mut w = bfd_world();
        bfd_reload(&mut w, 0.5, 1000);
        bfd_reload(&mut w, 0.6, 100);
        heard(&mut w, 1.0, 100, false);
        w.bfd_state(0, "S", true);
        w.now = 1.303;
        w.check_bfd();
        assert!(bfd_caught(&w));
    }

    // The detection time runs on the host's BFD clock. Set back 2 s at 1.1 s, that clock
    // holds at 1.1 s (the loop never tells its engine an earlier time) until it reads
    // 1.1 s again at 3.1 s: the 300 ms from the packet at 1.0 s end at 3.3 s.
    #[test]
    fn a_bfd_clock_set_back_holds_the_detection_time_until_it_catches_up() {
        let mut w = bfd_world();
        heard(&mut w, 1.0, 100, true);
        w.bfd_state(0, "S", true);
        w.now = 1.1;
        w.set_clock(0, (-2000, 0));
        w.now = 3.29;
        w.check_bfd();
        assert!(!bfd_caught(&w), "{:?}", w.violations);
        w.now = 3.303;
        w.check_bfd();
        assert!(bfd_caught(&w));
    }

    // A clock made slow at 10.1 s (-5000 ppm from the start: 50.5 ms behind at once, the
    // engine's time held at 10.1 s) ends the detection time from 10.0 s at 10.3 s by that
    // clock, 10.352 s of simulated time; a fast one from the start ends it sooner.
    #[test]
    fn a_bfd_detection_time_follows_the_drift_of_the_host_clock() {
        let mut w = bfd_world();
        heard(&mut w, 10.0, 100, true);
        w.bfd_state(0, "S", true);
        w.now = 10.1;
        w.set_clock(0, (0, -5000));
        w.now = 10.35;
        w.check_bfd();
        assert!(!bfd_caught(&w), "{:?}", w.violations);
        w.now = 10.356;
        w.check_bfd();
        assert!(bfd_caught(&w));
        let mut w = bfd_world();
        w.set_clock(0, (0, 2000));
        heard(&mut w, 1.0, 100, true);
        w.bfd_state(0, "S", true);
        w.now = 1.3005;
        w.check_bfd();
        assert!(!bfd_caught(&w), "{:?}", w.violations);
        w.now = 1.302;
        w.check_bfd();
        assert!(bfd_caught(&w));
    }

    // A paused host cannot notice: its sessions are given until the pause ends.
    #[test]
    fn a_paused_bfd_host_is_given_until_its_pause_ends() {
        let mut w = bfd_world();
        heard(&mut w, 1.0, 100, true);
        w.bfd_state(0, "S", true);
        w.hosts[0].paused_until = 2.0;
        w.now = 1.9;
        w.check_bfd();
        w.now = 2.001;
        w.check_bfd();
        assert!(!bfd_caught(&w), "{:?}", w.violations);
        w.now = 2.003;
        w.check_bfd();
        assert!(bfd_caught(&w));
    }
}
