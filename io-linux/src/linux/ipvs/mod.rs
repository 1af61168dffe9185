//! The kernel's IPVS over generic netlink: framing ([`nl`]), the IPVS messages
//! ([`wire`]), the socket ([`client`]), the reconciler that makes the kernel hold what the
//! checker engine wants ([`table`]), and the connection-sync daemons ([`syncd`]).

pub mod client;
pub mod nl;
pub mod syncd;
pub mod table;
pub mod wire;

pub use client::{IpvsClient, IpvsError};
pub use syncd::SyncDaemons;
pub use table::{IpvsTable, StopMode};
