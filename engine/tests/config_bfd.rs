//! `bfd_instance {}` read as keepalived 2.2.7's `bfd_parser.c` reads it: ranges, the
//! values it ignores and the instances it drops, with its messages.

use keepalived_engine::config::model::BfdInstance;
use keepalived_engine::config::{parse_str, ParseOptions, Severity};

/// The bfd_instances read, the errors (which fail `-t`) and the warnings.
fn load(text: &str) -> (Vec<BfdInstance>, Vec<String>, Vec<String>) {
    let l = parse_str(text, &ParseOptions::default());
    let of = |sev: Severity| {
        l.diagnostics
            .iter()
            .filter(|d| d.severity == sev)
            .map(|d| d.message.clone())
            .collect::<Vec<_>>()
    };
    (
        l.config.bfd_instances.clone(),
        of(Severity::Error),
        of(Severity::Warning),
    )
}

fn one(lines: &str) -> (Option<BfdInstance>, Vec<String>, Vec<String>) {
    let (b, e, w) = load(&format!(
        "bfd_instance B {{\n neighbor_ip 10.0.0.9\n{lines}\n}}\n"
    ));
    (b.into_iter().next(), e, w)
}

#[test]
fn defaults_are_keepalived_s() {
    let (b, e, w) = one("");
    let b = b.expect("read");
    assert!(e.is_empty() && w.is_empty(), "{e:?} {w:?}");
    assert_eq!(
        (b.min_rx_us, b.min_tx_us, b.idle_tx_us),
        (10_000, 10_000, 1_000_000)
    );
    assert_eq!((b.multiplier, b.send_ttl(), b.max_hops), (5, 255, 0));
    assert!(b.to_vrrp() && b.to_checker());
    let (b, _, _) = load("bfd_instance B {\n neighbour_ip fe80::1\n}\n");
    assert_eq!(b[0].send_ttl(), 64);
}

// bfd_min{rx,tx}_handler(), bfd_idletx_handler(): milliseconds to the microsecond,
// 1 (idle_tx 1000) to UINT32_MAX / 1000, above 10000 accepted with a warning.
#[test]
fn timers_are_decimal_milliseconds_in_keepalived_s_ranges() {
    let (b, e, w) = one(" min_rx 3.312\n min_tx 20000\n idle_tx 2000");
    let b = b.expect("read");
    assert!(e.is_empty(), "{e:?}");
    assert_eq!(
        (b.min_rx_us, b.min_tx_us, b.idle_tx_us),
        (3_312, 20_000_000, 2_000_000)
    );
    assert_eq!(
        w,
        ["BFD instance B min_tx value 20000 is larger than max sensible (10000)"]
    );
    let (b, e, _) = one(" min_rx 0\n min_tx 4294968\n idle_tx 999");
    let b = b.expect("read");
    assert_eq!(
        (b.min_rx_us, b.min_tx_us, b.idle_tx_us),
        (10_000, 10_000, 1_000_000)
    );
    assert_eq!(
        e,
        [
            "BFD instance B min_rx value 0 is not valid (must be in range [1-4294967]), ignoring",
            "BFD instance B min_tx value 4294968 is not valid (must be in range [1-4294967]), ignoring",
            "BFD instance B idle_tx value 999 is not valid (must be in range [1000-4294967]), ignoring",
        ]
    );
    let (b, e, _) = one(" min_rx 1.0005");
    assert_eq!(b.expect("read").min_rx_us, 1_001);
    assert_eq!(e, ["number '1.0005' has too many decimal places"]);
}

#[test]
fn multiplier_ttl_and_max_hops_ranges() {
    let (b, e, _) = one(" multiplier 0\n ttl 256\n max_hops 300");
    let b = b.expect("read");
    assert_eq!((b.multiplier, b.send_ttl(), b.max_hops), (5, 255, 0));
    assert_eq!(
        e,
        [
            "BFD instance B multiplier value 0 not valid (must be in range [1-255]), ignoring",
            "BFD instance B ttl/hoplimit value 256 not valid (must be in range [1-255]), ignoring",
            "BFD instance B max_hops value 300 not valid (must be in range [-1-255]), ignoring",
        ]
    );
    // bfd_end_handler(): max_hops above the TTL is cut to it, with its message; -1 is
    // 255 in a uint8_t.
    let (b, e, _) = one(" hoplimit 10\n max_hops 20");
    assert_eq!(b.expect("read").max_hops, 10);
    assert_eq!(
        e,
        ["BFD instance B: max_hops exceeds ttl/hoplimit - setting to ttl/hoplimit"]
    );
    let (b, e, _) = one(" max_hops -1");
    assert_eq!(b.expect("read").max_hops, 255);
    assert!(e.is_empty(), "{e:?}");
}

