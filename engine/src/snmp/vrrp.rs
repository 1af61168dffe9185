//! KEEPALIVED-MIB `keepalived.2`: the VRRP tables, as keepalived 2.2.7 serves them
//! (`vrrp_snmp.c`).
//!
//! Every table is indexed by position in configuration order, counting from 1 (sync
//! groups, instances, vrrp_scripts, track_files, vrrp_track_processes), and a second
//! index component by 1-based position inside the row's own list (`snmp_find_element()`).
//! The address, route and rule tables put the global `static_*` entries at instance
//! index 0 (`vrrp_header_ar_table()`), and an instance's addresses count its
//! `virtual_ipaddress` then its `virtual_ipaddress_excluded`. An unset value leaves its
//! column out of the row. keepalived's quirks are kept:
//!
//! - states above FAULT read unknown(4) (`vrrp_snmp_state()`);
//! - `vrrpInstanceAdvertisementsInt` is seconds for VRRPv2, centiseconds for VRRPv3, and
//!   `vrrpInstanceAccept` is 0 for VRRPv2;
//! - only the first instance's `virtual_ipaddress` entries read advertised(1): the walk
//!   sets the flag only as it enters the first instance, and clears it for excluded
//!   addresses;
//! - an address's scope is the configured one (none on IPv6), not the kernel's;
//! - `vrrpRouteProtocol` is the rtnetlink protocol + 1, and a tracked route is installed
//!   with RTPROT_KEEPALIVED (18) whatever it says, so it reads 19;
//! - `vrrpRouteAdvMSS` is answered only when `hoplimit` is set (keepalived tests the
//!   hop-limit bit);
//! - the tracked file, process and BFD rows show the tracker's own weight, not the
//!   weight the `track_*` line gave;
//! - a primary-interface column ends at the first instance without an interface
//!   (keepalived answers nothing for it, which ends the column's walk).
//! - vrrpBfdResult is `bfd_up` as it is, 1 or 0 ([`TrackerReadings::bfd_up`], which
//!   [`add`] takes from [`Live::bfds`]).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::agentx::Value;
use crate::config::model::{
    Broadcast, Command, Config, Encap, IpAddress, Nexthop, ParamMatch, Route, Rule, TrackFile,
    TrackProcess, TrackRef, VrrpInstance, VrrpScript,
};
use crate::vrrp::live::{Live, LiveInstance};
use crate::vrrp::track::Health;
use crate::vrrp::State;

use super::{keepalived_oid, HostInterfaces, MibTree};

/// What the file and process tables show beyond the configuration and [`Live`]: the
/// values the host's trackers read (`Engine::tracked_files`, `Engine::tracked_processes`)
/// and the paths `realpath()` gave the tracked files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrackerReadings {
    /// Each track_file's value now (`last_status`), by name; 0 when absent.
    pub file_values: BTreeMap<String, i64>,
    /// Each track_file's path as `realpath()` resolved it (`file_path`), by name; the
    /// configured path when absent.
    pub file_paths: BTreeMap<String, String>,
    /// The processes running now per vrrp_track_process (`num_cur_proc`), by name; 0
    /// when absent.
    pub process_counts: BTreeMap<String, u32>,
    /// Whether each BFD session the VRRP process hears of is Up (`bfd_up`,
    /// `Engine::tracked_bfds`), by name; a session absent has no vrrpBfdResult.
    pub bfd_up: BTreeMap<String, bool>,
}

/// Adds the VRRP tables of `cfg` to `tree`, the tracked files' and processes' values as
/// the engine holds them, the files' paths as configured.
pub fn add(tree: &mut MibTree, cfg: &Config, live: &Live, host: &HostInterfaces) {
    let readings = TrackerReadings {
        file_values: live.files.clone(),
        file_paths: BTreeMap::new(),
        process_counts: live.processes.clone(),
        bfd_up: live.bfds.clone(),
    };
    add_with_readings(tree, cfg, live, host, &readings);
}

/// Adds the VRRP tables of `cfg` to `tree`. The scripts' paths are shown as the
/// configuration holds them, which the daemon has already resolved as keepalived does
/// (`check_script_secure()` replaces `argv[0]` by the `realpath()`).
pub fn add_with_readings(
    tree: &mut MibTree,
    cfg: &Config,
    live: &Live,
    host: &HostInterfaces,
    readings: &TrackerReadings,
) {
    let mut t = Tables { tree, host };
    let files = kept_files(cfg);
    let processes = kept_processes(cfg);
    let scripts = kept_scripts(cfg);
    sync_groups(&mut t, cfg, live, &scripts, &files, &processes);
    instances(&mut t, cfg, live);
    for (i, vi) in cfg.instances.iter().enumerate() {
        let idx = i as u32 + 1;
        tracked(&mut t, vi, idx, &scripts, &files, &processes);
    }
    addresses(&mut t, cfg, live);
    routes(&mut t, cfg, live);
    rules(&mut t, cfg, live);
    vrrp_scripts(&mut t, &scripts, live);
    track_files(&mut t, &files, readings);
    track_processes(&mut t, &processes, readings);
    bfds(&mut t, cfg, readings);
}

/// vrrpTrackedBfdTable (`.17`), vrrpBfdTable (`.18`) and syncGroupTrackedBfdTable
/// (`.19`): `vrrp_snmp_trackedbfd()`, `vrrp_snmp_bfd()`, `vrrp_snmp_group_trackedbfd()`.
/// The BFDs are those the VRRP process hears of; a tracking row shows the BFD's own
/// weight and direction.
fn bfds(t: &mut Tables<'_>, cfg: &Config, readings: &TrackerReadings) {
    let known: Vec<_> = cfg.tracked_bfds.iter().filter(|b| b.to_vrrp()).collect();
    let rows = |t: &mut Tables<'_>, table: u32, row: u32, refs: &[TrackRef]| {
        let found = refs
            .iter()
            .filter_map(|r| known.iter().find(|b| b.name == r.name));
        for (bi, b) in found.enumerate() {
            let ix = [row, bi as u32 + 1];
            t.put(table, 2, &ix, string(&b.name));
            t.put(table, 3, &ix, Value::Integer(b.weight));
            t.put(table, 4, &ix, truth(b.weight_reverse));
        }
    };
    for (i, vi) in cfg.instances.iter().enumerate() {
        rows(t, 17, i as u32 + 1, &vi.trackers.bfds);
    }
    for (bi, b) in known.iter().enumerate() {
        let ix = [bi as u32 + 1];
        t.put(18, 2, &ix, string(&b.name));
        if let Some(&up) = readings.bfd_up.get(&b.name) {
            t.put(18, 3, &ix, Value::Integer(i32::from(up)));
        }
        t.put(18, 4, &ix, Value::Integer(b.weight));
        t.put(18, 5, &ix, truth(b.weight_reverse));
    }
    for (gi, g) in cfg.sync_groups.iter().enumerate() {
        rows(t, 19, gi as u32 + 1, &g.trackers.bfds);
    }
}

struct Tables<'a> {
    tree: &'a mut MibTree,
    host: &'a HostInterfaces,
}

impl Tables<'_> {
    /// `vrrp.<table>.1.<column>.<index>`.
    fn put(&mut self, table: u32, column: u32, index: &[u32], v: Value) {
        self.tree
            .insert_column(keepalived_oid(&[2, table, 1, column]), index, v);
    }

    fn if_index(&self, name: &str) -> i32 {
        self.host.get(name).map_or(0, |h| h.index as i32)
    }
}

fn truth(b: bool) -> Value {
    Value::Integer(if b { 1 } else { 2 })
}

