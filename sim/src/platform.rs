//! The simulated world a VRRP host runs in. Adverts travel as UDP datagrams (turmoil
//! carries UDP, not raw IP) in an envelope that says which segment they were sent on: a
//! host takes them in on its interface on that segment, if it has one, and hands the
//! engine the IP header's fields (family, source, destination, TTL) from the envelope,
//! so IPv4 and IPv6 adverts reach the engine as they would from a raw socket. Segment
//! faults (cuts, loss, latency) and carrier are applied here, on receipt; whole-host
//! faults are turmoil's. Addresses are recorded, scripts exit as the scenario says, and
//! the runner's faults arrive on a control channel. The event loop is the daemon's own
//! (`keepalived_driver::vrrp`).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::rc::Rc;
use std::time::Duration;

use keepalived_driver::vrrp::{self as driver, Event, Platform};
use keepalived_engine::time::Instant;
use keepalived_engine::vrrp::{Engine, Input, Output, Owned, ScriptStatus, State};
use keepalived_engine::wire::Family;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};
use turmoil::net::UdpSocket;

use crate::bfd::{bfd_side, next_state, Clients, StateRx};
use crate::host::{engine_now, engine_until, iface_of, turmoil_ipv4, Control, Iface};
use crate::rng::Rng;
use crate::world::{state_word, Kind, TraceLine, World};

/// The UDP port VRRP rides on in the simulation.
pub const PORT: u16 = 112;
/// Every multicast advert goes to this group, whatever the engine's group address.
pub const GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// How long a simulated track script runs.
const SCRIPT_RUN: Duration = Duration::from_millis(10);
/// The envelope's header: family, sender host, segment, source, destination, TTL.
const HEADER: usize = 1 + 2 + 2 + 16 + 16 + 1;

/// A packet on the simulated wire (a VRRP advert, or a BFD control packet in
/// `crate::bfd`), as the receiving host reads it.
pub(crate) struct Envelope<'a> {
    pub(crate) family: Family,
    pub(crate) sender: usize,
    pub(crate) segment: usize,
    pub(crate) src: IpAddr,
    pub(crate) dst: IpAddr,
    pub(crate) ttl: u8,
    pub(crate) bytes: &'a [u8],
}

impl Envelope<'_> {
    pub(crate) fn emit(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(HEADER + self.bytes.len());
        v.push(matches!(self.family, Family::V6) as u8);
        v.extend_from_slice(&(self.sender as u16).to_be_bytes());
        v.extend_from_slice(&(self.segment as u16).to_be_bytes());
        for a in [self.src, self.dst] {
            match a {
                IpAddr::V4(a) => v.extend_from_slice(&a.to_ipv6_mapped().octets()),
                IpAddr::V6(a) => v.extend_from_slice(&a.octets()),
            }
        }
        v.push(self.ttl);
        v.extend_from_slice(self.bytes);
        v
    }

    pub(crate) fn parse(d: &[u8]) -> Option<Envelope<'_>> {
        if d.len() < HEADER {
            return None;
        }
        let family = if d[0] == 1 { Family::V6 } else { Family::V4 };
        let addr = |at: usize| {
            let mut o = [0u8; 16];
            o.copy_from_slice(&d[at..at + 16]);
            let a = Ipv6Addr::from(o);
            match (family, a.to_ipv4_mapped()) {
                (Family::V4, Some(v4)) => IpAddr::V4(v4),
                _ => IpAddr::V6(a),
            }
        };
        Some(Envelope {
            family,
            sender: usize::from(u16::from_be_bytes([d[1], d[2]])),
            segment: usize::from(u16::from_be_bytes([d[3], d[4]])),
            src: addr(5),
            dst: addr(21),
            ttl: d[37],
            bytes: &d[HEADER..],
        })
    }
}

