//! BFD control packets (RFC 5880 §4.1), as single-hop BFD carries them in UDP to port
//! 3784 (RFC 5881 §4).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |Vers |  Diag   |Sta|P|F|C|A|D|M|  Detect Mult  |    Length     |
//! |                       My Discriminator                        |
//! |                      Your Discriminator                       |
//! |                    Desired Min TX Interval                    |
//! |                   Required Min RX Interval                    |
//! |                 Required Min Echo RX Interval                 |
//! |  Auth Type    |   Auth Len    |    Authentication Data...     |  (A bit only)
//! ```
//!
//! [`BfdRepr::parse`] makes keepalived 2.2.7's sanity checks (`bfd_check_packet()`), in
//! its order, which are RFC 5880 §6.8.6's reception checks plus two of its own (not
//! both Poll and Final, a known diagnostic). An authentication section (A bit) is
//! checked for length and kept; keepalived supports no authentication, and the engine
//! discards such a packet after finding its session, as `bfd_handle_packet()` does.

use thiserror::Error;

/// The mandatory section: everything but authentication.
pub const HEADER_LEN: usize = 24;
/// The only version RFC 5880 defines (§4.1 "Vers").
pub const VERSION: u8 = 1;
/// Shortest packet with an authentication section: its type and length bytes
/// (RFC 5880 §6.8.6: "24 if the A bit is clear, or 26 if the A bit is set").
pub const MIN_AUTH_LEN: usize = HEADER_LEN + 2;

mod field {
    pub const VERS_DIAG: usize = 0;
    pub const FLAGS: usize = 1;
    pub const DETECT_MULT: usize = 2;
    pub const LENGTH: usize = 3;
    pub const MY_DISCR: usize = 4;
    pub const YOUR_DISCR: usize = 8;
    pub const DESIRED_MIN_TX: usize = 12;
    pub const REQUIRED_MIN_RX: usize = 16;
    pub const REQUIRED_MIN_ECHO_RX: usize = 20;
    pub const AUTH_TYPE: usize = 24;
    pub const AUTH_LEN: usize = 25;
}

mod flag {
    pub const POLL: u8 = 0x20;
    pub const FINAL: u8 = 0x10;
    pub const CPLANE: u8 = 0x08;
    pub const AUTH: u8 = 0x04;
    pub const DEMAND: u8 = 0x02;
    pub const MULTIPOINT: u8 = 0x01;
}

/// A session state (RFC 5880 §4.1 "Sta", §6.2), as the two bits carry it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum State {
    AdminDown,
    Down,
    Init,
    Up,
}

impl State {
    /// The two state bits; every value is a state.
    pub const fn from_wire(v: u8) -> State {
        match v & 3 {
            0 => State::AdminDown,
            1 => State::Down,
            2 => State::Init,
            _ => State::Up,
        }
    }

    pub const fn to_wire(self) -> u8 {
        match self {
            State::AdminDown => 0,
            State::Down => 1,
            State::Init => 2,
            State::Up => 3,
        }
    }

    /// keepalived's `BFD_STATE_STR()`.
    pub const fn name(self) -> &'static str {
        match self {
            State::AdminDown => "AdminDown",
            State::Down => "Down",
            State::Init => "Init",
            State::Up => "Up",
        }
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A diagnostic code (RFC 5880 §4.1 "Diag"): why the session last left Up. Codes above
/// 8 are reserved, and keepalived refuses a packet carrying one (`BFD_VALID_DIAG()`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum Diag {
    NoDiag,
    Expired,
    EchoFailed,
    NeighborSignaledDown,
    ForwardingPlaneReset,
    PathDown,
    ConcatenatedPathDown,
    AdminDown,
    ReverseConcatenatedPathDown,
}

impl Diag {
    /// The five diagnostic bits, `None` for a reserved code.
    pub const fn from_wire(v: u8) -> Option<Diag> {
        Some(match v {
            0 => Diag::NoDiag,
            1 => Diag::Expired,
            2 => Diag::EchoFailed,
            3 => Diag::NeighborSignaledDown,
            4 => Diag::ForwardingPlaneReset,
            5 => Diag::PathDown,
            6 => Diag::ConcatenatedPathDown,
            7 => Diag::AdminDown,
            8 => Diag::ReverseConcatenatedPathDown,
            _ => return None,
        })
    }

