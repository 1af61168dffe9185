//! The VRRP process's dumps in keepalived's formats: `keepalived.json` (SIGRTMIN+2,
//! `vrrp_json.c`), `keepalived.data` (SIGUSR1, `vrrp_print_data()`: `dump_global_data()`
//! then `dump_data_vrrp()`) and the parent's `keepalived_parent.data` (the global section
//! alone). The Prometheus exporters parse these files, so the lines and keys are
//! keepalived's, in its order.
//!
//! What the engine cannot know is passed in a [`DumpHost`]: the wall clock, to print
//! `last_transition` and the read timeout as keepalived's `timeval`s.
//!
//! Secrets are masked, unlike keepalived 2.2.7, which writes `auth_pass` in clear in
//! both the JSON (`auth_data`) and the state dump (`Password = …`): the key stays, the
//! value is [`MASK`], as keepalived's master branch does in the JSON.

use std::fmt::Write as _;
use std::net::IpAddr;

use crate::config::model::{
    Command, Encap, Given, GlobalDefs, IpAddress, Lifetime, Route, Rule, TrackFile, TrackProcess,
    TrackRef, Trackers, VrrpInstance, RTAX_ADVMSS, RTAX_CC_ALGO, RTAX_CWND, RTAX_MTU,
    RTAX_REORDERING, RTAX_RTO_MIN, RTAX_RTT, RTAX_RTTVAR, RTAX_SSTHRESH,
};
use crate::time::Instant;
use crate::wire::AuthType;

use super::instance::Instance;
use super::io::State;
use super::track::ScriptState;
use super::Engine;

/// What stands for a secret in every dump.
pub const MASK: &str = "********";

/// What the dumps print that the engine cannot know: the wall clock at the engine's
/// `now`, the script users' ids, and the host's interfaces and VRRP sockets as
/// keepalived's `dump_if()` and `dump_sock_pool()` print them. A platform that has no
/// such facts (the simulator) leaves them empty, and the sections that need them print
/// what the configuration alone gives.
#[derive(Debug, Clone, Default)]
pub struct DumpHost {
    pub now: Instant,
    /// Microseconds since the Unix epoch at `now`.
    pub wall_us: u64,
    /// The local time zone's offset from UTC, in seconds (keepalived's `ctime_r()`).
    pub utc_offset_s: i64,
    /// The uid and gid scripts run as (`script_user`, else root), which the host resolves.
    pub script_ids: (u32, u32),
    /// How the host resolves a command's own `user [group]` to its uid and gid
    /// (getpwnam()); `None` leaves such a command with [`DumpHost::script_ids`].
    pub user_ids: Option<UserIds>,
    /// The host's interfaces in index order (keepalived's `if_queue`).
    pub interfaces: Vec<HostInterface>,
    /// The VRRP sockets the configuration wants, one per interface, protocol and
    /// family, whether open or waiting for their interface.
    pub sockets: Vec<HostSocket>,
    /// The `track_file`s being watched, by name, with the path `realpath()` gave; a
    /// file that could not be watched is not tracked at all (`init_track_files()`).
    /// `None` where the platform watches no files: each tracked file as configured.
    pub track_files: Option<Vec<(String, String)>>,
    /// The routes on the host marked as keepalived's (`RTPROT_KEEPALIVED`).
    pub routes: Vec<HostRoute>,
}

/// A route on the host, by what keepalived's `route_is_ours()` tells routes apart with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostRoute {
    pub ipv6: bool,
    /// The destination, `None` for a default route.
    pub dst: Option<IpAddr>,
    pub len: u8,
    pub table: u32,
    pub tos: u8,
}

/// A `user [group]` to its uid and gid, `None` for a user the host does not have.
pub type UserIds = fn(&str, Option<&str>) -> Option<(u32, u32)>;

/// One interface as the host has it, with what the VRRP process did to it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostInterface {
    pub name: String,
    pub index: u32,
    /// `IFF_*`.
    pub flags: u32,
    pub mtu: u32,
    /// `ARPHRD_*`.
    pub hw_type: u16,
    /// Empty for none (or all zeroes, which keepalived takes for none).
    pub mac: Vec<u8>,
    pub mac_broadcast: Vec<u8>,
    /// Every address on it in the kernel's order: IPv4 primaries first.
    pub addresses: Vec<IpAddr>,
    /// A macvlan or ipvlan, with its mode and base interface.
    pub link: Option<HostLink>,
    /// A VMAC this process created.
    pub ours: bool,
    /// Seen with IFF_UP and IFF_RUNNING since it appeared.
    pub seen_up: bool,
    /// A link change held back by `interface_up_down_delays`.
    pub delayed: bool,
    pub up_debounce_us: u64,
    pub down_debounce_us: u64,
    /// How its link is polled, `None` for netlink events.
    pub polling: Option<LinkPolling>,
    /// `net.ipv4.conf.<name>.arp_ignore`, `arp_filter`, `promote_secondaries` now.
    pub arp_ignore: i64,
    pub arp_filter: i64,
    pub promote_secondaries: i64,
    /// `net.ipv4.conf.<name>.rp_filter` now.
    pub rp_filter: i64,
    /// How many VMACs made it set arp_ignore and arp_filter (`reset_arp_config`).
    pub arp_resets: u32,
    /// Whether this process turned `promote_secondaries` on.
    pub promote_secondaries_set: bool,
}

/// A link of a kind (`IFLA_LINKINFO`): a veth, a macvlan, an ipvlan…
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostLink {
    /// `IFLA_INFO_KIND`.
    pub kind: String,
    /// `IFLA_MACVLAN_MODE`, or `IFLA_IPVLAN_MODE` for an ipvlan.
    pub mode: u32,
    /// `IFLA_IPVLAN_FLAGS`.
    pub flags: u32,
    /// The base interface's index (`IFLA_LINK`).
    pub base: Option<u32>,
    /// The namespace the base is in, when not ours (`IFLA_LINK_NETNSID`).
    pub netns_id: Option<i32>,
}

impl HostLink {
    /// A macvlan or macvtap (keepalived's `IF_TYPE_MACVLAN`).
    fn macvlan(&self) -> bool {
        matches!(self.kind.as_str(), "macvlan" | "macvtap")
    }

    /// An ipvlan or ipvtap (`IF_TYPE_IPVLAN`).
    fn ipvlan(&self) -> bool {
        matches!(self.kind.as_str(), "ipvlan" | "ipvtap")
    }
}

/// How a polled interface's link is read (`linkbeat_use_polling`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPolling {
    Mii,
    Ethtool,
    Ioctl,
}

/// One VRRP socket: keepalived has an input and an output socket, keepalived-rs one
/// for both.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostSocket {
    pub interface: String,
    /// `IPPROTO_VRRP` or `IPPROTO_AH`.
    pub proto: u8,
    pub ipv6: bool,
    /// The descriptor, `None` while the interface is missing.
    pub fd: Option<i32>,
    /// SO_RCVBUF as set, 0 for the kernel's.
    pub rx_buf_size: i32,
}

impl DumpHost {
    /// `t` on the wall clock, in microseconds since the epoch.
    fn wall(&self, t: Instant) -> u64 {
        let (now, t) = (self.now.0, t.0);
        if t <= now {
            self.wall_us.saturating_sub(now - t)
        } else {
            self.wall_us + (t - now)
        }
    }

    /// keepalived's `%ld.%6.6ld (ctime_us_r())`: `1796494962.864674 (Sat Dec  5 18:22:42.864674 2026)`.
    fn timeval(&self, t: Instant) -> String {
        self.stamp(self.wall(t), Stamp::Micros)
    }

    /// A wall-clock time (microseconds since the epoch) as `%ld.%6.6ld (…)`, the local
    /// time in the brackets cut as `style` says.
    fn stamp(&self, wall_us: u64, style: Stamp) -> String {
        let (s, u) = (wall_us / 1_000_000, wall_us % 1_000_000);
        let c = ctime(s as i64 + self.utc_offset_s);
        let (clock, year) = c.split_at(19);
        let local = match style {
            Stamp::Micros => format!("{clock}.{u:06}{year}"),
            Stamp::NoYear => format!("{clock}.{u:06}"),
            Stamp::Trailing => format!("{c}.{u:06}"),
        };
        format!("{s}.{u:06} ({local})")
    }

    /// The interface named `name`, as the host has it.
    fn interface(&self, name: &str) -> Option<&HostInterface> {
        self.interfaces.iter().find(|i| i.name == name)
    }

    /// The base interface of `name` when it is a macvlan or ipvlan on one of ours
    /// (keepalived's `base_ifp`).
    fn base_of(&self, name: &str) -> Option<&str> {
        let link = self.interface(name)?.link.as_ref()?;
        if !link.macvlan() && !link.ipvlan() {
            return None;
        }
        let base = link.base?;
        self.interfaces
            .iter()
            .find(|i| i.index == base)
            .map(|i| i.name.as_str())
    }

    /// The uid:gid a command runs as: its own `user [group]`, else the default.
    fn ids(&self, c: &Command) -> (u32, u32) {
        match (&c.user, self.user_ids) {
            (Some(u), Some(of)) => of(u, c.group.as_deref()).unwrap_or(self.script_ids),
            _ => self.script_ids,
        }
    }
}

/// How the local time of a `%ld.%6.6ld (…)` stamp is cut.
#[derive(Debug, Clone, Copy)]
enum Stamp {
    /// `ctime_us_r()`: `Sat Dec  5 18:22:42.864674 2026`.
    Micros,
    /// `%.19s.%6.6ld`: `Sat Dec  5 18:22:42.864674`.
    NoYear,
    /// `%.24s.%6.6ld`: `Sat Dec  5 18:22:42 2026.864674`.
    Trailing,
}

/// `ctime()`'s `Sat Dec  5 18:22:42 2026`, without the newline.
pub(crate) fn ctime(secs: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{} {} {d:2} {:02}:{:02}:{:02} {y}",
        DAYS[days.rem_euclid(7) as usize],
        MONTHS[(m - 1) as usize],
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// keepalived's state numbers (`VRRP_STATE_*`, `vrrp.h`).
pub(crate) fn state_number(s: State) -> u8 {
    match s {
        State::Init => 0,
        State::Backup => 1,
        State::Master => 2,
        State::Fault => 3,
        State::Stop => 98,
    }
}

/// `get_state_str()`.
fn state_word(s: State) -> &'static str {
    match s {
        State::Init => "INIT",
        State::Backup => "BACKUP",
        State::Master => "MASTER",
        State::Fault => "FAULT",
        State::Stop => "STOP",
    }
}

