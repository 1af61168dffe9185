//! The global_defs and instance options around VMACs and the VRRP process, each run on
//! keepalived-rs and on keepalived 2.2.7 in namespaces of their own and held to the
//! same result:
//! - `use_vmac_addr` with `vmac_addr_prefix`: a VIP on another interface goes on a
//!   private macvlan `vaddr.VRID` there with the IPv4 virtual MAC, an excluded IPv6 VIP
//!   on the instance's interface on `vaddr6.VRID` with the IPv6 virtual MAC and the
//!   base's link-local address, a VIP of the instance's family on its interface stays;
//!   a reload keeps a VMAC its addresses still need and drops the others; the macvlans
//!   go at stop;
//! - `disable_local_igmp`: net.ipv4.igmp_link_local_mcast_reports is 0 while the daemon
//!   runs and 1 again after it stops;
//! - `vrrp_netlink_cmd_rcv_bufs`, `vrrp_netlink_monitor_rcv_bufs(_force)`: the receive
//!   buffers of the rtnetlink sockets as `ss -m` shows them; the checker's
//!   `lvs_netlink_*` on keepalived-rs alone (keepalived's checker needs IPVS);
//! - `max_auto_priority` and `min_auto_priority_delay`: late timer wake-ups move the VRRP
//!   process to SCHED_RR one step at a time up to the maximum, as /proc/PID/sched shows;
//!   without `max_auto_priority` they are only logged.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use keepalived_tests::host::{keepalived_rs, tmp_dir, wait_for, Daemon, Netns};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Ours,
    Keepalived,
}

/// Whether the test can run; if not, why (a failure under CI, else a skip).
fn runnable(test: &str) -> bool {
    keepalived_tests::host::runnable(test, &["ip", "ss", "keepalived"])
}

/// The daemon in the foreground, VRRP only, logging to the console with detail.
fn start(who: Who, ns: &Netns, conf: &Path, dir: &Path) -> Daemon {
    let file = |ext: &str| dir.join(format!("d.{ext}")).display().to_string();
    let (conf, p, r, c) = (conf.display().to_string(), file("p"), file("r"), file("c"));
    let args = [
        "-n", "-l", "-D", "-P", "-f", &conf, "-p", &p, "-r", &r, "-c", &c,
    ];
    let cmd = match who {
        Who::Ours => keepalived_rs(),
        Who::Keepalived => PathBuf::from("keepalived"),
    };
    Daemon::start(ns, &cmd, &args, dir.join("d.log"))
}

/// The VRRP process's pid, once it has written its pidfile.
fn vrrp_pid(dir: &Path) -> i32 {
    let mut pid = None;
    wait_for(Duration::from_secs(5), || {
        pid = Daemon::pid_of(dir, "d", "r");
        pid.is_some()
    });
    pid.expect("the VRRP process wrote no pidfile")
}

/// A namespace with two veth pairs: d0 (192.168.90.1/24) and d1 (192.168.91.1/24),
/// their peers p0 and p1, all up.
fn host(name: &str) -> Netns {
    let ns = Netns::new(name);
    ns.without_dad();
    for (i, net) in [(0, 90), (1, 91)] {
        let (d, p) = (format!("d{i}"), format!("p{i}"));
        ns.ip(&["link", "add", &d, "type", "veth", "peer", "name", &p]);
        ns.ip(&["addr", "add", &format!("192.168.{net}.1/24"), "dev", &d]);
        ns.ip(&["link", "set", &p, "up"]);
        ns.ip(&["link", "set", &d, "up"]);
    }
    ns
}

