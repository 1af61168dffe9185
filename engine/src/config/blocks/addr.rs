//! Address, route and rule lines in iproute2 syntax (`keepalived/vrrp/vrrp_ipaddress.c`,
//! `vrrp_iproute.c`, `vrrp_iprule.c`). One line is one statement whose keyword is the
//! first word.

use crate::config::diag::DiagClass;
use crate::config::model::*;
use crate::config::parser::{parse_ip, parse_prefix, Parser, Stmt};

const SCOPES: &[&str] = &["global", "site", "link", "host", "nowhere"];

/// `<IP>[/mask] [brd IP|+|-] [dev IF] [use_vmac] [scope S] [label L] [peer IP] …`.
pub fn parse_ip_address(p: &mut Parser<'_>, s: &Stmt, allow_vmac: bool) -> Option<IpAddress> {
    let Some(prefix) = parse_prefix(s.kw()) else {
        p.error(
            s,
            s.kw.col,
            DiagClass::Value,
            format!(
                "expected an address like 192.168.1.10/24 or 2001:db8::1, found '{}'",
                s.kw()
            ),
        );
        return None;
    };
    let mut a = IpAddress {
        address: prefix.address,
        prefix_len: prefix.len,
        broadcast: None,
        dev: None,
        use_vmac: false,
        scope: None,
        label: None,
        peer: None,
        home: false,
        nodad: false,
        mngtmpaddr: false,
        noprefixroute: false,
        autojoin: false,
        no_track: false,
        preferred_lft: None,
        track_group: None,
    };
    let mut i = 0;
    while i < s.args.len() {
        let w = s.args[i].text.as_str();
        let takes_value = matches!(
            w,
            "brd"
                | "broadcast"
                | "dev"
                | "scope"
                | "label"
                | "peer"
                | "preferred_lft"
                | "track_group"
        );
        if takes_value && i + 1 >= s.args.len() {
            p.bad_arg(s, i + 1, format!("'{w}' needs a value"));
            break;
        }
        let v = s.arg(i + 1).unwrap_or("").to_string();
        match w {
            "brd" | "broadcast" => {
                a.broadcast = match v.as_str() {
                    "+" => Some(Broadcast::Plus),
                    "-" => Some(Broadcast::Minus),
                    _ => match parse_ip(&v) {
                        Some(b) if b.is_ipv4() == a.address.is_ipv4() => {
                            Some(Broadcast::Address(b))
                        }
                        _ => {
                            p.bad_arg(s, i + 1, format!("'brd' expects an address of the same family, '+' or '-', found '{v}'"));
                            None
                        }
                    },
                }
            }
            "dev" => a.dev = Some(v),
            "scope" => {
                if SCOPES.contains(&v.as_str()) || v.parse::<u8>().is_ok() {
                    a.scope = Some(v);
                } else {
                    p.bad_arg(s, i + 1, format!("unknown scope '{v}' (expected global, site, link, host, nowhere or 0-255)"));
                }
            }
            "label" => a.label = Some(v),
            "peer" => match parse_prefix(&v) {
                Some(pp) => a.peer = Some(pp),
                None => p.bad_arg(s, i + 1, format!("'peer' expects an address, found '{v}'")),
            },
            "preferred_lft" => {
                a.preferred_lft = if v == "forever" {
                    Some(Lifetime::Forever)
                } else {
                    match v.parse() {
                        Ok(n) => Some(Lifetime::Seconds(n)),
                        Err(_) => {
                            p.bad_arg(
                                s,
                                i + 1,
                                format!(
                                    "'preferred_lft' expects seconds or 'forever', found '{v}'"
                                ),
                            );
                            None
                        }
                    }
                }
            }
            "track_group" => a.track_group = Some(v),
            "use_vmac" if allow_vmac => a.use_vmac = true,
            "home" => a.home = true,
            "-nodad" | "nodad" => a.nodad = true,
            "mngtmpaddr" => a.mngtmpaddr = true,
            "noprefixroute" => a.noprefixroute = true,
            "autojoin" => a.autojoin = true,
            "no_track" => a.no_track = true,
            _ => {
                // keepalived: "Unknown configuration entry '%s' for ip address - ignoring".
                p.warn(
                    s,
                    s.args[i].col,
                    format!("ignoring unknown address option '{w}' for {}", s.kw()),
                );
                i += 1;
                continue;
            }
        }
        i += if takes_value { 2 } else { 1 };
    }
    Some(a)
}

