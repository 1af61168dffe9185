//! The IPsec Authentication Header as keepalived builds it for VRRPv2 (RFC 2402 layout,
//! keepalived's own SA rules: `vrrp_build_ipsecah()`, `vrrp_in_chk_ipsecah()`).
//!
//! ```text
//! | Next Header=112 | Payload Len=4 |          Reserved=0           |
//! |              SPI = IPv4 source address of the sender            |
//! |                         Sequence Number                          |
//! |             ICV: HMAC-MD5-96 (12 bytes)                          |
//! ```

use hmac::{Hmac, Mac};
use md5::Md5;

use super::{need, WireError, IPPROTO_VRRP};

/// The whole header: keepalived's `ipsec_ah_t`.
pub const AH_LEN: usize = 24;
/// AH length in 32-bit words minus 2 (RFC 2402 §2.2): (24 / 4) − 2.
pub const PAYLOAD_LEN: u8 = 4;
/// HMAC-MD5 truncated to 96 bits (RFC 2403 §2).
pub const ICV_LEN: usize = 12;
/// The key is the 8 bytes of `auth_pass`, NUL-padded (`vrrp->auth_data`).
pub type AhKey = [u8; 8];

const ICV_AT: usize = 12;
const MAX_IP_HEADER: usize = 60;

/// A zero-copy view of an AH header.
#[derive(Debug, Clone)]
pub struct AhPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> AhPacket<T> {
    pub const fn new_unchecked(buffer: T) -> Self {
        AhPacket { buffer }
    }

    pub fn new_checked(buffer: T) -> Result<Self, WireError> {
        need("AH header", buffer.as_ref().len(), AH_LEN)?;
        Ok(AhPacket { buffer })
    }

    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    pub fn next_header(&self) -> u8 {
        self.b()[0]
    }

    pub fn payload_len(&self) -> u8 {
        self.b()[1]
    }

    pub fn spi(&self) -> u32 {
        u32::from_be_bytes([self.b()[4], self.b()[5], self.b()[6], self.b()[7]])
    }

    pub fn seq(&self) -> u32 {
        u32::from_be_bytes([self.b()[8], self.b()[9], self.b()[10], self.b()[11]])
    }

    pub fn icv(&self) -> &[u8] {
        &self.b()[ICV_AT..AH_LEN]
    }
}

/// The fields of an AH header; the ICV is computed on emit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AhRepr {
    pub next_header: u8,
    pub spi: u32,
    pub seq: u32,
    pub icv: [u8; ICV_LEN],
}

impl AhRepr {
    pub fn parse<T: AsRef<[u8]>>(packet: &AhPacket<T>) -> Result<AhRepr, WireError> {
        need("AH header", packet.b().len(), AH_LEN)?;
        let mut icv = [0u8; ICV_LEN];
        icv.copy_from_slice(packet.icv());
        Ok(AhRepr {
            next_header: packet.next_header(),
            spi: packet.spi(),
            seq: packet.seq(),
            icv,
        })
    }

    pub const fn buffer_len(&self) -> usize {
        AH_LEN
    }

    /// Writes the header with a zero ICV; [`sign`] fills it once the whole datagram is in
    /// place.
    pub fn emit(&self, buffer: &mut [u8]) {
        let b = &mut buffer[..AH_LEN];
        b[0] = IPPROTO_VRRP;
        b[1] = PAYLOAD_LEN;
        b[2..4].copy_from_slice(&[0, 0]);
        b[4..8].copy_from_slice(&self.spi.to_be_bytes());
        b[8..12].copy_from_slice(&self.seq.to_be_bytes());
        b[ICV_AT..AH_LEN].copy_from_slice(&[0; ICV_LEN]);
    }
}

/// The ICV keepalived computes: HMAC-MD5 over the IP header with its mutable fields zeroed
/// (TOS, fragment offset, checksum, and TTL when unicast), then the AH header with a zero
/// ICV, then everything after it; truncated to 96 bits (`vrrp_in_chk_ipsecah()`).
///
/// `ip_header` is the header as on the wire, options included; `ah_onwards` starts at the
/// AH header. Returns `None` if either is shorter than its header.
pub fn compute_icv(
    ip_header: &[u8],
    ah_onwards: &[u8],
    key: &AhKey,
    unicast: bool,
) -> Option<[u8; ICV_LEN]> {
    if ip_header.len() < super::ipv4::HEADER_LEN
        || ip_header.len() > MAX_IP_HEADER
        || ah_onwards.len() < AH_LEN
    {
        return None;
    }
    let mut ip = [0u8; MAX_IP_HEADER];
    let ip = &mut ip[..ip_header.len()];
    ip.copy_from_slice(ip_header);
    ip[1] = 0; // TOS
    ip[6] = 0; // flags and fragment offset
    ip[7] = 0;
    ip[10] = 0; // header checksum
    ip[11] = 0;
    if unicast {
        ip[8] = 0; // TTL: routers on the path decrement it
    }
    let mut ah = [0u8; AH_LEN];
    ah.copy_from_slice(&ah_onwards[..AH_LEN]);
    ah[ICV_AT..].fill(0);

    let mut mac = <Hmac<Md5> as Mac>::new_from_slice(key).ok()?;
    mac.update(ip);
    mac.update(&ah);
    mac.update(&ah_onwards[AH_LEN..]);
    let digest = mac.finalize().into_bytes();
    let mut icv = [0u8; ICV_LEN];
    icv.copy_from_slice(&digest[..ICV_LEN]);
    Some(icv)
}

