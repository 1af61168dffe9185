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
    let mut a = IpAddress::new(prefix.address, prefix.len);
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
                let brd = match v.as_str() {
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
                };
                if brd.is_some() {
                    a.options_mut().broadcast = brd;
                }
            }
            "dev" => a.dev = Some(v),
            "scope" => {
                if SCOPES.contains(&v.as_str()) || v.parse::<u8>().is_ok() {
                    a.options_mut().scope = Some(v);
                } else {
                    p.bad_arg(s, i + 1, format!("unknown scope '{v}' (expected global, site, link, host, nowhere or 0-255)"));
                }
            }
            "label" => a.options_mut().label = Some(v),
            // parse_ipaddress(): the peer is a plain address (no prefix), and makes the
            // address a host address: a prefix on the address itself is ignored with a
            // warning.
            "peer" => match parse_ip(&v) {
                Some(peer) if peer.is_ipv4() == a.address.is_ipv4() => {
                    let full = if peer.is_ipv4() { 32 } else { 128 };
                    if a.prefix_len != full {
                        p.warn(
                            s,
                            s.kw.col,
                            "Cannot specify address prefix when specifying peer address - ignoring"
                                .into(),
                        );
                    }
                    a.prefix_len = full;
                    a.options_mut().peer = Some(IpPrefix {
                        address: peer,
                        len: full,
                    });
                }
                _ => p.bad_arg(
                    s,
                    i + 1,
                    format!(
                        "Invalid peer address {v}: an address of the same family, without a prefix"
                    ),
                ),
            },
            "preferred_lft" => {
                let lft = if v == "forever" {
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
                };
                if lft.is_some() {
                    a.options_mut().preferred_lft = lft;
                }
            }
            "track_group" => a.options_mut().track_group = Some(v),
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

#[cfg(test)]
mod tests {
    use crate::config::{parse_str, ParseOptions};

    fn statics(lines: &str) -> (Vec<crate::config::model::IpAddress>, Vec<String>) {
        let loaded = parse_str(
            &format!("static_ipaddress {{\n{lines}\n}}\n"),
            &ParseOptions::default(),
        );
        let diags = loaded.diagnostics.iter().map(|d| d.to_string()).collect();
        (loaded.config.static_ipaddress, diags)
    }

    // parse_ipaddress(): a peer makes a host address, its prefix ignored with a warning;
    // a peer with a prefix of its own is refused.
    #[test]
    fn a_peer_makes_a_host_address_and_takes_no_prefix() {
        let (a, diags) = statics("10.0.0.1/24 peer 10.0.0.2 dev eth0");
        assert_eq!(a[0].prefix_len, 32);
        assert_eq!(
            a[0].peer().map(|p| p.address.to_string()).as_deref(),
            Some("10.0.0.2")
        );
        assert!(diags
            .iter()
            .any(|d| d.contains("Cannot specify address prefix")));

        let (a, diags) = statics("2001:db8::1 peer 2001:db8::2/64 dev eth0");
        assert!(a.first().is_none_or(|a| a.peer().is_none()), "{a:?}");
        assert!(
            diags.iter().any(|d| d.contains("Invalid peer address")),
            "{diags:?}"
        );
    }

    /// JSON has every option as a key of its own, as before they were boxed, and reads
    /// back an address equal to the one written: none of the options, no box.
    #[test]
    fn an_address_goes_through_json_with_its_options_flat_and_comes_back_equal() {
        let (a, diags) = statics(
            "10.0.0.1/24 dev eth0\n10.0.0.2/24 brd + dev eth0 scope link label eth0:v track_group g",
        );
        assert_eq!(diags, ["warning: track_group g not found"]);
        let plain = serde_json::to_value(&a[0]).unwrap();
        assert_eq!(plain["label"], serde_json::Value::Null);
        assert_eq!(plain["scope"], serde_json::Value::Null);
        assert!(plain.get("options").is_none(), "{plain}");
        let full = serde_json::to_value(&a[1]).unwrap();
        assert_eq!(full["label"], "eth0:v");
        assert_eq!(full["scope"], "link");
        assert_eq!(full["broadcast"], "plus");
        assert_eq!(full["track_group"], "g");
        for (addr, json) in a.iter().zip([plain, full]) {
            let back: crate::config::model::IpAddress = serde_json::from_value(json).unwrap();
            assert_eq!(&back, addr);
        }
    }

    #[test]
    fn address_flags_are_read() {
        let (a, _) =
            statics("2001:db8::1/64 dev eth0 home mngtmpaddr noprefixroute autojoin -nodad");
        let a = &a[0];
        assert!(a.home && a.mngtmpaddr && a.noprefixroute && a.autojoin && a.nodad);
    }
}
