//! rtnetlink: the host's interfaces and addresses, the VIPs we add and remove, and link
//! events that drive track_interface and FAULT.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use futures::channel::mpsc::UnboundedReceiver;
use futures::{StreamExt, TryStreamExt};
use keepalived_engine::config::model::{GlobalDefs, IpAddress};
use keepalived_engine::vrrp::InterfaceInfo;
use netlink_packet_core::{
    NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_CREATE, NLM_F_REPLACE, NLM_F_REQUEST,
};
use netlink_packet_route::address::{
    AddressAttribute, AddressFlag, AddressHeaderFlag, AddressMessage, AddressScope,
};
use netlink_packet_route::link::{InfoKind, LinkAttribute, LinkFlag, LinkInfo, LinkMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{AsyncSocket, SocketAddr};
use rtnetlink::Handle;

mod routing;
pub(crate) use routing::{route_is_v6, rule_is_v6};

const RTMGRP_LINK: u32 = 1;
const RTMGRP_IPV4_IFADDR: u32 = 0x10;
const RTMGRP_IPV6_IFADDR: u32 = 0x100;
const RTMGRP_IPV4_ROUTE: u32 = 0x40;
const RTMGRP_IPV6_ROUTE: u32 = 0x400;
/// RTNLGRP_IPV4_RULE (8) and RTNLGRP_IPV6_RULE (19) as legacy group bits.
const RTMGRP_IPV4_RULE: u32 = 1 << 7;
const RTMGRP_IPV6_RULE: u32 = 1 << 18;

/// One netlink socket's receive buffer as global_defs sets it: `*_rcv_bufs SIZE` and
/// `*_rcv_bufs_force` (SO_RCVBUFFORCE, past net.core.rmem_max; needs CAP_NET_ADMIN).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RcvBuf {
    pub size: u32,
    pub force: bool,
}

/// The receive buffers of a process's two rtnetlink sockets, keepalived's `nl_kernel`
/// (the connection that hears link and address changes) and `nl_cmd` (the one VIPs are
/// added and removed on). Unset, a socket keeps the kernel's default size.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RcvBufs {
    pub monitor: Option<RcvBuf>,
    pub cmd: Option<RcvBuf>,
}

/// keepalived's `netlink_set_rx_buf_size()` size when only `_force` is given.
const IF_DEFAULT_BUFSIZE: u32 = 64 * 1024;

impl RcvBufs {
    /// The VRRP process's: `vrrp_netlink_monitor_rcv_bufs` and `vrrp_netlink_cmd_rcv_bufs`.
    pub fn vrrp(g: &GlobalDefs) -> RcvBufs {
        RcvBufs::named(g, "vrrp")
    }

    /// The checker process's: `lvs_netlink_monitor_rcv_bufs` and `lvs_netlink_cmd_rcv_bufs`
    /// (its rtnetlink sockets; IPVS's generic netlink socket is not one of them).
    pub fn lvs(g: &GlobalDefs) -> RcvBufs {
        RcvBufs::named(g, "lvs")
    }

    fn named(g: &GlobalDefs, process: &str) -> RcvBufs {
        let one = |which: &str| {
            let kw = format!("{process}_netlink_{which}_rcv_bufs");
            g.netlink_buffers
                .iter()
                .find(|b| b.keyword == kw)
                .filter(|b| b.size > 0 || b.force)
                .map(|b| RcvBuf {
                    size: if b.size > 0 {
                        b.size
                    } else {
                        IF_DEFAULT_BUFSIZE
                    },
                    force: b.force,
                })
        };
        RcvBufs {
            monitor: one("monitor"),
            cmd: one("cmd"),
        }
    }
}

/// This process's netlink receive buffers, set once as it starts ([`set_rcv_bufs`]) and
/// applied to every connection it opens.
static RCV_BUFS: std::sync::Mutex<RcvBufs> = std::sync::Mutex::new(RcvBufs {
    monitor: None,
    cmd: None,
});

/// Sets the receive buffers of the connections this process opens from now on.
pub fn set_rcv_bufs(bufs: RcvBufs) {
    *RCV_BUFS.lock().unwrap_or_else(|e| e.into_inner()) = bufs;
}

