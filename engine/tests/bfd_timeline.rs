//! Two BFD engines wired back to back through a scenario (bring-up of an active and a
//! passive side, a one-way outage, a reload that changes the timers, a shutdown),
//! snapshotted as a timeline of state changes and client events; and the same run's
//! inputs recorded as JSON lines and replayed into a fresh engine, which must give the
//! same outputs.

use std::net::{IpAddr, Ipv4Addr};

use keepalived_engine::bfd::{Engine, Input, Output};
use keepalived_engine::config::model::{BfdInstance, Config};
use keepalived_engine::time::Instant;
use keepalived_engine::wire::bfd::BfdRepr;

const A: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
const B: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));
const NAMES: [&str; 2] = ["A", "B"];

fn inst(name: &str, nbr: IpAddr, passive: bool, min_tx_ms: u64) -> BfdInstance {
    BfdInstance {
        min_rx_us: 100_000,
        min_tx_us: min_tx_ms * 1_000,
        multiplier: 3,
        passive,
        ..BfdInstance::new(name, Some(nbr))
    }
}

fn config(b: BfdInstance) -> Config {
    Config {
        bfd_instances: vec![b],
        ..Config::default()
    }
}

struct Net {
    e: [Engine; 2],
    now: Instant,
    block: [bool; 2],
    log: Vec<String>,
    /// Every input handed to A, as a JSON line.
    a_inputs: Vec<String>,
    a_outputs: Vec<Output>,
    states: [String; 2],
}

impl Net {
    fn new() -> Net {
        let e = [
            Engine::new(&config(inst("to_b", B, false, 100)), Instant::ZERO, 1),
            Engine::new(&config(inst("to_a", A, true, 100)), Instant::ZERO, 2),
        ];
        let mut n = Net {
            e,
            now: Instant::ZERO,
            block: [false; 2],
            log: vec![],
            a_inputs: vec![],
            a_outputs: vec![],
            states: [String::new(), String::new()],
        };
        n.settle();
        n
    }

    fn input(&mut self, side: usize, input: Input) {
        if side == 0 {
            self.a_inputs
                .push(serde_json::to_string(&(self.now, &input)).unwrap());
        }
        self.e[side].handle_input(self.now, input);
    }

    fn settle(&mut self) {
        // Two engines answering each other for ever at one instant would spin here.
        for _ in 0..100_000 {
            let mut moved = false;
            for side in 0..2 {
                while let Some(o) = self.e[side].poll_output() {
                    moved = true;
                    if side == 0 {
                        self.a_outputs.push(o.clone());
                    }
                    match o {
                        Output::Transmit { bytes, .. } if !self.block[side] => {
                            self.input(
                                1 - side,
                                Input::Packet {
                                    src: [A, B][side],
                                    dst: Some([B, A][side]),
                                    ttl: Some(255),
                                    bytes,
                                },
                            );
                        }
                        Output::Transmit { .. } => {}
                        Output::Event { session, up, .. } => self.log.push(format!(
                            "{} {} {session} event {}",
                            self.now,
                            NAMES[side],
                            if up { "up" } else { "down" }
                        )),
                        Output::Open { session, ttl, .. } => self.log.push(format!(
                            "{} {} {session} open ttl {ttl}",
                            self.now, NAMES[side]
                        )),
                        Output::Close { session } => self
                            .log
                            .push(format!("{} {} {session} close", self.now, NAMES[side])),
                    }
                }
                for v in self.e[side].sessions() {
                    let st = format!(
                        "{} (diag {}, remote {}, tx {} us, detect {} us)",
                        v.local_state,
                        v.local_diag,
                        v.remote_state,
                        v.local_tx_intv_us,
                        v.local_detect_time_us
                    );
                    if st != self.states[side] {
                        self.log
                            .push(format!("{} {} {} {st}", self.now, NAMES[side], v.name));
                        self.states[side] = st;
                    }
                }
            }
            if !moved {
                return;
            }
        }
        panic!("at {}: the two sessions never fall quiet", self.now);
    }

    fn run_until(&mut self, until_ms: u64) {
        let until = Instant(until_ms * 1_000);
        // Calls in a row at one instant: a timer that never moves on would spin here.
        let mut stuck = 0;
        loop {
            self.settle();
            match self.e.iter().filter_map(Engine::poll_timeout).min() {
                Some(n) if n <= until => {
                    stuck = if n <= self.now { stuck + 1 } else { 0 };
                    assert!(stuck < 10_000, "the sessions' timers stay at {n}");
                    self.now = n;
                    if self.e[0].poll_timeout() == Some(n) {
                        self.a_inputs
                            .push(serde_json::to_string(&(n, "timeout")).unwrap());
                    }
                    for e in &mut self.e {
                        e.handle_timeout(n);
                    }
                }
                _ => break,
            }
        }
        self.now = until;
        self.settle();
    }
}

fn scenario() -> Net {
    let mut n = Net::new();
    n.run_until(3_000);
    n.log.push(format!("{} -- A's packets lost", n.now));
    n.block[0] = true;
    n.run_until(4_000);
    n.log.push(format!("{} -- A's packets pass again", n.now));
    n.block[0] = false;
    n.run_until(6_000);
    n.log
        .push(format!("{} -- A reloads with min_tx 200 ms", n.now));
    n.input(
        0,
        Input::Reload(Box::new(config(inst("to_b", B, false, 200)))),
    );
    n.run_until(8_000);
    n.log.push(format!("{} -- A shuts down", n.now));
    n.input(0, Input::Shutdown);
    n.run_until(9_000);
    n
}

#[test]
fn active_passive_outage_reload_shutdown_timeline() {
    let n = scenario();
    insta::assert_snapshot!(n.log.join("\n"));
}

#[test]
fn recorded_inputs_replay_to_the_same_outputs() {
    let n = scenario();
    let mut e = Engine::new(&config(inst("to_b", B, false, 100)), Instant::ZERO, 1);
    let mut outputs = vec![];
    let drain = |e: &mut Engine, outputs: &mut Vec<Output>| {
        while let Some(o) = e.poll_output() {
            outputs.push(o);
        }
    };
    drain(&mut e, &mut outputs);
    for line in &n.a_inputs {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let now: Instant = serde_json::from_value(v[0].clone()).unwrap();
        if v[1] == "timeout" {
            e.handle_timeout(now);
        } else {
            let input: Input = serde_json::from_value(v[1].clone()).unwrap();
            e.handle_input(now, input);
        }
        drain(&mut e, &mut outputs);
    }
    assert!(outputs.len() > 50);
    assert_eq!(outputs, n.a_outputs);
    // And what A sent is what its peer would accept.
    for o in &outputs {
        if let Output::Transmit { bytes, .. } = o {
            BfdRepr::parse_bytes(bytes).unwrap();
        }
    }
}
