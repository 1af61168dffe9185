//! Adverts, GARPs and NAs our codec emits, decoded by an independent implementation:
//! tshark must read the same field values and call every checksum good.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::process::Command;

use keepalived_engine::wire::ah::AhRepr;
use keepalived_engine::wire::vrrp::pass_auth_data;
use keepalived_engine::wire::{
    AdvertRepr, AuthType, EmitOptions, GarpRepr, UnsolicitedNaRepr, V3Checksum, VipList, VrrpBody,
    VrrpRepr, MCAST_GROUP4, MCAST_GROUP6,
};
use keepalived_tests::host::have;
use keepalived_tests::wire::{advert_frame, write_pcap};

const MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x0a];

struct Case {
    name: &'static str,
    advert: AdvertRepr,
    opts: EmitOptions,
    /// tshark's fields: version, vrid, prio, count, auth type or "", interval, addresses.
    want: [String; 7],
}

fn v4(vips: &[[u8; 4]]) -> VipList {
    VipList::V4(vips.iter().map(|o| Ipv4Addr::from(*o)).collect())
}

fn cases() -> Vec<Case> {
    let src = IpAddr::V4(Ipv4Addr::new(192, 168, 7, 2));
    let grp = IpAddr::V4(MCAST_GROUP4);
    let v2 = |auth_type, auth_data| VrrpBody::V2 {
        auth_type,
        adver_int_secs: 3,
        auth_data,
    };
    let mk = |vrid, prio, body, vips, ah| AdvertRepr {
        src,
        dst: grp,
        ttl: 255,
        tos: 0xc0,
        ident: 42,
        ah,
        vrrp: VrrpRepr {
            vrid,
            priority: prio,
            body,
            vips,
        },
    };
    let ah_opts = EmitOptions {
        ah_key: Some(pass_auth_data("k3y")),
        ..EmitOptions::default()
    };
    let s = |x: &str| x.to_string();
    let src6 = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 2);
    let v6_vips = vec![
        Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0x100),
        Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1),
    ];
    vec![
        Case {
            name: "v2 none",
            advert: mk(
                10,
                100,
                v2(AuthType::None, [0; 8]),
                v4(&[[10, 1, 0, 1]]),
                None,
            ),
            opts: EmitOptions::default(),
            want: [
                s("2"),
                s("10"),
                s("100"),
                s("1"),
                s("0"),
                s("3"),
                s("10.1.0.1"),
            ],
        },
        Case {
            name: "v2 PASS",
            advert: mk(
                11,
                150,
                v2(AuthType::Pass, pass_auth_data("p4ss")),
                v4(&[[10, 1, 0, 1], [10, 1, 0, 2]]),
                None,
            ),
            opts: EmitOptions::default(),
            want: [
                s("2"),
                s("11"),
                s("150"),
                s("2"),
                s("1"),
                s("3"),
                s("10.1.0.1,10.1.0.2"),
            ],
        },
        Case {
            name: "v2 AH",
            advert: mk(
                12,
                254,
                v2(AuthType::Ah, [0; 8]),
                v4(&[[10, 1, 0, 3]]),
                Some(AhRepr {
                    next_header: 112,
                    spi: u32::from(Ipv4Addr::new(192, 168, 7, 2)),
                    seq: 9,
                    icv: [0; 12],
                }),
            ),
            opts: ah_opts,
            want: [
                s("2"),
                s("12"),
                s("254"),
                s("1"),
                s("2"),
                s("3"),
                s("10.1.0.3"),
            ],
        },
        Case {
            name: "v3 IPv4",
            advert: mk(
                13,
                1,
                VrrpBody::V3 {
                    max_adver_int_cs: 75,
                },
                v4(&[[10, 1, 0, 4]]),
                None,
            ),
            opts: EmitOptions::default(),
            want: [
                s("3"),
                s("13"),
                s("1"),
                s("1"),
                s(""),
                s("75"),
                s("10.1.0.4"),
            ],
        },
        Case {
            name: "v3 IPv6",
            advert: AdvertRepr {
                src: IpAddr::V6(src6),
                dst: IpAddr::V6(MCAST_GROUP6),
                ttl: 255,
                tos: 0,
                ident: 0,
                ah: None,
                vrrp: VrrpRepr {
                    vrid: 14,
                    priority: 200,
                    body: VrrpBody::V3 {
                        max_adver_int_cs: 4095,
                    },
                    vips: VipList::V6(v6_vips),
                },
            },
            opts: EmitOptions::default(),
            want: [
                s("3"),
                s("14"),
                s("200"),
                s("2"),
                s(""),
                s("4095"),
                s("fe80::100,2001:db8::1"),
            ],
        },
    ]
}

fn tshark(pcap: &std::path::Path, prefs: &[&str], fields: &[&str]) -> Vec<Vec<String>> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-r").arg(pcap).args([
        "-T",
        "fields",
        "-E",
        "separator=|",
        "-E",
        "occurrence=a",
        "-E",
        "aggregator=,",
    ]);
    for p in prefs {
        cmd.args(["-o", p]);
    }
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().expect("run tshark");
    assert!(
        out.status.success(),
        "tshark: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split('|').map(str::to_string).collect())
        .collect()
}

const VRRP_FIELDS: [&str; 10] = [
    "vrrp.version",
    "vrrp.virt_rtr_id",
    "vrrp.prio",
    "vrrp.addr_count",
    "vrrp.auth_type",
    "vrrp.adver_int",
    "vrrp.short_adver_int",
    "vrrp.ip_addr",
    "vrrp.ipv6_addr",
    "vrrp.checksum.status",
];

