//! The VRRP engine's hot paths. Targets (issue 4): one received advert handled and its
//! outputs drained under 300 ns; 1,000 instances (4 interfaces × 250 VRIDs) at
//! advert_int 1 s under 1 ms of CPU per simulated second.
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use criterion::{criterion_group, criterion_main, Criterion};
use keepalived_engine::config::{parse_str, ParseOptions};
use keepalived_engine::time::Instant;
use keepalived_engine::vrrp::{Engine, Input, InterfaceInfo};
use keepalived_engine::wire::{
    AdvertRepr, AuthType, EmitOptions, Family, VipList, VrrpBody, VrrpRepr, MCAST_GROUP4,
};

fn iface(n: u8) -> InterfaceInfo {
    InterfaceInfo {
        name: format!("eth{n}"),
        up: true,
        mac: [2, 0, 0, 0, 0, n],
        ipv4: Some(Ipv4Addr::new(192, 168, n, 1)),
        ipv6_ll: Some(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1)),
        ipv6_forwarding: false,
    }
}

fn engine(text: &str, ifs: u8) -> Engine {
    let cfg = parse_str(text, &ParseOptions::default()).config;
    Engine::new(cfg, Instant::ZERO, (0..ifs).map(iface).collect())
}

fn advert_bytes() -> Vec<u8> {
    let a = AdvertRepr {
        src: IpAddr::V4(Ipv4Addr::new(192, 168, 0, 9)),
        dst: IpAddr::V4(MCAST_GROUP4),
        ttl: 255,
        tos: 0xc0,
        ident: 1,
        ah: None,
        vrrp: VrrpRepr {
            vrid: 1,
            priority: 200,
            body: VrrpBody::V2 {
                auth_type: AuthType::None,
                adver_int_secs: 1,
                auth_data: [0; 8],
            },
            vips: VipList::V4(vec![Ipv4Addr::new(10, 0, 0, 1)]),
        },
    };
    let mut b = vec![0; a.buffer_len()];
    a.emit(&mut b, &EmitOptions::default());
    b
}

fn one_advert(c: &mut Criterion) {
    let mut e = engine(
        "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n priority 100\n advert_int 1\n \
         virtual_ipaddress {\n 10.0.0.1/24\n }\n}\n",
        1,
    );
    while e.poll_output().is_some() {}
    let bytes = advert_bytes();
    let mut t = 1_000_000u64;
    c.bench_function("vrrp/backup_handles_one_advert_and_drains", |b| {
        b.iter(|| {
            t += 1_000_000;
            e.handle_input(
                Instant::from_micros(t),
                Input::Packet {
                    interface: "eth0".into(),
                    family: Family::V4,
                    src: IpAddr::V4(Ipv4Addr::new(192, 168, 0, 9)),
                    dst: IpAddr::V4(MCAST_GROUP4),
                    hop_limit: Some(255),
                    bytes: black_box(bytes.clone()),
                },
            );
            while let Some(o) = e.poll_output() {
                black_box(o);
            }
        })
    });
}

/// 4 interfaces × 250 VRIDs, priorities spread so the masters' timers do not line up.
fn thousand_instances_text() -> String {
    let mut s = String::new();
    for i in 0..4u32 {
        for v in 1..=250u32 {
            s.push_str(&format!(
                "vrrp_instance VI_{i}_{v} {{\n interface eth{i}\n virtual_router_id {v}\n priority {p}\n advert_int 1\n \
                 virtual_ipaddress {{\n 10.{i}.{v}.1/32\n }}\n}}\n",
                p = 1 + (v * 7 + i) % 250
            ));
        }
    }
    s
}

fn thousand_instances(c: &mut Criterion) {
    let text = thousand_instances_text();
    let mut g = c.benchmark_group("vrrp");
    g.sample_size(10);
    // Past start-up: every instance MASTER, sending one advert a second.
    let mut warm = engine(&text, 4);
    let mut now = Instant::ZERO;
    while now < Instant::from_micros(10_000_000) {
        now = warm.poll_timeout().expect("timers");
        warm.handle_timeout(now);
        while warm.poll_output().is_some() {}
    }
    g.bench_function("1000_instances_one_simulated_second", |b| {
        b.iter_batched(
            || (warm.clone(), now),
            |(mut e, start)| {
                let end = Instant::from_micros(start.as_micros() + 1_000_000);
                let mut t = start;
                let mut sent = 0usize;
                while let Some(next) = e.poll_timeout().filter(|n| *n <= end) {
                    t = next.max(t);
                    e.handle_timeout(t);
                    while let Some(o) = e.poll_output() {
                        sent +=
                            matches!(o, keepalived_engine::vrrp::Output::Transmit { .. }) as usize;
                    }
                }
                assert!(sent >= 1000, "every master sends each second: {sent}");
                // Returned, so the engine is dropped outside the measurement.
                e
            },
            criterion::BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, one_advert, thousand_instances);
criterion_main!(benches);
