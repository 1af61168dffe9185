//! KEEPALIVED-MIB `keepalived.3`: the checker's tables (`check_snmp.c`), and its two
//! notifications.
//!
//! Tables, each indexed by 1-based positions in configuration order
//! (`tests/data/snmp/README.md`, "Checker `.3`"):
//!
//! - `.1` virtualServerGroupTable (group) and `.2` virtualServerGroupMemberTable
//!   (group, member): a group's `fwmark` entries count first, then its addresses.
//! - `.3` virtualServerTable (virtual server).
//! - `.4` realServerTable (virtual server, server): the sorry server is 1 when there is
//!   one, then the real servers.
//! - `.6` the LVS sync daemon scalars, `.7` the LVS timeouts.
//!
//! What changes at run time comes from the engine ([`CheckLive`]); the IPVS counters
//! come from the kernel ([`IpvsStats`]), which the daemon reads. keepalived 2.2.7
//! refreshes a virtual server's counters, and its servers', at most every 5 s
//! (`STATS_REFRESH`, `ipvs_update_stats()`), on the first read after that; later
//! versions make that `snmp_vs_stats_update_interval` and `snmp_rs_stats_update_interval`
//! (`cfg.global.snmp_{vs,rs}_stats_update_interval_us`). The daemon uses them the same
//! way: it re-reads the IPVS counters for a tree only when the last read is older than
//! the interval (5 s when unset), so a walk does not cost a netlink dump per request,
//! and a counter may lag the kernel by up to that interval.

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::agentx::{Oid, Value, VarBind};
use crate::check::live::{CheckLive, VsLive};
use crate::config::model::{
    Config, Given, LvsKind, LvsMethod, Protocol, RealServer, VirtualServer, VsAddress, VsgEntry,
};
use crate::vrrp::dump::cmd_str;

use super::{keepalived_oid, MibTree, Mibs};

/// `snmpTrapOID.0` (SNMPv2-MIB).
const SNMP_TRAP_OID: [u32; 11] = [1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0];
/// keepalived's `TIMER_HZ`: its times are in µs, the seconds columns divide by it.
const TIMER_HZ: u64 = 1_000_000;

/// One IPVS service's, or one destination's, counters and rate estimates
/// (`struct ip_vs_stats64`: `IPVS_SVC_ATTR_STATS64` / `IPVS_DEST_ATTR_STATS64`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    pub conns: u64,
    pub inpkts: u64,
    pub outpkts: u64,
    pub inbytes: u64,
    pub outbytes: u64,
    /// Connections per second (the kernel's estimate).
    pub cps: u64,
    pub inpps: u64,
    pub outpps: u64,
    pub inbps: u64,
    pub outbps: u64,
}

impl Counters {
    /// `self` plus `other`, field by field (a virtual server's several services, or one
    /// server in each of them).
    pub fn add(&mut self, other: &Counters) {
        self.conns = self.conns.wrapping_add(other.conns);
        self.inpkts = self.inpkts.wrapping_add(other.inpkts);
        self.outpkts = self.outpkts.wrapping_add(other.outpkts);
        self.inbytes = self.inbytes.wrapping_add(other.inbytes);
        self.outbytes = self.outbytes.wrapping_add(other.outbytes);
        self.cps = self.cps.wrapping_add(other.cps);
        self.inpps = self.inpps.wrapping_add(other.inpps);
        self.outpps = self.outpps.wrapping_add(other.outpps);
        self.inbps = self.inbps.wrapping_add(other.inbps);
        self.outbps = self.outbps.wrapping_add(other.outbps);
    }
}

/// One destination's counters and connection counts (`IPVS_DEST_ATTR_ACTIVE_CONNS`,
/// `INACT_CONNS`, `PERSIST_CONNS`), summed over the virtual server's services.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DestStats {
    pub counters: Counters,
    pub active_conns: u32,
    pub inact_conns: u32,
    pub persist_conns: u32,
}

/// A server of a virtual server, as the realServerTable lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Dest {
    /// Its sorry server.
    Sorry,
    /// Its real server at this position (0-based) in its `real_server` list.
    Real(usize),
}

/// The IPVS counters the daemon read, keyed by virtual server position (0-based,
/// configuration order) and server. What is missing reads 0, as keepalived resets its
/// copies before each read: a server out of IPVS has no counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpvsStats {
    /// Each virtual server's, summed over its services.
    pub virtual_servers: BTreeMap<usize, Counters>,
    pub servers: BTreeMap<(usize, Dest), DestStats>,
}

fn truth(b: bool) -> Value {
    Value::Integer(if b { 1 } else { 2 })
}

fn gauge(n: u64) -> Value {
    // keepalived stores the 64-bit value in a long that net-snmp sends as 32 bits.
    Value::Gauge32(n as u32)
}

fn secs(us: u64) -> Value {
    gauge(us / TIMER_HZ)
}

fn octets(a: IpAddr) -> Vec<u8> {
    match a {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

/// `SNMP_InetAddressType()`: ipv6(2) for AF_INET6, else ipv4(1).
fn addr_type(v6: bool) -> Value {
    Value::Integer(if v6 { 2 } else { 1 })
}

/// The address family of a virtual server (`vs->af`): a group's from its entries.
fn vs_is_v6(vs: &VirtualServer, cfg: &Config) -> bool {
    match &vs.address {
        VsAddress::Ip { address, .. } => address.is_ipv6(),
        VsAddress::Fwmark { .. } => vs.ip_family_v6.unwrap_or(false),
        VsAddress::Group { name } => vs.ip_family_v6.unwrap_or_else(|| {
            group(cfg, name).is_some_and(|g| {
                g.entries.iter().any(|e| match e {
                    VsgEntry::Range { first, .. } => first.is_ipv6(),
                    VsgEntry::Fwmark { family_v6, .. } => family_v6.unwrap_or(false),
                })
            })
        }),
    }
}

fn group<'a>(cfg: &'a Config, name: &str) -> Option<&'a crate::config::model::VirtualServerGroup> {
    cfg.virtual_server_groups.iter().find(|g| g.name == name)
}

