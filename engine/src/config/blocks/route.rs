//! Route lines in iproute2 syntax, read as keepalived 2.2.7's `alloc_route()` and
//! `parse_nexthops()` (`keepalived/vrrp/vrrp_iproute.c`) read them: one line is one
//! statement whose keyword is the first word. What keepalived reports as a config error
//! is an error here (so `-t` fails as keepalived's does); where keepalived drops the route
//! (`goto err`), `parse_route` returns None. An error keepalived steps over, keeping the
//! route with a default (not tracked, protocol 18…), is of class [`DiagClass::Note`],
//! which does not refuse a reload.

use super::iproute_names::{self as names, IprouteDirs, RoutingCtx};
use crate::config::diag::DiagClass;
use crate::config::model::*;
use crate::config::parser::{parse_ip, parse_prefix, Parser, Stmt};

/// `rtntypes[]` of `lib/rttables.c` (`find_rttables_rtntype()`): a name, or a number up to 255.
pub(crate) fn route_type(s: &str) -> Option<u8> {
    Some(match s {
        "unicast" => 1,
        "local" => 2,
        "broadcast" | "brd" => 3,
        "anycast" => 4,
        "multicast" => 5,
        "blackhole" => 6,
        "unreachable" => 7,
        "prohibit" => 8,
        "throw" => 9,
        "nat" => 10,
        "xresolve" => 11,
        _ => return u8::try_from(names::strtoul0(s)?).ok(),
    })
}

/// `read_unsigned()` (base 10, no sign) up to `max`.
pub(crate) fn dec(s: &str, max: u64) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<u64>()
        .ok()
        .filter(|&v| v <= max)
        .and_then(|v| u32::try_from(v).ok())
}

/// `get_time_rtt()`: a raw kernel value, or a time with `s`/`sec`/`secs`/`ms`… in units
/// of 1/`mult` ms, held to 0.2 s – 120 s.
fn time_rtt(s: &str, mult: u64) -> Option<u32> {
    let lower = s.to_ascii_lowercase();
    let (num, scale, raw) = match lower.find('s') {
        Some(at) => {
            if !matches!(&lower[at..], "s" | "sec" | "secs") {
                return None;
            }
            if lower[..at].ends_with('m') {
                (&s[..at - 1], 0u32, false)
            } else {
                (&s[..at], 3, false)
            }
        }
        None => (s, 0, true),
    };
    if num.is_empty() || num.contains(['e', 'E']) {
        return None;
    }
    // read_decimal_unsigned(): up to `scale` decimal places (more are rounded, with an
    // error keepalived reports but goes on from).
    let (int, frac) = num.split_once('.').unwrap_or((num, ""));
    if !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut digits = int.to_string();
    let kept = frac.len().min(scale as usize);
    digits.push_str(&frac[..kept]);
    digits.extend(std::iter::repeat_n('0', scale as usize - kept));
    let mut v: u64 = digits.parse().ok()?;
    if frac.len() > kept && frac.as_bytes()[kept] >= b'5' {
        v += 1;
    }
    if v > 120_000 * mult {
        return None;
    }
    if !raw {
        v *= mult;
    }
    Some(v.clamp(200 * mult, 120_000 * mult) as u32)
}

