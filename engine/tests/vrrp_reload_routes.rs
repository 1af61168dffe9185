//! A reload of a master's virtual routes and rules, as keepalived 2.2.7's
//! `clear_diff_routes()` / `clear_diff_rules()` and the master's re-add leave them: what
//! the new configuration drops is deleted, what it adds is added, the rest is left alone
//! (`table main` and `table 254` being one table).

mod support;

use keepalived_engine::vrrp::{Input, Output, Owned, State};
use support::*;

fn reload(c: &mut Cluster, text: &str) {
    let loaded = keepalived_engine::config::parse_str(text, &Default::default());
    c.input(0, Input::Reload(Box::new(loaded.config)));
}

/// The routes' destinations and rules' sources added and deleted after output `from`.
fn changes(c: &Cluster, from: usize) -> (Vec<String>, Vec<String>) {
    let name = |w: &Owned| match w {
        Owned::Route(r) => format!("route {:?}", r.to.map(|p| p.address)),
        Owned::Rule(r) => format!("rule {:?}", r.from.map(|p| p.address)),
        Owned::Address { addr, .. } => format!("addr {}", addr.address),
    };
    let (mut added, mut deleted) = (Vec::new(), Vec::new());
    for (_, _, o) in &c.outputs[from..] {
        match o {
            Output::Add { what, .. } => added.push(name(what)),
            Output::Del { what, .. } => deleted.push(name(what)),
            _ => {}
        }
    }
    (added, deleted)
}

fn routing(routes: &str, rules: &str) -> String {
    conf(
        1,
        100,
        &format!("virtual_routes {{\n{routes}\n}}\nvirtual_rules {{\n{rules}\n}}"),
    )
}

#[test]
fn reload_changes_only_the_routes_and_rules_that_changed() {
    let before = routing(
        "10.1.0.0/16 via 10.0.0.254 dev eth0 table main\n10.2.0.0/16 via 10.0.0.254 dev eth0",
        "from 10.3.0.0/16 lookup main priority 10\nfrom 10.4.0.0/16 table 100 priority 11",
    );
    let mut c = Cluster::new(&[&before]);
    c.run_for_secs(4.0);
    assert_eq!(c.state(0, "VI_1"), State::Master);

    // main written as 254: nothing changes.
    let n = c.outputs.len();
    reload(
        &mut c,
        &before
            .replace("table main", "table 254")
            .replace("lookup main", "lookup 254"),
    );
    assert_eq!(changes(&c, n), (vec![], vec![]));

    // 10.2/16 goes, 10.5/16 comes; the 10.4/16 rule goes, a 10.6/16 one comes.
    let after = routing(
        "10.1.0.0/16 via 10.0.0.254 dev eth0\n10.5.0.0/16 via 10.0.0.254 dev eth0",
        "from 10.3.0.0/16 lookup main priority 10\nfrom 10.6.0.0/16 table 100 priority 11",
    );
    let n = c.outputs.len();
    reload(&mut c, &after);
    let (added, deleted) = changes(&c, n);
    assert_eq!(deleted, ["rule Some(10.4.0.0)", "route Some(10.2.0.0)"]);
    assert_eq!(added, ["route Some(10.5.0.0)", "rule Some(10.6.0.0)"]);
    assert_eq!(c.state(0, "VI_1"), State::Master);
}
