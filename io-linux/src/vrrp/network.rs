//! The host's network as the VRRP engine sees and changes it: the interface table the
//! engine is told of, kept from rtnetlink, and the addresses, routes, rules and VMACs the
//! instances hold on the host.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::IpAddr;
use std::time::Duration;

use keepalived_engine::config::model::Config;
use keepalived_engine::vrrp::dump::{HostInterface, HostLink};
use keepalived_engine::vrrp::track::tracked_source;
use keepalived_engine::vrrp::{Engine, Input, InterfaceInfo, Owned, State};
use tracing::{debug, info, warn};

use keepalived_driver::vrrp::Event;

use super::firewall::Firewall;
use super::vmac::Vmacs;
use crate::host::netlink::{Change, HostEvent, Netlink};

/// The rtnetlink connection, the interfaces as last told to the engine, and the VMACs.
pub(crate) struct Network {
    netlink: Netlink,
    interfaces: BTreeMap<String, InterfaceInfo>,
    /// Interfaces of the table that have been deleted: down, until created again.
    deleted: BTreeSet<String>,
    vmacs: Vmacs,
    /// `interface_up_down_delays`: how long an interface must stay down, or up, before
    /// its instances are told.
    delays: BTreeMap<String, Debounce>,
    /// Link changes held back by their delay: the interface as it will be told, and when.
    held: BTreeMap<String, Held>,
    /// Interfaces seen up: one never up is told at once (`update_interface_flags()`).
    seen_up: BTreeSet<String>,
    /// The `track_src_ip` addresses, by interface, and whether each is on it as the
    /// engine was last told.
    sources: BTreeMap<(String, IpAddr), bool>,
    /// What the engine is still to be told, ahead of the next host event.
    pending: VecDeque<Input>,
    /// The nftables drop rules for the VIPs of masters not in accept mode.
    firewall: Firewall,
    /// What each instance has put on the host and not taken off: someone else removing
    /// one of these is told to the engine.
    installed: BTreeMap<String, Vec<Owned>>,
    /// What we removed whose deletion the kernel has still to report: that report is
    /// ours, not someone else's (a reload may add back at once what it takes off).
    removed_by_us: Vec<Owned>,
    /// Addresses of a burst whose drop rules are queued and which wait for them: they
    /// are added once the rules are in ([`Network::settle`]).
    held_back: Vec<(String, u8, Owned)>,
}

/// A deletion the kernel reports.
enum Removal<'a> {
    Kernel(&'a Change),
    Address(&'a str, IpAddr),
}

/// An interface's `interface_up_down_delays`, as `check_debounce_timers()` leaves them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Debounce {
    down: Duration,
    up: Duration,
}

/// A link change waiting out its delay.
#[derive(Debug, Clone)]
struct Held {
    due: tokio::time::Instant,
    info: InterfaceInfo,
}

/// The delays `config` gives each interface (`alloc_if_up_down_delay()`), a VMAC taking
/// its base interface's (`vrrp_complete_instance()`). A delay that is not shorter than
/// `down_timer_adverts - 1` adverts of an instance on the interface is cut to that less
/// 1/256 of an advert, so an interface's change still reaches the instance before its
/// peers' master-down timer could run out (`check_debounce_timers()`); with
/// `down_timer_adverts 1` there is no delay at all (`vrrp_complete_instance()`).
fn debounces(config: &Config) -> BTreeMap<String, Debounce> {
    let mut out = BTreeMap::new();
    for d in &config.interface_up_down_delays {
        let mut deb = Debounce {
            down: Duration::from_micros(d.down_us),
            up: Duration::from_micros(d.up_us),
        };
        let on_it = config
            .instances
            .iter()
            .filter(|vi| vi.interface.as_deref() == Some(d.interface.as_str()));
        for vi in on_it.clone() {
            let adverts = u64::from(vi.down_timer_adverts.saturating_sub(1));
            let limit = adverts * vi.advert_int_us;
            let cut = Duration::from_micros(limit.saturating_sub(vi.advert_int_us / 256));
            for delay in [&mut deb.down, &mut deb.up] {
                if adverts == 0 {
                    *delay = Duration::ZERO;
                } else if *delay >= Duration::from_micros(limit) {
                    *delay = cut.min(*delay);
                }
            }
        }
        for vmac in on_it.filter_map(|vi| vi.vmac()) {
            out.insert(vmac.to_string(), deb);
        }
        out.insert(d.interface.clone(), deb);
    }
    out
}

