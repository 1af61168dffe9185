//! One test per rule of the checker engine, citing the keepalived function it follows
//! (KEEPALIVED.md §5).

mod check_support;

use check_support::*;
use keepalived_engine::check::probe::{ProbeKind, ProbeOutcome};
use keepalived_engine::check::{
    CheckEngine, CheckInput, CheckNotifyKind, CheckOutput, DestKey, IpvsOp, ServiceKey,
    PROBE_GRACE_US, SMTP_DEFAULT_HELO,
};
use keepalived_engine::config::model::{LvsKind, Protocol};
use keepalived_engine::config::{parse_str, ParseOptions};
use keepalived_engine::time::Instant;

const VS: &str = "[192.168.201.15]:tcp:80";

/// One virtual server 192.168.201.15:80 with an LVS FIFO, `extra` in its block.
fn conf(vs_extra: &str, real_servers: &str) -> String {
    format!(
        "global_defs {{\n lvs_notify_fifo /run/lvs.fifo\n}}\n\
         virtual_server 192.168.201.15 80 {{\n delay_loop 10\n lb_algo rr\n lb_kind NAT\n \
         protocol TCP\n {vs_extra}\n {real_servers}\n}}\n"
    )
}

fn rs(ip: &str, body: &str) -> String {
    format!("real_server {ip} 80 {{\n {body}\n}}\n")
}

fn rs_line(ip: &str, state: &str) -> String {
    format!("RS [{ip}]:tcp:80 {VS} {state}\n")
}

fn fifo_at(h: &Harness, line: &str) -> Vec<Instant> {
    h.fifo()
        .into_iter()
        .filter(|(_, l)| l == line)
        .map(|(t, _)| t)
        .collect()
}

// register_checkers_thread(): the first run is BOOTSTRAP_DELAY (1 s) plus a random share
// of warmup (default delay_loop), both ends included.
#[test]
fn first_run_is_bootstrap_delay_plus_warmup_share() {
    let text = conf("", &rs("1.2.3.4", "TCP_CHECK {}"));
    let mut firsts = Vec::new();
    for seed in 0..64 {
        let mut h = Harness::with_seed(&text, seed);
        h.run_secs(12.0);
        let id = h.checker_id("1.2.3.4");
        let t = h.probe_times(id)[0];
        assert!(
            t >= at(1.0) && t <= at(11.0),
            "seed {seed}: first run at {t}"
        );
        firsts.push(t);
    }
    firsts.sort();
    firsts.dedup();
    assert!(firsts.len() > 32, "warmup is not spread: {firsts:?}");
    // Same seed, same schedule.
    let a = Harness::with_seed(&text, 9).e.real_servers()[0].checkers[0].next_run;
    let b = Harness::with_seed(&text, 9).e.real_servers()[0].checkers[0].next_run;
    assert_eq!(a, b);
}

#[test]
fn warmup_zero_runs_at_bootstrap_delay_then_every_delay_loop() {
    let mut h = Harness::new(&conf("warmup 0", &rs("1.2.3.4", "TCP_CHECK {}")));
    h.run_secs(35.0);
    let id = h.checker_id("1.2.3.4");
    assert_eq!(
        h.probe_times(id),
        vec![at(1.0), at(11.0), at(21.0), at(31.0)]
    );
}

// tcp_epilog(): a live server fails only after `retry` more failed attempts,
// `delay_before_retry` apart; once down it is checked every delay_loop.
#[test]
fn live_server_goes_down_after_retries_delay_before_retry_apart() {
    let mut h = Harness::new(&conf(
        "warmup 0",
        &rs("1.2.3.4", "TCP_CHECK { retry 2\n delay_before_retry 3 }"),
    ));
    h.run_secs(5.0);
    assert!(h.alive("1.2.3.4"));
    h.set_health("1.2.3.4", false);
    h.run_secs(30.0);
    let id = h.checker_id("1.2.3.4");
    assert_eq!(
        h.probe_times(id),
        vec![at(1.0), at(11.0), at(14.0), at(17.0), at(27.0)]
    );
    assert_eq!(fifo_at(&h, &rs_line("1.2.3.4", "DOWN")), vec![at(17.0)]);
    assert!(!h.alive("1.2.3.4"));
    assert_eq!(h.dest_weight("1.2.3.4"), None);
}

// check_data.c: "For non alpha mode, one failure is enough initially" (retry_it = retry).
#[test]
fn without_alpha_server_starts_in_pool_and_first_failure_takes_it_out() {
    let mut h = Harness::new(&conf(
        "warmup 0",
        &rs("1.2.3.4", "weight 2\n TCP_CHECK { retry 3 }"),
    ));
    // In the pool before any check ran (init_service_rs()).
    assert_eq!(h.dest_weight("1.2.3.4"), Some(2));
    h.set_health("1.2.3.4", false);
    h.run_secs(2.0);
    assert_eq!(fifo_at(&h, &rs_line("1.2.3.4", "DOWN")), vec![at(1.0)]);
    assert_eq!(h.dest_weight("1.2.3.4"), None);
}