/// `[type] PREFIX|default [src IP] [via IP] [dev IF] [scope S] [table T] [metric N] …
/// [nexthop via IP dev IF weight N onlink …]…`.
pub fn parse_route(p: &mut Parser<'_>, s: &Stmt, ctx: &RoutingCtx) -> Option<Route> {
    let dirs = &ctx.dirs;
    let fs = p.lexer().fs();
    let words: Vec<(&str, u32)> = std::iter::once((s.kw(), s.kw.col))
        .chain(s.args.iter().map(|t| (t.text.as_str(), t.col)))
        .collect();
    let mut r = Route::default();
    // AF_UNSPEC until an address or option sets it.
    let mut family: Option<bool> = None;
    let mut have_dest = false;
    let mut dest_text: Option<&str> = None;
    let mut i = 0;
    macro_rules! fail {
        ($col:expr, $($msg:tt)*) => {{
            p.error(s, $col, DiagClass::Value, format!($($msg)*));
            return None;
        }};
    }
    macro_rules! set_family {
        ($v6:expr, $col:expr) => {{
            let v6: bool = $v6;
            match family {
                None => family = Some(v6),
                Some(f) if f != v6 => fail!($col, "Cannot mix IPv4 and IPv6 addresses for route"),
                _ => {}
            }
        }};
    }
    while i < words.len() {
        let (w, col) = words[i];
        // strvec_slot(strvec, ++i): the value after the option.
        macro_rules! value {
            () => {{
                i += 1;
                match words.get(i) {
                    Some(&(v, _)) => v,
                    None => fail!(col, "route option '{w}' needs a value"),
                }
            }};
        }
        // The metrics that take `lock` before their value.
        macro_rules! locked {
            ($bit:expr) => {{
                let mut v = value!();
                if v == "lock" {
                    r.metrics.lock |= 1 << $bit;
                    v = value!();
                }
                v
            }};
        }
        macro_rules! u32_of {
            ($v:expr, $what:expr) => {{
                let v = $v;
                match dec(v, u64::from(u32::MAX)) {
                    Some(n) => n,
                    None => fail!(col, "Invalid {} {v} specified for route", $what),
                }
            }};
        }
        match w {
            "inet6" | "inet" => set_family!(w == "inet6", col),
            "src" => {
                let v = value!();
                let Some(a) = parse_ip(v) else {
                    fail!(col, "invalid route src address {v}")
                };
                set_family!(a.is_ipv6(), col);
                r.src = Some(a);
            }
            "as" => {
                if words.get(i + 1).map(|x| x.0) == Some("to") {
                    i += 1;
                }
                i += 1;
                p.error(
                    s,
                    col,
                    DiagClass::Note,
                    "\"as to\" for MPLS only - ignoring".into(),
                );
            }
            "via" | "gw" => {
                if w == "gw" {
                    p.error(
                        s,
                        col,
                        DiagClass::Note,
                        "\"gw\" for routes is deprecated. Please use \"via\"".into(),
                    );
                }
                let mut v = value!();
                if v == "inet" || v == "inet6" {
                    set_family!(v == "inet6", col);
                    v = value!();
                }
                let Some(a) = parse_ip(v) else {
                    fail!(col, "invalid route via address {v}")
                };
                set_family!(a.is_ipv6(), col);
                r.via = Some(a);
            }
            "from" => {
                let v = value!();
                let Some(pfx) = parse_prefix(v) else {
                    fail!(col, "invalid route from address {v}")
                };
                if !pfx.address.is_ipv6() {
                    fail!(col, "route from address only supported with IPv6 ({v})");
                }
                set_family!(true, col);
                r.from = Some(pfx);
            }
            "tos" | "dsfield" => {
                let v = value!();
                match names::find(fs, dirs, names::DSFIELD, v) {
                    Some(t) => r.tos = Some(t as u8),
                    None => fail!(col, "TOS value {v} is invalid"),
                }
            }
            "table" => {
                let v = value!();
                match names::find(fs, dirs, names::TABLES, v) {
                    Some(t) => r.table = (t != 254).then_some(t),
                    None => fail!(col, "Routing table {v} not found for route"),
                }
            }
            "protocol" => {
                let v = value!();
                match names::find(fs, dirs, names::PROTOS, v) {
                    Some(t) => r.protocol = Some(t as u8),
                    None => fail!(col, "Protocol {v} not found or invalid for route"),
                }
            }
            "scope" => {
                let v = value!();
                match names::find(fs, dirs, names::SCOPES, v) {
                    // route_exist() compares the scope, RT_SCOPE_UNIVERSE unless written:
                    // `scope global` is the same route as none.
                    Some(t) => r.scope = (t != 0).then_some(t as u8),
                    None => fail!(col, "Scope {v} not found or invalid for route"),
                }
            }
            "metric" | "priority" | "preference" => r.metric = Some(u32_of!(value!(), "metric")),
            "dev" | "oif" => r.dev = Some(value!().to_string()),
            "onlink" => r.onlink = true,
            "encap" => r.encap = Some(Box::new(encap(p, s, &words, &mut i, dirs)?)),
            "expires" => {
                let v = value!();
                if family == Some(false) {
                    fail!(col, "expires is only valid for IPv6");
                }
                family = Some(true);
                r.expires = Some(u32_of!(v, "expires time"));
            }
            "mtu" => r.metrics.mtu = Some(u32_of!(locked!(RTAX_MTU), "MTU")),
            "hoplimit" => {
                let v = value!();
                match dec(v, 255) {
                    Some(n) => r.metrics.hoplimit = Some(n),
                    None => fail!(col, "Invalid hoplimit {v} specified for route"),
                }
            }
            "advmss" => r.metrics.advmss = Some(u32_of!(locked!(RTAX_ADVMSS), "advmss")),
            "rtt" | "rttvar" | "rto_min" => {
                let (bit, mult) = match w {
                    "rtt" => (RTAX_RTT, 8),
                    "rttvar" => (RTAX_RTTVAR, 4),
                    _ => (RTAX_RTO_MIN, 1),
                };
                let v = locked!(bit);
                let Some(n) = time_rtt(v, mult) else {
                    fail!(col, "Invalid {w} {v} for route")
                };
                match w {
                    "rtt" => r.metrics.rtt = Some(n),
                    "rttvar" => r.metrics.rttvar = Some(n),
                    _ => r.metrics.rto_min = Some(n),
                }
            }
            "reordering" => {
                r.metrics.reordering = Some(u32_of!(locked!(RTAX_REORDERING), "reordering value"))
            }
            "window" => r.metrics.window = Some(u32_of!(value!(), "window value")),
            "cwnd" => r.metrics.cwnd = Some(u32_of!(locked!(RTAX_CWND), "cwnd value")),
            "ssthresh" => {
                r.metrics.ssthresh = Some(u32_of!(locked!(RTAX_SSTHRESH), "ssthresh value"))
            }
            "realms" => {
                let v = value!();
                let Some(n) = names::realms(fs, dirs, v) else {
                    fail!(col, "Invalid realms {v} for route")
                };
                if family == Some(true) {
                    fail!(col, "realms are only valid for IPv4");
                }
                family = Some(false);
                r.realms = Some(n);
            }
            "initcwnd" => r.metrics.initcwnd = Some(u32_of!(value!(), "initcwnd value")),
            "initrwnd" => r.metrics.initrwnd = Some(u32_of!(value!(), "initrwnd value")),
            "features" => {
                let v = value!();
                if v == "ecn" {
                    r.metrics.features |= 1;
                } else {
                    p.error(
                        s,
                        col,
                        DiagClass::Note,
                        format!("feature {v} not supported"),
                    );
                }
            }
            "quickack" | "fastopen_no_cookie" => {
                let v = value!();
                let Some(n) = dec(v, 1) else {
                    fail!(col, "Invalid {w} value {v} specified for route")
                };
                if w == "quickack" {
                    r.metrics.quickack = Some(n);
                } else {
                    r.metrics.fastopen_no_cookie = Some(n);
                }
            }
            "congctl" => r.metrics.congctl = Some(locked!(RTAX_CC_ALGO).to_string()),
            "pref" => {
                let v = value!();
                if family == Some(false) {
                    fail!(col, "pref is only valid for IPv6");
                }
                family = Some(true);
                r.pref = Some(match v {
                    "low" => 3,
                    "medium" => 0,
                    "high" => 1,
                    _ => match dec(v, 255) {
                        Some(n) => n as u8,
                        None => fail!(col, "Invalid pref value {v} specified for route"),
                    },
                });
            }
            "ttl-propagate" => {
                let v = value!();
                match v {
                    "enabled" => r.ttl_propagate = Some(1),
                    "disabled" => r.ttl_propagate = Some(0),
                    _ => {
                        // keepalived reports the value and still sends 0.
                        p.error(
                            s,
                            col,
                            DiagClass::Note,
                            format!("ttl-propagate value {v} not recognised"),
                        );
                        r.ttl_propagate = Some(0);
                    }
                }
            }
            "add" => r.mode = RouteMode::Add,
            "prepend" => r.mode = RouteMode::Prepend,
            "append" => r.mode = RouteMode::Append,
            "or" => {
                p.error(
                    s,
                    col,
                    DiagClass::Note,
                    "\"or\" for routes is deprecated. Please use \"nexthop\"".into(),
                );
                let v = value!();
                if !r.nexthops.is_empty() {
                    p.error(
                        s,
                        col,
                        DiagClass::Note,
                        "\"or\" route already specified - ignoring subsequent".into(),
                    );
                } else {
                    let Some(a) = parse_ip(v) else {
                        fail!(col, "Invalid \"or\" address {v}")
                    };
                    r.nexthops.push(Nexthop {
                        via: r.via.take(),
                        ..Nexthop::default()
                    });
                    r.nexthops.push(Nexthop {
                        via: Some(a),
                        ..Nexthop::default()
                    });
                }
            }
            "nexthop" => {
                // keepalived reports this and then the rest of the line as trailing
                // nonsense, which drops the route.
                if !r.nexthops.is_empty() {
                    fail!(col, "Cannot specify nexthops with \"or\" route");
                }
                i = nexthops(p, s, &words, i, &mut r, &mut family, dirs)?;
                continue;
            }
            "no_track" => r.no_track = true,
            "track_group" if ctx.statics => {
                let v = value!();
                // Reported, and the rest of the line is trailing nonsense: dropped.
                if r.track_group.is_some() {
                    fail!(col, "track_group {v} is a duplicate");
                }
                r.track_group = Some(v.to_string());
            }
            "vrf" => fail!(col, "route option 'vrf' is not supported by keepalived-rs"),
            _ => {
                // `to PREFIX` or `[TYPE] PREFIX`: the type is looked for in the word
                // itself, so none can follow `to`.
                let mut at = i;
                if w == "to" {
                    at += 1;
                } else if let Some(t) = route_type(w) {
                    // route_exist() compares the type, RTN_UNICAST unless written.
                    r.route_type = (t != 1).then_some(t);
                    at += 1;
                }
                let dest = words.get(at).map(|x| x.0).unwrap_or("");
                i = at;
                let pfx = match dest {
                    "default" | "any" | "all" => None,
                    "default6" => {
                        set_family!(true, col);
                        None
                    }
                    d => match parse_prefix(d) {
                        Some(pfx) => {
                            set_family!(pfx.address.is_ipv6(), col);
                            Some(pfx)
                        }
                        None => fail!(col, "unknown route keyword {d}"),
                    },
                };
                r.to = pfx;
                dest_text = Some(dest);
                have_dest = true;
            }
        }
        i += 1;
    }
    if !have_dest {
        fail!(s.kw.col, "Route must have a destination");
    }
    // A tracked route is installed with RTPROT_KEEPALIVED whatever it says.
    if !r.no_track {
        if r.protocol.is_some_and(|p| p != 18) {
            p.error(
                s,
                s.kw.col,
                DiagClass::Note,
                "Route cannot be tracked if protocol is not RTPROT_KEEPALIVED(18), resetting protocol".into(),
            );
        }
        r.protocol = Some(18);
        if r.dev.is_none() {
            p.error(
                s,
                s.kw.col,
                DiagClass::Note,
                format!(
                    "Warning - cannot track route {} with no interface specified, not tracking",
                    dest_text.unwrap_or("")
                ),
            );
            r.no_track = true;
        }
    }
    if r.track_group.is_some() && r.dev.is_none() {
        p.error(
            s,
            s.kw.col,
            DiagClass::Note,
            "Static route cannot have track group if no oif specified".into(),
        );
        r.track_group = None;
    }
    r.family_v6 = family.unwrap_or(false);
    Some(r)
}

