//! The BFD engine (RFC 5880, single-hop RFC 5881): the sessions keepalived's BFD process
//! runs (`keepalived/bfd/bfd_scheduler.c`), as a deterministic state machine with the
//! same contract as the VRRP and checker engines:
//!
//! ```text
//! let mut engine = bfd::Engine::new(&config, now, seed);
//! engine.handle_input(now, bfd::Input::Packet { .. });
//! engine.handle_timeout(now);
//! while let Some(out) = engine.poll_output() { /* open sockets, transmit, events */ }
//! let wake_at = engine.poll_timeout();
//! ```
//!
//! What keepalived 2.2.7 does, and this engine with it: asynchronous mode only (no
//! demand mode of its own, though a peer's D bit stops our periodic packets while both
//! are Up, as `bfd_handle_packet()` does), no echo function, and no authentication: a
//! packet with the A bit is discarded (RFC 5880 §6.8.6 "If the A bit is set and no
//! authentication is in use … MUST be discarded"). `multihop` is kept in the
//! configuration but the session runs single-hop, as 2.2.7 has no multihop.
//!
//! Transmit jitter is keepalived's: 10–25 % off the interval (`get_jitter()`), which is
//! within RFC 5880 §6.8.7's 0–25 % and meets its 10 % floor for a multiplier of 1. The
//! wider 0–25 % would send a slow-rate packet later on average, and a session coming back
//! after an outage would more often lose the race that lets it skip Init, so it would
//! come Up later than keepalived's (seen in the side-by-side harness's `--only bfd`).
//!
//! Where this engine differs from keepalived, on purpose:
//! - A Detection Time counts from the last packet in Init as in Up (RFC 5880 §6.8.4);
//!   keepalived counts Init's from entering Init.
//! - A peer's AdminDown takes an Up session Down with diag 3, as keepalived does, but
//!   the clients are told it is down unless `ignore_admin_down` (keepalived never
//!   tells them, `bfd_state_fall()`). Clients so held hear that it is down when it
//!   then expires on its way back up, or its socket fails.
//! - A socket that fails while the session is Up takes it AdminDown and tells the
//!   clients it is down (keepalived only fails sockets at start and reload, where it
//!   sends every session's state anyway).
//! - A reload that changes a session's neighbor or source address makes it a new
//!   session (keepalived keeps the state of any session of the same name).
//! - A peer's D bit silences us only while no Poll Sequence of ours is under way, and
//!   a session that falls while silenced sends again (RFC 5880 §6.8.7); keepalived
//!   stays silent until the peer's next packet.
//! - No periodic packets to a peer that asks for none (Required Min RX zero) until a
//!   Detection Time without its packets forgets it, and none from a passive session
//!   once its Reset has forgotten the peer (RFC 5880 §6.8.7, §6.8.18); keepalived
//!   sends on.
//! - A reload while Up applies a smaller min_tx and a larger min_rx at once, a larger
//!   min_tx and a smaller min_rx when the Poll Sequence ends (RFC 5880 §6.8.3); while
//!   not Up, a new idle_tx at once. keepalived waits for the peer's next packet.
//! - Answering the peer's Poll with a Final does not end a Poll Sequence of ours but
//!   the one entering Up starts; it goes on until the peer's Final, and a reduced
//!   min_rx reaches the Detection Time only then (RFC 5880 §6.5, §6.8.3); a Final that
//!   answers a Poll sent before a reload changed the values again does not end it.
//!   keepalived drops its Poll whenever it sends a Final.
//! - A shorter transmit interval brings the next packet forward but never pushes it
//!   back (keepalived reschedules it from the packet that shortened the interval).

pub mod dump;
pub mod fuzz;
pub mod io;
mod session;

pub use dump::DumpHost;
pub use io::{Input, Output, CONTROL_PORT};
pub use session::SessionView;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::check::rng::SplitMix64;
use crate::config::model::{BfdInstance, Config};
use crate::time::{us, Instant};
use crate::wire::bfd::{BfdRepr, Diag, State};

use session::{Session, Timer};

