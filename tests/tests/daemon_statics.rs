//! `static_ipaddress`, `static_routes`, `static_rules` and `track_group` against
//! keepalived 2.2.7: each daemon in turn runs the same configuration in the same network
//! namespace, and the host's addresses, routes and rules (`ip -j`) must be the same sets
//! after start, after a SIGHUP reload to a configuration that drops, changes and adds
//! items, and after SIGTERM (which takes them all away again). A static address deleted
//! by hand is put back by both; a `track_group` sends its instance to FAULT while the
//! static address's interface is down, for both.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use keepalived_tests::host::{can_run, tmp_dir, wait_for, Daemon, Netns};

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

/// A namespace with the veth pair `kst9a`/`kst9b` inside it, both up, 192.168.90.1/24 on
/// `kst9a`, and no duplicate address detection.
fn namespace(name: &str) -> Netns {
    let ns = Netns::new(name);
    ns.without_dad();
    ns.ip(&[
        "link", "add", "kst9a", "type", "veth", "peer", "name", "kst9b",
    ]);
    for i in ["kst9a", "kst9b"] {
        let _ = ns
            .command("sysctl")
            .args(["-qw", &format!("net.ipv6.conf.{i}.accept_dad=0")])
            .output();
        ns.ip(&["link", "set", i, "up"]);
    }
    ns.ip(&["addr", "add", "192.168.90.1/24", "dev", "kst9a"]);
    ns
}

/// What the host holds: every address entry, every IPv4 and IPv6 route of every table,
/// every IPv4 and IPv6 rule, each as one line of JSON.
fn snapshot(ns: &Netns) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let json = |args: &[&str]| -> serde_json::Value {
        let o = ns.ip(args);
        serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|e| panic!("ip {args:?}: {e}: {}", String::from_utf8_lossy(&o.stdout)))
    };
    for link in json(&["-j", "addr"]).as_array().into_iter().flatten() {
        let ifname = link["ifname"].as_str().unwrap_or_default();
        for a in link["addr_info"].as_array().into_iter().flatten() {
            out.insert(format!("addr {ifname} {a}"));
        }
    }
    for args in [
        ["-j", "-4", "route", "show", "table", "all"],
        ["-j", "-6", "route", "show", "table", "all"],
    ] {
        for r in json(&args).as_array().into_iter().flatten() {
            out.insert(format!("route {r}"));
        }
    }
    for args in [["-j", "-4", "rule"], ["-j", "-6", "rule"]] {
        for r in json(&args).as_array().into_iter().flatten() {
            out.insert(format!("rule {r}"));
        }
    }
    out
}

fn has(snap: &BTreeSet<String>, what: &str) -> bool {
    snap.iter().any(|l| l.contains(what))
}

/// The sets two snapshots differ by, for a failure message.
fn diff(a: &BTreeSet<String>, b: &BTreeSet<String>) -> String {
    let only = |x: &BTreeSet<String>, y: &BTreeSet<String>| {
        x.difference(y).cloned().collect::<Vec<_>>().join("\n  ")
    };
    format!(
        "keepalived only:\n  {}\nkeepalived-rs only:\n  {}",
        only(a, b),
        only(b, a)
    )
}

/// keepalived 2.2.7 in `ns`, VRRP only, on `conf`.
fn keepalived(ns: &Netns, conf: &Path, dir: &Path, tag: &str) -> Daemon {
    let file = |ext: &str| dir.join(format!("{tag}.{ext}")).display().to_string();
    let (conf, p, r, c) = (conf.display().to_string(), file("p"), file("r"), file("c"));
    Daemon::start(
        ns,
        Path::new(KEEPALIVED),
        &[
            "-n", "-l", "-D", "-P", "-f", &conf, "-p", &p, "-r", &r, "-c", &c,
        ],
        dir.join(format!("{tag}.log")),
    )
}

/// Both daemons, keepalived first.
#[derive(Clone, Copy, Debug)]
enum Which {
    Keepalived,
    Ours,
}

fn start(which: Which, ns: &Netns, conf: &Path, dir: &Path, tag: &str) -> Daemon {
    match which {
        Which::Keepalived => keepalived(ns, conf, dir, tag),
        Which::Ours => Daemon::ours(ns, conf, dir, tag, &["-P", "-D"]),
    }
}

