//! The dumps' contents next to keepalived 2.2.7's, each daemon in a namespace of its own
//! set up alike (same interface names, MACs and addresses), on the same configuration:
//! static addresses, routes, rules and a static track group; a gratuitous ARP group;
//! two instances in a sync group (IPv4 with a unicast peer, `auth_pass`, virtual routes
//! and rules, a tracked script, file and interface and a notify script; native IPv6),
//! a third on a VMAC of a given MAC with extra-interface GARPs, and a fourth whose
//! address on another interface goes on a VMAC (`use_vmac_addr`). No tracked process: keepalived's process monitor (the proc
//! connector) is refused outside the initial network namespace (errno 111), so its
//! tracked process never reaches quorum there. After the same time running, each is
//! sent SIGUSR1, SIGUSR2 and SIGRTMIN+2 together, and:
//! - every JSON key path of keepalived's `keepalived.json` is in ours with the same
//!   value, but for the exemptions of [`json_exempt`];
//! - `keepalived.data` has keepalived's sections in keepalived's order, and each
//!   instance, group, script, file, socket, track group and interface in them has
//!   keepalived's lines in keepalived's order and no other, once the values each daemon
//!   has of its own are set aside ([`normalize`]); so does `keepalived_parent.data`;
//! - `keepalived.stats` is the same but for the adverts sent, which may be one apart;
//! - no dump of ours holds the password, which stands as `********`.
//!
//! Then `json_version 2` and a reload: ours writes `{"vrrp":[…]}` whose instances carry
//! the same key paths as version 1. keepalived 2.2.7 does not know the keyword (2.3 added
//! it), so that half is checked against our own version 1.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use keepalived_tests::host::{can_run, keepalived_rs, tmp_dir, wait_for, Daemon, Netns};
use serde_json::Value;

const PASSWORD: &str = "secret12";
const MASK: &str = "********";

fn runs(test: &str, cmds: &[&str]) -> bool {
    let ok = can_run(test, cmds) && Path::new(KEEPALIVED).exists();
    assert!(
        ok || std::env::var_os("CI").is_none(),
        "{test} must run in CI"
    );
    ok
}

const KEEPALIVED: &str = "/usr/sbin/keepalived";

/// A namespace with a veth pair `d0`/`d1` up, `d0` holding 10.93.0.1/24, each a fixed
/// MAC, so their IPv6 link-local addresses (the IPv6 instance's source) and interface
/// indexes are the same in both.
fn netns(name: &str) -> Netns {
    let ns = Netns::new(name);
    ns.without_dad();
    ns.ip(&["link", "add", "d0", "type", "veth", "peer", "name", "d1"]);
    ns.ip(&["link", "set", "d0", "address", "02:00:5e:93:00:01"]);
    ns.ip(&["link", "set", "d1", "address", "02:00:5e:93:00:02"]);
    ns.ip(&["link", "set", "d0", "up"]);
    ns.ip(&["link", "set", "d1", "up"]);
    ns.ip(&["addr", "add", "10.93.0.1/24", "dev", "d0"]);
    ns
}

