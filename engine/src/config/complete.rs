//! After parsing: inherited values resolved, keepalived's derived values applied, and the
//! cross-keyword rules checked (`vrrp_complete_instance()` in `keepalived/vrrp/vrrp.c`,
//! `check_check_data()` / `alloc_vs()` in `keepalived/check/`).

use super::diag::{DiagClass, Diagnostic, Diagnostics, Location, Severity};
use super::model::*;
use std::collections::BTreeMap;

/// VRRP_MAX_ADDR: an advert carries at most 255 addresses.
const MAX_VIPS: usize = 255;

struct Ctx<'d> {
    diags: &'d mut Diagnostics,
}

impl Ctx<'_> {
    fn say(
        &mut self,
        severity: Severity,
        class: DiagClass,
        at: Option<&Location>,
        message: String,
    ) {
        self.diags.push(Diagnostic {
            severity,
            class,
            location: at.cloned(),
            message,
            source_line: None,
        });
    }
    fn error(&mut self, at: Option<&Location>, message: String) {
        self.say(Severity::Error, DiagClass::Semantic, at, message);
    }
    fn warn(&mut self, at: Option<&Location>, message: String) {
        self.say(Severity::Warning, DiagClass::Note, at, message);
    }
}

pub fn complete(cfg: &mut Config, diags: &mut Diagnostics) {
    let mut cx = Ctx { diags };
    sync_groups(cfg, &mut cx);
    for i in 0..cfg.instances.len() {
        let mut vi = std::mem::replace(&mut cfg.instances[i], super::blocks_new_instance());
        instance(cfg, &mut vi, &mut cx);
        cfg.instances[i] = vi;
    }
    sync_group_bfds(cfg, &mut cx);
    unique_vrids(cfg, &mut cx);
    lvs_sync_daemon(cfg, &mut cx);
    let global = cfg.global.clone();
    let groups = std::mem::take(&mut cfg.virtual_server_groups);
    let track_files: Vec<String> = cfg.track_files.iter().map(|t| t.name.clone()).collect();
    for vs in &mut cfg.virtual_servers {
        virtual_server(vs, &global, &groups, &track_files, &mut cx);
    }
    cfg.virtual_server_groups = groups;
}

/// `lvs_sync_daemon`: an instance-level `lvs_sync_daemon_interface` (deprecated) names
/// its instance; a named instance that does not exist clears it ("Unable to find vrrp
/// instance", `vrrp_complete_init()`), and a found one's VRID is the default sync ID;
/// with no instance the sync ID defaults to 0.
fn lvs_sync_daemon(cfg: &mut Config, cx: &mut Ctx<'_>) {
    if cfg.global.lvs_sync_daemon.is_none() {
        if let Some(vi) = cfg
            .instances
            .iter()
            .find(|vi| vi.lvs_sync_daemon_interface.is_some())
        {
            cfg.global.lvs_sync_daemon = Some(LvsSyncDaemon {
                interface: vi.lvs_sync_daemon_interface.clone().unwrap_or_default(),
                instance: Some(vi.name.clone()),
                id: None,
                maxlen: None,
                port: 8848,
                ttl: None,
                group: None,
            });
        }
    }
    let Some(d) = cfg.global.lvs_sync_daemon.as_mut() else {
        return;
    };
    match &d.instance {
        None => {
            d.id.get_or_insert(0);
        }
        Some(name) => match cfg.instances.iter().find(|vi| &vi.name == name) {
            Some(vi) => {
                d.id.get_or_insert(vi.virtual_router_id);
            }
            // With no instances at all there is no VRRP process to run it, and keepalived
            // -t says nothing; with instances, the VRRP process would clear it.
            None if cfg.instances.is_empty() => {}
            None => {
                cx.warn(
                    None,
                    format!("lvs_sync_daemon: vrrp_instance '{name}' is not defined; the sync daemon is not started"),
                );
                cfg.global.lvs_sync_daemon = None;
            }
        },
    }
}

fn sync_groups(cfg: &mut Config, cx: &mut Ctx<'_>) {
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for g in &cfg.sync_groups {
        if g.members.len() == 1 {
            cx.warn(g.defined_at.as_ref(), format!("vrrp_sync_group {} has only one member; a sync group needs two to synchronise anything", g.name));
        }
        for m in &g.members {
            match cfg.instances.iter_mut().find(|i| &i.name == m) {
                None => cx.error(
                    None,
                    format!(
                        "vrrp_sync_group {}: member '{m}' is not a defined vrrp_instance",
                        g.name
                    ),
                ),
                Some(vi) => {
                    if let Some(other) = seen.insert(m.clone(), g.name.clone()) {
                        cx.error(vi.defined_at.as_ref(), format!("vrrp_instance {m} is in sync groups {other} and {}; an instance can be in one only", g.name));
                    } else {
                        vi.sync_group = Some(g.name.clone());
                    }
                }
            }
        }
    }
}

