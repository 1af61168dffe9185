//! SNMP under Debian's snmpd (net-snmp 5.9) as the AgentX master agent, side by side with
//! keepalived 2.2.7 on the same configuration, each in a namespace of its own with its own
//! snmpd: `-x -A unix:…` makes each an AgentX sub-agent, and `snmpwalk` of the
//! KEEPALIVED-MIB global scalars (`keepalived.1`) gives the same names, types and values
//! (the version line aside, which names the daemon). Then snmpd is restarted under
//! keepalived-rs, which connects again on its own, a reload's new router id is served,
//! and with `-C` the checker child serves the scalars.
//!
//! The VRRP MIBs: the reference configuration of `tests/data/snmp` (a sync group of a
//! VRRPv2 and a VRRPv3 instance, an IPv6 instance, tracked interface and script, VIPs,
//! excluded VIPs and a route) under keepalived 2.2.7 and under keepalived-rs, each on a
//! copy of the same two links, give the same walks of the KEEPALIVED-MIB vrrp tables,
//! RFC 2787 and RFC 6527 when every instance is MASTER and while the tracked link is
//! down, and the same traps at start, on the fault, on the return and at the stop.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use keepalived_tests::host::{runnable, tmp_dir, wait_for, Daemon, Netns, Pair};

const GLOBAL: &str = ".1.3.6.1.4.1.9586.100.5.1";

fn conf(dir: &Path, tag: &str, iface: &str, router_id: &str) -> PathBuf {
    let p = dir.join(format!("{tag}.conf"));
    std::fs::write(
        &p,
        format!(
            "global_defs {{\n  router_id {router_id}\n  notification_email {{\n    ops@example.com\n    noc@example.com\n  }}\n  \
             notification_email_from kad@example.com\n  smtp_server 192.0.2.25 2525\n  smtp_connect_timeout 20\n  \
             enable_traps\n  smtp_alert_vrrp false\n}}\n\
             vrrp_instance VI_1 {{\n  interface {iface}\n  virtual_router_id 77\n  priority 100\n  advert_int 1\n  \
             virtual_ipaddress {{\n    10.77.0.100/24\n  }}\n}}\n"
        ),
    )
    .unwrap();
    p
}

/// snmpd in `ns`, master agent on `sock`, answering SNMPv2c on 127.0.0.1:1161.
fn snmpd(ns: &str, dir: &Path, tag: &str, sock: &Path) -> Child {
    snmpd_with(ns, dir, tag, sock, "")
}

/// [`snmpd`] with more lines of configuration.
fn snmpd_with(ns: &str, dir: &Path, tag: &str, sock: &Path, extra: &str) -> Child {
    let conf = dir.join(format!("{tag}-snmpd.conf"));
    std::fs::write(
        &conf,
        format!(
            "master agentx\nagentXSocket unix:{}\nagentaddress udp:127.0.0.1:1161\nrocommunity public 127.0.0.1\n{extra}",
            sock.display()
        ),
    )
    .unwrap();
    let log = std::fs::File::create(dir.join(format!("{tag}-snmpd.log"))).unwrap();
    Command::new("ip")
        .args(["netns", "exec", ns, "snmpd", "-f", "-Lo", "-C", "-c"])
        .arg(&conf)
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("snmpd")
}

/// The walk of `oid` in `ns`, numerically, one `OID = TYPE: value` a line; empty when
/// nothing answers.
fn walk(ns: &str, oid: &str) -> Vec<String> {
    let out = Command::new("ip")
        .args([
            "netns", "exec", ns, "snmpwalk", "-v2c", "-c", "public", "-On", "-Ob", "-t", "1", "-r",
            "0",
        ])
        .args(["127.0.0.1:1161", oid])
        .stderr(Stdio::null())
        .output()
        .expect("snmpwalk");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with(oid))
        .map(str::to_string)
        .collect()
}

fn stop(mut c: Child) {
    let _ = c.kill();
    let _ = c.wait();
}

