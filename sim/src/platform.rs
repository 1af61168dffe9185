//! The simulated world a host runs in: VRRP packets travel as UDP datagrams (turmoil
//! carries UDP, not raw IP) to the VRRP group or a peer, addresses are recorded, scripts
//! exit as the scenario says, and the runner's faults arrive on a control channel. The
//! event loop is the daemon's own (`keepalived_driver::vrrp`).

use std::cell::RefCell;
use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::rc::Rc;
use std::time::Duration;

use keepalived_driver::vrrp::{self as driver, Event, Platform};
use keepalived_engine::config::{parse_str, ParseOptions};
use keepalived_engine::time::Instant;
use keepalived_engine::vrrp::{Engine, Input, Output, Owned, ScriptStatus, State};
use keepalived_engine::wire::Family;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};
use turmoil::net::UdpSocket;

use crate::host::{host_ipv4, host_ipv6, interface, Control, IFACE};
use crate::world::World;

/// The UDP port VRRP rides on in the simulation.
pub const PORT: u16 = 112;
/// Every multicast advert goes to this group, whatever the engine's group address.
pub const GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// How long a simulated track script runs.
const SCRIPT_RUN: Duration = Duration::from_millis(10);

/// The datagram on the simulated wire: family, source, destination and TTL (which a raw
/// socket reads from the IP header or ancillary data), then the engine's bytes.
fn envelope(family: Family, src: IpAddr, dst: IpAddr, ttl: u8, bytes: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(34 + bytes.len());
    v.push(matches!(family, Family::V6) as u8);
    for a in [src, dst] {
        match a {
            IpAddr::V4(a) => v.extend_from_slice(&a.to_ipv6_mapped().octets()),
            IpAddr::V6(a) => v.extend_from_slice(&a.octets()),
        }
    }
    v.push(ttl);
    v.extend_from_slice(bytes);
    v
}

fn open_envelope(d: &[u8]) -> Option<Input> {
    if d.len() < 34 {
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
    Some(Input::Packet {
        interface: IFACE.into(),
        family,
        src: addr(1),
        dst: addr(17),
        hop_limit: Some(d[33]),
        bytes: d[34..].to_vec(),
    })
}

struct SimPlatform {
    idx: usize,
    world: Rc<RefCell<World>>,
    sock: UdpSocket,
    control: UnboundedReceiver<Control>,
    start: tokio::time::Instant,
    /// Script completions due: (when, input).
    scripts: VecDeque<(tokio::time::Instant, Input)>,
    link_up: bool,
    /// A shutdown was handed to the engine: the next event ends the loop.
    stopping: bool,
    buf: Vec<u8>,
}

impl SimPlatform {
    fn clock(&self) -> (i64, i64) {
        self.world.borrow().hosts[self.idx].clock
    }

    fn sim_now(&self) -> f64 {
        turmoil::sim_elapsed().unwrap_or_default().as_secs_f64()
    }

    /// Where a unicast engine address lives on the simulated network.
    fn turmoil_addr(&self, dst: IpAddr) -> Option<Ipv4Addr> {
        let n = self.world.borrow().hosts.len();
        (0..n)
            .find(|&i| dst == IpAddr::V4(host_ipv4(i)) || dst == IpAddr::V6(host_ipv6(i)))
            .map(host_ipv4)
    }

    fn record(&mut self, out: &Output) {
        let t = self.sim_now();
        let mut w = self.world.borrow_mut();
        w.now = t;
        let i = self.idx;
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
                w.log(i, format!("{instance} {from:?} -> {to:?} ({reason})"));
            }
            Output::PriorityChange {
                instance,
                effective,
            } => {
                if let Some(v) = w.hosts[i].inst.get_mut(instance) {
                    v.priority = *effective;
                }
                w.log(i, format!("{instance} priority {effective}"));
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
                w.log(i, format!("+ {}", addr.address));
            }
            Output::Del {
                what: Owned::Address { addr, .. },
                ..
            } => {
                w.hosts[i].held.remove(&addr.address.to_string());
                w.log(i, format!("- {}", addr.address));
            }
            Output::SendGratuitousArp { addr, .. } => {
                w.hosts[i].garps += 1;
                w.log_garp(i, format!("GARP {addr}"));
            }
            Output::SendNeighborAdvert { addr, .. } => {
                w.hosts[i].garps += 1;
                w.log_garp(i, format!("NA {addr}"));
            }
            Output::Notify { command, .. } => {
                w.log(i, format!("notify {}", command.argv.join(" ")))
            }
            _ => {}
        }
    }
}

