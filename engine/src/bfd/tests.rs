//! The session state machine driven through the engine's contract: two engines wired
//! back to back, or one engine fed hand-built packets.

use std::net::{IpAddr, Ipv4Addr};

use super::*;
use crate::wire::bfd::BfdRepr;

const A: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
const B: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));
const MS: u64 = 1_000;

fn inst(name: &str, nbr: IpAddr) -> BfdInstance {
    BfdInstance {
        min_rx_us: 100 * MS,
        min_tx_us: 100 * MS,
        multiplier: 3,
        ..BfdInstance::new(name, Some(nbr))
    }
}

fn config(b: Vec<BfdInstance>) -> Config {
    Config {
        bfd_instances: b,
        ..Config::default()
    }
}

fn t(ms: u64) -> Instant {
    Instant(ms * MS)
}

/// Two hosts, A and B, one session each towards the other; packets arrive the
/// instant they are sent, unless blocked.
struct Pair {
    e: [Engine; 2],
    now: Instant,
    /// Drop what side `i` sends.
    block: [bool; 2],
    /// Drop the Finals side `i` sends.
    drop_finals: [bool; 2],
    /// (when, side, session, up)
    events: Vec<(Instant, usize, String, bool)>,
    /// When side `i` last received a packet the engine was handed.
    last_rx: [Option<Instant>; 2],
    /// Every packet sent, (when, side, packet).
    sent: Vec<(Instant, usize, BfdRepr)>,
}

impl Pair {
    fn new(a: BfdInstance, b: BfdInstance, seed: u64) -> Pair {
        let mut p = Pair {
            e: [
                Engine::new(&config(vec![a]), Instant::ZERO, seed),
                Engine::new(&config(vec![b]), Instant::ZERO, seed.wrapping_add(1)),
            ],
            now: Instant::ZERO,
            block: [false; 2],
            drop_finals: [false; 2],
            events: vec![],
            last_rx: [None; 2],
            sent: vec![],
        };
        p.pump();
        p
    }

    fn standard(seed: u64) -> Pair {
        Pair::new(inst("to_b", B), inst("to_a", A), seed)
    }

    fn pump(&mut self) {
        // Two engines answering each other for ever at one instant would spin here.
        for _ in 0..100_000 {
            let mut moved = false;
            for side in 0..2 {
                while let Some(o) = self.e[side].poll_output() {
                    moved = true;
                    match o {
                        Output::Transmit { bytes, dst, .. } => {
                            let r = BfdRepr::parse_bytes(&bytes).unwrap();
                            let final_ = r.final_;
                            self.sent.push((self.now, side, r));
                            if self.block[side]
                                || (self.drop_finals[side] && final_)
                                || dst != [B, A][side]
                            {
                                continue;
                            }
                            let other = 1 - side;
                            self.last_rx[other] = Some(self.now);
                            self.e[other].handle_input(
                                self.now,
                                Input::Packet {
                                    src: [A, B][side],
                                    dst: Some([B, A][side]),
                                    ttl: Some(255),
                                    bytes,
                                },
                            );
                        }
                        Output::Event { session, up, .. } => {
                            self.events.push((self.now, side, session, up))
                        }
                        Output::Open { .. } | Output::Close { .. } => {}
                    }
                }
            }
            if !moved {
                return;
            }
        }
        panic!("at {}: the two sessions never fall quiet", self.now);
    }

    fn run_until(&mut self, until: Instant) {
        // Calls in a row at one instant: a timer that never moves on would spin here.
        let mut stuck = 0;
        loop {
            self.pump();
            let next = self.e.iter().filter_map(Engine::poll_timeout).min();
            match next {
                Some(n) if n <= until => {
                    stuck = if n <= self.now { stuck + 1 } else { 0 };
                    assert!(stuck < 10_000, "the sessions' timers stay at {n}");
                    self.now = n;
                    for e in &mut self.e {
                        e.handle_timeout(n);
                    }
                }
                _ => break,
            }
        }
        self.now = until;
        self.pump();
    }

    fn state(&self, side: usize) -> State {
        self.e[side].sessions()[0].local_state
    }
}

fn outputs(e: &mut Engine) -> Vec<Output> {
    std::iter::from_fn(|| e.poll_output()).collect()
}

fn packet(src: IpAddr, r: &BfdRepr) -> Input {
    Input::Packet {
        src,
        dst: Some(A),
        ttl: Some(255),
        bytes: r.to_bytes(),
    }
}

fn sent(out: &[Output]) -> Vec<BfdRepr> {
    out.iter()
        .filter_map(|o| match o {
            Output::Transmit { bytes, .. } => Some(BfdRepr::parse_bytes(bytes).unwrap()),
            _ => None,
        })
        .collect()
}

/// A packet from B's side as keepalived would build it.
fn peer(state: State, my: u32, your: u32) -> BfdRepr {
    BfdRepr {
        diag: Diag::NoDiag,
        state,
        poll: false,
        final_: false,
        cplane: false,
        demand: false,
        detect_mult: 3,
        my_discr: my,
        your_discr: your,
        desired_min_tx: 100_000,
        required_min_rx: 100_000,
        required_min_echo_rx: 0,
        auth: None,
    }
}

#[test]
fn start_opens_then_tells_then_sends_first_packets() {
    let mut passive = inst("p", B);
    passive.passive = true;
    let mut src = inst("s", IpAddr::V6("2001:db8::2".parse().unwrap()));
    src.source_ip = Some("2001:db8::1".parse().unwrap());
    src.checker = true;
    let mut e = Engine::new(&config(vec![inst("a", B), passive, src]), t(0), 1);
    let out = outputs(&mut e);
    let kinds: Vec<String> = out
        .iter()
        .map(|o| match o {
            Output::Open { session, .. } => format!("open {session}"),
            Output::Event { session, up, .. } => format!("event {session} {up}"),
            Output::Transmit { session, .. } => format!("tx {session}"),
            Output::Close { session } => format!("close {session}"),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "open a",
            "open p",
            "open s",
            "event a false",
            "event p false",
            "event s false",
            "tx a",
            "tx s"
        ]
    );
    assert_eq!(
        out[2],
        Output::Open {
            session: "s".into(),
            src: Some("2001:db8::1".parse().unwrap()),
            dst: "2001:db8::2".parse().unwrap(),
            ttl: 64,
        }
    );
    assert_eq!(
        out[5],
        Output::Event {
            session: "s".into(),
            up: false,
            vrrp: false,
            checker: true
        }
    );
    // The first packet: Down, idle interval, no peer discriminator
    // (`bfd_build_packet()`).
    let first = &sent(&out)[0];
    assert_eq!(first.state, State::Down);
    assert_eq!(first.desired_min_tx, 1_000_000);
    assert_eq!(first.required_min_rx, 100_000);
    assert_eq!(first.your_discr, 0);
    assert_eq!(first.detect_mult, 3);
    // The passive session has no timer; the others send again within their
    // (jittered) idle interval.
    let next = e.poll_timeout().unwrap();
    assert!(next >= t(750) && next <= t(1000), "{next}");
    assert_eq!(e.session("p").unwrap().next_tx, None);
}

#[test]
fn discriminators_are_nonzero_and_unique() {
    let sessions: Vec<_> = (0..200)
        .map(|n| {
            inst(
                &format!("s{n}"),
                IpAddr::V4(Ipv4Addr::new(10, 1, 0, n as u8)),
            )
        })
        .collect();
    let e = Engine::new(&config(sessions), t(0), 42);
    let mut d: Vec<u32> = e.sessions().iter().map(|s| s.local_discr).collect();
    assert!(d.iter().all(|&x| x != 0));
    d.sort_unstable();
    d.dedup();
    assert_eq!(d.len(), 200);
}

