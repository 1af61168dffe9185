//! Virtual and static routes and rules over rtnetlink (`vrrp_iproute.c`, `vrrp_iprule.c`):
//! the messages that add and delete them, and recognising the kernel's messages about
//! them.

use std::net::IpAddr;

use keepalived_engine::config::model::{IpPrefix, Route, Rule};
use netlink_packet_route::AddressFamily;

use super::{Netlink, NetlinkError};

impl Netlink {
    /// Whether the kernel's message about a route is about `r`, which we added: keepalived's
    /// `route_is_ours()`, on the route's table, family, destination, metric, output
    /// interface and protocol (the tos is not set on our routes). An unset metric is 0, as there (the kernel gives an IPv6
    /// route 1024, so such a route is not recognised, as in keepalived).
    pub fn is_route(&self, m: &netlink_packet_route::route::RouteMessage, r: &Route) -> bool {
        use netlink_packet_route::route::{RouteAddress, RouteAttribute};
        let h = &m.header;
        if u8::from(h.protocol) != RTPROT_KEEPALIVED {
            return false;
        }
        let table = m
            .attributes
            .iter()
            .find_map(|a| match a {
                RouteAttribute::Table(t) => Some(*t),
                _ => None,
            })
            .unwrap_or(u32::from(h.table));
        let v6 = route_is_v6(r);
        let dst = m.attributes.iter().find_map(|a| match a {
            RouteAttribute::Destination(RouteAddress::Inet(v4)) => Some(IpAddr::V4(*v4)),
            RouteAttribute::Destination(RouteAddress::Inet6(v6)) => Some(IpAddr::V6(*v6)),
            _ => None,
        });
        let metric = m.attributes.iter().find_map(|a| match a {
            RouteAttribute::Priority(p) => Some(*p),
            _ => None,
        });
        let oif = m.attributes.iter().find_map(|a| match a {
            RouteAttribute::Oif(i) => Some(*i),
            _ => None,
        });
        let want_table = r.table.as_deref().and_then(table_id).unwrap_or(254);
        let (want_dst, want_len) = match r.to {
            Some(p) => (Some(p.address), p.len),
            None => (None, 0),
        };
        h.address_family
            == if v6 {
                AddressFamily::Inet6
            } else {
                AddressFamily::Inet
            }
            && table == want_table
            && h.destination_prefix_length == want_len
            && (want_len == 0 || dst == want_dst)
            && metric.unwrap_or(0) == r.metric.unwrap_or(0)
            && r.dev
                .as_deref()
                .is_none_or(|d| self.ifindex(d).is_some() && oif == self.ifindex(d))
    }

    /// Whether the kernel's message about a rule is about `r`: keepalived's `rule_is_ours()`
    /// on the family, priority, source, destination, table and fwmark.
    pub fn is_rule(m: &netlink_packet_route::rule::RuleMessage, r: &Rule) -> bool {
        use netlink_packet_route::rule::RuleAttribute;
        let h = &m.header;
        let attr = |f: fn(&RuleAttribute) -> Option<u32>| m.attributes.iter().find_map(f);
        let src = m.attributes.iter().find_map(|a| match a {
            RuleAttribute::Source(ip) => Some(*ip),
            _ => None,
        });
        let dst = m.attributes.iter().find_map(|a| match a {
            RuleAttribute::Destination(ip) => Some(*ip),
            _ => None,
        });
        let table = attr(|a| match a {
            RuleAttribute::Table(t) => Some(*t),
            _ => None,
        })
        .unwrap_or(u32::from(h.table));
        let side = |p: Option<IpPrefix>, len: u8, addr: Option<IpAddr>| match p {
            Some(p) => len == p.len && addr == Some(p.address),
            None => len == 0,
        };
        h.family
            == if rule_is_v6(r) {
                AddressFamily::Inet6
            } else {
                AddressFamily::Inet
            }
            && r.priority.is_some()
            && attr(|a| match a {
                RuleAttribute::Priority(p) => Some(*p),
                _ => None,
            }) == r.priority
            && side(r.from, h.src_len, src)
            && side(r.to, h.dst_len, dst)
            && r.table
                .as_deref()
                .and_then(table_id)
                .is_none_or(|t| t == table)
            && attr(|a| match a {
                RuleAttribute::FwMark(m) => Some(*m),
                _ => None,
            }) == r.fwmark
    }
}

