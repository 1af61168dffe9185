//! The sockets VRRP needs: a raw IPv4 socket per interface and protocol (112, and 51 for
//! AH) with our own IP header, and an AF_PACKET socket for gratuitous ARP and unsolicited
//! neighbour advertisements.

use std::io;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::AsRawFd;
use std::task::{ready, Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use socket2::{Domain, InterfaceIndexOrAddress, Protocol, SockAddr, Socket, Type};
use tokio::io::unix::AsyncFd;

/// A raw IPv4 socket for one protocol on one interface (`open_vrrp_read_socket()`,
/// `open_vrrp_send_socket()`): IP_HDRINCL, bound to the device, in the VRRP group,
/// multicast loop off, and no other groups' traffic (IP_MULTICAST_ALL off).
pub struct RawV4 {
    fd: AsyncFd<Socket>,
}

impl RawV4 {
    pub fn open(interface: &str, ifindex: u32, protocol: u8, group: Ipv4Addr) -> io::Result<RawV4> {
        let s = Socket::new(
            Domain::IPV4,
            Type::RAW,
            Some(Protocol::from(i32::from(protocol))),
        )?;
        s.set_header_included_v4(true)?;
        s.bind_device(Some(interface.as_bytes()))?;
        s.set_multicast_loop_v4(false)?;
        s.set_multicast_all_v4(false)?;
        s.set_multicast_ttl_v4(255)?;
        s.join_multicast_v4_n(&group, &InterfaceIndexOrAddress::Index(ifindex))?;
        setsockopt_int(s.as_raw_fd(), libc::SOL_SOCKET, SO_TIMESTAMPNS, 1)?;
        s.set_nonblocking(true)?;
        // SAFETY: `s` owns its descriptor, which stays open and unchanged for as long as the
        // AsyncFd (which owns `s`) lives.
        let fd = unsafe { AsyncFd::register(s) }.map_err(|e| io::Error::other(e.to_string()))?;
        Ok(RawV4 { fd })
    }

    /// Sets the socket's receive buffer (SO_RCVBUF) to `bytes`.
    pub fn set_recv_buffer(&self, bytes: i32) -> io::Result<()> {
        set_recv_buffer(self.fd.get_ref().as_raw_fd(), bytes)
    }

    /// The datagrams the socket holds, IP headers included, up to [`BATCH`] of them, into
    /// `batch`, once the runtime has seen one arrive: one recvmmsg for a burst, where
    /// a recvmsg a datagram would cost a system call each and one more to find the
    /// socket empty. Fewer than [`BATCH`] means the socket was empty, so the readiness
    /// is cleared without that last call; a datagram arriving after it is a new edge
    /// the runtime wakes on.
    pub fn poll_recv_batch(&self, cx: &mut Context<'_>, batch: &mut Batch) -> Poll<io::Result<()>> {
        loop {
            let mut guard = ready!(self.fd.poll_read_ready(cx))?;
            match guard.try_io(|fd| batch.read(fd.get_ref())) {
                Ok(Ok(n)) => {
                    if n < BATCH {
                        guard.clear_ready();
                    }
                    return Poll::Ready(Ok(()));
                }
                Ok(Err(e)) => return Poll::Ready(Err(e)),
                Err(_would_block) => continue,
            }
        }
    }

    /// Sends a datagram built with its IP header; a full buffer drops it like the
    /// network would rather than blocking the loop.
    pub fn send(&self, datagram: &[u8], dst: Ipv4Addr) -> io::Result<()> {
        match self
            .fd
            .get_ref()
            .send_to(datagram, &SockAddr::from(SocketAddrV4::new(dst, 0)))
        {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// An AF_PACKET socket that sends whole Ethernet frames out of an interface.
pub struct PacketSender {
    fd: Socket,
}

impl PacketSender {
    pub fn open() -> io::Result<PacketSender> {
        // Protocol 0: send only, receive nothing.
        let fd = Socket::new(Domain::PACKET, Type::RAW, None)?;
        fd.set_nonblocking(true)?;
        Ok(PacketSender { fd })
    }

    /// Sends `frame` (Ethernet header included) out of interface `ifindex`.
    pub fn send(&self, ifindex: u32, frame: &[u8]) -> io::Result<()> {
        if frame.len() < 14 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "frame shorter than an Ethernet header",
            ));
        }
        // SAFETY: sockaddr_ll is plain data; every field we rely on is set below.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = u16::from_be_bytes([frame[12], frame[13]]).to_be();
        sll.sll_ifindex = ifindex as i32;
        sll.sll_halen = 6;
        sll.sll_addr[..6].copy_from_slice(&frame[..6]);
        // SAFETY: the pointers and lengths describe live, correctly sized buffers.
        let r = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                frame.as_ptr().cast(),
                frame.len(),
                0,
                (&sll as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as u32,
            )
        };
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::WouldBlock {
                return Ok(());
            }
            return Err(e);
        }
        Ok(())
    }
}

