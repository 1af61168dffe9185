//! The VRRP child's packets in and out: a raw socket per (interface, protocol, family)
//! the configuration needs, open while its interface exists, read in turn and dated from
//! when the kernel received each packet, and the AF_PACKET socket gratuitous ARPs and
//! neighbour advertisements go out on.

use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::AsRawFd;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use futures::FutureExt;
use keepalived_engine::config::model::{AuthType, Config, VrrpInstance};
use keepalived_engine::time::Instant;
use keepalived_engine::vrrp::dump::HostSocket;
use keepalived_engine::vrrp::Input;
use keepalived_engine::wire::Family;
use tracing::{debug, warn};

use keepalived_driver::EngineClock;

use super::raw::{interface_mtu, Batch, PacketSender, RawV4, RawV6, Received6};

/// One raw socket: IPv4 (IP header ours) or IPv6 (header the kernel's).
enum Sock {
    V4(RawV4),
    V6(RawV6),
}

/// The most packets [`Sockets::streak_packet`] hands out in a row before the loop looks
/// at signals, script exits and netlink again.
const PACKET_STREAK: u32 = 64;

/// A receive stamp further back than this is taken for a wall clock stepped forward, not
/// for a wait: such a packet is dated when it is read.
const LONGEST_WAIT: Duration = Duration::from_secs(1);

/// Reads one socket may make in a row that give no packet (a batch of runts, an error)
/// before the others get their turn.
const UNUSABLE_READS: usize = 64;

/// A socket, and the index of the interface it was opened on.
struct Open {
    ifindex: u32,
    sock: Sock,
    /// The receive buffer size last set on it, 0 for the kernel's.
    rx_bytes: i32,
}

/// The interface, protocol and family a socket is for.
type Key = (String, u8, Family);

/// The VRRP sockets, one per interface, protocol and family, and the AF_PACKET sender.
pub(crate) struct Sockets {
    by_key: BTreeMap<Key, Open>,
    /// The sockets the configuration needs, open or waiting for their interface, and
    /// the receive buffer each is to have.
    wanted: BTreeMap<Key, RxBuf>,
    group4: Ipv4Addr,
    group6: Ipv6Addr,
    /// The engine's clock, to date each packet from when the kernel received it.
    clock: EngineClock,
    /// Where received datagrams are read into.
    batch: Batch,
    /// Packets read in the last batch and not yet handed out, in the order they came.
    pending: VecDeque<(Instant, Input)>,
    /// The socket [`Sockets::poll_packet`] asks first, so that one busy interface cannot
    /// keep the others waiting.
    turn: usize,
    /// Packets taken in a row without looking at signals, scripts and netlink.
    streak: u32,
    /// Gratuitous ARPs and neighbour advertisements, whole Ethernet frames.
    frames: PacketSender,
}

impl Sockets {
    /// No VRRP socket yet; the AF_PACKET sender open.
    pub(crate) fn new(clock: EngineClock) -> Result<Sockets, String> {
        Ok(Sockets {
            by_key: BTreeMap::new(),
            wanted: BTreeMap::new(),
            group4: keepalived_engine::wire::MCAST_GROUP4,
            group6: keepalived_engine::wire::MCAST_GROUP6,
            clock,
            batch: Batch::default(),
            pending: VecDeque::new(),
            turn: 0,
            streak: 0,
            frames: PacketSender::open().map_err(|e| format!("AF_PACKET socket: {e}"))?,
        })
    }

