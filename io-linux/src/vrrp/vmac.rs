//! `use_vmac`: a private macvlan on the instance's interface with the VRRP virtual MAC
//! (keepalived's `vrrp_vmac.c`), and the sysctls keepalived sets so ARP for the VIPs is
//! answered by the VMAC alone (`vrrp_if_config.c`). Everything is undone on exit.
//!
//! `use_vmac_addr` (instance) and `use_vmac` (an address option) give VIPs on other
//! interfaces, or of the other family, VMACs of their own, named from `vmac_addr_prefix`
//! (`vrrp_complete_instance()`); [`place_addresses`] moves those addresses onto them.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Mutex;

use keepalived_engine::config::model::{Config, IpAddress};
use keepalived_engine::wire::{virtual_mac, Family};
use tracing::{info, warn};

use crate::host::netlink::Netlink;

/// One VMAC the configuration asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct Wanted {
    pub name: String,
    pub base: String,
    pub mac: [u8; 6],
    pub family: Family,
    pub xmit_base: bool,
}

/// The VMACs of a configuration: 00:00:5e:00:01:VRID, or :02: for IPv6, unless
/// `use_vmac` names a MAC; then the address VMACs its addresses were placed on by
/// [`place_addresses`].
pub fn wanted(config: &Config) -> Vec<Wanted> {
    let mut all: Vec<Wanted> = config
        .instances
        .iter()
        .filter_map(|vi| {
            let v = vi.use_vmac.as_ref()?;
            let family = if vi.is_ipv6() { Family::V6 } else { Family::V4 };
            let mac = v
                .mac
                .as_deref()
                .and_then(parse_mac)
                .unwrap_or_else(|| virtual_mac(family, vi.virtual_router_id));
            Some(Wanted {
                name: v.name.clone()?,
                base: vi.interface.clone()?,
                mac,
                family,
                xmit_base: vi.vmac_xmit_base,
            })
        })
        .collect();
    let placed = PLACED.lock().unwrap_or_else(|e| e.into_inner());
    for a in config.instances.iter().flat_map(|vi| {
        vi.virtual_ipaddress
            .iter()
            .chain(&vi.virtual_ipaddress_excluded)
    }) {
        let Some(w) = a
            .dev
            .as_ref()
            .filter(|_| a.use_vmac)
            .and_then(|d| placed.get(d))
        else {
            continue;
        };
        if !all.iter().any(|x| x.name == w.name) {
            all.push(w.clone());
        }
    }
    all
}

/// The address VMACs of the configuration the VRRP process last placed, by name: a
/// placed address names its VMAC in `dev`, and this says which base and MAC it has.
static PLACED: Mutex<BTreeMap<String, Wanted>> = Mutex::new(BTreeMap::new());

/// What naming an address VMAC needs to know of the host.
trait HostLinks {
    /// Whether an interface of this name exists.
    fn exists(&self, name: &str) -> bool;
    /// A macvlan on `base` with `mac`, left by an earlier run (`if_get_by_vmac()`).
    fn vmac_on(&self, base: &str, mac: [u8; 6]) -> Option<String>;
}

/// The host as this process's network namespace shows it.
struct Sysfs;

impl HostLinks for Sysfs {
    fn exists(&self, name: &str) -> bool {
        ifindex(name).is_some()
    }

    /// An interface stacked on `base` (sysfs's `lower_BASE` link) with `mac`; whether
    /// it is a macvlan, [`Vmacs::ensure`] checks before replacing it.
    fn vmac_on(&self, base: &str, mac: [u8; 6]) -> Option<String> {
        let want = fmt_mac(mac);
        std::fs::read_dir("/sys/class/net")
            .ok()?
            .flatten()
            .find(|e| {
                let dir = e.path();
                dir.join(format!("lower_{base}")).exists()
                    && std::fs::read_to_string(dir.join("address")).is_ok_and(|m| m.trim() == want)
            })
            .map(|e| e.file_name().to_string_lossy().into_owned())
    }
}

fn ifindex(name: &str) -> Option<u32> {
    let c = std::ffi::CString::new(name).ok()?;
    // SAFETY: a NUL-terminated name that outlives the call.
    let i = unsafe { libc::if_nametoindex(c.as_ptr()) };
    (i != 0).then_some(i)
}

