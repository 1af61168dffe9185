//! The BFD loop, beside [`crate::vrrp`] and [`crate::check`]: feeds the BFD engine the
//! control packets the platform receives and the signals it is sent, wakes it at its
//! deadlines, and has the platform carry out its outputs (per-session sockets opened and
//! closed, control packets sent, session states handed to the VRRP and checker
//! processes). The daemon's BFD child and the simulator both implement [`Platform`] and
//! call [`run`].
//!
//! What the loop does itself, so that both platforms do it alike:
//! - A session whose socket cannot be opened is told to the engine
//!   ([`Input::SocketFailed`]: AdminDown) and opened again every 60 s until it opens
//!   ([`Input::SocketOpened`]), as keepalived's `bfd_open_fd_out_thread()` retries.
//! - A send error leaves the session as it is (keepalived's `bfd_sender_thread()` only
//!   logs it): the platform hears of the first of each run of errors
//!   ([`Platform::send_failed`]), as keepalived logs once until a send succeeds again.
//! - Packets carry the time they arrived; those that arrived while the loop was busy or
//!   stalled are heard before an overdue timer, so a detection timer restarted by a
//!   packet (RFC 5880 §6.8.4) counts from its arrival, not from when it was read.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::time::Duration;

use futures::FutureExt as _;

use keepalived_engine::bfd::{Engine, Input, Output};
use keepalived_engine::time::Instant;

use crate::sleep_for;

/// How long after a failed open the socket is tried again (`bfd_open_fd_out_thread()`,
/// 60 × TIMER_HZ).
pub const REOPEN_AFTER: Duration = Duration::from_secs(60);

/// The most arrived packets heard ahead of a timer: more than one detection time of a
/// few hundred sessions leaves queued, few enough that a flood cannot hold back the
/// sessions' own transmissions.
const CATCH_UP: usize = 1024;

/// What the world hands the loop.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// An input other than a packet, dated now: [`Input::Reload`] (SIGHUP, with the new
    /// configuration), [`Input::Shutdown`] (SIGTERM), [`Input::SocketOpened`].
    Input(Input),
    /// An [`Input::Packet`] and when the host received it (a kernel timestamp, or when
    /// the platform read it), which can be earlier than now.
    Packet { at: Instant, input: Input },
    /// The process stops running for this long (a scheduling stall, SIGSTOP): nothing is
    /// received, sent or timed until it resumes.
    Pause(Duration),
    /// SIGUSR1: the BFD data dump (`sigdump_bfd()`).
    DumpData,
    /// Leave the loop (after a `Shutdown` input has been handled, or on crash).
    Stop,
}

/// A session's state as its clients are told it ([`Output::Event`], keepalived's
/// `bfd_event_send()`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionEvent {
    /// The `bfd_instance` name, which `track_bfd` and `BFD_CHECK` refer to.
    pub session: String,
    pub up: bool,
    /// The VRRP process follows this session.
    pub vrrp: bool,
    /// The checker process follows this session.
    pub checker: bool,
}

/// A host the BFD engine runs on.
pub trait Platform {
    /// The engine's clock now.
    fn now(&self) -> Instant;
    /// How long from now until the engine time `t` (zero if it has passed).
    fn until(&self, t: Instant) -> Duration;
    /// The next event from the world. Must be cancel-safe: the loop drops it when a timer
    /// fires first.
    fn next_event(&mut self) -> impl Future<Output = Event>;
    /// A control packet that has already arrived, and when; never ready on a platform
    /// whose packets come only through `next_event`. Cancel-safe.
    fn next_packet(&mut self) -> impl Future<Output = (Instant, Input)> {
        std::future::pending()
    }
    /// Opens `session`'s socket: UDP from `src` (any local address when `None`) on a
    /// source port in 49152–65535 (RFC 5881 §4), sending with TTL / hop limit `ttl`, to
    /// `dst`. A session opened again (a reload that changed it) replaces its socket.
    fn open(
        &mut self,
        session: &str,
        src: Option<IpAddr>,
        dst: IpAddr,
        ttl: u8,
    ) -> impl Future<Output = io::Result<()>>;
    /// Closes `session`'s socket (a reload removed the session).
    fn close(&mut self, session: &str) -> impl Future<Output = ()>;
    /// Sends a control packet on `session`'s socket to `dst`, port
    /// [`keepalived_engine::bfd::CONTROL_PORT`].
    fn transmit(
        &mut self,
        session: &str,
        dst: IpAddr,
        bytes: &[u8],
    ) -> impl Future<Output = io::Result<()>>;
    /// Hands a session's state to the processes that follow it: the VRRP process
    /// (`track_bfd`) when `event.vrrp`, the checker (`BFD_CHECK`) when `event.checker`.
    fn deliver(&mut self, event: SessionEvent) -> impl Future<Output = ()>;
    /// The first send error of a run of them on `session` (keepalived logs it once, then
    /// nothing until a send succeeds).
    fn send_failed(&mut self, _session: &str, _error: &io::Error) {}
    /// A session's socket could not be opened; the loop tries again after
    /// [`REOPEN_AFTER`].
    fn open_failed(&mut self, _session: &str, _error: &io::Error) {}
    /// SIGUSR1: writes what the engine holds somewhere the operator can read it.
    fn write_data(&mut self, _engine: &Engine) {}
    /// Waits `d`: tokio's timer by default (the simulator's clock); the daemon may use a
    /// timerfd, which wakes at the deadline rather than on the next millisecond.
    fn sleep(&self, d: Duration) -> impl Future<Output = ()> + 'static {
        tokio::time::sleep(d)
    }
}