fn string(s: &str) -> Value {
    Value::OctetString(s.as_bytes().to_vec())
}

fn octets(a: IpAddr) -> Value {
    Value::OctetString(match a {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    })
}

/// `SNMP_InetAddressType()`.
fn inet_type(a: IpAddr) -> Value {
    Value::Integer(if a.is_ipv4() { 1 } else { 2 })
}

/// `vrrp_snmp_state()`: init(0), backup(1), master(2), fault(3), anything else 4.
fn snmp_state(s: State) -> i32 {
    match s {
        State::Init => 0,
        State::Backup => 1,
        State::Master => 2,
        State::Fault => 3,
        State::Stop => 4,
    }
}

/// `snmp_scope()`: an RT_SCOPE_* as InetScopeType.
fn snmp_scope(scope: u8) -> i32 {
    match scope {
        0 => 14,
        255 => 0,
        254 => 1,
        253 => 2,
        200 => 5,
        _ => 0,
    }
}

/// `cmd_str_r()`: every word in single quotes, but a first word that is a redirection
/// (`<file`, the file-existence test) unquoted.
fn command_str(c: &Command) -> String {
    c.argv
        .iter()
        .enumerate()
        .map(|(i, w)| {
            if i == 0 && (w.starts_with('<') || w.starts_with('>')) {
                w.clone()
            } else {
                format!("'{w}'")
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The vrrp_scripts keepalived keeps: one without a script is removed
/// (`vrrp_vscript_end_handler()`).
fn kept_scripts(cfg: &Config) -> Vec<&VrrpScript> {
    cfg.vrrp_scripts
        .iter()
        .filter(|s| s.script.as_ref().is_some_and(|c| !c.argv.is_empty()))
        .collect()
}

/// The track_files keepalived keeps: one without a file is removed.
fn kept_files(cfg: &Config) -> Vec<&TrackFile> {
    cfg.track_files
        .iter()
        .filter(|f| f.file.is_some())
        .collect()
}

/// The vrrp_track_processes keepalived keeps: one without a process is removed
/// (`vrrp_tprocess_end_handler()`).
fn kept_processes(cfg: &Config) -> Vec<&TrackProcess> {
    cfg.track_processes
        .iter()
        .filter(|p| p.process.is_some())
        .collect()
}

/// The live state of the instance at configuration position `i` named `name`: Live
/// lists the instances in configuration order, unless it comes from an older
/// configuration (a reload in progress), when it is looked up by name.
fn live_instance<'a>(live: &'a Live, i: usize, name: &str) -> Option<&'a LiveInstance> {
    live.instances
        .get(i)
        .filter(|l| l.name == name)
        .or_else(|| live.instances.iter().find(|l| l.name == name))
}

/// An instance's state, wanted state and effective priority; an instance the engine does
/// not run (yet) reads as initialising at its base priority.
fn instance_now(live: &Live, i: usize, vi: &VrrpInstance) -> (State, State, u8) {
    live_instance(live, i, &vi.name).map_or((State::Init, State::Init, vi.priority), |l| {
        (l.state, l.want, l.effective_priority)
    })
}

/// `vrrp->vipset`: set on becoming master, cleared on leaving it.
fn vips_set(live: &Live, i: usize, vi: &VrrpInstance) -> bool {
    instance_now(live, i, vi).0 == State::Master
}

/// The interface the instance runs on (`vrrp->ifp`): its VMAC, or the interface named.
fn instance_if(vi: &VrrpInstance) -> Option<&str> {
    vi.vip_interface()
}

/// The track_interface lines keepalived keeps: a line naming the instance's own
/// interface is dropped ("Ignoring track_interface ... since own interface").
fn tracked_ifs(vi: &VrrpInstance) -> Vec<&TrackRef> {
    vi.trackers
        .interfaces
        .iter()
        .filter(|r| Some(r.name.as_str()) != vi.interface.as_deref())
        .collect()
}

/// vrrpSyncGroupTable (`.1`), its members (`.2`) and its tracked interfaces (`.14`),
/// scripts (`.15`), files (`.16`) and processes (`.22`).
fn sync_groups(
    t: &mut Tables<'_>,
    cfg: &Config,
    live: &Live,
    scripts: &[&VrrpScript],
    files: &[&TrackFile],
    processes: &[&TrackProcess],
) {
    let g = &cfg.global;
    for (gi, sg) in cfg.sync_groups.iter().enumerate() {
        let gx = gi as u32 + 1;
        t.put(1, 2, &[gx], string(&sg.name));
        let state = live
            .groups
            .iter()
            .find(|l| l.name == sg.name)
            .map_or(State::Init, |l| l.state);
        t.put(1, 3, &[gx], Value::Integer(snmp_state(state)));
        // The group's own, else smtp_alert_vrrp, else smtp_alert, else off
        // (`vrrp_complete_init()`).
        let smtp = sg
            .smtp_alert
            .or(g.smtp_alert_vrrp)
            .or(g.smtp_alert)
            .unwrap_or(false);
        t.put(1, 4, &[gx], truth(smtp));
        // Each notify keyword sets notify_exec (`vrrp_gnotify_*_handler()`).
        t.put(1, 5, &[gx], truth(sg.notifies.commands().next().is_some()));
        let n = &sg.notifies;
        for (col, c) in [
            (6, &n.notify_master),
            (7, &n.notify_backup),
            (8, &n.notify_fault),
            (9, &n.notify),
            (11, &n.notify_stop),
        ] {
            if let Some(c) = c {
                t.put(1, col, &[gx], string(&command_str(c)));
            }
        }
        t.put(1, 10, &[gx], truth(sg.sync_group_tracking_weight));

        let members = sg
            .members
            .iter()
            .filter(|m| cfg.instances.iter().any(|vi| &&vi.name == m));
        for (mi, m) in members.enumerate() {
            t.put(2, 2, &[gx, mi as u32 + 1], string(m));
        }

        // A group's track_interface weighs 0 unless given (`alloc_track_if()`).
        for (ti, r) in sg.trackers.interfaces.iter().enumerate() {
            let ix = [gx, ti as u32 + 1];
            t.put(14, 1, &ix, string(&r.name));
            t.put(14, 2, &ix, Value::Integer(r.weight.unwrap_or(0)));
            t.put(14, 3, &ix, truth(r.reverse));
        }
        // A group's track_script weighs what the script does unless given
        // (`alloc_track_script()`).
        let group_scripts = sg
            .trackers
            .scripts
            .iter()
            .filter_map(|r| Some((r, *scripts.iter().find(|s| s.name == r.name)?)));
        for (si, (r, s)) in group_scripts.enumerate() {
            let ix = [gx, si as u32 + 1];
            let (w, rev) = match r.weight {
                Some(w) => (w, r.reverse),
                None => (s.weight, s.weight_reverse),
            };
            t.put(15, 2, &ix, string(&r.name));
            t.put(15, 3, &ix, Value::Integer(w));
            t.put(15, 4, &ix, truth(rev));
        }
        tracked_files(t, 16, gx, &sg.trackers.files, files);
        tracked_processes(t, 22, gx, &sg.trackers.processes, processes);
    }
}

/// Rows of a tracked-file table (`.12` for instances, `.16` for sync groups): the
/// file's own weight (`bfile->file->weight`), not the track_file line's.
fn tracked_files(
    t: &mut Tables<'_>,
    table: u32,
    row: u32,
    refs: &[TrackRef],
    files: &[&TrackFile],
) {
    let found = refs
        .iter()
        .filter_map(|r| files.iter().find(|f| f.name == r.name));
    for (fi, f) in found.enumerate() {
        let ix = [row, fi as u32 + 1];
        t.put(table, 2, &ix, string(&f.name));
        t.put(table, 3, &ix, Value::Integer(f.weight));
        t.put(table, 4, &ix, truth(f.weight_reverse));
    }
}

/// Rows of a tracked-process table (`.20` for instances, `.22` for sync groups): the
/// process's own weight (`bproc->process->weight`).
fn tracked_processes(
    t: &mut Tables<'_>,
    table: u32,
    row: u32,
    refs: &[TrackRef],
    processes: &[&TrackProcess],
) {
    let found = refs
        .iter()
        .filter_map(|r| processes.iter().find(|p| p.name == r.name));
    for (pi, p) in found.enumerate() {
        let ix = [row, pi as u32 + 1];
        t.put(table, 2, &ix, string(&p.name));
        t.put(table, 3, &ix, Value::Integer(p.weight));
        t.put(table, 4, &ix, truth(p.weight_reverse));
    }
}

/// vrrpInstanceTable (`.3`), `vrrp_snmp_instance()`.
fn instances(t: &mut Tables<'_>, cfg: &Config, live: &Live) {
    let g = &cfg.global;
    // keepalived answers nothing for the primary interface of an instance without one,
    // which ends that column's walk there.
    let with_if = cfg
        .instances
        .iter()
        .take_while(|vi| instance_if(vi).is_some())
        .count();
    for (i, vi) in cfg.instances.iter().enumerate() {
        let ix = [i as u32 + 1];
        let (state, want, effective) = instance_now(live, i, vi);
        let v2 = vi.version == 2;
        t.put(3, 2, &ix, string(&vi.name));
        t.put(3, 3, &ix, Value::Gauge32(u32::from(vi.virtual_router_id)));
        t.put(3, 4, &ix, Value::Integer(snmp_state(state)));
        let initial = match vi.state {
            crate::config::model::InitialState::Master => State::Master,
            crate::config::model::InitialState::Backup => State::Backup,
        };
        t.put(3, 5, &ix, Value::Integer(snmp_state(initial)));
        t.put(3, 6, &ix, Value::Integer(snmp_state(want)));
        t.put(3, 7, &ix, Value::Integer(i32::from(vi.priority)));
        t.put(3, 8, &ix, Value::Integer(i32::from(effective)));
        t.put(3, 9, &ix, truth(vips_set(live, i, vi)));
        if i < with_if {
            if let Some(name) = instance_if(vi) {
                t.put(3, 10, &ix, string(name));
            }
        }
        t.put(3, 11, &ix, truth(!tracked_ifs(vi).is_empty()));
        let adv = if v2 {
            vi.advert_int_us / 1_000_000
        } else {
            vi.advert_int_us / 10_000
        };
        t.put(3, 12, &ix, Value::Gauge32(adv as u32));
        t.put(3, 13, &ix, truth(!vi.nopreempt));
        t.put(
            3,
            14,
            &ix,
            Value::Gauge32((vi.preempt_delay_us / 1_000_000) as u32),
        );
        let auth = match (&vi.authentication, v2) {
            (Some(a), true) => i32::from(a.auth_type.to_wire()),
            _ => 0,
        };
        t.put(3, 15, &ix, Value::Integer(auth));
        let syncd = g
            .lvs_sync_daemon
            .as_ref()
            .filter(|d| d.instance.as_deref() == Some(vi.name.as_str()));
        t.put(3, 16, &ix, truth(syncd.is_some()));
        if let Some(d) = syncd {
            t.put(3, 17, &ix, string(&d.interface));
        }
        if let Some(sg) = &vi.sync_group {
            t.put(3, 18, &ix, string(sg));
        }
        t.put(
            3,
            19,
            &ix,
            Value::Gauge32((vi.garp_master_delay_us / 1_000_000) as u32),
        );
        t.put(3, 20, &ix, truth(vi.smtp_alert));
        let deleted_script = vi.notify_deleted.as_ref().and_then(|d| d.as_ref());
        let n = &vi.notifies;
        // Each notify keyword with a script sets notify_exec (`vrrp_notify_*_handler()`).
        let notify_exec = n.commands().next().is_some()
            || deleted_script.is_some()
            || vi.notify_master_rx_lower_pri.is_some();
        t.put(3, 21, &ix, truth(notify_exec));
        for (col, c) in [
            (22, &n.notify_master),
            (23, &n.notify_backup),
            (24, &n.notify_fault),
            (25, &n.notify_stop),
            (26, &n.notify),
            (31, &vi.notify_master_rx_lower_pri),
        ] {
            if let Some(c) = c {
                t.put(3, col, &ix, string(&command_str(c)));
            }
        }
        t.put(
            3,
            27,
            &ix,
            Value::Integer(match (v2, vi.accept) {
                (true, _) => 0,
                (false, true) => 1,
                (false, false) => 2,
            }),
        );
        t.put(3, 28, &ix, truth(vi.promote_secondaries));
        t.put(3, 29, &ix, truth(vi.linkbeat_use_polling));
        t.put(3, 30, &ix, Value::Integer(i32::from(vi.version)));
        if let Some(c) = deleted_script {
            t.put(3, 32, &ix, string(&command_str(c)));
        }
        t.put(3, 33, &ix, truth(vi.notify_deleted.is_some()));
        // A unicast instance has no multicast group (VRRP_FLAG_UNICAST: unicast with at
        // least one peer).
        if vi.unicast_peers.is_empty() {
            let group = vi.mcast_dst_ip.unwrap_or(if vi.is_ipv6() {
                g.vrrp_mcast_group6
            } else {
                g.vrrp_mcast_group4
            });
            t.put(3, 34, &ix, inet_type(group));
            t.put(3, 35, &ix, octets(group));
        }
    }
}

/// One instance's tracked interfaces (`.4`), scripts (`.5`), files (`.12`) and processes
/// (`.20`).
fn tracked(
    t: &mut Tables<'_>,
    vi: &VrrpInstance,
    idx: u32,
    scripts: &[&VrrpScript],
    files: &[&TrackFile],
    processes: &[&TrackProcess],
) {
    for (ti, r) in tracked_ifs(vi).into_iter().enumerate() {
        let ix = [idx, ti as u32 + 1];
        t.put(4, 1, &ix, string(&r.name));
        t.put(4, 2, &ix, Value::Integer(r.weight.unwrap_or(0)));
        t.put(4, 3, &ix, truth(r.reverse));
    }
    let found = vi.trackers.scripts.iter().filter_map(|r| {
        let s = scripts.iter().find(|s| s.name == r.name)?;
        Some((r, *s))
    });
    for (si, (r, s)) in found.enumerate() {
        let ix = [idx, si as u32 + 1];
        let (w, rev) = match r.weight {
            Some(w) => (w, r.reverse),
            None => (s.weight, s.weight_reverse),
        };
        t.put(5, 2, &ix, string(&r.name));
        t.put(5, 3, &ix, Value::Integer(w));
        t.put(5, 4, &ix, truth(rev));
    }
    tracked_files(t, 12, idx, &vi.trackers.files, files);
    tracked_processes(t, 20, idx, &vi.trackers.processes, processes);
}

/// The RT_SCOPE_* an address line names (`find_rttables_scope()`, with iproute2's
/// `rt_scopes` names); IPv6 addresses have none (keepalived ignores it).
fn address_scope(a: &IpAddress) -> u8 {
    if a.address.is_ipv6() {
        return 0;
    }
    match a.scope() {
        None | Some("global") => 0,
        Some("site") => 200,
        Some("link") => 253,
        Some("host") => 254,
        Some("nowhere") => 255,
        Some(n) => n.parse().unwrap_or(0),
    }
}

/// `sin_brd` as `alloc_ipaddress()` sets it: the address given, or for `+`/`-` the
/// address (or peer) with the host part set or cleared when the prefix is 30 or
/// shorter; none (0.0.0.0) with a peer.
fn broadcast(a: &IpAddress) -> Ipv4Addr {
    let IpAddr::V4(addr) = a.address else {
        return Ipv4Addr::UNSPECIFIED;
    };
    if a.peer().is_some() {
        return Ipv4Addr::UNSPECIFIED;
    }
    match a.broadcast() {
        Some(Broadcast::Address(IpAddr::V4(b))) => *b,
        Some(Broadcast::Plus | Broadcast::Minus) if a.prefix_len <= 30 => {
            let host = u32::MAX >> a.prefix_len;
            let v = u32::from(addr);
            Ipv4Addr::from(if a.broadcast() == Some(&Broadcast::Plus) {
                v | host
            } else {
                v & !host
            })
        }
        _ => Ipv4Addr::UNSPECIFIED,
    }
}

/// vrrpAddressTable (`.6`): `static_ipaddress` at instance 0, then each instance's
/// VIPs and eVIPs.
fn addresses(t: &mut Tables<'_>, cfg: &Config, live: &Live) {
    // get_default_if(): default_interface, eth0 unless set.
    let default_if = cfg.global.default_interface.as_deref().unwrap_or("eth0");
    for (ai, a) in cfg.static_ipaddress.iter().enumerate() {
        // Static addresses are installed at start (`netlink_iplist()`).
        let dev = a.dev.as_deref().unwrap_or(default_if);
        address_row(t, [0, ai as u32 + 1], a, Some(dev), true, false);
    }
    for (i, vi) in cfg.instances.iter().enumerate() {
        let set = vips_set(live, i, vi);
        let vips = vi.virtual_ipaddress.iter().map(|a| (a, i == 0));
        let evips = vi.virtual_ipaddress_excluded.iter().map(|a| (a, false));
        for (ai, (a, adv)) in vips.chain(evips).enumerate() {
            let dev = a.dev.as_deref().or(instance_if(vi));
            address_row(t, [i as u32 + 1, ai as u32 + 1], a, dev, set, adv);
        }
    }
}

fn address_row(
    t: &mut Tables<'_>,
    ix: [u32; 2],
    a: &IpAddress,
    dev: Option<&str>,
    set: bool,
    advertised: bool,
) {
    t.put(6, 2, &ix, inet_type(a.address));
    t.put(6, 3, &ix, octets(a.address));
    if a.address.is_ipv4() {
        t.put(6, 4, &ix, octets(IpAddr::V4(broadcast(a))));
    }
    t.put(6, 5, &ix, Value::Gauge32(u32::from(a.prefix_len)));
    t.put(6, 6, &ix, Value::Integer(snmp_scope(address_scope(a))));
    if let Some(dev) = dev {
        t.put(6, 7, &ix, Value::Integer(t.if_index(dev)));
        t.put(6, 8, &ix, string(dev));
    }
    // keepalived drops the label of an IPv6 address.
    if let Some(l) = a.label().filter(|_| a.address.is_ipv4()) {
        t.put(6, 9, &ix, string(l));
    }
    t.put(6, 10, &ix, truth(set));
    t.put(6, 11, &ix, truth(advertised));
    if let Some(p) = a.peer() {
        t.put(6, 12, &ix, octets(p.address));
    }
}

/// vrrpRouteTable (`.7`) and vrrpRouteNextHopTable (`.11`): `static_routes` at
/// instance 0, then each instance's `virtual_routes`.
fn routes(t: &mut Tables<'_>, cfg: &Config, live: &Live) {
    // Static routes are installed at start.
    for (ri, r) in cfg.static_routes.iter().enumerate() {
        route_row(t, [0, ri as u32 + 1], r, true);
    }
    for (i, vi) in cfg.instances.iter().enumerate() {
        let set = vips_set(live, i, vi);
        for (ri, r) in vi.virtual_routes.iter().enumerate() {
            route_row(t, [i as u32 + 1, ri as u32 + 1], r, set);
        }
    }
}

fn unspecified(v6: bool) -> IpAddr {
    if v6 {
        IpAddr::V6(Ipv6Addr::UNSPECIFIED)
    } else {
        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
    }
}

/// `vrrp_snmp_route()`: one route's columns, and its next hops' rows.
fn route_row(t: &mut Tables<'_>, ix: [u32; 2], r: &Route, set: bool) {
    // Every route has a destination; `default` is the family's zero address, /0.
    let (dst, dst_len) = match &r.to {
        Some(p) => (p.address, p.len),
        None => (unspecified(r.family_v6), 0),
    };
    t.put(7, 2, &ix, inet_type(dst));
    t.put(7, 3, &ix, octets(dst));
    t.put(7, 4, &ix, Value::Gauge32(u32::from(dst_len)));
    if let Some(via) = r.via {
        t.put(7, 5, &ix, octets(via));
    }
    // A single next hop without encapsulation is shown as the secondary gateway.
    if let [nh] = r.nexthops.as_slice() {
        if let (Some(via), None) = (nh.via, &nh.encap) {
            t.put(7, 6, &ix, octets(via));
        }
    }
    if let Some(src) = r.src {
        t.put(7, 7, &ix, octets(src));
    }
    t.put(7, 8, &ix, Value::Gauge32(r.metric.unwrap_or(0)));
    t.put(7, 9, &ix, Value::Integer(snmp_scope(r.scope.unwrap_or(0))));
    let kind = if !r.nexthops.is_empty() {
        2
    } else {
        match r.route_type {
            Some(6) => 3,   // blackhole
            Some(4) => 4,   // anycast
            Some(5) => 5,   // multicast
            Some(3) => 6,   // broadcast
            Some(7) => 7,   // unreachable
            Some(8) => 8,   // prohibit
            Some(9) => 9,   // throw
            Some(10) => 10, // nat
            Some(11) => 11, // xresolve
            _ => 1,
        }
    };
    t.put(7, 10, &ix, Value::Integer(kind));
    if let Some(dev) = r.dev.as_deref() {
        t.put(7, 11, &ix, Value::Integer(t.if_index(dev)));
        t.put(7, 12, &ix, string(dev));
    }
    t.put(7, 13, &ix, Value::Gauge32(r.table.unwrap_or(254)));
    t.put(7, 14, &ix, truth(set));
    if let Some(from) = &r.from {
        t.put(7, 15, &ix, octets(from.address));
        t.put(7, 16, &ix, Value::Gauge32(u32::from(from.len)));
    }
    if let Some(tos) = r.tos {
        t.put(7, 17, &ix, Value::Gauge32(u32::from(tos)));
    }
    // A tracked route is installed with RTPROT_KEEPALIVED (`alloc_route()`).
    let protocol = if r.no_track { r.protocol } else { Some(18) };
    if let Some(p) = protocol {
        t.put(7, 18, &ix, Value::Integer(i32::from(p) + 1));
    }
    let m = &r.metrics;
    // RTAX_FEATURE_ECN is bit 0.
    t.put(7, 19, &ix, truth(m.features & 1 != 0));
    t.put(7, 20, &ix, truth(m.quickack.is_some()));
    if let Some(e) = r.expires {
        t.put(7, 21, &ix, Value::Integer(e as i32));
    }
    let locked = |bit: u32| truth(m.lock & (1 << bit) != 0);
    use crate::config::model::{
        RTAX_ADVMSS, RTAX_CWND, RTAX_MTU, RTAX_REORDERING, RTAX_RTO_MIN, RTAX_RTT, RTAX_RTTVAR,
        RTAX_SSTHRESH,
    };
    if let Some(v) = m.mtu {
        t.put(7, 22, &ix, Value::Gauge32(v));
        t.put(7, 23, &ix, locked(RTAX_MTU));
    }
    if let Some(v) = m.hoplimit {
        t.put(7, 24, &ix, Value::Gauge32(v));
        // keepalived tests the hop-limit bit for the advmss value.
        t.put(7, 25, &ix, Value::Gauge32(m.advmss.unwrap_or(0)));
    }
    if m.advmss.is_some() {
        t.put(7, 26, &ix, locked(RTAX_ADVMSS));
    }
    if let Some(v) = m.rtt {
        t.put(7, 27, &ix, Value::Gauge32(v / 8));
        t.put(7, 28, &ix, locked(RTAX_RTT));
    }
    if let Some(v) = m.rttvar {
        t.put(7, 29, &ix, Value::Gauge32(v / 4));
        t.put(7, 30, &ix, locked(RTAX_RTTVAR));
    }
    if let Some(v) = m.reordering {
        t.put(7, 31, &ix, Value::Gauge32(v));
        t.put(7, 32, &ix, locked(RTAX_REORDERING));
    }
    if let Some(v) = m.window {
        t.put(7, 33, &ix, Value::Gauge32(v));
    }
    if let Some(v) = m.cwnd {
        t.put(7, 34, &ix, Value::Gauge32(v));
        t.put(7, 35, &ix, locked(RTAX_CWND));
    }
    if let Some(v) = m.ssthresh {
        t.put(7, 36, &ix, Value::Gauge32(v));
        t.put(7, 37, &ix, locked(RTAX_SSTHRESH));
    }
    if let Some(v) = m.rto_min {
        t.put(7, 38, &ix, Value::Gauge32(v));
        t.put(7, 39, &ix, locked(RTAX_RTO_MIN));
    }
    if let Some(v) = m.initcwnd {
        t.put(7, 40, &ix, Value::Gauge32(v));
    }
    if let Some(v) = m.initrwnd {
        t.put(7, 41, &ix, Value::Gauge32(v));
    }
    if let Some(c) = &m.congctl {
        t.put(7, 42, &ix, string(c));
    }
    if let Some(p) = r.pref {
        // ICMPV6_ROUTER_PREF_LOW (3), MEDIUM (0), HIGH (1).
        let v = match p {
            3 => 1,
            0 => 2,
            1 => 3,
            _ => 0,
        };
        t.put(7, 43, &ix, Value::Integer(v));
    }
    realms(t, 7, [44, 45], &ix, r.realms);
    if let Some(e) = &r.encap {
        encap(t, 7, 46, &ix, e);
    }
    if let Some(v) = m.fastopen_no_cookie {
        t.put(7, 55, &ix, truth(v != 0));
    }
    for (hi, nh) in r.nexthops.iter().enumerate() {
        next_hop_row(t, [ix[0], ix[1], hi as u32 + 1], nh);
    }
}

/// The realm columns: the destination realm when any realm is set, the source realm
/// when it is not 0.
fn realms(t: &mut Tables<'_>, table: u32, cols: [u32; 2], ix: &[u32], realms: Option<u32>) {
    let Some(r) = realms.filter(|r| *r != 0) else {
        return;
    };
    t.put(table, cols[0], ix, Value::Gauge32(r & 0xffff));
    if r >> 16 != 0 {
        t.put(table, cols[1], ix, Value::Gauge32(r >> 16));
    }
}

/// `vrrp_snmp_encap()`: the encapsulation columns from `first` (the type) on.
fn encap(t: &mut Tables<'_>, table: u32, first: u32, ix: &[u32], e: &Encap) {
    if e.kind == 0 {
        return;
    }
    t.put(table, first, ix, Value::Integer(i32::from(e.kind) + 1));
    match e.kind {
        // LWTUNNEL_ENCAP_MPLS: the labels, '/' between them.
        1 => {
            let labels = e
                .labels
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join("/");
            t.put(table, first + 1, ix, string(&labels));
        }
        // LWTUNNEL_ENCAP_IP, LWTUNNEL_ENCAP_IP6.
        2 | 4 => {
            if let Some(id) = e.id {
                t.put(table, first + 2, ix, Value::Counter64(id));
            }
            if let Some(a) = e.dst {
                t.put(table, first + 3, ix, octets(a));
            }
            if let Some(a) = e.src {
                t.put(table, first + 4, ix, octets(a));
            }
            if let Some(v) = e.tos {
                t.put(table, first + 5, ix, Value::Gauge32(u32::from(v)));
            }
            if let Some(v) = e.ttl {
                t.put(table, first + 6, ix, Value::Gauge32(u32::from(v)));
            }
            if let Some(v) = e.flags {
                t.put(table, first + 7, ix, Value::Gauge32(u32::from(v)));
            }
        }
        // LWTUNNEL_ENCAP_ILA.
        3 => t.put(table, first + 8, ix, Value::Counter64(e.locator)),
        _ => {}
    }
}

/// `vrrp_snmp_next_hop()`: one next hop, indexed instance.route.hop.
fn next_hop_row(t: &mut Tables<'_>, ix: [u32; 3], nh: &Nexthop) {
    if let Some(via) = nh.via {
        t.put(11, 2, &ix, inet_type(via));
        t.put(11, 3, &ix, octets(via));
    }
    if let Some(dev) = nh.dev.as_deref() {
        t.put(11, 4, &ix, Value::Integer(t.if_index(dev)));
        t.put(11, 5, &ix, string(dev));
    }
    // rtnh_hops + 1: the weight as written.
    if let Some(w) = nh.weight {
        t.put(11, 6, &ix, Value::Gauge32(w));
    }
    t.put(11, 7, &ix, truth(nh.onlink));
    realms(t, 11, [8, 9], &ix, nh.realms);
    if let Some(e) = &nh.encap {
        encap(t, 11, 10, &ix, e);
    }
}

/// vrrpRuleTable (`.8`): `static_rules` at instance 0, then each instance's
/// `virtual_rules`.
fn rules(t: &mut Tables<'_>, cfg: &Config, live: &Live) {
    for (ri, r) in cfg.static_rules.iter().enumerate() {
        rule_row(t, [0, ri as u32 + 1], r, true);
    }
    for (i, vi) in cfg.instances.iter().enumerate() {
        let set = vips_set(live, i, vi);
        for (ri, r) in vi.virtual_rules.iter().enumerate() {
            rule_row(t, [i as u32 + 1, ri as u32 + 1], r, set);
        }
    }
}

/// `vrrp_snmp_rule()`. keepalived registers the columns up to 32 (l3mdev); the
/// protocol, ipproto and port columns of the MIB are never served.
fn rule_row(t: &mut Tables<'_>, ix: [u32; 2], r: &Rule, set: bool) {
    const FR_ACT_TO_TBL: u8 = 1;
    const FR_ACT_GOTO: u8 = 2;
    let direction = match (&r.to, &r.from) {
        (Some(_), Some(_)) => "both",
        (Some(_), None) => "to",
        (None, Some(_)) => "from",
        (None, None) => "",
    };
    t.put(8, 2, &ix, string(direction));
    if let Some(a) = r.to.as_ref().or(r.from.as_ref()) {
        t.put(8, 3, &ix, inet_type(a.address));
        t.put(8, 4, &ix, octets(a.address));
        t.put(8, 5, &ix, Value::Gauge32(u32::from(a.len)));
    }
    let table = r.table.unwrap_or(0);
    if r.action == FR_ACT_TO_TBL {
        t.put(8, 6, &ix, Value::Gauge32(table));
    }
    t.put(8, 7, &ix, truth(set));
    t.put(8, 8, &ix, truth(r.invert));
    if let Some(a) = &r.to {
        t.put(8, 9, &ix, inet_type(a.address));
        t.put(8, 10, &ix, octets(a.address));
        t.put(8, 11, &ix, Value::Gauge32(u32::from(a.len)));
    }
    if let Some(a) = &r.from {
        t.put(8, 12, &ix, inet_type(a.address));
        t.put(8, 13, &ix, octets(a.address));
        t.put(8, 14, &ix, Value::Gauge32(u32::from(a.len)));
    }
    t.put(8, 15, &ix, Value::Gauge32(u32::from(r.tos)));
    if let Some(v) = r.fwmark {
        t.put(8, 16, &ix, Value::Gauge32(v));
    }
    if let Some(v) = r.fwmask {
        t.put(8, 17, &ix, Value::Gauge32(v));
    }
    realms(t, 8, [18, 19], &ix, r.realms);
    if let Some(i) = &r.iif {
        t.put(8, 20, &ix, string(i));
    }
    if let Some(o) = &r.oif {
        t.put(8, 21, &ix, string(o));
    }
    if r.action == FR_ACT_GOTO {
        t.put(8, 22, &ix, Value::Gauge32(r.goto.unwrap_or(0)));
    }
    t.put(8, 23, &ix, Value::Integer(i32::from(r.action)));
    if r.action == FR_ACT_TO_TBL {
        t.put(8, 24, &ix, Value::Gauge32(table));
    }
    if let Some(p) = r.priority.filter(|p| *p != 0) {
        t.put(8, 25, &ix, Value::Gauge32(p));
    }
    if let Some(v) = r.suppress_prefixlength {
        t.put(8, 26, &ix, Value::Gauge32(v));
    }
    if let Some(g) = r.suppress_ifgroup {
        // get_rttables_group(): the name in iproute2's `group` file, whose only entry
        // by default is "0 default"; otherwise the number.
        let name = if g == 0 {
            "default".to_string()
        } else {
            g.to_string()
        };
        t.put(8, 27, &ix, string(&name));
    }
    if let Some(id) = r.tunnel_id.filter(|id| *id != 0) {
        t.put(8, 28, &ix, Value::Gauge32((id >> 32) as u32));
        t.put(8, 29, &ix, Value::Gauge32(id as u32));
    }
    if let Some((start, end)) = r.uidrange {
        t.put(8, 30, &ix, Value::Gauge32(start));
        t.put(8, 31, &ix, Value::Gauge32(end));
    }
    if r.l3mdev {
        t.put(8, 32, &ix, Value::Integer(1));
    }
}

/// vrrpScriptTable (`.9`), `vrrp_snmp_script()`.
fn vrrp_scripts(t: &mut Tables<'_>, scripts: &[&VrrpScript], live: &Live) {
    for (si, s) in scripts.iter().enumerate() {
        let ix = [si as u32 + 1];
        t.put(9, 2, &ix, string(&s.name));
        if let Some(c) = &s.script {
            t.put(9, 3, &ix, string(&command_str(c)));
        }
        t.put(
            9,
            4,
            &ix,
            Value::Integer((s.interval_us / 1_000_000) as i32),
        );
        t.put(9, 5, &ix, Value::Integer(s.weight));
        // init(1) until the first run ends; then good(3) from `rise` on, else bad(2).
        // A script started failed by `init_fail` reads bad(2) here, where keepalived
        // reads initfailed(5) until its first run ends: the engine does not tell the
        // two apart.
        let result = match live.scripts.iter().find(|l| l.name == s.name) {
            None => 1,
            Some(l) if l.health == Health::Init => 1,
            Some(l) if l.result >= s.rise => 3,
            Some(_) => 2,
        };
        t.put(9, 6, &ix, Value::Integer(result));
        t.put(9, 7, &ix, Value::Gauge32(s.rise));
        t.put(9, 8, &ix, Value::Gauge32(s.fall));
        t.put(9, 9, &ix, truth(s.weight_reverse));
    }
}

/// vrrpFileTable (`.13`), `vrrp_snmp_file()`.
fn track_files(t: &mut Tables<'_>, files: &[&TrackFile], readings: &TrackerReadings) {
    for (fi, f) in files.iter().enumerate() {
        let ix = [fi as u32 + 1];
        t.put(13, 2, &ix, string(&f.name));
        let path = readings
            .file_paths
            .get(&f.name)
            .map(String::as_str)
            .or(f.file.as_deref())
            .unwrap_or_default();
        t.put(13, 3, &ix, string(path));
        // last_status, an int64_t answered as a 32-bit INTEGER.
        let value = readings.file_values.get(&f.name).copied().unwrap_or(0);
        t.put(13, 4, &ix, Value::Integer(value as i32));
        t.put(13, 5, &ix, Value::Integer(f.weight));
        t.put(13, 6, &ix, truth(f.weight_reverse));
    }
}

/// vrrpProcessTable (`.21`), `vrrp_snmp_process()`.
fn track_processes(t: &mut Tables<'_>, processes: &[&TrackProcess], readings: &TrackerReadings) {
    for (pi, p) in processes.iter().enumerate() {
        let ix = [pi as u32 + 1];
        t.put(21, 2, &ix, string(&p.name));
        t.put(21, 3, &ix, string(p.process.as_deref().unwrap_or_default()));
        t.put(21, 4, &ix, string(&p.parameters.join(" ")));
        // PARAM_MATCH_NONE(0), EXACT(1), INITIAL(2), PARTIAL(3); parameters without
        // param_match are matched exactly (`vrrp_tprocess_process_handler()`).
        let matching = match p.param_match {
            None if p.parameters.is_empty() => 0,
            None | Some(ParamMatch::Exact) => 1,
            Some(ParamMatch::Initial) => 2,
            Some(ParamMatch::Partial) => 3,
        };
        t.put(21, 5, &ix, Value::Integer(matching));
        t.put(21, 6, &ix, Value::Integer(p.weight));
        t.put(21, 7, &ix, truth(p.weight_reverse));
        t.put(21, 8, &ix, Value::Gauge32(p.quorum));
        // Without quorum_max keepalived holds UINT_MAX, which a 32-bit INTEGER reads as -1.
        let max = p.quorum_max.unwrap_or(u32::MAX);
        t.put(21, 9, &ix, Value::Integer(max as i32));
        // TIMER_HZ units: microseconds.
        t.put(
            21,
            10,
            &ix,
            Value::Gauge32(p.fork_delay_us.unwrap_or(0) as u32),
        );
        t.put(
            21,
            11,
            &ix,
            Value::Gauge32(p.terminate_delay_us.unwrap_or(0) as u32),
        );
        // Parameters and param_match imply full_command.
        let full = p.full_command || !p.parameters.is_empty() || p.param_match.is_some();
        t.put(21, 12, &ix, truth(full));
        let n = readings.process_counts.get(&p.name).copied().unwrap_or(0);
        t.put(21, 13, &ix, Value::Integer(n as i32));
        t.put(21, 14, &ix, truth(n >= p.quorum && n <= max));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{parse_str, DiagClass, ParseOptions};
    use crate::snmp::rfc2787::tests::{reference_config, reference_host, reference_live, Moment};
    use crate::snmp::walk;
    use crate::vrrp::live::LiveScript;

    const PREFIX: &str = ".1.3.6.1.4.1.9586.100.5.2.";

    /// The reference configuration as the VRRP process holds it: `/bin/true` resolved by
    /// `check_script_secure()` to the merged-/usr path keepalived showed.
    fn resolved_reference_config() -> Config {
        let mut cfg = reference_config();
        for s in &mut cfg.vrrp_scripts {
            if let Some(c) = &mut s.script {
                if c.argv[0] == "/bin/true" {
                    c.argv[0] = "/usr/bin/true".into();
                }
            }
        }
        cfg
    }

    /// The captured moment, with chk_true (rise 1, fall 1) passing.
    fn live(m: Moment) -> Live {
        let mut live = reference_live(m);
        live.scripts.push(LiveScript {
            name: "chk_true".into(),
            health: Health::Good,
            result: 1,
        });
        live
    }

    fn check(m: Moment, file: &str) {
        let cfg = resolved_reference_config();
        let mut tree = MibTree::new();
        add(&mut tree, &cfg, &live(m), &reference_host());
        assert_eq!(
            walk::lines(&tree, PREFIX),
            walk::reference(file, PREFIX),
            "{m:?}"
        );
    }

    #[test]
    fn master_walk_matches_keepalived_2_2_7() {
        check(Moment::Master, "keepalived-2.2.7-walk-keepalived.txt");
    }

    #[test]
    fn fault_walk_matches_keepalived_2_2_7() {
        check(Moment::Fault, "keepalived-2.2.7-walk-fault.txt");
    }

    #[test]
    fn backup_walk_matches_keepalived_2_2_7() {
        check(Moment::Backup, "keepalived-2.2.7-walk-backup.txt");
    }

    #[test]
    fn an_instance_missing_from_live_reads_as_initialising() {
        let cfg = resolved_reference_config();
        let mut live = live(Moment::Master);
        live.instances.retain(|i| i.name != "VI_V3");
        live.groups.clear();
        let mut tree = MibTree::new();
        add(&mut tree, &cfg, &live, &reference_host());
        let lines = walk::lines(&tree, PREFIX);
        for l in [
            ".1.3.6.1.4.1.9586.100.5.2.1.1.3.1 = INTEGER: 0",
            ".1.3.6.1.4.1.9586.100.5.2.3.1.4.2 = INTEGER: 0",
            ".1.3.6.1.4.1.9586.100.5.2.3.1.6.2 = INTEGER: 0",
            ".1.3.6.1.4.1.9586.100.5.2.3.1.8.2 = INTEGER: 150",
            ".1.3.6.1.4.1.9586.100.5.2.3.1.9.2 = INTEGER: 2",
            ".1.3.6.1.4.1.9586.100.5.2.6.1.10.2.1 = INTEGER: 2",
            // VI_6 is found by name past the gap.
            ".1.3.6.1.4.1.9586.100.5.2.3.1.4.3 = INTEGER: 2",
            ".1.3.6.1.4.1.9586.100.5.2.6.1.10.3.1 = INTEGER: 1",
        ] {
            assert!(lines.contains(&l.to_string()), "{l}");
        }
    }

    fn load(text: &str) -> Config {
        let loaded = parse_str(text, &ParseOptions::default());
        assert!(
            loaded
                .diagnostics
                .iter()
                .all(|d| d.class != DiagClass::Fatal),
            "{:?}",
            loaded.diagnostics
        );
        loaded.config
    }

    const OTHER: &str = r#"
global_defs {
    router_id other
}
static_ipaddress {
    10.9.0.1/24 dev eth1 scope link
    10.9.0.2/24 brd + label eth1:s
}
static_routes {
    10.10.0.0/16 via 10.9.0.254 dev eth1
    10.11.0.0/16 dev eth1 no_track
    10.12.0.0/16 nexthop via 10.9.0.253 dev eth1 weight 2 nexthop via 10.9.0.252 dev eth1
}
static_rules {
    from 10.9.0.0/24 table 100
}
track_file tf {
    file /run/tf
    weight 5
}
vrrp_track_process sshd {
    process sshd -D
    weight 3
}
vrrp_instance VI_U {
    interface eth0
    virtual_router_id 60
    priority 100
    unicast_src_ip 192.0.2.2
    unicast_peer {
        192.0.2.3
    }
    virtual_ipaddress {
        192.0.2.60/24
    }
    virtual_rules {
        to 198.51.100.0/24 lookup 200
    }
    track_interface {
        eth0
        eth1 weight 10
    }
    track_file {
        tf weight 7
    }
    track_process {
        sshd
    }
    notify_master "/usr/bin/logger up"
}
vrrp_instance VI_M {
    interface eth0
    virtual_router_id 61
    priority 90
    virtual_ipaddress {
        192.0.2.61/24
    }
}
"#;

    fn other_lines() -> Vec<String> {
        let cfg = load(OTHER);
        let host = reference_host();
        let live = Live {
            now: crate::time::Instant::from_micros(1_000_000),
            started: crate::time::Instant::from_micros(0),
            instances: vec![],
            groups: vec![],
            scripts: vec![],
            files: Default::default(),
            processes: Default::default(),
            bfds: Default::default(),
        };
        let readings = TrackerReadings {
            file_values: [("tf".to_string(), 12)].into_iter().collect(),
            file_paths: BTreeMap::new(),
            process_counts: [("sshd".to_string(), 1)].into_iter().collect(),
            bfd_up: BTreeMap::new(),
        };
        let mut tree = MibTree::new();
        add_with_readings(&mut tree, &cfg, &live, &host, &readings);
        walk::lines(&tree, PREFIX)
    }

    #[test]
    fn bfd_tables_show_the_sessions_the_vrrp_process_hears_of() {
        let cfg = load(
            "bfd_instance b1 {\n neighbor_ip 10.0.0.9\n weight -5 reverse\n}\n\
             bfd_instance b2 {\n neighbor_ip 10.0.0.8\n checker\n}\n\
             bfd_instance b3 {\n neighbor_ip 10.0.0.7\n}\n\
             vrrp_sync_group G {\n group {\n VI_1\n VI_2\n }\n track_bfd {\n b3\n }\n}\n\
             vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n priority 100\n\
              virtual_ipaddress {\n 10.0.0.100/24\n }\n track_bfd {\n b1 weight 0\n }\n}\n\
             vrrp_instance VI_2 {\n interface eth0\n virtual_router_id 2\n priority 100\n\
              virtual_ipaddress {\n 10.0.0.101/24\n }\n}\n",
        );
        let live = Live {
            now: crate::time::Instant::from_micros(1_000_000),
            started: crate::time::Instant::from_micros(0),
            instances: vec![],
            groups: vec![],
            scripts: vec![],
            files: Default::default(),
            processes: Default::default(),
            bfds: Default::default(),
        };
        let readings = TrackerReadings {
            bfd_up: [("b1".to_string(), true), ("b3".to_string(), false)]
                .into_iter()
                .collect(),
            ..TrackerReadings::default()
        };
        let mut tree = MibTree::new();
        add_with_readings(&mut tree, &cfg, &live, &reference_host(), &readings);
        let l = walk::lines(&tree, PREFIX);
        // vrrpTrackedBfdTable: the BFD's own weight, not the track_bfd line's.
        assert!(has(&l, "17.1.2.1.1 = STRING: \"b1\""), "{l:#?}");
        assert!(has(&l, "17.1.3.1.1 = INTEGER: -5"));
        assert!(has(&l, "17.1.4.1.1 = INTEGER: 1"));
        assert!(none_under(&l, "17.1.2.2."));
        // vrrpBfdTable: b2 goes to the checker only.
        assert!(has(&l, "18.1.2.1 = STRING: \"b1\""));
        assert!(has(&l, "18.1.3.1 = INTEGER: 1"));
        assert!(has(&l, "18.1.2.2 = STRING: \"b3\""));
        assert!(has(&l, "18.1.3.2 = INTEGER: 0"));
        assert!(has(&l, "18.1.5.2 = INTEGER: 2"));
        assert!(none_under(&l, "18.1.2.3 "));
        // syncGroupTrackedBfdTable.
        assert!(has(&l, "19.1.2.1.1 = STRING: \"b3\""));
        assert!(has(&l, "19.1.3.1.1 = INTEGER: 0"));
    }

    fn has(lines: &[String], l: &str) -> bool {
        lines.iter().any(|x| x == &format!("{PREFIX}{l}"))
    }

    fn none_under(lines: &[String], column: &str) -> bool {
        !lines
            .iter()
            .any(|x| x.starts_with(&format!("{PREFIX}{column}")))
    }

    #[test]
    fn unicast_instances_have_no_multicast_group() {
        let l = other_lines();
        assert!(none_under(&l, "3.1.34.1 "), "{l:#?}");
        assert!(none_under(&l, "3.1.35.1 "));
        assert!(has(&l, "3.1.34.2 = INTEGER: 1"));
        assert!(has(&l, "3.1.35.2 = Hex-STRING: E0 00 00 12"));
        // Not in the engine yet: initialising, VIPs not set.
        assert!(has(&l, "3.1.4.1 = INTEGER: 0"));
        assert!(has(&l, "3.1.9.1 = INTEGER: 2"));
        // notify_master sets notify_exec and is shown quoted word by word.
        assert!(has(&l, "3.1.21.1 = INTEGER: 1"));
        assert!(has(&l, "3.1.22.1 = STRING: \"'/usr/bin/logger' 'up'\""));
        assert!(has(&l, "3.1.21.2 = INTEGER: 2"));
        assert!(none_under(&l, "3.1.22.2 "));
    }

    #[test]
    fn static_addresses_routes_and_rules_are_instance_0() {
        let l = other_lines();
        // Addresses: 0.1 on eth1 (index 3) with its configured scope; 0.2 on the
        // default interface, brd + computed; both set, neither advertised.
        assert!(has(&l, "6.1.3.0.1 = Hex-STRING: 0A 09 00 01"), "{l:#?}");
        assert!(has(&l, "6.1.6.0.1 = INTEGER: 2"));
        assert!(has(&l, "6.1.7.0.1 = INTEGER: 3"));
        assert!(has(&l, "6.1.8.0.1 = STRING: \"eth1\""));
        assert!(has(&l, "6.1.4.0.2 = Hex-STRING: 0A 09 00 FF"));
        assert!(has(&l, "6.1.8.0.2 = STRING: \"eth0\""));
        assert!(has(&l, "6.1.9.0.2 = STRING: \"eth1:s\""));
        assert!(none_under(&l, "6.1.9.0.1 "));
        assert!(has(&l, "6.1.10.0.1 = INTEGER: 1"));
        assert!(has(&l, "6.1.11.0.1 = INTEGER: 2"));
        // The first instance's VIP is advertised, the second's is not.
        assert!(has(&l, "6.1.11.1.1 = INTEGER: 1"));
        assert!(has(&l, "6.1.11.2.1 = INTEGER: 2"));
        // Routes: a tracked route reads protocol 19, a no_track one none.
        assert!(has(&l, "7.1.5.0.1 = Hex-STRING: 0A 09 00 FE"));
        assert!(has(&l, "7.1.14.0.1 = INTEGER: 1"));
        assert!(has(&l, "7.1.18.0.1 = INTEGER: 19"));
        assert!(none_under(&l, "7.1.18.0.2 "));
        assert!(none_under(&l, "7.1.5.0.2 "));
        // The multipath route: type multipath(2), two next hops indexed 0.3.H.
        assert!(has(&l, "7.1.10.0.3 = INTEGER: 2"));
        assert!(none_under(&l, "7.1.6.0.3 "));
        assert!(has(&l, "11.1.3.0.3.1 = Hex-STRING: 0A 09 00 FD"));
        assert!(has(&l, "11.1.4.0.3.1 = INTEGER: 3"));
        assert!(has(&l, "11.1.6.0.3.1 = Gauge32: 2"));
        assert!(none_under(&l, "11.1.6.0.3.2 "));
        assert!(has(&l, "11.1.3.0.3.2 = Hex-STRING: 0A 09 00 FC"));
        // Rules: the static one at 0.1, the instance's at 1.1, unset while not master.
        assert!(has(&l, "8.1.2.0.1 = STRING: \"from\""));
        assert!(has(&l, "8.1.6.0.1 = Gauge32: 100"));
        assert!(has(&l, "8.1.7.0.1 = INTEGER: 1"));
        assert!(has(&l, "8.1.13.0.1 = Hex-STRING: 0A 09 00 00"));
        assert!(none_under(&l, "8.1.10.0.1 "));
        assert!(has(&l, "8.1.2.1.1 = STRING: \"to\""));
        assert!(has(&l, "8.1.24.1.1 = Gauge32: 200"));
        assert!(has(&l, "8.1.7.1.1 = INTEGER: 2"));
        assert!(has(&l, "8.1.23.1.1 = INTEGER: 1"));
    }

    #[test]
    fn tracked_interfaces_files_and_processes() {
        let l = other_lines();
        // The instance's own interface is not tracked: eth1 is the first row.
        assert!(has(&l, "4.1.1.1.1 = STRING: \"eth1\""), "{l:#?}");
        assert!(has(&l, "4.1.2.1.1 = INTEGER: 10"));
        assert!(none_under(&l, "4.1.1.1.2 "));
        assert!(has(&l, "3.1.11.1 = INTEGER: 1"));
        assert!(has(&l, "3.1.11.2 = INTEGER: 2"));
        // The tracked file row shows the file's own weight, not the track_file line's.
        assert!(has(&l, "12.1.2.1.1 = STRING: \"tf\""));
        assert!(has(&l, "12.1.3.1.1 = INTEGER: 5"));
        assert!(has(&l, "13.1.3.1 = STRING: \"/run/tf\""));
        assert!(has(&l, "13.1.4.1 = INTEGER: 12"));
        assert!(has(&l, "13.1.5.1 = INTEGER: 5"));
        // The process: parameters, exact match implied, quorum 1 of at most UINT_MAX.
        assert!(has(&l, "20.1.2.1.1 = STRING: \"sshd\""));
        assert!(has(&l, "21.1.3.1 = STRING: \"sshd\""));
        assert!(has(&l, "21.1.4.1 = STRING: \"-D\""));
        assert!(has(&l, "21.1.5.1 = INTEGER: 1"));
        assert!(has(&l, "21.1.8.1 = Gauge32: 1"));
        assert!(has(&l, "21.1.9.1 = INTEGER: -1"));
        assert!(has(&l, "21.1.12.1 = INTEGER: 1"));
        assert!(has(&l, "21.1.13.1 = INTEGER: 1"));
        assert!(has(&l, "21.1.14.1 = INTEGER: 1"));
        // No sync group, no script.
        assert!(none_under(&l, "1."));
        assert!(none_under(&l, "9."));
    }
}