#[test]
fn active_active_comes_up_and_negotiates() {
    let mut p = Pair::standard(7);
    p.run_until(t(5_000));
    assert_eq!(p.state(0), State::Up);
    assert_eq!(p.state(1), State::Up);
    for side in 0..2 {
        let ups: Vec<bool> = p
            .events
            .iter()
            .filter(|e| e.1 == side)
            .map(|e| e.3)
            .collect();
        assert_eq!(ups, [false, true], "side {side}: {:?}", p.events);
        let v = &p.e[side].sessions()[0];
        // The Poll Sequence after Up moved both to min_tx (RFC 5880 §6.8.3).
        assert!(!v.poll && !v.final_);
        assert_eq!(v.local_tx_intv_us, 100_000);
        assert_eq!(v.remote_tx_intv_us, 100_000);
        assert_eq!(v.local_detect_time_us, 300_000);
        assert_eq!(v.remote_diag, Diag::NoDiag);
        assert_eq!(v.remote_discr, p.e[1 - side].sessions()[0].local_discr);
    }
    // Steady state: packets every 75–100 ms.
    let late: Vec<Instant> = p
        .sent
        .iter()
        .filter(|s| s.0 >= t(3_000) && s.1 == 0)
        .map(|s| s.0)
        .collect();
    assert!(late.len() >= 20);
    for w in late.windows(2) {
        let gap = w[1].0 - w[0].0;
        assert!((75_000..=100_000).contains(&gap), "gap {gap}");
    }
}

#[test]
fn active_passive_comes_up_and_passive_waits_for_its_peer() {
    let mut b = inst("to_a", A);
    b.passive = true;
    let mut p = Pair::new(inst("to_b", B), b, 3);
    // A's first packet at start reached B at once, so B answered within its
    // interval; before that, nothing from B.
    assert!(p.sent.iter().all(|s| s.1 == 0));
    p.run_until(t(5_000));
    assert_eq!(p.state(0), State::Up);
    assert_eq!(p.state(1), State::Up);
    let first_b = p.sent.iter().find(|s| s.1 == 1).unwrap();
    assert_eq!(first_b.2.state, State::Init);
}

#[test]
fn passive_passive_never_sends() {
    let (mut a, mut b) = (inst("to_b", B), inst("to_a", A));
    a.passive = true;
    b.passive = true;
    let mut p = Pair::new(a, b, 3);
    p.run_until(t(10_000));
    assert!(p.sent.is_empty());
    assert_eq!(p.e[0].poll_timeout(), None);
    assert_eq!(p.state(0), State::Down);
}

#[test]
fn blocked_packets_take_up_to_down_after_exactly_the_detection_time() {
    for seed in 0..20 {
        let mut p = Pair::standard(seed);
        p.run_until(t(4_000));
        assert_eq!(p.state(1), State::Up);
        let discr = p.e[1].sessions()[0].local_discr;
        p.block[0] = true;
        p.run_until(t(6_000));
        let last = p.last_rx[1].unwrap();
        let (down_at, ..) = p
            .events
            .iter()
            .find(|e| e.1 == 1 && !e.3 && e.0 > t(0))
            .cloned()
            .expect("B went down");
        // multiplier 3 × 100 ms: Down 300 ms after the last packet, not before.
        assert_eq!(down_at - last, std::time::Duration::from_millis(300));
        let v = &p.e[1].sessions()[0];
        assert_eq!(v.local_state, State::Down);
        assert_eq!(v.local_diag, Diag::Expired);
        assert_ne!(v.local_discr, discr, "a new discriminator on leaving Up");
        // A heard B's Down and left Up too (Neighbor Signaled Session Down), then
        // went Init on B's next Down.
        assert!(p.events.iter().any(|e| e.1 == 0 && !e.3 && e.0 >= down_at));
        assert_eq!(p.state(0), State::Init);
        // Unblocked, they come Up again.
        p.block[0] = false;
        p.run_until(t(12_000));
        assert_eq!((p.state(0), p.state(1)), (State::Up, State::Up));
    }
}

#[test]
fn down_session_forgets_its_peer_after_a_detection_time() {
    let mut p = Pair::standard(11);
    p.run_until(t(4_000));
    p.block = [true, true];
    p.run_until(t(4_300 + 200));
    let v = &p.e[0].sessions()[0];
    assert_eq!(v.local_state, State::Down);
    assert_eq!(v.remote_discr, 0);
    // The reset runs a Detection Time after the expiry.
    let reset = v.resets.unwrap();
    p.run_until(reset);
    let v = &p.e[0].sessions()[0];
    assert_eq!(v.resets, None);
    assert_eq!(v.remote_state, State::Down);
    assert_eq!(v.local_tx_intv_us, 1_000_000);
}

#[test]
fn peer_admin_down_takes_session_down_and_tells_clients() {
    for ignore in [false, true] {
        let mut b = inst("to_a", A);
        b.ignore_admin_down = ignore;
        let mut p = Pair::new(inst("to_b", B), b, 5);
        p.run_until(t(4_000));
        assert_eq!(p.state(1), State::Up);
        p.e[0].handle_input(p.now, Input::Shutdown);
        p.pump();
        let admin: Vec<_> = p
            .sent
            .iter()
            .filter(|s| s.2.state == State::AdminDown)
            .collect();
        assert_eq!(admin.len(), 1);
        assert_eq!(admin[0].2.diag, Diag::AdminDown);
        let v = &p.e[1].sessions()[0];
        assert_eq!(v.local_state, State::Down);
        assert_eq!(v.local_diag, Diag::NeighborSignaledDown);
        assert_eq!(v.remote_state, State::AdminDown);
        let b_events: Vec<bool> = p.events.iter().filter(|e| e.1 == 1).map(|e| e.3).collect();
        if ignore {
            // keepalived's behaviour: the clients are not told.
            assert_eq!(b_events, [false, true]);
        } else {
            assert_eq!(b_events, [false, true, false]);
        }
        // A sends nothing more; B stays Down (no Init on AdminDown).
        let n = p.sent.len();
        p.run_until(t(8_000));
        assert!(p.sent[n..].iter().all(|s| s.1 == 1));
        assert_eq!(p.state(1), State::Down);
        assert_eq!(p.e[0].poll_timeout(), None);
    }
}

#[test]
fn shutdown_sends_one_admin_down_per_session_not_admin_down() {
    let mut e = Engine::new(
        &config(vec![inst("a", B), inst("b", A), inst("c", B)]),
        t(0),
        9,
    );
    e.handle_input(
        t(1),
        Input::SocketFailed {
            session: "b".into(),
        },
    );
    outputs(&mut e);
    e.handle_input(t(2), Input::Shutdown);
    let out = outputs(&mut e);
    let tx = sent(&out);
    assert_eq!(out.len(), 2);
    assert!(tx
        .iter()
        .all(|r| r.state == State::AdminDown && r.diag == Diag::AdminDown));
    assert_eq!(e.poll_timeout(), None);
    e.handle_timeout(t(10_000));
    e.handle_input(t(10_000), packet(B, &peer(State::Down, 5, 0)));
    assert!(outputs(&mut e).is_empty());
}

