//! The BFD child's sockets (keepalived's `bfd_open_fd_in()`, `bfd_receive_packet()`,
//! `bfd_open_fd_out()`, `bfd_send_packet()`): one socket receives every control packet on
//! UDP port 3784 (RFC 5881 §4), IPv6 and IPv4 at once where the host has IPv6, with the
//! TTL or hop limit and the local address each came to; each session sends on a socket
//! of its own, bound to its `source_ip` on a source port in 49152–65535, with its TTL or
//! hop limit set.

use std::collections::BTreeMap;
use std::io;
use std::mem::MaybeUninit;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::AsRawFd;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use tokio::io::unix::AsyncFd;
use tracing::{error, warn};

use keepalived_engine::bfd::Input;
use keepalived_engine::time::Instant;

/// RFC 5881 §4: "The source port MUST be in the range 49152 through 65535."
const MIN_PORT: u16 = 49152;
const MAX_PORT: u16 = u16::MAX;

/// The range `read_local_port_range()` assumes when the kernel's cannot be read.
const DEFAULT_LOCAL_RANGE: (u16, u16) = (49152, 60999);

/// `fd` registered with the running runtime's reactor.
pub(crate) fn register<T: AsRawFd>(fd: T) -> io::Result<AsyncFd<T>> {
    // SAFETY: `fd` is open and owned by the AsyncFd for its whole life.
    unsafe { AsyncFd::register(fd) }.map_err(|e| io::Error::other(e.to_string()))
}

/// Larger than any control packet (24 bytes, and at most 28 more of authentication).
const RECV_BUF: usize = 2048;

/// SO_TIMESTAMPNS (asm/socket.h; the libc crate leaves it out for glibc): the kernel
/// stamps each datagram with the wall clock when it arrived.
#[cfg(not(target_arch = "sparc64"))]
const SO_TIMESTAMPNS: i32 = 35;
#[cfg(target_arch = "sparc64")]
const SO_TIMESTAMPNS: i32 = 0x21;

/// A receive stamp further back than this is taken for a wall clock stepped, not for a
/// wait: such a packet is dated when it is read.
const LONGEST_WAIT: Duration = Duration::from_secs(1);

/// What was received, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Received {
    pub src: IpAddr,
    pub dst: Option<IpAddr>,
    pub ttl: Option<u8>,
    pub bytes: Vec<u8>,
    /// How long ago the kernel received it, by its stamp.
    pub waited: Option<Duration>,
}

impl Received {
    /// When it arrived on the engine's clock, `now` being now: a packet that waited
    /// while the loop was busy restarts the Detection Time from its arrival (RFC 5880
    /// §6.8.4), not from when it was read.
    pub(crate) fn arrived(&self, now: Instant) -> Instant {
        match self.waited.filter(|w| *w <= LONGEST_WAIT) {
            Some(w) => Instant::from_micros(now.as_micros().saturating_sub(w.as_micros() as u64)),
            None => now,
        }
    }

    pub(crate) fn input(self) -> Input {
        Input::Packet {
            src: self.src,
            dst: self.dst,
            ttl: self.ttl,
            bytes: self.bytes,
        }
    }
}

/// The receiving socket on port 3784.
pub(crate) struct Listener {
    fd: AsyncFd<Socket>,
}

