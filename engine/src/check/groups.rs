//! What a virtual server stands for in the IPVS table: one service for an address or a
//! fwmark, and one per address of each range (and per fwmark) of a
//! `virtual_server_group` (`ipvs_cmd()` / `ipvs_group_cmd()`).

use std::net::IpAddr;

use super::ipvs::ServiceKey;
use super::MAX_RANGE_EXPANSION;
use crate::config::model::{VirtualServer, VirtualServerGroup, VsAddress, VsgEntry};

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
pub(super) fn service_keys(vs: &VirtualServer, groups: &[VirtualServerGroup]) -> Vec<ServiceKey> {
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