#[test]
fn socket_failure_is_admin_down_until_the_socket_opens() {
    let mut p = Pair::standard(13);
    p.run_until(t(4_000));
    p.e[0].handle_input(
        p.now,
        Input::SocketFailed {
            session: "to_b".into(),
        },
    );
    p.pump();
    assert_eq!(p.state(0), State::AdminDown);
    // Left Up: the clients hear it is down.
    assert_eq!(p.events.last().unwrap().1, 0);
    assert!(!p.events.last().unwrap().3);
    let n = p.sent.len();
    p.run_until(t(6_000));
    assert!(
        p.sent[n..].iter().all(|s| s.1 == 1),
        "AdminDown sends nothing"
    );
    assert!(p.e[0].discards().admin_down > 0);
    assert_eq!(p.state(1), State::Down);
    p.e[0].handle_input(
        p.now,
        Input::SocketOpened {
            session: "to_b".into(),
        },
    );
    assert_eq!(p.state(0), State::Down);
    p.run_until(t(10_000));
    assert_eq!((p.state(0), p.state(1)), (State::Up, State::Up));
}

// bfd_handle_packet(): the peer heard while the socket is failed has it opened again
// (so a source_ip that came up does not wait for the minute's retry), at most once a
// second however many packets come.
#[test]
fn a_packet_while_the_socket_is_failed_asks_for_it_again_at_most_once_a_second() {
    let mut e = Engine::new(&config(vec![inst("b", B)]), t(0), 1);
    outputs(&mut e);
    e.handle_input(
        t(1),
        Input::SocketFailed {
            session: "b".into(),
        },
    );
    outputs(&mut e);
    let opens = |e: &mut Engine| {
        outputs(e)
            .iter()
            .filter(|o| matches!(o, Output::Open { session, .. } if session == "b"))
            .count()
    };
    e.handle_input(t(100), packet(B, &peer(State::Down, 5, 0)));
    assert_eq!(opens(&mut e), 1);
    for ms in [200, 600, 1_099] {
        e.handle_input(t(ms), packet(B, &peer(State::Down, 5, 0)));
        assert_eq!(opens(&mut e), 0, "at {ms} ms");
    }
    e.handle_input(t(1_100), packet(B, &peer(State::Down, 5, 0)));
    assert_eq!(opens(&mut e), 1);
    // Opened: the next packet is taken as usual.
    e.handle_input(
        t(1_200),
        Input::SocketOpened {
            session: "b".into(),
        },
    );
    e.handle_input(t(1_300), packet(B, &peer(State::Down, 5, 0)));
    assert_eq!(e.session("b").unwrap().local_state, State::Init);
}

#[test]
fn poll_is_answered_with_an_immediate_final() {
    let mut e = Engine::new(&config(vec![inst("a", B)]), t(0), 1);
    let me = e.sessions()[0].local_discr;
    outputs(&mut e);
    // Down → Init on the peer's Down.
    e.handle_input(t(10), packet(B, &peer(State::Down, 77, 0)));
    assert_eq!(e.sessions()[0].local_state, State::Init);
    assert!(outputs(&mut e).is_empty());
    // Init → Up on the peer's Up; Up starts a Poll Sequence since idle_tx != min_tx.
    e.handle_input(t(20), packet(B, &peer(State::Up, 77, me)));
    let v = e.sessions()[0].clone();
    assert_eq!(v.local_state, State::Up);
    assert!(v.poll);
    // While polling, the interval is still the one negotiated as Init with the peer
    // Up: min_tx.
    let out = outputs(&mut e);
    assert!(matches!(&out[..], [Output::Event { up: true, .. }]));
    let at = e.poll_timeout().unwrap();
    e.handle_timeout(at);
    let tx = sent(&outputs(&mut e));
    assert_eq!(tx.len(), 1);
    assert!(tx[0].poll && !tx[0].final_);
    assert_eq!(tx[0].desired_min_tx, 100_000);
    // The peer's Final ends the sequence.
    let mut fin = peer(State::Up, 77, me);
    fin.final_ = true;
    e.handle_input(t(1_100), packet(B, &fin));
    assert!(!e.sessions()[0].poll);
    // The peer's Poll is answered at once with F set, and only once.
    let mut poll = peer(State::Up, 77, me);
    poll.poll = true;
    poll.required_min_rx = 250_000;
    e.handle_input(t(1_150), packet(B, &poll));
    let tx = sent(&outputs(&mut e));
    assert_eq!(tx.len(), 1);
    assert!(tx[0].final_ && !tx[0].poll);
    // The Poll's new Required Min RX applies at once.
    assert_eq!(e.sessions()[0].local_tx_intv_us, 250_000);
    let at = e.poll_timeout().unwrap();
    e.handle_timeout(at);
    let tx = sent(&outputs(&mut e));
    assert!(!tx[0].final_);
    // Without a Poll or Final, an Up session keeps its interval (RFC 5880 §6.8.3).
    let mut slower = peer(State::Up, 77, me);
    slower.required_min_rx = 500_000;
    e.handle_input(t(1_400), packet(B, &slower));
    assert_eq!(e.sessions()[0].local_tx_intv_us, 250_000);
}

#[test]
fn ttl_check_follows_max_hops() {
    let cases = [
        // (max_hops, ttl, accepted)
        (0, Some(255), true),
        (0, Some(254), false),
        (0, None, true),
        (0, Some(0), true),
        (1, Some(254), true),
        (1, Some(253), false),
        (254, Some(1), true),
        (255, Some(1), true),
    ];
    for (max_hops, ttl, ok) in cases {
        let mut c = inst("a", B);
        c.max_hops = max_hops;
        let mut e = Engine::new(&config(vec![c]), t(0), 1);
        e.handle_input(
            t(1),
            Input::Packet {
                src: B,
                dst: Some(A),
                ttl,
                bytes: peer(State::Down, 9, 0).to_bytes(),
            },
        );
        let init = e.sessions()[0].local_state == State::Init;
        assert_eq!(init, ok, "max_hops {max_hops} ttl {ttl:?}");
        assert_eq!(e.discards().ttl, u64::from(!ok));
    }
    // IPv6: the hop limit sent is 64 unless configured.
    let mut c = inst("a", "2001:db8::2".parse().unwrap());
    c.ttl = Some(200);
    let mut e = Engine::new(&config(vec![c]), t(0), 1);
    let r = peer(State::Down, 9, 0).to_bytes();
    for (ttl, ok) in [(199, false), (200, true)] {
        e.handle_input(
            t(1),
            Input::Packet {
                src: "2001:db8::2".parse().unwrap(),
                dst: None,
                ttl: Some(ttl),
                bytes: r.clone(),
            },
        );
        assert_eq!(e.sessions()[0].local_state == State::Init, ok);
    }
}

#[test]
fn lookup_by_address_or_discriminator() {
    let mut with_src = inst("s", B);
    with_src.source_ip = Some(A);
    let other: IpAddr = "10.0.0.9".parse().unwrap();
    let mut e = Engine::new(&config(vec![with_src]), t(0), 1);
    outputs(&mut e);
    // Your Discriminator 0: by address; the destination must be the source_ip.
    let down = peer(State::Down, 9, 0).to_bytes();
    let pkt = |src, dst| Input::Packet {
        src,
        dst,
        ttl: None,
        bytes: down.clone(),
    };
    e.handle_input(t(1), pkt(B, Some(other)));
    e.handle_input(t(1), pkt(other, Some(A)));
    assert_eq!(e.discards().no_session, 2);
    assert_eq!(e.sessions()[0].local_state, State::Down);
    e.handle_input(t(1), pkt(B, None));
    assert_eq!(e.sessions()[0].local_state, State::Init);
    // A wrong discriminator finds nothing, whatever the address.
    let me = e.sessions()[0].local_discr;
    e.handle_input(t(2), packet(B, &peer(State::Init, 9, me ^ 1)));
    assert_eq!(e.discards().no_session, 3);
    // The right one from anywhere is the session's (keepalived does not check the
    // sender of a packet with a discriminator).
    e.handle_input(t(2), packet(other, &peer(State::Init, 9, me)));
    assert_eq!(e.sessions()[0].local_state, State::Up);
}