impl Listener {
    /// Binds `[::]:port` dual-stack, or `0.0.0.0:port` where IPv6 is off (socket(AF_INET6)
    /// fails with EAFNOSUPPORT), asking for the TTL and local address of each packet.
    /// Needs a runtime.
    pub(crate) fn open(port: u16) -> io::Result<Listener> {
        let (socket, v6) = match Socket::new(Domain::IPV6, Type::DGRAM, Some(Protocol::UDP)) {
            Ok(s) => (s, true),
            Err(e) if e.raw_os_error() == Some(libc::EAFNOSUPPORT) => (
                Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?,
                false,
            ),
            Err(e) => return Err(e),
        };
        socket.set_nonblocking(true)?;
        socket.set_cloexec(true)?;
        // The TTL of IPv4 packets, which a dual-stack socket receives as v4-mapped too.
        set_flag(&socket, libc::IPPROTO_IP, libc::IP_RECVTTL, "IP_RECVTTL")?;
        set_flag(&socket, libc::SOL_SOCKET, SO_TIMESTAMPNS, "SO_TIMESTAMPNS")?;
        let addr: SocketAddr = if v6 {
            // Whatever net.ipv6.bindv6only says: keepalived relies on the default (off).
            socket.set_only_v6(false)?;
            set_flag(
                &socket,
                libc::IPPROTO_IPV6,
                libc::IPV6_RECVHOPLIMIT,
                "IPV6_RECVHOPLIMIT",
            )?;
            set_flag(
                &socket,
                libc::IPPROTO_IPV6,
                libc::IPV6_RECVPKTINFO,
                "IPV6_RECVPKTINFO",
            )?;
            (Ipv6Addr::UNSPECIFIED, port).into()
        } else {
            set_flag(&socket, libc::IPPROTO_IP, libc::IP_PKTINFO, "IP_PKTINFO")?;
            (Ipv4Addr::UNSPECIFIED, port).into()
        };
        socket
            .bind(&addr.into())
            .map_err(|e| io::Error::new(e.kind(), format!("bind() to {addr}: {e}")))?;
        Ok(Listener {
            fd: register(socket)?,
        })
    }

    /// Its descriptor, for the dump's `fd_in`.
    pub(crate) fn fd(&self) -> i32 {
        self.fd.get_ref().as_raw_fd()
    }

    /// The port it is bound to.
    #[cfg(test)]
    pub(crate) fn port(&self) -> io::Result<u16> {
        let a = self.fd.get_ref().local_addr()?;
        Ok(a.as_socket().map_or(0, |s| s.port()))
    }

    /// The next datagram. Cancel-safe: nothing awaits once one is read. A datagram that
    /// cannot be used (truncated) or a failed read is logged and skipped.
    ///
    /// Each datagram, used or skipped, costs a unit of the task's cooperative budget.
    /// AsyncFd's readiness costs none, so without it a flood to port 3784 that never
    /// lets the socket run dry would keep the loop from ever yielding: the runtime would
    /// never poll for signals (SIGTERM, SIGHUP, SIGUSR1, the parent's SIGUSR2) or for
    /// the event pipes' room until the flood stopped. keepalived's scheduler reads one
    /// datagram per pass through its loop (`bfd_receiver_thread()`).
    pub(crate) async fn recv(&self) -> Received {
        loop {
            tokio::task::coop::consume_budget().await;
            let Ok(mut ready) = self.fd.readable().await else {
                return std::future::pending().await;
            };
            match recv_msg(self.fd.get_ref()) {
                Ok(Some(r)) => return r,
                Ok(None) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => ready.clear_ready(),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    error!("recvmsg() error ({e})");
                    ready.clear_ready();
                }
            }
        }
    }
}

