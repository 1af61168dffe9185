//! The BFD engine against keepalived 2.2.7's own packets (`tests/data/bfd/`, captured
//! by `capture.sh` between two namespaces): the codec reads each captured packet as
//! tshark did, the engine's packets are byte for byte keepalived's but for the
//! discriminators, and an engine standing in for side A, fed side B's captured packets
//! at their captured times, sends the same sequence of packets A sent.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use keepalived_engine::bfd::{Engine, Input, Output};
use keepalived_engine::config::model::{BfdInstance, Config};
use keepalived_engine::time::Instant;
use keepalived_engine::wire::bfd::{BfdRepr, Diag, State};

const A: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 168, 250, 1));
const B: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 168, 250, 2));

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data/bfd")
        .join(name)
}

/// capture.sh's `bfd_instance`: min_rx 100, min_tx 100, multiplier 3, idle_tx default.
fn config() -> Config {
    Config {
        bfd_instances: vec![BfdInstance {
            min_rx_us: 100_000,
            min_tx_us: 100_000,
            multiplier: 3,
            ..BfdInstance::new("BFD_1", Some(B))
        }],
        ..Config::default()
    }
}

/// (file, state, diag, P, F, my, your, min tx, min rx)
#[allow(clippy::type_complexity)]
const CAPTURED: [(&str, State, Diag, bool, bool, u32, u32, u32, u32); 7] = [
    (
        "keepalived-down.bin",
        State::Down,
        Diag::NoDiag,
        false,
        false,
        0xd2ef8092,
        0,
        1_000_000,
        100_000,
    ),
    (
        "keepalived-down-expired.bin",
        State::Down,
        Diag::Expired,
        false,
        false,
        0xd3aae694,
        0,
        1_000_000,
        100_000,
    ),
    (
        "keepalived-down-neighbor.bin",
        State::Down,
        Diag::NeighborSignaledDown,
        false,
        false,
        0xe96d5d4e,
        0xd3aae694,
        1_000_000,
        100_000,
    ),
    (
        "keepalived-init.bin",
        State::Init,
        Diag::NoDiag,
        false,
        false,
        0xd2ef8092,
        0x66ed8b73,
        1_000_000,
        100_000,
    ),
    (
        "keepalived-up.bin",
        State::Up,
        Diag::NoDiag,
        false,
        false,
        0x66ed8b73,
        0xd2ef8092,
        100_000,
        100_000,
    ),
    (
        "keepalived-up-poll.bin",
        State::Up,
        Diag::NoDiag,
        true,
        false,
        0x66ed8b73,
        0xd2ef8092,
        100_000,
        100_000,
    ),
    (
        "keepalived-up-final.bin",
        State::Up,
        Diag::NoDiag,
        false,
        true,
        0xd2ef8092,
        0x66ed8b73,
        100_000,
        100_000,
    ),
];

#[test]
fn captured_packets_parse_as_tshark_read_them() {
    for (file, state, diag, poll, fin, my, your, tx, rx) in CAPTURED {
        let bytes = std::fs::read(data(file)).unwrap();
        let r = BfdRepr::parse_bytes(&bytes).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(
            (r.state, r.diag, r.poll, r.final_, r.my_discr, r.your_discr),
            (state, diag, poll, fin, my, your),
            "{file}"
        );
        assert_eq!((r.desired_min_tx, r.required_min_rx), (tx, rx), "{file}");
        assert_eq!((r.detect_mult, r.required_min_echo_rx), (3, 0), "{file}");
        assert!(r.auth.is_none() && !r.demand && !r.cplane);
        assert_eq!(r.to_bytes(), bytes, "{file}");
    }
}

#[test]
fn the_first_packet_is_keepalived_s_but_for_the_discriminator() {
    let mut e = Engine::new(&config(), Instant::ZERO, 5);
    let bytes = std::iter::from_fn(|| e.poll_output())
        .find_map(|o| match o {
            Output::Transmit { bytes, .. } => Some(bytes),
            _ => None,
        })
        .unwrap();
    let mut want = std::fs::read(data("keepalived-down.bin")).unwrap();
    want[4..8].copy_from_slice(&bytes[4..8]);
    assert_eq!(bytes, want);
}

/// One line of capture.log's tshark section.
struct Line {
    t_us: u64,
    from_a: bool,
    r: BfdRepr,
}

fn capture() -> Vec<Line> {
    let text = std::fs::read_to_string(data("capture.log")).unwrap();
    let mut lines = text
        .lines()
        .skip_while(|l| !l.starts_with("== tshark"))
        .skip(1)
        .take_while(|l| !l.starts_with("=="));
    let hex = |s: &str| u32::from_str_radix(s.trim_start_matches("0x"), 16).unwrap();
    let mut out = vec![];
    let mut t0 = None;
    for l in lines.by_ref() {
        let f: Vec<&str> = l.split_whitespace().collect();
        let (secs, frac) = f[0].split_once('.').unwrap();
        let t = secs.parse::<u64>().unwrap() * 1_000_000 + frac[..6].parse::<u64>().unwrap();
        let t0 = *t0.get_or_insert(t);
        out.push(Line {
            t_us: t - t0,
            from_a: f[1] == "192.168.250.1",
            r: BfdRepr {
                diag: Diag::from_wire(hex(f[3]) as u8).unwrap(),
                state: State::from_wire(hex(f[2]) as u8),
                poll: f[4] == "1",
                final_: f[5] == "1",
                cplane: false,
                demand: false,
                detect_mult: 3,
                my_discr: hex(f[6]),
                your_discr: hex(f[7]),
                desired_min_tx: f[8].parse().unwrap(),
                required_min_rx: f[9].parse().unwrap(),
                required_min_echo_rx: 0,
                auth: None,
            },
        });
    }
    out
}

