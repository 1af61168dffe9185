//! keepalived-rs as a real daemon in network namespaces: election, kill -9 failover,
//! SIGTERM takeover in skew time, preemption, and a mixed cluster with keepalived 2.2.7.

use std::path::{Path, PathBuf};
use std::time::Duration;

use keepalived_tests::host::{
    can_run, in_netns, keepalived_rs, ms_down, skew, tmp_dir, wait_for, Daemon, Pair, MARGIN,
};

const VIP: &str = "10.60.0.100";

const PASS: &str = "authentication {\n    auth_type PASS\n    auth_pass s3cret\n  }";

fn conf(dir: &Path, name: &str, iface: &str, prio: u8, extra: &str) -> PathBuf {
    conf_body(dir, name, iface, prio, &format!("{extra}\n  {PASS}"))
}

/// An instance on `iface` for VRID 61 and the test VIP, with `body` lines added.
fn conf_body(dir: &Path, name: &str, iface: &str, prio: u8, body: &str) -> PathBuf {
    let p = dir.join(format!("{name}.conf"));
    std::fs::write(
        &p,
        format!(
            "vrrp_instance VI_1 {{\n  interface {iface}\n  virtual_router_id 61\n  priority {prio}\n  advert_int 1\n  {body}\n  \
             virtual_ipaddress {{\n    {VIP}/24\n  }}\n}}\n"
        ),
    )
    .unwrap();
    p
}

fn ours(pair: &Pair, i: usize, dir: &Path, conf: &Path) -> Daemon {
    Daemon::ours(&pair.ns[i], conf, dir, &format!("ours{i}"), &["-P"])
}

fn theirs(pair: &Pair, i: usize, dir: &Path, conf: &Path) -> Daemon {
    // Fresh pidfiles per start: keepalived refuses to start while its old VRRP child (which
    // outlives a kill -9 of the parent for a moment) still owns them.
    static STARTS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = STARTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let (p, r) = (
        dir.join(format!("kp{i}-{n}")),
        dir.join(format!("kr{i}-{n}")),
    );
    let args = [
        "-n",
        "-l",
        "-D",
        "-P",
        "-f",
        conf.to_str().unwrap(),
        "-p",
        p.to_str().unwrap(),
        "-r",
        r.to_str().unwrap(),
    ];
    Daemon::start(
        &pair.ns[i],
        Path::new("keepalived"),
        &args,
        dir.join(format!("keepalived{i}-{n}.log")),
    )
}

