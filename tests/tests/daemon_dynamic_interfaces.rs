//! `dynamic_interfaces`: an instance whose interface does not exist yet waits in FAULT,
//! starts (adverts on the wire, the VIP on the interface) once the interface is
//! created, goes to FAULT when it is deleted and resumes when it is created again, with
//! a new ifindex. Without `dynamic_interfaces` a missing interface stops the daemon at
//! start with "Non-existent interface specified in configuration". Each scenario runs
//! against keepalived 2.2.7 too, in a namespace of its own, so the two are held to the
//! same behaviour.

use std::path::{Path, PathBuf};
use std::time::Duration;

use keepalived_tests::host::{
    adverts, have, is_root, keepalived_rs, tmp_dir, wait_for, Capture, Daemon, Netns,
};

const IF: &str = "kdi9v";
const PEER: &str = "kdi9w";
const VRID: u8 = 59;
const VIP: &str = "10.59.0.100";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Ours,
    Keepalived,
}

/// Whether the scenarios can run; if not, why (a failure under CI, else a skip).
fn runnable(test: &str, who: Who) -> bool {
    let why = if !is_root() {
        Some("it needs root (network namespaces)".to_string())
    } else if let Some(cmd) = ["ip", "tcpdump"].into_iter().find(|c| !have(c)) {
        Some(format!(
            "`{cmd}` is not installed (scripts/test-all.sh installs it)"
        ))
    } else if who == Who::Keepalived && !have("keepalived") {
        Some("`keepalived` is not installed (apt-get install keepalived)".to_string())
    } else {
        None
    };
    match why {
        None => true,
        Some(why) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "{test} must run in CI, but {why}"
            );
            eprintln!("SKIP {test}: {why}");
            false
        }
    }
}

/// The instance on [`IF`]; `polled`: its link state read by polling
/// (`linkbeat_use_polling`) rather than from netlink.
fn config(dir: &Path, dynamic: bool, polled: bool) -> PathBuf {
    let conf = dir.join("dyn.conf");
    std::fs::write(
        &conf,
        format!(
            "{}global_defs {{\n  {}\n}}\nvrrp_instance VI_1 {{\n  interface {IF}\n  \
             virtual_router_id {VRID}\n  priority 100\n  advert_int 1\n  \
             virtual_ipaddress {{\n    {VIP}/24\n  }}\n}}\n",
            if polled { "linkbeat_use_polling\n" } else { "" },
            if dynamic {
                "dynamic_interfaces"
            } else {
                "router_id dyn"
            }
        ),
    )
    .unwrap();
    conf
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

/// The veth pair, our end with an address, both up.
fn create(ns: &Netns) {
    ns.ip(&["link", "add", IF, "type", "veth", "peer", "name", PEER]);
    ns.ip(&["addr", "add", "10.59.0.1/24", "dev", IF]);
    ns.ip(&["link", "set", PEER, "up"]);
    ns.ip(&["link", "set", IF, "up"]);
}

fn ifindex(ns: &Netns) -> String {
    let out = ns.ip(&["-o", "link", "show", IF]);
    String::from_utf8_lossy(&out.stdout)
        .split(':')
        .next()
        .unwrap_or_default()
        .to_string()
}

/// How many times the log says the instance entered FAULT: "Entering FAULT STATE" on a
/// change, keepalived's "entering FAULT state" when it starts in it.
fn faults(d: &Daemon) -> usize {
    d.log_text()
        .lines()
        .filter(|l| l.to_ascii_uppercase().contains("ENTERING FAULT STATE"))
        .count()
}

fn running(d: &mut Daemon) -> bool {
    matches!(d.child.try_wait(), Ok(None))
}

/// Created: the instance masters (VIP on the interface) and adverts go out of it.
fn masters_on_the_new_interface(ns: &Netns, dir: &Path, d: &Daemon, round: &str) {
    let cap = Capture::start(ns, PEER, "vrrp", &dir.join(format!("cap-{round}")));
    assert!(
        wait_for(Duration::from_secs(10), || ns.holds(IF, VIP)).is_some(),
        "{round}: the VIP comes up on {IF} once it exists\n{}",
        d.log_text()
    );
    assert!(
        wait_for(Duration::from_secs(4), || adverts(&cap.text(), VRID).len()
            >= 2)
        .is_some(),
        "{round}: adverts go out on {IF}\n{}\n{}",
        cap.text(),
        d.log_text()
    );
}

fn waits_for_its_interface(test: &str, who: Who, ns_name: &str, polled: bool) {
    if !runnable(test, who) {
        return;
    }
    let dir = tmp_dir(&format!("dynif-{ns_name}"));
    let ns = Netns::new(ns_name);
    let conf = config(&dir, true, polled);
    let mut d = start(who, &ns, &conf, &dir);
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        running(&mut d),
        "with dynamic_interfaces a missing interface is waited for\n{}",
        d.log_text()
    );

    create(&ns);
    let first = ifindex(&ns);
    masters_on_the_new_interface(&ns, &dir, &d, "created");

    let before = faults(&d);
    ns.ip(&["link", "del", IF]);
    assert!(
        wait_for(Duration::from_secs(3), || faults(&d) > before).is_some(),
        "deleting {IF} puts the instance in FAULT\n{}",
        d.log_text()
    );
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        running(&mut d),
        "deleting {IF} stops nothing\n{}",
        d.log_text()
    );

    create(&ns);
    assert_ne!(
        first,
        ifindex(&ns),
        "the interface came back with a new ifindex"
    );
    masters_on_the_new_interface(&ns, &dir, &d, "recreated");
    assert!(running(&mut d), "{}", d.log_text());
    d.stop();
    let _ = std::fs::remove_dir_all(&dir);
}