/// `parse_encap()`: `encap mpls LABEL[/LABEL…] | ip|ip6 [id N] [dst IP] [src IP] [tos|tc
/// T] [ttl|hoplimit N] [flags N] | ila LOCATOR`, `*i` at `encap`; leaves `*i` at the last
/// word taken. keepalived reports a bad value and keeps the route with what is left of the
/// encapsulation; here the route is dropped.
fn encap(
    p: &mut Parser<'_>,
    s: &Stmt,
    words: &[(&str, u32)],
    i: &mut usize,
    dirs: &IprouteDirs,
) -> Option<Encap> {
    let fs = p.lexer().fs();
    let col = words[*i].1;
    let mut e = Encap::default();
    let bad = |p: &mut Parser<'_>, msg: String| {
        p.error(s, col, DiagClass::Value, msg);
        None::<Encap>
    };
    *i += 1;
    let Some(&(kind, _)) = words.get(*i) else {
        return bad(p, "Missing encap type".into());
    };
    match kind {
        "mpls" => {
            e.kind = 1;
            *i += 1;
            let Some(&(v, _)) = words.get(*i) else {
                return bad(p, "missing address for MPLS encapsulation".into());
            };
            // parse_mpls_address(): up to 16 labels of 20 bits, `/` between them.
            let labels: Option<Vec<u32>> = v
                .split('/')
                .map(|l| {
                    names::strtoul0(l)
                        .and_then(|n| u32::try_from(n).ok())
                        .filter(|&n| n < 1 << 20)
                })
                .collect();
            match labels.filter(|l| l.len() <= 16) {
                Some(l) => e.labels = l,
                None => return bad(p, format!("invalid mpls address {v} for encapsulation")),
            }
        }
        "ila" => {
            e.kind = 3;
            *i += 1;
            let Some(&(v, _)) = words.get(*i) else {
                return bad(p, "missing locator for ILA encapsulation".into());
            };
            // get_addr64(): four groups of up to four hex digits, `:` between them.
            let groups: Vec<&str> = v.split(':').collect();
            let parsed: Option<Vec<u64>> = groups
                .iter()
                .map(|g| {
                    (!g.is_empty() && g.len() <= 4)
                        .then(|| u64::from_str_radix(g, 16).ok())
                        .flatten()
                })
                .collect();
            match parsed.filter(|g| g.len() == 4) {
                Some(g) => e.locator = g.iter().fold(0, |acc, x| acc << 16 | x),
                None => return bad(p, format!("invalid locator {v} for ila encapsulation")),
            }
        }
        "ip" | "ip6" => {
            let v6 = kind == "ip6";
            e.kind = if v6 { 4 } else { 2 };
            *i += 1;
            // Pairs of words while the first is one of the encapsulation's.
            while let (Some(&(k, _)), Some(&(v, _))) = (words.get(*i), words.get(*i + 1)) {
                let (tos_kw, ttl_kw) = if v6 {
                    ("tc", "hoplimit")
                } else {
                    ("tos", "ttl")
                };
                match k {
                    "id" => match v.parse::<u64>() {
                        Ok(n) if v.bytes().all(|b| b.is_ascii_digit()) => e.id = Some(n),
                        _ => return bad(p, format!("encap id {v} value is invalid")),
                    },
                    "dst" | "src" => {
                        let a = match parse_ip(v) {
                            Some(a) if a.is_ipv6() == v6 => a,
                            _ => return bad(p, format!("Invalid encap {kind} {k} {v}")),
                        };
                        if k == "dst" {
                            e.dst = Some(a);
                        } else {
                            e.src = Some(a);
                        }
                    }
                    _ if k == tos_kw => match names::find(fs, dirs, names::DSFIELD, v) {
                        Some(t) => e.tos = Some(t as u8),
                        None => {
                            return bad(p, format!("{k} {v} not valid for {kind} encapsulation"))
                        }
                    },
                    _ if k == ttl_kw => match dec(v, 255) {
                        Some(t) => e.ttl = Some(t as u8),
                        None => {
                            return bad(p, format!("{k} {v} is not valid for {kind} encapsulation"))
                        }
                    },
                    "flags" => match dec(v, 65535) {
                        Some(f) => e.flags = Some(f as u16),
                        None => {
                            return bad(
                                p,
                                format!("flags {v} is not valid for {kind} encapsulation"),
                            )
                        }
                    },
                    _ => break,
                }
                *i += 2;
            }
            if e.dst.is_none() && e.id.is_none() {
                return bad(p, format!("address or id missing for {kind} encapsulation"));
            }
            // The last word taken.
            *i -= 1;
        }
        _ => return bad(p, format!("Unknown encap type - {kind}")),
    }
    Some(e)
}

