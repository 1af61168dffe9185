//! `track_group` on static addresses, routes and rules (`keepalived/vrrp/vrrp_static_track.c`).
//!
//! A static item naming `track_group G` ties G's VRRP instances to the interface the item
//! lives on: `static_track_group_init()` adds each instance to that interface's trackers
//! with weight 0 (`add_vrrp_to_interface(…, 0, …, TRACK_SADDR/TRACK_SROUTE/TRACK_SRULE)`),
//! so the instances go to FAULT while it is down, as a weight-0 `track_interface` does.
//! That is the whole of the tie; the items themselves are host state the VRRP process
//! installs whatever the instances do. So the group is folded here into each instance's
//! interface trackers, and the engine needs nothing more.

use super::diag::{DiagClass, Diagnostic, Diagnostics, Severity};
use super::model::{Config, TrackRef};

fn note(diags: &mut Diagnostics, message: String) {
    diags.push(Diagnostic {
        severity: Severity::Warning,
        class: DiagClass::Note,
        location: None,
        message,
        source_line: None,
    });
}

/// Adds, for each static item with a `track_group`, its interface to the trackers of the
/// group's instances (weight 0). keepalived logs the cases it skips rather than refusing
/// the configuration, so these are warnings.
pub(super) fn apply(cfg: &mut Config, diags: &mut Diagnostics) {
    // static_track_group_set(): a group keeps the instances that exist; one left with none
    // is dropped.
    let mut groups: Vec<(String, Vec<usize>)> = Vec::new();
    for g in &cfg.track_groups {
        let mut members = Vec::new();
        for name in &g.instances {
            match cfg.instances.iter().position(|vi| &vi.name == name) {
                Some(i) => members.push(i),
                None => note(
                    diags,
                    format!(
                        "vrrp instance {name} specified in track group {} doesn't exist - ignoring",
                        g.name
                    ),
                ),
            }
        }
        if members.is_empty() {
            note(
                diags,
                format!(
                    "Static track group {} has no VRRP instance(s) - removing",
                    g.name
                ),
            );
            continue;
        }
        groups.push((g.name.clone(), members));
    }

    // (kind, group, no_track, interface) for each static item naming a group.
    let default_if = cfg.global.default_interface.clone();
    let mut tracked: Vec<(&str, String, bool, Option<String>)> = Vec::new();
    for a in &cfg.static_ipaddress {
        if let Some(g) = a.track_group() {
            // alloc_ipaddress(): a static address without `dev` is on the default
            // interface (get_default_if()).
            let dev = a.dev.clone().or_else(|| default_if.clone());
            tracked.push(("address", g.to_string(), a.no_track, dev));
        }
    }
    for r in &cfg.static_routes {
        if let Some(g) = &r.track_group {
            tracked.push(("route", g.clone(), r.no_track, r.dev.clone()));
        }
    }
    for r in &cfg.static_rules {
        if let Some(g) = &r.track_group {
            tracked.push(("rule", g.clone(), r.no_track, r.iif.clone()));
        }
    }

    for (kind, group, no_track, dev) in tracked {
        let Some((_, members)) = groups.iter().find(|(n, _)| *n == group) else {
            // alloc_ipaddress()/alloc_route()/alloc_rule(): "track_group %s not found".
            note(diags, format!("track_group {group} not found"));
            continue;
        };
        if no_track {
            note(
                diags,
                format!("Static {kind} has both track_group and no_track set - not tracking"),
            );
            continue;
        }
        let Some(dev) = dev else {
            // A route is tracked by its oif, a rule by its iif: without one there is
            // nothing to follow.
            note(
                diags,
                format!(
                    "Static {kind} cannot have track_group {group} if no interface is specified"
                ),
            );
            continue;
        };
        for &i in members {
            let refs = &mut cfg.instances[i].trackers.interfaces;
            match refs.iter_mut().find(|r| r.name == dev) {
                // add_vrrp_to_interface(): an interface the instance already tracks with
                // a weight becomes weight 0, so its loss is a FAULT.
                Some(r) => {
                    r.weight = Some(0);
                    r.reverse = false;
                }
                None => refs.push(TrackRef {
                    name: dev.clone(),
                    weight: Some(0),
                    reverse: false,
                }),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{parse_str, ParseOptions};

    fn tracked(conf: &str, instance: &str) -> Vec<(String, Option<i32>)> {
        let loaded = parse_str(conf, &ParseOptions::default());
        let vi = loaded
            .config
            .instances
            .iter()
            .find(|vi| vi.name == instance)
            .expect("instance");
        vi.trackers
            .interfaces
            .iter()
            .map(|r| (r.name.clone(), r.weight))
            .collect()
    }

    const INSTANCES: &str = "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n \
        track_interface {\n  eth3 weight 10\n }\n virtual_ipaddress {\n  10.0.0.1\n }\n}\n\
        vrrp_instance VI_2 {\n interface eth0\n virtual_router_id 2\n virtual_ipaddress {\n  10.0.0.2\n }\n}\n";

    #[test]
    fn a_track_group_makes_its_instances_track_each_item_interface_at_weight_0() {
        let conf = format!(
            "track_group TG {{\n group {{\n  VI_1\n  VI_9\n }}\n}}\n\
             static_ipaddress {{\n 10.1.0.1/24 dev eth1 track_group TG\n 10.1.0.2/24 track_group TG\n \
             10.1.0.3/24 dev eth5 track_group TG no_track\n}}\n\
             static_routes {{\n 10.2.0.0/24 via 10.1.0.254 dev eth3 track_group TG\n \
             10.3.0.0/24 via 10.1.0.254 track_group TG\n}}\n\
             static_rules {{\n from 10.4.0.0/24 iif eth4 table 100 priority 10 track_group TG\n}}\n{INSTANCES}"
        );
        // eth3's weight becomes 0; eth1, the default interface (eth0, the address without
        // dev), and the rule's iif are added; the no_track address and the route without
        // an interface add nothing.
        assert_eq!(
            tracked(&conf, "VI_1"),
            vec![
                ("eth3".to_string(), Some(0)),
                ("eth1".to_string(), Some(0)),
                ("eth0".to_string(), Some(0)),
                ("eth4".to_string(), Some(0)),
            ]
        );
        assert!(
            tracked(&conf, "VI_2").is_empty(),
            "VI_2 is not in the group"
        );
    }

    #[test]
    fn items_without_a_track_group_track_nothing() {
        let conf = format!("static_ipaddress {{\n 10.1.0.1/24 dev eth1\n}}\n{INSTANCES}");
        assert_eq!(tracked(&conf, "VI_1"), vec![("eth3".to_string(), Some(10))]);
    }
}
