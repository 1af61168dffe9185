//! Three keepalived-rs routers on one bridged Ethernet segment, with a fourth "client"
//! namespace watching the wire: one master and one VIP holder at a time, kill -9
//! failover to the next-highest router within its master-down interval, SIGTERM
//! takeover by the third within its skew time, preemption when the highest returns, and
//! the gratuitous ARPs of every new master seen by the client. A pair of routers cannot
//! show that the right backup wins among several, nor that the loser stays quiet.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use keepalived_tests::host::{
    can_run, ms_down, skew, tmp_dir, wait_for, Capture, Daemon, Lan, MARGIN,
};

const VIP: &str = "10.71.0.100";
const VRID: u8 = 71;
const NET: u8 = 71;
/// Router priorities of `kl1`..`kl3`; index 3 of the LAN (`kl4`) is the client.
const PRIO: [u8; 3] = [150, 100, 50];
const CLIENT: usize = 3;

/// An instance on `iface` for the test VRID and VIP, advert_int 1, PASS authentication.
fn conf(dir: &Path, i: usize, iface: &str) -> PathBuf {
    let p = dir.join(format!("r{}.conf", i + 1));
    std::fs::write(
        &p,
        format!(
            "vrrp_instance VI_1 {{\n  interface {iface}\n  virtual_router_id {VRID}\n  priority {}\n  advert_int 1\n  \
             authentication {{\n    auth_type PASS\n    auth_pass s3cret\n  }}\n  \
             virtual_ipaddress {{\n    {VIP}/24\n  }}\n}}\n",
            PRIO[i]
        ),
    )
    .unwrap();
    p
}

/// keepalived-rs for router `i` (VRRP only); each start logs to a file of its own.
fn ours(lan: &Lan, i: usize, dir: &Path, conf: &Path, start: usize) -> Daemon {
    Daemon::ours(
        &lan.ns[i],
        conf,
        dir,
        &format!("r{}-{start}", i + 1),
        &["-P"],
    )
}

/// Seconds since the epoch, the clock tcpdump's `-tt` timestamps use.
fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

