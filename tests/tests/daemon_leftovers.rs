//! What a VRRP child that died as master leaves on the host: the next one (respawned by
//! the parent, or a new daemon) takes off the VIPs, virtual routes and virtual rules of
//! every instance that starts as backup, so a backup never answers for them beside the
//! master (`vrrp_init_state()` → `vrrp_restore_interface(…, force)`). keepalived 2.2.7
//! forces this for addresses and rules; keepalived-rs takes the routes off too.

use std::time::Duration;

use keepalived_tests::host::{runnable, tmp_dir, wait_for, Daemon, Netns};

const CONF: &str = "\
vrrp_instance A {
  interface d0
  state BACKUP
  virtual_router_id 97
  priority 100
  advert_int 1
  virtual_ipaddress {
    10.97.0.1/24
  }
  virtual_routes {
    10.97.5.0/24 dev d0
  }
  virtual_rules {
    from 10.97.6.0/24 table 100 priority 100
  }
}
";

#[test]
fn a_backup_takes_off_what_a_dead_master_left() {
    if !runnable("a_backup_takes_off_what_a_dead_master_left", &["ip"]) {
        return;
    }
    let ns = Netns::new("klft");
    ns.ip(&["link", "add", "d0", "type", "veth", "peer", "name", "p0"]);
    ns.ip(&["addr", "add", "192.168.97.1/24", "dev", "d0"]);
    ns.ip(&["link", "set", "p0", "up"]);
    ns.ip(&["link", "set", "d0", "up"]);
    // As a master of the same configuration installed them (protocol keepalived, 18),
    // and a route of someone else's beside them.
    ns.ip(&["addr", "add", "10.97.0.1/24", "dev", "d0"]);
    ns.ip(&["route", "add", "10.97.5.0/24", "dev", "d0", "proto", "18"]);
    ns.ip(&[
        "route",
        "add",
        "10.97.7.0/24",
        "dev",
        "d0",
        "proto",
        "static",
    ]);
    ns.ip(&[
        "rule",
        "add",
        "from",
        "10.97.6.0/24",
        "table",
        "100",
        "priority",
        "100",
        "proto",
        "18",
    ]);
    let text = |args: &[&str]| String::from_utf8_lossy(&ns.ip(args).stdout).into_owned();
    assert!(text(&["route"]).contains("10.97.5.0/24") && text(&["rule"]).contains("10.97.6.0/24"));

    let dir = tmp_dir("leftovers");
    let conf = dir.join("k.conf");
    std::fs::write(&conf, CONF).unwrap();
    let d = Daemon::ours(&ns, &conf, &dir, "ours", &[]);
    // Well inside the 3.6 s a backup waits before it could take over.
    let gone = wait_for(Duration::from_millis(2500), || {
        !ns.holds("d0", "10.97.0.1")
            && !text(&["route"]).contains("10.97.5.0/24")
            && !text(&["rule"]).contains("10.97.6.0/24")
    });
    let log = d.log_text();
    d.stop();
    assert!(
        gone.is_some(),
        "leftovers still there:\n{}\n{}\n{log}",
        text(&["route"]),
        text(&["rule"])
    );
    assert!(
        text(&["route"]).contains("10.97.7.0/24"),
        "another's route stays"
    );
}