// check_data.c / init_service_rs(): alpha checkers start failed, the server joins only
// after a success; the first failure still runs notify_down (update_svr_checker_state()).
#[test]
fn alpha_server_joins_only_after_a_success() {
    let body_up = "notify_up /bin/up1\n notify_down /bin/down1\n TCP_CHECK { alpha }";
    let body_dn = "notify_up /bin/up2\n notify_down /bin/down2\n TCP_CHECK { alpha }";
    let mut h = Harness::new(&conf(
        "warmup 0",
        &format!("{}{}", rs("1.2.3.4", body_up), rs("1.2.3.5", body_dn)),
    ));
    assert_eq!(h.dest_weight("1.2.3.4"), None);
    assert_eq!(h.dest_weight("1.2.3.5"), None);
    assert_eq!(
        h.table.services.len(),
        1,
        "the service exists from the start"
    );
    h.set_health("1.2.3.5", false);
    h.run_secs(2.0);
    assert_eq!(h.dest_weight("1.2.3.4"), Some(1));
    assert_eq!(h.dest_weight("1.2.3.5"), None);
    assert_eq!(
        h.notifies(),
        vec![
            (at(1.0), "/bin/up1".to_string()),
            (at(1.0), "/bin/down2".to_string())
        ]
    );
}

// update_svr_checker_state(): alive only while every checker is up.
#[test]
fn real_server_is_alive_only_when_all_its_checkers_are_up() {
    let mut h = Harness::new(&conf(
        "warmup 0",
        &rs(
            "1.2.3.4",
            "TCP_CHECK { retry 0 }\n MISC_CHECK { misc_path /bin/chk }",
        ),
    ));
    h.exit.insert("/bin/chk".into(), 1);
    h.run_secs(5.0);
    assert!(!h.alive("1.2.3.4"), "TCP up, MISC down");
    h.exit.insert("/bin/chk".into(), 0);
    h.run_secs(12.0);
    assert!(h.alive("1.2.3.4"));
    // Both fail, then MISC recovers first: still down until TCP does too.
    h.set_health("1.2.3.4", false);
    h.exit.insert("/bin/chk".into(), 1);
    h.run_secs(25.0);
    assert!(!h.alive("1.2.3.4"));
    h.exit.insert("/bin/chk".into(), 0);
    h.run_secs(32.0);
    let st = &h.e.real_servers()[0];
    assert!(st.checkers[1].up && !st.checkers[0].up);
    assert!(!h.alive("1.2.3.4"));
    assert_eq!(h.dest_weight("1.2.3.4"), None);
    h.set_health("1.2.3.4", true);
    h.run_secs(42.0);
    assert!(h.alive("1.2.3.4"));
    assert_eq!(h.dest_weight("1.2.3.4"), Some(1));
    // One DOWN and one UP per transition of the server, not per checker.
    let lines: Vec<String> = h.fifo().into_iter().map(|(_, l)| l).collect();
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.starts_with("RS "))
            .cloned()
            .collect::<Vec<_>>(),
        vec![
            rs_line("1.2.3.4", "DOWN"),
            rs_line("1.2.3.4", "UP"),
            rs_line("1.2.3.4", "DOWN"),
            rs_line("1.2.3.4", "UP"),
        ]
    );
}

// ipvs_cmd(): with inhibit_on_failure, DEL_DEST becomes an edit to weight 0.
#[test]
fn inhibit_on_failure_keeps_server_at_weight_zero() {
    let mut h = Harness::new(&conf(
        "warmup 0",
        &rs(
            "1.2.3.4",
            "weight 2\n inhibit_on_failure\n TCP_CHECK { retry 0 }",
        ),
    ));
    h.run_secs(5.0);
    h.clear();
    h.set_health("1.2.3.4", false);
    h.run_secs(15.0);
    let ops: Vec<IpvsOp> = h.ipvs_ops().into_iter().map(|(_, o)| o).collect();
    assert_eq!(ops.len(), 1, "{ops:?}");
    assert!(matches!(&ops[0], IpvsOp::EditDest { params, .. } if params.weight == 0));
    assert_eq!(h.dest_weight("1.2.3.4"), Some(0));
    h.set_health("1.2.3.4", true);
    h.run_secs(25.0);
    assert_eq!(h.dest_weight("1.2.3.4"), Some(2));
    assert!(!h
        .ipvs_ops()
        .iter()
        .any(|(_, o)| matches!(o, IpvsOp::DelDest { .. } | IpvsOp::AddDest { .. })));
}

// misc_check_child_thread(): with misc_dynamic, exit 2..=255 passes with weight
// status − 2; 1 fails; 0 passes at the configured weight.
#[test]
fn misc_dynamic_exit_status_sets_the_weight() {
    let mut h = Harness::new(&conf(
        "warmup 0",
        &rs(
            "1.2.3.4",
            "weight 5\n MISC_CHECK { misc_path /bin/w\n misc_dynamic }",
        ),
    ));
    h.run_secs(2.0);
    assert_eq!(h.dest_weight("1.2.3.4"), Some(5));
    h.exit.insert("/bin/w".into(), 12);
    h.run_secs(12.0);
    assert_eq!(h.dest_weight("1.2.3.4"), Some(10));
    h.exit.insert("/bin/w".into(), 2);
    h.run_secs(22.0);
    assert_eq!(h.dest_weight("1.2.3.4"), Some(0));
    assert!(h.alive("1.2.3.4"), "weight 0 is still alive");
    h.exit.insert("/bin/w".into(), 1);
    h.run_secs(32.0);
    assert!(!h.alive("1.2.3.4"));
    assert_eq!(h.dest_weight("1.2.3.4"), None);
    h.exit.insert("/bin/w".into(), 0);
    h.run_secs(42.0);
    assert_eq!(h.dest_weight("1.2.3.4"), Some(5));
    // Without misc_dynamic, 12 is a failure.
    let mut h = Harness::new(&conf(
        "warmup 0",
        &rs("1.2.3.4", "weight 5\n MISC_CHECK { misc_path /bin/w }"),
    ));
    h.exit.insert("/bin/w".into(), 12);
    h.run_secs(2.0);
    assert!(!h.alive("1.2.3.4"));
}

