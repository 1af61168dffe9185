//! Static addresses, routes and rules (`static_ipaddress`, `static_routes`,
//! `static_rules`): host state the VRRP process keeps in place whatever its instances do
//! (`start_vrrp()`, `reload_vrrp_thread()` and `vrrp_terminate_phase1()` in
//! `keepalived/vrrp/vrrp_daemon.c`).
//!
//! - At start: with `-V` the configured addresses are deleted first (a previous run may
//!   have left them), and the rules always are, since a rule is added with NLM_F_EXCL;
//!   then addresses, routes and rules are added in that order.
//! - At a reload (`clear_diff_static_*()`): the items the new configuration drops are
//!   deleted, a route it keeps is replaced with its new options, and its new items are
//!   added.
//! - While running: a static address deleted from the host is put back
//!   (`netlink_if_address_filter()` → `reinstate_static_address()`), and when an
//!   interface comes up its static addresses and routes are (`interface_up()` →
//!   `static_track_group_reinstate_config()`); `no_track` items are left alone. A link
//!   going down takes its routes with it (`interface_down()`). Deleted static routes and
//!   rules are put back too while keepalived watches routes or rules of their family
//!   (`netlink_route_filter()`, `netlink_rule_filter()`): when a static one has a
//!   `track_group` or an instance has a tracked virtual one (`process_static_entries()`,
//!   `vrrp_complete_instance()`).
//! - At stop: rules, routes and addresses are deleted, `-V` or not; with `-V` every
//!   configured address is, whether this run added it or not (`netlink_iplist()`).
//!
//! No instance decides any of this, so the engine never sees these items; a `track_group`
//! on one only makes instances track its interface, which the configuration's completion
//! turns into weight-0 interface trackers. The items are kept by a task of their own with
//! its own rtnetlink connection and link and address events, so the VRRP loop's event
//! handling is not involved.

use std::collections::BTreeMap;
use std::net::IpAddr;

use keepalived_engine::config::model::{Config, IpAddress, Route, Rule};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, error, info, warn};

use crate::host::netlink::{route_is_v6, rule_is_v6, Change, HostEvent, Netlink, NetlinkError};

/// What the VRRP process asks of the task that keeps the static items.
enum Command {
    /// A configuration the parent sent: apply its difference.
    Reload(Box<Config>),
    /// The process stops: delete the items, then answer.
    Release(oneshot::Sender<()>),
}

/// The handle the VRRP platform holds on the static items' task.
pub(crate) struct Statics {
    commands: mpsc::UnboundedSender<Command>,
}

impl Statics {
    /// Starts the task and installs `config`'s static items. `dont_release`: `-V`.
    pub(crate) fn start(config: &Config, dont_release: bool) -> Statics {
        let (commands, rx) = mpsc::unbounded_channel();
        let wanted = Wanted::of(config);
        tokio::spawn(async move {
            let netlink = match Netlink::connect_watching_routes() {
                Ok(n) => n,
                Err(e) => {
                    error!("static addresses, routes and rules: {e}");
                    return;
                }
            };
            let mut keeper = Keeper {
                netlink,
                dont_release,
                links: BTreeMap::new(),
                watch: Watch::default(),
                addresses: Vec::new(),
                routes: Vec::new(),
                rules: Vec::new(),
            };
            keeper.start(wanted).await;
            keeper.run(rx).await;
        });
        Statics { commands }
    }

    /// A reload: `config`'s static items replace the current ones.
    pub(crate) fn reload(&self, config: &Config) {
        // The task ended only if rtnetlink could not be opened, which was logged.
        let _ = self
            .commands
            .send(Command::Reload(Box::new(config.clone())));
    }

    /// Deletes the static items and waits until that is done.
    pub(crate) async fn release(&self) {
        let (done, wait) = oneshot::channel();
        if self.commands.send(Command::Release(done)).is_ok() {
            let _ = wait.await;
        }
    }
}

