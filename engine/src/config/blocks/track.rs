//! Tracking and helper blocks: vrrp_script, track_file, vrrp_track_process, garp_group,
//! bfd_instance, linkbeat_interfaces, interface_up_down_delays, track_group
//! (`keepalived/vrrp/vrrp_parser.c`, `keepalived/bfd/bfd_parser.c`).

use super::block_name;
use crate::config::model::*;
use crate::config::parser::{Parser, Stmt};
use crate::config::registry::Block;

/// `weight N [reverse]` as trackers write it; returns (weight, reverse).
pub fn weight(p: &mut Parser<'_>, s: &Stmt, i: usize, lo: i64, hi: i64) -> Option<(i32, bool)> {
    let w = p.int(s, i, lo, hi)?;
    let reverse = match s.arg(i + 1) {
        Some("reverse") => true,
        Some("noreverse") => false,
        Some(_) => {
            p.extra(s, i + 1);
            false
        }
        None => false,
    };
    p.extra(s, i + 2);
    Some((w, reverse))
}

pub fn vrrp_script(p: &mut Parser<'_>, st: &Stmt, cfg: &mut Config) {
    use crate::config::registry::track::script as kw;
    let Some(name) = block_name(p, st) else {
        p.skip_block(st);
        return;
    };
    let mut v = VrrpScript {
        name,
        script: None,
        interval_us: SECOND,
        timeout_us: SECOND,
        weight: 0,
        weight_reverse: false,
        rise: 1,
        fall: 1,
        init_fail: false,
        explicit: Explicit::default(),
    };
    p.block_in(Block::VrrpScript, st, |p, s| match s.kw() {
        kw::SCRIPT => v.script = p.command(&s),
        kw::INTERVAL => {
            if let Some(t) = p.timer_value(&s, SECOND / 1000, 86400 * SECOND) {
                v.interval_us = t;
            }
        }
        kw::TIMEOUT => {
            if let Some(t) = p.timer_value(&s, SECOND / 1000, 86400 * SECOND) {
                v.timeout_us = t;
                v.explicit.set(Given::Timeout);
            }
        }
        kw::WEIGHT => {
            if let Some((w, r)) = weight(p, &s, 0, -253, 253) {
                v.weight = w;
                v.weight_reverse = r;
            }
        }
        kw::RISE => {
            if let Some(n) = p.int_value(&s, 1, 1_000_000) {
                v.rise = n;
            }
        }
        kw::FALL => {
            if let Some(n) = p.int_value(&s, 1, 1_000_000) {
                v.fall = n;
            }
        }
        kw::USER => {
            if let Some(c) = v.script.as_mut() {
                c.user = s.arg(0).map(str::to_string);
                c.group = s.arg(1).map(str::to_string);
                p.extra(&s, 2);
            } else {
                p.error(
                    &s,
                    s.kw.col,
                    crate::config::DiagClass::Semantic,
                    "'user' must come after 'script' in a vrrp_script".into(),
                );
            }
        }
        kw::INIT_FAIL => v.init_fail = p.flag(&s),
        _ => p.unknown(&s, "vrrp_script"),
    });
    if !v.explicit.has(Given::Timeout) {
        v.timeout_us = v.interval_us;
    }
    if v.script.is_none() {
        p.error(
            st,
            st.kw.col,
            crate::config::DiagClass::Semantic,
            format!("vrrp_script {} has no 'script' - it is ignored", v.name),
        );
        return;
    }
    cfg.vrrp_scripts.push(v);
}

pub fn track_file(p: &mut Parser<'_>, st: &Stmt, cfg: &mut Config) {
    use crate::config::registry::track::file as kw;
    let Some(name) = block_name(p, st) else {
        p.skip_block(st);
        return;
    };
    let mut t = TrackFile {
        name,
        file: None,
        weight: 1,
        weight_reverse: false,
        init_file: None,
    };
    p.block_in(Block::TrackFile, st, |p, s| match s.kw() {
        kw::FILE => t.file = p.value(&s, "a file path"),
        kw::WEIGHT => {
            if let Some((w, r)) = weight(p, &s, 0, -254, 254) {
                t.weight = w;
                t.weight_reverse = r;
            }
        }
        kw::INIT_FILE => {
            let mut init = InitFile {
                value: 0,
                overwrite: false,
            };
            let mut i = 0;
            if let Some(v) = s.arg(0).and_then(|a| a.parse::<i64>().ok()) {
                init.value = v;
                i = 1;
            }
            if s.arg(i) == Some("overwrite") {
                init.overwrite = true;
                i += 1;
            }
            p.extra(&s, i);
            t.init_file = Some(init);
        }
        _ => p.unknown(&s, "track_file"),
    });
    if t.file.is_none() {
        p.error(
            st,
            st.kw.col,
            crate::config::DiagClass::Semantic,
            format!("track_file {} has no 'file'", t.name),
        );
        return;
    }
    cfg.track_files.push(t);
}

