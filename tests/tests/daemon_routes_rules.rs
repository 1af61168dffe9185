//! `static_routes`, `static_rules`, `virtual_routes` and `virtual_rules` against
//! keepalived 2.2.7: each daemon runs the same configuration in a namespace of its own
//! with the same interfaces, and what the namespaces hold (`ip -d -j route show table
//! all`, `ip -j rule`, IPv4 and IPv6, normalised by `keepalived_tests::iproute`) must be
//! the same once the instance is MASTER, and again after SIGTERM. The routes and rules
//! use every option keepalived's `alloc_route()` and `alloc_rule()` take that the kernel
//! keeps: route types without a device, multipath, metrics with `lock`, rtt units,
//! `append`, IPv6 `pref`/`expires`/`from`, rule selectors and actions, priorities given
//! by keepalived, and names from iproute2's files: each namespace's `/etc/netns/NS/iproute2`,
//! which `ip netns exec` mounts on `/etc/iproute2` for the daemon, names table 100 `vipt`,
//! table 1000 `bigt` and realm 7 `myrealm`. `-t` must report the same lines as errors.

use std::path::{Path, PathBuf};
use std::time::Duration;

use keepalived_tests::host::{can_run, tmp_dir, wait_for, Daemon, Netns};
use keepalived_tests::iproute::{differences, render, Snapshot};

const KEEPALIVED: &str = "/usr/sbin/keepalived";

/// Whether `test` can run here; under CI it must.
fn runnable(test: &str) -> bool {
    let ok = can_run(test, &["ip", KEEPALIVED]);
    assert!(
        ok || std::env::var_os("CI").is_none(),
        "{test} must run in CI"
    );
    ok
}

const CONF: &str = "\
global_defs {
  router_id rr
  vrrp_garp_master_delay 0
}
static_routes {
  10.80.0.0/24 via 192.168.91.254 dev krr1 table vipt metric 5
  blackhole 10.80.1.0/24 no_track
  unreachable 10.80.2.0/24 no_track table 1000
  prohibit 10.80.3.0/24 no_track
  throw 10.80.4.0/24 no_track table vipt
  10.80.5.0/24 dev krr1 mtu lock 1400 advmss 1300 rtt 300ms rttvar 100ms reordering 5 window 1000 cwnd 10 ssthresh 20 rto_min 250ms initcwnd 12 initrwnd 13 features ecn quickack 1 congctl reno fastopen_no_cookie 1 hoplimit 60
  10.80.6.0/24 via 192.168.91.254 dev krr1 src 192.168.91.1 protocol zebra no_track scope global tos 0x10 realms 7 metric 20
  10.80.7.0/24 dev krr1 protocol 99 scope link
  10.80.8.0/24 nexthop via 192.168.91.254 dev krr1 weight 2 nexthop via 192.168.92.254 dev krr2 weight 3 onlink
  10.80.9.0/24 via 192.168.91.254 dev krr1 metric 30
  10.80.9.0/24 via 192.168.92.254 dev krr2 metric 30 append
  10.80.10.0/24 dev krr1 rtt 2000 rttvar 1000 realms cosmos/myrealm
  10.80.11.0/24 via 192.168.91.254 dev krr1 table main cwnd lock 5
  10.80.12.0/24 encap ip id 5 dst 10.0.0.9 tos 0x10 ttl 9 dev krr1
  10.80.13.0/24 nexthop via 192.168.91.254 dev krr1 encap ip id 7 dst 10.0.0.7 nexthop via 192.168.92.254 dev krr2
  2001:db8:87::/64 encap ip6 id 6 dst 2001:db8::9 hoplimit 7 dev krr1
  2001:db8:80::/64 via 2001:db8:91::fe dev krr1 metric 100 pref high mtu 1300
  2001:db8:81::/64 dev krr1 expires 300 table vipt
  blackhole 2001:db8:82::/64 no_track
  2001:db8:83::/64 from 2001:db8:91::/64 dev krr1
  2001:db8:84::/64 nexthop via 2001:db8:91::fe dev krr1 nexthop via 2001:db8:92::fe dev krr2
}
static_rules {
  from 10.81.0.0/24 table vipt priority 100
  from 10.81.1.0/24 blackhole priority 101
  from 10.81.2.0/24 fwmark 0x10/0xff lookup 1000 priority 102
  to 10.81.3.0/24 tos 0x10 realms 7 table main priority 103
  from 10.81.4.0/24 ipproto tcp sport 1000-2000 dport 53-53 table vipt priority 104
  from 10.81.5.0/24 uidrange 100-200 suppress_prefixlength 8 table vipt priority 105
  iif krr1 oif krr2 table vipt priority 106 suppress_ifgroup 5
  from 10.81.7.0/24 goto 110 priority 107
  from 10.81.8.0/24 nop priority 108
  not from 10.81.9.0/24 table bigt priority 109
  from 10.81.10.0/24 unreachable priority 110 protocol 99 no_track
  from 10.81.11.0/24 tunnel-id 1234 table vipt priority 111
  dev krr2 table vipt priority 112
  from 10.81.13.0/24 table vipt
  from 10.81.14.0/24 dport 53 table vipt priority 114
  from 2001:db8:81::/64 table vipt priority 200
  from 2001:db8:82::/64 to 2001:db8:83::/64 blackhole priority 201
  from 2001:db8:84::/64 table vipt
  l3mdev priority 300
}
vrrp_instance VI {
  state MASTER
  interface krr1
  virtual_router_id 91
  priority 200
  advert_int 1
  virtual_ipaddress {
    192.168.91.100/24
  }
  virtual_routes {
    10.82.0.0/24 via 192.168.91.254 dev krr1 table vipt
    blackhole 10.82.1.0/24
    10.82.2.0/24 dev krr1 mtu 1400 metric 7
    10.82.3.0/24 nexthop via 192.168.91.254 dev krr1 nexthop via 192.168.92.254 dev krr2
    2001:db8:85::/64 via 2001:db8:91::fe dev krr1 table 1000
    unreachable 2001:db8:86::/64 dev krr1
  }
  virtual_rules {
    from 10.82.0.0/24 table vipt priority 400
    from 10.82.5.0/24 fwmark 7 lookup vipt priority 401
    from 2001:db8:85::/64 table 1000 priority 402
    from 10.82.6.0/24 table vipt
  }
}
";