/// Puts each VIP and excluded VIP where keepalived's `vrrp_complete_instance()` does,
/// and remembers the address VMACs that takes for [`wanted`]:
/// - with the instance's `use_vmac`, an address of the instance's family on its
///   interface goes on the instance's VMAC, and one of the other family on the
///   interface itself;
/// - an address on another interface with `use_vmac_addr` or the address's `use_vmac`,
///   or one of the other family on the instance's interface with either, goes on an
///   address VMAC: a private macvlan on that interface with the virtual MAC of the
///   address's family (or the instance's `use_vmac` MAC), shared by every such address
///   on the interface.
///
/// Call it on every configuration the VRRP process takes, before the engine sees it.
pub fn place_addresses(config: &mut Config) {
    let placed = place(config, &Sysfs);
    *PLACED.lock().unwrap_or_else(|e| e.into_inner()) =
        placed.into_iter().map(|w| (w.name.clone(), w)).collect();
}

fn place(config: &mut Config, host: &impl HostLinks) -> Vec<Wanted> {
    let prefix = config
        .global
        .vmac_addr_prefix
        .clone()
        .unwrap_or_else(|| config.global.vmac_prefix.clone());
    let instance_vmacs: Vec<String> = config
        .instances
        .iter()
        .filter_map(|vi| vi.vmac().map(str::to_string))
        .collect();
    let mut placed: Vec<Wanted> = Vec::new();
    for vi in &mut config.instances {
        let Some(iface) = vi.interface.clone() else {
            continue;
        };
        let family = if vi.is_ipv6() { Family::V6 } else { Family::V4 };
        let has_vmac = vi.use_vmac.is_some();
        let mac_given = vi
            .use_vmac
            .as_ref()
            .and_then(|v| v.mac.as_deref())
            .and_then(parse_mac);
        let (name, vrid, vmac_addr) = (vi.name.clone(), vi.virtual_router_id, vi.use_vmac_addr);
        for a in vi
            .virtual_ipaddress
            .iter_mut()
            .chain(vi.virtual_ipaddress_excluded.iter_mut())
        {
            let a_family = if a.address.is_ipv6() {
                Family::V6
            } else {
                Family::V4
            };
            let on_base = a.dev.as_deref().is_none_or(|d| d == iface);
            let same = a_family == family;
            let mut use_vmac = std::mem::take(&mut a.use_vmac);
            if use_vmac && on_base && has_vmac && same {
                warn!(instance = %name, vrid, "use_vmac specified for VIP/eVIP {} and vrrp instance", a.address);
                use_vmac = false;
            } else if use_vmac && (!on_base || !same) && vmac_addr {
                warn!(instance = %name, vrid, "use_vmac_addr specified and use_vmac specified for VIP/eVIP {}", a.address);
                use_vmac = false;
            }
            let needs = if on_base {
                if has_vmac && same {
                    continue;
                }
                use_vmac || (vmac_addr && !same)
            } else {
                use_vmac || vmac_addr
            };
            if !needs {
                if on_base && has_vmac {
                    a.dev = Some(iface.clone());
                }
                continue;
            }
            let base = a.dev.clone().unwrap_or_else(|| iface.clone());
            let mac = mac_given.unwrap_or_else(|| virtual_mac(a_family, vrid));
            let vmac = match placed.iter().find(|w| w.base == base && w.mac == mac) {
                Some(w) => w.name.clone(),
                None => {
                    let vmac = host.vmac_on(&base, mac).unwrap_or_else(|| {
                        vmac_name(&prefix, vrid, a_family, |n| {
                            instance_vmacs.iter().any(|v| v == n)
                                || placed.iter().any(|w| w.name == n)
                                || host.exists(n)
                        })
                    });
                    placed.push(Wanted {
                        name: vmac.clone(),
                        base,
                        mac,
                        family: a_family,
                        xmit_base: false,
                    });
                    vmac
                }
            };
            a.dev = Some(vmac);
            a.use_vmac = true;
        }
    }
    placed
}

