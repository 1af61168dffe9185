//! A simulated host as every part of the simulator names it: its addresses, its one
//! interface, and what the runner tells it (faults, reloads, shutdown).

use std::net::{Ipv4Addr, Ipv6Addr};

use keepalived_engine::vrrp::InterfaceInfo;

/// The one interface of every simulated host.
pub const IFACE: &str = "eth0";

/// What the runner tells a host.
#[derive(Debug, Clone)]
pub enum Control {
    Pause(u64),
    Link(bool),
    Reload(String),
    Shutdown,
    /// A real-server host stops (true) or resumes (false) accepting connections.
    Hang(bool),
    /// A real-server host's service stops (true: its listeners close, so connects are
    /// refused at once) or starts again (false).
    Refuse(bool),
}

/// The engine address of host `i`: 192.168.0.(i+1), as turmoil assigns them in order.
pub fn host_ipv4(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(192, 168, (i / 250) as u8, (i % 250 + 1) as u8)
}

pub fn host_ipv6(i: usize) -> Ipv6Addr {
    Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, (i + 1) as u16)
}

pub fn interface(i: usize, up: bool) -> InterfaceInfo {
    InterfaceInfo {
        name: IFACE.into(),
        up,
        mac: [0x02, 0, 0, 0, (i >> 8) as u8, (i & 0xff) as u8],
        ipv4: Some(host_ipv4(i)),
        ipv6_ll: Some(host_ipv6(i)),
        ipv6_forwarding: false,
    }
}