#[test]
fn authenticated_and_bogus_packets_are_discarded() {
    let mut e = Engine::new(&config(vec![inst("a", B)]), t(0), 1);
    let me = e.sessions()[0].local_discr;
    let mut r = peer(State::Down, 9, me);
    r.auth = Some(crate::wire::bfd::AuthSection {
        auth_type: 1,
        auth_len: 7,
        data: vec![1, b'a', b'b', b'c', b'd'],
    });
    e.handle_input(t(1), packet(B, &r));
    assert_eq!(e.discards().auth, 1);
    let mut bad = peer(State::Down, 9, 0).to_bytes();
    bad[0] = 0x40;
    e.handle_input(
        t(1),
        Input::Packet {
            src: B,
            dst: None,
            ttl: None,
            bytes: bad,
        },
    );
    assert_eq!(e.discards().bogus, 1);
    assert_eq!(e.sessions()[0].local_state, State::Down);
}

#[test]
fn reload_keeps_an_up_session_up() {
    let mut p = Pair::standard(17);
    p.run_until(t(4_000));
    let before = p.e[0].sessions()[0].clone();
    assert_eq!(before.local_state, State::Up);
    let mut changed = inst("to_b", B);
    changed.min_rx_us = 200 * MS;
    let cfg = config(vec![inst("new", "10.0.0.3".parse().unwrap()), changed]);
    p.e[0].handle_input(p.now, Input::Reload(Box::new(cfg)));
    let out = outputs(&mut p.e[0]);
    assert_eq!(
        out,
        [
            Output::Open {
                session: "new".into(),
                src: None,
                dst: "10.0.0.3".parse().unwrap(),
                ttl: 255
            },
            Output::Event {
                session: "new".into(),
                up: false,
                vrrp: true,
                checker: true
            },
            Output::Event {
                session: "to_b".into(),
                up: true,
                vrrp: true,
                checker: true
            },
        ]
    );
    let after = p.e[0].session("to_b").unwrap();
    assert_eq!(after.local_discr, before.local_discr);
    assert_eq!(after.next_tx, before.next_tx);
    // min_rx changed: a Poll Sequence tells the peer.
    assert!(after.poll);
    assert_ne!(
        p.e[0].session("new").unwrap().local_discr,
        after.local_discr
    );
    p.run_until(t(8_000));
    assert_eq!(
        (p.state(1), p.e[0].session("to_b").unwrap().local_state),
        (State::Up, State::Up)
    );
    assert!(p
        .events
        .iter()
        .filter(|e| e.0 > t(4_000))
        .all(|e| e.3 || e.2 == "new"));
    // B now sends no faster than A's new min_rx.
    assert_eq!(p.e[1].sessions()[0].local_tx_intv_us, 200_000);
    assert_eq!(
        p.e[0].session("to_b").unwrap().local_detect_time_us,
        600_000
    );
}

#[test]
fn reload_closes_removed_and_readdressed_sessions() {
    let mut e = Engine::new(
        &config(vec![inst("a", B), inst("b", B), inst("c", B)]),
        t(0),
        1,
    );
    outputs(&mut e);
    let a_discr = e.session("a").unwrap().local_discr;
    let mut c = inst("c", "10.0.0.7".parse().unwrap());
    c.ttl = Some(5);
    let mut a = inst("a", B);
    a.ttl = Some(9);
    e.handle_input(t(5), Input::Reload(Box::new(config(vec![c, a]))));
    let out = outputs(&mut e);
    let kinds: Vec<String> = out
        .iter()
        .map(|o| match o {
            Output::Open { session, ttl, .. } => format!("open {session} {ttl}"),
            Output::Event { session, up, .. } => format!("event {session} {up}"),
            Output::Transmit { session, .. } => format!("tx {session}"),
            Output::Close { session } => format!("close {session}"),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "close a",
            "close b",
            "close c",
            "open c 5",
            "open a 9",
            "event c false",
            "event a false"
        ]
    );
    assert_eq!(e.session("a").unwrap().local_discr, a_discr);
    assert!(e.session("b").is_none());
}

#[test]
fn jitter_stays_within_rfc_5880_bounds() {
    for mult in [1u8, 3] {
        let (mut lo, mut hi) = (u64::MAX, 0);
        for seed in 0..300 {
            let mut c = inst("a", B);
            c.multiplier = mult;
            let mut e = Engine::new(&config(vec![c]), t(0), seed);
            let mut last = t(0);
            for _ in 0..5 {
                let at = e.poll_timeout().unwrap();
                let gap = (at - last).as_micros() as u64;
                lo = lo.min(gap);
                hi = hi.max(gap);
                e.handle_timeout(at);
                last = at;
            }
        }
        // 1 s idle interval: 750–900 ms, as keepalived's get_jitter() (and RFC 5880
        // §6.8.7's floor for multiplier 1).
        let top = 900_000;
        assert!(lo >= 750_000 && hi <= top, "mult {mult}: {lo}..{hi}");
        // The whole range is used.
        assert!(lo < 760_000 && hi > top - 10_000, "mult {mult}: {lo}..{hi}");
    }
}

#[test]
fn same_seed_same_run() {
    let run = |seed| {
        let mut p = Pair::standard(seed);
        p.run_until(t(3_000));
        p.sent
    };
    assert_eq!(run(99), run(99));
    assert_ne!(run(99), run(100));
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = SplitMix64::new(0xbfd);
    let mut e = Engine::new(&config(vec![inst("a", B), inst("b", A)]), t(0), 1);
    let discr = e.sessions()[0].local_discr;
    for n in 0..20_000u64 {
        let len = rng.up_to(40) as usize;
        let mut bytes: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
        // Make many of them look like BFD so the state machine sees them.
        if len >= 24 && n % 2 == 0 {
            bytes[0] = 0x20 | (bytes[0] & 0x07);
            bytes[1] &= !0x05;
            bytes[3] = len as u8;
            bytes[8..12].copy_from_slice(&discr.to_be_bytes());
            if bytes[2] == 0 {
                bytes[2] = 1;
            }
        }
        let now = t(n);
        e.handle_input(
            now,
            Input::Packet {
                src: if n % 3 == 0 { A } else { B },
                dst: None,
                ttl: Some(rng.next_u64() as u8),
                bytes,
            },
        );
        e.handle_timeout(now);
        while let Some(o) = e.poll_output() {
            if let Output::Transmit { bytes, .. } = o {
                BfdRepr::parse_bytes(&bytes).unwrap();
            }
        }
    }
    let d = e.discards();
    assert!(d.bogus > 0 && d.ttl + d.no_session > 0);
}

