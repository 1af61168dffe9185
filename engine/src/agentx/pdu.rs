//! The AgentX header (RFC 2741 §6.1), the PDUs (§6.2) and framing on a stream.
//!
//! ```text
//! | h.version | h.type | h.flags | <reserved> |
//! |               h.sessionID                  |
//! |              h.transactionID               |
//! |                h.packetID                  |
//! |             h.payload_length               |
//! ```
//!
//! `h.payload_length` counts the bytes after the 20-byte header. When `h.flags` has
//! `NON_DEFAULT_CONTEXT` and the PDU type has a context field, the payload starts with the
//! context as an octet string (§6.1.1).

use std::fmt;
use std::num::NonZeroU8;

use super::cursor::{Reader, Writer};
use super::oid::{read_oid, read_range, write_oid, write_range};
use super::value::{octets_len, read_octets, read_varbind_list, write_octets, write_varbind};
use super::{ByteOrder, Error, Oid, SearchRange, VarBind};

/// Bytes of the header (§6.1).
pub const HEADER_LEN: usize = 20;
/// `h.version`: AgentX has only version 1 (§6.1).
pub const VERSION: u8 = 1;
/// The largest `h.payload_length` this codec accepts: 1 MiB. The protocol allows up to
/// 4 GiB; no PDU between a sub-agent and its master comes near this, and capping it
/// bounds what the IO layer buffers for one PDU.
pub const MAX_PAYLOAD_LEN: usize = 1 << 20;
/// The priority net-snmp and RFC 2741 §6.2.3 take as the default for a registration.
pub const DEFAULT_PRIORITY: u8 = 127;

/// `h.flags` (§6.1). Bits 5–7 are reserved; they are ignored on decode and never sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Flags(u8);

impl Flags {
    /// Register: the subtree is a single instance (§6.2.3).
    pub const INSTANCE_REGISTRATION: Flags = Flags(0x01);
    /// IndexAllocate: allocate an index never allocated before (§6.2.12).
    pub const NEW_INDEX: Flags = Flags(0x02);
    /// IndexAllocate: allocate any index not in use (§6.2.12).
    pub const ANY_INDEX: Flags = Flags(0x04);
    /// A context octet string follows the header (§6.1.1).
    pub const NON_DEFAULT_CONTEXT: Flags = Flags(0x08);
    /// Integers are in network byte order; little-endian when clear (§6.1).
    pub const NETWORK_BYTE_ORDER: Flags = Flags(0x10);
    /// The flags a [`Pdu`] carries as given; the other two follow from its byte order and
    /// its context.
    const CARRIED: Flags = Flags(0x07);

    pub const fn empty() -> Flags {
        Flags(0)
    }

    pub const fn from_bits(bits: u8) -> Flags {
        Flags(bits)
    }

    pub const fn bits(self) -> u8 {
        self.0
    }

    pub const fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }

    pub fn insert(&mut self, other: Flags) {
        self.0 |= other.0;
    }

    pub fn remove(&mut self, other: Flags) {
        self.0 &= !other.0;
    }
}

impl std::ops::BitOr for Flags {
    type Output = Flags;

    fn bitor(self, rhs: Flags) -> Flags {
        Flags(self.0 | rhs.0)
    }
}

impl std::ops::BitOrAssign for Flags {
    fn bitor_assign(&mut self, rhs: Flags) {
        self.0 |= rhs.0;
    }
}

impl std::ops::BitAnd for Flags {
    type Output = Flags;

    fn bitand(self, rhs: Flags) -> Flags {
        Flags(self.0 & rhs.0)
    }
}

/// `h.type` (§6.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum PduType {
    Open = 1,
    Close = 2,
    Register = 3,
    Unregister = 4,
    Get = 5,
    GetNext = 6,
    GetBulk = 7,
    TestSet = 8,
    CommitSet = 9,
    UndoSet = 10,
    CleanupSet = 11,
    Notify = 12,
    Ping = 13,
    IndexAllocate = 14,
    IndexDeallocate = 15,
    AddAgentCaps = 16,
    RemoveAgentCaps = 17,
    Response = 18,
}

impl PduType {
    pub fn from_u8(t: u8) -> Option<PduType> {
        use PduType::*;
        Some(match t {
            1 => Open,
            2 => Close,
            3 => Register,
            4 => Unregister,
            5 => Get,
            6 => GetNext,
            7 => GetBulk,
            8 => TestSet,
            9 => CommitSet,
            10 => UndoSet,
            11 => CleanupSet,
            12 => Notify,
            13 => Ping,
            14 => IndexAllocate,
            15 => IndexDeallocate,
            16 => AddAgentCaps,
            17 => RemoveAgentCaps,
            18 => Response,
            _ => return None,
        })
    }

    /// Whether the PDU's layout has a context field (§6.2): all but Open, Close, the
    /// last three Set phases and Response. On those the `NON_DEFAULT_CONTEXT` flag means
    /// nothing and is ignored, as net-snmp's `_agentx_realloc_build()` clears it.
    pub fn has_context(self) -> bool {
        !matches!(
            self,
            PduType::Open
                | PduType::Close
                | PduType::CommitSet
                | PduType::UndoSet
                | PduType::CleanupSet
                | PduType::Response
        )
    }
}

impl TryFrom<u8> for PduType {
    type Error = Error;

    fn try_from(t: u8) -> Result<PduType, Error> {
        PduType::from_u8(t).ok_or(Error::BadType(t))
    }
}

/// `c.reason` of a Close-PDU (§6.2.2). Kept as a number so that a reason this list lacks
/// survives decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CloseReason(pub u8);

impl CloseReason {
    pub const OTHER: CloseReason = CloseReason(1);
    pub const PARSE_ERROR: CloseReason = CloseReason(2);
    pub const PROTOCOL_ERROR: CloseReason = CloseReason(3);
    pub const TIMEOUTS: CloseReason = CloseReason(4);
    pub const SHUTDOWN: CloseReason = CloseReason(5);
    pub const BY_MANAGER: CloseReason = CloseReason(6);

    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            1 => "reasonOther",
            2 => "reasonParseError",
            3 => "reasonProtocolError",
            4 => "reasonTimeouts",
            5 => "reasonShutdown",
            6 => "reasonByManager",
            _ => return None,
        })
    }
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "close reason {}", self.0),
        }
    }
}

/// `res.error` of a Response-PDU (§6.2.16): the SNMP error-status values (RFC 3416 §3)
/// answering Get and Set requests, and the AgentX administrative errors from 256
/// answering Open, Register and the like. Kept as a number so that any value survives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ResponseError(pub u16);

