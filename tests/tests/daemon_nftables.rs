//! `vrrp_strict`'s drop rules, on keepalived-rs and on keepalived 2.2.7 in turn, each in
//! a namespace pair of its own with the same configuration: an IPv4 instance (VRRPv2,
//! so never in accept mode), an IPv4 VRRPv3 instance with `accept`, and an IPv6 instance
//! with a link-local and a global VIP. Once all three are master:
//! - the ruleset (`nft -j list ruleset`, handles left out and set elements sorted) is the
//!   same: tables `ip keepalived` and `ip6 keepalived`, chains, hooks, priorities, sets
//!   and elements, the accept instance's VIP in none of them; a stale `keepalived` table
//!   from an earlier run is gone;
//! - from the peer namespace, a ping and a TCP connection to the no-accept VIPs go
//!   unanswered, and to the accept instance's VIP are answered;
//! - adverts of all three instances still reach the peer, from the interface's own
//!   addresses;
//! - when a peer of higher priority takes the IPv4 no-accept instance over, its VIP leaves
//!   the `ip vips` set and the tables stay;
//! - after SIGTERM no table is left.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::time::Duration;

use keepalived_tests::host::{
    adverts, in_netns, run, runnable, tmp_dir, wait_for, Capture, Daemon, Pair,
};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Ours,
    Keepalived,
}

const NET: u8 = 93;
const V4: &str = "192.168.93.100";
const V4_ACCEPT: &str = "192.168.93.110";
const V6: &str = "fd00:93::100";
const V6_LL: &str = "fe80::100";
const PORT: u16 = 9393;

fn config(iface: &str) -> String {
    format!(
        "global_defs {{\n  vrrp_strict\n}}\n\
         vrrp_instance V4 {{\n  interface {iface}\n  virtual_router_id 51\n  priority 100\n  advert_int 1\n  virtual_ipaddress {{\n    {V4}/24\n  }}\n}}\n\
         vrrp_instance V4A {{\n  interface {iface}\n  version 3\n  accept\n  virtual_router_id 52\n  priority 100\n  advert_int 1\n  virtual_ipaddress {{\n    {V4_ACCEPT}/24\n  }}\n}}\n\
         vrrp_instance V6 {{\n  interface {iface}\n  version 3\n  virtual_router_id 53\n  priority 100\n  advert_int 1\n  virtual_ipaddress {{\n    {V6_LL}/64\n    {V6}/64\n  }}\n}}\n"
    )
}