/// A raw IPv6 socket for VRRP on one interface: the kernel builds the IPv6 header and
/// computes and verifies the checksum (IPV6_CHECKSUM at offset 6); hop limit 255; the
/// destination and the received hop limit come back as control messages.
pub struct RawV6 {
    fd: AsyncFd<Socket>,
    ifindex: u32,
}

impl AsRawFd for RawV4 {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.fd.as_raw_fd()
    }
}

impl AsRawFd for RawV6 {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.fd.as_raw_fd()
    }
}

/// A received IPv6 VRRP packet with what the control messages said.
pub struct Received6 {
    pub payload: Vec<u8>,
    pub src: std::net::Ipv6Addr,
    pub dst: Option<std::net::Ipv6Addr>,
    pub hop_limit: Option<u8>,
    /// How long it waited for us since the kernel received it.
    pub waited: Option<Duration>,
}

/// SO_TIMESTAMPNS (asm/socket.h; the libc crate leaves it out for glibc): the kernel
/// stamps each datagram with the CLOCK_REALTIME time it was received.
#[cfg(not(target_arch = "sparc64"))]
const SO_TIMESTAMPNS: i32 = 35;
#[cfg(target_arch = "sparc64")]
const SO_TIMESTAMPNS: i32 = 0x21;

/// What recvmsg's control messages said about one datagram.
#[derive(Default)]
struct Ancillary {
    dst6: Option<std::net::Ipv6Addr>,
    hop_limit: Option<u8>,
    waited: Option<Duration>,
}

/// The most datagrams [`RawV4::poll_recv_batch`] reads in one call.
pub const BATCH: usize = 8;

/// The longest datagram read whole: a jumbo frame's, where the longest advert is under
/// 4 KiB. A longer one is read cut short and the engine rejects it on its length, as
/// keepalived rejects one longer than its receive buffer, which it sizes to the largest
/// MTU of its interfaces (`alloc_vrrp_buffer()`).
pub const DATAGRAM_MAX: usize = 9216;

/// Room for the control messages of one datagram; u64s, as cmsghdr must be aligned.
type Control = [u64; 32];

/// Buffers for up to [`BATCH`] datagrams and their control messages, and what the last
/// read put in them.
pub struct Batch {
    bufs: Vec<u8>,
    controls: [Control; BATCH],
    /// Each datagram's length and how long it waited, for the last read.
    got: Vec<(usize, Option<Duration>)>,
}

impl Default for Batch {
    fn default() -> Batch {
        Batch {
            bufs: vec![0; BATCH * DATAGRAM_MAX],
            controls: [[0; 32]; BATCH],
            got: Vec::with_capacity(BATCH),
        }
    }
}

