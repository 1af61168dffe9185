//! Rule lines in iproute2 syntax, read as keepalived 2.2.7's `alloc_rule()`
//! (`keepalived/vrrp/vrrp_iprule.c`) reads them: one line is one statement whose keyword
//! is the first word. What keepalived reports as a config error is an error here (so `-t`
//! fails as keepalived's does); where keepalived drops the rule (`goto err`),
//! `parse_rule` returns None. An error keepalived steps over, keeping the rule with a
//! default (a given priority, protocol 18…), is of class [`DiagClass::Note`], which does
//! not refuse a reload.

use std::path::Path;

use super::iproute_names::{self as names, RoutingCtx};
use super::route::{dec, route_type};
use crate::config::diag::DiagClass;
use crate::config::model::*;
use crate::config::parser::{parse_prefix, Parser, Stmt};

/// `RULE_START_PRIORITY`: `alloc_rule()` gives a rule written without a priority the
/// next one down from this, per family, in the order the rules are read.
pub const RULE_START_PRIORITY: u32 = 16384;

/// FR_ACT_* actions.
pub const FR_ACT_TO_TBL: u8 = 1;
pub const FR_ACT_GOTO: u8 = 2;
pub const FR_ACT_NOP: u8 = 3;
pub const FR_ACT_BLACKHOLE: u8 = 6;
pub const FR_ACT_UNREACHABLE: u8 = 7;
pub const FR_ACT_PROHIBIT: u8 = 8;

