//! What a virtual server stands for in the IPVS table: one service for an address or a
//! fwmark, and one per address of each range (and per fwmark) of a
//! `virtual_server_group` (`ipvs_cmd()` / `ipvs_group_cmd()`); with `nftables_ipvs`, one
//! fwmark service for a group of addresses, whose addresses nftables marks
//! (`set_vs_fwmark()`, `check_nftables.c`).

use std::net::IpAddr;

use super::ipvs::{FwmarkRange, ServiceKey};
use super::MAX_RANGE_EXPANSION;
use crate::config::model::{Protocol, VirtualServer, VirtualServerGroup, VsAddress, VsgEntry};

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

/// The group of a virtual server that `nftables_ipvs` gives a fwmark: one with address
/// entries and no fwmark entry (`ipvs_cmd()`: `list_empty(&vs->vsg->vfwmark)`; every
/// virtual server here has a protocol).
pub fn auto_fwmark_group<'a>(
    vs: &VirtualServer,
    groups: &'a [VirtualServerGroup],
) -> Option<&'a VirtualServerGroup> {
    let VsAddress::Group { name } = &vs.address else {
        return None;
    };
    let g = groups.iter().find(|g| &g.name == name)?;
    let ranges = g
        .entries
        .iter()
        .filter(|e| matches!(e, VsgEntry::Range { .. }));
    let fwmarks = g
        .entries
        .iter()
        .any(|e| matches!(e, VsgEntry::Fwmark { .. }));
    (ranges.count() > 0 && !fwmarks).then_some(g)
}

/// The address entries of a group marked `mark` for `protocol` (`do_vs_fwmark()`).
pub(super) fn fwmark_ranges(
    g: &VirtualServerGroup,
    protocol: Protocol,
    mark: u32,
) -> impl Iterator<Item = FwmarkRange> + '_ {
    g.entries.iter().filter_map(move |e| match e {
        VsgEntry::Range { first, last, port } => Some(FwmarkRange {
            protocol,
            first: *first,
            last: *last,
            port: port.unwrap_or(0),
            mark,
        }),
        VsgEntry::Fwmark { .. } => None,
    })
}

/// The IPVS services a virtual server stands for (`ipvs_cmd()` / `ipvs_group_cmd()`).
/// `auto_mark` is the fwmark `nftables_ipvs` gave its group ([`auto_fwmark_group`]):
/// the group is then one fwmark service of the virtual server's family, or, when that is
/// not known, of the group's first family and IPv6 as well when it has both
/// (`ipvs_set_srule()`, and `ipvs_cmd()`'s second `ipvs_talk()`).
pub fn service_keys(
    vs: &VirtualServer,
    groups: &[VirtualServerGroup],
    auto_mark: Option<u32>,
) -> Vec<ServiceKey> {
    // vs->af: ip_family, else the first real server's (`check_parser.c`).
    let known_v6 = vs
        .ip_family_v6
        .or_else(|| vs.real_servers.first().map(|r| r.address.is_ipv6()));
    let family_v6 = known_v6.unwrap_or(false);
    if let (Some(mark), Some(g)) = (auto_mark, auto_fwmark_group(vs, groups)) {
        if let Some(v6) = known_v6 {
            return vec![ServiceKey::Fwmark { mark, v6 }];
        }
        let has = |v6: bool| fwmark_ranges(g, vs.protocol, mark).any(|r| r.first.is_ipv6() == v6);
        let (v4, v6) = (has(false), has(true));
        let mut keys = vec![ServiceKey::Fwmark { mark, v6: !v4 }];
        if v4 && v6 {
            keys.push(ServiceKey::Fwmark { mark, v6: true });
        }
        return keys;
    }
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
