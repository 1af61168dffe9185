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

pub mod io;
pub mod ipvs;
pub mod probe;
mod rng;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::{IpAddr, SocketAddr};

use crate::config::model::{
    Checker, CheckerKind, Command, Config, Connection, GlobalDefs, LvsKind, Protocol, RealServer,
    VirtualServer, VirtualServerGroup, VsAddress, VsgEntry, SECOND,
};
use crate::time::{us, Instant};

pub use io::{CheckInput, CheckNotifyKind, CheckOutput};
use ipvs::proto_str;
pub use ipvs::{
    diff, ApplyError, DestKey, DestParams, IpvsOp, IpvsState, Service, ServiceKey, ServiceParams,
};
use probe::{Endpoint, ProbeId, ProbeKind, ProbeOutcome, ProbeSpec};
pub use rng::SplitMix64;

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
/// Most services one `virtual_server_group` range expands to; keepalived has no limit,
/// but an IPv6 range of 65 536 addresses per entry is already absurd.
pub const MAX_RANGE_EXPANSION: u128 = 65_536;

/// A checker's run-time state (`checker_t`: `is_up`, `has_run`, `retry_it`, …).
#[derive(Debug, Clone)]
struct CheckerRt {
    id: ProbeId,
    cfg: Checker,
    /// FILE_CHECK, BFD_CHECK and checkers without what they need never probe and count
    /// as up.
    supported: bool,
    is_up: bool,
    has_run: bool,
    retry_it: u32,
    /// HTTP_GET / SSL_GET: the URL the next probe asks for (`url_it`).
    url_idx: usize,
    /// HTTP_GET / SSL_GET: a URL failed after its retries (`failed_url`).
    failed_url: bool,
    /// MISC_CHECK with `misc_dynamic`: the last success's exit status when 2..=255.
    dyn_status: Option<u32>,
    next_run: Option<Instant>,
    /// A probe is out; the engine gives up on it at this time.
    in_flight: Option<Instant>,
    /// When the probe out (or last) started: MISC_CHECK counts its interval from there
    /// (`misck_checker->last_ran`).
    started: Instant,
}

impl CheckerRt {
    fn deadline(&self) -> Option<Instant> {
        self.in_flight.or(self.next_run)
    }
    fn alpha(&self) -> bool {
        self.cfg.schedule.alpha
    }
}

#[derive(Debug, Clone)]
struct RsRt {
    /// The configured real server, without its checkers (they are in `checkers`).
    cfg: RealServer,
    label: String,
    alive: bool,
    checkers: Vec<CheckerRt>,
}

impl RsRt {
    fn port(&self) -> u16 {
        self.cfg.port.unwrap_or(0)
    }
    fn iweight(&self) -> i64 {
        i64::from(self.cfg.weight)
    }
    /// `rs->effective_weight`: the configured weight plus each dynamic MISC_CHECK's
    /// `cur_weight = status − 2 − iweight` (`misc_check_child_thread()`).
    fn effective_weight(&self) -> i64 {
        let iw = self.iweight();
        iw + self
            .checkers
            .iter()
            .filter_map(|c| c.dyn_status)
            .map(|s| i64::from(s) - 2 - iw)
            .sum::<i64>()
    }
    fn num_failed(&self) -> usize {
        self.checkers.iter().filter(|c| !c.is_up).count()
    }
}

#[derive(Debug, Clone)]
struct VsRt {
    /// The configured virtual server, without its real servers (they are in `rss`).
    cfg: VirtualServer,
    label: String,
    /// quorum capped to the total weight, hysteresis to quorum − 1 (`check_data.c`).
    quorum: u32,
    hysteresis: u32,
    quorum_up: bool,
    /// The sorry server is in the pool (`vs->s_svr->alive`).
    sorry_active: bool,
    rss: Vec<RsRt>,
    /// The IPVS services this virtual server owns.
    keys: Vec<ServiceKey>,
    /// Its share of the table as last emitted.
    ipvs: BTreeMap<ServiceKey, Service>,
}

impl VsRt {
    /// `weigh_live_realservers()`: Σ real_weight(effective) of the alive servers.
    fn alive_weight(&self) -> i64 {
        self.rss
            .iter()
            .filter(|r| r.alive)
            .map(|r| i64::from(real_weight(r.effective_weight())))
            .sum()
    }
    fn identity(&self) -> (VsAddress, Protocol) {
        (self.cfg.address.clone(), self.cfg.protocol)
    }
}

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

/// Index of one checker: virtual server, real server, checker.
type Loc = (usize, usize, usize);

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
    /// While a reload rebuilds the state, IPVS changes wait for one diff at its end.
    hold_ipvs: bool,
    stopped: bool,
}

/// `real_weight()`, `check_data.h`: effective weights are clamped to 0..=INT32_MAX.
fn real_weight(w: i64) -> u32 {
    w.clamp(0, i64::from(i32::MAX)) as u32
}

/// `format_vs()`, `check_data.c`: `[ip]:proto:port`, `[group]:0`, `FWM n`.
fn format_vs(vs: &VirtualServer) -> String {
    match &vs.address {
        VsAddress::Ip { address, port } => {
            format!("[{address}]:{}:{port}", proto_str(vs.protocol))
        }
        VsAddress::Group { name } => format!("[{name}]:0"),
        VsAddress::Fwmark { mark } => format!("FWM {mark}"),
    }
}

/// `format_rs()` / `inet_sockaddrtotrio_r()`: `[ip]:proto:port`.
fn format_rs(addr: IpAddr, port: u16, p: Protocol) -> String {
    format!("[{addr}]:{}:{port}", proto_str(p))
}

