//! `nftables_ipvs` next to keepalived 2.2.7, against a kernel with IPVS and nf_tables:
//! each daemon in turn, in a namespace of its own, with the same configuration (groups
//! of IPv4 and IPv6 address ranges and single addresses, TCP and UDP virtual servers on
//! one group, `nftables_ipvs_priority`, `nftables_ipvs_start_fwmark`,
//! `nftables_counters`):
//! - `nft -j list table ip keepalived_ipvs` and `… ip6 keepalived_ipvs` (handles and
//!   counts left out) are the same: chain `in` and its hook and priority, the maps with
//!   their flags and elements (address ranges and ports to fwmarks), the rules;
//! - `ipvsadm -Ln` is the same: one fwmark service per group and protocol;
//! - after a reload that drops an entry of a group and adds a virtual server on a new
//!   group, tables and listing are the same again (kept marks, the next one for the new
//!   group);
//! - after SIGTERM neither table is left.
//!
//! The kernel on these machines has no IPVS: as `ipvs_kernel.rs`, the test boots
//! Debian's kernel under qemu (virtme-ng) and runs there.

use std::time::{Duration, Instant};

use keepalived_tests::host::{
    debian_kernel, have, host_has_ipvs, is_root, run_in_vm, tmp_dir, wait_for, Daemon, Netns,
};
use serde_json::Value;

/// Set inside the VM, so the test there runs the comparison instead of booting a VM.
const IN_VM: &str = "KARS_IPVS_NFT_IN_VM";
const PASSED: &str = "nftables_ipvs: same as keepalived 2.2.7";
/// How long anything in the emulated VM may take to show.
const LIMIT: Duration = Duration::from_secs(40);

#[test]
fn nftables_ipvs_against_keepalived() {
    let ci = std::env::var_os("CI").is_some();
    let skip = |why: &str| {
        assert!(
            !ci,
            "nftables_ipvs_against_keepalived must run in CI, but {why}"
        );
        eprintln!("SKIP nftables_ipvs_against_keepalived: {why}");
    };
    if !is_root() {
        return skip("it needs root");
    }
    for cmd in ["ipvsadm", "nft", "keepalived"] {
        if !have(cmd) {
            return skip(&format!("`{cmd}` is not installed"));
        }
    }
    if std::env::var_os(IN_VM).is_some() || host_has_ipvs() {
        compare();
        println!("{PASSED}");
        return;
    }
    let Some(kernel) = debian_kernel() else {
        return skip("no Debian kernel in /boot (apt-get install linux-image-amd64)");
    };
    if !have("vng") {
        return skip("`vng` is not installed (pip install virtme-ng)");
    }
    let start = Instant::now();
    let text = run_in_vm(&kernel, IN_VM, "nftables_ipvs_against_keepalived", "");
    println!("{text}");
    println!("VM run took {:.0?}", start.elapsed());
    assert!(
        text.contains(PASSED),
        "the nftables_ipvs comparison in the VM did not pass (output above)"
    );
}

const GLOBALS: &str = "global_defs {
  nftables_ipvs
  nftables_ipvs_priority -50
  nftables_ipvs_start_fwmark 2000
  nftables_counters
}
";

const START: &str = "
virtual_server_group WEB {
  10.40.0.1-3 80
  10.40.1.5 8080
}
virtual_server_group WEB6 {
  fd00:40::1-3 443
  fd00:40::10 443
}
virtual_server group WEB {
  lvs_sched rr
  lvs_method DR
  protocol TCP
  real_server 10.41.0.1 80 { weight 1 }
  real_server 10.41.0.2 80 { weight 2 }
}
virtual_server group WEB {
  lvs_sched wlc
  lvs_method NAT
  protocol UDP
  real_server 10.41.0.3 8053 { weight 1 }
}
virtual_server group WEB6 {
  lvs_sched rr
  lvs_method DR
  protocol TCP
  real_server fd00:41::1 443 { weight 1 }
}
";

const RELOADED: &str = "
virtual_server_group WEB {
  10.40.0.1-3 80
}
virtual_server_group WEB6 {
  fd00:40::1-3 443
  fd00:40::10 443
}
virtual_server_group DNS {
  10.42.0.1-2 53
}
virtual_server group WEB {
  lvs_sched rr
  lvs_method DR
  protocol TCP
  real_server 10.41.0.1 80 { weight 1 }
  real_server 10.41.0.2 80 { weight 2 }
}
virtual_server group WEB {
  lvs_sched wlc
  lvs_method NAT
  protocol UDP
  real_server 10.41.0.3 8053 { weight 1 }
}
virtual_server group WEB6 {
  lvs_sched rr
  lvs_method DR
  protocol TCP
  real_server fd00:41::1 443 { weight 1 }
}
virtual_server group DNS {
  lvs_sched rr
  lvs_method DR
  protocol UDP
  real_server 10.41.0.4 53 { weight 1 }
}
";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Ours,
    Keepalived,
}

