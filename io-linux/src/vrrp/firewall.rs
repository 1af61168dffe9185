//! The drop rules for the VIPs of a master that is not in accept mode (`vrrp_strict`,
//! `no_accept`): RFC 3768 §6.4.3 / RFC 5798 §6.4.3 say such a master must not accept
//! packets addressed to them. keepalived 2.2.7 (built with nftables, as Debian builds
//! it) keeps them in the sets of its nftables tables (`vrrp_firewall.c`,
//! `vrrp_nftables.c`); this does the same over netlink.
//!
//! As keepalived: the tables are made when the first VIP needs them (IPv4 and IPv6 each),
//! a VIP's element goes in when its instance becomes master and out when it leaves, the
//! tables stay while the daemon runs and go at a clean stop. Unlike keepalived, tables
//! of a crashed run are deleted at start rather than at the first takeover, and the
//! elements of a burst of outputs go in one batch: before the first gratuitous ARP or
//! NA of the burst (so nobody is sent to a VIP before its rule is in place), else when
//! the burst is done.
//!
//! A failure (no nf_tables, no CAP_NET_ADMIN, a conflicting table) is logged once with
//! what to do; VRRP carries on, and the tables are made again from nothing at once, then
//! at each change until that works.
//!
//! With `use_vmac` the same tables also get keepalived's VMAC rules (`nft_add_vmac()`):
//! IGMP / MLDv2 reports leaving a VMAC go out of its base interface instead, and IPv6
//! router solicitations from it are dropped.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use keepalived_engine::config::model::{Config, IpAddress};
use tracing::{debug, error, info};

use crate::host::nftables::wire::Entry;
use crate::host::nftables::{
    key_ll_index, key_ll_name, Family, NftError, NftSocket, Options, SetKind,
};

/// One element of one of the sets, with its value in a map.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Elem {
    set: SetKind,
    key: Vec<u8>,
    data: Option<Vec<u8>>,
}

/// What a link-local VIP of an instance goes by: its interface's name when the instance
/// has `dont_track_primary` and the VIP is on its interface or is `no_track`, unless
/// `nftables_ifindex` (`nft_update_ipv6_address()`).
#[derive(Debug, Clone, Default)]
struct ByName {
    /// Instance name → the interface its VIPs go on, for instances with
    /// `dont_track_primary`.
    instances: BTreeMap<String, String>,
    ifindex: bool,
}

impl ByName {
    fn new(config: &Config) -> ByName {
        ByName {
            instances: config
                .instances
                .iter()
                .filter(|vi| vi.dont_track_primary)
                .filter_map(|vi| Some((vi.name.clone(), vi.vip_interface()?.to_string())))
                .collect(),
            ifindex: config.global.nftables_ifindex,
        }
    }

    fn applies(&self, instance: &str, addr: &IpAddress, interface: &str) -> bool {
        !self.ifindex
            && self
                .instances
                .get(instance)
                .is_some_and(|own| own == interface || addr.no_track)
    }
}

/// The ruleset keepalived would make for `config`, if it would make one: a `nftables`
/// keyword, `vrrp_iptables` (which a build without iptables takes for `nftables`), or an
/// instance not in accept mode that is not the address owner
/// (`vrrp_complete_instance()`).
fn options(config: &Config) -> Option<Options> {
    let g = &config.global;
    let needed = g.nftables.is_some()
        || g.vrrp_iptables.is_some()
        || config
            .instances
            .iter()
            .any(|vi| (!vi.accept && vi.priority != 255) || vi.use_vmac.is_some());
    needed.then(|| Options {
        table: g.nftables.clone().unwrap_or_else(|| "keepalived".into()),
        priority: g.nftables_priority.unwrap_or(-1),
        counters: g.nftables_counters,
    })
}

/// Which instances' VIPs are dropped: those not in accept mode that are not the address
/// owner (`vrrp_handle_accept_mode()`).
fn no_accept(config: &Config) -> BTreeMap<String, bool> {
    config
        .instances
        .iter()
        .map(|vi| (vi.name.clone(), !vi.accept && vi.priority != 255))
        .collect()
}

/// The parts of the ruleset that exist in the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Part {
    /// The table and its `out` chain (`nft_setup_ipv4()` / `nft_setup_ipv6()`).
    Table(Family),
    Vips4,
    Vips6,
    LinkLocalIndex,
    LinkLocalName,
    Vmac(Family),
}

