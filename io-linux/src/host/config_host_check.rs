//! What `-t` checks against this host rather than against the configuration alone:
//! that every interface the configuration names exists here.
//!
//! keepalived looks each name up while it parses (`if_get_by_ifname()` with
//! `IF_CREATE_IF_DYNAMIC`, `keepalived/vrrp/vrrp_if.c`): an instance's `interface`
//! and `use_vrf`, an address's `dev`, a route's `dev`/`oif` and a nexthop's `dev`, a
//! rule's `iif`/`oif`, `track_interface`, `garp_group` interfaces, and a static
//! address's default interface. Without `dynamic_interfaces` a name that does not exist
//! is reported where it is read and then once more as "Non-existent interface
//! specified in configuration", and the VRRP process refuses to start
//! (`start_vrrp()`, `keepalived/vrrp/vrrp_daemon.c`). `linkbeat_interfaces` and
//! `interface_up_down_delays` name interfaces too, as does a static address without
//! `dev` (the default interface), and an unknown one is a fatal error unless
//! `dynamic_interfaces`. With `dynamic_interfaces` an instance waits in FAULT
//! for its interface, so `-t` only notes the names that are missing.

use std::ffi::CString;

use keepalived_engine::config::model::{Config, IpAddress, Route, VrrpInstance};
use keepalived_engine::config::{DiagClass, Diagnostic, Diagnostics, Location, Severity};

/// Whether this host (this network namespace) has an interface of that name.
pub fn interface_exists(name: &str) -> bool {
    let Ok(c) = CString::new(name) else {
        return false;
    };
    // SAFETY: if_nametoindex reads a NUL-terminated string and has no other
    // preconditions.
    unsafe { libc::if_nametoindex(c.as_ptr()) != 0 }
}

/// One name the configuration uses, with what uses it, for the message.
struct Reference<'c> {
    name: &'c str,
    what: String,
    at: Option<&'c Location>,
    /// keepalived treats the name as fatal (`linkbeat_interfaces`,
    /// `interface_up_down_delays`) rather than a reason for VRRP not to start.
    fatal: bool,
}

/// The interfaces the configuration names that this host lacks, each as "interface X
/// for what names it": what the VRRP process logs before it refuses to start without
/// `dynamic_interfaces`.
pub fn missing_interfaces(cfg: &Config, exists: impl Fn(&str) -> bool) -> Vec<String> {
    references(cfg)
        .into_iter()
        .filter(|r| !exists(r.name))
        .map(|r| format!("interface {} for {} doesn't exist", r.name, r.what))
        .collect()
}

/// Reports, into `d`, every interface the configuration names that this host lacks.
pub fn check_interfaces(cfg: &Config, d: &mut Diagnostics) {
    check_interfaces_with(cfg, interface_exists, d);
}

/// [`check_interfaces`] with the host's answer given, so the rules can be tested
/// without one.
pub fn check_interfaces_with(cfg: &Config, exists: impl Fn(&str) -> bool, d: &mut Diagnostics) {
    let dynamic = cfg.global.dynamic_interfaces;
    let absent: Vec<Reference<'_>> = references(cfg)
        .into_iter()
        .filter(|r| !exists(r.name))
        .collect();
    // keepalived's exit status is that of the least serious problem it reported
    // (`report_config_error()` keeps the highest `config_err_t`), so a fatal unknown
    // interface exits 4 only when nothing else was wrong; the report is the same.
    let fatal_counts = !d.has_errors() && absent.iter().all(|r| r.fatal);
    let missing = absent.len();
    for r in absent {
        let (severity, class, message) = if dynamic {
            (
                Severity::Warning,
                DiagClass::Note,
                format!(
                    "interface {} for {} does not exist yet: with dynamic_interfaces it is used once it is created",
                    r.name, r.what
                ),
            )
        } else if r.fatal {
            (
                Severity::Error,
                if fatal_counts {
                    DiagClass::Fatal
                } else {
                    DiagClass::Semantic
                },
                format!(
                    "interface {} for {} does not exist (dynamic_interfaces would wait for it)",
                    r.name, r.what
                ),
            )
        } else {
            (
                Severity::Error,
                DiagClass::Semantic,
                format!("interface {} for {} does not exist", r.name, r.what),
            )
        };
        d.push(Diagnostic {
            severity,
            class,
            location: r.at.cloned(),
            message,
            source_line: None,
        });
    }
    if missing > 0 && !dynamic {
        d.push(Diagnostic {
            severity: Severity::Error,
            class: DiagClass::Semantic,
            location: None,
            message: format!(
                "Non-existent interface specified in configuration ({missing} reference{}): \
                 VRRP does not start; 'dynamic_interfaces' in global_defs lets instances wait \
                 in FAULT for their interfaces",
                if missing == 1 { "" } else { "s" }
            ),
            source_line: None,
        });
    }
}