/// Packets the engine dropped, by the check that dropped them, in the order
/// `bfd_handle_packet()` makes the checks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discards {
    /// Failed `bfd_check_packet()` ([`crate::wire::bfd::BfdError`]).
    pub bogus: u64,
    /// No session has the Your Discriminator, or the addresses when it is zero.
    pub no_session: u64,
    /// TTL / hop limit below `ttl - max_hops` (RFC 5881 §5, GTSM).
    pub ttl: u64,
    /// The A bit: no authentication is in use.
    pub auth: u64,
    /// The session is AdminDown (its socket failed).
    pub admin_down: u64,
}

/// The BFD engine for one host.
#[derive(Debug, Clone)]
pub struct Engine {
    /// In configuration order, as keepalived's `bfd_data->bfd` list.
    sessions: Vec<Session>,
    /// Local discriminator → session, for `find_bfd_by_discr()`.
    discrs: BTreeMap<u32, usize>,
    /// Every running timer, earliest first; ties go by session then timer kind.
    timers: BTreeSet<(Instant, usize, Timer)>,
    rng: SplitMix64,
    out: VecDeque<Output>,
    shut_down: bool,
    discards: Discards,
}

impl Engine {
    /// An engine running every `bfd_instance` of `config`; `seed` drives the transmit
    /// jitter and the local discriminators.
    ///
    /// As keepalived starts (`bfd_open_fds()`, `bfd_register_workers()`): every
    /// session's socket is opened, every session's state (Down) goes to its clients,
    /// and every session that is not passive sends its first packet at once.
    pub fn new(config: &Config, now: Instant, seed: u64) -> Engine {
        let mut e = Engine {
            sessions: Vec::new(),
            discrs: BTreeMap::new(),
            timers: BTreeSet::new(),
            rng: SplitMix64::new(seed),
            out: VecDeque::new(),
            shut_down: false,
            discards: Discards::default(),
        };
        for (cfg, nbr) in usable(config) {
            let d = e.new_discr();
            e.discrs.insert(d, e.sessions.len());
            e.sessions.push(Session::new(cfg.clone(), nbr, d));
        }
        for i in 0..e.sessions.len() {
            e.open(i);
        }
        for i in 0..e.sessions.len() {
            if !e.sessions[i].cfg.passive {
                e.sender_schedule(i, now);
            }
            e.event(i);
        }
        for i in 0..e.sessions.len() {
            if !e.sessions[i].cfg.passive {
                e.transmit(i);
            }
        }
        e
    }

    pub fn handle_input(&mut self, now: Instant, input: Input) {
        if self.shut_down {
            return;
        }
        match input {
            Input::Packet {
                src,
                dst,
                ttl,
                bytes,
            } => self.packet(now, src, dst, ttl, &bytes),
            Input::SocketFailed { session } => {
                if let Some(i) = self.find_by_name(&session) {
                    self.socket_failed(i);
                }
            }
            Input::SocketOpened { session } => {
                if let Some(i) = self.find_by_name(&session) {
                    self.socket_opened(i, now);
                }
            }
            Input::Reload(config) => self.reload(&config, now),
            Input::Shutdown => self.shutdown(),
        }
    }