/// `cmd_str()`: each argument in single quotes, separated by spaces.
pub(crate) fn cmd_str(c: &Command) -> String {
    c.argv
        .iter()
        .map(|a| format!("'{a}'"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `ipaddresstos()`: the address, with its prefix length unless it is a host's.
fn addr_prefix(a: IpAddr, len: u8) -> String {
    let host = if a.is_ipv4() { 32 } else { 128 };
    if len == host {
        a.to_string()
    } else {
        format!("{a}/{len}")
    }
}

/// `format_ipaddress()`: `10.0.0.1/24 dev eth0 scope global set`. `dev` is the interface
/// the address goes on unless it names its own; `set` whether it is on it now. An
/// interface with a base (a VMAC) is written `vrrp.51@eth0`.
fn format_ipaddress(
    a: &IpAddress,
    dev: &str,
    host: &DumpHost,
    set: bool,
    use_vmac: bool,
) -> String {
    let mut s = addr_prefix(a.address, a.prefix_len);
    if let (IpAddr::V4(_), Some(b)) = (a.address, a.broadcast()) {
        if let Some(b) = broadcast(a, b) {
            let _ = write!(s, " brd {b}");
        }
    }
    let dev = a.dev.as_deref().unwrap_or(dev);
    let _ = write!(s, " dev {dev}");
    if let Some(base) = host.base_of(dev) {
        let _ = write!(s, "@{base}");
    }
    if use_vmac {
        s.push_str(" use_vmac");
    }
    let _ = write!(s, " scope {}", a.scope().unwrap_or("global"));
    if let Some(l) = a.label() {
        let _ = write!(s, " label {l}");
    }
    if let Some(p) = a.peer() {
        let _ = write!(s, " peer {}/{}", p.address, a.prefix_len);
    }
    if a.home {
        s.push_str(" home");
    }
    if a.nodad {
        s.push_str(" -nodad");
    }
    if a.mngtmpaddr {
        s.push_str(" mngtmpaddr");
    }
    if a.noprefixroute {
        s.push_str(" noprefixroute");
    }
    if a.autojoin {
        s.push_str(" autojoin");
    }
    if a.no_track {
        s.push_str(" no_track");
    }
    if let Some(g) = a.track_group() {
        let _ = write!(s, " track_group {g}");
    }
    if a.address.is_ipv6() {
        match a.preferred_lft() {
            Some(Lifetime::Seconds(0)) => s.push_str(" deprecated"),
            Some(Lifetime::Seconds(n)) => {
                let _ = write!(s, " preferred_lft {n}");
            }
            Some(Lifetime::Forever) | None => s.push_str(" preferred_lft forever"),
        }
    }
    if set {
        s.push_str(" set");
    }
    s
}

/// A VIP or eVIP of instance `c` as `format_ipaddress()` writes it. `use_vmac` is the
/// address's own keyword: one `use_vmac_addr` put on a VMAC (an address of the other
/// family, or on another interface) does not have it.
fn vip_text(c: &VrrpInstance, a: &IpAddress, dev: &str, host: &DumpHost, set: bool) -> String {
    let placed = c.use_vmac_addr && {
        let on = a.dev.as_deref().unwrap_or(dev);
        let base = host.base_of(on).unwrap_or(on);
        a.address.is_ipv6() != c.is_ipv6() || Some(base) != c.interface.as_deref()
    };
    format_ipaddress(a, dev, host, set, a.use_vmac && !placed)
}

/// The broadcast address `brd` gives, as keepalived stores it.
fn broadcast(a: &IpAddress, b: &crate::config::model::Broadcast) -> Option<IpAddr> {
    use crate::config::model::Broadcast;
    match (b, a.address) {
        (Broadcast::Address(x), _) => Some(*x),
        (Broadcast::Plus, IpAddr::V4(v4)) => {
            let host = u32::MAX.checked_shr(u32::from(a.prefix_len)).unwrap_or(0);
            Some(IpAddr::V4((u32::from(v4) | host).into()))
        }
        (Broadcast::Minus, IpAddr::V4(v4)) => {
            let mask = u32::MAX
                .checked_shl(32 - u32::from(a.prefix_len))
                .unwrap_or(0);
            Some(IpAddr::V4((u32::from(v4) & mask).into()))
        }
        _ => None,
    }
}

/// `get_rttables_rtntype()`: a route type's (or a rule action's, which share their
/// numbers) name.
fn rtn_type(t: u8) -> String {
    const NAMES: [(u8, &str); 11] = [
        (1, "unicast"),
        (2, "local"),
        (3, "broadcast"),
        (4, "anycast"),
        (5, "multicast"),
        (6, "blackhole"),
        (7, "unreachable"),
        (8, "prohibit"),
        (9, "throw"),
        (10, "nat"),
        (11, "xresolve"),
    ];
    NAMES
        .iter()
        .find(|(n, _)| *n == t)
        .map_or_else(|| t.to_string(), |(_, name)| name.to_string())
}

/// Whether a route is IPv6: `inet6`, or an IPv6 destination or gateway.
fn route_v6(r: &Route) -> bool {
    r.family_v6 || r.to.is_some_and(|p| p.address.is_ipv6()) || r.via.is_some_and(|v| v.is_ipv6())
}

/// `print_encap()`: a lightweight tunnel encapsulation.
fn format_encap(e: &Encap) -> String {
    let mut s = String::new();
    match e.kind {
        1 => {
            s.push_str(" encap mpls");
            // Each label stack entry as the kernel takes it: the label above the
            // traffic class, bottom-of-stack set on the last (`mpls_pton()`).
            for (n, label) in e.labels.iter().enumerate() {
                let bottom = if n + 1 == e.labels.len() { 0x100 } else { 0 };
                let sep = if n == 0 { ' ' } else { '/' };
                let _ = write!(s, "{sep}{:x}", (label << 12) | bottom);
            }
        }
        3 => {
            let _ = write!(s, " encap ila {}", e.locator);
        }
        2 | 4 => {
            let v6 = e.kind == 4;
            s.push_str(if v6 { " encap ip6" } else { " encap ip" });
            if let Some(id) = e.id {
                let _ = write!(s, " id {id}");
            }
            if let Some(d) = e.dst {
                let _ = write!(s, " dst {d}");
            }
            if let Some(a) = e.src {
                let _ = write!(s, " src {a}");
            }
            if let Some(t) = e.tos {
                let _ = write!(s, " {} {t}", if v6 { "tc" } else { "tos" });
            }
            if let Some(t) = e.ttl {
                let _ = write!(s, " {} {t}", if v6 { "hoplimit" } else { "ttl" });
            }
            if let Some(f) = e.flags {
                let _ = write!(s, " flags 0x{f:x}");
            }
        }
        k => {
            let _ = write!(s, "unknown encap type {k}");
        }
    }
    s
}

/// The `realms [FROM/]TO` of a route or next hop; `wide` is whether the route's own
/// realms have a FROM part, which keepalived looks at for its next hops too.
fn format_realms(realms: u32, wide: bool) -> String {
    if wide {
        format!(" realms {}/{}", realms >> 16, realms & 0xffff)
    } else {
        format!(" realm {}", realms & 0xffff)
    }
}

/// Whether route `r` is on the host (keepalived's `set`): one of its routes with the
/// same family, table, destination and tos.
fn route_set(r: &Route, host: &DumpHost) -> bool {
    let (dst, len) = r.to.map_or((None, 0), |p| (Some(p.address), p.len));
    host.routes.iter().any(|h| {
        h.ipv6 == route_v6(r)
            && h.table == r.table.unwrap_or(254)
            && h.len == len
            && (len == 0 || h.dst == dst)
            && h.tos == r.tos.unwrap_or(0)
    })
}

/// `format_iproute()`: a static or virtual route as keepalived writes it.
fn format_route(r: &Route) -> String {
    use crate::config::model::RouteMode;
    let v6 = route_v6(r);
    let m = &r.metrics;
    let lock = |bit: u32| m.lock & (1 << bit) != 0;
    let mut s = String::from(match r.mode {
        RouteMode::Add => "add ",
        RouteMode::Append => "append ",
        RouteMode::Prepend => "prepend ",
    });
    if let Some(t) = r.route_type {
        let _ = write!(s, "{} ", rtn_type(t));
    }
    // `default` is an all-zero destination of length 0 (`parse_route()`).
    match r.to {
        Some(p) => s.push_str(&addr_prefix(p.address, p.len)),
        None if v6 => s.push_str("::/0"),
        None => s.push_str("0.0.0.0/0"),
    }
    if let Some(f) = r.from {
        let _ = write!(s, " from {}", addr_prefix(f.address, f.len));
    }
    if let Some(a) = r.src {
        let _ = write!(s, " src {a}");
    }
    if let Some(t) = r.tos {
        let _ = write!(s, " tos {t}");
    }
    if let Some(e) = &r.encap {
        s.push_str(&format_encap(e));
    }
    if let Some(v) = r.via {
        let _ = write!(s, " via {} {v}", if v.is_ipv6() { "inet6" } else { "inet" });
    }
    if let Some(d) = &r.dev {
        let _ = write!(s, " dev {d}");
    }
    if let Some(t) = r.table {
        let _ = write!(s, " table {t}");
    }
    if let Some(p) = r.protocol {
        let _ = write!(s, " proto {p}");
    }
    if let Some(sc) = r.scope {
        let _ = write!(s, " scope {sc}");
    }
    if let Some(n) = r.metric {
        let _ = write!(s, " metric {n}");
    }
    if !v6 && r.onlink {
        s.push_str(" onlink");
    }
    let wide = r.realms.is_some_and(|x| x & 0xffff_0000 != 0);
    if let Some(x) = r.realms.filter(|x| *x != 0) {
        s.push_str(&format_realms(x, wide));
    }
    if let Some(e) = r.expires {
        let _ = write!(s, " expires {e}sec");
    }
    if let Some(c) = &m.congctl {
        // keepalived writes the lock after the name, without a space.
        let _ = write!(
            s,
            " congctl {c}{}",
            if lock(RTAX_CC_ALGO) { "lock " } else { "" }
        );
    }
    // rtt and rttvar in the kernel's 1/8 and 1/4 ms, rto_min in ms.
    for (name, bit, value, per_ms) in [
        ("rtt", RTAX_RTT, m.rtt, 8.0),
        ("rttvar", RTAX_RTTVAR, m.rttvar, 4.0),
        ("rto_min", RTAX_RTO_MIN, m.rto_min, 1.0),
    ] {
        let Some(v) = value else { continue };
        let _ = write!(s, " {name}{} ", if lock(bit) { " lock" } else { "" });
        let ms = f64::from(v) / per_ms;
        if ms >= 1000.0 {
            let _ = write!(s, "{}s", float_g(ms / 1000.0));
        } else if name == "rto_min" {
            let _ = write!(s, "{v}ms");
        } else {
            let _ = write!(s, "{}ms", float_g(ms));
        }
    }
    if m.features & 1 != 0 {
        s.push_str(" features ecn");
    }
    let locked = |bit: u32| if lock(bit) { "lock " } else { "" };
    if let Some(v) = m.mtu {
        let _ = write!(s, " mtu {}{v}", locked(RTAX_MTU));
    }
    if let Some(v) = m.window {
        let _ = write!(s, " window {v}");
    }
    for (name, bit, value) in [
        ("ssthresh", RTAX_SSTHRESH, m.ssthresh),
        ("cwnd", RTAX_CWND, m.cwnd),
        ("advmss", RTAX_ADVMSS, m.advmss),
        ("reordering", RTAX_REORDERING, m.reordering),
    ] {
        if let Some(v) = value {
            let _ = write!(s, " {name} {}{v}", locked(bit));
        }
    }
    for (name, value) in [
        ("hoplimit", m.hoplimit),
        ("initcwnd", m.initcwnd),
        ("initrwnd", m.initrwnd),
        ("quickack", m.quickack),
    ] {
        if let Some(v) = value {
            let _ = write!(s, " {name} {v}");
        }
    }
    if let Some(p) = r.pref {
        let name = match p {
            3 => "low",
            0 => "medium",
            1 => "high",
            _ => "unknown",
        };
        let _ = write!(s, " pref {name}");
    }
    if let Some(v) = m.fastopen_no_cookie {
        let _ = write!(s, " fastopen_no_cookie {v}");
    }
    if let Some(t) = r.ttl_propagate {
        let _ = write!(
            s,
            " ttl-propagate {}",
            if t != 0 { "enabled" } else { "disabled" }
        );
    }
    for nh in &r.nexthops {
        s.push_str(" nexthop");
        if let Some(v) = nh.via {
            let _ = write!(s, " via inet{} {v}", if v.is_ipv6() { "6" } else { "" });
        }
        if let Some(d) = &nh.dev {
            let _ = write!(s, " dev {d}");
        }
        if let Some(w) = nh.weight {
            let _ = write!(s, " weight {w}");
        }
        if nh.onlink {
            s.push_str(" onlink");
        }
        if let Some(x) = nh.realms.filter(|x| *x != 0) {
            s.push_str(&format_realms(x, wide));
        }
        if let Some(e) = &nh.encap {
            s.push_str(&format_encap(e));
        }
    }
    if r.no_track {
        s.push_str(" no_track");
    }
    if let Some(g) = &r.track_group {
        let _ = write!(s, " track_group {g}");
    }
    s
}

/// `format_iprule()`: a static or virtual rule as keepalived writes it.
fn format_rule(r: &Rule) -> String {
    let v6 = r.family_v6.unwrap_or(false)
        || r.from.is_some_and(|p| p.address.is_ipv6())
        || r.to.is_some_and(|p| p.address.is_ipv6());
    let mut s = String::new();
    if r.from.is_none() && r.to.is_none() && v6 {
        s.push_str("inet6 ");
    }
    if r.invert {
        s.push_str("not ");
    }
    match r.from {
        Some(p) => {
            let _ = write!(s, "from {}", addr_prefix(p.address, p.len));
        }
        None => s.push_str("from all"),
    }
    if let Some(p) = r.to {
        let _ = write!(s, " to {}", addr_prefix(p.address, p.len));
    }
    if let Some(p) = r.priority {
        let _ = write!(s, " priority {p}");
    }
    let _ = write!(s, " tos 0x{:x}", r.tos);
    if r.fwmark.is_some() || r.fwmask.is_some() {
        let _ = write!(s, " fwmark 0x{:x}", r.fwmark.unwrap_or(0));
        if let Some(m) = r.fwmask.filter(|m| *m != u32::MAX) {
            let _ = write!(s, "/0x{m:x}");
        }
    }
    if let Some(i) = &r.iif {
        let _ = write!(s, " iif {i}");
    }
    if let Some(o) = &r.oif {
        let _ = write!(s, " oif {o}");
    }
    if let Some(n) = r.suppress_prefixlength {
        let _ = write!(s, " suppress_prefixlen {n}");
    }
    if let Some(g) = r.suppress_ifgroup {
        let _ = write!(s, " suppress_ifgroup {g}");
    }
    if let Some(t) = r.tunnel_id.filter(|t| *t != 0) {
        let _ = write!(s, " tunnel-id {t}");
    }
    if let Some((a, b)) = r.uidrange {
        let _ = write!(s, " uidrange {a}-{b}");
    }
    if r.l3mdev {
        s.push_str(" l3mdev");
    }
    if let Some(p) = r.protocol {
        let _ = write!(s, " protocol {p}");
    }
    if let Some(p) = r.ipproto {
        let _ = write!(s, " ipproto {p}");
    }
    if let Some((a, b)) = r.sport {
        let _ = write!(s, " sport {a}-{b}");
    }
    if let Some((a, b)) = r.dport {
        let _ = write!(s, " dport {a}-{b}");
    }
    if let Some(x) = r.realms.filter(|x| *x != 0) {
        let _ = write!(s, " realms {}/{}", x >> 16, x & 0xffff);
    }
    match r.action {
        1 => {
            let _ = write!(s, " lookup {}", r.table.unwrap_or(0));
        }
        2 => {
            let _ = write!(s, " goto {}", r.goto.unwrap_or(0));
        }
        3 => s.push_str(" nop"),
        a => {
            let _ = write!(s, " type {}", rtn_type(a));
        }
    }
    if r.no_track {
        s.push_str(" no_track");
    }
    if let Some(g) = &r.track_group {
        let _ = write!(s, " track_group {g}");
    }
    s
}

/// C's `%g`, which keepalived's dumps use for seconds and intervals
/// (`jsonw_float_field()` too): six significant digits, trailing zeros dropped, an
/// exponent below 10^-4 or from 10^6 on.
fn float_g(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let trim = |t: String| -> String {
        if t.contains('.') {
            t.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            t
        }
    };
    // Rounded to six significant digits first: the exponent is the rounded one's.
    let sci = format!("{x:.5e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{}e{sign}{:02}", trim(mantissa.to_string()), exp.abs())
    } else {
        let decimals = (5 - exp) as usize;
        trim(format!("{x:.decimals$}"))
    }
}

/// A JSON object written in keepalived's key order.
struct Obj(String);

impl Obj {
    fn new() -> Obj {
        Obj(String::from("{"))
    }

    fn raw(&mut self, key: &str, value: &str) -> &mut Obj {
        if self.0.len() > 1 {
            self.0.push(',');
        }
        let _ = write!(self.0, "{}:{value}", serde_json::Value::from(key));
        self
    }

    fn num(&mut self, key: &str, v: impl std::fmt::Display) -> &mut Obj {
        self.raw(key, &v.to_string())
    }

    fn bool(&mut self, key: &str, v: bool) -> &mut Obj {
        self.raw(key, if v { "true" } else { "false" })
    }

    fn str(&mut self, key: &str, v: &str) -> &mut Obj {
        self.raw(key, &serde_json::Value::from(v).to_string())
    }

    /// `vrrp_json_array_dump()`: left out when empty.
    fn strs(&mut self, key: &str, v: impl IntoIterator<Item = String>) -> &mut Obj {
        let items: Vec<String> = v
            .into_iter()
            .map(|s| serde_json::Value::from(s).to_string())
            .collect();
        if items.is_empty() {
            return self;
        }
        self.raw(key, &format!("[{}]", items.join(",")))
    }

    fn end(&mut self) -> String {
        self.0.push('}');
        std::mem::take(&mut self.0)
    }
}

fn secs(us: u64) -> u64 {
    us / 1_000_000
}

fn secs_f(us: u64) -> f64 {
    us as f64 / 1e6
}

impl Engine {
    /// `keepalived.json` (`vrrp_print_json()`): version 1 is keepalived 2.2.7's array of
    /// `{"data":…,"stats":…}`; `json_version 2` is keepalived 2.3's
    /// `{"vrrp":[…],"track_process":[…]}`, with 2.3's extra statistics.
    pub fn json_text(&self, host: &DumpHost) -> String {
        let v2 = self.config.global.json_version >= 2;
        let vrrp: Vec<String> = self
            .instances
            .iter()
            .map(|i| {
                Obj::new()
                    .raw("data", &self.json_data(i, host))
                    .raw("stats", &json_stats(i, v2))
                    .end()
            })
            .collect();
        let vrrp = format!("[{}]", vrrp.join(","));
        if !v2 {
            return vrrp;
        }
        let mut top = Obj::new();
        top.raw("vrrp", &vrrp);
        let procs: Vec<String> = self
            .config
            .track_processes
            .iter()
            .map(|p| self.json_process(p))
            .collect();
        if !procs.is_empty() {
            top.raw("track_process", &format!("[{}]", procs.join(",")));
        }
        top.end()
    }

    /// `vrrp_json_data_dump()`.
    fn json_data(&self, i: &Instance, host: &DumpHost) -> String {
        let (c, g) = (&i.cfg, &self.config.global);
        let mut o = Obj::new();
        o.str("iname", i.name())
            .num("dont_track_primary", u8::from(c.dont_track_primary))
            .num("skip_check_adv_addr", u8::from(c.skip_check_adv_addr))
            .num("strict_mode", u8::from(c.strict_mode || g.vrrp_strict))
            .str("vmac_ifname", c.vmac().unwrap_or(""));
        if c.interface.is_some() {
            o.str("ifp_ifname", i.vip_interface());
        }
        let lt = i.last_transition.map(|t| host.wall(t)).unwrap_or(0);
        o.num("master_priority", i.master_priority)
            .raw(
                "last_transition",
                &format!("{}.{:06}", lt / 1_000_000, lt % 1_000_000),
            )
            .raw("garp_delay", &float_g(secs_f(c.garp_master_delay_us)))
            .num("garp_refresh", secs(c.garp_master_refresh_us))
            .num("garp_rep", c.garp_master_repeat)
            .num("garp_refresh_rep", c.garp_master_refresh_repeat)
            .num("garp_lower_prio_delay", secs(c.garp_lower_prio_delay_us))
            .num("garp_lower_prio_rep", c.garp_lower_prio_repeat)
            .num("lower_prio_no_advert", u8::from(c.lower_prio_no_advert))
            .num(
                "higher_prio_send_advert",
                u8::from(c.higher_prio_send_advert),
            )
            .num("vrid", c.virtual_router_id)
            .num("base_priority", c.priority)
            .num("effective_priority", i.effective_priority)
            .bool("vipset", i.state == State::Master)
            .bool("promote_secondaries", c.promote_secondaries)
            .raw("adver_int", &float_g(secs_f(c.advert_int_us)))
            .raw(
                "master_adver_int",
                &float_g(i.master_adver_int.as_micros() as f64 / 1e6),
            )
            .num("accept", u8::from(c.accept))
            .bool("nopreempt", c.nopreempt)
            .num("preempt_delay", secs(c.preempt_delay_us))
            .num("state", state_number(i.state))
            .num("wantstate", state_number(i.want))
            .num("version", c.version)
            .bool("smtp_alert", c.smtp_alert)
            .bool("notify_deleted", c.notify_deleted.is_some());
        // vrrp_json_script_dump(): each notify script that is set.
        let n = &c.notifies;
        for (key, cmd) in [
            ("script_backup", &n.notify_backup),
            ("script_master", &n.notify_master),
            ("script_fault", &n.notify_fault),
            ("script_stop", &n.notify_stop),
            ("script_deleted", &c.notify_deleted.clone().flatten()),
            ("script", &n.notify),
            ("script_master_rx_lower_pri", &c.notify_master_rx_lower_pri),
        ] {
            if let Some(cmd) = cmd {
                o.str(key, &cmd_str(cmd));
            }
        }
        let set = i.state == State::Master;
        let dev = i.vip_interface();
        o.strs(
            "vips",
            c.virtual_ipaddress
                .iter()
                .map(|a| vip_text(c, a, dev, host, set)),
        )
        .strs(
            "evips",
            c.virtual_ipaddress_excluded
                .iter()
                .map(|a| vip_text(c, a, dev, host, set)),
        )
        .strs("vroutes", c.virtual_routes.iter().map(format_route))
        .strs("vrules", c.virtual_rules.iter().map(format_rule))
        .strs(
            "track_ifp",
            self.tracked_interfaces(i)
                .into_iter()
                .map(|t| t.name.clone()),
        )
        .strs(
            "track_script",
            c.trackers.scripts.iter().filter_map(|t| {
                self.scripts
                    .get(&t.name)
                    .and_then(|s| s.cfg.script.as_ref())
                    .map(cmd_str)
            }),
        );
        if self.config.global.json_version >= 2 {
            o.strs(
                "track_process",
                c.trackers.processes.iter().map(|t| t.name.clone()),
            );
        }
        o.num("auth_type", auth_type_number(c));
        if auth_type_number(c) != 0 {
            // keepalived 2.2.7 writes the password here in clear.
            o.str("auth_data", MASK);
        }
        o.end()
    }

    /// keepalived 2.3's `vrrp_json_vprocess_dump()`.
    fn json_process(&self, p: &TrackProcess) -> String {
        use crate::config::model::ParamMatch;
        let mut o = Obj::new();
        o.str("process", p.process.as_deref().unwrap_or(&p.name));
        if !p.parameters.is_empty() {
            o.str("parameters", &p.parameters.join(" "));
        }
        o.str(
            "param_match",
            match p.param_match {
                None => "none",
                Some(ParamMatch::Exact) => "exact",
                Some(ParamMatch::Partial) => "partial",
                Some(ParamMatch::Initial) => "initial",
            },
        );
        o.num("min_processes", p.quorum);
        if let Some(m) = p.quorum_max {
            o.num("max_processes", m);
        }
        let cur = self.processes.get(&p.name).copied().unwrap_or(0);
        o.num("current_processes", cur)
            .bool("have_quorum", process_quorum(p, cur))
            .num(
                "weight",
                if p.weight_reverse {
                    -p.weight
                } else {
                    p.weight
                },
            )
            .raw(
                "terminate_delay",
                &float_g(secs_f(p.terminate_delay_us.unwrap_or(0))),
            )
            .raw("fork_delay", &float_g(secs_f(p.fork_delay_us.unwrap_or(0))))
            .bool("fork_delay_timer_running", false)
            .bool("terminate_delay_timer_running", false)
            .bool("full_command", p.full_command);
        o.end()
    }

    /// `keepalived.data` (`vrrp_print_data()`, `dump_data_vrrp()`): the global
    /// definitions, the gratuitous ARP pacing groups, the static addresses, routes,
    /// rules and track groups, the VRRP topology, the sockets, the sync groups, the
    /// scripts, tracked files and tracked processes, then the interfaces.
    pub fn data_text(&self, host: &DumpHost) -> String {
        let mut s = global_text(&self.config.global, false, host.script_ids);
        self.garp_delays_text(&mut s, host);
        self.statics_text(&mut s, host);
        if !self.instances.is_empty() {
            s.push_str("------< VRRP Topology >------\n");
            for i in &self.instances {
                self.instance_text(&mut s, i, host);
            }
        }
        self.sockpool_text(&mut s, host);
        if !self.groups.is_empty() {
            s.push_str("------< VRRP Sync groups >------\n");
            for gr in &self.groups {
                self.group_text(&mut s, gr, host);
            }
        }
        // keepalived drops the scripts, files and processes nothing tracks
        // (`vrrp_complete_init()`: "script chk is not used"), and keeps the others in
        // the configuration's order.
        let scripts: Vec<&ScriptState> = self
            .config
            .vrrp_scripts
            .iter()
            .filter_map(|c| self.scripts.get(&c.name))
            .filter(|sc| self.tracked(|t| &t.scripts, &sc.cfg.name))
            .collect();
        if !scripts.is_empty() {
            s.push_str("------< VRRP Scripts >------\n");
            for sc in scripts {
                self.script_text(&mut s, sc, host);
            }
        }
        let files = self.watched_files(host);
        if !files.is_empty() {
            s.push_str("------< VRRP Track files >------\n");
            for (f, path) in files {
                self.file_text(&mut s, f, &path);
            }
        }
        let processes: Vec<&TrackProcess> = self
            .config
            .track_processes
            .iter()
            .filter(|p| self.tracked(|t| &t.processes, &p.name))
            .collect();
        if !processes.is_empty() {
            s.push_str("------< VRRP Track processes >------\n");
            for p in processes {
                self.process_text(&mut s, p);
            }
        }
        // Every bfd_instance this process hears of, tracked or not.
        let bfds: Vec<_> = self
            .config
            .tracked_bfds
            .iter()
            .filter(|b| b.to_vrrp())
            .collect();
        if !bfds.is_empty() {
            s.push_str("------< VRRP Track BFDs >------\n");
            for b in bfds {
                self.bfd_text(&mut s, b);
            }
        }
        if !host.interfaces.is_empty() {
            s.push_str("------< Interfaces >------\n");
            let delays = self.garp_delays(host);
            for hi in &host.interfaces {
                self.interface_text(&mut s, hi, host, &delays);
            }
        }
        s
    }

    /// The gratuitous ARP pacing groups as keepalived holds them (`garp_delay`): each
    /// `garp_group` with an interval, then, with a global `vrrp_garp_interval` or
    /// `vrrp_gna_interval`, one of those for each interface an instance or one of its
    /// addresses is on that no group has (`set_default_garp_delay()`).
    fn garp_delays(&self, host: &DumpHost) -> Vec<GarpDelay> {
        let gl = &self.config.global;
        let mut delays: Vec<GarpDelay> = Vec::new();
        // keepalived numbers the groups of an `interfaces` block from 1 and leaves those
        // of `interface` lines at 0; the configuration keeps the names alone, so a group
        // of several interfaces is taken for a block.
        let mut blocks = 0;
        for g in &self.config.garp_groups {
            if g.garp_interval_us.is_none() && g.gna_interval_us.is_none() {
                continue;
            }
            let number = if g.interfaces.len() > 1 {
                blocks += 1;
                blocks
            } else {
                0
            };
            // An interface named by two groups is paced by the last (the engine's
            // pacer), so it is listed there.
            for d in &mut delays {
                d.interfaces.retain(|i| !g.interfaces.contains(i));
            }
            delays.push(GarpDelay {
                number,
                arp_us: g.garp_interval_us,
                na_us: g.gna_interval_us,
                interfaces: g.interfaces.clone(),
            });
        }
        if gl.vrrp_garp_interval_us != 0 || gl.vrrp_gna_interval_us != 0 {
            let base = |name: &str| host.base_of(name).unwrap_or(name).to_string();
            for i in &self.instances {
                let c = &i.cfg;
                let Some(own) = c.interface.as_deref() else {
                    continue;
                };
                let vip_ifs = c
                    .virtual_ipaddress
                    .iter()
                    .chain(&c.virtual_ipaddress_excluded)
                    .map(|a| a.dev.as_deref().map_or_else(|| own.to_string(), base));
                for name in std::iter::once(base(own)).chain(vip_ifs) {
                    if delays.iter().any(|d| d.interfaces.contains(&name)) {
                        continue;
                    }
                    let arp = gl.vrrp_garp_interval_us;
                    let na = gl.vrrp_gna_interval_us;
                    delays.push(GarpDelay {
                        number: 0,
                        arp_us: (arp != 0).then_some(arp),
                        na_us: (na != 0).then_some(na),
                        interfaces: vec![name],
                    });
                }
            }
        }
        delays
    }

    /// `dump_garp_delay_list()`.
    fn garp_delays_text(&self, s: &mut String, host: &DumpHost) {
        let delays = self.garp_delays(host);
        if delays.is_empty() {
            return;
        }
        s.push_str("------< Gratuitous ARP delays >------\n");
        for d in &delays {
            let _ = writeln!(s, "------< GARP delay group {} >------", d.number);
            // The group's next permitted frame: keepalived paces a group as one, the
            // engine each of its interfaces, so the latest of them.
            let next = |na: bool| {
                let t = d
                    .interfaces
                    .iter()
                    .filter_map(|i| self.garp.next_send(i, na))
                    .max();
                host.stamp(t.map_or(0, |t| host.wall(t)), Stamp::NoYear)
            };
            if let Some(us) = d.arp_us {
                let _ = writeln!(s, " GARP interval = {}", float_g(secs_f(us)));
                let _ = writeln!(s, " GARP next time {}", next(false));
            }
            if let Some(us) = d.na_us {
                let _ = writeln!(s, " GNA interval = {}", float_g(secs_f(us)));
                let _ = writeln!(s, " GNA next time {}", next(true));
            } else if d.arp_us.is_none() {
                s.push_str(" No configuration\n");
            }
            s.push_str(" Interfaces\n");
            for name in in_host_order(host, &d.interfaces) {
                let _ = writeln!(s, "  {name}");
            }
        }
    }

    /// `dump_vrrp_data()`'s static sections: addresses, routes, rules, track groups.
    fn statics_text(&self, s: &mut String, host: &DumpHost) {
        let cfg = &self.config;
        if !cfg.static_ipaddress.is_empty() {
            s.push_str("------< Static Addresses >------\n");
            let default_if = default_interface(&cfg.global);
            for a in &cfg.static_ipaddress {
                let dev = a.dev.as_deref().unwrap_or(default_if);
                // Installed: on its interface now.
                let set = host
                    .interface(dev)
                    .is_some_and(|i| i.addresses.contains(&a.address));
                let text = format_ipaddress(a, dev, host, set, a.use_vmac);
                let _ = writeln!(s, "     {text}");
            }
        }
        if !cfg.static_routes.is_empty() {
            s.push_str("------< Static Routes >------\n");
            for r in &cfg.static_routes {
                // A tracked route on the host whose family keepalived does not watch was
                // never seen come back from the kernel, so keepalived writes the interface
                // it last saw it on as index 0 (`format_iproute()`, `configured_ifindex`).
                let v6 = route_v6(r);
                let unseen = !r.no_track && !self.routes_watched(v6) && route_set(r, host);
                let _ = writeln!(
                    s,
                    "     {}{}",
                    format_route(r),
                    if unseen { " [installed ifindex 0]" } else { "" }
                );
            }
        }
        if !cfg.static_rules.is_empty() {
            s.push_str("------< Static Rules >------\n");
            for r in &cfg.static_rules {
                let _ = writeln!(s, "     {}", format_rule(r));
            }
        }
        // static_track_group_set(): a group keeps the instances that exist, and goes
        // with none.
        let groups: Vec<(&str, Vec<&str>)> = cfg
            .track_groups
            .iter()
            .map(|g| {
                let members = g
                    .instances
                    .iter()
                    .filter(|n| self.instances.iter().any(|i| i.name() == n.as_str()))
                    .map(String::as_str)
                    .collect();
                (g.name.as_str(), members)
            })
            .filter(|(_, m): &(&str, Vec<&str>)| !m.is_empty())
            .collect();
        if !groups.is_empty() {
            s.push_str("------< Static Track groups >------\n");
            for (name, members) in groups {
                let _ = writeln!(s, " Static Track Group = {name}");
                s.push_str("   VRRP member instances :\n");
                for m in members {
                    let _ = writeln!(s, "     {m}");
                }
            }
        }
    }

    /// The sockets keepalived's instances share (`vrrp_create_sockpool()`): one per
    /// family, protocol, interface and, multicast, group or, unicast, source address;
    /// each with its instances in VRID order.
    fn sockpool(&self) -> Vec<Pool<'_>> {
        let gl = &self.config.global;
        let mut pools: Vec<Pool<'_>> = Vec::new();
        for i in &self.instances {
            let c = &i.cfg;
            let v6 = c.is_ipv6();
            let proto = if auth_type_number(c) == 2 {
                crate::wire::IPPROTO_AH
            } else {
                crate::wire::IPPROTO_VRRP
            };
            let peer = if i.unicast() {
                Err(i.src_addr(&self.interfaces))
            } else {
                Ok(c.mcast_dst_ip.unwrap_or(if v6 {
                    gl.vrrp_mcast_group6
                } else {
                    gl.vrrp_mcast_group4
                }))
            };
            let interface = i.xmit_interface();
            match pools.iter_mut().find(|p| {
                p.ipv6 == v6 && p.proto == proto && p.interface == interface && p.peer == peer
            }) {
                Some(p) => p.instances.push(i),
                None => pools.push(Pool {
                    ipv6: v6,
                    proto,
                    interface,
                    peer,
                    instances: vec![i],
                }),
            }
        }
        for p in &mut pools {
            p.instances.sort_by_key(|i| i.vrid());
        }
        pools
    }

    /// `dump_sock_pool()`.
    fn sockpool_text(&self, s: &mut String, host: &DumpHost) {
        let pools = self.sockpool();
        if pools.is_empty() {
            return;
        }
        s.push_str("------< VRRP Sockpool >------\n");
        for p in pools {
            let sock = host_socket(host, p.interface, p.proto, p.ipv6);
            let fd = sock.and_then(|h| h.fd).unwrap_or(-1);
            let _ = writeln!(s, " fd_in {fd} fd_out = {fd}");
            let _ = writeln!(s, "   Interface = {}", p.interface);
            let _ = writeln!(s, "   Family = {}", if p.ipv6 { "IPv6" } else { "IPv4" });
            let _ = writeln!(
                s,
                "   Protocol = {}",
                if p.proto == crate::wire::IPPROTO_AH {
                    "AH"
                } else {
                    "VRRP"
                }
            );
            match p.peer {
                Err(src) => {
                    s.push_str("   Type = Unicast\n");
                    let _ = writeln!(
                        s,
                        "   Address = {}",
                        src.map_or_else(|| "(none)".to_string(), |a| a.to_string())
                    );
                }
                Ok(_) => s.push_str("   Type = Multicast\n"),
            }
            let _ = writeln!(s, "   Rx buf size = {}", sock.map_or(0, |h| h.rx_buf_size));
            s.push_str("   VRRP instances\n");
            for i in p.instances {
                let _ = writeln!(s, "     {} vrid {}", i.name(), i.vrid());
            }
        }
    }

    /// The tracked files keepalived keeps: those something tracks, and, where the host
    /// watches files, only those it could watch, with the path it watches.
    fn watched_files(&self, host: &DumpHost) -> Vec<(&TrackFile, String)> {
        self.config
            .track_files
            .iter()
            .filter(|f| self.tracked(|t| &t.files, &f.name))
            .filter_map(|f| match &host.track_files {
                Some(watched) => watched
                    .iter()
                    .find(|(n, _)| *n == f.name)
                    .map(|(_, path)| (f, path.clone())),
                None => Some((f, f.file.clone().unwrap_or_default())),
            })
            .collect()
    }

    /// A tracked file's value: as last read, else its `init_file` value, else 0.
    fn file_value(&self, f: &TrackFile) -> i64 {
        self.files
            .get(&f.name)
            .copied()
            .unwrap_or_else(|| f.init_file.as_ref().map_or(0, |i| i.value))
    }

    /// `dump_track_file()`.
    fn file_text(&self, s: &mut String, f: &TrackFile, path: &str) {
        let _ = writeln!(s, " Track file = {}", f.name);
        let _ = writeln!(s, "   File = {path}");
        let _ = writeln!(s, "   Status = {}", self.file_value(f));
        let _ = writeln!(
            s,
            "   Weight = {}{}",
            f.weight,
            if f.weight_reverse { " reverse" } else { "" }
        );
        self.tracking_text(s, |t| &t.files, &f.name, f.weight);
    }

    /// `dump_if()`: one interface, with what this process did to it and the instances
    /// that follow it.
    fn interface_text(
        &self,
        s: &mut String,
        hi: &HostInterface,
        host: &DumpHost,
        delays: &[GarpDelay],
    ) {
        const IFF_UP: u32 = 0x1;
        const IFF_BROADCAST: u32 = 0x2;
        const IFF_LOOPBACK: u32 = 0x8;
        const IFF_POINTOPOINT: u32 = 0x10;
        const IFF_RUNNING: u32 = 0x40;
        const IFF_NOARP: u32 = 0x80;
        const IFF_MULTICAST: u32 = 0x1000;
        let gl = &self.config.global;
        let _ = writeln!(s, " Name = {}", hi.name);
        let _ = writeln!(s, "   index = {}", hi.index);
        // keepalived keeps the addresses it found on the interface and those others
        // added since, never its own (VIPs, static addresses) nor IPv6 ones but
        // link-local; the first of each family is the interface's address.
        let theirs: Vec<IpAddr> = hi
            .addresses
            .iter()
            .copied()
            .filter(|a| !self.address_is_ours(*a, &hi.name))
            .filter(|a| match a {
                IpAddr::V4(_) => true,
                IpAddr::V6(v6) => v6.segments()[0] & 0xffc0 == 0xfe80,
            })
            .collect();
        for v6 in [false, true] {
            let mut family = theirs.iter().filter(|a| a.is_ipv6() == v6);
            let name = if v6 { "IPv6" } else { "IPv4" };
            match family.next() {
                Some(a) => {
                    let _ = writeln!(s, "   {name} address = {a}");
                }
                None => {
                    let _ = writeln!(s, "   {name} address = (none)");
                }
            }
            let more: Vec<&IpAddr> = family.collect();
            if !more.is_empty() {
                let _ = writeln!(s, "   Additional {name} addresses :");
                for a in more {
                    let _ = writeln!(s, "     {a}");
                }
            }
        }
        if !hi.mac.is_empty() && hi.mac.iter().any(|b| *b != 0) {
            let _ = writeln!(s, "   MAC = {}", mac(&hi.mac));
            let _ = writeln!(s, "   MAC broadcast = {}", mac(&hi.mac_broadcast));
        }
        let f = |bit: u32| hi.flags & bit != 0;
        let not = |b: bool| if b { "" } else { "not " };
        let base = hi
            .link
            .as_ref()
            .filter(|l| l.macvlan() || l.ipvlan())
            .and_then(|l| l.base)
            .and_then(|b| host.interfaces.iter().find(|i| i.index == b));
        let _ = writeln!(
            s,
            "   State = {}UP, {}RUNNING{}{}{}{}{}{}",
            not(f(IFF_UP)),
            not(f(IFF_RUNNING)),
            if f(IFF_BROADCAST) {
                ""
            } else {
                ", no broadcast"
            },
            if f(IFF_LOOPBACK) { ", loopback" } else { "" },
            if f(IFF_POINTOPOINT) {
                ", point to point"
            } else {
                ""
            },
            if f(IFF_NOARP) { ", no arp" } else { "" },
            if f(IFF_MULTICAST) {
                ""
            } else {
                ", no multicast"
            },
            if base.is_some_and(|b| b.flags & IFF_UP == 0) {
                ", master down"
            } else {
                ""
            }
        );
        let _ = writeln!(s, "   Seen up = {}", u8::from(hi.seen_up));
        let _ = writeln!(s, "   Delayed state change running = {}", hi.delayed);
        let _ = writeln!(s, "   Up debounce timer = {}us", hi.up_debounce_us);
        let _ = writeln!(s, "   Down debounce timer = {}us", hi.down_debounce_us);
        if let Some(l) = hi.link.as_ref().filter(|l| l.macvlan() || l.ipvlan()) {
            let kind = if l.ipvlan() { "IPVLAN" } else { "VMAC" };
            let mode = if l.ipvlan() {
                match l.mode {
                    0 => "L2 ",
                    1 => "L3 ",
                    2 => "L3S ",
                    _ => "unknown mode ",
                }
            } else {
                ""
            };
            let vlan = if l.macvlan() {
                match l.mode {
                    1 => "private",
                    2 => "vepa",
                    4 => "bridge",
                    8 => "passthru",
                    16 => "source",
                    _ => "unknown",
                }
            } else if l.flags & 1 != 0 {
                "private"
            } else if l.flags & 2 != 0 {
                "vepa"
            } else {
                "bridge"
            };
            match (base, l.base) {
                (Some(b), _) => {
                    let _ = writeln!(
                        s,
                        "   {kind} type {mode}{vlan}, underlying interface = {}, state = {}UP, {}RUNNING",
                        b.name,
                        not(b.flags & IFF_UP != 0),
                        not(b.flags & IFF_RUNNING != 0)
                    );
                }
                (None, Some(index)) => {
                    let _ = writeln!(
                        s,
                        "   {kind} type {vlan}, underlying ifindex = {index}, netns id = {}",
                        l.netns_id.unwrap_or(-1)
                    );
                }
                (None, None) => {
                    let _ = writeln!(
                        s,
                        "   {kind} type {vlan}, underlying interface in different namespace"
                    );
                }
            }
        }
        if hi.ours {
            s.push_str("   I/f created by keepalived\n");
        } else if gl.dynamic_interfaces_allow_if_changes && hi.link.is_some() {
            s.push_str("   Interface type/base can be changed\n");
        }
        let _ = writeln!(s, "   MTU = {}", hi.mtu);
        match hi.hw_type {
            772 => s.push_str("   HW Type = LOOPBACK\n"),
            1 => s.push_str("   HW Type = ETHERNET\n"),
            // keepalived logs this one instead of writing it to the file.
            32 => {}
            t => {
                let _ = writeln!(s, "   HW Type = UNKNOWN ({t})");
            }
        }
        s.push_str(match hi.polling {
            None => "   NIC netlink status update\n",
            Some(LinkPolling::Mii) => "   NIC support MII regs\n",
            Some(LinkPolling::Ethtool) => "   NIC support ETHTOOL GLINK interface\n",
            Some(LinkPolling::Ioctl) => "   NIC ioctl refresh polling\n",
        });
        if let Some(d) = delays.iter().find(|d| d.interfaces.contains(&hi.name)) {
            if let Some(us) = d.arp_us {
                let _ = writeln!(s, "   Gratuitous ARP interval {}ms", us / 1000);
            }
            if let Some(us) = d.na_us {
                let _ = writeln!(s, "   Gratuitous NA interval {}ms", us / 1000);
            }
            if d.number != 0 {
                let _ = writeln!(s, "   Gratuitous ARP aggregation group {}", d.number);
            }
        }
        let _ = writeln!(s, "   Reset ARP config counter {}", hi.arp_resets);
        let _ = writeln!(s, "   Original arp_ignore {}", hi.arp_ignore);
        let _ = writeln!(s, "   Original arp_filter {}", hi.arp_filter);
        // keepalived reads rp_filter from the first link message after the one it met
        // the interface by, which its own changes of the interface's settings bring.
        if hi.ours || hi.arp_resets > 0 || hi.promote_secondaries_set {
            let _ = writeln!(s, "   rp_filter {}", hi.rp_filter);
        }
        let _ = writeln!(
            s,
            "   Original promote_secondaries {}",
            hi.promote_secondaries
        );
        // set_promote_secondaries(): one count per instance with the keyword on the
        // interface, once this process turned the setting on.
        let promoting = if hi.promote_secondaries_set {
            self.instances
                .iter()
                .filter(|i| {
                    let c = &i.cfg;
                    c.promote_secondaries
                        && c.use_vmac.is_none()
                        && c.use_ipvlan.is_none()
                        && c.interface.as_deref() == Some(hi.name.as_str())
                })
                .count()
        } else {
            0
        };
        let _ = writeln!(s, "   Reset promote_secondaries counter {promoting}");
        // The Router flag of neighbour advertisements, looked at when one is sent
        // (`ndisc_send_unsolicited_na()`).
        if let Some(t) = self.garp.last_send(&hi.name, true) {
            let forwarding = self
                .interfaces
                .get(&hi.name)
                .is_some_and(|i| i.ipv6_forwarding);
            let _ = writeln!(
                s,
                "   {}IPv6 forwarding. Last checked {}",
                if forwarding { "" } else { "Not " },
                host.stamp(host.wall(t), Stamp::Trailing)
            );
        }
        let tracking = self.interface_tracking(&hi.name, host);
        if !tracking.is_empty() {
            s.push_str("   Tracking VRRP instances :\n");
            for t in tracking {
                let _ = writeln!(
                    s,
                    "     {}, weight {}{}{}",
                    t.instance,
                    t.weight,
                    if t.reverse { " reverse" } else { "" },
                    if t.dynamic { " (dynamic)" } else { "" }
                );
            }
        }
    }

    /// An instance's `track_interface`s as keepalived lists them (`vrrp->track_ifp`): not
    /// one naming the instance's own interface, which it drops
    /// (`vrrp_complete_instance()`: "Ignoring track_interface … since own interface"),
    /// nor one a static track group gave it (`static_track_group_init()` adds the
    /// instance to the interface alone), which the configuration folds into the
    /// instance's trackers as an unweighted one.
    fn tracked_interfaces<'a>(&self, i: &'a Instance) -> Vec<&'a TrackRef> {
        let own = i.cfg.interface.as_deref();
        let grouped = self.static_tracked(i.name());
        i.cfg
            .trackers
            .interfaces
            .iter()
            .filter(|t| Some(t.name.as_str()) != own)
            .filter(|t| {
                let folded = t.weight == Some(0) && !t.reverse;
                !(folded && grouped.contains(&t.name.as_str()))
            })
            .collect()
    }

    /// Whether keepalived watches the routes of a family (`monitor_ipv4_routes`): an
    /// instance has a tracked virtual route of it (`vrrp_complete_instance()`), or a
    /// static one has a track group (`process_static_entries()`).
    fn routes_watched(&self, v6: bool) -> bool {
        let virtual_routes = self
            .instances
            .iter()
            .flat_map(|i| &i.cfg.virtual_routes)
            .any(|r| !r.no_track && route_v6(r) == v6);
        let grouped = self
            .config
            .static_routes
            .iter()
            .any(|r| r.track_group.is_some() && route_v6(r) == v6);
        virtual_routes || grouped
    }

    /// The interfaces static track groups make instance `name` follow: those of the
    /// static addresses, routes and rules naming a group it is in and not `no_track`
    /// (`static_track_group_init()`).
    fn static_tracked(&self, name: &str) -> Vec<&str> {
        let cfg = &self.config;
        let in_group = |g: Option<&str>| {
            g.is_some_and(|g| {
                cfg.track_groups
                    .iter()
                    .any(|t| t.name == g && t.instances.iter().any(|n| n == name))
            })
        };
        let default_if = default_interface(&cfg.global);
        let addresses = cfg
            .static_ipaddress
            .iter()
            .filter(|a| !a.no_track && in_group(a.track_group()))
            .map(|a| a.dev.as_deref().unwrap_or(default_if));
        let routes = cfg
            .static_routes
            .iter()
            .filter(|r| !r.no_track && in_group(r.track_group.as_deref()))
            .filter_map(|r| r.dev.as_deref());
        let rules = cfg
            .static_rules
            .iter()
            .filter(|r| !r.no_track && in_group(r.track_group.as_deref()))
            .filter_map(|r| r.iif.as_deref());
        addresses.chain(routes).chain(rules).collect()
    }

    /// Whether `addr` on interface `ifname` is one this process puts there: a VIP or
    /// eVIP of an instance, or a static address (keepalived never records these,
    /// `ignore_address_if_ours_or_link_local()` and the reflection of its own commands).
    fn address_is_ours(&self, addr: IpAddr, ifname: &str) -> bool {
        let default_if = default_interface(&self.config.global);
        let vips = self.instances.iter().flat_map(|i| {
            let dev = i.vip_interface();
            i.cfg
                .virtual_ipaddress
                .iter()
                .chain(&i.cfg.virtual_ipaddress_excluded)
                .map(move |a| (a, a.dev.as_deref().unwrap_or(dev)))
        });
        let statics = self
            .config
            .static_ipaddress
            .iter()
            .map(|a| (a, a.dev.as_deref().unwrap_or(default_if)));
        vips.chain(statics)
            .any(|(a, dev)| a.address == addr && dev == ifname)
    }

    /// The instances following interface `ifname` (its `tracking_vrrp`), in the order
    /// keepalived adds them: for each instance, its tracked interfaces, its configured
    /// interface (and that one's base, as a dynamic entry at the front, when it is a
    /// macvlan of someone else's), its VMAC, the interfaces of its addresses, and those
    /// of its tracked routes and rules (`vrrp_complete_instance()`); then the sync
    /// groups' tracked interfaces. An instance met again keeps one entry, whose weight a
    /// later weight-0 entry clears (`add_vrrp_to_interface()`).
    fn interface_tracking(&self, ifname: &str, host: &DumpHost) -> Vec<Tracking<'_>> {
        let mut out: Vec<Tracking<'_>> = Vec::new();
        let entry = |instance, weight, reverse| Tracking {
            instance,
            weight,
            reverse,
            dynamic: false,
        };
        for i in &self.instances {
            let c = &i.cfg;
            let name = i.name();
            let Some(own) = c.interface.as_deref() else {
                continue;
            };
            let primary = if c.dont_track_primary { NOT_TRACKED } else { 0 };
            let vip_if = i.vip_interface();
            for t in &c.trackers.interfaces {
                if t.name == ifname && t.name != own {
                    track(&mut out, entry(name, t.weight.unwrap_or(0), t.reverse));
                }
            }
            if own == ifname {
                track(&mut out, entry(name, primary, false));
            }
            if host.base_of(own) == Some(ifname) {
                let dynamic = Tracking {
                    dynamic: true,
                    ..entry(name, primary, false)
                };
                track(&mut out, dynamic);
            }
            if vip_if != own && vip_if == ifname {
                track(&mut out, entry(name, primary, false));
            }
            for a in c
                .virtual_ipaddress
                .iter()
                .chain(&c.virtual_ipaddress_excluded)
            {
                let dev = a.dev.as_deref().unwrap_or(vip_if);
                let on_primary = dev == vip_if || dev == own;
                if dev == ifname && !a.no_track && (!c.dont_track_primary || !on_primary) {
                    track(&mut out, entry(name, 0, false));
                }
            }
            let route_ifs = c
                .virtual_routes
                .iter()
                .filter(|r| !r.no_track)
                .filter_map(|r| r.dev.as_deref());
            let rule_ifs = c
                .virtual_rules
                .iter()
                .filter(|r| !r.no_track)
                .flat_map(|r| r.iif.as_deref().into_iter().chain(r.oif.as_deref()));
            for _ in route_ifs.chain(rule_ifs).filter(|d| *d == ifname) {
                track(&mut out, entry(name, 0, false));
            }
        }
        for g in &self.groups {
            for t in g
                .cfg
                .trackers
                .interfaces
                .iter()
                .filter(|t| t.name == ifname)
            {
                for i in g.members.iter().filter_map(|&n| self.instances.get(n)) {
                    track(&mut out, entry(i.name(), t.weight.unwrap_or(0), t.reverse));
                }
            }
        }
        out
    }

    /// Whether an instance or sync group tracks `name` among the trackers `of` picks.
    fn tracked(&self, of: impl Fn(&Trackers) -> &Vec<TrackRef>, name: &str) -> bool {
        self.instances
            .iter()
            .map(|i| &i.cfg.trackers)
            .chain(self.groups.iter().map(|g| &g.cfg.trackers))
            .any(|t| of(t).iter().any(|r| r.name == name))
    }

    /// The instances tracking `name` among the trackers `of` picks, each with the weight
    /// it gives (`dump_tracking_obj_list()`), under `   Tracking instances :`.
    fn tracking_text(
        &self,
        s: &mut String,
        of: impl Fn(&Trackers) -> &Vec<TrackRef>,
        name: &str,
        own_weight: i32,
    ) {
        let line = |i: &Instance, t: &TrackRef| {
            format!(
                "     {}, weight {}{}\n",
                i.name(),
                t.weight.unwrap_or(own_weight),
                if t.reverse { " reverse" } else { "" }
            )
        };
        let direct = self.instances.iter().filter_map(|i| {
            let t = of(&i.cfg.trackers).iter().find(|t| t.name == name)?;
            Some(line(i, t))
        });
        // Sync group members come after, added by `sync_group_tracking_init()`.
        let via_groups = self.groups.iter().flat_map(|g| {
            let t = of(&g.cfg.trackers).iter().find(|t| t.name == name);
            let members = g.members.iter().filter_map(|&n| self.instances.get(n));
            members.filter_map(move |i| Some(line(i, t?)))
        });
        let tracking: Vec<String> = direct.chain(via_groups).collect();
        if !tracking.is_empty() {
            s.push_str("   Tracking instances :\n");
            for t in tracking {
                s.push_str(&t);
            }
        }
    }

    /// `dump_vprocess()`.
    fn process_text(&self, s: &mut String, p: &TrackProcess) {
        use crate::config::model::ParamMatch;
        let _ = writeln!(s, " VRRP Track process = {}", p.name);
        let _ = writeln!(
            s,
            "   Process = {}",
            p.process.as_deref().unwrap_or_default()
        );
        if !p.parameters.is_empty() {
            let _ = writeln!(s, "   Parameters = {}", p.parameters.join(" "));
        }
        match p.param_match {
            None => {}
            Some(ParamMatch::Exact) => s.push_str("   Param match\n"),
            Some(ParamMatch::Partial) => s.push_str("   Param match = partial\n"),
            Some(ParamMatch::Initial) => s.push_str("   Param match = initial\n"),
        }
        let _ = writeln!(s, "   Min processes = {}", p.quorum);
        if let Some(m) = p.quorum_max {
            let _ = writeln!(s, "   Max processes = {m}");
        }
        let cur = self.processes.get(&p.name).copied().unwrap_or(0);
        let _ = writeln!(s, "   Current processes = {cur}");
        let _ = writeln!(s, "   Have quorum = {}", process_quorum(p, cur));
        let _ = writeln!(
            s,
            "   Weight = {}{}",
            p.weight,
            if p.weight_reverse { " reverse" } else { "" }
        );
        let _ = writeln!(
            s,
            "   Terminate delay = {:.6}s",
            secs_f(p.terminate_delay_us.unwrap_or(0))
        );
        let _ = writeln!(
            s,
            "   Fork delay = {:.6}s",
            secs_f(p.fork_delay_us.unwrap_or(0))
        );
        s.push_str("   Fork delay timer not running\n");
        s.push_str("   Terminate delay timer not running\n");
        let _ = writeln!(s, "   Full command = {}", p.full_command);
        self.tracking_text(s, |t| &t.processes, &p.name, p.weight);
    }

    /// `dump_vrrp_tracked_bfd()`: the BFD's own weight, its state, and the instances
    /// following it with the weight each gives (its `tracking_vrrp` list: the instances
    /// that track it, then the sync groups' other members).
    fn bfd_text(&self, s: &mut String, b: &crate::config::model::TrackedBfd) {
        let _ = writeln!(s, " VRRP Track BFD = {}", b.name);
        let _ = writeln!(
            s,
            "   Weight = {}{}",
            b.weight,
            if b.weight_reverse { " reverse" } else { "" }
        );
        let up = self.bfds.get(&b.name).copied().unwrap_or(false);
        let _ = writeln!(s, "   Bfd is {}", if up { "up" } else { "down" });
        let tracks = |t: &Trackers| t.bfds.iter().any(|r| r.name == b.name);
        let direct = self.instances.iter().filter(|i| tracks(&i.cfg.trackers));
        let via_groups = self
            .groups
            .iter()
            .filter(|g| tracks(&g.cfg.trackers))
            .flat_map(|g| g.members.iter().filter_map(|&m| self.instances.get(m)))
            .filter(|i| !tracks(&i.cfg.trackers));
        let mut lines = Vec::new();
        for i in direct.chain(via_groups) {
            let group = i.sync.map(|g| &self.groups[g].cfg);
            let bfd_cfg = &self.config.tracked_bfds;
            if let Some(t) = super::track::bfd_tracks(&i.cfg, group, bfd_cfg)
                .into_iter()
                .find(|t| t.name == b.name)
            {
                lines.push(format!(
                    "     {}, weight {}{}\n",
                    i.name(),
                    t.weight,
                    if t.reverse { " reverse" } else { "" }
                ));
            }
        }
        if !lines.is_empty() {
            s.push_str("   Tracking instances :\n");
            lines.iter().for_each(|l| s.push_str(l));
        }
    }

    /// `dump_vrrp()`.
    fn instance_text(&self, s: &mut String, i: &Instance, host: &DumpHost) {
        let (c, gl) = (&i.cfg, &self.config.global);
        let mut w = |l: String| {
            s.push_str(&l);
            s.push('\n');
        };
        w(format!(" VRRP Instance = {}", i.name()));
        w(format!("   VRRP Version = {}", c.version));
        if let Some(g) = i.sync.and_then(|n| self.groups.get(n)) {
            w(format!("   Sync group = {}", g.cfg.name));
        }
        if c.is_ipv6() {
            w("   Using Native IPv6".into());
        }
        w(format!("   State = {}", state_word(i.state)));
        if i.state == State::Backup {
            if let Some(m) = i.master_addr {
                w(format!("   Master router = {m}"));
            }
            w(format!("   Master priority = {}", i.master_priority));
            if c.version == 3 {
                w(format!(
                    "   Master advert int = {:.2} sec",
                    i.master_adver_int.as_micros() as f64 / 1e6
                ));
            }
        }
        if has_flags(i, gl) {
            w("   Flags:".into());
            if i.unicast() {
                w("     Using unicast".into());
            } else if unicast_configured(c) {
                w("     Unicast config option specified but using multicast".into());
            }
            if c.unicast_fault_no_peer {
                w("     If unicast go to fault state if no peers".into());
            }
        } else {
            w("   Flags: none".into());
        }
        w(format!("   Wantstate = {}", state_word(i.want)));
        w("   Number of config faults = 0".into());
        let faults = [i.faults.tracker, i.faults.interface_down]
            .iter()
            .filter(|&&f| f)
            .count();
        w(format!(
            "   Number of interface and track script faults = {faults}"
        ));
        let init = c
            .trackers
            .scripts
            .iter()
            .filter(|t| {
                self.scripts
                    .get(&t.name)
                    .is_some_and(|s| s.health == super::track::Health::Init)
            })
            .count();
        w(format!("   Number of track scripts init = {init}"));
        w(format!(
            "   Last transition = {}",
            i.last_transition
                .map(|t| host.timeval(t))
                .unwrap_or_else(|| host.stamp(0, Stamp::Micros))
        ));
        match i.deadline {
            Some(t) => w(format!("   Read timeout = {}", host.timeval(t))),
            None => w("   Read timeout = DISABLED".into()),
        }
        w(format!(
            "   Master down timer = {} usecs",
            i.ms_down().as_micros()
        ));
        if let Some(v) = c.vmac() {
            w(format!(
                "   Use VMAC, i/f name {v}, is_up = {}, xmit_base = {}",
                i.state != State::Init,
                c.vmac_xmit_base
            ));
            if let Some(addr) = c
                .use_vmac
                .as_ref()
                .and_then(|m| vmac_mac(m.mac.as_deref()?))
            {
                w(format!("     MAC = {}", mac(&addr)));
            }
        }
        if c.use_vmac_addr {
            w("   Use VMAC for VIPs on other interfaces".into());
        }
        let vip_if = host.interface(i.vip_interface());
        match (&c.interface, vip_if) {
            // A VMAC or ipvlan of ours, on its base.
            (Some(_), Some(x)) if x.ours => w(format!(
                "   Interface = {}, {} on {}{}",
                x.name,
                if c.use_ipvlan.is_some() {
                    "ipvlan"
                } else {
                    "vmac"
                },
                host.base_of(&x.name).unwrap_or("(unknown)"),
                if c.vmac_xmit_base {
                    ", xmit base i/f"
                } else {
                    ""
                }
            )),
            (Some(_), _) => w(format!("   Interface = {}", i.vip_interface())),
            (None, _) => w("   Interface = not configured".into()),
        }
        if c.dont_track_primary {
            w("   VRRP interface tracking disabled".into());
        }
        if c.skip_check_adv_addr || gl.vrrp_skip_check_adv_addr {
            w("   Skip checking advert IP addresses".into());
        }
        if c.strict_mode || gl.vrrp_strict {
            w("   Enforcing strict VRRP compliance".into());
        }
        let src = i.src_addr(&self.interfaces);
        w(format!(
            "   Using src_ip = {}{}",
            src.map(|a| a.to_string())
                .unwrap_or_else(|| "(none)".into()),
            if c.src_ip.is_some() {
                " (from configuration)"
            } else {
                ""
            }
        ));
        if !i.unicast() {
            let group = c.mcast_dst_ip.unwrap_or(if c.is_ipv6() {
                gl.vrrp_mcast_group6
            } else {
                gl.vrrp_mcast_group4
            });
            // The IPv6 group's scope is the interface adverts leave by (`sin6_scope_id`).
            match host.interface(i.xmit_interface()) {
                Some(x) if c.is_ipv6() => {
                    w(format!("   Multicast address {group}, ifindex {}", x.index))
                }
                _ => w(format!("   Multicast address {group}")),
            }
        }
        w(format!(
            "   Gratuitous ARP delay = {}",
            secs(c.garp_master_delay_us)
        ));
        w(format!(
            "   Gratuitous ARP repeat = {}",
            c.garp_master_repeat
        ));
        w(format!(
            "   Gratuitous ARP refresh = {}",
            secs(c.garp_master_refresh_us)
        ));
        w(format!(
            "   Gratuitous ARP refresh repeat = {}",
            c.garp_master_refresh_repeat
        ));
        w(format!(
            "   Gratuitous ARP lower priority delay = {}",
            secs(c.garp_lower_prio_delay_us)
        ));
        w(format!(
            "   Gratuitous ARP lower priority repeat = {}",
            c.garp_lower_prio_repeat
        ));
        w(format!("   Down timer adverts = {}", c.down_timer_adverts));
        if let Some(g) = extra_if_garps(c) {
            w(format!(
                "   Gratuitous ARP for each secondary {} = {}",
                if g.all { "i/f" } else { "VMAC" },
                secs(g.interval_us)
            ));
            let next = i.extra_if_garp_at.map_or(0, |t| host.wall(t));
            w(format!(
                "   Next gratuitous ARP for such secondary = {}",
                host.stamp(next, Stamp::Trailing)
            ));
        }
        w(format!(
            "   Send advert after receive lower priority advert = {}",
            !c.lower_prio_no_advert
        ));
        w(format!(
            "   Send advert after receive higher priority advert = {}",
            c.higher_prio_send_advert
        ));
        w(format!("   Virtual Router ID = {}", c.virtual_router_id));
        w(format!("   Priority = {}", c.priority));
        w(format!("   Effective priority = {}", i.effective_priority));
        w(format!("   Total priority = {}", i.total_priority));
        if c.version == 2 {
            w(format!(
                "   Advert interval = {} sec",
                secs(c.advert_int_us)
            ));
        } else {
            w(format!(
                "   Advert interval = {} milli-sec",
                c.advert_int_us / 1000
            ));
        }
        if i.state == State::Backup && c.version == 3 {
            w(format!(
                "   Master advert interval = {} milli-sec",
                i.master_adver_int.as_millis()
            ));
        }
        w(format!(
            "   Accept = {}",
            if c.accept { "enabled" } else { "disabled" }
        ));
        w(format!(
            "   Preempt = {}",
            if c.nopreempt { "disabled" } else { "enabled" }
        ));
        if c.preempt_delay_us > 0 {
            w(format!(
                "   Preempt delay = {} secs",
                float_g(secs_f(c.preempt_delay_us))
            ));
        }
        w(format!(
            "   Promote_secondaries = {}",
            if c.promote_secondaries {
                "enabled"
            } else {
                "disabled"
            }
        ));
        match c.authentication.as_ref().map(|a| a.auth_type) {
            Some(AuthType::Ah) => w("   Authentication type = IPSEC_AH".into()),
            Some(_) => {
                w("   Authentication type = SIMPLE_PASSWORD".into());
                // keepalived 2.2.7 prints the password in clear.
                w(format!("   Password = {MASK}"));
            }
            None if c.version == 2 => w("   Authentication type = none".into()),
            None => {}
        }
        if let Some(b) = c.kernel_rx_buf_size {
            w(format!("   Kernel rx buffer size = {b}"));
        }
        if c.debug > 0 {
            w(format!("   Debug level = {}", c.debug));
        }
        let set = i.state == State::Master;
        let dev = i.vip_interface();
        if !c.virtual_ipaddress.is_empty() {
            w(format!("   Virtual IP ({}):", c.virtual_ipaddress.len()));
            for a in &c.virtual_ipaddress {
                w(format!("     {}", vip_text(c, a, dev, host, set)));
            }
        }
        if !c.virtual_ipaddress_excluded.is_empty() {
            w("   Virtual IP Excluded :".into());
            for a in &c.virtual_ipaddress_excluded {
                w(format!("     {}", vip_text(c, a, dev, host, set)));
            }
        }
        if i.unicast() {
            w(format!("   Unicast TTL = {}", c.unicast_ttl.unwrap_or(255)));
            w(format!(
                "   Check unicast src : {}",
                if c.check_unicast_src || gl.vrrp_check_unicast_src {
                    "yes"
                } else {
                    "no"
                }
            ));
            w("   Unicast Peer :".into());
            for p in &c.unicast_peers {
                w(format!(
                    "     {} min_ttl {} max_ttl {}",
                    p.address,
                    p.min_ttl.unwrap_or(0),
                    p.max_ttl.unwrap_or(255)
                ));
            }
            w(format!(
                "   Unicast checksum compatibility = {}",
                match c.old_unicast_checksum {
                    None => "no",
                    Some(true) => "config",
                    Some(false) => "never",
                }
            ));
        }
        let proto = if auth_type_number(c) == 2 {
            crate::wire::IPPROTO_AH
        } else {
            crate::wire::IPPROTO_VRRP
        };
        match host_socket(host, i.xmit_interface(), proto, c.is_ipv6()) {
            // keepalived's pool entry of an interface that is missing has no descriptors.
            Some(h) => {
                let fd = h.fd.unwrap_or(-1);
                w(format!("   fd_in {fd}, fd_out {fd}"));
            }
            None => w("   No sockets allocated".into()),
        }
        if !c.virtual_routes.is_empty() {
            w("   Virtual Routes :".into());
            for r in &c.virtual_routes {
                w(format!("     {}", format_route(r)));
            }
        }
        if !c.virtual_rules.is_empty() {
            w("   Virtual Rules :".into());
            for r in &c.virtual_rules {
                w(format!("     {}", format_rule(r)));
            }
        }
        let rev = |t: &TrackRef| if t.reverse { " reverse" } else { "" };
        let ifs = self.tracked_interfaces(i);
        if !ifs.is_empty() {
            w("   Tracked interfaces :".into());
            for t in ifs {
                w(format!(
                    "     {} weight {}{}",
                    t.name,
                    t.weight.unwrap_or(0),
                    rev(t)
                ));
            }
        }
        if !c.trackers.scripts.is_empty() {
            w("   Tracked scripts :".into());
            for t in &c.trackers.scripts {
                let weight = t
                    .weight
                    .unwrap_or_else(|| self.scripts.get(&t.name).map_or(0, |s| s.cfg.weight));
                w(format!("     {} weight {weight}{}", t.name, rev(t)));
            }
        }
        let watched = self.watched_files(host);
        let files: Vec<(&TrackRef, &TrackFile)> = c
            .trackers
            .files
            .iter()
            .filter_map(|t| Some((t, watched.iter().find(|(f, _)| f.name == t.name)?.0)))
            .collect();
        if !files.is_empty() {
            w("   Tracked files :".into());
            for (t, f) in files {
                w(format!(
                    "     {}, weight {}{}",
                    t.name,
                    t.weight.unwrap_or(f.weight),
                    rev(t)
                ));
            }
        }
        if !c.trackers.processes.is_empty() {
            w("   Tracked processes :".into());
            for t in &c.trackers.processes {
                let own = self
                    .config
                    .track_processes
                    .iter()
                    .find(|p| p.name == t.name);
                w(format!(
                    "     {}, weight {}{}",
                    t.name,
                    t.weight.unwrap_or_else(|| own.map_or(0, |p| p.weight)),
                    rev(t)
                ));
            }
        }
        if !c.trackers.bfds.is_empty() {
            w("   Tracked BFDs :".into());
            for t in &c.trackers.bfds {
                w(bfd_ref_line(t));
            }
        }
        w(format!(
            "   Using smtp notification = {}",
            if c.smtp_alert { "yes" } else { "no" }
        ));
        w(format!(
            "   Notify deleted = {}",
            if c.notify_deleted.is_some() {
                "Deleted"
            } else {
                "Fault"
            }
        ));
        let n = &c.notifies;
        for (label, cmd) in [
            ("Backup", &n.notify_backup),
            ("Master", &n.notify_master),
            ("Fault", &n.notify_fault),
            ("Stop", &n.notify_stop),
            ("Deleted", &c.notify_deleted.clone().flatten()),
            ("Generic", &n.notify),
            ("Master rx lower pri", &c.notify_master_rx_lower_pri),
        ] {
            if let Some(cmd) = cmd {
                w(notify_line(label, cmd, host));
            }
        }
        w(format!(
            "   Notify priority changes = {}",
            c.notify_priority_changes
        ));
    }

    /// `dump_sync_group()`.
    fn group_text(&self, s: &mut String, gr: &super::Group, host: &DumpHost) {
        let c = &gr.cfg;
        let _ = writeln!(s, " VRRP Sync Group = {}, {}", c.name, state_word(gr.state));
        let members = gr.members.iter().filter_map(|&n| self.instances.get(n));
        let fault = members.clone().filter(|i| i.state == State::Fault).count();
        let init = members.clone().filter(|i| i.state == State::Init).count();
        let _ = writeln!(s, "   Num member fault {fault}, num member init {init}");
        if !gr.members.is_empty() {
            s.push_str("   VRRP member instances :\n");
            for i in members {
                let _ = writeln!(s, "     {}", i.name());
            }
        }
        if c.sync_group_tracking_weight {
            s.push_str("   sync group tracking weight set\n");
        }
        let yn = |b: bool| if b { "yes" } else { "no" };
        let _ = writeln!(
            s,
            "   Using smtp notification = {}",
            yn(c.smtp_alert.unwrap_or(false))
        );
        if let Some(n) = c.notify_priority_changes {
            let _ = writeln!(s, "   Notify priority changes = {}", yn(n));
        }
        let rev = |t: &TrackRef| if t.reverse { " reverse" } else { "" };
        let t = &c.trackers;
        if !t.interfaces.is_empty() {
            s.push_str("   Tracked interfaces :\n");
            for r in &t.interfaces {
                let _ = writeln!(
                    s,
                    "     {} weight {}{}",
                    r.name,
                    r.weight.unwrap_or(0),
                    rev(r)
                );
            }
        }
        if !t.scripts.is_empty() {
            s.push_str("   Tracked scripts :\n");
            for r in &t.scripts {
                let own = self.scripts.get(&r.name).map_or(0, |sc| sc.cfg.weight);
                let _ = writeln!(
                    s,
                    "     {} weight {}{}",
                    r.name,
                    r.weight.unwrap_or(own),
                    rev(r)
                );
            }
        }
        let watched = self.watched_files(host);
        let files: Vec<(&TrackRef, &TrackFile)> = t
            .files
            .iter()
            .filter_map(|r| Some((r, watched.iter().find(|(f, _)| f.name == r.name)?.0)))
            .collect();
        if !files.is_empty() {
            s.push_str("   Tracked files :\n");
            for (r, f) in files {
                let _ = writeln!(
                    s,
                    "     {}, weight {}{}",
                    r.name,
                    r.weight.unwrap_or(f.weight),
                    rev(r)
                );
            }
        }
        if !t.processes.is_empty() {
            // keepalived's own spelling for sync groups.
            s.push_str("   Tracked process :\n");
            for r in &t.processes {
                let own = self
                    .config
                    .track_processes
                    .iter()
                    .find(|p| p.name == r.name);
                let weight = r.weight.unwrap_or_else(|| own.map_or(0, |p| p.weight));
                let _ = writeln!(s, "     {}, weight {weight}{}", r.name, rev(r));
            }
        }
        if !t.bfds.is_empty() {
            s.push_str("   Tracked BFDs :\n");
            for r in &t.bfds {
                let _ = writeln!(s, "{}", bfd_ref_line(r));
            }
        }
        let n = &c.notifies;
        for (label, cmd) in [
            ("Backup", &n.notify_backup),
            ("Master", &n.notify_master),
            ("Fault", &n.notify_fault),
            ("Stop", &n.notify_stop),
            ("Generic", &n.notify),
        ] {
            if let Some(cmd) = cmd {
                let _ = writeln!(s, "{}", notify_line(label, cmd, host));
            }
        }
    }

    /// `dump_vscript()`.
    fn script_text(&self, s: &mut String, sc: &ScriptState, host: &DumpHost) {
        let c = &sc.cfg;
        let _ = writeln!(s, " VRRP Script = {}", c.name);
        let _ = writeln!(
            s,
            "   Command = {}",
            c.script.as_ref().map(cmd_str).unwrap_or_default()
        );
        let _ = writeln!(s, "   Interval = {} sec", secs(c.interval_us));
        // The configured timeout; without one keepalived holds 0 (and times the script
        // out at its interval).
        let timeout = if c.explicit.has(Given::Timeout) {
            secs(c.timeout_us)
        } else {
            0
        };
        let _ = writeln!(s, "   Timeout = {timeout} sec");
        let _ = writeln!(
            s,
            "   Weight = {}{}",
            c.weight,
            if c.weight_reverse { " reverse" } else { "" }
        );
        let _ = writeln!(s, "   Rise = {}", c.rise);
        let _ = writeln!(s, "   Fall = {}", c.fall);
        let _ = writeln!(s, "   Result = {}", sc.result());
        let _ = writeln!(s, "   Insecure = no");
        let _ = writeln!(
            s,
            "   Init state = {}",
            match sc.health {
                super::track::Health::Init if c.init_fail => "INIT/FAILED",
                super::track::Health::Init => "INIT",
                _ => "unknown",
            }
        );
        let _ = writeln!(
            s,
            "   Status = {}",
            if sc.result() >= c.rise { "GOOD" } else { "BAD" }
        );
        let (uid, gid) = c
            .script
            .as_ref()
            .map_or(host.script_ids, |cmd| host.ids(cmd));
        let _ = writeln!(s, "   Script uid:gid = {uid}:{gid}");
        s.push_str("   VRRP instances :\n");
        self.tracking_text(s, |t| &t.scripts, &c.name, c.weight);
        let _ = writeln!(
            s,
            "   State = {}",
            if sc.running { "running" } else { "idle" }
        );
    }
}

