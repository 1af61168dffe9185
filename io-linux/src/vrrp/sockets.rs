//! The VRRP child's packets in and out: a raw socket per (interface, protocol, family)
//! the configuration needs, open while its interface exists, read in turn and dated from
//! when the kernel received each packet, and the AF_PACKET socket gratuitous ARPs and
//! neighbour advertisements go out on.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::task::{Context, Poll};
use std::time::Duration;

use futures::FutureExt;
use keepalived_engine::config::model::{AuthType, Config};
use keepalived_engine::time::Instant;
use keepalived_engine::vrrp::Input;
use keepalived_engine::wire::Family;
use tracing::debug;

use keepalived_driver::EngineClock;

use super::raw::{PacketSender, RawV4, RawV6, Received6};

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

/// Runts and errors one socket may give in a row before the others get their turn.
const UNUSABLE_READS: usize = 64;

/// A socket, and the index of the interface it was opened on.
struct Open {
    ifindex: u32,
    sock: Sock,
}

/// The interface, protocol and family a socket is for.
type Key = (String, u8, Family);

/// The VRRP sockets, one per interface, protocol and family, and the AF_PACKET sender.
pub(crate) struct Sockets {
    by_key: BTreeMap<Key, Open>,
    /// The sockets the configuration needs, open or waiting for their interface.
    wanted: BTreeSet<Key>,
    group4: Ipv4Addr,
    group6: Ipv6Addr,
    /// The engine's clock, to date each packet from when the kernel received it.
    clock: EngineClock,
    /// Where a received IPv4 datagram is read into.
    buf: Vec<u8>,
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
            wanted: BTreeSet::new(),
            group4: keepalived_engine::wire::MCAST_GROUP4,
            group6: keepalived_engine::wire::MCAST_GROUP6,
            clock,
            buf: vec![0; 65536],
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
        self.wanted = config
            .instances
            .iter()
            .filter_map(|vi| {
                let ifname = vi.xmit_interface()?.to_string();
                let ah = matches!(&vi.authentication, Some(a) if a.auth_type == AuthType::Ah);
                let proto = if ah {
                    keepalived_engine::wire::IPPROTO_AH
                } else {
                    keepalived_engine::wire::IPPROTO_VRRP
                };
                let family = if vi.is_ipv6() { Family::V6 } else { Family::V4 };
                Some((ifname, proto, family))
            })
            .collect();
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
        for key in &self.wanted {
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
                    self.by_key.insert(
                        key.clone(),
                        Open {
                            ifindex: index,
                            sock,
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

    /// A packet from whichever socket has one, each socket asked first in turn.
    fn poll_packet(&mut self, cx: &mut Context<'_>) -> Poll<(Instant, Input)> {
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
                match sock.poll_input(cx, interface, &mut self.buf) {
                    Poll::Pending => {
                        unread = false;
                        break;
                    }
                    Poll::Ready(Ok((Some(input), waited))) => {
                        self.turn = (k + 1) % n;
                        return Poll::Ready((arrival(self.clock.now(), waited), input));
                    }
                    Poll::Ready(Ok((None, _))) => {}
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
    /// IPv6 payload) on the socket of its interface, protocol and family.
    pub(crate) fn send_advert(
        &self,
        interface: &str,
        family: Family,
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
            (Some(Sock::V6(s)), IpAddr::V6(d)) => s.send(bytes, d),
            _ => Err(std::io::Error::other(
                "no socket for this interface and family",
            )),
        }
    }

    /// Sends a whole Ethernet frame (a GARP or an NA) out of interface `ifindex`.
    pub(crate) fn send_frame(&self, ifindex: u32, frame: &[u8]) -> std::io::Result<()> {
        self.frames.send(ifindex, frame)
    }
}

impl Sock {
    /// One datagram as the engine's input (`None` for one that cannot be), if the runtime
    /// has seen one arrive, and how long it waited to be read.
    fn poll_input(
        &self,
        cx: &mut Context<'_>,
        interface: &str,
        buf: &mut [u8],
    ) -> Poll<std::io::Result<(Option<Input>, Option<Duration>)>> {
        match self {
            Sock::V4(s) => s
                .poll_recv(cx, buf)
                .map_ok(|(len, waited)| (v4_input(interface, &buf[..len]), waited)),
            Sock::V6(s) => s.poll_recv(cx).map_ok(|r| {
                let waited = r.waited;
                (v6_input(interface, r), waited)
            }),
        }
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
}
