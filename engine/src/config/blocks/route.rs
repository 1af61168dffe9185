//! Route lines in iproute2 syntax (`keepalived/vrrp/vrrp_iproute.c`): one line is one
//! statement whose keyword is the first word.

use crate::config::diag::DiagClass;
use crate::config::model::*;
use crate::config::parser::{parse_ip, parse_prefix, Parser, Stmt};

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