/// Walks `first..=last` of one family, at most [`MAX_RANGE_EXPANSION`] addresses.
fn expand_range(first: IpAddr, last: IpAddr) -> Vec<IpAddr> {
    match (first, last) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            let (a, b) = (u32::from(a), u32::from(b));
            if b < a {
                return vec![];
            }
            let n = (u128::from(b - a) + 1).min(MAX_RANGE_EXPANSION) as u32;
            (0..n)
                .map(|i| IpAddr::from((a + i).to_be_bytes()))
                .collect()
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            let (a, b) = (u128::from(a), u128::from(b));
            if b < a {
                return vec![];
            }
            let n = (b - a).saturating_add(1).min(MAX_RANGE_EXPANSION);
            (0..n)
                .map(|i| IpAddr::from((a + i).to_be_bytes()))
                .collect()
        }
        _ => vec![],
    }
}

/// The IPVS services a virtual server stands for (`ipvs_cmd()` / `ipvs_group_cmd()`).
fn service_keys(vs: &VirtualServer, groups: &[VirtualServerGroup]) -> Vec<ServiceKey> {
    let family_v6 = vs.ip_family_v6.unwrap_or_else(|| {
        vs.real_servers
            .first()
            .map(|r| r.address.is_ipv6())
            .unwrap_or(false)
    });
    match &vs.address {
        VsAddress::Ip { address, port } => vec![ServiceKey::Addr {
            addr: *address,
            port: *port,
            protocol: vs.protocol,
        }],
        VsAddress::Fwmark { mark } => vec![ServiceKey::Fwmark {
            mark: *mark,
            v6: family_v6,
        }],
        VsAddress::Group { name } => {
            let Some(g) = groups.iter().find(|g| &g.name == name) else {
                return vec![];
            };
            let mut keys = Vec::new();
            for e in &g.entries {
                match e {
                    VsgEntry::Range { first, last, port } => {
                        for addr in expand_range(*first, *last) {
                            keys.push(ServiceKey::Addr {
                                addr,
                                port: port.unwrap_or(0),
                                protocol: vs.protocol,
                            });
                        }
                    }
                    VsgEntry::Fwmark { mark, family_v6: f } => keys.push(ServiceKey::Fwmark {
                        mark: *mark,
                        v6: f.unwrap_or(family_v6),
                    }),
                }
            }
            keys
        }
    }
}

fn service_params(vs: &VirtualServer) -> ServiceParams {
    let persistent = vs.persistence_timeout_s.is_some();
    ServiceParams {
        protocol: vs.protocol,
        scheduler: vs.lvs_sched.clone(),
        sched_flags: vs.sched_flags.clone(),
        persistence_timeout_s: vs.persistence_timeout_s,
        // `ipvs_set_srule()`: granularity and engine only go with persistence.
        persistence_granularity: vs.persistence_granularity.clone().filter(|_| persistent),
        persistence_engine: vs.persistence_engine.clone().filter(|_| persistent),
        ops: vs.ops,
    }
}

/// Whether a checker can run here, and why not.
fn unsupported_reason(kind: &CheckerKind) -> Option<&'static str> {
    match kind {
        CheckerKind::FileCheck { .. } => Some("FILE_CHECK is not a probe and is not supported"),
        CheckerKind::BfdCheck { .. } => Some("BFD_CHECK is not a probe and is not supported"),
        CheckerKind::HttpGet(h) | CheckerKind::SslGet(h) if h.urls.is_empty() => {
            Some("it has no url")
        }
        CheckerKind::MiscCheck(m) if m.misc_path.is_none() => Some("it has no misc_path"),
        _ => None,
    }
}

fn endpoint(conn: &Connection, rs: &RealServer, default_port: u16) -> Endpoint {
    Endpoint {
        target: SocketAddr::new(
            conn.connect_ip.unwrap_or(rs.address),
            conn.connect_port
                .or(rs.port.filter(|p| *p != 0))
                .unwrap_or(default_port),
        ),
        bind: conn.bindto,
        bind_port: conn.bind_port,
        bind_if: conn.bind_if.clone(),
        fwmark: conn.fwmark,
    }
}

/// Connection options of an SMTP_CHECK `host{}` over the checker's own.
fn overlay(base: &Connection, over: &Connection) -> Connection {
    Connection {
        connect_ip: over.connect_ip.or(base.connect_ip),
        connect_port: over.connect_port.or(base.connect_port),
        bindto: over.bindto.or(base.bindto),
        bind_port: over.bind_port.or(base.bind_port),
        bind_if: over.bind_if.clone().or_else(|| base.bind_if.clone()),
        fwmark: over.fwmark.or(base.fwmark),
    }
}

