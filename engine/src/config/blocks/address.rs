//! Address lines in iproute2 syntax (`keepalived/vrrp/vrrp_ipaddress.c`): one line is
//! one statement whose keyword is the first word.

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
