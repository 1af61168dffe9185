//! The config corpus: every keyword of the model, each language feature and each error
//! class, parsed and snapshotted (model + diagnostics), plus the claims that matter most
//! asserted directly.

use keepalived_engine::config::model::*;
use keepalived_engine::config::{parse_str, DiagClass, ParseOptions, Severity};
use keepalived_tests::{conf_files, crate_dir, load_corpus};
use serde_json::json;

fn snapshot_value(rel: &str) -> serde_json::Value {
    let loaded = load_corpus(rel);
    let diags: Vec<String> = loaded.diagnostics.iter().map(|d| d.to_string()).collect();
    json!({
        "exit_code": loaded.diagnostics.exit_code(),
        "diagnostics": diags,
        "config": loaded.config,
    })
}

#[test]
fn corpus_snapshots() {
    let files = conf_files(&crate_dir().join("configs"));
    assert!(files.len() >= 10, "corpus went missing: {files:?}");
    for f in files {
        let name = f.file_stem().unwrap().to_string_lossy().into_owned();
        let rel = format!("configs/{}", f.file_name().unwrap().to_string_lossy());
        insta::assert_yaml_snapshot!(name, snapshot_value(&rel));
    }
}

#[test]
fn guide_sample_extra_brace_is_reported_at_line_56() {
    let loaded = load_corpus("configs/09-guide-sample.conf");
    let first_error = loaded
        .diagnostics
        .iter()
        .find(|d| d.counts_as_error())
        .expect("an error");
    let loc = first_error.location.as_ref().expect("located");
    assert_eq!((loc.line, loc.column), (56, 9), "{first_error}");
    assert!(
        first_error.message.contains("one '}' too many"),
        "{first_error}"
    );
    assert_eq!(loaded.diagnostics.exit_code(), 5);
}

#[test]
fn guide_sample_with_the_brace_fixed_loads() {
    let loaded = load_corpus("configs/10-guide-sample-fixed.conf");
    assert_eq!(
        loaded.diagnostics.exit_code(),
        0,
        "{:#?}",
        loaded.diagnostics
    );
    let c = &loaded.config;
    assert_eq!(c.instances.len(), 1);
    let vi = &c.instances[0];
    assert_eq!(
        (vi.virtual_router_id, vi.priority, vi.state),
        (51, 150, InitialState::Master)
    );
    assert_eq!(vi.authentication.as_ref().unwrap().auth_pass, "password");
    assert_eq!(c.virtual_servers.len(), 2);
    assert!(c
        .virtual_servers
        .iter()
        .all(|vs| vs.real_servers.len() == 2));
    let ck = &c.virtual_servers[1].real_servers[1].checkers[0];
    assert_eq!(ck.schedule.retry, 3, "nb_get_retry is retry");
    assert_eq!(ck.schedule.delay_before_retry_us, 10 * SECOND);
    assert_eq!(ck.schedule.connect_timeout_us, 3 * SECOND);
    assert_eq!(
        ck.schedule.delay_loop_us,
        3 * SECOND,
        "delay_loop inherited from the virtual_server"
    );
}

#[test]
fn include_cycle_is_fatal_exit_4() {
    let loaded = load_corpus("configs/08-include-cycle.conf");
    assert_eq!(loaded.diagnostics.exit_code(), 4);
    assert!(loaded
        .diagnostics
        .iter()
        .any(|d| d.class == DiagClass::Fatal && d.message.contains("include cycle")));
}

#[test]
fn every_error_in_a_file_is_reported() {
    let loaded = load_corpus("configs/07-errors-values.conf");
    let errors = loaded
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    assert!(errors >= 30, "only {errors} errors reported");
    assert!(
        loaded.diagnostics.iter().all(|d| d.location.is_some()),
        "value errors carry a location"
    );
}

#[test]
fn unknown_keyword_is_a_located_warning_that_fails_t() {
    let l = parse_str(
        "global_defs {\n  no_such_thing 1\n  router_id a\n}\n",
        &ParseOptions::default(),
    );
    let d = l.diagnostics.iter().next().unwrap();
    assert_eq!(d.severity, Severity::Warning);
    assert_eq!(d.class, DiagClass::UnknownKeyword);
    assert_eq!(
        d.location.as_ref().map(|l| (l.line, l.column)),
        Some((2, 3))
    );
    assert_eq!(
        l.config.global.router_id.as_deref(),
        Some("a"),
        "parsing went on"
    );
    assert_eq!(l.diagnostics.exit_code(), 5);
}

