//! One test per rule of the VRRP engine, named after it, citing the RFC section or the
//! keepalived function it follows.

mod support;

use keepalived_engine::time::{us, Instant};
use keepalived_engine::vrrp::{
    Input, InterfaceInfo, NotifyKind, Output, Owned, ScriptStatus, State,
};
use support::*;

fn one(conf_text: &str) -> Cluster {
    Cluster::new(&[conf_text])
}

fn state_changes(c: &Cluster, host: &str) -> Vec<(Instant, State, State)> {
    c.outputs
        .iter()
        .filter(|(h, _, _)| h == host)
        .filter_map(|(_, t, o)| match o {
            Output::StateChange { from, to, .. } => Some((*t, *from, *to)),
            _ => None,
        })
        .collect()
}

/// The reason the last change to FAULT gave, for the log (`FaultFlags::reason`).
fn fault_reason(c: &Cluster) -> Option<&str> {
    c.outputs.iter().rev().find_map(|(_, _, o)| match o {
        Output::StateChange {
            to: State::Fault,
            reason,
            ..
        } => Some(reason.as_str()),
        _ => None,
    })
}

fn became_master_at(c: &Cluster, host: &str) -> Option<Instant> {
    state_changes(c, host)
        .into_iter()
        .find(|(_, _, to)| *to == State::Master)
        .map(|(t, _, _)| t)
}

// vrrp_init_state(): priority 255 with state MASTER takes over at once.
#[test]
fn owner_becomes_master_at_once() {
    let mut c = one(&conf(1, 255, "state MASTER"));
    c.run_for_secs(0.5);
    assert_eq!(became_master_at(&c, "r1"), Some(Instant::ZERO));
}

// RFC 5798 §6.4.1: a backup waits Master_Down_Interval = 3 × interval + skew; v2 skew is
// (256 − priority) / 256 s.
#[test]
fn backup_waits_master_down_interval_before_taking_over() {
    let mut c = one(&conf(1, 100, ""));
    c.run_for_secs(10.0);
    assert_eq!(
        became_master_at(&c, "r1"),
        Some(Instant::from_micros(3_000_000 + 156 * 1_000_000 / 256))
    );
}

// RFC 5798 §6.1: v3 skew is (256 − priority) × Master_Adver_Interval / 256, intervals in
// centiseconds.
#[test]
fn v3_master_down_uses_centisecond_interval_and_its_skew() {
    let mut c = one(&conf(1, 100, "version 3\n advert_int 0.5"));
    c.run_for_secs(10.0);
    assert_eq!(
        became_master_at(&c, "r1"),
        Some(Instant::from_micros(1_500_000 + 156 * 50 * 625 / 16))
    );
}

// keepalived `down_timer_adverts`: Master_Down_Interval counts that many intervals.
#[test]
fn down_timer_adverts_scales_master_down_interval() {
    let mut c = one(&conf(1, 100, "down_timer_adverts 5"));
    c.run_for_secs(10.0);
    assert_eq!(
        became_master_at(&c, "r1"),
        Some(Instant::from_micros(5_000_000 + 156 * 1_000_000 / 256))
    );
}

// update_master_adver_int(), RFC 5798 §6.4.2: a v3 backup adopts the master's interval.
#[test]
fn v3_backup_adopts_the_masters_interval() {
    let mut c = one(&conf(1, 100, "version 3"));
    c.input(0, advert_input(9, 1, 200, 3, 200));
    let i = c.hosts[0].engine.instance("VI_1").unwrap();
    assert_eq!(i.master_adver_int, std::time::Duration::from_secs(2));
    // Master down is now 3 × 2 s + skew(100) at 2 s.
    assert_eq!(
        i.deadline,
        Some(Instant::from_micros(6_000_000 + 156 * 200 * 625 / 16))
    );
}

// RFC 5798 §6.4.2: priority 0 from the master → take over after Skew_Time.
#[test]
fn priority_zero_advert_makes_backup_take_over_after_skew() {
    let mut c = one(&conf(1, 100, ""));
    c.run_for_secs(1.0);
    c.input(0, advert_input(9, 1, 0, 2, 100));
    c.run_for_secs(1.0);
    assert_eq!(
        became_master_at(&c, "r1"),
        Some(Instant::from_micros(1_000_000 + 156 * 1_000_000 / 256))
    );
}

// vrrp_state_backup(): an advert with priority ≥ ours resets the down timer; equal
// priority is always accepted in BACKUP.
#[test]
fn backup_accepts_equal_or_higher_priority_and_resets_down_timer() {
    let mut c = one(&conf(1, 100, ""));
    for t in 1..=8 {
        c.run_until(secs(f64::from(t)));
        c.input(0, advert_input(9, 1, 100, 2, 100));
    }
    assert_eq!(c.state(0, "VI_1"), State::Backup);
}

// vrrp_state_backup(): lower priority is discarded, so the backup preempts when its timer
// fires (RFC 5798 §6.4.2 "Preempt_Mode True").
#[test]
fn backup_discards_lower_priority_and_preempts() {
    let mut c = one(&conf(1, 100, ""));
    for t in 1..=8 {
        c.run_until(secs(f64::from(t)));
        c.input(0, advert_input(9, 1, 50, 2, 100));
    }
    assert_eq!(
        became_master_at(&c, "r1"),
        Some(Instant::from_micros(3_609_375))
    );
}

// nopreempt: lower priority adverts are accepted too.
#[test]
fn nopreempt_accepts_lower_priority_master() {
    let mut c = one(&conf(1, 100, "nopreempt"));
    for t in 1..=8 {
        c.run_until(secs(f64::from(t)));
        c.input(0, advert_input(9, 1, 50, 2, 100));
    }
    assert_eq!(c.state(0, "VI_1"), State::Backup);
}

// preempt_delay: the first lower-priority advert starts the delay; adverts are accepted
// until it runs out, then the backup preempts.
#[test]
fn preempt_delay_defers_preemption() {
    let mut c = one(&conf(1, 100, "preempt_delay 5"));
    for t in 1..=20 {
        c.run_until(secs(f64::from(t)));
        if c.state(0, "VI_1") == State::Backup {
            c.input(0, advert_input(9, 1, 50, 2, 100));
        }
    }
    // The advert at 1 s starts the 5 s delay; those before 6 s are accepted; from 6 s on
    // they are discarded, so the timer the 5 s advert set fires at 5 + 3.609375.
    assert_eq!(
        became_master_at(&c, "r1"),
        Some(Instant::from_micros(8_609_375))
    );
}

fn master(prio: u8, extra: &str) -> Cluster {
    let mut c = one(&conf(1, prio, extra));
    c.run_for_secs(4.0);
    assert_eq!(c.state(0, "VI_1"), State::Master);
    c
}

fn adverts_sent(c: &Cluster) -> Vec<u8> {
    outputs_of(c, "r1")
        .filter_map(|o| match o {
            Output::Transmit { bytes, .. } => Some(advert_priority(bytes)),
            _ => None,
        })
        .collect()
}

/// The first advert r1 sent, its IPv4 header (20 bytes) included.
fn first_advert(c: &Cluster) -> Vec<u8> {
    outputs_of(c, "r1")
        .find_map(|o| match o {
            Output::Transmit { bytes, .. } => Some(bytes.clone()),
            _ => None,
        })
        .expect("r1 sent an advert")
}

// RFC 3768 §5.3.7: a v2 advert carries its interval in whole seconds; RFC 5798 §5.2.7: a
// v3 advert in centiseconds, in the low 12 bits of its second word.
#[test]
fn an_advert_carries_its_interval_in_its_versions_unit() {
    let mut c = one(&conf(1, 255, "state MASTER\n advert_int 3"));
    c.run_for_secs(0.5);
    assert_eq!(first_advert(&c)[20 + 5], 3);
    let mut c = one(&conf(1, 255, "state MASTER\n version 3\n advert_int 2.5"));
    c.run_for_secs(0.5);
    let v3 = &first_advert(&c)[20..];
    assert_eq!(u16::from_be_bytes([v3[4], v3[5]]) & 0x0fff, 250);
}

// RFC 2402 and `vrrp_build_ipsecah()`: a v2 master with `auth_type AH` sends its adverts with
// an AH header its backup verifies, so the backup keeps hearing it and stays backup; the
// master's adverts are numbered from 1.
#[test]
fn an_ah_master_is_heard_by_its_ah_backup() {
    let ah = "authentication {\n auth_type AH\n auth_pass secret\n }";
    let mut c = Cluster::new(&[&conf(1, 200, ah), &conf(1, 100, ah)]);
    c.run_for_secs(10.0);
    assert_eq!(c.masters("VI_1"), ["r1"]);
    let r2 = c.hosts[1].engine.instance("VI_1").unwrap();
    assert!(r2.stats.advert_rcvd >= 5, "{:?}", r2.stats);
    assert_eq!(r2.stats.auth_failure, 0);
    let first = first_advert(&c);
    assert_eq!(first[9], 51, "AH protocol");
    assert_eq!(first[20 + 8..20 + 12], [0, 0, 0, 1], "AH sequence number");
}

