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
                // packets waiting to be read. In time order with the timers: one that
                // came after a Detection Time ran out finds the session Down, as it
                // would have without the stall, rather than keeping it Up.
                for _ in 0..CATCH_UP {
                    let Some((at, input)) =
                        tokio::task::unconstrained(platform.next_packet()).now_or_never()
                    else {
                        break;
                    };
                    for _ in 0..CATCH_UP {
                        match engine.poll_timeout() {
                            Some(t) if t < at => engine.handle_timeout(advance(&mut told, t)),
                            _ => break,
                        }
                    }
                    engine.handle_input(advance(&mut told, at), input);
                }
                let mut now = advance(&mut told, platform.now());
                // The deadline the loop slept for has come by the platform's own
                // reckoning (`until` says nothing is left) even where its clock reads a
                // microsecond short of it (a drifting clock's conversions round down):
                // taken as reached, or the loop would sleep again and carry it out a
                // timer tick late.
                if let Some(t) = deadline.filter(|t| platform.until(*t).is_zero()) {
                    now = advance(&mut told, t);
                }
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

#[cfg(test)]
mod tests {
    use std::cell::{Cell, RefCell};
    use std::net::Ipv4Addr;
    use std::rc::Rc;

    use keepalived_engine::config::{parse_str, ParseOptions};
    use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

    use super::*;
    use crate::EngineClock;

