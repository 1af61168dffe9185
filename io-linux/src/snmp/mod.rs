//! SNMP as keepalived serves it: an AgentX sub-agent of net-snmp's `snmpd` ([`agent`])
//! in the VRRP child and in the checker child, talking to the master agent at
//! `-A`/`--snmp-agent-socket` or `snmp_socket` (keepalived's syntax, default
//! `unix:/var/agentx/master`). Which MIB modules each child serves, and whether it sends
//! traps, is [`Mibs`]: `-x` enables every module, `enable_traps` the traps.
//!
//! The sub-agent runs on a thread of its own and never blocks the loop that posts to it.
//! The VRRP child's tree is built on that thread from the configuration, the engine's
//! state ([`keepalived_engine::vrrp::live::Live`], which the loop hands over when asked,
//! the way it answers a metrics scrape) and the host's interfaces ([`host`]); a walk's
//! requests within [`FRESH`] of each other are answered from one tree.

pub mod agent;
pub mod host;

use std::net::{IpAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::SyncSender;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use keepalived_engine::agentx::{Oid, Value, VarBind};
use keepalived_engine::check::live::CheckLive;
use keepalived_engine::config::model::Config;
use keepalived_engine::snmp::checker::{self, IpvsStats};
use keepalived_engine::snmp::traps::TrapEvent;
use keepalived_engine::snmp::{
    global, keepalived_oid, oid_under, rfc2787, rfc6527, traps, vrrp, MibTree, Mibs, VRRPV3_MIB,
    VRRP_MIB,
};
use keepalived_engine::vrrp::live::Live;
use keepalived_engine::vrrp::State;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tracing::{debug, error};

use agent::{Content, Mailbox, MasterSocket, SubAgent, DEFAULT_SOCKET};

/// What the command line says of SNMP.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SnmpOptions {
    /// `-x`: every MIB keepalived has (its vrrp, checker, rfcv2 and rfcv3 ones), no traps.
    pub all: bool,
    /// `-A`: the master agent's socket.
    pub socket: Option<String>,
}

/// A walk's requests this close together are answered from one tree.
pub const FRESH: Duration = Duration::from_millis(50);
/// How long the sub-agent waits for a loop's state before answering from what it had:
/// well within the second the master agent gives it (the Open's timeout).
const LOOP_WAIT: Duration = Duration::from_millis(300);
/// How long a stopping child waits for its last notifications to go.
const STOP_WAIT: Duration = Duration::from_secs(1);

/// The configuration the sub-agent serves, replaced on reload, with a generation so a
/// tree is rebuilt when it changes.
#[derive(Clone)]
struct Shared {
    /// The configuration, and the one before it (whose removed instances' traps need
    /// it).
    config: Arc<Mutex<(Arc<Config>, Arc<Config>)>>,
    generation: Arc<AtomicU64>,
}

impl Shared {
    fn new(config: &Config) -> Shared {
        Shared {
            config: Arc::new(Mutex::new((
                Arc::new(config.clone()),
                Arc::new(config.clone()),
            ))),
            generation: Arc::new(AtomicU64::new(0)),
        }
    }

    fn get(&self) -> (u64, Arc<Config>) {
        let c = self.config.lock().unwrap_or_else(|e| e.into_inner());
        (self.generation.load(Ordering::SeqCst), c.0.clone())
    }

    /// The configuration before the last reload.
    fn previous(&self) -> Arc<Config> {
        let c = self.config.lock().unwrap_or_else(|e| e.into_inner());
        c.1.clone()
    }

    fn set(&self, config: &Config) {
        let mut c = self.config.lock().unwrap_or_else(|e| e.into_inner());
        let old = std::mem::replace(&mut c.0, Arc::new(config.clone()));
        c.1 = old;
        self.generation.fetch_add(1, Ordering::SeqCst);
    }
}

/// A child's sub-agent, seen from the child's loop.
pub struct Snmp<E: Send + 'static> {
    shared: Shared,
    mailbox: Arc<Mailbox<E>>,
}

impl<E: Send + 'static> Snmp<E> {
    /// A reload's configuration: the next request is answered from it.
    pub fn reload(&self, config: &Config) {
        self.shared.set(config);
    }

    /// An event for a notification; never blocks. `bulk`: see [`Mailbox::post`].
    pub fn post(&self, event: E, bulk: bool) {
        self.mailbox.post(event, bulk);
    }

    /// At stop: sends what is queued and closes the session, waiting a second at most.
    pub fn stop(&self) {
        self.mailbox.stop(STOP_WAIT);
    }
}

