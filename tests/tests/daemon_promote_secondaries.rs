//! `promote_secondaries` (vrrp_instance) run on keepalived-rs and on keepalived 2.2.7, each
//! in a namespace of its own, and held to the same result: the value of
//! net.ipv4.conf.d0.promote_secondaries while the daemon runs, across reloads and after
//! SIGTERM, and what it does: deleting the primary address of a subnet on d0 leaves a
//! secondary of that subnet in place (promoted) while it is 1, and takes it too at 0.

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
    keepalived_tests::host::runnable(test, &["ip", "keepalived"])
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

/// A namespace with a veth pair d0 (192.168.90.1/24) and p0, both up, where neither
/// `all` nor d0 promotes secondaries (the kernel promotes if either does).
fn host(name: &str) -> Netns {
    let ns = Netns::new(name);
    ns.without_dad();
    ns.ip(&["link", "add", "d0", "type", "veth", "peer", "name", "p0"]);
    ns.ip(&["addr", "add", "192.168.90.1/24", "dev", "d0"]);
    ns.ip(&["link", "set", "p0", "up"]);
    ns.ip(&["link", "set", "d0", "up"]);
    set_promote(&ns, "all", 0);
    set_promote(&ns, "d0", 0);
    ns
}

fn set_promote(ns: &Netns, interface: &str, value: u8) {
    let out = ns
        .command("sysctl")
        .args([
            "-qw",
            &format!("net.ipv4.conf.{interface}.promote_secondaries={value}"),
        ])
        .output()
        .expect("sysctl");
    assert!(out.status.success(), "sysctl: {out:?}");
}

/// net.ipv4.conf.`interface`.promote_secondaries as the namespace sees it.
fn promote(ns: &Netns, interface: &str) -> Option<String> {
    let out = ns
        .command("cat")
        .arg(format!(
            "/proc/sys/net/ipv4/conf/{interface}/promote_secondaries"
        ))
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The IPv4 addresses `ip -4 addr show dev d0` lists.
fn d0_addresses(ns: &Netns) -> Vec<String> {
    let out = ns
        .command("ip")
        .args(["-4", "addr", "show", "dev", "d0"])
        .output()
        .expect("ip addr");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().strip_prefix("inet "))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

/// Whether a secondary address of a subnet on d0 outlives the primary's deletion:
/// 10.78.0.1/24 (primary) and 10.78.0.2/24 (secondary) are added, the primary deleted.
/// The addresses are gone again afterwards.
fn secondary_survives(ns: &Netns) -> bool {
    ns.ip(&["addr", "add", "10.78.0.1/24", "dev", "d0"]);
    ns.ip(&["addr", "add", "10.78.0.2/24", "dev", "d0"]);
    let before = d0_addresses(ns);
    assert!(
        before.contains(&"10.78.0.2/24".to_string()),
        "secondary not added: {before:?}"
    );
    ns.ip(&["addr", "del", "10.78.0.1/24", "dev", "d0"]);
    let survives = d0_addresses(ns).contains(&"10.78.0.2/24".to_string());
    ns.drop_address("d0", "10.78.0.2");
    survives
}

/// A master on d0 with one VIP, and `options` in its block.
fn config(options: &str, vip: &str) -> String {
    format!(
        "vrrp_instance A {{\n  interface d0\n  state MASTER\n  virtual_router_id 51\n  \
         priority 200\n  advert_int 1\n{options}  virtual_ipaddress {{\n    {vip}\n  }}\n}}\n"
    )
}

/// The daemon up with `conf` in `ns`, once master: its VIP `vip` on `dev`.
fn run_master(who: Who, ns: &Netns, dir: &Path, conf: &str, dev: &str, vip: &str) -> Daemon {
    let path = dir.join("k.conf");
    std::fs::write(&path, conf).expect("config");
    let daemon = start(who, ns, &path, dir);
    assert!(
        wait_for(Duration::from_secs(10), || ns.holds(dev, vip)).is_some(),
        "{who:?} never became master with {vip} on {dev}:\n{}",
        daemon.log_text()
    );
    daemon
}

/// What one daemon did with `promote_secondaries` on an interface that had it at 0.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    running: Option<String>,
    survives_running: bool,
    stopped: Option<String>,
    survives_stopped: bool,
}

fn promote_while_running(who: Who, ns_name: &str) -> Seen {
    let ns = host(ns_name);
    let dir = tmp_dir(&format!("{ns_name}-{who:?}"));
    let conf = config("  promote_secondaries\n", "10.77.0.100/24");
    let daemon = run_master(who, &ns, &dir, &conf, "d0", "10.77.0.100");
    let running = promote(&ns, "d0");
    let survives_running = secondary_survives(&ns);
    daemon.stop();
    Seen {
        running,
        survives_running,
        stopped: promote(&ns, "d0"),
        survives_stopped: secondary_survives(&ns),
    }
}