/// `dump_notify_script()`: `   Master state transition script = '/x' 'y', uid:gid 0:0`.
/// `dump_tracked_bfd()`: a track_bfd entry of an instance or sync group.
fn bfd_ref_line(t: &TrackRef) -> String {
    format!(
        "     {}: weight {}{}",
        t.name,
        t.weight.unwrap_or(0),
        if t.reverse { " reverse" } else { "" }
    )
}

fn notify_line(label: &str, cmd: &Command, host: &DumpHost) -> String {
    let (uid, gid) = host.ids(cmd);
    format!(
        "   {label} state transition script = {}, uid:gid {uid}:{gid}",
        cmd_str(cmd)
    )
}

/// Whether a unicast keyword was given (`VRRP_FLAG_UNICAST_CONFIGURED`).
fn unicast_configured(c: &VrrpInstance) -> bool {
    !c.unicast_peers.is_empty()
        || c.unicast_fault_no_peer
        || c.check_unicast_src
        || c.old_unicast_checksum.is_some()
}

/// Whether keepalived's `vrrp->flags` has a bit set, for which it writes `Flags:` (with
/// the unicast lines under it) rather than `Flags: none`.
fn has_flags(i: &Instance, gl: &GlobalDefs) -> bool {
    let c = &i.cfg;
    let vmac = c.use_vmac.is_some() || c.use_ipvlan.is_some();
    let ttl_checked = c
        .unicast_peers
        .iter()
        .any(|p| p.min_ttl.is_some() || p.max_ttl.is_some());
    let garp_all_if = c
        .garp_extra_if
        .as_ref()
        .or(gl.vrrp_garp_extra_if.as_ref())
        .is_some_and(|e| e.all);
    unicast_configured(c)
        || ttl_checked
        || c.dont_track_primary
        || c.linkbeat_use_polling
        || c.skip_check_adv_addr
        || gl.vrrp_skip_check_adv_addr
        || c.src_ip.is_some()
        || c.track_src_ip
        // Dropped for a VMAC, which has it set anyway (`vrrp_complete_instance()`).
        || (c.promote_secondaries && !vmac)
        || c.nopreempt
        || vmac
        || c.use_vmac_addr
        || garp_all_if
}

