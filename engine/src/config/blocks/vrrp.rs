//! `vrrp_instance {}` and `vrrp_sync_group {}` (`init_vrrp_keywords()`,
//! `keepalived/vrrp/vrrp_parser.c`).

use super::addr::{parse_ip_address, parse_route, parse_rule};
use super::block_name;
use super::global::garp_extra_if;
use super::track::track_refs;
use crate::config::diag::DiagClass;
use crate::config::model::*;
use crate::config::parser::{parse_bool, parse_ip, Parser, Stmt};

pub fn new_instance(name: String) -> VrrpInstance {
    VrrpInstance {
        name,
        state: InitialState::Backup,
        interface: None,
        virtual_router_id: 0,
        priority: 100,
        advert_int_us: SECOND,
        version: 2,
        virtual_ipaddress: Vec::new(),
        virtual_ipaddress_excluded: Vec::new(),
        no_virtual_ipaddress: false,
        virtual_routes: Vec::new(),
        virtual_rules: Vec::new(),
        src_ip: None,
        unicast_peers: Vec::new(),
        unicast_ttl: None,
        unicast_fault_no_peer: false,
        check_unicast_src: false,
        old_unicast_checksum: None,
        mcast_dst_ip: None,
        track_src_ip: false,
        vrf: None,
        v3_checksum_as_v2: false,
        authentication: None,
        auth_hmac: None,
        trackers: Trackers::default(),
        dont_track_primary: false,
        nopreempt: false,
        preempt_delay_us: 0,
        accept: true,
        strict_mode: false,
        skip_check_adv_addr: false,
        use_vmac: None,
        use_vmac_addr: false,
        vmac_xmit_base: false,
        use_ipvlan: None,
        native_ipv6: false,
        garp_master_delay_us: 5 * SECOND,
        garp_master_repeat: 5,
        garp_master_refresh_us: 0,
        garp_master_refresh_repeat: 1,
        garp_lower_prio_delay_us: 5 * SECOND,
        garp_lower_prio_repeat: 5,
        garp_extra_if: None,
        lower_prio_no_advert: false,
        higher_prio_send_advert: false,
        owner_ignore_adverts: false,
        down_timer_adverts: 3,
        timer_expired_backup: None,
        notifies: Notifies::default(),
        notify_deleted: None,
        notify_master_rx_lower_pri: None,
        notify_priority_changes: false,
        smtp_alert: false,
        promote_secondaries: false,
        kernel_rx_buf_size: None,
        debug: 0,
        linkbeat_use_polling: false,
        lvs_sync_daemon_interface: None,
        sync_group: None,
        explicit: Explicit::default(),
        defined_at: None,
    }
}

pub fn instance(p: &mut Parser<'_>, st: &Stmt, cfg: &mut Config) {
    let Some(name) = block_name(p, st) else {
        p.skip_block(st);
        return;
    };
    let mut vi = new_instance(name);
    vi.defined_at = Some(st.loc());
    p.block(st, |p, s| keyword(p, &s, &mut vi));
    cfg.instances.push(vi);
}