/// The sub-agent's question to a loop: where the answer goes, and until when it is
/// waited for.
type Question<L> = (std::time::Instant, SyncSender<L>);

/// A child loop's side of its sub-agent: the handle, and the sub-agent's questions for
/// the engine's state `L`, which the loop answers between its own work
/// (`Query::Live`).
pub struct LoopSide<E: Send + 'static, L> {
    agent: Option<Snmp<E>>,
    questions: Option<UnboundedReceiver<Question<L>>>,
    /// Where the answer to the question being answered goes.
    asked: Option<SyncSender<L>>,
    /// Whether it sends notifications (`enable_traps`).
    traps: bool,
}

impl<E: Send + 'static, L> Default for LoopSide<E, L> {
    fn default() -> Self {
        LoopSide {
            agent: None,
            questions: None,
            asked: None,
            traps: false,
        }
    }
}

impl<E: Send + 'static, L> LoopSide<E, L> {
    /// Whether a sub-agent runs that sends notifications: only then are events worth
    /// posting.
    pub fn notifies(&self) -> bool {
        self.agent.is_some() && self.traps
    }

    /// An event for a notification, if notifications are on; never blocks. `bulk`:
    /// one that may come with every packet received (a refused advert), of which the
    /// queue keeps few.
    pub fn post(&self, event: E, bulk: bool) {
        if let (Some(a), true) = (&self.agent, self.traps) {
            a.post(event, bulk);
        }
    }

    /// A reload's configuration, `enable_traps` included (keepalived reads it at every
    /// trap).
    pub fn reload(&mut self, config: &Config) {
        self.traps = config.global.enable_traps;
        if let Some(a) = &self.agent {
            a.reload(config);
        }
    }

    /// At stop: the queued notifications go and the session closes. The loop answers
    /// no more questions: the sub-agent finds out at once and uses what it has.
    pub fn stop(&mut self) {
        self.questions = None;
        if let Some(a) = &self.agent {
            a.stop();
        }
    }

    /// Waits for the sub-agent's next question; never without a sub-agent. Cancel-safe.
    pub async fn next_question(&mut self) {
        if let Some(q) = &mut self.questions {
            // A question the sub-agent stopped waiting for is not answered.
            while let Some((until, reply)) = q.recv().await {
                if std::time::Instant::now() < until {
                    self.asked = Some(reply);
                    return;
                }
            }
        }
        std::future::pending().await
    }

    /// Answers the question waited for with the engine's state.
    pub fn answer(&mut self, live: impl FnOnce() -> L) {
        if let Some(reply) = self.asked.take() {
            // The sub-agent waits with room for one answer; gone, it is left unread.
            let _ = reply.try_send(live());
        }
    }
}

/// What a child's content keeps between the master agent's requests: the loop's last
/// state, the global scalars' host facts, and the tree, with when and for which
/// configuration it was built.
struct Cache<L> {
    ask: UnboundedSender<Question<L>>,
    live: Option<L>,
    facts: Option<(u64, global::GlobalFacts)>,
    tree: MibTree,
    built: Option<(Instant, u64)>,
}

impl<L> Cache<L> {
    fn new(ask: UnboundedSender<Question<L>>) -> Cache<L> {
        Cache {
            ask,
            live: None,
            facts: None,
            tree: MibTree::new(),
            built: None,
        }
    }

    /// Whether the tree serves a request now: built for this configuration, within
    /// [`FRESH`].
    fn fresh(&self, generation: u64) -> bool {
        self.built
            .is_some_and(|(at, g)| g == generation && at.elapsed() < FRESH)
    }

    /// The loop's state now, or the last one if it does not answer within
    /// [`LOOP_WAIT`] (busy, or stopping).
    fn refresh_live(&mut self) {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let until = std::time::Instant::now() + LOOP_WAIT;
        if self.ask.send((until, tx)).is_ok() {
            if let Ok(live) = rx.recv_timeout(LOOP_WAIT) {
                self.live = Some(live);
            }
        }
    }

    /// The global scalars' host facts, found once per configuration.
    fn facts(&mut self, generation: u64, config: &Config) -> global::GlobalFacts {
        if self.facts.as_ref().is_none_or(|(g, _)| *g != generation) {
            self.facts = Some((generation, global_facts(config)));
        }
        self.facts.as_ref().expect("just set").1.clone()
    }