/// The configuration, `global` added to global_defs, its tracked file in `dir`.
fn config(global: &str, dir: &Path) -> String {
    let tf = dir.join("tf");
    let tf = tf.display();
    format!(
        "global_defs {{\n  router_id kdm1\n  enable_script_security\n  script_user root\n{global}\n}}\n\
         interface_up_down_delays {{\n  d1 0.5 0.2\n}}\n\
         track_group TG {{\n  group {{\n    VI_3\n  }}\n}}\n\
         static_ipaddress {{\n  10.94.1.1/24 dev d0 scope link\n  fd94::1/64 dev d0\n  \
         10.94.5.1/24 dev d1 track_group TG\n}}\n\
         static_routes {{\n  10.94.2.0/24 via 10.94.1.254 dev d0\n  \
         192.0.2.0/24 dev d0 table 100 metric 5\n}}\n\
         static_rules {{\n  from 10.94.3.0/24 table 100\n  to 10.94.4.0/24 lookup 101 priority 200\n}}\n\
         track_file tf {{\n  file {tf}\n  weight 5\n}}\n\
         garp_group {{\n  garp_interval 0.1\n  gna_interval 0.05\n  interface d0\n}}\n\
         vrrp_script chk {{\n  script \"/usr/bin/true\"\n  interval 1\n  weight 0\n}}\n\
         vrrp_sync_group G {{\n  group {{\n    VI_1\n    VI_2\n  }}\n  \
         notify_backup \"/usr/bin/true backup\"\n}}\n\
         vrrp_instance VI_1 {{\n  interface d0\n  state MASTER\n  virtual_router_id 51\n  \
         priority 150\n  advert_int 1\n  authentication {{\n    auth_type PASS\n    auth_pass {PASSWORD}\n  }}\n  \
         unicast_src_ip 10.93.0.1\n  unicast_peer {{\n    10.93.0.2\n  }}\n  \
         virtual_ipaddress {{\n    10.93.0.100/24\n    10.93.0.101\n  }}\n  \
         virtual_routes {{\n    10.95.0.0/24 via 10.93.0.254 dev d0\n    \
         src 10.93.0.100 to 10.96.0.0/16 dev d1 table 102 metric 7\n  }}\n  \
         virtual_rules {{\n    from 10.93.0.100 table 102\n  }}\n  \
         track_script {{\n    chk\n  }}\n  track_file {{\n    tf weight 0\n  }}\n  \
         track_interface {{\n    d1\n  }}\n  notify_master \"/usr/bin/true master\"\n}}\n\
         vrrp_instance VI_2 {{\n  interface d0\n  state BACKUP\n  virtual_router_id 52\n  \
         priority 100\n  advert_int 1\n  native_ipv6\n  virtual_ipaddress {{\n    fd93::100/64\n  }}\n}}\n\
         vrrp_instance VI_3 {{\n  interface d0\n  state BACKUP\n  virtual_router_id 53\n  \
         priority 100\n  advert_int 1\n  use_vmac vrrp.53 02:11:22:33:44:55\n  garp_extra_if all 2\n  \
         virtual_ipaddress {{\n    10.93.0.103/24\n    10.97.0.1/24 dev d1\n  }}\n}}\n\
         vrrp_instance VI_4 {{\n  interface d0\n  state BACKUP\n  virtual_router_id 54\n  \
         priority 100\n  advert_int 1\n  use_vmac_addr\n  \
         virtual_ipaddress {{\n    10.93.0.104/24\n    10.98.0.1/24 dev d1\n  }}\n}}\n"
    )
}

/// A daemon running the configuration, VRRP only (`-P`: keepalived's checker exits
/// without IPVS in the kernel), its $TMPDIR `<tag>.tmp` in `dir`.
struct Run {
    dir: PathBuf,
    tag: String,
    daemon: Daemon,
}

impl Run {
    fn start(ns: &Netns, bin: &Path, dir: &Path, tag: &str) -> Run {
        let tmp = dir.join(format!("{tag}.tmp"));
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(&tmp).unwrap();
        let conf = dir.join(format!("{tag}.conf"));
        std::fs::write(&conf, config("", dir)).unwrap();
        let file = |ext: &str| dir.join(format!("{tag}.{ext}")).display().to_string();
        let (conf, p, r, c) = (conf.display().to_string(), file("p"), file("r"), file("c"));
        let args = [
            "-n", "-l", "-D", "-P", "-f", &conf, "-p", &p, "-r", &r, "-c", &c,
        ];
        let daemon = Daemon::start_with_env(
            ns,
            bin,
            &args,
            &[("TMPDIR", &tmp)],
            dir.join(format!("{tag}.log")),
        );
        Run {
            dir: dir.to_path_buf(),
            tag: tag.to_string(),
            daemon,
        }
    }

    fn up(&self) -> bool {
        Daemon::pid_of(&self.dir, &self.tag, "p").is_some()
            && Daemon::pid_of(&self.dir, &self.tag, "r").is_some()
    }