/// `parse_nexthops()`: `nexthop [via [inet|inet6] IP] [dev IF] [weight 1-256] [onlink]
/// [realms R]`, repeated, to the end of the line. Returns the index after them.
fn nexthops(
    p: &mut Parser<'_>,
    s: &Stmt,
    words: &[(&str, u32)],
    mut i: usize,
    r: &mut Route,
    family: &mut Option<bool>,
    dirs: &IprouteDirs,
) -> Option<usize> {
    let fs = p.lexer().fs();
    let value = |p: &mut Parser<'_>, i: usize, col: u32| -> Option<&str> {
        let v = words.get(i).map(|x| x.0);
        if v.is_none() {
            p.error(
                s,
                col,
                DiagClass::Value,
                "nexthop option needs a value".into(),
            );
        }
        v
    };
    while words.get(i).map(|x| x.0) == Some("nexthop") {
        i += 1;
        let mut nh = Nexthop::default();
        while let Some(&(w, col)) = words.get(i) {
            match w {
                "via" => {
                    i += 1;
                    let mut v = value(p, i, col)?;
                    if v == "inet" || v == "inet6" {
                        let v6 = v == "inet6";
                        if family.is_some_and(|f| f != v6) {
                            p.error(
                                s,
                                col,
                                DiagClass::Value,
                                "IPv4/6 mismatch for nexthop".into(),
                            );
                            return None;
                        }
                        *family = Some(v6);
                        i += 1;
                        v = value(p, i, col)?;
                    }
                    let Some(a) = parse_ip(v) else {
                        p.error(
                            s,
                            col,
                            DiagClass::Value,
                            format!("invalid nexthop address {v}"),
                        );
                        return None;
                    };
                    if family.is_some_and(|f| f != a.is_ipv6()) {
                        p.error(
                            s,
                            col,
                            DiagClass::Value,
                            "Address family mismatch for next hop".into(),
                        );
                        return None;
                    }
                    *family = Some(a.is_ipv6());
                    nh.via = Some(a);
                }
                "dev" => {
                    i += 1;
                    nh.dev = Some(value(p, i, col)?.to_string());
                }
                "weight" => {
                    i += 1;
                    let v = value(p, i, col)?;
                    match dec(v, 256).filter(|&n| n > 0) {
                        Some(n) => nh.weight = Some(n),
                        None => {
                            p.error(
                                s,
                                col,
                                DiagClass::Value,
                                format!("Invalid weight {v} specified for route"),
                            );
                            return None;
                        }
                    }
                }
                "onlink" => nh.onlink = true,
                "realms" => {
                    i += 1;
                    let v = value(p, i, col)?;
                    let Some(n) = names::realms(fs, dirs, v) else {
                        p.error(
                            s,
                            col,
                            DiagClass::Value,
                            format!("Invalid realms {v} for route"),
                        );
                        return None;
                    };
                    if *family == Some(true) {
                        p.error(
                            s,
                            col,
                            DiagClass::Value,
                            "realms are only supported for IPv4".into(),
                        );
                        return None;
                    }
                    *family = Some(false);
                    nh.realms = Some(n);
                }
                "encap" => nh.encap = Some(Box::new(encap(p, s, words, &mut i, dirs)?)),
                "as" => {
                    p.error(
                        s,
                        col,
                        DiagClass::Value,
                        "'as [to]' (nat) not supported".into(),
                    );
                    return None;
                }
                _ => break,
            }
            i += 1;
        }
        r.nexthops.push(nh);
    }
    if let Some(&(w, col)) = words.get(i) {
        p.error(
            s,
            col,
            DiagClass::Value,
            format!("Route has trailing nonsense after nexthops - {w}"),
        );
        return None;
    }
    Some(i)
}