    /// A tree built by `build`. A builder that panics leaves the last tree served and
    /// says so, rather than ending SNMP for the process's life.
    fn replace_tree(&mut self, generation: u64, build: impl FnOnce() -> MibTree) {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(build)) {
            Ok(tree) => self.tree = tree,
            Err(_) => error!("SNMP: building the MIB failed; the last tree is served"),
        }
        self.built = Some((Instant::now(), generation));
    }
}

/// Starts a sub-agent serving `content` on a thread of its own.
fn start<C: Content>(
    config: &Config,
    opts: &SnmpOptions,
    shared: Shared,
    content: C,
) -> Option<Snmp<C::Event>> {
    let spec = opts
        .socket
        .clone()
        .or_else(|| config.global.snmp_socket.clone())
        .unwrap_or_else(|| DEFAULT_SOCKET.to_string());
    let master = match MasterSocket::parse(&spec) {
        Ok(m) => m,
        Err(e) => {
            error!("SNMP: {e}; SNMP is not started");
            return None;
        }
    };
    let mailbox = match Mailbox::new() {
        Ok(m) => Arc::new(m),
        Err(e) => {
            error!("SNMP: cannot start the sub-agent: {e}");
            return None;
        }
    };
    let agent = SubAgent {
        master,
        // net-snmp's sub-agents open with NET-SNMP-TC's netSnmpAgentOIDs.10 (Linux),
        // as keepalived does through its library.
        id: Oid::new(vec![1, 3, 6, 1, 4, 1, 8072, 3, 2, 10]).expect("a short OID"),
        description: "keepalived-rs AgentX sub-agent".into(),
        content,
        mailbox: mailbox.clone(),
    };
    let started = std::thread::Builder::new()
        .name("snmp".into())
        .spawn(move || agent.run());
    if let Err(e) = started {
        error!("SNMP: cannot start the sub-agent thread: {e}");
        return None;
    }
    Some(Snmp { shared, mailbox })
}

/// The sysORTable entries keepalived registers (`snmp_register_mib()`), for `mibs`.
fn modules(mibs: &Mibs) -> Vec<(Oid, String)> {
    let mut m = Vec::new();
    if mibs.global {
        m.push((keepalived_oid(&[1]), "The MIB module for Keepalived".into()));
    }
    if mibs.vrrp {
        m.push((
            keepalived_oid(&[2]),
            "The MIB module for KEEPALIVED-VRRP".into(),
        ));
    }
    if mibs.checker {
        m.push((
            keepalived_oid(&[3]),
            "The MIB module for Healthchecker".into(),
        ));
    }
    if mibs.rfcv2 {
        m.push((oid_under(&VRRP_MIB, &[]), "The MIB module for VRRP".into()));
    }
    if mibs.rfcv3 {
        m.push((
            oid_under(&VRRPV3_MIB, &[]),
            "The MIB module for VRRPV3".into(),
        ));
    }
    m
}

/// What the VRRP loop reports for notifications.
pub enum VrrpEvent {
    Trap(TrapEvent),
    /// A reload removed the instance, which was in `from`.
    Removed {
        name: String,
        from: State,
    },
}

/// Starts the VRRP child's sub-agent, if `-x` or the configuration enables one of its
/// modules. `checker_runs`: whether the checker child runs (it then serves the global
/// scalars when its MIB is enabled).
pub fn start_vrrp(
    config: &Config,
    opts: &SnmpOptions,
    checker_runs: bool,
) -> LoopSide<VrrpEvent, Live> {
    let mibs = Mibs::vrrp_child(config, opts.all, checker_runs);
    if !(mibs.vrrp || mibs.rfcv2 || mibs.rfcv3) {
        return LoopSide::default();
    }
    let (ask, questions) = tokio::sync::mpsc::unbounded_channel();
    let shared = Shared::new(config);
    let content = VrrpContent {
        mibs,
        shared: shared.clone(),
        cache: Cache::new(ask),
    };
    LoopSide {
        agent: start(config, opts, shared, content),
        questions: Some(questions),
        asked: None,
        traps: mibs.traps,
    }
}

/// What the VRRP child serves.
struct VrrpContent {
    mibs: Mibs,
    shared: Shared,
    cache: Cache<Live>,
}

impl Content for VrrpContent {
    type Event = VrrpEvent;

    fn modules(&self) -> Vec<(Oid, String)> {
        modules(&self.mibs)
    }

