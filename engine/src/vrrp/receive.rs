//! The checks a received advert must pass before it reaches an instance's state machine,
//! in keepalived's order (`vrrp_get_header()`, then `vrrp_check_packet()`; KEEPALIVED.md
//! §4.4). Each failure has a typed [`Reason`] that names the counter it bumps and whether
//! the advert is refused (KO), silently dropped (DROP) or logged and accepted.
//!
//! A [`Observer`] sees every step as it is decided, so `--decode-pcap` can show why an
//! advert was ignored without a second copy of the rules.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use crate::config::model::{GlobalDefs, VrrpInstance};
use crate::wire::advert::{RxAdvert, V3Checksum};
use crate::wire::ah::{self, AhKey, AhPacket, AH_LEN};
use crate::wire::checksum::{self, Pseudo};
use crate::wire::ipv4::Ipv4Packet;
use crate::wire::vrrp::{pass_auth_data, AuthType, VrrpPacket, AUTH_LEN, TYPE_ADVERTISEMENT};
use crate::wire::{Family, IPPROTO_AH, IPPROTO_VRRP, MCAST_GROUP4, VRRP_TTL};

/// Ethernet pads frames to 60 bytes; a receiver sees up to 46 − len bytes of padding,
/// less 4 per VLAN tag it stripped (ETH_ZLEN − ETH_HLEN, VLAN_TAG_SIZE).
const ETH_MIN_PAYLOAD: usize = 46;
const VLAN_TAG: usize = 4;

/// One step of the receive pipeline, in the order keepalived takes them.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Check {
    /// IP, AH and VRRP fixed headers all received (`vrrp_get_header()`).
    Headers,
    /// An AH header present exactly when the instance uses AH.
    AhPresence,
    /// Received length matches the header's count of addresses (padding allowed).
    Length,
    /// Multicast adverts arrive with TTL / hop limit 255 (RFC 5798 §7.1).
    Ttl,
    Version,
    /// v2: authentication type 0, 1 or 2.
    AuthTypeValid,
    /// v2: authentication type is the instance's.
    AuthTypeMatch,
    /// v2 PASS: the 8 bytes match.
    Password,
    /// v2 AH: the AH header protects a VRRP packet.
    AhNextHeader,
    /// v2 AH: ICV, SPI = source and anti-replay sequence.
    AhIcv,
    /// v2: advertisement interval equals ours (RFC 3768 §7.1).
    IntervalV2,
    Type,
    /// IPv4 total length matches what was received (padding allowed).
    TotalLength,
    /// v3: interval differs from ours (logged only: RFC 5798 has no such check).
    IntervalV3,
    Checksum,
    /// Multicast destination exactly when the instance is multicast.
    UniMulticast,
    /// `owner_ignore_adverts` at priority 255.
    OwnerIgnore,
    /// Address count and every VIP present (logged only since keepalived 2.3).
    AddressList,
    /// Unicast source is a configured peer.
    UnicastSource,
    /// Unicast peer's TTL within its min_ttl / max_ttl.
    PeerTtl,
    /// Priority 0: the master is leaving (counted, accepted).
    PriorityZero,
}

impl Check {
    pub const ALL: [Check; 21] = [
        Check::Headers,
        Check::AhPresence,
        Check::Length,
        Check::Ttl,
        Check::Version,
        Check::AuthTypeValid,
        Check::AuthTypeMatch,
        Check::Password,
        Check::AhNextHeader,
        Check::AhIcv,
        Check::IntervalV2,
        Check::Type,
        Check::TotalLength,
        Check::IntervalV3,
        Check::Checksum,
        Check::UniMulticast,
        Check::OwnerIgnore,
        Check::AddressList,
        Check::UnicastSource,
        Check::PeerTtl,
        Check::PriorityZero,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Check::Headers => "headers received",
            Check::AhPresence => "AH header presence",
            Check::Length => "packet length",
            Check::Ttl => "TTL/hop limit 255",
            Check::Version => "VRRP version",
            Check::AuthTypeValid => "auth type valid",
            Check::AuthTypeMatch => "auth type matches",
            Check::Password => "password",
            Check::AhNextHeader => "AH next header",
            Check::AhIcv => "AH ICV, SPI, sequence",
            Check::IntervalV2 => "v2 advert interval",
            Check::Type => "packet type",
            Check::TotalLength => "IPv4 total length",
            Check::IntervalV3 => "v3 advert interval",
            Check::Checksum => "VRRP checksum",
            Check::UniMulticast => "unicast/multicast destination",
            Check::OwnerIgnore => "owner ignores adverts",
            Check::AddressList => "address list",
            Check::UnicastSource => "unicast source is a peer",
            Check::PeerTtl => "unicast peer TTL range",
            Check::PriorityZero => "priority (0: master leaving)",
        }
    }
}