/// A static address with the interface it goes on.
#[derive(Debug, Clone)]
struct StaticAddress {
    addr: IpAddress,
    interface: String,
}

/// An item and whether this run has it on the host (keepalived's `set`).
#[derive(Debug, Clone)]
struct Held<T> {
    item: T,
    set: bool,
}

/// A configuration's static items.
struct Wanted {
    addresses: Vec<StaticAddress>,
    routes: Vec<Route>,
    rules: Vec<Rule>,
    watch: Watch,
}

/// Which route and rule deletions are watched, by family (keepalived's
/// `monitor_ipv4_routes` and the like).
#[derive(Debug, Clone, Copy, Default)]
struct Watch {
    routes: [bool; 2],
    rules: [bool; 2],
}

impl Watch {
    /// `process_static_entries()`: a static route or rule with a `track_group`;
    /// `vrrp_complete_instance()`: a virtual route or rule without `no_track`.
    fn of(config: &Config) -> Watch {
        let mut w = Watch::default();
        let virtual_routes = config.instances.iter().flat_map(|vi| &vi.virtual_routes);
        for r in config
            .static_routes
            .iter()
            .filter(|r| r.track_group.is_some())
            .chain(virtual_routes.filter(|r| !r.no_track))
        {
            w.routes[usize::from(route_is_v6(r))] = true;
        }
        let virtual_rules = config.instances.iter().flat_map(|vi| &vi.virtual_rules);
        for r in config
            .static_rules
            .iter()
            .filter(|r| r.track_group.is_some())
            .chain(virtual_rules.filter(|r| !r.no_track))
        {
            w.rules[usize::from(rule_is_v6(r))] = true;
        }
        w
    }
}

impl Wanted {
    fn of(config: &Config) -> Wanted {
        // alloc_ipaddress(): a static address without `dev` goes on the default interface
        // (get_default_if(): default_interface, "eth0" unless set).
        let default_if = config
            .global
            .default_interface
            .clone()
            .unwrap_or_else(|| "eth0".to_string());
        Wanted {
            addresses: config
                .static_ipaddress
                .iter()
                .map(|a| StaticAddress {
                    interface: a.dev.clone().unwrap_or_else(|| default_if.clone()),
                    addr: a.clone(),
                })
                .collect(),
            routes: config.static_routes.clone(),
            rules: config.static_rules.clone(),
            watch: Watch::of(config),
        }
    }
}

/// keepalived's `compare_ipaddress()`: the same address, prefix, scope, interface and
/// label (the broadcast and flags do not make another address).
fn same_address(a: &StaticAddress, b: &StaticAddress) -> bool {
    a.addr.address == b.addr.address
        && a.addr.prefix_len == b.addr.prefix_len
        && a.addr.scope() == b.addr.scope()
        && a.addr.label() == b.addr.label()
        && a.interface == b.interface
}

/// keepalived's `route_exist()`: the kernel's key to a route (destination, tos, metric,
/// table) with the via, nexthops, scope, type and interface, since routes are added
/// without NLM_F_EXCL. The rest (src, protocol, attributes) is replaced in place.
fn same_route(a: &Route, b: &Route) -> bool {
    a.to == b.to
        && a.family_v6 == b.family_v6
        && a.tos == b.tos
        && a.metric == b.metric
        && a.table == b.table
        && a.scope == b.scope
        && a.route_type == b.route_type
        && a.via == b.via
        && a.dev == b.dev
        && a.nexthops == b.nexthops
}

/// keepalived's `rule_is_equal()`: every option but the track group.
fn same_rule(a: &Rule, b: &Rule) -> bool {
    Rule {
        track_group: None,
        ..a.clone()
    } == Rule {
        track_group: None,
        ..b.clone()
    }
}

fn show_address(a: &StaticAddress) -> String {
    format!(
        "{}/{} dev {}",
        a.addr.address, a.addr.prefix_len, a.interface
    )
}

