//! Random runs of the BFD engine: well-formed and odd packets from its neighbors and
//! strangers, time passing, socket failures, reloads and a shutdown, in any order. What
//! must hold whatever happens:
//! - nothing panics or spins: after `handle_timeout(now)` no timer is due at `now`;
//! - every packet sent passes the checks a peer makes (`BfdRepr::parse`), and only a
//!   shutdown sends AdminDown;
//! - a session is opened before anything is sent or told for it, and not after it is
//!   closed;
//! - discriminators are nonzero and unique; an Up session knows its peer's.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};

use keepalived_engine::bfd::{Engine, Input, Output};
use keepalived_engine::config::model::{BfdInstance, Config};
use keepalived_engine::time::Instant;
use keepalived_engine::wire::bfd::{BfdRepr, Diag, State};
use proptest::prelude::*;

fn peer(n: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, n))
}

fn inst(name: &str, nbr: u8, passive: bool, tx_ms: u64, max_hops: u8) -> BfdInstance {
    BfdInstance {
        source_ip: if nbr == 3 { Some(peer(1)) } else { None },
        min_rx_us: tx_ms * 1_000,
        min_tx_us: tx_ms * 1_000,
        multiplier: if passive { 1 } else { 3 },
        passive,
        max_hops,
        ignore_admin_down: nbr == 3,
        ..BfdInstance::new(name, Some(peer(nbr)))
    }
}

fn config(variant: u8) -> Config {
    let mut b = vec![inst("a", 2, false, 10, 0), inst("b", 3, true, 50, 255)];
    match variant % 4 {
        0 => {}
        1 => b.push(inst("c", 4, false, 20, 1)),
        2 => b[0] = inst("a", 5, false, 10, 0),
        _ => b[1] = inst("b", 3, false, 100, 2),
    }
    Config {
        bfd_instances: b,
        ..Config::default()
    }
}

#[derive(Debug, Clone)]
enum Step {
    Packet {
        from: u8,
        state: u8,
        diag: u8,
        poll: bool,
        final_: bool,
        demand: bool,
        /// Your Discriminator: 0, the session's, or another value.
        your: u8,
        my: u32,
        mult: u8,
        tx_ms: u32,
        rx_ms: u32,
        ttl: Option<u8>,
    },
    Raw(Vec<u8>),
    Advance(u32),
    SocketFailed(u8),
    SocketOpened(u8),
    Reload(u8),
    Shutdown,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        8 => (
            (2u8..6, 0u8..4, 0u8..10, any::<bool>(), any::<bool>(), any::<bool>()),
            (0u8..3, 0u32..4, 0u8..4, 0u32..300, 0u32..300, prop::option::of(any::<u8>())),
        )
            .prop_map(|((from, state, diag, poll, final_, demand), (your, my, mult, tx_ms, rx_ms, ttl))| {
                Step::Packet { from, state, diag, poll, final_, demand, your, my, mult, tx_ms, rx_ms, ttl }
            }),
        1 => prop::collection::vec(any::<u8>(), 0..40).prop_map(Step::Raw),
        6 => (0u32..1_500_000).prop_map(Step::Advance),
        1 => (0u8..3).prop_map(Step::SocketFailed),
        1 => (0u8..3).prop_map(Step::SocketOpened),
        1 => any::<u8>().prop_map(Step::Reload),
        1 => Just(Step::Shutdown),
    ]
}

fn name(n: u8) -> String {
    ["a", "b", "c"][usize::from(n % 3)].to_string()
}

struct Checker {
    open: BTreeSet<String>,
    /// Sessions whose socket failed and has not opened since: the engine may ask for
    /// it again (on a reload).
    failed: BTreeSet<String>,
    shutting: bool,
}