    /// The sockets `config` needs: one per (interface, protocol, family) its instances
    /// send and receive on. Those whose interface exists open now; the others open when
    /// it appears ([`Sockets::follow`]). `ifindex` names the interfaces the host has.
    pub(crate) fn open(
        &mut self,
        config: &Config,
        ifindex: impl Fn(&str) -> Option<u32>,
    ) -> Result<(), String> {
        self.group4 = match config.global.vrrp_mcast_group4 {
            IpAddr::V4(g) => g,
            IpAddr::V6(_) => keepalived_engine::wire::MCAST_GROUP4,
        };
        self.group6 = match config.global.vrrp_mcast_group6 {
            IpAddr::V6(g) => g,
            IpAddr::V4(_) => keepalived_engine::wire::MCAST_GROUP6,
        };
        let policy = RxBufsPolicy::from_global(
            config.global.vrrp_rx_bufs_policy.as_deref(),
            config.global.vrrp_rx_bufs_multiplier,
        );
        self.wanted.clear();
        for vi in &config.instances {
            let Some(ifname) = vi.xmit_interface() else {
                continue;
            };
            let ah = matches!(&vi.authentication, Some(a) if a.auth_type == AuthType::Ah);
            let proto = if ah {
                keepalived_engine::wire::IPPROTO_AH
            } else {
                keepalived_engine::wire::IPPROTO_VRRP
            };
            let family = if vi.is_ipv6() { Family::V6 } else { Family::V4 };
            let key = (ifname.to_string(), proto, family);
            self.wanted
                .entry(key)
                .or_default()
                .add(policy.share(vi, family, ah));
        }
        self.follow(ifindex)
    }

    /// Brings the sockets in line with the host's interfaces: a socket the configuration
    /// needs opens once its interface exists, a socket whose interface is gone closes,
    /// and one whose interface was deleted and created again (a new ifindex) is opened
    /// afresh, as its device binding and group membership went with the old interface
    /// (keepalived closes and reopens them the same way, `cleanup_lost_interface()`,
    /// `vrrp_if.c`). Sockets a reload no longer needs stay as they are.
    pub(crate) fn follow(&mut self, ifindex: impl Fn(&str) -> Option<u32>) -> Result<(), String> {
        self.by_key.retain(|(ifname, ..), open| {
            let keep = ifindex(ifname) == Some(open.ifindex);
            if !keep {
                debug!(interface = %ifname, "closing the VRRP socket of an interface that is gone");
            }
            keep
        });
        let mut failed = Vec::new();
        for (key, rx_buf) in &self.wanted {
            if self.by_key.contains_key(key) {
                continue;
            }
            let (ifname, proto, family) = key;
            let Some(index) = ifindex(ifname) else {
                continue;
            };
            let sock = match family {
                Family::V6 => RawV6::open(ifname, index, self.group6)
                    .map(Sock::V6)
                    .map_err(|e| format!("raw IPv6 socket on {ifname}: {e}")),
                Family::V4 => RawV4::open(ifname, index, *proto, self.group4)
                    .map(Sock::V4)
                    .map_err(|e| format!("raw socket on {ifname}: {e}")),
            };
            match sock {
                Ok(sock) => {
                    let bytes = rx_buf.bytes(interface_mtu);
                    if bytes > 0 {
                        // keepalived logs a failure here and carries on with the
                        // kernel's buffer (`open_vrrp_read_socket()`).
                        if let Err(e) = sock.set_recv_buffer(bytes) {
                            warn!(interface = %ifname, "vrrp set receive socket buffer size: {e}");
                        }
                    }
                    self.by_key.insert(
                        key.clone(),
                        Open {
                            ifindex: index,
                            sock,
                            rx_bytes: bytes,
                        },
                    );
                }
                Err(e) => failed.push(e),
            }
        }
        if failed.is_empty() {
            Ok(())
        } else {
            Err(failed.join("; "))
        }
    }

    /// Interface `ifname`'s link changed: a socket whose receive buffer is counted in
    /// its MTU is sized again if the MTU moved (`update_mtu()`, `vrrp_if.c`).
    pub(crate) fn link_changed(&mut self, ifname: &str) {
        for (key, open) in &mut self.by_key {
            let Some(rx) = self.wanted.get(key).filter(|rx| rx.follows_mtu_of(ifname)) else {
                continue;
            };
            let bytes = rx.bytes(interface_mtu);
            if bytes == open.rx_bytes || bytes == 0 {
                continue;
            }
            match open.sock.set_recv_buffer(bytes) {
                Ok(()) => open.rx_bytes = bytes,
                Err(e) => {
                    warn!(interface = %key.0, "vrrp update receive socket buffer size: {e}")
                }
            }
        }
    }