fn keyword(p: &mut Parser<'_>, s: &Stmt, vi: &mut VrrpInstance) {
    macro_rules! set {
        ($kw:literal, $field:expr, $v:expr) => {
            if let Some(v) = $v {
                $field = v;
                vi.explicit.set($kw);
            }
        };
    }
    match s.kw() {
        "state" => {
            match p.str_arg(s, 0, "MASTER or BACKUP").as_deref() {
                Some("MASTER") => set!("state", vi.state, Some(InitialState::Master)),
                Some("BACKUP") => set!("state", vi.state, Some(InitialState::Backup)),
                Some(other) => p.bad_arg(
                    s,
                    0,
                    format!("'state' expects MASTER or BACKUP, found '{other}'"),
                ),
                None => {}
            }
            p.extra(s, 1);
        }
        "interface" => {
            if let Some(i) = p.value(s, "an interface name") {
                if i == "lo" {
                    p.bad_arg(
                        s,
                        0,
                        "a VRRP instance cannot run on the loopback interface".into(),
                    );
                } else {
                    vi.interface = Some(i);
                }
            }
        }
        "virtual_router_id" => set!(
            "virtual_router_id",
            vi.virtual_router_id,
            p.int_value(s, 1, 255)
        ),
        "priority" => set!("priority", vi.priority, p.int_value(s, 1, 255)),
        "advert_int" => set!(
            "advert_int",
            vi.advert_int_us,
            p.timer_value(s, SECOND / 100, 255 * SECOND)
        ),
        "version" => set!("version", vi.version, p.int_value(s, 2, 3)),
        "virtual_ipaddress" => {
            for line in p.lines(s) {
                if let Some(a) = parse_ip_address(p, &line, true) {
                    vi.virtual_ipaddress.push(a);
                }
            }
        }
        "virtual_ipaddress_excluded" => {
            for line in p.lines(s) {
                if let Some(a) = parse_ip_address(p, &line, false) {
                    vi.virtual_ipaddress_excluded.push(a);
                }
            }
        }
        "no_virtual_ipaddress" => vi.no_virtual_ipaddress = p.flag(s),
        "virtual_routes" => {
            for line in p.lines(s) {
                if let Some(r) = parse_route(p, &line) {
                    vi.virtual_routes.push(r);
                }
            }
        }
        "virtual_rules" => {
            for line in p.lines(s) {
                if let Some(r) = parse_rule(p, &line) {
                    vi.virtual_rules.push(r);
                }
            }
        }
        "unicast_src_ip" | "mcast_src_ip" => vi.src_ip = p.ip_value(s),
        "unicast_peer" => {
            for line in p.lines(s) {
                let Some(address) = parse_ip(line.kw()) else {
                    p.error(
                        &line,
                        line.kw.col,
                        DiagClass::Value,
                        format!("expected a unicast peer address, found '{}'", line.kw()),
                    );
                    continue;
                };
                let mut peer = UnicastPeer {
                    address,
                    min_ttl: None,
                    max_ttl: None,
                };
                let mut i = 0;
                while i < line.args.len() {
                    match line.args[i].text.as_str() {
                        "min_ttl" => peer.min_ttl = p.int(&line, i + 1, 0, 255),
                        "max_ttl" => peer.max_ttl = p.int(&line, i + 1, 0, 255),
                        w => {
                            let w = w.to_string();
                            p.bad_arg(&line, i, format!("unknown unicast_peer option '{w}' (expected min_ttl or max_ttl)"));
                            i += 1;
                            continue;
                        }
                    }
                    i += 2;
                }
                if let (Some(lo), Some(hi)) = (peer.min_ttl, peer.max_ttl) {
                    if lo > hi {
                        p.error(
                            &line,
                            line.kw.col,
                            DiagClass::Value,
                            format!("unicast_peer {address}: min_ttl {lo} is above max_ttl {hi}"),
                        );
                    }
                }
                vi.unicast_peers.push(peer);
            }
        }
        "unicast_ttl" => vi.unicast_ttl = p.int_value(s, 0, 255),
        "unicast_fault_no_peer" => vi.unicast_fault_no_peer = p.flag(s),
        "check_unicast_src" => set!("check_unicast_src", vi.check_unicast_src, Some(p.flag(s))),
        "old_unicast_checksum" => {
            vi.old_unicast_checksum = Some(s.arg(0) != Some("never"));
            p.extra(s, 1);
        }
        "mcast_dst_ip" => vi.mcast_dst_ip = p.ip_value(s),
        "track_src_ip" => vi.track_src_ip = p.flag(s),
        "vrf" => vi.vrf = p.value(s, "a VRF name"),
        "v3_checksum_as_v2" => set!("v3_checksum_as_v2", vi.v3_checksum_as_v2, Some(p.flag(s))),
        "authentication" => authentication(p, s, vi),
        "auth_hmac" => auth_hmac(p, s, vi),
        "track_interface" => vi.trackers.interfaces.extend(track_refs(p, s, -253, 253)),
        "track_script" => vi.trackers.scripts.extend(track_refs(p, s, -253, 253)),
        "track_file" => vi.trackers.files.extend(track_refs(p, s, -254, 254)),
        "track_process" => vi.trackers.processes.extend(track_refs(p, s, -254, 254)),
        "track_bfd" => vi.trackers.bfds.extend(track_refs(p, s, -253, 253)),
        "dont_track_primary" => vi.dont_track_primary = p.flag(s),
        "nopreempt" => set!("nopreempt", vi.nopreempt, Some(p.flag(s))),
        "preempt" => set!("nopreempt", vi.nopreempt, Some(!p.flag(s))),
        "preempt_delay" => set!(
            "preempt_delay",
            vi.preempt_delay_us,
            p.timer_value(s, 0, 1000 * SECOND)
        ),
        "accept" => set!("accept", vi.accept, Some(p.flag(s))),
        "no_accept" => set!("accept", vi.accept, Some(!p.flag(s))),
        "strict_mode" => set!("strict_mode", vi.strict_mode, Some(p.flag(s))),
        "skip_check_adv_addr" => set!(
            "skip_check_adv_addr",
            vi.skip_check_adv_addr,
            Some(p.flag(s))
        ),
        "use_vmac" => {
            let mut v = Vmac::default();
            for (i, t) in s.args.iter().enumerate() {
                let w = t.text.as_str();
                if w == "netlink_notify_msg" {
                    v.netlink_notify_msg = true;
                } else if w == "group" {
                    v.group = s.arg(i + 1).map(str::to_string);
                } else if i > 0 && s.arg(i - 1) == Some("group") {
                } else if is_mac(w) {
                    v.mac = Some(w.to_string());
                } else if v.name.is_none() {
                    v.name = Some(w.to_string());
                } else if v.base_interface.is_none() {
                    v.base_interface = Some(w.to_string());
                } else {
                    p.warn(s, t.col, format!("ignoring unknown use_vmac option '{w}'"));
                }
            }
            vi.use_vmac = Some(v);
        }
        "use_vmac_addr" => vi.use_vmac_addr = p.flag(s),
        "vmac_xmit_base" => vi.vmac_xmit_base = p.flag(s),
        "use_ipvlan" => vi.use_ipvlan = Some(s.args.iter().map(|t| t.text.to_string()).collect()),
        "native_ipv6" => {
            p.warn(
                s,
                s.kw.col,
                "'native_ipv6' is deprecated: an instance is IPv6 when its first VIP is".into(),
            );
            vi.native_ipv6 = p.flag(s)
        }
        "garp_master_delay" => set!(
            "garp_master_delay",
            vi.garp_master_delay_us,
            p.timer_value(s, 0, 255 * SECOND)
        ),
        "garp_master_repeat" => set!(
            "garp_master_repeat",
            vi.garp_master_repeat,
            p.int_value(s, 0, 255)
        ),
        "garp_master_refresh" => set!(
            "garp_master_refresh",
            vi.garp_master_refresh_us,
            p.timer_value(s, 0, 86400 * SECOND)
        ),
        "garp_master_refresh_repeat" => set!(
            "garp_master_refresh_repeat",
            vi.garp_master_refresh_repeat,
            p.int_value(s, 0, 255)
        ),
        "garp_lower_prio_delay" => set!(
            "garp_lower_prio_delay",
            vi.garp_lower_prio_delay_us,
            p.timer_value(s, 0, 255 * SECOND)
        ),
        "garp_lower_prio_repeat" => set!(
            "garp_lower_prio_repeat",
            vi.garp_lower_prio_repeat,
            p.int_value(s, 0, 255)
        ),
        "garp_extra_if" | "vmac_garp_intvl" => vi.garp_extra_if = garp_extra_if(p, s),
        "lower_prio_no_advert" => set!(
            "lower_prio_no_advert",
            vi.lower_prio_no_advert,
            Some(p.flag(s))
        ),
        "higher_prio_send_advert" => set!(
            "higher_prio_send_advert",
            vi.higher_prio_send_advert,
            Some(p.flag(s))
        ),
        "owner_ignore_adverts" => set!(
            "owner_ignore_adverts",
            vi.owner_ignore_adverts,
            Some(p.flag(s))
        ),
        "down_timer_adverts" => set!(
            "down_timer_adverts",
            vi.down_timer_adverts,
            p.int_value(s, 1, 100)
        ),
        "timer_expired_backup" => {
            vi.timer_expired_backup = Some(if s.args.is_empty() {
                254
            } else {
                p.int_value(s, 1, 254).unwrap_or(254)
            });
        }
        "thread_timer_expired" => p.error(
            s,
            s.kw.col,
            DiagClass::Semantic,
            "'thread_timer_expired' was renamed: please replace it with 'timer_expired_backup'"
                .into(),
        ),
        "notify_master" => vi.notifies.notify_master = p.command(s),
        "notify_backup" => vi.notifies.notify_backup = p.command(s),
        "notify_fault" => vi.notifies.notify_fault = p.command(s),
        "notify_stop" => vi.notifies.notify_stop = p.command(s),
        "notify" => vi.notifies.notify = p.command(s),
        "notify_deleted" => {
            vi.notify_deleted = Some(if s.args.is_empty() {
                None
            } else {
                p.command(s)
            })
        }
        "notify_master_rx_lower_pri" => vi.notify_master_rx_lower_pri = p.command(s),
        "notify_priority_changes" => set!(
            "notify_priority_changes",
            vi.notify_priority_changes,
            Some(p.flag(s))
        ),
        "smtp_alert" => set!("smtp_alert", vi.smtp_alert, Some(p.flag(s))),
        "promote_secondaries" => vi.promote_secondaries = p.flag(s),
        "kernel_rx_buf_size" => vi.kernel_rx_buf_size = p.int_value(s, 1, u32::MAX as i64),
        "debug" => {
            vi.debug = if s.args.is_empty() {
                1
            } else {
                p.int_value(s, 0, 4).unwrap_or(0)
            };
        }
        "linkbeat_use_polling" => vi.linkbeat_use_polling = p.flag(s),
        "lvs_sync_daemon_interface" => {
            p.warn(
                s,
                s.kw.col,
                "'lvs_sync_daemon_interface' is deprecated: use 'lvs_sync_daemon' in global_defs"
                    .into(),
            );
            vi.lvs_sync_daemon_interface = p.value(s, "an interface");
        }
        _ => p.unknown(s, "vrrp_instance"),
    }
}