fn show_route(r: &Route) -> String {
    let to = r.to.map_or_else(
        || "default".to_string(),
        |p| format!("{}/{}", p.address, p.len),
    );
    match (&r.via, &r.dev) {
        (Some(via), Some(dev)) => format!("{to} via {via} dev {dev}"),
        (Some(via), None) => format!("{to} via {via}"),
        (None, Some(dev)) => format!("{to} dev {dev}"),
        (None, None) => to,
    }
}

fn show_rule(r: &Rule) -> String {
    let side = |p: &Option<keepalived_engine::config::model::IpPrefix>| {
        p.map_or_else(|| "all".to_string(), |p| format!("{}/{}", p.address, p.len))
    };
    format!("from {} to {}", side(&r.from), side(&r.to))
}

/// The task's state: its rtnetlink connection, the links it has seen up, and the items.
struct Keeper {
    netlink: Netlink,
    dont_release: bool,
    /// Each interface's last known state, to see it come up.
    links: BTreeMap<String, bool>,
    /// The route and rule deletions that put a static one back.
    watch: Watch,
    addresses: Vec<Held<StaticAddress>>,
    routes: Vec<Held<Route>>,
    rules: Vec<Held<Rule>>,
}

impl Keeper {
    async fn start(&mut self, wanted: Wanted) {
        match self.netlink.interfaces().await {
            Ok(ifs) => self.links = ifs.into_iter().map(|i| (i.name, i.up)).collect(),
            Err(e) => warn!("static addresses, routes and rules: {e}"),
        }
        self.watch = wanted.watch;
        self.addresses = held(wanted.addresses);
        self.routes = held(wanted.routes);
        self.rules = held(wanted.rules);
        // "Clear leftover static entries": netlink_iplist(…, IPADDRESS_DEL, false) only
        // acts under -V here, as nothing is set yet; the rules go whatever is there
        // (force), ENOENT being no error.
        if self.dont_release {
            for a in &self.addresses {
                let _ = self
                    .netlink
                    .del_address(&a.item.addr, &a.item.interface)
                    .await;
            }
        }
        for r in &self.rules {
            let _ = self.netlink.rule(&r.item, false).await;
        }
        self.add_unset().await;
    }

    async fn run(&mut self, mut commands: mpsc::UnboundedReceiver<Command>) {
        loop {
            tokio::select! {
                cmd = commands.recv() => match cmd {
                    Some(Command::Reload(config)) => self.reload(Wanted::of(&config)).await,
                    Some(Command::Release(done)) => {
                        self.release().await;
                        let _ = done.send(());
                        return;
                    }
                    // The platform is gone without a release: the process is ending.
                    None => return,
                },
                Some(change) = self.netlink.next_change() => match change {
                    Change::Host(ev) => self.host_event(ev).await,
                    Change::RouteDeleted(m) => self.route_deleted(&m).await,
                    Change::RuleDeleted(m) => self.rule_deleted(&m).await,
                },
            }
        }
    }

    /// `netlink_iplist()`, `netlink_rtlist()`, `netlink_rulelist()` with IP*_ADD: what is
    /// not on the host yet goes on, addresses first, as a route's `src` or a rule may
    /// need one.
    async fn add_unset(&mut self) {
        for a in self.addresses.iter_mut().filter(|a| !a.set) {
            a.set = add_address(&self.netlink, &a.item).await;
        }
        for r in self.routes.iter_mut().filter(|r| !r.set) {
            r.set = change_route(&self.netlink, &r.item, true).await;
        }
        for r in self.rules.iter_mut().filter(|r| !r.set) {
            r.set = change_rule(&self.netlink, &r.item, true).await;
        }
    }