    pub const fn to_wire(self) -> u8 {
        match self {
            Diag::NoDiag => 0,
            Diag::Expired => 1,
            Diag::EchoFailed => 2,
            Diag::NeighborSignaledDown => 3,
            Diag::ForwardingPlaneReset => 4,
            Diag::PathDown => 5,
            Diag::ConcatenatedPathDown => 6,
            Diag::AdminDown => 7,
            Diag::ReverseConcatenatedPathDown => 8,
        }
    }

    /// keepalived's `BFD_DIAG_STR()`, as its logs and dump print it.
    pub const fn name(self) -> &'static str {
        match self {
            Diag::NoDiag => "No Diagnostic",
            Diag::Expired => "Control Detection Time Expired",
            Diag::EchoFailed => "Echo Function Failed",
            Diag::NeighborSignaledDown => "Neighbor Signaled Session Down",
            Diag::ForwardingPlaneReset => "Forwarding Plane Reset",
            Diag::PathDown => "Path Down",
            Diag::ConcatenatedPathDown => "Concatenated Path Down",
            Diag::AdminDown => "Administratively Down",
            Diag::ReverseConcatenatedPathDown => "Reverse Concatenated Path Down",
        }
    }
}

impl std::fmt::Display for Diag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a datagram is not a control packet a BFD session may act on. One variant per
/// check of `bfd_check_packet()` (and RFC 5880 §6.8.6), in the order they are made.
#[derive(Debug, Clone, PartialEq, Eq, Error, serde::Serialize, serde::Deserialize)]
pub enum BfdError {
    #[error("packet is too small: {len} bytes")]
    TooShort { len: usize },
    #[error("packet size mismatch: length field: {field} bytes, buffer size: {len} bytes")]
    LengthMismatch { field: u8, len: usize },
    #[error("packet is of unsupported version: {0}")]
    Version(u8),
    #[error("packet 'detection multiplier' field is zero")]
    ZeroDetectMult,
    #[error("packet has 'multipoint' flag")]
    Multipoint,
    #[error("packet 'my discriminator' field is zero")]
    ZeroMyDiscriminator,
    #[error(
        "packet 'your discriminator' field is zero and 'state' field is {0}, not Down or AdminDown"
    )]
    ZeroYourDiscriminator(State),
    #[error("packet has both poll and final flags set")]
    PollAndFinal,
    #[error("packet has invalid 'diag' field: {0}")]
    Diag(u8),
    /// The A bit with a length too short for the authentication section, or an Auth Len
    /// that does not fit in the packet (RFC 5880 §4.1, §6.8.6).
    #[error("authentication section: auth len {auth_len} in a packet of {len} bytes")]
    AuthLength { auth_len: u8, len: usize },
}

/// A zero-copy view of a BFD control packet.
#[derive(Debug, Clone)]
pub struct BfdPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> BfdPacket<T> {
    pub const fn new_unchecked(buffer: T) -> Self {
        BfdPacket { buffer }
    }