/// What the loop knows of the sessions' sockets.
#[derive(Debug, Default)]
struct Sockets {
    /// Sessions whose socket failed to open: where to open it, and when to try again.
    reopen: BTreeMap<String, Reopen>,
    /// Sessions whose last send failed (the error was reported once).
    send_error: BTreeSet<String>,
}

#[derive(Debug, Clone)]
struct Reopen {
    src: Option<IpAddr>,
    dst: IpAddr,
    ttl: u8,
    at: Instant,
}

impl Sockets {
    fn next_reopen(&self) -> Option<Instant> {
        self.reopen.values().map(|r| r.at).min()
    }
}

/// Runs `engine` on `platform` until an [`Event::Stop`].
pub async fn run<P: Platform>(engine: &mut Engine, platform: &mut P) {
    let mut sockets = Sockets::default();
    // The latest time the engine has been given: a packet that arrived before it is
    // dated then, so the engine's clock never runs backwards.
    let mut told = platform.now();
    loop {
        drain(engine, platform, &mut sockets, &mut told).await;
        let deadline = match (engine.poll_timeout(), sockets.next_reopen()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let wait = deadline.map(|t| platform.sleep(platform.until(t)));
        let timed = wait.is_some();
        // `biased`: no random branch choice, so a run depends only on its inputs and seed.
        // Timers first: a flood of packets must not hold back the sessions' own
        // transmissions (a peer whose detection time runs out declares us down).
        let event = tokio::select! {
            biased;
            _ = sleep_for(wait), if timed => None,
            ev = platform.next_event() => Some(ev),
        };
        match event {
            None => {
                // Packets that arrived while the loop was busy or stalled are heard before
                // the timer: each restarts the detection time (RFC 5880 §6.8.4), and a
                // session that looked at its timer first would go Down with its peer's
                // packets waiting to be read.
                for _ in 0..CATCH_UP {
                    let Some((at, input)) =
                        tokio::task::unconstrained(platform.next_packet()).now_or_never()
                    else {
                        break;
                    };
                    engine.handle_input(advance(&mut told, at), input);
                }
                let now = advance(&mut told, platform.now());
                reopen_due(engine, platform, &mut sockets, now).await;
                if engine.poll_timeout().is_some_and(|t| t <= now) {
                    engine.handle_timeout(now);
                }
            }
            Some(Event::Input(input)) => {
                engine.handle_input(advance(&mut told, platform.now()), input)
            }
            Some(Event::Packet { at, input }) => engine.handle_input(advance(&mut told, at), input),
            Some(Event::Pause(d)) => platform.sleep(d).await,
            Some(Event::DumpData) => platform.write_data(engine),
            Some(Event::Stop) => {
                drain(engine, platform, &mut sockets, &mut told).await;
                return;
            }
        }
    }
}

/// Carries out every output the engine has, in order, telling it of sockets that failed
/// to open as they fail.
async fn drain<P: Platform>(
    engine: &mut Engine,
    platform: &mut P,
    sockets: &mut Sockets,
    told: &mut Instant,
) {
    while let Some(out) = engine.poll_output() {
        match out {
            Output::Open {
                session,
                src,
                dst,
                ttl,
            } => {
                let failed_before = sockets.reopen.remove(&session).is_some();
                sockets.send_error.remove(&session);
                match platform.open(&session, src, dst, ttl).await {
                    Ok(()) => {
                        // The engine holds the session AdminDown since the failure.
                        if failed_before {
                            let now = advance(told, platform.now());
                            engine.handle_input(now, Input::SocketOpened { session });
                        }
                    }
                    Err(e) => {
                        platform.open_failed(&session, &e);
                        let now = advance(told, platform.now());
                        sockets.reopen.insert(
                            session.clone(),
                            Reopen {
                                src,
                                dst,
                                ttl,
                                at: now + REOPEN_AFTER,
                            },
                        );
                        engine.handle_input(now, Input::SocketFailed { session });
                    }
                }
            }
            Output::Close { session } => {
                sockets.reopen.remove(&session);
                sockets.send_error.remove(&session);
                platform.close(&session).await;
            }
            Output::Transmit {
                session,
                dst,
                bytes,
            } => {
                // A session without a socket has nothing to send on.
                if sockets.reopen.contains_key(&session) {
                    continue;
                }
                match platform.transmit(&session, dst, &bytes).await {
                    Ok(()) => {
                        sockets.send_error.remove(&session);
                    }
                    Err(e) => {
                        if sockets.send_error.insert(session.clone()) {
                            platform.send_failed(&session, &e);
                        }
                    }
                }
            }
            Output::Event {
                session,
                up,
                vrrp,
                checker,
            } => {
                platform
                    .deliver(SessionEvent {
                        session,
                        up,
                        vrrp,
                        checker,
                    })
                    .await
            }
        }
    }
}

/// Opens again the sockets whose retry is due: the engine hears of those that open.
async fn reopen_due<P: Platform>(
    engine: &mut Engine,
    platform: &mut P,
    sockets: &mut Sockets,
    now: Instant,
) {
    let due: Vec<String> = sockets
        .reopen
        .iter()
        .filter(|(_, r)| r.at <= now)
        .map(|(s, _)| s.clone())
        .collect();
    for session in due {
        let Some(r) = sockets.reopen.get(&session).cloned() else {
            continue;
        };
        match platform.open(&session, r.src, r.dst, r.ttl).await {
            Ok(()) => {
                sockets.reopen.remove(&session);
                engine.handle_input(now, Input::SocketOpened { session });
            }
            Err(e) => {
                platform.open_failed(&session, &e);
                if let Some(r) = sockets.reopen.get_mut(&session) {
                    r.at = now + REOPEN_AFTER;
                }
            }
        }
    }
}

/// `t`, or the latest time already told if that is later; the new latest.
fn advance(told: &mut Instant, t: Instant) -> Instant {
    *told = (*told).max(t);
    *told
}