    /// Runs every timer due at `now`, earliest first.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.shut_down {
            return;
        }
        while let Some(&(at, i, t)) = self.timers.first() {
            if at > now {
                break;
            }
            self.timers.remove(&(at, i, t));
            *self.sessions[i].slot(t) = None;
            match t {
                // keepalived's threads run late when the loop is late, and reschedule
                // from when they ran.
                Timer::Sender => {
                    self.transmit(i);
                    if self.sessions[i].periodic_allowed() {
                        self.sender_schedule(i, now);
                    }
                }
                Timer::Expire => self.expire(i, now),
                Timer::Reset => self.reset(i, now),
            }
        }
    }

    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// The earliest running timer; `None` after a shutdown or with no sessions.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.shut_down {
            return None;
        }
        self.timers.first().map(|&(at, _, _)| at)
    }

    /// Every session, in configuration order.
    pub fn sessions(&self) -> Vec<SessionView> {
        self.sessions.iter().map(Session::view).collect()
    }

    /// The session named `name`.
    pub fn session(&self, name: &str) -> Option<SessionView> {
        self.find_by_name(name).map(|i| self.sessions[i].view())
    }

    /// Packets dropped so far, by reason.
    pub fn discards(&self) -> Discards {
        self.discards
    }

    /// Whether `Input::Shutdown` has been handled.
    pub fn is_shut_down(&self) -> bool {
        self.shut_down
    }

    fn find_by_name(&self, name: &str) -> Option<usize> {
        self.sessions.iter().position(|s| s.name() == name)
    }

    /// `find_bfd_by_addr()`: the first session whose neighbor sent the packet and, when
    /// it has a source address and the packet's destination is known, the packet was
    /// sent to that address.
    fn find_by_addr(&self, src: IpAddr, dst: Option<IpAddr>) -> Option<usize> {
        self.sessions.iter().position(|s| {
            s.nbr == src
                && match (s.cfg.source_ip, dst) {
                    (Some(want), Some(got)) => want == got,
                    _ => true,
                }
        })
    }

    /// A random nonzero discriminator no session has (`bfd_get_random_discr()`;
    /// RFC 5880 §6.8.1: "MUST be unique across all BFD sessions on this system").
    fn new_discr(&mut self) -> u32 {
        loop {
            let d = self.rng.next_u64() as u32;
            if d != 0 && !self.discrs.contains_key(&d) {
                return d;
            }
        }
    }

    fn set_timer(&mut self, i: usize, t: Timer, at: Option<Instant>) {
        let slot = self.sessions[i].slot(t);
        if let Some(old) = slot.take() {
            self.timers.remove(&(old, i, t));
        }
        *slot = at;
        if let Some(at) = at {
            self.timers.insert((at, i, t));
        }
    }

    /// RFC 5880 §6.8.7: the interval is reduced by a random 10–25 % (`get_jitter()`), so
    /// no packet comes later than 90 % of the interval, which a multiplier of 1 requires.
    fn jitter(&mut self, i: usize) -> u64 {
        let tx = u64::from(self.sessions[i].local_tx_intv);
        tx / 10 + self.rng.up_to(tx / 4 - tx / 10)
    }

    /// `bfd_sender_schedule()`: the next periodic packet, the interval less jitter
    /// from `from`.
    fn sender_schedule(&mut self, i: usize, from: Instant) {
        let at = self.sender_due(i, from);
        self.set_timer(i, Timer::Sender, Some(at));
    }

    /// When the next periodic packet is due if scheduled at `from`.
    fn sender_due(&mut self, i: usize, from: Instant) -> Instant {
        let j = self.jitter(i);
        // At least a microsecond, so a zero interval (a configuration built without the
        // parser's bounds, and a peer's zero Required Min RX) cannot spin the loop.
        let delay = (u64::from(self.sessions[i].local_tx_intv) - j).max(1);
        from + us(delay)
    }

    /// Builds and sends one packet now (`bfd_sender_thread()`); a Final goes once.
    fn transmit(&mut self, i: usize) {
        let s = &mut self.sessions[i];
        let bytes = s.build().to_bytes();
        s.final_ = false;
        self.out.push_back(Output::Transmit {
            session: s.name().to_string(),
            dst: s.nbr,
            bytes,
        });
    }

    fn open(&mut self, i: usize) {
        let s = &self.sessions[i];
        self.out.push_back(Output::Open {
            session: s.name().to_string(),
            src: s.cfg.source_ip,
            dst: s.nbr,
            ttl: s.cfg.send_ttl(),
        });
    }

    fn close(&mut self, name: &str) {
        self.out.push_back(Output::Close {
            session: name.to_string(),
        });
    }

    /// `bfd_event_send()`: Up or not, to the processes that follow the session.
    fn event(&mut self, i: usize) {
        self.sessions[i].held_up = false;
        let s = &self.sessions[i];
        self.out.push_back(Output::Event {
            session: s.name().to_string(),
            up: s.local_state == State::Up,
            vrrp: s.cfg.to_vrrp(),
            checker: s.cfg.to_checker(),
        });
    }

    /// `bfd_handle_packet()`.
    fn packet(
        &mut self,
        now: Instant,
        src: IpAddr,
        dst: Option<IpAddr>,
        ttl: Option<u8>,
        b: &[u8],
    ) {
        let Ok(r) = BfdRepr::parse_bytes(b) else {
            self.discards.bogus += 1;
            return;
        };
        // RFC 5880 §6.8.6: a nonzero Your Discriminator selects the session; a zero one
        // (the peer does not know us yet) leaves the addresses to do it.
        let found = if r.your_discr == 0 {
            self.find_by_addr(src, dst)
        } else {
            self.discrs.get(&r.your_discr).copied()
        };
        let Some(i) = found else {
            self.discards.no_session += 1;
            return;
        };
        // RFC 5881 §5 (GTSM), extended by keepalived's max_hops: a packet that crossed
        // more hops than allowed is dropped; a TTL the kernel did not give (or gave as
        // zero) is not checked, and max_hops 255 turns the check off
        // (`bfd_check_packet_ttl()`).
        let cfg = &self.sessions[i].cfg;
        if cfg.max_hops != u8::MAX {
            if let Some(t) = ttl.filter(|&t| t != 0) {
                if u16::from(cfg.max_hops) + u16::from(t) < u16::from(cfg.send_ttl()) {
                    self.discards.ttl += 1;
                    return;
                }
            }
        }
        // RFC 5880 §6.8.6: the A bit without authentication in use.
        if r.auth.is_some() {
            self.discards.auth += 1;
            return;
        }
        if self.sessions[i].local_state == State::AdminDown {
            self.discards.admin_down += 1;
            // keepalived opens a failed socket again when its peer is heard
            // (`bfd_handle_packet()`), so a `source_ip` that has since come up does not
            // wait for the minute's retry; here at most once a second, so a flood cannot
            // turn into a flood of socket() calls. The next packet finds it Down.
            let s = &mut self.sessions[i];
            let due = s
                .reopen_asked
                .is_none_or(|at| now.saturating_since(at) >= std::time::Duration::from_secs(1));
            if s.socket_failed && !self.shut_down && due {
                s.reopen_asked = Some(now);
                self.open(i);
            }
            return;
        }

        let s = &mut self.sessions[i];
        let old_local_tx = s.local_tx_intv;
        // RFC 5880 §6.8.6: take the peer's variables.
        s.remote_discr = r.my_discr;
        s.remote_state = r.state;
        s.remote_diag = r.diag;
        s.remote_min_rx = r.required_min_rx;
        s.remote_min_tx = r.desired_min_tx;
        s.remote_demand = r.demand;
        s.remote_detect_mult = r.detect_mult;
        // RFC 5880 §6.5: a Final ends our Poll Sequence, and with it the wait for a
        // reduced Required Min RX to reach the Detection Time (§6.8.3); but not one
        // that answers a Poll sent before a reload changed the values again (the peer
        // has not seen them): the sequence goes on with a Poll carrying them.
        if r.final_ && (s.poll_sent || !s.poll) {
            s.poll = false;
            s.prev_min_rx = None;
        }
        // RFC 5880 §6.8.3: while Up, new intervals take effect only with a Poll
        // Sequence, so they are worked out again on a Poll or a Final, or while not Up.
        if s.local_state != State::Up || r.poll || r.final_ {
            if s.remote_state == State::Up && matches!(s.local_state, State::Init | State::Up) {
                s.update_local_tx_intv();
            } else {
                s.idle_local_tx_intv();
            }
            s.update_remote_tx_intv();
        }
        // RFC 5880 §6.8.4: Detection Time = the peer's Detect Mult × the agreed
        // interval of its packets.
        s.local_detect_time = u64::from(s.remote_detect_mult) * u64::from(s.remote_tx_intv);
        s.remote_detect_time = u64::from(s.cfg.multiplier) * u64::from(s.local_tx_intv);
        // RFC 5880 §6.8.3: a shorter interval applies at once: the next packet goes
        // no later than the new interval from now, and no later than it was due, so
        // a peer alternating its Required Min RX cannot keep pushing it back
        // (keepalived's `bfd_sender_reschedule()` reschedules from now regardless).
        if let (true, Some(due)) = (s.local_tx_intv < old_local_tx, s.sender) {
            let at = self.sender_due(i, now);
            if at < due {
                self.set_timer(i, Timer::Sender, Some(at));
            }
        }

        // RFC 5880 §6.8.6, the state machine of §6.2.
        let (local, remote) = (self.sessions[i].local_state, self.sessions[i].remote_state);
        if remote == State::AdminDown && local != State::Down {
            self.state_down(i, now, Diag::NeighborSignaledDown);
        } else {
            match (local, remote) {
                (State::Down, State::Down) => self.state_init(i, now),
                (State::Down, State::Init) => self.state_up(i, now),
                (State::Init, State::Init | State::Up) => self.state_up(i, now),
                (State::Up, State::Down) => self.state_down(i, now, Diag::NeighborSignaledDown),
                _ => {}
            }
        }

        // RFC 5880 §6.8.7: no periodic packets while the peer is in Demand mode and
        // both are Up, "and a Poll Sequence is not being transmitted" (a Poll of ours,
        // as the one entering Up starts, would otherwise never go out), nor while it
        // asks for none (Required Min RX zero); otherwise they go on.
        if !self.sessions[i].periodic_allowed() {
            self.set_timer(i, Timer::Sender, None);
        } else if self.sessions[i].sender.is_none() {
            self.sender_schedule(i, now);
        }

        // RFC 5880 §6.8.6: a Poll is answered at once with a Final, outside the
        // periodic schedule.
        if r.poll {
            let s = &mut self.sessions[i];
            // A Final never carries P (RFC 5880 §6.5), so our own Poll Sequence goes on
            // in the next packets, but for the one entering Up starts (idle_tx to
            // min_tx): that one ends here, as keepalived ends it, the Final carrying
            // the new values; a lost Final only leaves the peer the longer Detection
            // Time of the idle interval.
            if local != State::Up && s.local_state == State::Up {
                s.poll = false;
            }
            s.final_ = true;
            self.transmit(i);
        }

        self.sessions[i].last_seen = Some(now);
        // RFC 5880 §6.8.4: the Detection Time runs from the last packet.
        let s = &self.sessions[i];
        if matches!(s.local_state, State::Up | State::Init) && s.expire.is_some() {
            let at = now + us(s.local_detect_time);
            self.set_timer(i, Timer::Expire, Some(at));
        }
    }

    /// `bfd_expire_thread()`: a Detection Time without a packet (RFC 5880 §6.8.4);
    /// bfd.RemoteDiscr goes back to zero (§6.8.1).
    fn expire(&mut self, i: usize, now: Instant) {
        self.sessions[i].remote_discr = 0;
        self.state_down(i, now, Diag::Expired);
        // `ignore_admin_down` holds the clients across the peer's AdminDown only: a
        // Detection Time without packets (here from Init, on the way back up) is a
        // real failure, and clients still believing the session Up hear of it.
        if self.sessions[i].held_up {
            self.event(i);
        }
    }

    /// `bfd_state_down()`.
    fn state_down(&mut self, i: usize, now: Instant, diag: Diag) {
        let old = self.sessions[i].local_state;
        // A session that was Up takes a new discriminator, so late packets of the old
        // session find nothing.
        if old == State::Up {
            let d = self.new_discr();
            let s = &mut self.sessions[i];
            self.discrs.remove(&s.local_discr);
            s.local_discr = d;
            self.discrs.insert(d, i);
        }
        let s = &mut self.sessions[i];
        s.local_state = State::Down;
        s.local_diag = diag;
        let reset = now + us(s.local_detect_time);
        let passive = s.cfg.passive;
        self.set_timer(i, Timer::Reset, Some(reset));
        if passive {
            self.set_timer(i, Timer::Sender, None);
        } else if self.sessions[i].sender.is_none() && self.sessions[i].periodic_allowed() {
            // RFC 5880 §6.8.7: periodic packets stop only while both are Up with the
            // peer in Demand mode (or while it asks for none). A session that was
            // quiet so and now falls (its Detection Time expired) sends again, or the
            // peer, which runs no Detection Time in Demand mode (§6.8.4), would hold
            // Up on its side. keepalived's `bfd_state_down()` leaves it silent until a
            // packet comes.
            self.sender_schedule(i, now);
        }
        self.state_fall(i, old == State::Up);
    }

    /// `bfd_reset_thread()`: a Detection Time after going Down, the peer is forgotten
    /// (bfd.RemoteDiscr zero). What it asked of our packets no longer holds (RFC 5880
    /// §6.8.18), and a passive session that no longer knows it stops sending
    /// (§6.8.7); keepalived sends on in both cases.
    fn reset(&mut self, i: usize, now: Instant) {
        self.sessions[i].reset_state();
        let s = &self.sessions[i];
        if !s.periodic_allowed() {
            self.set_timer(i, Timer::Sender, None);
        } else if !s.cfg.passive && s.sender.is_none() {
            self.sender_schedule(i, now);
        }
    }

    /// `bfd_state_admindown()`: the socket failed; nothing is sent or received.
    fn state_admindown(&mut self, i: usize) {
        let s = &mut self.sessions[i];
        s.local_state = State::AdminDown;
        s.local_diag = Diag::AdminDown;
        self.set_timer(i, Timer::Sender, None);
        self.set_timer(i, Timer::Reset, None);
        self.state_fall(i, false);
    }

    /// `bfd_state_fall()`: back to the idle interval (RFC 5880 §6.8.3), no Detection
    /// Time, and the clients told when the session left Up.
    fn state_fall(&mut self, i: usize, send_event: bool) {
        // Not Up, no Detection Time to keep (RFC 5880 §6.8.3 holds only while Up).
        self.sessions[i].prev_min_rx = None;
        self.sessions[i].idle_local_tx_intv();
        self.set_timer(i, Timer::Expire, None);
        let s = &self.sessions[i];
        if send_event {
            if s.remote_state != State::AdminDown || !s.cfg.ignore_admin_down {
                self.event(i);
            } else {
                self.sessions[i].held_up = true;
            }
        }
    }

    /// `bfd_state_rise()`: entering Init or Up.
    fn state_rise(&mut self, i: usize, now: Instant) {
        self.sessions[i].local_diag = Diag::NoDiag;
        self.set_timer(i, Timer::Reset, None);
        if self.sessions[i].expire.is_none() {
            let at = now + us(self.sessions[i].local_detect_time);
            self.set_timer(i, Timer::Expire, Some(at));
        }
    }

    /// `bfd_state_up()`: Up, and a Poll Sequence to move from the idle interval to
    /// min_tx (RFC 5880 §6.8.3).
    ///
    /// Our packets advertise min_tx from now on, and the peer's Detection Time follows
    /// them as soon as it reads one; so a faster interval is used at once (a decrease,
    /// which RFC 5880 §6.8.3 lets apply immediately), and the next packet is brought
    /// forward to it. keepalived goes on at the idle interval until the peer's Final, and
    /// where the round trip is longer than the peer's new Detection Time, the peer expires
    /// it before the Final can return, again and again.
    fn state_up(&mut self, i: usize, now: Instant) {
        self.sessions[i].local_state = State::Up;
        self.state_rise(i, now);
        let s = &mut self.sessions[i];
        if s.idle_tx() != s.min_tx() {
            s.set_poll();
        }
        let idle = s.local_tx_intv;
        s.update_local_tx_intv();
        // A slower one (min_tx above idle_tx) waits for the Poll Sequence (§6.8.3).
        s.local_tx_intv = s.local_tx_intv.min(idle);
        s.remote_detect_time = u64::from(s.cfg.multiplier) * u64::from(s.local_tx_intv);
        if let (true, Some(due)) = (s.local_tx_intv < idle, s.sender) {
            let at = self.sender_due(i, now);
            if at < due {
                self.set_timer(i, Timer::Sender, Some(at));
            }
        }
        self.event(i);
    }

    /// `bfd_state_init()`: a passive session starts sending once it hears its peer.
    fn state_init(&mut self, i: usize, now: Instant) {
        self.sessions[i].local_state = State::Init;
        self.state_rise(i, now);
        let s = &self.sessions[i];
        if s.cfg.passive && s.sender.is_none() && s.periodic_allowed() {
            self.sender_schedule(i, now);
        }
    }

    /// The session's socket failed (`bfd_open_fds()`): AdminDown, silent.
    fn socket_failed(&mut self, i: usize) {
        let s = &mut self.sessions[i];
        s.socket_failed = true;
        if s.local_state == State::AdminDown {
            return;
        }
        let was_up = s.local_state == State::Up || s.held_up;
        self.state_admindown(i);
        if was_up {
            self.event(i);
        }
    }

    /// The socket opened after all (`bfd_open_fd_out_thread()`): Down, and sending
    /// again unless passive.
    fn socket_opened(&mut self, i: usize, now: Instant) {
        let s = &mut self.sessions[i];
        if !s.socket_failed {
            return;
        }
        s.socket_failed = false;
        if s.local_state != State::AdminDown {
            return;
        }
        s.local_state = State::Down;
        if !s.cfg.passive && s.periodic_allowed() {
            self.sender_schedule(i, now);
        }
    }

    /// RFC 5880 §6.8.16: every session that is not AdminDown tells its peer it is
    /// going AdminDown (diag 7), once; then nothing more.
    fn shutdown(&mut self) {
        for i in 0..self.sessions.len() {
            if self.sessions[i].local_state == State::AdminDown {
                continue;
            }
            let s = &mut self.sessions[i];
            s.local_state = State::AdminDown;
            s.local_diag = Diag::AdminDown;
            s.poll = false;
            self.transmit(i);
        }
        for s in &mut self.sessions {
            s.sender = None;
            s.expire = None;
            s.reset = None;
        }
        self.timers.clear();
        self.shut_down = true;
    }

    /// A new configuration (`bfd_complete_init()`, `bfd_register_workers()` on
    /// reload): a session of the same name, neighbor and source keeps its state and
    /// timers (`bfd_copy_state()`), and starts a Poll Sequence if min_rx or min_tx
    /// changed; a removed session is closed; a new one is opened and starts sending
    /// after its interval (no packet at once on a reload). Then every session's state
    /// goes to its clients, as at start.
    fn reload(&mut self, config: &Config, now: Instant) {
        let old = std::mem::take(&mut self.sessions);
        self.discrs.clear();
        self.timers.clear();
        let mut old_by_name: BTreeMap<String, (usize, Session)> = old
            .into_iter()
            .enumerate()
            .map(|(n, s)| (s.cfg.name.clone(), (n, s)))
            .collect();
        // Closes go in the old configuration's order, before any open, so a session
        // whose addresses changed is closed before it is opened again.
        let mut closes: Vec<(usize, String)> = Vec::new();
        let mut opens: Vec<usize> = Vec::new();
        let mut fresh: Vec<usize> = Vec::new();
        let mut faster: Vec<usize> = Vec::new();
        for (cfg, nbr) in usable(config) {
            let i = self.sessions.len();
            let mut s = Session::new(cfg.clone(), nbr, 0);
            match old_by_name.remove(&cfg.name) {
                Some((n, o)) if o.nbr == nbr && o.cfg.source_ip == cfg.source_ip => {
                    s.copy_state(&o);
                    if o.cfg.min_rx_us != cfg.min_rx_us || o.cfg.min_tx_us != cfg.min_tx_us {
                        s.set_poll();
                    }
                    // RFC 5880 §6.8.3 while Up: a smaller Required Min RX waits for the
                    // Final before the Detection Time uses it ("the previous value …
                    // MUST be used"), even when a Poll of the peer's makes us work the
                    // intervals out again first; a larger one applies at once: the
                    // peer may slow down on our Poll, and a lost Final would leave us
                    // expiring a peer that obeys it.
                    let known = o.prev_min_rx.unwrap_or(o.min_rx());
                    s.prev_min_rx =
                        (s.local_state == State::Up && s.min_rx() < known).then_some(known);
                    if s.local_state == State::Up {
                        let rx = s.min_rx().max(s.remote_min_tx);
                        if rx > s.remote_tx_intv {
                            s.remote_tx_intv = rx;
                            s.local_detect_time = u64::from(s.remote_detect_mult) * u64::from(rx);
                            if let (Some(_), Some(last)) = (s.expire, s.last_seen) {
                                s.expire = Some(last + us(s.local_detect_time));
                            }
                        }
                    }
                    // Likewise a larger Desired Min TX waits for the Poll Sequence to
                    // end, a smaller one applies at once: the peer shortens its Detection
                    // Time on our Poll, and a lost Final would leave us sending at the
                    // old interval into it. Not Up, the interval follows the idle one at
                    // once, as the packets advertise it: no Poll Sequence to wait for.
                    // keepalived waits for the peer's next packet in every case.
                    let tx = if s.local_state == State::Up {
                        s.min_tx().max(s.remote_min_rx)
                    } else {
                        s.idle_tx().max(s.remote_min_rx)
                    };
                    if tx < s.local_tx_intv {
                        faster.push(i);
                    }
                    if tx < s.local_tx_intv || s.local_state != State::Up {
                        s.local_tx_intv = tx;
                        // As a packet from the peer sets it; zero until the first.
                        if s.last_seen.is_some() {
                            s.remote_detect_time = u64::from(cfg.multiplier) * u64::from(tx);
                        }
                    }
                    if o.socket_failed {
                        // Try the socket again; the session stays AdminDown until
                        // `Input::SocketOpened`.
                        opens.push(i);
                    } else if o.cfg.send_ttl() != cfg.send_ttl() {
                        closes.push((n, cfg.name.clone()));
                        opens.push(i);
                    }
                    self.discrs.insert(s.local_discr, i);
                }
                Some((n, o)) => {
                    closes.push((n, o.cfg.name.clone()));
                    opens.push(i);
                    fresh.push(i);
                }
                None => {
                    opens.push(i);
                    fresh.push(i);
                }
            }
            self.sessions.push(s);
        }
        for &i in &fresh {
            let d = self.new_discr();
            self.sessions[i].local_discr = d;
            self.discrs.insert(d, i);
        }
        closes.extend(old_by_name.into_values().map(|(n, s)| (n, s.cfg.name)));
        closes.sort();
        for (_, name) in closes {
            self.close(&name);
        }
        for i in opens {
            self.open(i);
        }
        for i in 0..self.sessions.len() {
            let s = &mut self.sessions[i];
            // `bfd_register_workers()`: an AdminDown session runs no timer; a passive
            // one sends only while Up (`bfd_sender_resume()`); any other sends.
            if s.local_state == State::AdminDown {
                s.sender = None;
                s.expire = None;
                s.reset = None;
            } else if (s.cfg.passive && s.local_state != State::Up) || !s.periodic_allowed() {
                s.sender = None;
            }
            for t in [Timer::Sender, Timer::Expire, Timer::Reset] {
                if let Some(at) = *s.slot(t) {
                    self.timers.insert((at, i, t));
                }
            }
            if let (true, Some(due)) = (faster.contains(&i), self.sessions[i].sender) {
                let at = self.sender_due(i, now);
                if at < due {
                    self.set_timer(i, Timer::Sender, Some(at));
                }
            }
            let s = &self.sessions[i];
            if s.local_state != State::AdminDown
                && !s.cfg.passive
                && s.sender.is_none()
                && s.periodic_allowed()
            {
                self.sender_schedule(i, now);
            }
            self.event(i);
        }
    }
}

/// The configuration's sessions the engine runs: those with a neighbor (the parser
/// refuses the others), the first of any name given twice (`alloc_bfd()`: "already
/// configured - ignoring").
fn usable(config: &Config) -> impl Iterator<Item = (&BfdInstance, IpAddr)> {
    let mut seen = BTreeSet::new();
    config.bfd_instances.iter().filter_map(move |b| {
        let nbr = b.neighbor_ip?;
        seen.insert(b.name.as_str()).then_some((b, nbr))
    })
}

#[cfg(test)]
mod tests;