impl Platform for SimPlatform {
    fn now(&self) -> Instant {
        let (offset_ms, drift_ppm) = self.clock();
        let el = self.start.elapsed().as_micros() as i128;
        let us = offset_ms as i128 * 1000 + el + el * drift_ppm as i128 / 1_000_000;
        Instant::from_micros(us.max(0) as u64)
    }

    fn until(&self, t: Instant) -> Duration {
        let (offset_ms, drift_ppm) = self.clock();
        let engine_el = t.as_micros() as i128 - offset_ms as i128 * 1000;
        let real_el = engine_el * 1_000_000 / (1_000_000 + drift_ppm as i128);
        let now = self.start.elapsed().as_micros() as i128;
        Duration::from_micros((real_el - now).max(0) as u64)
    }

    async fn next_event(&mut self) -> Event {
        if self.stopping {
            return Event::Stop;
        }
        loop {
            let script_due = self.scripts.front().map(|(t, _)| *t);
            tokio::select! {
                biased;
                c = self.control.recv() => {
                    return match c {
                        Some(Control::Pause(ms)) => Event::Pause(Duration::from_millis(ms)),
                        Some(Control::Link(up)) => {
                            self.link_up = up;
                            Event::Input(Input::Interface(interface(self.idx, up)))
                        }
                        Some(Control::Reload(text)) => {
                            let name = self.world.borrow().hosts[self.idx].name.clone();
                            let cfg = parse_str(&text, &ParseOptions::default().with_config_id(name)).config;
                            Event::Input(Input::Reload(Box::new(cfg)))
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
                _ = async { tokio::time::sleep_until(script_due.unwrap_or_else(tokio::time::Instant::now)).await }, if script_due.is_some() => {
                    if let Some((_, input)) = self.scripts.pop_front() {
                        return Event::Input(input);
                    }
                }
                r = self.sock.recv_from(&mut self.buf) => {
                    let Ok((n, _)) = r else { continue };
                    if !self.link_up {
                        continue;
                    }
                    if let Some(input) = open_envelope(&self.buf[..n]) {
                        return Event::Input(input);
                    }
                }
            }
        }
    }

    async fn execute(&mut self, out: Output) {
        self.record(&out);
        match out {
            Output::Transmit {
                family,
                src,
                dst,
                ttl,
                bytes,
                ..
            } => {
                if !self.link_up {
                    return;
                }
                let target = if dst.is_multicast() {
                    Some(GROUP)
                } else {
                    self.turmoil_addr(dst)
                };
                if let Some(to) = target {
                    let d = envelope(family, src, dst, ttl, &bytes);
                    let _ = self.sock.send_to(&d, SocketAddr::from((to, PORT))).await;
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
                self.scripts.push_back((
                    tokio::time::Instant::now() + SCRIPT_RUN,
                    Input::ScriptExited { script, status },
                ));
            }
            _ => {}
        }
    }
}

/// One simulated keepalived-rs process: the engine on the daemon's driver loop.
pub async fn host_main(world: Rc<RefCell<World>>, idx: usize) -> turmoil::Result {
    let (tx, rx) = unbounded_channel();
    let text = {
        let mut w = world.borrow_mut();
        let h = &mut w.hosts[idx];
        h.control = Some(tx);
        h.alive = true;
        h.config_text.clone()
    };
    let name = world.borrow().hosts[idx].name.clone();
    let config = parse_str(&text, &ParseOptions::default().with_config_id(name)).config;
    {
        let mut w = world.borrow_mut();
        w.hosts[idx].inst = crate::world::inst_views(&config);
        w.hosts[idx].held.clear();
    }
    let sock = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, PORT)).await?;
    sock.join_multicast_v4(GROUP, Ipv4Addr::UNSPECIFIED)?;
    sock.set_multicast_loop_v4(false)?;
    let link_up = world.borrow().hosts[idx].link_up;
    let mut p = SimPlatform {
        idx,
        world: world.clone(),
        sock,
        control: rx,
        start: tokio::time::Instant::now(),
        scripts: VecDeque::new(),
        link_up,
        stopping: false,
        buf: vec![0u8; 65536],
    };
    let mut engine = Engine::new(config, p.now(), vec![interface(idx, link_up)]);
    driver::run(&mut engine, &mut p).await;
    world.borrow_mut().hosts[idx].alive = false;
    Ok(())
}