    /// A view whose mandatory section is within the buffer. The length field is not
    /// checked against the buffer here: [`BfdRepr::parse`] does, as keepalived does.
    pub fn new_checked(buffer: T) -> Result<Self, BfdError> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    pub fn check_len(&self) -> Result<(), BfdError> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(BfdError::TooShort { len });
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
        let b = self.b();
        u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
    }

    pub fn version(&self) -> u8 {
        self.b()[field::VERS_DIAG] >> 5
    }

    /// The raw five diagnostic bits.
    pub fn diag(&self) -> u8 {
        self.b()[field::VERS_DIAG] & 0x1f
    }

    pub fn state(&self) -> State {
        State::from_wire(self.b()[field::FLAGS] >> 6)
    }

    fn flag(&self, f: u8) -> bool {
        self.b()[field::FLAGS] & f != 0
    }

    pub fn poll(&self) -> bool {
        self.flag(flag::POLL)
    }

    pub fn final_(&self) -> bool {
        self.flag(flag::FINAL)
    }

    /// C: Control Plane Independent.
    pub fn cplane(&self) -> bool {
        self.flag(flag::CPLANE)
    }

    /// A: Authentication Present.
    pub fn auth(&self) -> bool {
        self.flag(flag::AUTH)
    }

    pub fn demand(&self) -> bool {
        self.flag(flag::DEMAND)
    }

    pub fn multipoint(&self) -> bool {
        self.flag(flag::MULTIPOINT)
    }

    pub fn detect_mult(&self) -> u8 {
        self.b()[field::DETECT_MULT]
    }

    /// The Length field: the whole packet, authentication included, in bytes.
    pub fn length(&self) -> u8 {
        self.b()[field::LENGTH]
    }

    pub fn my_discr(&self) -> u32 {
        self.u32_at(field::MY_DISCR)
    }

    pub fn your_discr(&self) -> u32 {
        self.u32_at(field::YOUR_DISCR)
    }

    /// Desired Min TX Interval, in microseconds.
    pub fn desired_min_tx(&self) -> u32 {
        self.u32_at(field::DESIRED_MIN_TX)
    }

    /// Required Min RX Interval, in microseconds.
    pub fn required_min_rx(&self) -> u32 {
        self.u32_at(field::REQUIRED_MIN_RX)
    }

    /// Required Min Echo RX Interval, in microseconds.
    pub fn required_min_echo_rx(&self) -> u32 {
        self.u32_at(field::REQUIRED_MIN_ECHO_RX)
    }

    /// The authentication section (type, length, data) when the A bit is set and the
    /// section is whole; `None` otherwise.
    pub fn auth_section(&self) -> Option<&[u8]> {
        let b = self.b();
        if b.len() < MIN_AUTH_LEN || !self.auth() {
            return None;
        }
        let n = usize::from(b[field::AUTH_LEN]);
        b.get(field::AUTH_TYPE..field::AUTH_TYPE + n)
            .filter(|s| s.len() >= 2)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> BfdPacket<T> {
    fn bm(&mut self) -> &mut [u8] {
        self.buffer.as_mut()
    }

    fn set_u32(&mut self, at: usize, v: u32) {
        self.bm()[at..at + 4].copy_from_slice(&v.to_be_bytes());
    }

    pub fn set_version_diag(&mut self, version: u8, diag: u8) {
        self.bm()[field::VERS_DIAG] = (version << 5) | (diag & 0x1f);
    }

    /// The state and the six flags, P F C A D M.
    pub fn set_state_flags(&mut self, state: State, flags: [bool; 6]) {
        let mut v = state.to_wire() << 6;
        for (set, f) in flags.into_iter().zip([
            flag::POLL,
            flag::FINAL,
            flag::CPLANE,
            flag::AUTH,
            flag::DEMAND,
            flag::MULTIPOINT,
        ]) {
            if set {
                v |= f;
            }
        }
        self.bm()[field::FLAGS] = v;
    }

    pub fn set_detect_mult(&mut self, v: u8) {
        self.bm()[field::DETECT_MULT] = v;
    }

    pub fn set_length(&mut self, v: u8) {
        self.bm()[field::LENGTH] = v;
    }

    pub fn set_my_discr(&mut self, v: u32) {
        self.set_u32(field::MY_DISCR, v);
    }

    pub fn set_your_discr(&mut self, v: u32) {
        self.set_u32(field::YOUR_DISCR, v);
    }

    pub fn set_desired_min_tx(&mut self, v: u32) {
        self.set_u32(field::DESIRED_MIN_TX, v);
    }

    pub fn set_required_min_rx(&mut self, v: u32) {
        self.set_u32(field::REQUIRED_MIN_RX, v);
    }

    pub fn set_required_min_echo_rx(&mut self, v: u32) {
        self.set_u32(field::REQUIRED_MIN_ECHO_RX, v);
    }
}

/// An authentication section (RFC 5880 §4.2): kept so a packet survives parse → emit,
/// never verified, since keepalived 2.2.7 supports no authentication.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AuthSection {
    pub auth_type: u8,
    /// The Auth Len byte: the section's length, type and length bytes included.
    pub auth_len: u8,
    /// Everything after the type and length bytes, to the end of the packet (the
    /// Length field's end), so parse → emit gives the same bytes.
    pub data: Vec<u8>,
}

/// A parsed control packet.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BfdRepr {
    pub diag: Diag,
    pub state: State,
    pub poll: bool,
    pub final_: bool,
    pub cplane: bool,
    pub demand: bool,
    pub detect_mult: u8,
    pub my_discr: u32,
    pub your_discr: u32,
    /// Microseconds, as all three intervals.
    pub desired_min_tx: u32,
    pub required_min_rx: u32,
    pub required_min_echo_rx: u32,
    /// Present when the A bit is set.
    pub auth: Option<AuthSection>,
}