// vrrp_send_adv() counts every advert sent (`advert_sent`) and those of priority 0
// (`pri_zero_sent`); a takeover counts in `become_master`, yielding to a higher priority
// in `release_master` (vrrp_state_leave_master()): SNMP and the statistics file report
// them.
#[test]
fn a_master_counts_its_adverts_and_its_takeovers() {
    let counts = |c: &Cluster| {
        let s = &c.hosts[0].engine.instance("VI_1").unwrap().stats;
        (
            s.advert_sent,
            s.pri_zero_sent,
            s.become_master,
            s.release_master,
        )
    };
    let mut c = master(100, "");
    let sent = adverts_sent(&c).len() as u64;
    assert_eq!(counts(&c), (sent, 0, 1, 0));
    c.input(0, advert_input(9, 1, 200, 2, 100));
    assert_eq!(counts(&c), (sent, 0, 1, 1));
    let mut c = master(100, "");
    c.input(0, Input::Shutdown);
    let (adverts, zero, _, _) = counts(&c);
    assert_eq!((adverts, zero), (sent + 1, 1));
}

// RFC 5798 §6.4.3: a master answers priority 0 with an advert at once.
#[test]
fn master_answers_priority_zero_with_an_advert() {
    let mut c = master(100, "");
    let before = adverts_sent(&c).len();
    c.input(0, advert_input(9, 1, 0, 2, 100));
    assert_eq!(adverts_sent(&c).len(), before + 1);
    assert_eq!(c.state(0, "VI_1"), State::Master);
}

// RFC 5798 §6.4.3: equal priority, the higher primary address wins.
#[test]
fn master_equal_priority_tie_is_broken_by_address() {
    let mut c = master(100, "");
    c.input(0, advert_input(0, 1, 100, 2, 100)); // from 192.168.0.0: lower than ours (.1)
    assert_eq!(c.state(0, "VI_1"), State::Master);
    c.input(0, advert_input(9, 1, 100, 2, 100)); // from .9: higher
    assert_eq!(c.state(0, "VI_1"), State::Backup);
}

// RFC 9568 §6.4.3 / vrrp_state_master_rx(): a lower priority gets an advert back, unless
// lower_prio_no_advert.
#[test]
fn master_answers_lower_priority_unless_lower_prio_no_advert() {
    let mut c = master(100, "");
    let before = adverts_sent(&c).len();
    c.input(0, advert_input(9, 1, 50, 2, 100));
    assert_eq!(adverts_sent(&c).len(), before + 1);

    let mut c = master(100, "lower_prio_no_advert");
    let before = adverts_sent(&c).len();
    c.input(0, advert_input(9, 1, 50, 2, 100));
    assert_eq!(adverts_sent(&c).len(), before);
}

// vrrp_state_master_rx(): garp_lower_prio_repeat GARPs and notify_master_rx_lower_pri.
#[test]
fn master_hearing_lower_priority_sends_garps_and_notifies() {
    let mut c = master(
        100,
        "garp_lower_prio_repeat 2\n notify_master_rx_lower_pri \"/bin/lower\"",
    );
    let garps = c.hosts[0].garps;
    c.input(0, advert_input(9, 1, 50, 2, 100));
    assert_eq!(c.hosts[0].garps, garps + 2);
    assert!(outputs_of(&c, "r1").any(|o| matches!(
        o,
        Output::Notify {
            kind: NotifyKind::MasterRxLowerPri,
            ..
        }
    )));
}

// vrrp_garp_rep_handler() and its kin: a GARP repeat count of 0 is a configuration
// error, read as 1, so a new master still announces its addresses.
#[test]
fn a_garp_repeat_of_0_is_an_error_and_read_as_1() {
    use keepalived_engine::config::{parse_str, ParseOptions};
    let master = |extra: &str| conf(1, 255, &format!("state MASTER\n {extra}"));
    let global = |extra: &str| format!("global_defs {{\n {extra}\n}}\n") + &master("");
    for (text, keyword) in [
        (master("garp_master_repeat 0"), "garp_master_repeat"),
        (
            master("garp_master_refresh_repeat 0"),
            "garp_master_refresh_repeat",
        ),
        (
            global("vrrp_garp_master_repeat 0"),
            "vrrp_garp_master_repeat",
        ),
        (
            global("vrrp_garp_master_refresh_repeat 0"),
            "vrrp_garp_master_refresh_repeat",
        ),
    ] {
        let loaded = parse_str(&text, &ParseOptions::default());
        let message = format!("{keyword} must be greater than 0, setting to 1");
        assert!(
            loaded
                .diagnostics
                .iter()
                .any(|d| d.counts_as_error() && d.message == message),
            "{keyword}"
        );
        let vi = &loaded.config.instances[0];
        let (repeat, refresh) = (vi.garp_master_repeat, vi.garp_master_refresh_repeat);
        assert_eq!((repeat > 0, refresh > 0), (true, true), "{keyword}");
        if keyword.contains("refresh") {
            assert_eq!(refresh, 1, "{keyword}");
        } else {
            assert_eq!(repeat, 1, "{keyword}");
        }
    }
}

// garp_lower_prio_repeat 0: no burst, and no timer for a delayed one, so the master's
// next wake-up is its next advert.
#[test]
fn garp_lower_prio_repeat_zero_arms_nothing() {
    let mut c = master(100, "garp_lower_prio_repeat 0\n garp_lower_prio_delay 0.5");
    let garps = c.hosts[0].garps;
    c.input(0, advert_input(9, 1, 50, 2, 100));
    assert_eq!(c.hosts[0].garps, garps);
    // The lower advert was answered at once, so the next advert is an interval away.
    assert_eq!(
        c.hosts[0].engine.poll_timeout(),
        Some(c.now + us(1_000_000))
    );
}

// garp_lower_prio_delay: a second burst that long after the first; none with 0.
#[test]
fn garp_lower_prio_delay_sends_a_second_burst() {
    for (delay, second) in [(0, 0), (2, 2)] {
        let mut c = master(
            100,
            &format!(
                "garp_master_delay 0\n garp_lower_prio_repeat 2\n garp_lower_prio_delay {delay}"
            ),
        );
        let garps = c.hosts[0].garps;
        c.input(0, advert_input(9, 1, 50, 2, 100));
        assert_eq!(c.hosts[0].garps, garps + 2);
        c.run_for_secs(1.9);
        assert_eq!(c.hosts[0].garps, garps + 2);
        c.run_for_secs(3.0);
        assert_eq!(c.hosts[0].garps, garps + 2 + second, "delay {delay}");
    }
}

// RFC 5798 §6.4.3: a higher priority makes the master a backup and it releases its
// addresses.
#[test]
fn master_yields_to_higher_priority_and_releases_addresses() {
    let mut c = master(100, "");
    c.input(0, advert_input(9, 1, 200, 2, 100));
    assert_eq!(c.state(0, "VI_1"), State::Backup);
    assert!(c.hosts[0].held.is_empty());
}

// vrrp_state_master_rx(): without higher_prio_send_advert a master yields without a word;
// a priority 255 advert is higher whatever its address, when we are not the owner.
#[test]
fn master_yields_to_higher_priority_without_answering() {
    for (from, priority) in [(9, 200), (0, 255)] {
        let mut c = master(100, "");
        let before = adverts_sent(&c).len();
        c.input(0, advert_input(from, 1, priority, 2, 100));
        assert_eq!(c.state(0, "VI_1"), State::Backup, "{priority} from .{from}");
        assert_eq!(adverts_sent(&c).len(), before, "{priority} from .{from}");
        // Only two owners make the "both configured as address owner" error.
        assert!(
            !outputs_of(&c, "r1").any(
                |o| matches!(o, Output::Log { message, .. } if message.contains("address owner"))
            ),
            "{priority} from .{from}"
        );
    }
}

// vrrp_state_master_rx(): an advert with our own address and priority is logged and
// otherwise ignored: no advert to force an election, no change of state.
#[test]
fn an_advert_with_our_address_and_priority_is_ignored() {
    let mut c = master(100, "");
    let before = adverts_sent(&c).len();
    c.input(0, advert_input(1, 1, 100, 2, 100));
    assert_eq!(c.state(0, "VI_1"), State::Master);
    assert_eq!(adverts_sent(&c).len(), before);
    let logged = "equal priority advert received from remote host with our IP address";
    assert!(
        outputs_of(&c, "r1").any(|o| matches!(o, Output::Log { message, .. } if message == logged))
    );
}

// higher_prio_send_advert: one advert with our priority before yielding.
#[test]
fn higher_prio_send_advert_answers_before_yielding() {
    let mut c = master(100, "higher_prio_send_advert");
    let before = adverts_sent(&c);
    c.input(0, advert_input(9, 1, 200, 2, 100));
    let after = adverts_sent(&c);
    assert_eq!(after.len(), before.len() + 1);
    assert_eq!(after.last(), Some(&100));
    assert_eq!(c.state(0, "VI_1"), State::Backup);
}

