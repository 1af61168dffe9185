//! How the daemon follows the host's links and addresses: `linkbeat_use_polling` reads
//! link state by polling (once a second) instead of netlink events and still drives
//! FAULT and recovery; an interface that gets its first address after start gives the
//! instance its advert source then, through netlink address events.

use std::time::Duration;

use keepalived_tests::host::{can_run, tmp_dir, wait_for, Daemon, Pair};

const VIP: &str = "10.74.0.100";

#[test]
fn polled_link_loss_faults_the_instance_and_recovery_clears_it() {
    if !can_run(
        "polled_link_loss_faults_the_instance_and_recovery_clears_it",
        &["ip"],
    ) {
        return;
    }
    let dir = tmp_dir("linkbeat");
    let pair = Pair::new("klb", 74);
    let conf = dir.join("r.conf");
    std::fs::write(
        &conf,
        format!(
            "linkbeat_use_polling\nvrrp_instance VI_1 {{\n  interface {}\n  virtual_router_id 74\n  \
             priority 100\n  advert_int 1\n  virtual_ipaddress {{\n    {VIP}/24\n  }}\n}}\n",
            pair.ifs[0]
        ),
    )
    .unwrap();
    let d = Daemon::ours(&pair.ns[0], &conf, &dir, "daemon", &[]);
    assert!(wait_for(Duration::from_secs(6), || pair.holds(0, VIP)).is_some());
    // The peer end going down takes the carrier of ours away.
    pair.ns[1].ip(&["link", "set", &pair.ifs[1], "down"]);
    assert!(
        wait_for(Duration::from_secs(3), || !pair.holds(0, VIP)).is_some(),
        "carrier loss found by polling releases the VIP"
    );
    let log = d.log_text();
    assert!(log.contains("link down (polled)"), "{log}");
    assert!(log.contains("Entering FAULT STATE"), "{log}");
    pair.ns[1].ip(&["link", "set", &pair.ifs[1], "up"]);
    assert!(
        wait_for(Duration::from_secs(7), || pair.holds(0, VIP)).is_some(),
        "link back: master again"
    );
    assert!(d.log_text().contains("link up (polled)"));
    d.stop();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_address_that_arrives_after_start_becomes_the_advert_source() {
    if !can_run(
        "an_address_that_arrives_after_start_becomes_the_advert_source",
        &["ip"],
    ) {
        return;
    }
    let dir = tmp_dir("addrev");
    let pair = Pair::new("kae", 77);
    // No IPv4 address on the interface at start: nothing to send adverts from.
    pair.ns[0].ip(&["addr", "flush", "dev", &pair.ifs[0]]);
    let conf = dir.join("r.conf");
    std::fs::write(
        &conf,
        format!(
            "vrrp_instance VI_1 {{\n  interface {}\n  virtual_router_id 77\n  priority 100\n  \
             advert_int 1\n  virtual_ipaddress {{\n    10.77.0.100/24\n  }}\n}}\n",
            pair.ifs[0]
        ),
    )
    .unwrap();
    let d = Daemon::ours(&pair.ns[0], &conf, &dir, "daemon", &[]);
    std::thread::sleep(Duration::from_secs(5));
    assert!(
        !pair.holds(0, "10.77.0.100"),
        "no source address: not master"
    );
    pair.ns[0].ip(&["addr", "add", "192.168.77.1/24", "dev", &pair.ifs[0]]);
    assert!(
        wait_for(Duration::from_secs(6), || pair.holds(0, "10.77.0.100")).is_some(),
        "the new address is the advert source: master: {}",
        d.log_text()
    );
    d.stop();
    let _ = std::fs::remove_dir_all(&dir);
}