pub fn track_process(p: &mut Parser<'_>, st: &Stmt, cfg: &mut Config) {
    use crate::config::registry::track::process as kw;
    let Some(name) = block_name(p, st) else {
        p.skip_block(st);
        return;
    };
    let mut t = TrackProcess {
        name,
        process: None,
        parameters: Vec::new(),
        param_match: "initial".into(),
        weight: 0,
        weight_reverse: false,
        quorum: 1,
        quorum_max: None,
        fork_delay_us: None,
        terminate_delay_us: None,
        delay_us: None,
        full_command: false,
    };
    p.block_in(Block::TrackProcess, st, |p, s| match s.kw() {
        kw::PROCESS => {
            t.process = p.str_arg(&s, 0, "a process name");
            t.parameters = s.args.iter().skip(1).map(|a| a.text.to_string()).collect();
        }
        kw::PARAM_MATCH => {
            if let Some(m) = p.choice(&s, 0, &["initial", "partial"]) {
                t.param_match = m;
            }
            p.extra(&s, 1);
        }
        kw::WEIGHT => {
            if let Some((w, r)) = weight(p, &s, 0, -254, 254) {
                t.weight = w;
                t.weight_reverse = r;
            }
        }
        kw::QUORUM => {
            if let Some(q) = p.int_value(&s, 1, 65535) {
                t.quorum = q;
            }
        }
        kw::QUORUM_MAX => t.quorum_max = p.int_value(&s, 0, 65535),
        kw::FORK_DELAY => t.fork_delay_us = p.timer_value(&s, 0, 3600 * SECOND),
        kw::TERMINATE_DELAY => t.terminate_delay_us = p.timer_value(&s, 0, 3600 * SECOND),
        kw::DELAY => t.delay_us = p.timer_value(&s, 0, 3600 * SECOND),
        kw::FULL_COMMAND => t.full_command = p.flag(&s),
        _ => p.unknown(&s, "vrrp_track_process"),
    });
    if t.process.is_none() {
        p.error(
            st,
            st.kw.col,
            crate::config::DiagClass::Semantic,
            format!("vrrp_track_process {} has no 'process'", t.name),
        );
        return;
    }
    if t.quorum_max.is_some_and(|m| m < t.quorum) {
        p.error(
            st,
            st.kw.col,
            crate::config::DiagClass::Value,
            format!("vrrp_track_process {}: quorum_max is below quorum", t.name),
        );
    }
    cfg.track_processes.push(t);
}

pub fn garp_group(p: &mut Parser<'_>, st: &Stmt, cfg: &mut Config) {
    use crate::config::registry::track::garp_group as kw;
    p.extra(st, 0);
    let mut g = GarpGroup {
        garp_interval_us: None,
        gna_interval_us: None,
        interfaces: Vec::new(),
    };
    p.block_in(Block::GarpGroup, st, |p, s| match s.kw() {
        kw::GARP_INTERVAL => g.garp_interval_us = p.timer_value(&s, 0, 1000 * SECOND),
        kw::GNA_INTERVAL => g.gna_interval_us = p.timer_value(&s, 0, 1000 * SECOND),
        kw::INTERFACE => {
            if let Some(i) = p.value(&s, "an interface") {
                g.interfaces.push(i);
            }
        }
        kw::INTERFACES => g
            .interfaces
            .extend(p.words(&s).into_iter().map(|t| t.text.to_string())),
        _ => p.unknown(&s, "garp_group"),
    });
    if g.interfaces.is_empty() {
        p.error(
            st,
            st.kw.col,
            crate::config::DiagClass::Semantic,
            "garp_group names no interface".into(),
        );
        return;
    }
    cfg.garp_groups.push(g);
}

