//! Inputs shared by the benches and the side-by-side harness.

use std::fmt::Write;

/// A keepalived.conf with `vs` virtual_servers of `rs` real servers, each with a TCP_CHECK,
/// plus one VRRP instance: the shape of a large LVS deployment.
pub fn big_config(vs: usize, rs: usize) -> String {
    let mut s = String::with_capacity(vs * rs * 130);
    s.push_str("global_defs {\n    router_id bench\n}\n");
    s.push_str("vrrp_instance VI_1 {\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    priority 100\n    advert_int 1\n    virtual_ipaddress {\n        10.255.0.1/16\n    }\n}\n");
    for v in 0..vs {
        let (a, b) = (v / 250, v % 250 + 1);
        let _ = write!(
            s,
            "virtual_server 10.{a}.{b}.1 80 {{\n    delay_loop 6\n    lb_algo wrr\n    lb_kind DR\n    protocol TCP\n"
        );
        for r in 0..rs {
            let _ = write!(
                s,
                "    real_server 172.{}.{}.{} 8080 {{\n        weight 1\n        TCP_CHECK {{\n            connect_timeout 3\n        }}\n    }}\n",
                16 + a,
                b,
                r + 1
            );
        }
        s.push_str("}\n");
    }
    s
}

/// The loopback address of real server `r` of virtual server `v` in
/// [`loopback_check_config`]: `127.(10 + r).(v / 250).(v % 250 + 1)`, distinct for
/// v < 1000 and r < 200, never ending in .0 or .255.
pub fn loopback_rs_addr(v: usize, r: usize) -> std::net::Ipv4Addr {
    std::net::Ipv4Addr::new(127, (10 + r) as u8, (v / 250) as u8, (v % 250 + 1) as u8)
}

/// The config of `checker-scale.sh`: `vs` virtual servers of `rs` real servers, each with
/// a TCP_CHECK at delay_loop `delay_s` and connect_timeout 2 s (retry and warmup at
/// keepalived's defaults: 1, and warmup = delay_loop, so the first checks spread over
/// delay_loop), the
/// real servers on distinct loopback addresses and all on `port`, so one listener on
/// 0.0.0.0:`port` answers every check. `fifo`, if given, is the `lvs_notify_fifo` that
/// gets a `RS … UP|DOWN` line per real server change. `checker_log_all_failures` is on,
/// so a single failed check is logged even when a retry then passes and the real server
/// never goes down. None beyond 1000 × 200.
pub fn loopback_check_config(
    vs: usize,
    rs: usize,
    port: u16,
    fifo: Option<&str>,
    delay_s: u32,
) -> Option<String> {
    if vs > 1000 || rs > 200 {
        return None;
    }
    let mut s = String::with_capacity(vs * rs * 110 + 200);
    s.push_str("global_defs {\n    router_id checker_scale\n    checker_log_all_failures\n");
    if let Some(f) = fifo {
        let _ = writeln!(s, "    lvs_notify_fifo {f}");
    }
    s.push_str("}\n");
    for v in 0..vs {
        let _ = write!(
            s,
            "virtual_server 10.{}.{}.1 80 {{\n    delay_loop {delay_s}\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n",
            v / 250,
            v % 250 + 1
        );
        for r in 0..rs {
            let _ = write!(
                s,
                "    real_server {} {port} {{\n        weight 1\n        TCP_CHECK {{\n            connect_timeout 2\n        }}\n    }}\n",
                loopback_rs_addr(v, r)
            );
        }
        s.push_str("}\n");
    }
    Some(s)
}

/// The IPVS apply benchmark's config: `vs` virtual servers (10.A.B.C:80, wrr, DR) of `rs`
/// real servers each (172.x.y.z:80), without checkers, so every real server is in the
/// table from the start and the time measured is the table's. With `changed`, the reload
/// target: one real server in a hundred gets weight 2, and one virtual server in a
/// hundred is replaced by a new one (port 81) with the same real servers.
pub fn ipvs_apply_config(vs: usize, rs: usize, changed: bool) -> String {
    let mut s = String::with_capacity(vs * rs * 40);
    s.push_str("global_defs {\n    router_id ipvs-bench\n}\n");
    let mut n = 0usize;
    for v in 0..vs {
        let port = if changed && v % 100 == 99 { 81 } else { 80 };
        let _ = writeln!(
            s,
            "virtual_server 10.{}.{}.{} {port} {{\n    lvs_sched wrr\n    lvs_method DR",
            1 + v / 65_536,
            (v / 256) % 256,
            v % 256
        );
        for r in 0..rs {
            n += 1;
            let weight = if changed && n.is_multiple_of(100) {
                2
            } else {
                1
            };
            let _ = writeln!(
                s,
                "    real_server 172.{}.{}.{} 80 {{ weight {weight} }}",
                16 + r,
                (v / 256) % 256,
                v % 256
            );
        }
        s.push_str("}\n");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_addresses_are_distinct_and_on_loopback() {
        let mut seen = std::collections::BTreeSet::new();
        for v in 0..1000 {
            for r in 0..20 {
                let a = loopback_rs_addr(v, r);
                assert!(a.is_loopback());
                assert!(a.octets()[3] != 0 && a.octets()[3] != 255);
                assert!(seen.insert(a), "{a} twice");
            }
        }
    }

    #[test]
    fn loopback_config_parses_with_every_checker() {
        use keepalived_engine::config::model::CheckerKind;
        let conf = loopback_check_config(3, 4, 18080, Some("/tmp/f"), 2).unwrap();
        let loaded = keepalived_engine::config::parse_str(&conf, &Default::default());
        assert!(
            !loaded.diagnostics.iter().any(|d| d.counts_as_error()),
            "{:?}",
            loaded.diagnostics
        );
        let c = &loaded.config;
        assert_eq!(c.virtual_servers.len(), 3);
        for vs in &c.virtual_servers {
            assert_eq!(vs.real_servers.len(), 4);
            for rs in &vs.real_servers {
                assert_eq!(rs.port, Some(18080));
                assert!(matches!(rs.checkers[0].kind, CheckerKind::TcpCheck));
                assert_eq!(rs.checkers[0].schedule.delay_loop_us, 2_000_000);
                assert_eq!(rs.checkers[0].schedule.connect_timeout_us, 2_000_000);
                assert_eq!(rs.checkers[0].schedule.warmup_us, 2_000_000);
            }
        }
        assert!(c.global.checker_log_all_failures);
        assert!(c.global.lvs_notify_fifo.is_some());
        assert!(loopback_check_config(1001, 1, 1, None, 2).is_none());
    }
}