#[test]
fn dump_follows_keepalived_lines() {
    let mut p = Pair::standard(21);
    p.run_until(t(4_000));
    let host = DumpHost {
        now: p.now,
        wall_us: 1_796_494_962_864_674,
        utc_offset_s: 0,
        fd_in: Some(7),
        fd_out: vec![("to_b".into(), 9)],
    };
    let text = p.e[0].dump_text(&host);
    let v = p.e[0].sessions()[0].clone();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "------< BFD Data >------");
    assert_eq!(lines[1], " fd_in = 7");
    assert_eq!(lines[3], "------< BFD Topology >------");
    assert_eq!(lines[4], " BFD Instance = to_b");
    assert_eq!(lines[5], "   Neighbor IP = 10.0.0.2");
    assert_eq!(lines[6], "   Required min RX interval = 100000 us");
    assert_eq!(lines[9], "   Detection multiplier = 3");
    assert_eq!(lines[10], "   TTL = 255");
    assert_eq!(lines[13], "   send event to VRRP process = Yes");
    assert_eq!(lines[15], "   fd_out 9");
    assert_eq!(lines[16], "   thread_open_fd_out 0x(nil)");
    assert_eq!(
        lines[19],
        "   thread_exp 0x0x".to_string() + &format!("{:x}", v.expires.unwrap().as_micros())
    );
    assert_eq!(lines[22], "   sands_rst = [disabled]");
    assert_eq!(lines[24], "   local state = Up");
    assert_eq!(
        lines[26],
        format!("   local discriminator = 0x{:x}", v.local_discr)
    );
    assert_eq!(lines[28], "   local diag = No Diagnostic");
    assert_eq!(lines[35], "   !poll, !final");
    assert_eq!(lines[38], "   local detection time = 300000 us");
    let seen = v.last_seen.unwrap();
    let wall = host.wall_us - (p.now - seen).as_micros() as u64;
    assert!(lines[40].starts_with(&format!(
        "   last seen = {}.{:06} (",
        wall / 1_000_000,
        wall % 1_000_000
    )));
    assert!(
        lines[40].ends_with(&format!(" 2026.{:06})", wall % 1_000_000)),
        "{}",
        lines[40]
    );
    assert_eq!(lines.len(), 41);
}

/// RFC 5880 §6.8.7: a peer in Demand mode silences our periodic packets only while
/// both are Up and no Poll Sequence of ours is under way; once the session leaves Up
/// (here by a Detection Time without packets) a session that is not passive sends
/// again, so the peer, which runs no Detection Time in Demand mode (§6.8.4), hears
/// that we are Down instead of holding Up on its side forever.
#[test]
fn demand_mode_peer_hears_our_poll_and_our_fall() {
    let mut e = Engine::new(&config(vec![inst("a", B)]), t(0), 3);
    let me = e.sessions()[0].local_discr;
    outputs(&mut e);
    e.handle_input(t(10), packet(B, &peer(State::Down, 77, 0)));
    let mut up = peer(State::Up, 77, me);
    up.demand = true;
    e.handle_input(t(20), packet(B, &up));
    let v = e.sessions()[0].clone();
    assert_eq!(v.local_state, State::Up);
    assert!(v.poll, "Up starts a Poll Sequence (idle_tx != min_tx)");
    // The Poll goes out although the peer is in Demand mode.
    let at = v.next_tx.expect("quiet with a Poll Sequence under way");
    assert!(at < v.expires.unwrap());
    outputs(&mut e);
    e.handle_timeout(at);
    let tx = sent(&outputs(&mut e));
    assert!(tx.len() == 1 && tx[0].poll, "{tx:?}");
    // The peer's Final ends it; now both are Up and the peer in Demand mode: quiet.
    let mut fin = up.clone();
    fin.final_ = true;
    let rx = at + us(1_000);
    e.handle_input(rx, packet(B, &fin));
    let v = e.sessions()[0].clone();
    assert!(!v.poll);
    assert_eq!(v.next_tx, None);
    // Nothing more from the peer: Down after the Detection Time, and sending again.
    let exp = v.expires.unwrap();
    assert_eq!(exp, rx + us(300_000));
    e.handle_timeout(exp);
    let v = e.sessions()[0].clone();
    assert_eq!(v.local_state, State::Down);
    let next = v.next_tx.expect("a Down session that is not passive sends");
    outputs(&mut e);
    e.handle_timeout(next);
    let tx = sent(&outputs(&mut e));
    assert!(tx.len() == 1 && tx[0].state == State::Down, "{tx:?}");
}

mod hostile {
    //! The safety invariant under anything a neighbor (or someone spoofing it) can
    //! send, with time passing, reloads and socket failures: an Up session always has
    //! a Detection Time running that ends no later than a Detection Time after the
    //! last packet it accepted, so it cannot hold Up without hearing its peer.
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Step {
        Packet {
            state: u8,
            flags: u8,
            your: u8,
            mult: u8,
            tx: u32,
            rx: u32,
        },
        Advance(u32),
        Reload {
            rx_ms: u8,
            tx_ms: u8,
            passive: bool,
        },
        SocketFailed,
        SocketOpened,
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            8 => (0u8..4, any::<u8>(), 0u8..3, 1u8..=255, any::<u32>(), any::<u32>())
                .prop_map(|(state, flags, your, mult, tx, rx)| Step::Packet { state, flags, your, mult, tx, rx }),
            6 => (0u32..3_000_000).prop_map(Step::Advance),
            1 => (1u8..200, 1u8..200, any::<bool>())
                .prop_map(|(rx_ms, tx_ms, passive)| Step::Reload { rx_ms, tx_ms, passive }),
            1 => Just(Step::SocketFailed),
            1 => Just(Step::SocketOpened),
        ]
    }

    /// Drains the outputs, keeping what the clients were last told.
    fn told(e: &mut Engine, up: &mut bool) {
        for o in outputs(e) {
            if let Output::Event { up: u, .. } = o {
                *up = u;
            }
        }
    }

    fn check(e: &Engine, now: Instant, told_up: bool) -> Result<(), TestCaseError> {
        for v in e.sessions() {
            // Without `ignore_admin_down`, the clients know whether it is Up.
            prop_assert_eq!(told_up, v.local_state == State::Up, "{:?}", v);
            if v.local_state != State::Up {
                continue;
            }
            let exp = v.expires;
            prop_assert!(exp.is_some(), "Up without a Detection Time: {v:?}");
            let last = v.last_seen.unwrap();
            prop_assert!(
                exp.unwrap() <= last + us(v.local_detect_time_us),
                "Up past a Detection Time after the last packet: {v:?}"
            );
            prop_assert!(exp.unwrap() > now, "an expiry due at {now} left: {v:?}");
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn up_never_outlives_the_detection_time(seed in any::<u64>(), steps in prop::collection::vec(step(), 1..120)) {
            let mut now = Instant::ZERO;
            let mut e = Engine::new(&config(vec![inst("a", B)]), now, seed);
            let mut up = true;
            told(&mut e, &mut up);
            for s in steps {
                match s {
                    Step::Packet { state, flags, your, mult, tx, rx } => {
                        let v = e.sessions()[0].clone();
                        let state = State::from_wire(state);
                        let your_discr = match your {
                            0 if matches!(state, State::Down | State::AdminDown) => 0,
                            2 => v.local_discr ^ 1,
                            _ => v.local_discr,
                        };
                        let poll = flags & 1 != 0;
                        let r = BfdRepr {
                            poll,
                            final_: flags & 2 != 0 && !poll,
                            demand: flags & 4 != 0,
                            detect_mult: mult,
                            // Small intervals mostly, sometimes anything.
                            desired_min_tx: if flags & 8 != 0 { tx } else { tx % 400_000 },
                            required_min_rx: if flags & 16 != 0 { rx } else { rx % 400_000 },
                            ..peer(state, 77 + u32::from(flags >> 6), your_discr)
                        };
                        e.handle_input(now, packet(B, &r));
                    }
                    Step::Advance(d) => {
                        let until = now + us(u64::from(d));
                        while let Some(at) = e.poll_timeout().filter(|&at| at <= until) {
                            now = at;
                            e.handle_timeout(now);
                            assert!(e.poll_timeout().is_none_or(|n| n > at), "a timer due at {at} left");
                            told(&mut e, &mut up);
                            check(&e, now, up)?;
                        }
                        now = until;
                    }
                    Step::Reload { rx_ms, tx_ms, passive } => {
                        let mut b = inst("a", B);
                        b.min_rx_us = u64::from(rx_ms) * MS;
                        b.min_tx_us = u64::from(tx_ms) * MS;
                        b.passive = passive;
                        e.handle_input(now, Input::Reload(Box::new(config(vec![b]))));
                    }
                    Step::SocketFailed => e.handle_input(now, Input::SocketFailed { session: "a".into() }),
                    Step::SocketOpened => e.handle_input(now, Input::SocketOpened { session: "a".into() }),
                }
                told(&mut e, &mut up);
                check(&e, now, up)?;
            }
        }
    }
}