/// `sync_group_tracking_init()`: a sync group with an address owner among its members
/// cannot have a weighted track_bfd, which then counts as unweighted; a BFD the member
/// also tracks itself is followed once, by the member's entry.
fn sync_group_bfds(cfg: &mut Config, cx: &mut Ctx<'_>) {
    for g in &mut cfg.sync_groups {
        let members = || {
            cfg.instances
                .iter()
                .filter(|vi| vi.sync_group.as_deref() == Some(g.name.as_str()))
        };
        if members().any(|vi| vi.priority == 255) {
            for r in g.trackers.bfds.iter_mut().filter(|r| r.weight != Some(0)) {
                cx.error(
                    g.defined_at.as_ref(),
                    format!(
                        "({}) Cannot have weighted track bfd '{}' with member having priority 255 - setting weight 0",
                        g.name, r.name
                    ),
                );
                r.weight = Some(0);
            }
        }
        for vi in members() {
            for r in &g.trackers.bfds {
                if vi.trackers.bfds.iter().any(|o| o.name == r.name) {
                    cx.warn(
                        vi.defined_at.as_ref(),
                        format!(
                            "({}) track_bfd {} is configured on VRRP instance and sync group. Remove vrrp instance config",
                            vi.name, r.name
                        ),
                    );
                }
            }
        }
    }
}

