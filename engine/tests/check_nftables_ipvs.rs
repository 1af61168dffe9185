//! `nftables_ipvs`: a `virtual_server_group` of addresses becomes one fwmark service per
//! protocol, its addresses marked by nftables (`set_vs_fwmark()`, `check_nftables.c`;
//! `ipvs_cmd()`, `ipvswrapper.c`).

mod check_support;

use check_support::{config, Harness};
use keepalived_engine::check::{CheckInput, FwmarkRange, ServiceKey};
use keepalived_engine::config::model::Protocol;

const GROUPS: &str = "virtual_server_group G {\n 10.1.1.1-3 80\n 10.1.2.1 8080\n}\n\
    virtual_server_group H {\n 10.2.0.1 53\n}\n\
    virtual_server_group F {\n fwmark 9\n}\n";

fn vs(group: &str, proto: &str, rs: &str) -> String {
    format!(
        "virtual_server group {group} {{\n protocol {proto}\n lb_kind DR\n \
         real_server {rs} {{\n }}\n}}\n"
    )
}

fn range(protocol: Protocol, first: &str, last: &str, port: u16, mark: u32) -> FwmarkRange {
    FwmarkRange {
        protocol,
        first: first.parse().unwrap(),
        last: last.parse().unwrap(),
        port,
        mark,
    }
}

fn fwm(mark: u32, v6: bool) -> ServiceKey {
    ServiceKey::Fwmark { mark, v6 }
}

#[test]
fn each_group_and_protocol_gets_the_next_mark_in_virtual_server_order() {
    let text = format!(
        "global_defs {{\n nftables_ipvs\n nftables_ipvs_start_fwmark 5000\n}}\n{GROUPS}{}{}{}{}",
        vs("H", "UDP", "10.0.0.9 53"),
        vs("G", "TCP", "10.0.0.1 80"),
        vs("G", "UDP", "10.0.0.2 80"),
        "virtual_server group F {\n lb_kind DR\n real_server 10.0.0.3 80 {\n }\n}\n",
    );
    let h = Harness::new(&text);
    assert_eq!(
        h.e.fwmark_ranges(),
        [
            range(Protocol::Udp, "10.2.0.1", "10.2.0.1", 53, 5000),
            range(Protocol::Tcp, "10.1.1.1", "10.1.1.3", 80, 5001),
            range(Protocol::Tcp, "10.1.2.1", "10.1.2.1", 8080, 5001),
            range(Protocol::Udp, "10.1.1.1", "10.1.1.3", 80, 5002),
            range(Protocol::Udp, "10.1.2.1", "10.1.2.1", 8080, 5002),
        ]
    );
    // One fwmark service each, not one per address; the group of fwmarks is as before.
    let keys: Vec<&ServiceKey> = h.table.services.keys().collect();
    assert_eq!(
        keys,
        [
            &fwm(9, false),
            &fwm(5000, false),
            &fwm(5001, false),
            &fwm(5002, false)
        ]
    );
    // A DR destination of a fwmark service has port 0 (ipvs_cmd()).
    let dests: Vec<u16> = h.table.services[&fwm(5001, false)]
        .dests
        .keys()
        .map(|d| d.port)
        .collect();
    assert_eq!(dests, [0]);
    assert_eq!(
        h.table.services[&fwm(5002, false)].params.protocol,
        Protocol::Udp
    );
}

#[test]
fn without_nftables_ipvs_the_group_is_one_service_per_address() {
    let h = Harness::new(&format!("{GROUPS}{}", vs("G", "TCP", "10.0.0.1 80")));
    assert!(h.e.fwmark_ranges().is_empty());
    assert_eq!(h.table.services.len(), 4);
}

#[test]
fn an_unknown_family_makes_a_service_for_each_family_of_the_group() {
    let text = "global_defs {\n nftables_ipvs\n}\n\
        virtual_server_group M {\n 2001:db8::1 80\n 10.1.1.1 80\n}\n\
        virtual_server group M {\n protocol TCP\n}\n\
        virtual_server_group S {\n 2001:db8::5 80\n}\n\
        virtual_server group S {\n protocol TCP\n}\n";
    let h = Harness::new(text);
    let keys: Vec<&ServiceKey> = h.table.services.keys().collect();
    assert_eq!(
        keys,
        [&fwm(1000, false), &fwm(1000, true), &fwm(1001, true)]
    );
}

#[test]
fn a_reload_keeps_marks_gives_new_ones_and_a_stop_clears_them() {
    let start = format!(
        "global_defs {{\n nftables_ipvs\n}}\n{GROUPS}{}{}",
        vs("G", "TCP", "10.0.0.1 80"),
        vs("H", "UDP", "10.0.0.9 53"),
    );
    let mut h = Harness::new(&start);
    assert_eq!(h.e.fwmark_ranges().len(), 3);
    // H leaves, G loses an entry, G over UDP arrives: G/TCP keeps 1000, the new one
    // takes 1002 (1001 was H's and is not given again).
    let reloaded = format!(
        "global_defs {{\n nftables_ipvs\n}}\nvirtual_server_group G {{\n 10.1.1.1-3 80\n}}\n{}{}",
        vs("G", "UDP", "10.0.0.2 80"),
        vs("G", "TCP", "10.0.0.1 80"),
    );
    h.input(CheckInput::Reload(Box::new(config(&reloaded))));
    assert_eq!(
        h.e.fwmark_ranges(),
        [
            range(Protocol::Udp, "10.1.1.1", "10.1.1.3", 80, 1002),
            range(Protocol::Tcp, "10.1.1.1", "10.1.1.3", 80, 1000),
        ]
    );
    let keys: Vec<&ServiceKey> = h.table.services.keys().collect();
    assert_eq!(keys, [&fwm(1000, false), &fwm(1002, false)]);
    h.input(CheckInput::Shutdown);
    assert!(h.e.fwmark_ranges().is_empty());
    assert!(h.table.services.is_empty());
}