impl Batch {
    /// The datagrams the last read took, each with how long it waited for us since the
    /// kernel received it.
    pub fn datagrams(&self) -> impl Iterator<Item = (&[u8], Option<Duration>)> + '_ {
        self.bufs
            .chunks(DATAGRAM_MAX)
            .zip(&self.got)
            .map(|(buf, &(len, waited))| (&buf[..len.min(buf.len())], waited))
    }

    /// The first buffer, for a socket read a datagram at a time.
    pub fn first_mut(&mut self) -> &mut [u8] {
        &mut self.bufs[..DATAGRAM_MAX]
    }

    /// One recvmmsg of whatever `socket` holds, up to [`BATCH`] datagrams; how many.
    fn read(&mut self, socket: &Socket) -> io::Result<usize> {
        self.got.clear();
        let mut iovs: [libc::iovec; BATCH] = std::array::from_fn(|i| {
            let buf = &mut self.bufs[i * DATAGRAM_MAX..(i + 1) * DATAGRAM_MAX];
            libc::iovec {
                iov_base: buf.as_mut_ptr().cast(),
                iov_len: buf.len(),
            }
        });
        let mut msgs: [libc::mmsghdr; BATCH] = std::array::from_fn(|i| {
            // SAFETY: a zeroed mmsghdr is valid; the pointers set outlive the call.
            let mut m: libc::mmsghdr = unsafe { std::mem::zeroed() };
            m.msg_hdr.msg_iov = &mut iovs[i];
            m.msg_hdr.msg_iovlen = 1;
            m.msg_hdr.msg_control = self.controls[i].as_mut_ptr().cast();
            m.msg_hdr.msg_controllen = std::mem::size_of::<Control>();
            m
        });
        // SAFETY: `msgs` holds BATCH headers pointing at live buffers of the stated sizes.
        let n = unsafe {
            libc::recvmmsg(
                socket.as_raw_fd(),
                msgs.as_mut_ptr(),
                BATCH as u32,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let now = SystemTime::now();
        for m in &msgs[..n as usize] {
            // SAFETY: recvmmsg filled in this header's control messages.
            let a = unsafe { ancillary(&m.msg_hdr, now) };
            self.got.push((m.msg_len as usize, a.waited));
        }
        Ok(n as usize)
    }
}

/// One datagram into `buf`, its sender into `from` if given, and its control messages.
fn recv_msg(
    socket: &Socket,
    buf: &mut [u8],
    from: Option<&mut libc::sockaddr_in6>,
) -> io::Result<(usize, Ancillary)> {
    let mut control: Control = [0; 32];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: a zeroed msghdr is valid; every pointer set below outlives the call.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    if let Some(from) = from {
        msg.msg_name = (from as *mut libc::sockaddr_in6).cast();
        msg.msg_namelen = std::mem::size_of::<libc::sockaddr_in6>() as u32;
    }
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control);
    // SAFETY: msg points at live buffers of the stated sizes.
    let n = unsafe { libc::recvmsg(socket.as_raw_fd(), &mut msg, 0) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: recvmsg filled in the control messages.
    let a = unsafe { ancillary(&msg, SystemTime::now()) };
    Ok((n as usize, a))
}

/// What the control messages of a datagram recvmsg or recvmmsg read say, `now` being
/// when it was read.
///
/// # Safety
/// `msg` must be a header the kernel filled in, its control buffer still live.
unsafe fn ancillary(msg: &libc::msghdr, now: SystemTime) -> Ancillary {
    let mut a = Ancillary::default();
    // SAFETY: walking the control messages the kernel wrote, with the libc macros.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(msg);
        while !c.is_null() {
            let data = libc::CMSG_DATA(c);
            match ((*c).cmsg_level, (*c).cmsg_type) {
                (libc::IPPROTO_IPV6, libc::IPV6_PKTINFO) => {
                    let info: libc::in6_pktinfo = std::ptr::read_unaligned(data.cast());
                    a.dst6 = Some(std::net::Ipv6Addr::from(info.ipi6_addr.s6_addr));
                }
                (libc::IPPROTO_IPV6, libc::IPV6_HOPLIMIT) => {
                    let h: i32 = std::ptr::read_unaligned(data.cast());
                    a.hop_limit = u8::try_from(h).ok();
                }
                (libc::SOL_SOCKET, SO_TIMESTAMPNS) => {
                    let t: libc::timespec = std::ptr::read_unaligned(data.cast());
                    a.waited = waited_since(t, now);
                }
                _ => {}
            }
            c = libc::CMSG_NXTHDR(msg, c);
        }
    }
    a
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

/// The MTU of interface `name` (SIOCGIFMTU), asked through a throwaway datagram socket
/// in our network namespace.
pub fn interface_mtu(name: &str) -> io::Result<u32> {
    let s = Socket::new(Domain::IPV4, Type::DGRAM, None)?;
    // SAFETY: ifreq is plain data; the name is copied in with its terminating NUL kept.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    if name.len() >= req.ifr_name.len() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "interface name too long",
        ));
    }
    for (d, b) in req.ifr_name.iter_mut().zip(name.bytes()) {
        *d = b as libc::c_char;
    }
    // SAFETY: SIOCGIFMTU reads the name from and writes the MTU into the ifreq we own.
    let r = unsafe { libc::ioctl(s.as_raw_fd(), libc::SIOCGIFMTU, &mut req) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: SIOCGIFMTU filled in the ifru_mtu member of the union.
    Ok(unsafe { req.ifr_ifru.ifru_mtu } as u32)
}