fn instance(cfg: &Config, vi: &mut VrrpInstance, cx: &mut Ctx<'_>) {
    let g = &cfg.global;
    let at = vi.defined_at.clone();
    let at = at.as_ref();
    let name = vi.name.clone();
    let ex = vi.explicit;

    if !ex.has(Given::VirtualRouterId) {
        cx.error(
            at,
            format!("vrrp_instance {name} has no virtual_router_id (1-255): it is required"),
        );
    }
    // A unicast instance may run without an interface (`vrrp_complete_instance()`); a
    // multicast one is given the default interface, with a warning.
    if vi.interface.is_none() && vi.unicast_peers.is_empty() {
        if let Some(i) = &g.default_interface {
            cx.warn(
                at,
                format!("vrrp_instance {name} names no interface; using default_interface {i}"),
            );
            vi.interface = Some(i.clone());
        }
    }
    // smtp_alert: the instance's own, else smtp_alert_vrrp, else smtp_alert.
    if !ex.has(Given::SmtpAlert) {
        vi.smtp_alert = g.smtp_alert_vrrp.or(g.smtp_alert).unwrap_or(false);
    }
    if let Some(v) = vi.use_vmac.as_mut() {
        // create_vmac_name(): "<vmac_prefix>.<VRID>" unless the instance names it.
        let vmac = v
            .name
            .get_or_insert_with(|| format!("{}.{}", g.vmac_prefix, vi.virtual_router_id));
        if vmac.is_empty() || vmac.len() > 15 || vmac.contains(['/', ' ']) {
            cx.error(
                at,
                format!(
                    "vrrp_instance {name}: use_vmac interface name '{vmac}' is not a valid \
                     interface name (1-15 characters, no '/' or space)"
                ),
            );
        }
        // Unicast adverts cannot come from a virtual MAC: they go out of the base
        // interface (vrrp_complete_instance()).
        if !vi.unicast_peers.is_empty() {
            vi.vmac_xmit_base = true;
        }
    }
    // `state MASTER` without `priority` makes the address owner (`vrrp_complete_instance()`).
    if vi.state == InitialState::Master && !ex.has(Given::Priority) {
        vi.priority = 255;
    }

    // Inherited from global_defs unless the instance says otherwise.
    macro_rules! inherit {
        ($kw:expr, $field:ident, $value:expr) => {
            if !ex.has($kw) {
                vi.$field = $value;
            }
        };
    }
    inherit!(
        Given::LowerPrioNoAdvert,
        lower_prio_no_advert,
        g.vrrp_lower_prio_no_advert
    );
    inherit!(
        Given::HigherPrioSendAdvert,
        higher_prio_send_advert,
        g.vrrp_higher_prio_send_advert
    );
    inherit!(
        Given::DownTimerAdverts,
        down_timer_adverts,
        g.vrrp_down_timer_adverts
    );
    inherit!(
        Given::SkipCheckAdvAddr,
        skip_check_adv_addr,
        g.vrrp_skip_check_adv_addr
    );
    inherit!(
        Given::CheckUnicastSrc,
        check_unicast_src,
        g.vrrp_check_unicast_src
    );
    inherit!(
        Given::V3ChecksumAsV2,
        v3_checksum_as_v2,
        g.v3_checksum_as_v2
    );
    inherit!(
        Given::OwnerIgnoreAdverts,
        owner_ignore_adverts,
        g.vrrp_owner_ignore_adverts
    );
    inherit!(
        Given::NotifyPriorityChanges,
        notify_priority_changes,
        g.vrrp_notify_priority_changes
    );
    inherit!(
        Given::SmtpAlert,
        smtp_alert,
        g.smtp_alert_vrrp.or(g.smtp_alert).unwrap_or(false)
    );
    inherit!(
        Given::GarpMasterDelay,
        garp_master_delay_us,
        g.vrrp_garp_master_delay_us
    );
    inherit!(
        Given::GarpMasterRepeat,
        garp_master_repeat,
        g.vrrp_garp_master_repeat
    );
    inherit!(
        Given::GarpMasterRefresh,
        garp_master_refresh_us,
        g.vrrp_garp_master_refresh_us
    );
    inherit!(
        Given::GarpMasterRefreshRepeat,
        garp_master_refresh_repeat,
        g.vrrp_garp_master_refresh_repeat
    );
    // `vrrp_min_garp` only changes values still at their defaults (`vrrp_min_garp_handler()`).
    if g.vrrp_min_garp {
        let defaults = GlobalDefs::default();
        if !ex.has(Given::GarpMasterRepeat)
            && g.vrrp_garp_master_repeat == defaults.vrrp_garp_master_repeat
        {
            vi.garp_master_repeat = 1;
        }
        if !ex.has(Given::GarpMasterDelay)
            && g.vrrp_garp_master_delay_us == defaults.vrrp_garp_master_delay_us
        {
            vi.garp_master_delay_us = 0;
        }
        if !ex.has(Given::GarpMasterRefresh)
            && g.vrrp_garp_master_refresh_us == defaults.vrrp_garp_master_refresh_us
        {
            vi.garp_master_refresh_us = 0;
        }
        if !ex.has(Given::GarpMasterRefreshRepeat)
            && g.vrrp_garp_master_refresh_repeat == defaults.vrrp_garp_master_refresh_repeat
        {
            vi.garp_master_refresh_repeat = 0;
        }
    }
    inherit!(
        Given::GarpLowerPrioDelay,
        garp_lower_prio_delay_us,
        g.vrrp_garp_lower_prio_delay_us
            .unwrap_or(vi.garp_master_delay_us)
    );
    inherit!(
        Given::GarpLowerPrioRepeat,
        garp_lower_prio_repeat,
        g.vrrp_garp_lower_prio_repeat
            .unwrap_or(vi.garp_master_repeat)
    );
    if vi.garp_extra_if.is_none() {
        vi.garp_extra_if = g.vrrp_garp_extra_if.clone();
    }
    // min_ttl / max_ttl on a peer imply checking the source (`unicast_peer_handler()`).
    if vi
        .unicast_peers
        .iter()
        .any(|p| p.min_ttl.is_some() || p.max_ttl.is_some())
    {
        vi.check_unicast_src = true;
    }

    // Address family and version: IPv6 forces VRRPv3.
    let v6 = vi.is_ipv6();
    if !ex.has(Given::Version) {
        vi.version = g.vrrp_version;
    }
    let strict = g.vrrp_strict || vi.strict_mode;
    if v6 && vi.version == 2 {
        if strict {
            cx.error(at, format!("vrrp_instance {name}: vrrp_strict forbids IPv6 with VRRP version 2 (RFC 3768 is IPv4 only)"));
        } else if ex.has(Given::Version) {
            cx.warn(
                at,
                format!("vrrp_instance {name}: IPv6 needs VRRP version 3; using version 3"),
            );
        }
        vi.version = 3;
    }
    if let Some(first) = vi.virtual_ipaddress.first().map(|a| a.address) {
        let mut moved = Vec::new();
        vi.virtual_ipaddress.retain(|a| {
            if a.address.is_ipv6() == first.is_ipv6() {
                true
            } else {
                moved.push(a.clone());
                false
            }
        });
        for a in moved {
            cx.error(
                at,
                format!(
                    "vrrp_instance {name}: VIP {} is not of the same address family as the first VIP {first}; put it in virtual_ipaddress_excluded",
                    a.address
                ),
            );
        }
        if let std::net::IpAddr::V6(f) = first {
            if (f.segments()[0] & 0xffc0) != 0xfe80 {
                let msg = format!("vrrp_instance {name}: the first IPv6 VIP {first} should be a link-local address (RFC 5798 §5.2.9)");
                if strict {
                    cx.error(at, msg);
                } else {
                    cx.warn(at, msg);
                }
            }
        }
    }
    if vi.virtual_ipaddress.len() > MAX_VIPS {
        let extra = vi.virtual_ipaddress.split_off(MAX_VIPS);
        cx.warn(at, format!("vrrp_instance {name}: {} VIPs beyond the 255 an advert can carry moved to virtual_ipaddress_excluded", extra.len()));
        vi.virtual_ipaddress_excluded.extend(extra);
    }

    // Advert interval: whole seconds for v2, centiseconds (12 bits) for v3.
    if vi.version == 2 {
        let secs = ((vi.advert_int_us + SECOND / 2) / SECOND).clamp(1, 255);
        if secs * SECOND != vi.advert_int_us {
            cx.warn(
                at,
                format!("vrrp_instance {name}: VRRPv2 advert_int is whole seconds; using {secs}"),
            );
        }
        vi.advert_int_us = secs * SECOND;
    } else {
        let centis = ((vi.advert_int_us + 5_000) / 10_000).clamp(1, 4095);
        if centis * 10_000 != vi.advert_int_us {
            cx.warn(at, format!("vrrp_instance {name}: VRRPv3 advert_int is in hundredths of a second (max 40.95); using {}", super::parser_fmt_secs(centis * 10_000)));
        }
        vi.advert_int_us = centis * 10_000;
    }

    // Strict rules look at what was written, before anything below clears it.
    if strict {
        strict_rules(vi, cx);
    } else if !ex.has(Given::Accept) {
        vi.accept = true;
    }

    // Authentication is VRRPv2 over IPv4 only.
    if let Some(auth) = &vi.authentication {
        if vi.version == 3 {
            cx.warn(
                at,
                format!("vrrp_instance {name}: authentication is not part of VRRPv3 - ignoring it"),
            );
            vi.authentication = None;
        } else if auth.auth_type == AuthType::Ah && v6 {
            cx.error(
                at,
                format!("vrrp_instance {name}: AH authentication is IPv4 only"),
            );
        } else if auth.auth_type == AuthType::Ah
            && vi.state == InitialState::Master
            && vi.priority != 255
        {
            // A backup learns the AH sequence number from the master's adverts; one
            // that starts as master has none to continue from, so keepalived starts it
            // as a backup and counts the configuration as wrong (`vrrp_complete_instance()`).
            cx.error(at, format!("vrrp_instance {name}: state MASTER with AH authentication needs priority 255 (an instance starting as master has no AH sequence number to continue); starting as BACKUP"));
            vi.state = InitialState::Backup;
        }
    }

    // Unicast asked for with no peer to send to: keepalived falls back to multicast
    // and reports the configuration as deprecated; with unicast_fault_no_peer the
    // instance stays in FAULT instead, which is not a configuration fault
    // (`vrrp_complete_instance()`).
    if ex.has(Given::UnicastConfigured) && vi.unicast_peers.is_empty() && !vi.unicast_fault_no_peer
    {
        cx.error(
            at,
            format!("vrrp_instance {name}: unicast is configured but unicast_peer names no peer; adverts go to multicast (give peers, or unicast_fault_no_peer to stay in FAULT)"),
        );
    }

    // A TTL for unicast adverts means nothing without peers to send them to
    // (`vrrp_end_handler()`): reported and dropped.
    if vi.unicast_ttl.is_some() && vi.unicast_peers.is_empty() {
        cx.error(
            at,
            format!("vrrp_instance {name}: unicast_ttl needs unicast peers; ignoring it"),
        );
        vi.unicast_ttl = None;
    }

    if vi.virtual_ipaddress.is_empty() && !vi.no_virtual_ipaddress {
        if vi.version == 3 || strict {
            cx.error(
                at,
                format!(
                    "vrrp_instance {name}: VRRP{} needs at least one virtual_ipaddress",
                    if strict { " in strict mode" } else { "v3" }
                ),
            );
        } else {
            cx.warn(at, format!("vrrp_instance {name} has no virtual_ipaddress (use no_virtual_ipaddress to say this is intended)"));
        }
    }

    // Owners never wait, never defer (`vrrp_complete_instance()`).
    if vi.nopreempt && (vi.priority == 255 || vi.state == InitialState::Master) {
        cx.warn(at, format!("vrrp_instance {name}: nopreempt needs 'state BACKUP' and a priority below 255 - clearing it"));
        vi.nopreempt = false;
    }
    if vi.preempt_delay_us > 0 && (vi.nopreempt || vi.state == InitialState::Master) {
        cx.warn(at, format!("vrrp_instance {name}: preempt_delay has no effect with nopreempt or state MASTER - clearing it"));
        vi.preempt_delay_us = 0;
    }

    // Trackers: names must exist; weights resolved to the value in force.
    let in_sync_group = vi.sync_group.is_some();
    let tracking_weight = vi
        .sync_group
        .as_ref()
        .and_then(|n| cfg.sync_groups.iter().find(|g| &g.name == n))
        .is_some_and(|g| g.sync_group_tracking_weight);
    let force_zero = vi.priority == 255 || (in_sync_group && !tracking_weight);
    let scripts = |n: &str| {
        cfg.vrrp_scripts
            .iter()
            .find(|s| s.name == n)
            .map(|s| (s.weight, s.weight_reverse))
    };
    let files = |n: &str| {
        cfg.track_files
            .iter()
            .find(|s| s.name == n)
            .map(|s| (s.weight, s.weight_reverse))
    };
    let procs = |n: &str| {
        cfg.track_processes
            .iter()
            .find(|s| s.name == n)
            .map(|s| (s.weight, s.weight_reverse))
    };
    resolve_refs(
        &mut vi.trackers.scripts,
        scripts,
        "track_script",
        "vrrp_script",
        &name,
        at,
        cx,
    );
    resolve_refs(
        &mut vi.trackers.files,
        files,
        "track_file",
        "track_file",
        &name,
        at,
        cx,
    );
    resolve_refs(
        &mut vi.trackers.processes,
        procs,
        "track_process",
        "vrrp_track_process",
        &name,
        at,
        cx,
    );
    // track_bfd was looked up as it was read (`alloc_track_bfd()`). An owner, or a
    // member of a sync group without sync_group_tracking_weight, drops a weighted one
    // (`vrrp_complete_instance()`: "Ignore any weighted tracked bfd").
    if force_zero {
        let why = if in_sync_group && !tracking_weight {
            "SYNC group"
        } else {
            "address_owner"
        };
        vi.trackers.bfds.retain(|r| {
            let weight = r.weight.unwrap_or(0);
            if weight != 0 {
                cx.error(
                    at,
                    format!(
                        "({name}) ignoring tracked bfd {} with weight {weight} due to {why}",
                        r.name
                    ),
                );
            }
            weight == 0
        });
    }
    for r in &mut vi.trackers.interfaces {
        r.weight.get_or_insert(0);
    }
    if force_zero {
        let all = [
            &mut vi.trackers.interfaces,
            &mut vi.trackers.scripts,
            &mut vi.trackers.files,
            &mut vi.trackers.processes,
        ];
        for list in all {
            for r in list.iter_mut() {
                r.weight = Some(0);
            }
        }
    }
}

