//! keepalived-rs as a real daemon in network namespaces: election, kill -9 failover,
//! SIGTERM takeover in skew time, preemption, and a mixed cluster with keepalived 2.2.7.

use std::path::{Path, PathBuf};
use std::time::Duration;

use keepalived_tests::host::{can_run, keepalived_rs, wait_for, Daemon, Pair};

const VIP: &str = "10.60.0.100";

fn conf(dir: &Path, name: &str, iface: &str, prio: u8, extra: &str) -> PathBuf {
    let p = dir.join(format!("{name}.conf"));
    std::fs::write(
        &p,
        format!(
            "vrrp_instance VI_1 {{\n  interface {iface}\n  virtual_router_id 61\n  priority {prio}\n  advert_int 1\n  {extra}\n  \
             authentication {{\n    auth_type PASS\n    auth_pass s3cret\n  }}\n  virtual_ipaddress {{\n    {VIP}/24\n  }}\n}}\n"
        ),
    )
    .unwrap();
    p
}

fn ours(pair: &Pair, i: usize, dir: &Path, conf: &Path) -> Daemon {
    let (p, r) = (dir.join(format!("p{i}")), dir.join(format!("r{i}")));
    let args = [
        "-n",
        "-l",
        "-G",
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
        &keepalived_rs(),
        &args,
        dir.join(format!("ours{i}.log")),
    )
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

fn tmp(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("kars-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Master-down interval at priority `p`, advert_int 1 (RFC 3768 §6.1).
fn ms_down(p: u8) -> Duration {
    Duration::from_micros(3_000_000 + (256 - u64::from(p)) * 1_000_000 / 256)
}

fn skew(p: u8) -> Duration {
    Duration::from_micros((256 - u64::from(p)) * 1_000_000 / 256)
}

const MARGIN: Duration = Duration::from_millis(200);

#[test]
fn two_routers_elect_fail_over_and_preempt() {
    if !can_run("two_routers_elect_fail_over_and_preempt", &["ip"]) {
        return;
    }
    let dir = tmp("daemon");
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
    d2.signal(libc::SIGKILL);
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
    assert!(
        log.contains("SIGTERM received") && log.contains("removing 10.60.0.100"),
        "{log}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn mixed_cluster_with_keepalived_fails_over_and_preempts_both_ways() {
    if !can_run(
        "mixed_cluster_with_keepalived_fails_over_and_preempts_both_ways",
        &["ip", "keepalived"],
    ) {
        return;
    }
    let dir = tmp("mixed");
    let pair = Pair::new("km", 62);
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
    k.signal(libc::SIGKILL);
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
    o.signal(libc::SIGKILL);
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
