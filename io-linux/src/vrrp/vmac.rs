//! `use_vmac`: a private macvlan on the instance's interface with the VRRP virtual MAC
//! (keepalived's `vrrp_vmac.c`), and the sysctls keepalived sets so ARP for the VIPs is
//! answered by the VMAC alone (`vrrp_if_config.c`). Everything is undone on exit.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv6Addr};

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
/// `use_vmac` names a MAC.
pub fn wanted(config: &Config) -> Vec<Wanted> {
    config
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
        .collect()
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

fn get(family: &str, ifname: &str, key: &str) -> Option<i64> {
    std::fs::read_to_string(conf_path(family, ifname, key))
        .ok()?
        .trim()
        .parse()
        .ok()
}

fn set(family: &str, ifname: &str, key: &str, value: i64) {
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
    fn configure(&mut self, w: &Wanted) {
        // No address the kernel derives from the shared virtual MAC: every router has it.
        set("ipv6", &w.name, "addr_gen_mode", 1);
        if w.family == Family::V6 {
            set("ipv4", &w.name, "arp_ignore", 1);
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

/// The base's link-local address on an IPv6 VMAC, the source of adverts sent from it
/// (`set_link_local_address()`); no duplicate detection, the base already owns it.
async fn add_link_local(netlink: &mut Netlink, vmac: &str, ll: Ipv6Addr) -> Result<(), String> {
    netlink.interfaces().await.map_err(|e| e.to_string())?;
    let addr = IpAddress {
        address: IpAddr::V6(ll),
        prefix_len: 64,
        broadcast: None,
        dev: None,
        use_vmac: false,
        scope: Some("link".into()),
        label: None,
        peer: None,
        home: false,
        nodad: false,
        mngtmpaddr: false,
        noprefixroute: false,
        autojoin: false,
        no_track: false,
        preferred_lft: None,
        track_group: None,
    };
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