    fn tree(&mut self) -> &MibTree {
        let (generation, config) = self.shared.get();
        if !self.cache.fresh(generation) {
            self.cache.refresh_live();
            let facts = self
                .mibs
                .global
                .then(|| self.cache.facts(generation, &config));
            let (mibs, live) = (self.mibs, self.cache.live.clone());
            self.cache.replace_tree(generation, || {
                let mut tree = MibTree::new();
                if let Some(facts) = &facts {
                    global::add(&mut tree, &config, facts);
                }
                if let Some(live) = &live {
                    let host = host::interfaces();
                    if mibs.vrrp {
                        vrrp::add(&mut tree, &config, live, &host);
                    }
                    if mibs.rfcv2 {
                        rfc2787::add(&mut tree, &config, live, &host);
                    }
                    if mibs.rfcv3 {
                        rfc6527::add(&mut tree, &config, live, &host);
                    }
                }
                tree
            });
        }
        &self.cache.tree
    }

    fn notifications(&mut self, events: Vec<VrrpEvent>) -> Vec<Vec<VarBind>> {
        if events.is_empty() {
            return Vec::new();
        }
        let previous = self.shared.previous();
        let events: Vec<TrapEvent> = events
            .into_iter()
            .filter_map(|e| match e {
                VrrpEvent::Trap(t) => Some(t),
                VrrpEvent::Removed { name, from } => {
                    let vi = previous.instances.iter().find(|i| i.name == name)?;
                    let notify_deleted = vi.notify_deleted.is_some();
                    // keepalived says nothing of a FAULT instance without notify_deleted
                    // (`clear_diff_vrrp()`).
                    (from != State::Fault || notify_deleted).then_some(TrapEvent::Deleted {
                        name,
                        initial: vi.state,
                        notify_deleted,
                    })
                }
            })
            .collect();
        // Only a new master's notifications read the engine's state (its reason and
        // source address). The others must not wait on the loop: at a stop it no longer
        // answers, and the stop's notifications go then.
        let new_master = events.iter().any(|e| {
            matches!(
                e,
                TrapEvent::Instance {
                    to: State::Master,
                    ..
                }
            )
        });
        if new_master {
            self.cache.refresh_live();
        }
        let empty;
        let live = match &self.cache.live {
            Some(l) => l,
            None => {
                empty = Live::default();
                &empty
            }
        };
        let (_, config) = self.shared.get();
        let mibs = Mibs {
            traps: config.global.enable_traps,
            ..self.mibs
        };
        let host = host::interfaces();
        let host_name = crate::host::smtp::host_name();
        events
            .iter()
            .flat_map(|ev| traps::notifications(&config, &mibs, live, &host, &host_name, ev))
            .collect()
    }
}

/// What the global scalars need beyond the configuration. Resolving the SMTP server's
/// name may wait on DNS: done on the sub-agent's thread, once per configuration.
fn global_facts(config: &Config) -> global::GlobalFacts {
    global::GlobalFacts {
        version: crate::version::title(),
        hostname: crate::host::smtp::host_name(),
        smtp_address: config.global.smtp_server.as_ref().and_then(|s| {
            s.host.parse::<IpAddr>().ok().or_else(|| {
                (s.host.as_str(), s.port)
                    .to_socket_addrs()
                    .ok()?
                    .next()
                    .map(|a| a.ip())
            })
        }),
        default_email_from: format!("{}@{}", effective_user(), crate::host::smtp::host_name()),
    }
}

/// The name of the user this process runs as (keepalived's `pw_name` of `getpwuid()`),
/// read with the re-entrant call: other threads look users up too.
fn effective_user() -> String {
    let mut buf = vec![0 as libc::c_char; 4096];
    // SAFETY: a zeroed passwd is a valid out-parameter; buf outlives the call and the
    // strings read from it.
    unsafe {
        let mut pw: libc::passwd = std::mem::zeroed();
        let mut found: *mut libc::passwd = std::ptr::null_mut();
        let rc = libc::getpwuid_r(
            libc::geteuid(),
            &mut pw,
            buf.as_mut_ptr(),
            buf.len(),
            &mut found,
        );
        if rc != 0 || found.is_null() || pw.pw_name.is_null() {
            return "root".into();
        }
        std::ffi::CStr::from_ptr(pw.pw_name)
            .to_string_lossy()
            .into_owned()
    }
}

