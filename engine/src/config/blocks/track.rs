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
    use crate::config::DiagClass;
    let Some(name) = block_name(p, st) else {
        p.skip_block(st);
        return;
    };
    // `alloc_vrrp_process()`: quorum 1, quorum_max unbounded.
    let mut t = TrackProcess {
        name,
        process: None,
        parameters: Vec::new(),
        param_match: None,
        weight: 0,
        weight_reverse: false,
        quorum: 1,
        quorum_max: None,
        fork_delay_us: None,
        terminate_delay_us: None,
        full_command: false,
    };
    p.block_in(Block::TrackProcess, st, |p, s| match s.kw() {
        kw::PROCESS => {
            // `vrrp_tprocess_process_handler()` keeps the first `process`.
            if let Some(first) = &t.process {
                let message = format!(
                    "vrrp_track_process {}: process already set to '{first}' - ignoring this one",
                    t.name
                );
                p.error(&s, s.kw.col, DiagClass::Semantic, message);
                return;
            }
            t.process = p.str_arg(&s, 0, "a process name");
            t.parameters = s.args.iter().skip(1).map(|a| a.text.to_string()).collect();
        }
        // `vrrp_tprocess_match_handler()`: alone it asks for exact parameters (none, if
        // `process` names none); keepalived reads no word after the type.
        kw::PARAM_MATCH => {
            let m = match s.arg(0) {
                None => ParamMatch::Exact,
                Some("initial") => ParamMatch::Initial,
                Some("partial") => ParamMatch::Partial,
                Some(other) => {
                    let message = format!(
                        "'param_match' expects nothing, 'initial' or 'partial', found '{other}' - ignoring it"
                    );
                    p.bad_arg(&s, 0, message);
                    return;
                }
            };
            t.param_match = Some(m);
            p.extra(&s, 1);
        }
        kw::WEIGHT => process_weight(p, &s, &mut t),
        // `vrrp_tprocess_quorum_handler()`: one above quorum_max is refused.
        kw::QUORUM => {
            let Some(q) = p.int_value::<u32>(&s, 1, 65535) else {
                return;
            };
            if t.quorum_max.is_some_and(|m| q > m) {
                let message = format!(
                    "vrrp_track_process {}: quorum {q} is greater than quorum_max - ignoring it",
                    t.name
                );
                p.bad_arg(&s, 0, message);
                return;
            }
            t.quorum = q;
        }
        // `vrrp_tprocess_quorum_max_handler()`: 0 is allowed while quorum is at most 1, and
        // makes quorum 0 (the tracker holds while no process runs); a later non-zero
        // quorum_max puts quorum back to 1.
        kw::QUORUM_MAX => {
            let Some(m) = p.int_value::<u32>(&s, 0, 65535) else {
                return;
            };
            if (m != 0 || t.quorum > 1) && m < t.quorum {
                let message = format!(
                    "vrrp_track_process {}: quorum_max {m} is less than quorum {} - ignoring it",
                    t.name, t.quorum
                );
                p.bad_arg(&s, 0, message);
                return;
            }
            t.quorum_max = Some(m);
            if m == 0 {
                t.quorum = 0;
            } else if t.quorum == 0 {
                t.quorum = 1;
            }
        }
        // `vrrp_tprocess_delay_general()`: 0.000001 to 3600 s; `delay` sets both delays,
        // so of it and a specific one the last written counts.
        kw::FORK_DELAY => {
            if let Some(d) = p.timer_value(&s, 1, 3600 * SECOND) {
                t.fork_delay_us = Some(d);
            }
        }
        kw::TERMINATE_DELAY => {
            if let Some(d) = p.timer_value(&s, 1, 3600 * SECOND) {
                t.terminate_delay_us = Some(d);
            }
        }
        kw::DELAY => {
            if let Some(d) = p.timer_value(&s, 1, 3600 * SECOND) {
                t.fork_delay_us = Some(d);
                t.terminate_delay_us = Some(d);
            }
        }
        // `vrrp_tprocess_full_handler()` reads no argument: `full_command off` is on.
        kw::FULL_COMMAND => {
            t.full_command = true;
            p.extra(&s, 0);
        }
        _ => p.unknown(&s, "vrrp_track_process"),
    });
    if t.process.is_none() {
        p.error(
            st,
            st.kw.col,
            DiagClass::Semantic,
            format!("vrrp_track_process {} has no 'process'", t.name),
        );
        return;
    }
    cfg.track_processes.push(t);
}