fn set_flag(socket: &Socket, level: i32, name: i32, what: &str) -> io::Result<()> {
    let yes: libc::c_int = 1;
    // SAFETY: setsockopt with a pointer to an int and its size.
    let r = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            level,
            name,
            (&yes as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r != 0 {
        let e = io::Error::last_os_error();
        return Err(io::Error::new(e.kind(), format!("setsockopt({what}): {e}")));
    }
    Ok(())
}

/// One datagram and its control messages; `None` for one that cannot be used.
fn recv_msg(socket: &Socket) -> io::Result<Option<Received>> {
    let mut buf = [0u8; RECV_BUF];
    // u64s: control messages must be aligned for cmsghdr.
    let mut cmsg = [0u64; 16];
    let mut from = MaybeUninit::<libc::sockaddr_storage>::zeroed();
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: a zeroed msghdr is valid; every pointer set below outlives the call.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_name = from.as_mut_ptr().cast();
    msg.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cmsg.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&cmsg);
    // SAFETY: msg points at live buffers of the stated sizes.
    let n = unsafe { libc::recvmsg(socket.as_raw_fd(), &mut msg, libc::MSG_DONTWAIT) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    if msg.msg_flags & libc::MSG_TRUNC != 0 {
        warn!("recvmsg() message truncated");
        return Ok(None);
    }
    if msg.msg_flags & libc::MSG_CTRUNC != 0 {
        warn!("recvmsg() control message truncated");
    }
    let mut ttl = None;
    let mut dst = None;
    let mut waited = None;
    // SAFETY: walking the control messages recvmsg wrote, with the libc macros; each
    // payload is read unaligned at the size its type has.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            let data = libc::CMSG_DATA(c);
            match ((*c).cmsg_level, (*c).cmsg_type) {
                (libc::IPPROTO_IP, libc::IP_TTL) | (libc::IPPROTO_IPV6, libc::IPV6_HOPLIMIT) => {
                    let t: libc::c_int = std::ptr::read_unaligned(data.cast());
                    ttl = u8::try_from(t).ok();
                }
                (libc::IPPROTO_IPV6, libc::IPV6_PKTINFO) => {
                    let info: libc::in6_pktinfo = std::ptr::read_unaligned(data.cast());
                    dst = Some(unmapped(Ipv6Addr::from(info.ipi6_addr.s6_addr)));
                }
                (libc::SOL_SOCKET, SO_TIMESTAMPNS) => {
                    let t: libc::timespec = std::ptr::read_unaligned(data.cast());
                    waited = waited_since(t, SystemTime::now());
                }
                (libc::IPPROTO_IP, libc::IP_PKTINFO) => {
                    let info: libc::in_pktinfo = std::ptr::read_unaligned(data.cast());
                    dst = Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(
                        info.ipi_addr.s_addr,
                    ))));
                }
                _ => {}
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    // SAFETY: zeroed, then filled by recvmsg: valid whatever it wrote.
    let from = unsafe { from.assume_init() };
    let Some(src) = source(&from) else {
        return Ok(None);
    };
    if ttl.is_none() {
        warn!("recvmsg() returned no TTL control message");
    }
    Ok(Some(Received {
        src,
        dst,
        ttl,
        bytes: buf[..n as usize].to_vec(),
        waited,
    }))
}

/// How long ago, by `now` on the same wall clock, the kernel stamped a datagram; `None`
/// for a stamp that cannot be one (a clock stepped back past it, a negative field).
fn waited_since(stamp: libc::timespec, now: SystemTime) -> Option<Duration> {
    let secs = u64::try_from(stamp.tv_sec).ok()?;
    let nanos = u32::try_from(stamp.tv_nsec)
        .ok()
        .filter(|n| *n < 1_000_000_000)?;
    now.duration_since(UNIX_EPOCH + Duration::new(secs, nanos))
        .ok()
}

/// The sender's address in `from`, IPv4-mapped turned into IPv4.
fn source(from: &libc::sockaddr_storage) -> Option<IpAddr> {
    let p: *const libc::sockaddr_storage = from;
    match i32::from(from.ss_family) {
        libc::AF_INET6 => {
            // SAFETY: a sockaddr_storage holding AF_INET6 holds a sockaddr_in6.
            let a: libc::sockaddr_in6 = unsafe { std::ptr::read_unaligned(p.cast()) };
            Some(unmapped(Ipv6Addr::from(a.sin6_addr.s6_addr)))
        }
        libc::AF_INET => {
            // SAFETY: a sockaddr_storage holding AF_INET holds a sockaddr_in.
            let a: libc::sockaddr_in = unsafe { std::ptr::read_unaligned(p.cast()) };
            Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr))))
        }
        _ => None,
    }
}

/// An IPv4-mapped IPv6 address as the IPv4 address it is (`bfd_receive_packet()`).
fn unmapped(a: Ipv6Addr) -> IpAddr {
    match a.to_ipv4_mapped() {
        Some(v4) => IpAddr::V4(v4),
        None => IpAddr::V6(a),
    }
}

/// The kernel's ephemeral port range (`read_local_port_range()`), or keepalived's
/// default when it cannot be read.
fn local_port_range() -> (u16, u16) {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| parse_port_range(&s))
        .unwrap_or(DEFAULT_LOCAL_RANGE)
}

fn parse_port_range(s: &str) -> Option<(u16, u16)> {
    let mut it = s.split_whitespace().map(str::parse::<u16>);
    let (lo, hi) = (it.next()?.ok()?, it.next()?.ok()?);
    (lo > 0 && hi > 0).then_some((lo, hi))
}