    /// `clear_diff_static_rules()`, `…_routes()`, `…_addresses()`, then the additions.
    async fn reload(&mut self, wanted: Wanted) {
        self.watch = wanted.watch;
        let mut rules = held(wanted.rules);
        for old in std::mem::take(&mut self.rules) {
            match rules.iter_mut().find(|n| same_rule(&n.item, &old.item)) {
                Some(n) => n.set = old.set,
                None if old.set => {
                    change_rule(&self.netlink, &old.item, false).await;
                }
                None => {}
            }
        }
        self.rules = rules;

        // clear_diff_routes(): a kept route is replaced, so its other options follow the
        // new configuration; if that fails the old one goes and the new is added below.
        let mut routes = held(wanted.routes);
        for old in std::mem::take(&mut self.routes) {
            if !old.set {
                continue;
            }
            match routes.iter_mut().find(|n| same_route(&n.item, &old.item)) {
                Some(n) => {
                    n.set = match self.netlink.replace_route(&n.item).await {
                        Ok(()) => true,
                        Err(e) => {
                            warn!("replacing static route {}: {e}", show_route(&n.item));
                            false
                        }
                    };
                    if !n.set {
                        change_route(&self.netlink, &old.item, false).await;
                    }
                }
                None => {
                    change_route(&self.netlink, &old.item, false).await;
                }
            }
        }
        self.routes = routes;

        let mut addresses = held(wanted.addresses);
        for old in std::mem::take(&mut self.addresses) {
            match addresses
                .iter_mut()
                .find(|n| same_address(&n.item, &old.item))
            {
                Some(n) => n.set = old.set,
                None if old.set => {
                    del_address(&self.netlink, &old.item).await;
                }
                None => {}
            }
        }
        self.addresses = addresses;

        self.add_unset().await;
    }

    /// `vrrp_terminate_phase1()`: rules, routes, then addresses.
    async fn release(&mut self) {
        for r in self.rules.iter_mut().filter(|r| r.set) {
            change_rule(&self.netlink, &r.item, false).await;
            r.set = false;
        }
        for r in self.routes.iter_mut().filter(|r| r.set) {
            change_route(&self.netlink, &r.item, false).await;
            r.set = false;
        }
        // netlink_iplist(): with -V the addresses go whether this run added them or not.
        let dont_release = self.dont_release;
        for a in self.addresses.iter_mut().filter(|a| a.set || dont_release) {
            del_address(&self.netlink, &a.item).await;
            a.set = false;
        }
    }

    async fn host_event(&mut self, ev: HostEvent) {
        match ev {
            HostEvent::Link(info) => {
                let was_up = self.links.insert(info.name.clone(), info.up) == Some(true);
                if info.up && !was_up {
                    self.interface_up(&info.name).await;
                } else if !info.up && was_up {
                    // interface_down(): the kernel drops the link's routes without an
                    // RTM_DELROUTE for them.
                    for r in &mut self.routes {
                        if r.item.dev.as_deref() == Some(info.name.as_str()) {
                            r.set = false;
                        }
                    }
                }
            }
            HostEvent::Address {
                interface,
                addr,
                added: false,
            } => self.address_deleted(&interface, addr).await,
            HostEvent::Address { added: true, .. } => {}
        }
    }

    /// `static_track_group_reinstate_config()`: the interface's static addresses and
    /// routes go back on.
    async fn interface_up(&mut self, interface: &str) {
        for a in &mut self.addresses {
            if a.item.addr.no_track || a.item.interface != interface {
                continue;
            }
            a.set = add_address(&self.netlink, &a.item).await;
            info!("Restoring deleted static address {}", show_address(&a.item));
        }
        for r in &mut self.routes {
            if r.item.no_track || r.item.dev.as_deref() != Some(interface) {
                continue;
            }
            r.set = change_route(&self.netlink, &r.item, true).await;
            info!("Restoring deleted static route {}", show_route(&r.item));
        }
    }