impl Network {
    /// Connects to rtnetlink and creates the VMACs `config` asks for; returns the
    /// interfaces as they then are, the engine's first view of them.
    pub(crate) async fn connect(config: &Config) -> Result<(Network, Vec<InterfaceInfo>), String> {
        let mut netlink = Netlink::connect_watching_routes().map_err(|e| e.to_string())?;
        let mut vmacs = Vmacs::default();
        vmacs.ensure(&mut netlink, config).await;
        let ifs = netlink.interfaces().await.map_err(|e| e.to_string())?;
        let network = Network {
            interfaces: ifs.iter().map(|i| (i.name.clone(), i.clone())).collect(),
            deleted: BTreeSet::new(),
            netlink,
            vmacs,
            delays: debounces(config),
            held: BTreeMap::new(),
            seen_up: ifs
                .iter()
                .filter(|i| i.up)
                .map(|i| i.name.clone())
                .collect(),
            sources: BTreeMap::new(),
            installed: BTreeMap::new(),
            removed_by_us: Vec::new(),
            held_back: Vec::new(),
            pending: VecDeque::new(),
            firewall: Firewall::start(config),
        };
        let mut network = network;
        network.sync_vmac_rules();
        Ok((network, ifs))
    }

    /// Looks up the `track_src_ip` addresses `config` names on their interfaces, and
    /// returns those whose presence the engine has not been told yet (all of them at
    /// start; on a reload the new ones and any that changed).
    pub(crate) async fn follow_sources(&mut self, config: &Config) -> Vec<Input> {
        let mut now = BTreeMap::new();
        let mut news = Vec::new();
        for (interface, addr) in config.instances.iter().filter_map(tracked_source) {
            let key = (interface.to_string(), addr);
            if now.contains_key(&key) {
                continue;
            }
            let present = match self.netlink.has_address(addr, interface).await {
                Ok(present) => present,
                Err(e) => {
                    warn!(%interface, %addr, "track_src_ip: {e}");
                    false
                }
            };
            if self.sources.get(&key) != Some(&present) {
                news.push(Input::SourceAddress {
                    interface: key.0.clone(),
                    addr,
                    present,
                });
            }
            now.insert(key, present);
        }
        self.sources = now;
        news
    }

    /// The `track_src_ip` addresses missing from their interfaces now.
    pub(crate) fn missing_sources(&self) -> BTreeSet<(String, IpAddr)> {
        self.sources
            .iter()
            .filter(|(_, present)| !**present)
            .map(|(key, _)| key.clone())
            .collect()
    }

    /// The next input the engine is still to be told, if any.
    pub(crate) fn pending_input(&mut self) -> Option<Input> {
        self.pending.pop_front()
    }

    /// A `track_src_ip` address came or went: the engine is told once it has heard of
    /// the interface change this came with, if any.
    fn source_changed(&mut self, interface: &str, addr: IpAddr, present: bool) {
        let Some(known) = self.sources.get_mut(&(interface.to_string(), addr)) else {
            return;
        };
        if *known != present {
            *known = present;
            info!(%interface, %addr, "track_src_ip: source address {}", if present { "back" } else { "gone" });
            self.pending.push_back(Input::SourceAddress {
                interface: interface.to_string(),
                addr,
                present,
            });
        }
    }

    pub(crate) fn ifindex(&self, name: &str) -> Option<u32> {
        self.netlink.ifindex(name)
    }

    /// The interfaces by name and index, our VMACs with their base, for the dumps'
    /// addresses (`dev vrrp.51@eth0`) and IPv6 groups (`ifindex`).
    pub(crate) fn known_interfaces(&self) -> Vec<HostInterface> {
        let indexes = self.netlink.indexes();
        let index = |n: &str| indexes.iter().find(|(m, _)| m == n).map(|(_, i)| *i);
        let mut out: Vec<HostInterface> = indexes
            .iter()
            .map(|(name, index)| HostInterface {
                name: name.clone(),
                index: *index,
                ..HostInterface::default()
            })
            .collect();
        for (vmac, base) in self.vmacs.owned() {
            if let Some(i) = out.iter_mut().find(|i| &i.name == vmac) {
                i.ours = true;
                i.link = Some(HostLink {
                    kind: "macvlan".into(),
                    base: index(base),
                    ..HostLink::default()
                });
            }
        }
        out.sort_by_key(|i| i.index);
        out
    }

