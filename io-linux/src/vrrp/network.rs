//! The host's network as the VRRP engine sees and changes it: the interface table the
//! engine is told of, kept from rtnetlink, and the addresses, routes, rules and VMACs the
//! instances hold on the host.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use keepalived_engine::config::model::Config;
use keepalived_engine::vrrp::{Engine, Input, InterfaceInfo, Owned, State};
use tracing::{debug, info, warn};

use keepalived_driver::vrrp::Event;

use super::vmac::Vmacs;
use crate::host::netlink::{HostEvent, Netlink};

/// The rtnetlink connection, the interfaces as last told to the engine, and the VMACs.
pub(crate) struct Network {
    netlink: Netlink,
    interfaces: BTreeMap<String, InterfaceInfo>,
    /// Interfaces of the table that have been deleted: down, until created again.
    deleted: BTreeSet<String>,
    vmacs: Vmacs,
}

impl Network {
    /// Connects to rtnetlink and creates the VMACs `config` asks for; returns the
    /// interfaces as they then are, the engine's first view of them.
    pub(crate) async fn connect(config: &Config) -> Result<(Network, Vec<InterfaceInfo>), String> {
        let mut netlink = Netlink::connect().map_err(|e| e.to_string())?;
        let mut vmacs = Vmacs::default();
        vmacs.ensure(&mut netlink, config).await;
        let ifs = netlink.interfaces().await.map_err(|e| e.to_string())?;
        let network = Network {
            interfaces: ifs.iter().map(|i| (i.name.clone(), i.clone())).collect(),
            deleted: BTreeSet::new(),
            netlink,
            vmacs,
        };
        Ok((network, ifs))
    }

    pub(crate) fn ifindex(&self, name: &str) -> Option<u32> {
        self.netlink.ifindex(name)
    }

    /// The next link or address change the kernel reports.
    pub(crate) async fn next_host_event(&mut self) -> Option<HostEvent> {
        self.netlink.next_host_event().await
    }

    /// A link or address change as the engine sees interfaces: state and MAC from link
    /// messages, the primary IPv4 and the link-local IPv6 address (the advert sources)
    /// from address messages. Our own VIPs come and go without changing either.
    /// `polled`: whether an interface's link is polled rather than taken from netlink.
    pub(crate) async fn host_event(
        &mut self,
        ev: HostEvent,
        polled: impl Fn(&str) -> bool,
    ) -> Option<Event> {
        let merged = match ev {
            HostEvent::Link(info) => {
                let gone = self.netlink.ifindex(&info.name).is_none();
                let created = !gone
                    && (self.deleted.remove(&info.name)
                        || !self.interfaces.contains_key(&info.name));
                // A polled interface's link state comes from polling alone; that it was
                // created or deleted comes from here.
                if polled(&info.name) && !gone && !created {
                    return None;
                }
                if gone {
                    // A deleted link leaves the netlink index: to the engine it is down
                    // and has no addresses, so its instances go to FAULT until it is
                    // created again (`cleanup_lost_interface()`, `vrrp_if.c`).
                    if self.deleted.insert(info.name.clone()) {
                        info!(interface = %info.name, "interface deleted");
                    }
                    InterfaceInfo {
                        up: false,
                        ipv4: None,
                        ipv6_ll: None,
                        ..info
                    }
                } else {
                    if created {
                        debug!(interface = %info.name, "interface created");
                    }
                    match self.interfaces.get(&info.name) {
                        Some(old) => InterfaceInfo {
                            ipv4: old.ipv4,
                            ipv6_ll: old.ipv6_ll,
                            ipv6_forwarding: old.ipv6_forwarding,
                            ..info
                        },
                        None => info,
                    }
                }
            }
            HostEvent::Address {
                interface,
                addr,
                added,
            } => {
                let mut info = self.interfaces.get(&interface)?.clone();
                let link_local =
                    matches!(addr, IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80);
                if let (IpAddr::V6(ll), true, true) = (addr, added, link_local) {
                    self.vmacs
                        .base_link_local(&mut self.netlink, &interface, ll)
                        .await;
                }
                match (addr, added) {
                    (IpAddr::V4(v4), true) if info.ipv4.is_none() => info.ipv4 = Some(v4),
                    (IpAddr::V6(v6), true) if link_local && info.ipv6_ll.is_none() => {
                        info.ipv6_ll = Some(v6)
                    }
                    (a, false)
                        if v4_of(a).is_some_and(|v| info.ipv4 == Some(v))
                            || v6_of(a).is_some_and(|v| info.ipv6_ll == Some(v)) =>
                    {
                        // The source address went: the next primary is what the kernel
                        // lists first now.
                        let fresh = self.netlink.interfaces().await.ok()?;
                        let now = fresh.into_iter().find(|i| i.name == interface)?;
                        info.ipv4 = now.ipv4;
                        info.ipv6_ll = now.ipv6_ll;
                    }
                    _ => return None,
                }
                info
            }
        };
        if self.interfaces.get(&merged.name) == Some(&merged) {
            return None;
        }
        self.interfaces.insert(merged.name.clone(), merged.clone());
        Some(Event::Input(Input::Interface(merged)))
    }

