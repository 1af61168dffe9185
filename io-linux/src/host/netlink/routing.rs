//! Virtual and static routes and rules over rtnetlink (`vrrp_iproute.c`, `vrrp_iprule.c`):
//! the messages that add and delete them, and recognising the kernel's messages about
//! them.

use std::net::IpAddr;

use keepalived_engine::config::model::{Route, Rule};
use netlink_packet_route::AddressFamily;

use super::{Netlink, NetlinkError};

impl Netlink {
    /// Whether the kernel's message about a route is about `r`, which we added: keepalived's
    /// `route_is_ours()`, on the route's protocol (RTPROT_KEEPALIVED), table, family,
    /// destination and tos, and for an instance's route (`of_instance`) its metric and
    /// output interface too. An unset metric is 0, as there (the kernel gives an IPv6
    /// route 1024, so such a route is not recognised, as in keepalived).
    pub fn is_route(
        &self,
        m: &netlink_packet_route::route::RouteMessage,
        r: &Route,
        of_instance: bool,
    ) -> bool {
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
        let want_table = r.table.unwrap_or(RT_TABLE_MAIN);
        let (want_dst, want_len) = match r.to {
            Some(p) => (Some(p.address), p.len),
            None => (None, 0),
        };
        h.tos == r.tos.unwrap_or(0)
            && h.address_family
                == if v6 {
                    AddressFamily::Inet6
                } else {
                    AddressFamily::Inet
                }
            && table == want_table
            && h.destination_prefix_length == want_len
            && (want_len == 0 || dst == want_dst)
            && (!of_instance
                || metric.unwrap_or(0) == r.metric.unwrap_or(0)
                    && r.dev
                        .as_deref()
                        .is_none_or(|d| self.ifindex(d).is_some() && oif == self.ifindex(d)))
    }

