//! The host's interfaces as keepalived's `dump_if()` prints them, read for the SIGUSR1
//! data dump: the links and addresses by one rtnetlink dump each, as keepalived's
//! `netlink_interface_lookup()` and `netlink_address_lookup()` read them at start, and
//! each interface's IPv4 devconf values (`parse_af_spec()`) from its sysctls. The dump is
//! rare and the kernel answers in microseconds, so the socket is a blocking one of its
//! own, as the VIPs' is.

use std::collections::BTreeMap;
use std::io;
use std::os::fd::AsRawFd;

use keepalived_engine::vrrp::dump::{HostInterface, HostLink, HostRoute};
use netlink_packet_core::{NetlinkMessage, NetlinkPayload, NLM_F_DUMP, NLM_F_REQUEST};
use netlink_packet_route::address::AddressMessage;
use netlink_packet_route::link::{
    InfoData, InfoIpVlan, InfoMacVlan, InfoMacVtap, LinkAttribute, LinkInfo, LinkMessage,
};
use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};

use super::vmac::get as sysctl_get;
use crate::host::netlink::own_address;

/// Every interface in index order, with its addresses in the kernel's order and its
/// arp_ignore, arp_filter, promote_secondaries and rp_filter; what the VRRP process did
/// to each is for the caller to add.
pub(crate) fn interfaces() -> io::Result<Vec<HostInterface>> {
    let mut by_index: BTreeMap<u32, HostInterface> = BTreeMap::new();
    for m in dump(RouteNetlinkMessage::GetLink(LinkMessage::default()))? {
        if let RouteNetlinkMessage::NewLink(l) = m {
            if let Some(i) = link(&l) {
                by_index.insert(i.index, i);
            }
        }
    }
    for m in dump(RouteNetlinkMessage::GetAddress(AddressMessage::default()))? {
        let RouteNetlinkMessage::NewAddress(a) = m else {
            continue;
        };
        let Some(i) = by_index.get_mut(&a.header.index) else {
            continue;
        };
        i.addresses.extend(own_address(&a));
    }
    for i in by_index.values_mut() {
        let conf = |key| sysctl_get("ipv4", &i.name, key).unwrap_or(0);
        i.arp_ignore = conf("arp_ignore");
        i.arp_filter = conf("arp_filter");
        i.promote_secondaries = conf("promote_secondaries");
        i.rp_filter = conf("rp_filter");
    }
    Ok(by_index.into_values().collect())
}

/// RTPROT_KEEPALIVED: the protocol keepalived marks its routes with.
const RTPROT_KEEPALIVED: u8 = 18;

/// The routes of every table marked as keepalived's.
pub(crate) fn routes() -> io::Result<Vec<HostRoute>> {
    let mut out = Vec::new();
    for m in dump(RouteNetlinkMessage::GetRoute(RouteMessage::default()))? {
        let RouteNetlinkMessage::NewRoute(r) = m else {
            continue;
        };
        let h = &r.header;
        if u8::from(h.protocol) != RTPROT_KEEPALIVED {
            continue;
        }
        let mut route = HostRoute {
            ipv6: h.address_family == AddressFamily::Inet6,
            dst: None,
            len: h.destination_prefix_length,
            table: u32::from(h.table),
            tos: h.tos,
        };
        for a in &r.attributes {
            match a {
                RouteAttribute::Table(t) => route.table = *t,
                RouteAttribute::Destination(RouteAddress::Inet(v4)) => {
                    route.dst = Some((*v4).into())
                }
                RouteAttribute::Destination(RouteAddress::Inet6(v6)) => {
                    route.dst = Some((*v6).into())
                }
                _ => {}
            }
        }
        out.push(route);
    }
    Ok(out)
}