/// `VRRP_NOT_TRACK_IF`: the weight of an interface followed without being tracked
/// (`dont_track_primary`).
const NOT_TRACKED: i32 = 255;

/// One instance in an interface's `tracking_vrrp`.
#[derive(Debug, Clone, Copy)]
struct Tracking<'a> {
    instance: &'a str,
    weight: i32,
    reverse: bool,
    /// Followed through a VMAC on the interface (`TRACK_VRRP_DYNAMIC`).
    dynamic: bool,
}

/// `add_vrrp_to_interface()`: a dynamic entry goes first; an instance already there
/// keeps its entry, whose weight becomes the new one unless either is unweighted.
fn track<'a>(out: &mut Vec<Tracking<'a>>, t: Tracking<'a>) {
    if t.dynamic {
        out.insert(0, t);
        return;
    }
    match out
        .iter_mut()
        .find(|o| !o.dynamic && o.instance == t.instance)
    {
        Some(o) => {
            if o.weight != 0 && t.weight != NOT_TRACKED {
                o.weight = t.weight;
                o.reverse = t.reverse;
            }
        }
        None => out.push(t),
    }
}

/// A gratuitous ARP pacing group (`garp_delay_t`).
#[derive(Debug, Clone)]
struct GarpDelay {
    /// `aggregation_group`.
    number: u32,
    arp_us: Option<u64>,
    na_us: Option<u64>,
    interfaces: Vec<String>,
}