/// What a set needs, in the order it is made.
fn needs(set: SetKind) -> Vec<Part> {
    let (ip, ip6) = (Part::Table(Family::Ip), Part::Table(Family::Ip6));
    match set {
        SetKind::V4 => vec![ip, Part::Vips4],
        SetKind::V6 => vec![ip6, Part::Vips6],
        SetKind::LinkLocalIndex => vec![ip6, Part::Vips6, Part::LinkLocalIndex],
        SetKind::LinkLocalName => vec![ip6, Part::Vips6, Part::LinkLocalName],
        SetKind::VmacMap(f) => vec![Part::Table(f), Part::Vmac(f)],
        SetKind::VmacSet => vec![ip6, Part::Vmac(Family::Ip6)],
    }
}

/// The VMAC elements keepalived adds when it creates a VMAC (`firewall_add_vmac()`):
/// for its instance's family, IPv6 always and IPv4 unless `disable_local_igmp`, and then
/// the other family too if the instance has addresses of it.
fn vmac_families(config: &Config) -> BTreeMap<String, Vec<Family>> {
    config
        .instances
        .iter()
        .filter_map(|vi| {
            let name = vi.vmac()?;
            let (own, other) = if vi.is_ipv6() {
                (Family::Ip6, Family::Ip)
            } else {
                (Family::Ip, Family::Ip6)
            };
            let mut fams = Vec::new();
            if own == Family::Ip6 || !config.global.disable_local_igmp {
                fams.push(own);
                let v6 = own == Family::Ip;
                let other_family = vi
                    .virtual_ipaddress
                    .iter()
                    .chain(&vi.virtual_ipaddress_excluded)
                    .any(|a| a.address.is_ipv6() == v6);
                if other_family {
                    fams.push(other);
                }
            }
            Some((name.to_string(), fams))
        })
        .collect()
}

pub(crate) struct Firewall {
    opts: Option<Options>,
    by_name: ByName,
    sock: Option<NftSocket>,
    ready: BTreeSet<Part>,
    /// The VIPs each instance holds, as elements, accept mode or not (two instances
    /// may share one; an instance may hold one twice, as a VIP and an excluded VIP).
    /// Empty until a configuration needs the firewall: [`Firewall::reload`] is then
    /// given what the instances hold.
    held: BTreeMap<(String, Elem), u32>,
    /// Whether an instance's VIPs are dropped: not in accept mode and not the address
    /// owner, from the configuration, so a reload that changes it moves the VIPs the
    /// instance holds in or out of the sets (`clear_diff_vrrp_vip()`).
    no_accept: BTreeMap<String, bool>,
    /// The families of each VMAC's rules, from the configuration.
    vmac_families: BTreeMap<String, Vec<Family>>,
    /// The elements of the VMACs that exist.
    vmacs: BTreeSet<Elem>,
    /// The elements the kernel holds.
    installed: BTreeSet<Elem>,
    /// Wanted and installed may differ.
    dirty: bool,
    /// A batch failed: what the kernel holds is unknown until rebuilt.
    rebuild: bool,
    /// The errnos already logged as errors.
    logged: BTreeSet<i32>,
}

impl Firewall {
    fn new(opts: Option<Options>, by_name: ByName) -> Firewall {
        Firewall {
            opts,
            by_name,
            sock: None,
            ready: BTreeSet::new(),
            held: BTreeMap::new(),
            no_accept: BTreeMap::new(),
            vmac_families: BTreeMap::new(),
            vmacs: BTreeSet::new(),
            installed: BTreeSet::new(),
            dirty: false,
            rebuild: false,
            logged: BTreeSet::new(),
        }
    }

    /// The firewall `config` needs; tables a previous run left are deleted.
    pub(crate) fn start(config: &Config) -> Firewall {
        let opts = options(config);
        if let Some(o) = &opts {
            if nftables_implied(config) {
                info!("use_vmac or no_accept/strict specified, but no firewall configured - using nftables");
            }
            debug!(table = %o.table, priority = o.priority, counters = o.counters, "nftables");
        }
        let mut fw = Firewall::new(opts, ByName::new(config));
        if fw.opts.is_some() {
            fw.no_accept = no_accept(config);
        }
        fw.vmac_families = vmac_families(config);
        if config.global.vrrp_iptables.is_some() && config.global.nftables.is_none() {
            info!("iptables not supported, using nftables instead. Please replace 'vrrp_iptables' and 'vrrp_ipsets' with the 'nftables' option");
        }
        fw.delete_leftovers(true);
        fw
    }