/// A group with firewall marks only: keepalived drops the protocol of its virtual
/// server (`validate_check_config()`), and so does a fwmark virtual server's.
fn fwmark_only(vs: &VirtualServer, cfg: &Config) -> bool {
    match &vs.address {
        VsAddress::Fwmark { .. } => true,
        VsAddress::Group { name } => group(cfg, name).is_some_and(|g| {
            !g.entries.is_empty()
                && g.entries
                    .iter()
                    .all(|e| matches!(e, VsgEntry::Fwmark { .. }))
        }),
        VsAddress::Ip { .. } => false,
    }
}

fn kind(m: &LvsMethod) -> i32 {
    match m.kind {
        LvsKind::Nat => 1,
        LvsKind::Dr => 2,
        LvsKind::Tun => 3,
    }
}

/// virtualServerLoadBalancingAlgo's numbers for the scheduler names.
fn algo(sched: &str) -> i32 {
    match sched {
        "rr" => 1,
        "wrr" => 2,
        "lc" => 3,
        "wlc" => 4,
        "lblc" => 5,
        "lblcr" => 6,
        "dh" => 7,
        "sh" => 8,
        "sed" => 9,
        "nq" => 10,
        "fo" => 11,
        "ovf" => 12,
        "mh" => 13,
        "twos" => 14,
        _ => 99,
    }
}

/// `persistence_granularity` as keepalived holds it: an IPv4 netmask as the `s_addr` it
/// parses to, read as a little-endian (x86) u32; an IPv6 prefix length as is;
/// 0xffffffff without one.
fn granularity(vs: &VirtualServer) -> u32 {
    match &vs.persistence_granularity {
        None => u32::MAX,
        Some(g) => match g.parse::<std::net::Ipv4Addr>() {
            Ok(a) => u32::from_le_bytes(a.octets()),
            Err(_) => g.parse().unwrap_or(u32::MAX),
        },
    }
}

/// The tunnel columns (TUN only): type ipip(1) gue(2) gre(3); the GUE port; the
/// checksum mode nocsum(1) csum(2) remcsum(3), for GUE and GRE.
fn tunnel(m: &LvsMethod) -> Option<(i32, Option<u16>, Option<i32>)> {
    if m.kind != LvsKind::Tun {
        return None;
    }
    let t = match m.tunnel_type.as_deref() {
        Some("gue") => 2,
        Some("gre") => 3,
        _ => 1,
    };
    let port = (t == 2).then_some(m.tunnel_port.unwrap_or(0));
    let csum = (t != 1).then_some(match m.tunnel_checksum.as_deref() {
        Some("csum") => 2,
        Some("remcsum") => 3,
        _ => 1,
    });
    Some((t, port, csum))
}

