//! `-a`/`--address-monitoring`: every address the kernel adds or removes is logged, in
//! the words of keepalived's netlink reflector (`netlink_if_address_filter()`,
//! `keepalived/core/keepalived_netlink.c`): "Netlink reflector reports IP 192.0.2.1
//! added to eth0". The parent listens, on a thread of its own, so each change is logged
//! once however many children run.

use std::net::IpAddr;

use netlink_packet_core::{NetlinkBuffer, NetlinkMessage, NetlinkPayload};
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};

/// The rtnetlink multicast groups of IPv4 and IPv6 address changes.
const RTMGRP_IPV4_IFADDR: u32 = 0x10;
const RTMGRP_IPV6_IFADDR: u32 = 0x100;

/// Opens the listening socket (so that a failure is reported at once) and starts the
/// thread that logs what it hears, for as long as the process lives.
pub fn spawn() -> std::io::Result<()> {
    let mut sock = Socket::new(NETLINK_ROUTE)?;
    sock.bind(&SocketAddr::new(0, RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR))?;
    std::thread::Builder::new()
        .name("address-monitor".into())
        .spawn(move || listen(&sock))?;
    Ok(())
}

fn listen(sock: &Socket) {
    loop {
        match sock.recv_from_full() {
            Ok((datagram, _)) => {
                for line in describe(&datagram, interface_name) {
                    tracing::info!("{line}");
                }
            }
            Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                tracing::warn!(
                    "address monitoring: the kernel dropped address changes (netlink buffer full)"
                );
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                tracing::warn!("address monitoring stops: netlink: {e}");
                return;
            }
        }
    }
}

/// The log line for each address message in a netlink datagram. `name` gives an
/// interface's name from its index.
fn describe(datagram: &[u8], name: impl Fn(u32) -> String) -> Vec<String> {
    let mut lines = Vec::new();
    let mut rest = datagram;
    while let Ok(buf) = NetlinkBuffer::new_checked(rest) {
        let len = buf.length() as usize;
        if len == 0 {
            break;
        }
        if let Ok(m) = NetlinkMessage::<RouteNetlinkMessage>::deserialize(rest) {
            let change = match m.payload {
                NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewAddress(a)) => {
                    Some((a, "added to"))
                }
                NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelAddress(a)) => {
                    Some((a, "removed from"))
                }
                _ => None,
            };
            if let Some((a, what)) = change {
                if let Some(ip) = address(&a) {
                    lines.push(format!(
                        "Netlink reflector reports IP {ip} {what} {}",
                        name(a.header.index)
                    ));
                }
            }
        }
        // Messages in a datagram start on 4-byte boundaries (NLMSG_ALIGN).
        let next = (len + 3) & !3;
        if next >= rest.len() {
            break;
        }
        rest = &rest[next..];
    }
    lines
}

/// The address itself: IFA_LOCAL where there is one (on a point-to-point link IFA_ADDRESS
/// is the peer's), else IFA_ADDRESS, as keepalived takes it.
fn address(a: &AddressMessage) -> Option<IpAddr> {
    let local = a.attributes.iter().find_map(|x| match x {
        AddressAttribute::Local(ip) => Some(*ip),
        _ => None,
    });
    local.or_else(|| {
        a.attributes.iter().find_map(|x| match x {
            AddressAttribute::Address(ip) => Some(*ip),
            _ => None,
        })
    })
}

/// An interface's name, or its index when it has gone (an address removed with its link).
fn interface_name(index: u32) -> String {
    let mut buf = [0 as libc::c_char; libc::IF_NAMESIZE];
    // SAFETY: if_indextoname writes at most IF_NAMESIZE bytes, NUL included, into buf.
    let p = unsafe { libc::if_indextoname(index, buf.as_mut_ptr()) };
    if p.is_null() {
        return format!("interface #{index}");
    }
    // SAFETY: on success buf holds a NUL-terminated name.
    unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) }
        .to_string_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_core::NetlinkHeader;
    use netlink_packet_route::AddressFamily;

    fn message(new: bool, index: u32, attrs: Vec<AddressAttribute>) -> Vec<u8> {
        let mut a = AddressMessage::default();
        a.header.index = index;
        a.header.family = AddressFamily::Inet;
        a.attributes = attrs;
        let inner = if new {
            RouteNetlinkMessage::NewAddress(a)
        } else {
            RouteNetlinkMessage::DelAddress(a)
        };
        let mut m = NetlinkMessage::new(
            NetlinkHeader::default(),
            NetlinkPayload::InnerMessage(inner),
        );
        m.finalize();
        let mut buf = vec![0; m.buffer_len()];
        m.serialize(&mut buf);
        buf
    }

    #[test]
    fn each_address_change_in_a_datagram_is_one_line() {
        let local: IpAddr = "192.0.2.1".parse().unwrap();
        let peer: IpAddr = "192.0.2.9".parse().unwrap();
        let v6: IpAddr = "2001:db8::5".parse().unwrap();
        let mut datagram = message(
            true,
            2,
            vec![
                AddressAttribute::Address(peer),
                AddressAttribute::Local(local),
            ],
        );
        datagram.extend(message(false, 7, vec![AddressAttribute::Address(v6)]));
        // A message without an address says nothing.
        datagram.extend(message(true, 2, vec![]));
        let name = |i: u32| {
            if i == 2 {
                "eth0".to_string()
            } else {
                format!("if{i}")
            }
        };
        assert_eq!(
            describe(&datagram, name),
            [
                "Netlink reflector reports IP 192.0.2.1 added to eth0",
                "Netlink reflector reports IP 2001:db8::5 removed from if7",
            ]
        );
        // Garbage and a truncated message are not read past.
        assert!(describe(&[0xff; 7], name).is_empty());
        let one = message(true, 2, vec![AddressAttribute::Local(local)]);
        assert!(describe(&one[..one.len() - 2], name).is_empty());
    }

    #[test]
    fn a_gone_interface_is_named_by_its_index() {
        assert_eq!(interface_name(u32::MAX), format!("interface #{}", u32::MAX));
        assert_eq!(interface_name(1), "lo");
    }
}