/// Sets SO_RCVBUF on a VRRP receive socket (`open_vrrp_read_socket()`); the kernel
/// doubles it and holds it to its own floor and `net.core.rmem_max`.
fn set_recv_buffer(fd: i32, bytes: i32) -> io::Result<()> {
    setsockopt_int(fd, libc::SOL_SOCKET, libc::SO_RCVBUF, bytes)
}

fn setsockopt_int(fd: i32, level: i32, name: i32, value: i32) -> io::Result<()> {
    // SAFETY: an int option with its exact size.
    let r = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&value as *const i32).cast(),
            std::mem::size_of::<i32>() as u32,
        )
    };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

impl RawV6 {
    pub fn open(interface: &str, ifindex: u32, group: std::net::Ipv6Addr) -> io::Result<RawV6> {
        let s = Socket::new(
            Domain::IPV6,
            Type::RAW,
            Some(Protocol::from(i32::from(
                keepalived_engine::wire::IPPROTO_VRRP,
            ))),
        )?;
        let fd = s.as_raw_fd();
        setsockopt_int(fd, libc::IPPROTO_IPV6, libc::IPV6_CHECKSUM, 6)?;
        setsockopt_int(fd, libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO, 1)?;
        setsockopt_int(fd, libc::IPPROTO_IPV6, libc::IPV6_RECVHOPLIMIT, 1)?;
        setsockopt_int(fd, libc::SOL_SOCKET, SO_TIMESTAMPNS, 1)?;
        s.bind_device(Some(interface.as_bytes()))?;
        s.set_multicast_loop_v6(false)?;
        s.set_multicast_hops_v6(255)?;
        s.set_unicast_hops_v6(255)?;
        s.set_multicast_if_v6(ifindex)?;
        s.join_multicast_v6(&group, ifindex)?;
        s.set_nonblocking(true)?;
        // SAFETY: as for RawV4: the socket owns its descriptor for the AsyncFd's life.
        let fd = unsafe { AsyncFd::register(s) }.map_err(|e| io::Error::other(e.to_string()))?;
        Ok(RawV6 { fd, ifindex })
    }

    /// One datagram read into `buf`; the engine keeps a copy of its payload.
    fn recv_once(&self, buf: &mut [u8]) -> io::Result<Received6> {
        // SAFETY: a zeroed sockaddr_in6 is a valid (unspecified) address.
        let mut from: libc::sockaddr_in6 = unsafe { std::mem::zeroed() };
        let (n, a) = recv_msg(self.fd.get_ref(), buf, Some(&mut from))?;
        Ok(Received6 {
            payload: buf[..n].to_vec(),
            src: std::net::Ipv6Addr::from(from.sin6_addr.s6_addr),
            dst: a.dst6,
            hop_limit: a.hop_limit,
            waited: a.waited,
        })
    }

    /// Sets the socket's receive buffer (SO_RCVBUF) to `bytes`.
    pub fn set_recv_buffer(&self, bytes: i32) -> io::Result<()> {
        set_recv_buffer(self.fd.get_ref().as_raw_fd(), bytes)
    }