/// Whether the ICV in `ah_onwards` is the one `key` gives, compared in constant time.
pub fn verify_icv(ip_header: &[u8], ah_onwards: &[u8], key: &AhKey, unicast: bool) -> bool {
    let Some(want) = compute_icv(ip_header, ah_onwards, key, unicast) else {
        return false;
    };
    let got = &ah_onwards[ICV_AT..AH_LEN];
    // memcmp_constant_time(): no early exit, so timing says nothing about the ICV.
    got.iter()
        .zip(want.iter())
        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
        == 0
}

/// Fills the ICV of a datagram laid out as `[IPv4 header][AH][VRRP]`.
pub fn sign(datagram: &mut [u8], ip_header_len: usize, key: &AhKey, unicast: bool) {
    let (ip, rest) = datagram.split_at_mut(ip_header_len);
    if let Some(icv) = compute_icv(ip, rest, key, unicast) {
        rest[ICV_AT..AH_LEN].copy_from_slice(&icv);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An ICV needs an IP header of 20 to 60 bytes and a whole AH header: anything else
    /// gives none, rather than a panic or an ICV over the wrong bytes.
    #[test]
    fn an_icv_needs_a_whole_ip_header_and_a_whole_ah_header() {
        let key = *b"secret\0\0";
        let ah = [0u8; AH_LEN];
        let ip = [0x45u8; MAX_IP_HEADER + 1];
        for len in [20, MAX_IP_HEADER] {
            assert!(compute_icv(&ip[..len], &ah, &key, false).is_some(), "{len}");
        }
        for len in [19, MAX_IP_HEADER + 1] {
            assert!(compute_icv(&ip[..len], &ah, &key, false).is_none(), "{len}");
        }
        assert!(compute_icv(&ip[..20], &ah[..AH_LEN - 1], &key, false).is_none());
    }

    /// An ICV wrong in two bytes by the same bits is still wrong: the comparison gathers
    /// every difference, and two cannot cancel out.
    #[test]
    fn an_icv_wrong_in_two_bytes_alike_is_refused() {
        let key = *b"secret\0\0";
        let ip = [0x45u8; 20];
        let mut ah = [0u8; AH_LEN + 8];
        let icv = compute_icv(&ip, &ah, &key, false).unwrap();
        ah[ICV_AT..AH_LEN].copy_from_slice(&icv);
        assert!(verify_icv(&ip, &ah, &key, false));
        ah[ICV_AT] ^= 1;
        ah[ICV_AT + 1] ^= 1;
        assert!(!verify_icv(&ip, &ah, &key, false));
    }

    /// The header keepalived sends (`vrrp_build_ipsecah()`), byte by byte, and read back.
    #[test]
    fn a_header_emits_its_bytes_and_reads_back_field_by_field() {
        let repr = AhRepr {
            next_header: IPPROTO_VRRP,
            spi: 0xc0a8_010a,
            seq: 7,
            icv: [0; ICV_LEN],
        };
        let mut b = [0xff; AH_LEN];
        repr.emit(&mut b);
        #[rustfmt::skip]
        assert_eq!(b, [
            112, 4, 0, 0,
            192, 168, 1, 10,
            0, 0, 0, 7,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ]);
        let p = AhPacket::new_checked(&b[..]).unwrap();
        assert_eq!(
            (p.next_header(), p.payload_len(), p.spi(), p.seq()),
            (112, PAYLOAD_LEN, 0xc0a8_010a, 7)
        );
        assert_eq!(AhRepr::parse(&p).unwrap(), repr);
        assert_eq!(repr.buffer_len(), AH_LEN);
        assert!(AhPacket::new_checked(&b[..AH_LEN - 1]).is_err());
    }

    // RFC 2202 §2 test case 2: HMAC-MD5 with key "Jefe" over "what do ya want for nothing?"
    // is 750c783e6ab0b503eaa86e310a5db738. Checks the HMAC construction we rely on.
    #[test]
    fn hmac_md5_matches_rfc2202() {
        let mut mac = <Hmac<Md5> as Mac>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        let d = mac.finalize().into_bytes();
        assert_eq!(
            d.iter().map(|b| format!("{b:02x}")).collect::<String>(),
            "750c783e6ab0b503eaa86e310a5db738"
        );
    }
}
