//! `vrrp_instance {}` and `vrrp_sync_group {}` (`init_vrrp_keywords()`,
//! `keepalived/vrrp/vrrp_parser.c`).

use super::block_name;
use super::global::garp_extra_if;
use super::track::{track_bfd_refs, track_refs};
use super::{parse_ip_address, parse_route, parse_rule};
use crate::config::diag::DiagClass;
use crate::config::model::*;
use crate::config::parser::{parse_bool, parse_ip, Parser, Stmt};
use crate::config::registry::Block;

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
    let routing = super::iproute_names::RoutingCtx::of(cfg);
    p.block_in(Block::VrrpInstance, st, |p, s| {
        // The bfd_instances read so far: keepalived looks a track_bfd up as it reads it.
        if s.kw() == crate::config::registry::vrrp::instance::TRACK_BFD {
            let refs = track_bfd_refs(p, &s, &vi.name, &cfg.tracked_bfds);
            vi.trackers.bfds.extend(refs);
            return;
        }
        keyword(p, &s, &mut vi, &routing)
    });
    cfg.instances.push(vi);
}

fn keyword(
    p: &mut Parser<'_>,
    s: &Stmt,
    vi: &mut VrrpInstance,
    routing: &super::iproute_names::RoutingCtx,
) {
    use crate::config::registry::vrrp::instance as kw;
    macro_rules! set {
        ($kw:expr, $field:expr, $v:expr) => {
            if let Some(v) = $v {
                $field = v;
                vi.explicit.set($kw);
            }
        };
    }
    // Any of these asks for unicast, peers or not (`VRRP_FLAG_UNICAST_CONFIGURED`).
    if matches!(
        s.kw(),
        kw::UNICAST_PEER
            | kw::UNICAST_SRC_IP
            | kw::CHECK_UNICAST_SRC
            | kw::OLD_UNICAST_CHECKSUM
            | kw::UNICAST_FAULT_NO_PEER
    ) {
        vi.explicit.set(Given::UnicastConfigured);
    }
    match s.kw() {
        kw::STATE => {
            match p.str_arg(s, 0, "MASTER or BACKUP").as_deref() {
                Some("MASTER") => set!(Given::State, vi.state, Some(InitialState::Master)),
                Some("BACKUP") => set!(Given::State, vi.state, Some(InitialState::Backup)),
                Some(other) => p.bad_arg(
                    s,
                    0,
                    format!("'state' expects MASTER or BACKUP, found '{other}'"),
                ),
                None => {}
            }
            p.extra(s, 1);
        }
        kw::INTERFACE => {
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
        kw::VIRTUAL_ROUTER_ID => set!(
            Given::VirtualRouterId,
            vi.virtual_router_id,
            p.int_value(s, 1, 255)
        ),
        kw::PRIORITY => set!(Given::Priority, vi.priority, p.int_value(s, 1, 255)),
        kw::ADVERT_INT => set!(
            Given::AdvertInt,
            vi.advert_int_us,
            p.timer_value(s, SECOND / 100, 255 * SECOND)
        ),
        kw::VERSION => set!(Given::Version, vi.version, p.int_value(s, 2, 3)),
        kw::VIRTUAL_IPADDRESS => {
            for line in p.lines(s) {
                if let Some(a) = parse_ip_address(p, &line, true) {
                    vi.virtual_ipaddress.push(a);
                }
            }
        }
        kw::VIRTUAL_IPADDRESS_EXCLUDED => {
            for line in p.lines(s) {
                if let Some(a) = parse_ip_address(p, &line, false) {
                    vi.virtual_ipaddress_excluded.push(a);
                }
            }
        }
        kw::NO_VIRTUAL_IPADDRESS => vi.no_virtual_ipaddress = p.flag(s),
        kw::VIRTUAL_ROUTES => {
            for line in p.lines(s) {
                if let Some(r) = parse_route(p, &line, routing) {
                    vi.virtual_routes.push(r);
                }
            }
        }
        kw::VIRTUAL_RULES => {
            for line in p.lines(s) {
                let given = routing.given_with(&vi.virtual_rules);
                if let Some(r) = parse_rule(p, &line, routing, given) {
                    vi.virtual_rules.push(r);
                }
            }
        }
        kw::UNICAST_SRC_IP | kw::MCAST_SRC_IP => vi.src_ip = p.ip_value(s),
        kw::UNICAST_PEER => {
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
        kw::UNICAST_TTL => vi.unicast_ttl = p.int_value(s, 0, 255),
        kw::UNICAST_FAULT_NO_PEER => vi.unicast_fault_no_peer = p.flag(s),
        kw::CHECK_UNICAST_SRC => set!(
            Given::CheckUnicastSrc,
            vi.check_unicast_src,
            Some(p.flag(s))
        ),
        kw::OLD_UNICAST_CHECKSUM => {
            vi.old_unicast_checksum = Some(s.arg(0) != Some("never"));
            p.extra(s, 1);
        }
        kw::MCAST_DST_IP => vi.mcast_dst_ip = p.ip_value(s),
        kw::TRACK_SRC_IP => vi.track_src_ip = p.flag(s),
        kw::VRF => vi.vrf = p.value(s, "a VRF name"),
        kw::V3_CHECKSUM_AS_V2 => set!(Given::V3ChecksumAsV2, vi.v3_checksum_as_v2, Some(p.flag(s))),
        kw::AUTHENTICATION => authentication(p, s, vi),
        kw::AUTH_HMAC => auth_hmac(p, s, vi),
        kw::TRACK_INTERFACE => vi.trackers.interfaces.extend(track_refs(p, s, -253, 253)),
        kw::TRACK_SCRIPT => vi.trackers.scripts.extend(track_refs(p, s, -253, 253)),
        kw::TRACK_FILE => vi.trackers.files.extend(track_refs(p, s, -254, 254)),
        kw::TRACK_PROCESS => vi.trackers.processes.extend(track_refs(p, s, -254, 254)),
        // Read by instance(), which has the bfd_instances.
        kw::TRACK_BFD => {}
        kw::DONT_TRACK_PRIMARY => vi.dont_track_primary = p.flag(s),
        kw::NOPREEMPT => set!(Given::Nopreempt, vi.nopreempt, Some(p.flag(s))),
        kw::PREEMPT => set!(Given::Nopreempt, vi.nopreempt, Some(!p.flag(s))),
        kw::PREEMPT_DELAY => set!(
            Given::PreemptDelay,
            vi.preempt_delay_us,
            p.timer_value(s, 0, 1000 * SECOND)
        ),
        kw::ACCEPT => set!(Given::Accept, vi.accept, Some(p.flag(s))),
        kw::NO_ACCEPT => set!(Given::Accept, vi.accept, Some(!p.flag(s))),
        kw::STRICT_MODE => set!(Given::StrictMode, vi.strict_mode, Some(p.flag(s))),
        kw::SKIP_CHECK_ADV_ADDR => set!(
            Given::SkipCheckAdvAddr,
            vi.skip_check_adv_addr,
            Some(p.flag(s))
        ),
        kw::USE_VMAC => {
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
            vi.use_vmac = Some(Box::new(v));
        }
        kw::USE_VMAC_ADDR => vi.use_vmac_addr = p.flag(s),
        kw::VMAC_XMIT_BASE => vi.vmac_xmit_base = p.flag(s),
        kw::USE_IPVLAN => vi.use_ipvlan = Some(s.args.iter().map(|t| t.text.to_string()).collect()),
        kw::NATIVE_IPV6 => {
            p.warn(
                s,
                s.kw.col,
                "'native_ipv6' is deprecated: an instance is IPv6 when its first VIP is".into(),
            );
            vi.native_ipv6 = p.flag(s)
        }
        kw::GARP_MASTER_DELAY => set!(
            Given::GarpMasterDelay,
            vi.garp_master_delay_us,
            p.timer_value(s, 0, 255 * SECOND)
        ),
        kw::GARP_MASTER_REPEAT => set!(
            Given::GarpMasterRepeat,
            vi.garp_master_repeat,
            p.repeat_value(s)
        ),
        kw::GARP_MASTER_REFRESH => set!(
            Given::GarpMasterRefresh,
            vi.garp_master_refresh_us,
            p.timer_value(s, 0, 86400 * SECOND)
        ),
        kw::GARP_MASTER_REFRESH_REPEAT => set!(
            Given::GarpMasterRefreshRepeat,
            vi.garp_master_refresh_repeat,
            p.repeat_value(s)
        ),
        kw::GARP_LOWER_PRIO_DELAY => set!(
            Given::GarpLowerPrioDelay,
            vi.garp_lower_prio_delay_us,
            p.timer_value(s, 0, 255 * SECOND)
        ),
        kw::GARP_LOWER_PRIO_REPEAT => set!(
            Given::GarpLowerPrioRepeat,
            vi.garp_lower_prio_repeat,
            p.int_value(s, 0, 255)
        ),
        kw::GARP_EXTRA_IF | kw::VMAC_GARP_INTVL => vi.garp_extra_if = garp_extra_if(p, s, 0),
        kw::LOWER_PRIO_NO_ADVERT => set!(
            Given::LowerPrioNoAdvert,
            vi.lower_prio_no_advert,
            Some(p.flag(s))
        ),
        kw::HIGHER_PRIO_SEND_ADVERT => set!(
            Given::HigherPrioSendAdvert,
            vi.higher_prio_send_advert,
            Some(p.flag(s))
        ),
        kw::OWNER_IGNORE_ADVERTS => set!(
            Given::OwnerIgnoreAdverts,
            vi.owner_ignore_adverts,
            Some(p.flag(s))
        ),
        kw::DOWN_TIMER_ADVERTS => set!(
            Given::DownTimerAdverts,
            vi.down_timer_adverts,
            p.int_value(s, 1, 100)
        ),
        kw::TIMER_EXPIRED_BACKUP => {
            vi.timer_expired_backup = Some(if s.args.is_empty() {
                254
            } else {
                p.int_value(s, 1, 254).unwrap_or(254)
            });
        }
        kw::THREAD_TIMER_EXPIRED => p.error(
            s,
            s.kw.col,
            DiagClass::Semantic,
            "'thread_timer_expired' was renamed: please replace it with 'timer_expired_backup'"
                .into(),
        ),
        kw::NOTIFY_MASTER => vi.notifies.notify_master = p.command(s).map(Box::new),
        kw::NOTIFY_BACKUP => vi.notifies.notify_backup = p.command(s).map(Box::new),
        kw::NOTIFY_FAULT => vi.notifies.notify_fault = p.command(s).map(Box::new),
        kw::NOTIFY_STOP => vi.notifies.notify_stop = p.command(s).map(Box::new),
        kw::NOTIFY => vi.notifies.notify = p.command(s).map(Box::new),
        kw::NOTIFY_DELETED => {
            vi.notify_deleted = Some(if s.args.is_empty() {
                None
            } else {
                p.command(s).map(Box::new)
            })
        }
        kw::NOTIFY_MASTER_RX_LOWER_PRI => {
            vi.notify_master_rx_lower_pri = p.command(s).map(Box::new)
        }
        kw::NOTIFY_PRIORITY_CHANGES => set!(
            Given::NotifyPriorityChanges,
            vi.notify_priority_changes,
            Some(p.flag(s))
        ),
        kw::SMTP_ALERT => set!(Given::SmtpAlert, vi.smtp_alert, Some(p.flag(s))),
        kw::PROMOTE_SECONDARIES => vi.promote_secondaries = p.flag(s),
        kw::KERNEL_RX_BUF_SIZE => vi.kernel_rx_buf_size = p.int_value(s, 1, u32::MAX as i64),
        kw::DEBUG => {
            vi.debug = if s.args.is_empty() {
                1
            } else {
                p.int_value(s, 0, 4).unwrap_or(0)
            };
        }
        kw::LINKBEAT_USE_POLLING => vi.linkbeat_use_polling = p.flag(s),
        kw::LVS_SYNC_DAEMON_INTERFACE => {
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
    use crate::config::registry::auth::authentication as kw;
    let mut kind = None;
    let mut pass = None;
    p.block_in(Block::Authentication, st, |p, s| match s.kw() {
        kw::AUTH_TYPE => {
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
        kw::AUTH_PASS => {
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
    use crate::config::registry::auth::hmac as kw;
    let mut h = AuthHmac {
        keys: Vec::new(),
        active_key: None,
        anti_replay: "time".into(),
        time_window_s: 0,
        mode: "enforce".into(),
    };
    p.block_in(Block::AuthHmac, st, |p, s| match s.kw() {
        kw::KEY => {
            if let (Some(id), Some(src)) = (
                p.int(&s, 0, 0, 255),
                p.str_arg(&s, 1, "hex:…, file:… or an ASCII key"),
            ) {
                h.keys.push(HmacKey { id, source: src });
            }
            p.extra(&s, 2);
        }
        kw::ACTIVE_KEY => h.active_key = p.int_value(&s, 0, 255),
        kw::ANTI_REPLAY => {
            if let Some(m) = p.choice(&s, 0, &["time", "monotonic"]) {
                h.anti_replay = m;
            }
            p.extra(&s, 1);
        }
        kw::TIME_WINDOW => h.time_window_s = p.int_value(&s, 1, 300).unwrap_or(0),
        kw::MODE => {
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
    vi.auth_hmac = Some(Box::new(h));
}

pub fn sync_group(p: &mut Parser<'_>, st: &Stmt, cfg: &mut Config) {
    use crate::config::registry::vrrp::sync_group as kw;
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
    p.block_in(Block::VrrpSyncGroup, st, |p, s| match s.kw() {
        kw::GROUP => g
            .members
            .extend(p.words(&s).into_iter().map(|t| t.text.to_string())),
        kw::TRACK_INTERFACE => g.trackers.interfaces.extend(track_refs(p, &s, -253, 253)),
        kw::TRACK_SCRIPT => g.trackers.scripts.extend(track_refs(p, &s, -253, 253)),
        kw::TRACK_FILE => g.trackers.files.extend(track_refs(p, &s, -254, 254)),
        kw::TRACK_PROCESS => g.trackers.processes.extend(track_refs(p, &s, -254, 254)),
        kw::TRACK_BFD => {
            let refs = track_bfd_refs(p, &s, &g.name, &cfg.tracked_bfds);
            g.trackers.bfds.extend(refs);
        }
        kw::NOTIFY_MASTER => g.notifies.notify_master = p.command(&s).map(Box::new),
        kw::NOTIFY_BACKUP => g.notifies.notify_backup = p.command(&s).map(Box::new),
        kw::NOTIFY_FAULT => g.notifies.notify_fault = p.command(&s).map(Box::new),
        kw::NOTIFY_STOP => g.notifies.notify_stop = p.command(&s).map(Box::new),
        kw::NOTIFY => g.notifies.notify = p.command(&s).map(Box::new),
        kw::SMTP_ALERT => g.smtp_alert = Some(p.flag(&s)),
        // vrrp_gglobal_tracking_handler(): the old name of sync_group_tracking_weight,
        // whatever word follows it.
        kw::GLOBAL_TRACKING => {
            p.warn(
                &s,
                s.kw.col,
                format!("({}) 'global_tracking' is deprecated: it is 'sync_group_tracking_weight'; use track_interface/script/file on the sync group", g.name),
            );
            g.global_tracking = true;
            g.sync_group_tracking_weight = true;
        }
        kw::SYNC_GROUP_TRACKING_WEIGHT => g.sync_group_tracking_weight = p.flag(&s),
        kw::NOTIFY_PRIORITY_CHANGES => {
            g.notify_priority_changes = s.arg(0).map_or(Some(true), parse_bool)
        }
        _ => p.unknown(&s, "vrrp_sync_group"),
    });
    cfg.sync_groups.push(g);
}
