//! `global_defs {}` (`keepalived/core/global_parser.c`).

use crate::config::diag::DiagClass;
use crate::config::model::*;
use crate::config::parser::{Parser, Stmt};

const MAX_TIMER: u64 = u32::MAX as u64 * SECOND;

pub fn global_defs(p: &mut Parser<'_>, st: &Stmt, cfg: &mut Config) {
    p.extra(st, 0);
    let g = &mut cfg.global;
    p.block(st, |p, s| keyword(p, &s, g));
}

fn keyword(p: &mut Parser<'_>, s: &Stmt, g: &mut GlobalDefs) {
    macro_rules! set {
        ($field:expr, $v:expr) => {
            if let Some(v) = $v {
                $field = v;
            }
        };
    }
    match s.kw() {
        "router_id" => g.router_id = p.value(s, "a router id"),
        "notification_email" => g.notification_email.extend(p.words(s).into_iter().map(|t| t.text.to_string())),
        "notification_email_from" => g.notification_email_from = p.value(s, "an email address"),
        "smtp_server" => {
            if let Some(host) = p.str_arg(s, 0, "a server address or name") {
                let port = if s.args.len() > 1 { p.int(s, 1, 1, 65535) } else { Some(25) };
                p.extra(s, 2);
                if let Some(port) = port {
                    g.smtp_server = Some(SmtpServer { host, port });
                }
            }
        }
        "smtp_helo_name" => g.smtp_helo_name = p.value(s, "a host name"),
        "smtp_connect_timeout" => set!(g.smtp_connect_timeout_us, p.timer_value(s, SECOND, MAX_TIMER)),
        "smtp_alert" => g.smtp_alert = Some(p.flag(s)),
        "smtp_alert_vrrp" => g.smtp_alert_vrrp = Some(p.flag(s)),
        "smtp_alert_checker" => g.smtp_alert_checker = Some(p.flag(s)),
        "no_email_faults" => g.no_email_faults = p.flag(s),
        "no_checker_emails" => g.no_checker_emails = p.flag(s),
        "script_user" => {
            // `script_user USER [GROUP]` or `USER:GROUP`.
            if let Some(u) = p.str_arg(s, 0, "a user name") {
                match u.split_once(':') {
                    Some((user, group)) => {
                        g.script_user = Some(user.to_string());
                        g.script_group = (!group.is_empty()).then(|| group.to_string());
                    }
                    None => {
                        g.script_user = Some(u);
                        g.script_group = s.arg(1).map(str::to_string);
                    }
                }
                p.extra(s, 2);
            }
        }
        "enable_script_security" => g.enable_script_security = p.flag(s),
        "use_symlink_paths" => g.use_symlink_paths = p.flag(s),
        "set_supplementary_groups" => g.set_supplementary_groups = p.flag(s),
        "startup_script" => g.startup_script = p.command(s),
        "startup_script_timeout" => set!(g.startup_script_timeout_s, p.int_value(s, 1, 1000)),
        "shutdown_script" => g.shutdown_script = p.command(s),
        "shutdown_script_timeout" => set!(g.shutdown_script_timeout_s, p.int_value(s, 1, 1000)),
        "notify_fifo" => fifo(p, s, &mut g.notify_fifo),
        "vrrp_notify_fifo" => fifo(p, s, &mut g.vrrp_notify_fifo),
        "lvs_notify_fifo" => fifo(p, s, &mut g.lvs_notify_fifo),
        "notify_fifo_script" => fifo_script(p, s, &mut g.notify_fifo),
        "vrrp_notify_fifo_script" => fifo_script(p, s, &mut g.vrrp_notify_fifo),
        "lvs_notify_fifo_script" => fifo_script(p, s, &mut g.lvs_notify_fifo),
        "fifo_write_vrrp_states_on_reload" => g.fifo_write_vrrp_states_on_reload = p.flag(s),
        "vrrp_notify_priority_changes" => g.vrrp_notify_priority_changes = p.flag(s),
        "vrrp_version" => set!(g.vrrp_version, p.int_value(s, 2, 3)),
        "vrrp_mcast_group4" => {
            if let Some(a) = p.ip_value(s) {
                if a.is_ipv4() && a.is_multicast() {
                    g.vrrp_mcast_group4 = a;
                } else {
                    p.bad_arg(s, 0, format!("'vrrp_mcast_group4' must be an IPv4 multicast address, found {a}"));
                }
            }
        }
        "vrrp_mcast_group6" => {
            if let Some(a) = p.ip_value(s) {
                if a.is_ipv6() && a.is_multicast() {
                    g.vrrp_mcast_group6 = a;
                } else {
                    p.bad_arg(s, 0, format!("'vrrp_mcast_group6' must be an IPv6 multicast address, found {a}"));
                }
            }
        }
        "vrrp_check_unicast_src" => g.vrrp_check_unicast_src = p.flag(s),
        "vrrp_skip_check_adv_addr" => g.vrrp_skip_check_adv_addr = p.flag(s),
        "vrrp_strict" => g.vrrp_strict = p.flag(s),
        "vrrp_lower_prio_no_advert" => g.vrrp_lower_prio_no_advert = p.flag(s),
        "vrrp_higher_prio_send_advert" => g.vrrp_higher_prio_send_advert = p.flag(s),
        "vrrp_down_timer_adverts" => set!(g.vrrp_down_timer_adverts, p.int_value(s, 1, 100)),
        "vrrp_owner_ignore_adverts" => g.vrrp_owner_ignore_adverts = p.flag(s),
        "v3_checksum_as_v2" => g.v3_checksum_as_v2 = p.flag(s),
        "default_interface" => g.default_interface = p.value(s, "an interface name"),
        "log_unknown_vrids" => g.log_unknown_vrids = p.flag(s),
        "vrrp_startup_delay" => set!(g.vrrp_startup_delay_us, p.timer_value(s, 0, 1000 * SECOND)),
        "vrrp_delay_after_boot" => set!(g.vrrp_delay_after_boot_us, p.timer_value(s, 0, 1000 * SECOND)),
        "dynamic_interfaces" => {
            g.dynamic_interfaces = true;
            match s.arg(0) {
                Some("allow_if_changes") => g.dynamic_interfaces_allow_if_changes = true,
                Some(_) => p.extra(s, 0),
                None => {}
            }
            p.extra(s, 1);
        }
        "vrrp_garp_master_delay" => set!(g.vrrp_garp_master_delay_us, p.timer_value(s, 0, 255 * SECOND)),
        "vrrp_garp_master_repeat" => set!(g.vrrp_garp_master_repeat, p.int_value(s, 0, 255)),
        "vrrp_garp_master_refresh" => set!(g.vrrp_garp_master_refresh_us, p.timer_value(s, 0, MAX_TIMER)),
        "vrrp_garp_master_refresh_repeat" => set!(g.vrrp_garp_master_refresh_repeat, p.int_value(s, 0, 255)),
        "vrrp_garp_lower_prio_delay" => g.vrrp_garp_lower_prio_delay_us = p.timer_value(s, 0, 255 * SECOND),
        "vrrp_garp_lower_prio_repeat" => g.vrrp_garp_lower_prio_repeat = p.int_value(s, 0, 255),
        // keepalived's range starts at 1 µs and logs `0` as out of range, although 0 is the
        // documented default and the guide writes it; 0 is accepted here (no rate limit).
        "vrrp_garp_interval" => set!(g.vrrp_garp_interval_us, p.timer_value(s, 0, 1000 * SECOND)),
        "vrrp_gna_interval" => set!(g.vrrp_gna_interval_us, p.timer_value(s, 0, 1000 * SECOND)),
        "vrrp_min_garp" => g.vrrp_min_garp = p.flag(s),
        "vrrp_garp_extra_if" | "vrrp_vmac_garp_intvl" => g.vrrp_garp_extra_if = garp_extra_if(p, s),
        "vrrp_iptables" => g.vrrp_iptables = Some(s.args.iter().map(|t| t.text.to_string()).collect()),
        "vrrp_ipsets" => g.vrrp_ipsets = Some(s.args.iter().map(|t| t.text.to_string()).collect()),
        "nftables" => {
            g.nftables = Some(s.arg(0).unwrap_or("keepalived").to_string());
            p.extra(s, 1);
        }
        "nftables_priority" => g.nftables_priority = p.int_value(s, -32768, 32767),
        "nftables_counters" => g.nftables_counters = p.flag(s),
        "nftables_ifindex" => g.nftables_ifindex = p.flag(s),
        "nftables_ipvs" => g.nftables_ipvs = p.flag(s),
        "nftables_ipvs_priority" => g.nftables_ipvs_priority = p.int_value(s, -32768, 32767),
        "nftables_ipvs_start_fwmark" => set!(g.nftables_ipvs_start_fwmark, p.int_value(s, 1, u32::MAX as i64)),
        "disable_local_igmp" => g.disable_local_igmp = p.flag(s),
        "vmac_prefix" => set!(g.vmac_prefix, p.value(s, "an interface name prefix")),
        "vmac_addr_prefix" => g.vmac_addr_prefix = p.value(s, "a MAC address prefix"),
        "vrrp_priority" => g.vrrp_priority = p.int_value(s, -20, 19),
        "checker_priority" | "lvs_priority" => g.checker_priority = p.int_value(s, -20, 19),
        "bfd_priority" => g.bfd_priority = p.int_value(s, -20, 19),
        "vrrp_no_swap" => g.vrrp_no_swap = p.flag(s),
        "checker_no_swap" | "lvs_no_swap" => g.checker_no_swap = p.flag(s),
        "bfd_no_swap" => g.bfd_no_swap = p.flag(s),
        "vrrp_rt_priority" => g.vrrp_rt_priority = p.int_value(s, 1, 99),
        "checker_rt_priority" => g.checker_rt_priority = p.int_value(s, 1, 99),
        "bfd_rt_priority" => g.bfd_rt_priority = p.int_value(s, 1, 99),
        "vrrp_rlimit_rttime" | "vrrp_rlimit_rtime" => set!(g.vrrp_rlimit_rttime_us, p.int_value(s, 1, u32::MAX as i64)),
        "checker_rlimit_rttime" | "checker_rlimit_rtime" => set!(g.checker_rlimit_rttime_us, p.int_value(s, 1, u32::MAX as i64)),
        "bfd_rlimit_rttime" | "bfd_rlimit_rtime" => set!(g.bfd_rlimit_rttime_us, p.int_value(s, 1, u32::MAX as i64)),
        "vrrp_cpu_affinity" => g.vrrp_cpu_affinity = cpus(p, s),
        "checker_cpu_affinity" => g.checker_cpu_affinity = cpus(p, s),
        "bfd_cpu_affinity" => g.bfd_cpu_affinity = cpus(p, s),
        "max_auto_priority" => g.max_auto_priority = if s.args.is_empty() { Some(99) } else { p.int_value(s, -1, 99) },
        "min_auto_priority_delay" => g.min_auto_priority_delay_us = p.timer_value(s, 1, MAX_TIMER),
        "process_names" => g.process_names = p.flag(s),
        "process_name" => g.process_name = p.value(s, "a process name"),
        "vrrp_process_name" => g.vrrp_process_name = p.value(s, "a process name"),
        "checker_process_name" | "lvs_process_name" => g.checker_process_name = p.value(s, "a process name"),
        "bfd_process_name" => g.bfd_process_name = p.value(s, "a process name"),
        "umask" => {
            if let Some(text) = p.value(s, "an octal mask") {
                match u32::from_str_radix(text.trim_start_matches('0'), 8).or_else(|e| if text.chars().all(|c| c == '0') { Ok(0) } else { Err(e) }) {
                    Ok(v) if v <= 0o777 => g.umask = Some(v),
                    _ => p.bad_arg(s, 0, format!("'umask' expects an octal mask like 022, found '{text}'")),
                }
            }
        }
        kw @ ("vrrp_netlink_cmd_rcv_bufs"
        | "vrrp_netlink_cmd_rcv_bufs_force"
        | "vrrp_netlink_monitor_rcv_bufs"
        | "vrrp_netlink_monitor_rcv_bufs_force"
        | "lvs_netlink_cmd_rcv_bufs"
        | "lvs_netlink_cmd_rcv_bufs_force"
        | "lvs_netlink_monitor_rcv_bufs"
        | "lvs_netlink_monitor_rcv_bufs_force"
        | "process_monitor_rcv_bufs"
        | "process_monitor_rcv_bufs_force") => {
            let force = kw.ends_with("_force");
            let base = kw.trim_end_matches("_force").to_string();
            if force && (s.args.is_empty() || s.arg(0).and_then(crate::config::parser::parse_bool).is_some()) {
                let on = p.flag(s);
                match g.netlink_buffers.iter_mut().find(|b| b.keyword == base) {
                    Some(b) => b.force = on,
                    None => g.netlink_buffers.push(NetlinkBuffer { keyword: base, size: 0, force: on }),
                }
            } else if let Some(size) = p.int_value::<u32>(s, 1, u32::MAX as i64) {
                match g.netlink_buffers.iter_mut().find(|b| b.keyword == base) {
                    Some(b) => {
                        b.size = size;
                        b.force |= force;
                    }
                    None => g.netlink_buffers.push(NetlinkBuffer { keyword: base, size, force }),
                }
            }
        }
        "vrrp_rx_bufs_policy" => g.vrrp_rx_bufs_policy = p.value(s, "MTU, ADVERT or a size"),
        "vrrp_rx_bufs_multiplier" => set!(g.vrrp_rx_bufs_multiplier, p.int_value(s, 1, 1000)),
        "lvs_sync_daemon" => g.lvs_sync_daemon = lvs_sync_daemon(p, s),
        "lvs_timeouts" => lvs_timeouts(p, s, &mut g.lvs_timeouts),
        "lvs_flush" => g.lvs_flush = p.flag(s),
        "lvs_flush_on_stop" | "lvs_flush_onstop" => {
            g.lvs_flush_on_stop = match s.arg(0) {
                None => Some(LvsFlushOnStop::All),
                Some("VS") => Some(LvsFlushOnStop::Vs),
                Some(w) => match crate::config::parser::parse_bool(w) {
                    Some(true) => Some(LvsFlushOnStop::All),
                    Some(false) => None,
                    None => {
                        p.bad_arg(s, 0, format!("'lvs_flush_on_stop' expects VS or a boolean, found '{w}'"));
                        None
                    }
                },
            };
            p.extra(s, 1);
        }
        "rs_init_notifies" => g.rs_init_notifies = p.flag(s),
        "checker_log_all_failures" => g.checker_log_all_failures = p.flag(s),
        "snmp_socket" => g.snmp_socket = p.value(s, "a socket address"),
        "enable_snmp_vrrp" | "enable_snmp_keepalived" => g.enable_snmp_vrrp = p.flag(s),
        "enable_snmp_checker" => g.enable_snmp_checker = p.flag(s),
        "enable_snmp_rfc" => g.enable_snmp_rfc = p.flag(s),
        "enable_snmp_rfcv2" => g.enable_snmp_rfcv2 = p.flag(s),
        "enable_snmp_rfcv3" => g.enable_snmp_rfcv3 = p.flag(s),
        "enable_traps" => g.enable_traps = p.flag(s),
        "snmp_vs_stats_update_interval" => g.snmp_vs_stats_update_interval_us = p.timer_value(s, 0, MAX_TIMER),
        "snmp_rs_stats_update_interval" => g.snmp_rs_stats_update_interval_us = p.timer_value(s, 0, MAX_TIMER),
        "enable_dbus" => g.enable_dbus = p.flag(s),
        "dbus_service_name" => g.dbus_service_name = p.value(s, "a D-Bus service name"),
        "dbus_no_interface_name" => g.dbus_no_interface_name = p.flag(s),
        "reload_check_config" => {
            g.reload_check_config = Some(s.arg(0).map(str::to_string));
            p.extra(s, 1);
        }
        "reload_time_file" => g.reload_time_file = p.value(s, "a file name"),
        "reload_repeat" => g.reload_repeat = p.flag(s),
        "reload_file" => {
            g.reload_file = Some(s.arg(0).unwrap_or("/run/keepalived.reload").to_string());
            p.extra(s, 1);
        }
        "include_check" => {
            g.include_check = Some(s.args.iter().map(|t| t.text.as_str()).collect::<Vec<_>>().join(" "));
        }
        "config_save_dir" => g.config_save_dir = p.value(s, "a directory"),
        "tmp_config_directory" => g.tmp_config_directory = p.value(s, "a directory"),
        "random_seed" => g.random_seed = p.int_value(s, 0, u32::MAX as i64),
        "data_use_instance" => g.data_use_instance = p.flag(s),
        "state_dump_file" | "state_file_location" => g.state_dump_file = p.value(s, "a file name"),
        "stats_dump_file" | "stats_file_location" => g.stats_dump_file = p.value(s, "a file name"),
        "json_dump_file" | "json_file_location" => g.json_dump_file = p.value(s, "a file name"),
        "json_version" => set!(g.json_version, p.int_value(s, 1, 2)),
        "iproute_usr_dir" => g.iproute_usr_dir = p.value(s, "a directory"),
        "iproute_etc_dir" => g.iproute_etc_dir = p.value(s, "a directory"),
        // An instance-level keyword people put in global_defs (the guide lists it there);
        // keepalived rejects it, so do we, with the reason.
        "nopreempt" => p.error(
            s,
            s.kw.col,
            DiagClass::Semantic,
            "'nopreempt' is a vrrp_instance keyword; it has no effect in global_defs - move it into the vrrp_instance".into(),
        ),
        "linkbeat_use_polling" => {
            p.warn(s, s.kw.col, "'linkbeat_use_polling' is a top-level keyword, not a global_defs one; applying it".into());
        }
        _ => p.unknown(s, "global_defs"),
    }
}