    /// What this process knows of interface `i` and did to it, for the data dump: seen
    /// up, a link change held back and the delays of `interface_up_down_delays`, a VMAC
    /// of ours, and the ARP settings its VMACs changed.
    pub(crate) fn describe(&self, i: &mut HostInterface) {
        i.seen_up = self.seen_up.contains(&i.name);
        i.delayed = self.held.contains_key(&i.name);
        if let Some(d) = self.delays.get(&i.name) {
            i.up_debounce_us = d.up.as_micros() as u64;
            i.down_debounce_us = d.down.as_micros() as u64;
        }
        i.ours = self.vmacs.owned().any(|(v, _)| *v == i.name);
        i.arp_resets = self.vmacs.arp_resets(&i.name);
    }

    /// The next link or address change, or route or rule deletion, the kernel reports.
    pub(crate) async fn next_change(&mut self) -> Option<Change> {
        self.netlink.next_change().await
    }

    /// A route or rule the kernel reports deleted: if it is one an instance put on the
    /// host (`route_is_ours()`, `rule_is_ours()`), the engine is to be told.
    pub(crate) fn removed(&mut self, change: &Change) -> Option<Input> {
        self.removal(&Removal::Kernel(change))
    }

    /// An address the kernel reports deleted: if an instance put it there, the engine is
    /// told (`address_is_ours()`).
    fn address_removed(&mut self, interface: &str, addr: IpAddr) {
        if let Some(input) = self.removal(&Removal::Address(interface, addr)) {
            self.pending.push_back(input);
        }
    }

    /// The removal `r` reported by the kernel, unless it is the echo of one of our own.
    fn removal(&mut self, r: &Removal<'_>) -> Option<Input> {
        if let Some(k) = self.removed_by_us.iter().position(|o| self.is(o, r)) {
            self.removed_by_us.remove(k);
            return None;
        }
        let (instance, what) = self.installed.iter().find_map(|(instance, items)| {
            let what = items.iter().find(|o| self.is(o, r))?;
            Some((instance.clone(), what.clone()))
        })?;
        self.forget(&instance, &what);
        Some(Input::OwnedRemoved { instance, what })
    }

    /// Whether the kernel's removal `r` is of the item `o`.
    fn is(&self, o: &Owned, r: &Removal<'_>) -> bool {
        match (o, r) {
            (Owned::Route(x), Removal::Kernel(Change::RouteDeleted(m))) => {
                self.netlink.is_route(m, x, true)
            }
            (Owned::Rule(x), Removal::Kernel(Change::RuleDeleted(m))) => Netlink::is_rule(m, x),
            (
                Owned::Address {
                    addr, interface, ..
                },
                Removal::Address(i, a),
            ) => addr.address == *a && interface == i,
            _ => false,
        }
    }