const ROUTE_TYPES: &[&str] = &[
    "unicast",
    "blackhole",
    "unreachable",
    "prohibit",
    "throw",
    "local",
    "broadcast",
    "anycast",
    "multicast",
    "nat",
];
/// Route attributes taking one value that we keep by name, in the order written.
const ROUTE_ATTRS: &[&str] = &[
    "mtu",
    "advmss",
    "rtt",
    "rttvar",
    "reordering",
    "window",
    "cwnd",
    "ssthresh",
    "realms",
    "rto_min",
    "initcwnd",
    "initrwnd",
    "congctl",
    "features",
    "fastopen_no_cookie",
    "quickack",
    "pref",
    "hoplimit",
    "expires",
    "nhid",
    "vrf",
    "encap",
    "ttl-propagate",
    "preference",
];

/// `[type] PREFIX|default [src IP] [via|gw IP] [dev IF] [scope S] [table T] [metric N] …`.
pub fn parse_route(p: &mut Parser<'_>, s: &Stmt) -> Option<Route> {
    let mut words: Vec<(&str, u32)> = std::iter::once((s.kw(), s.kw.col))
        .chain(s.args.iter().map(|t| (t.text.as_str(), t.col)))
        .collect();
    let mut r = Route::default();
    let mut i = 0;
    let mut have_dest = false;
    if let Some(&(w, _)) = words.first() {
        if ROUTE_TYPES.contains(&w) {
            r.route_type = (w != "unicast").then(|| w.to_string());
            i = 1;
        }
    }
    while i < words.len() {
        let (w, col) = words[i];
        let next = words.get(i + 1).map(|x| x.0);
        let need = |p: &mut Parser<'_>| -> Option<String> {
            match next {
                Some(v) => Some(v.to_string()),
                None => {
                    p.error(
                        s,
                        col,
                        DiagClass::Value,
                        format!("route option '{w}' needs a value"),
                    );
                    None
                }
            }
        };
        let mut step = 2;
        match w {
            "src" => r.src = need(p).and_then(|v| parse_ip(&v)),
            "via" | "gw" => {
                let v = need(p)?;
                let v = if v == "inet" || v == "inet6" {
                    step = 3;
                    words
                        .get(i + 2)
                        .map(|x| x.0.to_string())
                        .unwrap_or_default()
                } else {
                    v
                };
                match parse_ip(&v) {
                    Some(a) => r.via = Some(a),
                    None => p.error(
                        s,
                        col,
                        DiagClass::Value,
                        format!("'via' expects a gateway address, found '{v}'"),
                    ),
                }
            }
            "dev" | "oif" => r.dev = need(p),
            "scope" => r.scope = need(p),
            "table" => r.table = need(p),
            "metric" | "priority" => {
                let v = need(p)?;
                match v.parse() {
                    Ok(m) => r.metric = Some(m),
                    Err(_) => p.error(
                        s,
                        col,
                        DiagClass::Value,
                        format!("'{w}' expects a number, found '{v}'"),
                    ),
                }
            }
            "protocol" | "proto" => r.protocol = need(p),
            "tos" | "dsfield" => r.tos = need(p),
            "onlink" => {
                r.onlink = true;
                step = 1;
            }
            "no_track" => {
                r.no_track = true;
                step = 1;
            }
            "track_group" => r.track_group = need(p),
            "inet6" => {
                r.family_v6 = true;
                step = 1;
            }
            "inet" | "add" | "append" | "prepend" => step = 1,
            "nexthop" => {
                let mut nh = Nexthop::default();
                let mut j = i + 1;
                while j < words.len() {
                    match words[j].0 {
                        "via" => {
                            nh.via = words.get(j + 1).and_then(|x| parse_ip(x.0));
                            j += 2;
                        }
                        "dev" => {
                            nh.dev = words.get(j + 1).map(|x| x.0.to_string());
                            j += 2;
                        }
                        "weight" => {
                            nh.weight = words.get(j + 1).and_then(|x| x.0.parse().ok());
                            j += 2;
                        }
                        "onlink" => {
                            nh.onlink = true;
                            j += 1;
                        }
                        _ => break,
                    }
                }
                r.nexthops.push(nh);
                step = j - i;
            }
            "lock" => step = 1,
            _ if ROUTE_ATTRS.contains(&w) => {
                let v = need(p)?;
                r.attributes.push((w.to_string(), v));
            }
            "to" => {
                step = 1;
            }
            _ if !have_dest => {
                have_dest = true;
                step = 1;
                if w == "default" {
                    r.to = None;
                } else {
                    match parse_prefix(w) {
                        Some(pfx) => {
                            r.family_v6 |= pfx.address.is_ipv6();
                            r.to = Some(pfx);
                        }
                        None => {
                            p.error(s, col, DiagClass::Value, format!("expected a route destination (PREFIX or 'default'), found '{w}'"));
                            return None;
                        }
                    }
                }
            }
            _ => {
                p.warn(s, col, format!("ignoring unknown route option '{w}'"));
                step = 1;
            }
        }
        i += step;
    }
    if !have_dest {
        p.error(
            s,
            s.kw.col,
            DiagClass::Value,
            "route has no destination (PREFIX or 'default')".into(),
        );
        return None;
    }
    words.clear();
    Some(r)
}