/// A routing protocol by number or by its name in iproute2's rt_protos.
fn protocol_id(p: &str) -> Option<u8> {
    Some(match p {
        "redirect" => 1,
        "kernel" => 2,
        "boot" => 3,
        "static" => 4,
        "gated" => 8,
        "ra" => 9,
        "mrt" => 10,
        "zebra" => 11,
        "bird" => 12,
        "dnrouted" => 13,
        "xorp" => 14,
        "ntk" => 15,
        "dhcp" => 16,
        "keepalived" => RTPROT_KEEPALIVED,
        "babel" => 42,
        "bgp" => 186,
        "isis" => 187,
        "ospf" => 188,
        "rip" => 189,
        "eigrp" => 192,
        n => return n.parse().ok(),
    })
}

/// A route type other than unicast, by its `ip route` name.
fn route_kind(t: &str) -> Option<netlink_packet_route::route::RouteType> {
    use netlink_packet_route::route::RouteType;
    Some(match t {
        "local" => RouteType::Local,
        "broadcast" => RouteType::Broadcast,
        "anycast" => RouteType::Anycast,
        "multicast" => RouteType::Multicast,
        "blackhole" => RouteType::BlackHole,
        "unreachable" => RouteType::Unreachable,
        "prohibit" => RouteType::Prohibit,
        "throw" => RouteType::Throw,
        "nat" => RouteType::Nat,
        _ => return None,
    })
}

/// RTPROT_KEEPALIVED: the protocol keepalived marks its routes and rules with, which
/// its route and rule monitoring recognises them by.
const RTPROT_KEEPALIVED: u8 = 18;

/// Whether a route is IPv6: `inet6`, or an IPv6 destination or gateway.
pub(crate) fn route_is_v6(r: &Route) -> bool {
    r.family_v6 || r.to.is_some_and(|p| p.address.is_ipv6()) || r.via.is_some_and(|v| v.is_ipv6())
}

/// Whether a rule is IPv6: `inet6`, or an IPv6 source or destination.
pub(crate) fn rule_is_v6(r: &Rule) -> bool {
    r.family_v6.unwrap_or(false)
        || r.from.is_some_and(|p| p.address.is_ipv6())
        || r.to.is_some_and(|p| p.address.is_ipv6())
}

/// A routing table by number or by the names iproute2 knows.
fn table_id(t: &str) -> Option<u32> {
    match t {
        "main" => Some(254),
        "local" => Some(255),
        "default" => Some(253),
        n => n.parse().ok(),
    }
}

impl Netlink {
    /// `ip route add|del` for the common forms of a virtual route: destination, via,
    /// dev, src, scope, table, metric.
    pub async fn route(&self, r: &Route, add: bool) -> Result<(), NetlinkError> {
        use netlink_packet_route::route::RouteScope;
        let mut req = self.handle.route().add();
        if let Some(dev) = &r.dev {
            req = req.output_interface(
                self.ifindex(dev)
                    .ok_or_else(|| NetlinkError::NoInterface(dev.clone()))?,
            );
        }
        if let Some(t) = r.table.as_deref().and_then(table_id) {
            req = req.table_id(t);
        }
        if let Some(m) = r.metric {
            req = req.priority(m);
        }
        // netlink_route(): RTPROT_KEEPALIVED unless another protocol is configured, which
        // alloc_route() allows only on a `no_track` route.
        let protocol = match (&r.protocol, r.no_track) {
            (Some(p), true) => protocol_id(p).unwrap_or(RTPROT_KEEPALIVED),
            _ => RTPROT_KEEPALIVED,
        };
        req = req.protocol(netlink_packet_route::route::RouteProtocol::from(protocol));
        if let Some(kind) = r.route_type.as_deref().and_then(route_kind) {
            req = req.kind(kind);
        }
        match r.scope.as_deref() {
            Some("link") => req = req.scope(RouteScope::Link),
            Some("host") => req = req.scope(RouteScope::Host),
            Some("site") => req = req.scope(RouteScope::Site),
            _ => {}
        }
        let message = if route_is_v6(r) {
            let mut q = req.v6();
            if let Some(IpAddr::V6(to)) = r.to.map(|p| p.address) {
                q = q.destination_prefix(to, r.to.map_or(0, |p| p.len));
            }
            if let Some(IpAddr::V6(via)) = r.via {
                q = q.gateway(via);
            }
            if let Some(IpAddr::V6(src)) = r.src {
                q = q.pref_source(src);
            }
            if add {
                return Ok(q.replace().execute().await?);
            }
            q.message_mut().clone()
        } else {
            let mut q = req.v4();
            if let Some(IpAddr::V4(to)) = r.to.map(|p| p.address) {
                q = q.destination_prefix(to, r.to.map_or(0, |p| p.len));
            }
            if let Some(IpAddr::V4(via)) = r.via {
                q = q.gateway(via);
            }
            if let Some(IpAddr::V4(src)) = r.src {
                q = q.pref_source(src);
            }
            if add {
                return Ok(q.replace().execute().await?);
            }
            q.message_mut().clone()
        };
        Ok(self.handle.route().del(message).execute().await?)
    }