/// Adds `keepalived.3` for `cfg` to `tree`.
pub fn add(tree: &mut MibTree, cfg: &Config, live: &CheckLive, stats: &IpvsStats) {
    let mut col = |tail: &[u32], index: &[u32], v: Value| {
        let mut o = vec![3];
        o.extend_from_slice(tail);
        tree.insert_column(keepalived_oid(&o), index, v);
    };

    for (gi, g) in cfg.virtual_server_groups.iter().enumerate() {
        let gi = gi as u32 + 1;
        col(
            &[1, 1, 2],
            &[gi],
            Value::OctetString(g.name.clone().into_bytes()),
        );
        // check_snmp_vsgroupmember(): the fwmark list, then the address ranges.
        let fwmarks = g
            .entries
            .iter()
            .filter(|e| matches!(e, VsgEntry::Fwmark { .. }));
        let ranges = g
            .entries
            .iter()
            .filter(|e| matches!(e, VsgEntry::Range { .. }));
        for (mi, e) in fwmarks.chain(ranges).enumerate() {
            let idx = [gi, mi as u32 + 1];
            match e {
                VsgEntry::Fwmark { mark, .. } => {
                    col(&[2, 1, 2], &idx, Value::Integer(1));
                    col(&[2, 1, 3], &idx, gauge((*mark).into()));
                }
                VsgEntry::Range { first, last, port } => {
                    let single = first == last;
                    col(&[2, 1, 2], &idx, Value::Integer(if single { 2 } else { 3 }));
                    col(&[2, 1, 4], &idx, addr_type(first.is_ipv6()));
                    if single {
                        col(&[2, 1, 5], &idx, Value::OctetString(octets(*first)));
                    } else {
                        col(&[2, 1, 6], &idx, Value::OctetString(octets(*first)));
                        col(&[2, 1, 7], &idx, Value::OctetString(octets(*last)));
                    }
                    col(&[2, 1, 8], &idx, gauge(port.unwrap_or(0).into()));
                }
            }
        }
    }

    let none = Counters::default();
    let no_dest = DestStats::default();
    for (vi, vs) in cfg.virtual_servers.iter().enumerate() {
        let lv = live.virtual_servers.get(vi);
        let v = [vi as u32 + 1];
        let mut c = |n: u32, val: Value| col(&[3, 1, n], &v, val);
        c(
            2,
            Value::Integer(match vs.address {
                VsAddress::Fwmark { .. } => 1,
                VsAddress::Ip { .. } => 2,
                VsAddress::Group { .. } => 3,
            }),
        );
        match &vs.address {
            VsAddress::Group { name } => c(3, Value::OctetString(name.clone().into_bytes())),
            VsAddress::Fwmark { mark } => c(4, gauge((*mark).into())),
            VsAddress::Ip { .. } => {}
        }
        let v6 = vs_is_v6(vs, cfg);
        c(5, addr_type(v6));
        if let VsAddress::Ip { address, port } = &vs.address {
            c(6, Value::OctetString(octets(*address)));
            c(7, gauge((*port).into()));
        }
        if !matches!(vs.address, VsAddress::Fwmark { .. }) {
            let p = if fwmark_only(vs, cfg) {
                4
            } else {
                match vs.protocol {
                    Protocol::Tcp => 1,
                    Protocol::Udp => 2,
                    Protocol::Sctp => 3,
                }
            };
            c(8, Value::Integer(p));
        }
        c(9, Value::Integer(algo(&vs.lvs_sched)));
        c(10, Value::Integer(kind(&vs.lvs_method)));
        c(11, truth(lv.is_some_and(|l| l.alive)));
        if let Some(h) = &vs.virtualhost {
            c(12, Value::OctetString(h.clone().into_bytes()));
        }
        // pgr_handler(): a granularity without a timeout sets the default 360 s.
        let persist = vs
            .persistence_timeout_s
            .filter(|t| *t != 0)
            .or(vs.persistence_granularity.as_ref().map(|_| 360));
        c(13, truth(persist.is_some()));
        if let Some(t) = persist {
            c(14, gauge(t.into()));
        }
        // The address family of `vs->addr`: none for a group or fwmark, so both
        // granularity columns appear for those.
        let addr_v6 = match &vs.address {
            VsAddress::Ip { address, .. } => Some(address.is_ipv6()),
            _ => None,
        };
        let gran = granularity(vs);
        if addr_v6 != Some(true) {
            c(15, Value::OctetString(gran.to_le_bytes().to_vec()));
        }
        let sch = &vs.schedule;
        c(16, secs(sch.delay_loop_us));
        c(17, truth(vs.ha_suspend));
        c(37, truth(vs.ops));
        c(18, truth(sch.alpha));
        c(19, truth(vs.omega));
        c(20, gauge(vs.real_servers.len() as u64));
        c(21, gauge(lv.map_or(0, |l| l.alive_count).into()));
        c(22, gauge(lv.map_or(vs.quorum, |l| l.quorum).into()));
        c(23, truth(lv.is_some_and(|l| l.quorum_up)));
        if let Some(cmd) = &vs.quorum_up {
            c(24, Value::OctetString(cmd_str(cmd).into_bytes()));
        }
        if let Some(cmd) = &vs.quorum_down {
            c(25, Value::OctetString(cmd_str(cmd).into_bytes()));
        }
        c(26, gauge(lv.map_or(vs.hysteresis, |l| l.hysteresis).into()));
        let s = stats.virtual_servers.get(&vi).unwrap_or(&none);
        c(27, gauge(s.conns));
        c(28, Value::Counter32(s.inpkts as u32));
        c(29, Value::Counter32(s.outpkts as u32));
        c(30, Value::Counter64(s.inbytes));
        c(31, Value::Counter64(s.outbytes));
        c(32, gauge(s.cps));
        c(33, gauge(s.inpps));
        c(34, gauge(s.outpps));
        c(35, gauge(s.inbps));
        c(36, gauge(s.outbps));
        c(38, Value::Counter64(s.conns));
        c(39, Value::Counter64(s.inpkts));
        c(40, Value::Counter64(s.outpkts));
        // Low and high halves of the rates. keepalived 2.2.7's Low handlers return the
        // wrong static and read 0; later versions give the low 32 bits, as here.
        for (n, r) in [
            (41, s.cps),
            (43, s.inpps),
            (45, s.outpps),
            (47, s.inbps),
            (49, s.outbps),
        ] {
            c(n, gauge(r & 0xffff_ffff));
            c(n + 1, gauge(r >> 32));
        }
        if addr_v6 != Some(false) {
            c(51, gauge(gran.into()));
        }
        let flag = |names: &[&str]| vs.sched_flags.iter().any(|f| names.contains(&f.as_str()));
        // IP_VS_SVC_F_SCHED_SH_FALLBACK and _MH_FALLBACK are SCHED1, _SH_PORT and
        // _MH_PORT are SCHED2: the columns read the shared bits.
        let f1 = flag(&["flag-1", "sh-fallback", "mh-fallback"]);
        let f2 = flag(&["flag-2", "sh-port", "mh-port"]);
        c(52, truth(vs.hashed));
        c(53, truth(f1));
        c(54, truth(f2));
        c(55, truth(flag(&["flag-3"])));
        c(56, truth(!vs.inhibit_on_failure));
        // The virtual server's own retry, delay_before_retry and warmup; 0 when it has
        // none (UINT_MAX / ULONG_MAX in keepalived).
        let own = |g: Given, val: u64| if vs.explicit.has(g) { val } else { 0 };
        c(57, gauge(own(Given::Retry, sch.retry.into())));
        let dbr = own(Given::DelayBeforeRetry, sch.delay_before_retry_us);
        let warmup = own(Given::Warmup, sch.warmup_us);
        c(58, secs(dbr));
        c(59, secs(warmup));
        c(60, Value::Integer(vs.weight));
        c(61, truth(vs.smtp_alert.unwrap_or(false)));
        c(62, truth(f1));
        c(63, truth(f2));
        c(64, gauge(sch.delay_loop_us));
        c(65, gauge(dbr));
        c(66, gauge(warmup));
        c(67, gauge(sch.connect_timeout_us));
        if let Some((t, port, csum)) = tunnel(&vs.lvs_method) {
            c(68, Value::Integer(t));
            if let Some(p) = port {
                c(69, gauge(p.into()));
            }
            if let Some(x) = csum {
                c(70, Value::Integer(x));
            }
        }
        if let Some(n) = &vs.snmp_name {
            c(71, Value::OctetString(n.clone().into_bytes()));
        }

        // realServerTable: the sorry server first.
        let mut r = 0u32;
        let dest_stats = |c: &mut dyn FnMut(u32, Value), d: Dest| {
            let ds = stats.servers.get(&(vi, d)).unwrap_or(&no_dest);
            let s = &ds.counters;
            c(14, gauge(s.conns));
            c(15, gauge(ds.active_conns.into()));
            c(16, gauge(ds.inact_conns.into()));
            c(17, gauge(ds.persist_conns.into()));
            c(18, Value::Counter32(s.inpkts as u32));
            c(19, Value::Counter32(s.outpkts as u32));
            c(20, Value::Counter64(s.inbytes));
            c(21, Value::Counter64(s.outbytes));
            c(22, gauge(s.cps));
            c(23, gauge(s.inpps));
            c(24, gauge(s.outpps));
            c(25, gauge(s.inbps));
            c(26, gauge(s.outbps));
            c(27, Value::Counter64(s.conns));
            c(28, Value::Counter64(s.inpkts));
            c(29, Value::Counter64(s.outpkts));
            for (n, x) in [
                (30, s.cps),
                (32, s.inpps),
                (34, s.outpps),
                (36, s.inbps),
                (38, s.outbps),
            ] {
                c(n, gauge(x & 0xffff_ffff));
                c(n + 1, gauge(x >> 32));
            }
        };
        if let Some(ss) = &vs.sorry_server {
            r += 1;
            let idx = [vi as u32 + 1, r];
            let mut c = |n: u32, val: Value| col(&[4, 1, n], &idx, val);
            let method = ss.lvs_method.as_ref().unwrap_or(&vs.lvs_method);
            // validate_check_config(): without a port the sorry server takes the
            // virtual server's unless NAT; a fwmark service's has none.
            let port = match (&vs.address, method.kind) {
                (VsAddress::Ip { port, .. }, k) if k != LvsKind::Nat => ss.port.unwrap_or(*port),
                (VsAddress::Fwmark { .. }, k) if k != LvsKind::Nat => 0,
                _ => ss.port.unwrap_or(0),
            };
            c(2, Value::Integer(2));
            c(3, addr_type(ss.address.is_ipv6()));
            c(4, Value::OctetString(octets(ss.address)));
            c(5, gauge(port.into()));
            dest_stats(&mut c, Dest::Sorry);
            c(40, Value::Integer(kind(method)));
            // The sorry server takes none of the virtual server's defaults.
            c(42, truth(false));
            for n in [43, 44, 45, 46] {
                c(n, gauge(0));
            }
            c(47, truth(false));
            for n in [48, 49, 50, 51] {
                c(n, gauge(0));
            }
            sorry_or_real_tunnel(&mut c, method);
        }
        for (ri, rs) in vs.real_servers.iter().enumerate() {
            r += 1;
            let idx = [vi as u32 + 1, r];
            let mut c = |n: u32, val: Value| col(&[4, 1, n], &idx, val);
            let lr = lv.and_then(|l: &VsLive| l.real_servers.get(ri));
            c(2, Value::Integer(1));
            c(3, addr_type(rs.address.is_ipv6()));
            c(4, Value::OctetString(octets(rs.address)));
            c(5, gauge(rs.port.unwrap_or(0).into()));
            c(6, truth(lr.is_some_and(|l| l.alive)));
            let weight = lr.map_or(rs.weight.max(0) as u32, |l| l.weight);
            c(7, Value::Integer(weight.min(i32::MAX as u32) as i32));
            if let Some(u) = rs.uthreshold.filter(|u| *u != 0) {
                c(8, gauge(u.into()));
            }
            if let Some(l) = rs.lthreshold.filter(|l| *l != 0) {
                c(9, gauge(l.into()));
            }
            c(10, truth(!rs.inhibit_on_failure));
            if let Some(cmd) = &rs.notify_up {
                c(11, Value::OctetString(cmd_str(cmd).into_bytes()));
            }
            if let Some(cmd) = &rs.notify_down {
                c(12, Value::OctetString(cmd_str(cmd).into_bytes()));
            }
            let failed = lr.map_or(rs.checkers.len() as u32, |l| l.failed_checkers);
            c(13, gauge(failed.into()));
            dest_stats(&mut c, Dest::Real(ri));
            let method = rs.lvs_method.as_deref().unwrap_or(&vs.lvs_method);
            c(40, Value::Integer(kind(method)));
            if let Some(h) = &rs.virtualhost {
                c(41, Value::OctetString(h.clone().into_bytes()));
            }
            real_server_timers(&mut c, rs, vs, cfg);
            sorry_or_real_tunnel(&mut c, method);
            if let Some(n) = &rs.snmp_name {
                c(55, Value::OctetString(n.clone().into_bytes()));
            }
        }
    }

    // LVS sync daemon (`check_snmp_lvs_sync_daemon`), scalars.
    let g = &cfg.global;
    let mut scalar = |tail: &[u32], v: Value| {
        let mut o = vec![3];
        o.extend_from_slice(tail);
        tree.insert_scalar(keepalived_oid(&o), v);
    };
    scalar(&[6, 1], truth(g.lvs_sync_daemon.is_some()));
    if let Some(d) = &g.lvs_sync_daemon {
        scalar(
            &[6, 2],
            Value::OctetString(d.interface.clone().into_bytes()),
        );
        if let Some(i) = &d.instance {
            scalar(&[6, 3], Value::OctetString(i.clone().into_bytes()));
        }
        scalar(&[6, 4], Value::Integer(d.id.map_or(0, i32::from)));
        scalar(&[6, 5], Value::Integer(d.maxlen.map_or(0, i32::from)));
        scalar(&[6, 6], Value::Integer(d.port.into()));
        scalar(&[6, 7], Value::Integer(d.ttl.map_or(0, i32::from)));
        if let Some(a) = d.group {
            scalar(&[6, 8], addr_type(a.is_ipv6()));
            scalar(&[6, 9], Value::OctetString(octets(a)));
        }
    }
    // LVS timeouts (`check_snmp_lvs_timeouts`): only those set.
    let t = &g.lvs_timeouts;
    for (n, v) in [(1, t.tcp_s), (2, t.tcpfin_s), (3, t.udp_s)] {
        if let Some(v) = v.filter(|v| *v != 0) {
            scalar(&[7, n], Value::Integer(v.min(i32::MAX as u32) as i32));
        }
    }
}