impl ResponseError {
    pub const NO_ERROR: ResponseError = ResponseError(0);
    pub const TOO_BIG: ResponseError = ResponseError(1);
    pub const NO_SUCH_NAME: ResponseError = ResponseError(2);
    pub const BAD_VALUE: ResponseError = ResponseError(3);
    pub const READ_ONLY: ResponseError = ResponseError(4);
    pub const GEN_ERR: ResponseError = ResponseError(5);
    pub const NO_ACCESS: ResponseError = ResponseError(6);
    pub const WRONG_TYPE: ResponseError = ResponseError(7);
    pub const WRONG_LENGTH: ResponseError = ResponseError(8);
    pub const WRONG_ENCODING: ResponseError = ResponseError(9);
    pub const WRONG_VALUE: ResponseError = ResponseError(10);
    pub const NO_CREATION: ResponseError = ResponseError(11);
    pub const INCONSISTENT_VALUE: ResponseError = ResponseError(12);
    pub const RESOURCE_UNAVAILABLE: ResponseError = ResponseError(13);
    pub const COMMIT_FAILED: ResponseError = ResponseError(14);
    pub const UNDO_FAILED: ResponseError = ResponseError(15);
    pub const AUTHORIZATION_ERROR: ResponseError = ResponseError(16);
    pub const NOT_WRITABLE: ResponseError = ResponseError(17);
    pub const INCONSISTENT_NAME: ResponseError = ResponseError(18);
    pub const OPEN_FAILED: ResponseError = ResponseError(256);
    pub const NOT_OPEN: ResponseError = ResponseError(257);
    pub const INDEX_WRONG_TYPE: ResponseError = ResponseError(258);
    pub const INDEX_ALREADY_ALLOCATED: ResponseError = ResponseError(259);
    pub const INDEX_NONE_AVAILABLE: ResponseError = ResponseError(260);
    pub const INDEX_NOT_ALLOCATED: ResponseError = ResponseError(261);
    pub const UNSUPPORTED_CONTEXT: ResponseError = ResponseError(262);
    pub const DUPLICATE_REGISTRATION: ResponseError = ResponseError(263);
    pub const UNKNOWN_REGISTRATION: ResponseError = ResponseError(264);
    pub const UNKNOWN_AGENT_CAPS: ResponseError = ResponseError(265);
    pub const PARSE_ERROR: ResponseError = ResponseError(266);
    pub const REQUEST_DENIED: ResponseError = ResponseError(267);
    pub const PROCESSING_ERROR: ResponseError = ResponseError(268);

    pub fn is_error(self) -> bool {
        self.0 != 0
    }

    pub fn name(self) -> Option<&'static str> {
        const SNMP: [&str; 19] = [
            "noError",
            "tooBig",
            "noSuchName",
            "badValue",
            "readOnly",
            "genErr",
            "noAccess",
            "wrongType",
            "wrongLength",
            "wrongEncoding",
            "wrongValue",
            "noCreation",
            "inconsistentValue",
            "resourceUnavailable",
            "commitFailed",
            "undoFailed",
            "authorizationError",
            "notWritable",
            "inconsistentName",
        ];
        const AGENTX: [&str; 13] = [
            "openFailed",
            "notOpen",
            "indexWrongType",
            "indexAlreadyAllocated",
            "indexNoneAvailable",
            "indexNotAllocated",
            "unsupportedContext",
            "duplicateRegistration",
            "unknownRegistration",
            "unknownAgentCaps",
            "parseError",
            "requestDenied",
            "processingError",
        ];
        let n = usize::from(self.0);
        SNMP.get(n)
            .or_else(|| n.checked_sub(256).and_then(|i| AGENTX.get(i)))
            .copied()
    }
}

impl fmt::Display for ResponseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "error {}", self.0),
        }
    }
}

/// The payload of an Open-PDU (§6.2.1).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Open {
    /// Seconds the master waits for this session's responses; 0 for its default.
    pub timeout: u8,
    /// Identifies the sub-agent; may be null.
    pub id: Oid,
    /// A DisplayString describing the sub-agent.
    pub description: Vec<u8>,
}

/// A range in place of one sub-identifier of a registered subtree (§6.2.3): the
/// `subid`-th sub-identifier of the subtree, counted from 1 in the whole OID (the
/// compressed prefix included, as net-snmp counts it), runs from its own value to
/// `upper_bound`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SubtreeRange {
    pub subid: NonZeroU8,
    pub upper_bound: u32,
}

/// The payload of a Register-PDU (§6.2.3).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Register {
    /// Seconds the master waits for responses in this region; 0 for the session's.
    pub timeout: u8,
    /// Lower is preferred among overlapping registrations; [`DEFAULT_PRIORITY`] usually.
    pub priority: u8,
    pub subtree: Oid,
    /// On the wire, `r.range_subid` (0 when `None`) and `r.upper_bound` (present only when
    /// `Some`).
    pub range: Option<SubtreeRange>,
}

/// The payload of an Unregister-PDU (§6.2.4): a Register's fields without the timeout,
/// which the layout leaves reserved.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Unregister {
    pub priority: u8,
    pub subtree: Oid,
    pub range: Option<SubtreeRange>,
}

/// The payload of a Response-PDU (§6.2.16).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Response {
    /// The master's sysUpTime in hundredths of a second, in a response from the master;
    /// a sub-agent sends 0.
    pub sys_uptime: u32,
    pub error: ResponseError,
    /// 1-based position of the binding in error; 0 when none.
    pub index: u16,
    pub varbinds: Vec<VarBind>,
}

/// The type-specific part of a PDU (§6.2.1–§6.2.16).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Body {
    Open(Open),
    Close(CloseReason),
    Register(Register),
    Unregister(Unregister),
    /// The ranges' ends are null (§6.2.5).
    Get(Vec<SearchRange>),
    GetNext(Vec<SearchRange>),
    GetBulk {
        non_repeaters: u16,
        max_repetitions: u16,
        ranges: Vec<SearchRange>,
    },
    TestSet(Vec<VarBind>),
    CommitSet,
    UndoSet,
    CleanupSet,
    Notify(Vec<VarBind>),
    Ping,
    IndexAllocate(Vec<VarBind>),
    IndexDeallocate(Vec<VarBind>),
    AddAgentCaps {
        id: Oid,
        description: Vec<u8>,
    },
    RemoveAgentCaps {
        id: Oid,
    },
    Response(Response),
}

impl Body {
    pub fn pdu_type(&self) -> PduType {
        match self {
            Body::Open(_) => PduType::Open,
            Body::Close(_) => PduType::Close,
            Body::Register(_) => PduType::Register,
            Body::Unregister(_) => PduType::Unregister,
            Body::Get(_) => PduType::Get,
            Body::GetNext(_) => PduType::GetNext,
            Body::GetBulk { .. } => PduType::GetBulk,
            Body::TestSet(_) => PduType::TestSet,
            Body::CommitSet => PduType::CommitSet,
            Body::UndoSet => PduType::UndoSet,
            Body::CleanupSet => PduType::CleanupSet,
            Body::Notify(_) => PduType::Notify,
            Body::Ping => PduType::Ping,
            Body::IndexAllocate(_) => PduType::IndexAllocate,
            Body::IndexDeallocate(_) => PduType::IndexDeallocate,
            Body::AddAgentCaps { .. } => PduType::AddAgentCaps,
            Body::RemoveAgentCaps { .. } => PduType::RemoveAgentCaps,
            Body::Response(_) => PduType::Response,
        }
    }