fn rcv_bufs() -> RcvBufs {
    *RCV_BUFS.lock().unwrap_or_else(|e| e.into_inner())
}

/// `netlink_set_rx_buf_size()`: SO_RCVBUF, or SO_RCVBUFFORCE with force. A refusal is
/// logged and the socket keeps its size, as in keepalived.
fn set_rcvbuf(fd: std::os::fd::RawFd, buf: Option<RcvBuf>) {
    let Some(buf) = buf else {
        return;
    };
    let (opt, name) = if buf.force {
        (libc::SO_RCVBUFFORCE, "SO_RCVBUFFORCE")
    } else {
        (libc::SO_RCVBUF, "SO_RCVBUF")
    };
    let size = libc::c_int::try_from(buf.size).unwrap_or(libc::c_int::MAX);
    // SAFETY: setsockopt on an open socket with an int of the size we pass.
    let r = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            opt,
            std::ptr::addr_of!(size).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r != 0 {
        tracing::warn!(
            "cannot set {name} to {} on a netlink socket: {}",
            buf.size,
            std::io::Error::last_os_error()
        );
    }
}

/// A change on the host the engine may care about.
#[derive(Debug, Clone, PartialEq)]
pub enum HostEvent {
    /// A link's state or MAC changed (its addresses are not in the message).
    Link(InterfaceInfo),
    /// An address came (`added`) or went on an interface.
    Address {
        interface: String,
        addr: IpAddr,
        added: bool,
    },
}

/// What a connection hears: host events, and on a connection that watches routes
/// ([`Netlink::connect_watching_routes`]) the routes and rules deleted.
#[derive(Debug, Clone)]
pub enum Change {
    Host(HostEvent),
    RouteDeleted(netlink_packet_route::route::RouteMessage),
    RuleDeleted(netlink_packet_route::rule::RuleMessage),
}