// bfd_vrrp_weight_handler(): -253..253 and `reverse`.
#[test]
fn weight_and_reverse() {
    let (b, e, _) = one(" weight -20 reverse");
    let b = b.expect("read");
    assert_eq!((b.weight, b.weight_reverse), (-20, true));
    assert!(e.is_empty());
    let (b, e, _) = one(" weight 254 backwards");
    let b = b.expect("read");
    assert_eq!((b.weight, b.weight_reverse), (0, false));
    assert_eq!(
        e,
        [
            "BFD instance B weight value 254 not valid (must be in range [-253-253]), ignoring",
            "BFD instance B unknown weight option backwards",
        ]
    );
}

// vrrp / checker: the processes that hear of the session (bfd_end_handler()).
#[test]
fn vrrp_and_checker_choose_who_hears_of_it() {
    let (b, _, _) = one(" vrrp");
    let b = b.expect("read");
    assert!(b.to_vrrp() && !b.to_checker());
    let (b, _, _) = one(" checker");
    let b = b.expect("read");
    assert!(!b.to_vrrp() && b.to_checker());
    let (b, _, _) = one(" vrrp\n checker");
    let b = b.expect("read");
    assert!(b.to_vrrp() && b.to_checker());
}

// alloc_bfd(), bfd_nbrip_handler(), bfd_end_handler(): what drops an instance.
#[test]
fn instances_keepalived_drops_are_dropped_with_its_messages() {
    let long = "b".repeat(32);
    let (b, e, _) = load(&format!(
        "bfd_instance {long} {{\n neighbor_ip 10.0.0.9\n}}\n"
    ));
    assert!(b.is_empty());
    assert_eq!(
        e,
        [format!(
            "BFD instance {long} name too long (maximum length is 31 characters) - ignoring"
        )]
    );
    let (b, e, _) = load("bfd_instance B {\n min_rx 5\n}\n");
    assert!(b.is_empty());
    assert_eq!(
        e,
        ["BFD instance B has no neighbor address set, disabling instance"]
    );
    let (b, e, _) = load("bfd_instance B {\n neighbour_ip 10.0.0.300\n min_rx 5\n}\n");
    assert!(b.is_empty());
    assert_eq!(
        e,
        ["BFD instance B has malformed neighbor address 10.0.0.300, ignoring instance"]
    );
    let (b, e, _) = load("bfd_instance B {\n neighbor_ip 10.0.0.9\n source_ip fe80::1\n}\n");
    assert!(b.is_empty());
    assert_eq!(
        e,
        ["BFD instance B source address fe80::1 and neighbor address 10.0.0.9 are not of the same family, disabling instance"]
    );
    let two = "bfd_instance A {\n neighbor_ip 10.0.0.9\n}\n";
    let (b, e, _) = load(&format!(
        "{two}bfd_instance B {{\n neighbor_ip 10.0.0.9\n}}\n"
    ));
    assert_eq!(b.len(), 1);
    assert_eq!(
        e,
        ["BFD instance B has duplicate neighbor address 10.0.0.9, ignoring instance"]
    );
    let (b, e, _) = load(&format!(
        "{two}bfd_instance B {{\n neighbor_ip 10.0.0.9\n source_ip 10.0.0.1\n}}\n"
    ));
    assert_eq!(b.len(), 1);
    assert_eq!(
        e,
        ["BFD instance B has duplicate source/neighbor address 10.0.0.1/10.0.0.9, ignoring instance"]
    );
    let (b, e, _) = load(&format!(
        "{two}bfd_instance A {{\n neighbor_ip 10.0.0.8\n}}\n"
    ));
    assert_eq!(b.len(), 1);
    assert_eq!(e, ["BFD instance A already configured - ignoring"]);
    // A bad source is ignored; the instance stays.
    let (b, e, _) = one(" source_ip nowhere");
    assert!(b.expect("read").source_ip.is_none());
    assert_eq!(
        e,
        ["BFD instance B has malformed source address nowhere, ignoring"]
    );
}

// multihop is keepalived master's: read, warned about, and left off.
#[test]
fn multihop_is_warned_about_and_left_off() {
    let (b, e, w) = one(" multihop");
    assert!(!b.expect("read").multihop);
    assert!(e.is_empty());
    assert_eq!(w.len(), 1);
    assert!(w[0].contains("'multihop' has no effect"), "{w:?}");
}

// bfd_vrrp_handler(), bfd_checker_handler(): the VRRP and checker processes know every
// bfd_instance with a good new name, the ones the BFD process refuses included.
#[test]
fn the_clients_know_the_instances_the_bfd_process_refuses() {
    let text = "bfd_instance B {\n neighbor_ip nowhere\n weight 9 reverse\n checker\n}\n\
                virtual_server 10.0.0.1 80 {\n real_server 10.0.0.2 80 {\n BFD_CHECK {\n name B\n }\n }\n}\n";
    let l = parse_str(text, &ParseOptions::default());
    assert!(l.config.bfd_instances.is_empty());
    let t = &l.config.tracked_bfds;
    assert_eq!(t.len(), 1);
    assert_eq!((t[0].weight, t[0].weight_reverse), (9, true));
    assert!(t[0].to_checker() && !t[0].to_vrrp());
    let checkers = &l.config.virtual_servers[0].real_servers[0].checkers;
    assert_eq!(checkers.len(), 1);
}
