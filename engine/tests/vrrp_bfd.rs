//! The VRRP engine on BFD session events, rule by rule, as keepalived 2.2.7's
//! `initialise_track_bfd_state()`, `vrrp_handle_bfd_event()`, `vrrp_complete_instance()`
//! ("Ignore any weighted tracked bfd"), `sync_group_tracking_init()` and
//! `clear_diff_bfd()` have them.

mod support;

use keepalived_engine::config::{parse_str, ParseOptions};
use keepalived_engine::time::Instant;
use keepalived_engine::vrrp::dump::DumpHost;
use keepalived_engine::vrrp::{Engine, Input, Output, State};
use support::*;

const BFD: &str = "bfd_instance b1 {\n neighbor_ip 10.0.0.9\n}\n";

fn bfd(name: &str, up: bool) -> Input {
    Input::Bfd {
        name: name.into(),
        up,
    }
}

fn prio(c: &Cluster, instance: &str) -> u8 {
    c.hosts[0]
        .engine
        .instance(instance)
        .expect("instance")
        .effective_priority
}

fn logs(c: &Cluster) -> Vec<String> {
    c.outputs
        .iter()
        .filter_map(|(_, _, o)| match o {
            Output::Log { message, .. } => Some(message.clone()),
            _ => None,
        })
        .collect()
}

/// The engine for `text` and the messages of the diagnostics that fail `-t`.
fn loose(text: &str) -> (Engine, Vec<String>) {
    let loaded = parse_str(text, &ParseOptions::default());
    let errors = loaded
        .diagnostics
        .iter()
        .filter(|d| d.counts_as_error())
        .map(|d| d.message.clone())
        .collect();
    let e = Engine::new(loaded.config, Instant::ZERO, vec![iface(1, true)]);
    (e, errors)
}

fn drain(e: &mut Engine) -> Vec<Output> {
    std::iter::from_fn(|| e.poll_output()).collect()
}

// initialise_track_bfd_state(): a tracked BFD starts down, so an unweighted track_bfd
// holds the instance in FAULT until the session is Up; then BACKUP, then MASTER.
#[test]
fn an_unweighted_track_bfd_is_fault_until_up_then_backup_then_master() {
    let mut c = Cluster::new(&[&(BFD.to_string() + &conf(1, 100, "track_bfd {\n b1\n }"))]);
    c.run_for_secs(5.0);
    assert_eq!(c.state(0, "VI_1"), State::Fault);
    c.input(0, bfd("b1", true));
    assert_eq!(c.state(0, "VI_1"), State::Backup);
    assert!(logs(&c).contains(&"VRRP_Instance(VI_1) Tracked BFD instance b1 is UP".to_string()));
    c.run_for_secs(5.0);
    assert_eq!(c.state(0, "VI_1"), State::Master);
    c.input(0, bfd("b1", false));
    assert_eq!(c.state(0, "VI_1"), State::Fault);
    // The BFD's line comes before the state change it causes, as keepalived logs it
    // before down_instance().
    let at = |f: &dyn Fn(&Output) -> bool| c.outputs.iter().rposition(|(_, _, o)| f(o));
    let log = at(&|o| {
        matches!(o, Output::Log { message, .. }
            if message == "VRRP_Instance(VI_1) Tracked BFD instance b1 is DOWN")
    });
    let fault = at(&|o| {
        matches!(
            o,
            Output::StateChange {
                to: State::Fault,
                ..
            }
        )
    });
    assert!(log.is_some() && log < fault, "{log:?} {fault:?}");
}