#[derive(Debug, thiserror::Error)]
pub enum NetlinkError {
    #[error("netlink: {0}")]
    Io(#[from] std::io::Error),
    #[error("netlink: {0}")]
    Request(#[from] rtnetlink::Error),
    #[error("no interface named {0}")]
    NoInterface(String),
}

pub struct Netlink {
    handle: Handle,
    /// Link messages from the kernel's link multicast group.
    pub events: UnboundedReceiver<(
        netlink_packet_core::NetlinkMessage<RouteNetlinkMessage>,
        SocketAddr,
    )>,
    index: BTreeMap<String, u32>,
    sync: SyncRoute,
}

/// A blocking NETLINK_ROUTE socket for the VIPs. The kernel makes an address change while
/// sendmsg runs and queues its ack before returning, so asking and reading the answer
/// takes microseconds and no trip through the runtime's connection task: a takeover's
/// gratuitous ARP follows its address at once, as keepalived's `netlink_talk()` does.
struct SyncRoute {
    sock: netlink_sys::Socket,
    seq: std::sync::atomic::AtomicU32,
}

impl SyncRoute {
    fn open() -> std::io::Result<SyncRoute> {
        let mut sock = netlink_sys::Socket::new(netlink_sys::protocols::NETLINK_ROUTE)?;
        sock.bind_auto()?;
        // A kernel that never answers must not hang the VRRP process.
        let tv = libc::timeval {
            tv_sec: 1,
            tv_usec: 0,
        };
        // SAFETY: setsockopt on our socket with a timeval of the size we pass.
        let r = unsafe {
            libc::setsockopt(
                std::os::fd::AsRawFd::as_raw_fd(&sock),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                std::ptr::addr_of!(tv).cast(),
                std::mem::size_of::<libc::timeval>() as libc::socklen_t,
            )
        };
        if r != 0 {
            return Err(std::io::Error::last_os_error());
        }
        set_rcvbuf(std::os::fd::AsRawFd::as_raw_fd(&sock), rcv_bufs().cmd);
        Ok(SyncRoute {
            sock,
            seq: std::sync::atomic::AtomicU32::new(0),
        })
    }

    /// Sends `msg` with NLM_F_ACK and `flags`, and returns the kernel's answer to it.
    fn ask(&self, msg: RouteNetlinkMessage, flags: u16) -> Result<(), NetlinkError> {
        let seq = self
            .seq
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            .wrapping_add(1);
        let mut req = NetlinkMessage::from(msg);
        req.header.flags = NLM_F_REQUEST | NLM_F_ACK | flags;
        req.header.sequence_number = seq;
        req.finalize();
        let mut buf = vec![0; req.buffer_len()];
        req.serialize(&mut buf);
        self.sock.send_to(&buf, &SocketAddr::new(0, 0), 0)?;
        // Left uninitialised: recv writes the first `n` bytes and only those are read. A
        // takeover asks this once for each address it adds.
        let mut rx = [std::mem::MaybeUninit::<u8>::uninit(); 8192];
        loop {
            // SAFETY: recv into a buffer we own, of the length we pass.
            let n = unsafe {
                libc::recv(
                    std::os::fd::AsRawFd::as_raw_fd(&self.sock),
                    rx.as_mut_ptr().cast(),
                    rx.len(),
                    0,
                )
            };
            // recv without MSG_TRUNC returns at most the length given; the bound keeps the
            // slice below sound should that ever change.
            let n = usize::try_from(n)
                .map_err(|_| std::io::Error::last_os_error())?
                .min(rx.len());
            // SAFETY: recv wrote the first `n` bytes, and n ≤ rx.len().
            let got: &[u8] = unsafe { std::slice::from_raw_parts(rx.as_ptr().cast(), n) };
            let mut at = 0;
            while at < n {
                let m = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&got[at..n])
                    .map_err(|e| std::io::Error::other(format!("reply: {e}")))?;
                let len = m.header.length as usize;
                if m.header.sequence_number == seq {
                    if let NetlinkPayload::Error(e) = m.payload {
                        return match e.code {
                            None => Ok(()),
                            Some(_) => Err(NetlinkError::Io(e.to_io())),
                        };
                    }
                }
                if len == 0 {
                    break;
                }
                at += (len + 3) & !3;
            }
        }
    }
}

/// The interface's own address an address message is about: IFA_LOCAL (IFA_ADDRESS is
/// the peer's on a point-to-point link), else IFA_ADDRESS, all an IPv6 address has.
pub(crate) fn own_address(m: &AddressMessage) -> Option<IpAddr> {
    let local = m.attributes.iter().find_map(|a| match a {
        AddressAttribute::Local(ip) => Some(*ip),
        _ => None,
    });
    let address = m.attributes.iter().find_map(|a| match a {
        AddressAttribute::Address(ip) => Some(*ip),
        _ => None,
    });
    local.or(address)
}

fn link_info(m: &LinkMessage) -> Option<(u32, InterfaceInfo)> {
    let mut name = None;
    let mut mac = [0u8; 6];
    for a in &m.attributes {
        match a {
            LinkAttribute::IfName(n) => name = Some(n.clone()),
            LinkAttribute::Address(b) if b.len() == 6 => mac.copy_from_slice(b),
            _ => {}
        }
    }
    let up = m.header.flags.contains(&LinkFlag::Up) && m.header.flags.contains(&LinkFlag::Running);
    Some((
        m.header.index,
        InterfaceInfo {
            name: name?,
            up,
            mac,
            ipv4: None,
            ipv6_ll: None,
            ipv6_forwarding: false,
        },
    ))
}

impl Netlink {
    /// A connection that also listens to link changes. Must run inside a tokio runtime.
    pub fn connect() -> Result<Netlink, NetlinkError> {
        Netlink::connect_to(RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR)
    }

    /// A connection that also hears route and rule changes (keepalived's
    /// `set_extra_netlink_monitoring()`), for [`Netlink::next_change`].
    pub fn connect_watching_routes() -> Result<Netlink, NetlinkError> {
        Netlink::connect_to(
            RTMGRP_LINK
                | RTMGRP_IPV4_IFADDR
                | RTMGRP_IPV6_IFADDR
                | RTMGRP_IPV4_ROUTE
                | RTMGRP_IPV6_ROUTE
                | RTMGRP_IPV4_RULE
                | RTMGRP_IPV6_RULE,
        )
    }

