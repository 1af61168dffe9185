//! One BFD session's variables (RFC 5880 §6.8.1, keepalived's `bfd_t`) and what a
//! reader outside the engine may see of them.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::config::model::BfdInstance;
use crate::time::Instant;
use crate::wire::bfd::{BfdRepr, Diag, State};

/// The three timers a session runs (keepalived's `thread_out`, `thread_exp`,
/// `thread_rst`). The order breaks ties between timers due at the same instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Timer {
    /// Send the next periodic control packet (`bfd_sender_thread()`).
    Sender,
    /// A Detection Time without a packet: the session goes Down (`bfd_expire_thread()`).
    Expire,
    /// A Detection Time after going Down: forget the peer (`bfd_reset_thread()`).
    Reset,
}

/// A microsecond setting as the 32 bits the packet carries (keepalived keeps them as
/// `uint32_t`; its parser caps them at `UINT32_MAX / 1000` ms).
pub(crate) fn us32(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub cfg: BfdInstance,
    pub nbr: IpAddr,
    /// RFC 5880 §6.8.1 bfd.SessionState / bfd.RemoteSessionState.
    pub local_state: State,
    pub remote_state: State,
    /// bfd.LocalDiscr / bfd.RemoteDiscr.
    pub local_discr: u32,
    pub remote_discr: u32,
    /// bfd.LocalDiag, and the last diagnostic the peer sent.
    pub local_diag: Diag,
    pub remote_diag: Diag,
    /// What the peer last asked for, in microseconds.
    pub remote_min_tx: u32,
    /// bfd.RemoteMinRxInterval.
    pub remote_min_rx: u32,
    /// bfd.DemandMode is never set: keepalived has no demand mode of its own.
    pub local_demand: bool,
    /// bfd.RemoteDemandMode.
    pub remote_demand: bool,
    pub remote_detect_mult: u8,
    /// A Poll Sequence is under way (RFC 5880 §6.5).
    pub poll: bool,
    /// The next packet answers a Poll (RFC 5880 §6.5).
    pub final_: bool,
    /// The negotiated intervals (RFC 5880 §6.8.2, §6.8.7), microseconds.
    pub local_tx_intv: u32,
    pub remote_tx_intv: u32,
    /// RFC 5880 §6.8.4: how long without a packet before Down, and the same from the
    /// peer's side.
    pub local_detect_time: u64,
    pub remote_detect_time: u64,
    pub last_seen: Option<Instant>,
    pub sender: Option<Instant>,
    pub expire: Option<Instant>,
    pub reset: Option<Instant>,
    /// AdminDown because the socket failed (`bfd_open_fds()`), until it opens.
    pub socket_failed: bool,
    /// When a packet from the peer last had the failed socket opened again.
    pub reopen_asked: Option<Instant>,
    /// The clients were left believing the session Up when the peer went AdminDown
    /// (`ignore_admin_down`), and have not been told otherwise since.
    pub held_up: bool,
    /// A Required Min RX a reload reduced while Up, the value the peer last knew:
    /// the Detection Time keeps using it until our Poll Sequence ends with the peer's
    /// Final (RFC 5880 §6.8.3).
    pub prev_min_rx: Option<u32>,
    /// A packet with P carrying the current values went out: a Final now answers
    /// them, not an earlier Poll's (RFC 5880 §6.5: new values during a Poll Sequence
    /// need a Poll of their own).
    pub poll_sent: bool,
}

impl Session {
    /// A new session in keepalived's initial state (`bfd0`, `bfd_init_state()`): Down,
    /// nothing known of the peer, transmitting at the idle interval.
    pub fn new(cfg: BfdInstance, nbr: IpAddr, local_discr: u32) -> Session {
        let idle = us32(cfg.idle_tx_us);
        Session {
            cfg,
            nbr,
            local_state: State::Down,
            remote_state: State::Down,
            local_discr,
            remote_discr: 0,
            local_diag: Diag::NoDiag,
            remote_diag: Diag::NoDiag,
            remote_min_tx: 0,
            remote_min_rx: 0,
            local_demand: false,
            remote_demand: false,
            remote_detect_mult: 0,
            poll: false,
            final_: false,
            local_tx_intv: idle,
            remote_tx_intv: 0,
            local_detect_time: 0,
            remote_detect_time: 0,
            last_seen: None,
            sender: None,
            expire: None,
            reset: None,
            socket_failed: false,
            reopen_asked: None,
            held_up: false,
            prev_min_rx: None,
            poll_sent: false,
        }
    }