/// A namespace with the veth pairs `krr1`/`krr1p` and `krr2`/`krr2p` up, addresses on
/// `krr1` and `krr2`, no duplicate address detection, and iproute2 name files of its own.
struct Place {
    ns: Netns,
    etc: PathBuf,
}

impl Place {
    fn new(name: &str) -> Place {
        let ns = Netns::new(name);
        ns.without_dad();
        for (i, net) in [("krr1", 91), ("krr2", 92)] {
            let peer = format!("{i}p");
            ns.ip(&["link", "add", i, "type", "veth", "peer", "name", &peer]);
            for d in [i, peer.as_str()] {
                let _ = ns
                    .command("sysctl")
                    .args(["-qw", &format!("net.ipv6.conf.{d}.accept_dad=0")])
                    .output();
                ns.ip(&["link", "set", d, "up"]);
            }
            ns.ip(&["addr", "add", &format!("192.168.{net}.1/24"), "dev", i]);
            ns.ip(&["addr", "add", &format!("2001:db8:{net}::1/64"), "dev", i]);
        }
        // `ip netns exec NS` mounts /etc/netns/NS/iproute2 on /etc/iproute2.
        let etc = PathBuf::from(format!("/etc/netns/{name}"));
        let dir = etc.join("iproute2");
        std::fs::create_dir_all(&dir).expect("iproute2 directory");
        for f in [
            "rt_tables",
            "rt_protos",
            "rt_realms",
            "rt_dsfield",
            "rt_scopes",
            "group",
        ] {
            let mut text =
                std::fs::read_to_string(Path::new("/etc/iproute2").join(f)).unwrap_or_default();
            match f {
                "rt_tables" => text.push_str("100\tvipt\n1000\tbigt\n"),
                "rt_realms" => text.push_str("7\tmyrealm\n"),
                _ => {}
            }
            std::fs::write(dir.join(f), text).expect("name file");
        }
        Place { ns, etc }
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.etc);
    }
}

fn start(which: &str, place: &Place, conf: &Path, dir: &Path) -> Daemon {
    let file = |ext: &str| dir.join(format!("{which}.{ext}")).display().to_string();
    let (c, p, r, k) = (conf.display().to_string(), file("p"), file("r"), file("c"));
    let args = [
        "-n", "-l", "-D", "-P", "-f", &c, "-p", &p, "-r", &r, "-c", &k,
    ];
    let cmd = if which == "keepalived" {
        PathBuf::from(KEEPALIVED)
    } else {
        keepalived_tests::host::keepalived_rs()
    };
    Daemon::start(&place.ns, &cmd, &args, dir.join(format!("{which}.log")))
}

/// What `place` holds, without the local routes of the kernel's link-local addresses,
/// which differ between namespaces with the MAC addresses they come from.
fn take(place: &Place) -> Snapshot {
    let mut s = Snapshot::take(&place.ns);
    s.items.retain(|k, _| !k.contains(" fe80::"));
    s
}