/// What one daemon made: both tables and the IPVS listing, after start and after the
/// reload; and whether any table was left after SIGTERM.
#[derive(Debug, PartialEq)]
struct Seen {
    started: (Vec<Value>, Vec<Value>, Vec<String>),
    reloaded: (Vec<Value>, Vec<Value>, Vec<String>),
    left: Vec<String>,
}

fn compare() {
    let ours = observe(Who::Ours);
    let theirs = observe(Who::Keepalived);
    for (phase, (ip, ip6, ipvs)) in [("start", &ours.started), ("reload", &ours.reloaded)] {
        println!("keepalived-rs after {phase}:");
        for o in ip.iter().chain(ip6) {
            println!("  {o}");
        }
        for l in ipvs {
            println!("  {l}");
        }
    }
    assert!(
        !ours.started.0.is_empty() && !ours.started.1.is_empty(),
        "tables ip and ip6 were made: {ours:#?}"
    );
    assert!(
        ours.started.2.iter().any(|l| l.starts_with("FWM 2000")),
        "fwmark services from 2000 on: {:?}",
        ours.started.2
    );
    assert_eq!(ours.started, theirs.started, "after start (ours left)");
    assert_eq!(
        ours.reloaded, theirs.reloaded,
        "after the reload (ours left)"
    );
    assert_eq!(ours.left, theirs.left, "after SIGTERM (ours left)");
    assert!(
        ours.left.is_empty(),
        "no table after SIGTERM: {:?}",
        ours.left
    );
}

fn observe(who: Who) -> Seen {
    let tag = match who {
        Who::Ours => "ours",
        Who::Keepalived => "ka",
    };
    let ns = Netns::new(&format!("kni{tag}"));
    let dir = tmp_dir(&format!("ipvs-nft-{tag}"));
    let conf = dir.join("keepalived.conf");
    std::fs::write(&conf, format!("{GLOBALS}{START}")).expect("write config");
    let d = match who {
        Who::Ours => Daemon::ours(&ns, &conf, &dir, tag, &[]),
        Who::Keepalived => Daemon::keepalived(&ns, &conf, &dir, tag),
    };
    let started = settled(&ns, &d, |l| {
        l.iter().filter(|l| l.starts_with("FWM")).count() == 3
    });
    std::fs::write(&conf, format!("{GLOBALS}{RELOADED}")).expect("write config");
    d.signal(libc::SIGHUP);
    let reloaded = settled(&ns, &d, |l| {
        l.iter().filter(|l| l.starts_with("FWM")).count() == 4
    });
    d.stop();
    let left = ["ip", "ip6"]
        .into_iter()
        .filter(|f| {
            ns.command("nft")
                .args(["list", "table", f, "keepalived_ipvs"])
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .map(str::to_string)
        .collect();
    Seen {
        started,
        reloaded,
        left,
    }
}

/// Both tables and `ipvsadm -Ln` once the listing satisfies `ready` and neither has
/// changed for a second.
fn settled(
    ns: &Netns,
    d: &Daemon,
    ready: impl Fn(&[String]) -> bool,
) -> (Vec<Value>, Vec<Value>, Vec<String>) {
    let snap = || (table(ns, "ip"), table(ns, "ip6"), listing(ns));
    let mut last = snap();
    let mut since = Instant::now();
    let ok = wait_for(LIMIT, || {
        let now = snap();
        if now != last {
            last = now;
            since = Instant::now();
        }
        ready(&last.2) && since.elapsed() > Duration::from_secs(1)
    });
    assert!(
        ok.is_some(),
        "never settled: {last:#?}\nlog:\n{}",
        d.log_text()
    );
    last
}

/// `nft -j list table FAMILY keepalived_ipvs` without handles, counts or the metainfo,
/// set elements sorted; empty when there is no such table.
fn table(ns: &Netns, family: &str) -> Vec<Value> {
    let out = ns
        .command("nft")
        .args(["-j", "list", "table", family, "keepalived_ipvs"])
        .output()
        .expect("nft");
    if !out.status.success() {
        return Vec::new();
    }
    let v: Value = serde_json::from_slice(&out.stdout).expect("nft -j output");
    fn strip(v: &mut Value) {
        match v {
            Value::Object(m) => {
                m.remove("handle");
                if let Some(Value::Object(c)) = m.get_mut("counter") {
                    c.remove("packets");
                    c.remove("bytes");
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
    objs
}

/// `ipvsadm -Ln` as lines of words, without the version line and headings.
fn listing(ns: &Netns) -> Vec<String> {
    let out = ns.command("ipvsadm").arg("-Ln").output().expect("ipvsadm");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with("IP Virtual Server") && !l.starts_with("Prot "))
        .filter(|l| !l.trim_start().starts_with("-> RemoteAddress"))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty())
        .collect()
}