    /// A polled link read `up`: the interface as the engine must now see it, if that
    /// changed it.
    pub(crate) fn link_polled(&mut self, name: &str, up: bool) -> Option<InterfaceInfo> {
        let old = self.interfaces.get_mut(name)?;
        if old.up == up {
            return None;
        }
        old.up = up;
        Some(old.clone())
    }

    /// The interfaces as the kernel lists them now; those that differ from what the
    /// engine was told are returned, and the table takes them.
    pub(crate) async fn refresh(&mut self) -> Vec<Input> {
        let mut news = Vec::new();
        if let Ok(ifs) = self.netlink.interfaces().await {
            for info in ifs {
                if self.interfaces.get(&info.name) != Some(&info) {
                    self.interfaces.insert(info.name.clone(), info.clone());
                    news.push(Input::Interface(info));
                }
            }
        }
        news
    }

    /// Creates the VMACs `config` asks for that do not exist yet.
    pub(crate) async fn ensure_vmacs(&mut self, config: &Config) {
        self.vmacs.ensure(&mut self.netlink, config).await;
    }

    /// Deletes the VMACs we created that are not in `keep`.
    pub(crate) async fn remove_vmacs_except(&mut self, keep: &[String]) {
        self.vmacs.remove_except(&mut self.netlink, keep).await;
    }

    /// Deletes every VMAC we created and puts back the sysctls we changed.
    pub(crate) async fn remove_vmacs(&mut self) {
        self.vmacs.remove_all(&mut self.netlink).await;
    }

    /// Adds or removes one address, route or rule. Done, it is logged only with `-D`,
    /// as keepalived logs its GARPs (`vrrp_send_update()`): a takeover of 1,000
    /// instances is not 1,000 more writes ahead of their GARPs.
    pub(crate) async fn change(&mut self, instance: &str, vrid: u8, what: Owned, add: bool) {
        match what {
            Owned::Address {
                addr, interface, ..
            } => {
                let r = if add {
                    self.netlink.add_address(&addr, &interface).await
                } else {
                    self.netlink.del_address(&addr, &interface).await
                };
                match r {
                    Ok(()) => {
                        debug!(%instance, vrid, %interface, "{} {}/{}", if add { "adding" } else { "removing" }, addr.address, addr.prefix_len)
                    }
                    Err(e) => {
                        warn!(%instance, vrid, %interface, "{} {}: {e}", if add { "adding" } else { "removing" }, addr.address)
                    }
                }
            }
            Owned::Route(r) => match self.netlink.route(&r, add).await {
                Ok(()) => {
                    debug!(%instance, vrid, "{} route {:?} via {:?}", if add { "adding" } else { "removing" }, r.to, r.via)
                }
                Err(e) => {
                    warn!(%instance, vrid, "{} route {:?}: {e}", if add { "adding" } else { "removing" }, r.to)
                }
            },
            Owned::Rule(r) => match self.netlink.rule(&r, add).await {
                Ok(()) => {
                    debug!(%instance, vrid, "{} rule from {:?} to {:?}", if add { "adding" } else { "removing" }, r.from, r.to)
                }
                Err(e) => {
                    warn!(%instance, vrid, "{} rule: {e}", if add { "adding" } else { "removing" })
                }
            },
        }
    }

    /// Removes the VIPs of instances that start as backup if the host still holds them
    /// from a previous run that did not stop cleanly (a crashed and respawned VRRP
    /// child): a backup holding the VIP would answer for it beside the master
    /// (`vrrp_init_state()` → `vrrp_restore_interface(…, force)`).
    pub(crate) async fn remove_leftovers(&mut self, engine: &Engine) {
        for inst in engine.instances() {
            if inst.owner() || inst.state == State::Master {
                continue;
            }
            for what in inst.owned() {
                let Owned::Address {
                    addr, interface, ..
                } = what
                else {
                    continue;
                };
                if matches!(
                    self.netlink.has_address(addr.address, &interface).await,
                    Ok(true)
                ) {
                    info!(instance = %inst.name(), vrid = inst.vrid(), %interface, "removing {}/{} left from a previous run", addr.address, addr.prefix_len);
                    if let Err(e) = self.netlink.del_address(&addr, &interface).await {
                        warn!(instance = %inst.name(), %interface, "removing {}: {e}", addr.address);
                    }
                }
            }
        }
    }
}

fn v4_of(a: IpAddr) -> Option<std::net::Ipv4Addr> {
    match a {
        IpAddr::V4(v) => Some(v),
        IpAddr::V6(_) => None,
    }
}

fn v6_of(a: IpAddr) -> Option<std::net::Ipv6Addr> {
    match a {
        IpAddr::V6(v) => Some(v),
        IpAddr::V4(_) => None,
    }
}