/// What the checker loop reports for notifications: its engine's state after a step
/// that changed a server or a quorum. The sub-agent tells what changed against the
/// state it last had (none at start).
pub struct CheckerEvent {
    pub after: CheckLive,
    /// Whether real servers' changes notify: not at a stop that flushes the whole
    /// table (`lvs_flush_on_stop full`), which notifies the quorums alone
    /// (`clear_services()`).
    pub real_servers: bool,
}

/// Starts the checker child's sub-agent when its MIB is enabled (`-x` or
/// `enable_snmp_checker`): the global scalars and the checker tables.
pub fn start_checker(config: &Config, opts: &SnmpOptions) -> LoopSide<CheckerEvent, CheckLive> {
    let mibs = Mibs::checker_child(config, opts.all);
    if !mibs.checker {
        return LoopSide::default();
    }
    let (ask, questions) = tokio::sync::mpsc::unbounded_channel();
    let shared = Shared::new(config);
    let content = CheckerContent {
        mibs,
        shared: shared.clone(),
        cache: Cache::new(ask),
        stats: None,
        seen: None,
    };
    LoopSide {
        agent: start(config, opts, shared, content),
        questions: Some(questions),
        asked: None,
        traps: mibs.traps,
    }
}

/// How long IPVS's counters are reused before they are read again: keepalived 2.2.7
/// reads them at most every 5 s (`STATS_REFRESH`); `snmp_vs_stats_update_interval` and
/// `snmp_rs_stats_update_interval` set it (the shorter of the two is taken, since one
/// dump reads both).
fn stats_refresh(config: &Config) -> Duration {
    let g = &config.global;
    let us = [
        g.snmp_vs_stats_update_interval_us,
        g.snmp_rs_stats_update_interval_us,
    ]
    .into_iter()
    .flatten()
    .min()
    .unwrap_or(5_000_000);
    Duration::from_micros(us)
}

/// What the checker child serves.
struct CheckerContent {
    mibs: Mibs,
    shared: Shared,
    cache: Cache<CheckLive>,
    /// IPVS's counters, when they were read, and for which configuration (a reload
    /// renumbers the servers they are keyed by).
    stats: Option<(Instant, u64, IpvsStats)>,
    /// The engine's state the last notifications were worked out from.
    seen: Option<CheckLive>,
}

impl Content for CheckerContent {
    type Event = CheckerEvent;

    fn modules(&self) -> Vec<(Oid, String)> {
        modules(&self.mibs)
    }

    fn tree(&mut self) -> &MibTree {
        let (generation, config) = self.shared.get();
        if !self.cache.fresh(generation) {
            self.cache.refresh_live();
            let refresh = stats_refresh(&config);
            let stale = |(at, g, _): &(Instant, u64, IpvsStats)| {
                *g != generation || at.elapsed() >= refresh
            };
            if self.stats.as_ref().is_none_or(stale) {
                let read = match crate::ipvs::stats::read(&config) {
                    Ok(s) => s,
                    Err(e) => {
                        debug!("SNMP: IPVS counters: {e}");
                        IpvsStats::default()
                    }
                };
                self.stats = Some((Instant::now(), generation, read));
            }
            let facts = self.cache.facts(generation, &config);
            let live = self.cache.live.clone();
            let stats = self.stats.as_ref().map(|(_, _, s)| s.clone());
            self.cache.replace_tree(generation, || {
                let mut tree = MibTree::new();
                global::add(&mut tree, &config, &facts);
                if let (Some(live), Some(stats)) = (&live, &stats) {
                    checker::add(&mut tree, &config, live, stats);
                }
                tree
            });
        }
        &self.cache.tree
    }

    fn notifications(&mut self, events: Vec<CheckerEvent>) -> Vec<Vec<VarBind>> {
        let (_, config) = self.shared.get();
        let mibs = Mibs {
            traps: config.global.enable_traps,
            ..self.mibs
        };
        let host_name = crate::host::smtp::host_name();
        let real_server_trap = Value::ObjectIdentifier(keepalived_oid(&[3, 5, 0, 1]));
        let mut out = Vec::new();
        for e in events {
            let mut n =
                checker::notifications(&config, &mibs, self.seen.as_ref(), &e.after, &host_name);
            if !e.real_servers {
                n.retain(|v| v.first().is_none_or(|t| t.value != real_server_trap));
            }
            out.extend(n);
            self.seen = Some(e.after);
        }
        out
    }
}