#[cfg(test)]
mod tests {
    use crate::config::model::{Route, RouteMode, Rule};
    use crate::config::source::MemFs;
    use crate::config::{load, ParseOptions};
    use std::path::Path;

    /// The static routes and rules of `body`, with the messages, an rt_tables naming
    /// table 100 `vip` and an rt_realms naming realm 7 `r7`.
    pub(crate) fn read(body: &str) -> (Vec<Route>, Vec<Rule>, Vec<String>) {
        let fs = MemFs::new()
            .with("/k.conf", body)
            .with("/etc/iproute2/rt_tables", "254 main\n100 vip\n")
            .with("/etc/iproute2/rt_realms", "7 r7\n")
            .with("/etc/iproute2/rt_dsfield", "0x28 AF11\n")
            .with("/etc/protocols", "tcp 6 TCP\nudp 17 UDP\n");
        let loaded = load(&fs, Path::new("/k.conf"), &ParseOptions::default());
        let diags = loaded.diagnostics.iter().map(|d| d.to_string()).collect();
        (
            loaded.config.static_routes,
            loaded.config.static_rules,
            diags,
        )
    }

    fn routes(lines: &str) -> (Vec<Route>, Vec<String>) {
        let (r, _, d) = read(&format!("static_routes {{\n{lines}\n}}\n"));
        (r, d)
    }

