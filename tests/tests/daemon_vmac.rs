//! `use_vmac` on a real host: each router makes a private macvlan `vrrp.VRID` with the
//! virtual MAC and keepalived's sysctls; the master holds the VIP on it, sends its
//! adverts and GARPs from the virtual MAC and answers ARP for the VIP with it, so after a
//! failover the clients' neighbour entries stay right. A clean stop deletes the VMAC and
//! puts every sysctl back; a restart replaces a VMAC a crash left behind.

use std::path::{Path, PathBuf};
use std::time::Duration;

use keepalived_tests::host::{can_run, tmp_dir, wait_for, Capture, Daemon, Pair};

const VIP: &str = "10.73.0.100";
const VMAC: &str = "vrrp.73";
/// 00:00:5e:00:01:VRID for VRID 73.
const MAC: &str = "00:00:5e:00:01:49";

fn conf(dir: &Path, name: &str, iface: &str, prio: u8) -> PathBuf {
    let p = dir.join(format!("{name}.conf"));
    std::fs::write(
        &p,
        format!(
            "vrrp_instance VI_1 {{\n  interface {iface}\n  use_vmac\n  virtual_router_id 73\n  \
             priority {prio}\n  advert_int 1\n  virtual_ipaddress {{\n    {VIP}/24\n  }}\n}}\n"
        ),
    )
    .unwrap();
    p
}

fn start(pair: &Pair, i: usize, dir: &Path, conf: &Path, run: usize) -> Daemon {
    Daemon::ours(&pair.ns[i], conf, dir, &format!("r{i}-{run}"), &[])
}

