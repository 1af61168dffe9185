//! `global_defs {}` (`keepalived/core/global_parser.c`).

use crate::config::diag::DiagClass;
use crate::config::model::*;
use crate::config::parser::{Parser, Stmt};
use crate::config::registry::Block;

const MAX_TIMER: u64 = u32::MAX as u64 * SECOND;

pub fn global_defs(p: &mut Parser<'_>, st: &Stmt, cfg: &mut Config) {
    p.extra(st, 0);
    let g = &mut cfg.global;
    p.block_in(Block::GlobalDefs, st, |p, s| keyword(p, &s, g));
}

fn keyword(p: &mut Parser<'_>, s: &Stmt, g: &mut GlobalDefs) {
    use crate::config::registry::global as kw;
    macro_rules! set {
        ($field:expr, $v:expr) => {
            if let Some(v) = $v {
                $field = v;
            }
        };
    }
    match s.kw() {
        kw::ROUTER_ID => g.router_id = p.value(s, "a router id"),
        kw::NOTIFICATION_EMAIL => g.notification_email.extend(p.words(s).into_iter().map(|t| t.text.to_string())),
        kw::NOTIFICATION_EMAIL_FROM => g.notification_email_from = p.value(s, "an email address"),
        kw::SMTP_SERVER => {
            if let Some(host) = p.str_arg(s, 0, "a server address or name") {
                let port = if s.args.len() > 1 { p.int(s, 1, 1, 65535) } else { Some(25) };
                p.extra(s, 2);
                if let Some(port) = port {
                    g.smtp_server = Some(SmtpServer { host, port });
                }
            }
        }
        kw::SMTP_HELO_NAME => g.smtp_helo_name = p.value(s, "a host name"),
        kw::SMTP_CONNECT_TIMEOUT => set!(g.smtp_connect_timeout_us, p.timer_value(s, SECOND, MAX_TIMER)),
        kw::SMTP_ALERT => g.smtp_alert = Some(p.flag(s)),
        kw::SMTP_ALERT_VRRP => g.smtp_alert_vrrp = Some(p.flag(s)),
        kw::SMTP_ALERT_CHECKER => g.smtp_alert_checker = Some(p.flag(s)),
        kw::NO_EMAIL_FAULTS => g.no_email_faults = p.flag(s),
        kw::NO_CHECKER_EMAILS => g.no_checker_emails = p.flag(s),
        kw::SCRIPT_USER => {
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
        kw::ENABLE_SCRIPT_SECURITY => g.enable_script_security = p.flag(s),
        kw::USE_SYMLINK_PATHS => g.use_symlink_paths = p.flag(s),
        kw::SET_SUPPLEMENTARY_GROUPS => g.set_supplementary_groups = p.flag(s),
        kw::STARTUP_SCRIPT => g.startup_script = p.command(s),
        kw::STARTUP_SCRIPT_TIMEOUT => set!(g.startup_script_timeout_s, p.int_value(s, 1, 1000)),
        kw::SHUTDOWN_SCRIPT => g.shutdown_script = p.command(s),
        kw::SHUTDOWN_SCRIPT_TIMEOUT => set!(g.shutdown_script_timeout_s, p.int_value(s, 1, 1000)),
        kw::NOTIFY_FIFO => fifo(p, s, &mut g.notify_fifo),
        kw::VRRP_NOTIFY_FIFO => fifo(p, s, &mut g.vrrp_notify_fifo),
        kw::LVS_NOTIFY_FIFO => fifo(p, s, &mut g.lvs_notify_fifo),
        kw::NOTIFY_FIFO_SCRIPT => fifo_script(p, s, &mut g.notify_fifo),
        kw::VRRP_NOTIFY_FIFO_SCRIPT => fifo_script(p, s, &mut g.vrrp_notify_fifo),
        kw::LVS_NOTIFY_FIFO_SCRIPT => fifo_script(p, s, &mut g.lvs_notify_fifo),
        kw::FIFO_WRITE_VRRP_STATES_ON_RELOAD => g.fifo_write_vrrp_states_on_reload = p.flag(s),
        kw::VRRP_NOTIFY_PRIORITY_CHANGES => g.vrrp_notify_priority_changes = p.flag(s),
        kw::VRRP_VERSION => set!(g.vrrp_version, p.int_value(s, 2, 3)),
        kw::VRRP_MCAST_GROUP4 => {
            if let Some(a) = p.ip_value(s) {
                if a.is_ipv4() && a.is_multicast() {
                    g.vrrp_mcast_group4 = a;
                } else {
                    p.bad_arg(s, 0, format!("'vrrp_mcast_group4' must be an IPv4 multicast address, found {a}"));
                }
            }
        }
        kw::VRRP_MCAST_GROUP6 => {
            if let Some(a) = p.ip_value(s) {
                if a.is_ipv6() && a.is_multicast() {
                    g.vrrp_mcast_group6 = a;
                } else {
                    p.bad_arg(s, 0, format!("'vrrp_mcast_group6' must be an IPv6 multicast address, found {a}"));
                }
            }
        }
        kw::VRRP_CHECK_UNICAST_SRC => g.vrrp_check_unicast_src = p.flag(s),
        kw::VRRP_SKIP_CHECK_ADV_ADDR => g.vrrp_skip_check_adv_addr = p.flag(s),
        kw::VRRP_STRICT => g.vrrp_strict = p.flag(s),
        kw::VRRP_LOWER_PRIO_NO_ADVERT => g.vrrp_lower_prio_no_advert = p.flag(s),
        kw::VRRP_HIGHER_PRIO_SEND_ADVERT => g.vrrp_higher_prio_send_advert = p.flag(s),
        kw::VRRP_DOWN_TIMER_ADVERTS => set!(g.vrrp_down_timer_adverts, p.int_value(s, 1, 100)),
        kw::VRRP_OWNER_IGNORE_ADVERTS => g.vrrp_owner_ignore_adverts = p.flag(s),
        kw::V3_CHECKSUM_AS_V2 => g.v3_checksum_as_v2 = p.flag(s),
        kw::DEFAULT_INTERFACE => g.default_interface = p.value(s, "an interface name"),
        kw::LOG_UNKNOWN_VRIDS => g.log_unknown_vrids = p.flag(s),
        kw::VRRP_STARTUP_DELAY => set!(g.vrrp_startup_delay_us, p.timer_value(s, 0, 1000 * SECOND)),
        // Compared with the host's uptime, so as long as a host may run: keepalived's
        // limit of UINT_MAX µs (71 minutes) would make it useless past that uptime.
        kw::VRRP_DELAY_AFTER_BOOT => set!(g.vrrp_delay_after_boot_us, p.timer_value(s, 0, 100 * 365 * 86_400 * SECOND)),
        kw::DYNAMIC_INTERFACES => {
            g.dynamic_interfaces = true;
            match s.arg(0) {
                Some("allow_if_changes") => g.dynamic_interfaces_allow_if_changes = true,
                // dynamic_interfaces_handler(): an unknown option is a config error.
                Some(other) => p.error(
                    s,
                    s.args[0].col,
                    DiagClass::Semantic,
                    format!("unknown dynamic_interfaces option '{other}' - expected allow_if_changes"),
                ),
                None => {}
            }
            p.extra(s, 1);
        }
        kw::VRRP_GARP_MASTER_DELAY => set!(g.vrrp_garp_master_delay_us, p.timer_value(s, 0, 255 * SECOND)),
        kw::VRRP_GARP_MASTER_REPEAT => set!(g.vrrp_garp_master_repeat, p.repeat_value(s)),
        kw::VRRP_GARP_MASTER_REFRESH => set!(g.vrrp_garp_master_refresh_us, p.timer_value(s, 0, MAX_TIMER)),
        kw::VRRP_GARP_MASTER_REFRESH_REPEAT => set!(g.vrrp_garp_master_refresh_repeat, p.repeat_value(s)),
        kw::VRRP_GARP_LOWER_PRIO_DELAY => g.vrrp_garp_lower_prio_delay_us = p.timer_value(s, 0, 255 * SECOND),
        kw::VRRP_GARP_LOWER_PRIO_REPEAT => g.vrrp_garp_lower_prio_repeat = p.int_value(s, 0, 255),
        // keepalived's range starts at 1 µs and logs `0` as out of range, although 0 is the
        // documented default and the guide writes it; 0 is accepted here (no rate limit).
        kw::VRRP_GARP_INTERVAL => set!(g.vrrp_garp_interval_us, p.timer_value(s, 0, 1000 * SECOND)),
        kw::VRRP_GNA_INTERVAL => set!(g.vrrp_gna_interval_us, p.timer_value(s, 0, 1000 * SECOND)),
        kw::VRRP_MIN_GARP => g.vrrp_min_garp = p.flag(s),
        kw::VRRP_GARP_EXTRA_IF | kw::VRRP_VMAC_GARP_INTVL => g.vrrp_garp_extra_if = garp_extra_if(p, s, 1),
        kw::VRRP_IPTABLES => g.vrrp_iptables = Some(s.args.iter().map(|t| t.text.to_string()).collect()),
        kw::VRRP_IPSETS => g.vrrp_ipsets = Some(s.args.iter().map(|t| t.text.to_string()).collect()),
        kw::NFTABLES => {
            // As vrrp_nftables_handler(): a second one is ignored, and the first sets the
            // chains' priority back to -1, so an nftables_priority before it is lost.
            if g.nftables.is_some() {
                p.warn(s, s.kw.col, "nftables already specified - ignoring".into());
            } else {
                g.nftables = Some(s.arg(0).unwrap_or("keepalived").to_string());
                g.nftables_priority = None;
            }
            p.extra(s, 1);
        }
        kw::NFTABLES_PRIORITY => g.nftables_priority = p.int_value(s, -32768, 32767),
        kw::NFTABLES_COUNTERS => g.nftables_counters = p.flag(s),
        kw::NFTABLES_IFINDEX => g.nftables_ifindex = p.flag(s),
        kw::NFTABLES_IPVS => {
            // As ipvs_nftables_handler(): a second one is ignored, a name of
            // NFT_TABLE_MAXNAMELEN (256) or more is ignored, and the first puts the chain
            // priority back to -1 and the first fwmark to 1000.
            if g.nftables_ipvs.is_some() {
                p.warn(s, s.kw.col, "ipvs nftables already specified - ignoring".into());
            } else if s.arg(0).is_some_and(|n| n.len() >= 256) {
                p.warn(s, s.kw.col, "ipvs nftables table name too long - ignoring".into());
            } else {
                g.nftables_ipvs = Some(s.arg(0).unwrap_or("keepalived_ipvs").to_string());
                g.nftables_ipvs_priority = None;
                g.nftables_ipvs_start_fwmark = 1000;
            }
            p.extra(s, 1);
        }
        // read_int_strvec(INT32_MIN, INT32_MAX) in ipvs_nftables_priority_handler().
        kw::NFTABLES_IPVS_PRIORITY => {
            g.nftables_ipvs_priority = p.int_value(s, i64::from(i32::MIN), i64::from(i32::MAX))
        }
        kw::NFTABLES_IPVS_START_FWMARK => set!(g.nftables_ipvs_start_fwmark, p.int_value(s, 1, u32::MAX as i64)),
        kw::DISABLE_LOCAL_IGMP => g.disable_local_igmp = p.flag(s),
        kw::VMAC_PREFIX => set!(g.vmac_prefix, p.value(s, "an interface name prefix")),
        kw::VMAC_ADDR_PREFIX => g.vmac_addr_prefix = p.value(s, "a MAC address prefix"),
        kw::VRRP_PRIORITY => g.vrrp_priority = p.int_value(s, -20, 19),
        kw::CHECKER_PRIORITY | kw::LVS_PRIORITY => g.checker_priority = p.int_value(s, -20, 19),
        kw::BFD_PRIORITY => g.bfd_priority = p.int_value(s, -20, 19),
        kw::VRRP_NO_SWAP => g.vrrp_no_swap = p.flag(s),
        kw::CHECKER_NO_SWAP | kw::LVS_NO_SWAP => g.checker_no_swap = p.flag(s),
        kw::BFD_NO_SWAP => g.bfd_no_swap = p.flag(s),
        kw::VRRP_RT_PRIORITY => g.vrrp_rt_priority = p.int_value(s, 1, 99),
        kw::CHECKER_RT_PRIORITY => g.checker_rt_priority = p.int_value(s, 1, 99),
        kw::BFD_RT_PRIORITY => g.bfd_rt_priority = p.int_value(s, 1, 99),
        kw::VRRP_RLIMIT_RTTIME | kw::VRRP_RLIMIT_RTIME => set!(g.vrrp_rlimit_rttime_us, p.int_value(s, 1, u32::MAX as i64)),
        kw::CHECKER_RLIMIT_RTTIME | kw::CHECKER_RLIMIT_RTIME => set!(g.checker_rlimit_rttime_us, p.int_value(s, 1, u32::MAX as i64)),
        kw::BFD_RLIMIT_RTTIME | kw::BFD_RLIMIT_RTIME => set!(g.bfd_rlimit_rttime_us, p.int_value(s, 1, u32::MAX as i64)),
        kw::VRRP_CPU_AFFINITY => g.vrrp_cpu_affinity = cpus(p, s),
        kw::CHECKER_CPU_AFFINITY => g.checker_cpu_affinity = cpus(p, s),
        kw::BFD_CPU_AFFINITY => g.bfd_cpu_affinity = cpus(p, s),
        kw::MAX_AUTO_PRIORITY => g.max_auto_priority = if s.args.is_empty() { Some(99) } else { p.int_value(s, -1, 99) },
        // Microseconds, a whole number (`min_auto_priority_delay_handler()`).
        kw::MIN_AUTO_PRIORITY_DELAY => g.min_auto_priority_delay_us = p.int_value(s, 1, 10_000_000),
        kw::PROCESS_NAMES => {
            // `process_names_handler()`: the children's default names, which a later
            // `vrrp_process_name` (and the like) replaces.
            g.process_names = p.flag(s);
            if g.process_names {
                g.vrrp_process_name = Some("keepalived_vrrp".into());
                g.checker_process_name = Some("keepalived_lvs".into());
                g.bfd_process_name = Some("keepalived_bfd".into());
            }
        }
        kw::PROCESS_NAME => g.process_name = process_name(p, s),
        kw::VRRP_PROCESS_NAME => g.vrrp_process_name = process_name(p, s),
        kw::CHECKER_PROCESS_NAME | kw::LVS_PROCESS_NAME => g.checker_process_name = process_name(p, s),
        kw::BFD_PROCESS_NAME => g.bfd_process_name = process_name(p, s),
        kw::UMASK => {
            let words: Vec<&str> = s.args.iter().map(|t| t.text.as_str()).collect();
            match umask(&words) {
                Ok(v) => g.umask = Some(v),
                Err(why) => p.bad_arg(s, 0, why),
            }
        }
        kw @ (kw::VRRP_NETLINK_CMD_RCV_BUFS
        | kw::VRRP_NETLINK_CMD_RCV_BUFS_FORCE
        | kw::VRRP_NETLINK_MONITOR_RCV_BUFS
        | kw::VRRP_NETLINK_MONITOR_RCV_BUFS_FORCE
        | kw::LVS_NETLINK_CMD_RCV_BUFS
        | kw::LVS_NETLINK_CMD_RCV_BUFS_FORCE
        | kw::LVS_NETLINK_MONITOR_RCV_BUFS
        | kw::LVS_NETLINK_MONITOR_RCV_BUFS_FORCE
        | kw::PROCESS_MONITOR_RCV_BUFS
        | kw::PROCESS_MONITOR_RCV_BUFS_FORCE) => {
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
        kw::VRRP_RX_BUFS_POLICY => g.vrrp_rx_bufs_policy = p.value(s, "MTU, ADVERT or a size"),
        kw::VRRP_RX_BUFS_MULTIPLIER => set!(g.vrrp_rx_bufs_multiplier, p.int_value(s, 1, 1000)),
        kw::LVS_SYNC_DAEMON => g.lvs_sync_daemon = lvs_sync_daemon(p, s),
        kw::LVS_TIMEOUTS => lvs_timeouts(p, s, &mut g.lvs_timeouts),
        kw::LVS_FLUSH => g.lvs_flush = p.flag(s),
        kw::LVS_FLUSH_ON_STOP | kw::LVS_FLUSH_ONSTOP => {
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
        kw::RS_INIT_NOTIFIES => g.rs_init_notifies = p.flag(s),
        kw::CHECKER_LOG_ALL_FAILURES => g.checker_log_all_failures = p.flag(s),
        kw::SNMP_SOCKET => g.snmp_socket = p.value(s, "a socket address"),
        kw::ENABLE_SNMP_VRRP | kw::ENABLE_SNMP_KEEPALIVED => g.enable_snmp_vrrp = p.flag(s),
        kw::ENABLE_SNMP_CHECKER => g.enable_snmp_checker = p.flag(s),
        kw::ENABLE_SNMP_RFC => g.enable_snmp_rfc = p.flag(s),
        kw::ENABLE_SNMP_RFCV2 => g.enable_snmp_rfcv2 = p.flag(s),
        kw::ENABLE_SNMP_RFCV3 => g.enable_snmp_rfcv3 = p.flag(s),
        kw::ENABLE_TRAPS => g.enable_traps = p.flag(s),
        kw::SNMP_VS_STATS_UPDATE_INTERVAL => g.snmp_vs_stats_update_interval_us = p.timer_value(s, 1000, 30 * SECOND),
        kw::SNMP_RS_STATS_UPDATE_INTERVAL => g.snmp_rs_stats_update_interval_us = p.timer_value(s, 1000, 30 * SECOND),
        kw::ENABLE_DBUS => g.enable_dbus = p.flag(s),
        kw::DBUS_SERVICE_NAME => g.dbus_service_name = p.value(s, "a D-Bus service name"),
        kw::DBUS_NO_INTERFACE_NAME => g.dbus_no_interface_name = p.flag(s),
        kw::RELOAD_CHECK_CONFIG => {
            g.reload_check_config = Some(s.arg(0).map(str::to_string));
            p.extra(s, 1);
        }
        kw::RELOAD_TIME_FILE => g.reload_time_file = p.value(s, "a file name"),
        kw::RELOAD_REPEAT => g.reload_repeat = p.flag(s),
        kw::RELOAD_FILE => {
            g.reload_file = Some(s.arg(0).unwrap_or("/run/keepalived.reload").to_string());
            p.extra(s, 1);
        }
        kw::INCLUDE_CHECK => {
            let words: Vec<&str> = s.args.iter().map(|t| t.text.as_str()).collect();
            for (i, why) in p.lexer().set_include_check(&words) {
                p.bad_arg(s, i, why);
            }
            g.include_check = Some(words.join(" "));
        }
        kw::CONFIG_SAVE_DIR => g.config_save_dir = p.value(s, "a directory"),
        kw::TMP_CONFIG_DIRECTORY => g.tmp_config_directory = p.value(s, "a directory"),
        kw::RANDOM_SEED => {
            g.random_seed = p.int_value(s, 0, u32::MAX as i64);
            if let Some(seed) = g.random_seed {
                p.lexer().reseed(seed);
            }
        }
        kw::DATA_USE_INSTANCE => g.data_use_instance = p.flag(s),
        kw::STATE_DUMP_FILE | kw::STATE_FILE_LOCATION => g.state_dump_file = p.value(s, "a file name"),
        kw::STATS_DUMP_FILE | kw::STATS_FILE_LOCATION => g.stats_dump_file = p.value(s, "a file name"),
        kw::JSON_DUMP_FILE | kw::JSON_FILE_LOCATION => g.json_dump_file = p.value(s, "a file name"),
        kw::JSON_VERSION => set!(g.json_version, p.int_value(s, 1, 2)),
        kw::IPROUTE_USR_DIR => g.iproute_usr_dir = p.value(s, "a directory"),
        kw::IPROUTE_ETC_DIR => g.iproute_etc_dir = p.value(s, "a directory"),
        // An instance-level keyword people put in global_defs (the guide lists it there);
        // keepalived rejects it, so do we, with the reason.
        kw::NOPREEMPT => p.error(
            s,
            s.kw.col,
            DiagClass::Semantic,
            "'nopreempt' is a vrrp_instance keyword; it has no effect in global_defs - move it into the vrrp_instance".into(),
        ),
        // A top-level keyword (keepalived does not know it here): the registry's warning
        // says so, and it is not applied.
        kw::LINKBEAT_USE_POLLING => {}
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

/// `[vrrp_]garp_extra_if [all] DELAY`: `all` may stand before or after the delay, which
/// is whole seconds, at least `min` (1 in global_defs, 0 in an instance), at most a day
/// (`vrrp_vmac_garp_extra_if_handler()`, `vrrp_garp_extra_if_handler()`). A bad word
/// or a missing delay drops the keyword.
pub fn garp_extra_if(p: &mut Parser<'_>, s: &Stmt, min: i64) -> Option<GarpExtraIf> {
    let mut all = false;
    let mut delay: Option<u64> = None;
    for (i, word) in s.args.iter().enumerate() {
        if word.text.as_str() == "all" {
            all = true;
        } else {
            delay = Some(p.int(s, i, min, 86400)?);
        }
    }
    let Some(delay) = delay else {
        p.error(
            s,
            s.kw.col,
            DiagClass::Semantic,
            format!("'{}' specified without a time - ignoring it", s.kw()),
        );
        return None;
    };
    Some(GarpExtraIf {
        all,
        interval_us: delay * SECOND,
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

/// A process name (`save_process_name()`): the kernel keeps 15 bytes of it
/// (TASK_COMM_LEN), and keepalived says so as an error and cuts it there.
fn process_name(p: &mut Parser<'_>, s: &Stmt) -> Option<String> {
    let mut name = p.value(s, "a process name")?;
    if name.len() > 15 {
        p.bad_arg(
            s,
            0,
            format!("Process name {name} more than 15 characters, truncating"),
        );
        let mut end = 15;
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        name.truncate(end);
    }
    Some(name)
}

/// `umask NUMBER|BITS` as keepalived's `umask_handler()` reads it: a number (one word,
/// strtol with base 0: `0` octal, `0x` hex, else decimal) within 0777, or the names
/// `I{R,W,X}{USR,GRP,OTH}` joined by `|`, over one word or several.
fn umask(words: &[&str]) -> Result<u32, String> {
    let Some(first) = words.first() else {
        return Err("Missing parameter(s) to umask option".into());
    };
    if first.starts_with(|c: char| c.is_ascii_digit()) {
        if words.len() > 1 {
            return Err("Extra parameter(s) to umask option".into());
        }
        let (radix, digits) = match first
            .strip_prefix("0x")
            .or_else(|| first.strip_prefix("0X"))
        {
            Some(hex) => (16, hex),
            None if first.len() > 1 && first.starts_with('0') => (8, &first[1..]),
            None => (10, *first),
        };
        return u32::from_str_radix(digits, radix)
            .ok()
            .filter(|v| *v <= 0o777 && !digits.starts_with(['+', '-']))
            .ok_or_else(|| format!("invalid umask value {first}"));
    }
    const BITS: [(&str, u32); 9] = [
        ("IRUSR", 0o400),
        ("IWUSR", 0o200),
        ("IXUSR", 0o100),
        ("IRGRP", 0o040),
        ("IWGRP", 0o020),
        ("IXGRP", 0o010),
        ("IROTH", 0o004),
        ("IWOTH", 0o002),
        ("IXOTH", 0o001),
    ];
    let (mut bits, mut need_or) = (0, false);
    for word in words {
        let mut rest = *word;
        while !rest.is_empty() {
            if need_or {
                rest = rest
                    .strip_prefix('|')
                    .ok_or_else(|| format!("Invalid umask syntax {word}"))?;
                need_or = false;
                continue;
            }
            let (name, bit) = BITS
                .iter()
                .find(|(name, _)| rest.starts_with(name))
                .ok_or_else(|| format!("Unknown umask bit {rest}"))?;
            bits |= bit;
            rest = &rest[name.len()..];
            need_or = true;
        }
    }
    if need_or {
        Ok(bits)
    } else {
        Err("umask missing bit value".into())
    }
}

#[cfg(test)]
mod umask_tests {
    use super::umask;

    #[test]
    fn umask_as_keepalived_reads_it() {
        for (words, want) in [
            (&["022"][..], Ok(0o22)),
            (&["0x12"], Ok(0o22)),
            (&["18"], Ok(0o22)),
            (&["0"], Ok(0)),
            (&["0777"], Ok(0o777)),
            (&["IWGRP|IWOTH"], Ok(0o22)),
            (&["IWGRP", "|", "IWOTH"], Ok(0o22)),
            (&["IRWXU"], Err("Unknown umask bit IRWXU".to_string())),
            (&["IWGRP|"], Err("umask missing bit value".to_string())),
            (
                &["IWGRP", "IWOTH"],
                Err("Invalid umask syntax IWOTH".to_string()),
            ),
            (&["1000"], Err("invalid umask value 1000".to_string())),
            (&["08"], Err("invalid umask value 08".to_string())),
            (
                &["022", "x"],
                Err("Extra parameter(s) to umask option".to_string()),
            ),
        ] {
            assert_eq!(umask(words), want, "{words:?}");
        }
    }
}

#[cfg(test)]
mod garp_extra_if_tests {
    use crate::config::model::{GarpExtraIf, SECOND};
    use crate::config::{parse_str, ParseOptions};

    /// global_defs' and an instance's `garp_extra_if` from `words`, and whether either
    /// line failed `-t`.
    fn both(words: &str) -> (Option<GarpExtraIf>, Option<GarpExtraIf>, bool) {
        let l = parse_str(
            &format!(
                "global_defs {{\n vrrp_garp_extra_if {words}\n}}\nvrrp_instance A {{\n interface eth0\n \
                 virtual_router_id 1\n garp_extra_if {words}\n virtual_ipaddress {{\n  10.0.0.1\n }}\n}}\n"
            ),
            &ParseOptions::default(),
        );
        let failed = l.diagnostics.iter().any(|d| d.counts_as_error());
        let vi = l.config.instances[0].garp_extra_if.clone();
        (l.config.global.vrrp_garp_extra_if, vi, failed)
    }

    #[test]
    fn all_stands_on_either_side_of_whole_seconds() {
        let want = Some(GarpExtraIf {
            all: true,
            interval_us: 3 * SECOND,
        });
        for words in ["all 3", "3 all"] {
            let (g, vi, failed) = both(words);
            assert_eq!(
                (g, vi.clone(), failed),
                (want.clone(), want.clone(), false),
                "{words}"
            );
        }
        let (g, vi, _) = both("5");
        assert_eq!(g.map(|g| (g.all, g.interval_us)), Some((false, 5 * SECOND)));
        assert_eq!(
            vi.map(|g| (g.all, g.interval_us)),
            Some((false, 5 * SECOND))
        );
    }

    #[test]
    fn a_missing_or_fractional_delay_drops_the_keyword() {
        for words in ["all", "1.5", "all x", "86401"] {
            let (g, vi, failed) = both(words);
            assert!(g.is_none() && vi.is_none() && failed, "{words}");
        }
    }
}

#[cfg(test)]
mod nftables_ipvs_tests {
    use crate::config::model::GlobalDefs;
    use crate::config::{parse_str, ParseOptions};

    /// global_defs from `body`, and the warnings.
    fn global(body: &str) -> (GlobalDefs, Vec<String>) {
        let l = parse_str(
            &format!("global_defs {{\n{body}\n}}\n"),
            &ParseOptions::default(),
        );
        let warnings = l.diagnostics.iter().map(|d| d.message.clone()).collect();
        (l.config.global, warnings)
    }

    #[test]
    fn table_name_defaults_and_resets_priority_and_first_mark() {
        let (g, _) = global(" nftables_ipvs");
        assert_eq!(g.nftables_ipvs.as_deref(), Some("keepalived_ipvs"));
        let (g, _) = global(
            " nftables_ipvs_priority 7\n nftables_ipvs_start_fwmark 5\n nftables_ipvs lb\n \
             nftables_ipvs_priority -300",
        );
        assert_eq!(g.nftables_ipvs.as_deref(), Some("lb"));
        assert_eq!(g.nftables_ipvs_priority, Some(-300));
        assert_eq!(g.nftables_ipvs_start_fwmark, 1000);
    }

    #[test]
    fn a_second_or_too_long_name_is_ignored() {
        let (g, w) = global(" nftables_ipvs one\n nftables_ipvs two");
        assert_eq!(g.nftables_ipvs.as_deref(), Some("one"));
        assert!(w
            .iter()
            .any(|m| m.contains("ipvs nftables already specified - ignoring")));
        let (g, w) = global(&format!(" nftables_ipvs {}", "t".repeat(256)));
        assert_eq!(g.nftables_ipvs, None);
        assert!(w.iter().any(|m| m.contains("table name too long")));
    }
}