/// RFC 5880 §6.8.3: a shorter transmit interval takes effect at once, which brings the
/// next packet sooner, never later. A peer (or anyone spoofing it) that keeps
/// alternating its Required Min RX between a long and a short value must not be able
/// to push our next packet back again and again, silencing the session.
#[test]
fn a_shorter_interval_never_postpones_the_next_packet() {
    let mut e = Engine::new(&config(vec![inst("a", B)]), t(0), 5);
    outputs(&mut e);
    let mut periodic = 0;
    for tick in 1..=15u64 {
        let now = t(200 * tick);
        if let Some(at) = e.poll_timeout().filter(|&at| at <= now) {
            e.handle_timeout(at);
        }
        periodic += sent(&outputs(&mut e)).len();
        let mut slow = peer(State::Down, 77, 0);
        slow.required_min_rx = 5_000_000;
        e.handle_input(now, packet(B, &slow));
        let mut fast = peer(State::Down, 77, 0);
        fast.required_min_rx = 1;
        e.handle_input(now, packet(B, &fast));
        assert_eq!(e.sessions()[0].local_tx_intv_us, 1_000_000);
        periodic += sent(&outputs(&mut e)).len();
    }
    // Three seconds at a one-second interval: at least two packets.
    assert!(periodic >= 2, "{periodic} packets in 3 s");
}

/// RFC 5880 §6.8.7: "A system MUST NOT periodically transmit BFD Control packets if
/// bfd.RemoteMinRxInterval is zero" (§6.8.18: a peer holding the session down asks for
/// no packets so). A Poll is still answered; and once a Detection Time passes without
/// its packets, the peer is forgotten (RemoteDiscr zero) and we send at our own rate.
#[test]
fn a_peer_asking_for_no_packets_gets_none_until_forgotten() {
    let mut e = Engine::new(&config(vec![inst("a", B)]), t(0), 9);
    let me = e.sessions()[0].local_discr;
    outputs(&mut e);
    let mut hold = peer(State::Down, 77, 0);
    hold.required_min_rx = 0;
    e.handle_input(t(10), packet(B, &hold));
    let v = e.sessions()[0].clone();
    assert_eq!(v.local_state, State::Init);
    assert_eq!(
        v.next_tx, None,
        "periodic packets to a peer that wants none"
    );
    let mut poll = peer(State::Down, 77, me);
    poll.required_min_rx = 0;
    poll.poll = true;
    e.handle_input(t(20), packet(B, &poll));
    let tx = sent(&outputs(&mut e));
    assert!(tx.len() == 1 && tx[0].final_, "{tx:?}");
    assert_eq!(e.sessions()[0].next_tx, None);
    // Init expires a Detection Time after the Poll: Down, the peer forgotten.
    let exp = e.sessions()[0].expires.unwrap();
    e.handle_timeout(exp);
    let v = e.sessions()[0].clone();
    assert_eq!((v.local_state, v.remote_discr), (State::Down, 0));
    assert!(
        v.next_tx.is_some(),
        "the forgotten peer's request still heeded"
    );
}

/// RFC 5880 §6.8.7: "A system MUST NOT transmit BFD Control packets if bfd.RemoteDiscr
/// is zero and the system is taking the Passive role." A passive session that fell
/// from Up on its peer's Down keeps answering (as keepalived does), but once the Reset
/// forgets the peer it goes quiet again.
#[test]
fn a_passive_session_goes_quiet_when_it_forgets_its_peer() {
    let mut b = inst("p", B);
    b.passive = true;
    let mut e = Engine::new(&config(vec![b]), t(0), 4);
    let me = e.sessions()[0].local_discr;
    e.handle_input(t(10), packet(B, &peer(State::Down, 77, 0)));
    e.handle_input(t(20), packet(B, &peer(State::Up, 77, me)));
    assert_eq!(e.sessions()[0].local_state, State::Up);
    e.handle_input(t(30), packet(B, &peer(State::Down, 77, me)));
    let v = e.sessions()[0].clone();
    assert_eq!(v.local_state, State::Down);
    assert!(v.next_tx.is_some());
    outputs(&mut e);
    // Nothing more from the peer: run to the Reset and a while after.
    let reset = v.resets.unwrap();
    while let Some(at) = e.poll_timeout().filter(|&at| at <= reset) {
        e.handle_timeout(at);
        assert!(
            e.poll_timeout().is_none_or(|n| n > at),
            "a timer due at {at} left"
        );
    }
    let v = e.sessions()[0].clone();
    assert_eq!((v.remote_discr, v.resets), (0, None));
    assert_eq!(v.next_tx, None, "a passive session talking to no one");
    outputs(&mut e);
    e.handle_timeout(t(60_000));
    assert!(sent(&outputs(&mut e)).is_empty());
}

/// RFC 5880 §6.8.3: only a larger Desired Min TX waits for the Poll Sequence to end;
/// a smaller one may, and must, apply at once, since the peer shortens its Detection
/// Time as soon as it sees our Poll. A reload that lowers min_tx while Up, with the
/// peer's Final lost, must not leave us sending at the old interval into the peer's
/// new, shorter Detection Time.
#[test]
fn a_reload_lowering_min_tx_while_up_sends_faster_at_once() {
    let mut slow = inst("to_b", B);
    slow.min_tx_us = 1_000 * MS;
    let mut p = Pair::new(slow, inst("to_a", A), 21);
    p.run_until(t(6_000));
    assert_eq!((p.state(0), p.state(1)), (State::Up, State::Up));
    assert_eq!(p.e[0].sessions()[0].local_tx_intv_us, 1_000_000);
    // A reloads with min_tx 100 ms; every Final B sends is lost.
    p.drop_finals[1] = true;
    p.e[0].handle_input(
        p.now,
        Input::Reload(Box::new(config(vec![inst("to_b", B)]))),
    );
    p.pump();
    let v = p.e[0].sessions()[0].clone();
    assert!(v.poll);
    assert_eq!(v.local_tx_intv_us, 100_000);
    assert!(v.next_tx.unwrap() <= p.now + us(100_000));
    // Run with B's Finals dropped: B heard A's Poll (its Detection Time is now 300 ms)
    // and must hear A at the new rate, so it stays Up.
    let start = p.now;
    p.drop_finals[1] = true;
    p.run_until(start + us(3_000_000));
    assert_eq!(p.state(1), State::Up, "B expired A");
    assert!(!p.events.iter().any(|e| e.0 > start && e.1 == 1));
}