// vrrp_handle_bfd_event(): the state it already has, or a name nobody tracks, is
// nothing at all.
#[test]
fn a_repeated_state_or_an_unknown_name_changes_nothing() {
    let mut c = Cluster::new(&[&(BFD.to_string() + &conf(1, 100, "track_bfd {\n b1\n }"))]);
    c.run_for_secs(1.0);
    let before = c.outputs.len();
    c.input(0, bfd("b1", false));
    c.input(0, bfd("nobody", true));
    assert_eq!(c.outputs.len(), before);
    assert_eq!(c.state(0, "VI_1"), State::Fault);
    c.input(0, bfd("b1", true));
    let after_up = c.outputs.len();
    c.input(0, bfd("b1", true));
    assert_eq!(c.outputs.len(), after_up);
}

// A weight adds while Up when positive, and while Down when negative.
#[test]
fn a_positive_weight_adds_while_up_and_a_negative_one_takes_while_down() {
    let text = "bfd_instance b2 {\n neighbor_ip 10.0.0.8\n}\n".to_string()
        + BFD
        + &conf(1, 100, "track_bfd {\n b1 weight 10\n b2 weight -20\n }");
    let mut c = Cluster::new(&[&text]);
    c.run_for_secs(0.1);
    assert_eq!(c.state(0, "VI_1"), State::Backup);
    assert_eq!(prio(&c, "VI_1"), 80);
    c.input(0, bfd("b1", true));
    assert_eq!(prio(&c, "VI_1"), 90);
    c.input(0, bfd("b2", true));
    assert_eq!(prio(&c, "VI_1"), 110);
    c.input(0, bfd("b1", false));
    assert_eq!(prio(&c, "VI_1"), 100);
}

// weight N reverse: taken while Up, given back while Down; weight 0 reverse is FAULT
// while Up.
#[test]
fn reverse_turns_the_weight_and_the_fault_around() {
    let text = BFD.to_string() + &conf(1, 100, "track_bfd {\n b1 weight 10 reverse\n }");
    let mut c = Cluster::new(&[&text]);
    c.run_for_secs(0.1);
    assert_eq!(prio(&c, "VI_1"), 100);
    c.input(0, bfd("b1", true));
    assert_eq!(prio(&c, "VI_1"), 90);
    c.input(0, bfd("b1", false));
    assert_eq!(prio(&c, "VI_1"), 100);

    let text = BFD.to_string() + &conf(1, 100, "track_bfd {\n b1 weight 0 reverse\n }");
    let mut c = Cluster::new(&[&text]);
    c.run_for_secs(0.1);
    assert_eq!(c.state(0, "VI_1"), State::Backup);
    c.input(0, bfd("b1", true));
    assert_eq!(c.state(0, "VI_1"), State::Fault);
}

// alloc_track_bfd(): without a weight of its own the track_bfd takes the bfd_instance's
// weight and direction; its own `weight` overrides them.
#[test]
fn the_bfd_instances_weight_is_the_default_and_track_bfd_overrides_it() {
    let own = "bfd_instance b1 {\n neighbor_ip 10.0.0.9\n weight 15 reverse\n}\n";
    let mut c = Cluster::new(&[&(own.to_string() + &conf(1, 100, "track_bfd {\n b1\n }"))]);
    c.run_for_secs(0.1);
    c.input(0, bfd("b1", true));
    assert_eq!(prio(&c, "VI_1"), 85);
    let over = own.to_string() + &conf(1, 100, "track_bfd {\n b1 weight 5 noreverse\n }");
    let mut c = Cluster::new(&[&over]);
    c.run_for_secs(0.1);
    c.input(0, bfd("b1", true));
    assert_eq!(prio(&c, "VI_1"), 105);
    // `weight 0` keeps the bfd_instance's direction unless it says otherwise: reversed,
    // a down session is fine; `noreverse` makes it FAULT.
    let zero = own.to_string() + &conf(1, 100, "track_bfd {\n b1 weight 0\n }");
    let (e, _) = loose(&zero);
    assert_eq!(e.instance("VI_1").map(|i| i.state), Some(State::Backup));
    let zero = own.to_string() + &conf(1, 100, "track_bfd {\n b1 weight 0 noreverse\n }");
    let (e, _) = loose(&zero);
    assert_eq!(e.instance("VI_1").map(|i| i.state), Some(State::Fault));
}