#[test]
fn missing_main_file_is_fatal() {
    let fs = keepalived_engine::config::MemFs::new();
    let l = keepalived_engine::config::load(
        &fs,
        std::path::Path::new("/nope.conf"),
        &ParseOptions::default(),
    );
    assert_eq!(l.diagnostics.exit_code(), 4);
}

#[test]
fn state_master_without_priority_is_the_owner() {
    let l = parse_str(
        "vrrp_instance A {\n state MASTER\n interface eth0\n virtual_router_id 1\n nopreempt\n virtual_ipaddress {\n 10.0.0.1\n }\n}\n",
        &ParseOptions::default(),
    );
    let vi = &l.config.instances[0];
    assert_eq!(vi.priority, 255);
    assert!(!vi.nopreempt, "nopreempt is cleared for owners");
}

#[test]
fn v2_advert_int_is_whole_seconds_and_v3_centiseconds() {
    let l = parse_str(
        "vrrp_instance A {\n interface eth0\n virtual_router_id 1\n advert_int 1.4\n virtual_ipaddress {\n 10.0.0.1\n }\n}\nvrrp_instance B {\n version 3\n interface eth0\n virtual_router_id 2\n advert_int 0.034\n virtual_ipaddress {\n 10.0.0.2\n }\n}\n",
        &ParseOptions::default(),
    );
    assert_eq!(l.config.instances[0].advert_int_us, SECOND);
    assert_eq!(l.config.instances[1].advert_int_us, 30_000);
}

#[test]
fn strict_errors_name_the_keyword() {
    let l = load_corpus("configs/05-strict.conf");
    let msgs: Vec<&str> = l.diagnostics.iter().map(|d| d.message.as_str()).collect();
    for kw in [
        "'unicast_peer'",
        "'preempt_delay'",
        "'authentication'",
        "'vmac_xmit_base'",
        "'down_timer_adverts'",
        "'higher_prio_send_advert'",
        "'garp_lower_prio_repeat'",
        "'accept'",
    ] {
        assert!(
            msgs.iter()
                .any(|m| m.contains("vrrp_strict forbids") && m.contains(kw)),
            "no strict error naming {kw}: {msgs:#?}"
        );
    }
}

#[test]
fn language_features_resolve() {
    let l = load_corpus("configs/04-language.conf");
    assert_eq!(l.diagnostics.exit_code(), 0, "{:#?}", l.diagnostics);
    let c = &l.config;
    assert_eq!(
        c.global.router_id.as_deref(),
        Some("r1-only"),
        "@r1 kept, @^r1 dropped"
    );
    let names: Vec<&str> = c.instances.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(
        names,
        ["VI_lang", "VI_seq_1", "VI_seq_3", "VI_seq_5", "VI_alpha", "VI_beta"]
    );
    let lang = &c.instances[0];
    assert_eq!(
        (lang.virtual_router_id, lang.priority),
        (60, 100),
        "multi-line definition"
    );
    assert_eq!(lang.virtual_ipaddress[0].label(), Some("eth0:x y"));
    assert_eq!(
        lang.notifies.notify_master.as_ref().unwrap().argv,
        ["/usr/bin/printf", "%s\n", "a b", "A#"]
    );
    assert_eq!(c.instances[4].virtual_router_id, 70);
    let scripts: Vec<&str> = c.vrrp_scripts.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(scripts, ["from_include", "from_brace"]);
}

#[test]
fn sync_group_members_have_tracker_weights_forced_to_zero() {
    let l = load_corpus("configs/02-vrrp-full.conf");
    // VG1 sets sync_group_tracking_weight, so VI_1 keeps its weights; VI_6 is an owner.
    let vi1 = l
        .config
        .instances
        .iter()
        .find(|i| i.name == "VI_1")
        .unwrap();
    assert_eq!(vi1.trackers.scripts[1].weight, Some(30));
    let vi6 = l
        .config
        .instances
        .iter()
        .find(|i| i.name == "VI_6")
        .unwrap();
    assert_eq!(vi6.version, 3, "IPv6 forces VRRPv3");
    assert!(vi6.check_unicast_src, "min_ttl implies check_unicast_src");
    assert!(!vi6.nopreempt);
}