fn is_mac(w: &str) -> bool {
    let parts: Vec<&str> = w.split(':').collect();
    parts.len() == 6
        && parts
            .iter()
            .all(|x| x.len() <= 2 && !x.is_empty() && x.chars().all(|c| c.is_ascii_hexdigit()))
}

fn authentication(p: &mut Parser<'_>, st: &Stmt, vi: &mut VrrpInstance) {
    let mut kind = None;
    let mut pass = None;
    p.block(st, |p, s| match s.kw() {
        "auth_type" => {
            match p.str_arg(&s, 0, "PASS or AH").as_deref() {
                Some("PASS") => kind = Some(AuthType::Pass),
                Some("AH") => kind = Some(AuthType::Ah),
                Some(o) => p.bad_arg(
                    &s,
                    0,
                    format!("'auth_type' expects PASS or AH, found '{o}'"),
                ),
                None => {}
            }
            p.extra(&s, 1);
        }
        "auth_pass" => {
            if let Some(pw) = p.value(&s, "a password") {
                if pw.len() > 8 {
                    p.warn(
                        &s,
                        s.args[0].col,
                        "auth_pass is longer than 8 characters: only the first 8 are used".into(),
                    );
                }
                // keepalived copies at most 8 bytes (`vrrp_auth_pass_handler()`).
                let mut end = pw.len().min(8);
                while !pw.is_char_boundary(end) {
                    end -= 1;
                }
                pass = Some(pw[..end].to_string());
            }
        }
        _ => p.unknown(&s, "authentication"),
    });
    match kind {
        Some(auth_type) => {
            vi.authentication = Some(Authentication {
                auth_type,
                auth_pass: pass.unwrap_or_default(),
            })
        }
        None => p.error(
            st,
            st.kw.col,
            DiagClass::Semantic,
            "authentication block has no auth_type".into(),
        ),
    }
}

