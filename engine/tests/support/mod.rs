//! A perfect in-memory Ethernet segment for stepping several VRRP engines against each
//! other: every transmit reaches every other live host at once (multicast) or the host
//! that owns the destination (unicast). The timeline it records is what tests snapshot.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use keepalived_engine::config::{parse_str, ParseOptions};
use keepalived_engine::time::Instant;
use keepalived_engine::vrrp::{Engine, Input, InterfaceInfo, Output, Owned, State};
use keepalived_engine::wire::Family;

pub const IFACE: &str = "eth0";

pub fn iface(n: u8, up: bool) -> InterfaceInfo {
    InterfaceInfo {
        name: IFACE.into(),
        up,
        mac: [2, 0, 0, 0, 0, n],
        ipv4: Some(Ipv4Addr::new(192, 168, 0, n)),
        ipv6_ll: Some(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, u16::from(n))),
        ipv6_forwarding: false,
    }
}

pub fn engine(conf: &str, n: u8, now: Instant) -> Engine {
    let loaded = parse_str(conf, &ParseOptions::default());
    assert!(
        loaded.diagnostics.iter().all(|d| !d.counts_as_error()),
        "config errors: {:?}",
        loaded
            .diagnostics
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
    );
    Engine::new(loaded.config, now, vec![iface(n, true)])
}

pub struct Host {
    pub name: String,
    pub n: u8,
    pub conf: String,
    pub engine: Engine,
    pub alive: bool,
    /// Addresses this host holds now, by text.
    pub held: BTreeSet<String>,
    pub garps: usize,
    pub sent: usize,
}

#[derive(Default)]
pub struct Cluster {
    pub hosts: Vec<Host>,
    pub now: Instant,
    pub timeline: Vec<String>,
    /// Pairs of hosts (by index) that cannot hear each other.
    pub cut: BTreeSet<(usize, usize)>,
    /// Record every transmit in the timeline, not only state changes.
    pub verbose: bool,
    /// Outputs seen, for assertions.
    pub outputs: Vec<(String, Instant, Output)>,
}

impl Cluster {
    /// Hosts r1, r2, … at 192.168.0.1, .2, …, each with its own config.
    pub fn new(confs: &[&str]) -> Cluster {
        let mut c = Cluster::default();
        for (i, conf) in confs.iter().enumerate() {
            let n = i as u8 + 1;
            c.hosts.push(Host {
                name: format!("r{n}"),
                n,
                conf: conf.to_string(),
                engine: engine(conf, n, Instant::ZERO),
                alive: true,
                held: BTreeSet::new(),
                garps: 0,
                sent: 0,
            });
        }
        c.pump();
        c
    }

    fn hears(&self, a: usize, b: usize) -> bool {
        self.hosts[b].alive && !self.cut.contains(&(a.min(b), a.max(b)))
    }

    /// Drains every host's outputs, delivering packets until the segment is quiet; fails
    /// the test if it never is (engines answering each other at one instant forever).
    pub fn pump(&mut self) {
        let mut queue: VecDeque<(usize, Output)> = VecDeque::new();
        for _ in 0..1_000_000 {
            for (i, h) in self.hosts.iter_mut().enumerate() {
                while let Some(o) = h.engine.poll_output() {
                    if h.alive {
                        queue.push_back((i, o));
                    }
                }
            }
            let Some((i, o)) = queue.pop_front() else {
                return;
            };
            self.record(i, &o);
            if let Output::Transmit {
                interface,
                family,
                src,
                dst,
                ttl,
                bytes,
                ..
            } = o
            {
                for j in 0..self.hosts.len() {
                    if j == i || !self.hears(i, j) {
                        continue;
                    }
                    let to_me = dst.is_multicast() || own_addr(self.hosts[j].n, &dst);
                    if to_me {
                        let input = Input::Packet {
                            interface: interface.clone(),
                            family,
                            src,
                            dst,
                            hop_limit: Some(ttl),
                            bytes: bytes.clone(),
                        };
                        self.hosts[j].engine.handle_input(self.now, input);
                    }
                }
            }
        }
        panic!(
            "the engines never fall quiet: a million outputs at {}",
            self.now
        );
    }

