//! The advert hot path: receive checks on a v2 PASS advert with 1 VIP and a v3 advert with
//! 20 VIPs, and emitting each. Targets (issue 3): 1-VIP parse+validate and emit < 100 ns.
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};

use criterion::{criterion_group, criterion_main, Criterion};
use keepalived_engine::vrrp::receive::{Expect, ExpectAuth, RxContext, Validator};
use keepalived_engine::wire::advert::{AdvertRepr, EmitOptions, RxAdvert, V3Checksum};
use keepalived_engine::wire::vrrp::pass_auth_data;
use keepalived_engine::wire::{AuthType, Family, VipList, VrrpBody, VrrpRepr, MCAST_GROUP4};

fn advert(v3: bool, n: usize) -> (AdvertRepr, Expect) {
    let vips: Vec<Ipv4Addr> = (0..n)
        .map(|i| Ipv4Addr::new(10, 0, 0, i as u8 + 1))
        .collect();
    let body = if v3 {
        VrrpBody::V3 {
            max_adver_int_cs: 100,
        }
    } else {
        VrrpBody::V2 {
            auth_type: AuthType::Pass,
            adver_int_secs: 1,
            auth_data: pass_auth_data("secret"),
        }
    };
    let a = AdvertRepr {
        src: IpAddr::V4(Ipv4Addr::new(192, 168, 0, 2)),
        dst: IpAddr::V4(MCAST_GROUP4),
        ttl: 255,
        tos: 0xc0,
        ident: 1,
        ah: None,
        vrrp: VrrpRepr {
            vrid: 51,
            priority: 100,
            body,
            vips: VipList::V4(vips.clone()),
        },
    };
    let e = Expect {
        family: Family::V4,
        version: if v3 { 3 } else { 2 },
        vrid: 51,
        auth: if v3 {
            ExpectAuth::None
        } else {
            ExpectAuth::Pass(pass_auth_data("secret"))
        },
        advert_int_us: 1_000_000,
        vips: vips.into_iter().map(IpAddr::V4).collect(),
        peers: vec![],
        check_unicast_src: false,
        v3_checksum: V3Checksum::PseudoHeader,
        never_old_checksum: false,
        mcast_group4: MCAST_GROUP4,
        owner_ignore_adverts: false,
    };
    (a, e)
}

fn wire(c: &mut Criterion) {
    let cx = RxContext {
        effective_priority: 100,
        check_vips: true,
    };
    let mut g = c.benchmark_group("wire");
    for (name, v3, n) in [("v2_pass_1vip", false, 1), ("v3_20vips", true, 20)] {
        let (a, e) = advert(v3, n);
        let opts = EmitOptions::default();
        let mut bytes = vec![0u8; a.buffer_len()];
        a.emit(&mut bytes, &opts);
        let mut val = Validator::new(e);
        g.bench_function(format!("parse_validate_{name}"), |b| {
            b.iter(|| {
                let v = val.check(
                    &RxAdvert::V4 {
                        datagram: black_box(&bytes),
                    },
                    cx,
                    &mut (),
                );
                assert!(v.is_accept());
                v
            })
        });
        g.bench_function(format!("parse_repr_{name}"), |b| {
            b.iter(|| {
                AdvertRepr::parse(&RxAdvert::V4 {
                    datagram: black_box(&bytes),
                })
            })
        });
        let mut out = vec![0u8; a.buffer_len()];
        g.bench_function(format!("emit_{name}"), |b| {
            b.iter(|| {
                black_box(&a).emit(&mut out, &opts);
                out[27]
            })
        });
    }
    g.finish();
}

criterion_group!(benches, wire);
criterion_main!(benches);