    /// `ip rule add|del` for the common forms: from, to, table, priority, fwmark, iif, oif.
    pub async fn rule(&self, r: &Rule, add: bool) -> Result<(), NetlinkError> {
        use netlink_packet_route::rule::{RuleAction, RuleAttribute};
        let mut req = self.handle.rule().add();
        if let Some(t) = r.table.as_deref().and_then(table_id) {
            req = req.table_id(t).action(RuleAction::ToTable);
        }
        // alloc_rule(): one action, a table or one of these.
        match (r.action.as_deref(), r.goto) {
            (_, Some(target)) => {
                req = req.action(RuleAction::Goto);
                req.message_mut()
                    .attributes
                    .push(RuleAttribute::Goto(target));
            }
            (Some("nop"), _) => req = req.action(RuleAction::Nop),
            (Some("blackhole"), _) => req = req.action(RuleAction::Blackhole),
            (Some("unreachable"), _) => req = req.action(RuleAction::Unreachable),
            (Some("prohibit"), _) => req = req.action(RuleAction::Prohibit),
            _ => {}
        }
        if let Some(m) = r.fwmask {
            req.message_mut().attributes.push(RuleAttribute::FwMask(m));
        }
        // alloc_rule(): a tracked rule carries FRA_PROTOCOL RTPROT_KEEPALIVED; a
        // `no_track` one the protocol configured, if any.
        let protocol = if r.no_track {
            r.attributes
                .iter()
                .find(|(k, _)| k == "protocol")
                .and_then(|(_, v)| protocol_id(v))
        } else {
            Some(RTPROT_KEEPALIVED)
        };
        if let Some(p) = protocol {
            req.message_mut()
                .attributes
                .push(RuleAttribute::Protocol(p.into()));
        }
        if let Some(p) = r.priority {
            req = req.priority(p);
        }
        if let Some(m) = r.fwmark {
            req = req.fw_mark(m);
        }
        if let Some(i) = &r.iif {
            req = req.input_interface(i.clone());
        }
        if let Some(o) = &r.oif {
            req = req.output_interface(o.clone());
        }
        let message = if rule_is_v6(r) {
            let mut q = req.v6();
            if let Some(p) = r.from {
                if let IpAddr::V6(a) = p.address {
                    q = q.source_prefix(a, p.len);
                }
            }
            if let Some(p) = r.to {
                if let IpAddr::V6(a) = p.address {
                    q = q.destination_prefix(a, p.len);
                }
            }
            if add {
                return Ok(q.execute().await?);
            }
            q.message_mut().clone()
        } else {
            let mut q = req.v4();
            if let Some(p) = r.from {
                if let IpAddr::V4(a) = p.address {
                    q = q.source_prefix(a, p.len);
                }
            }
            if let Some(p) = r.to {
                if let IpAddr::V4(a) = p.address {
                    q = q.destination_prefix(a, p.len);
                }
            }
            if add {
                return Ok(q.execute().await?);
            }
            q.message_mut().clone()
        };
        Ok(self.handle.rule().del(message).execute().await?)
    }
}
