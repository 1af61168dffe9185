//! Unsolicited neighbour advertisement as keepalived sends it for an IPv6 VIP on becoming
//! master (`ndisc_send_unsolicited_na_immediate()`, RFC 4861 §7.2.6, RFC 5798 §6.4.2):
//! from the VIP to all-nodes ff02::1, hop limit 255, Override set, Router set when the
//! interface forwards, with a target link-layer address option.

use std::net::Ipv6Addr;

use pnet_base::MacAddr;
use pnet_packet::ethernet::{EtherTypes, EthernetPacket, MutableEthernetPacket};
use pnet_packet::icmpv6::ndp::{
    MutableNeighborAdvertPacket, NdpOptionTypes, NeighborAdvertFlags, NeighborAdvertPacket,
};
use pnet_packet::icmpv6::{self, Icmpv6Code, Icmpv6Packet, Icmpv6Types};
use pnet_packet::ip::IpNextHeaderProtocols;
use pnet_packet::ipv6::{Ipv6Packet, MutableIpv6Packet};
use pnet_packet::Packet;

use super::{need, WireError};

const ETH_LEN: usize = 14;
const IPV6_LEN: usize = 40;
const NA_LEN: usize = 24;
const TLLA_LEN: usize = 8;
const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
/// RFC 2464 §7: multicast to 33:33 + the low 32 bits of the group.
const ALL_NODES_MAC: [u8; 6] = [0x33, 0x33, 0, 0, 0, 1];
const HOP_LIMIT: u8 = 255;

/// One unsolicited NA frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UnsolicitedNaRepr {
    pub sender_mac: [u8; 6],
    pub target: Ipv6Addr,
    /// The Router flag: set when the interface forwards IPv6 (keepalived reads
    /// `/proc/sys/net/ipv6/conf/IF/forwarding`).
    pub router: bool,
}

fn mac(m: [u8; 6]) -> MacAddr {
    MacAddr::new(m[0], m[1], m[2], m[3], m[4], m[5])
}

impl UnsolicitedNaRepr {
    /// Parses an Ethernet frame that must be an unsolicited NA as above, with a valid
    /// ICMPv6 checksum; says which field is not.
    pub fn parse(frame: &[u8]) -> Result<UnsolicitedNaRepr, WireError> {
        need(
            "Ethernet + IPv6 + NA",
            frame.len(),
            ETH_LEN + IPV6_LEN + NA_LEN,
        )?;
        let field = |field, got: u32, expected| {
            Err(WireError::Field {
                field,
                got,
                expected,
            })
        };
        let short = |what, need, have| WireError::Truncated { what, need, have };
        let eth =
            EthernetPacket::new(frame).ok_or(short("Ethernet header", ETH_LEN, frame.len()))?;
        if eth.get_ethertype() != EtherTypes::Ipv6 {
            return field("EtherType", eth.get_ethertype().0.into(), "0x86dd (IPv6)");
        }
        let ip = Ipv6Packet::new(eth.payload()).ok_or(short(
            "IPv6 header",
            IPV6_LEN,
            eth.payload().len(),
        ))?;
        if ip.get_version() != 6 {
            return field("IP version", ip.get_version().into(), "6");
        }
        if ip.get_next_header() != IpNextHeaderProtocols::Icmpv6 {
            return field(
                "IPv6 next header",
                ip.get_next_header().0.into(),
                "58 (ICMPv6)",
            );
        }
        if ip.get_hop_limit() != HOP_LIMIT {
            return field(
                "IPv6 hop limit",
                ip.get_hop_limit().into(),
                "255 (RFC 4861 §7.1.2)",
            );
        }
        let plen = usize::from(ip.get_payload_length());
        let body = &eth.payload()[IPV6_LEN..];
        need("ICMPv6 payload", body.len(), plen)?;
        let body = &body[..plen];
        need("neighbour advertisement", body.len(), NA_LEN)?;
        let icmp = Icmpv6Packet::new(body).ok_or(short("ICMPv6 header", 4, body.len()))?;
        if icmp.get_icmpv6_type() != Icmpv6Types::NeighborAdvert
            || icmp.get_icmpv6_code() != Icmpv6Code(0)
        {
            return field(
                "ICMPv6 type",
                icmp.get_icmpv6_type().0.into(),
                "136 (neighbour advertisement), code 0",
            );
        }
        let want = icmpv6::checksum(&icmp, &ip.get_source(), &ip.get_destination());
        if icmp.get_checksum() != want {
            return field(
                "ICMPv6 checksum",
                icmp.get_checksum().into(),
                "the checksum of the packet",
            );
        }
        let na = NeighborAdvertPacket::new(body).ok_or(short(
            "neighbour advertisement",
            NA_LEN,
            body.len(),
        ))?;
        let flags = na.get_flags();
        if flags & NeighborAdvertFlags::Solicited != 0 || flags & NeighborAdvertFlags::Override == 0
        {
            return field(
                "NA flags",
                flags.into(),
                "Override set, Solicited clear (unsolicited)",
            );
        }
        // Options walked by hand: each is {type, length in 8-byte units, data}, and a zero
        // length is invalid (RFC 4861 §4.6).
        let mut opts = &body[NA_LEN..];
        let mut sender_mac = None;
        while opts.len() >= 2 {
            let len = usize::from(opts[1]) * 8;
            if len == 0 || len > opts.len() {
                return field(
                    "NDP option length",
                    opts[1].into(),
                    "non-zero and within the packet",
                );
            }
            if opts[0] == NdpOptionTypes::TargetLLAddr.0 && len >= TLLA_LEN {
                let mut m = [0u8; 6];
                m.copy_from_slice(&opts[2..8]);
                sender_mac = Some(m);
            }
            opts = &opts[len..];
        }
        let Some(sender_mac) = sender_mac else {
            return field("NDP options", 0, "a target link-layer address option");
        };
        Ok(UnsolicitedNaRepr {
            sender_mac,
            target: na.get_target_addr(),
            router: flags & NeighborAdvertFlags::Router != 0,
        })
    }

