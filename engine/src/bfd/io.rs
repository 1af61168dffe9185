//! What goes into the BFD engine and what comes out. Every type is serde, so a run can be
//! recorded and replayed as the VRRP and checker engines' runs are.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::config::model::Config;

/// The UDP port of single-hop BFD control packets (RFC 5881 §4).
pub const CONTROL_PORT: u16 = 3784;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Input {
    /// A datagram that arrived on the control port: `src` the sender (IPv4-mapped
    /// addresses already turned into IPv4), `dst` the local address it was sent to
    /// (IP_PKTINFO / IPV6_PKTINFO), `ttl` its TTL or hop limit when the kernel said
    /// (IP_RECVTTL / IPV6_RECVHOPLIMIT), `bytes` the UDP payload.
    Packet {
        src: IpAddr,
        dst: Option<IpAddr>,
        ttl: Option<u8>,
        bytes: Vec<u8>,
    },
    /// The socket of a session could not be opened: the session goes AdminDown until the
    /// driver reports it open (keepalived's `bfd_open_fds()`). A failed send is not
    /// reported: the session goes on as it was, as `bfd_sender_thread()` leaves it.
    SocketFailed { session: String },
    /// The session's socket opened after an earlier failure.
    SocketOpened { session: String },
    /// SIGHUP with the new configuration: sessions of the same name keep their state.
    Reload(Box<Config>),
    /// SIGTERM: every session that is not AdminDown sends one AdminDown packet (RFC 5880
    /// §6.8.16), then the engine emits nothing more.
    Shutdown,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Output {
    /// Open the session's socket: UDP, bound to `src` (when configured) on a port in
    /// 49152–65535 (RFC 5881 §4), sending with this TTL / hop limit.
    Open {
        session: String,
        src: Option<IpAddr>,
        dst: IpAddr,
        ttl: u8,
    },
    /// Close a session's socket (the session was removed by a reload).
    Close { session: String },
    /// Send a control packet on the session's socket to `dst`:[`CONTROL_PORT`].
    Transmit {
        session: String,
        dst: IpAddr,
        bytes: Vec<u8>,
    },
    /// A session's state as its clients see it (keepalived's `bfd_event_send()`): `up`
    /// is Up or not; `vrrp` / `checker` say which processes follow this `bfd_instance`.
    Event {
        session: String,
        up: bool,
        vrrp: bool,
        checker: bool,
    },
}
