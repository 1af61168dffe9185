//! The VRRP packet itself: version 2 (RFC 3768 §5.1) and version 3 (RFC 5798 §5.1,
//! RFC 9568 §5.1), for IPv4 and IPv6.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! |Version| Type  | Virtual Rtr ID|   Priority    | Count IPvX Addr|
//! v2: |  Auth Type    |   Adver Int   |          Checksum             |
//! v3: |(rsvd) |     Max Adver Int     |          Checksum             |
//! |                       IPvX Address(es)                         |
//! v2 over IPv4 only: |           Authentication Data (8 bytes)      |
//! ```

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::checksum::{vrrp_checksum, Pseudo};
use super::{need, Family, WireError};

/// Fixed header: version/type, VRID, priority, count, auth/interval, checksum.
pub const HEADER_LEN: usize = 8;
/// VRRPv2 authentication data (RFC 3768 §5.3.10), present over IPv4 only in keepalived.
pub const AUTH_LEN: usize = 8;
/// The only packet type VRRP defines (RFC 5798 §5.2.2).
pub const TYPE_ADVERTISEMENT: u8 = 1;
/// Most addresses one advert can carry: the count is one byte.
pub const MAX_ADDRS: usize = 255;
/// VRRPv3's Max Adver Int is 12 bits of centiseconds (RFC 5798 §5.2.7).
pub const MAX_V3_INTERVAL_CS: u16 = 0x0fff;

mod field {
    pub const VERS_TYPE: usize = 0;
    pub const VRID: usize = 1;
    pub const PRIORITY: usize = 2;
    pub const NADDR: usize = 3;
    pub const AUTH_TYPE: usize = 4;
    pub const ADVER_INT: usize = 5;
    pub const CHECKSUM: usize = 6;
}

/// Authentication type of a VRRPv2 advert (RFC 2338 §5.3.6; keepalived keeps PASS and AH).
/// The one such type in keepalived-rs: the `auth_type` keyword names PASS or AH with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum AuthType {
    None,
    Pass,
    Ah,
    Other(u8),
}

impl AuthType {
    pub fn from_wire(v: u8) -> AuthType {
        match v {
            0 => AuthType::None,
            1 => AuthType::Pass,
            2 => AuthType::Ah,
            v => AuthType::Other(v),
        }
    }

    pub fn to_wire(self) -> u8 {
        match self {
            AuthType::None => 0,
            AuthType::Pass => 1,
            AuthType::Ah => 2,
            AuthType::Other(v) => v,
        }
    }
}

/// A zero-copy view of a VRRP packet. `family` decides the address size and whether a
/// v2 packet carries authentication data.
#[derive(Debug, Clone)]
pub struct VrrpPacket<T: AsRef<[u8]>> {
    buffer: T,
    family: Family,
}

impl<T: AsRef<[u8]>> VrrpPacket<T> {
    pub const fn new_unchecked(buffer: T, family: Family) -> Self {
        VrrpPacket { buffer, family }
    }

    /// A view whose header, addresses and (v2 IPv4) authentication data are all within
    /// the buffer; trailing bytes (Ethernet padding) are allowed.
    pub fn new_checked(buffer: T, family: Family) -> Result<Self, WireError> {
        let p = Self::new_unchecked(buffer, family);
        p.check_len()?;
        Ok(p)
    }

    pub fn check_len(&self) -> Result<(), WireError> {
        let len = self.buffer.as_ref().len();
        need("VRRP header", len, HEADER_LEN)?;
        need("VRRP packet", len, self.packet_len())
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    pub fn family(&self) -> Family {
        self.family
    }

    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    pub fn version(&self) -> u8 {
        self.b()[field::VERS_TYPE] >> 4
    }

    pub fn kind(&self) -> u8 {
        self.b()[field::VERS_TYPE] & 0x0f
    }

    pub fn vrid(&self) -> u8 {
        self.b()[field::VRID]
    }

    pub fn priority(&self) -> u8 {
        self.b()[field::PRIORITY]
    }

    pub fn addr_count(&self) -> u8 {
        self.b()[field::NADDR]
    }

    /// v2: authentication type byte.
    pub fn auth_type(&self) -> u8 {
        self.b()[field::AUTH_TYPE]
    }

    /// v2: advertisement interval in whole seconds.
    pub fn adver_int_secs(&self) -> u8 {
        self.b()[field::ADVER_INT]
    }

    /// v3: the 12-bit Max Adver Int in centiseconds.
    pub fn max_adver_int_cs(&self) -> u16 {
        u16::from_be_bytes([self.b()[4], self.b()[5]]) & MAX_V3_INTERVAL_CS
    }

    /// v3: the 4 reserved bits before the interval.
    pub fn v3_reserved(&self) -> u8 {
        self.b()[4] >> 4
    }

    pub fn checksum(&self) -> u16 {
        u16::from_be_bytes([self.b()[field::CHECKSUM], self.b()[field::CHECKSUM + 1]])
    }

    /// Whether this packet carries the 8 bytes of VRRPv2 authentication data: v2 over
    /// IPv4 (`expected_vrrp_pkt_len()`; keepalived's v2 over IPv6 has none).
    pub fn has_auth_data(&self) -> bool {
        self.version() == 2 && self.family == Family::V4
    }

    /// Length the header says the packet has: header, addresses, and v2 IPv4 auth data.
    pub fn packet_len(&self) -> usize {
        HEADER_LEN
            + usize::from(self.addr_count()) * self.family.addr_len()
            + if self.has_auth_data() { AUTH_LEN } else { 0 }
    }

    /// Address `i`; the caller keeps `i < addr_count()` on a checked view.
    pub fn addr(&self, i: usize) -> IpAddr {
        let at = HEADER_LEN + i * self.family.addr_len();
        let b = self.b();
        match self.family {
            Family::V4 => IpAddr::V4(Ipv4Addr::new(b[at], b[at + 1], b[at + 2], b[at + 3])),
            Family::V6 => {
                let mut o = [0u8; 16];
                o.copy_from_slice(&b[at..at + 16]);
                IpAddr::V6(Ipv6Addr::from(o))
            }
        }
    }

    pub fn addrs(&self) -> impl Iterator<Item = IpAddr> + '_ {
        (0..usize::from(self.addr_count())).map(|i| self.addr(i))
    }