#[test]
fn global_scalars_walk_as_keepalived_and_survive_an_snmpd_restart() {
    if !runnable(
        "global_scalars_walk_as_keepalived_and_survive_an_snmpd_restart",
        &["ip", "keepalived", "snmpd", "snmpwalk"],
    ) {
        return;
    }
    let dir = tmp_dir("snmp");
    let pair = Pair::new("ksp", 77);
    let (ns_k, ns_r) = (pair.ns[0].name.clone(), pair.ns[1].name.clone());
    let (sock_k, sock_r) = (dir.join("k.sock"), dir.join("r.sock"));
    let snmpd_k = snmpd(&ns_k, &dir, "k", &sock_k);
    let mut snmpd_r = snmpd(&ns_r, &dir, "r", &sock_r);
    assert!(
        wait_for(Duration::from_secs(10), || sock_k.exists()
            && sock_r.exists())
        .is_some(),
        "snmpd did not start: {}",
        std::fs::read_to_string(dir.join("k-snmpd.log")).unwrap_or_default()
    );
    let conf_k = conf(&dir, "k", &pair.ifs[0], "snmp-side-by-side");
    let conf_r = conf(&dir, "r", &pair.ifs[1], "snmp-side-by-side");
    let (ak, ar) = (
        format!("unix:{}", sock_k.display()),
        format!("unix:{}", sock_r.display()),
    );
    let file = |t: &str, e: &str| dir.join(format!("{t}.{e}")).display().to_string();
    let keepalived = Daemon::start(
        &pair.ns[0],
        Path::new("keepalived"),
        &[
            "-P",
            "-x",
            "-A",
            &ak,
            "-n",
            "-l",
            "-D",
            "-f",
            &conf_k.display().to_string(),
            "-p",
            &file("k", "p"),
            "-r",
            &file("k", "r"),
        ],
        dir.join("k.log"),
    );
    let ours = Daemon::ours(&pair.ns[1], &conf_r, &dir, "r", &["-P", "-x", "-A", &ar]);
    let full = |ns: &str| {
        let w = walk(ns, GLOBAL);
        (w.len() >= 15).then_some(w)
    };
    let mut theirs = None;
    let mut mine = None;
    wait_for(Duration::from_secs(20), || {
        theirs = theirs.take().or_else(|| full(&ns_k));
        mine = mine.take().or_else(|| full(&ns_r));
        theirs.is_some() && mine.is_some()
    });
    let (theirs, mine) = (
        theirs.unwrap_or_else(|| {
            panic!(
                "keepalived's walk: {:?}\n{}",
                walk(&ns_k, GLOBAL),
                keepalived.log_text()
            )
        }),
        mine.unwrap_or_else(|| panic!("our walk: {:?}\n{}", walk(&ns_r, GLOBAL), ours.log_text())),
    );
    // version.0 names the daemon; everything else is the same object for object.
    let normal = |w: &[String]| -> Vec<String> {
        w.iter()
            .map(|l| {
                if l.starts_with(&format!("{GLOBAL}.1.0 ")) {
                    format!("{GLOBAL}.1.0 = STRING: (version)")
                } else {
                    l.clone()
                }
            })
            .collect()
    };
    assert_eq!(
        normal(&mine),
        normal(&theirs),
        "ours:\n{}\nkeepalived:\n{}",
        mine.join("\n"),
        theirs.join("\n")
    );
    assert!(
        mine.iter().any(|l| l.contains("Keepalived v2.2.7")),
        "{mine:?}"
    );
    // The module is in sysORTable, as keepalived puts it there.
    let sys_or = |ns: &str| walk(ns, ".1.3.6.1.2.1.1.9.1.3");
    for ns in [&ns_k, &ns_r] {
        assert!(
            sys_or(ns)
                .iter()
                .any(|l| l.contains("The MIB module for Keepalived\"")),
            "{ns}: {:?}",
            sys_or(ns)
        );
    }
    keepalived.stop();
    stop(snmpd_k);

    // snmpd goes away and comes back: the sub-agent opens a new session on its own
    // (backoff 1 s, 2 s, 4 s…).
    stop(snmpd_r);
    let _ = std::fs::remove_file(&sock_r);
    std::thread::sleep(Duration::from_millis(1500));
    snmpd_r = snmpd(&ns_r, &dir, "r2", &sock_r);
    assert!(
        wait_for(Duration::from_secs(20), || full(&ns_r).is_some()).is_some(),
        "no walk after snmpd restarted:\n{}",
        ours.log_text()
    );
    // A reload's router id is what the MIB says.
    std::fs::write(
        &conf_r,
        std::fs::read_to_string(&conf_r)
            .unwrap()
            .replace("snmp-side-by-side", "snmp-reloaded"),
    )
    .unwrap();
    ours.signal(libc::SIGHUP);
    assert!(
        wait_for(Duration::from_secs(10), || walk(&ns_r, GLOBAL)
            .iter()
            .any(|l| l.contains("\"snmp-reloaded\"")))
        .is_some(),
        "router id not reloaded: {:?}",
        walk(&ns_r, GLOBAL)
    );
    ours.stop();
    // With -C there is no VRRP child: the checker child serves the global scalars, as
    // keepalived's does when it runs alone (`vrrp_handles_global_oid()`).
    let conf_c = dir.join("c.conf");
    std::fs::write(
        &conf_c,
        std::fs::read_to_string(&conf_r).unwrap()
            + "virtual_server 10.77.0.100 80 {\n  delay_loop 5\n  protocol TCP\n  \
               real_server 192.168.77.1 80 {\n    TCP_CHECK {\n      connect_timeout 1\n    }\n  }\n}\n",
    )
    .unwrap();
    let checker = Daemon::ours(&pair.ns[1], &conf_c, &dir, "c", &["-C", "-x", "-A", &ar]);
    assert!(
        wait_for(Duration::from_secs(20), || full(&ns_r).is_some()).is_some(),
        "no walk from the checker child:\n{}",
        checker.log_text()
    );
    checker.stop();
    stop(snmpd_r);
}

