//! What goes into the VRRP engine and what comes out. Every type is serde so a production
//! run can be recorded and replayed, and a simulated timeline snapshotted.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::config::model::{Command, Config, IpAddress, Route, Rule};
use crate::time::Instant;
use crate::wire::Family;

use super::receive::Reason;

/// VRRP states (RFC 5798 §6.4), plus FAULT and STOP as keepalived has them.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum State {
    Init,
    Backup,
    Master,
    Fault,
    Stop,
}

impl State {
    /// The word keepalived's notify scripts and FIFO use.
    pub fn notify_word(self) -> &'static str {
        match self {
            State::Init => "{UNKNOWN}",
            State::Backup => "BACKUP",
            State::Master => "MASTER",
            State::Fault => "FAULT",
            State::Stop => "STOP",
        }
    }
}

/// What the engine knows of an interface: the driver reports it at start and on change.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct InterfaceInfo {
    pub name: String,
    /// IFF_UP and IFF_RUNNING (`FLAGS_UP`, `vrrp_if.h`).
    pub up: bool,
    pub mac: [u8; 6],
    /// Primary IPv4 address: the advert source unless `unicast_src_ip` says otherwise.
    pub ipv4: Option<Ipv4Addr>,
    /// Link-local IPv6 address: the IPv6 advert source.
    pub ipv6_ll: Option<Ipv6Addr>,
    /// IPv6 forwarding on: sets the Router flag of neighbour advertisements.
    pub ipv6_forwarding: bool,
}

/// What the host's trackers read before the instances start, so that their first
/// states and priorities count it, as keepalived reads every tracker before its instances
/// leave INIT (`init_track_files()`, `init_track_processes()`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrackedAtStart {
    /// Each `track_file`'s value by name; a file not given starts at its `init_file`
    /// value, or 0.
    pub files: BTreeMap<String, i64>,
    /// Each `vrrp_track_process`'s count by name; a tracker not given counts none.
    pub processes: BTreeMap<String, u32>,
    /// The `track_src_ip` addresses missing from their interface, with the interface.
    pub missing_sources: BTreeSet<(String, IpAddr)>,
}

/// How a script run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ScriptStatus {
    Exited(i32),
    Signaled(i32),
    /// Killed after its timeout: a failure (`vrrp_script_child_timeout_thread()`).
    TimedOut,
}

impl ScriptStatus {
    pub fn success(self) -> bool {
        self == ScriptStatus::Exited(0)
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Input {
    /// A received VRRP packet: for IPv4 the datagram from the IP header on, for IPv6 the
    /// payload with the addresses and hop limit from the ancillary data.
    Packet {
        interface: String,
        family: Family,
        src: IpAddr,
        dst: IpAddr,
        hop_limit: Option<u8>,
        bytes: Vec<u8>,
    },
    Interface(InterfaceInfo),
    ScriptExited {
        script: String,
        status: ScriptStatus,
    },
    /// A tracked file's value (`track_file`): the number the file holds, 0 if unreadable.
    TrackFile {
        name: String,
        value: i64,
    },
    /// How many processes match a `vrrp_track_process`.
    ProcessCount {
        name: String,
        count: u32,
    },
    /// A `bfd_instance`'s session went Up (`up`) or Down, as the BFD process reports
    /// it (`bfd_event_t`, read by `vrrp_bfd_thread()`). The instances that `track_bfd`
    /// it follow (`vrrp_handle_bfd_event()`); a name nothing tracks, or the state it
    /// already has, changes nothing.
    Bfd {
        name: String,
        up: bool,
    },
    /// Whether an instance's `track_src_ip` address is on its interface: the driver says
    /// so for each at start ([`TrackedAtStart`]), on reload and when it comes or goes.
    SourceAddress {
        interface: String,
        addr: IpAddr,
        present: bool,
    },
    /// Something an instance put on the host (an address, route or rule) was removed by
    /// someone else while the instance held it.
    OwnedRemoved {
        instance: String,
        what: Owned,
    },
    /// SIGHUP with the new configuration.
    Reload(Box<Config>),
    /// SIGTERM: masters send priority 0 and release their addresses.
    Shutdown,
}

/// Which notify a [`Output::Notify`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum NotifyKind {
    Master,
    Backup,
    Fault,
    Stop,
    Deleted,
    /// The generic `notify` script, with the four arguments appended.
    Generic,
    MasterRxLowerPri,
}

/// An address, route or rule the engine wants added or removed, and for whom.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Owned {
    Address {
        addr: IpAddress,
        /// The interface to put it on (`dev`, or the instance's interface).
        interface: String,
        /// Not in the advert (`virtual_ipaddress_excluded`).
        excluded: bool,
        /// Traffic to it must be dropped: not accept mode (`vrrp_strict` / `no_accept`).
        no_accept: bool,
    },
    /// Boxed, as are rules: most instances hold addresses alone, and every queued
    /// [`Output::Add`] and [`Output::Del`] is as large as the largest kind.
    Route(Box<Route>),
    Rule(Box<Rule>),
}