impl CheckEngine {
    /// An engine for a completed (`config::load`ed) configuration. `seed` drives the
    /// warmup spread. The initial IPVS table (every service, and
    /// the real servers that start alive) is in the first outputs.
    pub fn new(config: Config, now: Instant, seed: u64) -> CheckEngine {
        let mut e = CheckEngine {
            global: config.global.clone(),
            vss: Vec::new(),
            index: BTreeMap::new(),
            timers: BTreeSet::new(),
            addresses: BTreeSet::new(),
            rng: SplitMix64::new(seed),
            next_id: 1,
            out: VecDeque::new(),
            hold_ipvs: false,
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

    /// Fresh run-time state for every virtual server of `config` (`alloc_vs()`,
    /// `register_checkers_thread()`), drawing each checker's warmup in config order.
    fn build(&mut self, config: &Config, now: Instant) -> Vec<VsRt> {
        let mut claimed: BTreeSet<ServiceKey> = BTreeSet::new();
        let mut vss = Vec::with_capacity(config.virtual_servers.len());
        for vs_cfg in &config.virtual_servers {
            let label = format_vs(vs_cfg);
            let mut keys = Vec::new();
            for k in service_keys(vs_cfg, &config.virtual_server_groups) {
                if claimed.insert(k.clone()) {
                    keys.push(k);
                } else {
                    self.log(
                        Some(&label),
                        None,
                        format!("service {k:?} belongs to an earlier virtual_server; ignored here"),
                    );
                }
            }
            // check_data.c: "quorum … exceeds total weight of real servers, reducing",
            // "hysteresis >= quorum; setting hysteresis to quorum - 1".
            let total: i64 = vs_cfg
                .real_servers
                .iter()
                .map(|r| i64::from(r.weight).max(0))
                .sum();
            let quorum = i64::from(vs_cfg.quorum).min(total) as u32;
            let hysteresis = vs_cfg.hysteresis.min(quorum.saturating_sub(1));
            let mut rss = Vec::with_capacity(vs_cfg.real_servers.len());
            for rs_cfg in &vs_cfg.real_servers {
                let mut cfg = rs_cfg.clone();
                let checkers_cfg = std::mem::take(&mut cfg.checkers);
                let rlabel = format_rs(cfg.address, cfg.port.unwrap_or(0), vs_cfg.protocol);
                let mut checkers = Vec::with_capacity(checkers_cfg.len());
                for c in checkers_cfg {
                    let c = self.new_checker(c, now, &label, &rlabel);
                    checkers.push(c);
                }
                let mut rs = RsRt {
                    cfg,
                    label: rlabel,
                    alive: false,
                    checkers,
                };
                // init_service_rs(): without alpha the checkers start up and the server
                // is in the pool at once; an alpha checker keeps it out until it passes.
                rs.alive = rs.num_failed() == 0;
                rss.push(rs);
            }
            let mut cfg = vs_cfg.clone();
            cfg.real_servers = Vec::new();
            let mut v = VsRt {
                cfg,
                label,
                quorum,
                hysteresis,
                quorum_up: false,
                sorry_active: false,
                rss,
                keys,
                ipvs: BTreeMap::new(),
            };
            // set_quorum_states()
            v.quorum_up = v.alive_weight() >= i64::from(v.quorum) + i64::from(v.hysteresis);
            vss.push(v);
        }
        vss
    }

    /// A checker as at startup, without an id or first run yet ([`Self::assign_fresh`]
    /// gives those, so a reload can hand kept checkers their old ones first).
    fn new_checker(&mut self, cfg: Checker, now: Instant, vs: &str, rs: &str) -> CheckerRt {
        let why = unsupported_reason(&cfg.kind);
        if let Some(why) = why {
            self.log(
                Some(vs),
                Some(rs),
                format!(
                    "{} of {rs} not run: {why}; it counts as up",
                    cfg.kind.keyword()
                ),
            );
        }
        let supported = why.is_none();
        // check_data.c: alpha checkers start failed; "for non alpha mode, one failure is
        // enough initially" (retry_it = retry).
        CheckerRt {
            id: ProbeId(0),
            supported,
            is_up: !(supported && cfg.schedule.alpha),
            has_run: false,
            retry_it: cfg.schedule.retry,
            url_idx: 0,
            failed_url: false,
            dyn_status: None,
            next_run: None,
            in_flight: None,
            started: now,
            cfg,
        }
    }

    /// Gives every checker still without an id (new at startup or in a reload) its id
    /// and first run, in config order: `register_checkers_thread()`'s BOOTSTRAP_DELAY +
    /// warmup * random() / RAND_MAX.
    fn assign_fresh(&mut self, now: Instant) {
        for v in &mut self.vss {
            for r in &mut v.rss {
                for c in &mut r.checkers {
                    if c.id != ProbeId(0) {
                        continue;
                    }
                    c.id = ProbeId(self.next_id);
                    self.next_id += 1;
                    if c.supported {
                        let warmup = self.rng.up_to(c.cfg.schedule.warmup_us);
                        c.next_run = Some(now + us(BOOTSTRAP_DELAY_US) + us(warmup));
                    }
                }
            }
        }
    }

    /// Rebuilds the id index and the timer set from the checkers.
    fn reindex(&mut self) {
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
        self.out.pop_front()
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

    // ---- checkers -------------------------------------------------------------------

    fn checker(&self, (vi, ri, ci): Loc) -> &CheckerRt {
        &self.vss[vi].rss[ri].checkers[ci]
    }

    fn checker_mut(&mut self, (vi, ri, ci): Loc) -> &mut CheckerRt {
        &mut self.vss[vi].rss[ri].checkers[ci]
    }

    fn set_timer(&mut self, loc: Loc, next_run: Option<Instant>, in_flight: Option<Instant>) {
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
    fn ha_suspend_addr(&self, vi: usize) -> Option<IpAddr> {
        let v = &self.vss[vi];
        match (&v.cfg.address, v.cfg.ha_suspend) {
            (VsAddress::Ip { address, .. }, true) => Some(*address),
            _ => None,
        }
    }

    fn suspended(&self, vi: usize) -> bool {
        self.ha_suspend_addr(vi)
            .is_some_and(|a| !self.addresses.contains(&a))
    }

    /// A checker's timer fired: probe, or while suspended look again a delay_loop later
    /// (`tcp_connect_thread()`: `if (!checker->enabled)`).
    fn run(&mut self, now: Instant, loc: Loc) {
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

    fn probe_spec(&self, (vi, ri, ci): Loc) -> ProbeSpec {
        let v = &self.vss[vi];
        let r = &v.rss[ri];
        let c = &r.checkers[ci];
        let conn = &c.cfg.connection;
        let rs = &r.cfg;
        let sched = &c.cfg.schedule;
        let (kind, endpoint, timeout_us) = match &c.cfg.kind {
            CheckerKind::HttpGet(h) | CheckerKind::SslGet(h) => {
                let url = h.urls[c.url_idx.min(h.urls.len().saturating_sub(1))].clone();
                // check_http.c: Host is url > checker > real server > virtual server.
                let virtualhost = url
                    .virtualhost
                    .clone()
                    .or_else(|| h.virtualhost.clone())
                    .or_else(|| rs.virtualhost.clone())
                    .or_else(|| v.cfg.virtualhost.clone());
                let sni = if h.enable_sni {
                    h.sni_name.clone().or_else(|| virtualhost.clone())
                } else {
                    None
                };
                let tls = matches!(c.cfg.kind, CheckerKind::SslGet(_));
                (
                    ProbeKind::Http {
                        tls,
                        http_protocol: h.http_protocol.clone(),
                        virtualhost,
                        sni,
                        url,
                    },
                    Some(endpoint(conn, rs, if tls { 443 } else { 80 })),
                    sched.connect_timeout_us,
                )
            }
            CheckerKind::SmtpCheck { helo_name, hosts } => {
                let conn = match hosts.first() {
                    Some(h) => overlay(conn, h),
                    None => conn.clone(),
                };
                (
                    ProbeKind::Smtp {
                        helo_name: helo_name
                            .clone()
                            .unwrap_or_else(|| SMTP_DEFAULT_HELO.to_string()),
                    },
                    Some(endpoint(&conn, rs, 25)),
                    sched.connect_timeout_us,
                )
            }
            CheckerKind::DnsCheck { query_type, name } => (
                ProbeKind::Dns {
                    query_type: query_type.clone(),
                    name: name.clone(),
                },
                Some(endpoint(conn, rs, 53)),
                sched.connect_timeout_us,
            ),
            CheckerKind::MiscCheck(m) => {
                let mut command = m.misc_path.clone().unwrap_or(Command {
                    argv: vec![],
                    user: None,
                    group: None,
                });
                if m.user.is_some() {
                    command.user = m.user.clone();
                    command.group = m.group.clone();
                }
                (
                    ProbeKind::Misc { command },
                    None,
                    m.misc_timeout_us.unwrap_or(v.cfg.schedule.delay_loop_us),
                )
            }
            CheckerKind::UdpCheck(u) => (
                ProbeKind::Udp {
                    payload: u.payload.clone(),
                    require_reply: u.require_reply.clone(),
                    min_reply_length: u.min_reply_length,
                    max_reply_length: u.max_reply_length,
                },
                Some(endpoint(conn, rs, 0)),
                sched.connect_timeout_us,
            ),
            CheckerKind::PingCheck => (
                ProbeKind::Ping,
                Some(endpoint(conn, rs, 0)),
                sched.connect_timeout_us,
            ),
            // TCP_CHECK, and (never reached: not supported) FILE_CHECK / BFD_CHECK.
            _ => (
                ProbeKind::Tcp,
                Some(endpoint(conn, rs, 0)),
                sched.connect_timeout_us,
            ),
        };
        ProbeSpec {
            id: c.id,
            kind,
            endpoint,
            timeout_us,
        }
    }

    fn log_all_failures(&self, loc: Loc) -> bool {
        self.global.checker_log_all_failures || self.checker(loc).cfg.log_all_failures
    }

    fn probe_done(&mut self, now: Instant, loc: Loc, outcome: ProbeOutcome) {
        self.set_timer(loc, None, None);
        let (vi, ri, _) = loc;
        let vlabel = self.vss[vi].label.clone();
        let rlabel = self.vss[vi].rss[ri].label.clone();
        if let ProbeOutcome::Down { reason } = &outcome {
            if self.checker(loc).is_up && self.log_all_failures(loc) {
                let kw = self.checker(loc).cfg.kind.keyword();
                self.log(
                    Some(&vlabel),
                    Some(&rlabel),
                    format!("{kw} on {rlabel} failed: {reason}"),
                );
            }
        }
        let c = self.checker(loc);
        let delay = match &c.cfg.kind {
            CheckerKind::HttpGet(_) | CheckerKind::SslGet(_) => self.http_epilog(loc, &outcome),
            CheckerKind::MiscCheck(_) => self.misc_epilog(loc, &outcome),
            _ => {
                let ok = matches!(outcome, ProbeOutcome::Up | ProbeOutcome::Exited(0));
                self.generic_epilog(loc, ok)
            }
        };
        let c = self.checker(loc);
        let base = if matches!(c.cfg.kind, CheckerKind::MiscCheck(_)) {
            // misc_check_child_thread(): next run = last_ran + delay.
            c.started
        } else {
            now
        };
        let next = (base + us(delay)).max(now + us(1));
        self.set_timer(loc, Some(next), None);
    }

    /// `tcp_epilog()`, `check_tcp.c` (also SMTP, DNS, UDP and PING, which share its
    /// retry logic). Returns the delay to the next run.
    fn generic_epilog(&mut self, loc: Loc, success: bool) -> u64 {
        let c = self.checker(loc);
        let sched = c.cfg.schedule.clone();
        let kw = c.cfg.kind.keyword();
        // check_tcp.c writes "TCP CHECK" in its alerts.
        let alert_kw = kw.replace('_', " ");
        let mut delay = sched.delay_loop_us;
        if success || ((c.is_up || !c.has_run) && c.retry_it >= sched.retry) {
            let (is_up, has_run) = (c.is_up, c.has_run);
            self.checker_mut(loc).retry_it = 0;
            if success && (!is_up || !has_run) {
                self.checker_transition(loc, true, format!("=> {alert_kw} succeed on service <="));
            } else if !success && (is_up || !has_run) {
                let msg = if sched.retry > 0 && has_run {
                    format!("{kw} failed after {} retries", sched.retry)
                } else {
                    format!("{kw} failed")
                };
                let (vi, ri, _) = loc;
                let (vl, rl) = (
                    self.vss[vi].label.clone(),
                    self.vss[vi].rss[ri].label.clone(),
                );
                self.log(Some(&vl), Some(&rl), msg);
                self.checker_transition(loc, false, format!("=> {alert_kw} failed on service <="));
            }
        } else if c.is_up {
            delay = sched.delay_before_retry_us;
            self.checker_mut(loc).retry_it += 1;
        }
        self.checker_mut(loc).has_run = true;
        delay
    }

    /// `epilog()`, `check_http.c`: one URL per run; all URLs must pass in turn; a URL
    /// fails after `retry` retries `delay_before_retry` apart.
    fn http_epilog(&mut self, loc: Loc, outcome: &ProbeOutcome) -> u64 {
        let success = matches!(outcome, ProbeOutcome::Up | ProbeOutcome::Exited(0));
        let c = self.checker(loc);
        let sched = c.cfg.schedule.clone();
        let (n_urls, fast_recovery) = match &c.cfg.kind {
            CheckerKind::HttpGet(h) | CheckerKind::SslGet(h) => (h.urls.len(), h.fast_recovery),
            _ => (1, false),
        };
        let mut urls_done = false;
        {
            let c = self.checker_mut(loc);
            if success {
                c.url_idx += 1;
                if c.url_idx >= n_urls {
                    urls_done = true;
                }
                c.retry_it = 0;
            } else {
                c.retry_it = c.retry_it.saturating_add(1);
            }
        }
        let c = self.checker(loc);
        if success && urls_done && !c.failed_url {
            if !c.is_up || !c.has_run {
                self.checker_transition(loc, true, "=> CHECK succeed on service <=".into());
                self.checker_mut(loc).has_run = true;
            }
            let c = self.checker_mut(loc);
            c.url_idx = 0;
            c.retry_it = 0;
        } else if !success && c.retry_it > sched.retry {
            if c.is_up || !c.has_run {
                let (vi, ri, _) = loc;
                let (vl, rl) = (
                    self.vss[vi].label.clone(),
                    self.vss[vi].rss[ri].label.clone(),
                );
                let kw = if matches!(c.cfg.kind, CheckerKind::SslGet(_)) {
                    "SSL"
                } else {
                    "HTTP"
                };
                self.log(
                    Some(&vl),
                    Some(&rl),
                    format!("{kw}_CHECK on service {rl} failed"),
                );
                self.checker_transition(
                    loc,
                    false,
                    "=> CHECK failed on service : HTTP/SSL request failed <=".into(),
                );
            }
            self.checker_mut(loc).failed_url = true;
        } else if success && self.checker(loc).failed_url {
            // "If the failed URL is now up, check all the URLs".
            let c = self.checker_mut(loc);
            c.failed_url = false;
            c.url_idx = 0;
            c.retry_it = 0;
        }
        let c = self.checker_mut(loc);
        let delay = if success {
            if !c.has_run {
                c.retry_it = sched.retry;
            }
            sched.delay_loop_us
        } else if c.failed_url {
            sched.delay_before_retry_us.max(sched.delay_loop_us)
        } else {
            sched.delay_before_retry_us
        };
        if fast_recovery && (!c.has_run || (!c.is_up && !c.failed_url)) {
            return 0;
        }
        delay
    }

    /// `misc_check_child_thread()`: exit 0 passes; with `misc_dynamic` 2..=255 passes
    /// and sets the weight; anything else fails after `retry` retries.
    fn misc_epilog(&mut self, loc: Loc, outcome: &ProbeOutcome) -> u64 {
        let c = self.checker(loc);
        let dynamic = matches!(&c.cfg.kind, CheckerKind::MiscCheck(m) if m.misc_dynamic);
        let sched = c.cfg.schedule.clone();
        let status = match outcome {
            ProbeOutcome::Up => Some(0),
            ProbeOutcome::Exited(s) => u32::try_from(*s).ok().filter(|s| *s <= 255),
            ProbeOutcome::Down { .. } => None,
        };
        let success = status == Some(0) || (dynamic && matches!(status, Some(2..=255)));
        let (vi, ri, _) = loc;
        if success {
            let new_dyn = status.filter(|s| dynamic && *s >= 2);
            if new_dyn != c.dyn_status {
                let old = self.vss[vi].rss[ri].effective_weight();
                self.checker_mut(loc).dyn_status = new_dyn;
                self.update_svr_wgt(vi, ri, old);
            }
            let c = self.checker(loc);
            if !c.is_up || !c.has_run {
                self.checker_transition(loc, true, "=> MISC CHECK succeeded on service <=".into());
            }
            self.checker_mut(loc).retry_it = 0;
        } else if c.is_up || !c.has_run {
            if c.retry_it < sched.retry {
                self.checker_mut(loc).retry_it += 1;
            } else {
                let c = self.checker_mut(loc);
                c.retry_it = 0;
                c.dyn_status = None;
                let (vl, rl) = (
                    self.vss[vi].label.clone(),
                    self.vss[vi].rss[ri].label.clone(),
                );
                let how = match status {
                    Some(s) => format!("exited with status {s}"),
                    None => "failed".to_string(),
                };
                self.log(Some(&vl), Some(&rl), format!("Misc check for {rl} {how}"));
                self.checker_transition(loc, false, "=> MISC CHECK failed on service <=".into());
            }
        }
        let c = self.checker_mut(loc);
        c.has_run = true;
        if c.retry_it > 0 {
            sched.delay_before_retry_us
        } else {
            sched.delay_loop_us
        }
    }

    /// A checker's verdict changed (or its first verdict): the real server follows, and
    /// the checker's SMTP alert goes out (`tcp_epilog()`'s `smtp_alert(SMTP_MSG_RS, …)`).
    fn checker_transition(&mut self, loc: Loc, up: bool, body: String) {
        let (vi, ri, _) = loc;
        let checker_was_up = self.checker(loc).is_up;
        let rs_was_alive = self.vss[vi].rss[ri].alive;
        self.update_svr_checker_state(loc, up);
        let rs = &self.vss[vi].rss[ri];
        let changed = if up { !checker_was_up } else { checker_was_up };
        if rs.cfg.smtp_alert
            && changed
            && (rs_was_alive != rs.alive || !self.global.no_checker_emails)
        {
            let subject = format!(
                "Realserver {} of virtual server {} - {}",
                rs.label,
                self.vss[vi].label,
                if rs.alive { "UP" } else { "DOWN" }
            );
            self.smtp(subject, body);
        }
    }

    /// `update_svr_checker_state()`, `ipwrapper.c`: a real server is alive only when
    /// every one of its checkers is up.
    fn update_svr_checker_state(&mut self, loc: Loc, alive: bool) {
        let (vi, ri, _) = loc;
        let c = self.checker(loc);
        if c.is_up == alive {
            if !c.has_run {
                if c.alpha() || !alive {
                    self.rs_notifies(vi, ri);
                }
                self.checker_mut(loc).has_run = true;
            }
            return;
        }
        self.checker_mut(loc).has_run = true;
        let failed = self.vss[vi].rss[ri].num_failed();
        if alive {
            if failed <= 1 {
                self.checker_mut(loc).is_up = true;
                self.perform_svr_state(vi, ri, true);
            }
        } else if failed == 0 {
            self.checker_mut(loc).is_up = false;
            self.perform_svr_state(vi, ri, false);
        }
        self.checker_mut(loc).is_up = alive;
    }

    // ---- real and virtual servers ------------------------------------------------------

    /// `perform_svr_state()`: a real server enters or leaves the pool.
    fn perform_svr_state(&mut self, vi: usize, ri: usize, alive: bool) {
        let v = &self.vss[vi];
        let r = &v.rss[ri];
        if r.alive == alive {
            return;
        }
        let inhibit = r.cfg.inhibit_on_failure;
        let msg = format!(
            "{}ing service {} {} VS {}",
            match (alive, inhibit) {
                (true, true) => "Enabl",
                (true, false) => "Add",
                (false, true) => "Disabl",
                (false, false) => "Remov",
            },
            r.label,
            if inhibit {
                "of"
            } else if alive {
                "to"
            } else {
                "from"
            },
            v.label
        );
        let (vl, rl) = (v.label.clone(), r.label.clone());
        self.log(Some(&vl), Some(&rl), msg);
        self.vss[vi].rss[ri].alive = alive;
        self.sync_ipvs(vi);
        self.rs_notifies(vi, ri);
        self.update_quorum_state(vi, false);
    }

    /// `update_svr_wgt()`: the effective weight moved from `old`; the pool and the
    /// quorum follow.
    fn update_svr_wgt(&mut self, vi: usize, ri: usize, old: i64) {
        let r = &self.vss[vi].rss[ri];
        let (ow, nw) = (real_weight(old), real_weight(r.effective_weight()));
        if ow == nw {
            return;
        }
        let msg = format!(
            "Changing weight from {ow} to {nw} for {}active service {} of VS {}",
            if r.alive { "" } else { "in" },
            r.label,
            self.vss[vi].label
        );
        let (vl, rl) = (self.vss[vi].label.clone(), r.label.clone());
        self.log(Some(&vl), Some(&rl), msg);
        self.sync_ipvs(vi);
        self.update_quorum_state(vi, false);
    }

    /// `do_rs_notifies()`: notify_up / notify_down and the FIFO line, by the server's
    /// current state.
    fn rs_notifies(&mut self, vi: usize, ri: usize) {
        let v = &self.vss[vi];
        let r = &v.rss[ri];
        let (cmd, kind) = if r.alive {
            (&r.cfg.notify_up, CheckNotifyKind::RealServerUp)
        } else {
            (&r.cfg.notify_down, CheckNotifyKind::RealServerDown)
        };
        if let Some(c) = cmd {
            self.out.push_back(CheckOutput::Notify {
                kind,
                command: (**c).clone(),
            });
        }
        if self.fifo_enabled() {
            // notify_fifo_rs(): "RS %s %s %s\n" (without the NUL keepalived writes).
            let line = format!(
                "RS {} {} {}\n",
                r.label,
                v.label,
                if r.alive { "UP" } else { "DOWN" }
            );
            self.out.push_back(CheckOutput::Fifo { line });
        }
    }

    /// `update_quorum_state()`, `ipwrapper.c`: gain at alive weight ≥ quorum +
    /// hysteresis, lose at 0 or < quorum − hysteresis; the sorry server swaps with the
    /// real servers.
    fn update_quorum_state(&mut self, vi: usize, init: bool) {
        let v = &self.vss[vi];
        let sum = v.alive_weight();
        let (q, h) = (i64::from(v.quorum), i64::from(v.hysteresis));
        let (up, sorry_active) = (v.quorum_up, v.sorry_active);
        let threshold = if up { q - h } else { q + h };
        let has_sorry = v.cfg.sorry_server.is_some();
        let vl = v.label.clone();
        if !up && sum >= threshold {
            self.vss[vi].quorum_up = true;
            self.log(
                Some(&vl),
                None,
                format!("Gained quorum {q}+{h}={threshold} <= {sum} for VS {vl}"),
            );
            if self.vss[vi].sorry_active {
                self.log(
                    Some(&vl),
                    None,
                    format!("Removing sorry server from VS {vl}"),
                );
                self.vss[vi].sorry_active = false;
                self.sync_ipvs(vi);
            }
            self.vs_notifies(vi, init, threshold, sum, false);
        } else if (up && (sum == 0 || sum < threshold))
            || (init && !up && has_sorry && !sorry_active)
        {
            self.vss[vi].quorum_up = false;
            self.log(
                Some(&vl),
                None,
                format!(
                    "{} {q}-{h}={threshold} > {sum} for VS {vl}",
                    if init {
                        "Starting with quorum down"
                    } else {
                        "Lost quorum"
                    }
                ),
            );
            if has_sorry && !self.vss[vi].sorry_active {
                self.log(Some(&vl), None, format!("Adding sorry server to VS {vl}"));
                self.vss[vi].sorry_active = true;
                self.sync_ipvs(vi);
            }
            self.vs_notifies(vi, init, threshold, sum, false);
        }
    }

    /// `do_vs_notifies()`: quorum_up / quorum_down, the FIFO line, the SMTP alert.
    fn vs_notifies(&mut self, vi: usize, init: bool, threshold: i64, sum: i64, stopping: bool) {
        let v = &self.vss[vi];
        if stopping && !v.cfg.omega {
            return;
        }
        let up = v.quorum_up;
        let (cmd, kind) = if up {
            (&v.cfg.quorum_up, CheckNotifyKind::QuorumUp)
        } else {
            (&v.cfg.quorum_down, CheckNotifyKind::QuorumDown)
        };
        if let Some(c) = cmd {
            self.out.push_back(CheckOutput::Notify {
                kind,
                command: c.clone(),
            });
        }
        let word = if up { "UP" } else { "DOWN" };
        if self.fifo_enabled() {
            // notify_fifo_vs(): "VS %s %s\n".
            self.out.push_back(CheckOutput::Fifo {
                line: format!("VS {} {word}\n", v.label),
            });
        }
        if v.cfg.smtp_alert == Some(true) {
            let body = if stopping {
                "=> Shutting down <=".to_string()
            } else {
                let what = match (up, init) {
                    (true, true) => "Starting with quorum up",
                    (true, false) => "Gained quorum",
                    (false, true) => "Starting with quorum down",
                    (false, false) => "Lost quorum",
                };
                format!(
                    "=> {what} {}+{}={threshold} <= {sum} <=",
                    v.quorum, v.hysteresis
                )
            };
            let subject = format!("Virtualserver {} - {word}", v.label);
            self.smtp(subject, body);
        }
    }

    /// This virtual server's share of the IPVS table, from its state.
    fn fragment(&self, vi: usize) -> BTreeMap<ServiceKey, Service> {
        let v = &self.vss[vi];
        let params = service_params(&v.cfg);
        let mut map = BTreeMap::new();
        for key in &v.keys {
            let mut dests = BTreeMap::new();
            let dest_port = |kind: LvsKind, own: u16| {
                // ipvs_cmd(): NAT keeps the real server's port, DR/TUN the service's.
                if kind == LvsKind::Nat {
                    own
                } else {
                    key.port()
                }
            };
            for r in &v.rss {
                // The pool holds the alive servers while no sorry server stands in
                // (perform_quorum_state()); an inhibit_on_failure server stays in at
                // weight 0 instead of leaving (ipvs_cmd(): DELDEST → EDITDEST weight 0).
                let weight = if r.alive && !v.sorry_active {
                    real_weight(r.effective_weight())
                } else if r.cfg.inhibit_on_failure {
                    0
                } else {
                    continue;
                };
                let method = r
                    .cfg
                    .lvs_method
                    .as_deref()
                    .cloned()
                    .unwrap_or_else(|| v.cfg.lvs_method.clone());
                let dk = DestKey {
                    addr: r.cfg.address,
                    port: dest_port(method.kind, r.port()),
                };
                dests.entry(dk).or_insert(DestParams {
                    weight,
                    method,
                    uthreshold: r.cfg.uthreshold.unwrap_or(0),
                    lthreshold: r.cfg.lthreshold.unwrap_or(0),
                });
            }
            if let Some(ss) = &v.cfg.sorry_server {
                // alloc_ssvr(): weight 1, the virtual server's method unless
                // sorry_server_lvs_method; with sorry_server_inhibit it stays at weight 0
                // while not needed (init_service_vs()).
                let weight = if v.sorry_active {
                    Some(1)
                } else if v.cfg.sorry_server_inhibit {
                    Some(0)
                } else {
                    None
                };
                if let Some(weight) = weight {
                    let method = ss
                        .lvs_method
                        .clone()
                        .unwrap_or_else(|| v.cfg.lvs_method.clone());
                    let dk = DestKey {
                        addr: ss.address,
                        port: dest_port(method.kind, ss.port.unwrap_or(0)),
                    };
                    let p = DestParams {
                        weight,
                        method,
                        uthreshold: 0,
                        lthreshold: 0,
                    };
                    if v.sorry_active {
                        dests.insert(dk, p);
                    } else {
                        dests.entry(dk).or_insert(p);
                    }
                }
            }
            map.insert(
                key.clone(),
                Service {
                    params: params.clone(),
                    dests,
                },
            );
        }
        map
    }

    /// Emits what changed in this virtual server's share of the table.
    fn sync_ipvs(&mut self, vi: usize) {
        if self.hold_ipvs {
            return;
        }
        let new = self.fragment(vi);
        let mut ops = Vec::new();
        ipvs::diff_maps(&self.vss[vi].ipvs, &new, &mut ops);
        self.out.extend(ops.into_iter().map(CheckOutput::Ipvs));
        self.vss[vi].ipvs = new;
    }

    // ---- reload and shutdown --------------------------------------------------------

    /// Reload: unchanged real servers (same address and port in the same virtual server,
    /// same checker) keep their state and schedule; removed ones leave through the
    /// diff; new ones start as at startup (`clear_diff_services()`, `migrate_checkers()`,
    /// done here without keepalived's losses, issues #381, #608, #1720).
    fn reload(&mut self, now: Instant, config: Config) {
        let old_desired = self.desired();
        let mut old_vss = std::mem::take(&mut self.vss);
        self.global = config.global.clone();
        self.hold_ipvs = true;
        let mut new_vss = self.build(&config, now);
        let mut kept_vs = vec![false; old_vss.len()];
        let mut carried_vs: Vec<Option<usize>> = vec![None; new_vss.len()];
        for (ni, nv) in new_vss.iter_mut().enumerate() {
            let Some(oi) = old_vss
                .iter()
                .enumerate()
                .position(|(i, o)| !kept_vs[i] && o.identity() == nv.identity())
            else {
                continue;
            };
            kept_vs[oi] = true;
            carried_vs[ni] = Some(oi);
            let ov = &mut old_vss[oi];
            nv.quorum_up = ov.quorum_up;
            nv.sorry_active = ov.sorry_active && nv.cfg.sorry_server.is_some();
            let mut kept_rs = vec![false; ov.rss.len()];
            for nr in &mut nv.rss {
                let Some(ori) = ov.rss.iter().enumerate().position(|(i, o)| {
                    !kept_rs[i] && o.cfg.address == nr.cfg.address && o.port() == nr.port()
                }) else {
                    continue;
                };
                kept_rs[ori] = true;
                let or = &mut ov.rss[ori];
                nr.alive = or.alive;
                migrate_checkers(or, nr, now);
            }
            // Real servers gone from a kept virtual server: down notifies for the alive
            // ones (clear_service_rs()).
            let gone: Vec<RsRt> = ov
                .rss
                .iter()
                .enumerate()
                .filter(|(i, _)| !kept_rs[*i])
                .map(|(_, r)| r.clone())
                .collect();
            for r in gone {
                self.removed_rs(&ov.label, r);
            }
        }
        // Virtual servers gone: their alive servers go down, and the quorum with them.
        for (oi, ov) in old_vss.iter().enumerate() {
            if kept_vs[oi] {
                continue;
            }
            for r in ov.rss.clone() {
                self.removed_rs(&ov.label, r);
            }
            if ov.quorum_up {
                let mut v = ov.clone();
                v.rss.clear();
                v.quorum_up = false;
                self.vss = vec![v];
                self.vs_notifies(
                    0,
                    false,
                    i64::from(ov.quorum) - i64::from(ov.hysteresis),
                    0,
                    false,
                );
                self.vss.clear();
            }
        }
        self.vss = new_vss;
        self.assign_fresh(now);
        self.reindex();
        // A kept server whose checkers now disagree with its pool state follows them
        // (migrate_checkers()'s tail); then every quorum is looked at again
        // (init_service_vs() → update_quorum_state()).
        for (vi, carried) in carried_vs.iter().enumerate() {
            for ri in 0..self.vss[vi].rss.len() {
                let r = &self.vss[vi].rss[ri];
                let should = r.num_failed() == 0;
                if r.alive != should {
                    self.perform_svr_state(vi, ri, should);
                }
            }
            self.update_quorum_state(vi, carried.is_none());
        }
        self.hold_ipvs = false;
        for vi in 0..self.vss.len() {
            self.vss[vi].ipvs = self.fragment(vi);
        }
        let ops = diff(&old_desired, &self.desired());
        self.out.extend(ops.into_iter().map(CheckOutput::Ipvs));
    }

    /// A real server that a reload dropped: if it was alive, its down notifiers run
    /// (`clear_service_rs()`, "=> Removing <=").
    fn removed_rs(&mut self, vlabel: &str, r: RsRt) {
        self.log(
            Some(vlabel),
            Some(&r.label),
            format!("service {} no longer exist", r.label),
        );
        if !r.alive {
            return;
        }
        if let Some(c) = &r.cfg.notify_down {
            self.out.push_back(CheckOutput::Notify {
                kind: CheckNotifyKind::RealServerDown,
                command: (**c).clone(),
            });
        }
        if self.fifo_enabled() {
            self.out.push_back(CheckOutput::Fifo {
                line: format!("RS {} {vlabel} DOWN\n", r.label),
            });
        }
        if r.cfg.smtp_alert {
            let subject = format!("Realserver {} of virtual server {vlabel} - DOWN", r.label);
            self.smtp(subject, "=> Removing <=".into());
        }
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
        self.timers.clear();
        self.stopped = true;
    }

    // ---- outputs --------------------------------------------------------------------

    fn fifo_enabled(&self) -> bool {
        self.global.notify_fifo.is_some() || self.global.lvs_notify_fifo.is_some()
    }

    /// `smtp_alert()`: only with an smtp_server and someone to write to.
    fn smtp(&mut self, subject: String, body: String) {
        if self.global.smtp_server.is_none() || self.global.notification_email.is_empty() {
            return;
        }
        self.out.push_back(CheckOutput::SmtpAlert { subject, body });
    }

    fn log(&mut self, vs: Option<&str>, rs: Option<&str>, message: String) {
        self.out.push_back(CheckOutput::Log {
            virtual_server: vs.map(str::to_string),
            real_server: rs.map(str::to_string),
            message,
        });
    }
}

/// The same checker across a reload: same type, same type-specific options, same
/// connection (keepalived's per-type `compare()`); the schedule may change.
fn same_checker(a: &Checker, b: &Checker) -> bool {
    a.kind == b.kind && a.connection == b.connection
}

/// `migrate_checkers()`, `ipwrapper.c`: state of each matching old checker moves to the
/// new one, keeping its id, pending probe and next run (capped to the new delay_loop).
fn migrate_checkers(old: &mut RsRt, new: &mut RsRt, now: Instant) {
    let mut used = vec![false; old.checkers.len()];
    for nc in &mut new.checkers {
        let Some(i) = old
            .checkers
            .iter()
            .enumerate()
            .position(|(i, oc)| !used[i] && same_checker(&oc.cfg, &nc.cfg))
        else {
            // New to a kept server: up until it runs, unless the rule below says
            // otherwise (migrate_checkers() only marks alpha checkers down then).
            nc.is_up = true;
            continue;
        };
        used[i] = true;
        let oc = &old.checkers[i];
        nc.id = oc.id;
        nc.is_up = oc.is_up;
        nc.has_run = oc.has_run;
        // "If we have already had sufficient retries for the new retry value … just
        // require one more failure".
        let retry = nc.cfg.schedule.retry;
        nc.retry_it = if !nc.is_up {
            retry.saturating_add(1)
        } else {
            oc.retry_it.min(retry)
        };
        nc.url_idx = oc.url_idx;
        nc.failed_url = oc.failed_url;
        nc.dyn_status = oc.dyn_status;
        nc.in_flight = oc.in_flight;
        nc.started = oc.started;
        let cap = now + us(nc.cfg.schedule.delay_loop_us.max(1));
        nc.next_run = oc.next_run.map(|t| t.min(cap));
        if nc.in_flight.is_some() {
            nc.next_run = None;
        }
    }
    // "If a checker has failed, set new alpha checkers to be down until they have run."
    let any_failed = new.checkers.iter().any(|c| c.has_run && !c.is_up);
    let any_run = new.checkers.iter().any(|c| c.has_run);
    if any_failed || (!new.alive && !any_run) {
        for c in new.checkers.iter_mut().filter(|c| !c.has_run) {
            if c.alpha() && c.supported {
                c.is_up = false;
            }
            c.retry_it = c.cfg.schedule.retry;
        }
    }
}
