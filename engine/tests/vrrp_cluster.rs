//! Two- and three-router elections over a perfect in-memory link, with the timelines
//! snapshotted.

mod support;

use support::*;

fn run(confs: &[&str], script: impl FnOnce(&mut Cluster)) -> Cluster {
    let mut c = Cluster::new(confs);
    script(&mut c);
    c
}

struct Case {
    name: &'static str,
    confs: Vec<String>,
    script: fn(&mut Cluster),
    masters_at_end: &'static [&'static str],
}

#[test]
fn elections_table() {
    let cases = vec![
        Case {
            name: "two_routers_higher_priority_wins",
            confs: vec![conf(1, 100, ""), conf(1, 200, "")],
            script: |c| c.run_for_secs(10.0),
            masters_at_end: &["r2"],
        },
        Case {
            name: "equal_priority_higher_address_wins",
            confs: vec![conf(1, 100, ""), conf(1, 100, ""), conf(1, 100, "")],
            script: |c| c.run_for_secs(10.0),
            masters_at_end: &["r3"],
        },
        Case {
            name: "master_crash_next_takes_over_then_preempted_on_return",
            confs: vec![conf(1, 150, ""), conf(1, 100, ""), conf(1, 50, "")],
            script: |c| {
                c.run_for_secs(5.0);
                c.crash(0);
                c.run_for_secs(6.0);
                c.restart(0);
                c.run_for_secs(6.0);
            },
            masters_at_end: &["r1"],
        },
        Case {
            name: "nopreempt_keeps_the_lower_master",
            confs: vec![conf(1, 150, "nopreempt"), conf(1, 100, "nopreempt")],
            script: |c| {
                c.run_for_secs(5.0);
                c.crash(0);
                c.run_for_secs(5.0);
                c.restart(0);
                c.run_for_secs(10.0);
            },
            masters_at_end: &["r2"],
        },
        Case {
            name: "owner_takes_over_at_once",
            confs: vec![conf(1, 100, ""), conf(1, 255, "state MASTER")],
            script: |c| c.run_for_secs(3.0),
            masters_at_end: &["r2"],
        },
        Case {
            name: "ipv6_v3_election_and_failover",
            confs: vec![
                conf(1, 100, "").replace("10.0.0.100/24", "fe80::100/64\n  2001:db8::100/64"),
                conf(1, 200, "").replace("10.0.0.100/24", "fe80::100/64\n  2001:db8::100/64"),
            ],
            script: |c| {
                c.run_for_secs(5.0);
                c.crash(1);
                c.run_for_secs(5.0);
            },
            masters_at_end: &["r1"],
        },
        Case {
            name: "unicast_peers_elect_and_fail_over",
            confs: vec![
                conf(1, 100, "unicast_peer {\n 192.168.0.2\n }"),
                conf(1, 200, "unicast_peer {\n 192.168.0.1\n }"),
            ],
            script: |c| {
                c.run_for_secs(5.0);
                c.crash(1);
                c.run_for_secs(5.0);
            },
            masters_at_end: &["r1"],
        },
    ];
    for case in cases {
        let confs: Vec<&str> = case.confs.iter().map(String::as_str).collect();
        let c = run(&confs, case.script);
        assert_eq!(
            c.masters("VI_1"),
            case.masters_at_end,
            "{}:\n{}",
            case.name,
            c.snapshot()
        );
        insta::assert_snapshot!(case.name, c.snapshot());
    }
}