/// RFC 5880 §6.8.3: only a smaller Required Min RX waits for the Poll Sequence to end
/// before the Detection Time uses it; a larger one applies at once, since the peer may
/// slow down as soon as it sees our Poll. A reload that raises min_rx while Up, with
/// the peer's Final lost, must not expire a peer that obeys it.
#[test]
fn a_reload_raising_min_rx_while_up_waits_longer_at_once() {
    let mut p = Pair::standard(23);
    p.run_until(t(6_000));
    assert_eq!((p.state(0), p.state(1)), (State::Up, State::Up));
    assert_eq!(p.e[0].sessions()[0].local_detect_time_us, 300_000);
    let mut slower = inst("to_b", B);
    slower.min_rx_us = 1_000 * MS;
    p.drop_finals[1] = true;
    p.e[0].handle_input(p.now, Input::Reload(Box::new(config(vec![slower]))));
    p.pump();
    let v = p.e[0].sessions()[0].clone();
    assert!(v.poll);
    assert_eq!(v.local_detect_time_us, 3_000_000);
    assert_eq!(v.expires, Some(v.last_seen.unwrap() + us(3_000_000)));
    let start = p.now;
    p.run_until(start + us(5_000_000));
    assert_eq!(p.state(0), State::Up, "A expired B");
    assert!(!p.events.iter().any(|e| e.0 > start && e.1 == 0 && !e.3));
}

/// `ignore_admin_down` leaves the clients believing the session Up across the peer's
/// AdminDown, and only across it: when the peer comes back and the session, on its way
/// up again, expires from Init (a real failure, no AdminDown in sight), or our own
/// socket fails, the clients are told it is down.
#[test]
fn ignore_admin_down_holds_the_clients_only_across_the_admin_down() {
    for socket in [false, true] {
        let mut b = inst("a", B);
        b.ignore_admin_down = true;
        let mut e = Engine::new(&config(vec![b]), t(0), 8);
        let me = e.sessions()[0].local_discr;
        e.handle_input(t(10), packet(B, &peer(State::Down, 77, 0)));
        e.handle_input(t(20), packet(B, &peer(State::Up, 77, me)));
        assert_eq!(e.sessions()[0].local_state, State::Up);
        let mut admin = peer(State::AdminDown, 77, me);
        admin.diag = Diag::AdminDown;
        e.handle_input(t(30), packet(B, &admin));
        let ev = |out: Vec<Output>| -> Vec<bool> {
            out.into_iter()
                .filter_map(|o| match o {
                    Output::Event { up, .. } => Some(up),
                    _ => None,
                })
                .collect()
        };
        assert_eq!(ev(outputs(&mut e)), [false, true], "held across AdminDown");
        assert_eq!(e.sessions()[0].local_state, State::Down);
        // The peer comes back Down: Init, still held.
        e.handle_input(t(5_000), packet(B, &peer(State::Down, 78, 0)));
        assert_eq!(e.sessions()[0].local_state, State::Init);
        assert!(ev(outputs(&mut e)).is_empty());
        if socket {
            e.handle_input(
                t(5_100),
                Input::SocketFailed {
                    session: "a".into(),
                },
            );
        } else {
            let exp = e.sessions()[0].expires.unwrap();
            e.handle_timeout(exp);
            assert_eq!(e.sessions()[0].local_diag, Diag::Expired);
        }
        assert_eq!(
            ev(outputs(&mut e)),
            [false],
            "the clients still believe it Up"
        );
    }
}

/// A reload that changes idle_tx of a session that is not Up: its packets advertise the
/// new Desired Min TX at once (RFC 5880 §6.8.3: the idle interval while not Up), so it
/// must also send at it, not at the old interval until its peer happens to talk.
#[test]
fn a_reload_changing_idle_tx_while_down_sends_at_the_new_interval() {
    let mut slow = inst("a", B);
    slow.idle_tx_us = 5_000 * MS;
    let mut e = Engine::new(&config(vec![slow]), t(0), 2);
    outputs(&mut e);
    e.handle_input(t(100), Input::Reload(Box::new(config(vec![inst("a", B)]))));
    let v = e.sessions()[0].clone();
    assert_eq!(v.local_tx_intv_us, 1_000_000);
    assert!(v.next_tx.unwrap() <= t(1_100), "{:?}", v.next_tx);
}

mod lossless {
    //! Two engines on a link that loses nothing but, at times, Finals: once Up, no
    //! reload of either side's timers (RFC 5880 §6.8.3's Poll Sequences, either
    //! direction, at any moment, answered or not) may take the session down.
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Step {
        Reload {
            side: usize,
            rx_ms: u64,
            tx_ms: u64,
            mult: u8,
            passive: bool,
        },
        Advance(u64),
        LoseFinals(usize, bool),
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            (0usize..2, 1u64..2_000, 1u64..2_000, 1u8..6, any::<bool>()).prop_map(
                |(side, rx_ms, tx_ms, mult, passive)| Step::Reload {
                    side,
                    rx_ms,
                    tx_ms,
                    mult,
                    passive,
                }
            ),
            (0u64..5_000).prop_map(Step::Advance),
            (0usize..2, any::<bool>()).prop_map(|(side, lose)| Step::LoseFinals(side, lose)),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

        #[test]
        fn reloads_never_take_a_lossless_session_down(seed in any::<u64>(), steps in prop::collection::vec(step(), 1..30)) {
            let mut p = Pair::standard(seed);
            p.run_until(t(5_000));
            prop_assert_eq!((p.state(0), p.state(1)), (State::Up, State::Up));
            let start = p.now;
            for s in steps {
                match s {
                    Step::Reload { side, rx_ms, tx_ms, mult, passive } => {
                        let mut b = inst(["to_b", "to_a"][side], [B, A][side]);
                        b.min_rx_us = rx_ms * MS;
                        b.min_tx_us = tx_ms * MS;
                        b.multiplier = mult;
                        b.passive = passive;
                        p.e[side].handle_input(p.now, Input::Reload(Box::new(config(vec![b]))));
                    }
                    Step::Advance(ms) => {
                        let until = p.now + us(ms * MS);
                        p.run_until(until);
                    }
                    Step::LoseFinals(side, lose) => p.drop_finals[side] = lose,
                }
                p.pump();
            }
            p.run_until(p.now + us(10_000_000));
            let downs: Vec<_> = p.events.iter().filter(|e| e.0 >= start && !e.3).collect();
            prop_assert!(downs.is_empty(), "{:?}", downs);
        }
    }
}

/// RFC 5880 §6.8.3: "If bfd.RequiredMinRxInterval is reduced and bfd.SessionState is
/// Up, the previous value … MUST be used when calculating the Detection Time for the
/// remote system until the Poll Sequence … has terminated", and a Poll Sequence ends
/// only with the peer's Final (§6.5). Here A lowers min_rx and B lowers min_tx in the
/// same instant; B's Poll reaches A before A's, A answers with a Final (no P allowed
/// in it) that is lost. A must not take B's 1 ms Desired Min TX with its own new 1 ms
/// Required Min RX for a 1 ms Detection Time while B, which never heard of A's new
/// Required Min RX, still sends every 100 ms.
#[test]
fn a_reduced_min_rx_waits_for_our_poll_to_end_even_across_the_peers_poll() {
    let mut p = Pair::standard(619_559_799_540_767_786);
    p.run_until(t(5_217));
    let start = p.now;
    let reload = |p: &mut Pair, side: usize, rx_ms: u64, tx_ms: u64, mult: u8| {
        let mut b = inst(["to_b", "to_a"][side], [B, A][side]);
        b.min_rx_us = rx_ms * MS;
        b.min_tx_us = tx_ms * MS;
        b.multiplier = mult;
        p.e[side].handle_input(p.now, Input::Reload(Box::new(config(vec![b]))));
        p.pump();
    };
    reload(&mut p, 0, 1, 1, 1);
    p.drop_finals[0] = true;
    reload(&mut p, 0, 1, 231, 1);
    reload(&mut p, 1, 1, 1, 1);
    p.run_until(start + us(10_000_000));
    let downs: Vec<_> = p.events.iter().filter(|e| e.0 >= start && !e.3).collect();
    assert!(downs.is_empty(), "{downs:?}");
    assert_eq!((p.state(0), p.state(1)), (State::Up, State::Up));
}

