//! A simulated host as every part of the simulator names it: its interfaces (each on a
//! segment, with the addresses the configs see), where turmoil delivers to it, and what
//! the runner tells it (faults, reloads, shutdown).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use std::time::Duration;

use keepalived_engine::config::model::Config;
use keepalived_engine::time::Instant;
use keepalived_engine::vrrp::InterfaceInfo;

/// What the runner tells a host.
#[derive(Debug, Clone)]
pub enum Control {
    Pause(u64),
    /// The named interface's carrier goes up (true) or down (false).
    Link(String, bool),
    Reload(Arc<Config>),
    Shutdown,
    /// A real-server host stops (true) or resumes (false) accepting connections.
    Hang(bool),
    /// A real-server host's service stops (true: its listeners close, so connects are
    /// refused at once) or starts again (false).
    Refuse(bool),
}

/// One interface of a host: the name its config uses, the segment it is plugged into,
/// and its addresses.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Iface {
    pub name: String,
    /// Index into the scenario's segments.
    pub segment: usize,
    pub ipv4: Ipv4Addr,
    pub ipv6: Ipv6Addr,
}

impl Iface {
    pub fn holds(&self, a: IpAddr) -> bool {
        a == IpAddr::V4(self.ipv4) || a == IpAddr::V6(self.ipv6)
    }

    /// What the engine is told of it: host `host`'s interface number `k`.
    pub fn info(&self, host: usize, k: usize, up: bool) -> InterfaceInfo {
        InterfaceInfo {
            name: self.name.clone(),
            up,
            mac: [
                0x02,
                k as u8,
                0,
                (host >> 16) as u8,
                (host >> 8) as u8,
                host as u8,
            ],
            ipv4: Some(self.ipv4),
            ipv6_ll: Some(self.ipv6),
            ipv6_forwarding: false,
        }
    }
}

/// The index in `ifaces` of the interface instance `vi` runs on.
pub fn iface_of(
    ifaces: &[Iface],
    vi: &keepalived_engine::config::model::VrrpInstance,
) -> Option<usize> {
    let name = vi.interface.as_deref()?;
    ifaces.iter().position(|i| i.name == name)
}

/// Where turmoil delivers to host `i`: 192.168.0.(i+1), as it assigns addresses in the
/// order hosts are added. Only the simulator's transport uses it; the configs see each
/// interface's own addresses.
pub fn turmoil_ipv4(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(192, 168, (i / 250) as u8, (i % 250 + 1) as u8)
}

/// The address host `i` gets on segment `segment` unless the scenario or its config says
/// otherwise: 192.168.<segment>.<i+1>, so that hosts on the first segment have
/// 192.168.0.1, .2, … in order.
pub fn default_ipv4(segment: usize, i: usize) -> Ipv4Addr {
    Ipv4Addr::new(192, 168, segment as u8, (i % 250 + 1) as u8)
}

/// Host `i`'s link-local IPv6 address on segment `segment`: fe80::<segment>:<i+1>.
pub fn default_ipv6(segment: usize, i: usize) -> Ipv6Addr {
    Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, segment as u16, (i + 1) as u16)
}

/// A host's engine clock, for every process on it: microseconds since `start` moved by
/// the scenario's `clock` fault (`offset_ms` added, `drift_ppm` scaling the rate).
pub fn engine_now(clock: (i64, i64), start: tokio::time::Instant) -> Instant {
    let (offset_ms, drift_ppm) = clock;
    let el = start.elapsed().as_micros() as i128;
    let us = offset_ms as i128 * 1000 + el + el * drift_ppm as i128 / 1_000_000;
    Instant::from_micros(us.max(0) as u64)
}

/// How long in simulated time until the host's engine clock (see [`engine_now`]) shows
/// `t` (zero if it has passed).
pub fn engine_until(clock: (i64, i64), start: tokio::time::Instant, t: Instant) -> Duration {
    let (offset_ms, drift_ppm) = clock;
    let engine_el = t.as_micros() as i128 - offset_ms as i128 * 1000;
    let real_el = engine_el * 1_000_000 / (1_000_000 + drift_ppm as i128);
    let now = start.elapsed().as_micros() as i128;
    Duration::from_micros((real_el - now).max(0) as u64)
}