/// keepalived's per-instance statistics an advert can bump (`vrrp_stats`, RFC 2787 /
/// RFC 6527 MIB counters).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Counter {
    PacketLenErr,
    IpTtlErr,
    VersErr,
    InvalidAuthtype,
    AuthtypeMismatch,
    AuthFailure,
    InvalidTypeRcvd,
    ChkErr,
    AddrListErr,
    AdvertRcvd,
    PriZeroRcvd,
}

/// Why a step did not simply pass.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
pub enum Reason {
    #[error("packet too short: {len} bytes")]
    TooShort { len: usize },
    #[error("received AH header but auth type is not AH")]
    UnexpectedAh,
    #[error("no AH header but auth type is AH")]
    MissingAh,
    #[error("packet too {}: length {got}, expected {expected}", if got > expected { "long" } else { "short" })]
    Length { got: usize, expected: usize },
    #[error("invalid TTL/hop limit {got}, expected 255")]
    Ttl { got: u8 },
    #[error("wrong VRRP version {got}, expected {expected}")]
    Version { got: u8, expected: u8 },
    #[error("invalid auth type {got}")]
    InvalidAuthType { got: u8 },
    #[error("auth type {got}, expected {expected}")]
    AuthTypeMismatch { got: u8, expected: u8 },
    #[error("invalid password")]
    Password,
    #[error("AH header protects protocol {got}, not VRRP")]
    AhNextHeader { got: u8 },
    #[error("invalid IPsec HMAC-MD5 ICV (mutated fields or wrong password)")]
    AhIcv,
    #[error("AH SPI {spi:#010x} is not the source address {src}")]
    AhSpi { spi: u32, src: Ipv4Addr },
    #[error("AH sequence {seq} already seen (last {last})")]
    AhReplay { seq: u32, last: u32 },
    #[error("advert interval {got_secs} s, ours {expected_secs} s")]
    IntervalV2 { got_secs: u8, expected_secs: u64 },
    #[error("invalid packet type {got}, expected 1")]
    Type { got: u8 },
    #[error("IPv4 total length {got} but received {received} bytes")]
    TotalLength { got: u16, received: usize },
    #[error("advert interval {got_cs} cs, ours {expected_cs} cs")]
    IntervalV3 { got_cs: u16, expected_cs: u64 },
    #[error("invalid checksum {got:#06x}, expected {expected:#06x}")]
    Checksum { got: u16, expected: u16 },
    #[error("checksum uses the multicast group as pseudo-header destination (keepalived < 1.3.6); switching to it")]
    OldUnicastChecksum,
    #[error("expected a unicast packet but received multicast")]
    ExpectedUnicast,
    #[error("expected a multicast packet but received unicast")]
    ExpectedMulticast,
    #[error("address owner ignores adverts")]
    OwnerIgnore,
    #[error("expected {expected} VIPs but received {got}")]
    AddrCount { got: u8, expected: usize },
    #[error("VIP {addr} not present in advert")]
    VipMissing { addr: IpAddr },
    #[error("unicast source {src} is not a unicast peer")]
    NotAPeer { src: IpAddr },
    #[error("TTL/hop limit {ttl} not in [{min}, {max}]")]
    PeerTtl { ttl: u8, min: u8, max: u8 },
    #[error("priority 0: master is giving up")]
    PriorityZero,
}