    fn forget(&mut self, instance: &str, what: &Owned) {
        if let Some(items) = self.installed.get_mut(instance) {
            items.retain(|o| o != what);
        }
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
        let link = matches!(ev, HostEvent::Link(_));
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
                    let gone: Vec<IpAddr> = self
                        .sources
                        .keys()
                        .filter(|(i, _)| *i == info.name)
                        .map(|(_, a)| *a)
                        .collect();
                    for addr in gone {
                        self.source_changed(&info.name, addr, false);
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
                self.source_changed(&interface, addr, added);
                if !added {
                    self.address_removed(&interface, addr);
                }
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
        let merged = if link { self.debounce(merged)? } else { merged };
        if self.interfaces.get(&merged.name) == Some(&merged) {
            return None;
        }
        if merged.up {
            self.seen_up.insert(merged.name.clone());
        }
        self.interfaces.insert(merged.name.clone(), merged.clone());
        Some(Event::Input(Input::Interface(merged)))
    }

    /// Holds back an interface going down or up for its `interface_up_down_delays`
    /// (`update_interface_flags()`): a change back within the delay cancels the held
    /// one, a further change the same way updates it and keeps its time. What is to be
    /// told now is returned. An interface deleted, or never seen up, is told at once.
    fn debounce(&mut self, info: InterfaceInfo) -> Option<InterfaceInfo> {
        let name = info.name.clone();
        if let Some(held) = self.held.get_mut(&name) {
            if held.info.up == info.up {
                held.info = info;
                return None;
            }
            self.held.remove(&name);
            info!(interface = %name, "Delay timer for {name} cancelled");
        }
        let was_up = self.interfaces.get(&name).is_some_and(|i| i.up);
        if was_up == info.up || self.deleted.contains(&name) || !self.seen_up.contains(&name) {
            return Some(info);
        }
        let deb = self.delays.get(&name).copied().unwrap_or_default();
        let delay = if info.up { deb.up } else { deb.down };
        if delay.is_zero() {
            return Some(info);
        }
        info!(interface = %name, "{name}: {} delayed by {delay:?}", if info.up { "up" } else { "down" });
        self.held.insert(
            name,
            Held {
                due: tokio::time::Instant::now() + delay,
                info,
            },
        );
        None
    }

    /// When the first held link change comes due, if one is held.
    pub(crate) fn held_until(&self) -> Option<tokio::time::Instant> {
        self.held.values().map(|h| h.due).min()
    }

    /// A held link change that has come due, as the engine is to be told it; one at a
    /// time, the others next time round the loop.
    pub(crate) fn take_due(&mut self) -> Option<Input> {
        let now = tokio::time::Instant::now();
        while let Some(name) = self
            .held
            .iter()
            .find(|(_, h)| h.due <= now)
            .map(|(n, _)| n.clone())
        {
            let Some(Held { info, .. }) = self.held.remove(&name) else {
                continue;
            };
            if info.up {
                self.seen_up.insert(name.clone());
            }
            // Addresses that changed meanwhile are in the table already.
            let info = match self.interfaces.get(&name) {
                Some(old) => InterfaceInfo {
                    ipv4: old.ipv4,
                    ipv6_ll: old.ipv6_ll,
                    ..info
                },
                None => info,
            };
            if self.interfaces.get(&name) != Some(&info) {
                self.interfaces.insert(name, info.clone());
                return Some(Input::Interface(info));
            }
        }
        None
    }

    /// Takes a reloaded configuration's `interface_up_down_delays`; a change already
    /// held keeps the time it was given.
    pub(crate) fn set_delays(&mut self, config: &Config) {
        self.delays = debounces(config);
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
            for mut info in ifs {
                self.keep_sources(&mut info).await;
                // A link change still held back stays so until its delay is out.
                match self.held.get_mut(&info.name) {
                    Some(held) if held.info.up == info.up => {
                        held.info = info.clone();
                        info.up = !held.info.up;
                    }
                    Some(_) => {
                        self.held.remove(&info.name);
                    }
                    None => {}
                }
                if info.up {
                    self.seen_up.insert(info.name.clone());
                }
                if self.interfaces.get(&info.name) != Some(&info) {
                    self.interfaces.insert(info.name.clone(), info.clone());
                    news.push(Input::Interface(info));
                }
            }
        }
        news
    }

    /// The advert sources the engine was told stay while they are on the interface, as
    /// keepalived keeps the addresses it first saw: the kernel lists the newest IPv6
    /// link-local address first, which after a takeover is a VIP, and adverts from a VIP
    /// are what the `vrrp_strict` drop rules stop.
    async fn keep_sources(&self, info: &mut InterfaceInfo) {
        let Some(old) = self.interfaces.get(&info.name) else {
            return;
        };
        let (v4, v6) = (old.ipv4, old.ipv6_ll);
        if let Some(a) = v4.filter(|a| info.ipv4 != Some(*a)) {
            if matches!(
                self.netlink.has_address(IpAddr::V4(a), &info.name).await,
                Ok(true)
            ) {
                info.ipv4 = Some(a);
            }
        }
        if let Some(a) = v6.filter(|a| info.ipv6_ll != Some(*a)) {
            if matches!(
                self.netlink.has_address(IpAddr::V6(a), &info.name).await,
                Ok(true)
            ) {
                info.ipv6_ll = Some(a);
            }
        }
    }

    /// Creates the VMACs `config` asks for that do not exist yet.
    pub(crate) async fn ensure_vmacs(&mut self, config: &Config) {
        self.vmacs.ensure(&mut self.netlink, config).await;
    }

    /// Deletes the VMACs we created that are not in `keep`.
    pub(crate) async fn remove_vmacs_except(&mut self, keep: &[String]) {
        self.vmacs.remove_except(&mut self.netlink, keep).await;
        self.sync_vmac_rules();
    }

    /// Deletes every VMAC we created and puts back the sysctls we changed.
    pub(crate) async fn remove_vmacs(&mut self) {
        self.vmacs.remove_all(&mut self.netlink).await;
    }

    /// Makes the kernel's nftables sets hold the drop rules of the VIPs added and
    /// removed since the last call, in one batch.
    pub(crate) fn flush_firewall(&mut self) {
        self.firewall.flush();
    }