/// The routes as `ip -d route show table all` prints them, which shows the `lock` of a
/// metric that the JSON leaves out, the kernel's own and IPv6 expiry counters left out.
fn route_text(place: &Place) -> Vec<String> {
    let mut out = Vec::new();
    for fam in ["-4", "-6"] {
        let o = place.ns.ip(&["-d", fam, "route", "show", "table", "all"]);
        for l in String::from_utf8_lossy(&o.stdout).lines() {
            if l.contains("proto kernel") || l.contains("fe80:") {
                continue;
            }
            let l = match l.find(" expires ") {
                Some(at) => {
                    let rest = &l[at + 9..];
                    let end = rest.find(' ').unwrap_or(rest.len());
                    format!("{} expires N{}", &l[..at], &rest[end..])
                }
                None => l.to_string(),
            };
            out.push(l);
        }
    }
    out.sort();
    out
}

/// Every route and rule the configuration names is installed (the VIP and the last
/// virtual rule are the last things a new MASTER adds).
fn settled(s: &Snapshot) -> bool {
    s.has("\"local\":\"192.168.91.100\"")
        && s.has("\"src\":\"10.82.6.0\",\"srclen\":24")
        && s.has("\"dst\":\"10.82.3.0/24\"")
}

#[test]
fn routes_and_rules_match_keepalived() {
    if !runnable("routes_and_rules_match_keepalived") {
        return;
    }
    let dir = tmp_dir("routes-rules");
    let conf = dir.join("keepalived.conf");
    std::fs::write(&conf, CONF).unwrap();
    let theirs = Place::new("krr-k");
    let ours = Place::new("krr-r");
    let empty = (take(&theirs), take(&ours));
    assert_eq!(
        differences(&empty.0, &empty.1, ("keepalived", "keepalived-rs")),
        [],
        "the namespaces differ before the daemons start"
    );

    let k = start("keepalived", &theirs, &conf, &dir);
    let r = start("keepalived-rs", &ours, &conf, &dir);
    for (name, place, d) in [("keepalived", &theirs, &k), ("keepalived-rs", &ours, &r)] {
        assert!(
            wait_for(Duration::from_secs(10), || settled(&take(place))).is_some(),
            "{name} did not install its routes and rules:\n{}",
            d.log_text()
        );
    }
    // Give the slower one's last messages time to land.
    std::thread::sleep(Duration::from_millis(500));
    let (a, b) = (take(&theirs), take(&ours));
    let diffs = differences(&a, &b, ("keepalived", "keepalived-rs"));
    assert!(
        diffs.is_empty(),
        "after start:\n{}\nkeepalived-rs log:\n{}",
        render(&diffs),
        r.log_text()
    );
    let (ta, tb) = (route_text(&theirs), route_text(&ours));
    assert_eq!(ta, tb, "ip -d route show table all");
    assert!(ta.iter().any(|l| l.contains("mtu lock 1400")), "{ta:#?}");
    // A sample of what both hold, so that a daemon doing nothing cannot pass.
    for want in [
        "\"dst\":\"10.80.1.0/24\"",
        "\"type\":\"throw\"",
        "\"weight\":3",
        "\"mtu\":1400",
        "\"table\":\"vipt\"",
        "\"fwmask\":\"0xff\"",
        "\"priority\":16383",
        "\"pref\":\"high\"",
    ] {
        assert!(a.has(want), "keepalived holds no {want}");
    }

    // A reload to the same routes and rules with `main` written as 254 (and the
    // default table written as `main`) changes nothing: no route or rule is deleted.
    let reloaded = CONF
        .replace(
            "10.80.11.0/24 via 192.168.91.254 dev krr1 table main",
            "10.80.11.0/24 via 192.168.91.254 dev krr1 table 254",
        )
        .replace(
            "10.82.2.0/24 dev krr1 mtu 1400",
            "10.82.2.0/24 dev krr1 table main mtu 1400",
        )
        .replace(
            "tos 0x10 realms 7 table main priority 103",
            "tos 0x10 realms 7 table 254 priority 103",
        );
    assert_ne!(reloaded, CONF);
    std::fs::write(&conf, reloaded).unwrap();
    let monitors: Vec<_> = [&theirs, &ours]
        .iter()
        .map(|p| {
            std::process::Command::new("ip")
                .args(["-n", &p.ns.name, "monitor", "route", "rule"])
                .stdout(std::process::Stdio::piped())
                .spawn()
                .expect("ip monitor")
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    k.signal(libc::SIGHUP);
    r.signal(libc::SIGHUP);
    std::thread::sleep(Duration::from_secs(3));
    for (mut m, name) in monitors.into_iter().zip(["keepalived", "keepalived-rs"]) {
        let _ = m.kill();
        let out = m.wait_with_output().expect("ip monitor");
        let text = String::from_utf8_lossy(&out.stdout);
        let deleted: Vec<&str> = text.lines().filter(|l| l.starts_with("Deleted")).collect();
        assert!(deleted.is_empty(), "{name} deleted on reload: {deleted:#?}");
    }
    // The errors keepalived steps over (routes it cannot track, priorities it gives) do
    // not stop the reload.
    assert!(!r.log_text().contains("Reload refused"), "{}", r.log_text());
    let (a, b) = (take(&theirs), take(&ours));
    let diffs = differences(&a, &b, ("keepalived", "keepalived-rs"));
    assert!(diffs.is_empty(), "after SIGHUP:\n{}", render(&diffs));

    k.stop();
    r.stop();
    let (a, b) = (take(&theirs), take(&ours));
    let diffs = differences(&a, &b, ("keepalived", "keepalived-rs"));
    assert!(diffs.is_empty(), "after SIGTERM:\n{}", render(&diffs));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The config lines `-t` reports as errors: keepalived's `(FILE: Line N) …` and ours
/// `FILE:N:COL: error: …`.
fn error_lines(text: &str) -> Vec<u32> {
    let mut lines: Vec<u32> = text
        .lines()
        .filter_map(|l| {
            if let Some(rest) = l.split(": Line ").nth(1) {
                return rest.split(')').next()?.parse().ok();
            }
            if l.contains(": error: ") {
                return l.split(':').nth(1)?.parse().ok();
            }
            None
        })
        .collect();
    lines.sort_unstable();
    lines.dedup();
    lines
}

#[test]
fn config_test_reports_the_same_lines() {
    if !runnable("config_test_reports_the_same_lines") {
        return;
    }
    let dir = tmp_dir("routes-rules-t");
    let conf = dir.join("keepalived.conf");
    std::fs::write(&conf, CONF).unwrap();
    let place = Place::new("krr-t");
    let c = conf.display().to_string();
    let run = |cmd: &Path| {
        let o = place
            .ns
            .command(&cmd.display().to_string())
            .args(["-t", "-f", &c])
            .output()
            .expect("-t");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        (o.status.code(), text)
    };
    let (kc, kt) = run(Path::new(KEEPALIVED));
    let (rc, rt) = run(&keepalived_tests::host::keepalived_rs());
    assert_ne!(kc, Some(0), "{kt}");
    assert_ne!(rc, Some(0), "{rt}");
    // Routes without dev that cannot be tracked, a tracked route with its own protocol,
    // rules without priority, a single dport.
    let want = error_lines(&kt);
    assert!(want.len() >= 8, "{kt}");
    assert_eq!(
        error_lines(&rt),
        want,
        "keepalived:\n{kt}\nkeepalived-rs:\n{rt}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// global_defs `iproute_etc_dir` (a later keepalived's keyword; 2.2.7 reads
/// /etc/iproute2 only) points keepalived-rs at another directory of name files.
#[test]
fn iproute_etc_dir_names_the_tables() {
    if !runnable("iproute_etc_dir_names_the_tables") {
        return;
    }
    let dir = tmp_dir("routes-rules-etc");
    let names = dir.join("iproute2");
    std::fs::create_dir_all(&names).unwrap();
    std::fs::write(names.join("rt_tables"), "123\tfromdir\n").unwrap();
    std::fs::write(names.join("rt_realms"), "9\tdirrealm\n").unwrap();
    let conf = dir.join("keepalived.conf");
    std::fs::write(
        &conf,
        format!(
            "global_defs {{\n  iproute_etc_dir {}\n}}\n\
             static_routes {{\n  10.88.0.0/24 dev krr1 table fromdir realms dirrealm\n}}\n\
             static_rules {{\n  from 10.88.1.0/24 lookup fromdir priority 88\n}}\n",
            names.display()
        ),
    )
    .unwrap();
    let place = Place::new("krr-e");
    let d = start("keepalived-rs", &place, &conf, &dir);
    let routed = || {
        let s = take(&place);
        s.has("\"dst\":\"10.88.0.0/24\"") && s.has("\"table\":\"123\"") && s.has("\"priority\":88")
    };
    assert!(
        wait_for(Duration::from_secs(10), routed).is_some(),
        "{:#?}\n{}",
        take(&place).items.keys().collect::<Vec<_>>(),
        d.log_text()
    );
    let o = place.ns.ip(&["-d", "route", "show", "table", "123"]);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("realm 9"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    d.stop();
    let _ = std::fs::remove_dir_all(&dir);
}