    /// A packet that has already arrived, unless [`PACKET_STREAK`] were taken in a row:
    /// `None` restarts the count, and the loop looks at everything else before the next.
    pub(crate) fn streak_packet(&mut self) -> Option<(Instant, Input)> {
        if self.streak < PACKET_STREAK {
            if let Some(packet) = tokio::task::unconstrained(self.recv()).now_or_never() {
                self.streak += 1;
                return Some(packet);
            }
        }
        self.streak = 0;
        None
    }

    /// The next packet from whichever socket has one, and when it arrived. Cancel-safe.
    pub(crate) fn recv(&mut self) -> impl Future<Output = (Instant, Input)> + '_ {
        std::future::poll_fn(move |cx| self.poll_packet(cx))
    }

    /// The next packet of the last batch read or, when that is used up, from whichever
    /// socket has one, each socket asked first in turn.
    fn poll_packet(&mut self, cx: &mut Context<'_>) -> Poll<(Instant, Input)> {
        if let Some(packet) = self.pending.pop_front() {
            return Poll::Ready(packet);
        }
        let n = self.by_key.len();
        let start = self.turn.min(n);
        let in_turn = self.by_key.iter().enumerate().skip(start);
        let mut more = false;
        for (k, ((interface, ..), Open { sock, .. })) in
            in_turn.chain(self.by_key.iter().enumerate().take(start))
        {
            // Reads past what is not a packet (a runt, a socket error), so that the
            // socket is left either with a packet taken or with the waker registered.
            let mut unread = true;
            for _ in 0..UNUSABLE_READS {
                let read = sock.poll_read(
                    cx,
                    interface,
                    &mut self.batch,
                    &self.clock,
                    &mut self.pending,
                );
                match read {
                    Poll::Pending => {
                        unread = false;
                        break;
                    }
                    Poll::Ready(Ok(())) => {
                        if let Some(packet) = self.pending.pop_front() {
                            self.turn = (k + 1) % n;
                            return Poll::Ready(packet);
                        }
                    }
                    Poll::Ready(Err(e)) => debug!(%interface, "receiving: {e}"),
                }
            }
            more |= unread;
        }
        if more {
            // A socket still holds packets but has no waker: come back to it.
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    }

    /// Sends an advert the engine built (`bytes`: an IPv4 datagram with its header, or an
    /// IPv6 payload, sent from `src`) on the socket of its interface, protocol and family.
    pub(crate) fn send_advert(
        &self,
        interface: &str,
        family: Family,
        src: IpAddr,
        dst: IpAddr,
        bytes: &[u8],
    ) -> std::io::Result<()> {
        let proto = match family {
            Family::V4 => bytes
                .get(9)
                .copied()
                .unwrap_or(keepalived_engine::wire::IPPROTO_VRRP),
            Family::V6 => keepalived_engine::wire::IPPROTO_VRRP,
        };
        let open = self.by_key.get(&(interface.to_string(), proto, family));
        match (open.map(|o| &o.sock), dst) {
            (Some(Sock::V4(s)), IpAddr::V4(d)) => s.send(bytes, d),
            (Some(Sock::V6(s)), IpAddr::V6(d)) => {
                let src = match src {
                    IpAddr::V6(a) => Some(a),
                    IpAddr::V4(_) => None,
                };
                s.send(bytes, src, d)
            }
            _ => Err(std::io::Error::other(
                "no socket for this interface and family",
            )),
        }
    }

    /// The sockets the configuration wants, each with its descriptor once open and its
    /// receive buffer, for the data dump.
    pub(crate) fn describe(&self) -> Vec<HostSocket> {
        self.wanted
            .iter()
            .map(|(key, rx)| {
                let (interface, proto, family) = key;
                let open = self.by_key.get(key);
                HostSocket {
                    interface: interface.clone(),
                    proto: *proto,
                    ipv6: *family == Family::V6,
                    fd: open.map(|o| match &o.sock {
                        Sock::V4(s) => s.as_raw_fd(),
                        Sock::V6(s) => s.as_raw_fd(),
                    }),
                    rx_buf_size: open.map_or_else(|| rx.bytes(interface_mtu), |o| o.rx_bytes),
                }
            })
            .collect()
    }

    /// Sends a whole Ethernet frame (a GARP or an NA) out of interface `ifindex`.
    pub(crate) fn send_frame(&self, ifindex: u32, frame: &[u8]) -> std::io::Result<()> {
        self.frames.send(ifindex, frame)
    }
}