    const A: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
    const B: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));

    /// What a host's loop did, with the engine time it did it at (µs).
    #[derive(Debug, Default)]
    struct Log {
        /// Session states delivered: (when, up, vrrp, checker).
        events: Vec<(u64, bool, bool, bool)>,
        /// Every open attempt, and whether it failed.
        opens: Vec<(u64, bool)>,
        open_failures: usize,
        transmits: Vec<u64>,
        /// Packets the loop was handed, by arrival time.
        received: Vec<u64>,
    }

    /// One end of a wire on tokio's paused clock: packets reach the peer the instant
    /// they are sent unless `cut` says otherwise.
    struct Host {
        clock: EngineClock,
        addr: IpAddr,
        rx: UnboundedReceiver<(Instant, Input)>,
        peer: UnboundedSender<(Instant, Input)>,
        /// What this host sends is lost.
        cut: Rc<Cell<bool>>,
        /// Opens fail until this engine time (µs).
        open_fails_until: u64,
        /// The loop pauses for this long at this time.
        pause: Option<(tokio::time::Instant, Duration)>,
        /// Whether packets that arrived are offered ahead of a timer (`next_packet`).
        catch_up: bool,
        stop_at: tokio::time::Instant,
        log: Rc<RefCell<Log>>,
    }

    impl Platform for Host {
        fn now(&self) -> Instant {
            self.clock.now()
        }
        fn until(&self, t: Instant) -> Duration {
            self.clock.until(t)
        }
        async fn next_event(&mut self) -> Event {
            let pause_at = self.pause.map(|p| p.0);
            tokio::select! {
                biased;
                _ = tokio::time::sleep_until(self.stop_at) => Event::Stop,
                _ = tokio::time::sleep_until(pause_at.unwrap_or(self.stop_at)), if pause_at.is_some() => {
                    let d = self.pause.take().map_or(Duration::ZERO, |p| p.1);
                    Event::Pause(d)
                }
                Some((at, input)) = self.rx.recv() => {
                    self.log.borrow_mut().received.push(at.as_micros());
                    Event::Packet { at, input }
                }
            }
        }
        fn next_packet(&mut self) -> impl Future<Output = (Instant, Input)> {
            let got = if self.catch_up {
                self.rx.try_recv().ok()
            } else {
                None
            };
            if let Some((at, _)) = &got {
                self.log.borrow_mut().received.push(at.as_micros());
            }
            async move {
                match got {
                    Some(p) => p,
                    None => std::future::pending().await,
                }
            }
        }
        async fn open(
            &mut self,
            _session: &str,
            _src: Option<IpAddr>,
            _dst: IpAddr,
            _ttl: u8,
        ) -> io::Result<()> {
            let now = self.now().as_micros();
            let fail = now < self.open_fails_until;
            self.log.borrow_mut().opens.push((now, fail));
            if fail {
                return Err(io::ErrorKind::AddrNotAvailable.into());
            }
            Ok(())
        }
        async fn close(&mut self, _session: &str) {}
        async fn transmit(&mut self, _session: &str, dst: IpAddr, bytes: &[u8]) -> io::Result<()> {
            let now = self.now();
            self.log.borrow_mut().transmits.push(now.as_micros());
            if !self.cut.get() {
                let input = Input::Packet {
                    src: self.addr,
                    dst: Some(dst),
                    ttl: Some(255),
                    bytes: bytes.to_vec(),
                };
                let _ = self.peer.send((now, input));
            }
            Ok(())
        }
        async fn deliver(&mut self, e: SessionEvent) {
            let now = self.now().as_micros();
            self.log
                .borrow_mut()
                .events
                .push((now, e.up, e.vrrp, e.checker));
        }
        fn open_failed(&mut self, _session: &str, _error: &io::Error) {
            self.log.borrow_mut().open_failures += 1;
        }
    }

    /// A host's engine for one session towards `nbr`, with `extra` in its block.
    fn engine(nbr: IpAddr, extra: &str) -> Engine {
        let text = format!(
            "bfd_instance PEER {{\n neighbor_ip {nbr}\n min_rx 100\n min_tx 100\n multiplier 3\n{extra}}}\n"
        );
        let config = parse_str(&text, &ParseOptions::default()).config;
        assert_eq!(config.bfd_instances.len(), 1, "{text}");
        Engine::new(&config, Instant::ZERO, 7)
    }

    /// What to change in a [`Host`] before the run.
    type Tweak = Box<dyn FnOnce(&mut Host)>;

    /// Runs A's and B's engines against each other for `secs` of paused time; `tweak`
    /// adjusts each host, and `cut_b_at` cuts what B sends from then on.
    fn run_pair(
        a: Engine,
        b: Engine,
        secs: u64,
        tweak: [Tweak; 2],
        cut_b_at: Option<Duration>,
    ) -> [Rc<RefCell<Log>>; 2] {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap();
        let local = tokio::task::LocalSet::new();
        local.block_on(&rt, async move {
            let clock = EngineClock::start();
            let stop_at = tokio::time::Instant::now() + Duration::from_secs(secs);
            let (to_a, rx_a) = unbounded_channel();
            let (to_b, rx_b) = unbounded_channel();
            let logs = [Rc::default(), Rc::default()];
            let cut_b = Rc::new(Cell::new(false));
            let mut hosts = [
                Host {
                    clock,
                    addr: A,
                    rx: rx_a,
                    peer: to_b,
                    cut: Rc::new(Cell::new(false)),
                    open_fails_until: 0,
                    pause: None,
                    catch_up: true,
                    stop_at,
                    log: Rc::clone(&logs[0]),
                },
                Host {
                    clock,
                    addr: B,
                    rx: rx_b,
                    peer: to_a,
                    cut: Rc::clone(&cut_b),
                    open_fails_until: 0,
                    pause: None,
                    catch_up: true,
                    stop_at,
                    log: Rc::clone(&logs[1]),
                },
            ];
            let [ta, tb] = tweak;
            ta(&mut hosts[0]);
            tb(&mut hosts[1]);
            let [mut ha, mut hb] = hosts;
            if let Some(at) = cut_b_at {
                tokio::task::spawn_local(async move {
                    tokio::time::sleep(at).await;
                    cut_b.set(true);
                });
            }
            let ja = tokio::task::spawn_local(async move {
                let mut a = a;
                run(&mut a, &mut ha).await
            });
            let jb = tokio::task::spawn_local(async move {
                let mut b = b;
                run(&mut b, &mut hb).await
            });
            ja.await.unwrap();
            jb.await.unwrap();
            logs
        })
    }

    fn none() -> Tweak {
        Box::new(|_| {})
    }

    // RFC 5880 §6.8.4: a session goes Down once a Detection Time (3 × 100 ms) passes
    // without a packet, counted from the last one's arrival: the loop must wake at the
    // engine's deadline and hand it packets dated when they came.
    #[test]
    fn a_session_comes_up_and_goes_down_one_detection_time_after_the_last_packet() {
        let cut = Duration::from_secs(10);
        let [a, _] = run_pair(
            engine(B, ""),
            engine(A, ""),
            15,
            [none(), none()],
            Some(cut),
        );
        let a = a.borrow();
        let ups: Vec<_> = a.events.iter().filter(|e| e.1).collect();
        assert!(
            !ups.is_empty() && ups[0].0 < 5_000_000,
            "Up within 5 s: {:?}",
            a.events
        );
        // Neither `vrrp` nor `checker` named: both processes hear it (bfd_end_handler()).
        assert!(ups.iter().all(|e| e.2 && e.3), "{:?}", a.events);
        let down = a
            .events
            .iter()
            .find(|e| !e.1 && e.0 > cut.as_micros() as u64)
            .expect("Down after the cut");
        let last = a
            .received
            .iter()
            .copied()
            .filter(|t| *t <= down.0)
            .max()
            .unwrap();
        assert!(last <= cut.as_micros() as u64);
        // tokio's timer wakes on the millisecond after the deadline.
        let late = down.0 - last;
        assert!(
            (300_000..=301_000).contains(&late),
            "Down {late} µs after the last packet"
        );
    }

    /// B's packets are lost until `ms` of paused time.
    fn b_silent_until(ms: u64) -> Tweak {
        Box::new(move |h: &mut Host| {
            h.cut.set(true);
            let cut = Rc::clone(&h.cut);
            let start = tokio::time::Instant::now();
            tokio::task::spawn_local(async move {
                tokio::time::sleep_until(start + Duration::from_millis(ms)).await;
                cut.set(false);
            });
        })
    }

    // bfd_open_fd_out_thread(): a socket that cannot be opened leaves the session
    // AdminDown (nothing sent, never Up) and is tried again 60 s later; once it opens
    // the session comes Up. B is silent until then, as a packet from it would have the
    // socket tried at once (the next test).
    #[test]
    fn a_socket_that_fails_to_open_is_retried_after_60_s_and_the_session_comes_up() {
        let fail_for = 30_000_000;
        let [a, b] = run_pair(
            engine(B, ""),
            engine(A, ""),
            70,
            [
                Box::new(move |h: &mut Host| h.open_fails_until = fail_for),
                b_silent_until(60_500),
            ],
            None,
        );
        let (a, b) = (a.borrow(), b.borrow());
        assert_eq!(a.opens, vec![(0, true), (60_000_000, false)]);
        assert_eq!(a.open_failures, 1);
        assert!(
            a.transmits.iter().all(|t| *t >= 60_000_000),
            "A sent without a socket: {:?}",
            &a.transmits[..a.transmits.len().min(5)]
        );
        let a_up = a.events.iter().find(|e| e.1).expect("A comes Up");
        let b_up = b.events.iter().find(|e| e.1).expect("B comes Up");
        assert!(a_up.0 > 60_000_000 && b_up.0 > 60_000_000);
    }

    // bfd_handle_packet(): a packet from the peer of a session whose socket failed has
    // it opened again, at most once a second; the loop opens it as for Output::Open and,
    // once it opens, tells the engine (SocketOpened), which brings the session Up long
    // before the minute's retry.
    #[test]
    fn a_packet_from_the_peer_has_a_failed_socket_opened_and_the_session_comes_up() {
        let fail_for = 30_000_000;
        let [a, b] = run_pair(
            engine(B, ""),
            engine(A, ""),
            45,
            [
                Box::new(move |h: &mut Host| h.open_fails_until = fail_for),
                none(),
            ],
            None,
        );
        let (a, b) = (a.borrow(), b.borrow());
        let (last, tries) = a.opens.split_last().expect("A opened");
        assert!(tries.iter().all(|o| o.1), "{:?}", a.opens);
        assert!(
            !last.1 && last.0 >= fail_for && last.0 < fail_for + 3_000_000,
            "{:?}",
            a.opens
        );
        assert_eq!(a.open_failures, tries.len());
        assert!(
            tries
                .windows(2)
                .skip(1)
                .all(|w| w[1].0 - w[0].0 >= 1_000_000),
            "tried more than once a second: {:?}",
            a.opens
        );
        assert!(
            a.transmits.iter().all(|t| *t >= last.0),
            "A sent without a socket"
        );
        let a_up = a.events.iter().find(|e| e.1).expect("A comes Up");
        let b_up = b.events.iter().find(|e| e.1).expect("B comes Up");
        assert!(a_up.0 > last.0 && a_up.0 < 40_000_000, "{:?}", a.events);
        assert!(b_up.0 > last.0 && b_up.0 < 40_000_000, "{:?}", b.events);
    }

    /// A with a 1 s required min RX towards B: B's Detection Time is 3 s, so A may stall
    /// for 1 s without B noticing, while A's own is 300 ms.
    fn stalled_a(catch_up: bool) -> Rc<RefCell<Log>> {
        let [a, _] = run_pair(
            engine(B, ""),
            engine(A, " min_rx 1000\n"),
            12,
            [
                Box::new(move |h: &mut Host| {
                    h.pause = Some((
                        tokio::time::Instant::now() + Duration::from_secs(8),
                        Duration::from_secs(1),
                    ));
                    h.catch_up = catch_up;
                }),
                none(),
            ],
            None,
        );
        a
    }

    // RFC 5880 §6.8.4: the Detection Time runs from the last packet received. A loop
    // that stalled (SIGSTOP, a busy host) must hear what arrived meanwhile before its
    // overdue timer, or it declares a live neighbour Down. The same stall with packets
    // offered only through `next_event` does take the session Down, so the catch-up is
    // what keeps it Up.
    #[test]
    fn packets_that_arrived_during_a_stall_are_heard_before_the_overdue_timer() {
        let a = stalled_a(true);
        let a = a.borrow();
        assert!(a.events.iter().any(|e| e.1), "{:?}", a.events);
        assert!(
            !a.events.iter().any(|e| !e.1 && e.0 > 5_000_000),
            "A went Down after the stall: {:?}",
            a.events
        );
        let a = stalled_a(false);
        assert!(
            a.borrow().events.iter().any(|e| !e.1 && e.0 > 5_000_000),
            "without the catch-up the stall takes the session Down"
        );
    }

    // RFC 5880 §6.8.4: the catch-up hears what arrived during a stall in time order with
    // the timers. A stalls from 8 s to 9 s and B's packets are lost from 8.2 s to 8.6 s:
    // A's 300 ms Detection Time ran out near 8.5 s, before B's next packet came, so A
    // goes Down. A packet that arrived after that must not keep the session Up.
    #[test]
    fn a_packet_that_arrived_after_the_detection_time_ran_out_does_not_save_the_session() {
        let [a, _] = run_pair(
            engine(B, ""),
            engine(A, " min_rx 1000\n"),
            12,
            [
                Box::new(|h: &mut Host| {
                    h.pause = Some((
                        tokio::time::Instant::now() + Duration::from_secs(8),
                        Duration::from_secs(1),
                    ));
                }),
                Box::new(|h: &mut Host| {
                    let cut = Rc::clone(&h.cut);
                    let start = tokio::time::Instant::now();
                    tokio::task::spawn_local(async move {
                        tokio::time::sleep_until(start + Duration::from_millis(8200)).await;
                        cut.set(true);
                        tokio::time::sleep_until(start + Duration::from_millis(8600)).await;
                        cut.set(false);
                    });
                }),
            ],
            None,
        );
        let a = a.borrow();
        assert!(
            a.events.iter().any(|e| !e.1 && e.0 >= 8_000_000),
            "A stayed Up through 400 ms without B's packets: {:?}",
            a.events
        );
    }

    // bfd_end_handler(): `vrrp` alone sends the events to the VRRP process only.
    #[test]
    fn events_carry_the_clients_the_configuration_names() {
        let [a, _] = run_pair(
            engine(B, " vrrp\n"),
            engine(A, ""),
            5,
            [none(), none()],
            None,
        );
        let a = a.borrow();
        assert!(!a.events.is_empty());
        assert!(a.events.iter().all(|e| e.2 && !e.3), "{:?}", a.events);
    }
}
