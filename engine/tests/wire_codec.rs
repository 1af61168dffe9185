//! The VRRP wire codec: golden bytes, round trips, and every receive check, each made to
//! fail on purpose.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use keepalived_engine::vrrp::receive::{
    Action, Check, Expect, ExpectAuth, Outcome, Peer, Reason, RxContext, Trace, Validator, Verdict,
};
use keepalived_engine::wire::advert::{AdvertRepr, EmitOptions, RxAdvert, V3Checksum};
use keepalived_engine::wire::ah::AhRepr;
use keepalived_engine::wire::vrrp::pass_auth_data;
use keepalived_engine::wire::{
    Family, GarpRepr, UnsolicitedNaRepr, VipList, VrrpBody, VrrpRepr, AH_LEN, MCAST_GROUP4,
    MCAST_GROUP6,
};
use proptest::prelude::*;

const SRC4: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 10);
const PEER4: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 11);
const SRC6: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0x10);
const KEY: [u8; 8] = *b"secret\0\0";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Variant {
    V2None,
    V2Pass,
    V2Ah,
    V3Ipv4,
    V3Ipv4AsV2,
    V3Ipv6,
}

const VARIANTS: [Variant; 6] = [
    Variant::V2None,
    Variant::V2Pass,
    Variant::V2Ah,
    Variant::V3Ipv4,
    Variant::V3Ipv4AsV2,
    Variant::V3Ipv6,
];

fn vips4(n: usize) -> Vec<Ipv4Addr> {
    (0..n)
        .map(|i| Ipv4Addr::new(10, 0, (i / 256) as u8, (i % 256) as u8))
        .collect()
}

fn vips6(n: usize) -> Vec<Ipv6Addr> {
    (0..n)
        .map(|i| Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 1, i as u16))
        .collect()
}

/// An advert of `variant` with `n` VIPs, and the options and expectations that go with it.
fn advert(variant: Variant, vrid: u8, priority: u8, n: usize) -> (AdvertRepr, EmitOptions, Expect) {
    let mut opts = EmitOptions::default();
    let (body, vips, src, dst, ah, auth, version) = match variant {
        Variant::V2None => (
            VrrpBody::V2 {
                auth_type: keepalived_engine::wire::AuthType::None,
                adver_int_secs: 1,
                auth_data: [0; 8],
            },
            VipList::V4(vips4(n)),
            IpAddr::V4(SRC4),
            IpAddr::V4(MCAST_GROUP4),
            None,
            ExpectAuth::None,
            2,
        ),
        Variant::V2Pass => (
            VrrpBody::V2 {
                auth_type: keepalived_engine::wire::AuthType::Pass,
                adver_int_secs: 1,
                auth_data: pass_auth_data("secret"),
            },
            VipList::V4(vips4(n)),
            IpAddr::V4(SRC4),
            IpAddr::V4(MCAST_GROUP4),
            None,
            ExpectAuth::Pass(pass_auth_data("secret")),
            2,
        ),
        Variant::V2Ah => {
            opts.ah_key = Some(KEY);
            (
                VrrpBody::V2 {
                    auth_type: keepalived_engine::wire::AuthType::Ah,
                    adver_int_secs: 1,
                    auth_data: [0; 8],
                },
                VipList::V4(vips4(n)),
                IpAddr::V4(SRC4),
                IpAddr::V4(MCAST_GROUP4),
                Some(AhRepr {
                    next_header: 112,
                    spi: u32::from(SRC4),
                    seq: 7,
                    icv: [0; 12],
                }),
                ExpectAuth::Ah(KEY),
                2,
            )
        }
        Variant::V3Ipv4 | Variant::V3Ipv4AsV2 => {
            if variant == Variant::V3Ipv4AsV2 {
                opts.v3_checksum = V3Checksum::AsV2;
            }
            (
                VrrpBody::V3 {
                    max_adver_int_cs: 100,
                },
                VipList::V4(vips4(n)),
                IpAddr::V4(SRC4),
                IpAddr::V4(MCAST_GROUP4),
                None,
                ExpectAuth::None,
                3,
            )
        }
        Variant::V3Ipv6 => (
            VrrpBody::V3 {
                max_adver_int_cs: 100,
            },
            VipList::V6(vips6(n)),
            IpAddr::V6(SRC6),
            IpAddr::V6(MCAST_GROUP6),
            None,
            ExpectAuth::None,
            3,
        ),
    };
    let vrrp = VrrpRepr {
        vrid,
        priority,
        body,
        vips,
    };
    let expect = Expect {
        family: vrrp.family(),
        version,
        vrid,
        auth,
        advert_int_us: 1_000_000,
        vips: vrrp.vips.iter().collect(),
        peers: vec![],
        check_unicast_src: false,
        v3_checksum: opts.v3_checksum,
        never_old_checksum: false,
        mcast_group4: MCAST_GROUP4,
        owner_ignore_adverts: false,
    };
    // IPv6 has no TOS or identification of ours: the kernel writes the header.
    let (tos, ident) = if src.is_ipv6() { (0, 0) } else { (0xc0, 1) };
    let repr = AdvertRepr {
        src,
        dst,
        ttl: 255,
        tos,
        ident,
        ah,
        vrrp,
    };
    (repr, opts, expect)
}