// ipvs_set_drule(): thresholds and the tunnel options travel with the destination;
// DR/TUN destinations use the service's port (ipvs_cmd()).
#[test]
fn thresholds_and_forwarding_method_are_carried_to_the_destination() {
    let text = "virtual_server 192.168.201.15 80 {\n lvs_method TUN type gue port 6080 nocsum\n \
        protocol UDP\n persistence_timeout 120\n persistence_granularity 255.255.255.0\n \
        real_server 10.0.0.1 8080 {\n uthreshold 100\n lthreshold 10\n TCP_CHECK {}\n }\n \
        real_server 10.0.0.2 8080 {\n lvs_method NAT\n TCP_CHECK {}\n }\n}\n";
    let h = Harness::new(text);
    let (key, svc) = h.table.services.iter().next().unwrap();
    assert_eq!(
        key,
        &ServiceKey::Addr {
            addr: "192.168.201.15".parse().unwrap(),
            port: 80,
            protocol: Protocol::Udp
        }
    );
    assert_eq!(svc.params.persistence_timeout_s, Some(120));
    assert_eq!(
        svc.params.persistence_granularity.as_deref(),
        Some("255.255.255.0")
    );
    let tun = &svc.dests[&DestKey {
        addr: "10.0.0.1".parse().unwrap(),
        port: 80,
    }];
    assert_eq!(tun.method.kind, LvsKind::Tun);
    assert_eq!(tun.method.tunnel_type.as_deref(), Some("gue"));
    assert_eq!(tun.method.tunnel_port, Some(6080));
    assert_eq!(tun.method.tunnel_checksum.as_deref(), Some("nocsum"));
    assert_eq!((tun.uthreshold, tun.lthreshold), (100, 10));
    let nat = &svc.dests[&DestKey {
        addr: "10.0.0.2".parse().unwrap(),
        port: 8080,
    }];
    assert_eq!(nat.method.kind, LvsKind::Nat);
}

fn quorum_conf(extra: &str) -> String {
    let mut servers = String::new();
    for n in 1..=4 {
        servers.push_str(&rs(&format!("10.0.0.{n}"), "TCP_CHECK { retry 0 }"));
    }
    conf(
        &format!(
            "warmup 0\n quorum 3\n hysteresis 1\n quorum_up /bin/qup\n quorum_down /bin/qdown\n \
             sorry_server 10.9.9.9 8080\n {extra}"
        ),
        &servers,
    )
}

// update_quorum_state(): lost below quorum − hysteresis, gained at quorum + hysteresis;
// the sorry server swaps with the real servers; scripts and FIFO follow.
#[test]
fn quorum_hysteresis_both_ways_with_sorry_server_swap() {
    let mut h = Harness::new(&quorum_conf(""));
    let vs_down = format!("VS {VS} DOWN\n");
    let vs_up = format!("VS {VS} UP\n");
    h.run_secs(5.0);
    assert!(h.e.virtual_servers()[0].quorum_up);
    h.set_health("10.0.0.1", false);
    h.run_secs(15.0);
    h.set_health("10.0.0.2", false);
    h.run_secs(25.0);
    // Weight 2 < quorum 3 but not < quorum − hysteresis = 2: still up.
    assert!(h.e.virtual_servers()[0].quorum_up);
    assert!(fifo_at(&h, &vs_down).is_empty());
    assert_eq!(h.dest_weight("10.9.9.9"), None);
    h.set_health("10.0.0.3", false);
    h.run_secs(35.0);
    assert_eq!(fifo_at(&h, &vs_down), vec![at(31.0)]);
    assert_eq!(h.notifies(), vec![(at(31.0), "/bin/qdown".to_string())]);
    assert_eq!(h.dest_weight("10.9.9.9"), Some(1));
    assert_eq!(
        h.dest_weight("10.0.0.4"),
        None,
        "the alive server leaves for the sorry server"
    );
    // Coming back: 2 and 3 are not enough (quorum + hysteresis = 4).
    h.set_health("10.0.0.1", true);
    h.run_secs(45.0);
    h.set_health("10.0.0.2", true);
    h.run_secs(55.0);
    assert!(!h.e.virtual_servers()[0].quorum_up);
    assert_eq!(h.e.virtual_servers()[0].alive_weight, 3);
    assert_eq!(h.dest_weight("10.9.9.9"), Some(1));
    h.set_health("10.0.0.3", true);
    h.run_secs(65.0);
    assert_eq!(fifo_at(&h, &vs_up), vec![at(61.0)]);
    assert_eq!(
        h.notifies(),
        vec![
            (at(31.0), "/bin/qdown".to_string()),
            (at(61.0), "/bin/qup".to_string())
        ]
    );
    assert_eq!(h.dest_weight("10.9.9.9"), None);
    for n in 1..=4 {
        assert_eq!(h.dest_weight(&format!("10.0.0.{n}")), Some(1));
    }
}

