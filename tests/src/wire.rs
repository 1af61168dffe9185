//! Framing our adverts the way they appear on an Ethernet link, and writing them to a
//! pcap an independent decoder can read.

use std::net::{IpAddr, Ipv6Addr};
use std::path::Path;
use std::time::Duration;

use keepalived_engine::wire::{AdvertRepr, EmitOptions, IPPROTO_VRRP};
use pcap_file::pcap::{PcapPacket, PcapWriter};

/// RFC 1112 §6.4 / RFC 2464 §7: the Ethernet multicast address of an IP group.
fn multicast_mac(dst: &IpAddr) -> [u8; 6] {
    match dst {
        IpAddr::V4(a) => {
            let o = a.octets();
            [0x01, 0x00, 0x5e, o[1] & 0x7f, o[2], o[3]]
        }
        IpAddr::V6(a) => {
            let o = a.octets();
            [0x33, 0x33, o[12], o[13], o[14], o[15]]
        }
    }
}

pub fn ethernet(dst: [u8; 6], src: [u8; 6], ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(14 + payload.len());
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// The IPv6 header the kernel would put in front of a VRRP payload.
pub fn ipv6_header(src: Ipv6Addr, dst: Ipv6Addr, hop_limit: u8, payload_len: usize) -> Vec<u8> {
    let mut h = vec![0x60, 0, 0, 0];
    h.extend_from_slice(&(payload_len as u16).to_be_bytes());
    h.push(IPPROTO_VRRP);
    h.push(hop_limit);
    h.extend_from_slice(&src.octets());
    h.extend_from_slice(&dst.octets());
    h
}

/// An advert as an Ethernet frame from `src_mac` to its group's multicast MAC.
pub fn advert_frame(a: &AdvertRepr, opts: &EmitOptions, src_mac: [u8; 6]) -> Vec<u8> {
    let mut body = vec![0u8; a.buffer_len()];
    a.emit(&mut body, opts);
    match (a.src, a.dst) {
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            let mut ip = ipv6_header(s, d, a.ttl, body.len());
            ip.extend_from_slice(&body);
            ethernet(multicast_mac(&a.dst), src_mac, 0x86dd, &ip)
        }
        _ => ethernet(multicast_mac(&a.dst), src_mac, 0x0800, &body),
    }
}

/// Writes Ethernet frames to a pcap, one per second from the epoch.
pub fn write_pcap(path: &Path, frames: &[Vec<u8>]) {
    let file = std::fs::File::create(path).expect("create pcap");
    let mut w = PcapWriter::new(file).expect("pcap header");
    for (i, f) in frames.iter().enumerate() {
        w.write_packet(&PcapPacket::new(
            Duration::from_secs(i as u64),
            f.len() as u32,
            f,
        ))
        .expect("write frame");
    }
}