fn output(ns: &Netns, cmd: &str, args: &[&str]) -> String {
    let out = ns.command(cmd).args(args).output().expect(cmd);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn json(ns: &Netns, args: &[&str]) -> Vec<serde_json::Value> {
    serde_json::from_str(&output(ns, "ip", args)).unwrap_or_default()
}

/// Each macvlan: name, parent, MAC and mode.
fn macvlans(ns: &Netns) -> Vec<[String; 4]> {
    let mut v: Vec<[String; 4]> = json(ns, &["-j", "-d", "link", "show"])
        .iter()
        .filter(|l| l["linkinfo"]["info_kind"] == "macvlan")
        .map(|l| {
            let s = |v: &serde_json::Value| v.as_str().unwrap_or("").to_string();
            [
                s(&l["ifname"]),
                s(&l["link"]),
                s(&l["address"]),
                s(&l["linkinfo"]["info_data"]["mode"]),
            ]
        })
        .collect();
    v.sort();
    v
}

/// The addresses of d0, d1 and the macvlans, each interface's sorted; a link-local
/// address is named by the interface whose own it is (`ll(d0)`), since the veths' MACs
/// differ between namespaces.
fn addresses(ns: &Netns) -> BTreeMap<String, Vec<String>> {
    let links = json(ns, &["-j", "addr", "show"]);
    let own_ll: BTreeMap<String, String> = links
        .iter()
        .flat_map(|l| {
            let name = l["ifname"].as_str().unwrap_or("").to_string();
            l["addr_info"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|a| a["scope"] == "link" && a["family"] == "inet6")
                .filter_map(move |a| Some((a["local"].as_str()?.to_string(), name.clone())))
                .collect::<Vec<_>>()
        })
        .filter(|(_, name)| name.starts_with('d'))
        .collect();
    links
        .iter()
        .filter_map(|l| {
            let name = l["ifname"].as_str()?.to_string();
            if name.starts_with('p') || name == "lo" {
                return None;
            }
            let mut addrs: Vec<String> = l["addr_info"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|a| {
                    let local = a["local"].as_str()?;
                    let shown = own_ll
                        .get(local)
                        .map_or_else(|| local.to_string(), |owner| format!("ll({owner})"));
                    Some(format!("{shown}/{}", a["prefixlen"]))
                })
                .collect();
            addrs.sort();
            Some((name, addrs))
        })
        .collect()
}

fn sysctl(ns: &Netns, path: &str) -> String {
    output(ns, "cat", &[&format!("/proc/sys/net/{path}")])
        .trim()
        .to_string()
}

/// The sysctls keepalived sets on a VMAC and on its base interface.
fn vmac_sysctls(ns: &Netns) -> Vec<(String, String)> {
    let mut v = Vec::new();
    for dev in ["vaddr.51", "vaddr6.51", "d0", "d1"] {
        for key in ["arp_ignore", "arp_filter", "accept_local", "rp_filter"] {
            let p = format!("ipv4/conf/{dev}/{key}");
            v.push((p.clone(), sysctl(ns, &p)));
        }
        let p = format!("ipv6/conf/{dev}/disable_ipv6");
        v.push((p.clone(), sysctl(ns, &p)));
    }
    v
}

/// The receive buffer sizes (`rb` of `ss -m`) of the rtnetlink sockets in the
/// namespace other than the kernel's own.
fn rtnl_rcvbufs(ns: &Netns) -> BTreeSet<u64> {
    output(ns, "ss", &["-f", "netlink", "-m", "-a"])
        .lines()
        .filter(|l| l.contains("rtnl:") && !l.contains("rtnl:kernel"))
        .filter_map(|l| {
            let rb = l.split("rb").nth(1)?;
            rb.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
        })
        .collect()
}

#[derive(Debug, PartialEq)]
struct VmacSeen {
    macvlans: Vec<[String; 4]>,
    addresses: BTreeMap<String, Vec<String>>,
    sysctls: Vec<(String, String)>,
    igmp_running: String,
    rcvbufs: BTreeSet<u64>,
    /// Macvlans and addresses after a reload.
    reloaded: (Vec<[String; 4]>, BTreeMap<String, Vec<String>>),
    macvlans_after: Vec<[String; 4]>,
    igmp_after: String,
}

const VMAC_CONF: &str = "global_defs {
  vmac_addr_prefix vaddr
  disable_local_igmp
  vrrp_netlink_cmd_rcv_bufs 300000
  vrrp_netlink_monitor_rcv_bufs 400000
  vrrp_netlink_monitor_rcv_bufs_force
}
vrrp_instance VI_1 {
  interface d0
  virtual_router_id 51
  priority 200
  advert_int 1
  use_vmac_addr
  virtual_ipaddress {
    10.1.1.1/24 dev d1
    10.1.2.1/24
  }
  virtual_ipaddress_excluded {
    fd00::51/64
  }
}
";