struct SimPlatform {
    idx: usize,
    world: Rc<RefCell<World>>,
    sock: UdpSocket,
    control: UnboundedReceiver<Control>,
    start: tokio::time::Instant,
    ifaces: Vec<Iface>,
    links: Vec<bool>,
    /// The interface each instance sends on.
    xmit: BTreeMap<String, usize>,
    /// For each interface, the names its packets are handed to the engine under: its
    /// own, and the VMACs of instances on it.
    rx_names: Vec<Vec<String>>,
    /// For each interface, the VMACs (`use_vmac`) on it, which share its carrier.
    vmacs: Vec<Vec<String>>,
    /// For each interface, the multicast groups its instances joined.
    groups: Vec<Vec<IpAddr>>,
    /// Inputs due later (script exits, delayed packets), by time and arrival order.
    due: BTreeMap<(tokio::time::Instant, u64), Event>,
    seq: u64,
    rng: Rng,
    /// A shutdown was handed to the engine: the next event ends the loop.
    stopping: bool,
    buf: Vec<u8>,
    /// Session states from the host's BFD side (`track_bfd`), when it runs one.
    bfd: Option<StateRx>,
}

/// Which interface each instance of `cfg` sends on, and under which names each interface
/// receives.
fn wiring(
    cfg: &keepalived_engine::config::model::Config,
    ifaces: &[Iface],
) -> (BTreeMap<String, usize>, Vec<Vec<String>>) {
    let mut xmit = BTreeMap::new();
    let mut rx: Vec<Vec<String>> = ifaces.iter().map(|i| vec![i.name.clone()]).collect();
    for (k, v) in vmacs(cfg, ifaces).into_iter().enumerate() {
        rx[k].extend(v);
    }
    for vi in &cfg.instances {
        let Some(k) = iface_of(ifaces, vi) else {
            continue;
        };
        xmit.insert(vi.name.clone(), k);
        if let Some(x) = vi.xmit_interface() {
            if !rx[k].iter().any(|n| n == x) {
                rx[k].push(x.to_string());
            }
        }
    }
    (xmit, rx)
}

/// The multicast groups `cfg`'s instances join, per interface: `mcast_dst_ip`, else
/// `vrrp_mcast_group4`/`vrrp_mcast_group6` by family. A host that has not joined a group
/// never receives what is sent to it.
fn groups(cfg: &keepalived_engine::config::model::Config, ifaces: &[Iface]) -> Vec<Vec<IpAddr>> {
    let mut out: Vec<Vec<IpAddr>> = vec![Vec::new(); ifaces.len()];
    for vi in cfg
        .instances
        .iter()
        .filter(|vi| vi.unicast_peers.is_empty())
    {
        let Some(k) = iface_of(ifaces, vi) else {
            continue;
        };
        let g = vi.mcast_dst_ip.unwrap_or(if vi.is_ipv6() {
            cfg.global.vrrp_mcast_group6
        } else {
            cfg.global.vrrp_mcast_group4
        });
        if !out[k].contains(&g) {
            out[k].push(g);
        }
    }
    out
}

/// The VMACs of `cfg`'s instances, per interface: macvlans the daemon creates on the
/// instance's interface before the engine starts (`ensure_vmacs`), up while it is.
fn vmacs(cfg: &keepalived_engine::config::model::Config, ifaces: &[Iface]) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = vec![Vec::new(); ifaces.len()];
    for vi in &cfg.instances {
        let (Some(v), Some(k)) = (vi.vmac(), iface_of(ifaces, vi)) else {
            continue;
        };
        if !out[k].iter().any(|x| x == v) {
            out[k].push(v.to_string());
        }
    }
    out
}

/// What the engine is told of host `host`'s interfaces and their VMACs.
fn infos(
    host: usize,
    ifaces: &[Iface],
    links: &[bool],
    vmacs: &[Vec<String>],
) -> Vec<keepalived_engine::vrrp::InterfaceInfo> {
    let mut out = Vec::new();
    for (k, i) in ifaces.iter().enumerate() {
        out.push(i.info(host, k, links[k]));
        for v in &vmacs[k] {
            out.push(vmac_info(i, host, k, v, links[k]));
        }
    }
    out
}

fn vmac_info(
    base: &Iface,
    host: usize,
    k: usize,
    name: &str,
    up: bool,
) -> keepalived_engine::vrrp::InterfaceInfo {
    keepalived_engine::vrrp::InterfaceInfo {
        name: name.to_string(),
        ..base.info(host, k, up)
    }
}

impl SimPlatform {
    fn clock(&self) -> (i64, i64) {
        self.world.borrow().hosts[self.idx].clock
    }