    fn signal(&self, sig: i32) {
        let pid = Daemon::pid_of(&self.dir, &self.tag, "p").expect("parent's pidfile");
        // SAFETY: a signal to the daemon's parent, which passes it to its VRRP child.
        unsafe { libc::kill(pid, sig) };
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{}.tmp", self.tag)).join(name)
    }

    fn clear(&self) {
        for e in std::fs::read_dir(self.dir.join(format!("{}.tmp", self.tag)))
            .unwrap()
            .flatten()
        {
            let _ = std::fs::remove_file(e.path());
        }
    }

    /// The file `name`, once it is there and complete (its size steady for 100 ms).
    fn read(&self, name: &str) -> String {
        let path = self.path(name);
        let mut last = None;
        let got = wait_for(Duration::from_secs(10), || {
            let now = std::fs::metadata(&path).ok().map(|m| m.len());
            let steady = now.is_some() && now == last;
            last = now;
            std::thread::sleep(Duration::from_millis(100));
            steady
        });
        assert!(
            got.is_some(),
            "{}: no {name}\n{}",
            self.tag,
            self.daemon.log_text()
        );
        std::fs::read_to_string(path).unwrap()
    }
}

/// Every leaf of `v` by its key path (`[0].data.vips[0]`).
fn paths(v: &Value, at: String, out: &mut BTreeMap<String, Value>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                let p = if at.is_empty() {
                    k.clone()
                } else {
                    format!("{at}.{k}")
                };
                paths(v, p, out);
            }
        }
        Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                paths(v, format!("{at}[{i}]"), out);
            }
        }
        leaf => {
            out.insert(at, leaf.clone());
        }
    }
}

/// JSON values that legitimately differ, with the check each gets instead; `None` for a
/// value that must be equal.
fn json_exempt(path: &str, theirs: &Value, ours: &Value) -> Option<Result<(), String>> {
    let leaf = path.rsplit('.').next().unwrap_or(path);
    let check = |ok: bool, why: &str| {
        if ok {
            Ok(())
        } else {
            Err(format!("{path}: {why}: theirs {theirs}, ours {ours}"))
        }
    };
    match leaf {
        // A wall-clock time of each daemon's own transition: the two started together.
        "last_transition" => Some(check(
            (theirs.as_f64().unwrap() - ours.as_f64().unwrap_or(0.0)).abs() < 30.0,
            "transition times far apart",
        )),
        // Masked in ours; keepalived 2.2.7 writes the password.
        "auth_data" => Some(check(ours == MASK, "not masked")),
        // Two daemons started and signalled together, on a one-second advert timer.
        "advert_sent" => Some(check(
            theirs
                .as_u64()
                .unwrap()
                .abs_diff(ours.as_u64().unwrap_or(u64::MAX))
                <= 1,
            "adverts sent more than one apart",
        )),
        _ => None,
    }
}

/// Compares keepalived's JSON `theirs` with `ours`: the failures.
fn json_diff(theirs: &Value, ours: &Value) -> Vec<String> {
    let (mut t, mut o) = (BTreeMap::new(), BTreeMap::new());
    paths(theirs, String::new(), &mut t);
    paths(ours, String::new(), &mut o);
    let mut bad = Vec::new();
    for (path, tv) in &t {
        let Some(ov) = o.get(path) else {
            bad.push(format!("{path}: missing (theirs {tv})"));
            continue;
        };
        match json_exempt(path, tv, ov) {
            Some(Err(e)) => bad.push(e),
            Some(Ok(())) => {}
            None if tv != ov => bad.push(format!("{path}: theirs {tv}, ours {ov}")),
            None => {}
        }
    }
    bad
}