// vrrp_check_packet() then vrrp_state_backup() step 2: a refused advert never resets the
// down timer.
#[test]
fn rejected_advert_never_resets_the_down_timer() {
    let mut c = one(&conf(
        1,
        100,
        "authentication {\n auth_type PASS\n auth_pass secret\n }",
    ));
    for t in 1..=8 {
        c.run_until(secs(f64::from(t)));
        c.input(0, advert_input(9, 1, 200, 2, 100)); // no authentication: authtype mismatch
    }
    assert_eq!(
        became_master_at(&c, "r1"),
        Some(Instant::from_micros(3_609_375))
    );
    // Refused as backup and as master alike, and counted each time.
    assert_eq!(
        c.hosts[0]
            .engine
            .instance("VI_1")
            .unwrap()
            .stats
            .authtype_mismatch,
        8
    );
    // The metrics' telemetry counts them by reason, and the transitions by state.
    let engine = &c.hosts[0].engine;
    let view = engine.snapshot(secs(9.0));
    let vi = &view.instances[0];
    assert_eq!(vi.telemetry.rejected.get("auth_type_mismatch"), Some(&8));
    assert!(vi.telemetry.noted.is_empty());
    assert_eq!(vi.telemetry.entered[1..3], [1, 1]);
    assert_eq!(vi.state, 2);
    // Time in BACKUP: from its first transition to the takeover; MASTER since then.
    let backup_us = vi.telemetry.spent_us[1];
    assert!(backup_us > 0 && backup_us <= 3_609_375, "{backup_us}");
    assert_eq!(vi.telemetry.spent_us[2], 9_000_000 - 3_609_375);
    assert_eq!(vi.in_state_us, 9_000_000 - 3_609_375);
}

const SCRIPT: &str = "vrrp_script chk {\n script \"/bin/check\"\n interval 1\n weight WEIGHT\n rise 2\n fall 2\n EXTRA\n}\n";

fn scripted(weight: i32, extra_script: &str, instance_extra: &str) -> Cluster {
    let text = SCRIPT
        .replace("WEIGHT", &weight.to_string())
        .replace("EXTRA", extra_script)
        + &conf(
            1,
            100,
            &format!("track_script {{\n chk\n }}\n {instance_extra}"),
        );
    one(&text)
}

fn script_result(c: &mut Cluster, ok: bool) {
    let status = if ok {
        ScriptStatus::Exited(0)
    } else {
        ScriptStatus::Exited(1)
    };
    c.input(
        0,
        Input::ScriptExited {
            script: "chk".into(),
            status,
        },
    );
}

fn priority(c: &Cluster) -> u8 {
    c.hosts[0]
        .engine
        .instance("VI_1")
        .unwrap()
        .effective_priority
}

// vrrp_init_state() / num_script_init: a weight-0 script that has not reported holds the
// instance in INIT; one success is then enough.
#[test]
fn unreported_weight_zero_script_holds_instance_in_init() {
    let mut c = scripted(0, "", "");
    c.run_for_secs(5.0);
    assert_eq!(c.state(0, "VI_1"), State::Init);
    assert!(outputs_of(&c, "r1")
        .any(|o| matches!(o, Output::RunScript { script, .. } if script == "chk")));
    script_result(&mut c, true);
    assert_eq!(c.state(0, "VI_1"), State::Backup);
}

// init_fail: the script starts failed, so a weight-0 tracker starts in FAULT.
#[test]
fn init_fail_starts_the_instance_in_fault() {
    let c = scripted(0, "init_fail", "");
    assert_eq!(c.state(0, "VI_1"), State::Fault);
}

// vrrp_script_child_thread(): `fall` failures to go down, `rise` successes to come up.
#[test]
fn script_rise_and_fall_count_consecutive_results() {
    let mut c = scripted(0, "", "");
    script_result(&mut c, true);
    assert_eq!(c.state(0, "VI_1"), State::Backup);
    script_result(&mut c, false);
    assert_eq!(c.state(0, "VI_1"), State::Backup, "one failure of fall 2");
    script_result(&mut c, false);
    assert_eq!(c.state(0, "VI_1"), State::Fault);
    assert_eq!(fault_reason(&c), Some("tracker down"));
    script_result(&mut c, true);
    assert_eq!(c.state(0, "VI_1"), State::Fault, "one success of rise 2");
    script_result(&mut c, true);
    assert_eq!(c.state(0, "VI_1"), State::Backup);
}

// vrrp_set_effective_priority(): a backup whose priority changes while it waits keeps
// its wait but for the new skew: the down timer moves by the difference (RFC 3768 §6.1,
// Skew_Time = (256 − priority) / 256 s).
#[test]
fn a_priority_change_moves_a_backups_down_timer_by_the_change_of_skew() {
    let mut c = scripted(-50, "", "");
    script_result(&mut c, true);
    c.input(0, advert_input(9, 1, 200, 2, 100));
    let heard = c.now;
    let deadline = |c: &Cluster| c.hosts[0].engine.instance("VI_1").unwrap().deadline;
    let skew = |p: u64| (256 - p) * 1_000_000 / 256;
    assert_eq!(deadline(&c), Some(heard + us(3_000_000 + skew(100))));
    script_result(&mut c, false);
    script_result(&mut c, false);
    assert_eq!(priority(&c), 50);
    assert_eq!(deadline(&c), Some(heard + us(3_000_000 + skew(50))));
    script_result(&mut c, true);
    script_result(&mut c, true);
    assert_eq!(priority(&c), 100);
    assert_eq!(deadline(&c), Some(heard + us(3_000_000 + skew(100))));
}

// process_script_update_priority(): positive weight adds when up, negative subtracts when
// down; `reverse` flips the direction.
#[test]
fn track_script_weight_adjusts_effective_priority() {
    let mut c = scripted(20, "", "");
    assert_eq!(priority(&c), 100, "not reported yet");
    script_result(&mut c, true);
    assert_eq!(priority(&c), 120);
    script_result(&mut c, false);
    script_result(&mut c, false);
    assert_eq!(priority(&c), 100);

    let mut c = scripted(-30, "", "");
    script_result(&mut c, true);
    assert_eq!(priority(&c), 100);
    script_result(&mut c, false);
    script_result(&mut c, false);
    assert_eq!(priority(&c), 70);

    let text = SCRIPT.replace("WEIGHT", "20 reverse").replace("EXTRA", "")
        + &conf(1, 100, "track_script {\n chk\n }");
    let mut c = one(&text);
    script_result(&mut c, true);
    assert_eq!(priority(&c), 80);
}

// vrrp_set_effective_priority(): clamped to 1..=254; owners never change.
#[test]
fn effective_priority_is_clamped_and_owner_never_changes() {
    let text = SCRIPT.replace("WEIGHT", "200").replace("EXTRA", "")
        + &conf(1, 100, "track_script {\n chk\n }");
    let mut c = one(&text);
    script_result(&mut c, true);
    assert_eq!(priority(&c), 254);
    let text = SCRIPT.replace("WEIGHT", "-50").replace("EXTRA", "")
        + &conf(1, 255, "track_script {\n chk\n }");
    let mut c = one(&text);
    script_result(&mut c, false);
    script_result(&mut c, false);
    assert_eq!(priority(&c), 255);
}

// A weighted script failing on the master lowers its priority below the backup's, which
// then preempts (the usual keepalived failover by weight).
#[test]
fn track_script_weight_causes_failover() {
    let a = SCRIPT.replace("WEIGHT", "-60").replace("EXTRA", "")
        + &conf(1, 150, "track_script {\n chk\n }");
    let b = conf(1, 100, "");
    let mut c = Cluster::new(&[&a, &b]);
    c.input(
        0,
        Input::ScriptExited {
            script: "chk".into(),
            status: ScriptStatus::Exited(0),
        },
    );
    c.run_for_secs(5.0);
    assert_eq!(c.masters("VI_1"), ["r1"]);
    for _ in 0..2 {
        c.input(
            0,
            Input::ScriptExited {
                script: "chk".into(),
                status: ScriptStatus::Exited(1),
            },
        );
    }
    c.run_for_secs(6.0);
    assert_eq!(c.masters("VI_1"), ["r2"]);
}

fn link(c: &mut Cluster, up: bool) {
    c.input(0, Input::Interface(InterfaceInfo { up, ..iface(1, up) }));
}

// down_instance(VRRP_FAULT_FL_INTERFACE_DOWN): the instance's own interface going down is
// FAULT; a master sends priority 0 and releases its addresses; recovery is to BACKUP.
#[test]
fn own_interface_down_is_fault_and_recovery_is_backup() {
    let mut c = master(100, "");
    let sent = adverts_sent(&c).len();
    link(&mut c, false);
    assert_eq!(c.state(0, "VI_1"), State::Fault);
    assert_eq!(fault_reason(&c), Some("interface down"));
    assert!(c.hosts[0].held.is_empty());
    assert_eq!(
        adverts_sent(&c)[sent..],
        [0],
        "priority 0 on leaving for FAULT"
    );
    link(&mut c, true);
    assert_eq!(c.state(0, "VI_1"), State::Backup);
}

