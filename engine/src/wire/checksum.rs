//! The Internet checksum over a VRRP packet, with or without a pseudo-header, built on
//! pnet_packet's one's-complement sums.

use std::net::{Ipv4Addr, Ipv6Addr};

use pnet_packet::ip::IpNextHeaderProtocol;
use pnet_packet::util;

use super::IPPROTO_VRRP;

/// 16-bit word index of the checksum field in a VRRP header (bytes 6–7).
const VRRP_CSUM_WORD: usize = 3;

/// What a VRRP checksum covers besides the packet itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Pseudo {
    /// VRRPv2 (RFC 3768 §5.3.8), and VRRPv3 over IPv4 with `v3_checksum_as_v2`
    /// (RFC 9568 §5.2.8 as Cisco, Juniper and FRR read it).
    None,
    /// VRRPv3 over IPv4 with the pseudo-header {src, dst, 0, 112, length}: keepalived's
    /// default (`vrrp_build_vrrp_v3()`).
    V4 { src: Ipv4Addr, dst: Ipv4Addr },
    /// VRRPv3 over IPv6 (RFC 5798 §5.2.8, RFC 8200 §8.1).
    V6 { src: Ipv6Addr, dst: Ipv6Addr },
}

/// The checksum `packet` should carry, computed as if its checksum field were zero.
pub fn vrrp_checksum(packet: &[u8], pseudo: Pseudo) -> u16 {
    let proto = IpNextHeaderProtocol(IPPROTO_VRRP);
    match pseudo {
        Pseudo::None => util::checksum(packet, VRRP_CSUM_WORD),
        Pseudo::V4 { src, dst } => {
            util::ipv4_checksum(packet, VRRP_CSUM_WORD, &[], &src, &dst, proto)
        }
        Pseudo::V6 { src, dst } => {
            util::ipv6_checksum(packet, VRRP_CSUM_WORD, &[], &src, &dst, proto)
        }
    }
}

/// The IPv4 header checksum of `header` (its checksum field at bytes 10–11 skipped).
pub fn ipv4_header_checksum(header: &[u8]) -> u16 {
    util::checksum(header, 5)
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 1071 §3 worked example: the sum of 00 01 f2 03 f4 f5 f6 f7 is ddf2, so the
    // checksum is its complement. Word 3 (f6 f7) is the skipped field, so put the example
    // in a packet whose word 3 is the checksum slot.
    #[test]
    fn matches_rfc1071_example() {
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0x00, 0x00, 0xf6, 0xf7];
        assert_eq!(vrrp_checksum(&data, Pseudo::None), !0xddf2);
    }

    #[test]
    fn odd_length_pads_with_zero() {
        let data = [0x12, 0x34, 0, 0, 0, 0, 0, 0, 0x56];
        assert_eq!(vrrp_checksum(&data, Pseudo::None), !(0x1234u16 + 0x5600));
    }
}