/// A real server's alpha, retry, delay_before_retry, warmup, delay_loop, smtp_alert
/// and connection timeout columns: its own keyword or its virtual server's
/// (`validate_check_config()`), retry, delay_before_retry and warmup 0 when neither
/// gave them. smtp_alert unset takes `smtp_alert_checker`, then `smtp_alert`, else
/// true.
fn real_server_timers(
    c: &mut dyn FnMut(u32, Value),
    rs: &RealServer,
    vs: &VirtualServer,
    cfg: &Config,
) {
    let sch = &rs.schedule;
    let given = |g: Given| rs.explicit.has(g) || vs.explicit.has(g);
    let pick = |g: Given, v: u64| if given(g) { v } else { 0 };
    let dbr = pick(Given::DelayBeforeRetry, sch.delay_before_retry_us);
    let warmup = pick(Given::Warmup, sch.warmup_us);
    c(42, truth(sch.alpha));
    c(43, gauge(pick(Given::Retry, sch.retry.into())));
    c(44, secs(dbr));
    c(45, secs(warmup));
    c(46, secs(sch.delay_loop_us));
    // The model keeps `smtp_alert` true unless the real server turned it off.
    let g = &cfg.global;
    let smtp = rs.smtp_alert && g.smtp_alert_checker.or(g.smtp_alert).unwrap_or(true);
    c(47, truth(smtp));
    c(48, gauge(dbr));
    c(49, gauge(warmup));
    c(50, gauge(sch.delay_loop_us));
    c(51, gauge(sch.connect_timeout_us));
}