fn vmac_run(who: Who, ns_name: &str) -> VmacSeen {
    let ns = host(ns_name);
    let dir = tmp_dir(&format!("vmac-options-{who:?}"));
    let conf = dir.join("k.conf");
    std::fs::write(&conf, VMAC_CONF).unwrap();
    let igmp_before = sysctl(&ns, "ipv4/igmp_link_local_mcast_reports");
    assert_eq!(igmp_before, "1", "the kernel's default");
    let d = start(who, &ns, &conf, &dir);
    let mastered = wait_for(Duration::from_secs(10), || {
        ns.holds("vaddr.51", "10.1.1.1") && ns.holds("vaddr6.51", "fd00::51")
    });
    std::thread::sleep(Duration::from_millis(500));
    let seen = (
        macvlans(&ns),
        addresses(&ns),
        vmac_sysctls(&ns),
        sysctl(&ns, "ipv4/igmp_link_local_mcast_reports"),
        rtnl_rcvbufs(&ns),
    );
    assert!(
        mastered.is_some(),
        "{who:?}: the VIPs never reached their VMACs: {:?}\n{}",
        addresses(&ns),
        d.log_text()
    );
    // A reload that adds a VIP on d1 and moves the IPv6 one to d1: vaddr.51 stays and
    // takes the new VIP; the IPv6 VMAC on d1 gets the next free name (vaddr6.51 still
    // exists as the reload is read) and vaddr6.51 goes.
    let reloaded = VMAC_CONF
        .replace(
            "    10.1.1.1/24 dev d1\n",
            "    10.1.1.1/24 dev d1\n    10.1.1.9/24 dev d1\n",
        )
        .replace("    fd00::51/64\n", "    fd00::52/64 dev d1\n");
    std::fs::write(&conf, reloaded).unwrap();
    d.signal(libc::SIGHUP);
    let moved = wait_for(Duration::from_secs(10), || {
        ns.holds("vaddr.51", "10.1.1.9")
            && ns.holds("vaddr1.51", "fd00::52")
            && macvlans(&ns).len() == 2
    });
    std::thread::sleep(Duration::from_millis(500));
    let after_reload = (macvlans(&ns), addresses(&ns));
    let log = d.log_text();
    d.stop();
    assert!(
        moved.is_some(),
        "{who:?}: the reload's VIPs never reached their VMACs: {after_reload:?}\n{log}"
    );
    wait_for(Duration::from_secs(3), || macvlans(&ns).is_empty());
    VmacSeen {
        macvlans: seen.0,
        addresses: seen.1,
        sysctls: seen.2,
        igmp_running: seen.3,
        rcvbufs: seen.4,
        reloaded: after_reload,
        macvlans_after: macvlans(&ns),
        igmp_after: sysctl(&ns, "ipv4/igmp_link_local_mcast_reports"),
    }
}

#[test]
fn address_vmacs_local_igmp_and_netlink_buffers_as_keepalived() {
    let test = "address_vmacs_local_igmp_and_netlink_buffers_as_keepalived";
    if !runnable(test) {
        return;
    }
    let (ours, theirs) = std::thread::scope(|s| {
        let ours = s.spawn(|| vmac_run(Who::Ours, "kvk91"));
        let theirs = s.spawn(|| vmac_run(Who::Keepalived, "kvk92"));
        (
            ours.join().expect("ours"),
            theirs.join().expect("keepalived"),
        )
    });
    let s = |v: &str| v.to_string();
    // What keepalived 2.2.7 does, spelled out, so a change on either side shows.
    assert_eq!(
        theirs.macvlans,
        vec![
            [s("vaddr.51"), s("d1"), s("00:00:5e:00:01:33"), s("private")],
            [
                s("vaddr6.51"),
                s("d0"),
                s("00:00:5e:00:02:33"),
                s("private")
            ],
        ]
    );
    assert_eq!(theirs.addresses["vaddr.51"], ["10.1.1.1/24"]);
    assert_eq!(theirs.addresses["vaddr6.51"], ["fd00::51/64", "ll(d0)/64"]);
    assert!(theirs.addresses["d0"].contains(&s("10.1.2.1/24")));
    assert_eq!(
        (theirs.igmp_running.as_str(), theirs.igmp_after.as_str()),
        ("0", "1")
    );
    // SO_RCVBUF 300000 and SO_RCVBUFFORCE 400000, doubled by the kernel.
    assert_eq!(theirs.rcvbufs, BTreeSet::from([600_000, 800_000]));
    assert_eq!(
        theirs.reloaded.0,
        vec![
            [s("vaddr.51"), s("d1"), s("00:00:5e:00:01:33"), s("private")],
            [
                s("vaddr1.51"),
                s("d1"),
                s("00:00:5e:00:02:33"),
                s("private")
            ],
        ]
    );
    assert_eq!(
        theirs.reloaded.1["vaddr.51"],
        ["10.1.1.1/24", "10.1.1.9/24"]
    );
    assert_eq!(theirs.reloaded.1["vaddr1.51"], ["fd00::52/64", "ll(d1)/64"]);
    assert!(theirs.macvlans_after.is_empty());
    assert_eq!(ours, theirs);
}