    fn connect_to(groups: u32) -> Result<Netlink, NetlinkError> {
        let (mut conn, handle, events) = rtnetlink::new_connection()?;
        conn.socket_mut()
            .socket_mut()
            .bind(&SocketAddr::new(0, groups))?;
        set_rcvbuf(
            std::os::fd::AsRawFd::as_raw_fd(conn.socket_mut().socket_mut()),
            rcv_bufs().monitor,
        );
        tokio::spawn(conn);
        Ok(Netlink {
            handle,
            events,
            index: BTreeMap::new(),
            sync: SyncRoute::open()?,
        })
    }

    /// Every interface with its state, MAC, primary IPv4 and link-local IPv6 address.
    pub async fn interfaces(&mut self) -> Result<Vec<InterfaceInfo>, NetlinkError> {
        let mut by_index: BTreeMap<u32, InterfaceInfo> = BTreeMap::new();
        let mut links = self.handle.link().get().execute();
        while let Some(m) = links.try_next().await? {
            if let Some((i, info)) = link_info(&m) {
                by_index.insert(i, info);
            }
        }
        let mut addrs = self.handle.address().get().execute();
        while let Some(m) = addrs.try_next().await? {
            let Some(info) = by_index.get_mut(&m.header.index) else {
                continue;
            };
            // The first address listed is the primary (secondaries come after).
            for a in &m.attributes {
                match a {
                    AddressAttribute::Local(IpAddr::V4(v4)) if info.ipv4.is_none() => {
                        info.ipv4 = Some(*v4)
                    }
                    AddressAttribute::Address(IpAddr::V6(v6))
                        if info.ipv6_ll.is_none() && (v6.segments()[0] & 0xffc0) == 0xfe80 =>
                    {
                        info.ipv6_ll = Some(*v6)
                    }
                    _ => {}
                }
            }
        }
        for info in by_index.values_mut() {
            let path = format!("/proc/sys/net/ipv6/conf/{}/forwarding", info.name);
            info.ipv6_forwarding = std::fs::read_to_string(path).is_ok_and(|s| s.trim() == "1");
        }
        self.index = by_index
            .iter()
            .map(|(i, info)| (info.name.clone(), *i))
            .collect();
        Ok(by_index.into_values().collect())
    }

    pub fn ifindex(&self, name: &str) -> Option<u32> {
        self.index.get(name).copied()
    }

    /// Every interface known, by name, with its index.
    pub fn indexes(&self) -> Vec<(String, u32)> {
        self.index.iter().map(|(n, i)| (n.clone(), *i)).collect()
    }