/// What two packets of a side have in common when the discriminators are random:
/// state, diag, P, F, whether Your Discriminator is known, the intervals.
fn shape(r: &BfdRepr) -> String {
    format!(
        "{} diag {} P{} F{} your {} tx {} rx {}",
        r.state,
        r.diag.to_wire(),
        u8::from(r.poll),
        u8::from(r.final_),
        if r.your_discr == 0 { "0" } else { "peer" },
        r.desired_min_tx,
        r.required_min_rx
    )
}

fn dedup(v: Vec<String>) -> Vec<String> {
    let mut v = v;
    v.dedup();
    v
}

/// Our A's packets and client events, fed B's captured packets at their times, with
/// `seed` for the jitter.
#[allow(clippy::type_complexity)]
fn run_as_a(cap: &[Line], seed: u64) -> (Vec<String>, Vec<(u64, bool)>, u64, Engine) {
    let mut e = Engine::new(&config(), Instant::ZERO, seed);
    let mut ours: Vec<String> = vec![];
    let mut events: Vec<(u64, bool)> = vec![];
    let drain = |e: &mut Engine, now: u64, ours: &mut Vec<String>, ev: &mut Vec<(u64, bool)>| {
        while let Some(o) = e.poll_output() {
            match o {
                Output::Transmit { bytes, .. } => {
                    ours.push(shape(&BfdRepr::parse_bytes(&bytes).unwrap()))
                }
                Output::Event { up, .. } => ev.push((now, up)),
                _ => {}
            }
        }
    };
    drain(&mut e, 0, &mut ours, &mut events);
    let last_a = cap
        .iter()
        .filter(|l| l.from_a)
        .map(|l| l.t_us)
        .max()
        .unwrap();
    let mut last_b = 0;
    for l in cap.iter().filter(|l| !l.from_a) {
        while let Some(t) = e.poll_timeout().filter(|&t| t.0 <= l.t_us) {
            e.handle_timeout(t);
            assert!(
                e.poll_timeout().is_none_or(|n| n > t),
                "a timer due at {t} left"
            );
            drain(&mut e, t.0, &mut ours, &mut events);
        }
        let mut r = l.r.clone();
        if r.your_discr != 0 {
            r.your_discr = e.sessions()[0].local_discr;
        }
        e.handle_input(
            Instant(l.t_us),
            Input::Packet {
                src: B,
                dst: Some(A),
                ttl: Some(255),
                bytes: r.to_bytes(),
            },
        );
        drain(&mut e, l.t_us, &mut ours, &mut events);
        last_b = l.t_us;
    }
    while let Some(t) = e.poll_timeout().filter(|&t| t.0 <= last_a) {
        e.handle_timeout(t);
        assert!(
            e.poll_timeout().is_none_or(|n| n > t),
            "a timer due at {t} left"
        );
        drain(&mut e, t.0, &mut ours, &mut events);
    }
    (dedup(ours), events, last_b, e)
}

#[test]
fn an_engine_as_side_a_answers_side_b_as_keepalived_did() {
    let cap = capture();
    assert!(cap.len() > 100);
    let theirs = dedup(
        cap.iter()
            .filter(|l| l.from_a)
            .map(|l| shape(&l.r))
            .collect(),
    );
    // After B's Down (diag 3) A forgets B a Detection Time later (`bfd_reset_thread()`):
    // whether one of A's packets goes between that reset and B's next Down, and so
    // carries Your Discriminator 0, is down to the jitter of A's 1 s interval.
    let by_timing = "Down diag 3 P0 F0 your 0 tx 1000000 rx 100000";
    assert!(theirs.iter().any(|s| s == by_timing));
    let without =
        |v: &[String]| -> Vec<String> { v.iter().filter(|s| *s != by_timing).cloned().collect() };
    let mut exact = 0;
    for seed in 0..20 {
        let (ours, events, last_b, e) = run_as_a(&cap, seed);
        assert_eq!(without(&ours), without(&theirs), "seed {seed}");
        exact += usize::from(ours == theirs);
        // The clients heard: Down at start, Up, Down (B's Down, diag 3), Up, Down (B
        // silent after its SIGTERM, diag 1) 300 ms after B's last packet.
        let ups: Vec<bool> = events.iter().map(|e| e.1).collect();
        assert_eq!(ups, [false, true, false, true, false], "seed {seed}");
        assert_eq!(events[4].0 - last_b, 300_000);
        let v = &e.sessions()[0];
        assert_eq!((v.local_state, v.local_diag), (State::Down, Diag::Expired));
    }
    assert!(exact > 0, "no seed sent A's packets as keepalived did");
}