    fn sim_now(&self) -> f64 {
        turmoil::sim_elapsed().unwrap_or_default().as_secs_f64()
    }

    fn later(&mut self, after: Duration, ev: Event) {
        self.seq += 1;
        self.due
            .insert((tokio::time::Instant::now() + after, self.seq), ev);
    }

    /// Takes in a datagram: the events it gives (one per name its interface receives
    /// under), now or after the segment's latency, unless the segment drops it.
    fn receive(&mut self, n: usize) {
        let Some(env) = Envelope::parse(&self.buf[..n]) else {
            return;
        };
        // The interface on the advert's segment; for a unicast advert, the one holding
        // its destination.
        let Some(k) = self.ifaces.iter().enumerate().position(|(k, i)| {
            i.segment == env.segment
                && if env.dst.is_multicast() {
                    self.groups[k].contains(&env.dst)
                } else {
                    i.holds(env.dst)
                }
        }) else {
            return;
        };
        let delay = {
            let w = self.world.borrow();
            if env.sender >= w.hosts.len() || !w.carries(env.segment, env.sender, self.idx) {
                return;
            }
            let (loss, delay) = w.segment_faults(env.segment, env.sender, self.idx);
            drop(w);
            if loss > 0.0 && self.rng.unit() < loss {
                return;
            }
            delay
        };
        let inputs: Vec<Input> = self.rx_names[k]
            .iter()
            .map(|name| Input::Packet {
                interface: name.clone(),
                family: env.family,
                src: env.src,
                dst: env.dst,
                hop_limit: Some(env.ttl),
                bytes: env.bytes.to_vec(),
            })
            .collect();
        for input in inputs {
            self.later(Duration::from_secs_f64(delay), Event::Input(input));
        }
    }

    fn record(&mut self, out: &Output) {
        let t = self.sim_now();
        let mut w = self.world.borrow_mut();
        w.now = t;
        let i = self.idx;
        let host = w.hosts[i].name.clone();
        let line = |kind, instance: &str, detail: String| TraceLine {
            t,
            host: host.clone(),
            kind,
            instance: Some(instance.to_string()),
            from: None,
            to: None,
            reason: None,
            detail,
        };
        match out {
            Output::StateChange {
                instance,
                from,
                to,
                reason,
                ..
            } => {
                if let Some(v) = w.hosts[i].inst.get_mut(instance) {
                    v.state = *to;
                    v.since = t;
                    let before = v.garps_at_takeover.take();
                    if *to == State::Master && !v.garp_paced && v.garp_repeat > 0 {
                        let needed = v.garp_repeat as usize * v.vips;
                        let have = before.unwrap_or(w.hosts[i].garps);
                        w.hosts[i]
                            .garp_due
                            .push((t + 0.001, instance.clone(), have + needed));
                    }
                }
                w.record(TraceLine {
                    from: Some(state_word(*from).into()),
                    to: Some(state_word(*to).into()),
                    reason: Some(reason.clone()),
                    ..line(
                        Kind::State,
                        instance,
                        format!("{instance} {from:?} -> {to:?} ({reason})"),
                    )
                });
            }
            Output::PriorityChange {
                instance,
                effective,
            } => {
                if let Some(v) = w.hosts[i].inst.get_mut(instance) {
                    v.priority = *effective;
                }
                w.record(line(
                    Kind::Priority,
                    instance,
                    format!("{instance} priority {effective}"),
                ));
            }
            Output::Add {
                instance,
                what: Owned::Address { addr, .. },
            } => {
                let garps = w.hosts[i].garps;
                if let Some(v) = w.hosts[i].inst.get_mut(instance) {
                    if v.state != State::Master && v.garps_at_takeover.is_none() {
                        v.garps_at_takeover = Some(garps);
                    }
                }
                w.hosts[i].held.insert(addr.address.to_string());
                w.vip_held(&addr.address.to_string());
                w.record(line(
                    Kind::AddressAdd,
                    instance,
                    format!("+ {}", addr.address),
                ));
            }
            Output::Del {
                instance,
                what: Owned::Address { addr, .. },
            } => {
                w.hosts[i].held.remove(&addr.address.to_string());
                w.record(line(
                    Kind::AddressDel,
                    instance,
                    format!("- {}", addr.address),
                ));
            }
            Output::SendGratuitousArp { addr, .. } => {
                w.hosts[i].garps += 1;
                w.log_garp(i, format!("GARP {addr}"));
            }
            Output::SendNeighborAdvert { addr, .. } => {
                w.hosts[i].garps += 1;
                w.log_garp(i, format!("NA {addr}"));
            }
            Output::Notify { command, .. } => w.log(
                i,
                Kind::Notify,
                format!("notify {}", command.argv.join(" ")),
            ),
            _ => {}
        }
    }