/// A state dump's line with the values that are each daemon's own set aside, and
/// checked for their form instead; `None` for a line of keepalived's build alone. The
/// exemptions:
/// - `nftables …` and `libnftnl version …` in the global definitions: keepalived's
///   build, nftables through libnftnl, which keepalived-rs does not link (it speaks
///   nf_tables netlink itself);
/// - socket descriptors (`fd_in N, fd_out N` of an instance, `fd_in N fd_out = N` of the
///   pool): each process's own numbers, and keepalived has an input and an output
///   socket where keepalived-rs has one;
/// - wall-clock times (`Last transition`, `Read timeout`, `GARP next time`,
///   `GNA next time`, `Next gratuitous ARP for such secondary`, `IPv6 forwarding. Last
///   checked`): each daemon's own readings of its own events, which must be
///   `%ld.%6.6ld (…)` times;
/// - a script's `State = idle` or `running`: whether each daemon's run of it, every
///   second, is under way at the moment of the dump;
/// - `Password`: keepalived 2.2.7 writes it; ours must be `********`.
///
/// Interface indexes are not exempt: both namespaces create their links in one order.
fn normalize(line: &str) -> Option<Result<String, String>> {
    let t = line.trim_start();
    let indent = &line[..line.len() - t.len()];
    if t.starts_with("nftables ") || t.starts_with("libnftnl version") {
        return None;
    }
    let number = |v: &str| v.trim().parse::<i32>().is_ok_and(|n| n >= 0);
    if let Some(rest) = t.strip_prefix("fd_in ") {
        let fds = rest
            .split_once(", fd_out ")
            .or_else(|| rest.split_once(" fd_out = "));
        return Some(match fds {
            Some((i, o)) if number(i) && number(o) => Ok(format!(
                "{indent}fd_in <fd>{}fd_out <fd>",
                if rest.contains(", ") { ", " } else { " " }
            )),
            _ => Err(format!("`{line}`: descriptors that are not open sockets")),
        });
    }
    for stamp in [
        "Last transition = ",
        "Read timeout = ",
        "GARP next time ",
        "GNA next time ",
        "Next gratuitous ARP for such secondary = ",
        "Not IPv6 forwarding. Last checked ",
        "IPv6 forwarding. Last checked ",
    ] {
        let Some(v) = t.strip_prefix(stamp) else {
            continue;
        };
        // `DISABLED` and the like are values to compare.
        let Some((tv, local)) = v.split_once(' ') else {
            break;
        };
        let timeval = tv
            .split_once('.')
            .is_some_and(|(s, u)| s.parse::<u64>().is_ok() && u.len() == 6);
        return Some(
            if timeval && local.starts_with('(') && local.ends_with(')') {
                Ok(format!("{indent}{stamp}<time>"))
            } else {
                Err(format!("`{line}`: not a `%ld.%6.6ld (…)` time"))
            },
        );
    }
    if t == "State = idle" || t == "State = running" {
        return Some(Ok(format!("{indent}State = <idle or running>")));
    }
    if let Some(p) = t.strip_prefix("Password = ") {
        // keepalived's is the password itself; ours must be the mask.
        return Some(Ok(format!(
            "{indent}Password = {}",
            if p == PASSWORD { MASK } else { p }
        )));
    }
    Some(Ok(line.to_string()))
}

/// The heads a state dump's lines are grouped under within a section: an instance,
/// group, script, tracked file or process, static track group or interface.
const OWNERS: [&str; 7] = [
    " VRRP Instance = ",
    " VRRP Sync Group = ",
    " VRRP Script = ",
    " Track file = ",
    " VRRP Track process = ",
    " Static Track Group = ",
    " Name = ",
];

/// A state dump's sections in order, each with its lines grouped by what they describe
/// (an instance, an interface, the pool's n-th socket…), normalized; the lines whose
/// values are not of the form expected go to `bad`.
fn sections(text: &str, bad: &mut Vec<String>) -> Vec<(String, BTreeMap<String, Vec<String>>)> {
    let mut out: Vec<(String, BTreeMap<String, Vec<String>>)> = Vec::new();
    let (mut owner, mut sockets) = (String::new(), 0);
    for line in text.lines() {
        if let Some(s) = line
            .strip_prefix("------< ")
            .and_then(|l| l.strip_suffix(" >------"))
        {
            out.push((s.to_string(), BTreeMap::new()));
            owner.clear();
            continue;
        }
        let Some((section, lines)) = out.last_mut() else {
            bad.push(format!("`{line}` before any section"));
            continue;
        };
        for head in OWNERS {
            if let Some(name) = line.strip_prefix(head) {
                owner = name.split(',').next().unwrap_or(name).to_string();
            }
        }
        // The pool's sockets are told apart by their place, not their descriptors.
        if section == "VRRP Sockpool" && line.starts_with(" fd_in ") {
            sockets += 1;
            owner = format!("socket {sockets}");
        }
        match normalize(line) {
            None => {}
            Some(Ok(l)) => lines.entry(owner.clone()).or_default().push(l),
            Some(Err(e)) => bad.push(e),
        }
    }
    out
}