impl Reason {
    /// A stable snake_case name for the kind of reason, without its values: the label
    /// a metrics endpoint counts refused and noted adverts by.
    pub fn kind(&self) -> &'static str {
        match self {
            Reason::TooShort { .. } => "too_short",
            Reason::UnexpectedAh => "unexpected_ah",
            Reason::MissingAh => "missing_ah",
            Reason::Length { .. } => "length",
            Reason::Ttl { .. } => "ttl",
            Reason::Version { .. } => "version",
            Reason::InvalidAuthType { .. } => "invalid_auth_type",
            Reason::AuthTypeMismatch { .. } => "auth_type_mismatch",
            Reason::Password => "password",
            Reason::AhNextHeader { .. } => "ah_next_header",
            Reason::AhIcv => "ah_icv",
            Reason::AhSpi { .. } => "ah_spi",
            Reason::AhReplay { .. } => "ah_replay",
            Reason::IntervalV2 { .. } => "advert_interval",
            Reason::Type { .. } => "type",
            Reason::TotalLength { .. } => "total_length",
            Reason::IntervalV3 { .. } => "advert_interval_v3",
            Reason::Checksum { .. } => "checksum",
            Reason::OldUnicastChecksum => "old_unicast_checksum",
            Reason::ExpectedUnicast => "expected_unicast",
            Reason::ExpectedMulticast => "expected_multicast",
            Reason::OwnerIgnore => "owner_ignore",
            Reason::AddrCount { .. } => "address_count",
            Reason::VipMissing { .. } => "vip_missing",
            Reason::NotAPeer { .. } => "not_a_peer",
            Reason::PeerTtl { .. } => "peer_ttl",
            Reason::PriorityZero => "priority_zero",
        }
    }

    /// RFC 2787's `vrrpTrapAuthErrorType` for an authentication failure keepalived sends
    /// vrrpTrapAuthFailure for (`vrrp_check_packet()`): invalidAuthType(1),
    /// authTypeMismatch(2), authFailure(3).
    pub fn auth_error(&self) -> Option<u8> {
        match self {
            Reason::InvalidAuthType { .. } => Some(1),
            Reason::UnexpectedAh | Reason::MissingAh | Reason::AuthTypeMismatch { .. } => Some(2),
            Reason::Password | Reason::AhIcv | Reason::AhSpi { .. } | Reason::AhReplay { .. } => {
                Some(3)
            }
            _ => None,
        }
    }

    /// RFC 6527's `vrrpv3StatisticsProtoErrReason` for a refusal keepalived sends
    /// vrrpv3NotifyProtoError for: ipTtlError(1), versionError(2), checksumError(3).
    /// (vrIdError(4) is an advert no instance takes, never an instance's refusal.)
    pub fn proto_error(&self) -> Option<u8> {
        match self {
            Reason::Ttl { .. } | Reason::PeerTtl { .. } => Some(1),
            Reason::Version { .. } => Some(2),
            Reason::Checksum { .. } => Some(3),
            _ => None,
        }
    }

    /// The counter keepalived bumps for this reason, if any.
    pub fn counter(&self) -> Option<Counter> {
        Some(match self {
            Reason::TooShort { .. } => return None,
            Reason::UnexpectedAh | Reason::MissingAh | Reason::AuthTypeMismatch { .. } => {
                Counter::AuthtypeMismatch
            }
            Reason::Length { .. } | Reason::TotalLength { .. } => Counter::PacketLenErr,
            Reason::Ttl { .. } | Reason::PeerTtl { .. } => Counter::IpTtlErr,
            Reason::Version { .. } => Counter::VersErr,
            Reason::InvalidAuthType { .. } => Counter::InvalidAuthtype,
            Reason::Password | Reason::AhIcv | Reason::AhSpi { .. } | Reason::AhReplay { .. } => {
                Counter::AuthFailure
            }
            // keepalived declares advert_interval_err but never increments it.
            Reason::IntervalV2 { .. } | Reason::IntervalV3 { .. } => return None,
            Reason::Type { .. } => Counter::InvalidTypeRcvd,
            Reason::Checksum { .. } => Counter::ChkErr,
            Reason::ExpectedUnicast
            | Reason::ExpectedMulticast
            | Reason::AddrCount { .. }
            | Reason::VipMissing { .. } => Counter::AddrListErr,
            Reason::OldUnicastChecksum
            | Reason::AhNextHeader { .. }
            | Reason::OwnerIgnore
            | Reason::NotAPeer { .. } => return None,
            Reason::PriorityZero => Counter::PriZeroRcvd,
        })
    }
}

