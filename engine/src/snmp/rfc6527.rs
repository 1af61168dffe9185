//! RFC 6527 VRRPV3-MIB (`mib-2.207`), as keepalived serves it (`vrrp_snmp.c`).
//!
//! Every instance [`suitable_for_rfc6527`] has a row, VRRPv2 ones included (keepalived
//! built with `SNMP_V3_FOR_V2`, as distributions build it), indexed
//! `ifIndex.vrid.addrtype` with the base interface's ifIndex, in index order. keepalived's
//! quirks are kept: the associated address table's index carries the address's 4 or 16
//! sub-identifiers without the length an InetAddress index should have; the master
//! address reads the primary address while MASTER and `master_saddr` otherwise; the
//! advert interval is in centiseconds for VRRPv2 too; the discontinuity times are 0.

use std::collections::BTreeSet;
use std::net::IpAddr;

use crate::agentx::Value;
use crate::config::model::{Config, VrrpInstance};
use crate::vrrp::live::{Live, LiveInstance};
use crate::vrrp::State;

use super::rfc2787::{
    base_index, base_interface, interface_mac, live_instance, rfc_state, ticks, truth,
};
use super::{oid_under, HostInterfaces, MibTree, VRRPV3_MIB};

/// Whether RFC 6527 lists the instance (`suitable_for_rfc6527()` with
/// `_SNMP_REPLY_V3_FOR_V2_`): it has at least one virtual address, whatever its version.
pub fn suitable_for_rfc6527(vi: &VrrpInstance) -> bool {
    !vi.virtual_ipaddress.is_empty()
}

/// InetAddressType of the instance's family (`SNMP_InetAddressType()`): ipv4(1), ipv6(2).
pub(crate) fn addr_type(vi: &VrrpInstance) -> u32 {
    if vi.is_ipv6() {
        2
    } else {
        1
    }
}

/// `a` as the InetAddress of an instance of type `kind`: its octets, or as many zeros
/// (an empty `sockaddr`) when it is missing or of the other family.
pub(crate) fn inet_octets(kind: u32, a: Option<IpAddr>) -> Vec<u8> {
    match (kind, a) {
        (1, Some(IpAddr::V4(a))) => a.octets().to_vec(),
        (2, Some(IpAddr::V6(a))) => a.octets().to_vec(),
        (1, _) => vec![0; 4],
        _ => vec![0; 16],
    }
}

/// The row index keepalived gives the instance: `ifIndex.vrid.addrtype`.
pub(crate) fn row_index(vi: &VrrpInstance, host: &HostInterfaces) -> [u32; 3] {
    [
        base_index(vi, host),
        u32::from(vi.virtual_router_id),
        addr_type(vi),
    ]
}

/// Adds the RFC 6527 objects of `cfg`'s instances to `tree`.
pub fn add(tree: &mut MibTree, cfg: &Config, live: &Live, host: &HostInterfaces) {
    let mut seen = BTreeSet::new();
    let (mut chk_err, mut vers_err) = (0u64, 0u64);
    for vi in cfg.instances.iter().filter(|vi| suitable_for_rfc6527(vi)) {
        let Some(li) = live_instance(live, &vi.name) else {
            continue;
        };
        chk_err += li.stats.chk_err;
        vers_err += li.stats.vers_err;
        let index = row_index(vi, host);
        // Two instances on one index: a GetNext finds the first in configuration order.
        if !seen.insert(index) {
            continue;
        }
        add_row(tree, vi, li, host, &index, live);
    }
    // vrrpv3RouterChecksumErrors, VersionErrors, VrIdErrors, GlobalStatisticsDiscontinuityTime
    // (`vrrp_rfcv3_snmp_stats()`): sums over the listed instances; keepalived counts no
    // VRID errors per instance and keeps no discontinuity time.
    let mib = |tail: &[u32]| oid_under(&VRRPV3_MIB, tail);
    tree.insert_scalar(mib(&[1, 2, 1]), Value::Counter64(chk_err));
    tree.insert_scalar(mib(&[1, 2, 2]), Value::Counter64(vers_err));
    tree.insert_scalar(mib(&[1, 2, 3]), Value::Counter64(0));
    tree.insert_scalar(mib(&[1, 2, 4]), Value::TimeTicks(0));
}