pub fn bfd_instance(p: &mut Parser<'_>, st: &Stmt, cfg: &mut Config) {
    use crate::config::registry::track::bfd as kw;
    let Some(name) = block_name(p, st) else {
        p.skip_block(st);
        return;
    };
    let ms = SECOND / 1000;
    let mut b = BfdInstance {
        name,
        neighbor_ip: None,
        source_ip: None,
        min_rx_us: 10 * ms,
        min_tx_us: 10 * ms,
        idle_tx_us: 1000 * ms,
        multiplier: 5,
        passive: false,
        ttl: 255,
        hoplimit: 64,
        max_hops: 0,
        multihop: false,
        weight: 0,
        weight_reverse: false,
        vrrp: false,
        checker: false,
    };
    p.block_in(Block::BfdInstance, st, |p, s| {
        // bfd timers are written in milliseconds (`bfd_parser.c`).
        let millis = |p: &mut Parser<'_>, s: &Stmt, lo: i64, hi: i64| {
            p.int_value::<u64>(s, lo, hi).map(|v| v * ms)
        };
        match s.kw() {
            kw::NEIGHBOR_IP | kw::NEIGHBOUR_IP => b.neighbor_ip = p.ip_value(&s),
            kw::SOURCE_IP => b.source_ip = p.ip_value(&s),
            kw::MIN_RX => b.min_rx_us = millis(p, &s, 1, 1000).unwrap_or(b.min_rx_us),
            kw::MIN_TX => b.min_tx_us = millis(p, &s, 1, 1000).unwrap_or(b.min_tx_us),
            kw::IDLE_TX => b.idle_tx_us = millis(p, &s, 1, 1000).unwrap_or(b.idle_tx_us),
            kw::MULTIPLIER => b.multiplier = p.int_value(&s, 1, 255).unwrap_or(b.multiplier),
            kw::PASSIVE => b.passive = p.flag(&s),
            kw::TTL => b.ttl = p.int_value(&s, 1, 255).unwrap_or(b.ttl),
            kw::HOPLIMIT => b.hoplimit = p.int_value(&s, 1, 255).unwrap_or(b.hoplimit),
            kw::MAX_HOPS => b.max_hops = p.int_value(&s, 0, 255).unwrap_or(b.max_hops),
            kw::MULTIHOP => b.multihop = p.flag(&s),
            kw::WEIGHT => {
                if let Some((w, r)) = weight(p, &s, 0, -253, 253) {
                    b.weight = w;
                    b.weight_reverse = r;
                }
            }
            kw::VRRP => b.vrrp = p.flag(&s),
            kw::CHECKER => b.checker = p.flag(&s),
            _ => p.unknown(&s, "bfd_instance"),
        }
    });
    if b.neighbor_ip.is_none() {
        p.error(
            st,
            st.kw.col,
            crate::config::DiagClass::Semantic,
            format!("bfd_instance {} has no neighbor_ip", b.name),
        );
        return;
    }
    cfg.bfd_instances.push(b);
}

pub fn linkbeat_interfaces(p: &mut Parser<'_>, st: &Stmt, cfg: &mut Config) {
    for s in p.lines(st) {
        let method = match s.arg(0) {
            Some(m @ ("MII" | "ETHTOOL" | "IOCTL")) => Some(m.to_string()),
            Some(_) => {
                p.bad_arg(&s, 0, "expected MII, ETHTOOL or IOCTL".into());
                None
            }
            None => None,
        };
        p.extra(&s, 1);
        cfg.linkbeat_interfaces.push(LinkbeatInterface {
            interface: s.kw.text.to_string(),
            method,
        });
    }
}

pub fn interface_up_down_delays(p: &mut Parser<'_>, st: &Stmt, cfg: &mut Config) {
    for s in p.lines(st) {
        let Some(down) = p.timer(&s, 0, 0, 255 * SECOND) else {
            continue;
        };
        let up = if s.args.len() > 1 {
            p.timer(&s, 1, 0, 255 * SECOND).unwrap_or(down)
        } else {
            down
        };
        p.extra(&s, 2);
        cfg.interface_up_down_delays.push(InterfaceDelay {
            interface: s.kw.text.to_string(),
            down_us: down,
            up_us: up,
        });
    }
}

pub fn track_group(p: &mut Parser<'_>, st: &Stmt, cfg: &mut Config) {
    use crate::config::registry::track::group as kw;
    let Some(name) = block_name(p, st) else {
        p.skip_block(st);
        return;
    };
    let mut instances = Vec::new();
    p.block_in(Block::TrackGroup, st, |p, s| match s.kw() {
        kw::GROUP => instances.extend(p.words(&s).into_iter().map(|t| t.text.to_string())),
        _ => p.unknown(&s, "track_group"),
    });
    cfg.track_groups.push(TrackGroup { name, instances });
}

/// `track_interface {}` / `track_script {}` / … inside an instance or sync group.
pub fn track_refs(p: &mut Parser<'_>, st: &Stmt, lo: i64, hi: i64) -> Vec<TrackRef> {
    let mut out = Vec::new();
    for s in p.lines(st) {
        let mut r = TrackRef {
            name: s.kw.text.to_string(),
            weight: None,
            reverse: false,
        };
        match s.arg(0) {
            Some("weight") => {
                if let Some((w, rev)) = weight(p, &s, 1, lo, hi) {
                    r.weight = Some(w);
                    r.reverse = rev;
                }
            }
            Some("reverse") => {
                r.reverse = true;
                p.extra(&s, 1);
            }
            Some(_) => p.extra(&s, 0),
            None => {}
        }
        out.push(r);
    }
    out
}