/// What becomes of an advert that fails a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Action {
    /// Refused as invalid (`VRRP_PACKET_KO`).
    Ko,
    /// Ignored without complaint (`VRRP_PACKET_DROP`).
    Drop,
    /// Too short even to find the VRRP header: keepalived also stops reading the rest of
    /// the socket's queue for this wake-up.
    StopBatch,
}

/// How one step went.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Outcome {
    Pass,
    /// The step does not apply to this instance or packet.
    Skip,
    /// Logged (and counted), advert still accepted.
    Note(Reason),
    Fail(Action, Reason),
}

/// Sees each step as it is decided; `()` ignores them.
pub trait Observer {
    fn step(&mut self, check: Check, outcome: &Outcome);
}

impl Observer for () {
    #[inline(always)]
    fn step(&mut self, _: Check, _: &Outcome) {}
}

/// Records every step, for the pcap decoder and tests.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Trace(pub Vec<(Check, Outcome)>);

impl Observer for Trace {
    fn step(&mut self, check: Check, outcome: &Outcome) {
        self.0.push((check, outcome.clone()));
    }
}

/// The result of validating one advert.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Verdict {
    /// The advert goes to the state machine; `notes` were logged on the way.
    Accept { notes: Vec<Reason> },
    Reject {
        check: Check,
        action: Action,
        reason: Reason,
    },
}

impl Verdict {
    pub fn is_accept(&self) -> bool {
        matches!(self, Verdict::Accept { .. })
    }
}

/// Authentication an instance expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ExpectAuth {
    None,
    Pass([u8; AUTH_LEN]),
    Ah(AhKey),
}

impl ExpectAuth {
    /// The authentication type its adverts carry.
    pub fn auth_type(&self) -> AuthType {
        match self {
            ExpectAuth::None => AuthType::None,
            ExpectAuth::Pass(_) => AuthType::Pass,
            ExpectAuth::Ah(_) => AuthType::Ah,
        }
    }

    fn wire_type(&self) -> u8 {
        self.auth_type().to_wire()
    }
}

/// A unicast peer with the TTL range its adverts must arrive with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Peer {
    pub addr: IpAddr,
    pub min_ttl: u8,
    pub max_ttl: u8,
}

/// What an instance expects of the adverts it receives: the configuration side of the
/// checks.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Expect {
    pub family: Family,
    pub version: u8,
    pub vrid: u8,
    pub auth: ExpectAuth,
    pub advert_int_us: u64,
    pub vips: Vec<IpAddr>,
    /// Non-empty means the instance is unicast.
    pub peers: Vec<Peer>,
    pub check_unicast_src: bool,
    pub v3_checksum: V3Checksum,
    /// `old_unicast_checksum never`: do not fall back to the pre-1.3.6 checksum.
    pub never_old_checksum: bool,
    pub mcast_group4: Ipv4Addr,
    pub owner_ignore_adverts: bool,
}

impl Expect {
    /// The expectations of a completed instance of `config`.
    pub fn from_instance(vi: &VrrpInstance, global: &GlobalDefs) -> Expect {
        let family = if vi.is_ipv6() { Family::V6 } else { Family::V4 };
        let auth = match &vi.authentication {
            Some(a) => {
                let data = pass_auth_data(&a.auth_pass);
                match a.auth_type {
                    AuthType::Pass => ExpectAuth::Pass(data),
                    AuthType::Ah => ExpectAuth::Ah(data),
                    // A configuration names PASS or AH only (the parser and the
                    // serialized form both refuse anything else).
                    AuthType::None | AuthType::Other(_) => ExpectAuth::None,
                }
            }
            None => ExpectAuth::None,
        };
        let v3_checksum = if vi.v3_checksum_as_v2 {
            V3Checksum::AsV2
        } else if vi.old_unicast_checksum == Some(true) {
            V3Checksum::OldUnicast
        } else {
            V3Checksum::PseudoHeader
        };
        Expect {
            family,
            version: vi.version,
            vrid: vi.virtual_router_id,
            auth,
            advert_int_us: vi.advert_int_us,
            vips: vi.virtual_ipaddress.iter().map(|a| a.address).collect(),
            peers: vi
                .unicast_peers
                .iter()
                .map(|p| Peer {
                    addr: p.address,
                    min_ttl: p.min_ttl.unwrap_or(0),
                    max_ttl: p.max_ttl.unwrap_or(255),
                })
                .collect(),
            check_unicast_src: vi.check_unicast_src,
            v3_checksum,
            never_old_checksum: vi.old_unicast_checksum == Some(false),
            mcast_group4: match global.vrrp_mcast_group4 {
                IpAddr::V4(a) => a,
                IpAddr::V6(_) => MCAST_GROUP4,
            },
            owner_ignore_adverts: vi.owner_ignore_adverts,
        }
    }