/// One link as the dump gives it.
fn link(m: &LinkMessage) -> Option<HostInterface> {
    let mut i = HostInterface {
        index: m.header.index,
        flags: m.header.flags.iter().map(|f| u32::from(*f)).sum(),
        hw_type: u16::from(m.header.link_layer_type),
        ..HostInterface::default()
    };
    let mut name = None;
    let mut kind: Option<HostLink> = None;
    let (mut base, mut netns_id) = (None, None);
    for a in &m.attributes {
        match a {
            LinkAttribute::IfName(n) => name = Some(n.clone()),
            LinkAttribute::Mtu(n) => i.mtu = *n,
            LinkAttribute::Address(b) => i.mac = b.clone(),
            LinkAttribute::Broadcast(b) => i.mac_broadcast = b.clone(),
            LinkAttribute::Link(n) => base = Some(*n),
            LinkAttribute::NetnsId(n) => netns_id = Some(*n),
            LinkAttribute::LinkInfo(infos) => kind = Some(link_kind(infos)),
            _ => {}
        }
    }
    i.name = name?;
    i.link = kind.map(|k| HostLink {
        base,
        netns_id,
        ..k
    });
    Some(i)
}

/// `IFLA_LINKINFO`: the kind, and a macvlan's or ipvlan's mode and flags.
fn link_kind(infos: &[LinkInfo]) -> HostLink {
    let mut k = HostLink::default();
    for info in infos {
        match info {
            LinkInfo::Kind(kind) => k.kind = kind.to_string(),
            LinkInfo::Data(InfoData::MacVlan(d)) => {
                for x in d {
                    if let InfoMacVlan::Mode(m) = x {
                        k.mode = *m;
                    }
                }
            }
            LinkInfo::Data(InfoData::MacVtap(d)) => {
                for x in d {
                    if let InfoMacVtap::Mode(m) = x {
                        k.mode = *m;
                    }
                }
            }
            LinkInfo::Data(InfoData::IpVlan(d)) => {
                for x in d {
                    match x {
                        InfoIpVlan::Mode(m) => k.mode = u32::from(*m),
                        InfoIpVlan::Flags(f) => k.flags = u32::from(*f),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    k
}

/// Sends a dump request and returns every message of the answer.
fn dump(request: RouteNetlinkMessage) -> io::Result<Vec<RouteNetlinkMessage>> {
    let mut sock = Socket::new(NETLINK_ROUTE)?;
    sock.bind_auto()?;
    // A kernel that never answers must not hang the VRRP process.
    let tv = libc::timeval {
        tv_sec: 1,
        tv_usec: 0,
    };
    // SAFETY: setsockopt on our socket with a timeval of the size we pass.
    let r = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            std::ptr::addr_of!(tv).cast(),
            std::mem::size_of::<libc::timeval>() as libc::socklen_t,
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    let mut req = NetlinkMessage::from(request);
    req.header.flags = NLM_F_REQUEST | NLM_F_DUMP;
    req.header.sequence_number = 1;
    req.finalize();
    let mut buf = vec![0; req.buffer_len()];
    req.serialize(&mut buf);
    sock.send_to(&buf, &SocketAddr::new(0, 0), 0)?;
    let mut out = Vec::new();
    let mut rx = vec![0u8; 65536];
    loop {
        // SAFETY: recv into a buffer we own, of the length we pass.
        let n = unsafe { libc::recv(sock.as_raw_fd(), rx.as_mut_ptr().cast(), rx.len(), 0) };
        let n = usize::try_from(n).map_err(|_| io::Error::last_os_error())?;
        let mut at = 0;
        while at < n {
            let m = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&rx[at..n])
                .map_err(|e| io::Error::other(format!("netlink dump: {e}")))?;
            let len = m.header.length as usize;
            match m.payload {
                NetlinkPayload::Done(_) => return Ok(out),
                NetlinkPayload::Error(e) => return Err(e.to_io()),
                NetlinkPayload::InnerMessage(inner) => out.push(inner),
                _ => {}
            }
            if len == 0 {
                break;
            }
            at += (len + 3) & !3;
        }
    }
}