/// `weight N [reverse]` in a vrrp_track_process (`vrrp_tprocess_weight_handler()`): a
/// weight already set (non-zero) stays, a word other than `reverse` after it is an
/// error that leaves the weight set, and `reverse` once written stays.
fn process_weight(p: &mut Parser<'_>, s: &Stmt, t: &mut TrackProcess) {
    if t.weight != 0 {
        let message = format!(
            "vrrp_track_process {}: weight already set to {} - ignoring this one",
            t.name, t.weight
        );
        p.error(s, s.kw.col, crate::config::DiagClass::Semantic, message);
        return;
    }
    let Some(w) = p.int(s, 0, -254, 254) else {
        return;
    };
    match s.arg(1) {
        None => {}
        Some("reverse") => {
            t.weight_reverse = true;
            p.extra(s, 2);
        }
        Some(other) => {
            let message = format!(
                "vrrp_track_process {}: unknown weight option '{other}'",
                t.name
            );
            p.bad_arg(s, 1, message);
        }
    }
    t.weight = w;
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

/// `BFD_INAME_MAX`: a bfd_instance's name, with its NUL, fits in 32 bytes.
const BFD_INAME_MAX: usize = 32;
/// `BFD_*_MAX_SENSIBLE`: larger timers are accepted with a warning.
const BFD_MAX_SENSIBLE_MS: u64 = 10_000;
/// `BFD_MINRX_MAX` and friends: `UINT32_MAX / 1000` ms, so the µs value fits 32 bits.
const BFD_TIMER_MAX_MS: u64 = u32::MAX as u64 / 1000;

/// `read_decimal_unsigned()` with 3 places: milliseconds with up to three decimals, as
/// µs. More places are rounded, and reported (the second value). `None`: not a number.
fn millis_us(text: &str) -> Option<(u64, bool)> {
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    if int.is_empty() && frac.is_empty()
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let kept = frac.len().min(3);
    let mut digits = int.to_string();
    digits.push_str(&frac[..kept]);
    digits.extend(std::iter::repeat_n('0', 3 - kept));
    let mut v: u64 = digits.parse().ok()?;
    let rounded = frac.len() > 3;
    if rounded && frac.as_bytes()[3] >= b'5' {
        v += 1;
    }
    Some((v, rounded))
}

/// `bfd_instance NAME {}` as the BFD process reads it (`bfd_parser.c`): keepalived's
/// ranges, and its messages for what it ignores (a value) or drops (the instance).
pub fn bfd_instance(p: &mut Parser<'_>, st: &Stmt, cfg: &mut Config) {
    use crate::config::registry::track::bfd as kw;
    use crate::config::DiagClass;
    let Some(name) = block_name(p, st) else {
        p.skip_block(st);
        return;
    };
    // alloc_bfd(): the name must fit `iname`, and be new.
    if name.len() >= BFD_INAME_MAX {
        p.error(
            st,
            st.kw.col,
            DiagClass::Semantic,
            format!(
                "BFD instance {name} name too long (maximum length is {} characters) - ignoring",
                BFD_INAME_MAX - 1
            ),
        );
        p.skip_block(st);
        return;
    }
    if cfg.tracked_bfds.iter().any(|b| b.name == name) {
        p.error(
            st,
            st.kw.col,
            DiagClass::Semantic,
            format!("BFD instance {name} already configured - ignoring"),
        );
        p.skip_block(st);
        return;
    }
    let mut b = BfdInstance::new(name, None);
    // keepalived means to say "neighbour" once the English spelling is used, but
    // bfd_nbrip_handler() compares the address, not the keyword, with "neighbour_ip":
    // its messages always say "neighbor".
    let neighbor = "neighbor";
    let mut dropped = false;
    p.block_in(Block::BfdInstance, st, |p, s| {
        // After a malformed neighbor the BFD process skips the rest of the block; the
        // VRRP and checker processes, which never look at the address, still read the
        // weight and who hears of the session.
        if dropped && !matches!(s.kw(), kw::WEIGHT | kw::VRRP | kw::CHECKER) {
            return;
        }
        // bfd_min{rx,tx}_handler(), bfd_idletx_handler(): decimal milliseconds.
        let timer = |p: &mut Parser<'_>, s: &Stmt, what: &str, lo_ms: u64, name: &str| {
            let text = s.arg(0).unwrap_or("");
            let parsed = millis_us(text);
            if let Some((_, true)) = parsed {
                p.error(
                    s,
                    s.kw.col,
                    DiagClass::Note,
                    format!("number '{text}' has too many decimal places"),
                );
            }
            p.extra(s, 1);
            match parsed {
                Some((v, _)) if (lo_ms * 1000..=BFD_TIMER_MAX_MS * 1000).contains(&v) => {
                    if v > BFD_MAX_SENSIBLE_MS * 1000 {
                        p.warn(
                            s,
                            s.kw.col,
                            format!(
                                "BFD instance {name} {what} value {text} is larger than max sensible ({BFD_MAX_SENSIBLE_MS})"
                            ),
                        );
                    }
                    Some(v)
                }
                _ => {
                    p.error(
                        s,
                        s.kw.col,
                        DiagClass::Value,
                        format!(
                            "BFD instance {name} {what} value {text} is not valid (must be in range [{lo_ms}-{BFD_TIMER_MAX_MS}]), ignoring"
                        ),
                    );
                    None
                }
            }
        };
        let int = |p: &mut Parser<'_>, s: &Stmt, lo: i64, hi: i64| {
            p.extra(s, 1);
            s.arg(0)
                .and_then(crate::config::parser::parse_int)
                .filter(|v| (lo..=hi).contains(v))
        };
        let name = b.name.clone();
        match s.kw() {
            kw::NEIGHBOR_IP | kw::NEIGHBOUR_IP => {
                p.extra(&s, 1);
                match s.arg(0).and_then(crate::config::parser::parse_ip) {
                    Some(a) => b.neighbor_ip = Some(a),
                    // bfd_nbrip_handler(): the instance goes, and the rest of its block.
                    None => {
                        p.error(
                            &s,
                            s.kw.col,
                            DiagClass::Semantic,
                            format!(
                                "BFD instance {name} has malformed {neighbor} address {}, ignoring instance",
                                s.arg(0).unwrap_or("")
                            ),
                        );
                        dropped = true;
                    }
                }
            }
            kw::SOURCE_IP => {
                p.extra(&s, 1);
                match s.arg(0).and_then(crate::config::parser::parse_ip) {
                    Some(a) => b.source_ip = Some(a),
                    None => p.error(
                        &s,
                        s.kw.col,
                        DiagClass::Value,
                        format!(
                            "BFD instance {name} has malformed source address {}, ignoring",
                            s.arg(0).unwrap_or("")
                        ),
                    ),
                }
            }
            kw::MIN_RX => b.min_rx_us = timer(p, &s, "min_rx", 1, &name).unwrap_or(b.min_rx_us),
            kw::MIN_TX => b.min_tx_us = timer(p, &s, "min_tx", 1, &name).unwrap_or(b.min_tx_us),
            kw::IDLE_TX => {
                b.idle_tx_us = timer(p, &s, "idle_tx", 1000, &name).unwrap_or(b.idle_tx_us)
            }
            kw::MULTIPLIER => match int(p, &s, 1, 255) {
                Some(v) => b.multiplier = v as u8,
                None => p.error(
                    &s,
                    s.kw.col,
                    DiagClass::Value,
                    format!(
                        "BFD instance {name} multiplier value {} not valid (must be in range [1-255]), ignoring",
                        s.arg(0).unwrap_or("")
                    ),
                ),
            },
            kw::PASSIVE => b.passive = p.flag(&s),
            kw::TTL | kw::HOPLIMIT => match int(p, &s, 1, 255) {
                Some(v) => b.ttl = Some(v as u8),
                None => p.error(
                    &s,
                    s.kw.col,
                    DiagClass::Value,
                    format!(
                        "BFD instance {name} ttl/hoplimit value {} not valid (must be in range [1-255]), ignoring",
                        s.arg(0).unwrap_or("")
                    ),
                ),
            },
            // bfd_maxhops_handler(): -1..=255 into a uint8_t, so -1 is 255, which turns
            // the hop check off (`bfd_receive_packet()`).
            kw::MAX_HOPS => match int(p, &s, -1, 255) {
                Some(v) => b.max_hops = v as u8,
                None => p.error(
                    &s,
                    s.kw.col,
                    DiagClass::Value,
                    format!(
                        "BFD instance {name} max_hops value {} not valid (must be in range [-1-255]), ignoring",
                        s.arg(0).unwrap_or("")
                    ),
                ),
            },
            // keepalived master's keyword: read, and left off (the registry warns).
            kw::MULTIHOP => {
                p.flag(&s);
            }
            // bfd_vrrp_weight_handler(): a bad value is ignored, a bad option reported.
            kw::WEIGHT => {
                match s
                    .arg(0)
                    .and_then(crate::config::parser::parse_int)
                    .filter(|v| (-253..=253).contains(v))
                {
                    Some(v) => b.weight = v as i32,
                    None => p.error(
                        &s,
                        s.kw.col,
                        DiagClass::Value,
                        format!(
                            "BFD instance {name} weight value {} not valid (must be in range [-253-253]), ignoring",
                            s.arg(0).unwrap_or("")
                        ),
                    ),
                }
                match s.arg(1) {
                    Some("reverse") => b.weight_reverse = true,
                    Some(o) => p.error(
                        &s,
                        s.kw.col,
                        DiagClass::Value,
                        format!("BFD instance {name} unknown weight option {o}"),
                    ),
                    None => {}
                }
                p.extra(&s, 2);
            }
            kw::VRRP => b.vrrp = p.flag(&s),
            kw::CHECKER => b.checker = p.flag(&s),
            kw::IGNORE_ADMIN_DOWN => b.ignore_admin_down = p.flag(&s),
            _ => p.unknown(&s, "bfd_instance"),
        }
    });
    cfg.tracked_bfds.push(TrackedBfd {
        name: b.name.clone(),
        weight: b.weight,
        weight_reverse: b.weight_reverse,
        vrrp: b.vrrp,
        checker: b.checker,
    });
    if dropped {
        return;
    }
    // bfd_end_handler(): what the instance must have, and must not share.
    let name = &b.name;
    let Some(nbr) = b.neighbor_ip else {
        p.error(
            st,
            st.kw.col,
            DiagClass::Semantic,
            format!("BFD instance {name} has no {neighbor} address set, disabling instance"),
        );
        return;
    };
    if let Some(src) = b.source_ip.filter(|s| s.is_ipv4() != nbr.is_ipv4()) {
        p.error(
            st,
            st.kw.col,
            DiagClass::Semantic,
            format!(
                "BFD instance {name} source address {src} and {neighbor} address {nbr} are not of the same family, disabling instance"
            ),
        );
        return;
    }
    // find_bfd_by_addr(): the same neighbour, and the same source or either without one.
    let clash = cfg.bfd_instances.iter().any(|o| {
        o.neighbor_ip == Some(nbr)
            && (o.source_ip.is_none() || b.source_ip.is_none() || o.source_ip == b.source_ip)
    });
    if clash {
        let message = match b.source_ip {
            Some(src) => format!(
                "BFD instance {name} has duplicate source/{neighbor} address {src}/{nbr}, ignoring instance"
            ),
            None => format!(
                "BFD instance {name} has duplicate {neighbor} address {nbr}, ignoring instance"
            ),
        };
        p.error(st, st.kw.col, DiagClass::Semantic, message);
        return;
    }
    if b.max_hops > b.send_ttl() {
        p.error(
            st,
            st.kw.col,
            DiagClass::Note,
            format!("BFD instance {name}: max_hops exceeds ttl/hoplimit - setting to ttl/hoplimit"),
        );
        b.max_hops = b.send_ttl();
    }
    cfg.bfd_instances.push(b);
}