    pub fn unicast(&self) -> bool {
        !self.peers.is_empty()
    }
}

/// What the state machine knows at the moment an advert arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RxContext {
    pub effective_priority: u8,
    /// Whether to compare the VIP list (keepalived: always as master; as backup when the
    /// master changes or `skip_check_adv_addr` is off).
    pub check_vips: bool,
}

/// One instance's receive checks and the state they keep: the highest AH sequence seen
/// per source, and whether a unicast peer turned out to use the old checksum.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Validator {
    pub expect: Expect,
    ah_seq: BTreeMap<Ipv4Addr, u32>,
    old_checksum: bool,
}

impl Validator {
    pub fn new(expect: Expect) -> Validator {
        let old_checksum = expect.v3_checksum == V3Checksum::OldUnicast;
        Validator {
            expect,
            ah_seq: BTreeMap::new(),
            old_checksum,
        }
    }

    /// The checksum rule our own adverts should follow now: a peer detected on the old
    /// unicast checksum switches us to it, as keepalived does (`vrrp_csum_mcast()`).
    pub fn tx_v3_checksum(&self) -> V3Checksum {
        if self.old_checksum && self.expect.v3_checksum != V3Checksum::AsV2 {
            V3Checksum::OldUnicast
        } else {
            self.expect.v3_checksum
        }
    }

    /// The highest AH sequence number accepted from any source: a new master must send
    /// above it or its peers reject it as a replay (keepalived keeps one counter).
    pub fn highest_ah_seq(&self) -> Option<u32> {
        self.ah_seq.values().copied().max()
    }

    /// Runs every check on `rx`, telling `obs` each step's outcome.
    pub fn check<O: Observer>(&mut self, rx: &RxAdvert<'_>, cx: RxContext, obs: &mut O) -> Verdict {
        match self.run(rx, cx, obs) {
            Ok(notes) => Verdict::Accept { notes },
            Err((check, action, reason)) => {
                obs.step(check, &Outcome::Fail(action, reason.clone()));
                Verdict::Reject {
                    check,
                    action,
                    reason,
                }
            }
        }
    }

