//! Gratuitous ARP as keepalived sends it on becoming master (`send_gratuitous_arp_immediate()`,
//! RFC 5798 §6.4.2): an Ethernet broadcast ARP request whose sender and target protocol
//! addresses are both the VIP, and whose target hardware address is broadcast.

use std::net::Ipv4Addr;

use pnet_base::MacAddr;
use pnet_packet::arp::{ArpHardwareTypes, ArpOperations, ArpPacket, MutableArpPacket};
use pnet_packet::ethernet::{EtherTypes, EthernetPacket, MutableEthernetPacket};
use pnet_packet::Packet;

use super::{need, WireError};

const ETH_LEN: usize = 14;
const ARP_LEN: usize = 28;
const BROADCAST: [u8; 6] = [0xff; 6];

/// One gratuitous ARP frame: the VIP and the MAC that should answer for it (the
/// interface's, or the VMAC 00:00:5e:00:01:VRID).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GarpRepr {
    pub sender_mac: [u8; 6],
    pub addr: Ipv4Addr,
}

fn mac(m: [u8; 6]) -> MacAddr {
    MacAddr::new(m[0], m[1], m[2], m[3], m[4], m[5])
}

fn octets(m: MacAddr) -> [u8; 6] {
    [m.0, m.1, m.2, m.3, m.4, m.5]
}

impl GarpRepr {
    /// Parses an Ethernet frame that must be a gratuitous ARP request for IPv4 over
    /// Ethernet; says which field is not.
    pub fn parse(frame: &[u8]) -> Result<GarpRepr, WireError> {
        need("Ethernet + ARP", frame.len(), ETH_LEN + ARP_LEN)?;
        let eth = EthernetPacket::new(frame).ok_or(WireError::Truncated {
            what: "Ethernet header",
            need: ETH_LEN,
            have: frame.len(),
        })?;
        let field = |field, got: u32, expected| {
            Err(WireError::Field {
                field,
                got,
                expected,
            })
        };
        if eth.get_ethertype() != EtherTypes::Arp {
            return field("EtherType", eth.get_ethertype().0.into(), "0x0806 (ARP)");
        }
        let arp = ArpPacket::new(eth.payload()).ok_or(WireError::Truncated {
            what: "ARP packet",
            need: ARP_LEN,
            have: eth.payload().len(),
        })?;
        if arp.get_hardware_type() != ArpHardwareTypes::Ethernet {
            return field(
                "ARP hardware type",
                arp.get_hardware_type().0.into(),
                "1 (Ethernet)",
            );
        }
        if arp.get_protocol_type() != EtherTypes::Ipv4 {
            return field(
                "ARP protocol type",
                arp.get_protocol_type().0.into(),
                "0x0800 (IPv4)",
            );
        }
        if arp.get_hw_addr_len() != 6 || arp.get_proto_addr_len() != 4 {
            return field(
                "ARP address lengths",
                arp.get_hw_addr_len().into(),
                "6 and 4",
            );
        }
        if arp.get_operation() != ArpOperations::Request {
            return field("ARP operation", arp.get_operation().0.into(), "1 (request)");
        }
        if arp.get_sender_proto_addr() != arp.get_target_proto_addr() {
            return field(
                "ARP target protocol address",
                u32::from(arp.get_target_proto_addr()),
                "the sender protocol address (gratuitous)",
            );
        }
        Ok(GarpRepr {
            sender_mac: octets(arp.get_sender_hw_addr()),
            addr: arp.get_sender_proto_addr(),
        })
    }

    pub const fn buffer_len(&self) -> usize {
        ETH_LEN + ARP_LEN
    }

    /// Writes the 42-byte frame; the NIC pads it to the Ethernet minimum.
    pub fn emit(&self, buffer: &mut [u8]) {
        let buffer = &mut buffer[..ETH_LEN + ARP_LEN];
        if let Some(mut eth) = MutableEthernetPacket::new(buffer) {
            eth.set_destination(mac(BROADCAST));
            eth.set_source(mac(self.sender_mac));
            eth.set_ethertype(EtherTypes::Arp);
        }
        if let Some(mut arp) = MutableArpPacket::new(&mut buffer[ETH_LEN..]) {
            arp.set_hardware_type(ArpHardwareTypes::Ethernet);
            arp.set_protocol_type(EtherTypes::Ipv4);
            arp.set_hw_addr_len(6);
            arp.set_proto_addr_len(4);
            arp.set_operation(ArpOperations::Request);
            arp.set_sender_hw_addr(mac(self.sender_mac));
            arp.set_sender_proto_addr(self.addr);
            arp.set_target_hw_addr(mac(BROADCAST));
            arp.set_target_proto_addr(self.addr);
        }
    }
}
