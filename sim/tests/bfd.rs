//! BFD in the simulator: sessions on the daemon's BFD loop feed track_bfd and BFD_CHECK,
//! a lost gateway session moves the master within its detection time, runs are
//! reproducible, and `keepalived-sim check` runs users' configs with bfd_instance.

use std::path::PathBuf;
use std::process::Command;

use keepalived_sim::run::{run, Outcome};
use keepalived_sim::scenario::Scenario;
use keepalived_sim::world::Kind;

fn load(name: &str) -> Scenario {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(name);
    Scenario::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

/// When `host`'s `instance` first left MASTER at or after `after`.
fn left_master(o: &Outcome, host: &str, after: f64) -> Option<f64> {
    o.trace
        .iter()
        .find(|l| {
            l.kind == Kind::State
                && l.host == host
                && l.t >= after
                && l.from.as_deref() == Some("MASTER")
        })
        .map(|l| l.t)
}

// RFC 5880 §6.8.4: without the gateway's packets, r1's session goes Down within 3 ×
// 100 ms of the last one (which came before the partition), and track_bfd (weight 0)
// takes r1 to FAULT at once; r2 is MASTER after its skew time.
#[test]
fn a_master_that_loses_its_gateway_session_leaves_within_the_detection_time() {
    let sc = load("bfd_gateway_failover.toml");
    // The sim's BFD slack: two 1 ms ticks.
    let bound = 0.3 + 0.002;
    for seed in 1..=4 {
        let o = run(&sc, seed);
        assert!(o.ok(), "seed {seed}: {:?} {:?}", o.violations, o.failed);
        for fault in [10.0, 30.0] {
            let left = left_master(&o, "r1", fault).expect("r1 left MASTER");
            assert!(
                left - fault <= bound,
                "seed {seed}: r1 left MASTER {:.3} s after the partition at {fault}",
                left - fault
            );
            let fault_line = o
                .trace
                .iter()
                .find(|l| l.kind == Kind::State && l.host == "r1" && l.t == left)
                .unwrap();
            assert_eq!(fault_line.to.as_deref(), Some("FAULT"), "{fault_line:?}");
        }
    }
}

#[test]
fn bfd_runs_are_reproducible_from_the_seed() {
    let sc = load("bfd_faults.toml");
    let trace = |seed| serde_json::to_string(&run(&sc, seed).trace).unwrap();
    assert_eq!(trace(3), trace(3));
    assert_ne!(trace(3), trace(4), "loss is drawn from the seed");
}

// The BFD_CHECK server is removed when its session goes Down and comes back when it is
// Up: the checker engine hears the BFD side's states.
#[test]
fn a_bfd_check_real_server_follows_its_session() {
    let o = run(&load("bfd_check_real_server.toml"), 1);
    assert!(o.ok(), "{:?} {:?}", o.violations, o.failed);
    let lines = |from: f64, to: f64, what: &str| {
        o.trace
            .iter()
            .filter(|l| l.t >= from && l.t < to && l.detail.contains(what))
            .count()
    };
    assert_eq!(lines(10.0, 10.4, "BFD RS1 Down"), 1);
    assert!(lines(10.0, 10.4, "Removing service") >= 1, "{:#?}", o.trace);
    assert!(lines(15.0, 20.0, "Adding service") >= 1, "{:#?}", o.trace);
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("kars-bfd-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

// `keepalived-sim check` runs configs with bfd_instance and track_bfd (they used to be
// refused) through its whole campaign, each router's address found from the neighbour
// the other names.
#[test]
fn check_runs_configs_with_bfd_instances() {
    let d = tmp("check");
    let conf = |nbr: &str, prio: u32| {
        format!(
            "bfd_instance PEER {{\n    neighbor_ip {nbr}\n    min_rx 100\n    min_tx 100\n    multiplier 3\n}}\n\
             vrrp_instance VI_1 {{\n    interface eth0\n    virtual_router_id 51\n    priority {prio}\n    advert_int 1\n\
             \x20   virtual_ipaddress {{\n        10.0.0.100/24\n    }}\n    track_bfd {{\n        PEER\n    }}\n}}\n"
        )
    };
    std::fs::write(d.join("r1.conf"), conf("10.20.0.2", 200)).unwrap();
    std::fs::write(d.join("r2.conf"), conf("10.20.0.1", 100)).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_keepalived-sim"))
        .args(["check", "--seeds", "1"])
        .arg(d.join("r1.conf"))
        .arg(d.join("r2.conf"))
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("every invariant held"), "{text}");
    assert!(
        text.contains("r1 (eth0=eth0 10.20.0.1); r2 (eth0=eth0 10.20.0.2)"),
        "{text}"
    );
    assert!(text.contains("crash r1 and restart"), "{text}");
    assert!(!text.contains("note:"), "{text}");
    // A neighbour outside the cluster runs, with a note that its session stays Down (r1
    // says its own address, so 10.9.9.9 cannot be taken for it).
    let r1 =
        conf("10.20.0.2", 200).replacen("    min_rx", "    source_ip 10.20.0.1\n    min_rx", 1);
    std::fs::write(d.join("r1.conf"), r1).unwrap();
    std::fs::write(d.join("r2.conf"), conf("10.9.9.9", 100)).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_keepalived-sim"))
        .args(["check", "--seeds", "1", "--only", "baseline"])
        .arg(d.join("r1.conf"))
        .arg(d.join("r2.conf"))
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("note: host r2: bfd_instance PEER's neighbor 10.9.9.9 is no host's"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&d);
}

// examples/bfd-gateway: the master's uplink (link down, so its sends fail too) takes its
// gateway session Down and r2 takes the address well within VRRP's own 3.6 s
// master-down interval.
#[test]
fn the_bfd_gateway_example_fails_over_on_its_uplink() {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/bfd-gateway/uplink-fails.toml");
    let sc = Scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let o = run(&sc, 1);
    assert!(o.ok(), "{:?} {:?}", o.violations, o.failed);
    assert!(o
        .trace
        .iter()
        .any(|l| l.kind == Kind::Bfd && l.detail.contains("send failed")));
    let (host, took) = &o.failovers[0];
    assert_eq!(host, "r2");
    assert!(*took < 1.0, "failover took {took} s");
}