/// Compares keepalived's state dump `theirs` with `ours`: the same sections in the same
/// order, each with the same things described by the same lines in the same order once
/// normalized. The failures.
fn data_diff(theirs: &str, ours: &str) -> Vec<String> {
    let mut bad = Vec::new();
    let (t, o) = (sections(theirs, &mut bad), sections(ours, &mut bad));
    let names = |v: &[(String, BTreeMap<String, Vec<String>>)]| -> Vec<String> {
        v.iter().map(|(n, _)| n.clone()).collect()
    };
    if names(&t) != names(&o) {
        bad.push(format!(
            "sections: keepalived {:?}, ours {:?}",
            names(&t),
            names(&o)
        ));
    }
    for (name, tl) in &t {
        let Some((_, ol)) = o.iter().find(|(n, _)| n == name) else {
            continue;
        };
        for owner in tl.keys().chain(ol.keys().filter(|k| !tl.contains_key(*k))) {
            let (a, b) = (
                tl.get(owner).cloned().unwrap_or_default(),
                ol.get(owner).cloned().unwrap_or_default(),
            );
            if a == b {
                continue;
            }
            let n = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
            bad.push(format!(
                "{name} {owner}: line {n}: keepalived `{}`, ours `{}`",
                a.get(n).map_or("(none)", String::as_str),
                b.get(n).map_or("(none)", String::as_str)
            ));
        }
    }
    bad
}

/// The statistics, less the adverts sent (compared within one): the failures.
fn stats_diff(theirs: &str, ours: &str) -> Vec<String> {
    let (t, o): (Vec<&str>, Vec<&str>) = (theirs.lines().collect(), ours.lines().collect());
    if t.len() != o.len() {
        return vec![format!("{} lines, ours {}", t.len(), o.len())];
    }
    let mut bad = Vec::new();
    for (n, (a, b)) in t.iter().zip(&o).enumerate() {
        // `    Sent: N` two lines under `  Advertisements:`.
        let advert_sent = n >= 2 && t[n - 2].trim() == "Advertisements:";
        let num = |l: &str| {
            l.trim()
                .strip_prefix("Sent: ")
                .and_then(|v| v.parse::<u64>().ok())
        };
        let same = match (advert_sent, num(a), num(b)) {
            (true, Some(x), Some(y)) => x.abs_diff(y) <= 1,
            _ => a == b,
        };
        if !same {
            bad.push(format!("line {n}: `{a}`, ours `{b}`"));
        }
    }
    bad
}

fn sigjson() -> i32 {
    libc::SIGRTMIN() + 2
}