impl From<Route> for Owned {
    fn from(r: Route) -> Owned {
        Owned::Route(Box::new(r))
    }
}

impl From<Rule> for Owned {
    fn from(r: Rule) -> Owned {
        Owned::Rule(Box::new(r))
    }
}

impl Owned {
    /// Whether the instance follows this item (not `no_track`): its removal by someone
    /// else then sends a master to BACKUP.
    pub fn tracked(&self) -> bool {
        match self {
            Owned::Address { addr, .. } => !addr.no_track,
            Owned::Route(r) => !r.no_track,
            Owned::Rule(r) => !r.no_track,
        }
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Output {
    /// Send `bytes` (from engine::wire) from `src` to `dst` out of `interface`; for IPv4
    /// the datagram includes the IP header (IP_HDRINCL), for IPv6 it is the payload.
    Transmit {
        instance: String,
        interface: String,
        family: Family,
        src: IpAddr,
        dst: IpAddr,
        ttl: u8,
        bytes: Vec<u8>,
    },
    Add {
        instance: String,
        what: Owned,
    },
    Del {
        instance: String,
        what: Owned,
    },
    /// A whole Ethernet frame for an AF_PACKET socket.
    SendGratuitousArp {
        interface: String,
        addr: Ipv4Addr,
        frame: Vec<u8>,
    },
    SendNeighborAdvert {
        interface: String,
        addr: Ipv6Addr,
        frame: Vec<u8>,
    },
    /// Run a track script (the driver reports `ScriptExited`, killing it after `timeout_us`).
    RunScript {
        script: String,
        command: Command,
        timeout_us: u64,
    },
    /// Run a notify script with exactly this argv.
    Notify {
        instance: String,
        kind: NotifyKind,
        command: Command,
    },
    /// A line for `notify_fifo` / `vrrp_notify_fifo`, newline included.
    Fifo {
        line: String,
    },
    StateChange {
        instance: String,
        from: State,
        to: State,
        /// keepalived's reason, for the log.
        reason: String,
        /// When the engine decided it: the host measures from here how long it took to
        /// carry the change out (the instance's outputs before this one).
        #[serde(default)]
        at: Instant,
    },
    GroupStateChange {
        group: String,
        to: State,
    },
    PriorityChange {
        instance: String,
        effective: u8,
    },
    /// An advert refused for a reason the RFC MIBs notify of (vrrpTrapAuthFailure,
    /// vrrpv3NotifyProtoError): see [`Reason::auth_error`] and [`Reason::proto_error`].
    Refused {
        instance: String,
        src: IpAddr,
        reason: Reason,
    },
    Log {
        instance: String,
        message: String,
    },
    /// An e-mail alert to `notification_email` through `smtp_server`; the sender puts
    /// `[router_id] ` before the subject (`smtp_alert()`).
    SmtpAlert {
        subject: String,
        body: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::size_of;

    /// Each VIP is held in several places an instance (its configuration, what its
    /// master put on the host, the parent's list), and a takeover of 1,000 instances
    /// queues several thousand outputs at once: these sizes are paid that many times.
    #[test]
    fn an_address_what_an_instance_holds_and_an_output_stay_within_their_sizes() {
        let advice =
            "box a rarely set new field or variant, or raise the bound if every one needs it";
        let (address, owned, output) = (
            size_of::<IpAddress>(),
            size_of::<Owned>(),
            size_of::<Output>(),
        );
        assert!(address <= 64, "an address takes {address} bytes: {advice}");
        assert!(
            owned <= 96,
            "what an instance holds takes {owned} bytes: {advice}"
        );
        assert!(output <= 128, "an output takes {output} bytes: {advice}");
    }
}
