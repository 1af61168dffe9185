//! PING_CHECK (`keepalived/check/check_ping.c`): one ICMP (ICMPv6) echo request, success
//! on the matching echo reply.
//!
//! An unprivileged ICMP datagram socket (SOCK_DGRAM/IPPROTO_ICMP, allowed by
//! `net.ipv4.ping_group_range`) is tried first: the kernel then owns the identifier and
//! hands us only replies to this socket. Where that is refused, a raw socket (root or
//! CAP_NET_RAW) sees every ICMP packet, so replies are matched on source, identifier,
//! sequence and payload. keepalived may widen `ping_group_range` itself; we do not touch
//! the sysctl. Anything received that does not parse as our reply is skipped; the caller
//! bounds the wait.

use std::net::{IpAddr, SocketAddr};

use keepalived_engine::check::probe::Endpoint;
use socket2::{Protocol, Type};
use tokio::net::UdpSocket;

use super::net::{describe, socket};

const PAYLOAD: &[u8] = b"keepalived-rs PING_CHECK echo payload 0123456789abcdef";

pub(crate) async fn run(ep: &Endpoint) -> Result<(), String> {
    let v6 = ep.target.is_ipv6();
    let proto = if v6 {
        Protocol::ICMPV6
    } else {
        Protocol::ICMPV4
    };
    let (sock, raw) = match socket(ep, Type::DGRAM, proto, false) {
        Ok(s) => (s, false),
        Err(dgram) => match socket(ep, Type::RAW, proto, false) {
            Ok(s) => (s, true),
            Err(rawerr) => return Err(format!("{dgram}; raw {rawerr}")),
        },
    };
    // Both kinds take sendto/recvfrom with an ordinary sockaddr, which is all tokio's
    // UdpSocket does with its fd: it serves as the readiness wrapper.
    let sock = UdpSocket::from_std(std::net::UdpSocket::from(sock))
        .map_err(|e| format!("socket: {}", describe(&e)))?;
    let ident = std::process::id() as u16;
    let seq = (ident ^ 0x5a5a).wrapping_add(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_micros() as u16)
            .unwrap_or(0),
    );
    let req = echo_request(v6, ident, seq);
    sock.send_to(&req, SocketAddr::new(ep.target.ip(), 0))
        .await
        .map_err(|e| format!("send: {}", describe(&e)))?;
    let mut buf = vec![0u8; 4096];
    loop {
        let (n, from) = sock
            .recv_from(&mut buf)
            .await
            .map_err(|e| format!("receive: {}", describe(&e)))?;
        if same_ip(from.ip(), ep.target.ip())
            && is_reply(&buf[..n], v6, raw && !v6, raw.then_some(ident), seq)
        {
            return Ok(());
        }
    }
}

fn same_ip(a: IpAddr, b: IpAddr) -> bool {
    a.to_canonical() == b.to_canonical()
}

fn echo_request(v6: bool, ident: u16, seq: u16) -> Vec<u8> {
    let mut p = vec![if v6 { 128 } else { 8 }, 0, 0, 0];
    p.extend_from_slice(&ident.to_be_bytes());
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(PAYLOAD);
    if !v6 {
        // ICMPv6 checksums cover a pseudo-header; the kernel fills them in.
        let c = checksum(&p);
        p[2..4].copy_from_slice(&c.to_be_bytes());
    }
    p
}

/// RFC 1071 Internet checksum.
fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = data
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Whether `pkt` is the reply to our request. Raw IPv4 sockets deliver the IP header
/// first; `ident` is checked only where we chose it (raw sockets).
fn is_reply(pkt: &[u8], v6: bool, ip_header: bool, ident: Option<u16>, seq: u16) -> bool {
    let icmp = if ip_header {
        let Some(&b0) = pkt.first() else { return false };
        match pkt.get(usize::from(b0 & 0x0f) * 4..) {
            Some(rest) => rest,
            None => return false,
        }
    } else {
        pkt
    };
    let Some(h) = icmp.get(..8) else { return false };
    let ident_ok = match ident {
        Some(i) => u16::from_be_bytes([h[4], h[5]]) == i,
        None => true,
    };
    ident_ok
        && h[0] == (if v6 { 129 } else { 0 })
        && h[1] == 0
        && u16::from_be_bytes([h[6], h[7]]) == seq
        && &icmp[8..] == PAYLOAD
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_round_trip_and_garbage() {
        let req = echo_request(false, 7, 9);
        assert_eq!(checksum(&req), 0);
        let mut reply = req.clone();
        reply[0] = 0;
        assert!(is_reply(&reply, false, false, Some(7), 9));
        assert!(!is_reply(&reply, false, false, Some(8), 9));
        assert!(!is_reply(&reply, false, false, None, 10));
        assert!(!is_reply(&req, false, false, None, 9)); // a request is not a reply
        let mut with_ip = vec![0x45; 20];
        with_ip.extend_from_slice(&reply);
        assert!(is_reply(&with_ip, false, true, Some(7), 9));
        for junk in [&[][..], &[0x4f], &[0x45, 1, 2], &[0u8; 7]] {
            assert!(!is_reply(junk, false, true, Some(7), 9));
            assert!(!is_reply(junk, true, false, None, 9));
        }
    }
}