/// The source ports a session's socket is bound from (`bfd_open_fd_out()`): the
/// kernel's ephemeral range within 49152–65535, or all of 49152–65535 if that leaves
/// fewer than 1,024 ports.
fn source_ports(local: (u16, u16)) -> (u16, u16) {
    // The top of the range is 65535, the highest port there is.
    let (lo, hi) = (local.0.max(MIN_PORT), local.1);
    if u32::from(lo) + 1023 > u32::from(hi) {
        (MIN_PORT, MAX_PORT)
    } else {
        (lo, hi)
    }
}

/// A random number from the kernel, for the first port tried.
fn random_u16() -> u16 {
    let mut b = [0u8; 2];
    // SAFETY: getrandom into a buffer of the stated size.
    let n = unsafe { libc::getrandom(b.as_mut_ptr().cast(), b.len(), libc::GRND_NONBLOCK) };
    if n != 2 {
        // No entropy yet this early in a boot: the time will do for a port.
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        return t.subsec_nanos() as u16 ^ std::process::id() as u16;
    }
    u16::from_ne_bytes(b)
}

/// The sessions' sending sockets, by session name.
#[derive(Default)]
pub(crate) struct Senders {
    by_session: BTreeMap<String, Socket>,
    port: u16,
}

impl Senders {
    /// Sockets that send to `port` (3784, or another in tests).
    pub(crate) fn new(port: u16) -> Senders {
        Senders {
            by_session: BTreeMap::new(),
            port,
        }
    }

    /// Opens `session`'s socket, replacing any it had: bound to `src` (or any address of
    /// `dst`'s family) on the first free port of [`source_ports`] from a random one, and
    /// sending with TTL / hop limit `ttl`. keepalived leaves a socket without
    /// `source_ip` unbound, so the kernel picks its port outside RFC 5881's range; here
    /// it is bound in the range too.
    pub(crate) fn open(
        &mut self,
        session: &str,
        src: Option<IpAddr>,
        dst: IpAddr,
        ttl: u8,
    ) -> io::Result<()> {
        self.by_session.remove(session);
        let socket = open_sender(src, dst, ttl)?;
        self.by_session.insert(session.to_string(), socket);
        Ok(())
    }

    pub(crate) fn close(&mut self, session: &str) {
        self.by_session.remove(session);
    }

    /// One control packet to `dst`:port. Never waits: a full socket buffer is an error,
    /// and the packet is lost as on the wire.
    pub(crate) fn send(&self, session: &str, dst: IpAddr, bytes: &[u8]) -> io::Result<()> {
        let socket = self
            .by_session
            .get(session)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotConnected, "no socket open"))?;
        let to: SockAddr = SocketAddr::new(dst, self.port).into();
        socket.send_to(bytes, &to).map(|_| ())
    }

    /// Each session's descriptor, for the dump's `fd_out`.
    pub(crate) fn fds(&self) -> Vec<(String, i32)> {
        self.by_session
            .iter()
            .map(|(s, fd)| (s.clone(), fd.as_raw_fd()))
            .collect()
    }

    /// The local address of `session`'s socket.
    #[cfg(test)]
    pub(crate) fn local(&self, session: &str) -> Option<SocketAddr> {
        self.by_session.get(session)?.local_addr().ok()?.as_socket()
    }
}

fn open_sender(src: Option<IpAddr>, dst: IpAddr, ttl: u8) -> io::Result<Socket> {
    if let Some(s) = src {
        if s.is_ipv4() != dst.is_ipv4() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("source_ip {s} and neighbor_ip {dst} are not of one family"),
            ));
        }
    }
    let domain = if dst.is_ipv4() {
        Domain::IPV4
    } else {
        Domain::IPV6
    };
    let socket = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))
        .map_err(|e| io::Error::new(e.kind(), format!("socket() error ({e})")))?;
    socket.set_nonblocking(true)?;
    socket.set_cloexec(true)?;
    let local = src.unwrap_or(match dst {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    });
    bind_in_range(
        &socket,
        local,
        source_ports(local_port_range()),
        random_u16(),
    )?;
    let r = match dst {
        IpAddr::V4(_) => socket.set_ttl_v4(u32::from(ttl)),
        IpAddr::V6(_) => socket.set_unicast_hops_v6(u32::from(ttl)),
    };
    r.map_err(|e| io::Error::new(e.kind(), format!("setsockopt() error ({e})")))?;
    Ok(socket)
}