/// Checks each tracker reference names a defined tracker and fills in the tracker's own
/// weight where the reference gave none.
fn resolve_refs(
    refs: &mut [TrackRef],
    lookup: impl Fn(&str) -> Option<(i32, bool)>,
    keyword: &str,
    block: &str,
    instance: &str,
    at: Option<&Location>,
    cx: &mut Ctx<'_>,
) {
    for r in refs {
        match lookup(&r.name) {
            Some((weight, reverse)) => {
                if r.weight.is_none() {
                    r.weight = Some(weight);
                    r.reverse = reverse;
                }
            }
            None => cx.error(
                at,
                format!(
                    "vrrp_instance {instance}: {keyword} '{}' is not a defined {block}",
                    r.name
                ),
            ),
        }
    }
}

/// `vrrp_strict`: what RFC conformance forbids is an error naming the keyword; the values
/// it implies are set (`vrrp_complete_instance()`).
fn strict_rules(vi: &mut VrrpInstance, cx: &mut Ctx<'_>) {
    let at = vi.defined_at.clone();
    let at = at.as_ref();
    let name = vi.name.clone();
    let ex = vi.explicit;
    let mut forbid = |cond: bool, what: &str| {
        if cond {
            cx.error(
                at,
                format!("vrrp_instance {name}: vrrp_strict forbids {what}"),
            );
        }
    };
    forbid(
        !vi.unicast_peers.is_empty(),
        "'unicast_peer' (strict VRRP is multicast only)",
    );
    forbid(
        vi.authentication.is_some(),
        "'authentication' (removed from VRRP by RFC 3768)",
    );
    forbid(
        vi.auth_hmac.as_ref().is_some_and(|h| h.mode != "enforce"),
        "'auth_hmac' modes other than enforce",
    );
    forbid(
        ex.has(Given::PreemptDelay) && vi.preempt_delay_us > 0,
        "'preempt_delay'",
    );
    forbid(
        vi.state == InitialState::Master && vi.priority != 255,
        "'state MASTER' below priority 255 (only the address owner starts as master)",
    );
    forbid(
        vi.priority == 255 && ex.has(Given::State) && vi.state == InitialState::Backup,
        "'priority 255' with 'state BACKUP' (the address owner is master)",
    );
    forbid(
        vi.version == 2 && ex.has(Given::Accept) && vi.accept,
        "'accept' with VRRP version 2",
    );
    forbid(
        ex.has(Given::GarpLowerPrioRepeat) && vi.garp_lower_prio_repeat > 0,
        "'garp_lower_prio_repeat'",
    );
    forbid(vi.vmac_xmit_base, "'vmac_xmit_base'");
    forbid(
        vi.use_vmac.as_ref().is_some_and(|v| v.mac.is_some()),
        "a MAC address on 'use_vmac'",
    );
    forbid(
        ex.has(Given::DownTimerAdverts) && vi.down_timer_adverts != 3,
        "'down_timer_adverts' other than 3",
    );
    forbid(
        ex.has(Given::LowerPrioNoAdvert) && !vi.lower_prio_no_advert,
        "'lower_prio_no_advert false'",
    );
    forbid(
        ex.has(Given::HigherPrioSendAdvert) && vi.higher_prio_send_advert,
        "'higher_prio_send_advert'",
    );
    forbid(vi.no_virtual_ipaddress, "'no_virtual_ipaddress'");
    if !ex.has(Given::Accept) {
        vi.accept = vi.priority == 255;
    }
    vi.garp_lower_prio_repeat = 0;
    vi.lower_prio_no_advert = true;
    vi.higher_prio_send_advert = false;
    vi.down_timer_adverts = 3;
    if vi.priority == 255 {
        vi.owner_ignore_adverts = true;
    }
    vi.strict_mode = true;
}

