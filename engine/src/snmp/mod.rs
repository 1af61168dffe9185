//! keepalived's MIBs as trees of values the AgentX sub-agent serves.
//!
//! A [`MibTree`] holds every object instance of the subtrees a process registers, in
//! OID order, and answers the master agent's Get, GetNext and GetBulk as RFC 2741 §7.2.3
//! says. The trees are built from the configuration, the engines' state and the host's
//! interfaces by the functions of this module; the sub-agent (io-linux) only carries
//! PDUs. [`Mibs`] says which modules a process serves: the KEEPALIVED-MIB's global
//! scalars ([`global`]), VRRP tables ([`vrrp`]) and checker tables ([`checker`]), RFC
//! 2787 ([`rfc2787`]) and RFC 6527 ([`rfc6527`]); [`traps`] are the VRRP notifications.

pub mod checker;
pub mod global;
pub mod rfc2787;
pub mod rfc6527;
pub mod traps;
mod tree;
pub mod vrrp;
#[cfg(test)]
mod walk;

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};

pub use tree::{MibTree, MAX_VARBINDS};

use crate::agentx::Oid;
use crate::config::model::Config;

/// KEEPALIVED-MIB: `enterprises.9586.100.5` (`KEEPALIVED-MIB::keepalived`).
pub const KEEPALIVED_MIB: [u32; 9] = [1, 3, 6, 1, 4, 1, 9586, 100, 5];
/// RFC 2787 VRRP-MIB: `mib-2.68`.
pub const VRRP_MIB: [u32; 7] = [1, 3, 6, 1, 2, 1, 68];
/// RFC 6527 VRRPV3-MIB: `mib-2.207`.
pub const VRRPV3_MIB: [u32; 7] = [1, 3, 6, 1, 2, 1, 207];

/// `keepalived.n`, or a deeper OID under it.
pub fn keepalived_oid(tail: &[u32]) -> Oid {
    oid_under(&KEEPALIVED_MIB, tail)
}

/// `base` followed by `tail`.
pub fn oid_under(base: &[u32], tail: &[u32]) -> Oid {
    let mut v = base.to_vec();
    v.extend_from_slice(tail);
    Oid::new(v).expect("MIB OIDs are short")
}

/// The MIB modules one process serves, and whether it sends traps: keepalived's
/// `enable_snmp_*` flags, all set by `-x` (`snmp_option`), traps only by `enable_traps`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Mibs {
    /// KEEPALIVED-MIB `.1`, the global scalars.
    pub global: bool,
    /// KEEPALIVED-MIB `.2`, the VRRP tables (`enable_snmp_vrrp`).
    pub vrrp: bool,
    /// KEEPALIVED-MIB `.3`, the checker's tables (`enable_snmp_checker`).
    pub checker: bool,
    /// RFC 2787 (`enable_snmp_rfcv2`, or `enable_snmp_rfc`).
    pub rfcv2: bool,
    /// RFC 6527 (`enable_snmp_rfcv3`, or `enable_snmp_rfc`).
    pub rfcv3: bool,
    /// `enable_traps`: each module's traps, for the modules served.
    pub traps: bool,
}

impl Mibs {
    /// The VRRP child's: its three MIBs, and the global scalars unless the checker
    /// serves them (`vrrp_handles_global_oid()`: the checker does when it runs with its
    /// MIB enabled). `all` is `-x`.
    pub fn vrrp_child(cfg: &Config, all: bool, checker_runs: bool) -> Mibs {
        let g = &cfg.global;
        let vrrp = all || g.enable_snmp_vrrp;
        let checker = all || g.enable_snmp_checker;
        Mibs {
            global: vrrp && !(checker_runs && checker),
            vrrp,
            checker: false,
            rfcv2: all || g.enable_snmp_rfc || g.enable_snmp_rfcv2,
            rfcv3: all || g.enable_snmp_rfc || g.enable_snmp_rfcv3,
            traps: g.enable_traps,
        }
    }

    /// The checker child's: its MIB and the global scalars, when its MIB is enabled
    /// (`check_snmp_agent_init()`).
    pub fn checker_child(cfg: &Config, all: bool) -> Mibs {
        let checker = all || cfg.global.enable_snmp_checker;
        Mibs {
            global: checker,
            checker,
            traps: cfg.global.enable_traps,
            ..Mibs::default()
        }
    }
}

/// One interface as the MIBs show it, read from the host when a tree is built.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostInterface {
    /// ifIndex: an index of both RFC MIBs' tables.
    pub index: u32,
    /// Its MAC (`vrrpOperVirtualMacAddr` without `use_vmac`).
    pub mac: [u8; 6],
    /// Its first IPv4 address (`vrrpOperPrimaryIpAddr`).
    pub ipv4: Option<Ipv4Addr>,
    /// Its IPv6 link-local address (an IPv6 instance's primary address).
    pub ipv6_link_local: Option<Ipv6Addr>,
}

/// The host's interfaces by name.
pub type HostInterfaces = BTreeMap<String, HostInterface>;
