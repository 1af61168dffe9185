//! `promote_secondaries` (vrrp_instance): the instance's interface gets
//! net.ipv4.conf.IFNAME.promote_secondaries=1, so that when its primary IPv4 address of a
//! subnet goes, the kernel makes a secondary of that subnet (a VIP among them) primary
//! instead of deleting them all with it (keepalived's `set_promote_secondaries()`,
//! `vrrp_if_config.c`). It is put back to 0 at a clean stop.

use std::collections::BTreeSet;

use keepalived_engine::config::model::Config;
use tracing::{info, warn};

use super::vmac::{get as sysctl_get, set as sysctl_set};

const KEY: &str = "promote_secondaries";

/// The interfaces whose `promote_secondaries` we turned on, to turn off at stop.
#[derive(Debug, Default)]
pub(crate) struct PromoteSecondaries {
    turned_on: BTreeSet<String>,
}

impl PromoteSecondaries {
    /// Turns `promote_secondaries` on for the interface of each instance of `config` with
    /// the keyword, at start and at each reload, as `vrrp_complete_instance()` calls
    /// `set_promote_secondaries()` for every configuration it loads:
    /// - whatever the instance's family: the setting is the interface's;
    /// - only on an interface that exists now (`vrrp->ifp->ifindex`);
    /// - not on one already on, which is then left on at stop (keepalived remembers the
    ///   original value from the interface's IPv4 devconf and only changes a 0);
    /// - not for an instance with `use_vmac` or `use_ipvlan`: keepalived drops the keyword
    ///   there (a VMAC gets the setting when it is created) and leaves the base interface
    ///   as it is.
    ///
    /// An instance losing the keyword on a reload changes nothing until the stop, as in
    /// keepalived, which only puts it back in `shutdown_vrrp_instances()`.
    pub(crate) fn apply(&mut self, config: &Config) {
        for vi in config.instances.iter().filter(|vi| vi.promote_secondaries) {
            if vi.use_vmac.is_some() || vi.use_ipvlan.is_some() {
                warn!(
                    instance = %vi.name,
                    vrid = vi.virtual_router_id,
                    "promote_secondaries is automatically set for vmacs - ignoring"
                );
                continue;
            }
            let Some(interface) = vi.interface.as_deref() else {
                continue;
            };
            if self.turned_on.contains(interface) {
                continue;
            }
            match sysctl_get("ipv4", interface, KEY) {
                Some(0) => {
                    sysctl_set("ipv4", interface, KEY, 1);
                    info!(instance = %vi.name, %interface, "promote_secondaries set on the interface");
                    self.turned_on.insert(interface.to_string());
                }
                Some(_) => {}
                None => info!(
                    instance = %vi.name,
                    %interface,
                    "promote_secondaries not set: the interface's setting cannot be read (no such interface)"
                ),
            }
        }
    }

    /// Whether `interface`'s `promote_secondaries` was turned on by us.
    pub(crate) fn turned_on(&self, interface: &str) -> bool {
        self.turned_on.contains(interface)
    }

    /// Puts `promote_secondaries` back to 0 on every interface we turned it on, that
    /// still exists (`reset_promote_secondaries()`). keepalived does so only for an
    /// interface an instance of the running configuration is still on, and only once as
    /// many of those have stopped as set it; here every interface changed is put back,
    /// so a reload that moved or dropped instances does not leave the host changed.
    pub(crate) fn restore(&mut self) {
        for interface in std::mem::take(&mut self.turned_on) {
            if sysctl_get("ipv4", &interface, KEY).is_none() {
                continue;
            }
            sysctl_set("ipv4", &interface, KEY, 0);
            info!(interface = %interface, "promote_secondaries put back to 0");
        }
    }
}