    fn record(&mut self, i: usize, o: &Output) {
        let now = self.now;
        let h = &mut self.hosts[i];
        let line = match o {
            Output::StateChange {
                instance,
                from,
                to,
                reason,
                ..
            } => Some(format!(
                "{now} {} {instance} {from:?} -> {to:?} ({reason})",
                h.name
            )),
            Output::Add {
                what: Owned::Address { addr, .. },
                ..
            } => {
                h.held.insert(addr.address.to_string());
                Some(format!("{now} {} + {}", h.name, addr.address))
            }
            Output::Del {
                what: Owned::Address { addr, .. },
                ..
            } => {
                h.held.remove(&addr.address.to_string());
                Some(format!("{now} {} - {}", h.name, addr.address))
            }
            Output::SendGratuitousArp { .. } | Output::SendNeighborAdvert { .. } => {
                h.garps += 1;
                None
            }
            Output::Transmit { dst, bytes, .. } => {
                h.sent += 1;
                self.verbose.then(|| {
                    format!(
                        "{now} {} advert prio {} -> {dst}",
                        h.name,
                        advert_priority(bytes)
                    )
                })
            }
            Output::Notify { command, .. } => Some(format!(
                "{now} {} notify {}",
                h.name,
                command.argv.join(" ")
            )),
            _ => None,
        };
        self.outputs
            .push((self.hosts[i].name.clone(), now, o.clone()));
        if let Some(l) = line {
            self.timeline.push(l);
        }
    }

    /// Steps every live engine through its timers until `until`. An engine whose timer
    /// stays at one instant call after call is stuck (it would spin the daemon's loop):
    /// the test fails rather than hangs.
    pub fn run_until(&mut self, until: Instant) {
        // Calls in a row at one instant.
        let mut stuck = 0;
        loop {
            let next = self
                .hosts
                .iter()
                .filter(|h| h.alive)
                .filter_map(|h| h.engine.poll_timeout())
                .min();
            match next {
                Some(t) if t <= until => {
                    stuck = if t <= self.now { stuck + 1 } else { 0 };
                    // An engine may leave work for its next call (one takeover a call on
                    // each interface), never this much.
                    assert!(stuck < 10_000, "the engines' timers stay at {t}");
                    self.now = self.now.max(t);
                    let now = self.now;
                    for h in self.hosts.iter_mut().filter(|h| h.alive) {
                        if h.engine.poll_timeout().is_some_and(|t| t <= now) {
                            h.engine.handle_timeout(now);
                        }
                    }
                    self.pump();
                }
                _ => break,
            }
        }
        self.now = self.now.max(until);
    }

    pub fn run_for_secs(&mut self, s: f64) {
        let until = Instant::from_micros(self.now.as_micros() + (s * 1e6) as u64);
        self.run_until(until);
    }

    pub fn input(&mut self, host: usize, input: Input) {
        let now = self.now;
        self.hosts[host].engine.handle_input(now, input);
        self.pump();
    }

    /// Power off: no shutdown, no priority 0, the addresses vanish with the host.
    pub fn crash(&mut self, host: usize) {
        self.timeline
            .push(format!("{} {} CRASH", self.now, self.hosts[host].name));
        self.hosts[host].alive = false;
        self.hosts[host].held.clear();
    }

    pub fn restart(&mut self, host: usize) {
        let h = &mut self.hosts[host];
        self.timeline
            .push(format!("{} {} RESTART", self.now, h.name));
        h.engine = engine(&h.conf, h.n, self.now);
        h.alive = true;
        self.pump();
    }