fn refuses_a_missing_interface(test: &str, who: Who, ns_name: &str) {
    if !runnable(test, who) {
        return;
    }
    let dir = tmp_dir(&format!("nodynif-{ns_name}"));
    let ns = Netns::new(ns_name);
    let conf = config(&dir, false, false);
    let mut d = start(who, &ns, &conf, &dir);
    let mut status = None;
    let ended = wait_for(Duration::from_secs(10), || {
        status = d.child.try_wait().ok().flatten();
        status.is_some()
    });
    assert!(
        ended.is_some(),
        "without dynamic_interfaces a missing interface stops the daemon\n{}",
        d.log_text()
    );
    assert!(
        status.is_some_and(|s| !s.success()),
        "{status:?}\n{}",
        d.log_text()
    );
    assert!(
        d.log_text()
            .contains("Non-existent interface specified in configuration"),
        "{}",
        d.log_text()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn ours_waits_for_a_dynamic_interface_and_follows_it() {
    waits_for_its_interface(
        "ours_waits_for_a_dynamic_interface_and_follows_it",
        Who::Ours,
        "kdi94",
        false,
    );
}

#[test]
fn keepalived_waits_for_a_dynamic_interface_and_follows_it() {
    waits_for_its_interface(
        "keepalived_waits_for_a_dynamic_interface_and_follows_it",
        Who::Keepalived,
        "kdi95",
        false,
    );
}

#[test]
fn ours_refuses_a_missing_interface_without_dynamic_interfaces() {
    refuses_a_missing_interface(
        "ours_refuses_a_missing_interface_without_dynamic_interfaces",
        Who::Ours,
        "kdi96",
    );
}

#[test]
fn keepalived_refuses_a_missing_interface_without_dynamic_interfaces() {
    refuses_a_missing_interface(
        "keepalived_refuses_a_missing_interface_without_dynamic_interfaces",
        Who::Keepalived,
        "kdi97",
    );
}

#[test]
fn ours_follows_a_dynamic_interface_whose_link_is_polled() {
    waits_for_its_interface(
        "ours_follows_a_dynamic_interface_whose_link_is_polled",
        Who::Ours,
        "kdi98",
        true,
    );
}

#[test]
fn keepalived_follows_a_dynamic_interface_whose_link_is_polled() {
    waits_for_its_interface(
        "keepalived_follows_a_dynamic_interface_whose_link_is_polled",
        Who::Keepalived,
        "kdi99",
        true,
    );
}

/// A VIP on another interface makes the instance track it (keepalived's TRACK_ADDR):
/// while that interface does not exist the instance waits in FAULT, holding nothing;
/// once it is created the instance masters with both VIPs in place.
fn waits_for_a_vip_interface(test: &str, who: Who, ns_name: &str) {
    if !runnable(test, who) {
        return;
    }
    const OTHER: &str = "kdi9x";
    const OTHER_VIP: &str = "10.60.0.100";
    let dir = tmp_dir(&format!("vipif-{ns_name}"));
    let ns = Netns::new(ns_name);
    create(&ns);
    let conf = dir.join("vip.conf");
    std::fs::write(
        &conf,
        format!(
            "global_defs {{\n  dynamic_interfaces\n}}\nvrrp_instance VI_1 {{\n  interface {IF}\n  \
             virtual_router_id {VRID}\n  priority 100\n  advert_int 1\n  \
             virtual_ipaddress {{\n    {VIP}/24\n    {OTHER_VIP}/24 dev {OTHER}\n  }}\n}}\n"
        ),
    )
    .unwrap();
    let mut d = start(who, &ns, &conf, &dir);
    std::thread::sleep(Duration::from_secs(5));
    assert!(running(&mut d), "{}", d.log_text());
    assert!(
        faults(&d) > 0 && !ns.holds(IF, VIP),
        "without {OTHER} the instance waits in FAULT\n{}",
        d.log_text()
    );
    ns.ip(&[
        "link", "add", OTHER, "type", "veth", "peer", "name", "kdi9y",
    ]);
    ns.ip(&["link", "set", "kdi9y", "up"]);
    ns.ip(&["link", "set", OTHER, "up"]);
    assert!(
        wait_for(Duration::from_secs(10), || ns.holds(OTHER, OTHER_VIP)
            && ns.holds(IF, VIP))
        .is_some(),
        "once {OTHER} exists the instance masters with both VIPs\n{}",
        d.log_text()
    );
    d.stop();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn ours_waits_for_the_interface_of_a_vip() {
    waits_for_a_vip_interface("ours_waits_for_the_interface_of_a_vip", Who::Ours, "kdi9a");
}

#[test]
fn keepalived_waits_for_the_interface_of_a_vip() {
    waits_for_a_vip_interface(
        "keepalived_waits_for_the_interface_of_a_vip",
        Who::Keepalived,
        "kdi9b",
    );
}