impl Sock {
    fn set_recv_buffer(&self, bytes: i32) -> std::io::Result<()> {
        match self {
            Sock::V4(s) => s.set_recv_buffer(bytes),
            Sock::V6(s) => s.set_recv_buffer(bytes),
        }
    }

    /// What the socket holds, once the runtime has seen a datagram arrive: a batch of
    /// IPv4 datagrams or one IPv6 packet, onto `out` as engine inputs, each dated from
    /// when it arrived (one that cannot be an input, a runt, is read and left out).
    fn poll_read(
        &self,
        cx: &mut Context<'_>,
        interface: &str,
        batch: &mut Batch,
        clock: &EngineClock,
        out: &mut VecDeque<(Instant, Input)>,
    ) -> Poll<std::io::Result<()>> {
        match self {
            Sock::V4(s) => {
                ready!(s.poll_recv_batch(cx, batch))?;
                let now = clock.now();
                out.extend(batch.datagrams().filter_map(|(bytes, waited)| {
                    Some((arrival(now, waited), v4_input(interface, bytes)?))
                }));
            }
            Sock::V6(s) => {
                let r = ready!(s.poll_recv(cx, batch.first_mut()))?;
                let at = arrival(clock.now(), r.waited);
                out.extend(v6_input(interface, r).map(|input| (at, input)));
            }
        }
        Poll::Ready(Ok(()))
    }
}

/// How `vrrp_rx_bufs_policy` sizes the receive buffers of instances without their own
/// `kernel_rx_buf_size` (`vrrp_rx_bufs_policy_handler()`): a size given outright wins
/// over MTU and ADVERT, and MTU over ADVERT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RxBufsPolicy {
    /// The kernel's default buffer.
    Kernel,
    /// `multiplier` times the instance's interface MTU.
    Mtu(u64),
    /// `multiplier` times the length of the instance's advert, IP header included.
    Advert(u64),
    /// This many bytes per instance.
    Size(u64),
}

impl RxBufsPolicy {
    fn from_global(policy: Option<&str>, multiplier: u32) -> RxBufsPolicy {
        let words: Vec<&str> = policy
            .map(|p| p.split_whitespace().collect())
            .unwrap_or_default();
        let has = |w: &str| words.iter().any(|x| x.eq_ignore_ascii_case(w));
        let size = words
            .iter()
            .filter(|w| !w.eq_ignore_ascii_case("MTU") && !w.eq_ignore_ascii_case("ADVERT"))
            .find_map(|w| w.parse::<u32>().ok());
        let multiplier = u64::from(multiplier);
        match size {
            Some(n) => RxBufsPolicy::Size(u64::from(n)),
            None if has("MTU") => RxBufsPolicy::Mtu(multiplier),
            None if has("ADVERT") => RxBufsPolicy::Advert(multiplier),
            None => RxBufsPolicy::Kernel,
        }
    }