    fn run<O: Observer>(
        &mut self,
        rx: &RxAdvert<'_>,
        cx: RxContext,
        obs: &mut O,
    ) -> Result<Vec<Reason>, (Check, Action, Reason)> {
        use Check as C;
        let ko = |c: Check, r: Reason| (c, Action::Ko, r);
        let drop = |c: Check, r: Reason| (c, Action::Drop, r);
        let e = &self.expect;
        let bytes = rx.bytes();
        let buflen = bytes.len();
        let mut notes = Vec::new();

        let layout = rx.locate().map_err(|_| {
            (
                C::Headers,
                Action::StopBatch,
                Reason::TooShort { len: buflen },
            )
        })?;
        obs.step(C::Headers, &Outcome::Pass);
        let ip = match *rx {
            RxAdvert::V4 { datagram } => Some(Ipv4Packet::new_unchecked(datagram)),
            RxAdvert::V6 { .. } => None,
        };
        let vrrp = VrrpPacket::new_unchecked(layout.vrrp(bytes), rx.family());
        let wants_ah = matches!(e.auth, ExpectAuth::Ah(_));

        // 1. AH present exactly when configured (IPv4 only).
        let mut expected_len = match &ip {
            Some(ip) => {
                let has_ah = ip.protocol() == IPPROTO_AH;
                if has_ah != wants_ah {
                    let r = if has_ah {
                        Reason::UnexpectedAh
                    } else {
                        Reason::MissingAh
                    };
                    return Err(ko(C::AhPresence, r));
                }
                obs.step(C::AhPresence, &Outcome::Pass);
                ip.header_len() + if has_ah { AH_LEN } else { 0 }
            }
            None => {
                obs.step(C::AhPresence, &Outcome::Skip);
                0
            }
        };

        // 2. Length from the header's own count, Ethernet padding tolerated.
        expected_len += vrrp.packet_len();
        if buflen != expected_len {
            let padded = expected_len < ETH_MIN_PAYLOAD && ethernet_padded(expected_len, buflen);
            if !padded {
                return Err(ko(
                    C::Length,
                    Reason::Length {
                        got: buflen,
                        expected: expected_len,
                    },
                ));
            }
        }
        obs.step(C::Length, &Outcome::Pass);

        // 3. TTL 255 on multicast (RFC 5798 §7.1); unicast may cross routers.
        let ttl = match (*rx, &ip) {
            (_, Some(ip)) => Some(ip.ttl()),
            (RxAdvert::V6 { hop_limit, .. }, None) => hop_limit,
            _ => None,
        };
        if e.unicast() || ttl.is_none() {
            obs.step(C::Ttl, &Outcome::Skip);
        } else if ttl != Some(VRRP_TTL) {
            return Err(ko(
                C::Ttl,
                Reason::Ttl {
                    got: ttl.unwrap_or(0),
                },
            ));
        } else {
            obs.step(C::Ttl, &Outcome::Pass);
        }

        // 4. Version.
        if vrrp.version() != e.version {
            return Err(ko(
                C::Version,
                Reason::Version {
                    got: vrrp.version(),
                    expected: e.version,
                },
            ));
        }
        obs.step(C::Version, &Outcome::Pass);

        // 6. v2 authentication and interval (RFC 3768 §7.1).
        if e.version == 2 {
            let at = vrrp.auth_type();
            if at > 2 {
                return Err(ko(C::AuthTypeValid, Reason::InvalidAuthType { got: at }));
            }
            obs.step(C::AuthTypeValid, &Outcome::Pass);
            if at != e.auth.wire_type() {
                return Err(ko(
                    C::AuthTypeMatch,
                    Reason::AuthTypeMismatch {
                        got: at,
                        expected: e.auth.wire_type(),
                    },
                ));
            }
            obs.step(C::AuthTypeMatch, &Outcome::Pass);
            match (&e.auth, &ip, layout.ah) {
                (ExpectAuth::Pass(pw), _, _) => {
                    // Located from the validated length: tot_len is not checked yet.
                    let got = &bytes[expected_len - AUTH_LEN..expected_len];
                    if got.iter().zip(pw).fold(0u8, |acc, (a, b)| acc | (a ^ b)) != 0 {
                        return Err(ko(C::Password, Reason::Password));
                    }
                    obs.step(C::Password, &Outcome::Pass);
                    obs.step(C::AhNextHeader, &Outcome::Skip);
                    obs.step(C::AhIcv, &Outcome::Skip);
                }
                (ExpectAuth::Ah(key), Some(ip), Some(ah_at)) => {
                    obs.step(C::Password, &Outcome::Skip);
                    let ah = AhPacket::new_unchecked(&bytes[ah_at..]);
                    if ah.next_header() != IPPROTO_VRRP {
                        return Err(drop(
                            C::AhNextHeader,
                            Reason::AhNextHeader {
                                got: ah.next_header(),
                            },
                        ));
                    }
                    obs.step(C::AhNextHeader, &Outcome::Pass);
                    // vrrp_in_chk_ipsecah(): ICV first, nothing else is trustworthy before it.
                    if !ah::verify_icv(ip.header(), &bytes[ah_at..], key, e.unicast()) {
                        return Err(ko(C::AhIcv, Reason::AhIcv));
                    }
                    let src = ip.src();
                    if ah.spi() != u32::from(src) {
                        return Err(ko(C::AhIcv, Reason::AhSpi { spi: ah.spi(), src }));
                    }
                    let last = self.ah_seq.get(&src).copied();
                    match last {
                        Some(last) if ah.seq() <= last => {
                            return Err(ko(
                                C::AhIcv,
                                Reason::AhReplay {
                                    seq: ah.seq(),
                                    last,
                                },
                            ));
                        }
                        _ => {
                            self.ah_seq.insert(src, ah.seq());
                        }
                    }
                    obs.step(C::AhIcv, &Outcome::Pass);
                }
                _ => {
                    obs.step(C::Password, &Outcome::Skip);
                    obs.step(C::AhNextHeader, &Outcome::Skip);
                    obs.step(C::AhIcv, &Outcome::Skip);
                }
            }
            let e = &self.expect;
            // keepalived compares in its own units: configured µs against whole seconds.
            if u64::from(vrrp.adver_int_secs()) * 1_000_000 != e.advert_int_us {
                return Err(drop(
                    C::IntervalV2,
                    Reason::IntervalV2 {
                        got_secs: vrrp.adver_int_secs(),
                        expected_secs: e.advert_int_us / 1_000_000,
                    },
                ));
            }
            obs.step(C::IntervalV2, &Outcome::Pass);
        } else {
            for c in [
                C::AuthTypeValid,
                C::AuthTypeMatch,
                C::Password,
                C::AhNextHeader,
                C::AhIcv,
                C::IntervalV2,
            ] {
                obs.step(c, &Outcome::Skip);
            }
        }
        let e = &self.expect;

        // 7. Type.
        if vrrp.kind() != TYPE_ADVERTISEMENT {
            return Err(ko(C::Type, Reason::Type { got: vrrp.kind() }));
        }
        obs.step(C::Type, &Outcome::Pass);

        // 8. IPv4 total length against what arrived.
        if let Some(ip) = &ip {
            let tot = usize::from(ip.total_len());
            if tot != buflen {
                let padded = buflen <= ETH_MIN_PAYLOAD && ethernet_padded(tot, buflen);
                if !padded {
                    return Err(ko(
                        C::TotalLength,
                        Reason::TotalLength {
                            got: ip.total_len(),
                            received: buflen,
                        },
                    ));
                }
            }
            obs.step(C::TotalLength, &Outcome::Pass);
        } else {
            obs.step(C::TotalLength, &Outcome::Skip);
        }

        // 9. v3 interval: no RFC 5798 check (backups take the master's, §6.4.2); logged.
        if e.version == 3 {
            let ours = e.advert_int_us / 10_000;
            if u64::from(vrrp.max_adver_int_cs()) != ours {
                let r = Reason::IntervalV3 {
                    got_cs: vrrp.max_adver_int_cs(),
                    expected_cs: ours,
                };
                obs.step(C::IntervalV3, &Outcome::Note(r.clone()));
                notes.push(r);
            } else {
                obs.step(C::IntervalV3, &Outcome::Pass);
            }
        } else {
            obs.step(C::IntervalV3, &Outcome::Skip);
        }

        // 10. Checksum. IPv6: the kernel verified it (IPV6_CHECKSUM); we check it anyway
        // so a decoder or a simulator without that kernel still catches corruption.
        let got = vrrp.checksum();
        let pseudo = match (*rx, &ip) {
            (_, Some(ip)) => {
                let rule = if self.old_checksum {
                    V3Checksum::OldUnicast
                } else {
                    e.v3_checksum
                };
                rule.pseudo(e.version, ip.src().into(), ip.dst().into(), e.mcast_group4)
            }
            (RxAdvert::V6 { src, dst, .. }, None) => Pseudo::V6 { src, dst },
            _ => Pseudo::None,
        };
        let want = checksum::vrrp_checksum(vrrp.packet_bytes(), pseudo);
        if got != want {
            // A unicast peer on keepalived < 1.3.6 puts the group in the pseudo-header.
            // Once we follow it, `pseudo` already holds the group and this is not tried.
            let old = match (pseudo, &ip) {
                (Pseudo::V4 { src, dst }, Some(_))
                    if e.unicast() && !e.never_old_checksum && dst != e.mcast_group4 =>
                {
                    checksum::vrrp_checksum(
                        vrrp.packet_bytes(),
                        Pseudo::V4 {
                            src,
                            dst: e.mcast_group4,
                        },
                    ) == got
                }
                _ => false,
            };
            if !old {
                return Err(ko(
                    C::Checksum,
                    Reason::Checksum {
                        got,
                        expected: want,
                    },
                ));
            }
            self.old_checksum = true;
            obs.step(C::Checksum, &Outcome::Note(Reason::OldUnicastChecksum));
            notes.push(Reason::OldUnicastChecksum);
        } else {
            obs.step(C::Checksum, &Outcome::Pass);
        }
        let e = &self.expect;

        // 11. Destination kind matches the instance's mode.
        let multicast_dst = match (*rx, &ip) {
            (_, Some(ip)) => ip.dst().is_multicast(),
            (RxAdvert::V6 { dst, .. }, None) => dst.is_multicast(),
            _ => false,
        };
        if multicast_dst == e.unicast() {
            let r = if e.unicast() {
                Reason::ExpectedUnicast
            } else {
                Reason::ExpectedMulticast
            };
            return Err(ko(C::UniMulticast, r));
        }
        obs.step(C::UniMulticast, &Outcome::Pass);

        // 12. An owner told to ignore adverts (RFC 9568 §6.4.3).
        if e.owner_ignore_adverts && cx.effective_priority == 255 {
            return Err(drop(C::OwnerIgnore, Reason::OwnerIgnore));
        }
        obs.step(C::OwnerIgnore, &Outcome::Pass);

        // 13. Addresses: logged, not refused (keepalived ≥ 2.3, RFC 9568 §7.1 MAY).
        let n = vrrp.addr_count();
        if usize::from(n) != e.vips.len() {
            let r = Reason::AddrCount {
                got: n,
                expected: e.vips.len(),
            };
            obs.step(C::AddressList, &Outcome::Note(r.clone()));
            notes.push(r);
        } else if let Some(addr) = e
            .vips
            .iter()
            .find(|a| cx.check_vips && !vrrp.contains_addr(a))
        {
            let r = Reason::VipMissing { addr: *addr };
            obs.step(C::AddressList, &Outcome::Note(r.clone()));
            notes.push(r);
        } else if cx.check_vips {
            obs.step(C::AddressList, &Outcome::Pass);
        } else {
            obs.step(C::AddressList, &Outcome::Skip);
        }

        // 14–15. Unicast source is a peer, arriving within its TTL range.
        if e.unicast() && e.check_unicast_src {
            let src = rx.src();
            let Some(peer) = e.peers.iter().find(|p| Some(p.addr) == src) else {
                let src = src.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
                return Err(ko(C::UnicastSource, Reason::NotAPeer { src }));
            };
            obs.step(C::UnicastSource, &Outcome::Pass);
            match ttl {
                Some(t) if !(peer.min_ttl..=peer.max_ttl).contains(&t) => {
                    return Err(drop(
                        C::PeerTtl,
                        Reason::PeerTtl {
                            ttl: t,
                            min: peer.min_ttl,
                            max: peer.max_ttl,
                        },
                    ));
                }
                Some(_) => obs.step(C::PeerTtl, &Outcome::Pass),
                None => obs.step(C::PeerTtl, &Outcome::Skip),
            }
        } else {
            obs.step(C::UnicastSource, &Outcome::Skip);
            obs.step(C::PeerTtl, &Outcome::Skip);
        }

        // 16. Priority 0 is counted; the state machine acts on it.
        if vrrp.priority() == 0 {
            obs.step(C::PriorityZero, &Outcome::Note(Reason::PriorityZero));
            notes.push(Reason::PriorityZero);
        } else {
            obs.step(C::PriorityZero, &Outcome::Pass);
        }
        Ok(notes)
    }
}

/// A padded payload is 46 − 4k bytes (k VLAN tags stripped): after a packet of 4n bytes
/// (every VRRP packet), padding leaves this modulo a tag.
const PADDING_MOD_TAG: usize = ETH_MIN_PAYLOAD % VLAN_TAG;

/// Whether `received` bytes can be a `len`-byte packet followed by Ethernet padding
/// (`vrrp_check_packet()`: more bytes than the packet, by a padding's length modulo a
/// VLAN tag). The callers bound the lengths to a frame that Ethernet pads.
fn ethernet_padded(len: usize, received: usize) -> bool {
    received
        .checked_sub(len)
        .is_some_and(|extra| extra % VLAN_TAG == PADDING_MOD_TAG)
}