/// `create_vmac_name()`: `PREFIX.VRID`, then `PREFIX1.VRID`, `PREFIX2.VRID`… (for IPv6
/// `PREFIX6.VRID` comes second and 6 is not used again), the prefix cut short so the
/// name fits in IFNAMSIZ.
fn vmac_name(prefix: &str, vrid: u8, family: Family, taken: impl Fn(&str) -> bool) -> String {
    let fit = |num: &str| {
        let tail = format!("{num}.{vrid}");
        let keep = 15usize.saturating_sub(tail.len());
        format!("{}{tail}", prefix.chars().take(keep).collect::<String>())
    };
    let mut num = 0u32;
    let mut name = fit("");
    while taken(&name) && num < 10_000 {
        num = match (family, num) {
            (Family::V6, 0) => 6,
            (Family::V6, 6) => 1,
            (Family::V6, 5) => 7,
            (_, n) => n + 1,
        };
        name = fit(&num.to_string());
    }
    name
}

fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let mut mac = [0u8; 6];
    let mut parts = s.split(':');
    for b in &mut mac {
        *b = u8::from_str_radix(parts.next()?, 16).ok()?;
    }
    parts.next().is_none().then_some(mac)
}

fn conf_path(family: &str, ifname: &str, key: &str) -> String {
    format!("/proc/sys/net/{family}/conf/{ifname}/{key}")
}