fn fifo(p: &mut Parser<'_>, s: &Stmt, slot: &mut Option<Fifo>) {
    if let Some(path) = p.str_arg(s, 0, "a FIFO path") {
        let script = if s.args.len() > 1 {
            let argv = crate::config::lexer::split_command(&s.args[1].text);
            Some(Command {
                argv,
                user: s.arg(2).map(str::to_string),
                group: s.arg(3).map(str::to_string),
            })
        } else {
            slot.as_ref().and_then(|f| f.script.clone())
        };
        p.extra(s, 4);
        *slot = Some(Fifo { path, script });
    }
}

fn fifo_script(p: &mut Parser<'_>, s: &Stmt, slot: &mut Option<Fifo>) {
    if let Some(cmd) = p.command(s) {
        match slot {
            Some(f) => f.script = Some(cmd),
            None => p.error(
                s,
                s.kw.col,
                DiagClass::Semantic,
                format!("'{}' needs its FIFO to be configured first", s.kw()),
            ),
        }
    }
}

pub fn garp_extra_if(p: &mut Parser<'_>, s: &Stmt) -> Option<GarpExtraIf> {
    let all = s.arg(0) == Some("all");
    let i = usize::from(all);
    let v = p.timer(s, i, 0, 86400 * SECOND)?;
    p.extra(s, i + 1);
    Some(GarpExtraIf {
        all,
        interval_us: v,
    })
}