    /// A reloaded configuration: which instances name link-local VIPs by interface name;
    /// a configuration that needs the firewall for the first time starts it (the table's
    /// name and priority stay those of the start, as keepalived's do), with the VIPs
    /// the instances hold now (`holding`, as [`Firewall::vip`] takes them), which it
    /// had not recorded.
    pub(crate) fn reload<'a>(
        &mut self,
        config: &Config,
        holding: impl IntoIterator<Item = (&'a str, &'a IpAddress, &'a str, Option<u32>, bool)>,
    ) {
        self.by_name = ByName::new(config);
        if self.opts.is_none() {
            self.opts = options(config);
            if self.opts.is_none() {
                return;
            }
            for (instance, addr, interface, ifindex, no_accept) in holding {
                self.vip(instance, addr, interface, ifindex, true, no_accept);
            }
        }
        self.no_accept = no_accept(config);
        self.vmac_families = vmac_families(config);
        self.dirty = true;
    }

    /// The VMACs that exist now, by name, with their index and their base interface's:
    /// their elements of `vmac_map` (and `vmac_set`).
    pub(crate) fn vmacs(&mut self, vmacs: &[(String, u32, u32)]) {
        let mut elems = BTreeSet::new();
        for (name, index, base) in vmacs {
            for f in self.vmac_families.get(name).into_iter().flatten() {
                let key = index.to_ne_bytes().to_vec();
                elems.insert(Elem {
                    set: SetKind::VmacMap(*f),
                    key: key.clone(),
                    data: Some(base.to_ne_bytes().to_vec()),
                });
                if *f == Family::Ip6 {
                    elems.insert(Elem {
                        set: SetKind::VmacSet,
                        key,
                        data: None,
                    });
                }
            }
        }
        if elems != self.vmacs {
            self.vmacs = elems;
            self.dirty = true;
        }
    }

    /// Deletes both tables, whether or not they exist; with `log`, those that did are
    /// logged as keepalived logs them.
    fn delete_leftovers(&mut self, log: bool) {
        let Some(table) = self.opts.as_ref().map(|o| o.table.clone()) else {
            return;
        };
        for family in [Family::Ip, Family::Ip6] {
            let Some(sock) = self.socket() else {
                return;
            };
            let mut b = sock.batch();
            b.del_table(family, &table);
            match sock.send(b) {
                Ok(()) if log => info!("Deleting old {} {table} table", family.name()),
                Ok(()) => {}
                Err(e) if e.errno() == Some(libc::ENOENT) => {}
                Err(e) => self.report(e),
            }
        }
    }

    fn socket(&mut self) -> Option<&mut NftSocket> {
        if self.sock.is_none() {
            match NftSocket::open() {
                Ok(s) => self.sock = Some(s),
                Err(e) => {
                    self.report(e);
                    return None;
                }
            }
        }
        self.sock.as_mut()
    }

    fn report(&mut self, e: NftError) {
        let key = e.errno().unwrap_or(-1);
        if self.logged.insert(key) {
            error!(
                "nftables: {e}; {}. Traffic to the VIPs of masters not in accept mode is not dropped until this is fixed",
                e.advice()
            );
        } else {
            debug!("nftables: {e}");
        }
    }

