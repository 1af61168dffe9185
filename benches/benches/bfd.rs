//! The BFD engine's hot paths: one steady-state packet of an Up session handled and its
//! outputs drained; and two engines of 1,000 sessions each (100 ms timers, multiplier
//! 3), Up, exchanging their packets for one simulated second.
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use keepalived_engine::bfd::{Engine, Input, Output};
use keepalived_engine::config::model::{BfdInstance, Config};
use keepalived_engine::time::Instant;
use keepalived_engine::wire::bfd::State;

/// Session `i`'s address on side `side` (0: 10.1.x.y, 1: 10.2.x.y).
fn addr(side: usize, i: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(
        10,
        1 + side as u8,
        (i / 250) as u8,
        (i % 250) as u8 + 1,
    ))
}

fn config(side: usize, n: usize) -> Config {
    Config {
        bfd_instances: (0..n)
            .map(|i| BfdInstance {
                source_ip: Some(addr(side, i)),
                min_rx_us: 100_000,
                min_tx_us: 100_000,
                multiplier: 3,
                ..BfdInstance::new(format!("s{i}"), Some(addr(1 - side, i)))
            })
            .collect(),
        ..Config::default()
    }
}

/// Two engines of `n` sessions, each session of one facing the same-numbered session
/// of the other; packets arrive when sent.
#[derive(Clone)]
struct Pair {
    e: [Engine; 2],
    now: Instant,
    packets: u64,
}

impl Pair {
    fn new(n: usize) -> Pair {
        let mut p = Pair {
            e: [
                Engine::new(&config(0, n), Instant::ZERO, 1),
                Engine::new(&config(1, n), Instant::ZERO, 2),
            ],
            now: Instant::ZERO,
            packets: 0,
        };
        p.settle();
        p
    }

    fn settle(&mut self) {
        loop {
            let mut moved = false;
            for side in 0..2 {
                while let Some(o) = self.e[side].poll_output() {
                    moved = true;
                    if let Output::Transmit {
                        session,
                        dst,
                        bytes,
                    } = o
                    {
                        let i: usize = session[1..].parse().unwrap();
                        self.packets += 1;
                        self.e[1 - side].handle_input(
                            self.now,
                            Input::Packet {
                                src: addr(side, i),
                                dst: Some(dst),
                                ttl: Some(255),
                                bytes,
                            },
                        );
                    }
                }
            }
            if !moved {
                break;
            }
        }
    }

    fn run_for(&mut self, us: u64) {
        let until = Instant(self.now.0 + us);
        loop {
            self.settle();
            match self.e.iter().filter_map(Engine::poll_timeout).min() {
                Some(t) if t <= until => {
                    self.now = t;
                    for e in &mut self.e {
                        e.handle_timeout(t);
                    }
                }
                _ => break,
            }
        }
        self.now = until;
    }

    fn all_up(&self) -> bool {
        self.e
            .iter()
            .all(|e| e.sessions().iter().all(|s| s.local_state == State::Up))
    }
}

fn per_packet(c: &mut Criterion) {
    // One session brought Up and past its Poll Sequence.
    let mut p = Pair::new(1);
    p.run_for(5_000_000);
    assert!(p.all_up());
    let mut e = p.e[0].clone();
    // The peer's next periodic packet: Up, no Poll or Final.
    let mut peer = p.e[1].clone();
    let bytes = loop {
        let t = peer.poll_timeout().unwrap();
        peer.handle_timeout(t);
        if let Some(Output::Transmit { bytes, .. }) = peer.poll_output() {
            break bytes;
        }
    };
    let mut now = p.now.0;
    c.bench_function("bfd/rx_up_packet", |b| {
        b.iter(|| {
            now += 1;
            e.handle_input(
                Instant(now),
                Input::Packet {
                    src: addr(1, 0),
                    dst: Some(addr(0, 0)),
                    ttl: Some(255),
                    bytes: bytes.clone(),
                },
            );
            while let Some(o) = e.poll_output() {
                black_box(o);
            }
        })
    });
    assert_eq!(e.sessions()[0].local_state, State::Up);
}

fn thousand_sessions(c: &mut Criterion) {
    let mut p = Pair::new(1_000);
    p.run_for(6_000_000);
    assert!(p.all_up());
    let before = p.packets;
    let mut probe = p.clone();
    probe.run_for(1_000_000);
    eprintln!(
        "bfd/1000_sessions_x2_1s: {} packets per simulated second",
        probe.packets - before
    );
    let mut g = c.benchmark_group("bfd");
    g.sample_size(20);
    g.bench_function("1000_sessions_x2_1s", |b| {
        b.iter_batched(
            || p.clone(),
            |mut p| {
                p.run_for(1_000_000);
                p
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, per_packet, thousand_sessions);
criterion_main!(benches);