    pub const fn buffer_len(&self) -> usize {
        ETH_LEN + IPV6_LEN + NA_LEN + TLLA_LEN
    }

    pub fn emit(&self, buffer: &mut [u8]) {
        let buffer = &mut buffer[..self.buffer_len()];
        buffer.fill(0);
        if let Some(mut eth) = MutableEthernetPacket::new(buffer) {
            eth.set_destination(mac(ALL_NODES_MAC));
            eth.set_source(mac(self.sender_mac));
            eth.set_ethertype(EtherTypes::Ipv6);
        }
        let ip_bytes = &mut buffer[ETH_LEN..];
        if let Some(mut ip) = MutableIpv6Packet::new(ip_bytes) {
            ip.set_version(6);
            ip.set_payload_length((NA_LEN + TLLA_LEN) as u16);
            ip.set_next_header(IpNextHeaderProtocols::Icmpv6);
            ip.set_hop_limit(HOP_LIMIT);
            // The VIP itself is the source (keepalived does the same).
            ip.set_source(self.target);
            ip.set_destination(ALL_NODES);
        }
        let body = &mut buffer[ETH_LEN + IPV6_LEN..];
        if let Some(mut na) = MutableNeighborAdvertPacket::new(body) {
            na.set_icmpv6_type(Icmpv6Types::NeighborAdvert);
            na.set_icmpv6_code(Icmpv6Code(0));
            let mut flags = NeighborAdvertFlags::Override;
            if self.router {
                flags |= NeighborAdvertFlags::Router;
            }
            na.set_flags(flags);
            na.set_target_addr(self.target);
        }
        body[NA_LEN] = NdpOptionTypes::TargetLLAddr.0;
        body[NA_LEN + 1] = 1;
        body[NA_LEN + 2..NA_LEN + TLLA_LEN].copy_from_slice(&self.sender_mac);
        if let Some(icmp) = Icmpv6Packet::new(body) {
            let c = icmpv6::checksum(&icmp, &self.target, &ALL_NODES);
            body[2..4].copy_from_slice(&c.to_be_bytes());
        }
    }
}
