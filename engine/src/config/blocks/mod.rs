//! The keyword tables: one function per block, named after it. Each arm matches a
//! keyword by its constant in the registry (`super::registry`), so a misspelt name does
//! not compile, and reads the keyword's values with the `Parser` helpers; the keyword sets
//! and defaults follow the keepalived function named beside each block.

mod address;
mod global;
pub mod iproute_names;
mod lvs;
mod route;
mod rule;
mod track;
mod vrrp;

pub use address::parse_ip_address;
pub use route::parse_route;
pub use rule::parse_rule;
pub use vrrp::new_instance;

use super::model::Config;
use super::parser::{Parser, Stmt};
use super::registry::Block;

/// The root level (`init_keywords()` across the parsers).
pub fn root(p: &mut Parser<'_>, cfg: &mut Config) {
    p.top(|p, st| statement(p, cfg, st));
}

fn statement(p: &mut Parser<'_>, cfg: &mut Config, st: Stmt) {
    use crate::config::registry::root as kw;
    p.runtime_note(Block::Root, &st);
    match st.kw() {
        kw::GLOBAL_DEFS => global::global_defs(p, &st, cfg),
        // Root-level process options (`init_global_keywords()`), not inside global_defs.
        kw::NET_NAMESPACE => cfg.root.net_namespace = p.value(&st, "a namespace name"),
        kw::NET_NAMESPACE_IPVS => cfg.root.net_namespace_ipvs = p.value(&st, "a namespace name"),
        kw::NAMESPACE_WITH_IPSETS => cfg.root.namespace_with_ipsets = p.flag(&st),
        kw::USE_PID_DIR => cfg.root.use_pid_dir = p.flag(&st),
        kw::INSTANCE => cfg.root.instance = p.value(&st, "an instance name"),
        kw::CHILD_WAIT_TIME => {
            if let Some(v) = p.int_value(&st, 0, 1000) {
                cfg.root.child_wait_time_s = v;
            }
        }
        kw::LINKBEAT_USE_POLLING => cfg.root.linkbeat_use_polling = p.flag(&st),
        kw::LINKBEAT_INTERFACES => track::linkbeat_interfaces(p, &st, cfg),
        kw::INTERFACE_UP_DOWN_DELAYS => track::interface_up_down_delays(p, &st, cfg),
        kw::TRACK_GROUP => track::track_group(p, &st, cfg),
        kw::STATIC_IPADDRESS => {
            for line in p.lines(&st) {
                if let Some(a) = parse_ip_address(p, &line, true) {
                    cfg.static_ipaddress.push(a);
                }
            }
        }
        kw::STATIC_ROUTES => {
            let ctx = iproute_names::RoutingCtx::of(cfg).statics();
            for line in p.lines(&st) {
                if let Some(r) = parse_route(p, &line, &ctx) {
                    cfg.static_routes.push(r);
                }
            }
        }
        kw::STATIC_RULES => {
            for line in p.lines(&st) {
                let ctx = iproute_names::RoutingCtx::of(cfg).statics();
                if let Some(r) = parse_rule(p, &line, &ctx, ctx.given) {
                    cfg.static_rules.push(r);
                }
            }
        }
        kw::VRRP_SCRIPT => track::vrrp_script(p, &st, cfg),
        kw::TRACK_FILE | kw::VRRP_TRACK_FILE => track::track_file(p, &st, cfg),
        kw::VRRP_TRACK_PROCESS => track::track_process(p, &st, cfg),
        kw::GARP_GROUP => track::garp_group(p, &st, cfg),
        kw::VRRP_SYNC_GROUP => vrrp::sync_group(p, &st, cfg),
        kw::VRRP_INSTANCE => vrrp::instance(p, &st, cfg),
        kw::BFD_INSTANCE => track::bfd_instance(p, &st, cfg),
        kw::SSL => lvs::ssl(p, &st, cfg),
        kw::VIRTUAL_SERVER_GROUP => lvs::virtual_server_group(p, &st, cfg),
        kw::VIRTUAL_SERVER => lvs::virtual_server(p, &st, cfg),
        _ => p.unknown(&st, "the top level"),
    }
}

/// `NAME {`: the block's name, or an error naming what is missing.
fn block_name(p: &mut Parser<'_>, st: &Stmt) -> Option<String> {
    let name = p.str_arg(st, 0, "a name")?;
    p.extra(st, 1);
    Some(name)
}