    fn buffer_len(&self) -> usize {
        fn varbinds(v: &[VarBind]) -> usize {
            v.iter().map(VarBind::buffer_len).sum()
        }
        fn ranges(v: &[SearchRange]) -> usize {
            v.iter().map(SearchRange::buffer_len).sum()
        }
        match self {
            Body::Open(o) => 4 + o.id.buffer_len() + octets_len(o.description.len()),
            Body::Close(_) => 4,
            Body::Register(Register { subtree, range, .. })
            | Body::Unregister(Unregister { subtree, range, .. }) => {
                4 + subtree.buffer_len() + if range.is_some() { 4 } else { 0 }
            }
            Body::Get(r) | Body::GetNext(r) => ranges(r),
            Body::GetBulk { ranges: r, .. } => 4 + ranges(r),
            Body::TestSet(v)
            | Body::Notify(v)
            | Body::IndexAllocate(v)
            | Body::IndexDeallocate(v) => varbinds(v),
            Body::CommitSet | Body::UndoSet | Body::CleanupSet | Body::Ping => 0,
            Body::AddAgentCaps { id, description } => {
                id.buffer_len() + octets_len(description.len())
            }
            Body::RemoveAgentCaps { id } => id.buffer_len(),
            Body::Response(r) => 8 + varbinds(&r.varbinds),
        }
    }

    fn read(ty: PduType, r: &mut Reader<'_>) -> Result<Body, Error> {
        fn ranges(r: &mut Reader<'_>) -> Result<Vec<SearchRange>, Error> {
            // Each range takes at least 8 bytes: the list grows only with the input.
            let mut out = Vec::new();
            while !r.is_empty() {
                out.push(read_range(r)?);
            }
            Ok(out)
        }
        fn subtree(
            r: &mut Reader<'_>,
            range_subid: u8,
        ) -> Result<(Oid, Option<SubtreeRange>), Error> {
            let (subtree, _) = read_oid(r)?;
            let range = match NonZeroU8::new(range_subid) {
                None => None,
                Some(subid) => Some(SubtreeRange {
                    subid,
                    upper_bound: r.u32("upper_bound")?,
                }),
            };
            Ok((subtree, range))
        }
        Ok(match ty {
            PduType::Open => {
                let timeout = r.u8("Open timeout")?;
                r.take("Open reserved", 3)?;
                let (id, _) = read_oid(r)?;
                let description = read_octets(r, "Open description")?;
                Body::Open(Open {
                    timeout,
                    id,
                    description,
                })
            }
            PduType::Close => {
                let reason = r.u8("Close reason")?;
                r.take("Close reserved", 3)?;
                Body::Close(CloseReason(reason))
            }
            PduType::Register => {
                let timeout = r.u8("Register timeout")?;
                let priority = r.u8("Register priority")?;
                let range_subid = r.u8("Register range_subid")?;
                r.take("Register reserved", 1)?;
                let (subtree, range) = subtree(r, range_subid)?;
                Body::Register(Register {
                    timeout,
                    priority,
                    subtree,
                    range,
                })
            }
            PduType::Unregister => {
                r.take("Unregister reserved", 1)?;
                let priority = r.u8("Unregister priority")?;
                let range_subid = r.u8("Unregister range_subid")?;
                r.take("Unregister reserved", 1)?;
                let (subtree, range) = subtree(r, range_subid)?;
                Body::Unregister(Unregister {
                    priority,
                    subtree,
                    range,
                })
            }
            PduType::Get => Body::Get(ranges(r)?),
            PduType::GetNext => Body::GetNext(ranges(r)?),
            PduType::GetBulk => Body::GetBulk {
                non_repeaters: r.u16("GetBulk non_repeaters")?,
                max_repetitions: r.u16("GetBulk max_repetitions")?,
                ranges: ranges(r)?,
            },
            PduType::TestSet => Body::TestSet(read_varbind_list(r)?),
            PduType::CommitSet => Body::CommitSet,
            PduType::UndoSet => Body::UndoSet,
            PduType::CleanupSet => Body::CleanupSet,
            PduType::Notify => Body::Notify(read_varbind_list(r)?),
            PduType::Ping => Body::Ping,
            PduType::IndexAllocate => Body::IndexAllocate(read_varbind_list(r)?),
            PduType::IndexDeallocate => Body::IndexDeallocate(read_varbind_list(r)?),
            PduType::AddAgentCaps => {
                let (id, _) = read_oid(r)?;
                let description = read_octets(r, "AddAgentCaps description")?;
                Body::AddAgentCaps { id, description }
            }
            PduType::RemoveAgentCaps => Body::RemoveAgentCaps { id: read_oid(r)?.0 },
            PduType::Response => Body::Response(Response {
                sys_uptime: r.u32("Response sysUpTime")?,
                error: ResponseError(r.u16("Response error")?),
                index: r.u16("Response index")?,
                varbinds: read_varbind_list(r)?,
            }),
        })
    }

    fn write(&self, w: &mut Writer<'_>) {
        fn subtree(w: &mut Writer<'_>, subtree: &Oid, range: &Option<SubtreeRange>) {
            write_oid(w, subtree, false);
            if let Some(r) = range {
                w.u32(r.upper_bound);
            }
        }
        fn range_subid(range: &Option<SubtreeRange>) -> u8 {
            range.map_or(0, |r| r.subid.get())
        }
        match self {
            Body::Open(o) => {
                w.u8(o.timeout);
                w.zeros(3);
                write_oid(w, &o.id, false);
                write_octets(w, &o.description);
            }
            Body::Close(reason) => {
                w.u8(reason.0);
                w.zeros(3);
            }
            Body::Register(reg) => {
                w.u8(reg.timeout);
                w.u8(reg.priority);
                w.u8(range_subid(&reg.range));
                w.u8(0);
                subtree(w, &reg.subtree, &reg.range);
            }
            Body::Unregister(u) => {
                w.u8(0);
                w.u8(u.priority);
                w.u8(range_subid(&u.range));
                w.u8(0);
                subtree(w, &u.subtree, &u.range);
            }
            Body::Get(ranges) | Body::GetNext(ranges) => {
                for r in ranges {
                    write_range(w, r);
                }
            }
            Body::GetBulk {
                non_repeaters,
                max_repetitions,
                ranges,
            } => {
                w.u16(*non_repeaters);
                w.u16(*max_repetitions);
                for r in ranges {
                    write_range(w, r);
                }
            }
            Body::TestSet(v)
            | Body::Notify(v)
            | Body::IndexAllocate(v)
            | Body::IndexDeallocate(v) => {
                for vb in v {
                    write_varbind(w, vb);
                }
            }
            Body::CommitSet | Body::UndoSet | Body::CleanupSet | Body::Ping => {}
            Body::AddAgentCaps { id, description } => {
                write_oid(w, id, false);
                write_octets(w, description);
            }
            Body::RemoveAgentCaps { id } => write_oid(w, id, false),
            Body::Response(r) => {
                w.u32(r.sys_uptime);
                w.u16(r.error.0);
                w.u16(r.index);
                for vb in &r.varbinds {
                    write_varbind(w, vb);
                }
            }
        }
    }
}