/// A VRID identifies one router per LAN and family (RFC 5798 §5.2.3).
fn unique_vrids(cfg: &Config, cx: &mut Ctx<'_>) {
    let mut seen: BTreeMap<(String, bool, u8), String> = BTreeMap::new();
    for vi in &cfg.instances {
        if vi.virtual_router_id == 0 {
            continue;
        }
        let v6 = vi
            .virtual_ipaddress
            .first()
            .is_some_and(|a| a.address.is_ipv6());
        let key = (
            vi.interface.clone().unwrap_or_default(),
            v6,
            vi.virtual_router_id,
        );
        if let Some(other) = seen.insert(key.clone(), vi.name.clone()) {
            // With unicast peers two instances may share a VRID if their peers differ.
            if vi.unicast_peers.is_empty() {
                cx.error(
                    vi.defined_at.as_ref(),
                    format!(
                        "vrrp_instance {}: virtual_router_id {} is already used by {other} on interface {} ({}); VRIDs must be unique per interface and family",
                        vi.name,
                        key.2,
                        key.0,
                        if v6 { "IPv6" } else { "IPv4" }
                    ),
                );
            }
        }
    }
}

fn virtual_server(
    vs: &mut VirtualServer,
    g: &GlobalDefs,
    groups: &[VirtualServerGroup],
    track_files: &[String],
    cx: &mut Ctx<'_>,
) {
    let at = vs.defined_at.clone();
    let at = at.as_ref();
    let label = match &vs.address {
        VsAddress::Ip { address, port } => format!("virtual_server {address} {port}"),
        VsAddress::Fwmark { mark } => format!("virtual_server fwmark {mark}"),
        VsAddress::Group { name } => format!("virtual_server group {name}"),
    };
    let group = match &vs.address {
        VsAddress::Group { name } => {
            let group = groups.iter().find(|g| &g.name == name);
            if group.is_none() {
                cx.error(
                    at,
                    format!("{label}: virtual_server_group '{name}' is not defined"),
                );
            }
            group
        }
        _ => None,
    };
    // A firewall mark service has no protocol: IPVS matches the mark alone, so a
    // `protocol` there is a mistake that keepalived reports and drops
    // (`validate_check_config()`); a group counts when it holds marks and no addresses.
    let fwmark_only = match (&vs.address, group) {
        (VsAddress::Fwmark { .. }, _) => true,
        (VsAddress::Group { .. }, Some(g)) => {
            !g.entries.is_empty()
                && g.entries
                    .iter()
                    .all(|e| matches!(e, VsgEntry::Fwmark { .. }))
        }
        _ => false,
    };
    if fwmark_only && vs.explicit.has(Given::Protocol) {
        cx.error(
            at,
            format!("{label}: 'protocol' does not apply to a firewall mark service and is ignored"),
        );
    }
    if !vs.explicit.has(Given::LvsMethod) {
        cx.warn(
            at,
            format!("{label}: no lvs_method (lb_kind) given; using NAT"),
        );
    }
    if !vs.explicit.has(Given::Warmup) {
        vs.schedule.warmup_us = vs.schedule.delay_loop_us;
    }
    if vs.smtp_alert.is_none() {
        vs.smtp_alert = g.smtp_alert_checker.or(g.smtp_alert);
    }
    let vs_port = match vs.address {
        VsAddress::Ip { port, .. } => Some(port),
        _ => None,
    };
    let vs_sched = vs.schedule.clone();
    let vs_ex = vs.explicit;
    for rs in &mut vs.real_servers {
        if !rs.explicit.has(Given::Weight) {
            rs.weight = vs.weight;
        }
        if !rs.explicit.has(Given::InhibitOnFailure) {
            rs.inhibit_on_failure = vs.inhibit_on_failure;
        }
        if rs.port.is_none() && matches!(vs.address, VsAddress::Ip { .. }) {
            rs.port = vs_port;
        }
        let rs_sched = inherit_schedule(&rs.schedule, &rs.explicit, &vs_sched, &vs_ex, None);
        // A checker inherits what either outer level set.
        let outer_ex = rs.explicit.union(vs_ex);
        for c in &mut rs.checkers {
            let kind = c.kind.keyword();
            if let CheckerKind::FileCheck {
                track_file: Some(t),
                ..
            } = &c.kind
            {
                if !track_files.contains(t) {
                    cx.error(
                        at,
                        format!(
                            "{label}: real_server {}: FILE_CHECK track_file '{t}' is not defined",
                            rs.address
                        ),
                    );
                }
            }
            c.schedule =
                inherit_schedule(&c.schedule, &c.explicit, &rs_sched, &outer_ex, Some(kind));
            if c.connection.connect_port.is_none()
                && !matches!(c.kind, CheckerKind::MiscCheck(_) | CheckerKind::PingCheck)
            {
                c.connection.connect_port = match &c.kind {
                    CheckerKind::SmtpCheck { .. } if rs.port.is_none() => Some(25),
                    CheckerKind::DnsCheck { .. } if rs.port.is_none() => Some(53),
                    _ => rs.port.filter(|p| *p != 0),
                };
            }
            if let CheckerKind::MiscCheck(m) = &mut c.kind {
                if m.misc_timeout_us.is_none() {
                    m.misc_timeout_us = Some(c.schedule.delay_loop_us);
                }
            }
        }
        rs.schedule = rs_sched;
    }
    if vs.real_servers.is_empty() && vs.sorry_server.is_none() {
        cx.warn(at, format!("{label} has no real_server"));
    }
}

