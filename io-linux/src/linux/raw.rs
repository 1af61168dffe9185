//! The sockets VRRP needs: a raw IPv4 socket per interface and protocol (112, and 51 for
//! AH) with our own IP header, and an AF_PACKET socket for gratuitous ARP and unsolicited
//! neighbour advertisements.

use std::io;
use std::mem::MaybeUninit;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::AsRawFd;

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
        s.set_nonblocking(true)?;
        // SAFETY: `s` owns its descriptor, which stays open and unchanged for as long as the
        // AsyncFd (which owns `s`) lives.
        let fd = unsafe { AsyncFd::register(s) }.map_err(|e| io::Error::other(e.to_string()))?;
        Ok(RawV4 { fd })
    }

    /// One datagram, IP header included.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let mut guard = self.fd.readable().await?;
            let r = guard.try_io(|fd| {
                // SAFETY: recv only writes initialised bytes into the buffer it is given;
                // viewing our initialised buffer as MaybeUninit is sound.
                let uninit = unsafe { &mut *(buf as *mut [u8] as *mut [MaybeUninit<u8>]) };
                fd.get_ref().recv(uninit)
            });
            match r {
                Ok(res) => return res,
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