impl BfdRepr {
    /// Parses a datagram's payload with `bfd_check_packet()`'s checks, in its order:
    /// the length (at least 24, and equal to the Length field: keepalived wants them
    /// equal where RFC 5880 §6.8.6 only refuses a Length beyond the payload), version 1,
    /// a nonzero Detect Mult, no M bit, a nonzero My Discriminator, a nonzero Your
    /// Discriminator unless the state is Down or AdminDown (all RFC 5880 §6.8.6), not
    /// both P and F (RFC 5880 §6.5 forbids it), a defined diagnostic. With the A bit,
    /// the authentication section must fit (RFC 5880 §6.8.6: at least 26 bytes).
    pub fn parse<T: AsRef<[u8]>>(packet: &BfdPacket<T>) -> Result<BfdRepr, BfdError> {
        packet.check_len()?;
        let len = packet.b().len();
        if usize::from(packet.length()) != len {
            return Err(BfdError::LengthMismatch {
                field: packet.length(),
                len,
            });
        }
        if packet.version() != VERSION {
            return Err(BfdError::Version(packet.version()));
        }
        if packet.detect_mult() == 0 {
            return Err(BfdError::ZeroDetectMult);
        }
        if packet.multipoint() {
            return Err(BfdError::Multipoint);
        }
        if packet.my_discr() == 0 {
            return Err(BfdError::ZeroMyDiscriminator);
        }
        let state = packet.state();
        if packet.your_discr() == 0 && !matches!(state, State::Down | State::AdminDown) {
            return Err(BfdError::ZeroYourDiscriminator(state));
        }
        if packet.poll() && packet.final_() {
            return Err(BfdError::PollAndFinal);
        }
        let diag = Diag::from_wire(packet.diag()).ok_or(BfdError::Diag(packet.diag()))?;
        let auth = if packet.auth() {
            let b = packet.b();
            let auth_len = b.get(field::AUTH_LEN).copied().unwrap_or(0);
            let section = packet
                .auth_section()
                .ok_or(BfdError::AuthLength { auth_len, len })?;
            Some(AuthSection {
                auth_type: section[0],
                auth_len,
                data: b[MIN_AUTH_LEN..].to_vec(),
            })
        } else {
            None
        };
        Ok(BfdRepr {
            diag,
            state,
            poll: packet.poll(),
            final_: packet.final_(),
            cplane: packet.cplane(),
            demand: packet.demand(),
            detect_mult: packet.detect_mult(),
            my_discr: packet.my_discr(),
            your_discr: packet.your_discr(),
            desired_min_tx: packet.desired_min_tx(),
            required_min_rx: packet.required_min_rx(),
            required_min_echo_rx: packet.required_min_echo_rx(),
            auth,
        })
    }

    /// Parses a UDP payload.
    pub fn parse_bytes(bytes: &[u8]) -> Result<BfdRepr, BfdError> {
        BfdRepr::parse(&BfdPacket::new_checked(bytes)?)
    }

