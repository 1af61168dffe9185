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

use keepalived_engine::agentx::{Oid, VarBind};
use keepalived_engine::config::model::Config;
use keepalived_engine::snmp::traps::TrapEvent;
use keepalived_engine::snmp::{
    global, keepalived_oid, oid_under, rfc2787, rfc6527, traps, vrrp, MibTree, Mibs, VRRPV3_MIB,
    VRRP_MIB,
};
use keepalived_engine::vrrp::live::Live;
use tokio::sync::mpsc::UnboundedSender;
use tracing::{error, warn};

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
/// How long the sub-agent waits for the VRRP loop's state before answering from what
/// it had.
const LOOP_WAIT: Duration = Duration::from_secs(1);
/// How long a stopping child waits for its last notifications to go.
const STOP_WAIT: Duration = Duration::from_secs(1);

/// The configuration the sub-agent serves, replaced on reload, with a generation so a
/// tree is rebuilt when it changes.
#[derive(Clone)]
struct Shared {
    config: Arc<Mutex<Arc<Config>>>,
    generation: Arc<AtomicU64>,
}

impl Shared {
    fn new(config: &Config) -> Shared {
        Shared {
            config: Arc::new(Mutex::new(Arc::new(config.clone()))),
            generation: Arc::new(AtomicU64::new(0)),
        }
    }

    fn get(&self) -> (u64, Arc<Config>) {
        let c = self.config.lock().unwrap_or_else(|e| e.into_inner());
        (self.generation.load(Ordering::SeqCst), c.clone())
    }

    fn set(&self, config: &Config) {
        let mut c = self.config.lock().unwrap_or_else(|e| e.into_inner());
        *c = Arc::new(config.clone());
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

    /// An event for a notification; never blocks.
    pub fn post(&self, event: E) {
        self.mailbox.post(event);
    }

    /// At stop: sends what is queued and closes the session, waiting a second at most.
    pub fn stop(&self) {
        self.mailbox.stop(STOP_WAIT);
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

/// The VRRP child's sub-agent: asks the loop for its state through `ask`.
pub type VrrpSnmp = Snmp<TrapEvent>;

/// Starts the VRRP child's sub-agent, if `-x` or the configuration enables one of its
/// modules. `checker_runs`: whether the checker child runs (it then serves the global
/// scalars when its MIB is enabled).
pub fn start_vrrp(
    config: &Config,
    opts: &SnmpOptions,
    checker_runs: bool,
    ask: UnboundedSender<SyncSender<Live>>,
) -> Option<VrrpSnmp> {
    let mibs = Mibs::vrrp_child(config, opts.all, checker_runs);
    if !(mibs.vrrp || mibs.rfcv2 || mibs.rfcv3) {
        return None;
    }
    let shared = Shared::new(config);
    let content = VrrpContent {
        mibs,
        shared: shared.clone(),
        ask,
        facts: None,
        live: None,
        tree: MibTree::new(),
        built: None,
    };
    start(config, opts, shared, content)
}

/// What the VRRP child serves.
struct VrrpContent {
    mibs: Mibs,
    shared: Shared,
    ask: UnboundedSender<SyncSender<Live>>,
    /// The global scalars' host facts, for a configuration generation.
    facts: Option<(u64, global::GlobalFacts)>,
    /// The loop's last answer.
    live: Option<Live>,
    tree: MibTree,
    /// When the tree was built, for which generation.
    built: Option<(Instant, u64)>,
}

impl VrrpContent {
    /// The loop's state now, or the last one if it does not answer (it is stopping).
    fn refresh_live(&mut self) {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        if self.ask.send(tx).is_ok() {
            if let Ok(live) = rx.recv_timeout(LOOP_WAIT) {
                self.live = Some(live);
            }
        }
    }

    fn facts(&mut self, generation: u64, config: &Config) -> &global::GlobalFacts {
        if self.facts.as_ref().is_none_or(|(g, _)| *g != generation) {
            self.facts = Some((generation, global_facts(config)));
        }
        &self.facts.as_ref().expect("just set").1
    }
}

impl Content for VrrpContent {
    type Event = TrapEvent;

    fn modules(&self) -> Vec<(Oid, String)> {
        modules(&self.mibs)
    }

    fn tree(&mut self) -> &MibTree {
        let (generation, config) = self.shared.get();
        let fresh = self
            .built
            .is_some_and(|(at, g)| g == generation && at.elapsed() < FRESH);
        if !fresh {
            self.refresh_live();
            let mut tree = MibTree::new();
            if self.mibs.global {
                global::add(&mut tree, &config, self.facts(generation, &config));
            }
            if let Some(live) = &self.live {
                let host = host::interfaces();
                if self.mibs.vrrp {
                    vrrp::add(&mut tree, &config, live, &host);
                }
                if self.mibs.rfcv2 {
                    rfc2787::add(&mut tree, &config, live, &host);
                }
                if self.mibs.rfcv3 {
                    rfc6527::add(&mut tree, &config, live, &host);
                }
            }
            self.tree = tree;
            self.built = Some((Instant::now(), generation));
        }
        &self.tree
    }

    fn notifications(&mut self, events: Vec<TrapEvent>) -> Vec<Vec<VarBind>> {
        if !self.mibs.traps || events.is_empty() {
            return Vec::new();
        }
        self.refresh_live();
        let Some(live) = &self.live else {
            return Vec::new();
        };
        let (_, config) = self.shared.get();
        let host = host::interfaces();
        let host_name = crate::host::smtp::host_name();
        events
            .iter()
            .flat_map(|ev| traps::notifications(&config, &self.mibs, live, &host, &host_name, ev))
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

/// The checker child's sub-agent: the global scalars and the checker MIB.
pub type CheckerSnmp = Snmp<()>;

/// Starts the checker child's sub-agent when its MIB is enabled (`-x` or
/// `enable_snmp_checker`).
pub fn start_checker(config: &Config, opts: &SnmpOptions) -> Option<CheckerSnmp> {
    let mibs = Mibs::checker_child(config, opts.all);
    if !mibs.checker {
        return None;
    }
    warn!("SNMP: the checker's KEEPALIVED-MIB tables are not served yet; its global scalars are");
    let shared = Shared::new(config);
    let content = CheckerContent {
        mibs,
        shared: shared.clone(),
        facts: None,
        tree: MibTree::new(),
        built: None,
    };
    start(config, opts, shared, content)
}

/// What the checker child serves.
struct CheckerContent {
    mibs: Mibs,
    shared: Shared,
    facts: Option<(u64, global::GlobalFacts)>,
    tree: MibTree,
    built: Option<u64>,
}

impl Content for CheckerContent {
    type Event = ();

    fn modules(&self) -> Vec<(Oid, String)> {
        // The checker tables are not served yet: only the global module is registered.
        modules(&Mibs {
            checker: false,
            ..self.mibs
        })
    }

    fn tree(&mut self) -> &MibTree {
        let (generation, config) = self.shared.get();
        if self.built != Some(generation) {
            if self.facts.as_ref().is_none_or(|(g, _)| *g != generation) {
                self.facts = Some((generation, global_facts(&config)));
            }
            let mut tree = MibTree::new();
            global::add(
                &mut tree,
                &config,
                &self.facts.as_ref().expect("just set").1,
            );
            self.tree = tree;
            self.built = Some(generation);
        }
        &self.tree
    }

    fn notifications(&mut self, _events: Vec<()>) -> Vec<Vec<VarBind>> {
        Vec::new()
    }
}