    /// Whether the kernel's message about a rule is about `r`, a rule we track:
    /// keepalived's `compare_rule()`. The message is set against the one we send for `r`:
    /// family, tos, action, flags (`not`), lengths and table alike, and each selector
    /// present on both sides with the same value or on neither; the protocol is not
    /// compared, and a fwmark without a mask matches the kernel's 0xffffffff.
    pub fn is_rule(m: &netlink_packet_route::rule::RuleMessage, r: &Rule) -> bool {
        use netlink_packet_route::rule::{RuleAttribute, RuleFlag};
        use netlink_packet_utils::nla::Nla;
        if r.no_track {
            return false;
        }
        let (ours, _) = rule_message(r, true);
        let values = |v: &[RuleAttribute]| -> std::collections::BTreeMap<u16, Vec<u8>> {
            v.iter()
                .map(|a| {
                    let mut b = vec![0; a.value_len()];
                    a.emit_value(&mut b);
                    (a.kind(), b)
                })
                .collect()
        };
        let (mut k, o) = (values(&m.attributes), values(&ours.attributes));
        // The kernel may report an unset suppressor as -1: the same as none.
        for kind in [FRA_SUPPRESS_PREFIXLEN, FRA_SUPPRESS_IFGROUP] {
            if k.get(&kind)
                .is_some_and(|v| v[..] == u32::MAX.to_ne_bytes())
            {
                k.remove(&kind);
            }
        }
        let (h, oh) = (&m.header, &ours.header);
        let u32_of = |b: &Vec<u8>| {
            b.get(..4)
                .map(|x| u32::from_ne_bytes([x[0], x[1], x[2], x[3]]))
        };
        let table = k
            .get(&FRA_TABLE)
            .and_then(u32_of)
            .unwrap_or(u32::from(h.table));
        let want_table = if r.action == FR_ACT_TO_TBL && !r.l3mdev {
            r.table.unwrap_or(RT_TABLE_MAIN)
        } else {
            0
        };
        let same = |kind: u16| k.get(&kind) == o.get(&kind);
        h.family == oh.family
            && h.tos == oh.tos
            && h.action == oh.action
            && h.src_len == oh.src_len
            && h.dst_len == oh.dst_len
            && h.flags.contains(&RuleFlag::Invert) == r.invert
            && table == want_table
            && k.contains_key(&FRA_PRIORITY)
            && [
                FRA_PRIORITY,
                FRA_SRC,
                FRA_DST,
                FRA_FWMARK,
                FRA_FLOW,
                FRA_SUPPRESS_PREFIXLEN,
                FRA_SUPPRESS_IFGROUP,
                FRA_IIFNAME,
                FRA_OIFNAME,
                FRA_TUN_ID,
                FRA_UID_RANGE,
                FRA_L3MDEV,
                FRA_IP_PROTO,
                FRA_SPORT_RANGE,
                FRA_DPORT_RANGE,
            ]
            .into_iter()
            .all(same)
            && (r.action != FR_ACT_GOTO || same(FRA_GOTO))
            && match r.fwmask {
                Some(_) => same(FRA_FWMASK),
                None => k
                    .get(&FRA_FWMASK)
                    .and_then(u32_of)
                    .is_none_or(|m| m == u32::MAX),
            }
    }
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

/// RT_TABLE_MAIN, which a route without `table` goes in (and is stored as no table).
const RT_TABLE_MAIN: u32 = 254;
/// FR_ACT_TO_TBL, FR_ACT_GOTO.
const FR_ACT_TO_TBL: u8 = 1;
const FR_ACT_GOTO: u8 = 2;

// rtattr types (linux/rtnetlink.h).
const RTA_DST: u16 = 1;
const RTA_SRC: u16 = 2;
const RTA_OIF: u16 = 4;
const RTA_GATEWAY: u16 = 5;
const RTA_PRIORITY: u16 = 6;
const RTA_PREFSRC: u16 = 7;
const RTA_METRICS: u16 = 8;
const RTA_MULTIPATH: u16 = 9;
const RTA_FLOW: u16 = 11;
const RTA_TABLE: u16 = 15;
const RTA_VIA: u16 = 18;
const RTA_PREF: u16 = 20;
const RTA_EXPIRES: u16 = 23;
const RTA_TTL_PROPAGATE: u16 = 26;
const RTA_ENCAP_TYPE: u16 = 21;
const RTA_ENCAP: u16 = 22;
/// NLA_F_NESTED, which iproute2's rta_nest() sets on RTA_ENCAP.
const NLA_F_NESTED: u16 = 0x8000;
// RTAX_* (the members of RTA_METRICS).
const RTAX_LOCK: u16 = 1;
const RTAX_MTU: u16 = 2;
const RTAX_WINDOW: u16 = 3;
const RTAX_RTT: u16 = 4;
const RTAX_RTTVAR: u16 = 5;
const RTAX_SSTHRESH: u16 = 6;
const RTAX_CWND: u16 = 7;
const RTAX_ADVMSS: u16 = 8;
const RTAX_REORDERING: u16 = 9;
const RTAX_HOPLIMIT: u16 = 10;
const RTAX_INITCWND: u16 = 11;
const RTAX_FEATURES: u16 = 12;
const RTAX_RTO_MIN: u16 = 13;
const RTAX_INITRWND: u16 = 14;
const RTAX_QUICKACK: u16 = 15;
const RTAX_CC_ALGO: u16 = 16;
const RTAX_FASTOPEN_NO_COOKIE: u16 = 17;
// FRA_* (linux/fib_rules.h).
const FRA_DST: u16 = 1;
const FRA_SRC: u16 = 2;
const FRA_IIFNAME: u16 = 3;
const FRA_GOTO: u16 = 4;
const FRA_PRIORITY: u16 = 6;
const FRA_FWMARK: u16 = 10;
const FRA_FLOW: u16 = 11;
const FRA_TUN_ID: u16 = 12;
const FRA_SUPPRESS_IFGROUP: u16 = 13;
const FRA_SUPPRESS_PREFIXLEN: u16 = 14;
const FRA_TABLE: u16 = 15;
const FRA_FWMASK: u16 = 16;
const FRA_OIFNAME: u16 = 17;
const FRA_L3MDEV: u16 = 19;
const FRA_UID_RANGE: u16 = 20;
const FRA_PROTOCOL: u16 = 21;
const FRA_IP_PROTO: u16 = 22;
const FRA_SPORT_RANGE: u16 = 23;
const FRA_DPORT_RANGE: u16 = 24;
/// RTNH_F_ONLINK.
const RTNH_F_ONLINK: u8 = 4;

/// RTA_ENCAP and RTA_ENCAP_TYPE for `e`, as keepalived's add_encap() (and iproute2's
/// lwt_parse_encap()) make them: MPLS_IPTUNNEL_DST, the LWTUNNEL_IP(6)_* members (id
/// big-endian, then dst, src, tos/tc, ttl/hoplimit, flags), or ILA_ATTR_LOCATOR.
fn encap_bytes(e: &keepalived_engine::config::model::Encap) -> Vec<u8> {
    let mut inner = Vec::new();
    match e.kind {
        1 => {
            // MPLS label stack entries: label << 12, bottom of stack on the last.
            let mut v = Vec::new();
            for (n, l) in e.labels.iter().enumerate() {
                let bos = if n + 1 == e.labels.len() { 1 << 8 } else { 0 };
                v.extend((l << 12 | bos).to_be_bytes());
            }
            inner.extend(nla_bytes(1, &v));
        }
        3 => inner.extend(nla_bytes(1, &e.locator.to_be_bytes())),
        _ => {
            if let Some(id) = e.id {
                inner.extend(nla_bytes(1, &id.to_be_bytes()));
            }
            if let Some(dst) = e.dst {
                inner.extend(nla_bytes(2, &ip_bytes(dst)));
            }
            if let Some(src) = e.src {
                inner.extend(nla_bytes(3, &ip_bytes(src)));
            }
            // LWTUNNEL_IP_TOS (5) / LWTUNNEL_IP6_TC (5), LWTUNNEL_IP_TTL (4) /
            // LWTUNNEL_IP6_HOPLIMIT (4), LWTUNNEL_IP(6)_FLAGS (6).
            if let Some(tos) = e.tos {
                inner.extend(nla_bytes(5, &[tos]));
            }
            if let Some(ttl) = e.ttl {
                inner.extend(nla_bytes(4, &[ttl]));
            }
            if let Some(flags) = e.flags {
                inner.extend(nla_bytes(6, &flags.to_ne_bytes()));
            }
        }
    }
    let mut out = nla_bytes(RTA_ENCAP | NLA_F_NESTED, &inner);
    out.extend(nla_bytes(RTA_ENCAP_TYPE, &e.kind.to_ne_bytes()));
    out
}

/// One netlink attribute, header and value padded to 4 bytes (RTA_ALIGN).
fn nla_bytes(kind: u16, value: &[u8]) -> Vec<u8> {
    let len = 4 + value.len();
    let mut b = Vec::with_capacity((len + 3) & !3);
    b.extend_from_slice(&(len as u16).to_ne_bytes());
    b.extend_from_slice(&kind.to_ne_bytes());
    b.extend_from_slice(value);
    b.resize((len + 3) & !3, 0);
    b
}

fn ip_bytes(a: IpAddr) -> Vec<u8> {
    match a {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

/// RTA_VIA: the family, then the address (a gateway of the other family).
fn via_bytes(a: IpAddr) -> Vec<u8> {
    let family: u16 = if a.is_ipv6() { 10 } else { 2 };
    let mut v = family.to_ne_bytes().to_vec();
    v.extend(ip_bytes(a));
    v
}

/// The attributes of a message as we build them: each an opaque netlink attribute, so
/// their bytes and order are exactly keepalived's.
#[derive(Default)]
struct Attrs(Vec<netlink_packet_utils::nla::DefaultNla>);

impl Attrs {
    fn add(&mut self, kind: u16, value: Vec<u8>) {
        self.0
            .push(netlink_packet_utils::nla::DefaultNla::new(kind, value));
    }
    fn u32(&mut self, kind: u16, v: u32) {
        self.add(kind, v.to_ne_bytes().to_vec());
    }
    fn u8(&mut self, kind: u16, v: u8) {
        self.add(kind, vec![v]);
    }
    /// Attributes already encoded (`nla_bytes`), added one by one.
    fn raw(&mut self, mut b: &[u8]) {
        while b.len() >= 4 {
            let len = usize::from(u16::from_ne_bytes([b[0], b[1]]));
            let kind = u16::from_ne_bytes([b[2], b[3]]);
            self.add(kind, b[4..len].to_vec());
            b = &b[((len + 3) & !3).min(b.len())..];
        }
    }
}

/// The RTM_NEWROUTE / RTM_DELROUTE message keepalived 2.2.7's `netlink_route()` sends for
/// `r`, and its flags besides NLM_F_REQUEST. `ifindex` gives an interface's index.
pub(crate) fn route_message(
    r: &Route,
    add: bool,
    ifindex: impl Fn(&str) -> Option<u32>,
) -> Result<(netlink_packet_route::route::RouteMessage, u16), NetlinkError> {
    use keepalived_engine::config::model::RouteMode;
    use netlink_packet_core::{NLM_F_APPEND, NLM_F_CREATE, NLM_F_EXCL};
    use netlink_packet_route::route::{
        RouteAttribute, RouteFlag, RouteMessage, RouteProtocol, RouteScope, RouteType,
    };
    let index = |d: &str| ifindex(d).ok_or_else(|| NetlinkError::NoInterface(d.to_string()));
    let v6 = route_is_v6(r);
    let mut m = RouteMessage::default();
    let h = &mut m.header;
    h.address_family = if v6 {
        AddressFamily::Inet6
    } else {
        AddressFamily::Inet
    };
    let table = r.table.unwrap_or(RT_TABLE_MAIN);
    let mut a = Attrs::default();
    // A table above 255 goes in RTA_TABLE, rtm_table RT_TABLE_UNSPEC.
    match u8::try_from(table) {
        Ok(t) => h.table = t,
        Err(_) => a.u32(RTA_TABLE, table),
    }
    // An add is RT_SCOPE_UNIVERSE and the type (unicast unless written); a delete is
    // RT_SCOPE_NOWHERE and the type only when written, so the kernel matches any.
    h.scope = RouteScope::from(r.scope.unwrap_or(if add { 0 } else { 255 }));
    h.kind = RouteType::from(r.route_type.unwrap_or(if add { 1 } else { 0 }));
    // A tracked route is RTPROT_KEEPALIVED (alloc_route() set it so).
    h.protocol = RouteProtocol::from(r.protocol.unwrap_or(RTPROT_KEEPALIVED));
    h.tos = r.tos.unwrap_or(0);
    if r.onlink {
        h.flags.push(RouteFlag::Onlink);
    }
    // `default` has no RTA_DST, as iproute2 sends it (keepalived sends a zero address
    // with length 0, which the kernel takes the same way).
    if let Some(p) = r.to {
        h.destination_prefix_length = p.len;
        a.add(RTA_DST, ip_bytes(p.address));
    }
    if let Some(p) = r.from {
        h.source_prefix_length = p.len;
        a.add(RTA_SRC, ip_bytes(p.address));
    }
    if let Some(src) = r.src {
        a.add(RTA_PREFSRC, ip_bytes(src));
    }
    if let Some(via) = r.via {
        if via.is_ipv6() == v6 {
            a.add(RTA_GATEWAY, ip_bytes(via));
        } else {
            a.add(RTA_VIA, via_bytes(via));
        }
    }
    if let Some(e) = &r.encap {
        a.raw(&encap_bytes(e));
    }
    if let Some(dev) = &r.dev {
        a.u32(RTA_OIF, index(dev)?);
    }
    if let Some(metric) = r.metric {
        a.u32(RTA_PRIORITY, metric);
    }
    if let Some(realms) = r.realms.filter(|&v| v != 0) {
        a.u32(RTA_FLOW, realms);
    }
    if let Some(e) = r.expires {
        a.u32(RTA_EXPIRES, e);
    }
    if let Some(pref) = r.pref {
        a.u8(RTA_PREF, pref);
    }
    if let Some(t) = r.ttl_propagate {
        a.u8(RTA_TTL_PROPAGATE, t);
    }
    // RTA_METRICS, in netlink_route()'s order, with RTAX_LOCK last.
    let x = &r.metrics;
    let mut metrics = Vec::new();
    if let Some(cc) = &x.congctl {
        metrics.extend(nla_bytes(RTAX_CC_ALGO, cc.as_bytes()));
    }
    let features = (x.features != 0).then_some(x.features);
    for (kind, v) in [
        (RTAX_RTT, x.rtt),
        (RTAX_RTTVAR, x.rttvar),
        (RTAX_RTO_MIN, x.rto_min),
        (RTAX_FEATURES, features),
        (RTAX_MTU, x.mtu),
        (RTAX_WINDOW, x.window),
        (RTAX_SSTHRESH, x.ssthresh),
        (RTAX_CWND, x.cwnd),
        (RTAX_ADVMSS, x.advmss),
        (RTAX_REORDERING, x.reordering),
        (RTAX_HOPLIMIT, x.hoplimit),
        (RTAX_INITCWND, x.initcwnd),
        (RTAX_INITRWND, x.initrwnd),
        (RTAX_QUICKACK, x.quickack),
        (RTAX_FASTOPEN_NO_COOKIE, x.fastopen_no_cookie),
    ] {
        if let Some(v) = v {
            metrics.extend(nla_bytes(kind, &v.to_ne_bytes()));
        }
    }
    if !metrics.is_empty() {
        if x.lock != 0 {
            metrics.extend(nla_bytes(RTAX_LOCK, &x.lock.to_ne_bytes()));
        }
        a.add(RTA_METRICS, metrics);
    }
    // RTA_MULTIPATH: an rtnexthop per hop (length, flags, weight - 1, ifindex) with its
    // gateway and realms.
    if !r.nexthops.is_empty() {
        let mut hops = Vec::new();
        for nh in &r.nexthops {
            let mut inner = Vec::new();
            if let Some(via) = nh.via {
                if via.is_ipv6() == v6 {
                    inner.extend(nla_bytes(RTA_GATEWAY, &ip_bytes(via)));
                } else {
                    inner.extend(nla_bytes(RTA_VIA, &via_bytes(via)));
                }
            }
            if let Some(realms) = nh.realms.filter(|&v| v != 0) {
                inner.extend(nla_bytes(RTA_FLOW, &realms.to_ne_bytes()));
            }
            // A hop's `encap` is read but not sent: keepalived 2.2.7's add_nexthop()
            // gives add_encap() the attribute's current length as its room, so
            // rta_addattr_l() finds none and the kernel gets the hop without it.
            let ifindex = match &nh.dev {
                Some(d) => index(d)?,
                None => 0,
            };
            hops.extend(((8 + inner.len()) as u16).to_ne_bytes());
            hops.push(if nh.onlink { RTNH_F_ONLINK } else { 0 });
            hops.push(nh.weight.map_or(0, |w| (w - 1) as u8));
            hops.extend(ifindex.to_ne_bytes());
            hops.extend(inner);
        }
        a.add(RTA_MULTIPATH, hops);
    }
    m.attributes = a.0.into_iter().map(RouteAttribute::Other).collect();
    let flags = match (add, r.mode) {
        (false, _) => 0,
        (true, RouteMode::Prepend) => NLM_F_CREATE,
        (true, RouteMode::Add) => NLM_F_CREATE | NLM_F_EXCL,
        (true, RouteMode::Append) => NLM_F_CREATE | NLM_F_APPEND,
    };
    Ok((m, flags))
}

/// The RTM_NEWRULE / RTM_DELRULE message keepalived 2.2.7's `netlink_rule()` sends for
/// `r`, and its flags besides NLM_F_REQUEST.
pub(crate) fn rule_message(r: &Rule, add: bool) -> (netlink_packet_route::rule::RuleMessage, u16) {
    use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
    use netlink_packet_route::rule::{RuleAction, RuleAttribute, RuleFlag, RuleMessage};
    let mut m = RuleMessage::default();
    let h = &mut m.header;
    h.family = if rule_is_v6(r) {
        AddressFamily::Inet6
    } else {
        AddressFamily::Inet
    };
    h.tos = r.tos;
    h.action = RuleAction::from(r.action);
    if r.invert {
        h.flags.push(RuleFlag::Invert);
    }
    let mut a = Attrs::default();
    if r.action == FR_ACT_TO_TBL && !r.l3mdev {
        let table = r.table.unwrap_or(RT_TABLE_MAIN);
        match u8::try_from(table) {
            Ok(t) => h.table = t,
            Err(_) => a.u32(FRA_TABLE, table),
        }
    }
    if let Some(p) = r.from {
        h.src_len = p.len;
        a.add(FRA_SRC, ip_bytes(p.address));
    }
    if let Some(p) = r.to {
        h.dst_len = p.len;
        a.add(FRA_DST, ip_bytes(p.address));
    }
    if let Some(p) = r.priority {
        a.u32(FRA_PRIORITY, p);
    }
    if let Some(mark) = r.fwmark {
        a.u32(FRA_FWMARK, mark);
    }
    if let Some(mask) = r.fwmask {
        a.u32(FRA_FWMASK, mask);
    }
    if let Some(realms) = r.realms.filter(|&v| v != 0) {
        a.u32(FRA_FLOW, realms);
    }
    if let Some(n) = r.suppress_prefixlength {
        a.u32(FRA_SUPPRESS_PREFIXLEN, n);
    }
    if let Some(n) = r.suppress_ifgroup {
        a.u32(FRA_SUPPRESS_IFGROUP, n);
    }
    let name = |n: &str| {
        let mut v = n.as_bytes().to_vec();
        v.push(0);
        v
    };
    if let Some(i) = &r.iif {
        a.add(FRA_IIFNAME, name(i));
    }
    if let Some(o) = &r.oif {
        a.add(FRA_OIFNAME, name(o));
    }
    if let Some(t) = r.tunnel_id.filter(|&t| t != 0) {
        a.add(FRA_TUN_ID, t.to_be_bytes().to_vec());
    }
    if let Some((start, end)) = r.uidrange {
        let mut v = start.to_ne_bytes().to_vec();
        v.extend(end.to_ne_bytes());
        a.add(FRA_UID_RANGE, v);
    }
    if r.l3mdev {
        a.u8(FRA_L3MDEV, 1);
    }
    if let Some(p) = r.protocol {
        a.u8(FRA_PROTOCOL, p);
    }
    if let Some(p) = r.ipproto {
        a.u8(FRA_IP_PROTO, p);
    }
    for (kind, range) in [(FRA_SPORT_RANGE, r.sport), (FRA_DPORT_RANGE, r.dport)] {
        if let Some((start, end)) = range {
            let mut v = start.to_ne_bytes().to_vec();
            v.extend(end.to_ne_bytes());
            a.add(kind, v);
        }
    }
    if r.action == FR_ACT_GOTO {
        a.u32(FRA_GOTO, r.goto.unwrap_or(0));
    }
    m.attributes = a.0.into_iter().map(RuleAttribute::Other).collect();
    let flags = if add { NLM_F_CREATE | NLM_F_EXCL } else { 0 };
    (m, flags)
}

/// keepalived's `netlink_talk()` takes EEXIST in answer to RTM_NEWROUTE as success: the
/// kernel says so when the same route is there already (a prepend of it, or a replace
/// of a route appended after another with its key), so the route is in place.
fn exists_is_done(r: Result<(), NetlinkError>) -> Result<(), NetlinkError> {
    match r {
        Err(NetlinkError::Io(e)) if e.raw_os_error() == Some(libc::EEXIST) => Ok(()),
        r => r,
    }
}

impl Netlink {
    /// `netlink_route()`: adds or deletes `r`.
    pub async fn route(&self, r: &Route, add: bool) -> Result<(), NetlinkError> {
        use netlink_packet_route::RouteNetlinkMessage;
        let (m, flags) = route_message(r, add, |d| self.ifindex(d))?;
        let msg = if add {
            RouteNetlinkMessage::NewRoute(m)
        } else {
            RouteNetlinkMessage::DelRoute(m)
        };
        exists_is_done(self.sync.ask(msg, flags))
    }

    /// `netlink_route(…, IPROUTE_REPLACE)`: `r` in place of the route with its key, as
    /// `clear_diff_routes()` puts a route kept across a reload (NLM_F_CREATE |
    /// NLM_F_REPLACE).
    pub async fn replace_route(&self, r: &Route) -> Result<(), NetlinkError> {
        use netlink_packet_core::{NLM_F_CREATE, NLM_F_REPLACE};
        use netlink_packet_route::RouteNetlinkMessage;
        let (m, _) = route_message(r, true, |d| self.ifindex(d))?;
        exists_is_done(self.sync.ask(
            RouteNetlinkMessage::NewRoute(m),
            NLM_F_CREATE | NLM_F_REPLACE,
        ))
    }

    /// `netlink_rule()`: adds or deletes `r`.
    pub async fn rule(&self, r: &Rule, add: bool) -> Result<(), NetlinkError> {
        use netlink_packet_route::RouteNetlinkMessage;
        let (m, flags) = rule_message(r, add);
        let msg = if add {
            RouteNetlinkMessage::NewRule(m)
        } else {
            RouteNetlinkMessage::DelRule(m)
        };
        self.sync.ask(msg, flags)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keepalived_engine::config::model::{IpPrefix, Nexthop, RouteMode};
    use netlink_packet_utils::Emitable;

    fn bytes(m: &impl Emitable) -> Vec<u8> {
        let mut b = vec![0; m.buffer_len()];
        m.emit(&mut b);
        b
    }

    fn attr(kind: u16, value: &[u8]) -> Vec<u8> {
        nla_bytes(kind, value)
    }

    fn u32b(v: u32) -> [u8; 4] {
        v.to_ne_bytes()
    }

    fn pfx(s: &str, len: u8) -> Option<IpPrefix> {
        Some(IpPrefix {
            address: s.parse().unwrap(),
            len,
        })
    }

    fn ifindex(d: &str) -> Option<u32> {
        match d {
            "eth0" => Some(7),
            "eth1" => Some(8),
            _ => None,
        }
    }

    // `10.99.0.0/24 via 192.168.91.254 dev eth0 table 1000 metric 5 mtu lock 1400`: the
    // values `ip route add` sends for it (RTA_TABLE 1000 with rtm_table RT_TABLE_UNSPEC,
    // RTAX_MTU 1400, RTAX_LOCK 1 << RTAX_MTU), in netlink_route()'s order.
    #[test]
    fn route_with_table_metric_and_locked_mtu() {
        let mut r = Route {
            to: pfx("10.99.0.0", 24),
            via: Some("192.168.91.254".parse().unwrap()),
            dev: Some("eth0".into()),
            table: Some(1000),
            metric: Some(5),
            protocol: Some(18),
            ..Route::default()
        };
        r.metrics.mtu = Some(1400);
        r.metrics.lock = 1 << 2;
        let (m, flags) = route_message(&r, true, ifindex).unwrap();
        assert_eq!(flags, netlink_packet_core::NLM_F_CREATE);
        let mut want = vec![2, 24, 0, 0, 0, 18, 0, 1, 0, 0, 0, 0];
        want.extend(attr(RTA_TABLE, &u32b(1000)));
        want.extend(attr(RTA_DST, &[10, 99, 0, 0]));
        want.extend(attr(RTA_GATEWAY, &[192, 168, 91, 254]));
        want.extend(attr(RTA_OIF, &u32b(7)));
        want.extend(attr(RTA_PRIORITY, &u32b(5)));
        let mut metrics = attr(RTAX_MTU, &u32b(1400));
        metrics.extend(attr(RTAX_LOCK, &u32b(4)));
        want.extend(attr(RTA_METRICS, &metrics));
        assert_eq!(bytes(&m), want);

        // A delete: RT_SCOPE_NOWHERE and no type, so the kernel matches any.
        let (m, flags) = route_message(&r, false, ifindex).unwrap();
        assert_eq!(flags, 0);
        assert_eq!(&bytes(&m)[..12], &[2, 24, 0, 0, 0, 18, 255, 0, 0, 0, 0, 0]);

        r.mode = RouteMode::Append;
        let (_, flags) = route_message(&r, true, ifindex).unwrap();
        assert_eq!(
            flags,
            netlink_packet_core::NLM_F_CREATE | netlink_packet_core::NLM_F_APPEND
        );
    }

    // `blackhole 10.1.0.0/16`: no interface needed, type RTN_BLACKHOLE in the header.
    #[test]
    fn blackhole_without_dev() {
        let r = Route {
            route_type: Some(6),
            to: pfx("10.1.0.0", 16),
            no_track: true,
            protocol: Some(18),
            ..Route::default()
        };
        let (m, _) = route_message(&r, true, |_| None).unwrap();
        let mut want = vec![2, 16, 0, 0, 254, 18, 0, 6, 0, 0, 0, 0];
        want.extend(attr(RTA_DST, &[10, 1, 0, 0]));
        assert_eq!(bytes(&m), want);
    }

    // `nexthop via 192.168.0.1 dev eth0 weight 2 nexthop via 192.168.1.1 dev eth1 onlink`:
    // rtnexthop (len, flags, hops = weight - 1, ifindex) then RTA_GATEWAY, as iproute2.
    #[test]
    fn multipath() {
        let r = Route {
            to: pfx("10.2.0.0", 16),
            nexthops: vec![
                Nexthop {
                    via: Some("192.168.0.1".parse().unwrap()),
                    dev: Some("eth0".into()),
                    weight: Some(2),
                    ..Nexthop::default()
                },
                Nexthop {
                    via: Some("192.168.1.1".parse().unwrap()),
                    dev: Some("eth1".into()),
                    onlink: true,
                    ..Nexthop::default()
                },
            ],
            ..Route::default()
        };
        let (m, _) = route_message(&r, true, ifindex).unwrap();
        let mut hops = vec![16, 0, 0, 1, 7, 0, 0, 0];
        hops.extend(attr(RTA_GATEWAY, &[192, 168, 0, 1]));
        hops.extend([16, 0, RTNH_F_ONLINK, 0, 8, 0, 0, 0]);
        hops.extend(attr(RTA_GATEWAY, &[192, 168, 1, 1]));
        let b = bytes(&m);
        assert!(b.ends_with(&attr(RTA_MULTIPATH, &hops)), "{b:?}");
    }

    // `encap ip id 5 dst 10.0.0.9 ttl 9`: RTA_ENCAP (nested, id big-endian) then
    // RTA_ENCAP_TYPE LWTUNNEL_ENCAP_IP, before RTA_OIF.
    #[test]
    fn encap_ip() {
        let r = Route {
            to: pfx("10.3.0.0", 16),
            dev: Some("eth0".into()),
            encap: Some(Box::new(keepalived_engine::config::model::Encap {
                kind: 2,
                id: Some(5),
                dst: Some("10.0.0.9".parse().unwrap()),
                ttl: Some(9),
                ..Default::default()
            })),
            ..Route::default()
        };
        let (m, _) = route_message(&r, true, ifindex).unwrap();
        let mut inner = attr(1, &5u64.to_be_bytes());
        inner.extend(attr(2, &[10, 0, 0, 9]));
        inner.extend(attr(4, &[9]));
        let mut want = attr(RTA_ENCAP | NLA_F_NESTED, &inner);
        want.extend(attr(RTA_ENCAP_TYPE, &2u16.to_ne_bytes()));
        want.extend(attr(RTA_OIF, &u32b(7)));
        assert!(bytes(&m).ends_with(&want), "{:?}", bytes(&m));
    }

    // IPv6 `pref high expires 30`, as RTA_EXPIRES and RTA_PREF (ICMPV6_ROUTER_PREF_HIGH 1).
    #[test]
    fn ipv6_pref_and_expires() {
        let r = Route {
            to: pfx("2001:db8::", 64),
            family_v6: true,
            dev: Some("eth0".into()),
            pref: Some(1),
            expires: Some(30),
            protocol: Some(18),
            ..Route::default()
        };
        let (m, _) = route_message(&r, true, ifindex).unwrap();
        let b = bytes(&m);
        assert_eq!(&b[..8], &[10, 64, 0, 0, 254, 18, 0, 1]);
        let mut tail = attr(RTA_EXPIRES, &u32b(30));
        tail.extend(attr(RTA_PREF, &[1]));
        assert!(b.ends_with(&tail), "{b:?}");
    }

    // `from 10.99.0.0/24 fwmark 0x10/0xff lookup 100 priority 77`: what `ip rule add … proto
    // 18` sends (table in the header, FRA_FWMASK kept), in netlink_rule()'s order.
    #[test]
    fn rule_with_fwmark_mask() {
        let r = Rule {
            from: pfx("10.99.0.0", 24),
            fwmark: Some(0x10),
            fwmask: Some(0xff),
            table: Some(100),
            action: FR_ACT_TO_TBL,
            priority: Some(77),
            protocol: Some(18),
            ..Rule::default()
        };
        let (m, flags) = rule_message(&r, true);
        assert_eq!(
            flags,
            netlink_packet_core::NLM_F_CREATE | netlink_packet_core::NLM_F_EXCL
        );
        let mut want = vec![2, 0, 24, 0, 100, 0, 0, 1, 0, 0, 0, 0];
        want.extend(attr(FRA_SRC, &[10, 99, 0, 0]));
        want.extend(attr(FRA_PRIORITY, &u32b(77)));
        want.extend(attr(FRA_FWMARK, &u32b(0x10)));
        want.extend(attr(FRA_FWMASK, &u32b(0xff)));
        want.extend(attr(FRA_PROTOCOL, &[18]));
        assert_eq!(bytes(&m), want);
    }

    // compare_rule(): the kernel's message about a rule we sent (with the FRA_TABLE and
    // FRA_FWMASK it adds) is ours; one with another mark, or an unmasked mark the kernel
    // reports with 0xffffffff, is judged as keepalived judges it.
    #[test]
    fn kernel_rules_are_recognised() {
        use netlink_packet_route::rule::{RuleMessage, RuleMessageBuffer};
        use netlink_packet_utils::Parseable;
        let r = Rule {
            from: pfx("10.99.0.0", 24),
            fwmark: Some(0x10),
            table: Some(100),
            action: FR_ACT_TO_TBL,
            priority: Some(77),
            protocol: Some(18),
            ..Rule::default()
        };
        let kernel = |r: &Rule, extra: &[(u16, u32)]| {
            let mut b = bytes(&rule_message(r, true).0);
            for &(kind, v) in extra {
                b.extend(attr(kind, &u32b(v)));
            }
            RuleMessage::parse(&RuleMessageBuffer::new(&b)).unwrap()
        };
        let m = kernel(
            &r,
            &[
                (FRA_TABLE, 100),
                (FRA_FWMASK, u32::MAX),
                (FRA_SUPPRESS_PREFIXLEN, u32::MAX),
            ],
        );
        assert!(Netlink::is_rule(&m, &r));
        let other = Rule {
            fwmark: Some(0x11),
            ..r.clone()
        };
        assert!(!Netlink::is_rule(&kernel(&other, &[(FRA_TABLE, 100)]), &r));
        let masked = Rule {
            fwmask: Some(0xff),
            ..r.clone()
        };
        assert!(!Netlink::is_rule(&m, &masked));
        let untracked = Rule {
            no_track: true,
            ..r.clone()
        };
        assert!(!Netlink::is_rule(&m, &untracked));
    }

    // A blackhole rule has no table; `not` is FIB_RULE_INVERT; ports, uid range and the
    // tunnel id (big-endian) as the kernel's structs; goto carries FRA_GOTO.
    #[test]
    fn rule_actions_and_selectors() {
        let r = Rule {
            from: pfx("10.1.0.0", 16),
            invert: true,
            action: 6,
            priority: Some(5),
            sport: Some((1000, 2000)),
            uidrange: Some((1, 2)),
            tunnel_id: Some(0x1234),
            iif: Some("eth0".into()),
            ..Rule::default()
        };
        let (m, _) = rule_message(&r, true);
        let b = bytes(&m);
        assert_eq!(&b[..12], &[2, 0, 16, 0, 0, 0, 0, 6, 2, 0, 0, 0]);
        let mut tail = attr(FRA_IIFNAME, b"eth0\0");
        tail.extend(attr(FRA_TUN_ID, &0x1234u64.to_be_bytes()));
        let mut uid = u32b(1).to_vec();
        uid.extend(u32b(2));
        tail.extend(attr(FRA_UID_RANGE, &uid));
        let mut ports = 1000u16.to_ne_bytes().to_vec();
        ports.extend(2000u16.to_ne_bytes());
        tail.extend(attr(FRA_SPORT_RANGE, &ports));
        assert!(b.ends_with(&tail), "{b:?}");

        let g = Rule {
            action: FR_ACT_GOTO,
            goto: Some(20),
            priority: Some(10),
            ..Rule::default()
        };
        let b = bytes(&rule_message(&g, true).0);
        assert_eq!(b[7], FR_ACT_GOTO);
        assert!(b.ends_with(&attr(FRA_GOTO, &u32b(20))));
    }
}