/// A schedule with the outer level's values where this level said nothing, and the
/// checker type's defaults where no level did (`queue_checker()`, `check_api.c`).
fn inherit_schedule(
    own: &Schedule,
    own_ex: &Explicit,
    outer: &Schedule,
    outer_ex: &Explicit,
    checker: Option<&str>,
) -> Schedule {
    let pick_u64 = |kw: Given, mine: u64, theirs: u64, default: u64| {
        if own_ex.has(kw) {
            mine
        } else if outer_ex.has(kw) {
            theirs
        } else {
            default
        }
    };
    let delay_loop = pick_u64(
        Given::DelayLoop,
        own.delay_loop_us,
        outer.delay_loop_us,
        outer.delay_loop_us,
    );
    let (retry_default, dbr_default) = match checker {
        Some("DNS_CHECK") => (3, delay_loop),
        Some("MISC_CHECK") => (0, SECOND),
        Some("HTTP_GET" | "SSL_GET") => (1, 3 * SECOND),
        _ => (1, SECOND),
    };
    Schedule {
        delay_loop_us: delay_loop,
        connect_timeout_us: pick_u64(
            Given::ConnectTimeout,
            own.connect_timeout_us,
            outer.connect_timeout_us,
            outer.connect_timeout_us,
        ),
        retry: pick_u64(
            Given::Retry,
            own.retry.into(),
            outer.retry.into(),
            retry_default,
        ) as u32,
        delay_before_retry_us: pick_u64(
            Given::DelayBeforeRetry,
            own.delay_before_retry_us,
            outer.delay_before_retry_us,
            dbr_default,
        ),
        warmup_us: pick_u64(Given::Warmup, own.warmup_us, outer.warmup_us, delay_loop),
        alpha: if own_ex.has(Given::Alpha) {
            own.alpha
        } else {
            outer.alpha
        },
    }
}

