//! `keepalived-rs --decode-pcap` as a user runs it: a capture and a config in, each
//! advert and each instance's checks out.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use keepalived_engine::wire::vrrp::pass_auth_data;
use keepalived_engine::wire::{
    AdvertRepr, AuthType, EmitOptions, VipList, VrrpBody, VrrpRepr, MCAST_GROUP4,
};
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use pcap_file::DataLink;

fn dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("kars-decode-cli-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Two VRRPv2 PASS adverts, as IP packets in a raw-IP capture.
fn capture(path: &Path) {
    let header = PcapHeader {
        datalink: DataLink::RAW,
        ..PcapHeader::default()
    };
    let mut w = PcapWriter::with_header(std::fs::File::create(path).unwrap(), header).unwrap();
    for (i, prio) in [(0u64, 120u8), (1, 0)] {
        let a = AdvertRepr {
            src: IpAddr::V4(Ipv4Addr::new(10, 7, 0, 2)),
            dst: IpAddr::V4(MCAST_GROUP4),
            ttl: 255,
            tos: 0xc0,
            ident: i as u16 + 1,
            ah: None,
            vrrp: VrrpRepr {
                vrid: 42,
                priority: prio,
                body: VrrpBody::V2 {
                    auth_type: AuthType::Pass,
                    adver_int_secs: 1,
                    auth_data: pass_auth_data("s3cret"),
                },
                vips: VipList::V4(vec![Ipv4Addr::new(10, 7, 0, 100)]),
            },
        };
        let mut b = vec![0; a.buffer_len()];
        a.emit(&mut b, &EmitOptions::default());
        w.write_packet(&PcapPacket::new(
            Duration::from_secs(100 + i),
            b.len() as u32,
            &b,
        ))
        .unwrap();
    }
}

fn config(path: &Path, password: &str) {
    std::fs::write(
        path,
        format!(
            "vrrp_instance VI_7 {{\n  interface eth0\n  virtual_router_id 42\n  priority 100\n  advert_int 1\n  \
             authentication {{\n    auth_type PASS\n    auth_pass {password}\n  }}\n  \
             virtual_ipaddress {{\n    10.7.0.100/24\n  }}\n}}\n"
        ),
    )
    .unwrap();
}

fn decode(args: &[&std::ffi::OsStr]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_keepalived-rs"))
        .arg("--decode-pcap")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn decode_pcap_shows_each_check_and_verdict() {
    let d = dir();
    let pcap = d.join("adverts.pcap");
    let conf = d.join("keepalived.conf");
    capture(&pcap);

    config(&conf, "s3cret");
    let (code, out) = decode(&[pcap.as_os_str(), "-f".as_ref(), conf.as_os_str()]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("#1 0.000000 10.7.0.2 -> 224.0.0.18 ttl 255 VRRPv2 vrid 42 prio 120 auth PASS \"s3cret\""), "{out}");
    assert!(out.contains("#2 1.000000"), "{out}");
    assert_eq!(out.matches("=> ACCEPTED").count(), 2, "{out}");
    assert!(out.contains("ok    password"), "{out}");
    assert!(out.contains("note  priority (0: master leaving)"), "{out}");

    config(&conf, "wrong");
    let (_, out) = decode(&[pcap.as_os_str(), "-f".as_ref(), conf.as_os_str()]);
    assert_eq!(
        out.matches("FAIL  password: invalid password [AuthFailure] -> advert refused")
            .count(),
        2,
        "{out}"
    );
    assert_eq!(
        out.matches("=> IGNORED at \"password\"").count(),
        2,
        "{out}"
    );

    let (_, json) = decode(&[
        pcap.as_os_str(),
        "--json".as_ref(),
        "-f".as_ref(),
        conf.as_os_str(),
    ]);
    assert!(
        json.trim_start().starts_with('[') && json.contains("\"Reject\""),
        "{json}"
    );

    // Without a config: decoded, no verdicts.
    let (code, out) = decode(&[pcap.as_os_str()]);
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 2, "{out}");
}

#[test]
fn decode_pcap_reports_unreadable_capture() {
    let d = dir();
    let not_pcap = d.join("not.pcap");
    std::fs::write(&not_pcap, b"hello world, not a capture").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_keepalived-rs"))
        .arg("--decode-pcap")
        .arg(&not_pcap)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a pcap or pcapng capture"));
    let out = Command::new(env!("CARGO_BIN_EXE_keepalived-rs"))
        .arg("--decode-pcap")
        .arg(d.join("missing.pcap"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
}