// vrrp_complete_instance(): an address owner drops a weighted track_bfd, with
// keepalived's message, and never faults on it; an unweighted one still faults it.
#[test]
fn an_address_owner_ignores_a_weighted_track_bfd() {
    let text = BFD.to_string() + &conf(1, 255, "state MASTER\n track_bfd {\n b1 weight 10\n }");
    let (mut e, errors) = loose(&text);
    assert_eq!(
        errors,
        ["(VI_1) ignoring tracked bfd b1 with weight 10 due to address_owner"]
    );
    e.handle_timeout(Instant::ZERO);
    drain(&mut e);
    assert_eq!(e.instance("VI_1").map(|i| i.state), Some(State::Master));
    assert_eq!(e.instance("VI_1").map(|i| i.effective_priority), Some(255));

    let text = BFD.to_string() + &conf(1, 255, "state MASTER\n track_bfd {\n b1\n }");
    let (e, errors) = loose(&text);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(e.instance("VI_1").map(|i| i.state), Some(State::Fault));
}

// vrrp_complete_instance(): a sync group member without sync_group_tracking_weight drops
// its weighted track_bfd ("due to SYNC group").
#[test]
fn a_sync_group_member_drops_its_weighted_track_bfd() {
    let text = BFD.to_string()
        + "vrrp_sync_group G {\n group {\n VI_1\n VI_2\n }\n}\n"
        + &conf(1, 100, "track_bfd {\n b1 weight 10\n }")
        + &conf(2, 100, "").replace("VI_1", "VI_2");
    let (_, errors) = loose(&text);
    assert_eq!(
        errors,
        ["(VI_1) ignoring tracked bfd b1 with weight 10 due to SYNC group"]
    );
}

// sync_group_tracking_init(): a sync group's track_bfd applies to every member.
#[test]
fn a_sync_groups_track_bfd_applies_to_every_member() {
    let text = BFD.to_string()
        + "vrrp_sync_group G {\n group {\n VI_1\n VI_2\n }\n track_bfd {\n b1\n }\n}\n"
        + &conf(1, 100, "")
        + &conf(2, 100, "").replace("VI_1", "VI_2");
    let mut c = Cluster::new(&[&text]);
    c.run_for_secs(1.0);
    assert_eq!(c.state(0, "VI_1"), State::Fault);
    assert_eq!(c.state(0, "VI_2"), State::Fault);
    c.input(0, bfd("b1", true));
    assert_eq!(c.state(0, "VI_1"), State::Backup);
    assert_eq!(c.state(0, "VI_2"), State::Backup);
    let l = logs(&c);
    assert!(l.contains(&"VRRP_Instance(VI_1) Tracked BFD instance b1 is UP".to_string()));
    assert!(l.contains(&"VRRP_Instance(VI_2) Tracked BFD instance b1 is UP".to_string()));
    c.run_for_secs(5.0);
    assert_eq!(c.masters("VI_1"), ["r1"]);
    assert_eq!(c.masters("VI_2"), ["r1"]);
}

// A sync group's weighted track_bfd weighs on each member; with an address owner among
// them the weight is cleared, with keepalived's message.
#[test]
fn a_sync_groups_weight_applies_unless_a_member_is_the_owner() {
    let group =
        "vrrp_sync_group G {\n group {\n VI_1\n VI_2\n }\n track_bfd {\n b1 weight 20\n }\n}\n";
    let text =
        BFD.to_string() + group + &conf(1, 100, "") + &conf(2, 90, "").replace("VI_1", "VI_2");
    let mut c = Cluster::new(&[&text]);
    c.run_for_secs(0.1);
    c.input(0, bfd("b1", true));
    assert_eq!(prio(&c, "VI_1"), 120);
    assert_eq!(prio(&c, "VI_2"), 110);

    let text =
        BFD.to_string() + group + &conf(1, 255, "") + &conf(2, 90, "").replace("VI_1", "VI_2");
    let (e, errors) = loose(&text);
    assert_eq!(
        errors,
        ["(G) Cannot have weighted track bfd 'b1' with member having priority 255 - setting weight 0"]
    );
    assert_eq!(e.instance("VI_2").map(|i| i.state), Some(State::Fault));
}