    /// Deletes the nftables tables, at a clean stop.
    pub(crate) fn release_firewall(&mut self) {
        self.firewall.release();
    }

    /// Takes a reloaded configuration's firewall settings.
    pub(crate) fn reload_firewall(&mut self, config: &Config) {
        let netlink = &self.netlink;
        let installed = self
            .installed
            .iter()
            .flat_map(|(instance, items)| items.iter().map(move |what| (instance.as_str(), what)));
        let waiting = self
            .held_back
            .iter()
            .map(|(instance, _, what)| (instance.as_str(), what));
        let holding = installed
            .chain(waiting)
            .filter_map(|(instance, what)| match what {
                Owned::Address {
                    addr,
                    interface,
                    no_accept,
                    ..
                } => Some((
                    instance,
                    addr,
                    interface.as_str(),
                    netlink.ifindex(interface),
                    *no_accept,
                )),
                _ => None,
            });
        self.firewall.reload(config, holding);
        self.sync_vmac_rules();
    }

    /// The firewall's VMAC elements follow the VMACs that exist.
    fn sync_vmac_rules(&mut self) {
        let vmacs: Vec<(String, u32, u32)> = self
            .vmacs
            .owned()
            .filter_map(|(name, base)| {
                Some((
                    name.clone(),
                    self.netlink.ifindex(name)?,
                    self.netlink.ifindex(base)?,
                ))
            })
            .collect();
        self.firewall.vmacs(&vmacs);
    }

    /// An address to add: its drop rule is queued now and the address waits, so that a
    /// burst's addresses go on the host only once all their rules are in the kernel,
    /// in one batch, as keepalived sets its rules before adding the VIPs. Anything else
    /// is carried out at once, after the held addresses.
    pub(crate) async fn add(&mut self, instance: &str, vrid: u8, what: Owned) {
        if let Owned::Address {
            addr,
            interface,
            no_accept,
            ..
        } = &what
        {
            let ifindex = self.netlink.ifindex(interface);
            self.firewall
                .vip(instance, addr, interface, ifindex, true, *no_accept);
            self.held_back.push((instance.to_string(), vrid, what));
            return;
        }
        self.settle().await;
        self.change(instance, vrid, what, true).await
    }

    /// Puts the held-back addresses on the host, their drop rules first: before any
    /// other output of the burst (a route may need its source address) and when the
    /// burst is done.
    pub(crate) async fn settle(&mut self) {
        if self.held_back.is_empty() {
            return;
        }
        self.firewall.flush();
        for (instance, vrid, what) in std::mem::take(&mut self.held_back) {
            self.apply(&instance, vrid, what, true, false).await;
        }
    }

    /// Adds or removes one address, route or rule. Done, it is logged only with `-D`,
    /// as keepalived logs its GARPs (`vrrp_send_update()`): a takeover of 1,000
    /// instances is not 1,000 more writes ahead of their GARPs.
    pub(crate) async fn change(&mut self, instance: &str, vrid: u8, what: Owned, add: bool) {
        self.apply(instance, vrid, what, add, true).await
    }

