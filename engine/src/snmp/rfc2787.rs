//! RFC 2787 VRRP-MIB (`mib-2.68`), as keepalived serves it (`vrrp_snmp.c`).
//!
//! Only instances [`suitable_for_rfc2787`] have rows, indexed `ifIndex.vrid` with the
//! ifIndex of the instance's base interface (`IF_BASE_INDEX`), in index order. The values
//! follow keepalived's, quirks included: `vrrpOperVirtualMacAddr` is the MAC of the
//! interface the instance runs on, the plain interface's own MAC without `use_vmac` (not
//! 00-00-5E-00-01-VRID), the VMAC's with it; `vrrpOperMasterIpAddr` is `master_saddr`,
//! 0.0.0.0 while MASTER and before any master was heard;
//! `vrrpOperAuthKey` is registered but never answered; the counters RFC 2787 defines
//! but keepalived never counts (advertisement interval and VRID errors) read 0.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};

use crate::agentx::Value;
use crate::config::model::{AuthType, Config, VrrpInstance};
use crate::vrrp::live::{Live, LiveInstance};
use crate::vrrp::State;

use super::{oid_under, HostInterface, HostInterfaces, MibTree, VRRP_MIB};

/// Whether RFC 2787 lists the instance (`suitable_for_rfc2787()`, built with RFC 6527
/// support too): VRRP version 2, IPv4, at least one virtual address.
pub fn suitable_for_rfc2787(vi: &VrrpInstance) -> bool {
    vi.version == 2 && !vi.is_ipv6() && !vi.virtual_ipaddress.is_empty()
}

/// The live state of the instance named `name`.
pub(crate) fn live_instance<'a>(live: &'a Live, name: &str) -> Option<&'a LiveInstance> {
    live.instances.iter().find(|i| i.name == name)
}

/// The instance's base interface (`vrrp->ifp`, or its `base_ifp` for a VMAC): the one
/// `interface` names. `None` reads as keepalived's instance without an interface.
pub(crate) fn base_interface<'a>(
    vi: &VrrpInstance,
    host: &'a HostInterfaces,
) -> Option<&'a HostInterface> {
    host.get(vi.interface.as_deref()?)
}

/// The table index keepalived gives the instance: `IF_BASE_INDEX(vrrp->ifp)`, 0 without
/// an interface.
pub(crate) fn base_index(vi: &VrrpInstance, host: &HostInterfaces) -> u32 {
    base_interface(vi, host).map_or(0, |i| i.index)
}

/// The ifIndex of the interface the instance itself runs on (`IF_INDEX(vrrp->ifp)`): the
/// VMAC with `use_vmac`, else the base interface; 0 when the host has no such interface.
/// keepalived's auth-failure and protocol-error notifications use it.
pub(crate) fn own_index(vi: &VrrpInstance, host: &HostInterfaces) -> u32 {
    vi.vip_interface()
        .and_then(|n| host.get(n))
        .map_or(0, |i| i.index)
}

/// The MAC of the interface the instance runs on (`vrrp->ifp->hw_addr`): with `use_vmac`,
/// the VMAC's as the host reports it, or the address keepalived gives it (the configured
/// one, else 00-00-5E-00-01-VRID for IPv4 and 00-00-5E-00-02-VRID for IPv6) when the host
/// does not list it; without, the base interface's. `None` without an interface.
pub(crate) fn interface_mac(vi: &VrrpInstance, host: &HostInterfaces) -> Option<Vec<u8>> {
    let base = base_interface(vi, host)?;
    let Some(vmac) = &vi.use_vmac else {
        return Some(base.mac.to_vec());
    };
    if let Some(i) = vi.vmac().and_then(|n| host.get(n)) {
        return Some(i.mac.to_vec());
    }
    if let Some(mac) = vmac.mac.as_deref().and_then(parse_mac) {
        return Some(mac.to_vec());
    }
    let family = if vi.is_ipv6() { 2 } else { 1 };
    Some(vec![0x00, 0x00, 0x5e, 0x00, family, vi.virtual_router_id])
}

fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let mut out = [0u8; 6];
    let mut parts = s.split(':');
    for b in &mut out {
        *b = u8::from_str_radix(parts.next()?, 16).ok()?;
    }
    parts.next().is_none().then_some(out)
}

/// RFC 2787/6527 `vrrpOperState`/`vrrpv3OperationsStatus` (`vrrp_snmp_rfc_state()`):
/// initialize(1), backup(2), master(3); FAULT and STOP read initialize.
pub(crate) fn rfc_state(s: State) -> i32 {
    match s {
        State::Backup => 2,
        State::Master => 3,
        State::Init | State::Fault | State::Stop => 1,
    }
}