    /// Sends an advert out of interface `k`: to the group for multicast, else to the
    /// host whose interface holds the destination.
    async fn transmit(
        &mut self,
        k: usize,
        family: Family,
        src: IpAddr,
        dst: IpAddr,
        ttl: u8,
        bytes: &[u8],
    ) {
        if !self.links[k] {
            return;
        }
        let (to, segment) = if dst.is_multicast() {
            (GROUP, self.ifaces[k].segment)
        } else {
            let w = self.world.borrow();
            let Some((h, seg)) = w.hosts.iter().enumerate().find_map(|(h, hs)| {
                hs.ifaces
                    .iter()
                    .find(|i| i.holds(dst))
                    .map(|i| (h, i.segment))
            }) else {
                return;
            };
            (turmoil_ipv4(h), seg)
        };
        let d = Envelope {
            family,
            sender: self.idx,
            segment,
            src,
            dst,
            ttl,
            bytes,
        }
        .emit();
        let _ = self.sock.send_to(&d, SocketAddr::from((to, PORT))).await;
    }
}

impl Platform for SimPlatform {
    fn now(&self) -> Instant {
        engine_now(self.clock(), self.start)
    }

    fn until(&self, t: Instant) -> Duration {
        engine_until(self.clock(), self.start, t)
    }

    async fn next_event(&mut self) -> Event {
        if self.stopping {
            return Event::Stop;
        }
        loop {
            let next_due = self.due.keys().next().map(|(t, _)| *t);
            tokio::select! {
                biased;
                c = self.control.recv() => {
                    return match c {
                        Some(Control::Pause(ms)) => Event::Pause(Duration::from_millis(ms)),
                        Some(Control::Link(name, up)) => {
                            let Some(k) = self.ifaces.iter().position(|i| i.name == name) else { continue };
                            self.links[k] = up;
                            // Its VMACs follow it, right after.
                            for v in self.vmacs[k].clone() {
                                let info = vmac_info(&self.ifaces[k], self.idx, k, &v, up);
                                self.later(Duration::ZERO, Event::Input(Input::Interface(info)));
                            }
                            Event::Input(Input::Interface(self.ifaces[k].info(self.idx, k, up)))
                        }
                        Some(Control::Reload(cfg)) => {
                            (self.xmit, self.rx_names) = wiring(&cfg, &self.ifaces);
                            self.groups = groups(&cfg, &self.ifaces);
                            let added: Vec<(usize, String)> = vmacs(&cfg, &self.ifaces)
                                .into_iter()
                                .enumerate()
                                .flat_map(|(k, vs)| vs.into_iter().map(move |v| (k, v)))
                                .filter(|(k, v)| !self.vmacs[*k].contains(v))
                                .collect();
                            // The VMACs a reload adds are created before it applies.
                            let reload = Event::Input(Input::Reload(Box::new((*cfg).clone())));
                            if added.is_empty() {
                                return reload;
                            }
                            for (k, v) in added {
                                let info = vmac_info(&self.ifaces[k], self.idx, k, &v, self.links[k]);
                                self.vmacs[k].push(v);
                                self.later(Duration::ZERO, Event::Input(Input::Interface(info)));
                            }
                            self.later(Duration::ZERO, reload);
                            continue;
                        }
                        Some(Control::Shutdown) => {
                            self.stopping = true;
                            Event::Input(Input::Shutdown)
                        }
                        // Only real-server hosts hang or refuse.
                        Some(Control::Hang(_) | Control::Refuse(_)) => continue,
                        None => Event::Stop,
                    };
                }
                Some((name, up)) = next_state(&mut self.bfd) => {
                    return Event::Input(Input::Bfd { name, up });
                }
                _ = async { tokio::time::sleep_until(next_due.unwrap_or_else(tokio::time::Instant::now)).await }, if next_due.is_some() => {
                    if let Some((_, ev)) = self.due.pop_first() {
                        return ev;
                    }
                }
                r = self.sock.recv_from(&mut self.buf) => {
                    let Ok((n, _)) = r else { continue };
                    self.receive(n);
                }
            }
        }
    }

