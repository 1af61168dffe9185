//! What the simulator refuses to run, so that a pass means the configuration was
//! exercised: an interface the host's wiring does not carry, a host with nothing to run,
//! and every tracker or checker the simulator does not model, each by its keyword.
//!
//! Modelled: vrrp_instance (multicast and unicast, v2 and v3, IPv4 and IPv6), sync
//! groups, track_interface, vrrp_script / track_script (a scenario's `script` events
//! decide their exit), virtual_server with TCP_CHECK, HTTP_GET (status and digest),
//! MISC_CHECK (its command's exit is a `script` event's, by the command line) and
//! BFD_CHECK, and single-hop bfd_instance sessions (RFC 5880/5881, on the daemon's BFD
//! engine and loop, `crate::bfd`) with track_bfd. A BFD neighbour no host of the
//! scenario holds never answers: its session stays Down, as beside a router that is
//! off.

use std::net::IpAddr;

use keepalived_engine::config::model::{Checker, CheckerKind, Config, Trackers, VsAddress};

use crate::scenario::{Host, Role};

/// Checks host `i` of `hosts`; the message names the host, the keyword and where.
pub fn check_host(hosts: &[Host], segments: &[String], i: usize) -> Result<(), String> {
    let h = &hosts[i];
    let who = &h.name;
    let cfg = &h.config;
    match h.role {
        Role::RealServer => return Ok(()),
        Role::Vrrp
            if cfg.instances.is_empty()
                && cfg.virtual_servers.is_empty()
                && cfg.bfd_instances.is_empty() =>
        {
            return Err(format!(
                "host {who}: its configuration ({}) has no vrrp_instance, virtual_server or bfd_instance: nothing would be simulated",
                h.source
            ))
        }
        Role::Checker if cfg.virtual_servers.is_empty() => {
            return Err(format!(
                "host {who}: a checker host needs virtual_server blocks ({} has none)",
                h.source
            ))
        }
        _ => {}
    }
    for (name, user) in interfaces_named(cfg) {
        if h.iface(&name).is_none() {
            let wiring = h
                .ifaces
                .iter()
                .map(|x| format!("{} = {:?}", x.name, segments[x.segment]))
                .collect::<Vec<_>>()
                .join(", ");
            return Err(format!(
                "host {who}: {user} uses interface {name}, which the scenario does not wire; \
                 add it to the host's `interfaces` (now {{ {wiring} }})"
            ));
        }
    }
    if let Some(k) = unmodelled(cfg) {
        return Err(format!(
            "host {who}: {k} is not simulated; the simulator models vrrp_instance, sync groups, \
             track_interface, vrrp_script, track_bfd, single-hop bfd_instance and virtual_server \
             with TCP_CHECK, HTTP_GET, MISC_CHECK and BFD_CHECK"
        ));
    }
    check_peers(hosts, segments, i)?;
    check_unique(hosts, i)?;
    if h.runs_checker() {
        check_targets(hosts, i)?;
    }
    Ok(())
}

/// What a run of `hosts` will not show though nothing is refused: each `bfd_instance`
/// whose neighbour no host holds, whose session stays Down (and whose `track_bfd`
/// instances stay in FAULT), one line each.
pub fn bfd_notes(hosts: &[Host]) -> Vec<String> {
    let mut out = Vec::new();
    for h in hosts {
        for b in &h.config.bfd_instances {
            let Some(nbr) = b.neighbor_ip else { continue };
            if Host::owner_of(hosts, nbr).is_none() {
                out.push(format!(
                    "host {}: bfd_instance {}'s neighbor {nbr} is no host's, so its session stays Down \
                     (add that host's config, or give a host `addresses`, to simulate it)",
                    h.name, b.name
                ));
            }
        }
    }
    out
}