// clear_diff_bfd(): a reload keeps each tracked BFD's state by name; a new name starts
// down.
#[test]
fn a_reload_keeps_each_bfds_state_by_name() {
    let text = BFD.to_string() + &conf(1, 100, "track_bfd {\n b1\n }");
    let mut c = Cluster::new(&[&text]);
    c.run_for_secs(0.1);
    c.input(0, bfd("b1", true));
    c.run_for_secs(5.0);
    assert_eq!(c.state(0, "VI_1"), State::Master);
    let reload = |t: &str| Input::Reload(Box::new(parse_str(t, &ParseOptions::default()).config));
    c.input(0, reload(&text));
    assert_eq!(c.state(0, "VI_1"), State::Master);
    assert_eq!(c.hosts[0].engine.tracked_bfds().get("b1"), Some(&true));
    let renamed = text.replace("b1", "b9");
    c.input(0, reload(&renamed));
    assert_eq!(c.state(0, "VI_1"), State::Fault);
}

// The BFD process may tell of a session a reload adds before this process has the
// reload; the reload takes the state it told rather than starting it down until its next
// change (keepalived drops that event and holds the instance in FAULT).
#[test]
fn a_reload_takes_the_state_told_of_a_session_before_it() {
    let plain = conf(1, 100, "");
    let mut c = Cluster::new(&[&plain]);
    c.run_for_secs(5.0);
    assert_eq!(c.state(0, "VI_1"), State::Master);
    // b1 is not followed yet: remembered, nothing changes.
    c.input(0, bfd("b1", true));
    assert!(c.hosts[0].engine.tracked_bfds().is_empty());
    c.input(
        0,
        reload(&(BFD.to_string() + &conf(1, 100, "track_bfd {\n b1\n }"))),
    );
    assert_eq!(c.hosts[0].engine.tracked_bfds().get("b1"), Some(&true));
    assert_eq!(c.state(0, "VI_1"), State::Master);
    // Told down before a reload that adds b2: FAULT at once.
    c.input(0, bfd("b2", false));
    let two = BFD.to_string()
        + "bfd_instance b2 {\n neighbor_ip 10.0.0.8\n}\n"
        + &conf(1, 100, "track_bfd {\n b1\n b2\n }");
    c.input(0, reload(&two));
    assert_eq!(c.state(0, "VI_1"), State::Fault);
}

// alloc_track_bfd(): the BFD must be a bfd_instance read before, named once, and the
// VRRP process must hear of it.
#[test]
fn track_bfd_names_what_is_defined_before_it_once() {
    let after = conf(1, 100, "track_bfd {\n b1\n }") + BFD;
    let (e, errors) = loose(&after);
    assert_eq!(errors, ["(VI_1) track bfd b1 not found, ignoring..."]);
    assert!(e
        .instance("VI_1")
        .is_some_and(|i| i.cfg.trackers.bfds.is_empty()));
    let twice = BFD.to_string() + &conf(1, 100, "track_bfd {\n b1\n b1 weight 3\n }");
    let (e, errors) = loose(&twice);
    assert_eq!(errors, ["(VI_1) duplicate track_bfd b1 - ignoring"]);
    assert_eq!(
        e.instance("VI_1").map(|i| i.cfg.trackers.bfds.len()),
        Some(1)
    );
    let checker_only = "bfd_instance b1 {\n neighbor_ip 10.0.0.9\n checker\n}\n".to_string()
        + &conf(1, 100, "track_bfd {\n b1\n }");
    let (_, errors) = loose(&checker_only);
    assert_eq!(errors, ["(VI_1) track bfd b1 not found, ignoring..."]);
    let bad = BFD.to_string() + &conf(1, 100, "track_bfd {\n b1 weight 300\n b1 height 3\n }");
    let (_, errors) = loose(&bad);
    assert_eq!(
        errors,
        [
            "(VI_1) weight for track bfd b1 must be in [-253..253] inclusive. Ignoring...",
            "(VI_1) duplicate track_bfd b1 - ignoring"
        ]
    );
}