/// `[not] [from P] [to P] [table T|lookup T] [iif IF] [oif IF] [fwmark M[/MASK]]
/// [priority N] …`. `given` counts, per family (IPv4, IPv6), the priorities already given
/// to rules read before this one.
pub fn parse_rule(p: &mut Parser<'_>, s: &Stmt, ctx: &RoutingCtx, given: [u32; 2]) -> Option<Rule> {
    let dirs = &ctx.dirs;
    let fs = p.lexer().fs();
    let words: Vec<(&str, u32)> = std::iter::once((s.kw(), s.kw.col))
        .chain(s.args.iter().map(|t| (t.text.as_str(), t.col)))
        .collect();
    let mut r = Rule::default();
    let mut family: Option<bool> = None;
    let mut table_option = false;
    let mut i = 0;
    macro_rules! fail {
        ($col:expr, $($msg:tt)*) => {{
            p.error(s, $col, DiagClass::Value, format!($($msg)*));
            return None;
        }};
    }
    // An error keepalived reports and steps over, keeping the rule.
    macro_rules! report {
        ($col:expr, $($msg:tt)*) => {
            p.error(s, $col, DiagClass::Note, format!($($msg)*))
        };
    }
    macro_rules! set_action {
        ($a:expr, $col:expr) => {{
            if r.action != 0 {
                fail!(
                    $col,
                    "Cannot specify more than one of table/nop/goto/blackhole/prohibit/unreachable/l3mdev for rule"
                );
            }
            r.action = $a;
        }};
    }
    while i < words.len() {
        let (w, col) = words[i];
        macro_rules! value {
            () => {{
                i += 1;
                match words.get(i) {
                    Some(&(v, _)) => v,
                    None => fail!(col, "rule option '{w}' needs a value"),
                }
            }};
        }
        match w {
            "inet6" | "inet" => {
                let v6 = w == "inet6";
                if family.is_some_and(|f| f != v6) {
                    fail!(col, "{w} specified for IPv{} rule", if v6 { 4 } else { 6 });
                }
                family = Some(v6);
            }
            "from" | "to" => {
                let v = value!();
                let pfx = match v {
                    "default" | "any" | "all" => None,
                    _ => match parse_prefix(v) {
                        Some(pfx) => {
                            if family.is_some_and(|f| f != pfx.address.is_ipv6()) {
                                fail!(col, "rule specification has mixed IPv4 and IPv6");
                            }
                            family = Some(pfx.address.is_ipv6());
                            Some(pfx)
                        }
                        None => fail!(col, "Invalid rule {w} address {v}"),
                    },
                };
                if w == "from" {
                    r.from = pfx;
                } else {
                    r.to = pfx;
                }
            }
            "table" | "lookup" => {
                let v = value!();
                match names::find(fs, dirs, names::TABLES, v) {
                    Some(0) => fail!(col, "Table 0 is not valid"),
                    Some(t) => r.table = Some(t),
                    None => fail!(col, "Routing table {v} not found for rule"),
                }
                set_action!(FR_ACT_TO_TBL, col);
            }
            "not" => r.invert = true,
            "preference" | "order" | "priority" => {
                let v = value!();
                match names::strtoul0(v).and_then(|n| u32::try_from(n).ok()) {
                    Some(n) => r.priority = Some(n),
                    None => fail!(col, "Invalid rule preference {w} specified"),
                }
            }
            "tos" | "dsfield" => {
                let v = value!();
                match names::find(fs, dirs, names::DSFIELD, v) {
                    Some(t) => r.tos = t as u8,
                    None => fail!(col, "TOS value {v} is invalid"),
                }
            }
            "fwmark" => {
                let v = value!();
                let (m, mask) = match v.split_once('/') {
                    Some((m, k)) => (m, Some(k)),
                    None => (v, None),
                };
                let num = |x: &str| names::strtoul0(x).and_then(|n| u32::try_from(n).ok());
                match (num(m), mask.map(num)) {
                    (Some(m), None) => r.fwmark = Some(m),
                    (Some(m), Some(Some(k))) => {
                        r.fwmark = Some(m);
                        r.fwmask = Some(k);
                    }
                    _ => fail!(col, "Invalid rule fwmark {v} specified"),
                }
            }
            "realms" => {
                let v = value!();
                let Some(n) = names::realms(fs, dirs, v) else {
                    fail!(col, "invalid realms {v} for rule")
                };
                r.realms = Some(n);
                table_option = true;
                if family == Some(true) {
                    fail!(col, "realms is only valid for IPv4");
                }
                family = Some(false);
            }
            "suppress_prefixlength" | "sup_pl" => {
                let v = value!();
                match dec(v, i32::MAX as u64) {
                    Some(n) => r.suppress_prefixlength = Some(n),
                    None => fail!(col, "Invalid suppress_prefixlength {w} specified"),
                }
                table_option = true;
            }
            "suppress_ifgroup" | "sup_group" => {
                let v = value!();
                match names::find(fs, dirs, names::GROUPS, v) {
                    Some(n) => r.suppress_ifgroup = Some(n),
                    None => fail!(col, "suppress_group {v} is invalid"),
                }
                table_option = true;
            }
            "dev" | "iif" => r.iif = Some(value!().to_string()),
            "oif" => r.oif = Some(value!().to_string()),
            "tunnel-id" => {
                let v = value!();
                match v
                    .parse::<u64>()
                    .ok()
                    .filter(|_| v.bytes().all(|b| b.is_ascii_digit()))
                {
                    Some(n) => r.tunnel_id = Some(n),
                    None => fail!(col, "Invalid tunnel-id {w} specified"),
                }
            }
            "uidrange" => {
                let v = value!();
                match v
                    .split_once('-')
                    .and_then(|(a, b)| Some((scan_u32(a)?, scan_u32(b)?)))
                {
                    Some(range) => r.uidrange = Some(range),
                    None => fail!(col, "Invalid uidrange {w} specified"),
                }
            }
            "l3mdev" => {
                r.l3mdev = true;
                if r.action != 0 {
                    fail!(col, "Cannot specify l3mdev with other action");
                }
                r.action = FR_ACT_TO_TBL;
            }
            "protocol" => {
                // read_unsigned_strvec(): a number only, not an rt_protos name.
                let v = value!();
                match dec(v, 255) {
                    Some(n) => r.protocol = Some(n as u8),
                    None => report!(col, "Invalid protocol {v}"),
                }
            }
            "ipproto" => {
                let v = value!();
                match ip_protocol(p, v) {
                    Some(n) => r.ipproto = Some(n),
                    None => report!(col, "Invalid ipproto {v}"),
                }
            }
            "sport" | "dport" => {
                // sscanf("%hu-%hu") must find two numbers: a single port is reported
                // and the option left out.
                let v = value!();
                match v
                    .split_once('-')
                    .and_then(|(a, b)| Some((scan_u16(a)?, scan_u16(b)?)))
                {
                    Some(range) if w == "sport" => r.sport = Some(range),
                    Some(range) => r.dport = Some(range),
                    None => report!(col, "invalid {w} range {v}"),
                }
            }
            "no_track" => r.no_track = true,
            "track_group" if ctx.statics => {
                let v = value!();
                if r.track_group.is_some() {
                    report!(col, "track_group {v} is a duplicate");
                    break;
                }
                r.track_group = Some(v.to_string());
            }
            _ => {
                let word = if w == "type" { value!() } else { w };
                let action = match word {
                    "goto" => {
                        let v = value!();
                        match dec(v, u64::from(u32::MAX)) {
                            Some(n) => r.goto = Some(n),
                            None => fail!(col, "Invalid target {word} specified"),
                        }
                        FR_ACT_GOTO
                    }
                    "nop" => FR_ACT_NOP,
                    _ => match route_type(word) {
                        Some(6) => FR_ACT_BLACKHOLE,
                        Some(7) => FR_ACT_UNREACHABLE,
                        Some(8) => FR_ACT_PROHIBIT,
                        Some(_) => fail!(col, "Invalid rule action {word}"),
                        None => fail!(col, "Unknown rule option {word}"),
                    },
                };
                set_action!(action, col);
            }
        }
        i += 1;
    }
    let col = s.kw.col;
    if r.action == FR_ACT_GOTO {
        match (r.priority, r.goto) {
            (Some(pr), Some(t)) if pr >= t => {
                fail!(col, "Invalid rule - preference {pr} >= goto target {t}")
            }
            (None, Some(t)) => {
                fail!(
                    col,
                    "Invalid rule - goto target {t} specified without preference"
                )
            }
            _ => {}
        }
    }
    if r.action == 0 {
        fail!(col, "No action specified for rule - ignoring");
    }
    if r.action != FR_ACT_TO_TBL && table_option {
        fail!(
            col,
            "suppressor/realm specified for non table action - skipping"
        );
    }
    if r.table.is_some() && r.l3mdev {
        fail!(col, "table cannot be specified for l3mdev rules");
    }
    // A tracked rule is installed with RTPROT_KEEPALIVED whatever it says.
    if !r.no_track {
        if r.protocol.is_some_and(|p| p != 18) {
            report!(
                col,
                "Rule cannot be tracked if protocol is not RTPROT_KEEPALIVED(18), resetting protocol"
            );
        }
        r.protocol = Some(18);
    }
    if r.track_group.is_some() && r.iif.is_none() {
        report!(
            col,
            "Static rule cannot have track_group if dev/iif not specified"
        );
        r.track_group = None;
    }
    let v6 = family.unwrap_or(false);
    r.family_v6 = Some(v6);
    if r.priority.is_none() {
        let n = RULE_START_PRIORITY - given[usize::from(v6)];
        r.priority = Some(n);
        r.auto_priority = PriorityGiven(true);
        report!(
            col,
            "Rule has no preference specified - setting to {n}. This is probably not what you want."
        );
    }
    Some(r)
}