/// One side of the VRRP MIB comparison: the reference host of `tests/data/snmp`
/// (`capture.sh`): eth0 (02:00:00:00:00:01, 192.0.2.2/24, 2001:db8::2/64) and eth1
/// (02:00:00:00:00:02, tracked) to a peer namespace, snmpd forwarding traps to snmptrapd.
struct Host {
    ns: Netns,
    _peer: Netns,
    sock: PathBuf,
    traps: PathBuf,
    snmpd: Child,
    trapd: Child,
}

impl Drop for Host {
    // snmpd and snmptrapd go with the host, whether the test passed or not.
    fn drop(&mut self) {
        for c in [&mut self.snmpd, &mut self.trapd] {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn host(dir: &Path, tag: &str) -> Host {
    let ns = Netns::new(&format!("ksq{tag}"));
    let peer = Netns::new(&format!("ksq{tag}p"));
    ns.without_dad();
    peer.without_dad();
    for (dev, mac) in [("eth0", "02:00:00:00:00:01"), ("eth1", "02:00:00:00:00:02")] {
        let far = format!("{dev}p");
        ns.ip(&[
            "link", "add", dev, "type", "veth", "peer", "name", &far, "netns", &peer.name,
        ]);
        ns.ip(&["link", "set", dev, "address", mac]);
        ns.ip(&["link", "set", dev, "up"]);
        peer.ip(&["link", "set", &far, "up"]);
    }
    ns.ip(&["addr", "add", "192.0.2.2/24", "dev", "eth0"]);
    ns.ip(&["addr", "add", "2001:db8::2/64", "dev", "eth0", "nodad"]);
    peer.ip(&["link", "set", "eth0p", "address", "02:00:00:00:00:03"]);
    peer.ip(&["addr", "add", "192.0.2.3/24", "dev", "eth0p"]);
    let traps = dir.join(format!("{tag}-traps.log"));
    let trapd_conf = dir.join(format!("{tag}-snmptrapd.conf"));
    std::fs::write(&trapd_conf, keepalived_tests::snmp::SNMPTRAPD_CONF).unwrap();
    let persist = dir.join(format!("{tag}-persist"));
    std::fs::create_dir_all(&persist).unwrap();
    let trapd = Command::new("ip")
        .args(["netns", "exec", &ns.name, "snmptrapd", "-f", "-C", "-c"])
        .arg(&trapd_conf)
        .arg("-Lf")
        .arg(&traps)
        .args([
            "-On",
            "-Ob",
            "--disableAuthorization=yes",
            "udp:127.0.0.1:1162",
        ])
        .env("SNMP_PERSISTENT_DIR", &persist)
        .env("MIBS", "")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("snmptrapd");
    let sock = dir.join(format!("{tag}.sock"));
    let snmpd = snmpd_with(
        &ns.name,
        dir,
        tag,
        &sock,
        "trap2sink 127.0.0.1:1162 public\n",
    );
    assert!(
        wait_for(Duration::from_secs(10), || sock.exists()).is_some(),
        "snmpd did not start"
    );
    Host {
        ns,
        _peer: peer,
        sock,
        traps,
        snmpd,
        trapd,
    }
}

const VRRP: &str = ".1.3.6.1.4.1.9586.100.5.2";
const RFC2787: &str = ".1.3.6.1.2.1.68";
const RFC6527: &str = ".1.3.6.1.2.1.207";

/// The three VRRP MIBs' walks, with what depends on how long the run lasted (time
/// ticks, advert counts, transitions) replaced by its type.
fn vrrp_walk(ns: &str) -> Vec<String> {
    // Counters that grow with the run: RFC 2787 stats 1, 2, 7; RFC 6527 stats 1, 3, 8.
    let run_length = [
        ".1.3.6.1.2.1.68.2.4.1.1.",
        ".1.3.6.1.2.1.68.2.4.1.2.",
        ".1.3.6.1.2.1.68.2.4.1.7.",
        ".1.3.6.1.2.1.207.1.2.5.1.1.",
        ".1.3.6.1.2.1.207.1.2.5.1.3.",
        ".1.3.6.1.2.1.207.1.2.5.1.8.",
    ];
    [VRRP, RFC2787, RFC6527]
        .iter()
        .flat_map(|oid| walk(ns, oid))
        .map(|l| {
            let (name, value) = l.split_once(" = ").unwrap_or((&l, ""));
            if value.starts_with("Timeticks:") {
                format!("{name} = Timeticks")
            } else if run_length.iter().any(|p| name.starts_with(p)) {
                format!("{name} = {}", value.split(':').next().unwrap_or(""))
            } else {
                l.trim_end().to_string()
            }
        })
        .collect()
}

#[test]
fn vrrp_mibs_and_traps_are_keepalived_2_2_7s() {
    if !runnable(
        "vrrp_mibs_and_traps_are_keepalived_2_2_7s",
        &["ip", "keepalived", "snmpd", "snmpwalk", "snmptrapd"],
    ) {
        return;
    }
    let dir = tmp_dir("snmp-vrrp");
    let conf = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/snmp/vrrp.conf");
    let (k, r) = (host(&dir, "1"), host(&dir, "2"));
    let file = |t: &str, e: &str| dir.join(format!("{t}.{e}")).display().to_string();
    let (ak, ar) = (
        format!("unix:{}", k.sock.display()),
        format!("unix:{}", r.sock.display()),
    );
    let keepalived = Daemon::start(
        &k.ns,
        Path::new("keepalived"),
        &[
            "-P",
            "-x",
            "-A",
            &ak,
            "-n",
            "-l",
            "-D",
            "-f",
            &conf.display().to_string(),
            "-p",
            &file("k", "p"),
            "-r",
            &file("k", "r"),
        ],
        dir.join("k.log"),
    );
    let ours = Daemon::ours(&r.ns, &conf, &dir, "r", &["-P", "-x", "-A", &ar]);
    let masters = |d: &Daemon| d.log_text().matches("Entering MASTER STATE").count() >= 3;
    assert!(
        wait_for(Duration::from_secs(20), || masters(&keepalived)
            && masters(&ours))
        .is_some(),
        "not every instance became MASTER:\n{}\n{}",
        keepalived.log_text(),
        ours.log_text()
    );
    // Settled: both walks stable.
    std::thread::sleep(Duration::from_secs(2));
    let compare = |when: &str| {
        let (theirs, mine) = (vrrp_walk(&k.ns.name), vrrp_walk(&r.ns.name));
        assert!(theirs.len() > 100, "{when}: keepalived's walk: {theirs:?}");
        let diff: Vec<String> = theirs
            .iter()
            .zip(mine.iter().chain(std::iter::repeat(&String::new())))
            .filter(|(a, b)| a != b)
            .map(|(a, b)| format!("keepalived: {a}\n      ours: {b}"))
            .collect();
        assert!(
            diff.is_empty() && theirs.len() == mine.len(),
            "{when}: {} of {} lines differ ({} vs {} lines):\n{}",
            diff.len(),
            theirs.len(),
            theirs.len(),
            mine.len(),
            diff.join("\n")
        );
    };
    compare("all MASTER");
    // The tracked link goes down: VI_V2 faults and its sync group takes VI_V3.
    for h in [&k, &r] {
        h.ns.ip(&["link", "set", "eth1", "down"]);
    }
    let faults = |d: &Daemon| d.log_text().matches("Entering FAULT STATE").count() >= 2;
    assert!(
        wait_for(Duration::from_secs(10), || faults(&keepalived)
            && faults(&ours))
        .is_some(),
        "no FAULT:\n{}\n{}",
        keepalived.log_text(),
        ours.log_text()
    );
    std::thread::sleep(Duration::from_secs(2));
    compare("eth1 down");
    for h in [&k, &r] {
        h.ns.ip(&["link", "set", "eth1", "up"]);
    }
    let back = |d: &Daemon| d.log_text().matches("Entering MASTER STATE").count() >= 5;
    assert!(
        wait_for(Duration::from_secs(20), || back(&keepalived) && back(&ours)).is_some(),
        "not MASTER again:\n{}\n{}",
        keepalived.log_text(),
        ours.log_text()
    );
    std::thread::sleep(Duration::from_secs(1));
    keepalived.stop();
    ours.stop();
    std::thread::sleep(Duration::from_secs(1));
    let (theirs, mine) = (
        keepalived_tests::snmp::traps(&k.traps),
        keepalived_tests::snmp::traps(&r.traps),
    );
    assert!(theirs.len() >= 20, "keepalived's traps: {theirs:#?}");
    assert_eq!(
        mine,
        theirs,
        "ours:\n{}\n\nkeepalived:\n{}",
        mine.join("\n--\n"),
        theirs.join("\n--\n")
    );
}