    /// What instance `vi` adds to the receive buffer of its socket
    /// (`vrrp_create_sockpool()`): its `kernel_rx_buf_size`, else the policy's share.
    fn share(self, vi: &VrrpInstance, family: Family, ah: bool) -> RxShare {
        if let Some(n) = vi.kernel_rx_buf_size.filter(|n| *n > 0) {
            return RxShare::Bytes(u64::from(n));
        }
        match self {
            RxBufsPolicy::Kernel => RxShare::Bytes(0),
            RxBufsPolicy::Size(n) => RxShare::Bytes(n),
            RxBufsPolicy::Advert(m) => RxShare::Bytes(m * advert_len(vi, family, ah)),
            RxBufsPolicy::Mtu(m) => match vi.vip_interface() {
                Some(ifname) => RxShare::Mtu {
                    interface: ifname.to_string(),
                    multiplier: m,
                },
                None => RxShare::Bytes(0),
            },
        }
    }
}

/// The length of instance `vi`'s advert as received (`vrrp_adv_len()`): the VRRP header,
/// IPv4's VRRPv2 authentication data, its VIPs of its family, and for IPv4 the IP header
/// and any AH header.
fn advert_len(vi: &VrrpInstance, family: Family, ah: bool) -> u64 {
    const VRRP_HEADER: u64 = 8;
    const VRRP_AUTH_LEN: u64 = 8;
    const IPV4_HEADER: u64 = 20;
    const AH_HEADER: u64 = 24;
    let vips = vi
        .virtual_ipaddress
        .iter()
        .filter(|a| a.address.is_ipv6() == (family == Family::V6))
        .count() as u64;
    match family {
        Family::V4 => {
            let auth = if vi.version == 2 { VRRP_AUTH_LEN } else { 0 };
            let ah = if ah { AH_HEADER } else { 0 };
            VRRP_HEADER + auth + 4 * vips + IPV4_HEADER + ah
        }
        Family::V6 => VRRP_HEADER + 16 * vips,
    }
}

/// One instance's part of its socket's receive buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
enum RxShare {
    Bytes(u64),
    /// `multiplier` times the MTU `interface` has when the socket opens.
    Mtu {
        interface: String,
        multiplier: u64,
    },
}

/// The receive buffer a socket is to have: the sum of its instances' shares.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct RxBuf {
    shares: Vec<RxShare>,
}

impl RxBuf {
    fn add(&mut self, share: RxShare) {
        self.shares.push(share);
    }

    /// Whether a share is counted in `ifname`'s MTU.
    fn follows_mtu_of(&self, ifname: &str) -> bool {
        self.shares
            .iter()
            .any(|s| matches!(s, RxShare::Mtu { interface, .. } if interface == ifname))
    }

    /// The SO_RCVBUF to set, 0 for the kernel's default; an interface whose MTU cannot
    /// be read adds nothing. keepalived keeps the size in an `int`.
    fn bytes(&self, mtu: impl Fn(&str) -> std::io::Result<u32>) -> i32 {
        let total: u64 = self
            .shares
            .iter()
            .map(|s| match s {
                RxShare::Bytes(n) => *n,
                RxShare::Mtu {
                    interface,
                    multiplier,
                } => mtu(interface).map_or(0, |m| multiplier * u64::from(m)),
            })
            .sum();
        i32::try_from(total).unwrap_or(i32::MAX)
    }
}

/// When a packet read at `now` arrived: a timer it restarts counts from its arrival
/// (RFC 5798 §6.4.2), not from when a busy loop got to it.
fn arrival(now: Instant, waited: Option<Duration>) -> Instant {
    match waited.filter(|w| *w <= LONGEST_WAIT) {
        Some(w) => Instant::from_micros(now.as_micros().saturating_sub(w.as_micros() as u64)),
        None => now,
    }
}

/// A received IPv4 datagram (header included) as the engine's input.
fn v4_input(interface: &str, b: &[u8]) -> Option<Input> {
    let header = b.get(..20)?;
    Some(Input::Packet {
        interface: interface.to_string(),
        family: Family::V4,
        src: IpAddr::from([header[12], header[13], header[14], header[15]]),
        dst: IpAddr::from([header[16], header[17], header[18], header[19]]),
        hop_limit: Some(header[8]),
        bytes: b.to_vec(),
    })
}