/// TruthValue: true(1), false(2).
pub(crate) fn truth(b: bool) -> Value {
    Value::Integer(if b { 1 } else { 2 })
}

/// Centiseconds, as TimeTicks count (modulo 2^32).
pub(crate) fn ticks(d: std::time::Duration) -> Value {
    Value::TimeTicks((d.as_micros() / 10_000) as u32)
}

/// Adds the RFC 2787 objects of `cfg`'s instances to `tree`.
pub fn add(tree: &mut MibTree, cfg: &Config, live: &Live, host: &HostInterfaces) {
    let mib = |tail: &[u32]| oid_under(&VRRP_MIB, tail);
    // vrrpNodeVersion, vrrpNotificationCntl (`vrrp_rfcv2_snmp_node_info()`).
    tree.insert_scalar(mib(&[1, 1]), Value::Integer(2));
    tree.insert_scalar(mib(&[1, 2]), truth(cfg.global.enable_traps));

    let mut seen = BTreeSet::new();
    let (mut chk_err, mut vers_err) = (0u64, 0u64);
    for vi in cfg.instances.iter().filter(|vi| suitable_for_rfc2787(vi)) {
        let Some(li) = live_instance(live, &vi.name) else {
            continue;
        };
        chk_err += li.stats.chk_err;
        vers_err += li.stats.vers_err;
        let index = [base_index(vi, host), u32::from(vi.virtual_router_id)];
        // Two instances on one index: a GetNext finds the first in configuration order.
        if !seen.insert(index) {
            continue;
        }
        add_row(tree, vi, li, host, &index, live);
    }
    // vrrpRouterChecksumErrors, VersionErrors, VrIdErrors: sums over the listed instances,
    // Counter32s that wrap. keepalived counts no VRID errors per instance.
    tree.insert_scalar(mib(&[2, 1]), Value::Counter32(chk_err as u32));
    tree.insert_scalar(mib(&[2, 2]), Value::Counter32(vers_err as u32));
    tree.insert_scalar(mib(&[2, 3]), Value::Counter32(0));
}