    fn message(&self, a: &IpAddress, interface: &str) -> Result<AddressMessage, NetlinkError> {
        let index = self
            .ifindex(interface)
            .ok_or_else(|| NetlinkError::NoInterface(interface.to_string()))?;
        let mut m = AddressMessage::default();
        m.header.index = index;
        m.header.prefix_len = a.prefix_len;
        m.header.family = match a.address {
            IpAddr::V4(_) => AddressFamily::Inet,
            IpAddr::V6(_) => AddressFamily::Inet6,
        };
        m.header.scope = match a.scope() {
            Some("host") => AddressScope::Host,
            Some("link") => AddressScope::Link,
            Some("site") => AddressScope::Site,
            Some("nowhere") => AddressScope::Nowhere,
            _ => AddressScope::Universe,
        };
        m.attributes.push(AddressAttribute::Local(a.address));
        // netlink_ipaddress(): IFA_ADDRESS is the peer of a point-to-point address. It is
        // sent on deletion too, where keepalived sends the local address and so leaves a
        // peer address behind (the kernel matches both).
        let remote = a.peer().map_or(a.address, |p| p.address);
        m.attributes.push(AddressAttribute::Address(remote));
        if let (IpAddr::V4(v4), Some(b)) = (a.address, a.broadcast()) {
            use keepalived_engine::config::model::Broadcast;
            let host = u32::MAX.checked_shr(u32::from(a.prefix_len)).unwrap_or(0);
            let brd = match b {
                Broadcast::Address(IpAddr::V4(x)) => Some(*x),
                Broadcast::Address(IpAddr::V6(_)) => None,
                Broadcast::Plus => Some(Ipv4Addr::from(u32::from(v4) | host)),
                Broadcast::Minus => Some(Ipv4Addr::from(u32::from(v4) & !host)),
            };
            if let Some(brd) = brd {
                m.attributes.push(AddressAttribute::Broadcast(brd));
            }
        }
        // netlink_ipaddress(): an IPv6 address skips DAD unless `-nodad` was given. VRRP
        // has its own duplicate detection, and a split brain must not leave the address
        // "dadfailed" for good.
        let mut flags = Vec::new();
        if a.address.is_ipv6() && !a.nodad {
            m.header.flags.push(AddressHeaderFlag::Nodad);
            flags.push(AddressFlag::Nodad);
        }
        // parse_ipaddress(): the flags iproute2's `ip addr add` takes, in IFA_FLAGS.
        for (set, flag) in [
            (a.home, AddressFlag::Homeaddress),
            (a.mngtmpaddr, AddressFlag::Managetempaddr),
            (a.noprefixroute, AddressFlag::Noprefixroute),
            (a.autojoin, AddressFlag::Mcautojoin),
        ] {
            if set {
                flags.push(flag);
            }
        }
        if !flags.is_empty() {
            m.attributes.push(AddressAttribute::Flags(flags));
        }
        if let Some(l) = a.label() {
            m.attributes.push(AddressAttribute::Label(l.to_string()));
        }
        if let Some(preferred) = ipv6_preferred_lft(a) {
            let mut info = netlink_packet_route::address::CacheInfo::default();
            info.ifa_preferred = preferred;
            info.ifa_valid = INFINITY_LIFE_TIME;
            m.attributes.push(AddressAttribute::CacheInfo(info));
        }
        Ok(m)
    }

    /// `ip addr add`: an address already present is not an error (we may have been
    /// restarted while holding it).
    pub async fn add_address(&self, a: &IpAddress, interface: &str) -> Result<(), NetlinkError> {
        let m = self.message(a, interface)?;
        self.sync.ask(
            RouteNetlinkMessage::NewAddress(m),
            NLM_F_CREATE | NLM_F_REPLACE,
        )
    }

    /// `ip addr del`: exactly the address we added.
    pub async fn del_address(&self, a: &IpAddress, interface: &str) -> Result<(), NetlinkError> {
        let m = self.message(a, interface)?;
        self.sync.ask(RouteNetlinkMessage::DelAddress(m), 0)
    }

    /// Every address on this host now.
    pub async fn addresses(&self) -> Result<Vec<IpAddr>, NetlinkError> {
        let mut out = Vec::new();
        let mut addrs = self.handle.address().get().execute();
        while let Some(m) = addrs.try_next().await? {
            out.extend(own_address(&m));
        }
        Ok(out)
    }