// init_service_vs(): with sorry_server_inhibit the sorry server is in the pool at weight
// 0 from the start and only its weight changes.
#[test]
fn sorry_server_inhibit_keeps_it_at_weight_zero_until_needed() {
    let mut h = Harness::new(&conf(
        "warmup 0\n sorry_server 10.9.9.9 8080\n sorry_server_inhibit",
        &rs("1.2.3.4", "TCP_CHECK { retry 0 }"),
    ));
    assert_eq!(h.dest_weight("10.9.9.9"), Some(0));
    assert_eq!(h.dest_weight("1.2.3.4"), Some(1));
    h.set_health("1.2.3.4", false);
    h.run_secs(2.0);
    assert_eq!(h.dest_weight("10.9.9.9"), Some(1));
    assert_eq!(h.dest_weight("1.2.3.4"), None);
    assert!(!h.ipvs_ops().iter().any(|(t, o)| *t > Instant::ZERO
        && matches!(o, IpvsOp::AddDest { dest, .. } if dest.addr.to_string() == "10.9.9.9")));
}

// update_quorum_state(init): a sorry server needed at start (alpha: nothing alive yet)
// is in the first table, and quorum_down runs.
#[test]
fn alpha_with_sorry_server_starts_with_the_sorry_server() {
    let h = Harness::new(&conf(
        "warmup 0\n alpha\n sorry_server 10.9.9.9 8080\n quorum_down /bin/qdown",
        &rs("1.2.3.4", "TCP_CHECK {}"),
    ));
    assert_eq!(h.dest_weight("10.9.9.9"), Some(1));
    assert_eq!(h.dest_weight("1.2.3.4"), None);
    assert_eq!(
        h.notifies(),
        vec![(Instant::ZERO, "/bin/qdown".to_string())]
    );
    assert_eq!(
        h.ipvs_ops()
            .iter()
            .filter(|(_, o)| matches!(o, IpvsOp::DelDest { .. }))
            .count(),
        0,
        "no add-then-remove at startup"
    );
}

// notify_fifo_rs() / notify_fifo_vs() / format_vs(): exact line text for address,
// fwmark and group virtual servers; newline-terminated, no NUL.
#[test]
fn fifo_lines_have_keepalived_text() {
    let text = "global_defs {\n notify_fifo /run/n.fifo\n}\n\
        virtual_server_group VG1 {\n 10.1.1.1-3 80\n}\n\
        virtual_server fwmark 7 {\n warmup 0\n real_server 10.0.0.1 80 {\n TCP_CHECK { retry 0 }\n }\n}\n\
        virtual_server group VG1 {\n warmup 0\n real_server 10.0.0.2 80 {\n TCP_CHECK { retry 0 }\n }\n}\n\
        virtual_server 2001:db8::15 443 {\n warmup 0\n protocol UDP\n real_server 2001:db8::2 443 {\n TCP_CHECK { retry 0 }\n }\n}\n";
    let mut h = Harness::new(text);
    h.set_health("10.0.0.1", false);
    h.set_health("10.0.0.2", false);
    h.set_health("2001:db8::2", false);
    h.run_secs(2.0);
    let lines: Vec<String> = h.fifo().into_iter().map(|(_, l)| l).collect();
    assert_eq!(
        lines,
        vec![
            "RS [10.0.0.1]:tcp:80 FWM 7 DOWN\n",
            "VS FWM 7 DOWN\n",
            "RS [10.0.0.2]:tcp:80 [VG1]:0 DOWN\n",
            "VS [VG1]:0 DOWN\n",
            "RS [2001:db8::2]:udp:443 [2001:db8::15]:udp:443 DOWN\n",
            "VS [2001:db8::15]:udp:443 DOWN\n",
        ]
    );
    assert!(lines.iter().all(|l| !l.contains('\0')));
    // The group expanded to one service per address (ipvs_group_cmd()), plus the fwmark
    // and the IPv6 service.
    let keys: Vec<&ServiceKey> = h.table.services.keys().collect();
    assert_eq!(keys.len(), 5, "{keys:?}");
    assert!(h
        .table
        .services
        .contains_key(&ServiceKey::Fwmark { mark: 7, v6: false }));
    assert!(h.table.services.contains_key(&ServiceKey::Addr {
        addr: "10.1.1.3".parse().unwrap(),
        port: 80,
        protocol: Protocol::Tcp
    }));
}

// register_checkers_thread() / update_checker_activity(): with ha_suspend the checkers
// wait while the virtual address is not on this host.
#[test]
fn ha_suspend_holds_checks_while_the_address_is_absent() {
    let mut h = Harness::new(&conf(
        "warmup 0\n ha_suspend",
        &rs("1.2.3.4", "TCP_CHECK { retry 0 }"),
    ));
    h.set_health("1.2.3.4", false);
    h.run_secs(30.0);
    assert!(h.probes().is_empty());
    assert!(h.alive("1.2.3.4"), "no check, no verdict");
    assert!(h.e.virtual_servers()[0].suspended);
    h.input(CheckInput::AddressPresent {
        addr: "192.168.201.99".parse().unwrap(),
        present: true,
    });
    h.run_secs(32.0);
    assert!(h.probes().is_empty(), "another address does not count");
    h.input(CheckInput::AddressPresent {
        addr: "192.168.201.15".parse().unwrap(),
        present: true,
    });
    h.run_secs(45.0);
    let id = h.checker_id("1.2.3.4");
    assert_eq!(h.probe_times(id), vec![at(41.0)]);
    assert!(!h.alive("1.2.3.4"));
    h.input(CheckInput::AddressPresent {
        addr: "192.168.201.15".parse().unwrap(),
        present: false,
    });
    h.run_secs(80.0);
    assert_eq!(h.probe_times(id), vec![at(41.0)]);
}