/// Every interface name the configuration looks up, in the order keepalived reads them.
fn references(cfg: &Config) -> Vec<Reference<'_>> {
    let mut out = Vec::new();
    for l in &cfg.linkbeat_interfaces {
        out.push(Reference {
            name: &l.interface,
            what: "linkbeat_interfaces".to_string(),
            at: None,
            fatal: true,
        });
    }
    for l in &cfg.interface_up_down_delays {
        out.push(Reference {
            name: &l.interface,
            what: "interface_up_down_delays".to_string(),
            at: None,
            fatal: true,
        });
    }
    // A static address without `dev` goes on the default interface
    // (`get_default_if()`), and without it the address cannot be placed at all: fatal.
    let default_if = cfg.global.default_interface.as_deref();
    for a in &cfg.static_ipaddress {
        if let Some(name) = a.dev.as_deref().or(default_if) {
            out.push(Reference {
                name,
                what: format!("static_ipaddress {}", a.address),
                at: None,
                fatal: a.dev.is_none(),
            });
        }
    }
    for r in &cfg.static_routes {
        route_references(r, "static_routes", None, &mut out);
    }
    for r in &cfg.static_rules {
        for name in [&r.iif, &r.oif].into_iter().flatten() {
            out.push(Reference {
                name,
                what: "a static_rules rule".to_string(),
                at: None,
                fatal: false,
            });
        }
    }
    for g in &cfg.garp_groups {
        for name in &g.interfaces {
            out.push(Reference {
                name,
                what: "garp_group".to_string(),
                at: None,
                fatal: false,
            });
        }
    }
    for g in &cfg.sync_groups {
        for t in &g.trackers.interfaces {
            out.push(Reference {
                name: &t.name,
                what: format!("track_interface of vrrp_sync_group {}", g.name),
                at: g.defined_at.as_ref(),
                fatal: false,
            });
        }
    }
    for vi in &cfg.instances {
        instance_references(vi, &mut out);
    }
    out
}

fn instance_references<'c>(vi: &'c VrrpInstance, out: &mut Vec<Reference<'c>>) {
    let at = vi.defined_at.as_ref();
    let of = |what: &str| format!("{what} of vrrp_instance {}", vi.name);
    if let Some(name) = &vi.interface {
        out.push(Reference {
            name,
            what: format!("vrrp_instance {}", vi.name),
            at,
            fatal: false,
        });
    }
    if let Some(name) = &vi.vrf {
        out.push(Reference {
            name,
            what: of("the VRF"),
            at,
            fatal: false,
        });
    }
    for t in &vi.trackers.interfaces {
        out.push(Reference {
            name: &t.name,
            what: of("track_interface"),
            at,
            fatal: false,
        });
    }
    for a in vi
        .virtual_ipaddress
        .iter()
        .chain(&vi.virtual_ipaddress_excluded)
    {
        address_reference(a, vi, at, out);
    }
    for r in &vi.virtual_routes {
        route_references(r, &of("a virtual_routes route"), at, out);
    }
    for r in &vi.virtual_rules {
        for name in [&r.iif, &r.oif].into_iter().flatten() {
            out.push(Reference {
                name,
                what: of("a virtual_rules rule"),
                at,
                fatal: false,
            });
        }
    }
}

fn address_reference<'c>(
    a: &'c IpAddress,
    vi: &VrrpInstance,
    at: Option<&'c Location>,
    out: &mut Vec<Reference<'c>>,
) {
    if let Some(name) = &a.dev {
        out.push(Reference {
            name,
            what: format!("ip address {} of vrrp_instance {}", a.address, vi.name),
            at,
            fatal: false,
        });
    }
}

fn route_references<'c>(
    r: &'c Route,
    what: &str,
    at: Option<&'c Location>,
    out: &mut Vec<Reference<'c>>,
) {
    let devs = r
        .dev
        .iter()
        .chain(r.nexthops.iter().filter_map(|n| n.dev.as_ref()));
    for name in devs {
        out.push(Reference {
            name,
            what: what.to_string(),
            at,
            fatal: false,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keepalived_engine::config::{parse_str, ParseOptions};

    fn run(text: &str, present: &[&str]) -> (i32, Vec<String>) {
        let loaded = parse_str(text, &ParseOptions::default());
        let mut d = Diagnostics::default();
        check_interfaces_with(&loaded.config, |n| present.contains(&n), &mut d);
        let code = d.exit_code();
        (code, d.iter().map(|x| x.message.clone()).collect())
    }

    const CONF: &str = "
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 1
    track_interface {
        eth3
    }
    virtual_ipaddress {
        192.0.2.1/24 dev eth2
    }
    virtual_routes {
        198.51.100.0/24 via 192.0.2.254 dev eth4
    }
}
";

    #[test]
    fn every_missing_interface_is_named_and_fails_the_check() {
        let (code, messages) = run(CONF, &["eth0"]);
        assert_eq!(code, 5, "{messages:#?}");
        for name in ["eth2", "eth3", "eth4"] {
            assert!(
                messages
                    .iter()
                    .any(|m| m.starts_with(&format!("interface {name} "))),
                "{name}: {messages:#?}"
            );
        }
        assert!(messages
            .last()
            .is_some_and(|m| m.starts_with("Non-existent interface specified")));
        let (code, messages) = run(CONF, &["eth0", "eth2", "eth3", "eth4"]);
        assert_eq!((code, messages.len()), (0, 0), "{messages:#?}");
    }

    #[test]
    fn dynamic_interfaces_notes_what_is_missing_and_passes() {
        let text = format!("global_defs {{\n dynamic_interfaces\n}}\n{CONF}");
        let (code, messages) = run(&text, &[]);
        assert_eq!(code, 0, "{messages:#?}");
        assert_eq!(messages.len(), 4, "{messages:#?}");
        assert!(messages.iter().all(|m| m.contains("does not exist yet")));
    }

    #[test]
    fn linkbeat_interfaces_naming_a_missing_interface_is_fatal() {
        let (code, _) = run("linkbeat_interfaces {\n eth9\n}\n", &[]);
        assert_eq!(code, 4);
    }
}