/// Binds `socket` to `addr` on the first free port of `range`, starting at a port
/// `start` picks and wrapping round, as `bfd_open_fd_out()` tries them.
fn bind_in_range(socket: &Socket, addr: IpAddr, range: (u16, u16), start: u16) -> io::Result<()> {
    let (lo, hi) = range;
    let span = u32::from(hi - lo) + 1;
    let first = u32::from(start) % span;
    let mut last = None;
    for i in 0..span {
        let port = lo + ((first + i) % span) as u16;
        match socket.bind(&SocketAddr::new(addr, port).into()) {
            Ok(()) => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EADDRINUSE) => last = Some(e),
            Err(e) => return Err(io::Error::new(e.kind(), format!("bind() error ({e})"))),
        }
    }
    let e = last.unwrap_or_else(|| io::Error::from_raw_os_error(libc::EADDRINUSE));
    Err(io::Error::new(e.kind(), format!("bind() error ({e})")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn source_ports_are_the_kernels_range_within_rfc_5881s() {
        assert_eq!(source_ports((32768, 60999)), (49152, 60999));
        assert_eq!(source_ports((50000, 65535)), (50000, 65535));
        // Fewer than 1,024 ports left: all of 49152-65535.
        assert_eq!(source_ports((32768, 49500)), (49152, 65535));
        assert_eq!(source_ports((1024, 2000)), (49152, 65535));
        assert_eq!(parse_port_range("32768\t60999\n"), Some((32768, 60999)));
        assert_eq!(parse_port_range("garbage"), None);
        assert_eq!(parse_port_range("0 5"), None);
    }

    #[test]
    fn a_packet_is_dated_from_its_arrival_unless_its_stamp_is_not_believable() {
        let now = Instant::from_micros(5_000_000);
        let got = |waited| Received {
            src: Ipv4Addr::LOCALHOST.into(),
            dst: None,
            ttl: None,
            bytes: Vec::new(),
            waited,
        };
        let ms = Duration::from_millis;
        assert_eq!(
            got(Some(ms(40))).arrived(now),
            Instant::from_micros(4_960_000)
        );
        assert_eq!(got(None).arrived(now), now);
        assert_eq!(got(Some(LONGEST_WAIT + ms(1))).arrived(now), now);
        assert_eq!(
            got(Some(ms(1))).arrived(Instant::from_micros(200)),
            Instant::from_micros(0)
        );
        let t = |sec, nsec| libc::timespec {
            tv_sec: sec,
            tv_nsec: nsec,
        };
        let at = UNIX_EPOCH + Duration::new(100, 500_000_000);
        assert_eq!(waited_since(t(100, 0), at), Some(ms(500)));
        assert_eq!(waited_since(t(101, 0), at), None);
        assert_eq!(waited_since(t(-1, 0), at), None);
        assert_eq!(waited_since(t(100, 1_000_000_000), at), None);
    }

    #[test]
    fn v4_mapped_addresses_are_ipv4() {
        let m: Ipv6Addr = "::ffff:192.0.2.1".parse().unwrap();
        assert_eq!(unmapped(m), IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)));
        let v6: Ipv6Addr = "2001:db8::1".parse().unwrap();
        assert_eq!(unmapped(v6), IpAddr::V6(v6));
    }

    #[test]
    fn a_session_socket_binds_in_range_and_its_packets_arrive_with_ttl_and_destination() {
        runtime().block_on(async {
            // Port 0: the kernel picks the listener's port, so tests do not collide.
            let listener = Listener::open(0).unwrap();
            let port = listener.port().unwrap();
            let mut senders = Senders::new(port);
            let lo4: IpAddr = Ipv4Addr::LOCALHOST.into();
            senders.open("s4", Some(lo4), lo4, 255).unwrap();
            let local = senders.local("s4").unwrap();
            assert!(local.port() >= MIN_PORT, "{local}");
            assert_eq!(local.ip(), lo4);
            senders.send("s4", lo4, b"hello").unwrap();
            let r = listener.recv().await;
            assert_eq!(r.src, lo4, "a v4-mapped source is IPv4");
            assert_eq!(r.dst, Some(lo4));
            assert_eq!(r.ttl, Some(255));
            assert_eq!(r.bytes, b"hello");
            // Stamped by the kernel as it arrived, a moment ago.
            assert!(r.waited.is_some_and(|w| w < LONGEST_WAIT), "{:?}", r.waited);
            // No source_ip: bound in the range all the same; the TTL as set.
            senders.open("any", None, lo4, 17).unwrap();
            assert!(senders.local("any").unwrap().port() >= MIN_PORT);
            senders.send("any", lo4, b"x").unwrap();
            assert_eq!(listener.recv().await.ttl, Some(17));
            // IPv6 where the host has it.
            let lo6: IpAddr = Ipv6Addr::LOCALHOST.into();
            if senders.open("s6", Some(lo6), lo6, 64).is_ok() {
                senders.send("s6", lo6, b"six").unwrap();
                let r = listener.recv().await;
                assert_eq!((r.src, r.dst, r.ttl), (lo6, Some(lo6), Some(64)));
            }
            senders.close("s4");
            assert!(senders.send("s4", lo4, b"gone").is_err());
        });
    }

    // A flood that keeps the socket from running dry must still let the runtime run
    // its other work (signals, the parent's configurations, the event pipes): the
    // datagrams queued here are all ready at once, and another task runs before the
    // last is read.
    #[test]
    fn a_flood_of_datagrams_yields_to_the_runtime() {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::Arc;
        const FLOOD: usize = 300;
        runtime().block_on(async {
            let listener = Listener::open(0).unwrap();
            // Room for the whole flood, so that none is dropped.
            listener.fd.get_ref().set_recv_buffer_size(4 << 20).unwrap();
            let port = listener.port().unwrap();
            let lo4: IpAddr = Ipv4Addr::LOCALHOST.into();
            let tx = std::net::UdpSocket::bind((lo4, 0)).unwrap();
            tx.send_to(b"first", (lo4, port)).unwrap();
            // The first read finds the socket readable (the reactor may need a turn).
            assert_eq!(listener.recv().await.bytes, b"first");
            for i in 0..FLOOD {
                // Every tenth too long to use, as a hostile sender's may be.
                let big = vec![0u8; RECV_BUF + 1];
                let small = [0u8; 24];
                let b: &[u8] = if i % 10 == 9 { &big } else { &small };
                tx.send_to(b, (lo4, port)).unwrap();
            }
            tx.send_to(b"last", (lo4, port)).unwrap();
            let ran = Arc::new(AtomicBool::new(false));
            let flag = Arc::clone(&ran);
            tokio::spawn(async move { flag.store(true, Ordering::SeqCst) });
            let mut ran_before_last = false;
            loop {
                let r = listener.recv().await;
                if r.bytes == b"last" {
                    break;
                }
                ran_before_last |= ran.load(Ordering::SeqCst);
            }
            assert!(
                ran_before_last,
                "the flood was read to its end before any other task ran"
            );
        });
    }

    #[test]
    fn a_source_of_the_other_family_is_refused() {
        let e = open_sender(
            Some(Ipv4Addr::LOCALHOST.into()),
            Ipv6Addr::LOCALHOST.into(),
            64,
        )
        .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn binding_walks_the_range_past_ports_in_use() {
        let lo4: IpAddr = Ipv4Addr::LOCALHOST.into();
        let a = Socket::new(Domain::IPV4, Type::DGRAM, None).unwrap();
        let b = Socket::new(Domain::IPV4, Type::DGRAM, None).unwrap();
        // Two ports, both tried from the same start: the second socket takes the other.
        let range = (60001, 60002);
        if bind_in_range(&a, lo4, range, 0).is_err() {
            return; // both in use on this host
        }
        let pa = a.local_addr().unwrap().as_socket().unwrap().port();
        bind_in_range(&b, lo4, range, 0).unwrap();
        let pb = b.local_addr().unwrap().as_socket().unwrap().port();
        assert_ne!(pa, pb);
        let c = Socket::new(Domain::IPV4, Type::DGRAM, None).unwrap();
        assert_eq!(
            bind_in_range(&c, lo4, range, 0).unwrap_err().kind(),
            io::ErrorKind::AddrInUse
        );
    }
}
