//! The keyword tables: one function per block, named after it. Each arm reads the
//! keyword's values with the `Parser` helpers; the keyword sets and defaults follow the
//! keepalived function named beside each block.

mod addr;
mod global;
mod lvs;
mod track;
mod vrrp;

pub use addr::{parse_ip_address, parse_route, parse_rule};
pub use vrrp::new_instance;

use super::model::Config;
use super::parser::{Parser, Stmt};

/// The root level (`init_keywords()` across the parsers).
pub fn root(p: &mut Parser<'_>, cfg: &mut Config) {
    p.top(|p, st| statement(p, cfg, st));
}

fn statement(p: &mut Parser<'_>, cfg: &mut Config, st: Stmt) {
    match st.kw() {
        "global_defs" => global::global_defs(p, &st, cfg),
        // Root-level process options (`init_global_keywords()`), not inside global_defs.
        "net_namespace" => cfg.root.net_namespace = p.value(&st, "a namespace name"),
        "net_namespace_ipvs" => cfg.root.net_namespace_ipvs = p.value(&st, "a namespace name"),
        "namespace_with_ipsets" => cfg.root.namespace_with_ipsets = p.flag(&st),
        "use_pid_dir" => cfg.root.use_pid_dir = p.flag(&st),
        "instance" => cfg.root.instance = p.value(&st, "an instance name"),
        "child_wait_time" => {
            if let Some(v) = p.int_value(&st, 0, 1000) {
                cfg.root.child_wait_time_s = v;
            }
        }
        "linkbeat_use_polling" => cfg.root.linkbeat_use_polling = p.flag(&st),
        "linkbeat_interfaces" => track::linkbeat_interfaces(p, &st, cfg),
        "interface_up_down_delays" => track::interface_up_down_delays(p, &st, cfg),
        "track_group" => track::track_group(p, &st, cfg),
        "static_ipaddress" => {
            for line in p.lines(&st) {
                if let Some(a) = parse_ip_address(p, &line, true) {
                    cfg.static_ipaddress.push(a);
                }
            }
        }
        "static_routes" => {
            for line in p.lines(&st) {
                if let Some(r) = parse_route(p, &line) {
                    cfg.static_routes.push(r);
                }
            }
        }
        "static_rules" => {
            for line in p.lines(&st) {
                if let Some(r) = parse_rule(p, &line) {
                    cfg.static_rules.push(r);
                }
            }
        }
        "vrrp_script" => track::vrrp_script(p, &st, cfg),
        "track_file" | "vrrp_track_file" => track::track_file(p, &st, cfg),
        "vrrp_track_process" => track::track_process(p, &st, cfg),
        "garp_group" => track::garp_group(p, &st, cfg),
        "vrrp_sync_group" => vrrp::sync_group(p, &st, cfg),
        "vrrp_instance" => vrrp::instance(p, &st, cfg),
        "bfd_instance" => track::bfd_instance(p, &st, cfg),
        "SSL" => lvs::ssl(p, &st, cfg),
        "virtual_server_group" => lvs::virtual_server_group(p, &st, cfg),
        "virtual_server" => lvs::virtual_server(p, &st, cfg),
        _ => p.unknown(&st, "the top level"),
    }
}

/// `NAME {`: the block's name, or an error naming what is missing.
fn block_name(p: &mut Parser<'_>, st: &Stmt) -> Option<String> {
    let name = p.str_arg(st, 0, "a name")?;
    p.extra(st, 1);
    Some(name)
}