// clear_service_rs() / do_vs_notifies(stopping): omega runs the down notifiers at
// shutdown; without it they stay silent. Either way the services go.
#[test]
fn omega_runs_down_notifiers_at_shutdown() {
    for omega in [true, false] {
        let mut h = Harness::new(&conf(
            &format!(
                "warmup 0\n quorum_down /bin/qdown\n {}",
                if omega { "omega" } else { "" }
            ),
            &rs("1.2.3.4", "notify_down /bin/rsdown\n TCP_CHECK {}"),
        ));
        h.run_secs(5.0);
        h.clear();
        h.input(CheckInput::Shutdown);
        let notifies: Vec<String> = h.notifies().into_iter().map(|(_, c)| c).collect();
        let fifo: Vec<String> = h.fifo().into_iter().map(|(_, l)| l).collect();
        if omega {
            assert_eq!(notifies, vec!["/bin/rsdown", "/bin/qdown"]);
            assert_eq!(
                fifo,
                vec![rs_line("1.2.3.4", "DOWN"), format!("VS {VS} DOWN\n")]
            );
        } else {
            assert!(notifies.is_empty() && fifo.is_empty());
        }
        let ops: Vec<IpvsOp> = h.ipvs_ops().into_iter().map(|(_, o)| o).collect();
        assert_eq!(ops.len(), 1);
        assert!(matches!(ops[0], IpvsOp::DelService { .. }));
        assert!(h.table.services.is_empty());
        assert_eq!(h.e.poll_timeout(), None);
    }
}

// Reload (clear_diff_services(), migrate_checkers(), without keepalived's losses): a kept
// real server keeps its verdict, id and schedule; a removed one leaves through the diff;
// a new one starts as at startup.
#[test]
fn reload_keeps_unchanged_real_servers_state_and_schedule() {
    let servers = |ns: &[u8]| {
        ns.iter()
            .map(|n| rs(&format!("10.0.0.{n}"), "TCP_CHECK { retry 0 }"))
            .collect::<String>()
    };
    let mut h = Harness::new(&conf("warmup 0", &servers(&[1, 2, 3])));
    h.set_health("10.0.0.2", false);
    h.run_secs(5.0);
    assert!(!h.alive("10.0.0.2"));
    let before = h.e.real_servers();
    h.clear();
    // Same config again: nothing happens at all.
    h.input(CheckInput::Reload(Box::new(config(&conf(
        "warmup 0",
        &servers(&[1, 2, 3]),
    )))));
    assert!(h.ipvs_ops().is_empty() && h.fifo().is_empty() && h.notifies().is_empty());
    assert_eq!(h.e.real_servers(), before);
    // Drop .3, add .4 (and .2 has recovered meanwhile: it must still wait for its check).
    h.set_health("10.0.0.2", true);
    h.input(CheckInput::Reload(Box::new(config(&conf(
        "warmup 0",
        &servers(&[1, 2, 4]),
    )))));
    let ops: Vec<IpvsOp> = h.ipvs_ops().into_iter().map(|(_, o)| o).collect();
    let addr = |n: u8| -> std::net::IpAddr { format!("10.0.0.{n}").parse().unwrap() };
    assert_eq!(ops.len(), 2, "{ops:?}");
    assert!(matches!(&ops[0], IpvsOp::DelDest { dest, .. } if dest.addr == addr(3)));
    assert!(matches!(&ops[1], IpvsOp::AddDest { dest, .. } if dest.addr == addr(4)));
    let after = h.e.real_servers();
    assert_eq!(after[0].checkers, before[0].checkers, ".1 unchanged");
    assert_eq!(after[1].checkers, before[1].checkers, ".2 unchanged");
    assert!(!after[1].alive);
    assert!(
        after[2].checkers[0].id > before[2].checkers[0].id,
        "new id for .4"
    );
    assert_eq!(after[2].checkers[0].next_run, Some(at(6.0)));
    // .2 comes back at its old schedule (11 s), not a restarted one.
    h.run_secs(12.0);
    assert_eq!(fifo_at(&h, &rs_line("10.0.0.2", "UP")), vec![at(11.0)]);
}

// A result that changes nothing in the kernel emits nothing (diff minimality).
#[test]
fn steady_state_emits_no_ipvs_operations() {
    let mut h = Harness::new(&conf(
        "",
        &format!(
            "{}{}",
            rs("1.2.3.4", "TCP_CHECK {}"),
            rs("1.2.3.5", "HTTP_GET { url { path / } }")
        ),
    ));
    let initial = h.ipvs_ops().len();
    assert_eq!(initial, 3, "one service, two destinations");
    h.run_secs(600.0);
    assert_eq!(h.ipvs_ops().len(), initial);
    assert!(h.probes().len() > 20);
    assert_eq!(h.table, h.e.desired());
}