/// Wireshark's checksum status: 1 means "good".
const GOOD: &str = "1";

fn check_rows(rows: &[Vec<String>], cases: &[&Case]) {
    assert_eq!(rows.len(), cases.len());
    for (row, case) in rows.iter().zip(cases) {
        let interval = if case.advert.vrrp.version() == 2 {
            &row[5]
        } else {
            &row[6]
        };
        let addrs = if row[7].is_empty() { &row[8] } else { &row[7] };
        let got = [&row[0], &row[1], &row[2], &row[3], &row[4], interval, addrs];
        let want: Vec<&String> = case.want.iter().collect();
        assert_eq!(got.to_vec(), want, "{}: tshark read {:?}", case.name, row);
        assert_eq!(
            row[9], GOOD,
            "{}: tshark says the checksum is not good: {row:?}",
            case.name
        );
    }
}

#[test]
fn tshark_reads_our_adverts_with_good_checksums() {
    if !have("tshark") {
        eprintln!("SKIP tshark_reads_our_adverts_with_good_checksums: tshark is not installed (scripts/test-all.sh installs it)");
        return;
    }
    let dir = tempdir();
    let cases = cases();
    let frames: Vec<Vec<u8>> = cases
        .iter()
        .map(|c| advert_frame(&c.advert, &c.opts, MAC))
        .collect();
    let pcap = dir.join("ours.pcap");
    write_pcap(&pcap, &frames);
    check_rows(
        &tshark(&pcap, &[], &VRRP_FIELDS),
        &cases.iter().collect::<Vec<_>>(),
    );

    // AH as tshark sees it, the password, and the IPv4 header checksum we fill in.
    let rows = tshark(
        &pcap,
        &["ip.check_checksum:TRUE"],
        &[
            "ah.spi",
            "ah.sequence",
            "ah.next_header",
            "vrrp.auth_string",
            "ip.checksum.status",
            "ip.dsfield",
            "ip.ttl",
        ],
    );
    assert_eq!(rows[1][3], "p4ss");
    assert_eq!(
        rows[2][..3],
        ["0xc0a80702".to_string(), "9".into(), "112".into()]
    );
    for r in &rows[..4] {
        assert_eq!(r[4], GOOD, "IPv4 header checksum: {r:?}");
        assert_eq!(r[5..], ["0xc0".to_string(), "255".into()]);
    }

    // v3 over IPv4 without the pseudo-header: tshark agrees only when told to compute it
    // that way, so the difference is real.
    let mut c = cases.into_iter().nth(3).unwrap();
    c.opts.v3_checksum = V3Checksum::AsV2;
    let pcap2 = dir.join("as_v2.pcap");
    write_pcap(&pcap2, &[advert_frame(&c.advert, &c.opts, MAC)]);
    check_rows(
        &tshark(&pcap2, &["vrrp.v3_checksum_as_in_v2:TRUE"], &VRRP_FIELDS),
        &[&c],
    );
    let rows = tshark(&pcap2, &[], &VRRP_FIELDS);
    assert_ne!(
        rows[0][9], GOOD,
        "a v3_checksum_as_v2 advert must not pass tshark's default check"
    );
}

#[test]
fn tshark_reads_our_garp_and_na() {
    if !have("tshark") {
        eprintln!("SKIP tshark_reads_our_garp_and_na: tshark is not installed (scripts/test-all.sh installs it)");
        return;
    }
    let dir = tempdir();
    let garp = GarpRepr {
        sender_mac: [0x00, 0x00, 0x5e, 0x00, 0x01, 0x33],
        addr: Ipv4Addr::new(10, 1, 0, 9),
    };
    let na = UnsolicitedNaRepr {
        sender_mac: [0x00, 0x00, 0x5e, 0x00, 0x02, 0x33],
        target: Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 9),
        router: true,
    };
    let mut g = vec![0; garp.buffer_len()];
    garp.emit(&mut g);
    let mut n = vec![0; na.buffer_len()];
    na.emit(&mut n);
    let pcap = dir.join("garp_na.pcap");
    write_pcap(&pcap, &[g, n]);
    let rows = tshark(
        &pcap,
        &[],
        &[
            "arp.opcode",
            "arp.isgratuitous",
            "arp.src.hw_mac",
            "arp.src.proto_ipv4",
            "arp.dst.hw_mac",
            "icmpv6.type",
            "icmpv6.nd.na.target_address",
            "icmpv6.nd.na.flag.r",
            "icmpv6.nd.na.flag.s",
            "icmpv6.nd.na.flag.o",
            "icmpv6.opt.linkaddr",
            "icmpv6.checksum.status",
            "ipv6.hlim",
            "ipv6.dst",
            "eth.dst",
        ],
    );
    let s = |x: &str| x.to_string();
    assert_eq!(
        rows[0][..5],
        [
            s("1"),
            s("1"),
            s("00:00:5e:00:01:33"),
            s("10.1.0.9"),
            s("ff:ff:ff:ff:ff:ff")
        ],
        "{rows:?}"
    );
    assert_eq!(
        rows[1][5..],
        [
            s("136"),
            s("2001:db8::9"),
            s("1"),
            s("0"),
            s("1"),
            s("00:00:5e:00:02:33"),
            s(GOOD),
            s("255"),
            s("ff02::1"),
            s("33:33:00:00:00:01")
        ],
        "{rows:?}"
    );
}

fn tempdir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!(
        "kars-tshark-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}