/// The ruleset of namespace `ns` as `nft -j` lists it, without handles or the metainfo,
/// set elements sorted and the objects in a fixed order.
fn ruleset(ns: &str) -> Vec<Value> {
    let out = run("ip", &["netns", "exec", ns, "nft", "-j", "list", "ruleset"]);
    let v: Value = serde_json::from_slice(&out.stdout).expect("nft -j output");
    fn strip(v: &mut Value) {
        match v {
            Value::Object(m) => {
                m.remove("handle");
                // What a counter has counted depends on the traffic of the moment.
                if let Some(c) = m.get_mut("counter") {
                    *c = Value::Null;
                }
                if let Some(Value::Array(e)) = m.get_mut("elem") {
                    e.sort_by_key(|x| x.to_string());
                }
                m.values_mut().for_each(strip);
            }
            Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut objs: Vec<Value> = v["nftables"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|o| o.get("metainfo").is_none())
        .collect();
    objs.iter_mut().for_each(strip);
    objs.sort_by_key(|o| o.to_string());
    objs
}

fn pings(ns: &str, addr: &str) -> bool {
    std::process::Command::new("ip")
        .args(["netns", "exec", ns, "ping", "-c", "1", "-W", "1", addr])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn connects(ns: &str, addr: &str) -> bool {
    let to = SocketAddr::new(addr.parse().unwrap(), PORT);
    in_netns(ns, || {
        TcpStream::connect_timeout(&to, Duration::from_millis(1500)).is_ok()
    })
}

/// What one daemon did: its ruleset as master, what the peer could reach, the adverts
/// the peer heard per VRID, and the ruleset after SIGTERM.
#[derive(Debug)]
struct Seen {
    ruleset: Vec<Value>,
    reached: Vec<(&'static str, bool, bool)>,
    adverts: Vec<(u8, usize)>,
    /// Once a higher-priority peer has taken the IPv4 no-accept instance over.
    as_backup: Vec<Value>,
    after_stop: Vec<Value>,
}

fn observe(who: Who, dir: &Path) -> Seen {
    let pair = Pair::new("nft", NET);
    let (host, peer) = (&pair.ns[0], &pair.ns[1]);
    peer.ip(&["addr", "add", "fd00:93::2/64", "dev", &pair.ifs[1], "nodad"]);
    // A table left by an earlier run, which the daemon replaces.
    let nft = |args: &[&str]| {
        let mut a = vec!["netns", "exec", &host.name, "nft"];
        a.extend_from_slice(args);
        run("ip", &a);
    };
    nft(&["add", "table", "ip", "keepalived"]);
    nft(&["add", "chain", "ip", "keepalived", "stale"]);
    let conf = dir.join(format!("{who:?}.conf"));
    std::fs::write(&conf, config(&pair.ifs[0])).unwrap();
    // Something listening on every address of the host, VIPs included.
    let listener = in_netns(&host.name, || {
        TcpListener::bind(("::", PORT)).expect("listen")
    });
    let (daemon, as_master) = master(
        who,
        &pair,
        &conf,
        dir,
        &format!("{who:?}"),
        &[V4, V4_ACCEPT, V6, V6_LL].map(|a| (None, a)),
    );
    let cap = Capture::start(
        peer,
        &pair.ifs[1],
        "ip proto 112 or ip6 proto 112",
        &dir.join(format!("{who:?}-adverts")),
    );
    let mut reached = Vec::new();
    for addr in [V4, V6, V4_ACCEPT] {
        reached.push((addr, pings(&peer.name, addr), connects(&peer.name, addr)));
    }
    std::thread::sleep(Duration::from_millis(2500));
    let text = cap.text();
    drop(cap);
    let adverts = [51, 52, 53]
        .into_iter()
        .map(|vrid| (vrid, adverts(&text, vrid).len()))
        .collect();
    assert!(
        text.lines()
            .all(|l| !l.contains(&format!("{V6_LL} > ")) && !l.contains(&format!("{V4} > "))),
        "{who:?}: an advert went from a VIP:\n{text}"
    );
    // A peer of higher priority takes V4 over: its VIP leaves the set, the tables stay.
    let peer_conf = dir.join(format!("{who:?}-peer.conf"));
    let peer_text = format!(
        "vrrp_instance V4 {{\n  interface {}\n  virtual_router_id 51\n  priority 200\n  advert_int 1\n  virtual_ipaddress {{\n    {V4}/24\n  }}\n}}\n",
        pair.ifs[1]
    );
    std::fs::write(&peer_conf, peer_text).unwrap();
    let higher = Daemon::keepalived(peer, &peer_conf, dir, &format!("{who:?}-peer"));
    assert!(
        wait_for(Duration::from_secs(10), || !pair.holds(0, V4)).is_some(),
        "{who:?}: V4 stayed master beside a higher priority:\n{}",
        daemon.log_text()
    );
    std::thread::sleep(Duration::from_millis(500));
    let as_backup = ruleset(&host.name);
    higher.stop();
    daemon.stop();
    drop(listener);
    let after_stop = ruleset_after_stop(&host.name);
    Seen {
        ruleset: as_master,
        reached,
        adverts,
        as_backup,
        after_stop,
    }
}

/// The daemon started in the pair's first namespace with `conf`, once it holds every
/// one of `vips` (on the pair's interface, or on the interface given), and its ruleset
/// then.
fn master(
    who: Who,
    pair: &Pair,
    conf: &Path,
    dir: &Path,
    tag: &str,
    vips: &[(Option<&str>, &str)],
) -> (Daemon, Vec<Value>) {
    let host = &pair.ns[0];
    let daemon = match who {
        Who::Ours => Daemon::ours(host, conf, dir, tag, &["-D"]),
        Who::Keepalived => Daemon::keepalived(host, conf, dir, tag),
    };
    let masters = wait_for(Duration::from_secs(15), || {
        vips.iter()
            .all(|(dev, a)| host.holds(dev.unwrap_or(&pair.ifs[0]), a))
    });
    assert!(
        masters.is_some(),
        "{who:?}: not all instances became master:\n{}",
        daemon.log_text()
    );
    // The sets take the VIPs in the same burst as the addresses.
    std::thread::sleep(Duration::from_millis(500));
    let r = ruleset(&host.name);
    (daemon, r)
}

fn ruleset_after_stop(ns: &str) -> Vec<Value> {
    let mut r = ruleset(ns);
    wait_for(Duration::from_secs(3), || {
        r = ruleset(ns);
        r.is_empty()
    });
    r
}

#[test]
fn vrrp_strict_drop_rules_match_keepalived() {
    let cmds = ["ip", "nft", "ping", "tcpdump", "keepalived"];
    if !runnable("vrrp_strict_drop_rules_match_keepalived", &cmds) {
        return;
    }
    let dir = tmp_dir("nftables");
    let theirs = observe(Who::Keepalived, &dir);
    let ours = observe(Who::Ours, &dir);

    // What keepalived 2.2.7 makes, in outline, so a change of version shows here first.
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    let tables: Vec<String> = theirs
        .ruleset
        .iter()
        .filter_map(|o| o.get("table"))
        .map(|t| {
            format!(
                "{} {}",
                t["family"].as_str().unwrap(),
                t["name"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(sorted(tables), ["ip keepalived", "ip6 keepalived"]);
    let base_chains: Vec<String> = theirs
        .ruleset
        .iter()
        .filter_map(|o| o.get("chain"))
        .filter(|c| c.get("hook").is_some())
        .map(|c| format!("{} {} {} {}", c["family"], c["name"], c["hook"], c["prio"]))
        .collect();
    assert_eq!(
        sorted(base_chains),
        [
            r#""ip" "in" "input" -1"#,
            r#""ip" "out" "output" -1"#,
            r#""ip6" "in" "input" -1"#,
            r#""ip6" "out" "output" -1"#
        ]
    );
    let elems: Vec<String> = theirs
        .ruleset
        .iter()
        .filter_map(|o| o.get("set"))
        .map(|s| format!("{} {} {}", s["family"], s["name"], s["elem"]))
        .collect();
    assert_eq!(
        sorted(elems),
        [
            format!(r#""ip" "vips" ["{V4}"]"#),
            r#""ip6" "neighbor-discovery" ["nd-neighbor-advert","nd-neighbor-solicit"]"#
                .to_string(),
            format!(r#""ip6" "vips" ["{V6}"]"#),
            format!(r#""ip6" "vips_link_local" [{{"concat":["{V6_LL}","nfta1"]}}]"#),
        ]
    );

    assert_eq!(
        ours.ruleset, theirs.ruleset,
        "keepalived-rs's ruleset differs from keepalived 2.2.7's"
    );
    // Leaving master empties the instance's set and keeps the tables.
    let v4_set = |r: &[Value]| {
        r.iter()
            .filter_map(|o| o.get("set"))
            .find(|s| s["family"] == "ip" && s["name"] == "vips")
            .cloned()
    };
    let set = v4_set(&theirs.as_backup).expect("keepalived 2.2.7 kept the ip vips set");
    assert!(set.get("elem").is_none(), "{set}");
    assert_eq!(
        ours.as_backup, theirs.as_backup,
        "as backup, keepalived-rs's ruleset differs from keepalived 2.2.7's"
    );
    let expected = [
        (V4, false, false),
        (V6, false, false),
        (V4_ACCEPT, true, true),
    ];
    assert_eq!(
        theirs.reached, expected,
        "keepalived 2.2.7 (address, ping, TCP)"
    );
    assert_eq!(ours.reached, expected, "keepalived-rs (address, ping, TCP)");
    for seen in [&theirs, &ours] {
        for (vrid, n) in &seen.adverts {
            assert!(*n >= 2, "vrid {vrid}: {n} adverts in 2.5 s ({seen:?})");
        }
        assert!(seen.after_stop.is_empty(), "left after SIGTERM: {seen:?}");
    }
}

/// The options that shape the ruleset, on keepalived-rs as on keepalived 2.2.7: the
/// table's name, the base chains' priority (given after `nftables`, which resets it),
/// counters, and link-local VIPs of a `dont_track_primary` instance by interface name,
/// or by index with `nftables_ifindex`.
#[test]
fn nftables_options_match_keepalived() {
    let cmds = ["ip", "nft", "keepalived"];
    if !runnable("nftables_options_match_keepalived", &cmds) {
        return;
    }
    let dir = tmp_dir("nftables-options");
    for ifindex in [false, true] {
        let mut seen = Vec::new();
        for who in [Who::Keepalived, Who::Ours] {
            let pair = Pair::new("nfo", 94);
            let host = &pair.ns[0];
            let iface = &pair.ifs[0];
            let text = format!(
                "global_defs {{\n  vrrp_strict\n  nftables ka_test\n  nftables_priority 10\n  nftables_counters\n{}}}\n\
                 vrrp_instance V4 {{\n  interface {iface}\n  virtual_router_id 61\n  priority 100\n  advert_int 1\n  virtual_ipaddress {{\n    192.168.94.100/24\n  }}\n}}\n\
                 vrrp_instance V6 {{\n  interface {iface}\n  dont_track_primary\n  version 3\n  virtual_router_id 62\n  priority 100\n  advert_int 1\n  virtual_ipaddress {{\n    fe80::200/64\n    fd00:94::200/64\n  }}\n}}\n",
                if ifindex { "  nftables_ifindex\n" } else { "" }
            );
            let conf = dir.join(format!("{who:?}-{ifindex}.conf"));
            std::fs::write(&conf, text).unwrap();
            let vips = ["192.168.94.100", "fe80::200", "fd00:94::200"].map(|a| (None, a));
            let (daemon, r) = master(
                who,
                &pair,
                &conf,
                &dir,
                &format!("{who:?}-{ifindex}"),
                &vips,
            );
            daemon.stop();
            assert!(
                ruleset_after_stop(&host.name).is_empty(),
                "{who:?}: tables left"
            );
            seen.push(r);
        }
        let text = serde_json::to_string(&seen[0]).unwrap();
        assert!(text.contains(r#""prio":10"#) && text.contains(r#""name":"ka_test""#));
        assert!(text.contains(r#""counter":null"#), "no counters: {text}");
        let by = if ifindex {
            "vips_link_local\""
        } else {
            "vips_link_local_name\""
        };
        assert!(text.contains(by), "keepalived 2.2.7 used no {by}: {text}");
        assert_eq!(
            seen[1], seen[0],
            "nftables_ifindex {ifindex}: keepalived-rs differs"
        );
    }
}

/// With `use_vmac` (and `vrrp_strict`), keepalived 2.2.7 also makes `vmac_map` in both
/// tables and `vmac_set` in the IPv6 one, with rules that send IGMP and MLDv2 reports
/// leaving a VMAC out of its base interface and drop router solicitations from it: the
/// same ruleset, rule order in the `out` chains included, and nothing left after SIGTERM.
#[test]
fn use_vmac_rules_match_keepalived() {
    let cmds = ["ip", "nft", "keepalived"];
    if !runnable("use_vmac_rules_match_keepalived", &cmds) {
        return;
    }
    let dir = tmp_dir("nftables-vmac");
    let mut seen = Vec::new();
    for who in [Who::Keepalived, Who::Ours] {
        let pair = Pair::new("nfv", 95);
        let host = &pair.ns[0];
        let iface = &pair.ifs[0];
        let text = format!(
            "global_defs {{\n  vrrp_strict\n}}\n\
             vrrp_instance V4 {{\n  interface {iface}\n  use_vmac\n  virtual_router_id 71\n  priority 100\n  advert_int 1\n  virtual_ipaddress {{\n    192.168.95.100/24\n  }}\n}}\n\
             vrrp_instance V6 {{\n  interface {iface}\n  use_vmac\n  version 3\n  virtual_router_id 72\n  priority 100\n  advert_int 1\n  virtual_ipaddress {{\n    fe80::300/64\n    fd00:95::300/64\n  }}\n}}\n"
        );
        let conf = dir.join(format!("{who:?}.conf"));
        std::fs::write(&conf, text).unwrap();
        let vips = [
            (Some("vrrp.71"), "192.168.95.100"),
            (Some("vrrp.72"), "fe80::300"),
            (Some("vrrp.72"), "fd00:95::300"),
        ];
        let (daemon, r) = master(who, &pair, &conf, &dir, &format!("{who:?}"), &vips);
        let out = |family: &str| {
            let o = run(
                "ip",
                &[
                    "netns",
                    "exec",
                    &host.name,
                    "nft",
                    "list",
                    "chain",
                    family,
                    "keepalived",
                    "out",
                ],
            );
            String::from_utf8_lossy(&o.stdout).into_owned()
        };
        let chains = (out("ip"), out("ip6"));
        daemon.stop();
        assert!(
            ruleset_after_stop(&host.name).is_empty(),
            "{who:?}: tables left"
        );
        seen.push((r, chains));
    }
    let text = serde_json::to_string(&seen[0].0).unwrap();
    for name in [r#""name":"vmac_map""#, r#""name":"vmac_set""#, r#""dup""#] {
        assert!(
            text.contains(name),
            "keepalived 2.2.7 made no {name}: {text}"
        );
    }
    assert_eq!(
        seen[1], seen[0],
        "keepalived-rs differs from keepalived 2.2.7"
    );
}

/// A reload that turns `vrrp_strict` on while every instance is master drops the VIPs
/// they already hold, on keepalived-rs as on keepalived 2.2.7: keepalived-rs's VRRP
/// child keeps no record of drop rules while it has no firewall, and the reload gives it
/// the VIPs held then.
#[test]
fn a_reload_that_turns_vrrp_strict_on_drops_the_vips_already_held() {
    let cmds = ["ip", "nft", "keepalived"];
    if !runnable(
        "a_reload_that_turns_vrrp_strict_on_drops_the_vips_already_held",
        &cmds,
    ) {
        return;
    }
    let dir = tmp_dir("nftables-reload");
    let [theirs, ours] = [Who::Keepalived, Who::Ours].map(|who| {
        let pair = Pair::new("nfr", 96);
        let strict = config(&pair.ifs[0]);
        let plain = strict.replace("  vrrp_strict\n", "");
        assert_ne!(plain, strict);
        let conf = dir.join(format!("{who:?}-reload.conf"));
        std::fs::write(&conf, &plain).unwrap();
        let (daemon, before) = master(
            who,
            &pair,
            &conf,
            &dir,
            &format!("{who:?}-reload"),
            &[V4, V4_ACCEPT, V6, V6_LL].map(|a| (None, a)),
        );
        assert!(
            before.is_empty(),
            "{who:?}: a ruleset without vrrp_strict: {before:?}"
        );
        std::fs::write(&conf, &strict).unwrap();
        daemon.signal(libc::SIGHUP);
        let holds_v4 = |r: &[Value]| {
            r.iter().filter_map(|o| o.get("set")).any(|s| {
                s["family"] == "ip" && s["name"] == "vips" && s["elem"].to_string().contains(V4)
            })
        };
        let dropped = wait_for(Duration::from_secs(10), || {
            holds_v4(&ruleset(&pair.ns[0].name))
        });
        assert!(
            dropped.is_some(),
            "{who:?}: after the reload, {V4} is not in the ip vips set: {:?}\n{}",
            ruleset(&pair.ns[0].name),
            daemon.log_text()
        );
        // The rest of the reload's sets come in the same batch.
        std::thread::sleep(Duration::from_millis(500));
        let after = ruleset(&pair.ns[0].name);
        daemon.stop();
        after
    });
    assert_eq!(
        ours, theirs,
        "after the reload, keepalived-rs's ruleset differs from keepalived 2.2.7's"
    );
}