#[cfg(test)]
mod tests {
    use super::super::{parse_str, ParseOptions};
    use super::*;

    fn errors(text: &str) -> (Config, Vec<String>) {
        let l = parse_str(text, &ParseOptions::default());
        let e = l
            .diagnostics
            .iter()
            .filter(|d| d.counts_as_error())
            .map(|d| d.message.clone())
            .collect();
        (l.config, e)
    }

    const VIPS: &str = " virtual_ipaddress {\n  10.0.0.1\n }\n";

    #[test]
    fn ah_below_priority_255_starts_as_backup_and_fails_t() {
        let ah = " authentication {\n  auth_type AH\n  auth_pass secret\n }\n";
        let (c, e) = errors(&format!(
            "vrrp_instance A {{\n interface eth0\n virtual_router_id 5\n state MASTER\n priority 100\n{ah}{VIPS}}}\n"
        ));
        assert_eq!(c.instances[0].state, InitialState::Backup);
        assert!(e.iter().any(|m| m.contains("AH authentication")), "{e:?}");
        // The address owner keeps MASTER.
        let (c, e) = errors(&format!(
            "vrrp_instance A {{\n interface eth0\n virtual_router_id 5\n state MASTER\n priority 255\n{ah}{VIPS}}}\n"
        ));
        assert_eq!(c.instances[0].state, InitialState::Master);
        assert!(e.is_empty(), "{e:?}");
    }