// bfd_vrrp_handler(): the VRRP process never looks at the addresses, so a bfd_instance
// the BFD process refuses is still tracked, its weight read, and never Up.
#[test]
fn a_bfd_instance_the_bfd_process_refuses_is_still_tracked() {
    let text = "bfd_instance b1 {\n neighbor_ip 10.0.0.300\n weight -30\n}\n".to_string()
        + "bfd_instance b2 {\n min_rx 20\n}\n"
        + &conf(1, 100, "track_bfd {\n b1\n b2\n }");
    let (e, errors) = loose(&text);
    assert_eq!(
        errors,
        [
            "BFD instance b1 has malformed neighbor address 10.0.0.300, ignoring instance",
            "BFD instance b2 has no neighbor address set, disabling instance",
        ]
    );
    let vi = e.instance("VI_1").expect("VI_1");
    assert_eq!(vi.cfg.trackers.bfds.len(), 2);
    assert_eq!(vi.state, State::Fault);
    assert_eq!(vi.total_priority, 70);
    assert_eq!(e.tracked_bfds().len(), 2);
}

// dump_vrrp_tracked_bfd(), dump_tracked_bfd(): the lines keepalived.data has.
#[test]
fn the_state_dump_shows_tracked_bfds_as_keepalived() {
    let text = "bfd_instance b1 {\n neighbor_ip 10.0.0.9\n weight -5 reverse\n}\n".to_string()
        + &conf(1, 100, "track_bfd {\n b1 weight 7\n }");
    let mut c = Cluster::new(&[&text]);
    c.run_for_secs(0.1);
    let dump = c.hosts[0].engine.data_text(&DumpHost::default());
    assert!(
        dump.contains("   Tracked BFDs :\n     b1: weight 7 reverse\n"),
        "{dump}"
    );
    assert!(dump.contains(
        "------< VRRP Track BFDs >------\n VRRP Track BFD = b1\n   Weight = -5 reverse\n   Bfd is down\n   Tracking instances :\n     VI_1, weight 7 reverse\n"
    ), "{dump}");
    c.input(0, bfd("b1", true));
    let dump = c.hosts[0].engine.data_text(&DumpHost::default());
    assert!(dump.contains("   Bfd is up\n"), "{dump}");
}

// vrrp_startup_delay: keepalived reads nothing, the BFD pipe included, until the delay is
// over, and then vrrp_init_state() gives every backup a full master-down interval to
// hear the master. A session that comes Up during the delay must not let the instance
// take over at the end of it without listening: adverts are discarded until then.
#[test]
fn a_session_up_during_the_startup_delay_still_waits_to_hear_the_master() {
    let r1 = "global_defs {\n vrrp_startup_delay 10\n}\n".to_string()
        + BFD
        + &conf(1, 100, "track_bfd {\n b1\n }");
    let r2 = conf(1, 200, "");
    let mut c = Cluster::new(&[&r1, &r2]);
    c.run_for_secs(4.0);
    assert_eq!(c.masters("VI_1"), ["r2"]);
    // Up at 4 s: BACKUP, with the delay still running for 6 s.
    c.input(0, bfd("b1", true));
    assert_eq!(c.state(0, "VI_1"), State::Backup);
    c.run_for_secs(16.0);
    assert_eq!(c.masters("VI_1"), ["r2"]);
    assert!(
        !c.timeline
            .iter()
            .any(|l| l.contains("r1 VI_1 Backup -> Master")),
        "{}",
        c.snapshot()
    );
    // With r2 gone, r1 takes over a master-down interval after its last advert.
    c.crash(1);
    c.run_for_secs(5.0);
    assert_eq!(c.masters("VI_1"), ["r1"]);
}