    /// A VIP of `instance` put on (`add`) or taken off the host, with `no_accept` as
    /// the engine gave it (for an instance the configuration does not name); what the
    /// kernel holds follows at the next [`Firewall::flush`].
    pub(crate) fn vip(
        &mut self,
        instance: &str,
        addr: &IpAddress,
        interface: &str,
        ifindex: Option<u32>,
        add: bool,
        no_accept: bool,
    ) {
        // Without the firewall nothing is dropped: see `held`.
        if self.opts.is_none() {
            return;
        }
        if !self.no_accept.contains_key(instance) {
            self.no_accept.insert(instance.to_string(), no_accept);
        }
        let elem = match addr.address {
            IpAddr::V4(a) => Elem {
                set: SetKind::V4,
                key: a.octets().to_vec(),
                data: None,
            },
            IpAddr::V6(a) if (a.segments()[0] & 0xffc0) != 0xfe80 => Elem {
                set: SetKind::V6,
                key: a.octets().to_vec(),
                data: None,
            },
            IpAddr::V6(a) if self.by_name.applies(instance, addr, interface) => Elem {
                set: SetKind::LinkLocalName,
                key: key_ll_name(a, interface),
                data: None,
            },
            IpAddr::V6(a) => {
                let Some(i) = ifindex else {
                    debug!(%instance, %interface, "nftables: no index for {a}'s interface");
                    return;
                };
                Elem {
                    set: SetKind::LinkLocalIndex,
                    key: key_ll_index(a, i),
                    data: None,
                }
            }
        };
        let key = (instance.to_string(), elem);
        match self.held.get_mut(&key) {
            Some(n) if add => *n += 1,
            Some(n) if *n > 1 => *n -= 1,
            Some(_) => {
                self.held.remove(&key);
            }
            None if add => {
                self.held.insert(key, 1);
            }
            None => {}
        }
        self.dirty = true;
    }

    /// The elements the sets should hold: the VIPs held by instances whose VIPs are
    /// dropped.
    fn wanted(&self) -> BTreeSet<&Elem> {
        self.held
            .keys()
            .filter(|(i, _)| self.no_accept.get(i).copied().unwrap_or(false))
            .map(|(_, e)| e)
            .chain(&self.vmacs)
            .collect()
    }

    /// Makes the kernel hold what is wanted, in one batch: the tables and sets first
    /// needed, then the elements added and removed.
    pub(crate) fn flush(&mut self) {
        if !self.dirty {
            return;
        }
        self.dirty = false;
        let Some(opts) = self.opts.clone() else {
            return;
        };
        if self.rebuild {
            self.delete_leftovers(false);
            self.ready.clear();
            self.installed.clear();
        }
        let wanted = self.wanted();
        let adds: Vec<Elem> = wanted
            .iter()
            .filter(|e| !self.installed.contains(**e))
            .map(|e| (*e).clone())
            .collect();
        let dels: Vec<Elem> = self
            .installed
            .iter()
            .filter(|e| !wanted.contains(e))
            .cloned()
            .collect();
        if adds.is_empty() && dels.is_empty() {
            return;
        }
        let mut ready = self.ready.clone();
        let Some(sock) = self.socket() else {
            self.rebuild = true;
            return;
        };
        let mut batch = sock.batch();
        let sets: BTreeSet<SetKind> = adds.iter().map(|e| e.set).collect();
        for part in sets.into_iter().flat_map(needs) {
            if ready.insert(part) {
                match part {
                    Part::Table(f) => opts.setup_table(&mut batch, f),
                    Part::Vips4 => opts.setup_ipv4_vips(&mut batch),
                    Part::Vips6 => opts.setup_ipv6_vips(&mut batch),
                    Part::LinkLocalIndex => opts.setup_link_local(&mut batch, false),
                    Part::LinkLocalName => opts.setup_link_local(&mut batch, true),
                    Part::Vmac(f) => opts.setup_vmac(&mut batch, f),
                }
            }
        }
        for (list, add) in [(&adds, true), (&dels, false)] {
            let mut by_set: BTreeMap<SetKind, Vec<Entry<'_>>> = BTreeMap::new();
            for e in list {
                by_set
                    .entry(e.set)
                    .or_default()
                    .push((&e.key, e.data.as_deref()));
            }
            for (set, entries) in by_set {
                batch.entries(set.family(), &opts.table, set.name(), add, &entries);
            }
        }
        let (added, removed, bytes) = (adds.len(), dels.len(), batch.len());
        let started = std::time::Instant::now();
        let sent = sock.send(batch);
        let us = started.elapsed().as_micros() as u64;
        debug!(added, removed, bytes, us, "nftables batch");
        match sent {
            Ok(()) => {
                self.ready = ready;
                self.installed.extend(adds);
                for e in &dels {
                    self.installed.remove(e);
                }
                self.rebuild = false;
            }
            Err(e) => {
                self.report(e);
                // What the kernel holds is unknown (a table deleted from outside, say):
                // once at once, then at each change, everything is made again.
                let retry = !self.rebuild;
                self.rebuild = true;
                if retry {
                    self.dirty = true;
                    self.flush();
                }
            }
        }
    }

