//! Link state by polling instead of netlink events, for drivers whose carrier changes
//! never reach netlink (`linkbeat_use_polling`, `linkbeat_interfaces`; keepalived's
//! `if_linkbeat_refresh_thread()` in `vrrp_if.c`, once a second).

use std::collections::{BTreeMap, VecDeque};
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Duration;

use keepalived_engine::config::model::Config;
use keepalived_engine::vrrp::Input;
use tracing::info;

use keepalived_driver::vrrp::Event;

use super::network::Network;

/// keepalived's `POLLING_DELAY`.
pub const INTERVAL: Duration = Duration::from_secs(1);

/// How an interface's link is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `SIOCETHTOOL` / `ETHTOOL_GLINK`: the driver's link detection (also used for MII,
    /// which the ethtool call reports through the same driver hook).
    Ethtool,
    /// `SIOCGIFFLAGS`: IFF_UP and IFF_RUNNING.
    Ioctl,
}

/// The interfaces to poll and how: every instance's and tracked interface with the
/// root-level `linkbeat_use_polling`, an instance's own with its `linkbeat_use_polling`,
/// and each of `linkbeat_interfaces` with its method (keepalived's default is ETHTOOL).
pub fn polled(config: &Config) -> BTreeMap<String, Method> {
    let mut out = BTreeMap::new();
    for vi in &config.instances {
        if config.root.linkbeat_use_polling || vi.linkbeat_use_polling {
            let tracked = vi.trackers.interfaces.iter().map(|t| t.name.as_str());
            for name in vi.interface.as_deref().into_iter().chain(tracked) {
                out.insert(name.to_string(), Method::Ethtool);
            }
        }
    }
    for l in &config.linkbeat_interfaces {
        let m = match l.method.as_deref() {
            Some(m) if m.eq_ignore_ascii_case("IOCTL") => Method::Ioctl,
            _ => Method::Ethtool,
        };
        out.insert(l.interface.clone(), m);
    }
    out
}

/// The interfaces whose link is polled rather than taken from netlink events, and the
/// changes polling found that the loop has not handed out yet.
pub(crate) struct PolledLinks {
    methods: BTreeMap<String, Method>,
    sock: Option<OwnedFd>,
    tick: tokio::time::Interval,
    /// Events to hand the loop before any new one.
    pending: VecDeque<Event>,
}

impl PolledLinks {
    /// The interfaces `config` polls; call inside the runtime (the tick is tokio's).
    pub(crate) fn new(config: &Config) -> PolledLinks {
        PolledLinks {
            methods: polled(config),
            sock: socket().ok(),
            tick: {
                let mut t = tokio::time::interval(INTERVAL);
                t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                t
            },
            pending: VecDeque::new(),
        }
    }

    /// A reload: the interfaces the new configuration polls.
    pub(crate) fn reload(&mut self, config: &Config) {
        self.methods = polled(config);
    }

    /// Whether `name`'s link comes from polling alone.
    pub(crate) fn polls(&self, name: &str) -> bool {
        self.methods.contains_key(name)
    }

    /// How `name`'s link is polled, `None` for netlink events.
    pub(crate) fn method(&self, name: &str) -> Option<Method> {
        self.methods.get(name).copied()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.methods.is_empty()
    }

    /// The next poll is due. Cancel-safe.
    pub(crate) async fn tick(&mut self) {
        self.tick.tick().await;
    }

    /// A change found by an earlier poll and not yet handed out.
    pub(crate) fn pending(&mut self) -> Option<Event> {
        self.pending.pop_front()
    }

    /// Reads each polled interface's link; the changes become interface events.
    pub(crate) fn poll(&mut self, network: &mut Network) -> Option<Event> {
        let sock = self.sock.as_ref()?;
        for (name, method) in &self.methods {
            let Some(up) = link_up(sock, name, *method) else {
                continue;
            };
            if let Some(info) = network.link_polled(name, up) {
                info!(interface = %name, "link {} (polled)", if up { "up" } else { "down" });
                self.pending.push_back(Event::Input(Input::Interface(info)));
            }
        }
        self.pending.pop_front()
    }
}

/// A datagram socket for the interface ioctls.
pub fn socket() -> std::io::Result<OwnedFd> {
    let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::DGRAM, None)?;
    Ok(s.into())
}

#[repr(C)]
struct IfreqFlags {
    name: [libc::c_char; libc::IFNAMSIZ],
    flags: libc::c_short,
    _pad: [u8; 22],
}

#[repr(C)]
struct IfreqData {
    name: [libc::c_char; libc::IFNAMSIZ],
    data: *mut libc::c_void,
    _pad: [u8; 16],
}

#[repr(C)]
struct EthtoolValue {
    cmd: u32,
    data: u32,
}

const SIOCETHTOOL: libc::c_ulong = 0x8946;
const ETHTOOL_GLINK: u32 = 0x0000000a;

fn ifname(name: &str) -> Option<[libc::c_char; libc::IFNAMSIZ]> {
    let mut out = [0 as libc::c_char; libc::IFNAMSIZ];
    if name.is_empty() || name.len() >= libc::IFNAMSIZ {
        return None;
    }
    for (o, b) in out.iter_mut().zip(name.bytes()) {
        *o = b as libc::c_char;
    }
    Some(out)
}

/// Whether `name`'s link is up now, by `method`; `None` if the interface is gone.
/// ETHTOOL falls back to the interface flags where the driver has no link detection.
pub fn link_up(sock: &OwnedFd, name: &str, method: Method) -> Option<bool> {
    let flags = {
        let mut req = IfreqFlags {
            name: ifname(name)?,
            flags: 0,
            _pad: [0; 22],
        };
        // SAFETY: a valid ifreq for SIOCGIFFLAGS on our socket.
        if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req) } != 0 {
            return None;
        }
        req.flags as libc::c_int
    };
    let admin_up = flags & libc::IFF_UP != 0;
    let running = flags & libc::IFF_RUNNING != 0;
    if method == Method::Ioctl {
        return Some(admin_up && running);
    }
    let mut value = EthtoolValue {
        cmd: ETHTOOL_GLINK,
        data: 0,
    };
    let mut req = IfreqData {
        name: ifname(name)?,
        data: (&mut value as *mut EthtoolValue).cast(),
        _pad: [0; 16],
    };
    // SAFETY: a valid ifreq pointing at a live ethtool_value for the whole call.
    let r = unsafe { libc::ioctl(sock.as_raw_fd(), SIOCETHTOOL, &mut req) };
    if r != 0 {
        return Some(admin_up && running);
    }
    Some(admin_up && value.data != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_reads_up_and_unknown_names_read_none() {
        let s = socket().unwrap();
        assert_eq!(link_up(&s, "lo", Method::Ioctl), Some(true));
        assert!(link_up(&s, "lo", Method::Ethtool).is_some());
        assert_eq!(link_up(&s, "no-such-if0", Method::Ioctl), None);
        assert_eq!(
            link_up(&s, "a-name-far-too-long-for-linux", Method::Ethtool),
            None
        );
    }
}