/// A sysctl of net.FAMILY.conf.IFNAME, if it can be read.
pub(super) fn get(family: &str, ifname: &str, key: &str) -> Option<i64> {
    std::fs::read_to_string(conf_path(family, ifname, key))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Writes a sysctl of net.FAMILY.conf.IFNAME; a failure is logged.
pub(super) fn set(family: &str, ifname: &str, key: &str, value: i64) {
    let path = conf_path(family, ifname, key);
    if let Err(e) = std::fs::write(&path, format!("{value}\n")) {
        warn!(interface = ifname, "setting {path} to {value}: {e}");
    }
}

/// The VMACs we created and the sysctl values to put back.
#[derive(Default)]
pub struct Vmacs {
    /// VMAC name → base interface.
    ours: BTreeMap<String, String>,
    /// IPv6 VMACs still waiting for their base's link-local address.
    want_link_local: BTreeMap<String, String>,
    /// Base interface → its arp_ignore and arp_filter before the first VMAC on it
    /// (`reset_arp_config`, restored when its last VMAC goes).
    base_saved: BTreeMap<String, (Option<i64>, Option<i64>)>,
    rp_saved: Option<RpFilterSaved>,
}

/// `clear_rp_filter()`: all.rp_filter before we cleared it, and every interface whose
/// rp_filter we raised to it.
struct RpFilterSaved {
    all: i64,
    raised: Vec<Raised>,
}

struct Raised {
    interface: String,
    old: i64,
    ours: i64,
}

impl Vmacs {
    /// Creates every VMAC `config` wants that does not exist yet, with keepalived's
    /// sysctls, and brings it up. A macvlan of the same name left by an earlier run is
    /// replaced; any other interface of that name is left alone and reported.
    pub async fn ensure(&mut self, netlink: &mut Netlink, config: &Config) {
        let wanted = wanted(config);
        if wanted.iter().all(|w| self.ours.contains_key(&w.name)) {
            return;
        }
        let link_local: BTreeMap<String, Ipv6Addr> = match netlink.interfaces().await {
            Ok(ifs) => ifs
                .into_iter()
                .filter_map(|i| Some((i.name, i.ipv6_ll?)))
                .collect(),
            Err(e) => {
                warn!("reading interfaces: {e}");
                return;
            }
        };
        for w in wanted {
            if self.ours.contains_key(&w.name) {
                continue;
            }
            if let Err(e) = self.create(netlink, &w, link_local.get(&w.base)).await {
                warn!(vmac = %w.name, interface = %w.base, "cannot create the VMAC: {e}");
            }
        }
        // A macvlan reports carrier a moment after it is set up: wait for it (briefly),
        // so the engine does not see a fresh VMAC as a link that is down.
        for _ in 0..50 {
            match netlink.interfaces().await {
                Ok(ifs) => {
                    let settled = ifs
                        .iter()
                        .filter(|i| self.ours.contains_key(&i.name))
                        .all(|i| i.up);
                    if settled {
                        netlink.drain_events();
                        return;
                    }
                }
                Err(e) => {
                    warn!("re-reading interfaces: {e}");
                    return;
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    async fn create(
        &mut self,
        netlink: &mut Netlink,
        w: &Wanted,
        base_link_local: Option<&Ipv6Addr>,
    ) -> Result<(), String> {
        let base = netlink
            .ifindex(&w.base)
            .ok_or_else(|| format!("interface {} does not exist", w.base))?;
        match netlink
            .link_kind(&w.name)
            .await
            .map_err(|e| e.to_string())?
        {
            Some((index, true)) => {
                info!(vmac = %w.name, "replacing the macvlan left by an earlier run");
                netlink.del_link(index).await.map_err(|e| e.to_string())?;
            }
            Some((_, false)) => {
                return Err(format!(
                    "an interface named {} exists and is not a macvlan: name the VMAC \
                     differently (use_vmac NAME)",
                    w.name
                ))
            }
            None => {}
        }
        netlink
            .add_macvlan(&w.name, base, w.mac)
            .await
            .map_err(|e| e.to_string())?;
        self.ours.insert(w.name.clone(), w.base.clone());
        self.configure(w);
        let index = match netlink
            .link_kind(&w.name)
            .await
            .map_err(|e| e.to_string())?
        {
            Some((i, _)) => i,
            None => return Err("created, then gone".into()),
        };
        netlink.set_up(index).await.map_err(|e| e.to_string())?;
        // IPv6 adverts leave from the VMAC with the base's link-local address as source
        // (`set_link_local_address()`); with vmac_xmit_base they leave from the base.
        if (w.family, w.xmit_base) == (Family::V6, false) {
            match base_link_local {
                Some(ll) => add_link_local(netlink, &w.name, *ll).await?,
                None => {
                    info!(vmac = %w.name, interface = %w.base, "waiting for the base's link-local address");
                    self.want_link_local.insert(w.name.clone(), w.base.clone());
                }
            }
        }
        info!(vmac = %w.name, interface = %w.base, mac = %fmt_mac(w.mac), "VMAC created");
        Ok(())
    }

    /// The base interface `base` has a link-local address now: the IPv6 VMACs on it that
    /// were waiting get it.
    pub async fn base_link_local(&mut self, netlink: &mut Netlink, base: &str, ll: Ipv6Addr) {
        let waiting: Vec<String> = self
            .want_link_local
            .iter()
            .filter(|(_, b)| *b == base)
            .map(|(v, _)| v.clone())
            .collect();
        for vmac in waiting {
            self.want_link_local.remove(&vmac);
            if let Err(e) = add_link_local(netlink, &vmac, ll).await {
                warn!(vmac = %vmac, "{e}");
            }
        }
    }

    /// `set_interface_parameters()` and `link_set_ipv6()`, before the link comes up.
    /// An IPv6 VMAC gets no IPv4 settings: keepalived sets them for IPv4 VMACs alone
    /// (`netlink_link_add_vmac()`).
    fn configure(&mut self, w: &Wanted) {
        // No address the kernel derives from the shared virtual MAC: every router has it.
        set("ipv6", &w.name, "addr_gen_mode", 1);
        if w.family == Family::V6 {
            return;
        }
        set("ipv6", &w.name, "disable_ipv6", 1);
        for (key, value) in [
            ("arp_ignore", 1),
            ("accept_local", 1),
            ("rp_filter", 0),
            ("promote_secondaries", 1),
        ] {
            set("ipv4", &w.name, key, value);
        }
        self.clear_rp_filter();
        // The base interface must not answer ARP for the VIPs on its VMAC.
        if !self.base_saved.contains_key(&w.base) {
            let old = (
                get("ipv4", &w.base, "arp_ignore"),
                get("ipv4", &w.base, "arp_filter"),
            );
            if old.0 != Some(1) {
                set("ipv4", &w.base, "arp_ignore", 1);
            }
            if old.1 != Some(1) {
                set("ipv4", &w.base, "arp_filter", 1);
            }
            self.base_saved.insert(w.base.clone(), old);
        }
    }

    /// `clear_rp_filter()`: the effective rp_filter is the larger of all's and the
    /// interface's, so all.rp_filter must be 0 for the VMAC's 0 to count; every other
    /// interface keeps its effective value by being raised to all's.
    fn clear_rp_filter(&mut self) {
        if self.rp_saved.is_some() {
            return;
        }
        let Some(all) = get("ipv4", "all", "rp_filter").filter(|v| *v != 0) else {
            return;
        };
        let mut raised = Vec::new();
        if let Ok(dir) = std::fs::read_dir("/proc/sys/net/ipv4/conf") {
            for e in dir.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if name == "all" || self.ours.contains_key(&name) {
                    continue;
                }
                if let Some(old) = get("ipv4", &name, "rp_filter").filter(|v| *v < all) {
                    set("ipv4", &name, "rp_filter", all);
                    raised.push(Raised {
                        interface: name,
                        old,
                        ours: all,
                    });
                }
            }
        }
        set("ipv4", "all", "rp_filter", 0);
        self.rp_saved = Some(RpFilterSaved { all, raised });
    }

    /// The VMACs we created, by name, with their base interfaces.
    pub fn owned(&self) -> impl Iterator<Item = (&String, &String)> {
        self.ours.iter()
    }

    /// keepalived's `reset_arp_config` of interface `base`: one count per VMAC of ours
    /// on it, once the first had to set its arp_ignore or arp_filter.
    pub fn arp_resets(&self, base: &str) -> u32 {
        match self.base_saved.get(base) {
            Some(&(ignore, filter)) if (ignore, filter) != (Some(1), Some(1)) => {
                self.ours.values().filter(|b| *b == base).count() as u32
            }
            _ => 0,
        }
    }

    /// Deletes the VMACs not in `keep` (those a reload dropped).
    pub async fn remove_except(&mut self, netlink: &mut Netlink, keep: &[String]) {
        let gone: Vec<String> = self
            .ours
            .keys()
            .filter(|n| !keep.contains(n))
            .cloned()
            .collect();
        for name in gone {
            self.remove(netlink, &name).await;
        }
    }

    /// Deletes every VMAC we created and puts back the sysctls we changed.
    pub async fn remove_all(&mut self, netlink: &mut Netlink) {
        let names: Vec<String> = self.ours.keys().cloned().collect();
        for name in names {
            self.remove(netlink, &name).await;
        }
        // restore_rp_filter(): only values still as we left them.
        if let Some(saved) = self.rp_saved.take() {
            if get("ipv4", "all", "rp_filter") == Some(0) {
                set("ipv4", "all", "rp_filter", saved.all);
            }
            for r in saved.raised {
                if get("ipv4", &r.interface, "rp_filter") == Some(r.ours) {
                    set("ipv4", &r.interface, "rp_filter", r.old);
                }
            }
        }
    }

    /// `netlink_link_del_vmac()`: only a VMAC we created, and the base's ARP settings
    /// back when its last VMAC is gone (`reset_interface_parameters()`).
    async fn remove(&mut self, netlink: &mut Netlink, name: &str) {
        let Some(base) = self.ours.remove(name) else {
            return;
        };
        self.want_link_local.remove(name);
        match netlink.link_kind(name).await {
            Ok(Some((index, true))) => match netlink.del_link(index).await {
                Ok(()) => info!(vmac = %name, "VMAC removed"),
                Err(e) => warn!(vmac = %name, "removing the VMAC: {e}"),
            },
            Ok(_) => {}
            Err(e) => warn!(vmac = %name, "{e}"),
        }
        if self.ours.values().any(|b| *b == base) {
            return;
        }
        if let Some((arp_ignore, arp_filter)) = self.base_saved.remove(&base) {
            if let Some(v) = arp_ignore.filter(|v| *v != 1) {
                set("ipv4", &base, "arp_ignore", v);
            }
            if let Some(v) = arp_filter.filter(|v| *v != 1) {
                set("ipv4", &base, "arp_filter", v);
            }
        }
    }
}

const IGMP_LINK_LOCAL_MCAST_REPORTS: &str = "/proc/sys/net/ipv4/igmp_link_local_mcast_reports";

/// `disable_local_igmp`: no IGMP reports for link-local groups (224.0.0.0/24, VRRP's
/// 224.0.0.18 among them), which a VMAC would otherwise send from the virtual MAC
/// (`set_disable_local_igmp()`, `vrrp_daemon.c`). Set once when the VRRP process
/// starts, put back when it stops, and only if it was 1.
#[derive(Debug, Default)]
pub struct LocalIgmp {
    /// Whether we turned the reports off, and so must turn them back on.
    cleared: bool,
}

impl LocalIgmp {
    /// Turns link-local IGMP reports off if `disable` and they are on.
    pub fn disable(disable: bool) -> LocalIgmp {
        if !disable {
            return LocalIgmp::default();
        }
        match std::fs::read_to_string(IGMP_LINK_LOCAL_MCAST_REPORTS) {
            Ok(v) if v.trim() == "1" => match std::fs::write(IGMP_LINK_LOCAL_MCAST_REPORTS, "0") {
                Ok(()) => LocalIgmp { cleared: true },
                Err(e) => {
                    warn!("Unable to write {IGMP_LINK_LOCAL_MCAST_REPORTS} - {e}");
                    LocalIgmp::default()
                }
            },
            Ok(_) => LocalIgmp::default(),
            Err(e) => {
                warn!("Unable to read {IGMP_LINK_LOCAL_MCAST_REPORTS} - {e}");
                LocalIgmp::default()
            }
        }
    }

    /// `reset_disable_local_igmp()`: back to 1 if we cleared it.
    pub fn restore(self) {
        if self.cleared {
            if let Err(e) = std::fs::write(IGMP_LINK_LOCAL_MCAST_REPORTS, "1") {
                warn!("Unable to write {IGMP_LINK_LOCAL_MCAST_REPORTS} - {e}");
            }
        }
    }
}

/// The base's link-local address on an IPv6 VMAC, the source of adverts sent from it
/// (`set_link_local_address()`); no duplicate detection, the base already owns it.
async fn add_link_local(netlink: &mut Netlink, vmac: &str, ll: Ipv6Addr) -> Result<(), String> {
    netlink.interfaces().await.map_err(|e| e.to_string())?;
    let mut addr = IpAddress::new(IpAddr::V6(ll), 64);
    addr.options_mut().scope = Some("link".into());
    netlink
        .add_address(&addr, vmac)
        .await
        .map_err(|e| format!("link-local address {ll}: {e}"))
}

fn fmt_mac(m: [u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    struct FakeHost {
        links: Vec<&'static str>,
        leftover: Option<(&'static str, [u8; 6], &'static str)>,
    }

    impl HostLinks for FakeHost {
        fn exists(&self, name: &str) -> bool {
            self.links.contains(&name)
        }
        fn vmac_on(&self, base: &str, mac: [u8; 6]) -> Option<String> {
            self.leftover
                .filter(|(b, m, _)| *b == base && *m == mac)
                .map(|(_, _, n)| n.to_string())
        }
    }

    fn config(text: &str) -> Config {
        use keepalived_engine::config::{parse_str, ParseOptions, Severity};
        let loaded = parse_str(text, &ParseOptions::default());
        assert!(
            loaded
                .diagnostics
                .iter()
                .all(|d| d.severity != Severity::Error),
            "{:?}",
            loaded.diagnostics
        );
        loaded.config
    }

    fn devs(c: &Config) -> Vec<(String, Option<String>)> {
        c.instances[0]
            .virtual_ipaddress
            .iter()
            .chain(&c.instances[0].virtual_ipaddress_excluded)
            .map(|a| (a.address.to_string(), a.dev.clone()))
            .collect()
    }

    fn host() -> FakeHost {
        FakeHost {
            links: vec!["d0", "d1"],
            leftover: None,
        }
    }

    const ADDR: &str = "global_defs {\n vmac_addr_prefix vaddr\n}\n\
        vrrp_instance VI_1 {\n interface d0\n virtual_router_id 51\n use_vmac_addr\n\
        virtual_ipaddress {\n 10.1.1.1/24 dev d1\n 10.1.1.2/24 dev d1\n 10.1.2.1/24\n }\n\
        virtual_ipaddress_excluded {\n fd00::51/64\n }\n}\n";

    #[test]
    fn use_vmac_addr_moves_other_interfaces_and_the_other_family_to_address_vmacs() {
        // keepalived 2.2.7 with this configuration makes vaddr.51 on d1 (00:00:5e:00:01:33)
        // holding 10.1.1.1, and vaddr6.51 on d0 (00:00:5e:00:02:33) holding fd00::51;
        // 10.1.2.1 stays on d0.
        let mut c = config(ADDR);
        let placed = place(&mut c, &host());
        let w = |name: &str, base: &str, mac, family| Wanted {
            name: name.into(),
            base: base.into(),
            mac,
            family,
            xmit_base: false,
        };
        assert_eq!(
            placed,
            vec![
                w("vaddr.51", "d1", [0, 0, 0x5e, 0, 1, 51], Family::V4),
                w("vaddr6.51", "d0", [0, 0, 0x5e, 0, 2, 51], Family::V6),
            ]
        );
        let dev = |d: &str| Some(d.to_string());
        assert_eq!(
            devs(&c),
            vec![
                ("10.1.1.1".into(), dev("vaddr.51")),
                ("10.1.1.2".into(), dev("vaddr.51")),
                ("10.1.2.1".into(), None),
                ("fd00::51".into(), dev("vaddr6.51")),
            ]
        );
    }

    #[test]
    fn without_vmac_addr_prefix_the_vmac_prefix_names_them_and_names_taken_are_skipped() {
        let mut c = config(&ADDR.replace(" vmac_addr_prefix vaddr", " vmac_prefix vm"));
        let mut h = host();
        h.links.push("vm.51");
        let placed = place(&mut c, &h);
        let names: Vec<_> = placed.iter().map(|w| w.name.as_str()).collect();
        assert_eq!(names, ["vm1.51", "vm6.51"]);
    }

    #[test]
    fn a_leftover_vmac_on_the_same_base_and_mac_is_taken_again() {
        let mut c = config(ADDR);
        let mut h = host();
        h.leftover = Some(("d1", [0, 0, 0x5e, 0, 1, 51], "old.51"));
        let placed = place(&mut c, &h);
        assert_eq!(placed[0].name, "old.51");
        assert_eq!(devs(&c)[0].1.as_deref(), Some("old.51"));
    }

    #[test]
    fn the_address_option_use_vmac_places_that_address_alone() {
        let mut c = config(
            "vrrp_instance VI_1 {\n interface d0\n virtual_router_id 9\n\
             virtual_ipaddress {\n 10.1.1.1/24 dev d1 use_vmac\n 10.1.1.2/24 dev d1\n\
             10.1.2.1/24 use_vmac\n }\n}\n",
        );
        let placed = place(&mut c, &host());
        let names: Vec<_> = placed
            .iter()
            .map(|w| (w.name.as_str(), w.base.as_str()))
            .collect();
        assert_eq!(names, [("vrrp.9", "d1"), ("vrrp1.9", "d0")]);
        let d: Vec<_> = devs(&c).into_iter().map(|(_, d)| d).collect();
        assert_eq!(
            d,
            [
                Some("vrrp.9".into()),
                Some("d1".into()),
                Some("vrrp1.9".into())
            ]
        );
    }

    #[test]
    fn with_the_instance_vmac_the_other_family_stays_on_the_interface() {
        let mut c = config(
            "vrrp_instance VI_1 {\n interface d0\n virtual_router_id 9\n use_vmac\n\
             virtual_ipaddress {\n 10.1.2.1/24\n }\n\
             virtual_ipaddress_excluded {\n fd00::9/64\n }\n}\n",
        );
        assert!(place(&mut c, &host()).is_empty());
        assert_eq!(
            devs(&c),
            [
                ("10.1.2.1".into(), None),
                ("fd00::9".into(), Some("d0".into()))
            ]
        );
    }

    #[test]
    fn names_keep_to_ifnamsiz() {
        let prefix = "averyveryverylongprefix";
        assert_eq!(
            vmac_name(prefix, 255, Family::V4, |_| false),
            "averyveryve.255"
        );
        assert_eq!(
            vmac_name(prefix, 255, Family::V4, |n| n == "averyveryve.255"),
            "averyveryv1.255"
        );
        // IPv6: 6 second, then 1…5, 7…
        let taken = ["v.1", "v6.1", "v1.1", "v2.1", "v3.1", "v4.1", "v5.1"];
        assert_eq!(
            vmac_name("v", 1, Family::V6, |n| taken.contains(&n)),
            "v7.1"
        );
    }

    #[test]
    fn macs_parse_strictly() {
        assert_eq!(
            parse_mac("00:00:5e:00:01:3d"),
            Some([0, 0, 0x5e, 0, 1, 0x3d])
        );
        assert_eq!(parse_mac("00:00:5e:00:01"), None);
        assert_eq!(parse_mac("00:00:5e:00:01:3d:00"), None);
        assert_eq!(parse_mac("zz:00:5e:00:01:3d"), None);
    }
}