fn sorry_or_real_tunnel(c: &mut dyn FnMut(u32, Value), method: &LvsMethod) {
    if let Some((t, port, csum)) = tunnel(method) {
        c(52, Value::Integer(t));
        if let Some(p) = port {
            c(53, gauge(p.into()));
        }
        if let Some(x) = csum {
            c(54, Value::Integer(x));
        }
    }
}

/// The VS part of both notifications (`check_snmp_rs_trap()`): type, then the group
/// name, the fwmark or the address type, address and port, then the protocol as
/// TruthValue(tcp) (udp and sctp both read 2).
fn vs_varbinds(out: &mut Vec<VarBind>, vs: &VirtualServer, cfg: &Config) {
    let vb = |tail: &[u32], v: Value| VarBind::new(keepalived_oid(tail), v);
    let t = match vs.address {
        VsAddress::Fwmark { .. } => 1,
        VsAddress::Ip { .. } => 2,
        VsAddress::Group { .. } => 3,
    };
    out.push(vb(&[3, 3, 1, 2], Value::Integer(t)));
    match &vs.address {
        VsAddress::Group { name } => out.push(vb(
            &[3, 3, 1, 3],
            Value::OctetString(name.clone().into_bytes()),
        )),
        VsAddress::Fwmark { mark } => out.push(vb(&[3, 3, 1, 4], gauge((*mark).into()))),
        VsAddress::Ip { address, port } => {
            out.push(vb(&[3, 3, 1, 5], addr_type(address.is_ipv6())));
            out.push(vb(&[3, 3, 1, 6], Value::OctetString(octets(*address))));
            out.push(vb(&[3, 3, 1, 7], gauge((*port).into())));
        }
    }
    let tcp = vs.protocol == Protocol::Tcp && !fwmark_only(vs, cfg);
    out.push(vb(&[3, 3, 1, 8], truth(tcp)));
}