    pub fn name(&self) -> &str {
        &self.cfg.name
    }

    pub fn min_rx(&self) -> u32 {
        us32(self.cfg.min_rx_us)
    }

    pub fn min_tx(&self) -> u32 {
        us32(self.cfg.min_tx_us)
    }

    pub fn idle_tx(&self) -> u32 {
        us32(self.cfg.idle_tx_us)
    }

    pub fn slot(&mut self, t: Timer) -> &mut Option<Instant> {
        match t {
            Timer::Sender => &mut self.sender,
            Timer::Expire => &mut self.expire,
            Timer::Reset => &mut self.reset,
        }
    }

    /// RFC 5880 §6.8.3: while Up, transmit at the larger of our Desired Min TX and
    /// the peer's Required Min RX (`bfd_update_local_tx_intv()`).
    pub fn update_local_tx_intv(&mut self) {
        self.local_tx_intv = self.min_tx().max(self.remote_min_rx);
    }

    /// RFC 5880 §6.8.3: while not Up, Desired Min TX is at least one second: the idle
    /// interval (`bfd_idle_local_tx_intv()`).
    pub fn idle_local_tx_intv(&mut self) {
        self.local_tx_intv = self.idle_tx().max(self.remote_min_rx);
    }

    /// RFC 5880 §6.8.4: the peer's interval is the larger of our Required Min RX and
    /// its Desired Min TX (`bfd_update_remote_tx_intv()`).
    pub fn update_remote_tx_intv(&mut self) {
        let rx = self.prev_min_rx.unwrap_or(self.min_rx());
        self.remote_tx_intv = rx.max(self.remote_min_tx);
    }

    /// RFC 5880 §6.8.7: whether periodic packets may go. Not while the peer is in
    /// Demand mode and both are Up, "and a Poll Sequence is not being transmitted";
    /// not while the peer asks for none (bfd.RemoteMinRxInterval zero, §6.8.18) until
    /// it is forgotten after a Detection Time (bfd.RemoteDiscr back to zero); not by a
    /// passive session that has not heard its peer (bfd.RemoteDiscr zero).
    pub fn periodic_allowed(&self) -> bool {
        let demand = self.remote_demand
            && !self.poll
            && self.local_state == State::Up
            && self.remote_state == State::Up;
        let no_rx = self.remote_discr != 0 && self.remote_min_rx == 0;
        let unheard_passive = self.cfg.passive && self.remote_discr == 0;
        !(demand || no_rx || unheard_passive)
    }

    /// Starts a Poll Sequence (RFC 5880 §6.5), unless a Final is about to go, which
    /// carries the new values anyway (`bfd_set_poll()`).
    pub fn set_poll(&mut self) {
        if !self.final_ {
            self.poll = true;
            self.poll_sent = false;
        }
    }

    /// The packet to send now (`bfd_build_packet()`): Desired Min TX is the idle
    /// interval unless Up (RFC 5880 §6.8.3), no echo (§6.8.9: keepalived has no echo
    /// function), no authentication. A Final never carries P (RFC 5880 §6.5), but our
    /// Poll Sequence goes on in the next packets until the peer's Final ends it
    /// (keepalived drops it here, so a lost Final went unnoticed).
    pub fn build(&mut self) -> BfdRepr {
        let poll = self.poll && !self.final_;
        self.poll_sent |= poll;
        BfdRepr {
            diag: self.local_diag,
            state: self.local_state,
            poll,
            final_: self.final_,
            cplane: false,
            demand: self.local_demand,
            detect_mult: self.cfg.multiplier,
            my_discr: self.local_discr,
            your_discr: self.remote_discr,
            desired_min_tx: if self.local_state == State::Up {
                self.min_tx()
            } else {
                self.idle_tx()
            },
            required_min_rx: self.min_rx(),
            required_min_echo_rx: 0,
            auth: None,
        }
    }

