//! What VRRP puts on the wire: adverts (v2/v3, IPv4/IPv6, PASS and AH), the IPv4 header
//! keepalived builds around them, gratuitous ARP and unsolicited neighbour advertisements.
//! Codecs only: what an instance makes of an advert it receives (keepalived's receive
//! checks, in its order) is decided in `vrrp::receive`.
//!
//! Each format has a checked zero-copy view (`…Packet<T: AsRef<[u8]>>`) and a parsed
//! representation (`…Repr`) with `parse`, `emit` and `buffer_len`, as in smoltcp. Nothing
//! here trusts a length or an offset it has not checked against the buffer.

pub mod advert;
pub mod ah;
pub mod arp;
pub mod bfd;
pub mod checksum;
/// The cargo-fuzz entry point, for `fuzz/` and the corpus-replay test only: not part of
/// the engine's API.
#[doc(hidden)]
pub mod fuzz;
pub mod ipv4;
pub mod ndisc;
pub mod vrrp;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub use advert::{AdvertRepr, EmitOptions, RxAdvert, V3Checksum};
pub use ah::{AhPacket, AhRepr, AH_LEN};
pub use arp::GarpRepr;
pub use bfd::{BfdError, BfdPacket, BfdRepr};
pub use ipv4::{Ipv4Packet, Ipv4Repr};
pub use ndisc::UnsolicitedNaRepr;
pub use vrrp::{AuthType, VipList, VrrpBody, VrrpPacket, VrrpRepr};

/// IP protocol number of VRRP (RFC 5798 §5.1.1.4).
pub const IPPROTO_VRRP: u8 = 112;
/// IP protocol number of the IPsec Authentication Header (RFC 2402).
pub const IPPROTO_AH: u8 = 51;
/// TTL / hop limit every multicast advert carries and every receiver checks (RFC 5798 §5.1.1.3).
pub const VRRP_TTL: u8 = 255;
/// The IPv4 VRRP multicast group (RFC 5798 §5.1.1.2).
pub const MCAST_GROUP4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// The IPv6 VRRP multicast group (RFC 5798 §5.1.2.2).
pub const MCAST_GROUP6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);
/// TOS keepalived sets on adverts: internetwork control (`vrrp_build_ip4()`).
pub const VRRP_TOS: u8 = 0xc0;

/// Address family of an instance or an advert.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub fn of(addr: &IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }

    /// Bytes one address takes in an advert.
    pub const fn addr_len(self) -> usize {
        match self {
            Family::V4 => 4,
            Family::V6 => 16,
        }
    }
}

/// The virtual router MAC of RFC 5798 §7.3: 00-00-5E-00-01-{VRID} for IPv4,
/// 00-00-5E-00-02-{VRID} for IPv6.
pub const fn virtual_mac(family: Family, vrid: u8) -> [u8; 6] {
    let kind = match family {
        Family::V4 => 1,
        Family::V6 => 2,
    };
    [0x00, 0x00, 0x5e, 0x00, kind, vrid]
}

/// Why a buffer is not a well-formed instance of a format. Which field, and what was
/// expected, so a decoder can say so.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
pub enum WireError {
    #[error("{what}: {have} bytes, need at least {need}")]
    Truncated {
        what: &'static str,
        need: usize,
        have: usize,
    },
    #[error("{field}: got {got}, expected {expected}")]
    Field {
        field: &'static str,
        got: u32,
        expected: &'static str,
    },
}

pub(crate) fn need(what: &'static str, have: usize, need: usize) -> Result<(), WireError> {
    if have < need {
        Err(WireError::Truncated { what, need, have })
    } else {
        Ok(())
    }
}