fn sysctl(pair: &Pair, i: usize, ifname: &str, key: &str) -> String {
    let out = pair.ns[i]
        .command("cat")
        .arg(format!("/proc/sys/net/ipv4/conf/{ifname}/{key}"))
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn set_sysctl(pair: &Pair, i: usize, ifname: &str, key: &str, v: &str) {
    let ok = pair.ns[i]
        .command("sh")
        .args([
            "-c",
            &format!("echo {v} > /proc/sys/net/ipv4/conf/{ifname}/{key}"),
        ])
        .status()
        .unwrap()
        .success();
    assert!(ok, "setting {ifname}/{key}");
}

fn link(pair: &Pair, i: usize, name: &str) -> Option<String> {
    let out = pair.ns[i]
        .command("ip")
        .args(["-d", "link", "show", "dev", name])
        .output()
        .unwrap();
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Whether namespace `i` holds the VIP on its VMAC.
fn vip_on_vmac(pair: &Pair, i: usize) -> bool {
    pair.ns[i].holds(VMAC, VIP)
}

#[test]
fn use_vmac_moves_the_vip_with_its_virtual_mac_and_cleans_up() {
    if !can_run(
        "use_vmac_moves_the_vip_with_its_virtual_mac_and_cleans_up",
        &["ip", "tcpdump", "ping"],
    ) {
        return;
    }
    let dir = tmp_dir("vmac");
    let pair = Pair::new("kvm", 73);
    // all.rp_filter on, as on many distributions: the VMAC's rp_filter 0 only counts if
    // all's is cleared, and the base must keep its effective value.
    for i in 0..2 {
        set_sysctl(&pair, i, "all", "rp_filter", "1");
    }
    let before: Vec<[String; 3]> = (0..2)
        .map(|i| {
            [
                sysctl(&pair, i, &pair.ifs[i], "arp_ignore"),
                sysctl(&pair, i, &pair.ifs[i], "arp_filter"),
                sysctl(&pair, i, &pair.ifs[i], "rp_filter"),
            ]
        })
        .collect();
    let cap = Capture::start(
        &pair.ns[1],
        &pair.ifs[1],
        "arp or ip proto 112",
        &dir.join("peer"),
    );
    let c = [
        conf(&dir, "r1", &pair.ifs[0], 200),
        conf(&dir, "r2", &pair.ifs[1], 100),
    ];
    let d1 = start(&pair, 0, &dir, &c[0], 0);
    let d2 = start(&pair, 1, &dir, &c[1], 0);
    assert!(
        wait_for(Duration::from_secs(8), || vip_on_vmac(&pair, 0)).is_some(),
        "router 1 holds the VIP on its VMAC"
    );
    std::thread::sleep(Duration::from_millis(1500));
    assert!(!vip_on_vmac(&pair, 1) && !pair.holds(0, VIP) && !pair.holds(1, VIP));

    // The VMACs: private macvlans on the base with the virtual MAC, on both routers.
    for i in 0..2 {
        let l = link(&pair, i, VMAC).unwrap_or_else(|| panic!("router {i} has {VMAC}"));
        assert!(l.contains(&format!("link/ether {MAC}")), "{l}");
        assert!(l.contains("macvlan mode private"), "{l}");
        assert!(l.contains(&format!("{VMAC}@{}", pair.ifs[i])), "{l}");
        assert_eq!(sysctl(&pair, i, VMAC, "arp_ignore"), "1");
        assert_eq!(sysctl(&pair, i, VMAC, "accept_local"), "1");
        assert_eq!(sysctl(&pair, i, VMAC, "rp_filter"), "0");
        assert_eq!(sysctl(&pair, i, &pair.ifs[i], "arp_ignore"), "1");
        assert_eq!(sysctl(&pair, i, &pair.ifs[i], "arp_filter"), "1");
        assert_eq!(sysctl(&pair, i, "all", "rp_filter"), "0");
        assert_eq!(
            sysctl(&pair, i, &pair.ifs[i], "rp_filter"),
            "1",
            "base keeps its effective rp_filter"
        );
    }
    // On the wire: adverts and GARPs from the virtual MAC.
    let text = cap.text();
    assert!(
        text.lines()
            .any(|l| l.contains(&format!("{MAC} > 01:00:5e:00:00:12")) && l.contains("VRRP")),
        "adverts from the virtual MAC: {text}"
    );
    assert!(
        cap.garps(VIP, 0.0).iter().any(|(_, m)| m == MAC),
        "GARP from the virtual MAC: {text}"
    );
    // ARP for the VIP is answered by the VMAC alone (arp_ignore on the base), with the
    // virtual MAC.
    pair.ns[1].ip(&["route", "add", &format!("{VIP}/32"), "dev", &pair.ifs[1]]);
    let ping = pair.ns[1]
        .command("ping")
        .args(["-c", "1", "-W", "2", VIP])
        .output()
        .unwrap();
    assert!(
        ping.status.success(),
        "{}",
        String::from_utf8_lossy(&ping.stdout)
    );
    let replied = || {
        cap.text()
            .lines()
            .filter_map(|l| l.split_once(&format!("Reply {VIP} is-at ")))
            .map(|(_, mac)| mac.split(',').next().unwrap_or("").to_string())
            .collect::<Vec<_>>()
    };
    assert!(
        wait_for(Duration::from_secs(2), || !replied().is_empty()).is_some(),
        "an ARP reply for the VIP: {}",
        cap.text()
    );
    assert!(
        replied().iter().all(|m| m == MAC),
        "ARP replies for the VIP: {:?}",
        replied()
    );

    // A crash of router 1: router 2 takes the VIP onto its own VMAC, same MAC.
    d1.crash();
    let _ = pair.ns[0]
        .command("ip")
        .args(["addr", "del", &format!("{VIP}/24"), "dev", VMAC])
        .output();
    assert!(
        wait_for(Duration::from_secs(6), || vip_on_vmac(&pair, 1)).is_some(),
        "router 2 takes over on its VMAC"
    );
    assert!(link(&pair, 0, VMAC).is_some(), "the crash left the VMAC");

    // Router 1 back: its VMAC from before the crash is replaced, and it preempts.
    let d1 = start(&pair, 0, &dir, &c[0], 1);
    assert!(
        wait_for(Duration::from_secs(8), || vip_on_vmac(&pair, 0)
            && !vip_on_vmac(&pair, 1))
        .is_some(),
        "router 1 preempts"
    );
    assert!(
        d1.log_text()
            .contains("replacing the macvlan left by an earlier run"),
        "{}",
        d1.log_text()
    );

    // A clean stop deletes the VMAC and restores every sysctl it changed.
    d2.stop();
    assert!(link(&pair, 1, VMAC).is_none(), "VMAC removed on stop");
    assert_eq!(sysctl(&pair, 1, "all", "rp_filter"), "1");
    assert_eq!(
        [
            sysctl(&pair, 1, &pair.ifs[1], "arp_ignore"),
            sysctl(&pair, 1, &pair.ifs[1], "arp_filter"),
            sysctl(&pair, 1, &pair.ifs[1], "rp_filter"),
        ],
        before[1],
        "base interface settings restored"
    );
    d1.stop();
    assert!(link(&pair, 0, VMAC).is_none());
    let _ = std::fs::remove_dir_all(&dir);
}

fn link_local(pair: &Pair, i: usize, dev: &str) -> Option<String> {
    let out = pair.ns[i]
        .command("ip")
        .args(["-6", "-br", "addr", "show", "dev", dev, "scope", "link"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .find(|w| w.starts_with("fe80:"))
        .map(|w| w.split('/').next().unwrap_or("").to_string())
}

#[test]
fn use_vmac_over_ipv6_sends_from_the_virtual_mac_with_the_base_link_local() {
    if !can_run(
        "use_vmac_over_ipv6_sends_from_the_virtual_mac_with_the_base_link_local",
        &["ip", "tcpdump"],
    ) {
        return;
    }
    const VIP6: &str = "fd76::100";
    const VMAC6: &str = "vrrp.76";
    const MAC6: &str = "00:00:5e:00:02:4c";
    let dir = tmp_dir("vmac6");
    let pair = Pair::new("kv6", 76);
    let cap = Capture::start(
        &pair.ns[1],
        &pair.ifs[1],
        "ip6 proto 112",
        &dir.join("peer6"),
    );
    let confs: Vec<PathBuf> = [(0, 200), (1, 100)]
        .iter()
        .map(|&(i, prio)| {
            let p = dir.join(format!("r{i}.conf"));
            std::fs::write(
                &p,
                format!(
                    "vrrp_instance VI_6 {{\n  interface {}\n  use_vmac\n  virtual_router_id 76\n  \
                     priority {prio}\n  advert_int 1\n  virtual_ipaddress {{\n    {VIP6}/64\n  }}\n}}\n",
                    pair.ifs[i]
                ),
            )
            .unwrap();
            p
        })
        .collect();
    let d1 = start(&pair, 0, &dir, &confs[0], 0);
    let _d2 = start(&pair, 1, &dir, &confs[1], 0);
    assert!(
        wait_for(Duration::from_secs(8), || pair.ns[0].holds(VMAC6, VIP6)).is_some(),
        "router 1 holds the IPv6 VIP on its VMAC: {}",
        d1.log_text()
    );
    for i in 0..2 {
        let l = link(&pair, i, VMAC6).unwrap_or_else(|| panic!("router {i} has {VMAC6}"));
        assert!(l.contains(&format!("link/ether {MAC6}")), "{l}");
        // The base's link-local, not one derived from the shared virtual MAC.
        assert_eq!(
            link_local(&pair, i, VMAC6),
            link_local(&pair, i, &pair.ifs[i]),
            "router {i}: the VMAC carries the base's link-local address"
        );
    }
    assert!(!pair.ns[1].holds(VMAC6, VIP6));
    assert!(
        wait_for(Duration::from_secs(3), || cap
            .text()
            .lines()
            .any(|l| l.contains(&format!("{MAC6} > 33:33:00:00:00:12"))))
        .is_some(),
        "IPv6 adverts from the virtual MAC: {}",
        cap.text()
    );
    let base_ll = link_local(&pair, 0, &pair.ifs[0]).unwrap();
    assert!(
        cap.text().contains(&format!("{base_ll} > ff02::12")),
        "adverts from the base's link-local: {}",
        cap.text()
    );
    d1.crash();
    let _ = pair.ns[0]
        .command("ip")
        .args(["link", "del", VMAC6])
        .output();
    assert!(
        wait_for(Duration::from_secs(6), || pair.ns[1].holds(VMAC6, VIP6)).is_some(),
        "router 2 takes the IPv6 VIP onto its VMAC"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