#[test]
fn three_routers_on_a_bridge_fail_over_in_order_and_garp() {
    if !can_run(
        "three_routers_on_a_bridge_fail_over_in_order_and_garp",
        &["ip", "tcpdump"],
    ) {
        return;
    }
    let dir = tmp_dir("lan");
    // Declared first, so dropped last: daemons and tcpdump die before their namespaces.
    let lan = Lan::new("kl", NET, 4);
    let macs: Vec<String> = (0..3).map(|i| lan.mac(i)).collect();
    let confs: Vec<PathBuf> = (0..3).map(|i| conf(&dir, i, &lan.ifs[i])).collect();
    let cap = Capture::start(
        &lan.ns[CLIENT],
        &lan.ifs[CLIENT],
        "arp",
        &dir.join("client-arp"),
    );
    let only = |i: usize| lan.holders(VIP) == [i];
    // At least one GARP for the VIP from router `i` since `t`, within 2 s.
    let garp_from = |i: usize, t: f64| {
        wait_for(Duration::from_secs(2), || {
            cap.garps(VIP, t).iter().any(|(_, m)| *m == macs[i])
        })
        .is_some()
    };
    // Since `t`, GARPs for the VIP came from router `i` alone: no other router was master.
    let garps_only_from = |i: usize, t: f64| {
        let g = cap.garps(VIP, t);
        assert!(
            g.iter().all(|(_, m)| *m == macs[i]),
            "GARPs for {VIP} from a router other than r{} ({}):\n{}",
            i + 1,
            macs[i],
            cap.text()
        );
    };

    let d1 = ours(&lan, 0, &dir, &confs[0], 1);
    let mut d2 = ours(&lan, 1, &dir, &confs[1], 1);
    let d3 = ours(&lan, 2, &dir, &confs[2], 1);

    // Election: r1 (150) is master and the only holder; the client sees its GARPs.
    let t = now();
    assert!(
        wait_for(Duration::from_secs(10), || only(0)).is_some(),
        "r1 never became the only holder: {:?}",
        lan.holders(VIP)
    );
    assert!(
        garp_from(0, t),
        "no GARP from r1 ({}):\n{}",
        macs[0],
        cap.text()
    );
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        only(0),
        "the VIP must stay on r1 alone: {:?}",
        lan.holders(VIP)
    );
    garps_only_from(0, t);

    // kill -9 of r1: no priority 0, so r2 (100) takes over when its master-down interval
    // runs out, before r3's (50) does; the dead host's VIP goes with it.
    let t = now();
    d1.crash();
    drop(d1);
    lan.drop_address(0, VIP);
    let took = wait_for(Duration::from_secs(8), || only(1)).unwrap_or_else(|| {
        panic!(
            "r2 never took over after kill -9 of r1: {:?}",
            lan.holders(VIP)
        )
    });
    eprintln!("kill -9 failover r1 -> r2: {took:?}");
    assert!(
        took <= ms_down(PRIO[1]) + MARGIN,
        "kill -9 failover took {took:?}, master-down is {:?}",
        ms_down(PRIO[1])
    );
    // The last advert reached r2 at most one advert interval before the kill.
    assert!(
        took + Duration::from_secs(1) + MARGIN >= ms_down(PRIO[1]),
        "r2 took over after {took:?}, before its master-down interval could run out"
    );
    assert!(
        garp_from(1, t),
        "no GARP from r2 ({}):\n{}",
        macs[1],
        cap.text()
    );
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        only(1),
        "the VIP must stay on r2 alone: {:?}",
        lan.holders(VIP)
    );
    garps_only_from(1, t);

    // SIGTERM of r2: it sends priority 0 and releases the VIP, so r3 takes over after its
    // skew time.
    let t = now();
    d2.signal(libc::SIGTERM);
    let took = wait_for(Duration::from_secs(5), || only(2)).unwrap_or_else(|| {
        panic!(
            "r3 never took over after SIGTERM of r2: {:?}",
            lan.holders(VIP)
        )
    });
    eprintln!("SIGTERM takeover r2 -> r3: {took:?}");
    assert!(
        took <= skew(PRIO[2]) + MARGIN,
        "SIGTERM takeover took {took:?}, skew is {:?}",
        skew(PRIO[2])
    );
    assert!(
        took + Duration::from_millis(50) >= skew(PRIO[2]),
        "r3 took over after {took:?}, before its skew time"
    );
    assert!(
        garp_from(2, t),
        "no GARP from r3 ({}):\n{}",
        macs[2],
        cap.text()
    );
    assert!(
        wait_for(Duration::from_secs(5), || matches!(
            d2.child.try_wait(),
            Ok(Some(_))
        ))
        .is_some(),
        "r2 did not exit after SIGTERM"
    );
    let log = d2.log_text();
    // That it released the VIP is `only(2)` above; address lines are logged with -D.
    assert!(log.contains("SIGTERM received"), "{log}");
    drop(d2);
    std::thread::sleep(Duration::from_millis(1000));
    assert!(
        only(2),
        "the VIP must stay on r3 alone: {:?}",
        lan.holders(VIP)
    );
    garps_only_from(2, t);

    // r1 returns and preempts r3.
    let t = now();
    let _d1 = ours(&lan, 0, &dir, &confs[0], 2);
    let took = wait_for(Duration::from_secs(8), || only(0))
        .unwrap_or_else(|| panic!("r1 did not preempt on return: {:?}", lan.holders(VIP)));
    eprintln!("r1 restart to preemption: {took:?}");
    assert!(
        garp_from(0, t),
        "no GARP from r1 ({}):\n{}",
        macs[0],
        cap.text()
    );

    // r2 returns too and, hearing r1, stays backup for longer than its own master-down
    // interval: with all three running, r1 alone holds the VIP.
    let d2 = ours(&lan, 1, &dir, &confs[1], 2);
    std::thread::sleep(ms_down(PRIO[1]) + Duration::from_millis(500));
    assert!(
        only(0),
        "a single holder at the end: {:?}",
        lan.holders(VIP)
    );
    assert!(
        !d2.log_text().contains("Entering MASTER STATE"),
        "{}",
        d2.log_text()
    );
    assert_eq!(
        d3.log_text().matches("Entering MASTER STATE").count(),
        1,
        "r3 is master once, after the SIGTERM of r2, and never beside another:\n{}",
        d3.log_text()
    );
    let _ = std::fs::remove_dir_all(&dir);
}