// check_http.c: one URL per run, walking the list; Host is url > checker > real server >
// virtual server; SNI is sni_name, else the host, when enable_sni.
#[test]
fn http_probe_spec_walks_urls_and_picks_the_virtualhost() {
    let text = conf(
        "warmup 0\n virtualhost v.example",
        &format!(
            "{}{}",
            rs(
                "1.2.3.4",
                "virtualhost r.example\n SSL_GET {\n connect_ip 10.5.5.5\n connect_port 8443\n \
                 connect_timeout 7\n virtualhost c.example\n enable_sni\n \
                 url { path /a\n virtualhost u.example }\n url { path /b }\n }"
            ),
            rs("1.2.3.5", "HTTP_GET { url { path /c } }"),
        ),
    );
    let mut h = Harness::new(&text);
    h.run_secs(12.0);
    let probes = h.probes();
    let http = |i: usize| match &probes[i].1.kind {
        ProbeKind::Http {
            tls,
            virtualhost,
            sni,
            url,
            ..
        } => (*tls, virtualhost.clone(), sni.clone(), url.path.clone()),
        k => panic!("{k:?}"),
    };
    assert_eq!(
        http(0),
        (
            true,
            Some("u.example".into()),
            Some("u.example".into()),
            "/a".into()
        )
    );
    assert_eq!(
        probes[0].1.endpoint.as_ref().unwrap().target,
        "10.5.5.5:8443".parse().unwrap()
    );
    assert_eq!(probes[0].1.timeout_us, 7 * S);
    assert_eq!(
        http(1),
        (false, Some("v.example".into()), None, "/c".into())
    );
    assert_eq!(probes[1].1.endpoint.as_ref().unwrap().target.port(), 80);
    assert_eq!(
        http(2),
        (
            true,
            Some("c.example".into()),
            Some("c.example".into()),
            "/b".into()
        )
    );
}

// check_smtp.c SMTP_DEFAULT_HELO, DNS defaults (SOA "."), MISC timeout = misc_timeout or
// the virtual server's delay_loop.
#[test]
fn smtp_dns_and_misc_probe_specs_have_keepalived_defaults() {
    let text = conf(
        "warmup 0",
        &format!(
            "{}{}{}{}",
            rs("10.0.0.1", "SMTP_CHECK {}"),
            rs("10.0.0.2", "DNS_CHECK {}"),
            rs("10.0.0.3", "MISC_CHECK { misc_path \"/bin/m arg\" }"),
            rs(
                "10.0.0.4",
                "MISC_CHECK { misc_path /bin/n\n misc_timeout 4 }"
            ),
        ),
    );
    let mut h = Harness::new(&text);
    h.run_secs(2.0);
    let p = h.probes();
    assert_eq!(
        p[0].1.kind,
        ProbeKind::Smtp {
            helo_name: SMTP_DEFAULT_HELO.into()
        }
    );
    assert_eq!(
        p[1].1.kind,
        ProbeKind::Dns {
            query_type: "SOA".into(),
            name: ".".into()
        }
    );
    assert!(
        matches!(&p[2].1.kind, ProbeKind::Misc { command } if command.argv == ["/bin/m", "arg"])
    );
    assert!(p[2].1.endpoint.is_none());
    assert_eq!(p[2].1.timeout_us, 10 * S);
    assert_eq!(p[3].1.timeout_us, 4 * S);
}

// check_bfd.c: BFD_CHECK never probes; it follows its bfd_instance's session through
// the usual path (FIFO, IPVS), starting up without alpha.
#[test]
fn bfd_check_follows_its_session_and_never_probes() {
    let text = "bfd_instance b1 {\n neighbor_ip 10.0.0.9\n}\n".to_string()
        + &conf("warmup 0", &rs("1.2.3.4", "BFD_CHECK { name b1 }"));
    let mut h = Harness::new(&text);
    h.run_secs(100.0);
    assert!(h.probes().is_empty());
    assert!(h.alive("1.2.3.4"));
    assert_eq!(h.dest_weight("1.2.3.4"), Some(1));
    let bfd = |up| CheckInput::Bfd {
        name: "b1".into(),
        up,
    };
    h.input(bfd(false));
    assert!(!h.alive("1.2.3.4"));
    assert_eq!(h.dest_weight("1.2.3.4"), None);
    assert!(h
        .fifo()
        .iter()
        .any(|(_, l)| l == &rs_line("1.2.3.4", "DOWN")));
    h.input(bfd(true));
    assert!(h.alive("1.2.3.4"));
    assert!(h.fifo().iter().any(|(_, l)| l == &rs_line("1.2.3.4", "UP")));
    h.run_secs(100.0);
    assert!(h.probes().is_empty());
}

// A BFD_CHECK a reload adds takes its session's last reported state, though the BFD
// process reported it before this process had the reload (keepalived's new checker would
// stay up until the session's next change).
#[test]
fn a_bfd_check_added_by_a_reload_takes_its_sessions_last_state() {
    let b1 = "bfd_instance b1 {\n neighbor_ip 10.0.0.9\n}\n".to_string();
    let mut h = Harness::new(&(b1.clone() + &conf("warmup 0", &rs("1.2.3.4", "TCP_CHECK {\n }"))));
    h.run_secs(1.0);
    h.input(CheckInput::Bfd {
        name: "b1".into(),
        up: false,
    });
    h.input(CheckInput::Reload(Box::new(config(
        &(b1 + &conf("warmup 0", &rs("1.2.3.5", "BFD_CHECK { name b1 }"))),
    ))));
    assert!(!h.alive("1.2.3.5"));
    assert_eq!(h.dest_weight("1.2.3.5"), None);
}