fn reload(text: &str) -> Input {
    Input::Reload(Box::new(parse_str(text, &ParseOptions::default()).config))
}

// The priority is worked out again from each session's state at a reload
// (initialise_track_bfd_state() after clear_diff_bfd()): a weight changed, or turned
// round, while the session is down or up is never taken twice.
#[test]
fn a_reload_that_changes_the_weight_recomputes_the_priority() {
    let t = |w: i32| BFD.to_string() + &conf(1, 100, &format!("track_bfd {{\n b1 weight {w}\n }}"));
    let mut c = Cluster::new(&[&t(-20)]);
    c.run_for_secs(0.1);
    assert_eq!(prio(&c, "VI_1"), 80);
    c.input(0, reload(&t(-30)));
    assert_eq!(prio(&c, "VI_1"), 70);
    c.input(0, bfd("b1", true));
    assert_eq!(prio(&c, "VI_1"), 100);
    c.input(0, reload(&t(30)));
    assert_eq!(prio(&c, "VI_1"), 130);
    c.input(0, reload(&t(-30)));
    assert_eq!(prio(&c, "VI_1"), 100);
    c.input(0, bfd("b1", false));
    assert_eq!(prio(&c, "VI_1"), 70);
    c.input(0, reload(&t(30)));
    assert_eq!(prio(&c, "VI_1"), 100);
    c.input(0, reload(&t(0)));
    assert_eq!(c.state(0, "VI_1"), State::Fault);
}

// One member's unweighted session going down faults the whole sync group
// (vrrp_sync_fault()); the peer takes every member over.
#[test]
fn a_members_session_down_takes_its_sync_group_to_fault() {
    let text = BFD.to_string()
        + "vrrp_sync_group G {\n group {\n VI_1\n VI_2\n }\n}\n"
        + &conf(1, 100, "track_bfd {\n b1\n }")
        + &conf(2, 100, "").replace("VI_1", "VI_2");
    let mut c = Cluster::new(&[&text, &text]);
    c.input(0, bfd("b1", true));
    c.input(1, bfd("b1", true));
    c.run_for_secs(5.0);
    let masters = c.masters("VI_1");
    assert_eq!(masters.len(), 1);
    assert_eq!(c.masters("VI_2"), masters);
    let m = usize::from(masters[0] != "r1");
    c.input(m, bfd("b1", false));
    assert_eq!(c.state(m, "VI_1"), State::Fault);
    assert_eq!(c.state(m, "VI_2"), State::Fault);
    c.run_for_secs(5.0);
    assert_eq!(c.masters("VI_1"), [format!("r{}", 2 - m)]);
    assert_eq!(c.masters("VI_2"), c.masters("VI_1"));
}

// add_vrrp_to_track_bfd(): a session tracked by a member and by its group counts once,
// at the group's weight.
#[test]
fn a_session_on_a_member_and_its_group_counts_once() {
    let text = BFD.to_string()
        + "vrrp_sync_group G {\n group {\n VI_1\n VI_2\n }\n track_bfd {\n b1 weight 10\n }\n sync_group_tracking_weight\n}\n"
        + &conf(1, 100, "track_bfd {\n b1 weight 20\n }")
        + &conf(2, 100, "").replace("VI_1", "VI_2");
    let mut c = Cluster::new(&[&text]);
    c.run_for_secs(0.1);
    c.input(0, bfd("b1", true));
    assert_eq!(prio(&c, "VI_1"), 110);
    assert_eq!(prio(&c, "VI_2"), 110);
    let ups = logs(&c)
        .iter()
        .filter(|l| l.ends_with("Tracked BFD instance b1 is UP"))
        .count();
    assert_eq!(ups, 2);
}