    /// At a clean stop: the tables go (`nft_end()`), each in a batch of its own, so one
    /// deleted from outside meanwhile does not keep the other.
    pub(crate) fn release(&mut self) {
        if self.ready.is_empty() {
            return;
        }
        self.delete_leftovers(false);
        self.ready.clear();
        self.installed.clear();
    }
}

/// Whether the firewall is used only because an instance is not in accept mode, as
/// keepalived then says.
fn nftables_implied(config: &Config) -> bool {
    config.global.nftables.is_none() && config.global.vrrp_iptables.is_none()
}

#[cfg(test)]
mod tests {
    use super::super::network::tests::config;
    use super::*;

    const V3: &str = "vrrp_instance A {\n interface eth0\n version 3\n virtual_router_id 1\n priority 100\n virtual_ipaddress {\n 10.0.0.1\n }\n}\n";

    /// `nftables` sets the priority back to -1 (a priority before it is lost) and a
    /// second `nftables` is ignored, as in keepalived 2.2.7.
    #[test]
    fn strict_or_no_accept_needs_the_firewall_and_accept_does_not() {
        assert_eq!(options(&config(V3)), None);
        let strict = config(&format!("global_defs {{\n vrrp_strict\n}}\n{V3}"));
        assert_eq!(
            options(&strict),
            Some(Options {
                table: "keepalived".into(),
                priority: -1,
                counters: false
            })
        );
        let no_accept = config(&V3.replace("priority 100", "priority 100\n no_accept"));
        assert!(options(&no_accept).is_some());
        // The address owner is exempt.
        let owner = config(&V3.replace("priority 100", "priority 255\n no_accept"));
        assert_eq!(options(&owner), None);
        let accept = config(&format!(
            "global_defs {{\n vrrp_strict\n}}\n{}",
            V3.replace("priority 100", "priority 100\n accept")
        ));
        assert_eq!(options(&accept), None);
        let named = config(&format!(
            "global_defs {{\n nftables_priority 7\n nftables ka\n nftables_priority 5\n nftables_counters\n nftables other\n}}\n{V3}"
        ));
        assert_eq!(
            options(&named),
            Some(Options {
                table: "ka".into(),
                priority: 5,
                counters: true
            })
        );
    }

    #[test]
    fn link_local_vips_go_by_name_only_for_dont_track_primary_without_ifindex() {
        let text = V3.replace("priority 100", "priority 100\n dont_track_primary");
        let c = config(&text);
        let by = ByName::new(&c);
        let mut a: IpAddress = c.instances[0].virtual_ipaddress[0].clone();
        assert!(by.applies("A", &a, "eth0"));
        assert!(!by.applies("A", &a, "eth1"));
        a.no_track = true;
        assert!(by.applies("A", &a, "eth1"));
        assert!(!by.applies("B", &a, "eth0"));
        let c = config(&format!("global_defs {{\n nftables_ifindex\n}}\n{text}"));
        assert!(!ByName::new(&c).applies("A", &a, "eth0"));
    }

    #[test]
    fn vmac_rules_follow_the_family_disable_local_igmp_and_other_family_addresses() {
        let v4 = V3.replace("priority 100", "priority 100\n use_vmac vm1");
        let c = config(&v4);
        assert!(options(&c).is_some(), "use_vmac needs the tables");
        assert_eq!(vmac_families(&c).get("vm1"), Some(&vec![Family::Ip]));
        let c = config(&format!("global_defs {{\n disable_local_igmp\n}}\n{v4}"));
        assert_eq!(vmac_families(&c).get("vm1"), Some(&vec![]));
        let both = v4.replace(
            " }\n}",
            " }\n virtual_ipaddress_excluded {\n fd00::1\n }\n}",
        );
        let c = config(&both);
        assert_eq!(
            vmac_families(&c).get("vm1"),
            Some(&vec![Family::Ip, Family::Ip6])
        );
        let mut fw = Firewall::new(options(&c), ByName::default());
        fw.vmac_families = vmac_families(&c);
        fw.vmacs(&[("vm1".into(), 7, 2), ("other".into(), 8, 2)]);
        let sets: Vec<SetKind> = fw.wanted().iter().map(|e| e.set).collect();
        assert_eq!(
            sets,
            [
                SetKind::VmacMap(Family::Ip),
                SetKind::VmacMap(Family::Ip6),
                SetKind::VmacSet
            ]
        );
    }