    /// Whether address `want` is among the packet's addresses.
    pub fn contains_addr(&self, want: &IpAddr) -> bool {
        let n = usize::from(self.addr_count());
        let list = &self.b()[HEADER_LEN..HEADER_LEN + n * self.family.addr_len()];
        match want {
            IpAddr::V4(a) if self.family == Family::V4 => {
                list.chunks_exact(4).any(|c| c == a.octets())
            }
            IpAddr::V6(a) if self.family == Family::V6 => {
                list.chunks_exact(16).any(|c| c == a.octets())
            }
            _ => false,
        }
    }

    /// The v2 IPv4 authentication data, or an empty slice when the packet has none.
    pub fn auth_data(&self) -> &[u8] {
        if self.has_auth_data() {
            let end = self.packet_len();
            &self.b()[end - AUTH_LEN..end]
        } else {
            &[]
        }
    }

    /// The bytes the checksum covers.
    pub fn packet_bytes(&self) -> &[u8] {
        &self.b()[..self.packet_len()]
    }

    pub fn verify_checksum(&self, pseudo: Pseudo) -> bool {
        vrrp_checksum(self.packet_bytes(), pseudo) == self.checksum()
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> VrrpPacket<T> {
    fn bm(&mut self) -> &mut [u8] {
        self.buffer.as_mut()
    }

    pub fn set_version_kind(&mut self, version: u8, kind: u8) {
        self.bm()[field::VERS_TYPE] = (version << 4) | (kind & 0x0f);
    }

    pub fn set_vrid(&mut self, v: u8) {
        self.bm()[field::VRID] = v;
    }

    pub fn set_priority(&mut self, v: u8) {
        self.bm()[field::PRIORITY] = v;
    }

    pub fn set_addr_count(&mut self, v: u8) {
        self.bm()[field::NADDR] = v;
    }

    pub fn set_auth_type(&mut self, v: u8) {
        self.bm()[field::AUTH_TYPE] = v;
    }

    pub fn set_adver_int_secs(&mut self, v: u8) {
        self.bm()[field::ADVER_INT] = v;
    }

    /// v3: writes the interval with the reserved bits zero (RFC 5798 §5.2.6).
    pub fn set_max_adver_int_cs(&mut self, cs: u16) {
        let v = (cs & MAX_V3_INTERVAL_CS).to_be_bytes();
        self.bm()[4..6].copy_from_slice(&v);
    }

    pub fn set_checksum(&mut self, v: u16) {
        self.bm()[field::CHECKSUM..field::CHECKSUM + 2].copy_from_slice(&v.to_be_bytes());
    }

    pub fn set_addr(&mut self, i: usize, addr: &[u8]) {
        let at = HEADER_LEN + i * self.family.addr_len();
        self.bm()[at..at + addr.len()].copy_from_slice(addr);
    }

    pub fn auth_data_mut(&mut self) -> &mut [u8] {
        let end = self.packet_len();
        let start = if self.has_auth_data() {
            end - AUTH_LEN
        } else {
            end
        };
        &mut self.bm()[start..end]
    }

    pub fn fill_checksum(&mut self, pseudo: Pseudo) {
        let c = vrrp_checksum(self.packet_bytes(), pseudo);
        self.set_checksum(c);
    }
}

/// Interval and authentication: the part of the header that differs between versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum VrrpBody {
    V2 {
        auth_type: AuthType,
        adver_int_secs: u8,
        /// Carried over IPv4 only; PASS puts the NUL-padded password here.
        auth_data: [u8; AUTH_LEN],
    },
    V3 {
        max_adver_int_cs: u16,
    },
}

/// The virtual addresses an advert lists, all of the advert's family.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum VipList {
    V4(Vec<Ipv4Addr>),
    V6(Vec<Ipv6Addr>),
}

impl VipList {
    pub fn family(&self) -> Family {
        match self {
            VipList::V4(_) => Family::V4,
            VipList::V6(_) => Family::V6,
        }
    }

