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