    /// Forgets the peer after a Detection Time Down (`bfd_reset_state()`: `bfd0`
    /// without the fields RFC 5880 §6.8.1 says are never reinitialized).
    pub fn reset_state(&mut self) {
        self.local_state = State::Down;
        self.remote_state = State::Down;
        self.remote_discr = 0;
        self.remote_diag = Diag::NoDiag;
        self.local_demand = false;
        self.remote_demand = false;
        self.poll = false;
        self.final_ = false;
        self.idle_local_tx_intv();
    }

    /// Takes over the state of the session of the same name before a reload
    /// (`bfd_copy_state(bfd, old, true)`); the running timers go on.
    pub fn copy_state(&mut self, old: &Session) {
        self.local_state = old.local_state;
        self.remote_state = old.remote_state;
        self.remote_discr = old.remote_discr;
        self.remote_diag = old.remote_diag;
        self.local_demand = old.local_demand;
        self.remote_demand = old.remote_demand;
        self.poll = old.poll;
        self.final_ = old.final_;
        self.local_diag = old.local_diag;
        self.local_discr = old.local_discr;
        self.remote_min_tx = old.remote_min_tx;
        self.remote_min_rx = old.remote_min_rx;
        self.remote_detect_mult = old.remote_detect_mult;
        self.local_tx_intv = old.local_tx_intv;
        self.remote_tx_intv = old.remote_tx_intv;
        self.local_detect_time = old.local_detect_time;
        self.remote_detect_time = old.remote_detect_time;
        self.last_seen = old.last_seen;
        self.sender = old.sender;
        self.expire = old.expire;
        self.reset = old.reset;
        self.socket_failed = old.socket_failed;
        self.held_up = old.held_up;
        self.prev_min_rx = old.prev_min_rx;
        self.poll_sent = old.poll_sent;
    }

    pub fn view(&self) -> SessionView {
        SessionView {
            name: self.cfg.name.clone(),
            neighbor: self.nbr,
            source: self.cfg.source_ip,
            local_state: self.local_state,
            remote_state: self.remote_state,
            local_discr: self.local_discr,
            remote_discr: self.remote_discr,
            local_diag: self.local_diag,
            remote_diag: self.remote_diag,
            remote_min_tx_us: self.remote_min_tx,
            remote_min_rx_us: self.remote_min_rx,
            remote_detect_mult: self.remote_detect_mult,
            remote_demand: self.remote_demand,
            poll: self.poll,
            final_: self.final_,
            local_tx_intv_us: self.local_tx_intv,
            remote_tx_intv_us: self.remote_tx_intv,
            local_detect_time_us: self.local_detect_time,
            remote_detect_time_us: self.remote_detect_time,
            last_seen: self.last_seen,
            next_tx: self.sender,
            expires: self.expire,
            resets: self.reset,
        }
    }
}

/// What one session looks like from outside (`Engine::sessions()`): its states,
/// discriminators, diagnostics, the negotiated intervals and its timers. Microseconds
/// throughout, as the packets carry them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionView {
    pub name: String,
    pub neighbor: IpAddr,
    pub source: Option<IpAddr>,
    pub local_state: State,
    pub remote_state: State,
    pub local_discr: u32,
    pub remote_discr: u32,
    pub local_diag: Diag,
    pub remote_diag: Diag,
    pub remote_min_tx_us: u32,
    pub remote_min_rx_us: u32,
    pub remote_detect_mult: u8,
    pub remote_demand: bool,
    pub poll: bool,
    pub final_: bool,
    /// The interval between our periodic packets, before jitter.
    pub local_tx_intv_us: u32,
    /// The interval we expect between the peer's packets.
    pub remote_tx_intv_us: u32,
    /// The Detection Time (RFC 5880 §6.8.4).
    pub local_detect_time_us: u64,
    /// The peer's Detection Time as our packets set it.
    pub remote_detect_time_us: u64,
    pub last_seen: Option<Instant>,
    /// When the next periodic packet goes.
    pub next_tx: Option<Instant>,
    /// When the session goes Down without a packet.
    pub expires: Option<Instant>,
    /// When a Down session forgets its peer.
    pub resets: Option<Instant>,
}