    /// Bytes [`BfdRepr::emit`] writes: 24, plus the authentication section. A section
    /// that would take the packet beyond the one-byte Length is cut to fit.
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN + self.auth_len()
    }

    fn auth_len(&self) -> usize {
        self.auth.as_ref().map_or(0, |a| {
            (2 + a.data.len()).min(usize::from(u8::MAX) - HEADER_LEN)
        })
    }

    /// Writes the packet into `buffer` (at least `buffer_len()` bytes). The A bit
    /// follows `auth`; the Length field is `buffer_len()`.
    pub fn emit(&self, buffer: &mut [u8]) {
        let len = self.buffer_len();
        let auth_len = self.auth_len();
        let mut p = BfdPacket::new_unchecked(&mut buffer[..len]);
        p.set_version_diag(VERSION, self.diag.to_wire());
        p.set_state_flags(
            self.state,
            [
                self.poll,
                self.final_,
                self.cplane,
                self.auth.is_some(),
                self.demand,
                false,
            ],
        );
        p.set_detect_mult(self.detect_mult);
        p.set_length(len as u8);
        p.set_my_discr(self.my_discr);
        p.set_your_discr(self.your_discr);
        p.set_desired_min_tx(self.desired_min_tx);
        p.set_required_min_rx(self.required_min_rx);
        p.set_required_min_echo_rx(self.required_min_echo_rx);
        if let Some(a) = &self.auth {
            let b = p.bm();
            b[field::AUTH_TYPE] = a.auth_type;
            b[field::AUTH_LEN] = a.auth_len;
            b[MIN_AUTH_LEN..len].copy_from_slice(&a.data[..auth_len - 2]);
        }
    }

    /// The packet as a vector.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = vec![0u8; self.buffer_len()];
        self.emit(&mut v);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Down packet as keepalived's `bfd_build_packet()` makes a fresh session's first
    /// one with the default timers: diag 0, state Down, detect mult 5, length 24, your
    /// discriminator 0, the idle TX interval (1 s) as Desired Min TX while not Up, min_rx
    /// 10 ms, no echo.
    const KEEPALIVED_DOWN: [u8; 24] = [
        0x20, 0x40, 0x05, 0x18, // vers 1 diag 0 | Down | mult 5 | len 24
        0x5a, 0x3c, 0x11, 0x02, // my discr
        0x00, 0x00, 0x00, 0x00, // your discr
        0x00, 0x0f, 0x42, 0x40, // 1,000,000 us
        0x00, 0x00, 0x27, 0x10, // 10,000 us
        0x00, 0x00, 0x00, 0x00, // no echo
    ];

    /// keepalived Up with Poll set (`bfd_state_up()` starts a poll sequence when
    /// idle_tx != min_tx), now advertising min_tx 10 ms.
    const KEEPALIVED_UP_POLL: [u8; 24] = [
        0x20, 0xe0, 0x05, 0x18, // Up | P
        0x5a, 0x3c, 0x11, 0x02, 0x0b, 0xad, 0xf0, 0x0d, // discriminators
        0x00, 0x00, 0x27, 0x10, 0x00, 0x00, 0x27, 0x10, 0x00, 0x00, 0x00, 0x00,
    ];

    fn with(mut b: [u8; 24], at: usize, v: u8) -> [u8; 24] {
        b[at] = v;
        b
    }

    #[test]
    fn parses_keepalived_down_packet() {
        let r = BfdRepr::parse_bytes(&KEEPALIVED_DOWN).unwrap();
        assert_eq!(
            r,
            BfdRepr {
                diag: Diag::NoDiag,
                state: State::Down,
                poll: false,
                final_: false,
                cplane: false,
                demand: false,
                detect_mult: 5,
                my_discr: 0x5a3c_1102,
                your_discr: 0,
                desired_min_tx: 1_000_000,
                required_min_rx: 10_000,
                required_min_echo_rx: 0,
                auth: None,
            }
        );
        assert_eq!(r.to_bytes(), KEEPALIVED_DOWN);
    }

    #[test]
    fn parses_up_with_poll() {
        let r = BfdRepr::parse_bytes(&KEEPALIVED_UP_POLL).unwrap();
        assert_eq!(r.state, State::Up);
        assert!(r.poll && !r.final_);
        assert_eq!(r.your_discr, 0x0bad_f00d);
        assert_eq!(r.desired_min_tx, 10_000);
        assert_eq!(r.to_bytes(), KEEPALIVED_UP_POLL);
    }

    #[test]
    fn every_state_and_flag_round_trips() {
        for st in [State::AdminDown, State::Down, State::Init, State::Up] {
            for bits in 0u8..16 {
                let r = BfdRepr {
                    diag: Diag::AdminDown,
                    state: st,
                    poll: bits & 1 != 0 && bits & 2 == 0,
                    final_: bits & 2 != 0,
                    cplane: bits & 4 != 0,
                    demand: bits & 8 != 0,
                    detect_mult: 3,
                    my_discr: 7,
                    your_discr: 9,
                    desired_min_tx: 100_000,
                    required_min_rx: 200_000,
                    required_min_echo_rx: 5,
                    auth: None,
                };
                let b = r.to_bytes();
                assert_eq!(b[1] >> 6, st.to_wire());
                assert_eq!(BfdRepr::parse_bytes(&b), Ok(r));
            }
        }
    }

    #[test]
    fn refuses_as_bfd_check_packet_does() {
        let up = KEEPALIVED_UP_POLL;
        assert_eq!(
            BfdRepr::parse_bytes(&up[..23]),
            Err(BfdError::TooShort { len: 23 })
        );
        assert_eq!(
            BfdRepr::parse_bytes(&[]),
            Err(BfdError::TooShort { len: 0 })
        );
        let mut long = up.to_vec();
        long.push(0);
        assert_eq!(
            BfdRepr::parse_bytes(&long),
            Err(BfdError::LengthMismatch { field: 24, len: 25 })
        );
        assert_eq!(
            BfdRepr::parse_bytes(&with(up, 3, 23)),
            Err(BfdError::LengthMismatch { field: 23, len: 24 })
        );
        assert_eq!(
            BfdRepr::parse_bytes(&with(up, 0, 0x40)),
            Err(BfdError::Version(2))
        );
        assert_eq!(
            BfdRepr::parse_bytes(&with(up, 2, 0)),
            Err(BfdError::ZeroDetectMult)
        );
        assert_eq!(
            BfdRepr::parse_bytes(&with(up, 1, 0xc1)),
            Err(BfdError::Multipoint)
        );
        let mut zero_my = up;
        zero_my[4..8].fill(0);
        assert_eq!(
            BfdRepr::parse_bytes(&zero_my),
            Err(BfdError::ZeroMyDiscriminator)
        );
        let mut zero_your = up;
        zero_your[8..12].fill(0);
        assert_eq!(
            BfdRepr::parse_bytes(&zero_your),
            Err(BfdError::ZeroYourDiscriminator(State::Up))
        );
        assert_eq!(
            BfdRepr::parse_bytes(&with(zero_your, 1, 0x80)),
            Err(BfdError::ZeroYourDiscriminator(State::Init))
        );
        // Down and AdminDown may not know the peer's discriminator yet.
        assert!(BfdRepr::parse_bytes(&with(zero_your, 1, 0x40)).is_ok());
        assert!(BfdRepr::parse_bytes(&with(zero_your, 1, 0x00)).is_ok());
        assert_eq!(
            BfdRepr::parse_bytes(&with(up, 1, 0xf0)),
            Err(BfdError::PollAndFinal)
        );
        assert_eq!(
            BfdRepr::parse_bytes(&with(up, 0, 0x29)),
            Err(BfdError::Diag(9))
        );
        assert!(BfdRepr::parse_bytes(&with(up, 0, 0x28)).is_ok());
    }

    #[test]
    fn checks_come_in_keepalived_order() {
        // Version 0, multiplier 0 and M set: the version is reported first.
        let mut b = with(with(KEEPALIVED_UP_POLL, 0, 0x00), 2, 0);
        b[1] |= 1;
        assert_eq!(BfdRepr::parse_bytes(&b), Err(BfdError::Version(0)));
    }

    #[test]
    fn authentication_section_is_checked_for_length_and_kept() {
        // Simple password (RFC 5880 §4.2.2): type 1, len 7, key id 1, "abcd".
        let mut b = KEEPALIVED_UP_POLL.to_vec();
        b[1] = 0xc4; // Up | A
        b[3] = 31;
        b.extend_from_slice(&[1, 7, 1, b'a', b'b', b'c', b'd']);
        let r = BfdRepr::parse_bytes(&b).unwrap();
        assert_eq!(
            r.auth,
            Some(AuthSection {
                auth_type: 1,
                auth_len: 7,
                data: vec![1, b'a', b'b', b'c', b'd'],
            })
        );
        assert_eq!(r.to_bytes(), b);
        // Auth Len beyond the packet.
        b[25] = 8;
        assert_eq!(
            BfdRepr::parse_bytes(&b),
            Err(BfdError::AuthLength {
                auth_len: 8,
                len: 31
            })
        );
        // A bit in a 24-byte packet.
        assert_eq!(
            BfdRepr::parse_bytes(&with(KEEPALIVED_UP_POLL, 1, 0xc4)),
            Err(BfdError::AuthLength {
                auth_len: 0,
                len: 24
            })
        );
    }

    #[test]
    fn never_panics_on_short_or_odd_buffers() {
        let mut seed = 0x1234_5678_u64;
        for len in 0..64 {
            for _ in 0..200 {
                let mut v = vec![0u8; len];
                for x in v.iter_mut() {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    *x = (seed >> 33) as u8;
                }
                if len > 3 && seed & 1 == 0 {
                    v[3] = len as u8;
                    v[0] = 0x20 | (v[0] & 0x1f);
                }
                if let Ok(r) = BfdRepr::parse_bytes(&v) {
                    // Bytes past the mandatory section without the A bit are allowed
                    // (RFC 5880 §6.8.6) and not kept.
                    if r.auth.is_some() || v.len() == HEADER_LEN {
                        assert_eq!(r.to_bytes(), v);
                    }
                    assert_eq!(BfdRepr::parse_bytes(&r.to_bytes()), Ok(r));
                }
                let p = BfdPacket::new_unchecked(&v[..]);
                let _ = p.auth_section();
            }
        }
    }
}