/// A checked view of the header of a PDU and the payload after it.
///
/// Its accessors read the header only, so they serve even when the payload does not
/// parse: the ids of a malformed request are what a parseError response echoes.
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// A view without checks; the accessors panic on a buffer too short for them.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// A view of a buffer holding at least a header and the payload it announces, that
    /// payload within [`MAX_PAYLOAD_LEN`].
    pub fn new_checked(buffer: T) -> Result<Packet<T>, Error> {
        let p = Packet { buffer };
        p.check_len()?;
        Ok(p)
    }

    pub fn check_len(&self) -> Result<(), Error> {
        let have = self.b().len();
        if have < HEADER_LEN {
            return Err(Error::Truncated {
                what: "header",
                need: HEADER_LEN,
                have,
            });
        }
        let total = frame_len(self.b())?;
        if have < total {
            return Err(Error::Truncated {
                what: "payload",
                need: total - HEADER_LEN,
                have: have - HEADER_LEN,
            });
        }
        Ok(())
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    fn u32_at(&self, at: usize) -> u32 {
        let b = [
            self.b()[at],
            self.b()[at + 1],
            self.b()[at + 2],
            self.b()[at + 3],
        ];
        match self.byte_order() {
            ByteOrder::Network => u32::from_be_bytes(b),
            ByteOrder::Little => u32::from_le_bytes(b),
        }
    }

    pub fn version(&self) -> u8 {
        self.b()[0]
    }

    /// `h.type` as sent, known or not.
    pub fn type_code(&self) -> u8 {
        self.b()[1]
    }

    pub fn pdu_type(&self) -> Result<PduType, Error> {
        PduType::try_from(self.type_code())
    }

    /// `h.flags` as sent, reserved bits included.
    pub fn flags(&self) -> Flags {
        Flags(self.b()[2])
    }

    pub fn byte_order(&self) -> ByteOrder {
        if self.flags().contains(Flags::NETWORK_BYTE_ORDER) {
            ByteOrder::Network
        } else {
            ByteOrder::Little
        }
    }

    pub fn session_id(&self) -> u32 {
        self.u32_at(4)
    }

    pub fn transaction_id(&self) -> u32 {
        self.u32_at(8)
    }

    pub fn packet_id(&self) -> u32 {
        self.u32_at(12)
    }

    pub fn payload_len(&self) -> u32 {
        self.u32_at(16)
    }

    /// Header plus payload: the bytes this PDU takes on the stream.
    pub fn total_len(&self) -> usize {
        HEADER_LEN + self.payload_len() as usize
    }

    pub fn payload(&self) -> &[u8] {
        &self.b()[HEADER_LEN..self.total_len()]
    }
}

/// How many bytes the PDU at the front of `buf` takes, for reading a stream: while
/// `buf` is shorter than the header this is [`HEADER_LEN`]; once the header is in, it is
/// the header plus its `h.payload_length`. The PDU is complete when `buf` holds that many
/// bytes. A `payload_length` over [`MAX_PAYLOAD_LEN`] is `PayloadTooLong`, before anything
/// is buffered for it; the stream cannot be resynchronised after that, so the session
/// ends.
pub fn frame_len(buf: &[u8]) -> Result<usize, Error> {
    if buf.len() < HEADER_LEN {
        return Ok(HEADER_LEN);
    }
    let len = Packet::new_unchecked(buf).payload_len();
    if u64::from(len) > MAX_PAYLOAD_LEN as u64 {
        return Err(Error::PayloadTooLong {
            len,
            max: MAX_PAYLOAD_LEN,
        });
    }
    Ok(HEADER_LEN + len as usize)
}

/// A whole PDU: the header's ids and flags, the context, and the body.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Pdu {
    pub session_id: u32,
    pub transaction_id: u32,
    pub packet_id: u32,
    /// `INSTANCE_REGISTRATION`, `NEW_INDEX` and `ANY_INDEX` as sent. Parsing drops the
    /// other bits; emitting sets `NETWORK_BYTE_ORDER`, and `NON_DEFAULT_CONTEXT` when
    /// there is a context to send.
    pub flags: Flags,
    /// The context (§6.1.1), for the PDU types that have one ([`PduType::has_context`]):
    /// parsing gives `None` for the others, and emitting leaves it out for them.
    pub context: Option<Vec<u8>>,
    pub body: Body,
}

impl Pdu {
    /// A PDU with the default context and no flags.
    pub fn new(session_id: u32, transaction_id: u32, packet_id: u32, body: Body) -> Pdu {
        Pdu {
            session_id,
            transaction_id,
            packet_id,
            flags: Flags::empty(),
            context: None,
            body,
        }
    }

    pub fn pdu_type(&self) -> PduType {
        self.body.pdu_type()
    }

    /// The Response to this PDU: the same session, transaction and packet ids, which is
    /// how the receiver matches a response to its request (§6.1, `h.packetID`).
    pub fn reply(&self, response: Response) -> Pdu {
        Pdu::new(
            self.session_id,
            self.transaction_id,
            self.packet_id,
            Body::Response(response),
        )
    }

    /// Parses a PDU: version 1, a known type, a payload of a multiple of 4 bytes (§6.1)
    /// that the body takes exactly, in the byte order the flags give.
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Pdu, Error> {
        packet.check_len()?;
        if packet.version() != VERSION {
            return Err(Error::BadVersion(packet.version()));
        }
        let ty = packet.pdu_type()?;
        if !packet.payload_len().is_multiple_of(4) {
            return Err(Error::UnalignedPayload(packet.payload_len()));
        }
        let flags = packet.flags();
        let mut r = Reader::new(packet.payload(), packet.byte_order());
        let context = if ty.has_context() && flags.contains(Flags::NON_DEFAULT_CONTEXT) {
            Some(read_octets(&mut r, "context")?)
        } else {
            None
        };
        let body = Body::read(ty, &mut r)?;
        if !r.is_empty() {
            return Err(Error::TrailingBytes(r.remaining()));
        }
        Ok(Pdu {
            session_id: packet.session_id(),
            transaction_id: packet.transaction_id(),
            packet_id: packet.packet_id(),
            flags: flags & Flags::CARRIED,
            context,
            body,
        })
    }

    /// Parses the PDU at the front of `buf`; returns it and the bytes it took, which may
    /// be fewer than `buf` holds.
    pub fn decode(buf: &[u8]) -> Result<(Pdu, usize), Error> {
        let packet = Packet::new_checked(buf)?;
        Ok((Pdu::parse(&packet)?, packet.total_len()))
    }

    fn sent_context(&self) -> Option<&[u8]> {
        self.context
            .as_deref()
            .filter(|_| self.pdu_type().has_context())
    }

    pub fn buffer_len(&self) -> usize {
        HEADER_LEN + self.sent_context().map_or(0, |c| octets_len(c.len())) + self.body.buffer_len()
    }

    /// Writes the PDU in network byte order, `NETWORK_BYTE_ORDER` set. Panics if `buf` is
    /// shorter than [`buffer_len`](Self::buffer_len); writes nothing past it.
    pub fn emit(&self, buf: &mut [u8]) {
        self.emit_in(buf, ByteOrder::Network);
    }

    fn emit_in(&self, buf: &mut [u8], order: ByteOrder) {
        let total = self.buffer_len();
        let mut w = Writer::with_order(&mut buf[..total], order);
        let context = self.sent_context();
        let mut flags = self.flags & Flags::CARRIED;
        if order == ByteOrder::Network {
            flags |= Flags::NETWORK_BYTE_ORDER;
        }
        if context.is_some() {
            flags |= Flags::NON_DEFAULT_CONTEXT;
        }
        w.u8(VERSION);
        w.u8(self.pdu_type() as u8);
        w.u8(flags.bits());
        w.u8(0);
        w.u32(self.session_id);
        w.u32(self.transaction_id);
        w.u32(self.packet_id);
        w.u32((total - HEADER_LEN) as u32);
        if let Some(c) = context {
            write_octets(&mut w, c);
        }
        self.body.write(&mut w);
        debug_assert_eq!(w.pos(), total);
    }