/// A `track_bfd {}` block of `owner` (a vrrp_instance or vrrp_sync_group), as
/// `alloc_track_bfd()` reads it: each BFD must be a `bfd_instance` the VRRP process
/// hears of, defined before it, and named once; `weight N [reverse|noreverse]`
/// overrides the instance's weight (the direction stays the instance's unless given).
/// What it refuses is reported and left out.
pub fn track_bfd_refs(
    p: &mut Parser<'_>,
    st: &Stmt,
    owner: &str,
    bfds: &[TrackedBfd],
) -> Vec<TrackRef> {
    use crate::config::DiagClass;
    let mut out: Vec<TrackRef> = Vec::new();
    for s in p.lines(st) {
        let name = s.kw.text.to_string();
        let fail = |p: &mut Parser<'_>, class, message: String| {
            p.error(&s, s.kw.col, class, message);
        };
        let Some(vtb) = bfds.iter().find(|b| b.name == name && b.to_vrrp()) else {
            fail(
                p,
                DiagClass::Semantic,
                format!("({owner}) track bfd {name} not found, ignoring..."),
            );
            continue;
        };
        if out.iter().any(|r| r.name == name) {
            fail(
                p,
                DiagClass::Semantic,
                format!("({owner}) duplicate track_bfd {name} - ignoring"),
            );
            continue;
        }
        let (mut weight, mut reverse) = (vtb.weight, vtb.weight_reverse);
        if let Some(option) = s.arg(0) {
            if option != "weight" {
                fail(
                    p,
                    DiagClass::Value,
                    format!("({owner}) unknown track bfd {name} option {option} - ignoring"),
                );
                continue;
            }
            let Some(value) = s.arg(1) else {
                fail(
                    p,
                    DiagClass::Value,
                    format!(
                        "({owner}) weight without value specified for track bfd {name} - ignoring"
                    ),
                );
                continue;
            };
            match crate::config::parser::parse_int(value).filter(|v| (-253..=253).contains(v)) {
                Some(v) => weight = v as i32,
                None => fail(
                    p,
                    DiagClass::Value,
                    format!("({owner}) weight for track bfd {name} must be in [-253..253] inclusive. Ignoring..."),
                ),
            }
            match s.arg(2) {
                Some("reverse") => reverse = true,
                Some("noreverse") => reverse = false,
                Some(o) => {
                    fail(
                        p,
                        DiagClass::Value,
                        format!("({owner}) unknown track bfd {name} weight option {o} - ignoring"),
                    );
                    continue;
                }
                None => {}
            }
            p.extra(&s, 3);
        }
        out.push(TrackRef {
            name,
            weight: Some(weight),
            reverse,
        });
    }
    out
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
        // `IFNAME DOWN_DELAY [UP_DELAY]`: without an up delay, coming up is not delayed
        // (alloc_if_up_down_delay()).
        let up = if s.args.len() > 1 {
            let Some(up) = p.timer(&s, 1, 0, 255 * SECOND) else {
                continue;
            };
            up
        } else {
            0
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

#[cfg(test)]
mod tests {
    use crate::config::model::{ParamMatch, TrackProcess};
    use crate::config::{parse_str, ParseOptions};

    /// The tracker `vrrp_track_process P { process sshd <lines> }` makes (if any), and the
    /// messages of the diagnostics that fail `-t`.
    fn process(lines: &str) -> (Option<TrackProcess>, Vec<String>) {
        let l = parse_str(
            &format!("vrrp_track_process P {{\n process sshd\n{lines}\n}}\n"),
            &ParseOptions::default(),
        );
        let errors = l
            .diagnostics
            .iter()
            .filter(|d| d.counts_as_error())
            .map(|d| d.message.clone())
            .collect();
        (l.config.track_processes.into_iter().next(), errors)
    }

    #[test]
    fn an_interface_with_one_delay_comes_up_at_once() {
        let l = parse_str(
            "interface_up_down_delays {\n eth0 2\n eth1 1.5 3\n}\n",
            &ParseOptions::default(),
        );
        let d: Vec<_> = l
            .config
            .interface_up_down_delays
            .iter()
            .map(|d| (d.interface.as_str(), d.down_us, d.up_us))
            .collect();
        assert_eq!(d, [("eth0", 2_000_000, 0), ("eth1", 1_500_000, 3_000_000)]);
    }

    fn ok(lines: &str) -> TrackProcess {
        let (t, e) = process(lines);
        assert!(e.is_empty(), "{lines}: {e:?}");
        t.expect("a tracker")
    }

    fn refused(lines: &str, what: &str) -> TrackProcess {
        let (t, e) = process(lines);
        assert!(e.iter().any(|m| m.contains(what)), "{lines}: {e:?}");
        t.expect("a tracker")
    }

    #[test]
    fn param_match_is_kept_as_written() {
        let t = ok("");
        assert_eq!((t.param_match, t.full_command), (None, false));
        assert_eq!(ok(" param_match").param_match, Some(ParamMatch::Exact));
        assert_eq!(
            ok(" param_match initial").param_match,
            Some(ParamMatch::Initial)
        );
        assert_eq!(
            ok(" param_match partial").param_match,
            Some(ParamMatch::Partial)
        );
        let t = refused(" param_match partial\n param_match whole", "'whole'");
        assert_eq!(
            t.param_match,
            Some(ParamMatch::Partial),
            "a bad type is ignored"
        );
        assert!(
            !ok(" param_match").full_command,
            "the model keeps the full_command keyword alone"
        );
    }

    #[test]
    fn a_second_process_is_ignored() {
        let t = refused(" process nginx -g x", "process already set");
        assert_eq!(t.process.as_deref(), Some("sshd"));
        assert!(t.parameters.is_empty());
    }

    #[test]
    fn quorum_max_zero_sets_quorum_zero_unless_quorum_is_above_one() {
        let t = ok(" quorum_max 0");
        assert_eq!((t.quorum, t.quorum_max), (0, Some(0)));
        let t = ok(" quorum 1\n quorum_max 0");
        assert_eq!((t.quorum, t.quorum_max), (0, Some(0)));
        let t = refused(" quorum 2\n quorum_max 0", "less than quorum");
        assert_eq!((t.quorum, t.quorum_max), (2, None));
        // A later non-zero quorum_max puts quorum back to 1; a quorum above it is refused.
        let t = ok(" quorum_max 0\n quorum_max 3");
        assert_eq!((t.quorum, t.quorum_max), (1, Some(3)));
        let t = refused(" quorum_max 0\n quorum 1", "greater than quorum_max");
        assert_eq!((t.quorum, t.quorum_max), (0, Some(0)));
    }

    #[test]
    fn quorum_and_quorum_max_are_checked_in_the_order_written() {
        let t = refused(" quorum_max 3\n quorum 5", "greater than quorum_max");
        assert_eq!((t.quorum, t.quorum_max), (1, Some(3)));
        let t = refused(" quorum 5\n quorum_max 3", "less than quorum");
        assert_eq!((t.quorum, t.quorum_max), (5, None));
        let t = ok(" quorum 3\n quorum_max 3");
        assert_eq!((t.quorum, t.quorum_max), (3, Some(3)));
        assert_eq!(refused(" quorum 0", "between 1 and 65535").quorum, 1);
        assert_eq!(refused(" quorum 65536", "between 1 and 65535").quorum, 1);
        assert_eq!(
            refused(" quorum_max 65536", "between 0 and 65535").quorum_max,
            None
        );
        assert_eq!(ok(" quorum_max 65535").quorum_max, Some(65535));
    }

    #[test]
    fn the_delay_written_last_counts() {
        let t = ok(" fork_delay 1\n delay 2");
        assert_eq!(
            (t.fork_delay_us, t.terminate_delay_us),
            (Some(2_000_000), Some(2_000_000))
        );
        let t = ok(" delay 2\n fork_delay 1");
        assert_eq!(
            (t.fork_delay_us, t.terminate_delay_us),
            (Some(1_000_000), Some(2_000_000))
        );
        let t = ok(" terminate_delay 0.5\n delay 2\n terminate_delay 3");
        assert_eq!(
            (t.fork_delay_us, t.terminate_delay_us),
            (Some(2_000_000), Some(3_000_000))
        );
        assert_eq!(ok(" delay 0.000001").fork_delay_us, Some(1));
        assert_eq!(ok(" delay 3600").terminate_delay_us, Some(3_600_000_000));
        for bad in [" delay 0", " fork_delay 0", " terminate_delay 3600.000001"] {
            let t = refused(bad, "between 0.000001 and 3600");
            assert_eq!(
                (t.fork_delay_us, t.terminate_delay_us),
                (None, None),
                "{bad}"
            );
        }
    }

    #[test]
    fn weight_is_set_once_and_reverse_stays() {
        let t = ok(" weight -254 reverse");
        assert_eq!((t.weight, t.weight_reverse), (-254, true));
        let t = refused(" weight 10\n weight 20", "weight already set");
        assert_eq!(t.weight, 10);
        // A weight of 0 is no weight yet, and its `reverse` stays.
        let t = ok(" weight 0 reverse\n weight 5");
        assert_eq!((t.weight, t.weight_reverse), (5, true));
        let t = refused(" weight 7 noreverse", "unknown weight option 'noreverse'");
        assert_eq!((t.weight, t.weight_reverse), (7, false));
        assert_eq!(refused(" weight 255", "between -254 and 254").weight, 0);
    }

    #[test]
    fn full_command_takes_no_value() {
        let (t, e) = process(" full_command off");
        assert!(e.is_empty(), "{e:?}");
        assert!(t.unwrap().full_command, "keepalived reads no word after it");
    }

    #[test]
    fn a_tracker_without_process_is_dropped() {
        let l = parse_str(
            "vrrp_track_process P {\n weight 2\n}\n",
            &ParseOptions::default(),
        );
        assert!(l.config.track_processes.is_empty());
        assert!(l
            .diagnostics
            .iter()
            .any(|d| d.message.contains("has no 'process'")));
    }
}