    #[test]
    fn types_tables_and_names() {
        let (r, d) = routes(
            "blackhole 10.0.0.0/8 no_track\n throw 10.1.0.0/16 table vip no_track\n \
             10.2.0.0/16 dev eth0 table main\n 10.3.0.0/16 dev eth0 table 254\n \
             10.4.0.0/16 dev eth0 table 1000 scope link protocol zebra tos AF11 realms 1/r7",
        );
        assert_eq!(r.len(), 5, "{d:?}");
        assert_eq!(r[0].route_type, Some(6));
        assert_eq!(r[0].dev, None);
        assert_eq!((r[1].route_type, r[1].table), (Some(9), Some(100)));
        // `table main` and `table 254` are the same route as no table.
        assert_eq!(r[2].table, None);
        assert_eq!(r[3].table, None);
        assert_eq!(r[4].table, Some(1000));
        assert_eq!(r[4].scope, Some(253));
        // A tracked route is RTPROT_KEEPALIVED, with an error for its own protocol.
        assert_eq!(r[4].protocol, Some(18));
        assert!(d
            .iter()
            .any(|d| d.contains("cannot be tracked if protocol")));
        assert_eq!(r[4].tos, Some(0x28));
        assert_eq!(r[4].realms, Some(0x0001_0007));
        let (r, d) = routes("10.5.0.0/16 dev eth0 table nosuch");
        assert!(r.is_empty());
        assert!(d
            .iter()
            .any(|d| d.contains("Routing table nosuch not found")));
    }