impl Checker {
    fn drain(&mut self, e: &mut Engine) {
        while let Some(o) = e.poll_output() {
            match o {
                Output::Open { session, .. } => {
                    let retry = self.failed.contains(&session);
                    assert!(
                        self.open.insert(session.clone()) || retry,
                        "{session} opened twice"
                    );
                }
                Output::Close { session } => {
                    assert!(self.open.remove(&session), "{session} closed unopened");
                    self.failed.remove(&session);
                }
                Output::Event { session, .. } => {
                    assert!(self.open.contains(&session), "event for unopened {session}");
                }
                Output::Transmit { session, bytes, .. } => {
                    assert!(self.open.contains(&session), "packet on unopened {session}");
                    let r = BfdRepr::parse_bytes(&bytes)
                        .unwrap_or_else(|err| panic!("{session} sent a bogus packet: {err}"));
                    assert_eq!(
                        r.state == State::AdminDown,
                        self.shutting,
                        "{session} sent {r:?}"
                    );
                    if self.shutting {
                        assert_eq!(r.diag, Diag::AdminDown);
                    }
                }
            }
        }
        let v = e.sessions();
        let discrs: BTreeSet<u32> = v.iter().map(|s| s.local_discr).collect();
        assert_eq!(discrs.len(), v.len(), "discriminators not unique");
        assert!(!discrs.contains(&0));
        for s in &v {
            if s.local_state == State::Up {
                assert_ne!(
                    s.remote_discr, 0,
                    "{} Up without the peer's discriminator",
                    s.name
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn any_run_keeps_the_invariants(seed in any::<u64>(), steps in prop::collection::vec(step(), 1..80)) {
        let mut now = Instant::ZERO;
        let mut e = Engine::new(&config(0), now, seed);
        let mut c = Checker { open: BTreeSet::new(), failed: BTreeSet::new(), shutting: false };
        c.drain(&mut e);
        for s in steps {
            match s {
                Step::Packet { from, state, diag, poll, final_, demand, your, my, mult, tx_ms, rx_ms, ttl } => {
                    let sessions = e.sessions();
                    let target = sessions.iter().find(|v| v.neighbor == peer(from));
                    let your_discr = match (your, target) {
                        (0, _) => 0,
                        (1, Some(v)) => v.local_discr,
                        _ => 0x5eed,
                    };
                    let r = BfdRepr {
                        diag: Diag::from_wire(diag).unwrap_or(Diag::NoDiag),
                        state: State::from_wire(state),
                        poll,
                        final_: final_ && !poll,
                        cplane: false,
                        demand,
                        detect_mult: mult,
                        my_discr: my * 0x1001,
                        your_discr,
                        desired_min_tx: tx_ms * 1_000,
                        required_min_rx: rx_ms * 1_000,
                        required_min_echo_rx: 0,
                        auth: None,
                    };
                    e.handle_input(now, Input::Packet {
                        src: peer(from),
                        dst: Some(peer(1)),
                        ttl,
                        bytes: r.to_bytes(),
                    });
                }
                Step::Raw(bytes) => e.handle_input(now, Input::Packet {
                    src: peer(2),
                    dst: None,
                    ttl: None,
                    bytes,
                }),
                Step::Advance(us) => {
                    now = Instant(now.0 + u64::from(us));
                    // Every timer due on the way, as a driver runs them.
                    while let Some(t) = e.poll_timeout().filter(|&t| t <= now) {
                        e.handle_timeout(t);
                        prop_assert!(e.poll_timeout().is_none_or(|n| n > t), "a timer due at {t} left");
                        c.drain(&mut e);
                    }
                }
                Step::SocketFailed(n) => {
                    if c.open.contains(&name(n)) {
                        c.failed.insert(name(n));
                    }
                    e.handle_input(now, Input::SocketFailed { session: name(n) })
                }
                Step::SocketOpened(n) => {
                    c.failed.remove(&name(n));
                    e.handle_input(now, Input::SocketOpened { session: name(n) })
                }
                Step::Reload(v) => e.handle_input(now, Input::Reload(Box::new(config(v)))),
                Step::Shutdown => {
                    c.shutting = true;
                    e.handle_input(now, Input::Shutdown);
                }
            }
            c.drain(&mut e);
            if c.shutting {
                prop_assert_eq!(e.poll_timeout(), None);
            }
        }
    }
}