/// The VRRP process's scheduling policy and static priority (`/proc/PID/sched`:
/// policy 2 is SCHED_RR, prio 99 − its realtime priority).
fn sched(ns: &Netns, pid: i32) -> (u32, u32) {
    let text = output(ns, "cat", &[&format!("/proc/{pid}/sched")]);
    let field = |name: &str| {
        text.lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .and_then(|l| l.rsplit(':').next())
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(u32::MAX)
    };
    (field("policy"), field("prio"))
}

#[derive(Debug, PartialEq)]
struct PrioritySeen {
    /// (policy, prio) once it settled, or as it was after the wait.
    settled: (u32, u32),
    /// Whether it logged a late timer.
    late_logged: bool,
    /// The "Set realtime priority N" lines, in order.
    raised: Vec<u32>,
}

fn priority_run(who: Who, ns_name: &str, max: Option<u32>) -> PrioritySeen {
    let ns = host(ns_name);
    let dir = tmp_dir(&format!("auto-priority-{who:?}-{}", max.unwrap_or(0)));
    let conf = dir.join("k.conf");
    std::fs::write(
        &conf,
        format!(
            "global_defs {{\n  {}\n  min_auto_priority_delay 1\n  vrrp_rlimit_rttime 2000000\n}}\n\
             vrrp_instance VI_1 {{\n  interface d0\n  virtual_router_id 52\n  priority 100\n  \
             advert_int 1\n  virtual_ipaddress {{\n    10.1.3.1/24\n  }}\n}}\n",
            max.map_or_else(
                || "router_id auto".to_string(),
                |m| format!("max_auto_priority {m}")
            )
        ),
    )
    .unwrap();
    let d = start(who, &ns, &conf, &dir);
    let pid = vrrp_pid(&dir);
    // A 1 µs delay makes every wake-up late: one step a wake-up, so the maximum is
    // reached within a few advert intervals. RLIMIT_RTTIME is 2 s, not the default
    // 10 ms: on a loaded test host keepalived's own VRRP process overruns 10 ms of
    // realtime CPU in its first GARP burst and is killed.
    let want = max.map(|m| (2, 99 - m));
    wait_for(Duration::from_secs(12), || Some(sched(&ns, pid)) == want);
    // Then no higher.
    std::thread::sleep(Duration::from_secs(2));
    let settled = sched(&ns, pid);
    let log = d.log_text();
    d.stop();
    PrioritySeen {
        settled,
        late_logged: log.contains("A thread timer expired"),
        raised: log
            .lines()
            .filter_map(|l| {
                l.split("Set realtime priority ")
                    .nth(1)?
                    .trim()
                    .parse()
                    .ok()
            })
            .collect(),
    }
}

#[test]
fn late_timers_raise_the_vrrp_process_to_realtime_up_to_max_auto_priority_as_keepalived() {
    let test =
        "late_timers_raise_the_vrrp_process_to_realtime_up_to_max_auto_priority_as_keepalived";
    if !runnable(test) {
        return;
    }
    let (ours, theirs, ours_off, theirs_off) = std::thread::scope(|s| {
        let ours = s.spawn(|| priority_run(Who::Ours, "kvk93", Some(3)));
        let theirs = s.spawn(|| priority_run(Who::Keepalived, "kvk94", Some(3)));
        let ours_off = s.spawn(|| priority_run(Who::Ours, "kvk95", None));
        let theirs_off = s.spawn(|| priority_run(Who::Keepalived, "kvk96", None));
        (
            ours.join().expect("ours"),
            theirs.join().expect("keepalived"),
            ours_off.join().expect("ours, no max"),
            theirs_off.join().expect("keepalived, no max"),
        )
    });
    let raised = PrioritySeen {
        settled: (2, 96),
        late_logged: true,
        raised: vec![1, 2, 3],
    };
    assert_eq!(theirs, raised, "keepalived 2.2.7");
    assert_eq!(ours, raised, "keepalived-rs");
    // Without max_auto_priority: late wake-ups logged, SCHED_OTHER (policy 0) kept at
    // the nice value the test runs at.
    assert_eq!(theirs_off.settled.0, 0, "keepalived 2.2.7: {theirs_off:?}");
    assert!(
        theirs_off.late_logged && theirs_off.raised.is_empty(),
        "{theirs_off:?}"
    );
    assert_eq!(ours_off, theirs_off);
}