fn add_row(
    tree: &mut MibTree,
    vi: &VrrpInstance,
    li: &LiveInstance,
    host: &HostInterfaces,
    index: &[u32; 2],
    live: &Live,
) {
    let mut oper =
        |col: u32, v: Value| tree.insert_column(oid_under(&VRRP_MIB, &[1, 3, 1, col]), index, v);
    let base = base_interface(vi, host);
    // vrrpOperTable (`vrrp_rfcv2_snmp_opertable()`).
    if let Some(mac) = interface_mac(vi, host) {
        oper(2, Value::OctetString(mac));
    }
    oper(3, Value::Integer(rfc_state(li.state)));
    oper(4, Value::Integer(1));
    oper(5, Value::Integer(i32::from(vi.priority)));
    oper(6, Value::Integer(vi.virtual_ipaddress.len() as i32));
    let master = match li.master_addr {
        Some(IpAddr::V4(a)) => a,
        _ => Ipv4Addr::UNSPECIFIED,
    };
    oper(7, Value::IpAddress(master));
    if let Some(b) = base {
        oper(8, Value::IpAddress(b.ipv4.unwrap_or(Ipv4Addr::UNSPECIFIED)));
    }
    let auth = match vi.authentication.as_ref().map(|a| a.auth_type) {
        None | Some(AuthType::None) => 1,
        Some(AuthType::Pass) => 2,
        Some(AuthType::Ah) => 3,
        Some(AuthType::Other(n)) => i32::from(n) + 1,
    };
    oper(9, Value::Integer(auth));
    // 10, vrrpOperAuthKey: never answered.
    oper(11, Value::Integer((vi.advert_int_us / 1_000_000) as i32));
    oper(12, truth(!vi.nopreempt));
    // vrrpOperVirtualRouterUpTime: keepalived reads `stats->uptime - snmp_vrrp_start_time`:
    // from the SNMP start (`start_vrrp()`) to the instances' initialisation
    // (`vrrp_init_state()`, from the dispatcher's first event, a few centiseconds later).
    // The engine has one instant for both, `Live::started`, so the value is 0.
    let up = if matches!(li.state, State::Backup | State::Master) {
        let snmp_start = live.started;
        live.started.saturating_since(snmp_start)
    } else {
        std::time::Duration::ZERO
    };
    oper(13, ticks(up));
    oper(14, Value::Integer(1));
    oper(15, Value::Integer(1));

    // vrrpAssoIpAddrTable: one row per VIP (not the excluded ones), in address order.
    for a in &vi.virtual_ipaddress {
        if let IpAddr::V4(a) = a.address {
            let mut idx = index.to_vec();
            idx.extend(a.octets().map(u32::from));
            tree.insert_column(oid_under(&VRRP_MIB, &[1, 4, 1, 2]), &idx, Value::Integer(1));
        }
    }

    // vrrpRouterStatsTable (`vrrp_rfcv2_snmp_statstable()`).
    let s = &li.stats;
    let counters = [
        s.become_master,
        s.advert_rcvd,
        0, // advert_interval_err: never counted
        s.auth_failure,
        s.ip_ttl_err,
        s.pri_zero_rcvd,
        s.pri_zero_sent,
        s.invalid_type_rcvd,
        s.addr_list_err,
        s.invalid_authtype,
        s.authtype_mismatch,
        s.packet_len_err,
    ];
    for (col, n) in (1..).zip(counters) {
        tree.insert_column(
            oid_under(&VRRP_MIB, &[2, 4, 1, col]),
            index,
            Value::Counter32(n as u32),
        );
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::net::Ipv6Addr;

    use super::*;
    use crate::config::{parse_str, ParseOptions};
    use crate::snmp::walk;
    use crate::time::Instant;
    use crate::vrrp::instance::MasterReason;
    use crate::vrrp::live::LiveGroup;
    use crate::vrrp::stats::Stats;

    /// tests/data/snmp/vrrp.conf, completed as the engine runs it.
    pub(crate) fn reference_config() -> Config {
        let text = std::fs::read_to_string(walk::reference_path("vrrp.conf")).unwrap();
        let loaded = parse_str(&text, &ParseOptions::default());
        assert!(
            loaded
                .diagnostics
                .iter()
                .all(|d| d.class != crate::config::DiagClass::Fatal),
            "{:?}",
            loaded.diagnostics
        );
        loaded.config
    }

    /// The capture's host: eth0 (index 2) and eth1 (index 3).
    pub(crate) fn reference_host() -> HostInterfaces {
        let mut h = HostInterfaces::new();
        h.insert(
            "eth0".into(),
            HostInterface {
                index: 2,
                mac: [2, 0, 0, 0, 0, 1],
                ipv4: Some(Ipv4Addr::new(192, 0, 2, 2)),
                ipv6_link_local: Some("fe80::ff:fe00:1".parse().unwrap()),
            },
        );
        h.insert(
            "eth1".into(),
            HostInterface {
                index: 3,
                mac: [2, 0, 0, 0, 0, 2],
                ipv4: None,
                ipv6_link_local: None,
            },
        );
        h
    }

    /// The three captured moments.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(crate) enum Moment {
        /// All three instances MASTER, no peer ever heard (start, then 3 s).
        Master,
        /// eth1 down: VI_V2, VI_V3 FAULT (VI_V2 sent its priority-0 advert), VI_6 MASTER.
        Fault,
        /// The priority-200 peer 192.0.2.3 / fe80::ff:fe00:3 is master: all BACKUP.
        Backup,
    }

    /// Which instances a moment leaves in which state, with the counters the capture
    /// shows (the run-length ones as they were then).
    pub(crate) fn reference_live(m: Moment) -> Live {
        let v4 = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));
        let v6 = IpAddr::V6("fe80::ff:fe00:1".parse::<Ipv6Addr>().unwrap());
        let peer4 = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 3));
        let peer6 = IpAddr::V6("fe80::ff:fe00:3".parse::<Ipv6Addr>().unwrap());
        let inst = |name: &str, prio: u8, src: IpAddr, peer: IpAddr| {
            let (state, master_addr, stats) = match (m, name) {
                (Moment::Master, _) => (
                    State::Master,
                    None,
                    Stats {
                        become_master: 1,
                        ..Stats::default()
                    },
                ),
                (Moment::Fault, "VI_6") => (
                    State::Master,
                    None,
                    Stats {
                        become_master: 1,
                        ..Stats::default()
                    },
                ),
                (Moment::Fault, _) => (
                    State::Fault,
                    None,
                    Stats {
                        become_master: 1,
                        pri_zero_sent: u64::from(name == "VI_V2"),
                        ..Stats::default()
                    },
                ),
                (Moment::Backup, _) => (
                    State::Backup,
                    Some(peer),
                    Stats {
                        become_master: if name == "VI_6" { 1 } else { 2 },
                        advert_rcvd: 4,
                        pri_zero_sent: u64::from(name == "VI_V2"),
                        ..Stats::default()
                    },
                ),
            };
            LiveInstance {
                name: name.into(),
                state,
                want: state,
                effective_priority: prio,
                src: Some(src),
                master_addr,
                master_reason: MasterReason::MasterNoResponse,
                proto_err_reason: 0,
                stats,
            }
        };
        let group = match m {
            Moment::Master => State::Master,
            Moment::Fault => State::Fault,
            Moment::Backup => State::Backup,
        };
        Live {
            now: Instant::from_micros(10_000_000),
            started: Instant::from_micros(3_000_000),
            instances: vec![
                inst("VI_V2", 100, v4, peer4),
                inst("VI_V3", 150, v4, peer4),
                inst("VI_6", 120, v6, peer6),
            ],
            groups: vec![LiveGroup {
                name: "SG_REF".into(),
                state: group,
            }],
            scripts: vec![],
            files: Default::default(),
            processes: Default::default(),
            bfds: Default::default(),
        }
    }

    /// `lines` with the value of every instance of the TimeTicks column `column`
    /// (".1.3...13.") that is not 0 replaced: an up time, which depends on the run.
    pub(crate) fn mask_time(lines: Vec<String>, column: &str) -> Vec<String> {
        lines
            .into_iter()
            .map(|l| {
                if l.starts_with(column) && !l.ends_with("Timeticks: (0) 0:00:00.00") {
                    format!("{} = Timeticks: (running)", l.split_once(" = ").unwrap().0)
                } else {
                    l
                }
            })
            .collect()
    }

    const PREFIX: &str = ".1.3.6.1.2.1.68.";
    const UPTIME: &str = ".1.3.6.1.2.1.68.1.3.1.13.";

    // vrrpOperVirtualRouterUpTime is keepalived's few ticks between its SNMP start and
    // the instances' initialisation, the engine's 0 (see `add_row`): it is checked to be
    // 0 and left out of the comparison.
    fn check(m: Moment, file: &str) {
        let cfg = reference_config();
        let mut tree = MibTree::new();
        add(&mut tree, &cfg, &reference_live(m), &reference_host());
        let (up, ours): (Vec<String>, Vec<String>) = walk::lines(&tree, PREFIX)
            .into_iter()
            .partition(|l| l.starts_with(UPTIME));
        assert_eq!(
            up,
            [format!("{UPTIME}2.51 = Timeticks: (0) 0:00:00.00")],
            "{m:?}"
        );
        let theirs: Vec<String> = walk::reference(file, PREFIX)
            .into_iter()
            .filter(|l| !l.starts_with(UPTIME))
            .collect();
        assert_eq!(ours, theirs, "{m:?}");
    }

    #[test]
    fn master_walk_matches_keepalived_2_2_7() {
        check(Moment::Master, "keepalived-2.2.7-walk-vrrp-rfc2787.txt");
    }

    #[test]
    fn fault_walk_matches_keepalived_2_2_7() {
        check(Moment::Fault, "keepalived-2.2.7-walk-fault.txt");
    }

    #[test]
    fn backup_walk_matches_keepalived_2_2_7() {
        check(Moment::Backup, "keepalived-2.2.7-walk-backup.txt");
    }

    #[test]
    fn only_v2_ipv4_instances_with_vips_are_listed() {
        let mut cfg = reference_config();
        assert_eq!(
            cfg.instances
                .iter()
                .filter(|v| suitable_for_rfc2787(v))
                .map(|v| v.name.as_str())
                .collect::<Vec<_>>(),
            ["VI_V2"]
        );
        cfg.instances[0].virtual_ipaddress.clear();
        assert!(!suitable_for_rfc2787(&cfg.instances[0]));
    }

    #[test]
    fn notification_control_follows_enable_traps_and_vmac_is_the_vrrp_mac() {
        let mut cfg = reference_config();
        cfg.global.enable_traps = false;
        cfg.instances[0].use_vmac = Some(Box::new(crate::config::model::Vmac {
            name: Some("vrrp.51".into()),
            ..Default::default()
        }));
        let mut tree = MibTree::new();
        add(
            &mut tree,
            &cfg,
            &reference_live(Moment::Master),
            &reference_host(),
        );
        let lines = walk::lines(&tree, PREFIX);
        assert!(lines.contains(&".1.3.6.1.2.1.68.1.2.0 = INTEGER: 2".to_string()));
        // The VMAC is not on the host: the address keepalived gives it; the index and
        // the primary address stay the base interface's.
        assert!(lines
            .contains(&".1.3.6.1.2.1.68.1.3.1.2.2.51 = Hex-STRING: 00 00 5E 00 01 33".to_string()));
        assert!(lines.contains(&".1.3.6.1.2.1.68.1.3.1.8.2.51 = IpAddress: 192.0.2.2".to_string()));
    }
}