#[test]
fn dumps_match_keepalived_2_2_7() {
    if !runs("dumps_match_keepalived_2_2_7", &["ip"]) {
        return;
    }
    let dir = tmp_dir("dump-parity");

    // The file VI_1 tracks, with the same path in both configurations.
    std::fs::write(dir.join("tf"), "0\n").unwrap();
    let (ns_theirs, ns_ours) = (netns("kds-theirs"), netns("kds-ours"));
    let theirs = Run::start(&ns_theirs, Path::new(KEEPALIVED), &dir, "theirs");
    let ours = Run::start(&ns_ours, &keepalived_rs(), &dir, "ours");
    let up = wait_for(Duration::from_secs(20), || theirs.up() && ours.up());
    assert!(
        up.is_some(),
        "not up\n{}\n{}",
        theirs.daemon.log_text(),
        ours.daemon.log_text()
    );
    // Every instance MASTER (the down timer is at most 3.7 s), with a few adverts sent.
    std::thread::sleep(Duration::from_secs(7));
    for sig in [libc::SIGUSR1, libc::SIGUSR2, sigjson()] {
        theirs.signal(sig);
        ours.signal(sig);
    }

    let json = |r: &Run| -> Value {
        serde_json::from_str(&r.read("keepalived.json")).expect("keepalived.json parses")
    };
    let (tj, oj) = (json(&theirs), json(&ours));
    let bad = json_diff(&tj, &oj);
    assert!(bad.is_empty(), "keepalived.json:\n{}", bad.join("\n"));

    let (td, od) = (theirs.read("keepalived.data"), ours.read("keepalived.data"));
    assert!(
        td.contains("   State = MASTER"),
        "keepalived not MASTER:\n{td}"
    );
    // The configuration gives keepalived every section its VRRP process writes but
    // the tracked processes' and BFDs'.
    for section in [
        "Global definitions",
        "Gratuitous ARP delays",
        "GARP delay group 0",
        "Static Addresses",
        "Static Routes",
        "Static Rules",
        "Static Track groups",
        "VRRP Topology",
        "VRRP Sockpool",
        "VRRP Sync groups",
        "VRRP Scripts",
        "VRRP Track files",
        "Interfaces",
    ] {
        assert!(
            td.contains(&format!("------< {section} >------")),
            "keepalived wrote no `{section}` section:\n{td}"
        );
    }
    let bad = data_diff(&td, &od);
    assert!(
        bad.is_empty(),
        "keepalived.data:\n{}\nours:\n{od}",
        bad.join("\n")
    );

    let (tp, op) = (
        theirs.read("keepalived_parent.data"),
        ours.read("keepalived_parent.data"),
    );
    let bad = data_diff(&tp, &op);
    assert!(
        bad.is_empty(),
        "keepalived_parent.data:\n{}",
        bad.join("\n")
    );

    let (ts, os) = (
        theirs.read("keepalived.stats"),
        ours.read("keepalived.stats"),
    );
    let bad = stats_diff(&ts, &os);
    assert!(
        bad.is_empty(),
        "keepalived.stats:\n{}\nours:\n{os}",
        bad.join("\n")
    );

    // Secrets: keepalived writes the password in its data and JSON dumps; ours nowhere.
    assert!(
        td.contains(PASSWORD),
        "keepalived's dump no longer shows the password"
    );
    for name in ["keepalived.data", "keepalived.json", "keepalived.stats"] {
        let text = std::fs::read_to_string(ours.path(name)).unwrap();
        assert!(!text.contains(PASSWORD), "{name} holds the password");
    }

    // json_version 2: {"vrrp": [...]} with version 1's instances inside, and 2.3's
    // extra statistics.
    let conf = dir.join("ours.conf");
    std::fs::write(&conf, config("  json_version 2", &dir)).unwrap();
    ours.clear();
    ours.signal(libc::SIGHUP);
    let mut v2 = Value::Null;
    let got = wait_for(Duration::from_secs(20), || {
        ours.signal(sigjson());
        std::thread::sleep(Duration::from_millis(500));
        let read = std::fs::read_to_string(ours.path("keepalived.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<Value>(&t).ok());
        match read {
            Some(v) if v.get("vrrp").is_some() => {
                v2 = v;
                true
            }
            _ => false,
        }
    });
    assert!(got.is_some(), "no version 2 JSON after the reload");
    let keys: Vec<&String> = v2.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        ["vrrp"],
        "version 2's top level (no track_process configured)"
    );
    // The same instances: every key path of version 1, the same values in `data` (the
    // counters have gone on meanwhile).
    let (mut one, mut two) = (BTreeMap::new(), BTreeMap::new());
    paths(&oj, String::new(), &mut one);
    paths(&v2["vrrp"], String::new(), &mut two);
    for (path, v) in &one {
        let w = two.get(path);
        assert!(w.is_some(), "json_version 2 lacks {path}");
        if path.contains(".data.") && !path.ends_with("last_transition") {
            assert_eq!(w, Some(v), "json_version 2's {path}");
        }
    }
    for i in v2["vrrp"].as_array().unwrap() {
        assert_eq!(i["stats"]["auth_ext_invalid_hmac"], 0);
    }
    theirs.daemon.stop();
    ours.daemon.stop();
}