/// `lvs_netlink_cmd_rcv_bufs` and `lvs_netlink_monitor_rcv_bufs(_force)` on the
/// checker's rtnetlink sockets. keepalived 2.2.7's checker stops at once on a kernel
/// without IPVS ("IPVS: Can't initialize ipvs"), as this one is, so the sizes are held
/// to what its `netlink_set_rx_buf_size()` gives the VRRP process's sockets above
/// (SO_RCVBUF and SO_RCVBUFFORCE, doubled by the kernel).
#[test]
fn lvs_netlink_buffers_size_the_checker_rtnetlink_sockets() {
    let test = "lvs_netlink_buffers_size_the_checker_rtnetlink_sockets";
    if !runnable(test) {
        return;
    }
    let ns = host("kvk97");
    let dir = tmp_dir("lvs-netlink-buffers");
    let conf = dir.join("k.conf");
    std::fs::write(
        &conf,
        "global_defs {\n  lvs_netlink_cmd_rcv_bufs 300000\n  lvs_netlink_monitor_rcv_bufs 400000\n  \
         lvs_netlink_monitor_rcv_bufs_force\n}\nvirtual_server 192.168.90.1 80 {\n  lb_kind NAT\n  \
         protocol TCP\n  real_server 192.168.90.2 80 {\n    TCP_CHECK {\n      connect_timeout 1\n    \
         }\n  }\n}\n",
    )
    .unwrap();
    let file = |ext: &str| dir.join(format!("d.{ext}")).display().to_string();
    let (c, p, r, k) = (conf.display().to_string(), file("p"), file("r"), file("c"));
    let args = [
        "-n", "-l", "-D", "-C", "-f", &c, "-p", &p, "-r", &r, "-c", &k,
    ];
    let d = Daemon::start(&ns, &keepalived_rs(), &args, dir.join("d.log"));
    let want = BTreeSet::from([600_000, 800_000]);
    let seen = wait_for(Duration::from_secs(10), || rtnl_rcvbufs(&ns) == want);
    let (bufs, log) = (rtnl_rcvbufs(&ns), d.log_text());
    d.stop();
    assert!(seen.is_some(), "rtnetlink receive buffers {bufs:?}\n{log}");
}

/// `max_auto_priority` in the checker process too (`start_check()` passes it to
/// `set_process_priorities()`): its late timers move it to SCHED_RR up to the maximum.
/// On keepalived-rs alone, keepalived 2.2.7's checker needing IPVS.
#[test]
fn late_timers_raise_the_checker_to_realtime_up_to_max_auto_priority() {
    let test = "late_timers_raise_the_checker_to_realtime_up_to_max_auto_priority";
    if !runnable(test) {
        return;
    }
    let ns = host("kvk98");
    let dir = tmp_dir("checker-auto-priority");
    let conf = dir.join("k.conf");
    std::fs::write(
        &conf,
        "global_defs {\n  max_auto_priority 3\n  min_auto_priority_delay 1\n  \
         checker_rlimit_rttime 2000000\n}\nvirtual_server 192.168.90.1 80 {\n  delay_loop 1\n  \
         lb_kind NAT\n  protocol TCP\n  real_server 192.168.90.2 80 {\n    TCP_CHECK {\n      \
         connect_timeout 1\n    }\n  }\n}\n",
    )
    .unwrap();
    let file = |ext: &str| dir.join(format!("d.{ext}")).display().to_string();
    let (c, p, r, k) = (conf.display().to_string(), file("p"), file("r"), file("c"));
    let args = [
        "-n", "-l", "-D", "-C", "-f", &c, "-p", &p, "-r", &r, "-c", &k,
    ];
    let d = Daemon::start(&ns, &keepalived_rs(), &args, dir.join("d.log"));
    let mut pid = None;
    wait_for(Duration::from_secs(5), || {
        pid = Daemon::pid_of(&dir, "d", "c");
        pid.is_some()
    });
    let pid = pid.expect("the checker wrote no pidfile");
    let reached = wait_for(Duration::from_secs(15), || sched(&ns, pid) == (2, 96));
    std::thread::sleep(Duration::from_secs(2));
    let settled = sched(&ns, pid);
    let log = d.log_text();
    d.stop();
    assert!(reached.is_some(), "never SCHED_RR 3: {settled:?}\n{log}");
    assert_eq!(settled, (2, 96), "past max_auto_priority\n{log}");
    let raised: Vec<u32> = log
        .lines()
        .filter_map(|l| {
            l.split("Set realtime priority ")
                .nth(1)?
                .trim()
                .parse()
                .ok()
        })
        .collect();
    assert_eq!(raised, [1, 2, 3], "{log}");
}