// bfd_name_handler(), bfd_end_handler(): a BFD_CHECK must name a bfd_instance read
// before it; otherwise it is skipped with keepalived's messages.
#[test]
fn bfd_check_without_a_known_name_is_skipped() {
    let errors = |text: &str| -> Vec<String> {
        parse_str(text, &ParseOptions::default())
            .diagnostics
            .iter()
            .filter(|d| d.counts_as_error())
            .map(|d| d.message.clone())
            .collect()
    };
    assert_eq!(
        errors(&conf("", &rs("1.2.3.4", "BFD_CHECK { name b1 }"))),
        ["([1.2.3.4]:tcp:80) BFD_CHECK - BFD b1 not configured"]
    );
    assert_eq!(
        errors(&conf("", &rs("1.2.3.4", "BFD_CHECK { alpha }"))),
        ["([1.2.3.4]:tcp:80) No name has been specified for BFD_CHECKER - skipping"]
    );
    let vrrp_only = "bfd_instance b1 {\n neighbor_ip 10.0.0.9\n vrrp\n}\n".to_string()
        + &conf("", &rs("1.2.3.4", "BFD_CHECK { name b1 }"));
    assert_eq!(
        errors(&vrrp_only),
        ["([1.2.3.4]:tcp:80) BFD_CHECK - BFD b1 not configured"]
    );
    let twice = "bfd_instance b1 {\n neighbor_ip 10.0.0.9\n}\n".to_string()
        + &conf(
            "",
            &rs("1.2.3.4", "BFD_CHECK { name b1 }\n BFD_CHECK { name b1 }"),
        );
    assert_eq!(
        errors(&twice),
        ["([1.2.3.4]:tcp:80) BFD_CHECK - RS already monitoring b1"]
    );
    let cfg = parse_str(&twice, &ParseOptions::default()).config;
    assert_eq!(cfg.virtual_servers[0].real_servers[0].checkers.len(), 1);
}