    // The reload diff (the engine's and statics.rs's) compares what was read, so a
    // route or rule written with `main` and the same with 254 is one item.
    #[test]
    fn main_and_254_are_the_same_table() {
        let (a, ra, _) = read(
            "static_routes {\n 10.0.0.0/8 dev eth0 table main\n}\n\
             static_rules {\n from 10.0.0.0/8 lookup main priority 5\n}\n",
        );
        let (b, rb, _) = read(
            "static_routes {\n 10.0.0.0/8 dev eth0 table 254\n}\n\
             static_rules {\n from 10.0.0.0/8 table 254 priority 5\n}\n",
        );
        assert_eq!(a, b);
        assert_eq!(ra, rb);
    }

    #[test]
    fn metrics_locks_and_units() {
        let (r, d) = routes(
            "10.0.0.0/8 dev eth0 mtu lock 1400 rtt 300ms rttvar 0.1s rto_min 250ms \
             advmss 1300 cwnd lock 10 features ecn congctl lock reno quickack 1 \
             hoplimit 60 append",
        );
        assert!(!d.iter().any(|d| d.contains(": error:")), "{d:?}");
        let m = &r[0].metrics;
        assert_eq!(m.mtu, Some(1400));
        // get_time_rtt(): rtt in 1/8 ms, rttvar in 1/4 ms (0.1 s held up to 0.2 s),
        // rto_min in ms.
        assert_eq!(
            (m.rtt, m.rttvar, m.rto_min),
            (Some(2400), Some(800), Some(250))
        );
        assert_eq!(m.lock, 1 << 2 | 1 << 7 | 1 << 16);
        assert_eq!(m.features, 1);
        assert_eq!(m.congctl.as_deref(), Some("reno"));
        assert_eq!(r[0].mode, RouteMode::Append);
        // Raw values are the kernel's, held to 0.2 s – 120 s.
        let (r, _) = routes("10.0.0.0/8 dev eth0 rtt 2000 rttvar 10");
        assert_eq!(
            (r[0].metrics.rtt, r[0].metrics.rttvar),
            (Some(2000), Some(800))
        );
    }

    #[test]
    fn nexthops_and_tracking() {
        let (r, d) = routes(
            "10.0.0.0/8 nexthop via 192.168.0.1 dev eth0 weight 2 nexthop via 192.168.1.1 \
             dev eth1 onlink",
        );
        assert_eq!(r[0].nexthops.len(), 2);
        assert_eq!(r[0].nexthops[0].weight, Some(2));
        assert!(r[0].nexthops[1].onlink);
        // No `dev`: reported, and not tracked.
        assert!(r[0].no_track);
        assert!(d
            .iter()
            .any(|d| d.contains("cannot track route 10.0.0.0/8")));
        let (r, d) = routes("2001:db8::/64 dev eth0 pref high expires 30 from 2001:db8:1::/64");
        assert!(!d.iter().any(|d| d.contains(": error:")), "{d:?}");
        assert!(r[0].family_v6);
        assert_eq!((r[0].pref, r[0].expires), (Some(1), Some(30)));
        let (r, d) = routes("10.0.0.0/8 dev eth0 expires 30");
        assert!(r.is_empty());
        assert!(d
            .iter()
            .any(|d| d.contains("expires is only valid for IPv6")));
    }