fn add_row(
    tree: &mut MibTree,
    vi: &VrrpInstance,
    li: &LiveInstance,
    host: &HostInterfaces,
    index: &[u32; 3],
    live: &Live,
) {
    let kind = index[2];
    let mut oper = |col: u32, v: Value| {
        tree.insert_column(oid_under(&VRRPV3_MIB, &[1, 1, 1, 1, col]), index, v)
    };
    // vrrpv3OperationsTable (`vrrp_rfcv3_snmp_opertable()`). The primary address is the
    // base interface's first IPv4 address or its IPv6 link-local one; without an
    // interface it is absent, and so is the master address while MASTER. An IPv6
    // interface's link-local is the one the instance sends from (keepalived's
    // `ifp->sin6_addr`): a link-local VIP on the interface is not it.
    let primary = base_interface(vi, host).map(|b| {
        let a = if kind == 1 {
            b.ipv4.map(IpAddr::V4)
        } else {
            li.src
                .filter(|a| matches!(a, IpAddr::V6(v6) if v6.segments()[0] & 0xffc0 == 0xfe80))
                .or(b.ipv6_link_local.map(IpAddr::V6))
        };
        inet_octets(kind, a)
    });
    if li.state == State::Master {
        if let Some(p) = &primary {
            oper(3, Value::OctetString(p.clone()));
        }
    } else {
        oper(3, Value::OctetString(inet_octets(kind, li.master_addr)));
    }
    if let Some(p) = primary {
        oper(4, Value::OctetString(p));
    }
    if let Some(mac) = interface_mac(vi, host) {
        oper(5, Value::OctetString(mac));
    }
    oper(6, Value::Integer(rfc_state(li.state)));
    oper(7, Value::Gauge32(u32::from(vi.priority)));
    oper(8, Value::Integer(vi.virtual_ipaddress.len() as i32));
    let centis = vi.advert_int_us / 10_000;
    oper(9, Value::Integer(centis as i32));
    oper(10, truth(!vi.nopreempt));
    oper(11, truth(vi.accept));
    // vrrpv3OperationsUpTime: since the instances' initialisation (`stats->uptime`), while
    // BACKUP or MASTER.
    let up = if matches!(li.state, State::Backup | State::Master) {
        live.now.saturating_since(live.started)
    } else {
        std::time::Duration::ZERO
    };
    oper(12, ticks(up));
    oper(13, Value::Integer(1));

    // vrrpv3AssociatedIpAddrTable: one row per VIP of the instance's family (not the
    // excluded ones), in address order, the address's octets without a length.
    for a in &vi.virtual_ipaddress {
        let octets: Vec<u32> = match (kind, a.address) {
            (1, IpAddr::V4(a)) => a.octets().map(u32::from).to_vec(),
            (2, IpAddr::V6(a)) => a.octets().map(u32::from).to_vec(),
            _ => continue,
        };
        let mut idx = index.to_vec();
        idx.extend(octets);
        tree.insert_column(
            oid_under(&VRRPV3_MIB, &[1, 1, 2, 1, 2]),
            &idx,
            Value::Integer(1),
        );
    }

    // vrrpv3StatisticsTable (`vrrp_rfcv3_snmp_statstable()`).
    let s = &li.stats;
    let c64 = Value::Counter64;
    let stats = [
        Value::Counter32(s.become_master as u32),
        Value::Integer(i32::from(li.master_reason as u8)),
        c64(s.advert_rcvd),
        c64(0), // advert_interval_err: never counted
        c64(s.ip_ttl_err),
        Value::Integer(i32::from(li.proto_err_reason)),
        c64(s.pri_zero_rcvd),
        c64(s.pri_zero_sent),
        c64(s.invalid_type_rcvd),
        c64(s.addr_list_err),
        c64(s.packet_len_err),
        Value::TimeTicks(0),
        // vrrpv3StatisticsRefreshRate: the advert interval in milliseconds, from whole
        // centiseconds.
        Value::Gauge32((centis * 10) as u32),
    ];
    for (col, v) in (1..).zip(stats) {
        tree.insert_column(oid_under(&VRRPV3_MIB, &[1, 2, 5, 1, col]), index, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snmp::rfc2787::tests::{
        mask_time, reference_config, reference_host, reference_live, Moment,
    };
    use crate::snmp::walk;

    const PREFIX: &str = ".1.3.6.1.2.1.207.";
    const UPTIME: &str = ".1.3.6.1.2.1.207.1.1.1.1.12.";

    fn check(m: Moment, file: &str) {
        let cfg = reference_config();
        let mut tree = MibTree::new();
        add(&mut tree, &cfg, &reference_live(m), &reference_host());
        assert_eq!(
            mask_time(walk::lines(&tree, PREFIX), UPTIME),
            mask_time(walk::reference(file, PREFIX), UPTIME),
            "{m:?}"
        );
    }

    #[test]
    fn master_walk_matches_keepalived_2_2_7() {
        check(Moment::Master, "keepalived-2.2.7-walk-vrrpv3-rfc6527.txt");
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
    fn up_time_runs_from_the_instances_start_in_centiseconds() {
        let cfg = reference_config();
        let mut live = reference_live(Moment::Fault);
        live.now = crate::time::Instant::from_micros(live.started.as_micros() + 12_345_678);
        let mut tree = MibTree::new();
        add(&mut tree, &cfg, &live, &reference_host());
        let up: Vec<String> = walk::lines(&tree, UPTIME);
        assert_eq!(
            up,
            [
                format!("{UPTIME}2.51.1 = Timeticks: (0) 0:00:00.00"),
                format!("{UPTIME}2.52.1 = Timeticks: (0) 0:00:00.00"),
                format!("{UPTIME}2.53.2 = Timeticks: (1234) 0:00:12.34"),
            ]
        );
    }

    #[test]
    fn reasons_are_the_live_ones() {
        let cfg = reference_config();
        let mut live = reference_live(Moment::Backup);
        live.instances[2].master_reason = crate::vrrp::instance::MasterReason::Preempted;
        live.instances[2].proto_err_reason = 2;
        live.instances[2].stats.vers_err = 3;
        live.instances[0].stats.chk_err = 1;
        let mut tree = MibTree::new();
        add(&mut tree, &cfg, &live, &reference_host());
        let lines = walk::lines(&tree, PREFIX);
        for want in [
            ".1.3.6.1.2.1.207.1.2.5.1.2.2.53.2 = INTEGER: 2",
            ".1.3.6.1.2.1.207.1.2.5.1.6.2.53.2 = INTEGER: 2",
            ".1.3.6.1.2.1.207.1.2.1.0 = Counter64: 1",
            ".1.3.6.1.2.1.207.1.2.2.0 = Counter64: 3",
        ] {
            assert!(lines.iter().any(|l| l == want), "{want}");
        }
    }

    #[test]
    fn every_instance_with_vips_is_listed_whatever_its_version() {
        let mut cfg = reference_config();
        assert!(cfg.instances.iter().all(suitable_for_rfc6527));
        cfg.instances[1].virtual_ipaddress.clear();
        assert!(!suitable_for_rfc6527(&cfg.instances[1]));
    }
}