// smtp_alert(): real server transitions (SMTP_MSG_RS) and quorum (SMTP_MSG_VS), only with
// an smtp_server and recipients.
#[test]
fn smtp_alerts_on_real_and_virtual_server_transitions() {
    let text = "global_defs {\n router_id LVS1\n notification_email {\n ops@example.com\n }\n \
        smtp_server 127.0.0.1\n}\n\
        virtual_server 192.168.201.15 80 {\n warmup 0\n smtp_alert\n \
        real_server 1.2.3.4 80 {\n TCP_CHECK { retry 0 }\n }\n}\n";
    let mut h = Harness::new(text);
    h.set_health("1.2.3.4", false);
    h.run_secs(2.0);
    let alerts: Vec<(String, String)> = h
        .outs
        .iter()
        .filter_map(|(_, o)| match o {
            CheckOutput::SmtpAlert { subject, body } => Some((subject.clone(), body.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        alerts,
        vec![
            (
                format!("Virtualserver {VS} - DOWN"),
                "=> Lost quorum 1+0=1 <= 0 <=".to_string()
            ),
            (
                format!("Realserver [1.2.3.4]:tcp:80 of virtual server {VS} - DOWN"),
                "=> TCP CHECK failed on service <=".to_string()
            ),
        ]
    );
    // No smtp_server: no alert.
    let mut h = Harness::new(&conf(
        "warmup 0\n smtp_alert",
        &rs("1.2.3.4", "TCP_CHECK {}"),
    ));
    h.set_health("1.2.3.4", false);
    h.run_secs(2.0);
    assert!(!h
        .outs
        .iter()
        .any(|(_, o)| matches!(o, CheckOutput::SmtpAlert { .. })));
}

// A prober that never answers cannot freeze a checker: after timeout + grace the probe
// counts as failed.
#[test]
fn unanswered_probe_counts_as_failed_after_timeout_and_grace() {
    let mut h = Harness::new(&conf(
        "warmup 0",
        &rs("1.2.3.4", "TCP_CHECK { connect_timeout 3 }"),
    ));
    h.silent = true;
    h.run_secs(30.0);
    let down = Instant::from_micros(S + 3 * S + PROBE_GRACE_US);
    assert_eq!(fifo_at(&h, &rs_line("1.2.3.4", "DOWN")), vec![down]);
    let id = h.checker_id("1.2.3.4");
    let times = h.probe_times(id);
    assert_eq!(times[0], at(1.0));
    assert_eq!(times[1], down + std::time::Duration::from_secs(10));
    // A late answer to the abandoned probe is ignored.
    let spec = h.pending[0].clone();
    h.silent = false;
    h.input(CheckInput::ProbeDone {
        id: spec.id,
        outcome: ProbeOutcome::Up,
    });
    assert!(!h.alive("1.2.3.4"));
}

// A probe that waited on a busy host to run is judged from when it ran: the watchdog
// restarts at ProbeStarted, and the answer that follows within the probe's timeout counts.
#[test]
fn a_probe_that_started_late_is_given_its_timeout_from_its_start() {
    let mut h = Harness::new(&conf(
        "warmup 0",
        &rs("1.2.3.4", "TCP_CHECK { connect_timeout 3 retry 0 }"),
    ));
    h.silent = true;
    h.run_secs(1.0);
    let spec = h.pending.remove(0);
    // Asked for at 1 s, started at 8 s: the first watchdog (1 + 3 + 5 = 9 s) must not fire.
    h.run_secs(8.0);
    h.input(CheckInput::ProbeStarted { id: spec.id });
    let grace = std::time::Duration::from_micros(PROBE_GRACE_US);
    assert_eq!(h.e.poll_timeout(), Some(at(8.0 + 3.0) + grace));
    h.run_secs(11.0);
    h.input(CheckInput::ProbeDone {
        id: spec.id,
        outcome: ProbeOutcome::Up,
    });
    assert!(h.alive("1.2.3.4"));
    assert!(fifo_at(&h, &rs_line("1.2.3.4", "DOWN")).is_empty());
    // A start reported with no probe out changes nothing.
    let next = h.e.poll_timeout();
    h.input(CheckInput::ProbeStarted { id: spec.id });
    assert_eq!(h.e.poll_timeout(), next);
}

// Results for unknown ids, and for a checker with no probe out, are ignored.
#[test]
fn stray_results_are_ignored() {
    let mut h = Harness::new(&conf("warmup 0", &rs("1.2.3.4", "TCP_CHECK { retry 0 }")));
    let id = h.checker_id("1.2.3.4");
    h.input(CheckInput::ProbeDone {
        id,
        outcome: ProbeOutcome::Down {
            reason: "spoof".into(),
        },
    });
    h.input(CheckInput::ProbeDone {
        id: keepalived_engine::check::probe::ProbeId(9999),
        outcome: ProbeOutcome::Up,
    });
    assert!(h.alive("1.2.3.4"));
    assert_eq!(h.e.poll_timeout(), Some(at(1.0)));
}

// The engine never panics on a config with odd values: zero delays, no real servers,
// quorum above the total weight (capped, check_data.c), an undefined group.
#[test]
fn odd_configs_do_not_panic() {
    let mut cfg = config(&conf(
        "warmup 0\n quorum 50\n hysteresis 70",
        &rs("1.2.3.4", "TCP_CHECK {}"),
    ));
    cfg.virtual_servers[0].schedule.delay_loop_us = 0;
    cfg.virtual_servers[0].real_servers[0].checkers[0]
        .schedule
        .delay_loop_us = 0;
    cfg.virtual_servers[0].real_servers[0].checkers[0]
        .schedule
        .connect_timeout_us = 0;
    let mut e = CheckEngine::new(cfg, Instant::ZERO, 3);
    let st = &e.virtual_servers()[0];
    assert_eq!((st.quorum, st.hysteresis), (1, 0));
    let mut now = Instant::ZERO;
    for _ in 0..200 {
        let Some(t) = e.poll_timeout() else { break };
        now = t;
        e.handle_timeout(now);
        while let Some(o) = e.poll_output() {
            if let CheckOutput::StartProbe(s) = o {
                e.handle_input(
                    now,
                    CheckInput::ProbeDone {
                        id: s.id,
                        outcome: ProbeOutcome::Up,
                    },
                );
            }
        }
    }
    assert!(now > Instant::ZERO);
    let text = "virtual_server 10.0.0.1 80 {\n sorry_server 10.9.9.9 80\n}\n";
    let h = Harness::new(text);
    // No real server: total weight 0, quorum 0, and the sorry server serves.
    assert_eq!(h.dest_weight("10.9.9.9"), Some(1));
}

// The notify kinds tell real-server scripts from quorum scripts.
#[test]
fn notify_outputs_carry_their_kind() {
    let mut h = Harness::new(&conf(
        "warmup 0\n quorum_down /bin/qdown",
        &rs("1.2.3.4", "notify_down /bin/rsdown\n TCP_CHECK { retry 0 }"),
    ));
    h.set_health("1.2.3.4", false);
    h.run_secs(2.0);
    let kinds: Vec<CheckNotifyKind> = h
        .outs
        .iter()
        .filter_map(|(_, o)| match o {
            CheckOutput::Notify { kind, .. } => Some(*kind),
            _ => None,
        })
        .collect();
    assert_eq!(
        kinds,
        vec![CheckNotifyKind::RealServerDown, CheckNotifyKind::QuorumDown]
    );
}

// update_svr_checker_state(): a BFD_CHECK beside a TCP_CHECK; the server is in the pool
// only while both are up, whichever recovers first.
#[test]
fn bfd_check_and_tcp_check_on_one_real_server() {
    let text = "bfd_instance b1 {\n neighbor_ip 10.0.0.9\n}\n".to_string()
        + &conf(
            "warmup 0",
            &rs("1.2.3.4", "TCP_CHECK { retry 0 }\n BFD_CHECK { name b1 }"),
        );
    let bfd = |up| CheckInput::Bfd {
        name: "b1".into(),
        up,
    };
    let mut h = Harness::new(&text);
    h.run_secs(2.0);
    assert!(h.alive("1.2.3.4"));
    h.input(bfd(false));
    assert!(!h.alive("1.2.3.4"));
    h.set_health("1.2.3.4", false);
    h.run_secs(12.0);
    h.input(bfd(true));
    assert!(!h.alive("1.2.3.4"), "TCP still down");
    assert_eq!(h.dest_weight("1.2.3.4"), None);
    h.set_health("1.2.3.4", true);
    h.run_secs(22.0);
    assert!(h.alive("1.2.3.4"));
    assert_eq!(h.dest_weight("1.2.3.4"), Some(1));
    // With inhibit_on_failure a session down leaves the destination at weight 0.
    let text = "bfd_instance b1 {\n neighbor_ip 10.0.0.9\n}\n".to_string()
        + &conf(
            "warmup 0",
            &rs(
                "1.2.3.4",
                "weight 3\n inhibit_on_failure\n BFD_CHECK { name b1 }",
            ),
        );
    let mut h = Harness::new(&text);
    assert_eq!(h.dest_weight("1.2.3.4"), Some(3));
    h.input(bfd(false));
    assert_eq!(h.dest_weight("1.2.3.4"), Some(0));
    h.input(bfd(true));
    assert_eq!(h.dest_weight("1.2.3.4"), Some(3));
}