    /// Whether `interface` holds `addr` now (any prefix length).
    pub async fn has_address(&self, addr: IpAddr, interface: &str) -> Result<bool, NetlinkError> {
        let Some(index) = self.ifindex(interface) else {
            return Ok(false);
        };
        let mut addrs = self
            .handle
            .address()
            .get()
            .set_link_index_filter(index)
            .set_address_filter(addr)
            .execute();
        while let Some(m) = addrs.try_next().await? {
            if m.header.index == index
                && m.attributes.iter().any(|a| {
                    matches!(a, AddressAttribute::Local(x) | AddressAttribute::Address(x) if *x == addr)
                })
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// An existing link by name: its index and whether it is a macvlan.
    pub async fn link_kind(&self, name: &str) -> Result<Option<(u32, bool)>, NetlinkError> {
        let mut links = self
            .handle
            .link()
            .get()
            .match_name(name.to_string())
            .execute();
        match links.try_next().await {
            Ok(Some(m)) => {
                let macvlan = m.attributes.iter().any(|a| {
                    matches!(a, LinkAttribute::LinkInfo(infos)
                        if infos.iter().any(|i| matches!(i, LinkInfo::Kind(InfoKind::MacVlan))))
                });
                Ok(Some((m.header.index, macvlan)))
            }
            Ok(None) => Ok(None),
            // ENODEV: no such link.
            Err(rtnetlink::Error::NetlinkError(e)) if e.raw_code() == -libc::ENODEV => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// `ip link add link BASE name NAME address MAC type macvlan mode private`, left down
    /// so its sysctls are in place before it carries traffic (`netlink_link_add_vmac()`).
    pub async fn add_macvlan(
        &self,
        name: &str,
        base: u32,
        mac: [u8; 6],
    ) -> Result<(), NetlinkError> {
        const MACVLAN_MODE_PRIVATE: u32 = 1;
        let mut req = self
            .handle
            .link()
            .add()
            .macvlan(name.to_string(), base, MACVLAN_MODE_PRIVATE)
            .address(mac.to_vec());
        let header = &mut req.message_mut().header;
        header.flags.retain(|f| *f != LinkFlag::Up);
        header.change_mask.retain(|f| *f != LinkFlag::Up);
        req.execute().await?;
        Ok(())
    }

    pub async fn set_up(&self, index: u32) -> Result<(), NetlinkError> {
        self.handle.link().set(index).up().execute().await?;
        Ok(())
    }

    pub async fn del_link(&self, index: u32) -> Result<(), NetlinkError> {
        self.handle.link().del(index).execute().await?;
        Ok(())
    }

    /// Drops the link events received so far: after changes of our own, a fresh dump
    /// says how things are, and the events on the way there would replay the steps.
    pub fn drain_events(&mut self) {
        while self.events.try_recv().is_ok() {}
    }

    /// The next link or address change.
    pub async fn next_host_event(&mut self) -> Option<HostEvent> {
        loop {
            if let Change::Host(ev) = self.next_change().await? {
                return Some(ev);
            }
        }
    }

    /// The next link or address change, or route or rule deletion.
    pub async fn next_change(&mut self) -> Option<Change> {
        loop {
            let (msg, _) = self.events.next().await?;
            let NetlinkPayload::InnerMessage(m) = msg.payload else {
                continue;
            };
            let (link, deleted, addr, added) = match m {
                RouteNetlinkMessage::NewLink(l) => (Some(l), false, None, false),
                RouteNetlinkMessage::DelLink(l) => (Some(l), true, None, false),
                RouteNetlinkMessage::NewAddress(a) => (None, false, Some(a), true),
                RouteNetlinkMessage::DelAddress(a) => (None, false, Some(a), false),
                RouteNetlinkMessage::DelRoute(r) => return Some(Change::RouteDeleted(r)),
                RouteNetlinkMessage::DelRule(r) => return Some(Change::RuleDeleted(r)),
                _ => continue,
            };
            if let Some((index, info)) = link.as_ref().and_then(link_info) {
                if deleted {
                    self.index.remove(&info.name);
                } else {
                    self.index.insert(info.name.clone(), index);
                }
                return Some(Change::Host(HostEvent::Link(info)));
            }
            let Some(a) = addr else { continue };
            let Some(interface) = self
                .index
                .iter()
                .find(|(_, i)| **i == a.header.index)
                .map(|(n, _)| n.clone())
            else {
                continue;
            };
            if let Some(addr) = own_address(&a) {
                return Some(Change::Host(HostEvent::Address {
                    interface,
                    addr,
                    added,
                }));
            }
        }
    }
}

/// "forever" in IFA_CACHEINFO.
const INFINITY_LIFE_TIME: u32 = u32::MAX;

/// The preferred lifetime an IPv6 address is added with, when not forever
/// (`netlink_ipaddress()`): `preferred_lft` as configured, else 0 for a /128 and forever
/// otherwise (`alloc_ipaddress()`), 0 marking the address deprecated so it is not picked
/// as a source address (RFC 3484).
fn ipv6_preferred_lft(a: &IpAddress) -> Option<u32> {
    use keepalived_engine::config::model::Lifetime;
    if !a.address.is_ipv6() {
        return None;
    }
    match a.preferred_lft() {
        Some(Lifetime::Forever) => None,
        Some(Lifetime::Seconds(s)) => Some(*s),
        None => (a.prefix_len == 128).then_some(0),
    }
}