    pub fn state(&self, host: usize, instance: &str) -> State {
        self.hosts[host]
            .engine
            .instance(instance)
            .expect("instance")
            .state
    }

    /// Which live hosts are MASTER of `instance`.
    pub fn masters(&self, instance: &str) -> Vec<String> {
        self.hosts
            .iter()
            .filter(|h| {
                h.alive
                    && h.engine
                        .instance(instance)
                        .is_some_and(|i| i.state == State::Master)
            })
            .map(|h| h.name.clone())
            .collect()
    }

    pub fn snapshot(&self) -> String {
        self.timeline.join("\n")
    }
}

fn own_addr(n: u8, dst: &IpAddr) -> bool {
    match dst {
        IpAddr::V4(a) => *a == Ipv4Addr::new(192, 168, 0, n),
        IpAddr::V6(a) => *a == Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, u16::from(n)),
    }
}

/// The priority byte of an advert we emitted (IPv4 with a 20-byte header, or IPv6).
pub fn advert_priority(bytes: &[u8]) -> u8 {
    if bytes.first().is_some_and(|b| b >> 4 == 4) {
        let at = usize::from(bytes[0] & 0x0f) * 4 + if bytes[9] == 51 { 24 } else { 0 };
        bytes.get(at + 2).copied().unwrap_or(0)
    } else {
        bytes.get(2).copied().unwrap_or(0)
    }
}

/// One instance block on eth0 with the given extra lines.
pub fn conf(vrid: u8, prio: u8, extra: &str) -> String {
    format!(
        "vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id {vrid}\n priority {prio}\n advert_int 1\n \
         virtual_ipaddress {{\n  10.0.0.100/24\n }}\n {extra}\n}}\n"
    )
}

pub fn secs(s: f64) -> Instant {
    Instant::from_secs_f64(s)
}

pub fn family_v4() -> Family {
    Family::V4
}

pub fn held_by(c: &Cluster, addr: &str) -> Vec<String> {
    c.hosts
        .iter()
        .filter(|h| h.held.contains(addr))
        .map(|h| h.name.clone())
        .collect()
}

pub type Notes = BTreeMap<String, usize>;

/// An IPv4 multicast advert from 192.168.0.`n` for 10.0.0.100, as an engine input.
pub fn advert_input(n: u8, vrid: u8, prio: u8, version: u8, interval_cs: u16) -> Input {
    use keepalived_engine::wire::{
        AdvertRepr, AuthType, EmitOptions, VipList, VrrpBody, VrrpRepr, MCAST_GROUP4,
    };
    let body = if version == 2 {
        VrrpBody::V2 {
            auth_type: AuthType::None,
            adver_int_secs: (interval_cs / 100) as u8,
            auth_data: [0; 8],
        }
    } else {
        VrrpBody::V3 {
            max_adver_int_cs: interval_cs,
        }
    };
    let a = AdvertRepr {
        src: IpAddr::V4(Ipv4Addr::new(192, 168, 0, n)),
        dst: IpAddr::V4(MCAST_GROUP4),
        ttl: 255,
        tos: 0xc0,
        ident: 1,
        ah: None,
        vrrp: VrrpRepr {
            vrid,
            priority: prio,
            body,
            vips: VipList::V4(vec![Ipv4Addr::new(10, 0, 0, 100)]),
        },
    };
    let mut bytes = vec![0; a.buffer_len()];
    a.emit(&mut bytes, &EmitOptions::default());
    Input::Packet {
        interface: IFACE.into(),
        family: Family::V4,
        src: a.src,
        dst: a.dst,
        hop_limit: Some(255),
        bytes,
    }
}

/// The outputs of `host` so far matching `f`.
pub fn outputs_of<'a>(c: &'a Cluster, host: &str) -> impl Iterator<Item = &'a Output> + 'a {
    let host = host.to_string();
    c.outputs
        .iter()
        .filter(move |(h, _, _)| *h == host)
        .map(|(_, _, o)| o)
}
