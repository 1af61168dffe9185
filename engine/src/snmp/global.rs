//! KEEPALIVED-MIB's global scalars (`keepalived.1`, `global_vars` in keepalived's
//! core/snmp.c), with the values `snmp_scalar()` gives: the router id defaults to the
//! host name, an unset sender is absent from the walk, an unset SMTP server reads as type ipv6(2) with four zero bytes
//! (keepalived reads an empty `sockaddr`), TruthValues are 1 and 2, the SMTP alert
//! switches 1 (on), 2 (off) or 3 (unset).

use std::net::IpAddr;

use crate::agentx::Value;
use crate::config::model::{Config, LvsFlushOnStop};

use super::{keepalived_oid, MibTree};

/// What the global scalars need beyond the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalFacts {
    /// `version.0`: the daemon's version line.
    pub version: String,
    /// The router id when the configuration gives none: keepalived's is the host name.
    pub hostname: String,
    /// `smtp_server`, resolved.
    pub smtp_address: Option<IpAddr>,
    /// The sender keepalived uses without `notification_email_from`: `user@host`.
    pub default_email_from: String,
}

fn truth(b: bool) -> Value {
    Value::Integer(if b { 1 } else { 2 })
}

fn tristate(b: Option<bool>) -> Value {
    Value::Integer(match b {
        None => 3,
        Some(true) => 1,
        Some(false) => 2,
    })
}

/// Adds the global scalars of `cfg` to `tree`.
pub fn add(tree: &mut MibTree, cfg: &Config, facts: &GlobalFacts) {
    let g = &cfg.global;
    // Scalars are named by their object, the instance `.0` added by the tree.
    let mut put = |tail: &[u32], v: Value| {
        let (object, last) = tail.split_at(tail.len() - 1);
        if last == [0] {
            tree.insert_scalar(keepalived_oid(object), v);
        } else {
            tree.insert_column(keepalived_oid(object), last, v);
        }
    };
    put(
        &[1, 1, 0],
        Value::OctetString(facts.version.clone().into_bytes()),
    );
    let router_id = g
        .router_id
        .clone()
        .unwrap_or_else(|| facts.hostname.clone());
    put(&[1, 2, 0], Value::OctetString(router_id.into_bytes()));
    // keepalived's SNMP_InetAddressType(): AF_INET6 → 2, otherwise ipv4(1); an empty
    // sockaddr (family 0) falls to its default of ipv6(2), and the address is the four
    // bytes of an IPv4 sockaddr's sin_addr.
    let (kind, bytes) = match facts.smtp_address {
        Some(IpAddr::V4(a)) => (1, a.octets().to_vec()),
        Some(IpAddr::V6(a)) => (2, a.octets().to_vec()),
        None => (2, vec![0; 4]),
    };
    put(&[1, 3, 1, 0], Value::Integer(kind));
    put(&[1, 3, 2, 0], Value::OctetString(bytes));
    let timeout_s = if g.smtp_server.is_some() {
        (g.smtp_connect_timeout_us / 1_000_000) as u32
    } else {
        0
    };
    put(&[1, 3, 3, 0], Value::Gauge32(timeout_s));
    // Without notification_email_from, keepalived makes one up when there is a server
    // (`set_default_email_from()`).
    let from = g.notification_email_from.clone().or_else(|| {
        g.smtp_server
            .as_ref()
            .map(|_| facts.default_email_from.clone())
    });
    if let Some(from) = from {
        put(&[1, 3, 4, 0], Value::OctetString(from.into_bytes()));
    }
    for (i, addr) in g.notification_email.iter().enumerate() {
        put(
            &[1, 3, 5, 1, 2, i as u32 + 1],
            Value::OctetString(addr.clone().into_bytes()),
        );
    }
    put(
        &[1, 3, 6, 0],
        Value::Gauge32(g.smtp_server.as_ref().map_or(0, |s| u32::from(s.port))),
    );
    put(&[1, 3, 7, 0], truth(!g.no_email_faults));
    put(&[1, 3, 8, 0], tristate(g.smtp_alert));
    put(&[1, 3, 9, 0], tristate(g.smtp_alert_vrrp));
    put(&[1, 3, 10, 0], tristate(g.smtp_alert_checker));
    put(&[1, 4, 0], truth(g.enable_traps));
    put(
        &[1, 5, 0],
        Value::Integer(if cfg.root.linkbeat_use_polling { 2 } else { 1 }),
    );
    put(&[1, 6, 0], truth(g.lvs_flush));
    // keepalived-rs reads IPVS's 64-bit counters.
    put(&[1, 7, 0], truth(true));
    let ns = cfg.root.net_namespace.clone().unwrap_or_default();
    put(&[1, 8, 0], Value::OctetString(ns.into_bytes()));
    // keepalived-rs has no DBus service, whatever enable_dbus says (`-t` warns of it).
    put(&[1, 9, 0], truth(false));
    put(&[1, 10, 0], truth(g.dynamic_interfaces));
    put(
        &[1, 11, 0],
        Value::Integer(match g.lvs_flush_on_stop {
            Some(LvsFlushOnStop::All) => 1,
            Some(LvsFlushOnStop::Vs) => 3,
            None => 2,
        }),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{parse_str, ParseOptions};
    use crate::snmp::walk;

    // The reference configuration of tests/data/snmp gives the global scalars keepalived
    // 2.2.7 served for it (the version line aside, which names the daemon).
    #[test]
    fn global_scalars_match_keepalived_2_2_7s_walk() {
        let text = std::fs::read_to_string(walk::reference_path("vrrp.conf")).unwrap();
        let cfg = parse_str(&text, &ParseOptions::default()).config;
        let facts = GlobalFacts {
            version: "Keepalived v2.2.7 (01/16,2022)".into(),
            hostname: "unused".into(),
            smtp_address: None,
            default_email_from: "unused".into(),
        };
        let mut tree = MibTree::new();
        add(&mut tree, &cfg, &facts);
        let prefix = ".1.3.6.1.4.1.9586.100.5.1.";
        assert_eq!(
            walk::lines(&tree, prefix),
            walk::reference("keepalived-2.2.7-walk-keepalived.txt", prefix)
        );
    }
}