    /// The encoding as a new vector.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![0u8; self.buffer_len()];
        self.emit(&mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::super::oid::tests::{arb_oid, oid};
    use super::super::value::tests::arb_varbind;
    use super::super::Value;
    use super::*;
    use proptest::prelude::*;

    fn le_bytes(p: &Pdu) -> Vec<u8> {
        let mut out = vec![0u8; p.buffer_len()];
        p.emit_in(&mut out, ByteOrder::Little);
        out
    }

    fn header(ty: u8, flags: u8, ids: [u32; 3], payload_len: u32) -> Vec<u8> {
        let mut h = vec![1, ty, flags, 0];
        for id in ids {
            h.extend(id.to_be_bytes());
        }
        h.extend(payload_len.to_be_bytes());
        h
    }

    fn round_trip(p: &Pdu, bytes: &[u8]) {
        assert_eq!(p.to_bytes(), bytes);
        assert_eq!(Pdu::decode(bytes), Ok((p.clone(), bytes.len())));
    }

    #[test]
    fn open_bytes() {
        // What keepalived's sub-agent opens with: the id is its MIB root, the description
        // its name, the timeout left to the master.
        let p = Pdu::new(
            0,
            0,
            1,
            Body::Open(Open {
                timeout: 0,
                id: oid("1.3.6.1.4.1.9586.100.5"),
                description: b"keepalived".to_vec(),
            }),
        );
        let mut b = header(1, 0x10, [0, 0, 1], 40);
        #[rustfmt::skip]
        b.extend([
            0, 0, 0, 0,
            4, 4, 0, 0, 0, 0, 0, 1, 0, 0, 0x25, 0x72, 0, 0, 0, 100, 0, 0, 0, 5,
            0, 0, 0, 10, b'k', b'e', b'e', b'p', b'a', b'l', b'i', b'v', b'e', b'd', 0, 0,
        ]);
        round_trip(&p, &b);
    }

    #[test]
    fn close_bytes() {
        let p = Pdu::new(7, 0, 9, Body::Close(CloseReason::SHUTDOWN));
        let mut b = header(2, 0x10, [7, 0, 9], 4);
        b.extend([5, 0, 0, 0]);
        round_trip(&p, &b);
        assert_eq!(CloseReason::SHUTDOWN.to_string(), "reasonShutdown");
        assert_eq!(CloseReason(9).to_string(), "close reason 9");
    }

    #[test]
    fn register_bytes() {
        let p = Pdu::new(
            7,
            0,
            2,
            Body::Register(Register {
                timeout: 0,
                priority: DEFAULT_PRIORITY,
                subtree: oid("1.3.6.1.4.1.9586.100.5"),
                range: None,
            }),
        );
        let mut b = header(3, 0x10, [7, 0, 2], 24);
        #[rustfmt::skip]
        b.extend([
            0, 127, 0, 0,
            4, 4, 0, 0, 0, 0, 0, 1, 0, 0, 0x25, 0x72, 0, 0, 0, 100, 0, 0, 0, 5,
        ]);
        round_trip(&p, &b);
    }

    #[test]
    fn register_range_instance_and_context_bytes() {
        // 1.3.6.1.2.1.2.2.1.1.[1..=4], an instance registration in context "c1".
        let mut p = Pdu::new(
            7,
            0,
            3,
            Body::Register(Register {
                timeout: 5,
                priority: 100,
                subtree: oid("1.3.6.1.2.1.2.2.1.1.1"),
                range: Some(SubtreeRange {
                    subid: NonZeroU8::new(11).unwrap(),
                    upper_bound: 4,
                }),
            }),
        );
        p.flags = Flags::INSTANCE_REGISTRATION;
        p.context = Some(b"c1".to_vec());
        let mut b = header(3, 0x19, [7, 0, 3], 8 + 4 + 28 + 4);
        #[rustfmt::skip]
        b.extend([
            0, 0, 0, 2, b'c', b'1', 0, 0,
            5, 100, 11, 0,
            6, 2, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1,
            0, 0, 0, 4,
        ]);
        round_trip(&p, &b);
    }

    #[test]
    fn unregister_bytes() {
        let p = Pdu::new(
            7,
            0,
            4,
            Body::Unregister(Unregister {
                priority: DEFAULT_PRIORITY,
                subtree: oid("1.3.6.1.4.1.9586.100.5"),
                range: None,
            }),
        );
        let mut b = header(4, 0x10, [7, 0, 4], 24);
        #[rustfmt::skip]
        b.extend([
            0, 127, 0, 0,
            4, 4, 0, 0, 0, 0, 0, 1, 0, 0, 0x25, 0x72, 0, 0, 0, 100, 0, 0, 0, 5,
        ]);
        round_trip(&p, &b);
    }

    #[test]
    fn get_and_getnext_bytes() {
        let ranges = vec![SearchRange {
            start: oid("1.3.6.1.4.1.9586.100.5.1.1.0"),
            include: false,
            end: Oid::null(),
        }];
        let mut range = vec![7, 4, 0, 0, 0, 0, 0, 1, 0, 0, 0x25, 0x72, 0, 0, 0, 100];
        range.extend([0, 0, 0, 5, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
        let p = Pdu::new(7, 11, 12, Body::Get(ranges.clone()));
        let mut b = header(5, 0x10, [7, 11, 12], 36);
        b.extend(&range);
        round_trip(&p, &b);
        let p = Pdu::new(7, 11, 13, Body::GetNext(ranges));
        let mut b = header(6, 0x10, [7, 11, 13], 36);
        b.extend(&range);
        round_trip(&p, &b);
    }

    #[test]
    fn getbulk_bytes() {
        let p = Pdu::new(
            7,
            11,
            14,
            Body::GetBulk {
                non_repeaters: 1,
                max_repetitions: 10,
                ranges: vec![
                    SearchRange {
                        start: oid("1.3.6.1.2.1.1.3"),
                        include: false,
                        end: Oid::null(),
                    },
                    SearchRange {
                        start: oid("1.3.6.1.4.1.9586"),
                        include: true,
                        end: oid("1.3.6.1.4.1.9587"),
                    },
                ],
            },
        );
        let mut b = header(7, 0x10, [7, 11, 14], 4 + 20 + 24);
        #[rustfmt::skip]
        b.extend([
            0, 1, 0, 10,
            3, 2, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 3,
            0, 0, 0, 0,
            2, 4, 1, 0, 0, 0, 0, 1, 0, 0, 0x25, 0x72,
            2, 4, 0, 0, 0, 0, 0, 1, 0, 0, 0x25, 0x73,
        ]);
        round_trip(&p, &b);
    }

    #[test]
    fn set_phase_bytes() {
        let vb = VarBind::new(oid("1.3.6.1.4.1.9586.100.5.1.1.0"), Value::Integer(1));
        let p = Pdu::new(7, 20, 21, Body::TestSet(vec![vb]));
        let mut b = header(8, 0x10, [7, 20, 21], 40);
        #[rustfmt::skip]
        b.extend([
            0, 2, 0, 0,
            7, 4, 0, 0, 0, 0, 0, 1, 0, 0, 0x25, 0x72, 0, 0, 0, 100, 0, 0, 0, 5, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0,
            0, 0, 0, 1,
        ]);
        round_trip(&p, &b);
        for (body, ty) in [
            (Body::CommitSet, 9),
            (Body::UndoSet, 10),
            (Body::CleanupSet, 11),
            (Body::Ping, 13),
        ] {
            round_trip(
                &Pdu::new(7, 20, 22, body),
                &header(ty, 0x10, [7, 20, 22], 0),
            );
        }
    }

    #[test]
    fn notify_bytes() {
        // A notification: sysUpTime.0 then snmpTrapOID.0 (RFC 2741 §6.2.10).
        let p = Pdu::new(
            7,
            0,
            30,
            Body::Notify(vec![
                VarBind::new(oid("1.3.6.1.2.1.1.3.0"), Value::TimeTicks(4200)),
                VarBind::new(
                    oid("1.3.6.1.6.3.1.1.4.1.0"),
                    Value::ObjectIdentifier(oid("1.3.6.1.4.1.9586.100.5.2.0.1")),
                ),
            ]),
        );
        let mut b = header(12, 0x10, [7, 0, 30], 28 + 40 + 24);
        #[rustfmt::skip]
        b.extend([
            0, 67, 0, 0,
            4, 2, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 3, 0, 0, 0, 0,
            0, 0, 0x10, 0x68,
            0, 6, 0, 0,
            6, 6, 0, 0, 0, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 0,
            7, 4, 0, 0, 0, 0, 0, 1, 0, 0, 0x25, 0x72, 0, 0, 0, 100, 0, 0, 0, 5, 0, 0, 0, 2,
        ]);
        b.extend([0, 0, 0, 0, 0, 0, 0, 1]);
        round_trip(&p, &b);
    }

    #[test]
    fn response_bytes() {
        let p = Pdu::new(
            7,
            11,
            12,
            Body::Response(Response {
                sys_uptime: 0,
                error: ResponseError::NO_ERROR,
                index: 0,
                varbinds: vec![VarBind::new(
                    oid("1.3.6.1.2.1.1.5.0"),
                    Value::NoSuchInstance,
                )],
            }),
        );
        let mut b = header(18, 0x10, [7, 11, 12], 8 + 24);
        #[rustfmt::skip]
        b.extend([
            0, 0, 0, 0, 0, 0, 0, 0,
            0, 129, 0, 0,
            4, 2, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 5, 0, 0, 0, 0,
        ]);
        round_trip(&p, &b);
    }

    #[test]
    fn agent_caps_and_index_bytes() {
        let p = Pdu::new(
            7,
            0,
            40,
            Body::AddAgentCaps {
                id: oid("1.3.6.1.4.1.9586.100.5"),
                description: b"KEEPALIVED-MIB".to_vec(),
            },
        );
        let mut b = header(16, 0x10, [7, 0, 40], 20 + 20);
        #[rustfmt::skip]
        b.extend([
            4, 4, 0, 0, 0, 0, 0, 1, 0, 0, 0x25, 0x72, 0, 0, 0, 100, 0, 0, 0, 5,
            0, 0, 0, 14,
        ]);
        b.extend(b"KEEPALIVED-MIB\0\0");
        round_trip(&p, &b);
        let p = Pdu::new(
            7,
            0,
            41,
            Body::RemoveAgentCaps {
                id: oid("1.3.6.1.4.1.9586.100.5"),
            },
        );
        let mut b = header(17, 0x10, [7, 0, 41], 20);
        b.extend([
            4, 4, 0, 0, 0, 0, 0, 1, 0, 0, 0x25, 0x72, 0, 0, 0, 100, 0, 0, 0, 5,
        ]);
        round_trip(&p, &b);
        let mut p = Pdu::new(
            7,
            0,
            42,
            Body::IndexAllocate(vec![VarBind::new(oid("1.2"), Value::Integer(0))]),
        );
        p.flags = Flags::ANY_INDEX;
        let mut b = header(14, 0x14, [7, 0, 42], 20);
        b.extend([0, 2, 0, 0, 2, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0]);
        round_trip(&p, &b);
    }

    #[test]
    fn little_endian_response_from_a_master() {
        // Response to an Open: sessionID 0x2a, sysUpTime 0x01020304, no error, little-endian.
        #[rustfmt::skip]
        let b = [
            1, 18, 0, 0,
            0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 8, 0, 0, 0,
            4, 3, 2, 1, 0, 0, 0, 0,
        ];
        let (p, n) = Pdu::decode(&b).unwrap();
        assert_eq!(n, 28);
        assert_eq!(p.session_id, 0x2a);
        assert_eq!(p.packet_id, 1);
        assert_eq!(
            p.body,
            Body::Response(Response {
                sys_uptime: 0x0102_0304,
                ..Response::default()
            })
        );
        let packet = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(packet.byte_order(), ByteOrder::Little);
        assert_eq!(packet.payload_len(), 8);
    }

    #[test]
    fn context_is_ignored_where_the_layout_has_none() {
        // A Response with NON_DEFAULT_CONTEXT: no context field is read.
        let mut b = header(18, 0x18, [1, 2, 3], 8);
        b.extend([0, 0, 0, 0, 0, 0, 0, 0]);
        let (p, _) = Pdu::decode(&b).unwrap();
        assert_eq!(p.context, None);
        // And one is never written there.
        let mut p = p;
        p.context = Some(b"x".to_vec());
        assert_eq!(p.buffer_len(), 28);
        assert_eq!(p.to_bytes()[2], 0x10);
    }

    #[test]
    fn reserved_flag_bits_are_dropped() {
        let b = header(13, 0xf0, [1, 2, 3], 0);
        let (p, _) = Pdu::decode(&b).unwrap();
        assert_eq!(p.flags, Flags::empty());
        assert_eq!(p.to_bytes()[2], 0x10);
    }

    #[test]
    fn reply_echoes_the_ids() {
        let req = Pdu::new(5, 6, 7, Body::Get(vec![]));
        let resp = req.reply(Response {
            error: ResponseError::NOT_WRITABLE,
            index: 1,
            ..Response::default()
        });
        assert_eq!(
            (resp.session_id, resp.transaction_id, resp.packet_id),
            (5, 6, 7)
        );
        assert_eq!(resp.pdu_type(), PduType::Response);
    }

    #[test]
    fn header_errors() {
        let mut b = header(13, 0x10, [0, 0, 0], 0);
        b[0] = 2;
        assert_eq!(Pdu::decode(&b), Err(Error::BadVersion(2)));
        for t in [0, 19, 255] {
            let b = header(t, 0x10, [0, 0, 0], 0);
            assert_eq!(Pdu::decode(&b), Err(Error::BadType(t)));
        }
        let mut b = header(13, 0x10, [0, 0, 0], 2);
        b.extend([0, 0]);
        assert_eq!(Pdu::decode(&b), Err(Error::UnalignedPayload(2)));
        let mut b = header(13, 0x10, [0, 0, 0], 4);
        b.extend([0, 0, 0, 0]);
        assert_eq!(Pdu::decode(&b), Err(Error::TrailingBytes(4)));
        let b = header(13, 0x10, [0, 0, 0], 4);
        assert_eq!(
            Pdu::decode(&b),
            Err(Error::Truncated {
                what: "payload",
                need: 4,
                have: 0
            })
        );
        assert_eq!(
            Pdu::decode(&b[..19]),
            Err(Error::Truncated {
                what: "header",
                need: 20,
                have: 19
            })
        );
        // A context flag without a context.
        let b = header(13, 0x18, [0, 0, 0], 0);
        assert!(matches!(
            Pdu::decode(&b),
            Err(Error::Truncated {
                what: "context",
                ..
            })
        ));
        // Register announcing a range without its upper bound.
        let mut b = header(3, 0x10, [0, 0, 0], 8);
        b.extend([0, 127, 1, 0, 0, 0, 0, 0]);
        assert!(matches!(
            Pdu::decode(&b),
            Err(Error::Truncated {
                what: "upper_bound",
                ..
            })
        ));
    }

    #[test]
    fn framing() {
        assert_eq!(frame_len(&[]), Ok(HEADER_LEN));
        assert_eq!(frame_len(&[1; 19]), Ok(HEADER_LEN));
        let b = header(18, 0x10, [0, 0, 0], 8);
        assert_eq!(frame_len(&b), Ok(28));
        let mut le = b.clone();
        le[2] = 0;
        le[16..20].copy_from_slice(&8u32.to_le_bytes());
        assert_eq!(frame_len(&le), Ok(28));
        let b = header(18, 0x10, [0, 0, 0], MAX_PAYLOAD_LEN as u32);
        assert_eq!(frame_len(&b), Ok(HEADER_LEN + MAX_PAYLOAD_LEN));
        let b = header(18, 0x10, [0, 0, 0], MAX_PAYLOAD_LEN as u32 + 4);
        assert_eq!(
            frame_len(&b),
            Err(Error::PayloadTooLong {
                len: MAX_PAYLOAD_LEN as u32 + 4,
                max: MAX_PAYLOAD_LEN
            })
        );
        let b = header(18, 0x10, [0, 0, 0], u32::MAX);
        assert!(matches!(frame_len(&b), Err(Error::PayloadTooLong { .. })));
        assert!(matches!(
            Packet::new_checked(&b[..]),
            Err(Error::PayloadTooLong { .. })
        ));
    }

    #[test]
    fn two_pdus_on_a_stream_split_anywhere() {
        let a = Pdu::new(1, 0, 1, Body::Ping).to_bytes();
        let c = Pdu::new(1, 0, 2, Body::Close(CloseReason::OTHER)).to_bytes();
        let stream: Vec<u8> = a.iter().chain(&c).copied().collect();
        for cut in 0..=stream.len() {
            // Feed the stream in two reads, pulling out whole PDUs as they complete.
            let mut buf = Vec::new();
            let mut got = Vec::new();
            for chunk in [&stream[..cut], &stream[cut..]] {
                buf.extend_from_slice(chunk);
                loop {
                    let need = frame_len(&buf).unwrap();
                    if buf.len() < need {
                        break;
                    }
                    let (p, n) = Pdu::decode(&buf).unwrap();
                    assert_eq!(n, need);
                    got.push(p.packet_id);
                    buf.drain(..n);
                }
            }
            assert_eq!(got, [1, 2], "cut at {cut}");
        }
    }

    #[test]
    fn response_error_names() {
        assert_eq!(ResponseError::NOT_WRITABLE.to_string(), "notWritable");
        assert_eq!(ResponseError::OPEN_FAILED.to_string(), "openFailed");
        assert_eq!(
            ResponseError::PROCESSING_ERROR.to_string(),
            "processingError"
        );
        assert_eq!(ResponseError(19).to_string(), "error 19");
        assert_eq!(ResponseError(269).to_string(), "error 269");
        assert!(!ResponseError::NO_ERROR.is_error());
    }

    #[test]
    fn every_type_code_maps_back() {
        for t in 1..=18u8 {
            let ty = PduType::from_u8(t).unwrap();
            assert_eq!(ty as u8, t);
        }
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn decode_all(s: &str) -> Pdu {
        let b = hex(s);
        assert_eq!(frame_len(&b), Ok(b.len()));
        let (p, n) = Pdu::decode(&b).unwrap();
        assert_eq!(n, b.len());
        p
    }

    // What net-snmp 5.9.3's snmpd (`master agentx`, `agentXSocket tcp:127.0.0.1:7050`)
    // sent a sub-agent that opened with `open_bytes`' PDU, registered
    // 1.3.6.1.4.1.9586.100.5 as in `register_bytes`, was queried with snmpget, snmpgetnext
    // and snmpset, then sent `notify_bytes`' Notify, a Ping and a Close: captured off the
    // socket. snmpd accepted each of the sub-agent's PDUs (error 0 in every Response).
    #[test]
    fn net_snmp_open_and_register_responses() {
        let keepalived = oid("1.3.6.1.4.1.9586.100.5");
        let p = decode_all(concat!(
            "0112100000000005000000000000000100000030",
            "00000703000000000004000004040000000000010000257200000064000000050000000a6b656570616c697665640000",
        ));
        assert_eq!((p.session_id, p.transaction_id, p.packet_id), (5, 0, 1));
        assert_eq!(
            p.body,
            Body::Response(Response {
                sys_uptime: 0x703,
                error: ResponseError::NO_ERROR,
                index: 0,
                // snmpd echoes the Open's id and description.
                varbinds: vec![VarBind::new(
                    keepalived.clone(),
                    Value::OctetString(b"keepalived".to_vec())
                )],
            })
        );
        let p = decode_all(concat!(
            "0112100000000005000000000000000200000020",
            "0000070300000000000500000404000000000001000025720000006400000005",
        ));
        assert_eq!(p.packet_id, 2);
        assert_eq!(
            p.body,
            Body::Response(Response {
                sys_uptime: 0x703,
                varbinds: vec![VarBind::new(keepalived, Value::Null)],
                ..Response::default()
            })
        );
    }

    #[test]
    fn net_snmp_get_getnext_and_set_requests() {
        let p = decode_all(concat!(
            "0105100000000005000000010000000200000024",
            "070400000000000100002572000000640000000500000001000000010000000000000000",
        ));
        assert_eq!((p.session_id, p.transaction_id, p.packet_id), (5, 1, 2));
        assert_eq!(
            p.body,
            Body::Get(vec![SearchRange {
                start: oid("1.3.6.1.4.1.9586.100.5.1.1.0"),
                include: false,
                end: Oid::null(),
            }])
        );
        // A GetNext bounded by the end of the registered region.
        let p = decode_all(concat!(
            "0106100000000005000000030000000400000028",
            "04040000000000010000257200000064000000050404000000000001000025720000006400000006",
        ));
        assert_eq!(
            p.body,
            Body::GetNext(vec![SearchRange {
                start: oid("1.3.6.1.4.1.9586.100.5"),
                include: false,
                end: oid("1.3.6.1.4.1.9586.100.6"),
            }])
        );
        let p = decode_all(concat!(
            "0108100000000005000000070000000800000030",
            "000400000704000000000001000025720000006400000005000000010000000100000000000000056c622d3161000000",
        ));
        assert_eq!(
            p.body,
            Body::TestSet(vec![VarBind::new(
                oid("1.3.6.1.4.1.9586.100.5.1.1.0"),
                Value::OctetString(b"lb-1a".to_vec())
            )])
        );
        // Answered notWritable, snmpd ends the transaction with CleanupSet.
        let p = decode_all("010b100000000005000000070000000900000000");
        assert_eq!((p.transaction_id, p.body), (7, Body::CleanupSet));
    }

    #[test]
    fn net_snmp_notify_response_echoes_the_varbinds() {
        // Note the OID value's include byte: snmpd sets it (`0704 0100`); it means nothing.
        let p = decode_all(concat!(
            "0112100000000005000000000000000b00000064",
            "0000070a0000000000430000040200000000000100000001000000030000000000001068",
            "0006000006060000000000030000000100000001000000040000000100000000",
            "0704010000000001000025720000006400000005000000020000000000000001",
        ));
        let Body::Response(r) = p.body else {
            panic!("{p:?}")
        };
        assert_eq!(r.sys_uptime, 0x70a);
        assert_eq!(
            r.varbinds,
            [
                VarBind::new(oid("1.3.6.1.2.1.1.3.0"), Value::TimeTicks(4200)),
                VarBind::new(
                    oid("1.3.6.1.6.3.1.1.4.1.0"),
                    Value::ObjectIdentifier(oid("1.3.6.1.4.1.9586.100.5.2.0.1"))
                ),
            ]
        );
        // Ping and Close answered the same way, without bindings.
        let p = decode_all("0112100000000005000000000000000c000000080000070a00000000");
        assert_eq!(p.packet_id, 12);
        assert!(matches!(
            p.body,
            Body::Response(Response {
                error: ResponseError::NO_ERROR,
                ..
            })
        ));
    }

    fn arb_ranges() -> impl Strategy<Value = Vec<SearchRange>> {
        prop::collection::vec(
            (arb_oid(), any::<bool>(), arb_oid()).prop_map(|(start, include, end)| SearchRange {
                include: include && !start.is_null(),
                start,
                end,
            }),
            0..4,
        )
    }

    fn arb_varbinds() -> impl Strategy<Value = Vec<VarBind>> {
        prop::collection::vec(arb_varbind(), 0..4)
    }

    fn arb_range() -> impl Strategy<Value = Option<SubtreeRange>> {
        prop::option::of(
            (1u8.., any::<u32>()).prop_map(|(s, upper_bound)| SubtreeRange {
                subid: NonZeroU8::new(s).unwrap(),
                upper_bound,
            }),
        )
    }

    fn arb_body() -> impl Strategy<Value = Body> {
        let bytes = || prop::collection::vec(any::<u8>(), 0..24);
        prop_oneof![
            (any::<u8>(), arb_oid(), bytes()).prop_map(|(timeout, id, description)| {
                Body::Open(Open {
                    timeout,
                    id,
                    description,
                })
            }),
            any::<u8>().prop_map(|r| Body::Close(CloseReason(r))),
            (any::<u8>(), any::<u8>(), arb_oid(), arb_range()).prop_map(
                |(timeout, priority, subtree, range)| Body::Register(Register {
                    timeout,
                    priority,
                    subtree,
                    range
                })
            ),
            (any::<u8>(), arb_oid(), arb_range()).prop_map(|(priority, subtree, range)| {
                Body::Unregister(Unregister {
                    priority,
                    subtree,
                    range,
                })
            }),
            arb_ranges().prop_map(Body::Get),
            arb_ranges().prop_map(Body::GetNext),
            (any::<u16>(), any::<u16>(), arb_ranges()).prop_map(
                |(non_repeaters, max_repetitions, ranges)| Body::GetBulk {
                    non_repeaters,
                    max_repetitions,
                    ranges
                }
            ),
            arb_varbinds().prop_map(Body::TestSet),
            Just(Body::CommitSet),
            Just(Body::UndoSet),
            Just(Body::CleanupSet),
            arb_varbinds().prop_map(Body::Notify),
            Just(Body::Ping),
            arb_varbinds().prop_map(Body::IndexAllocate),
            arb_varbinds().prop_map(Body::IndexDeallocate),
            (arb_oid(), bytes())
                .prop_map(|(id, description)| Body::AddAgentCaps { id, description }),
            arb_oid().prop_map(|id| Body::RemoveAgentCaps { id }),
            (any::<u32>(), any::<u16>(), any::<u16>(), arb_varbinds()).prop_map(
                |(sys_uptime, error, index, varbinds)| Body::Response(Response {
                    sys_uptime,
                    error: ResponseError(error),
                    index,
                    varbinds
                })
            ),
        ]
    }

    fn arb_pdu() -> impl Strategy<Value = Pdu> {
        (
            any::<[u32; 3]>(),
            0u8..8,
            prop::option::of(prop::collection::vec(any::<u8>(), 0..12)),
            arb_body(),
        )
            .prop_map(|([s, t, p], flags, context, body)| Pdu {
                session_id: s,
                transaction_id: t,
                packet_id: p,
                flags: Flags(flags),
                context: context.filter(|_| body.pdu_type().has_context()),
                body,
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn pdu_round_trips(p in arb_pdu()) {
            let b = p.to_bytes();
            prop_assert_eq!(b.len(), p.buffer_len());
            prop_assert_eq!(b.len() % 4, 0);
            prop_assert_eq!(frame_len(&b), Ok(b.len()));
            prop_assert_eq!(Pdu::decode(&b), Ok((p, b.len())));
        }

        #[test]
        fn little_endian_decodes_the_same(p in arb_pdu()) {
            let b = le_bytes(&p);
            prop_assert_eq!(b[2] & 0x10, 0);
            prop_assert_eq!(frame_len(&b), Ok(b.len()));
            prop_assert_eq!(Pdu::decode(&b), Ok((p, b.len())));
        }

        #[test]
        fn every_strict_prefix_is_truncated(p in arb_pdu()) {
            let b = p.to_bytes();
            for n in 0..b.len() {
                let r = Pdu::decode(&b[..n]);
                prop_assert!(matches!(r, Err(Error::Truncated { .. })), "{} bytes: {:?}", n, r);
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(b in prop::collection::vec(any::<u8>(), 0..600)) {
            let _ = frame_len(&b);
            if let Ok((p, n)) = Pdu::decode(&b) {
                prop_assert!(n <= b.len());
                prop_assert_eq!(Pdu::decode(&p.to_bytes()), Ok((p.clone(), p.buffer_len())));
            }
        }

        #[test]
        fn corrupted_pdus_never_panic(p in arb_pdu(), at in any::<prop::sample::Index>(), byte in any::<u8>()) {
            // A valid PDU with one byte changed reaches deeper than random bytes do.
            let mut b = p.to_bytes();
            let i = at.index(b.len());
            b[i] = byte;
            if let Ok((q, _)) = Pdu::decode(&b) {
                prop_assert_eq!(Pdu::decode(&q.to_bytes()), Ok((q.clone(), q.buffer_len())));
            }
        }
    }
}