#[test]
fn two_routers_elect_fail_over_and_preempt() {
    if !can_run("two_routers_elect_fail_over_and_preempt", &["ip"]) {
        return;
    }
    let dir = tmp_dir("daemon");
    let pair = Pair::new("kd", 61);
    let c1 = conf(&dir, "r1", &pair.ifs[0], 100, "");
    let c2 = conf(&dir, "r2", &pair.ifs[1], 200, "");
    let _d1 = ours(&pair, 0, &dir, &c1);
    let d2 = ours(&pair, 1, &dir, &c2);
    let only = |i: usize| pair.holds(i, VIP) && !pair.holds(1 - i, VIP);
    assert!(
        wait_for(Duration::from_secs(10), || only(1)).is_some(),
        "r2 never became the only holder"
    );
    std::thread::sleep(Duration::from_secs(2));
    assert!(only(1), "the VIP must stay on r2 alone");

    // kill -9: no priority 0; r1 takes over within its master-down interval. The dead
    // router's address goes with it, as when a host dies.
    d2.crash();
    drop(d2);
    pair.drop_address(1, VIP);
    let took = wait_for(Duration::from_secs(8), || only(0)).expect("r1 takes over after kill -9");
    assert!(
        took <= ms_down(100) + MARGIN,
        "kill -9 failover took {took:?}"
    );

    // r2 returns and preempts.
    let d2 = ours(&pair, 1, &dir, &c2);
    assert!(
        wait_for(Duration::from_secs(8), || only(1)).is_some(),
        "r2 preempts on return"
    );

    // SIGTERM: priority 0, so r1 takes over after its skew time.
    std::thread::sleep(Duration::from_millis(1500));
    d2.signal(libc::SIGTERM);
    let took = wait_for(Duration::from_secs(5), || only(0)).expect("r1 takes over after SIGTERM");
    assert!(took <= skew(100) + MARGIN, "SIGTERM takeover took {took:?}");
    let log = std::fs::read_to_string(&d2.log).unwrap();
    assert!(log.contains("SIGTERM received"), "{log}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A keepalived-rs router and a keepalived 2.2.7 router with the same instance (`body`
/// gives the variant's lines for router `me` = 1 or 2): failover and preemption in both
/// directions, a single master at the end.
fn mixed_cluster(test: &str, prefix: &str, net: u8, body: fn(net: u8, me: u8) -> String) {
    if !can_run(test, &["ip", "keepalived"]) {
        return;
    }
    let dir = tmp_dir(prefix);
    let pair = Pair::new(prefix, net);
    let conf = |dir: &Path, name: &str, iface: &str, prio: u8, _: &str| {
        let me = if iface == pair.ifs[0] { 1 } else { 2 };
        conf_body(dir, name, iface, prio, &body(net, me))
    };
    let only = |i: usize| pair.holds(i, VIP) && !pair.holds(1 - i, VIP);
    // keepalived higher, we lower: keepalived masters; it stops, we take over; it returns
    // and preempts us.
    let ka_conf = conf(&dir, "ka", &pair.ifs[1], 200, "");
    let our_conf = conf(&dir, "ours", &pair.ifs[0], 100, "");
    let _o = ours(&pair, 0, &dir, &our_conf);
    let k = theirs(&pair, 1, &dir, &ka_conf);
    assert!(
        wait_for(Duration::from_secs(10), || only(1)).is_some(),
        "keepalived should be master"
    );
    k.crash();
    drop(k);
    pair.drop_address(1, VIP);
    assert!(
        wait_for(ms_down(100) + MARGIN + Duration::from_millis(300), || only(
            0
        ))
        .is_some(),
        "we take over from keepalived"
    );
    let _k = theirs(&pair, 1, &dir, &ka_conf);
    assert!(
        wait_for(Duration::from_secs(8), || only(1)).is_some(),
        "keepalived preempts us"
    );
    drop(_k);
    drop(_o);
    std::thread::sleep(Duration::from_millis(500));

    // We higher, keepalived lower: we master; killed, keepalived takes over; back, we
    // preempt it.
    let our_conf = conf(&dir, "ours_hi", &pair.ifs[0], 200, "");
    let ka_conf = conf(&dir, "ka_lo", &pair.ifs[1], 100, "");
    let _k = theirs(&pair, 1, &dir, &ka_conf);
    let o = ours(&pair, 0, &dir, &our_conf);
    assert!(
        wait_for(Duration::from_secs(10), || only(0)).is_some(),
        "we should be master"
    );
    o.crash();
    drop(o);
    pair.drop_address(0, VIP);
    assert!(
        wait_for(Duration::from_secs(6), || only(1)).is_some(),
        "keepalived takes over from us"
    );
    let _o = ours(&pair, 0, &dir, &our_conf);
    assert!(
        wait_for(Duration::from_secs(8), || only(0)).is_some(),
        "we preempt keepalived"
    );
    std::thread::sleep(Duration::from_secs(2));
    assert!(only(0), "a single master at the end");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn mixed_cluster_v2_pass() {
    mixed_cluster("mixed_cluster_v2_pass", "kmp", 62, |_, _| PASS.to_string());
}

#[test]
fn mixed_cluster_v2_ah() {
    mixed_cluster("mixed_cluster_v2_ah", "kma", 65, |_, _| {
        "authentication {\n    auth_type AH\n    auth_pass s3cret\n  }".to_string()
    });
}

#[test]
fn mixed_cluster_v3_ipv4() {
    mixed_cluster("mixed_cluster_v3_ipv4", "kmv", 66, |_, _| {
        "version 3".to_string()
    });
}

#[test]
fn mixed_cluster_unicast() {
    mixed_cluster("mixed_cluster_unicast", "kmu", 67, |net, me| {
        format!(
            "unicast_src_ip 192.168.{net}.{me}\n  unicast_peer {{\n    192.168.{net}.{}\n  }}",
            3 - me
        )
    });
}

// VRRPv3 over IPv6 against keepalived: raw IPv6 sockets with kernel checksums, hop limit
// and destination from control messages; failover and preemption both ways.
#[test]
fn mixed_cluster_v3_ipv6() {
    if !can_run("mixed_cluster_v3_ipv6", &["ip", "keepalived"]) {
        return;
    }
    const VIP6: &str = "2001:db8:68::100";
    let dir = tmp_dir("kmsix");
    let pair = Pair::new("km6", 68);
    let only = |i: usize| pair.holds(i, VIP6) && !pair.holds(1 - i, VIP6);
    let conf6 = |name: &str, i: usize, prio: u8| {
        let p = dir.join(format!("{name}.conf"));
        std::fs::write(
            &p,
            format!(
                "vrrp_instance VI_6 {{\n  interface {}\n  virtual_router_id 68\n  priority {prio}\n  advert_int 1\n  \
                 virtual_ipaddress {{\n    fe80::68/64\n    {VIP6}/64\n  }}\n}}\n",
                pair.ifs[i]
            ),
        )
        .unwrap();
        p
    };
    let o = ours(&pair, 0, &dir, &conf6("ours_lo", 0, 100));
    let k = theirs(&pair, 1, &dir, &conf6("ka_hi", 1, 200));
    assert!(
        wait_for(Duration::from_secs(10), || only(1)).is_some(),
        "keepalived should be master"
    );
    let theirs_flags = pair.ns[1].address_flags(&pair.ifs[1], VIP6);
    assert!(
        theirs_flags.iter().any(|f| f == "nodad"),
        "keepalived adds an IPv6 VIP with IFA_F_NODAD: {theirs_flags:?}"
    );
    k.stop();
    assert!(
        wait_for(Duration::from_secs(5), || only(0)).is_some(),
        "we take over from keepalived"
    );
    assert_eq!(
        pair.ns[0].address_flags(&pair.ifs[0], VIP6),
        theirs_flags,
        "our IPv6 VIP carries keepalived's flags"
    );
    let k = theirs(&pair, 1, &dir, &conf6("ka_hi", 1, 200));
    assert!(
        wait_for(Duration::from_secs(8), || only(1)).is_some(),
        "keepalived preempts us"
    );
    k.stop();
    o.stop();

    let k = theirs(&pair, 1, &dir, &conf6("ka_lo", 1, 100));
    let o = ours(&pair, 0, &dir, &conf6("ours_hi", 0, 200));
    assert!(
        wait_for(Duration::from_secs(10), || only(0)).is_some(),
        "we should be master"
    );
    o.stop();
    assert!(
        wait_for(Duration::from_secs(5), || only(1)).is_some(),
        "keepalived takes over from us"
    );
    let _o = ours(&pair, 0, &dir, &conf6("ours_hi", 0, 200));
    assert!(
        wait_for(Duration::from_secs(8), || only(0)).is_some(),
        "we preempt keepalived"
    );
    std::thread::sleep(Duration::from_secs(2));
    assert!(only(0), "a single master at the end");
    drop(k);
    let _ = std::fs::remove_dir_all(&dir);
}

// SIGHUP through the engine's diff: an unchanged instance keeps its VIP the whole time,
// with the config unchanged and with an unrelated instance added; a netlink monitor sees
// no deletion.
#[test]
fn sighup_never_removes_a_vip_even_briefly() {
    if !can_run("sighup_never_removes_a_vip_even_briefly", &["ip"]) {
        return;
    }
    let dir = tmp_dir("reload");
    let pair = Pair::new("kh", 63);
    let c = conf(&dir, "r", &pair.ifs[0], 255, "state MASTER");
    let d = ours(&pair, 0, &dir, &c);
    assert!(
        wait_for(Duration::from_secs(5), || pair.holds(0, VIP)).is_some(),
        "owner takes the VIP"
    );
    let monitor_log = dir.join("monitor.log");
    let mut monitor = std::process::Command::new("ip")
        .args(["-n", &pair.ns[0].name, "monitor", "address"])
        .stdout(std::fs::File::create(&monitor_log).unwrap())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    d.signal(libc::SIGHUP);
    std::thread::sleep(Duration::from_millis(700));
    let mut text = std::fs::read_to_string(&c).unwrap();
    text.push_str(&format!(
        "vrrp_instance VI_2 {{\n  interface {}\n  virtual_router_id 62\n  priority 100\n  advert_int 1\n  \
         virtual_ipaddress {{\n    10.60.1.100/24\n  }}\n}}\n",
        pair.ifs[0]
    ));
    std::fs::write(&c, text).unwrap();
    d.signal(libc::SIGHUP);
    // VI_2 comes up as a new instance and takes its own VIP after its master-down wait.
    assert!(
        wait_for(Duration::from_secs(6), || pair.holds(0, "10.60.1.100")).is_some(),
        "the added instance starts"
    );
    let _ = monitor.kill();
    let _ = monitor.wait();
    let seen = std::fs::read_to_string(&monitor_log).unwrap();
    assert!(
        !seen
            .lines()
            .any(|l| l.starts_with("Deleted") && l.contains(VIP)),
        "VIP removed during reload:\n{seen}"
    );
    assert!(pair.holds(0, VIP));
    assert_eq!(
        d.log_text().matches("SIGHUP received").count(),
        2,
        "{}",
        d.log_text()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

// Malformed adverts from another namespace change nothing but the counters, and the
// daemon keeps running: truncated, wrong length, bad checksum, wrong TTL, wrong password,
// unknown VRID, and 255 VIPs.
#[test]
fn malformed_adverts_change_only_counters() {
    use keepalived_engine::wire::vrrp::pass_auth_data;
    use keepalived_engine::wire::{
        AdvertRepr, AuthType, EmitOptions, VipList, VrrpBody, VrrpRepr, MCAST_GROUP4,
    };
    use std::net::{IpAddr, Ipv4Addr, SocketAddrV4};

    if !can_run("malformed_adverts_change_only_counters", &["ip"]) {
        return;
    }
    let dir = tmp_dir("malformed");
    let pair = Pair::new("kx", 64);
    let c = conf(&dir, "r", &pair.ifs[0], 200, "");
    let (p, r) = (dir.join("p"), dir.join("r"));
    let args = [
        "-n",
        "-l",
        "-G",
        "-P",
        "-f",
        c.to_str().unwrap(),
        "-p",
        p.to_str().unwrap(),
        "-r",
        r.to_str().unwrap(),
    ];
    let d = Daemon::start_with_env(
        &pair.ns[0],
        &keepalived_rs(),
        &args,
        &[("TMPDIR", &dir)],
        dir.join("d.log"),
    );
    assert!(
        wait_for(Duration::from_secs(8), || pair.holds(0, VIP)).is_some(),
        "master first"
    );

    let advert = |vrid: u8, prio: u8, ttl: u8, pw: &str, n: usize| {
        let a = AdvertRepr {
            src: IpAddr::V4(Ipv4Addr::new(192, 168, 64, 2)),
            dst: IpAddr::V4(MCAST_GROUP4),
            ttl,
            tos: 0xc0,
            ident: 7,
            ah: None,
            vrrp: VrrpRepr {
                vrid,
                priority: prio,
                body: VrrpBody::V2 {
                    auth_type: AuthType::Pass,
                    adver_int_secs: 1,
                    auth_data: pass_auth_data(pw),
                },
                vips: VipList::V4(
                    (0..n)
                        .map(|i| Ipv4Addr::new(10, 64, (i / 250) as u8, (i % 250) as u8 + 1))
                        .collect(),
                ),
            },
        };
        let mut b = vec![0; a.buffer_len()];
        a.emit(&mut b, &EmitOptions::default());
        b
    };
    let good = advert(61, 250, 255, "s3cret", 1);
    let mut bad_sum = good.clone();
    bad_sum[27] ^= 0x40; // an address byte: only the checksum catches it
    let mut long = good.clone();
    long.extend_from_slice(&[0; 7]);
    let l = long.len() as u16;
    long[2..4].copy_from_slice(&l.to_be_bytes());
    let packets: Vec<Vec<u8>> = vec![
        good[..24].to_vec(),
        long,
        bad_sum,
        advert(61, 250, 64, "s3cret", 1),
        advert(61, 250, 255, "wrong", 1),
        advert(99, 250, 255, "s3cret", 1),
        advert(61, 50, 255, "s3cret", 255),
    ];
    let iface = pair.ifs[1].clone();
    in_netns(&pair.ns[1].name, move || {
        let s = socket2::Socket::new(
            socket2::Domain::IPV4,
            socket2::Type::RAW,
            Some(socket2::Protocol::from(112)),
        )
        .unwrap();
        s.set_header_included_v4(true).unwrap();
        s.bind_device(Some(iface.as_bytes())).unwrap();
        for _ in 0..3 {
            for p in &packets {
                let to = socket2::SockAddr::from(SocketAddrV4::new(MCAST_GROUP4, 0));
                s.send_to(p, &to).expect("send malformed advert");
            }
            std::thread::sleep(Duration::from_millis(300));
        }
    });
    std::thread::sleep(Duration::from_millis(500));
    assert!(pair.holds(0, VIP), "still master");
    assert!(
        d.log_text().contains("Entering MASTER STATE")
            && !d
                .log_text()
                .contains("reason=received higher priority advert")
    );
    d.signal(libc::SIGUSR2);
    let stats_file = dir.join("keepalived.stats");
    assert!(
        wait_for(Duration::from_secs(3), || stats_file.exists()).is_some(),
        "SIGUSR2 writes the statistics"
    );
    std::thread::sleep(Duration::from_millis(100));
    let stats = std::fs::read_to_string(&stats_file).unwrap();
    let count = |label: &str| -> u64 {
        stats
            .lines()
            .find_map(|l| l.trim().strip_prefix(label))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    };
    assert!(count("Length:") >= 3, "{stats}");
    assert!(count("TTL:") >= 3, "{stats}");
    assert!(count("Failure:") >= 3, "{stats}");
    assert!(count("Address List:") >= 3, "{stats}");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&stats_file).unwrap().permissions(),
    );
    assert_eq!(mode & 0o777, 0o600, "stats file is private");
    // SIGUSR1 and SIGRTMIN+2: the data dump and the JSON state, made the same safe way;
    // a symlink planted where the dump goes is replaced, never followed.
    let data = dir.join("keepalived.data");
    let target = dir.join("victim");
    std::fs::write(&target, "untouched").unwrap();
    std::os::unix::fs::symlink(&target, &data).unwrap();
    d.signal(libc::SIGUSR1);
    d.signal(libc::SIGRTMIN() + 2);
    let json = dir.join("keepalived.json");
    assert!(wait_for(Duration::from_secs(3), || json.exists()
        && !data.is_symlink()
        && data.exists())
    .is_some());
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "untouched");
    assert!(std::fs::read_to_string(&data)
        .unwrap()
        .contains("State = MASTER"));
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    // keepalived's VRRP_STATE_MAST.
    assert_eq!(state[0]["data"]["state"], 2, "{state}");
    let mut d = d;
    assert!(
        matches!(d.child.try_wait(), Ok(None)),
        "daemon still running"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

// A failing track_script (weight -150) drops the master below its peer, which takes the
// VIP; the GARPs of the new master are seen on the wire by the other namespace.
#[test]
fn track_script_failure_moves_the_vip_and_garps_follow() {
    if !can_run(
        "track_script_failure_moves_the_vip_and_garps_follow",
        &["ip", "tcpdump"],
    ) {
        return;
    }
    let dir = tmp_dir("track");
    let pair = Pair::new("kt", 69);
    let flag = dir.join("healthy");
    std::fs::write(&flag, "").unwrap();
    let script = format!(
        "vrrp_script chk {{\n  script \"/bin/sh -c 'test -e {}'\"\n  interval 1\n  weight -150\n  fall 1\n  rise 1\n}}\n",
        flag.display()
    );
    let c2 = dir.join("r2.conf");
    let body = std::fs::read_to_string(conf(
        &dir,
        "tmp",
        &pair.ifs[1],
        200,
        "track_script {\n    chk\n  }",
    ))
    .unwrap();
    std::fs::write(&c2, script + &body).unwrap();
    let c1 = conf(&dir, "r1", &pair.ifs[0], 100, "");
    let _d2 = ours(&pair, 1, &dir, &c2);
    let _d1 = ours(&pair, 0, &dir, &c1);
    let only = |i: usize| pair.holds(i, VIP) && !pair.holds(1 - i, VIP);
    assert!(
        wait_for(Duration::from_secs(10), || only(1)).is_some(),
        "r2 is master while its script passes"
    );
    // Watch r2's side for r1's gratuitous ARPs.
    let cap = dir.join("garp.txt");
    let mut tcpdump = std::process::Command::new("ip")
        .args([
            "netns",
            "exec",
            &pair.ns[1].name,
            "tcpdump",
            "-l",
            "-n",
            "-i",
            &pair.ifs[1],
            "arp",
        ])
        .stdout(std::fs::File::create(&cap).unwrap())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    std::fs::remove_file(&flag).unwrap();
    assert!(
        wait_for(Duration::from_secs(8), || only(0)).is_some(),
        "r1 takes the VIP when r2's script fails"
    );
    std::thread::sleep(Duration::from_millis(500));
    let _ = tcpdump.kill();
    let _ = tcpdump.wait();
    let seen = std::fs::read_to_string(&cap).unwrap();
    let garps = seen
        .lines()
        .filter(|l| l.contains(&format!("who-has {VIP} ")) && l.contains(&format!("tell {VIP},")))
        .count();
    assert!(
        garps >= 5,
        "garp_master_repeat 5 GARPs expected on the wire:\n{seen}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

// A tracked interface going down is FAULT: the master sends priority 0 and releases the
// VIP, so its peer takes over within skew time.
#[test]
fn tracked_interface_down_is_fault_with_priority_zero() {
    if !can_run(
        "tracked_interface_down_is_fault_with_priority_zero",
        &["ip"],
    ) {
        return;
    }
    let dir = tmp_dir("fault");
    let pair = Pair::new("kf", 70);
    pair.ns[1].ip(&[
        "link", "add", "trk0", "type", "veth", "peer", "name", "trk1",
    ]);
    pair.ns[1].ip(&["link", "set", "trk0", "up"]);
    pair.ns[1].ip(&["link", "set", "trk1", "up"]);
    let c2 = conf(
        &dir,
        "r2",
        &pair.ifs[1],
        200,
        "track_interface {\n    trk0\n  }",
    );
    let c1 = conf(&dir, "r1", &pair.ifs[0], 100, "");
    let d2 = ours(&pair, 1, &dir, &c2);
    let _d1 = ours(&pair, 0, &dir, &c1);
    let only = |i: usize| pair.holds(i, VIP) && !pair.holds(1 - i, VIP);
    assert!(
        wait_for(Duration::from_secs(10), || only(1)).is_some(),
        "r2 is master"
    );
    std::thread::sleep(Duration::from_millis(1500));
    pair.ns[1].ip(&["link", "set", "trk0", "down"]);
    let took = wait_for(Duration::from_secs(5), || only(0)).expect("r1 takes over");
    assert!(
        took <= skew(100) + MARGIN,
        "takeover after priority 0 took {took:?}"
    );
    assert!(
        d2.log_text().contains("Entering FAULT STATE"),
        "{}",
        d2.log_text()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

// virtual_routes and virtual_rules follow the master: added with its VIP, removed when it
// yields.
#[test]
fn virtual_routes_and_rules_follow_the_master() {
    if !can_run("virtual_routes_and_rules_follow_the_master", &["ip"]) {
        return;
    }
    let dir = tmp_dir("routes");
    let pair = Pair::new("kv", 71);
    let extra = |i: usize| {
        format!(
            "virtual_routes {{\n    10.99.0.0/24 via 192.168.71.{} dev {}\n  }}\n  virtual_rules {{\n    from 10.60.0.100 table 100 priority 1000\n  }}",
            2 - i,
            pair.ifs[i]
        )
    };
    let c1 = conf(&dir, "r1", &pair.ifs[0], 200, &extra(0));
    let c2 = conf(&dir, "r2", &pair.ifs[1], 100, &extra(1));
    let d1 = ours(&pair, 0, &dir, &c1);
    let _d2 = ours(&pair, 1, &dir, &c2);
    let route = |i: usize| {
        let out = pair.ns[i].ip(&["route", "show", "10.99.0.0/24"]);
        !String::from_utf8_lossy(&out.stdout).trim().is_empty()
    };
    let rule = |i: usize| {
        let out = pair.ns[i].ip(&["rule", "show"]);
        String::from_utf8_lossy(&out.stdout).contains("1000:\tfrom 10.60.0.100 lookup 100")
    };
    assert!(
        wait_for(Duration::from_secs(10), || route(0) && rule(0)).is_some(),
        "master r1 has the route and rule"
    );
    assert!(!route(1) && !rule(1), "the backup has neither");
    d1.stop();
    assert!(
        wait_for(Duration::from_secs(6), || route(1) && rule(1)).is_some(),
        "r2 takes them over"
    );
    assert!(!route(0) && !rule(0), "r1 removed them when it stopped");
    let _ = std::fs::remove_dir_all(&dir);
}

// nopreempt: a higher-priority router that starts while another is master stays BACKUP.
#[test]
fn nopreempt_is_honoured() {
    if !can_run("nopreempt_is_honoured", &["ip"]) {
        return;
    }
    let dir = tmp_dir("nopreempt");
    let pair = Pair::new("kn", 72);
    let c2 = conf(&dir, "r2", &pair.ifs[1], 100, "");
    let c1 = conf(&dir, "r1", &pair.ifs[0], 200, "state BACKUP\n  nopreempt");
    let _d2 = ours(&pair, 1, &dir, &c2);
    let only = |i: usize| pair.holds(i, VIP) && !pair.holds(1 - i, VIP);
    assert!(
        wait_for(Duration::from_secs(8), || only(1)).is_some(),
        "r2 is master alone"
    );
    let d1 = ours(&pair, 0, &dir, &c1);
    std::thread::sleep(Duration::from_secs(7));
    assert!(only(1), "r1 (priority 200, nopreempt) must not take over");
    assert!(
        d1.log_text().contains("Entering BACKUP STATE")
            && !d1.log_text().contains("Entering MASTER STATE")
    );
    let _ = std::fs::remove_dir_all(&dir);
}
