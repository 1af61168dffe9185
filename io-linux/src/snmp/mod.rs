//! SNMP as keepalived serves it: an AgentX sub-agent of net-snmp's `snmpd` ([`agent`]),
//! started by `-x`/`--snmp` or `enable_snmp_vrrp` (`enable_snmp_keepalived`), talking to
//! the master agent at `-A`/`--snmp-agent-socket` or `snmp_socket` (keepalived's
//! syntax, default `unix:/var/agentx/master`).
//!
//! Served: the KEEPALIVED-MIB global scalars (`keepalived.1`), rebuilt on each reload
//! (`keepalived_engine::snmp::global`), by the VRRP child when it runs with its MIB
//! enabled, else by the checker child when its MIB is (`vrrp_handles_global_oid()`). Not served yet, and said so at
//! start and by `-t`: the KEEPALIVED-MIB vrrp and checker subtrees, the RFC 2787 and
//! RFC 6527 MIBs, and traps.

pub mod agent;

use std::net::{IpAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use keepalived_engine::agentx::Oid;
use keepalived_engine::config::model::Config;
use keepalived_engine::snmp::{global, keepalived_oid, MibTree};
use tracing::{error, warn};

use agent::{MasterSocket, Served, SubAgent, DEFAULT_SOCKET};

/// What the command line says of SNMP.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SnmpOptions {
    /// `-x`: every MIB keepalived has (its vrrp, checker, rfcv2 and rfcv3 ones), no traps.
    pub all: bool,
    /// `-A`: the master agent's socket.
    pub socket: Option<String>,
}

/// A process's sub-agent: the tree it serves, rebuilt on reload.
pub struct Snmp {
    tree: Served,
    /// The configurations given so far: a tree built from an older one never replaces
    /// one from a newer.
    generation: Arc<AtomicU64>,
}

/// Whether the VRRP child runs a sub-agent: `-x` or `enable_snmp_vrrp`.
pub fn vrrp_serves(config: &Config, opts: &SnmpOptions) -> bool {
    opts.all || config.global.enable_snmp_vrrp
}

/// Whether the checker child runs one: with its MIB enabled (`-x` or
/// `enable_snmp_checker`), when the VRRP child does not serve the global scalars.
pub fn checker_serves(config: &Config, opts: &SnmpOptions, vrrp_runs: bool) -> bool {
    (opts.all || config.global.enable_snmp_checker) && !(vrrp_runs && vrrp_serves(config, opts))
}

impl Snmp {
    /// Starts a sub-agent on a thread of its own.
    pub fn start(config: &Config, opts: &SnmpOptions) -> Option<Snmp> {
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
        warn!(
            "SNMP: keepalived-rs serves the KEEPALIVED-MIB global scalars only; its vrrp and \
             checker tables, the RFC 2787 and RFC 6527 MIBs and traps are not served yet"
        );
        let tree = Arc::new(Mutex::new(MibTree::new()));
        let snmp = Snmp {
            tree: tree.clone(),
            generation: Arc::new(AtomicU64::new(0)),
        };
        // The first tree too is built off the caller's thread (see `reload`).
        snmp.reload(config);
        let agent = SubAgent {
            master,
            subtrees: vec![keepalived_oid(&[1])],
            // net-snmp's sub-agents open with NET-SNMP-TC's netSnmpAgentOIDs.10 (Linux),
            // as keepalived does through its library.
            id: Oid::new(vec![1, 3, 6, 1, 4, 1, 8072, 3, 2, 10]).expect("a short OID"),
            description: "keepalived-rs AgentX sub-agent".into(),
            // keepalived's sysORTable entry for the module (`register_sysORTable()`).
            caps: vec![(keepalived_oid(&[1]), "The MIB module for Keepalived".into())],
            tree: tree.clone(),
        };
        let started = std::thread::Builder::new()
            .name("snmp".into())
            .spawn(move || agent.run());
        if let Err(e) = started {
            error!("SNMP: cannot start the sub-agent thread: {e}");
            return None;
        }
        Some(snmp)
    }

    /// A reload's configuration: the tree it gives replaces the served one. Built on a
    /// thread of its own: resolving the SMTP server's name may wait on DNS, and the VRRP
    /// loop never does.
    pub fn reload(&self, config: &Config) {
        let (config, tree) = (config.clone(), self.tree.clone());
        let generation = self.generation.clone();
        let mine = generation.fetch_add(1, Ordering::SeqCst) + 1;
        let spawned = std::thread::Builder::new()
            .name("snmp-reload".into())
            .spawn(move || {
                let fresh = build(&config);
                let mut served = tree.lock().unwrap_or_else(|e| e.into_inner());
                if generation.load(Ordering::SeqCst) == mine {
                    *served = fresh;
                }
            });
        if let Err(e) = spawned {
            error!("SNMP: cannot rebuild the MIB after the reload: {e}");
        }
    }
}

/// The tree the VRRP child serves for `config`.
fn build(config: &Config) -> MibTree {
    let facts = global::GlobalFacts {
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
    };
    let mut tree = MibTree::new();
    global::add(&mut tree, config, &facts);
    tree
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