fn auth_hmac(p: &mut Parser<'_>, st: &Stmt, vi: &mut VrrpInstance) {
    let mut h = AuthHmac {
        keys: Vec::new(),
        active_key: None,
        anti_replay: "time".into(),
        time_window_s: 0,
        mode: "enforce".into(),
    };
    p.block(st, |p, s| match s.kw() {
        "key" => {
            if let (Some(id), Some(src)) = (
                p.int(&s, 0, 0, 255),
                p.str_arg(&s, 1, "hex:…, file:… or an ASCII key"),
            ) {
                h.keys.push(HmacKey { id, source: src });
            }
            p.extra(&s, 2);
        }
        "active_key" => h.active_key = p.int_value(&s, 0, 255),
        "anti_replay" => {
            if let Some(m) = p.choice(&s, 0, &["time", "monotonic"]) {
                h.anti_replay = m;
            }
            p.extra(&s, 1);
        }
        "time_window" => h.time_window_s = p.int_value(&s, 1, 300).unwrap_or(0),
        "mode" => {
            if let Some(m) = p.choice(&s, 0, &["enforce", "permissive", "receive-only"]) {
                h.mode = m;
            }
            p.extra(&s, 1);
        }
        _ => p.unknown(&s, "auth_hmac"),
    });
    if h.keys.is_empty() {
        p.error(
            st,
            st.kw.col,
            DiagClass::Semantic,
            "auth_hmac needs at least one 'key'".into(),
        );
    }
    vi.auth_hmac = Some(h);
}