/// `[from P] [to P] [table T|lookup T] [iif IF] [oif IF] [fwmark M[/MASK]] [priority N] …`.
pub fn parse_rule(p: &mut Parser<'_>, s: &Stmt) -> Option<Rule> {
    let words: Vec<(&str, u32)> = std::iter::once((s.kw(), s.kw.col))
        .chain(s.args.iter().map(|t| (t.text.as_str(), t.col)))
        .collect();
    let mut r = Rule::default();
    let mut i = 0;
    while i < words.len() {
        let (w, col) = words[i];
        let next = words.get(i + 1).map(|x| x.0.to_string());
        let mut step = 2;
        let mut missing = false;
        match (w, next) {
            ("from", Some(v)) => r.from = if v == "all" { None } else { pfx(p, s, col, &v) },
            ("to", Some(v)) => r.to = if v == "all" { None } else { pfx(p, s, col, &v) },
            ("table" | "lookup", Some(v)) => r.table = Some(v),
            ("iif", Some(v)) => r.iif = Some(v),
            ("oif", Some(v)) => r.oif = Some(v),
            ("fwmark", Some(v)) => {
                let (m, mask) = match v.split_once('/') {
                    Some((m, k)) => (m.to_string(), Some(k.to_string())),
                    None => (v.clone(), None),
                };
                r.fwmark = parse_u32_any(&m);
                r.fwmask = mask.as_deref().and_then(parse_u32_any);
                if r.fwmark.is_none() || (mask.is_some() && r.fwmask.is_none()) {
                    p.error(
                        s,
                        col,
                        DiagClass::Value,
                        format!("'fwmark' expects MARK[/MASK], found '{v}'"),
                    );
                }
            }
            ("tos" | "dsfield", Some(v)) => r.tos = Some(v),
            ("priority" | "preference" | "order" | "pref", Some(v)) => match v.parse() {
                Ok(n) => r.priority = Some(n),
                Err(_) => p.error(
                    s,
                    col,
                    DiagClass::Value,
                    format!("'{w}' expects a number, found '{v}'"),
                ),
            },
            ("goto", Some(v)) => match v.parse() {
                Ok(n) => r.goto = Some(n),
                Err(_) => p.error(
                    s,
                    col,
                    DiagClass::Value,
                    format!("'goto' expects a rule priority, found '{v}'"),
                ),
            },
            ("no_track", _) => {
                r.no_track = true;
                step = 1;
            }
            ("track_group", Some(v)) => r.track_group = Some(v),
            ("inet", _) => {
                r.family_v6 = Some(false);
                step = 1;
            }
            ("inet6", _) => {
                r.family_v6 = Some(true);
                step = 1;
            }
            ("nop" | "l3mdev" | "blackhole" | "unreachable" | "prohibit" | "type", _) => {
                r.action = Some(w.to_string());
                step = 1;
            }
            (
                "realms"
                | "protocol"
                | "ipproto"
                | "sport"
                | "dport"
                | "uidrange"
                | "tunnel-id"
                | "suppress_prefixlength"
                | "sup_pl"
                | "suppress_ifgroup"
                | "sup_group",
                Some(v),
            ) => r.attributes.push((w.to_string(), v)),
            (_, None)
                if matches!(
                    w,
                    "from"
                        | "to"
                        | "table"
                        | "lookup"
                        | "iif"
                        | "oif"
                        | "fwmark"
                        | "priority"
                        | "goto"
                ) =>
            {
                missing = true
            }
            _ => {
                p.warn(s, col, format!("ignoring unknown rule option '{w}'"));
                step = 1;
            }
        }
        if missing {
            p.error(
                s,
                col,
                DiagClass::Value,
                format!("rule option '{w}' needs a value"),
            );
            break;
        }
        i += step;
    }
    if r.family_v6.is_none() {
        r.family_v6 = r.from.or(r.to).map(|p| p.address.is_ipv6());
    }
    Some(r)
}

fn pfx(p: &mut Parser<'_>, s: &Stmt, col: u32, v: &str) -> Option<IpPrefix> {
    let r = parse_prefix(v);
    if r.is_none() {
        p.error(
            s,
            col,
            DiagClass::Value,
            format!("expected an address prefix, found '{v}'"),
        );
    }
    r
}

fn parse_u32_any(s: &str) -> Option<u32> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}
