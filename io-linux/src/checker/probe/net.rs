//! Sockets for probes with keepalived's common connection options
//! (`install_checker_common_keywords()`): `bindto`/`bind_port` as the local address,
//! `bind_if` as SO_BINDTODEVICE, `fwmark` as SO_MARK.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use keepalived_engine::check::probe::Endpoint;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::{TcpSocket, TcpStream, UdpSocket};

pub(crate) use crate::host::io_error::describe;

/// A non-blocking, close-on-exec socket of `ty` towards `ep.target`, with the endpoint's
/// device, mark and local address applied. `with_port` is false for ICMP, where the local
/// "port" is the echo identifier and not the user's to choose.
pub(crate) fn socket(
    ep: &Endpoint,
    ty: Type,
    proto: Protocol,
    with_port: bool,
) -> Result<Socket, String> {
    let target = ep.target;
    // SOCK_NONBLOCK in the socket() call itself: two fcntl()s fewer a probe, which at
    // 5,000 checks a second in an emulated VM is CPU the checks need.
    let s = Socket::new(Domain::for_address(target), ty.nonblocking(), Some(proto))
        .map_err(|e| format!("socket: {}", describe(&e)))?;
    if let Some(dev) = &ep.bind_if {
        s.bind_device(Some(dev.as_bytes()))
            .map_err(|e| format!("bind_if {dev}: {}", describe(&e)))?;
    }
    if let Some(mark) = ep.fwmark {
        s.set_mark(mark)
            .map_err(|e| format!("fwmark {mark}: {}", describe(&e)))?;
    }
    let port = if with_port { ep.bind_port } else { None };
    if ep.bind.is_some() || port.is_some() {
        let ip = ep.bind.unwrap_or(match target {
            SocketAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            SocketAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        });
        let local = SocketAddr::new(ip, port.unwrap_or(0));
        if local.is_ipv4() != target.is_ipv4() {
            return Err(format!("bindto {ip} is not of the family of {target}"));
        }
        s.bind(&local.into())
            .map_err(|e| format!("bind {local}: {}", describe(&e)))?;
    }
    Ok(s)
}

/// TCP_CHECK's whole job, and the first step of HTTP and SMTP.
pub(crate) async fn connect_tcp(ep: &Endpoint) -> Result<TcpStream, String> {
    let s = socket(ep, Type::STREAM, Protocol::TCP, true)?;
    let sock = TcpSocket::from_std_stream(std::net::TcpStream::from(s));
    sock.connect(ep.target)
        .await
        .map_err(|e| format!("connect: {}", describe(&e)))
}

/// A UDP socket connected to the target, so the kernel filters replies by source and
/// reports an ICMP unreachable as ECONNREFUSED on the next receive.
pub(crate) async fn connect_udp(ep: &Endpoint) -> Result<UdpSocket, String> {
    let s = socket(ep, Type::DGRAM, Protocol::UDP, true)?;
    let sock = UdpSocket::from_std(std::net::UdpSocket::from(s))
        .map_err(|e| format!("socket: {}", describe(&e)))?;
    sock.connect(ep.target)
        .await
        .map_err(|e| format!("connect: {}", describe(&e)))?;
    Ok(sock)
}