fn cpus(p: &mut Parser<'_>, s: &Stmt) -> Vec<u32> {
    let mut out = Vec::new();
    for i in 0..s.args.len() {
        if let Some(c) = p.int(s, i, 0, 4095) {
            out.push(c);
        }
    }
    out
}

/// `lvs_sync_daemon IF [INSTANCE] [id N] [maxlen N] [port N] [ttl N] [group IP]`.
fn lvs_sync_daemon(p: &mut Parser<'_>, s: &Stmt) -> Option<LvsSyncDaemon> {
    let interface = p.str_arg(s, 0, "an interface")?;
    let mut d = LvsSyncDaemon {
        interface,
        instance: None,
        id: None,
        maxlen: None,
        port: 8848,
        ttl: None,
        group: None,
    };
    let mut i = 1;
    while i < s.args.len() {
        let w = s.args[i].text.as_str();
        match w {
            "id" => d.id = p.int(s, i + 1, 0, 255),
            "maxlen" => d.maxlen = p.int(s, i + 1, 1, 65507),
            "port" => {
                if let Some(v) = p.int(s, i + 1, 1, 65535) {
                    d.port = v
                }
            }
            "ttl" => d.ttl = p.int(s, i + 1, 1, 255),
            "group" => d.group = p.ip(s, i + 1),
            _ if i == 1 => {
                d.instance = Some(w.to_string());
                i += 1;
                continue;
            }
            _ => {
                p.bad_arg(s, i, format!("unknown lvs_sync_daemon option '{w}' (expected id, maxlen, port, ttl or group)"));
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    Some(d)
}

/// `lvs_timeouts [tcp N] [tcpfin N] [udp N]`.
fn lvs_timeouts(p: &mut Parser<'_>, s: &Stmt, t: &mut LvsTimeouts) {
    let mut i = 0;
    while i < s.args.len() {
        match s.args[i].text.as_str() {
            "tcp" => t.tcp_s = p.int(s, i + 1, 0, 86400 * 31),
            "tcpfin" => t.tcpfin_s = p.int(s, i + 1, 0, 86400 * 31),
            "udp" => t.udp_s = p.int(s, i + 1, 0, 86400 * 31),
            w => {
                let w = w.to_string();
                p.bad_arg(
                    s,
                    i,
                    format!("unknown lvs_timeouts option '{w}' (expected tcp, tcpfin or udp)"),
                );
                i += 1;
                continue;
            }
        }
        i += 2;
    }
}