const START: &str = "\
static_ipaddress {
  10.90.0.1/24 dev kst9a
  10.90.1.1/32 dev kst9a label kst9a:st
  10.90.2.1/24 brd + dev kst9a scope link
  2001:db8:90::1/64 dev kst9a
  2001:db8:90::5 dev kst9a
  10.90.4.1/24 dev kst9b no_track
  2001:db8:90::6 peer 2001:db8:90::7 dev kst9a
  2001:db8:93::8/64 dev kst9a home mngtmpaddr noprefixroute
  10.90.7.1/24 dev kst9a noprefixroute
  239.90.0.1/32 dev kst9a autojoin
  2001:db8:90::9/64 dev kst9a -nodad preferred_lft 30
}
static_routes {
  10.91.0.0/24 via 192.168.90.254 dev kst9a
  10.91.1.0/24 dev kst9a table 100 metric 50
  10.91.2.0/24 via 192.168.90.254 src 192.168.90.1 dev kst9a metric 10
  10.91.3.0/24 dev kst9a scope link table 101
  blackhole 10.91.4.0/24
  10.91.5.0/24 via 192.168.90.254 dev kst9a src 192.168.90.1 table 102
  2001:db8:91::/64 via 2001:db8:90::fe dev kst9a
}
static_rules {
  from 10.92.0.0/24 table 100 priority 100
  to 10.92.1.0/24 table 101 priority 101
  fwmark 7 table 100 priority 102
  from 10.92.2.1 to 10.92.3.0/24 lookup 101 priority 103
  from 2001:db8:92::/64 table 100 priority 104
  fwmark 0x10/0xf0 table 102 priority 105
}
";

// The reload drops 10.90.0.1 and adds 10.90.5.1; moves 10.91.2.0/24 to another gateway
// (another route: the old one goes, the new one comes); gives 10.91.5.0/24 a source that
// only exists once the new address is on (the replace fails, so the route is deleted and
// added again after the addresses); drops rule 101, changes 102's mark and adds 106.
const RELOAD: &str = "\
static_ipaddress {
  10.90.1.1/32 dev kst9a label kst9a:st
  10.90.2.1/24 brd + dev kst9a scope link
  2001:db8:90::1/64 dev kst9a
  2001:db8:90::5 dev kst9a
  10.90.4.1/24 dev kst9b no_track
  2001:db8:90::6 peer 2001:db8:90::7 dev kst9a
  2001:db8:93::8/64 dev kst9a home mngtmpaddr noprefixroute
  10.90.7.1/24 dev kst9a noprefixroute
  239.90.0.1/32 dev kst9a autojoin
  2001:db8:90::9/64 dev kst9a -nodad preferred_lft 30
  10.90.5.1/24 dev kst9a
}
static_routes {
  10.91.0.0/24 via 192.168.90.254 dev kst9a
  10.91.1.0/24 dev kst9a table 100 metric 50
  10.91.2.0/24 via 192.168.90.253 dev kst9a metric 10
  10.91.3.0/24 dev kst9a scope link table 101
  blackhole 10.91.4.0/24
  10.91.5.0/24 via 192.168.90.254 dev kst9a src 10.90.5.1 table 102
  2001:db8:91::/64 via 2001:db8:90::fe dev kst9a
}
static_rules {
  from 10.92.0.0/24 table 100 priority 100
  fwmark 8 table 100 priority 102
  from 10.92.2.1 to 10.92.3.0/24 lookup 101 priority 103
  from 2001:db8:92::/64 table 100 priority 104
  fwmark 0x10/0xf0 table 102 priority 105
  from 10.92.9.0/24 table 103 priority 106
}
";

/// The host after start, after the reload and after SIGTERM under `which`, and whether a
/// static address deleted by hand came back.
struct Run {
    started: BTreeSet<String>,
    reloaded: BTreeSet<String>,
    stopped: BTreeSet<String>,
    restored: bool,
    log: String,
}