/// keepalived sets promote_secondaries on the instance's interface when the instance
/// starts (`set_promote_secondaries()` from `vrrp_complete_instance()`) and puts it back
/// to 0 when it stops (`reset_promote_secondaries()`): while it runs a secondary address
/// outlives its subnet's primary, after the stop it does not. keepalived-rs the same.
#[test]
fn promote_secondaries_is_on_while_the_daemon_runs_and_off_after_as_keepalived_does() {
    if !runnable("promote_secondaries_is_on_while_the_daemon_runs_and_off_after_as_keepalived_does")
    {
        return;
    }
    let expected = Seen {
        running: Some("1".into()),
        survives_running: true,
        stopped: Some("0".into()),
        survives_stopped: false,
    };
    let ours = promote_while_running(Who::Ours, "kps1");
    let theirs = promote_while_running(Who::Keepalived, "kps2");
    assert_eq!(
        ours, theirs,
        "keepalived-rs {ours:?}, keepalived {theirs:?}"
    );
    assert_eq!(ours, expected);
}

/// d0's promote_secondaries while `who` runs `conf` (master once `vip` is on `dev`), and
/// after it stops, d0 having had `initial`.
fn values(who: Who, ns_name: &str, initial: u8, conf: &str, dev: &str, vip: &str) -> [String; 2] {
    let ns = host(ns_name);
    set_promote(&ns, "d0", initial);
    let dir = tmp_dir(&format!("{ns_name}-{who:?}"));
    let daemon = run_master(who, &ns, &dir, conf, dev, vip);
    let running = promote(&ns, "d0").unwrap_or_default();
    daemon.stop();
    [running, promote(&ns, "d0").unwrap_or_default()]
}

/// keepalived leaves alone an interface that promotes secondaries already, and leaves it
/// so at stop (`set_promote_secondaries()` only changes a 0); sets it for an IPv6
/// instance too (it is the interface's setting); and drops the keyword of an instance
/// with `use_vmac`, whose VMAC has it on already, so the base interface keeps its 0
/// (`vrrp_complete_instance()`). keepalived-rs the same.
#[test]
fn promote_secondaries_spares_an_interface_already_on_and_a_vmacs_base_as_keepalived_does() {
    if !runnable(
        "promote_secondaries_spares_an_interface_already_on_and_a_vmacs_base_as_keepalived_does",
    ) {
        return;
    }
    let v4 = config("  promote_secondaries\n", "10.77.0.100/24");
    let v6 = config("  promote_secondaries\n", "fd00::51/64");
    let vmac = config("  promote_secondaries\n  use_vmac\n", "10.77.0.100/24");
    // (what, initial, config, VIP's interface, VIP, [running, stopped])
    let cases = [
        ("already on", 1, &v4, "d0", "10.77.0.100", ["1", "1"]),
        ("IPv6 instance", 0, &v6, "d0", "fd00::51", ["1", "0"]),
        ("use_vmac", 0, &vmac, "vrrp.51", "10.77.0.100", ["0", "0"]),
    ];
    for (what, initial, conf, dev, vip, expected) in cases {
        let ours = values(Who::Ours, "kps3", initial, conf, dev, vip);
        let theirs = values(Who::Keepalived, "kps4", initial, conf, dev, vip);
        assert_eq!(
            ours, theirs,
            "{what}: keepalived-rs {ours:?}, keepalived {theirs:?}"
        );
        assert_eq!(ours, expected, "{what}");
    }
}

/// d0's promote_secondaries as `who` starts without the keyword, reloads with it,
/// reloads without it, and stops.
fn across_reloads(who: Who, ns_name: &str) -> Vec<String> {
    let ns = host(ns_name);
    let dir = tmp_dir(&format!("{ns_name}-{who:?}"));
    let without = config("", "10.77.0.100/24");
    let with = config("  promote_secondaries\n", "10.77.0.100/24");
    let daemon = run_master(who, &ns, &dir, &without, "d0", "10.77.0.100");
    let mut seen = vec![promote(&ns, "d0").unwrap_or_default()];
    for conf in [&with, &without] {
        std::fs::write(dir.join("k.conf"), conf).expect("config");
        daemon.signal(libc::SIGHUP);
        // The value the reload turns it to, or, if it stays, what it is 3 s on.
        let before = seen.last().cloned();
        wait_for(Duration::from_secs(3), || promote(&ns, "d0") != before);
        seen.push(promote(&ns, "d0").unwrap_or_default());
    }
    daemon.stop();
    seen.push(promote(&ns, "d0").unwrap_or_default());
    seen
}

/// keepalived sets promote_secondaries for an instance that gains the keyword on a
/// reload, keeps it when the instance loses the keyword on the next, and puts it back
/// at the stop (`shutdown_vrrp_instances()`). keepalived-rs the same.
#[test]
fn promote_secondaries_follows_reloads_as_keepalived_does() {
    if !runnable("promote_secondaries_follows_reloads_as_keepalived_does") {
        return;
    }
    let ours = across_reloads(Who::Ours, "kps5");
    let theirs = across_reloads(Who::Keepalived, "kps6");
    assert_eq!(
        ours, theirs,
        "keepalived-rs {ours:?}, keepalived {theirs:?}"
    );
    assert_eq!(ours, ["0", "1", "1", "0"]);
}
