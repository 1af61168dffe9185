//! Rule lines in iproute2 syntax (`keepalived/vrrp/vrrp_iprule.c`): one line is one
//! statement whose keyword is the first word.

use crate::config::diag::DiagClass;
use crate::config::model::*;
use crate::config::parser::{parse_prefix, Parser, Stmt};

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