/// A socket of keepalived's pool (`sock_t`).
#[derive(Debug)]
struct Pool<'a> {
    ipv6: bool,
    proto: u8,
    interface: &'a str,
    /// Multicast: the group; unicast: the source address.
    peer: Result<IpAddr, Option<IpAddr>>,
    instances: Vec<&'a Instance>,
}

/// The socket the host has for an interface, protocol and family.
fn host_socket<'h>(
    host: &'h DumpHost,
    interface: &str,
    proto: u8,
    ipv6: bool,
) -> Option<&'h HostSocket> {
    host.sockets
        .iter()
        .find(|h| h.interface == interface && h.proto == proto && h.ipv6 == ipv6)
}

/// `names` in the host's interface order (keepalived's `if_queue`), those the host does
/// not have after them.
fn in_host_order<'a>(host: &DumpHost, names: &'a [String]) -> Vec<&'a str> {
    let index = |n: &str| {
        host.interfaces
            .iter()
            .position(|i| i.name == n)
            .unwrap_or(usize::MAX)
    };
    let mut out: Vec<&str> = names.iter().map(String::as_str).collect();
    out.sort_by_key(|n| index(n));
    out
}

/// A `use_vmac` MAC (`VRRP_VMAC_MAC_SPECIFIED`): six octets, not a multicast one.
fn vmac_mac(text: &str) -> Option<[u8; 6]> {
    let octets: Vec<u8> = text
        .split(':')
        .map(|o| u8::from_str_radix(o, 16).ok())
        .collect::<Option<_>>()?;
    let mac: [u8; 6] = octets.try_into().ok()?;
    (mac[0] & 1 == 0).then_some(mac)
}