fn run(which: Which, ns: &Netns, dir: &Path) -> Run {
    let conf = dir.join(format!("{which:?}.conf"));
    std::fs::write(&conf, START).unwrap();
    let d = start(which, ns, &conf, dir, &format!("{which:?}"));
    // The rules go on last.
    let settled = |ns: &Netns, want: &str, gone: &str| {
        wait_for(Duration::from_secs(10), || {
            let s = snapshot(ns);
            has(&s, want) && !has(&s, gone)
        })
        .is_some()
    };
    assert!(
        settled(ns, "\"priority\":105", "\"priority\":106"),
        "{which:?} installs the static items: {}",
        d.log_text()
    );
    std::thread::sleep(Duration::from_millis(500));
    let started = snapshot(ns);

    // Someone deletes a static address: it comes back.
    ns.ip(&["addr", "del", "10.90.1.1/32", "dev", "kst9a"]);
    let restored = wait_for(Duration::from_secs(3), || ns.holds("kst9a", "10.90.1.1")).is_some();

    std::fs::write(&conf, RELOAD).unwrap();
    d.signal(libc::SIGHUP);
    assert!(
        settled(ns, "\"priority\":106", "\"priority\":101"),
        "{which:?} applies the reload: {}",
        d.log_text()
    );
    std::thread::sleep(Duration::from_millis(500));
    let reloaded = snapshot(ns);

    let log = d.log_text();
    d.stop();
    std::thread::sleep(Duration::from_millis(300));
    let stopped = snapshot(ns);
    Run {
        started,
        reloaded,
        stopped,
        restored,
        log,
    }
}