/// The checker's notifications between two snapshots of the engine, in keepalived's
/// order: per virtual server, realServerStateChange (`.3.5.0.1`) for each real server
/// whose state changed, then virtualServerQuorumStateChange (`.3.5.0.2`) when its quorum
/// did. Each list starts with `snmpTrapOID.0`; `sysUpTime.0` is left to the master
/// agent. Nothing unless `mibs.traps && mibs.checker`.
///
/// `before` is None for the engine's first snapshot (start): a virtual server that
/// starts with quorum up notifies, one that starts with it down only when it has a sorry
/// server (`update_quorum_state(init)`), and real servers only with `rs_init_notifies`.
/// When `after` is stopped, each real server still alive in `before` notifies down and
/// every virtual server's quorum notification says stopping(3)
/// (`clear_service_rs()`, `update_vs_notifies(stopping)`). Virtual and real servers are
/// matched by label, so a reload's additions and removals notify nothing. A change
/// undone between two snapshots is not seen: the daemon takes one after each engine
/// step. `host_name` is the router id when `router_id` is not set.
pub fn notifications(
    cfg: &Config,
    mibs: &Mibs,
    before: Option<&CheckLive>,
    after: &CheckLive,
    host_name: &str,
) -> Vec<Vec<VarBind>> {
    if !(mibs.traps && mibs.checker) {
        return Vec::new();
    }
    let router_id = cfg
        .global
        .router_id
        .clone()
        .unwrap_or_else(|| host_name.to_string());
    let trap_oid = |n: u32| {
        VarBind::new(
            Oid::from_slice(&SNMP_TRAP_OID).expect("short"),
            Value::ObjectIdentifier(keepalived_oid(&[3, 5, 0, n])),
        )
    };
    let tail = |out: &mut Vec<VarBind>, up: u32, total: usize| {
        out.push(VarBind::new(
            keepalived_oid(&[3, 3, 1, 21]),
            gauge(up.into()),
        ));
        out.push(VarBind::new(
            keepalived_oid(&[3, 3, 1, 20]),
            gauge(total as u64),
        ));
        out.push(VarBind::new(
            keepalived_oid(&[1, 2, 0]),
            Value::OctetString(router_id.clone().into_bytes()),
        ));
    };
    let mut traps = Vec::new();
    for (vi, vs) in cfg.virtual_servers.iter().enumerate() {
        let Some(now) = after.virtual_servers.get(vi) else {
            continue;
        };
        let prev = before.map(|b| b.virtual_servers.iter().find(|v| v.label == now.label));
        if let Some(None) = prev {
            // Added by a reload.
            continue;
        }
        let prev = prev.flatten();
        let total = vs.real_servers.len();
        // Each real server's state before, updated as each change lands, so a
        // notification counts the alive ones after its own change. One a reload added
        // starts as it is, and notifies nothing.
        let mut up: Vec<bool> = now
            .real_servers
            .iter()
            .map(|r| match prev {
                Some(p) => p
                    .real_servers
                    .iter()
                    .find(|x| x.label == r.label)
                    .map_or(r.alive, |x| x.alive),
                None => r.alive && !cfg.global.rs_init_notifies,
            })
            .collect();
        for (ri, r) in now.real_servers.iter().enumerate() {
            let was = up[ri];
            let is = r.alive && !after.stopped;
            if was == is {
                continue;
            }
            up[ri] = is;
            let Some(rs) = vs.real_servers.get(ri) else {
                continue;
            };
            let mut out = vec![trap_oid(1)];
            let vb = |tail: &[u32], v: Value| VarBind::new(keepalived_oid(tail), v);
            out.push(vb(&[3, 4, 1, 3], addr_type(rs.address.is_ipv6())));
            out.push(vb(&[3, 4, 1, 4], Value::OctetString(octets(rs.address))));
            out.push(vb(&[3, 4, 1, 5], gauge(rs.port.unwrap_or(0).into())));
            out.push(vb(&[3, 4, 1, 6], truth(is)));
            vs_varbinds(&mut out, vs, cfg);
            tail(&mut out, up.iter().filter(|u| **u).count() as u32, total);
            traps.push(out);
        }
        let status = match prev {
            _ if after.stopped => Some(3),
            Some(p) if p.quorum_up != now.quorum_up => Some(if now.quorum_up { 1 } else { 2 }),
            Some(_) => None,
            None if now.quorum_up => Some(1),
            None if vs.sorry_server.is_some() => Some(2),
            None => None,
        };
        if let Some(status) = status {
            let mut out = vec![trap_oid(2)];
            vs_varbinds(&mut out, vs, cfg);
            out.push(VarBind::new(
                keepalived_oid(&[3, 3, 1, 23]),
                Value::Integer(status),
            ));
            out.push(VarBind::new(
                keepalived_oid(&[3, 3, 1, 22]),
                gauge(now.quorum.into()),
            ));
            let alive = if after.stopped { 0 } else { now.alive_count };
            tail(&mut out, alive, total);
            traps.push(out);
        }
    }
    traps
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::live::RsLive;
    use crate::config::{parse_str, ParseOptions};
    use crate::snmp::walk;
    use crate::time::Instant;

    const PREFIX: &str = ".1.3.6.1.4.1.9586.100.5.3.";

    fn config() -> Config {
        let text = std::fs::read_to_string(walk::reference_path("checker.conf")).unwrap();
        parse_str(&text, &ParseOptions::default()).config
    }

    fn rs(label: &str, alive: bool, weight: u32, failed: u32, checkers: u32) -> RsLive {
        RsLive {
            label: label.into(),
            alive,
            weight,
            effective_weight: weight.into(),
            failed_checkers: failed,
            checkers,
        }
    }

    /// The engine as keepalived was at the captured moments: `Start` just after
    /// start (the alpha server of VS 2 not yet checked), `Settled`, `RsDown` (192.0.2.11
    /// failed, VS 1's quorum lost), `Stopped`.
    #[derive(Clone, Copy, PartialEq)]
    enum Moment {
        Start,
        Settled,
        RsDown,
        Stopped,
    }

    fn live(m: Moment) -> CheckLive {
        let stopped = m == Moment::Stopped;
        let rs11 = m == Moment::Start || m == Moment::Settled;
        let vs1_up = rs11;
        let rs13 = m == Moment::Settled || m == Moment::RsDown;
        CheckLive {
            at: Instant::ZERO,
            stopped,
            virtual_servers: vec![
                VsLive {
                    label: "[10.0.0.100]:tcp:80".into(),
                    alive: !stopped,
                    quorum_up: vs1_up,
                    quorum: 3,
                    hysteresis: 1,
                    alive_weight: if rs11 {
                        4
                    } else if stopped {
                        0
                    } else {
                        1
                    },
                    alive_count: if rs11 {
                        2
                    } else if stopped {
                        0
                    } else {
                        1
                    },
                    sorry_active: m == Moment::RsDown,
                    suspended: false,
                    real_servers: vec![
                        rs("[192.0.2.11]:tcp:80", rs11, 3, u32::from(!rs11), 1),
                        rs("[192.0.2.12]:tcp:80", !stopped, 1, 0, 2),
                    ],
                },
                VsLive {
                    label: "[VSG_WEB]:0".into(),
                    alive: !stopped,
                    quorum_up: rs13,
                    quorum: 1,
                    hysteresis: 0,
                    alive_weight: if rs13 { 2 } else { 0 },
                    alive_count: u32::from(rs13),
                    sorry_active: false,
                    suspended: false,
                    real_servers: vec![rs("[192.0.2.13]:tcp:8080", rs13, 2, u32::from(!rs13), 1)],
                },
            ],
        }
    }

    /// The counters of the first walk: five connections to VS 1, all to 192.0.2.12 (the
    /// persistence template's choice).
    fn stats() -> IpvsStats {
        let c = Counters {
            conns: 5,
            inpkts: 19,
            outpkts: 15,
            inbytes: 1058,
            outbytes: 808,
            cps: 0,
            inpps: 1,
            outpps: 0,
            inbps: 31,
            outbps: 24,
        };
        let mut s = IpvsStats::default();
        s.virtual_servers.insert(0, c);
        s.servers.insert(
            (0, Dest::Real(1)),
            DestStats {
                // Its own rate estimates differ from the service's.
                counters: Counters {
                    inpps: 0,
                    inbps: 18,
                    outbps: 13,
                    ..c
                },
                active_conns: 0,
                inact_conns: 0,
                persist_conns: 1,
            },
        );
        s
    }

    /// Whether `line` is an IPVS counter or rate column: their values depend on the TCP
    /// exchange and on when the kernel's estimator ran.
    fn is_stat(line: &str) -> bool {
        let Some(rest) = line.strip_prefix(PREFIX) else {
            return false;
        };
        let sub: Vec<u32> = rest
            .split(' ')
            .next()
            .unwrap()
            .split('.')
            .map(|s| s.parse().unwrap())
            .collect();
        match sub[..] {
            [3, 1, c, ..] => (27..=36).contains(&c) || (38..=50).contains(&c),
            [4, 1, c, ..] => (14..=39).contains(&c),
            _ => false,
        }
    }

    /// A stat column's line with its value replaced by `*`, others as they are.
    fn normalised(lines: Vec<String>) -> Vec<String> {
        lines
            .into_iter()
            .map(|l| match l.split_once(": ") {
                Some((head, _)) if is_stat(&l) => format!("{head}: *"),
                _ => l,
            })
            .collect()
    }

    fn tree(m: Moment) -> MibTree {
        let mut t = MibTree::new();
        add(&mut t, &config(), &live(m), &stats());
        t
    }

    #[test]
    fn checker_tables_match_keepalived_2_2_7s_walks() {
        for (m, file) in [
            (Moment::Settled, "keepalived-2.2.7-walk-checker.txt"),
            (Moment::RsDown, "keepalived-2.2.7-walk-checker-rs-down.txt"),
        ] {
            let ours = normalised(walk::lines(&tree(m), PREFIX));
            let theirs = normalised(walk::reference(file, PREFIX));
            assert_eq!(ours, theirs, "{file}");
        }
    }

    // The counters land in their columns; the Low rate columns hold the low 32 bits
    // (keepalived 2.2.7 reads 0 there, later versions as here).
    #[test]
    fn stats_fill_their_columns() {
        let ours = walk::lines(&tree(Moment::Settled), PREFIX);
        let theirs = walk::reference("keepalived-2.2.7-walk-checker.txt", PREFIX);
        let rates_low = |l: &&String| {
            let rest = &l[PREFIX.len()..];
            let col =
                |t: &str| -> Option<u32> { rest.strip_prefix(t)?.split('.').next()?.parse().ok() };
            col("3.1.").is_some_and(|c| (41..=50).contains(&c))
                || col("4.1.").is_some_and(|c| (30..=39).contains(&c))
        };
        let ours: Vec<_> = ours.iter().filter(|l| !rates_low(l)).collect();
        let theirs: Vec<_> = theirs.iter().filter(|l| !rates_low(l)).collect();
        assert_eq!(ours, theirs);

        let mut s = stats();
        s.virtual_servers.get_mut(&0).unwrap().inbps = (7 << 32) | 9;
        let mut t = MibTree::new();
        add(&mut t, &config(), &live(Moment::Settled), &s);
        let l = walk::lines(&t, PREFIX);
        assert!(l.contains(&format!("{PREFIX}3.1.47.1 = Gauge32: 9")));
        assert!(l.contains(&format!("{PREFIX}3.1.48.1 = Gauge32: 7")));
        assert!(l.contains(&format!("{PREFIX}3.1.35.1 = Gauge32: 9")));
    }

    /// The keepalived traps of each `# phase:` of the capture, without sysUpTime.0.
    fn reference_traps() -> Vec<(String, Vec<Vec<String>>)> {
        let text =
            std::fs::read_to_string(walk::reference_path("keepalived-2.2.7-traps-checker.txt"))
                .unwrap();
        let mut phases: Vec<(String, Vec<Vec<String>>)> = Vec::new();
        for l in text.lines() {
            if let Some(p) = l.strip_prefix("# phase: ") {
                phases.push((p.to_string(), Vec::new()));
            } else if l.starts_with("==== TRAP") {
                phases.last_mut().unwrap().1.push(Vec::new());
            } else if !l.starts_with(".1.3.6.1.2.1.1.3.0 ") && !l.is_empty() {
                let trap = phases.last_mut().unwrap().1.last_mut().unwrap();
                trap.push(l.trim_end().to_string());
            }
        }
        for (_, traps) in &mut phases {
            // snmpd's own coldStart is not keepalived's.
            traps.retain(|t| t[0].contains("OID: .1.3.6.1.4.1.9586.100.5.3.5.0."));
        }
        phases
    }

    fn shown(traps: Vec<Vec<VarBind>>) -> Vec<Vec<String>> {
        traps
            .into_iter()
            .map(|t| {
                t.into_iter()
                    .map(|vb| match &vb.value {
                        Value::ObjectIdentifier(o) => format!(".{} = OID: .{o}", vb.name),
                        v => format!(".{} = {}", vb.name, walk::shown(v))
                            .trim_end()
                            .to_string(),
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn notifications_match_keepalived_2_2_7s_traps() {
        let cfg = config();
        let mibs = Mibs::checker_child(&cfg, true);
        let host = "unused";
        let (start, settled, down, stopped) = (
            live(Moment::Start),
            live(Moment::Settled),
            live(Moment::RsDown),
            live(Moment::Stopped),
        );
        let mut at_start = notifications(&cfg, &mibs, None, &start, host);
        at_start.extend(notifications(&cfg, &mibs, Some(&start), &settled, host));
        let ours = vec![
            ("start (until the checkers settle)", shown(at_start)),
            (
                "rs-down (192.0.2.11:80 stops listening)",
                shown(notifications(&cfg, &mibs, Some(&settled), &down, host)),
            ),
            (
                "stop (kill -TERM)",
                shown(notifications(&cfg, &mibs, Some(&down), &stopped, host)),
            ),
        ];
        let theirs = reference_traps();
        assert_eq!(theirs.len(), 3);
        for ((name, ours), (their_name, theirs)) in ours.into_iter().zip(theirs) {
            assert_eq!(name, their_name);
            assert_eq!(ours, theirs, "{name}");
        }
        // Without enable_traps, or without the checker MIB, none.
        let quiet = Mibs {
            traps: false,
            ..mibs
        };
        assert!(notifications(&cfg, &quiet, Some(&settled), &down, host).is_empty());
        let vrrp_only = Mibs::vrrp_child(&cfg, true, true);
        assert!(notifications(&cfg, &vrrp_only, Some(&settled), &down, host).is_empty());
    }

    /// Runs `e`'s checkers until `until`, every probe succeeding except those to
    /// 192.0.2.11 when `fail`.
    fn run(e: &mut crate::check::CheckEngine, mut now: Instant, until: Instant, fail: bool) {
        use crate::check::probe::ProbeOutcome;
        use crate::check::{CheckInput, CheckOutput};
        // Calls in a row at one instant: a timer that never moves on would spin here.
        let mut stuck = 0;
        while let Some(t) = e.poll_timeout().filter(|t| *t <= until) {
            stuck = if t <= now { stuck + 1 } else { 0 };
            assert!(stuck < 10_000, "the checkers' timer stays at {t}");
            now = now.max(t);
            e.handle_timeout(now);
            while let Some(out) = e.poll_output() {
                if let CheckOutput::StartProbe(spec) = out {
                    let outcome = if fail && format!("{spec:?}").contains("192.0.2.11") {
                        ProbeOutcome::Down {
                            reason: "connection refused".into(),
                        }
                    } else {
                        ProbeOutcome::Up
                    };
                    e.handle_input(
                        now,
                        CheckInput::ProbeDone {
                            id: spec.id,
                            outcome,
                        },
                    );
                }
            }
        }
    }

    // The engine itself, driven through the captured run, gives the same tables and
    // notifications as the hand-built snapshots.
    #[test]
    fn the_engine_gives_the_captured_tables_and_traps() {
        let cfg = config();
        let mut e = crate::check::CheckEngine::new(cfg.clone(), Instant::ZERO, 1);
        let start = e.live(Instant::ZERO);
        assert_eq!(start, live(Moment::Start));
        let t1 = Instant::from_micros(20_000_000);
        run(&mut e, Instant::ZERO, t1, false);
        let settled = e.live(t1);
        assert_eq!(
            settled,
            CheckLive {
                at: t1,
                ..live(Moment::Settled)
            }
        );
        let t2 = Instant::from_micros(40_000_000);
        run(&mut e, t1, t2, true);
        let down = e.live(t2);
        assert_eq!(
            down,
            CheckLive {
                at: t2,
                ..live(Moment::RsDown)
            }
        );
        let mut t = MibTree::new();
        add(&mut t, &cfg, &down, &IpvsStats::default());
        assert_eq!(
            normalised(walk::lines(&t, PREFIX)),
            normalised(walk::reference(
                "keepalived-2.2.7-walk-checker-rs-down.txt",
                PREFIX
            ))
        );
        e.handle_input(t2, crate::check::CheckInput::Shutdown);
        let stopped = e.live(t2);
        let mibs = Mibs::checker_child(&cfg, true);
        let ours = shown(notifications(&cfg, &mibs, Some(&down), &stopped, "unused"));
        let theirs = reference_traps();
        assert_eq!(ours, theirs[2].1);
    }

    #[test]
    fn trap_protocol_is_a_truth_value_of_tcp() {
        let mut cfg = config();
        cfg.virtual_servers[0].protocol = Protocol::Udp;
        let mut out = Vec::new();
        vs_varbinds(&mut out, &cfg.virtual_servers[0], &cfg);
        assert_eq!(out.last().unwrap().value, Value::Integer(2));
        cfg.virtual_servers[0].protocol = Protocol::Sctp;
        let mut t = MibTree::new();
        add(&mut t, &cfg, &live(Moment::Settled), &IpvsStats::default());
        assert!(walk::lines(&t, PREFIX).contains(&format!("{PREFIX}3.1.8.1 = INTEGER: 3")));
    }
}