// vrrp_state_fault_rx() → BACKUP: the address owner back from FAULT waits one interval and
// its skew, not a whole Master_Down_Interval, before it takes its addresses back.
#[test]
fn an_owner_back_from_fault_takes_over_after_one_interval_and_its_skew() {
    let mut c = master(255, "state MASTER");
    link(&mut c, false);
    link(&mut c, true);
    assert_eq!(c.state(0, "VI_1"), State::Backup);
    let back = c.now;
    c.run_for_secs(5.0);
    let took_over = state_changes(&c, "r1")
        .into_iter()
        .filter(|(t, _, to)| *t > back && *to == State::Master)
        .map(|(t, _, _)| t)
        .next();
    assert_eq!(took_over, Some(back + us(1_000_000 + 1_000_000 / 256)));
}

// dont_track_primary: the own interface is not tracked.
#[test]
fn dont_track_primary_ignores_own_interface() {
    let mut c = master(100, "dont_track_primary");
    link(&mut c, false);
    assert_eq!(c.state(0, "VI_1"), State::Master);
}

fn source(c: &mut Cluster, addr: &str, present: bool) {
    c.input(
        0,
        Input::SourceAddress {
            interface: IFACE.into(),
            addr: addr.parse().expect("address"),
            present,
        },
    );
}

// track_src_ip (keepalived.conf(5): "if the configured src_ip doesn't exist or is removed
// put the instance into fault state"): the master leaves with priority 0 and comes back
// through BACKUP; without the keyword, or for another address, nothing happens.
#[test]
fn track_src_ip_faults_while_the_configured_source_is_missing() {
    let mut c = master(100, "mcast_src_ip 192.168.0.1\n track_src_ip");
    let sent = adverts_sent(&c).len();
    source(&mut c, "192.168.0.7", false);
    assert_eq!(c.state(0, "VI_1"), State::Master);
    source(&mut c, "192.168.0.1", false);
    assert_eq!(c.state(0, "VI_1"), State::Fault);
    assert_eq!(fault_reason(&c), Some("no source address"));
    assert!(c.hosts[0].held.is_empty());
    assert_eq!(
        adverts_sent(&c)[sent..],
        [0],
        "priority 0 on leaving for FAULT"
    );
    source(&mut c, "192.168.0.1", true);
    assert_eq!(c.state(0, "VI_1"), State::Backup);
    c.run_for_secs(4.0);
    assert_eq!(c.state(0, "VI_1"), State::Master);

    let mut c = master(100, "mcast_src_ip 192.168.0.1");
    source(&mut c, "192.168.0.1", false);
    assert_eq!(c.state(0, "VI_1"), State::Master);
}

// An instance whose tracked source is missing at start starts in FAULT, never BACKUP.
#[test]
fn track_src_ip_missing_at_start_starts_in_fault() {
    use keepalived_engine::config::{parse_str, ParseOptions};
    use keepalived_engine::vrrp::{Engine, TrackedAtStart};
    let text = conf(1, 100, "mcast_src_ip 192.168.0.9\n track_src_ip");
    let loaded = parse_str(&text, &ParseOptions::default());
    let tracked = TrackedAtStart {
        missing_sources: [(IFACE.to_string(), "192.168.0.9".parse().expect("address"))].into(),
        ..TrackedAtStart::default()
    };
    let mut e = Engine::with_trackers(loaded.config, Instant::ZERO, vec![iface(1, true)], tracked);
    let states: Vec<State> = std::iter::from_fn(|| e.poll_output())
        .filter_map(|o| match o {
            Output::StateChange { to, .. } => Some(to),
            _ => None,
        })
        .collect();
    assert_eq!(states, [State::Fault]);
}

// set_vrrp_backup(): a master whose tracked VIP, route or rule someone else deletes
// gives up with priority 0 and takes over again after its skew, putting it all back;
// a `no_track` item's deletion changes nothing.
#[test]
fn a_tracked_item_deleted_sends_the_master_to_backup_for_its_skew() {
    let extra = "virtual_routes {\n  10.9.0.0/24 dev eth0\n  10.9.1.0/24 dev eth0 no_track\n }";
    let mut c = master(100, extra);
    let owned = c.hosts[0].engine.instance("VI_1").expect("VI_1").owned();
    let route = |net: &str| {
        owned
            .iter()
            .find(|o| matches!(o, Owned::Route(r) if r.to.is_some_and(|p| p.address.to_string() == net)))
            .cloned()
            .expect("route")
    };
    let removed = |what: Owned| Input::OwnedRemoved {
        instance: "VI_1".into(),
        what,
    };
    c.input(0, removed(route("10.9.1.0")));
    assert_eq!(c.state(0, "VI_1"), State::Master, "no_track");
    let sent = adverts_sent(&c).len();
    let at = c.now;
    c.input(0, removed(route("10.9.0.0")));
    assert_eq!(c.state(0, "VI_1"), State::Backup);
    assert!(c.hosts[0].held.is_empty(), "everything off");
    assert_eq!(adverts_sent(&c)[sent..], [0]);
    c.run_for_secs(1.0);
    assert_eq!(c.state(0, "VI_1"), State::Master);
    let back = became_master_at_after(&c, "r1", at).expect("master again");
    // Skew for priority 100 at a 1 s interval: (256 − 100) / 256 s.
    assert!(
        back - at <= std::time::Duration::from_millis(610),
        "{:?}",
        back - at
    );
    let re_added = c.outputs.iter().any(|(h, t, o)| {
        h == "r1"
            && *t > at
            && matches!(o, Output::Add { what: Owned::Route(r), .. } if !r.no_track)
    });
    assert!(re_added, "the route is put back");
}

fn became_master_at_after(c: &Cluster, host: &str, after: Instant) -> Option<Instant> {
    state_changes(c, host)
        .into_iter()
        .find(|(t, _, to)| *to == State::Master && *t > after)
        .map(|(t, _, _)| t)
}

// track_file: value × weight; weight 0 faults on a non-zero value.
#[test]
fn track_file_value_times_weight_and_weight_zero_faults() {
    let text = "vrrp_track_file f {\n file /tmp/x\n weight -10\n}\n".to_string()
        + &conf(1, 100, "track_file {\n f\n }");
    let mut c = one(&text);
    c.input(
        0,
        Input::TrackFile {
            name: "f".into(),
            value: 3,
        },
    );
    assert_eq!(priority(&c), 70);
    let text = "vrrp_track_file f {\n file /tmp/x\n}\n".to_string()
        + &conf(1, 100, "track_file {\n f weight 0\n }");
    let mut c = one(&text);
    c.input(
        0,
        Input::TrackFile {
            name: "f".into(),
            value: 1,
        },
    );
    assert_eq!(c.state(0, "VI_1"), State::Fault);
}

// vrrp_track_process: quorum lost with weight 0 is FAULT.
#[test]
fn track_process_quorum_lost_is_fault() {
    let text = "vrrp_track_process p {\n process nginx\n quorum 2\n}\n".to_string()
        + &conf(1, 100, "track_process {\n p\n }");
    let mut c = one(&text);
    c.input(
        0,
        Input::ProcessCount {
            name: "p".into(),
            count: 2,
        },
    );
    assert_eq!(c.state(0, "VI_1"), State::Backup);
    c.input(
        0,
        Input::ProcessCount {
            name: "p".into(),
            count: 1,
        },
    );
    assert_eq!(c.state(0, "VI_1"), State::Fault);
}

// vrrp_tprocess_quorum_max_handler(): `quorum_max 0` makes quorum 0, so the tracker holds
// while no process runs and fails with one.
#[test]
fn track_process_quorum_max_0_fails_while_the_process_runs() {
    let text = "vrrp_track_process p {\n process nginx\n quorum_max 0\n}\n".to_string()
        + &conf(1, 100, "track_process {\n p\n }");
    let mut c = one(&text);
    let count = |c: &mut Cluster, count| {
        c.input(
            0,
            Input::ProcessCount {
                name: "p".into(),
                count,
            },
        )
    };
    count(&mut c, 0);
    assert_eq!(c.state(0, "VI_1"), State::Backup);
    count(&mut c, 1);
    assert_eq!(c.state(0, "VI_1"), State::Fault);
    count(&mut c, 0);
    assert_eq!(c.state(0, "VI_1"), State::Backup);
}

const GROUP: &str = "vrrp_sync_group G {\n group {\n VI_1\n VI_2\n }\n notify \"/bin/grp\"\n}\n";

fn two_instances(prio: u8, extra1: &str) -> String {
    conf(1, prio, extra1)
        + &conf(2, prio, "")
            .replace("VI_1", "VI_2")
            .replace("10.0.0.100", "10.0.0.200")
}

