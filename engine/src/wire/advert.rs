//! A whole advert as it crosses a raw socket: for IPv4 the IP header keepalived builds
//! (IP_HDRINCL), the AH header when authenticating with AH, then the VRRP packet; for
//! IPv6 the VRRP packet alone, the kernel owning the header (`vrrp_build_pkt()`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::ah::{self, AhKey, AhPacket, AhRepr, AH_LEN};
use super::checksum::Pseudo;
use super::ipv4::{self, Ipv4Packet, Ipv4Repr};
use super::vrrp::{VrrpPacket, VrrpRepr, HEADER_LEN as VRRP_HEADER_LEN};
use super::{need, Family, WireError, IPPROTO_AH, IPPROTO_VRRP};

/// What a VRRPv3-over-IPv4 checksum covers (`vrrp_build_vrrp_v3()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum V3Checksum {
    /// Pseudo-header with the packet's real destination: keepalived's default.
    PseudoHeader,
    /// Pseudo-header with the multicast group as destination even for unicast: keepalived
    /// before 1.3.6 (`old_unicast_checksum`, or detected from a peer).
    OldUnicast,
    /// No pseudo-header (`v3_checksum_as_v2`, RFC 9568 as other vendors read it).
    AsV2,
}

impl V3Checksum {
    /// The pseudo-header for an advert from `src` to `dst`; `group` is the configured
    /// IPv4 multicast group.
    pub fn pseudo(self, version: u8, src: IpAddr, dst: IpAddr, group: Ipv4Addr) -> Pseudo {
        match (src, dst) {
            (IpAddr::V6(src), IpAddr::V6(dst)) => Pseudo::V6 { src, dst },
            (IpAddr::V4(src), IpAddr::V4(dst)) if version == 3 => match self {
                V3Checksum::PseudoHeader => Pseudo::V4 { src, dst },
                V3Checksum::OldUnicast => Pseudo::V4 { src, dst: group },
                V3Checksum::AsV2 => Pseudo::None,
            },
            _ => Pseudo::None,
        }
    }
}

/// How to put an advert on the wire beyond its fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmitOptions {
    pub v3_checksum: V3Checksum,
    /// The IPv4 multicast group, for [`V3Checksum::OldUnicast`].
    pub mcast_group4: Ipv4Addr,
    /// Signs the AH ICV when the advert has an AH header.
    pub ah_key: Option<AhKey>,
    /// Unicast adverts have their TTL left out of the ICV.
    pub unicast: bool,
}

impl Default for EmitOptions {
    fn default() -> Self {
        EmitOptions {
            v3_checksum: V3Checksum::PseudoHeader,
            mcast_group4: super::MCAST_GROUP4,
            ah_key: None,
            unicast: false,
        }
    }
}

/// A whole advert. For IPv6 the addresses and hop limit are those of the IPv6 header
/// the kernel writes; `tos` and `ident` are IPv4 only.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AdvertRepr {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub ttl: u8,
    pub tos: u8,
    pub ident: u16,
    pub ah: Option<AhRepr>,
    pub vrrp: VrrpRepr,
}

impl AdvertRepr {
    pub fn family(&self) -> Family {
        Family::of(&self.src)
    }

    /// Bytes [`emit`](Self::emit) writes: the IPv4 datagram, or the IPv6 payload.
    pub fn buffer_len(&self) -> usize {
        match self.family() {
            Family::V4 => ipv4::HEADER_LEN + self.ah.map_or(0, |_| AH_LEN) + self.vrrp.buffer_len(),
            Family::V6 => self.vrrp.buffer_len(),
        }
    }

    pub fn emit(&self, buffer: &mut [u8], opts: &EmitOptions) {
        let pseudo =
            opts.v3_checksum
                .pseudo(self.vrrp.version(), self.src, self.dst, opts.mcast_group4);
        let (IpAddr::V4(src), IpAddr::V4(dst)) = (self.src, self.dst) else {
            self.vrrp.emit(buffer, pseudo);
            return;
        };
        let len = self.buffer_len();
        let buffer = &mut buffer[..len];
        Ipv4Repr {
            src,
            dst,
            protocol: if self.ah.is_some() {
                IPPROTO_AH
            } else {
                IPPROTO_VRRP
            },
            ttl: self.ttl,
            tos: self.tos,
            ident: self.ident,
            payload_len: len - ipv4::HEADER_LEN,
        }
        .emit(buffer);
        let mut at = ipv4::HEADER_LEN;
        if let Some(ah) = &self.ah {
            ah.emit(&mut buffer[at..]);
            at += AH_LEN;
        }
        self.vrrp.emit(&mut buffer[at..], pseudo);
        if let (Some(_), Some(key)) = (&self.ah, &opts.ah_key) {
            ah::sign(buffer, ipv4::HEADER_LEN, key, opts.unicast);
        }
    }

