//! The IPv4 header around an advert (RFC 791 §3.1): keepalived sends with IP_HDRINCL and
//! receives the header on its raw socket, so both directions see it.

use std::net::Ipv4Addr;

use super::checksum::ipv4_header_checksum;
use super::{need, WireError};

/// Header without options: what we send (ihl 5).
pub const HEADER_LEN: usize = 20;

/// A zero-copy view of an IPv4 header and what follows it.
#[derive(Debug, Clone)]
pub struct Ipv4Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv4Packet<T> {
    pub const fn new_unchecked(buffer: T) -> Self {
        Ipv4Packet { buffer }
    }

    /// A view whose version is 4 and whose header, options included (IHL), fits in the
    /// buffer. The total length field is not trusted here: receive validation compares it.
    pub fn new_checked(buffer: T) -> Result<Self, WireError> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    pub fn check_len(&self) -> Result<(), WireError> {
        let len = self.b().len();
        need("IPv4 header", len, HEADER_LEN)?;
        if self.version() != 4 {
            return Err(WireError::Field {
                field: "IP version",
                got: self.version().into(),
                expected: "4",
            });
        }
        if self.header_len() < HEADER_LEN {
            return Err(WireError::Field {
                field: "IPv4 IHL",
                got: (self.header_len() / 4) as u32,
                expected: "5 to 15",
            });
        }
        need("IPv4 header with options", len, self.header_len())
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    pub fn version(&self) -> u8 {
        self.b()[0] >> 4
    }

    /// Header length in bytes (IHL × 4), options included.
    pub fn header_len(&self) -> usize {
        usize::from(self.b()[0] & 0x0f) * 4
    }

    pub fn tos(&self) -> u8 {
        self.b()[1]
    }

    pub fn total_len(&self) -> u16 {
        u16::from_be_bytes([self.b()[2], self.b()[3]])
    }

    pub fn ident(&self) -> u16 {
        u16::from_be_bytes([self.b()[4], self.b()[5]])
    }

    pub fn flags_frag(&self) -> u16 {
        u16::from_be_bytes([self.b()[6], self.b()[7]])
    }

    pub fn ttl(&self) -> u8 {
        self.b()[8]
    }

    pub fn protocol(&self) -> u8 {
        self.b()[9]
    }

    pub fn checksum(&self) -> u16 {
        u16::from_be_bytes([self.b()[10], self.b()[11]])
    }

    pub fn src(&self) -> Ipv4Addr {
        Ipv4Addr::new(self.b()[12], self.b()[13], self.b()[14], self.b()[15])
    }

    pub fn dst(&self) -> Ipv4Addr {
        Ipv4Addr::new(self.b()[16], self.b()[17], self.b()[18], self.b()[19])
    }

    /// The header, options included.
    pub fn header(&self) -> &[u8] {
        &self.b()[..self.header_len()]
    }

    /// Everything after the header, as received (padding included).
    pub fn payload(&self) -> &[u8] {
        &self.b()[self.header_len()..]
    }

    pub fn verify_checksum(&self) -> bool {
        ipv4_header_checksum(self.header()) == self.checksum()
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv4Packet<T> {
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let at = self.header_len();
        &mut self.buffer.as_mut()[at..]
    }
}

/// The header fields of an advert we send. keepalived leaves the checksum for the kernel;
/// we fill it so a frame written to a pcap or the simulator is complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Ipv4Repr {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub protocol: u8,
    pub ttl: u8,
    pub tos: u8,
    pub ident: u16,
    /// Bytes after the header.
    pub payload_len: usize,
}

impl Ipv4Repr {
    pub fn parse<T: AsRef<[u8]>>(packet: &Ipv4Packet<T>) -> Result<Ipv4Repr, WireError> {
        packet.check_len()?;
        let total = usize::from(packet.total_len());
        if total < packet.header_len() {
            return Err(WireError::Field {
                field: "IPv4 total length",
                got: total as u32,
                expected: "at least the header length",
            });
        }
        Ok(Ipv4Repr {
            src: packet.src(),
            dst: packet.dst(),
            protocol: packet.protocol(),
            ttl: packet.ttl(),
            tos: packet.tos(),
            ident: packet.ident(),
            payload_len: total - packet.header_len(),
        })
    }

    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes a 20-byte header (no options, DF clear as keepalived sends) into `buffer`.
    pub fn emit(&self, buffer: &mut [u8]) {
        let b = &mut buffer[..HEADER_LEN];
        b[0] = 0x45;
        b[1] = self.tos;
        let total = (HEADER_LEN + self.payload_len).min(usize::from(u16::MAX)) as u16;
        b[2..4].copy_from_slice(&total.to_be_bytes());
        b[4..6].copy_from_slice(&self.ident.to_be_bytes());
        b[6..8].copy_from_slice(&[0, 0]);
        b[8] = self.ttl;
        b[9] = self.protocol;
        b[10..12].copy_from_slice(&[0, 0]);
        b[12..16].copy_from_slice(&self.src.octets());
        b[16..20].copy_from_slice(&self.dst.octets());
        let c = ipv4_header_checksum(b);
        b[10..12].copy_from_slice(&c.to_be_bytes());
    }
}