// vrrp_sync_fault(): one member in FAULT pulls every member to FAULT.
#[test]
fn sync_group_member_fault_pulls_all_to_fault() {
    let text = SCRIPT.replace("WEIGHT", "0").replace("EXTRA", "")
        + GROUP
        + &two_instances(100, "track_script {\n chk\n }");
    let mut c = one(&text);
    script_result(&mut c, true);
    c.run_for_secs(5.0);
    assert_eq!(c.state(0, "VI_2"), State::Master);
    script_result(&mut c, false);
    script_result(&mut c, false);
    assert_eq!(
        (c.state(0, "VI_1"), c.state(0, "VI_2")),
        (State::Fault, State::Fault)
    );
    assert!(
        c.timeline
            .iter()
            .any(|l| l.contains("notify /bin/grp GROUP G FAULT 0")),
        "{}",
        c.snapshot()
    );
}

// vrrp_sync_backup(): one member leaving MASTER takes the others with it.
#[test]
fn sync_group_member_leaving_master_pulls_all_to_backup() {
    let mut c = one(&(GROUP.to_string() + &two_instances(100, "")));
    c.run_for_secs(5.0);
    assert_eq!(
        (c.state(0, "VI_1"), c.state(0, "VI_2")),
        (State::Master, State::Master)
    );
    c.input(0, advert_input(9, 1, 200, 2, 100));
    assert_eq!(
        (c.state(0, "VI_1"), c.state(0, "VI_2")),
        (State::Backup, State::Backup)
    );
}

// vrrp_sync_can_goto_master(): MASTER only when every member wants it.
#[test]
fn sync_group_is_master_only_when_every_member_wants_it() {
    let mut c = one(&(GROUP.to_string() + &two_instances(100, "")));
    // A master for VRID 2 keeps VI_2 in BACKUP; VI_1's own timer fires but must wait.
    for t in 1..=8 {
        c.run_until(secs(f64::from(t)));
        c.input(0, advert_input(9, 2, 200, 2, 100));
    }
    assert_eq!(
        (c.state(0, "VI_1"), c.state(0, "VI_2")),
        (State::Backup, State::Backup)
    );
    // The VRID 2 master goes away: both become master together.
    c.run_for_secs(5.0);
    assert_eq!(
        (c.state(0, "VI_1"), c.state(0, "VI_2")),
        (State::Master, State::Master)
    );
}

// Sync-group members' tracker weights count as 0 unless sync_group_tracking_weight.
#[test]
fn sync_group_forces_tracker_weights_to_zero() {
    let text = SCRIPT.replace("WEIGHT", "-10").replace("EXTRA", "")
        + GROUP
        + &two_instances(100, "track_script {\n chk\n }");
    let mut c = one(&text);
    script_result(&mut c, true);
    script_result(&mut c, false);
    script_result(&mut c, false);
    assert_eq!(
        c.state(0, "VI_1"),
        State::Fault,
        "weight forced to 0: failure is FAULT"
    );
    let text = SCRIPT.replace("WEIGHT", "-10").replace("EXTRA", "")
        + &GROUP.replace("notify", "sync_group_tracking_weight\n notify")
        + &two_instances(100, "track_script {\n chk\n }");
    let mut c = one(&text);
    script_result(&mut c, true);
    script_result(&mut c, false);
    script_result(&mut c, false);
    assert_eq!((c.state(0, "VI_1"), priority(&c)), (State::Backup, 90));
}

// vrrp_state_become_master(): the advert first, then addresses, then garp_master_repeat
// GARPs per VIP; another burst after garp_master_delay; refresh every garp_master_refresh.
#[test]
fn becoming_master_sends_advert_then_addresses_then_garp_bursts() {
    let mut c = one(&conf(
        1,
        255,
        "state MASTER\n garp_master_repeat 3\n garp_master_delay 2\n garp_master_refresh 10",
    ));
    c.run_for_secs(0.1);
    let kinds: Vec<&str> = outputs_of(&c, "r1")
        .filter_map(|o| match o {
            Output::Transmit { .. } => Some("advert"),
            Output::Add { .. } => Some("add"),
            Output::SendGratuitousArp { .. } => Some("garp"),
            _ => None,
        })
        .collect();
    assert_eq!(kinds, ["advert", "add", "garp", "garp", "garp"]);
    c.run_until(secs(1.9));
    assert_eq!(c.hosts[0].garps, 3, "not before garp_master_delay");
    c.run_until(secs(2.5));
    assert_eq!(c.hosts[0].garps, 6, "second burst after garp_master_delay");
    c.run_until(secs(12.5));
    assert_eq!(c.hosts[0].garps, 7, "refresh at delay + refresh, one each");
}