    #[test]
    fn protocol_on_a_firewall_mark_service_fails_t() {
        let rs = " real_server 10.0.0.2 53 {\n  TCP_CHECK {\n  }\n }\n";
        let (_, e) = errors(&format!(
            "virtual_server fwmark 3 {{\n lvs_method NAT\n protocol UDP\n{rs}}}\n"
        ));
        assert!(e.iter().any(|m| m.contains("'protocol'")), "{e:?}");
        let (_, e) = errors(&format!(
            "virtual_server_group g {{\n fwmark 3\n}}\nvirtual_server group g {{\n lvs_method NAT\n protocol UDP\n{rs}}}\n"
        ));
        assert!(e.iter().any(|m| m.contains("'protocol'")), "{e:?}");
        let (_, e) = errors(&format!(
            "virtual_server fwmark 3 {{\n lvs_method NAT\n{rs}}}\n"
        ));
        assert!(e.is_empty(), "{e:?}");
    }

    #[test]
    fn unicast_without_peers_fails_t_unless_it_means_fault() {
        let base = " interface eth0\n virtual_router_id 5\n";
        let (_, e) = errors(&format!(
            "vrrp_instance A {{\n{base} unicast_peer {{\n }}\n{VIPS}}}\n"
        ));
        assert!(e.iter().any(|m| m.contains("unicast_peer")), "{e:?}");
        let (_, e) = errors(&format!(
            "vrrp_instance A {{\n{base} unicast_src_ip 10.0.0.9\n{VIPS}}}\n"
        ));
        assert!(e.iter().any(|m| m.contains("unicast_peer")), "{e:?}");
        let (_, e) = errors(&format!(
            "vrrp_instance A {{\n{base} unicast_fault_no_peer\n unicast_peer {{\n }}\n{VIPS}}}\n"
        ));
        assert!(e.is_empty(), "{e:?}");
        let (_, e) = errors(&format!(
            "vrrp_instance A {{\n{base} mcast_src_ip 10.0.0.9\n{VIPS}}}\n"
        ));
        assert!(e.is_empty(), "{e:?}");
        let (c, e) = errors(&format!(
            "vrrp_instance A {{\n{base} unicast_ttl 5\n{VIPS}}}\n"
        ));
        assert!(e.iter().any(|m| m.contains("unicast_ttl")), "{e:?}");
        assert_eq!(c.instances[0].unicast_ttl, None);
    }
}
