//! The AgentX protocol (RFC 2741) as a sub-agent speaks it: keepalived's SNMP support
//! is an AgentX sub-agent of net-snmp's `snmpd`, reached over a Unix socket
//! (`/var/agentx/master` by default) or TCP. This module is the codec only, without I/O:
//! object identifiers and search ranges ([`oid`]), variable bindings ([`value`]), and the
//! header, the PDUs and stream framing ([`pdu`]).
//!
//! A sub-agent sends Open, Close, Register, Unregister, Notify, Ping, AddAgentCaps and
//! Response PDUs, and receives Get, GetNext, GetBulk, the four Set phases and Response;
//! every PDU type of RFC 2741 §6.2 decodes and encodes. Decoding takes either byte order
//! (the header's `NETWORK_BYTE_ORDER` flag says which, §6.1); encoding is always in network
//! byte order with that flag set.
//!
//! The master agent's bytes are hostile input. Every length (a PDU's `payload_length`, an
//! octet string's length, an OID's `n_subid`) is checked against its cap and against the
//! bytes actually present before it is used, so decoding never panics and never allocates
//! more than the input justifies: [`pdu::MAX_PAYLOAD_LEN`] bounds a PDU before the IO layer
//! buffers it ([`frame_len`]), and [`oid::MAX_SUBIDS`] bounds an OID.
//!
//! As in `wire`, a PDU has a checked view of its header ([`Packet`]) and a parsed
//! representation ([`Pdu`]) with `parse`, `emit` and `buffer_len`.

mod cursor;
/// The cargo-fuzz entry point, for `fuzz/` and the corpus-replay test only: not part of
/// the engine's API.
#[doc(hidden)]
pub mod fuzz;
pub mod oid;
pub mod pdu;
pub mod value;

pub use oid::{Oid, SearchRange, MAX_SUBIDS};
pub use pdu::{
    frame_len, Body, CloseReason, Flags, Open, Packet, Pdu, PduType, Register, Response,
    ResponseError, SubtreeRange, Unregister, DEFAULT_PRIORITY, HEADER_LEN, MAX_PAYLOAD_LEN,
    VERSION,
};
pub use value::{Value, VarBind};

/// The order of every multi-byte integer in a PDU, header included: network (big-endian)
/// when the header's `NETWORK_BYTE_ORDER` flag is set, little-endian otherwise
/// (RFC 2741 §6.1, `h.flags`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ByteOrder {
    Network,
    Little,
}

/// Why bytes are not an AgentX PDU, or text not an OID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("AgentX {what}: {have} bytes left, need {need}")]
    Truncated {
        what: &'static str,
        need: usize,
        have: usize,
    },
    #[error("AgentX version {0}: only version 1 exists (RFC 2741 §6.1)")]
    BadVersion(u8),
    #[error("unknown AgentX PDU type {0} (RFC 2741 §6.1)")]
    BadType(u8),
    #[error("AgentX payload_length {len} exceeds the {max}-byte cap")]
    PayloadTooLong { len: u32, max: usize },
    #[error("AgentX payload_length {0} is not a multiple of 4 (RFC 2741 §6.1)")]
    UnalignedPayload(u32),
    #[error("{0} bytes after the end of the AgentX PDU body")]
    TrailingBytes(usize),
    #[error("OID of {0} sub-identifiers: at most 128 (RFC 2741 §5.1)")]
    OidTooLong(usize),
    #[error("unknown AgentX VarBind type {0} (RFC 2741 §5.4)")]
    BadValueType(u16),
    #[error("IpAddress of {0} octets: it has 4 (RFC 2741 §5.4)")]
    BadIpAddress(usize),
    #[error("OID text: component {0} is not a sub-identifier (0..=4294967295)")]
    OidSyntax(usize),
}