    pub fn len(&self) -> usize {
        match self {
            VipList::V4(v) => v.len(),
            VipList::V6(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn iter(&self) -> impl Iterator<Item = IpAddr> + '_ {
        let (v4, v6) = match self {
            VipList::V4(v) => (v.as_slice(), &[][..]),
            VipList::V6(v) => (&[][..], v.as_slice()),
        };
        v4.iter()
            .map(|a| IpAddr::V4(*a))
            .chain(v6.iter().map(|a| IpAddr::V6(*a)))
    }
}

/// A parsed VRRP advertisement.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct VrrpRepr {
    pub vrid: u8,
    pub priority: u8,
    pub body: VrrpBody,
    pub vips: VipList,
}

impl VrrpRepr {
    /// Parses a checked view. Anything but an advertisement of version 2 or 3, or more
    /// than 255 addresses, is refused with the field that is wrong.
    pub fn parse<T: AsRef<[u8]>>(packet: &VrrpPacket<T>) -> Result<VrrpRepr, WireError> {
        packet.check_len()?;
        if packet.kind() != TYPE_ADVERTISEMENT {
            return Err(WireError::Field {
                field: "VRRP type",
                got: packet.kind().into(),
                expected: "1 (advertisement)",
            });
        }
        let body = match packet.version() {
            2 => {
                let mut auth_data = [0u8; AUTH_LEN];
                auth_data[..packet.auth_data().len()].copy_from_slice(packet.auth_data());
                VrrpBody::V2 {
                    auth_type: AuthType::from_wire(packet.auth_type()),
                    adver_int_secs: packet.adver_int_secs(),
                    auth_data,
                }
            }
            3 => VrrpBody::V3 {
                max_adver_int_cs: packet.max_adver_int_cs(),
            },
            v => {
                return Err(WireError::Field {
                    field: "VRRP version",
                    got: v.into(),
                    expected: "2 or 3",
                })
            }
        };
        let vips = match packet.family() {
            Family::V4 => VipList::V4(
                packet
                    .addrs()
                    .filter_map(|a| match a {
                        IpAddr::V4(a) => Some(a),
                        IpAddr::V6(_) => None,
                    })
                    .collect(),
            ),
            Family::V6 => VipList::V6(
                packet
                    .addrs()
                    .filter_map(|a| match a {
                        IpAddr::V6(a) => Some(a),
                        IpAddr::V4(_) => None,
                    })
                    .collect(),
            ),
        };
        Ok(VrrpRepr {
            vrid: packet.vrid(),
            priority: packet.priority(),
            body,
            vips,
        })
    }

    pub fn version(&self) -> u8 {
        match self.body {
            VrrpBody::V2 { .. } => 2,
            VrrpBody::V3 { .. } => 3,
        }
    }

    pub fn family(&self) -> Family {
        self.vips.family()
    }

    fn has_auth_data(&self) -> bool {
        self.version() == 2 && self.family() == Family::V4
    }

    pub fn buffer_len(&self) -> usize {
        HEADER_LEN
            + self.vips.len().min(MAX_ADDRS) * self.family().addr_len()
            + if self.has_auth_data() { AUTH_LEN } else { 0 }
    }

    /// Writes the packet into `buffer` (at least `buffer_len()` bytes) with the checksum
    /// `pseudo` calls for. Addresses beyond 255 are not written: the count is one byte.
    pub fn emit(&self, buffer: &mut [u8], pseudo: Pseudo) {
        let mut p = VrrpPacket::new_unchecked(buffer, self.family());
        p.set_version_kind(self.version(), TYPE_ADVERTISEMENT);
        p.set_vrid(self.vrid);
        p.set_priority(self.priority);
        let n = self.vips.len().min(MAX_ADDRS);
        p.set_addr_count(n as u8);
        match self.body {
            VrrpBody::V2 {
                auth_type,
                adver_int_secs,
                auth_data,
            } => {
                p.set_auth_type(auth_type.to_wire());
                p.set_adver_int_secs(adver_int_secs);
                let n = p.auth_data().len();
                p.auth_data_mut().copy_from_slice(&auth_data[..n]);
            }
            VrrpBody::V3 { max_adver_int_cs } => p.set_max_adver_int_cs(max_adver_int_cs),
        }
        match &self.vips {
            VipList::V4(v) => v
                .iter()
                .take(n)
                .enumerate()
                .for_each(|(i, a)| p.set_addr(i, &a.octets())),
            VipList::V6(v) => v
                .iter()
                .take(n)
                .enumerate()
                .for_each(|(i, a)| p.set_addr(i, &a.octets())),
        }
        p.set_checksum(0);
        p.fill_checksum(pseudo);
    }
}

/// The 8 bytes of simple-password authentication: the password NUL-padded or truncated
/// to 8 (RFC 2338 §5.3.10; keepalived `auth_pass`).
pub fn pass_auth_data(password: &str) -> [u8; AUTH_LEN] {
    let mut out = [0u8; AUTH_LEN];
    let b = password.as_bytes();
    let n = b.len().min(AUTH_LEN);
    out[..n].copy_from_slice(&b[..n]);
    out
}