// vrrp_send_link_update(): each of the garp_master_repeat rounds goes over every VIP and
// excluded VIP in order, so a VIP's frames are spread across the burst.
#[test]
fn a_garp_burst_goes_round_the_addresses_once_a_repeat() {
    let mut c = one(&conf(
        1,
        255,
        "state MASTER\n garp_master_repeat 3\n garp_master_delay 0\n \
         virtual_ipaddress_excluded {\n  10.0.0.101/24\n }",
    ));
    c.run_for_secs(0.1);
    let garps: Vec<String> = outputs_of(&c, "r1")
        .filter_map(|o| match o {
            Output::SendGratuitousArp { addr, .. } => Some(addr.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(
        garps,
        [
            "10.0.0.100",
            "10.0.0.101",
            "10.0.0.100",
            "10.0.0.101",
            "10.0.0.100",
            "10.0.0.101"
        ]
    );
    // garp_master_delay 0: no second burst.
    c.run_until(secs(5.0));
    assert_eq!(c.hosts[0].garps, 6);
}

// vrrp_garp_interval: GARPs on an interface are spaced, never dropped.
#[test]
fn garp_interval_paces_frames_without_dropping() {
    let text = "global_defs {\n vrrp_garp_interval 0.1\n}\n".to_string()
        + &conf(
            1,
            255,
            "state MASTER\n garp_master_repeat 5\n garp_master_delay 0",
        );
    let mut c = one(&text);
    c.run_for_secs(0.05);
    assert_eq!(c.hosts[0].garps, 1);
    c.run_for_secs(1.0);
    assert_eq!(c.hosts[0].garps, 5);
    let times: Vec<Instant> = c
        .outputs
        .iter()
        .filter(|(_, _, o)| matches!(o, Output::SendGratuitousArp { .. }))
        .map(|(_, t, _)| *t)
        .collect();
    assert!(
        times
            .windows(2)
            .all(|w| w[1].as_micros() - w[0].as_micros() >= 100_000),
        "{times:?}"
    );
}

// Unicast: one advert per peer, to the peer, with unicast_ttl.
#[test]
fn unicast_sends_one_advert_per_peer() {
    let mut c = one(&conf(
        1,
        255,
        "state MASTER\n unicast_peer {\n 192.168.0.7\n 192.168.0.8\n }\n unicast_ttl 10",
    ));
    c.run_for_secs(0.1);
    let dsts: Vec<(String, u8)> = outputs_of(&c, "r1")
        .filter_map(|o| match o {
            Output::Transmit { dst, ttl, .. } => Some((dst.to_string(), *ttl)),
            _ => None,
        })
        .collect();
    assert_eq!(
        dsts,
        [
            ("192.168.0.7".to_string(), 10),
            ("192.168.0.8".to_string(), 10)
        ]
    );
}

// notify_instance_exec() and notify_fifo(): the specific script with its own argv, the
// generic one with INSTANCE name STATE priority appended, and the FIFO line.
#[test]
fn state_change_runs_notify_scripts_and_writes_fifo() {
    let text = "global_defs {\n notify_fifo /run/ka.fifo\n}\n".to_string()
        + &conf(1, 100, "notify_master \"/bin/m arg\"\n notify \"/bin/n\"");
    let mut c = one(&text);
    c.run_for_secs(4.0);
    let notes: Vec<String> = outputs_of(&c, "r1")
        .filter_map(|o| match o {
            Output::Notify { command, .. } => Some(command.argv.join(" ")),
            Output::Fifo { line } => Some(line.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        notes,
        [
            "/bin/n INSTANCE VI_1 BACKUP 100",
            "INSTANCE \"VI_1\" BACKUP 100\n",
            "/bin/m arg",
            "/bin/n INSTANCE VI_1 MASTER 100",
            "INSTANCE \"VI_1\" MASTER 100\n",
        ]
    );
}

// vrrp_strict: no accept mode unless owner, so the world must drop traffic to the VIPs.
#[test]
fn strict_mode_adds_addresses_without_accept() {
    let mut c = one(&conf(1, 100, "strict_mode"));
    c.run_for_secs(4.0);
    assert!(outputs_of(&c, "r1").any(|o| matches!(
        o,
        Output::Add {
            what: Owned::Address {
                no_accept: true,
                ..
            },
            ..
        }
    )));
    // Outside strict mode accept is the default; the address owner always accepts
    // (`vrrp_handle_accept_mode()`).
    for (priority, extra) in [
        (100, ""),
        (255, "state MASTER"),
        (255, "state MASTER\n strict_mode"),
    ] {
        let mut c = one(&conf(1, priority, extra));
        c.run_for_secs(4.0);
        assert!(
            outputs_of(&c, "r1").any(|o| matches!(
                o,
                Output::Add {
                    what: Owned::Address {
                        no_accept: false,
                        ..
                    },
                    ..
                }
            )),
            "{extra}"
        );
    }
}

// SIGTERM: a master sends priority 0 and releases its addresses; all go to STOP.
#[test]
fn shutdown_sends_priority_zero_and_releases_addresses() {
    let mut c = master(100, "notify_stop \"/bin/stop\"");
    let sent = adverts_sent(&c).len();
    c.input(0, Input::Shutdown);
    assert_eq!(adverts_sent(&c)[sent..], [0]);
    assert!(c.hosts[0].held.is_empty());
    assert_eq!(c.state(0, "VI_1"), State::Stop);
    assert!(c.timeline.iter().any(|l| l.ends_with("notify /bin/stop")));
    assert_eq!(c.hosts[0].engine.poll_timeout(), None);
}

fn reload(c: &mut Cluster, text: &str) {
    let loaded = keepalived_engine::config::parse_str(text, &Default::default());
    c.input(0, Input::Reload(Box::new(loaded.config)));
}

// reload_vrrp_thread(): an unchanged instance keeps state and addresses; no address is
// removed and re-added.
#[test]
fn reload_keeps_master_and_its_addresses() {
    let text = conf(1, 100, "");
    let mut c = master(100, "");
    let n = c.outputs.len();
    reload(&mut c, &text);
    assert_eq!(c.state(0, "VI_1"), State::Master);
    assert!(!c.outputs[n..].iter().any(|(_, _, o)| matches!(
        o,
        Output::Add { .. } | Output::Del { .. } | Output::StateChange { .. }
    )));
    c.run_for_secs(3.0);
    assert_eq!(c.state(0, "VI_1"), State::Master);
}

// A VIP added or removed by reload is added or removed alone.
#[test]
fn reload_changes_only_the_addresses_that_changed() {
    let mut c = master(100, "");
    let n = c.outputs.len();
    reload(
        &mut c,
        &conf(1, 100, "").replace("10.0.0.100/24", "10.0.0.101/24"),
    );
    let changes: Vec<String> = c.outputs[n..]
        .iter()
        .filter_map(|(_, _, o)| match o {
            Output::Add {
                what: Owned::Address { addr, .. },
                ..
            } => Some(format!("+{}", addr.address)),
            Output::Del {
                what: Owned::Address { addr, .. },
                ..
            } => Some(format!("-{}", addr.address)),
            _ => None,
        })
        .collect();
    assert_eq!(changes, ["-10.0.0.100", "+10.0.0.101"]);
}

// A removed instance stops (priority 0 if master); an added one starts from INIT.
#[test]
fn reload_stops_removed_and_starts_added_instances() {
    let mut c = master(100, "");
    reload(&mut c, &conf(2, 100, "").replace("VI_1", "VI_9"));
    assert!(c.hosts[0].engine.instance("VI_1").is_none());
    assert!(
        c.timeline
            .iter()
            .any(|l| l.contains("VI_1 Master -> Stop (removed by reload)")),
        "{}",
        c.snapshot()
    );
    assert_eq!(c.state(0, "VI_9"), State::Backup);
}

// vrrp_startup_delay: nothing happens and adverts are ignored until it has passed.
#[test]
fn startup_delay_holds_timers_and_ignores_adverts() {
    let text =
        "global_defs {\n vrrp_startup_delay 5\n}\n".to_string() + &conf(1, 255, "state MASTER");
    let mut c = one(&text);
    c.run_for_secs(4.0);
    assert_eq!(c.state(0, "VI_1"), State::Backup);
    c.run_for_secs(2.0);
    assert_eq!(
        became_master_at(&c, "r1"),
        Some(Instant::from_micros(5_000_000))
    );
}

// The SIGUSR2 counters follow what was received.
#[test]
fn statistics_count_received_and_sent_adverts() {
    let mut c = master(100, "");
    c.input(0, advert_input(9, 1, 50, 2, 100));
    c.input(0, advert_input(9, 1, 0, 2, 100));
    let s = &c.hosts[0].engine.instance("VI_1").unwrap().stats;
    assert_eq!((s.advert_rcvd, s.pri_zero_rcvd, s.become_master), (2, 1, 1));
    assert!(c.hosts[0]
        .engine
        .stats_text()
        .contains("VRRP Instance: VI_1\n  Advertisements:\n    Received: 2\n"));
}

// vrrp_state_master_rx(): two address owners; the lower address backs off at once, the
// higher waits to see whether the rogue goes quiet.
#[test]
fn duplicate_owners_lower_address_backs_off() {
    let owner = conf(1, 255, "state MASTER");
    let mut c = Cluster::new(&[&owner, &owner]);
    c.run_for_secs(10.0);
    assert_eq!(c.masters("VI_1"), ["r2"]);
    assert!(c.outputs.iter().any(|(h, _, o)| h == "r2"
        && matches!(o, Output::Log { message, .. } if message.contains("appears to have stopped advertising"))));
    assert_eq!(
        priority(&c),
        255,
        "the owner that backed off keeps 255: it is not rogue-reduced"
    );
}

// A rogue owner with a lower address that keeps advertising: after two of our adverts
// and the grace period we drop to 254 and yield, and take 255 back once it is gone.
#[test]
fn duplicate_owner_that_keeps_advertising_makes_us_back_off_to_254() {
    let mut c = one(&conf(1, 255, "state MASTER"));
    for t in 1..=6 {
        c.run_until(secs(f64::from(t) - 0.5));
        c.input(0, advert_input(0, 1, 255, 2, 100)); // from 192.168.0.0: below our .1
    }
    assert_eq!(c.state(0, "VI_1"), State::Backup);
    assert_eq!(priority(&c), 254);
    // The rogue leaves (priority 0): we take over after skew and are owner again.
    c.input(0, advert_input(0, 1, 0, 2, 100));
    c.run_for_secs(2.0);
    assert_eq!((c.state(0, "VI_1"), priority(&c)), (State::Master, 255));
}

// The grace period for a rogue owner ends 1.2 intervals after the second of our adverts
// since it was heard: heard again before then it is still advertising and we back off;
// heard at that instant it is a new sighting, and we wait again. Heard at 0.5 s, it is
// answered at once (a lower advert forces an election), so our next adverts go at 1.5
// and 2.5 s and the grace period ends at 3.7 s. The advert at 3.7 s is heard before the
// timers of that instant run, as the daemon's loop hears adverts that are waiting.
#[test]
fn a_rogue_owner_still_advertising_is_one_heard_before_the_grace_period_ends() {
    let end = 3_700_000;
    for (at, backs_off) in [(end - 1, true), (end, false)] {
        let mut c = one(&conf(1, 255, "state MASTER"));
        c.run_until(secs(0.5));
        c.input(0, advert_input(0, 1, 255, 2, 100));
        c.run_until(Instant::from_micros(at - 1));
        c.now = Instant::from_micros(at);
        c.input(0, advert_input(0, 1, 255, 2, 100));
        assert_eq!(priority(&c) == 254, backs_off, "heard again at {at} µs");
    }
}

// vrrp_min_garp: one GARP per VIP on becoming master, no delayed burst, no refresh.
#[test]
fn vrrp_min_garp_sends_a_single_garp() {
    let text = "global_defs {\n vrrp_min_garp\n}\n".to_string() + &conf(1, 255, "state MASTER");
    let mut c = one(&text);
    c.run_for_secs(20.0);
    assert_eq!(c.hosts[0].garps, 1);
}

fn mails(c: &Cluster) -> Vec<(String, String)> {
    outputs_of(c, "r1")
        .filter_map(|o| match o {
            Output::SmtpAlert { subject, body } => Some((subject.clone(), body.clone())),
            _ => None,
        })
        .collect()
}

// vrrp_smtp_notifier(): with smtp_alert (here from global smtp_alert_vrrp) each state an
// instance enters is mailed once; no_email_faults keeps FAULT out of the mail.
#[test]
fn smtp_alert_mails_each_state_once_and_no_email_faults_skips_fault() {
    let g = "global_defs {\n smtp_alert_vrrp\n no_email_faults\n}\n";
    let mut c = one(&format!("{g}{}", conf(1, 100, "")));
    c.run_for_secs(5.0);
    link(&mut c, false);
    link(&mut c, true);
    c.run_for_secs(1.0);
    let m = mails(&c);
    assert_eq!(
        m.iter().map(|(s, _)| s.as_str()).collect::<Vec<_>>(),
        [
            "VRRP Instance VI_1 - Entering BACKUP state",
            "VRRP Instance VI_1 - Entering MASTER state",
            "VRRP Instance VI_1 - Entering BACKUP state",
        ],
        "no mail for FAULT"
    );
    assert_eq!(m[1].1, "=> VRRP Instance is now owning VRRP VIPs <=");
    // Without smtp_alert anywhere: no mail at all.
    let mut quiet = one(&conf(1, 100, ""));
    quiet.run_for_secs(5.0);
    assert!(mails(&quiet).is_empty());
    // The instance's own `smtp_alert false` wins over the global.
    let mut off = one(&format!(
        "global_defs {{\n smtp_alert\n}}\n{}",
        conf(1, 100, "smtp_alert false")
    ));
    off.run_for_secs(5.0);
    assert!(mails(&off).is_empty());
}

// vrrp_dispatcher_read_timeout() serves each socket as its own thread, so a fast master's
// advert never waits for another interface's burst of takeovers; here the engine decides
// one takeover a call on each interface, so a master's periodic advert waits at most one
// takeover's outputs.
#[test]
fn a_masters_periodic_advert_goes_out_ahead_of_a_burst_of_takeovers() {
    let mut text = String::from(
        "global_defs {\n vrrp_version 3\n}\nvrrp_instance FAST {\n interface eth0\n virtual_router_id 1\n priority 255\n \
         advert_int 0.03\n virtual_ipaddress {\n  10.0.0.1/24\n }\n}\n",
    );
    for k in 0..200u32 {
        text.push_str(&format!(
            "vrrp_instance SLOW_{k} {{\n interface eth0\n virtual_router_id {}\n priority 100\n \
             advert_int 1\n virtual_ipaddress {{\n  10.1.{}.{}/16\n }}\n}}\n",
            k + 2,
            k / 200,
            k % 200 + 1
        ));
    }
    let mut e = engine(&text, 1, Instant::ZERO);
    // The owner takes over at once and advertises every 30 ms; the others' master-down
    // timers (3 s + skew) all run out together at 3.609 s, and each takeover's outputs
    // take 20 µs apiece to carry out.
    let out = drive(&mut e, Instant::ZERO, secs(3.7), us(20));
    let fast: Vec<Instant> = out
        .iter()
        .filter(|(_, o)| matches!(o, Output::Transmit { instance, .. } if instance == "FAST"))
        .map(|(t, _)| *t)
        .filter(|t| *t > secs(3.5))
        .collect();
    let burst: Vec<Instant> = out
        .iter()
        .filter(|(_, o)| matches!(o, Output::StateChange { to: State::Master, instance, .. } if instance != "FAST"))
        .map(|(t, _)| *t)
        .collect();
    assert_eq!(burst.len(), 200, "every SLOW instance took over");
    let (first, last) = (burst[0], burst[burst.len() - 1]);
    assert!(
        last - first > us(20_000),
        "the burst lasted {:?}",
        last - first
    );
    let during = fast.iter().filter(|t| **t >= first && **t <= last).count();
    assert!(
        during > 0,
        "no advert of FAST's fell in the burst: {fast:?}"
    );
    for w in fast.windows(2) {
        assert!(
            w[1] - w[0] <= us(30_000) + us(1_000),
            "FAST's adverts {:?} apart during the burst: {fast:?}",
            w[1] - w[0]
        );
    }
}

// vrrp_state_become_master() arms the new master's advert timer after its own work, so
// instances that take over together advertise spread as their takeovers went out, and
// their backups' down timers do not all fall due in one instant. Adverts due within
// 1/256 of the interval share a wake-up, and each timer counts from when its advert was
// due, so sharing never drifts an instance off its phase.
#[test]
fn masters_that_took_over_together_keep_the_spread_of_their_takeovers() {
    let mut text = String::new();
    for k in 0..100u32 {
        text.push_str(&format!(
            "vrrp_instance VI_{k} {{\n interface eth0\n virtual_router_id {}\n priority 100\n \
             advert_int 1\n virtual_ipaddress {{\n  10.1.0.{}/16\n }}\n}}\n",
            k + 1,
            k + 1
        ));
    }
    let mut e = engine(&text, 1, Instant::ZERO);
    // Each output costs 200 µs, eight outputs a takeover: the takeovers spread over
    // about 160 ms.
    let out = drive(&mut e, Instant::ZERO, secs(10.0), us(200));
    let mut adverts: std::collections::BTreeMap<String, Vec<Instant>> = Default::default();
    for (t, o) in &out {
        if let Output::Transmit { instance, .. } = o {
            adverts.entry(instance.clone()).or_default().push(*t);
        }
    }
    assert_eq!(adverts.len(), 100);
    let slack = us(1_000_000 / 256);
    for (name, times) in &adverts {
        assert!(times.len() >= 5, "{name}: {times:?}");
        for (k, t) in times.iter().enumerate().skip(1) {
            let due = times[0] + us(1_000_000 * k as u64);
            assert!(
                *t <= due && *t + slack >= due,
                "{name}'s advert {k} at {t}, due at {due}: {times:?}"
            );
        }
    }
    let firsts: Vec<Instant> = adverts.values().map(|t| t[0]).collect();
    let (lo, hi) = (firsts.iter().min().unwrap(), firsts.iter().max().unwrap());
    assert!(
        *hi - *lo > us(100_000),
        "the takeovers spread over {:?}",
        *hi - *lo
    );
    // Their fifth round takes about a wake-up per slack (3.9 ms) of the 160 ms spread,
    // not one per instance: the adverts of one wake-up go one output's cost apart.
    let mut fifth: Vec<Instant> = adverts.values().map(|t| t[4]).collect();
    fifth.sort();
    let wakeups = 1 + fifth.windows(2).filter(|w| w[1] - w[0] > us(200)).count();
    assert!(
        wakeups <= 45,
        "{wakeups} wake-ups for 100 adverts: {fifth:?}"
    );
}

// A takeover left for a later call is checked again when its turn comes: an advert
// heard meanwhile restarts its down timer (RFC 5798 §6.4.2) and it stays BACKUP, as
// keepalived reads its socket before its timers.
#[test]
fn a_takeover_left_for_a_later_call_yields_to_an_advert_heard_meanwhile() {
    let mut e = three_backups_about_to_fall_due();
    // All three fall due together; one interface, so one takes over this call.
    e.handle_timeout(secs(3.61));
    let first: Vec<Output> = std::iter::from_fn(|| e.poll_output()).collect();
    assert_eq!(took_over(&first), 1);
    assert!(
        e.poll_timeout().unwrap() <= secs(3.61),
        "the others are left due"
    );
    // VI_3's master speaks before VI_3's turn.
    e.handle_input(secs(3.611), advert_input(2, 3, 200, 2, 100));
    let mut rest = Vec::new();
    let mut t = secs(3.612);
    while t < secs(5.0) {
        e.handle_timeout(t);
        rest.extend(std::iter::from_fn(|| e.poll_output()));
        t = e.poll_timeout().unwrap().max(t + us(100));
    }
    let masters = entered_master(&rest);
    assert_eq!(masters.len(), 1, "{masters:?}");
    assert_ne!(masters[0], "VI_3", "VI_3 took over from a live master");
    let vi3 = e.instance("VI_3").unwrap();
    assert_eq!(vi3.state, State::Backup);
    assert!(
        vi3.deadline.is_some_and(|d| d > secs(6.0)),
        "VI_3's down timer restarted from the advert: {:?}",
        vi3.deadline
    );
}

// The first of the takeovers left for later hears from its master: the ones behind it
// are still due, and the engine says so, rather than waiting for the first one's new
// deadline.
#[test]
fn a_takeover_left_behind_one_that_heard_its_master_is_still_due() {
    let mut e = three_backups_about_to_fall_due();
    e.handle_timeout(secs(3.61));
    let first: Vec<Output> = std::iter::from_fn(|| e.poll_output()).collect();
    let taken = entered_master(&first);
    assert_eq!(taken, ["VI_1"]);
    // VI_2, first in line, hears its master; VI_3 is still due.
    e.handle_input(secs(3.611), advert_input(2, 2, 200, 2, 100));
    while e.poll_output().is_some() {}
    let next = e.poll_timeout().unwrap();
    assert!(next <= secs(3.611), "VI_3's takeover waits until {next}");
    e.handle_timeout(secs(3.612));
    let then: Vec<Output> = std::iter::from_fn(|| e.poll_output()).collect();
    assert!(
        then.iter().any(|o| matches!(o, Output::StateChange { instance, to: State::Master, .. } if instance == "VI_3")),
        "VI_3 did not take over: {then:?}"
    );
    assert_eq!(e.instance("VI_2").unwrap().state, State::Backup);
}

/// Runs `e` as a driver does from `from` until `until`: each call's outputs are carried
/// out one after the other at `cost` apiece, and the next call is made when they are
/// out or when the engine next has work, whichever is later. Every output with the time
/// it went out.
fn drive(
    e: &mut keepalived_engine::vrrp::Engine,
    from: Instant,
    until: Instant,
    cost: std::time::Duration,
) -> Vec<(Instant, Output)> {
    let mut t = from;
    let mut out = Vec::new();
    // Calls in a row at one instant: a timer that never moves on would spin the daemon's
    // loop, and fails the test instead.
    let mut stuck = 0;
    while t < until {
        let called_at = t;
        e.handle_timeout(t);
        while let Some(o) = e.poll_output() {
            out.push((t, o));
            t = t + cost;
        }
        match e.poll_timeout() {
            Some(next) => t = t.max(next),
            None => break,
        }
        stuck = if t == called_at { stuck + 1 } else { 0 };
        assert!(stuck < 10_000, "the engine's timer stays at {t}");
    }
    out
}

/// Three backups on one interface (VI_1 to VI_3, VRIDs 1 to 3) whose master-down timers
/// all fall due at 3.609 s, run up to 3.6 s.
fn three_backups_about_to_fall_due() -> keepalived_engine::vrrp::Engine {
    let mut text = String::new();
    for v in 1..=3u8 {
        text.push_str(&format!(
            "vrrp_instance VI_{v} {{\n interface eth0\n virtual_router_id {v}\n priority 100\n \
             advert_int 1\n skip_check_adv_addr\n virtual_ipaddress {{\n  10.1.0.{v}/16\n }}\n}}\n"
        ));
    }
    let mut e = engine(&text, 1, Instant::ZERO);
    drive(&mut e, Instant::ZERO, secs(3.6), std::time::Duration::ZERO);
    e
}

/// The instances of `outputs` entering MASTER, in order.
fn entered_master(outputs: &[Output]) -> Vec<&str> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::StateChange {
                instance,
                to: State::Master,
                ..
            } => Some(instance.as_str()),
            _ => None,
        })
        .collect()
}

/// How many of `outputs` are an instance entering MASTER.
fn took_over<'a>(outputs: impl IntoIterator<Item = &'a Output>) -> usize {
    outputs
        .into_iter()
        .filter(|o| {
            matches!(
                o,
                Output::StateChange {
                    to: State::Master,
                    ..
                }
            )
        })
        .count()
}

// keepalived serves each interface's socket as its own thread
// (vrrp_dispatcher_read_timeout()): a takeover on one interface does not wait for a burst
// of takeovers on another. The engine decides one takeover a call on each interface, so
// it waits at most for the one under way, and each instance's own outputs keep their
// order.
#[test]
fn a_takeover_on_one_interface_goes_out_ahead_of_a_burst_on_another() {
    let mut text = String::from(
        "vrrp_instance LONE {\n interface eth1\n virtual_router_id 1\n priority 99\n \
         virtual_ipaddress {\n  10.9.0.1/24\n }\n}\n",
    );
    for k in 0..200u32 {
        text.push_str(&format!(
            "vrrp_instance SLOW_{k} {{\n interface eth0\n virtual_router_id {}\n priority 100\n \
             virtual_ipaddress {{\n  10.1.0.{}/16\n }}\n}}\n",
            k + 2,
            k + 1
        ));
    }
    let loaded = keepalived_engine::config::parse_str(&text, &Default::default());
    let eth1 = keepalived_engine::vrrp::InterfaceInfo {
        name: "eth1".into(),
        ..iface(1, true)
    };
    let mut e = keepalived_engine::vrrp::Engine::new(
        loaded.config,
        Instant::ZERO,
        vec![iface(1, true), eth1],
    );
    // Priority 100's master-down interval (3.609 s) ends before priority 99's (3.613 s):
    // the 200 takeovers on eth0, 20 µs an output, are under way when LONE's falls due.
    let out = drive(&mut e, Instant::ZERO, secs(3.8), us(20));
    let lone_due = secs(3.0 + 157.0 / 256.0);
    let of = |name: &str, interface: &str, o: &Output| match o {
        Output::Transmit { instance, .. }
        | Output::Add { instance, .. }
        | Output::StateChange { instance, .. }
        | Output::Notify { instance, .. } => instance == name,
        Output::SendGratuitousArp { interface: i, .. } => i == interface,
        _ => false,
    };
    // LONE's takeover: its outputs from its master-down timer on (BACKUP came at start).
    let lone: Vec<&(Instant, Output)> = out
        .iter()
        .filter(|(t, o)| *t >= lone_due && of("LONE", "eth1", o))
        .collect();
    assert!(!lone.is_empty(), "LONE did not take over");
    let burst_end = out
        .iter()
        .filter(|(_, o)| matches!(o, Output::StateChange { to: State::Master, instance, .. } if instance != "LONE"))
        .map(|(t, _)| *t)
        .max()
        .unwrap();
    assert!(
        burst_end > lone_due + us(5_000),
        "the burst ended at {burst_end}"
    );
    // One eth0 takeover (an advert, an address, five GARPs, a state change: 8 outputs)
    // may be under way when LONE falls due.
    assert!(
        lone[0].0 <= lone_due + us(2 * 8 * 20),
        "LONE's takeover began at {} though due at {lone_due}",
        lone[0].0
    );
    let kinds: Vec<&str> = lone
        .iter()
        .map(|(_, o)| match o {
            Output::StateChange { .. } => "state",
            Output::Transmit { .. } => "advert",
            Output::Add { .. } => "add",
            Output::SendGratuitousArp { .. } => "garp",
            _ => "other",
        })
        .collect();
    let first = |k: &str| kinds.iter().position(|x| *x == k).unwrap();
    // vrrp_state_master_tx(): the advert, then the addresses and GARPs; our state change
    // (a log line, which keepalived writes before the addresses) waits until they are out.
    assert!(
        first("advert") < first("add")
            && first("add") < first("garp")
            && first("garp") < first("state"),
        "LONE's own order: {kinds:?}"
    );
    assert_eq!(
        took_over(out.iter().map(|(_, o)| o)),
        201,
        "every instance took over"
    );
}

/// An owner with excluded VIPs 10.0.1.1 and .2 on eth1, `extra` in its instance, the
/// interfaces `up` there besides eth0, run for 13.5 s: its GARPs as (time, interface,
/// address).
fn garps_with_addresses_on_eth1(extra: &str, up: &[&str]) -> Vec<(Instant, String, String)> {
    let text = conf(
        1,
        255,
        &format!(
            "state MASTER\n garp_master_delay 0\n garp_master_repeat 1\n {extra}\n \
             virtual_ipaddress_excluded {{\n  10.0.1.1/24 dev eth1\n  10.0.1.2/24 dev eth1\n }}"
        ),
    );
    let mut c = one(&text);
    for name in up {
        c.input(
            0,
            Input::Interface(InterfaceInfo {
                name: name.to_string(),
                ..iface(1, true)
            }),
        );
    }
    c.run_until(secs(13.5));
    c.outputs
        .iter()
        .filter_map(|(_, t, o)| match o {
            Output::SendGratuitousArp {
                interface, addr, ..
            } => Some((*t, interface.clone(), addr.to_string())),
            _ => None,
        })
        .collect()
}

// garp_extra_if (vrrp_send_vmac_update()): a master sends one GARP on each other
// interface holding its addresses as an advert goes once the interval has passed since
// the last round; without `all` only on VMACs keepalived created, so an address on a
// plain interface gets none.
#[test]
fn garp_extra_if_repeats_gratuitous_arps_on_the_other_interfaces() {
    let extra_if_garps = |extra: &str| {
        garps_with_addresses_on_eth1(extra, &["eth1"])
            .into_iter()
            .filter(|(_, interface, _)| interface == "eth1")
            .map(|(_, _, addr)| addr)
            .collect::<Vec<_>>()
    };
    // Becoming master: one GARP per address; then at the adverts after 3 s had passed
    // (4, 8, 12 s), one for the first address on eth1.
    assert_eq!(
        extra_if_garps("garp_extra_if all 3"),
        ["10.0.1.1", "10.0.1.2", "10.0.1.1", "10.0.1.1", "10.0.1.1"]
    );
    assert_eq!(extra_if_garps("garp_extra_if 3"), ["10.0.1.1", "10.0.1.2"]);
    assert_eq!(extra_if_garps(""), ["10.0.1.1", "10.0.1.2"]);
    assert_eq!(
        extra_if_garps("garp_extra_if all 0"),
        ["10.0.1.1", "10.0.1.2"],
        "an interval of 0 repeats nothing"
    );
}

// garp_extra_if on VMACs (vrrp_send_vmac_update()): without `all`, the repeated GARPs go
// only when some address is on a VMAC keepalived made for it (`use_vmac_addr`), one on
// each such interface; the instance's own VMAC has them only with `vmac_xmit_base`.
#[test]
fn garp_extra_if_without_all_follows_the_vmacs() {
    // The GARPs after the takeover's burst (at 1 s, once the VMAC is there), as
    // "interface address".
    let repeated = |extra: &str| {
        garps_with_addresses_on_eth1(
            &format!("use_vmac\n garp_extra_if 3\n {extra}"),
            &["eth1", "vrrp.1"],
        )
        .into_iter()
        .filter(|(t, _, _)| *t > secs(2.0))
        .map(|(_, interface, addr)| format!("{interface} {addr}"))
        .collect::<Vec<_>>()
    };
    let eth1 = ["eth1 10.0.1.1", "eth1 10.0.1.1", "eth1 10.0.1.1"];
    assert_eq!(repeated("use_vmac_addr"), eth1);
    assert_eq!(repeated("vmac_xmit_base"), [""; 0]);
    let mut both = repeated("use_vmac_addr\n vmac_xmit_base");
    both.sort();
    let mut expected = [eth1, ["vrrp.1 10.0.0.100"; 3]].concat();
    expected.sort();
    assert_eq!(both, expected);
}