    /// Parses a received advert; what it does not check (checksums, ICV, lengths against
    /// the IP header) is the business of the receive checks (`vrrp::receive`).
    pub fn parse(rx: &RxAdvert<'_>) -> Result<AdvertRepr, WireError> {
        let at = rx.locate()?;
        let vrrp = VrrpRepr::parse(&VrrpPacket::new_checked(at.vrrp(rx.bytes()), rx.family())?)?;
        match *rx {
            RxAdvert::V4 { datagram } => {
                let ip = Ipv4Packet::new_unchecked(datagram);
                let ah = match at.ah {
                    Some(off) => Some(AhRepr::parse(&AhPacket::new_checked(&datagram[off..])?)?),
                    None => None,
                };
                Ok(AdvertRepr {
                    src: ip.src().into(),
                    dst: ip.dst().into(),
                    ttl: ip.ttl(),
                    tos: ip.tos(),
                    ident: ip.ident(),
                    ah,
                    vrrp,
                })
            }
            RxAdvert::V6 {
                src,
                dst,
                hop_limit,
                ..
            } => Ok(AdvertRepr {
                src: src.into(),
                dst: dst.into(),
                ttl: hop_limit.unwrap_or(0),
                tos: 0,
                ident: 0,
                ah: None,
                vrrp,
            }),
        }
    }
}

/// A received advert, as the raw socket hands it over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RxAdvert<'a> {
    /// IPv4 raw sockets deliver the IP header.
    V4 { datagram: &'a [u8] },
    /// IPv6 raw sockets deliver the payload; addresses come from IPV6_PKTINFO and the hop
    /// limit from IPV6_HOPLIMIT (unknown if the kernel did not say).
    V6 {
        payload: &'a [u8],
        src: Ipv6Addr,
        dst: Ipv6Addr,
        hop_limit: Option<u8>,
    },
}

/// Where the parts of a received advert start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    pub ip_header_len: usize,
    pub ah: Option<usize>,
    pub vrrp: usize,
}

impl Layout {
    pub fn vrrp<'a>(&self, bytes: &'a [u8]) -> &'a [u8] {
        &bytes[self.vrrp..]
    }
}

impl<'a> RxAdvert<'a> {
    pub fn family(&self) -> Family {
        match self {
            RxAdvert::V4 { .. } => Family::V4,
            RxAdvert::V6 { .. } => Family::V6,
        }
    }

    /// Everything received: the IPv4 datagram, or the IPv6 payload.
    pub fn bytes(&self) -> &'a [u8] {
        match *self {
            RxAdvert::V4 { datagram } => datagram,
            RxAdvert::V6 { payload, .. } => payload,
        }
    }

    pub fn src(&self) -> Option<IpAddr> {
        match *self {
            RxAdvert::V4 { datagram } => Ipv4Packet::new_checked(datagram)
                .ok()
                .map(|p| p.src().into()),
            RxAdvert::V6 { src, .. } => Some(src.into()),
        }
    }

    /// Finds the VRRP header, making sure the IP header, the AH header if the protocol
    /// says AH, and the fixed VRRP header were all received (`vrrp_get_header()`).
    pub fn locate(&self) -> Result<Layout, WireError> {
        match *self {
            RxAdvert::V4 { datagram } => {
                let ip = Ipv4Packet::new_checked(datagram)?;
                let hl = ip.header_len();
                if ip.protocol() == IPPROTO_AH {
                    need(
                        "IPv4 VRRP packet with AH",
                        datagram.len(),
                        hl + AH_LEN + VRRP_HEADER_LEN,
                    )?;
                    Ok(Layout {
                        ip_header_len: hl,
                        ah: Some(hl),
                        vrrp: hl + AH_LEN,
                    })
                } else {
                    need("IPv4 VRRP packet", datagram.len(), hl + VRRP_HEADER_LEN)?;
                    Ok(Layout {
                        ip_header_len: hl,
                        ah: None,
                        vrrp: hl,
                    })
                }
            }
            RxAdvert::V6 { payload, .. } => {
                need("IPv6 VRRP packet", payload.len(), VRRP_HEADER_LEN)?;
                Ok(Layout {
                    ip_header_len: 0,
                    ah: None,
                    vrrp: 0,
                })
            }
        }
    }
}