/// How many priorities `alloc_rule()` has given, per family, among `rules`.
pub fn given_priorities<'r>(rules: impl IntoIterator<Item = &'r Rule>) -> [u32; 2] {
    let mut n = [0, 0];
    for r in rules.into_iter().filter(|r| r.auto_priority.0) {
        n[usize::from(r.family_v6 == Some(true))] += 1;
    }
    n
}

/// `sscanf("%u")`: leading digits (an optional `+`), the rest ignored.
fn scan_u32(s: &str) -> Option<u32> {
    let s = s.trim_start();
    let s = s.strip_prefix('+').unwrap_or(s);
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    s[..end].parse::<u64>().ok().map(|v| v as u32)
}

/// `sscanf("%hu")`.
fn scan_u16(s: &str) -> Option<u16> {
    let s = s.trim_start();
    let s = s.strip_prefix('+').unwrap_or(s);
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    s[..end].parse::<u64>().ok().map(|v| v as u16)
}

/// `inet_proto_a2n()`: a number up to 127, or a name in /etc/protocols (getprotobyname()).
fn ip_protocol(p: &mut Parser<'_>, v: &str) -> Option<u8> {
    if v.is_empty() || v.starts_with('-') {
        return None;
    }
    let end = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let n: u64 = if end == 0 { 0 } else { v[..end].parse().ok()? };
    if n > 127 {
        return None;
    }
    if end == v.len() {
        return Some(n as u8);
    }
    let text = p
        .lexer()
        .fs()
        .read_to_string(Path::new("/etc/protocols"))
        .ok()?;
    text.lines().find_map(|line| {
        let line = line.split('#').next().unwrap_or("");
        let mut words = line.split_whitespace();
        let name = words.next()?;
        let num: u8 = words.next()?.parse().ok()?;
        (name == v || words.any(|a| a == v)).then_some(num)
    })
}