/// The extra-interface GARPs keepalived keeps for an instance: with an interval, and
/// addresses on a VMAC of their own, or (with `all`) on another interface
/// (`vrrp_complete_instance()` drops them otherwise).
fn extra_if_garps(c: &VrrpInstance) -> Option<&crate::config::model::GarpExtraIf> {
    let g = c
        .garp_extra_if
        .as_ref()
        .filter(|g| g.interval_us >= 1_000_000)?;
    let own = c.vip_interface();
    let (mut extra_vmac, mut extra_if) = (false, false);
    for a in c
        .virtual_ipaddress
        .iter()
        .chain(&c.virtual_ipaddress_excluded)
    {
        if a.use_vmac {
            extra_vmac = true;
        } else if a.dev.is_some() && a.dev.as_deref() != own {
            extra_if = true;
        }
    }
    (extra_vmac || (extra_if && g.all)).then_some(g)
}

/// `format_mac_buf()`: `02:00:5e:93:00:01`.
fn mac(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The interface of addresses that name none (`global_defs` `default_interface`).
fn default_interface(gl: &GlobalDefs) -> &str {
    gl.default_interface.as_deref().unwrap_or("eth0")
}

/// Whether `cur` processes make `p`'s quorum (`have_quorum`).
fn process_quorum(p: &TrackProcess, cur: u32) -> bool {
    cur >= p.quorum && p.quorum_max.is_none_or(|m| cur <= m)
}

/// `vrrp->auth_type`: 0 none, 1 simple password, 2 IPSEC AH.
fn auth_type_number(c: &VrrpInstance) -> u8 {
    match c.authentication.as_ref().map(|a| a.auth_type) {
        None => 0,
        Some(AuthType::Ah) => 2,
        Some(_) => 1,
    }
}

/// `vrrp_json_stats_dump()`; version 2 adds keepalived 2.3's RFC 5798 HMAC extension
/// counters, which no advert of ours fails (no `auth_ext` support): zero.
fn json_stats(i: &Instance, v2: bool) -> String {
    let s = &i.stats;
    let mut o = Obj::new();
    o.num("advert_rcvd", s.advert_rcvd)
        .num("advert_sent", s.advert_sent)
        .num("become_master", s.become_master)
        .num("release_master", s.release_master)
        .num("packet_len_err", s.packet_len_err)
        .num("advert_interval_err", 0)
        .num("ip_ttl_err", s.ip_ttl_err)
        .num("invalid_type_rcvd", s.invalid_type_rcvd)
        .num("addr_list_err", s.addr_list_err)
        .num("invalid_authtype", s.invalid_authtype)
        .num("authtype_mismatch", s.authtype_mismatch)
        .num("auth_failure", s.auth_failure);
    if v2 {
        for k in [
            "auth_ext_missing",
            "auth_ext_malformed",
            "auth_ext_unknown_key",
            "auth_ext_invalid_hmac",
            "auth_ext_stale",
            "auth_ext_replay",
        ] {
            o.num(k, 0);
        }
    }
    o.num("pri_zero_rcvd", s.pri_zero_rcvd)
        .num("pri_zero_sent", s.pri_zero_sent);
    o.end()
}

/// `dump_global_data()` for the VRRP process (`vrrp == true`: with `Default interface`)
/// or the parent, which prints the unresolved lower-priority GARP values
/// (`PARAMETER_UNSET`, 4294967295) when the configuration leaves them unset.
pub fn global_text(gl: &GlobalDefs, parent: bool, script_ids: (u32, u32)) -> String {
    let mut s = String::from("------< Global definitions >------\n");
    let mut w = |l: String| {
        s.push_str(&l);
        s.push('\n');
    };
    let yn = |b: bool| if b { "true" } else { "false" };
    w(" Network namespace = (default)".into());
    w(" Network namespace ipvs = (main namespace)".into());
    if let Some(r) = &gl.router_id {
        w(format!(" Router ID = {r}"));
    }
    for (k, v) in [
        ("smtp_alert", gl.smtp_alert),
        ("smtp_alert_vrrp", gl.smtp_alert_vrrp),
        ("smtp_alert_checker", gl.smtp_alert_checker),
    ] {
        w(format!(
            " Default {k} = {}",
            match v {
                None => "unset",
                Some(true) => "on",
                Some(false) => "off",
            }
        ));
    }
    w(format!(
        " Checkers log all failures = {}",
        yn(gl.checker_log_all_failures)
    ));
    if gl.reload_check_config.is_none() {
        w(" No test config before reload".into());
    }
    if gl.data_use_instance {
        w(" Use instance name in data dumps".into());
    }
    w(format!(
        " Dynamic interfaces = {}",
        yn(gl.dynamic_interfaces)
    ));
    if gl.dynamic_interfaces {
        w(format!(
            " Allow interface changes = {}",
            yn(gl.dynamic_interfaces_allow_if_changes)
        ));
    }
    if gl.no_email_faults {
        w(" Send emails for fault transitions = off".into());
    }
    if !parent {
        w(format!(" Default interface = {}", default_interface(gl)));
    }
    w(format!(
        " Disable local IGMP = {}",
        if gl.disable_local_igmp { "yes" } else { "no" }
    ));
    w(format!(" LVS flush = {}", yn(gl.lvs_flush)));
    w(format!(
        " LVS flush on stop = {}",
        match gl.lvs_flush_on_stop {
            Some(crate::config::model::LvsFlushOnStop::All) => "full",
            Some(crate::config::model::LvsFlushOnStop::Vs) => "VS",
            None => "disabled",
        }
    ));
    w(format!(
        " FIFO write vrrp states on reload = {}",
        yn(gl.fifo_write_vrrp_states_on_reload)
    ));
    w(format!(
        " VRRP notify priority changes = {}",
        yn(gl.vrrp_notify_priority_changes)
    ));
    w(format!(" VRRP IPv4 mcast group = {}", gl.vrrp_mcast_group4));
    w(format!(" VRRP IPv6 mcast group = {}", gl.vrrp_mcast_group6));
    w(format!(
        " Gratuitous ARP delay = {}",
        secs(gl.vrrp_garp_master_delay_us)
    ));
    w(format!(
        " Gratuitous ARP repeat = {}",
        gl.vrrp_garp_master_repeat
    ));
    w(format!(
        " Gratuitous ARP refresh timer = {}",
        secs(gl.vrrp_garp_master_refresh_us)
    ));
    w(format!(
        " Gratuitous ARP refresh repeat = {}",
        gl.vrrp_garp_master_refresh_repeat
    ));
    // The VRRP process resolves unset values to the delay and repeat above.
    const UNSET: u64 = u32::MAX as u64;
    let (lpd, lpr) = match (
        parent,
        gl.vrrp_garp_lower_prio_delay_us,
        gl.vrrp_garp_lower_prio_repeat,
    ) {
        (true, d, r) => (d.map_or(UNSET, secs), r.map_or(UNSET, u64::from)),
        (false, d, r) => (
            secs(d.unwrap_or(gl.vrrp_garp_master_delay_us)),
            u64::from(r.unwrap_or(gl.vrrp_garp_master_repeat)),
        ),
    };
    w(format!(" Gratuitous ARP lower priority delay = {lpd}"));
    w(format!(" Gratuitous ARP lower priority repeat = {lpr}"));
    w(format!(
        " Num adverts before down = {}",
        gl.vrrp_down_timer_adverts
    ));
    w(format!(
        " Gratuitous ARP for each secondary {} = {}s",
        if gl.vrrp_garp_extra_if.as_ref().is_some_and(|e| e.all) {
            "i/f"
        } else {
            "VMAC"
        },
        gl.vrrp_garp_extra_if
            .as_ref()
            .map_or(0, |e| secs(e.interval_us))
    ));
    w(format!(
        " Send advert after receive lower priority advert = {}",
        yn(!gl.vrrp_lower_prio_no_advert)
    ));
    w(format!(
        " Send advert after receive higher priority advert = {}",
        yn(gl.vrrp_higher_prio_send_advert)
    ));
    w(format!(
        " Gratuitous ARP interval = {:.6}",
        secs_f(gl.vrrp_garp_interval_us)
    ));
    w(format!(
        " Gratuitous NA interval = {:.6}",
        secs_f(gl.vrrp_gna_interval_us)
    ));
    w(format!(
        " VRRP default protocol version = {}",
        gl.vrrp_version
    ));
    w(format!(
        " VRRP check unicast_src = {}",
        yn(gl.vrrp_check_unicast_src)
    ));
    w(format!(
        " VRRP skip check advert addresses = {}",
        yn(gl.vrrp_skip_check_adv_addr)
    ));
    w(format!(" VRRP strict mode = {}", yn(gl.vrrp_strict)));
    w(format!(
        " Max auto priority = {}",
        gl.max_auto_priority.unwrap_or(0)
    ));
    w(format!(
        " Min auto priority delay = {} usecs",
        gl.min_auto_priority_delay_us.unwrap_or(1_000_000)
    ));
    for (p, prio, swap, rt, lim) in [
        (
            "VRRP",
            gl.vrrp_priority,
            gl.vrrp_no_swap,
            gl.vrrp_rt_priority,
            gl.vrrp_rlimit_rttime_us,
        ),
        (
            "Checker",
            gl.checker_priority,
            gl.checker_no_swap,
            gl.checker_rt_priority,
            gl.checker_rlimit_rttime_us,
        ),
        (
            "BFD",
            gl.bfd_priority,
            gl.bfd_no_swap,
            gl.bfd_rt_priority,
            gl.bfd_rlimit_rttime_us,
        ),
    ] {
        w(format!(" {p} process priority = {}", prio.unwrap_or(0)));
        w(format!(" {p} don't swap = {}", yn(swap)));
        w(format!(" {p} realtime priority = {}", rt.unwrap_or(0)));
        w(format!(" {p} realtime limit = {lim}"));
    }
    let en = |b: bool| if b { "enabled" } else { "disabled" };
    w(format!(" SNMP vrrp {}", en(gl.enable_snmp_vrrp)));
    w(format!(" SNMP checker {}", en(gl.enable_snmp_checker)));
    w(format!(
        " SNMP RFCv2 {}",
        en(gl.enable_snmp_rfc || gl.enable_snmp_rfcv2)
    ));
    w(format!(
        " SNMP RFCv3 {}",
        en(gl.enable_snmp_rfc || gl.enable_snmp_rfcv3)
    ));
    w(format!(" SNMP traps {}", en(gl.enable_traps)));
    w(format!(
        " SNMP socket = {}",
        gl.snmp_socket
            .as_deref()
            .unwrap_or("default (unix:/var/agentx/master)")
    ));
    w(format!(" DBus {}", en(gl.enable_dbus)));
    w(format!(
        " DBus service name = {}",
        gl.dbus_service_name.as_deref().unwrap_or("")
    ));
    w(format!(
        " Script security {}",
        en(gl.enable_script_security)
    ));
    w(format!(
        " Default script uid:gid {}:{}",
        script_ids.0, script_ids.1
    ));
    // Socket buffer sizes: 0 where the configuration sets none (netlink_buffers).
    for k in [
        "vrrp_netlink_cmd_rcv_bufs",
        "vrrp_netlink_monitor_rcv_bufs",
        "process_monitor_rcv_bufs",
        "lvs_netlink_cmd_rcv_bufs",
        "lvs_netlink_monitor_rcv_bufs",
    ] {
        let b = gl.netlink_buffers.iter().find(|b| b.keyword == k);
        w(format!(" {k} = {}", b.map_or(0, |b| b.size)));
        w(format!(
            " {k}_force = {}",
            b.map_or(0, |b| u8::from(b.force))
        ));
    }
    w(format!(
        " rs_init_notifies = {}",
        u8::from(gl.rs_init_notifies)
    ));
    w(format!(
        " no_checker_emails = {}",
        u8::from(gl.no_checker_emails)
    ));
    w(format!(
        " rx_bufs_multiples = {}",
        gl.vrrp_rx_bufs_multiplier
    ));
    w(format!(" umask = {:04o}", gl.umask.unwrap_or(0o177)));
    s
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::config::{parse_str, ParseOptions};
    use crate::vrrp::InterfaceInfo;

    /// An engine on `text`, with eth0 (10.0.0.1, up) as the host's interface. What the
    /// configuration's reading reports (a route it cannot track…) is the dump's to show.
    fn engine(text: &str) -> Engine {
        let loaded = parse_str(text, &ParseOptions::default());
        let eth0 = InterfaceInfo {
            name: "eth0".into(),
            up: true,
            mac: [2, 0, 0, 0, 0, 1],
            ipv4: Some(Ipv4Addr::new(10, 0, 0, 1)),
            ipv6_ll: None,
            ipv6_forwarding: false,
        };
        Engine::new(loaded.config, Instant::ZERO, vec![eth0])
    }

    /// The lines of section `name` of a state dump.
    fn section(text: &str, name: &str) -> Vec<String> {
        let head = format!("------< {name} >------");
        text.lines()
            .skip_while(|l| *l != head)
            .skip(1)
            .take_while(|l| !l.starts_with("------<"))
            .map(str::to_string)
            .collect()
    }

    fn instance(vrid: u8, extra: &str) -> String {
        format!(
            "vrrp_instance VI_{vrid} {{\n interface eth0\n virtual_router_id {vrid}\n \
             priority 100\n advert_int 1\n virtual_ipaddress {{\n  10.0.0.{vrid}/24\n }}\n{extra}\n}}\n"
        )
    }

    #[test]
    fn float_g_is_printfs_g() {
        for (x, g) in [
            (0.0, "0"),
            (0.1, "0.1"),
            (5.0, "5"),
            (1.0001256, "1.00013"),
            (123456.7, "123457"),
            (1e6, "1e+06"),
            (0.00001, "1e-05"),
            (0.0001, "0.0001"),
        ] {
            assert_eq!(float_g(x), g, "{x}");
        }
    }

    #[test]
    fn stamps_are_cut_as_keepalived_cuts_ctime() {
        let host = DumpHost {
            wall_us: 1_796_494_962_864_674,
            ..DumpHost::default()
        };
        let at = host.wall_us;
        assert_eq!(
            host.stamp(at, Stamp::Micros),
            "1796494962.864674 (Sat Dec  5 18:22:42.864674 2026)"
        );
        assert_eq!(
            host.stamp(at, Stamp::NoYear),
            "1796494962.864674 (Sat Dec  5 18:22:42.864674)"
        );
        assert_eq!(
            host.stamp(at, Stamp::Trailing),
            "1796494962.864674 (Sat Dec  5 18:22:42 2026.864674)"
        );
        assert_eq!(
            host.stamp(0, Stamp::Micros),
            "0.000000 (Thu Jan  1 00:00:00.000000 1970)"
        );
    }

    /// keepalived 2.2.7's own lines for these routes and rules (Debian's build, state
    /// dump of a running daemon); `rtt 12.5ms` is read as keepalived reads it.
    #[test]
    fn static_routes_and_rules_are_keepalived_2_2_7s() {
        let text = format!(
            "static_routes {{\n \
             10.80.0.0/16 via 10.93.0.254 dev eth0 table 1000 metric 5 mtu lock 1400 advmss 1300 \
             rtt 12.5ms rttvar lock 2s rto_min 300ms window 1000 cwnd lock 10 ssthresh 20 \
             reordering 3 hoplimit 64 initcwnd 10 initrwnd 20 features ecn quickack 1 \
             congctl lock cubic fastopen_no_cookie 1 realms 1/2 tos 0x10 onlink scope link \
             protocol 99 no_track\n \
             10.83.0.0/16 nexthop via 10.93.0.253 dev eth0 weight 2 nexthop via 10.93.0.252 dev eth0 weight 3 onlink\n \
             10.84.0.0/16 encap ip id 5 dst 10.1.1.1 tos 4 ttl 9 via 10.93.0.254 dev eth0\n \
             fd95::/64 via fe80::1 dev eth0 pref high expires 100 from fd96::/64 add\n \
             default via 10.93.0.254 dev eth0 table 300\n \
             10.86.0.0/16 encap mpls 100/200 via 10.93.0.254 dev eth0\n \
             10.87.1.1 dev eth0 src 10.93.0.1 rtt 9s\n}}\n\
             static_rules {{\n \
             not from 10.70.0.0/16 to 10.71.0.0/16 fwmark 0x10/0xff iif eth0 oif eth1 table 5 \
             priority 100 tos 8 realms 3/4 suppress_prefixlength 8 suppress_ifgroup 2 \
             uidrange 100-200 ipproto 6 sport 10-20 dport 30-40 tunnel-id 7\n \
             from 10.72.0.0/16 priority 201 blackhole\n \
             from 10.73.0.0/16 priority 202 nop\n \
             from 10.74.0.0/16 priority 203 unreachable no_track\n \
             to 10.75.0.0/16 priority 204 prohibit fwmark 0x5\n}}\n{}",
            instance(1, "")
        );
        let e = engine(&text);
        let d = e.data_text(&DumpHost::default());
        assert_eq!(
            section(&d, "Static Routes"),
            [
                "     prepend 10.80.0.0/16 tos 16 via inet 10.93.0.254 dev eth0 table 1000 proto 99 scope 253 metric 5 onlink realms 1/2 congctl cubiclock  rtt 200ms rttvar lock 2s rto_min 300ms features ecn mtu lock 1400 window 1000 ssthresh 20 cwnd lock 10 advmss 1300 reordering 3 hoplimit 64 initcwnd 10 initrwnd 20 quickack 1 fastopen_no_cookie 1 no_track",
                "     prepend 10.83.0.0/16 proto 18 nexthop via inet 10.93.0.253 dev eth0 weight 2 nexthop via inet 10.93.0.252 dev eth0 weight 3 onlink no_track",
                "     prepend 10.84.0.0/16 encap ip id 5 dst 10.1.1.1 tos 4 ttl 9 via inet 10.93.0.254 dev eth0 proto 18",
                "     add fd95::/64 from fd96::/64 via inet6 fe80::1 dev eth0 proto 18 expires 100sec pref high",
                "     prepend 0.0.0.0/0 via inet 10.93.0.254 dev eth0 table 300 proto 18",
                "     prepend 10.86.0.0/16 encap mpls 64000/c8100 via inet 10.93.0.254 dev eth0 proto 18",
                "     prepend 10.87.1.1 src 10.93.0.1 dev eth0 proto 18 rtt 9s",
            ]
        );
        assert_eq!(
            section(&d, "Static Rules"),
            [
                "     not from 10.70.0.0/16 to 10.71.0.0/16 priority 100 tos 0x8 fwmark 0x10/0xff iif eth0 oif eth1 suppress_prefixlen 8 suppress_ifgroup 2 tunnel-id 7 uidrange 100-200 protocol 18 ipproto 6 sport 10-20 dport 30-40 realms 3/4 lookup 5",
                "     from 10.72.0.0/16 priority 201 tos 0x0 protocol 18 type blackhole",
                "     from 10.73.0.0/16 priority 202 tos 0x0 protocol 18 nop",
                "     from 10.74.0.0/16 priority 203 tos 0x0 type unreachable no_track",
                "     from all to 10.75.0.0/16 priority 204 tos 0x0 fwmark 0x5 protocol 18 type prohibit",
            ]
        );
    }

    /// A tracked static route keepalived installed in a family whose routes it does not
    /// watch never has its interface learnt back, and is written with index 0.
    #[test]
    fn an_installed_route_nobody_watches_shows_index_0() {
        let routes = "static_routes {\n 10.87.0.0/16 dev eth0\n fd87::/64 dev eth0\n}\n";
        let host = DumpHost {
            routes: vec![HostRoute {
                ipv6: false,
                dst: Some("10.87.0.0".parse().unwrap()),
                len: 16,
                table: 254,
                tos: 0,
            }],
            ..DumpHost::default()
        };
        let lines = |text: &str| section(&engine(text).data_text(&host), "Static Routes");
        assert_eq!(
            lines(&format!("{routes}{}", instance(1, ""))),
            [
                "     prepend 10.87.0.0/16 dev eth0 proto 18 [installed ifindex 0]",
                "     prepend fd87::/64 dev eth0 proto 18",
            ]
        );
        // A tracked virtual route of the family makes keepalived watch it.
        let watched = instance(1, " virtual_routes {\n  10.88.0.0/16 dev eth0\n }");
        assert_eq!(
            lines(&format!("{routes}{watched}")),
            [
                "     prepend 10.87.0.0/16 dev eth0 proto 18",
                "     prepend fd87::/64 dev eth0 proto 18",
            ]
        );
    }

    /// `dump_if()` for an interface with a primary and a secondary IPv4 address of its
    /// own, a VIP, two link-local addresses and a global IPv6 one, and what the process
    /// did to it; and for a link that is down.
    #[test]
    fn an_interface_is_written_as_dump_if_writes_it() {
        let e = engine(&instance(
            1,
            " promote_secondaries\n track_interface {\n  eth1 weight 10\n }",
        ));
        let eth0 = HostInterface {
            name: "eth0".into(),
            index: 2,
            flags: 0x1 | 0x2 | 0x40 | 0x1000,
            mtu: 1500,
            hw_type: 1,
            mac: vec![2, 0, 0, 0, 0, 1],
            mac_broadcast: vec![0xff; 6],
            // 10.0.0.1 is VI_1's VIP.
            addresses: [
                "10.0.0.5", "10.0.0.9", "10.0.0.1", "fe80::1", "fd00::1", "fe80::2",
            ]
            .iter()
            .map(|a| a.parse().unwrap())
            .collect(),
            seen_up: true,
            up_debounce_us: 200_000,
            promote_secondaries: 1,
            promote_secondaries_set: true,
            rp_filter: 2,
            ..HostInterface::default()
        };
        let eth1 = HostInterface {
            name: "eth1".into(),
            index: 3,
            flags: 0x1,
            mtu: 9000,
            hw_type: 65534,
            ..HostInterface::default()
        };
        let host = DumpHost {
            interfaces: vec![eth0, eth1],
            ..DumpHost::default()
        };
        let d = e.data_text(&host);
        assert_eq!(
            section(&d, "Interfaces"),
            [
                " Name = eth0",
                "   index = 2",
                "   IPv4 address = 10.0.0.5",
                "   Additional IPv4 addresses :",
                "     10.0.0.9",
                "   IPv6 address = fe80::1",
                "   Additional IPv6 addresses :",
                "     fe80::2",
                "   MAC = 02:00:00:00:00:01",
                "   MAC broadcast = ff:ff:ff:ff:ff:ff",
                "   State = UP, RUNNING",
                "   Seen up = 1",
                "   Delayed state change running = false",
                "   Up debounce timer = 200000us",
                "   Down debounce timer = 0us",
                "   MTU = 1500",
                "   HW Type = ETHERNET",
                "   NIC netlink status update",
                "   Reset ARP config counter 0",
                "   Original arp_ignore 0",
                "   Original arp_filter 0",
                "   rp_filter 2",
                "   Original promote_secondaries 1",
                "   Reset promote_secondaries counter 1",
                "   Tracking VRRP instances :",
                "     VI_1, weight 0",
                " Name = eth1",
                "   index = 3",
                "   IPv4 address = (none)",
                "   IPv6 address = (none)",
                "   State = UP, not RUNNING, no broadcast, no multicast",
                "   Seen up = 0",
                "   Delayed state change running = false",
                "   Up debounce timer = 0us",
                "   Down debounce timer = 0us",
                "   MTU = 9000",
                "   HW Type = UNKNOWN (65534)",
                "   NIC netlink status update",
                "   Reset ARP config counter 0",
                "   Original arp_ignore 0",
                "   Original arp_filter 0",
                "   Original promote_secondaries 0",
                "   Reset promote_secondaries counter 0",
                "   Tracking VRRP instances :",
                "     VI_1, weight 10",
            ]
        );
    }

    /// keepalived's pool has a socket per interface, family, protocol and unicast source
    /// or multicast group, its instances in VRID order; keepalived-rs has one socket per
    /// interface, family and protocol, which both pool entries name.
    #[test]
    fn the_pool_parts_unicast_from_multicast() {
        let unicast = " unicast_src_ip 10.0.0.1\n unicast_peer {\n  10.0.0.2\n }";
        let text = format!(
            "{}{}{}",
            instance(9, ""),
            instance(3, unicast),
            instance(4, "")
        );
        let host = DumpHost {
            sockets: vec![HostSocket {
                interface: "eth0".into(),
                proto: crate::wire::IPPROTO_VRRP,
                ipv6: false,
                fd: Some(7),
                rx_buf_size: 4500,
            }],
            ..DumpHost::default()
        };
        let d = engine(&text).data_text(&host);
        assert_eq!(
            section(&d, "VRRP Sockpool"),
            [
                " fd_in 7 fd_out = 7",
                "   Interface = eth0",
                "   Family = IPv4",
                "   Protocol = VRRP",
                "   Type = Multicast",
                "   Rx buf size = 4500",
                "   VRRP instances",
                "     VI_4 vrid 4",
                "     VI_9 vrid 9",
                " fd_in 7 fd_out = 7",
                "   Interface = eth0",
                "   Family = IPv4",
                "   Protocol = VRRP",
                "   Type = Unicast",
                "   Address = 10.0.0.1",
                "   Rx buf size = 4500",
                "   VRRP instances",
                "     VI_3 vrid 3",
            ]
        );
        assert!(d.contains("   fd_in 7, fd_out 7\n"), "{d}");
    }

    /// A `garp_group` of an `interfaces` block is numbered, a global interval gives
    /// every other interface of an instance a group of its own.
    #[test]
    fn gratuitous_arp_groups_are_keepalived_s() {
        let text = format!(
            "global_defs {{\n vrrp_gna_interval 0.02\n}}\n\
             garp_group {{\n garp_interval 0.1\n interfaces {{\n  eth1\n  eth2\n }}\n}}\n{}",
            instance(1, " virtual_ipaddress {\n  10.1.0.1/24 dev eth3\n }")
        );
        let d = engine(&text).data_text(&DumpHost::default());
        assert_eq!(
            section(&d, "Gratuitous ARP delays"),
            Vec::<String>::new(),
            "the groups are sections of their own"
        );
        let groups: Vec<&str> = d
            .lines()
            .skip_while(|l| !l.starts_with("------< GARP delay group"))
            .take_while(|l| !l.starts_with("------< VRRP Topology"))
            .collect();
        assert_eq!(
            groups,
            [
                "------< GARP delay group 1 >------",
                " GARP interval = 0.1",
                " GARP next time 0.000000 (Thu Jan  1 00:00:00.000000)",
                " Interfaces",
                "  eth1",
                "  eth2",
                "------< GARP delay group 0 >------",
                " GNA interval = 0.02",
                " GNA next time 0.000000 (Thu Jan  1 00:00:00.000000)",
                " Interfaces",
                "  eth0",
                "------< GARP delay group 0 >------",
                " GNA interval = 0.02",
                " GNA next time 0.000000 (Thu Jan  1 00:00:00.000000)",
                " Interfaces",
                "  eth3",
            ]
        );
    }
}