mod delayed {
    //! Two engines on a link that delays every packet by the same small amount (a
    //! real link's latency) and may lose one side's Finals: once Up, reloads of either
    //! side's timers, passive or not, never take the session down when the latency is
    //! well under every interval.
    use super::*;
    use proptest::prelude::*;

    struct Net {
        e: [Engine; 2],
        now: Instant,
        delay: u64,
        /// (deliver at, sequence) → (to side, bytes).
        queue: BTreeMap<(Instant, u64), (usize, Vec<u8>)>,
        seq: u64,
        downs: Vec<(Instant, usize)>,
        lose: [bool; 2],
    }

    impl Net {
        fn drain(&mut self) {
            for side in 0..2 {
                while let Some(o) = self.e[side].poll_output() {
                    match o {
                        Output::Transmit { bytes, .. } => {
                            // Finals of a side that loses them go nowhere.
                            if self.lose[side]
                                && BfdRepr::parse_bytes(&bytes).is_ok_and(|r| r.final_)
                            {
                                continue;
                            }
                            self.seq += 1;
                            self.queue
                                .insert((self.now + us(self.delay), self.seq), (1 - side, bytes));
                        }
                        Output::Event { up: false, .. } => self.downs.push((self.now, side)),
                        _ => {}
                    }
                }
            }
        }

        fn run_until(&mut self, until: Instant) {
            // Calls in a row at one instant: a timer that never moves on would spin here.
            let mut stuck = 0;
            loop {
                self.drain();
                let timer = self.e.iter().filter_map(Engine::poll_timeout).min();
                let packet = self.queue.keys().next().map(|k| k.0);
                let next = match (timer, packet) {
                    (Some(a), Some(b)) => a.min(b),
                    (a, b) => a.or(b).unwrap_or(Instant(u64::MAX)),
                };
                if next > until {
                    break;
                }
                stuck = if next <= self.now { stuck + 1 } else { 0 };
                assert!(stuck < 10_000, "nothing moves on from {next}");
                self.now = next;
                if packet == Some(next) {
                    let (_, (to, bytes)) = self.queue.pop_first().unwrap();
                    let src = [B, A][to];
                    self.e[to].handle_input(
                        next,
                        Input::Packet {
                            src,
                            dst: Some([A, B][to]),
                            ttl: Some(255),
                            bytes,
                        },
                    );
                } else {
                    for e in &mut self.e {
                        e.handle_timeout(next);
                    }
                }
            }
            self.now = until;
        }
    }

    #[derive(Debug, Clone)]
    struct Reload {
        side: usize,
        rx_ms: u64,
        tx_ms: u64,
        mult: u8,
        passive: bool,
        after_ms: u64,
    }

    fn reload() -> impl Strategy<Value = Reload> {
        (
            0usize..2,
            10u64..2_000,
            10u64..2_000,
            1u8..6,
            any::<bool>(),
            0u64..3_000,
        )
            .prop_map(|(side, rx_ms, tx_ms, mult, passive, after_ms)| Reload {
                side,
                rx_ms,
                tx_ms,
                mult,
                passive,
                after_ms,
            })
    }

    /// Brings two engines Up over a link of `delay` µs, runs the reloads, then 15 s
    /// more; the client events saying down after the start of the reloads.
    fn run(seed: u64, delay: u64, lose: [bool; 2], steps: &[Reload]) -> Vec<(Instant, usize)> {
        let mut n = Net {
            e: [
                Engine::new(&config(vec![inst("to_b", B)]), Instant::ZERO, seed),
                Engine::new(&config(vec![inst("to_a", A)]), Instant::ZERO, seed ^ 1),
            ],
            now: Instant::ZERO,
            delay,
            queue: BTreeMap::new(),
            seq: 0,
            downs: vec![],
            lose: [false; 2],
        };
        n.run_until(t(6_000));
        assert_eq!(
            (
                n.e[0].sessions()[0].local_state,
                n.e[1].sessions()[0].local_state
            ),
            (State::Up, State::Up)
        );
        let start = n.now;
        n.lose = lose;
        for r in steps {
            let mut b = inst(["to_b", "to_a"][r.side], [B, A][r.side]);
            b.min_rx_us = r.rx_ms * MS;
            b.min_tx_us = r.tx_ms * MS;
            b.multiplier = r.mult;
            b.passive = r.passive;
            n.e[r.side].handle_input(n.now, Input::Reload(Box::new(config(vec![b]))));
            let until = n.now + us(r.after_ms * MS);
            n.run_until(until);
        }
        n.run_until(n.now + us(15_000_000));
        n.downs.into_iter().filter(|d| d.0 > start).collect()
    }

    /// A link whose round trip (500 ms) is longer than the Detection Time both sides
    /// agree once Up (300 ms): a side entering Up advertises min_tx, and the peer's
    /// Detection Time shrinks as soon as it reads that, so the side must already send at
    /// min_tx; waiting at the idle interval for the Final (as keepalived does) has the
    /// peer expire it before the Final can return, over and over.
    #[test]
    fn a_round_trip_longer_than_the_detection_time_does_not_flap_the_session() {
        for seed in 0..20 {
            let mut n = Net {
                e: [
                    Engine::new(&config(vec![inst("to_b", B)]), Instant::ZERO, seed),
                    Engine::new(&config(vec![inst("to_a", A)]), Instant::ZERO, seed ^ 1),
                ],
                now: Instant::ZERO,
                delay: 250 * MS,
                queue: BTreeMap::new(),
                seq: 0,
                downs: vec![],
                lose: [false; 2],
            };
            n.run_until(t(20_000));
            let states = (
                n.e[0].sessions()[0].local_state,
                n.e[1].sessions()[0].local_state,
            );
            // Every session starts by telling its clients it is down, at 0.
            let downs: Vec<_> = n.downs.iter().filter(|d| d.0 > Instant::ZERO).collect();
            assert_eq!(
                (states, downs.len()),
                ((State::Up, State::Up), 0),
                "seed {seed}: {downs:?}"
            );
        }
    }

    /// RFC 5880 §6.5: B raises min_rx to 1061 ms and Polls; A slows down to it. Before
    /// A's Final arrives B reloads again, min_rx 10 ms: that Final answers the old
    /// values, so B's Poll Sequence must go on (and its Detection Time keep the
    /// 1061 ms A obeys) until a Poll carrying the new ones is answered; ending it on
    /// the stale Final had B expire A, which was still sending every second.
    #[test]
    fn a_final_to_an_earlier_poll_does_not_end_a_poll_for_newer_values() {
        let r = |side, rx_ms, tx_ms, mult, after_ms| Reload {
            side,
            rx_ms,
            tx_ms,
            mult,
            passive: false,
            after_ms,
        };
        let steps = [
            r(1, 10, 763, 2, 2307),
            r(1, 10, 864, 2, 2172),
            r(1, 1061, 637, 1, 517),
            r(1, 10, 10, 1, 55),
            r(0, 10, 10, 1, 0),
        ];
        assert_eq!(
            run(4_068_312_126_475_709_926, 1_187, [false; 2], &steps),
            []
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn reloads_never_take_a_session_down_across_latency(
            seed in any::<u64>(),
            delay in 0u64..2_000,
            lose in any::<[bool; 2]>(),
            steps in prop::collection::vec(reload(), 1..20),
        ) {
            let downs = run(seed, delay, lose, &steps);
            prop_assert!(downs.is_empty(), "{:?}", downs);
        }
    }
}