    /// `netlink_route_filter()` → `reinstate_static_route()` for a static route someone
    /// deleted, while routes of its family are watched.
    async fn route_deleted(&mut self, m: &netlink_packet_route::route::RouteMessage) {
        let netlink = &self.netlink;
        let watch = self.watch;
        let Some(r) = self.routes.iter_mut().find(|r| {
            r.set
                && !r.item.no_track
                && watch.routes[usize::from(route_is_v6(&r.item))]
                && netlink.is_route(m, &r.item, false)
        }) else {
            return;
        };
        r.set = change_route(netlink, &r.item, true).await;
        info!("Restoring deleted static route {}", show_route(&r.item));
    }

    /// `netlink_rule_filter()` → `reinstate_static_rule()` for a static rule someone
    /// deleted, while rules of its family are watched.
    async fn rule_deleted(&mut self, m: &netlink_packet_route::rule::RuleMessage) {
        let watch = self.watch;
        let Some(r) = self.rules.iter_mut().find(|r| {
            r.set
                && !r.item.no_track
                && watch.rules[usize::from(rule_is_v6(&r.item))]
                && Netlink::is_rule(m, &r.item)
        }) else {
            return;
        };
        r.set = change_rule(&self.netlink, &r.item, true).await;
        info!("Restoring deleted static rule {}", show_rule(&r.item));
    }

    /// `reinstate_static_address()` for a static address someone deleted.
    async fn address_deleted(&mut self, interface: &str, addr: IpAddr) {
        let Some(a) = self.addresses.iter_mut().find(|a| {
            !a.item.addr.no_track && a.item.interface == interface && a.item.addr.address == addr
        }) else {
            return;
        };
        a.set = add_address(&self.netlink, &a.item).await;
        info!("Restoring deleted static address {}", show_address(&a.item));
    }
}

fn held<T>(items: Vec<T>) -> Vec<Held<T>> {
    items
        .into_iter()
        .map(|item| Held { item, set: false })
        .collect()
}

/// Adds a static address; whether it is on the host now.
async fn add_address(netlink: &Netlink, a: &StaticAddress) -> bool {
    match netlink.add_address(&a.addr, &a.interface).await {
        Ok(()) => {
            debug!("static address {} added", show_address(a));
            true
        }
        Err(e) => {
            // netlink_ipaddress(): "Not adding address … since interface doesn't exist"
            // and the kernel's refusals alike leave it unset, for a reload or the
            // interface's return to try again.
            warn!("adding static address {}: {e}", show_address(a));
            false
        }
    }
}

async fn del_address(netlink: &Netlink, a: &StaticAddress) {
    match netlink.del_address(&a.addr, &a.interface).await {
        Ok(()) => debug!("static address {} removed", show_address(a)),
        Err(e) => warn!("removing static address {}: {e}", show_address(a)),
    }
}

/// Adds (replacing) or deletes a static route; whether that was done.
async fn change_route(netlink: &Netlink, r: &Route, add: bool) -> bool {
    let verb = if add { "adding" } else { "removing" };
    match netlink.route(r, add).await {
        Ok(()) => {
            debug!("{verb} static route {}", show_route(r));
            true
        }
        Err(e) => {
            warn!("{verb} static route {}: {e}", show_route(r));
            false
        }
    }
}

/// Adds or deletes a static rule; whether that was done.
async fn change_rule(netlink: &Netlink, r: &Rule, add: bool) -> bool {
    let verb = if add { "adding" } else { "removing" };
    match netlink.rule(r, add).await {
        Ok(()) => {
            debug!("{verb} static rule {}", show_rule(r));
            true
        }
        // Rules are added with NLM_F_EXCL: one already there is ours, as when the
        // deletion of a leftover at start is heard after the rule went back on.
        Err(NetlinkError::Request(rtnetlink::Error::NetlinkError(e)))
            if add && e.raw_code() == -libc::EEXIST =>
        {
            true
        }
        Err(e) => {
            warn!("{verb} static rule {}: {e}", show_rule(r));
            false
        }
    }
}