#[test]
fn static_items_match_keepalived_through_start_reload_and_stop() {
    if !runnable("static_items_match_keepalived_through_start_reload_and_stop") {
        return;
    }
    let dir = tmp_dir("statics");
    let ns = namespace("kst90");
    let before = snapshot(&ns);
    let theirs = run(Which::Keepalived, &ns, &dir);
    assert_eq!(
        theirs.stopped,
        before,
        "keepalived leaves the host as it found it:\n{}",
        diff(&before, &theirs.stopped)
    );
    let ours = run(Which::Ours, &ns, &dir);

    for (what, a, b) in [
        ("after start", &theirs.started, &ours.started),
        ("after the reload", &theirs.reloaded, &ours.reloaded),
        ("after SIGTERM", &theirs.stopped, &ours.stopped),
    ] {
        assert!(
            a == b,
            "{what}, the host differs:\n{}\n--- our log:\n{}",
            diff(a, b),
            ours.log
        );
    }
    // What the comparisons stand on.
    assert!(has(&ours.started, "\"local\":\"10.90.0.1\""));
    assert!(has(&ours.started, "\"protocol\":\"keepalived\""));
    assert!(has(&ours.started, "\"address\":\"2001:db8:90::7\""));
    assert!(has(&ours.started, "\"mngtmpaddr\":true"));
    assert!(has(&ours.started, "\"autojoin\":true"));
    assert!(has(&ours.reloaded, "\"local\":\"10.90.5.1\""));
    assert!(!has(&ours.reloaded, "\"local\":\"10.90.0.1\""));
    assert!(has(&ours.reloaded, "\"gateway\":\"192.168.90.253\""));
    assert!(
        theirs.restored,
        "keepalived restores a deleted static address"
    );
    assert!(
        ours.restored,
        "we restore a deleted static address: {}",
        ours.log
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// With `-V` the static items still go at SIGTERM, for both daemons.
#[test]
fn static_items_go_at_stop_even_with_dont_release() {
    if !runnable("static_items_go_at_stop_even_with_dont_release") {
        return;
    }
    let dir = tmp_dir("statics-v");
    let ns = namespace("kst91");
    let before = snapshot(&ns);
    let conf = dir.join("v.conf");
    std::fs::write(&conf, START).unwrap();
    for which in [Which::Keepalived, Which::Ours] {
        let tag = format!("{which:?}-V");
        let d = match which {
            Which::Keepalived => {
                let file = |ext: &str| dir.join(format!("{tag}.{ext}")).display().to_string();
                let (c, p, r, k) = (conf.display().to_string(), file("p"), file("r"), file("c"));
                Daemon::start(
                    &ns,
                    Path::new(KEEPALIVED),
                    &[
                        "-n", "-l", "-D", "-P", "-V", "-f", &c, "-p", &p, "-r", &r, "-c", &k,
                    ],
                    dir.join(format!("{tag}.log")),
                )
            }
            Which::Ours => Daemon::ours(&ns, &conf, &dir, &tag, &["-P", "-V"]),
        };
        assert!(
            wait_for(Duration::from_secs(10), || has(
                &snapshot(&ns),
                "\"priority\":105"
            ))
            .is_some(),
            "{which:?} installs the static items: {}",
            d.log_text()
        );
        let log = d.log_text();
        d.stop();
        std::thread::sleep(Duration::from_millis(300));
        let after = snapshot(&ns);
        assert!(
            after == before,
            "{which:?} -V leaves static items behind:\n{}\n{log}",
            diff(&before, &after)
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A static address with `track_group` on `kst9b` makes VI_1 (on `kst9a`) track `kst9b`:
/// `kst9b` down sends it to FAULT (its VIP goes), back up returns it to MASTER. A static
/// route and rule with a `track_group` make both daemons watch route and rule deletions:
/// deleted by hand, they are put back.
#[test]
fn track_group_faults_the_instance_with_the_static_address_interface() {
    if !runnable("track_group_faults_the_instance_with_the_static_address_interface") {
        return;
    }
    let dir = tmp_dir("statics-tg");
    let ns = namespace("kst92");
    let conf = dir.join("tg.conf");
    std::fs::write(
        &conf,
        "track_group TG {\n  group {\n    VI_1\n  }\n}\n\
         static_ipaddress {\n  10.90.3.1/24 dev kst9b track_group TG\n}\n\
         static_routes {\n  10.91.0.0/24 via 192.168.90.254 dev kst9a track_group TG\n}\n\
         static_rules {\n  from 10.92.0.0/24 iif kst9a table 100 priority 100 track_group TG\n}\n\
         vrrp_instance VI_1 {\n  interface kst9a\n  state MASTER\n  virtual_router_id 92\n  \
         priority 200\n  advert_int 1\n  virtual_ipaddress {\n    10.90.9.9/32\n  }\n}\n",
    )
    .unwrap();
    for which in [Which::Keepalived, Which::Ours] {
        let d = start(which, &ns, &conf, &dir, &format!("{which:?}-tg"));
        let vip = || ns.holds("kst9a", "10.90.9.9");
        assert!(
            wait_for(Duration::from_secs(10), || vip()
                && ns.holds("kst9b", "10.90.3.1"))
            .is_some(),
            "{which:?}: master with its VIP and the static address: {}",
            d.log_text()
        );
        let route = || has(&snapshot(&ns), "\"dst\":\"10.91.0.0/24\"");
        let rule = || has(&snapshot(&ns), "\"priority\":100");
        assert!(route() && rule(), "{which:?} installs the route and rule");
        ns.ip(&["route", "del", "10.91.0.0/24"]);
        ns.ip(&["rule", "del", "priority", "100"]);
        assert!(
            wait_for(Duration::from_secs(3), || route() && rule()).is_some(),
            "{which:?} puts back the deleted static route and rule: {}",
            d.log_text()
        );
        ns.ip(&["link", "set", "kst9b", "down"]);
        assert!(
            wait_for(Duration::from_secs(5), || !vip()).is_some(),
            "{which:?}: the tracked interface down, the instance gives up its VIP: {}",
            d.log_text()
        );
        assert!(
            wait_for(Duration::from_secs(3), || d
                .log_text()
                .contains("Entering FAULT STATE"))
            .is_some(),
            "{which:?} logs FAULT: {}",
            d.log_text()
        );
        ns.ip(&["link", "set", "kst9b", "up"]);
        assert!(
            wait_for(Duration::from_secs(10), || vip()
                && ns.holds("kst9b", "10.90.3.1"))
            .is_some(),
            "{which:?}: back up, master again with the static address: {}",
            d.log_text()
        );
        d.stop();
        std::thread::sleep(Duration::from_millis(300));
        assert!(
            !ns.holds("kst9b", "10.90.3.1"),
            "{which:?} removes the static address at stop"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