pub fn sync_group(p: &mut Parser<'_>, st: &Stmt, cfg: &mut Config) {
    let Some(name) = block_name(p, st) else {
        p.skip_block(st);
        return;
    };
    let mut g = SyncGroup {
        name,
        members: Vec::new(),
        trackers: Trackers::default(),
        notifies: Notifies::default(),
        smtp_alert: None,
        global_tracking: false,
        sync_group_tracking_weight: false,
        notify_priority_changes: None,
        defined_at: Some(st.loc()),
    };
    p.block(st, |p, s| match s.kw() {
        "group" => g
            .members
            .extend(p.words(&s).into_iter().map(|t| t.text.to_string())),
        "track_interface" => g.trackers.interfaces.extend(track_refs(p, &s, -253, 253)),
        "track_script" => g.trackers.scripts.extend(track_refs(p, &s, -253, 253)),
        "track_file" => g.trackers.files.extend(track_refs(p, &s, -254, 254)),
        "track_process" => g.trackers.processes.extend(track_refs(p, &s, -254, 254)),
        "track_bfd" => g.trackers.bfds.extend(track_refs(p, &s, -253, 253)),
        "notify_master" => g.notifies.notify_master = p.command(&s),
        "notify_backup" => g.notifies.notify_backup = p.command(&s),
        "notify_fault" => g.notifies.notify_fault = p.command(&s),
        "notify_stop" => g.notifies.notify_stop = p.command(&s),
        "notify" => g.notifies.notify = p.command(&s),
        "smtp_alert" => g.smtp_alert = Some(p.flag(&s)),
        "global_tracking" => {
            p.warn(
                &s,
                s.kw.col,
                "'global_tracking' is deprecated: use 'sync_group_tracking_weight'".into(),
            );
            g.global_tracking = p.flag(&s);
        }
        "sync_group_tracking_weight" => g.sync_group_tracking_weight = p.flag(&s),
        "notify_priority_changes" => {
            g.notify_priority_changes = s.arg(0).map_or(Some(true), parse_bool)
        }
        _ => p.unknown(&s, "vrrp_sync_group"),
    });
    cfg.sync_groups.push(g);
}