    #[test]
    fn shared_vips_are_counted() {
        let c = config(&format!("global_defs {{\n vrrp_strict\n}}\n{V3}"));
        let mut fw = Firewall::new(options(&c), ByName::default());
        let a = &c.instances[0].virtual_ipaddress[0];
        fw.vip("A", a, "eth0", Some(2), true, true);
        fw.vip("B", a, "eth0", Some(2), true, true);
        fw.vip("A", a, "eth0", Some(2), false, true);
        assert_eq!(fw.wanted().len(), 1);
        fw.vip("B", a, "eth0", Some(2), false, true);
        fw.vip("B", a, "eth0", Some(2), false, true);
        assert!(fw.wanted().is_empty());
        assert!(fw.dirty);
        // One instance holding the address twice (a VIP and an excluded VIP) keeps it
        // until both are gone, and a removal too many leaves nothing behind.
        fw.vip("A", a, "eth0", Some(2), true, true);
        fw.vip("A", a, "eth0", Some(2), true, true);
        fw.vip("A", a, "eth0", Some(2), false, true);
        assert_eq!(fw.wanted().len(), 1);
        fw.vip("A", a, "eth0", Some(2), false, true);
        assert!(fw.wanted().is_empty());
        fw.vip("A", a, "eth0", Some(2), false, true);
        assert!(fw.held.is_empty());
    }

    #[test]
    fn a_reload_into_or_out_of_accept_mode_moves_held_vips() {
        let strict = config(&format!("global_defs {{\n vrrp_strict\n}}\n{V3}"));
        let mut fw = Firewall::new(options(&strict), ByName::default());
        fw.no_accept = no_accept(&strict);
        let a = &strict.instances[0].virtual_ipaddress[0];
        fw.vip("A", a, "eth0", Some(2), true, true);
        assert_eq!(fw.wanted().len(), 1);
        let accept = config(&format!(
            "global_defs {{\n vrrp_strict\n}}\n{}",
            V3.replace("priority 100", "priority 100\n accept")
        ));
        fw.reload(&accept, []);
        assert!(fw.wanted().is_empty(), "accept mode: no drop rule");
        fw.reload(&strict, []);
        assert_eq!(fw.wanted().len(), 1);
        // An accept-mode VIP is held too, so a reload can put it in the set.
        fw.vip("B", a, "eth1", Some(3), true, false);
        assert_eq!(fw.held.len(), 2);
        assert_eq!(fw.wanted().len(), 1);
    }

    /// Without a firewall nothing is recorded (1,000 instances' VIPs would be kept for
    /// nothing); a reload that needs one first takes the VIPs held then.
    #[test]
    fn without_a_firewall_no_vip_is_recorded_until_a_reload_needs_one() {
        let plain = config(V3);
        let mut fw = Firewall::new(options(&plain), ByName::default());
        let a = plain.instances[0].virtual_ipaddress[0].clone();
        fw.vip("A", &a, "eth0", Some(2), true, true);
        assert!(fw.held.is_empty() && fw.no_accept.is_empty());
        let held = [("A", &a, "eth0", Some(2), true)];
        fw.reload(&plain, held);
        assert!(fw.opts.is_none() && fw.held.is_empty(), "still no firewall");
        let strict = config(&format!("global_defs {{\n vrrp_strict\n}}\n{V3}"));
        fw.reload(&strict, held);
        assert!(fw.opts.is_some());
        assert_eq!(
            fw.wanted().len(),
            1,
            "the VIP held at the reload is dropped"
        );
        // Once on, the firewall stays on and records as it goes; a later reload's list
        // is not taken again.
        fw.reload(&strict, held);
        fw.vip("A", &a, "eth0", Some(2), false, true);
        assert!(fw.wanted().is_empty());
        assert!(fw.held.is_empty());
    }
}