    async fn execute(&mut self, out: Output) {
        self.record(&out);
        match out {
            Output::Transmit {
                instance,
                family,
                src,
                dst,
                ttl,
                bytes,
                ..
            } => {
                if let Some(&k) = self.xmit.get(&instance) {
                    self.transmit(k, family, src, dst, ttl, &bytes).await;
                }
            }
            Output::RunScript { script, .. } => {
                let ok = self.world.borrow().hosts[self.idx]
                    .scripts_ok
                    .get(&script)
                    .copied()
                    .unwrap_or(true);
                let status = if ok {
                    ScriptStatus::Exited(0)
                } else {
                    ScriptStatus::Exited(1)
                };
                self.later(
                    SCRIPT_RUN,
                    Event::Input(Input::ScriptExited { script, status }),
                );
            }
            _ => {}
        }
    }
}

/// One simulated keepalived-rs process: the engine on the daemon's driver loop, and the
/// checker engine beside it when the config has virtual servers.
pub async fn host_main(world: Rc<RefCell<World>>, idx: usize) -> turmoil::Result {
    let (tx, rx) = unbounded_channel();
    let (config, ifaces, links, seed) = {
        let mut w = world.borrow_mut();
        let seed = w.seed;
        let h = &mut w.hosts[idx];
        h.control = Some(tx);
        h.alive = true;
        h.restarts += 1;
        // One stream per run, host and start: the seed mixed once more for each.
        let mut r = Rng(seed);
        let seed = r.next() ^ Rng((idx as u64) << 32 | u64::from(h.restarts)).next();
        (h.config.clone(), h.ifaces.clone(), h.links.clone(), seed)
    };
    {
        let mut w = world.borrow_mut();
        w.hosts[idx].inst = crate::world::inst_views(&config, &ifaces);
        w.hosts[idx].held.clear();
    }
    // keepalived's BFD process tells the VRRP and checker processes of its sessions
    // through pipes; here, channels.
    let runs_bfd = !config.bfd_instances.is_empty();
    let runs_checker = !config.virtual_servers.is_empty();
    let (mut clients, mut vrrp_bfd, mut checker_bfd) = (Clients::default(), None, None);
    if runs_bfd {
        let (tx, rx) = unbounded_channel();
        (clients.vrrp, vrrp_bfd) = (Some(tx), Some(rx));
        if runs_checker {
            let (tx, rx) = unbounded_channel();
            (clients.checker, checker_bfd) = (Some(tx), Some(rx));
        }
    }
    if runs_checker {
        tokio::task::spawn_local(crate::checker::checker_side(
            world.clone(),
            idx,
            checker_bfd,
        ));
    }
    if runs_bfd {
        tokio::task::spawn_local(bfd_side(world.clone(), idx, clients));
    }
    let sock = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, PORT)).await?;
    sock.join_multicast_v4(GROUP, Ipv4Addr::UNSPECIFIED)?;
    sock.set_multicast_loop_v4(false)?;
    let (xmit, rx_names) = wiring(&config, &ifaces);
    let vmacs = vmacs(&config, &ifaces);
    let groups = groups(&config, &ifaces);
    let infos = infos(idx, &ifaces, &links, &vmacs);
    let mut p = SimPlatform {
        idx,
        world: world.clone(),
        sock,
        control: rx,
        start: tokio::time::Instant::now(),
        ifaces,
        links,
        xmit,
        rx_names,
        vmacs,
        groups,
        due: BTreeMap::new(),
        seq: 0,
        rng: Rng(seed),
        stopping: false,
        buf: vec![0u8; 65536],
        bfd: vrrp_bfd,
    };
    let mut engine = Engine::new((*config).clone(), p.now(), infos);
    driver::run(&mut engine, &mut p).await;
    world.borrow_mut().hosts[idx].alive = false;
    Ok(())
}