/// No two interfaces hold one address: two hosts sharing an advert source would
/// make every run a split brain without saying why.
fn check_unique(hosts: &[Host], i: usize) -> Result<(), String> {
    for a in &hosts[i].ifaces {
        for (j, h) in hosts.iter().enumerate() {
            for b in &h.ifaces {
                if (j, &b.name) != (i, &a.name) && (a.ipv4 == b.ipv4 || a.ipv6 == b.ipv6) {
                    let shared = if a.ipv4 == b.ipv4 {
                        a.ipv4.to_string()
                    } else {
                        a.ipv6.to_string()
                    };
                    return Err(format!(
                        "host {}: its {} and {}'s {} both hold {shared} (a shared unicast_src_ip or \
                         mcast_src_ip from a common include?); give each its own address",
                        hosts[i].name, a.name, h.name, b.name
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Every unicast peer must be an address some host of the scenario holds on the
/// instance's segment: adverts sent to nobody, or to a host the invariants do not pair
/// with the instance, would leave it alone without anything saying so.
fn check_peers(hosts: &[Host], segments: &[String], i: usize) -> Result<(), String> {
    for vi in &hosts[i].config.instances {
        let seg = crate::host::iface_of(&hosts[i].ifaces, vi).map(|k| hosts[i].ifaces[k].segment);
        for p in &vi.unicast_peers {
            if let (Some((h, k)), Some(seg)) = (Host::owner_of(hosts, p.address), seg) {
                let theirs = hosts[h].ifaces[k].segment;
                if theirs != seg {
                    return Err(format!(
                        "host {}: unicast_peer {} of vrrp_instance {} is held by {} on its {} (segment {}), \
                         but the instance runs on segment {}; put both interfaces on one segment \
                         (`interfaces`, or --segments HOST:IFACE=SEGMENT)",
                        hosts[i].name,
                        p.address,
                        vi.name,
                        hosts[h].name,
                        hosts[h].ifaces[k].name,
                        segments[theirs],
                        segments[seg]
                    ));
                }
            }
            if Host::owner_of(hosts, p.address).is_none() {
                let held: Vec<String> = hosts
                    .iter()
                    .flat_map(|h| {
                        h.ifaces
                            .iter()
                            .map(move |x| format!("{} {} {} {}", h.name, x.name, x.ipv4, x.ipv6))
                    })
                    .collect();
                return Err(format!(
                    "host {}: unicast_peer {} of vrrp_instance {} is an address no host holds; \
                     give the host that should hold it `addresses` (or the config a unicast_src_ip). \
                     Hosts hold: {}",
                    hosts[i].name,
                    p.address,
                    vi.name,
                    held.join(", ")
                ));
            }
        }
    }
    Ok(())
}

/// Every interface the config names, with who names it.
pub(crate) fn interfaces_named(cfg: &Config) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for vi in &cfg.instances {
        match &vi.interface {
            Some(n) => out.push((n.clone(), format!("vrrp_instance {}", vi.name))),
            None => out.push((
                "(none)".into(),
                format!("vrrp_instance {} (no `interface`)", vi.name),
            )),
        }
        for t in &vi.trackers.interfaces {
            out.push((t.name.clone(), format!("track_interface of {}", vi.name)));
        }
        for a in vi
            .virtual_ipaddress
            .iter()
            .chain(&vi.virtual_ipaddress_excluded)
        {
            if let Some(d) = &a.dev {
                out.push((
                    d.clone(),
                    format!("virtual_ipaddress {} of {}", a.address, vi.name),
                ));
            }
        }
    }
    for g in &cfg.sync_groups {
        for t in &g.trackers.interfaces {
            out.push((
                t.name.clone(),
                format!("track_interface of sync group {}", g.name),
            ));
        }
    }
    for l in &cfg.linkbeat_interfaces {
        out.push((l.interface.clone(), "linkbeat_interfaces".into()));
    }
    out
}

/// The first tracker the simulator does not model, as `keyword name`.
fn unmodelled_tracker(t: &Trackers) -> Option<String> {
    [("track_file", &t.files), ("track_process", &t.processes)]
        .into_iter()
        .find_map(|(kw, list)| list.first().map(|r| format!("{kw} {}", r.name)))
}

/// The first keyword of `cfg` the simulator cannot reproduce, with where it is.
fn unmodelled(cfg: &Config) -> Option<String> {
    if let Some(t) = cfg.track_files.first() {
        return Some(format!("vrrp_track_file {}", t.name));
    }
    if let Some(t) = cfg.track_processes.first() {
        return Some(format!("vrrp_track_process {}", t.name));
    }
    for vi in &cfg.instances {
        if let Some(k) = unmodelled_tracker(&vi.trackers) {
            return Some(format!("{k} of vrrp_instance {}", vi.name));
        }
        if vi.use_ipvlan.is_some() {
            return Some(format!("use_ipvlan of vrrp_instance {}", vi.name));
        }
        if let Some(v) = &vi.vrf {
            return Some(format!("vrf {v} of vrrp_instance {}", vi.name));
        }
        if vi.use_vmac_addr {
            return Some(format!("use_vmac_addr of vrrp_instance {}", vi.name));
        }
        if let Some(a) = vi
            .virtual_ipaddress
            .iter()
            .chain(&vi.virtual_ipaddress_excluded)
            .find(|a| a.use_vmac)
        {
            return Some(format!(
                "use_vmac of address {} of vrrp_instance {}",
                a.address, vi.name
            ));
        }
    }
    for g in &cfg.sync_groups {
        if let Some(k) = unmodelled_tracker(&g.trackers) {
            return Some(format!("{k} of vrrp_sync_group {}", g.name));
        }
    }
    for vs in &cfg.virtual_servers {
        for rs in &vs.real_servers {
            for c in &rs.checkers {
                let at = format!(
                    "real_server {} of virtual_server {}",
                    rs.address,
                    vs_label(&vs.address)
                );
                match &c.kind {
                    CheckerKind::TcpCheck | CheckerKind::MiscCheck(_) => {}
                    // It follows a session of this host's BFD side; one that names no
                    // bfd_instance would follow nothing.
                    CheckerKind::BfdCheck { name } => {
                        let known = name
                            .as_ref()
                            .is_some_and(|n| cfg.bfd_instances.iter().any(|b| &b.name == n));
                        if !known {
                            return Some(format!(
                                "BFD_CHECK {} (no bfd_instance of that name) of {at}",
                                name.as_deref().unwrap_or("without a name")
                            ));
                        }
                    }
                    CheckerKind::HttpGet(h) => {
                        if let Some(u) = h.urls.iter().find(|u| u.regex.is_some()) {
                            return Some(format!("HTTP_GET url {} regex of {at}", u.path));
                        }
                    }
                    other => return Some(format!("{} of {at}", other.keyword())),
                }
            }
        }
    }
    None
}

/// Every checker of `cfg` that probes over the network (all but MISC_CHECK, which runs a
/// command, and BFD_CHECK, which follows a BFD session), with the address and port it
/// probes.
pub(crate) fn probed(cfg: &Config) -> Vec<(IpAddr, u16, &Checker)> {
    let mut out = Vec::new();
    for rs in cfg.virtual_servers.iter().flat_map(|vs| &vs.real_servers) {
        for c in &rs.checkers {
            if !matches!(
                c.kind,
                CheckerKind::MiscCheck(_) | CheckerKind::BfdCheck { .. }
            ) {
                let ip = c.connection.connect_ip.unwrap_or(rs.address);
                out.push((ip, c.connection.connect_port.or(rs.port).unwrap_or(0), c));
            }
        }
    }
    out
}

/// Every probe of a checker host must reach a real_server host of the scenario that
/// listens on the port.
fn check_targets(hosts: &[Host], i: usize) -> Result<(), String> {
    let who = &hosts[i].name;
    let listed = || {
        hosts
            .iter()
            .filter(|h| h.role == Role::RealServer)
            .map(|h| format!("{} = {}", h.name, h.ifaces[0].ipv4))
            .collect::<Vec<_>>()
            .join(", ")
    };
    for (ip, port, c) in probed(&hosts[i].config) {
        match Host::owner_of(hosts, ip) {
            Some((t, _)) if hosts[t].role == Role::RealServer => {
                if !hosts[t].listen.contains(&port) {
                    return Err(format!(
                        "host {who}: {} of {ip} port {port}: {} does not listen on {port} (listen = {:?})",
                        c.kind.keyword(),
                        hosts[t].name,
                        hosts[t].listen
                    ));
                }
            }
            _ => {
                return Err(format!(
                    "host {who}: {} of {ip} port {port} aims at no real_server host; \
                     real_server hosts have {} (by default hosts get 192.168.<segment>.1, .2, … in order; \
                     set `addresses` to give one the config's)",
                    c.kind.keyword(),
                    listed()
                ))
            }
        }
    }
    Ok(())
}

fn vs_label(a: &VsAddress) -> String {
    match a {
        VsAddress::Ip { address, port } => format!("{address} {port}"),
        VsAddress::Fwmark { mark } => format!("fwmark {mark}"),
        VsAddress::Group { name } => format!("group {name}"),
    }
}