    /// [`Network::change`], the address's drop rule updated too when `firewall`.
    async fn apply(&mut self, instance: &str, vrid: u8, what: Owned, add: bool, firewall: bool) {
        if add {
            let items = match self.installed.get_mut(instance) {
                Some(items) => items,
                None => self.installed.entry(instance.to_string()).or_default(),
            };
            if !items.contains(&what) {
                // Most instances hold one address: a first push of its own size, not
                // the four a `Vec` starts with (about 900 bytes an instance).
                if items.capacity() == 0 {
                    items.reserve_exact(1);
                }
                items.push(what.clone());
            }
        } else {
            self.forget(instance, &what);
        }
        let item = (!add).then(|| what.clone());
        let mut done = false;
        match what {
            Owned::Address {
                addr,
                interface,
                no_accept,
                ..
            } => {
                if firewall {
                    let ifindex = self.netlink.ifindex(&interface);
                    self.firewall
                        .vip(instance, &addr, &interface, ifindex, add, no_accept);
                }
                let r = if add {
                    self.netlink.add_address(&addr, &interface).await
                } else {
                    self.netlink.del_address(&addr, &interface).await
                };
                match r {
                    Ok(()) => {
                        done = true;
                        debug!(%instance, vrid, %interface, "{} {}/{}", if add { "adding" } else { "removing" }, addr.address, addr.prefix_len)
                    }
                    Err(e) => {
                        warn!(%instance, vrid, %interface, "{} {}: {e}", if add { "adding" } else { "removing" }, addr.address)
                    }
                }
            }
            Owned::Route(r) => match self.netlink.route(&r, add).await {
                Ok(()) => {
                    done = true;
                    debug!(%instance, vrid, "{} route {:?} via {:?}", if add { "adding" } else { "removing" }, r.to, r.via)
                }
                Err(e) => {
                    warn!(%instance, vrid, "{} route {:?}: {e}", if add { "adding" } else { "removing" }, r.to)
                }
            },
            Owned::Rule(r) => match self.netlink.rule(&r, add).await {
                Ok(()) => {
                    done = true;
                    debug!(%instance, vrid, "{} rule from {:?} to {:?}", if add { "adding" } else { "removing" }, r.from, r.to)
                }
                Err(e) => {
                    warn!(%instance, vrid, "{} rule: {e}", if add { "adding" } else { "removing" })
                }
            },
        }
        if let (true, Some(item)) = (done, item) {
            // Bounded: a report that never comes (its interface gone meanwhile) must
            // not make the list grow for ever.
            if self.removed_by_us.len() >= 4096 {
                self.removed_by_us.remove(0);
            }
            self.removed_by_us.push(item);
        }
    }

    /// Removes what instances that start as backup would hold as master if the host
    /// still holds it from a previous run that did not stop cleanly (a crashed and
    /// respawned VRRP child): a backup holding the VIP would answer for it beside the
    /// master (`vrrp_init_state()` → `vrrp_restore_interface(…, force)`). keepalived
    /// forces this for addresses and rules only, so a crashed master's routes stay on a
    /// backup; we take those off too (a route is deleted only with our protocol).
    pub(crate) async fn remove_leftovers(&mut self, engine: &Engine) {
        for inst in engine.instances() {
            if inst.owner() || inst.state == State::Master {
                continue;
            }
            let (instance, vrid) = (inst.name(), inst.vrid());
            for what in inst.owned() {
                match what {
                    Owned::Address {
                        addr, interface, ..
                    } => {
                        if matches!(
                            self.netlink.has_address(addr.address, &interface).await,
                            Ok(true)
                        ) {
                            info!(%instance, vrid, %interface, "removing {}/{} left from a previous run", addr.address, addr.prefix_len);
                            if let Err(e) = self.netlink.del_address(&addr, &interface).await {
                                warn!(%instance, vrid, %interface, "removing {}: {e}", addr.address);
                            }
                        }
                    }
                    // Most are not there: a failure only says so.
                    Owned::Route(r) => {
                        if self.netlink.route(&r, false).await.is_ok() {
                            info!(%instance, vrid, "removed route {:?} left from a previous run", r.to);
                        }
                    }
                    Owned::Rule(r) => {
                        if self.netlink.rule(&r, false).await.is_ok() {
                            info!(%instance, vrid, "removed rule from {:?} to {:?} left from a previous run", r.from, r.to);
                        }
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

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    pub(in crate::vrrp) fn config(text: &str) -> Config {
        keepalived_engine::config::parse_str(
            text,
            &keepalived_engine::config::ParseOptions::default(),
        )
        .config
    }

    #[test]
    fn delays_of_two_adverts_or_more_are_cut_and_a_vmac_takes_its_base_interfaces() {
        let c = config(
            "interface_up_down_delays {\n eth0 3 1.5\n eth1 0.5 0.25\n}\n\
             vrrp_instance A {\n interface eth0\n use_vmac vm1\n virtual_router_id 1\n\
             priority 100\n advert_int 1\n virtual_ipaddress {\n 10.0.0.1\n }\n}\n\
             vrrp_instance B {\n interface eth1\n virtual_router_id 2\n priority 100\n\
             advert_int 1\n down_timer_adverts 1\n virtual_ipaddress {\n 10.0.1.1\n }\n}\n",
        );
        let d = debounces(&c);
        let us = Duration::from_micros;
        let eth0 = Debounce {
            down: us(2_000_000 - 1_000_000 / 256),
            up: us(1_500_000),
        };
        assert_eq!(d.get("eth0"), Some(&eth0));
        assert_eq!(d.get("vm1"), Some(&eth0));
        // down_timer_adverts 1 leaves no room for a delay.
        assert_eq!(d.get("eth1"), Some(&Debounce::default()));
    }
}