    /// One datagram, read into `buf`, if the runtime has seen one arrive.
    pub fn poll_recv(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<Received6>> {
        loop {
            let mut guard = ready!(self.fd.poll_read_ready(cx))?;
            if let Ok(r) = guard.try_io(|_| self.recv_once(buf)) {
                return Poll::Ready(r);
            }
        }
    }

    /// Sends a VRRP payload to `dst` (link-local scope on our interface).
    /// Sends `payload` to `dst` from `src` (IPV6_PKTINFO): the interface's own
    /// link-local address, as keepalived binds it. Left to the kernel, the source could be
    /// a link-local VIP, which the `vrrp_strict` drop rules (`ip6 saddr . oif
    /// @vips_link_local drop`) would then stop.
    pub fn send(
        &self,
        payload: &[u8],
        src: Option<std::net::Ipv6Addr>,
        dst: std::net::Ipv6Addr,
    ) -> io::Result<()> {
        let to = SockAddr::from(std::net::SocketAddrV6::new(dst, 0, 0, self.ifindex));
        let sock = self.fd.get_ref();
        let r = match src.filter(|s| !s.is_unspecified() && !s.is_multicast()) {
            Some(src) => {
                let info = libc::in6_pktinfo {
                    ipi6_addr: libc::in6_addr {
                        s6_addr: src.octets(),
                    },
                    ipi6_ifindex: self.ifindex,
                };
                let size = std::mem::size_of::<libc::in6_pktinfo>() as u32;
                // SAFETY: CMSG_SPACE/CMSG_LEN are pure arithmetic.
                let (space, len) = unsafe { (libc::CMSG_SPACE(size), libc::CMSG_LEN(size)) };
                let mut control = vec![0u8; space as usize];
                // SAFETY: `control` is CMSG_SPACE bytes, room for one cmsghdr and the
                // in6_pktinfo after it; unaligned writes, as the Vec gives no alignment.
                unsafe {
                    let hdr = libc::cmsghdr {
                        cmsg_len: len as _,
                        cmsg_level: libc::IPPROTO_IPV6,
                        cmsg_type: libc::IPV6_PKTINFO,
                    };
                    std::ptr::write_unaligned(control.as_mut_ptr().cast::<libc::cmsghdr>(), hdr);
                    let data = control
                        .as_mut_ptr()
                        .add((len - size) as usize)
                        .cast::<libc::in6_pktinfo>();
                    std::ptr::write_unaligned(data, info);
                }
                let bufs = [std::io::IoSlice::new(payload)];
                let msg = socket2::MsgHdr::new()
                    .with_addr(&to)
                    .with_buffers(&bufs)
                    .with_control(&control);
                match sock.sendmsg(&msg, 0) {
                    // The address went from the interface meanwhile: the kernel chooses.
                    Err(e) if e.raw_os_error() == Some(libc::EADDRNOTAVAIL) => {
                        sock.send_to(payload, &to)
                    }
                    r => r,
                }
            }
            None => sock.send_to(payload, &to),
        };
        match r {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(secs: i64, nanos: i64) -> libc::timespec {
        libc::timespec {
            tv_sec: secs,
            tv_nsec: nanos,
        }
    }

    #[test]
    fn a_stamp_gives_how_long_the_datagram_waited_to_be_read() {
        let now = UNIX_EPOCH + Duration::new(1_000, 500_250_000);
        assert_eq!(
            waited_since(stamp(1_000, 500_000_000), now),
            Some(Duration::from_micros(250))
        );
    }

    #[test]
    fn a_stamp_after_now_or_out_of_range_gives_no_wait() {
        let now = UNIX_EPOCH + Duration::new(1_000, 0);
        // The wall clock was stepped back between the arrival and the read.
        assert_eq!(waited_since(stamp(1_001, 0), now), None);
        assert_eq!(waited_since(stamp(-1, 0), now), None);
        assert_eq!(waited_since(stamp(999, 1_000_000_000), now), None);
    }
}