fn emit(repr: &AdvertRepr, opts: &EmitOptions) -> Vec<u8> {
    let mut buf = vec![0u8; repr.buffer_len()];
    repr.emit(&mut buf, opts);
    buf
}

fn rx<'a>(repr: &AdvertRepr, bytes: &'a [u8]) -> RxAdvert<'a> {
    match (repr.src, repr.dst) {
        (IpAddr::V6(src), IpAddr::V6(dst)) => RxAdvert::V6 {
            payload: bytes,
            src,
            dst,
            hop_limit: Some(repr.ttl),
        },
        _ => RxAdvert::V4 { datagram: bytes },
    }
}

const CX: RxContext = RxContext {
    effective_priority: 100,
    check_vips: true,
};

fn check(expect: &Expect, repr: &AdvertRepr, bytes: &[u8]) -> (Verdict, Trace) {
    let mut trace = Trace::default();
    let v = Validator::new(expect.clone()).check(&rx(repr, bytes), CX, &mut trace);
    (v, trace)
}

fn hex(b: &[u8]) -> String {
    b.chunks(16)
        .map(|c| {
            c.iter()
                .map(|x| format!("{x:02x}"))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn golden_bytes_for_each_variant() {
    for v in VARIANTS {
        let (repr, opts, _) = advert(v, 51, 100, 2);
        insta::assert_snapshot!(format!("{v:?}"), hex(&emit(&repr, &opts)));
    }
    let garp = GarpRepr {
        sender_mac: [0x00, 0x00, 0x5e, 0x00, 0x01, 51],
        addr: Ipv4Addr::new(10, 0, 0, 1),
    };
    let mut buf = vec![0; garp.buffer_len()];
    garp.emit(&mut buf);
    insta::assert_snapshot!("garp", hex(&buf));
    let na = UnsolicitedNaRepr {
        sender_mac: [0x00, 0x00, 0x5e, 0x00, 0x02, 51],
        target: SRC6,
        router: true,
    };
    let mut buf = vec![0; na.buffer_len()];
    na.emit(&mut buf);
    insta::assert_snapshot!("unsolicited_na", hex(&buf));
}

/// The v2 header bytes keepalived writes, checked field by field rather than by snapshot,
/// so a wrong golden file cannot hide a layout mistake.
#[test]
fn v2_pass_layout_matches_rfc3768() {
    let (repr, opts, _) = advert(Variant::V2Pass, 51, 150, 1);
    let b = emit(&repr, &opts);
    assert_eq!(b.len(), 20 + 8 + 4 + 8);
    assert_eq!(
        &b[..2],
        &[0x45, 0xc0],
        "IPv4, IHL 5, TOS internetwork control"
    );
    assert_eq!(b[8], 255, "TTL");
    assert_eq!(b[9], 112, "protocol VRRP");
    let v = &b[20..];
    assert_eq!(v[0], 0x21, "version 2, type 1");
    assert_eq!(
        &v[1..6],
        &[51, 150, 1, 1, 1],
        "vrid, priority, count, auth PASS, 1 s"
    );
    assert_eq!(&v[8..12], &[10, 0, 0, 0]);
    assert_eq!(&v[12..20], b"secret\0\0");
}

#[test]
fn every_variant_round_trips_and_validates() {
    for v in VARIANTS {
        let (repr, opts, expect) = advert(v, 7, 200, 3);
        let bytes = emit(&repr, &opts);
        let parsed = AdvertRepr::parse(&rx(&repr, &bytes)).unwrap();
        let mut want = repr.clone();
        if let (Some(a), Some(p)) = (&mut want.ah, &parsed.ah) {
            a.icv = p.icv;
        }
        assert_eq!(parsed, want, "{v:?}");
        let (verdict, trace) = check(&expect, &repr, &bytes);
        assert_eq!(
            verdict,
            Verdict::Accept { notes: vec![] },
            "{v:?}: {trace:?}"
        );
        assert!(
            trace
                .0
                .iter()
                .all(|(_, o)| matches!(o, Outcome::Pass | Outcome::Skip)),
            "{v:?}"
        );
    }
}

fn rejected(v: &Verdict) -> (Check, Action, Reason) {
    match v {
        Verdict::Reject {
            check,
            action,
            reason,
        } => {
            // Callers judge verdicts by is_accept() too: it must agree.
            assert!(!v.is_accept());
            (*check, *action, reason.clone())
        }
        Verdict::Accept { .. } => panic!("accepted"),
    }
}

#[test]
fn each_check_fails_with_its_reason_and_counter() {
    use keepalived_engine::vrrp::receive::Counter;
    let (repr, opts, expect) = advert(Variant::V2Pass, 7, 100, 1);
    let good = emit(&repr, &opts);

    // Too short for the headers: stop reading the batch.
    let (v, _) = check(&expect, &repr, &good[..24]);
    assert_eq!(rejected(&v).1, Action::StopBatch);

    // AH expected but absent.
    let mut e = expect.clone();
    e.auth = ExpectAuth::Ah(KEY);
    let (c, a, r) = rejected(&check(&e, &repr, &good).0);
    assert_eq!(
        (c, a, r.clone()),
        (Check::AhPresence, Action::Ko, Reason::MissingAh)
    );
    assert_eq!(r.counter(), Some(Counter::AuthtypeMismatch));

    // One byte extra that is not Ethernet padding (the packet is 40 bytes; padding would be
    // 2 or 6).
    let mut long = good.clone();
    long.push(0);
    let (c, _, r) = rejected(&check(&expect, &repr, &long).0);
    assert_eq!(
        (c, r.counter()),
        (Check::Length, Some(Counter::PacketLenErr))
    );
    // Two bytes of Ethernet padding are fine.
    long.push(0);
    assert!(check(&expect, &repr, &long).0.is_accept());

    // TTL 254 on multicast.
    let mut r2 = repr.clone();
    r2.ttl = 254;
    let (c, _, r) = rejected(&check(&expect, &r2, &emit(&r2, &opts)).0);
    assert_eq!((c, r), (Check::Ttl, Reason::Ttl { got: 254 }));

    // Version 3 configured.
    let mut e = expect.clone();
    e.version = 3;
    assert_eq!(rejected(&check(&e, &repr, &good).0).0, Check::Version);

    // Auth type 5 is no auth type.
    let mut bad = good.clone();
    bad[24] = 5;
    assert_eq!(
        rejected(&check(&expect, &repr, &bad).0).2,
        Reason::InvalidAuthType { got: 5 }
    );

    // Configured none, received PASS.
    let mut e = expect.clone();
    e.auth = ExpectAuth::None;
    assert_eq!(
        rejected(&check(&e, &repr, &good).0).2,
        Reason::AuthTypeMismatch {
            got: 1,
            expected: 0
        }
    );

    // Wrong password.
    let mut e = expect.clone();
    e.auth = ExpectAuth::Pass(pass_auth_data("other"));
    let (c, _, r) = rejected(&check(&e, &repr, &good).0);
    assert_eq!(
        (c, r.counter()),
        (Check::Password, Some(Counter::AuthFailure))
    );
    // Two bytes wrong by the same bits ("s" and "r", "e" and "d" differ in bit 0) do not
    // cancel out in the constant-time comparison.
    e.auth = ExpectAuth::Pass(pass_auth_data("rdcret"));
    assert_eq!(rejected(&check(&e, &repr, &good).0).2, Reason::Password);

    // v2 interval mismatch: dropped, not counted.
    let mut e = expect.clone();
    e.advert_int_us = 2_000_000;
    let (c, a, r) = rejected(&check(&e, &repr, &good).0);
    assert_eq!((c, a, r.counter()), (Check::IntervalV2, Action::Drop, None));

    // Type 2 (checksum fixed so only the type is wrong).
    let mut r2 = repr.clone();
    r2.vrrp.vrid = 7;
    let mut bad = emit(&r2, &opts);
    bad[20] = 0x22;
    let (c, _, r) = rejected(&check(&expect, &repr, &bad).0);
    assert_eq!(
        (c, r.counter()),
        (Check::Type, Some(Counter::InvalidTypeRcvd))
    );

    // IPv4 total length lies.
    let mut bad = good.clone();
    bad[3] += 4;
    assert_eq!(
        rejected(&check(&expect, &repr, &bad).0).0,
        Check::TotalLength
    );

    // Checksum.
    let mut bad = good.clone();
    bad[26] ^= 0xff;
    let (c, _, r) = rejected(&check(&expect, &repr, &bad).0);
    assert_eq!((c, r.counter()), (Check::Checksum, Some(Counter::ChkErr)));

    // Multicast advert to a unicast instance.
    let mut e = expect.clone();
    e.peers = vec![Peer {
        addr: IpAddr::V4(SRC4),
        min_ttl: 0,
        max_ttl: 255,
    }];
    assert_eq!(
        rejected(&check(&e, &repr, &good).0).2,
        Reason::ExpectedUnicast
    );

    // The owner ignores adverts.
    let mut e = expect.clone();
    e.owner_ignore_adverts = true;
    let v = Validator::new(e).check(
        &RxAdvert::V4 { datagram: &good },
        RxContext {
            effective_priority: 255,
            check_vips: true,
        },
        &mut (),
    );
    assert_eq!(rejected(&v).1, Action::Drop);

    // VIP mismatch is logged and accepted (keepalived ≥ 2.3).
    let mut e = expect.clone();
    e.vips = vec![IpAddr::V4(Ipv4Addr::new(10, 9, 9, 9))];
    let (v, trace) = check(&e, &repr, &good);
    assert_eq!(
        v,
        Verdict::Accept {
            notes: vec![Reason::VipMissing { addr: e.vips[0] }]
        }
    );
    assert!(trace.0.contains(&(
        Check::AddressList,
        Outcome::Note(Reason::VipMissing { addr: e.vips[0] })
    )));
    e.vips.push(e.vips[0]);
    assert_eq!(
        check(&e, &repr, &good).0,
        Verdict::Accept {
            notes: vec![Reason::AddrCount {
                got: 1,
                expected: 2
            }]
        }
    );

    // Priority 0 is counted and accepted.
    let mut r2 = repr.clone();
    r2.vrrp.priority = 0;
    let (v, _) = check(&expect, &r2, &emit(&r2, &opts));
    assert_eq!(
        v,
        Verdict::Accept {
            notes: vec![Reason::PriorityZero]
        }
    );
}

/// What `--decode-pcap` prints for each step, and for each reason: the label metrics
/// count it by, the counter keepalived bumps, the error type of the SNMP trap it sends
/// (RFC 2787 auth, RFC 6527 protocol) and the message it logs.
#[test]
fn each_check_and_reason_as_the_decoder_metrics_and_traps_show_it() {
    let v4 = Ipv4Addr::new(192, 0, 2, 1);
    let reasons = [
        Reason::TooShort { len: 24 },
        Reason::UnexpectedAh,
        Reason::MissingAh,
        Reason::Length {
            got: 41,
            expected: 40,
        },
        Reason::Length {
            got: 36,
            expected: 40,
        },
        Reason::Ttl { got: 254 },
        Reason::Version {
            got: 3,
            expected: 2,
        },
        Reason::InvalidAuthType { got: 5 },
        Reason::AuthTypeMismatch {
            got: 1,
            expected: 0,
        },
        Reason::Password,
        Reason::AhNextHeader { got: 6 },
        Reason::AhIcv,
        Reason::AhSpi { spi: 1, src: v4 },
        Reason::AhReplay { seq: 7, last: 7 },
        Reason::IntervalV2 {
            got_secs: 1,
            expected_secs: 2,
        },
        Reason::Type { got: 2 },
        Reason::TotalLength {
            got: 44,
            received: 40,
        },
        Reason::IntervalV3 {
            got_cs: 100,
            expected_cs: 200,
        },
        Reason::Checksum {
            got: 0x1234,
            expected: 0x4321,
        },
        Reason::OldUnicastChecksum,
        Reason::ExpectedUnicast,
        Reason::ExpectedMulticast,
        Reason::OwnerIgnore,
        Reason::AddrCount {
            got: 1,
            expected: 2,
        },
        Reason::VipMissing {
            addr: IpAddr::V4(v4),
        },
        Reason::NotAPeer {
            src: IpAddr::V4(v4),
        },
        Reason::PeerTtl {
            ttl: 64,
            min: 250,
            max: 255,
        },
        Reason::PriorityZero,
    ];
    let mut table = String::from("checks:\n");
    for c in Check::ALL {
        table += &format!("  {c:?}: {}\n", c.name());
    }
    table += "reasons (kind | counter | auth trap | protocol trap | message):\n";
    for r in &reasons {
        table += &format!(
            "  {} | {:?} | {:?} | {:?} | {r}\n",
            r.kind(),
            r.counter(),
            r.auth_error(),
            r.proto_error()
        );
    }
    insta::assert_snapshot!("receive_checks_and_reasons", table);
}

/// `vrrp_check_packet()`: a frame's padding (to Ethernet's 46-byte minimum payload, 4
/// bytes less per VLAN tag the kernel stripped) is allowed after a short packet only; any
/// other difference between the lengths the headers give and what arrived is refused.
#[test]
fn ethernet_padding_is_allowed_only_where_ethernet_adds_it() {
    let (repr, opts, expect) = advert(Variant::V2Pass, 7, 100, 1);
    let good = emit(&repr, &opts);
    assert_eq!(good.len(), 40);
    let padded = |n: usize| [good.clone(), vec![0; n]].concat();
    let outcome = |bytes: &[u8]| match check(&expect, &repr, bytes).0 {
        Verdict::Accept { notes } => Ok(notes),
        v => Err(rejected(&v)),
    };
    let length = |got, expected| Err((Check::Length, Action::Ko, Reason::Length { got, expected }));
    let total = |got, received| {
        Err((
            Check::TotalLength,
            Action::Ko,
            Reason::TotalLength { got, received },
        ))
    };
    // To 46 bytes (untagged) or 42 (one tag stripped): padding.
    assert_eq!(outcome(&padded(6)), Ok(vec![]));
    assert_eq!(outcome(&padded(2)), Ok(vec![]));
    // Lengths padding cannot give.
    assert_eq!(outcome(&padded(1)), length(41, 40));
    assert_eq!(outcome(&padded(4)), length(44, 40));
    // Past the minimum payload nothing is padding: the VRRP count allows it, the IPv4
    // total length does not.
    assert_eq!(outcome(&padded(10)), total(40, 50));
    // Shorter than the header's count of addresses.
    assert_eq!(outcome(&good[..36]), length(36, 40));
    // A packet of 46 bytes or more is never padded (3 addresses: 48 bytes).
    let (repr3, opts3, expect3) = advert(Variant::V2Pass, 7, 100, 3);
    let long = [emit(&repr3, &opts3), vec![0; 2]].concat();
    assert_eq!(
        rejected(&check(&expect3, &repr3, &long).0),
        (
            Check::Length,
            Action::Ko,
            Reason::Length {
                got: 50,
                expected: 48
            }
        )
    );
    // The IPv4 total length must be what arrived, less padding.
    let with_total = |bytes: &[u8], tot: u16| {
        let mut b = bytes.to_vec();
        b[2..4].copy_from_slice(&tot.to_be_bytes());
        b
    };
    assert_eq!(outcome(&with_total(&padded(2), 38)), total(38, 42));
    assert_eq!(outcome(&with_total(&padded(2), 44)), total(44, 42));
    assert_eq!(outcome(&with_total(&good, 36)), total(36, 40));
}

/// RFC 5798 §7.1: an IPv6 advert to the group must arrive with hop limit 255; one that
/// crossed a router is refused, and one whose hop limit the socket did not report is
/// not judged by it.
#[test]
fn an_ipv6_advert_needs_hop_limit_255() {
    let (repr, opts, expect) = advert(Variant::V3Ipv6, 7, 100, 1);
    let bytes = emit(&repr, &opts);
    let with_hop_limit = |hop_limit| {
        let mut trace = Trace::default();
        let v = Validator::new(expect.clone()).check(
            &RxAdvert::V6 {
                payload: &bytes,
                src: SRC6,
                dst: MCAST_GROUP6,
                hop_limit,
            },
            CX,
            &mut trace,
        );
        (v, trace)
    };
    assert!(with_hop_limit(Some(255)).0.is_accept());
    assert_eq!(
        rejected(&with_hop_limit(Some(254)).0),
        (Check::Ttl, Action::Ko, Reason::Ttl { got: 254 })
    );
    let (v, trace) = with_hop_limit(None);
    assert!(v.is_accept());
    assert!(trace.0.contains(&(Check::Ttl, Outcome::Skip)));
}

/// The advert interval: v2 drops an advert whose interval is not ours (RFC 3768 §7.1) and
/// says both in seconds; v3 only notes it, in centiseconds (RFC 5798 has no such check: a
/// backup takes the master's interval, §6.4.2).
#[test]
fn an_advert_interval_not_ours_is_dropped_in_v2_and_noted_in_v3() {
    let (repr, opts, mut expect) = advert(Variant::V2None, 7, 100, 1);
    expect.advert_int_us = 3_000_000;
    let (v, _) = check(&expect, &repr, &emit(&repr, &opts));
    assert_eq!(
        rejected(&v),
        (
            Check::IntervalV2,
            Action::Drop,
            Reason::IntervalV2 {
                got_secs: 1,
                expected_secs: 3
            }
        )
    );
    let (repr, opts, mut expect) = advert(Variant::V3Ipv4, 7, 100, 1);
    expect.advert_int_us = 2_500_000;
    let (v, trace) = check(&expect, &repr, &emit(&repr, &opts));
    let note = Reason::IntervalV3 {
        got_cs: 100,
        expected_cs: 250,
    };
    assert_eq!(
        v,
        Verdict::Accept {
            notes: vec![note.clone()]
        }
    );
    assert!(trace.0.contains(&(Check::IntervalV3, Outcome::Note(note))));
}

/// `owner_ignore_adverts` drops adverts only while the instance is the owner (effective
/// priority 255); an owner not told to ignore them takes them.
#[test]
fn the_owner_ignores_adverts_only_when_told_and_only_at_255() {
    let (repr, opts, expect) = advert(Variant::V2None, 7, 100, 1);
    let bytes = emit(&repr, &opts);
    let verdict = |ignore: bool, effective_priority: u8| {
        let mut e = expect.clone();
        e.owner_ignore_adverts = ignore;
        let cx = RxContext {
            effective_priority,
            check_vips: true,
        };
        Validator::new(e).check(&RxAdvert::V4 { datagram: &bytes }, cx, &mut ())
    };
    assert_eq!(
        rejected(&verdict(true, 255)),
        (Check::OwnerIgnore, Action::Drop, Reason::OwnerIgnore)
    );
    assert!(verdict(true, 254).is_accept());
    assert!(verdict(false, 255).is_accept());
}

/// A backup that need not compare addresses (`skip_check_adv_addr`, same master) takes an
/// advert whose addresses differ without a note; the count is compared all the same.
#[test]
fn without_the_address_check_other_addresses_pass_unnoted() {
    let (repr, opts, mut expect) = advert(Variant::V2None, 7, 100, 1);
    let bytes = emit(&repr, &opts);
    expect.vips = vec![IpAddr::V4(Ipv4Addr::new(10, 9, 9, 9))];
    let cx = RxContext {
        effective_priority: 100,
        check_vips: false,
    };
    let mut trace = Trace::default();
    let v =
        Validator::new(expect.clone()).check(&RxAdvert::V4 { datagram: &bytes }, cx, &mut trace);
    assert_eq!(v, Verdict::Accept { notes: vec![] });
    assert!(trace.0.contains(&(Check::AddressList, Outcome::Skip)));
    expect.vips.push(IpAddr::V4(Ipv4Addr::new(10, 9, 9, 8)));
    let v = Validator::new(expect).check(&RxAdvert::V4 { datagram: &bytes }, cx, &mut ());
    assert_eq!(
        v,
        Verdict::Accept {
            notes: vec![Reason::AddrCount {
                got: 1,
                expected: 2
            }]
        }
    );
}

#[test]
fn unicast_source_and_peer_ttl() {
    let (mut repr, opts, mut expect) = advert(Variant::V3Ipv4, 9, 100, 1);
    repr.dst = IpAddr::V4(PEER4);
    repr.ttl = 64;
    let bytes = emit(&repr, &opts);
    expect.peers = vec![Peer {
        addr: IpAddr::V4(Ipv4Addr::new(192, 168, 1, 99)),
        min_ttl: 0,
        max_ttl: 255,
    }];
    // Without the source check any unicast sender is accepted.
    assert!(check(&expect, &repr, &bytes).0.is_accept());
    expect.check_unicast_src = true;
    assert_eq!(
        rejected(&check(&expect, &repr, &bytes).0).2,
        Reason::NotAPeer {
            src: IpAddr::V4(SRC4)
        }
    );
    expect.peers.push(Peer {
        addr: IpAddr::V4(SRC4),
        min_ttl: 250,
        max_ttl: 255,
    });
    let (c, a, r) = rejected(&check(&expect, &repr, &bytes).0);
    assert_eq!(
        (c, a, r),
        (
            Check::PeerTtl,
            Action::Drop,
            Reason::PeerTtl {
                ttl: 64,
                min: 250,
                max: 255
            }
        )
    );
    expect.peers[1].min_ttl = 1;
    assert!(check(&expect, &repr, &bytes).0.is_accept());
    // Both ends of the range are in it.
    let ttl_range = |expect: &mut Expect, min_ttl, max_ttl| {
        (expect.peers[1].min_ttl, expect.peers[1].max_ttl) = (min_ttl, max_ttl);
        match check(expect, &repr, &bytes).0 {
            Verdict::Accept { .. } => None,
            v => Some(rejected(&v).2),
        }
    };
    assert_eq!(ttl_range(&mut expect, 64, 64), None);
    assert_eq!(
        ttl_range(&mut expect, 65, 255),
        Some(Reason::PeerTtl {
            ttl: 64,
            min: 65,
            max: 255
        })
    );
    assert_eq!(
        ttl_range(&mut expect, 0, 63),
        Some(Reason::PeerTtl {
            ttl: 64,
            min: 0,
            max: 63
        })
    );
}

#[test]
fn old_unicast_checksum_is_detected_and_then_used() {
    let (mut repr, mut opts, mut expect) = advert(Variant::V3Ipv4, 9, 100, 1);
    repr.dst = IpAddr::V4(PEER4);
    expect.peers = vec![Peer {
        addr: IpAddr::V4(SRC4),
        min_ttl: 0,
        max_ttl: 255,
    }];
    opts.v3_checksum = V3Checksum::OldUnicast;
    let old = emit(&repr, &opts);
    let mut val = Validator::new(expect.clone());
    let v = val.check(&RxAdvert::V4 { datagram: &old }, CX, &mut ());
    assert_eq!(
        v,
        Verdict::Accept {
            notes: vec![Reason::OldUnicastChecksum]
        }
    );
    assert_eq!(val.tx_v3_checksum(), V3Checksum::OldUnicast);
    // "never" refuses it.
    expect.never_old_checksum = true;
    let v = Validator::new(expect).check(&RxAdvert::V4 { datagram: &old }, CX, &mut ());
    assert_eq!(rejected(&v).0, Check::Checksum);
}

/// `old_unicast_checksum` (or `never`) and `v3_checksum_as_v2` choose the checksum an
/// instance expects and sends (`vrrp_csum_mcast()`); with neither it is RFC 5798's.
#[test]
fn the_checksum_rules_come_from_the_configuration() {
    let instance = |name: &str, vrid: u8, extra: &str| {
        format!(
            "vrrp_instance {name} {{\n interface eth0\n virtual_router_id {vrid}\n \
             priority 100\n version 3\n unicast_src_ip 192.168.1.10\n \
             unicast_peer {{\n 192.168.1.11\n }}\n{extra} virtual_ipaddress {{\n \
             10.0.0.{vrid}\n }}\n}}\n"
        )
    };
    let text = [
        instance("plain", 1, ""),
        instance("old", 2, " old_unicast_checksum\n"),
        instance("never", 3, " old_unicast_checksum never\n"),
        instance("as_v2", 4, " v3_checksum_as_v2\n"),
    ]
    .concat();
    let loaded = keepalived_engine::config::parse_str(&text, &Default::default());
    assert!(!loaded.diagnostics.has_errors(), "{:?}", loaded.diagnostics);
    let cfg = &loaded.config;
    let rules: Vec<_> = cfg
        .instances
        .iter()
        .map(|vi| {
            let expect = Expect::from_instance(vi, &cfg.global);
            let (rx, never) = (expect.v3_checksum, expect.never_old_checksum);
            (
                vi.name.as_str(),
                rx,
                never,
                Validator::new(expect).tx_v3_checksum(),
            )
        })
        .collect();
    use V3Checksum::{AsV2, OldUnicast, PseudoHeader};
    assert_eq!(
        rules,
        [
            ("plain", PseudoHeader, false, PseudoHeader),
            ("old", OldUnicast, false, OldUnicast),
            ("never", PseudoHeader, true, PseudoHeader),
            ("as_v2", AsV2, false, AsV2),
        ]
    );
}

#[test]
fn ah_icv_spi_and_replay() {
    let (mut repr, opts, expect) = advert(Variant::V2Ah, 3, 100, 1);
    let first = emit(&repr, &opts);
    let mut val = Validator::new(expect.clone());
    let rx1 = RxAdvert::V4 { datagram: &first };
    assert!(val.check(&rx1, CX, &mut ()).is_accept());
    // The same advert again is a replay.
    let (c, _, r) = rejected(&val.check(&rx1, CX, &mut ()));
    assert_eq!((c, r), (Check::AhIcv, Reason::AhReplay { seq: 7, last: 7 }));
    // A higher sequence passes.
    repr.ah.as_mut().unwrap().seq = 8;
    assert!(val
        .check(
            &RxAdvert::V4 {
                datagram: &emit(&repr, &opts)
            },
            CX,
            &mut ()
        )
        .is_accept());
    assert_eq!(val.highest_ah_seq(), Some(8));
    // The wrong key fails the ICV.
    let mut wrong = opts;
    wrong.ah_key = Some(*b"other\0\0\0");
    repr.ah.as_mut().unwrap().seq = 9;
    let (c, _, r) = rejected(&Validator::new(expect.clone()).check(
        &RxAdvert::V4 {
            datagram: &emit(&repr, &wrong),
        },
        CX,
        &mut (),
    ));
    assert_eq!((c, r), (Check::AhIcv, Reason::AhIcv));
    // An SPI that is not the source fails even with a good ICV.
    repr.ah.as_mut().unwrap().spi = 1;
    let (_, _, r) = rejected(&Validator::new(expect.clone()).check(
        &RxAdvert::V4 {
            datagram: &emit(&repr, &opts),
        },
        CX,
        &mut (),
    ));
    assert!(matches!(r, Reason::AhSpi { spi: 1, .. }));
    // The TTL is covered by the ICV for multicast, so a router that decremented it breaks it.
    repr.ah.as_mut().unwrap().spi = u32::from(SRC4);
    let mut b = emit(&repr, &opts);
    b[8] = 254;
    let mut e = expect.clone();
    e.peers = vec![];
    let v = Validator::new(e).check(&RxAdvert::V4 { datagram: &b }, CX, &mut ());
    assert_eq!(rejected(&v).0, Check::Ttl);
}

/// `vrrp_get_header()`: an AH advert must hold its IP header, the whole AH header and the
/// fixed VRRP header after it; one cut inside the VRRP header is refused.
#[test]
fn an_ah_advert_cut_inside_its_vrrp_header_is_refused() {
    let (repr, opts, _) = advert(Variant::V2Ah, 3, 100, 1);
    let whole = emit(&repr, &opts);
    let shortest = 20 + AH_LEN + 8;
    let at = RxAdvert::V4 {
        datagram: &whole[..shortest],
    }
    .locate()
    .expect("the IP, AH and fixed VRRP headers are all there");
    assert_eq!((at.ah, at.vrrp), (Some(20), 20 + AH_LEN));
    let cut = RxAdvert::V4 {
        datagram: &whole[..shortest - 1],
    };
    assert!(cut.locate().is_err());
}

#[test]
fn garp_and_na_parse_what_they_emit() {
    let g = GarpRepr {
        sender_mac: [2, 0, 0, 0, 0, 1],
        addr: Ipv4Addr::new(192, 0, 2, 1),
    };
    let mut b = vec![0; g.buffer_len()];
    g.emit(&mut b);
    assert_eq!(GarpRepr::parse(&b), Ok(g));
    assert_eq!(b.len(), 42);
    assert_eq!(&b[..6], &[0xff; 6]);

    let na = UnsolicitedNaRepr {
        sender_mac: [2, 0, 0, 0, 0, 1],
        target: SRC6,
        router: false,
    };
    let mut b = vec![0; na.buffer_len()];
    na.emit(&mut b);
    assert_eq!(UnsolicitedNaRepr::parse(&b), Ok(na));
    // A corrupted checksum is caught.
    b[14 + 40 + 2] ^= 1;
    assert!(UnsolicitedNaRepr::parse(&b).is_err());
}

fn variant() -> impl Strategy<Value = Variant> {
    prop::sample::select(VARIANTS.to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn emit_parse_round_trip(v in variant(), vrid in 1u8.., prio in any::<u8>(), n in 0usize..=255) {
        let (repr, opts, _) = advert(v, vrid, prio, n);
        let bytes = emit(&repr, &opts);
        prop_assert_eq!(bytes.len(), repr.buffer_len());
        let parsed = AdvertRepr::parse(&rx(&repr, &bytes)).unwrap();
        prop_assert_eq!(parsed.vrrp, repr.vrrp);
        prop_assert_eq!(parsed.src, repr.src);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600), v in variant()) {
        let (_, _, expect) = advert(v, 1, 100, 2);
        let mut val = Validator::new(expect);
        let _ = val.check(&RxAdvert::V4 { datagram: &bytes }, CX, &mut Trace::default());
        let _ = val.check(
            &RxAdvert::V6 { payload: &bytes, src: SRC6, dst: MCAST_GROUP6, hop_limit: None },
            CX,
            &mut (),
        );
        let _ = AdvertRepr::parse(&RxAdvert::V4 { datagram: &bytes });
        let _ = GarpRepr::parse(&bytes);
        let _ = UnsolicitedNaRepr::parse(&bytes);
    }

    /// RFC 1071: the Internet checksum catches every single-bit error; with AH the ICV
    /// catches it first.
    #[test]
    fn a_flipped_bit_fails_checksum_or_auth(v in variant(), n in 1usize..20, bit in any::<prop::sample::Index>()) {
        let (repr, opts, expect) = advert(v, 5, 100, n);
        let mut bytes = emit(&repr, &opts);
        // The VRRP packet, and for AH the AH header too; the IPv4 header has its own
        // checksum, which the kernel checks.
        let start = if repr.family() == Family::V6 { 0 } else { 20 };
        let i = start * 8 + bit.index((bytes.len() - start) * 8);
        bytes[i / 8] ^= 1 << (i % 8);
        let vrrp_at = start + if repr.ah.is_some() { 24 } else { 0 };
        let (verdict, _) = check(&expect, &repr, &bytes);
        let reason = rejected(&verdict).2;
        if repr.ah.is_some() {
            prop_assert!(matches!(reason, Reason::AhIcv | Reason::AhSpi { .. } | Reason::AhNextHeader { .. } | Reason::AhReplay { .. })
                || i / 8 >= vrrp_at, "{:?}", reason);
        }
        // Whatever check catches it first, the checksum over the VRRP packet fails too.
        let p = keepalived_engine::wire::VrrpPacket::new_unchecked(&bytes[vrrp_at..], repr.family());
        let pseudo = opts.v3_checksum.pseudo(repr.vrrp.version(), repr.src, repr.dst, MCAST_GROUP4);
        if i / 8 >= vrrp_at && p.check_len().is_ok() {
            prop_assert!(!p.verify_checksum(pseudo));
        }
    }
}