/// A received IPv6 payload as the engine's input; without its destination (no
/// IPV6_PKTINFO) it cannot be checked, so it is dropped.
fn v6_input(interface: &str, r: Received6) -> Option<Input> {
    Some(Input::Packet {
        interface: interface.to_string(),
        family: Family::V6,
        src: IpAddr::V6(r.src),
        dst: IpAddr::V6(r.dst?),
        hop_limit: r.hop_limit,
        bytes: r.payload,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_packet_is_dated_when_it_arrived_unless_its_stamp_is_implausible() {
        let now = Instant::from_micros(5_000_000);
        let ms = Duration::from_millis;
        assert_eq!(arrival(now, Some(ms(3))), Instant::from_micros(4_997_000));
        assert_eq!(arrival(now, None), now);
        // Further back than any wait: a wall clock stepped forward.
        assert_eq!(arrival(now, Some(LONGEST_WAIT + ms(1))), now);
        // Never before the engine's epoch.
        let early = Instant::from_micros(200);
        assert_eq!(arrival(early, Some(ms(1))), Instant::ZERO);
    }

    fn instance(text: &str) -> Config {
        keepalived_engine::config::parse_str(
            text,
            &keepalived_engine::config::ParseOptions::default(),
        )
        .config
    }

    #[test]
    fn the_rx_bufs_policy_follows_keepalived_precedence() {
        let p = |s: &str| RxBufsPolicy::from_global(Some(s), 3);
        assert_eq!(RxBufsPolicy::from_global(None, 3), RxBufsPolicy::Kernel);
        assert_eq!(p("mtu"), RxBufsPolicy::Mtu(3));
        assert_eq!(p("ADVERT"), RxBufsPolicy::Advert(3));
        assert_eq!(p("MTU ADVERT"), RxBufsPolicy::Mtu(3));
        assert_eq!(p("ADVERT 5000"), RxBufsPolicy::Size(5000));
    }

    #[test]
    fn a_socket_buffer_sums_its_instances_shares() {
        let config = instance(
            "global_defs {\n vrrp_rx_bufs_policy ADVERT\n vrrp_rx_bufs_multiplier 4\n}\n\
             vrrp_instance A {\n interface eth0\n virtual_router_id 1\n priority 100\n\
             virtual_ipaddress {\n 10.0.0.1\n 10.0.0.2\n }\n}\n\
             vrrp_instance B {\n interface eth0\n virtual_router_id 2\n priority 100\n\
             kernel_rx_buf_size 1000\n virtual_ipaddress {\n 10.0.0.3\n }\n}\n\
             vrrp_instance C {\n interface eth0\n virtual_router_id 3\n priority 100\n\
             native_ipv6\n virtual_ipaddress {\n fe80::1\n }\n}\n",
        );
        let policy = RxBufsPolicy::from_global(
            config.global.vrrp_rx_bufs_policy.as_deref(),
            config.global.vrrp_rx_bufs_multiplier,
        );
        let [a, b, c] = &config.instances[..] else {
            panic!("three instances");
        };
        // VRRPv2 over IPv4: 8 header + 8 auth + 2 x 4 VIPs + 20 IP header = 44.
        assert_eq!(advert_len(a, Family::V4, false), 44);
        assert_eq!(advert_len(a, Family::V4, true), 68);
        assert_eq!(advert_len(c, Family::V6, false), 24);
        let mut buf = RxBuf::default();
        buf.add(policy.share(a, Family::V4, false));
        buf.add(policy.share(b, Family::V4, false));
        assert_eq!(buf.bytes(|_| Ok(1500)), 4 * 44 + 1000);

        let mtu = RxBufsPolicy::Mtu(3);
        let mut buf = RxBuf::default();
        buf.add(mtu.share(a, Family::V4, false));
        buf.add(mtu.share(b, Family::V4, false));
        assert_eq!(buf.bytes(|_| Ok(1500)), 3 * 1500 + 1000);
        assert_eq!(buf.bytes(|_| Err(std::io::Error::other("gone"))), 1000);
        assert_eq!(RxBuf::default().bytes(|_| Ok(1500)), 0);
    }
}