    #[test]
    fn encapsulations() {
        let (r, d) = routes(
            "10.0.0.0/8 encap ip id 5 dst 10.0.0.9 tos AF11 ttl 9 dev eth0\n \
             10.1.0.0/16 encap mpls 100/200 via 192.168.0.1 dev eth0\n \
             2001:db8::/64 encap ip6 dst 2001:db8::9 hoplimit 7 dev eth0\n \
             10.2.0.0/16 encap ip src 10.0.0.1 dev eth0",
        );
        assert_eq!(r.len(), 3, "{d:?}");
        let e = r[0].encap.as_ref().unwrap();
        assert_eq!(
            (e.kind, e.id, e.tos, e.ttl),
            (2, Some(5), Some(0x28), Some(9))
        );
        assert_eq!(r[0].dev.as_deref(), Some("eth0"));
        assert_eq!(r[1].encap.as_ref().unwrap().labels, [100, 200]);
        assert!(r[1].via.is_some());
        assert_eq!(r[2].encap.as_ref().unwrap().ttl, Some(7));
        assert!(d
            .iter()
            .any(|d| d.contains("address or id missing for ip encapsulation")));
    }

    fn rules(lines: &str) -> (Vec<Rule>, Vec<String>) {
        let (_, r, d) = read(&format!("static_rules {{\n{lines}\n}}\n"));
        (r, d)
    }

    #[test]
    fn rule_selectors_and_actions() {
        let (r, d) = rules(
            "from 10.0.0.0/8 fwmark 0x10/0xff lookup vip priority 10\n \
             from 10.1.0.0/16 blackhole priority 11\n \
             not to 10.2.0.0/16 tos AF11 realms r7 ipproto tcp sport 1000-2000 dport 53-53 \
             uidrange 1-2 suppress_prefixlength 8 dev eth0 oif eth1 table 100 priority 12\n \
             from 10.3.0.0/16 goto 20 priority 13\n l3mdev priority 14",
        );
        assert!(!d.iter().any(|d| d.contains(": error:")), "{d:?}");
        assert_eq!(
            (r[0].fwmark, r[0].fwmask, r[0].table),
            (Some(16), Some(255), Some(100))
        );
        assert_eq!((r[1].action, r[1].table), (6, None));
        let x = &r[2];
        assert!(x.invert);
        assert_eq!((x.tos, x.realms, x.ipproto), (0x28, Some(7), Some(6)));
        assert_eq!((x.sport, x.dport), (Some((1000, 2000)), Some((53, 53))));
        assert_eq!(
            (x.iif.as_deref(), x.oif.as_deref()),
            (Some("eth0"), Some("eth1"))
        );
        assert_eq!((r[3].action, r[3].goto), (2, Some(20)));
        assert!(r[4].l3mdev);
        assert!(r.iter().all(|r| r.protocol == Some(18)));
    }

    #[test]
    fn rule_checks_as_alloc_rule() {
        // A single port is reported and left out; the rule stays.
        let (r, d) = rules("from 10.0.0.0/8 dport 53 table 100 priority 1");
        assert_eq!(r[0].dport, None);
        assert!(d.iter().any(|d| d.contains("invalid dport range 53")));
        // No action: dropped.
        let (r, d) = rules("from 10.0.0.0/8 priority 1");
        assert!(r.is_empty());
        assert!(d.iter().any(|d| d.contains("No action specified")));
        // No priority: given, counting down per family from 16384, with an error.
        let (r, d) = rules(
            "from 10.0.0.0/8 table 100\n from 2001:db8::/32 table 100\n from 10.1.0.0/16 table 100",
        );
        let p: Vec<_> = r.iter().map(|r| r.priority).collect();
        assert_eq!(p, [Some(16384), Some(16384), Some(16383)]);
        assert_eq!(d.iter().filter(|d| d.contains("no preference")).count(), 3);
        // A given priority makes the same rule as that priority written.
        let (w, _) = rules("from 10.0.0.0/8 table 100 priority 16384");
        assert_eq!(w[0], r[0]);
        // goto needs a priority below its target.

        let (r, _) = rules("from 10.0.0.0/8 goto 5 priority 6");
        assert!(r.is_empty());
        // A protocol is kept only on a no_track rule.
        let (r, _) = rules("from 10.0.0.0/8 table 100 priority 1 protocol 99 no_track");
        assert_eq!(r[0].protocol, Some(99));
    }
}
